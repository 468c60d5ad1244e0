/*
 * kernels.c — the fast paths: matrix multiply through OpenBLAS (kept
 * single-threaded, so one run uses only the calling thread), the depthwise
 * 3x3 convolution with AVX-512 intrinsics chosen at run time, the fused
 * activation epilogue, and denormal flushing. Everything here has a portable
 * C fallback, so the engine builds and runs on any x86-64 and on aarch64.
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

nn_cpu nn_cpu_features(void)
{
    nn_cpu f = {false, false};
#if defined(__x86_64__)
    __builtin_cpu_init();
    f.avx512 = __builtin_cpu_supports("avx512f");
    f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return f;
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

void nn_apply_act(const nn_node *n, float *y, int64_t channels, int64_t plane, int64_t c0)
{
    int64_t total = channels * plane;
    switch (n->act) {
    case NN_ACT_NONE:
        return;
    case NN_ACT_RELU:
        for (int64_t i = 0; i < total; i++) y[i] = y[i] > 0 ? y[i] : 0;
        return;
    case NN_ACT_LEAKY:
        for (int64_t i = 0; i < total; i++) y[i] = y[i] >= 0 ? y[i] : y[i] * n->act_a;
        return;
    case NN_ACT_CLIP:
        for (int64_t i = 0; i < total; i++) y[i] = fminf(fmaxf(y[i], n->act_a), n->act_b);
        return;
    case NN_ACT_SIGMOID:
        for (int64_t i = 0; i < total; i++) y[i] = 1.0f / (1.0f + expf(-y[i]));
        return;
    case NN_ACT_HSWISH:
        for (int64_t i = 0; i < total; i++)
            y[i] = y[i] * fmaxf(0.0f, fminf(1.0f, y[i] / 6.0f + 0.5f));
        return;
    case NN_ACT_PRELU:
        for (int64_t ch = 0; ch < channels; ch++) {
            float s = n->act_slope[n->act_slope_n == 1 ? 0 : c0 + ch];
            float *p = y + ch * plane;
            for (int64_t i = 0; i < plane; i++) p[i] = p[i] >= 0 ? p[i] : p[i] * s;
        }
        return;
    }
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
        memset(dst, 0, (size_t)pl * sizeof(float));
        memcpy(dst + pl, x + (size_t)iy * W, (size_t)n * sizeof(float));
        if (pl + n < PW) memset(dst + pl + n, 0, (size_t)(PW - pl - n) * sizeof(float));
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
__attribute__((target("avx512f"))) static void
dw3x3_avx512(const float *xp, int PW, const float *w, float bias, int s, float *y, int OH, int OW)
{
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
            __m512 acc = vb;
            if (s == 1) {
                for (int r = 0; r < 3; r++) {
                    const float *p = rows[r] + ox;
                    acc = _mm512_fmadd_ps(_mm512_loadu_ps(p), k[r * 3], acc);
                    acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + 1), k[r * 3 + 1], acc);
                    acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2), k[r * 3 + 2], acc);
                }
            } else {
                for (int r = 0; r < 3; r++) {
                    const float *p = rows[r] + 2 * ox;
                    __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
                    __m512 a2 = _mm512_loadu_ps(p + 2), b2 = _mm512_loadu_ps(p + 18);
                    acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(a, even, b), k[r * 3], acc);
                    acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(a, odd, b), k[r * 3 + 1], acc);
                    acc = _mm512_fmadd_ps(_mm512_permutex2var_ps(a2, even, b2), k[r * 3 + 2], acc);
                }
            }
            int left = OW - ox;
            if (left >= 16)
                _mm512_storeu_ps(yr + ox, acc);
            else
                _mm512_mask_storeu_ps(yr + ox, (__mmask16)((1u << left) - 1), acc);
        }
    }
}
#endif

bool nn_dw3x3_fast(const float *x, int H, int W, const float *w, float bias, int s, int pt, int pl,
                   float *y, int OH, int OW, float *pad_buf)
{
    int rows = (OH - 1) * s + 3;
    int ow16 = (OW + 15) / 16 * 16;
    int PW = (ow16 - 1) * s + 3 + 32;
    pad_plane(x, H, W, pt, pl, rows, PW, pad_buf);
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        dw3x3_avx512(pad_buf, PW, w, bias, s, y, OH, OW);
        return true;
    }
#endif
    dw3x3_c(pad_buf, PW, w, bias, s, y, OH, OW);
    return true;
}
