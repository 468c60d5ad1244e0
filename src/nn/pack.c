/*
 * pack.c — B-panel packers for 1x1 convolutions whose input goes through
 * cheap per-pixel steps folded into them at load (fuse.c): a
 * BatchNormalization (+ ReLU), and a 2x2 stride-2 average pooling moved in
 * front of the convolution (the two commute: both are linear). Each fills
 * one zero-padded [K][NN_GEMM_NR] panel of the packed GEMM (gemm.c) straight
 * from the input, so the normalized or pooled tensor is never written out.
 * AVX-512 or AVX2 when available, plain C otherwise (the C loops define the
 * result).
 */
#include <math.h>

#include "kernels.h"
#include "nn_internal.h"

/* ---- affine (+ ReLU) per row ---------------------------------------------- */

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void pack_affine_avx512(const nn_rows_affine *r,
                                                                  int64_t n0, int ncols, float *dst)
{
    const __mmask16 m0 = nn_lanes_below(ncols), m1 = nn_lanes_below(ncols - 16);
    /* ReLU as a max against 0, or against -inf (no-op) */
    const __m512 lo = _mm512_set1_ps(r->relu ? 0.0f : -INFINITY);
    for (int64_t k = 0; k < r->K; k++) {
        const float *src = r->B + k * r->ldb + n0;
        __m512 a = _mm512_set1_ps(r->scale[k]), b = _mm512_set1_ps(r->shift[k]);
        __m512 v0 = _mm512_max_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, src), a, b), lo);
        __m512 v1 = _mm512_max_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, src + 16), a, b), lo);
        /* columns past ncols stay zero */
        _mm512_store_ps(dst, _mm512_maskz_mov_ps(m0, v0));
        _mm512_store_ps(dst + 16, _mm512_maskz_mov_ps(m1, v1));
        dst += NN_GEMM_NR;
    }
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void pack_affine_avx2(const nn_rows_affine *r,
                                                                 int64_t n0, int ncols, float *dst)
{
    __m256i mk[4];
    for (int q = 0; q < 4; q++) mk[q] = nn_lanes8(0, ncols - 8 * q);
    const __m256 lo = _mm256_set1_ps(r->relu ? 0.0f : -INFINITY);
    for (int64_t k = 0; k < r->K; k++, dst += NN_GEMM_NR) {
        const float *src = r->B + k * r->ldb + n0;
        __m256 a = _mm256_set1_ps(r->scale[k]), b = _mm256_set1_ps(r->shift[k]);
        for (int q = 0; q < 4; q++) {
            __m256 v =
                _mm256_max_ps(_mm256_fmadd_ps(_mm256_maskload_ps(src + 8 * q, mk[q]), a, b), lo);
            /* columns past ncols stay zero */
            _mm256_store_ps(dst + 8 * q, _mm256_and_ps(v, _mm256_castsi256_ps(mk[q])));
        }
    }
}
#endif

static inline float affine1(float x, float scale, float shift, bool relu)
{
    float v = x * scale + shift;
    return relu ? fmaxf(v, 0.0f) : v;
}

/* The plain C packers: panel[k][j] = value(arg, k, n0 + j) for the ncols
 * columns, zero past them. */
static void pack_scalar(const void *arg, int64_t K, int64_t n0, int ncols, float *panel,
                        float (*value)(const void *arg, int64_t k, int64_t col))
{
    for (int64_t k = 0; k < K; k++)
        for (int j = 0; j < NN_GEMM_NR; j++)
            panel[k * NN_GEMM_NR + j] = j < ncols ? value(arg, k, n0 + j) : 0.0f;
}

static float affine_at(const void *arg, int64_t k, int64_t col)
{
    const nn_rows_affine *r = arg;
    return affine1(r->B[k * r->ldb + col], r->scale[k], r->shift[k], r->relu);
}

void nn_pack_b_rows_affine(const void *arg, int64_t n0, int ncols, float *panel)
{
    const nn_rows_affine *r = arg;
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        pack_affine_avx512(r, n0, ncols, panel);
        return;
    }
    if (nn_cpu_features().avx2) {
        pack_affine_avx2(r, n0, ncols, panel);
        return;
    }
#endif
    pack_scalar(arg, r->K, n0, ncols, panel, affine_at);
}

/* ---- affine (+ ReLU), then 2x2 stride-2 average ---------------------------- */

/* Pooled output column p = py * OW + px averages input rows 2py, 2py+1 and
 * columns 2px, 2px+1 of each plane (W >= 2 OW, H >= 2 OH). */
static float pool1(const void *arg, int64_t k, int64_t p)
{
    const nn_pool2_rows *r = arg;
    int64_t py = p / r->OW, px = p % r->OW;
    const float *s = r->x + (k * r->H + 2 * py) * r->W + 2 * px;
    float sc = r->scale ? r->scale[k] : 1.0f, sh = r->scale ? r->shift[k] : 0.0f;
    return 0.25f * (affine1(s[0], sc, sh, r->relu) + affine1(s[1], sc, sh, r->relu) +
                    affine1(s[r->W], sc, sh, r->relu) + affine1(s[r->W + 1], sc, sh, r->relu));
}

#if defined(__x86_64__)
/* The runs of a panel's columns along one pooled row. */
typedef struct {
    int64_t off, len;
    const float *src; /* first input pixel of the run in plane 0 */
} pool2_seg;

static int pool2_segments(const nn_pool2_rows *r, int64_t n0, int ncols, pool2_seg *seg)
{
    int nseg = 0;
    for (int64_t p = n0; p < n0 + ncols;) {
        int64_t py = p / r->OW, px = p % r->OW, len = r->OW - px;
        if (len > n0 + ncols - p) len = n0 + ncols - p;
        seg[nseg].off = p - n0;
        seg[nseg].len = len;
        seg[nseg].src = r->x + 2 * py * r->W + 2 * px;
        nseg++;
        p += len;
    }
    return nseg;
}

__attribute__((target("avx512f"))) static void pack_pool2_avx512(const nn_pool2_rows *r, int64_t n0,
                                                                 int ncols, float *dst)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 quarter = _mm512_set1_ps(0.25f);
    const __m512 lo = _mm512_set1_ps(r->relu ? 0.0f : -INFINITY);
    pool2_seg seg[NN_GEMM_NR];
    int nseg = pool2_segments(r, n0, ncols, seg);
    for (int64_t k = 0; k < r->K; k++, dst += NN_GEMM_NR) {
        __m512 a = _mm512_set1_ps(r->scale ? r->scale[k] : 1.0f);
        __m512 b = _mm512_set1_ps(r->scale ? r->shift[k] : 0.0f);
        _mm512_store_ps(dst, _mm512_setzero_ps());
        _mm512_store_ps(dst + 16, _mm512_setzero_ps());
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 16) {
                int64_t n = seg[s].len - j < 16 ? seg[s].len - j : 16;
                /* 2n input floats per row: lanes of the two 16-float halves */
                __mmask16 m0 = n >= 8 ? 0xffff : (__mmask16)((1u << (2 * n)) - 1);
                __mmask16 m1 = n <= 8 ? 0 : (__mmask16)((1u << (2 * n - 16)) - 1);
                const float *s0 = seg[s].src + k * r->H * r->W + 2 * j, *s1 = s0 + r->W;
                __m512 u0 = _mm512_max_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, s0), a, b), lo);
                __m512 u1 =
                    _mm512_max_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, s0 + 16), a, b), lo);
                __m512 w0 = _mm512_max_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, s1), a, b), lo);
                __m512 w1 =
                    _mm512_max_ps(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, s1 + 16), a, b), lo);
                __m512 v0 = _mm512_add_ps(u0, w0), v1 = _mm512_add_ps(u1, w1);
                __m512 v = _mm512_add_ps(_mm512_permutex2var_ps(v0, even, v1),
                                         _mm512_permutex2var_ps(v0, odd, v1));
                _mm512_mask_storeu_ps(dst + seg[s].off + j, (__mmask16)((1u << n) - 1),
                                      _mm512_mul_ps(v, quarter));
            }
    }
}
#endif

#if defined(__x86_64__)
/* pack_pool2_avx512 on 8 lanes: for 8 pooled columns, 16 floats of each
 * input row through the affine (+ ReLU), pairs summed by evens8_of /
 * odds8_of. */
__attribute__((target("avx2,fma"))) static void pack_pool2_avx2(const nn_pool2_rows *r, int64_t n0,
                                                                int ncols, float *dst)
{
    const __m256 quarter = _mm256_set1_ps(0.25f);
    const __m256 lo = _mm256_set1_ps(r->relu ? 0.0f : -INFINITY);
    pool2_seg seg[NN_GEMM_NR];
    int nseg = pool2_segments(r, n0, ncols, seg);
    for (int64_t k = 0; k < r->K; k++, dst += NN_GEMM_NR) {
        __m256 a = _mm256_set1_ps(r->scale ? r->scale[k] : 1.0f);
        __m256 b = _mm256_set1_ps(r->scale ? r->shift[k] : 0.0f);
        for (int q = 0; q < 4; q++) _mm256_store_ps(dst + 8 * q, _mm256_setzero_ps());
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 8) {
                int64_t n = seg[s].len - j < 8 ? seg[s].len - j : 8;
                /* 2n input floats per row, in two registers */
                __m256i m0 = nn_lanes8(0, 2 * n), m1 = nn_lanes8(0, 2 * n - 8);
                const float *s0 = seg[s].src + k * r->H * r->W + 2 * j, *s1 = s0 + r->W;
                __m256 u0 = _mm256_max_ps(_mm256_fmadd_ps(_mm256_maskload_ps(s0, m0), a, b), lo);
                __m256 u1 =
                    _mm256_max_ps(_mm256_fmadd_ps(_mm256_maskload_ps(s0 + 8, m1), a, b), lo);
                __m256 w0 = _mm256_max_ps(_mm256_fmadd_ps(_mm256_maskload_ps(s1, m0), a, b), lo);
                __m256 w1 =
                    _mm256_max_ps(_mm256_fmadd_ps(_mm256_maskload_ps(s1 + 8, m1), a, b), lo);
                __m256 v0 = _mm256_add_ps(u0, w0), v1 = _mm256_add_ps(u1, w1);
                __m256 v = _mm256_add_ps(evens8_of(v0, v1), odds8_of(v0, v1));
                _mm256_maskstore_ps(dst + seg[s].off + j, nn_lanes8(0, n),
                                    _mm256_mul_ps(v, quarter));
            }
    }
}
#endif

void nn_pack_b_pool2(const void *arg, int64_t n0, int ncols, float *panel)
{
    const nn_pool2_rows *r = arg;
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        pack_pool2_avx512(r, n0, ncols, panel);
        return;
    }
    if (nn_cpu_features().avx2) {
        pack_pool2_avx2(r, n0, ncols, panel);
        return;
    }
#endif
    pack_scalar(arg, r->K, n0, ncols, panel, pool1);
}

void nn_pool2_image(const nn_pool2_rows *r, int64_t OH, float *y)
{
    for (int64_t k = 0; k < r->K; k++)
        for (int64_t p = 0; p < OH * r->OW; p++) y[k * OH * r->OW + p] = pool1(r, k, p);
}
