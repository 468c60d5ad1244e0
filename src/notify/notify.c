/*
 * notify.c — the dispatcher: worker threads that claim due deliveries from
 * the store's outbox, POST them with libcurl and record the outcome (with
 * the retry schedule), plus the calls that queue unknown-face, camera-down
 * and test notifications. See notify.h for the guarantees.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>
#include <sys/socket.h>

#include "notify.h"

#define THROTTLE_SLOTS 64

struct notify {
    store *s;
    notify_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    int stopping;
    unsigned wake_gen; /* raised by notify_wake */
    int64_t purged_ms; /* when old deliveries were last deleted */
    pthread_t *threads;
    unsigned nthreads;
    /* Unknown faces: when each camera last queued one. */
    struct {
        int64_t camera_id, last_ms;
    } seen[THROTTLE_SLOTS];
    size_t nseen;
    /* Cameras: since when each has not been streaming, and whether that
     * was said. */
    struct {
        int64_t camera_id, down_since;
        int said;
    } cams[THROTTLE_SLOTS];
    size_t ncams;
};

void notify_config_default(notify_config *c)
{
    if (!c->workers) c->workers = 2;
    if (c->timeout_ms <= 0) c->timeout_ms = 10000;
    if (c->connect_timeout_ms <= 0) c->connect_timeout_ms = 5000;
    if (c->max_attempts <= 0) c->max_attempts = 10;
    if (c->backoff_base_ms <= 0) c->backoff_base_ms = 5000;
    if (c->backoff_max_ms <= 0) c->backoff_max_ms = 3600000;
    if (c->poll_ms <= 0) c->poll_ms = 1000;
    if (c->lease_ms <= 0) c->lease_ms = c->timeout_ms * 3;
    if (c->unknown_face_gap_ms <= 0) c->unknown_face_gap_ms = 60000;
    if (c->camera_down_ms <= 0) c->camera_down_ms = 30000;
    if (c->keep_ms <= 0) c->keep_ms = 30LL * 24 * 3600 * 1000;
}

/* ---- one HTTP request ---------------------------------------------------- */

#define ANSWER_MAX 65536 /* read at most this much of an answer's body */

typedef struct {
    char text[160]; /* the start of the receiver's answer, for last_error */
    size_t len;
    size_t total;
} answer;

static size_t keep_start(char *p, size_t size, size_t nmemb, void *arg)
{
    answer *a = arg;
    size_t n = size * nmemb, room = sizeof a->text - 1 - a->len;
    a->total += n;
    if (a->total > ANSWER_MAX) return 0; /* stop reading; the status is known */
    size_t take = n < room ? n : room;
    memcpy(a->text + a->len, p, take);
    a->len += take;
    a->text[a->len] = 0;
    return n;
}

/* Where a webhook may not connect, whatever its URL's host resolves to
 * (checked on the address actually connected to, so a name that resolves
 * there, or is made to later, is caught too): link-local addresses, which
 * hold the cloud metadata services (169.254.169.254, fd00:ec2::254), the
 * unspecified address (0.0.0.0 reaches this host) and multicast. Loopback
 * and private networks stay allowed: receivers on the same host or the
 * LAN are the common case. Returns the reason, or NULL when allowed. */
static const char *address_refused(const struct sockaddr *sa)
{
    const unsigned char *v4 = NULL;
    if (sa->sa_family == AF_INET) {
        v4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char aws[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                              0,    0, 0,    0,    0, 0, 0x02, 0x54};
        static const unsigned char zero[16] = {0};
        if (memcmp(a, mapped, 12) == 0) {
            v4 = a + 12;
        } else if (memcmp(a, zero, 16) == 0) {
            return "the unspecified address";
        } else if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
            return "a link-local address";
        } else if (a[0] == 0xff) {
            return "a multicast address";
        } else if (memcmp(a, aws, 16) == 0) {
            return "a cloud metadata address";
        }
    }
    if (!v4) return NULL;
    if (v4[0] == 0) return "the unspecified address";
    if (v4[0] == 169 && v4[1] == 254) return "a link-local address";
    if (v4[0] >= 224) return "a multicast or reserved address";
    if (v4[0] == 100 && v4[1] == 100 && v4[2] == 100 && v4[3] == 200)
        return "a cloud metadata address";
    return NULL;
}

typedef struct {
    char refused[160]; /* why the connection was not opened ("" when it was) */
} guard;

static curl_socket_t open_guarded(void *user, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    guard *g = user;
    const char *why = address_refused(&a->addr);
    if (why) {
        char ip[INET6_ADDRSTRLEN] = "?";
        const void *raw = a->family == AF_INET6
                              ? (const void *)&((const struct sockaddr_in6 *)&a->addr)->sin6_addr
                              : (const void *)&((const struct sockaddr_in *)&a->addr)->sin_addr;
        inet_ntop(a->family, raw, ip, sizeof ip);
        snprintf(g->refused, sizeof g->refused,
                 "the URL leads to %s (%s), where webhooks may not connect", ip, why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* POST body to w->url; *http receives the status (0 without an answer) and
 * error a description when the answer is not 2xx. Returns 1 when delivered. */
static int post(const notify *n, const store_webhook *w, const store_delivery *d, const char *body,
                size_t len, char *error, size_t cap, int *http)
{
    *http = 0;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(error, cap, "out of memory starting a request");
        return 0;
    }
    char sig[NOTIFY_SIGNATURE_MAX], line[160];
    notify_sign(w->secret, rc_unix_ms() / 1000, body, len, sig);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "User-Agent: rollcall/" RC_VERSION);
    hdr = curl_slist_append(hdr, "Expect:");
    snprintf(line, sizeof line, "X-Rollcall-Event: %s", d->kind);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof line, "X-Rollcall-Delivery: %lld", (long long)d->id);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof line, "X-Rollcall-Attempt: %d", d->attempts);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof line, "X-Rollcall-Signature: %s", sig);
    hdr = curl_slist_append(hdr, line);
    answer a = {.len = 0};
    guard g = {.refused = ""};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    /* Only http and https, and a redirect is an answer, never followed. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)n->cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)n->cfg.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_start);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &g);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    *http = (int)code;
    if (rc == CURLE_WRITE_ERROR && code >= 200 && code < 300) return 1; /* a long answer */
    if (rc != CURLE_OK) {
        snprintf(error, cap, "%s",
                 g.refused[0] ? g.refused
                 : cerr[0]    ? cerr
                              : curl_easy_strerror(rc));
        return 0;
    }
    if (code >= 200 && code < 300) return 1;
    for (char *p = a.text; *p; p++)
        if ((unsigned char)*p < ' ') *p = ' ';
    if (code >= 300 && code < 400)
        snprintf(error, cap, "answered %ld, a redirect (redirects are not followed)", code);
    else
        snprintf(error, cap, "answered %ld%s%s", code, a.len ? ": " : "", a.text);
    return 0;
}

/* Deliver claimed row d and record what happened. */
static void deliver(notify *n, store_delivery *d)
{
    rc_error err;
    store_webhook w;
    if (store_webhook_get(n->s, d->webhook_id, &w, &err) != RC_OK)
        return; /* deleted meanwhile: its deliveries went with it */
    char shown[300], error[256] = "";
    notify_url_display(&w, shown, sizeof shown);
    size_t len = 0;
    char *body = notify_render(&w, d, &len);
    int http = 0, ok = 0;
    if (body)
        ok = post(n, &w, d, body, len, error, sizeof error, &http);
    else
        snprintf(error, sizeof error, "out of memory building the request");
    free(body);
    const char *status = ok ? "delivered" : d->attempts >= n->cfg.max_attempts ? "dead" : "pending";
    int64_t next = 0;
    if (!ok && !strcmp(status, "pending")) {
        double u = randombytes_uniform(1000000) / 1e6;
        next = rc_unix_ms() + notify_backoff_ms(&n->cfg, d->attempts, u);
    }
    rc_status st = store_delivery_finish(n->s, d, status, next, http, error, &err);
    if (st != RC_OK) {
        rc_log(RC_LOG_WARN, "webhook %lld delivery %lld: %s", (long long)w.id, (long long)d->id,
               err.msg);
        return;
    }
    if (ok)
        rc_log(RC_LOG_DEBUG, "webhook %lld delivery %lld (%s) delivered to %s", (long long)w.id,
               (long long)d->id, d->kind, shown);
    else
        rc_log(RC_LOG_WARN, "webhook %lld delivery %lld (%s) to %s failed (attempt %d of %d): %s%s",
               (long long)w.id, (long long)d->id, d->kind, shown, d->attempts, n->cfg.max_attempts,
               error, !strcmp(status, "dead") ? "; giving up" : "");
}

/* ---- the worker threads -------------------------------------------------- */

static void wait_ms(notify *n, int64_t ms, unsigned gen)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&n->mu);
    while (!n->stopping && n->wake_gen == gen)
        if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT) break;
    pthread_mutex_unlock(&n->mu);
}

/* Once an hour, one worker deletes deliveries older than keep_ms. */
static void purge_old(notify *n, int64_t now)
{
    pthread_mutex_lock(&n->mu);
    int due = now - n->purged_ms >= 3600000;
    if (due) n->purged_ms = now;
    pthread_mutex_unlock(&n->mu);
    if (!due) return;
    int64_t removed = 0;
    rc_error err;
    if (store_delivery_purge(n->s, now - n->cfg.keep_ms, &removed, &err) != RC_OK)
        rc_log(RC_LOG_WARN, "webhook dispatcher: deleting old deliveries: %s", err.msg);
    else if (removed)
        rc_log(RC_LOG_INFO, "webhook dispatcher: deleted %lld deliveries older than %lld days",
               (long long)removed, (long long)(n->cfg.keep_ms / 86400000));
}

static void *worker(void *arg)
{
    notify *n = arg;
    int64_t last_warn = 0;
    for (;;) {
        pthread_mutex_lock(&n->mu);
        int stop = n->stopping;
        unsigned gen = n->wake_gen;
        pthread_mutex_unlock(&n->mu);
        if (stop) break;
        int64_t now = rc_unix_ms();
        store_delivery *ds = NULL;
        size_t k = 0;
        rc_error err;
        rc_status st = store_delivery_claim(n->s, now, n->cfg.lease_ms, 1, &ds, &k, &err);
        if (st == RC_OK && k > 0) {
            deliver(n, &ds[0]);
            free(ds);
            continue;
        }
        free(ds);
        purge_old(n, now);
        int64_t wait = n->cfg.poll_ms, due = 0;
        if (st == RC_OK) st = store_delivery_next_due(n->s, &due, &err);
        if (st != RC_OK && now - last_warn > 60000) { /* e.g. the database restarting */
            rc_log(RC_LOG_WARN, "webhook dispatcher: %s", err.msg);
            last_warn = now;
        }
        if (st == RC_OK && due > 0 && due - now < wait) wait = due - now < 5 ? 5 : due - now;
        wait_ms(n, wait, gen);
    }
    return NULL;
}

rc_status notify_start(store *s, const notify_config *cfg, notify **out, rc_error *err)
{
    if (sodium_init() < 0) return rc_fail(err, RC_ERR_INTERNAL, "libsodium failed to start");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return rc_fail(err, RC_ERR_INTERNAL, "libcurl failed to start");
    notify *n = calloc(1, sizeof *n);
    if (!n) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    n->s = s;
    if (cfg) n->cfg = *cfg;
    notify_config_default(&n->cfg);
    pthread_mutex_init(&n->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    n->threads = calloc(n->cfg.workers, sizeof *n->threads);
    if (!n->threads) {
        notify_stop(n);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    for (unsigned i = 0; i < n->cfg.workers; i++) {
        if (pthread_create(&n->threads[i], NULL, worker, n) != 0) {
            notify_stop(n);
            return rc_fail(err, RC_ERR_INTERNAL, "could not start a webhook delivery thread");
        }
        n->nthreads++;
    }
    *out = n;
    return RC_OK;
}

void notify_stop(notify *n)
{
    if (!n) return;
    pthread_mutex_lock(&n->mu);
    n->stopping = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    for (unsigned i = 0; i < n->nthreads; i++) pthread_join(n->threads[i], NULL);
    free(n->threads);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

void notify_wake(notify *n)
{
    if (!n) return;
    pthread_mutex_lock(&n->mu);
    n->wake_gen++;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* ---- queueing ------------------------------------------------------------ */

rc_status notify_emit(store *s, const char *kind, int64_t person_id, const json_t *data,
                      int64_t *queued, rc_error *err)
{
    if (!json_is_object(data))
        return rc_fail(err, RC_ERR_INVALID, "a notification's data must be a JSON object");
    char *payload = json_dumps(data, JSON_COMPACT);
    if (!payload) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    rc_status st = store_delivery_enqueue(s, kind, NULL, person_id, 0, payload, queued, err);
    free(payload);
    return st;
}

rc_status notify_test(store *s, int64_t id, int64_t *delivery_id, rc_error *err)
{
    store_webhook w;
    rc_status st = store_webhook_get(s, id, &w, err);
    if (st != RC_OK) return st;
    if (!w.enabled)
        return rc_fail(err, RC_ERR_CONFLICT, "webhook %lld is disabled; enable it to test it",
                       (long long)id);
    json_t *data =
        json_pack("{s:s, s:I, s:s, s:I}", "message", "Rollcall test notification", "webhook_id",
                  (json_int_t)id, "name", w.name, "ts_ms", (json_int_t)rc_unix_ms());
    char *payload = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!payload) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    st = store_delivery_enqueue_one(s, id, "test", payload, delivery_id, err);
    free(payload);
    return st;
}

/* Whether camera_id may queue an unknown face now (and note that it did). */
static int unknown_face_due(notify *n, int64_t camera_id, int64_t now)
{
    pthread_mutex_lock(&n->mu);
    size_t slot = n->nseen, oldest = 0;
    for (size_t i = 0; i < n->nseen; i++) {
        if (n->seen[i].camera_id == camera_id) slot = i;
        if (n->seen[i].last_ms < n->seen[oldest].last_ms) oldest = i;
    }
    int due = 1;
    if (slot < n->nseen) {
        due = now - n->seen[slot].last_ms >= n->cfg.unknown_face_gap_ms;
    } else if (n->nseen < THROTTLE_SLOTS) {
        n->nseen++;
    } else {
        slot = oldest;
    }
    if (due) {
        n->seen[slot].camera_id = camera_id;
        n->seen[slot].last_ms = now;
    }
    pthread_mutex_unlock(&n->mu);
    return due;
}

rc_status notify_unknown_face(notify *n, int64_t camera_id, const char *camera_name,
                              double confidence, double liveness, int *queued, rc_error *err)
{
    if (queued) *queued = 0;
    if (!n) return RC_OK;
    int64_t now = rc_unix_ms();
    if (!unknown_face_due(n, camera_id, now)) return RC_OK;
    store_camera cam;
    if (!camera_name && camera_id && store_camera_get(n->s, camera_id, &cam, NULL) == RC_OK)
        camera_name = cam.name;
    json_t *data = json_pack("{s:I, s:s, s:I, s:f, s:f}", "camera_id", (json_int_t)camera_id,
                             "camera", camera_name ? camera_name : "", "ts_ms", (json_int_t)now,
                             "confidence", confidence, "liveness", liveness);
    rc_status st = notify_emit(n->s, "unknown_face", 0, data, NULL, err);
    json_decref(data);
    if (st == RC_OK) {
        if (queued) *queued = 1;
        notify_wake(n);
    }
    return st;
}

rc_status notify_camera_down(notify *n, int64_t camera_id, const char *camera_name,
                             const char *reason, rc_error *err)
{
    if (!n) return RC_OK;
    store_camera cam;
    if (!camera_name && camera_id && store_camera_get(n->s, camera_id, &cam, NULL) == RC_OK)
        camera_name = cam.name;
    json_t *data = json_pack("{s:I, s:s, s:s, s:I}", "camera_id", (json_int_t)camera_id, "camera",
                             camera_name ? camera_name : "", "reason", reason ? reason : "",
                             "ts_ms", (json_int_t)rc_unix_ms());
    rc_status st = notify_emit(n->s, "camera_down", 0, data, NULL, err);
    json_decref(data);
    if (st == RC_OK) notify_wake(n);
    return st;
}

/* Whether camera_id has now been down long enough to say so (once). */
static int camera_down_due(notify *n, int64_t camera_id, int up, int off, int64_t now)
{
    pthread_mutex_lock(&n->mu);
    size_t slot = n->ncams;
    for (size_t i = 0; i < n->ncams; i++)
        if (n->cams[i].camera_id == camera_id) slot = i;
    if (slot == n->ncams) {
        if (n->ncams == THROTTLE_SLOTS) { /* more cameras than slots: reuse the first */
            slot = 0;
        } else {
            n->ncams++;
        }
        n->cams[slot].camera_id = camera_id;
        n->cams[slot].down_since = 0;
        n->cams[slot].said = 0;
    }
    int due = 0;
    if (up || off) {
        n->cams[slot].down_since = 0;
        n->cams[slot].said = 0;
    } else if (!n->cams[slot].down_since) {
        n->cams[slot].down_since = now;
    } else if (!n->cams[slot].said && now - n->cams[slot].down_since >= n->cfg.camera_down_ms) {
        n->cams[slot].said = 1;
        due = 1;
    }
    pthread_mutex_unlock(&n->mu);
    return due;
}

rc_status notify_camera_state(notify *n, int64_t camera_id, const char *camera_name, int up,
                              int off, const char *error, int64_t now_ms, int *queued,
                              rc_error *err)
{
    if (queued) *queued = 0;
    if (!n || !camera_down_due(n, camera_id, up, off, now_ms)) return RC_OK;
    rc_status st =
        notify_camera_down(n, camera_id, camera_name, error && *error ? error : "no frames", err);
    if (st == RC_OK && queued) *queued = 1;
    return st;
}
