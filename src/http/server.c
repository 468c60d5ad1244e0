/*
 * server.c — libmicrohttpd setup and the life of one request: route lookup,
 * authentication and role check on the headers alone (so a refused upload is
 * refused before its body is read), body accumulation within the route's
 * limits, the handler call, then one access-log line and the metrics.
 * Shutdown stops accepting, lets requests in flight finish and ends event
 * streams. Every error answer has the shape { "error": { "code", "message" } }.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MB (1024u * 1024u)

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
        return rc_fail(err, RC_ERR_INVALID, "listen address '%s' has a bad port (0-65535)", listen);
    *port = (uint16_t)p;
    return RC_OK;
}

/* ---- replies ------------------------------------------------------------ */

enum MHD_Result http_reply_response(http_req *r, unsigned status, struct MHD_Response *resp)
{
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    if (r->srv->tls) /* browsers then never try plain HTTP for this host */
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    if (r->defer) {
        r->pending = resp;
        r->status = status;
        r->answered = true;
        return MHD_YES;
    }
    enum MHD_Result res = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    if (res == MHD_YES) {
        r->status = status;
        r->answered = true;
    }
    return res;
}

struct MHD_Response *http_owned_response(void *data, size_t len, const char *content_type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return NULL;
    }
    MHD_add_response_header(resp, "Content-Type", content_type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return resp;
}

enum MHD_Result http_reply_owned(http_req *r, unsigned status, const char *content_type, void *data,
                                 size_t len)
{
    return http_reply_response(r, status, http_owned_response(data, len, content_type));
}

struct MHD_Response *http_json_response(json_t *body)
{
    char *text =
        body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(body);
    if (!text) return NULL;
    return http_owned_response(text, strlen(text), "application/json; charset=utf-8");
}

enum MHD_Result http_reply_json(http_req *r, unsigned status, json_t *body)
{
    char *text =
        body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(body);
    if (!text) {
        text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (!text) return MHD_NO;
    }
    return http_reply_owned(r, status, "application/json; charset=utf-8", text, strlen(text));
}

/* {"error": {"code", "message", "params"}}: the code and its params are what
 * a client translates; the message is the same in English for logs and
 * scripts. */
static enum MHD_Result reply_error_v(http_req *r, unsigned status, const char *code, json_t *params,
                                     const char *fmt, va_list ap)
{
    char msg[600];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* A message quoting the client's bytes (or cut inside a character) may
     * not be UTF-8, which JSON cannot carry: such bytes become '?'. */
    if (!rc_utf8_valid(msg, strlen(msg)))
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
    if (!json_is_object(params)) {
        json_decref(params);
        params = json_object();
    }
    return http_reply_json(
        r, status,
        json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", msg, "params", params));
}

enum MHD_Result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt,
                                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result res = reply_error_v(r, status, code, NULL, fmt, ap);
    va_end(ap);
    return res;
}

enum MHD_Result http_reply_error_p(http_req *r, unsigned status, const char *code, json_t *params,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result res = reply_error_v(r, status, code, params, fmt, ap);
    va_end(ap);
    return res;
}

enum MHD_Result http_reply_rc(http_req *r, rc_status st, const rc_error *err)
{
    unsigned status;
    switch (st) {
    case RC_ERR_INVALID:
    case RC_ERR_CORRUPT:
        status = MHD_HTTP_BAD_REQUEST;
        break;
    case RC_ERR_UNSUPPORTED:
        status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        break;
    case RC_ERR_NOT_FOUND:
        status = MHD_HTTP_NOT_FOUND;
        break;
    case RC_ERR_LIMIT:
        status = MHD_HTTP_CONTENT_TOO_LARGE;
        break;
    case RC_ERR_CONFLICT:
        status = MHD_HTTP_CONFLICT;
        break;
    case RC_ERR_DENIED:
        status = MHD_HTTP_FORBIDDEN;
        break;
    case RC_ERR_NET:
        status = MHD_HTTP_BAD_GATEWAY;
        break;
    default:
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        break;
    }
    const char *msg = err && err->msg[0] ? err->msg : rc_status_name(st);
    if (status >= 500) rc_log(RC_LOG_ERROR, "%s %s: %s", r->method, r->path, msg);
    return http_reply_error(r, status, rc_status_name(st), "%s", msg);
}

enum MHD_Result http_reply_empty(http_req *r, unsigned status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return http_reply_response(r, status, resp);
}

/* ---- request accessors -------------------------------------------------- */

const char *http_query(const http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool http_query_int(http_req *r, const char *key, int64_t def, int64_t min, int64_t max,
                    int64_t *out)
{
    const char *v = http_query(r, key);
    if (!v || !*v) {
        *out = def;
        return true;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < min || n > max) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                         "query parameter '%s' must be an integer from %lld to %lld", key,
                         (long long)min, (long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool http_query_page(http_req *r, int64_t *limit, int64_t *offset)
{
    return http_query_int(r, "limit", 50, 1, 500, limit) &&
           http_query_int(r, "offset", 0, 0, INT64_MAX / 2, offset);
}

const char *http_param(const http_req *r, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < r->nparams; i++) /* names point into the pattern: "id}/..." */
        if (strncmp(r->param_names[i], name, len) == 0 && r->param_names[i][len] == '}')
            return r->params[i];
    return NULL;
}

bool http_param_id(http_req *r, const char *name, int64_t *out)
{
    const char *v = http_param(r, name);
    char *end = NULL;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || *end || n <= 0) {
        http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "'%s' is not a valid %s", v ? v : "",
                         name);
        return false;
    }
    *out = n;
    return true;
}

/* ---- the request life cycle --------------------------------------------- */

static bool is_loopback(const http_req *r)
{
    return strcmp(r->ip, "127.0.0.1") == 0 || strcmp(r->ip, "::1") == 0 ||
           strncmp(r->ip, "127.", 4) == 0 || strcmp(r->ip, "::ffff:127.0.0.1") == 0;
}

static void client_ip(struct MHD_Connection *conn, char out[64])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    http_addr_text(ci ? ci->client_addr : NULL, out);
}

/* MHD_get_connection_values callback: stops at a query parameter whose
 * name or value is not UTF-8, naming it in *(const char **)cls. */
static enum MHD_Result utf8_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    if (rc_utf8_valid(key, strlen(key)) && (!value || rc_utf8_valid(value, strlen(value))))
        return MHD_YES;
    *(const char **)cls = "a query parameter";
    return MHD_NO;
}

static enum MHD_Result add_header_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static enum MHD_Result count_content_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                            const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, "Content-Length") == 0) ++*(unsigned *)cls;
    return MHD_YES;
}

static bool method_is_safe(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* The checks that need only the request line and headers. Returns true when
 * an answer was queued (the request is refused). */
static bool check_headers(http_req *r, enum MHD_Result *res)
{
    http_server *srv = r->srv;
    size_t hdr = strlen(r->path) + strlen(r->method) + 16;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header_len, &hdr);
    if (hdr > srv->cfg.limits.max_header) {
        *res = http_reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large",
                                "request headers are %zu bytes; the limit is %zu", hdr,
                                srv->cfg.limits.max_header);
        return true;
    }
    /* Two lengths make the body's end ambiguous (request smuggling behind a
     * proxy that reads the other one): refused, and the connection closed. */
    unsigned lengths = 0;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_content_length, &lengths);
    if (lengths > 1) {
        *res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_content_length",
                                "the request has %u Content-Length headers; send one", lengths);
        return true;
    }
    /* Text that is not UTF-8 cannot be a name, a code or a search, nor be
     * quoted back in JSON: refused before any handler reads it. */
    const char *bad = rc_utf8_valid(r->path, strlen(r->path)) ? NULL : "the path";
    if (!bad) MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, utf8_arg, &bad);
    if (bad) {
        *res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_encoding",
                                "%s of the request is not valid UTF-8", bad);
        return true;
    }
    bool path_known = false;
    r->route = http_route_find(r->method, r->path, r, &path_known);
    /* The size check needs only the declared length. A refusal for a body
     * within the limit is sent after that body was read; one over the limit
     * (or no body at all) is answered at once. */
    if (r->route)
        r->body_limit =
            (r->route->flags & HTTP_BIG_UPLOAD) ? srv->cfg.limits.max_import
            : (r->route->flags & HTTP_CAPTURE) && srv->cfg.limits.max_body > HTTP_CAPTURE_MAX
                ? HTTP_CAPTURE_MAX
                : srv->cfg.limits.max_body;
    const char *cl = http_header(r, "Content-Length");
    const char *te = http_header(r, "Transfer-Encoding");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end || n > r->body_limit) r->body_too_large = true;
        r->defer = !r->body_too_large && n > 0;
    } else if (te) {
        r->defer = true;
    }
    if (!r->route) {
        bool api = strncmp(r->path, "/api/", 5) == 0 || strcmp(r->path, "/api") == 0;
        if (path_known) {
            *res = http_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                    "%s is not allowed on %.200s", r->method, r->path);
            return true;
        }
        if (api || !method_is_safe(r->method)) {
            *res = http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no route for %s %.200s",
                                    r->method, r->path);
            return true;
        }
        return false; /* static file: answered once the (empty) body is read */
    }
    http_auth_resolve(r);
    unsigned roles = r->route->roles;
    bool allowed = (roles & r->who.role) != 0;
    if (!allowed && (r->route->flags & HTTP_LOOPBACK_OK) && srv->cfg.metrics_public_loopback &&
        is_loopback(r))
        allowed = true;
    if (!allowed) {
        if (r->who.role == HTTP_ANON)
            *res = http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                    "sign in (session cookie) or send an API key "
                                    "(Authorization: Bearer ...) to use %s %s",
                                    r->method, r->route->pattern);
        else
            *res = http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                                    "the %s role may not use %s %s", http_role_name(r->who.role),
                                    r->method, r->route->pattern);
        return true;
    }
    if (r->who.must_change && !(r->route->flags & HTTP_PW_CHANGE)) {
        *res = http_reply_error(r, MHD_HTTP_FORBIDDEN, "password_change_required",
                                "change your one-time password first "
                                "(POST /api/v1/auth/password)");
        return true;
    }
    if (r->who.via_cookie && !method_is_safe(r->method) && !(r->route->flags & HTTP_NO_CSRF)) {
        const char *tok = http_header(r, "X-CSRF-Token");
        if (!tok || !http_ct_equal(tok, r->who.csrf)) {
            *res = http_reply_error(r, MHD_HTTP_FORBIDDEN, "csrf_failed",
                                    "state-changing requests made with the session cookie need "
                                    "the X-CSRF-Token header from login or /api/v1/auth/me");
            return true;
        }
    }
    if (r->body_too_large) {
        *res = http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                                "request body of %s bytes is over the limit of %zu bytes",
                                http_header(r, "Content-Length"), r->body_limit);
        return true;
    }
    return false;
}

/* Take `n` more bytes of the server's body budget for r; false when that
 * would pass HTTP_BODY_BUDGET times the body limit. */
static bool body_reserve(http_req *r, size_t n)
{
    http_server *srv = r->srv;
    size_t budget = (size_t)HTTP_BODY_BUDGET * srv->cfg.limits.max_body;
    pthread_mutex_lock(&srv->lock);
    bool ok = srv->body_held + n <= budget;
    if (ok) {
        srv->body_held += n;
        r->body_held += n;
    }
    pthread_mutex_unlock(&srv->lock);
    return ok;
}

static void body_release(http_req *r)
{
    if (!r->body_held) return;
    pthread_mutex_lock(&r->srv->lock);
    r->srv->body_held -= r->body_held;
    pthread_mutex_unlock(&r->srv->lock);
    r->body_held = 0;
}

static void request_free(http_req *r)
{
    body_release(r);
    if (r->pending) MHD_destroy_response(r->pending);
    if (r->pp) MHD_destroy_post_processor(r->pp);
    free(r->body);
    for (size_t i = 0; i < r->nparts; i++) {
        free(r->parts[i].name);
        free(r->parts[i].filename);
        free(r->parts[i].content_type);
        free(r->parts[i].data);
    }
    free(r->parts);
    if (r->spool_fd >= 0) close(r->spool_fd);
    free(r);
}

/* ---- handlers on recog's work queue ------------------------------------- */

/* Runs on a recog thread: the handler answers into r->pending (r->defer),
 * then the connection resumes and dispatch queues the answer. */
static void run_deferred(void *arg)
{
    http_req *r = arg;
    enum MHD_Result res = r->route->fn(r);
    if (!r->answered)
        http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                         res == MHD_YES ? "the handler for %s %s gave no answer"
                                        : "the handler for %s %s failed",
                         r->method, r->route->pattern);
    MHD_resume_connection(r->conn);
}

/* Decoding images and recognition never run on a libmicrohttpd thread (one
 * slow upload would stall every connection that thread serves, /healthz and
 * login included): the connection is suspended and the handler queued. A
 * full queue is answered at once with 503 and Retry-After. */
static enum MHD_Result offload(http_req *r)
{
    r->defer = true;
    MHD_suspend_connection(r->conn);
    rc_error err;
    if (recog_submit(r->srv->cfg.recog, run_deferred, r, &err) == RC_OK) return MHD_YES;
    MHD_resume_connection(r->conn);
    r->defer = false;
    return http_reply_busy(r, err.msg);
}

enum MHD_Result http_reply_busy(http_req *r, const char *why)
{
    struct MHD_Response *resp = http_json_response(
        json_pack("{s:{s:s,s:s,s:{}}}", "error", "code", "busy", "message", why, "params"));
    if (resp) MHD_add_response_header(resp, "Retry-After", "1");
    return http_reply_response(r, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
}

static enum MHD_Result dispatch(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls)
{
    (void)version;
    http_server *srv = cls;
    http_req *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *req_cls = r;
        r->srv = srv;
        r->conn = conn;
        r->method = method;
        r->path = url;
        r->t0 = rc_mono_ms();
        r->body_limit = srv->cfg.limits.max_body;
        r->spool_fd = -1;
        client_ip(conn, r->ip);
        http_conns_key(srv->conns, conn, r->ip, r->addr_key);
        snprintf(r->who.label, sizeof r->who.label, "-");
        r->who.role = HTTP_ANON;
        http_conns_request(srv->conns, conn, true);
        pthread_mutex_lock(&srv->lock);
        bool stopping = srv->stopping;
        srv->in_flight++;
        pthread_mutex_unlock(&srv->lock);
        if (stopping)
            return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                                    "the server is shutting down; try again shortly");
        enum MHD_Result res;
        bool refused = check_headers(r, &res);
        r->defer = false;
        if (refused) return res;
        r->body_too_large = false; /* judged again on the bytes that arrive */
        return MHD_YES;
    }
    if (r->answered) { /* refused from the headers: drop the body, then answer */
        if (*upload_size) {
            r->drained += *upload_size;
            *upload_size = 0;
            if (r->drained > r->body_limit) return MHD_NO;
            return MHD_YES;
        }
        if (r->pending) {
            struct MHD_Response *resp = r->pending;
            r->pending = NULL;
            enum MHD_Result res = MHD_queue_response(conn, r->status, resp);
            MHD_destroy_response(resp);
            return res;
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rc_mono_ms() - r->t0 > srv->cfg.limits.request_time_s * 1000.0) {
            rc_log(RC_LOG_WARN, "%s %s from %s: body took longer than %us; closing", method, url,
                   r->ip, srv->cfg.limits.request_time_s);
            /* Answer 408 (libmicrohttpd sends it and closes the connection);
             * if it cannot be queued mid-upload, just close. */
            if (http_reply_error(r, MHD_HTTP_REQUEST_TIMEOUT, "request_timeout",
                                 "the request took longer than %u s to arrive",
                                 srv->cfg.limits.request_time_s) != MHD_YES) {
                r->status = MHD_HTTP_REQUEST_TIMEOUT;
                return MHD_NO;
            }
            return MHD_YES;
        }
        bool wants_body = r->route && (r->route->flags & (HTTP_BODY_JSON | HTTP_BODY_UPLOAD));
        if (!wants_body || r->body_too_large || r->body_refused) return MHD_YES;
        if (r->body_len + r->streamed + n > r->body_limit) {
            r->body_too_large = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
            return MHD_YES;
        }
        if (r->route->flags & HTTP_BIG_UPLOAD) {
            /* Parsed as it arrives, never held twice; a body that is not
             * multipart is not held at all (the handler answers 415). */
            if (http_is_multipart(r)) http_multipart_feed(r, upload, n);
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 65536;
            while (cap < r->body_len + n + 1) cap *= 2;
            if (cap > r->body_limit + 1) cap = r->body_limit + 1;
            if (!body_reserve(r, cap - r->body_cap)) {
                rc_log(RC_LOG_WARN,
                       "%s %s from %s: request bodies in memory reached %u times the body "
                       "limit; this one is dropped",
                       method, url, r->ip, HTTP_BODY_BUDGET);
                r->body_refused = true;
                free(r->body);
                r->body = NULL;
                r->body_len = r->body_cap = 0;
                body_release(r);
                return MHD_YES;
            }
            unsigned char *b = realloc(r->body, cap);
            if (!b) return MHD_NO;
            r->body = b;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload, n);
        r->body_len += n;
        r->body[r->body_len] = 0;
        return MHD_YES;
    }
    /* The whole request has arrived. */
    if (r->body_too_large)
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                                "request body is over the limit of %zu bytes", r->body_limit);
    if (r->body_refused)
        return http_reply_busy(
            r, "the server holds as many request bodies as it may at once; try again shortly");
    if (!r->route) return http_static_serve(r, srv->cfg.web_dir);
    if ((r->route->flags & HTTP_WORK) && srv->cfg.recog) return offload(r);
    enum MHD_Result res = r->route->fn(r);
    if (!r->answered && !r->stream && res == MHD_YES)
        return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                "the handler for %s %s gave no answer", method, r->route->pattern);
    return res;
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    http_server *srv = cls;
    http_req *r = *req_cls;
    if (!r) return;
    *req_cls = NULL;
    http_conns_request(srv->conns, conn, false);
    double ms = rc_mono_ms() - r->t0;
    unsigned status =
        r->status ? r->status : (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499);
    const char *route =
        r->route ? r->route->pattern : (r->answered && status >= 400 ? "unmatched" : "static");
    http_metrics_observe(srv->metrics, r->method, route, status, ms);
    if (srv->cfg.access_log) {
        /* The path is client text: no control characters, quotes or spaces
         * may reach the log, so one request stays one parseable line. */
        char path[256];
        size_t j = 0;
        for (size_t i = 0; r->path[i] && j + 4 < sizeof path; i++) {
            unsigned char ch = (unsigned char)r->path[i];
            if (ch <= 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f)
                j += (size_t)snprintf(path + j, sizeof path - j, "%%%02X", ch);
            else
                path[j++] = (char)ch;
        }
        path[j] = 0;
        rc_log(RC_LOG_INFO, "access method=%s path=%s status=%u ms=%.1f principal=%s ip=%s",
               r->method, path, status, ms, r->who.label, r->ip);
    }
    if (!r->stream) {
        pthread_mutex_lock(&srv->lock);
        srv->in_flight--;
        if (srv->in_flight == 0) pthread_cond_broadcast(&srv->idle);
        pthread_mutex_unlock(&srv->lock);
    }
    request_free(r);
}

static void *heartbeat_main(void *arg)
{
    http_server *srv = arg;
    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 15;
        pthread_cond_timedwait(&srv->idle, &srv->lock, &ts);
        if (srv->stopping) break;
        pthread_mutex_unlock(&srv->lock);
        http_hub_revalidate(srv->hub); /* keys revoked, sessions ended elsewhere */
        http_hub_wake(srv->hub);
        pthread_mutex_lock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static void panic_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    rc_log(RC_LOG_WARN, "libmicrohttpd: %s", msg);
}

static void apply_default_limits(http_limits *l)
{
    if (!l->max_body) l->max_body = 20 * MB;
    if (!l->max_import) l->max_import = 512 * MB;
    if (!l->max_files) l->max_files = 100;
    if (!l->max_header) l->max_header = 32 * 1024;
    if (!l->request_time_s) l->request_time_s = 120;
    if (!l->idle_timeout_s) l->idle_timeout_s = 60;
    if (!l->max_conns) l->max_conns = 1000;
    if (!l->max_conns_per_ip && !l->no_per_ip_limit) l->max_conns_per_ip = 128;
    if (!l->header_timeout_s) l->header_timeout_s = 15;
}

/* TLS 1.2 and 1.3 only, and only key exchanges with forward secrecy
 * (ECDHE; no static RSA, no plain DHE) and AEAD ciphers (GnuTLS syntax). */
static const char tls_priorities[] =
    "SECURE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-DHE-RSA:-DHE-DSS:-CIPHER-ALL:"
    "+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE";

rc_status http_server_start(const http_config *cfg, http_server **out, rc_error *err)
{
    *out = NULL;
    char host[64];
    uint16_t port;
    rc_status st = http_parse_listen(cfg->listen, host, &port, err);
    if (st != RC_OK) return st;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO |
                     MHD_ALLOW_SUSPEND_RESUME;
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
    bool tls = cfg->tls_cert_pem && cfg->tls_key_pem;
    if ((cfg->tls_cert_pem != NULL) != (cfg->tls_key_pem != NULL))
        return rc_fail(err, RC_ERR_INVALID, "HTTPS needs both a certificate and a key");
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return rc_fail(err, RC_ERR_UNSUPPORTED,
                           "this libmicrohttpd was built without TLS support");
        flags |= MHD_USE_TLS;
    }

    http_server *srv = calloc(1, sizeof *srv);
    if (!srv) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    srv->cfg = *cfg;
    apply_default_limits(&srv->cfg.limits);
    srv->started_ms = rc_mono_ms();
    srv->tls = tls;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->reg_lock, NULL);
    pthread_mutex_init(&srv->auth_lock, NULL);
    pthread_cond_init(&srv->idle, NULL);
    srv->metrics = cfg->metrics;
    if (!srv->metrics) {
        srv->metrics = rc_metrics_create();
        srv->own_metrics = true;
    }
    srv->hub = http_hub_create(cfg->store);
    /* The per-address cap is counted here, by http_addr_key, rather than
     * by libmicrohttpd's own option, which counts each IPv6 address apart. */
    srv->conns =
        http_conns_create(srv->cfg.limits.header_timeout_s, srv->cfg.limits.max_conns_per_ip);
    srv->login_limiter = http_limiter_create(20, 300, 900);
    /* A kiosk is one address: 10 wrong PINs in 5 minutes close it for 5
     * (a check-in's success forgives only the failures on its own code). */
    srv->pin_limiter = http_limiter_create(10, 300, 300);
    /* One person's code, from any kiosk: 5 wrong PINs in 15 minutes lock
     * its PIN check-in for 15. */
    srv->code_limiter = http_limiter_create(5, 900, 900);
    srv->pair_counter = http_limiter_create(0, 300, 0);
    /* Every self-registration attempt counts: 10 an hour from one address. */
    srv->reg_limiter = http_limiter_create(10, 3600, 3600);
    /* One member's self check-ins: 5 failed verifications in 15 minutes
     * (the audit rows count them too, so the limit outlives a restart). */
    srv->self_limiter =
        http_limiter_create(HTTP_SELF_FAIL_LIMIT, HTTP_SELF_FAIL_WINDOW_S, HTTP_SELF_FAIL_WINDOW_S);
    srv->photos = http_photos_create();
    if (http_password_hash("rollcall-no-such-user", srv->dummy_hash, sizeof srv->dummy_hash, err) !=
        RC_OK) {
        http_server_stop(srv);
        return err ? err->code : RC_ERR_INTERNAL;
    }
    if (!srv->metrics || !srv->hub || !srv->photos || !srv->login_limiter || !srv->pin_limiter ||
        !srv->code_limiter || !srv->pair_counter || !srv->reg_limiter || !srv->self_limiter ||
        !srv->conns) {
        http_server_stop(srv);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    srv->att = cfg->att;
    if (!srv->att && cfg->store) {
        if ((st = att_create(cfg->store, &srv->att, err)) != RC_OK) {
            http_server_stop(srv);
            return st;
        }
        srv->own_att = true;
    }
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    size_t mem = srv->cfg.limits.max_header * 2 + 32 * 1024;
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cfg->tls_cert_pem},
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)cfg->tls_key_pem},
        {tls ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END, 0, (void *)tls_priorities},
        {MHD_OPTION_END, 0, NULL},
    };
    if (cfg->recog) srv->recog_listener = recog_listen(cfg->recog, http_recog_event, srv);
    srv->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, dispatch, srv, MHD_OPTION_EXTERNAL_LOGGER, panic_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.limits.idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
        MHD_OPTION_CONNECTION_LIMIT, srv->cfg.limits.max_conns, MHD_OPTION_NOTIFY_CONNECTION,
        http_conns_notify, srv->conns, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!srv->daemon) {
        http_server_stop(srv);
        if (tls)
            return rc_fail(err, RC_ERR_IO,
                           "cannot start HTTPS on %s (is the certificate/key pair valid PEM "
                           "and matching? is the address in use?)",
                           cfg->listen);
        return rc_fail(err, RC_ERR_IO,
                       "cannot listen on %s (address in use, or not an address of this "
                       "machine?)",
                       cfg->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    if (pthread_create(&srv->heartbeat, NULL, heartbeat_main, srv) == 0)
        srv->heartbeat_running = true;
    *out = srv;
    return RC_OK;
}

uint16_t http_server_port(const http_server *srv)
{
    return srv->port;
}

rc_metrics *http_server_metrics(http_server *srv)
{
    return srv->metrics;
}

void http_server_stop(http_server *srv)
{
    if (!srv) return;
    MHD_socket listen_fd = MHD_INVALID_SOCKET;
    if (srv->daemon) listen_fd = MHD_quiesce_daemon(srv->daemon);
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->idle);
    /* Requests in flight finish (bounded, so a stuck client cannot hold us). */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    while (srv->in_flight > 0) {
        if (pthread_cond_timedwait(&srv->idle, &srv->lock, &deadline) != 0) {
            rc_log(RC_LOG_WARN, "%u request(s) still running after 30 s; stopping anyway",
                   srv->in_flight);
            break;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    if (srv->heartbeat_running) pthread_join(srv->heartbeat, NULL);
    /* Frames recognized from now on (cameras) are no longer published. */
    if (srv->recog_listener) recog_unlisten(srv->cfg.recog, srv->recog_listener);
    /* Event streams end their responses; then the daemon can go. */
    if (srv->hub) http_hub_destroy(srv->hub);
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
    http_limiter_destroy(srv->login_limiter);
    http_limiter_destroy(srv->pin_limiter);
    http_limiter_destroy(srv->code_limiter);
    http_limiter_destroy(srv->pair_counter);
    http_limiter_destroy(srv->reg_limiter);
    http_limiter_destroy(srv->self_limiter);
    http_photos_destroy(srv->photos);
    http_conns_destroy(srv->conns);
    if (srv->own_att) att_destroy(srv->att);
    if (srv->own_metrics) rc_metrics_destroy(srv->metrics);
    pthread_cond_destroy(&srv->idle);
    pthread_mutex_destroy(&srv->lock);
    pthread_mutex_destroy(&srv->reg_lock);
    pthread_mutex_destroy(&srv->auth_lock);
    free(srv);
}

void http_server_publish(http_server *srv, const char *event, const json_t *data)
{
    http_hub_publish(srv->hub, event, data);
}

void http_print_routes(void *out)
{
    FILE *f = out;
    for (size_t i = 0; i < http_route_count; i++) {
        const http_route *rt = &http_routes[i];
        json_t *roles = json_array();
        for (unsigned b = HTTP_ANON; b <= HTTP_ROLE_LAST; b <<= 1)
            if (rt->roles & b) json_array_append_new(roles, json_string(http_role_name(b)));
        json_t *o = json_pack("{s:s,s:s,s:o,s:b}", "method", rt->method, "path", rt->pattern,
                              "roles", roles, "loopback_ok", (rt->flags & HTTP_LOOPBACK_OK) != 0);
        char *s = json_dumps(o, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        free(s);
        json_decref(o);
    }
}
