/*
 * bench_face.c — `rollcall bench pipeline` (per-stage milliseconds of the
 * face pipeline on a 640x480 frame with one face and on a group photo) and
 * `rollcall bench gallery` (search time for 1k..1M random templates, the
 * plain C kernel beside the SIMD ones, measured in the same run).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gallery/gallery.h"
#include "../nn/nn.h"
#include "cli.h"
#include "face_util.h"

/* ---- bench pipeline ------------------------------------------------------ */

static void pipeline_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall bench pipeline [OPTIONS] [ONE_FACE.jpg [GROUP.jpg]]\n\n"
                 "Median milliseconds per stage (decode, detect, landmarks, align, embed,\n"
                 "liveness, quality, search in a 10 000-template gallery) over many runs, on one\n"
                 "thread: for a 640x480 frame with one face (the first photo, resized to\n"
                 "640x480 and re-encoded as JPEG) and for a group photo as it is. Defaults are\n"
                 "photos from $ROLLCALL_TESTDATA/faces. The reference column is the same\n"
                 "frame through the plain pre-processing and libjpeg-turbo's decoder, taking\n"
                 "turns with the default path frame by frame. After the one-face frame, this\n"
                 "core's fp32 multiply-add rate measured just before and after its runs (a\n"
                 "probe in registers only, which follows a shared host's speed of the moment).\n\n"
                 "Options:\n"
                 "  -n, --runs N       timed runs per frame (default 30)\n"
                 "      --cpu-time     thread CPU time instead of wall-clock time\n"
                 "      --one          the one-face frame only\n"
                 "      --save-frame F write the one-face 640x480 JPEG to F (for a reference\n"
                 "                     pipeline to run on the same bytes)\n"
                 "  -m, --models DIR   ONNX models (default $ROLLCALL_MODELS or ./models)\n"
                 "  -h, --help         show this help\n");
}

enum { S_DECODE, S_DETECT, S_LM, S_ALIGN, S_EMBED, S_LIVE, S_QUAL, S_SEARCH, S_TOTAL, S_N };
static const char *const stage_names[S_N] = {"decode",   "detect",  "landmarks", "align", "embed",
                                             "liveness", "quality", "search",    "total"};

/* One run of decode -> face_analyze -> search on a frame: each stage's ms
 * into t[S_N], the number of faces into *faces. */
static int run_frame(const unsigned char *jpg, size_t len, face_worker *w, gallery *g, int cpu_time,
                     int reference, double t[S_N], int *faces)
{
    double t0 = cpu_time ? rc_thread_cpu_ms() : rc_mono_ms();
    img_image *im = NULL;
    rc_error err;
    /* the reference decode: libjpeg-turbo alone (the same bytes) */
    img_decode_opts dopts = {.libjpeg_only = reference};
    if (img_decode(jpg, len, &dopts, &im, &err) != RC_OK) {
        fprintf(stderr, "rollcall bench pipeline: %s\n", err.msg);
        return 1;
    }
    double t1 = cpu_time ? rc_thread_cpu_ms() : rc_mono_ms();
    face_info *f = NULL;
    int n = 0;
    int rc = 0;
    if (face_analyze(w, im, NULL, &f, &n, &err) != RC_OK) {
        fprintf(stderr, "rollcall bench pipeline: %s\n", err.msg);
        rc = 1;
    }
    double t2 = cpu_time ? rc_thread_cpu_ms() : rc_mono_ms();
    for (int i = 0; i < n; i++) gallery_identify(g, f[i].embedding, NULL);
    double t3 = cpu_time ? rc_thread_cpu_ms() : rc_mono_ms();
    face_timings ft = face_worker_timings(w);
    t[S_DECODE] = t1 - t0;
    t[S_DETECT] = ft.detect;
    t[S_LM] = ft.landmarks;
    t[S_ALIGN] = ft.align;
    t[S_EMBED] = ft.embed;
    t[S_LIVE] = ft.liveness;
    t[S_QUAL] = ft.quality;
    t[S_SEARCH] = t3 - t2;
    t[S_TOTAL] = t3 - t0;
    *faces = n;
    free(f);
    img_free(im);
    return rc;
}

/* One frame both ways in the same run: the worker's reference path (the
 * straightforward pre-processing the fused one is tested against, the JPEG
 * decoded by libjpeg-turbo alone) and the default path (fused
 * pre-processing, the built-in JPEG decoder where it runs), per stage, with
 * the ratio. The two paths take turns
 * frame by frame, so a slow minute of the host falls on both alike. */
static int bench_both(const char *label, const unsigned char *jpg, size_t len, face_worker *w,
                      gallery *g, int runs, int cpu_time)
{
    double *t[2][S_N], one[S_N], med[2][S_N];
    int nfaces[2] = {0, 0}, rc = 0;
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < S_N; s++) t[k][s] = calloc((size_t)runs, sizeof(double));
    face_worker_time_cpu(w, cpu_time);
    for (int r = -2; r < runs && rc == 0; r++) /* two warm-up runs */
        for (int k = 0; k < 2 && rc == 0; k++) {
            face_worker_use_reference(w, k == 0);
            rc = run_frame(jpg, len, w, g, cpu_time, k == 0, one, &nfaces[k]);
            for (int s = 0; s < S_N && r >= 0; s++) t[k][s][r] = one[s];
        }
    face_worker_use_reference(w, 0);
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < S_N; s++) {
            if (rc == 0) med[k][s] = rc_median(t[k][s], runs);
            free(t[k][s]);
        }
    if (rc) return rc;
    printf("%s: %d face%s, median of %d runs (ms, %s)\n", label, nfaces[1],
           nfaces[1] == 1 ? "" : "s", runs, cpu_time ? "thread CPU time" : "wall-clock");
    if (nfaces[0] != nfaces[1]) printf("  (the reference path found %d faces)\n", nfaces[0]);
    printf("  %-10s %10s %10s %7s\n", "stage", "reference", "rollcall", "ratio");
    for (int s = 0; s < S_N; s++)
        printf("  %-10s %10.3f %10.3f %6.2fx\n", stage_names[s], med[0][s], med[1][s],
               med[1][s] > 0 ? med[0][s] / med[1][s] : 0);
    return 0;
}

int cli_bench_pipeline(int argc, char **argv)
{
    static const struct option opts[] = {
        {"runs", required_argument, NULL, 'n'},
        {"models", required_argument, NULL, 'm'},
        {"cpu-time", no_argument, NULL, 'c'},
        {"one", no_argument, NULL, '1'},
        {"save-frame", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int runs = 30, c, cpu_time = 0, one_only = 0;
    const char *models_opt = NULL, *save_frame = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_int("bench pipeline", "--runs", optarg, 1, 100000, &runs)) return 2;
            break;
        case 'm':
            models_opt = optarg;
            break;
        case 'c':
            cpu_time = 1;
            break;
        case '1':
            one_only = 1;
            break;
        case 's':
            save_frame = optarg;
            break;
        case 'h':
            pipeline_usage(stdout);
            return 0;
        default:
            pipeline_usage(stderr);
            return 2;
        }
    }
    const char *td = getenv("ROLLCALL_TESTDATA");
    char one[4096], group[4096];
    snprintf(one, sizeof one, "%s/faces/id/deepface_angelina/1.jpg",
             td ? td : "../shared/testdata");
    snprintf(group, sizeof group, "%s/faces/group/dlib_bald_guys.jpg",
             td ? td : "../shared/testdata");
    if (optind < argc) snprintf(one, sizeof one, "%s", argv[optind]);
    if (optind + 1 < argc) snprintf(group, sizeof group, "%s", argv[optind + 1]);

    face_models *m;
    face_worker *w;
    if (cli_face_open("bench pipeline", cli_models_dir(models_opt), 0, &m, &w)) return 1;
    int rc = 1;
    gallery *g = NULL;
    unsigned char *frame = NULL, *gjpg = NULL;
    size_t frame_len = 0, glen = 0;
    img_image *src = cli_load_image("bench pipeline", one);
    if (!src) goto done;
    /* The one-face frame: a 640x480 JPEG, as a camera would send it. */
    img_image *f640 = img_resize(src, 640, 480, IMG_RESIZE_AUTO);
    img_free(src);
    rc_error err;
    if (!f640 || img_encode_jpeg(f640, 90, &frame, &frame_len, &err) != RC_OK) {
        img_free(f640);
        goto done;
    }
    /* The same encoder and quality: the same bytes as `frame`. */
    if (save_frame && img_save_jpeg(f640, 90, save_frame, &err) != RC_OK) {
        fprintf(stderr, "rollcall bench pipeline: %s\n", err.msg);
        img_free(f640);
        goto done;
    }
    img_free(f640);
    if (rc_read_file(group, 64u << 20, &gjpg, &glen, &err) != RC_OK) {
        fprintf(stderr, "rollcall bench pipeline: %s\n", err.msg);
        goto done;
    }
    /* A gallery of 10 000 random templates for the search stage. */
    if (gallery_create(FACE_EMB_DIM, &g, NULL) != RC_OK) goto done;
    uint64_t s = 12345;
    float v[FACE_EMB_DIM];
    for (int i = 0; i < 10000; i++) {
        for (int k = 0; k < FACE_EMB_DIM; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[k] = (float)(s >> 40) / (float)(1 << 24) - 0.5f;
        }
        gallery_add(g, i / 5, i, v, NULL);
    }
    printf("one thread; models with int8 convolutions: %d, with bf16 ones: %d; gallery search "
           "in 10 000 templates (%s kernel)\n",
           face_models_int8(m), face_models_bf16(m), gallery_kernel_name(gallery_get_kernel(g)));
    /* The host's speed of the moment, before and after: a register-only
     * probe, which moves with it (on a shared host, 85-115 G/s from one
     * minute to the next), so a run's figures can be read against it. */
    const char *instr = NULL;
    double before = nn_peak_gmacs(NN_PEAK_F32, 30, &instr);
    rc = bench_both("640x480 frame, one face", frame, frame_len, w, g, runs, cpu_time);
    double after = nn_peak_gmacs(NN_PEAK_F32, 30, &instr);
    if (before > 0)
        printf("this core's fp32 multiply-add rate before / after the frame's runs: %.1f / %.1f "
               "G/s (%s, registers only)\n",
               before, after, instr);
    if (rc == 0 && !one_only) {
        char label[4200];
        const char *b = strrchr(group, '/');
        snprintf(label, sizeof label, "group photo %s", b ? b + 1 : group);
        rc = bench_both(label, gjpg, glen, w, g, runs, cpu_time);
    }
done:
    free(frame);
    free(gjpg);
    gallery_free(g);
    face_worker_free(w);
    face_models_free(m);
    return rc;
}

/* ---- bench gallery ------------------------------------------------------- */

static void gallery_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall bench gallery [OPTIONS]\n\n"
                 "Time one top-10 search of a 512-d query against galleries of 1 000, 10 000,\n"
                 "100 000 and 1 000 000 random templates (median of several queries), with the\n"
                 "plain C kernel (the reference) and each SIMD kernel this CPU has (avx2,\n"
                 "avxvnni, avx512, avx512vnni: the VNNI ones differ in the int8 first pass\n"
                 "only); then one gallery_identify by the old rule (best template) beside\n"
                 "the default (centroid), 4 templates a person, with the kernel the gallery\n"
                 "picks for this CPU.\n"
                 "1 000 000 templates take 2 GB of memory.\n\n"
                 "Options:\n"
                 "      --max N      largest gallery (default 1000000)\n"
                 "  -n, --runs N     queries per size (default 20)\n"
                 "  -h, --help       show this help\n");
}

/* Fill v with the next pseudo-random vector of the bench's sequence. */
static void next_vector(uint64_t *s, float *v, int dim)
{
    for (int k = 0; k < dim; k++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        v[k] = (float)(*s >> 40) / (float)(1 << 24) - 0.5f;
    }
}

/* Median ms of one gallery_identify_with by `rule` over `runs` random queries. */
static double time_identify(gallery *g, gallery_rule rule, int runs, uint64_t *s, float *v,
                            double *t)
{
    gallery_rule_opts o = {GALLERY_DEFAULT_THRESHOLD, rule, 1, 0};
    for (int r = -1; r < runs; r++) {
        next_vector(s, v, gallery_dim(g));
        double t0 = rc_mono_ms();
        gallery_identify_with(g, v, &o);
        if (r >= 0) t[r] = rc_mono_ms() - t0;
    }
    return rc_median(t, runs);
}

int cli_bench_gallery(int argc, char **argv)
{
    static const struct option opts[] = {
        {"max", required_argument, NULL, 'x'},
        {"runs", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int max = 1000000, runs = 20, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'x':
            if (cli_parse_int("bench gallery", "--max", optarg, 1000, 10000000, &max)) return 2;
            break;
        case 'n':
            if (cli_parse_int("bench gallery", "--runs", optarg, 1, 100000, &runs)) return 2;
            break;
        case 'h':
            gallery_usage(stdout);
            return 0;
        default:
            gallery_usage(stderr);
            return 2;
        }
    }
    const int dim = FACE_EMB_DIM;
    gallery *g;
    rc_error err;
    if (gallery_create(dim, &g, &err) != RC_OK) {
        fprintf(stderr, "rollcall bench gallery: %s\n", err.msg);
        return 1;
    }
    enum { NK = 5 };
    gallery_kernel kernels[NK] = {GALLERY_KERNEL_SCALAR, GALLERY_KERNEL_AVX2,
                                  GALLERY_KERNEL_AVX_VNNI, GALLERY_KERNEL_AVX512,
                                  GALLERY_KERNEL_AVX512_VNNI};
    gallery_kernel best_kernel = gallery_get_kernel(g);
    printf("top-10 search, %d-d templates, one thread, median of %d queries (ms)\n", dim, runs);
    printf("%10s", "templates");
    for (int k = 0; k < NK; k++)
        if (gallery_kernel_available(kernels[k])) printf(" %10s", gallery_kernel_name(kernels[k]));
    printf(" %9s %10s %10s\n", "speedup", "id best", "id centr");
    uint64_t s = 99;
    float *v = malloc(sizeof(float) * dim);
    double *t = malloc(sizeof(double) * (size_t)runs);
    size_t have = 0;
    int rc = 0;
    for (int size = 1000; size <= max && rc == 0; size *= 10) {
        fprintf(stderr, "filling %d templates...\r", size);
        for (; have < (size_t)size; have++) {
            next_vector(&s, v, dim);
            if (gallery_add(g, (int64_t)have / 4, (int64_t)have, v, &err) != RC_OK) {
                fprintf(stderr, "rollcall bench gallery: %s\n", err.msg);
                rc = 1;
                break;
            }
        }
        if (rc) break;
        printf("%10d", size);
        double scalar = 0, best = 0;
        for (int k = 0; k < NK; k++) {
            if (!gallery_kernel_available(kernels[k])) continue;
            gallery_set_kernel(g, kernels[k], NULL);
            gallery_hit hits[10];
            for (int r = -1; r < runs; r++) {
                next_vector(&s, v, dim);
                double t0 = rc_mono_ms();
                gallery_search(g, v, 10, hits);
                if (r >= 0) t[r] = rc_mono_ms() - t0;
            }
            double med = rc_median(t, runs);
            if (kernels[k] == GALLERY_KERNEL_SCALAR) scalar = med;
            if (kernels[k] == best_kernel) best = med;
            printf(" %10.3f", med);
        }
        printf(" %8.1fx", best > 0 ? scalar / best : 0);
        /* gallery_identify with the best kernel: the old rule (best
         * template) beside the default (centroid: one more pass over the
         * person ids), same run. */
        gallery_set_kernel(g, best_kernel, NULL);
        printf(" %10.3f", time_identify(g, GALLERY_RULE_TOP_MEAN, runs, &s, v, t));
        printf(" %10.3f\n", time_identify(g, GALLERY_RULE_CENTROID, runs, &s, v, t));
        fflush(stdout);
    }
    printf("(speedup = plain C / the kernel chosen for this CPU (%s), same run; id best / id "
           "centr = gallery_identify by the best template / by the centroid, 4 templates a "
           "person, with that kernel)\n",
           gallery_kernel_name(best_kernel));
    free(v);
    free(t);
    gallery_free(g);
    return rc;
}
