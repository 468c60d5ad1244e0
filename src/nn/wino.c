/*
 * wino.c — Winograd convolution for 3x3 stride-1 layers (AVX-512 or AVX2,
 * chosen at run time; the caller falls back to the other convolution paths when it
 * returns false). Two tile sizes:
 *
 *   F(2x2,3x3): 4x4 input tiles, 16 products, 2.25x fewer multiplications;
 *   F(4x4,3x3): 6x6 input tiles, 36 products, 4x fewer multiplications,
 *               with larger transforms (and rounding errors still ~1e-6
 *               relative on the default models).
 *
 * The weights are transformed once at load (U = G g G^T: 16 + 36 matrices
 * of M x C, packed for the GEMM micro-kernel). At run time tiles go
 * through the three steps in blocks of one GEMM panel (32 tiles), so a
 * block's transformed inputs V [k][C][32] and products [k][M][32] stay in
 * L2:
 *   input transform V = B^T d B -> one GEMM per k (U_k V_k) -> output
 *   transform y = act(A^T m A + bias).
 * Transforms work on 16 tiles of one tile row at a time (one per lane),
 * reading the image in place: masked loads supply the zero padding.
 */
#include <string.h>

#include "kernels.h"
#include "nn_internal.h"

/* Tiles per block: one GEMM panel. */
#define WINO_NB NN_GEMM_NR
/* Distance between the k matrices of a block: one cache line more than
 * their size, so the 16 or 36 streams the transforms write and read do not
 * all fall into the same L1 set (their size is a multiple of 4 KiB). */
#define WINO_KSTRIDE(rows) ((rows)*WINO_NB + 16)

/* Output planes at least this tall and wide take F(4x4); smaller ones
 * F(2x2), whose tiles waste less of the edges (measured on 128 -> 32
 * channels: 4x4 wins from 14x14 up). */
#ifndef WINO4_MIN
#define WINO4_MIN 14
#endif

size_t nn_wino_packed_floats(int64_t M, int64_t C)
{
    return (16 + 36) * nn_gemm_packed_floats(M, C);
}

/* U = G g G^T for every (m, c): n*n matrices of M x C, written straight
 * in the layout of nn_gemm_pack_a (blocks of NN_GEMM_MR rows stored
 * [C][MR], rows past M zero), computed in double. */
static void wino_pack_g(const float *w, int64_t M, int64_t C, int n, const double (*G)[3],
                        float *dst)
{
    size_t one = nn_gemm_packed_floats(M, C);
    memset(dst, 0, (size_t)(n * n) * one * sizeof(float));
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (m * C + c) * 9;
            double t[6][3];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            float *d = dst + (m / NN_GEMM_MR * C + c) * NN_GEMM_MR + m % NN_GEMM_MR;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    d[(i * n + j) * one] =
                        (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
        }
}

void nn_wino_pack(const float *w, int64_t M, int64_t C, float *dst)
{
    static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    wino_pack_g(w, M, C, 4, G2, dst);
    wino_pack_g(w, M, C, 6, G4, dst + 16 * nn_gemm_packed_floats(M, C));
}

static int wino_r(const nn_im2col *a, int64_t OH)
{
    return OH >= WINO4_MIN && a->OW >= WINO4_MIN ? 4 : 2;
}

size_t nn_wino_scratch(const nn_im2col *a, int64_t M, int64_t OH)
{
    int r = wino_r(a, OH), nk = (r + 2) * (r + 2);
    size_t f = (size_t)(nk * WINO_KSTRIDE(a->C) + 16) + (size_t)(nk * WINO_KSTRIDE(M) + 16) + 16;
    return f * sizeof(float);
}

#if defined(__x86_64__)
/* A run of a block's tiles along one tile row: tiles (ty, tx0 .. tx0+len-1)
 * are columns off .. off+len-1 of the block. */
typedef struct {
    int64_t ty, tx0, len, off;
} wino_seg;

static int wino_segments(int64_t TW, int64_t t0, int ncols, wino_seg *seg)
{
    int nseg = 0;
    for (int64_t t = t0; t < t0 + ncols;) {
        int64_t ty = t / TW, tx = t % TW, len = TW - tx;
        if (len > t0 + ncols - t) len = t0 + ncols - t;
        seg[nseg++] = (wino_seg){ty, tx, len, t - t0};
        t += len;
    }
    return nseg;
}

/* Lane indices interleaving registers a and b: lo = a0 b0 a1 b1 .. a7 b7,
 * hi = a8 b8 .. a15 b15 (the output transforms' columns back in order). */
static const int32_t interleave_lo[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
static const int32_t interleave_hi[16] = {8,  24, 9,  25, 10, 26, 11, 27,
                                          12, 28, 13, 29, 14, 30, 15, 31};

/* ---- F(2x2, 3x3) ---- */

/* V[k][c][off + j] = (B^T d B)[k] for the 4x4 input tile d of each tile. */
__attribute__((target("avx512f"))) static void wino2_input(const nn_im2col *a, const wino_seg *seg,
                                                           int nseg, float *V)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int64_t ks = WINO_KSTRIDE(a->C), H = a->H, W = a->W;
    for (int64_t c = 0; c < a->C; c++)
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 16) {
                int64_t left = seg[s].len - j < 16 ? seg[s].len - j : 16;
                __mmask16 mk = nn_lanes_below(left);
                /* the chunk's tiles read rows y0 .. y0+3, columns x0 .. x0+33 */
                int64_t y0 = 2 * seg[s].ty - a->pt, x0 = 2 * (seg[s].tx0 + j) - a->pl;
                __mmask16 me0 = nn_lanes_inside(x0, W), me1 = nn_lanes_inside(x0 + 16, W);
                __mmask16 mf0 = nn_lanes_inside(x0 + 2, W), mf1 = nn_lanes_inside(x0 + 18, W);
                {
                    __m512 d[4][4];
                    for (int i = 0; i < 4; i++) {
                        int64_t iy = y0 + i;
                        if (iy < 0 || iy >= H) {
                            for (int q = 0; q < 4; q++) d[i][q] = _mm512_setzero_ps();
                            continue;
                        }
                        const float *row = a->x + (c * H + iy) * W + x0;
                        __m512 e0 = _mm512_maskz_loadu_ps(me0, row);
                        __m512 e1 = _mm512_maskz_loadu_ps(me1, row + 16);
                        __m512 f0 = _mm512_maskz_loadu_ps(mf0, row + 2);
                        __m512 f1 = _mm512_maskz_loadu_ps(mf1, row + 18);
                        d[i][0] = _mm512_permutex2var_ps(e0, even, e1);
                        d[i][1] = _mm512_permutex2var_ps(e0, odd, e1);
                        d[i][2] = _mm512_permutex2var_ps(f0, even, f1);
                        d[i][3] = _mm512_permutex2var_ps(f0, odd, f1);
                    }
                    /* B^T d: along i */
                    __m512 w[4][4];
                    for (int q = 0; q < 4; q++) {
                        w[0][q] = _mm512_sub_ps(d[0][q], d[2][q]);
                        w[1][q] = _mm512_add_ps(d[1][q], d[2][q]);
                        w[2][q] = _mm512_sub_ps(d[2][q], d[1][q]);
                        w[3][q] = _mm512_sub_ps(d[1][q], d[3][q]);
                    }
                    /* (B^T d) B: along j */
                    float *dst = V + c * WINO_NB + seg[s].off + j;
                    for (int i = 0; i < 4; i++) {
                        _mm512_mask_storeu_ps(dst + (i * 4 + 0) * ks, mk,
                                              _mm512_sub_ps(w[i][0], w[i][2]));
                        _mm512_mask_storeu_ps(dst + (i * 4 + 1) * ks, mk,
                                              _mm512_add_ps(w[i][1], w[i][2]));
                        _mm512_mask_storeu_ps(dst + (i * 4 + 2) * ks, mk,
                                              _mm512_sub_ps(w[i][2], w[i][1]));
                        _mm512_mask_storeu_ps(dst + (i * 4 + 3) * ks, mk,
                                              _mm512_sub_ps(w[i][1], w[i][3]));
                    }
                }
            }
}

/* y = act(A^T m A + bias) for the 2x2 output tiles of a block, from the
 * products Mb[k][m][off + j]. */
__attribute__((target("avx512f"))) static void
wino2_output(const float *Mb, int64_t M, const wino_seg *seg, int nseg, int64_t OH, int64_t OW,
             float *y, const float *bias, const epi *e, const float *slope, int64_t nslope)
{
    const __m512i lo_idx = _mm512_loadu_si512(interleave_lo),
                  hi_idx = _mm512_loadu_si512(interleave_hi);
    const int64_t ks = WINO_KSTRIDE(M);
    for (int64_t m = 0; m < M; m++) {
        epi_vec ev = epi_vec_of(e->act, e->a, e->b, slope, nslope, bias, m);
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 16) {
                int64_t left = seg[s].len - j < 16 ? seg[s].len - j : 16;
                __mmask16 mk = nn_lanes_below(left);
                const float *src = Mb + m * WINO_NB + seg[s].off + j;
                __m512 r[4][2];
                for (int i = 0; i < 4; i++) {
                    __m512 m0 = _mm512_maskz_loadu_ps(mk, src + (i * 4 + 0) * ks);
                    __m512 m1 = _mm512_maskz_loadu_ps(mk, src + (i * 4 + 1) * ks);
                    __m512 m2 = _mm512_maskz_loadu_ps(mk, src + (i * 4 + 2) * ks);
                    __m512 m3 = _mm512_maskz_loadu_ps(mk, src + (i * 4 + 3) * ks);
                    r[i][0] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                    r[i][1] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
                }
                int64_t tx = seg[s].tx0 + j, ncol = OW - 2 * tx;
                if (ncol > 2 * left) ncol = 2 * left;
                uint64_t bits = ((uint64_t)1 << ncol) - 1;
                for (int i = 0; i < 2; i++) {
                    int64_t oy = 2 * seg[s].ty + i;
                    if (oy >= OH) break;
                    __m512 o[2];
                    for (int q = 0; q < 2; q++) {
                        __m512 v = i == 0 ? _mm512_add_ps(_mm512_add_ps(r[0][q], r[1][q]), r[2][q])
                                          : _mm512_sub_ps(_mm512_sub_ps(r[1][q], r[2][q]), r[3][q]);
                        o[q] = epi_avx512(e->act, _mm512_add_ps(v, ev.vb), ev.vs, ev.lo, ev.hi);
                    }
                    /* interleave: output columns 2tx + 2t + q */
                    float *yr = y + (m * OH + oy) * OW + 2 * tx;
                    _mm512_mask_storeu_ps(yr, (__mmask16)(bits & 0xffff),
                                          _mm512_permutex2var_ps(o[0], lo_idx, o[1]));
                    _mm512_mask_storeu_ps(yr + 16, (__mmask16)(bits >> 16),
                                          _mm512_permutex2var_ps(o[0], hi_idx, o[1]));
                }
            }
    }
}

/* ---- F(4x4, 3x3) ---- */

/* r = B^T d for one 6-vector (lanes are tiles). */
__attribute__((always_inline, target("avx512f"))) static inline void bt6(const __m512 *d, __m512 *r)
{
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f),
                 five = _mm512_set1_ps(5.0f);
    __m512 t0 = _mm512_fnmadd_ps(four, d[2], d[4]); /* d4 - 4 d2 */
    __m512 t1 = _mm512_fnmadd_ps(four, d[1], d[3]); /* d3 - 4 d1 */
    __m512 t2 = _mm512_sub_ps(d[4], d[2]);
    __m512 t3 = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    r[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    r[1] = _mm512_add_ps(t0, t1);
    r[2] = _mm512_sub_ps(t0, t1);
    r[3] = _mm512_add_ps(t2, t3);
    r[4] = _mm512_sub_ps(t2, t3);
    r[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

/* o = A^T m for one 6-vector. */
__attribute__((always_inline, target("avx512f"))) static inline void at6(const __m512 *m, __m512 *o)
{
    __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d, b);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d, b), m[5]);
}

/* V[k][c][off + j] = (B^T d B)[k] for the 6x6 input tile d of each tile:
 * each image row is split into its columns 4t + q (q = 0..5) for 16 tiles,
 * transformed along the row into a small buffer, then along the columns. */
__attribute__((target("avx512f"))) static void wino4_input(const nn_im2col *a, const wino_seg *seg,
                                                           int nseg, float *V)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i next0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    const __m512i next1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
    const int64_t ks = WINO_KSTRIDE(a->C), H = a->H, W = a->W;
    __attribute__((aligned(64))) float h[6][6][16];
    for (int64_t c = 0; c < a->C; c++)
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 16) {
                int64_t left = seg[s].len - j < 16 ? seg[s].len - j : 16;
                __mmask16 mk = nn_lanes_below(left);
                /* the chunk's tiles read rows y0 .. y0+5, columns x0 .. x0+65 */
                int64_t y0 = 4 * seg[s].ty - a->pt, x0 = 4 * (seg[s].tx0 + j) - a->pl;
                __mmask16 mc[5];
                for (int q = 0; q < 5; q++) mc[q] = nn_lanes_inside(x0 + 16 * q, W);
                {
                    for (int i = 0; i < 6; i++) {
                        int64_t iy = y0 + i;
                        __m512 r[6];
                        if (iy < 0 || iy >= H) {
                            for (int q = 0; q < 6; q++)
                                _mm512_store_ps(h[i][q], _mm512_setzero_ps());
                            continue;
                        }
                        const float *row = a->x + (c * H + iy) * W + x0;
                        __m512 v0 = _mm512_maskz_loadu_ps(mc[0], row);
                        __m512 v1 = _mm512_maskz_loadu_ps(mc[1], row + 16);
                        __m512 v2 = _mm512_maskz_loadu_ps(mc[2], row + 32);
                        __m512 v3 = _mm512_maskz_loadu_ps(mc[3], row + 48);
                        __m512 v4 = _mm512_maskz_loadu_ps(mc[4], row + 64);
                        __m512 e01 = _mm512_permutex2var_ps(v0, even, v1);
                        __m512 o01 = _mm512_permutex2var_ps(v0, odd, v1);
                        __m512 e23 = _mm512_permutex2var_ps(v2, even, v3);
                        __m512 o23 = _mm512_permutex2var_ps(v2, odd, v3);
                        __m512 d[6];
                        d[0] = _mm512_permutex2var_ps(e01, even, e23); /* columns 4t */
                        d[2] = _mm512_permutex2var_ps(e01, odd, e23);  /* 4t + 2 */
                        d[1] = _mm512_permutex2var_ps(o01, even, o23); /* 4t + 1 */
                        d[3] = _mm512_permutex2var_ps(o01, odd, o23);  /* 4t + 3 */
                        /* 4t + 4 and 4t + 5: the next tile's first two columns */
                        d[4] = _mm512_permutex2var_ps(d[0], next0, v4);
                        d[5] = _mm512_permutex2var_ps(d[1], next1, v4);
                        bt6(d, r);
                        for (int q = 0; q < 6; q++) _mm512_store_ps(h[i][q], r[q]);
                    }
                    float *dst = V + c * WINO_NB + seg[s].off + j;
                    for (int q = 0; q < 6; q++) {
                        __m512 d[6], r[6];
                        for (int i = 0; i < 6; i++) d[i] = _mm512_load_ps(h[i][q]);
                        bt6(d, r);
                        for (int i = 0; i < 6; i++)
                            _mm512_mask_storeu_ps(dst + (i * 6 + q) * ks, mk, r[i]);
                    }
                }
            }
}

/* y = act(A^T m A + bias) for the 4x4 output tiles of a block, from the
 * products Mb[k][m][off + j]; the four columns 4t + q of each output row
 * are interleaved back into 64 contiguous floats. */
__attribute__((target("avx512f"))) static void
wino4_output(const float *Mb, int64_t M, const wino_seg *seg, int nseg, int64_t OH, int64_t OW,
             float *y, const float *bias, const epi *e, const float *slope, int64_t nslope)
{
    const __m512i lo_idx = _mm512_loadu_si512(interleave_lo),
                  hi_idx = _mm512_loadu_si512(interleave_hi);
    const int64_t ks = WINO_KSTRIDE(M);
    __attribute__((aligned(64))) float h[6][4][16];
    for (int64_t m = 0; m < M; m++) {
        epi_vec ev = epi_vec_of(e->act, e->a, e->b, slope, nslope, bias, m);
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 16) {
                int64_t left = seg[s].len - j < 16 ? seg[s].len - j : 16;
                __mmask16 mk = nn_lanes_below(left);
                const float *src = Mb + m * WINO_NB + seg[s].off + j;
                for (int i = 0; i < 6; i++) {
                    __m512 v[6], r[4];
                    for (int q = 0; q < 6; q++)
                        v[q] = _mm512_maskz_loadu_ps(mk, src + (i * 6 + q) * ks);
                    at6(v, r);
                    for (int q = 0; q < 4; q++) _mm512_store_ps(h[i][q], r[q]);
                }
                __m512 o[4][4]; /* [output row][column 4t + q] */
                for (int q = 0; q < 4; q++) {
                    __m512 v[6], r[4];
                    for (int i = 0; i < 6; i++) v[i] = _mm512_load_ps(h[i][q]);
                    at6(v, r);
                    for (int i = 0; i < 4; i++) o[i][q] = r[i];
                }
                int64_t tx = seg[s].tx0 + j, ncol = OW - 4 * tx;
                if (ncol > 4 * left) ncol = 4 * left;
                uint64_t bits = ncol >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << ncol) - 1;
                for (int i = 0; i < 4; i++) {
                    int64_t oy = 4 * seg[s].ty + i;
                    if (oy >= OH) break;
                    __m512 q[4];
                    for (int u = 0; u < 4; u++)
                        q[u] =
                            epi_avx512(e->act, _mm512_add_ps(o[i][u], ev.vb), ev.vs, ev.lo, ev.hi);
                    /* columns 4t + {0, 2} and 4t + {1, 3}, then all four */
                    __m512 elo = _mm512_permutex2var_ps(q[0], lo_idx, q[2]);
                    __m512 ehi = _mm512_permutex2var_ps(q[0], hi_idx, q[2]);
                    __m512 olo = _mm512_permutex2var_ps(q[1], lo_idx, q[3]);
                    __m512 ohi = _mm512_permutex2var_ps(q[1], hi_idx, q[3]);
                    float *yr = y + (m * OH + oy) * OW + 4 * tx;
                    _mm512_mask_storeu_ps(yr, (__mmask16)(bits & 0xffff),
                                          _mm512_permutex2var_ps(elo, lo_idx, olo));
                    _mm512_mask_storeu_ps(yr + 16, (__mmask16)((bits >> 16) & 0xffff),
                                          _mm512_permutex2var_ps(elo, hi_idx, olo));
                    _mm512_mask_storeu_ps(yr + 32, (__mmask16)((bits >> 32) & 0xffff),
                                          _mm512_permutex2var_ps(ehi, lo_idx, ohi));
                    _mm512_mask_storeu_ps(yr + 48, (__mmask16)(bits >> 48),
                                          _mm512_permutex2var_ps(ehi, hi_idx, ohi));
                }
            }
    }
}

/* ---- AVX2: both tile sizes, 8 tiles per vector ----------------------------
 * The same three steps on CPUs without AVX-512: each tile's columns come in
 * by masked gathers (lanes whose column falls outside the image read
 * nothing and count as zero), the transforms are the F(2x2) and F(4x4)
 * formulas above on 8 lanes, and the output tiles go out through a small
 * buffer. n is the input tile size (4 or 6), r = n - 2 the output's. */

/* r = B^T d for one n-vector. */
__attribute__((always_inline, target("avx2,fma"))) static inline void
bt_avx2(int n, const __m256 *d, __m256 *r)
{
    if (n == 4) {
        r[0] = _mm256_sub_ps(d[0], d[2]);
        r[1] = _mm256_add_ps(d[1], d[2]);
        r[2] = _mm256_sub_ps(d[2], d[1]);
        r[3] = _mm256_sub_ps(d[1], d[3]);
        return;
    }
    const __m256 two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f),
                 five = _mm256_set1_ps(5.0f);
    __m256 t0 = _mm256_fnmadd_ps(four, d[2], d[4]); /* d4 - 4 d2 */
    __m256 t1 = _mm256_fnmadd_ps(four, d[1], d[3]); /* d3 - 4 d1 */
    __m256 t2 = _mm256_sub_ps(d[4], d[2]);
    __m256 t3 = _mm256_mul_ps(two, _mm256_sub_ps(d[3], d[1]));
    r[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
    r[1] = _mm256_add_ps(t0, t1);
    r[2] = _mm256_sub_ps(t0, t1);
    r[3] = _mm256_add_ps(t2, t3);
    r[4] = _mm256_sub_ps(t2, t3);
    r[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

/* o = A^T m for one n-vector (n - 2 results). */
__attribute__((always_inline, target("avx2,fma"))) static inline void
at_avx2(int n, const __m256 *m, __m256 *o)
{
    if (n == 4) {
        o[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
        o[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
        return;
    }
    __m256 a = _mm256_add_ps(m[1], m[2]), b = _mm256_sub_ps(m[1], m[2]);
    __m256 c = _mm256_add_ps(m[3], m[4]), d = _mm256_sub_ps(m[3], m[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(m[0], a), c);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), d, b);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), c, a);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), d, b), m[5]);
}

/* V[k][c][off + j] = (B^T d B)[k] for the n x n input tile d of each tile. */
__attribute__((target("avx2,fma"))) static void
wino_input_avx2(const nn_im2col *a, int n, const wino_seg *seg, int nseg, float *V)
{
    const int r = n - 2;
    const int64_t ks = WINO_KSTRIDE(a->C), H = a->H, W = a->W;
    const __m256i lane_r =
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(r));
    const __m256i zero_i = _mm256_setzero_si256(), vW = _mm256_set1_epi32((int)W);
    for (int64_t c = 0; c < a->C; c++)
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 8) {
                int64_t left = seg[s].len - j < 8 ? seg[s].len - j : 8;
                __m256i store = nn_lanes8(0, left);
                int64_t y0 = r * seg[s].ty - a->pt, x0 = r * (seg[s].tx0 + j) - a->pl;
                /* column q of lane t's tile: x0 + r t + q, read if in [0, W) */
                __m256i idx[6], ok[6];
                for (int q = 0; q < n; q++) {
                    idx[q] = _mm256_add_epi32(lane_r, _mm256_set1_epi32((int)(x0 + q)));
                    ok[q] =
                        _mm256_and_si256(_mm256_and_si256(store, _mm256_cmpgt_epi32(vW, idx[q])),
                                         _mm256_or_si256(_mm256_cmpgt_epi32(idx[q], zero_i),
                                                         _mm256_cmpeq_epi32(idx[q], zero_i)));
                }
                __m256 h[6][6];
                for (int i = 0; i < n; i++) {
                    int64_t iy = y0 + i;
                    __m256 d[6];
                    for (int q = 0; q < n; q++) d[q] = _mm256_setzero_ps();
                    if (iy >= 0 && iy < H) {
                        const float *row = a->x + (c * H + iy) * W;
                        for (int q = 0; q < n; q++)
                            d[q] = _mm256_mask_i32gather_ps(d[q], row, idx[q],
                                                            _mm256_castsi256_ps(ok[q]), 4);
                    }
                    bt_avx2(n, d, h[i]);
                }
                float *dst = V + c * WINO_NB + seg[s].off + j;
                for (int q = 0; q < n; q++) {
                    __m256 d[6], o[6];
                    for (int i = 0; i < n; i++) d[i] = h[i][q];
                    bt_avx2(n, d, o);
                    for (int i = 0; i < n; i++)
                        _mm256_maskstore_ps(dst + (i * n + q) * ks, store, o[i]);
                }
            }
}

/* y = act(A^T m A + bias) for the r x r output tiles of a block, from the
 * products Mb[k][m][off + j]. */
__attribute__((target("avx2,fma"))) static void wino_output_avx2(const float *Mb, int64_t M, int n,
                                                                 const wino_seg *seg, int nseg,
                                                                 int64_t OH, int64_t OW, float *y,
                                                                 const float *bias, const epi *e,
                                                                 const float *slope, int64_t nslope)
{
    const int r = n - 2;
    const int64_t ks = WINO_KSTRIDE(M);
    const __m256 lo = _mm256_set1_ps(e->a), hi = _mm256_set1_ps(e->b);
    for (int64_t m = 0; m < M; m++) {
        __m256 vb = _mm256_set1_ps(bias ? bias[m] : 0.0f);
        __m256 vs = _mm256_set1_ps(epi_slope(e->act, e->a, slope, nslope, m));
        for (int s = 0; s < nseg; s++)
            for (int64_t j = 0; j < seg[s].len; j += 8) {
                int64_t left = seg[s].len - j < 8 ? seg[s].len - j : 8;
                __m256i load = nn_lanes8(0, left);
                const float *src = Mb + m * WINO_NB + seg[s].off + j;
                __m256 h[6][4];
                for (int i = 0; i < n; i++) {
                    __m256 v[6];
                    for (int q = 0; q < n; q++)
                        v[q] = _mm256_maskload_ps(src + (i * n + q) * ks, load);
                    at_avx2(n, v, h[i]);
                }
                int64_t tx = seg[s].tx0 + j;
                for (int u = 0; u < r; u++) {
                    __m256 v[6], o[4];
                    for (int i = 0; i < n; i++) v[i] = h[i][u];
                    at_avx2(n, v, o);
                    /* output (r ty + i, r (tx + t) + u) for lane t */
                    for (int i = 0; i < r; i++) {
                        int64_t oy = r * seg[s].ty + i;
                        if (oy >= OH) break;
                        float out[8];
                        _mm256_storeu_ps(out,
                                         epi_avx2(e->act, _mm256_add_ps(o[i], vb), vs, lo, hi));
                        float *yr = y + (m * OH + oy) * OW;
                        for (int t = 0; t < left; t++) {
                            int64_t ox = r * (tx + t) + u;
                            if (ox < OW) yr[ox] = out[t];
                        }
                    }
                }
            }
    }
}

#endif

bool nn_conv_winograd(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, float *y,
                      const float *bias, void *scratch)
{
#if defined(__x86_64__)
    nn_cpu f = nn_cpu_features();
    if (!n->wino || !(f.avx512 || f.avx2) || a->KH != 3 || a->KW != 3 || a->sh != 1 || a->sw != 1 ||
        a->dh != 1 || a->dw != 1 ||
        (n->act != NN_ACT_NONE && n->act != NN_ACT_RELU && n->act != NN_ACT_PRELU &&
         n->act != NN_ACT_LEAKY && n->act != NN_ACT_CLIP))
        return false;
    int r = wino_r(a, OH), nk = (r + 2) * (r + 2);
    /* output tiles of r x r: TH x TW of them */
    int64_t TH = (OH + r - 1) / r, TW = (a->OW + r - 1) / r, T = TH * TW, C = a->C;
    float *V = scratch;
    float *Mb = V + nk * WINO_KSTRIDE(C);
    size_t one = nn_gemm_packed_floats(M, C);
    const float *U = n->wino + (r == 4 ? 16 * one : 0);
    epi e = {n->act, n->act_a, n->act_b};
    wino_seg seg[WINO_NB];
    for (int64_t t0 = 0; t0 < T; t0 += WINO_NB) {
        int ncols = T - t0 < WINO_NB ? (int)(T - t0) : WINO_NB;
        int nseg = wino_segments(TW, t0, ncols, seg);
        if (!f.avx512) {
            wino_input_avx2(a, r + 2, seg, nseg, V);
            for (int k = 0; k < nk; k++)
                nn_gemm_panel_avx2(M, C, U + k * one, V + k * WINO_KSTRIDE(C), WINO_NB,
                                   Mb + k * WINO_KSTRIDE(M), WINO_NB, ncols);
            wino_output_avx2(Mb, M, r + 2, seg, nseg, OH, a->OW, y, bias, &e, n->act_slope,
                             n->act_slope_n);
            continue;
        }
        if (r == 4)
            wino4_input(a, seg, nseg, V);
        else
            wino2_input(a, seg, nseg, V);
        for (int k = 0; k < nk; k++)
            nn_gemm_panel_avx512(M, C, U + k * one, V + k * WINO_KSTRIDE(C), WINO_NB,
                                 Mb + k * WINO_KSTRIDE(M), WINO_NB, ncols);
        if (r == 4)
            wino4_output(Mb, M, seg, nseg, OH, a->OW, y, bias, &e, n->act_slope, n->act_slope_n);
        else
            wino2_output(Mb, M, seg, nseg, OH, a->OW, y, bias, &e, n->act_slope, n->act_slope_n);
    }
    return true;
#else
    (void)n, (void)a, (void)M, (void)OH, (void)y, (void)bias, (void)scratch;
    return false;
#endif
}
