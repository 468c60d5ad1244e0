/*
 * band.c — a chain of convolutions ending in a 1x1 convolution and the
 * depthwise 3x3 stride-2 convolution that is its only reader, run as one
 * step in bands of output rows.
 *
 * The 1x1's output is the largest activation of the face networks (2.4 MiB
 * in fr_detect, 1.6-1.7 MiB in fr_feature and fr_liveness), larger than L2:
 * written whole, it goes out to L3 or memory and the depthwise conv reads
 * it back from there. Here the depthwise output is made a few rows at a
 * time: for each band, the 1x1 computes only the rows of its output the
 * band reads (with the one-row halo; the top and bottom padding are the
 * depthwise conv's) into a buffer that stays in L2, then the depthwise conv
 * writes the band's rows of the real output. Rows one band shares with the
 * next are kept (moved to the buffer's front), not computed twice. When the
 * 1x1's input comes from a depthwise 3x3 stride-1 conv that only it reads,
 * and that one's from a 1x1 or a 3x3 conv of few channels (fr_detect's
 * Conv_0 -> Conv_2 -> Conv_4 -> Conv_6), those run in the same bands, each
 * into a buffer of its own. The banded outputs get no buffer of their own
 * (plan.c). The buffers together take at most NN_BAND_BYTES (a pair) or
 * NN_BAND_CHAIN_BYTES.
 *
 * Bit for bit: every output is computed by the same kernel, with the same
 * arithmetic in the same order, as when the convolutions run one after the
 * other; only which pixels a kernel call covers changes. A 1x1 runs in the
 * form run_conv would pick (int8, bf16, the float register kernel or the
 * packed GEMM), the depthwise convs and the 3x3 in the row kernels run_conv
 * picks for these shapes; a level either would run otherwise is not banded
 * (nn_band_plan). Only the AVX-512 path bands; the reference path never does
 * (plan.c).
 */
#include <string.h>

#include "nn_internal.h"

/* The most the band buffers may take together: a quarter of this
 * machine's L2 for one buffer, leaving room for the rows of the input the
 * 1x1 reads and of the output the depthwise conv writes; half of it for a
 * chain of three (whose bands would otherwise be two rows high, and the
 * kernels' set-up per band, the 3x3's weights packed again, cost what the
 * buffers save). Measured with bench/band_ab.c: a pair's nodes 0.87-0.93
 * of unbanded with 256 KiB, 0.98-1.00 with 768 KiB and 1 MiB; fr_detect's
 * chains' 1.00 with 256 KiB, 0.90-0.92 with 512 KiB to 1 MiB. */
#define NN_BAND_BYTES       (256 * 1024)
#define NN_BAND_CHAIN_BYTES (512 * 1024)

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

/* Level l as node n (c: its call as planned) would run in the chain, or
 * false: what run_conv would pick must be a kernel with a row form. `first`:
 * the level reads a whole tensor (int8 and the 3x3 need that). Sets the
 * kind, form, geometry and *ks, the scratch its kernel needs. */
static bool level_of(const nn_model *m, const nn_node *n, nn_ctx *c, bool last, bool first,
                     nn_band_level *l, size_t *ks)
{
    const nn_shape *wt = const_weights(m, n), *xs = &c->in[0]->shape, *ys = &c->out[0]->shape;
    if (!plain_conv(m, n) || !wt || xs->ndim != 4 || xs->d[0] != 1 || ys->ndim != 4) return false;
    const nn_window *w = &n->win;
    memset(l, 0, sizeof *l);
    l->C = xs->d[1];
    l->H = xs->d[2];
    l->W = xs->d[3];
    l->M = ys->d[1];
    l->OH = ys->d[2];
    l->OW = ys->d[3];
    bool pads1 = w->pads[0] == 1 && w->pads[1] == 1;
    bool dw3 = wt->d[0] == l->M && wt->d[1] == 1 && wt->d[2] == 3 && wt->d[3] == 3 &&
               w->group == l->M && l->M == l->C && w->dh == 1 && w->dw == 1 && pads1;
    *ks = 0;
    if (last) {
        /* depthwise 3x3 stride 2, the row kernel */
        l->kind = NN_BAND_DW2;
        return dw3 && w->sh == 2 && w->sw == 2 &&
               !nn_dw3x3s2_narrow_takes(l->H, l->W, l->OH, l->OW) &&
               nn_dw3x3s2_rows_takes(l->H, l->W, l->OH, l->OW);
    }
    if (dw3 && w->sh == 1 && w->sw == 1) {
        /* stride 1, same size: nn_dw3x3_flat's rows of whole 16-lane blocks
         * (the narrow kernels take planes at most 32 wide) */
        l->kind = NN_BAND_DW1;
        return w->pads[2] == 1 && w->pads[3] == 1 && nn_dw3x3s1_rows_takes(l->W) && l->W > 32 &&
               l->H * l->W <= 32768;
    }
    if (w->group != 1 || wt->d[1] != l->C) return false;
    if (wt->d[2] == 3 && wt->d[3] == 3) {
        if (c->int8 && n->q8) return false; /* an int8 3x3 is not banded */
        /* run_conv's nn_conv3x3_regs: at most 16 input channels (one goes to
         * nn_conv1ch_flat), output rows of 8 or more; stride 2 only here */
        l->kind = NN_BAND_C3;
        *ks = nn_conv3x3_regs_scratch(l->C);
        return first && l->C >= 2 && l->C <= 16 && l->OW >= 8 && w->sh == 2 && w->sw == 2 &&
               w->dh == 1 && w->dw == 1;
    }
    /* a 1x1, stride 1, no pads (C = M = 1 runs as depthwise) */
    l->kind = NN_BAND_PW;
    if (wt->d[2] != 1 || wt->d[3] != 1 || w->sh != 1 || w->sw != 1 || w->pads[0] || w->pads[1] ||
        w->pads[2] || w->pads[3] || (l->C == 1 && l->M == 1))
        return false;
    int64_t C = l->C, M = l->M, plane = l->H * l->W;
    /* the form, in run_conv's order: int8, bf16, float */
    if (c->int8 && n->q8) {
        l->form = NN_BAND_INT8; /* its whole input is quantised first */
        *ks = nn_q8_scratch(n, l->H, l->W);
        return first;
    }
    if (c->bf16 && n->bf16 && nn_bf16_pw_applies(c)) {
        l->form = NN_BAND_BF16;
        *ks = nn_bf16_scratch(n, l->H, l->W);
        return true;
    }
    if (plane >= 64 && C <= 32 && !(C > 16 && M > 32)) {
        l->form = NN_BAND_FLOAT; /* run_conv's nn_conv1x1_regs */
        *ks = nn_conv1x1_regs_scratch(C);
        return true;
    }
    /* the packed GEMM (conv_fast; the tiny kernels take planes of at most
     * 32 pixels): each output one FMA chain over the channels from the
     * bias, the same in a full, a narrow or a packed panel */
    l->form = NN_BAND_GEMM;
    *ks = (size_t)(C * NN_GEMM_NR) * sizeof(float);
    return n->wpack && plane > 32;
}

/* The rows [*lo, *hi) of level l's input that its output rows [lo, hi)
 * read (clipped to the input). */
static void input_rows(const nn_band_level *l, int64_t *lo, int64_t *hi)
{
    int64_t a = *lo, b = *hi;
    switch (l->kind) {
    case NN_BAND_DW1:
        a -= 1, b += 1;
        break;
    case NN_BAND_DW2:
        a = 2 * a - 1, b = 2 * b;
        break;
    default:
        break;
    }
    *lo = a < 0 ? 0 : a;
    *hi = b > l->H ? l->H : b;
}

/* The rows each level's output must hold for the band of final rows
 * [o0, o1): need[i] = [lo, hi) of level i's output. */
static void band_needs(const nn_band *bd, int64_t o0, int64_t o1, int64_t need[][2])
{
    need[bd->n - 1][0] = o0;
    need[bd->n - 1][1] = o1;
    for (int i = bd->n - 1; i > 0; i--) {
        need[i - 1][0] = need[i][0];
        need[i - 1][1] = need[i][1];
        input_rows(&bd->l[i], &need[i - 1][0], &need[i - 1][1]);
    }
}

/* The buffers' rows for bands of `rows` output rows, and their bytes. */
static size_t band_caps(nn_band *bd, int64_t rows)
{
    const nn_band_level *last = &bd->l[bd->n - 1];
    for (int i = 0; i < bd->n - 1; i++) bd->l[i].cap = 0;
    for (int64_t o0 = 0; o0 < last->OH; o0 += rows) {
        int64_t need[NN_BAND_MAX][2];
        band_needs(bd, o0, o0 + rows < last->OH ? o0 + rows : last->OH, need);
        for (int i = 0; i < bd->n - 1; i++)
            if (need[i][1] - need[i][0] > bd->l[i].cap) bd->l[i].cap = need[i][1] - need[i][0];
    }
    size_t bytes = 0;
    for (int i = 0; i < bd->n - 1; i++)
        bytes += (size_t)(bd->l[i].cap * bd->l[i].M * bd->l[i].OW) * sizeof(float);
    return bytes;
}

int nn_band_plan(const nn_model *m, const nn_node *const *nodes, nn_ctx *const *calls, int n,
                 int band_rows, nn_band *bd, size_t *scratch)
{
    memset(bd, 0, sizeof *bd);
    if (!nn_cpu_features().avx512 || n < 2 || n > NN_BAND_MAX) return 0;
    /* each node as the chain's first level (reading a whole tensor) and as
     * a later one (reading a band buffer); the longest chain that ends in
     * the last node, in the order DW2 <- PW <- DW1 <- (PW | C3) */
    static const nn_band_kind want[NN_BAND_MAX] = {NN_BAND_DW2, NN_BAND_PW, NN_BAND_DW1,
                                                   NN_BAND_PW};
    nn_band_level first[NN_BAND_MAX], inner[NN_BAND_MAX];
    size_t ks_first[NN_BAND_MAX], ks_inner[NN_BAND_MAX];
    bool first_ok[NN_BAND_MAX], inner_ok[NN_BAND_MAX];
    for (int i = 0; i < n; i++) {
        int lv = n - 1 - i;
        first_ok[i] = level_of(m, nodes[i], calls[i], lv == 0, true, &first[i], &ks_first[i]) &&
                      (first[i].kind == want[lv] || (lv == 3 && first[i].kind == NN_BAND_C3));
        inner_ok[i] = level_of(m, nodes[i], calls[i], lv == 0, false, &inner[i], &ks_inner[i]) &&
                      inner[i].kind == want[lv];
    }
    /* with bands sized for L2, a level before the pair joins only when its
     * output is past what the buffers may take (fr_liveness's 512 KiB
     * planes of 64x64 stay in L2 whole: banded too, the network measured
     * 0-3% slower); with the height given (tests), whenever it can */
    int k = 0;
    for (int len = 2; len <= n; len++) {
        bool ok = first_ok[n - len];
        for (int i = n - len + 1; i < n && ok; i++) ok = inner_ok[i];
        for (int i = n - len; i < n - 2 && ok && band_rows <= 0; i++)
            ok = (size_t)(first[i].M * first[i].OH * first[i].OW) * sizeof(float) >
                 NN_BAND_CHAIN_BYTES;
        if (ok) k = len;
    }
    if (k < 2) return 0;
    size_t ks[NN_BAND_MAX];
    for (int i = 0; i < k; i++) {
        int src = n - k + i;
        bd->l[i] = i == 0 ? first[src] : inner[src];
        ks[i] = i == 0 ? ks_first[src] : ks_inner[src];
    }
    bd->n = k;
    /* output rows per band: the most NN_BAND_BYTES holds, at least one; or
     * what the caller asks */
    int64_t OH = bd->l[k - 1].OH, rows = 1;
    if (band_rows > 0)
        rows = band_rows < OH ? band_rows : OH;
    else
        while (rows < OH &&
               band_caps(bd, rows + 1) <= (size_t)(k > 2 ? NN_BAND_CHAIN_BYTES : NN_BAND_BYTES))
            rows++;
    /* banding a plane whose buffers fit whole gains nothing */
    if (band_rows <= 0 && rows >= OH) return 0;
    bd->rows = rows;
    band_caps(bd, rows);
    /* each level's kernel scratch (int8 keeps its quantised input in its
     * own through every band), then the buffers */
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        bd->l[i].ks = off;
        off += (ks[i] + 63) / 64 * 64;
    }
    for (int i = 0; i < k - 1; i++) {
        bd->l[i].buf = off;
        off += ((size_t)(bd->l[i].cap * bd->l[i].M * bd->l[i].OW) * sizeof(float) + 63) / 64 * 64;
    }
    *scratch = off;
    return k;
}

/* Level i's new output rows [a, b) (the band buffer holds its rows from lo
 * on), from its input: the whole tensor x for the first level, else the
 * previous level's buffer (rows from in_lo on). */
static bool level_rows(const nn_band *bd, int i, const nn_ctx *c, const float *in, int64_t xs,
                       int64_t in_lo, float *buf, int64_t lo, int64_t a, int64_t b,
                       const nn_q8_pw *q8)
{
    const nn_band_level *l = &bd->l[i];
    const nn_node *n = c->node;
    const float *w = c->in[1]->data, *bias = c->nin > 2 && c->in[2] ? c->in[2]->data : NULL;
    void *scratch = (char *)c->scratch + l->ks;
    int64_t ys = l->cap * l->OW;
    float *dst = buf + (a - lo) * l->OW;
    nn_ctx kc = *c;
    kc.scratch = scratch;
    switch (l->kind) {
    case NN_BAND_DW1: {
        nn_dw_rows r = {in, xs, in_lo, l->C, l->H, l->W, l->OH, l->OW, a, b, false, ys, lo};
        return nn_dw3x3s1_rows(n, &r, w, bias, buf);
    }
    case NN_BAND_C3: {
        const nn_window *g = &n->win;
        nn_im2col ia = {in, l->C, l->H,       l->W,       3,     3,          g->sh,     g->sw,
                        1,  1,    g->pads[0], g->pads[1], l->OW, g->pads[2], g->pads[3]};
        return nn_conv3x3_regs_rows(n, &ia, l->M, l->OH, w, dst, ys, a, b, bias, scratch);
    }
    default:
        break;
    }
    const float *x = in + (a - in_lo) * l->W;
    int64_t np = (b - a) * l->W;
    switch (l->form) {
    case NN_BAND_INT8:
        nn_q8_pw_pixels(&kc, q8, a * l->W, b * l->W, dst, ys);
        return true;
    case NN_BAND_BF16:
        nn_bf16_pw_pixels(&kc, x, xs, np, dst, ys);
        return true;
    case NN_BAND_GEMM: {
        nn_rows rows = {x, l->C, xs};
        return nn_gemm_packed(n, l->M, np, l->C, n->wpack, nn_pack_b_rows, &rows, dst, ys, bias,
                              NULL, scratch);
    }
    default:
        return nn_conv1x1_regs(n, x, xs, l->C, np, l->M, w, dst, ys, bias, scratch);
    }
}

bool nn_band_run(const nn_band *bd, const nn_ctx *const *calls)
{
    const int k = bd->n;
    const nn_band_level *last = &bd->l[k - 1];
    nn_q8_pw q8;
    if (bd->l[0].form == NN_BAND_INT8 && bd->l[0].kind == NN_BAND_PW) {
        nn_ctx kc = *calls[0];
        kc.scratch = (char *)kc.scratch + bd->l[0].ks;
        if (!nn_q8_pw_begin(&kc, &q8)) return false;
    }
    /* level i's rows [lo[i], hi[i]) are in its buffer, row r of channel m
     * at buf[i] + m * cap * OW + (r - lo[i]) * OW */
    float *buf[NN_BAND_MAX];
    int64_t lo[NN_BAND_MAX] = {0}, hi[NN_BAND_MAX] = {0};
    for (int i = 0; i < k - 1; i++) buf[i] = (float *)((char *)calls[0]->scratch + bd->l[i].buf);
    for (int64_t o0 = 0; o0 < last->OH; o0 += bd->rows) {
        int64_t o1 = o0 + bd->rows < last->OH ? o0 + bd->rows : last->OH;
        int64_t need[NN_BAND_MAX][2];
        band_needs(bd, o0, o1, need);
        for (int i = 0; i < k - 1; i++) {
            const nn_band_level *l = &bd->l[i];
            int64_t ys = l->cap * l->OW, nlo = need[i][0], nhi = need[i][1];
            if (nlo < hi[i] && nlo > lo[i]) /* the rows the last band shares with this one */
                for (int64_t m = 0; m < l->M; m++)
                    memmove(buf[i] + m * ys, buf[i] + m * ys + (nlo - lo[i]) * l->OW,
                            (size_t)((hi[i] - nlo) * l->OW) * sizeof(float));
            else if (nlo >= hi[i])
                hi[i] = nlo;
            lo[i] = nlo;
            if (nhi <= hi[i]) continue;
            const float *in = i ? buf[i - 1] : calls[0]->in[0]->data;
            int64_t xs = i ? bd->l[i - 1].cap * bd->l[i - 1].OW : l->H * l->W;
            if (!level_rows(bd, i, calls[i], in, xs, i ? lo[i - 1] : 0, buf[i], lo[i], hi[i], nhi,
                            &q8))
                return false;
            hi[i] = nhi;
        }
        const nn_band_level *p = &bd->l[k - 2];
        nn_dw_rows r = {buf[k - 2], p->cap * p->OW, lo[k - 2], last->C, last->H, last->W,
                        last->OH,   last->OW,       o0,        o1,      false,   0,
                        0};
        const nn_ctx *c = calls[k - 1];
        if (!nn_dw3x3s2_rows(c->node, &r, c->in[1]->data,
                             c->nin > 2 && c->in[2] ? c->in[2]->data : NULL, c->out[0]->data))
            return false;
    }
    return true;
}
