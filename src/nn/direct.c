/*
 * direct.c — 3x3 convolutions with few input channels (at most 16) computed
 * directly, every output channel of a block of 16 kept in a register: the
 * first layer of a network (1 or 3 channels, where im2col + GEMM has a depth
 * of only 9 or 27) and the narrow context layers of a detector's heads
 * (dilated or not). For each row chunk of 16 output pixels, the three taps
 * of every input row are loaded once (masked at the image border; stride 2
 * picks even and odd columns with two permutes) and each feeds one FMA per
 * output channel with the weight broadcast from a small packed copy.
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
/* Lanes l of a 16-wide load starting at input column `start` that fall
 * inside [0, W). */
static inline __mmask16 lanes_inside(int64_t start, int64_t W)
{
    int64_t lo = start < 0 ? -start : 0, hi = W - start;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

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
                    t[0] = _mm512_maskz_loadu_ps(lanes_inside(start, W), p);
                    t[1] = _mm512_maskz_loadu_ps(lanes_inside(start + d, W), p + d);
                    t[2] = _mm512_maskz_loadu_ps(lanes_inside(start + 2 * d, W), p + 2 * d);
                }
            } else {
                __m512 l0, l1, l2, l3;
                if (inside) {
                    l0 = _mm512_loadu_ps(p);
                    l1 = _mm512_loadu_ps(p + 16);
                    l2 = _mm512_loadu_ps(p + 2);
                    l3 = _mm512_loadu_ps(p + 18);
                } else {
                    l0 = _mm512_maskz_loadu_ps(lanes_inside(start, W), p);
                    l1 = _mm512_maskz_loadu_ps(lanes_inside(start + 16, W), p + 16);
                    l2 = _mm512_maskz_loadu_ps(lanes_inside(start + 2, W), p + 2);
                    l3 = _mm512_maskz_loadu_ps(lanes_inside(start + 18, W), p + 18);
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
           int MB, int64_t m0, int64_t mcount, float *y)
{
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(n->act_a),
                 hi = _mm512_set1_ps(n->act_b);
    /* locals: the output stores cannot alias them, so they stay in registers */
    const nn_im2col g = *a;
    const int act = n->act;
    const float *slope = n->act_slope;
    const float leaky = n->act_a;
    const int64_t nslope = n->act_slope_n;
    int64_t OW = g.OW, plane = OH * OW;
    for (int64_t oy = 0; oy < OH; oy++)
        for (int64_t ox = 0; ox < OW; ox += 16) {
            __m512 acc[16];
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++) acc[m] = _mm512_set1_ps(bp[m]);
            regs_chunk(&g, oy, ox, wp, MB, acc);
            int64_t left = OW - ox;
            __mmask16 mk = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
#pragma GCC unroll 16
            for (int m = 0; m < MB; m++) {
                if (m >= mcount) break;
                __m512 v = acc[m];
                switch (act) {
                case NN_ACT_RELU:
                    v = _mm512_max_ps(v, zero);
                    break;
                case NN_ACT_PRELU:
                case NN_ACT_LEAKY: {
                    float sl = act == NN_ACT_LEAKY ? leaky : slope[nslope == 1 ? 0 : m0 + m];
                    v = _mm512_fmadd_ps(_mm512_set1_ps(sl), _mm512_min_ps(v, zero),
                                        _mm512_max_ps(v, zero));
                    break;
                }
                case NN_ACT_CLIP:
                    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                    break;
                default:
                    break;
                }
                _mm512_mask_storeu_ps(y + (m0 + m) * plane + oy * OW + ox, mk, v);
            }
        }
}

__attribute__((target("avx512f"))) static void regs_block8(const nn_node *n, const nn_im2col *a,
                                                           int64_t OH, const float *wp,
                                                           const float *bp, int64_t m0,
                                                           int64_t mcount, float *y)
{
    regs_block(n, a, OH, wp, bp, 8, m0, mcount, y);
}

__attribute__((target("avx512f"))) static void regs_block16(const nn_node *n, const nn_im2col *a,
                                                            int64_t OH, const float *wp,
                                                            const float *bp, int64_t m0,
                                                            int64_t mcount, float *y)
{
    regs_block(n, a, OH, wp, bp, 16, m0, mcount, y);
}
#endif

bool nn_conv3x3_regs(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, const float *w,
                     float *y, const float *bias, void *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH)
        return false;
    if (a->KH != 3 || a->KW != 3 || a->C > REGS_MAX_C || a->sh != a->sw || a->dh != a->dw)
        return false;
    if (!(a->sh == 1 || (a->sh == 2 && a->dh == 1)) || a->dh > 8) return false;
    float *wp = scratch, *bp = wp + a->C * 9 * 16;
    for (int64_t m0 = 0; m0 < M; m0 += 16) {
        int64_t mc = M - m0 < 16 ? M - m0 : 16;
        int MB = mc <= 8 ? 8 : 16;
        /* weights of this block as [c][tap][MB], zero past M */
        for (int64_t c = 0; c < a->C; c++)
            for (int t = 0; t < 9; t++)
                for (int m = 0; m < MB; m++)
                    wp[(c * 9 + t) * MB + m] = m < mc ? w[((m0 + m) * a->C + c) * 9 + t] : 0.0f;
        for (int m = 0; m < MB; m++) bp[m] = m < mc && bias ? bias[m0 + m] : 0.0f;
        if (MB == 8)
            regs_block8(n, a, OH, wp, bp, m0, mc, y);
        else
            regs_block16(n, a, OH, wp, bp, m0, mc, y);
    }
    return true;
#else
    (void)n, (void)a, (void)M, (void)OH, (void)w, (void)y, (void)bias, (void)scratch;
    return false;
#endif
}
