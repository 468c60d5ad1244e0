#!/usr/bin/env bash
# models.sh — Rollcall's ONNX engine against ONNX Runtime on the default
# models, one thread each, measured in the same run: median and p90 ms per
# inference and the speed-up (ONNX Runtime median / Rollcall median).
# Usage: bench/models.sh  (ROLLCALL_BIN, MODELS, RUNS, WARMUP may be set;
# CPU_TIME=1 measures CPU time instead of wall time on both sides, which is
# steadier when other jobs share the machine). On an AVX-512 machine the
# engine is timed twice more, capped to its AVX2 kernels
# (ROLLCALL_NN_CPU=avx2, what a CPU without AVX-512 runs) and to its plain
# C path with OpenBLAS (ROLLCALL_NN_CPU=generic, what AVX2-only CPUs ran
# before the engine had AVX2 kernels), printed beside the AVX-512 figures;
# AVX2=0 skips that, AVX2=1 forces it. ONNX Runtime uses every instruction
# set the CPU has in every comparison.
# On a CPU with AVX-512 VNNI or AVX-VNNI (INT8=0 skips, INT8=1 forces) the
# detection and embedding models are then timed in float, in int8 with the
# ranges shipped in models-int8/ (the default there) and in int8 with
# dynamic ranges (each input's own, measured for comparison only) side by
# side, and the accuracy figures of float and the default int8 are printed:
# face-data's identification (rank-1, TAR at FAR 0.1%, per-pair TAR/FAR) and
# face-openset's default rule and per-pair lines (ACCURACY=0 leaves these
# out: they take minutes on a busy machine).
# On a CPU with AVX-512 BF16 (BF16=0 skips, BF16=1 forces) the liveness,
# landmark and detection models are then timed in float and with their 1x1
# convolutions in bf16 side by side, alternating: liveness as deployed
# (--bf16), the other two with every 1x1 (--bf16=0, ROLLCALL_NN_BF16=all);
# README "bf16 inference" has their accuracy figures.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
MODELS=${MODELS:-models}
RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
[[ -x $BIN ]] || { echo "models.sh: $BIN not found (run 'make build')" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "timing Rollcall ($RUNS runs per model)..." >&2
# The engine must not be helped by a thread pool: one thread for everything.
cpu=()
[[ ${CPU_TIME:-0} == 1 ]] && cpu=(--cpu-time)
OPENBLAS_NUM_THREADS=1 "$BIN" bench models --models "$MODELS" --runs "$RUNS" --warmup "$WARMUP" \
  --tsv "${cpu[@]}" >"$tmp/rc.tsv"
avx2=${AVX2:-auto}
if [[ $avx2 == auto ]]; then
  avx2=0
  grep -qw avx512f /proc/cpuinfo 2>/dev/null && avx2=1
fi
if [[ $avx2 == 1 ]]; then
  # OpenBLAS (the C path's sgemm) capped too: its Haswell (AVX2) kernels
  for cap in avx2 generic; do
    echo "timing Rollcall with ROLLCALL_NN_CPU=$cap ($RUNS runs per model)..." >&2
    ROLLCALL_NN_CPU=$cap OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 \
      "$BIN" bench models --models "$MODELS" \
      --runs "$RUNS" --warmup "$WARMUP" --tsv "${cpu[@]}" | cut -f1-3 | sort >"$tmp/$cap.tsv"
  done
fi
echo "timing ONNX Runtime ($RUNS runs per model)..." >&2
mapfile -t args < <(awk -F'\t' '{print $1 ":" $5}' "$tmp/rc.tsv")
CPU_TIME=${CPU_TIME:-0} node bench/nn/ort_bench.mjs "$MODELS" "$RUNS" "$WARMUP" "${args[@]}" >"$tmp/ort.tsv"

if [[ $avx2 == 1 ]]; then
  printf '%-20s %-14s %9s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n' model input "AVX-512" "p90" "AVX2" \
    "p90" "C" "ORT" "ORT/512" "ORT/AVX2" "512/AVX2" "C/AVX2"
  # columns: 1 model, 2-3 AVX-512 med/p90, 5 input, 6-7 ORT med/p90, 9-10
  # AVX2 med/p90, 11-12 C med/p90
  join -t $'\t' <(sort "$tmp/rc.tsv") <(sort "$tmp/ort.tsv") | sort |
    join -t $'\t' - "$tmp/avx2.tsv" | join -t $'\t' - "$tmp/generic.tsv" |
    awk -F'\t' '{ printf "%-20s %-14s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %7.2fx %7.2fx %7.2fx %7.2fx\n",
                   $1, $5, $2, $3, $9, $10, $11, $6, $6 / $2, $6 / $9, $9 / $2, $11 / $9 }'
  echo "(ms per inference, one thread, $([[ ${CPU_TIME:-0} == 1 ]] && echo "CPU time" || echo "wall time"); AVX-512, AVX2, C: Rollcall's medians with its AVX-512 kernels, capped to its AVX2 kernels (ROLLCALL_NN_CPU=avx2) and to its plain C path + OpenBLAS (ROLLCALL_NN_CPU=generic, the AVX2 CPUs' path before the AVX2 kernels); ORT/x = ONNX Runtime median / Rollcall median; 512/AVX2 = how much slower the AVX2 path is than AVX-512, C/AVX2 = how much faster it is than the C path)"
else
  printf '%-20s %-14s %12s %12s %12s %12s %9s\n' model input "rollcall med" "rollcall p90" "ORT med" "ORT p90" speedup
  join -t $'\t' <(sort "$tmp/rc.tsv") <(sort "$tmp/ort.tsv") |
    awk -F'\t' '{ printf "%-20s %-14s %12.3f %12.3f %12.3f %12.3f %8.2fx\n", $1, $5, $2, $3, $6, $7, $6 / $2 }'
  echo "(ms per inference, one thread, $([[ ${CPU_TIME:-0} == 1 ]] && echo "CPU time" || echo "wall time"); speedup = ONNX Runtime median / Rollcall median)"
fi

int8=${INT8:-auto}
if [[ $int8 == auto ]]; then
  int8=0
  grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo 2>/dev/null && int8=1
fi
if [[ $int8 == 1 ]]; then
  export ROLLCALL_TESTDATA=${ROLLCALL_TESTDATA:-../shared/testdata}
  faces=$ROLLCALL_TESTDATA/faces
  ranges=$PWD/models-int8
  q8models=("$MODELS/fr_detect.onnx" "$MODELS/fr_feature.onnx")
  echo "timing float, int8 and int8 with dynamic ranges ($RUNS runs per model, alternating)..." >&2
  : >"$tmp/f.tsv"
  : >"$tmp/q.tsv"
  : >"$tmp/d.tsv"
  # alternate the three so that load changes hit them alike
  for round in 1 2; do
    for mdl in "${q8models[@]}"; do
      for mode in f q d; do
        a=()
        [[ $mode == q ]] && a=(--int8 "$ranges")
        [[ $mode == d ]] && a=(--int8 dynamic)
        OPENBLAS_NUM_THREADS=1 "$BIN" bench models --runs "$RUNS" --warmup "$WARMUP" --tsv "${cpu[@]}" \
          "${a[@]}" "$mdl" >>"$tmp/$mode.tsv"
      done
    done
  done
  echo
  printf '%-20s %-14s %9s %9s %9s %9s %8s %9s %8s\n' model input float p90 int8 p90 "int8 x" dynamic "dyn x"
  # the better of the two rounds of each, medians
  best() { sort -t $'\t' -k1,1 -k2,2g "$1" | awk -F'\t' '!seen[$1]++'; }
  join -t $'\t' <(best "$tmp/f.tsv") <(best "$tmp/q.tsv") | join -t $'\t' - <(best "$tmp/d.tsv") |
    awk -F'\t' '{ printf "%-20s %-14s %9.3f %9.3f %9.3f %9.3f %7.2fx %9.3f %7.2fx\n", $1, $5, $2, $3, $6, $7, $2 / $6, $10, $2 / $10 }'
  echo "(ms per inference, one thread, $([[ ${CPU_TIME:-0} == 1 ]] && echo "CPU time" || echo "wall time"), the lower median of two alternating rounds each; int8: the ranges shipped in models-int8/ (the default on this CPU); dynamic: each input's own range (not used: it fails the accuracy bar); x = float median / that median; ROLLCALL_NN_CPU=avx2 times the AVX-VNNI kernels)"
  if [[ ${ACCURACY:-1} == 1 ]]; then
    tests=$(dirname "$BIN")/../../tests/face
    echo
    echo "accuracy on $faces, float beside int8 (same photos, same run):"
    for mode in float int8; do
      if [[ $mode == int8 ]]; then e=(ROLLCALL_NN_INT8=1 ROLLCALL_NN_INT8_RANGES="$ranges"); else e=(ROLLCALL_NN_INT8=0); fi
      env "${e[@]}" ROLLCALL_MODELS="$MODELS" FACE_DATA_ONLY=identification_over_id_photos \
        CMOCKA_MESSAGE_OUTPUT=TAP OPENBLAS_NUM_THREADS=1 "$tests/test_face_data" 2>/dev/null |
        grep -E '^# (leave-one-out|[0-9]+ genuine|at the per-pair)' | sed "s/^# /  $mode: /"
      env "${e[@]}" ROLLCALL_MODELS="$MODELS" CMOCKA_MESSAGE_OUTPUT=TAP OPENBLAS_NUM_THREADS=1 \
        "$tests/test_face_openset" 2>/dev/null |
        grep -E '^# (rule |gallery_identify default|per pair)' | sed "s/^# /  $mode: /"
    done
  fi
fi

bf16=${BF16:-auto}
if [[ $bf16 == auto ]]; then
  bf16=0
  grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && [[ ${ROLLCALL_NN_CPU:-} == "" ]] && bf16=1
fi
if [[ $bf16 == 1 ]]; then
  bfmodels=("$MODELS/fr_liveness.onnx" "$MODELS/fr_landmark.onnx" "$MODELS/fr_detect.onnx")
  echo "timing float and bf16 ($RUNS runs per model, alternating, three rounds)..." >&2
  : >"$tmp/bf.f.tsv"
  : >"$tmp/bf.b.tsv"
  for round in 1 2 3; do
    for mdl in "${bfmodels[@]}"; do
      for mode in f b; do
        a=()
        # liveness as the pipeline runs it (its calls of at least 0.8 M
        # multiply-adds), the others as ROLLCALL_NN_BF16=all (every 1x1)
        [[ $mode == b ]] && a=(--bf16)
        [[ $mode == b && $mdl != *fr_liveness* ]] && a=(--bf16=0)
        OPENBLAS_NUM_THREADS=1 "$BIN" bench models --runs "$RUNS" --warmup "$WARMUP" --tsv "${cpu[@]}" \
          "${a[@]}" "$mdl" >>"$tmp/bf.$mode.tsv"
      done
    done
  done
  echo
  printf '%-20s %-14s %9s %9s %9s %9s %8s\n' model input float p90 bf16 p90 "bf16 x"
  best() { sort -t $'\t' -k1,1 -k2,2g "$1" | awk -F'\t' '!seen[$1]++'; }
  join -t $'\t' <(best "$tmp/bf.f.tsv") <(best "$tmp/bf.b.tsv") |
    awk -F'\t' '{ printf "%-20s %-14s %9.3f %9.3f %9.3f %9.3f %7.2fx\n", $1, $5, $2, $3, $6, $7, $2 / $6 }'
  echo "(ms per inference, one thread, $([[ ${CPU_TIME:-0} == 1 ]] && echo "CPU time" || echo "wall time"), the lowest median of three alternating rounds each; bf16: 1x1 convolutions in bf16 (AVX-512 BF16), the rest float: fr_liveness's calls of at least 0.8 M multiply-adds (the default), every 1x1 of the others (ROLLCALL_NN_BF16=all, not the default); x = float median / bf16 median)"
fi

# The pipeline's four networks as the face pipeline runs them on this CPU,
# each one's multiply-adds per second beside this core's ceiling measured in
# the same run (RATES=0 skips): the part of the rest that is the kernels'.
if [[ ${RATES:-1} == 1 ]]; then
  echo "timing the pipeline's networks as deployed, against the core's ceiling..." >&2
  echo
  vnni=0 bfs=0
  grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo 2>/dev/null && vnni=1
  grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && [[ ${ROLLCALL_NN_CPU:-} == "" ]] && bfs=1
  first=1
  for mdl in fr_detect fr_landmark fr_feature fr_liveness; do
    a=() form=float
    [[ $mdl == fr_feature && $vnni == 1 ]] && a=(--int8 "$PWD/models-int8") form="int8"
    [[ $mdl == fr_liveness && $bfs == 1 ]] && a=(--bf16) form="bf16 for its large 1x1s"
    out=$(OPENBLAS_NUM_THREADS=1 "$BIN" bench models --runs "$RUNS" --warmup "$WARMUP" "${cpu[@]}" \
      "${a[@]}" "$MODELS/$mdl.onnx")
    [[ $first == 1 ]] && grep "ceiling" <<<"$out"
    first=0
    rate=$(sed -n 's/^ *\([0-9.]* M multiply-adds a run: [0-9.]* G\/s\).*/\1/p' <<<"$out")
    ms=$(awk -v m="$mdl.onnx" '$1 == m { print $4 }' <<<"$out")
    printf '  %-14s %-24s %8s ms  %s\n' "$mdl" "$form" "$ms" "$rate"
  done
  echo "(one thread, $([[ ${CPU_TIME:-0} == 1 ]] && echo "CPU time" || echo "wall time"), medians; the ceiling: the widest multiply-add instruction in independent chains, nothing else; \`rollcall bench models --profile\` gives each node's rate)"
fi
