/*
 * shape.c — small helpers on shapes (element counts with overflow checks,
 * numpy broadcasting, formatting for error messages) and the error helper
 * that prefixes a message with the node it concerns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn_internal.h"

int64_t nn_shape_count(const nn_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->d[i];
    return n;
}

bool nn_shape_eq(const nn_shape *a, const nn_shape *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return false;
    return true;
}

size_t nn_dtype_size(nn_dtype t)
{
    return t == NN_I64 ? 8 : 4;
}

void nn_shape_format(const nn_shape *s, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int i = 0; i < s->ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? "x%lld" : "%lld", (long long)s->d[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

rc_status nn_node_fail(rc_error *err, rc_status code, const nn_node *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) return rc_fail(err, code, "node '%s' (%s): %s", n->name, n->op_type, msg);
    return rc_fail(err, code, "%s", msg);
}

rc_status nn_shape_check(const nn_node *n, const nn_shape *s, rc_error *err)
{
    if (s->ndim < 0 || s->ndim > NN_MAX_DIMS)
        return nn_node_fail(err, RC_ERR_UNSUPPORTED, n, "%d dimensions (at most %d)", s->ndim,
                            NN_MAX_DIMS);
    int64_t count = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0 || s->d[i] > NN_MAX_ELEMS)
            return nn_node_fail(err, RC_ERR_INVALID, n, "invalid dimension %lld",
                                (long long)s->d[i]);
        count *= s->d[i];
        if (count > NN_MAX_ELEMS)
            return nn_node_fail(err, RC_ERR_LIMIT, n, "tensor larger than %lld elements",
                                (long long)NN_MAX_ELEMS);
    }
    return RC_OK;
}

bool nn_shape_broadcast(const nn_shape *a, const nn_shape *b, nn_shape *out)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    nn_shape r = {.ndim = nd};
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da == db || db == 1)
            r.d[i] = da;
        else if (da == 1)
            r.d[i] = db;
        else
            return false;
    }
    *out = r;
    return true;
}
