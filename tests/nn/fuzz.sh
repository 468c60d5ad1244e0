#!/usr/bin/env bash
# fuzz.sh — build the loader's libFuzzer target with clang (ASan + UBSan +
# libFuzzer) and run it for a short while on a corpus seeded with the small
# default models. Used by the test suite when clang is available.
# Usage: fuzz.sh SOURCE_ROOT WORK_DIR ONNX_PB_C SECONDS
set -euo pipefail
src=$1 work=$2 pbc=$3 secs=${4:-20}
mkdir -p "$work/corpus"
bin=$work/fuzz_load
sources=("$src"/src/nn/*.c "$src"/src/rc/rc.c "$pbc" "$src"/tests/nn/fuzz_load.c)
newest=$(ls -t "${sources[@]}" "$src"/src/nn/*.h | head -1)
if [[ ! -x $bin || $newest -nt $bin ]]; then
  echo "building $bin"
  # shellcheck disable=SC2046
  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$src/src" -I"$src/src/nn" -I"$(dirname "$pbc")" \
    $(pkg-config --cflags openblas libprotobuf-c jansson) "${sources[@]}" \
    $(pkg-config --libs openblas libprotobuf-c jansson) -lm -lpthread -o "$bin"
fi
# Seeds: the smallest real models (kept in the work directory, never in git).
for m in fr_eye.onnx fr_age.onnx; do
  [[ -f $src/models/$m && ! -f $work/corpus/$m ]] && cp "$src/models/$m" "$work/corpus/$m"
done
echo "fuzzing the loader for ${secs}s"
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 OPENBLAS_NUM_THREADS=1 \
  "$bin" -max_total_time="$secs" -rss_limit_mb=3000 -malloc_limit_mb=1100 -max_len=300000 \
  -print_final_stats=1 "$work/corpus" 2>&1 | tail -15
echo "ok: no crash in ${secs}s of fuzzing"
