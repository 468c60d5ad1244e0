/*
 * test_nn_bf16.c — bf16 1x1 convolutions (src/nn/bf16.c) on small models
 * built in memory: the AVX-512 BF16 kernel against the bf16 reference path
 * (the same rounding, fp32 sums in a defined order: they may differ only by
 * the order the fp32 additions are rounded in) on edge shapes (odd channel
 * counts, output channels not a multiple of 8, planes not a multiple of 32,
 * one pixel, a fused residual, a folded BatchNormalization + ReLU, every
 * activation the epilogue covers); bf16 against float within bf16's
 * rounding error; the rounding itself (ties to even, denormals to zero,
 * NaN kept); which Convs get a bf16 form and which calls are too small to
 * use it; and float unchanged when bf16 is turned off. The reference and rounding cases run on
 * every CPU; the kernel comparison says "# SKIP" and passes where the CPU lacks AVX-512 BF16 (or
 * ROLLCALL_NN_CPU caps it), since cmocka's skip() counts as a failure under meson.
 */
#include <float.h>
#include <math.h>
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

#define NN_TEST_SEED  11
#define NN_TEST_MODEL "bf16.onnx"
#include "nn_test_model.h"

/* The model's output four ways: float, then with its bf16 form the packed
 * kernel, the bf16 reference, and float again with bf16 turned off. The
 * kernel must match the reference within `order_tol` of the largest output
 * (fp32 summation order only); bf16 must be within `rel` of the largest
 * float output and differ from it somewhere (it really ran); float must
 * not change. */
static void check_bf16(nn_model *m, const float *x, const int64_t *xd, int want, double order_tol,
                       double rel, const char *what)
{
    nn_session *s;
    rc_error err = {0};
    int64_t n, n2;
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    float *fl = run(s, x, xd, &n);
    nn_session_free(s);
    int count = -1;
    assert_int_equal(nn_model_bf16(m, 0, &count, &err), RC_OK);
    assert_int_equal(count, want);

    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    float *fast = run(s, x, xd, &n2);
    assert_int_equal(n, n2);
    nn_session_set_reference(s, 1);
    float *ref = run(s, x, xd, &n2);
    nn_session_set_reference(s, 0);
    nn_session_set_bf16(s, 0);
    float *fl2 = run(s, x, xd, &n2);
    nn_session_free(s);

    double big = 0, dk = 0, dref = 0;
    for (int64_t i = 0; i < n; i++) {
        big = fmax(big, fabs(fl[i]));
        dk = fmax(dk, fabs((double)fast[i] - ref[i]));
        dref = fmax(dref, fabs((double)ref[i] - fl[i]));
        assert_true(fl2[i] == fl[i]);
    }
    if (dk > order_tol * big || dref > rel * big || getenv("NN_TEST_VERBOSE"))
        fprintf(stderr, "%s: kernel vs reference max diff %g, bf16 vs float %g, of %g\n", what, dk,
                dref, big);
    assert_true(dref <= rel * big);
    assert_true(dref > 0); /* the reference rounded to bf16 */
    if (!nn_bf16_available()) {
        /* no kernel here: the Conv runs in float */
        for (int64_t i = 0; i < n; i++) assert_true(fast[i] == fl[i]);
        printf("# SKIP %s: no AVX-512 BF16 here (or ROLLCALL_NN_CPU caps it): the kernel is not "
               "compared, the reference is\n",
               what);
    } else {
        assert_true(dk <= order_tol * big);
    }
    free(fl);
    free(fl2);
    free(fast);
    free(ref);
}

/* Rounding each operand to bf16 moves it by at most 2^-9 of itself, so
 * bf16 against float stays within ~2^-8 of the sum of |x * w|; with random
 * signs the largest output is a fair fraction of that sum. */
#define BF16_REL 0.03
/* fp32 sums of up to a few hundred products in another order. */
#define ORDER_TOL 1e-5

/* One 1x1 Conv (+ activation) of random weights on a random input; a PRelu
 * has a slope per output channel, or one for all with `shared`. */
static void conv_case_slope(int C, int H, int W, int M, const char *act, bool shared)
{
    size_t nw = (size_t)M * C, nx = (size_t)C * H * W;
    float *w = malloc(nw * sizeof(float)), *b = malloc((size_t)M * sizeof(float));
    float *x = malloc(nx * sizeof(float)), *slope = malloc((size_t)M * sizeof(float));
    for (size_t i = 0; i < nw; i++) w[i] = frand();
    for (int i = 0; i < M; i++) b[i] = frand(), slope[i] = frand() * 0.5f;
    for (size_t i = 0; i < nx; i++) x[i] = frand() + 0.3f;
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, M, C, 1, 1), VF("b", b, 1, M),
                    VF("s", slope, 3, M, 1, 1)};
    if (shared) v[3] = (ob_value)VF("s", slope, 1, 1);
    ob_node nodes[2] = {
        {"Conv", {"x", "w", "b"}, {act ? "c" : "y"}, {{0}}},
        {act ? act : "Relu", {"c", "s"}, {"y"}, {{0}}},
    };
    if (act && strcmp(act, "PRelu") != 0) nodes[1].in[1] = NULL;
    if (act && strcmp(act, "Clip") == 0) {
        nodes[1].in[1] = "lo";
        nodes[1].in[2] = "hi";
    }
    static const float lo[1] = {-0.5f}, hi[1] = {6.0f};
    ob_value vc[] = {v[0], v[1], v[2], v[3], VF("lo", lo, 0, 0), VF("hi", hi, 0, 0)};
    nn_model *m = load(vc, 6, nodes, act ? 2 : 1);
    int64_t xd[4] = {1, C, H, W};
    char what[128];
    snprintf(what, sizeof what, "bf16 conv C%d %dx%d M%d %s%s", C, H, W, M, act ? act : "-",
             shared ? " (one slope)" : "");
    check_bf16(m, x, xd, 1, ORDER_TOL, BF16_REL, what);
    nn_model_free(m);
    free(w);
    free(b);
    free(x);
    free(slope);
}

static void conv_case(int C, int H, int W, int M, const char *act)
{
    conv_case_slope(C, H, W, M, act, false);
}

static void test_bf16_kernel_vs_reference(void **state)
{
    (void)state;
    conv_case(32, 64, 64, 103, "PRelu");           /* the liveness model's Conv_4 */
    conv_case(64, 9, 40, 128, NULL);               /* 360 pixels: a panel of 8 */
    conv_case(33, 7, 9, 40, "Relu");               /* odd channels, 63 pixels (a panel of 31) */
    conv_case(48, 8, 5, 24, "LeakyRelu");          /* 40 pixels: a panel of 8 */
    conv_case(231, 4, 4, 13 * 8, "Clip");          /* 16 pixels, 116 pairs */
    conv_case(48, 1, 1, 24, "PRelu");              /* one pixel */
    conv_case(128, 8, 8, 9, NULL);                 /* 9 output channels: a block of 1 */
    conv_case_slope(64, 5, 13, 20, "PRelu", true); /* one slope for every channel */
}

/* A residual Add fused into the Conv (added in the epilogue) and a
 * BatchNormalization + ReLU folded into it (applied while the input is
 * rounded). */
static void test_bf16_residual_and_folded_bn(void **state)
{
    (void)state;
    int C = 40, H = 9, W = 11;
    size_t nx = (size_t)C * H * W;
    float *x = malloc(nx * sizeof(float)), *w = malloc((size_t)C * C * sizeof(float));
    float b[40], g[40], be[40], mu[40], var[40];
    for (size_t i = 0; i < nx; i++) x[i] = frand();
    for (int i = 0; i < C * C; i++) w[i] = frand() * 0.2f;
    for (int i = 0; i < C; i++)
        b[i] = frand(), g[i] = frand(), be[i] = frand(), mu[i] = frand(),
        var[i] = 0.5f + fabsf(frand());
    int64_t xd[4] = {1, C, H, W};
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, C, C, 1, 1), VF("b", b, 1, C)};
    ob_node res[3] = {
        {"Conv", {"x", "w", "b"}, {"c"}, {{0}}},
        {"Add", {"c", "x"}, {"a"}, {{0}}},
        {"Relu", {"a"}, {"y"}, {{0}}},
    };
    nn_model *m = load(v, 3, res, 3);
    char buf[256];
    nn_model_describe(m, buf, sizeof buf);
    assert_non_null(strstr(buf, "Conv:1")); /* the Add and the Relu are fused */
    check_bf16(m, x, xd, 1, ORDER_TOL, BF16_REL, "bf16 residual");
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
    check_bf16(m, x, xd, 1, ORDER_TOL, BF16_REL, "bf16 bn+relu folded");
    nn_model_free(m);
    free(x);
    free(w);
}

/* Only ungrouped 1x1 stride-1 unpadded Convs of at least 1024 weights with
 * a covered activation get a bf16 form: of a depthwise 3x3, a 3x3, a
 * strided 1x1, a small 1x1, a 1x1 with a fused Sigmoid and a plain 1x1,
 * only the last. */
static void test_bf16_leaves_uncovered_float(void **state)
{
    (void)state;
    enum { C = 40, H = 6, W = 7 };
    float w[C * 9], w3[C * C * 9], wp[C * C], ws[8 * C], b[C], x[C * H * W];
    for (int i = 0; i < C * 9; i++) w[i] = frand();
    for (int i = 0; i < C * C * 9; i++) w3[i] = frand() * 0.1f;
    for (int i = 0; i < C * C; i++) wp[i] = frand() * 0.2f;
    for (int i = 0; i < 8 * C; i++) ws[i] = frand() * 0.2f;
    for (int i = 0; i < C; i++) b[i] = frand();
    for (int i = 0; i < C * H * W; i++) x[i] = frand();
    int64_t pads[4] = {1, 1, 1, 1}, st2[2] = {2, 2}, xd[4] = {1, C, H, W};
    ob_attr grp = {.name = "group", .type = 2, .i = C};
    ob_value v[] = {V("x", 4, 1, C, H, W),       VF("w", w, 4, C, 1, 3, 3),
                    VF("w3", w3, 4, C, C, 3, 3), VF("wp", wp, 4, C, C, 1, 1),
                    VF("ws", ws, 4, 8, C, 1, 1), VF("b", b, 1, C)};
    ob_node nodes[] = {
        {"Conv", {"x", "w", "b"}, {"d"}, {AINTS("pads", pads), grp}},
        {"Conv", {"d", "w3", "b"}, {"e"}, {AINTS("pads", pads)}},
        {"Conv", {"e", "wp", "b"}, {"s"}, {{0}}},
        {"Sigmoid", {"s"}, {"t"}, {{0}}},
        {"Conv", {"t", "wp", "b"}, {"u"}, {AINTS("strides", st2)}},
        {"Conv", {"t", "ws", ""}, {"z"}, {{0}}},
        {"Conv", {"t", "wp", "b"}, {"y"}, {{0}}},
    };
    nn_model *m = load(v, 6, nodes, 7);
    check_bf16(m, x, xd, 1, ORDER_TOL, BF16_REL, "bf16 mixed");
    nn_model_free(m);
}

/* A call with fewer multiply-adds than nn_model_bf16's min_macs runs in
 * float (packed and reference alike); one with exactly that many in bf16. */
static void test_bf16_min_macs(void **state)
{
    (void)state;
    enum { C = 32, M = 40, H = 8, W = 8 };
    const int64_t macs = (int64_t)M * C * H * W;
    float w[M * C], x[C * H * W];
    for (int i = 0; i < M * C; i++) w[i] = frand();
    for (int i = 0; i < C * H * W; i++) x[i] = frand();
    ob_value v[] = {V("x", 4, 1, C, H, W), VF("w", w, 4, M, C, 1, 1)};
    ob_node nodes[1] = {{"Conv", {"x", "w"}, {"y"}, {{0}}}};
    nn_model *m = load(v, 2, nodes, 1);
    int64_t xd[4] = {1, C, H, W}, n;
    rc_error err = {0};
    nn_session *s;
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    float *fl = run(s, x, xd, &n);
    nn_session_free(s);
    for (int k = 0; k < 2; k++) {
        int count = -1;
        assert_int_equal(nn_model_bf16(m, k ? macs : macs + 1, &count, &err), RC_OK);
        assert_int_equal(count, 1);
        assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
        float *fast = run(s, x, xd, &n);
        nn_session_set_reference(s, 1);
        float *ref = run(s, x, xd, &n);
        nn_session_free(s);
        int64_t same_fast = 0, same_ref = 0;
        for (int64_t i = 0; i < n; i++) same_fast += fast[i] == fl[i], same_ref += ref[i] == fl[i];
        if (!k) {
            /* below the bar: float, bit for bit (the reference is float's
             * reference, within its summation order) */
            assert_int_equal(same_fast, n);
            for (int64_t i = 0; i < n; i++) assert_true(fabsf(ref[i] - fl[i]) <= 1e-5f);
        } else {
            assert_true(same_ref < n / 2); /* rounded to bf16 */
            if (nn_bf16_available()) assert_true(same_fast < n / 2);
        }
        free(fast);
        free(ref);
    }
    free(fl);
    nn_model_free(m);
}

/* Rounding: through an identity 1x1 Conv (weights 1 and 0, exact in bf16)
 * each output is its input rounded to bf16: ties to even, just above a tie
 * up, denormals to zero, NaN kept (it reaches every channel of its pixel:
 * 0 * NaN). The packed kernel and the reference alike. */
static void test_bf16_rounding(void **state)
{
    (void)state;
    enum { C = 32, P = 8 };
    float w[C * C], x[C * P];
    memset(w, 0, sizeof w);
    for (int c = 0; c < C; c++) w[c * C + c] = 1.0f;
    const float in[P] = {1.0f + 0x1p-8f,            /* tie, down to the even 1 */
                         1.0f + 0x3p-8f,            /* tie, up to the even 1 + 2^-6 */
                         1.0f + 0x1p-8f + 0x1p-20f, /* above the tie: up */
                         -(1.0f + 0x3p-8f),         /* the same on the negative side */
                         1e-39f,                    /* denormal: zero */
                         3.14159265f,
                         -65504.3f,
                         NAN};
    const float want[P] = {1.0f, 1.0f + 0x1p-6f, 1.0f + 0x1p-7f, -(1.0f + 0x1p-6f),
                           0.0f, 3.140625f,      -65536.0f,      NAN};
    for (int c = 0; c < C; c++)
        for (int p = 0; p < P; p++) x[c * P + p] = p == P - 1 && c != 0 ? 1.0f : in[p];
    ob_value v[] = {V("x", 4, 1, C, 1, P), VF("w", w, 4, C, C, 1, 1)};
    ob_node nodes[1] = {{"Conv", {"x", "w"}, {"y"}, {{0}}}};
    nn_model *m = load(v, 2, nodes, 1);
    rc_error err = {0};
    int count = -1;
    assert_int_equal(nn_model_bf16(m, 0, &count, &err), RC_OK);
    assert_int_equal(count, 1);
    nn_session *s;
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    int64_t xd[4] = {1, C, 1, P}, n;
    for (int reference = 1; reference >= 0; reference--) {
        if (!reference && !nn_bf16_available()) {
            printf("# SKIP bf16 rounding: no AVX-512 BF16 here, the reference alone checked\n");
            break;
        }
        nn_session_set_reference(s, reference);
        float *y = run(s, x, xd, &n);
        for (int c = 0; c < C; c++)
            for (int p = 0; p < P; p++) {
                float got = y[c * P + p], exp = want[p];
                if (isnan(exp) ? !isnan(got) : got != exp)
                    fprintf(stderr, "%s: channel %d pixel %d: %.9g, want %.9g\n",
                            reference ? "reference" : "kernel", c, p, got, exp);
                assert_true(isnan(exp) ? isnan(got) : got == exp);
            }
        free(y);
    }
    nn_session_free(s);
    nn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_kernel_vs_reference),
        cmocka_unit_test(test_bf16_residual_and_folded_bn),
        cmocka_unit_test(test_bf16_leaves_uncovered_float),
        cmocka_unit_test(test_bf16_min_macs),
        cmocka_unit_test(test_bf16_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
