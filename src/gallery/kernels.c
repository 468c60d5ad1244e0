/*
 * kernels.c — dot products of one query against many rows: the plain C
 * reference and AVX2/AVX-512 versions compiled with target attributes and
 * chosen at run time with __builtin_cpu_supports, so one binary runs on any
 * x86-64 (and the scalar path anywhere else). SIMD sums in a different order
 * from the scalar loop, so results agree to float rounding, not bit for bit.
 */
#include <stddef.h>

#include "gallery.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GALLERY_X86 1
#endif

static void dot_scalar(const float *q, const float *rows, size_t n, int dim, float *scores)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = rows + i * (size_t)dim;
        float s = 0;
        for (int k = 0; k < dim; k++) s += q[k] * r[k];
        scores[i] = s;
    }
}

#ifdef GALLERY_X86
__attribute__((target("avx2,fma"))) static float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static void dot_avx2(const float *q, const float *rows,
                                                         size_t n, int dim, float *scores)
{
    int d8 = dim & ~7;
    size_t i = 0;
    /* Four rows at a time: the query is loaded once per four products. */
    for (; i + 4 <= n; i += 4) {
        const float *r0 = rows + i * (size_t)dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < d8; k += 8) {
            __m256 x = _mm256_loadu_ps(q + k);
            a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r0 + k), a0);
            a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r1 + k), a1);
            a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r2 + k), a2);
            a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(r3 + k), a3);
        }
        float s0 = hsum256(a0), s1 = hsum256(a1), s2 = hsum256(a2), s3 = hsum256(a3);
        for (int k = d8; k < dim; k++) {
            s0 += q[k] * r0[k];
            s1 += q[k] * r1[k];
            s2 += q[k] * r2[k];
            s3 += q[k] * r3[k];
        }
        scores[i] = s0;
        scores[i + 1] = s1;
        scores[i + 2] = s2;
        scores[i + 3] = s3;
    }
    for (; i < n; i++) {
        const float *r = rows + i * (size_t)dim;
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < d8; k += 8)
            a = _mm256_fmadd_ps(_mm256_loadu_ps(q + k), _mm256_loadu_ps(r + k), a);
        float s = hsum256(a);
        for (int k = d8; k < dim; k++) s += q[k] * r[k];
        scores[i] = s;
    }
}

__attribute__((target("avx512f"))) static void dot_avx512(const float *q, const float *rows,
                                                          size_t n, int dim, float *scores)
{
    int d16 = dim & ~15;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *r0 = rows + i * (size_t)dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < d16; k += 16) {
            __m512 x = _mm512_loadu_ps(q + k);
            a0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r0 + k), a0);
            a1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r1 + k), a1);
            a2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r2 + k), a2);
            a3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(r3 + k), a3);
        }
        float s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1),
              s2 = _mm512_reduce_add_ps(a2), s3 = _mm512_reduce_add_ps(a3);
        for (int k = d16; k < dim; k++) {
            s0 += q[k] * r0[k];
            s1 += q[k] * r1[k];
            s2 += q[k] * r2[k];
            s3 += q[k] * r3[k];
        }
        scores[i] = s0;
        scores[i + 1] = s1;
        scores[i + 2] = s2;
        scores[i + 3] = s3;
    }
    for (; i < n; i++) {
        const float *r = rows + i * (size_t)dim;
        __m512 a = _mm512_setzero_ps();
        for (int k = 0; k < d16; k += 16)
            a = _mm512_fmadd_ps(_mm512_loadu_ps(q + k), _mm512_loadu_ps(r + k), a);
        float s = _mm512_reduce_add_ps(a);
        for (int k = d16; k < dim; k++) s += q[k] * r[k];
        scores[i] = s;
    }
}
#endif

int gallery_kernel_available(gallery_kernel k)
{
    switch (k) {
    case GALLERY_KERNEL_AUTO:
    case GALLERY_KERNEL_SCALAR:
        return 1;
#ifdef GALLERY_X86
    case GALLERY_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GALLERY_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

const char *gallery_kernel_name(gallery_kernel k)
{
    switch (k) {
    case GALLERY_KERNEL_AUTO:
        return "auto";
    case GALLERY_KERNEL_SCALAR:
        return "scalar";
    case GALLERY_KERNEL_AVX2:
        return "avx2";
    case GALLERY_KERNEL_AVX512:
        return "avx512";
    }
    return "unknown";
}

void gallery_dot_rows(gallery_kernel k, const float *q, const float *rows, size_t n, int dim,
                      float *scores)
{
    switch (k) {
#ifdef GALLERY_X86
    case GALLERY_KERNEL_AVX512:
        dot_avx512(q, rows, n, dim, scores);
        return;
    case GALLERY_KERNEL_AVX2:
        dot_avx2(q, rows, n, dim, scores);
        return;
#endif
    default:
        dot_scalar(q, rows, n, dim, scores);
        return;
    }
}
