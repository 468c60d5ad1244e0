/*
 * direct.c — 3x3 convolutions with few input channels (at most 16) computed
 * directly, every output channel of a block of 16 kept in a register: the
 * first layer of a network (1 or 3 channels, where im2col + GEMM has a depth
 * of only 9 or 27) and the narrow context layers of a detector's heads
 * (dilated or not). For each row chunk of 16 output pixels, the three taps
 * of every input row are loaded once (masked at the image border; stride 2
 * picks even and odd columns with two permutes) and each feeds one FMA per
 * output channel with the weight broadcast from a small packed copy. 1x1
 * convolutions with few input channels (a detector's wide early layers,
 * where the GEMM's packing and depth-16 panels cost more than the products)
 * run 8 output channels x 32 pixels at a time (pw8x2_body). Same-size stride-1
 * layers whose rows are not whole 16-pixel blocks walk the plane as flat
 * blocks across rows instead. The end of the file handles planes of at most
 * 32 pixels.
 */
#include <string.h>

#include "kernels.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define REGS_MAX_C 16

size_t nn_conv3x3_regs_scratch(int64_t C)
{
    return (size_t)(C * 9 * 16 + 16) * sizeof(float);
}

#if defined(__x86_64__)
__attribute__((always_inline, target("avx512f"))) static inline void
regs_chunk(const nn_im2col *a, int64_t oy, int64_t ox, const float *wp, int MB, __m512 *acc)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int64_t s = a->sh, d = a->dh, W = a->W, start = ox * s - a->pl;
    bool inside = start >= 0 && start + (s == 1 ? 16 + 2 * d : 34) <= W;
    for (int64_t c = 0; c < a->C; c++)
        for (int dy = 0; dy < 3; dy++) {
            int64_t iy = oy * s - a->pt + dy * d;
            if (iy < 0 || iy >= a->H) continue;
            const float *p = a->x + (c * a->H + iy) * W + start;
            __m512 t[3];
            if (s == 1) {
                if (inside) {
                    t[0] = _mm512_loadu_ps(p);
                    t[1] = _mm512_loadu_ps(p + d);
                    t[2] = _mm512_loadu_ps(p + 2 * d);
                } else {
                    t[0] = _mm512_maskz_loadu_ps(nn_lanes_inside(start, W), p);
                    t[1] = _mm512_maskz_loadu_ps(nn_lanes_inside(start + d, W), p + d);
                    t[2] = _mm512_maskz_loadu_ps(nn_lanes_inside(start + 2 * d, W), p + 2 * d);
                }
            } else {
                __m512 l0, l1, l2, l3;
                if (inside) {
                    l0 = _mm512_loadu_ps(p);
                    l1 = _mm512_loadu_ps(p + 16);
                    l2 = _mm512_loadu_ps(p + 2);
                    l3 = _mm512_loadu_ps(p + 18);
                } else {
                    l0 = _mm512_maskz_loadu_ps(nn_lanes_inside(start, W), p);
                    l1 = _mm512_maskz_loadu_ps(nn_lanes_inside(start + 16, W), p + 16);
                    l2 = _mm512_maskz_loadu_ps(nn_lanes_inside(start + 2, W), p + 2);
                    l3 = _mm512_maskz_loadu_ps(nn_lanes_inside(start + 18, W), p + 18);
                }
                t[0] = _mm512_permutex2var_ps(l0, even, l1);
                t[1] = _mm512_permutex2var_ps(l0, odd, l1);
                t[2] = _mm512_permutex2var_ps(l2, even, l3);
            }
            const float *wr = wp + (c * 9 + dy * 3) * MB;
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++)
                acc[m] = _mm512_fmadd_ps(t[0], _mm512_set1_ps(wr[m]), acc[m]);
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++)
                acc[m] = _mm512_fmadd_ps(t[1], _mm512_set1_ps(wr[MB + m]), acc[m]);
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++)
                acc[m] = _mm512_fmadd_ps(t[2], _mm512_set1_ps(wr[2 * MB + m]), acc[m]);
        }
}

__attribute__((always_inline, target("avx512f"))) static inline void
regs_block(const nn_node *n, const nn_im2col *a, int64_t OH, const float *wp, const float *bp,
           int MB, int64_t m0, int64_t mcount, float *y, int64_t ys, int64_t oy0, int64_t oy1,
           const int act)
{
    const __m512 lo = _mm512_set1_ps(n->act_a), hi = _mm512_set1_ps(n->act_b);
    /* locals: the output stores cannot alias them, so they stay in registers */
    const nn_im2col g = *a;
    const int nact = n->act; /* the slope's kind: act is PReLU's form for LeakyReLU too */
    const float *slope = n->act_slope;
    const float leaky = n->act_a;
    const int64_t nslope = n->act_slope_n;
    int64_t OW = g.OW, plane = ys; /* output channels ys apart */
    /* only inputs that live in L3 (and once, for the first block of
     * output channels); small ones would pay for nothing */
    bool prefetch = m0 == 0 && g.C * g.H * g.W * (int64_t)sizeof(float) > (1 << 19);
    /* output rows [oy0, oy1), row oy at y + (oy - oy0) * OW */
    for (int64_t oy = oy0; oy < oy1; oy++)
        for (int64_t ox = 0; ox < OW; ox += 16) {
            __m512 acc[16];
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++) acc[m] = _mm512_set1_ps(bp[m]);
            if (prefetch && oy + 1 < OH) {
                /* the rows the next output row adds, ahead of use: with 3
                 * rows x C channels read at once the hardware prefetchers
                 * lag (Conv_0 of fr_detect: 0.32 -> 0.24 ms while another
                 * process streams through the shared L3) */
                int64_t st = ox * g.sh - g.pl, span = (g.sh == 1 ? 16 + 2 * g.dh : 34);
                if (st < 0) st = 0;
                for (int64_t c = 0; c < g.C; c++)
                    for (int dy = 0; dy < 3; dy++) {
                        int64_t iy = (oy + 1) * g.sh - g.pt + dy * g.dh;
                        if (iy <= oy * g.sh - g.pt + 2 * g.dh || iy >= g.H) continue;
                        const char *pp = (const char *)(g.x + (c * g.H + iy) * g.W + st);
                        for (int64_t b = 0; b < span * 4; b += 64)
                            _mm_prefetch(pp + b, _MM_HINT_T0);
                    }
            }
            regs_chunk(&g, oy, ox, wp, MB, acc);
            int64_t left = OW - ox;
            __mmask16 mk = nn_lanes_below(left);
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++) {
                if (m >= mcount) break;
                float sl = epi_slope(nact, leaky, slope, nslope, m0 + m);
                __m512 v = epi_avx512(act, acc[m], _mm512_set1_ps(sl), lo, hi);
                float *dst = y + (m0 + m) * plane + (oy - oy0) * OW + ox;
                _mm512_mask_storeu_ps(dst, mk, v);
            }
        }
}

/* Stride 1 with the output the size of the input (pads of d around a
 * dilated 3x3): the plane is walked as one flat array of 16-pixel blocks,
 * which may straddle rows, so rows whose width is not a multiple of 16
 * (a detector's 30x40 context layers: blocks of 16 + 16 + 8) waste no
 * lanes. Tap (dy, dx) of a block is then one load at a fixed offset, masked
 * to the lanes whose shifted row and column fall inside the image; the
 * masks are built once per block, the loads are few next to the FMAs. */
__attribute__((always_inline, target("avx512f"))) static inline void
regs_flat(const nn_node *n, const nn_im2col *a, const float *wp, const float *bp, int MB,
          int64_t m0, int64_t mcount, float *y, const int act)
{
    const __m512 lo = _mm512_set1_ps(n->act_a), hi = _mm512_set1_ps(n->act_b);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const nn_im2col g = *a;
    const int nact = n->act; /* the slope's kind: act is PReLU's form for LeakyReLU too */
    const float *slope = n->act_slope;
    const float leaky = n->act_a;
    const int64_t nslope = n->act_slope_n;
    int64_t H = g.H, W = g.W, d = g.dh, plane = H * W;
    int64_t off[9];
    for (int t = 0; t < 9; t++) off[t] = ((t / 3) * d - g.pt) * W + (t % 3) * d - g.pl;
    const __m512 rW = _mm512_set1_ps(1.0f / (float)W), half = _mm512_set1_ps(0.5f);
    for (int64_t q0 = 0; q0 < plane; q0 += 16) {
        /* lane i: pixel q0 + i at row oy, column ox (the float quotient is
         * exact for planes this small) */
        __m512i q = _mm512_add_epi32(_mm512_set1_epi32((int)q0), iota);
        __m512i oy =
            _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(q), half), rW));
        __m512i ox = _mm512_sub_epi32(q, _mm512_mullo_epi32(oy, _mm512_set1_epi32((int)W)));
        __mmask16 in = _mm512_cmplt_epi32_mask(q, _mm512_set1_epi32((int)plane));
        __mmask16 rowok[3], colok[3], mk[9];
        for (int k = 0; k < 3; k++) {
            __m512i iy = _mm512_add_epi32(oy, _mm512_set1_epi32((int)(k * d - g.pt)));
            __m512i ix = _mm512_add_epi32(ox, _mm512_set1_epi32((int)(k * d - g.pl)));
            rowok[k] = _mm512_mask_cmplt_epi32_mask(
                _mm512_mask_cmpge_epi32_mask(in, iy, _mm512_setzero_si512()), iy,
                _mm512_set1_epi32((int)H));
            colok[k] = _mm512_mask_cmplt_epi32_mask(
                _mm512_cmpge_epi32_mask(ix, _mm512_setzero_si512()), ix, _mm512_set1_epi32((int)W));
        }
        for (int t = 0; t < 9; t++) mk[t] = rowok[t / 3] & colok[t % 3];
        __m512 acc[16];
#pragma GCC unroll 16
        for (int m = 0; m < MB; m++) acc[m] = _mm512_set1_ps(bp[m]);
        for (int64_t c = 0; c < g.C; c++) {
            const float *xc = g.x + c * plane + q0;
            const float *wc = wp + c * 9 * MB;
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++) {
                __m512 v = _mm512_maskz_loadu_ps(mk[t], xc + off[t]);
#pragma GCC unroll 16
                for (int m = 0; m < MB; m++)
                    acc[m] = _mm512_fmadd_ps(v, _mm512_set1_ps(wc[t * MB + m]), acc[m]);
            }
        }
        int64_t left = plane - q0;
#pragma GCC unroll 16
        for (int m = 0; m < MB; m++) {
            if (m >= mcount) break;
            float sl = epi_slope(nact, leaky, slope, nslope, m0 + m);
            __m512 v = epi_avx512(act, acc[m], _mm512_set1_ps(sl), lo, hi);
            if (left >= 16)
                _mm512_storeu_ps(y + (m0 + m) * plane + q0, v);
            else
                _mm512_mask_storeu_ps(y + (m0 + m) * plane + q0, in, v);
        }
    }
}

#define REGS_FLAT(NAME, MB)                                                                        \
    __attribute__((target("avx512f"))) static void NAME(const nn_node *n, const nn_im2col *a,      \
                                                        const float *wp, const float *bp,          \
                                                        int64_t m0, int64_t mcount, float *y)      \
    {                                                                                              \
        NN_PER_ACT(n->act, regs_flat(n, a, wp, bp, MB, m0, mcount, y, ACT));                       \
    }
REGS_FLAT(regs_flat8, 8)
REGS_FLAT(regs_flat12, 12)
REGS_FLAT(regs_flat16, 16)

#define REGS_BLOCK(NAME, MB)                                                                       \
    __attribute__((target("avx512f"))) static void NAME(                                           \
        const nn_node *n, const nn_im2col *a, int64_t OH, const float *wp, const float *bp,        \
        int64_t m0, int64_t mcount, float *y, int64_t ys, int64_t oy0, int64_t oy1)                \
    {                                                                                              \
        NN_PER_ACT(n->act, regs_block(n, a, OH, wp, bp, MB, m0, mcount, y, ys, oy0, oy1, ACT));    \
    }
REGS_BLOCK(regs_block8, 8)
REGS_BLOCK(regs_block16, 16)
#endif

bool nn_conv3x3_regs(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, const float *w,
                     float *y, const float *bias, void *scratch)
{
    return nn_conv3x3_regs_rows(n, a, M, OH, w, y, OH * a->OW, 0, OH, bias, scratch);
}

bool nn_conv3x3_regs_rows(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH,
                          const float *w, float *y, int64_t ys, int64_t oy0, int64_t oy1,
                          const float *bias, void *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH)
        return false;
    if (a->KH != 3 || a->KW != 3 || a->C > REGS_MAX_C || a->sh != a->sw || a->dh != a->dw)
        return false;
    if (!(a->sh == 1 || (a->sh == 2 && a->dh == 1)) || a->dh > 8) return false;
    float *wp = scratch, *bp = wp + a->C * 9 * 16;
    /* same-size stride 1 on rows that are not a whole number of blocks:
     * flat blocks (planes small enough for the float row quotient) */
    bool flat = a->sh == 1 && OH == a->H && a->OW == a->W && a->W % 16 != 0 && a->H * a->W <= 32768;
    if (flat && (oy0 != 0 || oy1 != OH || ys != OH * a->OW)) return false; /* whole planes only */
    for (int64_t m0 = 0; m0 < M; m0 += 16) {
        int64_t mc = M - m0 < 16 ? M - m0 : 16;
        int MB = mc <= 8 ? 8 : flat && mc <= 12 ? 12 : 16;
        /* weights of this block as [c][tap][MB], zero past M */
        for (int64_t c = 0; c < a->C; c++)
            for (int t = 0; t < 9; t++)
                for (int m = 0; m < MB; m++)
                    wp[(c * 9 + t) * MB + m] = m < mc ? w[((m0 + m) * a->C + c) * 9 + t] : 0.0f;
        for (int m = 0; m < MB; m++) bp[m] = m < mc && bias ? bias[m0 + m] : 0.0f;
        if (flat)
            (MB == 8 ? regs_flat8 : MB == 12 ? regs_flat12 : regs_flat16)(n, a, wp, bp, m0, mc, y);
        else if (MB == 8)
            regs_block8(n, a, OH, wp, bp, m0, mc, y, ys, oy0, oy1);
        else
            regs_block16(n, a, OH, wp, bp, m0, mc, y, ys, oy0, oy1);
    }
    return true;
#else
    (void)n, (void)a, (void)M, (void)OH, (void)w, (void)y, (void)ys, (void)oy0, (void)oy1,
        (void)bias, (void)scratch;
    return false;
#endif
}

size_t nn_conv1x1_regs_scratch(int64_t C)
{
    return (size_t)(C * 16 + 16) * sizeof(float);
}

#if defined(__x86_64__)
/* 1x1 with few input channels, 8 output channels x 32 pixels at a time:
 * each weight is broadcast into a register once and feeds two pixel
 * vectors, so a step over one input channel is two loads, eight broadcasts
 * and sixteen FMAs (the 16-channel blocks above broadcast every weight for
 * one FMA: as many loads as FMAs). Each output is still its bias plus the
 * channels' products in channel order, so the bits are those of regs_pw.
 * wp: [M/8 blocks][C][8] weights (zero past M), bp: [M/8 blocks][8];
 * output channel m is channel mbase + m of the node (its PReLU slope). */
__attribute__((always_inline, target("avx512f"))) static inline void
pw8x2_body(const nn_node *n, const float *x, int64_t xs, int64_t C, int64_t np, int64_t M,
           const float *wp, const float *bp, float *y, int64_t ys, int64_t mbase, const int act)
{
    const __m512 lo = _mm512_set1_ps(n->act_a), hi = _mm512_set1_ps(n->act_b);
    for (int64_t m0 = 0; m0 < M; m0 += 8) {
        const float *wb = wp + (m0 / 8) * C * 8, *bb = bp + m0;
        int64_t mc = M - m0 < 8 ? M - m0 : 8;
        __m512 vs[8];
        for (int m = 0; m < 8; m++)
            vs[m] = _mm512_set1_ps(m < mc ? epi_node_slope(n, mbase + m0 + m) : 0.0f);
        for (int64_t p = 0; p < np; p += 32) {
            int64_t left = np - p;
            __mmask16 k0 = nn_lanes_below(left), k1 = nn_lanes_below(left - 16);
            bool full = left >= 32;
            __m512 a0[8], a1[8];
#pragma GCC unroll 8
            for (int m = 0; m < 8; m++) a0[m] = a1[m] = _mm512_set1_ps(bb[m]);
            for (int64_t c = 0; c < C; c++) {
                const float *xc = x + c * xs + p;
                __m512 x0 = full ? _mm512_loadu_ps(xc) : _mm512_maskz_loadu_ps(k0, xc);
                __m512 x1 = full ? _mm512_loadu_ps(xc + 16) : _mm512_maskz_loadu_ps(k1, xc + 16);
#pragma GCC unroll 8
                for (int m = 0; m < 8; m++) {
                    __m512 wv = _mm512_set1_ps(wb[c * 8 + m]);
                    a0[m] = _mm512_fmadd_ps(x0, wv, a0[m]);
                    a1[m] = _mm512_fmadd_ps(x1, wv, a1[m]);
                }
            }
#pragma GCC unroll 8
            for (int m = 0; m < 8; m++) {
                if (m >= mc) break;
                float *dst = y + (m0 + m) * ys + p;
                __m512 v0 = epi_avx512(act, a0[m], vs[m], lo, hi);
                __m512 v1 = epi_avx512(act, a1[m], vs[m], lo, hi);
                if (full) {
                    _mm512_storeu_ps(dst, v0);
                    _mm512_storeu_ps(dst + 16, v1);
                } else {
                    _mm512_mask_storeu_ps(dst, k0, v0);
                    _mm512_mask_storeu_ps(dst + 16, k1, v1);
                }
            }
        }
    }
}

__attribute__((target("avx512f"))) static void
pw8x2_avx512(const nn_node *n, const float *x, int64_t xs, int64_t C, int64_t np, int64_t M,
             const float *wp, const float *bp, float *y, int64_t ys, int64_t mbase)
{
    NN_PER_ACT(n->act, pw8x2_body(n, x, xs, C, np, M, wp, bp, y, ys, mbase, ACT));
}
#endif

bool nn_conv1x1_regs(const nn_node *n, const float *x, int64_t xs, int64_t C, int64_t np, int64_t M,
                     const float *w, float *y, int64_t ys, const float *bias, void *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH ||
        C > 32 || (C > 16 && M > 32))
        return false; /* past that the packed GEMM does as well */
    /* 16 output channels at a time, as two blocks of 8 (pw8x2_body):
     * weights [2][C][8], then 16 biases, in the scratch's C * 16 + 16 */
    float *wp = scratch, *bp = wp + C * 16;
    for (int64_t m0 = 0; m0 < M; m0 += 16) {
        int64_t mc = M - m0 < 16 ? M - m0 : 16;
        for (int blk = 0; blk < 2; blk++)
            for (int64_t c = 0; c < C; c++)
                for (int m = 0; m < 8; m++) {
                    int64_t mm = blk * 8 + m;
                    wp[(blk * C + c) * 8 + m] = mm < mc ? w[(m0 + mm) * C + c] : 0.0f;
                }
        for (int m = 0; m < 16; m++) bp[m] = m < mc && bias ? bias[m0 + m] : 0.0f;
        pw8x2_avx512(n, x, xs, C, np, mc, wp, bp, y + m0 * ys, ys, m0);
    }
    return true;
#else
    (void)n, (void)x, (void)xs, (void)C, (void)np, (void)M, (void)w, (void)y, (void)ys, (void)bias,
        (void)scratch;
    return false;
#endif
}

/* ---- convolutions on planes of at most 16 (and 32) pixels -----------------
 * The last layers of eye networks work on 3x3 or 2x2 planes. Each input
 * channel is one register; every kernel tap of it is a lane permutation of
 * that register (zero where the tap falls in the padding), which builds the
 * im2col rows [K][16] with no scalar code. The products then run with the
 * output channels across the lanes: 16 channels of the load-time packed
 * weights (two 8-row panels) times one broadcast pixel per accumulator, one
 * accumulator per output pixel, so the work is M * K * P / 16 FMAs with
 * P = 4 or 9 output pixels (at 16 the GEMM does as well). Bias and
 * activation are per lane; the [pixel][channel] block is transposed on the
 * way out. */

#if defined(__x86_64__)
__attribute__((always_inline, target("avx512f"))) static inline void
tiny_block(const float *panel, const float *wpack, int64_t K, int64_t mb, int64_t M, int P,
           __m512 *acc)
{
    const float *w0 = wpack + (mb / 8) * 8 * K, *w1 = w0 + 8 * K;
    bool two = mb + 8 < M;
#pragma GCC unroll 16
    for (int p = 0; p < P; p++) acc[p] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m256 lo = _mm256_loadu_ps(w0 + k * 8);
        __m512 wv = two ? _mm512_castpd_ps(
                              _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                                                 _mm256_castps_pd(_mm256_loadu_ps(w1 + k * 8)), 1))
                        : _mm512_zextps256_ps512(lo);
        const float *pk = panel + k * 16;
#pragma GCC unroll 16
        for (int p = 0; p < P; p++) acc[p] = _mm512_fmadd_ps(wv, _mm512_set1_ps(pk[p]), acc[p]);
    }
}

__attribute__((always_inline, target("avx512f"))) static inline void
tiny_run(const nn_node *n, int64_t M, int64_t K, int64_t N, const float *panel, float *y,
         const float *bias, float *tmp, int P)
{
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(n->act_a),
                 hi = _mm512_set1_ps(n->act_b);
    for (int64_t mb = 0; mb < M; mb += 16) {
        int64_t mc = M - mb < 16 ? M - mb : 16;
        __mmask16 mk = (__mmask16)(mc == 16 ? 0xffff : (1u << mc) - 1);
        __m512 acc[16];
        tiny_block(panel, n->wpack, K, mb, M, P, acc);
        __m512 vb = bias ? _mm512_maskz_loadu_ps(mk, bias + mb) : zero;
        __m512 vs = epi_slope_lanes(n, mk, mb);
#pragma GCC unroll 16
        for (int p = 0; p < P; p++) {
            __m512 v = _mm512_add_ps(acc[p], vb);
            v = epi_avx512(n->act, v, vs, lo, hi);
            _mm512_storeu_ps(tmp + p * 16, v);
        }
        for (int64_t m = 0; m < mc; m++)
            for (int64_t p = 0; p < N; p++) y[(mb + m) * N + p] = tmp[p * 16 + m];
    }
}

__attribute__((target("avx512f"))) static void tiny_run4(const nn_node *n, int64_t M, int64_t K,
                                                         int64_t N, const float *panel, float *y,
                                                         const float *bias, float *tmp)
{
    tiny_run(n, M, K, N, panel, y, bias, tmp, 4);
}
__attribute__((target("avx512f"))) static void tiny_run9(const nn_node *n, int64_t M, int64_t K,
                                                         int64_t N, const float *panel, float *y,
                                                         const float *bias, float *tmp)
{
    tiny_run(n, M, K, N, panel, y, bias, tmp, 9);
}
/* One output pixel (a 1x1 image into a 1x1 output, the last layers of an
 * embedding network): a matrix-vector product that reads each weight once,
 * so the time is that of streaming the packed weights. tiny_run would give
 * each 16-channel block one dependent chain of K FMAs (the other pixels of
 * its panel are zero) and wait on the FMA latency; here B blocks' chains
 * run side by side over the same input value. Each output channel is still
 * summed from zero over k = 0 .. K - 1 in the same order, so the results
 * are bit for bit those of tiny_run. The blocks in a group all have two
 * 8-row panels; a last block of at most 8 channels runs alone. */
__attribute__((always_inline, target("avx512f"))) static inline void
gemv_blocks(const nn_node *n, int64_t M, int64_t K, const float *xk, float *y, const float *bias,
            int64_t mb, int B)
{
    const float *w[8];
    bool two = true;
#pragma GCC unroll 8
    for (int j = 0; j < B; j++) w[j] = n->wpack + (mb / 8 + 2 * j) * 8 * K;
    if (B == 1) two = mb + 8 < M;
    __m512 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < B; j++) acc[j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m512 xv = _mm512_set1_ps(xk[k]);
#pragma GCC unroll 8
        for (int j = 0; j < B; j++) {
            __m256 lo = _mm256_loadu_ps(w[j] + k * 8);
            __m512 wv = two ? _mm512_castpd_ps(_mm512_insertf64x4(
                                  _mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                                  _mm256_castps_pd(_mm256_loadu_ps(w[j] + 8 * K + k * 8)), 1))
                            : _mm512_zextps256_ps512(lo);
            acc[j] = _mm512_fmadd_ps(wv, xv, acc[j]);
        }
    }
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(n->act_a),
                 hi = _mm512_set1_ps(n->act_b);
#pragma GCC unroll 8
    for (int j = 0; j < B; j++) {
        int64_t m0 = mb + 16 * j, mc = M - m0 < 16 ? M - m0 : 16;
        __mmask16 mk = (__mmask16)(mc == 16 ? 0xffff : (1u << mc) - 1);
        __m512 vb = bias ? _mm512_maskz_loadu_ps(mk, bias + m0) : zero;
        __m512 v =
            epi_avx512(n->act, _mm512_add_ps(acc[j], vb), epi_slope_lanes(n, mk, m0), lo, hi);
        _mm512_mask_storeu_ps(y + m0, mk, v);
    }
}

#define GEMV_BLOCKS(B)                                                                             \
    __attribute__((target("avx512f"))) static void gemv_blocks##B(                                 \
        const nn_node *n, int64_t M, int64_t K, const float *xk, float *y, const float *bias,      \
        int64_t mb)                                                                                \
    {                                                                                              \
        gemv_blocks(n, M, K, xk, y, bias, mb, B);                                                  \
    }
GEMV_BLOCKS(8)
GEMV_BLOCKS(4)
GEMV_BLOCKS(2)
GEMV_BLOCKS(1)

/* The input column of the one output pixel: tap t of channel c, zero where
 * it falls in the padding (the values tiny_panel puts in lane 0). */
static void gemv_column(const nn_im2col *a, float *xk)
{
    int64_t taps = a->KH * a->KW, hw = a->H * a->W;
    for (int64_t t = 0; t < taps; t++) {
        int64_t iy = -a->pt + (t / a->KW) * a->dh, ix = -a->pl + (t % a->KW) * a->dw;
        bool in = iy >= 0 && iy < a->H && ix >= 0 && ix < a->W;
        for (int64_t c = 0; c < a->C; c++)
            xk[c * taps + t] = in ? a->x[c * hw + iy * a->W + ix] : 0.0f;
    }
}

static void tiny_gemv(const nn_node *n, const nn_im2col *a, int64_t M, float *y, const float *bias,
                      float *xk)
{
    int64_t K = a->C * a->KH * a->KW, mb = 0;
    gemv_column(a, xk);
    /* full 16-channel blocks (and a last one of 9 to 15) in groups */
    for (; M - mb > 8 + 16 * 7; mb += 16 * 8) gemv_blocks8(n, M, K, xk, y, bias, mb);
    for (; M - mb > 8 + 16 * 3; mb += 16 * 4) gemv_blocks4(n, M, K, xk, y, bias, mb);
    for (; M - mb > 8 + 16; mb += 16 * 2) gemv_blocks2(n, M, K, xk, y, bias, mb);
    for (; mb < M; mb += 16) gemv_blocks1(n, M, K, xk, y, bias, mb);
}

/* im2col rows [K][16] of an image whose planes fit one register. */
__attribute__((target("avx512f"))) static void tiny_panel(const nn_im2col *a, int64_t N,
                                                          float *panel)
{
    int64_t taps = a->KH * a->KW, hw = a->H * a->W;
    __m512i idx[64];
    __mmask16 valid[64];
    for (int64_t t = 0; t < taps; t++) {
        int32_t ix[16] = {0};
        uint32_t m = 0;
        for (int64_t p = 0; p < N; p++) {
            int64_t oy = p / a->OW, ox = p % a->OW;
            int64_t iy = oy * a->sh - a->pt + (t / a->KW) * a->dh;
            int64_t xx = ox * a->sw - a->pl + (t % a->KW) * a->dw;
            if (iy >= 0 && iy < a->H && xx >= 0 && xx < a->W) {
                ix[p] = (int32_t)(iy * a->W + xx);
                m |= 1u << p;
            }
        }
        idx[t] = _mm512_loadu_si512(ix);
        valid[t] = (__mmask16)m;
    }
    __mmask16 in = (__mmask16)(hw == 16 ? 0xffff : (1u << hw) - 1);
    for (int64_t c = 0; c < a->C; c++) {
        __m512 xv = _mm512_maskz_loadu_ps(in, a->x + c * hw);
        for (int64_t t = 0; t < taps; t++)
            _mm512_storeu_ps(panel + (c * taps + t) * 16,
                             _mm512_maskz_permutexvar_ps(valid[t], idx[t], xv));
    }
}
#endif

/* Planes of 17 to 32 pixels into at most 24 outputs with at most 16 output
 * channels (a detector's last 3x3 heads: 256 channels of 4x5 into 6 or 12):
 * the same products, one accumulator per output pixel, but the im2col rows
 * are built one input channel at a time into a block that stays in L1 (two
 * registers per channel, each tap two permutations) instead of a [K][32]
 * panel through L2, and up to 8 output channels use 8-lane FMAs, which Zen 4
 * issues twice per cycle. The packed GEMM would compute 8 x 32 tiles here,
 * most of them padding. */
#define TINY32_P 24

#if defined(__x86_64__)
__attribute__((always_inline, target("avx512f,avx512vl,fma"))) static inline void
tiny32_run(const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, float *y, const float *bias,
           float *scratch, int P, bool narrow)
{
    int64_t taps = a->KH * a->KW, hw = a->H * a->W, K = a->C * taps;
    float *blk = scratch, *tmp = blk + 2 * taps * 32;
    nn_plane32 pl;
    nn_plane32_init(a, 0, (int)N, &pl);
    const float *w0 = n->wpack, *w1 = w0 + 8 * K;
    __m512 acc[TINY32_P];
    __m256 acch[TINY32_P];
#pragma GCC unroll 24
    for (int p = 0; p < P; p++) {
        acc[p] = _mm512_setzero_ps();
        acch[p] = _mm256_setzero_ps();
    }
    /* channel c + 1's rows are built while channel c's are multiplied: the
     * broadcasts then read stores that have long left the store queue */
    for (int64_t c = 0; c <= a->C; c++) {
        if (c < a->C) nn_plane32_channel(&pl, a->x + c * hw, blk + (c & 1) * taps * 32);
        if (c == 0) continue;
        const float *bp = blk + ((c - 1) & 1) * taps * 32;
        for (int64_t t = 0; t < taps; t++) {
            int64_t k = (c - 1) * taps + t;
            const float *bt = bp + t * 32;
            if (narrow) {
                __m256 wv = _mm256_loadu_ps(w0 + k * 8);
#pragma GCC unroll 24
                for (int p = 0; p < P; p++)
                    acch[p] = _mm256_fmadd_ps(wv, _mm256_broadcast_ss(bt + p), acch[p]);
            } else {
                __m512 wv = _mm512_castpd_ps(_mm512_insertf64x4(
                    _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(w0 + k * 8))),
                    _mm256_castps_pd(_mm256_loadu_ps(w1 + k * 8)), 1));
#pragma GCC unroll 24
                for (int p = 0; p < P; p++)
                    acc[p] = _mm512_fmadd_ps(wv, _mm512_set1_ps(bt[p]), acc[p]);
            }
        }
    }
    /* output channels are lanes: bias and activation per lane, then the
     * [pixel][channel] block is transposed into the output */
    __mmask16 mk = (__mmask16)(M >= 16 ? 0xffff : (1u << M) - 1);
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(n->act_a),
                 hi = _mm512_set1_ps(n->act_b);
    __m512 vb = bias ? _mm512_maskz_loadu_ps(mk, bias) : zero;
    __m512 vs = epi_slope_lanes(n, mk, 0);
#pragma GCC unroll 24
    for (int p = 0; p < P; p++) {
        __m512 v = narrow ? _mm512_zextps256_ps512(acch[p]) : acc[p];
        v = epi_avx512(n->act, _mm512_add_ps(v, vb), vs, lo, hi);
        _mm512_storeu_ps(tmp + p * 16, v);
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t p = 0; p < N; p++) y[m * N + p] = tmp[p * 16 + m];
}

#define TINY32(P, NARROW)                                                                          \
    __attribute__((target("avx512f,avx512vl,fma"))) static void tiny32_##P##_##NARROW(             \
        const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, float *y, const float *bias,   \
        float *scratch)                                                                            \
    {                                                                                              \
        tiny32_run(n, a, M, N, y, bias, scratch, P, NARROW);                                       \
    }
TINY32(12, 0)
TINY32(12, 1)
TINY32(16, 0)
TINY32(16, 1)
TINY32(20, 0)
TINY32(20, 1)
TINY32(24, 0)
TINY32(24, 1)

static bool conv_tiny32(const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, float *y,
                        const float *bias, float *scratch)
{
    /* 8-lane FMAs need AVX512VL for registers 16-31 (one accumulator per
     * pixel) */
    if (M > 16 || N > TINY32_P || a->KH * a->KW > NN_PLANE32_TAPS || !nn_cpu_features().avx512vl)
        return false;
    bool narrow = M <= 8;
    if (N <= 12)
        (narrow ? tiny32_12_1 : tiny32_12_0)(n, a, M, N, y, bias, scratch);
    else if (N <= 16)
        (narrow ? tiny32_16_1 : tiny32_16_0)(n, a, M, N, y, bias, scratch);
    else if (N <= 20)
        (narrow ? tiny32_20_1 : tiny32_20_0)(n, a, M, N, y, bias, scratch);
    else
        (narrow ? tiny32_24_1 : tiny32_24_0)(n, a, M, N, y, bias, scratch);
    return true;
}
#endif

size_t nn_conv_tiny_scratch(int64_t KH, int64_t KW)
{
    return (size_t)(2 * KH * KW * 32 + TINY32_P * 16) * sizeof(float);
}

bool nn_conv_tiny(const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, float *y,
                  const float *bias, float *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || !n->wpack || n->act == NN_ACT_SIGMOID ||
        n->act == NN_ACT_HSWISH)
        return false;
    if (a->H * a->W > 16 && a->H * a->W <= 32) return conv_tiny32(n, a, M, N, y, bias, scratch);
    if (a->H * a->W > 16 || N > 9 || a->KH * a->KW > 64) return false;
    if (N == 1) {
        tiny_gemv(n, a, M, y, bias, scratch);
        return true;
    }
    int64_t K = a->C * a->KH * a->KW;
    float *panel = scratch, *tmp = panel + K * 16;
    tiny_panel(a, N, panel);
    if (N <= 4)
        tiny_run4(n, M, K, N, panel, y, bias, tmp);
    else
        tiny_run9(n, M, K, N, panel, y, bias, tmp);
    return true;
#else
    (void)n, (void)a, (void)M, (void)N, (void)y, (void)bias, (void)scratch;
    return false;
#endif
}
