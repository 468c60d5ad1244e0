/*
 * feed.c — the server's cameras feeding recognition. Every camera in the
 * store (except "browser" ones, whose frames are posted to /recognize) runs
 * under one camera manager; each frame it delivers is handled on a manager
 * worker. With tracking (the default, track.c) a frame either reuses the
 * camera's face tracks, runs the detector to move them, or — when a track
 * starts, is due for its periodic re-check or its face has grown — is
 * decoded and handed to recog_frame, marked for attendance under that
 * camera's id (from the detector pass's boxes when it ran on that frame,
 * so no frame is detected twice); with regions (cam_track_config.full_every)
 * some detector passes run on regions around the tracks only; without tracking every frame goes to
 * recog_frame. recog's listeners publish the outcome (the HTTP live stream, webhooks); the feed
 * remembers the faces of each camera's last frame for the annotated
 * snapshot, and the latency from capture to recognition done over the most
 * recent frames that ran the detector or the pipeline, for /metrics.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../recog/recog.h"
#include "internal.h"

/* One camera's last faces, its tracker and its tracking counters. */
typedef struct {
    int64_t id;
    int n;
    cam_face face[CAM_FEED_FACES];
    cam_tracker *tr; /* NULL without tracking; used by the camera's worker only */
    cam_track_stats stats;
} per_camera;

/* Latencies kept for the quantiles in /metrics: the most recent frames. */
#define LATENCY_RING 1024

struct cam_feed {
    recog *rg;
    rc_metrics *metrics;
    cam_manager *mgr;
    pthread_mutex_t lock; /* cams, latency, tracking settings */
    per_camera **cams;
    size_t ncams, cap;
    bool tracking;
    cam_track_config track;
    double latency_ms[LATENCY_RING]; /* capture to recognition done, a ring */
    uint64_t nlatency;               /* frames recorded in total */
};

img_image *cam_frame_image(const cam_frame *fr, rc_error *err)
{
    if (fr->fmt == CAM_FMT_JPEG) {
        img_image *im = NULL;
        return recog_decode(fr->data, fr->size, &im, err) == RC_OK ? im : NULL;
    }
    img_image *im = img_new(fr->width, fr->height, 3);
    if (!im) {
        rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d frame", fr->width, fr->height);
        return NULL;
    }
    memcpy(im->px, fr->data, (size_t)fr->width * (size_t)fr->height * 3);
    return im;
}

/* With lock held: the camera's record, created when missing (NULL when out
 * of memory). */
static per_camera *camera_of(cam_feed *f, int64_t id)
{
    for (size_t i = 0; i < f->ncams; i++)
        if (f->cams[i]->id == id) return f->cams[i];
    if (f->ncams == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        per_camera **nc = realloc(f->cams, cap * sizeof *nc);
        if (!nc) return NULL;
        f->cams = nc;
        f->cap = cap;
    }
    per_camera *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->id = id;
    f->cams[f->ncams++] = c;
    return c;
}

static void drop_camera(cam_feed *f, int64_t id)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->ncams; i++)
        if (f->cams[i]->id == id) {
            per_camera *c = f->cams[i];
            f->cams[i] = f->cams[--f->ncams];
            if (c->tr) cam_tracker_free(c->tr);
            free(c->tr);
            free(c);
            break;
        }
    pthread_mutex_unlock(&f->lock);
}

/* The camera's tracker (created on its first frame), or NULL when tracking
 * is off. The pointer stays valid while the camera's frames are handled:
 * only drop_camera frees it, after the manager stopped the camera. */
static cam_tracker *tracker_of(cam_feed *f, int64_t id)
{
    pthread_mutex_lock(&f->lock);
    per_camera *c = camera_of(f, id);
    cam_tracker *tr = NULL;
    if (c && f->tracking) {
        if (!c->tr && (c->tr = malloc(sizeof *c->tr))) cam_tracker_init(c->tr, &f->track);
        tr = c->tr;
    }
    pthread_mutex_unlock(&f->lock);
    return tr;
}

static cam_face face_of(const recog_face *rf, int track)
{
    cam_face cf = {.x0 = rf->face.x0,
                   .y0 = rf->face.y0,
                   .x1 = rf->face.x1,
                   .y1 = rf->face.y1,
                   .known = rf->known,
                   .track = track};
    snprintf(cf.label, sizeof cf.label, "%.63s",
             rf->known  ? rf->person.name
             : rf->live ? "unknown"
                        : "not live");
    return cf;
}

/* Keep the faces of the camera's last frame and count the step it took;
 * with `latency`, the frame's capture-to-done time too. */
static void remember(cam_feed *f, int64_t id, const cam_tracker *tr, const cam_face *faces, int n,
                     cam_step step, double capture_ms, bool latency)
{
    pthread_mutex_lock(&f->lock);
    per_camera *c = camera_of(f, id);
    if (c) {
        c->n = n < CAM_FEED_FACES ? n : CAM_FEED_FACES;
        memcpy(c->face, faces, (size_t)c->n * sizeof *faces);
        c->stats.skipped += step == CAM_STEP_SKIP;
        c->stats.detected += step == CAM_STEP_DETECT;
        c->stats.identified += step == CAM_STEP_IDENTIFY;
        c->stats.regions += step == CAM_STEP_REGION;
        c->stats.tracks = tr ? tr->started : 0;
        c->stats.live = 0;
        for (size_t k = 0; tr && k < tr->n; k++) c->stats.live += tr->t[k].missed == 0;
    }
    if (latency) f->latency_ms[f->nlatency++ % LATENCY_RING] = rc_mono_ms() - capture_ms;
    pthread_mutex_unlock(&f->lock);
}

static const char *const step_series[] = {
    "rollcall_camera_steps_total{step=\"tracked\"}",
    "rollcall_camera_steps_total{step=\"detect\"}",
    "rollcall_camera_steps_total{step=\"identify\"}",
    "rollcall_camera_steps_total{step=\"region\"}",
};

/* What the detector passes find: boxes only, on the scene (no padded retry
 * for tight crops: the probe covers that, track.c). */
static face_opts detector_opts(void)
{
    face_opts o = face_opts_default();
    o.landmarks = o.embedding = o.liveness = o.attributes = 0;
    o.pad_retry = 0;
    return o;
}

/* The detector's faces handed to the tracker as boxes. */
static rc_status track_faces(cam_tracker *tr, double now_ms, const face_info *faces, int n,
                             rc_error *err)
{
    float(*boxes)[4] = n ? malloc((size_t)n * sizeof *boxes) : NULL;
    if (n && !boxes) return rc_fail(err, RC_ERR_NOMEM, "out of memory for %d boxes", n);
    for (int i = 0; i < n; i++) {
        boxes[i][0] = faces[i].x0;
        boxes[i][1] = faces[i].y0;
        boxes[i][2] = faces[i].x1;
        boxes[i][3] = faces[i].y1;
    }
    cam_tracker_update(tr, now_ms, (const float(*)[4])boxes, n, NULL);
    free(boxes);
    return RC_OK;
}

/* The detector alone on the frame, its boxes handed to the tracker. The
 * faces it found stay in *found (*nfound; caller frees) for identify, should
 * the frame need the whole pipeline now. */
static rc_status detect(cam_feed *f, cam_tracker *tr, const img_image *im, double now_ms,
                        face_info **found, int *nfound, rc_error *err)
{
    face_opts o = detector_opts();
    face_info *faces = NULL;
    int n = 0;
    rc_status st = recog_analyze(f->rg, im, &o, &faces, &n, err);
    if (st == RC_OK) st = track_faces(tr, now_ms, faces, n, err);
    if (st != RC_OK) {
        free(faces);
        return st;
    }
    *found = faces;
    *nfound = n;
    return RC_OK;
}

static float overlap(const face_info *a, const face_info *b)
{
    face_box x = {a->x0, a->y0, a->x1, a->y1, a->score}, y = {b->x0, b->y0, b->x1, b->y1, b->score};
    return face_iou(&x, &y);
}

/* The detector on a region around each track in view (CAM_STEP_REGION), one
 * box per face where regions overlap, handed to the tracker; *found as
 * detect(). RC_ERR_UNSUPPORTED when the regions would cover most of the
 * frame or the detector cannot run on regions: the caller then detects on
 * the whole frame. */
static rc_status detect_regions(cam_feed *f, cam_tracker *tr, const img_image *im, double now_ms,
                                face_info **found, int *nfound, rc_error *err)
{
    float rects[CAM_FEED_FACES][4];
    int nr = cam_tracker_regions(tr, now_ms, im->w, im->h, rects, CAM_FEED_FACES);
    if (nr < 0) return rc_fail(err, RC_ERR_UNSUPPORTED, "the regions cover most of the frame");
    face_opts o = detector_opts();
    face_info *all = NULL;
    int n = 0;
    rc_status st = RC_OK;
    for (int k = 0; k < nr && st == RC_OK; k++) {
        face_info *fs = NULL;
        int m = 0;
        st = recog_detect_region(f->rg, im, rects[k], &o, &fs, &m, err);
        for (int i = 0; st == RC_OK && i < m; i++) {
            int dup = -1; /* the same face seen from two overlapping regions */
            for (int j = 0; j < n && dup < 0; j++)
                if (overlap(&all[j], &fs[i]) > o.nms_iou) dup = j;
            if (dup >= 0) {
                if (fs[i].score > all[dup].score) all[dup] = fs[i];
                continue;
            }
            face_info *na = realloc(all, (size_t)(n + 1) * sizeof *na);
            if (!na) {
                st = rc_fail(err, RC_ERR_NOMEM, "out of memory for %d faces", n + 1);
                break;
            }
            all = na;
            all[n++] = fs[i];
        }
        free(fs);
    }
    if (st == RC_OK) st = track_faces(tr, now_ms, all, n, err);
    if (st != RC_OK) {
        free(all);
        return st;
    }
    *found = all;
    *nfound = n;
    return RC_OK;
}

/* The whole pipeline, marked; the tracks (if any) take the identities. With
 * `found` (detected), the detector's faces on this frame from detect(): the
 * pipeline starts from them instead of detecting again. */
static rc_status identify(cam_feed *f, cam_tracker *tr, const face_info *found, int nfound,
                          bool detected, int64_t id, const img_image *im, const cam_frame *frame,
                          rc_error *err)
{
    recog_result res;
    recog_frame_opts o = {
        .mark = true, .camera_id = id, .detected = detected, .found = found, .nfound = nfound};
    rc_status st = recog_frame(f->rg, im, &o, &res, err);
    if (st != RC_OK) return st;
    int n = res.n < CAM_FEED_FACES ? res.n : CAM_FEED_FACES;
    float boxes[CAM_FEED_FACES][4];
    int track_of[CAM_FEED_FACES] = {0};
    cam_face faces[CAM_FEED_FACES];
    for (int i = 0; i < n; i++) {
        boxes[i][0] = res.faces[i].face.x0;
        boxes[i][1] = res.faces[i].face.y0;
        boxes[i][2] = res.faces[i].face.x1;
        boxes[i][3] = res.faces[i].face.y1;
    }
    if (tr) {
        if (detected)
            cam_tracker_rematch(tr, frame->mono_ms, (const float(*)[4])boxes, n, track_of);
        else
            cam_tracker_update(tr, frame->mono_ms, (const float(*)[4])boxes, n, track_of);
    }
    for (int i = 0; i < n; i++) {
        faces[i] = face_of(&res.faces[i], track_of[i]);
        if (tr && track_of[i]) cam_tracker_identified(tr, track_of[i], frame->mono_ms, &faces[i]);
    }
    recog_result_free(&res);
    remember(f, id, tr, faces, n, CAM_STEP_IDENTIFY, frame->mono_ms, true);
    return RC_OK;
}

static void process(cam_feed *f, int64_t id, const cam_frame *frame)
{
    cam_tracker *tr = tracker_of(f, id);
    cam_step step = tr ? cam_tracker_plan(tr, frame->mono_ms) : CAM_STEP_IDENTIFY;
    rc_error err;
    rc_status st = RC_OK;
    img_image *im = NULL;
    if (step != CAM_STEP_SKIP && !(im = cam_frame_image(frame, &err))) st = RC_ERR_CORRUPT;
    bool detected = false;
    face_info *found = NULL;
    int nfound = 0;
    if (st == RC_OK && step == CAM_STEP_REGION) {
        st = detect_regions(f, tr, im, frame->mono_ms, &found, &nfound, &err);
        if (st == RC_ERR_UNSUPPORTED) { /* the whole frame costs less, or must do */
            st = RC_OK;
            step = CAM_STEP_DETECT;
            tr->since_full = 0;
        }
        detected = st == RC_OK && step == CAM_STEP_REGION;
    }
    if (st == RC_OK && step == CAM_STEP_DETECT) {
        st = detect(f, tr, im, frame->mono_ms, &found, &nfound, &err);
        detected = st == RC_OK;
    }
    if (detected && cam_tracker_due(tr, frame->mono_ms)) {
        rc_metrics_add(f->metrics, step_series[step], "camera frames by the work they took", 1);
        step = CAM_STEP_IDENTIFY; /* a newcomer, or a face that came closer */
    }
    if (st == RC_OK && step == CAM_STEP_IDENTIFY)
        st = identify(f, tr, found, nfound, detected, id, im, frame, &err);
    else if (st == RC_OK) {
        cam_face faces[CAM_FEED_FACES];
        int n = cam_tracker_faces(tr, faces, CAM_FEED_FACES);
        remember(f, id, tr, faces, n, step, frame->mono_ms, step != CAM_STEP_SKIP);
    }
    img_free(im);
    free(found);
    if (st == RC_OK) {
        rc_metrics_add(f->metrics, step_series[step], "camera frames by the work they took", 1);
        rc_metrics_add(f->metrics, "rollcall_camera_frames_total", "camera frames recognized", 1);
    } else {
        rc_metrics_add(f->metrics, "rollcall_camera_frame_errors_total",
                       "camera frames that could not be recognized", 1);
        rc_log(RC_LOG_DEBUG, "camera %lld: frame not recognized: %s", (long long)id, err.msg);
    }
}

static void on_frame(void *user, unsigned worker, int camera_id, cam_camera *cam,
                     const cam_frame *frame)
{
    (void)worker;
    (void)cam;
    process(user, camera_id, frame);
}

void cam_feed_frame(cam_feed *f, int64_t id, const cam_frame *frame)
{
    process(f, id, frame);
}

void cam_feed_set_tracking(cam_feed *f, const cam_track_config *cfg)
{
    pthread_mutex_lock(&f->lock);
    f->tracking = cfg != NULL;
    if (cfg) f->track = *cfg;
    pthread_mutex_unlock(&f->lock);
}

void cam_feed_track_stats(cam_feed *f, int64_t id, cam_track_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->ncams; i++)
        if (f->cams[i]->id == id) *out = f->cams[i]->stats;
    pthread_mutex_unlock(&f->lock);
}

rc_status cam_feed_create(recog *rg, unsigned workers, rc_metrics *metrics, cam_feed **out,
                          rc_error *err)
{
    *out = NULL;
    cam_feed *f = calloc(1, sizeof *f);
    if (!f) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    f->rg = rg;
    f->metrics = metrics;
    f->tracking = true; /* the defaults of cam_track_config */
    pthread_mutex_init(&f->lock, NULL);
    cam_manager_config mc = {.workers = workers, .on_frame = on_frame, .user = f};
    rc_status st = cam_manager_create(&mc, &f->mgr, err);
    if (st != RC_OK) {
        pthread_mutex_destroy(&f->lock);
        free(f);
        return st;
    }
    *out = f;
    return RC_OK;
}

void cam_feed_destroy(cam_feed *f)
{
    if (!f) return;
    cam_manager_destroy(f->mgr); /* callbacks in flight finish first */
    for (size_t i = 0; i < f->ncams; i++) {
        if (f->cams[i]->tr) cam_tracker_free(f->cams[i]->tr);
        free(f->cams[i]->tr);
        free(f->cams[i]);
    }
    free(f->cams);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

cam_manager *cam_feed_manager(cam_feed *f)
{
    return f->mgr;
}

static cam_kind kind_of(const char *k)
{
    cam_kind kind = CAM_KIND_AUTO; /* unknown kinds: judged from the URL */
    cam_kind_parse(k, &kind, NULL);
    return kind;
}

rc_status cam_feed_apply(cam_feed *f, const store_camera *c, rc_error *err)
{
    cam_manager_remove(f->mgr, (int)c->id, NULL);
    drop_camera(f, c->id); /* new settings, new tracks */
    if (strcmp(c->kind, "browser") == 0) return RC_OK;
    cam_direction dir = CAM_DIR_BOTH;
    cam_direction_parse(c->direction, &dir, NULL);
    cam_config cc = {.name = c->name,
                     .url = c->url,
                     .kind = kind_of(c->kind),
                     .direction = dir,
                     .max_fps = c->fps,
                     .disabled = !c->enabled,
                     .loop = strcmp(c->kind, "file") == 0};
    return cam_manager_add(f->mgr, (int)c->id, &cc, err);
}

void cam_feed_forget(cam_feed *f, int64_t id)
{
    cam_manager_remove(f->mgr, (int)id, NULL);
    drop_camera(f, id);
}

rc_status cam_feed_start_all(cam_feed *f, store *s, rc_error *err)
{
    store_camera *cs = NULL;
    size_t n = 0;
    rc_status st = store_camera_list(s, &cs, &n, err);
    for (size_t i = 0; st == RC_OK && i < n; i++) {
        rc_error cerr;
        if (cam_feed_apply(f, &cs[i], &cerr) != RC_OK)
            rc_log(RC_LOG_WARN, "camera %lld (%s): %s", (long long)cs[i].id, cs[i].name, cerr.msg);
    }
    free(cs);
    if (n) rc_log(RC_LOG_INFO, "%zu camera(s) configured", n);
    return st;
}

int cam_feed_last_faces(cam_feed *f, int64_t id, cam_face *out, int cap)
{
    int n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->ncams; i++)
        if (f->cams[i]->id == id)
            for (n = 0; n < f->cams[i]->n && n < cap; n++) out[n] = f->cams[i]->face[n];
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A label value with the characters the exposition format escapes escaped. */
static void label_value(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(out, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

char *cam_feed_metrics(cam_feed *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    size_t n = cam_manager_list(c->mgr, NULL, 0);
    int *ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n && !ids) n = 0;
    if (ids) {
        size_t again = cam_manager_list(c->mgr, ids, n); /* cameras come and go */
        if (again < n) n = again;
    }
    cam_status *st = n ? calloc(n, sizeof *st) : NULL;
    for (size_t i = 0; st && i < n; i++)
        if (cam_manager_status(c->mgr, ids[i], &st[i], NULL) != RC_OK)
            st[i].state = CAM_STATE_ERROR;
    fputs("# HELP rollcall_camera_state the camera's state (label), with its last error\n"
          "# TYPE rollcall_camera_state gauge\n",
          f);
    for (size_t i = 0; st && i < n; i++) {
        fprintf(f, "rollcall_camera_state{camera=\"%d\",state=\"%s\",last_error=\"", ids[i],
                cam_state_name(st[i].state));
        label_value(f, st[i].last_error);
        fputs("\"} 1\n", f);
    }
    static const struct {
        const char *name, *type, *help;
    } series[] = {
        {"rollcall_camera_source_frames_total", "counter", "frames a camera delivered"},
        {"rollcall_camera_processed_frames_total", "counter", "camera frames recognized"},
        {"rollcall_camera_dropped_frames_total", "counter", "camera frames dropped, queue full"},
        {"rollcall_camera_broken_frames_total", "counter", "broken or truncated frames"},
        {"rollcall_camera_connects_total", "counter", "successful connections to a camera"},
        {"rollcall_camera_failures_total", "counter", "failed connections or streams"},
        {"rollcall_camera_fps_in", "gauge", "frames a camera delivers per second"},
        {"rollcall_camera_fps_processed", "gauge", "camera frames recognized per second"},
    };
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help, series[k].name,
                series[k].type);
        for (size_t i = 0; st && i < n; i++) {
            const cam_status *s = &st[i];
            double v = k == 0   ? (double)s->frames
                       : k == 1 ? (double)s->processed
                       : k == 2 ? (double)s->drops
                       : k == 3 ? (double)s->partial
                       : k == 4 ? (double)s->connects
                       : k == 5 ? (double)s->failures
                       : k == 6 ? s->fps_in
                                : s->fps_processed;
            fprintf(f, "%s{camera=\"%d\"} %.6g\n", series[k].name, ids[i], v);
        }
    }
    free(st);
    free(ids);
    double lat[LATENCY_RING];
    pthread_mutex_lock(&c->lock);
    uint64_t total = c->nlatency;
    size_t nl = total < LATENCY_RING ? (size_t)total : LATENCY_RING;
    memcpy(lat, c->latency_ms, nl * sizeof *lat);
    pthread_mutex_unlock(&c->lock);
    qsort(lat, nl, sizeof *lat, cmp_double);
    fputs("# HELP rollcall_camera_latency_ms capture to recognition done, most recent frames\n"
          "# TYPE rollcall_camera_latency_ms summary\n",
          f);
    static const double qs[] = {0.5, 0.9, 0.99};
    for (size_t k = 0; nl && k < sizeof qs / sizeof qs[0]; k++)
        fprintf(f, "rollcall_camera_latency_ms{quantile=\"%g\"} %.1f\n", qs[k],
                lat[(size_t)(qs[k] * (double)(nl - 1) + 0.5)]);
    fprintf(f, "rollcall_camera_latency_ms_count %llu\n", (unsigned long long)total);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
