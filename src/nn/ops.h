/*
 * ops.h — the operator tables each ops_*.c file contributes (terminated by
 * an entry with a NULL name) and helpers shared between operator files.
 */
#ifndef RC_NN_OPS_H
#define RC_NN_OPS_H

#include "nn_internal.h"

extern const nn_op_def nn_ops_elem[];   /* element-wise: activations, arithmetic, Cast */
extern const nn_op_def nn_ops_tensor[]; /* shape and data movement */
extern const nn_op_def nn_ops_nn[];     /* Conv, pooling, Gemm, normalisation, Softmax */

/* Normalise an axis in [-rank, rank) to [0, rank); -1 when out of range. */
static inline int nn_axis(int64_t axis, int rank)
{
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank ? (int)axis : -1;
}

/* Input i as a constant integer list (for shape-like inputs); NULL if the
 * data is not known at plan time. */
static inline const int64_t *nn_in_ints(const nn_ctx *c, int i, int64_t *count)
{
    if (i >= c->nin || !c->in[i] || !c->in[i]->data || c->in[i]->type != NN_I64) return NULL;
    *count = nn_shape_count(&c->in[i]->shape);
    return c->in[i]->data;
}

#endif
