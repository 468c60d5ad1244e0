/*
 * sse.c — the broadcast hub behind GET /api/v1/events (server-sent events).
 * Each stream is a chunked response whose content reader drains the stream's
 * queue; when the queue is empty the reader suspends its connection, and a
 * publish (or the heartbeat, every 15 s, which also notices clients that went
 * away) resumes it. A client that does not read falls behind by at most
 * 1 MB; beyond that its stream is closed rather than let memory grow.
 *
 * Each stream keeps its caller's credentials and sees only what they may:
 * admins, managers of every group and device keys bound to no camera see
 * every event; a limited manager sees the people of their groups (faces of
 * others are cut out of recognition events), a member themselves, a device
 * key bound to a camera that camera's events. Credentials are checked again
 * whenever a key is revoked or a user changed in this process and on every
 * heartbeat; a stream whose key or session is no longer valid ends, one
 * whose scope changed follows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STREAM_MAX_QUEUE (1024 * 1024)

typedef struct stream {
    http_hub *hub;
    struct MHD_Connection *conn;
    uint64_t serial;
    /* The credentials the stream was opened with, to check them again. */
    char bearer[160];
    char cookie[72];
    http_principal who; /* as last resolved */
    char *buf;
    size_t len, cap;
    bool suspended;
    bool overflow;
    bool ended; /* credentials no longer valid: end the response */
    struct stream *next;
} stream;

struct http_hub {
    pthread_mutex_t lock;
    pthread_cond_t gone;
    store *store;
    stream *streams;
    size_t count;
    uint64_t serials;
    bool closed;
};

http_hub *http_hub_create(store *s)
{
    http_hub *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->store = s;
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
    if (s->ended) {
        pthread_mutex_unlock(&h->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
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
    s->who = r->who;
    const char *auth = http_header(r, "Authorization");
    if (r->who.key_id && auth && strlen(auth) < 7 + sizeof s->bearer)
        http_copy(s->bearer, sizeof s->bearer, auth + 7);
    if (r->who.via_cookie) http_copy(s->cookie, sizeof s->cookie, r->who.session_id);
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
    s->serial = ++h->serials;
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

/* ---- what each stream may see ------------------------------------------ */

/* The groups of one person named in an event (looked up only when a
 * group-limited stream is open). */
typedef struct {
    int64_t person_id;
    int64_t *groups;
    size_t n;
} person_groups;

typedef struct {
    person_groups *p;
    size_t n;
} event_people;

static bool sees_everything(const http_principal *w)
{
    bool staff = w->role == HTTP_MANAGER || w->role == HTTP_AUDITOR;
    return w->role == HTTP_ADMIN || (staff && !w->limited) ||
           (w->role == HTTP_DEVICE && !w->camera_id);
}

static bool person_visible(const http_principal *w, const event_people *ep, int64_t person_id)
{
    if (person_id <= 0) return false;
    if (w->role == HTTP_MEMBER) return w->person_id && person_id == w->person_id;
    if (w->role == HTTP_DEVICE) return true; /* its camera decides */
    if (w->role != HTTP_MANAGER && w->role != HTTP_AUDITOR) return false;
    for (size_t i = 0; i < ep->n; i++) {
        if (ep->p[i].person_id != person_id) continue;
        for (size_t g = 0; g < ep->p[i].n; g++)
            for (size_t k = 0; k < w->ngroups; k++)
                if (ep->p[i].groups[g] == w->groups[k]) return true;
    }
    return false;
}

static int64_t face_person(const json_t *face)
{
    return json_integer_value(json_object_get(json_object_get(face, "identity"), "person_id"));
}

/* The event as this stream may see it: a new reference (possibly the same
 * object), or NULL when it sees none of it. */
static json_t *visible_part(const http_principal *w, const event_people *ep, const char *event,
                            json_t *data)
{
    if (sees_everything(w)) return json_incref(data);
    if (w->role == HTTP_DEVICE &&
        json_integer_value(json_object_get(data, "camera_id")) != w->camera_id)
        return NULL;
    if (strcmp(event, "attendance") == 0)
        return person_visible(w, ep, json_integer_value(json_object_get(data, "person_id")))
                   ? json_incref(data)
                   : NULL;
    if (strcmp(event, "recognition") != 0) return NULL;
    if (w->role == HTTP_DEVICE) return json_incref(data);
    /* Only the faces of people this stream may see. */
    json_t *faces = json_object_get(data, "faces"), *kept = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(faces, i, f)
    {
        if (person_visible(w, ep, face_person(f))) json_array_append(kept, f);
    }
    if (json_array_size(kept) == 0) {
        json_decref(kept);
        return NULL;
    }
    json_t *copy = json_copy(data);
    json_object_set_new(copy, "faces", kept);
    return copy;
}

/* Every person an event names, with their groups when `groups` is set. */
static void event_people_load(store *st, const json_t *data, bool groups, event_people *ep)
{
    ep->p = NULL;
    ep->n = 0;
    int64_t ids[64];
    size_t n = 0;
    int64_t pid = json_integer_value(json_object_get(data, "person_id"));
    if (pid > 0) ids[n++] = pid;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(data, "faces"), i, f)
    {
        int64_t fp = face_person(f);
        if (fp > 0 && n < sizeof ids / sizeof ids[0]) ids[n++] = fp;
    }
    if (!n || !(ep->p = calloc(n, sizeof *ep->p))) return;
    for (i = 0; i < n; i++) {
        person_groups *pg = &ep->p[ep->n++];
        pg->person_id = ids[i];
        if (groups && st) store_person_groups(st, ids[i], &pg->groups, &pg->n, NULL);
    }
}

static void event_people_free(event_people *ep)
{
    for (size_t i = 0; i < ep->n; i++) free(ep->p[i].groups);
    free(ep->p);
}

/* "event: NAME\ndata: JSON\n\n" (caller frees), or NULL. */
static char *sse_message(const char *event, const json_t *data, size_t *len)
{
    char *json = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    if (!json) return NULL;
    size_t n = strlen(json) + strlen(event) + 32;
    char *msg = malloc(n);
    /* json_dumps in compact mode never emits a newline, so one data line. */
    if (msg) *len = (size_t)snprintf(msg, n, "event: %s\ndata: %s\n\n", event, json);
    free(json);
    return msg;
}

void http_hub_publish(http_hub *h, const char *event, const json_t *data)
{
    json_t *d = json_deep_copy(data);
    size_t full_len = 0;
    char *full = d ? sse_message(event, d, &full_len) : NULL;
    if (!full) {
        json_decref(d);
        return;
    }
    /* Group lookups only when a limited manager is listening. */
    bool need_groups = false;
    pthread_mutex_lock(&h->lock);
    for (stream *s = h->streams; s; s = s->next)
        need_groups |=
            (s->who.role == HTTP_MANAGER || s->who.role == HTTP_AUDITOR) && s->who.limited;
    pthread_mutex_unlock(&h->lock);
    event_people ep;
    event_people_load(h->store, d, need_groups, &ep);
    pthread_mutex_lock(&h->lock);
    for (stream *s = h->streams; s; s = s->next) {
        if (s->ended) continue;
        if (sees_everything(&s->who)) {
            append(s, full, full_len);
            continue;
        }
        json_t *part = visible_part(&s->who, &ep, event, d);
        if (!part) continue;
        size_t len = 0;
        char *msg = sse_message(event, part, &len);
        if (msg) append(s, msg, len);
        free(msg);
        json_decref(part);
    }
    wake_locked(h);
    pthread_mutex_unlock(&h->lock);
    event_people_free(&ep);
    json_decref(d);
    free(full);
}

/* ---- credentials checked again ------------------------------------------ */

typedef struct {
    uint64_t serial;
    char bearer[160];
    char cookie[72];
    http_principal was, now;
} recheck;

void http_hub_revalidate(http_hub *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = 0;
    recheck *rs = h->count ? calloc(h->count, sizeof *rs) : NULL;
    for (stream *s = h->streams; s && rs && n < h->count; s = s->next) {
        if (s->ended) continue;
        rs[n].serial = s->serial;
        memcpy(rs[n].bearer, s->bearer, sizeof s->bearer);
        memcpy(rs[n].cookie, s->cookie, sizeof s->cookie);
        rs[n].was = s->who;
        n++;
    }
    pthread_mutex_unlock(&h->lock);
    if (!rs) return;
    /* The database is asked without the lock held. */
    for (size_t i = 0; i < n; i++)
        http_principal_resolve(h->store, rs[i].bearer[0] ? rs[i].bearer : NULL,
                               rs[i].cookie[0] ? rs[i].cookie : NULL, &rs[i].now);
    pthread_mutex_lock(&h->lock);
    for (stream *s = h->streams; s; s = s->next) {
        for (size_t i = 0; i < n; i++) {
            if (rs[i].serial != s->serial) continue;
            const http_principal *a = &rs[i].was, *b = &rs[i].now;
            if (b->role != a->role || b->user_id != a->user_id || b->key_id != a->key_id) {
                s->ended = true;
                if (s->suspended) {
                    s->suspended = false;
                    MHD_resume_connection(s->conn);
                }
            } else {
                s->who = *b; /* groups, person and camera as they are now */
            }
        }
    }
    pthread_mutex_unlock(&h->lock);
    free(rs);
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
