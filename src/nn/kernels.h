/*
 * kernels.h — what the kernel files (kernels.c, gemm.c, wino.c, direct.c,
 * dwsmall.c, pack.c) share privately: the fused epilogue's parameters and
 * its scalar, AVX-512 and AVX2 forms, the tap permutations of planes of at
 * most 32 pixels, and the GEMM micro-kernels.
 */
#ifndef RC_NN_KERNELS_H
#define RC_NN_KERNELS_H

#include <math.h>

#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Per-channel parameters of the epilogue y = act(y + bias). */
typedef struct {
    int act;
    float a, b; /* leaky alpha, clip bounds */
} epi;

static inline float epi_scalar(const epi *e, float v, float slope)
{
    switch (e->act) {
    case NN_ACT_RELU:
        return fmaxf(v, 0.0f);
    case NN_ACT_PRELU:
        return fmaxf(v, 0.0f) + slope * fminf(v, 0.0f);
    case NN_ACT_LEAKY:
        return fmaxf(v, 0.0f) + e->a * fminf(v, 0.0f);
    case NN_ACT_CLIP:
        return fminf(fmaxf(v, e->a), e->b);
    case NN_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-v));
    case NN_ACT_HSWISH:
        return v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f));
    default:
        return v;
    }
}

/* The slope of the negative side for output channel ch: LeakyReLU's alpha,
 * the channel's PReLU slope (one shared when nslope is 1), 0 otherwise. */
static inline float epi_slope(int act, float leaky, const float *slope, int64_t nslope, int64_t ch)
{
    return act == NN_ACT_LEAKY                    ? leaky
           : act == NN_ACT_PRELU && slope != NULL ? slope[nslope == 1 ? 0 : ch]
                                                  : 0.0f;
}

/* The same for a node's fused activation. */
static inline float epi_node_slope(const nn_node *n, int64_t ch)
{
    return epi_slope(n->act, n->act_a, n->act_slope, n->act_slope_n, ch);
}

#if defined(__x86_64__)
/* Lanes [0, n) of a 16-lane register, n clamped to [0, 16]. */
static inline __mmask16 nn_lanes_below(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* The lanes of 16 floats starting at column `start` of a row that lie
 * inside [0, W); a masked load leaves the others zero (the padding). */
static inline __mmask16 nn_lanes_inside(int64_t start, int64_t W)
{
    int64_t lo = start < 0 ? -start : 0, hi = W - start;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

/* The epilogue's activation on 16 lanes for ReLU, PReLU / LeakyReLU (negative
 * lanes times `slope`) and Clip (to [lo, hi]); any other `act` leaves v as it
 * is (callers route Sigmoid and HardSwish elsewhere). Inlined into each
 * kernel, where `act` is loop-invariant. */
__attribute__((always_inline, target("avx512f"))) static inline __m512
epi_avx512(int act, __m512 v, __m512 slope, __m512 lo, __m512 hi)
{
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case NN_ACT_RELU:
        return _mm512_max_ps(v, zero);
    case NN_ACT_PRELU:
    case NN_ACT_LEAKY:
        return _mm512_fmadd_ps(slope, _mm512_min_ps(v, zero), _mm512_max_ps(v, zero));
    case NN_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    default:
        return v;
    }
}

/* CALL (a kernel body, always inlined) once per activation epi_avx512
 * applies, with ACT that activation as a constant: where `act` is only
 * loop-invariant, each block of 16 outputs still pays a switch. LeakyReLU
 * takes PReLU's form (the slope comes from the node); Sigmoid and
 * HardSwish must be refused before (they would run as none). Use inside an
 * avx512f function. */
#define NN_PER_ACT(act, CALL)                                                                      \
    do {                                                                                           \
        switch (act) {                                                                             \
        case NN_ACT_RELU: {                                                                        \
            const int ACT = NN_ACT_RELU;                                                           \
            CALL;                                                                                  \
            break;                                                                                 \
        }                                                                                          \
        case NN_ACT_PRELU:                                                                         \
        case NN_ACT_LEAKY: {                                                                       \
            const int ACT = NN_ACT_PRELU;                                                          \
            CALL;                                                                                  \
            break;                                                                                 \
        }                                                                                          \
        case NN_ACT_CLIP: {                                                                        \
            const int ACT = NN_ACT_CLIP;                                                           \
            CALL;                                                                                  \
            break;                                                                                 \
        }                                                                                          \
        default: {                                                                                 \
            const int ACT = NN_ACT_NONE;                                                           \
            CALL;                                                                                  \
            break;                                                                                 \
        }                                                                                          \
        }                                                                                          \
    } while (0)
#endif

#if defined(__x86_64__)
/* The same on 8 lanes (AVX2 + FMA, for CPUs without AVX-512). */
__attribute__((always_inline, target("avx2,fma"))) static inline __m256
epi_avx2(int act, __m256 v, __m256 slope, __m256 lo, __m256 hi)
{
    const __m256 zero = _mm256_setzero_ps();
    switch (act) {
    case NN_ACT_RELU:
        return _mm256_max_ps(v, zero);
    case NN_ACT_PRELU:
    case NN_ACT_LEAKY:
        return _mm256_fmadd_ps(slope, _mm256_min_ps(v, zero), _mm256_max_ps(v, zero));
    case NN_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    default:
        return v;
    }
}

/* The AVX2 mask of lanes [lo, hi) of 8 (bounds clamped to [0, 8]), for
 * _mm256_maskload_ps / _mm256_maskstore_ps / masked gathers. */
__attribute__((always_inline, target("avx2"))) static inline __m256i nn_lanes8(int64_t lo,
                                                                               int64_t hi)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    lo = lo < 0 ? 0 : lo > 8 ? 8 : lo;
    hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
    /* lane i is set when lo <= i < hi */
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo), iota),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), iota));
}

/* The even and the odd elements of a b (16 floats: a stride-2 row, pairs
 * of pooled columns) as 8 lanes; evens8/odds8 load the 16 floats at p. */
__attribute__((always_inline, target("avx2"))) static inline __m256 evens8_of(__m256 a, __m256 b)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), 0xd8));
}

__attribute__((always_inline, target("avx2"))) static inline __m256 odds8_of(__m256 a, __m256 b)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), 0xd8));
}

__attribute__((always_inline, target("avx2"))) static inline __m256 evens8(const float *p)
{
    return evens8_of(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8));
}

__attribute__((always_inline, target("avx2"))) static inline __m256 odds8(const float *p)
{
    return odds8_of(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8));
}
#endif

#if defined(__x86_64__)
/* The epilogue's constants for output channel ch as vectors: its bias (0
 * without one), the slope of the negative side (LeakyReLU's alpha or the
 * channel's PReLU slope, 0 otherwise) and Clip's bounds. */
typedef struct {
    __m512 vb, vs, lo, hi;
} epi_vec;

__attribute__((always_inline, target("avx512f"))) static inline epi_vec
epi_vec_of(int act, float a, float b, const float *slope, int64_t nslope, const float *bias,
           int64_t ch)
{
    float sl = epi_slope(act, a, slope, nslope, ch);
    epi_vec v = {_mm512_set1_ps(bias ? bias[ch] : 0.0f), _mm512_set1_ps(sl), _mm512_set1_ps(a),
                 _mm512_set1_ps(b)};
    return v;
}

/* The slopes of channels c0 .. c0 + 15 (those in mk) as lanes, for kernels
 * whose lanes are output channels: the PReLU slopes, else LeakyReLU's
 * alpha (unused by other activations). */
__attribute__((always_inline, target("avx512f"))) static inline __m512
epi_slope_lanes(const nn_node *n, __mmask16 mk, int64_t c0)
{
    if (n->act != NN_ACT_PRELU) return _mm512_set1_ps(n->act_a);
    return n->act_slope_n == 1 ? _mm512_set1_ps(n->act_slope[0])
                               : _mm512_maskz_loadu_ps(mk, n->act_slope + c0);
}

/* Images whose planes have at most 32 pixels, windows of at most
 * NN_PLANE32_TAPS taps (direct.c, gemm.c): a channel is two registers, and
 * tap t of output pixels n0 .. n0 + 31 is one lane permutation of them,
 * zero where the tap falls in the padding. The permutations depend only on
 * the geometry and are built once (nn_plane32_init, gemm.c);
 * nn_plane32_channel writes one channel's taps as rows of 32 floats. */
#define NN_PLANE32_TAPS 64
typedef struct {
    __m512i idx[NN_PLANE32_TAPS][2];
    __mmask16 ok[NN_PLANE32_TAPS][2];
    __mmask16 in[2]; /* the plane's pixels among lanes 0-15 and 16-31 */
    int64_t taps;
} nn_plane32;
void nn_plane32_init(const nn_im2col *a, int64_t n0, int np, nn_plane32 *p);

__attribute__((always_inline, target("avx512f"))) static inline void
nn_plane32_channel(const nn_plane32 *p, const float *xc, float *dst)
{
    __m512 x0 = _mm512_maskz_loadu_ps(p->in[0], xc), x1 = _mm512_maskz_loadu_ps(p->in[1], xc + 16);
    for (int64_t t = 0; t < p->taps; t++, dst += 32) {
        _mm512_storeu_ps(dst, _mm512_maskz_permutex2var_ps(p->ok[t][0], x0, p->idx[t][0], x1));
        _mm512_storeu_ps(dst + 16, _mm512_maskz_permutex2var_ps(p->ok[t][1], x0, p->idx[t][1], x1));
    }
}

/* One panel of C[M, ncols] = A * B with the packed weights Ap (M x K, from
 * nn_gemm_pack_a) and B read in place, row k at B + k * ldb (32 columns of
 * which ncols <= 32 are stored); no bias, no activation (gemm.c, AVX-512:
 * callers check nn_cpu_features() first). */
void nn_gemm_panel_avx512(int64_t M, int64_t K, const float *Ap, const float *B, int64_t ldb,
                          float *C, int64_t ldc, int ncols);
/* The same with the AVX2 micro-kernel (callers check nn_cpu_features().avx2). */
void nn_gemm_panel_avx2(int64_t M, int64_t K, const float *Ap, const float *B, int64_t ldb,
                        float *C, int64_t ldc, int ncols);
#endif

#endif
