/* test_image.c — decoding real photos and odd files (gray, CMYK, 1-channel
 * PNG, EXIF-rotated), refusing bad input with clear errors, and the pixel
 * operations (resize, warp, crop, colour conversion, drawing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <spng.h>
#include <turbojpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "image/internal.h"

static const char *testdata(void)
{
    const char *d = getenv("ROLLCALL_TESTDATA");
    return d ? d : "../shared/testdata";
}

static img_image *pattern(int w, int h)
{
    img_image *im = img_new(w, h, 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = im->px + 3 * ((size_t)y * w + x);
            p[0] = x < w / 2 ? 220 : 20; /* red on the left */
            p[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
            p[2] = x < w / 2 ? 20 : 220; /* blue on the right */
        }
    return im;
}

static void decodes_every_test_photo(void **state)
{
    (void)state;
    const char *dirs[] = {"faces/group", "faces/noface"};
    int n = 0;
    for (int d = 0; d < 2; d++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", testdata(), dirs[d]);
        DIR *dir = opendir(path);
        if (!dir) skip();
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (!strstr(e->d_name, ".jpg")) continue;
            char file[2048];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            img_image *im = NULL;
            rc_error err;
            assert_int_equal(img_load(file, NULL, &im, &err), RC_OK);
            assert_true(im->w > 10 && im->h > 10);
            assert_int_equal(im->channels, 3);
            img_free(im);
            n++;
        }
        closedir(dir);
    }
    assert_true(n >= 30);
}

static void one_channel_jpeg_becomes_gray_rgb(void **state)
{
    (void)state;
    char file[1024];
    snprintf(file, sizeof file, "%s/faces/noface/dlib_frame_000100.jpg", testdata());
    img_image *im = NULL;
    rc_error err;
    if (img_load(file, NULL, &im, &err) == RC_ERR_NOT_FOUND) skip();
    assert_non_null(im);
    assert_int_equal(im->channels, 3);
    for (size_t i = 0; i < (size_t)im->w * im->h; i += 97) {
        assert_int_equal(im->px[3 * i], im->px[3 * i + 1]);
        assert_int_equal(im->px[3 * i], im->px[3 * i + 2]);
    }
    img_free(im);
}

static void jpeg_round_trip_keeps_content(void **state)
{
    (void)state;
    img_image *a = pattern(64, 48);
    unsigned char *buf;
    size_t len;
    assert_int_equal(img_encode_jpeg(a, 95, &buf, &len, NULL), RC_OK);
    int w, h;
    img_format f;
    assert_int_equal(img_probe(buf, len, &w, &h, &f, NULL), RC_OK);
    assert_int_equal(f, IMG_FORMAT_JPEG);
    assert_int_equal(w, 64);
    assert_int_equal(h, 48);
    img_image *b = NULL;
    assert_int_equal(img_decode(buf, len, NULL, &b, NULL), RC_OK);
    double diff = 0;
    for (size_t i = 0; i < (size_t)64 * 48 * 3; i++) diff += abs(a->px[i] - b->px[i]);
    assert_true(diff / (64 * 48 * 3) < 6.0);
    free(buf);
    img_free(a);
    img_free(b);
}

/* An APP1 segment holding a big-endian TIFF IFD with one Orientation tag. */
static unsigned char *with_orientation(const unsigned char *jpg, size_t len, int o, size_t *outlen)
{
    static const unsigned char tmpl[] = {0xFF, 0xE1, 0x00, 0x22, 'E',  'x',  'i',  'f',  0,
                                         0,    'M',  'M',  0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,
                                         0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00,
                                         0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    unsigned char *out = malloc(len + sizeof tmpl);
    memcpy(out, jpg, 2);
    memcpy(out + 2, tmpl, sizeof tmpl);
    out[2 + 29] = (unsigned char)o;
    memcpy(out + 2 + sizeof tmpl, jpg + 2, len - 2);
    *outlen = len + sizeof tmpl;
    return out;
}

static void exif_orientation_is_applied(void **state)
{
    (void)state;
    img_image *a = pattern(40, 20);
    unsigned char *buf;
    size_t len, len6;
    assert_int_equal(img_encode_jpeg(a, 95, &buf, &len, NULL), RC_OK);
    unsigned char *j6 = with_orientation(buf, len, 6, &len6);
    img_image *b = NULL;
    assert_int_equal(img_decode(j6, len6, NULL, &b, NULL), RC_OK);
    /* Orientation 6 = rotate 90 degrees clockwise: the red left half is now on top. */
    assert_int_equal(b->w, 20);
    assert_int_equal(b->h, 40);
    const uint8_t *top = b->px + 3 * (5 * 20 + 10), *bottom = b->px + 3 * (35 * 20 + 10);
    assert_true(top[0] > 150 && top[2] < 100);
    assert_true(bottom[2] > 150 && bottom[0] < 100);
    /* ...unless the caller asks for the stored orientation. */
    img_decode_opts o = {.ignore_exif = 1};
    img_image *c = NULL;
    assert_int_equal(img_decode(j6, len6, &o, &c, NULL), RC_OK);
    assert_int_equal(c->w, 40);
    for (int k = 1; k <= 8; k++) {
        img_image *r = img_orient(a, k);
        assert_int_equal(r->w, k >= 5 ? 20 : 40);
        img_free(r);
    }
    free(buf);
    free(j6);
    img_free(a);
    img_free(b);
    img_free(c);
}

static void cmyk_jpeg_decodes_to_rgb(void **state)
{
    (void)state;
    /* Build an Adobe CMYK JPEG with turbojpeg: a pure-red field is C=0 M=Y=255 K=0,
     * stored inverted (255 - ink) as libjpeg does. */
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    unsigned char cmyk[16 * 16 * 4];
    for (int i = 0; i < 16 * 16; i++) {
        cmyk[4 * i] = 255;
        cmyk[4 * i + 1] = 0;
        cmyk[4 * i + 2] = 0;
        cmyk[4 * i + 3] = 255;
    }
    tjhandle tj = tjInitCompress();
    assert_int_equal(tjCompress2(tj, cmyk, 16, 64, 16, TJPF_CMYK, &jpeg, &size, TJSAMP_444, 95, 0),
                     0);
    tjDestroy(tj);
    img_image *im = NULL;
    rc_error err;
    assert_int_equal(img_decode(jpeg, size, NULL, &im, &err), RC_OK);
    assert_true(im->px[0] > 230 && im->px[1] < 25 && im->px[2] < 25);
    img_free(im);
    tjFree(jpeg);
}

static void one_channel_png_decodes(void **state)
{
    (void)state;
    uint8_t gray[8 * 4];
    for (int i = 0; i < 32; i++) gray[i] = (uint8_t)(i * 8);
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    struct spng_ihdr ihdr = {
        .width = 8, .height = 4, .bit_depth = 8, .color_type = SPNG_COLOR_TYPE_GRAYSCALE};
    spng_set_ihdr(ctx, &ihdr);
    assert_int_equal(spng_encode_image(ctx, gray, sizeof gray, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE),
                     0);
    size_t len;
    int e;
    unsigned char *png = spng_get_png_buffer(ctx, &len, &e);
    spng_ctx_free(ctx);
    assert_non_null(png);
    img_image *im = NULL;
    assert_int_equal(img_decode(png, len, NULL, &im, NULL), RC_OK);
    assert_int_equal(im->w, 8);
    assert_int_equal(im->h, 4);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(im->px[3 * i], i * 8);
        assert_int_equal(im->px[3 * i + 2], i * 8);
    }
    img_free(im);
    /* A flipped byte inside the image data fails the CRC check: an error, not garbage. */
    png[len - 20] ^= 0x55;
    rc_error err;
    assert_int_not_equal(img_decode(png, len, NULL, &im, &err), RC_OK);
    assert_null(im);
    assert_non_null(strstr(err.msg, "PNG"));
    free(png);
}

static void bad_input_gives_clear_errors(void **state)
{
    (void)state;
    img_image *im = NULL;
    rc_error err;
    assert_int_equal(img_decode("", 0, NULL, &im, &err), RC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(img_decode("hello world, not an image", 25, NULL, &im, &err),
                     RC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "not a JPEG, PNG, WebP or HEIC"));
    assert_null(im);

    img_image *a = pattern(64, 64);
    unsigned char *buf;
    size_t len;
    assert_int_equal(img_encode_jpeg(a, 90, &buf, &len, NULL), RC_OK);
    /* Truncated: every prefix is an error or (at worst) a decode, never a crash;
     * cutting half of the data away must be reported. */
    assert_int_equal(img_decode(buf, len / 2, NULL, &im, &err), RC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "JPEG"));
    for (size_t cut = 1; cut < len; cut += 7) {
        if (img_decode(buf, cut, NULL, &im, &err) == RC_OK) img_free(im);
        im = NULL;
    }
    /* Huge: patch the SOF0 frame size to 60000 x 60000; refused before allocation. */
    for (size_t i = 0; i + 9 < len; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xC0) {
            buf[i + 5] = 0xEA, buf[i + 6] = 0x60, buf[i + 7] = 0xEA, buf[i + 8] = 0x60;
            break;
        }
    assert_int_equal(img_decode(buf, len, NULL, &im, &err), RC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "megapixels"));
    free(buf);
    /* A configurable limit. */
    assert_int_equal(img_encode_jpeg(a, 90, &buf, &len, NULL), RC_OK);
    img_decode_opts o = {.max_pixels = 1000};
    assert_int_equal(img_decode(buf, len, &o, &im, &err), RC_ERR_LIMIT);
    free(buf);
    img_free(a);
    assert_int_equal(img_load("/nonexistent/x.jpg", NULL, &im, &err), RC_ERR_NOT_FOUND);
}

/* A JPEG header with no frame behind it (the three bytes FF D8 FF, or SOI
 * and EOI): libturbojpeg's header call succeeds without filling the sizes,
 * so a decoder that trusted them read uninitialised memory and printed it in
 * its error (a heap address as a "size"). It is a corrupt file, said so. */
static void jpeg_without_a_frame_is_corrupt(void **state)
{
    (void)state;
    static const unsigned char inputs[][6] = {
        {0xFF, 0xD8, 0xFF}, {0xFF, 0xD8, 0xFF, 0xD9}, {0xFF, 0xD8, 0xFF, 0xD8, 0xFF}};
    static const size_t lens[] = {3, 4, 5};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        img_image *im = NULL;
        rc_error err = {0};
        assert_int_equal(img_decode(inputs[i], lens[i], NULL, &im, &err), RC_ERR_CORRUPT);
        assert_null(im);
        assert_non_null(strstr(err.msg, "JPEG"));
        assert_null(strstr(err.msg, "megapixels")); /* no size was invented */
        assert_null(strstr(err.msg, "memory"));
        int w = -7, h = -7;
        img_format f;
        assert_int_equal(img_probe(inputs[i], lens[i], &w, &h, &f, &err), RC_ERR_CORRUPT);
        assert_int_equal(f, IMG_FORMAT_JPEG);
        assert_int_equal(w, -7); /* untouched on error */
    }
}

/* A w x h picture as a progressive JPEG (libjpeg's standard progression,
 * 10 scans), with its smallest scan repeated `extra` more times, the way a
 * hostile file multiplies scans. Returns the malloc'ed file. */
static unsigned char *progressive_jpeg(int w, int h, int extra, size_t *len)
{
    img_image *im = pattern(w, h); /* smooth: the refinement scans are small */
    unsigned char *base;
    size_t blen;
    assert_int_equal(img_encode_jpeg(im, 95, &base, &blen, NULL), RC_OK);
    img_free(im);
    tjhandle tj = tjInitTransform();
    unsigned char *prog = NULL;
    unsigned long plen = 0;
    tjtransform xf = {.op = TJXOP_NONE, .options = TJXOPT_PROGRESSIVE};
    assert_int_equal(tjTransform(tj, base, blen, 1, &prog, &plen, &xf, 0), 0);
    tjDestroy(tj);
    free(base);
    /* The smallest scan: from an SOS marker to the next marker that is not
     * stuffing or a restart. Its copies go right after it. */
    size_t best = 0, best_len = SIZE_MAX;
    for (size_t i = 2; i + 1 < plen; i++) {
        if (prog[i] != 0xFF || prog[i + 1] != 0xDA) continue;
        size_t e = i + 2;
        while (e + 1 < plen &&
               !(prog[e] == 0xFF && prog[e + 1] != 0 && (prog[e + 1] < 0xD0 || prog[e + 1] > 0xD7)))
            e++;
        if (e - i < best_len) best = i, best_len = e - i;
    }
    assert_true(best > 0);
    *len = plen + (size_t)extra * best_len;
    unsigned char *out = malloc(*len);
    size_t end = best + best_len;
    memcpy(out, prog, end);
    for (int k = 0; k < extra; k++) memcpy(out + end + (size_t)k * best_len, prog + best, best_len);
    memcpy(out + end + (size_t)extra * best_len, prog + end, plen - end);
    tjFree(prog);
    return out;
}

/* A progressive JPEG may hold thousands of scans, each a pass over the
 * whole image for the decoder (the audit tied up a server worker for 86 s
 * with a 2 MB file like this). It is refused before decoding, with a reason;
 * an ordinary progressive file still decodes. */
static void progressive_jpeg_with_thousands_of_scans_is_refused(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *bomb = progressive_jpeg(1024, 1024, 2500, &len);
    img_image *im = NULL;
    rc_error err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    rc_status st = img_decode(bomb, len, NULL, &im, &err);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    printf("# 2510-scan progressive JPEG of %zu bytes: %s after %.1f ms of CPU (%s)\n", len,
           rc_status_name(st),
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           err.msg);
    assert_int_equal(st, RC_ERR_LIMIT);
    assert_null(im);
    assert_non_null(strstr(err.msg, "scans"));
    /* The caller may allow more (and then libjpeg-turbo's own limit of 500 scans stops it). */
    img_decode_opts many = {.max_scans = 100000};
    st = img_decode(bomb, len, &many, &im, &err);
    assert_int_not_equal(st, RC_OK);
    assert_null(im);
    free(bomb);

    unsigned char *plain = progressive_jpeg(640, 480, 0, &len);
    assert_int_equal(img_decode(plain, len, NULL, &im, &err), RC_OK);
    assert_int_equal(im->w, 640);
    img_free(im);
    free(plain);
}

typedef struct {
    const unsigned char *jpg;
    size_t len;
    rc_status st;
    atomic_int done;
} decode_job;

static void *decode_thread(void *arg)
{
    decode_job *j = arg;
    img_image *im = NULL;
    j->st = img_decode(j->jpg, j->len, NULL, &im, NULL);
    img_free(im);
    atomic_store(&j->done, 1);
    return NULL;
}

/* Decodes share one memory budget: a decode larger than the whole budget is
 * refused from its header (a progressive file holds every coefficient), one
 * that does not fit beside the others waits until they give theirs back,
 * and concurrent decodes never hold more than the budget together. */
static void decodes_share_a_memory_budget(void **state)
{
    (void)state;
    enum { W = 2000, H = 1500 };
    img_image *src = img_new(W, H, 3);
    assert_non_null(src);
    for (size_t i = 0; i < (size_t)W * H * 3; i++) src->px[i] = (uint8_t)((i * 7) ^ (i >> 9));
    unsigned char *base = NULL, *prog = NULL;
    size_t blen = 0;
    unsigned long plen = 0;
    assert_int_equal(img_encode_jpeg(src, 85, &base, &blen, NULL), RC_OK);
    tjhandle tj = tjInitCompress();
    assert_int_equal(tjCompress2(tj, src->px, W, W * 3, H, TJPF_RGB, &prog, &plen, TJSAMP_420, 85,
                                 TJFLAG_PROGRESSIVE),
                     0);
    tjDestroy(tj);
    img_free(src);
    const uint64_t px = (uint64_t)W * H, MB = 1 << 20;
    /* Baseline: the image (9 MB) and, where the built-in JPEG decoder runs,
     * its planes (2 bytes a pixel for 4:2:0); progressive: the image and 2
     * bytes a sample. */
    const uint64_t per = 3 + (img__jpeg_fast_level() ? img__jpeg_fast_per_px(TJSAMP_420) : 0);
    img_decode_budget(per * px + MB);
    img_image *im = NULL;
    rc_error err;
    assert_int_equal(img_decode(base, blen, NULL, &im, &err), RC_OK);
    img_free(im);
    assert_int_equal(img_decode(prog, plen, NULL, &im, &err), RC_ERR_LIMIT);
    assert_null(im);
    assert_non_null(strstr(err.msg, "ROLLCALL_DECODE_MEMORY_MB"));
    uint64_t cap, held, peak;
    img_decode_memory(&cap, &held, &peak);
    assert_int_equal(held, 0);
    assert_true(peak >= per * px && peak <= cap);
    /* A decode waits while another holds the budget. */
    img_decode_budget((per + 2) * px);
    assert_int_equal(img__reserve(W, H, 3, NULL), RC_OK);
    decode_job j = {base, blen, RC_ERR_INTERNAL, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, decode_thread, &j), 0);
    usleep(300 * 1000);
    assert_int_equal(atomic_load(&j.done), 0);
    img__release_thread();
    pthread_join(t, NULL);
    assert_int_equal(j.st, RC_OK);
    /* Four at once in a budget for two: all decode, never more than two. */
    img_decode_budget(2 * per * px + MB);
    decode_job jobs[4];
    pthread_t ts[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (decode_job){base, blen, RC_ERR_INTERNAL, 0};
        assert_int_equal(pthread_create(&ts[i], NULL, decode_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(ts[i], NULL);
        assert_int_equal(jobs[i].st, RC_OK);
    }
    img_decode_memory(&cap, &held, &peak);
    printf("# budget %.1f MB: four 3-megapixel decodes held at most %.1f MB at once\n",
           (double)cap / MB, (double)peak / MB);
    assert_int_equal(held, 0);
    assert_true(peak >= per * px && peak <= cap);
    img_decode_budget(0);
    tjFree(prog);
    free(base);
}

static void resize_keeps_flat_and_averages_detail(void **state)
{
    (void)state;
    img_image *flat = img_new(100, 80, 3);
    memset(flat->px, 77, 100 * 80 * 3);
    for (int mode = 0; mode < 3; mode++) {
        img_image *r = img_resize(flat, 33, 17, (img_resize_mode)mode);
        for (int i = 0; i < 33 * 17 * 3; i++) assert_int_equal(r->px[i], 77);
        img_free(r);
    }
    img_free(flat);
    /* A 1-pixel checkerboard shrunk 4x with area averaging is uniform grey. */
    img_image *cb = img_new(64, 64, 1);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) cb->px[y * 64 + x] = ((x + y) & 1) ? 255 : 0;
    img_image *s = img_resize(cb, 16, 16, IMG_RESIZE_AUTO);
    for (int i = 0; i < 256; i++) assert_in_range(s->px[i], 126, 129);
    img_free(s);
    img_free(cb);
    /* Bilinear upscaling of a ramp stays monotonic. */
    img_image *ramp = img_new(10, 1, 1);
    for (int x = 0; x < 10; x++) ramp->px[x] = (uint8_t)(x * 25);
    img_image *up = img_resize(ramp, 40, 3, IMG_RESIZE_BILINEAR);
    for (int x = 1; x < 40; x++) assert_true(up->px[x] >= up->px[x - 1]);
    assert_int_equal(up->px[0], 0);
    assert_int_equal(up->px[39], 225);
    img_free(up);
    img_free(ramp);
}

static void warp_and_crop_sample_the_right_pixels(void **state)
{
    (void)state;
    img_image *a = pattern(50, 40);
    float id[6] = {1, 0, 0, 0, 1, 0};
    img_image *w = img_warp_affine(a, id, 50, 40, 0);
    assert_memory_equal(w->px, a->px, 50 * 40 * 3);
    img_free(w);
    /* Shift by (+3, +2): output (x, y) shows source (x+3, y+2); beyond the edge is border. */
    float sh[6] = {1, 0, 3, 0, 1, 2};
    w = img_warp_affine(a, sh, 50, 40, 9);
    assert_memory_equal(w->px + 3 * (10 * 50 + 10), a->px + 3 * (12 * 50 + 13), 3);
    assert_int_equal(w->px[3 * (39 * 50 + 49)], 9);
    img_free(w);
    float inv[6];
    assert_int_equal(img_affine_invert(sh, inv), 0);
    assert_float_equal(inv[2], -3, 1e-6);
    float sing[6] = {1, 2, 0, 2, 4, 0};
    assert_int_equal(img_affine_invert(sing, inv), -1);
    /* A crop of the right half at the same scale is the blue half. */
    img_image *c = img_crop_resize(a, 25, 0, 25, 40, 25, 40, 0);
    assert_memory_equal(c->px, a->px + 3 * 25, 3);
    img_free(c);
    /* A crop that runs past the edges gets the border value there. */
    c = img_crop_resize(a, -10, -10, 70, 60, 70, 60, 200);
    assert_int_equal(c->px[0], 200);
    assert_memory_equal(c->px + 3 * (10 * 70 + 10), a->px, 3);
    img_free(c);
    /* Nonsense rectangles are refused, not sampled. */
    assert_null(img_crop_resize(a, NAN, 0, 10, 10, 5, 5, 0));
    assert_null(img_crop_resize(a, 0, 0, -1, 10, 5, 5, 0));
    assert_null(img_crop_resize(a, 0, 0, 1e30f, 10, 5, 5, 0));
    /* A big shrink through crop_resize averages. */
    c = img_crop_resize(a, 0, 0, 50, 40, 5, 4, 0);
    assert_true(c->px[0] > 150);
    img_free(c);
    img_image *p = img_pad(a, 5, 128);
    assert_int_equal(p->w, 60);
    assert_int_equal(p->px[0], 128);
    assert_memory_equal(p->px + 3 * (5 * 60 + 5), a->px, 3);
    img_free(p);
    img_free(a);
}

/* The warp as first written: every sample checked against the edges, border
 * outside. img_warp_affine skips the checks where all four samples are
 * inside; both must give the same bytes. */
static uint8_t plain_sample(const img_image *im, float sx, float sy, int c, float bv)
{
    float fx0 = floorf(sx), fy0 = floorf(sy);
    if (!(fx0 > -2.f && fy0 > -2.f && fx0 < (float)im->w + 1 && fy0 < (float)im->h + 1))
        return (uint8_t)bv;
    int x0 = (int)fx0, y0 = (int)fy0;
    float ax = sx - fx0, ay = sy - fy0, v[4];
    for (int k = 0; k < 4; k++) {
        int xx = x0 + (k & 1), yy = y0 + (k >> 1);
        v[k] = (xx >= 0 && yy >= 0 && xx < im->w && yy < im->h)
                   ? im->px[((size_t)yy * im->w + xx) * im->channels + c]
                   : bv;
    }
    float t = v[0] + (v[1] - v[0]) * ax, b = v[2] + (v[3] - v[2]) * ax, r = t + (b - t) * ay;
    return r <= 0.f ? 0 : r >= 255.f ? 255 : (uint8_t)(r + 0.5f);
}

/* The fused conversions against the straightforward ones on a real photo:
 * the warp's unchecked inner path, and img_to_planar (one pass for a 1x or
 * 2x image, e.g. a 640x480 frame for a 320x240 network input) against
 * img_crop_resize followed by (v - mean) * scale per channel. Bit-identical. */
static void fused_conversions_match_the_plain_ones(void **state)
{
    (void)state;
    char path[2048];
    snprintf(path, sizeof path, "%s/faces/id/deepface_angelina/1.jpg", testdata());
    img_image *photo;
    if (img_load(path, NULL, &photo, NULL) != RC_OK) skip();
    static const int sizes[][2] = {{640, 480}, {320, 240}, {500, 377}, {1280, 960}};
    const int ow = 320, oh = 240;
    float *t = malloc(sizeof(float) * 3 * ow * oh);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        img_image *im = img_resize(photo, sizes[k][0], sizes[k][1], IMG_RESIZE_AUTO);
        assert_int_equal(img_to_planar(im, ow, oh, 127.f, 1.f / 128.f, t), 0);
        img_image *r = img_crop_resize(im, 0, 0, (float)im->w, (float)im->h, ow, oh, 0);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < ow * oh; i++)
                if (t[c * ow * oh + i] != ((float)r->px[3 * i + c] - 127.f) * (1.f / 128.f))
                    fail_msg("%dx%d: channel %d pixel %d differs", im->w, im->h, c, i);
        img_free(r);
        img_free(im);
    }
    free(t);
    /* Rotations, scales and shifts, partly outside the photo. */
    srand(7);
    for (int k = 0; k < 20; k++) {
        float a = (float)(rand() % 628) / 100.f, s = 0.3f + (float)(rand() % 300) / 100.f;
        float m[6] = {s * cosf(a), -s * sinf(a), (float)(rand() % photo->w),
                      s * sinf(a), s * cosf(a),  (float)(rand() % photo->h)};
        img_image *w = img_warp_affine(photo, m, 112, 112, 17);
        for (int y = 0; y < 112; y++)
            for (int x = 0; x < 112; x++)
                for (int c = 0; c < 3; c++) {
                    float sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
                    if (w->px[(y * 112 + x) * 3 + c] != plain_sample(photo, sx, sy, c, 17.f))
                        fail_msg("warp %d: pixel (%d, %d) differs", k, x, y);
                }
        img_free(w);
    }
    img_free(photo);
}

/* Random pixels (a fixed sequence), where any mix-up of channels, columns or
 * rows shows. */
static img_image *noise(int w, int h, unsigned seed)
{
    img_image *im = img_new(w, h, 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        seed = seed * 1103515245u + 12345u;
        im->px[i] = (uint8_t)(seed >> 16);
    }
    return im;
}

/* The warp's kernels read nothing outside the pixels (ASan does not see
 * their gathers): 1- and 3-channel images right after an inaccessible page
 * (groups starting on the first pixels) and right before one (groups of 16
 * ending on the last pixel: 48 columns at shift -1), against the C loop. */
static void simd_warp_reads_only_the_pixels(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const int W = 41, H = 23, ow = 48;
    for (int k = 0; k < 4; k++) {
        int C = k < 2 ? 1 : 3, end = k % 2;
        size_t n = (size_t)W * H * C;
        uint8_t *map =
            mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(map != MAP_FAILED && n <= page);
        assert_int_equal(mprotect(map, page, PROT_NONE), 0);
        assert_int_equal(mprotect(map + 2 * page, page, PROT_NONE), 0);
        img_image im = {W, H, C, end ? map + 2 * page - n : map + page};
        for (size_t i = 0; i < n; i++) im.px[i] = (uint8_t)(i * 7 + i / 5);
        for (int t = -3; t <= 3; t++) {
            float m[6] = {1, 0, (float)(end ? W - ow + t : t), 0, 1, (float)(end ? H - ow + t : t)};
            img_image *wa = img__warp_affine(IMG_SIMD_C, &im, m, ow, ow, 17);
            img_image *wb = img__warp_affine(IMG_SIMD_AVX2, &im, m, ow, ow, 17);
            if (memcmp(wa->px, wb->px, (size_t)ow * ow * C) != 0)
                fail_msg("guarded warp (%d channels, %s pixels, shift %d) differs", C,
                         end ? "last" : "first", t);
            img_free(wa);
            img_free(wb);
        }
        munmap(map, 3 * page);
    }
}

/* The SIMD pixel kernels (simd.c) against the plain C loops, which define
 * the answer: bit for bit, on a real photo and on noise, at sizes that leave
 * tails for the C loop (widths not a multiple of 8 or 16), warps (RGB and
 * gray) partly outside the image and rectangles at every edge (the kernels must neither
 * differ nor read outside the pixels: the ASan build runs this too). On a
 * CPU without AVX2 there is nothing to compare and the test says so. */
static void simd_kernels_match_the_c_loops(void **state)
{
    (void)state;
    if (img__simd_best() == IMG_SIMD_C) {
        /* not cmocka's skip(): meson reads a skipped case as a failure,
         * and on aarch64 (qemu) this is the expected answer */
        printf("# SKIP no AVX2 here (or ROLLCALL_NN_CPU=generic): only the C loops run\n");
        return;
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/faces/id/deepface_angelina/1.jpg", testdata());
    img_image *photo = NULL;
    if (img_load(path, NULL, &photo, NULL) != RC_OK) photo = noise(500, 400, 3);
    static const int sizes[][2] = {{320, 240}, {37, 11}, {16, 1}, {15, 3}, {100, 64}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int ow = sizes[k][0], oh = sizes[k][1];
        img_image *srcs[2] = {noise(2 * ow, 2 * oh, (unsigned)k),
                              img_resize(photo, 2 * ow, 2 * oh, IMG_RESIZE_AUTO)};
        float *a = malloc(sizeof(float) * 3 * ow * oh), *b = malloc(sizeof(float) * 3 * ow * oh);
        for (int s = 0; s < 2; s++) {
            assert_int_equal(img__to_planar(IMG_SIMD_C, srcs[s], ow, oh, 127.f, 1.f / 128.f, a), 0);
            assert_int_equal(img__to_planar(IMG_SIMD_AVX2, srcs[s], ow, oh, 127.f, 1.f / 128.f, b),
                             0);
            if (memcmp(a, b, sizeof(float) * 3 * ow * oh) != 0)
                fail_msg("to_planar %dx%d (source %d) differs", ow, oh, s);
            img_free(srcs[s]);
        }
        free(a);
        free(b);
    }
    /* The same size (the aligned face's input): pixel counts with and
     * without a tail for the C loop. */
    static const int same[][2] = {{112, 112}, {37, 11}, {31, 1}, {15, 3}};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        int ow = same[k][0], oh = same[k][1];
        img_image *src =
            k ? noise(ow, oh, (unsigned)k + 20) : img_resize(photo, ow, oh, IMG_RESIZE_AUTO);
        float *a = malloc(sizeof(float) * 3 * ow * oh), *b = malloc(sizeof(float) * 3 * ow * oh);
        assert_int_equal(img__to_planar(IMG_SIMD_C, src, ow, oh, 127.f, 1.f / 128.f, a), 0);
        assert_int_equal(img__to_planar(IMG_SIMD_AVX2, src, ow, oh, 127.f, 1.f / 128.f, b), 0);
        if (memcmp(a, b, sizeof(float) * 3 * ow * oh) != 0)
            fail_msg("to_planar at the same size %dx%d differs", ow, oh);
        free(a);
        free(b);
        img_free(src);
    }
    /* Warps: rotations, scales and shifts, some partly outside, onto widths
     * with and without a tail. */
    img_image *small = noise(41, 23, 9), *gray = img_to_gray(photo), *gsmall = img_to_gray(small);
    const img_image *warped[4] = {photo, small, gray, gsmall};
    srand(11);
    for (int k = 0; k < 80; k++) {
        const img_image *src = warped[k % 4];
        float an = (float)(rand() % 628) / 100.f, sc = 0.2f + (float)(rand() % 300) / 100.f;
        float m[6] = {sc * cosf(an), -sc * sinf(an), (float)(rand() % src->w) - 10,
                      sc * sinf(an), sc * cosf(an),  (float)(rand() % src->h) - 10};
        /* 112 and 64 (the aligned face, the landmark crop), 45 and 37
         * (16-output groups, an 8-output group and a tail for the C loop),
         * 24 (one of each group). */
        static const int ows[] = {45, 112, 37, 64, 24};
        int ow = ows[k % 5];
        img_image *wa = img__warp_affine(IMG_SIMD_C, src, m, ow, ow, 17);
        img_image *wb = img__warp_affine(IMG_SIMD_AVX2, src, m, ow, ow, 17);
        if (memcmp(wa->px, wb->px, (size_t)ow * ow * src->channels) != 0)
            fail_msg("warp %d (%d channels) differs", k, src->channels);
        img_free(wa);
        img_free(wb);
    }
    /* Shifts and slight scales that put a group's samples on the image's
     * first pixels (where a 1-channel group must leave the first two to the
     * C loop) or on its last column, row and pixel (where an RGB group of
     * 16 must leave the last pixel to the 8-output path), or one past:
     * each group either all in a kernel or none. */
    for (int k = 0; k < 8; k++) {
        const img_image *src = warped[k % 4];
        /* 0: the first pixels; 1: the last ones, 48 columns (three groups
         * of 16, the last one ending on the last pixel at shift -1) */
        int last = k / 4, ow = last ? 48 : 37;
        for (int t = -3; t <= 3; t++)
            for (int s = 0; s < 3; s++) {
                float sc = 1.f + 0.01f * (float)s;
                float m[6] = {sc, 0,  (float)(last ? src->w - ow + t : t) - 0.25f * (float)s,
                              0,  sc, (float)(last ? src->h - ow + t : t)};
                img_image *wa = img__warp_affine(IMG_SIMD_C, src, m, ow, ow, 17);
                img_image *wb = img__warp_affine(IMG_SIMD_AVX2, src, m, ow, ow, 17);
                if (memcmp(wa->px, wb->px, (size_t)ow * ow * src->channels) != 0)
                    fail_msg("edge warp of image %d (%s pixels, shift %d, scale %d) differs", k % 4,
                             last ? "last" : "first", t, s);
                img_free(wa);
                img_free(wb);
            }
    }
    /* Gray conversion of rectangles 1 to 100 pixels wide, to the last pixel. */
    for (int wd = 1; wd <= 100; wd += 3) {
        int W = photo->w, H = photo->h;
        img_image *ga = img__gray_rect(IMG_SIMD_C, photo, W - wd, H - 5, wd, 5);
        img_image *gb = img__gray_rect(IMG_SIMD_AVX2, photo, W - wd, H - 5, wd, 5);
        if (memcmp(ga->px, gb->px, (size_t)wd * 5) != 0) fail_msg("gray of %d columns differs", wd);
        img_free(ga);
        img_free(gb);
    }
    /* Area resizes of gray rectangles (the landmark crop's 225 x 225 ->
     * 98 x 98, eight rows a lane group and the rows and columns left to the
     * C loop), at the image's first and last pixels, and of an RGB one. */
    static const int areas[][4] = {{225, 225, 98, 98}, {40, 17, 13, 5}, {8, 8, 3, 3},
                                   {9, 31, 2, 12},     {1, 9, 1, 4},    {100, 8, 37, 3}};
    for (size_t k = 0; k < sizeof areas / sizeof areas[0]; k++)
        for (int corner = 0; corner < 2; corner++) {
            const int *q = areas[k];
            int x0 = corner ? gray->w - q[0] : 0, y0 = corner ? gray->h - q[1] : 0;
            img_image *ra = img__resize_area(IMG_SIMD_C, gray, x0, y0, q[0], q[1], q[2], q[3]);
            img_image *rb = img__resize_area(IMG_SIMD_AVX2, gray, x0, y0, q[0], q[1], q[2], q[3]);
            assert_non_null(ra);
            assert_non_null(rb);
            if (memcmp(ra->px, rb->px, (size_t)q[2] * q[3]) != 0)
                fail_msg("area %dx%d -> %dx%d at (%d, %d) differs", q[0], q[1], q[2], q[3], x0, y0);
            img_free(ra);
            img_free(rb);
        }
    img_image *ca = img__resize_area(IMG_SIMD_C, photo, 5, 7, 300, 200, 97, 61);
    img_image *cb = img__resize_area(IMG_SIMD_AVX2, photo, 5, 7, 300, 200, 97, 61);
    assert_memory_equal(ca->px, cb->px, (size_t)97 * 61 * 3);
    img_free(ca);
    img_free(cb);
    /* Rectangles at the corners (the image's first and last pixels), 1 and
     * 2 pixels wide or tall, up- and downscaled, both channel orders; 37
     * and 45 outputs a row (the kernel's 16-output groups, 8-output groups
     * and the C loop's rest), and the liveness input's 128. */
    const int ns[] = {37, 45, 128};
    float *a = malloc(sizeof(float) * 3 * 128 * 128), *b = malloc(sizeof(float) * 3 * 128 * 128);
    const img_image *srcs[2] = {small, photo};
    for (int k = 0; k < 6; k++) {
        const int n = ns[k / 2], s = k % 2;
        int W = srcs[s]->w, H = srcs[s]->h;
        const int rects[][4] = {{0, 0, W, H},
                                {0, 0, 1, 1},
                                {W - 1, H - 1, 1, 1},
                                {0, 0, 2, H},
                                {W - 2, 0, 2, H},
                                {0, H - 2, W, 2},
                                {3, 2, W / 2, H / 3},
                                {W / 3, H / 4, 9, H - H / 4},
                                {W - 20, H - 21, 20, 21}};
        for (size_t r = 0; r < sizeof rects / sizeof rects[0]; r++)
            for (int rev = 0; rev < 2; rev++) {
                const int *q = rects[r];
                img__rect_to_planar(IMG_SIMD_C, srcs[s], q[0], q[1], q[2], q[3], n, rev, a);
                img__rect_to_planar(IMG_SIMD_AVX2, srcs[s], q[0], q[1], q[2], q[3], n, rev, b);
                if (memcmp(a, b, sizeof(float) * 3 * n * n) != 0)
                    fail_msg("rect (%d, %d, %d, %d) of image %d (reverse %d) to %d differs", q[0],
                             q[1], q[2], q[3], s, rev, n);
            }
    }
    free(a);
    free(b);
    img_free(small);
    img_free(gray);
    img_free(gsmall);
    img_free(photo);
}

/* Area resize, one output value at a time straight from its definition: the
 * coverage-weighted mean of the source pixels under the footprint (weights
 * in double, summed in float from 0, left to right, then top to bottom), as
 * img_resize's area path must give it, bit for bit. */
static uint8_t plain_area(const img_image *im, int w, int h, int x, int y, int c)
{
    double sx = (double)im->w / w, sy = (double)im->h / h;
    double ax = x * sx, bx = (x + 1) * sx, ay = y * sy, by = (y + 1) * sy;
    int fx = (int)floor(ax), lx = (int)ceil(bx) - 1, fy = (int)floor(ay), ly = (int)ceil(by) - 1;
    if (lx >= im->w) lx = im->w - 1;
    if (ly >= im->h) ly = im->h - 1;
    float s = 0;
    for (int yy = fy; yy <= ly; yy++) {
        float row = 0;
        for (int xx = fx; xx <= lx; xx++) {
            double cov = fmin(xx + 1, bx) - fmax(xx, ax);
            row += (float)(cov / sx) * im->px[((size_t)yy * im->w + xx) * im->channels + c];
        }
        double cov = fmin(yy + 1, by) - fmax(yy, ay);
        s += (float)(cov / sy) * row;
    }
    return s <= 0.f ? 0 : s >= 255.f ? 255 : (uint8_t)(s + 0.5f);
}

static void area_resize_matches_its_definition(void **state)
{
    (void)state;
    static const int cases[][5] = {{224, 224, 98, 98, 1},
                                   {640, 480, 320, 240, 3},
                                   {101, 37, 13, 9, 3},
                                   {50, 50, 7, 50, 1},
                                   {33, 20, 33, 3, 3}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *q = cases[k];
        img_image *src = noise(q[0], q[1], (unsigned)k + 40);
        if (q[4] == 1) {
            img_image *g = img_to_gray(src);
            img_free(src);
            src = g;
        }
        img_image *r = img_resize(src, q[2], q[3], IMG_RESIZE_AREA);
        assert_non_null(r);
        for (int y = 0; y < q[3]; y++)
            for (int x = 0; x < q[2]; x++)
                for (int c = 0; c < q[4]; c++)
                    if (r->px[((size_t)y * q[2] + x) * q[4] + c] !=
                        plain_area(src, q[2], q[3], x, y, c))
                        fail_msg("%dx%d -> %dx%d: pixel (%d, %d) channel %d differs", q[0], q[1],
                                 q[2], q[3], x, y, c);
        img_free(r);
        img_free(src);
    }
}

static void colour_conversion_and_drawing(void **state)
{
    (void)state;
    img_image *a = img_new(2, 1, 3);
    uint8_t px[6] = {255, 255, 255, 255, 0, 0};
    memcpy(a->px, px, 6);
    img_image *g = img_to_gray(a);
    assert_int_equal(g->px[0], 255);
    assert_in_range(g->px[1], 75, 77);
    img_image *c = img_to_rgb(g);
    assert_int_equal(c->px[3], c->px[5]);
    img_free(a);
    img_free(g);
    img_free(c);
    img_image *d = img_new(30, 30, 3);
    memset(d->px, 0, 30 * 30 * 3);
    img_draw_rect(d, 5, 5, 20, 20, 1, 0, 255, 0);
    assert_int_equal(d->px[3 * (5 * 30 + 10) + 1], 255);
    assert_int_equal(d->px[3 * (10 * 30 + 10) + 1], 0);
    img_draw_rect(d, -5, -5, 100, 100, 2, 1, 2, 3); /* clipped, no overflow */
    img_draw_dot(d, 15, 15, 2, 255, 0, 0);
    assert_int_equal(d->px[3 * (15 * 30 + 15)], 255);
    img_draw_text(d, 0, 22, 1, "Ab9?", 255, 255, 255);
    img_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_every_test_photo),
        cmocka_unit_test(one_channel_jpeg_becomes_gray_rgb),
        cmocka_unit_test(jpeg_round_trip_keeps_content),
        cmocka_unit_test(exif_orientation_is_applied),
        cmocka_unit_test(cmyk_jpeg_decodes_to_rgb),
        cmocka_unit_test(one_channel_png_decodes),
        cmocka_unit_test(bad_input_gives_clear_errors),
        cmocka_unit_test(jpeg_without_a_frame_is_corrupt),
        cmocka_unit_test(progressive_jpeg_with_thousands_of_scans_is_refused),
        cmocka_unit_test(decodes_share_a_memory_budget),
        cmocka_unit_test(resize_keeps_flat_and_averages_detail),
        cmocka_unit_test(warp_and_crop_sample_the_right_pixels),
        cmocka_unit_test(colour_conversion_and_drawing),
        cmocka_unit_test(fused_conversions_match_the_plain_ones),
        cmocka_unit_test(simd_kernels_match_the_c_loops),
        cmocka_unit_test(simd_warp_reads_only_the_pixels),
        cmocka_unit_test(area_resize_matches_its_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
