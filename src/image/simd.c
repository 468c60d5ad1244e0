/*
 * simd.c — AVX2 versions of the pixel loops that sit between a camera frame
 * and the networks: the detector's input (each 2x2 block's rounded mean,
 * normalised, laid out per channel), the affine warp's inner path (the
 * aligned face, the landmark crop), gray conversion (the landmark crop) and the bilinear
 * rectangle-to-tensor resize (the liveness input). Compiled with target attributes and chosen at
 * run time (img__simd_best), so one binary runs on any x86-64 and builds elsewhere. The C loops in
 * imgproc.c define the answer: every kernel here does the same float operations in the same order
 * (separate multiply and add, no FMA), so its bytes and floats are identical, which tests/image
 * checks level against level. Each kernel takes the part it can (whole groups of 8 or 16 outputs
 * whose samples are all inside the image) and leaves the rest to the C loop that called it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

static img__simd best = IMG_SIMD_C;
/* Whether the AVX2 level may also use AVX-512F where a kernel has a wider
 * form (img__rect_row_avx2): not when ROLLCALL_NN_CPU caps the CPU at avx2. */
static int wide;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

static void detect_best(void)
{
    __builtin_cpu_init();
    const char *cap = getenv("ROLLCALL_NN_CPU");
    int generic = cap && strcmp(cap, "generic") == 0;
    if (!generic && __builtin_cpu_supports("avx2")) best = IMG_SIMD_AVX2;
    wide = best == IMG_SIMD_AVX2 && !(cap && strcmp(cap, "avx2") == 0) &&
           __builtin_cpu_supports("avx512f");
}

img__simd img__simd_best(void)
{
    pthread_once(&best_once, detect_best);
    return best;
}

int img__simd_avx512(void)
{
    pthread_once(&best_once, detect_best);
    return wide;
}

/* pshufb masks taking channel c of 16 interleaved RGB pixels held in three
 * 16-byte parts (k = 0, 1, 2) to bytes 0..15: byte j is pixel j's channel c
 * when it lies in part k, else zeroed (0x80), so OR-ing the three shuffles
 * gathers the channel. The same masks in both 128-bit halves. */
__attribute__((target("avx2"))) static void deinterleave_masks(__m256i m[3][3])
{
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3; k++) {
            uint8_t mk[16];
            for (int j = 0; j < 16; j++) {
                int at = 3 * j + c;
                mk[j] = at / 16 == k ? (uint8_t)(at % 16) : 0x80;
            }
            m[c][k] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)mk));
        }
}

/* Three 256-bit registers holding pixels 0..15 of `p` in their low halves
 * and pixels 16..31 in their high halves, each half as three 16-byte parts. */
__attribute__((target("avx2"))) static inline void load_rgb32(const uint8_t *p, __m256i v[3])
{
    for (int k = 0; k < 3; k++)
        v[k] = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(p + 16 * k))),
            _mm_loadu_si128((const __m128i *)(p + 48 + 16 * k)), 1);
}

/* Channel c of 32 pixels (16 per 128-bit half) as bytes. */
__attribute__((target("avx2"))) static inline __m256i channel32(const __m256i v[3],
                                                                const __m256i m[3])
{
    return _mm256_or_si256(
        _mm256_or_si256(_mm256_shuffle_epi8(v[0], m[0]), _mm256_shuffle_epi8(v[1], m[1])),
        _mm256_shuffle_epi8(v[2], m[2]));
}

__attribute__((target("avx2"))) int img__planar_half_avx2(const img_image *im, int ow, int oh,
                                                          int y, float mean, float scale, float *t)
{
    __m256i m[3][3];
    deinterleave_masks(m);
    const __m256i ones = _mm256_set1_epi8(1), two = _mm256_set1_epi16(2);
    const __m256 vmean = _mm256_set1_ps(mean), vscale = _mm256_set1_ps(scale);
    size_t plane = (size_t)ow * oh, stride = (size_t)im->w * 3;
    const uint8_t *r0 = im->px + (size_t)2 * y * stride, *r1 = r0 + stride;
    int x = 0;
    for (; x + 16 <= ow; x += 16) {
        __m256i a[3], b[3];
        load_rgb32(r0 + (size_t)x * 6, a);
        load_rgb32(r1 + (size_t)x * 6, b);
        for (int c = 0; c < 3; c++) {
            /* Pairs of neighbours summed in each row, then the two rows:
             * a[0] + a[C] + b[0] + b[C] of the C loop, in 16 bits. */
            __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(channel32(a, m[c]), ones),
                                         _mm256_maddubs_epi16(channel32(b, m[c]), ones));
            s = _mm256_srli_epi16(_mm256_add_epi16(s, two), 2);
            /* Outputs 0..7 sit in the low half, 8..15 in the high half. */
            __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(s)));
            __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(s, 1)));
            float *o = t + c * plane + (size_t)y * ow + x;
            _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_sub_ps(lo, vmean), vscale));
            _mm256_storeu_ps(o + 8, _mm256_mul_ps(_mm256_sub_ps(hi, vmean), vscale));
        }
    }
    return x;
}

__attribute__((target("avx2"))) size_t img__planar_same_avx2(const uint8_t *p, size_t n, float mean,
                                                             float scale, float *t, size_t plane)
{
    __m256i m[3][3];
    deinterleave_masks(m);
    const __m256 vmean = _mm256_set1_ps(mean), vscale = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v[3];
        load_rgb32(p + i * 3, v);
        for (int c = 0; c < 3; c++) {
            /* pixels 0..15 in the low half, 16..31 in the high half */
            __m256i b = channel32(v, m[c]);
            __m128i h[2] = {_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)};
            float *o = t + c * plane + i;
            for (int k = 0; k < 4; k++) {
                __m128i part = k & 1 ? _mm_srli_si128(h[k >> 1], 8) : h[k >> 1];
                __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(part));
                _mm256_storeu_ps(o + 8 * k, _mm256_mul_ps(_mm256_sub_ps(f, vmean), vscale));
            }
        }
    }
    return i;
}

__attribute__((target("avx2"))) int img__gray_row_avx2(const uint8_t *p, int n, uint8_t *o)
{
    __m256i m[3][3];
    deinterleave_masks(m);
    const __m256i z = _mm256_setzero_si256(), one = _mm256_set1_epi16(1);
    /* img_gray_of: r 4899 + g 9617 (one madd of (r, g) pairs) plus
     * b 1868 + 8192 (one madd of (b, 1) pairs), then >> 14. */
    const __m256i crg = _mm256_set1_epi32(9617 << 16 | 4899),
                  cb = _mm256_set1_epi32(8192 << 16 | 1868);
    int x = 0;
    for (; x + 32 <= n; x += 32) {
        __m256i v[3];
        load_rgb32(p + (size_t)x * 3, v);
        __m256i r = channel32(v, m[0]), g = channel32(v, m[1]), b = channel32(v, m[2]);
        __m256i half[2];
        for (int h = 0; h < 2; h++) {
            __m256i r16 = h ? _mm256_unpackhi_epi8(r, z) : _mm256_unpacklo_epi8(r, z);
            __m256i g16 = h ? _mm256_unpackhi_epi8(g, z) : _mm256_unpacklo_epi8(g, z);
            __m256i b16 = h ? _mm256_unpackhi_epi8(b, z) : _mm256_unpacklo_epi8(b, z);
            __m256i lo = _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(r16, g16), crg),
                                          _mm256_madd_epi16(_mm256_unpacklo_epi16(b16, one), cb));
            __m256i hi = _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(r16, g16), crg),
                                          _mm256_madd_epi16(_mm256_unpackhi_epi16(b16, one), cb));
            half[h] = _mm256_packs_epi32(_mm256_srli_epi32(lo, 14), _mm256_srli_epi32(hi, 14));
        }
        /* The unpacks and packs pair up within each 128-bit half: pixels
         * come back in order. */
        _mm256_storeu_si256((__m256i *)(void *)(o + x), _mm256_packus_epi16(half[0], half[1]));
    }
    return x;
}

/* Byte `shift / 8` of each 32-bit lane, as float. */
__attribute__((target("avx2"))) static inline __m256 byte_ps(__m256i v, int shift)
{
    return _mm256_cvtepi32_ps(
        _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_set1_epi32(shift)), _mm256_set1_epi32(255)));
}

/* The bilinear value of 8 lanes, as the C loops compute it: the upper-left
 * and upper-right samples are byte `sa` of p and byte `sa1` of p1, the
 * lower ones the same bytes of q and q1; t = a + (a1 - a) ax, likewise b,
 * then t + (b - t) ay. The differences of whole numbers are exact in float,
 * as the C loops' integer differences converted. */
__attribute__((target("avx2"))) static inline __m256
bilerp8(__m256i p, __m256i p1, __m256i q, __m256i q1, int sa, int sa1, __m256 ax, __m256 ay)
{
    __m256 a = byte_ps(p, sa), a1 = byte_ps(p1, sa1), b = byte_ps(q, sa), b1 = byte_ps(q1, sa1);
    __m256 top = _mm256_add_ps(a, _mm256_mul_ps(_mm256_sub_ps(a1, a), ax));
    __m256 bot = _mm256_add_ps(b, _mm256_mul_ps(_mm256_sub_ps(b1, b), ax));
    return _mm256_add_ps(top, _mm256_mul_ps(_mm256_sub_ps(bot, top), ay));
}

/* clamp_u8 of imgproc.c on 8 lanes: 0 at or below 0, 255 at or above 255,
 * else truncate(v + 0.5). */
__attribute__((target("avx2"))) static inline __m256i clamp_u8x8(__m256 v)
{
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(255.f));
    return _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5f)));
}

__attribute__((target("avx2"))) int img__warp8_avx2(const img_image *im, const float m[6], int x,
                                                    int y, uint8_t *o)
{
    const __m256 xs =
        _mm256_add_ps(_mm256_set1_ps((float)x), _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 yf = _mm256_set1_ps((float)y);
    /* m[0] x + m[1] y + m[2], in that order, as the C loop. */
    __m256 sx = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(m[0]), xs),
                                            _mm256_mul_ps(_mm256_set1_ps(m[1]), yf)),
                              _mm256_set1_ps(m[2]));
    __m256 sy = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(m[3]), xs),
                                            _mm256_mul_ps(_mm256_set1_ps(m[4]), yf)),
                              _mm256_set1_ps(m[5]));
    __m256 fx0 = _mm256_floor_ps(sx), fy0 = _mm256_floor_ps(sy);
    /* All four samples inside: 0 <= x0, x0 + 1 < W, likewise y (compared as
     * floats, which also rejects NaN and values too large for int). */
    __m256 ok = _mm256_and_ps(
        _mm256_and_ps(_mm256_cmp_ps(fx0, _mm256_setzero_ps(), _CMP_GE_OQ),
                      _mm256_cmp_ps(fx0, _mm256_set1_ps((float)(im->w - 1)), _CMP_LT_OQ)),
        _mm256_and_ps(_mm256_cmp_ps(fy0, _mm256_setzero_ps(), _CMP_GE_OQ),
                      _mm256_cmp_ps(fy0, _mm256_set1_ps((float)(im->h - 1)), _CMP_LT_OQ)));
    if (_mm256_movemask_ps(ok) != 0xff) return 0;
    __m256i x0 = _mm256_cvttps_epi32(fx0), y0 = _mm256_cvttps_epi32(fy0);
    __m256 ax = _mm256_sub_ps(sx, fx0), ay = _mm256_sub_ps(sy, fy0);
    const char *pb = (const char *)im->px;
    int C = im->channels, stride = im->w * C;
    /* Byte offsets; the image is under 2^31 bytes (img_new). */
    __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(y0, _mm256_set1_epi32(stride)),
                                   _mm256_mullo_epi32(x0, _mm256_set1_epi32(C)));
    if (C == 1) {
        /* Four bytes ending at the right-hand pixel (bytes 2 and 3: this
         * pixel and the next), so never past the image; the first two
         * pixels of the image are left to the C loop. */
        if (_mm256_movemask_ps(
                _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(2), off))) != 0)
            return 0;
        __m256i p = _mm256_i32gather_epi32((const int *)(const void *)(pb - 2), off, 1);
        __m256i q = _mm256_i32gather_epi32((const int *)(const void *)(pb + stride - 2), off, 1);
        __m256i v = clamp_u8x8(bilerp8(p, p, q, q, 16, 24, ax, ay));
        __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(void *)o, _mm_packus_epi16(w16, w16));
        return 1;
    }
    /* Four bytes at p (this pixel's R, G, B) and at p + 2 (the next pixel's
     * R, G, B in bytes 1..3): never past the right-hand pixel. */
    __m256i p0 = _mm256_i32gather_epi32((const int *)(const void *)pb, off, 1);
    __m256i p1 = _mm256_i32gather_epi32((const int *)(const void *)(pb + 2), off, 1);
    __m256i q0 = _mm256_i32gather_epi32((const int *)(const void *)(pb + stride), off, 1);
    __m256i q1 = _mm256_i32gather_epi32((const int *)(const void *)(pb + stride + 2), off, 1);
    __m256i res = _mm256_setzero_si256();
    for (int c = 0; c < 3; c++) {
        __m256i v = clamp_u8x8(bilerp8(p0, p1, q0, q1, 8 * c, 8 * c + 8, ax, ay));
        res = _mm256_or_si256(res, _mm256_slli_epi32(v, 8 * c));
    }
    /* R, G, B of each lane to 3 bytes: 12 bytes per 128-bit half. */
    const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0,
                                          1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    res = _mm256_shuffle_epi8(res, pack);
    uint8_t tmp[32];
    _mm256_storeu_si256((__m256i *)(void *)tmp, res);
    memcpy(o, tmp, 12);
    memcpy(o + 12, tmp + 16, 12);
    return 1;
}

/* byte_ps and bilerp8 on 16 lanes: the same operations, lane for lane. */
__attribute__((target("avx512f"))) static inline __m512 byte_ps16(__m512i v, int shift)
{
    return _mm512_cvtepi32_ps(
        _mm512_and_si512(_mm512_srlv_epi32(v, _mm512_set1_epi32(shift)), _mm512_set1_epi32(255)));
}

__attribute__((target("avx512f"))) static inline __m512
bilerp16(__m512i p, __m512i p1, __m512i q, __m512i q1, int sa, int sa1, __m512 ax, __m512 ay)
{
    __m512 a = byte_ps16(p, sa), a1 = byte_ps16(p1, sa1), b = byte_ps16(q, sa),
           b1 = byte_ps16(q1, sa1);
    __m512 top = _mm512_add_ps(a, _mm512_mul_ps(_mm512_sub_ps(a1, a), ax));
    __m512 bot = _mm512_add_ps(b, _mm512_mul_ps(_mm512_sub_ps(b1, b), ax));
    return _mm512_add_ps(top, _mm512_mul_ps(_mm512_sub_ps(bot, top), ay));
}

/* img__warp8_avx2 on 16 outputs (x .. x+15) with AVX-512F: the same float
 * operations lane for lane, half as many gathers. Returns 1 when done, 0
 * (nothing written) when a sample lies outside or the CPU lacks AVX-512F
 * or ROLLCALL_NN_CPU=avx2 caps it. */
__attribute__((target("avx512f"))) int img__warp16_avx2(const img_image *im, const float m[6],
                                                        int x, int y, uint8_t *o)
{
    if (!wide) return 0;
    const __m512 xs =
        _mm512_add_ps(_mm512_set1_ps((float)x),
                      _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m512 yf = _mm512_set1_ps((float)y);
    __m512 sx = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(m[0]), xs),
                                            _mm512_mul_ps(_mm512_set1_ps(m[1]), yf)),
                              _mm512_set1_ps(m[2]));
    __m512 sy = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(m[3]), xs),
                                            _mm512_mul_ps(_mm512_set1_ps(m[4]), yf)),
                              _mm512_set1_ps(m[5]));
    /* floor (a macro: the rounding mode must be an immediate at -O0 too) */
#define FLOOR16(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
    __m512 fx0 = FLOOR16(sx), fy0 = FLOOR16(sy);
#undef FLOOR16
    __mmask16 ok = _mm512_cmp_ps_mask(fx0, _mm512_setzero_ps(), _CMP_GE_OQ) &
                   _mm512_cmp_ps_mask(fx0, _mm512_set1_ps((float)(im->w - 1)), _CMP_LT_OQ) &
                   _mm512_cmp_ps_mask(fy0, _mm512_setzero_ps(), _CMP_GE_OQ) &
                   _mm512_cmp_ps_mask(fy0, _mm512_set1_ps((float)(im->h - 1)), _CMP_LT_OQ);
    if (ok != 0xffff) return 0;
    __m512i x0 = _mm512_cvttps_epi32(fx0), y0 = _mm512_cvttps_epi32(fy0);
    __m512 ax = _mm512_sub_ps(sx, fx0), ay = _mm512_sub_ps(sy, fy0);
    const char *pb = (const char *)im->px;
    int C = im->channels, stride = im->w * C;
    __m512i off = _mm512_add_epi32(_mm512_mullo_epi32(y0, _mm512_set1_epi32(stride)),
                                   _mm512_mullo_epi32(x0, _mm512_set1_epi32(C)));
    const __m512 half = _mm512_set1_ps(0.5f), top = _mm512_set1_ps(255.f);
    if (C == 1) {
        /* As img__warp8_avx2: four bytes ending at the right-hand pixel. */
        if (_mm512_cmplt_epi32_mask(off, _mm512_set1_epi32(2)) != 0) return 0;
        __m512i p = _mm512_i32gather_epi32(off, pb - 2, 1);
        __m512i q = _mm512_i32gather_epi32(off, pb + stride - 2, 1);
        __m512 v = _mm512_min_ps(
            _mm512_max_ps(bilerp16(p, p, q, q, 16, 24, ax, ay), _mm512_setzero_ps()), top);
        /* 0..255 in each lane: the low byte of each is the value. */
        _mm_storeu_si128((__m128i *)(void *)o,
                         _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(_mm512_add_ps(v, half))));
        return 1;
    }
    /* Eight bytes at each pixel with 64-bit gathers (half the elements of
     * two 32-bit ones): its R, G, B and the next pixel's in bytes 0..5; the
     * low four as p0, bytes 2..5 as p1 (the next pixel's in bytes 1..3).
     * Bytes 6 and 7 of the lower row must lie in the image: a group that
     * touches its last pixel is left to the 8-output path. */
    if (_mm512_cmpgt_epi32_mask(off, _mm512_set1_epi32(im->h * stride - stride - 8)) != 0) return 0;
    __m512i p0, p1, q0, q1;
    const __m256i olo = _mm512_castsi512_si256(off), ohi = _mm512_extracti64x4_epi64(off, 1);
    for (int r = 0; r < 2; r++) {
        const char *row = pb + r * stride;
        __m512i lo = _mm512_i32gather_epi64(olo, row, 1), hi = _mm512_i32gather_epi64(ohi, row, 1);
        __m512i a = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(lo)),
                                       _mm512_cvtepi64_epi32(hi), 1);
        __m512i b = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm512_cvtepi64_epi32(_mm512_srli_epi64(lo, 16))),
            _mm512_cvtepi64_epi32(_mm512_srli_epi64(hi, 16)), 1);
        if (r == 0)
            p0 = a, p1 = b;
        else
            q0 = a, q1 = b;
    }
    __m512i res = _mm512_setzero_si512();
    for (int c = 0; c < 3; c++) {
        __m512 v = _mm512_min_ps(
            _mm512_max_ps(bilerp16(p0, p1, q0, q1, 8 * c, 8 * c + 8, ax, ay), _mm512_setzero_ps()),
            top);
        __m512i b = _mm512_cvttps_epi32(_mm512_add_ps(v, half));
        res = _mm512_or_si512(res, _mm512_slli_epi32(b, 8 * c));
    }
    /* R, G, B of each lane to 3 bytes (12 of each 16, per 128-bit part, with
     * AVX2's byte shuffle on both halves), then the parts' first three
     * 32-bit words side by side: 48 bytes, stored without touching more. */
    const __m256i pack = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0,
                                          1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    __m256i lo = _mm256_shuffle_epi8(_mm512_castsi512_si256(res), pack);
    __m256i hi = _mm256_shuffle_epi8(_mm512_extracti64x4_epi64(res, 1), pack);
    __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    both = _mm512_permutexvar_epi32(
        _mm512_setr_epi32(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0, 0, 0, 0), both);
    _mm512_mask_storeu_epi32(o, 0x0fff, both);
    return 1;
}

/* img__rect_row_avx2's loop on 16 outputs at a time: the gathers are most
 * of its time (an 8-lane gather took 4.2 ns on the Zen 5 measured, a
 * 16-lane one 6.4), so half as many of them. Returns the outputs done. */
__attribute__((target("avx512f"))) static int rect_row16(const char *a0, const char *b0,
                                                         const int *ix, const float *ax,
                                                         const int *dx, int n, float ay,
                                                         float *const out[3])
{
    const __m512 vay = _mm512_set1_ps(ay), half = _mm512_set1_ps(0.5f);
    int x = 0;
    for (; x + 16 <= n; x += 16) {
        __m512i off = _mm512_loadu_si512(ix + x);
        __m512i off1 = _mm512_add_epi32(off, _mm512_loadu_si512(dx + x));
        __m512 vax = _mm512_loadu_ps(ax + x);
        __m512i p0 = _mm512_i32gather_epi32(off, a0, 1), p1 = _mm512_i32gather_epi32(off1, a0, 1);
        __m512i q0 = _mm512_i32gather_epi32(off, b0, 1), q1 = _mm512_i32gather_epi32(off1, b0, 1);
        for (int c = 0; c < 3; c++) {
            __m512 v = bilerp16(p0, p1, q0, q1, 8 * c + 8, 8 * c + 8, vax, vay);
            _mm512_storeu_ps(out[c] + x,
                             _mm512_roundscale_ps(_mm512_add_ps(v, half),
                                                  _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
        }
    }
    return x;
}

__attribute__((target("avx2"))) int img__rect_row_avx2(const uint8_t *r0, const uint8_t *r1,
                                                       const int *ix, const float *ax,
                                                       const int *dx, int n, float ay, float *t0,
                                                       float *t1, float *t2)
{
    const __m256 vay = _mm256_set1_ps(ay), half = _mm256_set1_ps(0.5f);
    const char *a0 = (const char *)r0 - 1, *b0 = (const char *)r1 - 1;
    float *out[3] = {t0, t1, t2};
    int x = wide ? rect_row16(a0, b0, ix, ax, dx, n, ay, out) : 0;
    for (; x + 8 <= n; x += 8) {
        __m256i off = _mm256_loadu_si256((const __m256i *)(const void *)(ix + x));
        __m256i off1 =
            _mm256_add_epi32(off, _mm256_loadu_si256((const __m256i *)(const void *)(dx + x)));
        __m256 vax = _mm256_loadu_ps(ax + x);
        /* Four bytes from one before each pixel: its R, G, B in bytes 1..3
         * (never past the pixel; the caller keeps the image's first byte out). */
        __m256i p0 = _mm256_i32gather_epi32((const int *)(const void *)a0, off, 1);
        __m256i p1 = _mm256_i32gather_epi32((const int *)(const void *)a0, off1, 1);
        __m256i q0 = _mm256_i32gather_epi32((const int *)(const void *)b0, off, 1);
        __m256i q1 = _mm256_i32gather_epi32((const int *)(const void *)b0, off1, 1);
        for (int c = 0; c < 3; c++) {
            __m256 v = bilerp8(p0, p1, q0, q1, 8 * c + 8, 8 * c + 8, vax, vay);
            _mm256_storeu_ps(out[c] + x, _mm256_floor_ps(_mm256_add_ps(v, half)));
        }
    }
    return x;
}

/* 8 x 8 floats: rows v[0..7] become columns. */
__attribute__((target("avx2"))) static void transpose8(__m256 v[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        v[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

__attribute__((target("avx2"))) void img__area_rows8_avx2(const uint8_t *src, size_t stride, int cw,
                                                          const int *first, const float *wts,
                                                          int wstride, int K, int w, float *ib,
                                                          float *out, size_t ostride)
{
    /* ib[x * 8 + r] = row r's pixel x as a float, then K zeros a row (the
     * terms past a row's end, as the C loop's zero-padded row) */
    int x = 0;
    for (; x + 8 <= cw; x += 8) {
        __m128i r[8];
        for (int k = 0; k < 8; k++) r[k] = _mm_loadl_epi64((const __m128i *)(src + k * stride + x));
        /* bytes r0x0 r1x0 r0x1 r1x1 ..., then 4 rows a pixel, then 8 */
        __m128i a0 = _mm_unpacklo_epi8(r[0], r[1]), a1 = _mm_unpacklo_epi8(r[2], r[3]),
                a2 = _mm_unpacklo_epi8(r[4], r[5]), a3 = _mm_unpacklo_epi8(r[6], r[7]);
        __m128i b0 = _mm_unpacklo_epi16(a0, a1), b1 = _mm_unpackhi_epi16(a0, a1),
                b2 = _mm_unpacklo_epi16(a2, a3), b3 = _mm_unpackhi_epi16(a2, a3);
        __m128i c[4] = {_mm_unpacklo_epi32(b0, b2), _mm_unpackhi_epi32(b0, b2),
                        _mm_unpacklo_epi32(b1, b3), _mm_unpackhi_epi32(b1, b3)};
        for (int k = 0; k < 4; k++) {
            /* pixels x + 2k and x + 2k + 1, 8 rows each */
            _mm256_storeu_ps(ib + (x + 2 * k) * 8, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c[k])));
            _mm256_storeu_ps(ib + (x + 2 * k + 1) * 8,
                             _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c[k], 8))));
        }
    }
    for (; x < cw; x++)
        for (int k = 0; k < 8; k++) ib[x * 8 + k] = src[k * stride + x];
    memset(ib + (size_t)cw * 8, 0, (size_t)K * 8 * sizeof(float));
    /* output x: sum from 0 of w[k] * pixel, k in order, product then sum;
     * eight outputs at a time, transposed into the eight rows */
    int o = 0;
    for (; o + 8 <= w; o += 8) {
        __m256 acc[8];
        const float *wx[8], *px[8];
        for (int j = 0; j < 8; j++) {
            acc[j] = _mm256_setzero_ps();
            wx[j] = wts + (size_t)(o + j) * wstride;
            px[j] = ib + (size_t)first[o + j] * 8;
        }
        /* eight independent chains, each output's terms in order */
        for (int k = 0; k < K; k++)
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_set1_ps(wx[j][k]),
                                                             _mm256_loadu_ps(px[j] + k * 8)));
        transpose8(acc);
        for (int k = 0; k < 8; k++) _mm256_storeu_ps(out + k * ostride + o, acc[k]);
    }
    for (; o < w; o++) {
        const float *wx = wts + (size_t)o * wstride, *px = ib + (size_t)first[o] * 8;
        for (int r = 0; r < 8; r++) {
            float sum = 0;
            for (int k = 0; k < K; k++) sum += wx[k] * px[k * 8 + r];
            out[r * ostride + o] = sum;
        }
    }
}

__attribute__((target("avx2"))) size_t img__area_col_avx2(const float *t, size_t n, const float *wy,
                                                          int count, uint8_t *o)
{
    const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.f),
                 half = _mm256_set1_ps(0.5f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 acc = zero;
        for (int k = 0; k < count; k++)
            acc = _mm256_add_ps(
                acc, _mm256_mul_ps(_mm256_set1_ps(wy[k]), _mm256_loadu_ps(t + k * n + i)));
        /* clamp_u8: 0 at or below 0, 255 at or above 255, else v + 0.5
         * truncated */
        __m256i v = _mm256_cvttps_epi32(_mm256_add_ps(acc, half));
        v = _mm256_andnot_si256(_mm256_castps_si256(_mm256_cmp_ps(acc, zero, _CMP_LE_OQ)), v);
        v = _mm256_blendv_epi8(v, _mm256_set1_epi32(255),
                               _mm256_castps_si256(_mm256_cmp_ps(acc, top, _CMP_GE_OQ)));
        __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(o + i), _mm_packus_epi16(w16, w16));
    }
    return i;
}

#else /* not x86-64: the C loops only */

img__simd img__simd_best(void)
{
    return IMG_SIMD_C;
}

int img__simd_avx512(void)
{
    return 0;
}

int img__planar_half_avx2(const img_image *im, int ow, int oh, int y, float mean, float scale,
                          float *t)
{
    return 0;
}

int img__warp8_avx2(const img_image *im, const float m[6], int x, int y, uint8_t *o)
{
    return 0;
}

int img__warp16_avx2(const img_image *im, const float m[6], int x, int y, uint8_t *o)
{
    return 0;
}

int img__gray_row_avx2(const uint8_t *p, int n, uint8_t *o)
{
    return 0;
}

size_t img__planar_same_avx2(const uint8_t *p, size_t n, float mean, float scale, float *t,
                             size_t plane)
{
    return 0;
}

int img__rect_row_avx2(const uint8_t *r0, const uint8_t *r1, const int *ix, const float *ax,
                       const int *dx, int n, float ay, float *t0, float *t1, float *t2)
{
    return 0;
}

void img__area_rows8_avx2(const uint8_t *src, size_t stride, int cw, const int *first,
                          const float *wts, int wstride, int K, int w, float *ib, float *out,
                          size_t ostride)
{
}

size_t img__area_col_avx2(const float *t, size_t n, const float *wy, int count, uint8_t *o)
{
    return 0;
}

#endif
