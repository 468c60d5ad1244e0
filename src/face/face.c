/*
 * face.c — the pipeline proper: loading the default models, per-thread
 * workers, and face_analyze (detect -> landmarks -> align -> embed ->
 * liveness -> quality). Pre- and post-processing follow the model package's
 * own code (faceplugin lib/ JavaScript files): detector input 320x240 RGB (x-127)/128,
 * boxes already decoded; landmark crop = the square detection box, 64x64
 * gray / 256; embedding on the aligned 112x112 RGB crop (x-127)/128;
 * liveness on the package's 2.7x crop (face_liveness_rect) resized to
 * 128x128, raw 0..255 values in B, G, R order: the package feeds R, G, B,
 * but the model is Silent-Face-Anti-Spoofing's, trained on OpenCV's BGR
 * images, and BGR is what separates real faces from spoofs in the liveness
 * evaluation (tests/face/test_face_liveness.c: real faces rescaled to kiosk
 * size accepted 94% vs 72% at 0.5 with R, G, B; spoofs rejected alike).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../nn/nn.h"
#include "face.h"

enum { M_DETECT, M_LANDMARK, M_FEATURE, M_LIVENESS, M_AGE, M_GENDER, M_COUNT };
enum { Q8_MODELS = 2 }; /* how many run in int8 (int8_models) */
static const char *const model_files[M_COUNT] = {
    "fr_detect.onnx",   "fr_landmark.onnx", "fr_feature.onnx",
    "fr_liveness.onnx", "fr_age.onnx",      "fr_gender.onnx",
};

struct face_models {
    nn_model *m[M_COUNT];
    int det_w, det_h; /* detector input size */
    int det_scores, det_boxes;
    char emb_id[FACE_MODEL_ID];
    char q8_id[Q8_MODELS][FACE_MODEL_ID]; /* ids of the int8 models (int8_models) */
    int int8;                             /* models running in int8 */
    int bf16;                             /* models with bf16 convolutions */
    /* The detector again, cut before its box decoding (which holds priors
     * for its one input size) so that it runs on a region of any size
     * (face_detect_region); NULL when the model has no such raw head. In
     * int8 when the detector is (quantize_models). */
    nn_model *region;
};

/* The models int8 covers: the two whose convolutions dominate a frame.
 * Landmarks (0.2 ms) measured slower in int8; liveness faster (1.56 ->
 * 1.10 ms) but its scores moved too much (README "int8 inference"). */
static const int int8_models[Q8_MODELS] = {M_DETECT, M_FEATURE};

/* The models bf16 may cover (bf16_models): which run in bf16 by default,
 * and the fewest multiply-adds a 1x1 convolution must do to run in bf16
 * (nn_model_bf16). Measured beside float (README "bf16 inference"):
 * liveness is on, with its nineteen largest convolutions; the detector's boxes
 * move the liveness crop (as in int8), and the landmarks move two open-set
 * figures for 0.05 ms, so both stay float unless ROLLCALL_NN_BF16=all. */
static const struct {
    int model;
    bool by_default;
    int64_t min_macs;
} bf16_candidates[] = {
    {M_DETECT, false, 0},
    {M_LANDMARK, false, 0},
    {M_LIVENESS, true, NN_BF16_MIN_MACS},
};

/* The default detector's priors for one input size (priors_for). */
typedef struct {
    float *p; /* cx, cy, w, h per prior */
    size_t cap;
    int w, h, n;
} prior_set;

struct face_worker {
    const face_models *models;
    nn_session *s[M_COUNT];
    float *det_in; /* 3 x det_h x det_w */
    float lm_in[64 * 64];
    float emb_in[3 * FACE_ALIGN_SZ * FACE_ALIGN_SZ];
    float live_in[3 * 128 * 128];
    float attr_in[3 * 64 * 64];
    face_timings t;  /* of the last face_analyze */
    int cpu_clock;   /* time stages in thread CPU time (face_worker_time_cpu) */
    int reference;   /* straightforward pre-processing (face_worker_use_reference) */
    int calibrating; /* face_worker_calibrate: the detector's own session records */
    /* The detector before its box decoding (fm->region): face_detect_region
     * runs it on regions, with their input and the priors of the last region
     * size; the whole frame's detection (outside the reference path) on
     * det_in, decoding only the boxes it keeps, with the whole input's
     * priors. */
    nn_session *region;
    float *region_in;
    size_t region_cap;
    prior_set region_priors, frame_priors;
};

face_timings face_worker_timings(const face_worker *w)
{
    return w->t;
}

void face_worker_time_cpu(face_worker *w, int on)
{
    w->cpu_clock = on;
}

void face_worker_use_reference(face_worker *w, int on)
{
    w->reference = on;
}

/* The clock the worker's stage timings use. */
static double now_ms(const face_worker *w)
{
    if (!w->cpu_clock) return rc_mono_ms();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

face_opts face_opts_default(void)
{
    face_opts o = {
        .score_threshold = 0.7f,
        .nms_iou = 0.4f,
        .min_face = 0,
        .pad_retry = 1,
        .max_faces = 0,
        .landmarks = 1,
        .embedding = 1,
        .liveness = 1,
        .attributes = 0,
        .min_size = 40,
        .min_sharpness = 40.f,
        .max_yaw = 40.f,
        .max_pitch = 35.f,
        .max_roll = 35.f,
    };
    return o;
}

static void model_id_from_manifest(const char *dir, const char *file, char *id, size_t idlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *files = root ? json_object_get(root, "files") : NULL;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "file"));
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        if (name && sha && strcmp(name, file) == 0 && strlen(sha) >= 12) {
            snprintf(id, idlen, "%s@sha256:%.12s", file, sha);
            json_decref(root);
            return;
        }
    }
    json_decref(root);
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (stat(path, &st) == 0)
        snprintf(id, idlen, "%s@size:%lld", file, (long long)st.st_size);
    else
        snprintf(id, idlen, "%s", file);
}

/* Whether the ranges file `path` was made for the model with id `id`: its
 * "# model ID" line names it (a file without such a line, written by hand
 * or by an older calibrate, is taken on its Conv names alone). */
static bool ranges_for_model(const char *path, const char *id)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[512];
    bool ok = true;
    while (fgets(line, sizeof line, f) && line[0] == '#') {
        char named[FACE_MODEL_ID];
        if (sscanf(line, "# model %63s", named) == 1) {
            ok = strcmp(named, id) == 0;
            break;
        }
    }
    fclose(f);
    return ok;
}

/* int8 inference (see face.h): the int8 form of the embedding model (and
 * with ROLLCALL_NN_INT8=1 the detection model too), on by default where
 * the CPU has VNNI and the models directory has the ranges made for these
 * models. Embeddings keep the
 * model id: int8 stays within 0.1 point of float on the acceptance
 * figures, so galleries need not be rebuilt. Dynamic ranges (each input's
 * own) are there to be measured, not a fallback: they fail that bar
 * (README "int8 inference"). */
static rc_status quantize_models(face_models *fm, const char *dir, rc_error *err)
{
    const char *want = getenv("ROLLCALL_NN_INT8");
    if (want && *want && strcmp(want, "0") != 0 && strcmp(want, "1") != 0)
        return rc_fail(err, RC_ERR_INVALID, "ROLLCALL_NN_INT8=%s: expected 0 (float) or 1 (int8)",
                       want);
    if (want && strcmp(want, "0") == 0) return RC_OK;
    bool forced = want && strcmp(want, "1") == 0;
    if (!nn_int8_available()) {
        if (forced)
            rc_log(RC_LOG_INFO, "ROLLCALL_NN_INT8=1 but this CPU has no AVX-512 VNNI or "
                                "AVX-VNNI: the models run in float");
        return RC_OK;
    }
    const char *rdir = getenv("ROLLCALL_NN_INT8_RANGES");
    /* ranges asked for (or int8 asked for) must be there; by default their
     * absence means float */
    bool asked = forced || (rdir && *rdir);
    if (!rdir || !*rdir) rdir = dir;
    bool dynamic = strcmp(rdir, "dynamic") == 0;
    char path[Q8_MODELS][4096];
    /* By default only the embedding: the int8 detector's boxes move the
     * liveness crop enough to move the liveness evaluation by 2-3 points
     * (README "int8 inference"); ROLLCALL_NN_INT8=1 takes both. */
    bool use[Q8_MODELS];
    for (int k = 0; k < Q8_MODELS; k++) use[k] = forced || int8_models[k] != M_DETECT;
    for (int k = 0; k < Q8_MODELS; k++) {
        if (!use[k]) continue;
        snprintf(path[k], sizeof path[k], "%s/%s.int8", rdir, model_files[int8_models[k]]);
        if (dynamic || ranges_for_model(path[k], fm->q8_id[k])) continue;
        bool there = access(path[k], F_OK) == 0;
        if (asked)
            return rc_fail(err, there ? RC_ERR_INVALID : RC_ERR_NOT_FOUND, "int8: %s %s %s%s",
                           path[k], there ? "is not for" : "missing for", fm->q8_id[k],
                           there         ? ""
                           : rdir == dir ? " (make models installs it)"
                                         : " (rollcall calibrate writes it)");
        rc_log(RC_LOG_INFO, "int8: %s %s %s: the models run in float", path[k],
               there ? "is not for" : "missing for", fm->q8_id[k]);
        return RC_OK;
    }
    for (int k = 0; k < Q8_MODELS; k++) {
        if (!use[k]) continue;
        int i = int8_models[k], count = 0;
        rc_error e;
        rc_status st = nn_model_quantize(fm->m[i], dynamic ? NULL : path[k], 0, &count, &e);
        /* the region detector is the same graph cut before its box
         * decoding: the same ranges, so a region gives the whole frame's
         * boxes in int8 as in float */
        if (st == RC_OK && i == M_DETECT && fm->region)
            st = nn_model_quantize(fm->region, dynamic ? NULL : path[k], 0, NULL, &e);
        if (st != RC_OK) return rc_fail(err, st, "int8: %s", e.msg);
        rc_log(RC_LOG_INFO, "%s: %d convolutions in int8 (%s)", model_files[i], count,
               dynamic ? "dynamic ranges" : path[k]);
        fm->int8++;
    }
    return RC_OK;
}

/* bf16 inference (see face.h): on a CPU with AVX-512 BF16 the large 1x1
 * convolutions of the models bf16_candidates marks run in bf16 by default
 * (their figures measured beside float, README "bf16 inference");
 * ROLLCALL_NN_BF16=0 keeps float, =all takes every candidate (to measure
 * the others). A convolution that also has an int8 form runs in int8. */
static rc_status bf16_models(face_models *fm, rc_error *err)
{
    const char *want = getenv("ROLLCALL_NN_BF16");
    if (want && *want && strcmp(want, "0") != 0 && strcmp(want, "1") != 0 &&
        strcmp(want, "all") != 0)
        return rc_fail(err, RC_ERR_INVALID,
                       "ROLLCALL_NN_BF16=%s: expected 0 (float), 1 (bf16 where it is the "
                       "default) or all (every model bf16 covers)",
                       want);
    if (want && strcmp(want, "0") == 0) return RC_OK;
    bool all = want && strcmp(want, "all") == 0;
    if (!nn_bf16_available()) {
        if (want && *want)
            rc_log(RC_LOG_INFO,
                   "ROLLCALL_NN_BF16=%s but this CPU has no AVX-512 BF16: the "
                   "models run in float",
                   want);
        return RC_OK;
    }
    for (size_t k = 0; k < sizeof bf16_candidates / sizeof bf16_candidates[0]; k++) {
        int i = bf16_candidates[k].model, count = 0;
        if (!fm->m[i] || !(all || bf16_candidates[k].by_default)) continue;
        rc_error e;
        int64_t min = bf16_candidates[k].min_macs;
        rc_status st = nn_model_bf16(fm->m[i], min, &count, &e);
        /* the region detector is the same graph: the same convolutions */
        if (st == RC_OK && i == M_DETECT && fm->region)
            st = nn_model_bf16(fm->region, min, NULL, &e);
        if (st != RC_OK) return rc_fail(err, st, "bf16: %s", e.msg);
        rc_log(RC_LOG_INFO,
               "%s: bf16 for its 1x1 convolutions of at least %lld multiply-adds a call "
               "(%d covered)",
               model_files[i], (long long)min, count);
        fm->bf16++;
    }
    return RC_OK;
}

/* The default detector (UltraFace RFB-320, as the model package exports it)
 * before its box decoding: class scores and the raw regressions, whose
 * value name is the export's. Its priors, anchor sizes and variances follow
 * (priors_for). */
#define REGION_RAW_BOXES "462"
static const int region_steps[4] = {8, 16, 32, 64};
static const int region_nmin[4] = {3, 2, 2, 3};
static const int region_min[4][3] = {{10, 16, 24}, {32, 48, 0}, {64, 96, 0}, {128, 192, 256}};

/* A second copy of the detector for face_detect_region; without it (another
 * detector) regions are not offered and cameras detect whole frames. */
static void load_region_detector(face_models *fm, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, model_files[M_DETECT]);
    static const char *const outs[2] = {"scores", REGION_RAW_BOXES};
    rc_error e;
    if (nn_model_load(path, &fm->region, &e) != RC_OK ||
        nn_model_set_outputs(fm->region, outs, 2, &e) != RC_OK) {
        rc_log(RC_LOG_INFO, "%s: no detection on regions (%s)", model_files[M_DETECT], e.msg);
        nn_model_free(fm->region);
        fm->region = NULL;
    }
}

rc_status face_models_load(const char *dir, int attributes, face_models **out, rc_error *err)
{
    *out = NULL;
    face_models *fm = calloc(1, sizeof *fm);
    if (!fm) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    rc_status st = RC_OK;
    int count = attributes ? M_COUNT : M_AGE;
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, model_files[i]);
        rc_error e;
        st = nn_model_load(path, &fm->m[i], &e);
        if (st != RC_OK) {
            rc_fail(err, st, "cannot load model %s: %s%s", path, e.msg,
                    st == RC_ERR_NOT_FOUND ? " (run scripts/fetch-models)" : "");
            face_models_free(fm);
            return st;
        }
    }
    nn_shape s = nn_model_input_shape(fm->m[M_DETECT], 0);
    fm->det_w = s.ndim == 4 && s.d[3] > 0 ? (int)s.d[3] : 320;
    fm->det_h = s.ndim == 4 && s.d[2] > 0 ? (int)s.d[2] : 240;
    fm->det_scores = nn_model_output_index(fm->m[M_DETECT], "scores");
    fm->det_boxes = nn_model_output_index(fm->m[M_DETECT], "boxes");
    if (fm->det_scores < 0 || fm->det_boxes < 0) {
        face_models_free(fm);
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "%s/fr_detect.onnx has no 'scores' and 'boxes' outputs: not an "
                       "UltraFace-style detector",
                       dir);
    }
    load_region_detector(fm, dir);
    model_id_from_manifest(dir, model_files[M_FEATURE], fm->emb_id, sizeof fm->emb_id);
    for (int k = 0; k < Q8_MODELS; k++)
        model_id_from_manifest(dir, model_files[int8_models[k]], fm->q8_id[k], sizeof fm->q8_id[k]);
    st = quantize_models(fm, dir, err);
    if (st == RC_OK) st = bf16_models(fm, err);
    if (st != RC_OK) {
        face_models_free(fm);
        return st;
    }
    *out = fm;
    return RC_OK;
}

int face_models_int8(const face_models *fm)
{
    return fm->int8;
}

int face_models_bf16(const face_models *fm)
{
    return fm->bf16;
}

void face_models_free(face_models *fm)
{
    if (!fm) return;
    for (int i = 0; i < M_COUNT; i++) nn_model_free(fm->m[i]);
    nn_model_free(fm->region);
    free(fm);
}

const char *face_models_embedding_id(const face_models *fm)
{
    return fm->emb_id;
}

/* The session of the detector before its box decoding (fm->region, which
 * the caller checked), sharing the detector's memory; made with the worker,
 * again if a failure left none. */
static rc_status region_session(face_worker *w, rc_error *err)
{
    if (w->region) return RC_OK;
    rc_status st = nn_session_create(w->models->region, &w->region, err);
    if (st == RC_OK) st = nn_session_share_memory(w->region, w->s[M_DETECT], err);
    if (st != RC_OK) {
        nn_session_free(w->region);
        w->region = NULL;
    }
    return st;
}

rc_status face_worker_create(const face_models *fm, face_worker **out, rc_error *err)
{
    *out = NULL;
    face_worker *w = calloc(1, sizeof *w);
    if (!w) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    w->models = fm;
    w->det_in = malloc(sizeof(float) * 3 * (size_t)fm->det_w * fm->det_h);
    if (!w->det_in) {
        free(w);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    /* the networks run one after another on this thread: they share one
     * block for their activations and scratch, so each writes into memory
     * the previous one has just left in cache (the detector's first
     * layers waited on memory for ~0.1 ms a frame with buffers of their
     * own); every output is read before the next network runs */
    for (int i = 0; i < M_COUNT; i++) {
        if (!fm->m[i]) continue;
        rc_status st = nn_session_create(fm->m[i], &w->s[i], err);
        if (st == RC_OK && i != M_DETECT && w->s[M_DETECT])
            st = nn_session_share_memory(w->s[i], w->s[M_DETECT], err);
        if (st != RC_OK) {
            face_worker_free(w);
            return st;
        }
    }
    /* the detector before its box decoding runs every whole frame outside
     * the reference path (detect_region): made here with the others, so a
     * first frame does not plan it and it sees the settings they saw */
    if (fm->region) {
        rc_status st = region_session(w, err);
        if (st != RC_OK) {
            face_worker_free(w);
            return st;
        }
    }
    *out = w;
    return RC_OK;
}

void face_worker_free(face_worker *w)
{
    if (!w) return;
    for (int i = 0; i < M_COUNT; i++) nn_session_free(w->s[i]);
    nn_session_free(w->region);
    free(w->region_in);
    free(w->region_priors.p);
    free(w->frame_priors.p);
    free(w->det_in);
    free(w);
}

rc_status face_worker_calibrate(face_worker *w, int enable, rc_error *err)
{
    /* the ranges are float's: every model runs in float meanwhile (the
     * landmarks place the embedding's crop) */
    w->calibrating = enable;
    for (int i = 0; i < M_COUNT; i++)
        if (w->s[i]) nn_session_set_bf16(w->s[i], !enable);
    for (int k = 0; k < Q8_MODELS; k++) {
        nn_session *s = w->s[int8_models[k]];
        nn_session_set_int8(s, !enable);
        rc_status st = nn_session_calibrate(s, enable, err);
        if (st != RC_OK) return st;
    }
    return RC_OK;
}

rc_status face_worker_calibration_save(const face_worker *w, const char *dir, const char *comment,
                                       rc_error *err)
{
    for (int k = 0; k < Q8_MODELS; k++) {
        int i = int8_models[k];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.int8", dir, model_files[i]);
        /* the model line ties the file to these weights (ranges_for_model) */
        char head[FACE_MODEL_ID + 1024];
        snprintf(head, sizeof head, "model %s%s%.1000s", w->models->q8_id[k], comment ? "\n# " : "",
                 comment ? comment : "");
        rc_status st = nn_session_calibration_save(w->s[i], path, head, err);
        if (st != RC_OK) return st;
    }
    return RC_OK;
}

/* Fill an NCHW float tensor from an RGB image: (x - mean) * scale. */
static void to_tensor(const img_image *im, float *t, float mean, float scale)
{
    size_t plane = (size_t)im->w * im->h;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) t[c * plane + i] = (im->px[3 * i + c] - mean) * scale;
}

static rc_status run1(face_worker *w, int which, const float *in, int c, int h, int wd,
                      rc_error *err)
{
    nn_shape sh = {4, {1, c, h, wd}};
    const float *ins[1] = {in};
    rc_status st = nn_session_run(w->s[which], ins, &sh, err);
    return st;
}

static int priors_for(prior_set *ps, int in_w, int in_h);

/* Detect on one image region; appends boxes in image coordinates. Outside
 * the reference path, with the default detector, the graph stops before its
 * box decoding (eighteen small nodes over all 4420 priors) and only the
 * boxes above the threshold are decoded here, by the same arithmetic
 * (face_decode_boxes on the model's priors: the same bits,
 * test_face_pipeline). */
static rc_status detect_region(face_worker *w, const img_image *im, float x, float y, float rw,
                               float rh, float thr, face_box **boxes, int *n, int *cap,
                               rc_error *err)
{
    const face_models *fm = w->models;
    bool raw = !w->reference && !w->calibrating && fm->region;
    if (!w->reference && x == 0 && y == 0 && rw == (float)im->w && rh == (float)im->h) {
        /* The whole frame: resized, normalised and laid out in one pass. */
        if (img_to_planar(im, fm->det_w, fm->det_h, 127.f, 1.f / 128.f, w->det_in) != 0)
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    } else {
        img_image *in = img_crop_resize(im, x, y, rw, rh, fm->det_w, fm->det_h, 0);
        if (!in) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        to_tensor(in, w->det_in, 127.f, 1.f / 128.f);
        img_free(in);
    }
    rc_status st;
    if (raw && (st = region_session(w, err)) == RC_OK) {
        nn_shape sh = {4, {1, 3, fm->det_h, fm->det_w}};
        const float *ins[1] = {w->det_in};
        st = nn_session_run(w->region, ins, &sh, err);
    } else if (!raw) {
        st = run1(w, M_DETECT, w->det_in, 3, fm->det_h, fm->det_w, err);
    }
    if (st != RC_OK) return st;
    nn_shape ss, bs;
    nn_session *ds = raw ? w->region : w->s[M_DETECT];
    const float *sc = nn_session_output(ds, raw ? 0 : fm->det_scores, &ss);
    const float *bx = nn_session_output(ds, raw ? 1 : fm->det_boxes, &bs);
    int np = (int)(bs.ndim == 3 ? bs.d[1] : 0);
    int ncls = (int)(ss.ndim == 3 ? ss.d[2] : 0);
    if (np <= 0 || ncls < 2 || ss.d[1] != np || bs.d[2] != 4)
        return rc_fail(err, RC_ERR_UNSUPPORTED, "detector outputs have unexpected shapes");
    int npr = raw ? priors_for(&w->frame_priors, fm->det_w, fm->det_h) : np;
    if (npr < 0) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    if (npr != np)
        return rc_fail(err, RC_ERR_UNSUPPORTED, "detector heads do not match its %d priors", npr);
    for (int i = 0; i < np; i++) {
        float s = sc[i * ncls + 1];
        if (s < thr) continue;
        float dec[4];
        const float *b = bx + 4 * i;
        if (raw) {
            face_decode_boxes(b, w->frame_priors.p + 4 * i, 1, 0.1f, 0.2f, dec);
            b = dec;
        }
        face_box fb = {x + b[0] * rw, y + b[1] * rh, x + b[2] * rw, y + b[3] * rh, s};
        /* Written so that NaN boxes are dropped too. */
        if (!(fb.x1 - fb.x0 >= 2 && fb.y1 - fb.y0 >= 2 && fabsf(fb.x0) < 1e6f &&
              fabsf(fb.y0) < 1e6f && fabsf(fb.x1) < 1e6f && fabsf(fb.y1) < 1e6f))
            continue;
        if (*n == *cap) {
            int nc = *cap ? *cap * 2 : 64;
            face_box *nb = realloc(*boxes, sizeof **boxes * (size_t)nc);
            if (!nb) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            *boxes = nb;
            *cap = nc;
        }
        (*boxes)[(*n)++] = fb;
    }
    return RC_OK;
}

/* Detect on the whole frame (plus tiles for min_face). With pad > 0 the
 * frame is seen with a black margin of `pad` pixels, without copying it.
 * Boxes may extend past the frame: the caller clips them (clip_box). */
static rc_status detect(face_worker *w, const img_image *im, const face_opts *o, float pad,
                        face_box **out, int *nout, rc_error *err)
{
    face_box *boxes = NULL;
    int n = 0, cap = 0;
    const face_models *fm = w->models;
    rc_status st = detect_region(w, im, -pad, -pad, (float)im->w + 2 * pad, (float)im->h + 2 * pad,
                                 o->score_threshold, &boxes, &n, &cap, err);
    /* Small faces: the smallest prior is ~10 px at the detector's scale. When
     * the caller wants faces smaller than what that reaches on the whole
     * frame, run on overlapping tiles too. */
    if (st == RC_OK && o->min_face > 0 && pad == 0) {
        float reach = 14.f * (float)im->w / fm->det_w;
        if ((float)o->min_face < reach) {
            float tw = (float)o->min_face * fm->det_w / 14.f;
            float th = tw * fm->det_h / fm->det_w;
            if (tw < 32) tw = 32, th = 24;
            float step_x = tw * 0.75f, step_y = th * 0.75f;
            for (float ty = 0; st == RC_OK && ty < im->h; ty += step_y) {
                for (float tx = 0; st == RC_OK && tx < im->w; tx += step_x) {
                    st = detect_region(w, im, tx, ty, tw, th, o->score_threshold, &boxes, &n, &cap,
                                       err);
                    if (tx + tw >= im->w) break;
                }
                if (ty + th >= im->h) break;
            }
        }
    }
    if (st != RC_OK) {
        free(boxes);
        return st;
    }
    n = face_nms(boxes, n, o->nms_iou);
    *out = boxes;
    *nout = n;
    return RC_OK;
}

/* The part of the box inside a w x h frame. */
static face_box clip_box(face_box b, int w, int h)
{
    b.x0 = fmaxf(b.x0, 0);
    b.y0 = fmaxf(b.y0, 0);
    b.x1 = fminf(b.x1, (float)w);
    b.y1 = fminf(b.y1, (float)h);
    return b;
}

static float box_area(face_box b)
{
    return (b.x1 - b.x0) * (b.y1 - b.y0);
}

/* The square crop the landmark model was trained on: side = box height,
 * centred on the box. */
static void square_box(const face_info *f, float *x, float *y, float *side)
{
    float cx = (f->x0 + f->x1) / 2, cy = (f->y0 + f->y1) / 2;
    *side = f->y1 - f->y0;
    *x = cx - *side / 2;
    *y = cy - *side / 2;
}

/* The part of the frame whose gray the landmark crop of square (x, y, side)
 * reads: the square with a 2-pixel margin, so that bilinear samples near its
 * edges read the same pixels as on the whole frame, inside the frame (empty
 * when wholly outside: r[2] <= r[0] or r[3] <= r[1]). -1 for a square no
 * frame holds (not finite, or past 1e7). */
static int landmark_rect(int W, int H, float x, float y, float side, int r[4])
{
    if (!(side > 0 && side < 1e7f && fabsf(x) < 1e7f && fabsf(y) < 1e7f)) return -1;
    int x0 = (int)floorf(x) - 2, y0 = (int)floorf(y) - 2;
    int x1 = (int)ceilf(x + side) + 2, y1 = (int)ceilf(y + side) + 2;
    r[0] = x0 < 0 ? 0 : x0;
    r[1] = y0 < 0 ? 0 : y0;
    r[2] = x1 > W ? W : x1;
    r[3] = y1 > H ? H : y1;
    return 0;
}

/* The gray crop the landmark model sees: from the whole frame's gray image
 * when the caller made one, else from the gray of only landmark_rect. */
static img_image *landmark_crop(const img_image *im, const img_image *gray, float x, float y,
                                float side)
{
    if (gray) return img_crop_resize(gray, x, y, side, side, 64, 64, 0);
    int r[4];
    if (landmark_rect(im->w, im->h, x, y, side, r) != 0) return NULL;
    if (r[2] <= r[0] || r[3] <= r[1]) { /* wholly outside: every sample is the black border */
        img_image *z = img_new(64, 64, 1);
        if (z) memset(z->px, 0, 64 * 64);
        return z;
    }
    img_image *g = img_gray_rect(im, r[0], r[1], r[2] - r[0], r[3] - r[1]);
    if (!g) return NULL;
    img_image *c = img_crop_resize(g, x - (float)r[0], y - (float)r[1], side, side, 64, 64, 0);
    img_free(g);
    return c;
}

/* The pixels landmark_crop converts to gray for face box b. */
static double landmark_square_area(face_box b, int W, int H)
{
    face_info f = {.x0 = b.x0, .y0 = b.y0, .x1 = b.x1, .y1 = b.y1};
    float x, y, side;
    square_box(&f, &x, &y, &side);
    int r[4];
    if (landmark_rect(W, H, x, y, side, r) != 0 || r[2] <= r[0] || r[3] <= r[1]) return 0;
    return (double)(r[2] - r[0]) * (r[3] - r[1]);
}

static rc_status landmarks(face_worker *w, const img_image *im, const img_image *gray, face_info *f,
                           rc_error *err)
{
    float x, y, side;
    square_box(f, &x, &y, &side);
    img_image *c = landmark_crop(im, gray, x, y, side);
    if (!c) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < 64 * 64; i++) w->lm_in[i] = c->px[i] / 256.f;
    img_free(c);
    rc_status st = run1(w, M_LANDMARK, w->lm_in, 1, 64, 64, err);
    if (st != RC_OK) return st;
    nn_shape s;
    const float *o = nn_session_output(w->s[M_LANDMARK], 0, &s);
    size_t total = 1;
    for (int k = 0; k < s.ndim; k++) total *= (size_t)s.d[k];
    if (total != 136) return rc_fail(err, RC_ERR_UNSUPPORTED, "landmark model must give 68 points");
    for (int i = 0; i < 68; i++) {
        f->lm68[i][0] = x + o[2 * i] * side;
        f->lm68[i][1] = y + o[2 * i + 1] * side;
    }
    face_lm68_to_5((const float(*)[2])f->lm68, f->lm5);
    f->has_landmarks = 1;
    return RC_OK;
}

img_image *face_align(const img_image *im, const float lm5[5][2])
{
    float m[6], inv[6];
    if (face_fit_similarity(lm5, face_arcface_template, 5, m) < 0) return NULL;
    if (img_affine_invert(m, inv) != 0) return NULL;
    return img_warp_affine(im, inv, FACE_ALIGN_SZ, FACE_ALIGN_SZ, 0);
}

static rc_status embed(face_worker *w, const img_image *al, float out[FACE_EMB_DIM], float *norm,
                       rc_error *err)
{
    if (al->w != FACE_ALIGN_SZ || al->h != FACE_ALIGN_SZ || al->channels != 3)
        return rc_fail(err, RC_ERR_INVALID, "aligned face must be a 112x112 RGB image");
    /* the same floats as to_tensor, in one pass (AVX2 where there is; at
     * the same size it cannot fail) */
    img_to_planar(al, FACE_ALIGN_SZ, FACE_ALIGN_SZ, 127.f, 1.f / 128.f, w->emb_in);
    rc_status st = run1(w, M_FEATURE, w->emb_in, 3, FACE_ALIGN_SZ, FACE_ALIGN_SZ, err);
    if (st != RC_OK) return st;
    nn_shape s;
    const float *o = nn_session_output(w->s[M_FEATURE], 0, &s);
    size_t total = 1;
    for (int k = 0; k < s.ndim; k++) total *= (size_t)s.d[k];
    if (total != FACE_EMB_DIM)
        return rc_fail(err, RC_ERR_UNSUPPORTED, "embedding model gives %zu values, expected %d",
                       total, FACE_EMB_DIM);
    double n2 = 0;
    for (int i = 0; i < FACE_EMB_DIM; i++) n2 += (double)o[i] * o[i];
    float inv = n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0.f;
    for (int i = 0; i < FACE_EMB_DIM; i++) out[i] = o[i] * inv;
    if (norm) *norm = (float)sqrt(n2);
    return RC_OK;
}

rc_status face_embed_aligned(face_worker *w, const img_image *al, float out[FACE_EMB_DIM],
                             rc_error *err)
{
    return embed(w, al, out, NULL, err);
}

float face_similarity(const float *a, const float *b)
{
    float s = 0;
    for (int i = 0; i < FACE_EMB_DIM; i++) s += a[i] * b[i];
    return s;
}

/* The box grown `scale` times around its centre (less when the frame is too
 * small), shifted to stay inside the frame rather than padded, as the
 * package's attribute models saw in training; resized to out. */
static img_image *context_crop(const img_image *im, const face_info *f, float scale, int out)
{
    float x, y, side;
    square_box(f, &x, &y, &side);
    float W = (float)im->w, H = (float)im->h;
    scale = fminf(fminf((H - 1) / side, (W - 1) / side), scale);
    float ns = side * scale, cx = x + side / 2, cy = y + side / 2;
    float l = cx - ns / 2, t = cy - ns / 2;
    if (l < 0) l = 0;
    if (t < 0) t = 0;
    if (l + ns > W - 1) l = W - 1 - ns;
    if (t + ns > H - 1) t = H - 1 - ns;
    return img_crop_resize(im, l, t, ns, ns, out, out, 0);
}

int face_liveness_rect(int W, int H, const float box[4], float rect[4])
{
    if (W < 2 || H < 2 || !(box[3] - box[1] > 0) || !(box[2] - box[0] > 0)) return -1;
    /* fr_detect.js scaleResult: a square of side = box height on the box's
     * centre, clipped to [0, W-1] x [0, H-1]; predictLiveness then takes the
     * integer part of each corner (JavaScript parseInt truncates). */
    float side = box[3] - box[1], cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    float x1 = fmaxf(cx - side / 2, 0), y1 = fmaxf(cy - side / 2, 0);
    float x2 = fminf(cx + side / 2, (float)(W - 1)), y2 = fminf(cy + side / 2, (float)(H - 1));
    if (!(x2 > x1 && y2 > y1)) return -1; /* the box lies outside the frame */
    float bx = truncf(x1), by = truncf(y1);
    float bw = fabsf(truncf(x2) - bx), bh = fabsf(truncf(y2) - by);
    if (bw < 1) bw = 1;
    if (bh < 1) bh = 1;
    /* fr_liveness.js alignLivenessImage (Silent-Face's generate_patches):
     * width and height each times 2.7, the factor lowered so that the crop
     * fits the frame, then shifted inside it. */
    float scale = fminf((float)(H - 1) / bh, fminf((float)(W - 1) / bw, 2.7f));
    float nw = bw * scale, nh = bh * scale, mx = bx + bw / 2, my = by + bh / 2;
    float l = mx - nw / 2, t = my - nh / 2, r = mx + nw / 2, b = my + nh / 2;
    if (l < 0) r -= l, l = 0;
    if (t < 0) b -= t, t = 0;
    if (r > W - 1) l -= r - (W - 1), r = (float)(W - 1);
    if (b > H - 1) t -= b - (H - 1), b = (float)(H - 1);
    rect[0] = fmaxf(truncf(l), 0);
    rect[1] = fmaxf(truncf(t), 0);
    rect[2] = fminf(truncf(r - l), (float)(W - 1));
    rect[3] = fminf(truncf(b - t), (float)(H - 1));
    return rect[2] >= 1 && rect[3] >= 1 ? 0 : -1;
}

int face_liveness_input(const img_image *im, const float box[4], float *tensor)
{
    float rect[4];
    if (im->channels != 3 || face_liveness_rect(im->w, im->h, box, rect) != 0) return -1;
    /* B, G, R order: see the top of this file. */
    img_rect_to_planar(im, (int)rect[0], (int)rect[1], (int)rect[2], (int)rect[3], 128, 1, tensor);
    return 0;
}

/* The liveness network on the input in w->live_in (face_liveness_input):
 * f->liveness is the live class's probability. */
static rc_status liveness_run(face_worker *w, face_info *f, rc_error *err)
{
    rc_status st = run1(w, M_LIVENESS, w->live_in, 3, 128, 128, err);
    if (st != RC_OK) return st;
    nn_shape s;
    const float *o = nn_session_output(w->s[M_LIVENESS], 0, &s);
    int k = (int)(s.ndim >= 2 ? s.d[s.ndim - 1] : 0);
    if (k < 2) return rc_fail(err, RC_ERR_UNSUPPORTED, "liveness model gives too few classes");
    float mx = o[0], sum = 0;
    for (int i = 1; i < k; i++) mx = fmaxf(mx, o[i]);
    for (int i = 0; i < k; i++) sum += expf(o[i] - mx);
    /* Class 0 is the live face in this model (fr_liveness.js reports score[0]). */
    f->liveness = expf(o[0] - mx) / sum;
    return RC_OK;
}

/* Liveness on `box`, the detector's box before clipping to the frame (the
 * package squares the box from its full height, then clips). */
static rc_status liveness(face_worker *w, const img_image *im, const face_box *box, face_info *f,
                          rc_error *err)
{
    float b[4] = {box->x0, box->y0, box->x1, box->y1};
    if (face_liveness_input(im, b, w->live_in) != 0) return RC_OK; /* stays -1: not measured */
    return liveness_run(w, f, err);
}

rc_status face_liveness(face_worker *w, const img_image *im, face_info *f, rc_error *err)
{
    if (im->channels != 3) return rc_fail(err, RC_ERR_INVALID, "face_liveness needs an RGB image");
    face_box b = {f->det_box[0], f->det_box[1], f->det_box[2], f->det_box[3], f->score};
    double t0 = now_ms(w);
    rc_status st = liveness(w, im, &b, f, err);
    w->t.liveness += now_ms(w) - t0;
    return st;
}

static void quality(const face_opts *o, face_info *f, const img_image *aligned)
{
    f->size = f->y1 - f->y0;
    f->quality_ok = 1;
    f->quality_reasons[0] = 0;
    char *r = f->quality_reasons;
    size_t rl = sizeof f->quality_reasons;
#define REASON(s)                                                                                  \
    do {                                                                                           \
        size_t u = strlen(r);                                                                      \
        snprintf(r + u, rl - u, "%s%s", u ? "; " : "", s);                                         \
        f->quality_ok = 0;                                                                         \
    } while (0)
    if (f->size < (float)o->min_size) REASON("too small");
    if (aligned) {
        img_image *g = img_to_gray(aligned);
        f->sharpness = g ? face_laplacian_var(g) : 0;
        img_free(g);
        if (f->sharpness < o->min_sharpness) REASON("blurry");
    }
    if (f->has_landmarks) {
        face_pose_from_lm5((const float(*)[2])f->lm5, &f->yaw, &f->pitch, &f->roll);
        if (fabsf(f->yaw) > o->max_yaw) REASON("turned sideways");
        if (fabsf(f->pitch) > o->max_pitch) REASON("looking up or down");
        if (fabsf(f->roll) > o->max_roll) REASON("head tilted");
    }
#undef REASON
}

/* Age and gender (SSR-Net, fr_age/fr_gender): a 1.4x box crop at 64x64,
 * channels in BGR order (as OpenCV-trained SSR-Net expects: with RGB the
 * gender output stays near 0.5 for women on the test photos) with the
 * ImageNet mean and deviation; three stages of 3 bins whose soft regression
 * gives age / 101 or the probability of male. */
static float ssr_net(face_worker *w, int which, const img_image *im, const face_info *f, float V,
                     rc_error *err)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    img_image *c = context_crop(im, f, 1.4f, 64);
    if (!c) return -1;
    for (int i = 0; i < 64 * 64; i++)
        for (int k = 0; k < 3; k++)
            w->attr_in[k * 64 * 64 + i] = (c->px[3 * i + 2 - k] / 255.f - mean[k]) / sd[k];
    img_free(c);
    if (run1(w, which, w->attr_in, 3, 64, 64, err) != RC_OK) return -1;
    const nn_model *m = w->models->m[which];
    const float *p[3], *d[3], *idx[3];
    static const char *const pn[3] = {"prob_stage_1", "prob_stage_2", "prob_stage_3"};
    static const char *const dn[3] = {"stage1_delta_k", "stage2_delta_k", "stage3_delta_k"};
    static const char *const in[3] = {"index_offset_stage1", "index_offset_stage2",
                                      "index_offset_stage3"};
    for (int s = 0; s < 3; s++) {
        int a = nn_model_output_index(m, pn[s]), b = nn_model_output_index(m, dn[s]),
            c2 = nn_model_output_index(m, in[s]);
        if (a < 0 || b < 0 || c2 < 0) return -1;
        p[s] = nn_session_output(w->s[which], a, NULL);
        d[s] = nn_session_output(w->s[which], b, NULL);
        idx[s] = nn_session_output(w->s[which], c2, NULL);
    }
    /* SSR-Net: stages of 3 bins each; value = V * sum_s (sum_i (i + idx_i) p_i) /
     * prod_{t<=s} (3 (1 + delta_t)). */
    float total = 0, denom = 1;
    for (int s = 0; s < 3; s++) {
        denom *= 3.f * (1.f + d[s][0]);
        float acc = 0;
        for (int i = 0; i < 3; i++) acc += ((float)i + idx[s][i]) * p[s][i];
        total += acc / denom;
    }
    return total * V;
}

static rc_status later_stages(face_worker *w, const img_image *im, const face_opts *opts,
                              face_box *boxes, int nb, int padded, face_info **faces, int *n,
                              rc_error *err);

rc_status face_analyze(face_worker *w, const img_image *im, const face_opts *opts,
                       face_info **faces, int *n, rc_error *err)
{
    *faces = NULL;
    *n = 0;
    face_opts o = opts ? *opts : face_opts_default();
    if (im->channels != 3) return rc_fail(err, RC_ERR_INVALID, "face_analyze needs an RGB image");
    face_box *boxes = NULL;
    int nb = 0;
    memset(&w->t, 0, sizeof w->t);
    double t0 = now_ms(w);
    rc_status st = detect(w, im, &o, 0, &boxes, &nb, err);
    if (st != RC_OK) return st;
    int padded = 0;
    if (nb == 0 && o.pad_retry) {
        /* A tight crop (the face fills the frame) is outside what a scene
         * detector has seen: give it the margin it expects and try again. */
        free(boxes);
        boxes = NULL;
        padded = 1;
        st = detect(w, im, &o, (float)(im->w > im->h ? im->w : im->h) / 2, &boxes, &nb, err);
        if (st != RC_OK) return st;
    }
    w->t.detect = now_ms(w) - t0;
    return later_stages(w, im, &o, boxes, nb, padded, faces, n, err);
}

rc_status face_analyze_found(face_worker *w, const img_image *im, const face_opts *opts,
                             const face_info *found, int nfound, face_info **faces, int *n,
                             rc_error *err)
{
    *faces = NULL;
    *n = 0;
    face_opts o = opts ? *opts : face_opts_default();
    if (im->channels != 3)
        return rc_fail(err, RC_ERR_INVALID, "face_analyze_found needs an RGB image");
    if (nfound < 0 || (nfound && !found))
        return rc_fail(err, RC_ERR_INVALID, "face_analyze_found: %d faces given", nfound);
    face_box *boxes = nfound ? malloc((size_t)nfound * sizeof *boxes) : NULL;
    if (nfound && !boxes) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nfound; i++) {
        const float *b = found[i].det_box;
        boxes[i] = (face_box){b[0], b[1], b[2], b[3], found[i].score};
    }
    memset(&w->t, 0, sizeof w->t);
    return later_stages(w, im, &o, boxes, nfound, 0, faces, n, err);
}

/* What face_analyze does after the detector (face_analyze_found without
 * it): the faces of `boxes` (the detector's boxes, owned and freed here;
 * `padded` when found by the padded retry) largest first, each through the
 * stages o asks for. Adds to the worker's timings. */
static rc_status later_stages(face_worker *w, const img_image *im, const face_opts *opts,
                              face_box *boxes, int nb, int padded, face_info **faces, int *n,
                              rc_error *err)
{
    face_opts o = *opts;
    rc_status st = RC_OK;
    double t0;
    /* Largest first. `boxes` keeps the detector's boxes as they are; a face
     * found on the frame itself gets the part inside the frame at once, one
     * found with the padded retry keeps its whole extent (the landmark crop
     * needs it) until the end. */
#define SEEN(b) (padded ? (b) : clip_box((b), im->w, im->h))
    for (int i = 1; i < nb; i++) {
        face_box b = boxes[i];
        float a = box_area(SEEN(b));
        int j = i - 1;
        while (j >= 0 && box_area(SEEN(boxes[j])) < a) {
            boxes[j + 1] = boxes[j];
            j--;
        }
        boxes[j + 1] = b;
    }
    face_info *out = nb ? calloc((size_t)nb, sizeof *out) : NULL;
    img_image *gray = NULL;
    t0 = now_ms(w);
    /* The landmark crops read a gray image: of each face's square alone, or
     * of the whole frame once: on the reference path, and for a group
     * photo whose squares cover more than a third of the frame (a square's
     * gray costs about three times a whole frame's per pixel: short rows in
     * a fresh buffer). The same pixels either way; a crop's position taken
     * relative to the square can round differently (under 0.01 px in the
     * landmarks), so a frame of one face keeps its square as before. */
    int whole = w->reference;
    int m = o.max_faces > 0 && o.max_faces < nb ? o.max_faces : nb;
    if (!whole && m >= 2 && (o.landmarks || o.embedding)) {
        double area = 0;
        for (int i = 0; i < m; i++) area += landmark_square_area(SEEN(boxes[i]), im->w, im->h);
        whole = 3 * area > (double)im->w * im->h;
    }
    if (nb && (!out || (whole && !(gray = img_to_gray(im))))) {
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        goto done;
    }
    w->t.landmarks = now_ms(w) - t0; /* the whole-frame gray image, when made */
    for (int i = 0; i < nb && st == RC_OK; i++) {
        face_info *f = &out[i];
        face_box seen = SEEN(boxes[i]);
        f->x0 = seen.x0;
        f->y0 = seen.y0;
        f->x1 = seen.x1;
        f->y1 = seen.y1;
        f->score = seen.score;
        f->liveness = -1;
        f->age = -1;
        f->male = -1;
        img_image *aligned = NULL;
        t0 = now_ms(w);
        if (o.landmarks || o.embedding) st = landmarks(w, im, gray, f, err);
        double t1 = now_ms(w);
        w->t.landmarks += t1 - t0;
        if (st == RC_OK && f->has_landmarks) {
            aligned = face_align(im, (const float(*)[2])f->lm5);
            if (!aligned) st = rc_fail(err, RC_ERR_NOMEM, "out of memory aligning a face");
        }
        t0 = now_ms(w);
        w->t.align += t0 - t1;
        /* The liveness input is cut from the frame now, while the face's
         * part of it is still in the caches from the landmark crop and the
         * alignment, and before the embedding network pushes it out (its
         * time counts as liveness). */
        int live_in = 0;
        if (st == RC_OK && o.liveness) {
            float b[4] = {boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1};
            live_in = face_liveness_input(im, b, w->live_in) == 0;
            t1 = now_ms(w);
            w->t.liveness += t1 - t0;
            t0 = t1;
        }
        if (st == RC_OK && o.embedding && aligned) {
            st = embed(w, aligned, f->embedding, &f->emb_norm, err);
            f->has_embedding = st == RC_OK;
        }
        t1 = now_ms(w);
        w->t.embed += t1 - t0;
        f->det_box[0] = boxes[i].x0;
        f->det_box[1] = boxes[i].y0;
        f->det_box[2] = boxes[i].x1;
        f->det_box[3] = boxes[i].y1;
        if (st == RC_OK && live_in) st = liveness_run(w, f, err);
        t0 = now_ms(w);
        w->t.liveness += t0 - t1;
        if (st == RC_OK && o.attributes && w->s[M_AGE] && w->s[M_GENDER]) {
            f->age = ssr_net(w, M_AGE, im, f, 101.f, err);
            f->male = ssr_net(w, M_GENDER, im, f, 1.f, err);
        }
        if (st == RC_OK) quality(&o, f, aligned);
        img_free(aligned);
        w->t.quality += now_ms(w) - t0;
        /* Back to the caller's coordinates. */
        if (padded) {
            face_box c = clip_box(boxes[i], im->w, im->h);
            f->x0 = c.x0;
            f->y0 = c.y0;
            f->x1 = c.x1;
            f->y1 = c.y1;
        }
        if (o.max_faces > 0 && i + 1 >= o.max_faces) {
            nb = i + 1; /* the largest N real faces are done */
            break;
        }
    }
#undef SEEN
done:
    img_free(gray);
    free(boxes);
    if (st != RC_OK) {
        free(out);
        return st;
    }
    *faces = out;
    *n = nb;
    return RC_OK;
}

/* The priors the default detector was exported with, for an in_w x in_h
 * input: per level, a feature map of ceil(size / step) cells, each cell's
 * centre at (j + 0.5) / map width (and height), its anchors' sizes over the
 * input size capped at 1 (the export's clamp). For 320x240 they are the
 * constants inside the model (test_face_pipeline compares the boxes). */
static int priors_for(prior_set *ps, int in_w, int in_h)
{
    if (ps->w == in_w && ps->h == in_h) return ps->n;
    size_t count = 0;
    for (int k = 0; k < 4; k++)
        count += (size_t)((in_w + region_steps[k] - 1) / region_steps[k]) *
                 (size_t)((in_h + region_steps[k] - 1) / region_steps[k]) * region_nmin[k];
    if (count > ps->cap) {
        float *p = realloc(ps->p, count * 4 * sizeof *p);
        if (!p) return -1;
        ps->p = p;
        ps->cap = count;
    }
    int n = 0;
    for (int k = 0; k < 4; k++) {
        int fw = (in_w + region_steps[k] - 1) / region_steps[k];
        int fh = (in_h + region_steps[k] - 1) / region_steps[k];
        for (int i = 0; i < fh; i++)
            for (int j = 0; j < fw; j++)
                for (int a = 0; a < region_nmin[k]; a++) {
                    float *p = ps->p + 4 * n++;
                    p[0] = (j + 0.5f) / fw;
                    p[1] = (i + 0.5f) / fh;
                    p[2] = fminf((float)region_min[k][a] / in_w, 1.f);
                    p[3] = fminf((float)region_min[k][a] / in_h, 1.f);
                }
    }
    ps->w = in_w;
    ps->h = in_h;
    ps->n = n;
    return n;
}

int face_worker_regions(const face_worker *w)
{
    return w->models->region != NULL;
}

/* Size in detector pixels of `len` frame pixels at scale s: rounded up to a
 * multiple of 16, at least 32, at most `max`. */
static int region_side(float len, float s, int max)
{
    int v = (int)ceilf(len * s);
    v = (v + 15) / 16 * 16;
    if (v < 32) v = 32;
    return v > max ? max : v;
}

/* Where a region of `len` frame pixels around [a, b) starts, kept inside a
 * frame of `size` pixels when it fits. */
static float region_start(float a, float b, float len, float size)
{
    float l = (a + b) / 2 - len / 2;
    if (l + len > size) l = size - len;
    return l < 0 ? 0 : l;
}

rc_status face_detect_region(face_worker *w, const img_image *im, const float rect[4],
                             const face_opts *opts, face_info **faces, int *n, rc_error *err)
{
    *faces = NULL;
    *n = 0;
    const face_models *fm = w->models;
    face_opts o = opts ? *opts : face_opts_default();
    if (im->channels != 3)
        return rc_fail(err, RC_ERR_INVALID, "face_detect_region needs an RGB image");
    if (!fm->region)
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "this detector cannot run on a region (no raw head '%s')", REGION_RAW_BOXES);
    rc_status st = region_session(w, err);
    if (st != RC_OK) return st;
    memset(&w->t, 0, sizeof w->t);
    double t0 = now_ms(w);
    float W = (float)im->w, H = (float)im->h;
    float x0 = fmaxf(rect[0], 0), y0 = fmaxf(rect[1], 0);
    float x1 = fminf(rect[0] + rect[2], W), y1 = fminf(rect[1] + rect[3], H);
    if (!(x1 - x0 >= 1 && y1 - y0 >= 1)) return RC_OK; /* outside the frame (or NaN) */
    /* The scale the detector sees the whole frame at, so a face looks as
     * large as in a whole-frame detection. */
    float sx = (float)fm->det_w / W, sy = (float)fm->det_h / H;
    int iw = region_side(x1 - x0, sx, fm->det_w), ih = region_side(y1 - y0, sy, fm->det_h);
    float rw = (float)iw / sx, rh = (float)ih / sy;
    float l = region_start(x0, x1, rw, W), t = region_start(y0, y1, rh, H);
    size_t need = (size_t)3 * iw * ih;
    if (need > w->region_cap) {
        float *b = realloc(w->region_in, need * sizeof *b);
        if (!b) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        w->region_in = b;
        w->region_cap = need;
    }
    img_image *in = img_crop_resize(im, l, t, rw, rh, iw, ih, 0);
    if (!in) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    to_tensor(in, w->region_in, 127.f, 1.f / 128.f);
    img_free(in);
    nn_shape sh = {4, {1, 3, ih, iw}};
    const float *ins[1] = {w->region_in};
    st = nn_session_run(w->region, ins, &sh, err);
    if (st != RC_OK) return st;
    nn_shape ss, bs;
    const float *sc = nn_session_output(w->region, 0, &ss);
    const float *loc = nn_session_output(w->region, 1, &bs);
    int np = priors_for(&w->region_priors, iw, ih);
    if (np < 0) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    if (ss.ndim != 3 || bs.ndim != 3 || ss.d[1] != np || bs.d[1] != np || ss.d[2] < 2 ||
        bs.d[2] != 4)
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "detector heads on a %dx%d region do not match its %d priors", iw, ih, np);
    int ncls = (int)ss.d[2], nb = 0, cap = 0;
    face_box *boxes = NULL;
    /* A face cut by an edge of the region that lies inside the frame is
     * only part of a face: left for a whole-frame detection. */
    float tol = 1.f / sx, tolh = 1.f / sy;
    bool cut_l = l > 0, cut_t = t > 0, cut_r = l + rw < W, cut_b = t + rh < H;
    for (int i = 0; i < np; i++) {
        float s = sc[i * ncls + 1];
        if (!(s >= o.score_threshold)) continue;
        float b[4];
        face_decode_boxes(loc + 4 * i, w->region_priors.p + 4 * i, 1, 0.1f, 0.2f, b);
        face_box fb = {l + b[0] * rw, t + b[1] * rh, l + b[2] * rw, t + b[3] * rh, s};
        if (!(fb.x1 - fb.x0 >= 2 && fb.y1 - fb.y0 >= 2 && fabsf(fb.x0) < 1e6f &&
              fabsf(fb.y0) < 1e6f && fabsf(fb.x1) < 1e6f && fabsf(fb.y1) < 1e6f))
            continue;
        if ((cut_l && fb.x0 < l + tol) || (cut_t && fb.y0 < t + tolh) ||
            (cut_r && fb.x1 > l + rw - tol) || (cut_b && fb.y1 > t + rh - tolh))
            continue;
        if (nb == cap) {
            cap = cap ? cap * 2 : 16;
            face_box *nbx = realloc(boxes, (size_t)cap * sizeof *nbx);
            if (!nbx) {
                free(boxes);
                return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            }
            boxes = nbx;
        }
        boxes[nb++] = fb;
    }
    nb = face_nms(boxes, nb, o.nms_iou);
    w->t.detect = now_ms(w) - t0;
    /* As face_analyze with the later stages off gives them. */
    o.landmarks = o.embedding = o.liveness = o.attributes = 0;
    return later_stages(w, im, &o, boxes, nb, 0, faces, n, err);
}
