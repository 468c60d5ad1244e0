/*
 * gemm.c — the convolution engine's matrix kernels (AVX-512, chosen at run
 * time): an 8 x 32 register-tiled micro-kernel with the bias, a residual
 * (a fused Add) and the activation applied in its stores; weights packed
 * once at load; the B operand either packed per panel (implicit im2col, no
 * full im2col matrix; planes of at most 32 pixels by lane permutations,
 * nn_plane32_init) or read in place from a plain matrix, a padded copy of
 * the image (stride 1) or its four phase planes (stride 2); one dot product
 * per output for layers with very few output positions; and a one-row Gemm
 * against weights stored transposed (nn_gemv_rows). Every entry point
 * returns false when it does not apply, and the caller falls back to the
 * portable path (im2col + sgemm). The micro-kernel is also the GEMM of the
 * Winograd convolutions (wino.c).
 */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* ---- packed GEMM with fused epilogue ---------------------------------------
 * C[M,N] = act(A[M,K] * B[K,N] + bias) for convolutions. A (the weights) is
 * packed once at load into blocks of GEMM_MR rows laid out [K][MR]; B is
 * packed per panel of GEMM_NR columns into [K][NR] (zero-padded), so the
 * micro-kernel reads both operands sequentially and keeps an MR x NR tile of
 * C in registers for the whole K loop, then applies bias and activation as
 * it stores. */

size_t nn_gemm_packed_floats(int64_t M, int64_t K)
{
    return (size_t)((M + NN_GEMM_MR - 1) / NN_GEMM_MR * NN_GEMM_MR * K);
}

void nn_gemm_pack_a(const float *A, int64_t M, int64_t K, float *dst)
{
    for (int64_t mb = 0; mb < M; mb += NN_GEMM_MR)
        for (int64_t k = 0; k < K; k++)
            for (int r = 0; r < NN_GEMM_MR; r++) *dst++ = mb + r < M ? A[(mb + r) * K + k] : 0.0f;
}

#if defined(__x86_64__)
/* B operand of the micro-kernel: row k of the 32-column panel starts at
 * base + k * stride (a packed panel, or a matrix read in place), or at
 * base + off[k] when `off` is set (a padded image read in place). */
typedef struct {
    const float *base;
    int64_t stride;
    const int64_t *off;
} gemm_b;

#define GEMM_FMA_ROW(bk)                                                                           \
    do {                                                                                           \
        __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps((bk) + 16), av;                      \
        av = _mm512_set1_ps(a[0]);                                                                 \
        c00 = _mm512_fmadd_ps(av, b0, c00);                                                        \
        c01 = _mm512_fmadd_ps(av, b1, c01);                                                        \
        av = _mm512_set1_ps(a[1]);                                                                 \
        c10 = _mm512_fmadd_ps(av, b0, c10);                                                        \
        c11 = _mm512_fmadd_ps(av, b1, c11);                                                        \
        av = _mm512_set1_ps(a[2]);                                                                 \
        c20 = _mm512_fmadd_ps(av, b0, c20);                                                        \
        c21 = _mm512_fmadd_ps(av, b1, c21);                                                        \
        av = _mm512_set1_ps(a[3]);                                                                 \
        c30 = _mm512_fmadd_ps(av, b0, c30);                                                        \
        c31 = _mm512_fmadd_ps(av, b1, c31);                                                        \
        av = _mm512_set1_ps(a[4]);                                                                 \
        c40 = _mm512_fmadd_ps(av, b0, c40);                                                        \
        c41 = _mm512_fmadd_ps(av, b1, c41);                                                        \
        av = _mm512_set1_ps(a[5]);                                                                 \
        c50 = _mm512_fmadd_ps(av, b0, c50);                                                        \
        c51 = _mm512_fmadd_ps(av, b1, c51);                                                        \
        av = _mm512_set1_ps(a[6]);                                                                 \
        c60 = _mm512_fmadd_ps(av, b0, c60);                                                        \
        c61 = _mm512_fmadd_ps(av, b1, c61);                                                        \
        av = _mm512_set1_ps(a[7]);                                                                 \
        c70 = _mm512_fmadd_ps(av, b0, c70);                                                        \
        c71 = _mm512_fmadd_ps(av, b1, c71);                                                        \
        a += NN_GEMM_MR;                                                                           \
    } while (0)

/* One row of an 8 x 32 tile leaves the registers: the residual if any,
 * the activation, then two stores (masked only for a partial panel). The
 * bias is already in the accumulators. */
#define GEMM_STORE_ROW(r, v0, v1)                                                                  \
    do {                                                                                           \
        float *cr = C + (mb + (r)) * ldc;                                                          \
        if (R) {                                                                                   \
            const float *rr = R + (mb + (r)) * ldc;                                                \
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, rr));                                 \
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, rr + 16));                            \
        }                                                                                          \
        __m512 vs = act == NN_ACT_PRELU   ? _mm512_set1_ps(slope[nslope == 1 ? 0 : mb + (r)])      \
                    : act == NN_ACT_LEAKY ? _mm512_set1_ps(e->a)                                   \
                                          : zero;                                                  \
        __m512 o0 = epi_avx512(act, v0, vs, lo, hi), o1 = epi_avx512(act, v1, vs, lo, hi);         \
        if (full) {                                                                                \
            _mm512_storeu_ps(cr, o0);                                                              \
            _mm512_storeu_ps(cr + 16, o1);                                                         \
        } else {                                                                                   \
            _mm512_mask_storeu_ps(cr, m0, o0);                                                     \
            _mm512_mask_storeu_ps(cr + 16, m1, o1);                                                \
        }                                                                                          \
    } while (0)

/* The body of a panel function: one instance of `kernel` per activation
 * the epilogue handles, `act` a constant in each. */
#define GEMM_PANEL_PER_ACT(kernel)                                                                 \
    do {                                                                                           \
        switch (e->act) {                                                                          \
        case NN_ACT_RELU:                                                                          \
            kernel(M, K, Ap, B, C, ldc, ncols, bias, R, e, slope, nslope, NN_ACT_RELU);            \
            break;                                                                                 \
        case NN_ACT_PRELU:                                                                         \
            kernel(M, K, Ap, B, C, ldc, ncols, bias, R, e, slope, nslope, NN_ACT_PRELU);           \
            break;                                                                                 \
        case NN_ACT_LEAKY:                                                                         \
            kernel(M, K, Ap, B, C, ldc, ncols, bias, R, e, slope, nslope, NN_ACT_LEAKY);           \
            break;                                                                                 \
        case NN_ACT_CLIP:                                                                          \
            kernel(M, K, Ap, B, C, ldc, ncols, bias, R, e, slope, nslope, NN_ACT_CLIP);            \
            break;                                                                                 \
        default:                                                                                   \
            kernel(M, K, Ap, B, C, ldc, ncols, bias, R, e, slope, nslope, NN_ACT_NONE);            \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

/* The panel for one activation: `act` is a constant in each instance (see
 * gemm_panel_res_avx512), so the epilogue is straight-line code on the sixteen
 * accumulators, with no switch and no spill to memory. */
__attribute__((always_inline, target("avx512f"))) static inline void
gemm_panel_act(int64_t M, int64_t K, const float *Ap, gemm_b B, float *C, int64_t ldc, int ncols,
               const float *bias, const float *R, const epi *e, const float *slope, int64_t nslope,
               const int act)
{
    const __mmask16 m0 = nn_lanes_below(ncols), m1 = nn_lanes_below(ncols - 16);
    const bool full = ncols == NN_GEMM_NR;
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(e->a), hi = _mm512_set1_ps(e->b);
    for (int64_t mb = 0; mb < M; mb += NN_GEMM_MR) {
        const float *a = Ap + mb * K;
        int rows = M - mb < NN_GEMM_MR ? (int)(M - mb) : NN_GEMM_MR;
        /* the accumulators start at the bias (zero past the last row) */
        float bv[NN_GEMM_MR];
        for (int r = 0; r < NN_GEMM_MR; r++) bv[r] = bias && r < rows ? bias[mb + r] : 0.0f;
        __m512 c00 = _mm512_set1_ps(bv[0]), c10 = _mm512_set1_ps(bv[1]),
               c20 = _mm512_set1_ps(bv[2]), c30 = _mm512_set1_ps(bv[3]),
               c40 = _mm512_set1_ps(bv[4]), c50 = _mm512_set1_ps(bv[5]),
               c60 = _mm512_set1_ps(bv[6]), c70 = _mm512_set1_ps(bv[7]);
        __m512 c01 = c00, c11 = c10, c21 = c20, c31 = c30, c41 = c40, c51 = c50, c61 = c60,
               c71 = c70;
        if (ncols <= 16) {
            /* narrow tail panel: half the work */
            for (int64_t k = 0; k < K; k++) {
                const float *bk = B.off ? B.base + B.off[k] : B.base + k * B.stride;
                __m512 b0 = _mm512_loadu_ps(bk);
                c00 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b0, c00);
                c10 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b0, c10);
                c20 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b0, c20);
                c30 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b0, c30);
                c40 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b0, c40);
                c50 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b0, c50);
                c60 = _mm512_fmadd_ps(_mm512_set1_ps(a[6]), b0, c60);
                c70 = _mm512_fmadd_ps(_mm512_set1_ps(a[7]), b0, c70);
                a += NN_GEMM_MR;
            }
        } else if (B.off) {
            for (int64_t k = 0; k < K; k++) GEMM_FMA_ROW(B.base + B.off[k]);
        } else {
            const float *b = B.base;
            for (int64_t k = 0; k < K; k++, b += B.stride) GEMM_FMA_ROW(b);
        }
        GEMM_STORE_ROW(0, c00, c01);
        if (rows > 1) GEMM_STORE_ROW(1, c10, c11);
        if (rows > 2) GEMM_STORE_ROW(2, c20, c21);
        if (rows > 3) GEMM_STORE_ROW(3, c30, c31);
        if (rows > 4) GEMM_STORE_ROW(4, c40, c41);
        if (rows > 5) GEMM_STORE_ROW(5, c50, c51);
        if (rows > 6) GEMM_STORE_ROW(6, c60, c61);
        if (rows > 7) GEMM_STORE_ROW(7, c70, c71);
    }
}

/* C[M, ncols] = act(Ap * B + bias [+ R]) for one panel of at most
 * NN_GEMM_NR columns, every block of NN_GEMM_MR rows in turn (the panel
 * stays in L1); R (or NULL) is a residual laid out like C. */
__attribute__((target("avx512f"))) static void
gemm_panel_res_avx512(int64_t M, int64_t K, const float *Ap, gemm_b B, float *C, int64_t ldc,
                      int ncols, const float *bias, const float *R, const epi *e,
                      const float *slope, int64_t nslope)
{
    GEMM_PANEL_PER_ACT(gemm_panel_act);
}

/* The same without a residual (the direct and Winograd convolutions). */
__attribute__((target("avx512f"))) static void
gemm_panel_avx512(int64_t M, int64_t K, const float *Ap, gemm_b B, float *C, int64_t ldc, int ncols,
                  const float *bias, const epi *e, const float *slope, int64_t nslope)
{
    gemm_panel_res_avx512(M, K, Ap, B, C, ldc, ncols, bias, NULL, e, slope, nslope);
}

/* Copy columns [n0, n0+ncols) of B[K][ldb] into a zero-padded [K][NR] panel. */
__attribute__((target("avx512f"))) static void pack_b_panel(const float *B, int64_t K, int64_t ldb,
                                                            int64_t n0, int ncols, float *dst)
{
    const __mmask16 m0 = nn_lanes_below(ncols), m1 = nn_lanes_below(ncols - 16);
    for (int64_t k = 0; k < K; k++) {
        const float *src = B + k * ldb + n0;
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        dst += NN_GEMM_NR;
    }
}

/* ---- the AVX2 micro-kernel ---------------------------------------------
 * Sixteen 256-bit registers: an 8 x 32 block of the packed layout is
 * computed as two 6 x 16 tiles (rows 0-5; twelve accumulators, two B
 * vectors, the broadcast A value) and one 2 x 32 tile (rows 6-7; eight
 * accumulators, four B vectors), each with enough independent FMA chains
 * to cover the FMA latency on two pipes. A last block of fewer than 7 rows
 * takes 4 x 16 tiles. Rows past M read the packed zeros and are not
 * stored. The epilogue is the AVX-512 kernel's (bias in the accumulators,
 * residual, activation in the stores). */

/* One R x (8 NV) tile at rows r0 .. r0 + R - 1 of the panel (`a` is the
 * packed A block advanced to row r0) and columns cb ..: the K loop, then
 * `nrows` rows and the ncols - cb columns that exist are stored. R and NV
 * are constants in every call, so the accumulators stay in registers. */
__attribute__((always_inline, target("avx2,fma"))) static inline void
gemm_tile_avx2(const int R, const int NV, int64_t K, const float *a, gemm_b B, int cb, float *C,
               int64_t ldc, int ncols, const float *bias, const float *Rres, const epi *e,
               const float *slope, int64_t nslope, int64_t r0, int nrows, const int act)
{
    __m256 acc[6][4];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        __m256 b0 = _mm256_set1_ps(bias && r < nrows ? bias[r0 + r] : 0.0f);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = b0;
    }
    for (int64_t k = 0; k < K; k++, a += NN_GEMM_MR) {
        const float *bk = (B.off ? B.base + B.off[k] : B.base + k * B.stride) + cb;
        __m256 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) b[v] = _mm256_loadu_ps(bk + 8 * v);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m256 av = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(av, b[v], acc[r][v]);
        }
    }
    const __m256 lo = _mm256_set1_ps(e->a), hi = _mm256_set1_ps(e->b);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        if (r >= nrows) break;
        __m256 vs = _mm256_set1_ps(epi_slope(act, e->a, slope, nslope, r0 + r));
        float *cr = C + (r0 + r) * ldc + cb;
        const float *rr = Rres ? Rres + (r0 + r) * ldc + cb : NULL;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            int w = ncols - cb - 8 * v;
            if (w <= 0) break;
            __m256 o = acc[r][v];
            if (w >= 8) {
                if (rr) o = _mm256_add_ps(o, _mm256_loadu_ps(rr + 8 * v));
                _mm256_storeu_ps(cr + 8 * v, epi_avx2(act, o, vs, lo, hi));
            } else {
                __m256i mk = nn_lanes8(0, w);
                if (rr) o = _mm256_add_ps(o, _mm256_maskload_ps(rr + 8 * v, mk));
                _mm256_maskstore_ps(cr + 8 * v, mk, epi_avx2(act, o, vs, lo, hi));
            }
        }
    }
}

__attribute__((always_inline, target("avx2,fma"))) static inline void
gemm_panel_act_avx2(int64_t M, int64_t K, const float *Ap, gemm_b B, float *C, int64_t ldc,
                    int ncols, const float *bias, const float *R, const epi *e, const float *slope,
                    int64_t nslope, const int act)
{
    for (int64_t mb = 0; mb < M; mb += NN_GEMM_MR) {
        const float *a = Ap + mb * K;
        int rows = M - mb < NN_GEMM_MR ? (int)(M - mb) : NN_GEMM_MR;
        if (rows > 6) {
            for (int cb = 0; cb < ncols; cb += 16)
                gemm_tile_avx2(6, 2, K, a, B, cb, C, ldc, ncols, bias, R, e, slope, nslope, mb, 6,
                               act);
            /* four B vectors only where the panel has more than 16 columns */
            if (ncols > 16)
                gemm_tile_avx2(2, 4, K, a + 6, B, 0, C, ldc, ncols, bias, R, e, slope, nslope,
                               mb + 6, rows - 6, act);
            else
                gemm_tile_avx2(2, 2, K, a + 6, B, 0, C, ldc, ncols, bias, R, e, slope, nslope,
                               mb + 6, rows - 6, act);
            continue;
        }
        for (int r0 = 0; r0 < rows; r0 += 4)
            for (int cb = 0; cb < ncols; cb += 16)
                gemm_tile_avx2(4, 2, K, a + r0, B, cb, C, ldc, ncols, bias, R, e, slope, nslope,
                               mb + r0, rows - r0 < 4 ? rows - r0 : 4, act);
    }
}

/* gemm_panel_res_avx512's contract on the AVX2 kernel. */
__attribute__((target("avx2,fma"))) static void
gemm_panel_res_avx2(int64_t M, int64_t K, const float *Ap, gemm_b B, float *C, int64_t ldc,
                    int ncols, const float *bias, const float *R, const epi *e, const float *slope,
                    int64_t nslope)
{
    GEMM_PANEL_PER_ACT(gemm_panel_act_avx2);
}

/* Copy columns [n0, n0+ncols) of B[K][ldb] into a zero-padded [K][NR] panel. */
__attribute__((target("avx2"))) static void
pack_b_panel_avx2(const float *B, int64_t K, int64_t ldb, int64_t n0, int ncols, float *dst)
{
    __m256i mk[4];
    for (int q = 0; q < 4; q++) mk[q] = nn_lanes8(0, ncols - 8 * q);
    for (int64_t k = 0; k < K; k++, dst += NN_GEMM_NR) {
        const float *src = B + k * ldb + n0;
        if (ncols == NN_GEMM_NR)
            for (int q = 0; q < 4; q++) _mm256_store_ps(dst + 8 * q, _mm256_loadu_ps(src + 8 * q));
        else
            for (int q = 0; q < 4; q++)
                _mm256_store_ps(dst + 8 * q, _mm256_maskload_ps(src + 8 * q, mk[q]));
    }
}

/* The panel kernel of the widest instruction set the CPU has: AVX-512,
 * AVX2, or NULL (the caller takes the portable path). */
typedef void (*gemm_panel_fn)(int64_t M, int64_t K, const float *Ap, gemm_b B, float *C,
                              int64_t ldc, int ncols, const float *bias, const float *R,
                              const epi *e, const float *slope, int64_t nslope);
static gemm_panel_fn gemm_panel_for_cpu(void)
{
    nn_cpu f = nn_cpu_features();
    return f.avx512 ? gemm_panel_res_avx512 : f.avx2 ? gemm_panel_res_avx2 : NULL;
}
#endif

void nn_pack_b_rows(const void *arg, int64_t n0, int ncols, float *panel)
{
    const nn_rows *r = arg;
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        pack_b_panel(r->B, r->K, r->ldb, n0, ncols, panel);
        return;
    }
    if (nn_cpu_features().avx2) {
        pack_b_panel_avx2(r->B, r->K, r->ldb, n0, ncols, panel);
        return;
    }
#endif
    for (int64_t k = 0; k < r->K; k++)
        for (int j = 0; j < NN_GEMM_NR; j++)
            panel[k * NN_GEMM_NR + j] = j < ncols ? r->B[k * r->ldb + n0 + j] : 0.0f;
}

/* Implicit im2col: one [K][NN_GEMM_NR] panel of the unfolded image, built
 * straight from the image. The panel's columns are output positions; they
 * cover one or more runs along output rows ("segments"). */
typedef struct {
    int64_t oy, ox, len, off;
} im2col_seg;

static int im2col_segments(const nn_im2col *a, int64_t n0, int ncols, im2col_seg *seg)
{
    int nseg = 0;
    for (int64_t n = n0; n < n0 + ncols;) {
        int64_t oy = n / a->OW, ox = n % a->OW, len = a->OW - ox;
        if (len > n0 + ncols - n) len = n0 + ncols - n;
        seg[nseg].oy = oy;
        seg[nseg].ox = ox;
        seg[nseg].len = len;
        seg[nseg].off = n - n0;
        nseg++;
        n += len;
    }
    return nseg;
}

/* Columns of a segment whose input x lies inside [0, W): [jlo, jhi). */
static inline void seg_cols(const nn_im2col *a, int64_t ix0, int64_t len, int64_t *jlo,
                            int64_t *jhi)
{
    if (a->sw == 1) {
        *jlo = ix0 < 0 ? -ix0 : 0;
        *jhi = ix0 > a->W - 1 ? 0 : a->W - ix0;
    } else {
        *jlo = ix0 < 0 ? (-ix0 + a->sw - 1) / a->sw : 0;
        *jhi = ix0 > a->W - 1 ? 0 : (a->W - 1 - ix0) / a->sw + 1;
    }
    if (*jhi > len) *jhi = len;
    if (*jlo > *jhi) *jlo = *jhi;
}

static void pack_im2col_c(const nn_im2col *a, const im2col_seg *seg, int nseg, float *dst)
{
    for (int64_t ci = 0; ci < a->C; ci++) {
        const float *xc = a->x + ci * a->H * a->W;
        for (int64_t ky = 0; ky < a->KH; ky++)
            for (int64_t kx = 0; kx < a->KW; kx++) {
                float *row = dst;
                dst += NN_GEMM_NR;
                memset(row, 0, NN_GEMM_NR * sizeof(float));
                for (int s = 0; s < nseg; s++) {
                    int64_t iy = seg[s].oy * a->sh - a->pt + ky * a->dh;
                    if (iy < 0 || iy >= a->H) continue;
                    const float *xr = xc + iy * a->W;
                    int64_t ix0 = seg[s].ox * a->sw - a->pl + kx * a->dw, jlo, jhi;
                    seg_cols(a, ix0, seg[s].len, &jlo, &jhi);
                    for (int64_t j = jlo; j < jhi; j++) row[seg[s].off + j] = xr[ix0 + j * a->sw];
                }
            }
    }
}

#if defined(__x86_64__)

__attribute__((target("avx512f"))) static void
pack_im2col_avx512(const nn_im2col *a, const im2col_seg *seg, int nseg, float *dst)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512i lane2 =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t ci = 0; ci < a->C; ci++) {
        const float *xc = a->x + ci * a->H * a->W;
        for (int64_t ky = 0; ky < a->KH; ky++)
            for (int64_t kx = 0; kx < a->KW; kx++) {
                float *row = dst;
                dst += NN_GEMM_NR;
                _mm512_store_ps(row, zero);
                _mm512_store_ps(row + 16, zero);
                for (int s = 0; s < nseg; s++) {
                    int64_t iy = seg[s].oy * a->sh - a->pt + ky * a->dh;
                    if (iy < 0 || iy >= a->H) continue;
                    int64_t ix0 = seg[s].ox * a->sw - a->pl + kx * a->dw, jlo, jhi;
                    seg_cols(a, ix0, seg[s].len, &jlo, &jhi);
                    if (jhi <= jlo) continue;
                    /* source lanes j in [jlo, jhi) go to row[off + j]; lanes
                     * outside that range are masked off, so the loads never
                     * touch memory outside the image */
                    const float *src = xc + iy * a->W + ix0;
                    float *o = row + seg[s].off;
                    for (int64_t h = 0; h * 16 < jhi; h++) {
                        int64_t lo = jlo - h * 16, hi = jhi - h * 16;
                        lo = lo < 0 ? 0 : lo;
                        hi = hi > 16 ? 16 : hi;
                        if (hi <= lo) continue;
                        __mmask16 mk =
                            (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
                        __m512 v;
                        if (a->sw == 1) {
                            v = _mm512_maskz_loadu_ps(mk, src + h * 16);
                        } else if (a->sw == 2) {
                            /* lanes j need elements 2j of src: load the 32
                             * elements under the chunk and keep the even ones */
                            uint64_t eb = ((((uint64_t)1 << (2 * hi - 1)) - 1) &
                                           ~(((uint64_t)1 << (2 * lo)) - 1));
                            __m512 e0 =
                                _mm512_maskz_loadu_ps((__mmask16)(eb & 0xffff), src + h * 32);
                            __m512 e1 =
                                _mm512_maskz_loadu_ps((__mmask16)(eb >> 16), src + h * 32 + 16);
                            v = _mm512_permutex2var_ps(e0, lane2, e1);
                        } else {
                            v = _mm512_mask_i32gather_ps(
                                zero, mk,
                                _mm512_mullo_epi32(_mm512_srli_epi32(lane2, 1),
                                                   _mm512_set1_epi32((int)a->sw)),
                                src + h * 16 * a->sw, 4);
                        }
                        _mm512_mask_storeu_ps(o + h * 16, mk, v);
                    }
                }
            }
    }
}
#endif

#if defined(__x86_64__)
/* pack_im2col_avx512 on 8 lanes: masked loads for stride 1, the even
 * elements of masked loads for stride 2, the C loop's gather otherwise. */
__attribute__((target("avx2"))) static void
pack_im2col_avx2(const nn_im2col *a, const im2col_seg *seg, int nseg, float *dst)
{
    for (int64_t ci = 0; ci < a->C; ci++) {
        const float *xc = a->x + ci * a->H * a->W;
        for (int64_t ky = 0; ky < a->KH; ky++)
            for (int64_t kx = 0; kx < a->KW; kx++) {
                float *row = dst;
                dst += NN_GEMM_NR;
                for (int q = 0; q < 4; q++) _mm256_store_ps(row + 8 * q, _mm256_setzero_ps());
                for (int s = 0; s < nseg; s++) {
                    int64_t iy = seg[s].oy * a->sh - a->pt + ky * a->dh;
                    if (iy < 0 || iy >= a->H) continue;
                    int64_t ix0 = seg[s].ox * a->sw - a->pl + kx * a->dw, jlo, jhi;
                    seg_cols(a, ix0, seg[s].len, &jlo, &jhi);
                    const float *src = xc + iy * a->W + ix0;
                    float *o = row + seg[s].off;
                    if (a->sw > 2) {
                        for (int64_t j = jlo; j < jhi; j++) o[j] = src[j * a->sw];
                        continue;
                    }
                    /* lanes j in [jlo, jhi) only: the loads never touch
                     * memory outside the image */
                    for (int64_t h = jlo / 8 * 8; h < jhi; h += 8) {
                        __m256i mk = nn_lanes8(jlo - h, jhi - h);
                        __m256 v;
                        if (a->sw == 1) {
                            v = _mm256_maskload_ps(src + h, mk);
                        } else {
                            /* element 2j of src for lane j */
                            __m256i e0 = nn_lanes8(2 * (jlo - h), 2 * (jhi - h) - 1);
                            __m256i e1 = nn_lanes8(2 * (jlo - h) - 8, 2 * (jhi - h) - 9);
                            v = evens8_of(_mm256_maskload_ps(src + 2 * h, e0),
                                          _mm256_maskload_ps(src + 2 * h + 8, e1));
                        }
                        _mm256_maskstore_ps(o + h, mk, v);
                    }
                }
            }
    }
}
#endif

#if defined(__x86_64__)
/* Images whose planes have at most 32 pixels (the last 3x3 layers of a
 * detector's heads, 4x5 planes with hundreds of channels): every tap's
 * panel row is a lane permutation of the channel's two registers
 * (nn_plane32, kernels.h), built once per panel; the per-segment
 * bookkeeping of the general packer (several short segments per row of
 * K = C * taps rows) costs far more than the products on these shapes. */
void nn_plane32_init(const nn_im2col *a, int64_t n0, int np, nn_plane32 *p)
{
    int64_t hw = a->H * a->W;
    p->taps = a->KH * a->KW;
    for (int64_t t = 0; t < p->taps; t++) {
        int32_t ix[32] = {0};
        uint32_t m = 0;
        for (int j = 0; j < np; j++) {
            int64_t n = n0 + j, oy = n / a->OW, ox = n % a->OW;
            int64_t iy = oy * a->sh - a->pt + (t / a->KW) * a->dh;
            int64_t xx = ox * a->sw - a->pl + (t % a->KW) * a->dw;
            if (iy >= 0 && iy < a->H && xx >= 0 && xx < a->W) {
                ix[j] = (int32_t)(iy * a->W + xx);
                m |= 1u << j;
            }
        }
        memcpy(p->idx[t], ix, sizeof ix);
        p->ok[t][0] = (__mmask16)(m & 0xffff);
        p->ok[t][1] = (__mmask16)(m >> 16);
    }
    p->in[0] = (__mmask16)(hw >= 16 ? 0xffff : (1u << hw) - 1);
    p->in[1] = (__mmask16)(hw >= 32 ? 0xffff : hw > 16 ? (1u << (hw - 16)) - 1 : 0);
}

__attribute__((target("avx512f"))) static void pack_im2col_plane32(const nn_im2col *a, int64_t n0,
                                                                   int ncols, float *dst)
{
    nn_plane32 p;
    nn_plane32_init(a, n0, ncols, &p);
    for (int64_t c = 0; c < a->C; c++, dst += p.taps * NN_GEMM_NR)
        nn_plane32_channel(&p, a->x + c * a->H * a->W, dst);
}
#endif

void nn_pack_im2col(const void *arg, int64_t n0, int ncols, float *panel)
{
    const nn_im2col *a = arg;
#if defined(__x86_64__)
    if (nn_cpu_features().avx512 && a->H * a->W <= 32 && a->KH * a->KW <= NN_PLANE32_TAPS) {
        pack_im2col_plane32(a, n0, ncols, panel);
        return;
    }
#endif
    im2col_seg seg[NN_GEMM_NR];
    int nseg = im2col_segments(a, n0, ncols, seg);
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        pack_im2col_avx512(a, seg, nseg, panel);
        return;
    }
    if (nn_cpu_features().avx2) {
        pack_im2col_avx2(a, seg, nseg, panel);
        return;
    }
#endif
    pack_im2col_c(a, seg, nseg, panel);
}

bool nn_gemm_packed(const nn_node *n, int64_t M, int64_t N, int64_t K, const float *Ap,
                    nn_pack_b_fn pack, const void *arg, float *C, int64_t ldc, const float *bias,
                    const float *res, float *panel)
{
#if defined(__x86_64__)
    gemm_panel_fn panel_fn = gemm_panel_for_cpu();
    if (!panel_fn || (n->act != NN_ACT_NONE && n->act != NN_ACT_RELU && n->act != NN_ACT_PRELU &&
                      n->act != NN_ACT_LEAKY && n->act != NN_ACT_CLIP))
        return false;
    epi e = {n->act, n->act_a, n->act_b};
    for (int64_t n0 = 0; n0 < N; n0 += NN_GEMM_NR) {
        int ncols = N - n0 < NN_GEMM_NR ? (int)(N - n0) : NN_GEMM_NR;
        gemm_b B = {panel, NN_GEMM_NR, NULL};
        if (pack == nn_pack_b_rows && (ncols == NN_GEMM_NR || ncols == 16) &&
            ((const nn_rows *)arg)->K <= 256) {
            /* a full panel of a plain matrix (or a half panel, whose 16
             * columns the narrow kernel reads exactly): read it in place */
            const nn_rows *r = arg;
            B.base = r->B + n0;
            B.stride = r->ldb;
        } else {
            pack(arg, n0, ncols, panel);
        }
        panel_fn(M, K, Ap, B, C + n0, ldc, ncols, bias, res ? res + n0 : NULL, &e, n->act_slope,
                 n->act_slope_n);
    }
    return true;
#else
    (void)n, (void)M, (void)N, (void)K, (void)Ap, (void)pack, (void)arg, (void)C, (void)ldc,
        (void)bias, (void)res, (void)panel;
    return false;
#endif
}

/* Stride-1 convolution without im2col: the input is copied once into a
 * zero-padded image of row length PW; output positions are then counted in
 * padded coordinates (p = oy * PW + ox), so for every tap (ci, ky, kx) the 32
 * inputs of a panel are contiguous at pad + off[k] + p. Columns ox >= OW are
 * computed and thrown away when the result is copied out. */
/* Geometry of the in-place convolution: stride 1 reads one padded image of
 * row length PW; stride 2 reads four phase planes (even/odd rows x even/odd
 * columns of the padded image), each PH x PW, where every tap is again a
 * unit-stride read. */
static void direct_dims(const nn_im2col *a, int64_t *PH, int64_t *PW, int64_t *planes)
{
    int64_t ph = a->H + a->pt + a->pb, pw = a->W + a->pl + a->pr;
    if (a->sh == 2) {
        *PH = (ph + 1) / 2;
        *PW = (pw + 1) / 2;
        *planes = 4 * a->C;
    } else {
        *PH = ph;
        *PW = pw;
        *planes = a->C;
    }
}

size_t nn_conv_direct_scratch(const nn_im2col *a, int64_t M)
{
    int64_t PH, PW, planes;
    direct_dims(a, &PH, &PW, &planes);
    size_t img = (size_t)(planes * PH * PW + 2 * PW + 2 * NN_GEMM_NR + 15) / 16 * 16;
    /* the tile of a panel that crosses a row end: M rows of NN_GEMM_NR */
    size_t out = (size_t)(M * NN_GEMM_NR + NN_GEMM_NR + 16);
    size_t off = (size_t)(a->C * a->KH * a->KW);
    size_t row = (size_t)(a->W + a->pl + a->pr + 2 * NN_GEMM_NR + 16);
    return (img + out + off * 2 + row + 64) * sizeof(float);
}

#if defined(__x86_64__)
/* Split one padded row into its even and odd columns. */
__attribute__((target("avx512f"))) static void deinterleave(const float *row, int64_t PW2,
                                                            float *even_out, float *odd_out)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t j = 0; j < PW2; j += 16) {
        __m512 e0 = _mm512_loadu_ps(row + 2 * j), e1 = _mm512_loadu_ps(row + 2 * j + 16);
        __mmask16 mk = PW2 - j >= 16 ? 0xffff : (__mmask16)((1u << (PW2 - j)) - 1);
        _mm512_mask_storeu_ps(even_out + j, mk, _mm512_permutex2var_ps(e0, even, e1));
        _mm512_mask_storeu_ps(odd_out + j, mk, _mm512_permutex2var_ps(e0, odd, e1));
    }
}
#endif

bool nn_conv_direct(const nn_node *n, const nn_im2col *a, int64_t M, int64_t OH, const float *Ap,
                    float *y, const float *bias, void *scratch)
{
#if defined(__x86_64__)
    bool s2 = a->sh == 2 && a->sw == 2 && a->dh == 1 && a->dw == 1;
    gemm_panel_fn panel_fn = gemm_panel_for_cpu();
    if (!panel_fn || !((a->sh == 1 && a->sw == 1) || s2) ||
        (n->act != NN_ACT_NONE && n->act != NN_ACT_RELU && n->act != NN_ACT_PRELU &&
         n->act != NN_ACT_LEAKY && n->act != NN_ACT_CLIP))
        return false;
    int64_t PH, PW, planes;
    direct_dims(a, &PH, &PW, &planes);
    int64_t OW = a->OW, K = a->C * a->KH * a->KW;
    float *pad = scratch;
    size_t img = (size_t)(planes * PH * PW + 2 * PW + 2 * NN_GEMM_NR + 15) / 16 * 16;
    float *tmp = pad + img;
    int64_t *off = (int64_t *)(tmp + (M * NN_GEMM_NR + NN_GEMM_NR + 15) / 16 * 16);
    float *rowbuf = (float *)(off + K + 16);
    if (!s2) {
        /* copy the image in, zeroing only the borders */
        for (int64_t c = 0; c < a->C; c++) {
            float *pc = pad + c * PH * PW;
            memset(pc, 0, (size_t)(a->pt * PW + a->pl) * sizeof(float));
            for (int64_t yy = 0; yy < a->H; yy++) {
                float *row = pc + (yy + a->pt) * PW + a->pl;
                memcpy(row, a->x + (c * a->H + yy) * a->W, (size_t)a->W * sizeof(float));
                /* right pad of this row and left pad of the next */
                memset(row + a->W, 0, (size_t)(a->pr + a->pl) * sizeof(float));
            }
            memset(pc + (a->H + a->pt) * PW, 0, (size_t)((PH - a->H - a->pt) * PW) * sizeof(float));
        }
        for (int64_t c = 0, k = 0; c < a->C; c++)
            for (int64_t ky = 0; ky < a->KH; ky++)
                for (int64_t kx = 0; kx < a->KW; kx++)
                    off[k++] = c * PH * PW + ky * a->dh * PW + kx * a->dw;
    } else {
        /* phase planes: plane (c, ry, rx) row i col j = padded (2i+ry, 2j+rx) */
        int64_t rowlen = 2 * PW;
        for (int64_t c = 0; c < a->C; c++)
            for (int64_t r = 0; r < 2 * PH; r++) {
                int64_t iy = r - a->pt;
                memset(rowbuf, 0, (size_t)(rowlen + 2 * NN_GEMM_NR) * sizeof(float));
                if (iy >= 0 && iy < a->H)
                    memcpy(rowbuf + a->pl, a->x + (c * a->H + iy) * a->W,
                           (size_t)a->W * sizeof(float));
                float *ev = pad + ((c * 4 + (r & 1) * 2) * PH + (r >> 1)) * PW;
                if (nn_cpu_features().avx512) {
                    deinterleave(rowbuf, PW, ev, ev + PH * PW);
                } else {
                    for (int64_t j = 0; j < PW; j++) {
                        ev[j] = rowbuf[2 * j];
                        ev[PH * PW + j] = rowbuf[2 * j + 1];
                    }
                }
            }
        for (int64_t c = 0, k = 0; c < a->C; c++)
            for (int64_t ky = 0; ky < a->KH; ky++)
                for (int64_t kx = 0; kx < a->KW; kx++)
                    off[k++] =
                        ((c * 4 + (ky & 1) * 2 + (kx & 1)) * PH + (ky >> 1)) * PW + (kx >> 1);
    }
    memset(pad + planes * PH * PW, 0, (size_t)(2 * PW + 2 * NN_GEMM_NR) * sizeof(float));
    epi e = {n->act, n->act_a, n->act_b};
    int64_t N = OH * PW, plane = OH * OW;
    for (int64_t n0 = 0; n0 < N; n0 += NN_GEMM_NR) {
        int ncols = N - n0 < NN_GEMM_NR ? (int)(N - n0) : NN_GEMM_NR;
        gemm_b B = {pad + n0, 0, off};
        int64_t oy = n0 / PW, ox = n0 % PW;
        if (ox + ncols <= OW) {
            /* the whole panel is inside one output row: store in place */
            panel_fn(M, K, Ap, B, y + oy * OW + ox, plane, ncols, bias, NULL, &e, n->act_slope,
                     n->act_slope_n);
            continue;
        }
        /* the panel crosses a row end: compute into a tile, copy the valid runs */
        panel_fn(M, K, Ap, B, tmp, NN_GEMM_NR, ncols, bias, NULL, &e, n->act_slope, n->act_slope_n);
        for (int64_t p = n0; p < n0 + ncols;) {
            int64_t py = p / PW, px = p % PW;
            if (px >= OW) {
                p = (py + 1) * PW;
                continue;
            }
            int64_t len = OW - px < n0 + ncols - p ? OW - px : n0 + ncols - p;
            for (int64_t m = 0; m < M; m++)
                memcpy(y + m * plane + py * OW + px, tmp + m * NN_GEMM_NR + (p - n0),
                       (size_t)len * sizeof(float));
            p += len;
        }
    }
    return true;
#else
    (void)n, (void)a, (void)M, (void)OH, (void)Ap, (void)y, (void)bias, (void)scratch;
    return false;
#endif
}

/* ---- small outputs: one dot product per output value -----------------------
 * For convolutions with very few output positions (the last layers of small
 * networks), building patches [N][K] and taking dot products with the weight
 * rows [M][K] beats packing panels. */
#if defined(__x86_64__)
__attribute__((target("avx512f"))) static float dot_avx512(const float *a, const float *b,
                                                           int64_t K)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(b + k + 16), s1);
    }
    for (; k < K; k += 16) {
        __mmask16 mk = K - k >= 16 ? 0xffff : (__mmask16)((1u << (K - k)) - 1);
        s0 =
            _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + k), _mm512_maskz_loadu_ps(mk, b + k), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#endif

#if defined(__x86_64__)
/* Sum of the 8 lanes of v. */
__attribute__((always_inline, target("avx2"))) static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, int64_t K)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), s1);
    }
    for (; k < K; k += 8) {
        __m256i mk = nn_lanes8(0, K - k);
        s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + k, mk), _mm256_maskload_ps(b + k, mk), s0);
    }
    return hsum256(_mm256_add_ps(s0, s1));
}

/* gemv_rows_avx512 on 8 lanes: four rows of W at a time. */
__attribute__((target("avx2,fma"))) static void
gemv_rows_avx2(const float *x, const float *W, int64_t N, int64_t K, float alpha, float *y)
{
    int64_t j = 0;
    for (; j + 4 <= N; j += 4) {
        const float *w0 = W + j * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m256 a0 = _mm256_setzero_ps(), b0 = a0, c0 = a0, d0 = a0;
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 x0 = _mm256_loadu_ps(x + k);
            a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w0 + k), a0);
            b0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w1 + k), b0);
            c0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w2 + k), c0);
            d0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w3 + k), d0);
        }
        if (k < K) {
            __m256i mk = nn_lanes8(0, K - k);
            __m256 x0 = _mm256_maskload_ps(x + k, mk);
            a0 = _mm256_fmadd_ps(x0, _mm256_maskload_ps(w0 + k, mk), a0);
            b0 = _mm256_fmadd_ps(x0, _mm256_maskload_ps(w1 + k, mk), b0);
            c0 = _mm256_fmadd_ps(x0, _mm256_maskload_ps(w2 + k, mk), c0);
            d0 = _mm256_fmadd_ps(x0, _mm256_maskload_ps(w3 + k, mk), d0);
        }
        y[j] += alpha * hsum256(a0);
        y[j + 1] += alpha * hsum256(b0);
        y[j + 2] += alpha * hsum256(c0);
        y[j + 3] += alpha * hsum256(d0);
    }
    for (; j < N; j++) y[j] += alpha * dot_avx2(x, W + j * K, K);
}
#endif

float nn_dot(const float *a, const float *b, int64_t n)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) return dot_avx512(a, b, n);
    if (nn_cpu_features().avx2) return dot_avx2(a, b, n);
#endif
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#if defined(__x86_64__)
/* Sum of the lanes of a and b. */
__attribute__((target("avx512f"))) static inline float sum2(__m512 a, __m512 b)
{
    return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

/* Four rows of W at a time, two accumulators each: eight independent FMA
 * chains where one dot product waits on the latency of one or two. */
__attribute__((target("avx512f"))) static void
gemv_rows_avx512(const float *x, const float *W, int64_t N, int64_t K, float alpha, float *y)
{
    int64_t j = 0;
    for (; j + 4 <= N; j += 4) {
        const float *w0 = W + j * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0,
               d1 = a0;
        int64_t k = 0;
        for (; k + 32 <= K; k += 32) {
            __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
            a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w0 + k), a0);
            b0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w1 + k), b0);
            c0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w2 + k), c0);
            d0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w3 + k), d0);
            a1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w0 + k + 16), a1);
            b1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w1 + k + 16), b1);
            c1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w2 + k + 16), c1);
            d1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w3 + k + 16), d1);
        }
        for (; k < K; k += 16) {
            __mmask16 mk = K - k >= 16 ? 0xffff : (__mmask16)((1u << (K - k)) - 1);
            __m512 x0 = _mm512_maskz_loadu_ps(mk, x + k);
            a0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mk, w0 + k), a0);
            b0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mk, w1 + k), b0);
            c0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mk, w2 + k), c0);
            d0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mk, w3 + k), d0);
        }
        y[j] += alpha * sum2(a0, a1);
        y[j + 1] += alpha * sum2(b0, b1);
        y[j + 2] += alpha * sum2(c0, c1);
        y[j + 3] += alpha * sum2(d0, d1);
    }
    for (; j < N; j++) y[j] += alpha * dot_avx512(x, W + j * K, K);
}
#endif

void nn_gemv_rows(const float *x, const float *W, int64_t N, int64_t K, float alpha, float *y)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        gemv_rows_avx512(x, W, N, K, alpha, y);
        return;
    }
    if (nn_cpu_features().avx2) {
        gemv_rows_avx2(x, W, N, K, alpha, y);
        return;
    }
#endif
    for (int64_t j = 0; j < N; j++) {
        float s = 0.0f;
        for (int64_t k = 0; k < K; k++) s += x[k] * W[j * K + k];
        y[j] += alpha * s;
    }
}

#if defined(__x86_64__)
/* Up to 8 x 16 columns of y at a time, each summed over k in order from
 * zero: one broadcast of x[k] feeds 8 independent FMA chains. */
__attribute__((target("avx512f"))) static void gemv_cols_avx512(const float *x, const float *W,
                                                                int64_t K, int64_t N, float *y)
{
    for (int64_t j = 0; j < N; j += 128) {
        int nv = (int)((N - j + 15) / 16 < 8 ? (N - j + 15) / 16 : 8);
        __mmask16 last =
            N - j - 16 * (nv - 1) >= 16 ? 0xffff : (__mmask16)((1u << (N - j - 16 * (nv - 1))) - 1);
        __m512 acc[8];
        for (int v = 0; v < 8; v++) acc[v] = _mm512_setzero_ps();
        for (int64_t k = 0; k < K; k++) {
            const float *w = W + k * N + j;
            __m512 xv = _mm512_set1_ps(x[k]);
#pragma GCC unroll 8
            for (int v = 0; v < 8; v++)
                if (v < nv - 1)
                    acc[v] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w + 16 * v), acc[v]);
                else if (v == nv - 1)
                    acc[v] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(last, w + 16 * v), acc[v]);
        }
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(y + j + 16 * v, v < nv - 1 ? 0xffff : last, acc[v]);
    }
}

/* gemv_cols_avx512 on 8 lanes. */
__attribute__((target("avx2,fma"))) static void gemv_cols_avx2(const float *x, const float *W,
                                                               int64_t K, int64_t N, float *y)
{
    for (int64_t j = 0; j < N; j += 64) {
        int nv = (int)((N - j + 7) / 8 < 8 ? (N - j + 7) / 8 : 8);
        __m256i last = nn_lanes8(0, N - j - 8 * (nv - 1));
        __m256 acc[8];
        for (int v = 0; v < 8; v++) acc[v] = _mm256_setzero_ps();
        for (int64_t k = 0; k < K; k++) {
            const float *w = W + k * N + j;
            __m256 xv = _mm256_set1_ps(x[k]);
#pragma GCC unroll 8
            for (int v = 0; v < 8; v++)
                if (v < nv - 1)
                    acc[v] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 8 * v), acc[v]);
                else if (v == nv - 1)
                    acc[v] = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w + 8 * v, last), acc[v]);
        }
        for (int v = 0; v < nv - 1; v++) _mm256_storeu_ps(y + j + 8 * v, acc[v]);
        _mm256_maskstore_ps(y + j + 8 * (nv - 1), last, acc[nv - 1]);
    }
}
#endif

void nn_gemv_cols(const float *x, const float *W, int64_t K, int64_t N, float *y)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        gemv_cols_avx512(x, W, K, N, y);
        return;
    }
    if (nn_cpu_features().avx2) {
        gemv_cols_avx2(x, W, K, N, y);
        return;
    }
#endif
    for (int64_t j = 0; j < N; j++) y[j] = 0.0f;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) y[j] = fmaf(x[k], W[k * N + j], y[j]);
}

bool nn_conv_small_n(const nn_node *n, const nn_im2col *a, int64_t M, int64_t N, const float *W,
                     float *y, const float *bias, float *patches)
{
#if defined(__x86_64__)
    nn_cpu f = nn_cpu_features();
    if (!f.avx512 && !f.avx2) return false;
    int64_t K = a->C * a->KH * a->KW;
    for (int64_t p = 0; p < N; p++) {
        int64_t oy = p / a->OW, ox = p % a->OW;
        float *dst = patches + p * K;
        for (int64_t c = 0; c < a->C; c++)
            for (int64_t ky = 0; ky < a->KH; ky++) {
                int64_t iy = oy * a->sh - a->pt + ky * a->dh;
                for (int64_t kx = 0; kx < a->KW; kx++) {
                    int64_t ix = ox * a->sw - a->pl + kx * a->dw;
                    *dst++ = iy >= 0 && iy < a->H && ix >= 0 && ix < a->W
                                 ? a->x[(c * a->H + iy) * a->W + ix]
                                 : 0.0f;
                }
            }
    }
    epi e = {n->act, n->act_a, n->act_b};
    for (int64_t m = 0; m < M; m++) {
        float slope = epi_node_slope(n, m);
        for (int64_t p = 0; p < N; p++)
            y[m * N + p] =
                epi_scalar(&e,
                           (f.avx512 ? dot_avx512 : dot_avx2)(W + m * K, patches + p * K, K) +
                               (bias ? bias[m] : 0.0f),
                           slope);
    }
    return true;
#else
    (void)n, (void)a, (void)M, (void)N, (void)W, (void)y, (void)bias, (void)patches;
    return false;
#endif
}

/* ---- the bare micro-kernel, for the Winograd products (wino.c) ---------- */
#if defined(__x86_64__)
void nn_gemm_panel_avx512(int64_t M, int64_t K, const float *Ap, const float *B, int64_t ldb,
                          float *C, int64_t ldc, int ncols)
{
    static const epi none = {NN_ACT_NONE, 0, 0};
    gemm_b b = {B, ldb, NULL};
    gemm_panel_avx512(M, K, Ap, b, C, ldc, ncols, NULL, &none, NULL, 0);
}

void nn_gemm_panel_avx2(int64_t M, int64_t K, const float *Ap, const float *B, int64_t ldb,
                        float *C, int64_t ldc, int ncols)
{
    static const epi none = {NN_ACT_NONE, 0, 0};
    gemm_b b = {B, ldb, NULL};
    gemm_panel_res_avx2(M, K, Ap, b, C, ldc, ncols, NULL, NULL, &none, NULL, 0);
}
#endif
