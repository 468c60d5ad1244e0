/* test_http.c — the server starts on a free loopback port, answers /healthz
 * with JSON, gives JSON errors for unknown routes and methods, and refuses bad
 * listen addresses with a message. The pieces under it: path patterns, the
 * route table (and that openapi.json documents every route with the same
 * roles), argon2id hashes, tokens, constant-time compare, the login limiter
 * and the metrics text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"
#include "store/store.h"

/* Send a raw request and return the whole response (caller frees). */
static char *raw_request(uint16_t port, const char *req)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
    close(fd);
    return buf;
}

static json_t *body_json(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    assert_non_null(b);
    json_error_t je;
    json_t *j = json_loads(b + 4, 0, &je);
    assert_non_null(j);
    return j;
}

static void healthz_answers_json(void **state)
{
    (void)state;
    const char *models[] = {"fr_detect.onnx", NULL};
    http_config cfg = {.listen = "127.0.0.1:0",
                       .data_dir = "/tmp",
                       .models_dir = "/m",
                       .threads = 2,
                       .models_available = models};
    http_server *srv;
    rc_error err;
    assert_int_equal(http_server_start(&cfg, &srv, &err), RC_OK);
    uint16_t port = http_server_port(srv);
    assert_true(port > 0);

    char *resp = raw_request(port, "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.0 200") ? resp : strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strstr(resp, "application/json"));
    json_t *j = body_json(resp);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "version")), RC_VERSION);
    assert_true(json_real_value(json_object_get(j, "uptime_s")) >= 0.0);
    json_t *avail = json_object_get(json_object_get(j, "models"), "available");
    assert_int_equal(json_array_size(avail), 1);
    assert_string_equal(json_string_value(json_array_get(avail, 0)), "fr_detect.onnx");
    /* anyone may ask: no path of the server's disk in the answer */
    assert_null(json_object_get(json_object_get(j, "models"), "dir"));
    assert_null(strstr(resp, "\"/m\""));
    json_decref(j);
    free(resp);

    resp = raw_request(port, "GET /nope HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(resp, " 404 "));
    j = body_json(resp);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "not_found");
    json_decref(j);
    free(resp);

    resp = raw_request(port, "DELETE /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(resp, " 405 "));
    free(resp);

    http_server_stop(srv);
}

/* A manager whose only group was deleted has no groups left: signing in and
 * asking for people must neither read through a NULL list (UBSan: memcpy
 * from NULL, issue 13 item 21) nor widen to every group (item 3). */
static void a_manager_without_groups_left_reaches_nobody(void **state)
{
    (void)state;
    char dir[] = "/tmp/rollcall-http-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof url, "%s/db.sqlite", dir);
    store *s;
    rc_error err;
    assert_int_equal(store_open(url, 0, &s, &err), RC_OK);
    store_person p = {.active = 1};
    snprintf(p.external_id, sizeof p.external_id, "E1");
    snprintf(p.name, sizeof p.name, "Someone Else");
    assert_int_equal(store_person_create(s, &p, &err), RC_OK);
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "Only");
    assert_int_equal(store_group_create(s, &g, &err), RC_OK);
    store_user u = {.active = 1};
    snprintf(u.email, sizeof u.email, "boss@example.org");
    snprintf(u.name, sizeof u.name, "Boss");
    snprintf(u.role, sizeof u.role, "manager");
    assert_int_equal(http_password_hash("boss-pass-1", u.pass_hash, sizeof u.pass_hash, &err),
                     RC_OK);
    assert_int_equal(store_user_create(s, &u, &err), RC_OK);
    /* Limited to "Only" the way the API sets it, then "Only" goes. */
    char body[160], req[1024];
    http_config cfg = {
        .listen = "127.0.0.1:0", .data_dir = dir, .models_dir = "/m", .threads = 2, .store = s};
    http_server *srv;
    assert_int_equal(http_server_start(&cfg, &srv, &err), RC_OK);
    uint16_t port = http_server_port(srv);
    char admin_pw[33];
    bool created;
    assert_int_equal(
        http_ensure_admin(s, "admin@example.org", "admin-pass-1", admin_pw, &created, &err), RC_OK);
    /* Sign in (as admin, then as the manager) and return the cookie token. */
    char cookies[2][65], csrf[65] = "";
    const char *who[2][2] = {{"admin@example.org", "admin-pass-1"},
                             {"boss@example.org", "boss-pass-1"}};
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", who[i][0], who[i][1]);
        snprintf(req, sizeof req,
                 "POST /api/v1/auth/login HTTP/1.0\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
        char *resp = raw_request(port, req);
        const char *c = strstr(resp, "rc_session=");
        assert_non_null(c);
        snprintf(cookies[i], sizeof cookies[i], "%.64s", c + 11);
        if (i == 0) {
            json_t *j = body_json(resp);
            snprintf(csrf, sizeof csrf, "%s", json_string_value(json_object_get(j, "csrf_token")));
            json_decref(j);
        }
        free(resp);
    }
    snprintf(body, sizeof body, "{\"group_ids\":[%lld]}", (long long)g.id);
    snprintf(req, sizeof req,
             "PATCH /api/v1/users/%lld HTTP/1.0\r\nCookie: rc_session=%s\r\nX-CSRF-Token: %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             (long long)u.id, cookies[0], csrf, strlen(body), body);
    char *resp = raw_request(port, req);
    assert_non_null(strstr(resp, " 200 "));
    free(resp);
    assert_int_equal(store_group_delete(s, g.id, &err), RC_OK);

    snprintf(req, sizeof req, "GET /api/v1/persons HTTP/1.0\r\nCookie: rc_session=%s\r\n\r\n",
             cookies[1]);
    resp = raw_request(port, req);
    assert_non_null(strstr(resp, " 200 "));
    json_t *j = body_json(resp);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    free(resp);
    http_server_stop(srv);
    store_close(s);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void bad_listen_addresses_are_refused(void **state)
{
    (void)state;
    char host[64];
    uint16_t port;
    rc_error err;
    assert_int_equal(http_parse_listen("127.0.0.1:8080", host, &port, &err), RC_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(http_parse_listen("[::1]:9", host, &port, &err), RC_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(http_parse_listen("127.0.0.1", host, &port, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no :PORT"));
    assert_int_equal(http_parse_listen("1.2.3.4:99999", host, &port, &err), RC_ERR_INVALID);
    assert_int_equal(http_parse_listen("1.2.3.4:12x", host, &port, &err), RC_ERR_INVALID);
    assert_int_equal(http_parse_listen(":80", host, &port, &err), RC_ERR_INVALID);
    http_config cfg = {.listen = "example.org:80"};
    http_server *srv;
    assert_int_equal(http_server_start(&cfg, &srv, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "not an IP address"));
}

static void port_in_use_is_a_clear_error(void **state)
{
    (void)state;
    http_config cfg = {.listen = "127.0.0.1:0", .data_dir = "/tmp", .models_dir = "/m"};
    http_server *a, *b;
    rc_error err;
    assert_int_equal(http_server_start(&cfg, &a, &err), RC_OK);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", http_server_port(a));
    cfg.listen = listen;
    assert_int_equal(http_server_start(&cfg, &b, &err), RC_ERR_IO);
    assert_non_null(strstr(err.msg, "cannot listen"));
    http_server_stop(a);
}

static void patterns_match_whole_segments(void **state)
{
    (void)state;
    http_req r;
    memset(&r, 0, sizeof r);
    assert_true(http_route_match("/api/v1/persons", "/api/v1/persons", NULL));
    assert_false(http_route_match("/api/v1/persons", "/api/v1/persons/", NULL));
    assert_false(http_route_match("/api/v1/persons", "/api/v1/person", NULL));
    assert_false(http_route_match("/api/v1/persons", "/api/v1/personsX", NULL));
    assert_true(http_route_match("/api/v1/persons/{id}/faces/{face_id}",
                                 "/api/v1/persons/12/faces/345", &r));
    assert_int_equal(r.nparams, 2);
    assert_string_equal(http_param(&r, "id"), "12");
    assert_string_equal(http_param(&r, "face_id"), "345");
    assert_null(http_param(&r, "i"));
    assert_null(http_param(&r, "nope"));
    /* A placeholder never matches an empty or multi-segment value. */
    assert_false(http_route_match("/api/v1/persons/{id}", "/api/v1/persons/", NULL));
    assert_false(http_route_match("/api/v1/persons/{id}", "/api/v1/persons/1/2", NULL));
    char longseg[128] = "/api/v1/persons/";
    memset(longseg + 16, '7', 80);
    longseg[96] = 0;
    assert_false(http_route_match("/api/v1/persons/{id}", longseg, NULL));
}

static void route_table_is_consistent(void **state)
{
    (void)state;
    bool known = false;
    assert_non_null(http_route_find("GET", "/healthz", NULL, &known));
    assert_non_null(http_route_find("HEAD", "/healthz", NULL, &known));
    assert_null(http_route_find("DELETE", "/healthz", NULL, &known));
    assert_true(known);
    assert_null(http_route_find("GET", "/no/such", NULL, &known));
    assert_false(known);
    for (size_t i = 0; i < http_route_count; i++) {
        const http_route *a = &http_routes[i];
        assert_true(a->pattern[0] == '/');
        assert_true(a->roles != 0);
        assert_non_null(a->fn);
        for (size_t j = i + 1; j < http_route_count; j++)
            assert_false(strcmp(a->method, http_routes[j].method) == 0 &&
                         strcmp(a->pattern, http_routes[j].pattern) == 0);
    }
}

/* Every route in the table is documented in openapi.json under the same
 * method with the same x-roles, so the web client and the server agree. */
static void openapi_documents_every_route(void **state)
{
    (void)state;
    json_error_t je;
    json_t *doc = json_loadb((const char *)http_openapi_json, http_openapi_json_len, 0, &je);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < http_route_count; i++) {
        const http_route *rt = &http_routes[i];
        char method[16];
        size_t k = 0;
        for (; rt->method[k] && k < sizeof method - 1; k++)
            method[k] = (char)(rt->method[k] | 0x20);
        method[k] = 0;
        json_t *op = json_object_get(json_object_get(paths, rt->pattern), method);
        if (!op) fail_msg("%s %s is not in openapi.json", rt->method, rt->pattern);
        json_t *roles = json_object_get(op, "x-roles");
        unsigned bits = 0;
        size_t idx;
        json_t *v;
        json_array_foreach(roles, idx, v)
        {
            const char *name = json_string_value(v);
            bits |= strcmp(name, "public") == 0 ? HTTP_ANYONE : http_role_bit(name);
        }
        if (bits != rt->roles)
            fail_msg("%s %s: roles in openapi.json (0x%x) differ from the table (0x%x)", rt->method,
                     rt->pattern, bits, rt->roles);
    }
    json_decref(doc);
}

static void passwords_hash_with_argon2id(void **state)
{
    (void)state;
    char hash[256], hash2[256];
    rc_error err;
    assert_int_equal(http_password_hash("correct horse", hash, sizeof hash, &err), RC_OK);
    assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
    assert_true(http_password_verify(hash, "correct horse"));
    assert_false(http_password_verify(hash, "correct hors"));
    assert_false(http_password_verify(hash, ""));
    assert_false(http_password_verify("not a hash", "correct horse"));
    /* Salted: the same password hashes differently each time. */
    assert_int_equal(http_password_hash("correct horse", hash2, sizeof hash2, &err), RC_OK);
    assert_string_not_equal(hash, hash2);
    assert_int_equal(http_password_hash("x", hash2, 16, &err), RC_ERR_INTERNAL);
}

static void tokens_are_random_and_compared_in_constant_time(void **state)
{
    (void)state;
    char a[65], b[65];
    http_random_hex(a, 32);
    http_random_hex(b, 32);
    assert_int_equal(strlen(a), 64);
    assert_string_not_equal(a, b);
    assert_true(http_ct_equal(a, a));
    assert_false(http_ct_equal(a, b));
    assert_false(http_ct_equal("abc", "abcd"));
    assert_false(http_ct_equal("", ""));
    char h1[65], h2[65];
    http_token_hash("secret", h1);
    http_token_hash("secret", h2);
    assert_string_equal(h1, h2);
    /* SHA-256("secret") */
    assert_string_equal(h1, "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
}

static void limiter_locks_out_after_repeated_failures(void **state)
{
    (void)state;
    http_limiter *l = http_limiter_create(3, 60, 120);
    int64_t t = 1000000;
    assert_int_equal(http_limiter_wait(l, "a@x", t), 0);
    http_limiter_fail(l, "a@x", t);
    http_limiter_fail(l, "a@x", t + 1);
    assert_int_equal(http_limiter_wait(l, "a@x", t + 2), 0);
    http_limiter_fail(l, "a@x", t + 3);
    unsigned w = http_limiter_wait(l, "a@x", t + 4);
    assert_true(w >= 119 && w <= 120);
    assert_int_equal(http_limiter_wait(l, "b@x", t + 4), 0);              /* others unaffected */
    assert_int_equal(http_limiter_wait(l, "a@x", t + 3 + 120 * 1000), 0); /* expires */
    /* Failures spread wider than the window do not add up. */
    http_limiter_fail(l, "c@x", t);
    http_limiter_fail(l, "c@x", t + 61000);
    http_limiter_fail(l, "c@x", t + 122000);
    assert_int_equal(http_limiter_wait(l, "c@x", t + 122001), 0);
    /* Success clears the count. */
    http_limiter_fail(l, "d@x", t);
    http_limiter_fail(l, "d@x", t);
    http_limiter_ok(l, "d@x");
    http_limiter_fail(l, "d@x", t);
    assert_int_equal(http_limiter_wait(l, "d@x", t), 0);
    http_limiter_destroy(l);
}

/* A try is counted before it is made: max_failures tries go on, the next
 * is refused and sets the lock, whatever the order of their answers; a try
 * taken back (forgiven) leaves room for one more; counting only
 * (max_failures 0) never locks and hands its count over once. */
static void limiter_counts_tries_before_they_are_made(void **state)
{
    (void)state;
    http_limiter *l = http_limiter_create(3, 60, 120);
    int64_t t = 1000000;
    for (int i = 0; i < 3; i++) assert_int_equal(http_limiter_try(l, "a", t + i), 0);
    unsigned w = http_limiter_try(l, "a", t + 3); /* none of the three answered yet */
    assert_true(w >= 119 && w <= 120);
    assert_true(http_limiter_try(l, "a", t + 4) > 0);
    assert_int_equal(http_limiter_try(l, "a", t + 3 + 120 * 1000), 0); /* expires */
    /* Two tries, one of them right: taken back, so two more go on. */
    assert_int_equal(http_limiter_try(l, "b", t), 0);
    assert_int_equal(http_limiter_try(l, "b", t), 0);
    http_limiter_forgive(l, "b", 1);
    assert_int_equal(http_limiter_try(l, "b", t), 0);
    assert_int_equal(http_limiter_try(l, "b", t), 0);
    assert_true(http_limiter_try(l, "b", t) > 0);
    /* The try that uses up the limit can set the lock as it fails. */
    assert_int_equal(http_limiter_try(l, "e", t), 0);
    assert_int_equal(http_limiter_lock_if_full(l, "e", t), 0);
    assert_int_equal(http_limiter_try(l, "e", t), 0);
    assert_int_equal(http_limiter_try(l, "e", t), 0);
    assert_int_equal(http_limiter_lock_if_full(l, "e", t), 120);
    assert_int_equal(http_limiter_wait(l, "e", t + 1000), 119);
    /* Forgiving more than was counted stops at none. */
    http_limiter_fail(l, "c", t);
    http_limiter_forgive(l, "c", 5);
    for (int i = 0; i < 3; i++) assert_int_equal(http_limiter_try(l, "c", t), 0);
    assert_true(http_limiter_try(l, "c", t) > 0);
    http_limiter_destroy(l);

    http_limiter *n = http_limiter_create(0, 60, 0);
    for (int i = 0; i < 50; i++) http_limiter_fail(n, "p", t);
    assert_int_equal(http_limiter_wait(n, "p", t), 0);
    assert_int_equal(http_limiter_take(n, "p", t + 1), 50);
    assert_int_equal(http_limiter_take(n, "p", t + 2), 0); /* taken once */
    http_limiter_fail(n, "q", t);
    assert_int_equal(http_limiter_take(n, "q", t + 61000), 0); /* past the window */
    http_limiter_destroy(n);
}

/* Every per-address limit counts a client under one key: IPv4 as it is, an
 * IPv4-mapped IPv6 address as its IPv4 address, other IPv6 by its /64. */
static void client_addresses_key_ipv6_by_its_64(void **state)
{
    (void)state;
    char k[HTTP_ADDR_KEY_MAX], k2[HTTP_ADDR_KEY_MAX];
    http_addr_key("203.0.113.7", NULL, k);
    assert_string_equal(k, "203.0.113.7");
    http_addr_key("203.0.113.8", NULL, k2);
    assert_string_not_equal(k, k2); /* IPv4 stays per address */
    http_addr_key("::ffff:203.0.113.7", NULL, k2);
    assert_string_equal(k2, "203.0.113.7");
    http_addr_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", NULL, k);
    assert_string_equal(k, "2001:db8:1:2::/64");
    http_addr_key("2001:db8:1:2::1", NULL, k2);
    assert_string_equal(k, k2);
    http_addr_key("2001:db8:1:3::1", NULL, k2); /* the next /64 is someone else */
    assert_string_equal(k2, "2001:db8:1:3::/64");
    http_addr_key("::1", NULL, k);
    assert_string_equal(k, "::/64");
    http_addr_key("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", NULL, k);
    assert_string_equal(k, "2001:db8:ffff:ffff::/64");
    http_addr_key("?", NULL, k); /* no address: one key for all of those */
    assert_string_equal(k, "?");
    /* NAT64's well-known prefix: each IPv4 client behind it is itself. */
    http_addr_key("64:ff9b::10.0.0.6", NULL, k);
    assert_string_equal(k, "10.0.0.6");
    http_addr_key("64:ff9b::808:808", NULL, k2);
    assert_string_equal(k2, "8.8.8.8");
    /* On site, each address is a device: link-local, unique local, and the
     * server's own /64 (the Wi-Fi it is on); another /64 is still one key. */
    http_addr_key("fe80::1:2:3:4", NULL, k);
    assert_string_equal(k, "fe80::1:2:3:4");
    http_addr_key("fd00:aa::7", NULL, k);
    assert_string_equal(k, "fd00:aa::7");
    http_addr_key("fc01::7", NULL, k);
    assert_string_equal(k, "fc01::7");
    http_addr_key("2001:db8:1:2::7", "2001:db8:1:2::1", k);
    assert_string_equal(k, "2001:db8:1:2::7");
    http_addr_key("2001:db8:1:3::7", "2001:db8:1:2::1", k);
    assert_string_equal(k, "2001:db8:1:3::/64");
    http_addr_key("::1", "::1", k); /* loopback is no site network */
    assert_string_equal(k, "::/64");
    http_addr_key("2001:db8:1:2::7", "192.0.2.1", k);
    assert_string_equal(k, "2001:db8:1:2::/64");
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "2001:db8::5", &sa6.sin6_addr);
    char text[64];
    http_addr_text((const struct sockaddr *)&sa6, text);
    assert_string_equal(text, "2001:db8::5");
    struct sockaddr_in sa4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.1", &sa4.sin_addr);
    http_addr_text((const struct sockaddr *)&sa4, text);
    assert_string_equal(text, "192.0.2.1");
    http_addr_text(NULL, text);
    assert_string_equal(text, "?");
}

/* A flood of new keys (codes typed, accounts tried, addresses) cannot make
 * the limiter forget a lock or a count near its limit: idle keys make room
 * first, and when every key is locked only the lock that ends first goes. */
static void limiter_keeps_locks_under_a_flood_of_new_keys(void **state)
{
    (void)state;
    char key[32];
    int64_t t = 1000000;
    http_limiter *l = http_limiter_create(3, 60, 120);
    /* The table is nearly full of keys with one failure when "near" comes
     * one failure short of its lock and "locked" is locked; then twice as
     * many new keys as there is room for, each with one failure. */
    for (int i = 0; i < HTTP_LIMITER_KEYS - 2; i++) {
        snprintf(key, sizeof key, "old%d", i);
        assert_int_equal(http_limiter_try(l, key, t), 0);
    }
    assert_int_equal(http_limiter_try(l, "near", t), 0);
    assert_int_equal(http_limiter_try(l, "near", t), 0);
    for (int i = 0; i < 4; i++) http_limiter_try(l, "locked", t + 1);
    assert_true(http_limiter_wait(l, "locked", t + 1) > 0);
    for (int i = 0; i < 2 * HTTP_LIMITER_KEYS; i++) {
        snprintf(key, sizeof key, "new%d", i);
        assert_int_equal(http_limiter_try(l, key, t + 1000 + i), 0);
    }
    assert_true(http_limiter_wait(l, "locked", t + 2000) >= 118);
    assert_int_equal(http_limiter_try(l, "near", t + 2000), 0);            /* its third */
    assert_int_equal(http_limiter_lock_if_full(l, "near", t + 2000), 120); /* and locked */
    http_limiter_destroy(l);

    /* Every key locked: a new key takes the place of the lock that ends
     * first (k0's), and no other lock is lost. Refusing new keys instead
     * would let a flood of locked addresses keep everyone else out. */
    l = http_limiter_create(1, 60, 120);
    for (int i = 0; i < HTTP_LIMITER_KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        http_limiter_fail(l, key, t + i);
    }
    int64_t now = t + HTTP_LIMITER_KEYS;
    assert_int_equal(http_limiter_try(l, "stranger", now), 0);
    assert_int_equal(http_limiter_wait(l, "k0", now), 0); /* pushed out */
    for (int i = 1; i < HTTP_LIMITER_KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_true(http_limiter_wait(l, key, now) > 0);
    }
    http_limiter_destroy(l);
}

static void metrics_render_prometheus_text(void **state)
{
    (void)state;
    rc_metrics *m = rc_metrics_create();
    rc_metrics_add(m, "rollcall_faces_total", "faces seen", 2);
    rc_metrics_add(m, "rollcall_faces_total", "faces seen", 3);
    rc_metrics_set(m, "rollcall_gallery_size", "embeddings in memory", 42);
    rc_metrics_time(m, "rollcall_stage_ms{stage=\"detect\"}", "stage time", 7);
    rc_metrics_time(m, "rollcall_stage_ms{stage=\"detect\"}", "stage time", 700);
    http_metrics_observe(m, "GET", "/x\"y\nz", 200, 3);
    size_t len;
    char *text = rc_metrics_render(m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "# TYPE rollcall_faces_total counter\nrollcall_faces_total 5\n"));
    assert_non_null(strstr(text, "rollcall_gallery_size 42\n"));
    assert_non_null(strstr(text, "rollcall_stage_ms_bucket{stage=\"detect\",le=\"5\"} 0\n"));
    assert_non_null(strstr(text, "rollcall_stage_ms_bucket{stage=\"detect\",le=\"10\"} 1\n"));
    assert_non_null(strstr(text, "rollcall_stage_ms_bucket{stage=\"detect\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(text, "rollcall_stage_ms_sum{stage=\"detect\"} 707\n"));
    assert_non_null(strstr(text, "rollcall_stage_ms_count{stage=\"detect\"} 2\n"));
    /* A hostile label value cannot break the format. */
    assert_non_null(strstr(text, "route=\"/x_y_z\""));
    assert_int_equal(strstr(text, "# TYPE rollcall_stage_ms histogram") != NULL, 1);
    /* A caller that does not want the length passes NULL. */
    char *again = rc_metrics_render(m, NULL);
    assert_non_null(again);
    assert_string_equal(again, text);
    free(again);
    free(text);
    rc_metrics_destroy(m);
}

/* Self check-in's allowed networks: IPv4 and IPv6 CIDRs and single
 * addresses, an IPv4 client seen as ::ffff:a.b.c.d matching an IPv4
 * network, and lists with a bad entry refused as a whole. */
static void networks_match_ipv4_and_ipv6(void **state)
{
    (void)state;
    bool valid;
    assert_true(http_cidr_match("10.0.0.0/8", "10.200.3.4", &valid) && valid);
    assert_false(http_cidr_match("10.0.0.0/8", "11.0.0.1", &valid));
    assert_true(valid);
    assert_true(http_cidr_match("192.168.1.0/24, 2001:db8::/32", "2001:db8:1::5", &valid));
    assert_false(http_cidr_match("192.168.1.0/24 2001:db8::/32", "2001:db9::5", &valid));
    assert_true(http_cidr_match("192.168.1.0/24", "::ffff:192.168.1.77", &valid));
    assert_true(http_cidr_match("192.168.1.7", "192.168.1.7", &valid));
    assert_false(http_cidr_match("192.168.1.7", "192.168.1.8", &valid));
    assert_true(http_cidr_match("172.16.0.0/12", "172.31.255.255", &valid));
    assert_false(http_cidr_match("172.16.0.0/12", "172.32.0.0", &valid));
    assert_true(http_cidr_match("0.0.0.0/0", "8.8.8.8", &valid));
    assert_true(http_cidr_match("::/0", "::1", &valid));
    assert_false(http_cidr_match("10.0.0.0/8", "?", &valid)); /* no address: nothing matches */
    assert_true(valid);
    const char *bad[] = {"10.0.0.0/33", "school", "::1/129", "10.0.0.0/", "10.0.0.0/x", "1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(http_cidr_match(bad[i], "10.0.0.1", &valid));
        assert_false(valid);
    }
    assert_false(http_cidr_match("10.0.0.0/8, nonsense", "10.0.0.1", &valid));
    assert_false(valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patterns_match_whole_segments),
        cmocka_unit_test(networks_match_ipv4_and_ipv6),
        cmocka_unit_test(route_table_is_consistent),
        cmocka_unit_test(openapi_documents_every_route),
        cmocka_unit_test(passwords_hash_with_argon2id),
        cmocka_unit_test(tokens_are_random_and_compared_in_constant_time),
        cmocka_unit_test(limiter_locks_out_after_repeated_failures),
        cmocka_unit_test(limiter_counts_tries_before_they_are_made),
        cmocka_unit_test(limiter_keeps_locks_under_a_flood_of_new_keys),
        cmocka_unit_test(client_addresses_key_ipv6_by_its_64),
        cmocka_unit_test(metrics_render_prometheus_text),
        cmocka_unit_test(healthz_answers_json),
        cmocka_unit_test(a_manager_without_groups_left_reaches_nobody),
        cmocka_unit_test(bad_listen_addresses_are_refused),
        cmocka_unit_test(port_in_use_is_a_clear_error),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
