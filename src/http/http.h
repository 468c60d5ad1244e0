/*
 * http — Rollcall's one door: an HTTP server on libmicrohttpd that answers
 * JSON. This header is what the CLI needs to start and stop it, the metrics
 * registry other parts of the process feed, and the event publisher for live
 * screens. Routes live in the module's .c files (the table is in routes.c).
 */
#ifndef RC_HTTP_H
#define RC_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"

typedef struct http_server http_server;

/* Request limits; zero fields take the defaults in brackets. */
typedef struct {
    size_t max_body;         /* bytes per request body [20 MB] */
    size_t max_import;       /* bytes for a dataset import [512 MB] */
    unsigned max_files;      /* file parts per multipart request [100; import 10000] */
    size_t max_header;       /* bytes for the request line and headers [32 KB] */
    unsigned request_time_s; /* seconds a request may take to arrive [120] */
    unsigned idle_timeout_s; /* seconds a quiet connection stays open [60] */
    /* Connections: in total [1000], from one client address [64; 0 = no
     * per-address limit], and seconds a connection may take to send a
     * request's line and headers [15]. */
    unsigned max_conns;
    unsigned max_conns_per_ip;
    bool no_per_ip_limit;
    unsigned header_timeout_s;
} http_limits;

typedef struct {
    const char *listen;     /* "HOST:PORT"; port 0 picks a free one */
    const char *data_dir;   /* where the database and files live */
    const char *models_dir; /* where the ONNX models are */
    const char *web_dir;    /* built web UI (web/dist); NULL or missing = none */
    unsigned threads;       /* worker threads; 0 = one per core */
    /* Names of the models the process has found (NULL-terminated; may be NULL). */
    const char *const *models_available;
    /* Names of the models loaded into the inference engine (NULL-terminated). */
    const char *const *models_loaded;
    /* PEM text of the TLS certificate and key; both set = HTTPS. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    http_limits limits;
    /* The database (store.h); NULL serves only the routes that need none. */
    struct store *store;
    /* Attendance rules over the store (the server makes its own when NULL). */
    struct att *att;
    /* Recognition (src/recog); NULL: the face endpoints answer 503. */
    struct recog *recog;
    /* The cameras feeding recog (src/camera); NULL: none run. */
    struct cam_feed *cameras;
    /* Metrics registry to render (the server creates its own when NULL). */
    rc_metrics *metrics;
    bool access_log; /* one log line per request */
    /* GET /metrics without credentials from loopback addresses (off by
     * default: a reverse proxy on the same host would make it public). */
    bool metrics_public_loopback;
} http_config;

/* Parse "HOST:PORT" (IPv4 or [IPv6]) into host and port; RC_ERR_INVALID with a
 * message saying what is wrong otherwise. `host` must hold 64 bytes. */
rc_status http_parse_listen(const char *listen, char host[64], uint16_t *port, rc_error *err);

/* Start serving on worker threads; returns at once. The caller stops it with
 * http_server_stop, which waits for requests in flight and frees it. */
rc_status http_server_start(const http_config *cfg, http_server **out, rc_error *err);

/* The port actually bound (useful when the configured port was 0). */
uint16_t http_server_port(const http_server *srv);

/* The server's metrics registry. */
rc_metrics *http_server_metrics(http_server *srv);

/* Send an event to every GET /api/v1/events stream: `event` is the SSE event
 * name ("recognition", "attendance"), `data` a JSON value (not stolen). */
void http_server_publish(http_server *srv, const char *event, const json_t *data);

/* Stop accepting connections, let requests in flight finish, end event
 * streams, and free the server. */
void http_server_stop(http_server *srv);

/* argon2id hash of `password` for storing (out holds at least 128 bytes). */
rc_status http_password_hash(const char *password, char *out, size_t out_size, rc_error *err);

/* First start: when the store has no active admin, create one with `email`
 * (default "admin@localhost") and `password`; with no password a random one
 * is made and written to `generated` (33 bytes) for the caller to show once.
 * *created tells whether an admin was made. */
rc_status http_ensure_admin(struct store *s, const char *email, const char *password,
                            char generated[33], bool *created, rc_error *err);

/* Print the route table (method, path pattern, roles) as JSON lines to `out`
 * (a FILE *), for tests and documentation. */
void http_print_routes(void *out);

#endif
