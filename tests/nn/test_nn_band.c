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
    __builtin_cpu_init();
    const char *cap = getenv("ROLLCALL_NN_CPU");
    return __builtin_cpu_supports("avx512f") && !(cap && *cap);
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
    static const int bands[] = {1, 2, 3, 7, 1000, NN_BAND_AUTO};
    bool here = bands_here();
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const pair_case *pc = &cases[ci];
        nn_model *m = pair_model(pc);
        int64_t xd[4];
        float *x = case_input(pc, xd);
        nn_session *s;
        rc_error err = {0};
        assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
        for (size_t bi = 0; bi < sizeof bands / sizeof bands[0]; bi++) {
            float *off, *on;
            int64_t n;
            run_both(s, x, xd, bands[bi], &off, &on, &n);
            char names[256];
            int got = nn_session_band_count(s, names, sizeof names);
            /* the L2 budget bands only the large plane */
            int want = here && pc->banded && (bands[bi] != NN_BAND_AUTO || pc->big) ? 1 : 0;
            if (got != want || memcmp(off, on, (size_t)n * sizeof(float)) != 0) {
                int64_t first = -1;
                for (int64_t i = 0; i < n && first < 0; i++)
                    if (memcmp(&off[i], &on[i], sizeof(float)) != 0) first = i;
                fprintf(stderr,
                        "%s, band %d: %d pairs banded (want %d), first difference at %lld\n",
                        pc->what, bands[bi], got, want, (long long)first);
            }
            assert_int_equal(got, want);
            if (want) assert_string_equal(names, "n0+n2");
            assert_memory_equal(off, on, (size_t)n * sizeof(float));
            free(off);
            free(on);
        }
        nn_session_free(s);
        free(x);
        nn_model_free(m);
    }
    if (!here) printf("# SKIP no AVX-512 here (or ROLLCALL_NN_CPU caps it): nothing banded\n");
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
    check_model("fr_detect.onnx", FORM_FLOAT, 2, "Conv_4+Conv_6 Conv_12+Conv_14");
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
    bool bf = nn_bf16_available();
    check_model("fr_liveness.onnx", FORM_BF16, bf ? 1 : 0, "Conv_4+Conv_6");
    if (!bf) printf("# SKIP fr_liveness bf16: no AVX-512 BF16 here, the 1x1 runs in float\n");
    check_model("fr_liveness.onnx", FORM_FLOAT, 1, "Conv_4+Conv_6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_pairs_bit_exact),
        cmocka_unit_test(test_band_not_on_reference_or_calibration),
        cmocka_unit_test(test_band_switch),
        cmocka_unit_test(test_band_detect),
        cmocka_unit_test(test_band_feature),
        cmocka_unit_test(test_band_liveness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
