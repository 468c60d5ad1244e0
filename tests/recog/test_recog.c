/*
 * test_recog.c — the recognition service on real photos, without HTTP:
 * enrollment policy (quality, duplicate identity, different people in one
 * upload, two comparable faces refused, the central face of a group photo,
 * no person left behind when every photo is refused), recog_frame
 * (identity, attendance event, liveness withholding the identity, the
 * default liveness threshold without attendance rules), the gallery kept
 * current per person (by this process and, through the follower, by
 * another one sharing the database; frames never ask the store), listeners,
 * the bounded work queue, and the progressive-JPEG scan limit of
 * recog_decode.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <turbojpeg.h>

#include "../lib/testdb.h"
#include "recog/recog.h"

static char faces_dir[1024];
static const char *models_dir;

typedef struct {
    testdb db;
    att *att;
    recog *rg;
} fixture;

#define OK(call)                                                                                   \
    do {                                                                                           \
        rc_error e_;                                                                               \
        rc_status s_ = (call);                                                                     \
        if (s_ != RC_OK) fail_msg("%s: %s", #call, e_.msg);                                        \
    } while (0)

static unsigned char *photo(const char *rel, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", faces_dir, rel);
    unsigned char *buf = NULL;
    rc_error err;
    if (rc_read_file(path, 64 << 20, &buf, len, &err) != RC_OK) fail_msg("%s", err.msg);
    return buf;
}

static recog *make_recog(store *s, att *a, bool follow, unsigned workers)
{
    recog_config c = {
        .models_dir = models_dir, .workers = workers, .store = s, .att = a, .follow = follow};
    recog *rg = NULL;
    rc_error err;
    if (recog_create(&c, &rg, &err) != RC_OK) fail_msg("recog_create: %s", err.msg);
    return rg;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!testdb_open(&f->db)) return -1;
    rc_error err;
    if (att_create(f->db.s, &f->att, &err) != RC_OK) return -1;
    f->rg = make_recog(f->db.s, f->att, false, 2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    recog_destroy(f->rg);
    att_destroy(f->att);
    testdb_free(&f->db);
    free(f);
    return 0;
}

static int64_t new_person(store *s, const char *ext, const char *first)
{
    store_person p = {.active = 1};
    snprintf(p.external_id, sizeof p.external_id, "%s", ext);
    snprintf(p.first_name, sizeof p.first_name, "%s", first);
    snprintf(p.last_name, sizeof p.last_name, "Test");
    snprintf(p.kind, sizeof p.kind, "student");
    OK(store_person_create(s, &p, &e_));
    return p.id;
}

/* Enroll photos (paths under faces/, or "bytes:..." for raw bytes) with the
 * request's options; returns how many were accepted and fills res (n
 * entries). */
static int enroll_with(recog *rg, recog_enroll_req req, const char *const *paths, size_t n,
                       recog_enroll_result *res, recog_enroll_summary *sum)
{
    recog_image *imgs = calloc(n, sizeof *imgs);
    unsigned char **bufs = calloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        if (strncmp(paths[i], "bytes:", 6) == 0) {
            bufs[i] = (unsigned char *)strdup(paths[i] + 6);
            len = strlen(paths[i] + 6);
        } else {
            bufs[i] = photo(paths[i], &len);
        }
        imgs[i] = (recog_image){bufs[i], len, paths[i]};
    }
    req.images = imgs;
    req.n = n;
    req.actor = "test";
    OK(recog_enroll(rg, &req, res, sum, &e_));
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(imgs);
    return sum->accepted;
}

/* Enroll photos for a person (or a new one, np). */
static int enroll(recog *rg, int64_t person, const store_person *np, bool allow_dup,
                  const char *const *paths, size_t n, recog_enroll_result *res,
                  recog_enroll_summary *sum)
{
    recog_enroll_req req = {.person_id = person, .new_person = np, .allow_duplicate = allow_dup};
    return enroll_with(rg, req, paths, n, res, sum);
}

static void frame(recog *rg, const char *path, bool mark, recog_result *res)
{
    size_t len;
    unsigned char *buf = photo(path, &len);
    img_image *im = NULL;
    OK(recog_decode(buf, len, &im, &e_));
    free(buf);
    recog_frame_opts o = {.mark = mark};
    OK(recog_frame(rg, im, &o, res, &e_));
    img_free(im);
}

static void set_liveness(fixture *f, double t)
{
    att_config c;
    OK(att_config_load(f->db.s, &c, &e_));
    c.liveness_threshold = t;
    OK(att_config_save(f->db.s, &c, &e_));
    OK(att_reload(f->att, &e_));
}

static const char *const ANG[] = {"id/deepface_angelina/1.jpg", "id/deepface_angelina/2.jpg",
                                  "id/deepface_angelina/3.jpg"};

typedef struct {
    int frames, attendance, new_events, unknown;
    int64_t last_person;
} counts;

static void count_events(void *user, const recog_event *ev)
{
    counts *c = user;
    if (ev->kind == RECOG_EVENT_FRAME) {
        c->frames++;
        assert_non_null(ev->frame);
    } else if (ev->kind == RECOG_EVENT_UNKNOWN) {
        c->unknown++;
        assert_false(ev->face->known);
    } else {
        c->attendance++;
        c->new_events += ev->is_new;
        c->last_person = ev->event->person_id;
    }
}

/* Enrolled photos identify the person; a frame marks attendance once (then
 * merges); listeners see the frame and the event; a stranger is unknown. */
static void test_enroll_then_frame(void **state)
{
    fixture *f = *state;
    int64_t ang = new_person(f->db.s, "ANG", "Angelina");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_true(enroll(f->rg, ang, NULL, false, ANG, 3, res, &sum) >= 2);
    assert_int_equal(sum.person_id, ang);
    assert_false(sum.created);
    assert_int_equal(recog_gallery_size(f->rg), (size_t)sum.accepted);
    store_person p;
    OK(store_person_get(f->db.s, ang, &p, &e_));
    assert_true(p.photo_face_id > 0);

    set_liveness(f, 0); /* this case is about identity and marking */
    counts c = {0};
    int id = recog_listen(f->rg, count_events, &c);
    assert_true(id > 0);
    recog_result r;
    frame(f->rg, "id/deepface_angelina/5.jpg", true, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.faces[0].live);
    assert_true(r.faces[0].known);
    assert_int_equal(r.faces[0].person.id, ang);
    assert_true(r.faces[0].match.score >= GALLERY_DEFAULT_THRESHOLD);
    assert_true(r.faces[0].has_event);
    assert_true(r.faces[0].event_new);
    assert_string_equal(r.faces[0].event.kind, "entry");
    recog_result_free(&r);
    frame(f->rg, "id/deepface_angelina/6.jpg", true, &r);
    assert_true(r.faces[0].has_event);
    assert_false(r.faces[0].event_new); /* merged within the de-duplication window */
    recog_result_free(&r);
    assert_int_equal(c.frames, 2);
    assert_int_equal(c.attendance, 2);
    assert_int_equal(c.new_events, 1);
    assert_int_equal(c.last_person, ang);

    frame(f->rg, "id/deepface_person01/1.jpg", true, &r);
    assert_int_equal(r.n, 1);
    assert_false(r.faces[0].known);
    assert_int_equal(r.faces[0].person.id, 0);
    assert_false(r.faces[0].has_event);
    recog_result_free(&r);
    assert_int_equal(c.unknown, 1); /* the stranger, marked: a webhook may tell */
    assert_int_equal(c.attendance, 2);
    recog_unlisten(f->rg, id);
    frame(f->rg, "noface/ocv4n_banana.jpg", false, &r);
    assert_int_equal(r.n, 0);
    recog_result_free(&r);
    assert_int_equal(c.frames, 3); /* no faces: no frame event, and unlistened */
}

/* Angelina enrolled from ANG (at least two photos accepted). */
static void enroll_ang(fixture *f)
{
    int64_t ang = new_person(f->db.s, "ANG", "Angelina");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_true(enroll(f->rg, ang, NULL, false, ANG, 3, res, &sum) >= 2);
}

/* recog_frame from faces the detector already found on the frame (a
 * camera's detector-only pass, recog_frame_opts.detected) answers exactly
 * as recog_frame detecting them itself: same faces, boxes, identities,
 * scores and liveness, for the enrolled person and for strangers. */
static void test_frame_from_found_faces(void **state)
{
    fixture *f = *state;
    enroll_ang(f);
    static const char *const frames[] = {"id/deepface_angelina/5.jpg", "group/deepface_couple.jpg",
                                         "id/deepface_person01/1.jpg"};
    int known = 0, faces = 0;
    for (size_t k = 0; k < sizeof frames / sizeof frames[0]; k++) {
        size_t len;
        unsigned char *buf = photo(frames[k], &len);
        img_image *im = NULL;
        OK(recog_decode(buf, len, &im, &e_));
        free(buf);
        face_opts d = face_opts_default();
        d.landmarks = d.embedding = d.liveness = 0;
        d.pad_retry = 0;
        face_info *found = NULL;
        int nfound = 0;
        OK(recog_analyze(f->rg, im, &d, &found, &nfound, &e_));
        recog_result a, b;
        recog_frame_opts whole = {0}, given = {.detected = true, .found = found, .nfound = nfound};
        OK(recog_frame(f->rg, im, &whole, &a, &e_));
        OK(recog_frame(f->rg, im, &given, &b, &e_));
        assert_true(a.n > 0);
        assert_int_equal(a.n, b.n);
        for (int i = 0; i < a.n; i++) {
            const recog_face *x = &a.faces[i], *y = &b.faces[i];
            assert_memory_equal(&x->face.x0, &y->face.x0, 4 * sizeof x->face.x0);
            assert_memory_equal(x->face.embedding, y->face.embedding, sizeof x->face.embedding);
            assert_true(x->known == y->known && x->live == y->live);
            assert_int_equal(x->person.id, y->person.id);
            assert_true(x->match.score == y->match.score);
            assert_true(x->face.liveness == y->face.liveness);
            known += x->known;
            faces++;
        }
        recog_result_free(&a);
        recog_result_free(&b);
        free(found);
        img_free(im);
    }
    assert_int_equal(known, 2); /* Angelina in her photo and in the couple; the rest strangers */
    assert_true(faces >= 4);
}

/* A face under liveness_threshold is reported not live, with no identity and
 * no event, whoever it resembles. */
static void test_not_live_has_no_identity(void **state)
{
    fixture *f = *state;
    enroll_ang(f);
    set_liveness(f, 0);
    recog_result r;
    /* A photo of hers that scores below 1, so a threshold above it exists. */
    static const char *const probes[] = {
        "id/deepface_angelina/5.jpg", "id/deepface_angelina/6.jpg", "id/deepface_angelina/7.jpg",
        "id/deepface_angelina/8.jpg", "id/deepface_angelina/4.jpg", "id/deepface_angelina/3.jpg"};
    const char *probe = NULL;
    float l = 1;
    for (size_t k = 0; k < sizeof probes / sizeof probes[0] && !probe; k++) {
        frame(f->rg, probes[k], false, &r);
        if (r.n == 1 && r.faces[0].known && r.faces[0].face.liveness < 0.999f) {
            probe = probes[k];
            l = r.faces[0].face.liveness;
        }
        recog_result_free(&r);
    }
    if (!probe) fail_msg("every probe photo scores liveness 1: none to test the threshold with");
    set_liveness(f, l + (1 - l) / 2);
    frame(f->rg, probe, true, &r);
    assert_int_equal(r.n, 1);
    assert_false(r.faces[0].live);
    assert_false(r.faces[0].known);
    assert_int_equal(r.faces[0].person.id, 0);
    assert_string_equal(r.faces[0].person.name, "");
    assert_true(r.faces[0].match.person <= 0);
    assert_false(r.faces[0].has_event);
    recog_result_free(&r);
    /* Without marking too: a face the gallery knows is always measured. */
    frame(f->rg, probe, false, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.faces[0].face.liveness >= 0);
    assert_false(r.faces[0].live);
    assert_false(r.faces[0].known);
    assert_string_equal(r.faces[0].person.name, "");
    recog_result_free(&r);
}

/* Liveness is measured only where its answer is used: a stranger in a frame
 * that does not mark keeps -1 (not measured, so not refused); in a frame
 * that marks (an unknown-face notification depends on it) it is measured. */
static void test_liveness_only_where_used(void **state)
{
    fixture *f = *state;
    enroll_ang(f);
    set_liveness(f, 0.7);
    recog_result r;
    frame(f->rg, "id/deepface_person01/1.jpg", false, &r);
    assert_int_equal(r.n, 1);
    assert_false(r.faces[0].known);
    assert_true(r.faces[0].face.liveness < 0);
    assert_true(r.faces[0].live);
    recog_result_free(&r);
    frame(f->rg, "id/deepface_person01/1.jpg", true, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.faces[0].face.liveness >= 0 && r.faces[0].face.liveness <= 1);
    recog_result_free(&r);
    frame(f->rg, "id/deepface_angelina/5.jpg", false, &r);
    assert_int_equal(r.n, 1);
    assert_true(r.faces[0].face.liveness >= 0 && r.faces[0].face.liveness <= 1);
    recog_result_free(&r);
}

/* A counter from the registry (0 when never added to). */
static double metric(rc_metrics *m, const char *name)
{
    size_t len;
    char *text = rc_metrics_render(m, &len);
    assert_non_null(text);
    double v = 0;
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, nl) && p[nl] == ' ') v = strtod(p + nl + 1, NULL);
    free(text);
    return v;
}

/* One marking frame at a camera at time ts. */
static void camera_frame(recog *rg, const char *path, int64_t cam, int64_t ts, recog_result *res)
{
    size_t len;
    unsigned char *buf = photo(path, &len);
    img_image *im = NULL;
    OK(recog_decode(buf, len, &im, &e_));
    free(buf);
    recog_frame_opts o = {.mark = true, .camera_id = cam, .ts_ms = ts};
    OK(recog_frame(rg, im, &o, res, &e_));
    img_free(im);
}

/* In frames that mark, a known face whose person was measured live at this
 * camera within the de-duplication window is not measured again: it merges
 * into their event (answered live, with the event, liveness -1), and the
 * liveness counter and the worker do not run. A spoof of that person in the
 * window merges too but never becomes the event's best; once the window
 * since the last *measured* sighting ends, the spoof is measured and
 * refused (no identity, no event, kept for review naming nobody), and the
 * real face after it is measured again. Here a photo of hers that scores
 * under the threshold stands for the spoof, as in
 * test_not_live_has_no_identity. */
static void test_liveness_skipped_within_the_window(void **state)
{
    fixture *f = *state;
    rc_metrics *m = rc_metrics_create();
    recog_destroy(f->rg);
    recog_config c = {
        .models_dir = models_dir, .workers = 1, .store = f->db.s, .att = f->att, .metrics = m};
    OK(recog_create(&c, &f->rg, &e_));
    enroll_ang(f);
    const char *live = "id/deepface_angelina/5.jpg", *spoof = "id/deepface_angelina/3.jpg";
    recog_result r;
    frame(f->rg, live, false, &r);
    double l_live = r.faces[0].face.liveness;
    recog_result_free(&r);
    frame(f->rg, spoof, false, &r);
    double l_spoof = r.faces[0].face.liveness;
    recog_result_free(&r);
    if (!(l_spoof + 0.02 < l_live))
        fail_msg("%s scores liveness %.4f, %s %.4f: pick another pair", spoof, l_spoof, live,
                 l_live);
    set_liveness(f, (l_live + l_spoof) / 2);
    att_config cfg;
    att_get_config(f->att, &cfg);
    cfg.keep_unrecognized = 1;
    snprintf(cfg.timezone, sizeof cfg.timezone, "UTC");
    OK(att_config_save(f->db.s, &cfg, &e_));
    OK(att_reload(f->att, &e_));
    int64_t W = (int64_t)cfg.dedup_window_s * 1000;
    store_camera cam = {.enabled = 1, .fps = 5};
    snprintf(cam.name, sizeof cam.name, "hall");
    snprintf(cam.direction, sizeof cam.direction, "both");
    OK(store_camera_create(f->db.s, &cam, &e_));
    const char *MEASURED = "rollcall_liveness_faces_total{how=\"measured\"}";
    const char *SKIPPED = "rollcall_liveness_faces_total{how=\"skipped\"}";
    double runs = metric(m, MEASURED);
    /* Noon (UTC, the attendance's timezone here) of today: the sightings
     * below span a window and more, which from 23:55 on would cross into
     * the next day, whose first sighting is a new event. */
    const int64_t day = 86400000;
    int64_t t0 = rc_unix_ms() / day * day + day / 2;

    /* Marked: measured, a new event. */
    camera_frame(f->rg, live, cam.id, t0, &r);
    assert_true(r.faces[0].known && r.faces[0].has_event && r.faces[0].event_new);
    assert_false(r.faces[0].liveness_skipped);
    assert_true(metric(m, MEASURED) == runs + 1);
    store_event ev = r.faces[0].event;
    recog_result_free(&r);
    /* Seen again in the window: not measured, merged. */
    camera_frame(f->rg, live, cam.id, t0 + 10000, &r);
    assert_true(r.faces[0].known && r.faces[0].live && r.faces[0].liveness_skipped);
    assert_true(r.faces[0].face.liveness < 0);
    assert_true(r.faces[0].has_event && !r.faces[0].event_new);
    assert_int_equal(r.faces[0].event.id, ev.id);
    assert_int_equal(r.faces[0].event.sightings, 2);
    recog_result_free(&r);
    assert_true(metric(m, MEASURED) == runs + 1);
    assert_true(metric(m, SKIPPED) == 1);
    /* The spoof in the window: merged, never the event's best. */
    camera_frame(f->rg, spoof, cam.id, t0 + 20000, &r);
    assert_true(r.faces[0].liveness_skipped && r.faces[0].has_event);
    assert_int_equal(r.faces[0].event.sightings, 3);
    assert_true(r.faces[0].event.liveness == ev.liveness);
    assert_true(r.faces[0].event.confidence == ev.confidence);
    recog_result_free(&r);
    assert_true(metric(m, MEASURED) == runs + 1);
    /* The window since the measured sighting has ended: the spoof is
     * measured and refused, although it was merged 20 s after it. */
    camera_frame(f->rg, spoof, cam.id, t0 + W, &r);
    assert_false(r.faces[0].liveness_skipped);
    assert_true(r.faces[0].face.liveness >= 0);
    assert_false(r.faces[0].live);
    assert_false(r.faces[0].known);
    assert_int_equal(r.faces[0].person.id, 0);
    assert_false(r.faces[0].has_event);
    recog_result_free(&r);
    assert_true(metric(m, MEASURED) == runs + 2);
    camera_frame(f->rg, spoof, cam.id, t0 + W + 1000, &r); /* and again */
    assert_false(r.faces[0].live);
    recog_result_free(&r);
    assert_true(metric(m, MEASURED) == runs + 3);
    /* Her real face: measured, merged (within the window of the last
     * merged sighting), and the next one skips again. */
    camera_frame(f->rg, live, cam.id, t0 + W + 2000, &r);
    assert_false(r.faces[0].liveness_skipped);
    assert_true(r.faces[0].live && r.faces[0].has_event && !r.faces[0].event_new);
    recog_result_free(&r);
    camera_frame(f->rg, live, cam.id, t0 + W + 3000, &r);
    assert_true(r.faces[0].liveness_skipped && r.faces[0].has_event);
    recog_result_free(&r);
    assert_true(metric(m, MEASURED) == runs + 4);

    /* One event, its best sighting measured; the refused spoofs kept for
     * review with their measured liveness, naming nobody. */
    store_event_filter flt = {.person_id = ev.person_id};
    store_event *evs;
    size_t n;
    OK(store_event_list(f->db.s, &flt, (store_page){0}, &evs, &n, NULL, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(evs[0].sightings, 5);
    assert_true(evs[0].liveness >= l_live - 1e-6);
    free(evs);
    store_sighting *kept;
    OK(store_sighting_list(f->db.s, NULL, (store_page){0}, &kept, &n, NULL, &e_));
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(kept[i].reason, "unknown"); /* recog gave it no identity */
        assert_int_equal(kept[i].candidate_person_id, 0);
        assert_true(kept[i].liveness >= 0 && kept[i].liveness < l_live);
    }
    free(kept);

    /* The event voided within the window: the face is measured and makes a
     * new event. */
    OK(store_event_void(f->db.s, ev.id, "test", "wrong", &e_));
    camera_frame(f->rg, live, cam.id, t0 + W + 4000, &r);
    assert_false(r.faces[0].liveness_skipped);
    assert_true(r.faces[0].face.liveness >= 0);
    assert_true(r.faces[0].has_event && r.faces[0].event_new);
    recog_result_free(&r);
    assert_true(metric(m, MEASURED) == runs + 5);
    recog_destroy(f->rg);
    f->rg = NULL;
    rc_metrics_destroy(m);
}

/* A face that belongs to another enrolled person is refused, naming them;
 * an explicit override enrolls it (and is audited). */
static void test_duplicate_identity(void **state)
{
    fixture *f = *state;
    int64_t ang = new_person(f->db.s, "ANG", "Angelina");
    int64_t fake = new_person(f->db.s, "FAKE", "Impostor");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_true(enroll(f->rg, ang, NULL, false, ANG, 3, res, &sum) >= 2);
    const char *const other[] = {"id/deepface_angelina/7.jpg"};
    assert_int_equal(enroll(f->rg, fake, NULL, false, other, 1, res, &sum), 0);
    assert_string_equal(res[0].code, RECOG_R_DUPLICATE);
    assert_int_equal(res[0].other_person_id, ang);
    assert_string_equal(res[0].other_external_id, "ANG");
    assert_non_null(strstr(res[0].reason, "Angelina Test"));
    assert_true(res[0].similarity >= GALLERY_DEFAULT_THRESHOLD);
    size_t faces_before = recog_gallery_size(f->rg);
    /* Enrolling more of ANG's own photos is no duplicate. */
    const char *const more[] = {"id/deepface_angelina/8.jpg"};
    assert_int_equal(enroll(f->rg, ang, NULL, false, more, 1, res, &sum), 1);
    assert_int_equal(recog_gallery_size(f->rg), faces_before + 1);
    /* The override. */
    assert_int_equal(enroll(f->rg, fake, NULL, true, other, 1, res, &sum), 1);
    store_audit *au = NULL;
    size_t na = 0;
    int64_t total = 0;
    OK(store_audit_list(f->db.s, "person", fake, (store_page){10, 0}, &au, &na, &total, &e_));
    int overrides = 0;
    for (size_t i = 0; i < na; i++) overrides += strcmp(au[i].action, "face.enroll.override") == 0;
    assert_int_equal(overrides, 1);
    free(au);
}

/* A self-registration (check_pending) is refused when its face is the face
 * of a registration still pending (out of the gallery), at the recognition
 * threshold: other photos of her are caught, another person's are not, and
 * nobody is created; without the check (an admin's upload) they pass. */
static void test_duplicate_pending(void **state)
{
    fixture *f = *state;
    store_person np = {.active = 0, .pending = 1};
    snprintf(np.first_name, sizeof np.first_name, "Paula");
    snprintf(np.last_name, sizeof np.last_name, "Tres");
    snprintf(np.kind, sizeof np.kind, "student");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    recog_enroll_req req = {.new_person = &np, .check_pending = true, .consent = true};
    const char *const first[] = {"id/deepface_person03/1.jpg", "id/deepface_person03/2.jpg",
                                 "id/deepface_person03/3.jpg"};
    assert_int_equal(enroll_with(f->rg, req, first, 3, res, &sum), 3);
    int64_t paula = sum.person_id;
    assert_int_equal(recog_gallery_size(f->rg), 0); /* pending: out of the gallery */

    snprintf(np.first_name, sizeof np.first_name, "Pau");
    const char *const again[] = {"id/deepface_person03/4.jpg", "id/deepface_person03/5.jpg"};
    assert_int_equal(enroll_with(f->rg, req, again, 2, res, &sum), 0);
    assert_false(sum.created);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(res[i].code, RECOG_R_PENDING);
        assert_int_equal(res[i].other_person_id, paula);
        assert_true(res[i].similarity >= GALLERY_DEFAULT_THRESHOLD);
        assert_non_null(strstr(res[i].reason, "Paula Tres"));
    }
    /* Another student is no duplicate of her. */
    const char *const other[] = {"id/deepface_person04/1.jpg", "id/deepface_person04/2.jpg"};
    assert_int_equal(enroll_with(f->rg, req, other, 2, res, &sum), 2);
    assert_true(sum.created);
    /* Without the check the face is judged as before. */
    req.check_pending = false;
    snprintf(np.first_name, sizeof np.first_name, "Admin");
    assert_int_equal(enroll_with(f->rg, req, again, 2, res, &sum), 2);
}

/* Photos of clearly different people in one upload are refused, and a new
 * person is not created when nothing was accepted. */
static void test_different_people_and_no_ghost(void **state)
{
    fixture *f = *state;
    store_person np = {.active = 1};
    snprintf(np.external_id, sizeof np.external_id, "MIX");
    snprintf(np.name, sizeof np.name, "MIX");
    snprintf(np.kind, sizeof np.kind, "other");
    const char *const mix[] = {"id/deepface_person01/1.jpg", "id/deepface_person02/1.jpg"};
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_int_equal(enroll(f->rg, 0, &np, false, mix, 2, res, &sum), 0);
    assert_string_equal(res[0].code, RECOG_R_DIFFERENT);
    assert_string_equal(res[1].code, RECOG_R_DIFFERENT);
    assert_false(sum.created);
    store_person got;
    rc_error err;
    assert_int_equal(store_person_get_by_external(f->db.s, "MIX", &got, &err), RC_ERR_NOT_FOUND);
    /* Nothing usable at all: still no person. */
    const char *const bad[] = {"noface/ocv4n_banana.jpg", "bytes:not a jpeg"};
    assert_int_equal(enroll(f->rg, 0, &np, false, bad, 2, res, &sum), 0);
    assert_string_equal(res[0].code, RECOG_R_NO_FACE);
    assert_string_equal(res[1].code, RECOG_R_NOT_IMAGE);
    assert_int_equal(store_person_get_by_external(f->db.s, "MIX", &got, &err), RC_ERR_NOT_FOUND);
    /* Two photos of one person plus a stranger: the pair is enrolled, the
     * stranger refused, and the person created. */
    const char *const two_one[] = {"id/deepface_person01/1.jpg", "id/deepface_person02/1.jpg",
                                   "id/deepface_person01/2.jpg"};
    assert_int_equal(enroll(f->rg, 0, &np, false, two_one, 3, res, &sum), 2);
    assert_true(res[0].accepted);
    assert_string_equal(res[1].code, RECOG_R_DIFFERENT);
    assert_true(res[2].accepted);
    assert_true(sum.created);
    OK(store_person_get_by_external(f->db.s, "MIX", &got, &e_));
    assert_int_equal(got.id, sum.person_id);
    /* Later: a photo of someone else for that person is refused too. */
    const char *const later[] = {"id/deepface_person03/1.jpg"};
    assert_int_equal(enroll(f->rg, got.id, NULL, false, later, 1, res, &sum), 0);
    assert_string_equal(res[0].code, RECOG_R_DIFFERENT);
}

/* Changes reach the gallery per person: this process's own (at once), and
 * another process's through the follower, never by a full reload. */
static void test_gallery_follows_per_person(void **state)
{
    fixture *f = *state;
    recog *other = make_recog(f->db.s, f->att, true, 1); /* a second node */
    uint64_t upd, full;
    recog_gallery_stats(other, &upd, &full);
    assert_int_equal(full, 1);
    int64_t ang = new_person(f->db.s, "ANG", "Angelina");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    int n = enroll(f->rg, ang, NULL, false, ANG, 3, res, &sum);
    assert_true(n >= 2);
    assert_int_equal(recog_gallery_size(f->rg), (size_t)n);
    for (int i = 0; i < 200 && recog_gallery_size(other) != (size_t)n; i++) usleep(50 * 1000);
    assert_int_equal(recog_gallery_size(other), (size_t)n);
    /* The other node recognizes the person now. */
    recog_result r;
    set_liveness(f, 0);
    frame(other, "id/deepface_angelina/5.jpg", false, &r);
    assert_true(r.faces[0].known);
    recog_result_free(&r);
    /* A face deleted elsewhere leaves both galleries. */
    OK(store_face_delete(f->db.s, res[0].accepted ? res[0].face_id : res[1].face_id, "test", &e_));
    OK(recog_person_changed(f->rg, ang, &e_));
    assert_int_equal(recog_gallery_size(f->rg), (size_t)n - 1);
    for (int i = 0; i < 200 && recog_gallery_size(other) != (size_t)n - 1; i++) usleep(50 * 1000);
    assert_int_equal(recog_gallery_size(other), (size_t)n - 1);
    /* A deactivated person leaves it too (recog_sync finds the change). */
    store_person p;
    OK(store_person_get(f->db.s, ang, &p, &e_));
    p.active = 0;
    OK(store_person_update(f->db.s, &p, &e_));
    OK(recog_sync(f->rg, &e_));
    assert_int_equal(recog_gallery_size(f->rg), 0);
    recog_gallery_stats(f->rg, &upd, &full);
    assert_int_equal(full, 1);
    assert_true(upd >= 3);
    recog_gallery_stats(other, &upd, &full);
    assert_int_equal(full, 1);
    assert_true(upd >= 2);
    recog_destroy(other);
}

/* Enrollment takes the face a photo is about: a photo of two people of
 * comparable size and place is refused with the reason, never guessed; in a
 * group photo with one central face, that face is enrolled (it is the same
 * person as a portrait in the same upload, not the first face detected). */
static void test_enroll_picks_the_face_the_photo_is_about(void **state)
{
    fixture *f = *state;
    store_person np = {.active = 1};
    snprintf(np.external_id, sizeof np.external_id, "SH");
    snprintf(np.name, sizeof np.name, "Sheldon");
    snprintf(np.kind, sizeof np.kind, "other");
    const char *const photos[] = {"group/deepface_couple.jpg", "group/faceapi_bbt5.jpg",
                                  "id/bbt_sheldon/1.jpg"};
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_int_equal(enroll(f->rg, 0, &np, false, photos, 3, res, &sum), 2);
    assert_false(res[0].accepted);
    assert_string_equal(res[0].code, RECOG_R_SEVERAL_FACES);
    assert_non_null(strstr(res[0].reason, "two faces of comparable size"));
    assert_true(res[1].accepted);
    assert_true(res[2].accepted);
    assert_true(sum.created);
    /* The couple alone: refused, and nobody created. */
    store_person other = np;
    snprintf(other.external_id, sizeof other.external_id, "COUPLE");
    assert_int_equal(enroll(f->rg, 0, &other, false, photos, 1, res, &sum), 0);
    assert_string_equal(res[0].code, RECOG_R_SEVERAL_FACES);
    store_person got;
    rc_error err;
    assert_int_equal(store_person_get_by_external(f->db.s, "COUPLE", &got, &err), RC_ERR_NOT_FOUND);
}

/* Without attendance rules (a one-shot CLI use), recog judges liveness at
 * FACE_DEFAULT_LIVENESS_THRESHOLD, the same default the server's setting
 * has: a known face scoring between 0.5 and that default is not live. */
static void test_default_liveness_without_rules(void **state)
{
    fixture *f = *state;
    recog *rg = make_recog(f->db.s, NULL, false, 1);
    int64_t sh = new_person(f->db.s, "SH", "Sheldon");
    const char *const SH[] = {"id/bbt_sheldon/1.jpg", "id/bbt_sheldon/2.jpg",
                              "id/bbt_sheldon/4.jpg"};
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_true(enroll(rg, sh, NULL, false, SH, 3, res, &sum) >= 2);
    recog_result r;
    frame(rg, "id/bbt_sheldon/3.jpg", false, &r);
    assert_int_equal(r.n, 1);
    float l = r.faces[0].face.liveness;
    if (!(l >= 0.5f && l < FACE_DEFAULT_LIVENESS_THRESHOLD))
        fail_msg("bbt_sheldon/3.jpg scores liveness %.3f, no longer between 0.5 and %.2f: pick "
                 "another probe",
                 l, FACE_DEFAULT_LIVENESS_THRESHOLD);
    assert_false(r.faces[0].live);
    assert_false(r.faces[0].known);
    assert_int_equal(r.faces[0].person.id, 0);
    recog_result_free(&r);
    recog_destroy(rg);
}

/* A frame reads the gallery in memory and never asks the store about it:
 * an enrollment made by another node reaches a recog without a follower
 * only when it applies the change (recog_sync, or the follower's wake-up),
 * however many frames it sees before. */
static void test_frames_never_ask_the_store(void **state)
{
    fixture *f = *state;
    recog *other = make_recog(f->db.s, f->att, false, 1);
    int64_t ang = new_person(f->db.s, "ANG", "Angelina");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    int n = enroll(other, ang, NULL, false, ANG, 3, res, &sum);
    assert_true(n >= 2);
    set_liveness(f, 0);
    recog_result r;
    for (int i = 0; i < 2; i++) {
        frame(f->rg, "id/deepface_angelina/5.jpg", false, &r);
        assert_int_equal(r.n, 1);
        assert_false(r.faces[0].known);
        recog_result_free(&r);
    }
    assert_int_equal(recog_gallery_size(f->rg), 0);
    OK(recog_sync(f->rg, &e_));
    assert_int_equal(recog_gallery_size(f->rg), (size_t)n);
    frame(f->rg, "id/deepface_angelina/5.jpg", false, &r);
    assert_true(r.faces[0].known);
    assert_int_equal(r.faces[0].person.id, ang);
    recog_result_free(&r);
    uint64_t upd, full;
    recog_gallery_stats(f->rg, &upd, &full);
    assert_int_equal(full, 1);
    recog_destroy(other);
}

/* ---- the work queue ------------------------------------------------------ */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool release;
    int started, done;
    recog *rg;
} gate;

static void gated_job(void *arg)
{
    gate *g = arg;
    pthread_mutex_lock(&g->mu);
    g->started++;
    pthread_cond_broadcast(&g->cv);
    while (!g->release) pthread_cond_wait(&g->cv, &g->mu);
    g->done++;
    pthread_mutex_unlock(&g->mu);
}

/* With every thread busy and the queue full, a job is refused at once
 * (RC_ERR_LIMIT); the queued ones still run. */
static void test_queue_refuses_when_full(void **state)
{
    fixture *f = *state;
    recog_config c = {.models_dir = models_dir, .workers = 1, .queue = 1, .store = f->db.s};
    recog *rg = NULL;
    OK(recog_create(&c, &rg, &e_));
    gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    OK(recog_submit(rg, gated_job, &g, &e_));
    pthread_mutex_lock(&g.mu);
    while (g.started < 1) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    OK(recog_submit(rg, gated_job, &g, &e_)); /* waits in the queue */
    rc_error err;
    assert_int_equal(recog_submit(rg, gated_job, &g, &err), RC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "busy"));
    pthread_mutex_lock(&g.mu);
    g.release = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    recog_destroy(rg); /* runs what was queued */
    assert_int_equal(g.done, 2);
}

/* A job waiting for the disk (recog_wait_begin) lets the next job run on a
 * spare thread, even with one worker; it goes on when its wait ends. */
static void waiting_job(void *arg)
{
    gate *g = arg;
    recog_wait_begin(g->rg);
    gated_job(g);
    recog_wait_end(g->rg);
}

static void test_waiting_job_lets_the_next_run(void **state)
{
    fixture *f = *state;
    recog_config c = {.models_dir = models_dir, .workers = 1, .queue = 1, .store = f->db.s};
    recog *rg = NULL;
    OK(recog_create(&c, &rg, &e_));
    gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .rg = rg};
    OK(recog_submit(rg, waiting_job, &g, &e_));
    OK(recog_submit(rg, gated_job, &g, &e_));
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&g.mu);
    while (g.started < 2 && pthread_cond_timedwait(&g.cv, &g.mu, &until) == 0) continue;
    int started = g.started;
    g.release = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    assert_int_equal(started, 2); /* both ran at once on one worker */
    recog_destroy(rg);
    assert_int_equal(g.done, 2);
}

/* ---- progressive JPEG scans ---------------------------------------------- */

/* A progressive JPEG whose last scan is repeated `extra` times: each is a
 * pass over the image (a decoder without a scan limit does them all). */
static unsigned char *many_scans(int extra, size_t *len)
{
    int w = 64, h = 64;
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (unsigned char)(i * 7);
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long jl = 0;
    assert_int_equal(
        tjCompress2(tj, px, w, 0, h, TJPF_RGB, &jpeg, &jl, TJSAMP_420, 90, TJFLAG_PROGRESSIVE), 0);
    tjDestroy(tj);
    free(px);
    /* Find the last SOS marker; its scan runs to the EOI at the end. */
    size_t sos = 0;
    for (size_t i = 2; i + 1 < jl; i++)
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) sos = i;
    assert_true(sos > 0);
    size_t scan = jl - 2 - sos; /* without the EOI */
    unsigned char *out = malloc(jl + (size_t)extra * scan);
    memcpy(out, jpeg, jl - 2);
    size_t o = jl - 2;
    for (int k = 0; k < extra; k++, o += scan) memcpy(out + o, jpeg + sos, scan);
    out[o++] = 0xFF;
    out[o++] = 0xD9;
    tjFree(jpeg);
    *len = o;
    return out;
}

static void test_decode_limits_scans(void **state)
{
    (void)state;
    size_t len;
    unsigned char *ok = many_scans(10, &len);
    img_image *im = NULL;
    OK(recog_decode(ok, len, &im, &e_)); /* a few extra scans decode */
    img_free(im);
    free(ok);
    unsigned char *bad = many_scans(2000, &len);
    rc_error err;
    assert_int_not_equal(recog_decode(bad, len, &im, &err), RC_OK);
    assert_null(im);
    assert_non_null(strstr(err.msg, "scans"));
    free(bad);
}

/* Self check-in of `person` with the frames at paths[0..n) (under faces/). */
static void self_checkin(recog *rg, int64_t person, const char *const *paths, size_t n,
                         recog_self_result *out)
{
    recog_image imgs[RECOG_SELF_MAX_FRAMES];
    unsigned char *bufs[RECOG_SELF_MAX_FRAMES];
    for (size_t i = 0; i < n; i++) {
        size_t len;
        bufs[i] = photo(paths[i], &len);
        imgs[i] = (recog_image){bufs[i], len, paths[i]};
    }
    recog_self_req req = {.person_id = person, .frames = imgs, .n = n};
    OK(recog_self_checkin(rg, &req, out, &e_));
    for (size_t i = 0; i < n; i++) free(bufs[i]);
}

/* Self check-in is verified 1:1 against the person's own faces: another
 * enrolled person's face fails even though a gallery search would name
 * them; the person's own face passes and is recorded with source "self"
 * (listeners hear it), a repeat merges; a person without faces, frames
 * without a face and faces under the liveness threshold are refused with
 * their codes and record nothing. */
static void test_self_checkin_is_one_to_one(void **state)
{
    fixture *f = *state;
    int64_t ang = new_person(f->db.s, "ANG", "Angelina");
    int64_t p01 = new_person(f->db.s, "P01", "Pedro");
    int64_t none = new_person(f->db.s, "NONE", "Nadie");
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    assert_true(enroll(f->rg, ang, NULL, false, ANG, 3, res, &sum) >= 2);
    const char *const P01[] = {"id/deepface_person01/1.jpg", "id/deepface_person01/2.jpg"};
    assert_true(enroll(f->rg, p01, NULL, false, P01, 2, res, &sum) >= 1);
    set_liveness(f, 0);
    counts c = {0};
    int id = recog_listen(f->rg, count_events, &c);

    recog_self_result r;
    const char *const pedro[] = {"id/deepface_person01/3.jpg", "id/deepface_person01/4.jpg"};
    self_checkin(f->rg, ang, pedro, 2, &r);
    assert_false(r.accepted);
    assert_string_equal(r.code, RECOG_R_NO_MATCH);
    assert_int_equal(r.faces, 2);
    assert_int_equal(r.live, 2);
    assert_int_equal(r.passed, 0);
    assert_true(r.frames[0].score < GALLERY_DEFAULT_THRESHOLD);
    recog_result fr; /* the same face searched 1:N is Pedro */
    frame(f->rg, pedro[0], false, &fr);
    assert_int_equal(fr.faces[0].person.id, p01);
    recog_result_free(&fr);

    const char *const mixed[] = {"noface/ocv4n_banana.jpg", "id/deepface_angelina/5.jpg",
                                 "id/deepface_angelina/6.jpg"};
    self_checkin(f->rg, ang, mixed, 3, &r);
    assert_true(r.accepted);
    assert_null(r.code);
    assert_int_equal(r.passed, 2);
    assert_string_equal(r.frames[0].code, RECOG_R_NO_FACE);
    assert_true(r.has_event);
    assert_int_equal(r.outcome, ATT_NEW);
    assert_int_equal(r.event.person_id, ang);
    assert_string_equal(r.event.source, "self");
    assert_int_equal(r.event.camera_id, 0);
    int64_t owner = 0; /* the enrolled face behind the event is one of hers */
    OK(store_face_person(f->db.s, r.event.face_id, &owner, &e_));
    assert_int_equal(owner, ang);
    assert_true(r.score >= GALLERY_DEFAULT_THRESHOLD);
    assert_int_equal(c.attendance, 1);
    assert_int_equal(c.last_person, ang);
    self_checkin(f->rg, ang, mixed + 1, 2, &r);
    assert_true(r.accepted);
    assert_int_equal(r.outcome, ATT_MERGED); /* within the de-duplication window */

    self_checkin(f->rg, none, mixed + 1, 2, &r);
    assert_false(r.accepted);
    assert_string_equal(r.code, RECOG_R_NO_ENROLLED);
    const char *const bananas[] = {"noface/ocv4n_banana.jpg", "noface/ocv4n_banana.jpg"};
    self_checkin(f->rg, ang, bananas, 2, &r);
    assert_string_equal(r.code, RECOG_R_NO_FACE);
    set_liveness(f, 1); /* above every real score: nothing is live */
    self_checkin(f->rg, ang, mixed + 1, 2, &r);
    assert_false(r.accepted);
    assert_string_equal(r.code, RECOG_R_NOT_LIVE);
    assert_int_equal(r.frames[0].score, 0);
    assert_int_equal(c.attendance, 2);
    recog_unlisten(f->rg, id);

    recog_self_req bad = {.person_id = ang, .n = RECOG_SELF_MAX_FRAMES + 1};
    rc_error err;
    assert_int_equal(recog_self_checkin(f->rg, &bad, &r, &err), RC_ERR_INVALID);
}

int main(void)
{
    const char *t = getenv("ROLLCALL_TESTDATA");
    snprintf(faces_dir, sizeof faces_dir, "%s/faces", t ? t : "../shared/testdata");
    models_dir = getenv("ROLLCALL_MODELS") ? getenv("ROLLCALL_MODELS") : "models";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enroll_then_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_live_has_no_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_from_found_faces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liveness_only_where_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liveness_skipped_within_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_checkin_is_one_to_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_different_people_and_no_ghost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gallery_follows_per_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_picks_the_face_the_photo_is_about, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_default_liveness_without_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_never_ask_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_refuses_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_job_lets_the_next_run, setup, teardown),
        cmocka_unit_test(test_decode_limits_scans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
