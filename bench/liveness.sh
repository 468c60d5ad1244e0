#!/usr/bin/env bash
# liveness.sh — the liveness evaluation of tests/face/test_face_liveness.c
# (real faces at kiosk size against print and screen spoofs generated from
# the test photos, seeded): live-accept and spoof-reject rates at several
# thresholds and the score distributions, for the pipeline's crop beside the
# old crop and beside the package's R, G, B channel order, measured on the
# same frames in the same run; then the CPU time of
# the crop itself (frame -> 128x128 model input), both ways.
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
OPENBLAS_NUM_THREADS=1 LIVENESS_BENCH=1 "$EXE" | grep '^#' | sed 's/^# \{0,1\}//'
