/*
 * kernels.c — dot products of one query against many rows: the plain C
 * reference and AVX2/AVX-512 versions compiled with target attributes and
 * chosen at run time with __builtin_cpu_supports, so one binary runs on any
 * x86-64 (and the scalar path anywhere else). The float kernels sum in a
 * different order from the scalar loop, so they agree to rounding; the int8
 * kernels (the gallery's first pass) sum integers and agree exactly, the
 * VNNI ones (AVX-512 VNNI, AVX-VNNI: one vpdpbusd per 64 or 32 bytes where
 * the others widen to int16 first) included.
 */
#include <stddef.h>
#include <stdint.h>

#include "gallery.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
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

/* The VNNI kernels. vpdpbusd multiplies unsigned bytes by signed bytes
 * (four products summed into each int32 lane, no intermediate saturation),
 * so the query enters as |q| and each row byte r as r where q >= 0 and as
 * ~r = -1 - r where q < 0: there |q| * ~r = -q * (-1 - r) = q * r + q, so
 * summing adds q once for every negative q, and the kernel subtracts it
 * back (adds qneg = the sum of |q| over negative q). ~r is a byte for every
 * r, -128 included (the plain negation -r would not be), and |q| <= 128 is
 * an unsigned byte, so every int8 input is exact: the int32 sums equal the
 * scalar kernel's. Bounds: |q * r| <= 2^14 and dim <= 65536 keep every
 * partial sum below 2^31.
 *
 * Rows go 16 at a time, each read start to end (memory order: the hardware
 * prefetcher follows it, where interleaving the 16 rows chunk by chunk ran
 * 1.5x slower from a cold cache), with the prepared query held in registers;
 * the 16 sums are then reduced together by one transpose. The last group
 * points its missing rows at its first one and stores only its own. */
#define VNNI_ROWS 16
#define VNNI_SLAB 8 /* 64-byte query chunks held in registers: 512 bytes */

/* Sum of |q| over the negative q: what the ~r trick adds to every dot. */
static int32_t vnni_correction(const int8_t *q, int dim)
{
    int32_t c = 0;
    for (int k = 0; k < dim; k++) c -= q[k] < 0 ? q[k] : 0;
    return c;
}

/* Lane j of the result = the sum of the 16 lanes of a[j]. */
__attribute__((target("avx512f"))) static __m512i reduce16_epi32(const __m512i a[16])
{
    __m512i t[8], v[4];
    for (int m = 0; m < 8; m++) /* rows 2m, 2m+1 interleaved: [a b a b] per 128-bit lane */
        t[m] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * m], a[2 * m + 1]),
                                _mm512_unpackhi_epi32(a[2 * m], a[2 * m + 1]));
    for (int p = 0; p < 4; p++) /* rows 4p..4p+3, one partial each, per 128-bit lane */
        v[p] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * p], t[2 * p + 1]),
                                _mm512_unpackhi_epi64(t[2 * p], t[2 * p + 1]));
    /* Add the 128-bit lanes: lane p of the result holds rows 4p..4p+3. */
    __m512i w0 = _mm512_add_epi32(_mm512_shuffle_i32x4(v[0], v[1], 0x88),
                                  _mm512_shuffle_i32x4(v[0], v[1], 0xdd));
    __m512i w1 = _mm512_add_epi32(_mm512_shuffle_i32x4(v[2], v[3], 0x88),
                                  _mm512_shuffle_i32x4(v[2], v[3], 0xdd));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(w0, w1, 0x88), _mm512_shuffle_i32x4(w0, w1, 0xdd));
}

/* acc[j] += the dot of query bytes [0, 64 * nch) and the `tail` lanes of
 * the next chunk with the same bytes of row j of the group at r0 (rows
 * `stride` apart; rows past nr repeat the first). nch <= VNNI_SLAB. */
__attribute__((always_inline, target("avx512f,avx512bw,avx512vnni"))) static inline void
vnni_slab(const int8_t *q, int nch, __mmask64 tail, const int8_t *r0, size_t stride, int nr,
          __m512i acc[VNNI_ROWS])
{
    __m512i qa[VNNI_SLAB + 1], qx[VNNI_SLAB + 1];
#pragma GCC unroll 9
    for (int c = 0; c <= VNNI_SLAB; c++)
        if (c < nch || (c == nch && tail)) {
            /* Lanes past the tail load as 0 in the query: |q| = 0 adds nothing. */
            __m512i x = _mm512_maskz_loadu_epi8(c < nch ? ~(__mmask64)0 : tail, q + 64 * c);
            qa[c] = _mm512_abs_epi8(x);
            qx[c] = _mm512_movm_epi8(_mm512_movepi8_mask(x));
        }
#pragma GCC unroll 1
    for (int j = 0; j < VNNI_ROWS; j++) {
        const int8_t *r = r0 + (size_t)(j < nr ? j : 0) * stride;
        /* The same row of the next group: a cold gallery (the networks ran
         * since the last search) streams from memory 1.2x faster. An
         * address past the last row is harmless to a prefetch. */
        uintptr_t next = (uintptr_t)r + VNNI_ROWS * stride;
#pragma GCC unroll 8
        for (int c = 0; c < VNNI_SLAB; c++)
            if (c < nch) _mm_prefetch((const char *)(next + 64 * (unsigned)c), _MM_HINT_T0);
        __m512i a0 = _mm512_setzero_si512(), a1 = a0;
#pragma GCC unroll 8
        for (int c = 0; c < VNNI_SLAB; c += 2) {
            if (c < nch)
                a0 = _mm512_dpbusd_epi32(a0, qa[c],
                                         _mm512_xor_si512(_mm512_loadu_si512(r + 64 * c), qx[c]));
            if (c + 1 < nch)
                a1 = _mm512_dpbusd_epi32(
                    a1, qa[c + 1],
                    _mm512_xor_si512(_mm512_loadu_si512(r + 64 * c + 64), qx[c + 1]));
        }
        if (tail)
            a0 = _mm512_dpbusd_epi32(
                a0, qa[nch],
                _mm512_xor_si512(_mm512_maskz_loadu_epi8(tail, r + 64 * nch), qx[nch]));
        acc[j] = _mm512_add_epi32(acc[j], _mm512_add_epi32(a0, a1));
    }
}

__attribute__((always_inline, target("avx512f,avx512bw,avx512vnni"))) static inline void
vnni_rows(const int8_t *q, const int8_t *rows, size_t n, int dim, int32_t *out)
{
    const __m512i qneg = _mm512_set1_epi32(vnni_correction(q, dim));
    for (size_t i = 0; i < n; i += VNNI_ROWS) {
        int nr = n - i < VNNI_ROWS ? (int)(n - i) : VNNI_ROWS;
        const int8_t *r0 = rows + i * (size_t)dim;
        __m512i acc[VNNI_ROWS];
        for (int j = 0; j < VNNI_ROWS; j++) acc[j] = _mm512_setzero_si512();
        for (int off = 0; off < dim; off += 64 * VNNI_SLAB) {
            int len = dim - off < 64 * VNNI_SLAB ? dim - off : 64 * VNNI_SLAB;
            __mmask64 tail = len & 63 ? ((__mmask64)1 << (len & 63)) - 1 : 0;
            vnni_slab(q + off, len / 64, tail, r0 + off, (size_t)dim, nr, acc);
        }
        __m512i s = _mm512_add_epi32(reduce16_epi32(acc), qneg);
        _mm512_mask_storeu_epi32(out + i, (__mmask16)((1u << nr) - 1), s);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
dot_i8_avx512vnni(const int8_t *q, const int8_t *rows, size_t n, int dim, int32_t *out)
{
    /* The embedding size: compiled on its own, every loop bound known. */
    if (dim == 512)
        vnni_rows(q, rows, n, 512, out);
    else
        vnni_rows(q, rows, n, dim, out);
}

/* Lane j of the result = the sum of the 8 lanes of a[j]. */
__attribute__((target("avx2"))) static __m256i reduce8_epi32(const __m256i a[8])
{
    __m256i t[4], v[2];
    for (int m = 0; m < 4; m++)
        t[m] = _mm256_add_epi32(_mm256_unpacklo_epi32(a[2 * m], a[2 * m + 1]),
                                _mm256_unpackhi_epi32(a[2 * m], a[2 * m + 1]));
    for (int p = 0; p < 2; p++)
        v[p] = _mm256_add_epi32(_mm256_unpacklo_epi64(t[2 * p], t[2 * p + 1]),
                                _mm256_unpackhi_epi64(t[2 * p], t[2 * p + 1]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(v[0], v[1], 0x20),
                            _mm256_permute2x128_si256(v[0], v[1], 0x31));
}

#define AVXVNNI_ROWS 8
#define AVXVNNI_SLAB 16 /* 32-byte query chunks prepared at a time: 512 bytes */

/* AVX-VNNI (the VEX form of vpdpbusd on AVX2 CPUs): the same ~r trick,
 * order and prefetch as the AVX-512 kernel, 8 rows at a time in 256-bit registers. AVX2
 * has 16 of them, too few to hold the query: it is prepared a slab at a
 * time into memory and read from L1. A dim that is not a multiple of 32
 * ends in plain C (AVX2 has no masked byte loads). */
__attribute__((target("avx2,avxvnni"))) static void
dot_i8_avxvnni(const int8_t *q, const int8_t *rows, size_t n, int dim, int32_t *out)
{
    const int d32 = dim & ~31; /* the tail is exact C: no correction for it */
    const __m256i qneg = _mm256_set1_epi32(vnni_correction(q, d32)), zero = _mm256_setzero_si256();
    __m256i qa[AVXVNNI_SLAB], qx[AVXVNNI_SLAB];
    for (size_t i = 0; i < n; i += AVXVNNI_ROWS) {
        int nr = n - i < AVXVNNI_ROWS ? (int)(n - i) : AVXVNNI_ROWS;
        const int8_t *r[AVXVNNI_ROWS];
        for (int j = 0; j < AVXVNNI_ROWS; j++) r[j] = rows + (i + (j < nr ? j : 0)) * (size_t)dim;
        __m256i acc[AVXVNNI_ROWS];
        for (int j = 0; j < AVXVNNI_ROWS; j++) acc[j] = zero;
        for (int off = 0; off < d32; off += 32 * AVXVNNI_SLAB) {
            int nch = (d32 - off) / 32 < AVXVNNI_SLAB ? (d32 - off) / 32 : AVXVNNI_SLAB;
            for (int c = 0; c < nch; c++) {
                __m256i x = _mm256_loadu_si256((const __m256i *)(q + off + 32 * c));
                qa[c] = _mm256_abs_epi8(x);
                qx[c] = _mm256_cmpgt_epi8(zero, x);
            }
            for (int j = 0; j < AVXVNNI_ROWS; j++) {
                const int8_t *rj = r[j] + off;
                uintptr_t next = (uintptr_t)rj + AVXVNNI_ROWS * (size_t)dim; /* as above */
                for (int c = 0; c < nch; c += 2)
                    _mm_prefetch((const char *)(next + 32 * (unsigned)c), _MM_HINT_T0);
                __m256i a0 = zero, a1 = zero;
                int c = 0;
                for (; c + 2 <= nch; c += 2) {
                    __m256i y0 = _mm256_loadu_si256((const __m256i *)(rj + 32 * c));
                    __m256i y1 = _mm256_loadu_si256((const __m256i *)(rj + 32 * c + 32));
                    a0 = _mm256_dpbusd_avx_epi32(a0, qa[c], _mm256_xor_si256(y0, qx[c]));
                    a1 = _mm256_dpbusd_avx_epi32(a1, qa[c + 1], _mm256_xor_si256(y1, qx[c + 1]));
                }
                if (c < nch)
                    a0 = _mm256_dpbusd_avx_epi32(
                        a0, qa[c],
                        _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(rj + 32 * c)),
                                         qx[c]));
                acc[j] = _mm256_add_epi32(acc[j], _mm256_add_epi32(a0, a1));
            }
        }
        int32_t s[AVXVNNI_ROWS];
        _mm256_storeu_si256((__m256i *)s, _mm256_add_epi32(reduce8_epi32(acc), qneg));
        for (int j = 0; j < nr; j++) {
            for (int k = d32; k < dim; k++) s[j] += (int32_t)q[k] * r[j][k];
            out[i + j] = s[j];
        }
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
    case GALLERY_KERNEL_AVX512_VNNI:
        return gallery_kernel_available(GALLERY_KERNEL_AVX512) &&
               __builtin_cpu_supports("avx512vnni");
    case GALLERY_KERNEL_AVX_VNNI: {
        /* CPUID leaf 7, sub-leaf 1, EAX bit 4 (asked directly: older
         * compilers' __builtin_cpu_supports does not know the name). */
        unsigned a = 0, b = 0, c = 0, d = 0;
        return gallery_kernel_available(GALLERY_KERNEL_AVX2) &&
               __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
    }
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
    case GALLERY_KERNEL_AVX512_VNNI:
        return "avx512vnni";
    case GALLERY_KERNEL_AVX_VNNI:
        return "avxvnni";
    }
    return "unknown";
}

void gallery_dot_rows(gallery_kernel k, const float *q, const float *rows, size_t n, int dim,
                      float *scores)
{
    switch (k) {
#ifdef GALLERY_X86
    case GALLERY_KERNEL_AVX512:
    case GALLERY_KERNEL_AVX512_VNNI:
        dot_avx512(q, rows, n, dim, scores);
        return;
    case GALLERY_KERNEL_AVX2:
    case GALLERY_KERNEL_AVX_VNNI:
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
    case GALLERY_KERNEL_AVX512_VNNI:
        dot_i8_avx512vnni(q, rows, n, dim, out);
        return;
    case GALLERY_KERNEL_AVX_VNNI:
        dot_i8_avxvnni(q, rows, n, dim, out);
        return;
#endif
    default:
        dot_i8_scalar(q, rows, n, dim, out);
        return;
    }
}
