/*
 * test_nn_band.c — row bands (src/nn/band.c): a 1x1 convolution and the
 * depthwise 3x3 stride-2 convolution after it run as one step, a few output
 * rows at a time. The outputs must be bit for bit those of the two run one
 * after the other (memcmp), on models built in memory with awkward shapes
 * (odd heights and widths, planes of one and two rows, widths that are not
 * a multiple of 16, channels that are not a multiple of 16 or 8, a bottom
 * pad the plane does not need) in every form the 1x1 takes (float, int8,
 * bf16), band heights from one row to the whole plane; and on the three
 * networks of the face pipeline that have such a pair (fr_detect in float,
 * fr_feature in int8, fr_liveness in bf16, and each in float), where the
 * test also checks the pairs that were banded by name. Where the CPU lacks
 * AVX-512 nothing is banded and the count checks say so ("# SKIP" lines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/nn.h"
#include "onnx_build.h"

#define NN_TEST_SEED  23
#define NN_TEST_MODEL "band.onnx"
#include "nn_test_model.h"

/* Whether the engine bands on this CPU: it does on the AVX-512 path only. */
static bool bands_here(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *cap = getenv("ROLLCALL_NN_CPU");
    return __builtin_cpu_supports("avx512f") && !(cap && *cap);
#else
    return false;
#endif
}

typedef enum { FORM_FLOAT, FORM_INT8, FORM_BF16 } form;

typedef struct {
    int64_t C, M, H, W, pb, pr; /* the depthwise conv's bottom and right pads */
    form f;
    bool banded; /* expected to band (on an AVX-512 CPU; without AVX-512 BF16
                  * the bf16 cases band in float through the packed GEMM) */
    bool big;    /* and with bands sized for L2 (past the budget) */
    const char *what;
} pair_case;

/* x -> Conv 1x1 (C -> M, bias) -> Relu -> Conv depthwise 3x3 stride 2
 * (pads 1, 1, pb, pr, bias) -> PRelu (a slope per channel) -> y. */
static nn_model *pair_model(const pair_case *pc)
{
    int64_t C = pc->C, M = pc->M;
    float *w1 = malloc((size_t)(M * C) * sizeof(float)), *b1 = malloc((size_t)M * sizeof(float));
    float *w2 = malloc((size_t)(M * 9) * sizeof(float)), *b2 = malloc((size_t)M * sizeof(float));
    float *sl = malloc((size_t)M * sizeof(float));
    for (int64_t i = 0; i < M * C; i++) w1[i] = frand() * 0.5f;
    for (int64_t i = 0; i < M * 9; i++) w2[i] = frand() * 0.5f;
    for (int64_t i = 0; i < M; i++) {
        b1[i] = frand() * 0.2f;
        b2[i] = frand() * 0.2f;
        sl[i] = frand() * 0.3f;
    }
    ob_value v[] = {
        {.name = "x", .ndim = 4, .dims = {1, C, -1, -1}},
        {.name = "w1", .ndim = 4, .dims = {M, C, 1, 1}, .data = w1},
        {.name = "b1", .ndim = 1, .dims = {M}, .data = b1},
        {.name = "w2", .ndim = 4, .dims = {M, 1, 3, 3}, .data = w2},
        {.name = "b2", .ndim = 1, .dims = {M}, .data = b2},
        {.name = "sl", .ndim = 3, .dims = {M, 1, 1}, .data = sl},
    };
    static const int64_t one[] = {1, 1}, two[] = {2, 2}, k3[] = {3, 3};
    int64_t pads[4] = {1, 1, pc->pb, pc->pr};
    ob_node nodes[] = {
        {"Conv", {"x", "w1", "b1"}, {"t"}, {{"kernel_shape", 7, .ints = one, .n = 2}}},
        {.op = "Relu", .in = {"t"}, .out = {"r"}},
        {"Conv",
         {"r", "w2", "b2"},
         {"d"},
         {{"kernel_shape", 7, .ints = k3, .n = 2},
          {"strides", 7, .ints = two, .n = 2},
          {"pads", 7, .ints = pads, .n = 4},
          {"group", 2, .i = M}}},
        {.op = "PRelu", .in = {"d", "sl"}, .out = {"y"}},
    };
    nn_model *m = load(v, 6, nodes, 4);
    free(w1);
    free(b1);
    free(w2);
    free(b2);
    free(sl);
    rc_error err = {0};
    int count = -1;
    if (pc->f == FORM_INT8) {
        /* dynamic ranges: the whole input's, found before any band runs */
        assert_int_equal(nn_model_quantize(m, NULL, 0, &count, &err), RC_OK);
        assert_int_equal(count, 1);
    } else if (pc->f == FORM_BF16) {
        assert_int_equal(nn_model_bf16(m, 0, &count, &err), RC_OK);
        assert_int_equal(count, 1);
    }
    return m;
}

/* A random input for pc (values in [-2, 2)), its shape in xd. */
static float *case_input(const pair_case *pc, int64_t *xd)
{
    int64_t count = pc->C * pc->H * pc->W;
    xd[0] = 1;
    xd[1] = pc->C;
    xd[2] = pc->H;
    xd[3] = pc->W;
    float *x = malloc((size_t)count * sizeof(float));
    for (int64_t i = 0; i < count; i++) x[i] = frand() * 2.0f;
    return x;
}

/* The model's outputs with bands off, then with `band`; both copied. */
static void run_both(nn_session *s, const float *x, const int64_t *xd, int band, float **off,
                     float **on, int64_t *n)
{
    int64_t n2;
    nn_session_set_band(s, 0);
    *off = run(s, x, xd, n);
    assert_int_equal(nn_session_band_count(s, NULL, 0), 0);
    nn_session_set_band(s, band);
    *on = run(s, x, xd, &n2);
    assert_int_equal(*n, n2);
}

/* m's output on x with bands off and with each of the band heights: the
 * same bytes, and `want` chains banded (named `names`; want -1: the L2
 * budget's choice, not checked, when the height is NN_BAND_AUTO). */
static void check_bands(nn_model *m, const float *x, const int64_t *xd, int want_auto, int want,
                        const char *names_want, const char *what)
{
    static const int bands[] = {1, 2, 3, 7, 1000, NN_BAND_AUTO};
    nn_session *s;
    rc_error err = {0};
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    for (size_t bi = 0; bi < sizeof bands / sizeof bands[0]; bi++) {
        float *off, *on;
        int64_t n;
        run_both(s, x, xd, bands[bi], &off, &on, &n);
        char names[256];
        int got = nn_session_band_count(s, names, sizeof names);
        int w = bands[bi] == NN_BAND_AUTO ? want_auto : want;
        if ((w >= 0 && got != w) || memcmp(off, on, (size_t)n * sizeof(float)) != 0) {
            int64_t first = -1;
            for (int64_t i = 0; i < n && first < 0; i++)
                if (memcmp(&off[i], &on[i], sizeof(float)) != 0) first = i;
            fprintf(stderr, "%s, band %d: %d banded (%s; want %d), first difference at %lld\n",
                    what, bands[bi], got, names, w, (long long)first);
        }
        if (w >= 0) assert_int_equal(got, w);
        if (w > 0) assert_string_equal(names, names_want);
        assert_memory_equal(off, on, (size_t)n * sizeof(float));
        free(off);
        free(on);
    }
    nn_session_free(s);
}

static void test_band_pairs_bit_exact(void **state)
{
    (void)state;
    static const pair_case cases[] = {
        {16, 32, 37, 45, 1, 1, FORM_FLOAT, true, false, "odd H and W, the detector's channels"},
        {16, 32, 38, 160, 1, 1, FORM_FLOAT, true, true, "even H, rows of ten 16-pixel blocks"},
        {5, 13, 1, 80, 1, 1, FORM_FLOAT, true, false, "a one-row plane"},
        {7, 24, 2, 66, 1, 1, FORM_FLOAT, true, false, "a two-row plane"},
        {3, 20, 33, 34, 2, 0, FORM_FLOAT, true, false, "a bottom pad of 2, no right pad"},
        {24, 11, 19, 51, 1, 1, FORM_FLOAT, true, false, "C between 16 and 32, M under 16"},
        {40, 72, 29, 35, 1, 1, FORM_INT8, true, true, "int8: C not a multiple of 16, M of 8"},
        {64, 128, 21, 56, 1, 1, FORM_INT8, true, true, "int8: the embedding's channels"},
        {34, 50, 23, 47, 1, 1, FORM_BF16, true, false, "bf16: odd planes, M not a multiple of 8"},
        {32, 103, 17, 64, 1, 1, FORM_BF16, true, true, "bf16: the liveness model's channels"},
        {40, 72, 13, 35, 1, 1, FORM_FLOAT, true, false, "float C > 32: the packed GEMM"},
        {64, 128, 21, 56, 1, 1, FORM_FLOAT, true, true, "float: the embedding's channels"},
        {32, 103, 17, 64, 1, 1, FORM_FLOAT, true, true, "float: the liveness model's channels"},
        {16, 32, 9, 30, 1, 1, FORM_FLOAT, false, false, "W 30: the narrow kernel, not banded"},
    };
    bool here = bands_here();
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const pair_case *pc = &cases[ci];
        nn_model *m = pair_model(pc);
        int64_t xd[4];
        float *x = case_input(pc, xd);
        /* the L2 budget bands only the large planes */
        int want = here && pc->banded ? 1 : 0;
        check_bands(m, x, xd, want && pc->big ? 1 : 0, want, "n0+n2", pc->what);
        free(x);
        nn_model_free(m);
    }
    if (!here) printf("# SKIP no AVX-512 here (or ROLLCALL_NN_CPU caps it): nothing banded\n");
}

typedef struct {
    int64_t Cin, C, M, H, W; /* x: Cin x H x W; the chain's middle: C, then M channels */
    bool conv3;              /* the first level: a 3x3 stride-2 conv (else a 1x1) */
    form f;                  /* the 1x1s' form */
    const char *names;       /* the chain banded (on an AVX-512 CPU) */
    const char *what;
} chain_case;

/* x -> first (3x3 stride 2 pads 1, or 1x1; Cin -> C) -> Relu -> depthwise
 * 3x3 stride 1 (pads 1) -> Relu -> 1x1 (C -> M) -> Clip(0, 6) -> depthwise
 * 3x3 stride 2 (pads 1) -> y: fr_detect's and fr_liveness's front. */
static nn_model *chain_model(const chain_case *cc)
{
    int64_t Cin = cc->Cin, C = cc->C, M = cc->M, k0 = cc->conv3 ? 3 : 1;
    int64_t nw[5] = {C * Cin * k0 * k0, C * 9, M * C, M * 9, 0};
    float *w[4], *b[4];
    for (int i = 0; i < 4; i++) {
        w[i] = malloc((size_t)nw[i] * sizeof(float));
        b[i] = malloc((size_t)(i < 2 ? C : M) * sizeof(float));
        for (int64_t j = 0; j < nw[i]; j++) w[i][j] = frand() * 0.5f;
        for (int64_t j = 0; j < (i < 2 ? C : M); j++) b[i][j] = frand() * 0.2f;
    }
    static const float lo = 0.0f, hi = 6.0f;
    ob_value v[] = {
        {.name = "x", .ndim = 4, .dims = {1, Cin, -1, -1}},
        {.name = "w0", .ndim = 4, .dims = {C, Cin, k0, k0}, .data = w[0]},
        {.name = "b0", .ndim = 1, .dims = {C}, .data = b[0]},
        {.name = "w1", .ndim = 4, .dims = {C, 1, 3, 3}, .data = w[1]},
        {.name = "b1", .ndim = 1, .dims = {C}, .data = b[1]},
        {.name = "w2", .ndim = 4, .dims = {M, C, 1, 1}, .data = w[2]},
        {.name = "b2", .ndim = 1, .dims = {M}, .data = b[2]},
        {.name = "w3", .ndim = 4, .dims = {M, 1, 3, 3}, .data = w[3]},
        {.name = "b3", .ndim = 1, .dims = {M}, .data = b[3]},
        {.name = "lo", .ndim = 0, .data = &lo},
        {.name = "hi", .ndim = 0, .data = &hi},
    };
    static const int64_t one[] = {1, 1}, two[] = {2, 2}, k3[] = {3, 3}, p1[] = {1, 1, 1, 1};
    ob_node first3 = {"Conv",
                      {"x", "w0", "b0"},
                      {"t0"},
                      {{"kernel_shape", 7, .ints = k3, .n = 2},
                       {"strides", 7, .ints = two, .n = 2},
                       {"pads", 7, .ints = p1, .n = 4}}};
    ob_node first1 = {
        "Conv", {"x", "w0", "b0"}, {"t0"}, {{"kernel_shape", 7, .ints = one, .n = 2}}};
    ob_node nodes[] = {
        cc->conv3 ? first3 : first1,
        {.op = "Relu", .in = {"t0"}, .out = {"r0"}},
        {"Conv",
         {"r0", "w1", "b1"},
         {"t1"},
         {{"kernel_shape", 7, .ints = k3, .n = 2},
          {"pads", 7, .ints = p1, .n = 4},
          {"group", 2, .i = C}}},
        {.op = "Relu", .in = {"t1"}, .out = {"r1"}},
        {"Conv", {"r1", "w2", "b2"}, {"t2"}, {{"kernel_shape", 7, .ints = one, .n = 2}}},
        {.op = "Clip", .in = {"t2", "lo", "hi"}, .out = {"r2"}},
        {"Conv",
         {"r2", "w3", "b3"},
         {"y"},
         {{"kernel_shape", 7, .ints = k3, .n = 2},
          {"strides", 7, .ints = two, .n = 2},
          {"pads", 7, .ints = p1, .n = 4},
          {"group", 2, .i = M}}},
    };
    nn_model *m = load(v, 11, nodes, 7);
    for (int i = 0; i < 4; i++) {
        free(w[i]);
        free(b[i]);
    }
    rc_error err = {0};
    if (cc->f == FORM_INT8)
        assert_int_equal(nn_model_quantize(m, NULL, 0, NULL, &err), RC_OK);
    else if (cc->f == FORM_BF16)
        assert_int_equal(nn_model_bf16(m, 0, NULL, &err), RC_OK);
    return m;
}

static void test_band_chains_bit_exact(void **state)
{
    (void)state;
    static const chain_case cases[] = {
        {3, 16, 32, 45, 96, true, FORM_FLOAT, "n0+n2+n4+n6", "3x3 first, odd H, W 48 after it"},
        {3, 16, 32, 240, 320, true, FORM_FLOAT, "n0+n2+n4+n6", "fr_detect's front"},
        {3, 32, 103, 37, 128, true, FORM_BF16, "n0+n2+n4+n6", "bf16 1x1, fr_liveness's front"},
        {5, 16, 24, 2, 96, true, FORM_FLOAT, "n0+n2+n4+n6", "a 3x3 into one row"},
        {16, 32, 40, 21, 80, false, FORM_FLOAT, "n0+n2+n4+n6", "1x1 first, 21 rows"},
        {48, 40, 72, 17, 48, false, FORM_FLOAT, "n0+n2+n4+n6", "1x1s in the packed GEMM"},
        {40, 64, 80, 13, 64, false, FORM_INT8, "n4+n6",
         "int8 1x1s: the second needs its whole input, only the pair"},
        {3, 16, 32, 30, 100, true, FORM_FLOAT, "n4+n6", "W 50 after the 3x3: not whole blocks"},
    };
    bool here = bands_here();
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const chain_case *cc = &cases[ci];
        nn_model *m = chain_model(cc);
        pair_case shape = {.C = cc->Cin, .H = cc->H, .W = cc->W};
        int64_t xd[4];
        float *x = case_input(&shape, xd);
        check_bands(m, x, xd, -1, here ? 1 : 0, cc->names, cc->what);
        free(x);
        nn_model_free(m);
    }
}

/* The multiply-adds of node `name` (nn_session_node_macs); -1 when there is
 * no live node of that name. */
static int64_t macs_of(const nn_model *m, const nn_session *s, const char *name)
{
    for (int i = 0; i < nn_model_num_nodes(m); i++) {
        const char *nm, *op;
        double ms;
        if (nn_session_profile_report(s, i, &nm, &op, &ms, NULL, NULL) && strcmp(nm, name) == 0)
            return nn_session_node_macs(s, i);
    }
    return -1;
}

/* Multiply-adds per node, counted where the profile counts the time: on
 * fr_detect's front chain each node its own with bands off, the chain's sum
 * on its last node (and 0 on the others) with bands on; a fused Relu has
 * none; MatMul by the inner dimension, Gemm by its transA. */
static void test_band_node_macs(void **state)
{
    (void)state;
    chain_case cc = {3, 16, 32, 240, 320, true, FORM_FLOAT, "n0+n2+n4+n6", "macs"};
    nn_model *m = chain_model(&cc);
    pair_case shape = {.C = 3, .H = 240, .W = 320};
    int64_t xd[4], n;
    float *x = case_input(&shape, xd);
    nn_session *s;
    rc_error err = {0};
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    assert_int_equal(nn_session_profile(s, 1, &err), RC_OK);
    /* 3x3 stride 2, 3 -> 16 on 120x160; depthwise 16; 1x1 16 -> 32;
     * depthwise stride 2, 32 on 60x80 */
    const int64_t own[4] = {16LL * 120 * 160 * 27, 16LL * 120 * 160 * 9, 32LL * 120 * 160 * 16,
                            32LL * 60 * 80 * 9};
    const char *names[4] = {"n0", "n2", "n4", "n6"};
    for (int band = 0; band < 2; band++) {
        nn_session_set_band(s, band ? NN_BAND_AUTO : 0);
        free(run(s, x, xd, &n));
        bool chained = band && bands_here();
        assert_int_equal(nn_session_band_count(s, NULL, 0), chained ? 1 : 0);
        for (int k = 0; k < 4; k++) {
            int64_t want = !chained ? own[k] : k < 3 ? 0 : own[0] + own[1] + own[2] + own[3];
            assert_int_equal(macs_of(m, s, names[k]), want);
        }
        assert_int_equal(macs_of(m, s, "n1"), -1); /* the Relu, fused into n0 */
    }
    nn_session_free(s);
    nn_model_free(m);
    free(x);

    /* x [1, 2, 3, 8] MatMul w [8, 5]: 30 outputs of 8 */
    float w[40];
    for (int i = 0; i < 40; i++) w[i] = frand();
    ob_value mv[] = {{.name = "x", .ndim = 4, .dims = {1, 2, 3, 8}},
                     {.name = "w", .ndim = 2, .dims = {8, 5}, .data = w}};
    ob_node mn[] = {{.op = "MatMul", .in = {"x", "w"}, .out = {"y"}}};
    m = load(mv, 2, mn, 1);
    int64_t md[4] = {1, 2, 3, 8};
    float xm[48];
    for (int i = 0; i < 48; i++) xm[i] = frand();
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    assert_int_equal(nn_session_profile(s, 1, &err), RC_OK);
    free(run(s, xm, md, &n));
    assert_int_equal(macs_of(m, s, "n0"), 30 * 8);
    nn_session_free(s);
    nn_model_free(m);

    /* Flatten(x [1, 8, 1, 1]) = [1, 8], transposed: [8, 1] x w [1, 4], 32
     * outputs of 1 (8 each if transA were ignored) */
    ob_value gv[] = {{.name = "x", .ndim = 4, .dims = {1, 8, 1, 1}},
                     {.name = "w", .ndim = 2, .dims = {1, 4}, .data = w}};
    ob_node gn[] = {{.op = "Flatten", .in = {"x"}, .out = {"f"}},
                    {"Gemm", {"f", "w"}, {"y"}, {{"transA", 2, .i = 1}}}};
    m = load(gv, 2, gn, 2);
    int64_t gd[4] = {1, 8, 1, 1};
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    assert_int_equal(nn_session_profile(s, 1, &err), RC_OK);
    free(run(s, xm, gd, &n));
    assert_int_equal(n, 32);
    assert_int_equal(macs_of(m, s, "n1"), 32);
    assert_int_equal(macs_of(m, s, "n0"), 0); /* Flatten */
    nn_session_free(s);
    nn_model_free(m);
}

/* The reference path and calibration never band; the switch re-plans. */
static void test_band_not_on_reference_or_calibration(void **state)
{
    (void)state;
    pair_case pc = {16, 32, 21, 40, 1, 1, FORM_FLOAT, true, false, "reference"};
    nn_model *m = pair_model(&pc);
    int64_t xd[4], n;
    float *x = case_input(&pc, xd);
    nn_session *s;
    rc_error err = {0};
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    nn_session_set_band(s, 2);
    free(run(s, x, xd, &n));
    assert_int_equal(nn_session_band_count(s, NULL, 0), bands_here() ? 1 : 0);
    nn_session_set_reference(s, 1);
    free(run(s, x, xd, &n));
    assert_int_equal(nn_session_band_count(s, NULL, 0), 0);
    nn_session_set_reference(s, 0);
    assert_int_equal(nn_session_calibrate(s, 1, &err), RC_OK);
    free(run(s, x, xd, &n));
    assert_int_equal(nn_session_band_count(s, NULL, 0), 0);
    assert_int_equal(nn_session_calibrate(s, 0, &err), RC_OK);
    free(run(s, x, xd, &n));
    assert_int_equal(nn_session_band_count(s, NULL, 0), bands_here() ? 1 : 0);
    nn_session_free(s);
    free(x);
    nn_model_free(m);
}

/* ROLLCALL_NN_BAND: 0 turns bands off for new sessions, 1 leaves them on,
 * anything else is an error naming the variable. */
static void test_band_switch(void **state)
{
    (void)state;
    pair_case pc = {16, 32, 45, 160, 1, 1, FORM_FLOAT, true, false, "switch"};
    nn_model *m = pair_model(&pc);
    int64_t xd[4], n;
    float *x = case_input(&pc, xd);
    const char *old = getenv("ROLLCALL_NN_BAND");
    char *saved = old ? strdup(old) : NULL;
    nn_session *s;
    rc_error err = {0};
    setenv("ROLLCALL_NN_BAND", "0", 1);
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    free(run(s, x, xd, &n));
    assert_int_equal(nn_session_band_count(s, NULL, 0), 0);
    nn_session_free(s);
    setenv("ROLLCALL_NN_BAND", "1", 1);
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    free(run(s, x, xd, &n));
    /* 32 channels of 160: 20 KiB a row, the plane of 45 rows is past the
     * L2 budget and is banded */
    assert_int_equal(nn_session_band_count(s, NULL, 0), bands_here() ? 1 : 0);
    nn_session_free(s);
    setenv("ROLLCALL_NN_BAND", "yes", 1);
    assert_int_equal(nn_session_create(m, &s, &err), RC_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.msg, "ROLLCALL_NN_BAND=yes"));
    if (saved) {
        setenv("ROLLCALL_NN_BAND", saved, 1);
        free(saved);
    } else {
        unsetenv("ROLLCALL_NN_BAND");
    }
    free(x);
    nn_model_free(m);
}

/* The face networks: random input of the declared shape, every output with
 * bands off and on (sizes for L2), memcmp; the pairs banded by name. */
static void check_model(const char *file, form f, int want, const char *names_want)
{
    const char *dir = getenv("ROLLCALL_MODELS");
    assert_non_null(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    nn_model *m = NULL;
    rc_error err = {0};
    assert_int_equal(nn_model_load(path, &m, &err), RC_OK);
    if (f == FORM_INT8) {
        const char *rdir = getenv("ROLLCALL_NN_INT8_RANGES");
        assert_non_null(rdir);
        char rp[1024];
        snprintf(rp, sizeof rp, "%s/%s.int8", rdir, file);
        assert_int_equal(nn_model_quantize(m, rp, 0, NULL, &err), RC_OK);
    } else if (f == FORM_BF16) {
        assert_int_equal(nn_model_bf16(m, NN_BF16_MIN_MACS, NULL, &err), RC_OK);
    }
    nn_shape is = nn_model_input_shape(m, 0);
    int64_t xd[4] = {1, is.d[1], is.d[2], is.d[3]}, count = xd[1] * xd[2] * xd[3];
    float *x = malloc((size_t)count * sizeof(float));
    for (int64_t i = 0; i < count; i++) x[i] = frand();
    nn_session *s;
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    nn_shape shp = {.ndim = 4, .d = {xd[0], xd[1], xd[2], xd[3]}};
    const float *in[1] = {x};
    int nout = nn_model_num_outputs(m);
    float *ref[8] = {0};
    int64_t len[8] = {0};
    assert_true(nout <= 8);
    for (int pass = 0; pass < 2; pass++) {
        nn_session_set_band(s, pass ? NN_BAND_AUTO : 0);
        assert_int_equal(nn_session_run(s, in, &shp, &err), RC_OK);
        for (int o = 0; o < nout; o++) {
            nn_shape os;
            const float *y = nn_session_output(s, o, &os);
            int64_t k = 1;
            for (int d = 0; d < os.ndim; d++) k *= os.d[d];
            if (pass == 0) {
                ref[o] = malloc((size_t)k * sizeof(float));
                memcpy(ref[o], y, (size_t)k * sizeof(float));
                len[o] = k;
            } else {
                assert_int_equal(k, len[o]);
                if (memcmp(ref[o], y, (size_t)k * sizeof(float)) != 0)
                    fprintf(stderr, "%s: output %d differs with row bands\n", file, o);
                assert_memory_equal(ref[o], y, (size_t)k * sizeof(float));
            }
        }
    }
    char names[256];
    int got = nn_session_band_count(s, names, sizeof names);
    if (!bands_here()) {
        want = 0;
        printf("# SKIP %s: no AVX-512 here (or ROLLCALL_NN_CPU caps it): nothing banded\n", file);
    }
    if (got != want) fprintf(stderr, "%s: %d pairs banded (%s), want %d\n", file, got, names, want);
    assert_int_equal(got, want);
    if (want) assert_string_equal(names, names_want);
    for (int o = 0; o < nout; o++) free(ref[o]);
    nn_session_free(s);
    free(x);
    nn_model_free(m);
}

static void test_band_detect(void **state)
{
    (void)state;
    check_model("fr_detect.onnx", FORM_FLOAT, 2,
                "Conv_0+Conv_2+Conv_4+Conv_6 Conv_8+Conv_10+Conv_12+Conv_14");
}

static void test_band_feature(void **state)
{
    (void)state;
    check_model("fr_feature.onnx", FORM_INT8, 1, "Conv_4+Conv_6");
    /* float: the 64 -> 128 1x1 takes the packed GEMM */
    check_model("fr_feature.onnx", FORM_FLOAT, 1, "Conv_4+Conv_6");
}

static void test_band_liveness(void **state)
{
    (void)state;
    /* without AVX-512 BF16 the 1x1 runs in float, banded the same; the
     * 64x64 planes before the pair stay whole (they fit L2) */
    check_model("fr_liveness.onnx", FORM_BF16, 1, "Conv_4+Conv_6");
    check_model("fr_liveness.onnx", FORM_FLOAT, 1, "Conv_4+Conv_6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_pairs_bit_exact),
        cmocka_unit_test(test_band_chains_bit_exact),
        cmocka_unit_test(test_band_not_on_reference_or_calibration),
        cmocka_unit_test(test_band_node_macs),
        cmocka_unit_test(test_band_switch),
        cmocka_unit_test(test_band_detect),
        cmocka_unit_test(test_band_feature),
        cmocka_unit_test(test_band_liveness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
