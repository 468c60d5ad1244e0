/*
 * test_nn_models.c — every default model in models/ against ONNX Runtime.
 *
 * For each of the nine models, inputs are a random tensor and real faces
 * from the shared test photos (decoded and resized to the model's input by
 * Debian's ffmpeg, normalised as (x - 127) / 128). Rollcall runs them with
 * its fast kernels and with the plain C reference kernels; ONNX Runtime
 * (onnxruntime-node, one thread, driven by ort_reference.mjs) runs the same
 * inputs. Pass: max |difference| <= 1e-3 on every output, and cosine >=
 * 0.9999 for the 512-d embedding.
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

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define MAX_CASES 4
#define MAX_OUT   16

static const char *const model_names[] = {
    "fr_detect.onnx",   "fr_landmark.onnx",   "fr_feature.onnx",
    "fr_liveness.onnx", "fr_expression.onnx", "fr_age.onnx",
    "fr_gender.onnx",   "fr_pose.onnx",       "fr_eye.onnx",
};
#define NMODELS (sizeof model_names / sizeof model_names[0])

static const char *const faces[] = {"id/deepface_angelina/1.jpg", "id/bbt_amy/1.jpg",
                                    "id/dlib_John_Salley/1.jpg"};

typedef struct {
    nn_shape shape;
    float *input;
    int nout;
    float *out[MAX_OUT];
    nn_shape oshape[MAX_OUT];
    float *ref_out[MAX_OUT]; /* reference C path */
    char prefix[512];
} test_case;

typedef struct {
    char path[1024];
    int ncases;
    test_case cases[MAX_CASES];
} model_run;

static char tmpdir[256];
static model_run runs[NMODELS];
static bool ort_ok;

static uint32_t rng_state = 12345;
static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1 << 24) * 2.0f - 1.0f;
}

/* Decode a JPEG with ffmpeg into CxHxW floats normalised (x - 127) / 128. */
static float *load_face(const char *file, int C, int H, int W)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -i '%s' -vf scale=%d:%d -f rawvideo -pix_fmt %s -",
             file, W, H, C == 1 ? "gray" : "rgb24");
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t n = (size_t)C * H * W;
    unsigned char *pix = malloc(n);
    size_t got = pix ? fread(pix, 1, n, p) : 0;
    int rc = pclose(p);
    if (got != n || rc != 0) {
        free(pix);
        return NULL;
    }
    float *x = malloc(n * sizeof(float));
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H * W; i++)
            x[c * H * W + i] = ((float)pix[i * C + c] - 127.0f) / 128.0f;
    free(pix);
    return x;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static float *read_floats(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    float *d = malloc((size_t)len + 4);
    size_t r = fread(d, 1, (size_t)len, f);
    fclose(f);
    *count = r / 4;
    if (r != (size_t)len) *count = 0;
    return d;
}

static void run_rollcall(const nn_model *m, test_case *tc, bool reference)
{
    nn_session *s = NULL;
    rc_error err = {0};
    assert_int_equal(nn_session_create(m, &s, &err), RC_OK);
    nn_session_set_reference(s, reference);
    const float *in[1] = {tc->input};
    rc_status st = nn_session_run(s, in, &tc->shape, &err);
    if (st != RC_OK) fprintf(stderr, "run failed: %s\n", err.msg);
    assert_int_equal(st, RC_OK);
    tc->nout = nn_model_num_outputs(m);
    for (int i = 0; i < tc->nout && i < MAX_OUT; i++) {
        nn_shape sh;
        const float *o = nn_session_output(s, i, &sh);
        assert_non_null(o);
        int64_t n = 1;
        for (int k = 0; k < sh.ndim; k++) n *= sh.d[k];
        float *copy = malloc((size_t)n * sizeof(float) + 4);
        memcpy(copy, o, (size_t)n * sizeof(float));
        if (reference) {
            tc->ref_out[i] = copy;
        } else {
            tc->out[i] = copy;
            tc->oshape[i] = sh;
        }
    }
    nn_session_free(s);
}

/* NN_TEST_MODELS (comma-separated file names, e.g. under qemu, where the
 * engine is 10-30 times slower) limits the run to those models; the
 * others are left out of the list of tests. Unset: all nine. */
static bool selected(size_t mi)
{
    const char *only = getenv("NN_TEST_MODELS");
    if (!only || !*only) return true;
    size_t len = strlen(model_names[mi]);
    for (const char *p = only; (p = strstr(p, model_names[mi])) != NULL; p += len)
        if ((p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0')) return true;
    return false;
}

static int setup(void **state)
{
    (void)state;
    const char *models = getenv("ROLLCALL_MODELS"), *src = getenv("ROLLCALL_SOURCE");
    const char *td = getenv("ROLLCALL_TESTDATA");
    if (!models || !src || !td) return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rollcall-nn-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    char jobs_path[512];
    snprintf(jobs_path, sizeof jobs_path, "%s/jobs.txt", tmpdir);
    FILE *jobs = fopen(jobs_path, "w");
    for (size_t mi = 0; mi < NMODELS; mi++) {
        model_run *r = &runs[mi];
        if (!selected(mi)) continue;
        snprintf(r->path, sizeof r->path, "%s/%s", models, model_names[mi]);
        nn_model *m = NULL;
        rc_error err = {0};
        if (nn_model_load(r->path, &m, &err) != RC_OK) {
            fprintf(stderr, "load %s: %s\n", r->path, err.msg);
            continue;
        }
        nn_shape s = nn_model_input_shape(m, 0);
        int C = (int)s.d[1], H = (int)s.d[2], W = (int)s.d[3];
        for (int ci = 0; ci < 3; ci++) {
            test_case *tc = &r->cases[r->ncases];
            tc->shape = s;
            if (ci == 0) {
                size_t n = (size_t)C * H * W;
                tc->input = malloc(n * sizeof(float));
                for (size_t i = 0; i < n; i++) tc->input[i] = frand();
            } else {
                char file[1024];
                snprintf(file, sizeof file, "%s/faces/%s", td, faces[(mi + ci) % 3]);
                tc->input = load_face(file, C, H, W);
                if (!tc->input) {
                    fprintf(stderr, "could not decode %s with ffmpeg\n", file);
                    continue;
                }
            }
            r->ncases++;
        }
        for (int ci = 0; ci < r->ncases; ci++) {
            test_case *tc = &r->cases[ci];
            char in_path[600];
            snprintf(tc->prefix, sizeof tc->prefix, "%s/m%zu_c%d", tmpdir, mi, ci);
            snprintf(in_path, sizeof in_path, "%s.in", tc->prefix);
            int64_t n = 1;
            for (int k = 0; k < tc->shape.ndim; k++) n *= tc->shape.d[k];
            write_file(in_path, tc->input, (size_t)n * sizeof(float));
            fprintf(jobs, "%s %s %lld,%lld,%lld,%lld %s\n", r->path, in_path,
                    (long long)tc->shape.d[0], (long long)tc->shape.d[1], (long long)tc->shape.d[2],
                    (long long)tc->shape.d[3], tc->prefix);
        }
        nn_model_free(m);
    }
    fclose(jobs);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "node '%s/tests/nn/ort_reference.mjs' '%s'", src, jobs_path);
    ort_ok = system(cmd) == 0;
    if (!ort_ok) fprintf(stderr, "ONNX Runtime reference failed (%s)\n", cmd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t mi = 0; mi < NMODELS; mi++)
        for (int ci = 0; ci < runs[mi].ncases; ci++) {
            test_case *tc = &runs[mi].cases[ci];
            free(tc->input);
            for (int i = 0; i < MAX_OUT; i++) {
                free(tc->out[i]);
                free(tc->ref_out[i]);
            }
        }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0]) (void)!system(cmd);
    return 0;
}

static double max_abs(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d != d) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

static double cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa * bb) + 1e-30);
}

static void compare_model(size_t mi)
{
    assert_true(ort_ok);
    model_run *r = &runs[mi];
    assert_true(r->ncases >= 2);
    nn_model *m = NULL;
    rc_error err = {0};
    assert_int_equal(nn_model_load(r->path, &m, &err), RC_OK);
    bool embedding = strcmp(model_names[mi], "fr_feature.onnx") == 0;
    for (int ci = 0; ci < r->ncases; ci++) {
        test_case *tc = &r->cases[ci];
        run_rollcall(m, tc, false);
        /* the plain C path on the first (random) input only: it is slow, and
         * under the sanitizers (an unoptimised build) only on the small models */
        bool big = strcmp(model_names[mi], "fr_expression.onnx") == 0 ||
                   strcmp(model_names[mi], "fr_pose.onnx") == 0;
        if (ci == 0 && !(SANITIZED && big)) run_rollcall(m, tc, true);
        for (int i = 0; i < tc->nout; i++) {
            char path[600], shape_txt[256] = {0};
            snprintf(path, sizeof path, "%s.%d.shape", tc->prefix, i);
            FILE *f = fopen(path, "r");
            assert_non_null(f);
            (void)!fread(shape_txt, 1, sizeof shape_txt - 1, f);
            fclose(f);
            char mine[256] = {0};
            size_t o = 0;
            for (int k = 0; k < tc->oshape[i].ndim; k++)
                o += (size_t)snprintf(mine + o, sizeof mine - o, k ? ",%lld" : "%lld",
                                      (long long)tc->oshape[i].d[k]);
            if (strcmp(mine, shape_txt) != 0)
                fprintf(stderr, "%s case %d output %d: shape %s vs ORT %s\n", model_names[mi], ci,
                        i, mine, shape_txt);
            assert_string_equal(mine, shape_txt);
            snprintf(path, sizeof path, "%s.%d.bin", tc->prefix, i);
            size_t n = 0;
            float *ref = read_floats(path, &n);
            assert_non_null(ref);
            double d = max_abs(tc->out[i], ref, n);
            double dr = tc->ref_out[i] ? max_abs(tc->ref_out[i], ref, n) : 0;
            printf("# %-19s case %d out %d (%zu values): max|diff| fast %.2e", model_names[mi], ci,
                   i, n, d);
            if (tc->ref_out[i]) printf(", plain C %.2e", dr);
            if (embedding) printf(", cosine %.7f", cosine(tc->out[i], ref, n));
            printf("\n");
            assert_true(d <= 1e-3);
            assert_true(dr <= 1e-3);
            if (embedding) assert_true(cosine(tc->out[i], ref, n) >= 0.9999);
            free(ref);
        }
    }
    nn_model_free(m);
}

#define MODEL_TEST(i)                                                                              \
    static void test_model_##i(void **state)                                                       \
    {                                                                                              \
        (void)state;                                                                               \
        compare_model(i);                                                                          \
    }
MODEL_TEST(0)
MODEL_TEST(1)
MODEL_TEST(2)
MODEL_TEST(3)
MODEL_TEST(4)
MODEL_TEST(5)
MODEL_TEST(6)
MODEL_TEST(7)
MODEL_TEST(8)

int main(void)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_model_0), cmocka_unit_test(test_model_1),
        cmocka_unit_test(test_model_2), cmocka_unit_test(test_model_3),
        cmocka_unit_test(test_model_4), cmocka_unit_test(test_model_5),
        cmocka_unit_test(test_model_6), cmocka_unit_test(test_model_7),
        cmocka_unit_test(test_model_8),
    };
    struct CMUnitTest tests[NMODELS];
    size_t n = 0;
    for (size_t mi = 0; mi < NMODELS; mi++)
        if (selected(mi)) tests[n++] = all[mi];
    return _cmocka_run_group_tests("test_nn_models", tests, n, setup, teardown);
}
