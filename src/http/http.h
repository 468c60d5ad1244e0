/*
 * http — Rollcall's one door: an HTTP server on libmicrohttpd that answers
 * JSON. This header is what the CLI needs to start and stop it; routes live in
 * the module's .c files.
 */
#ifndef RC_HTTP_H
#define RC_HTTP_H

#include <stdint.h>

#include "../rc/rc.h"

typedef struct http_server http_server;

typedef struct {
    const char *listen;     /* "HOST:PORT"; port 0 picks a free one */
    const char *data_dir;   /* where the database and files live */
    const char *models_dir; /* where the ONNX models are */
    unsigned threads;       /* worker threads; 0 = one per core */
    /* Names of the models the process has found (NULL-terminated; may be NULL). */
    const char *const *models_available;
    /* Names of the models loaded into the inference engine (NULL-terminated). */
    const char *const *models_loaded;
} http_config;

/* Parse "HOST:PORT" (IPv4 or [IPv6]) into host and port; RC_ERR_INVALID with a
 * message saying what is wrong otherwise. `host` must hold 64 bytes. */
rc_status http_parse_listen(const char *listen, char host[64], uint16_t *port, rc_error *err);

/* Start serving on worker threads; returns at once. The caller stops it with
 * http_server_stop, which waits for requests in flight and frees it. */
rc_status http_server_start(const http_config *cfg, http_server **out, rc_error *err);

/* The port actually bound (useful when the configured port was 0). */
uint16_t http_server_port(const http_server *srv);

void http_server_stop(http_server *srv);

#endif
