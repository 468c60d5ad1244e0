#!/usr/bin/env bash
# gallery.sh — one top-10 search against 1k, 10k, 100k and 1M random 512-d
# templates, with the plain C kernel (the reference) beside each SIMD kernel
# the CPU has (AVX2, AVX-VNNI, AVX-512, AVX-512 VNNI), all measured in the
# same run. 1M templates need ~2.5 GB;
# set MAX=100000 to stop earlier.
# Usage: bench/gallery.sh  (ROLLCALL_BIN, MAX, RUNS may be set)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ROLLCALL_BIN:-build/src/cli/rollcall}
[[ -x $BIN ]] || { echo "gallery.sh: $BIN not found (run 'make build')" >&2; exit 1; }
"$BIN" bench gallery --max "${MAX:-1000000}" --runs "${RUNS:-20}"
