/* test_formats.c — the phone formats: WebP and HEIC made at test time from a
 * real test photo (libwebp's and libheif's own encoders; no photo is kept),
 * decoded back to the same picture; transparency over white; the pixel limit
 * refused from the header; truncated and damaged files refused with an
 * error, never a crash; the one list of photo extensions; and, in a build
 * without libwebp/libheif (the aarch64 cross build), a clear "not supported
 * in this build". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#ifdef RC_HAVE_WEBP
#include <webp/encode.h>
#endif
#ifdef RC_HAVE_HEIF
#include <libheif/heif.h>
#endif

#if defined(RC_HAVE_WEBP) || defined(RC_HAVE_HEIF)
/* Helpers of the decoding tests (a build without either decoder has none). */
static img_image *photo(void)
{
    const char *d = getenv("ROLLCALL_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/faces/id/ageitgey_alex_lacamoire/1.jpg",
             d ? d : "../shared/testdata");
    img_image *im = NULL;
    rc_error err;
    if (img_load(path, NULL, &im, &err) != RC_OK) return NULL;
    return im;
}

/* Mean absolute difference per channel value. */
static double mad(const img_image *a, const img_image *b)
{
    double s = 0;
    size_t n = (size_t)a->w * a->h * 3;
    for (size_t i = 0; i < n; i++) s += abs((int)a->px[i] - (int)b->px[i]);
    return s / (double)n;
}

/* Every prefix of a file (a few lengths) and a file with its middle
 * overwritten: decoding must fail cleanly or succeed, never crash. */
static void damaged_copies_fail_cleanly(const unsigned char *buf, size_t len)
{
    size_t cuts[] = {0, 4, 12, 16, 30, 64, len / 3, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        img_image *im = NULL;
        rc_error err = {0};
        rc_status st = img_decode(buf, cuts[i], NULL, &im, &err);
        if (st == RC_OK)
            img_free(im);
        else
            assert_true(err.msg[0] != 0);
    }
    unsigned char *bad = malloc(len);
    memcpy(bad, buf, len);
    for (size_t i = len / 4; i < len / 4 + 256 && i < len; i++) bad[i] ^= 0x5A;
    img_image *im = NULL;
    rc_error err;
    if (img_decode(bad, len, NULL, &im, &err) == RC_OK) img_free(im);
    free(bad);
}

/* Decoded again: same size, the same picture within lossy-coding error, and
 * refused from the header under a pixel limit smaller than the picture. */
static void decodes_back(const unsigned char *buf, size_t len, const img_image *src,
                         img_format want)
{
    assert_int_equal(img_sniff(buf, len), want);
    int w = 0, h = 0;
    img_format f;
    rc_error err;
    assert_int_equal(img_probe(buf, len, &w, &h, &f, &err), RC_OK);
    assert_int_equal(w, src->w);
    assert_int_equal(h, src->h);
    img_image *im = NULL;
    assert_int_equal(img_decode(buf, len, NULL, &im, &err), RC_OK);
    assert_int_equal(im->w, src->w);
    assert_int_equal(im->h, src->h);
    assert_int_equal(im->channels, 3);
    double d = mad(im, src);
    print_message("# %s: %zu bytes, mean abs difference %.2f\n", img_format_name(want), len, d);
    assert_true(d < 6.0);
    img_free(im);
    img_decode_opts small = {.max_pixels = (uint64_t)src->w * src->h - 1};
    assert_int_equal(img_decode(buf, len, &small, &im, &err), RC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "megapixels"));
}

#endif

#ifdef RC_HAVE_WEBP
static void webp_photo_decodes(void **state)
{
    (void)state;
    img_image *src = photo();
    if (!src) skip();
    uint8_t *out = NULL;
    size_t len = WebPEncodeRGB(src->px, src->w, src->h, src->w * 3, 92, &out);
    assert_true(len > 0);
    decodes_back(out, len, src, IMG_FORMAT_WEBP);
    damaged_copies_fail_cleanly(out, len);
    WebPFree(out);
    /* Transparent pixels become white, opaque ones keep their colour. */
    uint8_t rgba[16 * 16 * 4];
    for (int i = 0; i < 16 * 16; i++) {
        rgba[4 * i] = 200, rgba[4 * i + 1] = 10, rgba[4 * i + 2] = 10;
        rgba[4 * i + 3] = i < 128 ? 0 : 255;
    }
    len = WebPEncodeLosslessRGBA(rgba, 16, 16, 64, &out);
    img_image *im = NULL;
    rc_error err;
    assert_int_equal(img_decode(out, len, NULL, &im, &err), RC_OK);
    assert_int_equal(im->px[1], 255);          /* top half: white */
    assert_int_equal(im->px[3 * 200 + 1], 10); /* bottom half: red */
    assert_int_equal(im->px[3 * 200], 200);
    img_free(im);
    WebPFree(out);
    img_free(src);
}
#endif

#ifdef RC_HAVE_HEIF
static struct heif_error write_mem(struct heif_context *ctx, const void *data, size_t size,
                                   void *user)
{
    (void)ctx;
    unsigned char **buf = user;
    size_t *len = (size_t *)(buf + 1);
    *buf = malloc(size);
    memcpy(*buf, data, size);
    *len = size;
    return (struct heif_error){heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

/* The photo as a HEIC file (x265 through libheif); NULL when this libheif
 * has no HEVC encoder. */
static unsigned char *encode_heic(const img_image *src, size_t *len)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    if (heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc).code) {
        heif_context_free(ctx);
        return NULL;
    }
    heif_encoder_set_lossy_quality(enc, 90);
    struct heif_image *img = NULL;
    heif_image_create(src->w, src->h, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img);
    heif_image_add_plane(img, heif_channel_interleaved, src->w, src->h, 8);
    int stride;
    uint8_t *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    for (int y = 0; y < src->h; y++)
        memcpy(p + (size_t)y * stride, src->px + (size_t)y * src->w * 3, (size_t)src->w * 3);
    struct heif_image_handle *h = NULL;
    struct heif_error e = heif_context_encode_image(ctx, img, enc, NULL, &h);
    assert_int_equal(e.code, heif_error_Ok);
    struct {
        unsigned char *buf;
        size_t len;
    } out = {0};
    struct heif_writer w = {.writer_api_version = 1, .write = write_mem};
    e = heif_context_write(ctx, &w, &out);
    assert_int_equal(e.code, heif_error_Ok);
    heif_image_handle_release(h);
    heif_image_release(img);
    heif_encoder_release(enc);
    heif_context_free(ctx);
    *len = out.len;
    return out.buf;
}
#endif

#ifdef RC_HAVE_HEIF
static void heic_photo_decodes(void **state)
{
    (void)state;
    img_image *src = photo();
    if (!src) skip();
    /* HEVC codes in 4:2:0 blocks of 8: an even size keeps the comparison
     * to the coded picture. */
    img_image *even = img_crop_resize(src, 0, 0, (float)(src->w & ~7), (float)(src->h & ~7),
                                      src->w & ~7, src->h & ~7, 0);
    size_t len = 0;
    unsigned char *buf = encode_heic(even, &len);
    if (!buf) {
        img_free(even);
        img_free(src);
        skip();
    }
    decodes_back(buf, len, even, IMG_FORMAT_HEIF);
    damaged_copies_fail_cleanly(buf, len);
    free(buf);
    img_free(even);
    img_free(src);
}
#endif

static void names_and_magic(void **state)
{
    (void)state;
    assert_int_equal(img_format_of_name("a/IMG_0001.HEIC"), IMG_FORMAT_HEIF);
    assert_int_equal(img_format_of_name("x.heif"), IMG_FORMAT_HEIF);
    assert_int_equal(img_format_of_name("x.Jpeg"), IMG_FORMAT_JPEG);
    assert_int_equal(img_format_of_name("x.webp"), IMG_FORMAT_WEBP);
    assert_int_equal(img_format_of_name("x.png"), IMG_FORMAT_PNG);
    const char *no[] = {"notes.txt", "scan.pdf", "clip.mov", "jpg", ".jpg", "a.jpg/b", "x.gif"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(img_format_of_name(no[i]), IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("RIFF\x10\0\0\0WEBPVP8 ", 16), IMG_FORMAT_WEBP);
    assert_int_equal(img_sniff("\0\0\0\x18"
                               "ftypheic\0\0\0\0",
                               16),
                     IMG_FORMAT_HEIF);
    assert_int_equal(img_sniff("\0\0\0\x18"
                               "ftypqt  \0\0\0\0",
                               16),
                     IMG_FORMAT_UNKNOWN);
    assert_int_equal(img_sniff("%PDF-1.4\n", 9), IMG_FORMAT_UNKNOWN);
}

/* A build without a decoder says so (the aarch64 cross build has neither);
 * a build with them decodes (the tests above). Either way a header that
 * says WebP or HEIF and is nothing more is an error, never a crash. */
static void missing_decoders_say_so(void **state)
{
    (void)state;
    static const unsigned char webp[] = "RIFF\x1a\0\0\0WEBPVP8 \x0e\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    static const unsigned char heif[] = "\0\0\0\x18"
                                        "ftypheic\0\0\0\0mif1heic";
    struct {
        const unsigned char *p;
        size_t n;
        img_format f;
    } cases[] = {{webp, sizeof webp - 1, IMG_FORMAT_WEBP},
                 {heif, sizeof heif - 1, IMG_FORMAT_HEIF}};
    for (int i = 0; i < 2; i++) {
        img_image *im = NULL;
        rc_error err = {0};
        rc_status st = img_decode(cases[i].p, cases[i].n, NULL, &im, &err);
        assert_int_not_equal(st, RC_OK);
        if (!img_format_supported(cases[i].f)) {
            assert_int_equal(st, RC_ERR_UNSUPPORTED);
            assert_non_null(strstr(err.msg, "not supported in this build"));
        }
    }
#if defined(RC_HAVE_WEBP) && defined(RC_HAVE_HEIF)
    assert_true(img_format_supported(IMG_FORMAT_WEBP) && img_format_supported(IMG_FORMAT_HEIF));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
    /* Listed only in a build with the decoder (meson reads a skip as a
     * failure); missing_decoders_say_so covers a build without. */
#ifdef RC_HAVE_WEBP
        cmocka_unit_test(webp_photo_decodes),
#endif
#ifdef RC_HAVE_HEIF
        cmocka_unit_test(heic_photo_decodes),
#endif
        cmocka_unit_test(names_and_magic),
        cmocka_unit_test(missing_decoders_say_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
