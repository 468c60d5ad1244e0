/*
 * api_camera.c — the cameras the server pulls frames from. At start every
 * camera in the store (except "browser" ones, whose frames are posted to
 * /recognize) is handed to the camera manager; each frame it delivers is
 * recognized on a manager worker, marked for attendance under that camera's
 * id and published to the event stream. Creating, changing or deleting a
 * camera through the API updates the manager at once. The status shown with
 * each camera comes from the manager, and the snapshot is its last frame
 * with the faces found in it drawn on. /metrics gets each camera's state,
 * last error and counters, and the latency from capture to recognition done
 * over the most recent frames (camera_metrics).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../notify/notify.h"
#include "internal.h"

typedef struct {
    int64_t id;
    http_frame_faces faces;
} last_faces;

/* Latencies kept for the quantiles in /metrics: the most recent frames. */
#define LATENCY_RING 1024

struct http_cameras {
    cam_manager *mgr;
    pthread_mutex_t lock; /* last, latency */
    last_faces *last;
    size_t nlast, cap;
    double latency_ms[LATENCY_RING]; /* capture to recognition done, a ring */
    uint64_t nlatency;               /* frames recorded in total */
};

static img_image *frame_image(const cam_frame *f, rc_error *err)
{
    if (f->fmt == CAM_FMT_JPEG) {
        img_image *im = NULL;
        return img_decode(f->data, f->size, NULL, &im, err) == RC_OK ? im : NULL;
    }
    img_image *im = img_new(f->width, f->height, 3);
    if (!im) {
        rc_fail(err, RC_ERR_NOMEM, "out of memory for a %dx%d frame", f->width, f->height);
        return NULL;
    }
    memcpy(im->px, f->data, (size_t)f->width * (size_t)f->height * 3);
    return im;
}

static void remember(http_cameras *c, int64_t id, const http_frame_faces *faces)
{
    pthread_mutex_lock(&c->lock);
    size_t i = 0;
    while (i < c->nlast && c->last[i].id != id) i++;
    if (i == c->nlast) {
        if (c->nlast == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 8;
            last_faces *nl = realloc(c->last, cap * sizeof *nl);
            if (!nl) {
                pthread_mutex_unlock(&c->lock);
                return;
            }
            c->last = nl;
            c->cap = cap;
        }
        c->nlast++;
    }
    c->last[i].id = id;
    c->last[i].faces = *faces;
    pthread_mutex_unlock(&c->lock);
}

static void on_frame(void *user, unsigned worker, int camera_id, cam_camera *cam,
                     const cam_frame *frame)
{
    (void)worker;
    (void)cam;
    http_server *srv = user;
    rc_error err;
    img_image *im = frame_image(frame, &err);
    http_frame_faces *faces = calloc(1, sizeof *faces);
    if (im && faces && http_camera_frame(srv, camera_id, im, faces, &err) == RC_OK) {
        remember(srv->cameras, camera_id, faces);
        http_cameras *c = srv->cameras;
        pthread_mutex_lock(&c->lock);
        c->latency_ms[c->nlatency++ % LATENCY_RING] = rc_mono_ms() - frame->mono_ms;
        pthread_mutex_unlock(&c->lock);
        http_metrics_add(srv->metrics, "rollcall_camera_frames_total", "camera frames recognized",
                         1);
    } else {
        http_metrics_add(srv->metrics, "rollcall_camera_frame_errors_total",
                         "camera frames that could not be recognized", 1);
        rc_log(RC_LOG_DEBUG, "camera %d: frame not recognized: %s", camera_id, err.msg);
    }
    free(faces);
    img_free(im);
}

static cam_kind kind_of(const char *k)
{
    cam_kind kind = CAM_KIND_AUTO; /* unknown kinds: judged from the URL */
    cam_kind_parse(k, &kind, NULL);
    return kind;
}

rc_status http_camera_apply(http_server *srv, const store_camera *c, rc_error *err)
{
    if (!srv->cameras) return RC_OK;
    cam_manager_remove(srv->cameras->mgr, (int)c->id, NULL);
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
    return cam_manager_add(srv->cameras->mgr, (int)c->id, &cc, err);
}

void http_camera_forget(http_server *srv, int64_t id)
{
    if (!srv->cameras) return;
    cam_manager_remove(srv->cameras->mgr, (int)id, NULL);
    pthread_mutex_lock(&srv->cameras->lock);
    for (size_t i = 0; i < srv->cameras->nlast; i++)
        if (srv->cameras->last[i].id == id)
            srv->cameras->last[i] = srv->cameras->last[--srv->cameras->nlast];
    pthread_mutex_unlock(&srv->cameras->lock);
}

json_t *http_camera_status(http_server *srv, const store_camera *c)
{
    cam_status st;
    if (srv->cameras && cam_manager_status(srv->cameras->mgr, (int)c->id, &st, NULL) == RC_OK) {
        json_t *j = cam_status_json(&st);
        if (j) return j;
    }
    const char *state = strcmp(c->kind, "browser") == 0 ? "external"
                        : !c->enabled                   ? "disabled"
                                                        : "not_running";
    return json_pack("{s:s,s:f,s:f,s:i,s:i,s:n,s:n}", "state", state, "fps_in", 0.0,
                     "fps_processed", 0.0, "frames", 0, "drops", 0, "last_error", "last_frame_at");
}

rc_status http_cameras_start(http_server *srv, unsigned workers, rc_error *err)
{
    http_cameras *c = calloc(1, sizeof *c);
    if (!c) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    cam_manager_config mc = {.workers = workers, .on_frame = on_frame, .user = srv};
    rc_status st = cam_manager_create(&mc, &c->mgr, err);
    if (st != RC_OK) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return st;
    }
    srv->cameras = c;
    store_camera *cs = NULL;
    size_t n = 0;
    if (store_camera_list(srv->cfg.store, &cs, &n, err) == RC_OK) {
        for (size_t i = 0; i < n; i++) {
            rc_error cerr;
            if (http_camera_apply(srv, &cs[i], &cerr) != RC_OK)
                rc_log(RC_LOG_WARN, "camera %lld (%s): %s", (long long)cs[i].id, cs[i].name,
                       cerr.msg);
        }
    }
    free(cs);
    if (n) rc_log(RC_LOG_INFO, "%zu camera(s) configured", n);
    return RC_OK;
}

void http_cameras_stop(http_server *srv)
{
    http_cameras *c = srv->cameras;
    if (!c) return;
    cam_manager_destroy(c->mgr); /* callbacks in flight finish first */
    srv->cameras = NULL;
    free(c->last);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A label value with the characters the exposition format escapes escaped. */
static void label_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

void http_cameras_report(http_server *srv)
{
    http_cameras *c = srv->cameras;
    if (!c || !srv->cfg.notify) return;
    int ids[256];
    size_t n = cam_manager_list(c->mgr, ids, sizeof ids / sizeof ids[0]);
    int64_t now = rc_unix_ms();
    for (size_t i = 0; i < n && i < sizeof ids / sizeof ids[0]; i++) {
        cam_status st;
        if (cam_manager_status(c->mgr, ids[i], &st, NULL) != RC_OK) continue;
        rc_error err;
        if (notify_camera_state(srv->cfg.notify, ids[i], NULL, st.state == CAM_STATE_STREAMING,
                                st.state == CAM_STATE_DISABLED || st.state == CAM_STATE_ENDED,
                                st.last_error, now, NULL, &err) != RC_OK)
            rc_log(RC_LOG_WARN, "webhooks: camera %d: %s", ids[i], err.msg);
    }
}

char *http_cameras_metrics(http_server *srv)
{
    http_cameras *c = srv->cameras;
    if (!c) return NULL;
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

enum MHD_Result http_h_camera_snapshot(http_req *r)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    store_camera c;
    rc_error err;
    rc_status st = store_camera_get(r->srv->cfg.store, id, &c, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    cam_frame *f = r->srv->cameras ? cam_manager_last_frame(r->srv->cameras->mgr, (int)id) : NULL;
    if (!f)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_frame",
                                "camera %lld (%s) has not delivered a frame yet; see its status",
                                (long long)id, c.name);
    img_image *im = frame_image(f, &err);
    cam_frame_unref(f);
    if (!im) return http_reply_rc(r, RC_ERR_CORRUPT, &err);
    http_frame_faces faces = {0};
    pthread_mutex_lock(&r->srv->cameras->lock);
    for (size_t i = 0; i < r->srv->cameras->nlast; i++)
        if (r->srv->cameras->last[i].id == id) faces = r->srv->cameras->last[i].faces;
    pthread_mutex_unlock(&r->srv->cameras->lock);
    for (int i = 0; i < faces.n; i++) {
        const http_frame_face *ff = &faces.face[i];
        int t = (int)((ff->x1 - ff->x0) / 60) + 1;
        uint8_t red = ff->known ? 40 : 255, green = ff->known ? 220 : 160;
        img_draw_rect(im, (int)ff->x0, (int)ff->y0, (int)ff->x1, (int)ff->y1, t, red, green, 40);
        int scale = (int)((ff->x1 - ff->x0) / 90) + 1;
        int y = (int)ff->y0 - 9 * scale - t;
        if (y < 0) y = (int)ff->y1 + t + 2;
        img_draw_text(im, (int)ff->x0, y, scale, ff->label, red, green, 40);
    }
    unsigned char *jpeg = NULL;
    size_t len = 0;
    st = img_encode_jpeg(im, 85, &jpeg, &len, &err);
    img_free(im);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_owned(r, MHD_HTTP_OK, "image/jpeg", jpeg, len);
}
