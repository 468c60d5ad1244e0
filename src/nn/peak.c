/*
 * peak.c — the core's ceiling for each number type the engine computes in:
 * the multiply-adds per second of the widest multiply-add instruction its
 * kernels use here (fp32 FMA, int8 VPDPBUSD, bf16 VDPBF16PS), in twelve
 * independent chains held in registers, so nothing but the execution units
 * limits it. `rollcall bench models` prints it beside each model's and
 * node's rate, which says how far a kernel is from what the core can do.
 */
#include "nn.h"
#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Twelve chains: enough to cover a 4-5 cycle latency on two pipes. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* One loop per instruction: twelve chains a += b * c, each from its own
 * start, written as inline assembly so that the compiler neither merges
 * chains nor adds register copies (it did both with the intrinsics), b and
 * c opaque to it each iteration, every chain folded into the result. *macs
 * is the multiply-adds done. */
#define PEAK_FN(NAME, TARGET, VEC, B, C, INIT, STEP, FOLD, LANES)                                  \
    __attribute__((target(TARGET), noinline)) static double NAME(int64_t iters, int64_t *macs)     \
    {                                                                                              \
        VEC b = B, c = C;                                                                          \
        CHAINS(INIT)                                                                               \
        for (int64_t i = 0; i < iters; i++) {                                                      \
            __asm__ volatile("" : "+v"(b), "+v"(c));                                               \
            CHAINS(STEP)                                                                           \
        }                                                                                          \
        *macs = iters * 12 * (LANES);                                                              \
        double sum = 0;                                                                            \
        CHAINS(FOLD)                                                                               \
        return sum;                                                                                \
    }

#define INIT_PS512(k) __m512 a##k = _mm512_set1_ps(1.0f + (k));
#define FMA_PS512(k)  __asm__("vfmadd231ps %2, %1, %0" : "+v"(a##k) : "v"(b), "v"(c));
#define FOLD_PS512(k) sum += _mm512_cvtss_f32(a##k);
PEAK_FN(f32_512, "avx512f", __m512, _mm512_set1_ps(0.999f), _mm512_set1_ps(1e-3f), INIT_PS512,
        FMA_PS512, FOLD_PS512, 16)

#define INIT_PS256(k) __m256 a##k = _mm256_set1_ps(1.0f + (k));
#define FMA_PS256(k)  __asm__("vfmadd231ps %2, %1, %0" : "+v"(a##k) : "v"(b), "v"(c));
#define FOLD_PS256(k) sum += _mm256_cvtss_f32(a##k);
PEAK_FN(f32_256, "avx2,fma", __m256, _mm256_set1_ps(0.999f), _mm256_set1_ps(1e-3f), INIT_PS256,
        FMA_PS256, FOLD_PS256, 8)

/* VPDPBUSD: four u8 x s8 products a lane */
#define INIT_EPI512(k) __m512i a##k = _mm512_set1_epi32(k);
#define DP_EPI512(k)   __asm__("vpdpbusd %2, %1, %0" : "+v"(a##k) : "v"(b), "v"(c));
#define FOLD_EPI512(k) sum += _mm_cvtsi128_si32(_mm512_castsi512_si128(a##k));
PEAK_FN(i8_512, "avx512f,avx512vnni", __m512i, _mm512_set1_epi8(3), _mm512_set1_epi8(-2),
        INIT_EPI512, DP_EPI512, FOLD_EPI512, 64)

#define INIT_EPI256(k) __m256i a##k = _mm256_set1_epi32(k);
#define DP_EPI256(k)   __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+v"(a##k) : "v"(b), "v"(c));
#define FOLD_EPI256(k) sum += _mm_cvtsi128_si32(_mm256_castsi256_si128(a##k));
PEAK_FN(i8_256, "avx2,avxvnni", __m256i, _mm256_set1_epi8(3), _mm256_set1_epi8(-2), INIT_EPI256,
        DP_EPI256, FOLD_EPI256, 32)

/* VDPBF16PS: two bf16 products a lane; 0.001 in every half keeps the sums
 * small and finite */
#define INIT_BF512(k) __m512 a##k = _mm512_set1_ps(1.0f + (k));
#define DP_BF512(k)   __asm__("vdpbf16ps %2, %1, %0" : "+v"(a##k) : "v"(b), "v"(c));
#define FOLD_BF512(k) sum += _mm512_cvtss_f32(a##k);
PEAK_FN(bf16_512, "avx512f,avx512bw,avx512bf16", __m512bh, (__m512bh)_mm512_set1_epi16(0x3a83),
        (__m512bh)_mm512_set1_epi16(0x3a83), INIT_BF512, DP_BF512, FOLD_BF512, 32)
#endif

double nn_peak_gmacs(nn_peak_kind kind, double ms, const char **instr)
{
    *instr = NULL;
#if defined(__x86_64__)
    nn_cpu cpu = nn_cpu_features();
    double (*loop)(int64_t, int64_t *) = NULL;
    switch (kind) {
    case NN_PEAK_F32:
        loop = cpu.avx512 ? f32_512 : cpu.avx2 ? f32_256 : NULL;
        *instr = cpu.avx512 ? "AVX-512 FMA" : cpu.avx2 ? "AVX2 FMA" : NULL;
        break;
    case NN_PEAK_INT8:
        loop = cpu.vnni512 ? i8_512 : cpu.avxvnni ? i8_256 : NULL;
        *instr = cpu.vnni512 ? "AVX-512 VNNI" : cpu.avxvnni ? "AVX-VNNI" : NULL;
        break;
    case NN_PEAK_BF16:
        loop = cpu.bf16 ? bf16_512 : NULL;
        *instr = cpu.bf16 ? "AVX-512 BF16" : NULL;
        break;
    }
    if (!loop) return 0;
    /* grow the loop until it takes ms; the best of three such rounds */
    int64_t iters = 1 << 12, macs = 0;
    double best = 0;
    volatile double sink = 0;
    for (int round = 0; round < 3; round++) {
        for (;;) {
            double t0 = rc_thread_cpu_ms();
            sink += loop(iters, &macs);
            double t = rc_thread_cpu_ms() - t0;
            if (t >= ms / 3 || iters > ((int64_t)1 << 40)) {
                if (t > 0 && macs / (t * 1e6) > best) best = macs / (t * 1e6);
                break;
            }
            iters *= 2;
        }
    }
    (void)sink;
    return best;
#else
    (void)kind, (void)ms;
    return 0;
#endif
}
