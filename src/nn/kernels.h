/*
 * kernels.h — what the kernel files (kernels.c, gemm.c) share privately: the
 * fused epilogue's parameters and its scalar form.
 */
#ifndef RC_NN_KERNELS_H
#define RC_NN_KERNELS_H

#include <math.h>

#include "nn_internal.h"

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

#endif
