#!/usr/bin/env bash
# pipeline.sh — per-stage milliseconds of the face pipeline (decode, detect,
# landmarks, align, embed, liveness, quality, search) on a 640x480 frame with
# one face and on a 24-face group photo, one thread, median of many runs.
# Beside it, the bare model times measured in the same run (`bench models`)
# show how much of each stage is the network itself.
# Usage: bench/pipeline.sh  (ROLLCALL_BIN, MODELS, RUNS may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
MODELS=${MODELS:-models}
RUNS=${RUNS:-30}
[[ -x $BIN ]] || { echo "pipeline.sh: $BIN not found (run 'make build')" >&2; exit 1; }
export ROLLCALL_TESTDATA=${ROLLCALL_TESTDATA:-../shared/testdata}
OPENBLAS_NUM_THREADS=1 "$BIN" bench pipeline --models "$MODELS" --runs "$RUNS"
echo "-- reference: the networks alone, same run (ms per inference)"
OPENBLAS_NUM_THREADS=1 "$BIN" bench models --models "$MODELS" --runs "$RUNS" \
  "$MODELS/fr_detect.onnx" "$MODELS/fr_landmark.onnx" "$MODELS/fr_feature.onnx" "$MODELS/fr_liveness.onnx"
