/*
 * internal.h — what the files of the http module share and nobody else sees:
 * the request being served, the route table, reply helpers, request body
 * parsing (JSON, raw images, multipart), the metrics registry's internals, the
 * SSE hub and the authentication pieces. The public face of the module is
 * http.h.
 */
#ifndef RC_HTTP_INTERNAL_H
#define RC_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../attendance/att.h"
#include "../camera/camera.h"
#include "../image/image.h"
#include "../recog/recog.h"
#include "../store/store.h"
#include "http.h"

/* Room for a client address key (http_addr_key). */
#define HTTP_ADDR_KEY_MAX 64

/* ---- roles -------------------------------------------------------------- */

/* Role bits. A route declares the set of callers it admits; ANON admits
 * callers without credentials. */
enum {
    HTTP_ANON = 1u << 0,
    HTTP_ADMIN = 1u << 1,
    HTTP_MANAGER = 1u << 2,
    HTTP_MEMBER = 1u << 3,
    HTTP_DEVICE = 1u << 4,
    HTTP_METRICS = 1u << 5, /* API keys that may only read /metrics */
    /* Read-only staff (HR, inspection): what a manager reads, but no face
     * images, and no writes beyond their own password and session. May be
     * limited to groups as a manager is. */
    HTTP_AUDITOR = 1u << 6,
    HTTP_ROLE_LAST = HTTP_AUDITOR, /* the highest role bit */
};
#define HTTP_ANYONE                                                                                \
    (HTTP_ANON | HTTP_ADMIN | HTTP_MANAGER | HTTP_MEMBER | HTTP_DEVICE | HTTP_METRICS |            \
     HTTP_AUDITOR)
#define HTTP_SIGNED_IN (HTTP_ADMIN | HTTP_MANAGER | HTTP_MEMBER | HTTP_DEVICE | HTTP_AUDITOR)

/* "admin", "manager", "member", "device", "auditor" → its bit; 0 for
 * anything else. */
unsigned http_role_bit(const char *name);
const char *http_role_name(unsigned bit);

/* Who is calling. Filled from the session cookie or the bearer API key. */
typedef struct {
    unsigned role;       /* one role bit; HTTP_ANON when nobody signed in */
    int64_t user_id;     /* session callers */
    int64_t person_id;   /* the person a member user is; 0 when none */
    int64_t key_id;      /* API key callers */
    int64_t camera_id;   /* device keys bound to a camera; 0 when none */
    bool via_cookie;     /* state-changing requests need the CSRF header */
    char session_id[72]; /* the session token (cookie callers) */
    char csrf[72];       /* the session's CSRF token (cookie callers) */
    char label[96];      /* for the access log: "user:3", "key:7", "-" */
    bool must_change;    /* signed in with a one-time password: only HTTP_PW_CHANGE routes */
    /* A manager or auditor limited to groups[0..ngroups) reaches the people of those
     * groups only (nobody when ngroups is 0); scope.c checks it. */
    bool limited;
    int64_t groups[64];
    size_t ngroups;
} http_principal;

/* Fill `who` from a bearer token ("rc_..." API key) or else a session cookie
 * token (either may be NULL); anonymous when neither is valid. The event
 * stream calls it again to notice revoked keys and ended sessions. */
void http_principal_resolve(struct store *s, const char *bearer, const char *cookie,
                            http_principal *who);

/* ---- requests ----------------------------------------------------------- */

/* One part of a multipart/form-data body. */
typedef struct {
    char *name;          /* the form field name */
    char *filename;      /* NULL for plain fields */
    char *content_type;  /* NULL when the part did not say */
    unsigned char *data; /* NULL while a spooled part waits on disk */
    size_t len, cap;
    bool spooled; /* the bytes are in the request's spool file at `off` */
    uint64_t off;
} http_part;

typedef struct http_route http_route;
typedef struct http_req http_req;

/* What a handler needs to read the request and answer it. */
struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const http_route *route;
    /* Path parameters in the order the pattern names them ({id}, ...). */
    const char *param_names[4];
    char params[4][64];
    size_t nparams;
    http_principal who;
    /* The request body, accumulated up to the route's limit. */
    unsigned char *body;
    size_t body_len, body_cap;
    size_t body_limit;
    bool body_too_large;
    size_t body_held;  /* bytes of the server's body budget this request holds */
    bool body_refused; /* the budget was spent: the body is dropped, then 503 */
    /* Multipart parts, filled by http_parse_multipart. */
    http_part *parts;
    size_t nparts, parts_cap;
    size_t nfiles, nfields; /* of the parts: files, and plain fields */
    bool parts_too_many;    /* more files than the route takes */
    bool fields_too_many;   /* more plain fields than HTTP_MAX_FIELDS allows */
    bool part_name_too_long;
    size_t held_in_memory; /* a streamed import's bytes of parts kept in memory */
    bool held_too_much;    /* over HTTP_MAX_IMPORT_MEMORY */
    /* Dataset imports (HTTP_BIG_UPLOAD, multipart) are parsed into parts as
     * they arrive, never held as a raw body too: the parser, the bytes fed
     * to it, and whether it failed. */
    struct MHD_PostProcessor *pp;
    size_t streamed;
    bool pp_failed;
    /* Their photo files go to an unlinked spool file in the data folder
     * (http_part_load reads one back when its turn comes), so a large
     * import is held on disk, not in memory. -1 until the first one. */
    int spool_fd;
    uint64_t spool_len;
    int spool_errno; /* writing the spool failed: why */
    /* Answer bookkeeping for the access log and metrics. */
    unsigned status;
    bool answered;
    bool stream; /* SSE connection: not counted as in flight */
    /* An answer decided from the headers while a body is still coming: it
     * is sent once the body has been read (and dropped), so the client is
     * not reset mid-upload and reliably sees it. */
    bool defer;
    struct MHD_Response *pending;
    size_t drained;
    double t0;
    char ip[64];
    char addr_key[HTTP_ADDR_KEY_MAX]; /* http_addr_key(ip): per-address limits */
};

typedef enum MHD_Result (*http_handler)(http_req *r);

/* Route flags. */
enum {
    HTTP_BODY_NONE = 0,         /* a body is read and dropped */
    HTTP_BODY_JSON = 1u << 0,   /* application/json; parsed by http_json_body */
    HTTP_BODY_UPLOAD = 1u << 1, /* raw image or multipart */
    HTTP_BIG_UPLOAD = 1u << 2,  /* the dataset-import limit instead of the body limit */
    HTTP_LOOPBACK_OK = 1u << 3, /* loopback callers pass the role check when the server
                                   was started with --metrics-public-loopback (/metrics) */
    HTTP_NO_CSRF = 1u << 4,     /* cookie callers need no CSRF token (login) */
    /* The handler decodes images or runs recognition: it runs on recog's work
     * queue, not on a libmicrohttpd thread (503 + Retry-After when full). */
    HTTP_WORK = 1u << 5,
    HTTP_PW_CHANGE = 1u << 6, /* open to a user who must still change a one-time password */
    HTTP_CAPTURE = 1u << 7,   /* a few phone photos: body at most HTTP_CAPTURE_MAX bytes */
};
#define HTTP_CAPTURE_MAX (8u << 20)
/* Request bodies all connections may hold in memory together: this many
 * times the body limit (http_server.body_held). */
#define HTTP_BODY_BUDGET 8u
/* Multipart bounds besides the body size: plain (non-file) fields beyond
 * one per file the route takes (an import names each file's person), and
 * the length of a part's field name and file name (a path, so PATH_MAX). */
#define HTTP_MAX_FIELDS 64u
/* A dataset import spools its photos to disk; what it keeps in memory (the
 * roster and plain fields) is at most this many bytes. */
#define HTTP_MAX_IMPORT_MEMORY (32u << 20)
/* Values in a JSON body (objects, arrays, members, elements): each costs
 * jansson memory and time on the connection thread, whatever its bytes. */
#define HTTP_MAX_JSON_VALUES 100000u
#define HTTP_MAX_PART_NAME   4096u

struct http_route {
    const char *method;
    const char *pattern; /* "/api/v1/persons/{id}": {name} matches one segment */
    unsigned roles;      /* role bits admitted */
    unsigned flags;
    http_handler fn;
};

/* The route table (routes.c) and its length. */
extern const http_route http_routes[];
extern const size_t http_route_count;

/* Match `path` against `pattern`; on a match fill the request's params (when
 * r is not NULL) and return true. Parameters longer than 63 bytes or empty
 * never match. */
bool http_route_match(const char *pattern, const char *path, http_req *r);

/* Find the route for method+path. Returns NULL and sets *path_known when the
 * path exists under another method (so the caller answers 405, not 404). */
const http_route *http_route_find(const char *method, const char *path, http_req *r,
                                  bool *path_known);

/* A path parameter by name, as text, or NULL. */
const char *http_param(const http_req *r, const char *name);
/* A path parameter that must be a positive integer id; answers 404 otherwise
 * (returns false; the caller returns r->status-bearing MHD_YES). */
bool http_param_id(http_req *r, const char *name, int64_t *out);

/* Query string values (already URL-decoded by MHD), or NULL. */
const char *http_query(const http_req *r, const char *key);
/* Integer query value with bounds; false after answering 400 when the value
 * is not a number in range. Missing keys give `def`. */
bool http_query_int(http_req *r, const char *key, int64_t def, int64_t min, int64_t max,
                    int64_t *out);
/* limit (default 50, max 500) and offset (default 0). */
bool http_query_page(http_req *r, int64_t *limit, int64_t *offset);
/* A request header, or NULL. */
const char *http_header(const http_req *r, const char *name);

/* ---- answers ------------------------------------------------------------ */

/* Every reply function queues the response and returns what the access
 * handler should return. They take ownership of `body`. */
enum MHD_Result http_reply_json(http_req *r, unsigned status, json_t *body);
enum MHD_Result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt,
                                 ...) __attribute__((format(printf, 4, 5)));
/* The same with parameters the client may put in its translation of the
 * code ({"field": "email"}, {"retry_after_s": 900}); params stolen. */
/* A range of days as the reports read it: neither given is today (in the
 * institution's zone, written into `today`), one alone is that one day. */
void http_days_or_today(http_req *r, const char **from, const char **to, char today[11]);
/* A range of local days from the field `from_field` to "to" (NULL or "":
 * the same day), at most `max` days apart: false after answering 400
 * invalid_field. */
bool http_day_range(http_req *r, const char *from_field, const char *from, const char *to, int max,
                    int64_t *first, int64_t *last);
enum MHD_Result http_reply_error_p(http_req *r, unsigned status, const char *code, json_t *params,
                                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An rc_status mapped to its HTTP status and code, with err's message. */
enum MHD_Result http_reply_rc(http_req *r, rc_status st, const rc_error *err);
/* 429 too_many_attempts with Retry-After: wait_s, and the params the client
 * translates ({retry_after_s, minutes, scope}); scope "address", "account"
 * or "code". `why` is the English text. */
enum MHD_Result http_reply_too_many(http_req *r, unsigned wait_s, const char *scope,
                                    const char *why);
/* A try at the password of account `email` from this caller's address
 * (api_auth.c: a login, a password change, an admin's password at a kiosk),
 * counted as a failed login before the slow check, so that tries sent at
 * the same time cannot pass the limits together: the account's lock-out
 * from this address and, with `address`, the address's limit on failed
 * logins. False after answering 429. */
bool http_password_try(http_req *r, const char *email, bool address);
/* The password was right: the try and the account's failures from this
 * address are forgotten. */
void http_password_right(http_req *r, const char *email, bool address);
/* 503 busy with Retry-After: 1 (the work queue is full, or the server holds
 * as many request bodies as it may). */
enum MHD_Result http_reply_busy(http_req *r, const char *why);
enum MHD_Result http_reply_empty(http_req *r, unsigned status);
/* A malloc'd buffer with its content type, not to be cached; takes
 * ownership of `data` (freed also when the reply cannot be built). */
enum MHD_Result http_reply_owned(http_req *r, unsigned status, const char *content_type, void *data,
                                 size_t len);
/* The response http_reply_owned sends, for callers that add headers; NULL
 * (and `data` freed) when out of memory. */
struct MHD_Response *http_owned_response(void *data, size_t len, const char *content_type);
/* Queue a prepared response (adds the common headers) and destroy it. */
enum MHD_Result http_reply_response(http_req *r, unsigned status, struct MHD_Response *resp);

/* ---- bodies ------------------------------------------------------------- */

/* Parse the body as a JSON object. On failure answers 400 (empty body,
 * malformed JSON with line and column, not an object) or 415 (wrong content
 * type) and returns NULL. The caller owns the result. */
json_t *http_json_body(http_req *r);

/* Field readers for a JSON object. Each returns false after answering 400
 * with a message naming the field and the expected type. Absent optional
 * fields leave *out untouched and set *present (when given) to false. */
bool http_field_str(http_req *r, json_t *obj, const char *key, bool required, size_t max_len,
                    const char **out, bool *present);
bool http_field_int(http_req *r, json_t *obj, const char *key, bool required, int64_t min,
                    int64_t max, int64_t *out, bool *present);
bool http_field_num(http_req *r, json_t *obj, const char *key, bool required, double min,
                    double max, double *out, bool *present);
bool http_field_bool(http_req *r, json_t *obj, const char *key, bool required, bool *out,
                     bool *present);
/* One of the given NULL-terminated choices. */
bool http_field_enum(http_req *r, json_t *obj, const char *key, bool required,
                     const char *const *choices, const char **out, bool *present);

/* Split a multipart/form-data body into r->parts with MHD's post processor.
 * Returns false after answering 400 (malformed multipart, no boundary) or 413
 * (too many files). */
bool http_parse_multipart(http_req *r);
/* Feed one chunk of a multipart body straight into parts (dataset imports);
 * a failure is remembered and reported by http_parse_multipart. */
void http_multipart_feed(http_req *r, const char *data, size_t n);
/* The first part with this field name, or NULL. */
const http_part *http_part_get(const http_req *r, const char *name);
/* Read a spooled part back into part->data (the caller frees it as any
 * part's data); a part in memory is left as it is. */
rc_status http_part_load(http_req *r, http_part *part, rc_error *err);
/* Is the request body multipart/form-data? */
bool http_is_multipart(const http_req *r);

/* ---- API helpers (api_util.c) ------------------------------------------- */

struct store;
/* ISO 8601 UTC text for Unix ms, or JSON null for 0. */
json_t *http_time_json(int64_t ms);
/* "YYYY-MM-DD", optionally followed by "THH:MM[:SS[.sss]]" and "Z" or
 * "+HH:MM"; a date alone is midnight UTC. */
bool http_parse_time(const char *s, int64_t *ms);
bool http_parse_date(const char *s, int *y, int *mo, int *d);
/* "HH:MM" ↔ minutes after midnight (24:00 allowed as the end of a day). */
bool http_parse_clock(const char *s, int *minutes);
json_t *http_clock_json(int minutes);
/* Copy a string, cut to fit (callers check lengths first where cutting
 * would change meaning). */
void http_copy(char *dst, size_t size, const char *src);
/* {items, total}; steals items. */
json_t *http_list(json_t *items, int64_t total);
/* Who to name in the audit log for this request ("user:3", "key:7"). */
const char *http_actor(const http_req *r);
/* Add an audit entry (detail stolen; may be NULL); failures are logged. */
void http_audit(http_req *r, const char *action, const char *type, int64_t id, json_t *detail);
/* Field "group_ids": at most 64 ids of existing groups the caller may reach
 * into ids[0..*n) (one outside a limited manager's groups is answered as an
 * unknown one). Returns false after answering 400; *present is false when
 * it is absent or null. */
bool http_field_group_ids(http_req *r, json_t *obj, int64_t ids[64], size_t *n, bool *present);
/* A JSON response ready for extra headers (body stolen); NULL on no memory. */
struct MHD_Response *http_json_response(json_t *body);

/* ---- auth --------------------------------------------------------------- */

/* Fill `out` with `n` random bytes as lowercase hex (2n chars + NUL). */
void http_random_hex(char *out, size_t n);
/* Constant-time comparison of two NUL-terminated strings. */
bool http_ct_equal(const char *a, const char *b);
/* Does `password` match the stored argon2id `hash`? */
bool http_password_verify(const char *hash, const char *password);
/* SHA-256 of an API key or session token as hex, so the secret itself is
 * never stored. `out` holds 65 bytes. */
void http_token_hash(const char *token, char out[65]);

/* Find who is calling from the session cookie or bearer key (anonymous when
 * neither is valid) and fill r->who. */
void http_auth_resolve(http_req *r);

/* The key every per-address limit counts a client under (logins, kiosk
 * PIN and unlock tries, self-registrations, open connections), from its
 * address as text: an IPv4 address as it is, an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) as that IPv4 address, any other IPv6 address as its
 * /64 ("2001:db8:1:2::/64"), since one home line holds a whole /64 (or
 * more) and could otherwise change address at every try. Anything else is
 * copied (cut to fit). */
void http_addr_key(const char *ip, const char *local, char out[HTTP_ADDR_KEY_MAX]);
/* The server's own address of the connection on socket fd ("?" if unknown),
 * as http_addr_text writes it. */
void http_sock_text(int fd, char out[64]);
/* A socket address as text ("?" when it is neither IPv4 nor IPv6). */
void http_addr_text(const struct sockaddr *sa, char out[64]);

/* Failure throttling by key (a client address, a kiosk code): max_failures
 * failures within window_s seconds of the first lock the key for lockout_s
 * seconds; max_failures 0 only counts (http_limiter_take). In memory,
 * HTTP_LIMITER_KEYS keys: a new key takes the place of the unlocked key
 * with the fewest failures still counting (the stalest of those), never of
 * a locked one; when every key is locked a new key is refused (its try
 * waits for the first lock to end) rather than a lock forgotten. */
#define HTTP_LIMITER_KEYS 4096
typedef struct http_limiter http_limiter;
http_limiter *http_limiter_create(unsigned max_failures, unsigned window_s, unsigned lockout_s);
void http_limiter_destroy(http_limiter *l);
/* Seconds the key must still wait (0 = may try now). */
unsigned http_limiter_wait(http_limiter *l, const char *key, int64_t now_ms);
/* One failure counted after the fact (http_limiter_try, then
 * http_limiter_lock_if_full): the one that fills the limit sets the lock. */
void http_limiter_fail(http_limiter *l, const char *key, int64_t now_ms);
/* A try, counted as a failure before it is made (take it back with
 * http_limiter_forgive when it succeeds), so that tries made at the same
 * time cannot pass the limit together: 0 when it may go on, else the
 * seconds to wait (the try after max_failures sets the lock; a new key
 * while every key held is locked waits for the first lock to end). */
unsigned http_limiter_try(http_limiter *l, const char *key, int64_t now_ms);
/* After a try that failed: when it was the last one the limit allows, the
 * lock is set now (so that this answer can say so) and its seconds are
 * returned; else 0. */
unsigned http_limiter_lock_if_full(http_limiter *l, const char *key, int64_t now_ms);
/* Forget the key: its failures and any lock. */
void http_limiter_ok(http_limiter *l, const char *key);
/* The key's failures within its window (0 past it), then forget the key. */
unsigned http_limiter_take(http_limiter *l, const char *key, int64_t now_ms);
/* Take n failures off the key's count; a lock already set stays. */
void http_limiter_forgive(http_limiter *l, const char *key, unsigned n);

/* Self check-in: failed verifications allowed per account within the
 * window (seconds); the next attempt waits out the rest of it. */
#define HTTP_SELF_FAIL_LIMIT    5
#define HTTP_SELF_FAIL_WINDOW_S 900

/* ---- metrics ------------------------------------------------------------ */

/* Record one answered request (route pattern or "unmatched"). */
void http_metrics_observe(rc_metrics *m, const char *method, const char *route, unsigned status,
                          double ms);

/* ---- server-sent events ------------------------------------------------- */

typedef struct http_hub http_hub;
http_hub *http_hub_create(struct store *s);
/* Close every stream (they end their responses) and free the hub once the
 * last stream is gone. */
void http_hub_destroy(http_hub *h);
/* Start an SSE response on the request's connection. The stream keeps the
 * caller's credentials: it sees only what the caller may see (a limited
 * manager their groups' people, a camera-bound device key its camera, a
 * member themselves) and ends when they stop being valid. */
enum MHD_Result http_hub_subscribe(http_hub *h, http_req *r);
/* Check every stream's credentials again now (a key was revoked, a user
 * changed or signed out): streams no longer valid end, scopes are reloaded.
 * The heartbeat does it every 15 s for changes made by other processes. */
void http_hub_revalidate(http_hub *h);
/* Wake every stream whose connection is suspended (heartbeat, shutdown). */
void http_hub_wake(http_hub *h);
/* Queue one event for every stream and wake them. */
void http_hub_publish(http_hub *h, const char *event, const json_t *data);
size_t http_hub_clients(http_hub *h);

/* ---- static files ------------------------------------------------------- */

/* Serve `path` from the web directory, falling back to index.html for SPA
 * routes. Rejects traversal. */
enum MHD_Result http_static_serve(http_req *r, const char *web_dir);

/* ---- connections (conns.c) ---------------------------------------------- */

/* The header deadline: connections that have not sent a whole request
 * within deadline_s of opening (or of their last request's end) are closed.
 * And the per-address cap: a connection opened while per_addr_max others
 * (0: no cap) are open under the same http_addr_key is closed at once. */
typedef struct http_conns http_conns;
http_conns *http_conns_create(unsigned deadline_s, unsigned per_addr_max);
void http_conns_destroy(http_conns *c);
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls is the http_conns). */
void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* A request's headers arrived (started) or the request ended. */
void http_conns_request(http_conns *c, struct MHD_Connection *conn, bool started);
/* How many connections the deadline has closed so far. */
size_t http_conns_cut(http_conns *c);
/* The client of conn as the per-address limits count it (http_addr_key),
 * worked out once when the connection opened; from ip when it has no
 * record. */
void http_conns_key(http_conns *c, struct MHD_Connection *conn, const char *ip,
                    char out[HTTP_ADDR_KEY_MAX]);

/* ---- the server --------------------------------------------------------- */

/* The person's photo /recognize sends a device key inline (a data: URL),
 * kept per face id so that a kiosk seeing the same person frame after frame
 * does not read and encode the same crop each time. Which face is the photo
 * is still asked of the store every frame; the cache only saves reading and
 * encoding its bytes. A change to the person (http_gallery_changed) drops
 * their entries. */
typedef struct http_photos http_photos;
http_photos *http_photos_create(void);
void http_photos_destroy(http_photos *c);

struct http_server {
    struct MHD_Daemon *daemon;
    http_config cfg;
    double started_ms;
    uint16_t port;
    rc_metrics *metrics;
    bool own_metrics;
    http_hub *hub;
    http_limiter *login_limiter;
    http_limiter *pin_limiter;  /* kiosk PIN check-ins and unlocks, per address */
    http_limiter *code_limiter; /* kiosk check-ins, per person code typed */
    http_limiter *pair_counter; /* kiosk check-ins' failures per address and code */
    http_limiter *reg_limiter;  /* public self-registrations, per address */
    http_limiter *self_limiter; /* self check-in verifications, per account */
    pthread_mutex_t reg_lock;   /* one self-registration at a time (api_self.c) */
    pthread_mutex_t auth_lock;  /* an account's failures checked and counted as one */
    http_conns *conns;
    pthread_mutex_t lock; /* guards in_flight, body_held */
    pthread_cond_t idle;
    unsigned in_flight;
    /* Request bodies held in memory by all connections together, against
     * HTTP_BODY_BUDGET times the body limit: each connection may send up to
     * the limit, and a thousand of them must not hold a thousand limits. */
    size_t body_held;
    bool tls;
    pthread_t heartbeat;
    bool heartbeat_running;
    bool stopping;
    char dummy_hash[256]; /* verified against when an e-mail is unknown */
    att *att;             /* attendance rules (with a store) */
    bool own_att;         /* made here (no cfg.att) */
    int recog_listener;   /* publishes recog's outcomes on the event stream */
    http_photos *photos;  /* kiosk photos as data: URLs, per face (api_face.c) */
};

/* Handlers for the server's own routes (routes.c). */
enum MHD_Result http_h_healthz(http_req *r);
enum MHD_Result http_h_metrics(http_req *r);
enum MHD_Result http_h_openapi(http_req *r);
enum MHD_Result http_h_events(http_req *r);

/* API handlers (api_auth.c, api_people.c, api_attendance.c). */
enum MHD_Result http_h_login(http_req *r);
enum MHD_Result http_h_logout(http_req *r);
enum MHD_Result http_h_me(http_req *r);
enum MHD_Result http_h_password(http_req *r);
enum MHD_Result http_h_kiosk_unlock(http_req *r);
enum MHD_Result http_h_kiosk_checkin(http_req *r);
enum MHD_Result http_h_person_pin(http_req *r);
enum MHD_Result http_h_attendance_void(http_req *r);
enum MHD_Result http_h_attendance_delete(http_req *r);
enum MHD_Result http_h_users_list(http_req *r);
enum MHD_Result http_h_users_create(http_req *r);
enum MHD_Result http_h_users_get(http_req *r);
enum MHD_Result http_h_users_patch(http_req *r);
enum MHD_Result http_h_users_delete(http_req *r);
enum MHD_Result http_h_roles(http_req *r);
enum MHD_Result http_h_keys_list(http_req *r);
enum MHD_Result http_h_keys_create(http_req *r);
enum MHD_Result http_h_keys_delete(http_req *r);
/* Revoke API key id: stored, audited as api_key.revoke with `detail`
 * (owned; NULL for none), its event streams ended (DELETE /api-keys/{id},
 * and a kiosk giving up its own key on leaving). */
rc_status http_key_revoke(http_req *r, int64_t id, json_t *detail, rc_error *err);
enum MHD_Result http_h_audit(http_req *r);
enum MHD_Result http_h_settings_get(http_req *r);
enum MHD_Result http_h_settings_patch(http_req *r);
enum MHD_Result http_h_persons_list(http_req *r);
enum MHD_Result http_h_persons_create(http_req *r);
enum MHD_Result http_h_persons_get(http_req *r);
enum MHD_Result http_h_persons_patch(http_req *r);
enum MHD_Result http_h_persons_delete(http_req *r);
enum MHD_Result http_h_person_biometrics_delete(http_req *r);
/* The one biometric erase (faces, embeddings, photo, matching sightings;
 * store_person_erase_biometrics, audited there) behind an admin's "erase
 * biometric data" and a member's withdrawal of consent (withdraw: the
 * recorded consent is cleared too), then the gallery updated; *erased
 * receives the counts (caller owns). */
rc_status http_erase_biometrics(http_req *r, int64_t person_id, bool withdraw, json_t **erased,
                                rc_error *err);
enum MHD_Result http_h_person_archive(http_req *r);
enum MHD_Result http_h_person_restore(http_req *r);
enum MHD_Result http_h_groups_list(http_req *r);
enum MHD_Result http_h_groups_create(http_req *r);
enum MHD_Result http_h_groups_get(http_req *r);
enum MHD_Result http_h_groups_patch(http_req *r);
enum MHD_Result http_h_groups_delete(http_req *r);
enum MHD_Result http_h_members_list(http_req *r);
enum MHD_Result http_h_members_put(http_req *r);
enum MHD_Result http_h_member_add(http_req *r);
enum MHD_Result http_h_member_remove(http_req *r);
enum MHD_Result http_h_schedules_list(http_req *r);
enum MHD_Result http_h_schedules_create(http_req *r);
enum MHD_Result http_h_schedules_replace(http_req *r);
enum MHD_Result http_h_schedules_patch(http_req *r);
enum MHD_Result http_h_schedules_delete(http_req *r);
enum MHD_Result http_h_holidays_list(http_req *r);
enum MHD_Result http_h_holidays_create(http_req *r);
enum MHD_Result http_h_holidays_delete(http_req *r);
enum MHD_Result http_h_cameras_list(http_req *r);
enum MHD_Result http_h_cameras_create(http_req *r);
enum MHD_Result http_h_cameras_get(http_req *r);
enum MHD_Result http_h_cameras_patch(http_req *r);
enum MHD_Result http_h_cameras_delete(http_req *r);
enum MHD_Result http_h_attendance_list(http_req *r);
enum MHD_Result http_h_attendance_create(http_req *r);
enum MHD_Result http_h_attendance_patch(http_req *r);
enum MHD_Result http_h_export(http_req *r);
enum MHD_Result http_h_report_summary(http_req *r);
enum MHD_Result http_h_report_daily(http_req *r);
enum MHD_Result http_h_dashboard(http_req *r);
/* Outgoing webhooks (api_notify.c). */
enum MHD_Result http_h_webhooks_list(http_req *r);
enum MHD_Result http_h_webhooks_create(http_req *r);
enum MHD_Result http_h_webhooks_get(http_req *r);
enum MHD_Result http_h_webhooks_patch(http_req *r);
enum MHD_Result http_h_webhooks_delete(http_req *r);
enum MHD_Result http_h_webhooks_test(http_req *r);
enum MHD_Result http_h_webhook_deliveries(http_req *r);
enum MHD_Result http_h_webhook_redeliver(http_req *r);
enum MHD_Result http_h_absentees(http_req *r);
enum MHD_Result http_h_report_groups(http_req *r);
/* The attendance report a request asks for (from/to — or `day` when not NULL
 * —, group_id, label; a limited manager's groups applied). Returns false
 * after answering. */
bool http_report_for(http_req *r, int64_t person_id, const char *day, att_report *rep);
/* A report as CSV in the request's export format. */
rc_status http_report_csv(http_req *r, const att_report *rep, FILE *out, rc_error *err);
/* A download's file name word in the language of its `lang` query
 * ("es": es, else en): "asistencia-…csv" for a Spanish export. */
const char *http_export_word(const http_req *r, const char *en, const char *es);
/* Report pieces as JSON (api_reports.c): a person's summary, one day's
 * figures, and every day of a report (false after answering an error). */
json_t *http_person_summary_json(const att_person_summary *p);
/* The report's payroll totals over its people: minutes late, minutes of
 * early leave, overtime minutes (the summaries' "totals"). */
json_t *http_report_totals_json(const att_report *rep);
json_t *http_day_json(const att_day *d);
bool http_days_json(http_req *r, const att_report *rep, json_t **out);
/* Face endpoints (api_face.c). */
enum MHD_Result http_h_recognize(http_req *r);
enum MHD_Result http_h_process_frame(http_req *r);
enum MHD_Result http_h_detect(http_req *r);
enum MHD_Result http_h_verify(http_req *r);
enum MHD_Result http_h_faces_upload(http_req *r);
enum MHD_Result http_h_faces_list(http_req *r);
enum MHD_Result http_h_faces_delete(http_req *r);
enum MHD_Result http_h_face_image(http_req *r);
enum MHD_Result http_h_person_photo(http_req *r);
enum MHD_Result http_h_process_images(http_req *r);
enum MHD_Result http_h_import(http_req *r);
/* A person's faces or active flag changed: update the gallery now (the
 * follower would, a moment later). */
void http_gallery_changed(http_req *r, int64_t person_id);
/* After one of the person's faces was deleted: the gallery updated and,
 * when it was the person's photo, their next face made the photo. */
void http_face_deleted(http_req *r, int64_t person_id);
/* One photo's enrollment outcome: accepted with its face id, or refused
 * with a stable code, its params and English text. A duplicate_identity
 * names the person whose face it is only when the caller `r` may reach
 * them (r NULL: an import, which only unlimited callers run). */
json_t *http_enroll_json(http_req *r, const char *file, const recog_enroll_result *e);
/* Unknown faces and corrections (api_review.c). */
enum MHD_Result http_h_sightings_list(http_req *r);
enum MHD_Result http_h_sighting_image(http_req *r);
enum MHD_Result http_h_sighting_delete(http_req *r);
enum MHD_Result http_h_sightings_dismiss(http_req *r);
enum MHD_Result http_h_sighting_assign(http_req *r);
enum MHD_Result http_h_attendance_not_this_person(http_req *r);
/* recog's listener: publishes recognized frames and attendance events on
 * the event stream (user: the server). */
void http_recog_event(void *user, const recog_event *ev);
/* The cameras (api_camera.c), run by the camera feed when the server has
 * one (cfg.cameras). */
/* Start (or restart with new settings) the camera; browser cameras only stop. */
rc_status http_camera_apply(http_server *srv, const store_camera *c, rc_error *err);
void http_camera_forget(http_server *srv, int64_t id);
/* The camera's run-time status as JSON (new reference). */
json_t *http_camera_status(http_server *srv, const store_camera *c);
enum MHD_Result http_h_camera_snapshot(http_req *r);
/* The event named by path parameter "id", within the caller's scope; false
 * after answering (404, 403). */
bool http_load_event(http_req *r, store_event *e);
/* An attendance event in the API's shape (person and camera named). */
json_t *http_event_json(store *s, const store_event *e);
/* Publish an event created or changed on the event stream, count it. */
void http_publish_event(http_server *srv, const store_event *e, bool is_new);
/* ---- group scope (scope.c) ----------------------------------------------
 * What a group-limited manager may reach: the people who are members of one
 * of their groups, those groups, and what belongs to those people (faces,
 * events, reports, exports, the event stream). Every handler asks here. */

/* Is the caller a manager limited to groups? */
bool http_scope_limited(const http_req *r);
/* For a limited manager: the ids of the persons in their groups (sorted by
 * rc_cmp_i64, for rc_sorted_has; caller frees) and true; false (nothing to
 * filter) otherwise. */
bool http_scope_persons(http_req *r, int64_t **ids, size_t *n);
/* May the caller reach this group / person? (no answer sent) */
bool http_scope_group(const http_req *r, int64_t group_id);
bool http_scope_person(http_req *r, int64_t person_id);
/* A record the caller may not reach, answered exactly as the store answers
 * an id it does not have (404 not_found "no <what> with id <id>"), so that
 * the answer does not tell that it exists. Returns false. */
bool http_reply_unknown(http_req *r, const char *what, int64_t id);
/* For a filter (?group_id=, ?person_id=): answers 403 naming the group or
 * person when the caller may not reach it (an unknown id too: to a limited
 * manager both are "not one of your groups"). */
bool http_require_group(http_req *r, int64_t group_id);
bool http_require_person(http_req *r, int64_t person_id);
/* Erasing, archiving or restoring a person changes them for every group: a limited
 * manager may do it only when all of the person's groups are theirs (403
 * when they reach the person but not all of their groups, the unknown
 * answer when they do not reach them; no answer sent when true). */
bool http_require_whole_person(http_req *r, int64_t person_id);
/* The face's person must be reachable: 404 for no such face, and the same
 * 404 when outside. */
bool http_require_face(http_req *r, int64_t face_id);
/* Something that concerns every group (`what`: "an import", "holidays"):
 * refused with 403 for a limited manager. */
bool http_require_all_groups(http_req *r, const char *what);
/* A device key bound to a camera may mark events for that camera only:
 * answers 403 when `camera_id` names another one. */
bool http_require_camera(http_req *r, int64_t camera_id);
/* camera_id (0: none) must name a camera (400), and one that is enabled
 * when attendance is `marking` through it (403 camera_disabled); false
 * after answering. */
bool http_require_known_camera(http_req *r, int64_t camera_id, bool marking);
/* Kiosk settings (api_kiosk.c): the institution's name and logo for every
 * signed-in role; the extra settings' JSON and their PATCH (false after
 * answering). */
json_t *http_institution_json(http_req *r);
void http_kiosk_settings_json(http_req *r, json_t *settings);
bool http_kiosk_settings_patch(http_req *r, json_t *body);
/* Self check-in and self-registration (api_self.c): their settings' JSON
 * and PATCH (false after answering), and the handlers. */
void http_self_settings_json(http_req *r, json_t *settings);
bool http_self_settings_patch(http_req *r, json_t *body);
enum MHD_Result http_h_self_status(http_req *r);
enum MHD_Result http_h_self_checkin(http_req *r);
enum MHD_Result http_h_self_data(http_req *r);
enum MHD_Result http_h_self_face_image(http_req *r);
enum MHD_Result http_h_self_withdraw(http_req *r);
enum MHD_Result http_h_register_info(http_req *r);
enum MHD_Result http_h_register(http_req *r);
enum MHD_Result http_h_registrations_list(http_req *r);
enum MHD_Result http_h_registration_approve(http_req *r);
enum MHD_Result http_h_registration_reject(http_req *r);
/* Is `ip` (text, IPv4 or IPv6) inside one of the networks of `list`
 * (CIDRs or single addresses separated by commas or spaces)? *valid is
 * false when the list has an entry that is not a network (then nothing
 * matches). */
bool http_cidr_match(const char *list, const char *ip, bool *valid);
/* Personal leave and justified absences (api_leave.c); a member's own in
 * api_self.c. */
json_t *http_leave_json(struct store *s, const store_leave *l);
enum MHD_Result http_h_person_leaves_list(http_req *r);
enum MHD_Result http_h_person_leaves_create(http_req *r);
enum MHD_Result http_h_person_leaves_delete(http_req *r);
enum MHD_Result http_h_person_leaves_patch(http_req *r);
enum MHD_Result http_h_leaves_list(http_req *r);
enum MHD_Result http_h_self_leaves(http_req *r);
/* The caller's own person (a member linked to one, not pending) into *p;
 * false after answering 409 not_linked. */
bool http_own_person(http_req *r, store_person *p);
/* The time of a manual event, correction or correction request: ISO 8601
 * with a UTC offset, in the years 2000 to 2100; false after answering 400. */
bool http_event_time(http_req *r, const char *text, int64_t *ms);
/* Members' correction requests (api_requests.c). */
enum MHD_Result http_h_self_requests_list(http_req *r);
enum MHD_Result http_h_self_requests_create(http_req *r);
enum MHD_Result http_h_requests_list(http_req *r);
enum MHD_Result http_h_request_approve(http_req *r);
enum MHD_Result http_h_request_reject(http_req *r);
enum MHD_Result http_h_self_request_withdraw(http_req *r);
/* A person in the API's shape (faces counted, groups named). */
json_t *http_person_json(store *s, const store_person *p);
/* Load the person named by path parameter `param`; false after answering. */
bool http_load_person(http_req *r, const char *param, store_person *p);

/* The embedded OpenAPI document (generated from openapi.json). */
extern const unsigned char http_openapi_json[];
extern const size_t http_openapi_json_len;

#endif
