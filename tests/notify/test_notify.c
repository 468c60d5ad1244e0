/*
 * test_notify.c — outgoing webhooks end to end on a real database (SQLite,
 * or PostgreSQL under tests/lib/pg.sh) and a real HTTP receiver on
 * 127.0.0.1: payload presets and signatures, webhook validation, the
 * transactional outbox of attendance events, delivery with retries,
 * backoff and dead-lettering, redirects not followed, durability across a
 * killed process, lease expiry, two dispatchers sharing one database, and
 * the unknown-face throttle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/testdb.h"
#include "attendance/att.h"
#include "notify/notify.h"
#include "store/store.h"

#define OK(expr)                                                                                   \
    do {                                                                                           \
        rc_error e_;                                                                               \
        rc_status s_ = (expr);                                                                     \
        if (s_ != RC_OK) fail_msg("%s: %s (%s)", #expr, e_.msg, rc_status_name(s_));               \
    } while (0)

/* ---- a loopback HTTP receiver ------------------------------------------- */

#define MAX_REQS 128
typedef struct {
    char head[4096];
    char *body;
    int64_t at_ms;
} got_req;

typedef struct {
    int fd;
    uint16_t port;
    pthread_t th;
    pthread_mutex_t mu;
    int stop;
    int answers[32]; /* status for request i; 0 (or beyond): 200 */
    int hold_first;  /* never answer the first request (keep it open) */
    int big;         /* answer 200 with a 4 MB body */
    int held_fd;
    got_req reqs[MAX_REQS];
    size_t nreq;
} receiver;

static void read_request(receiver *rv, int c)
{
    char buf[65536];
    buf[0] = 0;
    size_t len = 0;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *end = NULL;
    while (len < sizeof buf - 1 && !(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t k = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = 0;
    }
    if (!end) return;
    size_t head = (size_t)(end - buf) + 4, want = 0;
    for (char *p = buf; p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "Content-Length:", 15) == 0) want = strtoul(p + 15, NULL, 10);
    while (len < head + want && len < sizeof buf - 1) {
        ssize_t k = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (k <= 0) break;
        len += (size_t)k;
    }
    buf[len] = 0;
    pthread_mutex_lock(&rv->mu);
    size_t i = rv->nreq;
    int status = i < 32 && rv->answers[i] ? rv->answers[i] : 200;
    int hold = i == 0 && rv->hold_first;
    if (i < MAX_REQS) {
        snprintf(rv->reqs[i].head, sizeof rv->reqs[i].head, "%.*s", (int)head, buf);
        rv->reqs[i].body = strdup(buf + head);
        rv->reqs[i].at_ms = rc_unix_ms();
        rv->nreq++;
    }
    pthread_mutex_unlock(&rv->mu);
    if (hold) {
        rv->held_fd = c;
        return;
    }
    if (rv->big) {
        static char junk[65536];
        memset(junk, 'x', sizeof junk);
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n";
        int sent = send(c, h, strlen(h), MSG_NOSIGNAL) > 0;
        for (int k = 0; sent && k < 64; k++) sent = send(c, junk, sizeof junk, MSG_NOSIGNAL) > 0;
        close(c);
        return;
    }
    char out[256];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d X\r\n%sContent-Length: 8\r\nConnection: close\r\n\r\nanswered",
                     status, status == 302 ? "Location: file:///etc/passwd\r\n" : "");
    if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0) {
    }
    close(c);
}

static void *receiver_main(void *arg)
{
    receiver *rv = arg;
    for (;;) {
        pthread_mutex_lock(&rv->mu);
        int stop = rv->stop;
        pthread_mutex_unlock(&rv->mu);
        if (stop) break;
        struct pollfd p = {.fd = rv->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(rv->fd, NULL, NULL);
        if (c >= 0) read_request(rv, c);
    }
    return NULL;
}

static receiver *receiver_start(void)
{
    receiver *rv = calloc(1, sizeof *rv);
    rv->held_fd = -1;
    pthread_mutex_init(&rv->mu, NULL);
    rv->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(rv->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(rv->fd, 64), 0);
    socklen_t al = sizeof a;
    getsockname(rv->fd, (struct sockaddr *)&a, &al);
    rv->port = ntohs(a.sin_port);
    pthread_create(&rv->th, NULL, receiver_main, rv);
    return rv;
}

static void receiver_stop(receiver *rv)
{
    pthread_mutex_lock(&rv->mu);
    rv->stop = 1;
    pthread_mutex_unlock(&rv->mu);
    pthread_join(rv->th, NULL);
    close(rv->fd);
    if (rv->held_fd >= 0) close(rv->held_fd);
    for (size_t i = 0; i < rv->nreq; i++) free(rv->reqs[i].body);
    free(rv);
}

static size_t receiver_count(receiver *rv)
{
    pthread_mutex_lock(&rv->mu);
    size_t n = rv->nreq;
    pthread_mutex_unlock(&rv->mu);
    return n;
}

/* Wait (at most 20 s) until the receiver has `want` requests. */
static size_t wait_requests(receiver *rv, size_t want)
{
    for (int i = 0; i < 2000 && receiver_count(rv) < want; i++) usleep(10000);
    return receiver_count(rv);
}

/* The value of header `name` in request head (into out). */
static int header(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, v);
            return 1;
        }
    }
    return 0;
}

/* Every request the receiver got names a different delivery. */
static void each_delivery_once(receiver *rv)
{
    int64_t seen[MAX_REQS];
    for (size_t i = 0; i < rv->nreq; i++) {
        char v[32];
        assert_true(header(rv->reqs[i].head, "X-Rollcall-Delivery", v, sizeof v));
        seen[i] = atoll(v);
        for (size_t j = 0; j < i; j++) assert_true(seen[j] != seen[i]);
    }
}

/* ---- fixtures ------------------------------------------------------------ */

typedef struct {
    testdb db;
    receiver *rv;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || !testdb_open(&f->db)) {
        free(f);
        return -1;
    }
    f->rv = receiver_start();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    receiver_stop(f->rv);
    testdb_free(&f->db);
    free(f);
    return 0;
}

static int64_t add_person(store *s, const char *ext, const char *name)
{
    store_person p = {.active = 1};
    snprintf(p.external_id, sizeof p.external_id, "%s", ext);
    snprintf(p.name, sizeof p.name, "%s", name);
    OK(store_person_create(s, &p, &e_));
    return p.id;
}

static int64_t add_webhook(store *s, const receiver *rv, const char *events, const char *preset,
                           int64_t group_id, int enabled)
{
    store_webhook w = {.group_id = group_id, .enabled = enabled};
    snprintf(w.name, sizeof w.name, "hook %s", events);
    snprintf(w.url, sizeof w.url, "http://127.0.0.1:%u/hook", rv ? rv->port : 9);
    snprintf(w.events, sizeof w.events, "%s", events);
    snprintf(w.secret, sizeof w.secret, "whsec_test");
    snprintf(w.preset, sizeof w.preset, "%s", preset);
    if (!strcmp(preset, "telegram")) snprintf(w.chat_id, sizeof w.chat_id, "-100123");
    OK(store_webhook_create(s, &w, &e_));
    return w.id;
}

static store_event entry_event(int64_t person, const char *kind, const char *status)
{
    store_event e = {
        .person_id = person, .ts_ms = 1764835200000, .confidence = 0.8, .liveness = 0.99};
    snprintf(e.kind, sizeof e.kind, "%s", kind);
    snprintf(e.status, sizeof e.status, "%s", status);
    snprintf(e.slot_day, sizeof e.slot_day, "2025-12-04");
    return e;
}

/* Fast retries for the tests. */
static notify_config quick(void)
{
    notify_config c = {.workers = 2,
                       .timeout_ms = 3000,
                       .backoff_base_ms = 200,
                       .backoff_max_ms = 2000,
                       .poll_ms = 50,
                       .max_attempts = 5};
    return c;
}

static store_delivery *deliveries(store *s, int64_t hook, size_t *n)
{
    store_delivery *d = NULL;
    int64_t total = 0;
    OK(store_delivery_list(s, hook, (store_page){0, 0}, &d, n, &total, &e_));
    assert_int_equal((int64_t)*n, total);
    return d;
}

/* Wait (at most 20 s) until delivery id has left "pending"; returns it. */
static store_delivery settled(store *s, int64_t id)
{
    store_delivery d;
    for (int i = 0; i < 2000; i++) {
        OK(store_delivery_get(s, id, &d, &e_));
        if (strcmp(d.status, "pending") != 0) break;
        usleep(10000);
    }
    return d;
}

/* Wait for `requests` at the receiver, then until webhook hook's only
 * delivery has settled; returns that delivery. */
static store_delivery only_delivery(fixture *f, int64_t hook, size_t requests)
{
    assert_int_equal(wait_requests(f->rv, requests), requests);
    size_t k;
    store_delivery *d = deliveries(f->db.s, hook, &k);
    assert_int_equal(k, 1);
    store_delivery done = settled(f->db.s, d[0].id);
    free(d);
    return done;
}

/* Queue one camera_down for a new generic webhook, run a dispatcher with
 * config c until the receiver has had `requests` requests and the delivery
 * has settled, give a request that should not come time to come, and return
 * the delivery. */
static store_delivery send_camera_down(fixture *f, notify_config c, size_t requests)
{
    int64_t hook = add_webhook(f->db.s, f->rv, "camera_down", "generic", 0, 1);
    notify *n = NULL;
    OK(notify_start(f->db.s, &c, &n, &e_));
    OK(notify_camera_down(n, 0, "Gate", "connection refused", &e_));
    store_delivery done = only_delivery(f, hook, requests);
    usleep(300000);
    notify_stop(n);
    return done;
}

/* ---- pure parts ---------------------------------------------------------- */

static void signature_is_hmac_sha256_of_time_dot_body(void **state)
{
    (void)state;
    char sig[NOTIFY_SIGNATURE_MAX];
    notify_sign("whsec_test", 1700000000, "{\"a\":1}", 7, sig);
    /* python3: hmac.new(b'whsec_test', b'1700000000.{"a":1}', sha256) */
    assert_string_equal(
        sig, "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

static void presets_render_generic_slack_and_telegram(void **state)
{
    (void)state;
    store_delivery d = {.id = 42, .webhook_id = 7, .created_ms = 1764835200123};
    snprintf(d.kind, sizeof d.kind, "entry");
    snprintf(d.payload, sizeof d.payload,
             "{\"event_id\":9,\"kind\":\"entry\",\"status\":\"late\",\"person\":{\"id\":3,"
             "\"name\":\"Ada Lovelace\",\"external_id\":\"S1\"},\"ts_ms\":1764835200000,"
             "\"camera\":\"Front door\"}");
    store_webhook w = {.id = 7};
    snprintf(w.preset, sizeof w.preset, "generic");
    size_t len = 0;
    char *body = notify_render(&w, &d, &len);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(len, strlen(body));
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "entry");
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2025-12-04T08:00:00.123Z");
    json_t *data = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_object_get(data, "status")), "late");
    assert_string_equal(json_string_value(json_object_get(json_object_get(data, "person"), "name")),
                        "Ada Lovelace");
    json_decref(j);
    free(body);

    snprintf(w.preset, sizeof w.preset, "slack");
    body = notify_render(&w, &d, &len);
    j = json_loads(body, 0, NULL);
    assert_int_equal(json_object_size(j), 1); /* Slack incoming webhook: {"text": ...} */
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "Entry: Ada Lovelace (S1), late, at Front door, 2025-12-04 08:00:00 UTC");
    json_decref(j);
    free(body);

    snprintf(w.preset, sizeof w.preset, "telegram");
    snprintf(w.chat_id, sizeof w.chat_id, "-100123");
    body = notify_render(&w, &d, &len);
    j = json_loads(body, 0, NULL);
    assert_int_equal(json_object_size(j), 2); /* sendMessage: {"chat_id", "text"} */
    assert_string_equal(json_string_value(json_object_get(j, "chat_id")), "-100123");
    assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "Ada Lovelace"));
    json_decref(j);
    free(body);

    snprintf(d.kind, sizeof d.kind, "camera_down");
    snprintf(d.payload, sizeof d.payload,
             "{\"camera\":\"Gate\",\"reason\":\"connection refused\",\"ts_ms\":1764835200000}");
    body = notify_render(&w, &d, &len);
    j = json_loads(body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "Camera Gate is down: connection refused, 2025-12-04 08:00:00 UTC");
    json_decref(j);
    free(body);
}

static void backoff_doubles_with_jitter_up_to_the_cap(void **state)
{
    (void)state;
    notify_config c = {.backoff_base_ms = 1000, .backoff_max_ms = 10000};
    assert_int_equal(notify_backoff_ms(&c, 1, 0.0), 500);
    assert_int_equal(notify_backoff_ms(&c, 1, 0.999999), 999);
    assert_int_equal(notify_backoff_ms(&c, 2, 0.0), 1000);
    assert_int_equal(notify_backoff_ms(&c, 3, 0.0), 2000);
    assert_int_equal(notify_backoff_ms(&c, 4, 0.0), 4000);
    assert_int_equal(notify_backoff_ms(&c, 5, 0.0), 5000);  /* 16 s capped at 10 s */
    assert_int_equal(notify_backoff_ms(&c, 60, 0.0), 5000); /* no overflow */
    assert_true(notify_backoff_ms(&c, 60, 0.5) <= 10000);
}

static void shown_urls_hide_credentials_and_tokens(void **state)
{
    (void)state;
    store_webhook w = {0};
    char out[300];
    snprintf(w.preset, sizeof w.preset, "generic");
    snprintf(w.url, sizeof w.url, "https://user:pw@hooks.example.org:8443/in/x?token=abc");
    notify_url_display(&w, out, sizeof out);
    assert_string_equal(out, "https://hooks.example.org:8443/in/x");
    snprintf(w.preset, sizeof w.preset, "telegram");
    snprintf(w.url, sizeof w.url, "https://api.telegram.org/bot123:SECRET/sendMessage");
    notify_url_display(&w, out, sizeof out);
    assert_string_equal(out, "https://api.telegram.org/…");
}

/* ---- the store side ------------------------------------------------------ */

static void webhooks_are_validated(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    store_webhook w = {.enabled = 1};
    snprintf(w.url, sizeof w.url, "ftp://example.org/x");
    snprintf(w.events, sizeof w.events, "entry");
    snprintf(w.secret, sizeof w.secret, "k");
    rc_error err;
    assert_int_equal(store_webhook_create(s, &w, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "http"));
    snprintf(w.url, sizeof w.url, "file:///etc/passwd");
    assert_int_equal(store_webhook_create(s, &w, &err), RC_ERR_INVALID);
    snprintf(w.url, sizeof w.url, "http://example.org/a b");
    assert_int_equal(store_webhook_create(s, &w, &err), RC_ERR_INVALID);
    snprintf(w.url, sizeof w.url, "https://example.org/x");
    snprintf(w.events, sizeof w.events, "entry,party");
    assert_int_equal(store_webhook_create(s, &w, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "party"));
    snprintf(w.events, sizeof w.events, "entry,late");
    snprintf(w.preset, sizeof w.preset, "telegram");
    assert_int_equal(store_webhook_create(s, &w, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "chat_id"));
    snprintf(w.preset, sizeof w.preset, "generic");
    w.group_id = 999;
    assert_int_equal(store_webhook_create(s, &w, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "group"));
    w.group_id = 0;
    OK(store_webhook_create(s, &w, &e_));
    store_webhook got;
    OK(store_webhook_get(s, w.id, &got, &e_));
    assert_string_equal(got.events, "entry,late");
    assert_string_equal(got.preset, "generic");
    got.enabled = 0;
    OK(store_webhook_update(s, &got, &e_));
    OK(store_webhook_get(s, w.id, &got, &e_));
    assert_int_equal(got.enabled, 0);
    OK(store_webhook_delete(s, w.id, &e_));
    assert_int_equal(store_webhook_get(s, w.id, &got, &err), RC_ERR_NOT_FOUND);
    /* Deleting a group deletes the webhooks limited to it (never widens them). */
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "night shift");
    OK(store_group_create(s, &g, &e_));
    int64_t hook = add_webhook(s, NULL, "entry", "generic", g.id, 1);
    OK(store_group_delete(s, g.id, &e_));
    assert_int_equal(store_webhook_get(s, hook, &got, &err), RC_ERR_NOT_FOUND);
}

static void an_event_queues_its_deliveries_in_its_own_transaction(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t ada = add_person(s, "S1", "Ada Lovelace");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "other");
    OK(store_group_create(s, &g, &e_));
    int64_t wants_entry = add_webhook(s, f->rv, "entry", "generic", 0, 1);
    int64_t wants_late = add_webhook(s, f->rv, "late", "generic", 0, 1);
    int64_t wants_exit = add_webhook(s, f->rv, "exit,unknown_face", "generic", 0, 1);
    int64_t other_group = add_webhook(s, f->rv, "entry", "generic", g.id, 1);
    int64_t disabled = add_webhook(s, f->rv, "entry", "generic", 0, 0);

    store_event e = entry_event(ada, "entry", "late");
    OK(store_event_insert(s, &e, &e_));
    size_t n;
    store_delivery *d = deliveries(s, 0, &n);
    assert_int_equal(n, 2); /* wants_entry, and wants_late: the entry is late */
    for (size_t i = 0; i < n; i++) {
        assert_true(d[i].webhook_id == wants_entry || d[i].webhook_id == wants_late);
        assert_string_equal(d[i].kind, "entry");
        assert_string_equal(d[i].status, "pending");
        assert_int_equal(d[i].event_id, e.id);
        assert_int_equal(d[i].person_id, ada);
        json_t *p = json_loads(d[i].payload, 0, NULL);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(p, "person"), "name")),
            "Ada Lovelace");
        json_decref(p);
    }
    free(d);
    (void)wants_exit;
    (void)disabled;

    /* A member of the webhook's group is heard by it. */
    OK(store_group_add_member(s, g.id, ada, &e_));
    store_event e2 = entry_event(ada, "entry", "on_time");
    OK(store_event_insert(s, &e2, &e_));
    d = deliveries(s, other_group, &n);
    assert_int_equal(n, 1);
    free(d);

    /* Rolled back with the event: no event, no delivery. */
    d = deliveries(s, 0, &n);
    size_t before = n;
    free(d);
    OK(store_tx_begin(s, 1, &e_));
    store_event e3 = entry_event(ada, "exit", "outside");
    OK(store_event_insert(s, &e3, &e_));
    d = deliveries(s, 0, &n);
    assert_int_equal(n, before + 1); /* wants_exit, inside the transaction */
    free(d);
    rc_error err;
    assert_int_equal(store_tx_end(s, RC_ERR_INTERNAL, &err), RC_ERR_INTERNAL);
    d = deliveries(s, 0, &n);
    assert_int_equal(n, before);
    free(d);
    assert_int_equal(store_event_get(s, e3.id, &e3, &err), RC_ERR_NOT_FOUND);

    /* A person's deliveries go with the person. */
    OK(store_person_delete(s, ada, "test", &e_));
    d = deliveries(s, 0, &n);
    assert_int_equal(n, 0);
    free(d);
}

static void upgrading_a_version_2_database_adds_the_queue(void **state)
{
    (void)state;
    testdb t;
    assert_int_equal(testdb_prepare(&t), 0);
    OK(store_open(t.url, STORE_OPEN_NO_MIGRATE, &t.s, &e_));
    int applied = 0;
    OK(store_migrate_to(t.s, 2, &applied, &e_));
    assert_int_equal(applied, 2);
    /* A person as version 2 kept them (the store of today writes columns
     * later versions added). */
    assert_int_equal(testdb_sql(t.url, "INSERT INTO persons (external_id, name, first_name, "
                                       "created_ms, updated_ms) VALUES ('S1', 'Ada', 'Ada', 1, 1)"),
                     0);
    OK(store_migrate(t.s, &applied, &e_));
    store_person pa;
    OK(store_person_get_by_external(t.s, "S1", &pa, &e_));
    int64_t ada = pa.id;
    assert_true(applied >= 1);
    int64_t hook = add_webhook(t.s, NULL, "entry", "generic", 0, 1);
    store_event e = entry_event(ada, "entry", "on_time");
    OK(store_event_insert(t.s, &e, &e_));
    size_t n;
    store_delivery *d = deliveries(t.s, hook, &n);
    assert_int_equal(n, 1);
    free(d);
    testdb_free(&t);
    if (testdb_is_pg()) { /* the fixture's database was this one too */
        fixture *f = *state;
        store_close(f->db.s);
        assert_int_equal(testdb_reset_pg(f->db.url), 0);
        OK(store_open(f->db.url, 0, &f->db.s, &e_));
    }
}

/* ---- delivery ------------------------------------------------------------ */

static void an_event_is_delivered_signed(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t ada = add_person(s, "S1", "Ada Lovelace");
    int64_t hook = add_webhook(s, f->rv, "entry", "generic", 0, 1);
    store_event e = entry_event(ada, "entry", "on_time");
    OK(store_event_insert(s, &e, &e_));
    notify_config c = quick();
    notify *n = NULL;
    OK(notify_start(s, &c, &n, &e_));
    store_delivery done = only_delivery(f, hook, 1);
    notify_stop(n);
    assert_string_equal(done.status, "delivered");
    assert_int_equal(done.attempts, 1);
    assert_int_equal(done.last_http, 200);

    got_req *r = &f->rv->reqs[0];
    assert_true(strncmp(r->head, "POST /hook HTTP/1.1", 19) == 0);
    char v[256], want[NOTIFY_SIGNATURE_MAX];
    assert_true(header(r->head, "X-Rollcall-Event", v, sizeof v));
    assert_string_equal(v, "entry");
    assert_true(header(r->head, "X-Rollcall-Delivery", v, sizeof v));
    assert_int_equal(atoll(v), done.id);
    assert_true(header(r->head, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    assert_true(header(r->head, "X-Rollcall-Signature", v, sizeof v));
    notify_sign("whsec_test", atoll(v + 2), r->body, strlen(r->body), want);
    assert_string_equal(v, want);
    notify_sign("wrong secret", atoll(v + 2), r->body, strlen(r->body), want);
    assert_string_not_equal(v, want);
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    json_t *data = json_object_get(j, "data");
    assert_int_equal(json_integer_value(json_object_get(data, "event_id")), e.id);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(data, "person"), "external_id")), "S1");
    json_decref(j);
}

static void a_failing_receiver_is_retried_with_backoff(void **state)
{
    fixture *f = *state;
    f->rv->answers[0] = 500;
    f->rv->answers[1] = 503;
    notify_config c = quick();
    store_delivery done = send_camera_down(f, c, 3);
    assert_string_equal(done.status, "delivered");
    assert_int_equal(done.attempts, 3);
    /* The waits: at least half of 200 ms, then half of 400 ms (jitter). */
    int64_t gap1 = f->rv->reqs[1].at_ms - f->rv->reqs[0].at_ms;
    int64_t gap2 = f->rv->reqs[2].at_ms - f->rv->reqs[1].at_ms;
    print_message("# retry gaps: %lld ms, %lld ms\n", (long long)gap1, (long long)gap2);
    assert_true(gap1 >= 100);
    assert_true(gap2 >= 200);
    char v[64];
    assert_true(header(f->rv->reqs[2].head, "X-Rollcall-Attempt", v, sizeof v));
    assert_string_equal(v, "3");
    /* The same delivery every time. */
    char id0[32], id2[32];
    header(f->rv->reqs[0].head, "X-Rollcall-Delivery", id0, sizeof id0);
    header(f->rv->reqs[2].head, "X-Rollcall-Delivery", id2, sizeof id2);
    assert_string_equal(id0, id2);
}

static void the_last_failure_makes_a_delivery_dead(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 32; i++) f->rv->answers[i] = 500;
    notify_config c = quick();
    c.max_attempts = 3;
    c.backoff_base_ms = 50;
    store_delivery done = send_camera_down(f, c, 3);
    assert_int_equal(receiver_count(f->rv), 3);
    assert_string_equal(done.status, "dead");
    assert_int_equal(done.attempts, 3);
    assert_int_equal(done.last_http, 500);
    assert_non_null(strstr(done.last_error, "answered 500: answered"));
    /* An administrator sends it again: pending now, attempts from zero. */
    rc_error err;
    assert_int_equal(store_delivery_retry(f->db.s, done.webhook_id + 1, done.id, &err),
                     RC_ERR_NOT_FOUND);
    OK(store_delivery_retry(f->db.s, done.webhook_id, done.id, &e_));
    store_delivery again;
    OK(store_delivery_get(f->db.s, done.id, &again, &e_));
    assert_string_equal(again.status, "pending");
    assert_int_equal(again.attempts, 0);
    assert_true(again.next_ms <= rc_unix_ms());
    assert_int_equal(store_delivery_retry(f->db.s, done.webhook_id, done.id, &err),
                     RC_ERR_CONFLICT);
}

static void redirects_are_not_followed(void **state)
{
    fixture *f = *state;
    f->rv->answers[0] = 302; /* Location: file:///etc/passwd */
    notify_config c = quick();
    c.max_attempts = 1;
    store_delivery done = send_camera_down(f, c, 1);
    assert_string_equal(done.status, "dead");
    assert_int_equal(done.last_http, 302);
    assert_non_null(strstr(done.last_error, "redirect"));
}

static void a_long_answer_is_not_read_to_the_end(void **state)
{
    fixture *f = *state;
    f->rv->big = 1;
    notify_config c = quick();
    store_delivery done = send_camera_down(f, c, 1);
    assert_string_equal(done.status, "delivered");
    assert_int_equal(done.attempts, 1);
}

/* A child process records events (their deliveries are queued with them)
 * and is killed before any dispatcher runs; a new dispatcher delivers each
 * exactly once. */
static void queued_deliveries_survive_a_killed_process(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t ada = add_person(s, "S1", "Ada Lovelace");
    int64_t hook = add_webhook(s, f->rv, "entry", "generic", 0, 1);
    enum { EVENTS = 6 };
    pid_t pid = fork();
    if (pid == 0) {
        store *cs = NULL;
        if (store_open(f->db.url, 0, &cs, NULL) != RC_OK) _exit(2);
        for (int i = 0; i < EVENTS; i++) {
            store_event e = entry_event(ada, "entry", "on_time");
            e.ts_ms += i * 60000;
            if (store_event_insert(cs, &e, NULL) != RC_OK) _exit(3);
        }
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int wst = 0;
    waitpid(pid, &wst, 0);
    assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
    notify_config c = quick();
    notify *n = NULL;
    OK(notify_start(s, &c, &n, &e_));
    assert_int_equal(wait_requests(f->rv, EVENTS), EVENTS);
    usleep(400000);
    notify_stop(n);
    assert_int_equal(receiver_count(f->rv), EVENTS);
    each_delivery_once(f->rv);
    size_t k;
    store_delivery *d = deliveries(s, hook, &k);
    assert_int_equal(k, EVENTS);
    for (size_t i = 0; i < k; i++) assert_string_equal(d[i].status, "delivered");
    free(d);
}

/* A dispatcher dies holding a claim (the receiver never answered); once its
 * lease runs out another dispatcher delivers the row. */
static void a_dead_dispatchers_claim_is_taken_over(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    f->rv->hold_first = 1;
    int64_t hook = add_webhook(s, f->rv, "camera_down", "generic", 0, 1);
    json_t *data = json_pack("{s:s}", "camera", "Gate");
    OK(notify_emit(s, "camera_down", 0, data, NULL, &e_));
    json_decref(data);
    pid_t pid = fork();
    if (pid == 0) {
        store *cs = NULL;
        if (store_open(f->db.url, 0, &cs, NULL) != RC_OK) _exit(2);
        notify_config c = quick();
        c.workers = 1;
        c.lease_ms = 1000;
        c.timeout_ms = 60000;
        notify *n = NULL;
        if (notify_start(cs, &c, &n, NULL) != RC_OK) _exit(3);
        pause();
        _exit(4);
    }
    assert_int_equal(wait_requests(f->rv, 1), 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    notify_config c = quick();
    notify *n = NULL;
    OK(notify_start(s, &c, &n, &e_));
    store_delivery done = only_delivery(f, hook, 2);
    notify_stop(n);
    assert_string_equal(done.status, "delivered");
    assert_int_equal(done.attempts, 2);
    char a[32], b[32];
    header(f->rv->reqs[0].head, "X-Rollcall-Delivery", a, sizeof a);
    header(f->rv->reqs[1].head, "X-Rollcall-Delivery", b, sizeof b);
    assert_string_equal(a, b); /* at least once: the receiver may see a repeat */
}

/* Two dispatchers on two connections pools (as two processes would be)
 * share the queue without delivering a row twice. */
static void two_dispatchers_deliver_each_row_once(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t ada = add_person(s, "S1", "Ada Lovelace");
    add_webhook(s, f->rv, "entry", "generic", 0, 1);
    add_webhook(s, f->rv, "entry", "slack", 0, 1);
    enum { EVENTS = 15, ROWS = 2 * EVENTS };
    store *s2 = NULL;
    OK(store_open(f->db.url, 0, &s2, &e_));
    notify_config c = quick();
    c.poll_ms = 5;
    notify *n1 = NULL, *n2 = NULL;
    OK(notify_start(s, &c, &n1, &e_));
    OK(notify_start(s2, &c, &n2, &e_));
    for (int i = 0; i < EVENTS; i++) {
        store_event e = entry_event(ada, "entry", "on_time");
        e.ts_ms += i * 60000;
        OK(store_event_insert(i % 2 ? s : s2, &e, &e_));
    }
    assert_int_equal(wait_requests(f->rv, ROWS), ROWS);
    usleep(500000);
    notify_stop(n1);
    notify_stop(n2);
    store_close(s2);
    assert_int_equal(receiver_count(f->rv), ROWS);
    each_delivery_once(f->rv);
}

static void unknown_faces_are_throttled_per_camera(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t hook = add_webhook(s, f->rv, "unknown_face", "telegram", 0, 1);
    notify_config c = quick();
    notify *n = NULL;
    OK(notify_start(s, &c, &n, &e_));
    int q = 0;
    OK(notify_unknown_face(n, 1, "Front door", 0.2, 0.9, &q, &e_));
    assert_int_equal(q, 1);
    OK(notify_unknown_face(n, 1, "Front door", 0.2, 0.9, &q, &e_));
    assert_int_equal(q, 0); /* same camera within a minute */
    OK(notify_unknown_face(n, 2, "Gate", 0.1, 0.9, &q, &e_));
    assert_int_equal(q, 1);
    assert_int_equal(wait_requests(f->rv, 2), 2);
    notify_stop(n);
    size_t k;
    store_delivery *d = deliveries(s, hook, &k);
    assert_int_equal(k, 2);
    free(d);
    json_t *j = json_loads(f->rv->reqs[0].body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "chat_id")), "-100123");
    assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "Unknown face at"));
    json_decref(j);
}

static void a_camera_down_for_a_while_is_said_once(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    store_camera cam = {.enabled = 1, .fps = 5};
    snprintf(cam.name, sizeof cam.name, "Gate");
    OK(store_camera_create(s, &cam, &e_));
    int64_t hook = add_webhook(s, f->rv, "camera_down", "slack", 0, 1);
    notify_config c = quick();
    c.camera_down_ms = 30000;
    notify *n = NULL;
    OK(notify_start(s, &c, &n, &e_));
    int64_t t = 1000000;
    int q = -1;
    OK(notify_camera_state(n, cam.id, NULL, 1, 0, "", t, &q, &e_));
    assert_int_equal(q, 0);
    OK(notify_camera_state(n, cam.id, NULL, 0, 0, "connection refused", t + 1000, &q, &e_));
    assert_int_equal(q, 0); /* a blip is not down */
    OK(notify_camera_state(n, cam.id, NULL, 0, 0, "connection refused", t + 20000, &q, &e_));
    assert_int_equal(q, 0);
    OK(notify_camera_state(n, cam.id, NULL, 0, 0, "connection refused", t + 31000, &q, &e_));
    assert_int_equal(q, 1);
    OK(notify_camera_state(n, cam.id, NULL, 0, 0, "connection refused", t + 90000, &q, &e_));
    assert_int_equal(q, 0); /* said once */
    OK(notify_camera_state(n, 77, NULL, 0, 1, "", t + 1000, &q, &e_));
    OK(notify_camera_state(n, 77, NULL, 0, 1, "", t + 99000, &q, &e_));
    assert_int_equal(q, 0); /* disabled on purpose */
    OK(notify_camera_state(n, cam.id, NULL, 1, 0, "", t + 100000, &q, &e_));
    OK(notify_camera_state(n, cam.id, NULL, 0, 0, "", t + 101000, &q, &e_));
    OK(notify_camera_state(n, cam.id, NULL, 0, 0, "", t + 140000, &q, &e_));
    assert_int_equal(q, 1); /* down again after being up */
    assert_int_equal(wait_requests(f->rv, 2), 2);
    notify_stop(n);
    size_t k;
    store_delivery *d = deliveries(s, hook, &k);
    assert_int_equal(k, 2);
    free(d);
    json_t *j = json_loads(f->rv->reqs[0].body, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "text"));
    assert_non_null(text);
    assert_true(strncmp(text, "Camera Gate is down: ", 21) == 0);
    json_decref(j);
}

static void old_settled_deliveries_are_purged_pending_ones_kept(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t hook = add_webhook(s, f->rv, "camera_down", "generic", 0, 1);
    for (int i = 0; i < 3; i++) OK(notify_test(s, hook, NULL, &e_));
    store_delivery *claimed = NULL;
    size_t k = 0;
    OK(store_delivery_claim(s, rc_unix_ms(), 60000, 2, &claimed, &k, &e_));
    assert_int_equal(k, 2);
    OK(store_delivery_finish(s, &claimed[0], "delivered", 0, 200, "", &e_));
    OK(store_delivery_finish(s, &claimed[1], "dead", 0, 500, "answered 500", &e_));
    rc_error err;
    assert_int_equal(store_delivery_finish(s, &claimed[1], "delivered", 0, 200, "", &err),
                     RC_ERR_CONFLICT); /* no longer claimed */
    free(claimed);
    int64_t removed = -1;
    OK(store_delivery_purge(s, rc_unix_ms() - 60000, &removed, &e_));
    assert_int_equal(removed, 0); /* not old yet */
    OK(store_delivery_purge(s, rc_unix_ms() + 60000, &removed, &e_));
    assert_int_equal(removed, 2);
    store_delivery *d = deliveries(s, hook, &k);
    assert_int_equal(k, 1);
    assert_string_equal(d[0].status, "pending");
    free(d);
}

static void a_test_delivery_goes_to_one_webhook(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    int64_t a = add_webhook(s, f->rv, "entry", "generic", 0, 1);
    int64_t b = add_webhook(s, f->rv, "entry", "generic", 0, 0);
    int64_t id = 0;
    OK(notify_test(s, a, &id, &e_));
    rc_error err;
    assert_int_equal(notify_test(s, b, NULL, &err), RC_ERR_CONFLICT);
    assert_int_equal(notify_test(s, 999, NULL, &err), RC_ERR_NOT_FOUND);
    store_delivery d;
    OK(store_delivery_get(s, id, &d, &e_));
    assert_int_equal(d.webhook_id, a);
    assert_string_equal(d.kind, "test");
    notify_config c = quick();
    notify *n = NULL;
    OK(notify_start(s, &c, &n, &e_));
    assert_int_equal(wait_requests(f->rv, 1), 1);
    notify_stop(n);
    char v[32];
    header(f->rv->reqs[0].head, "X-Rollcall-Event", v, sizeof v);
    assert_string_equal(v, "test");
    /* Delivery ids are never handed out again, even after the newest went
     * with its webhook: receivers drop repeats by them. */
    OK(store_webhook_delete(s, b, &e_));
    OK(store_webhook_delete(s, a, &e_));
    int64_t c2 = add_webhook(s, f->rv, "entry", "generic", 0, 1), id2 = 0;
    OK(notify_test(s, c2, &id2, &e_));
    assert_true(id2 > id);
    assert_true(c2 > b);
}

/* ---- absentee lists -------------------------------------------------------- */

static int64_t berlin(const att_tz *tz, int y, int mo, int d, int h, int mi)
{
    return att_tz_utc(tz, rc_days_from_civil(y, mo, d), h * 60 + mi);
}

/* A person in the school since 2026-01-01. */
static int64_t pupil(store *s, const char *ext, const char *name)
{
    store_person p = {.active = 1, .created_ms = 1767225600000LL};
    snprintf(p.external_id, sizeof p.external_id, "%s", ext);
    snprintf(p.name, sizeof p.name, "%s", name);
    OK(store_person_create(s, &p, &e_));
    return p.id;
}

static int64_t user(store *s, const char *email, const char *role, int64_t group)
{
    store_user u = {.active = 1, .group_limited = group != 0};
    snprintf(u.email, sizeof u.email, "%s", email);
    snprintf(u.name, sizeof u.name, "%s", email);
    snprintf(u.role, sizeof u.role, "%s", role);
    OK(store_user_create(s, &u, &e_));
    if (group) OK(store_user_set_groups(s, u.id, &group, 1, &e_));
    return u.id;
}

static int64_t absentee_deliveries(store *s, store_delivery **out)
{
    store_delivery *d = NULL;
    size_t n = 0;
    int64_t total = 0;
    OK(store_delivery_list(s, 0, (store_page){0}, &d, &n, &total, &e_));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(d[i].kind, "absentees")) d[k++] = d[i];
    if (out)
        *out = d;
    else
        free(d);
    return (int64_t)k;
}

/* The attendance engine of an institution in Berlin counting from 2026. */
static att *berlin_att(store *s)
{
    OK(store_setting_set(s, "timezone", "Europe/Berlin", &e_));
    OK(store_setting_set(s, "attendance_start_day", "2026-01-01", &e_));
    att *a = NULL;
    OK(att_create(s, &a, &e_));
    return a;
}

/* An on-time entry of person at ts for slot `schedule` of local day `day`. */
static void entry_for(store *s, int64_t person, int64_t schedule, int64_t ts, const char *day)
{
    store_event ev = {.person_id = person, .ts_ms = ts, .schedule_id = schedule};
    ev.last_seen_ms = ev.ts_ms;
    snprintf(ev.kind, sizeof ev.kind, "entry");
    snprintf(ev.status, sizeof ev.status, "on_time");
    snprintf(ev.slot_day, sizeof ev.slot_day, "%s", day);
    OK(store_event_insert(s, &ev, &e_));
}

/* The only absentee delivery queued so far, parsed; its slot's day and
 * start and its absent list, exactly one person, checked. Caller decrefs. */
static json_t *the_absentee_list(store *s, const char *day, const char *start, int64_t absent)
{
    store_delivery *d = NULL;
    assert_int_equal(absentee_deliveries(s, &d), 1);
    json_t *p = json_loads(d[0].payload, 0, NULL);
    free(d);
    assert_non_null(p);
    json_t *slot = json_object_get(p, "slot");
    assert_string_equal(json_string_value(json_object_get(slot, "day")), day);
    assert_string_equal(json_string_value(json_object_get(slot, "start")), start);
    json_t *list = json_object_get(p, "absent");
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "person_id")),
                     absent);
    return p;
}

/* A pupil on sick leave that day is not in the slot's absentee list. */
static void a_pupil_on_leave_is_not_in_the_absentee_list(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    att *a = berlin_att(s);
    const att_tz *tz = att_zone(a);
    store_group g = {.notify_absentees = 1};
    snprintf(g.name, sizeof g.name, "7B");
    OK(store_group_create(s, &g, &e_));
    int64_t ann = pupil(s, "S1", "Ann Example"), bob = pupil(s, "S2", "Bob Example");
    OK(store_group_join(s, g.id, ann, 1767225600000LL, &e_));
    OK(store_group_join(s, g.id, bob, 1767225600000LL, &e_));
    store_schedule sc = {
        .group_id = g.id, .dow = 1, .start_min = 480, .end_min = 600, .grace_min = 5};
    OK(store_schedule_create(s, &sc, &e_));
    add_webhook(s, f->rv, "absentees", "generic", 0, 1);
    entry_for(s, bob, sc.id, berlin(tz, 2026, 3, 2, 7, 58), "2026-03-02");
    store_leave l = {
        .person_id = ann, .kind = "sick", .from_day = "2026-03-02", .to_day = "2026-03-03"};
    OK(store_leave_add(s, &l, &e_));
    int64_t q = -1;
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 2, 8, 6), &q, &e_));
    assert_int_equal(q, 1);
    store_delivery *d = NULL;
    assert_int_equal(absentee_deliveries(s, &d), 1);
    json_t *p = json_loads(d[0].payload, 0, NULL);
    free(d);
    assert_int_equal(json_array_size(json_object_get(p, "absent")), 0);
    assert_int_equal(json_integer_value(json_object_get(p, "absent_count")), 0);
    json_decref(p);
    att_destroy(a);
}

/* Group 7B has Maths on Mondays 08:00-10:00 (Berlin), grace 5. The list of
 * who is missing is queued once per slot after 08:05, naming the group's
 * managers; not before, not again (also after a "restart": a new engine),
 * not after the slot ended, not on a holiday or a day without the slot,
 * and only for groups that asked (or all, with absentee_notify). */
static void absentee_lists_are_queued_once_per_slot(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    att *a = berlin_att(s);
    const att_tz *tz = att_zone(a);
    store_group g = {.notify_absentees = 1}, other = {0};
    snprintf(g.name, sizeof g.name, "7B");
    snprintf(other.name, sizeof other.name, "8C");
    OK(store_group_create(s, &g, &e_));
    OK(store_group_create(s, &other, &e_));
    int64_t ann = pupil(s, "S1", "Ann Example"), bob = pupil(s, "S2", "Bob Example");
    int64_t cy = pupil(s, "S3", "Cy Other");
    OK(store_group_join(s, g.id, ann, 1767225600000LL, &e_));
    OK(store_group_join(s, g.id, bob, 1767225600000LL, &e_));
    OK(store_group_join(s, other.id, cy, 1767225600000LL, &e_));
    store_schedule sc = {
        .group_id = g.id, .dow = 1, .start_min = 480, .end_min = 600, .grace_min = 5};
    snprintf(sc.label, sizeof sc.label, "Maths");
    OK(store_schedule_create(s, &sc, &e_));
    store_schedule so = sc;
    so.group_id = other.id;
    OK(store_schedule_create(s, &so, &e_));
    int64_t lim = user(s, "lim@example.org", "manager", g.id);
    user(s, "elsewhere@example.org", "manager", other.id);
    int64_t admin = user(s, "admin@example.org", "admin", 0);
    add_webhook(s, f->rv, "absentees", "generic", 0, 1);
    entry_for(s, ann, sc.id, berlin(tz, 2026, 3, 2, 7, 58), "2026-03-02");

    int64_t q = -1;
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 2, 8, 4), &q, &e_)); /* within grace */
    assert_int_equal(q, 0);
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 2, 8, 6), &q, &e_));
    assert_int_equal(q, 1); /* 7B only: 8C did not ask */
    json_t *p = the_absentee_list(s, "2026-03-02", "08:00", bob);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "group"), "name")),
                        "7B");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "slot"), "label")),
                        "Maths");
    json_t *mgr = json_object_get(p, "managers");
    assert_int_equal(json_array_size(mgr), 1); /* the manager of 7B, not of 8C, no admin */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(mgr, 0), "id")), lim);
    json_decref(p);

    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 2, 9, 0), &q, &e_));
    assert_int_equal(q, 0); /* once */
    att *again = NULL;      /* a restarted server */
    OK(att_create(s, &again, &e_));
    OK(notify_absentees(s, again, berlin(tz, 2026, 3, 2, 9, 30), &q, &e_));
    assert_int_equal(q, 0);
    att_destroy(again);
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 9, 10, 0), &q, &e_));
    assert_int_equal(q, 0); /* the slot ended while nobody looked */
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 7, 8, 30), &q, &e_));
    assert_int_equal(q, 0); /* Saturday: no slot */
    OK(store_holiday_set(s, "2026-03-16", "Spring", &e_));
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 16, 8, 30), &q, &e_));
    assert_int_equal(q, 0); /* holiday */
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 23, 8, 30), &q, &e_));
    assert_int_equal(q, 1); /* the next Monday */

    /* absentee_notify: every group's list, 8C's too. Then 7B loses its
     * manager: its list names the admins instead. */
    OK(store_setting_set(s, "absentee_notify", "1", &e_));
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 30, 8, 30), &q, &e_));
    assert_int_equal(q, 2);
    OK(store_user_set_groups(s, lim, NULL, 0, &e_)); /* 7B has no manager now */
    OK(notify_absentees(s, a, berlin(tz, 2026, 4, 6, 8, 30), &q, &e_));
    assert_int_equal(q, 2);
    store_delivery *d = NULL;
    assert_int_equal(absentee_deliveries(s, &d), 6);
    p = json_loads(d[0].payload, 0, NULL); /* newest first: 6 April */
    free(d);
    if (strcmp(json_string_value(json_object_get(json_object_get(p, "group"), "name")), "7B")) {
        json_decref(p);
        absentee_deliveries(s, &d);
        p = json_loads(d[1].payload, 0, NULL);
        free(d);
    }
    mgr = json_object_get(p, "managers");
    assert_int_equal(json_array_size(mgr), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(mgr, 0), "id")), admin);
    json_decref(p);
    att_destroy(a);
}

/* A night shift, Mondays 23:30 to 06:00 (Berlin), grace 45: its list is
 * due at 00:15 on Tuesday, the next local day. It is queued then, once,
 * for Monday's slot; not within the grace, not after the shift ended; and
 * the holiday that counts is the slot's day, Monday, not Tuesday. */
static void a_night_slot_is_noticed_after_midnight(void **state)
{
    fixture *f = *state;
    store *s = f->db.s;
    att *a = berlin_att(s);
    const att_tz *tz = att_zone(a);
    store_group g = {.notify_absentees = 1};
    snprintf(g.name, sizeof g.name, "Night crew");
    OK(store_group_create(s, &g, &e_));
    int64_t ann = pupil(s, "N1", "Ann Night"), bob = pupil(s, "N2", "Bob Night");
    OK(store_group_join(s, g.id, ann, 1767225600000LL, &e_));
    OK(store_group_join(s, g.id, bob, 1767225600000LL, &e_));
    store_schedule sc = {
        .group_id = g.id, .dow = 1, .start_min = 23 * 60 + 30, .end_min = 360, .grace_min = 45};
    snprintf(sc.label, sizeof sc.label, "Night shift");
    OK(store_schedule_create(s, &sc, &e_));
    user(s, "night@example.org", "manager", g.id);
    add_webhook(s, f->rv, "absentees", "generic", 0, 1);
    entry_for(s, ann, sc.id, berlin(tz, 2026, 3, 2, 23, 40), "2026-03-02");

    int64_t q = -1;
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 2, 23, 50), &q, &e_));
    assert_int_equal(q, 0); /* within grace */
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 3, 0, 10), &q, &e_));
    assert_int_equal(q, 0); /* still within grace, past midnight */
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 3, 0, 20), &q, &e_));
    assert_int_equal(q, 1);
    json_t *p = the_absentee_list(s, "2026-03-02", "23:30", bob);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "slot"), "end")),
                        "06:00");
    json_decref(p);
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 3, 3, 0), &q, &e_));
    assert_int_equal(q, 0); /* once */
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 10, 6, 30), &q, &e_));
    assert_int_equal(q, 0); /* the next shift ended while nobody looked */
    OK(store_holiday_set(s, "2026-03-16", "Spring", &e_));
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 17, 0, 20), &q, &e_));
    assert_int_equal(q, 0); /* Monday the 16th was a holiday */
    OK(store_holiday_set(s, "2026-03-24", "Fair", &e_));
    OK(notify_absentees(s, a, berlin(tz, 2026, 3, 24, 0, 20), &q, &e_));
    assert_int_equal(q, 1); /* Tuesday's holiday does not cancel Monday's shift */
    att_destroy(a);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_is_hmac_sha256_of_time_dot_body),
        cmocka_unit_test(presets_render_generic_slack_and_telegram),
        cmocka_unit_test(backoff_doubles_with_jitter_up_to_the_cap),
        cmocka_unit_test(shown_urls_hide_credentials_and_tokens),
        T(webhooks_are_validated),
        T(an_event_queues_its_deliveries_in_its_own_transaction),
        T(upgrading_a_version_2_database_adds_the_queue),
        T(an_event_is_delivered_signed),
        T(a_failing_receiver_is_retried_with_backoff),
        T(the_last_failure_makes_a_delivery_dead),
        T(redirects_are_not_followed),
        T(a_long_answer_is_not_read_to_the_end),
        T(queued_deliveries_survive_a_killed_process),
        T(a_dead_dispatchers_claim_is_taken_over),
        T(two_dispatchers_deliver_each_row_once),
        T(unknown_faces_are_throttled_per_camera),
        T(a_camera_down_for_a_while_is_said_once),
        T(old_settled_deliveries_are_purged_pending_ones_kept),
        T(a_test_delivery_goes_to_one_webhook),
        T(absentee_lists_are_queued_once_per_slot),
        T(a_pupil_on_leave_is_not_in_the_absentee_list),
        T(a_night_slot_is_noticed_after_midnight),
    };
    return cmocka_run_group_tests_name(testdb_is_pg() ? "notify (postgres)" : "notify (sqlite)",
                                       tests, NULL, NULL);
}
