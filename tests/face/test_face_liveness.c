/* test_face_liveness.c — the liveness evaluation (suite 'data', release
 * build): real faces from ../shared/testdata/faces as a kiosk camera sees
 * them (rescaled only, and through a simulated camera) and print and screen spoofs made from the
 * same photos at test time (spoof.c, seeded: the same frames on every run). Prints the live-accept
 * rate on real faces, the spoof-reject rates and the score distributions,
 * for the pipeline and, measured in the same run as a reference, for the
 * crop it used before (a square of 2.7 x the clipped box height, area
 * averaged, R, G, B) and for the pipeline's crop fed in the package's
 * channel order (R, G, B; the pipeline feeds B, G, R, chosen on these
 * figures). Asserts that at FACE_DEFAULT_LIVENESS_THRESHOLD most
 * real faces pass and most spoofs do not, and that a face's score does not
 * depend on the resolution it is seen at.
 *
 * LIVENESS_BENCH=1 (bench/liveness.sh) also times the two crops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "face/face.h"
#include "nn/nn.h"
#include "spoof.h"

#include "face_fixture.h"

enum { REAL_FULL, REAL_PLAIN, REAL, PRINT, SCREEN, KINDS };
static const char *const kind_name[KINDS] = {"real, full size", "real, rescaled", "real, camera",
                                             "print attack", "screen replay"};

typedef struct {
    float *v; /* scores of detected faces */
    int n, cap;
    int missed; /* frames where no face was detected */
} scores;

/* LIVENESS_JITTER=J[,D]: every sample scored again J times with the
 * detector's box moved, each corner coordinate by a uniform offset within
 * +-D percent of the box height (default 0.5): how much the figures owe to
 * the exact box, measured on the same frames. */
enum { JIT_MAX = 16 };
static int jit_n;
static double jit_d = 0.5;

typedef struct {
    scores s[KINDS];            /* the pipeline */
    scores jit[JIT_MAX][KINDS]; /* the pipeline on jittered boxes */
    scores ref[KINDS];          /* the old crop */
    scores rgb[KINDS];          /* the pipeline's crop in the package's channel order */
    int faces;
    /* Per face: accepted at full size, and how many of its kiosk frames. */
    int full_ok, full_ok_frames, full_ok_frames_ok;
} eval;

static eval ev;
/* LIVENESS_SCORES=FILE: every pipeline score, one "photo face kind rep
 * score" line each (face-int8 compares float and int8 sample by sample). */
static FILE *dump;
static nn_session *live_ref;
static nn_model *live_model;

static void push(scores *s, float v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, sizeof(float) * (size_t)s->cap);
        assert_non_null(s->v);
    }
    s->v[s->n++] = v;
}

/* The crop before this evaluation: a square of side = the clipped box's
 * height, 2.7 times, shifted inside the frame, resized with area averaging,
 * fed as R, G, B. */
static img_image *old_crop(const img_image *im, const face_info *f)
{
    float side = f->y1 - f->y0, cx = (f->x0 + f->x1) / 2, cy = (f->y0 + f->y1) / 2;
    float W = (float)im->w, H = (float)im->h;
    float scale = fminf(fminf((H - 1) / side, (W - 1) / side), 2.7f);
    float ns = side * scale, l = cx - ns / 2, t = cy - ns / 2;
    if (l < 0) l = 0;
    if (t < 0) t = 0;
    if (l + ns > W - 1) l = W - 1 - ns;
    if (t + ns > H - 1) t = H - 1 - ns;
    return img_crop_resize(im, l, t, ns, ns, 128, 128, 0);
}

/* The live class's probability for a 1x3x128x128 input. */
static float live_prob(const float *t)
{
    nn_shape sh = {4, {1, 3, 128, 128}};
    const float *in[1] = {t};
    assert_int_equal(nn_session_run(live_ref, in, &sh, NULL), RC_OK);
    nn_shape s;
    const float *o = nn_session_output(live_ref, 0, &s);
    int k = (int)s.d[s.ndim - 1];
    float mx = o[0], sum = 0;
    for (int i = 1; i < k; i++) mx = fmaxf(mx, o[i]);
    for (int i = 0; i < k; i++) sum += expf(o[i] - mx);
    return expf(o[0] - mx) / sum;
}

static float old_score(const img_image *im, const face_info *f)
{
    static float t[3 * 128 * 128];
    img_image *c = old_crop(im, f);
    assert_non_null(c);
    for (int i = 0; i < 128 * 128; i++)
        for (int k = 0; k < 3; k++) t[k * 128 * 128 + i] = c->px[3 * i + k];
    img_free(c);
    return live_prob(t);
}

/* The pipeline's crop (face_liveness_input, B, G, R planes) fed as R, G, B,
 * the order the package's preprocessLiveness uses: the measurement behind
 * the pipeline's choice of B, G, R. */
static void push_rgb(scores *s, const img_image *im, const face_info *f)
{
    static float t[3 * 128 * 128];
    const size_t plane = 128 * 128;
    if (face_liveness_input(im, f->det_box, t) != 0) {
        s->missed++;
        return;
    }
    for (size_t i = 0; i < plane; i++) {
        float b = t[i];
        t[i] = t[2 * plane + i];
        t[2 * plane + i] = b;
    }
    push(s, live_prob(t));
}

/* The face's liveness again on jit_n jittered boxes (seeded by the sample). */
static void push_jitter(face_worker *w, const img_image *im, const face_info *f, int kind,
                        uint64_t key)
{
    float h = f->det_box[3] - f->det_box[1];
    for (int j = 0; j < jit_n; j++) {
        sp_rng r = sp_seed(key, 1000 + (uint64_t)j);
        face_info g = *f;
        for (int k = 0; k < 4; k++)
            g.det_box[k] += (float)sp_uniform(&r, -jit_d / 100 * h, jit_d / 100 * h);
        g.liveness = -1;
        assert_int_equal(face_liveness(w, im, &g, NULL), RC_OK);
        if (g.liveness < 0)
            ev.jit[j][kind].missed++;
        else
            push(&ev.jit[j][kind], g.liveness);
    }
}

/* The largest face of a frame, scored both ways; `key` names the sample
 * for LIVENESS_SCORES. */
static void score_frame(face_worker *w, const img_image *fr, int kind, const char *key,
                        uint64_t jkey, float *live)
{
    face_opts o = face_opts_default();
    o.landmarks = o.embedding = 0;
    face_info *f;
    int n;
    assert_int_equal(face_analyze(w, fr, &o, &f, &n, NULL), RC_OK);
    *live = -1;
    if (n == 0) {
        ev.s[kind].missed++;
        ev.ref[kind].missed++;
        ev.rgb[kind].missed++;
        for (int j = 0; j < jit_n; j++) ev.jit[j][kind].missed++;
    } else {
        *live = f[0].liveness;
        if (dump) fprintf(dump, "%s %.6f\n", key, f[0].liveness);
        push(&ev.s[kind], f[0].liveness);
        push(&ev.ref[kind], old_score(fr, &f[0]));
        push_rgb(&ev.rgb[kind], fr, &f[0]);
        push_jitter(w, fr, &f[0], kind, jkey);
    }
    free(f);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The photos of a folder (sorted), or of every folder below it. */
static int list_jpegs(const char *dir, int depth, char **out, int n, int max)
{
    DIR *d = opendir(dir);
    if (!d) return n;
    char *names[512];
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 512)
        if (e->d_name[0] != '.') names[k++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)k, sizeof *names, cmp_name);
    for (int i = 0; i < k; i++) {
        char p[8192];
        snprintf(p, sizeof p, "%.4000s/%.255s", dir, names[i]);
        if (depth > 0) {
            /* id/: tight 150x150 crops (bbt_, dlib_) have no room around the
             * face for a kiosk frame or the 2.7x context crop. */
            if (strncmp(names[i], "bbt_", 4) && strncmp(names[i], "dlib_", 5))
                n = list_jpegs(p, depth - 1, out, n, max);
        } else if (strstr(names[i], ".jpg") && n < max) {
            out[n++] = strdup(p);
        }
        free(names[i]);
    }
    return n;
}

/* Build the set and score it: for each face of at least 96 px wholly inside
 * its photo (id/ ordinary photos and group/), the photo itself, two kiosk
 * frames with the face 120-300 px tall (at most 1.25x its size in the photo),
 * one print attack and one screen replay in front of a room from noface/. */
static int setup_eval(void **state)
{
    if (setup(state) != 0) return -1;
    const char *jv = getenv("LIVENESS_JITTER");
    if (jv && sscanf(jv, "%d,%lf", &jit_n, &jit_d) < 1) jit_n = 0;
    if (jit_n < 0 || jit_n > JIT_MAX || !(jit_d >= 0 && jit_d <= 20)) {
        fprintf(stderr, "# LIVENESS_JITTER: J (0..%d)[,D percent (0..20)], got %s\n", JIT_MAX, jv);
        return -1;
    }
    rc_error err;
    char p[4096];
    snprintf(p, sizeof p, "%s/fr_liveness.onnx",
             getenv("ROLLCALL_MODELS") ? getenv("ROLLCALL_MODELS") : "models");
    if (nn_model_load(p, &live_model, &err) != RC_OK ||
        nn_session_create(live_model, &live_ref, &err) != RC_OK) {
        fprintf(stderr, "# %s\n", err.msg);
        return -1;
    }
    char *photos[256], *rooms_p[32];
    int np = 0, nr;
    snprintf(p, sizeof p, "%s/id", faces_dir);
    np = list_jpegs(p, 1, photos, np, 256);
    snprintf(p, sizeof p, "%s/group", faces_dir);
    np = list_jpegs(p, 0, photos, np, 256);
    snprintf(p, sizeof p, "%s/noface", faces_dir);
    nr = list_jpegs(p, 0, rooms_p, 0, 32);
    img_image *rooms[32];
    int nrooms = 0;
    for (int i = 0; i < nr; i++) {
        img_image *im;
        /* A room wants some size: the 1-channel video frame and small
         * photos are fine, a blank image is a plain wall. */
        if (img_load(rooms_p[i], NULL, &im, NULL) == RC_OK) rooms[nrooms++] = im;
        free(rooms_p[i]);
    }
    if (np == 0 || nrooms == 0) return 0; /* the tests skip */
    face_worker *w;
    if (face_worker_create(models, &w, &err) != RC_OK) return -1;
    face_opts o = face_opts_default();
    o.landmarks = o.embedding = 0;
    const char *dump_path = getenv("LIVENESS_SCORES");
    if (dump_path && !(dump = fopen(dump_path, "w"))) return -1;
    for (int i = 0; i < np; i++) {
        img_image *ph;
        if (img_load(photos[i], NULL, &ph, &err) != RC_OK) {
            fprintf(stderr, "# %s\n", err.msg);
            free(photos[i]);
            continue;
        }
        face_info *f;
        int n;
        if (face_analyze(w, ph, &o, &f, &n, &err) != RC_OK) return -1;
        for (int j = 0; j < n; j++) {
            float h = f[j].y1 - f[j].y0, box[4] = {f[j].x0, f[j].y0, f[j].x1, f[j].y1};
            if (h < 96 || f[j].x0 <= 0 || f[j].y0 <= 0 || f[j].x1 >= ph->w || f[j].y1 >= ph->h)
                continue;
            ev.faces++;
            if (dump) fprintf(dump, "%d %d %d 0 %.6f\n", i, j, REAL_FULL, f[j].liveness);
            push(&ev.s[REAL_FULL], f[j].liveness);
            push(&ev.ref[REAL_FULL], old_score(ph, &f[j]));
            push_rgb(&ev.rgb[REAL_FULL], ph, &f[j]);
            push_jitter(w, ph, &f[j], REAL_FULL, (uint64_t)i * 64 + (uint64_t)j);
            int full_ok = f[j].liveness >= FACE_DEFAULT_LIVENESS_THRESHOLD;
            ev.full_ok += full_ok;
            for (int kind = REAL_PLAIN; kind < KINDS; kind++) {
                for (int rep = 0; rep < (kind == REAL || kind == REAL_PLAIN ? 2 : 1); rep++) {
                    sp_rng r = sp_seed((uint64_t)i * 64 + (uint64_t)j, (uint64_t)(kind * 8 + rep));
                    float hi = fminf(300, 1.25f * h);
                    float px = hi <= 120 ? hi : (float)sp_uniform(&r, 120, hi);
                    const img_image *room = rooms[(i + j * 7 + kind) % nrooms];
                    img_image *fr = kind == REAL_PLAIN ? sp_real_frame(ph, box, px, 0, &r)
                                    : kind == REAL     ? sp_real_frame(ph, box, px, 1, &r)
                                    : kind == PRINT    ? sp_print_attack(ph, box, room, px, &r)
                                                       : sp_screen_replay(ph, box, room, px, &r);
                    if (!fr) return -1;
                    float live;
                    char key[64];
                    snprintf(key, sizeof key, "%d %d %d %d", i, j, kind, rep);
                    score_frame(w, fr, kind, key,
                                ((uint64_t)i * 64 + (uint64_t)j) * 64 + (uint64_t)(kind * 8 + rep),
                                &live);
                    if (kind == REAL_PLAIN && full_ok) {
                        ev.full_ok_frames++;
                        ev.full_ok_frames_ok += live >= FACE_DEFAULT_LIVENESS_THRESHOLD;
                    }
                    img_free(fr);
                }
            }
        }
        free(f);
        img_free(ph);
        free(photos[i]);
    }
    face_worker_free(w);
    for (int i = 0; i < nrooms; i++) img_free(rooms[i]);
    if (dump && fclose(dump) != 0) return -1;
    dump = NULL;
    return 0;
}

static int teardown_eval(void **state)
{
    for (int k = 0; k < KINDS; k++) {
        free(ev.s[k].v);
        free(ev.ref[k].v);
        free(ev.rgb[k].v);
        for (int j = 0; j < JIT_MAX; j++) free(ev.jit[j][k].v);
    }
    nn_session_free(live_ref);
    nn_model_free(live_model);
    return teardown(state);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Percent of the frames whose face passes (spoofs: does not pass, a frame
 * without a detected face counting as refused). */
static double rate(const scores *s, float thr, int spoof)
{
    int pass = 0;
    for (int i = 0; i < s->n; i++) pass += s->v[i] >= thr;
    int total = s->n + s->missed;
    if (!total) return 0;
    return 100.0 * (spoof ? total - pass : pass) / total;
}

static void print_quantiles(const char *label, scores *s)
{
    float *v = malloc(sizeof(float) * (size_t)(s->n ? s->n : 1));
    memcpy(v, s->v, sizeof(float) * (size_t)s->n);
    qsort(v, (size_t)s->n, sizeof(float), cmp_float);
    static const double q[7] = {0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95};
    printf("#   %-18s n=%3d (+%d undetected)  p5..p95:", label, s->n, s->missed);
    for (int i = 0; i < 7; i++) printf(" %.3f", s->n ? v[(int)(q[i] * (s->n - 1))] : 0.f);
    printf("\n");
    free(v);
}

static void print_table(const char *title, scores *s)
{
    printf("# %s\n", title);
    for (int k = 0; k < KINDS; k++) print_quantiles(kind_name[k], &s[k]);
    printf("#   threshold | live-accept: camera  rescaled  full size | reject: print  screen\n");
    static const float thr[9] = {0.05f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 0.8f, 0.9f, 0.95f};
    for (int t = 0; t < 9; t++)
        printf("#   %9.2f | %19.1f%% %8.1f%% %9.1f%% | %13.1f%% %6.1f%%\n", thr[t],
               rate(&s[REAL], thr[t], 0), rate(&s[REAL_PLAIN], thr[t], 0),
               rate(&s[REAL_FULL], thr[t], 0), rate(&s[PRINT], thr[t], 1),
               rate(&s[SCREEN], thr[t], 1));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of the crop alone (no network) on a 640x480 frame and on a
 * full-size photo, the pipeline's crop beside the old one. */
static void bench_crops(void)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/id/deepface_person09/3.jpg", faces_dir);
    img_image *big;
    if (img_load(p, NULL, &big, NULL) != RC_OK) return;
    face_worker *w;
    assert_int_equal(face_worker_create(models, &w, NULL), RC_OK);
    face_opts o = face_opts_default();
    o.landmarks = o.embedding = o.liveness = 0;
    face_info *f;
    int n;
    assert_int_equal(face_analyze(w, big, &o, &f, &n, NULL), RC_OK);
    assert_true(n >= 1);
    float box[4] = {f[0].x0, f[0].y0, f[0].x1, f[0].y1};
    sp_rng r = sp_seed(1, 1);
    img_image *kiosk = sp_real_frame(big, box, 200, 1, &r);
    face_info *g;
    int ng;
    assert_int_equal(face_analyze(w, kiosk, &o, &g, &ng, NULL), RC_OK);
    assert_true(ng >= 1);
    static float t[3 * 128 * 128];
    const struct {
        const char *name;
        const img_image *im;
        const face_info *f;
    } cases[2] = {{"640x480 frame", kiosk, &g[0]}, {"3061x4600 photo", big, &f[0]}};
    printf("# crop + resize to the 128x128 input, CPU ms per face (median of 9 x 50)\n");
    for (int c = 0; c < 2; c++) {
        float b[4] = {cases[c].f->x0, cases[c].f->y0, cases[c].f->x1, cases[c].f->y1};
        double best[2][9];
        for (int rep = 0; rep < 9; rep++) {
            double t0 = cpu_ms();
            for (int i = 0; i < 50; i++) face_liveness_input(cases[c].im, b, t);
            double t1 = cpu_ms();
            for (int i = 0; i < 50; i++) {
                img_image *cr = old_crop(cases[c].im, cases[c].f);
                for (int k = 0; k < 128 * 128 * 3; k++) t[k] = cr->px[k];
                img_free(cr);
            }
            best[0][rep] = (t1 - t0) / 50;
            best[1][rep] = (cpu_ms() - t1) / 50;
        }
        for (int k = 0; k < 2; k++) qsort(best[k], 9, sizeof(double), cmp_double);
        printf("#   %-16s pipeline %.3f ms   old crop %.3f ms\n", cases[c].name, best[0][4],
               best[1][4]);
    }
    free(f);
    free(g);
    img_free(kiosk);
    img_free(big);
    face_worker_free(w);
}

/* The figures on jittered boxes: each jitter set's, their mean and range,
 * beside the exact boxes', at 0.5 and at the default threshold. */
static void print_jitter(float T)
{
    printf("# the same frames with the box moved by up to %.2f%% of its height per coordinate, "
           "%d sets (LIVENESS_JITTER): figure on the exact boxes | mean of the sets [min, max]\n",
           jit_d, jit_n);
    static const int spoof[KINDS] = {0, 0, 0, 1, 1};
    static const int order[KINDS] = {REAL, REAL_PLAIN, REAL_FULL, PRINT, SCREEN};
    for (int t = 0; t < 2; t++) {
        float thr = t ? T : 0.5f;
        printf("#   at %.2f:", thr);
        for (int o = 0; o < KINDS; o++) {
            int k = order[o];
            double sum = 0, lo = 101, hi = -1;
            for (int j = 0; j < jit_n; j++) {
                double v = rate(&ev.jit[j][k], thr, spoof[k]);
                sum += v;
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
            printf(" %s %.1f%% | %.1f%% [%.1f, %.1f];", kind_name[k], rate(&ev.s[k], thr, spoof[k]),
                   sum / jit_n, lo, hi);
        }
        printf("\n");
    }
}

static void liveness_separates_real_faces_from_spoofs(void **state)
{
    (void)state;
    if (ev.faces == 0) skip();
    float T = FACE_DEFAULT_LIVENESS_THRESHOLD;
    printf("# liveness evaluation: %d faces; per face two 640x480 (at most) kiosk frames with the "
           "face 120-300 px, rescaled only and through the camera model, one print attack, one "
           "screen replay\n",
           ev.faces);
    print_table("pipeline (the package's crop, bilinear, B,G,R):", ev.s);
    print_table("reference, same frames: the old crop (square of the clipped box height, area "
                "resize, R,G,B):",
                ev.ref);
    print_table("channel order, same frames: the pipeline's crop fed R,G,B (the package's "
                "order):",
                ev.rgb);
    for (int k = 0; k < 2; k++) {
        float t = k ? T : 0.5f;
        printf("# channel order at %.2f: live-accept rescaled %.1f%% B,G,R against %.1f%% R,G,B; "
               "through the camera model %.1f%% against %.1f%%; print reject %.1f%% against "
               "%.1f%%; screen reject %.1f%% against %.1f%%\n",
               t, rate(&ev.s[REAL_PLAIN], t, 0), rate(&ev.rgb[REAL_PLAIN], t, 0),
               rate(&ev.s[REAL], t, 0), rate(&ev.rgb[REAL], t, 0), rate(&ev.s[PRINT], t, 1),
               rate(&ev.rgb[PRINT], t, 1), rate(&ev.s[SCREEN], t, 1), rate(&ev.rgb[SCREEN], t, 1));
    }
    if (jit_n) print_jitter(T);
    double acc = rate(&ev.s[REAL], T, 0), acc_plain = rate(&ev.s[REAL_PLAIN], T, 0),
           pr = rate(&ev.s[PRINT], T, 1), sr = rate(&ev.s[SCREEN], T, 1);
    printf("# at the default threshold %.2f: live-accept %.1f%% through the camera model, %.1f%% "
           "rescaled (old crop %.1f%%, %.1f%%); print reject %.1f%% (old %.1f%%), screen reject "
           "%.1f%% (old %.1f%%)\n",
           T, acc, acc_plain, rate(&ev.ref[REAL], T, 0), rate(&ev.ref[REAL_PLAIN], T, 0), pr,
           rate(&ev.ref[PRINT], T, 1), sr, rate(&ev.ref[SCREEN], T, 1));
    printf("# faces live at full size: %d of %d; their rescaled kiosk frames live: %d of %d\n",
           ev.full_ok, ev.faces, ev.full_ok_frames_ok, ev.full_ok_frames);
    if (getenv("LIVENESS_BENCH")) bench_crops();
    assert_true(ev.faces >= 100);
    /* The channel order is the one that accepts more real faces (measured
     * at 0.7: B,G,R 92% rescaled and 73% through the camera model, R,G,B
     * 63% and 41%; spoofs are rejected about alike). */
    assert_true(acc_plain > rate(&ev.rgb[REAL_PLAIN], T, 0));
    assert_true(acc > rate(&ev.rgb[REAL], T, 0));
    /* Measured at 0.7: 92%, 73%, 84%, 92% (the old crop: 61%, 35%, 83%, 95%). */
    assert_true(acc_plain >= 88.0);
    assert_true(acc >= 65.0);
    assert_true(pr >= 75.0);
    assert_true(sr >= 85.0);
    /* A face live at full size stays live at kiosk size. */
    assert_true(ev.full_ok_frames_ok >= 0.93 * ev.full_ok_frames);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(liveness_separates_real_faces_from_spoofs),
    };
    return cmocka_run_group_tests(tests, setup_eval, teardown_eval);
}
