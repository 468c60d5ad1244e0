/*
 * server.c — libmicrohttpd setup, request dispatch and the routes that exist
 * so far (GET /healthz). Every answer is JSON; every error has the shape
 * { "error": { "code", "message" } }.
 */
#include "http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct http_server {
    struct MHD_Daemon *daemon;
    http_config cfg;
    double started_ms;
    uint16_t port;
};

rc_status http_parse_listen(const char *listen, char host[64], uint16_t *port, rc_error *err)
{
    if (!listen || !*listen)
        return rc_fail(err, RC_ERR_INVALID, "listen address is empty (want HOST:PORT)");
    const char *colon = strrchr(listen, ':');
    if (!colon) return rc_fail(err, RC_ERR_INVALID, "listen address '%s' has no :PORT", listen);
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= 64)
        return rc_fail(err, RC_ERR_INVALID, "listen address '%s' has a bad host", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return rc_fail(err, RC_ERR_INVALID, "listen address '%s' has a bad port (0-65535)",
                       listen);
    *port = (uint16_t)p;
    return RC_OK;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *message)
{
    return send_json(conn, status,
                     json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

static json_t *string_list(const char *const *names)
{
    json_t *arr = json_array();
    for (size_t i = 0; names && names[i]; i++) json_array_append_new(arr, json_string(names[i]));
    return arr;
}

static enum MHD_Result route_healthz(http_server *srv, struct MHD_Connection *conn)
{
    double up = (rc_mono_ms() - srv->started_ms) / 1000.0;
    json_t *body = json_pack("{s:s,s:s,s:f,s:{s:s,s:o,s:o}}", "status", "ok", "version",
                             RC_VERSION, "uptime_s", up, "models", "dir", srv->cfg.models_dir,
                             "available", string_list(srv->cfg.models_available), "loaded",
                             string_list(srv->cfg.models_loaded));
    return send_json(conn, MHD_HTTP_OK, body);
}

static enum MHD_Result dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload;
    http_server *srv = cls;
    /* First call for a request: only headers are known. Remember we saw it. */
    if (*req_cls == NULL) {
        *req_cls = srv;
        return MHD_YES;
    }
    if (*upload_size) { /* no route takes a body yet: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                              "/healthz answers GET only");
        return route_healthz(srv, conn);
    }
    char msg[300];
    snprintf(msg, sizeof msg, "no route for %s %.200s", method, url);
    return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", msg);
}

rc_status http_server_start(const http_config *cfg, http_server **out, rc_error *err)
{
    *out = NULL;
    char host[64];
    uint16_t port;
    rc_status st = http_parse_listen(cfg->listen, host, &port, err);
    if (st != RC_OK) return st;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else if (strcmp(host, "localhost") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        return rc_fail(err, RC_ERR_INVALID,
                       "listen host '%s' is not an IP address (use e.g. 127.0.0.1 or 0.0.0.0)",
                       host);
    }

    http_server *srv = calloc(1, sizeof *srv);
    if (!srv) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    srv->cfg = *cfg;
    srv->started_ms = rc_mono_ms();
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    srv->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, dispatch, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!srv->daemon) {
        free(srv);
        return rc_fail(err, RC_ERR_IO,
                       "cannot listen on %s (address in use, or not an address of this "
                       "machine?)",
                       cfg->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    *out = srv;
    return RC_OK;
}

uint16_t http_server_port(const http_server *srv)
{
    return srv->port;
}

void http_server_stop(http_server *srv)
{
    if (!srv) return;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
