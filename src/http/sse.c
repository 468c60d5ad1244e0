/*
 * sse.c — the broadcast hub behind GET /api/v1/events (server-sent events).
 * Each stream is a chunked response whose content reader drains the stream's
 * queue; when the queue is empty the reader suspends its connection, and a
 * publish (or the heartbeat, every 15 s, which also notices clients that went
 * away) resumes it. A client that does not read falls behind by at most
 * 1 MB; beyond that its stream is closed rather than let memory grow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STREAM_MAX_QUEUE (1024 * 1024)

typedef struct stream {
    http_hub *hub;
    struct MHD_Connection *conn;
    char *buf;
    size_t len, cap;
    bool suspended;
    bool overflow;
    struct stream *next;
} stream;

struct http_hub {
    pthread_mutex_t lock;
    pthread_cond_t gone;
    stream *streams;
    size_t count;
    bool closed;
};

http_hub *http_hub_create(void)
{
    http_hub *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->gone, NULL);
    return h;
}

static void wake_locked(http_hub *h)
{
    for (stream *s = h->streams; s; s = s->next) {
        if (s->suspended) {
            s->suspended = false;
            MHD_resume_connection(s->conn);
        }
    }
}

void http_hub_destroy(http_hub *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->lock);
    h->closed = true;
    wake_locked(h);
    /* Each stream's reader sees `closed`, ends its response, and its free
     * callback unlinks it. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (h->count > 0)
        if (pthread_cond_timedwait(&h->gone, &h->lock, &ts) != 0) break;
    size_t left = h->count;
    pthread_mutex_unlock(&h->lock);
    if (left) {
        /* The daemon will free them when it stops; the hub must outlive it,
         * so leak it rather than leave readers pointing at freed memory. */
        rc_log(RC_LOG_WARN, "%zu event stream(s) did not close in time", left);
        return;
    }
    pthread_cond_destroy(&h->gone);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static bool append(stream *s, const char *text, size_t n)
{
    if (s->len + n > STREAM_MAX_QUEUE) {
        s->overflow = true;
        return false;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n) cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b) {
            s->overflow = true;
            return false;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    return true;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *s = cls;
    http_hub *h = s->hub;
    pthread_mutex_lock(&h->lock);
    if (s->overflow) {
        pthread_mutex_unlock(&h->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->len) {
        size_t n = s->len < max ? s->len : max;
        memcpy(buf, s->buf, n);
        memmove(s->buf, s->buf + n, s->len - n);
        s->len -= n;
        pthread_mutex_unlock(&h->lock);
        return (ssize_t)n;
    }
    if (h->closed) {
        pthread_mutex_unlock(&h->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    s->suspended = true;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void reader_free(void *cls)
{
    stream *s = cls;
    http_hub *h = s->hub;
    pthread_mutex_lock(&h->lock);
    for (stream **pp = &h->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    h->count--;
    pthread_cond_broadcast(&h->gone);
    pthread_mutex_unlock(&h->lock);
    free(s->buf);
    free(s);
}

enum MHD_Result http_hub_subscribe(http_hub *h, http_req *r)
{
    stream *s = calloc(1, sizeof *s);
    if (!s) return http_reply_error(r, 500, "internal", "out of memory");
    s->hub = h;
    s->conn = r->conn;
    const char *hello = "retry: 3000\n: connected\n\n";
    append(s, hello, strlen(hello));
    pthread_mutex_lock(&h->lock);
    if (h->closed) {
        pthread_mutex_unlock(&h->lock);
        free(s->buf);
        free(s);
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                                "the server is shutting down");
    }
    s->next = h->streams;
    h->streams = s;
    h->count++;
    pthread_mutex_unlock(&h->lock);
    /* From here the stream belongs to the response: reader_free unlinks it. */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, s, reader_free);
    if (!resp) {
        reader_free(s);
        return http_reply_error(r, 500, "internal", "out of memory");
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    /* A stream is not a request in flight: shutdown must not wait for it. */
    r->stream = true;
    pthread_mutex_lock(&r->srv->lock);
    r->srv->in_flight--;
    if (r->srv->in_flight == 0) pthread_cond_broadcast(&r->srv->idle);
    pthread_mutex_unlock(&r->srv->lock);
    return http_reply_response(r, MHD_HTTP_OK, resp);
}

void http_hub_publish(http_hub *h, const char *event, const json_t *data)
{
    char *json = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    if (!json) return;
    size_t n = strlen(json) + strlen(event) + 32;
    char *msg = malloc(n);
    if (!msg) {
        free(json);
        return;
    }
    /* json_dumps in compact mode never emits a newline, so one data line. */
    int len = snprintf(msg, n, "event: %s\ndata: %s\n\n", event, json);
    free(json);
    pthread_mutex_lock(&h->lock);
    for (stream *s = h->streams; s; s = s->next) append(s, msg, (size_t)len);
    wake_locked(h);
    pthread_mutex_unlock(&h->lock);
    free(msg);
}

void http_hub_wake(http_hub *h)
{
    pthread_mutex_lock(&h->lock);
    for (stream *s = h->streams; s; s = s->next) append(s, ": keepalive\n\n", 13);
    wake_locked(h);
    pthread_mutex_unlock(&h->lock);
}

size_t http_hub_clients(http_hub *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->count;
    pthread_mutex_unlock(&h->lock);
    return n;
}
