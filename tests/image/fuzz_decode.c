/* fuzz_decode.c — libFuzzer target for the image decoders: any byte string
 * must decode or fail with an error, never crash, leak or read out of bounds.
 * Built and run briefly by tests/image/fuzz.sh when clang is installed. */
#include <stdint.h>
#include <stdlib.h>

#include "image/image.h"

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
    return 0;
}
