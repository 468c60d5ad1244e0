/*
 * jpeg_fast.c — the built-in decoder for the JPEGs cameras and browsers send
 * (baseline or extended sequential, 8-bit, Huffman, one interleaved scan,
 * gray or YCbCr at 4:4:4, 4:2:2 or 4:2:0, restart markers or none), giving
 * libjpeg-turbo's RGB bytes exactly (its default decode: the "islow" integer
 * IDCT, "fancy" triangle upsampling, its YCbCr tables). Anything else, and
 * anything this decoder is not sure of, it declines and img_decode uses
 * libjpeg-turbo as before: a bad Huffman code, a coefficient past the
 * block's end, missing or out-of-order restart markers, an interval that
 * needs more bits than it holds, a dequantized coefficient past ±16384, or
 * an IDCT value outside the range where libjpeg-turbo's C and SIMD forms
 * agree (first pass within ±11000, result within [-512, 511]): such values
 * only come from damaged or crafted files, and for those libjpeg-turbo's
 * own answer (and its warnings) stay the reference.
 *
 * Why: decoding a camera frame was the largest piece of the one-face frame
 * outside the networks (about 0.8 ms of 4.7 for 640x480). The entropy
 * decoder here reads bits from a 64-bit buffer refilled without branches
 * once per five symbols, and its table gives the run, the value and the
 * bits of a whole AC coefficient in one lookup for codes and values of up
 * to 10 bits together; a block with only a DC term is filled without an
 * IDCT; the IDCT runs two blocks at a time in 32-bit AVX-512 lanes; the
 * upsampling and colour conversion work on whole rows. The plain C forms
 * (IMG_JPEG_C) define the answer and run where the CPU lacks AVX-512; the
 * product uses this decoder only where the AVX-512 form runs
 * (img__jpeg_fast_level), elsewhere libjpeg-turbo's SIMD is faster.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define FAST_BITS 10

typedef struct {
    /* codes of up to FAST_BITS bits: (symbol << 5) | length; 0 = longer */
    uint16_t fast[1 << FAST_BITS];
    /* AC tables: a whole coefficient when code and value bits fit in
     * FAST_BITS: (value << 16) | (run << 8) | bits, bit 7 set for EOB; 0 =
     * not in one lookup. Bits 5 and 6 are always clear, so the entry & 63
     * is the shift, which a 64-bit shift instruction applies as it is (no
     * masking on the chain from one lookup to the next) */
    int32_t fast_ac[1 << FAST_BITS];
    int32_t maxcode[18];
    int32_t valoff[18];
    uint8_t vals[256];
    int present;
} huff;

typedef struct {
    int id, h, v, tq, td, ta;
    int bw, bh; /* blocks per row and column in the plane */
    uint8_t *plane;
    size_t stride;
} comp;

typedef struct {
    uint16_t q[4][64 + 16]; /* zigzag order; the tail covers a run past 63 */
    int qpresent[4];
    huff dc[4], ac[4];
    comp c[3];
    int nc, w, h, hmax, vmax, restart;
    const uint8_t *scan, *end; /* the entropy-coded data, the file's end */
} jdec;

/* zigzag index -> natural index; past 63 (a corrupt run) lands on 63 */
static const uint8_t zigzag[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33,
    40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

/* A canonical Huffman table from DHT's counts and symbols; -1 when the
 * counts overflow a code length (libjpeg's test: the codes of a length
 * leave its all-ones code unused) or a DC symbol is past 11 bits. */
static int build_huff(huff *t, const uint8_t *counts, const uint8_t *syms, int n, int is_dc)
{
    memset(t, 0, sizeof *t);
    memcpy(t->vals, syms, (size_t)n);
    int code = 0, k = 0;
    for (int l = 1; l <= 16; l++) {
        t->valoff[l] = k - code;
        for (int i = 0; i < counts[l - 1]; i++, k++, code++) {
            if (code >= (1 << l)) return -1; /* more codes than the length holds */
            if (l > FAST_BITS) continue;
            int s = syms[k];
            int lo = code << (FAST_BITS - l), hi = (code + 1) << (FAST_BITS - l);
            for (int j = lo; j < hi; j++) {
                t->fast[j] = (uint16_t)(s << 5 | l);
                if (is_dc) continue;
                int run = s >> 4, size = s & 15;
                if (size == 0) { /* EOB, ZRL (other runs without a value: slow path) */
                    if (s == 0x00) t->fast_ac[j] = 0x80 | l;
                    if (s == 0xF0) t->fast_ac[j] = (15 << 8) | l;
                } else if (l + size <= FAST_BITS) {
                    int bits = (j >> (FAST_BITS - l - size)) & ((1 << size) - 1);
                    int v = bits < (1 << (size - 1)) ? bits - (1 << size) + 1 : bits;
                    t->fast_ac[j] = (int32_t)((uint32_t)v << 16) | (run << 8) | (l + size);
                }
            }
        }
        t->maxcode[l] = counts[l - 1] ? code - 1 : -1;
        if (code >= (1 << l)) return -1; /* as libjpeg: no code of all ones */
        code <<= 1;
    }
    t->maxcode[17] = INT32_MAX;
    if (is_dc)
        for (int i = 0; i < n; i++)
            if (syms[i] > 11) return -1;
    t->present = 1;
    return 0;
}

/* The markers up to the first SOS; -1 for anything this decoder does not
 * take (progressive, arithmetic, 12-bit, 16-bit tables, a scan that is not
 * every component in frame order, ...). */
static int parse(jdec *d, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    if (len < 4 || p[0] != 0xFF || p[1] != 0xD8) return -1;
    p += 2;
    int have_frame = 0;
    for (;;) {
        if (end - p < 4 || p[0] != 0xFF) return -1;
        int m = p[1];
        if (m == 0xFF) { /* fill byte */
            p++;
            continue;
        }
        int L = p[2] << 8 | p[3];
        if (L < 2 || end - p - 2 < L) return -1;
        const uint8_t *s = p + 4, *se = p + 2 + L;
        switch (m) {
        case 0xDB: /* DQT */
            while (s < se) {
                int pq = s[0] >> 4, tq = s[0] & 15;
                if (pq != 0 || tq > 3 || se - s < 65) return -1;
                for (int i = 0; i < 64; i++) d->q[tq][i] = s[1 + i];
                for (int i = 64; i < 80; i++) d->q[tq][i] = 0;
                d->qpresent[tq] = 1;
                s += 65;
            }
            break;
        case 0xC4: /* DHT */
            while (s < se) {
                if (se - s < 17) return -1;
                int tc = s[0] >> 4, th = s[0] & 15, n = 0;
                if (tc > 1 || th > 3) return -1;
                for (int i = 0; i < 16; i++) n += s[1 + i];
                if (n > 256 || se - s < 17 + n) return -1;
                if (build_huff(tc ? &d->ac[th] : &d->dc[th], s + 1, s + 17, n, !tc)) return -1;
                s += 17 + n;
            }
            break;
        case 0xDD: /* DRI */
            if (L != 4) return -1;
            d->restart = s[0] << 8 | s[1];
            break;
        case 0xC0: /* SOF0, SOF1 */
        case 0xC1:
            if (have_frame || L < 8 || s[0] != 8) return -1;
            d->h = s[1] << 8 | s[2];
            d->w = s[3] << 8 | s[4];
            d->nc = s[5];
            if ((d->nc != 1 && d->nc != 3) || L != 8 + 3 * d->nc) return -1;
            d->hmax = d->vmax = 1;
            for (int i = 0; i < d->nc; i++) {
                comp *c = &d->c[i];
                c->id = s[6 + 3 * i];
                c->h = s[7 + 3 * i] >> 4;
                c->v = s[7 + 3 * i] & 15;
                c->tq = s[8 + 3 * i];
                if (c->tq > 3 || c->h < 1 || c->v < 1) return -1;
                if (c->h > d->hmax) d->hmax = c->h;
                if (c->v > d->vmax) d->vmax = c->v;
            }
            have_frame = 1;
            break;
        case 0xDA: { /* SOS */
            int ns = s[0];
            if (!have_frame || ns != d->nc || L != 6 + 2 * ns) return -1;
            for (int i = 0; i < ns; i++) {
                comp *c = &d->c[i];
                if (s[1 + 2 * i] != c->id) return -1;
                c->td = s[2 + 2 * i] >> 4;
                c->ta = s[2 + 2 * i] & 15;
                if (c->td > 3 || c->ta > 3 || !d->dc[c->td].present || !d->ac[c->ta].present ||
                    !d->qpresent[c->tq])
                    return -1;
            }
            const uint8_t *t = s + 1 + 2 * ns;
            if (t[0] != 0 || t[1] != 63 || t[2] != 0) return -1;
            d->scan = se;
            d->end = end;
            return 0;
        }
        default:
            if ((m >= 0xE0 && m <= 0xEF) || m == 0xFE) break; /* APPn, COM */
            return -1;
        }
        p = se;
    }
}

/* ---- entropy decoding ---- */

typedef struct {
    const uint8_t *p; /* next byte to load (unstuffed, padded after the scan) */
    uint64_t acc;     /* n valid bits from the top */
    int n;
} bitbuf;

static inline uint64_t be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

/* A symbol by the short-code table, else by code length (codes longer than
 * FAST_BITS); -1 when no code matches. */
static int decode_slow(uint64_t acc, const huff *t, int *len)
{
    unsigned fs = t->fast[acc >> (64 - FAST_BITS)];
    if (fs) {
        *len = (int)(fs & 31);
        return (int)(fs >> 5);
    }
    for (int l = FAST_BITS + 1; l <= 16; l++) {
        int code = (int)(acc >> (64 - l));
        if (code <= t->maxcode[l]) {
            *len = l;
            return t->vals[code + t->valoff[l]];
        }
    }
    return -1;
}

static inline int extend(uint64_t acc, int size)
{
    int bits = (int)(acc >> (64 - size));
    return bits < (1 << (size - 1)) ? bits - (1 << size) + 1 : bits;
}

/* A block's coefficients to 0 (an inlined memset here is `rep stos`,
 * whose start-up costs more than the block's decoding on AMD Zen). */
static inline void zero_block(int16_t *blk)
{
#if defined(__x86_64__)
    const __m128i z = _mm_setzero_si128();
    for (int i = 0; i < 8; i++) _mm_store_si128((__m128i *)blk + i, z);
#else
    memset(blk, 0, 64 * sizeof *blk);
#endif
}

/* One block, dequantized, into blk (natural order, zeroed by the caller).
 * Returns 1 when it has AC terms, 0 for DC only, -1 for a bad code; sets
 * *badp for a coefficient this decoder declines (see the top). The buffer
 * is refilled once per five table hits: a refill leaves at least 56 bits
 * and a hit takes at most FAST_BITS. */
static inline __attribute__((always_inline)) int decode_block(bitbuf *b, const huff *dc,
                                                              const huff *ac, const uint16_t *q,
                                                              int *pred, int16_t *blk, int *badp)
{
    uint64_t acc = b->acc;
    int n = b->n, len, s, bad = 0;
    const uint8_t *p = b->p;
#define REFILL()                                                                                   \
    do {                                                                                           \
        acc |= be64(p) >> n;                                                                       \
        p += (63 - n) >> 3;                                                                        \
        n |= 56;                                                                                   \
    } while (0)
    REFILL();
    unsigned fs = dc->fast[acc >> (64 - FAST_BITS)];
    if (fs) {
        len = (int)(fs & 31);
        s = (int)(fs >> 5);
    } else if ((s = decode_slow(acc, dc, &len)) < 0) {
        return -1;
    }
    acc <<= len;
    n -= len;
    int diff = 0;
    if (s) {
        diff = extend(acc, s);
        acc <<= s;
        n -= s;
    }
    int v = *pred + diff, dq = v * q[0];
    *pred = v;
    /* every dequantized value + 16384 ORed: within [0, 32767] each exactly
     * when the OR is */
    unsigned range = (unsigned)(dq + 16384);
    blk[0] = (int16_t)dq;
    int k = 1;
    /* the table as a base register: no address arithmetic between one
     * lookup's shift and the next lookup */
    const int32_t *fac = ac->fast_ac;
    for (;;) {
        REFILL();
        int32_t f;
#define STEP()                                                                                     \
    f = fac[acc >> (64 - FAST_BITS)];                                                              \
    if (__builtin_expect(f == 0, 0)) goto slow;                                                    \
    acc <<= f & 63;                                                                                \
    n -= f & 63;                                                                                   \
    if (f & 0x80) goto done; /* EOB */                                                             \
    k += (f >> 8) & 15;                                                                            \
    {                                                                                              \
        int val = (f >> 16) * q[k];                                                                \
        range |= (unsigned)(val + 16384);                                                          \
        blk[zigzag[k]] = (int16_t)val; /* ZRL writes 0 */                                          \
    }                                                                                              \
    if (++k >= 64) goto done;
        STEP() STEP() STEP() STEP() STEP() continue;
    slow:
        if ((s = decode_slow(acc, ac, &len)) < 0) return -1;
        acc <<= len;
        n -= len;
        int run = s >> 4, size = s & 15;
        if (size == 0) {
            if (run != 15) break; /* EOB */
            k += 16;
        } else {
            k += run;
            REFILL();
            int val = extend(acc, size) * q[k];
            acc <<= size;
            n -= size;
            range |= (unsigned)(val + 16384);
            blk[zigzag[k]] = (int16_t)val;
            k++;
        }
        if (k >= 64) break;
    }
done:
#undef STEP
#undef REFILL
    bad |= k > 64; /* a run past the block's end */
    bad |= range > 32767u;
    b->acc = acc;
    b->n = n;
    b->p = p;
    *badp |= bad;
    return k > 1;
}

/* ---- IDCT: libjpeg's jpeg_idct_islow (CONST_BITS 13, PASS1_BITS 2) ---- */

/* The 1-D transform of in[0..7 * st] (frequencies) into o[0..7], before
 * descaling; `round` is added to every output. */
static void idct_1d(const int64_t *in, int st, int64_t round, int64_t o[8])
{
    int64_t z2 = in[2 * st], z3 = in[6 * st];
    int64_t z1 = (z2 + z3) * 4433;
    int64_t tmp2 = z1 + z3 * -15137, tmp3 = z1 + z2 * 6270;
    int64_t tmp0 = (in[0] + in[4 * st]) * 8192 + round, tmp1 = (in[0] - in[4 * st]) * 8192 + round;
    int64_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    int64_t a0 = in[7 * st], a1 = in[5 * st], a2 = in[3 * st], a3 = in[1 * st];
    int64_t y1 = a0 + a3, y2 = a1 + a2, y3 = a0 + a2, y4 = a1 + a3;
    int64_t z5 = (y3 + y4) * 9633;
    a0 *= 2446;
    a1 *= 16819;
    a2 *= 25172;
    a3 *= 12299;
    y1 *= -7373;
    y2 *= -20995;
    y3 = y3 * -16069 + z5;
    y4 = y4 * -3196 + z5;
    a0 += y1 + y3;
    a1 += y2 + y4;
    a2 += y2 + y3;
    a3 += y1 + y4;
    o[0] = tmp10 + a3;
    o[7] = tmp10 - a3;
    o[1] = tmp11 + a2;
    o[6] = tmp11 - a2;
    o[2] = tmp12 + a1;
    o[5] = tmp12 - a1;
    o[3] = tmp13 + a0;
    o[4] = tmp13 - a0;
}

/* The plain C IDCT of one block; returns nonzero when a value left the
 * range this decoder takes. */
static int idct_c(const int16_t *blk, uint8_t *out, size_t stride)
{
    int64_t in[64], ws[64], o[8];
    int bad = 0;
    for (int i = 0; i < 64; i++) in[i] = blk[i];
    for (int c = 0; c < 8; c++) {
        idct_1d(in + c, 8, 1 << 10, o);
        for (int r = 0; r < 8; r++) {
            ws[8 * r + c] = o[r] >> 11;
            bad |= ws[8 * r + c] > 11000 || ws[8 * r + c] < -11000;
        }
    }
    for (int r = 0; r < 8; r++) {
        idct_1d(ws + 8 * r, 1, 1 << 17, o);
        for (int c = 0; c < 8; c++) {
            int64_t v = o[c] >> 18;
            bad |= v > 511 || v < -512;
            v += 128;
            out[r * stride + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    return bad;
}

/* ---- upsampling and colour: libjpeg's h2v2/h2v1 "fancy" upsampling and
 * ycc_rgb_convert ---- */

/* cs[-1 .. n]: a chroma row's column sums (h2v2: 3 * nearer row + farther
 * row; h2v1: the row), edges repeated; 2n upsampled samples into out. */
static void up_h2_c(const int16_t *cs, int n, int shift, uint8_t *out)
{
    int re = shift == 4 ? 8 : 1, ro = shift == 4 ? 7 : 2;
    for (int x = 0; x < n; x++) {
        out[2 * x] = (uint8_t)((cs[x] * 3 + cs[x - 1] + re) >> shift);
        out[2 * x + 1] = (uint8_t)((cs[x] * 3 + cs[x + 1] + ro) >> shift);
    }
}

static inline uint8_t clamp255(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* libjpeg's tables in arithmetic form: FIX(1.40200) = 91881, FIX(1.77200) =
 * 116130, FIX(0.71414) = 46802, FIX(0.34414) = 22554, ONE_HALF = 32768. */
static void ycc_rgb_c(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint8_t *out, int n)
{
    for (int x = 0; x < n; x++) {
        int b = cb[x] - 128, r = cr[x] - 128, Y = y[x];
        out[3 * x] = clamp255(Y + ((91881 * r + 32768) >> 16));
        out[3 * x + 1] = clamp255(Y + ((-22554 * b - 46802 * r + 32768) >> 16));
        out[3 * x + 2] = clamp255(Y + ((116130 * b + 32768) >> 16));
    }
}

#if defined(__x86_64__)
#define T512      __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))
#define MUL(a, c) _mm512_mullo_epi32(a, _mm512_set1_epi32(c))

/* idct_1d on 16 lanes (two blocks' columns or rows), in 32 bits: the sums
 * are taken modulo 2^32 in any grouping, and the range checks keep every
 * true value inside 32 bits, so this is idct_1d's answer. */
T512 static inline void idct_1d_512(const __m512i in[8], __m512i o[8], int round)
{
    __m512i z2 = in[2], z3 = in[6];
    __m512i z1 = MUL(_mm512_add_epi32(z2, z3), 4433);
    __m512i tmp2 = _mm512_add_epi32(z1, MUL(z3, -15137));
    __m512i tmp3 = _mm512_add_epi32(z1, MUL(z2, 6270));
    __m512i r = _mm512_set1_epi32(round);
    __m512i tmp0 = _mm512_add_epi32(_mm512_slli_epi32(_mm512_add_epi32(in[0], in[4]), 13), r);
    __m512i tmp1 = _mm512_add_epi32(_mm512_slli_epi32(_mm512_sub_epi32(in[0], in[4]), 13), r);
    __m512i tmp10 = _mm512_add_epi32(tmp0, tmp3), tmp13 = _mm512_sub_epi32(tmp0, tmp3);
    __m512i tmp11 = _mm512_add_epi32(tmp1, tmp2), tmp12 = _mm512_sub_epi32(tmp1, tmp2);
    __m512i a0 = in[7], a1 = in[5], a2 = in[3], a3 = in[1];
    __m512i y1 = _mm512_add_epi32(a0, a3), y2 = _mm512_add_epi32(a1, a2);
    __m512i y3 = _mm512_add_epi32(a0, a2), y4 = _mm512_add_epi32(a1, a3);
    __m512i z5 = MUL(_mm512_add_epi32(y3, y4), 9633);
    a0 = MUL(a0, 2446);
    a1 = MUL(a1, 16819);
    a2 = MUL(a2, 25172);
    a3 = MUL(a3, 12299);
    y1 = MUL(y1, -7373);
    y2 = MUL(y2, -20995);
    y3 = _mm512_add_epi32(MUL(y3, -16069), z5);
    y4 = _mm512_add_epi32(MUL(y4, -3196), z5);
    a0 = _mm512_add_epi32(a0, _mm512_add_epi32(y1, y3));
    a1 = _mm512_add_epi32(a1, _mm512_add_epi32(y2, y4));
    a2 = _mm512_add_epi32(a2, _mm512_add_epi32(y2, y3));
    a3 = _mm512_add_epi32(a3, _mm512_add_epi32(y1, y4));
    o[0] = _mm512_add_epi32(tmp10, a3);
    o[7] = _mm512_sub_epi32(tmp10, a3);
    o[1] = _mm512_add_epi32(tmp11, a2);
    o[6] = _mm512_sub_epi32(tmp11, a2);
    o[2] = _mm512_add_epi32(tmp12, a1);
    o[5] = _mm512_sub_epi32(tmp12, a1);
    o[3] = _mm512_add_epi32(tmp13, a0);
    o[4] = _mm512_sub_epi32(tmp13, a0);
}

/* Transpose the 8x8 matrix of 32-bit values in each 256-bit half of r. */
T512 static inline void transpose_512(__m512i r[8])
{
    __m512i t[8], u[8];
    _Pragma("GCC unroll 8") for (int i = 0; i < 4; i++)
    {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    _Pragma("GCC unroll 8") for (int i = 0; i < 2; i++)
    {
        u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* u[j], j < 4: column j of rows 0-3 in each half's first 128 bits,
     * column j + 4 in its second; u[4 + j]: the same of rows 4-7 */
    const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    _Pragma("GCC unroll 8") for (int j = 0; j < 4; j++)
    {
        r[j] = _mm512_permutex2var_epi64(u[j], lo, u[4 + j]);
        r[j + 4] = _mm512_permutex2var_epi64(u[j], hi, u[4 + j]);
    }
}

/* idct_c of blocks a and b at once (a in the low halves, b in the high). */
T512 static int idct2_512(const int16_t *a, const int16_t *b, uint8_t *oa, size_t sa, uint8_t *ob,
                          size_t sb)
{
    __m512i r[8], o[8];
    __mmask16 bad = 0;
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) r[i] =
        _mm512_cvtepi16_epi32(_mm256_set_m128i(_mm_loadu_si128((const __m128i *)(b + 8 * i)),
                                               _mm_loadu_si128((const __m128i *)(a + 8 * i))));
    idct_1d_512(r, o, 1 << 10);
    /* the range checks on the lanes' maximum and minimum */
    __m512i mx = _mm512_set1_epi32(INT32_MIN), mn = _mm512_set1_epi32(INT32_MAX);
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)
    {
        o[i] = _mm512_srai_epi32(o[i], 11);
        mx = _mm512_max_epi32(mx, o[i]);
        mn = _mm512_min_epi32(mn, o[i]);
    }
    bad |= _mm512_cmpgt_epi32_mask(mx, _mm512_set1_epi32(11000)) |
           _mm512_cmplt_epi32_mask(mn, _mm512_set1_epi32(-11000));
    transpose_512(o); /* rows of the workspace -> lanes are rows */
    idct_1d_512(o, r, 1 << 17);
    const __m512i c128 = _mm512_set1_epi32(128), z = _mm512_setzero_si512();
    mx = _mm512_set1_epi32(INT32_MIN);
    mn = _mm512_set1_epi32(INT32_MAX);
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)
    {
        r[i] = _mm512_srai_epi32(r[i], 18);
        mx = _mm512_max_epi32(mx, r[i]);
        mn = _mm512_min_epi32(mn, r[i]);
        r[i] = _mm512_max_epi32(_mm512_add_epi32(r[i], c128), z);
    }
    bad |= _mm512_cmpgt_epi32_mask(mx, _mm512_set1_epi32(511)) |
           _mm512_cmplt_epi32_mask(mn, _mm512_set1_epi32(-512));
    transpose_512(r); /* output columns -> rows */
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)
    {
        __m128i px = _mm512_cvtusepi32_epi8(r[i]);
        _mm_storel_epi64((__m128i *)(oa + i * sa), px);
        _mm_storeh_pd((double *)(ob + i * sb), _mm_castsi128_pd(px));
    }
    return bad != 0;
}

/* h2v2 column sums of n samples (reads up to 31 past n: planes have slack). */
T512 static void colsum_512(const uint8_t *r0, const uint8_t *r1, int16_t *s, int n)
{
    const __m512i three = _mm512_set1_epi16(3);
    for (int x = 0; x < n; x += 32) {
        __m512i a = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(r0 + x)));
        __m512i b = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(r1 + x)));
        _mm512_storeu_si512(s + x, _mm512_add_epi16(_mm512_mullo_epi16(a, three), b));
    }
}

/* up_h2_c, 32 column sums at a time (writes up to 62 samples past 2n). */
T512 static void up_h2_512(const int16_t *cs, int n, int shift, uint8_t *out)
{
    const __m512i three = _mm512_set1_epi16(3), re = _mm512_set1_epi16(shift == 4 ? 8 : 1),
                  ro = _mm512_set1_epi16(shift == 4 ? 7 : 2);
    const __m128i sh = _mm_cvtsi32_si128(shift);
    for (int x = 0; x < n; x += 32) {
        __m512i c = _mm512_loadu_si512(cs + x), l = _mm512_loadu_si512(cs + x - 1),
                r = _mm512_loadu_si512(cs + x + 1);
        __m512i c3 = _mm512_mullo_epi16(c, three);
        __m512i e = _mm512_srl_epi16(_mm512_add_epi16(_mm512_add_epi16(c3, l), re), sh);
        __m512i o = _mm512_srl_epi16(_mm512_add_epi16(_mm512_add_epi16(c3, r), ro), sh);
        _mm512_storeu_si512(out + 2 * x, _mm512_or_si512(e, _mm512_slli_epi16(o, 8)));
    }
}

/* ycc_rgb_c, 16 pixels at a time. */
T512 static void ycc_rgb_512(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint8_t *out,
                             int n)
{
    const __m512i c128 = _mm512_set1_epi32(128), half = _mm512_set1_epi32(32768);
    const __m512i kr = _mm512_set1_epi32(91881), kb = _mm512_set1_epi32(116130),
                  kgb = _mm512_set1_epi32(-22554), kgr = _mm512_set1_epi32(-46802),
                  z = _mm512_setzero_si512();
    /* r0 g0 b0 r1 ... from [R x16 | G x16 | B x16 | -] */
    static const uint8_t idx[64] = {0,  16, 32, 1,  17, 33, 2,  18, 34, 3,  19, 35, 4,  20, 36, 5,
                                    21, 37, 6,  22, 38, 7,  23, 39, 8,  24, 40, 9,  25, 41, 10, 26,
                                    42, 11, 27, 43, 12, 28, 44, 13, 29, 45, 14, 30, 46, 15, 31, 47};
    const __m512i perm = _mm512_loadu_si512(idx);
    for (int x = 0; x < n; x += 16) {
        int k = n - x < 16 ? n - x : 16;
        __mmask16 m = (__mmask16)((1u << k) - 1);
        __m512i Y = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, y + x));
        __m512i B = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, cb + x)), c128);
        __m512i R = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, cr + x)), c128);
        __m512i r = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(R, kr), half), 16);
        __m512i g = _mm512_srai_epi32(
            _mm512_add_epi32(
                _mm512_add_epi32(_mm512_mullo_epi32(B, kgb), _mm512_mullo_epi32(R, kgr)), half),
            16);
        __m512i b = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(B, kb), half), 16);
        __m128i r8 = _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_add_epi32(Y, r), z));
        __m128i g8 = _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_add_epi32(Y, g), z));
        __m128i b8 = _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_add_epi32(Y, b), z));
        __m512i all = _mm512_inserti32x4(_mm512_castsi128_si512(r8), g8, 1);
        __m512i px = _mm512_permutexvar_epi8(perm, _mm512_inserti32x4(all, b8, 2));
        if (k == 16 && x + 22 <= n) /* 16 bytes past the 48, rewritten next */
            _mm512_storeu_si512(out + 3 * x, px);
        else
            _mm512_mask_storeu_epi8(out + 3 * x, (__mmask64)((1ull << (3 * k)) - 1), px);
    }
}
#undef MUL
#endif

/* ---- the planes: kept per thread for the next frame when small ---- */

#define PLANES_KEEP ((size_t)4 << 20) /* 1080p at 4:2:0 */
static pthread_key_t planes_key;
static pthread_once_t planes_once = PTHREAD_ONCE_INIT;
static __thread uint8_t *planes_held;
static __thread size_t planes_held_n;

static void planes_key_make(void)
{
    (void)pthread_key_create(&planes_key, free);
}

static uint8_t *planes_get(size_t n)
{
    if (n > PLANES_KEEP) return malloc(n);
    if (planes_held_n < n) {
        pthread_once(&planes_once, planes_key_make);
        free(planes_held);
        planes_held = malloc(PLANES_KEEP);
        planes_held_n = planes_held ? PLANES_KEEP : 0;
        pthread_setspecific(planes_key, planes_held); /* freed when the thread ends */
    }
    return planes_held;
}

static void planes_put(uint8_t *p)
{
    if (p != planes_held) free(p);
}

/* ---- the decode ---- */

/* The entropy-coded data from [p, end) without its stuffed zero bytes into
 * out, each restart interval's end offset into seg[] (at most nseg); the
 * number of intervals, or -1 when a marker other than the expected RSTn
 * comes before the last interval or the data runs out. */
static int unstuff(const uint8_t *p, const uint8_t *end, uint8_t *out, size_t *seg, int nseg)
{
    size_t o = 0;
    int k = 0;
    for (;;) {
        const uint8_t *ff = memchr(p, 0xFF, (size_t)(end - p));
        if (!ff) return -1;
        memcpy(out + o, p, (size_t)(ff - p));
        o += (size_t)(ff - p);
        p = ff + 1;
        const uint8_t *fill = p;
        while (p < end && *p == 0xFF) p++;
        if (p >= end) return -1;
        /* Fill bytes (FF FF ...) may come before a marker. Before a
         * stuffed zero they are corrupt data, which libjpeg-turbo reads
         * two ways (its fast path takes FF FF for a marker, its slow path
         * for one FF byte) and mixes in one block: declined. */
        if (*p == 0 && p != fill) return -1;
        if (*p == 0) { /* a stuffed 0xFF */
            out[o++] = 0xFF;
            p++;
            continue;
        }
        seg[k++] = o;
        if (k == nseg) return k; /* the last interval ends at any marker */
        if (*p != 0xD0 + ((k - 1) & 7)) return -1;
        p++;
    }
}

/* The entropy-coded intervals into the planes (the IDCT as blocks come):
 * 0 when declined; *badp for a value out of range. Inlined into a plain
 * and an AVX-512 + BMI2 function, so that the bit reader's shifts and the
 * zeroing compile for the CPU that runs them. */
static inline __attribute__((always_inline)) int decode_mcus(jdec *d, const uint8_t *buf,
                                                             const size_t *seg, int nseg,
                                                             int interval, int mcus, int mx,
                                                             int avx512, int *badp)
{
    int bad = 0;
    int16_t blks[10][64] __attribute__((aligned(64)));
    uint8_t junk[64];
    size_t start = 0;
    for (int s = 0, m = 0; s < nseg; s++) {
        bitbuf b = {buf + start, 0, 0};
        int pred[3] = {0, 0, 0};
        int m1 = m + interval < mcus ? m + interval : mcus;
        for (; m < m1; m++) {
            int mcx = m % mx, mcy = m / mx, nb = 0, na = 0;
            int16_t *bp[10];
            uint8_t *op[10];
            size_t os[10];
            for (int ci = 0; ci < d->nc; ci++) {
                comp *c = &d->c[ci];
                for (int by = 0; by < c->v; by++)
                    for (int bx = 0; bx < c->h; bx++) {
                        int16_t *bk = blks[nb++];
                        zero_block(bk);
                        int r = decode_block(&b, &d->dc[c->td], &d->ac[c->ta], d->q[c->tq],
                                             &pred[ci], bk, &bad);
                        if (r < 0 || b.p > buf + seg[nseg - 1] + 256) return 0;
                        uint8_t *o = c->plane + (size_t)(mcy * c->v + by) * 8 * c->stride +
                                     (size_t)(mcx * c->h + bx) * 8;
                        if (r == 0) { /* DC only: the IDCT's value, everywhere */
                            int ws = bk[0] * 4;
                            bad |= ws > 11000 || ws < -11000;
                            uint64_t f = 0x0101010101010101ull * clamp255(((ws + 16) >> 5) + 128);
                            for (int i = 0; i < 8; i++) memcpy(o + i * c->stride, &f, 8);
                        } else if (!avx512) {
                            bad |= idct_c(bk, o, c->stride);
                        } else {
                            bp[na] = bk;
                            op[na] = o;
                            os[na++] = c->stride;
                        }
                    }
            }
#if defined(__x86_64__)
            int i = 0;
            for (; i + 1 < na; i += 2)
                bad |= idct2_512(bp[i], bp[i + 1], op[i], os[i], op[i + 1], os[i + 1]);
            if (i < na) bad |= idct2_512(bp[i], bp[i], op[i], os[i], junk, 8);
#else
            (void)bp, (void)op, (void)os, (void)junk, (void)na;
#endif
        }
        /* the interval may not need more bits than it holds */
        if ((size_t)(b.p - buf) * 8 - (size_t)b.n > seg[s] * 8) return 0;
        start = seg[s];
    }
    *badp = bad;
    return 1;
}

static int decode_mcus_c(jdec *d, const uint8_t *buf, const size_t *seg, int nseg, int interval,
                         int mcus, int mx, int *badp)
{
    return decode_mcus(d, buf, seg, nseg, interval, mcus, mx, 0, badp);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,bmi,bmi2"))) static int
decode_mcus_512(jdec *d, const uint8_t *buf, const size_t *seg, int nseg, int interval, int mcus,
                int mx, int *badp)
{
    return decode_mcus(d, buf, seg, nseg, interval, mcus, mx, 1, badp);
}
#endif

int img__jpeg_fast(img__jpeg_level level, const void *data, size_t len, img_image *out)
{
#if !defined(__x86_64__)
    if (level == IMG_JPEG_AVX512) level = IMG_JPEG_C;
#endif
    /* not calloc: its 50 KB of tables are written when DHT defines them;
     * only what parse reads before writing is set here */
    jdec *d = malloc(sizeof *d);
    if (d) {
        for (int i = 0; i < 4; i++) d->qpresent[i] = d->dc[i].present = d->ac[i].present = 0;
        d->restart = d->nc = d->w = d->h = 0;
    }
    if (!d || parse(d, data, len) || d->w != out->w || d->h != out->h || out->channels != 3 ||
        d->w < 16 || d->h < 16) {
        free(d);
        return 0;
    }
    int mx, my;
    if (d->nc == 3) {
        if (d->c[1].h != 1 || d->c[1].v != 1 || d->c[2].h != 1 || d->c[2].v != 1 ||
            !((d->hmax == 2 && d->vmax == 2) || (d->hmax == 2 && d->vmax == 1) ||
              (d->hmax == 1 && d->vmax == 1))) {
            free(d);
            return 0;
        }
        mx = (d->w + 8 * d->hmax - 1) / (8 * d->hmax);
        my = (d->h + 8 * d->vmax - 1) / (8 * d->vmax);
    } else { /* one component: one block an MCU, whatever its factors */
        d->c[0].h = d->c[0].v = d->hmax = d->vmax = 1;
        mx = (d->w + 7) / 8;
        my = (d->h + 7) / 8;
    }
    size_t total = 0;
    for (int i = 0; i < d->nc; i++) {
        comp *c = &d->c[i];
        c->bw = mx * c->h;
        c->bh = my * c->v;
        c->stride = (size_t)c->bw * 8;
        total += c->stride * (size_t)c->bh * 8 + 64; /* slack for the row readers */
    }
    int mcus = mx * my, interval = d->restart ? d->restart : mcus;
    int nseg = (mcus + interval - 1) / interval;
    size_t scan_len = (size_t)(d->end - d->scan);
    uint8_t *planes = planes_get(total);
    uint8_t *buf = malloc(scan_len + 1024);
    size_t *seg = malloc(sizeof(size_t) * (size_t)nseg);
    int ok = 0;
    if (!planes || !buf || !seg) goto out;
    uint8_t *pp = planes;
    for (int i = 0; i < d->nc; i++) {
        d->c[i].plane = pp;
        pp += d->c[i].stride * (size_t)d->c[i].bh * 8 + 64;
    }
    if (unstuff(d->scan, d->end, buf, seg, nseg) != nseg) goto out;
    /* Reading past the data (a corrupt file) finds zeros and stops at the
     * first block that ends more than 256 bytes past it: a block takes at
     * most 64 * 32 bits, and the bit buffer loads 8 bytes ahead. */
    memset(buf + seg[nseg - 1], 0, 1024);
    int bad = 0;
#if defined(__x86_64__)
    if (level == IMG_JPEG_AVX512) {
        if (!decode_mcus_512(d, buf, seg, nseg, interval, mcus, mx, &bad)) goto out;
    } else
#endif
        if (!decode_mcus_c(d, buf, seg, nseg, interval, mcus, mx, &bad))
        goto out;
    if (bad) goto out;
    int cw = (d->w + d->hmax - 1) / d->hmax, ch = (d->h + d->vmax - 1) / d->vmax;
    if (d->nc == 1) {
        for (int y = 0; y < d->h; y++) {
            const uint8_t *Y = d->c[0].plane + (size_t)y * d->c[0].stride;
            uint8_t *O = out->px + (size_t)y * d->w * 3;
            for (int x = 0; x < d->w; x++) O[3 * x] = O[3 * x + 1] = O[3 * x + 2] = Y[x];
        }
        ok = 1;
        goto out;
    }
    int16_t *cs = malloc(sizeof(int16_t) * ((size_t)cw + 96));
    uint8_t *ub = malloc((size_t)d->w * 2 + 512);
    if (!cs || !ub) {
        free(cs);
        free(ub);
        goto out;
    }
    uint8_t *ur = ub + d->w + 256;
    for (int y = 0; y < d->h; y++) {
        uint8_t *ups[2] = {ub, ur};
        for (int k = 0; k < 2; k++) {
            comp *c = &d->c[1 + k];
            if (d->hmax == 1) { /* 4:4:4 */
                memcpy(ups[k], c->plane + (size_t)y * c->stride, (size_t)d->w);
                continue;
            }
            int16_t *s = cs + 1;
            if (d->vmax == 2) { /* the nearer chroma row 3:1 with the next one out */
                int cy = y >> 1, ny = (y & 1) ? cy + 1 : cy - 1;
                ny = ny < 0 ? 0 : ny > ch - 1 ? ch - 1 : ny;
                const uint8_t *r0 = c->plane + (size_t)cy * c->stride,
                              *r1 = c->plane + (size_t)ny * c->stride;
#if defined(__x86_64__)
                if (level == IMG_JPEG_AVX512)
                    colsum_512(r0, r1, s, cw);
                else
#endif
                    for (int x = 0; x < cw; x++) s[x] = (int16_t)(r0[x] * 3 + r1[x]);
            } else {
                const uint8_t *r0 = c->plane + (size_t)y * c->stride;
                for (int x = 0; x < cw; x++) s[x] = r0[x];
            }
            s[-1] = s[0];
            s[cw] = s[cw - 1];
#if defined(__x86_64__)
            if (level == IMG_JPEG_AVX512)
                up_h2_512(s, cw, d->vmax == 2 ? 4 : 2, ups[k]);
            else
#endif
                up_h2_c(s, cw, d->vmax == 2 ? 4 : 2, ups[k]);
        }
        const uint8_t *Y = d->c[0].plane + (size_t)y * d->c[0].stride;
        uint8_t *O = out->px + (size_t)y * d->w * 3;
#if defined(__x86_64__)
        if (level == IMG_JPEG_AVX512)
            ycc_rgb_512(Y, ub, ur, O, d->w);
        else
#endif
            ycc_rgb_c(Y, ub, ur, O, d->w);
    }
    free(cs);
    free(ub);
    ok = 1;
out:
    planes_put(planes);
    free(buf);
    free(seg);
    free(d);
    return ok;
}

unsigned img__jpeg_fast_per_px(int sub)
{
    /* TJSAMP_444 0, 422 1, 420 2, GRAY 3 (others are declined: 3 to be safe) */
    return sub == 2 || sub == 3 ? 2 : 3;
}

static img__jpeg_level best_level;
static pthread_once_t level_once = PTHREAD_ONCE_INIT;

static void detect_level(void)
{
    const char *off = getenv("ROLLCALL_JPEG_FAST");
    if ((off && strcmp(off, "0") == 0) || !img__simd_avx512()) return;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vbmi"))
        best_level = IMG_JPEG_AVX512;
#endif
}

img__jpeg_level img__jpeg_fast_level(void)
{
    pthread_once(&level_once, detect_level);
    return best_level;
}
