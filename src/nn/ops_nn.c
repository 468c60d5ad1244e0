/*
 * ops_nn.c — the network operators: Conv (groups, dilations, pads, strides,
 * auto_pad), ConvTranspose, BatchNormalization, Gemm, MatMul, MaxPool,
 * AveragePool, GlobalAveragePool/GlobalMaxPool, ReduceMean/Sum/Max/Min,
 * Softmax and LogSoftmax.
 *
 * Each has a plain C path that defines the right answer; Conv, Gemm and
 * MatMul also have fast paths (sgemm, im2col, and the AVX-512 kernels of
 * gemm.c, wino.c, direct.c, dwsmall.c, kernels.c and pack.c, chosen by
 * shape in run_conv) that are taken unless the run asks for the reference.
 * A Conv may carry what fuse.c folded into it: a residual Add (summed as
 * the output is stored, or run after it when it broadcasts) and a
 * BatchNormalization (+ ReLU) and/or 2x2 average pooling of its input
 * (applied while packing, or into scratch first).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn_internal.h"
#include "ops.h"

/* ---- 2-D window geometry (Conv, ConvTranspose, pooling) ---------------- */

typedef struct {
    int64_t N, C, H, W; /* input */
    int64_t M, OH, OW;  /* output channels and size */
    int64_t KH, KW, sh, sw, dh, dw, pt, pl, pb, pr, group;
} geom;

/* The window attributes of n (strides, dilations, pads or auto_pad, group,
 * kernel_shape); -1 if invalid. */
static int window_attrs(const nn_node *n, nn_window *w)
{
    const int64_t *v;
    size_t k;
    memset(w, 0, sizeof *w);
    w->sh = w->sw = w->dh = w->dw = 1;
    if ((k = nn_attr_ints(n, "strides", &v))) {
        if (k != 2) return -1;
        w->sh = v[0];
        w->sw = v[1];
    }
    if ((k = nn_attr_ints(n, "dilations", &v))) {
        if (k != 2) return -1;
        w->dh = v[0];
        w->dw = v[1];
    }
    if (w->sh < 1 || w->sw < 1 || w->dh < 1 || w->dw < 1 || w->sh > 4096 || w->sw > 4096 ||
        w->dh > 4096 || w->dw > 4096)
        return -1;
    const char *ap = nn_attr_str(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "SAME_UPPER") == 0)
        w->auto_pad = 1;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        w->auto_pad = 2;
    else if (strcmp(ap, "VALID") != 0 && strcmp(ap, "NOTSET") != 0)
        return -1;
    if (w->auto_pad == 0 && strcmp(ap, "NOTSET") == 0 && (k = nn_attr_ints(n, "pads", &v))) {
        if (k != 4) return -1;
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > 4096) return -1;
            w->pads[i] = v[i];
        }
    }
    w->group = nn_attr_int(n, "group", 1);
    w->nks = nn_attr_ints(n, "kernel_shape", &w->ks);
    w->ok = true;
    return 0;
}

void nn_window_cache(nn_node *n)
{
    if (strcmp(n->op_type, "Conv") == 0 || strcmp(n->op_type, "ConvTranspose") == 0 ||
        strcmp(n->op_type, "MaxPool") == 0 || strcmp(n->op_type, "AveragePool") == 0)
        window_attrs(n, &n->win); /* an invalid window stays unparsed (ok false) */
}

static int window_geom(const nn_node *n, geom *g, bool ceil_mode)
{
    nn_window wa;
    if (n->win.ok)
        wa = n->win;
    else if (window_attrs(n, &wa) < 0)
        return -1;
    g->sh = wa.sh;
    g->sw = wa.sw;
    g->dh = wa.dh;
    g->dw = wa.dw;
    g->pt = g->pl = g->pb = g->pr = 0;
    if (g->KH < 1 || g->KW < 1 || g->KH > 4096 || g->KW > 4096) return -1;
    int64_t ekh = (g->KH - 1) * g->dh + 1, ekw = (g->KW - 1) * g->dw + 1;
    if (wa.auto_pad) {
        g->OH = (g->H + g->sh - 1) / g->sh;
        g->OW = (g->W + g->sw - 1) / g->sw;
        int64_t th = (g->OH - 1) * g->sh + ekh - g->H, tw = (g->OW - 1) * g->sw + ekw - g->W;
        if (th < 0) th = 0;
        if (tw < 0) tw = 0;
        bool upper = wa.auto_pad == 1;
        g->pt = upper ? th / 2 : (th + 1) / 2;
        g->pb = th - g->pt;
        g->pl = upper ? tw / 2 : (tw + 1) / 2;
        g->pr = tw - g->pl;
        return 0;
    }
    g->pt = wa.pads[0];
    g->pl = wa.pads[1];
    g->pb = wa.pads[2];
    g->pr = wa.pads[3];
    int64_t ih = g->H + g->pt + g->pb - ekh, iw = g->W + g->pl + g->pr - ekw;
    if (ih < 0 || iw < 0) return -2;
    if (ceil_mode) {
        g->OH = (ih + g->sh - 1) / g->sh + 1;
        g->OW = (iw + g->sw - 1) / g->sw + 1;
        if ((g->OH - 1) * g->sh >= g->H + g->pt) g->OH--;
        if ((g->OW - 1) * g->sw >= g->W + g->pl) g->OW--;
    } else {
        g->OH = ih / g->sh + 1;
        g->OW = iw / g->sw + 1;
    }
    return 0;
}

/* ---- Conv --------------------------------------------------------------- */

static int conv_geom(const nn_ctx *c, geom *g)
{
    const nn_shape *x = &c->in[0]->shape, *w = &c->in[1]->shape;
    if (x->ndim != 4 || w->ndim != 4) return -3;
    g->N = x->d[0];
    g->C = x->d[1];
    g->H = x->d[2];
    g->W = x->d[3];
    g->M = w->d[0];
    g->KH = w->d[2];
    g->KW = w->d[3];
    const nn_window *cw = &c->node->win;
    g->group = cw->ok ? cw->group : nn_attr_int(c->node, "group", 1);
    const int64_t *ks;
    size_t nk = cw->ok ? cw->nks : nn_attr_ints(c->node, "kernel_shape", &ks);
    if (cw->ok) ks = cw->ks;
    if (nk && (nk != 2 || ks[0] != g->KH || ks[1] != g->KW)) return -1;
    if (g->group < 1 || g->C % g->group || g->M % g->group || w->d[1] != g->C / g->group) return -1;
    return window_geom(c->node, g, false);
}

/* Bytes before the GEMM panel in a Conv's scratch: the im2col matrix of the
 * portable path or the depthwise kernel's padded plane, whichever is larger. */
static size_t conv_panel_offset(const geom *g, bool pointwise, int64_t kdim)
{
    size_t cols = pointwise ? 0 : (size_t)(kdim * g->OH * g->OW) * sizeof(float);
    size_t pad = (size_t)((g->H + g->pt + g->pb + 2) * (g->W + g->pl + g->pr + 64)) * sizeof(float);
    return ((cols > pad ? cols : pad) + 63) / 64 * 64;
}

/* Bytes of a Conv's input as its folded BatchNormalization and pooling leave it. */
static size_t pre_affine_bytes(const geom *g)
{
    return ((size_t)(g->N * g->C * g->H * g->W) * sizeof(float) + 63) / 64 * 64;
}

static rc_status infer_conv_plain(nn_ctx *c)
{
    geom g;
    if (c->in[0]->type != NN_F32 || c->in[1]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "expects float tensors");
    int r = conv_geom(c, &g);
    if (r == -3)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node,
                            "only 2-D convolution (NCHW input) is supported");
    if (r == -2) {
        char s[96];
        nn_shape_format(&c->in[0]->shape, s, sizeof s);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "input %s is smaller than the kernel",
                            s);
    }
    if (r < 0) {
        char a[96], b[96];
        nn_shape_format(&c->in[0]->shape, a, sizeof a);
        nn_shape_format(&c->in[1]->shape, b, sizeof b);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node,
                            "weights %s and attributes do not fit input %s", b, a);
    }
    if (c->nin > 2 && c->in[2] &&
        (c->in[2]->type != NN_F32 || nn_shape_count(&c->in[2]->shape) != g.M))
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "bias size differs from M");
    nn_shape s = {.ndim = 4, .d = {g.N, g.M, g.OH, g.OW}};
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    int64_t cg = g.C / g.group;
    bool pointwise = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
                     g.pb == 0 && g.pr == 0;
    rc_status st = nn_shape_check(c->node, &s, c->err);
    if (st != RC_OK) return st;
    /* scratch: the im2col matrix (or the depthwise kernel's padded plane),
     * then one packed panel of B for the fast GEMM */
    size_t kdim = (size_t)(cg * g.KH * g.KW);
    if (!pointwise && kdim > (size_t)(NN_MAX_ELEMS / (g.OH * g.OW + 1)))
        return nn_node_fail(c->err, RC_ERR_LIMIT, c->node, "convolution too large");
    c->scratch_bytes =
        conv_panel_offset(&g, pointwise, (int64_t)kdim) + kdim * NN_GEMM_NR * sizeof(float);
    if (g.group == g.C && g.M == g.C && g.KH == 3 && g.KW == 3 && (g.sh == 1 || g.sh == 2)) {
        size_t small = nn_dw3x3_small_scratch(g.C, g.OH, g.OW, (int)g.sh);
        if (small > c->scratch_bytes) c->scratch_bytes = small;
        size_t flat = nn_dw3x3_flat_scratch(g.H, g.W);
        if (flat > c->scratch_bytes) c->scratch_bytes = flat;
    }
    if (g.group == 1 && g.C == 1 && nn_dw3x3_flat_scratch(g.H, g.W) > c->scratch_bytes)
        c->scratch_bytes = nn_dw3x3_flat_scratch(g.H, g.W);
    if (g.group == 1 && nn_conv3x3_regs_scratch(g.C) > c->scratch_bytes)
        c->scratch_bytes = nn_conv3x3_regs_scratch(g.C);
    if (g.group == 1 && nn_conv1x1_regs_scratch(g.C) > c->scratch_bytes)
        c->scratch_bytes = nn_conv1x1_regs_scratch(g.C);
    if (g.OH * g.OW <= 16 && (kdim * 16 + 256) * sizeof(float) > c->scratch_bytes)
        c->scratch_bytes = (kdim * 16 + 256) * sizeof(float);
    if (g.H * g.W <= 32 && g.KH * g.KW <= 64 && nn_conv_tiny_scratch(g.KH, g.KW) > c->scratch_bytes)
        c->scratch_bytes = nn_conv_tiny_scratch(g.KH, g.KW);
    if (((g.sh == 1 && g.sw == 1) || (g.sh == 2 && g.sw == 2)) && !pointwise) {
        nn_im2col ia = {NULL, cg,   g.H,  g.W,  g.KH, g.KW, g.sh, g.sw,
                        g.dh, g.dw, g.pt, g.pl, g.OW, g.pb, g.pr};
        size_t direct = nn_conv_direct_scratch(&ia, g.M);
        if (direct > c->scratch_bytes) c->scratch_bytes = direct;
        if (g.KH == 3 && g.KW == 3 && g.sh == 1) {
            size_t wino = nn_wino_scratch(&ia, g.M, g.OH);
            if (wino > c->scratch_bytes) c->scratch_bytes = wino;
        }
    }
    size_t q8 = nn_q8_scratch(c->node, g.H, g.W);
    if (q8 > c->scratch_bytes) c->scratch_bytes = q8;
    size_t bf = nn_bf16_scratch(c->node, g.H, g.W);
    if (bf > c->scratch_bytes) c->scratch_bytes = bf;
    /* a folded BatchNormalization or pooling: room for its result first */
    if (c->node->pre_affine || c->node->pre_pool2) c->scratch_bytes += pre_affine_bytes(&g);
    return RC_OK;
}

/* A Conv with a 2x2 average pooling folded in front of it (fuse.c) sees
 * the pooled input: [N, C, H/2, W/2]. `in` receives the pooled tensor
 * (data as given) and the other inputs; returns the context to use. */
static nn_ctx *pooled_input(nn_ctx *c, nn_ctx *pc, nn_tensor *xp, nn_tensor **in, float *data)
{
    if (!c->node->pre_pool2 || c->in[0]->shape.ndim != 4) return c;
    *xp = *c->in[0];
    xp->shape.d[2] /= 2;
    xp->shape.d[3] /= 2;
    xp->data = data;
    in[0] = xp;
    in[1] = c->in[1];
    in[2] = c->nin > 2 ? c->in[2] : NULL;
    *pc = *c;
    pc->in = in;
    return pc;
}

static rc_status infer_conv_pooled(nn_ctx *c)
{
    nn_ctx pc;
    nn_tensor xp, *in[3];
    nn_ctx *use = pooled_input(c, &pc, &xp, in, NULL);
    rc_status st = infer_conv_plain(use);
    c->scratch_bytes = use->scratch_bytes;
    return st;
}

/* Bytes at the front of a residual Conv's scratch holding the convolution
 * when its Add runs unfused. */
static size_t residual_front(const nn_shape *conv)
{
    return ((size_t)nn_shape_count(conv) * sizeof(float) + 63) / 64 * 64;
}

/* The Add fused into a Conv (fuse.c) with the convolution's result `conv`
 * and the skip tensor, in the Add's own input order. */
static nn_ctx residual_add_ctx(const nn_ctx *c, nn_tensor *conv, nn_tensor **args)
{
    const nn_node *a = c->node->res_add;
    bool skip_first = a->in[0] == c->node->in[3];
    args[0] = skip_first ? c->in[3] : conv;
    args[1] = skip_first ? conv : c->in[3];
    nn_ctx ac = *c;
    ac.node = a;
    ac.in = args;
    ac.nin = 2;
    ac.scratch_bytes = 0;
    return ac;
}

/* A Conv with a fused residual Add: the convolution's shape and scratch,
 * then the check that decides, for this plan, whether the sum is fused. A
 * skip of the output's shape is added as the output is stored; any other
 * (a broadcasting Add) leaves the Add unfused: the convolution goes to the
 * front of the scratch and the Add's own operator computes the output. */
static rc_status infer_conv(nn_ctx *c)
{
    rc_status st = infer_conv_pooled(c);
    if (st != RC_OK || !c->node->res_add || c->nin < 4 || !c->in[3]) return st;
    nn_tensor conv = *c->out[0];
    if (c->in[3]->type == NN_F32 && nn_shape_eq(&c->in[3]->shape, &conv.shape)) return RC_OK;
    nn_tensor *args[2];
    nn_ctx ac = residual_add_ctx(c, &conv, args);
    st = ac.node->def->infer(&ac);
    if (st != RC_OK) return st;
    size_t add = ac.scratch_bytes;
    c->scratch_bytes =
        residual_front(&conv.shape) + (c->scratch_bytes > add ? c->scratch_bytes : add);
    return RC_OK;
}

/* The plain C convolution: direct loops, bias and activation. */
static void conv_reference(const nn_ctx *c, const geom *g)
{
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    int64_t cg = g->C / g->group, mg = g->M / g->group;
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t m = 0; m < g->M; m++) {
            int64_t grp = m / mg;
            float *yp = y + (n * g->M + m) * g->OH * g->OW;
            for (int64_t oy = 0; oy < g->OH; oy++)
                for (int64_t ox = 0; ox < g->OW; ox++) {
                    float acc = b ? b[m] : 0.0f;
                    for (int64_t ci = 0; ci < cg; ci++) {
                        const float *xp = x + (n * g->C + grp * cg + ci) * g->H * g->W;
                        const float *wp = w + (m * cg + ci) * g->KH * g->KW;
                        for (int64_t ky = 0; ky < g->KH; ky++) {
                            int64_t iy = oy * g->sh - g->pt + ky * g->dh;
                            if (iy < 0 || iy >= g->H) continue;
                            for (int64_t kx = 0; kx < g->KW; kx++) {
                                int64_t ix = ox * g->sw - g->pl + kx * g->dw;
                                if (ix < 0 || ix >= g->W) continue;
                                acc += xp[iy * g->W + ix] * wp[ky * g->KW + kx];
                            }
                        }
                    }
                    yp[oy * g->OW + ox] = acc;
                }
        }
    for (int64_t n = 0; n < g->N; n++)
        nn_apply_act(c->node, y + n * g->M * g->OH * g->OW, g->M, g->OH * g->OW, 0);
}

/* Unfold one group of one image into cols[cg*KH*KW][OH*OW]. */
static void im2col(const float *x, const geom *g, int64_t cg, float *cols)
{
    int64_t plane = g->OH * g->OW;
    for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t ky = 0; ky < g->KH; ky++)
            for (int64_t kx = 0; kx < g->KW; kx++) {
                float *row = cols + ((ci * g->KH + ky) * g->KW + kx) * plane;
                const float *xp = x + ci * g->H * g->W;
                for (int64_t oy = 0; oy < g->OH; oy++) {
                    int64_t iy = oy * g->sh - g->pt + ky * g->dh;
                    float *r = row + oy * g->OW;
                    if (iy < 0 || iy >= g->H) {
                        memset(r, 0, (size_t)g->OW * sizeof(float));
                        continue;
                    }
                    const float *xr = xp + iy * g->W;
                    int64_t ix0 = -g->pl + kx * g->dw;
                    if (g->sw == 1) {
                        /* valid range of ox: 0 <= ox + ix0 < W */
                        int64_t lo = ix0 < 0 ? -ix0 : 0, hi = g->W - ix0;
                        if (hi > g->OW) hi = g->OW;
                        if (lo > g->OW) lo = g->OW;
                        if (hi < lo) hi = lo;
                        for (int64_t ox = 0; ox < lo; ox++) r[ox] = 0;
                        if (hi > lo)
                            memcpy(r + lo, xr + lo + ix0, (size_t)(hi - lo) * sizeof(float));
                        for (int64_t ox = hi; ox < g->OW; ox++) r[ox] = 0;
                    } else {
                        for (int64_t ox = 0; ox < g->OW; ox++) {
                            int64_t ix = ox * g->sw + ix0;
                            r[ox] = ix >= 0 && ix < g->W ? xr[ix] : 0.0f;
                        }
                    }
                }
            }
}

/* Depthwise convolution of any window (one filter per channel), direct. */
static void conv_depthwise(const nn_ctx *c, const geom *g, const float *xn, float *yn)
{
    const float *w = c->in[1]->data;
    const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    int64_t plane = g->OH * g->OW;
    if (g->KH == g->H && g->KW == g->W && plane == 1 && g->pt == 0 && g->pl == 0) {
        /* the window is the whole plane (a weighted global pooling, as in
         * the last layers of MobileNet-style landmark networks) */
        if (!c->reference && nn_dw_whole_plane(c->node, xn, w, b, g->C, g->H * g->W, yn)) return;
        for (int64_t ch = 0; ch < g->C; ch++)
            yn[ch] = nn_dot(xn + ch * g->H * g->W, w + ch * g->H * g->W, g->H * g->W) +
                     (b ? b[ch] : 0.0f);
        nn_epilogue(c->node, yn, g->M, 1, NULL, 0);
        return;
    }
    for (int64_t ch = 0; ch < g->C; ch++) {
        const float *xp = xn + ch * g->H * g->W, *wp = w + ch * g->KH * g->KW;
        float *yp = yn + ch * plane;
        for (int64_t oy = 0; oy < g->OH; oy++)
            for (int64_t ox = 0; ox < g->OW; ox++) {
                float acc = b ? b[ch] : 0.0f;
                for (int64_t ky = 0; ky < g->KH; ky++) {
                    int64_t iy = oy * g->sh - g->pt + ky * g->dh;
                    if (iy < 0 || iy >= g->H) continue;
                    for (int64_t kx = 0; kx < g->KW; kx++) {
                        int64_t ix = ox * g->sw - g->pl + kx * g->dw;
                        if (ix >= 0 && ix < g->W) acc += xp[iy * g->W + ix] * wp[ky * g->KW + kx];
                    }
                }
                yp[oy * g->OW + ox] = acc;
            }
    }
    nn_epilogue(c->node, yn, g->M, plane, NULL, 0);
}

/* The AVX-512 paths for an ungrouped convolution of one image, best first:
 * Winograd (3x3, stride 1), in place from a padded image (stride 1) or its
 * phase planes (stride 2) when little of the padded width is wasted, then
 * packed panels (implicit im2col, or the input itself for 1x1). False when
 * none applies (no AVX-512, unsupported activation). */
static bool conv_fast(const nn_ctx *c, const geom *g, const float *xn, float *yn, bool pointwise)
{
    const nn_node *n = c->node;
    const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    int64_t plane = g->OH * g->OW, kdim = g->C * g->KH * g->KW;
    nn_im2col ia = {xn,    g->C,  g->H,  g->W,  g->KH, g->KW, g->sh, g->sw,
                    g->dh, g->dw, g->pt, g->pl, g->OW, g->pb, g->pr};
    if (n->wino && plane >= 49 && nn_conv_winograd(n, &ia, g->M, g->OH, yn, b, c->scratch))
        return true;
    int64_t PW = g->W + g->pl + g->pr, PW2 = (PW + 1) / 2;
    bool s1 = g->sh == 1 && g->sw == 1 && (PW - g->OW) * 4 <= PW;
    bool s2 = g->sh == 2 && g->sw == 2 && g->dh == 1 && g->dw == 1 && (PW2 - g->OW) * 4 <= PW2;
    if (!pointwise && (s1 || s2) &&
        nn_conv_direct(n, &ia, g->M, g->OH, n->wpack, yn, b, c->scratch))
        return true;
    float *panel = (float *)((char *)c->scratch + conv_panel_offset(g, pointwise, kdim));
    nn_rows rows = {xn, kdim, plane};
    return nn_gemm_packed(
        n, g->M, plane, kdim, n->wpack, pointwise ? nn_pack_b_rows : nn_pack_im2col,
        pointwise ? (const void *)&rows : (const void *)&ia, yn, plane, b, NULL, panel);
}

/* Direct 3x3 convolution for inputs of up to this many channels. */
#ifndef REGS_C
#define REGS_C 16
#endif

static void run_conv(nn_ctx *c);

/* A Conv with a fused residual Add (see infer_conv). */
static void run_conv_residual(nn_ctx *c)
{
    geom g;
    conv_geom(c, &g);
    nn_shape cs = {.ndim = 4, .d = {g.N, g.M, g.OH, g.OW}};
    const nn_tensor *skip = c->in[3];
    nn_node plain = *c->node;
    plain.act = NN_ACT_NONE;
    plain.res_add = NULL;
    nn_ctx inner = *c;
    inner.node = &plain;
    inner.nin = 3;
    if (!nn_shape_eq(&skip->shape, &cs)) {
        /* unfused: the convolution into scratch, then the Add as planned */
        nn_tensor conv = {.type = NN_F32, .shape = cs, .data = c->scratch};
        nn_tensor *out[1] = {&conv}, *args[2];
        inner.out = out;
        inner.scratch = (char *)c->scratch + residual_front(&cs);
        run_conv(&inner);
        nn_ctx ac = residual_add_ctx(c, &conv, args);
        ac.scratch = inner.scratch;
        ac.node->def->run(&ac);
        return;
    }
    int64_t plane = g.OH * g.OW;
    bool pointwise = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
                     g.pb == 0 && g.pr == 0;
    if (!c->reference && c->node->wpack && pointwise && g.group == 1 && g.N == 1 && plane > 16 &&
        g.C > 32) {
        /* pointwise layers too wide for the register kernels (the
         * projections of inverted residual blocks): add while storing */
        const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
        nn_rows rows = {c->in[0]->data, g.C, plane};
        float *panel = (float *)((char *)c->scratch + conv_panel_offset(&g, true, g.C));
        if (nn_gemm_packed(c->node, g.M, plane, g.C, c->node->wpack, nn_pack_b_rows, &rows,
                           c->out[0]->data, plane, b, skip->data, panel))
            return;
    }
    /* other kernels: the convolution, then the sum and the activation
     * while the output is still in cache */
    run_conv(&inner);
    float *y = c->out[0]->data;
    const float *r = skip->data;
    int64_t total = nn_shape_count(&cs);
    if (c->reference || !nn_binary_fast(0, y, r, y, total, 0))
        for (int64_t i = 0; i < total; i++) y[i] += r[i];
    for (int64_t n = 0; n < g.N; n++) {
        float *yn = y + n * g.M * plane;
        if (c->reference)
            nn_apply_act(c->node, yn, g.M, plane, 0);
        else
            nn_epilogue(c->node, yn, g.M, plane, NULL, 0);
    }
}

/* A 1x1 Conv with a BatchNormalization (+ ReLU) and/or a 2x2 average
 * pooling folded in front of it (fuse.c): the packed GEMM normalizes (and
 * pools) each panel of the input as it packs it; every other path (and the
 * reference) gets the normalized, pooled input written to the start of
 * scratch first and runs as a plain Conv on it. */
static void run_conv_pre(nn_ctx *c)
{
    const nn_node *n = c->node;
    const nn_tensor *x0 = c->in[0];
    float *xn = c->scratch;
    nn_ctx pc;
    nn_tensor xp, *pin[3];
    nn_ctx *pooled = pooled_input(c, &pc, &xp, pin, xn);
    geom g;
    conv_geom(pooled, &g);
    const float *x = x0->data, *scale = n->pre_affine, *shift = scale ? scale + g.C : NULL;
    const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    int64_t plane = g.H * g.W, in_plane = n->pre_pool2 ? x0->shape.d[2] * x0->shape.d[3] : plane;
    bool relu = n->pre_act == NN_ACT_RELU;
    bool pointwise = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
                     g.pb == 0 && g.pr == 0;
    if (!c->reference && pointwise && g.group == 1 && n->wpack) {
        float *panel = (float *)((char *)c->scratch + conv_panel_offset(&g, true, g.C));
        bool done = true;
        for (int64_t i = 0; i < g.N && done; i++) {
            const float *xi = x + i * g.C * in_plane;
            nn_rows_affine ra = {.B = xi, .K = g.C, .ldb = plane};
            nn_pool2_rows rp = {.x = xi, .K = g.C, .H = x0->shape.d[2], .W = x0->shape.d[3]};
            ra.scale = rp.scale = scale;
            ra.shift = rp.shift = shift;
            ra.relu = rp.relu = relu;
            rp.OW = g.W;
            /* false (nothing written) when the CPU or activation is not handled */
            done = nn_gemm_packed(n, g.M, plane, g.C, n->wpack,
                                  n->pre_pool2 ? nn_pack_b_pool2 : nn_pack_b_rows_affine,
                                  n->pre_pool2 ? (const void *)&rp : (const void *)&ra,
                                  y + i * g.M * plane, plane, b, NULL, panel);
        }
        if (done) return;
    }
    nn_node bn = {.act = n->pre_act};
    for (int64_t i = 0; i < g.N; i++) {
        const float *xi = x + i * g.C * in_plane;
        if (n->pre_pool2) {
            nn_pool2_rows rp = {.x = xi, .K = g.C, .H = x0->shape.d[2], .W = x0->shape.d[3]};
            rp.scale = scale;
            rp.shift = shift;
            rp.relu = relu;
            rp.OW = g.W;
            nn_pool2_image(&rp, g.H, xn + i * g.C * plane);
        } else {
            nn_channel_affine(&bn, xi, xn + i * g.C * plane, g.C, plane, scale, shift,
                              c->reference);
        }
    }
    nn_tensor xt = *x0;
    xt.shape = (nn_shape){.ndim = 4, .d = {g.N, g.C, g.H, g.W}};
    xt.data = xn;
    nn_tensor *in[3] = {&xt, c->in[1], c->nin > 2 ? c->in[2] : NULL};
    nn_node plain = *n;
    plain.pre_affine = NULL;
    plain.pre_pool2 = false;
    nn_ctx rc = *c;
    rc.node = &plain;
    rc.in = in;
    rc.scratch = (char *)c->scratch + pre_affine_bytes(&g);
    run_conv(&rc);
}

static void run_conv(nn_ctx *c)
{
    /* calibrating: the input's range; int8 or bf16: the whole Conv (with
     * its residual and folded BatchNormalization) when its form applies */
    if (c->range) nn_q8_observe(c);
    if (c->int8 && c->node->q8 && nn_q8_conv(c)) return;
    if (c->bf16 && c->node->bf16 && nn_bf16_conv(c)) return;
    if (c->node->res_add && c->nin > 3 && c->in[3]) {
        run_conv_residual(c);
        return;
    }
    geom g;
    if (c->node->pre_affine || c->node->pre_pool2) {
        run_conv_pre(c);
        return;
    }
    conv_geom(c, &g);
    if (c->reference) {
        conv_reference(c, &g);
        return;
    }
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    int64_t cg = g.C / g.group, mg = g.M / g.group, plane = g.OH * g.OW;
    int64_t kdim = cg * g.KH * g.KW;
    bool pointwise = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
                     g.pb == 0 && g.pr == 0;
    bool depthwise = g.group == g.C && g.M == g.C;
    for (int64_t n = 0; n < g.N; n++) {
        const float *xn = x + n * g.C * g.H * g.W;
        float *yn = y + n * g.M * plane;
        if (depthwise) {
            bool dw3 =
                g.KH == 3 && g.KW == 3 && g.dh == 1 && g.dw == 1 && g.sh == g.sw && g.sh <= 2;
            /* planes at most 32 wide (dwsmall.c); the rest goes to the
             * flat and row kernels (kernels.c) */
            if (dw3 && nn_dw3x3_narrow(c->node, xn, g.C, g.H, g.W, w, b, (int)g.sh, g.pt, g.pl, yn,
                                       g.OH, g.OW))
                continue;
            if (dw3 && nn_dw3x3_flat(c->node, xn, g.C, g.H, g.W, w, b, (int)g.sh, g.pt, g.pl, yn,
                                     g.OH, g.OW, c->scratch))
                continue;
            if (dw3 && g.H * g.W <= 64 && g.C >= 16 &&
                nn_dw3x3_small(c->node, xn, g.C, g.H, g.W, w, b, (int)g.sh, g.pt, g.pl, yn, g.OH,
                               g.OW, c->scratch))
                continue;
            if (dw3)
                for (int64_t ch = 0; ch < g.C; ch++)
                    nn_dw3x3_fast(c->node, xn + ch * g.H * g.W, (int)g.H, (int)g.W, w + ch * 9,
                                  b ? b[ch] : 0.0f, (int)g.sh, (int)g.pt, (int)g.pl,
                                  yn + ch * plane, (int)g.OH, (int)g.OW, ch, c->scratch);
            else
                conv_depthwise(c, &g, xn, yn);
            continue;
        }
        if (g.group == 1 && g.C == 1 && g.KH == 3 && g.KW == 3 && g.sh == g.sw && g.dh == 1 &&
            g.dw == 1 &&
            nn_conv1ch_flat(c->node, xn, g.H, g.W, g.M, w, b, (int)g.sh, g.pt, g.pl, yn, g.OH, g.OW,
                            c->scratch))
            continue;
        if (g.group == 1 && pointwise && plane >= 64 &&
            nn_conv1x1_regs(c->node, xn, plane, g.C, plane, g.M, w, yn, plane, b, c->scratch))
            continue;
        if (g.group == 1 && g.C <= REGS_C && g.OW >= 8 && !pointwise) {
            nn_im2col ia = {xn,   cg,   g.H,  g.W,  g.KH, g.KW, g.sh, g.sw,
                            g.dh, g.dw, g.pt, g.pl, g.OW, g.pb, g.pr};
            if (nn_conv3x3_regs(c->node, &ia, g.M, g.OH, w, yn, b, c->scratch)) continue;
        }
        if (g.group == 1 &&
            ((plane <= 16 && g.H * g.W <= 16) || (plane <= 24 && g.H * g.W <= 32 && g.M <= 16))) {
            nn_im2col ia = {xn,   cg,   g.H,  g.W,  g.KH, g.KW, g.sh, g.sw,
                            g.dh, g.dw, g.pt, g.pl, g.OW, g.pb, g.pr};
            if (nn_conv_tiny(c->node, &ia, g.M, plane, yn, b, c->scratch)) continue;
        }
        if (g.group == 1 && plane <= 16 && !pointwise) {
            nn_im2col ia = {xn,   cg,   g.H,  g.W,  g.KH, g.KW, g.sh, g.sw,
                            g.dh, g.dw, g.pt, g.pl, g.OW, g.pb, g.pr};
            if (nn_conv_small_n(c->node, &ia, g.M, plane, w, yn, b, c->scratch)) continue;
        }
        if (c->node->wpack && g.group == 1 && conv_fast(c, &g, xn, yn, pointwise)) continue;
        /* portable path: im2col + sgemm per group, then bias and activation */
        for (int64_t grp = 0; grp < g.group; grp++) {
            const float *xg = xn + grp * cg * g.H * g.W;
            const float *bm = xg;
            if (!pointwise) {
                im2col(xg, &g, cg, c->scratch);
                bm = c->scratch;
            }
            float *yg = yn + grp * mg * plane;
            nn_sgemm(false, false, (int)mg, (int)plane, (int)kdim, 1.0f, w + grp * mg * kdim,
                     (int)kdim, bm, (int)plane, 0.0f, yg, (int)plane);
        }
        nn_epilogue(c->node, yn, g.M, plane, b, 0);
    }
}

/* ---- ConvTranspose ------------------------------------------------------ */

static int convt_geom(const nn_ctx *c, geom *g)
{
    const nn_shape *x = &c->in[0]->shape, *w = &c->in[1]->shape;
    if (x->ndim != 4 || w->ndim != 4) return -3;
    g->N = x->d[0];
    g->C = x->d[1];
    g->H = x->d[2];
    g->W = x->d[3];
    g->group = nn_attr_int(c->node, "group", 1);
    g->KH = w->d[2];
    g->KW = w->d[3];
    if (g->group < 1 || w->d[0] != g->C || g->C % g->group) return -1;
    g->M = w->d[1] * g->group;
    const char *ap = nn_attr_str(c->node, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0) return -3;
    if (nn_attr_get(c->node, "output_shape")) return -3;
    /* window_geom reads strides/dilations/pads; the sizes are computed here */
    geom t = *g;
    t.H = t.W = 1 << 20;
    if (window_geom(c->node, &t, false) < 0) return -1;
    g->sh = t.sh;
    g->sw = t.sw;
    g->dh = t.dh;
    g->dw = t.dw;
    g->pt = t.pt;
    g->pl = t.pl;
    g->pb = t.pb;
    g->pr = t.pr;
    const int64_t *op;
    int64_t oph = 0, opw = 0;
    if (nn_attr_ints(c->node, "output_padding", &op) == 2) {
        oph = op[0];
        opw = op[1];
    }
    g->OH = g->sh * (g->H - 1) + oph + (g->KH - 1) * g->dh + 1 - g->pt - g->pb;
    g->OW = g->sw * (g->W - 1) + opw + (g->KW - 1) * g->dw + 1 - g->pl - g->pr;
    if (g->OH < 1 || g->OW < 1 || oph < 0 || opw < 0) return -1;
    return 0;
}

static rc_status infer_convt(nn_ctx *c)
{
    geom g;
    int r = convt_geom(c, &g);
    if (r == -3)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node,
                            "only 2-D transposed convolution with explicit pads is supported");
    if (r < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "invalid weights/attributes");
    if (c->nin > 2 && c->in[2] && nn_shape_count(&c->in[2]->shape) != g.M)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "bias size differs from M");
    nn_shape s = {.ndim = 4, .d = {g.N, g.M, g.OH, g.OW}};
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return nn_shape_check(c->node, &s, c->err);
}

static void run_convt(nn_ctx *c)
{
    geom g;
    convt_geom(c, &g);
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *b = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    int64_t cg = g.C / g.group, mg = g.M / g.group, plane = g.OH * g.OW;
    for (int64_t n = 0; n < g.N; n++) {
        float *yn = y + n * g.M * plane;
        for (int64_t m = 0; m < g.M; m++)
            for (int64_t i = 0; i < plane; i++) yn[m * plane + i] = b ? b[m] : 0.0f;
        for (int64_t ci = 0; ci < g.C; ci++) {
            int64_t grp = ci / cg;
            const float *xp = x + (n * g.C + ci) * g.H * g.W;
            for (int64_t mo = 0; mo < mg; mo++) {
                const float *wp = w + (ci * mg + mo) * g.KH * g.KW;
                float *yp = yn + (grp * mg + mo) * plane;
                for (int64_t iy = 0; iy < g.H; iy++)
                    for (int64_t ix = 0; ix < g.W; ix++) {
                        float v = xp[iy * g.W + ix];
                        for (int64_t ky = 0; ky < g.KH; ky++) {
                            int64_t oy = iy * g.sh - g.pt + ky * g.dh;
                            if (oy < 0 || oy >= g.OH) continue;
                            for (int64_t kx = 0; kx < g.KW; kx++) {
                                int64_t ox = ix * g.sw - g.pl + kx * g.dw;
                                if (ox < 0 || ox >= g.OW) continue;
                                yp[oy * g.OW + ox] += v * wp[ky * g.KW + kx];
                            }
                        }
                    }
            }
        }
        nn_apply_act(c->node, yn, g.M, plane, 0);
    }
}

/* ---- BatchNormalization -------------------------------------------------- */

static rc_status infer_bn(nn_ctx *c)
{
    const nn_shape *x = &c->in[0]->shape;
    if (x->ndim < 2 || c->in[0]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "expects a float [N,C,...] input");
    for (int i = 1; i < 5; i++)
        if (c->in[i]->type != NN_F32 || nn_shape_count(&c->in[i]->shape) != x->d[1])
            return nn_node_fail(c->err, RC_ERR_INVALID, c->node,
                                "scale, bias, mean and var must have C=%lld values",
                                (long long)x->d[1]);
    c->out[0]->type = NN_F32;
    c->out[0]->shape = *x;
    c->scratch_bytes = (size_t)(2 * x->d[1]) * sizeof(float); /* scale and shift */
    for (int i = 1; i < c->nout; i++) {                       /* training-mode outputs: left zero */
        c->out[i]->type = NN_F32;
        c->out[i]->shape = (nn_shape){.ndim = 1, .d = {x->d[1]}};
    }
    return RC_OK;
}

static void run_bn(nn_ctx *c)
{
    const nn_shape *s = &c->in[0]->shape;
    const float *x = c->in[0]->data, *sc = c->in[1]->data, *bi = c->in[2]->data,
                *mu = c->in[3]->data, *var = c->in[4]->data;
    float eps = nn_attr_float(c->node, "epsilon", 1e-5f);
    float *y = c->out[0]->data;
    int64_t C = s->d[1], rows = s->d[0] * C;
    int64_t plane = rows > 0 ? nn_shape_count(s) / rows : 0;
    float *scale = c->scratch, *shift = scale + C;
    for (int64_t ch = 0; ch < C; ch++) {
        scale[ch] = sc[ch] / sqrtf(var[ch] + eps);
        shift[ch] = bi[ch] - mu[ch] * scale[ch];
    }
    for (int64_t n = 0; n < s->d[0]; n++)
        nn_channel_affine(c->node, x + n * C * plane, y + n * C * plane, C, plane, scale, shift,
                          c->reference);
    for (int i = 1; i < c->nout; i++) memset(c->out[i]->data, 0, (size_t)C * sizeof(float));
}

/* ---- Gemm, MatMul ------------------------------------------------------- */

static rc_status infer_gemm(nn_ctx *c)
{
    const nn_shape *a = &c->in[0]->shape, *b = &c->in[1]->shape;
    if (a->ndim != 2 || b->ndim != 2 || c->in[0]->type != NN_F32 || c->in[1]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "expects 2-D float A and B");
    bool ta = nn_attr_int(c->node, "transA", 0), tb = nn_attr_int(c->node, "transB", 0);
    int64_t M = ta ? a->d[1] : a->d[0], K = ta ? a->d[0] : a->d[1];
    int64_t K2 = tb ? b->d[1] : b->d[0], N = tb ? b->d[0] : b->d[1];
    if (K != K2) {
        char sa[96], sb[96];
        nn_shape_format(a, sa, sizeof sa);
        nn_shape_format(b, sb, sizeof sb);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "A %s and B %s do not multiply", sa,
                            sb);
    }
    nn_shape s = {.ndim = 2, .d = {M, N}}, t;
    if (c->nin > 2 && c->in[2] &&
        (!nn_shape_broadcast(&c->in[2]->shape, &s, &t) || !nn_shape_eq(&t, &s)))
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "C does not broadcast to [M,N]");
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return RC_OK;
}

static void run_gemm(nn_ctx *c)
{
    const nn_shape *as = &c->in[0]->shape, *bs = &c->in[1]->shape;
    bool ta = nn_attr_int(c->node, "transA", 0), tb = nn_attr_int(c->node, "transB", 0);
    float alpha = nn_attr_float(c->node, "alpha", 1.0f),
          beta = nn_attr_float(c->node, "beta", 1.0f);
    int64_t M = c->out[0]->shape.d[0], N = c->out[0]->shape.d[1], K = ta ? as->d[0] : as->d[1];
    const float *A = c->in[0]->data, *B = c->in[1]->data;
    float *Y = c->out[0]->data;
    const nn_tensor *C = c->nin > 2 ? c->in[2] : NULL;
    /* Y = beta * C (broadcast) */
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            float v = 0;
            if (C) {
                const nn_shape *cs = &C->shape;
                int64_t ci = cs->ndim == 2 ? (cs->d[0] == 1 ? 0 : i) : 0;
                int64_t cj = cs->ndim >= 1 && cs->d[cs->ndim - 1] != 1 ? j : 0;
                int64_t ld = cs->ndim >= 1 ? cs->d[cs->ndim - 1] : 1;
                v = beta * ((const float *)C->data)[ci * ld + cj];
            }
            Y[i * N + j] = v;
        }
    if (c->reference) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                float acc = 0;
                for (int64_t k = 0; k < K; k++) {
                    float av = ta ? A[k * as->d[1] + i] : A[i * as->d[1] + k];
                    float bv = tb ? B[j * bs->d[1] + k] : B[k * bs->d[1] + j];
                    acc += av * bv;
                }
                Y[i * N + j] += alpha * acc;
            }
    } else if (M == 1 && !ta && tb) {
        /* one row against weights stored [N][K] (a classifier or regressor
         * head): one dot product per output; BLAS pays more in setup */
        nn_gemv_rows(A, B, N, K, alpha, Y);
    } else {
        nn_sgemm(ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)as->d[1], B, (int)bs->d[1], 1.0f, Y,
                 (int)N);
    }
    nn_apply_act(c->node, Y, 1, M * N, 0);
}

/* MatMul with numpy semantics: 1-D operands are promoted, batch dims
 * broadcast. */
typedef struct {
    nn_shape batch;
    int64_t M, K, N;
    int64_t bsa[NN_MAX_DIMS], bsb[NN_MAX_DIMS]; /* batch strides in matrices */
} mm_geom;

static int matmul_geom(const nn_shape *a0, const nn_shape *b0, mm_geom *g, nn_shape *out)
{
    nn_shape a = *a0, b = *b0;
    bool va = a.ndim == 1, vb = b.ndim == 1;
    if (a.ndim == 0 || b.ndim == 0) return -1;
    if (va) {
        a.ndim = 2;
        a.d[1] = a.d[0];
        a.d[0] = 1;
    }
    if (vb) {
        b.ndim = 2;
        b.d[1] = 1;
    }
    g->M = a.d[a.ndim - 2];
    g->K = a.d[a.ndim - 1];
    g->N = b.d[b.ndim - 1];
    if (b.d[b.ndim - 2] != g->K) return -1;
    nn_shape ba = {.ndim = a.ndim - 2}, bb = {.ndim = b.ndim - 2};
    for (int i = 0; i < ba.ndim; i++) ba.d[i] = a.d[i];
    for (int i = 0; i < bb.ndim; i++) bb.d[i] = b.d[i];
    if (!nn_shape_broadcast(&ba, &bb, &g->batch)) return -1;
    int nd = g->batch.ndim;
    int64_t ra = g->M * g->K, rb = g->K * g->N;
    for (int i = nd - 1; i >= 0; i--) {
        int ia = i - (nd - ba.ndim), ib = i - (nd - bb.ndim);
        int64_t da = ia >= 0 ? ba.d[ia] : 1, db = ib >= 0 ? bb.d[ib] : 1;
        g->bsa[i] = da == 1 ? 0 : ra;
        g->bsb[i] = db == 1 ? 0 : rb;
        ra *= da;
        rb *= db;
    }
    *out = g->batch;
    if (out->ndim + 2 > NN_MAX_DIMS) return -1;
    if (!va) out->d[out->ndim++] = g->M;
    if (!vb) out->d[out->ndim++] = g->N;
    return 0;
}

static rc_status infer_matmul(nn_ctx *c)
{
    mm_geom g;
    nn_shape s;
    if (c->in[0]->type != NN_F32 || c->in[1]->type != NN_F32 ||
        matmul_geom(&c->in[0]->shape, &c->in[1]->shape, &g, &s) < 0) {
        char sa[96], sb[96];
        nn_shape_format(&c->in[0]->shape, sa, sizeof sa);
        nn_shape_format(&c->in[1]->shape, sb, sizeof sb);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "cannot multiply %s by %s", sa, sb);
    }
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return nn_shape_check(c->node, &s, c->err);
}

static void run_matmul(nn_ctx *c)
{
    mm_geom g;
    nn_shape s;
    matmul_geom(&c->in[0]->shape, &c->in[1]->shape, &g, &s);
    int64_t nb = nn_shape_count(&g.batch);
    int64_t idx[NN_MAX_DIMS] = {0}, oa = 0, ob = 0;
    const float *A = c->in[0]->data, *B = c->in[1]->data;
    float *Y = c->out[0]->data;
    for (int64_t bi = 0; bi < nb; bi++) {
        const float *a = A + oa, *b = B + ob;
        float *y = Y + bi * g.M * g.N;
        if (c->reference) {
            for (int64_t i = 0; i < g.M; i++)
                for (int64_t j = 0; j < g.N; j++) {
                    float acc = 0;
                    for (int64_t k = 0; k < g.K; k++) acc += a[i * g.K + k] * b[k * g.N + j];
                    y[i * g.N + j] = acc;
                }
        } else if (g.M == 1) {
            nn_gemv_cols(a, b, g.K, g.N, y);
        } else {
            nn_sgemm(false, false, (int)g.M, (int)g.N, (int)g.K, 1.0f, a, (int)g.K, b, (int)g.N,
                     0.0f, y, (int)g.N);
        }
        for (int k = g.batch.ndim - 1; k >= 0; k--) {
            idx[k]++;
            oa += g.bsa[k];
            ob += g.bsb[k];
            if (idx[k] < g.batch.d[k]) break;
            oa -= g.bsa[k] * g.batch.d[k];
            ob -= g.bsb[k] * g.batch.d[k];
            idx[k] = 0;
        }
    }
}

/* ---- pooling ------------------------------------------------------------ */

static int pool_geom(const nn_ctx *c, geom *g)
{
    const nn_shape *x = &c->in[0]->shape;
    if (x->ndim != 4) return -3;
    const int64_t *ks;
    if (nn_attr_ints(c->node, "kernel_shape", &ks) != 2) return -1;
    g->N = x->d[0];
    g->C = g->M = x->d[1];
    g->H = x->d[2];
    g->W = x->d[3];
    g->KH = ks[0];
    g->KW = ks[1];
    g->group = 1;
    return window_geom(c->node, g, nn_attr_int(c->node, "ceil_mode", 0) != 0);
}

static rc_status infer_pool(nn_ctx *c)
{
    geom g;
    if (c->in[0]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "expects a float tensor");
    int r = pool_geom(c, &g);
    if (r == -3)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "only 2-D pooling is supported");
    if (r < 0) {
        char s[96];
        nn_shape_format(&c->in[0]->shape, s, sizeof s);
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node,
                            "window attributes do not fit input %s", s);
    }
    if (g.pt >= g.KH || g.pb >= g.KH || g.pl >= g.KW || g.pr >= g.KW)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node,
                            "pads must be smaller than the kernel");
    c->scratch_bytes = (size_t)(3 * g.OW) * sizeof(int64_t); /* window ranges per column */
    nn_shape s = {.ndim = 4, .d = {g.N, g.C, g.OH, g.OW}};
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return nn_shape_check(c->node, &s, c->err);
}

/* Taps of a window starting at `o0` (stride-scaled, pad-shifted) that fall
 * inside [0, size): [lo, hi); and with padding counted, [lo, phi). */
static void window_range(int64_t o0, int64_t size, int64_t pad_end, int64_t k, int64_t d,
                         int64_t *lo, int64_t *hi, int64_t *phi)
{
    *lo = o0 < 0 ? (-o0 + d - 1) / d : 0;
    *hi = size - o0 <= 0 ? 0 : (size - o0 + d - 1) / d;
    *phi = size + pad_end - o0 <= 0 ? 0 : (size + pad_end - o0 + d - 1) / d;
    if (*hi > k) *hi = k;
    if (*phi > k) *phi = k;
    if (*lo > *hi) *lo = *hi;
}

static void run_pool(nn_ctx *c)
{
    /* planning checked the geometry; zeroed so no path reads it unset */
    geom g = {0};
    pool_geom(c, &g);
    bool is_max = strcmp(c->node->op_type, "MaxPool") == 0;
    bool include_pad = nn_attr_int(c->node, "count_include_pad", 0) != 0;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    if (!c->reference && g.KH == 2 && g.KW == 2 && g.sh == 2 && g.sw == 2 && g.dh == 1 &&
        g.dw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0 &&
        nn_pool2x2_fast(x, g.N * g.C, g.H, g.W, y, g.OH, g.OW, is_max))
        return;
    if (!c->reference && is_max && g.KH == 3 && g.KW == 3 && g.sh == 2 && g.sw == 2 && g.dh == 1 &&
        g.dw == 1 && nn_maxpool3s2_fast(x, g.N * g.C, g.H, g.W, y, g.OH, g.OW, g.pt, g.pl))
        return;
    /* window ranges per output column, computed once (scratch: 3 * OW) */
    int64_t *kx = c->scratch;
    for (int64_t ox = 0; ox < g.OW; ox++)
        window_range(ox * g.sw - g.pl, g.W, g.pr, g.KW, g.dw, &kx[3 * ox], &kx[3 * ox + 1],
                     &kx[3 * ox + 2]);
    for (int64_t oy = 0; oy < g.OH; oy++) {
        int64_t y0 = oy * g.sh - g.pt, ky0, ky1, pky1;
        window_range(y0, g.H, g.pb, g.KH, g.dh, &ky0, &ky1, &pky1);
        for (int64_t p = 0; p < g.N * g.C; p++) {
            const float *xp = x + p * g.H * g.W;
            float *yr = y + p * g.OH * g.OW + oy * g.OW;
            for (int64_t ox = 0; ox < g.OW; ox++) {
                int64_t x0 = ox * g.sw - g.pl, kx0 = kx[3 * ox], kx1 = kx[3 * ox + 1];
                float acc;
                if (is_max) {
                    acc = -FLT_MAX;
                    for (int64_t ky = ky0; ky < ky1; ky++) {
                        const float *row = xp + (y0 + ky * g.dh) * g.W + x0;
                        for (int64_t k = kx0; k < kx1; k++)
                            acc = row[k * g.dw] > acc ? row[k * g.dw] : acc;
                    }
                } else {
                    acc = 0.0f;
                    for (int64_t ky = ky0; ky < ky1; ky++) {
                        const float *row = xp + (y0 + ky * g.dh) * g.W + x0;
                        for (int64_t k = kx0; k < kx1; k++) acc += row[k * g.dw];
                    }
                    int64_t cnt = include_pad ? pky1 * kx[3 * ox + 2] : (ky1 - ky0) * (kx1 - kx0);
                    acc = cnt > 0 ? acc / (float)cnt : 0.0f;
                }
                yr[ox] = acc;
            }
        }
    }
}

static rc_status infer_global_pool(nn_ctx *c)
{
    const nn_shape *x = &c->in[0]->shape;
    if (x->ndim < 3 || c->in[0]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "expects a float [N,C,...] input");
    nn_shape s = *x;
    for (int i = 2; i < s.ndim; i++) s.d[i] = 1;
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return RC_OK;
}

static void run_global_pool(nn_ctx *c)
{
    const nn_shape *x = &c->in[0]->shape;
    bool is_max = strcmp(c->node->op_type, "GlobalMaxPool") == 0;
    int64_t planes = x->d[0] * x->d[1];
    int64_t plane = planes ? nn_shape_count(x) / planes : 0;
    const float *xp = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t p = 0;
    /* eight planes at a time: each plane's sum is still one float added
     * in order (the same result), but eight independent sums hide the
     * add's latency that one chain waits on */
    for (; !is_max && p + 8 <= planes; p += 8) {
        float acc[8] = {0};
        for (int64_t i = 0; i < plane; i++)
            for (int k = 0; k < 8; k++) acc[k] += xp[(p + k) * plane + i];
        for (int k = 0; k < 8; k++) y[p + k] = plane ? acc[k] / (float)plane : 0.0f;
    }
    for (; p < planes; p++) {
        float acc = is_max ? -FLT_MAX : 0.0f;
        for (int64_t i = 0; i < plane; i++) {
            float v = xp[p * plane + i];
            acc = is_max ? (v > acc ? v : acc) : acc + v;
        }
        y[p] = is_max ? acc : plane ? acc / (float)plane : 0.0f;
    }
}

/* ---- Reduce* -------------------------------------------------------------- */

static int reduce_axes(const nn_ctx *c, bool *red)
{
    const nn_shape *x = &c->in[0]->shape;
    const int64_t *ax = NULL;
    int64_t n = 0;
    bool from_input =
        (strcmp(c->node->op_type, "ReduceSum") == 0 && c->opset >= 13) || c->opset >= 18;
    if (from_input) {
        if (c->nin > 1 && c->in[1] && !(ax = nn_in_ints(c, 1, &n))) return -1;
    } else {
        n = (int64_t)nn_attr_ints(c->node, "axes", &ax);
    }
    for (int i = 0; i < x->ndim; i++) red[i] = n == 0;
    if (n == 0 && nn_attr_int(c->node, "noop_with_empty_axes", 0)) return 1;
    for (int64_t i = 0; i < n; i++) {
        int a = nn_axis(ax[i], x->ndim);
        if (a < 0) return -2;
        red[a] = true;
    }
    return 0;
}

static rc_status infer_reduce(nn_ctx *c)
{
    bool red[NN_MAX_DIMS];
    int r = reduce_axes(c, red);
    if (r == -1) return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "axes must be constant");
    if (r < 0) return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "axis out of range");
    if (c->in[0]->type != NN_F32)
        return nn_node_fail(c->err, RC_ERR_UNSUPPORTED, c->node, "expects a float tensor");
    const nn_shape *x = &c->in[0]->shape;
    bool keep = nn_attr_int(c->node, "keepdims", 1) != 0;
    nn_shape s = {0};
    for (int i = 0; i < x->ndim; i++) {
        if (!red[i] || r == 1)
            s.d[s.ndim++] = x->d[i];
        else if (keep)
            s.d[s.ndim++] = 1;
    }
    c->out[0]->type = NN_F32;
    c->out[0]->shape = s;
    return RC_OK;
}

static void run_reduce(nn_ctx *c)
{
    bool red[NN_MAX_DIMS];
    int r = reduce_axes(c, red);
    const nn_shape *x = &c->in[0]->shape;
    const char *op = c->node->op_type;
    int kind = strcmp(op, "ReduceMean") == 0  ? 0
               : strcmp(op, "ReduceSum") == 0 ? 1
               : strcmp(op, "ReduceMax") == 0 ? 2
                                              : 3;
    int64_t total = nn_shape_count(x), nout = nn_shape_count(&c->out[0]->shape);
    const float *xp = c->in[0]->data;
    float *y = c->out[0]->data;
    if (r == 1) {
        memcpy(y, xp, (size_t)total * sizeof(float));
        return;
    }
    /* output strides over the input index space (0 on reduced axes) */
    int64_t os[NN_MAX_DIMS], acc = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        os[i] = red[i] ? 0 : acc;
        if (!red[i]) acc *= x->d[i];
    }
    for (int64_t i = 0; i < nout; i++) y[i] = kind == 2 ? -FLT_MAX : kind == 3 ? FLT_MAX : 0.0f;
    int64_t idx[NN_MAX_DIMS] = {0}, off = 0;
    for (int64_t i = 0; i < total; i++) {
        float v = xp[i];
        y[off] = kind < 2 ? y[off] + v : kind == 2 ? fmaxf(y[off], v) : fminf(y[off], v);
        for (int k = x->ndim - 1; k >= 0; k--) {
            idx[k]++;
            off += os[k];
            if (idx[k] < x->d[k]) break;
            off -= os[k] * x->d[k];
            idx[k] = 0;
        }
    }
    if (kind == 0 && nout) {
        float n = (float)(total / nout);
        for (int64_t i = 0; i < nout; i++) y[i] /= n;
    }
}

/* ---- Softmax, LogSoftmax ------------------------------------------------- */

static int softmax_geom(const nn_ctx *c, int64_t *outer, int64_t *dim, int64_t *inner)
{
    const nn_shape *x = &c->in[0]->shape;
    int axis = nn_axis(nn_attr_int(c->node, "axis", c->opset < 13 ? 1 : -1), x->ndim);
    if (axis < 0) return -1;
    *outer = *dim = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= x->d[i];
    if (c->opset < 13) {
        for (int i = axis; i < x->ndim; i++) *dim *= x->d[i];
    } else {
        *dim = x->d[axis];
        for (int i = axis + 1; i < x->ndim; i++) *inner *= x->d[i];
    }
    return 0;
}

static rc_status infer_softmax(nn_ctx *c)
{
    int64_t o, d, i;
    if (c->in[0]->type != NN_F32 || softmax_geom(c, &o, &d, &i) < 0)
        return nn_node_fail(c->err, RC_ERR_INVALID, c->node, "axis out of range");
    c->out[0]->type = NN_F32;
    c->out[0]->shape = c->in[0]->shape;
    return RC_OK;
}

static void run_softmax(nn_ctx *c)
{
    int64_t outer = 0, dim = 0, inner = 0;
    softmax_geom(c, &outer, &dim, &inner);
    bool logsm = strcmp(c->node->op_type, "LogSoftmax") == 0;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    /* y = x - max over the axis; then exp over the whole tensor at once (one
     * vectorised pass); then normalise */
    if (!logsm && dim == 2 && inner == 1) {
        /* two classes per row (face detectors' scores): the same arithmetic
         * in loops of constant length */
        for (int64_t o = 0; o < outer; o++) {
            float a = x[2 * o], b = x[2 * o + 1], mx = a > b ? a : b;
            y[2 * o] = a - mx;
            y[2 * o + 1] = b - mx;
        }
        if (c->reference || !nn_unary_fast(NN_UNARY_EXP, y, y, 2 * outer))
            for (int64_t i = 0; i < 2 * outer; i++) y[i] = expf(y[i]);
        for (int64_t o = 0; o < outer; o++) {
            float inv = 1.0f / (y[2 * o] + y[2 * o + 1]);
            y[2 * o] *= inv;
            y[2 * o + 1] *= inv;
        }
        return;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const float *xp = x + o * dim * inner + in;
            float *yp = y + o * dim * inner + in;
            float mx = -INFINITY; /* a comparison, not fmaxf: that is a libm call */
            for (int64_t k = 0; k < dim; k++) mx = xp[k * inner] > mx ? xp[k * inner] : mx;
            for (int64_t k = 0; k < dim; k++) yp[k * inner] = xp[k * inner] - mx;
        }
    int64_t total = outer * dim * inner;
    if (logsm) {
        for (int64_t o = 0; o < outer; o++)
            for (int64_t in = 0; in < inner; in++) {
                float *yp = y + o * dim * inner + in, sum = 0;
                for (int64_t k = 0; k < dim; k++) sum += expf(yp[k * inner]);
                float ls = logf(sum);
                for (int64_t k = 0; k < dim; k++) yp[k * inner] -= ls;
            }
        return;
    }
    if (c->reference || !nn_unary_fast(NN_UNARY_EXP, y, y, total))
        for (int64_t i = 0; i < total; i++) y[i] = expf(y[i]);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            float *yp = y + o * dim * inner + in, sum = 0;
            for (int64_t k = 0; k < dim; k++) sum += yp[k * inner];
            float inv = 1.0f / sum;
            for (int64_t k = 0; k < dim; k++) yp[k * inner] *= inv;
        }
}

const nn_op_def nn_ops_nn[] = {
    {"Conv", 2, 3, 1, 1, infer_conv, run_conv, false},
    {"ConvTranspose", 2, 3, 1, 1, infer_convt, run_convt, false},
    {"BatchNormalization", 5, 5, 1, 5, infer_bn, run_bn, false},
    {"Gemm", 2, 3, 1, 1, infer_gemm, run_gemm, false},
    {"MatMul", 2, 2, 1, 1, infer_matmul, run_matmul, false},
    {"MaxPool", 1, 1, 1, 1, infer_pool, run_pool, false},
    {"AveragePool", 1, 1, 1, 1, infer_pool, run_pool, false},
    {"GlobalAveragePool", 1, 1, 1, 1, infer_global_pool, run_global_pool, false},
    {"GlobalMaxPool", 1, 1, 1, 1, infer_global_pool, run_global_pool, false},
    {"ReduceMean", 1, 2, 1, 1, infer_reduce, run_reduce, false},
    {"ReduceSum", 1, 2, 1, 1, infer_reduce, run_reduce, false},
    {"ReduceMax", 1, 2, 1, 1, infer_reduce, run_reduce, false},
    {"ReduceMin", 1, 2, 1, 1, infer_reduce, run_reduce, false},
    {"Softmax", 1, 1, 1, 1, infer_softmax, run_softmax, false},
    {"LogSoftmax", 1, 1, 1, 1, infer_softmax, run_softmax, false},
    {NULL, 0, 0, 0, 0, NULL, NULL, false},
};
