/*
 * observe.c — the HTTP server's own series in the metrics registry (rc.h):
 * one counter per method, route and status, and a latency histogram per
 * route.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Label values come from request data (route patterns, methods): keep only
 * characters that cannot break the exposition format. */
static void clean_label(char *dst, size_t size, const char *src)
{
    size_t j = 0;
    for (size_t i = 0; src[i] && j + 1 < size; i++) {
        char c = src[i];
        dst[j++] = (c == '"' || c == '\\' || c == '\n' || (unsigned char)c < 0x20) ? '_' : c;
    }
    dst[j] = 0;
}

void http_metrics_observe(rc_metrics *m, const char *method, const char *route, unsigned status,
                          double ms)
{
    /* The method is client text: only the ones HTTP defines for this API
     * get a series of their own, so junk methods cannot grow the registry. */
    static const char *const known[] = {"GET",   "HEAD",   "POST",    "PUT",
                                        "PATCH", "DELETE", "OPTIONS", NULL};
    const char *label = "other";
    for (size_t i = 0; known[i]; i++)
        if (strcmp(method, known[i]) == 0) label = known[i];
    char meth[16], rt[160], name[256];
    clean_label(meth, sizeof meth, label);
    clean_label(rt, sizeof rt, route);
    snprintf(name, sizeof name,
             "rollcall_http_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"}", meth, rt,
             status);
    rc_metrics_add(m, name, "HTTP requests answered, by route and status", 1);
    snprintf(name, sizeof name, "rollcall_http_request_duration_ms{route=\"%s\"}", rt);
    rc_metrics_time(m, name, "HTTP request latency in milliseconds", ms);
}
