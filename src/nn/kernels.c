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

/* The CPU does not change while we run: detect once. */
static nn_cpu cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_detect(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    cpu.avx512 = __builtin_cpu_supports("avx512f");
    cpu.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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

/* Per-channel parameters of the epilogue y = act(y + bias). */
typedef struct {
    int act;
    float a, b; /* leaky alpha, clip bounds */
} epi;

static inline float epi_scalar(const epi *e, float v, float slope)
{
    switch (e->act) {
    case NN_ACT_RELU:
        return fmaxf(v, 0.0f);
    case NN_ACT_PRELU:
        return fmaxf(v, 0.0f) + slope * fminf(v, 0.0f);
    case NN_ACT_LEAKY:
        return fmaxf(v, 0.0f) + e->a * fminf(v, 0.0f);
    case NN_ACT_CLIP:
        return fminf(fmaxf(v, e->a), e->b);
    case NN_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-v));
    case NN_ACT_HSWISH:
        return v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f));
    default:
        return v;
    }
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
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t ch = 0; ch < channels; ch++) {
        float b = bias ? bias[ch] : 0.0f;
        float sl = e->act == NN_ACT_LEAKY ? e->a : slope ? slope[nslope == 1 ? 0 : c0 + ch] : 0.0f;
        __m512 vb = _mm512_set1_ps(b), vs = _mm512_set1_ps(sl);
        __m512 lo = _mm512_set1_ps(e->a), hi = _mm512_set1_ps(e->b);
        float *p = y + ch * plane;
        int64_t i = 0;
        for (; i + 16 <= plane; i += 16) {
            __m512 v = _mm512_add_ps(_mm512_loadu_ps(p + i), vb);
            switch (e->act) {
            case NN_ACT_RELU:
                v = _mm512_max_ps(v, zero);
                break;
            case NN_ACT_PRELU:
            case NN_ACT_LEAKY:
                v = _mm512_fmadd_ps(vs, _mm512_min_ps(v, zero), _mm512_max_ps(v, zero));
                break;
            case NN_ACT_CLIP:
                v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                break;
            default:
                break;
            }
            _mm512_storeu_ps(p + i, v);
        }
        for (; i < plane; i++) p[i] = epi_scalar(e, p[i] + b, sl);
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
__attribute__((target("avx512f"))) static void dw3x3_avx512(const float *xp, int PW, const float *w,
                                                            float bias, int s, float *y, int OH,
                                                            int OW, const epi *e, float slope)
{
    const __m512 zero = _mm512_setzero_ps();
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
            switch (e->act) {
            case NN_ACT_RELU:
                acc = _mm512_max_ps(acc, zero);
                break;
            case NN_ACT_PRELU:
            case NN_ACT_LEAKY:
                acc = _mm512_fmadd_ps(vs, _mm512_min_ps(acc, zero), _mm512_max_ps(acc, zero));
                break;
            case NN_ACT_CLIP:
                acc = _mm512_min_ps(_mm512_max_ps(acc, lo_v), hi_v);
                break;
            default:
                break;
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

bool nn_dw3x3_fast(const nn_node *n, const float *x, int H, int W, const float *w, float bias,
                   int s, int pt, int pl, float *y, int OH, int OW, int64_t ch, float *pad_buf)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512 && n->act != NN_ACT_SIGMOID && n->act != NN_ACT_HSWISH) {
        epi e = {n->act, n->act_a, n->act_b};
        float slope = n->act_slope ? n->act_slope[n->act_slope_n == 1 ? 0 : ch] : 0.0f;
        int rows = (OH - 1) * s + 3;
        int ow16 = (OW + 15) / 16 * 16;
        int PW = (ow16 - 1) * s + 3 + 32;
        pad_plane(x, H, W, pt, pl, rows, PW, pad_buf);
        dw3x3_avx512(pad_buf, PW, w, bias, s, y, OH, OW, &e, slope);
        return true;
    }
#endif
    int rows = (OH - 1) * s + 3;
    int ow16 = (OW + 15) / 16 * 16;
    int PW = (ow16 - 1) * s + 3 + 32;
    pad_plane(x, H, W, pt, pl, rows, PW, pad_buf);
    dw3x3_c(pad_buf, PW, w, bias, s, y, OH, OW);
    nn_apply_act(n, y, 1, (int64_t)OH * OW, ch);
    return true;
}

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
__attribute__((target("avx512f"))) static void
gemm_panel_avx512(int64_t M, int64_t K, const float *Ap, const float *Bp, float *C, int64_t ldc,
                  int ncols, const float *bias, const epi *e, const float *slope, int64_t nslope)
{
    const __mmask16 m0 = ncols >= 16 ? 0xffff : (__mmask16)((1u << ncols) - 1);
    const __mmask16 m1 = ncols >= 32   ? 0xffff
                         : ncols <= 16 ? 0
                                       : (__mmask16)((1u << (ncols - 16)) - 1);
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t mb = 0; mb < M; mb += NN_GEMM_MR) {
        const float *a = Ap + mb * K;
        __m512 c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero,
               c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero, c60 = zero, c61 = zero,
               c70 = zero, c71 = zero;
        const float *b = Bp;
        for (int64_t k = 0; k < K; k++) {
            __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
            __m512 av;
            av = _mm512_set1_ps(a[0]);
            c00 = _mm512_fmadd_ps(av, b0, c00);
            c01 = _mm512_fmadd_ps(av, b1, c01);
            av = _mm512_set1_ps(a[1]);
            c10 = _mm512_fmadd_ps(av, b0, c10);
            c11 = _mm512_fmadd_ps(av, b1, c11);
            av = _mm512_set1_ps(a[2]);
            c20 = _mm512_fmadd_ps(av, b0, c20);
            c21 = _mm512_fmadd_ps(av, b1, c21);
            av = _mm512_set1_ps(a[3]);
            c30 = _mm512_fmadd_ps(av, b0, c30);
            c31 = _mm512_fmadd_ps(av, b1, c31);
            av = _mm512_set1_ps(a[4]);
            c40 = _mm512_fmadd_ps(av, b0, c40);
            c41 = _mm512_fmadd_ps(av, b1, c41);
            av = _mm512_set1_ps(a[5]);
            c50 = _mm512_fmadd_ps(av, b0, c50);
            c51 = _mm512_fmadd_ps(av, b1, c51);
            av = _mm512_set1_ps(a[6]);
            c60 = _mm512_fmadd_ps(av, b0, c60);
            c61 = _mm512_fmadd_ps(av, b1, c61);
            av = _mm512_set1_ps(a[7]);
            c70 = _mm512_fmadd_ps(av, b0, c70);
            c71 = _mm512_fmadd_ps(av, b1, c71);
            a += NN_GEMM_MR;
            b += NN_GEMM_NR;
        }
        __m512 acc[NN_GEMM_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                                     {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
        int rows = M - mb < NN_GEMM_MR ? (int)(M - mb) : NN_GEMM_MR;
        for (int r = 0; r < rows; r++) {
            int64_t m = mb + r;
            __m512 vb = _mm512_set1_ps(bias ? bias[m] : 0.0f);
            float sl = e->act == NN_ACT_LEAKY ? e->a : slope ? slope[nslope == 1 ? 0 : m] : 0.0f;
            __m512 vs = _mm512_set1_ps(sl), lo = _mm512_set1_ps(e->a), hi = _mm512_set1_ps(e->b);
            for (int h = 0; h < 2; h++) {
                __m512 v = _mm512_add_ps(acc[r][h], vb);
                switch (e->act) {
                case NN_ACT_RELU:
                    v = _mm512_max_ps(v, zero);
                    break;
                case NN_ACT_PRELU:
                case NN_ACT_LEAKY:
                    v = _mm512_fmadd_ps(vs, _mm512_min_ps(v, zero), _mm512_max_ps(v, zero));
                    break;
                case NN_ACT_CLIP:
                    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                    break;
                default:
                    break;
                }
                __mmask16 mk = h ? m1 : m0;
                if (mk) _mm512_mask_storeu_ps(C + m * ldc + h * 16, mk, v);
            }
        }
    }
}

/* Copy columns [n0, n0+ncols) of B[K][ldb] into a zero-padded [K][NR] panel. */
__attribute__((target("avx512f"))) static void pack_b_panel(const float *B, int64_t K, int64_t ldb,
                                                            int64_t n0, int ncols, float *dst)
{
    const __mmask16 m0 = ncols >= 16 ? 0xffff : (__mmask16)((1u << ncols) - 1);
    const __mmask16 m1 = ncols >= 32   ? 0xffff
                         : ncols <= 16 ? 0
                                       : (__mmask16)((1u << (ncols - 16)) - 1);
    for (int64_t k = 0; k < K; k++) {
        const float *src = B + k * ldb + n0;
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        dst += NN_GEMM_NR;
    }
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
/* Lanes [lo, hi) of a 32-lane row split in two 16-lane masks. */
static inline void lane_masks(int64_t lo, int64_t hi, __mmask16 *m0, __mmask16 *m1)
{
    uint32_t bits =
        hi > lo ? (uint32_t)((((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1)) : 0;
    *m0 = (__mmask16)(bits & 0xffff);
    *m1 = (__mmask16)(bits >> 16);
}

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
                        if (a->sw == 1)
                            v = _mm512_maskz_loadu_ps(mk, src + h * 16);
                        else
                            v = _mm512_mask_i32gather_ps(
                                zero, mk,
                                _mm512_mullo_epi32(_mm512_srli_epi32(lane2, 1),
                                                   _mm512_set1_epi32((int)a->sw)),
                                src + h * 16 * a->sw, 4);
                        _mm512_mask_storeu_ps(o + h * 16, mk, v);
                    }
                }
            }
    }
}
#endif

void nn_pack_im2col(const void *arg, int64_t n0, int ncols, float *panel)
{
    const nn_im2col *a = arg;
    im2col_seg seg[NN_GEMM_NR];
    int nseg = im2col_segments(a, n0, ncols, seg);
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        pack_im2col_avx512(a, seg, nseg, panel);
        return;
    }
#endif
    pack_im2col_c(a, seg, nseg, panel);
}

bool nn_gemm_packed(const nn_node *n, int64_t M, int64_t N, int64_t K, const float *Ap,
                    nn_pack_b_fn pack, const void *arg, float *C, int64_t ldc, const float *bias,
                    float *panel)
{
#if defined(__x86_64__)
    if (!nn_cpu_features().avx512 ||
        (n->act != NN_ACT_NONE && n->act != NN_ACT_RELU && n->act != NN_ACT_PRELU &&
         n->act != NN_ACT_LEAKY && n->act != NN_ACT_CLIP))
        return false;
    epi e = {n->act, n->act_a, n->act_b};
    for (int64_t n0 = 0; n0 < N; n0 += NN_GEMM_NR) {
        int ncols = N - n0 < NN_GEMM_NR ? (int)(N - n0) : NN_GEMM_NR;
        pack(arg, n0, ncols, panel);
        gemm_panel_avx512(M, K, Ap, panel, C + n0, ldc, ncols, bias, &e, n->act_slope,
                          n->act_slope_n);
    }
    return true;
#else
    (void)n, (void)M, (void)N, (void)K, (void)Ap, (void)pack, (void)arg, (void)C, (void)ldc,
        (void)bias, (void)panel;
    return false;
#endif
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

bool nn_unary_fast(nn_unary kind, const float *x, float *y, int64_t n)
{
#if defined(__x86_64__)
    if (nn_cpu_features().avx512) {
        unary_avx512(kind, x, y, n);
        return true;
    }
#endif
    (void)kind, (void)x, (void)y, (void)n;
    return false;
}
