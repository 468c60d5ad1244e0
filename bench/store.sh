#!/usr/bin/env bash
# store.sh — event writes, rules and gallery loading on SQLite and on a
# private PostgreSQL 15 server, each beside references from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(dirname "$(dirname "$(dirname "${ROLLCALL_BIN:-build/src/cli/rollcall}")")")
BENCH=$BUILD/tests/store/bench_store
[[ -x $BENCH ]] || { echo "store.sh: $BENCH not built (ninja -C $BUILD)" >&2; exit 1; }
"$BENCH" 2000 5000
tests/lib/pg.sh "$BENCH" 2000 5000
