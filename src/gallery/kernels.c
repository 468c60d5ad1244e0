/*
 * kernels.c — dot products of one query against many rows: the plain C
 * reference and AVX2/AVX-512 versions compiled with target attributes and
 * chosen at run time with __builtin_cpu_supports, so one binary runs on any
 * x86-64 (and the scalar path anywhere else). The float kernels sum in a
 * different order from the scalar loop, so they agree to rounding; the int8
 * kernels (the gallery's first pass) sum integers and agree exactly.
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

static void dot_i8_scalar(const int8_t *q, const int8_t *rows, size_t n, int dim, int32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const int8_t *r = rows + i * (size_t)dim;
        int32_t s = 0;
        for (int k = 0; k < dim; k++) s += (int32_t)q[k] * r[k];
        out[i] = s;
    }
}

#ifdef GALLERY_X86
__attribute__((target("avx2"))) static int32_t hsum256_i32(__m256i v)
{
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return _mm_cvtsi128_si32(x);
}

/* int8 products widened to int16 pairs and summed to int32 (madd): exact. */
__attribute__((target("avx2"))) static void dot_i8_avx2(const int8_t *q, const int8_t *rows,
                                                        size_t n, int dim, int32_t *out)
{
    int d16 = dim & ~15;
    for (size_t i = 0; i < n; i++) {
        const int8_t *r = rows + i * (size_t)dim;
        __m256i a = _mm256_setzero_si256();
        for (int k = 0; k < d16; k += 16) {
            __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + k)));
            __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + k)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(x, y));
        }
        int32_t s = hsum256_i32(a);
        for (int k = d16; k < dim; k++) s += (int32_t)q[k] * r[k];
        out[i] = s;
    }
}

__attribute__((target("avx512f,avx512bw"))) static void
dot_i8_avx512(const int8_t *q, const int8_t *rows, size_t n, int dim, int32_t *out)
{
    int d32 = dim & ~31;
    for (size_t i = 0; i < n; i++) {
        const int8_t *r = rows + i * (size_t)dim;
        __m512i a = _mm512_setzero_si512();
        for (int k = 0; k < d32; k += 32) {
            __m512i x = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(q + k)));
            __m512i y = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(r + k)));
            a = _mm512_add_epi32(a, _mm512_madd_epi16(x, y));
        }
        int32_t s = _mm512_reduce_add_epi32(a);
        for (int k = d32; k < dim; k++) s += (int32_t)q[k] * r[k];
        out[i] = s;
    }
}

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
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
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

void gallery_dot_rows_i8(gallery_kernel k, const int8_t *q, const int8_t *rows, size_t n, int dim,
                         int32_t *out)
{
    switch (k) {
#ifdef GALLERY_X86
    case GALLERY_KERNEL_AVX512:
        dot_i8_avx512(q, rows, n, dim, out);
        return;
    case GALLERY_KERNEL_AVX2:
        dot_i8_avx2(q, rows, n, dim, out);
        return;
#endif
    default:
        dot_i8_scalar(q, rows, n, dim, out);
        return;
    }
}
