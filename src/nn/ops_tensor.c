/*
 * ops_tensor.c — operators that change shapes or move data without
 * arithmetic: Shape, Constant, ConstantOfShape, Reshape, Flatten, Squeeze,
 * Unsqueeze (these four alias their input: no copy at run time), Concat,
 * Split, Slice, Gather, Transpose, Pad and Resize/Upsample. All but Pad and
 * Resize work on any element type by moving bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "ops.h"

/* ---- Shape, Constant, ConstantOfShape -------------------------------- */

/* Operators whose output is known while planning allocate it in infer; the
 * planner then treats it as a constant and owns the buffer. */
static rc_status const_out(nn_ctx *c, nn_dtype type, const nn_shape *s, const void *src)
{
    c->out[0]->type = type;
    c->out[0]->shape = *s;
    size_t bytes = (size_t)nn_shape_count(s) * nn_dtype_size(type);
    c->out[0]->data = malloc(bytes ? bytes : 1);
    if (!c->out[0]->data) return rc_fail(c->err, RC_ERR_NOMEM, "out of memory");
    if (src && bytes) memcpy(c->out[0]->data, src, bytes);
    return RC_OK;
}

static rc_status infer_shape(nn_ctx *c)
{
    const nn_shape *in = &c->in[0]->shape;
    nn_shape s = {.ndim = 1, .d = {in->ndim}};
    return const_out(c, NN_I64, &s, in->d);
}

static rc_status infer_constant(nn_ctx *c)
{
    const nn_attr *a = nn_attr_get(c->node, "value");
    if (a && a->type == 4) return const_out(c, a->t.type, &a->t.shape, a->t.data);
    a = nn_attr_get(c->node, "value_float");
    nn_shape scalar = {0};
    if (a) return const_out(c, NN_F32, &scalar, &a->f);
    a = nn_attr_get(c->node, "value_int");
    if (a) return const_out(c, NN_I64, &scalar, &a->i);
    a = nn_attr_get(c->node, "value_ints");
    if (a && a->type == 7) {
        nn_shape s = {.ndim = 1, .d = {(int64_t)a->n}};
        return const_out(c, NN_I64, &s, a->ints);
    }
    a = nn_attr_get(c->node, "value_floats");
    if (a && a->type == 6) {
        nn_shape s = {.ndim = 1, .d = {(int64_t)a->n}};
        return const_out(c, NN_F32, &s, a->floats);
    }
    return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "no supported value attribute");
}

static rc_status infer_constant_of_shape(nn_ctx *c)
{
    int64_t n;
    const int64_t *d = nn_in_ints(c, 0, &n);
    if (!d || n > NN_MAX_DIMS)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "shape must be constant");
    nn_shape s = {.ndim = (int)n};
    for (int i = 0; i < n; i++) s.d[i] = d[i];
    rc_status st = nn_shape_check(c->node, &s, c->err);
    if (st != RC_OK) return st;
    const nn_attr *a = nn_attr_get(c->node, "value");
    nn_dtype type = a && a->type == 4 ? a->t.type : NN_F32;
    st = const_out(c, type, &s, NULL);
    if (st != RC_OK) return st;
    int64_t cnt = nn_shape_count(&s);
    for (int64_t i = 0; i < cnt; i++) {
        if (type == NN_F32)
            ((float *)c->out[0]->data)[i] = a && a->type == 4 ? *(float *)a->t.data : 0.0f;
        else
            ((int64_t *)c->out[0]->data)[i] = *(int64_t *)a->t.data;
    }
    return RC_OK;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze (aliases) -------------------- */

static rc_status set_alias(nn_ctx *c, const nn_shape *s)
{
    if (nn_shape_count(s) != nn_shape_count(&c->in[0]->shape)) {
        char a[96], b[96];
        nn_shape_format(&c->in[0]->shape, a, sizeof a);
        nn_shape_format(s, b, sizeof b);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "cannot reshape %s to %s", a, b);
    }
    c->out[0]->type = c->in[0]->type;
    c->out[0]->shape = *s;
    return RC_OK;
}

static rc_status infer_reshape(nn_ctx *c)
{
    int64_t n;
    const int64_t *d;
    if (c->opset < 5) {
        n = (int64_t)nn_attr_ints(c->node, "shape", &d);
    } else {
        d = nn_in_ints(c, 1, &n);
        if (c->nin < 2 || !d)
            return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node,
                                "the target shape must be known before running (constant)");
    }
    if (n > NN_MAX_DIMS)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "too many dimensions");
    const nn_shape *in = &c->in[0]->shape;
    bool allowzero = nn_attr_int(c->node, "allowzero", 0) != 0;
    nn_shape s = {.ndim = (int)n};
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        int64_t v = d[i];
        if (v == 0 && !allowzero) {
            if (i >= in->ndim)
                return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "0 past the input rank");
            v = in->d[i];
        }
        if (v == -1) {
            if (infer_at >= 0)
                return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "more than one -1");
            infer_at = i;
            v = 1;
        } else if (v < 0) {
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "negative dimension");
        }
        s.d[i] = v;
        known *= v;
        if (known > NN_MAX_ELEMS)
            return nn_node_fail(c->err, RC_ERR_LIMIT, c->node, "absurd target shape");
    }
    if (infer_at >= 0) {
        int64_t total = nn_shape_count(in);
        if (known == 0 || total % known)
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node,
                                "cannot infer -1: %lld elements do not divide by %lld",
                                (long long)total, (long long)known);
        s.d[infer_at] = total / known;
    }
    return set_alias(c, &s);
}

static rc_status infer_flatten(nn_ctx *c)
{
    const nn_shape *in = &c->in[0]->shape;
    int64_t axis = nn_attr_int(c->node, "axis", 1);
    if (axis < 0) axis += in->ndim;
    if (axis < 0 || axis > in->ndim)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "axis out of range");
    nn_shape s = {.ndim = 2, .d = {1, 1}};
    for (int i = 0; i < in->ndim; i++) s.d[i < axis ? 0 : 1] *= in->d[i];
    return set_alias(c, &s);
}

/* Axes of Squeeze/Unsqueeze: attribute before opset 13, input after. */
static int get_axes(nn_ctx *c, const int64_t **axes, int64_t *n)
{
    if (c->opset < 13) {
        *n = (int64_t)nn_attr_ints(c->node, "axes", axes);
        return 0;
    }
    if (c->nin < 2 || !c->in[1]) {
        *axes = NULL;
        *n = 0;
        return 0;
    }
    *axes = nn_in_ints(c, 1, n);
    return *axes ? 0 : -1;
}

static rc_status infer_squeeze(nn_ctx *c)
{
    const int64_t *axes;
    int64_t na;
    if (get_axes(c, &axes, &na) < 0)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "axes must be constant");
    const nn_shape *in = &c->in[0]->shape;
    bool drop[NN_MAX_DIMS] = {false};
    for (int64_t i = 0; i < na; i++) {
        int a = nn_axis(axes[i], in->ndim);
        if (a < 0 || in->d[a] != 1)
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "cannot squeeze axis %lld",
                                (long long)axes[i]);
        drop[a] = true;
    }
    nn_shape s = {0};
    for (int i = 0; i < in->ndim; i++)
        if (!(na ? drop[i] : in->d[i] == 1)) s.d[s.ndim++] = in->d[i];
    return set_alias(c, &s);
}

static rc_status infer_unsqueeze(nn_ctx *c)
{
    const int64_t *axes;
    int64_t na;
    if (get_axes(c, &axes, &na) < 0 || na == 0)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "axes must be constant");
    const nn_shape *in = &c->in[0]->shape;
    int r = in->ndim + (int)na;
    if (r > NN_MAX_DIMS)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "too many dimensions");
    bool ins[NN_MAX_DIMS] = {false};
    for (int64_t i = 0; i < na; i++) {
        int a = nn_axis(axes[i], r);
        if (a < 0 || ins[a])
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "bad axis %lld",
                                (long long)axes[i]);
        ins[a] = true;
    }
    nn_shape s = {.ndim = r};
    for (int i = 0, k = 0; i < r; i++) s.d[i] = ins[i] ? 1 : in->d[k++];
    return set_alias(c, &s);
}

/* ---- Concat, Split ------------------------------------------------------ */

static rc_status infer_concat(nn_ctx *c)
{
    const nn_shape *s0 = &c->in[0]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", c->opset < 4 ? 1 : 0), s0->ndim);
    if (axis < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "axis out of range");
    nn_shape s = *s0;
    s.d[axis] = 0;
    for (int i = 0; i < c->nin; i++) {
        const nn_tensor *t = c->in[i];
        if (!t || t->type != c->in[0]->type || t->shape.ndim != s0->ndim)
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "inputs differ in rank or type");
        for (int k = 0; k < s0->ndim; k++)
            if (k != axis && t->shape.d[k] != s0->d[k]) {
                char a[96], b[96];
                nn_shape_format(s0, a, sizeof a);
                nn_shape_format(&t->shape, b, sizeof b);
                return nn_node_fail(c->err, RC_ERR_INVALID, c->node,
                                    "cannot concatenate %s and %s on axis %d", a, b, axis);
            }
        s.d[axis] += t->shape.d[axis];
    }
    c->out[0]->type = c->in[0]->type;
    c->out[0]->shape = s;
    return nn_shape_check(c->node, &s, c->err);
}

static void run_concat(nn_ctx *c)
{
    const nn_shape *so = &c->out[0]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", c->opset < 4 ? 1 : 0), so->ndim);
    size_t es = nn_dtype_size(c->out[0]->type);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= so->d[i];
    for (int i = axis + 1; i < so->ndim; i++) inner *= so->d[i];
    char *y = c->out[0]->data;
    size_t orow = (size_t)(so->d[axis] * inner) * es;
    size_t off = 0;
    for (int i = 0; i < c->nin; i++) {
        size_t row = (size_t)(c->in[i]->shape.d[axis] * inner) * es;
        const char *x = c->in[i]->data;
        /* an input placed in its slot by the planner is already there */
        if ((x != y + off || outer != 1) && es == 4 && row < 64) {
            /* short rows (a detector's [anchors, 2] + [anchors, 2]): a
             * float loop beats one memcpy call per row */
            int64_t n = (int64_t)(row / 4), on = (int64_t)(orow / 4), fo = (int64_t)(off / 4);
            const float *xf = (const float *)x;
            float *yf = (float *)y;
            for (int64_t o = 0; o < outer; o++)
                for (int64_t k = 0; k < n; k++) yf[o * on + fo + k] = xf[o * n + k];
        } else if (x != y + off || outer != 1)
            for (int64_t o = 0; o < outer; o++) memcpy(y + o * orow + off, x + o * row, row);
        off += row;
    }
}

static int split_sizes(nn_ctx *c, int axis, int64_t *sizes)
{
    const int64_t *sp = NULL;
    int64_t n = 0;
    if (c->opset < 13)
        n = (int64_t)nn_attr_ints(c->node, "split", &sp);
    else if (c->nin > 1 && c->in[1]) {
        sp = nn_in_ints(c, 1, &n);
        if (!sp) return -1;
    }
    int64_t dim = c->in[0]->shape.d[axis];
    if (sp) {
        if (n != c->nout) return -1;
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (sp[i] < 0) return -1;
            sizes[i] = sp[i];
            sum += sp[i];
        }
        return sum == dim ? 0 : -1;
    }
    int64_t each = (dim + c->nout - 1) / c->nout;
    for (int i = 0; i < c->nout; i++) {
        sizes[i] = dim - each * i < each ? dim - each * i : each;
        if (sizes[i] < 0) sizes[i] = 0;
    }
    return 0;
}

static rc_status infer_split(nn_ctx *c)
{
    const nn_shape *in = &c->in[0]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", 0), in->ndim);
    if (axis < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "axis out of range");
    int64_t sizes[64];
    if (c->nout > 64 || split_sizes(c, axis, sizes) < 0)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "split sizes do not fit the input");
    for (int i = 0; i < c->nout; i++) {
        c->out[i]->type = c->in[0]->type;
        c->out[i]->shape = *in;
        c->out[i]->shape.d[axis] = sizes[i];
    }
    return RC_OK;
}

static void run_split(nn_ctx *c)
{
    const nn_shape *in = &c->in[0]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", 0), in->ndim);
    size_t es = nn_dtype_size(c->in[0]->type);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= in->d[i];
    for (int i = axis + 1; i < in->ndim; i++) inner *= in->d[i];
    size_t irow = (size_t)(in->d[axis] * inner) * es, off = 0;
    const char *x = c->in[0]->data;
    for (int i = 0; i < c->nout; i++) {
        size_t row = (size_t)(c->out[i]->shape.d[axis] * inner) * es;
        char *y = c->out[i]->data;
        for (int64_t o = 0; o < outer; o++) memcpy(y + o * row, x + o * irow + off, row);
        off += row;
    }
}

/* ---- Slice -------------------------------------------------------------- */

/* Per-dimension start and step, and the output shape. */
static int slice_params(nn_ctx *c, int64_t *start, int64_t *step, nn_shape *out)
{
    const nn_shape *in = &c->in[0]->shape;
    const int64_t *st, *en, *ax = NULL, *sp = NULL;
    int64_t n = 0, ne = 0, na = 0, ns = 0;
    if (c->opset < 10) {
        n = (int64_t)nn_attr_ints(c->node, "starts", &st);
        ne = (int64_t)nn_attr_ints(c->node, "ends", &en);
        na = (int64_t)nn_attr_ints(c->node, "axes", &ax);
    } else {
        st = nn_in_ints(c, 1, &n);
        en = nn_in_ints(c, 2, &ne);
        if (!st || !en) return -1;
        if (c->nin > 3 && c->in[3] && !(ax = nn_in_ints(c, 3, &na))) return -1;
        if (c->nin > 4 && c->in[4] && !(sp = nn_in_ints(c, 4, &ns))) return -1;
    }
    if (n != ne || (ax && na != n) || (sp && ns != n) || n > in->ndim) return -2;
    *out = *in;
    for (int i = 0; i < in->ndim; i++) {
        start[i] = 0;
        step[i] = 1;
    }
    bool seen[NN_MAX_DIMS] = {false};
    for (int64_t i = 0; i < n; i++) {
        int a = ax ? nn_axis(ax[i], in->ndim) : (int)i;
        if (a < 0 || seen[a]) return -2;
        seen[a] = true;
        int64_t dim = in->d[a], s = st[i], e = en[i], k = sp ? sp[i] : 1;
        if (k == 0) return -2;
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        int64_t cnt;
        if (k > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            cnt = e > s ? (e - s + k - 1) / k : 0;
        } else {
            s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            cnt = s > e ? (s - e + (-k) - 1) / (-k) : 0;
        }
        start[a] = s;
        step[a] = k;
        out->d[a] = cnt;
    }
    return 0;
}

static rc_status infer_slice(nn_ctx *c)
{
    int64_t start[NN_MAX_DIMS], step[NN_MAX_DIMS];
    nn_shape s;
    int r = slice_params(c, start, step, &s);
    if (r == -1)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node,
                            "starts, ends, axes and steps must be constant");
    if (r < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "invalid slice parameters");
    c->out[0]->type = c->in[0]->type;
    c->out[0]->shape = s;
    return RC_OK;
}

/* rows rows of `inner` (1, 2 or 4) contiguous floats, row stride rs, packed
 * into y. */
static void rows_copy_f32(const float *x, int64_t rs, int64_t rows, int inner, float *y)
{
    switch (inner) {
    case 1:
        for (int64_t r = 0; r < rows; r++) y[r] = x[r * rs];
        break;
    case 2:
        for (int64_t r = 0; r < rows; r++) {
            y[2 * r] = x[r * rs];
            y[2 * r + 1] = x[r * rs + 1];
        }
        break;
    default:
        for (int64_t r = 0; r < rows; r++)
            for (int i = 0; i < 4; i++) y[4 * r + i] = x[r * rs + i];
        break;
    }
}

/* Copy a strided N-d view: out[i...] = in[base + sum(i_k * stride_k)]. */
static void gather_view(const char *x, const int64_t *istride, int64_t base, const nn_shape *os,
                        size_t es, char *y)
{
    int64_t total = nn_shape_count(os);
    if (total == 0) return;
    int nd = os->ndim;
    if (nd == 0) {
        memcpy(y, x + base * (int64_t)es, es);
        return;
    }
    /* the last two dimensions as plain loops (rows of `inner` elements, row
     * stride rs), the others by carrying an index */
    int64_t idx[NN_MAX_DIMS] = {0};
    int64_t off = base, inner = os->d[nd - 1], is = istride[nd - 1];
    int64_t rows = nd >= 2 ? os->d[nd - 2] : 1, rs = nd >= 2 ? istride[nd - 2] : 0;
    for (int64_t done = 0; done < total; done += inner * rows) {
        if (es == 4 && is == 1 && (inner == 1 || inner == 2 || inner == 4)) {
            /* many short rows (box coordinates sliced out of [N, anchors, 4]):
             * constant-length copies the compiler unrolls */
            rows_copy_f32((const float *)x + off, rs, rows, (int)inner, (float *)y + done);
        } else
            for (int64_t r = 0; r < rows; r++) {
                int64_t o = off + r * rs, d = done + r * inner;
                if (is == 1 && inner * (int64_t)es >= 64)
                    memcpy(y + d * (int64_t)es, x + o * (int64_t)es, (size_t)inner * es);
                else if (es == 4)
                    for (int64_t i = 0; i < inner; i++)
                        ((float *)y)[d + i] = ((const float *)x)[o + i * is];
                else
                    for (int64_t i = 0; i < inner; i++)
                        ((int64_t *)y)[d + i] = ((const int64_t *)x)[o + i * is];
            }
        for (int k = nd - 3; k >= 0; k--) {
            idx[k]++;
            off += istride[k];
            if (idx[k] < os->d[k]) break;
            off -= istride[k] * os->d[k];
            idx[k] = 0;
        }
    }
}

static void contiguous_strides(const nn_shape *s, int64_t *st)
{
    int64_t r = 1;
    for (int i = s->ndim - 1; i >= 0; i--) {
        st[i] = r;
        r *= s->d[i];
    }
}

static void run_slice(nn_ctx *c)
{
    int64_t start[NN_MAX_DIMS], step[NN_MAX_DIMS], cs[NN_MAX_DIMS], is[NN_MAX_DIMS];
    nn_shape s;
    slice_params(c, start, step, &s);
    const nn_shape *in = &c->in[0]->shape;
    contiguous_strides(in, cs);
    int64_t base = 0;
    for (int i = 0; i < in->ndim; i++) {
        base += start[i] * cs[i];
        is[i] = step[i] * cs[i];
    }
    gather_view(c->in[0]->data, is, base, &s, nn_dtype_size(c->in[0]->type), c->out[0]->data);
}

/* ---- Gather ------------------------------------------------------------- */

static rc_status infer_gather(nn_ctx *c)
{
    const nn_shape *ds = &c->in[0]->shape, *is = &c->in[1]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", 0), ds->ndim);
    if (axis < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "axis out of range");
    if (c->in[1]->type != NN_I64)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "indices must be integers");
    if (ds->ndim - 1 + is->ndim > NN_MAX_DIMS)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "too many dimensions");
    if (c->in[1]->data) {
        const int64_t *ix = c->in[1]->data;
        for (int64_t i = 0; i < nn_shape_count(is); i++)
            if (ix[i] < -ds->d[axis] || ix[i] >= ds->d[axis])
                return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "index %lld out of range",
                                    (long long)ix[i]);
    }
    nn_shape s = {0};
    for (int i = 0; i < axis; i++) s.d[s.ndim++] = ds->d[i];
    for (int i = 0; i < is->ndim; i++) s.d[s.ndim++] = is->d[i];
    for (int i = axis + 1; i < ds->ndim; i++) s.d[s.ndim++] = ds->d[i];
    c->out[0]->type = c->in[0]->type;
    c->out[0]->shape = s;
    return RC_OK;
}

static void run_gather(nn_ctx *c)
{
    const nn_shape *ds = &c->in[0]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", 0), ds->ndim);
    size_t es = nn_dtype_size(c->in[0]->type);
    int64_t outer = 1, inner = 1, dim = ds->d[axis];
    for (int i = 0; i < axis; i++) outer *= ds->d[i];
    for (int i = axis + 1; i < ds->ndim; i++) inner *= ds->d[i];
    int64_t ni = nn_shape_count(&c->in[1]->shape);
    const int64_t *ix = c->in[1]->data;
    const char *x = c->in[0]->data;
    char *y = c->out[0]->data;
    size_t row = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t k = ix[j] < 0 ? ix[j] + dim : ix[j];
            if (k < 0 || k >= dim) k = 0; /* run-time indices out of range: clamp, never crash */
            memcpy(y + (o * ni + j) * (int64_t)row, x + (o * dim + k) * (int64_t)row, row);
        }
}

/* ---- Transpose ---------------------------------------------------------- */

static int get_perm(const nn_ctx *c, int64_t *perm)
{
    const nn_shape *in = &c->in[0]->shape;
    const int64_t *p;
    size_t n = nn_attr_ints(c->node, "perm", &p);
    if (!n) {
        for (int i = 0; i < in->ndim; i++) perm[i] = in->ndim - 1 - i;
        return 0;
    }
    if ((int)n != in->ndim) return -1;
    bool seen[NN_MAX_DIMS] = {false};
    for (size_t i = 0; i < n; i++) {
        int a = nn_axis(p[i], in->ndim);
        if (a < 0 || seen[a]) return -1;
        seen[a] = true;
        perm[i] = a;
    }
    return 0;
}

static rc_status infer_transpose(nn_ctx *c)
{
    int64_t perm[NN_MAX_DIMS];
    if (get_perm(c, perm) < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "invalid perm");
    const nn_shape *in = &c->in[0]->shape;
    nn_shape s = {.ndim = in->ndim};
    for (int i = 0; i < in->ndim; i++) s.d[i] = in->d[perm[i]];
    c->out[0]->type = c->in[0]->type;
    c->out[0]->shape = s;
    return RC_OK;
}

static void run_transpose(nn_ctx *c)
{
    int64_t perm[NN_MAX_DIMS], cs[NN_MAX_DIMS], is[NN_MAX_DIMS];
    get_perm(c, perm);
    contiguous_strides(&c->in[0]->shape, cs);
    for (int i = 0; i < c->in[0]->shape.ndim; i++) is[i] = cs[perm[i]];
    gather_view(c->in[0]->data, is, 0, &c->out[0]->shape, nn_dtype_size(c->in[0]->type),
                c->out[0]->data);
}

/* ---- Pad ---------------------------------------------------------------- */

typedef struct {
    int64_t pads[2 * NN_MAX_DIMS];
    float value;
    int mode; /* 0 constant, 1 reflect, 2 edge */
} pad_params;

static int get_pad(const nn_ctx *c, pad_params *p)
{
    int r = c->in[0]->shape.ndim;
    const int64_t *pd;
    int64_t n;
    const char *mode = nn_attr_str(c->node, "mode", "constant");
    p->mode = strcmp(mode, "constant") == 0  ? 0
              : strcmp(mode, "reflect") == 0 ? 1
              : strcmp(mode, "edge") == 0    ? 2
                                             : -1;
    if (p->mode < 0) return -3;
    p->value = 0;
    if (c->opset < 11) {
        n = (int64_t)nn_attr_ints(c->node, c->opset < 2 ? "paddings" : "pads", &pd);
        p->value = nn_attr_float(c->node, "value", 0.0f);
    } else {
        pd = nn_in_ints(c, 1, &n);
        if (!pd) return -1;
        if (c->nin > 2 && c->in[2]) {
            if (!c->in[2]->data || c->in[2]->type != NN_F32) return -1;
            p->value = *(const float *)c->in[2]->data;
        }
        if (c->nin > 3 && c->in[3]) return -3;
    }
    if (n != 2 * r) return -2;
    for (int i = 0; i < 2 * r; i++) p->pads[i] = pd[i];
    return 0;
}

static rc_status infer_pad(nn_ctx *c)
{
    pad_params p;
    int r = get_pad(c, &p);
    if (r == -1) return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "pads must be constant");
    if (r == -3)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "unsupported mode or axes");
    if (r < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "pads do not match the rank");
    if (c->in[0]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "expects a float tensor");
    const nn_shape *in = &c->in[0]->shape;
    nn_shape s = *in;
    for (int i = 0; i < in->ndim; i++) {
        s.d[i] = in->d[i] + p.pads[i] + p.pads[i + in->ndim];
        if (s.d[i] < 0 ||
            (p.mode == 1 && (p.pads[i] >= in->d[i] || p.pads[i + in->ndim] >= in->d[i]) &&
             (p.pads[i] > 0 || p.pads[i + in->ndim] > 0)) ||
            (p.mode != 0 && in->d[i] == 0 && s.d[i] > 0))
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "pads do not fit the input");
    }
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return nn_shape_check(c->node, &s, c->err);
}

/* Map output coordinate o of a padded axis to an input coordinate, or -1. */
static inline int64_t pad_map(int64_t o, int64_t before, int64_t dim, int mode)
{
    int64_t i = o - before;
    if (i >= 0 && i < dim) return i;
    if (mode == 0) return -1;
    if (mode == 2) return i < 0 ? 0 : dim - 1;
    while (i < 0 || i >= dim) i = i < 0 ? -i : 2 * (dim - 1) - i;
    return i;
}

static void run_pad(nn_ctx *c)
{
    pad_params p;
    get_pad(c, &p);
    const nn_shape *in = &c->in[0]->shape, *os = &c->out[0]->shape;
    int nd = os->ndim;
    int64_t total = nn_shape_count(os);
    if (total == 0) return;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t cs[NN_MAX_DIMS];
    contiguous_strides(in, cs);
    int64_t inner = nd ? os->d[nd - 1] : 1;
    int64_t idx[NN_MAX_DIMS] = {0};
    for (int64_t done = 0; done < total; done += inner) {
        int64_t off = 0;
        bool outside = false;
        for (int k = 0; k < nd - 1; k++) {
            int64_t m = pad_map(idx[k], p.pads[k], in->d[k], p.mode);
            if (m < 0) {
                outside = true;
                break;
            }
            off += m * cs[k];
        }
        float *row = y + done;
        if (nd == 0) {
            row[0] = x[0];
        } else if (outside) {
            for (int64_t i = 0; i < inner; i++) row[i] = p.value;
        } else {
            int64_t before = p.pads[nd - 1], dim = in->d[nd - 1];
            /* the part of the row that comes straight from the input */
            int64_t lo = before > 0 ? before : 0, hi = before + dim < inner ? before + dim : inner;
            if (hi > lo)
                memcpy(row + lo, x + off + (lo - before), (size_t)(hi - lo) * sizeof(float));
            for (int64_t i = 0; i < lo && i < inner; i++) {
                int64_t m = pad_map(i, before, dim, p.mode);
                row[i] = m < 0 ? p.value : x[off + m];
            }
            for (int64_t i = hi > lo ? hi : lo; i < inner; i++) {
                int64_t m = pad_map(i, before, dim, p.mode);
                row[i] = m < 0 ? p.value : x[off + m];
            }
        }
        for (int k = nd - 2; k >= 0; k--) {
            if (++idx[k] < os->d[k]) break;
            idx[k] = 0;
        }
    }
}

/* ---- Resize / Upsample -------------------------------------------------- */

typedef struct {
    int linear;     /* 0 nearest, 1 linear */
    int coord;      /* 0 half_pixel, 1 asymmetric, 2 align_corners, 3 pytorch_half_pixel,
                       4 tf_half_pixel_for_nearest */
    int nearest;    /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
    float scale[2]; /* H, W */
} resize_params;

static int get_resize(const nn_ctx *c, resize_params *p, nn_shape *out)
{
    const nn_shape *in = &c->in[0]->shape;
    if (in->ndim != 4 || c->in[0]->type != NN_F32) return -3;
    bool upsample = strcmp(c->node->op_type, "Upsample") == 0;
    const char *mode = nn_attr_str(c->node, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        p->linear = 0;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0)
        p->linear = 1;
    else
        return -3;
    const char *ct = nn_attr_str(c->node, "coordinate_transformation_mode", "half_pixel");
    if (upsample || c->opset < 11)
        p->coord = 1;
    else if (strcmp(ct, "half_pixel") == 0)
        p->coord = 0;
    else if (strcmp(ct, "asymmetric") == 0)
        p->coord = 1;
    else if (strcmp(ct, "align_corners") == 0)
        p->coord = 2;
    else if (strcmp(ct, "pytorch_half_pixel") == 0)
        p->coord = 3;
    else if (strcmp(ct, "tf_half_pixel_for_nearest") == 0)
        p->coord = 4;
    else
        return -3;
    const char *nm = nn_attr_str(c->node, "nearest_mode", "round_prefer_floor");
    if (upsample || c->opset < 11)
        p->nearest = 2;
    else if (strcmp(nm, "round_prefer_floor") == 0)
        p->nearest = 0;
    else if (strcmp(nm, "round_prefer_ceil") == 0)
        p->nearest = 1;
    else if (strcmp(nm, "floor") == 0)
        p->nearest = 2;
    else if (strcmp(nm, "ceil") == 0)
        p->nearest = 3;
    else
        return -3;
    const float *scales = NULL;
    const int64_t *sizes = NULL;
    int64_t ns;
    if (upsample && c->opset < 9) {
        const nn_attr *a = nn_attr_get(c->node, "scales");
        if (!a || a->type != 6 || a->n != 4) return -2;
        scales = a->floats;
    } else {
        int si = upsample || c->opset < 11 ? 1 : 2;
        const nn_tensor *st = si < c->nin ? c->in[si] : NULL;
        if (st && nn_shape_count(&st->shape) > 0) {
            if (!st->data || st->type != NN_F32) return -1;
            if (nn_shape_count(&st->shape) != 4) return -2;
            scales = st->data;
        } else if (!upsample && c->opset >= 11 && c->nin > 3 && c->in[3]) {
            sizes = nn_in_ints(c, 3, &ns);
            if (!sizes) return -1;
            if (ns != 4) return -2;
        } else {
            return -2;
        }
    }
    *out = *in;
    for (int i = 0; i < 4; i++) {
        if (scales) {
            if (!(scales[i] > 0) || scales[i] > 1e4f) return -2;
            out->d[i] = (int64_t)floorf((float)in->d[i] * scales[i]);
        } else {
            out->d[i] = sizes[i];
        }
        if (i < 2 && out->d[i] != in->d[i]) return -3;
    }
    for (int i = 0; i < 2; i++) {
        int64_t di = in->d[2 + i], dout = out->d[2 + i];
        p->scale[i] = scales ? scales[2 + i] : di ? (float)dout / (float)di : 1.0f;
    }
    return 0;
}

static rc_status infer_resize(nn_ctx *c)
{
    resize_params p;
    nn_shape s;
    int r = get_resize(c, &p, &s);
    if (r == -1)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "scales/sizes must be constant");
    if (r == -3)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node,
                            "only nearest/linear resizing of the H and W axes of a float NCHW "
                            "tensor is supported");
    if (r < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "invalid scales or sizes");
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return nn_shape_check(c->node, &s, c->err);
}

static float resize_coord(const resize_params *p, int axis, int64_t o, int64_t in, int64_t out)
{
    float s = p->scale[axis];
    switch (p->coord) {
    case 0:
        return ((float)o + 0.5f) / s - 0.5f;
    case 1:
        return (float)o / s;
    case 2:
        return out == 1 ? 0.0f : (float)o * (float)(in - 1) / (float)(out - 1);
    case 3:
        return out > 1 ? ((float)o + 0.5f) / s - 0.5f : 0.0f;
    default:
        return ((float)o + 0.5f) / s;
    }
}

static int64_t nearest_index(const resize_params *p, float x, int64_t in)
{
    float f = floorf(x);
    int64_t i;
    switch (p->nearest) {
    case 0:
        i = x - f == 0.5f ? (int64_t)f : (int64_t)roundf(x);
        break;
    case 1:
        i = (int64_t)roundf(x);
        break;
    case 2:
        i = (int64_t)f;
        break;
    default:
        i = (int64_t)ceilf(x);
        break;
    }
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

static void run_resize(nn_ctx *c)
{
    resize_params p;
    nn_shape s;
    get_resize(c, &p, &s);
    const nn_shape *in = &c->in[0]->shape;
    int64_t planes = in->d[0] * in->d[1], H = in->d[2], W = in->d[3], OH = s.d[2], OW = s.d[3];
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    if (H == 0 || W == 0) return;
    for (int64_t oy = 0; oy < OH; oy++) {
        float fy = resize_coord(&p, 0, oy, H, OH);
        int64_t y0, y1, ny = nearest_index(&p, fy, H);
        float wy = 0;
        fy = fy < 0 ? 0 : fy > (float)(H - 1) ? (float)(H - 1) : fy;
        y0 = (int64_t)fy;
        y1 = y0 + 1 < H ? y0 + 1 : H - 1;
        wy = fy - (float)y0;
        for (int64_t ox = 0; ox < OW; ox++) {
            float fx = resize_coord(&p, 1, ox, W, OW);
            int64_t nx = nearest_index(&p, fx, W);
            fx = fx < 0 ? 0 : fx > (float)(W - 1) ? (float)(W - 1) : fx;
            int64_t x0 = (int64_t)fx, x1 = x0 + 1 < W ? x0 + 1 : W - 1;
            float wx = fx - (float)x0;
            for (int64_t pl = 0; pl < planes; pl++) {
                const float *xp = x + pl * H * W;
                float v;
                if (!p.linear) {
                    v = xp[ny * W + nx];
                } else {
                    float a = xp[y0 * W + x0] + (xp[y0 * W + x1] - xp[y0 * W + x0]) * wx;
                    float b = xp[y1 * W + x0] + (xp[y1 * W + x1] - xp[y1 * W + x0]) * wx;
                    v = a + (b - a) * wy;
                }
                y[pl * OH * OW + oy * OW + ox] = v;
            }
        }
    }
}

const nn_op_def nn_ops_tensor[] = {
    {"Shape", 1, 1, 1, 1, infer_shape, NULL, false},
    {"Constant", 0, 0, 1, 1, infer_constant, NULL, false},
    {"ConstantOfShape", 1, 1, 1, 1, infer_constant_of_shape, NULL, false},
    {"Reshape", 1, 2, 1, 1, infer_reshape, NULL, true},
    {"Flatten", 1, 1, 1, 1, infer_flatten, NULL, true},
    {"Squeeze", 1, 2, 1, 1, infer_squeeze, NULL, true},
    {"Unsqueeze", 1, 2, 1, 1, infer_unsqueeze, NULL, true},
    {"Concat", 1, 64, 1, 1, infer_concat, run_concat, false},
    {"Split", 1, 2, 1, 64, infer_split, run_split, false},
    {"Slice", 1, 5, 1, 1, infer_slice, run_slice, false},
    {"Gather", 2, 2, 1, 1, infer_gather, run_gather, false},
    {"Transpose", 1, 1, 1, 1, infer_transpose, run_transpose, false},
    {"Pad", 1, 4, 1, 1, infer_pad, run_pad, false},
    {"Resize", 1, 4, 1, 1, infer_resize, run_resize, false},
    {"Upsample", 1, 2, 1, 1, infer_resize, run_resize, false},
    {NULL, 0, 0, 0, 0, NULL, NULL, false},
};
