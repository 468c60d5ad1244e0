/*
 * fuse.c — load-time graph rewrites that do not depend on input shapes:
 *   - Constant nodes become constant values;
 *   - BatchNormalization after a Conv is folded into the Conv's weights and
 *     bias (W' = W * s, b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps));
 *   - an activation (Relu, PRelu, LeakyRelu, Sigmoid, Clip, HardSwish)
 *     right after a Conv or Gemm (or an element-wise activation after Add)
 *     becomes the producer's epilogue;
 *   - a residual Add of a Conv's output and a tensor computed earlier
 *     becomes the Conv's fourth input, added as the Conv stores its output
 *     (with the Add's fused activation applied after it). Shapes are only
 *     known when planning: a broadcasting Add runs unfused then (ops_nn.c).
 *   - a BatchNormalization (+ ReLU) read only by a 1x1 Conv is applied by
 *     that Conv as it packs its input, and so is a 2x2 AveragePool that
 *     only reads the Conv (moved in front of it).
 * Rewritten nodes are marked dead; the planner skips them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nn_internal.h"

static bool is_const(const nn_model *m, int id)
{
    return id >= 0 && m->values[id].is_const;
}

static const float *const_f32(const nn_model *m, int id, int64_t count)
{
    if (!is_const(m, id)) return NULL;
    const nn_tensor *t = &m->values[id].init;
    if (t->type != NN_F32 || nn_shape_count(&t->shape) != count) return NULL;
    return t->data;
}

/* The single live node consuming value `id`, or -1. */
static int sole_consumer(const nn_model *m, int id, int after)
{
    if (m->values[id].uses != 1) return -1;
    for (int i = after + 1; i < m->nnodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == id) return i;
    }
    return -1;
}

static rc_status fold_constants(nn_model *m, rc_error *err)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *n = &m->nodes[i];
        if (strcmp(n->op_type, "Constant") != 0) continue;
        const nn_attr *a = nn_attr_get(n, "value");
        if (!a || a->type != 4) continue; /* other forms are folded by the planner */
        nn_tensor t = a->t;
        size_t bytes = (size_t)nn_shape_count(&t.shape) * nn_dtype_size(t.type);
        t.data = malloc(bytes ? bytes : 1);
        if (!t.data) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        if (bytes) memcpy(t.data, a->t.data, bytes);
        nn_value *v = &m->values[n->out[0]];
        v->is_const = true;
        v->init = t;
        v->producer = -1;
        n->dead = true;
    }
    return RC_OK;
}

static rc_status fold_bn(nn_model *m, rc_error *err)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *conv = &m->nodes[i];
        if (conv->dead || strcmp(conv->op_type, "Conv") != 0 || conv->act != NN_ACT_NONE) continue;
        int bi = sole_consumer(m, conv->out[0], i);
        if (bi < 0) continue;
        nn_node *bn = &m->nodes[bi];
        if (strcmp(bn->op_type, "BatchNormalization") != 0 || bn->nout != 1 || bn->nin != 5 ||
            bn->in[0] != conv->out[0])
            continue;
        if (!is_const(m, conv->in[1])) continue;
        const nn_tensor *wt = &m->values[conv->in[1]].init;
        if (wt->type != NN_F32 || wt->shape.ndim != 4) continue;
        int64_t M = wt->shape.d[0], per = M ? nn_shape_count(&wt->shape) / M : 0;
        const float *b = conv->nin > 2 && conv->in[2] >= 0 ? const_f32(m, conv->in[2], M) : NULL;
        if (conv->nin > 2 && conv->in[2] >= 0 && !b) continue;
        const float *gamma = const_f32(m, bn->in[1], M), *beta = const_f32(m, bn->in[2], M),
                    *mean = const_f32(m, bn->in[3], M), *var = const_f32(m, bn->in[4], M);
        if (!gamma || !beta || !mean || !var) continue;
        float eps = nn_attr_float(bn, "epsilon", 1e-5f);
        nn_tensor nw = {.type = NN_F32, .shape = wt->shape};
        nn_tensor nb = {.type = NN_F32, .shape = {.ndim = 1, .d = {M}}};
        nw.data = malloc((size_t)(M * per) * sizeof(float) + 1);
        nb.data = malloc((size_t)M * sizeof(float) + 1);
        int *in = realloc(conv->in, 3 * sizeof *in);
        if (in) conv->in = in;
        if (!nw.data || !nb.data || !in) {
            free(nw.data);
            free(nb.data);
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
        const float *w = wt->data;
        float *w2 = nw.data, *b2 = nb.data;
        for (int64_t o = 0; o < M; o++) {
            float s = gamma[o] / sqrtf(var[o] + eps);
            for (int64_t k = 0; k < per; k++) w2[o * per + k] = w[o * per + k] * s;
            b2[o] = ((b ? b[o] : 0.0f) - mean[o]) * s + beta[o];
        }
        nn_flush_denormals(w2, M * per);
        nn_flush_denormals(b2, M);
        int wid = nn_model_add_const(m, "bn_folded_weight", nw);
        if (wid < 0) {
            free(nw.data);
            free(nb.data);
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
        int bid = nn_model_add_const(m, "bn_folded_bias", nb);
        if (bid < 0) {
            free(nb.data);
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
        conv = &m->nodes[i]; /* values may have moved, nodes did not */
        conv->in[1] = wid;
        conv->in[2] = bid;
        conv->nin = 3;
        conv->out[0] = bn->out[0];
        m->values[bn->out[0]].producer = i;
        bn->dead = true;
    }
    return RC_OK;
}

/* Is the PRelu slope per output channel of a 4-D Conv output with M channels? */
static const float *prelu_slope(const nn_model *m, int id, int64_t M, int64_t *count)
{
    if (!is_const(m, id)) return NULL;
    const nn_tensor *t = &m->values[id].init;
    if (t->type != NN_F32) return NULL;
    int64_t n = nn_shape_count(&t->shape);
    const nn_shape *s = &t->shape;
    bool per_channel =
        (s->ndim == 3 && s->d[0] == M && s->d[1] == 1 && s->d[2] == 1) ||
        (s->ndim == 4 && s->d[0] == 1 && s->d[1] == M && s->d[2] == 1 && s->d[3] == 1);
    if (n != 1 && !per_channel) return NULL;
    *count = n;
    return t->data;
}

static void fuse_activations(nn_model *m)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *p = &m->nodes[i];
        bool conv = strcmp(p->op_type, "Conv") == 0;
        bool gemm = strcmp(p->op_type, "Gemm") == 0;
        bool add = strcmp(p->op_type, "Add") == 0;
        bool bn = strcmp(p->op_type, "BatchNormalization") == 0 && p->nout == 1;
        if (p->dead || p->act != NN_ACT_NONE || !(conv || gemm || add || bn)) continue;
        int ai = sole_consumer(m, p->out[0], i);
        if (ai < 0) continue;
        nn_node *a = &m->nodes[ai];
        if (a->nin < 1 || a->in[0] != p->out[0] || a->nout != 1) continue;
        const char *op = a->op_type;
        if (strcmp(op, "Relu") == 0) {
            p->act = NN_ACT_RELU;
        } else if (strcmp(op, "LeakyRelu") == 0) {
            p->act = NN_ACT_LEAKY;
            p->act_a = nn_attr_float(a, "alpha", 0.01f);
        } else if (strcmp(op, "Sigmoid") == 0) {
            p->act = NN_ACT_SIGMOID;
        } else if (strcmp(op, "HardSwish") == 0) {
            p->act = NN_ACT_HSWISH;
        } else if (strcmp(op, "Clip") == 0) {
            float lo = -INFINITY, hi = INFINITY;
            if (m->opset < 11) {
                lo = nn_attr_float(a, "min", lo);
                hi = nn_attr_float(a, "max", hi);
            } else {
                const float *v;
                if (a->nin > 1 && a->in[1] >= 0) {
                    if (!(v = const_f32(m, a->in[1], 1))) continue;
                    lo = *v;
                }
                if (a->nin > 2 && a->in[2] >= 0) {
                    if (!(v = const_f32(m, a->in[2], 1))) continue;
                    hi = *v;
                }
            }
            p->act = NN_ACT_CLIP;
            p->act_a = lo;
            p->act_b = hi;
        } else if (strcmp(op, "PRelu") == 0 && conv && a->in[1] != p->out[0]) {
            const nn_tensor *wt = is_const(m, p->in[1]) ? &m->values[p->in[1]].init : NULL;
            if (!wt || wt->shape.ndim != 4) continue;
            int64_t n;
            const float *slope = prelu_slope(m, a->in[1], wt->shape.d[0], &n);
            if (!slope) continue;
            p->act = NN_ACT_PRELU;
            p->act_slope = slope;
            p->act_slope_n = n;
        } else {
            continue;
        }
        p->out[0] = a->out[0];
        m->values[a->out[0]].producer = i;
        a->dead = true;
    }
}

static bool is_output(const nn_model *m, int id)
{
    for (int i = 0; i < m->noutputs; i++)
        if (m->outputs[i] == id) return true;
    return false;
}

/* Conv -> Add(conv, skip) [-> activation fused into the Add] becomes one
 * Conv reading skip as in[3], with res_add pointing at the Add. The skip
 * must be computed before the Conv runs (a graph input or an earlier node's
 * output), and the Conv must have no activation of its own (it would apply
 * before the sum). */
static rc_status fuse_residuals(nn_model *m, rc_error *err)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *p = &m->nodes[i];
        if (p->dead || strcmp(p->op_type, "Conv") != 0 || p->act != NN_ACT_NONE || p->res_add ||
            p->nout != 1 || p->nin < 2 || p->nin > 3 || is_output(m, p->out[0]))
            continue;
        int ai = sole_consumer(m, p->out[0], i);
        if (ai < 0) continue;
        nn_node *a = &m->nodes[ai];
        if (strcmp(a->op_type, "Add") != 0 || a->nin != 2 || a->nout != 1) continue;
        int skip = a->in[0] == p->out[0] ? a->in[1] : a->in[0];
        if (skip < 0 || skip == p->out[0] || is_const(m, skip)) continue;
        if (m->values[skip].producer >= i) continue; /* not ready when the Conv runs */
        int *in = realloc(p->in, 4 * sizeof *in);
        if (!in) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        p->in = in;
        for (int k = p->nin; k < 3; k++) p->in[k] = -1;
        p->in[3] = skip;
        p->nin = 4;
        p->res_add = a;
        p->act = a->act;
        p->act_a = a->act_a;
        p->act_b = a->act_b;
        p->act_slope = a->act_slope;
        p->act_slope_n = a->act_slope_n;
        /* the Conv now writes the Add's output; its own output value is
         * still the Add's input while the Add can run unfused */
        p->out[0] = a->out[0];
        m->values[a->out[0]].producer = i;
        a->dead = true;
    }
    return RC_OK;
}

/* Mul -> Add(product, r) [-> activation fused into the Add] becomes one
 * Add reading the Mul's inputs (nn_node.mul): squeeze-and-excitation's
 * x * s + skip and a detector's scaled branch + shortcut in one pass
 * instead of two (three with the activation). The product must feed only
 * the Add. Runs after fuse_residuals, which takes a Conv's Add first. */
static rc_status fuse_scaled_adds(nn_model *m, rc_error *err)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *a = &m->nodes[i];
        if (a->dead || strcmp(a->op_type, "Add") != 0 || a->nin != 2 || a->nout != 1 || a->mul)
            continue;
        for (int j = 0; j < 2; j++) {
            int id = a->in[j], pi = id >= 0 ? m->values[id].producer : -1;
            if (pi < 0 || pi >= i || m->values[id].uses != 1 || is_output(m, id)) continue;
            nn_node *p = &m->nodes[pi];
            if (p->dead || strcmp(p->op_type, "Mul") != 0 || p->nin != 2 || p->nout != 1 ||
                p->in[0] < 0 || p->in[1] < 0)
                continue;
            int *in = realloc(a->in, 3 * sizeof *in);
            if (!in) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            a->in = in;
            a->in[j] = p->in[0];
            a->in[2] = p->in[1];
            a->nin = 3;
            a->mul = p;
            a->mul_pos = j;
            m->values[id].uses = 0;
            p->dead = true;
            break;
        }
    }
    return RC_OK;
}

/* Pack the weights of every ungrouped Conv for the fast GEMM (AVX-512 or
 * AVX2 micro-kernels). */
static rc_status pack_weights(nn_model *m, rc_error *err)
{
    if (!nn_cpu_features().avx512 && !nn_cpu_features().avx2) return RC_OK;
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *n = &m->nodes[i];
        if (n->dead || strcmp(n->op_type, "Conv") != 0 || nn_attr_int(n, "group", 1) != 1 ||
            !is_const(m, n->in[1]))
            continue;
        const nn_tensor *w = &m->values[n->in[1]].init;
        if (w->type != NN_F32 || w->shape.ndim != 4) continue;
        int64_t M = w->shape.d[0], K = M ? nn_shape_count(&w->shape) / M : 0;
        if (M == 0 || K == 0) continue;
        size_t floats = nn_gemm_packed_floats(M, K);
        n->wpack = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        if (!n->wpack) return rc_fail(err, RC_ERR_NOMEM, "out of memory packing weights");
        nn_gemm_pack_a(w->data, M, K, n->wpack);
        n->wpack_stride = (int64_t)floats;
        /* 3x3, stride 1, no dilation: also keep Winograd-transformed weights */
        const int64_t *st, *dl;
        size_t ns = nn_attr_ints(n, "strides", &st), nd = nn_attr_ints(n, "dilations", &dl);
        bool unit = (ns == 0 || (ns == 2 && st[0] == 1 && st[1] == 1)) &&
                    (nd == 0 || (nd == 2 && dl[0] == 1 && dl[1] == 1));
        if (unit && w->shape.d[2] == 3 && w->shape.d[3] == 3 && w->shape.d[1] >= 16 && M >= 16) {
            size_t wf = nn_wino_packed_floats(M, w->shape.d[1]);
            n->wino = aligned_alloc(64, (wf * sizeof(float) + 63) / 64 * 64);
            if (!n->wino) return rc_fail(err, RC_ERR_NOMEM, "out of memory packing weights");
            nn_wino_pack(w->data, M, w->shape.d[1], n->wino);
        }
    }
    return RC_OK;
}

/* A standalone BatchNormalization (+ ReLU) whose only reader is a 1x1
 * convolution (stride 1, no padding, one group), as in DenseNet's
 * pre-activation layers: the normalization moves into the convolution
 * (pre_affine), which applies it while packing its input, so the
 * normalized tensor is never written out. */
static rc_status fuse_bn_into_pointwise(nn_model *m, rc_error *err)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *bn = &m->nodes[i];
        if (bn->dead || strcmp(bn->op_type, "BatchNormalization") != 0 || bn->nin != 5 ||
            bn->nout != 1 || (bn->act != NN_ACT_NONE && bn->act != NN_ACT_RELU))
            continue;
        int ci = sole_consumer(m, bn->out[0], i);
        if (is_output(m, bn->out[0]) || ci < 0) continue;
        nn_node *conv = &m->nodes[ci];
        if (strcmp(conv->op_type, "Conv") != 0 || conv->nin < 2 || conv->in[0] != bn->out[0] ||
            conv->in[1] == bn->out[0] || (conv->nin > 2 && conv->in[2] == bn->out[0]) ||
            conv->pre_affine || conv->res_add || !is_const(m, conv->in[1]))
            continue;
        const nn_tensor *wt = &m->values[conv->in[1]].init;
        if (wt->type != NN_F32 || wt->shape.ndim != 4 || wt->shape.d[2] != 1 || wt->shape.d[3] != 1)
            continue;
        int64_t C = wt->shape.d[1];
        const int64_t *v;
        size_t nv = nn_attr_ints(conv, "strides", &v);
        bool ok = nn_attr_int(conv, "group", 1) == 1 &&
                  strcmp(nn_attr_str(conv, "auto_pad", "NOTSET"), "NOTSET") == 0;
        for (size_t k = 0; k < nv; k++) ok &= v[k] == 1;
        nv = nn_attr_ints(conv, "pads", &v);
        for (size_t k = 0; k < nv; k++) ok &= v[k] == 0;
        const float *gamma = const_f32(m, bn->in[1], C), *beta = const_f32(m, bn->in[2], C),
                    *mean = const_f32(m, bn->in[3], C), *var = const_f32(m, bn->in[4], C);
        if (!ok || !gamma || !beta || !mean || !var) continue;
        float *aff = malloc((size_t)(2 * C) * sizeof(float) + 1);
        if (!aff) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        float eps = nn_attr_float(bn, "epsilon", 1e-5f);
        /* the same arithmetic as the BatchNormalization kernel */
        for (int64_t ch = 0; ch < C; ch++) {
            aff[ch] = gamma[ch] / sqrtf(var[ch] + eps);
            aff[C + ch] = beta[ch] - mean[ch] * aff[ch];
        }
        conv->pre_affine = aff;
        conv->pre_act = bn->act;
        conv->in[0] = bn->in[0];
        m->values[bn->out[0]].uses = 0;
        bn->dead = true;
    }
    return RC_OK;
}

/* Are the int attribute `name`'s values all `want` (or is it absent)? */
static bool ints_all(const nn_node *n, const char *name, int64_t want)
{
    const int64_t *v;
    size_t nv = nn_attr_ints(n, name, &v);
    for (size_t k = 0; k < nv; k++)
        if (v[k] != want) return false;
    return true;
}

/* A Pad node that pads nothing (exporters put one before an AveragePool),
 * with its pads as an attribute or a constant int64 input. */
static bool pads_nothing(const nn_model *m, const nn_node *n)
{
    if (strcmp(n->op_type, "Pad") != 0 || n->nout != 1) return false;
    if (n->nin < 2 || n->in[1] < 0) return nn_attr_get(n, "pads") && ints_all(n, "pads", 0);
    if (!is_const(m, n->in[1]) || m->values[n->in[1]].init.type != NN_I64) return false;
    const nn_tensor *t = &m->values[n->in[1]].init;
    const int64_t *v = t->data;
    for (int64_t k = 0; k < nn_shape_count(&t->shape); k++)
        if (v[k] != 0) return false;
    return true;
}

/* A 1x1 Conv (stride 1, no pads, no activation) followed only by a 2x2
 * stride-2 AveragePool (possibly through a Pad of nothing), as in
 * DenseNet's transition layers: both are linear, so pooling first gives the
 * same result with a quarter of the multiplications. The Conv takes over
 * the pool's output (pre_pool2) and pools its input as it packs it, after
 * any folded BatchNormalization. */
static void fuse_pointwise_avgpool(nn_model *m)
{
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *conv = &m->nodes[i];
        if (conv->dead || strcmp(conv->op_type, "Conv") != 0 || conv->act != NN_ACT_NONE ||
            conv->pre_pool2 || conv->res_add || conv->nout != 1 || conv->nin < 2 ||
            !is_const(m, conv->in[1]))
            continue;
        const nn_tensor *wt = &m->values[conv->in[1]].init;
        if (wt->type != NN_F32 || wt->shape.ndim != 4 || wt->shape.d[2] != 1 ||
            wt->shape.d[3] != 1 || nn_attr_int(conv, "group", 1) != 1 ||
            strcmp(nn_attr_str(conv, "auto_pad", "NOTSET"), "NOTSET") != 0 ||
            !ints_all(conv, "strides", 1) || !ints_all(conv, "pads", 0))
            continue;
        int pi = sole_consumer(m, conv->out[0], i);
        if (is_output(m, conv->out[0]) || pi < 0) continue;
        nn_node *ap = &m->nodes[pi], *pad = NULL;
        if (pads_nothing(m, ap) && ap->in[0] == conv->out[0]) {
            /* Conv -> Pad(0) -> AveragePool: the Pad goes too */
            int qi = sole_consumer(m, ap->out[0], pi);
            if (is_output(m, ap->out[0]) || qi < 0) continue;
            pad = ap;
            ap = &m->nodes[qi];
        }
        const int64_t *ks;
        if (strcmp(ap->op_type, "AveragePool") != 0 || ap->nout != 1 ||
            ap->in[0] != (pad ? pad->out[0] : conv->out[0]) ||
            nn_attr_ints(ap, "kernel_shape", &ks) != 2 || ks[0] != 2 || ks[1] != 2 ||
            !ints_all(ap, "strides", 2) || nn_attr_ints(ap, "strides", &ks) != 2 ||
            !ints_all(ap, "pads", 0) || !ints_all(ap, "dilations", 1) ||
            nn_attr_int(ap, "ceil_mode", 0) != 0 ||
            strcmp(nn_attr_str(ap, "auto_pad", "NOTSET"), "NOTSET") != 0)
            continue;
        m->values[conv->out[0]].uses = 0;
        if (pad) {
            m->values[pad->out[0]].uses = 0;
            pad->dead = true;
        }
        conv->out[0] = ap->out[0];
        m->values[ap->out[0]].producer = i;
        conv->pre_pool2 = true;
        ap->dead = true;
    }
}

rc_status nn_fuse(nn_model *m, rc_error *err)
{
    rc_status st = fold_constants(m, err);
    if (st == RC_OK) st = fold_bn(m, err);
    if (st == RC_OK) fuse_activations(m);
    if (st == RC_OK) st = fuse_residuals(m, err);
    if (st == RC_OK) st = fuse_scaled_adds(m, err);
    if (st == RC_OK) st = fuse_bn_into_pointwise(m, err);
    if (st == RC_OK) fuse_pointwise_avgpool(m);
    if (st == RC_OK) st = pack_weights(m, err);
    for (int i = 0; st == RC_OK && i < m->nnodes; i++)
        if (!m->nodes[i].dead) nn_window_cache(&m->nodes[i]);
    return st;
}

/* ---- one block for the weights -------------------------------------------
 * Constants are read from many separate allocations, wherever malloc put
 * them. Which physical pages those land on decides how they share the
 * cache: small models ran about 40% slower in some loads than in others of
 * the same process (fr_eye: 0.059 or 0.083 ms), and identically fast once
 * all their weights sat in one huge page. So, once the model is final,
 * every constant's data and every packed copy move into one 2 MiB-aligned
 * block advised for transparent huge pages. */

#define WEIGHTS_ALIGN ((size_t)2 << 20)

static size_t round64(size_t n)
{
    return (n + 63) / 64 * 64;
}

/* Bytes of data of each buffer the block takes over (0 for none or empty;
 * the block reserves at least 64 for every buffer it takes). */
static size_t value_bytes(const nn_value *v)
{
    return (size_t)nn_shape_count(&v->init.shape) * nn_dtype_size(v->init.type);
}

static size_t wino_bytes(const nn_model *m, const nn_node *n)
{
    if (!n->wino) return 0;
    const nn_tensor *w = &m->values[n->in[1]].init;
    return nn_wino_packed_floats(w->shape.d[0], w->shape.d[1]) * sizeof(float);
}

static size_t folded_affine_bytes(const nn_model *m, const nn_node *n)
{
    return n->pre_affine ? (size_t)(2 * m->values[n->in[1]].init.shape.d[1]) * sizeof(float) : 0;
}

static size_t wpack_bytes(const nn_node *n)
{
    return n->wpack ? (size_t)n->wpack_stride * sizeof(float) : 0;
}

/* The block's room for a buffer of `bytes` at p (none when p is NULL). */
static size_t room(const void *p, size_t bytes)
{
    return p ? round64(bytes ? bytes : 1) : 0;
}

/* Copy the `bytes` of *p (when *p is set) to `at`, free the old copy and
 * point *p at the new one; returns where the next buffer goes. */
static char *move_to(void **p, size_t bytes, char *at)
{
    size_t r = room(*p, bytes);
    if (!r) return at;
    if (bytes) memcpy(at, *p, bytes);
    free(*p);
    *p = at;
    return at + r;
}

rc_status nn_gather_weights(nn_model *m, rc_error *err)
{
    size_t total = 0;
    for (int i = 0; i < m->nvalues; i++)
        total += room(m->values[i].init.data, value_bytes(&m->values[i]));
    for (int i = 0; i < m->nnodes; i++) {
        const nn_node *n = &m->nodes[i];
        total += room(n->wpack, wpack_bytes(n)) + room(n->wino, wino_bytes(m, n)) +
                 room(n->pre_affine, folded_affine_bytes(m, n));
    }
    if (!total) return RC_OK;
    size_t size = (total + WEIGHTS_ALIGN - 1) / WEIGHTS_ALIGN * WEIGHTS_ALIGN;
    char *block = aligned_alloc(WEIGHTS_ALIGN, size), *at = block;
    if (!block) return rc_fail(err, RC_ERR_NOMEM, "out of memory for the weights");
#if defined(MADV_HUGEPAGE)
    madvise(block, size, MADV_HUGEPAGE); /* advice: without it, ordinary pages */
#endif
    for (int i = 0; i < m->nvalues; i++) {
        nn_value *v = &m->values[i];
        if (!v->init.data) continue;
        size_t bytes = value_bytes(v);
        /* a PRelu slope fused into a Conv points into a constant */
        const char *old = v->init.data;
        for (int k = 0; k < m->nnodes && bytes; k++) {
            nn_node *n = &m->nodes[k];
            const char *sl = (const char *)n->act_slope;
            if (sl >= old && sl < old + bytes)
                n->act_slope = (const float *)(const void *)(at + (sl - old));
        }
        at = move_to(&v->init.data, bytes, at);
    }
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *n = &m->nodes[i];
        at = move_to((void **)&n->wpack, wpack_bytes(n), at);
        at = move_to((void **)&n->wino, wino_bytes(m, n), at);
        at = move_to((void **)&n->pre_affine, folded_affine_bytes(m, n), at);
    }
    m->weights = block;
    return RC_OK;
}
