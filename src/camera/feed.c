/*
 * feed.c — the server's cameras feeding recognition. Every camera in the
 * store (except "browser" ones, whose frames are posted to /recognize) runs
 * under one camera manager; each frame it delivers is decoded on a manager
 * worker and handed to recog_frame, marked for attendance under that
 * camera's id. recog's listeners publish the outcome (the HTTP live stream,
 * webhooks); the feed remembers the faces of each camera's last frame for
 * the annotated snapshot, and the latency from capture to recognition done
 * over the most recent frames for /metrics.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../recog/recog.h"
#include "camera.h"

typedef struct {
    int64_t id;
    int n;
    cam_face face[CAM_FEED_FACES];
} last_faces;

/* Latencies kept for the quantiles in /metrics: the most recent frames. */
#define LATENCY_RING 1024

struct cam_feed {
    recog *rg;
    rc_metrics *metrics;
    cam_manager *mgr;
    pthread_mutex_t lock; /* last, latency */
    last_faces *last;
    size_t nlast, cap;
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

static void remember(cam_feed *f, int64_t id, const recog_result *res)
{
    pthread_mutex_lock(&f->lock);
    size_t i = 0;
    while (i < f->nlast && f->last[i].id != id) i++;
    if (i == f->nlast) {
        if (f->nlast == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 8;
            last_faces *nl = realloc(f->last, cap * sizeof *nl);
            if (!nl) {
                pthread_mutex_unlock(&f->lock);
                return;
            }
            f->last = nl;
            f->cap = cap;
        }
        f->nlast++;
    }
    last_faces *l = &f->last[i];
    l->id = id;
    l->n = 0;
    for (int k = 0; k < res->n && l->n < CAM_FEED_FACES; k++) {
        const recog_face *rf = &res->faces[k];
        cam_face *cf = &l->face[l->n++];
        cf->x0 = rf->face.x0;
        cf->y0 = rf->face.y0;
        cf->x1 = rf->face.x1;
        cf->y1 = rf->face.y1;
        cf->known = rf->known;
        snprintf(cf->label, sizeof cf->label, "%.63s",
                 rf->known  ? rf->person.name
                 : rf->live ? "unknown"
                            : "not live");
    }
    pthread_mutex_unlock(&f->lock);
}

static void on_frame(void *user, unsigned worker, int camera_id, cam_camera *cam,
                     const cam_frame *frame)
{
    (void)worker;
    (void)cam;
    cam_feed *f = user;
    rc_error err;
    img_image *im = cam_frame_image(frame, &err);
    recog_result res;
    recog_frame_opts o = {.mark = true, .camera_id = camera_id};
    if (im && recog_frame(f->rg, im, &o, &res, &err) == RC_OK) {
        remember(f, camera_id, &res);
        recog_result_free(&res);
        pthread_mutex_lock(&f->lock);
        f->latency_ms[f->nlatency++ % LATENCY_RING] = rc_mono_ms() - frame->mono_ms;
        pthread_mutex_unlock(&f->lock);
        rc_metrics_add(f->metrics, "rollcall_camera_frames_total", "camera frames recognized", 1);
    } else {
        rc_metrics_add(f->metrics, "rollcall_camera_frame_errors_total",
                       "camera frames that could not be recognized", 1);
        rc_log(RC_LOG_DEBUG, "camera %d: frame not recognized: %s", camera_id, err.msg);
    }
    img_free(im);
}

rc_status cam_feed_create(recog *rg, unsigned workers, rc_metrics *metrics, cam_feed **out,
                          rc_error *err)
{
    *out = NULL;
    cam_feed *f = calloc(1, sizeof *f);
    if (!f) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    f->rg = rg;
    f->metrics = metrics;
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
    free(f->last);
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
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nlast; i++)
        if (f->last[i].id == id) f->last[i] = f->last[--f->nlast];
    pthread_mutex_unlock(&f->lock);
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
    for (size_t i = 0; i < f->nlast; i++)
        if (f->last[i].id == id)
            for (n = 0; n < f->last[i].n && n < cap; n++) out[n] = f->last[i].face[n];
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
