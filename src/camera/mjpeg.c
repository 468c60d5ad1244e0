/*
 * mjpeg.c — the HTTP sources, with libcurl: an MJPEG stream
 * (multipart/x-mixed-replace, as an ESP32-CAM serves at :81/stream) and a
 * JPEG snapshot URL (/capture) polled at the camera's frame rate. Transfers
 * run on a curl multi handle so that stopping or disabling a camera wakes
 * the thread at once (curl_multi_wakeup) instead of waiting for a timeout.
 * Every failure says what the server did: refused, HTTP status, wrong
 * content type, no JPEG in the body, silence for too long.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <turbojpeg.h>

#include "internal.h"

typedef struct {
    cam_camera *c;
    const cam_config *cfg;
    const char *label; /* URL for messages */
    CURL *easy;
    CURLM *multi;
    tjhandle tj;
    char errbuf[CURL_ERROR_SIZE];
    double last_data;  /* rc_mono_ms() of the last byte received */
    double last_frame; /* of the last whole frame (streams), or the transfer's start */
    bool checked;      /* response status and type looked at */
    bool connected;    /* cam_run_connected called */
    rc_error err;      /* why a callback aborted the transfer */
    bool failed;
    bool capped;             /* apply the frame-rate cap (streams; snapshots are polled) */
    cam_mjpeg_parser parser; /* stream mode */
    uint8_t *body;           /* snapshot mode */
    size_t body_len, body_cap;
} http_src;

static void wake_multi(void *arg)
{
    curl_multi_wakeup(arg);
}

/* Validate a whole JPEG with its header (no decode) and emit it. */
static rc_status emit_jpeg(void *arg, const uint8_t *jpeg, size_t len, rc_error *err)
{
    http_src *s = arg;
    int w = 0, h = 0, sub = 0, cs = 0;
    if (tjDecompressHeader3(s->tj, jpeg, (unsigned long)len, &w, &h, &sub, &cs) != 0 || w <= 0 ||
        h <= 0) {
        cam_run_partial(s->c, 1);
        return RC_OK;
    }
    s->last_frame = rc_mono_ms();
    if (!s->connected) {
        s->connected = true;
        cam_run_connected(s->c);
    }
    if (s->capped && !cam_run_want_frame(s->c)) return RC_OK;
    cam_frame *f = cam_frame_alloc(len);
    if (!f) return rc_fail(err, RC_ERR_NOMEM, "out of memory for a %zu-byte frame", len);
    memcpy(f->data, jpeg, len);
    f->fmt = CAM_FMT_JPEG;
    f->width = w;
    f->height = h;
    cam_run_emit(s->c, f);
    return RC_OK;
}

/* On the first body bytes: refuse HTTP errors and content that is not
 * images, with a message naming what came instead. */
static bool check_response(http_src *s)
{
    if (s->checked) return true;
    s->checked = true;
    long code = 0;
    char *type = NULL;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &type);
    if (code >= 400) {
        const char *hint = "";
        rc_status st = RC_ERR_NET;
        cam_run_fail_code_int(s->c, "http_error", "status", code);
        if (code == 404) {
            hint = " Not Found (check the path, e.g. http://cam:81/stream or /capture)";
            st = RC_ERR_NOT_FOUND;
            cam_run_fail_code(s->c, "not_found", "host", NULL);
        } else if (code == 401 || code == 403) {
            hint = " (the camera wants credentials: http://user:password@host/...)";
            st = RC_ERR_DENIED;
            cam_run_fail_code(s->c, "auth_failed", "host", NULL);
        }
        rc_fail(&s->err, st, "%s: HTTP %ld%s", s->label, code, hint);
        return false;
    }
    if (type && (strncasecmp(type, "text/", 5) == 0 || strstr(type, "json") ||
                 strncasecmp(type, "video/", 6) == 0 || strncasecmp(type, "audio/", 6) == 0)) {
        bool video = strncasecmp(type, "video/", 6) == 0;
        cam_run_fail_code(s->c, "bad_content", "type", type);
        rc_fail(&s->err, RC_ERR_UNSUPPORTED, "%s: the server sent %s, not %s%s", s->label, type,
                cam_run_config(s->c)->kind == CAM_KIND_SNAPSHOT ? "a JPEG image"
                                                                : "an MJPEG stream",
                video ? " (use an FFmpeg source for video)" : "");
        return false;
    }
    return true;
}

/* What both body callbacks do first: note the time and check the response;
 * false (and the transfer marked failed) when it is refused. */
static bool body_arrived(http_src *s)
{
    s->last_data = rc_mono_ms();
    if (check_response(s)) return true;
    s->failed = true;
    return false;
}

static size_t on_stream_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    http_src *s = arg;
    size_t n = size * nmemb;
    if (!body_arrived(s)) return 0;
    if (cam_mjpeg_parser_feed(&s->parser, (const uint8_t *)ptr, n, emit_jpeg, s, &s->err) !=
        RC_OK) {
        s->failed = true;
        return 0;
    }
    uint64_t partial = s->parser.partial;
    s->parser.partial = 0;
    cam_run_partial(s->c, partial);
    return n;
}

static size_t on_snapshot_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    http_src *s = arg;
    size_t n = size * nmemb;
    if (!body_arrived(s)) return 0;
    if (s->body_len + n > s->cfg->max_frame_bytes) {
        rc_fail(&s->err, RC_ERR_LIMIT, "%s: the image is larger than %zu bytes", s->label,
                s->cfg->max_frame_bytes);
        s->failed = true;
        return 0;
    }
    if (s->body_len + n > s->body_cap) {
        size_t cap = s->body_cap ? s->body_cap : 65536;
        while (cap < s->body_len + n) cap *= 2;
        uint8_t *nb = realloc(s->body, cap);
        if (!nb) {
            rc_fail(&s->err, RC_ERR_NOMEM, "out of memory for a snapshot");
            s->failed = true;
            return 0;
        }
        s->body = nb;
        s->body_cap = cap;
    }
    memcpy(s->body + s->body_len, ptr, n);
    s->body_len += n;
    return n;
}

static rc_status src_open(http_src *s, cam_camera *c, bool stream, rc_error *err)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->cfg = cam_run_config(c);
    s->label = cam_run_label(c);
    s->capped = stream;
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    s->tj = tjInitDecompress();
    if (!s->easy || !s->multi || !s->tj)
        return rc_fail(err, RC_ERR_NOMEM, "%s: cannot set up an HTTP client", s->label);
    CURL *e = s->easy;
    curl_easy_setopt(e, CURLOPT_URL, s->cfg->url); /* the real one: label hides the password */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "rollcall/" RC_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, stream ? on_stream_data : on_snapshot_data);
    if (!stream) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->cfg->stall_timeout_ms);
    cam_mjpeg_parser_init(&s->parser, s->cfg->max_frame_bytes);
    cam_run_set_waker(c, wake_multi, s->multi);
    return RC_OK;
}

static void src_close(http_src *s)
{
    if (s->c) cam_run_set_waker(s->c, NULL, NULL);
    if (s->multi) curl_multi_cleanup(s->multi);
    if (s->easy) curl_easy_cleanup(s->easy);
    if (s->tj) tjDestroy(s->tj);
    cam_mjpeg_parser_free(&s->parser);
    free(s->body);
}

/* Run one transfer to its end. RC_OK with *stopped when the camera was asked
 * to stop; RC_OK when the server finished the response; otherwise an error
 * naming what happened. */
static rc_status run_transfer(http_src *s, bool *stopped, rc_error *err)
{
    *stopped = false;
    s->checked = false;
    s->failed = false;
    s->errbuf[0] = 0;
    rc_error_clear(&s->err);
    s->last_data = s->last_frame = rc_mono_ms();
    curl_multi_add_handle(s->multi, s->easy);
    CURLcode result = CURLE_OK;
    bool done = false;
    rc_status rc = RC_OK;
    while (!done) {
        int running = 0;
        curl_multi_perform(s->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(s->multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                result = msg->data.result;
                done = true;
            }
        if (done || !running) break;
        if (cam_run_stopping(s->c)) {
            *stopped = true;
            break;
        }
        double quiet = rc_mono_ms() - s->last_data;
        if (quiet > s->cfg->stall_timeout_ms) {
            long code = 0;
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
            cam_run_fail_code(s->c, "timeout", "host", NULL);
            if (code == 0) /* not even a response header */
                rc = rc_fail(err, RC_ERR_NET,
                             "%s: no answer for %.0f s (an ESP32-CAM serves one stream at a "
                             "time: is another viewer connected?)",
                             s->label, quiet / 1000);
            else
                rc = rc_fail(err, RC_ERR_NET, "%s: no data for %.0f s (stream stalled)", s->label,
                             quiet / 1000);
            break;
        }
        /* Bytes that never make a frame (a source dripping a byte a second,
         * or sending anything but JPEGs) would keep the transfer alive
         * forever: a stream must deliver a whole frame as often too. */
        double frameless = rc_mono_ms() - s->last_frame;
        if (s->capped && frameless > s->cfg->stall_timeout_ms) {
            cam_run_fail_code(s->c, "timeout", "host", NULL);
            rc = rc_fail(err, RC_ERR_NET,
                         "%s: no whole frame for %.0f s although data arrives (is it an MJPEG "
                         "stream?)",
                         s->label, frameless / 1000);
            break;
        }
        curl_multi_poll(s->multi, NULL, 0, 250, NULL);
    }
    curl_multi_remove_handle(s->multi, s->easy);
    if (*stopped || rc != RC_OK) return rc;
    if (s->failed) {
        *err = s->err;
        return s->err.code;
    }
    if (result != CURLE_OK) {
        rc_status code = result == CURLE_OUT_OF_MEMORY ? RC_ERR_NOMEM : RC_ERR_NET;
        const char *hint = "";
        if (result == CURLE_COULDNT_CONNECT) hint = " (is the camera on and the port right?)";
        if (result == CURLE_COULDNT_RESOLVE_HOST) hint = " (unknown host name)";
        if (result == CURLE_WEIRD_SERVER_REPLY || result == CURLE_UNSUPPORTED_PROTOCOL)
            hint = " (the server does not speak HTTP)";
        const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(result);
        cam_run_fail_code(s->c,
                          s->parser.frames > 0                   ? "stream_broken"
                          : result == CURLE_COULDNT_RESOLVE_HOST ? "host_not_found"
                          : result == CURLE_OPERATION_TIMEDOUT   ? "timeout"
                          : result == CURLE_WEIRD_SERVER_REPLY ||
                                  result == CURLE_UNSUPPORTED_PROTOCOL
                              ? "not_http"
                              : "connect_failed",
                          "host", NULL);
        if (s->parser.frames > 0)
            return rc_fail(err, code, "%s: the stream broke off after %llu frames (%s)", s->label,
                           (unsigned long long)s->parser.frames, why);
        return rc_fail(err, code, "%s: %s%s", s->label, why, hint);
    }
    if (!s->checked && !check_response(s)) { /* an error status with an empty body */
        *err = s->err;
        return s->err.code;
    }
    return RC_OK;
}

rc_status cam_source_mjpeg(cam_camera *c, bool *ended, rc_error *err)
{
    (void)ended;
    http_src s;
    rc_status rc = src_open(&s, c, true, err);
    if (rc == RC_OK) {
        bool stopped;
        rc = run_transfer(&s, &stopped, err);
        cam_mjpeg_parser_finish(&s.parser);
        cam_run_partial(c, s.parser.partial);
        if (rc == RC_OK && !stopped) cam_run_fail_code(c, "stream_ended", "host", NULL);
        if (rc == RC_OK && !stopped)
            rc = rc_fail(err, RC_ERR_NET, "%s: the server closed the stream after %llu frames",
                         s.label, (unsigned long long)s.parser.frames);
    }
    src_close(&s);
    return rc;
}

rc_status cam_source_snapshot(cam_camera *c, bool *ended, rc_error *err)
{
    (void)ended;
    http_src s;
    rc_status rc = src_open(&s, c, false, err);
    double fps = s.cfg ? s.cfg->max_fps : 0;
    unsigned interval = fps > 0 ? (unsigned)(1000.0 / fps) : 1000;
    while (rc == RC_OK) {
        double t0 = rc_mono_ms();
        s.body_len = 0;
        bool stopped;
        rc = run_transfer(&s, &stopped, err);
        if (rc != RC_OK || stopped) break;
        size_t end = 0;
        cam_jpeg_scan scan = {0};
        if (s.body_len < 3 || cam_jpeg_find_soi(s.body, s.body_len) != 0 ||
            cam_jpeg_scan_step(&scan, s.body, s.body_len, &end) != CAM_JPEG_COMPLETE) {
            rc = rc_fail(err, RC_ERR_CORRUPT, "%s: the answer (%zu bytes) is not a whole JPEG",
                         s.label, s.body_len);
            break;
        }
        rc = emit_jpeg(&s, s.body, end, err);
        if (rc != RC_OK) break;
        double spent = rc_mono_ms() - t0;
        if (cam_run_wait(c, spent >= interval ? 0 : interval - (unsigned)spent)) break;
    }
    src_close(&s);
    return rc;
}
