/*
 * nn_test_model.h — what the engine's tests on small in-memory models
 * share (test_nn_int8.c, test_nn_bf16.c): a seeded random float in
 * [-1, 1), loading a model built with onnx_build.h (its output named "y"),
 * and a run's output 0 copied out. Header-only (static functions), included
 * once per test program after cmocka.h and onnx_build.h; the program
 * defines NN_TEST_SEED and NN_TEST_MODEL (the model's name) first.
 */
#ifndef RC_TESTS_NN_TEST_MODEL_H
#define RC_TESTS_NN_TEST_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

static uint32_t seed = NN_TEST_SEED;
static float frand(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)(seed >> 8) / (float)(1 << 24) * 2.0f - 1.0f;
}

static nn_model *load(const ob_value *v, int nv, const ob_node *nodes, int nn)
{
    static const char *const outs[] = {"y"};
    size_t len;
    uint8_t *buf = ob_build(v, nv, nodes, nn, outs, 1, 13, &len);
    nn_model *m = NULL;
    rc_error err = {0};
    if (nn_model_load_memory(buf, len, NN_TEST_MODEL, &m, &err) != RC_OK)
        fprintf(stderr, "load: %s\n", err.msg);
    free(buf);
    assert_non_null(m);
    return m;
}

/* Run output 0 of m on x; a copy the caller frees, its element count in *n. */
static float *run(nn_session *s, const float *x, const int64_t *xd, int64_t *n)
{
    nn_shape xs = {.ndim = 4, .d = {xd[0], xd[1], xd[2], xd[3]}};
    rc_error err = {0};
    const float *in[1] = {x};
    rc_status st = nn_session_run(s, in, &xs, &err);
    if (st != RC_OK) fprintf(stderr, "run: %s\n", err.msg);
    assert_int_equal(st, RC_OK);
    nn_shape os;
    const float *o = nn_session_output(s, 0, &os);
    *n = 1;
    for (int i = 0; i < os.ndim; i++) *n *= os.d[i];
    float *copy = malloc((size_t)*n * sizeof(float));
    memcpy(copy, o, (size_t)*n * sizeof(float));
    return copy;
}

#endif
