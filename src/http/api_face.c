/*
 * api_face.c — the endpoints that look at pictures: recognize (every face in
 * a frame, who it is, live or not, and with mark=true the attendance event),
 * detect, verify (1:1), enrollment of a person's faces (one photo or many),
 * the face list and crops, dataset import (per-file results streamed as
 * NDJSON), and the two endpoints the earlier Python services offered
 * (/process-images, /process_frame).
 *
 * Recognition and enrollment are src/recog's (recog_frame, recog_enroll):
 * this file reads the request and renders the answer. Handlers that decode
 * or recognize run on recog's work queue (routes flagged HTTP_WORK), not on
 * a network thread. A face that is not live carries no identity here: recog
 * withholds it, so neither a kiosk nor the live stream can show whom a
 * spoof resembles.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "../dataset/dataset.h"
#include "internal.h"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

static recog *rg(const http_req *r)
{
    return r->srv->cfg.recog;
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
        http_reply_error(
            r, MHD_HTTP_BAD_REQUEST, "empty_body",
            "send a JPEG, PNG, WebP or HEIC as the body (image/jpeg, image/png...) or as "
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
    rc_status st = recog_decode(in->data, in->len, &im, &err);
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
                                "not a JPEG, PNG, WebP or HEIC image: %s", why);
    if (st == RC_ERR_NOMEM)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", "%s", why);
    return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_image",
                            "the image cannot be decoded: %s", why);
}

static bool vision_ready(http_req *r)
{
    if (rg(r)) return true;
    http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "models_unavailable",
                     "the face models are not loaded (see /healthz; run scripts/fetch-models "
                     "or start with --models DIR)");
    return false;
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

/* Run recognition on the request's image; answers on failure. */
static bool recognize_request(http_req *r, const char *const *names, bool mark, int64_t camera_id,
                              const char *kind, recog_result *rec)
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
    if (!http_require_known_camera(r, camera_id, mark)) {
        img_free(im);
        return false;
    }
    rc_error err;
    recog_frame_opts o = {.mark = mark, .camera_id = camera_id, .kind = kind};
    st = recog_frame(rg(r), im, &o, rec, &err);
    img_free(im);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    rec->ms = rc_mono_ms() - t0;
    return true;
}

static json_t *identity_json(const recog_face *id)
{
    if (!id->known) return json_null();
    return json_pack("{s:I,s:s,s:s}", "person_id", (json_int_t)id->person.id, "external_id",
                     id->person.external_id, "name", id->person.name);
}

static double confidence(const recog_face *f)
{
    return f->match.person > 0 ? r4(f->match.score) : 0.0;
}

/* The attendance event a face made (mark=true), or null. */
static json_t *event_json(const recog_face *f)
{
    if (!f->has_event) return json_null();
    const store_event *e = &f->event;
    return json_pack("{s:I,s:s,s:s,s:o,s:i,s:b}", "id", (json_int_t)e->id, "type", e->kind,
                     "status", strcmp(e->status, "outside") == 0 ? "outside_schedule" : e->status,
                     "time", http_time_json(e->ts_ms), "minutes_late", f->minutes_late, "new",
                     f->event_new);
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

/* ---- kiosk photos (http_photos in internal.h) ----------------------------- */

#define PHOTOS_KEPT 32

typedef struct {
    int64_t face_id, person_id; /* face_id 0: empty */
    char *url;
    size_t len;
    uint64_t used; /* http_photos.clock when last sent */
} photo_entry;

struct http_photos {
    pthread_mutex_t mu;
    uint64_t clock;
    uint64_t forgets; /* an insert after a forget it did not see is dropped */
    photo_entry e[PHOTOS_KEPT];
};

http_photos *http_photos_create(void)
{
    http_photos *c = calloc(1, sizeof *c);
    if (c) pthread_mutex_init(&c->mu, NULL);
    return c;
}

void http_photos_destroy(http_photos *c)
{
    if (!c) return;
    for (int i = 0; i < PHOTOS_KEPT; i++) free(c->e[i].url);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Drop every entry of the person (their faces or photo changed). */
static void photos_forget(http_photos *c, int64_t person_id)
{
    pthread_mutex_lock(&c->mu);
    c->forgets++;
    for (int i = 0; i < PHOTOS_KEPT; i++)
        if (c->e[i].face_id && c->e[i].person_id == person_id) {
            free(c->e[i].url);
            c->e[i] = (photo_entry){0};
        }
    pthread_mutex_unlock(&c->mu);
}

/* The face's data: URL as a new JSON string, or NULL; *forgets is the
 * forget count seen (for photos_keep). */
static json_t *photos_find(http_photos *c, int64_t face_id, uint64_t *forgets)
{
    json_t *j = NULL;
    pthread_mutex_lock(&c->mu);
    *forgets = c->forgets;
    for (int i = 0; i < PHOTOS_KEPT && !j; i++)
        if (c->e[i].face_id == face_id) {
            c->e[i].used = ++c->clock;
            j = json_stringn_nocheck(c->e[i].url, c->e[i].len);
        }
    pthread_mutex_unlock(&c->mu);
    return j;
}

/* Keep url (taken) for the face in place of the least recently sent entry,
 * unless a person was forgotten since photos_find. */
static void photos_keep(http_photos *c, int64_t face_id, int64_t person_id, char *url, size_t len,
                        uint64_t forgets)
{
    pthread_mutex_lock(&c->mu);
    if (c->forgets != forgets) {
        pthread_mutex_unlock(&c->mu);
        free(url);
        return;
    }
    photo_entry *old = &c->e[0];
    for (int i = 0; i < PHOTOS_KEPT; i++) {
        if (c->e[i].face_id == face_id) { /* another thread was first */
            old = NULL;
            break;
        }
        if (c->e[i].used < old->used) old = &c->e[i];
    }
    if (old) {
        free(old->url);
        *old = (photo_entry){face_id, person_id, url, len, ++c->clock};
        url = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    free(url);
}

/* A device key may not read /persons/{id}/photo (it would see everyone's
 * face); a kiosk still shows the photo of the person it has just recognized,
 * so /recognize puts that photo (the stored face crop) in the identity as a
 * data: URL for device callers. Nothing is added when there is no photo. */
static void add_photo(http_req *r, json_t *idj, const recog_face *id)
{
    if (!id->known || !json_is_object(idj)) return;
    int64_t face_id = photo_face(db(r), &id->person);
    if (!face_id) return;
    uint64_t forgets;
    json_t *cached = photos_find(r->srv->photos, face_id, &forgets);
    if (cached) {
        json_object_set_new(idj, "photo", cached);
        return;
    }
    unsigned char *jpeg = NULL;
    size_t len = 0;
    if (store_face_image(db(r), face_id, &jpeg, &len, NULL) != RC_OK) return;
    static const char prefix[] = "data:image/jpeg;base64,";
    size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *url = malloc(sizeof prefix - 1 + b64);
    if (url) {
        memcpy(url, prefix, sizeof prefix - 1);
        sodium_bin2base64(url + sizeof prefix - 1, b64, jpeg, len, sodium_base64_VARIANT_ORIGINAL);
        size_t n = strlen(url);
        json_object_set_new(idj, "photo", json_stringn_nocheck(url, n));
        photos_keep(r->srv->photos, face_id, id->person.id, url, n, forgets);
    }
    free(jpeg);
}

/* The live stream: every recognized frame (faces, identities of live faces
 * only) and every attendance event, from cameras and requests alike. */
void http_recog_event(void *user, const recog_event *ev)
{
    http_server *srv = user;
    if (ev->kind == RECOG_EVENT_ATTENDANCE) {
        http_publish_event(srv, ev->event, ev->is_new);
        return;
    }
    if (ev->kind != RECOG_EVENT_FRAME) return;
    const recog_result *rec = ev->frame;
    json_t *faces = json_array();
    for (int i = 0; i < rec->n; i++)
        json_array_append_new(faces,
                              json_pack("{s:o,s:o,s:f,s:b}", "box", box_json(&rec->faces[i].face),
                                        "identity", identity_json(&rec->faces[i]), "confidence",
                                        confidence(&rec->faces[i]), "live", rec->faces[i].live));
    json_t *msg =
        json_pack("{s:o,s:o,s:o}", "time", http_time_json(ev->ts_ms), "camera_id",
                  ev->camera_id ? json_integer(ev->camera_id) : json_null(), "faces", faces);
    http_hub_publish(srv->hub, "recognition", msg);
    json_decref(msg);
}

enum MHD_Result http_h_recognize(http_req *r)
{
    int64_t camera_id;
    bool mark = want_mark(r, &camera_id);
    if (r->answered) return MHD_YES;
    recog_result rec;
    static const char *const names[] = {"file", "image", "frame", NULL};
    /* kind=entry|exit: the person chose it on the kiosk (Entrada/Salida). */
    const char *kind = http_query(r, "kind");
    if (kind && !*kind) kind = NULL;
    if (kind && strcmp(kind, "entry") && strcmp(kind, "exit"))
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                  json_pack("{s:s}", "field", "kind"),
                                  "query parameter 'kind' must be entry or exit");
    if (!recognize_request(r, names, mark, camera_id, kind, &rec)) return MHD_YES;
    json_t *faces = json_array();
    for (int i = 0; i < rec.n; i++) {
        const recog_face *rf = &rec.faces[i];
        const face_info *f = &rf->face;
        json_t *idj = identity_json(rf);
        if (r->who.role == HTTP_DEVICE) add_photo(r, idj, rf);
        json_array_append_new(
            faces,
            json_pack("{s:o,s:f,s:o,s:o,s:f,s:f,s:b,s:b,s:o,s:o}", "box", box_json(f), "score",
                      r4(f->score), "landmarks", landmarks_json(f), "identity", idj, "confidence",
                      confidence(rf), "liveness", r4(f->liveness), "live", rf->live, "quality_ok",
                      f->quality_ok != 0, "reasons", reasons_json(f), "event", event_json(rf)));
    }
    json_t *body = json_pack("{s:i,s:i,s:f,s:o}", "width", rec.width, "height", rec.height, "ms",
                             r2(rec.ms), "faces", faces);
    recog_result_free(&rec);
    return http_reply_json(r, MHD_HTTP_OK, body);
}

enum MHD_Result http_h_process_frame(http_req *r)
{
    int64_t camera_id;
    bool mark = want_mark(r, &camera_id);
    if (r->answered) return MHD_YES;
    recog_result rec;
    static const char *const names[] = {"frame", "file", "image", NULL};
    if (!recognize_request(r, names, mark, camera_id, NULL, &rec)) return MHD_YES;
    json_t *faces = json_array();
    for (int i = 0; i < rec.n; i++) {
        const recog_face *rf = &rec.faces[i];
        const face_info *f = &rf->face;
        json_array_append_new(faces, json_pack("{s:s,s:f,s:b,s:[f,f,f,f]}", "identity",
                                               rf->known ? rf->person.external_id : "unknown",
                                               "confidence", confidence(rf), "live", rf->live,
                                               "box", r2(f->x0), r2(f->y0), r2(f->x1), r2(f->y1)));
    }
    recog_result_free(&rec);
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
    st = recog_analyze(rg(r), im, &fo, &faces, &nf, &err);
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
    st = recog_analyze(rg(r), im, &fo, &faces, &n, &err);
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

void http_gallery_changed(http_req *r, int64_t person_id)
{
    photos_forget(r->srv->photos, person_id);
    rc_error err;
    if (rg(r) && recog_person_changed(rg(r), person_id, &err) != RC_OK)
        rc_log(RC_LOG_WARN, "gallery after a change to person %lld: %s (the follower retries)",
               (long long)person_id, err.msg);
}

/* ---- enrollment --------------------------------------------------------- */

/* One photo's outcome: accepted with its face id, or refused with a stable
 * code (the UI translates it), its parameters and English text. */
json_t *http_enroll_json(http_req *r, const char *file, const recog_enroll_result *e)
{
    json_t *params = json_object();
    const char *reason = e->reason;
    if (e->code && strcmp(e->code, RECOG_R_DUPLICATE) == 0) {
        /* A limited manager is not told whom a face outside their groups
         * belongs to: enrolling would otherwise search every group's faces. */
        if (!r || http_scope_person(r, e->other_person_id)) {
            json_object_set_new(params, "person",
                                json_pack("{s:I,s:s,s:s}", "id", (json_int_t)e->other_person_id,
                                          "external_id", e->other_external_id, "name",
                                          e->other_name));
            json_object_set_new(params, "similarity", json_real(r4(e->similarity)));
        } else {
            reason = "this face belongs to another person already enrolled, outside your groups";
        }
    }
    return json_pack("{s:s,s:b,s:o,s:o,s:o,s:o,s:o}", "file", file, "accepted", e->accepted,
                     "face_id", e->accepted ? json_integer(e->face_id) : json_null(), "code",
                     e->code ? json_string(e->code) : json_null(), "params", params, "reason",
                     e->accepted ? json_null() : json_string(reason), "quality",
                     e->has_face ? quality_json(&e->face) : json_null());
}

/* allow_duplicate=true (query or form field): an admin's explicit override of
 * the duplicate-identity check. False after answering 403 for anyone else. */
static bool allow_duplicate(http_req *r, bool *allow)
{
    const char *q = http_query(r, "allow_duplicate");
    const http_part *p = r->nparts ? http_part_get(r, "allow_duplicate") : NULL;
    const char *v = q ? q : p && !p->filename && p->data ? (const char *)p->data : NULL;
    *allow = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    if (*allow && r->who.role != HTTP_ADMIN) {
        http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                         "only an admin may enroll a face that matches another person "
                         "(allow_duplicate)");
        return false;
    }
    return true;
}

/* Enroll the images for a person (person_id) or a new one (np, created only
 * when a photo is accepted); results has n entries. False after answering. */
static bool enroll(http_req *r, int64_t person_id, const store_person *np, const image_in *ins,
                   size_t n, bool allow_dup, recog_enroll_result *results,
                   recog_enroll_summary *sum)
{
    recog_image *imgs = calloc(n + 1, sizeof *imgs);
    if (!imgs) {
        http_reply_error(r, 500, "internal", "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) imgs[i] = (recog_image){ins[i].data, ins[i].len, ins[i].name};
    recog_enroll_req req = {.person_id = person_id,
                            .new_person = np,
                            .images = imgs,
                            .n = n,
                            .allow_duplicate = allow_dup,
                            .actor = http_actor(r)};
    rc_error err;
    rc_status st = recog_enroll(rg(r), &req, results, sum, &err);
    free(imgs);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return true;
}

enum MHD_Result http_h_faces_upload(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p) || !vision_ready(r)) return MHD_YES;
    size_t max = r->srv->cfg.limits.max_files;
    image_in *ins = calloc(max, sizeof *ins);
    recog_enroll_result *res = calloc(max, sizeof *res);
    size_t n;
    bool allow = false;
    recog_enroll_summary sum;
    if (!ins || !res) {
        free(ins);
        free(res);
        return http_reply_error(r, 500, "internal", "out of memory");
    }
    if (!request_images(r, NULL, ins, max, &n) || !allow_duplicate(r, &allow) ||
        !enroll(r, p.id, NULL, ins, n, allow, res, &sum)) {
        free(ins);
        free(res);
        return MHD_YES;
    }
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(results, http_enroll_json(r, ins[i].name, &res[i]));
    free(ins);
    free(res);
    http_audit(r, "face.enroll", "person", p.id,
               json_pack("{s:i,s:i,s:b}", "files", (int)n, "accepted", sum.accepted,
                         "allow_duplicate", allow));
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
    for (size_t i = 0; i < n; i++) found |= fs[i].id == face_id;
    free(fs);
    if (!found)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "person %lld has no face %lld",
                                (long long)p.id, (long long)face_id);
    if ((st = store_face_delete(db(r), face_id, http_actor(r), &err)) != RC_OK)
        return http_reply_rc(r, st, &err);
    http_face_deleted(r, p.id);
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

void http_face_deleted(http_req *r, int64_t person_id)
{
    http_gallery_changed(r, person_id);
    /* When the photo was that face (the store cleared it): the next face,
     * if any. One statement: reading the record and writing it back whole
     * could undo an edit made meanwhile. */
    rc_error err;
    if (store_person_photo_fallback(db(r), person_id, &err) != RC_OK)
        rc_log(RC_LOG_WARN, "person %lld's photo: %s", (long long)person_id, err.msg);
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

/* The person with this external id (*found), or in *np the person to create
 * for it (named after it) if a photo is accepted. */
static rc_status person_for(const char *external_id, store *s, store_person *p, bool *found,
                            store_person *np, rc_error *err)
{
    *found = false;
    if (!*external_id || strlen(external_id) >= sizeof p->external_id)
        return rc_fail(err, RC_ERR_INVALID, "a person id must have 1 to %zu characters",
                       sizeof p->external_id - 1);
    rc_status st = store_person_get_by_external(s, external_id, p, err);
    if (st == RC_OK) *found = true;
    if (st != RC_ERR_NOT_FOUND) return st;
    memset(np, 0, sizeof *np);
    http_copy(np->external_id, sizeof np->external_id, external_id);
    http_copy(np->name, sizeof np->name, external_id);
    for (char *c = np->name; *c; c++) /* the folder name is the first name */
        if (*c == ' ' || *c == '_') *c = '-';
    http_copy(np->kind, sizeof np->kind, "other");
    np->active = 1;
    return RC_OK;
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
    store_person p, np;
    bool found, allow;
    rc_error err;
    rc_status st = person_for((const char *)idp->data, db(r), &p, &found, &np, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (!allow_duplicate(r, &allow)) return MHD_YES;
    image_in *ins = calloc(nimg, sizeof *ins);
    recog_enroll_result *res = calloc(nimg, sizeof *res);
    if (!ins || !res) {
        free(ins);
        free(res);
        return http_reply_error(r, 500, "internal", "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < r->nparts; i++) {
        const http_part *part = &r->parts[i];
        if (strcmp(part->name, "images") != 0 && strcmp(part->name, "images[]") != 0) continue;
        ins[k++] = (image_in){part->data, part->len, part->filename ? part->filename : part->name};
    }
    recog_enroll_summary sum;
    if (!enroll(r, found ? p.id : 0, found ? NULL : &np, ins, k, allow, res, &sum)) {
        free(ins);
        free(res);
        return MHD_YES;
    }
    json_t *rejected = json_array();
    for (size_t i = 0; i < k; i++)
        if (!res[i].accepted)
            json_array_append_new(rejected,
                                  json_pack("{s:s,s:o,s:s}", "file", ins[i].name, "code",
                                            res[i].code ? json_string(res[i].code) : json_null(),
                                            "reason", res[i].reason));
    free(ins);
    free(res);
    if (sum.person_id)
        http_audit(r, "face.enroll", "person", sum.person_id,
                   json_pack("{s:i,s:i,s:s}", "files", (int)k, "accepted", sum.accepted, "via",
                             "process-images"));
    return http_reply_json(
        r, MHD_HTTP_OK,
        json_pack("{s:s,s:s,s:o,s:b,s:i,s:i,s:o}", "status", sum.accepted ? "success" : "error",
                  "id", found ? p.external_id : np.external_id, "person_id",
                  sum.person_id ? json_integer(sum.person_id) : json_null(), "created", sum.created,
                  "processed", (int)k, "accepted", sum.accepted, "rejected", rejected));
}

/* Import applies src/dataset's rules (the CLI's): it sorts every file part
 * first (photos by person folder, the roster parsed, the rest skipped with a
 * reason), then streams one NDJSON line per outcome, one person at a time.
 * Each person is enrolled on recog's work queue, never on the connection's
 * thread: the response reader suspends the connection until the lines are
 * ready. The photos wait in the request's spool file (body.c), each person's
 * read back at their turn and freed once that person is done. */
typedef struct {
    http_req *r;
    dataset *d;
    int files; /* file parts */
    bool planned, done;
    char *line; /* the lines of the last step */
    size_t line_len, line_cap, line_off;
    pthread_mutex_t lock; /* busy, suspended, gave_up */
    bool busy;            /* a step runs on the work queue, or waits to */
    bool suspended;       /* the reader suspended the connection for it */
    bool gave_up;         /* the queue stayed full: the answer ends with an error */
    bool consent;         /* record consent for the people who have none */
    bool whole_folders;   /* folder_codes=false: a folder name is the code whole */
} import_state;

static void import_line(import_state *s, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) return;
    size_t n = strlen(text);
    if (s->line_len + n + 2 > s->line_cap) {
        size_t cap = (s->line_len + n + 2) * 2;
        char *nl = realloc(s->line, cap);
        if (!nl) {
            free(text);
            return;
        }
        s->line = nl;
        s->line_cap = cap;
    }
    memcpy(s->line + s->line_len, text, n);
    s->line[s->line_len + n] = '\n';
    s->line_len += n + 1;
    free(text);
}

static rc_status import_load(void *user, size_t ref, const void **data, size_t *len, rc_error *err)
{
    import_state *s = user;
    http_part *part = &s->r->parts[ref];
    rc_status st = http_part_load(s->r, part, err); /* from the spool file */
    *data = part->data;
    *len = part->len;
    return st;
}

static void import_release(void *user, size_t ref)
{
    import_state *s = user;
    http_part *part = &s->r->parts[ref];
    free(part->data);
    part->data = NULL;
    part->len = part->cap = 0;
}

static json_t *jstr_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

static void import_emit(void *user, const dataset_line *l)
{
    import_state *s = user;
    json_t *j;
    switch (l->kind) {
    case DATASET_LINE_PHOTO:
        j = http_enroll_json(NULL, l->file, l->result);
        json_object_set_new(j, "type", json_string("photo"));
        json_object_set_new(j, "person", json_string(l->person));
        break;
    case DATASET_LINE_SKIPPED:
    case DATASET_LINE_ROSTER:
        j = json_pack("{s:s,s:s,s:o,s:b,s:s,s:{},s:s}", "type",
                      l->kind == DATASET_LINE_ROSTER ? "roster" : "skipped", "file", l->file,
                      "person", jstr_or_null(l->person), "accepted", 0, "code", l->code, "params",
                      "reason", l->reason);
        if (l->kind == DATASET_LINE_ROSTER) json_object_set_new(j, "line", json_integer(l->line));
        if (l->problem) { /* roster_invalid: what is wrong, for the UI's words */
            json_t *params = json_object_get(j, "params");
            json_object_set_new(params, "line", json_integer(l->line));
            json_object_set_new(params, "problem", json_string(l->problem));
            json_object_set_new(params, "value", json_string(l->value ? l->value : ""));
        }
        break;
    default:
        j = json_pack("{s:s,s:s,s:o,s:o,s:b,s:b,s:i,s:i,s:o,s:o,s:o}", "type", "person", "person",
                      l->person, "person_id",
                      l->person_id ? json_integer(l->person_id) : json_null(), "name",
                      jstr_or_null(l->name), "created", l->created, "updated", l->updated, "photos",
                      l->photos, "accepted_photos", l->accepted, "line",
                      l->line ? json_integer(l->line) : json_null(), "code", jstr_or_null(l->code),
                      "reason", jstr_or_null(l->reason));
        break;
    }
    import_line(s, j);
}

/* Sort every file, in the first step (on the work queue: a roster of many
 * rows takes a while to read, and the connection thread answers others):
 * photos stay on disk until their person's turn; the roster is parsed and
 * the bytes of everything else freed. */
static rc_status import_sort(import_state *s, rc_error *err)
{
    http_req *r = s->r;
    const char *person = NULL;
    for (size_t i = 0; i < r->nparts; i++) {
        http_part *part = &r->parts[i];
        if (!part->filename) {
            if (strcmp(part->name, "person") == 0)
                person = part->data && strlen((char *)part->data) == part->len ? (char *)part->data
                                                                               : NULL;
            continue;
        }
        s->files++;
        dataset_totals before, after;
        dataset_totals_get(s->d, &before);
        rc_status st = dataset_add(s->d, part->filename, person, i, part->data, part->len, err);
        if (st != RC_OK) return st;
        dataset_totals_get(s->d, &after);
        if (after.photos == before.photos) import_release(s, i);
    }
    return RC_OK;
}

/* The lines of the next step, or the closing summary. */
static void import_advance(import_state *s)
{
    s->line_len = s->line_off = 0;
    if (!s->planned) { /* first: what will be imported, for progress */
        s->planned = true;
        rc_error err;
        if (import_sort(s, &err) != RC_OK) {
            rc_log(RC_LOG_ERROR, "import: %s", err.msg);
            import_line(
                s, json_pack("{s:{s:s,s:s}}", "error", "code", "internal", "message", err.msg));
            s->done = true;
            return;
        }
        dataset_totals t;
        dataset_totals_get(s->d, &t);
        import_line(s, json_pack("{s:s,s:i,s:i,s:i,s:i,s:i}", "type", "plan", "files", s->files,
                                 "photos", t.photos, "persons", t.persons, "roster_rows", t.rows,
                                 "skipped", t.skipped));
    }
    dataset_io io = {.db = db(s->r),
                     .rg = rg(s->r),
                     .consent = s->consent,
                     .whole_folder_codes = s->whole_folders,
                     .actor = http_actor(s->r),
                     .load = import_load,
                     .release = import_release,
                     .emit = import_emit,
                     .user = s};
    if (dataset_step(s->d, &io)) return;
    s->done = true;
    dataset_totals t;
    dataset_totals_get(s->d, &t);
    http_audit(s->r, "face.import", "person", 0,
               json_pack("{s:i,s:i,s:i,s:i,s:i,s:b}", "files", s->files, "accepted", t.accepted,
                         "persons_created", t.created, "persons_updated", t.updated, "skipped",
                         t.skipped, "consent", s->consent));
    import_line(s, json_pack("{s:b,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "done", 1, "files", s->files,
                             "photos", t.photos, "accepted", t.accepted, "persons_created",
                             t.created, "persons_updated", t.updated, "roster_rows", t.rows,
                             "skipped", t.skipped));
}

static void import_job(void *arg)
{
    import_state *s = arg;
    import_advance(s);
    pthread_mutex_lock(&s->lock);
    s->busy = false;
    bool resume = s->suspended;
    s->suspended = false;
    pthread_mutex_unlock(&s->lock);
    if (resume) MHD_resume_connection(s->r->conn);
}

/* The queue was full when the next step was due. The step never runs on
 * the connection thread instead (a person's photos take seconds to decode
 * and enroll, and that thread answers other clients): a thread of its own
 * offers it again every 100 ms, for at most IMPORT_RETRY_S; after that the
 * answer ends with an error. (Less than the 30 s http_server_stop waits for
 * requests in flight, so a stopping server never frees the import under
 * this thread.) */
#define IMPORT_RETRY_S 20

static void *import_retry(void *arg)
{
    import_state *s = arg;
    for (int i = 0; i < IMPORT_RETRY_S * 10; i++) {
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        if (recog_submit(rg(s->r), import_job, s, NULL) == RC_OK) return NULL;
    }
    rc_log(RC_LOG_WARN, "import: the work queue stayed full for %d s; ending the answer",
           IMPORT_RETRY_S);
    pthread_mutex_lock(&s->lock);
    s->busy = false;
    s->gave_up = true;
    bool resume = s->suspended;
    s->suspended = false;
    pthread_mutex_unlock(&s->lock);
    if (resume) MHD_resume_connection(s->r->conn);
    return NULL;
}

static ssize_t import_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    import_state *s = cls;
    pthread_mutex_lock(&s->lock);
    if (s->busy) { /* woken early: the line is not ready yet */
        s->suspended = true;
        MHD_suspend_connection(s->r->conn);
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    if (s->line_off == s->line_len) {
        if (s->done || s->gave_up) {
            pthread_mutex_unlock(&s->lock);
            return s->done ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
        }
        s->busy = true;
        pthread_t t;
        pthread_attr_t attr;
        bool queued = recog_submit(rg(s->r), import_job, s, NULL) == RC_OK;
        if (!queued && pthread_attr_init(&attr) == 0) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            queued = pthread_create(&t, &attr, import_retry, s) == 0;
            pthread_attr_destroy(&attr);
        }
        if (!queued) { /* not even a thread to wait with */
            s->busy = false;
            pthread_mutex_unlock(&s->lock);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        s->suspended = true;
        MHD_suspend_connection(s->r->conn);
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    size_t n = s->line_len - s->line_off;
    if (n > max) n = max;
    memcpy(buf, s->line + s->line_off, n);
    s->line_off += n;
    pthread_mutex_unlock(&s->lock);
    return (ssize_t)n;
}

static void import_free(void *cls)
{
    import_state *s = cls;
    pthread_mutex_destroy(&s->lock);
    dataset_free(s->d);
    free(s->line);
    free(s);
#ifdef __GLIBC__
    malloc_trim(0); /* an import may have held hundreds of MB: give them back */
#endif
}

/* A true/false form field (also 1/0), `dflt` when absent or empty;
 * answers 400 naming the field and returns false otherwise. */
static bool bool_part(http_req *r, const char *name, bool dflt, bool *out)
{
    const http_part *p = http_part_get(r, name);
    const char *v = p && !p->filename && p->data ? (const char *)p->data : "";
    *out = *v ? strcmp(v, "true") == 0 || strcmp(v, "1") == 0 : dflt;
    if (*v && strcmp(v, "true") && strcmp(v, "1") && strcmp(v, "false") && strcmp(v, "0")) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", name), "field '%s' must be true or false",
                           name);
        return false;
    }
    return true;
}

enum MHD_Result http_h_import(http_req *r)
{
    if (!http_require_all_groups(r, "an import")) return MHD_YES;
    if (!vision_ready(r) || !http_parse_multipart(r)) return MHD_YES;
    /* "consent": the caller holds the consent of the people imported; it is
     * recorded (now) for each one who has none. */
    bool consent, folder_codes;
    /* "folder_codes" (default true): a folder "1234_Ana_Garcia" is code 1234
     * and Ana Garcia (dataset_split_code); false keeps the name whole. */
    if (!bool_part(r, "consent", false, &consent) ||
        !bool_part(r, "folder_codes", true, &folder_codes))
        return MHD_YES;
    /* The parts hold the photos now; drop the raw body. */
    free(r->body);
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    import_state *s = calloc(1, sizeof *s);
    if (!s || !(s->d = dataset_new())) {
        free(s);
        return http_reply_error(r, 500, "internal", "out of memory");
    }
    s->r = r;
    s->consent = consent;
    s->whole_folders = !folder_codes;
    pthread_mutex_init(&s->lock, NULL);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                  import_reader, s, import_free);
    if (!resp) {
        import_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}
