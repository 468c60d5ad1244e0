/* test_camera.c — the camera module's logic without any server: the
 * drop-oldest queue, backoff with jitter, the JPEG structure scanner on real
 * photos (EXIF thumbnails, progressive scans, truncation), the MJPEG parser
 * on streams framed the ways real cameras frame them, YUYV conversion, URL
 * to source kind, clear errors for bad configurations and devices, and the
 * face tracker's association, cadence and re-identification rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "camera/internal.h"

static cam_frame *numbered_frame(uint64_t seq)
{
    cam_frame *f = cam_frame_alloc(4);
    assert_non_null(f);
    f->seq = seq;
    return f;
}

static void queue_drops_the_oldest_frame_and_counts_it(void **state)
{
    (void)state;
    cam_queue q;
    assert_int_equal(cam_queue_init(&q, 3), RC_OK);
    int dropped = 0;
    for (uint64_t i = 1; i <= 5; i++) dropped += cam_queue_push(&q, numbered_frame(i));
    assert_int_equal(dropped, 2);
    assert_int_equal(q.drops, 2);
    assert_int_equal(q.count, 3);
    for (uint64_t want = 3; want <= 5; want++) {
        cam_frame *f = cam_queue_pop(&q);
        assert_non_null(f);
        assert_int_equal(f->seq, want);
        cam_frame_unref(f);
    }
    assert_null(cam_queue_pop(&q));
    /* Wrap-around keeps order; freeing a non-empty queue frees its frames. */
    for (uint64_t i = 10; i < 17; i++) cam_queue_push(&q, numbered_frame(i));
    cam_frame *f = cam_queue_pop(&q);
    assert_int_equal(f->seq, 14);
    cam_frame_unref(f);
    cam_queue_free(&q);
}

static void queue_of_one_always_holds_the_newest(void **state)
{
    (void)state;
    cam_queue q;
    assert_int_equal(cam_queue_init(&q, 1), RC_OK);
    for (uint64_t i = 1; i <= 4; i++) cam_queue_push(&q, numbered_frame(i));
    assert_int_equal(q.drops, 3);
    cam_frame *f = cam_queue_pop(&q);
    assert_int_equal(f->seq, 4);
    cam_frame_unref(f);
    cam_queue_free(&q);
}

static void frames_are_reference_counted(void **state)
{
    (void)state;
    cam_frame *f = cam_frame_alloc(100);
    memset(f->data, 7, 100);
    assert_ptr_equal(cam_frame_ref(f), f);
    cam_frame_unref(f);
    assert_int_equal(f->data[99], 7); /* still alive: one reference left */
    cam_frame_unref(f);
    cam_frame_unref(NULL);
}

static void backoff_doubles_up_to_the_ceiling_with_jitter(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (unsigned attempt = 0; attempt < 40; attempt++) {
        unsigned ceiling = 100u << (attempt < 10 ? attempt : 10);
        if (ceiling > 5000) ceiling = 5000;
        for (int k = 0; k < 50; k++) {
            unsigned d = cam_backoff_ms(100, 5000, attempt, &rng);
            assert_true(d >= ceiling / 2);
            assert_true(d <= ceiling);
        }
    }
    /* Jitter: many draws at one attempt are not all the same. */
    unsigned lo = ~0u, hi = 0;
    for (int k = 0; k < 200; k++) {
        unsigned d = cam_backoff_ms(1000, 60000, 3, &rng);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(hi - lo > 1000);
    /* Huge attempt numbers do not overflow; degenerate settings are safe. */
    assert_true(cam_backoff_ms(500, 30000, 4000000000u, &rng) <= 30000);
    assert_true(cam_backoff_ms(0, 0, 3, &rng) <= 1);
    uint64_t zero = 0;
    assert_true(cam_backoff_ms(10, 10, 0, &zero) >= 5);
}

static unsigned char *read_photo(const char *rel, size_t *len)
{
    const char *td = getenv("ROLLCALL_TESTDATA");
    assert_non_null(td);
    char path[1024];
    snprintf(path, sizeof path, "%s/faces/%s", td, rel);
    unsigned char *buf;
    rc_error err;
    assert_int_equal(rc_read_file(path, 64u << 20, &buf, len, &err), RC_OK);
    return buf;
}

/* The whole file is one JPEG ending at its last byte (these photos have no
 * trailing data). */
static void scan_whole(const unsigned char *buf, size_t len, size_t step)
{
    cam_jpeg_scan s = {0};
    size_t end = 0, have = 0;
    cam_jpeg_result r = CAM_JPEG_NEED_MORE;
    while (r == CAM_JPEG_NEED_MORE && have < len) {
        have = have + step < len ? have + step : len;
        r = cam_jpeg_scan_step(&s, buf, have, &end);
    }
    assert_int_equal(r, CAM_JPEG_COMPLETE);
    assert_int_equal(end, len);
}

static void jpeg_scan_finds_the_real_end_of_real_photos(void **state)
{
    (void)state;
    /* 1.jpg carries an EXIF thumbnail (a JPEG inside the JPEG); 2.jpg and
     * 3.jpg are progressive (several scans); the bbt crop is grayscale. */
    const char *photos[] = {"id/deepface_angelina/1.jpg", "id/deepface_angelina/2.jpg",
                            "id/deepface_angelina/3.jpg", "id/deepface_angelina/4.jpg",
                            "id/bbt_amy/1.jpg",           "noface/dlib_frame_000100.jpg"};
    for (size_t i = 0; i < sizeof photos / sizeof *photos; i++) {
        size_t len;
        unsigned char *buf = read_photo(photos[i], &len);
        scan_whole(buf, len, len);                 /* all at once */
        scan_whole(buf, len, 4093);                /* in chunks, resuming */
        if (len < 200000) scan_whole(buf, len, 1); /* byte by byte */
        /* Truncated anywhere: never complete, never past the data. */
        for (size_t cut = 2; cut < len; cut += len / 7) {
            cam_jpeg_scan s = {0};
            size_t end = 0;
            assert_int_equal(cam_jpeg_scan_step(&s, buf, cut, &end), CAM_JPEG_NEED_MORE);
        }
        free(buf);
    }
}

static void jpeg_scan_rejects_what_is_not_a_jpeg(void **state)
{
    (void)state;
    const uint8_t text[] = "<html>hello</html>";
    cam_jpeg_scan s = {0};
    size_t end;
    assert_int_equal(cam_jpeg_scan_step(&s, text, sizeof text, &end), CAM_JPEG_CORRUPT);
    /* SOI, then garbage where a marker must be. */
    const uint8_t bad[] = {0xFF, 0xD8, 0x12, 0x34, 0x56};
    memset(&s, 0, sizeof s);
    assert_int_equal(cam_jpeg_scan_step(&s, bad, sizeof bad, &end), CAM_JPEG_CORRUPT);
    /* A new SOI where a segment should be: the frame was cut short. */
    const uint8_t cut[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xD8, 0xFF};
    memset(&s, 0, sizeof s);
    assert_int_equal(cam_jpeg_scan_step(&s, cut, sizeof cut, &end), CAM_JPEG_CORRUPT);
    /* A segment length below 2 is impossible. */
    const uint8_t len1[] = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x01, 0x00};
    memset(&s, 0, sizeof s);
    assert_int_equal(cam_jpeg_scan_step(&s, len1, sizeof len1, &end), CAM_JPEG_CORRUPT);
    assert_int_equal(cam_jpeg_find_soi(text, sizeof text), sizeof text);
    assert_int_equal(cam_jpeg_find_soi(cut, sizeof cut), 0);
    assert_int_equal(cam_jpeg_find_soi(cut + 1, sizeof cut - 1), 7);
}

/* ---- MJPEG parser ---------------------------------------------------------- */

typedef struct {
    size_t n;
    size_t sizes[64];
    const unsigned char *expect;
    size_t expect_len;
    int mismatches;
} sink_log;

static rc_status log_sink(void *arg, const uint8_t *jpeg, size_t len, rc_error *err)
{
    (void)err;
    sink_log *l = arg;
    if (l->n < 64) l->sizes[l->n] = len;
    l->n++;
    if (l->expect && (len != l->expect_len || memcmp(jpeg, l->expect, len) != 0)) l->mismatches++;
    return RC_OK;
}

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->buf = realloc(b->buf, b->cap);
        assert_non_null(b->buf);
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static void puts_(bytes *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Feed a stream in chunks of `chunk` bytes; returns the parser's status. */
static rc_status feed_all(cam_mjpeg_parser *p, const bytes *b, size_t chunk, sink_log *log,
                          rc_error *err)
{
    for (size_t off = 0; off < b->len; off += chunk) {
        size_t n = b->len - off < chunk ? b->len - off : chunk;
        rc_status rc = cam_mjpeg_parser_feed(p, b->buf + off, n, log_sink, log, err);
        if (rc != RC_OK) return rc;
    }
    return RC_OK;
}

static void mjpeg_parser_handles_every_framing_quirk(void **state)
{
    (void)state;
    size_t jlen;
    unsigned char *jpeg = read_photo("id/deepface_angelina/4.jpg", &jlen);
    char hdr[256];
    enum { STANDARD, NO_LENGTH, NO_DASHES, JUNK, TRUNCATED, STYLES };
    for (int style = 0; style < STYLES; style++) {
        bytes b = {0};
        int whole = 0;
        for (int i = 0; i < 5; i++) {
            switch (style) {
            case STANDARD:
                snprintf(hdr, sizeof hdr,
                         "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
                         jlen);
                break;
            case NO_LENGTH:
                snprintf(hdr, sizeof hdr, "--frame\r\nContent-Type: image/jpeg\r\n\r\n");
                break;
            case NO_DASHES:
                snprintf(hdr, sizeof hdr,
                         "\r\nframe\r\ncontent-type: image/jpeg\r\nX-Timestamp: 1.5\r\n\r\n");
                break;
            default:
                snprintf(hdr, sizeof hdr, "\r\n\r\n--frame\r\nGarbage: \xff\xd8 nope\r\n\r\n");
                break;
            }
            puts_(&b, hdr);
            bool cut = style == TRUNCATED && i % 2 == 1;
            put(&b, jpeg, cut ? jlen / 2 : jlen);
            puts_(&b, "\r\n");
            whole += !cut;
        }
        size_t chunks[] = {b.len, 1460, 7, 1};
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            cam_mjpeg_parser p;
            cam_mjpeg_parser_init(&p, 1u << 20);
            sink_log log = {.expect = jpeg, .expect_len = jlen};
            rc_error err;
            assert_int_equal(feed_all(&p, &b, chunks[c], &log, &err), RC_OK);
            assert_int_equal(log.n, whole);
            assert_int_equal(log.mismatches, 0);
            assert_int_equal(p.partial, (uint64_t)(5 - whole));
            cam_mjpeg_parser_finish(&p);
            assert_int_equal(p.partial, (uint64_t)(5 - whole)); /* nothing was in progress */
            cam_mjpeg_parser_free(&p);
        }
        free(b.buf);
    }
    free(jpeg);
}

static void mjpeg_parser_counts_a_frame_cut_by_disconnect(void **state)
{
    (void)state;
    size_t jlen;
    unsigned char *jpeg = read_photo("id/deepface_angelina/4.jpg", &jlen);
    cam_mjpeg_parser p;
    cam_mjpeg_parser_init(&p, 1u << 20);
    sink_log log = {0};
    rc_error err;
    assert_int_equal(cam_mjpeg_parser_feed(&p, jpeg, jlen, log_sink, &log, &err), RC_OK);
    assert_int_equal(cam_mjpeg_parser_feed(&p, jpeg, jlen - 100, log_sink, &log, &err), RC_OK);
    assert_int_equal(log.n, 1);
    cam_mjpeg_parser_finish(&p);
    assert_int_equal(p.partial, 1);
    /* After a reconnect the same parser starts clean. */
    assert_int_equal(cam_mjpeg_parser_feed(&p, jpeg, jlen, log_sink, &log, &err), RC_OK);
    assert_int_equal(log.n, 2);
    cam_mjpeg_parser_free(&p);
    free(jpeg);
}

static void mjpeg_parser_refuses_garbage_and_oversized_frames(void **state)
{
    (void)state;
    /* Random bytes: no JPEG within the limit. */
    bytes b = {0};
    uint64_t x = 12345;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t byte = (uint8_t)x;
        put(&b, &byte, 1);
    }
    cam_mjpeg_parser p;
    cam_mjpeg_parser_init(&p, 65536);
    sink_log log = {0};
    rc_error err;
    assert_int_equal(feed_all(&p, &b, 4096, &log, &err), RC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "not an MJPEG stream"));
    assert_true(p.cap <= 2 * 65536 + 8192); /* memory stayed bounded */
    cam_mjpeg_parser_free(&p);
    free(b.buf);

    /* A real JPEG larger than the limit. */
    size_t jlen;
    unsigned char *jpeg = read_photo("id/deepface_angelina/2.jpg", &jlen);
    cam_mjpeg_parser_init(&p, 100000);
    rc_status rc = RC_OK;
    for (size_t off = 0; off < jlen && rc == RC_OK; off += 8192)
        rc = cam_mjpeg_parser_feed(&p, jpeg + off, jlen - off < 8192 ? jlen - off : 8192, log_sink,
                                   &log, &err);
    assert_int_equal(rc, RC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "larger than 100000 bytes"));
    cam_mjpeg_parser_free(&p);
    /* The same when the whole frame arrives in one piece. */
    cam_mjpeg_parser_init(&p, 100000);
    log.n = 0;
    assert_int_equal(cam_mjpeg_parser_feed(&p, jpeg, jlen, log_sink, &log, &err), RC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "larger than 100000 bytes"));
    assert_int_equal(log.n, 0);
    cam_mjpeg_parser_free(&p);
    free(jpeg);
}

/* Every frame the parser hands out, even from a damaged stream, is a
 * structurally whole JPEG. */
static rc_status check_sink(void *arg, const uint8_t *jpeg, size_t len, rc_error *err)
{
    (void)err;
    cam_jpeg_scan s = {0};
    size_t end = 0;
    if (cam_jpeg_scan_step(&s, jpeg, len, &end) != CAM_JPEG_COMPLETE || end != len) (*(int *)arg)++;
    return RC_OK;
}

static void mjpeg_parser_survives_damaged_streams(void **state)
{
    (void)state;
    size_t jlen;
    unsigned char *jpeg = read_photo("id/deepface_angelina/4.jpg", &jlen);
    bytes clean = {0};
    for (int i = 0; i < 4; i++) {
        puts_(&clean, "--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        put(&clean, jpeg, jlen);
        puts_(&clean, "\r\n");
    }
    uint64_t x = 0x1234567;
    for (int round = 0; round < 300; round++) {
        bytes b = {0};
        put(&b, clean.buf, clean.len);
        /* Damage: flip bytes, insert markers, cut the end. */
        int flips = 1 + round % 40;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = x % b.len;
            uint8_t v = (uint8_t)(x >> 32);
            if (k % 5 == 0) v = 0xFF;
            if (k % 7 == 0 && at + 1 < b.len) b.buf[at + 1] = (uint8_t)(0xC0 + (x >> 40) % 0x3F);
            b.buf[at] = v;
        }
        if (round % 3 == 0) b.len -= x % (b.len / 2);
        cam_mjpeg_parser p;
        cam_mjpeg_parser_init(&p, 1u << 20);
        int broken = 0;
        rc_error err;
        size_t chunk = 1 + x % 5000;
        rc_status rc = RC_OK;
        for (size_t off = 0; off < b.len && rc == RC_OK; off += chunk)
            rc = cam_mjpeg_parser_feed(&p, b.buf + off, b.len - off < chunk ? b.len - off : chunk,
                                       check_sink, &broken, &err);
        cam_mjpeg_parser_finish(&p);
        assert_int_equal(broken, 0);
        assert_true(p.frames <= 4 + (uint64_t)flips); /* never more frames than could exist */
        assert_true(p.cap <= 4u << 20);
        cam_mjpeg_parser_free(&p);
        free(b.buf);
    }
    free(clean.buf);
    free(jpeg);
}

/* ---- pixels, names, configuration ------------------------------------------- */

static void yuyv_converts_to_rgb(void **state)
{
    (void)state;
    /* 4x2 image: black, white, pure-ish red, mid gray; second row padded. */
    const uint8_t yuyv[2][12] = {
        {16, 128, 235, 128, 82, 90, 82, 240},
        {126, 128, 126, 128, 0, 0, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA},
    };
    uint8_t rgb[4 * 2 * 3];
    memset(rgb, 0x55, sizeof rgb);
    cam_yuyv_to_rgb24(&yuyv[0][0], 12, 4, 2, rgb);
    const uint8_t want_row0[12] = {0, 0, 0, 255, 255, 255, 255, 0, 0, 255, 0, 0};
    for (int i = 0; i < 12; i++) assert_true(abs(rgb[i] - want_row0[i]) <= 2);
    for (int i = 12; i < 18; i++) assert_true(abs(rgb[i] - 128) <= 2);
    /* Y=0 (below black) clamps to 0, U=V=0 saturates without wrapping. */
    assert_int_equal(rgb[18], 0);
    assert_true(rgb[19] > 100 && rgb[20] == 0);
}

static void frames_become_jpeg_for_posting(void **state)
{
    (void)state;
    /* An RGB gradient is encoded; decoding it back gives similar pixels. */
    int w = 64, h = 48;
    cam_frame *f = cam_frame_alloc((size_t)w * h * 3);
    f->fmt = CAM_FMT_RGB24;
    f->width = w;
    f->height = h;
    for (int i = 0; i < w * h; i++) {
        f->data[3 * i] = (uint8_t)(i % w * 4);
        f->data[3 * i + 1] = (uint8_t)(i / w * 5);
        f->data[3 * i + 2] = 100;
    }
    uint8_t *jpeg;
    size_t len;
    rc_error err;
    assert_int_equal(cam_frame_jpeg(f, 90, &jpeg, &len, &err), RC_OK);
    tjhandle tj = tjInitDecompress();
    int jw, jh, sub, cs;
    assert_int_equal(tjDecompressHeader3(tj, jpeg, (unsigned long)len, &jw, &jh, &sub, &cs), 0);
    assert_int_equal(jw, w);
    assert_int_equal(jh, h);
    uint8_t *back = malloc((size_t)w * h * 3);
    assert_int_equal(tjDecompress2(tj, jpeg, (unsigned long)len, back, w, 0, h, TJPF_RGB, 0), 0);
    long diff = 0;
    for (int i = 0; i < w * h * 3; i++) diff += abs(back[i] - f->data[i]);
    assert_true(diff / (w * h * 3) < 4); /* mean error of a few levels */
    free(back);
    tjDestroy(tj);

    /* A JPEG frame is passed through byte for byte. */
    cam_frame *j = cam_frame_alloc(len);
    memcpy(j->data, jpeg, len);
    j->fmt = CAM_FMT_JPEG;
    uint8_t *copy;
    size_t clen;
    assert_int_equal(cam_frame_jpeg(j, 50, &copy, &clen, &err), RC_OK);
    assert_int_equal(clen, len);
    assert_memory_equal(copy, jpeg, len);
    free(copy);
    free(jpeg);
    cam_frame_unref(j);

    /* Pixels that do not fill the stated size are refused. */
    f->height = 480;
    assert_int_equal(cam_frame_jpeg(f, 90, &copy, &clen, &err), RC_ERR_INVALID);
    assert_null(copy);
    cam_frame_unref(f);
}

static void status_becomes_json(void **state)
{
    (void)state;
    cam_status st = {.state = CAM_STATE_BACKOFF,
                     .frames = 12,
                     .drops = 3,
                     .failures = 2,
                     .last_frame_ms = 1795248000123LL,
                     .width = 320,
                     .height = 240,
                     .last_status = RC_ERR_NOT_FOUND,
                     .next_retry_ms = 800};
    snprintf(st.last_error, sizeof st.last_error, "http://cam/stream: HTTP 404");
    snprintf(st.error_code, sizeof st.error_code, "not_found");
    snprintf(st.error_params, sizeof st.error_params, "{\"host\":\"cam\"}");
    json_t *j = cam_status_json(&st);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "not_found");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "params"), "host")),
                        "cam");
    assert_string_equal(json_string_value(json_object_get(j, "state")), "backoff");
    assert_int_equal(json_integer_value(json_object_get(j, "frames")), 12);
    assert_int_equal(json_integer_value(json_object_get(j, "drops")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "next_retry_ms")), 800);
    assert_string_equal(json_string_value(json_object_get(j, "last_frame_at")),
                        "2026-11-21T08:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "last_error")),
                        "http://cam/stream: HTTP 404");
    assert_string_equal(json_string_value(json_object_get(j, "last_status")), "not_found");
    json_decref(j);
    cam_status fresh = {0};
    j = cam_status_json(&fresh);
    assert_true(json_is_null(json_object_get(j, "last_frame_at")));
    assert_true(json_is_null(json_object_get(j, "last_error")));
    assert_true(json_is_null(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "state")), "connecting");
    json_decref(j);
}

static void urls_choose_the_source_kind(void **state)
{
    (void)state;
    struct {
        const char *url;
        cam_kind kind;
    } cases[] = {
        {"http://cam:81/stream", CAM_KIND_MJPEG},
        {"http://192.168.1.20/capture", CAM_KIND_SNAPSHOT},
        {"http://cam/snap.JPG?x=1", CAM_KIND_SNAPSHOT},
        {"https://example.org/video/door.mp4", CAM_KIND_FFMPEG},
        {"http://cam/live.m3u8", CAM_KIND_FFMPEG},
        {"rtsp://10.0.0.5:554/h264", CAM_KIND_FFMPEG},
        {"/srv/recordings/monday.mkv", CAM_KIND_FFMPEG},
        {"file:door.avi", CAM_KIND_FFMPEG},
        {"/dev/video0", CAM_KIND_V4L2},
        {"", CAM_KIND_AUTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(cam_kind_for_url(cases[i].url), cases[i].kind);
    assert_string_equal(cam_kind_name(CAM_KIND_SNAPSHOT), "snapshot");
    cam_direction d;
    rc_error err;
    assert_int_equal(cam_direction_parse("Entry", &d, &err), RC_OK);
    assert_int_equal(d, CAM_DIR_ENTRY);
    assert_int_equal(cam_direction_parse("exit", &d, &err), RC_OK);
    assert_int_equal(d, CAM_DIR_EXIT);
    assert_int_equal(cam_direction_parse("sideways", &d, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "entry, exit or both"));
    assert_string_equal(cam_state_name(CAM_STATE_BACKOFF), "backoff");
    cam_kind k = CAM_KIND_AUTO;
    assert_int_equal(cam_kind_parse("MJPEG", &k, &err), RC_OK);
    assert_int_equal(k, CAM_KIND_MJPEG);
    assert_int_equal(cam_kind_parse("rtsp", &k, &err), RC_OK);
    assert_int_equal(k, CAM_KIND_FFMPEG);
    assert_int_equal(cam_kind_parse("v4l2", &k, &err), RC_OK);
    assert_int_equal(k, CAM_KIND_V4L2);
    assert_int_equal(cam_kind_parse("vhs", &k, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'vhs'"));
    assert_int_equal(cam_kind_parse(NULL, &k, &err), RC_ERR_INVALID);
}

/* Wait (bounded) until the camera reports a failure; returns its status. */
static cam_status wait_failure(cam_camera *c)
{
    cam_status st;
    for (int i = 0; i < 1000; i++) {
        cam_camera_status(c, &st);
        if (st.failures > 0) return st;
        usleep(10000);
    }
    fail_msg("the camera never reported a failure");
    return st;
}

/* A camera on `url` (which fails to connect) never shows `secret` in its
 * URL, name or error, and its error shows `shown`. */
static void camera_hides(const char *url, const char *secret, const char *shown)
{
    cam_camera *c;
    rc_error err;
    cam_config cfg = {.url = url, .backoff_base_ms = 20};
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    assert_null(strstr(cam_camera_url(c), secret));
    assert_null(strstr(cam_camera_name(c), secret));
    cam_status st = wait_failure(c);
    assert_null(strstr(st.last_error, secret));
    assert_non_null(strstr(st.last_error, shown));
    assert_true(st.error_code[0] != 0);
    assert_null(strstr(st.error_params, secret));
    struct json_t *j = cam_status_json(&st);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, secret));
    free(text);
    json_decref(j);
    cam_camera_destroy(c);
}

static void passwords_in_urls_are_redacted(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"rtsp://admin:s3cret@10.0.0.5:554/h264", "rtsp://admin:***@10.0.0.5:554/h264"},
        {"http://u:p@ss@cam/stream?a=b@c", "http://u:***@cam/stream?a=b@c"},
        {"http://user@cam/stream", "http://user@cam/stream"},
        {"http://cam/x?token=a:b@c", "http://cam/x?token=***"},
        {"/dev/video0", "/dev/video0"},
        /* secret query parameters, by name, any case */
        {"http://cam/snap.jpg?token=T0k3n&w=640", "http://cam/snap.jpg?token=***&w=640"},
        {"http://cam/s?user=bob&password=pw1234&fps=5", "http://cam/s?user=bob&password=***&fps=5"},
        {"http://cam/s?pass=pw1234", "http://cam/s?pass=***"},
        {"http://cam/s?key=k&secret=s&auth=a", "http://cam/s?key=***&secret=***&auth=***"},
        {"https://cam/s?API_KEY=k1#top", "https://cam/s?API_KEY=***#top"},
        {"https://cam/s?access_token=abc;sig=xyz", "https://cam/s?access_token=***;sig=***"},
        {"rtsp://u:p4ss@cam/live?channel=1&Token=X", "rtsp://u:***@cam/live?channel=1&Token=***"},
        {"http://cam/stream?fps=5&size=vga", "http://cam/stream?fps=5&size=vga"},
        {"/srv/video/door.mp4", "/srv/video/door.mp4"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = cam_redact_url(cases[i].in);
        assert_string_equal(r, cases[i].out);
        free(r);
    }
    /* And the camera never shows it: not in its URL, name or errors. */
    camera_hides("http://admin:s3cret@127.0.0.1:9/stream", "s3cret", "admin:***@127.0.0.1");
}

/* One redaction for everything shown, in URLs (above) and in free text:
 * messages of libcurl and FFmpeg quote URLs, or parts of them. */
static void secrets_in_urls_and_messages_are_redacted(void **state)
{
    (void)state;
    const char *url = "rtsp://admin:Hunter2Pw@10.0.0.5/live?token=Tok-9876";
    char *m = cam_redact("Connection to tcp://10.0.0.5:554?timeout=0 failed; auth Hunter2Pw "
                         "rejected for rtsp://admin:Hunter2Pw@10.0.0.5/live?token=Tok-9876 "
                         "(token Tok-9876)",
                         url);
    assert_null(strstr(m, "Hunter2Pw"));
    assert_null(strstr(m, "Tok-9876"));
    assert_non_null(strstr(m, "tcp://10.0.0.5:554?timeout=0 failed"));
    assert_non_null(strstr(m, "rtsp://admin:***@10.0.0.5/live?token=***"));
    free(m);
    /* Without the URL, URL-shaped secrets in any text still go. */
    m = cam_redact("[http @ 0x55] opening 'http://x:y2@h/a?key=zz9' for reading", NULL);
    assert_string_equal(m, "[http @ 0x55] opening 'http://x:***@h/a?key=***' for reading");
    free(m);
    /* A configuration error names the camera by its redacted URL. */
    cam_camera *c = NULL;
    rc_error err;
    cam_config bad = {.url = "rtsp://admin:Hunter2Pw@cam/x?token=Tok-9876", .max_fps = -1};
    assert_int_equal(cam_camera_create(&bad, &c, &err), RC_ERR_INVALID);
    assert_null(strstr(err.msg, "Hunter2Pw"));
    assert_null(strstr(err.msg, "Tok-9876"));
    /* And a camera's status and errors never show a token either. */
    camera_hides("http://127.0.0.1:9/snap.jpg?token=Tok-9876", "Tok-9876", "token=***");
}

static void bad_configurations_are_refused_with_a_reason(void **state)
{
    (void)state;
    cam_camera *c = (cam_camera *)1;
    rc_error err;
    cam_config none = {0};
    assert_int_equal(cam_camera_create(&none, &c, &err), RC_ERR_INVALID);
    assert_null(c);
    assert_non_null(strstr(err.msg, "no source URL"));
    cam_config wrong = {.url = "rtsp://cam/x", .kind = CAM_KIND_MJPEG};
    assert_int_equal(cam_camera_create(&wrong, &c, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "need an http:// URL"));
    cam_config fps = {.url = "http://cam/stream", .max_fps = -1};
    assert_int_equal(cam_camera_create(&fps, &c, &err), RC_ERR_INVALID);
    cam_manager *m;
    cam_manager_config mc = {.workers = 100000};
    assert_int_equal(cam_manager_create(&mc, &m, &err), RC_ERR_INVALID);
}

static void missing_and_wrong_devices_give_a_clear_status(void **state)
{
    (void)state;
    struct {
        const char *url;
        cam_kind kind;
        rc_status code;
        const char *msg;
        const char *error_code; /* cam_status.error_code */
    } cases[] = {
        {"/dev/video97", CAM_KIND_AUTO, RC_ERR_NOT_FOUND, "no such video device", "not_found"},
        {"/dev/null", CAM_KIND_V4L2, RC_ERR_UNSUPPORTED, "not a V4L2 video device", "unsupported"},
        {"/etc/hostname", CAM_KIND_V4L2, RC_ERR_UNSUPPORTED, "not a character device",
         "unsupported"},
        {"/nonexistent/door.mkv", CAM_KIND_AUTO, RC_ERR_NOT_FOUND, "No such file", "not_found"},
        {"/etc/hostname", CAM_KIND_FFMPEG, RC_ERR_CORRUPT, "/etc/hostname", "decode_failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cam_config cfg = {.url = cases[i].url,
                          .kind = cases[i].kind,
                          .backoff_base_ms = 50,
                          .backoff_max_ms = 100};
        cam_camera *c;
        rc_error err;
        assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
        cam_status st = wait_failure(c);
        if (!strstr(st.last_error, cases[i].msg))
            fail_msg("%s: got '%s' (%s)", cases[i].url, st.last_error,
                     rc_status_name(st.last_status));
        if (cases[i].code != RC_ERR_CORRUPT) assert_int_equal(st.last_status, cases[i].code);
        if (cases[i].code != RC_ERR_CORRUPT)
            assert_string_equal(st.error_code, cases[i].error_code);
        assert_int_equal(st.frames, 0);
        assert_null(cam_camera_next(c, 10));
        assert_null(cam_camera_last_frame(c));
        cam_camera_destroy(c);
    }
}

static void an_unknown_protocol_is_an_error_state_without_retries(void **state)
{
    (void)state;
    cam_config cfg = {.url = "gopher9://door/cam", .backoff_base_ms = 10};
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    cam_status st = wait_failure(c);
    for (int i = 0; i < 500 && st.state != CAM_STATE_ERROR; i++) {
        usleep(10000);
        cam_camera_status(c, &st);
    }
    assert_int_equal(st.state, CAM_STATE_ERROR);
    assert_int_equal(st.last_status, RC_ERR_INVALID);
    assert_non_null(strstr(st.last_error, "unknown protocol"));
    assert_string_equal(st.error_code, "bad_config");
    usleep(100000);
    cam_camera_status(c, &st);
    assert_int_equal(st.failures, 1); /* it did not retry */
    /* Re-enabling tries again (after the configuration was fixed, say). */
    cam_camera_set_enabled(c, false);
    cam_camera_set_enabled(c, true);
    for (int i = 0; i < 500 && st.failures < 2; i++) {
        usleep(10000);
        cam_camera_status(c, &st);
    }
    assert_int_equal(st.failures, 2);
    cam_camera_destroy(c);
}

static void a_disabled_camera_stays_idle_until_enabled(void **state)
{
    (void)state;
    cam_config cfg = {.url = "/dev/video98", .disabled = true, .backoff_base_ms = 20};
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    cam_status st;
    cam_camera_status(c, &st);
    assert_int_equal(st.state, CAM_STATE_DISABLED);
    assert_null(cam_camera_next(c, 50));
    usleep(50000);
    cam_camera_status(c, &st);
    assert_int_equal(st.failures, 0); /* it never tried */
    cam_camera_set_enabled(c, true);
    st = wait_failure(c);
    assert_non_null(strstr(st.last_error, "/dev/video98"));
    cam_camera_set_enabled(c, false);
    cam_camera_status(c, &st);
    assert_int_equal(st.state, CAM_STATE_DISABLED);
    assert_string_equal(cam_camera_name(c), "/dev/video98");
    assert_int_equal(cam_camera_kind(c), CAM_KIND_V4L2);
    cam_camera_destroy(c);
}

/* ---- face tracker --------------------------------------------------------- */

static void box_at(float b[4], float x, float y, float h)
{
    b[0] = x;
    b[1] = y;
    b[2] = x + h * 0.8f;
    b[3] = y + h;
}

static const cam_face identified_face = {.known = true, .label = "Ann"};

/* Detection rounds 200 ms apart (5 fps, the detector on every frame). */
static double clock_ms;
#define UPDATE(tr, b, n, ids) cam_tracker_update(tr, clock_ms += 200, (const float(*)[4])b, n, ids)

/* One face walking right 30 px a frame keeps its id; a second face that
 * appears gets a new one; the first face leaving ends its track after
 * max_missed rounds; a face reappearing later is a new track. */
static void tracker_keeps_ids_and_ends_tracks(void **state)
{
    (void)state;
    cam_tracker tr;
    cam_track_config cfg = {.detect_every = 1, .max_missed = 1};
    cam_tracker_init(&tr, &cfg);
    float b[2][4];
    int ids[2];
    box_at(b[0], 100, 100, 120);
    assert_int_equal(UPDATE(&tr, b, 1, ids), 1);
    int ann = ids[0];
    assert_true(ann > 0);
    for (int k = 1; k <= 5; k++) {
        box_at(b[0], 100 + 30.f * (float)k, 100 + 4.f * (float)k, 120);
        assert_int_equal(UPDATE(&tr, b, 1, ids), 0);
        assert_int_equal(ids[0], ann);
    }
    /* 55 px off its pace (IoU 0.27 with where its velocity puts it, under
     * 0.3; the centre within half a face) still matches. */
    box_at(b[0], 335, 120, 120);
    UPDATE(&tr, b, 1, ids);
    assert_int_equal(ids[0], ann);
    /* A newcomer on the other side; order of the boxes does not matter. */
    box_at(b[0], 20, 200, 100);
    box_at(b[1], 345, 120, 120);
    assert_int_equal(UPDATE(&tr, b, 2, ids), 1);
    assert_int_equal(ids[1], ann);
    int bob = ids[0];
    assert_true(bob != ann && bob > 0);
    cam_face faces[4];
    assert_int_equal(cam_tracker_faces(&tr, faces, 4), 2);
    /* Ann leaves: one missed round keeps her track (not shown), the second ends it. */
    box_at(b[0], 25, 200, 100);
    UPDATE(&tr, b, 1, ids);
    assert_int_equal(ids[0], bob);
    assert_int_equal(tr.n, 2);
    assert_int_equal(cam_tracker_faces(&tr, faces, 4), 1);
    assert_int_equal(faces[0].track, bob);
    UPDATE(&tr, b, 1, ids);
    assert_int_equal(tr.n, 1);
    /* She comes back where she was: a new track, due for identification. */
    box_at(b[1], 345, 120, 120);
    cam_tracker_identified(&tr, bob, 0, &identified_face);
    assert_false(cam_tracker_due(&tr, 1));
    assert_int_equal(UPDATE(&tr, b, 2, ids), 1);
    assert_true(ids[1] != ann && ids[1] != bob);
    assert_true(cam_tracker_due(&tr, 1));
    assert_int_equal(tr.started, 3);
    cam_tracker_free(&tr);
}

/* A face crossing the frame fast (70 px a round: IoU 0.16 with its last
 * box, its centre further than half a face) keeps its track because the
 * tracker looks for it where its velocity puts it. */
static void tracker_follows_a_fast_face(void **state)
{
    (void)state;
    cam_tracker tr;
    cam_track_config cfg = {.detect_every = 1};
    cam_tracker_init(&tr, &cfg);
    float b[1][4];
    int id, first;
    box_at(b[0], 0, 100, 120);
    UPDATE(&tr, b, 1, &first);
    box_at(b[0], 30, 100, 120); /* it starts slowly */
    UPDATE(&tr, b, 1, &id);
    assert_int_equal(id, first);
    for (int k = 1; k <= 7; k++) {
        box_at(b[0], 30 + 70.f * (float)k, 100, 120);
        UPDATE(&tr, b, 1, &id);
        assert_int_equal(id, first);
    }
    assert_int_equal(tr.started, 1);
    cam_tracker_free(&tr);
}

/* The detector runs every detect_every-th frame; a started track makes the
 * next frame identify; identification is then due again after recheck_ms,
 * or as soon as the face has grown by `grow`, and never for a face out of
 * view. */
static void tracker_plans_detection_and_identification(void **state)
{
    (void)state;
    cam_tracker tr;
    cam_track_config cfg = {.detect_every = 3, .recheck_ms = 1000, .grow = 1.5f};
    cam_tracker_init(&tr, &cfg);
    /* No face: the first frame probes with the whole pipeline, then the
     * detector every 3rd frame, and the probe again every recheck_ms. */
    cam_step want[] = {CAM_STEP_IDENTIFY, CAM_STEP_SKIP,     CAM_STEP_SKIP,    CAM_STEP_DETECT,
                       CAM_STEP_SKIP,     CAM_STEP_IDENTIFY, CAM_STEP_SKIP,    CAM_STEP_SKIP,
                       CAM_STEP_DETECT,   CAM_STEP_SKIP,     CAM_STEP_IDENTIFY};
    double t = -1000;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++, t += 200)
        assert_int_equal(cam_tracker_plan(&tr, t), want[k]);
    assert_int_equal(tr.skipped, 6);
    float b[1][4];
    int id;
    box_at(b[0], 100, 100, 100);
    cam_tracker_update(&tr, 1200, (const float(*)[4])b, 1, &id); /* the detection at 1200 */
    assert_true(cam_tracker_due(&tr, t));
    /* A new track: identified (the feed runs the pipeline on this frame). */
    cam_tracker_identified(&tr, id, 1200, &identified_face);
    assert_false(cam_tracker_due(&tr, 1400));
    assert_int_equal(cam_tracker_plan(&tr, 1400), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 1600), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 1800), CAM_STEP_DETECT);
    box_at(b[0], 110, 100, 140); /* 1.4x: not grown enough */
    cam_tracker_update(&tr, 1800, (const float(*)[4])b, 1, NULL);
    assert_false(cam_tracker_due(&tr, 1800));
    assert_int_equal(cam_tracker_plan(&tr, 2000), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 2200), CAM_STEP_IDENTIFY); /* 1000 ms after 1200 */
    cam_tracker_update(&tr, 2200, (const float(*)[4])b, 1, &id);
    cam_tracker_identified(&tr, id, 2200, &identified_face);
    assert_int_equal(cam_tracker_plan(&tr, 2400), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 2600), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 2800), CAM_STEP_DETECT);
    box_at(b[0], 100, 90, 215); /* 215 >= 1.5 x 140: closer, identify again */
    cam_tracker_update(&tr, 2800, (const float(*)[4])b, 1, &id);
    assert_true(cam_tracker_due(&tr, 2800));
    cam_tracker_identified(&tr, id, 2800, &identified_face);
    /* Out of view (missed a round): no identification is due for it. */
    assert_int_equal(cam_tracker_plan(&tr, 3000), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 3200), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 3400), CAM_STEP_DETECT);
    cam_tracker_update(&tr, 3400, (const float(*)[4])b, 0, NULL);
    assert_int_equal(tr.n, 1);
    assert_false(cam_tracker_due(&tr, 9000));
    cam_face faces[2];
    assert_int_equal(cam_tracker_faces(&tr, faces, 2), 0);
    /* Nobody in view: the probe (last whole pipeline at 2200). */
    assert_int_equal(cam_tracker_plan(&tr, 3600), CAM_STEP_IDENTIFY);
    cam_tracker_free(&tr);
}

/* With full_every, detection rounds between whole-frame detections run on
 * regions while a face is in view (never with nobody in view, where only a
 * whole-frame detection can find someone); each region is the track's box
 * where its velocity puts it, grown by `margin` on each side and clipped to
 * the frame; regions over half the frame are refused (-1). */
static void tracker_plans_regions_between_whole_frame_detections(void **state)
{
    (void)state;
    cam_tracker tr;
    cam_track_config cfg = {.detect_every = 2, .recheck_ms = 100000, .full_every = 4};
    cam_tracker_init(&tr, &cfg);
    assert_int_equal(cam_tracker_plan(&tr, 0), CAM_STEP_IDENTIFY); /* the first probe */
    assert_int_equal(cam_tracker_plan(&tr, 200), CAM_STEP_SKIP);
    assert_int_equal(cam_tracker_plan(&tr, 400), CAM_STEP_DETECT); /* nobody: whole frame */
    float b[1][4], r[2][4];
    int id;
    box_at(b[0], 100, 100, 100); /* x 100..180, y 100..200 */
    cam_tracker_update(&tr, 400, (const float(*)[4])b, 1, &id);
    cam_tracker_identified(&tr, id, 400, &identified_face);
    cam_step want[] = {CAM_STEP_SKIP, CAM_STEP_REGION, CAM_STEP_SKIP, CAM_STEP_DETECT,
                       CAM_STEP_SKIP, CAM_STEP_REGION, CAM_STEP_SKIP, CAM_STEP_DETECT};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        assert_int_equal(cam_tracker_plan(&tr, 600 + 200 * (double)k), want[k]);
    /* Moving 10 px right per 200 ms: the region 200 ms later is ahead. */
    box_at(b[0], 110, 100, 100);
    cam_tracker_update(&tr, 600, (const float(*)[4])b, 1, NULL);
    assert_int_equal(cam_tracker_regions(&tr, 800, 640, 480, r, 2), 1);
    assert_float_equal(r[0][0], 120 - 0.6 * 80, 1e-3);
    assert_float_equal(r[0][1], 100 - 0.6 * 100, 1e-3);
    assert_float_equal(r[0][2], 2.2 * 80, 1e-3);
    assert_float_equal(r[0][3], 2.2 * 100, 1e-3);
    /* Near the frame's corner: clipped. A face filling the frame: refused. */
    box_at(b[0], 0, 0, 100);
    cam_tracker_update(&tr, 800, (const float(*)[4])b, 1, NULL);
    assert_int_equal(cam_tracker_regions(&tr, 800, 640, 480, r, 2), 1);
    assert_true(r[0][0] >= 0 && r[0][1] >= 0);
    box_at(b[0], 200, 100, 300);
    cam_tracker_update(&tr, 1000, (const float(*)[4])b, 1, NULL);
    assert_int_equal(cam_tracker_regions(&tr, 1000, 640, 480, r, 2), -1);
    cam_tracker_free(&tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_drops_the_oldest_frame_and_counts_it),
        cmocka_unit_test(queue_of_one_always_holds_the_newest),
        cmocka_unit_test(frames_are_reference_counted),
        cmocka_unit_test(backoff_doubles_up_to_the_ceiling_with_jitter),
        cmocka_unit_test(jpeg_scan_finds_the_real_end_of_real_photos),
        cmocka_unit_test(jpeg_scan_rejects_what_is_not_a_jpeg),
        cmocka_unit_test(mjpeg_parser_handles_every_framing_quirk),
        cmocka_unit_test(mjpeg_parser_counts_a_frame_cut_by_disconnect),
        cmocka_unit_test(mjpeg_parser_refuses_garbage_and_oversized_frames),
        cmocka_unit_test(mjpeg_parser_survives_damaged_streams),
        cmocka_unit_test(yuyv_converts_to_rgb),
        cmocka_unit_test(frames_become_jpeg_for_posting),
        cmocka_unit_test(status_becomes_json),
        cmocka_unit_test(urls_choose_the_source_kind),
        cmocka_unit_test(passwords_in_urls_are_redacted),
        cmocka_unit_test(secrets_in_urls_and_messages_are_redacted),
        cmocka_unit_test(bad_configurations_are_refused_with_a_reason),
        cmocka_unit_test(missing_and_wrong_devices_give_a_clear_status),
        cmocka_unit_test(an_unknown_protocol_is_an_error_state_without_retries),
        cmocka_unit_test(a_disabled_camera_stays_idle_until_enabled),
        cmocka_unit_test(tracker_keeps_ids_and_ends_tracks),
        cmocka_unit_test(tracker_follows_a_fast_face),
        cmocka_unit_test(tracker_plans_detection_and_identification),
        cmocka_unit_test(tracker_plans_regions_between_whole_frame_detections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
