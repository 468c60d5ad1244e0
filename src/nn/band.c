/*
 * band.c — a 1x1 convolution and the depthwise 3x3 stride-2 convolution
 * that is its only reader, run as one step in bands of output rows.
 *
 * The 1x1's output is the largest activation of the face networks (2.4 MiB
 * in fr_detect, 1.6-1.7 MiB in fr_feature and fr_liveness), larger than L2:
 * written whole, it goes out to L3 or memory and the depthwise conv reads
 * it back from there. Here the depthwise output is made a few rows at a
 * time: for each band, the 1x1 computes only the rows of its output the
 * band reads (with the one-row halo; the top and bottom padding are the
 * depthwise conv's) into a buffer of at most NN_BAND_BYTES that stays in
 * L2, then the depthwise conv writes the band's rows of the real output.
 * The last row of one band is the first the next one reads: it is kept
 * (moved to the buffer's front), not computed twice. The 1x1's output gets
 * no buffer of its own (plan.c).
 *
 * Bit for bit: every output is computed by the same kernel, with the same
 * arithmetic in the same order, as when the two run one after the other;
 * only which pixels a kernel call covers changes. The 1x1 runs in the form
 * run_conv would pick (int8, bf16, the float register kernel or the packed
 * GEMM) and the
 * depthwise conv in the row kernel nn_dw3x3_flat picks for these shapes;
 * a pair either would run otherwise is not banded (nn_band_plan). Only
 * the AVX-512 path bands; the reference path never does (plan.c).
 */
#include <string.h>

#include "nn_internal.h"

/* The most the band buffer (rows of the 1x1's output) may take: a quarter
 * of this machine's L2, leaving room for the rows of the input the 1x1
 * reads and of the output the depthwise conv writes. */
#define NN_BAND_BYTES (256 * 1024)

/* A Conv's weight tensor as planned: constant, 4-D. */
static const nn_shape *const_weights(const nn_model *m, const nn_node *n)
{
    if (n->nin < 2 || n->in[1] < 0) return NULL;
    const nn_value *w = &m->values[n->in[1]];
    return w->is_const && w->init.type == NN_F32 && w->init.shape.ndim == 4 ? &w->init.shape : NULL;
}

/* A Conv with nothing folded into it and a bias that is constant or absent. */
static bool plain_conv(const nn_model *m, const nn_node *n)
{
    return strcmp(n->op_type, "Conv") == 0 && n->win.ok && n->win.auto_pad == 0 && !n->res_add &&
           !n->pre_affine && !n->pre_pool2 && n->nout == 1 && n->nin <= 3 &&
           (n->nin < 3 || n->in[2] < 0 || m->values[n->in[2]].is_const) &&
           n->act != NN_ACT_SIGMOID && n->act != NN_ACT_HSWISH;
}

/* Whether run_conv runs depthwise Conv b (M channels, H x W into OH x OW,
 * pads of 1 at the top and left, stride 2) through the row kernel: the
 * narrow kernels (dwsmall.c) take planes at most 32 wide first. */
static bool dw_takes_rows(int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    bool narrow = H * W > 16 && ((W <= 16 && OW <= 8) || (W <= 32 && OW <= 16));
    return !narrow && OW >= 8 && 2 * (OH - 1) <= H - 1 && 2 * (OW - 1) <= W - 1;
}

bool nn_band_plan(const nn_model *m, const nn_node *a, const nn_node *b, nn_ctx *ca, int band_rows,
                  nn_band *bd, size_t *scratch)
{
    memset(bd, 0, sizeof *bd);
    if (!nn_cpu_features().avx512 || !plain_conv(m, a) || !plain_conv(m, b)) return false;
    const nn_shape *wa = const_weights(m, a), *wb = const_weights(m, b);
    const nn_shape *xs = &ca->in[0]->shape, *ms = &ca->out[0]->shape;
    if (!wa || !wb || xs->ndim != 4 || xs->d[0] != 1 || ms->ndim != 4) return false;
    int64_t C = xs->d[1], H = xs->d[2], W = xs->d[3], M = wa->d[0];
    /* a: 1x1, stride 1, no pads, ungrouped (C = M = 1 runs as depthwise) */
    const nn_window *w = &a->win;
    if (wa->d[1] != C || wa->d[2] != 1 || wa->d[3] != 1 || w->group != 1 || w->sh != 1 ||
        w->sw != 1 || w->pads[0] || w->pads[1] || w->pads[2] || w->pads[3] || (C == 1 && M == 1))
        return false;
    /* b: depthwise 3x3, stride 2, pads of 1 at the top and left */
    w = &b->win;
    if (wb->d[0] != M || wb->d[1] != 1 || wb->d[2] != 3 || wb->d[3] != 3 || w->group != M ||
        w->sh != 2 || w->sw != 2 || w->dh != 1 || w->dw != 1 || w->pads[0] != 1 || w->pads[1] != 1)
        return false;
    int64_t OH = (H + w->pads[0] + w->pads[2] - 3) / 2 + 1;
    int64_t OW = (W + w->pads[1] + w->pads[3] - 3) / 2 + 1;
    if (!dw_takes_rows(H, W, OH, OW)) return false;
    /* a's form, in run_conv's order: int8, bf16, float */
    size_t a_scratch;
    if (ca->int8 && a->q8) {
        bd->form = NN_BAND_INT8;
        a_scratch = nn_q8_scratch(a, H, W);
    } else if (ca->bf16 && a->bf16 && nn_bf16_pw_applies(ca)) {
        bd->form = NN_BAND_BF16;
        a_scratch = nn_bf16_scratch(a, H, W);
    } else if (H * W >= 64 && C <= 32 && !(C > 16 && M > 32)) {
        /* run_conv's nn_conv1x1_regs */
        bd->form = NN_BAND_FLOAT;
        a_scratch = nn_conv1x1_regs_scratch(C);
    } else if (a->wpack && H * W > 32) {
        /* the packed GEMM (conv_fast; the tiny kernels take planes of at
         * most 32 pixels): each output one FMA chain over the channels
         * from the bias, the same in a full, a narrow or a packed panel */
        bd->form = NN_BAND_GEMM;
        a_scratch = (size_t)(C * NN_GEMM_NR) * sizeof(float);
    } else {
        return false;
    }
    /* output rows per band: what NN_BAND_BYTES holds of a's rows (2 per
     * output row, and the halo), at least one; or what the caller asks */
    int64_t row_bytes = M * W * (int64_t)sizeof(float);
    int64_t rows = band_rows > 0 ? band_rows : (NN_BAND_BYTES / row_bytes - 1) / 2;
    if (rows < 1) rows = 1;
    if (rows > OH) rows = OH;
    /* banding a plane that fits the buffer whole gains nothing */
    if (band_rows <= 0 && rows == OH) return false;
    bd->C = C;
    bd->M = M;
    bd->H = H;
    bd->W = W;
    bd->OH = OH;
    bd->OW = OW;
    bd->rows = rows;
    bd->cap = 2 * rows + 1;
    bd->a_scratch = (a_scratch + 63) / 64 * 64;
    *scratch = bd->a_scratch + (size_t)(bd->cap * row_bytes);
    return true;
}

bool nn_band_run(const nn_band *bd, const nn_ctx *ca, const nn_ctx *cb)
{
    const int64_t M = bd->M, H = bd->H, W = bd->W, cap = bd->cap, ys = cap * W;
    const float *x = ca->in[0]->data, *wa = ca->in[1]->data, *wb = cb->in[1]->data;
    const float *ba = ca->nin > 2 && ca->in[2] ? ca->in[2]->data : NULL;
    const float *bb = cb->nin > 2 && cb->in[2] ? cb->in[2]->data : NULL;
    float *buf = (float *)((char *)ca->scratch + bd->a_scratch);
    nn_q8_pw q8;
    if (bd->form == NN_BAND_INT8 && !nn_q8_pw_begin(ca, &q8)) return false;
    /* a's rows [lo, hi) are in buf, row r of channel m at buf + m * ys + (r - lo) * W */
    int64_t lo = 0, hi = 0;
    for (int64_t o0 = 0; o0 < bd->OH; o0 += bd->rows) {
        int64_t o1 = o0 + bd->rows < bd->OH ? o0 + bd->rows : bd->OH;
        int64_t need_lo = 2 * o0 - 1 < 0 ? 0 : 2 * o0 - 1;
        int64_t need_hi = 2 * o1 < H ? 2 * o1 : H;
        if (need_lo < hi && need_lo > lo) /* the previous band's last row(s) */
            for (int64_t m = 0; m < M; m++)
                memmove(buf + m * ys, buf + m * ys + (need_lo - lo) * W,
                        (size_t)((hi - need_lo) * W) * sizeof(float));
        else if (need_lo >= hi)
            hi = need_lo;
        lo = need_lo;
        if (need_hi > hi) {
            int64_t p0 = hi * W, p1 = need_hi * W;
            float *dst = buf + (hi - lo) * W;
            switch (bd->form) {
            case NN_BAND_INT8:
                nn_q8_pw_pixels(ca, &q8, p0, p1, dst, ys);
                break;
            case NN_BAND_BF16:
                nn_bf16_pw_pixels(ca, p0, p1, dst, ys);
                break;
            case NN_BAND_GEMM: {
                nn_rows rows = {x + p0, bd->C, H * W};
                if (!nn_gemm_packed(ca->node, M, p1 - p0, bd->C, ca->node->wpack, nn_pack_b_rows,
                                    &rows, dst, ys, ba, NULL, ca->scratch))
                    return false;
                break;
            }
            default:
                if (!nn_conv1x1_regs(ca->node, x + p0, H * W, bd->C, p1 - p0, M, wa, dst, ys, ba,
                                     ca->scratch))
                    return false;
            }
            hi = need_hi;
        }
        nn_dw_rows r = {buf, ys, lo, M, H, W, bd->OH, bd->OW, o0, o1, false};
        if (!nn_dw3x3s2_rows(cb->node, &r, wb, bb, cb->out[0]->data)) return false;
    }
    return true;
}
