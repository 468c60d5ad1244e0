/*
 * quant.c — int8 convolutions. nn_model_quantize gives an ungrouped Conv
 * per-output-channel symmetric int8 weights (w ≈ qw * sw[m], qw in
 * [-127, 127]) and its input a per-tensor u8 quantisation with a zero point
 * (x ≈ (qx - zp) * sx) from calibrated ranges, or, with dynamic ranges,
 * from the min/max of each input found when the Conv runs
 * (q8_input_range). A run quantises the input
 * once into a padded image of 4-channel groups (one 32-bit word holds the
 * u8 values of channels 4g .. 4g+3 at one pixel; padding is zp, i.e. 0),
 * reads 32 output pixels x K/4 words per tap from it (in place for 1x1
 * convolutions, else gathered into a panel), and multiplies them with the
 * packed weights: VPDPBUSD (u8 x s8, four products summed into
 * an int32 lane) on AVX-512 VNNI (8 channels x 32 pixels in registers) or
 * AVX-VNNI (4 x 16), a plain C loop elsewhere. The epilogue turns the sum
 * back to float: y = act((acc - zp * sum(qw[m])) * sx * sw[m] + bias[m]
 * [+ residual]), so the next layer reads float as before and depthwise
 * layers stay float. Which Convs are int8: q8_eligible and
 * nn_model_quantize (not the model's output Convs, not the small ones).
 * Calibration (nn_q8_observe, plan.c's nn_session_calibrate) records each
 * Conv's input range while the float model runs.
 *
 * Where the time went, and what the AVX-512 path does about it (README
 * "int8 inference"): the sums themselves run near the machine's VPDPBUSD
 * rate, so the work around them is kept small. Masked stores cost several
 * plain ones on AMD Zen, so the image and the stride-2 panels are written
 * with full stores whose spill is written again later; the epilogue has the
 * activation and the residual as compile-time constants (q8_kernels_for) and
 * reads three floats per output channel; the sums are asm (GCC 12 copies
 * the intrinsic's accumulators).
 *
 * The right answer is nn_q8_conv's reference path (c->reference): the same
 * quantisation of each value, then direct loops over the unpacked int8
 * weights in int32, and the same float epilogue; the packed kernels must
 * match it bit for bit (tests/nn test_int8_kernels_vs_reference).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define Q8_MR 8  /* output channels per weight block */
#define Q8_NR 32 /* output pixels per panel */
/* Panels of at most this many pixels run as GEMVs (q8_gemv512, all
 * columns in one pass over the weights): one 1x1 Conv of 256 -> 128
 * channels at 14x14 (a last panel of 4) 0.0198 -> 0.0180 ms, 128 -> 512
 * 0.0373 -> 0.0335 (best of 40 rounds, one column at a time: 0.0186 and
 * 0.0350; 9 pixels one at a time lost, 0.0175 -> 0.0181). At most 4: 4
 * blocks x 4 columns of sums fill 16 registers. */
#define Q8_GEMV_COLS 4
/* Convs with fewer weights (output channels x inputs per output) than
 * this stay float: see q8_eligible. */
#define Q8_MIN_MK 1024

struct nn_q8 {
    int64_t M, C, KH, KW, Cq, Kq; /* Cq = ceil(C / 4) channel groups, Kq = Cq * KH * KW */
    int64_t sh, sw, dh, dw, pt, pl, pb, pr;
    /* The input's quantisation: fixed at load from a ranges file, or, when
     * `dynamic`, found on each input at run time (q8_input_range). */
    bool dynamic;
    float sx, inv_sx; /* input scale and its inverse (fixed ranges) */
    int zp;           /* input zero point, 0..255 (fixed ranges) */
    int8_t *w;        /* [M][C][KH][KW], the reference path's weights */
    int32_t *wpack;   /* [M/8 blocks][Kq][8] words of 4 int8 (channels 4g..4g+3) */
    int32_t *wsum;    /* [M] sum of row m's int8 weights */
    float *wscale;    /* [M] row m's weight scale sw[m] */
    int32_t *zpw;     /* [M] zp * wsum[m] (fixed ranges) */
    float *oscale;    /* [M] sx * sw[m] (fixed ranges) */
    float *bias;      /* [M] the Conv's bias, 0 without one */
    float *slope;     /* [M] the activation's negative slope (epi_node_slope) */
};

void nn_q8_free(nn_q8 *q)
{
    if (!q) return;
    free(q->w);
    free(q->wpack);
    free(q->wsum);
    free(q->wscale);
    free(q->zpw);
    free(q->oscale);
    free(q->bias);
    free(q->slope);
    free(q);
}

/* x as the Conv sees it: through its folded BatchNormalization (+ ReLU). */
static inline float pre_value(const nn_node *n, int64_t C, int64_t c, float x)
{
    if (!n->pre_affine) return x;
    float v = fmaf(x, n->pre_affine[c], n->pre_affine[C + c]);
    return n->pre_act == NN_ACT_RELU ? fmaxf(v, 0.0f) : v;
}

/* ---- load: weights and ranges ---------------------------------------------- */

/* Whether the int8 kernels cover Conv n (ungrouped, constant 4-D weights,
 * explicit pads, an activation the epilogue applies exactly). */
static bool q8_eligible(const nn_model *m, const nn_node *n)
{
    if (n->dead || strcmp(n->op_type, "Conv") != 0 || n->pre_pool2 || n->nin < 2 || n->in[1] < 0)
        return false;
    const nn_value *wv = &m->values[n->in[1]];
    if (!wv->is_const || wv->init.type != NN_F32 || wv->init.shape.ndim != 4) return false;
    if (n->nin > 2 && n->in[2] >= 0 && !m->values[n->in[2]].is_const) return false;
    const nn_window *w = &n->win;
    if (!w->ok || w->group != 1 || w->auto_pad != 0) return false;
    /* Too little arithmetic per value read and written (the detector's
     * first layers: 16 output channels, or 1x1 over 16 channels): the
     * float kernels, which skip quantising the input, are as fast or
     * faster there (bench models --profile). */
    const nn_shape *ws = &wv->init.shape;
    if (ws->d[0] * ws->d[1] * ws->d[2] * ws->d[3] < Q8_MIN_MK) return false;
    return n->act == NN_ACT_NONE || n->act == NN_ACT_RELU || n->act == NN_ACT_PRELU ||
           n->act == NN_ACT_LEAKY || n->act == NN_ACT_CLIP;
}

/* The u8 quantisation of inputs in [lo, hi]: scale, its inverse and zero
 * point. The range always holds 0 (padding, ReLU outputs): asymmetric u8.
 * Fixed and dynamic ranges both go through here, so the same range gives
 * the same answer either way. */
static void q8_params(float lo, float hi, float *sx, float *inv_sx, int *zp)
{
    if (!(lo < 0)) lo = 0; /* also NaN */
    if (!(hi > 0)) hi = 0;
    if (hi - lo < 1e-12f) hi = lo + 1e-12f;
    *sx = (hi - lo) / 255.0f;
    int z = (int)nearbyintf(-lo / *sx);
    *zp = z > 255 ? 255 : z;
    *inv_sx = 1.0f / *sx;
}

/* The int8 form of Conv n for inputs in [lo, hi], or, when `dynamic`, in
 * whatever range each input has. */
static rc_status q8_build(const nn_model *m, nn_node *n, bool dynamic, float lo, float hi,
                          rc_error *err)
{
    const nn_tensor *wt = &m->values[n->in[1]].init;
    const float *w = wt->data;
    nn_q8 *q = calloc(1, sizeof *q);
    if (!q) return rc_fail(err, RC_ERR_NOMEM, "out of memory quantizing %s", n->name);
    q->M = wt->shape.d[0];
    q->C = wt->shape.d[1];
    q->KH = wt->shape.d[2];
    q->KW = wt->shape.d[3];
    q->Cq = (q->C + 3) / 4;
    q->Kq = q->Cq * q->KH * q->KW;
    const nn_window *win = &n->win;
    q->sh = win->sh;
    q->sw = win->sw;
    q->dh = win->dh;
    q->dw = win->dw;
    q->pt = win->pads[0];
    q->pl = win->pads[1];
    q->pb = win->pads[2];
    q->pr = win->pads[3];
    q->dynamic = dynamic;
    q8_params(lo, hi, &q->sx, &q->inv_sx, &q->zp);
    int64_t M = q->M, K = q->C * q->KH * q->KW, Mb = (M + Q8_MR - 1) / Q8_MR;
    q->w = malloc((size_t)(M * K));
    q->wpack = calloc((size_t)(Mb * Q8_MR * q->Kq), sizeof(int32_t));
    q->wsum = malloc((size_t)M * sizeof(int32_t));
    q->wscale = malloc((size_t)M * sizeof(float));
    q->zpw = malloc((size_t)M * sizeof(int32_t));
    q->oscale = malloc((size_t)M * sizeof(float));
    q->bias = calloc((size_t)M, sizeof(float));
    q->slope = malloc((size_t)M * sizeof(float));
    if (!q->w || !q->wpack || !q->wsum || !q->wscale || !q->zpw || !q->oscale || !q->bias ||
        !q->slope) {
        nn_q8_free(q);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory quantizing %s", n->name);
    }
    for (int64_t mm = 0; mm < M; mm++) {
        const float *wm = w + mm * K;
        float amax = 0.0f;
        for (int64_t k = 0; k < K; k++) amax = fmaxf(amax, fabsf(wm[k]));
        float sw = amax > 0.0f ? amax / 127.0f : 1.0f;
        int32_t sum = 0;
        for (int64_t k = 0; k < K; k++) {
            float v = nearbyintf(wm[k] / sw);
            int qv = v > 127.0f ? 127 : v < -127.0f ? -127 : (int)v;
            q->w[mm * K + k] = (int8_t)qv;
            sum += qv;
        }
        q->wsum[mm] = sum;
        q->wscale[mm] = sw;
        q->zpw[mm] = q->zp * sum;
        q->oscale[mm] = q->sx * sw;
        q->slope[mm] = epi_node_slope(n, mm);
    }
    /* q8_eligible: a bias is a constant of M values */
    if (n->nin > 2 && n->in[2] >= 0) {
        const nn_tensor *bt = &m->values[n->in[2]].init;
        if (bt->type == NN_F32 && nn_shape_count(&bt->shape) == M)
            memcpy(q->bias, bt->data, (size_t)M * sizeof(float));
    }
    /* packed: block mb, tap word kq = (g * KH + ky) * KW + kx, row r, byte
     * j = channel 4g + j */
    int8_t *pk = (int8_t *)q->wpack;
    for (int64_t mm = 0; mm < M; mm++)
        for (int64_t c = 0; c < q->C; c++)
            for (int64_t ky = 0; ky < q->KH; ky++)
                for (int64_t kx = 0; kx < q->KW; kx++) {
                    int64_t kq = ((c / 4) * q->KH + ky) * q->KW + kx;
                    int64_t word = ((mm / Q8_MR) * q->Kq + kq) * Q8_MR + mm % Q8_MR;
                    pk[word * 4 + c % 4] = q->w[((mm * q->C + c) * q->KH + ky) * q->KW + kx];
                }
    nn_q8_free(n->q8);
    n->q8 = q;
    return RC_OK;
}

/* The name a Conv has in a ranges file: its (first) output's, unique in a
 * graph even when node names are empty. */
static const char *q8_key(const nn_model *m, const nn_node *n)
{
    return m->values[n->out[0]].name;
}

/* leads[v]: value v is read, directly or through other operators, by a
 * Conv. A Conv whose output leads to none computes what the model answers
 * (the detector's box and score heads, the embedding itself). */
static bool *leads_to_conv(const nn_model *m)
{
    bool *leads = calloc((size_t)m->nvalues + 1, sizeof *leads);
    if (!leads) return NULL;
    for (int i = m->nnodes - 1; i >= 0; i--) {
        const nn_node *n = &m->nodes[i];
        if (n->dead) continue;
        bool lead = strcmp(n->op_type, "Conv") == 0;
        for (int k = 0; k < n->nout && !lead; k++) lead = n->out[k] >= 0 && leads[n->out[k]];
        for (int k = 0; lead && k < n->nin; k++)
            if (n->in[k] >= 0) leads[n->in[k]] = true;
    }
    return leads;
}

/* Whether Conv n gets an int8 form (see nn_model_quantize). */
static bool q8_wanted(const nn_model *m, const nn_node *n, const bool *leads, unsigned flags)
{
    return q8_eligible(m, n) && ((flags & NN_Q8_OUTPUT_CONVS) || leads[n->out[0]]);
}

/* The fixed ranges of `path` for the Convs it lists. */
static rc_status q8_read_ranges(nn_model *m, const char *path, const bool *leads, unsigned flags,
                                rc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return rc_fail(err, errno == ENOENT ? RC_ERR_NOT_FOUND : RC_ERR_IO, "cannot open %s: %s",
                       path, strerror(errno));
    char line[1024];
    int lineno = 0;
    rc_status st = RC_OK;
    while (st == RC_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        char name[512];
        float lo, hi;
        if (sscanf(line, "%511s %f %f", name, &lo, &hi) != 3 || !isfinite(lo) || !isfinite(hi) ||
            lo > hi) {
            st = rc_fail(err, RC_ERR_CORRUPT, "%s:%d: expected 'name min max' with min <= max",
                         path, lineno);
            break;
        }
        nn_node *n = NULL;
        for (int i = 0; i < m->nnodes && !n; i++)
            if (!m->nodes[i].dead && strcmp(m->nodes[i].op_type, "Conv") == 0 &&
                strcmp(q8_key(m, &m->nodes[i]), name) == 0)
                n = &m->nodes[i];
        if (!n) {
            st = rc_fail(err, RC_ERR_INVALID,
                         "%s:%d: model %s has no convolution '%s' (ranges of another model?)", path,
                         lineno, m->name, name);
            break;
        }
        if (q8_wanted(m, n, leads, flags)) st = q8_build(m, n, false, lo, hi, err);
    }
    fclose(f);
    return st;
}

rc_status nn_model_quantize(nn_model *m, const char *ranges_path, unsigned flags, int *count,
                            rc_error *err)
{
    if (count) *count = 0;
    bool *leads = leads_to_conv(m);
    if (!leads) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    /* a new quantisation replaces the last one */
    for (int i = 0; i < m->nnodes; i++) {
        nn_q8_free(m->nodes[i].q8);
        m->nodes[i].q8 = NULL;
    }
    rc_status st = ranges_path ? q8_read_ranges(m, ranges_path, leads, flags, err) : RC_OK;
    int done = 0;
    for (int i = 0; i < m->nnodes && st == RC_OK; i++) {
        nn_node *n = &m->nodes[i];
        if (!n->q8 && (!ranges_path || (flags & NN_Q8_DYNAMIC)) && q8_wanted(m, n, leads, flags))
            st = q8_build(m, n, true, 0.0f, 0.0f, err);
        done += n->q8 != NULL;
    }
    free(leads);
    if (st != RC_OK) {
        for (int i = 0; i < m->nnodes; i++) {
            nn_q8_free(m->nodes[i].q8);
            m->nodes[i].q8 = NULL;
        }
        return st;
    }
    if (count) *count = done;
    return RC_OK;
}

int nn_int8_available(void)
{
    nn_cpu f = nn_cpu_features();
    return f.vnni512 || f.avxvnni;
}

/* ---- calibration ----------------------------------------------------------- */

void nn_q8_observe(const nn_ctx *c)
{
    const nn_node *n = c->node;
    const nn_tensor *x = c->in[0];
    if (x->shape.ndim != 4) return;
    int64_t N = x->shape.d[0], C = x->shape.d[1], plane = x->shape.d[2] * x->shape.d[3];
    const float *p = x->data;
    float lo = c->range[0], hi = c->range[1];
    for (int64_t i = 0; i < N; i++)
        for (int64_t ch = 0; ch < C; ch++, p += plane)
            for (int64_t k = 0; k < plane; k++) {
                float v = pre_value(n, C, ch, p[k]);
                lo = fminf(lo, v);
                hi = fmaxf(hi, v);
            }
    c->range[0] = lo;
    c->range[1] = hi;
}

/* ---- running ---------------------------------------------------------------- */

/* Geometry of one int8 Conv call, and its input's quantisation (the
 * node's fixed one, or the one found on this input). */
typedef struct {
    const nn_node *n;
    const nn_q8 *q;
    int64_t C, H, W, OH, OW, PH, PW, plane;
    epi e;
    float inv_sx;
    int zp;
    const int32_t *zpw;  /* [M] zp * wsum[m] */
    const float *oscale; /* [M] sx * sw[m] */
} q8_geom;

/* ---- quantising one value --------------------------------------------------
 * The packed kernels and the reference quantise with exactly these steps
 * (multiply by the inverse scale, clamp to the u8 range around zp, round to
 * nearest even, add zp), so they agree bit for bit; NaN becomes zp - its
 * lower clamp, like the vector max. */
static inline int q8_value(const q8_geom *g, float x)
{
    float v = x * g->inv_sx;
    v = fmaxf(v, (float)-g->zp);
    v = fminf(v, (float)(255 - g->zp));
    return (int)nearbyintf(v) + g->zp;
}

/* ---- dynamic ranges ----------------------------------------------------------
 * The smallest and largest value of each channel of one input, then mapped
 * through the Conv's folded BatchNormalization (+ ReLU): x * a + b is
 * monotonic in x (fmaf rounds monotonically), so its extremes are those of
 * the channel's. min/max do not depend on the order they are taken in, so
 * the vector and scalar forms agree exactly (NaN is skipped). */
static void range_c(const float *p, int64_t len, float *lo, float *hi)
{
    float a = *lo, b = *hi;
    for (int64_t k = 0; k < len; k++) {
        a = fminf(a, p[k]);
        b = fmaxf(b, p[k]);
    }
    *lo = a;
    *hi = b;
}

#if defined(__x86_64__)
/* One width for AVX2 and AVX-512 machines alike: the dynamic ranges are for
 * measuring (README "int8 inference"), and this pass reads memory once. */
__attribute__((target("avx2"))) static void range_avx2(const float *p, int64_t len, float *lo,
                                                       float *hi)
{
    __m256 a0 = _mm256_set1_ps(*lo), a1 = a0, b0 = _mm256_set1_ps(*hi), b1 = b0;
    int64_t k = 0;
    for (; k + 16 <= len; k += 16) {
        __m256 x0 = _mm256_loadu_ps(p + k), x1 = _mm256_loadu_ps(p + k + 8);
        a0 = _mm256_min_ps(x0, a0);
        a1 = _mm256_min_ps(x1, a1);
        b0 = _mm256_max_ps(x0, b0);
        b1 = _mm256_max_ps(x1, b1);
    }
    float a[8], b[8];
    _mm256_storeu_ps(a, _mm256_min_ps(a0, a1));
    _mm256_storeu_ps(b, _mm256_max_ps(b0, b1));
    for (int j = 0; j < 8; j++) {
        *lo = fminf(*lo, a[j]);
        *hi = fmaxf(*hi, b[j]);
    }
    range_c(p + k, len - k, lo, hi);
}
#endif

/* The range of one input image (C planes of `plane` values) as the Conv
 * sees it: always holding 0, as q8_params makes it. */
static void q8_input_range(const nn_node *n, int64_t C, int64_t plane, const float *x, float *lo,
                           float *hi)
{
    float l = 0.0f, h = 0.0f;
    for (int64_t c = 0; c < C; c++) {
        float a = INFINITY, b = -INFINITY;
#if defined(__x86_64__)
        if (nn_cpu_features().avx2)
            range_avx2(x + c * plane, plane, &a, &b);
        else
#endif
            range_c(x + c * plane, plane, &a, &b);
        if (!(a <= b)) continue; /* all NaN */
        if (n->pre_affine) {
            float s = n->pre_affine[c], t = n->pre_affine[C + c];
            float u = fmaf(a, s, t), v = fmaf(b, s, t);
            a = fminf(u, v);
            b = fmaxf(u, v);
            if (n->pre_act == NN_ACT_RELU) {
                a = fmaxf(a, 0.0f);
                b = fmaxf(b, 0.0f);
            }
        }
        l = fminf(l, a);
        h = fmaxf(h, b);
    }
    *lo = l;
    *hi = h;
}

/* The quantisation of one input into g: the node's fixed one, or, for
 * dynamic ranges, the one of this input (zpw and oscale written to `buf`,
 * 2 * M words). */
static void q8_quantisation(q8_geom *g, const float *x, void *buf)
{
    const nn_q8 *q = g->q;
    if (!q->dynamic) {
        g->inv_sx = q->inv_sx;
        g->zp = q->zp;
        g->zpw = q->zpw;
        g->oscale = q->oscale;
        return;
    }
    float lo, hi, sx;
    q8_input_range(g->n, g->C, g->H * g->W, x, &lo, &hi);
    q8_params(lo, hi, &sx, &g->inv_sx, &g->zp);
    int32_t *zpw = buf;
    float *oscale = (float *)(zpw + q->M);
    for (int64_t m = 0; m < q->M; m++) {
        zpw[m] = g->zp * q->wsum[m];
        oscale[m] = sx * q->wscale[m];
    }
    g->zpw = zpw;
    g->oscale = oscale;
}

/* Words after the padded input image that a panel may read (stride 2
 * reads 2 * Q8_NR words from a run's start), zeroed, and after a gathered
 * panel that its full-vector stores may write. */
#define Q8_IMAGE_SLACK (2 * Q8_NR)
#define Q8_PANEL_SLACK 16

/* Words of the padded input image, with its slack. */
static int64_t image_words(const q8_geom *g)
{
    return (g->q->Cq * g->PH * g->PW + Q8_IMAGE_SLACK + 15) / 16 * 16;
}

size_t nn_q8_scratch(const nn_node *n, int64_t H, int64_t W)
{
    const nn_q8 *q = n->q8;
    if (!q) return 0;
    q8_geom g = {.q = q, .PH = H + q->pt + q->pb, .PW = W + q->pl + q->pr};
    /* image, panel, off, dynamic zpw and oscale, then q8_gemv_cols' columns
     * and pairs (Q8_GEMV_COLS * (9 Kq + 8) words) */
    return (size_t)image_words(&g) * 4 + (size_t)q->Kq * (Q8_NR * 4 + 8) + Q8_PANEL_SLACK * 4 +
           (size_t)q->M * 8 + (size_t)Q8_GEMV_COLS * (q->Kq * 36 + 32) + 256;
}

/* One row of the padded image: channel group cg, padded row py. */
static void image_row_c(const q8_geom *g, const float *x, int64_t cg, int64_t py, uint32_t *dst)
{
    const nn_q8 *q = g->q;
    uint32_t zpw = (uint32_t)g->zp * 0x01010101u;
    int64_t iy = py - q->pt;
    if (iy < 0 || iy >= g->H) {
        for (int64_t j = 0; j < g->PW; j++) dst[j] = zpw;
        return;
    }
    for (int64_t j = 0; j < q->pl; j++) dst[j] = zpw;
    for (int64_t j = g->W + q->pl; j < g->PW; j++) dst[j] = zpw;
    for (int64_t ix = 0; ix < g->W; ix++) {
        uint32_t word = 0;
        for (int b = 0; b < 4; b++) {
            int64_t c = cg * 4 + b;
            int v = c < g->C ? q8_value(g, pre_value(g->n, g->C, c, x[(c * g->H + iy) * g->W + ix]))
                             : g->zp;
            word |= (uint32_t)v << (8 * b);
        }
        dst[q->pl + ix] = word;
    }
}

#if defined(__x86_64__)
/* The same, 16 pixels at a time (AVX-512BW), for a whole channel group.
 * Every store is a full 16 words (a masked store costs several plain ones
 * on AMD Zen): the image is written in address order, so the words a store
 * puts past the end of its run are written again, correctly, later (the
 * last run's spill lands in the slack image_words leaves). Loads are full
 * too, masked only where 16 floats would pass the end of the input. */
__attribute__((target("avx512f,avx512bw"))) static void
image_group_avx512(const q8_geom *g, const float *x, int64_t cg, uint32_t *dst)
{
    const nn_q8 *q = g->q;
    const int64_t plane = g->H * g->W, C = g->C;
    const uint32_t zword = (uint32_t)g->zp * 0x01010101u;
    const __m512i zpw = _mm512_set1_epi32((int)zword);
    const __m512i zp16 = _mm512_set1_epi16((short)g->zp);
    const __m512 inv = _mm512_set1_ps(g->inv_sx), lo = _mm512_set1_ps((float)-g->zp),
                 hi = _mm512_set1_ps((float)(255 - g->zp)), zero = _mm512_setzero_ps();
    /* byte 4p + b of a 128-bit lane <- byte 4b + p: channel-major to
     * pixel-major (four pixels of four channels per lane) */
    const __m512i tr =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    const float *pa = g->n->pre_affine;
    bool relu = g->n->pre_act == NN_ACT_RELU;
    const float *src[4];
    __m512 sc[4], sh[4];
    int nch = 0;
    for (int b = 0; b < 4 && cg * 4 + b < C; b++, nch++) {
        int64_t c = cg * 4 + b;
        src[b] = x + c * plane;
        sc[b] = _mm512_set1_ps(pa ? pa[c] : 1.0f);
        sh[b] = _mm512_set1_ps(pa ? pa[C + c] : 0.0f);
    }
    const float *xend = x + C * plane; /* a full load must end by here */
    /* runs: [first, last) input pixels quantised to consecutive words */
    for (int64_t py = 0; py < g->PH; py++) {
        int64_t iy = py - q->pt;
        uint32_t *row = dst + py * g->PW;
        if (iy < 0 || iy >= g->H) {
            for (int64_t j = 0; j < g->PW; j += 16) _mm512_storeu_si512(row + j, zpw);
            continue;
        }
        /* without side padding the rest of the plane is one run */
        int64_t len = g->W;
        if (q->pl == 0 && q->pr == 0) {
            int64_t rows = g->H - iy < g->PH - py ? g->H - iy : g->PH - py;
            len = rows * g->W;
            py += rows - 1;
        }
        for (int64_t j = 0; j < q->pl; j++) row[j] = zword;
        uint32_t *o = row + q->pl;
        int64_t k0 = iy * g->W;
        for (int64_t k = 0; k < len; k += 16, o += 16) {
            __m512i v[4];
            for (int b = 0; b < 4; b++) {
                if (b >= nch) {
                    v[b] = _mm512_setzero_si512();
                    continue;
                }
                const float *p = src[b] + k0 + k;
                __m512 f = p + 16 <= xend ? _mm512_loadu_ps(p)
                                          : _mm512_maskz_loadu_ps(nn_lanes_below(xend - p), p);
                if (pa) {
                    f = _mm512_fmadd_ps(f, sc[b], sh[b]);
                    if (relu) f = _mm512_max_ps(f, zero);
                }
                f = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(f, inv), lo), hi);
                v[b] = _mm512_cvtps_epi32(f); /* in [-zp, 255 - zp] */
            }
            __m512i p01 = _mm512_add_epi16(_mm512_packs_epi32(v[0], v[1]), zp16);
            __m512i p23 = _mm512_add_epi16(_mm512_packs_epi32(v[2], v[3]), zp16);
            _mm512_storeu_si512(o, _mm512_shuffle_epi8(_mm512_packus_epi16(p01, p23), tr));
        }
        /* the right padding, after the run's spill */
        for (int64_t j = 0; j < q->pr; j++) row[q->pl + len + j] = zword;
    }
}

/* The same, 8 pixels at a time (AVX2 + FMA, for AVX-VNNI CPUs). */
__attribute__((target("avx2,fma"))) static void
image_row_avx2(const q8_geom *g, const float *x, int64_t cg, int64_t py, uint32_t *dst)
{
    const nn_q8 *q = g->q;
    int64_t iy = py - q->pt;
    uint32_t zpw = (uint32_t)g->zp * 0x01010101u;
    if (iy < 0 || iy >= g->H) {
        for (int64_t j = 0; j < g->PW; j++) dst[j] = zpw;
        return;
    }
    for (int64_t j = 0; j < q->pl; j++) dst[j] = zpw;
    for (int64_t j = g->W + q->pl; j < g->PW; j++) dst[j] = zpw;
    const __m256i vzp = _mm256_set1_epi32(g->zp);
    const __m256 inv = _mm256_set1_ps(g->inv_sx), lo = _mm256_set1_ps((float)-g->zp),
                 hi = _mm256_set1_ps((float)(255 - g->zp)), zero = _mm256_setzero_ps();
    const float *pa = g->n->pre_affine;
    bool relu = g->n->pre_act == NN_ACT_RELU;
    for (int64_t ix = 0; ix < g->W; ix += 8) {
        __m256i mk = nn_lanes8(0, g->W - ix);
        __m256i word = _mm256_setzero_si256();
        for (int b = 0; b < 4; b++) {
            int64_t c = cg * 4 + b;
            __m256i v = vzp;
            if (c < g->C) {
                __m256 f = _mm256_maskload_ps(x + (c * g->H + iy) * g->W + ix, mk);
                if (pa) {
                    f = _mm256_fmadd_ps(f, _mm256_set1_ps(pa[c]), _mm256_set1_ps(pa[g->C + c]));
                    if (relu) f = _mm256_max_ps(f, zero);
                }
                f = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(f, inv), lo), hi);
                v = _mm256_add_epi32(_mm256_cvtps_epi32(f), vzp);
            }
            word = _mm256_or_si256(word, _mm256_slli_epi32(v, 8 * b));
        }
        _mm256_maskstore_epi32((int *)(dst + q->pl + ix), mk, word);
    }
}
#endif

#if defined(__x86_64__)
/* Whether the CPU has AVX-512BW (the image's byte shuffles), within what
 * nn_cpu_features allows. */
static bool q8_avx512bw(void)
{
    return nn_cpu_features().avx512 && __builtin_cpu_supports("avx512bw");
}
#endif

/* The whole padded image of one input. */
static void q8_image(const q8_geom *g, const float *x, uint32_t *img)
{
    int64_t words = g->PH * g->PW;
#if defined(__x86_64__)
    bool bw = q8_avx512bw(), avx2 = nn_cpu_features().avx2;
#endif
    for (int64_t cg = 0; cg < g->q->Cq; cg++) {
#if defined(__x86_64__)
        if (bw) {
            image_group_avx512(g, x, cg, img + cg * words);
            continue;
        }
#endif
        for (int64_t py = 0; py < g->PH; py++) {
            uint32_t *dst = img + cg * words + py * g->PW;
#if defined(__x86_64__)
            if (avx2) {
                image_row_avx2(g, x, cg, py, dst);
                continue;
            }
#endif
            image_row_c(g, x, cg, py, dst);
        }
    }
    /* the words a panel may read past the end: any value, but defined */
    memset(img + g->q->Cq * words, 0, Q8_IMAGE_SLACK * 4);
}

#if defined(__x86_64__)
/* q8_panel for stride 2 (AVX-512): along each run of output pixels on one
 * row, the even words of 2 x 16 input words give 16 panel words. Full
 * stores, row by row in address order: what one writes past its run is
 * written again by the next run or row, or lands in Q8_PANEL_SLACK. */
__attribute__((target("avx512f"))) static void panel_s2_avx512(const q8_geom *g,
                                                               const uint32_t *img,
                                                               const int64_t *off, int64_t n0,
                                                               int ncols, uint32_t *panel)
{
    const nn_q8 *q = g->q;
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t start[Q8_NR], src[Q8_NR], len[Q8_NR];
    int runs = 0;
    for (int64_t p = n0; p < n0 + ncols; runs++) {
        int64_t oy = p / g->OW, ox = p % g->OW;
        start[runs] = p - n0;
        src[runs] = oy * q->sh * g->PW + ox * 2;
        len[runs] = g->OW - ox < n0 + ncols - p ? g->OW - ox : n0 + ncols - p;
        p += len[runs];
    }
    for (int64_t kq = 0; kq < q->Kq; kq++)
        for (int r = 0; r < runs; r++) {
            const uint32_t *s = img + src[r] + off[kq];
            uint32_t *d = panel + kq * Q8_NR + start[r];
            for (int64_t t = 0; t < len[r]; t += 16, s += 32, d += 16)
                _mm512_storeu_si512(d, _mm512_permutex2var_epi32(_mm512_loadu_si512(s), even,
                                                                 _mm512_loadu_si512(s + 16)));
        }
}
#endif

/* The B operand for output pixels n0 .. n0 + ncols - 1: Kq rows of 32
 * words, row kq at the returned pointer + kq * *ldb, word j of it the 4
 * input bytes tap kq reads for pixel n0 + j (words past ncols are whatever
 * the image holds there). A 1x1 stride-1 Conv without side padding reads
 * the image in place (pixel p is word p of each channel group); otherwise
 * the words are copied into `panel` ([Kq][32]): runs along output rows for
 * stride 1, one word at a time for other strides. */
static const uint32_t *q8_panel(const q8_geom *g, const uint32_t *img, const int64_t *off,
                                int64_t n0, int ncols, uint32_t *panel, int64_t *ldb)
{
    const nn_q8 *q = g->q;
    if (q->KH == 1 && q->KW == 1 && q->sh == 1 && q->sw == 1 && g->PW == g->OW) {
        *ldb = g->PH * g->PW;
        return img + n0;
    }
    *ldb = Q8_NR;
    if (q->sw == 1) {
        for (int64_t p = n0; p < n0 + ncols;) {
            int64_t oy = p / g->OW, ox = p % g->OW;
            int64_t len = g->OW - ox < n0 + ncols - p ? g->OW - ox : n0 + ncols - p;
            const uint32_t *src = img + oy * q->sh * g->PW + ox;
            for (int64_t kq = 0; kq < q->Kq; kq++)
                memcpy(panel + kq * Q8_NR + (p - n0), src + off[kq], (size_t)len * 4);
            p += len;
        }
        return panel;
    }
#if defined(__x86_64__)
    if (q->sw == 2 && q8_avx512bw()) {
        panel_s2_avx512(g, img, off, n0, ncols, panel);
        return panel;
    }
#endif
    int64_t pix[Q8_NR];
    for (int j = 0; j < Q8_NR; j++) {
        int64_t p = n0 + (j < ncols ? j : 0);
        pix[j] = (p / g->OW) * q->sh * g->PW + (p % g->OW) * q->sw;
    }
    for (int64_t kq = 0; kq < q->Kq; kq++) {
        const uint32_t *src = img + off[kq];
        for (int j = 0; j < Q8_NR; j++) panel[kq * Q8_NR + j] = src[pix[j]];
    }
    return panel;
}

/* The epilogue of one output value. */
static inline float q8_out(const q8_geom *g, int64_t m, int32_t acc, const float *res)
{
    float v = (float)(acc - g->zpw[m]);
    v = fmaf(v, g->oscale[m], g->q->bias[m]);
    if (res) v += *res;
    return epi_scalar(&g->e, v, g->q->slope[m]);
}

/* The portable panel kernel: the packed data, plain loops. */
static void q8_panel_c(const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0, int ncols,
                       float *y, const float *res)
{
    const nn_q8 *q = g->q;
    for (int64_t mb = 0; mb < q->M; mb += Q8_MR) {
        const int8_t *a = (const int8_t *)(q->wpack + (mb / Q8_MR) * q->Kq * Q8_MR);
        int32_t acc[Q8_MR][Q8_NR];
        memset(acc, 0, sizeof acc);
        for (int64_t kq = 0; kq < q->Kq; kq++) {
            const uint8_t *b = (const uint8_t *)(panel + kq * ldb);
            for (int r = 0; r < Q8_MR; r++) {
                const int8_t *ar = a + (kq * Q8_MR + r) * 4;
                for (int j = 0; j < ncols; j++)
                    acc[r][j] += b[4 * j] * ar[0] + b[4 * j + 1] * ar[1] + b[4 * j + 2] * ar[2] +
                                 b[4 * j + 3] * ar[3];
            }
        }
        for (int r = 0; r < Q8_MR && mb + r < q->M; r++) {
            int64_t m = mb + r;
            for (int j = 0; j < ncols; j++)
                y[m * g->plane + n0 + j] =
                    q8_out(g, m, acc[r][j], res ? res + m * g->plane + n0 + j : NULL);
        }
    }
}

#if defined(__x86_64__)
/* The packed kernels' epilogue has the activation and whether a residual
 * is added as compile-time constants (one kernel per pair, q8_kernels_for),
 * and reads each output channel's constants once per 32 pixels: the sums
 * start at -zp * wsum[m] (the same int32 value at the end: wrapping
 * addition is associative), so an output is cvt, one FMA with sx * sw[m]
 * and the bias, the residual, the activation and the store. */
#define Q8_ACTS(X)                                                                                 \
    X(NN_ACT_NONE, none)                                                                           \
    X(NN_ACT_RELU, relu) X(NN_ACT_PRELU, prelu) X(NN_ACT_CLIP, clip)

/* The two kernels of one activation A (without and with a residual) from
 * the inline body `kern`. */
#define Q8_KERNEL_FN(kern, tgt, A, name)                                                           \
    __attribute__((target(tgt))) static void kern##_##name(                                        \
        const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0, int ncols, float *y,     \
        const float *res)                                                                          \
    {                                                                                              \
        kern(g, panel, ldb, n0, ncols, y, res, A, false);                                          \
    }                                                                                              \
    __attribute__((target(tgt))) static void kern##_##name##_res(                                  \
        const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0, int ncols, float *y,     \
        const float *res)                                                                          \
    {                                                                                              \
        kern(g, panel, ldb, n0, ncols, y, res, A, true);                                           \
    }

/* 16 lanes of the epilogue for output channel m, stored under mask mk. */
__attribute__((always_inline, target("avx512f"))) static inline void
q8_store16(const q8_geom *g, int act, int64_t m, __m512i acc, float *dst, const float *res,
           __mmask16 mk)
{
    __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(g->oscale[m]),
                               _mm512_set1_ps(g->q->bias[m]));
    if (res)
        v = _mm512_add_ps(v, mk == 0xffff ? _mm512_loadu_ps(res) : _mm512_maskz_loadu_ps(mk, res));
    v = epi_avx512(act, v, _mm512_set1_ps(g->q->slope[m]), _mm512_set1_ps(g->e.a),
                   _mm512_set1_ps(g->e.b));
    /* a masked store costs several plain ones on AMD Zen */
    if (mk == 0xffff)
        _mm512_storeu_ps(dst, v);
    else
        _mm512_mask_storeu_ps(dst, mk, v);
}

#define Q8_INIT512(r)                                                                              \
    __m512i c##r##0 = _mm512_set1_epi32(mb + (r) < q->M ? -g->zpw[mb + (r)] : 0), c##r##1 = c##r##0

/* c += b (u8) x a[r] (s8). The sums in asm because GCC 12 copies each
 * accumulator of the intrinsic's form twice per step; the weight
 * broadcast apart because a broadcast memory operand measured slower. */
#define Q8_DP512(r)                                                                                \
    do {                                                                                           \
        __m512i av = _mm512_set1_epi32(a[r]);                                                      \
        __asm__("vpdpbusd %2, %3, %0\n\tvpdpbusd %2, %4, %1"                                       \
                : "+v"(c##r##0), "+v"(c##r##1)                                                     \
                : "v"(av), "v"(b0), "v"(b1));                                                      \
    } while (0)

#define Q8_ST512(r)                                                                                \
    do {                                                                                           \
        if (mb + (r) < q->M) {                                                                     \
            int64_t m = mb + (r), o = m * g->plane + n0;                                           \
            q8_store16(g, act, m, c##r##0, y + o, has_res ? res + o : NULL, m0);                   \
            q8_store16(g, act, m, c##r##1, y + o + 16, has_res ? res + o + 16 : NULL, m1);         \
        }                                                                                          \
    } while (0)

/* AVX-512 VNNI: 8 channels x 32 pixels of int32 sums in 16 registers. */
__attribute__((always_inline, target("avx512f,avx512vnni"))) static inline void
q8_vnni512(const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0, int ncols, float *y,
           const float *res, int act, bool has_res)
{
    const nn_q8 *q = g->q;
    __mmask16 m0 = nn_lanes_below(ncols), m1 = nn_lanes_below(ncols - 16);
    for (int64_t mb = 0; mb < q->M; mb += Q8_MR) {
        const int32_t *a = q->wpack + (mb / Q8_MR) * q->Kq * Q8_MR;
        Q8_INIT512(0);
        Q8_INIT512(1);
        Q8_INIT512(2);
        Q8_INIT512(3);
        Q8_INIT512(4);
        Q8_INIT512(5);
        Q8_INIT512(6);
        Q8_INIT512(7);
        const uint32_t *b = panel;
        for (int64_t kq = 0; kq < q->Kq; kq++, a += Q8_MR, b += ldb) {
            __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 16);
            Q8_DP512(0);
            Q8_DP512(1);
            Q8_DP512(2);
            Q8_DP512(3);
            Q8_DP512(4);
            Q8_DP512(5);
            Q8_DP512(6);
            Q8_DP512(7);
        }
        Q8_ST512(0);
        Q8_ST512(1);
        Q8_ST512(2);
        Q8_ST512(3);
        Q8_ST512(4);
        Q8_ST512(5);
        Q8_ST512(6);
        Q8_ST512(7);
    }
}

#define Q8_VNNI512_FN(A, name) Q8_KERNEL_FN(q8_vnni512, "avx512f,avx512vnni", A, name)
Q8_ACTS(Q8_VNNI512_FN)

/* The same for a panel of at most 16 pixels (a 28x28 plane's last): 8
 * channels x 16 pixels, half the sums q8_vnni512 does whatever ncols. */
#define Q8_INIT512H(r) __m512i c##r##0 = _mm512_set1_epi32(mb + (r) < q->M ? -g->zpw[mb + (r)] : 0)

#define Q8_DP512H(r)                                                                               \
    do {                                                                                           \
        __m512i av = _mm512_set1_epi32(a[r]);                                                      \
        __asm__("vpdpbusd %1, %2, %0" : "+v"(c##r##0) : "v"(av), "v"(b0));                         \
    } while (0)

#define Q8_ST512H(r)                                                                               \
    do {                                                                                           \
        if (mb + (r) < q->M) {                                                                     \
            int64_t m = mb + (r), o = m * g->plane + n0;                                           \
            q8_store16(g, act, m, c##r##0, y + o, has_res ? res + o : NULL, m0);                   \
        }                                                                                          \
    } while (0)

__attribute__((always_inline, target("avx512f,avx512vnni"))) static inline void
q8_vnni512h(const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0, int ncols, float *y,
            const float *res, int act, bool has_res)
{
    const nn_q8 *q = g->q;
    __mmask16 m0 = nn_lanes_below(ncols);
    for (int64_t mb = 0; mb < q->M; mb += Q8_MR) {
        const int32_t *a = q->wpack + (mb / Q8_MR) * q->Kq * Q8_MR;
        Q8_INIT512H(0);
        Q8_INIT512H(1);
        Q8_INIT512H(2);
        Q8_INIT512H(3);
        Q8_INIT512H(4);
        Q8_INIT512H(5);
        Q8_INIT512H(6);
        Q8_INIT512H(7);
        const uint32_t *b = panel;
        for (int64_t kq = 0; kq < q->Kq; kq++, a += Q8_MR, b += ldb) {
            __m512i b0 = _mm512_loadu_si512(b);
            Q8_DP512H(0);
            Q8_DP512H(1);
            Q8_DP512H(2);
            Q8_DP512H(3);
            Q8_DP512H(4);
            Q8_DP512H(5);
            Q8_DP512H(6);
            Q8_DP512H(7);
        }
        Q8_ST512H(0);
        Q8_ST512H(1);
        Q8_ST512H(2);
        Q8_ST512H(3);
        Q8_ST512H(4);
        Q8_ST512H(5);
        Q8_ST512H(6);
        Q8_ST512H(7);
    }
}

#define Q8_VNNI512H_FN(A, name) Q8_KERNEL_FN(q8_vnni512h, "avx512f,avx512vnni", A, name)
Q8_ACTS(Q8_VNNI512H_FN)

/* 8 lanes of the epilogue (AVX2 + FMA) for output channel m. */
__attribute__((always_inline, target("avx2,fma"))) static inline void
q8_store8(const q8_geom *g, int act, int64_t m, __m256i acc, float *dst, const float *res,
          int64_t n)
{
    __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(g->oscale[m]),
                               _mm256_set1_ps(g->q->bias[m]));
    __m256i mk = nn_lanes8(0, n);
    if (res) v = _mm256_add_ps(v, n >= 8 ? _mm256_loadu_ps(res) : _mm256_maskload_ps(res, mk));
    v = epi_avx2(act, v, _mm256_set1_ps(g->q->slope[m]), _mm256_set1_ps(g->e.a),
                 _mm256_set1_ps(g->e.b));
    if (n >= 8)
        _mm256_storeu_ps(dst, v);
    else if (n > 0)
        _mm256_maskstore_ps(dst, mk, v);
}

#define Q8_INIT256(r)                                                                              \
    __m256i c##r##0 = _mm256_set1_epi32(mb + rg + (r) < q->M ? -g->zpw[mb + rg + (r)] : 0),        \
            c##r##1 = c##r##0

/* As Q8_DP512, in the VEX encoding (GCC 12 spills the intrinsic form's
 * accumulators to the stack). */
#define Q8_DP256(r)                                                                                \
    do {                                                                                           \
        __m256i av = _mm256_set1_epi32(a[r]);                                                      \
        __asm__("%{vex%} vpdpbusd %2, %3, %0\n\t%{vex%} vpdpbusd %2, %4, %1"                       \
                : "+x"(c##r##0), "+x"(c##r##1)                                                     \
                : "x"(av), "x"(b0), "x"(b1));                                                      \
    } while (0)

#define Q8_ST256(r)                                                                                \
    do {                                                                                           \
        if (mb + rg + (r) < q->M) {                                                                \
            int64_t m = mb + rg + (r), o = m * g->plane + n0 + h;                                  \
            q8_store8(g, act, m, c##r##0, y + o, has_res ? res + o : NULL, ncols - h);             \
            q8_store8(g, act, m, c##r##1, y + o + 8, has_res ? res + o + 8 : NULL, ncols - h - 8); \
        }                                                                                          \
    } while (0)

/* AVX-VNNI: 4 channels x 16 pixels at a time (8 of the 16 registers). */
__attribute__((always_inline, target("avx2,fma,avxvnni"))) static inline void
q8_avxvnni(const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0, int ncols, float *y,
           const float *res, int act, bool has_res)
{
    const nn_q8 *q = g->q;
    for (int64_t mb = 0; mb < q->M; mb += Q8_MR)
        for (int rg = 0; rg < Q8_MR && mb + rg < q->M; rg += 4)
            for (int h = 0; h < ncols; h += 16) {
                const int32_t *a = q->wpack + (mb / Q8_MR) * q->Kq * Q8_MR + rg;
                Q8_INIT256(0);
                Q8_INIT256(1);
                Q8_INIT256(2);
                Q8_INIT256(3);
                const uint32_t *b = panel + h;
                for (int64_t kq = 0; kq < q->Kq; kq++, a += Q8_MR, b += ldb) {
                    __m256i b0 = _mm256_loadu_si256((const __m256i *)b),
                            b1 = _mm256_loadu_si256((const __m256i *)(b + 8));
                    Q8_DP256(0);
                    Q8_DP256(1);
                    Q8_DP256(2);
                    Q8_DP256(3);
                }
                Q8_ST256(0);
                Q8_ST256(1);
                Q8_ST256(2);
                Q8_ST256(3);
            }
}

#define Q8_AVXVNNI_FN(A, name) Q8_KERNEL_FN(q8_avxvnni, "avx2,fma,avxvnni", A, name)
Q8_ACTS(Q8_AVXVNNI_FN)

/* ---- a few output pixels: matrix times vector ----------------------------
 * Each pixel of a plane's last panel, when it holds only a few (a 14x14
 * plane is 6 panels of 32 and one of 4; a one-pixel output is one panel of
 * 1), has one column of Kq input words. The panel kernels would compute 32 columns
 * of which a few are used; here each weight word is read once and
 * multiplied with each column. On AVX-512 a 16-lane sum holds two taps of
 * one block of 8 output channels (lanes 0-7 tap 2p, lanes 8-15 tap 2p + 1:
 * the packed weights of a block are Kq x 8 words in a row) for one column,
 * the input pairs `xx` are built once per call, and the two halves are
 * added at the end; int32 sums wrap, so the order does not change the
 * result, and the epilogue is q8_store16's, lane by lane. */
#define Q8_GEMV_BLOCKS 4 /* blocks of 8 output channels per pass */

/* The input pairs: [ceil(Kq / 2)][16] words, word 16p + j = col[2p] for
 * j < 8, col[2p + 1] (0 past Kq) for j >= 8. */
__attribute__((target("avx512f"))) static void gemv_pairs512(const uint32_t *col, int64_t Kq,
                                                             uint32_t *xx)
{
    for (int64_t p = 0; 2 * p < Kq; p++) {
        __m256i lo = _mm256_set1_epi32((int)col[2 * p]);
        __m256i hi =
            2 * p + 1 < Kq ? _mm256_set1_epi32((int)col[2 * p + 1]) : _mm256_setzero_si256();
        _mm512_storeu_si512(xx + 16 * p, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
    }
}

#define Q8_GEMV_DP512(acc, x, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w))

/* A block's 8 sums from its two-tap sums (lanes r and r + 8 hold taps of
 * channel r). */
__attribute__((always_inline, target("avx512f"))) static inline __m256i gemv_fold512(__m512i s)
{
    return _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
}

/* Columns 0 .. ncols - 1 (at most Q8_GEMV_COLS) at once: their pairs are
 * xx + j * P * 16 (P = ceil(Kq / 2)), output channel m of column j goes to
 * y[j + m * ys] (res likewise); each weight vector loaded serves every
 * column, and the sums of 4 blocks x ncols columns are independent. */
__attribute__((always_inline, target("avx512f,avx512vnni"))) static inline void
q8_gemv512(const q8_geom *g, const uint32_t *xx, int ncols, float *y, int64_t ys, const float *res,
           int act, bool has_res)
{
    const __m512i idx =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int)ys));
    const nn_q8 *q = g->q;
    const int64_t Kq = q->Kq, Mb = (q->M + Q8_MR - 1) / Q8_MR, P = (Kq + 1) / 2;
    const __m512 lo = _mm512_set1_ps(g->e.a), hi = _mm512_set1_ps(g->e.b);
    for (int64_t b0 = 0; b0 < Mb; b0 += Q8_GEMV_BLOCKS) {
        /* a block past the last reads block b0 again; its lanes are not stored */
        const int32_t *a[Q8_GEMV_BLOCKS];
        __m512i s[Q8_GEMV_BLOCKS][Q8_GEMV_COLS];
#pragma GCC unroll 4
        for (int k = 0; k < Q8_GEMV_BLOCKS; k++) {
            a[k] = q->wpack + (b0 + k < Mb ? b0 + k : b0) * Kq * Q8_MR;
#pragma GCC unroll 4
            for (int j = 0; j < Q8_GEMV_COLS; j++) s[k][j] = _mm512_setzero_si512();
        }
        for (int64_t p = 0; p < P; p++) {
            /* the last tap alone when Kq is odd: its weights end the block */
            __mmask16 wk = 2 * p + 1 < Kq ? 0xffff : 0x00ff;
            __m512i w[Q8_GEMV_BLOCKS];
#pragma GCC unroll 4
            for (int k = 0; k < Q8_GEMV_BLOCKS; k++)
                w[k] = _mm512_maskz_loadu_epi32(wk, a[k] + 16 * p);
#pragma GCC unroll 4
            for (int j = 0; j < Q8_GEMV_COLS; j++) {
                if (j >= ncols) break;
                __m512i x = _mm512_loadu_si512(xx + (j * P + p) * 16);
#pragma GCC unroll 4
                for (int k = 0; k < Q8_GEMV_BLOCKS; k++) Q8_GEMV_DP512(s[k][j], x, w[k]);
            }
        }
        for (int k = 0; k < Q8_GEMV_BLOCKS; k += 2) {
            int64_t m = (b0 + k) * Q8_MR;
            if (m >= q->M) break;
            __mmask16 mk = nn_lanes_below(q->M - m);
            __m512i zpw = _mm512_maskz_loadu_epi32(mk, g->zpw + m);
            __m512 os = _mm512_maskz_loadu_ps(mk, g->oscale + m),
                   bias = _mm512_maskz_loadu_ps(mk, q->bias + m),
                   slope = _mm512_maskz_loadu_ps(mk, q->slope + m);
#pragma GCC unroll 4
            for (int j = 0; j < Q8_GEMV_COLS; j++) {
                if (j >= ncols) break;
                __m512i acc = _mm512_inserti64x4(_mm512_castsi256_si512(gemv_fold512(s[k][j])),
                                                 gemv_fold512(s[k + 1][j]), 1);
                acc = _mm512_sub_epi32(acc, zpw);
                __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), os, bias);
                const float *rj = has_res ? res + j + m * ys : NULL;
                if (has_res)
                    v = _mm512_add_ps(
                        v, ys == 1 ? _mm512_maskz_loadu_ps(mk, rj)
                                   : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, rj, 4));
                v = epi_avx512(act, v, slope, lo, hi);
                float *yj = y + j + m * ys;
                if (ys != 1)
                    _mm512_mask_i32scatter_ps(yj, mk, idx, v, 4);
                else if (mk == 0xffff)
                    _mm512_storeu_ps(yj, v);
                else
                    _mm512_mask_storeu_ps(yj, mk, v);
            }
        }
    }
}

#define Q8_GEMV_DP256(acc, x, w) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w))

/* AVX-VNNI: a block's 8 channels are the 8 lanes; each tap's input word
 * broadcast, two sums per block (even and odd taps). */
__attribute__((always_inline, target("avx2,fma,avxvnni"))) static inline void
q8_gemv256_col(const q8_geom *g, const uint32_t *col, float *y, int64_t ys, const float *res,
               int act, bool has_res)
{
    const __m256i idx =
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)ys));
    const nn_q8 *q = g->q;
    const int64_t Kq = q->Kq, Mb = (q->M + Q8_MR - 1) / Q8_MR;
    const __m256 lo = _mm256_set1_ps(g->e.a), hi = _mm256_set1_ps(g->e.b);
    for (int64_t b0 = 0; b0 < Mb; b0 += Q8_GEMV_BLOCKS) {
        const int32_t *a[Q8_GEMV_BLOCKS];
        __m256i s[Q8_GEMV_BLOCKS][2];
        for (int k = 0; k < Q8_GEMV_BLOCKS; k++) {
            a[k] = q->wpack + (b0 + k < Mb ? b0 + k : b0) * Kq * Q8_MR;
            s[k][0] = s[k][1] = _mm256_setzero_si256();
        }
        int64_t kq = 0;
        for (; kq + 2 <= Kq; kq += 2) {
            __m256i x0 = _mm256_set1_epi32((int)col[kq]), x1 = _mm256_set1_epi32((int)col[kq + 1]);
            for (int k = 0; k < Q8_GEMV_BLOCKS; k++) {
                __m256i w0 = _mm256_loadu_si256((const __m256i *)(a[k] + 8 * kq)),
                        w1 = _mm256_loadu_si256((const __m256i *)(a[k] + 8 * kq + 8));
                Q8_GEMV_DP256(s[k][0], x0, w0);
                Q8_GEMV_DP256(s[k][1], x1, w1);
            }
        }
        if (kq < Kq) {
            __m256i x0 = _mm256_set1_epi32((int)col[kq]);
            for (int k = 0; k < Q8_GEMV_BLOCKS; k++) {
                __m256i w0 = _mm256_loadu_si256((const __m256i *)(a[k] + 8 * kq));
                Q8_GEMV_DP256(s[k][0], x0, w0);
            }
        }
        for (int k = 0; k < Q8_GEMV_BLOCKS; k++) {
            int64_t m = (b0 + k) * Q8_MR;
            if (m >= q->M) break;
            __m256i mk = nn_lanes8(0, q->M - m);
            __m256i acc = _mm256_sub_epi32(_mm256_add_epi32(s[k][0], s[k][1]),
                                           _mm256_maskload_epi32((const int *)(g->zpw + m), mk));
            __m256 v =
                _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_maskload_ps(g->oscale + m, mk),
                                _mm256_maskload_ps(q->bias + m, mk));
            if (has_res)
                v = _mm256_add_ps(
                    v, ys == 1 ? _mm256_maskload_ps(res + m, mk)
                               : _mm256_mask_i32gather_ps(_mm256_setzero_ps(), res + m * ys, idx,
                                                          _mm256_castsi256_ps(mk), 4));
            v = epi_avx2(act, v, _mm256_maskload_ps(q->slope + m, mk), lo, hi);
            if (ys == 1) {
                _mm256_maskstore_ps(y + m, mk, v);
            } else {
                float t[8];
                _mm256_storeu_ps(t, v);
                for (int64_t r = 0; r < 8 && m + r < q->M; r++) y[(m + r) * ys] = t[r];
            }
        }
    }
}

/* Columns 0 .. ncols - 1, col + j * Kq, one after the other (y and res
 * as q8_gemv512's). */
__attribute__((always_inline, target("avx2,fma,avxvnni"))) static inline void
q8_gemv256(const q8_geom *g, const uint32_t *col, int ncols, float *y, int64_t ys, const float *res,
           int act, bool has_res)
{
    for (int j = 0; j < ncols; j++)
        q8_gemv256_col(g, col + j * g->q->Kq, y + j, ys, has_res ? res + j : NULL, act, has_res);
}

/* The two GEMV kernels of one activation A (without and with a residual);
 * `in` is the column (AVX-VNNI) or its pairs (AVX-512). */
#define Q8_GEMV_FN(kern, tgt, A, name)                                                             \
    __attribute__((target(tgt))) static void kern##_##name(                                        \
        const q8_geom *g, const uint32_t *in, int ncols, float *y, int64_t ys, const float *res)   \
    {                                                                                              \
        kern(g, in, ncols, y, ys, res, A, false);                                                  \
    }                                                                                              \
    __attribute__((target(tgt))) static void kern##_##name##_res(                                  \
        const q8_geom *g, const uint32_t *in, int ncols, float *y, int64_t ys, const float *res)   \
    {                                                                                              \
        kern(g, in, ncols, y, ys, res, A, true);                                                   \
    }
#define Q8_GEMV512_FN(A, name) Q8_GEMV_FN(q8_gemv512, "avx512f,avx512vnni", A, name)
#define Q8_GEMV256_FN(A, name) Q8_GEMV_FN(q8_gemv256, "avx2,fma,avxvnni", A, name)
Q8_ACTS(Q8_GEMV512_FN)
Q8_ACTS(Q8_GEMV256_FN)
#endif
/* The reference: each input value quantised on its own, direct loops over
 * the unpacked weights, the same epilogue. */
static void q8_conv_reference(const q8_geom *g, const float *x, float *y, const float *res)
{
    const nn_q8 *q = g->q;
    for (int64_t m = 0; m < q->M; m++)
        for (int64_t oy = 0; oy < g->OH; oy++)
            for (int64_t ox = 0; ox < g->OW; ox++) {
                int32_t acc = 0;
                for (int64_t c = 0; c < q->C; c++)
                    for (int64_t ky = 0; ky < q->KH; ky++) {
                        int64_t iy = oy * q->sh - q->pt + ky * q->dh;
                        if (iy < 0 || iy >= g->H) continue;
                        for (int64_t kx = 0; kx < q->KW; kx++) {
                            int64_t ix = ox * q->sw - q->pl + kx * q->dw;
                            if (ix < 0 || ix >= g->W) continue;
                            int v = q8_value(
                                g, pre_value(g->n, g->C, c, x[(c * g->H + iy) * g->W + ix]));
                            acc += (v - g->zp) * q->w[((m * q->C + c) * q->KH + ky) * q->KW + kx];
                        }
                    }
                /* the packed kernels sum zp over every tap and subtract it
                 * once; here padding contributes nothing, which is the same */
                acc += g->zpw[m];
                int64_t o = m * g->plane + oy * g->OW + ox;
                y[o] = q8_out(g, m, acc, res ? res + o : NULL);
            }
}

typedef void (*q8_panel_fn)(const q8_geom *g, const uint32_t *panel, int64_t ldb, int64_t n0,
                            int ncols, float *y, const float *res);

/* ncols columns; output channel m of column j at y[j + m * ys] (res
 * likewise) */
typedef void (*q8_gemv_fn)(const q8_geom *g, const uint32_t *in, int ncols, float *y, int64_t ys,
                           const float *res);

/* The panel and GEMV kernels for this CPU, the node's activation and
 * whether a residual is added (the kernels have them as constants), and
 * the panel kernel for at most 16 pixels (`half`); no GEMV (NULL) on the
 * portable path, where the panel loop computes every pixel. *pairs: the
 * GEMV takes the input pairs of gemv_pairs512 rather than the columns. */
static void q8_kernels_for(int act, bool res, q8_panel_fn *panel, q8_panel_fn *half,
                           q8_gemv_fn *gemv, bool *pairs)
{
    *panel = *half = q8_panel_c;
    *gemv = NULL;
    *pairs = false;
#if defined(__x86_64__)
    nn_cpu f = nn_cpu_features();
    if (act == NN_ACT_LEAKY) act = NN_ACT_PRELU; /* both: negative lanes times slope[m] */
#define Q8_PICK(A, name)                                                                           \
    if (act == A && f.vnni512) {                                                                   \
        *panel = res ? q8_vnni512_##name##_res : q8_vnni512_##name;                                \
        *half = res ? q8_vnni512h_##name##_res : q8_vnni512h_##name;                               \
        *gemv = res ? q8_gemv512_##name##_res : q8_gemv512_##name;                                 \
        *pairs = true;                                                                             \
        return;                                                                                    \
    }                                                                                              \
    if (act == A && f.avxvnni) {                                                                   \
        *panel = *half = res ? q8_avxvnni_##name##_res : q8_avxvnni_##name;                        \
        *gemv = res ? q8_gemv256_##name##_res : q8_gemv256_##name;                                 \
        return;                                                                                    \
    }
    Q8_ACTS(Q8_PICK)
#undef Q8_PICK
#else
    (void)act;
    (void)res;
#endif
}

/* Pixels 0 .. ncols - 1 by `gemv` from their columns of Kq input words,
 * cols + j * Kq (with `pairs`, through gemv_pairs512 into xx, ncols *
 * (8 Kq + 8) words). */
static void q8_gemv_cols(const q8_geom *g, q8_gemv_fn gemv, bool pairs, const uint32_t *cols,
                         int ncols, uint32_t *xx, float *y, int64_t ys, const float *res)
{
#if defined(__x86_64__)
    if (pairs) {
        const int64_t Kq = g->q->Kq;
        for (int j = 0; j < ncols; j++)
            gemv_pairs512(cols + j * Kq, Kq, xx + j * ((Kq + 1) / 2) * 16);
        cols = xx;
    }
#else
    (void)pairs;
    (void)xx;
#endif
    gemv(g, cols, ncols, y, ys, res);
}

/* What one int8 Conv call reads: its geometry, the scratch layout
 * (nn_q8_scratch) and the kernels for this CPU and epilogue. */
typedef struct {
    q8_geom g;
    const float *res;
    uint32_t *img, *panel, *cols, *xx;
    int64_t *off;
    void *qbuf;
    q8_panel_fn fn, half;
    q8_gemv_fn gemv;
    bool pairs;
} q8_call;

/* Fill k for c; false when the int8 form does not apply to this call. */
static bool q8_call_init(const nn_ctx *c, q8_call *k)
{
    const nn_node *n = c->node;
    const nn_q8 *q = n->q8;
    const nn_tensor *x = c->in[0], *out = c->out[0];
    if (!q || n->pre_pool2 || x->shape.ndim != 4 || x->shape.d[1] != q->C) return false;
    k->res = NULL;
    if (n->res_add && c->nin > 3 && c->in[3]) {
        if (!nn_shape_eq(&c->in[3]->shape, &out->shape)) return false;
        k->res = c->in[3]->data;
    }
    q8_geom *g = &k->g;
    *g = (q8_geom){.n = n, .q = q, .C = q->C, .H = x->shape.d[2], .W = x->shape.d[3]};
    g->OH = out->shape.d[2];
    g->OW = out->shape.d[3];
    g->PH = g->H + q->pt + q->pb;
    g->PW = g->W + q->pl + q->pr;
    g->plane = g->OH * g->OW;
    g->e = (epi){n->act, n->act_a, n->act_b};
    k->img = c->scratch;
    k->panel = k->img + image_words(g);
    k->off = (int64_t *)(k->panel + q->Kq * Q8_NR + Q8_PANEL_SLACK);
    k->qbuf = k->off + q->Kq;
    /* q8_gemv_cols' columns and pairs (nn_q8_scratch) */
    k->cols = (uint32_t *)k->qbuf + 2 * q->M;
    k->xx = k->cols + Q8_GEMV_COLS * q->Kq;
    if (c->reference) return true;
    for (int64_t g4 = 0, kq = 0; g4 < q->Cq; g4++)
        for (int64_t ky = 0; ky < q->KH; ky++)
            for (int64_t kx = 0; kx < q->KW; kx++)
                k->off[kq++] = (g4 * g->PH + ky * q->dh) * g->PW + kx * q->dw;
    q8_kernels_for(n->act, k->res != NULL, &k->fn, &k->half, &k->gemv, &k->pairs);
    return true;
}

/* Output pixels [p0, p1) of the image quantised in k->img: channel m of
 * pixel p at y + m * ys + (p - p0) (r likewise). Panels of Q8_NR pixels
 * from p0; the sums are exact and every kernel's epilogue is the
 * reference's, so an output does not depend on the panel it falls in. */
static void q8_pixels(const q8_call *k, int64_t p0, int64_t p1, float *y, int64_t ys,
                      const float *r)
{
    const nn_q8 *q = k->g.q;
    q8_geom g = k->g;
    g.plane = ys; /* the kernels' output stride */
    for (int64_t n0 = p0; n0 < p1; n0 += Q8_NR) {
        int ncols = p1 - n0 < Q8_NR ? (int)(p1 - n0) : Q8_NR;
        int64_t ldb;
        const uint32_t *b = q8_panel(&k->g, k->img, k->off, n0, ncols, k->panel, &ldb);
        /* a plane's last panel: a few pixels (4 of a 14x14 plane) by
         * GEMVs, up to 16 (16 of a 28x28 plane) by the half-width
         * kernel, and a few more (17 of a 7x7) by both */
        int64_t n1 = n0 - p0;
        int nc = ncols;
        if (k->gemv && nc > Q8_GEMV_COLS && nc <= 16 + Q8_GEMV_COLS) {
            int h = nc < 16 ? nc : 16;
            k->half(&g, b, ldb, n1, h, y, r);
            b += h;
            n1 += h;
            nc -= h;
            if (nc == 0) continue;
        }
        if (k->gemv && nc <= Q8_GEMV_COLS) {
            for (int j = 0; j < nc; j++)
                for (int64_t kq = 0; kq < q->Kq; kq++) k->cols[j * q->Kq + kq] = b[kq * ldb + j];
            q8_gemv_cols(&g, k->gemv, k->pairs, k->cols, nc, k->xx, y + n1, ys, r ? r + n1 : NULL);
            continue;
        }
        k->fn(&g, b, ldb, n0 - p0, ncols, y, r);
    }
}

bool nn_q8_conv(const nn_ctx *c)
{
    q8_call k;
    if (!q8_call_init(c, &k)) return false;
    const nn_q8 *q = k.g.q;
    const nn_tensor *x = c->in[0], *out = c->out[0];
    int64_t N = x->shape.d[0], in_size = q->C * k.g.H * k.g.W, out_size = q->M * k.g.plane;
    for (int64_t i = 0; i < N; i++) {
        const float *xi = (const float *)x->data + i * in_size;
        float *y = (float *)out->data + i * out_size;
        const float *r = k.res ? k.res + i * out_size : NULL;
        q8_quantisation(&k.g, xi, k.qbuf);
        if (c->reference) {
            q8_conv_reference(&k.g, xi, y, r);
            continue;
        }
        q8_image(&k.g, xi, k.img);
        q8_pixels(&k, 0, k.g.plane, y, k.g.plane, r);
    }
    return true;
}

/* The pixel range form (band.c): a 1x1 stride-1 Conv without pads (its
 * image is read in place, pixel p at word p of each channel group). */
bool nn_q8_pw_begin(const nn_ctx *c, nn_q8_pw *st)
{
    q8_call k;
    const nn_q8 *q = c->node->q8;
    if (c->reference || !q || q->KH != 1 || q->KW != 1 || q->sh != 1 || q->sw != 1 || q->pt ||
        q->pl || q->pb || q->pr || c->in[0]->shape.d[0] != 1 || !q8_call_init(c, &k) || k.res)
        return false;
    const float *x = c->in[0]->data;
    q8_quantisation(&k.g, x, k.qbuf);
    q8_image(&k.g, x, k.img);
    *st = (nn_q8_pw){k.g.inv_sx, k.g.zp, k.g.zpw, k.g.oscale};
    return true;
}

void nn_q8_pw_pixels(const nn_ctx *c, const nn_q8_pw *st, int64_t p0, int64_t p1, float *y,
                     int64_t ys)
{
    q8_call k;
    q8_call_init(c, &k);
    k.g.inv_sx = st->inv_sx;
    k.g.zp = st->zp;
    k.g.zpw = st->zpw;
    k.g.oscale = st->oscale;
    q8_pixels(&k, p0, p1, y, ys, NULL);
}
