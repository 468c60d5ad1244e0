#!/bin/sh
# fuzz.sh — build the decoder fuzz target with clang's libFuzzer (ASan+UBSan)
# and run it for a few seconds from a seed corpus of small real files.
# Prints TAP; skips when clang or libFuzzer is missing.
set -u
src=${ROLLCALL_SOURCE:?}
out=${ROLLCALL_BUILD:?}/fuzz-image
secs=${FUZZ_SECONDS:-10}
echo "1..1"
if ! command -v clang >/dev/null 2>&1; then
    echo "ok 1 - decoder fuzzing # SKIP clang not installed"; exit 0
fi
mkdir -p "$out/corpus"
flags=$(pkg-config --cflags --libs libturbojpeg spng libexif)
# WebP and HEIF when the build has them (as src/image/meson.build decides).
for lib in libwebp:RC_HAVE_WEBP libheif:RC_HAVE_HEIF; do
    if pkg-config --exists "${lib%%:*}"; then
        flags="$flags -D${lib#*:} $(pkg-config --cflags --libs "${lib%%:*}")"
    fi
done
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -I"$src/src" \
    "$src/tests/image/fuzz_decode.c" "$src/src/image/codec.c" "$src/src/image/decode_more.c" "$src/src/image/heif_boxes.c" "$src/src/image/imgproc.c" "$src/src/image/jpeg_fast.c" "$src/src/image/simd.c" \
    "$src/src/rc/rc.c" $flags -lm -o "$out/fuzz_decode" 2>"$out/build.log"; then
    if grep -q "libclang_rt.fuzzer\|fsanitize=fuzzer" "$out/build.log"; then
        echo "ok 1 - decoder fuzzing # SKIP libFuzzer not available"; exit 0
    fi
    cat "$out/build.log" >&2; echo "not ok 1 - decoder fuzz target builds"; exit 1
fi
# Seeds: the smallest test photos (a few KB each).
for f in $(ls -S "${ROLLCALL_TESTDATA:?}"/faces/id/*/*.jpg 2>/dev/null | tail -4); do
    cp "$f" "$out/corpus/" 2>/dev/null
done
# WebP and HEIC seeds made from the smallest photo (cwebp from Debian's webp,
# heif-enc from libheif-examples), when those tools are installed.
small=$(ls -S "$ROLLCALL_TESTDATA"/faces/id/*/*.jpg 2>/dev/null | tail -1)
if [ -n "$small" ]; then
    command -v cwebp >/dev/null && cwebp -quiet -q 60 "$small" -o "$out/corpus/seed.webp"
    command -v heif-enc >/dev/null && heif-enc -q 30 "$small" -o "$out/corpus/seed.heic" >/dev/null 2>&1
fi
# and the header-only JPEGs that once left the sizes uninitialised.
printf '\377\330\377' >"$out/corpus/frameless-1.jpg"
printf '\377\330\377\331' >"$out/corpus/frameless-2.jpg"
if "$out/fuzz_decode" -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536 \
    "$out/corpus" >"$out/fuzz.log" 2>&1; then
    echo "ok 1 - decoders survive $secs s of fuzzing ($(grep -c . "$out/fuzz.log") log lines)"
else
    tail -40 "$out/fuzz.log" >&2; echo "not ok 1 - decoder fuzzing found a crash (see $out)"; exit 1
fi
