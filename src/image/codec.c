/*
 * codec.c — decoding JPEG (libturbojpeg) and PNG (libspng) into RGB images,
 * EXIF orientation (libexif), and JPEG encoding. Every size is checked
 * against the caller's pixel limit from the header, before any pixel buffer
 * is allocated; corrupt and truncated files come back as RC_ERR_CORRUPT with
 * the decoder's own words.
 *
 * Two traps of libturbojpeg are closed here. tjDecompressHeader3 succeeds on
 * a stream with no frame at all (SOI and nothing else, e.g. the three bytes
 * FF D8 FF: libjpeg calls it "tables only") and then leaves width and height
 * untouched, so every size starts at 0 and a frame must have a positive size.
 * And a progressive JPEG may hold thousands of scans, each of which costs a
 * pass over the whole image: the scans are counted from the markers before
 * decoding (cheap, no pixels) and a file with more than the limit is refused;
 * TJFLAG_LIMITSCANS stays on as libjpeg-turbo's own backstop.
 *
 * WebP and HEIF are decoded in decode_more.c; this file sniffs every format
 * and dispatches.
 */
#include <libexif/exif-data.h>
#include <pthread.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <strings.h>

#include "internal.h"

#define IMG_MAX_FILE_BYTES (256u * 1024u * 1024u)

img_image *img_new(int w, int h, int channels)
{
    if (w <= 0 || h <= 0 || (channels != 1 && channels != 3)) return NULL;
    if ((uint64_t)w * (uint64_t)h > (uint64_t)1 << 31) return NULL;
    img_image *im = malloc(sizeof *im);
    if (!im) return NULL;
    im->w = w;
    im->h = h;
    im->channels = channels;
    im->px = malloc((size_t)w * (size_t)h * (size_t)channels);
    if (!im->px) {
        free(im);
        return NULL;
    }
    return im;
}

void img_free(img_image *im)
{
    if (!im) return;
    free(im->px);
    free(im);
}

img_image *img_clone(const img_image *im)
{
    img_image *c = img_new(im->w, im->h, im->channels);
    if (c) memcpy(c->px, im->px, (size_t)im->w * im->h * im->channels);
    return c;
}

img_format img_sniff(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return IMG_FORMAT_JPEG;
    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) return IMG_FORMAT_PNG;
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return IMG_FORMAT_WEBP;
    /* An ISO media file whose major brand is a HEIF still image. */
    static const char brands[][5] = {"heic", "heix", "hevc", "hevx", "heim",
                                     "heis", "hevm", "hevs", "mif1", "msf1"};
    if (len >= 12 && memcmp(p + 4, "ftyp", 4) == 0)
        for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++)
            if (memcmp(p + 8, brands[i], 4) == 0) return IMG_FORMAT_HEIF;
    return IMG_FORMAT_UNKNOWN;
}

int img_format_supported(img_format f)
{
    switch (f) {
    case IMG_FORMAT_JPEG:
    case IMG_FORMAT_PNG:
        return 1;
#ifdef RC_HAVE_WEBP
    case IMG_FORMAT_WEBP:
        return 1;
#endif
#ifdef RC_HAVE_HEIF
    case IMG_FORMAT_HEIF:
        return 1;
#endif
    default:
        return 0;
    }
}

const char *img_format_name(img_format f)
{
    switch (f) {
    case IMG_FORMAT_JPEG:
        return "JPEG";
    case IMG_FORMAT_PNG:
        return "PNG";
    case IMG_FORMAT_WEBP:
        return "WebP";
    case IMG_FORMAT_HEIF:
        return "HEIF";
    default:
        return "unknown";
    }
}

img_format img_format_of_name(const char *name)
{
    static const struct {
        const char *ext;
        img_format f;
    } exts[] = {{"jpg", IMG_FORMAT_JPEG},  {"jpeg", IMG_FORMAT_JPEG}, {"png", IMG_FORMAT_PNG},
                {"webp", IMG_FORMAT_WEBP}, {"heic", IMG_FORMAT_HEIF}, {"heif", IMG_FORMAT_HEIF}};
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot || dot == name || strchr(dot, '/')) return IMG_FORMAT_UNKNOWN;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot + 1, exts[i].ext) == 0) return exts[i].f;
    return IMG_FORMAT_UNKNOWN;
}

static rc_status not_an_image(const void *data, size_t len, rc_error *err)
{
    if (len == 0) return rc_fail(err, RC_ERR_UNSUPPORTED, "empty input: not an image");
    return rc_fail(err, RC_ERR_UNSUPPORTED,
                   "not a JPEG, PNG, WebP or HEIC image (unrecognised header)");
}

/* The frame size and colour space from a JPEG header. A stream without a
 * frame (tables only, or cut right after SOI) is corrupt: libturbojpeg
 * reports success for it without filling the sizes. */
static rc_status jpeg_header(tjhandle tj, const void *data, size_t len, int *w, int *h, int *sub,
                             int *cs, rc_error *err)
{
    *w = *h = *sub = *cs = 0;
    if (tjDecompressHeader3(tj, data, (unsigned long)len, w, h, sub, cs) != 0)
        return rc_fail(err, RC_ERR_CORRUPT, "corrupt JPEG header: %s", tjGetErrorStr2(tj));
    if (*w <= 0 || *h <= 0)
        return rc_fail(
            err, RC_ERR_CORRUPT,
            "corrupt JPEG: no image frame in the %zu bytes (truncated after the header?)", len);
    return RC_OK;
}

/* How many scans (SOS markers) a JPEG holds, found by walking its marker
 * segments and skipping each scan's entropy-coded data; stops counting at
 * `stop` (enough to refuse). Truncated or odd files just end the walk: the
 * decoder judges them. */
static unsigned jpeg_scan_count(const unsigned char *p, size_t n, unsigned stop)
{
    unsigned scans = 0;
    size_t i = 2; /* after SOI */
    while (i + 1 < n && scans < stop) {
        if (p[i] != 0xFF) { /* entropy-coded data: find the next marker */
            const unsigned char *ff = memchr(p + i, 0xFF, n - i);
            if (!ff) break;
            i = (size_t)(ff - p);
            continue;
        }
        unsigned m = p[i + 1];
        if (m == 0xFF || m == 0x00 || (m >= 0xD0 && m <= 0xD7)) { /* fill, stuffing, RSTn */
            i += m == 0xFF ? 1 : 2;
            continue;
        }
        if (m == 0xD9 || i + 3 >= n) break; /* EOI */
        if (m == 0xDA) scans++;
        i += 2 + ((size_t)p[i + 2] << 8 | p[i + 3]);
    }
    return scans;
}

rc_status img_probe(const void *data, size_t len, int *w, int *h, img_format *fmt, rc_error *err)
{
    img_format f = img_sniff(data, len);
    if (fmt) *fmt = f;
    if (f == IMG_FORMAT_JPEG) {
        tjhandle tj = tjInitDecompress();
        if (!tj) return rc_fail(err, RC_ERR_NOMEM, "cannot start the JPEG decoder");
        int jw = 0, jh = 0, sub = 0, cs = 0;
        rc_status st = jpeg_header(tj, data, len, &jw, &jh, &sub, &cs, err);
        tjDestroy(tj);
        if (st != RC_OK) return st;
        *w = jw;
        *h = jh;
        return RC_OK;
    }
    if (f == IMG_FORMAT_PNG) {
        /* IHDR is fixed: width and height are big-endian at offsets 16 and 20. */
        const unsigned char *p = data;
        if (len < 24 || memcmp(p + 12, "IHDR", 4) != 0)
            return rc_fail(err, RC_ERR_CORRUPT, "corrupt PNG: missing IHDR chunk");
        uint32_t pw = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
        uint32_t ph = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
        if (pw == 0 || ph == 0 || pw > INT32_MAX || ph > INT32_MAX)
            return rc_fail(err, RC_ERR_CORRUPT, "corrupt PNG: bad size %ux%u", pw, ph);
        *w = (int)pw;
        *h = (int)ph;
        return RC_OK;
    }
    if (f == IMG_FORMAT_WEBP) return img__webp_probe(data, len, w, h, err);
    if (f == IMG_FORMAT_HEIF) return img__heif_probe(data, len, w, h, err);
    return not_an_image(data, len, err);
}

rc_status img__check_limit(int w, int h, const img_decode_opts *opts, rc_error *err)
{
    uint64_t max = opts && opts->max_pixels ? opts->max_pixels : IMG_DEFAULT_MAX_PIXELS;
    uint64_t n = (uint64_t)w * (uint64_t)h;
    if (n > max)
        return rc_fail(err, RC_ERR_LIMIT,
                       "image is %dx%d (%.1f megapixels), over the limit of %.1f megapixels", w, h,
                       (double)n / 1e6, (double)max / 1e6);
    return RC_OK;
}

/* ---- the decode memory budget ---------------------------------------------- */

static pthread_mutex_t budget_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t budget_cv;
static pthread_once_t budget_once = PTHREAD_ONCE_INIT;
static uint64_t budget_cap, budget_held, budget_peak;
/* What this thread's img_decode has reserved so far (given back on return). */
static _Thread_local uint64_t thread_held;

static uint64_t budget_default(void)
{
    const char *e = getenv("ROLLCALL_DECODE_MEMORY_MB");
    char *end;
    if (e && *e) {
        unsigned long long mb = strtoull(e, &end, 10);
        if (*end == 0 && mb > 0 && mb < (1ull << 40)) return (uint64_t)mb << 20;
        fprintf(stderr, "ROLLCALL_DECODE_MEMORY_MB=%s is not a number of megabytes: ignored\n", e);
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t quarter = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 4 : 0;
    if (quarter < (256ull << 20)) quarter = 256ull << 20;
    return quarter > (2048ull << 20) ? 2048ull << 20 : quarter;
}

static void budget_init(void)
{
    /* waits are timed on the monotonic clock (a clock step cannot stretch one) */
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&budget_cv, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_lock(&budget_mu);
    if (!budget_cap) budget_cap = budget_default();
    pthread_mutex_unlock(&budget_mu);
}

void img_decode_budget(uint64_t bytes)
{
    pthread_once(&budget_once, budget_init);
    pthread_mutex_lock(&budget_mu);
    budget_cap = bytes ? bytes : budget_default();
    budget_peak = budget_held;
    pthread_cond_broadcast(&budget_cv);
    pthread_mutex_unlock(&budget_mu);
}

void img_decode_memory(uint64_t *budget, uint64_t *held, uint64_t *peak)
{
    pthread_once(&budget_once, budget_init);
    pthread_mutex_lock(&budget_mu);
    if (budget) *budget = budget_cap;
    if (held) *held = budget_held;
    if (peak) *peak = budget_peak;
    pthread_mutex_unlock(&budget_mu);
}

rc_status img__reserve(int w, int h, unsigned per_px, rc_error *err)
{
    pthread_once(&budget_once, budget_init);
    uint64_t need = (uint64_t)w * (uint64_t)h * per_px;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += IMG_BUDGET_WAIT_S;
    pthread_mutex_lock(&budget_mu);
    rc_status st = RC_OK;
    while (st == RC_OK && budget_held + need > budget_cap) {
        if (need > budget_cap)
            st = rc_fail(err, RC_ERR_LIMIT,
                         "decoding this %dx%d image needs about %llu MB, more than the %llu MB "
                         "all decodes may hold (ROLLCALL_DECODE_MEMORY_MB); send a smaller photo",
                         w, h, (unsigned long long)(need >> 20),
                         (unsigned long long)(budget_cap >> 20));
        else if (pthread_cond_timedwait(&budget_cv, &budget_mu, &until) != 0 &&
                 budget_held + need > budget_cap)
            st = rc_fail(err, RC_ERR_LIMIT,
                         "the %dx%d image waited %d s for decode memory that other decodes held "
                         "(ROLLCALL_DECODE_MEMORY_MB); try again",
                         w, h, IMG_BUDGET_WAIT_S);
    }
    if (st == RC_OK) {
        budget_held += need;
        thread_held += need;
        if (budget_held > budget_peak) budget_peak = budget_held;
    }
    pthread_mutex_unlock(&budget_mu);
    return st;
}

void img__release_thread(void)
{
    if (!thread_held) return;
    pthread_mutex_lock(&budget_mu);
    budget_held -= thread_held;
    thread_held = 0;
    pthread_cond_broadcast(&budget_cv);
    pthread_mutex_unlock(&budget_mu);
}

void img__rgba_over_white(const uint8_t *rgba, size_t stride, img_image *im)
{
    for (int y = 0; y < im->h; y++) {
        const uint8_t *s = rgba + (size_t)y * stride;
        uint8_t *d = im->px + (size_t)y * im->w * 3;
        for (int x = 0; x < im->w; x++) {
            unsigned a = s[4 * x + 3];
            for (int c = 0; c < 3; c++)
                d[3 * x + c] = (uint8_t)((s[4 * x + c] * a + 255 * (255 - a) + 127) / 255);
        }
    }
}

/* Whether a JPEG has an APP1 segment (where EXIF lives) among the marker
 * segments before its first scan. libexif reads EXIF only from an APP1
 * segment reached through SOI and other APPn segments, so a stream without
 * one has no orientation to read, and a camera frame (JFIF, or no APPn at
 * all) skips libexif's allocations and parse: 0.01 ms a frame. */
static int jpeg_has_app1(const unsigned char *p, size_t n)
{
    size_t i = 2; /* after SOI */
    while (i + 3 < n) {
        if (p[i] != 0xFF) return 0; /* not a marker: let nothing be guessed */
        unsigned m = p[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0xE1) return 1;
        if (m == 0xDA || m == 0xD9) return 0;                     /* SOS, EOI */
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* no length */
            i += 2;
            continue;
        }
        i += 2 + ((size_t)p[i + 2] << 8 | p[i + 3]);
    }
    return 0;
}

static int exif_orientation(const void *data, size_t len)
{
    if (len > UINT32_MAX || !jpeg_has_app1(data, len)) return 1;
    ExifData *ed = exif_data_new_from_data(data, (unsigned int)len);
    if (!ed) return 1;
    int o = 1;
    ExifEntry *e = exif_data_get_entry(ed, EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2)
        o = exif_get_short(e->data, exif_data_get_byte_order(ed));
    exif_data_unref(ed);
    return o >= 1 && o <= 8 ? o : 1;
}

/* `rotated`: img_decode will rotate the image (its EXIF orientation), a
 * copy this decode's memory reservation includes. */
static rc_status decode_jpeg(const void *data, size_t len, const img_decode_opts *opts, int rotated,
                             img_image **out, rc_error *err)
{
    tjhandle tj = tjInitDecompress();
    if (!tj) return rc_fail(err, RC_ERR_NOMEM, "cannot start the JPEG decoder");
    rc_status st = RC_OK;
    img_image *im = NULL;
    unsigned char *cmyk = NULL;
    int w, h, sub, cs;
    if ((st = jpeg_header(tj, data, len, &w, &h, &sub, &cs, err)) != RC_OK) goto done;
    if ((st = img__check_limit(w, h, opts, err)) != RC_OK) goto done;
    unsigned max_scans = opts && opts->max_scans ? opts->max_scans : IMG_DEFAULT_MAX_SCANS;
    unsigned scans = jpeg_scan_count(data, len, max_scans + 1);
    if (scans > max_scans) {
        st = rc_fail(err, RC_ERR_LIMIT,
                     "JPEG has more than %u scans (a progressive file built to be slow to "
                     "decode); refused",
                     max_scans);
        goto done;
    }
    /* the output; CMYK's own copy; a multi-scan file's coefficients (2
     * bytes a sample, subsampling ignored); img_decode's rotated copy */
    int cmyk_in = cs == TJCS_CMYK || cs == TJCS_YCCK, comps = cmyk_in ? 4 : cs == TJCS_GRAY ? 1 : 3;
    /* the built-in decoder for a one-scan gray or YCbCr file (it declines
     * what it does not take, and libjpeg-turbo decodes that); its planes */
    img__jpeg_level fast =
        scans == 1 && (cs == TJCS_YCbCr || cs == TJCS_GRAY) && !(opts && opts->libjpeg_only)
            ? img__jpeg_fast_level()
            : IMG_JPEG_OFF;
    if ((st = img__reserve(w, h,
                           3 + 4 * cmyk_in + (scans > 1 ? 2 * comps : 0) + 3 * rotated +
                               (fast ? img__jpeg_fast_per_px(sub) : 0),
                           err)) != RC_OK)
        goto done;
    im = img_new(w, h, 3);
    if (!im) {
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
        goto done;
    }
    if (fast && img__jpeg_fast(fast, data, len, im)) goto done;
    int r;
    if (cmyk_in) {
        cmyk = malloc((size_t)w * h * 4);
        if (!cmyk) {
            st = rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d CMYK image", w, h);
            goto done;
        }
        r = tjDecompress2(tj, data, (unsigned long)len, cmyk, w, w * 4, h, TJPF_CMYK,
                          TJFLAG_LIMITSCANS);
    } else {
        r = tjDecompress2(tj, data, (unsigned long)len, im->px, w, w * 3, h, TJPF_RGB,
                          TJFLAG_LIMITSCANS);
    }
    if (r != 0) {
        /* Warnings are tolerated (real cameras write slightly odd files),
         * except a premature end: that is a truncated file. */
        const char *msg = tjGetErrorStr2(tj);
        if (tjGetErrorCode(tj) != TJERR_WARNING || strstr(msg, "Premature end")) {
            st = rc_fail(err, RC_ERR_CORRUPT, "corrupt or truncated JPEG: %s", msg);
            goto done;
        }
    }
    if (cmyk) {
        /* libjpeg hands back Adobe-style inverted CMYK: R = C * K / 255. */
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned k = cmyk[4 * i + 3];
            for (int c = 0; c < 3; c++)
                im->px[3 * i + c] = (uint8_t)((cmyk[4 * i + c] * k + 127) / 255);
        }
    }
done:
    free(cmyk);
    tjDestroy(tj);
    if (st != RC_OK) {
        img_free(im);
        return st;
    }
    *out = im;
    return RC_OK;
}

static rc_status decode_png(const void *data, size_t len, const img_decode_opts *opts,
                            img_image **out, rc_error *err)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return rc_fail(err, RC_ERR_NOMEM, "cannot start the PNG decoder");
    rc_status st = RC_OK;
    img_image *im = NULL;
    unsigned char *rgba = NULL;
    struct spng_ihdr ihdr;
    int r;
    spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    spng_set_chunk_limits(ctx, 16u << 20, 64u << 20);
    if ((r = spng_set_png_buffer(ctx, data, len)) != 0 || (r = spng_get_ihdr(ctx, &ihdr)) != 0) {
        st = rc_fail(err, RC_ERR_CORRUPT, "corrupt PNG header: %s", spng_strerror(r));
        goto done;
    }
    if (ihdr.width > INT32_MAX || ihdr.height > INT32_MAX) {
        st = rc_fail(err, RC_ERR_LIMIT, "PNG is %ux%u pixels, too large", ihdr.width, ihdr.height);
        goto done;
    }
    if ((st = img__check_limit((int)ihdr.width, (int)ihdr.height, opts, err)) != RC_OK) goto done;
    int w = (int)ihdr.width, h = (int)ihdr.height;
    /* the RGBA decode and the RGB image */
    if ((st = img__reserve(w, h, 7, err)) != RC_OK) goto done;
    size_t size;
    if ((r = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &size)) != 0) {
        st = rc_fail(err, RC_ERR_CORRUPT, "unsupported PNG: %s", spng_strerror(r));
        goto done;
    }
    im = img_new(w, h, 3);
    rgba = malloc(size);
    if (!im || !rgba) {
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
        goto done;
    }
    if ((r = spng_decode_image(ctx, rgba, size, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS)) != 0) {
        st = rc_fail(err, RC_ERR_CORRUPT, "corrupt or truncated PNG: %s", spng_strerror(r));
        goto done;
    }
    img__rgba_over_white(rgba, (size_t)w * 4, im);
done:
    free(rgba);
    spng_ctx_free(ctx);
    if (st != RC_OK) {
        img_free(im);
        return st;
    }
    *out = im;
    return RC_OK;
}

rc_status img_decode(const void *data, size_t len, const img_decode_opts *opts, img_image **out,
                     rc_error *err)
{
    *out = NULL;
    img_format f = img_sniff(data, len);
    img_image *im = NULL;
    rc_status st;
    /* read once: the decode reserves memory for the rotated copy */
    int o = f == IMG_FORMAT_JPEG && !(opts && opts->ignore_exif) ? exif_orientation(data, len) : 1;
    if (f == IMG_FORMAT_JPEG)
        st = decode_jpeg(data, len, opts, o != 1, &im, err);
    else if (f == IMG_FORMAT_PNG)
        st = decode_png(data, len, opts, &im, err);
    else if (f == IMG_FORMAT_WEBP)
        st = img__webp_decode(data, len, opts, &im, err);
    else if (f == IMG_FORMAT_HEIF)
        st = img__heif_decode(data, len, opts, &im, err);
    else
        return not_an_image(data, len, err);
    if (st == RC_OK && o != 1) {
        img_image *r = img_orient(im, o);
        img_free(im);
        im = r;
        if (!r) st = rc_fail(err, RC_ERR_NOMEM, "out of memory rotating the image");
    }
    img__release_thread();
    if (st != RC_OK) return st;
    *out = im;
    return RC_OK;
}

rc_status img_load(const char *path, const img_decode_opts *opts, img_image **out, rc_error *err)
{
    unsigned char *buf;
    size_t len;
    *out = NULL;
    rc_status st = rc_read_file(path, IMG_MAX_FILE_BYTES, &buf, &len, err);
    if (st != RC_OK) return st;
    st = img_decode(buf, len, opts, out, err);
    free(buf);
    if (st != RC_OK && err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc_fail(err, st, "%s: %s", path, msg);
    }
    return st;
}

rc_status img_encode_jpeg(const img_image *im, int quality, unsigned char **out, size_t *len,
                          rc_error *err)
{
    tjhandle tj = tjInitCompress();
    if (!tj) return rc_fail(err, RC_ERR_NOMEM, "cannot start the JPEG encoder");
    unsigned char *buf = NULL;
    unsigned long size = 0;
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    int gray = im->channels == 1;
    int r = tjCompress2(tj, im->px, im->w, im->w * im->channels, im->h, gray ? TJPF_GRAY : TJPF_RGB,
                        &buf, &size, gray ? TJSAMP_GRAY : TJSAMP_420, quality, 0);
    if (r != 0) {
        rc_fail(err, RC_ERR_INTERNAL, "JPEG encoding failed: %s", tjGetErrorStr2(tj));
        tjFree(buf);
        tjDestroy(tj);
        return RC_ERR_INTERNAL;
    }
    tjDestroy(tj);
    *out = malloc(size);
    if (!*out) {
        tjFree(buf);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    memcpy(*out, buf, size);
    *len = size;
    tjFree(buf);
    return RC_OK;
}

rc_status img_save_jpeg(const img_image *im, int quality, const char *path, rc_error *err)
{
    unsigned char *buf;
    size_t len;
    rc_status st = img_encode_jpeg(im, quality, &buf, &len, err);
    if (st != RC_OK) return st;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return rc_fail(err, RC_ERR_IO, "cannot write %s", path);
    }
    size_t n = fwrite(buf, 1, len, f);
    int bad = fclose(f) != 0 || n != len;
    free(buf);
    if (bad) return rc_fail(err, RC_ERR_IO, "cannot write %s (disk full?)", path);
    return RC_OK;
}
