/*
 * test_nn_int8.c — int8 convolutions (src/nn/quant.c) on small models built
 * in memory: the packed kernels (AVX-512 VNNI, AVX-VNNI under
 * ROLLCALL_NN_CPU=avx2, the portable panel loop under =generic) against the
 * int8 reference path bit for bit on edge shapes (channels not a multiple of
 * 4, output channels not a multiple of 8, panels of fewer than 32 pixels,
 * strides, dilations, pads, a fused residual, a folded BatchNormalization,
 * every activation the epilogue covers); int8 against float within the
 * quantisation error; calibration written and read back; and the errors of
 * a bad ranges file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn/nn.h"
#include "onnx_build.h"

#define NN_TEST_SEED  7
#define NN_TEST_MODEL "int8.onnx"
#include "nn_test_model.h"

/* A temporary file name for ranges. */
static void tmp_path(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/rollcall-int8-test-%d-%u.ranges", (int)getpid(), seed);
}

/* Calibrate m on x (float), save, quantize from the file; returns the
 * number of int8 Convs. */
static int calibrate_and_quantize_flags(nn_model *m, const float *x, const int64_t *xd,
                                        unsigned flags)
{
    nn_session *s;
    rc_error err = {0};
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    assert_int_equal(nn_session_calibrate(s, 1, &err), RC_OK);
    int64_t n;
    free(run(s, x, xd, &n));
    char path[256];
    tmp_path(path, sizeof path);
    assert_int_equal(nn_session_calibration_save(s, path, "test", &err), RC_OK);
    nn_session_free(s);
    int count = -1;
    rc_status st = nn_model_quantize(m, path, flags, &count, &err);
    if (st != RC_OK) fprintf(stderr, "quantize: %s\n", err.msg);
    assert_int_equal(st, RC_OK);
    unlink(path);
    return count;
}

/* The kernel tests quantize every Conv, the model's output Convs too. */
static int calibrate_and_quantize(nn_model *m, const float *x, const int64_t *xd)
{
    return calibrate_and_quantize_flags(m, x, xd, NN_Q8_OUTPUT_CONVS);
}

/* The model's output four ways: float, int8 with the packed kernels, int8
 * reference, float again after quantizing with int8 turned off (then int8
 * with dynamic ranges, packed and reference, must equal int8). The packed
 * kernels must equal the reference exactly; int8 must be within `rel` of
 * the largest float output (quantisation error), and the float path must
 * not change. */
static void check_int8(nn_model *m, const float *x, const int64_t *xd, int want_q8, double rel,
                       const char *what)
{
    nn_session *s;
    rc_error err = {0};
    int64_t n, n2;
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    float *fl = run(s, x, xd, &n);
    nn_session_free(s);
    assert_int_equal(calibrate_and_quantize(m, x, xd), want_q8);

    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    float *fast = run(s, x, xd, &n2);
    assert_int_equal(n, n2);
    nn_session_set_reference(s, 1);
    float *ref = run(s, x, xd, &n2);
    nn_session_set_reference(s, 0);
    nn_session_set_int8(s, 0);
    float *fl2 = run(s, x, xd, &n2);
    nn_session_free(s);

    /* Dynamic ranges: each input's own range, found when the Conv runs.
     * Calibrated on this one input the fixed range is that same range, so
     * the answers are the same bit for bit (packed and reference). */
    int count = -1;
    assert_int_equal(nn_model_quantize(m, NULL, NN_Q8_OUTPUT_CONVS, &count, &err), RC_OK);
    assert_int_equal(count, want_q8);
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    float *dyn = run(s, x, xd, &n2);
    nn_session_set_reference(s, 1);
    float *dyn_ref = run(s, x, xd, &n2);
    nn_session_free(s);
    int64_t dyn_diff = 0;
    for (int64_t i = 0; i < n; i++) dyn_diff += !(dyn[i] == fast[i]) + !(dyn_ref[i] == ref[i]);
    if (dyn_diff)
        fprintf(stderr, "%s: %lld dynamic-range outputs differ\n", what, (long long)dyn_diff);
    assert_int_equal(dyn_diff, 0);
    free(dyn);
    free(dyn_ref);

    double big = 0, maxq = 0;
    int64_t mismatches = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        if (!(fast[i] == ref[i])) {
            if (first < 0) first = i;
            mismatches++;
        }
        big = fmax(big, fabs(fl[i]));
        maxq = fmax(maxq, fabs((double)fast[i] - fl[i]));
        assert_true(fl2[i] == fl[i]);
    }
    if (mismatches || maxq > rel * big || getenv("NN_TEST_VERBOSE"))
        fprintf(stderr,
                "%s: %lld of %lld differ from the reference (first %lld: %.9g vs %.9g); "
                "int8 vs float max diff %g of %g\n",
                what, (long long)mismatches, (long long)n, (long long)first,
                first >= 0 ? fast[first] : 0.0, first >= 0 ? ref[first] : 0.0, maxq, big);
    assert_int_equal(mismatches, 0);
    assert_true(maxq <= rel * big);
    assert_true(maxq > 0); /* int8 really ran */
    free(fl);
    free(fl2);
    free(fast);
    free(ref);
}

/* One Conv (+ activation) of random weights on a random input. */
static void conv_case(int C, int H, int W, int M, int K, int stride, const int64_t *pads, int dil,
                      const char *act)
{
    size_t nw = (size_t)M * C * K * K, nx = (size_t)C * H * W;
    float *w = malloc(nw * sizeof(float)), *b = malloc((size_t)M * sizeof(float));
    float *x = malloc(nx * sizeof(float)), *slope = malloc((size_t)M * sizeof(float));
    for (size_t i = 0; i < nw; i++) w[i] = frand();
    for (int i = 0; i < M; i++) b[i] = frand(), slope[i] = frand() * 0.5f;
    for (size_t i = 0; i < nx; i++) x[i] = frand() + 0.3f;
    int64_t strides[2] = {stride, stride}, dils[2] = {dil, dil};
    int64_t p4[4] = {pads[0], pads[1], pads[2], pads[3]};
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, M, C, K, K), VF("b", b, 1, M),
                    VF("s", slope, 3, M, 1, 1)};
    ob_node nodes[2] = {
        {"Conv",
         {"x", "w", "b"},
         {act ? "c" : "y"},
         {AINTS("pads", p4), AINTS("strides", strides), AINTS("dilations", dils)}},
        {act ? act : "Relu", {"c", "s"}, {"y"}, {{0}}},
    };
    if (act && strcmp(act, "PRelu") != 0) nodes[1].in[1] = NULL;
    if (act && strcmp(act, "Clip") == 0) {
        /* opset 13 Clip takes min and max as inputs */
        nodes[1].in[1] = "lo";
        nodes[1].in[2] = "hi";
    }
    static const float lo[1] = {-0.5f}, hi[1] = {6.0f};
    ob_value vc[] = {v[0], v[1], v[2], v[3], VF("lo", lo, 0, 0), VF("hi", hi, 0, 0)};
    nn_model *m = load(vc, 6, nodes, act ? 2 : 1);
    int64_t xd[4] = {1, C, H, W};
    char what[128];
    snprintf(what, sizeof what, "int8 conv C%d %dx%d M%d K%d s%d p%d,%d,%d,%d d%d %s", C, H, W, M,
             K, stride, (int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3], dil,
             act ? act : "-");
    check_int8(m, x, xd, 1, 0.03, what);
    nn_model_free(m);
    free(w);
    free(b);
    free(x);
    free(slope);
}

static void conv_case_p(int C, int H, int W, int M, int K, int stride, int pad, int dil,
                        const char *act)
{
    int64_t pads[4] = {pad, pad, pad, pad};
    conv_case(C, H, W, M, K, stride, pads, dil, act);
}

static void test_int8_kernels_vs_reference(void **state)
{
    (void)state;
    conv_case_p(3, 17, 23, 40, 3, 2, 1, 1, "Relu");       /* first layer: 3 channels, stride 2 */
    conv_case_p(64, 9, 40, 128, 1, 1, 0, 1, NULL);        /* pointwise, panels cross rows */
    conv_case_p(48, 8, 8, 24, 1, 1, 0, 1, "PRelu");       /* 64 pixels: two whole panels */
    conv_case_p(13, 7, 5, 13, 3, 1, 1, 1, "PRelu");       /* odd channels, 35 pixels */
    conv_case_p(32, 10, 11, 20, 3, 1, 2, 2, "LeakyRelu"); /* dilated */
    conv_case_p(16, 12, 40, 9, 3, 1, 0, 1, "Clip");       /* no padding, 9 output channels */
    conv_case_p(24, 13, 37, 40, 3, 2, 1, 1, NULL);        /* stride 2, odd sizes */
    conv_case_p(5, 6, 6, 9, 5, 3, 2, 1, "Relu");          /* 5x5, stride 3 */
    conv_case_p(48, 1, 1, 24, 1, 1, 0, 1, "PRelu");       /* one pixel */
    /* one output pixel (the GEMV kernels): the embedding's 512 x 512, an
     * odd number of channel groups with 36 output channels (a last pass of
     * one block), a 3x3 kernel over padding, a kernel the size of its
     * input, a stride past the rest of the input */
    conv_case_p(512, 1, 1, 512, 1, 1, 0, 1, "PRelu");
    conv_case_p(36, 1, 1, 36, 1, 1, 0, 1, "Relu");
    conv_case_p(40, 1, 1, 24, 3, 1, 1, 1, "LeakyRelu");
    conv_case_p(16, 5, 5, 40, 5, 1, 0, 1, "Clip");
    conv_case_p(64, 2, 2, 24, 1, 2, 0, 1, NULL);
    /* a last panel of at most 4 pixels (GEMVs): 14x14 is 6 panels and 4
     * pixels, read in place; 5 pixels after stride 2 are a panel again;
     * 35 pixels of a 3x3 above, 4 of a 5x5 stride 3, the 9x11 residual and
     * folded BN below: 3, 4, 3 */
    conv_case_p(256, 14, 14, 128, 1, 1, 0, 1, "PRelu");
    /* 7x7: a panel and 17 pixels (16 by the half-width kernel, 1 GEMV) */
    conv_case_p(512, 7, 7, 128, 1, 1, 0, 1, "PRelu");
    conv_case_p(24, 13, 37, 40, 3, 2, 1, 1, "Relu");
    conv_case_p(128, 4, 4, 64, 3, 1, 1, 1, "Relu"); /* 16-pixel plane */
    int64_t odd[4] = {0, 1, 2, 0};
    conv_case(16, 11, 9, 32, 3, 1, odd, 1, NULL); /* uneven pads */
}

/* A Conv with a residual Add fused (sum added in the int8 epilogue) and a
 * BatchNormalization + ReLU folded into a 1x1 Conv (applied while the
 * input is quantised). */
static void residual_and_folded_bn(int H, int W)
{
    int C = 40;
    size_t nx = (size_t)C * H * W;
    float *x = malloc(nx * sizeof(float)), *w = malloc((size_t)C * C * 9 * sizeof(float));
    float b[40], g[40], be[40], mu[40], var[40];
    for (size_t i = 0; i < nx; i++) x[i] = frand();
    for (int i = 0; i < C * C * 9; i++) w[i] = frand() * 0.2f;
    for (int i = 0; i < C; i++)
        b[i] = frand(), g[i] = frand(), be[i] = frand(), mu[i] = frand(),
        var[i] = 0.5f + fabsf(frand());
    int64_t pads[4] = {1, 1, 1, 1}, xd[4] = {1, C, H, W};
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, C, C, 3, 3), VF("b", b, 1, C)};
    ob_node res[3] = {
        {"Conv", {"x", "w", "b"}, {"c"}, {AINTS("pads", pads)}},
        {"Add", {"c", "x"}, {"a"}, {{0}}},
        {"Relu", {"a"}, {"y"}, {{0}}},
    };
    nn_model *m = load(v, 3, res, 3);
    char buf[256];
    nn_model_describe(m, buf, sizeof buf);
    assert_non_null(strstr(buf, "Conv:1")); /* the Add and the Relu are fused */
    check_int8(m, x, xd, 1, 0.03, "int8 residual");
    nn_model_free(m);

    ob_value vb[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, C, C, 1, 1), VF("b", b, 1, C),
                     VF("g", g, 1, C),      VF("be", be, 1, C),        VF("mu", mu, 1, C),
                     VF("var", var, 1, C)};
    ob_node bn[3] = {
        {"BatchNormalization", {"x", "g", "be", "mu", "var"}, {"t"}, {{0}}},
        {"Relu", {"t"}, {"n"}, {{0}}},
        {"Conv", {"n", "w", "b"}, {"y"}, {{0}}},
    };
    m = load(vb, 7, bn, 3);
    nn_model_describe(m, buf, sizeof buf);
    assert_null(strstr(buf, "BatchNormalization")); /* folded into the Conv */
    check_int8(m, x, xd, 1, 0.03, "int8 bn+relu folded");
    nn_model_free(m);
    free(x);
    free(w);
}

static void test_int8_residual_and_folded_bn(void **state)
{
    (void)state;
    residual_and_folded_bn(9, 11);
    residual_and_folded_bn(1, 1); /* one pixel: the GEMV kernels' epilogue */
    residual_and_folded_bn(7, 7); /* 32 + 16 + 1 pixels: each kernel's */
}

/* A depthwise Conv and a Conv with a fused Sigmoid stay float: listed in
 * the ranges, not quantized; so do a Conv with fewer than 1024 weights
 * (test_int8_ranges_errors) and, unless asked, the model's output Convs. */
static void test_int8_leaves_uncovered_float(void **state)
{
    (void)state;
    enum { C = 40, H = 6, W = 7 };
    float w[C * 9], wp[C * C], b[C], x[C * H * W];
    for (int i = 0; i < C * 9; i++) w[i] = frand();
    for (int i = 0; i < C * C; i++) wp[i] = frand() * 0.2f;
    for (int i = 0; i < C; i++) b[i] = frand();
    for (int i = 0; i < C * H * W; i++) x[i] = frand();
    int64_t pads[4] = {1, 1, 1, 1}, xd[4] = {1, C, H, W};
    ob_attr grp = {.name = "group", .type = 2, .i = C};
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, C, 1, 3, 3), VF("wp", wp, 4, C, C, 1, 1),
                    VF("b", b, 1, C)};
    ob_node nodes[4] = {
        {"Conv", {"x", "w", "b"}, {"d"}, {AINTS("pads", pads), grp}},
        {"Conv", {"d", "wp", "b"}, {"s"}, {{0}}},
        {"Sigmoid", {"s"}, {"t"}, {{0}}},
        {"Conv", {"t", "wp", "b"}, {"y"}, {{0}}},
    };
    nn_model *m = load(v, 4, nodes, 4);
    /* only the last pointwise Conv is covered */
    check_int8(m, x, xd, 1, 0.03, "int8 mixed");
    nn_model_free(m);

    /* By default a model's output Convs stay float: of pointwise -> Relu
     * -> pointwise only the first is int8. */
    ob_node chain[3] = {
        {"Conv", {"x", "wp", "b"}, {"c"}, {{0}}},
        {"Relu", {"c"}, {"r"}, {{0}}},
        {"Conv", {"r", "wp", "b"}, {"y"}, {{0}}},
    };
    m = load(v, 4, chain, 3);
    assert_int_equal(calibrate_and_quantize_flags(m, x, xd, 0), 1);
    nn_model_free(m);
    m = load(v, 4, chain, 3);
    assert_int_equal(calibrate_and_quantize_flags(m, x, xd, NN_Q8_OUTPUT_CONVS), 2);
    nn_model_free(m);
}

/* Inputs outside the fixed range (far below and above it, +-inf, NaN)
 * are clamped to the u8 range as q8_value does (NaN to the lowest): the
 * packed kernels equal the reference bit for bit. */
static void test_int8_out_of_range_inputs(void **state)
{
    (void)state;
    enum { C = 16, H = 9, W = 40, M = 16 };
    float *w = malloc(sizeof(float) * M * C * 9), b[M], *x = malloc(sizeof(float) * C * H * W);
    for (int i = 0; i < M * C * 9; i++) w[i] = frand();
    for (int i = 0; i < M; i++) b[i] = frand();
    static const float special[] = {-1e30f, 1e30f, -INFINITY, INFINITY, NAN, -3.0f, 3.0f};
    for (int i = 0; i < C * H * W; i++) x[i] = i % 5 == 0 ? special[(i / 5) % 7] : frand();
    int64_t pads[4] = {1, 1, 1, 1}, xd[4] = {1, C, H, W};
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, M, C, 3, 3), VF("b", b, 1, M)};
    ob_node conv = {"Conv", {"x", "w", "b"}, {"y"}, {AINTS("pads", pads)}};
    for (int k = 0; k < 2; k++) {
        nn_model *m = load(v, 3, &conv, 1);
        char path[256];
        tmp_path(path, sizeof path);
        FILE *f = fopen(path, "w");
        fputs(k ? "y 0 0.5\n" : "y -0.4 0.3\n", f); /* zp 0, and zp 146 */
        fclose(f);
        rc_error err = {0};
        int count = 0;
        assert_int_equal(nn_model_quantize(m, path, NN_Q8_OUTPUT_CONVS, &count, &err), RC_OK);
        assert_int_equal(count, 1);
        unlink(path);
        nn_session *s;
        assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
        int64_t n;
        float *fast = run(s, x, xd, &n);
        nn_session_set_reference(s, 1);
        float *ref = run(s, x, xd, &n);
        nn_session_free(s);
        int64_t diff = 0;
        for (int64_t i = 0; i < n; i++) diff += memcmp(&fast[i], &ref[i], sizeof(float)) != 0;
        if (diff) fprintf(stderr, "out-of-range inputs: %lld outputs differ\n", (long long)diff);
        assert_int_equal(diff, 0);
        free(fast);
        free(ref);
        nn_model_free(m);
    }
    free(w);
    free(x);
}

/* Ranges files: written by calibration, refused when malformed or made for
 * another model, and nothing saved before a run. */
static void test_int8_ranges_errors(void **state)
{
    (void)state;
    float w[4] = {1, 2, 3, 4};
    ob_value v[] = {V("x", 4, 1, 2, 3, 3), VF("w", w, 4, 2, 2, 1, 1)};
    ob_node node = {"Conv", {"x", "w"}, {"y"}, {{0}}};
    nn_model *m = load(v, 2, &node, 1);
    rc_error err = {0};
    char path[256];
    tmp_path(path, sizeof path);
    int count = -1;

    unlink(path);
    assert_int_equal(nn_model_quantize(m, path, NN_Q8_OUTPUT_CONVS, &count, &err),
                     RC_ERR_NOT_FOUND);
    assert_int_equal(count, 0);

    FILE *f = fopen(path, "w");
    fputs("# comment\nelsewhere -1 1\n", f);
    fclose(f);
    assert_int_equal(nn_model_quantize(m, path, NN_Q8_OUTPUT_CONVS, &count, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no convolution 'elsewhere'"));

    f = fopen(path, "w");
    fputs("y 2 1\n", f);
    fclose(f);
    assert_int_equal(nn_model_quantize(m, path, NN_Q8_OUTPUT_CONVS, &count, &err), RC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, ":1:"));

    f = fopen(path, "w");
    fputs("y nan 1\n", f);
    fclose(f);
    assert_int_equal(nn_model_quantize(m, path, NN_Q8_OUTPUT_CONVS, &count, &err), RC_ERR_CORRUPT);

    f = fopen(path, "w");
    fputs("y -1 3\n", f);
    fclose(f);
    assert_int_equal(nn_model_quantize(m, path, NN_Q8_OUTPUT_CONVS, &count, &err), RC_OK);
    assert_int_equal(count, 0); /* 4 weights: not worth quantising */

    nn_session *s;
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    assert_int_equal(nn_session_calibration_save(s, path, NULL, &err), RC_ERR_INVALID);
    assert_int_equal(nn_session_calibrate(s, 1, &err), RC_OK);
    assert_int_equal(nn_session_calibration_save(s, path, NULL, &err), RC_ERR_INVALID);
    /* a run: the range of x is written as the Conv's */
    float x[18];
    for (int i = 0; i < 18; i++) x[i] = (float)i - 5.0f;
    int64_t xd[4] = {1, 2, 3, 3}, n;
    free(run(s, x, xd, &n));
    assert_int_equal(nn_session_calibration_save(s, path, "note", &err), RC_OK);
    nn_session_free(s);
    f = fopen(path, "r");
    char text[512] = {0};
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_true(got > 0);
    assert_non_null(strstr(text, "# note\n"));
    assert_non_null(strstr(text, "\ny -5 12\n"));
    unlink(path);
    nn_model_free(m);
}

int main(void)
{
    if (!nn_int8_available())
        fprintf(stderr, "# no AVX-512 VNNI / AVX-VNNI here (or capped by ROLLCALL_NN_CPU): the "
                        "int8 kernels under test are the portable ones\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int8_kernels_vs_reference),
        cmocka_unit_test(test_int8_residual_and_folded_bn),
        cmocka_unit_test(test_int8_leaves_uncovered_float),
        cmocka_unit_test(test_int8_out_of_range_inputs),
        cmocka_unit_test(test_int8_ranges_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
