/*
 * decode_more.c — the photo formats phones write besides JPEG: WebP
 * (libwebp) and HEIC/HEIF (libheif, which applies the file's rotation and
 * mirroring). Both are optional at build time (RC_HAVE_WEBP, RC_HAVE_HEIF):
 * the aarch64 cross build has neither, and a file in a missing format is
 * refused with RC_ERR_UNSUPPORTED saying so. As for JPEG and PNG, the size is
 * read from the header and checked against the pixel limit before any pixel
 * buffer is allocated; animated WebP is refused (a photo is one frame).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef RC_HAVE_WEBP
#include <webp/decode.h>
#endif
#ifdef RC_HAVE_HEIF
#include <libheif/heif.h>
#endif

#if !defined(RC_HAVE_WEBP) || !defined(RC_HAVE_HEIF)
static rc_status not_built(const char *what, const char *lib, rc_error *err)
{
    return rc_fail(err, RC_ERR_UNSUPPORTED,
                   "%s images are not supported in this build (built without %s)", what, lib);
}
#endif

/* ---- WebP ---------------------------------------------------------------- */

#ifdef RC_HAVE_WEBP
static rc_status webp_features(const void *data, size_t len, WebPBitstreamFeatures *f,
                               rc_error *err)
{
    VP8StatusCode s = WebPGetFeatures(data, len, f);
    if (s == VP8_STATUS_NOT_ENOUGH_DATA)
        return rc_fail(err, RC_ERR_CORRUPT, "truncated WebP: the header is incomplete");
    if (s != VP8_STATUS_OK || f->width <= 0 || f->height <= 0)
        return rc_fail(err, RC_ERR_CORRUPT, "corrupt WebP header (libwebp status %d)", (int)s);
    return RC_OK;
}
#endif

rc_status img__webp_probe(const void *data, size_t len, int *w, int *h, rc_error *err)
{
#ifdef RC_HAVE_WEBP
    WebPBitstreamFeatures f;
    rc_status st = webp_features(data, len, &f, err);
    if (st != RC_OK) return st;
    *w = f.width;
    *h = f.height;
    return RC_OK;
#else
    (void)data, (void)len, (void)w, (void)h;
    return not_built("WebP", "libwebp", err);
#endif
}

rc_status img__webp_decode(const void *data, size_t len, const img_decode_opts *opts,
                           img_image **out, rc_error *err)
{
#ifdef RC_HAVE_WEBP
    WebPBitstreamFeatures f;
    rc_status st = webp_features(data, len, &f, err);
    if (st != RC_OK) return st;
    if (f.has_animation)
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "animated WebP: send a still photo (one frame), not an animation");
    if ((st = img__check_limit(f.width, f.height, opts, err)) != RC_OK) return st;
    /* the image, and the RGBA decode of a file with alpha */
    if ((st = img__reserve(f.width, f.height, f.has_alpha ? 7 : 3, err)) != RC_OK) return st;
    img_image *im = img_new(f.width, f.height, 3);
    uint8_t *rgba = f.has_alpha ? malloc((size_t)f.width * f.height * 4) : NULL;
    if (!im || (f.has_alpha && !rgba)) {
        img_free(im);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d image", f.width, f.height);
    }
    size_t stride = (size_t)f.width * (f.has_alpha ? 4 : 3);
    uint8_t *ok = f.has_alpha
                      ? WebPDecodeRGBAInto(data, len, rgba, stride * f.height, (int)stride)
                      : WebPDecodeRGBInto(data, len, im->px, stride * f.height, (int)stride);
    if (!ok) {
        free(rgba);
        img_free(im);
        return rc_fail(err, RC_ERR_CORRUPT, "corrupt or truncated WebP (%zu bytes)", len);
    }
    if (rgba) img__rgba_over_white(rgba, stride, im);
    free(rgba);
    *out = im;
    return RC_OK;
#else
    (void)data, (void)len, (void)opts, (void)out;
    return not_built("WebP", "libwebp", err);
#endif
}

/* ---- HEIF ---------------------------------------------------------------- */

#ifdef RC_HAVE_HEIF
/* The primary image of a HEIF file, its context kept for the caller to free. */
static rc_status heif_open(const void *data, size_t len, struct heif_context **ctx,
                           struct heif_image_handle **h, rc_error *err)
{
    *h = NULL;
    *ctx = heif_context_alloc();
    if (!*ctx) return rc_fail(err, RC_ERR_NOMEM, "cannot start the HEIF decoder");
    /* libheif's own bound on width and height, besides our pixel limit. */
    heif_context_set_maximum_image_size_limit(*ctx, 1 << 15);
    struct heif_error e = heif_context_read_from_memory_without_copy(*ctx, data, len, NULL);
    if (e.code == heif_error_Ok) e = heif_context_get_primary_image_handle(*ctx, h);
    if (e.code != heif_error_Ok) {
        /* e.message belongs to the context: format it before freeing that. */
        rc_status st = rc_fail(
            err, e.code == heif_error_Unsupported_feature ? RC_ERR_UNSUPPORTED : RC_ERR_CORRUPT,
            "corrupt or unsupported HEIF: %s", e.message);
        heif_context_free(*ctx);
        *ctx = NULL;
        *h = NULL;
        return st;
    }
    return RC_OK;
}

static void heif_close(struct heif_context *ctx, struct heif_image_handle *h)
{
    if (h) heif_image_handle_release(h);
    if (ctx) heif_context_free(ctx);
}
#endif

rc_status img__heif_probe(const void *data, size_t len, int *w, int *h, rc_error *err)
{
#ifdef RC_HAVE_HEIF
    struct heif_context *ctx;
    struct heif_image_handle *hd;
    rc_status st = heif_open(data, len, &ctx, &hd, err);
    if (st != RC_OK) return st;
    *w = heif_image_handle_get_width(hd);
    *h = heif_image_handle_get_height(hd);
    heif_close(ctx, hd);
    if (*w <= 0 || *h <= 0) return rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: no image size");
    return RC_OK;
#else
    (void)data, (void)len, (void)w, (void)h;
    return not_built("HEIF/HEIC", "libheif", err);
#endif
}

rc_status img__heif_decode(const void *data, size_t len, const img_decode_opts *opts,
                           img_image **out, rc_error *err)
{
#ifdef RC_HAVE_HEIF
    struct heif_context *ctx;
    struct heif_image_handle *hd;
    rc_status st = heif_open(data, len, &ctx, &hd, err);
    if (st != RC_OK) return st;
    int w = heif_image_handle_get_width(hd), h = heif_image_handle_get_height(hd);
    if (w <= 0 || h <= 0) {
        heif_close(ctx, hd);
        return rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: no image size");
    }
    /* What the decode really costs: the coded pictures' sizes, from the
     * file's boxes (libheif would decode a picture larger than the size
     * checked here, and only then notice the mismatch). */
    uint64_t coded = 0, area = (uint64_t)w * (uint64_t)h;
    if ((st = img__check_limit(w, h, opts, err)) != RC_OK ||
        (st = img__heif_coded(data, len, &coded, err)) != RC_OK) {
        heif_close(ctx, hd);
        return st;
    }
    /* Tiles overhang the image's edges and auxiliary images add theirs:
     * up to a quarter more than the limit's pixels are decoded. */
    uint64_t max = opts && opts->max_pixels ? opts->max_pixels : IMG_DEFAULT_MAX_PIXELS;
    if (coded > max + max / 4) {
        heif_close(ctx, hd);
        return rc_fail(err, RC_ERR_LIMIT,
                       "HEIF image codes %.1f megapixels in all, over the limit of %.1f "
                       "megapixels",
                       (double)coded / 1e6, (double)max / 1e6);
    }
    /* the decoder's planes, libheif's RGB(A) image and ours: 10 bytes a
     * pixel of the larger of the two sizes */
    unsigned per_px = (unsigned)(10 * (coded > area ? (coded + area - 1) / area : 1));
    if ((st = img__reserve(w, h, per_px, err)) != RC_OK) {
        heif_close(ctx, hd);
        return st;
    }
    bool alpha = heif_image_handle_has_alpha_channel(hd);
    struct heif_image *img = NULL;
    struct heif_error e =
        heif_decode_image(hd, &img, heif_colorspace_RGB,
                          alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, NULL);
    img_image *im = NULL;
    if (e.code != heif_error_Ok) {
        st = rc_fail(err,
                     e.code == heif_error_Unsupported_feature ? RC_ERR_UNSUPPORTED : RC_ERR_CORRUPT,
                     "corrupt or unsupported HEIF: %s", e.message);
        goto done;
    }
    int stride = 0;
    const uint8_t *px = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    /* The decoded size is after rotation: it may swap width and height. */
    int dw = heif_image_get_width(img, heif_channel_interleaved);
    int dh = heif_image_get_height(img, heif_channel_interleaved);
    if (!px || dw <= 0 || dh <= 0 || (uint64_t)dw * dh != (uint64_t)w * h ||
        stride < dw * (alpha ? 4 : 3)) {
        st = rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: the decoded image has no usable pixels");
        goto done;
    }
    if (!(im = img_new(dw, dh, 3))) {
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d image", dw, dh);
        goto done;
    }
    if (alpha)
        img__rgba_over_white(px, (size_t)stride, im);
    else
        for (int y = 0; y < dh; y++)
            memcpy(im->px + (size_t)y * dw * 3, px + (size_t)y * stride, (size_t)dw * 3);
done:
    if (img) heif_image_release(img);
    heif_close(ctx, hd);
    if (st != RC_OK) {
        img_free(im);
        return st;
    }
    *out = im;
    return RC_OK;
#else
    (void)data, (void)len, (void)opts, (void)out;
    return not_built("HEIF/HEIC", "libheif", err);
#endif
}
