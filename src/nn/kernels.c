/*
 * kernels.c — run-time CPU detection and the fast kernels other than matrix
 * products (those are in gemm.c): OpenBLAS kept single-threaded (one run uses
 * only the calling thread), the fused bias/activation epilogue, depthwise 3x3
 * convolution (flat, row and small-plane kernels; planes at most 32 wide
 * are in dwsmall.c), 3x3 convolution of a one-channel image, 2x2 pooling,
 * exp/sigmoid/tanh, BatchNormalization's per-channel affine, element-wise
 * arithmetic, and denormal flushing. AVX-512 code (and AVX2 + FMA for the
 * depthwise row kernel) is compiled per function (target attributes) and
 * chosen at run time; each has a portable C fallback, so the engine runs on
 * any x86-64 and builds on aarch64.
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* The CPU does not change while we run: detect once. */
static nn_cpu cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

/* ROLLCALL_NN_CPU=generic (or avx2) caps the features used below what the
 * CPU has, so the portable fallbacks of every fast path can be run and
 * tested on an AVX-512 machine; unset, the CPU decides. */
static void cpu_detect(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *cap = getenv("ROLLCALL_NN_CPU");
    bool generic = cap && strcmp(cap, "generic") == 0, avx2_only = cap && strcmp(cap, "avx2") == 0;
    cpu.avx2 = !generic && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    cpu.avx512 = !generic && !avx2_only && __builtin_cpu_supports("avx512f");
    cpu.avx512vl = cpu.avx512 && __builtin_cpu_supports("avx512vl");
    cpu.vnni512 = cpu.avx512 && __builtin_cpu_supports("avx512vnni");
    cpu.bf16 =
        cpu.avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
    /* AVX-VNNI: CPUID leaf 7, sub-leaf 1, EAX bit 4 (asked directly: older
     * compilers' __builtin_cpu_supports does not know the name). */
    unsigned a = 0, b = 0, c = 0, d = 0;
    cpu.avxvnni = cpu.avx2 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
#endif
}

nn_cpu nn_cpu_features(void)
{
    pthread_once(&cpu_once, cpu_detect);
    return cpu;
}

static void blas_once(void)
{
    /* One run, one thread: OpenBLAS must not start its own pool. */
    openblas_set_num_threads(1);
}

void nn_blas_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_once);
}

void nn_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nn_flush_denormals(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (fpclassify(p[i]) == FP_SUBNORMAL) p[i] = 0.0f;
}

static void epilogue_c(const epi *e, float *y, int64_t channels, int64_t plane, const float *bias,
                       const float *slope, int64_t nslope, int64_t c0)
{
    for (int64_t ch = 0; ch < channels; ch++) {
        float b = bias ? bias[ch] : 0.0f;
        float s = slope ? slope[nslope == 1 ? 0 : c0 + ch] : 0.0f;
        float *p = y + ch * plane;
        if (e->act == NN_ACT_NONE) {
            for (int64_t i = 0; i < plane; i++) p[i] += b;
        } else if (e->act == NN_ACT_RELU) {
            for (int64_t i = 0; i < plane; i++) {
                float v = p[i] + b;
                p[i] = v > 0.0f ? v : 0.0f;
            }
        } else if (e->act == NN_ACT_PRELU) {
            for (int64_t i = 0; i < plane; i++) {
                float v = p[i] + b;
                p[i] = v > 0.0f ? v : v * s;
            }
        } else {
            for (int64_t i = 0; i < plane; i++) p[i] = epi_scalar(e, p[i] + b, s);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void
epilogue_avx512(const epi *e, float *y, int64_t channels, int64_t plane, const float *bias,
                const float *slope, int64_t nslope, int64_t c0)
{
    for (int64_t ch = 0; ch < channels; ch++) {
        float b = bias ? bias[ch] : 0.0f;
        float sl = epi_slope(e->act, e->a, slope, nslope, c0 + ch);
        __m512 vb = _mm512_set1_ps(b), vs = _mm512_set1_ps(sl);
        __m512 lo = _mm512_set1_ps(e->a), hi = _mm512_set1_ps(e->b);
        float *p = y + ch * plane;
        int64_t i = 0;
        for (; i + 16 <= plane; i += 16) {
            __m512 v = _mm512_add_ps(_mm512_loadu_ps(p + i), vb);
            v = epi_avx512(e->act, v, vs, lo, hi);
            _mm512_storeu_ps(p + i, v);
        }
        for (; i < plane; i++) p[i] = epi_scalar(e, p[i] + b, sl);
    }
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void epilogue_avx2(const epi *e, float *y,
                                                              int64_t channels, int64_t plane,
                                                              const float *bias, const float *slope,
                                                              int64_t nslope, int64_t c0)
{
    const __m256 lo = _mm256_set1_ps(e->a), hi = _mm256_set1_ps(e->b);
    for (int64_t ch = 0; ch < channels; ch++) {
        __m256 vb = _mm256_set1_ps(bias ? bias[ch] : 0.0f);
        __m256 vs = _mm256_set1_ps(epi_slope(e->act, e->a, slope, nslope, c0 + ch));
        float *p = y + ch * plane;
        for (int64_t i = 0; i < plane; i += 8) {
            __m256i mk = nn_lanes8(0, plane - i);
            __m256 v = _mm256_add_ps(_mm256_maskload_ps(p + i, mk), vb);
            _mm256_maskstore_ps(p + i, mk, epi_avx2(e->act, v, vs, lo, hi));
        }
    }
}
#endif

void nn_epilogue(const nn_node *n, float *y, int64_t channels, int64_t plane, const float *bias,
                 int64_t c0)
{
    epi e = {n->act, n->act_a, n->act_b};
    if (e.act == NN_ACT_NONE && !bias) return;
#if defined(__x86_64__)
    if (e.act != NN_ACT_SIGMOID && e.act != NN_ACT_HSWISH && nn_cpu_features().avx512) {
        epilogue_avx512(&e, y, channels, plane, bias, n->act_slope, n->act_slope_n, c0);
        return;
    }
    if (e.act != NN_ACT_SIGMOID && e.act != NN_ACT_HSWISH && nn_cpu_features().avx2) {
        epilogue_avx2(&e, y, channels, plane, bias, n->act_slope, n->act_slope_n, c0);
        return;
    }
#endif
    epilogue_c(&e, y, channels, plane, bias, n->act_slope, n->act_slope_n, c0);
}

void nn_apply_act(const nn_node *n, float *y, int64_t channels, int64_t plane, int64_t c0)
{
    epi e = {n->act, n->act_a, n->act_b};
    epilogue_c(&e, y, channels, plane, NULL, n->act_slope, n->act_slope_n, c0);
}

/* ---- depthwise 3x3 ------------------------------------------------------ */

/* Copy one channel into a zero-padded plane so the inner loops need no
 * bounds checks. Returns the padded row length. */
static int pad_plane(const float *x, int H, int W, int pt, int pl, int rows, int PW, float *buf)
{
    for (int r = 0; r < rows; r++) {
        float *dst = buf + (size_t)r * PW;
        int iy = r - pt;
        if (iy < 0 || iy >= H) {
            memset(dst, 0, (size_t)PW * sizeof(float));
            continue;
        }
        int n = W;
        if (pl + n > PW) n = PW - pl;
        /* the pads are a few floats: plain stores beat memset calls */
        for (int i = 0; i < pl; i++) dst[i] = 0.0f;
        memcpy(dst + pl, x + (size_t)iy * W, (size_t)n * sizeof(float));
        for (int i = pl + n; i < PW; i++) dst[i] = 0.0f;
    }
    return PW;
}

static void dw3x3_c(const float *xp, int PW, const float *w, float bias, int s, float *y, int OH,
                    int OW)
{
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + (size_t)(oy * s) * PW, *r1 = r0 + PW, *r2 = r1 + PW;
        float *yr = y + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox++) {
            int c = ox * s;
            yr[ox] = bias + r0[c] * w[0] + r0[c + 1] * w[1] + r0[c + 2] * w[2] + r1[c] * w[3] +
                     r1[c + 1] * w[4] + r1[c + 2] * w[5] + r2[c] * w[6] + r2[c + 1] * w[7] +
                     r2[c + 2] * w[8];
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void dw3x3_avx512(const float *xp, int PW, const float *w,
                                                            float bias, int s, float *y, int OH,
                                                            int OW, const epi *e, float slope)
{
    const __m512 vs = _mm512_set1_ps(e->act == NN_ACT_LEAKY ? e->a : slope);
    const __m512 lo_v = _mm512_set1_ps(e->a), hi_v = _mm512_set1_ps(e->b);
    __m512 k[9];
    for (int i = 0; i < 9; i++) k[i] = _mm512_set1_ps(w[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int oy = 0; oy < OH; oy++) {
        const float *rows[3];
        rows[0] = xp + (size_t)(oy * s) * PW;
        rows[1] = rows[0] + PW;
        rows[2] = rows[1] + PW;
        float *yr = y + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox += 16) {
            /* one accumulator per kernel row: three short FMA chains instead
             * of one chain of nine */
            __m512 acc3[3];
            if (s == 1) {
                for (int r = 0; r < 3; r++) {
                    const float *p = rows[r] + ox;
                    __m512 t = _mm512_mul_ps(_mm512_loadu_ps(p), k[r * 3]);
                    t = _mm512_fmadd_ps(_mm512_loadu_ps(p + 1), k[r * 3 + 1], t);
                    acc3[r] = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2), k[r * 3 + 2], t);
                }
            } else {
                for (int r = 0; r < 3; r++) {
                    const float *p = rows[r] + 2 * ox;
                    __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
                    __m512 a2 = _mm512_loadu_ps(p + 2), b2 = _mm512_loadu_ps(p + 18);
                    __m512 t = _mm512_mul_ps(_mm512_permutex2var_ps(a, even, b), k[r * 3]);
                    t = _mm512_fmadd_ps(_mm512_permutex2var_ps(a, odd, b), k[r * 3 + 1], t);
                    acc3[r] =
                        _mm512_fmadd_ps(_mm512_permutex2var_ps(a2, even, b2), k[r * 3 + 2], t);
                }
            }
            __m512 acc = _mm512_add_ps(_mm512_add_ps(acc3[0], acc3[1]), _mm512_add_ps(acc3[2], vb));
            acc = epi_avx512(e->act, acc, vs, lo_v, hi_v);
            int left = OW - ox;
            if (left >= 16)
                _mm512_storeu_ps(yr + ox, acc);
            else
                _mm512_mask_storeu_ps(yr + ox, (__mmask16)((1u << left) - 1), acc);
        }
    }
}
#endif

#if defined(__x86_64__)
/* Depthwise 3x3 read straight from the unpadded plane: chunks of 16 outputs
 * whose taps all fall inside the row use plain loads, the first and last
 * chunks of a row use masked loads (lanes outside the image read nothing and
 * count as zero), and rows outside the image are skipped. */
__attribute__((target("avx512f"))) static void
dw3x3_inplace_avx512(const float *x, int H, int W, const float *w, float bias, int s, int pt,
                     int pl, float *y, int OH, int OW, const epi *e, float slope)
{
    __m512 k[9];
    for (int i = 0; i < 9; i++) k[i] = _mm512_set1_ps(w[i]);
    const __m512 vb = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
    const __m512 vs = _mm512_set1_ps(e->act == NN_ACT_LEAKY ? e->a : slope);
    const __m512 lo_v = _mm512_set1_ps(e->a), hi_v = _mm512_set1_ps(e->b);
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int span = s == 1 ? 18 : 34; /* input columns a chunk reads, from its first tap */
    for (int oy = 0; oy < OH; oy++) {
        float *yr = y + (size_t)oy * OW;
        const float *rows[3];
        for (int r = 0; r < 3; r++) {
            int iy = oy * s - pt + r;
            rows[r] = iy >= 0 && iy < H ? x + (size_t)iy * W : NULL;
        }
        for (int ox = 0; ox < OW; ox += 16) {
            int start = ox * s - pl; /* input column of lane 0, tap 0 */
            bool inside = start >= 0 && start + span <= W;
            __m512 acc3[3] = {zero, zero, zero};
            for (int r = 0; r < 3; r++) {
                if (!rows[r]) continue;
                const float *p = rows[r] + start;
                __m512 t0, t1, t2;
                if (inside) {
                    if (s == 1) {
                        t0 = _mm512_loadu_ps(p);
                        t1 = _mm512_loadu_ps(p + 1);
                        t2 = _mm512_loadu_ps(p + 2);
                    } else {
                        __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
                        __m512 c2 = _mm512_loadu_ps(p + 2), d2 = _mm512_loadu_ps(p + 18);
                        t0 = _mm512_permutex2var_ps(a, even, b);
                        t1 = _mm512_permutex2var_ps(a, odd, b);
                        t2 = _mm512_permutex2var_ps(c2, even, d2);
                    }
                } else {
                    /* element e of the window is input column start + e */
                    int lo = start < 0 ? -start : 0, hi = W - start;
                    if (hi > 34) hi = 34;
                    uint64_t bits =
                        hi > lo ? ((((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1)) : 0;
                    __m512 a = _mm512_maskz_loadu_ps((__mmask16)(bits & 0xffff), p);
                    __m512 b = _mm512_maskz_loadu_ps((__mmask16)((bits >> 16) & 0xffff), p + 16);
                    __m512 c2 = _mm512_maskz_loadu_ps((__mmask16)((bits >> 2) & 0xffff), p + 2);
                    __m512 d2 = _mm512_maskz_loadu_ps((__mmask16)((bits >> 18) & 0xffff), p + 18);
                    if (s == 1) {
                        t0 = a;
                        t1 = _mm512_maskz_loadu_ps((__mmask16)((bits >> 1) & 0xffff), p + 1);
                        t2 = c2;
                    } else {
                        t0 = _mm512_permutex2var_ps(a, even, b);
                        t1 = _mm512_permutex2var_ps(a, odd, b);
                        t2 = _mm512_permutex2var_ps(c2, even, d2);
                    }
                }
                __m512 t = _mm512_mul_ps(t0, k[r * 3]);
                t = _mm512_fmadd_ps(t1, k[r * 3 + 1], t);
                acc3[r] = _mm512_fmadd_ps(t2, k[r * 3 + 2], t);
            }
            __m512 acc = _mm512_add_ps(_mm512_add_ps(acc3[0], acc3[1]), _mm512_add_ps(acc3[2], vb));
            acc = epi_avx512(e->act, acc, vs, lo_v, hi_v);
            int left = OW - ox;
            if (left >= 16)
                _mm512_storeu_ps(yr + ox, acc);
            else
                _mm512_mask_storeu_ps(yr + ox, (__mmask16)((1u << left) - 1), acc);
        }
    }
}
#endif

#if defined(__x86_64__)
/* dw3x3_avx512 on 8 lanes: the padded plane of pad_plane, one accumulator
 * per kernel row, bias and activation in the store. */
__attribute__((target("avx2,fma"))) static void dw3x3_avx2(const float *xp, int PW, const float *w,
                                                           float bias, int s, float *y, int OH,
                                                           int OW, const epi *e, float slope)
{
    const __m256 vs = _mm256_set1_ps(e->act == NN_ACT_LEAKY ? e->a : slope);
    const __m256 lo_v = _mm256_set1_ps(e->a), hi_v = _mm256_set1_ps(e->b);
    __m256 k[9];
    for (int i = 0; i < 9; i++) k[i] = _mm256_set1_ps(w[i]);
    const __m256 vb = _mm256_set1_ps(bias);
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = xp + (size_t)(oy * s) * PW;
        float *yr = y + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox += 8) {
            __m256 acc3[3];
            for (int r = 0; r < 3; r++) {
                const float *p = r0 + (size_t)r * PW + ox * s;
                __m256 t0, t1, t2;
                if (s == 1) {
                    t0 = _mm256_loadu_ps(p);
                    t1 = _mm256_loadu_ps(p + 1);
                    t2 = _mm256_loadu_ps(p + 2);
                } else {
                    t0 = evens8(p);
                    t1 = odds8(p);
                    t2 = evens8(p + 2);
                }
                __m256 t = _mm256_mul_ps(t0, k[r * 3]);
                t = _mm256_fmadd_ps(t1, k[r * 3 + 1], t);
                acc3[r] = _mm256_fmadd_ps(t2, k[r * 3 + 2], t);
            }
            __m256 acc = _mm256_add_ps(_mm256_add_ps(acc3[0], acc3[1]), _mm256_add_ps(acc3[2], vb));
            acc = epi_avx2(e->act, acc, vs, lo_v, hi_v);
            if (OW - ox >= 8)
                _mm256_storeu_ps(yr + ox, acc);
            else
                _mm256_maskstore_ps(yr + ox, nn_lanes8(0, OW - ox), acc);
        }
    }
}
#endif

bool nn_dw3x3_fast(const nn_node *n, const float *x, int H, int W, const float *w, float bias,
                   int s, int pt, int pl, float *y, int OH, int OW, int64_t ch, float *pad_buf)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512 && n->act != NN_ACT_SIGMOID && n->act != NN_ACT_HSWISH) {
        epi e = {n->act, n->act_a, n->act_b};
        float slope = n->act_slope ? n->act_slope[n->act_slope_n == 1 ? 0 : ch] : 0.0f;
        if (W >= 64) {
            /* large planes: no padded copy */
            dw3x3_inplace_avx512(x, H, W, w, bias, s, pt, pl, y, OH, OW, &e, slope);
            return true;
        }
        int rows = (OH - 1) * s + 3;
        int ow16 = (OW + 15) / 16 * 16;
        int PW = ow16 * s + 2; /* the kernel reads up to column s * ow16 + 1 */
        pad_plane(x, H, W, pt, pl, rows, PW, pad_buf);
        dw3x3_avx512(pad_buf, PW, w, bias, s, y, OH, OW, &e, slope);
        return true;
    }
    if (nn_cpu_features().avx2 && n->act != NN_ACT_SIGMOID && n->act != NN_ACT_HSWISH) {
        epi e = {n->act, n->act_a, n->act_b};
        int rows = (OH - 1) * s + 3;
        int PW = (OW + 15) / 16 * 16 * s + 2; /* as below: covers the 8-lane reads */
        pad_plane(x, H, W, pt, pl, rows, PW, pad_buf);
        dw3x3_avx2(pad_buf, PW, w, bias, s, y, OH, OW, &e, epi_node_slope(n, ch));
        return true;
    }
#endif
    int rows = (OH - 1) * s + 3;
    int ow16 = (OW + 15) / 16 * 16;
    int PW = ow16 * s + 2; /* the kernel reads up to column s * ow16 + 1 */
    pad_plane(x, H, W, pt, pl, rows, PW, pad_buf);
    dw3x3_c(pad_buf, PW, w, bias, s, y, OH, OW);
    nn_apply_act(n, y, 1, (int64_t)OH * OW, ch);
    return true;
}

/* ---- exp, sigmoid, tanh ----------------------------------------------------
 * Cephes-style expf: 2^n * p(r) with |r| <= ln2/2, relative error ~1e-7. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static inline __m512 exp512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx512f"))) static void unary_avx512(nn_unary kind, const float *x, float *y,
                                                            int64_t n)
{
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + i), r;
        switch (kind) {
        case NN_UNARY_EXP:
            r = exp512(v);
            break;
        case NN_UNARY_SIGMOID:
            r = _mm512_div_ps(one,
                              _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
            break;
        default: {
            /* tanh(x) = sign(x) * (1 - 2 / (exp(2|x|) + 1)) */
            __m512 a = _mm512_abs_ps(v);
            __m512 t = _mm512_sub_ps(
                one, _mm512_div_ps(two, _mm512_add_ps(exp512(_mm512_add_ps(a, a)), one)));
            __m512i sign =
                _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u));
            r = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign));
            break;
        }
        }
        _mm512_mask_storeu_ps(y + i, mk, r);
    }
}
#endif

#if defined(__x86_64__)
/* exp512 on 8 lanes; 2^n is built in the exponent bits (n is in [-126, 128]
 * after the clamp, and 2^128 overflows to inf as expf does). */
__attribute__((always_inline, target("avx2,fma"))) static inline __m256 exp256(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* p * 2^n in two steps, so n = 128 (x near 88.3) stays finite where
     * expf is */
    __m256i ni = _mm256_cvtps_epi32(n), half = _mm256_srai_epi32(ni, 1);
    __m256 s0 =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s0), s1);
}

__attribute__((target("avx2,fma"))) static void unary_avx2(nn_unary kind, const float *x, float *y,
                                                           int64_t n)
{
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i mk = nn_lanes8(0, n - i);
        __m256 v = _mm256_maskload_ps(x + i, mk), r;
        switch (kind) {
        case NN_UNARY_EXP:
            r = exp256(v);
            break;
        case NN_UNARY_SIGMOID:
            r = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_xor_ps(v, sign))));
            break;
        default: {
            /* tanh(x) = sign(x) * (1 - 2 / (exp(2|x|) + 1)) */
            __m256 a = _mm256_andnot_ps(sign, v);
            __m256 t = _mm256_sub_ps(
                one, _mm256_div_ps(two, _mm256_add_ps(exp256(_mm256_add_ps(a, a)), one)));
            r = _mm256_or_ps(t, _mm256_and_ps(v, sign));
            break;
        }
        }
        _mm256_maskstore_ps(y + i, mk, r);
    }
}
#endif

bool nn_unary_fast(nn_unary kind, const float *x, float *y, int64_t n)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        unary_avx512(kind, x, y, n);
        return true;
    }
    if (nn_cpu_features().avx2) {
        unary_avx2(kind, x, y, n);
        return true;
    }
#endif
    (void)kind, (void)x, (void)y, (void)n;
    return false;
}

/* 2x2 stride-2 pooling without padding (max or average), 16 outputs at a
 * time: two input rows, pairwise reduce, keep even/odd lanes. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void
pool2x2_avx512(const float *x, int64_t H, int64_t W, float *y, int64_t OH, int64_t OW, bool is_max)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 quarter = _mm512_set1_ps(0.25f);
    (void)H;
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *r0 = x + 2 * oy * W, *r1 = r0 + W;
        float *yr = y + oy * OW;
        for (int64_t ox = 0; ox < OW; ox += 16) {
            int64_t left = OW - ox < 16 ? OW - ox : 16;
            uint64_t eb = ((uint64_t)1 << (2 * left)) - 1;
            __mmask16 lo = (__mmask16)(eb & 0xffff), hi = (__mmask16)(eb >> 16);
            const float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
            __m512 a0 = _mm512_maskz_loadu_ps(lo, p0), a1 = _mm512_maskz_loadu_ps(hi, p0 + 16);
            __m512 b0 = _mm512_maskz_loadu_ps(lo, p1), b1 = _mm512_maskz_loadu_ps(hi, p1 + 16);
            __m512 v;
            if (is_max) {
                __m512 m0 = _mm512_max_ps(a0, b0), m1 = _mm512_max_ps(a1, b1);
                v = _mm512_max_ps(_mm512_permutex2var_ps(m0, even, m1),
                                  _mm512_permutex2var_ps(m0, odd, m1));
            } else {
                __m512 s0 = _mm512_add_ps(a0, b0), s1 = _mm512_add_ps(a1, b1);
                v = _mm512_mul_ps(_mm512_add_ps(_mm512_permutex2var_ps(s0, even, s1),
                                                _mm512_permutex2var_ps(s0, odd, s1)),
                                  quarter);
            }
            _mm512_mask_storeu_ps(yr + ox, (__mmask16)((1u << left) - 1), v);
        }
    }
}
#endif

#if defined(__x86_64__)
/* pool2x2_avx512 on 8 lanes: 16 inputs of each row per 8 outputs, the
 * pairs split by evens8/odds8. */
__attribute__((target("avx2"))) static void pool2x2_avx2(const float *x, int64_t W, float *y,
                                                         int64_t OH, int64_t OW, bool is_max)
{
    const __m256 quarter = _mm256_set1_ps(0.25f);
    for (int64_t oy = 0; oy < OH; oy++) {
        const float *r0 = x + 2 * oy * W, *r1 = r0 + W;
        float *yr = y + oy * OW;
        for (int64_t ox = 0; ox < OW; ox += 8) {
            int64_t left = OW - ox < 8 ? OW - ox : 8;
            float a[16], b[16];
            const float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
            if (left < 8) {
                /* the row's last outputs: copy the inputs they read */
                memcpy(a, p0, (size_t)(2 * left) * sizeof(float));
                memcpy(b, p1, (size_t)(2 * left) * sizeof(float));
                p0 = a;
                p1 = b;
            }
            __m256 v;
            if (is_max)
                v = _mm256_max_ps(_mm256_max_ps(evens8(p0), odds8(p0)),
                                  _mm256_max_ps(evens8(p1), odds8(p1)));
            else
                v = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(evens8(p0), odds8(p0)),
                                                _mm256_add_ps(evens8(p1), odds8(p1))),
                                  quarter);
            if (left == 8)
                _mm256_storeu_ps(yr + ox, v);
            else
                _mm256_maskstore_ps(yr + ox, nn_lanes8(0, left), v);
        }
    }
}
#endif

bool nn_pool2x2_fast(const float *x, int64_t planes, int64_t H, int64_t W, float *y, int64_t OH,
                     int64_t OW, bool is_max)
{
#if defined(__x86_64__)
    if (2 * OH > H || 2 * OW > W) return false;
    if (nn_cpu_features().avx512) {
        for (int64_t p = 0; p < planes; p++)
            pool2x2_avx512(x + p * H * W, H, W, y + p * OH * OW, OH, OW, is_max);
        return true;
    }
    if (nn_cpu_features().avx2) {
        for (int64_t p = 0; p < planes; p++)
            pool2x2_avx2(x + p * H * W, W, y + p * OH * OW, OH, OW, is_max);
        return true;
    }
    return false;
#else
    (void)x, (void)planes, (void)H, (void)W, (void)y, (void)OH, (void)OW, (void)is_max;
    return false;
#endif
}

/* ---- per-channel affine (BatchNormalization) and element-wise arithmetic -- */

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void
affine_avx512(const float *x, float *y, int64_t n, float a, float b, const epi *e, float slope)
{
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    const __m512 vs = _mm512_set1_ps(slope), lo = _mm512_set1_ps(e->a), hi = _mm512_set1_ps(e->b);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, x + i), va, vb);
        v = epi_avx512(e->act, v, vs, lo, hi);
        _mm512_mask_storeu_ps(y + i, mk, v);
    }
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void
affine_avx2(const float *x, float *y, int64_t n, float a, float b, const epi *e, float slope)
{
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    const __m256 vs = _mm256_set1_ps(slope), lo = _mm256_set1_ps(e->a), hi = _mm256_set1_ps(e->b);
    for (int64_t i = 0; i < n; i += 8) {
        __m256i mk = nn_lanes8(0, n - i);
        __m256 v = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, mk), va, vb);
        _mm256_maskstore_ps(y + i, mk, epi_avx2(e->act, v, vs, lo, hi));
    }
}
#endif

void nn_channel_affine(const nn_node *n, const float *x, float *y, int64_t channels, int64_t plane,
                       const float *scale, const float *shift, bool reference)
{
#if defined(__x86_64__)
    epi e = {n->act, n->act_a, n->act_b};
    if (!reference && nn_cpu_features().avx512 && e.act != NN_ACT_SIGMOID &&
        e.act != NN_ACT_HSWISH) {
        for (int64_t ch = 0; ch < channels; ch++) {
            float slope = epi_node_slope(n, ch);
            affine_avx512(x + ch * plane, y + ch * plane, plane, scale[ch], shift[ch], &e, slope);
        }
        return;
    }
    if (!reference && nn_cpu_features().avx2 && e.act != NN_ACT_SIGMOID && e.act != NN_ACT_HSWISH) {
        for (int64_t ch = 0; ch < channels; ch++)
            affine_avx2(x + ch * plane, y + ch * plane, plane, scale[ch], shift[ch], &e,
                        epi_node_slope(n, ch));
        return;
    }
#else
    (void)reference;
#endif
    for (int64_t ch = 0; ch < channels; ch++) {
        const float *xp = x + ch * plane;
        float *yp = y + ch * plane;
        for (int64_t i = 0; i < plane; i++) yp[i] = xp[i] * scale[ch] + shift[ch];
    }
    nn_apply_act(n, y, channels, plane, 0);
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void binary_avx512(int op, const float *a, const float *b,
                                                             float *y, int64_t n, int mode)
{
    for (int64_t i = 0; i < n; i += 16) {
        /* plain loads and stores but for the tail: masked ones cost
         * several plain ones on AMD Zen, even with every lane set */
        bool full = n - i >= 16;
        __mmask16 mk = full ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 va = mode == 2 ? _mm512_set1_ps(a[0])
                    : full    ? _mm512_loadu_ps(a + i)
                              : _mm512_maskz_loadu_ps(mk, a + i);
        __m512 vb = mode == 1 ? _mm512_set1_ps(b[0])
                    : full    ? _mm512_loadu_ps(b + i)
                              : _mm512_maskz_loadu_ps(mk, b + i),
               v;
        switch (op) {
        case 0:
            v = _mm512_add_ps(va, vb);
            break;
        case 1:
            v = _mm512_sub_ps(va, vb);
            break;
        case 2:
            v = _mm512_mul_ps(va, vb);
            break;
        default:
            v = _mm512_div_ps(va, vb);
            break;
        }
        if (full)
            _mm512_storeu_ps(y + i, v);
        else
            _mm512_mask_storeu_ps(y + i, mk, v);
    }
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void binary_avx2(int op, const float *a, const float *b,
                                                        float *y, int64_t n, int mode)
{
    for (int64_t i = 0; i < n; i += 8) {
        __m256i mk = nn_lanes8(0, n - i);
        __m256 va = mode == 2 ? _mm256_set1_ps(a[0]) : _mm256_maskload_ps(a + i, mk);
        __m256 vb = mode == 1 ? _mm256_set1_ps(b[0]) : _mm256_maskload_ps(b + i, mk), v;
        switch (op) {
        case 0:
            v = _mm256_add_ps(va, vb);
            break;
        case 1:
            v = _mm256_sub_ps(va, vb);
            break;
        case 2:
            v = _mm256_mul_ps(va, vb);
            break;
        default:
            v = _mm256_div_ps(va, vb);
            break;
        }
        _mm256_maskstore_ps(y + i, mk, v);
    }
}
#endif

#if defined(__x86_64__)
/* Product then sum, two roundings (the file is ISO C: no contraction), each
 * operation's operands in the unfused operators' order. */
__attribute__((always_inline, target("avx512f"))) static inline __m512
scale_add_512(__m512 x, __m512 s, __m512 r, const bool s_first, const bool mul_first)
{
    __m512 m = s_first ? _mm512_mul_ps(s, x) : _mm512_mul_ps(x, s);
    return mul_first ? _mm512_add_ps(m, r) : _mm512_add_ps(r, m);
}

__attribute__((always_inline, target("avx512f"))) static inline void
scale_add_body512(const float *x, float s, const float *r, float *y, int64_t n, const bool s_first,
                  const bool mul_first)
{
    const __m512 vs = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, scale_add_512(_mm512_loadu_ps(x + i), vs, _mm512_loadu_ps(r + i),
                                              s_first, mul_first));
    if (i < n) {
        __mmask16 mk = nn_lanes_below(n - i);
        _mm512_mask_storeu_ps(y + i, mk,
                              scale_add_512(_mm512_maskz_loadu_ps(mk, x + i), vs,
                                            _mm512_maskz_loadu_ps(mk, r + i), s_first, mul_first));
    }
}

__attribute__((target("avx512f"))) static void scale_add_avx512(const float *x, float s,
                                                                const float *r, float *y, int64_t n,
                                                                bool s_first, bool mul_first)
{
    if (s_first && mul_first)
        scale_add_body512(x, s, r, y, n, true, true);
    else if (s_first)
        scale_add_body512(x, s, r, y, n, true, false);
    else if (mul_first)
        scale_add_body512(x, s, r, y, n, false, true);
    else
        scale_add_body512(x, s, r, y, n, false, false);
}

__attribute__((target("avx2"))) static void scale_add_avx2(const float *x, float s, const float *r,
                                                           float *y, int64_t n, bool s_first,
                                                           bool mul_first)
{
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i), v = _mm256_loadu_ps(r + i);
        __m256 m = s_first ? _mm256_mul_ps(vs, xv) : _mm256_mul_ps(xv, vs);
        _mm256_storeu_ps(y + i, mul_first ? _mm256_add_ps(m, v) : _mm256_add_ps(v, m));
    }
    for (; i < n; i++) {
        float m = s_first ? s * x[i] : x[i] * s;
        y[i] = mul_first ? m + r[i] : r[i] + m;
    }
}
#endif

bool nn_scale_add_fast(const float *x, float s, const float *r, float *y, int64_t n, bool s_first,
                       bool mul_first)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        scale_add_avx512(x, s, r, y, n, s_first, mul_first);
        return true;
    }
    if (nn_cpu_features().avx2) {
        scale_add_avx2(x, s, r, y, n, s_first, mul_first);
        return true;
    }
    return false;
#else
    (void)x, (void)s, (void)r, (void)y, (void)n, (void)s_first, (void)mul_first;
    return false;
#endif
}

bool nn_binary_fast(int op, const float *a, const float *b, float *y, int64_t n, int mode)
{
#if defined(__x86_64__)
    if (op < 0 || op > 3) return false;
    if (nn_cpu_features().avx512) {
        binary_avx512(op, a, b, y, n, mode);
        return true;
    }
    if (nn_cpu_features().avx2) {
        binary_avx2(op, a, b, y, n, mode);
        return true;
    }
    return false;
#else
    (void)op, (void)a, (void)b, (void)y, (void)n, (void)mode;
    return false;
#endif
}

/* 3x3 stride-2 max pooling (pads up to 1), 16 outputs at a time: taps are
 * the even lanes of 32 loaded values, taps outside the image are masked to
 * -FLT_MAX. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void maxpool3s2_avx512(const float *x, int64_t H,
                                                                 int64_t W, float *y, int64_t OH,
                                                                 int64_t OW, int64_t pt, int64_t pl)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 ninf = _mm512_set1_ps(-3.402823466e38f);
    for (int64_t oy = 0; oy < OH; oy++) {
        float *yr = y + oy * OW;
        for (int64_t ox = 0; ox < OW; ox += 16) {
            __m512 acc = ninf;
            for (int64_t ky = 0; ky < 3; ky++) {
                int64_t iy = 2 * oy - pt + ky;
                if (iy < 0 || iy >= H) continue;
                const float *row = x + iy * W;
                for (int64_t kx = 0; kx < 3; kx++) {
                    int64_t start = 2 * ox - pl + kx;
                    int64_t lo = start < 0 ? -start : 0, hi = W - start < 32 ? W - start : 32;
                    if (hi <= lo) continue;
                    uint64_t bits = (((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1);
                    __m512 a = _mm512_mask_loadu_ps(ninf, (__mmask16)(bits & 0xffff), row + start);
                    __m512 b =
                        _mm512_mask_loadu_ps(ninf, (__mmask16)(bits >> 16), row + start + 16);
                    acc = _mm512_max_ps(acc, _mm512_permutex2var_ps(a, even, b));
                }
            }
            int64_t left = OW - ox < 16 ? OW - ox : 16;
            _mm512_mask_storeu_ps(yr + ox, (__mmask16)((1u << left) - 1), acc);
        }
    }
}
#endif

bool nn_maxpool3s2_fast(const float *x, int64_t planes, int64_t H, int64_t W, float *y, int64_t OH,
                        int64_t OW, int64_t pt, int64_t pl)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || pt > 1 || pl > 1) return false;
    for (int64_t p = 0; p < planes; p++)
        maxpool3s2_avx512(x + p * H * W, H, W, y + p * OH * OW, OH, OW, pt, pl);
    return true;
#else
    (void)x, (void)planes, (void)H, (void)W, (void)y, (void)OH, (void)OW, (void)pt, (void)pl;
    return false;
#endif
}

/* Depthwise 3x3 for small planes, 16 channels per vector: the image is
 * transposed to a zero-padded channels-last copy, each output pixel is nine
 * FMAs per block of 16 channels, and the result is transposed back. For
 * planes of a few dozen pixels this beats one call per channel. */
size_t nn_dw3x3_small_scratch(int64_t C, int64_t OH, int64_t OW, int s)
{
    int64_t C16 = (C + 15) / 16 * 16, PH = (OH - 1) * s + 3, PW = (OW - 1) * s + 3;
    return (size_t)((PH * PW + OH * OW + 10) * C16 + 64) * sizeof(float);
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static void
dw3x3_small_avx512(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                   const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                   int64_t OH, int64_t OW, float *scratch)
{
    int64_t C16 = (C + 15) / 16 * 16, PH = (OH - 1) * s + 3, PW = (OW - 1) * s + 3;
    float *xt = scratch, *yt = xt + PH * PW * C16, *wt = yt + OH * OW * C16, *bt = wt + 9 * C16;
    memset(xt, 0, (size_t)(PH * PW * C16) * sizeof(float));
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * H * W;
        for (int64_t iy = 0; iy < H; iy++) {
            int64_t py = iy + pt;
            if (py < 0 || py >= PH) continue;
            for (int64_t ix = 0; ix < W; ix++) {
                int64_t px = ix + pl;
                if (px >= 0 && px < PW) xt[(py * PW + px) * C16 + c] = xc[iy * W + ix];
            }
        }
    }
    for (int64_t c = 0; c < C16; c++) {
        for (int t = 0; t < 9; t++) wt[t * C16 + c] = c < C ? w[c * 9 + t] : 0.0f;
        bt[c] = c < C && bias ? bias[c] : 0.0f;
    }
    epi e = {n->act, n->act_a, n->act_b};
    const __m512 lo = _mm512_set1_ps(e.a), hi = _mm512_set1_ps(e.b);
    for (int64_t cb = 0; cb < C16; cb += 16) {
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_loadu_ps(wt + t * C16 + cb);
        __m512 vb = _mm512_loadu_ps(bt + cb), vs = _mm512_set1_ps(e.a);
        if (e.act == NN_ACT_PRELU) {
            float sl[16];
            for (int j = 0; j < 16; j++)
                sl[j] = cb + j < C ? n->act_slope[n->act_slope_n == 1 ? 0 : cb + j] : 0.0f;
            vs = _mm512_loadu_ps(sl);
        }
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                const float *p = xt + ((oy * s) * PW + ox * s) * C16 + cb;
                __m512 a0 = _mm512_mul_ps(_mm512_loadu_ps(p), k[0]);
                __m512 a1 = _mm512_mul_ps(_mm512_loadu_ps(p + PW * C16), k[3]);
                __m512 a2 = _mm512_mul_ps(_mm512_loadu_ps(p + 2 * PW * C16), k[6]);
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p + C16), k[1], a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(p + PW * C16 + C16), k[4], a1);
                a2 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2 * PW * C16 + C16), k[7], a2);
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2 * C16), k[2], a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(p + PW * C16 + 2 * C16), k[5], a1);
                a2 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2 * PW * C16 + 2 * C16), k[8], a2);
                __m512 v = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, vb));
                v = epi_avx512(e.act, v, vs, lo, hi);
                _mm512_storeu_ps(yt + (oy * OW + ox) * C16 + cb, v);
            }
    }
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < OH * OW; i++) y[c * OH * OW + i] = yt[i * C16 + c];
}
#endif

bool nn_dw3x3_small(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                    const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                    int64_t OH, int64_t OW, float *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH)
        return false;
    dw3x3_small_avx512(n, x, C, H, W, w, bias, s, pt, pl, y, OH, OW, scratch);
    return true;
#else
    (void)n, (void)x, (void)C, (void)H, (void)W, (void)w, (void)bias, (void)s, (void)pt, (void)pl,
        (void)y, (void)OH, (void)OW, (void)scratch;
    return false;
#endif
}

/* Depthwise 3x3 with pads of 1 on planes of up to NN_DW_FLAT_MAX pixels (a
 * quarter of that for stride 2), one
 * channel at a time, the output plane taken as one flat array. With stride 1
 * (same-size output) tap (dy, dx) of output i reads input i + dy * W + dx,
 * so each block of 16 outputs is nine masked loads at fixed offsets and nine
 * FMAs, whatever the row length; the masks (lanes whose tap falls outside
 * the image or past the plane) depend only on the geometry and are built
 * once per call. Stride 2 first splits the channel into its four phase
 * planes (even/odd rows x even/odd columns, each the size of the output,
 * zero past the image): every tap is then one of them shifted by 0 or -1
 * row/column, and the same flat loop applies. No padded copies, no
 * transposes, no per-row calls: on the small planes of landmark and eye
 * networks the fixed cost per channel is a few dozen instructions. Blocks
 * away from every border skip the masks. Two shapes take row kernels
 * instead: stride 1 on rows of whole 16-lane blocks (two output rows at a
 * time, no masks), and stride 2 with output rows of 8 pixels or more (any
 * plane size; no phase planes). */
#define NN_DW_FLAT_MAX 32768
/* The row kernels read a row of zeros for the rows above and below the
 * image, for rows up to this wide; the 32 floats past it are what a row's
 * last, masked block of two loads addresses. */
#define DW_ZERO_ROW 4096
#if defined(__x86_64__)
static const float dw_zero_row[DW_ZERO_ROW + 32];
#endif

size_t nn_dw3x3_flat_scratch(int64_t H, int64_t W)
{
    int64_t chunks = (H * W + 15) / 16, phases = 4 * ((H + 1) / 2) * ((W + 1) / 2);
    return (size_t)(9 * (chunks + 1)) * sizeof(uint16_t) + 128 +
           (size_t)(phases + 64) * sizeof(float);
}

#if defined(__x86_64__)
/* The nine tap masks of every block of 16 outputs of an OH x OW plane. */
__attribute__((target("avx512f"))) static void dw_flat_masks(uint16_t *masks, int64_t OH,
                                                             int64_t OW, int s)
{
    /* lane i: row i / OW (exact in float for planes this small), column
     * i - row * OW; the tap masks from five comparisons */
    int64_t plane = OH * OW, chunks = (plane + 15) / 16;
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i vW = _mm512_set1_epi32((int)OW), one = _mm512_set1_epi32(1);
    const __m512i vH1 = _mm512_set1_epi32((int)OH - 1), vW1 = _mm512_set1_epi32((int)OW - 1);
    const __m512i vplane = _mm512_set1_epi32((int)plane);
    const __m512 rW = _mm512_set1_ps(1.0f / (float)OW), half = _mm512_set1_ps(0.5f);
    for (int64_t j = 0; j < chunks; j++) {
        __m512i i = _mm512_add_epi32(_mm512_set1_epi32((int)(j * 16)), iota);
        __m512 fi = _mm512_add_ps(_mm512_cvtepi32_ps(i), half);
        __m512i oy = _mm512_cvttps_epi32(_mm512_mul_ps(fi, rW));
        __m512i ox = _mm512_sub_epi32(i, _mm512_mullo_epi32(oy, vW));
        __mmask16 in = _mm512_cmplt_epi32_mask(i, vplane);
        __mmask16 up = _mm512_mask_cmpge_epi32_mask(in, oy, one);
        __mmask16 down = _mm512_mask_cmplt_epi32_mask(in, oy, vH1);
        __mmask16 left = _mm512_cmpge_epi32_mask(ox, one);
        __mmask16 right = _mm512_cmplt_epi32_mask(ox, vW1);
        /* stride 2: the phase planes are zero below and right of the image */
        __mmask16 rowm[3] = {up, in, s == 1 ? down : in};
        __mmask16 colm[3] = {left, 0xffff, s == 1 ? right : 0xffff};
        for (int t = 0; t < 9; t++) masks[j * 9 + t] = (uint16_t)(rowm[t / 3] & colm[t % 3]);
    }
}

/* Splits one channel into its four phase planes ph[a * 2 + b][i][j] =
 * x[2i + a][2j + b] (zero outside the image), each OH x OW. */
__attribute__((target("avx512f"))) static void dw_flat_phases(const float *x, int64_t H, int64_t W,
                                                              int64_t OH, int64_t OW, float *ph)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int64_t pp = OH * OW;
    for (int64_t r = 0; r < 2 * OH; r++) {
        float *e = ph + (r & 1) * 2 * pp + (r >> 1) * OW, *o = e + pp;
        for (int64_t q = 0; q < OW; q += 16) {
            int64_t nin = r < H ? W - 2 * q : 0, nout = OW - q;
            __mmask16 mlo = (__mmask16)(nin >= 16 ? 0xffff : nin > 0 ? (1u << nin) - 1 : 0);
            __mmask16 mhi = (__mmask16)(nin >= 32 ? 0xffff : nin > 16 ? (1u << (nin - 16)) - 1 : 0);
            __mmask16 mo = (__mmask16)(nout >= 16 ? 0xffff : (1u << nout) - 1);
            const float *p = x + (r < H ? r : 0) * W + 2 * q;
            __m512 lo = _mm512_maskz_loadu_ps(mlo, p), hi = _mm512_maskz_loadu_ps(mhi, p + 16);
            _mm512_mask_storeu_ps(e + q, mo, _mm512_permutex2var_ps(lo, even, hi));
            _mm512_mask_storeu_ps(o + q, mo, _mm512_permutex2var_ps(lo, odd, hi));
        }
    }
}

#if defined(__x86_64__)
/* Block b of an output row pair of dw_rows2_avx512: input rows row[0..3],
 * pv / cv each row's previous and current block; `more`: a block follows
 * (else the right taps past the row read zero). y1 NULL: the pair's second
 * row is not wanted. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_rows2_block(const float *const row[4], int64_t b, const bool more, const __m512 *k, __m512 vb,
               const int act, __m512 vs, __m512 lo, __m512 hi, __m512 pv[4], __m512 cv[4],
               float *y0, float *y1)
{
    __m512 l[4], r[4];
    for (int i = 0; i < 4; i++) {
        __m512 nv = more ? _mm512_loadu_ps(row[i] + (b + 1) * 16) : _mm512_setzero_ps();
        l[i] = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(cv[i]), _mm512_castps_si512(pv[i]), 15));
        r[i] = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(nv), _mm512_castps_si512(cv[i]), 1));
        pv[i] = cv[i];
        cv[i] = nv;
    }
    /* output row oy: input rows 0-2; row oy + 1: input rows 1-3 (pv now
     * holds each row's centre block) */
    __m512 a[3], e[3];
    for (int t = 0; t < 3; t++) {
        a[t] = _mm512_mul_ps(l[t], k[t * 3]);
        a[t] = _mm512_fmadd_ps(pv[t], k[t * 3 + 1], a[t]);
        a[t] = _mm512_fmadd_ps(r[t], k[t * 3 + 2], a[t]);
        e[t] = _mm512_mul_ps(l[t + 1], k[t * 3]);
        e[t] = _mm512_fmadd_ps(pv[t + 1], k[t * 3 + 1], e[t]);
        e[t] = _mm512_fmadd_ps(r[t + 1], k[t * 3 + 2], e[t]);
    }
    __m512 v0 = _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], vb));
    __m512 v1 = _mm512_add_ps(_mm512_add_ps(e[0], e[1]), _mm512_add_ps(e[2], vb));
    _mm512_storeu_ps(y0 + b * 16, epi_avx512(act, v0, vs, lo, hi));
    if (y1) _mm512_storeu_ps(y1 + b * 16, epi_avx512(act, v1, vs, lo, hi));
}
#endif

/* Stride 1 on rows that are a whole number of 16-lane blocks (120x160,
 * 60x80): blocks never straddle rows, so the image border is only the zero
 * neighbour of a row's first and last block and the missing rows above and
 * below; no masks at all. Two output rows at a time share the shifted
 * copies of their two middle input rows: per pair of outputs four loads and
 * eight lane shifts instead of six and twelve. `big`: the input is past L2,
 * prefetch the rows the next pair adds. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_rows2_avx512(const float *xc, int64_t H, int64_t W, const __m512 *k, __m512 vb, int act,
                __m512 vs, __m512 lo, __m512 hi, float *yc, bool big, int64_t xr0, int64_t oy0,
                int64_t oy1)
{
    /* rows [oy0, oy1) (two at a time from oy0; each output the same
     * arithmetic whichever of a pair it is), input row iy at
     * xc + (iy - xr0) * W, output row oy at yc + (oy - oy0) * W */
    const __m512 zero = _mm512_setzero_ps();
    int64_t R = W / 16;
    for (int64_t oy = oy0; oy < oy1; oy += 2) {
        if (big) /* the rows the next pair adds, ahead of use */
            for (int64_t r = oy + 3; r < oy + 5 && r < H; r++)
                for (int64_t b = 0; b < W; b += 16)
                    _mm_prefetch((const char *)(xc + r * W + b), _MM_HINT_T0);
        /* rows above and below the image read zeros: no branch per block */
        const float *row[4];
        for (int i = 0; i < 4; i++) {
            int64_t iy = oy - 1 + i;
            row[i] = iy >= 0 && iy < H ? xc + (iy - xr0) * W : dw_zero_row;
        }
        float *y0 = yc + (oy - oy0) * W;
        float *y1 = oy + 1 < oy1 ? y0 + W : NULL; /* NULL: past oy1 */
        __m512 pv[4], cv[4];
        for (int i = 0; i < 4; i++) {
            pv[i] = zero;
            cv[i] = _mm512_loadu_ps(row[i]);
        }
        for (int64_t b = 0; b + 1 < R; b++)
            dw_rows2_block(row, b, true, k, vb, act, vs, lo, hi, pv, cv, y0, y1);
        dw_rows2_block(row, R - 1, false, k, vb, act, vs, lo, hi, pv, cv, y0, y1);
    }
}

/* One block of 16 stride-1 outputs of the flat kernel: its three input
 * rows' centre blocks are cv (the blocks before them pv); the next blocks
 * p - W, p, p + W are loaded, and the left and right taps are lane shifts
 * across the three. `masked` (a constant at each call): the loads, shifts
 * and the store take the block's tap masks m (and the next block's), for
 * blocks that touch a border; otherwise none. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_flat_s1_block(const float *p, int64_t W, const uint16_t *m, __mmask16 store, const __m512 *k,
                 __m512 vb, int act, __m512 vs, __m512 lo, __m512 hi, __m512 *pv, __m512 *cv,
                 float *out, const bool masked)
{
    const uint16_t *mn = m + 9;
    __m512 acc[3];
    for (int r = 0; r < 3; r++) {
        const float *q = p + (r - 1) * W;
        __m512 nv = masked ? _mm512_maskz_loadu_ps(mn[r * 3 + 1], q) : _mm512_loadu_ps(q);
        __m512i c = _mm512_castps_si512(cv[r]), pr = _mm512_castps_si512(pv[r]),
                n = _mm512_castps_si512(nv);
        __m512 l = _mm512_castsi512_ps(masked ? _mm512_maskz_alignr_epi32(m[r * 3], c, pr, 15)
                                              : _mm512_alignr_epi32(c, pr, 15));
        __m512 rt = _mm512_castsi512_ps(masked ? _mm512_maskz_alignr_epi32(m[r * 3 + 2], n, c, 1)
                                               : _mm512_alignr_epi32(n, c, 1));
        __m512 a = _mm512_mul_ps(l, k[r * 3]);
        a = _mm512_fmadd_ps(cv[r], k[r * 3 + 1], a);
        acc[r] = _mm512_fmadd_ps(rt, k[r * 3 + 2], a);
        pv[r] = cv[r];
        cv[r] = nv;
    }
    __m512 v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], vb));
    v = epi_avx512(act, v, vs, lo, hi);
    if (masked && store != 0xffff) /* masked stores cost more on Zen, even full */
        _mm512_mask_storeu_ps(out, store, v);
    else
        _mm512_storeu_ps(out, v);
}

__attribute__((always_inline, target("avx512f"))) static inline void
dw3x3_flat_act(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W, const float *w,
               const float *bias, int s, float *y, int64_t OH, int64_t OW, void *scratch,
               const int act)
{
    int64_t plane = OH * OW, chunks = (plane + 15) / 16;
    uint16_t *masks = scratch;
    float *ph = (float *)((char *)scratch +
                          ((size_t)(9 * (chunks + 1)) * sizeof(uint16_t) + 63) / 64 * 64 + 64);
    dw_flat_masks(masks, OH, OW, s);
    memset(masks + 9 * chunks, 0, 9 * sizeof(uint16_t)); /* past the end: nothing */
    /* stride 1 (the phase planes' room is free): blocks whose masks are all
     * full and whose next block's rows lie inside the plane */
    uint8_t *full = (uint8_t *)ph;
    for (int64_t j = 0; s == 1 && j < chunks; j++) {
        const uint16_t *m = masks + j * 9, *mn = m + 9;
        full[j] = (m[0] & m[2] & m[3] & m[5] & m[6] & m[8] & mn[1] & mn[4] & mn[7]) == 0xffff;
    }
    /* where tap t of output 0 reads, relative to the channel (stride 1) or
     * to the phase planes (stride 2) */
    int64_t off[9];
    for (int t = 0; t < 9; t++) {
        int dy = t / 3, dx = t % 3;
        if (s == 1)
            off[t] = (dy - 1) * W + dx - 1;
        else
            off[t] = ((dy != 1) * 2 + (dx != 1)) * plane - (dy == 0) * OW - (dx == 0);
    }
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(n->act_a),
                 hi = _mm512_set1_ps(n->act_b);
    __mmask16 last = (__mmask16)(plane % 16 ? (1u << (plane % 16)) - 1 : 0xffff);
    /* stride 2 from a plane of at most 64 pixels into at most 16: the input
     * is four registers and every tap one pair of lane permutations, no
     * phase planes */
    bool inreg = s == 2 && H * W <= 64 && plane <= 16;
    __m512i tidx[9];
    __mmask16 thi[9], tok[9];
    for (int t = 0; inreg && t < 9; t++) {
        int32_t ix[16] = {0};
        uint32_t hib = 0, ok = 0;
        for (int64_t p = 0; p < plane; p++) {
            int64_t iy = 2 * (p / OW) - 1 + t / 3, xx = 2 * (p % OW) - 1 + t % 3;
            if (iy < 0 || iy >= H || xx < 0 || xx >= W) continue;
            int64_t src = iy * W + xx;
            ix[p] = (int32_t)(src & 31);
            if (src >= 32) hib |= 1u << p;
            ok |= 1u << p;
        }
        tidx[t] = _mm512_loadu_si512(ix);
        thi[t] = (__mmask16)hib;
        tok[t] = (__mmask16)ok;
    }
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * H * W, *wc = w + c * 9;
        if (inreg) {
            int64_t hw = H * W;
            __m512 r[4];
            for (int q = 0; q < 4; q++) {
                int64_t left = hw - 16 * q;
                __mmask16 mq = (__mmask16)(left >= 16 ? 0xffff : left > 0 ? (1u << left) - 1 : 0);
                r[q] = _mm512_maskz_loadu_ps(mq, xc + 16 * q);
            }
            __m512 v = _mm512_set1_ps(bias ? bias[c] : 0.0f);
            for (int t = 0; t < 9; t++) {
                __m512 a = _mm512_permutex2var_ps(r[0], tidx[t], r[1]);
                __m512 b = _mm512_permutex2var_ps(r[2], tidx[t], r[3]);
                __m512 tap = _mm512_maskz_mov_ps(tok[t], _mm512_mask_blend_ps(thi[t], a, b));
                v = _mm512_fmadd_ps(tap, _mm512_set1_ps(wc[t]), v);
            }
            float sl = epi_node_slope(n, c);
            v = epi_avx512(act, v, _mm512_set1_ps(sl), lo, hi);
            _mm512_mask_storeu_ps(y + c * plane, last, v);
            continue;
        }
        if (s == 2) {
            dw_flat_phases(xc, H, W, OH, OW, ph);
            xc = ph;
        }
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec ch_epi =
            epi_vec_of(n->act, n->act_a, n->act_b, n->act_slope, n->act_slope_n, bias, c);
        __m512 vb = ch_epi.vb, vs = ch_epi.vs;
        float *yc = y + c * plane;
        if (s == 1 && nn_dw3x3s1_rows_takes(W)) {
            dw_rows2_avx512(xc, H, W, k, vb, act, vs, lo, hi, yc,
                            C * H * W * (int64_t)sizeof(float) > ((int64_t)1 << 20), 0, 0, H);
            continue;
        }
        /* stride 1: each input row is loaded once per block (the centre
         * taps) and its left and right neighbours are lane shifts across
         * the previous and next blocks: three loads per block, not nine */
        __m512 pv[3], cv[3];
        for (int r = 0; r < 3; r++) {
            pv[r] = zero;
            cv[r] = s == 1 ? _mm512_maskz_loadu_ps(masks[r * 3 + 1], xc + (r - 1) * W) : zero;
        }
        for (int64_t j = 0; s == 1 && j < chunks; j++) {
            const float *p = xc + (j + 1) * 16;
            const uint16_t *m = masks + j * 9;
            /* most blocks touch no border: then every mask is full, the
             * next block's rows lie inside the plane, and the loads and
             * shifts need no masks (fewer mask moves, cheaper loads) */
            if (full[j])
                dw_flat_s1_block(p, W, m, 0xffff, k, vb, act, vs, lo, hi, pv, cv, yc + j * 16,
                                 false);
            else
                dw_flat_s1_block(p, W, m, j + 1 < chunks ? 0xffff : last, k, vb, act, vs, lo, hi,
                                 pv, cv, yc + j * 16, true);
        }
        for (int64_t j = 0; s == 2 && j < chunks; j++) {
            const float *p = xc + j * 16;
            const uint16_t *m = masks + j * 9;
            __m512 a0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m[0], p + off[0]), k[0]);
            __m512 a1 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m[3], p + off[3]), k[3]);
            __m512 a2 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m[6], p + off[6]), k[6]);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[1], p + off[1]), k[1], a0);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[4], p + off[4]), k[4], a1);
            a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[7], p + off[7]), k[7], a2);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[2], p + off[2]), k[2], a0);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[5], p + off[5]), k[5], a1);
            a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[8], p + off[8]), k[8], a2);
            __m512 v = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, vb));
            v = epi_avx512(act, v, vs, lo, hi);
            _mm512_mask_storeu_ps(yc + j * 16, j + 1 < chunks ? 0xffff : last, v);
        }
    }
}

/* dw3x3_flat_act with the activation a compile-time constant. */
__attribute__((target("avx512f"))) static void
dw3x3_flat_avx512(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W, const float *w,
                  const float *bias, int s, float *y, int64_t OH, int64_t OW, void *scratch)
{
    NN_PER_ACT(n->act, dw3x3_flat_act(n, x, C, H, W, w, bias, s, y, OH, OW, scratch, ACT));
}
#endif

#if defined(__x86_64__)
/* A 3x3 convolution of a single input channel into M channels on the same
 * flat geometry: the nine tap vectors of each block are loaded once and
 * feed every output channel (a landmark network's first layer). */
__attribute__((target("avx512f"))) static void
conv1ch_flat_avx512(const nn_node *n, const float *x, int64_t H, int64_t W, int64_t M,
                    const float *w, const float *bias, int s, float *y, int64_t OH, int64_t OW,
                    void *scratch)
{
    int64_t plane = OH * OW, chunks = (plane + 15) / 16;
    uint16_t *masks = scratch;
    float *ph = (float *)((char *)scratch +
                          ((size_t)(9 * (chunks + 1)) * sizeof(uint16_t) + 63) / 64 * 64 + 64);
    dw_flat_masks(masks, OH, OW, s);
    const float *xc = x;
    if (s == 2) {
        dw_flat_phases(x, H, W, OH, OW, ph);
        xc = ph;
    }
    int64_t off[9];
    for (int t = 0; t < 9; t++) {
        int dy = t / 3, dx = t % 3;
        off[t] = s == 1 ? (dy - 1) * W + dx - 1
                        : ((dy != 1) * 2 + (dx != 1)) * plane - (dy == 0) * OW - (dx == 0);
    }
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(n->act_a),
                 hi = _mm512_set1_ps(n->act_b);
    const int act = n->act;
    __mmask16 last = (__mmask16)(plane % 16 ? (1u << (plane % 16)) - 1 : 0xffff);
    for (int64_t j = 0; j < chunks; j++) {
        const float *p = xc + j * 16;
        const uint16_t *mk = masks + j * 9;
        __m512 t[9];
        for (int k = 0; k < 9; k++) t[k] = _mm512_maskz_loadu_ps(mk[k], p + off[k]);
        __mmask16 st = j + 1 < chunks ? 0xffff : last;
        for (int64_t m = 0; m < M; m++) {
            const float *wm = w + m * 9;
            __m512 a0 =
                _mm512_fmadd_ps(t[0], _mm512_set1_ps(wm[0]), _mm512_set1_ps(bias ? bias[m] : 0.0f));
            __m512 a1 = _mm512_mul_ps(t[3], _mm512_set1_ps(wm[3]));
            __m512 a2 = _mm512_mul_ps(t[6], _mm512_set1_ps(wm[6]));
            a0 = _mm512_fmadd_ps(t[1], _mm512_set1_ps(wm[1]), a0);
            a1 = _mm512_fmadd_ps(t[4], _mm512_set1_ps(wm[4]), a1);
            a2 = _mm512_fmadd_ps(t[7], _mm512_set1_ps(wm[7]), a2);
            a0 = _mm512_fmadd_ps(t[2], _mm512_set1_ps(wm[2]), a0);
            a1 = _mm512_fmadd_ps(t[5], _mm512_set1_ps(wm[5]), a1);
            a2 = _mm512_fmadd_ps(t[8], _mm512_set1_ps(wm[8]), a2);
            __m512 v = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
            switch (act) {
            case NN_ACT_RELU:
                v = _mm512_max_ps(v, zero);
                break;
            case NN_ACT_PRELU:
            case NN_ACT_LEAKY: {
                float sl = epi_node_slope(n, m);
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
            _mm512_mask_storeu_ps(y + m * plane + j * 16, st, v);
        }
    }
}
#endif

#if defined(__x86_64__)
/* Depthwise 3x3, stride 2, pads of 1, row by row: for each block of 16
 * outputs and each of the three input rows, two loads of 32 columns and
 * two permutations give the even (centre tap) and odd (right tap) columns;
 * the left tap is the odd columns shifted by one lane, the first lane
 * coming from the previous block (zero at the left border). No phase
 * planes, no per-block masks: on 120x160 and 60x80 planes this does half
 * the work of the phase-plane and in-place kernels.
 *
 * The loop over a row's blocks is branch-free: a row above or below the
 * image is a row of zeros (its products add +0), the blocks whose 32 input
 * columns are all inside run with plain loads and stores before the last
 * one, and the activation is a compile-time constant (dw_s2_rows_act). */
__attribute__((always_inline, target("avx512f"))) static inline __m512
dw_s2_block(const float *const row[3], int64_t c0, bool full, __mmask16 m0, __mmask16 m1,
            const __m512 k[9], __m512 acc, __m512 pod[3])
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#pragma GCC unroll 3
    for (int r = 0; r < 3; r++) {
        const float *p = row[r] + c0;
        __m512 a = full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m0, p);
        __m512 b = full ? _mm512_loadu_ps(p + 16) : _mm512_maskz_loadu_ps(m1, p + 16);
        __m512 ev = _mm512_permutex2var_ps(a, even, b);
        __m512 od = _mm512_permutex2var_ps(a, odd, b);
        __m512 lf = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(od), _mm512_castps_si512(pod[r]), 15));
        pod[r] = od;
        acc = _mm512_fmadd_ps(lf, k[r * 3], acc);
        acc = _mm512_fmadd_ps(ev, k[r * 3 + 1], acc);
        acc = _mm512_fmadd_ps(od, k[r * 3 + 2], acc);
    }
    return acc;
}

__attribute__((always_inline, target("avx512f"))) static inline void
dw_s2_rows_act(const nn_node *n, const nn_dw_rows *g, const float *w, const float *bias, float *y,
               const int act)
{
    const float *x = g->x;
    const int64_t C = g->C, H = g->H, W = g->W, OH = g->OH, OW = g->OW;
    const __m512 zero = _mm512_setzero_ps();
    /* an input larger than L2 comes from L3, where the hardware
     * prefetchers fall behind when other cores stream too: prefetch the
     * rows needed two output rows ahead */
    bool big = g->prefetch && C * H * W * (int64_t)sizeof(float) > ((int64_t)1 << 20);
    /* blocks [0, nfull) read 32 columns inside the row and store 16 */
    int64_t nfull = 0;
    while (16 * (nfull + 1) <= OW && 32 * (nfull + 1) <= W) nfull++;
    for (int64_t c = 0; c < C; c++) {
        /* row iy of the channel at xc + (iy - r0) * W: rows r0 on are given */
        const float *xc = x + c * g->xs, *wc = w + c * 9;
        float *yc = y + c * OH * OW;
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec e = epi_vec_of(n->act, n->act_a, n->act_b, n->act_slope, n->act_slope_n, bias, c);
        for (int64_t oy = g->oy0; oy < g->oy1; oy++) {
            const float *row[3];
            for (int r = 0; r < 3; r++) {
                int64_t iy = 2 * oy - 1 + r;
                row[r] = iy >= 0 && iy < H ? xc + (iy - g->r0) * W : dw_zero_row;
            }
            if (big) /* two output rows ahead */
                for (int64_t r = 2 * oy + 4; r < 2 * oy + 6 && r < H; r++)
                    for (int64_t b = 0; b < W; b += 16)
                        _mm_prefetch((const char *)(xc + r * W + b), _MM_HINT_T0);
            __m512 pod[3] = {zero, zero, zero}; /* previous block's odd columns */
            float *yr = yc + oy * OW;
            for (int64_t j = 0; j < nfull; j++) {
                __m512 acc = dw_s2_block(row, 32 * j, true, 0, 0, k, e.vb, pod);
                _mm512_storeu_ps(yr + 16 * j, epi_avx512(act, acc, e.vs, e.lo, e.hi));
            }
            for (int64_t ox = 16 * nfull; ox < OW; ox += 16) {
                int64_t c0 = 2 * ox, left = W - c0; /* input columns from c0 on */
                __mmask16 m0 = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
                __mmask16 m1 = (__mmask16)(left >= 32   ? 0xffff
                                           : left <= 16 ? 0
                                                        : (1u << (left - 16)) - 1);
                __m512 acc = dw_s2_block(row, c0, false, m0, m1, k, e.vb, pod);
                acc = epi_avx512(act, acc, e.vs, e.lo, e.hi);
                int64_t m = OW - ox < 16 ? OW - ox : 16;
                _mm512_mask_storeu_ps(yr + ox, (__mmask16)((1u << m) - 1), acc);
            }
        }
    }
}

__attribute__((target("avx512f"))) static void dw3x3s2_rows_avx512(const nn_node *n,
                                                                   const nn_dw_rows *g,
                                                                   const float *w,
                                                                   const float *bias, float *y)
{
    NN_PER_ACT(n->act, dw_s2_rows_act(n, g, w, bias, y, ACT));
}
#endif

bool nn_conv1ch_flat(const nn_node *n, const float *x, int64_t H, int64_t W, int64_t M,
                     const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                     int64_t OH, int64_t OW, void *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH)
        return false;
    if (H * W > NN_DW_FLAT_MAX / 4 || pt != 1 || pl != 1) return false;
    if (s == 1 ? OH != H || OW != W : s != 2 || 2 * (OH - 1) > H - 1 || 2 * (OW - 1) > W - 1)
        return false;
    conv1ch_flat_avx512(n, x, H, W, M, w, bias, s, y, OH, OW, scratch);
    return true;
#else
    (void)n, (void)x, (void)H, (void)W, (void)M, (void)w, (void)bias, (void)s, (void)pt, (void)pl,
        (void)y, (void)OH, (void)OW, (void)scratch;
    return false;
#endif
}

bool nn_dw3x3s2_rows_takes(int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    return OW >= 8 && W <= DW_ZERO_ROW && 2 * (OH - 1) <= H - 1 && 2 * (OW - 1) <= W - 1;
}

bool nn_dw3x3_flat(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                   const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                   int64_t OH, int64_t OW, void *scratch)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH)
        return false;
    if (pt != 1 || pl != 1) return false;
    if (s == 1 ? OH != H || OW != W : s != 2 || 2 * (OH - 1) > H - 1 || 2 * (OW - 1) > W - 1)
        return false;
    /* stride 2 with rows of 8 outputs or more: row by row (shorter rows
     * are faster through the phase planes or in registers) */
    if (s == 2 && nn_dw3x3s2_rows_takes(H, W, OH, OW)) {
        nn_dw_rows a = {x, H * W, 0, C, H, W, OH, OW, 0, OH, true, 0, 0};
        dw3x3s2_rows_avx512(n, &a, w, bias, y);
        return true;
    }
    if (H * W > (s == 1 ? NN_DW_FLAT_MAX : NN_DW_FLAT_MAX / 4)) return false;
    dw3x3_flat_avx512(n, x, C, H, W, w, bias, s, y, OH, OW, scratch);
    return true;
#else
    (void)n, (void)x, (void)C, (void)H, (void)W, (void)w, (void)bias, (void)s, (void)pt, (void)pl,
        (void)y, (void)OH, (void)OW, (void)scratch;
    return false;
#endif
}

bool nn_dw3x3s2_rows(const nn_node *n, const nn_dw_rows *a, const float *w, const float *bias,
                     float *y)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH ||
        !nn_dw3x3s2_rows_takes(a->H, a->W, a->OH, a->OW))
        return false;
    dw3x3s2_rows_avx512(n, a, w, bias, y);
    return true;
#else
    (void)n, (void)a, (void)w, (void)bias, (void)y;
    return false;
#endif
}

#if defined(__x86_64__)
__attribute__((always_inline, target("avx512f"))) static inline void
dw3x3s1_rows_act(const nn_node *n, const nn_dw_rows *g, const float *w, const float *bias, float *y,
                 const int act)
{
    const __m512 lo = _mm512_set1_ps(n->act_a), hi = _mm512_set1_ps(n->act_b);
    for (int64_t c = 0; c < g->C; c++) {
        const float *wc = w + c * 9;
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec e = epi_vec_of(n->act, n->act_a, n->act_b, n->act_slope, n->act_slope_n, bias, c);
        dw_rows2_avx512(g->x + c * g->xs, g->H, g->W, k, e.vb, act, e.vs, lo, hi,
                        y + c * g->ys + (g->oy0 - g->yr0) * g->W, false, g->r0, g->oy0, g->oy1);
    }
}

__attribute__((target("avx512f"))) static void dw3x3s1_rows_avx512(const nn_node *n,
                                                                   const nn_dw_rows *g,
                                                                   const float *w,
                                                                   const float *bias, float *y)
{
    NN_PER_ACT(n->act, dw3x3s1_rows_act(n, g, w, bias, y, ACT));
}
#endif

bool nn_dw3x3s1_rows_takes(int64_t W)
{
    return W % 16 == 0 && W <= DW_ZERO_ROW;
}

bool nn_dw3x3s1_rows(const nn_node *n, const nn_dw_rows *a, const float *w, const float *bias,
                     float *y)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH ||
        !nn_dw3x3s1_rows_takes(a->W) || a->OH != a->H || a->OW != a->W)
        return false;
    dw3x3s1_rows_avx512(n, a, w, bias, y);
    return true;
#else
    (void)n, (void)a, (void)w, (void)bias, (void)y;
    return false;
#endif
}
