/*
 * api_face.c — the endpoints that look at pictures: recognize (every face in
 * a frame, who it is, live or not, and with mark=true the attendance event),
 * detect, verify (1:1), enrollment of a person's faces (one photo or many),
 * the face list and crops, dataset import (per-file results streamed as
 * NDJSON), and the two endpoints the earlier Python services offered
 * (/process-images, /process_frame).
 *
 * The server holds one set of loaded models (shared, immutable), a pool of
 * per-thread face workers (a request borrows one for its analysis) and the
 * in-memory gallery of enrolled embeddings. The gallery follows the store:
 * before identifying, the store's gallery version is compared with the one
 * loaded, and a change (an enrollment or deletion by this or another
 * process) reloads it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../face/face.h"
#include "../gallery/gallery.h"
#include "internal.h"

struct http_vision {
    face_models *models;
    char model_id[FACE_MODEL_ID];
    pthread_mutex_t lock; /* workers */
    pthread_cond_t freed;
    face_worker **workers;
    bool *busy;
    size_t nworkers;
    pthread_rwlock_t glock; /* the gallery pointer and its version */
    gallery *gallery;
    int64_t version;
};

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

rc_status http_vision_create(const char *models_dir, unsigned nworkers, http_vision **out,
                             rc_error *err)
{
    *out = NULL;
    http_vision *v = calloc(1, sizeof *v);
    if (!v) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->freed, NULL);
    pthread_rwlock_init(&v->glock, NULL);
    v->version = -1;
    rc_status st = face_models_load(models_dir, 0, &v->models, err);
    if (st == RC_OK) {
        http_copy(v->model_id, sizeof v->model_id, face_models_embedding_id(v->models));
        v->workers = calloc(nworkers, sizeof *v->workers);
        v->busy = calloc(nworkers, sizeof *v->busy);
        if (!v->workers || !v->busy) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; st == RC_OK && i < nworkers; i++) {
            st = face_worker_create(v->models, &v->workers[i], err);
            if (st == RC_OK) v->nworkers++;
        }
    }
    if (st == RC_OK) st = gallery_create(FACE_EMB_DIM, &v->gallery, err);
    if (st != RC_OK) {
        http_vision_destroy(v);
        return st;
    }
    *out = v;
    return RC_OK;
}

void http_vision_destroy(http_vision *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->nworkers; i++) face_worker_free(v->workers[i]);
    free(v->workers);
    free(v->busy);
    gallery_free(v->gallery);
    face_models_free(v->models);
    pthread_rwlock_destroy(&v->glock);
    pthread_cond_destroy(&v->freed);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static face_worker *worker_get(http_vision *v, size_t *slot)
{
    pthread_mutex_lock(&v->lock);
    for (;;) {
        for (size_t i = 0; i < v->nworkers; i++) {
            if (!v->busy[i]) {
                v->busy[i] = true;
                *slot = i;
                pthread_mutex_unlock(&v->lock);
                return v->workers[i];
            }
        }
        pthread_cond_wait(&v->freed, &v->lock);
    }
}

static void worker_put(http_vision *v, size_t slot)
{
    pthread_mutex_lock(&v->lock);
    v->busy[slot] = false;
    pthread_cond_signal(&v->freed);
    pthread_mutex_unlock(&v->lock);
}

/* Reload the gallery when the store's version moved. */
static rc_status gallery_sync(http_server *srv, rc_error *err)
{
    http_vision *v = srv->vision;
    int64_t ver;
    rc_status st = store_gallery_version(srv->cfg.store, &ver, err);
    if (st != RC_OK) return st;
    pthread_rwlock_rdlock(&v->glock);
    bool fresh = ver == v->version;
    pthread_rwlock_unlock(&v->glock);
    if (fresh) return RC_OK;
    store_gallery sg;
    if ((st = store_gallery_load(srv->cfg.store, v->model_id, &sg, err)) != RC_OK) return st;
    gallery *g;
    if ((st = gallery_create(FACE_EMB_DIM, &g, err)) != RC_OK) {
        store_gallery_free(&sg);
        return st;
    }
    for (size_t i = 0; st == RC_OK && i < sg.count; i++)
        if (sg.dim == FACE_EMB_DIM)
            st = gallery_add(g, sg.person_ids[i], sg.face_ids[i], sg.vectors + i * (size_t)sg.dim,
                             err);
    store_gallery_free(&sg);
    if (st != RC_OK) {
        gallery_free(g);
        return st;
    }
    pthread_rwlock_wrlock(&v->glock);
    gallery *old = v->gallery;
    v->gallery = g;
    v->version = sg.version;
    size_t count = gallery_count(g);
    pthread_rwlock_unlock(&v->glock);
    gallery_free(old);
    http_metrics_set(srv->metrics, "rollcall_gallery_size", "face templates in the gallery",
                     (double)count);
    return RC_OK;
}

/* ---- reading images from requests --------------------------------------- */

typedef struct {
    const unsigned char *data;
    size_t len;
    const char *name; /* file name, or the part name, or "body" */
} image_in;

static bool image_type(const char *ct)
{
    return ct && (strncasecmp(ct, "image/", 6) == 0 ||
                  strncasecmp(ct, "application/octet-stream", 24) == 0);
}

/* The images of a request: multipart parts named in `names` (NULL-terminated;
 * NULL takes every file part), or the raw body. Answers 4xx and returns
 * false when there is none. *n is set to the count; `max` bounds it. */
static bool request_images(http_req *r, const char *const *names, image_in *out, size_t max,
                           size_t *n)
{
    *n = 0;
    if (http_is_multipart(r)) {
        if (!http_parse_multipart(r)) return false;
        for (size_t i = 0; i < r->nparts && *n < max; i++) {
            const http_part *p = &r->parts[i];
            bool wanted = !names;
            for (size_t k = 0; names && names[k]; k++) wanted |= strcmp(p->name, names[k]) == 0;
            if (!wanted || (!names && !p->filename)) continue;
            out[*n] = (image_in){p->data, p->len, p->filename ? p->filename : p->name};
            (*n)++;
        }
        if (*n == 0) {
            char want[128] = "a file part";
            if (names) {
                size_t l = (size_t)snprintf(want, sizeof want, "a part named");
                for (size_t k = 0; names[k] && l < sizeof want; k++)
                    l += (size_t)snprintf(want + l, sizeof want - l, "%s '%s'", k ? " or" : "",
                                          names[k]);
            }
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_image",
                             "the multipart body has no image: send %s", want);
            return false;
        }
        return true;
    }
    const char *ct = http_header(r, "Content-Type");
    if (r->body_len == 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "empty_body",
                         "send a JPEG or PNG as the body (image/jpeg, image/png) or as "
                         "multipart/form-data");
        return false;
    }
    if (ct && !image_type(ct)) {
        http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                         "send image/jpeg, image/png or multipart/form-data (got %s)", ct);
        return false;
    }
    out[0] = (image_in){r->body, r->body_len, "body"};
    *n = 1;
    return true;
}

/* Decode; on failure fill `why` with a short reason for per-file results. */
static img_image *decode(const image_in *in, char *why, size_t why_len, rc_status *st_out)
{
    img_image *im = NULL;
    rc_error err;
    rc_status st = in->len ? img_decode(in->data, in->len, NULL, &im, &err)
                           : rc_fail(&err, RC_ERR_CORRUPT, "the file is empty");
    if (st_out) *st_out = st;
    if (st != RC_OK) {
        snprintf(why, why_len, "%s", err.msg);
        return NULL;
    }
    return im;
}

static enum MHD_Result image_error(http_req *r, rc_status st, const char *why)
{
    if (st == RC_ERR_LIMIT)
        return http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "image_too_large", "%s", why);
    if (st == RC_ERR_UNSUPPORTED)
        return http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_image",
                                "not a JPEG or PNG image: %s", why);
    if (st == RC_ERR_NOMEM)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", "%s", why);
    return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_image",
                            "the image cannot be decoded: %s", why);
}

static bool vision_ready(http_req *r)
{
    if (r->srv->vision) return true;
    http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "models_unavailable",
                     "the face models are not loaded (see /healthz; run scripts/fetch-models "
                     "or start with --models DIR)");
    return false;
}

/* Analyze one image with a borrowed worker; records stage timings. */
static rc_status analyze(http_server *srv, const img_image *im, const face_opts *fo,
                         face_info **faces, int *n, rc_error *err)
{
    size_t slot;
    face_worker *w = worker_get(srv->vision, &slot);
    rc_status st = face_analyze(w, im, fo, faces, n, err);
    face_timings t = face_worker_timings(w);
    worker_put(srv->vision, slot);
    if (st != RC_OK) return st;
    static const char *const names[] = {"detect", "landmarks", "align",
                                        "embed",  "liveness",  "quality"};
    double v[] = {t.detect, t.landmarks, t.align, t.embed, t.liveness, t.quality};
    for (int i = 0; i < 6; i++) {
        char name[96];
        snprintf(name, sizeof name, "rollcall_pipeline_stage_ms{stage=\"%s\"}", names[i]);
        http_metrics_time(srv->metrics, name, "face pipeline time per frame and stage", v[i]);
    }
    http_metrics_add(srv->metrics, "rollcall_frames_total", "frames analyzed", 1);
    http_metrics_add(srv->metrics, "rollcall_faces_total", "faces found", *n);
    return RC_OK;
}

/* ---- JSON pieces -------------------------------------------------------- */

static double r2(double v)
{
    return round(v * 100) / 100;
}

static double r4(double v)
{
    return round(v * 10000) / 10000;
}

static json_t *box_json(const face_info *f)
{
    return json_pack("{s:f,s:f,s:f,s:f}", "x", r2(f->x0), "y", r2(f->y0), "w", r2(f->x1 - f->x0),
                     "h", r2(f->y1 - f->y0));
}

static json_t *landmarks_json(const face_info *f)
{
    json_t *a = json_array();
    if (f->has_landmarks)
        for (int i = 0; i < 5; i++)
            json_array_append_new(a, json_pack("[f,f]", r2(f->lm5[i][0]), r2(f->lm5[i][1])));
    return a;
}

static json_t *reasons_json(const face_info *f)
{
    json_t *a = json_array();
    char buf[sizeof f->quality_reasons];
    http_copy(buf, sizeof buf, f->quality_reasons);
    char *save;
    for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save))
        json_array_append_new(a, json_string(t[0] == ' ' ? t + 1 : t));
    return a;
}

static json_t *quality_json(const face_info *f)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:b,s:o}", "score", r4(f->score), "size",
                     r2(f->size), "sharpness", r2(f->sharpness), "yaw", r2(f->yaw), "pitch",
                     r2(f->pitch), "roll", r2(f->roll), "ok", f->quality_ok != 0, "reasons",
                     reasons_json(f));
}

/* ---- recognition -------------------------------------------------------- */

typedef struct {
    gallery_match m;
    bool known;
    store_person person;
} identity;

static void identify_faces(http_server *srv, const face_info *faces, int n, double threshold,
                           identity *ids)
{
    http_vision *v = srv->vision;
    gallery_decide_opts dec = {(float)threshold, 1};
    pthread_rwlock_rdlock(&v->glock);
    for (int i = 0; i < n; i++) {
        memset(&ids[i], 0, sizeof ids[i]);
        ids[i].m.person = -1;
        if (!faces[i].has_embedding) continue;
        ids[i].m = gallery_identify(v->gallery, faces[i].embedding, &dec);
    }
    pthread_rwlock_unlock(&v->glock);
    for (int i = 0; i < n; i++) {
        ids[i].known =
            ids[i].m.known && ids[i].m.person > 0 &&
            store_person_get(srv->cfg.store, ids[i].m.person, &ids[i].person, NULL) == RC_OK &&
            ids[i].person.active;
        http_metrics_add(srv->metrics,
                         ids[i].known ? "rollcall_recognitions_total{result=\"known\"}"
                                      : "rollcall_recognitions_total{result=\"unknown\"}",
                         "faces identified, known or unknown", 1);
    }
}

/* Minutes after the slot's start (+grace) for a late entry; 0 otherwise. */
static int minutes_late(http_server *srv, const store_event *e)
{
    if (strcmp(e->status, "late") != 0 || !e->schedule_id) return 0;
    store_schedule sc;
    int64_t days;
    if (store_schedule_get(srv->cfg.store, e->schedule_id, &sc, NULL) != RC_OK ||
        att_parse_day(e->slot_day, &days) != 0)
        return 0;
    int64_t start = att_tz_utc(att_zone(srv->att), days, sc.start_min);
    int64_t m = (e->ts_ms - start) / 60000;
    return m > 0 ? (int)m : 0;
}

/* Crop of a face for keeping with an unrecognized sighting (caller frees). */
static unsigned char *face_jpeg(const img_image *im, const face_info *f, size_t *len)
{
    unsigned char *jpeg = NULL;
    *len = 0;
    if (!f->has_landmarks) return NULL;
    img_image *crop = face_align(im, f->lm5);
    if (crop && img_encode_jpeg(crop, 90, &jpeg, len, NULL) != RC_OK) jpeg = NULL;
    img_free(crop);
    return jpeg;
}

static bool want_mark(http_req *r, int64_t *camera_id)
{
    const char *mark = http_query(r, "mark");
    bool on = mark && (strcmp(mark, "true") == 0 || strcmp(mark, "1") == 0);
    *camera_id = r->who.camera_id;
    int64_t cam;
    if (!http_query_int(r, "camera_id", 0, 0, INT64_MAX, &cam)) return false;
    if (!http_require_camera(r, cam)) return false;
    if (cam) *camera_id = cam;
    return on && (r->who.role == HTTP_DEVICE || r->who.role == HTTP_ADMIN);
}

typedef struct {
    int w, h;
    double ms;
    face_info *faces;
    int n;
    identity *ids;
    json_t *events; /* per face: event JSON or null */
} recognition;

static void recognition_free(recognition *rec)
{
    free(rec->faces);
    free(rec->ids);
    json_decref(rec->events);
}

/* Recognition of one decoded frame: faces, identities and (with mark) the
 * attendance events, which are also published. */
static rc_status recognize_core(http_server *srv, const img_image *im, bool mark, int64_t camera_id,
                                recognition *rec, rc_error *err)
{
    memset(rec, 0, sizeof *rec);
    att_config cfg;
    att_get_config(srv->att, &cfg);
    face_opts fo = face_opts_default();
    rc_status st;
    if ((st = gallery_sync(srv, err)) != RC_OK ||
        (st = analyze(srv, im, &fo, &rec->faces, &rec->n, err)) != RC_OK)
        return st;
    rec->w = im->w;
    rec->h = im->h;
    rec->ids = calloc((size_t)rec->n + 1, sizeof *rec->ids);
    rec->events = json_array();
    if (!rec->ids || !rec->events) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    identify_faces(srv, rec->faces, rec->n, cfg.recognition_threshold, rec->ids);
    int64_t now = rc_unix_ms();
    for (int i = 0; i < rec->n; i++) {
        json_t *ev = json_null();
        const face_info *f = &rec->faces[i];
        if (mark && f->has_embedding) {
            att_sighting sg = {.person_id = rec->ids[i].known ? rec->ids[i].person.id : 0,
                               .ts_ms = now,
                               .camera_id = camera_id,
                               .confidence = rec->ids[i].m.score,
                               .box = {f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0},
                               .liveness = f->liveness};
            size_t jl = 0;
            unsigned char *jpeg =
                !sg.person_id && cfg.keep_unrecognized ? face_jpeg(im, f, &jl) : NULL;
            att_result res;
            rc_error aerr;
            if (att_record(srv->att, &sg, jpeg, jl, &res, &aerr) != RC_OK) {
                rc_log(RC_LOG_WARN, "attendance for a sighting: %s", aerr.msg);
            } else if (res.outcome == ATT_NEW || res.outcome == ATT_MERGED ||
                       res.outcome == ATT_MOVED) {
                bool is_new = res.outcome == ATT_NEW;
                json_decref(ev);
                ev = json_pack("{s:I,s:s,s:s,s:o,s:i,s:b}", "id", (json_int_t)res.event.id, "type",
                               res.event.kind, "status",
                               strcmp(res.event.status, "outside") == 0 ? "outside_schedule"
                                                                        : res.event.status,
                               "time", http_time_json(res.event.ts_ms), "minutes_late",
                               minutes_late(srv, &res.event), "new", is_new);
                http_publish_event(srv, &res.event, is_new);
            }
            free(jpeg);
        }
        json_array_append_new(rec->events, ev);
    }
    return RC_OK;
}

/* Run recognition on the request's image; answers on failure. */
static bool recognize_request(http_req *r, const char *const *names, bool mark, int64_t camera_id,
                              recognition *rec)
{
    memset(rec, 0, sizeof *rec);
    image_in in;
    size_t n;
    if (!vision_ready(r) || !request_images(r, names, &in, 1, &n)) return false;
    double t0 = rc_mono_ms();
    char why[512];
    rc_status st;
    img_image *im = decode(&in, why, sizeof why, &st);
    if (!im) {
        image_error(r, st, why);
        return false;
    }
    if (camera_id) {
        store_camera c;
        if (store_camera_get(db(r), camera_id, &c, NULL) != RC_OK) {
            img_free(im);
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query", "there is no camera %lld",
                             (long long)camera_id);
            return false;
        }
    }
    rc_error err;
    st = recognize_core(r->srv, im, mark, camera_id, rec, &err);
    img_free(im);
    if (st != RC_OK) {
        recognition_free(rec);
        memset(rec, 0, sizeof *rec);
        http_reply_rc(r, st, &err);
        return false;
    }
    rec->ms = rc_mono_ms() - t0;
    return true;
}

static json_t *identity_json(const identity *id)
{
    if (!id->known) return json_null();
    return json_pack("{s:I,s:s,s:s}", "person_id", (json_int_t)id->person.id, "external_id",
                     id->person.external_id, "name", id->person.name);
}

/* The face shown as a person's photo: the chosen one, else the first
 * enrolled; 0 when none. */
static int64_t photo_face(store *s, const store_person *p)
{
    if (p->photo_face_id) return p->photo_face_id;
    int64_t face_id = 0;
    store_face *fs = NULL;
    size_t n = 0;
    if (store_face_list(s, p->id, &fs, &n, NULL) == RC_OK && n) face_id = fs[0].id;
    free(fs);
    return face_id;
}

/* A device key may not read /persons/{id}/photo (it would see everyone's
 * face); a kiosk still shows the photo of the person it has just recognized,
 * so /recognize puts that photo (the stored face crop) in the identity as a
 * data: URL for device callers. Nothing is added when there is no photo. */
static void add_photo(http_req *r, json_t *idj, const identity *id)
{
    if (!id->known || !json_is_object(idj)) return;
    int64_t face_id = photo_face(db(r), &id->person);
    unsigned char *jpeg = NULL;
    size_t len = 0;
    if (!face_id || store_face_image(db(r), face_id, &jpeg, &len, NULL) != RC_OK) return;
    static const char prefix[] = "data:image/jpeg;base64,";
    size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *url = malloc(sizeof prefix - 1 + b64);
    if (url) {
        memcpy(url, prefix, sizeof prefix - 1);
        sodium_bin2base64(url + sizeof prefix - 1, b64, jpeg, len, sodium_base64_VARIANT_ORIGINAL);
        json_object_set_new(idj, "photo", json_string(url));
        free(url);
    }
    free(jpeg);
}

static void publish_recognition(http_server *srv, const recognition *rec, int64_t camera_id)
{
    if (rec->n == 0) return;
    json_t *faces = json_array();
    for (int i = 0; i < rec->n; i++)
        json_array_append_new(faces, json_pack("{s:o,s:o,s:f,s:b}", "box", box_json(&rec->faces[i]),
                                               "identity", identity_json(&rec->ids[i]),
                                               "confidence", r4(rec->ids[i].m.score), "live",
                                               rec->faces[i].liveness >= 0.5));
    json_t *msg = json_pack("{s:o,s:o,s:o}", "time", http_time_json(rc_unix_ms()), "camera_id",
                            camera_id ? json_integer(camera_id) : json_null(), "faces", faces);
    http_hub_publish(srv->hub, "recognition", msg);
    json_decref(msg);
}

rc_status http_camera_frame(http_server *srv, int64_t camera_id, const img_image *im,
                            http_frame_faces *out, rc_error *err)
{
    memset(out, 0, sizeof *out);
    recognition rec;
    rc_status st = recognize_core(srv, im, true, camera_id, &rec, err);
    if (st == RC_OK) {
        publish_recognition(srv, &rec, camera_id);
        for (int i = 0; i < rec.n && out->n < HTTP_FRAME_FACES; i++) {
            http_frame_face *f = &out->face[out->n++];
            f->x0 = rec.faces[i].x0;
            f->y0 = rec.faces[i].y0;
            f->x1 = rec.faces[i].x1;
            f->y1 = rec.faces[i].y1;
            f->known = rec.ids[i].known;
            if (f->known)
                http_copy(f->label, sizeof f->label, rec.ids[i].person.name);
            else
                http_copy(f->label, sizeof f->label, "unknown");
        }
    }
    recognition_free(&rec);
    return st;
}

enum MHD_Result http_h_recognize(http_req *r)
{
    int64_t camera_id;
    bool mark = want_mark(r, &camera_id);
    if (r->answered) return MHD_YES;
    recognition rec;
    static const char *const names[] = {"file", "image", "frame", NULL};
    if (!recognize_request(r, names, mark, camera_id, &rec)) return MHD_YES;
    att_config cfg;
    att_get_config(r->srv->att, &cfg);
    json_t *faces = json_array();
    for (int i = 0; i < rec.n; i++) {
        const face_info *f = &rec.faces[i];
        json_t *idj = identity_json(&rec.ids[i]);
        if (r->who.role == HTTP_DEVICE) add_photo(r, idj, &rec.ids[i]);
        json_array_append_new(
            faces,
            json_pack("{s:o,s:f,s:o,s:o,s:f,s:f,s:b,s:b,s:o,s:O}", "box", box_json(f), "score",
                      r4(f->score), "landmarks", landmarks_json(f), "identity", idj, "confidence",
                      rec.ids[i].m.person > 0 ? r4(rec.ids[i].m.score) : 0.0, "liveness",
                      r4(f->liveness), "live", f->liveness >= cfg.liveness_threshold, "quality_ok",
                      f->quality_ok != 0, "reasons", reasons_json(f), "event",
                      json_array_get(rec.events, (size_t)i)));
    }
    publish_recognition(r->srv, &rec, camera_id);
    json_t *body = json_pack("{s:i,s:i,s:f,s:o}", "width", rec.w, "height", rec.h, "ms", r2(rec.ms),
                             "faces", faces);
    recognition_free(&rec);
    return http_reply_json(r, MHD_HTTP_OK, body);
}

enum MHD_Result http_h_process_frame(http_req *r)
{
    int64_t camera_id;
    bool mark = want_mark(r, &camera_id);
    if (r->answered) return MHD_YES;
    recognition rec;
    static const char *const names[] = {"frame", "file", "image", NULL};
    if (!recognize_request(r, names, mark, camera_id, &rec)) return MHD_YES;
    json_t *faces = json_array();
    for (int i = 0; i < rec.n; i++) {
        const face_info *f = &rec.faces[i];
        json_array_append_new(
            faces, json_pack("{s:s,s:f,s:[f,f,f,f]}", "identity",
                             rec.ids[i].known ? rec.ids[i].person.external_id : "unknown",
                             "confidence", rec.ids[i].m.person > 0 ? r4(rec.ids[i].m.score) : 0.0,
                             "box", r2(f->x0), r2(f->y0), r2(f->x1), r2(f->y1)));
    }
    publish_recognition(r->srv, &rec, camera_id);
    recognition_free(&rec);
    return http_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "recognized_faces", faces));
}

enum MHD_Result http_h_detect(http_req *r)
{
    image_in in;
    size_t n;
    static const char *const names[] = {"file", "image", "frame", NULL};
    if (!vision_ready(r) || !request_images(r, names, &in, 1, &n)) return MHD_YES;
    char why[512];
    rc_status st;
    img_image *im = decode(&in, why, sizeof why, &st);
    if (!im) return image_error(r, st, why);
    face_opts fo = face_opts_default();
    fo.embedding = 0;
    face_info *faces = NULL;
    int nf = 0;
    rc_error err;
    st = analyze(r->srv, im, &fo, &faces, &nf, &err);
    int w = im->w, h = im->h;
    img_free(im);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *arr = json_array();
    for (int i = 0; i < nf; i++)
        json_array_append_new(
            arr, json_pack("{s:o,s:f,s:o,s:o,s:f}", "box", box_json(&faces[i]), "score",
                           r4(faces[i].score), "landmarks", landmarks_json(&faces[i]), "quality",
                           quality_json(&faces[i]), "liveness", r4(faces[i].liveness)));
    free(faces);
    return http_reply_json(r, MHD_HTTP_OK,
                           json_pack("{s:i,s:i,s:o}", "width", w, "height", h, "faces", arr));
}

/* The largest face of one image, with its embedding; answers on failure. */
static bool one_face(http_req *r, const char *part, face_info *out)
{
    const http_part *p = http_part_get(r, part);
    if (!p || !p->len) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_image",
                         "send two images as multipart parts 'a' and 'b' (part '%s' is missing "
                         "or empty)",
                         part);
        return false;
    }
    image_in in = {p->data, p->len, part};
    char why[512];
    rc_status st;
    img_image *im = decode(&in, why, sizeof why, &st);
    if (!im) {
        char msg[600];
        snprintf(msg, sizeof msg, "image '%s': %s", part, why);
        image_error(r, st, msg);
        return false;
    }
    face_opts fo = face_opts_default();
    fo.max_faces = 1;
    face_info *faces = NULL;
    int n = 0;
    rc_error err;
    st = analyze(r->srv, im, &fo, &faces, &n, &err);
    img_free(im);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    if (n == 0 || !faces[0].has_embedding) {
        free(faces);
        http_reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT, "no_face",
                         "no face found in image '%s'", part);
        return false;
    }
    *out = faces[0];
    free(faces);
    return true;
}

enum MHD_Result http_h_verify(http_req *r)
{
    if (!vision_ready(r) || !http_parse_multipart(r)) return MHD_YES;
    face_info *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return http_reply_error(r, 500, "internal", "out of memory");
    }
    enum MHD_Result res = MHD_YES;
    if (one_face(r, "a", a) && one_face(r, "b", b)) {
        att_config cfg;
        att_get_config(r->srv->att, &cfg);
        double sim = face_similarity(a->embedding, b->embedding);
        res = http_reply_json(r, MHD_HTTP_OK,
                              json_pack("{s:f,s:b,s:f}", "similarity", r4(sim), "same",
                                        sim >= cfg.recognition_threshold, "threshold",
                                        cfg.recognition_threshold));
    }
    free(a);
    free(b);
    return res;
}

/* ---- enrollment --------------------------------------------------------- */

typedef struct {
    bool accepted;
    int64_t face_id;
    char reason[256];
    bool has_face;
    face_info face;
} enroll_result;

/* A face is enrolled only when it is at least this many times the smallest
 * face recognition accepts (face_opts.min_size): a gallery template is
 * matched against every later frame, so it must come from a clearly
 * resolved face, and it is from this size on that the face module also
 * vets detections by their embedding's length (min_emb_norm). Recognition
 * itself keeps the lower limit. */
#define ENROLL_MIN_SIZE_FACTOR 2.f

/* Enroll the largest face of one image for a person. Never answers the
 * request: the outcome is in *out (per-file results). */
static void enroll_one(http_server *srv, int64_t person_id, const image_in *in, enroll_result *out)
{
    memset(out, 0, sizeof *out);
    char why[512];
    img_image *im = decode(in, why, sizeof why, NULL);
    if (!im) {
        snprintf(out->reason, sizeof out->reason, "not a usable image: %.200s", why);
        return;
    }
    face_opts fo = face_opts_default();
    face_info *faces = NULL;
    int n = 0;
    rc_error err;
    if (analyze(srv, im, &fo, &faces, &n, &err) != RC_OK) {
        snprintf(out->reason, sizeof out->reason, "%.200s", err.msg);
        img_free(im);
        return;
    }
    if (n == 0 || !faces[0].has_embedding) {
        snprintf(out->reason, sizeof out->reason, "no face found");
    } else if (n > 1 && faces[1].x1 - faces[1].x0 > 0.6f * (faces[0].x1 - faces[0].x0)) {
        /* Two faces of similar size: whose photo is it? Refuse rather than guess. */
        out->has_face = true;
        out->face = faces[0];
        snprintf(out->reason, sizeof out->reason,
                 "%d faces of similar size; send a photo of one person", n);
    } else if (!faces[0].quality_ok) {
        out->has_face = true;
        out->face = faces[0];
        snprintf(out->reason, sizeof out->reason, "quality too low: %s", faces[0].quality_reasons);
    } else if (faces[0].size < ENROLL_MIN_SIZE_FACTOR * (float)fo.min_size) {
        out->has_face = true;
        out->face = faces[0];
        snprintf(out->reason, sizeof out->reason,
                 "quality too low: face too small to enroll (%.0f px tall; enrollment needs %.0f "
                 "px or more: send a closer or larger photo)",
                 faces[0].size, ENROLL_MIN_SIZE_FACTOR * (float)fo.min_size);
    } else {
        out->has_face = true;
        out->face = faces[0];
        img_image *crop = face_align(im, faces[0].lm5);
        unsigned char *jpeg = NULL;
        size_t jl = 0;
        if (crop) img_encode_jpeg(crop, 90, &jpeg, &jl, NULL);
        img_free(crop);
        store_face sf = {.person_id = person_id, .quality = faces[0].score, .dim = FACE_EMB_DIM};
        http_copy(sf.model, sizeof sf.model, srv->vision->model_id);
        if (store_face_add(srv->cfg.store, &sf, faces[0].embedding, jpeg, jl, &err) != RC_OK) {
            snprintf(out->reason, sizeof out->reason, "cannot store the face: %.200s", err.msg);
        } else {
            out->accepted = true;
            out->face_id = sf.id;
            http_metrics_add(srv->metrics, "rollcall_enrolled_faces_total", "faces enrolled", 1);
        }
        free(jpeg);
    }
    free(faces);
    img_free(im);
}

static json_t *enroll_json(const char *file, const enroll_result *e)
{
    return json_pack("{s:s,s:b,s:o,s:o,s:o}", "file", file, "accepted", e->accepted, "face_id",
                     e->accepted ? json_integer(e->face_id) : json_null(), "reason",
                     e->accepted ? json_null() : json_string(e->reason), "quality",
                     e->has_face ? quality_json(&e->face) : json_null());
}

/* The person's photo is their first accepted face until one is chosen. */
static void maybe_set_photo(store *s, int64_t person_id, int64_t face_id)
{
    store_person p;
    if (store_person_get(s, person_id, &p, NULL) == RC_OK && !p.photo_face_id) {
        p.photo_face_id = face_id;
        store_person_update(s, &p, NULL);
    }
}

enum MHD_Result http_h_faces_upload(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p) || !vision_ready(r)) return MHD_YES;
    size_t max = r->srv->cfg.limits.max_files;
    image_in *ins = calloc(max, sizeof *ins);
    if (!ins) return http_reply_error(r, 500, "internal", "out of memory");
    size_t n;
    if (!request_images(r, NULL, ins, max, &n)) {
        free(ins);
        return MHD_YES;
    }
    json_t *results = json_array();
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        enroll_result e;
        enroll_one(r->srv, p.id, &ins[i], &e);
        if (e.accepted) {
            accepted++;
            maybe_set_photo(db(r), p.id, e.face_id);
        }
        json_array_append_new(results, enroll_json(ins[i].name, &e));
    }
    free(ins);
    http_audit(r, "face.enroll", "person", p.id,
               json_pack("{s:i,s:i}", "files", (int)n, "accepted", accepted));
    return http_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "results", results));
}

enum MHD_Result http_h_faces_list(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    store_face *fs = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_face_list(db(r), p.id, &fs, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:I,s:{s:f,s:b,s:[]},s:s,s:o,s:b}", "id", (json_int_t)fs[i].id,
                           "quality", "score", r4(fs[i].quality), "ok", 1, "reasons", "model_id",
                           fs[i].model, "created_at", http_time_json(fs[i].created_ms), "photo",
                           fs[i].id == p.photo_face_id));
    free(fs);
    return http_reply_json(r, MHD_HTTP_OK, arr);
}

enum MHD_Result http_h_faces_delete(http_req *r)
{
    store_person p;
    int64_t face_id;
    if (!http_load_person(r, "id", &p) || !http_param_id(r, "face_id", &face_id)) return MHD_YES;
    store_face *fs = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_face_list(db(r), p.id, &fs, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    bool found = false;
    int64_t other = 0;
    for (size_t i = 0; i < n; i++) {
        if (fs[i].id == face_id)
            found = true;
        else if (!other)
            other = fs[i].id;
    }
    free(fs);
    if (!found)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "person %lld has no face %lld",
                                (long long)p.id, (long long)face_id);
    if ((st = store_face_delete(db(r), face_id, http_actor(r), &err)) != RC_OK)
        return http_reply_rc(r, st, &err);
    if (p.photo_face_id == face_id) {
        store_person_get(db(r), p.id, &p, NULL);
        p.photo_face_id = other;
        store_person_update(db(r), &p, NULL);
    }
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

static enum MHD_Result send_face_image(http_req *r, int64_t face_id)
{
    unsigned char *jpeg = NULL;
    size_t len = 0;
    rc_error err;
    rc_status st = store_face_image(db(r), face_id, &jpeg, &len, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_owned(r, MHD_HTTP_OK, "image/jpeg", jpeg, len);
}

enum MHD_Result http_h_face_image(http_req *r)
{
    int64_t face_id;
    if (!http_param_id(r, "face_id", &face_id)) return MHD_YES;
    if (!http_require_face(r, face_id)) return MHD_YES;
    return send_face_image(r, face_id);
}

enum MHD_Result http_h_person_photo(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    int64_t face_id = photo_face(db(r), &p);
    if (!face_id)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "%s has no enrolled face yet",
                                p.name);
    return send_face_image(r, face_id);
}

/* ---- dataset import and /process-images --------------------------------- */

/* The person with this external id, created (named after it) when missing. */
static rc_status person_for(http_req *r, const char *external_id, store_person *p, bool *created,
                            rc_error *err)
{
    *created = false;
    if (!*external_id || strlen(external_id) >= sizeof p->external_id)
        return rc_fail(err, RC_ERR_INVALID, "a person id must have 1 to %zu characters",
                       sizeof p->external_id - 1);
    rc_status st = store_person_get_by_external(db(r), external_id, p, err);
    if (st != RC_ERR_NOT_FOUND) return st;
    memset(p, 0, sizeof *p);
    http_copy(p->external_id, sizeof p->external_id, external_id);
    http_copy(p->name, sizeof p->name, external_id);
    for (char *c = p->name; *c; c++) /* the folder name is the first name */
        if (*c == ' ' || *c == '_') *c = '-';
    http_copy(p->kind, sizeof p->kind, "other");
    p->active = 1;
    st = store_person_create(db(r), p, err);
    if (st == RC_OK) {
        *created = true;
        http_audit(r, "person.create", "person", p->id,
                   json_pack("{s:s,s:s}", "external_id", external_id, "via", "import"));
    }
    return st;
}

enum MHD_Result http_h_process_images(http_req *r)
{
    if (!http_require_all_groups(r, "enrollment by external id")) return MHD_YES;
    if (!vision_ready(r)) return MHD_YES;
    if (!http_parse_multipart(r)) return MHD_YES;
    const http_part *idp = http_part_get(r, "id");
    if (!idp || idp->filename || !idp->len || idp->len > 63 ||
        strlen((char *)idp->data) != idp->len)
        return http_reply_json(
            r, MHD_HTTP_BAD_REQUEST,
            json_pack("{s:s,s:s,s:{s:s,s:s}}", "status", "error", "message",
                      "send the person's id as the form field 'id' (1 to 63 characters)", "error",
                      "code", "missing_field", "message",
                      "send the person's id as the form field 'id' (1 to 63 characters)"));
    size_t nimg = 0;
    for (size_t i = 0; i < r->nparts; i++)
        nimg +=
            strcmp(r->parts[i].name, "images") == 0 || strcmp(r->parts[i].name, "images[]") == 0;
    if (!nimg)
        return http_reply_json(r, MHD_HTTP_BAD_REQUEST,
                               json_pack("{s:s,s:s,s:{s:s,s:s}}", "status", "error", "message",
                                         "send one or more photos as the form field 'images'",
                                         "error", "code", "missing_image", "message",
                                         "send one or more photos as the form field 'images'"));
    store_person p;
    bool created;
    rc_error err;
    rc_status st = person_for(r, (const char *)idp->data, &p, &created, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *rejected = json_array();
    int accepted = 0, processed = 0;
    for (size_t i = 0; i < r->nparts; i++) {
        const http_part *part = &r->parts[i];
        if (strcmp(part->name, "images") != 0 && strcmp(part->name, "images[]") != 0) continue;
        image_in in = {part->data, part->len, part->filename ? part->filename : part->name};
        enroll_result e;
        enroll_one(r->srv, p.id, &in, &e);
        processed++;
        if (e.accepted) {
            accepted++;
            maybe_set_photo(db(r), p.id, e.face_id);
        } else {
            json_array_append_new(rejected,
                                  json_pack("{s:s,s:s}", "file", in.name, "reason", e.reason));
        }
    }
    http_audit(r, "face.enroll", "person", p.id,
               json_pack("{s:i,s:i,s:s}", "files", processed, "accepted", accepted, "via",
                         "process-images"));
    return http_reply_json(r, MHD_HTTP_OK,
                           json_pack("{s:s,s:s,s:I,s:b,s:i,s:i,s:o}", "status",
                                     accepted ? "success" : "error", "id", p.external_id,
                                     "person_id", (json_int_t)p.id, "created", created, "processed",
                                     processed, "accepted", accepted, "rejected", rejected));
}

/* Import streams one NDJSON line per file part as it is enrolled. */
typedef struct {
    http_req *r;
    size_t next;     /* next part to look at */
    char person[64]; /* from the last `person` field */
    int files, accepted, created;
    bool done;
    char *line;
    size_t line_len, line_off;
} import_state;

static void import_line(import_state *s, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(s->line);
    s->line = NULL;
    s->line_len = s->line_off = 0;
    if (!text) return;
    size_t n = strlen(text);
    s->line = malloc(n + 2);
    if (s->line) memcpy(s->line, text, n);
    free(text);
    if (!s->line) return;
    s->line[n] = '\n';
    s->line[n + 1] = 0;
    s->line_len = n + 1;
}

/* Advance to the next file part and enroll it; false when there is none. */
static bool import_step(import_state *s)
{
    http_req *r = s->r;
    while (s->next < r->nparts) {
        http_part *part = &r->parts[s->next++];
        if (!part->filename) {
            if (strcmp(part->name, "person") == 0)
                http_copy(s->person, sizeof s->person,
                          part->data && strlen((char *)part->data) == part->len ? (char *)part->data
                                                                                : "");
            continue;
        }
        /* "<person folder>/<file>.jpg": the folder is the person (the last
         * folder, so "dataset/alice/1.jpg" is alice). */
        char ext[128] = "";
        const char *slash = strrchr(part->filename, '/');
        if (slash && slash > part->filename) {
            const char *start = slash - 1;
            while (start > part->filename && start[-1] != '/') start--;
            snprintf(ext, sizeof ext, "%.*s", (int)(slash - start), start);
        } else {
            http_copy(ext, sizeof ext, s->person);
        }
        s->files++;
        json_t *line;
        store_person p;
        bool created = false;
        rc_error err;
        if (!ext[0]) {
            line = json_pack("{s:s,s:n,s:b,s:s,s:n}", "file", part->filename, "person", "accepted",
                             0, "reason",
                             "no person: name the file <person>/<file> or send a 'person' field "
                             "first",
                             "face_id");
        } else if (person_for(r, ext, &p, &created, &err) != RC_OK) {
            line = json_pack("{s:s,s:s,s:b,s:s,s:n}", "file", part->filename, "person", ext,
                             "accepted", 0, "reason", err.msg, "face_id");
        } else {
            s->created += created;
            image_in in = {part->data, part->len, part->filename};
            enroll_result e;
            enroll_one(r->srv, p.id, &in, &e);
            if (e.accepted) {
                s->accepted++;
                maybe_set_photo(db(r), p.id, e.face_id);
            }
            line = json_pack("{s:s,s:s,s:b,s:o,s:o}", "file", part->filename, "person", ext,
                             "accepted", e.accepted, "reason",
                             e.accepted ? json_null() : json_string(e.reason), "face_id",
                             e.accepted ? json_integer(e.face_id) : json_null());
        }
        /* The photo is enrolled: its bytes are no longer needed. */
        free(part->data);
        part->data = NULL;
        part->len = part->cap = 0;
        import_line(s, line);
        return true;
    }
    return false;
}

static ssize_t import_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    import_state *s = cls;
    if (s->line_off == s->line_len) {
        if (s->done) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!import_step(s)) {
            s->done = true;
            http_audit(s->r, "face.import", "person", 0,
                       json_pack("{s:i,s:i,s:i}", "files", s->files, "accepted", s->accepted,
                                 "persons_created", s->created));
            import_line(s, json_pack("{s:b,s:i,s:i,s:i}", "done", 1, "files", s->files, "accepted",
                                     s->accepted, "persons_created", s->created));
        }
        if (!s->line) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->line_len - s->line_off;
    if (n > max) n = max;
    memcpy(buf, s->line + s->line_off, n);
    s->line_off += n;
    return (ssize_t)n;
}

static void import_free(void *cls)
{
    import_state *s = cls;
    free(s->line);
    free(s);
}

enum MHD_Result http_h_import(http_req *r)
{
    if (!http_require_all_groups(r, "an import")) return MHD_YES;
    if (!vision_ready(r) || !http_parse_multipart(r)) return MHD_YES;
    /* The parts hold the photos now; drop the raw body. */
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    import_state *s = calloc(1, sizeof *s);
    if (!s) return http_reply_error(r, 500, "internal", "out of memory");
    s->r = r;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                  import_reader, s, import_free);
    if (!resp) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}
