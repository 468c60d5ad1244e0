/*
 * internal.h — what the image module's decoders share among themselves (not
 * part of the public header): the pixel-limit check every decoder makes from
 * the header before it allocates, alpha compositing, and the optional WebP
 * and HEIF decoders (decode_more.c).
 */
#ifndef RC_IMAGE_INTERNAL_H
#define RC_IMAGE_INTERNAL_H

#include "image.h"

/* RC_ERR_LIMIT when w x h is over the caller's (or the default) limit. */
rc_status img__check_limit(int w, int h, const img_decode_opts *opts, rc_error *err);
/* Composite w*h RGBA pixels over white into im's RGB pixels (as a viewer
 * shows a transparent photo). */
void img__rgba_over_white(const uint8_t *rgba, size_t stride, img_image *im);

/* Header sizes and decoding of the optional formats; a build without the
 * library answers RC_ERR_UNSUPPORTED ("not supported in this build"). */
rc_status img__webp_probe(const void *data, size_t len, int *w, int *h, rc_error *err);
rc_status img__webp_decode(const void *data, size_t len, const img_decode_opts *opts,
                           img_image **out, rc_error *err);
rc_status img__heif_probe(const void *data, size_t len, int *w, int *h, rc_error *err);
rc_status img__heif_decode(const void *data, size_t len, const img_decode_opts *opts,
                           img_image **out, rc_error *err);

#endif
