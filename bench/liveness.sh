#!/usr/bin/env bash
# liveness.sh — the liveness evaluation of tests/face/test_face_liveness.c
# (real faces at kiosk size against print and screen spoofs generated from
# the test photos, seeded): live-accept and spoof-reject rates at several
# thresholds and the score distributions, for the pipeline's crop beside the
# old crop and beside the package's R, G, B channel order, measured on the
# same frames in the same run; then the CPU time of
# the crop itself (frame -> 128x128 model input), both ways. On a CPU with
# AVX-512 BF16 (where the liveness model runs in bf16 by default; BF16=0
# skips this, BF16=1 forces it) the evaluation then runs again in float
# (ROLLCALL_NN_BF16=0) and the two are compared sample by sample (every
# score through LIVENESS_SCORES): the largest, 99th-percentile and median
# score change, and the samples that cross 0.70 (README "bf16 inference").
# JITTER=J[,D] also scores every sample on J jittered boxes (each corner
# moved within +-D% of the box height, default 0.5) and prints the figures'
# mean and range beside the exact boxes' (README "int8 inference").
# Usage: bench/liveness.sh  (ROLLCALL_BIN picks the build: its test binary
# is used; MODELS and ROLLCALL_TESTDATA may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
BUILD=$(dirname "$(dirname "$(dirname "$BIN")")")
EXE=$BUILD/tests/face/test_face_liveness
[[ -x $EXE ]] || { echo "liveness.sh: $EXE not found (run 'make build')" >&2; exit 1; }
export ROLLCALL_MODELS=${MODELS:-models}
export ROLLCALL_TESTDATA=${ROLLCALL_TESTDATA:-../shared/testdata}
OPENBLAS_NUM_THREADS=1 LIVENESS_BENCH=1 LIVENESS_JITTER=${JITTER:-0} "$EXE" | grep '^#' | sed 's/^# \{0,1\}//'
bf16=${BF16:-auto}
if [[ $bf16 == auto ]]; then
  bf16=0
  grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && [[ ${ROLLCALL_NN_CPU:-} == "" ]] &&
    [[ ${ROLLCALL_NN_BF16:-} != 0 ]] && bf16=1
fi
if [[ $bf16 == 1 ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for mode in 0 1; do
    ROLLCALL_NN_BF16=$mode LIVENESS_SCORES=$tmp/scores.$mode OPENBLAS_NUM_THREADS=1 "$EXE" \
      >"$tmp/out.$mode" 2>&1
  done
  echo
  echo "bf16 against float, the same frames (ROLLCALL_NN_BF16=1 against 0):"
  for mode in 0 1; do
    grep -E '^#\s+0\.(50|70) \|' "$tmp/out.$mode" | head -2 |
      sed "s/^# \{0,1\}/  $([[ $mode == 0 ]] && echo "float" || echo "bf16 ") /"
  done
  # lines: photo face kind rep score; the changes sorted, then read back
  awk 'FNR == NR { f[$1 " " $2 " " $3 " " $4] = $5; next }
       ($1 " " $2 " " $3 " " $4) in f { k = $1 " " $2 " " $3 " " $4; d = $5 - f[k]
         printf "%.6f %s %.4f %.4f\n", d < 0 ? -d : d, $1 "/" $2 "/" $3 "/" $4, f[k], $5 }' \
    "$tmp/scores.0" "$tmp/scores.1" | sort -g >"$tmp/diff"
  awk '{ d[NR] = $1; if (($3 >= 0.7) != ($4 >= 0.7)) cross = cross " " $2 " " $3 "->" $4 }
       END { printf "  %d samples; score change: max %.4f, p99 %.4f, median %.6f; crossing 0.70:%s\n",
               NR, d[NR], d[int(0.99 * NR)], d[int(NR / 2)], cross == "" ? " none" : cross }' "$tmp/diff"
fi
