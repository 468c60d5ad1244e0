/*
 * dwsmall.c — depthwise 3x3 convolutions with pads of 1 on planes at most
 * 32 pixels wide (the layers of landmark and eye networks on 32x32 and
 * 16x16 planes). An input row is one or two registers and each of its
 * three taps is a lane shift or permutation of them, so a channel is read
 * once, with no padded copy, no phase planes written and read back, and no
 * per-block masks, and each row's taps are built once for all the output
 * rows that read them. Stride 1: the row and the row shifted one lane
 * either way (zero for the pads); rows of 4 or 8 pixels go several to a
 * register, the plane read as a flat array. Stride 2: even columns, odd
 * columns, and odd columns moved one lane right; outputs at most 8 wide
 * put two output rows in one register. One entry point, nn_dw3x3_narrow,
 * takes the shapes these kernels handle.
 * Rows past the image (the bottom pad) and columns past it (masked loads)
 * count as zero; the plain C path in ops_nn.c defines the right answer.
 *
 * Also the depthwise convolution whose window is the whole plane (a
 * weighted global pooling closing landmark networks): sixteen channels at
 * a time, one register of products per channel, then a reduction tree of
 * lane permutations that leaves channel i's sum in lane i, so bias and
 * activation are one vector operation and the store one register.
 */
#include "kernels.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Bias, activation and the channel's slope (kernels.h). */
__attribute__((always_inline, target("avx512f"))) static inline epi_vec
dw_epi_of(const nn_node *n, const float *bias, int64_t c)
{
    return epi_vec_of(n->act, n->act_a, n->act_b, n->act_slope, n->act_slope_n, bias, c);
}

/* Output rows of up to 16 pixels from input rows of up to 32, one output
 * row per register. Row r's taps: t[0] = columns 2j - 1, t[1] = 2j,
 * t[2] = 2j + 1 for output column j. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_s2_w32_body(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W, const float *w,
               const float *bias, float *y, int64_t OH, int64_t OW, const int act)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 zero = _mm512_setzero_ps();
    const __mmask16 mlo = nn_lanes_below(W), mhi = nn_lanes_below(W - 16),
                    mout = nn_lanes_below(OW);
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * H * W, *wc = w + c * 9;
        float *yc = y + c * OH * OW;
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec e = dw_epi_of(n, bias, c);
        /* taps of input row 2 * oy - 1 (the top pad for oy = 0) */
        __m512 prev[3] = {zero, zero, zero};
        for (int64_t oy = 0; oy < OH; oy++) {
            __m512 cur[2][3];
            for (int r = 0; r < 2; r++) {
                int64_t iy = 2 * oy + r;
                if (iy >= H) {
                    cur[r][0] = cur[r][1] = cur[r][2] = zero;
                    continue;
                }
                const float *p = xc + iy * W;
                __m512 a = _mm512_maskz_loadu_ps(mlo, p), b = _mm512_maskz_loadu_ps(mhi, p + 16);
                cur[r][1] = _mm512_permutex2var_ps(a, even, b);
                cur[r][2] = _mm512_permutex2var_ps(a, odd, b);
                cur[r][0] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(cur[r][2]),
                                                                    _mm512_castps_si512(zero), 15));
            }
            __m512 a0 = _mm512_fmadd_ps(prev[0], k[0], e.vb);
            __m512 a1 = _mm512_mul_ps(cur[0][0], k[3]);
            __m512 a2 = _mm512_mul_ps(cur[1][0], k[6]);
            a0 = _mm512_fmadd_ps(prev[1], k[1], a0);
            a1 = _mm512_fmadd_ps(cur[0][1], k[4], a1);
            a2 = _mm512_fmadd_ps(cur[1][1], k[7], a2);
            a0 = _mm512_fmadd_ps(prev[2], k[2], a0);
            a1 = _mm512_fmadd_ps(cur[0][2], k[5], a1);
            a2 = _mm512_fmadd_ps(cur[1][2], k[8], a2);
            __m512 v = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
            v = epi_avx512(act, v, e.vs, e.lo, e.hi);
            if (mout == 0xffff) /* masked stores cost more on Zen, even full */
                _mm512_storeu_ps(yc + oy * OW, v);
            else
                _mm512_mask_storeu_ps(yc + oy * OW, mout, v);
            for (int t = 0; t < 3; t++) prev[t] = cur[1][t];
        }
    }
}

__attribute__((target("avx512f"))) static void dw_s2_w32(const nn_node *n, const float *x,
                                                         int64_t C, int64_t H, int64_t W,
                                                         const float *w, const float *bias,
                                                         float *y, int64_t OH, int64_t OW)
{
    NN_PER_ACT(n->act, dw_s2_w32_body(n, x, C, H, W, w, bias, y, OH, OW, ACT));
}

/* Output rows of up to 8 pixels from input rows of up to 16: output rows
 * 2i and 2i + 1 share a register (lanes 0-7 and 8-15), so each tap is one
 * two-source permutation of the input rows the two halves read. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_s2_w16_body(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W, const float *w,
               const float *bias, float *y, int64_t OH, int64_t OW, const int act)
{
    /* tap dx of lane l: column 2 * (l % 8) + dx - 1 of the first source
     * (l < 8) or of the second (+16) */
    const __m512i ileft =
        _mm512_setr_epi32(0, 1, 3, 5, 7, 9, 11, 13, 16, 17, 19, 21, 23, 25, 27, 29);
    const __m512i icentre =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i iright =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __mmask16 notpad = 0xfefe; /* lanes 0 and 8 of the left tap: the left pad */
    const __m512 zero = _mm512_setzero_ps();
    const __mmask16 min = nn_lanes_below(W);
    const __mmask16 mrow = nn_lanes_below(OW);
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * H * W, *wc = w + c * 9;
        float *yc = y + c * OH * OW;
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec e = dw_epi_of(n, bias, c);
        __m512 top = zero; /* input row 4i - 1 (the top pad for i = 0) */
        for (int64_t oy = 0; oy < OH; oy += 2) {
            /* input rows 2 * oy - 1 .. 2 * oy + 3 */
            __m512 r[5];
            r[0] = top;
            for (int q = 1; q < 5; q++) {
                int64_t iy = 2 * oy - 1 + q;
                r[q] = iy < H ? _mm512_maskz_loadu_ps(min, xc + iy * W) : zero;
            }
            __m512 acc[3];
            for (int dy = 0; dy < 3; dy++) {
                __m512 a = r[dy], b = r[dy + 2];
                __m512 t0 = _mm512_maskz_permutex2var_ps(notpad, a, ileft, b);
                __m512 t1 = _mm512_permutex2var_ps(a, icentre, b);
                __m512 t2 = _mm512_permutex2var_ps(a, iright, b);
                __m512 s = dy == 0 ? _mm512_fmadd_ps(t0, k[0], e.vb) : _mm512_mul_ps(t0, k[dy * 3]);
                s = _mm512_fmadd_ps(t1, k[dy * 3 + 1], s);
                acc[dy] = _mm512_fmadd_ps(t2, k[dy * 3 + 2], s);
            }
            __m512 v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]);
            v = epi_avx512(act, v, e.vs, e.lo, e.hi);
            float *yr = yc + oy * OW;
            if (OW == 8 && oy + 1 < OH) {
                _mm512_storeu_ps(yr, v); /* the two rows are contiguous */
            } else {
                _mm512_mask_storeu_ps(yr, mrow, v);
                if (oy + 1 < OH)
                    _mm512_mask_storeu_ps(
                        yr + OW, mrow,
                        _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(zero),
                                                                _mm512_castps_si512(v), 8)));
            }
            top = r[4];
        }
    }
}

__attribute__((target("avx512f"))) static void dw_s2_w16(const nn_node *n, const float *x,
                                                         int64_t C, int64_t H, int64_t W,
                                                         const float *w, const float *bias,
                                                         float *y, int64_t OH, int64_t OW)
{
    NN_PER_ACT(n->act, dw_s2_w16_body(n, x, C, H, W, w, bias, y, OH, OW, ACT));
}
#endif

#if defined(__x86_64__)
/* Stride 1: the three taps of an input row of NV registers (NV = 1: up to
 * 16 columns, 2: up to 32), columns past W loaded as zero: t[v][1] the row
 * itself, t[v][0] its columns x - 1 (zero at the left pad), t[v][2] its
 * columns x + 1. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_s1_taps(const float *p, bool inside, __mmask16 m0, __mmask16 m1, const int NV, __m512 t[2][3])
{
    const __m512i zero = _mm512_setzero_si512();
    if (!inside) {
        for (int v = 0; v < NV; v++) t[v][0] = t[v][1] = t[v][2] = _mm512_setzero_ps();
        return;
    }
    __m512i a = _mm512_castps_si512(_mm512_maskz_loadu_ps(m0, p));
    if (NV == 1) {
        t[0][1] = _mm512_castsi512_ps(a);
        t[0][0] = _mm512_castsi512_ps(_mm512_alignr_epi32(a, zero, 15));
        t[0][2] = _mm512_castsi512_ps(_mm512_alignr_epi32(zero, a, 1));
    } else {
        __m512i b = _mm512_castps_si512(_mm512_maskz_loadu_ps(m1, p + 16));
        t[0][1] = _mm512_castsi512_ps(a);
        t[1][1] = _mm512_castsi512_ps(b);
        t[0][0] = _mm512_castsi512_ps(_mm512_alignr_epi32(a, zero, 15));
        t[1][0] = _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 15));
        t[0][2] = _mm512_castsi512_ps(_mm512_alignr_epi32(b, a, 1));
        t[1][2] = _mm512_castsi512_ps(_mm512_alignr_epi32(zero, b, 1));
    }
}

/* Stride 1, pads of 1, same-size output, rows of at most 16 * NV pixels:
 * every input row is loaded and shifted once, for the three output rows
 * that read it. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_s1_rows(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W, const float *w,
           const float *bias, float *y, const int NV, const int act)
{
    const __mmask16 m0 = nn_lanes_below(W), m1 = nn_lanes_below(W - 16);
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * H * W, *wc = w + c * 9;
        float *yc = y + c * H * W;
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec e = dw_epi_of(n, bias, c);
        /* taps of rows oy - 1, oy, oy + 1 */
        __m512 r0[2][3], r1[2][3], r2[2][3];
        dw_s1_taps(xc, false, m0, m1, NV, r0);
        dw_s1_taps(xc, true, m0, m1, NV, r1);
        for (int64_t oy = 0; oy < H; oy++) {
            dw_s1_taps(xc + (oy + 1) * W, oy + 1 < H, m0, m1, NV, r2);
            for (int v = 0; v < NV; v++) {
                __m512 a0 = _mm512_fmadd_ps(r0[v][0], k[0], e.vb);
                __m512 a1 = _mm512_mul_ps(r1[v][0], k[3]);
                __m512 a2 = _mm512_mul_ps(r2[v][0], k[6]);
                a0 = _mm512_fmadd_ps(r0[v][1], k[1], a0);
                a1 = _mm512_fmadd_ps(r1[v][1], k[4], a1);
                a2 = _mm512_fmadd_ps(r2[v][1], k[7], a2);
                a0 = _mm512_fmadd_ps(r0[v][2], k[2], a0);
                a1 = _mm512_fmadd_ps(r1[v][2], k[5], a1);
                a2 = _mm512_fmadd_ps(r2[v][2], k[8], a2);
                __m512 s = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
                s = epi_avx512(act, s, e.vs, e.lo, e.hi);
                __mmask16 mv = v ? m1 : m0;
                if (mv == 0xffff) /* masked stores cost more on Zen, even full */
                    _mm512_storeu_ps(yc + oy * W + 16 * v, s);
                else
                    _mm512_mask_storeu_ps(yc + oy * W + 16 * v, mv, s);
            }
            for (int v = 0; v < NV; v++)
                for (int t = 0; t < 3; t++) {
                    r0[v][t] = r1[v][t];
                    r1[v][t] = r2[v][t];
                }
        }
    }
}

__attribute__((target("avx512f"))) static void dw_s1_w16(const nn_node *n, const float *x,
                                                         int64_t C, int64_t H, int64_t W,
                                                         const float *w, const float *bias,
                                                         float *y)
{
    NN_PER_ACT(n->act, dw_s1_rows(n, x, C, H, W, w, bias, y, 1, ACT));
}

__attribute__((target("avx512f"))) static void dw_s1_w32(const nn_node *n, const float *x,
                                                         int64_t C, int64_t H, int64_t W,
                                                         const float *w, const float *bias,
                                                         float *y)
{
    NN_PER_ACT(n->act, dw_s1_rows(n, x, C, H, W, w, bias, y, 2, ACT));
}

/* Stride 1, pads of 1, rows of W = 4 or 8 pixels: a register holds 16 / W
 * whole rows, so the plane is a flat array and each block of 16 outputs
 * reads three blocks, the rows above (one row back), the rows themselves
 * and the rows below (one row on), masked only past the plane; the left
 * and right taps are lane shifts with the lanes of the first and last
 * column masked. */
__attribute__((always_inline, target("avx512f"))) static inline void
dw_s1_packed_body(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W, const float *w,
                  const float *bias, float *y, const int act)
{
    const int64_t P = H * W, blocks = (P + 15) / 16;
    uint32_t first = 0, last = 0;
    for (int l = 0; l < 16; l++) {
        if (l % W == 0) first |= 1u << l;
        if (l % W == W - 1) last |= 1u << l;
    }
    const __mmask16 notfirst = (__mmask16)~first, notlast = (__mmask16)~last;
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * P, *wc = w + c * 9;
        float *yc = y + c * P;
        __m512 k[9];
        for (int t = 0; t < 9; t++) k[t] = _mm512_set1_ps(wc[t]);
        epi_vec e = dw_epi_of(n, bias, c);
        for (int64_t b = 0; b < blocks; b++) {
            int64_t p0 = 16 * b;
            /* lanes of pixels p0 - W + l, p0 + l, p0 + W + l inside the plane */
            __mmask16 mup = (__mmask16)(nn_lanes_below(P - p0 + W) & ~nn_lanes_below(W - p0));
            __mmask16 mmid = nn_lanes_below(P - p0), mdown = nn_lanes_below(P - p0 - W);
            __m512i r[3];
            r[0] = _mm512_castps_si512(_mm512_maskz_loadu_ps(mup, xc + p0 - W));
            r[1] = _mm512_castps_si512(_mm512_maskz_loadu_ps(mmid, xc + p0));
            r[2] = _mm512_castps_si512(_mm512_maskz_loadu_ps(mdown, xc + p0 + W));
            __m512 acc[3];
            for (int dy = 0; dy < 3; dy++) {
                __m512 l =
                    _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(notfirst, r[dy], zero, 15));
                __m512 rt = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(notlast, zero, r[dy], 1));
                __m512 a = dy == 0 ? _mm512_fmadd_ps(l, k[0], e.vb) : _mm512_mul_ps(l, k[dy * 3]);
                a = _mm512_fmadd_ps(_mm512_castsi512_ps(r[dy]), k[dy * 3 + 1], a);
                acc[dy] = _mm512_fmadd_ps(rt, k[dy * 3 + 2], a);
            }
            __m512 v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]);
            v = epi_avx512(act, v, e.vs, e.lo, e.hi);
            _mm512_mask_storeu_ps(yc + p0, mmid, v);
        }
    }
}

__attribute__((target("avx512f"))) static void dw_s1_packed(const nn_node *n, const float *x,
                                                            int64_t C, int64_t H, int64_t W,
                                                            const float *w, const float *bias,
                                                            float *y)
{
    NN_PER_ACT(n->act, dw_s1_packed_body(n, x, C, H, W, w, bias, y, ACT));
}

/* Halves of lane groups: lanes with (lane & g) == 0 of a and b side by side
 * (lo) and the others (hi), for g = 8, 4, 2, 1; adding lo and hi sums pairs
 * of partials while keeping channels in order. */
__attribute__((target("avx512f"))) static inline __m512 fold2(__m512 a, __m512 b, __m512i lo,
                                                              __m512i hi)
{
    return _mm512_add_ps(_mm512_permutex2var_ps(a, lo, b), _mm512_permutex2var_ps(a, hi, b));
}

__attribute__((target("avx512f"))) static void dw_whole_avx512(const nn_node *n, const float *x,
                                                               const float *w, const float *bias,
                                                               int64_t C, int64_t P, float *y)
{
    /* level g: lo takes lanes with bit g clear, hi lanes with it set, first
     * from a (result lanes 0-7) then from b (8-15) */
    int32_t lo_i[4][16], hi_i[4][16];
    for (int l = 0; l < 4; l++) {
        int g = 8 >> l, nl = 0, nh = 0;
        for (int src = 0; src < 2; src++)
            for (int i = 0; i < 16; i++) {
                if (i & g)
                    hi_i[l][nh++] = src * 16 + i;
                else
                    lo_i[l][nl++] = src * 16 + i;
            }
    }
    __m512i lo[4], hi[4];
    for (int l = 0; l < 4; l++) {
        lo[l] = _mm512_loadu_si512(lo_i[l]);
        hi[l] = _mm512_loadu_si512(hi_i[l]);
    }
    const __m512 zero = _mm512_setzero_ps(), clo = _mm512_set1_ps(n->act_a),
                 chi = _mm512_set1_ps(n->act_b);
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
        int64_t nc = C - c0 < 16 ? C - c0 : 16;
        __mmask16 mc = (__mmask16)(nc == 16 ? 0xffff : (1u << nc) - 1);
        __m512 v[16];
        for (int i = 0; i < 16; i++) {
            v[i] = zero;
            if (i >= nc) continue;
            const float *xc = x + (c0 + i) * P, *wc = w + (c0 + i) * P;
            for (int64_t p = 0; p < P; p += 16) {
                __mmask16 mk = P - p >= 16 ? 0xffff : (__mmask16)((1u << (P - p)) - 1);
                v[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, xc + p),
                                       _mm512_maskz_loadu_ps(mk, wc + p), v[i]);
            }
        }
        /* 16 channels x 16 partials -> 8 vectors of 2 x 8 -> 4 of 4 x 4 ->
         * 2 of 8 x 2 -> 1 of 16 x 1 */
        for (int l = 0, cnt = 16; l < 4; l++, cnt /= 2)
            for (int i = 0; i < cnt / 2; i++) v[i] = fold2(v[2 * i], v[2 * i + 1], lo[l], hi[l]);
        __m512 s = v[0];
        if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mc, bias + c0));
        s = epi_avx512(n->act, s, epi_slope_lanes(n, mc, c0), clo, chi);
        _mm512_mask_storeu_ps(y + c0, mc, s);
    }
}
#endif

bool nn_dw_whole_plane(const nn_node *n, const float *x, const float *w, const float *bias,
                       int64_t C, int64_t P, float *y)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH)
        return false;
    dw_whole_avx512(n, x, w, bias, C, P, y);
    return true;
#else
    (void)n, (void)x, (void)w, (void)bias, (void)C, (void)P, (void)y;
    return false;
#endif
}

bool nn_dw3x3s2_narrow_takes(int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    return H * W > 16 && OH >= 1 && OW >= 1 && ((W <= 16 && OW <= 8) || (W <= 32 && OW <= 16));
}

bool nn_dw3x3_narrow(const nn_node *n, const float *x, int64_t C, int64_t H, int64_t W,
                     const float *w, const float *bias, int s, int64_t pt, int64_t pl, float *y,
                     int64_t OH, int64_t OW)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 || n->act == NN_ACT_SIGMOID || n->act == NN_ACT_HSWISH ||
        pt != 1 || pl != 1)
        return false;
    if (s == 1) {
        /* rows of 5 to 7 pixels (and of 1 to 3) go to the flat kernel */
        if (OH != H || OW != W || W > 32 || (W < 8 && W != 4)) return false;
        if (W == 4 || W == 8)
            dw_s1_packed(n, x, C, H, W, w, bias, y);
        else if (W <= 16)
            dw_s1_w16(n, x, C, H, W, w, bias, y);
        else
            dw_s1_w32(n, x, C, H, W, w, bias, y);
        return true;
    }
    /* stride 2: output column j reads input columns 2j - 1 .. 2j + 1, all
     * inside the one or two registers of a row (columns past W load as
     * zero); planes of at most 16 pixels go to the flat kernel */
    if (s != 2 || !nn_dw3x3s2_narrow_takes(H, W, OH, OW)) return false;
    if (W <= 16 && OW <= 8)
        dw_s2_w16(n, x, C, H, W, w, bias, y, OH, OW);
    else
        dw_s2_w32(n, x, C, H, W, w, bias, y, OH, OW);
    return true;
#else
    (void)n, (void)x, (void)C, (void)H, (void)W, (void)w, (void)bias, (void)s, (void)pt, (void)pl,
        (void)y, (void)OH, (void)OW;
    return false;
#endif
}
