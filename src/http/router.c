/*
 * router.c — matching a request path against the route table's patterns.
 * A pattern is a literal path whose segments may be `{name}` placeholders;
 * a placeholder matches exactly one non-empty segment. Matching is exact
 * otherwise (no trailing-slash folding, no prefix matches), so every path the
 * server answers is one the table names.
 */
#include <string.h>

#include "internal.h"

bool http_route_match(const char *pattern, const char *path, http_req *r)
{
    size_t n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close) return false;
            const char *seg_end = strchr(s, '/');
            size_t len = seg_end ? (size_t)(seg_end - s) : strlen(s);
            if (len == 0 || len > 63 || n >= 4) return false;
            if (r) {
                memcpy(r->params[n], s, len);
                r->params[n][len] = 0;
            }
            n++;
            p = close + 1;
            s += len;
            continue;
        }
        if (*p != *s) return false;
        p++;
        s++;
    }
    if (*p || *s) return false;
    if (r) {
        /* Names are recorded only for a full match, in pattern order. */
        size_t i = 0;
        for (const char *q = pattern; (q = strchr(q, '{')) && i < n; q++)
            r->param_names[i++] = q + 1;
        r->nparams = n;
    }
    return true;
}

const http_route *http_route_find(const char *method, const char *path, http_req *r,
                                  bool *path_known)
{
    *path_known = false;
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < http_route_count; i++) {
        const http_route *rt = &http_routes[i];
        if (!http_route_match(rt->pattern, path, NULL)) continue;
        if (strcmp(rt->method, m) != 0) {
            *path_known = true;
            continue;
        }
        if (r) http_route_match(rt->pattern, path, r);
        return rt;
    }
    return NULL;
}
