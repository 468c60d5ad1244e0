/*
 * api_review.c — reviewing what recognition got wrong or could not tell:
 *
 *  - Unknown faces: the sightings kept while the setting keep_unrecognized
 *    is on, listed by day and camera (newest first) with their face crops;
 *    each can be assigned to a person, which enrolls that face through
 *    recog_enroll (the same quality and duplicate-identity checks as any
 *    upload; a refusal answers with the reason code) and optionally records
 *    the attendance the face would have made, as a manual event with a
 *    reason; or dismissed (deleted), one or many.
 *  - "Not this person": an automatic event that named the wrong person is
 *    voided or deleted with a reason, optionally with the enrolled face that
 *    matched best (so the gallery stops making that mistake), and optionally
 *    its probe (the face as the camera saw it) becomes an unknown face to be
 *    assigned to the right person.
 *
 * Admins and managers. Unknown faces belong to nobody yet, so a manager
 * limited to groups sees them all, but the candidate a sighting resembled
 * is named only when that person is in their groups, and they assign only
 * to people in their groups. Every change is audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Most sightings one bulk dismissal takes. */
#define DISMISS_MAX 500

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

/* ---- unknown faces ------------------------------------------------------ */

static json_t *sighting_json(http_req *r, const store_sighting *g)
{
    const att_tz *tz = att_zone(r->srv->att);
    att_local loc;
    att_tz_local(tz, g->ts_ms, &loc);
    char day[11];
    att_day_string(loc.days, day);
    store_camera cam;
    bool have_cam = g->camera_id && store_camera_get(db(r), g->camera_id, &cam, NULL) == RC_OK;
    store_person p;
    json_t *cand = json_null();
    if (g->candidate_person_id && http_scope_person(r, g->candidate_person_id) &&
        store_person_get(db(r), g->candidate_person_id, &p, NULL) == RC_OK)
        cand = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)p.id, "name", p.name, "external_id",
                         p.external_id);
    char url[96];
    snprintf(url, sizeof url, "/api/v1/sightings/%lld/image", (long long)g->id);
    return json_pack("{s:I,s:o,s:s,s:o,s:o,s:f,s:f,s:s,s:o,s:o}", "id", (json_int_t)g->id, "time",
                     http_time_json(g->ts_ms), "day", day, "camera_id",
                     g->camera_id ? json_integer(g->camera_id) : json_null(), "camera_name",
                     have_cam ? json_string(cam.name) : json_null(), "confidence", g->confidence,
                     "liveness", g->liveness, "reason", g->reason, "candidate", cand, "image_url",
                     g->has_image ? json_string(url) : json_null());
}

/* A local day of the query as [from, to) in Unix ms; false after answering
 * 400. Absent: *ms untouched. `end`: the instant after the day. */
static bool query_day_ms(http_req *r, const char *key, bool end, int64_t *ms)
{
    const char *v = http_query(r, key);
    if (!v || !*v) return true;
    int64_t days;
    if (strlen(v) != 10 || att_parse_day(v, &days) != 0) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                           json_pack("{s:s}", "field", key),
                           "query parameter '%s' must be a date YYYY-MM-DD", key);
        return false;
    }
    *ms = att_tz_utc(att_zone(r->srv->att), days + (end ? 1 : 0), 0);
    return true;
}

enum MHD_Result http_h_sightings_list(http_req *r)
{
    int64_t limit, offset, camera_id;
    store_sighting_filter f = {0};
    if (!http_query_page(r, &limit, &offset) ||
        !http_query_int(r, "camera_id", 0, 0, INT64_MAX, &camera_id) ||
        !query_day_ms(r, "from", false, &f.from_ms) || !query_day_ms(r, "to", true, &f.to_ms) ||
        !query_day_ms(r, "day", false, &f.from_ms) || !query_day_ms(r, "day", true, &f.to_ms))
        return MHD_YES;
    f.camera_id = camera_id;
    store_sighting *gs = NULL;
    size_t n = 0;
    int64_t total = 0;
    rc_error err;
    rc_status st =
        store_sighting_list(db(r), &f, (store_page){limit, offset}, &gs, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, sighting_json(r, &gs[i]));
    free(gs);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

/* The sighting named by the path; false after answering. */
static bool load_sighting(http_req *r, store_sighting *g)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_sighting_get(db(r), id, g, &err);
    if (st != RC_OK) http_reply_rc(r, st, &err);
    return st == RC_OK;
}

enum MHD_Result http_h_sighting_image(http_req *r)
{
    store_sighting g;
    if (!load_sighting(r, &g)) return MHD_YES;
    unsigned char *jpeg = NULL;
    size_t len = 0;
    rc_error err;
    rc_status st = store_sighting_image(db(r), g.id, &jpeg, &len, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_owned(r, MHD_HTTP_OK, "image/jpeg", jpeg, len);
}

/* Delete one sighting with its audit entry (what it was, never the image). */
static rc_status dismiss(http_req *r, const store_sighting *g, rc_error *err)
{
    rc_status st = store_sighting_delete(db(r), g->id, err);
    if (st == RC_OK)
        http_audit(r, "sighting.dismiss", "sighting", g->id,
                   json_pack("{s:I,s:I,s:s}", "ts_ms", (json_int_t)g->ts_ms, "camera_id",
                             (json_int_t)g->camera_id, "reason", g->reason));
    return st;
}

enum MHD_Result http_h_sighting_delete(http_req *r)
{
    store_sighting g;
    if (!load_sighting(r, &g)) return MHD_YES;
    rc_error err;
    rc_status st = dismiss(r, &g, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result http_h_sightings_dismiss(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    json_t *ids = json_object_get(b, "ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > DISMISS_MAX) {
        json_decref(b);
        return http_reply_error_p(
            r, MHD_HTTP_BAD_REQUEST, "invalid_field",
            json_pack("{s:s,s:i,s:i}", "field", "ids", "min", 1, "max", DISMISS_MAX),
            "field 'ids' must be an array of 1 to %d sighting ids", DISMISS_MAX);
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            json_decref(b);
            return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                      json_pack("{s:s}", "field", "ids"),
                                      "field 'ids' must hold positive integer ids");
        }
    }
    json_t *missing = json_array();
    int dismissed = 0;
    rc_error err;
    rc_status st = RC_OK;
    json_array_foreach(ids, i, v)
    {
        store_sighting g;
        int64_t id = json_integer_value(v);
        st = store_sighting_get(db(r), id, &g, &err);
        if (st == RC_OK) st = dismiss(r, &g, &err);
        if (st == RC_ERR_NOT_FOUND) { /* already gone (another reviewer): said, not failed */
            json_array_append_new(missing, json_integer(id));
            st = RC_OK;
        } else if (st != RC_OK) {
            break;
        } else {
            dismissed++;
        }
    }
    json_decref(b);
    if (st != RC_OK) {
        json_decref(missing);
        return http_reply_rc(r, st, &err);
    }
    return http_reply_json(r, MHD_HTTP_OK,
                           json_pack("{s:i,s:o}", "dismissed", dismissed, "missing", missing));
}

/* The body of an assignment: who, and whether (and how) to record the
 * attendance the face would have made. False after answering. */
typedef struct {
    int64_t person_id;
    bool record;
    const char *kind, *reason;
} assign_req;

static bool assign_fields(http_req *r, json_t *b, assign_req *a)
{
    static const char *const kinds[] = {"entry", "exit", NULL};
    bool has_reason = false;
    a->kind = "entry";
    a->reason = NULL;
    a->record = false;
    if (!http_field_int(r, b, "person_id", true, 1, INT64_MAX, &a->person_id, NULL) ||
        !http_field_bool(r, b, "record_event", false, &a->record, NULL) ||
        !http_field_enum(r, b, "type", false, kinds, &a->kind, NULL) ||
        !http_field_str(r, b, "reason", false, 255, &a->reason, &has_reason))
        return false;
    if (a->record && (!has_reason || !*a->reason)) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "reason_required",
                           json_pack("{s:s}", "field", "reason"),
                           "recording the event needs a 'reason' (it is a manual event)");
        return false;
    }
    return true;
}

/* Refused: 422 with the enrollment's reason code and parameters (the same
 * the upload answers per photo), so the UI translates it the same way. */
static enum MHD_Result refused(http_req *r, const recog_enroll_result *e)
{
    json_t *res = http_enroll_json(r, "sighting", e);
    json_t *params = json_deep_copy(json_object_get(res, "params"));
    const char *why = json_string_value(json_object_get(res, "reason"));
    enum MHD_Result out =
        http_reply_error_p(r, 422, e->code ? e->code : RECOG_R_STORE, params, "%s", why ? why : "");
    json_decref(res);
    return out;
}

enum MHD_Result http_h_sighting_assign(http_req *r)
{
    store_sighting g;
    if (!load_sighting(r, &g)) return MHD_YES;
    if (!r->srv->cfg.recog)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "models_unavailable",
                                "the face models are not loaded (see /healthz)");
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    assign_req a;
    store_person p;
    rc_error err;
    enum MHD_Result res = MHD_YES;
    if (!assign_fields(r, b, &a)) goto out;
    rc_status st = store_person_get(db(r), a.person_id, &p, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    if (!http_scope_person(r, p.id)) { /* as unknown to them */
        http_reply_unknown(r, "person", p.id);
        goto out;
    }
    unsigned char *jpeg = NULL;
    size_t len = 0;
    st = store_sighting_image(db(r), g.id, &jpeg, &len, &err);
    if (st == RC_ERR_NOT_FOUND) {
        res = http_reply_error(r, MHD_HTTP_CONFLICT, "no_image",
                               "sighting %lld kept no face image to enroll", (long long)g.id);
        goto out;
    }
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    recog_image img = {jpeg, len, "sighting"};
    recog_enroll_req req = {.person_id = p.id, .images = &img, .n = 1, .actor = http_actor(r)};
    recog_enroll_result er;
    recog_enroll_summary sum;
    st = recog_enroll(r->srv->cfg.recog, &req, &er, &sum, &err);
    free(jpeg);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    if (!er.accepted) {
        http_audit(
            r, "sighting.assign_refused", "sighting", g.id,
            json_pack("{s:I,s:s}", "person_id", (json_int_t)p.id, "code", er.code ? er.code : ""));
        res = refused(r, &er);
        goto out;
    }
    /* Enrolled: the face is the person's now, no longer an unknown one (a
     * second reviewer assigning it at the same moment finds it gone). */
    rc_error derr;
    if (store_sighting_delete(db(r), g.id, &derr) != RC_OK)
        rc_log(RC_LOG_WARN, "sighting %lld after its assignment: %s", (long long)g.id, derr.msg);
    store_event ev = {0};
    if (a.record)
        st = att_manual(r->srv->att, p.id, g.ts_ms, a.kind, a.reason, http_actor(r), &ev, &err);
    http_audit(r, "sighting.assign", "sighting", g.id,
               json_pack("{s:I,s:I,s:I,s:I}", "person_id", (json_int_t)p.id, "face_id",
                         (json_int_t)er.face_id, "event_id", (json_int_t)ev.id, "ts_ms",
                         (json_int_t)g.ts_ms));
    if (st != RC_OK) { /* the face is enrolled; the event could not follow */
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    if (ev.id) http_publish_event(r->srv, &ev, true);
    res = http_reply_json(r, MHD_HTTP_OK,
                          json_pack("{s:I,s:o,s:o}", "face_id", (json_int_t)er.face_id, "result",
                                    http_enroll_json(r, "sighting", &er), "event",
                                    ev.id ? http_event_json(db(r), &ev) : json_null()));
out:
    json_decref(b);
    return res;
}

/* ---- "not this person" -------------------------------------------------- */

typedef struct {
    const char *reason;
    bool erase, delete_face, keep_probe;
} correction;

static bool correction_fields(http_req *r, json_t *b, correction *c)
{
    *c = (correction){0};
    if (!http_field_str(r, b, "reason", true, 255, &c->reason, NULL) ||
        !http_field_bool(r, b, "erase", false, &c->erase, NULL) ||
        !http_field_bool(r, b, "delete_face", false, &c->delete_face, NULL) ||
        !http_field_bool(r, b, "keep_probe", false, &c->keep_probe, NULL))
        return false;
    if (!*c->reason) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "reason_required",
                           json_pack("{s:s}", "field", "reason"),
                           "field 'reason' must say why the recognition was wrong");
        return false;
    }
    return true;
}

/* What the event allows; false after answering 409. */
static bool correction_possible(http_req *r, const store_event *e, const correction *c)
{
    if (strcmp(e->source, "auto") != 0) {
        http_reply_error(r, MHD_HTTP_CONFLICT, "not_recognized",
                         "event %lld was not made by recognition (source %s)", (long long)e->id,
                         e->source);
        return false;
    }
    if (c->delete_face && !e->face_id) {
        http_reply_error(r, MHD_HTTP_CONFLICT, "face_unknown",
                         "event %lld names no enrolled face (made before faces were remembered, "
                         "or that face was deleted)",
                         (long long)e->id);
        return false;
    }
    if (c->keep_probe && !e->has_probe) {
        http_reply_error(r, MHD_HTTP_CONFLICT, "no_probe",
                         "event %lld kept no face image (keep unrecognized faces was off)",
                         (long long)e->id);
        return false;
    }
    return true;
}

enum MHD_Result http_h_attendance_not_this_person(http_req *r)
{
    store_event e;
    rc_error err;
    rc_status st;
    if (!http_load_event(r, &e)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    correction c;
    if (!correction_fields(r, b, &c) || !correction_possible(r, &e, &c)) {
        json_decref(b);
        return MHD_YES;
    }
    /* One transaction: the probe freed before the event goes (it would go
     * with it), the event voided or deleted, the face deleted. */
    int64_t sighting = 0, face = c.delete_face ? e.face_id : 0;
    st = store_tx_begin(db(r), 0, &err);
    if (st == RC_OK) {
        if (c.keep_probe) st = store_event_probe_release(db(r), e.id, "corrected", &sighting, &err);
        if (st == RC_OK)
            st = c.erase ? store_event_remove(db(r), e.id, http_actor(r), c.reason, &err)
                         : store_event_void(db(r), e.id, http_actor(r), c.reason, &err);
        if (st == RC_OK && c.delete_face) st = store_face_delete(db(r), face, http_actor(r), &err);
        st = store_tx_end(db(r), st, &err);
    }
    if (st != RC_OK) {
        json_decref(b);
        return http_reply_rc(r, st, &err);
    }
    if (c.delete_face) http_face_deleted(r, e.person_id);
    http_audit(r, "event.not_this_person", "event", e.id,
               json_pack("{s:I,s:s,s:b,s:o,s:o}", "person_id", (json_int_t)e.person_id, "reason",
                         c.reason, "erased", c.erase, "face_deleted",
                         face ? json_integer(face) : json_null(), "sighting_id",
                         sighting ? json_integer(sighting) : json_null()));
    json_decref(b);
    json_t *evj = json_null();
    if (!c.erase && store_event_get(db(r), e.id, &e, NULL) == RC_OK) {
        http_publish_event(r->srv, &e, false);
        evj = http_event_json(db(r), &e);
    }
    return http_reply_json(r, MHD_HTTP_OK,
                           json_pack("{s:o,s:o,s:o}", "event", evj, "face_deleted",
                                     face ? json_integer(face) : json_null(), "sighting_id",
                                     sighting ? json_integer(sighting) : json_null()));
}
