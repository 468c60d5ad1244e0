/* test_http.c — the server starts on a free loopback port, answers /healthz
 * with JSON, gives JSON errors for unknown routes and methods, and refuses bad
 * listen addresses with a message. */
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

#include "http/http.h"

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
    http_config cfg = {.listen = "127.0.0.1:0", .data_dir = "/tmp", .models_dir = "/m",
                       .threads = 2, .models_available = models};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthz_answers_json),
        cmocka_unit_test(bad_listen_addresses_are_refused),
        cmocka_unit_test(port_in_use_is_a_clear_error),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
