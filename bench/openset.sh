#!/usr/bin/env bash
# openset.sh — "unknown" against strangers: the open-set evaluation of
# tests/face/test_face_openset.c on ../shared/testdata/faces (5 rotations of
# 23-24 enrolled people; strangers from id/ and group/). Prints each decision
# rule's stranger false-accept rate per probe, genuine acceptance and rank-1
# at the old default (best template, 0.37) and the new one (centroid,
# GALLERY_DEFAULT_THRESHOLD), all measured in the same run, beside the
# per-pair figures and the camera-track lever (a decision over 3 photos of
# one person beside per photo); then the cost of one identification by each rule
# (`bench gallery`, old rule beside the new, same run).
# Usage: bench/openset.sh  (ROLLCALL_BIN, MODELS, MAX may be set;
# OPENSET_VERBOSE=1 lists the worst probes)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
EVAL=$(dirname "$BIN")/../../tests/face/test_face_openset
[[ -x $EVAL ]] || { echo "openset.sh: $EVAL not found (run 'make build')" >&2; exit 1; }
export ROLLCALL_TESTDATA=${ROLLCALL_TESTDATA:-../shared/testdata}
export ROLLCALL_MODELS=${MODELS:-models} CMOCKA_MESSAGE_OUTPUT=TAP
CMOCKA_MESSAGE_OUTPUT=TAP OPENBLAS_NUM_THREADS=1 "$EVAL" | sed -n 's/^# //p'
echo "-- cost of one identification, old rule beside the default (ms, noisy on a shared machine)"
"$BIN" bench gallery --max "${MAX:-100000}" --runs "${RUNS:-20}" 2>/dev/null
