/*
 * bench.c — `rollcall bench`: performance measurements. Each benchmark is a
 * row in a small table (name, summary, function), so other modules add theirs
 * (`bench gallery`, `bench pipeline`) with one line. `bench models` times
 * every default ONNX model on one thread and prints median and p90
 * milliseconds per run.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../nn/nn.h"
#include "../rc/rc.h"
#include "cli.h"

typedef struct {
    const char *name;
    const char *summary;
    cli_fn run;
} bench_entry;

static int bench_models(int argc, char **argv);

/* Add a benchmark here: name, one-line summary, function(argc, argv). */
static const bench_entry benches[] = {
    {"models", "time each ONNX model, one thread (median and p90 ms per run)", bench_models},
    {"pipeline", "face pipeline per-stage ms: one-face 640x480 frame, group photo",
     cli_bench_pipeline},
    {"gallery", "search time for 1k..1M templates, plain C beside SIMD", cli_bench_gallery},
};
#define NBENCH (sizeof benches / sizeof benches[0])

static void bench_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall bench BENCHMARK [OPTIONS]\n\n"
                 "Measure performance. Benchmarks:\n");
    for (size_t i = 0; i < NBENCH; i++)
        fprintf(out, "  %-10s %s\n", benches[i].name, benches[i].summary);
    fprintf(out, "\nRun 'rollcall bench BENCHMARK --help' for its options.\n");
}

int cli_bench(int argc, char **argv)
{
    if (argc < 2) {
        bench_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        bench_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NBENCH; i++)
        if (strcmp(argv[1], benches[i].name) == 0) return benches[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rollcall bench: unknown benchmark '%s'\n\n", argv[1]);
    bench_usage(stderr);
    return 2;
}

/* ---- bench models ---------------------------------------------------------- */

static void models_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall bench models [OPTIONS] [MODEL.onnx...]\n\n"
            "Time ONNX models on one thread with random inputs of each model's declared\n"
            "shape: median and 90th-percentile milliseconds per run after warm-up,\n"
            "and the multiply-adds a run does with the rate that gives (G/s). First, the\n"
            "core's ceiling measured in the same run: the rate of the widest fp32, int8\n"
            "and bf16 multiply-add instruction the engine uses on this CPU, in\n"
            "independent chains, so a model's or node's rate can be read against it.\n"
            "With no MODEL, every default model in the models directory is timed.\n\n"
            "Options:\n"
            "  -m, --models DIR   models directory (default ./models)\n"
            "  -n, --runs N       timed runs per model (default 50)\n"
            "  -w, --warmup N     untimed runs first (default 5)\n"
            "      --tsv          print tab-separated: model, median, p90, runs, input shape\n"
            "      --ops          also print each model's operators after fusion and the\n"
            "                     chains run in row bands (ROLLCALL_NN_BAND=0: none)\n"
            "      --cpu-time     measure thread CPU time instead of wall-clock time\n"
            "                     (steadier on a busy machine)\n"
            "      --profile[=N]  then print the N slowest nodes of each model (default 10),\n"
            "                     each with its rate (a chain run in row bands: on its last\n"
            "                     node, with the chain's time and multiply-adds)\n"
            "      --int8 DIR     run the convolutions in int8 with the ranges in\n"
            "                     DIR/MODEL.onnx.int8 (rollcall calibrate writes them);\n"
            "                     --int8 dynamic: with each input's own range\n"
            "      --bf16[=N]     run the 1x1 convolutions of at least N multiply-adds\n"
            "                     (default %d, what the face pipeline gives fr_liveness;\n"
            "                     0: all) in bf16 (CPUs with AVX-512 BF16; an error elsewhere)\n"
            "  -h, --help         show this help\n",
            NN_BF16_MIN_MACS);
}

static void shape_str(const nn_shape *s, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < s->ndim && o < len; k++)
        o += (size_t)snprintf(buf + o, len - o, k ? "x%lld" : "%lld", (long long)s->d[k]);
}

static int time_model(const char *path, const char *label, int runs, int warmup, bool tsv, bool ops,
                      bool cpu_time, int profile, const char *int8_dir, long long bf16)
{
    nn_model *m = NULL;
    rc_error err = {0};
    if (nn_model_load(path, &m, &err) != RC_OK) {
        fprintf(stderr, "rollcall bench models: %s\n", err.msg);
        return 1;
    }
    if (int8_dir) {
        char rpath[4096];
        int count = 0;
        snprintf(rpath, sizeof rpath, "%s/%s.int8", int8_dir, label);
        bool dynamic = strcmp(int8_dir, "dynamic") == 0;
        if (nn_model_quantize(m, dynamic ? NULL : rpath, 0, &count, &err) != RC_OK) {
            fprintf(stderr, "rollcall bench models: --int8: %s\n", err.msg);
            nn_model_free(m);
            return 1;
        }
        if (!tsv) printf("%s: %d convolutions in int8\n", label, count);
    }
    if (bf16 >= 0) {
        int count = 0;
        if (nn_model_bf16(m, bf16, &count, &err) != RC_OK) {
            fprintf(stderr, "rollcall bench models: --bf16: %s\n", err.msg);
            nn_model_free(m);
            return 1;
        }
        if (!tsv)
            printf("%s: %d convolutions with a bf16 form, used by calls of at least %lld "
                   "multiply-adds\n",
                   label, count, bf16);
    }
    int nin = nn_model_num_inputs(m);
    float **inputs = calloc((size_t)nin, sizeof *inputs);
    nn_shape *shapes = calloc((size_t)nin, sizeof *shapes);
    double *ms = calloc((size_t)runs, sizeof *ms);
    nn_session *s = NULL;
    int rc = 1;
    if (!inputs || !shapes || !ms) goto done;
    uint32_t seed = 7;
    for (int i = 0; i < nin; i++) {
        shapes[i] = nn_model_input_shape(m, i);
        int64_t n = 1;
        for (int k = 0; k < shapes[i].ndim; k++) {
            if (shapes[i].d[k] < 0) shapes[i].d[k] = 1;
            n *= shapes[i].d[k];
        }
        inputs[i] = malloc((size_t)n * sizeof(float));
        if (!inputs[i]) goto done;
        for (int64_t k = 0; k < n; k++) {
            seed = seed * 1664525u + 1013904223u;
            inputs[i][k] = (float)(seed >> 8) / (float)(1 << 24) * 2.0f - 1.0f;
        }
    }
    if (nn_session_create(m, &s, &err) != RC_OK) goto fail;
    for (int i = 0; i < warmup + runs; i++) {
        double t0 = cpu_time ? rc_thread_cpu_ms() : rc_mono_ms();
        if (nn_session_run(s, (const float *const *)inputs, shapes, &err) != RC_OK) goto fail;
        if (i >= warmup) ms[i - warmup] = (cpu_time ? rc_thread_cpu_ms() : rc_mono_ms()) - t0;
    }
    double median = rc_median(ms, runs); /* sorts ms, for the p90 below */
    double p90 = ms[(int)((runs - 1) * 0.9 + 0.5)];
    char dims[128] = "";
    size_t o = 0;
    for (int k = 0; k < shapes[0].ndim && o < sizeof dims; k++)
        o += (size_t)snprintf(dims + o, sizeof dims - o, k ? "x%lld" : "%lld",
                              (long long)shapes[0].d[k]);
    if (tsv)
        printf("%s\t%.3f\t%.3f\t%d\t%s\n", label, median, p90, runs, dims);
    else
        printf("%-20s %-14s %6d %10.3f %10.3f\n", label, dims, runs, median, p90);
    int64_t macs = 0;
    for (int i = 0; i < nn_model_num_nodes(m); i++) macs += nn_session_node_macs(s, i);
    if (!tsv && macs > 0)
        printf("  %.1f M multiply-adds a run: %.1f G/s at the median\n", macs / 1e6,
               median > 0 ? macs / (median * 1e6) : 0.0);
    if (profile) {
        /* a second pass with per-node timing; the top ten nodes */
        nn_session_profile(s, 1, NULL);
        for (int i = 0; i < runs; i++)
            if (nn_session_run(s, (const float *const *)inputs, shapes, &err) != RC_OK) goto fail;
        int nn = nn_model_num_nodes(m);
        double *t = calloc((size_t)nn + 1, sizeof *t);
        double total = 0;
        for (int i = 0; t && i < nn; i++) {
            const char *name, *op;
            if (nn_session_profile_report(s, i, &name, &op, &t[i], NULL, NULL)) total += t[i];
        }
        for (int k = 0; t && k < profile; k++) {
            int best = -1;
            for (int i = 0; i < nn; i++)
                if (t[i] > 0 && (best < 0 || t[i] > t[best])) best = i;
            if (best < 0) break;
            const char *name, *op;
            double v;
            nn_shape si, so;
            char a[64], b[64];
            nn_session_profile_report(s, best, &name, &op, &v, &si, &so);
            shape_str(&si, a, sizeof a);
            shape_str(&so, b, sizeof b);
            /* multiply-adds per second (G); a chain in row bands has its
             * time and its multiply-adds on its last node */
            int64_t nm = nn_session_node_macs(s, best);
            char rate[32] = "";
            if (nm > 0) snprintf(rate, sizeof rate, "%6.1f G/s", nm * (double)runs / (v * 1e6));
            printf("  %6.3f ms %5.1f%% %10s  %-12s %-16s %s -> %s\n", v / runs, 100 * v / total,
                   rate, op, name, a, b);
            t[best] = 0;
        }
        /* totals per operator type */
        const char *types[64];
        double tot[64];
        int nt = 0;
        for (int i = 0; i < nn; i++) {
            const char *name, *op;
            double v;
            if (!nn_session_profile_report(s, i, &name, &op, &v, NULL, NULL)) continue;
            int k = 0;
            while (k < nt && strcmp(types[k], op) != 0) k++;
            if (k == nt && nt < 64) {
                types[nt] = op;
                tot[nt++] = 0;
            }
            if (k < nt) tot[k] += v;
        }
        printf("  by operator:");
        for (int k = 0; k < nt; k++)
            if (tot[k] > 0) printf(" %s %.1f%%", types[k], total > 0 ? 100 * tot[k] / total : 0.0);
        printf("\n");
        free(t);
    }
    if (ops) {
        char buf[2048];
        int live = nn_model_describe(m, buf, sizeof buf);
        printf("  %d nodes after fusion: %s\n", live, buf);
        /* chains run as one step in row bands (README "Row bands"); their
         * --profile time is the last node's */
        int bands = nn_session_band_count(s, buf, sizeof buf);
        printf("  row bands: %d%s%s%s\n", bands, bands ? " (" : "", buf, bands ? ")" : "");
    }
    fflush(stdout);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "rollcall bench models: %s\n", err.msg);
done:
    nn_session_free(s);
    for (int i = 0; inputs && i < nin; i++) free(inputs[i]);
    free(inputs);
    free(shapes);
    free(ms);
    nn_model_free(m);
    return rc;
}

static void print_header(int runs, int warmup, bool cpu_time)
{
    printf("one thread, %d runs after %d warm-up runs, %s\n", runs, warmup,
           cpu_time ? "thread CPU time" : "wall-clock time");
    /* what the core can do, measured now, for the rates below */
    static const char *const types[] = {"fp32", "int8", "bf16"};
    printf("this core's ceiling (multiply-adds per second, G):");
    int any = 0;
    for (int k = NN_PEAK_F32; k <= NN_PEAK_BF16; k++) {
        const char *instr;
        double g = nn_peak_gmacs((nn_peak_kind)k, 30, &instr);
        if (g > 0) printf("%s %s %.1f (%s)", any++ ? "," : "", types[k], g, instr);
    }
    printf("%s\n", any ? "" : " none (the engine runs its plain C kernels here)");
    printf("%-20s %-14s %6s %10s %10s\n", "model", "input", "runs", "median ms", "p90 ms");
}

static int bench_models(int argc, char **argv)
{
    static const struct option opts[] = {
        {"models", required_argument, NULL, 'm'},
        {"runs", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'},
        {"tsv", no_argument, NULL, 't'},
        {"ops", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"cpu-time", no_argument, NULL, 'c'},
        {"profile", optional_argument, NULL, 'p'},
        {"int8", required_argument, NULL, 'i'},
        {"bf16", optional_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = "models", *int8_dir = NULL;
    int runs = 50, warmup = 5, c;
    bool tsv = false, ops = false, cpu_time = false;
    long long bf16 = -1; /* the fewest multiply-adds in bf16; -1: float */
    int profile = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:n:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            dir = optarg;
            break;
        case 'n':
            runs = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 't':
            tsv = true;
            break;
        case 'o':
            ops = true;
            break;
        case 'c':
            cpu_time = true;
            break;
        case 'i':
            int8_dir = optarg;
            break;
        case 'b': {
            char *end = NULL;
            bf16 = optarg ? strtoll(optarg, &end, 10) : NN_BF16_MIN_MACS;
            if (optarg && (end == optarg || *end || bf16 < 0)) {
                fprintf(stderr, "rollcall bench models: --bf16=N needs N >= 0\n");
                return 2;
            }
            break;
        }
        case 'p':
            profile = optarg ? atoi(optarg) : 10;
            if (profile < 1) {
                fprintf(stderr, "rollcall bench models: --profile=N needs N >= 1\n");
                return 2;
            }
            break;
        case 'h':
            models_usage(stdout);
            return 0;
        default:
            models_usage(stderr);
            return 2;
        }
    }
    if (runs < 1 || runs > 100000 || warmup < 0 || warmup > 100000) {
        fprintf(stderr, "rollcall bench models: --runs must be 1..100000, --warmup 0..100000\n");
        return 2;
    }
    if (bf16 >= 0 && !nn_bf16_available()) {
        fprintf(stderr, "rollcall bench models: --bf16: this CPU has no AVX-512 BF16\n");
        return 2;
    }
    int failed = 0;
    if (optind < argc) {
        if (!tsv) print_header(runs, warmup, cpu_time);
        for (int i = optind; i < argc; i++) {
            const char *base = strrchr(argv[i], '/');
            failed |= time_model(argv[i], base ? base + 1 : argv[i], runs, warmup, tsv, ops,
                                 cpu_time, profile, int8_dir, bf16);
        }
        return failed ? 1 : 0;
    }
    char **list = cli_list_models(dir);
    if (!list || !list[0]) {
        fprintf(stderr,
                "rollcall bench models: no models in '%s' (run 'make models', or pass "
                "--models DIR)\n",
                dir);
        cli_free_list(list);
        return 1;
    }
    if (!tsv) print_header(runs, warmup, cpu_time);
    for (int i = 0; list[i]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, list[i]);
        failed |=
            time_model(path, list[i], runs, warmup, tsv, ops, cpu_time, profile, int8_dir, bf16);
    }
    cli_free_list(list);
    return failed ? 1 : 0;
}
