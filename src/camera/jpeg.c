/*
 * jpeg.c — knowing where a JPEG ends without decoding it, and turning an
 * MJPEG byte stream into whole frames. ESP32-CAM firmwares and other cheap
 * cameras disagree on multipart details (boundary with or without "--",
 * Content-Length present or not, stray blank lines), so the parser does not
 * trust the multipart framing at all: it finds each frame by its JPEG
 * structure (SOI, marker segments skipped by length, entropy-coded data up
 * to EOI). A frame interrupted by the next part or a disconnect shows up as
 * a marker that cannot occur there and is discarded.
 */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "internal.h"

size_t cam_jpeg_find_soi(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        const uint8_t *p = memchr(buf + i, 0xFF, len - 2 - i);
        if (!p) break;
        i = (size_t)(p - buf);
        if (p[1] == 0xD8 && p[2] == 0xFF) return i;
    }
    return len;
}

cam_jpeg_result cam_jpeg_scan_step(cam_jpeg_scan *s, const uint8_t *buf, size_t len, size_t *end)
{
    if (s->pos == 0) {
        if (len < 2) return CAM_JPEG_NEED_MORE;
        if (buf[0] != 0xFF || buf[1] != 0xD8) return CAM_JPEG_CORRUPT;
        s->pos = 2;
        s->entropy = false;
    }
    while (s->pos < len) {
        size_t p = s->pos;
        if (s->entropy) {
            const uint8_t *ff = memchr(buf + p, 0xFF, len - p);
            if (!ff) {
                s->pos = len;
                return CAM_JPEG_NEED_MORE;
            }
            p = (size_t)(ff - buf);
            if (p + 1 >= len) {
                s->pos = p;
                return CAM_JPEG_NEED_MORE;
            }
            uint8_t m = buf[p + 1];
            if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) { /* stuffed byte or restart */
                s->pos = p + 2;
                continue;
            }
            if (m == 0xFF) { /* fill byte */
                s->pos = p + 1;
                continue;
            }
            if (m == 0xD9) {
                *end = p + 2;
                return CAM_JPEG_COMPLETE;
            }
            if (m == 0xD8) return CAM_JPEG_CORRUPT; /* the next frame began */
            s->entropy = false; /* a marker segment (progressive JPEGs have several scans) */
            s->pos = p;
            continue;
        }
        /* Between segments: FF (fill FFs) marker [length]. */
        if (buf[p] != 0xFF) return CAM_JPEG_CORRUPT;
        if (p + 1 >= len) return CAM_JPEG_NEED_MORE;
        uint8_t m = buf[p + 1];
        if (m == 0xFF) {
            s->pos = p + 1;
            continue;
        }
        if (m == 0xD9) {
            *end = p + 2;
            return CAM_JPEG_COMPLETE;
        }
        if (m == 0xD8 || m == 0x00) return CAM_JPEG_CORRUPT;
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) {
            s->pos = p + 2;
            continue;
        }
        if (p + 4 > len) return CAM_JPEG_NEED_MORE;
        size_t seg = ((size_t)buf[p + 2] << 8) | buf[p + 3];
        if (seg < 2) return CAM_JPEG_CORRUPT;
        s->pos = p + 2 + seg;
        if (m == 0xDA) s->entropy = true;
    }
    return CAM_JPEG_NEED_MORE;
}

/* ---- MJPEG parser --------------------------------------------------------- */

void cam_mjpeg_parser_init(cam_mjpeg_parser *p, size_t max_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_bytes = max_bytes ? max_bytes : 8u << 20;
}

void cam_mjpeg_parser_free(cam_mjpeg_parser *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

void cam_mjpeg_parser_finish(cam_mjpeg_parser *p)
{
    if (p->in_frame) p->partial++;
    p->in_frame = false;
    p->len = 0;
    memset(&p->scan, 0, sizeof p->scan);
}

static void consume(cam_mjpeg_parser *p, size_t n)
{
    memmove(p->buf, p->buf + n, p->len - n);
    p->len -= n;
}

rc_status cam_mjpeg_parser_feed(cam_mjpeg_parser *p, const uint8_t *data, size_t n,
                                cam_jpeg_sink sink, void *arg, rc_error *err)
{
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        while (cap < p->len + n) cap *= 2;
        uint8_t *nb = realloc(p->buf, cap);
        if (!nb) return rc_fail(err, RC_ERR_NOMEM, "out of memory buffering a frame");
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;

    for (;;) {
        if (!p->in_frame) {
            size_t soi = cam_jpeg_find_soi(p->buf, p->len);
            if (soi == p->len) {
                /* Keep two bytes: an SOI may straddle this chunk and the next. */
                size_t drop = p->len > 2 ? p->len - 2 : 0;
                p->junk += drop;
                consume(p, drop);
            } else {
                p->junk += soi;
                consume(p, soi);
                p->in_frame = true;
                memset(&p->scan, 0, sizeof p->scan);
            }
            if (p->junk > p->max_bytes)
                return rc_fail(err, RC_ERR_CORRUPT,
                               "no JPEG frame in %zu bytes: not an MJPEG stream", p->junk);
            if (!p->in_frame) return RC_OK;
        }
        size_t end = 0;
        cam_jpeg_result r = cam_jpeg_scan_step(&p->scan, p->buf, p->len, &end);
        if (r == CAM_JPEG_NEED_MORE) {
            if (p->len > p->max_bytes)
                return rc_fail(err, RC_ERR_LIMIT,
                               "a frame is larger than %zu bytes (or has no end marker)",
                               p->max_bytes);
            return RC_OK;
        }
        p->in_frame = false;
        if (r == CAM_JPEG_CORRUPT) {
            /* Skip this SOI and look for the next one. */
            p->partial++;
            p->junk += 2;
            consume(p, 2);
            continue;
        }
        if (end > p->max_bytes) /* it all came in one chunk */
            return rc_fail(err, RC_ERR_LIMIT, "a frame of %zu bytes is larger than %zu bytes", end,
                           p->max_bytes);
        p->junk = 0;
        p->frames++;
        rc_status rc = sink(arg, p->buf, end, err);
        consume(p, end);
        if (rc != RC_OK) return rc;
    }
}

/* ---- encoding ------------------------------------------------------------- */

rc_status cam_frame_jpeg(const cam_frame *f, int quality, uint8_t **out, size_t *len, rc_error *err)
{
    *out = NULL;
    *len = 0;
    if (f->fmt == CAM_FMT_JPEG) {
        if (!(*out = malloc(f->size ? f->size : 1)))
            return rc_fail(err, RC_ERR_NOMEM, "out of memory copying a frame");
        memcpy(*out, f->data, f->size);
        *len = f->size;
        return RC_OK;
    }
    if (f->fmt != CAM_FMT_RGB24 || f->width <= 0 || f->height <= 0 ||
        f->size < (size_t)f->width * f->height * 3)
        return rc_fail(err, RC_ERR_INVALID, "frame: not %dx%d RGB24 pixels", f->width, f->height);
    if (quality < 1 || quality > 100) quality = 85;
    tjhandle tj = tjInitCompress();
    if (!tj) return rc_fail(err, RC_ERR_NOMEM, "cannot set up a JPEG encoder");
    unsigned char *buf = NULL;
    unsigned long size = 0;
    rc_status rc = RC_OK;
    if (tjCompress2(tj, f->data, f->width, 0, f->height, TJPF_RGB, &buf, &size, TJSAMP_420, quality,
                    0) != 0) {
        rc = rc_fail(err, RC_ERR_INTERNAL, "cannot encode a %dx%d frame as JPEG: %s", f->width,
                     f->height, tjGetErrorStr2(tj));
    } else if (!(*out = malloc(size))) {
        rc = rc_fail(err, RC_ERR_NOMEM, "out of memory for a JPEG");
    } else {
        /* Copy out of turbojpeg's buffer so the caller can use plain free(). */
        memcpy(*out, buf, size);
        *len = size;
    }
    tjFree(buf);
    tjDestroy(tj);
    return rc;
}
