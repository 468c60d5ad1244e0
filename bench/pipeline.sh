#!/usr/bin/env bash
# pipeline.sh — per-stage milliseconds of the face pipeline (decode, detect,
# landmarks, align, embed, liveness, quality, search) on a 640x480 frame with
# one face and on a 24-face group photo, one thread, median of many runs.
# The pipeline runs as deployed: on a CPU with AVX-512 VNNI or AVX-VNNI the
# embedding network in int8 (the ranges of models-int8/, unless
# ROLLCALL_NN_INT8_RANGES says otherwise; ROLLCALL_NN_INT8=1 adds the
# detector), elsewhere in float; on a CPU with AVX-512 BF16 the 1x1
# convolutions of the models README "bf16 inference" names in bf16.
# References measured in the same run:
#  - the same pipeline in float (ROLLCALL_NN_INT8=0 ROLLCALL_NN_BF16=0), on a
#    VNNI or BF16 CPU, and without bf16 alone (ROLLCALL_NN_BF16=0) on a BF16 CPU;
#  - Rollcall's own reference pre-processing path (the straightforward one the
#    fused path is tested against), beside the fused path, per stage;
#  - the networks alone (`bench models`): how much of each stage is the network;
#  - the same pipeline in Python with OpenCV's DNN module (Debian's
#    python3-opencv, `scripts/bench-deps` installs it; bench/pipeline_opencv.py)
#    on the same models and the same JPEG bytes, with the ratio.
# Usage: bench/pipeline.sh  (ROLLCALL_BIN, MODELS, RUNS, PASSES (alternating
# passes of the one-face frame, default 3, 0: none) may be set; CPU_TIME=1
# times thread CPU time instead of wall-clock time, steadier on a busy machine;
# PROFILE=1 adds callgrind instruction counts of the one-face frame, slow)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
MODELS=${MODELS:-models}
RUNS=${RUNS:-30}
[[ -x $BIN ]] || { echo "pipeline.sh: $BIN not found (run 'make build')" >&2; exit 1; }
export ROLLCALL_TESTDATA=${ROLLCALL_TESTDATA:-../shared/testdata}
export OPENBLAS_NUM_THREADS=1
cpu=() clock=wall
[[ ${CPU_TIME:-0} == 1 ]] && cpu=(--cpu-time) clock=cpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ROLLCALL_NN_INT8_RANGES=${ROLLCALL_NN_INT8_RANGES:-$PWD/models-int8}
vnni=0
grep -qwE 'avx512_vnni|avx_vnni' /proc/cpuinfo 2>/dev/null && [[ ${ROLLCALL_NN_CPU:-} != generic ]] && vnni=1
bf16=0
grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && [[ ${ROLLCALL_NN_CPU:-} == "" ]] &&
  [[ ${ROLLCALL_NN_BF16:-} != 0 ]] && bf16=1
if [[ $vnni == 1 ]]; then
  echo "-- default: the embedding in int8 (ranges: $ROLLCALL_NN_INT8_RANGES)$([[ $bf16 == 1 ]] && echo ", bf16 1x1 convolutions (README \"bf16 inference\")")"
else
  echo "-- default: float (this CPU has no AVX-512 VNNI or AVX-VNNI)"
fi
"$BIN" bench pipeline --models "$MODELS" --runs "$RUNS" "${cpu[@]}" --save-frame "$tmp/frame.jpg" |
  tee "$tmp/rollcall.txt"
if [[ $bf16 == 1 ]]; then
  echo "-- reference: the same pipeline without bf16 (ROLLCALL_NN_BF16=0), same run"
  ROLLCALL_NN_BF16=0 "$BIN" bench pipeline --models "$MODELS" --runs "$RUNS" "${cpu[@]}"
fi
if [[ $vnni == 1 || $bf16 == 1 ]]; then
  echo "-- reference: the same pipeline in float (ROLLCALL_NN_INT8=0 ROLLCALL_NN_BF16=0), same run"
  ROLLCALL_NN_INT8=0 ROLLCALL_NN_BF16=0 "$BIN" bench pipeline --models "$MODELS" --runs "$RUNS" "${cpu[@]}"
fi
echo "-- reference: the networks alone in float, same run (ms per inference; bench/models.sh has int8)"
"$BIN" bench models --models "$MODELS" --runs "$RUNS" "${cpu[@]}" \
  "$MODELS/fr_detect.onnx" "$MODELS/fr_landmark.onnx" "$MODELS/fr_feature.onnx" "$MODELS/fr_liveness.onnx"

if [[ ${PROFILE:-0} == 1 ]]; then
  # Instructions per one-face frame in face_analyze (the networks: nn_session_run), both paths,
  # under callgrind: unaffected by other jobs. Valgrind has no AVX-512, so
  # the engine runs its AVX2 kernels here.
  prof=$(dirname "$BIN")/../../bench/pipeline-profile
  photo=$ROLLCALL_TESTDATA/faces/id/deepface_angelina/1.jpg
  if command -v valgrind >/dev/null && [[ -x $prof ]]; then
    echo "-- instructions per one-face frame (callgrind, 3 frames a path; slow)"
    for mode in reference fused; do
      valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$mode" "$prof" "$MODELS" "$photo" 3 \
        "$mode" >/dev/null 2>&1
      callgrind_annotate --inclusive=yes "$tmp/cg.$mode" 2>/dev/null |
        awk -v mode="$mode" '$NF ~ /^\[/ && $3 ~ /:(face_analyze|detect_region|nn_session_run)$/ {
          gsub(",", "", $1); sub(/.*:/, "", $3); printf "  %-9s %-15s %8.2f M\n", mode, $3, $1 / 3e6 }'
    done
  else
    echo "-- PROFILE=1: valgrind or $prof missing; skipped"
  fi
fi

echo "-- reference: Python + OpenCV DNN, the same pipeline on the same 640x480 JPEG (one thread, ms, $clock)"
py=/usr/bin/python3
if ! "$py" -c 'import cv2' 2>/dev/null; then
  echo "skipped: python3-opencv is not installed (scripts/bench-deps installs it; make bench runs it)"
  py=
fi
if [[ -n $py ]]; then
  "$BIN" embed --json --models "$MODELS" "$tmp/frame.jpg" >"$tmp/embed.json" 2>/dev/null || true
  "$py" bench/pipeline_opencv.py "$MODELS" "$tmp/frame.jpg" "$RUNS" "$clock" "$tmp/embed.json" \
    >"$tmp/opencv.txt"
  grep '^#' "$tmp/opencv.txt" || true
  "$py" -c 'import cv2; print("OpenCV", cv2.__version__, "(cv2.dnn, DNN_BACKEND_OPENCV, CPU, setNumThreads(1))")'
  # Rollcall's fused column of the one-face frame beside OpenCV's figures.
  awk '
    FNR == 1 { file++ }
    file == 1 && /^640x480/ { one = 1; next }
    file == 1 && one && /^[^ ]/ { one = 0 }
    file == 1 && one && $1 != "stage" { rc[$1] = $3 }
    file == 2 && $1 == "faces" { faces = $2 }
    file == 2 && $1 == "cosine" { cosine = $2 }
    file == 2 && $1 !~ /^(#|faces|cosine)/ { cv[$1] = $2; order[++n] = $1 }
    END {
      printf "  %-10s %10s %10s %8s\n", "stage", "rollcall", "opencv", "opencv/rollcall"
      for (i = 1; i <= n; i++) {
        s = order[i]
        printf "  %-10s %10.3f %10.3f %7.2fx\n", s, rc[s], cv[s], (rc[s] > 0 ? cv[s] / rc[s] : 0)
      }
      printf "  (OpenCV found %d face%s; its embedding against Rollcall'"'"'s: cosine %s. Rollcall'"'"'s quality stage has no OpenCV counterpart)\n",
        faces, (faces == 1 ? "" : "s"), (cosine == "" ? "n/a" : cosine)
    }' "$tmp/rollcall.txt" "$tmp/opencv.txt"
fi

# The host's speed drifts from one minute to the next (up to a third on the
# shared machine), and each configuration above ran in its own minute: the
# one-face frame's total again, the configurations alternating pass by pass,
# so each pass compares them in the same minute.
passes=${PASSES:-3}
if [[ $passes -gt 0 ]]; then
  echo "-- the one-face frame's total, configurations alternating ($passes passes of $RUNS runs each, ms, $clock)"
  names=(default) envs=("")
  [[ $bf16 == 1 ]] && names+=("no bf16") envs+=("ROLLCALL_NN_BF16=0")
  [[ $vnni == 1 || $bf16 == 1 ]] && names+=(float) envs+=("ROLLCALL_NN_INT8=0 ROLLCALL_NN_BF16=0")
  [[ -n $py ]] && names+=(OpenCV)
  printf "  %-6s" pass
  for n in "${names[@]}"; do printf " %10s" "$n"; done
  echo
  for ((p = 1; p <= passes; p++)); do
    printf "  %-6s" "$p"
    for ((k = 0; k < ${#names[@]}; k++)); do
      if [[ ${names[k]} == OpenCV ]]; then
        t=$("$py" bench/pipeline_opencv.py "$MODELS" "$tmp/frame.jpg" "$RUNS" "$clock" \
          "$tmp/embed.json" | awk '$1 == "total" { print $2 }')
      else
        t=$(env ${envs[k]} "$BIN" bench pipeline --models "$MODELS" --runs "$RUNS" "${cpu[@]}" \
          --one 2>/dev/null | awk '$1 == "total" { print $3 }')
      fi
      echo "$t" >>"$tmp/pass.$k"
      printf " %10s" "$t"
    done
    echo
  done
  printf "  %-6s" median
  for ((k = 0; k < ${#names[@]}; k++)); do
    printf " %10s" "$(sort -n "$tmp/pass.$k" | awk '{ v[NR] = $1 }
      END { print (NR % 2) ? v[(NR + 1) / 2] : sprintf("%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2) }')"
  done
  echo
  # each configuration over the default of the same pass, the median of those
  printf "  %-6s" "/def."
  for ((k = 0; k < ${#names[@]}; k++)); do
    printf " %9sx" "$(paste "$tmp/pass.$k" "$tmp/pass.0" | awk '$2 > 0 { print $1 / $2 }' | sort -n |
      awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
  done
  echo
fi
