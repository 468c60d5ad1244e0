/*
 * api_camera.c — the cameras the server pulls frames from. At start every
 * camera in the store (except "browser" ones, whose frames are posted to
 * /recognize) is handed to the camera manager; each frame it delivers is
 * recognized on a manager worker, marked for attendance under that camera's
 * id and published to the event stream. Creating, changing or deleting a
 * camera through the API updates the manager at once. The status shown with
 * each camera comes from the manager, and the snapshot is its last frame
 * with the faces found in it drawn on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    int64_t id;
    http_frame_faces faces;
} last_faces;

struct http_cameras {
    cam_manager *mgr;
    pthread_mutex_t lock; /* last */
    last_faces *last;
    size_t nlast, cap;
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
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, jpeg, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(jpeg);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "image/jpeg");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}
