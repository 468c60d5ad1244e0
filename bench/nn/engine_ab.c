/*
 * engine_ab.c — one network timed with two builds' engines in one process,
 * run for run in alternation (scripts/engine-ab builds the two shared
 * objects and runs this for the pipeline's networks). The host this project
 * is measured on moves by 15-30% from one minute to the next, which hides a
 * change of a few percent between two processes; within one process the
 * drift falls on both engines alike.
 *
 * Each engine is a shared object loaded with dlopen(RTLD_LOCAL), so both
 * copies of every symbol coexist; only nn.h's calls are used, and a missing
 * one is an error. Thread CPU time per run, the median over ROUNDS x PER
 * runs of each, and the ratio new / old (also at the 25th percentile).
 *
 * Usage: engine-ab OLD.so NEW.so MODEL.onnx float|bf16|int8:RANGES [ROUNDS] [PER]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn.h"
#include "rc/rc.h"

typedef rc_status (*load_fn)(const char *, nn_model **, rc_error *);
typedef rc_status (*quantize_fn)(nn_model *, const char *, unsigned, int *, rc_error *);
typedef rc_status (*bf16_fn)(nn_model *, int64_t, int *, rc_error *);
typedef rc_status (*create_fn)(const nn_model *, nn_session **, rc_error *);
typedef rc_status (*run_fn)(nn_session *, const float *const *, const nn_shape *, rc_error *);
typedef nn_shape (*shape_fn)(const nn_model *, int);

/* the face pipeline's bar for bf16 1x1 convolutions (NN_BF16_MIN_MACS) */
#define BF16_MIN_MACS 800000

static double thread_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *need(void *lib, const char *path, const char *name)
{
    void *f = dlsym(lib, name);
    if (!f) {
        fprintf(stderr, "engine-ab: %s has no %s\n", path, name);
        exit(1);
    }
    return f;
}

typedef struct {
    nn_session *s;
    run_fn run;
} engine;

/* Load `model` with the engine in `path`, as `mode` asks. */
static engine open_engine(const char *path, const char *model, const char *mode, nn_shape *shape)
{
    void *lib = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "engine-ab: %s\n", dlerror());
        exit(1);
    }
    nn_model *m = NULL;
    rc_error err = {0};
    int count = 0;
    if (((load_fn)need(lib, path, "nn_model_load"))(model, &m, &err) != RC_OK) {
        fprintf(stderr, "engine-ab: %s: %s\n", model, err.msg);
        exit(1);
    }
    rc_status st = RC_OK;
    if (!strncmp(mode, "int8:", 5))
        st = ((quantize_fn)need(lib, path, "nn_model_quantize"))(m, mode + 5, 0, &count, &err);
    else if (!strcmp(mode, "bf16"))
        st = ((bf16_fn)need(lib, path, "nn_model_bf16"))(m, BF16_MIN_MACS, &count, &err);
    else if (strcmp(mode, "float") != 0) {
        fprintf(stderr, "engine-ab: mode must be float, bf16 or int8:RANGES (got '%s')\n", mode);
        exit(2);
    }
    engine e = {NULL, (run_fn)need(lib, path, "nn_session_run")};
    if (st == RC_OK) st = ((create_fn)need(lib, path, "nn_session_create"))(m, &e.s, &err);
    if (st != RC_OK) {
        fprintf(stderr, "engine-ab: %s (%s, %s): %s\n", model, path, mode, err.msg);
        exit(1);
    }
    *shape = ((shape_fn)need(lib, path, "nn_model_input_shape"))(m, 0);
    return e;
}

int main(int argc, char **argv)
{
    if (argc < 5 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 5 ? stderr : stdout,
                "Usage: engine-ab OLD.so NEW.so MODEL.onnx float|bf16|int8:RANGES [ROUNDS] "
                "[PER]\n");
        return argc < 5 ? 2 : 0;
    }
    const char *model = argv[3], *mode = argv[4];
    int rounds = argc > 5 ? atoi(argv[5]) : 40, per = argc > 6 ? atoi(argv[6]) : 10;
    if (rounds < 1 || per < 1) {
        fprintf(stderr, "engine-ab: ROUNDS and PER must be positive\n");
        return 2;
    }
    nn_shape shape;
    engine e[2];
    for (int k = 0; k < 2; k++) e[k] = open_engine(argv[1 + k], model, mode, &shape);
    int64_t n = 1;
    for (int i = 0; i < shape.ndim; i++) n *= shape.d[i] > 0 ? shape.d[i] : 1;
    float *in = malloc(sizeof(float) * (size_t)n);
    double *t[2] = {malloc(sizeof(double) * (size_t)rounds * per),
                    malloc(sizeof(double) * (size_t)rounds * per)};
    if (!in || !t[0] || !t[1]) return 1;
    for (int64_t i = 0; i < n; i++) in[i] = (float)((i * 2654435761u) % 1000) / 500.f - 1.f;
    const float *ins[1] = {in};
    rc_error err = {0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 10; i++)
            if (e[k].run(e[k].s, ins, &shape, &err) != RC_OK) {
                fprintf(stderr, "engine-ab: %s: %s\n", model, err.msg);
                return 1;
            }
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < per; i++) {
                double t0 = thread_ms();
                e[k].run(e[k].s, ins, &shape, &err);
                t[k][r * per + i] = thread_ms() - t0;
            }
    int total = rounds * per;
    for (int k = 0; k < 2; k++) qsort(t[k], (size_t)total, sizeof(double), cmp_double);
    const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    printf("  %-18s %-6s %9.4f %9.4f %7.3f %7.3f\n", base,
           strncmp(mode, "int8:", 5) ? mode : "int8", t[0][total / 2], t[1][total / 2],
           t[1][total / 2] / t[0][total / 2], t[1][total / 4] / t[0][total / 4]);
    return 0;
}
