/*
 * camera.c — one camera: its thread, the reconnect loop with exponential
 * backoff and jitter, the frame-rate cap, the drop-oldest queue, run-time
 * enable/disable, the status counters and the last frame. The sources
 * (mjpeg.c, ffmpeg.c, v4l2.c) only open, read and emit; everything about
 * pacing and retrying lives here so every source behaves the same.
 */
#include <ctype.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

/* ---- frames ----------------------------------------------------------- */

typedef struct {
    cam_frame f;
    atomic_int refs;
} frame_box;

cam_frame *cam_frame_alloc(size_t size)
{
    frame_box *b = malloc(sizeof *b + (size ? size : 1));
    if (!b) return NULL;
    memset(&b->f, 0, sizeof b->f);
    atomic_init(&b->refs, 1);
    b->f.data = (uint8_t *)(b + 1);
    b->f.size = size;
    return &b->f;
}

cam_frame *cam_frame_ref(cam_frame *f)
{
    if (f) atomic_fetch_add(&((frame_box *)f)->refs, 1);
    return f;
}

void cam_frame_unref(cam_frame *f)
{
    if (f && atomic_fetch_sub(&((frame_box *)f)->refs, 1) == 1) free(f);
}

/* ---- queue --------------------------------------------------------------- */

rc_status cam_queue_init(cam_queue *q, unsigned cap)
{
    memset(q, 0, sizeof *q);
    q->slot = calloc(cap ? cap : 1, sizeof *q->slot);
    if (!q->slot) return RC_ERR_NOMEM;
    q->cap = cap ? cap : 1;
    return RC_OK;
}

void cam_queue_free(cam_queue *q)
{
    cam_frame *f;
    while ((f = cam_queue_pop(q))) cam_frame_unref(f);
    free(q->slot);
    q->slot = NULL;
}

bool cam_queue_push(cam_queue *q, cam_frame *f)
{
    bool dropped = false;
    if (q->count == q->cap) {
        cam_frame_unref(cam_queue_pop(q));
        q->drops++;
        dropped = true;
    }
    q->slot[(q->head + q->count) % q->cap] = f;
    q->count++;
    return dropped;
}

cam_frame *cam_queue_pop(cam_queue *q)
{
    if (!q->count) return NULL;
    cam_frame *f = q->slot[q->head];
    q->slot[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return f;
}

/* ---- backoff ------------------------------------------------------------- */

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

unsigned cam_backoff_ms(unsigned base_ms, unsigned max_ms, unsigned attempt, uint64_t *rng)
{
    if (base_ms == 0) base_ms = 1;
    if (max_ms < base_ms) max_ms = base_ms;
    uint64_t d = base_ms;
    for (unsigned i = 0; i < attempt && d < max_ms; i++) d *= 2;
    if (d > max_ms) d = max_ms;
    uint64_t half = d / 2;
    return (unsigned)(d - half + xorshift64(rng) % (half + 1));
}

/* ---- names --------------------------------------------------------------- */

/* Query parameter names whose values are secrets: any name containing one
 * of these (case-insensitive), e.g. token, access_token, key, api_key,
 * password, pass, pwd, secret, auth, sig, signature, credential, session. */
static bool secret_param(const char *name, size_t n)
{
    static const char *const words[] = {"token", "key", "pass",       "pwd",    "secret",
                                        "auth",  "sig", "credential", "session"};
    char low[64];
    if (n == 0 || n >= sizeof low) return n > 0; /* absurdly long names: hide */
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)name[i]);
    low[n] = 0;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        if (strstr(low, words[w])) return true;
    return false;
}

/* Where a URL part ends inside free text. */
static size_t part_len(const char *p, const char *stops)
{
    return strcspn(p, stops);
}

#define URL_END    " \t\r\n\"'<>`"
#define HOST_END   "/?#" URL_END
#define PARAM_END  "&;#" URL_END
#define PARAM_NAME "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-[]"

/* Replace every occurrence of the n bytes at `secret` in buf (NUL-terminated,
 * room for cap bytes) with "***". */
static void hide_literal(char *buf, size_t cap, const char *secret, size_t n)
{
    if (n < 4) return; /* too short to find without mangling ordinary words */
    char *p = buf;
    while ((p = memmem(p, strlen(p), secret, n))) {
        size_t rest = strlen(p + n);
        if ((size_t)(p - buf) + 3 + rest + 1 > cap) return;
        memmove(p + 3, p + n, rest + 1);
        memcpy(p, "***", 3);
        p += 3;
    }
}

/* Call fn(start, len) for every secret in the URL-shaped parts of `text`:
 * the password of a scheme://user:password@ part and the value of each
 * secret query parameter. */
static void each_secret(const char *text, void (*fn)(void *arg, const char *s, size_t n), void *arg)
{
    for (const char *p = text; *p; p++) {
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            const char *auth = p + 3;
            size_t alen = part_len(auth, HOST_END);
            const char *at = NULL;
            for (size_t i = 0; i < alen; i++)
                if (auth[i] == '@') at = auth + i; /* the last @ ends the user info */
            const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
            if (colon) fn(arg, colon + 1, (size_t)(at - colon - 1));
            p += 2;
        } else if (p[0] == '?' || p[0] == '&' || p[0] == ';') {
            size_t nl = strspn(p + 1, PARAM_NAME);
            if (nl && p[1 + nl] == '=' && secret_param(p + 1, nl)) {
                const char *v = p + 2 + nl;
                fn(arg, v, part_len(v, PARAM_END));
            }
        }
    }
}

typedef struct {
    const char *text;
    char *out;
    size_t o, from; /* output length, next input byte to copy */
} redactor;

/* each_secret's callback for the text itself: copy up to the secret, then
 * "***" (secrets come in order and never overlap). */
static void hide_in_place(void *arg, const char *s, size_t n)
{
    redactor *r = arg;
    size_t at = (size_t)(s - r->text);
    if (at < r->from) return;
    memcpy(r->out + r->o, r->text + r->from, at - r->from);
    r->o += at - r->from;
    memcpy(r->out + r->o, "***", 3);
    r->o += 3;
    r->from = at + n;
}

typedef struct {
    char *buf;
    size_t cap;
} literal_ctx;

static void hide_literal_cb(void *arg, const char *s, size_t n)
{
    literal_ctx *l = arg;
    hide_literal(l->buf, l->cap, s, n);
}

char *cam_redact(const char *text, const char *url)
{
    if (!text) text = "";
    size_t len = strlen(text), cap = 3 * len + 4;
    char *out = malloc(cap), *tmp = malloc(cap);
    if (!out || !tmp) {
        free(out);
        free(tmp);
        return NULL;
    }
    /* First the secrets of `url` wherever they appear alone (a message from
     * libcurl or FFmpeg may quote the password or the token without the
     * URL around it), then every URL-shaped secret in what is left. */
    memcpy(tmp, text, len + 1);
    if (url) each_secret(url, hide_literal_cb, &(literal_ctx){tmp, cap});
    redactor r = {.text = tmp, .out = out};
    each_secret(tmp, hide_in_place, &r);
    memcpy(out + r.o, tmp + r.from, strlen(tmp + r.from) + 1);
    free(tmp);
    return out;
}

char *cam_redact_url(const char *url)
{
    return cam_redact(url, url);
}

static bool ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

cam_kind cam_kind_for_url(const char *url)
{
    if (!url || !*url) return CAM_KIND_AUTO;
    if (strncmp(url, "/dev/video", 10) == 0 || strncmp(url, "v4l2://", 7) == 0)
        return CAM_KIND_V4L2;
    bool http = strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
    if (!http) return CAM_KIND_FFMPEG;
    size_t n = strcspn(url, "?#"); /* the path without query or fragment */
    static const char *video[] = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts", ".m3u8", ".flv"};
    for (size_t i = 0; i < sizeof video / sizeof *video; i++)
        if (ends_with_ci(url, n, video[i])) return CAM_KIND_FFMPEG;
    if (ends_with_ci(url, n, ".jpg") || ends_with_ci(url, n, ".jpeg") ||
        ends_with_ci(url, n, "/capture"))
        return CAM_KIND_SNAPSHOT;
    return CAM_KIND_MJPEG;
}

const char *cam_kind_name(cam_kind k)
{
    switch (k) {
    case CAM_KIND_AUTO:
        return "auto";
    case CAM_KIND_MJPEG:
        return "mjpeg";
    case CAM_KIND_SNAPSHOT:
        return "snapshot";
    case CAM_KIND_FFMPEG:
        return "ffmpeg";
    case CAM_KIND_V4L2:
        return "v4l2";
    }
    return "?";
}

rc_status cam_kind_parse(const char *s, cam_kind *out, rc_error *err)
{
    static const cam_kind all[] = {CAM_KIND_MJPEG, CAM_KIND_SNAPSHOT, CAM_KIND_FFMPEG,
                                   CAM_KIND_V4L2};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (strcasecmp(s, cam_kind_name(all[i])) == 0) {
            *out = all[i];
            return RC_OK;
        }
    if (s && (strcasecmp(s, "rtsp") == 0 || strcasecmp(s, "file") == 0)) {
        *out = CAM_KIND_FFMPEG;
        return RC_OK;
    }
    return rc_fail(err, RC_ERR_INVALID,
                   "camera kind '%s': want mjpeg, snapshot, ffmpeg (rtsp, file) or v4l2",
                   s ? s : "");
}

const char *cam_direction_name(cam_direction d)
{
    switch (d) {
    case CAM_DIR_BOTH:
        return "both";
    case CAM_DIR_ENTRY:
        return "entry";
    case CAM_DIR_EXIT:
        return "exit";
    }
    return "?";
}

rc_status cam_direction_parse(const char *s, cam_direction *out, rc_error *err)
{
    static const cam_direction all[] = {CAM_DIR_BOTH, CAM_DIR_ENTRY, CAM_DIR_EXIT};
    for (size_t i = 0; s && i < 3; i++)
        if (strcasecmp(s, cam_direction_name(all[i])) == 0) {
            *out = all[i];
            return RC_OK;
        }
    return rc_fail(err, RC_ERR_INVALID, "camera direction '%s': want entry, exit or both",
                   s ? s : "");
}

const char *cam_state_name(cam_state s)
{
    switch (s) {
    case CAM_STATE_CONNECTING:
        return "connecting";
    case CAM_STATE_STREAMING:
        return "streaming";
    case CAM_STATE_BACKOFF:
        return "backoff";
    case CAM_STATE_DISABLED:
        return "disabled";
    case CAM_STATE_ERROR:
        return "error";
    case CAM_STATE_ENDED:
        return "ended";
    }
    return "?";
}

json_t *cam_status_json(const cam_status *st)
{
    char when[40] = "";
    if (st->last_frame_ms > 0) {
        time_t t = (time_t)(st->last_frame_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof when - n, ".%03dZ", (int)(st->last_frame_ms % 1000));
    }
    json_t *j = json_pack(
        "{s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:i, s:i, "
        "s:o, s:s}",
        "state", cam_state_name(st->state), "fps_in", st->fps_in, "fps_processed",
        st->fps_processed, "frames", (json_int_t)st->frames, "processed", (json_int_t)st->processed,
        "drops", (json_int_t)st->drops, "skipped", (json_int_t)st->skipped, "partial",
        (json_int_t)st->partial, "connects", (json_int_t)st->connects, "failures",
        (json_int_t)st->failures, "next_retry_ms", (json_int_t)st->next_retry_ms, "last_frame_at",
        when[0] ? json_string(when) : json_null(), "width", st->width, "height", st->height,
        "last_error", st->last_error[0] ? json_string(st->last_error) : json_null(), "last_status",
        rc_status_name(st->last_status));
    if (j) {
        json_t *params = st->error_code[0] ? json_loads(st->error_params, 0, NULL) : NULL;
        json_object_set_new(j, "error",
                            st->error_code[0]
                                ? json_pack("{s:s, s:o}", "code", st->error_code, "params",
                                            json_is_object(params) ? params : json_object())
                                : json_null());
        if (params && !json_is_object(params)) json_decref(params);
    }
    return j;
}

/* ---- the camera ---------------------------------------------------------- */

/* Frames per second over a window of about two seconds. */
typedef struct {
    double start, last;
    unsigned count;
    double fps;
} rate_meter;

static void meter_tick(rate_meter *m, double now)
{
    if (m->count == 0 && m->start == 0) m->start = now;
    m->count++;
    m->last = now;
    if (now - m->start >= 2000) {
        m->fps = m->count * 1000.0 / (now - m->start);
        m->start = now;
        m->count = 0;
    }
}

static double meter_fps(const rate_meter *m, double now)
{
    if (m->last == 0 || now - m->last > 3000) return 0; /* nothing lately */
    if (m->fps == 0) /* the first window is still open: rate over what it has */
        return m->count >= 2 && m->last > m->start ? (m->count - 1) * 1000.0 / (m->last - m->start)
                                                   : 0;
    return m->fps;
}

struct cam_camera {
    cam_config cfg;
    char *name, *url;
    char *label; /* url with the password redacted */
    cam_source_fn source;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* state changes: enable, quit, frames for next() */
    atomic_bool quit;
    atomic_bool enabled;
    atomic_uint gen;  /* bumped on every enable/disable */
    unsigned run_gen; /* gen when the current connection began (thread only) */
    void (*waker)(void *);
    void *waker_arg;
    void (*notify)(void *);
    void *notify_arg;

    /* guarded by mu */
    cam_queue queue;
    cam_frame *last;
    cam_status st;
    rate_meter in_meter, done_meter;
    double next_due; /* frame-rate cap: earliest time the next frame is accepted */
    uint64_t seq;
    uint64_t rng;
    bool delivered; /* a frame arrived during the current connection */
    /* thread only: the code a source named for the failure it returns */
    char fail_code[32];
    char fail_params[256];
};

/* host[:port] of a URL, without user, password, path or query. */
static void url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    snprintf(out, cap, "%.*s", (int)n, p);
}

static void fail_code(cam_camera *c, const char *code, json_t *params)
{
    snprintf(c->fail_code, sizeof c->fail_code, "%s", code);
    char *text = params ? json_dumps(params, JSON_COMPACT) : NULL;
    snprintf(c->fail_params, sizeof c->fail_params, "%s",
             text && strlen(text) < sizeof c->fail_params ? text : "{}");
    free(text);
    json_decref(params);
}

void cam_run_fail_code(cam_camera *c, const char *code, const char *param, const char *value)
{
    char host[256];
    if (param && !value && !strcmp(param, "host")) {
        url_host(c->url, host, sizeof host);
        value = host;
    }
    fail_code(c, code, param ? json_pack("{s:s}", param, value ? value : "") : json_object());
}

void cam_run_fail_code_int(cam_camera *c, const char *code, const char *param, long value)
{
    fail_code(c, code, json_pack("{s:I}", param, (json_int_t)value));
}

/* The code of a failure no source named, from its status. */
static const char *code_of_status(rc_status st)
{
    switch (st) {
    case RC_ERR_NET:
        return "connect_failed";
    case RC_ERR_DENIED:
        return "auth_failed";
    case RC_ERR_NOT_FOUND:
        return "not_found";
    case RC_ERR_CORRUPT:
        return "decode_failed";
    case RC_ERR_UNSUPPORTED:
        return "unsupported";
    case RC_ERR_LIMIT:
        return "frame_too_large";
    case RC_ERR_IO:
        return "device_error";
    case RC_ERR_INVALID:
        return "bad_config";
    default:
        return "failed";
    }
}

const char *cam_run_label(const cam_camera *c)
{
    return c->label;
}

const cam_config *cam_run_config(const cam_camera *c)
{
    return &c->cfg;
}

bool cam_run_stopping(cam_camera *c)
{
    return atomic_load(&c->quit) || !atomic_load(&c->enabled) || atomic_load(&c->gen) != c->run_gen;
}

void cam_run_connected(cam_camera *c)
{
    pthread_mutex_lock(&c->mu);
    c->st.state = CAM_STATE_STREAMING;
    c->st.connects++;
    pthread_mutex_unlock(&c->mu);
}

bool cam_run_want_frame(cam_camera *c)
{
    if (c->cfg.max_fps <= 0) return true;
    double now = rc_mono_ms(), interval = 1000.0 / c->cfg.max_fps;
    pthread_mutex_lock(&c->mu);
    bool ok = now >= c->next_due;
    if (ok) {
        /* Keep the average at max_fps even when source frames arrive at a
         * rate that is not a multiple of the cap, without bursting after a
         * pause. */
        c->next_due += interval;
        if (c->next_due < now) c->next_due = now + interval;
    } else {
        c->st.skipped++;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void cam_run_emit(cam_camera *c, cam_frame *f)
{
    double now = rc_mono_ms();
    f->ts_ms = rc_unix_ms();
    f->mono_ms = now;
    pthread_mutex_lock(&c->mu);
    if (cam_run_stopping(c)) { /* disabled while this frame was read */
        pthread_mutex_unlock(&c->mu);
        cam_frame_unref(f);
        return;
    }
    f->seq = ++c->seq;
    c->st.frames++;
    c->st.last_frame_ms = f->ts_ms;
    c->st.width = f->width;
    c->st.height = f->height;
    if (c->st.state == CAM_STATE_CONNECTING) c->st.state = CAM_STATE_STREAMING;
    c->delivered = true;
    meter_tick(&c->in_meter, now);
    cam_frame_unref(c->last);
    c->last = cam_frame_ref(f);
    if (cam_queue_push(&c->queue, f)) c->st.drops++;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (c->notify) c->notify(c->notify_arg);
}

void cam_run_partial(cam_camera *c, uint64_t n)
{
    if (!n) return;
    pthread_mutex_lock(&c->mu);
    c->st.partial += n;
    pthread_mutex_unlock(&c->mu);
}

static void add_ms(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

bool cam_run_wait(cam_camera *c, unsigned ms)
{
    struct timespec until;
    add_ms(&until, ms);
    pthread_mutex_lock(&c->mu);
    while (!cam_run_stopping(c))
        if (pthread_cond_timedwait(&c->cond, &c->mu, &until) != 0) break;
    pthread_mutex_unlock(&c->mu);
    return cam_run_stopping(c);
}

void cam_run_set_waker(cam_camera *c, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&c->mu);
    c->waker = fn;
    c->waker_arg = arg;
    pthread_mutex_unlock(&c->mu);
}

/* With mu held: wake the thread wherever it waits. */
static void poke(cam_camera *c)
{
    pthread_cond_broadcast(&c->cond);
    if (c->waker) c->waker(c->waker_arg);
}

/* A source's error, its secrets hidden (libcurl's and FFmpeg's words may
 * quote the URL), as status, logs and metrics will show it. */
static void set_failure(cam_camera *c, rc_status code, rc_error *err)
{
    char *safe = cam_redact(err->msg, c->url);
    snprintf(err->msg, sizeof err->msg, "%s", safe ? safe : "(message hidden: out of memory)");
    free(safe);
    c->st.failures++;
    c->st.last_status = code;
    snprintf(c->st.last_error, sizeof c->st.last_error, "%s", err->msg);
    if (!c->fail_code[0]) { /* no source named it: by its status, with the host */
        if (code == RC_ERR_NET)
            cam_run_fail_code(c, code_of_status(code), "host", NULL);
        else
            cam_run_fail_code(c, code_of_status(code), NULL, NULL);
    }
    memcpy(c->st.error_code, c->fail_code, sizeof c->st.error_code);
    memcpy(c->st.error_params, c->fail_params, sizeof c->st.error_params);
    c->fail_code[0] = 0;
    c->fail_params[0] = 0;
}

static void *camera_thread(void *arg)
{
    cam_camera *c = arg;
    unsigned attempt = 0;
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->quit)) {
        if (!atomic_load(&c->enabled)) {
            c->st.state = CAM_STATE_DISABLED;
            pthread_cond_broadcast(&c->cond);
            while (!atomic_load(&c->quit) && !atomic_load(&c->enabled))
                pthread_cond_wait(&c->cond, &c->mu);
            attempt = 0;
            continue;
        }
        c->run_gen = atomic_load(&c->gen);
        c->st.state = CAM_STATE_CONNECTING;
        c->delivered = false;
        pthread_mutex_unlock(&c->mu);

        rc_error err;
        rc_error_clear(&err);
        bool ended = false;
        rc_status rc = c->source(c, &ended, &err);

        pthread_mutex_lock(&c->mu);
        if (atomic_load(&c->quit)) break;
        if (c->delivered) attempt = 0;
        if (cam_run_stopping(c)) continue; /* disabled or re-enabled: top of loop */
        if (rc == RC_OK && ended) {
            if (c->cfg.loop) continue;
            c->st.state = CAM_STATE_ENDED;
            rc_log(RC_LOG_INFO, "camera %s: ended after %llu frames", c->name,
                   (unsigned long long)c->st.frames);
            pthread_cond_broadcast(&c->cond);
            unsigned g = c->run_gen;
            while (!atomic_load(&c->quit) && atomic_load(&c->gen) == g)
                pthread_cond_wait(&c->cond, &c->mu);
            continue;
        }
        if (rc == RC_OK) {
            /* The source returned without being asked to: treat as a failure. */
            rc = RC_ERR_NET;
            snprintf(err.msg, sizeof err.msg, "%s: the source stopped", c->label);
        }
        set_failure(c, rc, &err);
        if (rc == RC_ERR_INVALID) {
            /* A configuration that cannot work: wait for a re-enable. */
            c->st.state = CAM_STATE_ERROR;
            bool named = strcmp(c->name, c->label) != 0;
            rc_log(RC_LOG_WARN, "camera%s%s: %s (fix the configuration, then re-enable it)",
                   named ? " " : "", named ? c->name : "", err.msg);
            unsigned g = c->run_gen;
            while (!atomic_load(&c->quit) && atomic_load(&c->gen) == g)
                pthread_cond_wait(&c->cond, &c->mu);
            continue;
        }
        unsigned delay =
            cam_backoff_ms(c->cfg.backoff_base_ms, c->cfg.backoff_max_ms, attempt, &c->rng);
        if (attempt < 64) attempt++;
        c->st.state = CAM_STATE_BACKOFF;
        c->st.next_retry_ms = delay;
        /* Messages name the URL already; add the name only when it differs. */
        bool named = strcmp(c->name, c->label) != 0;
        rc_log(attempt == 1 ? RC_LOG_WARN : RC_LOG_DEBUG, "camera%s%s: %s; retrying in %u ms",
               named ? " " : "", named ? c->name : "", err.msg, delay);
        struct timespec until;
        add_ms(&until, delay);
        unsigned g = atomic_load(&c->gen);
        while (!atomic_load(&c->quit) && atomic_load(&c->gen) == g)
            if (pthread_cond_timedwait(&c->cond, &c->mu, &until) != 0) break;
        c->st.next_retry_ms = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* RC_ERR_INVALID "camera 'URL': why", the URL redacted. */
static rc_status config_error(rc_error *err, const char *url, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rc_status config_error(rc_error *err, const char *url, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char *shown = cam_redact_url(url);
    rc_fail(err, RC_ERR_INVALID, "camera '%s': %s", shown ? shown : "(url hidden)", why);
    free(shown);
    return RC_ERR_INVALID;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

rc_status cam_camera_create_notify(const cam_config *cfg, void (*notify)(void *), void *arg,
                                   cam_camera **out, rc_error *err)
{
    *out = NULL;
    if (!cfg || !cfg->url || !*cfg->url)
        return rc_fail(err, RC_ERR_INVALID, "camera: no source URL or path given");
    cam_kind kind = cfg->kind == CAM_KIND_AUTO ? cam_kind_for_url(cfg->url) : cfg->kind;
    if ((kind == CAM_KIND_MJPEG || kind == CAM_KIND_SNAPSHOT) &&
        strncasecmp(cfg->url, "http://", 7) != 0 && strncasecmp(cfg->url, "https://", 8) != 0)
        return config_error(err, cfg->url, "%s sources need an http:// URL", cam_kind_name(kind));
    if (cfg->max_fps < 0 || cfg->max_fps > 1000)
        return config_error(err, cfg->url, "max fps %g is not in 0..1000", cfg->max_fps);
    /* Thread-safe and reference-counted in libcurl >= 7.84; paired with the
     * cleanup in cam_camera_destroy. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return rc_fail(err, RC_ERR_INTERNAL, "camera: cannot initialise libcurl");
    cam_camera *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return rc_fail(err, RC_ERR_NOMEM, "camera: out of memory");
    }
    c->cfg = *cfg;
    c->cfg.kind = kind;
    c->url = dup_or_empty(cfg->url);
    c->label = cam_redact_url(cfg->url);
    c->name = cfg->name && *cfg->name ? strdup(cfg->name) : cam_redact_url(cfg->url);
    c->cfg.name = c->name;
    c->cfg.url = c->url;
    if (!c->cfg.queue_len) c->cfg.queue_len = 2;
    if (!c->cfg.backoff_base_ms) c->cfg.backoff_base_ms = 500;
    if (!c->cfg.backoff_max_ms) c->cfg.backoff_max_ms = 30000;
    if (c->cfg.backoff_max_ms < c->cfg.backoff_base_ms)
        c->cfg.backoff_max_ms = c->cfg.backoff_base_ms;
    if (!c->cfg.connect_timeout_ms) c->cfg.connect_timeout_ms = 5000;
    if (!c->cfg.stall_timeout_ms) c->cfg.stall_timeout_ms = 10000;
    if (!c->cfg.max_frame_bytes) c->cfg.max_frame_bytes = 8u << 20;
    if (!c->cfg.v4l2_width || !c->cfg.v4l2_height) {
        c->cfg.v4l2_width = 640;
        c->cfg.v4l2_height = 480;
    }
    switch (kind) {
    case CAM_KIND_MJPEG:
        c->source = cam_source_mjpeg;
        break;
    case CAM_KIND_SNAPSHOT:
        c->source = cam_source_snapshot;
        break;
    case CAM_KIND_V4L2:
        c->source = cam_source_v4l2;
        break;
    default:
        c->source = cam_source_ffmpeg;
        break;
    }
    c->notify = notify;
    c->notify_arg = arg;
    c->rng = (uint64_t)rc_unix_ms() ^ ((uint64_t)(uintptr_t)c << 16) ^ 0x2545f4914f6cdd1dull;
    c->st.state = cfg->disabled ? CAM_STATE_DISABLED : CAM_STATE_CONNECTING;
    atomic_init(&c->quit, false);
    atomic_init(&c->enabled, !cfg->disabled);
    atomic_init(&c->gen, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    if (!c->name || !c->url || !c->label || cam_queue_init(&c->queue, c->cfg.queue_len) != RC_OK) {
        cam_camera_destroy(c);
        return rc_fail(err, RC_ERR_NOMEM, "camera: out of memory");
    }
    if (pthread_create(&c->thread, NULL, camera_thread, c) != 0) {
        cam_camera_destroy(c);
        return rc_fail(err, RC_ERR_INTERNAL, "camera '%s': cannot start a thread", c->label);
    }
    c->thread_started = true;
    *out = c;
    return RC_OK;
}

rc_status cam_camera_create(const cam_config *cfg, cam_camera **out, rc_error *err)
{
    return cam_camera_create_notify(cfg, NULL, NULL, out, err);
}

void cam_camera_destroy(cam_camera *c)
{
    if (!c) return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        atomic_store(&c->quit, true);
        poke(c);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    cam_queue_free(&c->queue);
    cam_frame_unref(c->last);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c->name);
    free(c->url);
    free(c->label);
    free(c);
    curl_global_cleanup();
}

cam_frame *cam_camera_try_pop(cam_camera *c)
{
    pthread_mutex_lock(&c->mu);
    cam_frame *f = cam_queue_pop(&c->queue);
    pthread_mutex_unlock(&c->mu);
    return f;
}

cam_frame *cam_camera_next(cam_camera *c, int timeout_ms)
{
    struct timespec until;
    if (timeout_ms >= 0) add_ms(&until, (unsigned)timeout_ms);
    pthread_mutex_lock(&c->mu);
    cam_frame *f;
    while (!(f = cam_queue_pop(&c->queue))) {
        if (c->st.state == CAM_STATE_ENDED || c->st.state == CAM_STATE_DISABLED ||
            atomic_load(&c->quit))
            break;
        if (timeout_ms < 0)
            pthread_cond_wait(&c->cond, &c->mu);
        else if (pthread_cond_timedwait(&c->cond, &c->mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&c->mu);
    return f;
}

void cam_camera_note_processed(cam_camera *c)
{
    pthread_mutex_lock(&c->mu);
    c->st.processed++;
    meter_tick(&c->done_meter, rc_mono_ms());
    pthread_mutex_unlock(&c->mu);
}

void cam_camera_set_enabled(cam_camera *c, bool on)
{
    pthread_mutex_lock(&c->mu);
    if (atomic_load(&c->enabled) != on) {
        atomic_store(&c->enabled, on);
        atomic_fetch_add(&c->gen, 1);
        if (!on) {
            c->st.state = CAM_STATE_DISABLED;
            /* Frames still queued belong to the past: drop them. */
            cam_frame *f;
            while ((f = cam_queue_pop(&c->queue))) cam_frame_unref(f);
        } else {
            c->st.state = CAM_STATE_CONNECTING;
        }
        poke(c);
    }
    pthread_mutex_unlock(&c->mu);
}

void cam_camera_status(cam_camera *c, cam_status *out)
{
    double now = rc_mono_ms();
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->fps_in = meter_fps(&c->in_meter, now);
    out->fps_processed = meter_fps(&c->done_meter, now);
    pthread_mutex_unlock(&c->mu);
}

cam_frame *cam_camera_last_frame(cam_camera *c)
{
    pthread_mutex_lock(&c->mu);
    cam_frame *f = cam_frame_ref(c->last);
    pthread_mutex_unlock(&c->mu);
    return f;
}

const char *cam_camera_name(const cam_camera *c)
{
    return c->name;
}

const char *cam_camera_url(const cam_camera *c)
{
    return c->label;
}

cam_kind cam_camera_kind(const cam_camera *c)
{
    return c->cfg.kind;
}

cam_direction cam_camera_direction(const cam_camera *c)
{
    return c->cfg.direction;
}
