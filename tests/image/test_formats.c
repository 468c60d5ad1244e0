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
#include "image/internal.h"
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
/* The offset of box type `t` (its four letters) in buf, or 0. */
static size_t find4(const unsigned char *buf, size_t len, const char *t)
{
    for (size_t i = 4; i + 4 <= len; i++)
        if (memcmp(buf + i, t, 4) == 0) return i;
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A file whose `ispe` says less than its picture holds: libheif decoded the
 * whole picture (a 30 KB file declaring 320x160 held 134 megapixels: 770 MB
 * and seconds of CPU) before it noticed. Now the coded size is read from
 * the stream's SPS first and the file is refused before any decoding. */
static void lying_sizes_are_refused_before_decoding(const unsigned char *buf, size_t len,
                                                    const img_image *src)
{
    uint64_t coded = 0;
    rc_error err;
    assert_int_equal(img__heif_coded(buf, len, &coded, &err), RC_OK);
    /* the coded size: the picture, rounded up to HEVC's 8-pixel blocks */
    assert_true(coded >= (uint64_t)src->w * src->h);
    assert_true(coded <= (uint64_t)(src->w + 8) * (src->h + 8));
    unsigned char *lie = malloc(len);
    memcpy(lie, buf, len);
    size_t at = find4(lie, len, "ispe");
    assert_true(at > 0);
    put32(lie + at + 8, 64);
    put32(lie + at + 12, 48);
    img_image *im = NULL;
    rc_status st = img_decode(lie, len, NULL, &im, &err);
    assert_int_equal(st, RC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "is declared as 64x48"));
    free(lie);
}

/* Box writers for a grid made by hand around the encoded picture's hvcC. */
static size_t box(unsigned char *out, const char *type, const unsigned char *body, size_t n)
{
    put32(out, (uint32_t)(8 + n));
    memcpy(out + 4, type, 4);
    memcpy(out + 8, body, n);
    return 8 + n;
}

/* ftyp + meta: item 1 a grid (declared gw x gh) of `ntiles` references to
 * item 2 (type `tile_type`, declared tw x th, coded by `hvcc`). */
static size_t grid_file(unsigned char *out, const unsigned char *hvcc, size_t hvcc_len, uint32_t gw,
                        uint32_t gh, uint32_t tw, uint32_t th, int ntiles, const char *tile_type)
{
    unsigned char b[8192], m[8192], t[64];
    size_t n = 0, mn = 4; /* meta: version/flags first */
    memset(m, 0, 4);
    /* pitm: item 1 */
    unsigned char pitm[6] = {0, 0, 0, 0, 0, 1};
    mn += box(m + mn, "pitm", pitm, sizeof pitm);
    /* iinf: two infe version 2 */
    size_t in = 0;
    unsigned char ii[64];
    memset(ii, 0, 6); /* version/flags, entry count (16 bits) */
    ii[5] = 2;
    in = 6;
    for (int k = 0; k < 2; k++) {
        unsigned char e[13] = {2, 0, 0, 0, 0, (unsigned char)(k + 1), 0, 0};
        memcpy(e + 8, k ? tile_type : "grid", 4);
        e[12] = 0; /* item name: empty string */
        in += box(ii + in, "infe", e, sizeof e);
    }
    mn += box(m + mn, "iinf", ii, in);
    /* iref: dimg from 1 to item 2, ntiles times */
    size_t rn = 0;
    unsigned char r[600], d[600];
    memset(r, 0, 4);
    rn = 4;
    size_t dn = 0;
    d[dn++] = 0, d[dn++] = 1, d[dn++] = 0, d[dn++] = (unsigned char)ntiles;
    for (int k = 0; k < ntiles; k++) d[dn++] = 0, d[dn++] = 2;
    rn += box(r + rn, "dimg", d, dn);
    mn += box(m + mn, "iref", r, rn);
    /* iprp: ipco (1: grid's ispe, 2: tile's ispe, 3: hvcC), ipma */
    size_t pn = 0, cn = 0;
    unsigned char p[4096], c[4096];
    memset(t, 0, 4);
    put32(t + 4, gw), put32(t + 8, gh);
    cn += box(c + cn, "ispe", t, 12);
    put32(t + 4, tw), put32(t + 8, th);
    cn += box(c + cn, "ispe", t, 12);
    cn += box(c + cn, "hvcC", hvcc, hvcc_len);
    pn += box(p + pn, "ipco", c, cn);
    unsigned char a[] = {0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1, 0x81, 0, 2, 2, 0x82, 0x83};
    pn += box(p + pn, "ipma", a, sizeof a);
    mn += box(m + mn, "iprp", p, pn);
    unsigned char ftyp[] = {'h', 'e', 'i', 'c', 0, 0, 0, 0, 'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'};
    n += box(b + n, "ftyp", ftyp, sizeof ftyp);
    n += box(b + n, "meta", m, mn);
    memcpy(out, b, n);
    return n;
}

/* A grid's cost is every tile it places: four placements of a tile are
 * four pictures decoded, whatever the grid declares; a tile that lies
 * about its size, or is not HEVC, is refused; a cut file fails cleanly. */
static void grids_count_every_tile(const unsigned char *buf, size_t len, const img_image *src)
{
    size_t at = find4(buf, len, "hvcC");
    assert_true(at >= 4);
    uint32_t blen = (uint32_t)buf[at - 4] << 24 | (uint32_t)buf[at - 3] << 16 |
                    (uint32_t)buf[at - 2] << 8 | buf[at - 1];
    assert_true(blen > 8 && blen < 4000);
    const unsigned char *hvcc = buf + at + 4;
    size_t hlen = blen - 8;
    uint64_t one = 0, coded = 0;
    rc_error err;
    assert_int_equal(img__heif_coded(buf, len, &one, &err), RC_OK);
    unsigned char f[8192];
    uint32_t w = (uint32_t)src->w, h = (uint32_t)src->h;
    size_t n = grid_file(f, hvcc, hlen, 2 * w, 2 * h, w, h, 4, "hvc1");
    assert_int_equal(img__heif_coded(f, n, &coded, &err), RC_OK);
    assert_true(coded == 4 * one);
    n = grid_file(f, hvcc, hlen, 64, 64, w, h, 200, "hvc1");
    assert_int_equal(img__heif_coded(f, n, &coded, &err), RC_OK);
    assert_true(coded == 200 * one);
    n = grid_file(f, hvcc, hlen, 2 * w, 2 * h, 32, 32, 4, "hvc1");
    assert_int_equal(img__heif_coded(f, n, &coded, &err), RC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "is declared as 32x32"));
    n = grid_file(f, hvcc, hlen, 2 * w, 2 * h, w, h, 4, "av01");
    assert_int_equal(img__heif_coded(f, n, &coded, &err), RC_ERR_UNSUPPORTED);
    n = grid_file(f, hvcc, hlen, 2 * w, 2 * h, w, h, 4, "hvc1");
    for (size_t cut = 0; cut < n; cut += 7) {
        rc_status st = img__heif_coded(f, cut, &coded, &err);
        if (st != RC_OK) assert_true(err.msg[0] != 0);
    }
}

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
    lying_sizes_are_refused_before_decoding(buf, len, even);
    grids_count_every_tile(buf, len, even);
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
