/*
 * recog.c — the recognition service: models and the face-worker pool, the
 * job threads with their bounded queue, recog_frame (faces → identities →
 * attendance) and the listeners. The gallery and its follower are in
 * follow.c, enrollment in enroll.c; what the three share is in internal.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const char *const models_used[] = {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx",
                                          "fr_liveness.onnx", NULL};

/* ---- job threads -------------------------------------------------------- */

/* Takes the next queued job if one may start now. Under jlock. */
static bool take_job(recog *r, recog_job *j)
{
    if (r->jcount == 0 || r->jactive >= r->jlimit) return false;
    *j = r->jobs[r->jhead];
    r->jhead = (r->jhead + 1) % r->jcap;
    r->jcount--;
    r->jactive++;
    return true;
}

/* Hands queued jobs to idle threads, the one idle last first, while jobs
 * may start. Under jlock. */
static void dispatch(recog *r)
{
    while (r->nidle > 0) {
        recog_jthread *t = &r->jt[r->jidle[r->nidle - 1]];
        if (!take_job(r, &t->job)) return;
        r->nidle--;
        t->has_job = true;
        pthread_cond_signal(&t->wake);
    }
}

static void unidle(recog *r, const recog_jthread *me)
{
    for (size_t i = 0; i < r->nidle; i++)
        if (r->jidle[i] == me->index) {
            memmove(&r->jidle[i], &r->jidle[i + 1], (r->nidle - i - 1) * sizeof *r->jidle);
            r->nidle--;
            return;
        }
}

static void *job_main(void *arg)
{
    recog_jthread *me = arg;
    recog *r = me->r;
    pthread_setname_np(pthread_self(), "recog-job"); /* for top -H and the benchmarks */
    pthread_setspecific(r->jkey, me);
    pthread_mutex_lock(&r->jlock);
    for (;;) {
        recog_job j;
        if (me->has_job) {
            j = me->job;
            me->has_job = false;
        } else if (!take_job(r, &j)) {
            if (r->jstop && r->jcount == 0) break; /* stopping and drained */
            r->jidle[r->nidle++] = me->index;
            while (!me->has_job && !r->jstop) pthread_cond_wait(&me->wake, &r->jlock);
            if (!me->has_job) {
                unidle(r, me);
                /* Stopping: drain what is queued, but no more at once than
                 * may run (the others wait for the ones running to end). */
                while (r->jcount > 0 && r->jactive >= r->jlimit)
                    pthread_cond_wait(&me->wake, &r->jlock);
            }
            continue;
        }
        pthread_mutex_unlock(&r->jlock);
        j.fn(j.arg);
        pthread_mutex_lock(&r->jlock);
        r->jactive--;
        if (r->jstop) /* the threads draining the queue may go on */
            for (size_t i = 0; i < r->nthreads; i++) pthread_cond_signal(&r->jt[i].wake);
    }
    pthread_mutex_unlock(&r->jlock);
    return NULL;
}

void recog_wait_begin(recog *r)
{
    recog_jthread *me = r->jkey_made ? pthread_getspecific(r->jkey) : NULL;
    if (!me || me->r != r || me->waiting) return; /* not a job of r */
    pthread_mutex_lock(&r->jlock);
    me->waiting = true;
    r->jactive--;
    dispatch(r);
    pthread_mutex_unlock(&r->jlock);
}

void recog_wait_end(recog *r)
{
    recog_jthread *me = r->jkey_made ? pthread_getspecific(r->jkey) : NULL;
    if (!me || me->r != r || !me->waiting) return;
    pthread_mutex_lock(&r->jlock);
    me->waiting = false;
    r->jactive++; /* may pass jlimit for the rest of this job */
    pthread_mutex_unlock(&r->jlock);
}

rc_status recog_submit(recog *r, void (*fn)(void *arg), void *arg, rc_error *err)
{
    pthread_mutex_lock(&r->jlock);
    /* Jobs that cannot start at once (beyond the free slots) count against
     * the queue. */
    size_t free_slots = r->jactive < r->jlimit ? r->jlimit - r->jactive : 0;
    size_t waiting = r->jcount > free_slots ? r->jcount - free_slots : 0;
    if (r->jstop || r->jcount == r->jcap || waiting >= r->jqueue) {
        pthread_mutex_unlock(&r->jlock);
        rc_metrics_add(r->cfg.metrics, "rollcall_recog_busy_total",
                       "requests refused because every recognition worker was busy", 1);
        return rc_fail(err, RC_ERR_LIMIT,
                       "busy: every recognition worker is busy and %u requests wait; try again "
                       "shortly",
                       r->jqueue);
    }
    r->jobs[(r->jhead + r->jcount) % r->jcap] = (recog_job){fn, arg};
    r->jcount++;
    dispatch(r);
    pthread_mutex_unlock(&r->jlock);
    return RC_OK;
}

/* ---- life --------------------------------------------------------------- */

rc_status recog_create(const recog_config *cfg, recog **out, rc_error *err)
{
    *out = NULL;
    if (!cfg->store) return rc_fail(err, RC_ERR_INVALID, "recognition needs a store");
    recog *r = calloc(1, sizeof *r);
    if (!r) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    r->cfg = *cfg;
    unsigned n = cfg->workers;
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    r->jqueue = cfg->queue ? cfg->queue : 4 * n;
    r->jcap = r->jqueue + n;
    pthread_mutex_init(&r->wlock, NULL);
    pthread_cond_init(&r->wfreed, NULL);
    pthread_mutex_init(&r->jlock, NULL);
    r->jkey_made = pthread_key_create(&r->jkey, NULL) == 0;
    pthread_mutex_init(&r->llock, NULL);
    pthread_mutex_init(&r->sync_lock, NULL);
    pthread_mutex_init(&r->follow_lock, NULL);
    pthread_cond_init(&r->follow_wake, NULL);
    r->inited = true;
    rc_status st = face_models_load(cfg->models_dir, 0, &r->models, err);
    if (st == RC_OK) {
        snprintf(r->model_id, sizeof r->model_id, "%s", face_models_embedding_id(r->models));
        r->workers = calloc(n, sizeof *r->workers);
        r->busy = calloc(n, sizeof *r->busy);
        r->used = calloc(n, sizeof *r->used);
        r->user = calloc(n, sizeof *r->user);
        r->jobs = calloc(r->jcap, sizeof *r->jobs);
        r->jt = calloc(2 * (size_t)n, sizeof *r->jt);
        r->jidle = calloc(2 * (size_t)n, sizeof *r->jidle);
        if (!r->jkey_made)
            st = rc_fail(err, RC_ERR_INTERNAL, "cannot create a thread key for recognition");
        else if (!r->workers || !r->busy || !r->used || !r->user || !r->jobs || !r->jt || !r->jidle)
            st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        for (unsigned i = 0; st == RC_OK && i < n; i++) {
            st = face_worker_create(r->models, &r->workers[i], err);
            if (st == RC_OK) r->nworkers++;
        }
    }
    if (st == RC_OK) st = gallery_create(FACE_EMB_DIM, &r->gallery, err);
    if (st == RC_OK) st = recog_gallery_load(r, err);
    /* One job at a time per face worker, and as many spare threads, which
     * run jobs only while others wait for the disk. */
    r->jlimit = n;
    for (size_t i = 0; st == RC_OK && i < 2 * (size_t)n; i++) {
        recog_jthread *t = &r->jt[i];
        *t = (recog_jthread){.r = r, .index = i};
        pthread_cond_init(&t->wake, NULL);
        if (pthread_create(&t->thread, NULL, job_main, t) != 0) {
            pthread_cond_destroy(&t->wake);
            st = rc_fail(err, RC_ERR_INTERNAL, "cannot start a recognition thread");
        } else {
            r->nthreads++;
        }
    }
    if (st == RC_OK && cfg->follow) st = recog_follow_start(r, err);
    if (st != RC_OK) {
        recog_destroy(r);
        return st;
    }
    *out = r;
    return RC_OK;
}

void recog_destroy(recog *r)
{
    if (!r) return;
    if (r->inited) {
        recog_follow_stop(r);
        pthread_mutex_lock(&r->jlock);
        r->jstop = true;
        for (size_t i = 0; i < r->nthreads; i++) pthread_cond_signal(&r->jt[i].wake);
        pthread_mutex_unlock(&r->jlock);
        for (size_t i = 0; i < r->nthreads; i++) {
            pthread_join(r->jt[i].thread, NULL);
            pthread_cond_destroy(&r->jt[i].wake);
        }
        if (r->jkey_made) pthread_key_delete(r->jkey);
    }
    for (size_t i = 0; i < r->nworkers; i++) face_worker_free(r->workers[i]);
    free(r->workers);
    free(r->busy);
    free(r->used);
    free(r->user);
    free(r->jobs);
    free(r->jt);
    free(r->jidle);
    free(r->listeners);
    free(r->loaded);
    gallery_free(r->gallery);
    face_models_free(r->models);
    if (r->inited) {
        pthread_cond_destroy(&r->follow_wake);
        pthread_mutex_destroy(&r->follow_lock);
        pthread_mutex_destroy(&r->sync_lock);
        pthread_mutex_destroy(&r->llock);
        pthread_mutex_destroy(&r->jlock);
        pthread_cond_destroy(&r->wfreed);
        pthread_mutex_destroy(&r->wlock);
    }
    free(r);
}

const char *recog_model_id(const recog *r)
{
    return r->model_id;
}

size_t recog_gallery_size(recog *r)
{
    return gallery_count(r->gallery);
}

const char *const *recog_models_loaded(const recog *r)
{
    (void)r;
    return models_used;
}

/* ---- analysis ----------------------------------------------------------- */

rc_status recog_decode(const void *data, size_t len, img_image **out, rc_error *err)
{
    *out = NULL;
    if (!data || !len) return rc_fail(err, RC_ERR_CORRUPT, "the file is empty");
    img_decode_opts o = {.max_pixels = IMG_DEFAULT_MAX_PIXELS};
    return img_decode(data, len, &o, out, err);
}

/* A free face worker, waiting for one when all are busy. The thread takes
 * the worker it used last when that one is free, else one nobody used yet,
 * else any: a worker stays with one thread (its buffers in that thread's
 * malloc arena and CPU cache) instead of moving between threads from frame
 * to frame, which with two threads cost about a dozen page faults per frame
 * (buffers freed into one thread's arena and faulted in again by the other)
 * and cache misses. */
static face_worker *worker_get(recog *r, size_t *slot)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&r->wlock);
    for (;;) {
        size_t best = r->nworkers;
        int rank = 0; /* 3: used last by this thread, 2: by nobody, 1: by another */
        for (size_t i = 0; i < r->nworkers && rank < 3; i++) {
            if (r->busy[i]) continue;
            int k = !r->used[i] ? 2 : pthread_equal(r->user[i], self) ? 3 : 1;
            if (k > rank) {
                rank = k;
                best = i;
            }
        }
        if (best < r->nworkers) {
            r->busy[best] = true;
            r->used[best] = true;
            r->user[best] = self;
            *slot = best;
            pthread_mutex_unlock(&r->wlock);
            return r->workers[best];
        }
        pthread_cond_wait(&r->wfreed, &r->wlock);
    }
}

static void worker_put(recog *r, size_t slot)
{
    pthread_mutex_lock(&r->wlock);
    r->busy[slot] = false;
    pthread_cond_signal(&r->wfreed);
    pthread_mutex_unlock(&r->wlock);
}

/* face_analyze with a borrowed worker, or face_analyze_found on the faces
 * `o` says were found already; records the stage timings (the detect stage
 * only when the detector ran, so its count is the detector's runs). */
static rc_status analyze(recog *r, const img_image *im, const face_opts *opts,
                         const recog_frame_opts *o, face_info **faces, int *n, rc_error *err)
{
    bool found = o && o->detected;
    size_t slot;
    face_worker *w = worker_get(r, &slot);
    rc_status st = found ? face_analyze_found(w, im, opts, o->found, o->nfound, faces, n, err)
                         : face_analyze(w, im, opts, faces, n, err);
    face_timings t = face_worker_timings(w);
    worker_put(r, slot);
    if (st != RC_OK) return st;
    static const char *const names[] = {"detect", "landmarks", "align",
                                        "embed",  "liveness",  "quality"};
    double v[] = {t.detect, t.landmarks, t.align, t.embed, t.liveness, t.quality};
    for (int i = 0; i < 6; i++) {
        if (i == 0 && found) continue;                   /* no detector ran */
        if (i == 4 && opts && !opts->liveness) continue; /* measured later, or not at all */
        char name[96];
        snprintf(name, sizeof name, "rollcall_pipeline_stage_ms{stage=\"%s\"}", names[i]);
        rc_metrics_time(r->cfg.metrics, name, "face pipeline time per frame and stage", v[i]);
    }
    rc_metrics_add(r->cfg.metrics, "rollcall_frames_total", "frames analyzed", 1);
    rc_metrics_add(r->cfg.metrics, "rollcall_faces_total", "faces found", *n);
    return RC_OK;
}

rc_status recog_analyze(recog *r, const img_image *im, const face_opts *opts, face_info **faces,
                        int *n, rc_error *err)
{
    return analyze(r, im, opts, NULL, faces, n, err);
}

rc_status recog_detect_region(recog *r, const img_image *im, const float rect[4],
                              const face_opts *opts, face_info **faces, int *n, rc_error *err)
{
    size_t slot;
    face_worker *w = worker_get(r, &slot);
    rc_status st = face_detect_region(w, im, rect, opts, faces, n, err);
    face_timings t = face_worker_timings(w);
    worker_put(r, slot);
    if (st == RC_OK)
        rc_metrics_time(r->cfg.metrics, "rollcall_pipeline_stage_ms{stage=\"region\"}",
                        "face pipeline time per frame and stage", t.detect);
    return st;
}

/* ---- listeners ---------------------------------------------------------- */

int recog_listen(recog *r, recog_listener fn, void *user)
{
    pthread_mutex_lock(&r->llock);
    int id = 0;
    recog_listener_slot *nl = realloc(r->listeners, (r->nlisteners + 1) * sizeof *nl);
    if (nl) {
        r->listeners = nl;
        id = ++r->next_listener;
        nl[r->nlisteners++] = (recog_listener_slot){id, fn, user};
    }
    pthread_mutex_unlock(&r->llock);
    return id;
}

void recog_unlisten(recog *r, int id)
{
    pthread_mutex_lock(&r->llock);
    for (size_t i = 0; i < r->nlisteners; i++)
        if (r->listeners[i].id == id) {
            r->listeners[i] = r->listeners[--r->nlisteners];
            break;
        }
    pthread_mutex_unlock(&r->llock);
}

/* Deliver under the lock, so recog_unlisten returning means the listener is
 * no longer running. */
void recog_emit(recog *r, const recog_event *ev)
{
    pthread_mutex_lock(&r->llock);
    for (size_t i = 0; i < r->nlisteners; i++) r->listeners[i].fn(r->listeners[i].user, ev);
    pthread_mutex_unlock(&r->llock);
}

/* ---- recognition -------------------------------------------------------- */

/* The largest side of a kept face crop, pixels. */
#define KEPT_CROP_MAX 480

/* The face as the camera saw it, for keeping with a sighting or as an
 * event's probe (caller frees): a square of twice the face's size around
 * it, clipped to the frame, at the frame's own resolution (scaled down only
 * past KEPT_CROP_MAX, where the face is still 240 px). Not the aligned
 * 112x112 crop: assigning a kept face to a person enrolls it through
 * recog_enroll, whose size and quality checks must see the face as it was,
 * not an enlargement of a small, blurred one. */
static unsigned char *face_jpeg(const img_image *im, const face_info *f, size_t *len)
{
    unsigned char *jpeg = NULL;
    *len = 0;
    float w = f->x1 - f->x0, h = f->y1 - f->y0, side = 2.f * (w > h ? w : h);
    float cx = (f->x0 + f->x1) / 2, cy = (f->y0 + f->y1) / 2;
    float x0 = cx - side / 2, y0 = cy - side / 2, x1 = cx + side / 2, y1 = cy + side / 2;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > (float)im->w) x1 = (float)im->w;
    if (y1 > (float)im->h) y1 = (float)im->h;
    if (x1 - x0 < 8 || y1 - y0 < 8) return NULL;
    float scale = 1.f, big = x1 - x0 > y1 - y0 ? x1 - x0 : y1 - y0;
    if (big > KEPT_CROP_MAX) scale = KEPT_CROP_MAX / big;
    int ow = (int)((x1 - x0) * scale + 0.5f), oh = (int)((y1 - y0) * scale + 0.5f);
    img_image *crop = img_crop_resize(im, x0, y0, x1 - x0, y1 - y0, ow, oh, 0);
    if (crop && img_encode_jpeg(crop, 90, &jpeg, len, NULL) != RC_OK) jpeg = NULL;
    img_free(crop);
    return jpeg;
}

/* The face as seen, kept as the probe of the event it is now the best
 * sighting of (keep_unrecognized), so a wrong recognition can be reviewed
 * and assigned to the right person. Made only then, not for every merged
 * frame; a failure costs the probe, never the event. */
static void keep_probe(recog *r, const img_image *im, const recog_face *f, const att_sighting *sg,
                       const store_event *e)
{
    size_t len = 0;
    unsigned char *jpeg = face_jpeg(im, &f->face, &len);
    store_sighting g = {.ts_ms = sg->ts_ms,
                        .camera_id = sg->camera_id,
                        .candidate_person_id = e->person_id,
                        .confidence = sg->confidence,
                        .liveness = sg->liveness,
                        .reason = "recognized",
                        .event_id = e->id};
    rc_error err;
    recog_wait_begin(r); /* a commit too: its fsync */
    rc_status st = jpeg ? store_event_probe_set(r->cfg.store, &g, jpeg, len, &err) : RC_OK;
    recog_wait_end(r);
    if (st != RC_OK)
        rc_log(RC_LOG_WARN, "keeping the face of event %lld: %s", (long long)e->id, err.msg);
    free(jpeg);
}

void recog_settings(recog *r, double *threshold, double *liveness, int *keep_unrecognized)
{
    att_config c = {.recognition_threshold = GALLERY_DEFAULT_THRESHOLD,
                    .liveness_threshold = FACE_DEFAULT_LIVENESS_THRESHOLD};
    if (r->cfg.att) att_get_config(r->cfg.att, &c);
    *threshold = c.recognition_threshold;
    if (liveness) *liveness = c.liveness_threshold;
    if (keep_unrecognized) *keep_unrecognized = c.keep_unrecognized;
}

/* Liveness runs with a face worker borrowed at the first face that needs
 * it and given back by live_done, which records the time spent as the
 * frame's liveness stage. */
typedef struct {
    face_worker *w;
    size_t slot;
    double ms;
} live_run;

#define LIVENESS_HELP                                                                              \
    "faces whose liveness was measured, or skipped (measured live at the camera within the "       \
    "de-duplication window)"

static rc_status live_measure(recog *r, live_run *run, const img_image *im, recog_face *f,
                              rc_error *err)
{
    if (!run->w) run->w = worker_get(r, &run->slot);
    double t0 = rc_mono_ms();
    rc_status st = face_liveness(run->w, im, &f->face, err);
    run->ms += rc_mono_ms() - t0;
    rc_metrics_add(r->cfg.metrics, "rollcall_liveness_faces_total{how=\"measured\"}", LIVENESS_HELP,
                   1);
    return st;
}

static void live_done(recog *r, live_run *run)
{
    if (!run->w) return;
    rc_metrics_time(r->cfg.metrics, "rollcall_pipeline_stage_ms{stage=\"liveness\"}",
                    "face pipeline time per frame and stage", run->ms);
    worker_put(r, run->slot);
    run->w = NULL;
}

/* The face's identity once its liveness is known (or not measured): a face
 * below the threshold keeps none, the match is cleared, so nothing
 * downstream can show whom a spoof resembles. */
static void judge_face(recog *r, recog_face *f, gallery_match m, double liveness)
{
    f->live = f->face.liveness < 0 || f->face.liveness >= liveness;
    memset(&f->match, 0, sizeof f->match);
    f->match.person = -1;
    f->known = false;
    memset(&f->person, 0, sizeof f->person);
    if (!f->live) return;
    f->match = m;
    f->known = m.known && m.person > 0 &&
               store_person_get(r->cfg.store, m.person, &f->person, NULL) == RC_OK &&
               f->person.active;
    if (!f->known) memset(&f->person, 0, sizeof f->person);
}

/* Who each live face is. Liveness is measured here, only where its answer
 * is used: in a frame that marks attendance, on every face (a known face may
 * become an event, an unknown one an unknown-face notification or a kept
 * sighting) except a known one whose person was measured live at this
 * camera within the de-duplication window (att_live_recently: its sighting
 * can only merge into that event, so mark records it merge_only and
 * measures it only if the merge no longer holds); in a frame that does not
 * mark, on the faces the gallery knows (whose identity a spoof must not
 * get). An unmeasured face keeps liveness -1. */
static rc_status identify(recog *r, const img_image *im, recog_result *res, bool marking,
                          const char *kind, double threshold, double liveness, rc_error *err)
{
    gallery_decide_opts dec = {(float)threshold, 1};
    live_run run = {0};
    rc_status st = RC_OK;
    for (int i = 0; i < res->n && st == RC_OK; i++) {
        recog_face *f = &res->faces[i];
        f->match.person = -1;
        f->live = true;
        if (!f->face.has_embedding) continue;
        gallery_match m = gallery_identify(r->gallery, f->face.embedding, &dec);
        f->liveness_skipped =
            marking && m.known && m.person > 0 &&
            att_live_recently(r->cfg.att, m.person, res->camera_id, kind, res->ts_ms);
        if ((marking || m.known) && !f->liveness_skipped) st = live_measure(r, &run, im, f, err);
        judge_face(r, f, m, liveness);
    }
    live_done(r, &run);
    return st;
}

/* The face's sighting for att_record. */
static att_sighting sighting_of(const recog_result *res, const recog_face *f, const char *kind)
{
    return (att_sighting){
        .person_id = f->known ? f->person.id : 0,
        .ts_ms = res->ts_ms,
        .camera_id = res->camera_id,
        .confidence = f->match.score,
        .box = {f->face.x0, f->face.y0, f->face.x1 - f->face.x0, f->face.y1 - f->face.y0},
        .liveness = f->face.liveness,
        .kind = kind,
        .face_id = f->known ? f->match.best_template : 0,
        .merge_only = f->liveness_skipped};
}

/* Record one face's sighting. A face that skipped liveness whose merge no
 * longer holds (ATT_NEEDS_LIVENESS: the event is gone, the slot changed, the
 * person was archived) is measured now, judged again and recorded like any
 * other. */
static rc_status record(recog *r, const img_image *im, const recog_result *res, recog_face *f,
                        const char *kind, int keep_unrecognized, double liveness, att_result *ar,
                        rc_error *err)
{
    for (;;) {
        att_sighting sg = sighting_of(res, f, kind);
        size_t jl = 0;
        unsigned char *jpeg = !sg.person_id && !sg.merge_only && keep_unrecognized
                                  ? face_jpeg(im, &f->face, &jl)
                                  : NULL;
        /* The commit waits for the disk's fsync, which takes several ms when
         * the cores are busy: let the next frame be recognized meanwhile. */
        recog_wait_begin(r);
        rc_status st = att_record(r->cfg.att, &sg, jpeg, jl, ar, err);
        recog_wait_end(r);
        free(jpeg);
        if (st != RC_OK || ar->outcome != ATT_NEEDS_LIVENESS) return st;
        if (!f->liveness_skipped)
            return rc_fail(err, RC_ERR_INTERNAL, "a measured face was refused");
        f->liveness_skipped = false;
        live_run run = {0};
        gallery_match m = f->match;
        st = live_measure(r, &run, im, f, err);
        live_done(r, &run);
        if (st != RC_OK) return st;
        judge_face(r, f, m, liveness);
    }
}

static void mark(recog *r, const img_image *im, recog_result *res, const char *kind,
                 int keep_unrecognized, double liveness)
{
    for (int i = 0; i < res->n; i++) {
        recog_face *f = &res->faces[i];
        if (!f->face.has_embedding) continue;
        att_result ar;
        rc_error aerr;
        if (record(r, im, res, f, kind, keep_unrecognized, liveness, &ar, &aerr) != RC_OK) {
            rc_log(RC_LOG_WARN, "attendance for a sighting: %s", aerr.msg);
        } else if (!f->known && f->live) {
            recog_event ev = {.kind = RECOG_EVENT_UNKNOWN,
                              .camera_id = res->camera_id,
                              .ts_ms = res->ts_ms,
                              .face = f,
                              .sighting_id = ar.outcome == ATT_UNRECOGNIZED ? ar.sighting_id : 0};
            recog_emit(r, &ev);
        } else if (ar.outcome == ATT_NEW || ar.outcome == ATT_MERGED || ar.outcome == ATT_MOVED) {
            f->has_event = true;
            f->event_new = ar.outcome == ATT_NEW;
            f->event = ar.event;
            f->minutes_late = att_minutes_late(r->cfg.att, &ar.event);
            if (keep_unrecognized && ar.best) {
                att_sighting sg = sighting_of(res, f, kind);
                keep_probe(r, im, f, &sg, &ar.event);
            }
            recog_event ev = {.kind = RECOG_EVENT_ATTENDANCE,
                              .camera_id = res->camera_id,
                              .ts_ms = res->ts_ms,
                              .face = f,
                              .event = &f->event,
                              .is_new = f->event_new};
            recog_emit(r, &ev);
        }
    }
}

/* The recognitions counters, once every face's answer is final. */
static void count_faces(recog *r, const recog_result *res)
{
    for (int i = 0; i < res->n; i++) {
        const recog_face *f = &res->faces[i];
        if (!f->face.has_embedding) continue;
        rc_metrics_add(r->cfg.metrics,
                       !f->live   ? "rollcall_recognitions_total{result=\"not_live\"}"
                       : f->known ? "rollcall_recognitions_total{result=\"known\"}"
                                  : "rollcall_recognitions_total{result=\"unknown\"}",
                       "faces identified, known or unknown", 1);
        if (f->liveness_skipped)
            rc_metrics_add(r->cfg.metrics, "rollcall_liveness_faces_total{how=\"skipped\"}",
                           LIVENESS_HELP, 1);
    }
}

rc_status recog_frame(recog *r, const img_image *im, const recog_frame_opts *o, recog_result *out,
                      rc_error *err)
{
    memset(out, 0, sizeof *out);
    recog_frame_opts none = {0};
    if (!o) o = &none;
    double t0 = rc_mono_ms();
    double threshold, liveness;
    int keep;
    recog_settings(r, &threshold, &liveness, &keep);
    face_opts fo = face_opts_default();
    fo.liveness = 0; /* measured by identify, only where it is used */
    face_info *faces = NULL;
    int n = 0;
    rc_status st = analyze(r, im, &fo, o, &faces, &n, err);
    if (st != RC_OK) return st;
    out->width = im->w;
    out->height = im->h;
    out->camera_id = o->camera_id;
    out->ts_ms = o->ts_ms ? o->ts_ms : rc_unix_ms();
    out->faces = calloc((size_t)n + 1, sizeof *out->faces);
    if (!out->faces) {
        free(faces);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    out->n = n;
    for (int i = 0; i < n; i++) out->faces[i].face = faces[i];
    free(faces);
    bool marking = o->mark && r->cfg.att;
    st = identify(r, im, out, marking, o->kind, threshold, liveness, err);
    if (st != RC_OK) {
        recog_result_free(out);
        return st;
    }
    if (marking) mark(r, im, out, o->kind, keep, liveness);
    count_faces(r, out);
    out->ms = rc_mono_ms() - t0;
    if (n > 0) {
        recog_event ev = {.kind = RECOG_EVENT_FRAME,
                          .camera_id = out->camera_id,
                          .ts_ms = out->ts_ms,
                          .frame = out};
        recog_emit(r, &ev);
    }
    return RC_OK;
}

void recog_result_free(recog_result *res)
{
    if (!res) return;
    free(res->faces);
    memset(res, 0, sizeof *res);
}
