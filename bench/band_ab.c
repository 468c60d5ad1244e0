/*
 * band_ab.c — row bands (src/nn/band.c) on and off in one process, run for
 * run in alternation, so that the host's drift from minute to minute (the
 * shared machine's speed moves by 15%) falls on both sides alike: for each
 * of fr_detect (float), fr_feature (int8 with the shipped ranges) and
 * fr_liveness (bf16), two sessions of one model, hot (run after run) and
 * cold (32 MiB streamed through the caches before each run, as the other
 * networks and the gallery search do in the pipeline); then the one-face
 * 640x480 frame (decode -> face_analyze) on two face workers, one created
 * with ROLLCALL_NN_BAND=0. Thread CPU time, median of RUNS per side, and
 * the ratio banded / unbanded.
 *
 * BAND_NODES=1 also prints each model's nodes (mean ms of the profiled hot
 * runs) both ways: where the time moved.
 *
 * Usage: band-ab MODELS_DIR INT8_RANGES_DIR PHOTO [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "face/face.h"
#include "image/image.h"
#include "nn/nn.h"

static double thread_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What a cold run finds: 32 MiB written and read through the caches. */
static volatile float sink;
static void stream(float *big, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i += 16) {
        big[i] += 1.0f;
        s += big[i];
    }
    sink = s;
}

static void print_ab(const char *what, double *t0, double *t1, int runs)
{
    double m0 = median(t0, runs), m1 = median(t1, runs);
    printf("  %-28s %8.3f %8.3f   %.3fx\n", what, m0, m1, m1 / m0);
}

static int bench_model(const char *dir, const char *ranges, const char *file, int form, int runs,
                       float *big, size_t nbig)
{
    char path[2048];
    rc_error err;
    nn_model *m = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (nn_model_load(path, &m, &err) != RC_OK) goto fail;
    if (form == 1) {
        snprintf(path, sizeof path, "%s/%s.int8", ranges, file);
        if (nn_model_quantize(m, path, 0, NULL, &err) != RC_OK) goto fail;
    } else if (form == 2 && nn_bf16_available()) {
        if (nn_model_bf16(m, NN_BF16_MIN_MACS, NULL, &err) != RC_OK) goto fail;
    }
    nn_shape is = nn_model_input_shape(m, 0);
    is.d[0] = 1;
    size_t n = (size_t)(is.d[1] * is.d[2] * is.d[3]);
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    const float *in[1] = {x};
    nn_session *s[2];
    nn_session_create(m, &s[0], &err);
    nn_session_create(m, &s[1], &err);
    nn_session_set_band(s[0], 0);
    nn_session_set_band(s[1], NN_BAND_AUTO);
    double *t[2][2];
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < 2; c++) t[k][c] = calloc((size_t)runs, sizeof(double));
    for (int w = 0; w < 5; w++)
        for (int k = 0; k < 2; k++) nn_session_run(s[k], in, &is, &err);
    for (int cold = 0; cold < 2; cold++)
        for (int r = 0; r < runs; r++)
            for (int k = 0; k < 2; k++) {
                int kk = r % 2 ? 1 - k : k; /* who goes first alternates too */
                if (cold) stream(big, nbig);
                double t0 = thread_ms();
                if (nn_session_run(s[kk], in, &is, &err) != RC_OK) goto fail;
                t[kk][cold][r] = thread_ms() - t0;
            }
    char names[256];
    printf("%s (%s; banded: %d, %s)\n", file,
           form == 1   ? "int8"
           : form == 2 ? "bf16"
                       : "float",
           nn_session_band_count(s[1], names, sizeof names), names);
    print_ab("hot", t[0][0], t[1][0], runs);
    print_ab("cold (32 MiB streamed before)", t[0][1], t[1][1], runs);
    /* the banded pairs' nodes alone (profiled hot runs, mean) */
    for (int k = 0; k < 2; k++) nn_session_profile(s[k], 1, &err);
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < 2; k++) nn_session_run(s[(r & 1) ? 1 - k : k], in, &is, &err);
    double pair[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < nn_model_num_nodes(m); i++) {
            const char *name, *op;
            double ms;
            if (!nn_session_profile_report(s[k], i, &name, &op, &ms, NULL, NULL)) continue;
            /* names appear in "a+b c+d" as whole words */
            size_t l = strlen(name);
            for (const char *p = names; (p = strstr(p, name)) != NULL; p += l)
                if ((p == names || p[-1] == ' ' || p[-1] == '+') &&
                    (p[l] == '\0' || p[l] == ' ' || p[l] == '+')) {
                    pair[k] += ms / runs;
                    break;
                }
        }
    printf("  %-28s %8.3f %8.3f   %.3fx\n", "the pairs' nodes, hot (mean)", pair[0], pair[1],
           pair[1] / pair[0]);
    if (getenv("BAND_NODES"))
        for (int i = 0; i < nn_model_num_nodes(m); i++) {
            const char *name, *op;
            double ms0, ms1;
            if (!nn_session_profile_report(s[0], i, &name, &op, &ms0, NULL, NULL)) continue;
            nn_session_profile_report(s[1], i, &name, &op, &ms1, NULL, NULL);
            if (ms0 / runs > 0.005 || ms1 / runs > 0.005)
                printf("    %-12s %-10s %7.4f %7.4f %+7.4f\n", name, op, ms0 / runs, ms1 / runs,
                       (ms1 - ms0) / runs);
        }
    for (int k = 0; k < 2; k++) {
        nn_session_free(s[k]);
        for (int c = 0; c < 2; c++) free(t[k][c]);
    }
    free(x);
    nn_model_free(m);
    return 0;
fail:
    fprintf(stderr, "band-ab: %s: %s\n", file, err.msg);
    return 1;
}

static int bench_frame(const char *dir, const char *photo, int runs)
{
    rc_error err;
    face_models *m = NULL;
    face_worker *w[2] = {NULL, NULL};
    img_image *src = NULL, *f640 = NULL;
    unsigned char *jpg = NULL;
    size_t len = 0;
    if (face_models_load(dir, 0, &m, &err) != RC_OK) goto fail;
    if (img_load(photo, NULL, &src, &err) != RC_OK) goto fail;
    f640 = img_resize(src, 640, 480, IMG_RESIZE_AUTO);
    if (!f640 || img_encode_jpeg(f640, 90, &jpg, &len, &err) != RC_OK) goto fail;
    /* the workers' sessions take the switch when they are created, some at
     * their first use (the detector before its box decoding): a frame
     * each while the switch is theirs */
    for (int k = 0; k < 2; k++) {
        setenv("ROLLCALL_NN_BAND", k ? "1" : "0", 1);
        if (face_worker_create(m, &w[k], &err) != RC_OK) goto fail;
        img_image *im = NULL;
        face_info *f = NULL;
        int nf = 0;
        if (img_decode(jpg, len, NULL, &im, &err) != RC_OK) goto fail;
        rc_status st = face_analyze(w[k], im, NULL, &f, &nf, &err);
        img_free(im);
        free(f);
        if (st != RC_OK) goto fail;
    }
    double *t[2] = {calloc((size_t)runs, sizeof(double)), calloc((size_t)runs, sizeof(double))};
    int faces[2] = {0, 0};
    for (int r = -5; r < runs; r++)
        for (int k = 0; k < 2; k++) {
            int kk = (r & 1) ? 1 - k : k;
            double t0 = thread_ms();
            img_image *im = NULL;
            face_info *f = NULL;
            if (img_decode(jpg, len, NULL, &im, &err) != RC_OK) goto fail;
            rc_status st = face_analyze(w[kk], im, NULL, &f, &faces[kk], &err);
            img_free(im);
            free(f);
            if (st != RC_OK) goto fail;
            if (r >= 0) t[kk][r] = thread_ms() - t0;
        }
    printf("one-face 640x480 frame, decode -> face_analyze (%d and %d faces)\n", faces[0],
           faces[1]);
    print_ab("frame", t[0], t[1], runs);
    free(t[0]);
    free(t[1]);
    free(jpg);
    img_free(f640);
    img_free(src);
    face_worker_free(w[0]);
    face_worker_free(w[1]);
    face_models_free(m);
    return 0;
fail:
    fprintf(stderr, "band-ab: %s\n", err.msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODELS_DIR INT8_RANGES_DIR PHOTO [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 4 ? atoi(argv[4]) : 200;
    if (runs < 1) runs = 1;
    size_t nbig = (size_t)32 << 18; /* 32 MiB of floats */
    float *big = calloc(nbig, sizeof(float));
    if (!big) return 1;
    printf("thread CPU ms, median of %d runs each, alternating      no bands  bands   ratio\n",
           runs);
    int rc = bench_model(argv[1], argv[2], "fr_detect.onnx", 0, runs, big, nbig) ||
             bench_model(argv[1], argv[2], "fr_feature.onnx", 1, runs, big, nbig) ||
             bench_model(argv[1], argv[2], "fr_liveness.onnx", 2, runs, big, nbig) ||
             bench_frame(argv[1], argv[3], runs);
    free(big);
    return rc;
}
