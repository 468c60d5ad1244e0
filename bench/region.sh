#!/usr/bin/env bash
# region.sh — the detector on a region around a tracked face beside the
# whole 640x480 frame (bench/region_detect.c): thread CPU time per
# detection for faces of three sizes, in the same run.
# Usage: bench/region.sh  (ROLLCALL_BIN picks the build; MODELS and
# ROLLCALL_TESTDATA may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
BUILD=$(dirname "$(dirname "$(dirname "$BIN")")")
EXE=$BUILD/bench/region-detect
[[ -x $EXE ]] || { echo "region.sh: $EXE not found (run 'make build')" >&2; exit 1; }
TESTDATA=${ROLLCALL_TESTDATA:-../shared/testdata}
OPENBLAS_NUM_THREADS=1 "$EXE" "${MODELS:-models}" "$TESTDATA/faces/id/deepface_angelina/5.jpg"
