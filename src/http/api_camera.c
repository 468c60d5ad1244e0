/*
 * api_camera.c — the cameras the server pulls frames from, as the API shows
 * them. The cameras themselves run in the camera module's feed (created by
 * `rollcall serve`), which hands every frame to recog; here creating,
 * changing or deleting a camera through the API updates the feed at once,
 * each camera's status comes from its manager, and the snapshot is its last
 * frame with the faces found in it drawn on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

rc_status http_camera_apply(http_server *srv, const store_camera *c, rc_error *err)
{
    return srv->cfg.cameras ? cam_feed_apply(srv->cfg.cameras, c, err) : RC_OK;
}

void http_camera_forget(http_server *srv, int64_t id)
{
    if (srv->cfg.cameras) cam_feed_forget(srv->cfg.cameras, id);
}

json_t *http_camera_status(http_server *srv, const store_camera *c)
{
    cam_status st;
    if (srv->cfg.cameras &&
        cam_manager_status(cam_feed_manager(srv->cfg.cameras), (int)c->id, &st, NULL) == RC_OK) {
        json_t *j = cam_status_json(&st);
        if (j) return j;
    }
    const char *state = strcmp(c->kind, "browser") == 0 ? "external"
                        : !c->enabled                   ? "disabled"
                                                        : "not_running";
    return json_pack("{s:s,s:f,s:f,s:i,s:i,s:n,s:n}", "state", state, "fps_in", 0.0,
                     "fps_processed", 0.0, "frames", 0, "drops", 0, "last_error", "last_frame_at");
}

enum MHD_Result http_h_camera_snapshot(http_req *r)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    store_camera c;
    rc_error err;
    rc_status st = store_camera_get(r->srv->cfg.store, id, &c, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    cam_feed *feed = r->srv->cfg.cameras;
    cam_frame *f = feed ? cam_manager_last_frame(cam_feed_manager(feed), (int)id) : NULL;
    if (!f)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_frame",
                                "camera %lld (%s) has not delivered a frame yet; see its status",
                                (long long)id, c.name);
    img_image *im = cam_frame_image(f, &err);
    cam_frame_unref(f);
    if (!im) return http_reply_rc(r, RC_ERR_CORRUPT, &err);
    cam_face faces[CAM_FEED_FACES];
    int nf = cam_feed_last_faces(feed, id, faces, CAM_FEED_FACES);
    for (int i = 0; i < nf; i++) {
        const cam_face *ff = &faces[i];
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
