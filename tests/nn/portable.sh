#!/usr/bin/env bash
# portable.sh — the engine must build without its x86 code (the issue asks
# for aarch64 with the plain C path). There is no cross compiler here, so
# this compiles every src/nn file as if on another architecture: a copy with
# the `defined(__x86_64__)` guards turned off, checked with -Wall -Wextra
# -Werror. A warning such as a variable only the AVX-512 path uses fails.
# Usage: portable.sh SOURCE_ROOT BUILD_NN_DIR (where onnx.pb-c.h is)
set -euo pipefail
src=$1
gen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/nn" "$tmp/src/rc"
cp "$src"/src/rc/*.h "$tmp/src/rc/"
for f in "$src"/src/nn/*.[ch]; do
  sed -e 's/defined(__x86_64__)/defined(RC_PORTABLE_CHECK_X86)/g' \
    -e 's/#ifdef __x86_64__/#ifdef RC_PORTABLE_CHECK_X86/g' "$f" >"$tmp/src/nn/${f##*/}"
done
fail=0
for f in "$tmp"/src/nn/*.c; do
  if ! gcc -std=c11 -D_GNU_SOURCE -fsyntax-only -Wall -Wextra -Werror \
    -I"$tmp/src/nn" -I"$gen" "$f"; then
    echo "not portable: src/nn/${f##*/}" >&2
    fail=1
  fi
done
[[ $fail == 0 ]] && echo "src/nn builds without its x86 code ($(ls "$tmp"/src/nn/*.c | wc -l) files)"
exit $fail
