/* fuzz_decode.c — libFuzzer target for the image decoders: any byte string
 * must decode or fail with an error, never crash, leak or read out of bounds.
 * And the built-in JPEG decoder, wherever it takes a file, gives
 * libjpeg-turbo's bytes (both of its forms: the plain C one here, the
 * AVX-512 one where the CPU has it). Built and run briefly by
 * tests/image/fuzz.sh when clang is installed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    img_decode_opts opts = {.max_pixels = 4u * 1000u * 1000u};
    img_image *im = NULL;
    rc_error err;
    if (img_decode(data, size, &opts, &im, &err) == RC_OK) {
        img_image *g = img_to_gray(im);
        img_free(g);
        img_free(im);
    }
    /* the built-in JPEG decoder against libjpeg-turbo alone */
    img_decode_opts ref_opts = {
        .max_pixels = 4u * 1000u * 1000u, .ignore_exif = 1, .libjpeg_only = 1};
    img_image *ref = NULL;
    if (img_sniff(data, size) == IMG_FORMAT_JPEG &&
        img_decode(data, size, &ref_opts, &ref, &err) == RC_OK) {
        for (int level = IMG_JPEG_C; level <= (int)img__jpeg_fast_level(); level++) {
            img_image *mine = img_new(ref->w, ref->h, 3);
            if (mine && img__jpeg_fast((img__jpeg_level)level, data, size, mine) &&
                memcmp(mine->px, ref->px, (size_t)ref->w * ref->h * 3) != 0)
                abort(); /* decoded, and not as libjpeg-turbo does */
            img_free(mine);
        }
        img_free(ref);
    }
    return 0;
}
