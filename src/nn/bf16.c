/*
 * bf16.c — 1x1 convolutions in bfloat16 on CPUs with AVX-512 BF16.
 * nn_model_bf16 gives an ungrouped 1x1 stride-1 unpadded Conv its weights
 * rounded to bf16 (fp32 -> bf16 round to nearest even, as VCVTNE2PS2BF16
 * does) and packed for VDPBF16PS. A run rounds the input the same way (after
 * the Conv's folded BatchNormalization + ReLU, if any) into panels of 32
 * pixels: one 32-bit word holds the bf16 values of channels 2g and 2g+1 at
 * one pixel, a panel is Kp = ceil(C / 2) rows of 32 such words, so a panel
 * is read contiguously (rows of the plain image are a plane apart, which
 * makes every row of a large plane fall into the same L1 set). An 8-channel
 * x 32-pixel tile of fp32 sums takes one VDPBF16PS per 16 lanes and pair of
 * channels: each lane adds both products of a pair to its fp32 sum. The
 * epilogue is the float one: y = act(sum + bias[m] [+ residual]).
 *
 * bf16 keeps 8 bits of mantissa of weights and inputs; products of two
 * bf16 values are exact in fp32 and the sums stay fp32, so the error is
 * that of rounding each operand (a relative 2^-9), far below int8's.
 *
 * The right answer is nn_bf16_conv's reference path (c->reference): the
 * same rounding of every operand (bf16_round), then, per output, the pairs
 * in channel order, each adding its odd channel's product and then its even
 * channel's to one fp32 sum (the order the instruction's definition
 * gives), and the same epilogue. The packed kernel matches it up to the
 * order in which the hardware rounds those fp32 additions
 * (tests/nn test_nn_bf16).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define BF_MR 8  /* output channels per weight block */
#define BF_NR 32 /* pixels per panel */
/* Convs with fewer weights than this stay float (as for int8: too little
 * arithmetic per value converted). */
#define BF_MIN_MK 1024

struct nn_bf16 {
    int64_t M, C, Kp; /* Kp = ceil(C / 2) channel pairs */
    int64_t min_macs; /* calls with fewer multiply-adds run in float */
    uint16_t *w;      /* [M][C] the weights rounded to bf16 (reference path) */
    uint32_t *wpack;  /* [M/8 blocks][Kp][8] words of 2 bf16 (channels 2k, 2k+1) */
};

void nn_bf16_free(nn_bf16 *b)
{
    if (!b) return;
    free(b->w);
    free(b->wpack);
    free(b);
}

/* ---- rounding ----------------------------------------------------------------
 * fp32 -> bf16 exactly as VCVTNE2PS2BF16 defines it: zero and denormals
 * become a zero of the same sign, NaN stays NaN (made quiet), infinities
 * stay, other values round to nearest even on the top 16 bits. */
static uint16_t bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    if ((u & 0x7fffffffu) == 0x7f800000u) return (uint16_t)(u >> 16);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float bf16_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- load ------------------------------------------------------------------- */

/* Whether the bf16 kernel covers Conv n: ungrouped 1x1, stride 1, no pads,
 * constant 4-D weights, an activation the epilogue applies exactly, no
 * pooling folded in front. */
static bool bf16_eligible(const nn_model *m, const nn_node *n)
{
    if (n->dead || strcmp(n->op_type, "Conv") != 0 || n->pre_pool2 || n->nin < 2 || n->in[1] < 0)
        return false;
    const nn_value *wv = &m->values[n->in[1]];
    if (!wv->is_const || wv->init.type != NN_F32 || wv->init.shape.ndim != 4) return false;
    if (n->nin > 2 && n->in[2] >= 0 && !m->values[n->in[2]].is_const) return false;
    const nn_window *w = &n->win;
    if (!w->ok || w->group != 1 || w->auto_pad != 0 || w->sh != 1 || w->sw != 1) return false;
    for (int k = 0; k < 4; k++)
        if (w->pads[k] != 0) return false;
    const nn_shape *ws = &wv->init.shape;
    if (ws->d[2] != 1 || ws->d[3] != 1 || ws->d[0] * ws->d[1] < BF_MIN_MK) return false;
    return n->act == NN_ACT_NONE || n->act == NN_ACT_RELU || n->act == NN_ACT_PRELU ||
           n->act == NN_ACT_LEAKY || n->act == NN_ACT_CLIP;
}

static rc_status bf16_build(const nn_model *m, nn_node *n, int64_t min_macs, rc_error *err)
{
    const nn_tensor *wt = &m->values[n->in[1]].init;
    const float *w = wt->data;
    nn_bf16 *b = calloc(1, sizeof *b);
    if (!b) return rc_fail(err, RC_ERR_NOMEM, "out of memory converting %s to bf16", n->name);
    b->M = wt->shape.d[0];
    b->C = wt->shape.d[1];
    b->Kp = (b->C + 1) / 2;
    b->min_macs = min_macs;
    int64_t Mb = (b->M + BF_MR - 1) / BF_MR;
    b->w = malloc((size_t)(b->M * b->C) * sizeof *b->w);
    b->wpack = calloc((size_t)(Mb * BF_MR * b->Kp), sizeof *b->wpack);
    if (!b->w || !b->wpack) {
        nn_bf16_free(b);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory converting %s to bf16", n->name);
    }
    uint16_t *pk = (uint16_t *)b->wpack;
    for (int64_t mm = 0; mm < b->M; mm++)
        for (int64_t c = 0; c < b->C; c++) {
            uint16_t h = bf16_round(w[mm * b->C + c]);
            b->w[mm * b->C + c] = h;
            int64_t word = ((mm / BF_MR) * b->Kp + c / 2) * BF_MR + mm % BF_MR;
            pk[word * 2 + c % 2] = h;
        }
    nn_bf16_free(n->bf16);
    n->bf16 = b;
    return RC_OK;
}

rc_status nn_model_bf16(nn_model *m, int64_t min_macs, int *count, rc_error *err)
{
    if (count) *count = 0;
    int done = 0;
    rc_status st = RC_OK;
    for (int i = 0; i < m->nnodes && st == RC_OK; i++)
        if (bf16_eligible(m, &m->nodes[i])) {
            st = bf16_build(m, &m->nodes[i], min_macs, err);
            done += st == RC_OK;
        }
    if (st != RC_OK) {
        for (int i = 0; i < m->nnodes; i++) {
            nn_bf16_free(m->nodes[i].bf16);
            m->nodes[i].bf16 = NULL;
        }
        return st;
    }
    if (count) *count = done;
    return RC_OK;
}

int nn_bf16_available(void)
{
    return nn_cpu_features().bf16;
}

/* ---- running ---------------------------------------------------------------- */

/* One bf16 Conv call. */
typedef struct {
    const nn_node *n;
    const nn_bf16 *b;
    int64_t plane;
    const float *bias;
    epi e;
    bool prefetch; /* fetch the next panel's output lines ahead (bf16_panel_act) */
} bf_geom;

/* x as the Conv sees it: through its folded BatchNormalization (+ ReLU). */
static inline float bf_pre(const nn_node *n, int64_t C, int64_t c, float x)
{
    if (!n->pre_affine) return x;
    float v = fmaf(x, n->pre_affine[c], n->pre_affine[C + c]);
    return n->pre_act == NN_ACT_RELU ? fmaxf(v, 0.0f) : v;
}

/* The epilogue of one output value. */
static inline float bf_out(const bf_geom *g, int64_t m, float acc, const float *res)
{
    float v = acc + (g->bias ? g->bias[m] : 0.0f);
    if (res) v += *res;
    return epi_scalar(&g->e, v, epi_node_slope(g->n, m));
}

/* The reference: every operand rounded on its own, one fp32 sum per
 * output in the instruction's order, the same epilogue. */
static void bf16_conv_reference(const bf_geom *g, const float *x, float *y, const float *res)
{
    const nn_bf16 *b = g->b;
    for (int64_t m = 0; m < b->M; m++)
        for (int64_t p = 0; p < g->plane; p++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < b->Kp; k++)
                for (int64_t c = 2 * k + 1; c >= 2 * k; c--) {
                    if (c >= b->C) continue;
                    float xv = bf16_float(bf16_round(bf_pre(g->n, b->C, c, x[c * g->plane + p])));
                    /* exact: two 8-bit mantissas */
                    float prod = xv * bf16_float(b->w[m * b->C + c]);
                    acc += prod;
                }
            int64_t o = m * g->plane + p;
            y[o] = bf_out(g, m, acc, res ? res + o : NULL);
        }
}

#if defined(__x86_64__)
/* The panels of np pixels of the input (channel c at x + c * xs; the whole
 * plane: xs = np = g->plane): panel j at img + j * Kp * 32, row k of it the
 * 32 words of pixels 32j .. 32j + 31 for channels 2k, 2k+1 (pixels past np
 * and the channel past an odd C are zero). */
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void
bf16_panels(const bf_geom *g, const float *x, int64_t xs, int64_t np, uint32_t *img)
{
    const nn_bf16 *b = g->b;
    const nn_node *n = g->n;
    /* word j = (lane j of a, lane j of b): a's bf16 at even halves */
    const __m512i inter =
        _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512 zero = _mm512_setzero_ps();
    bool relu = n->pre_affine && n->pre_act == NN_ACT_RELU;
    for (int64_t k = 0; k < b->Kp; k++) {
        int64_t c0 = 2 * k, c1 = 2 * k + 1;
        const float *x0 = x + c0 * xs, *x1 = c1 < b->C ? x + c1 * xs : NULL;
        __m512 s0 = zero, t0 = zero, s1 = zero, t1 = zero;
        if (n->pre_affine) {
            s0 = _mm512_set1_ps(n->pre_affine[c0]);
            t0 = _mm512_set1_ps(n->pre_affine[b->C + c0]);
            if (x1) {
                s1 = _mm512_set1_ps(n->pre_affine[c1]);
                t1 = _mm512_set1_ps(n->pre_affine[b->C + c1]);
            }
        }
        uint32_t *dst = img + k * BF_NR;
        for (int64_t p = 0; p < np; p += 16) {
            __mmask16 mk = nn_lanes_below(np - p);
            __m512 a = _mm512_maskz_loadu_ps(mk, x0 + p);
            __m512 c = x1 ? _mm512_maskz_loadu_ps(mk, x1 + p) : zero;
            if (n->pre_affine) {
                /* masked so that the lanes past the plane stay zero */
                a = _mm512_maskz_mov_ps(mk, _mm512_fmadd_ps(a, s0, t0));
                c = x1 ? _mm512_maskz_mov_ps(mk, _mm512_fmadd_ps(c, s1, t1)) : zero;
                if (relu) {
                    a = _mm512_max_ps(a, zero);
                    c = _mm512_max_ps(c, zero);
                }
            }
            __m512i v = (__m512i)_mm512_cvtne2ps_pbh(c, a);
            int64_t panel = p / BF_NR;
            _mm512_storeu_si512(dst + panel * b->Kp * BF_NR + p % BF_NR,
                                _mm512_permutexvar_epi16(inter, v));
        }
        /* a plane of 16 pixels past a multiple of 32: the panel's other half */
        if (np % BF_NR && np % BF_NR <= 16)
            _mm512_storeu_si512(dst + (np / BF_NR) * b->Kp * BF_NR + 16, _mm512_setzero_si512());
    }
}

/* The epilogue of one row of a tile (output channel m, 32 pixels at dst):
 * y = act(sum + bias[m] [+ residual]), stored under the column masks. */
__attribute__((always_inline, target("avx512f"))) static inline void
bf_row(int act, __m512 s0, __m512 s1, float bias, float slope, __m512 lo, __m512 hi, float *dst,
       const float *res, __mmask16 m0, __mmask16 m1)
{
    __m512 bv = _mm512_set1_ps(bias), sv = _mm512_set1_ps(slope);
    __m512 v0 = _mm512_add_ps(s0, bv), v1 = _mm512_add_ps(s1, bv);
    if (res) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, res));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, res + 16));
    }
    _mm512_mask_storeu_ps(dst, m0, epi_avx512(act, v0, sv, lo, hi));
    _mm512_mask_storeu_ps(dst + 16, m1, epi_avx512(act, v1, sv, lo, hi));
}

#define BF_DP(r)                                                                                   \
    do {                                                                                           \
        __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);                                      \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                                               \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                                               \
    } while (0)

#define BF_ST(r)                                                                                   \
    do {                                                                                           \
        if (mb + (r) < M) {                                                                        \
            int64_t m = mb + (r), o = m * plane;                                                   \
            bf_row(act, c##r##0, c##r##1, bias ? bias[m] : 0.0f,                                   \
                   epi_slope(act, leaky, slope, nslope, m), lo, hi, y + o, res ? res + o : NULL,   \
                   m0, m1);                                                                        \
        }                                                                                          \
    } while (0)

/* One panel into every output channel: 8 channels x 32 pixels of fp32 sums
 * in 16 registers. `act` is a constant where this is inlined (bf16_panel_*
 * below), so the epilogue has no branch per store; every parameter it reads
 * is copied into a local first, where the compiler need not reload it after
 * each store to y. */
__attribute__((always_inline, target("avx512f,avx512bw,avx512bf16,prfchw"))) static inline void
bf16_panel_act(const bf_geom *g, const uint32_t *panel, int64_t n0, int ncols, float *y,
               const float *res, int act)
{
    const nn_bf16 *b = g->b;
    const int64_t M = b->M, Kp = b->Kp, plane = g->plane;
    const uint32_t *wpack = b->wpack;
    const float *bias = g->bias, *slope = g->n->act_slope;
    const int64_t nslope = g->n->act_slope_n;
    const float leaky = g->n->act_a;
    const __m512 lo = _mm512_set1_ps(g->e.a), hi = _mm512_set1_ps(g->e.b);
    __mmask16 m0 = nn_lanes_below(ncols), m1 = nn_lanes_below(ncols - 16);
    y += n0;
    if (res) res += n0;
    const bool pf = g->prefetch && n0 + BF_NR < plane;
    for (int64_t mb = 0; mb < M; mb += BF_MR) {
        const uint32_t *a = wpack + (mb / BF_MR) * Kp * BF_MR;
        if (pf) /* this block's rows of the next panel, for writing */
            for (int64_t r = mb; r < mb + BF_MR && r < M; r++) {
                __builtin_prefetch(y + r * plane + BF_NR, 1, 3);
                __builtin_prefetch(y + r * plane + BF_NR + 16, 1, 3);
            }
        __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
               c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,
               c61 = c00, c70 = c00, c71 = c00;
        const uint32_t *p = panel;
        for (int64_t k = 0; k < Kp; k++, a += BF_MR, p += BF_NR) {
            __m512bh b0 = (__m512bh)_mm512_loadu_si512(p),
                     b1 = (__m512bh)_mm512_loadu_si512(p + 16);
            BF_DP(0);
            BF_DP(1);
            BF_DP(2);
            BF_DP(3);
            BF_DP(4);
            BF_DP(5);
            BF_DP(6);
            BF_DP(7);
        }
        BF_ST(0);
        BF_ST(1);
        BF_ST(2);
        BF_ST(3);
        BF_ST(4);
        BF_ST(5);
        BF_ST(6);
        BF_ST(7);
    }
}

#define BF_PANEL(name, act)                                                                        \
    __attribute__((target("avx512f,avx512bw,avx512bf16,prfchw"))) static void name(                \
        const bf_geom *g, const uint32_t *panel, int64_t n0, int ncols, float *y,                  \
        const float *res)                                                                          \
    {                                                                                              \
        bf16_panel_act(g, panel, n0, ncols, y, res, act);                                          \
    }
BF_PANEL(bf16_panel_none, NN_ACT_NONE)
BF_PANEL(bf16_panel_relu, NN_ACT_RELU)
BF_PANEL(bf16_panel_prelu, NN_ACT_PRELU)
BF_PANEL(bf16_panel_leaky, NN_ACT_LEAKY)
BF_PANEL(bf16_panel_clip, NN_ACT_CLIP)

typedef void (*bf_panel_fn)(const bf_geom *, const uint32_t *, int64_t, int, float *,
                            const float *);

/* The kernel for the node's activation (bf16_eligible admits only these). */
static bf_panel_fn bf_panel_for(int act)
{
    switch (act) {
    case NN_ACT_RELU:
        return bf16_panel_relu;
    case NN_ACT_PRELU:
        return bf16_panel_prelu;
    case NN_ACT_LEAKY:
        return bf16_panel_leaky;
    case NN_ACT_CLIP:
        return bf16_panel_clip;
    default:
        return bf16_panel_none;
    }
}
#endif

/* Words of the panels of an input of `plane` pixels. */
static int64_t panel_words(const nn_bf16 *b, int64_t plane)
{
    return (plane + BF_NR - 1) / BF_NR * b->Kp * BF_NR;
}

size_t nn_bf16_scratch(const nn_node *n, int64_t H, int64_t W)
{
    const nn_bf16 *b = n->bf16;
    if (!b) return 0;
    return (size_t)panel_words(b, H * W) * 4 + 256;
}

/* Whether the bf16 form applies to c: g set up for it, *res the residual. */
static bool bf_call_init(const nn_ctx *c, bf_geom *g, const float **res)
{
    const nn_node *n = c->node;
    const nn_bf16 *b = n->bf16;
    const nn_tensor *x = c->in[0], *out = c->out[0];
    if (!b || n->pre_pool2 || x->shape.ndim != 4 || x->shape.d[1] != b->C) return false;
    if (b->M * b->C * x->shape.d[2] * x->shape.d[3] < b->min_macs) return false;
    if (!c->reference && !nn_cpu_features().bf16) return false;
    *res = NULL;
    if (n->res_add && c->nin > 3 && c->in[3]) {
        if (!nn_shape_eq(&c->in[3]->shape, &out->shape)) return false;
        *res = c->in[3]->data;
    }
    *g = (bf_geom){.n = n, .b = b, .plane = x->shape.d[2] * x->shape.d[3]};
    g->bias = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    g->e = (epi){n->act, n->act_a, n->act_b};
    return true;
}

bool nn_bf16_conv(const nn_ctx *c)
{
    bf_geom g;
    const float *res;
    if (!bf_call_init(c, &g, &res)) return false;
    const nn_bf16 *b = g.b;
    const nn_tensor *x = c->in[0], *out = c->out[0];
    /* An output larger than L2 (the liveness model's Conv_4, 1.6 MiB) is
     * mostly not in the caches when written, and each panel stores 2 lines
     * of every output channel, a plane apart, which no hardware prefetcher
     * follows: the stores wait on memory. Asking for the next panel's lines
     * one panel ahead took Conv_4 from 0.15-0.19 to 0.10-0.14 ms after
     * 32 MiB of other work (as in the pipeline, where the embedding runs
     * between two liveness runs), no slower hot; the smaller outputs
     * (Conv_39's 0.9 MiB) gained nothing. */
    g.prefetch = b->M * g.plane * (int64_t)sizeof(float) > ((int64_t)1 << 20);
    int64_t N = x->shape.d[0], in_size = b->C * g.plane, out_size = b->M * g.plane;
    for (int64_t i = 0; i < N; i++) {
        const float *xi = (const float *)x->data + i * in_size;
        float *y = (float *)out->data + i * out_size;
        const float *r = res ? res + i * out_size : NULL;
        if (c->reference) {
            bf16_conv_reference(&g, xi, y, r);
            continue;
        }
#if defined(__x86_64__)
        uint32_t *img = c->scratch;
        bf_panel_fn panel = bf_panel_for(g.e.act);
        bf16_panels(&g, xi, g.plane, g.plane, img);
        for (int64_t n0 = 0; n0 < g.plane; n0 += BF_NR) {
            int ncols = g.plane - n0 < BF_NR ? (int)(g.plane - n0) : BF_NR;
            panel(&g, img + (n0 / BF_NR) * b->Kp * BF_NR, n0, ncols, y, r);
        }
#endif
    }
    return true;
}

bool nn_bf16_pw_applies(const nn_ctx *c)
{
    bf_geom g;
    const float *res;
    return !c->reference && c->in[0]->shape.ndim == 4 && c->in[0]->shape.d[0] == 1 &&
           bf_call_init(c, &g, &res) && !res;
}

/* The panels of those np pixels only, then the kernel on each into y with
 * output stride ys: every output is one lane of the same sums and
 * epilogue as in nn_bf16_conv (panels are lanes side by side, nothing
 * crosses lanes), whichever panel it falls in. */
void nn_bf16_pw_pixels(const nn_ctx *c, const float *x, int64_t xs, int64_t np, float *y,
                       int64_t ys)
{
#if defined(__x86_64__)
    bf_geom g;
    const float *res;
    bf_call_init(c, &g, &res);
    uint32_t *img = c->scratch;
    bf_panel_fn panel = bf_panel_for(g.e.act);
    bf16_panels(&g, x, xs, np, img);
    g.plane = ys; /* the kernel's output stride */
    g.prefetch = false;
    for (int64_t n0 = 0; n0 < np; n0 += BF_NR) {
        int ncols = np - n0 < BF_NR ? (int)(np - n0) : BF_NR;
        panel(&g, img + (n0 / BF_NR) * g.b->Kp * BF_NR, n0, ncols, y, NULL);
    }
#else
    (void)c, (void)x, (void)xs, (void)np, (void)y, (void)ys;
#endif
}
