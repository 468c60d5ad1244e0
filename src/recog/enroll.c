/*
 * enroll.c — the one enrollment policy, shared by the API, the web UI's
 * upload and import, /process-images and `rollcall enroll|import`.
 *
 * Each photo is judged on its own first: it must decode, show the face it is
 * about (face_pick_primary: a second face of comparable prominence makes it
 * ambiguous), pass the quality check and be at least twice the smallest face
 * recognition accepts. Then
 * against the others:
 *  - duplicate_identity: the face matches a DIFFERENT enrolled person at or
 *    above recognition_threshold (one person's face must not become
 *    another's template); an explicit allow_duplicate overrides it and is
 *    written to the audit log;
 *  - duplicate_pending (when the request asks: self-registration): the
 *    face matches a pending self-registration's template at or above
 *    recognition_threshold, the same bar as duplicate_identity; pending
 *    persons are out of the gallery, so they are read from the store;
 *  - different_people: the photos accepted so far for the person and the
 *    new ones are linked when their similarity reaches SAME_PERSON_LINK ×
 *    recognition_threshold; only the group holding the person's enrolled
 *    faces (or, for a person with none, the largest group) is accepted, and
 *    when two groups tie nothing is (whose photos are they?).
 * A new person (req->new_person) is created only once a photo is accepted,
 * so a refused upload leaves nothing behind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

/* A face is enrolled only when it is at least this many times the smallest
 * face recognition accepts (face_opts.min_size): a gallery template is
 * matched against every later frame, so it must come from a clearly
 * resolved face. Recognition itself keeps the lower limit. */
#define ENROLL_MIN_SIZE_FACTOR 2.f

/* Two photos are taken to show one person when their similarity reaches
 * this fraction of recognition_threshold. Lower than the threshold itself:
 * the check refuses photos that are clearly of someone else, and must not
 * refuse a genuine but dissimilar photo (other light, glasses, age). At the
 * default threshold (0.37) the link is 0.26. */
#define SAME_PERSON_LINK 0.7

/* How many gallery hits the duplicate check looks at. */
#define DUP_HITS 16

typedef struct {
    bool candidate; /* passed the per-photo checks */
    unsigned char *jpeg;
    size_t jl;
} photo;

static void refuse(recog_enroll_result *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(recog_enroll_result *e, const char *code, const char *fmt, ...)
{
    e->accepted = false;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
}

/* The per-photo checks; a candidate keeps its aligned crop. */
static void judge_photo(recog *r, const recog_image *in, recog_enroll_result *e, photo *ph)
{
    img_image *im = NULL;
    rc_error err;
    if (recog_decode(in->data, in->len, &im, &err) != RC_OK) {
        refuse(e, RECOG_R_NOT_IMAGE, "not a usable image: %.200s", err.msg);
        return;
    }
    face_opts fo = face_opts_default();
    face_info *faces = NULL;
    int n = 0;
    if (recog_analyze(r, im, &fo, &faces, &n, &err) != RC_OK) {
        refuse(e, RECOG_R_NOT_IMAGE, "%.200s", err.msg);
        img_free(im);
        return;
    }
    float min_size = ENROLL_MIN_SIZE_FACTOR * (float)fo.min_size;
    /* The face the photo is about: the largest near the centre. */
    face_pick pk = face_pick_primary(faces, n, im->w, im->h);
    const face_info *f = pk.index >= 0 ? &faces[pk.index] : NULL;
    if (f) {
        e->has_face = true;
        e->face = *f;
    }
    if (!f || !f->has_embedding) {
        refuse(e, RECOG_R_NO_FACE, "no face found");
    } else if (pk.ambiguous) {
        /* Two comparable faces: whose photo is it? Refuse rather than guess. */
        refuse(e, RECOG_R_SEVERAL_FACES, "%s", pk.reason);
    } else if (!f->quality_ok) {
        refuse(e, RECOG_R_LOW_QUALITY, "quality too low: %s", f->quality_reasons);
    } else if (f->size < min_size) {
        refuse(e, RECOG_R_TOO_SMALL,
               "quality too low: face too small to enroll (%.0f px tall; enrollment needs %.0f "
               "px or more: send a closer or larger photo)",
               f->size, min_size);
    } else {
        ph->candidate = true;
        img_image *crop = face_align(im, f->lm5);
        if (crop && img_encode_jpeg(crop, 90, &ph->jpeg, &ph->jl, NULL) != RC_OK) {
            ph->jpeg = NULL;
            ph->jl = 0;
        }
        img_free(crop);
    }
    free(faces);
    img_free(im);
}

/* duplicate_identity: the best hit of another active person at or above
 * the threshold. */
static void check_duplicate(recog *r, int64_t own, double threshold, recog_enroll_result *e,
                            photo *ph)
{
    gallery_hit hits[DUP_HITS];
    int nh = gallery_search(r->gallery, e->face.embedding, DUP_HITS, hits);
    for (int k = 0; k < nh && hits[k].score >= threshold; k++) {
        store_person other;
        if (hits[k].person == own ||
            store_person_get(r->cfg.store, hits[k].person, &other, NULL) != RC_OK || !other.active)
            continue;
        ph->candidate = false;
        e->other_person_id = other.id;
        snprintf(e->other_external_id, sizeof e->other_external_id, "%s", other.external_id);
        snprintf(e->other_name, sizeof e->other_name, "%s", other.name);
        e->similarity = hits[k].score;
        refuse(e, RECOG_R_DUPLICATE,
               "this face belongs to %s (%s), already enrolled (similarity %.2f, threshold %.2f)",
               other.name, other.external_id, hits[k].score, threshold);
        return;
    }
}

/* duplicate_pending: the best template of a pending self-registration
 * (another person than `own`) at or above the threshold. */
static void check_pending(recog *r, int64_t own, double threshold, const store_gallery *pend,
                          recog_enroll_result *e, photo *ph)
{
    if (pend->dim != FACE_EMB_DIM) return;
    int64_t who = 0;
    float best = -2;
    for (size_t k = 0; k < pend->count; k++) {
        if (pend->person_ids[k] == own) continue;
        float s = face_similarity(e->face.embedding, pend->vectors + k * (size_t)FACE_EMB_DIM);
        if (s > best) {
            best = s;
            who = pend->person_ids[k];
        }
    }
    store_person other;
    if (!who || best < threshold || store_person_get(r->cfg.store, who, &other, NULL) != RC_OK)
        return;
    ph->candidate = false;
    e->other_person_id = other.id;
    snprintf(e->other_external_id, sizeof e->other_external_id, "%s", other.external_id);
    snprintf(e->other_name, sizeof e->other_name, "%s", other.name);
    e->similarity = best;
    refuse(e, RECOG_R_PENDING,
           "this face belongs to %s, whose registration waits for approval (similarity %.2f, "
           "threshold %.2f)",
           other.name, best, threshold);
}

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

/* different_people over the candidates (and the person's enrolled faces,
 * node m). */
static rc_status check_together(recog *r, int64_t own, double threshold, recog_enroll_result *res,
                                photo *ph, size_t n, rc_error *err)
{
    size_t m = 0;
    size_t *idx = calloc(n + 1, sizeof *idx);
    size_t *parent = calloc(n + 2, sizeof *parent);
    size_t *size = calloc(n + 2, sizeof *size);
    store_gallery mine = {0};
    rc_status st = idx && parent && size ? RC_OK : rc_fail(err, RC_ERR_NOMEM, "out of memory");
    if (st == RC_OK && own)
        st = store_gallery_load_person(r->cfg.store, r->model_id, own, &mine, err);
    for (size_t i = 0; st == RC_OK && i < n; i++)
        if (ph[i].candidate) idx[m++] = i;
    if (st != RC_OK || m == 0) goto done;
    bool enrolled = mine.count > 0 && mine.dim == FACE_EMB_DIM;
    size_t nodes = m + (enrolled ? 1 : 0);
    for (size_t a = 0; a < nodes; a++) parent[a] = a;
    float link = (float)(SAME_PERSON_LINK * threshold);
    for (size_t a = 0; a < m; a++) {
        const float *ea = res[idx[a]].face.embedding;
        for (size_t b = a + 1; b < nodes; b++) {
            float sim = -1;
            if (b < m) {
                sim = face_similarity(ea, res[idx[b]].face.embedding);
            } else {
                for (size_t k = 0; k < mine.count; k++) {
                    float s = face_similarity(ea, mine.vectors + k * (size_t)mine.dim);
                    if (s > sim) sim = s;
                }
            }
            if (sim >= link) parent[uf_find(parent, a)] = uf_find(parent, b);
        }
    }
    for (size_t a = 0; a < nodes; a++) size[uf_find(parent, a)]++;
    size_t main_root = SIZE_MAX;
    if (enrolled) {
        main_root = uf_find(parent, m);
    } else {
        size_t best = 0, ties = 0;
        for (size_t a = 0; a < m; a++) {
            if (uf_find(parent, a) != a) continue;
            if (size[a] > best) {
                best = size[a];
                main_root = a;
                ties = 1;
            } else if (size[a] == best) {
                ties++;
            }
        }
        if (ties > 1) main_root = SIZE_MAX; /* no group stands out */
    }
    for (size_t a = 0; a < m; a++) {
        if (uf_find(parent, a) == main_root) continue;
        recog_enroll_result *e = &res[idx[a]];
        ph[idx[a]].candidate = false;
        if (enrolled)
            refuse(e, RECOG_R_DIFFERENT,
                   "this face does not look like the person's enrolled photos; send photos of "
                   "one person only");
        else
            refuse(e, RECOG_R_DIFFERENT,
                   "the photos show different people; send photos of one person only");
    }
done:
    store_gallery_free(&mine);
    free(idx);
    free(parent);
    free(size);
    return st;
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

/* An audit entry with a JSON detail (stolen); failures only logged. */
static void audit(recog *r, const char *actor, const char *action, int64_t person, json_t *d)
{
    char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    rc_error err;
    if (store_audit_add(r->cfg.store, actor, action, "person", person, text ? text : "", &err) !=
        RC_OK)
        rc_log(RC_LOG_WARN, "audit %s: %s", action, err.msg);
    free(text);
}

/* Create the new person of the request (a photo was accepted). */
static rc_status create_person(recog *r, const recog_enroll_req *req, store_person *p,
                               recog_enroll_summary *sum, rc_error *err)
{
    *p = *req->new_person;
    p->id = 0;
    rc_status st = store_person_create(r->cfg.store, p, err);
    if (st != RC_OK) return st;
    sum->created = true;
    audit(r, req->actor, "person.create", p->id,
          json_pack("{s:s,s:s}", "external_id", p->external_id, "via", "enroll"));
    return RC_OK;
}

rc_status recog_enroll(recog *r, const recog_enroll_req *req, recog_enroll_result *res,
                       recog_enroll_summary *sum, rc_error *err)
{
    memset(sum, 0, sizeof *sum);
    memset(res, 0, req->n * sizeof *res);
    store_person p = {0};
    if (!req->person_id && !req->new_person)
        return rc_fail(err, RC_ERR_INVALID, "enrollment needs a person");
    if (req->person_id) {
        rc_status st = store_person_get(r->cfg.store, req->person_id, &p, err);
        if (st != RC_OK) return st;
        if (store_consent_withdrawn(&p) && !req->consent) {
            /* Checked again by store_face_add under the person's lock. */
            for (size_t i = 0; i < req->n; i++)
                refuse(&res[i], RECOG_R_CONSENT,
                       "%s withdrew their consent to the use of their face: record a new "
                       "consent before enrolling it",
                       p.name);
            sum->person_id = p.id;
            return RC_OK;
        }
    }
    double threshold;
    recog_settings(r, &threshold, NULL, NULL);
    store_gallery pend = {0};
    if (req->check_pending) {
        rc_status st = store_gallery_load_pending(r->cfg.store, r->model_id, &pend, err);
        if (st != RC_OK) return st;
    }
    photo *ph = calloc(req->n + 1, sizeof *ph);
    if (!ph) {
        store_gallery_free(&pend);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < req->n; i++) {
        judge_photo(r, &req->images[i], &res[i], &ph[i]);
        if (ph[i].candidate && !req->allow_duplicate)
            check_duplicate(r, req->person_id, threshold, &res[i], &ph[i]);
        if (ph[i].candidate && req->check_pending)
            check_pending(r, req->person_id, threshold, &pend, &res[i], &ph[i]);
    }
    store_gallery_free(&pend);
    rc_status st = check_together(r, req->person_id, threshold, res, ph, req->n, err);
    size_t ok = 0;
    for (size_t i = 0; i < req->n; i++) ok += ph[i].candidate;
    if (st == RC_OK && ok && !req->person_id) st = create_person(r, req, &p, sum, err);
    if (st == RC_OK && ok && req->consent && !p.consent_ms) {
        p.consent_ms = rc_unix_ms();
        st = store_person_update(r->cfg.store, &p, err);
    }
    for (size_t i = 0; st == RC_OK && i < req->n; i++) {
        if (!ph[i].candidate) continue;
        recog_enroll_result *e = &res[i];
        store_face sf = {.person_id = p.id, .quality = e->face.score, .dim = FACE_EMB_DIM};
        snprintf(sf.model, sizeof sf.model, "%s", r->model_id);
        rc_error ferr;
        if (store_face_add(r->cfg.store, &sf, e->face.embedding, ph[i].jpeg, ph[i].jl, &ferr) !=
            RC_OK) {
            refuse(e, RECOG_R_STORE, "cannot store the face: %.200s", ferr.msg);
            continue;
        }
        e->accepted = true;
        e->face_id = sf.id;
        sum->accepted++;
        maybe_set_photo(r->cfg.store, p.id, sf.id);
        rc_metrics_add(r->cfg.metrics, "rollcall_enrolled_faces_total", "faces enrolled", 1);
        if (req->allow_duplicate)
            audit(r, req->actor, "face.enroll.override", p.id,
                  json_pack("{s:I,s:s}", "face_id", (json_int_t)sf.id, "check",
                            "duplicate_identity"));
    }
    for (size_t i = 0; i < req->n; i++) free(ph[i].jpeg);
    free(ph);
    if (st != RC_OK) return st;
    sum->person_id = p.id;
    if (sum->accepted) {
        rc_error gerr;
        if (recog_person_changed(r, p.id, &gerr) != RC_OK)
            rc_log(RC_LOG_WARN, "gallery after enrolling person %lld: %s", (long long)p.id,
                   gerr.msg);
    }
    return RC_OK;
}
