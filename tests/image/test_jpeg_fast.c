/* test_jpeg_fast.c — the built-in JPEG decoder (src/image/jpeg_fast.c) gives
 * libjpeg-turbo's bytes, in its plain C form and its AVX-512 form, on the
 * test photos, on re-encodes of them at every subsampling it takes, odd
 * sizes and qualities, on libjpeg's restart intervals and optimised tables;
 * it declines what it does not take (progressive, arithmetic, 4:4:0); and a
 * damaged file decodes through img_decode exactly as through libjpeg-turbo
 * alone (same status, same pixels). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#ifdef HAVE_LIBJPEG
#include <jpeglib.h>
#endif

#include "image/image.h"
#include "image/internal.h"

static const char *testdata(void)
{
    const char *d = getenv("ROLLCALL_TESTDATA");
    return d ? d : "../shared/testdata";
}

static int have_avx512(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

typedef struct {
    int files, taken[3], declined[3];
} tally;

/* libjpeg-turbo's RGB for a JPEG (NULL when it fails, a warning is fine). */
static img_image *reference(const unsigned char *jpg, size_t len)
{
    tjhandle tj = tjInitDecompress();
    int w, h, sub, cs;
    img_image *im = NULL;
    if (tjDecompressHeader3(tj, jpg, (unsigned long)len, &w, &h, &sub, &cs) == 0 &&
        (im = img_new(w, h, 3)) != NULL &&
        tjDecompress2(tj, jpg, (unsigned long)len, im->px, w, w * 3, h, TJPF_RGB, 0) != 0 &&
        tjGetErrorCode(tj) != TJERR_WARNING) {
        img_free(im);
        im = NULL;
    }
    tjDestroy(tj);
    return im;
}

/* Both levels of the built-in decoder against libjpeg-turbo: where they
 * decode, the same bytes; `expect` 1: they must decode it, 0: decline it,
 * -1: either. */
static void check(const char *what, const unsigned char *jpg, size_t len, int expect, tally *t)
{
    img_image *ref = reference(jpg, len);
    if (!ref) return;
    t->files++;
    for (int level = IMG_JPEG_C; level <= IMG_JPEG_AVX512; level++) {
        if (level == IMG_JPEG_AVX512 && !have_avx512()) continue;
        img_image *im = img_new(ref->w, ref->h, 3);
        memset(im->px, 0xA5, (size_t)ref->w * ref->h * 3);
        int got = img__jpeg_fast((img__jpeg_level)level, jpg, len, im);
        if (got && memcmp(im->px, ref->px, (size_t)ref->w * ref->h * 3) != 0) {
            size_t i = 0;
            while (im->px[i] == ref->px[i]) i++;
            fail_msg("%s (%dx%d, level %d): byte %zu (pixel %zu, %zu) is %d, libjpeg-turbo %d",
                     what, ref->w, ref->h, level, i, i / 3 % ref->w, i / 3 / ref->w, im->px[i],
                     ref->px[i]);
        }
        if (expect >= 0 && got != expect)
            fail_msg("%s (%dx%d, level %d): %s, expected %s", what, ref->w, ref->h, level,
                     got ? "decoded" : "declined", expect ? "decoded" : "declined");
        (got ? t->taken : t->declined)[level]++;
        img_free(im);
    }
    img_free(ref);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static img_image *noise_photo(int w, int h)
{
    img_image *im = img_new(w, h, 3);
    unsigned s = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                s = s * 1103515245u + 12345u;
                /* smooth gradients with noise and a hard edge: every kind of block */
                int v = (x * 255 / w + c * 60 + (int)(s >> 27)) % 256;
                if (x > w / 3 && x < w / 3 + 9) v = 255 * ((y / 4) & 1);
                im->px[3 * ((size_t)y * w + x) + c] = (uint8_t)v;
            }
    return im;
}

/* Re-encode an image (cropped to w x h) at a subsampling and quality. */
static void reencode(const char *name, const img_image *im, int w, int h, int sub, int q, tally *t)
{
    tjhandle tc = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long len = 0;
    if (tjCompress2(tc, im->px, w, im->w * 3, h, TJPF_RGB, &jpg, &len, sub, q, 0) == 0) {
        char what[600];
        snprintf(what, sizeof what, "%s re-encoded %dx%d sub %d q%d", name, w, h, sub, q);
        check(what, jpg, len, sub == TJSAMP_440 || sub == TJSAMP_411 ? 0 : 1, t);
    }
    tjFree(jpg);
    tjDestroy(tc);
}

static void photos_and_reencodes_match_libjpeg_turbo(void **state)
{
    (void)state;
    tally t = {0};
    const char *dirs[] = {"faces/group", "faces/noface", "faces/id"};
    int photos = 0;
    for (int d = 0; d < 3; d++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", testdata(), dirs[d]);
        DIR *dir = opendir(path);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir))) {
            char file[2048];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            DIR *sub = d == 2 && e->d_name[0] != '.' ? opendir(file) : NULL;
            /* id/ has a folder a person; take the first photo of each */
            if (sub) {
                struct dirent *f;
                while ((f = readdir(sub)))
                    if (strstr(f->d_name, ".jpg")) break;
                if (f) snprintf(file + strlen(file), sizeof file - strlen(file), "/%s", f->d_name);
                closedir(sub);
                if (!f) continue;
            } else if (!strstr(e->d_name, ".jpg")) {
                continue;
            }
            size_t len;
            unsigned char *jpg = read_file(file, &len);
            if (!jpg) continue;
            check(file, jpg, len, -1, &t);
            img_image *im = reference(jpg, len);
            /* re-encodes of the photos up to 1.5 megapixels, each at two
             * subsamplings, sizes cut by 0-7 columns and 0-5 rows */
            if (im && (size_t)im->w * im->h <= 1500000) {
                static const int subs[] = {TJSAMP_420, TJSAMP_422, TJSAMP_444, TJSAMP_GRAY,
                                           TJSAMP_440};
                static const int qs[] = {90, 75, 50, 98, 100, 30};
                int w = im->w - photos % 8, h = im->h - photos % 6;
                for (int k = 0; k < 2; k++)
                    reencode(file, im, w > 16 ? w : im->w, h > 16 ? h : im->h,
                             subs[(photos + k) % 5], qs[(photos + 3 * k) % 6], &t);
            }
            img_free(im);
            free(jpg);
            photos++;
        }
        closedir(dir);
    }
    /* without the test photos: a made-up picture at every subsampling */
    img_image *n = noise_photo(333, 245);
    static const int subs[] = {TJSAMP_420, TJSAMP_422, TJSAMP_444, TJSAMP_GRAY};
    for (int s = 0; s < 4; s++)
        for (int q = 50; q <= 100; q += 25)
            reencode("noise", n, 333 - s, 245 - 2 * s, subs[s], q, &t);
    img_free(n);
    printf("# %d photos, %d files in all: C form decoded %d, declined %d; AVX-512 form %s %d, "
           "declined %d\n",
           photos, t.files, t.taken[IMG_JPEG_C], t.declined[IMG_JPEG_C],
           have_avx512() ? "decoded" : "(not on this CPU)", t.taken[IMG_JPEG_AVX512],
           t.declined[IMG_JPEG_AVX512]);
    assert_true(t.taken[IMG_JPEG_C] >= 12);
    if (have_avx512()) assert_int_equal(t.taken[IMG_JPEG_AVX512], t.taken[IMG_JPEG_C]);
}

#ifdef HAVE_LIBJPEG
/* A JPEG from libjpeg's own encoder with what its API offers. */
static unsigned char *libjpeg_encode(const img_image *im, int gray, int hs, int vs, int restart,
                                     int restart_rows, int optimize, int progressive, int arith,
                                     int quality, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    *len = 0;
    jpeg_mem_dest(&c, &out, len);
    c.image_width = (JDIMENSION)im->w;
    c.image_height = (JDIMENSION)im->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    if (gray) jpeg_set_colorspace(&c, JCS_GRAYSCALE);
    jpeg_set_quality(&c, quality, TRUE);
    c.comp_info[0].h_samp_factor = hs;
    c.comp_info[0].v_samp_factor = vs;
    c.restart_interval = (unsigned)restart;
    c.restart_in_rows = restart_rows;
    c.optimize_coding = optimize ? TRUE : FALSE;
    c.arith_code = arith ? TRUE : FALSE;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = im->px + (size_t)c.next_scanline * im->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return out;
}
#endif

static void restart_markers_and_other_encoders(void **state)
{
    (void)state;
#ifndef HAVE_LIBJPEG
    printf("# SKIP this build has no libjpeg (jpeglib.h) to write restart markers with\n");
#else
    img_image *n = noise_photo(301, 203);
    char path[2048];
    snprintf(path, sizeof path, "%s/faces/id/deepface_angelina/1.jpg", testdata());
    img_image *photo = NULL;
    if (img_load(path, NULL, &photo, NULL) != RC_OK) photo = img_clone(n);
    tally t = {0};
    const img_image *srcs[2] = {n, photo};
    static const struct {
        int gray, hs, vs, restart, rows, opt, prog, arith, expect;
    } v[] = {
        {0, 2, 2, 1, 0, 0, 0, 0, 1}, {0, 2, 2, 5, 0, 1, 0, 0, 1}, {0, 2, 1, 64, 0, 0, 0, 0, 1},
        {0, 1, 1, 0, 1, 1, 0, 0, 1}, {1, 1, 1, 3, 0, 0, 0, 0, 1}, {1, 1, 1, 0, 0, 1, 0, 0, 1},
        {0, 2, 2, 0, 2, 1, 0, 0, 1}, {0, 2, 2, 0, 0, 0, 1, 0, 0}, {0, 2, 2, 0, 0, 0, 0, 1, 0},
        {0, 1, 2, 0, 0, 0, 0, 0, 0}, {0, 2, 2, 9, 0, 1, 0, 0, 1},
    };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            unsigned long len;
            unsigned char *jpg =
                libjpeg_encode(srcs[s], v[i].gray, v[i].hs, v[i].vs, v[i].restart, v[i].rows,
                               v[i].opt, v[i].prog, v[i].arith, 40 + 20 * (int)(i % 4), &len);
            char what[200];
            snprintf(what, sizeof what, "%s, libjpeg variant %zu", s ? "photo" : "noise", i);
            check(what, jpg, len, v[i].expect, &t);
            free(jpg);
        }
    printf("# %d libjpeg files: C form decoded %d, declined %d\n", t.files, t.taken[IMG_JPEG_C],
           t.declined[IMG_JPEG_C]);
    assert_int_equal(t.files, 22);
    img_free(n);
    img_free(photo);
#endif
}

/* A frame damaged at random (bits flipped, bytes cut, markers dropped in):
 * img_decode gives the same status and the same pixels with the built-in
 * decoder as with libjpeg-turbo alone, and where the built-in decoder takes
 * a damaged file it gives libjpeg-turbo's bytes. */
static void damaged_files_decode_as_libjpeg_turbo_alone(void **state)
{
    (void)state;
    img_image *src = noise_photo(160, 120);
    unsigned char *jpgs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    assert_int_equal(img_encode_jpeg(src, 85, &jpgs[0], &lens[0], NULL), RC_OK);
#ifdef HAVE_LIBJPEG
    /* and one with a restart marker every 3 MCUs: reading past an interval
     * must not take the next interval's bits */
    unsigned long rl = 0;
    jpgs[1] = libjpeg_encode(src, 0, 2, 2, 3, 0, 0, 0, 0, 85, &rl);
    lens[1] = rl;
#endif
    img_free(src);
    unsigned s = 99;
    int compared = 0, taken = 0;
    tally t = {0};
    img_decode_opts fast = {.ignore_exif = 1}, slow = {.ignore_exif = 1, .libjpeg_only = 1};
    for (int i = 0; i < 800; i++) {
        const unsigned char *jpg = jpgs[i & 1] ? jpgs[i & 1] : jpgs[0];
        size_t len = jpgs[i & 1] ? lens[i & 1] : lens[0];
        unsigned char *b = malloc(len + 16);
        memcpy(b, jpg, len);
        size_t n = len;
        s = s * 1103515245u + 12345u;
        size_t at = 700 + (s >> 8) % (len - 700); /* past the headers: in the scan */
        switch (i / 2 % 4) {
        case 0: /* one bit */
            b[at] ^= (unsigned char)(1u << (s >> 28 & 7));
            break;
        case 1: /* cut short */
            n = at;
            break;
        case 2: /* a restart or other marker where none belongs */
            b[at] = 0xFF;
            b[at + 1 < n ? at + 1 : at] = (unsigned char)(0xD0 + (s >> 29));
            break;
        default: /* a run of bytes overwritten */
            for (size_t k = at; k < at + 8 && k < n; k++) b[k] = (unsigned char)(s >> (k & 15));
        }
        img_image *a = NULL, *c = NULL;
        rc_error ea = {0}, ec = {0};
        rc_status sa = img_decode(b, n, &fast, &a, &ea), sc = img_decode(b, n, &slow, &c, &ec);
        assert_int_equal(sa, sc);
        if (sa == RC_OK) {
            assert_int_equal(a->w, c->w);
            assert_int_equal(memcmp(a->px, c->px, (size_t)a->w * a->h * 3), 0);
        }
        compared++;
        int before = t.taken[IMG_JPEG_C];
        check("damaged frame", b, n, -1, &t);
        taken += t.taken[IMG_JPEG_C] > before;
        img_free(a);
        img_free(c);
        free(b);
    }
    printf("# %d damaged frames (%s): img_decode the same with and without the built-in "
           "decoder; the built-in decoder took %d of them, with libjpeg-turbo's bytes\n",
           compared,
           jpgs[1] ? "half with restart markers" : "no libjpeg: none with restart markers", taken);
    /* the damage must reach the decoder: it takes some of these files */
    assert_true(taken >= 50);
    free(jpgs[0]);
    free(jpgs[1]);
}

/* Quantisation tables that push values out of the range where libjpeg-
 * turbo's C and SIMD IDCTs agree (large DC steps, large AC steps): the
 * built-in decoder declines those files (or gives the same bytes). */
static void out_of_range_tables_are_declined(void **state)
{
    (void)state;
    img_image *src = noise_photo(96, 64), *flat = img_new(96, 64, 3);
    /* flat 142: every block DC only, a DC of 56 at quality 95, 14280 with a
     * DC step of 255: past the range, where libjpeg's C IDCT wraps (0) */
    memset(flat->px, 142, 96 * 64 * 3);
    unsigned char *jpgs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    assert_int_equal(img_encode_jpeg(src, 95, &jpgs[0], &lens[0], NULL), RC_OK);
    assert_int_equal(img_encode_jpeg(flat, 95, &jpgs[1], &lens[1], NULL), RC_OK);
    img_free(src);
    img_free(flat);
    tally t = {0};
    /* DQT: FF DB, length, then (Pq/Tq, 64 values) per table */
    for (int variant = 0; variant < 4; variant++) {
        const unsigned char *jpg = jpgs[variant == 3];
        size_t len = lens[variant == 3];
        unsigned char *b = malloc(len);
        memcpy(b, jpg, len);
        for (size_t i = 2; i + 4 < len && !(b[i] == 0xFF && b[i + 1] == 0xDA);) {
            size_t L = (size_t)(b[i + 2] << 8 | b[i + 3]);
            if (b[i] == 0xFF && b[i + 1] == 0xDB)
                for (size_t k = i + 4; k + 65 <= i + 2 + L; k += 65) {
                    if (variant == 0 || variant == 3) b[k + 1] = 255; /* DC step */
                    if (variant == 1)
                        for (int j = 2; j <= 64; j++) b[k + j] = 255; /* AC steps */
                    if (variant == 2)
                        for (int j = 1; j <= 64; j++) b[k + j] = (uint8_t)(200 + j % 56);
                }
            i += 2 + L;
        }
        check("frame with steep tables", b, len, -1, &t);
        free(b);
    }
    printf("# 4 frames with steep tables: C form decoded %d, declined %d\n", t.taken[IMG_JPEG_C],
           t.declined[IMG_JPEG_C]);
    assert_int_equal(t.files, 4);
    assert_true(t.declined[IMG_JPEG_C] >= 3);
    free(jpgs[0]);
    free(jpgs[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(photos_and_reencodes_match_libjpeg_turbo),
        cmocka_unit_test(restart_markers_and_other_encoders),
        cmocka_unit_test(damaged_files_decode_as_libjpeg_turbo_alone),
        cmocka_unit_test(out_of_range_tables_are_declined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
