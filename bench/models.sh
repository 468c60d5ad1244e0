#!/usr/bin/env bash
# models.sh — Rollcall's ONNX engine against ONNX Runtime on the default
# models, one thread each, measured in the same run: median and p90 ms per
# inference and the speed-up (ONNX Runtime median / Rollcall median).
# Usage: bench/models.sh  (ROLLCALL_BIN, MODELS, RUNS, WARMUP may be set;
# CPU_TIME=1 measures CPU time instead of wall time on both sides, which is
# steadier when other jobs share the machine)
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
echo "timing ONNX Runtime ($RUNS runs per model)..." >&2
mapfile -t args < <(awk -F'\t' '{print $1 ":" $5}' "$tmp/rc.tsv")
CPU_TIME=${CPU_TIME:-0} node bench/nn/ort_bench.mjs "$MODELS" "$RUNS" "$WARMUP" "${args[@]}" >"$tmp/ort.tsv"

printf '%-20s %-14s %12s %12s %12s %12s %9s\n' model input "rollcall med" "rollcall p90" "ORT med" "ORT p90" speedup
join -t $'\t' <(sort "$tmp/rc.tsv") <(sort "$tmp/ort.tsv") |
  awk -F'\t' '{ printf "%-20s %-14s %12.3f %12.3f %12.3f %12.3f %8.2fx\n", $1, $5, $2, $3, $6, $7, $6 / $2 }'
echo "(ms per inference, one thread, $([[ ${CPU_TIME:-0} == 1 ]] && echo "CPU time" || echo "wall time"); speedup = ONNX Runtime median / Rollcall median)"
