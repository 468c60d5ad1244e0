/*
 * selfcheck.c — a member's own check-in from their phone: a short capture
 * of a few frames is verified 1:1 against the caller's OWN enrolled faces
 * (never searched against the gallery, so a face that is not theirs can
 * only fail), each frame's primary face must be live at the
 * `liveness_threshold` setting and match at `recognition_threshold`, and
 * when enough frames pass the attendance event is recorded through
 * src/attendance with source "self" (same slots, same de-duplication).
 *
 * Where a check-in is allowed (the setting that turns it off, the schedule
 * window, the networks, the rate limit) is the caller's policy (src/http);
 * this file only judges the faces and records the event.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The person's enrolled templates (*g, the caller frees it) as one centroid
 * (mean, renormalized: the gallery's decision rule); *count 0 when they have
 * none (or are inactive). */
static rc_status own_centroid(recog *r, int64_t person_id, store_gallery *g_out,
                              float c[FACE_EMB_DIM], size_t *count, rc_error *err)
{
    *count = 0;
    rc_status st = store_gallery_load_person(r->cfg.store, r->model_id, person_id, g_out, err);
    if (st != RC_OK) return st;
    const store_gallery g = *g_out;
    if (g.count > 0 && g.dim != FACE_EMB_DIM)
        return rc_fail(err, RC_ERR_CORRUPT, "person %lld has embeddings of dimension %d",
                       (long long)person_id, g.dim);
    double sum[FACE_EMB_DIM] = {0}, norm = 0;
    for (size_t i = 0; i < g.count; i++)
        for (int k = 0; k < FACE_EMB_DIM; k++) sum[k] += g.vectors[i * FACE_EMB_DIM + k];
    for (int k = 0; k < FACE_EMB_DIM; k++) norm += sum[k] * sum[k];
    norm = sqrt(norm);
    for (int k = 0; k < FACE_EMB_DIM; k++) c[k] = norm > 0 ? (float)(sum[k] / norm) : 0.f;
    *count = norm > 0 ? g.count : 0;
    return RC_OK;
}

/* The person's template closest to the face: the enrolled face behind the
 * event (events.face_id), as for a camera's recognition. */
static int64_t closest_template(const store_gallery *g, const float *embedding)
{
    int64_t best = 0;
    float top = -2;
    for (size_t i = 0; i < g->count; i++) {
        float s = face_similarity(embedding, g->vectors + i * FACE_EMB_DIM);
        if (s > top) {
            top = s;
            best = g->face_ids[i];
        }
    }
    return best;
}

/* Judge one frame: its primary face, live, and the same person. */
static void judge_frame(recog *r, const recog_image *img, const float *centroid, double threshold,
                        double liveness, recog_self_frame *out, face_info *face)
{
    *out = (recog_self_frame){.liveness = -1};
    img_image *im = NULL;
    if (recog_decode(img->data, img->len, &im, NULL) != RC_OK) {
        out->code = RECOG_R_NOT_IMAGE;
        return;
    }
    face_opts fo = face_opts_default();
    face_info *faces = NULL;
    int n = 0;
    rc_status st = recog_analyze(r, im, &fo, &faces, &n, NULL);
    face_pick pick =
        st == RC_OK ? face_pick_primary(faces, n, im->w, im->h) : (face_pick){.index = -1};
    img_free(im);
    if (st != RC_OK || pick.index < 0 || !faces[pick.index].has_embedding) {
        free(faces);
        out->code = RECOG_R_NO_FACE;
        return;
    }
    *face = faces[pick.index];
    free(faces);
    out->has_face = true;
    out->liveness = face->liveness;
    /* Liveness must be measured and pass; a spoof's similarity is never
     * computed, so no answer says how close it came. */
    if (!(face->liveness >= 0 && face->liveness >= liveness)) {
        out->code = RECOG_R_NOT_LIVE;
        return;
    }
    out->live = true;
    out->score = face_similarity(face->embedding, centroid);
    out->code = out->score >= threshold ? NULL : RECOG_R_NO_MATCH;
}

rc_status recog_self_checkin(recog *r, const recog_self_req *req, recog_self_result *out,
                             rc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!req->person_id) return rc_fail(err, RC_ERR_INVALID, "no person to check in");
    if (req->n < 1 || req->n > RECOG_SELF_MAX_FRAMES)
        return rc_fail(err, RC_ERR_INVALID, "send 1 to %d frames (got %zu)", RECOG_SELF_MAX_FRAMES,
                       req->n);
    int need = req->min_frames > 0 ? req->min_frames : RECOG_SELF_MIN_FRAMES;
    if ((size_t)need > req->n) need = (int)req->n;
    out->needed = need;
    float *centroid = malloc(FACE_EMB_DIM * sizeof *centroid);
    face_info *faces = calloc(req->n, sizeof *faces);
    if (!centroid || !faces) {
        free(centroid);
        free(faces);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    size_t templates = 0;
    store_gallery own = {0};
    rc_status st = own_centroid(r, req->person_id, &own, centroid, &templates, err);
    if (st == RC_OK && templates == 0) out->code = RECOG_R_NO_ENROLLED;
    double threshold, liveness;
    recog_settings(r, &threshold, &liveness, NULL);
    int best = -1;
    for (size_t i = 0; st == RC_OK && templates && i < req->n; i++) {
        recog_self_frame *f = &out->frames[i];
        judge_frame(r, &req->frames[i], centroid, threshold, liveness, f, &faces[i]);
        out->nframes++;
        out->faces += f->has_face;
        out->live += f->live;
        if (f->code) continue;
        out->passed++;
        if (best < 0 || f->score > out->frames[best].score) best = (int)i;
    }
    if (st == RC_OK && templates) {
        out->accepted = out->passed >= need;
        out->code = out->accepted       ? NULL
                    : out->faces < need ? RECOG_R_NO_FACE
                    : out->live < need  ? RECOG_R_NOT_LIVE
                                        : RECOG_R_NO_MATCH;
        rc_metrics_add(r->cfg.metrics,
                       out->accepted ? "rollcall_self_checkins_total{result=\"accepted\"}"
                                     : "rollcall_self_checkins_total{result=\"refused\"}",
                       "self check-ins verified, accepted or refused by the faces", 1);
    }
    if (st == RC_OK && out->accepted) {
        out->score = out->frames[best].score;
        out->liveness = out->frames[best].liveness;
        const face_info *bf = &faces[best];
        att_sighting sg = {.person_id = req->person_id,
                           .ts_ms = req->ts_ms ? req->ts_ms : rc_unix_ms(),
                           .confidence = out->score,
                           .box = {bf->x0, bf->y0, bf->x1 - bf->x0, bf->y1 - bf->y0},
                           .liveness = out->liveness,
                           .face_id = closest_template(&own, bf->embedding),
                           .kind = req->kind,
                           .source = "self"};
        att_result ar;
        if (!r->cfg.att)
            st = rc_fail(err, RC_ERR_UNSUPPORTED, "attendance rules are not running");
        else
            st = att_record(r->cfg.att, &sg, NULL, 0, &ar, err);
        if (st == RC_OK) out->outcome = ar.outcome;
        if (st == RC_OK &&
            (ar.outcome == ATT_NEW || ar.outcome == ATT_MERGED || ar.outcome == ATT_MOVED)) {
            out->has_event = true;
            out->event = ar.event;
            recog_face rf = {.face = *bf,
                             .live = true,
                             .match = {.known = 1,
                                       .person = req->person_id,
                                       .score = (float)out->score,
                                       .best = (float)out->score,
                                       .second = -1},
                             .known = true,
                             .has_event = true,
                             .event_new = ar.outcome == ATT_NEW,
                             .event = ar.event};
            store_person_get(r->cfg.store, req->person_id, &rf.person, NULL);
            recog_event ev = {.kind = RECOG_EVENT_ATTENDANCE,
                              .ts_ms = sg.ts_ms,
                              .face = &rf,
                              .event = &out->event,
                              .is_new = rf.event_new};
            recog_emit(r, &ev);
        } else if (st == RC_OK) {
            /* The rules refused it (a setting changed mid-request). */
            out->accepted = false;
            out->code = RECOG_R_NO_MATCH;
        }
    }
    store_gallery_free(&own);
    free(centroid);
    free(faces);
    return st;
}
