/*
 * ops_elem.c — element-wise operators: activations (Relu, Sigmoid, Tanh,
 * LeakyRelu, HardSigmoid, HardSwish, Clip, PRelu, ...), unary maths (Exp,
 * Sqrt, ...), binary arithmetic with numpy broadcasting (Add, Sub, Mul, Div,
 * Pow, Max, Min) and Cast. Binary operators also work on int64 so that the
 * shape arithmetic exporters emit folds to constants.
 */
#include <math.h>
#include <string.h>

#include "nn_internal.h"
#include "ops.h"

/* ---- unary ------------------------------------------------------------ */

static rc_status infer_unary_f32(nn_ctx *c)
{
    if (c->in[0]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "expects a float tensor");
    c->out[0]->type = NN_F32;
    c->out[0]->shape = c->in[0]->shape;
    return RC_OK;
}

#define UNARY(fn, expr)                                                                            \
    static void fn(nn_ctx *c)                                                                      \
    {                                                                                              \
        const float *x = c->in[0]->data;                                                           \
        float *y = c->out[0]->data;                                                                \
        int64_t n = nn_shape_count(&c->out[0]->shape);                                             \
        const nn_node *node = c->node;                                                             \
        (void)node;                                                                                \
        for (int64_t i = 0; i < n; i++) {                                                          \
            float v = x[i];                                                                        \
            y[i] = (expr);                                                                         \
        }                                                                                          \
    }

UNARY(run_relu, v > 0 ? v : 0)
UNARY(run_sigmoid_c, 1.0f / (1.0f + expf(-v)))
UNARY(run_tanh_c, tanhf(v))
UNARY(run_exp_c, expf(v))

#define UNARY_FAST(fn, kind)                                                                       \
    static void fn(nn_ctx *c)                                                                      \
    {                                                                                              \
        if (c->reference || !nn_unary_fast(kind, c->in[0]->data, c->out[0]->data,                  \
                                           nn_shape_count(&c->out[0]->shape)))                     \
            fn##_c(c);                                                                             \
    }
UNARY_FAST(run_sigmoid, NN_UNARY_SIGMOID)
UNARY_FAST(run_tanh, NN_UNARY_TANH)
UNARY_FAST(run_exp, NN_UNARY_EXP)

void nn_exp(const float *x, float *y, int64_t n)
{
    if (!nn_unary_fast(NN_UNARY_EXP, x, y, n))
        for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}
UNARY(run_log, logf(v))
UNARY(run_sqrt, sqrtf(v))
UNARY(run_neg, -v)
UNARY(run_abs, fabsf(v))
UNARY(run_reciprocal, 1.0f / v)
UNARY(run_floor, floorf(v))
UNARY(run_ceil, ceilf(v))
UNARY(run_erf, erff(v))
UNARY(run_softplus, logf(1.0f + expf(v)))
UNARY(run_leaky, v >= 0 ? v : v * nn_attr_float(node, "alpha", 0.01f))
UNARY(run_elu, v >= 0 ? v : nn_attr_float(node, "alpha", 1.0f) * (expf(v) - 1.0f))
UNARY(run_hsig, fmaxf(0.0f, fminf(1.0f, nn_attr_float(node, "alpha", 0.2f) * v +
                                            nn_attr_float(node, "beta", 0.5f))))
UNARY(run_hswish, v *fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f)))

/* Clip: bounds are attributes before opset 11 and optional inputs after. */
static void clip_bounds(const nn_ctx *c, float *lo, float *hi)
{
    if (c->opset < 11) {
        *lo = nn_attr_float(c->node, "min", -INFINITY);
        *hi = nn_attr_float(c->node, "max", INFINITY);
        return;
    }
    *lo = c->nin > 1 && c->in[1] ? *(const float *)c->in[1]->data : -INFINITY;
    *hi = c->nin > 2 && c->in[2] ? *(const float *)c->in[2]->data : INFINITY;
}

static rc_status infer_clip(nn_ctx *c)
{
    for (int i = 1; i < c->nin; i++)
        if (c->in[i] &&
            (!c->in[i]->data || c->in[i]->type != NN_F32 || nn_shape_count(&c->in[i]->shape) != 1))
            return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node,
                                "min and max must be constant float scalars");
    return infer_unary_f32(c);
}

static void run_clip(nn_ctx *c)
{
    float lo, hi;
    clip_bounds(c, &lo, &hi);
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t n = nn_shape_count(&c->out[0]->shape);
    for (int64_t i = 0; i < n; i++) y[i] = fminf(fmaxf(x[i], lo), hi);
}

/* Identity and Dropout (inference): the output is the input. */
static rc_status infer_identity(nn_ctx *c)
{
    c->out[0]->type = c->in[0]->type;
    c->out[0]->shape = c->in[0]->shape;
    for (int i = 1; i < c->nout; i++) { /* Dropout's mask: never used at inference */
        c->out[i]->type = NN_F32;
        c->out[i]->shape = c->in[0]->shape;
    }
    return RC_OK;
}

static rc_status infer_cast(nn_ctx *c)
{
    int64_t to = nn_attr_int(c->node, "to", 0);
    if (to == 1 || to == 11)
        c->out[0]->type = NN_F32;
    else if (to == 7 || to == 6)
        c->out[0]->type = NN_I64;
    else
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "cast to type %lld",
                            (long long)to);
    c->out[0]->shape = c->in[0]->shape;
    return RC_OK;
}

static void run_cast(nn_ctx *c)
{
    int64_t n = nn_shape_count(&c->out[0]->shape);
    nn_dtype from = c->in[0]->type, to = c->out[0]->type;
    if (from == to) {
        memcpy(c->out[0]->data, c->in[0]->data, (size_t)n * nn_dtype_size(to));
    } else if (to == NN_F32) {
        const int64_t *x = c->in[0]->data;
        float *y = c->out[0]->data;
        for (int64_t i = 0; i < n; i++) y[i] = (float)x[i];
    } else {
        const float *x = c->in[0]->data;
        int64_t *y = c->out[0]->data;
        for (int64_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v != v ? 0 : v >= 9.2e18f ? INT64_MAX : v <= -9.2e18f ? INT64_MIN : (int64_t)v;
        }
    }
}

/* ---- binary with broadcasting ------------------------------------------ */

/* Output shape and, per operand, strides over the output index space after
 * merging adjacent dimensions that can be walked as one. */
typedef struct {
    int nd;
    int64_t d[NN_MAX_DIMS];
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
} bcast;

static void bcast_plan(const nn_shape *a, const nn_shape *b, const nn_shape *o, bcast *p)
{
    int nd = o->ndim;
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    int64_t ra = 1, rb = 1;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        sa[i] = da == 1 ? 0 : ra;
        sb[i] = db == 1 ? 0 : rb;
        ra *= da;
        rb *= db;
    }
    /* drop size-1 dimensions, then merge neighbours that both operands walk
     * contiguously (or not at all) */
    p->nd = 0;
    for (int i = 0; i < nd; i++) {
        if (o->d[i] == 1) continue;
        p->d[p->nd] = o->d[i];
        p->sa[p->nd] = sa[i];
        p->sb[p->nd] = sb[i];
        p->nd++;
    }
    /* merge from the innermost outwards */
    int w = p->nd - 1;
    for (int i = p->nd - 2; i >= 0 && w >= 0; i--) {
        bool ma = (p->sa[i] == 0 && p->sa[w] == 0) || (p->sa[i] == p->sa[w] * p->d[w] && p->sa[w]);
        bool mb = (p->sb[i] == 0 && p->sb[w] == 0) || (p->sb[i] == p->sb[w] * p->d[w] && p->sb[w]);
        if (ma && mb) {
            p->d[w] *= p->d[i];
            p->d[i] = 1; /* folded */
        } else {
            w = i;
        }
    }
    int k = 0;
    for (int i = 0; i < p->nd; i++)
        if (p->d[i] != 1) {
            p->d[k] = p->d[i];
            p->sa[k] = p->sa[i];
            p->sb[k] = p->sb[i];
            k++;
        }
    p->nd = k;
    if (k == 0) {
        p->nd = 1;
        p->d[0] = 1;
        p->sa[0] = p->sb[0] = 0;
    }
}

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_PRELU };

static inline float fop(int op, float a, float b)
{
    switch (op) {
    case B_ADD:
        return a + b;
    case B_SUB:
        return a - b;
    case B_MUL:
        return a * b;
    case B_DIV:
        return a / b;
    case B_POW:
        return powf(a, b);
    case B_MAX:
        return fmaxf(a, b);
    case B_MIN:
        return fminf(a, b);
    default:
        return a >= 0 ? a : a * b;
    }
}

static inline int64_t iop(int op, int64_t a, int64_t b)
{
    switch (op) {
    case B_ADD:
        return (int64_t)((uint64_t)a + (uint64_t)b);
    case B_SUB:
        return (int64_t)((uint64_t)a - (uint64_t)b);
    case B_MUL:
        return (int64_t)((uint64_t)a * (uint64_t)b);
    case B_DIV:
        return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
    case B_MAX:
        return a > b ? a : b;
    case B_MIN:
        return a < b ? a : b;
    default:
        return a >= 0 ? a : a * b;
    }
}

static rc_status infer_binary(nn_ctx *c)
{
    const nn_tensor *a = c->in[0], *b = c->in[1];
    if (a->type != b->type)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "mixes element types");
    const char *op = c->node->op_type;
    if (a->type == NN_I64 && (strcmp(op, "Pow") == 0 || strcmp(op, "PRelu") == 0))
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "expects float tensors");
    nn_shape o;
    if (!nn_shape_broadcast(&a->shape, &b->shape, &o)) {
        char sa[96], sb[96];
        nn_shape_format(&a->shape, sa, sizeof sa);
        nn_shape_format(&b->shape, sb, sizeof sb);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "cannot broadcast %s with %s", sa, sb);
    }
    if (strcmp(op, "PRelu") == 0 && !nn_shape_eq(&o, &a->shape))
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "slope does not broadcast to X");
    c->out[0]->type = a->type;
    c->out[0]->shape = o;
    return RC_OK;
}

static void run_binary_op(nn_ctx *c, int op)
{
    bcast p;
    bcast_plan(&c->in[0]->shape, &c->in[1]->shape, &c->out[0]->shape, &p);
    int64_t total = nn_shape_count(&c->out[0]->shape);
    if (total == 0) return;
    int last = p.nd - 1;
    int64_t inner = p.d[last], ia = p.sa[last], ib = p.sb[last];
    int64_t idx[NN_MAX_DIMS] = {0};
    int64_t offa = 0, offb = 0;
    bool isf = c->out[0]->type == NN_F32;
    for (int64_t done = 0; done < total; done += inner) {
        if (isf) {
            const float *a = (const float *)c->in[0]->data + offa;
            const float *b = (const float *)c->in[1]->data + offb;
            float *y = (float *)c->out[0]->data + done;
            int mode = ia == 1 && ib == 1   ? 0
                       : ia == 1 && ib == 0 ? 1
                       : ia == 0 && ib == 1 ? 2
                                            : -1;
            if (!c->reference && mode >= 0 && op <= B_DIV &&
                nn_binary_fast(op, a, b, y, inner, mode))
                ;
            else if (ia == 1 && ib == 1)
                for (int64_t i = 0; i < inner; i++) y[i] = fop(op, a[i], b[i]);
            else if (ia == 1 && ib == 0)
                for (int64_t i = 0; i < inner; i++) y[i] = fop(op, a[i], b[0]);
            else if (ia == 0 && ib == 1)
                for (int64_t i = 0; i < inner; i++) y[i] = fop(op, a[0], b[i]);
            else
                for (int64_t i = 0; i < inner; i++) y[i] = fop(op, a[i * ia], b[i * ib]);
        } else {
            const int64_t *a = (const int64_t *)c->in[0]->data + offa;
            const int64_t *b = (const int64_t *)c->in[1]->data + offb;
            int64_t *y = (int64_t *)c->out[0]->data + done;
            for (int64_t i = 0; i < inner; i++) y[i] = iop(op, a[i * ia], b[i * ib]);
        }
        /* advance the outer index */
        for (int k = last - 1; k >= 0; k--) {
            idx[k]++;
            offa += p.sa[k];
            offb += p.sb[k];
            if (idx[k] < p.d[k]) break;
            offa -= p.sa[k] * p.d[k];
            offb -= p.sb[k] * p.d[k];
            idx[k] = 0;
        }
    }
    if (c->node->act != NN_ACT_NONE && isf) {
        /* fused activation after a residual Add: channel axis is 1 */
        const nn_shape *s = &c->out[0]->shape;
        int64_t ch = s->ndim >= 2 ? s->d[1] : 1;
        int64_t plane = ch ? total / (s->d[0] ? s->d[0] : 1) / ch : 0;
        for (int64_t b = 0; b < (s->ndim ? s->d[0] : 1); b++) {
            float *yb = (float *)c->out[0]->data + b * ch * plane;
            if (c->reference)
                nn_apply_act(c->node, yb, ch, plane, 0);
            else
                nn_epilogue(c->node, yb, ch, plane, NULL, 0);
        }
    }
}

/* ---- Add with a fused Mul (fuse.c, nn_node.mul) ------------------------
 * The Mul's product and the Add's other input as the unfused operators see
 * them: mctx the Mul (inputs in[mul_pos], in[2]; output `prod`), actx the
 * Add (the product in its old slot) on a copy of the node without the Mul. */
typedef struct {
    nn_node add;
    nn_tensor *min[2], *ain[2], *mout[1];
    nn_ctx mctx, actx;
} scaled_add;

static void scaled_add_split(const nn_ctx *c, nn_tensor *prod, scaled_add *sa)
{
    const nn_node *n = c->node;
    int j = n->mul_pos;
    sa->add = *n;
    sa->add.mul = NULL;
    sa->add.nin = 2;
    sa->min[0] = c->in[j];
    sa->min[1] = c->in[2];
    sa->mout[0] = prod;
    sa->ain[j] = prod;
    sa->ain[1 - j] = c->in[1 - j];
    sa->mctx = *c;
    sa->mctx.node = n->mul;
    sa->mctx.in = sa->min;
    sa->mctx.nin = 2;
    sa->mctx.out = sa->mout;
    sa->mctx.scratch_bytes = 0;
    sa->actx = *c;
    sa->actx.node = &sa->add;
    sa->actx.in = sa->ain;
    sa->actx.nin = 2;
    sa->actx.scratch_bytes = 0;
}

/* The one-pass form of a fused Add (float tensors; the Add's other input
 * and one of the Mul's of the output's shape, the Mul's other input one
 * value or one per plane of the first two axes): which input is which. */
typedef struct {
    const float *x, *s, *r; /* the full factor, the scale, the other addend */
    int64_t planes, plane, C;
    int sstep;      /* scale index per plane: 0 one value, 1 the plane's, -1 its channel's */
    bool s_first;   /* the scale is the Mul's first input */
    bool mul_first; /* the product is the Add's first input */
} scaled_plan;

/* s as one value or one per plane of o ([N or 1, C, 1, ...] against
 * [N, C, ...]): its step (see scaled_plan), or -2 when neither. */
static int scale_step(const nn_shape *s, const nn_shape *o)
{
    if (nn_shape_count(s) == 1) return 0;
    if (s->ndim != o->ndim || s->d[1] != o->d[1] || (s->d[0] != 1 && s->d[0] != o->d[0])) return -2;
    for (int d = 2; d < o->ndim; d++)
        if (s->d[d] != 1) return -2;
    return s->d[0] == o->d[0] ? 1 : -1;
}

static bool scaled_add_plan(const nn_ctx *c, scaled_plan *sp)
{
    int j = c->node->mul_pos;
    const nn_tensor *m0 = c->in[j], *m1 = c->in[2], *r = c->in[1 - j];
    const nn_shape *o = &c->out[0]->shape;
    if (m0->type != NN_F32 || m1->type != NN_F32 || r->type != NN_F32 || o->ndim < 2 ||
        !nn_shape_eq(&r->shape, o))
        return false;
    int step;
    if (nn_shape_eq(&m0->shape, o) && (step = scale_step(&m1->shape, o)) > -2) {
        sp->x = m0->data, sp->s = m1->data, sp->s_first = false;
    } else if (nn_shape_eq(&m1->shape, o) && (step = scale_step(&m0->shape, o)) > -2) {
        sp->x = m1->data, sp->s = m0->data, sp->s_first = true;
    } else {
        return false;
    }
    sp->r = r->data;
    sp->sstep = step;
    sp->mul_first = j == 0;
    sp->C = o->d[1];
    sp->planes = o->d[0] * o->d[1];
    sp->plane = sp->planes ? nn_shape_count(o) / sp->planes : 0;
    return true;
}

static rc_status infer_add(nn_ctx *c)
{
    if (!c->node->mul) return infer_binary(c);
    nn_tensor prod = {0};
    scaled_add sa;
    scaled_add_split(c, &prod, &sa);
    rc_status st = infer_binary(&sa.mctx);
    if (st == RC_OK) st = infer_binary(&sa.actx);
    if (st != RC_OK) return st;
    scaled_plan sp;
    c->scratch_bytes =
        scaled_add_plan(c, &sp)
            ? 0
            : ((size_t)nn_shape_count(&prod.shape) * nn_dtype_size(prod.type) + 63) / 64 * 64;
    return RC_OK;
}

static void run_add(nn_ctx *c)
{
    const nn_node *n = c->node;
    if (!n->mul) {
        run_binary_op(c, B_ADD);
        return;
    }
    scaled_plan sp;
    if (!scaled_add_plan(c, &sp)) {
        /* as planned unfused: the product into scratch, then the Add */
        nn_tensor prod = {0};
        scaled_add sa;
        scaled_add_split(c, &prod, &sa);
        infer_binary(&sa.mctx);
        prod.data = c->scratch;
        n->mul->def->run(&sa.mctx);
        run_binary_op(&sa.actx, B_ADD);
        return;
    }
    float *y = c->out[0]->data;
    for (int64_t p = 0; p < sp.planes; p++) {
        float sv = sp.s[sp.sstep == 0 ? 0 : sp.sstep == 1 ? p : p % sp.C];
        const float *xp = sp.x + p * sp.plane, *rp = sp.r + p * sp.plane;
        float *yp = y + p * sp.plane;
        if (c->reference || !nn_scale_add_fast(xp, sv, rp, yp, sp.plane, sp.s_first, sp.mul_first))
            for (int64_t i = 0; i < sp.plane; i++) {
                float m = sp.s_first ? sv * xp[i] : xp[i] * sv;
                yp[i] = sp.mul_first ? m + rp[i] : rp[i] + m;
            }
        /* the Add's activation while the plane is in cache (channel p % C) */
        if (n->act == NN_ACT_NONE) continue;
        if (c->reference)
            nn_apply_act(n, yp, 1, sp.plane, p % sp.C);
        else
            nn_epilogue(n, yp, 1, sp.plane, NULL, p % sp.C);
    }
}

static void run_sub(nn_ctx *c)
{
    run_binary_op(c, B_SUB);
}
static void run_mul(nn_ctx *c)
{
    run_binary_op(c, B_MUL);
}
static void run_div(nn_ctx *c)
{
    run_binary_op(c, B_DIV);
}
static void run_pow(nn_ctx *c)
{
    run_binary_op(c, B_POW);
}
static void run_max(nn_ctx *c)
{
    run_binary_op(c, B_MAX);
}
static void run_min(nn_ctx *c)
{
    run_binary_op(c, B_MIN);
}
static void run_prelu(nn_ctx *c)
{
    run_binary_op(c, B_PRELU);
}

#define U(name, fn)                                                                                \
    {                                                                                              \
        name, 1, 1, 1, 1, infer_unary_f32, fn, false                                               \
    }
#define B(name, fn)                                                                                \
    {                                                                                              \
        name, 2, 2, 1, 1, infer_binary, fn, false                                                  \
    }

const nn_op_def nn_ops_elem[] = {
    U("Relu", run_relu),
    U("Sigmoid", run_sigmoid),
    U("Tanh", run_tanh),
    U("Exp", run_exp),
    U("Log", run_log),
    U("Sqrt", run_sqrt),
    U("Neg", run_neg),
    U("Abs", run_abs),
    U("Reciprocal", run_reciprocal),
    U("Floor", run_floor),
    U("Ceil", run_ceil),
    U("Erf", run_erf),
    U("Softplus", run_softplus),
    U("LeakyRelu", run_leaky),
    U("Elu", run_elu),
    U("HardSigmoid", run_hsig),
    U("HardSwish", run_hswish),
    {"Clip", 1, 3, 1, 1, infer_clip, run_clip, false},
    {"Identity", 1, 1, 1, 1, infer_identity, NULL, true},
    {"Dropout", 1, 3, 1, 2, infer_identity, NULL, true},
    {"Cast", 1, 1, 1, 1, infer_cast, run_cast, false},
    {"Add", 2, 2, 1, 1, infer_add, run_add, false},
    B("Sub", run_sub),
    B("Mul", run_mul),
    B("Div", run_div),
    B("Pow", run_pow),
    B("Max", run_max),
    B("Min", run_min),
    B("PRelu", run_prelu),
    {NULL, 0, 0, 0, 0, NULL, NULL, false},
};
