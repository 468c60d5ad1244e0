/*
 * test_camera_track.c — face tracking in the camera feed on real photos and
 * the real models, without a camera source: a synthetic 5 fps sequence of
 * 640x480 frames made of real photos (an enrolled person walking across the
 * frame, a stranger appearing half way, the enrolled person leaving) goes
 * through cam_feed_frame as a camera's frames would. It checks that the
 * walking face keeps one track id, that the stranger gets a track within
 * `detect_every` frames and stays "unknown", that the enrolled person is
 * marked exactly once (one new attendance event, one stored event), that the
 * leaving face's track ends, and that far fewer frames went through the
 * whole pipeline than without tracking — which the same sequence then shows.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/testdb.h"
#include "camera/internal.h"
#include "recog/recog.h"

#define OK(call)                                                                                   \
    do {                                                                                           \
        rc_error e_;                                                                               \
        rc_status s_ = (call);                                                                     \
        if (s_ != RC_OK) fail_msg("%s: %s", #call, e_.msg);                                        \
    } while (0)

static char faces_dir[1024];
static const char *models_dir;

#define W       640
#define H       480
#define FRAMES  20
#define STEP_MS 200.0 /* 5 fps */
#define ENTERS  6     /* the stranger's first frame */
#define LEAVES  14    /* the first frame without the enrolled person */

typedef struct {
    testdb db;
    att *att;
    recog *rg;
    cam_feed *feed;
    rc_metrics *metrics;
    img_image *ann, *stranger; /* the two faces, resized */
    int64_t person, cam;       /* the enrolled person, the camera */
    int new_events, attendance;
} fixture;

static img_image *load_resized(const char *rel, int w, int h)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", faces_dir, rel);
    img_image *im = NULL, *rgb = NULL, *out = NULL;
    OK(img_load(path, NULL, &im, &e_));
    rgb = im->channels == 3 ? im : img_to_rgb(im);
    out = img_resize(rgb, w, h, IMG_RESIZE_AUTO);
    if (rgb != im) img_free(rgb);
    img_free(im);
    assert_non_null(out);
    return out;
}

static void count(void *user, const recog_event *ev)
{
    fixture *f = user;
    if (ev->kind != RECOG_EVENT_ATTENDANCE || ev->event->person_id != f->person) return;
    f->attendance++;
    f->new_events += ev->is_new;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || !testdb_open(&f->db)) return -1;
    OK(att_create(f->db.s, &f->att, &e_));
    f->metrics = rc_metrics_create();
    assert_non_null(f->metrics);
    recog_config rc = {.models_dir = models_dir,
                       .workers = 1,
                       .store = f->db.s,
                       .att = f->att,
                       .metrics = f->metrics};
    OK(recog_create(&rc, &f->rg, &e_));
    OK(cam_feed_create(f->rg, 1, f->metrics, &f->feed, &e_));
    /* This is about tracking and marking: pasted photos are not live enough. */
    att_config c;
    OK(att_config_load(f->db.s, &c, &e_));
    c.liveness_threshold = 0;
    OK(att_config_save(f->db.s, &c, &e_));
    OK(att_reload(f->att, &e_));
    store_camera cam = {.enabled = 1, .fps = 5};
    snprintf(cam.name, sizeof cam.name, "Door");
    snprintf(cam.url, sizeof cam.url, "http://127.0.0.1:9/stream");
    snprintf(cam.kind, sizeof cam.kind, "mjpeg");
    snprintf(cam.direction, sizeof cam.direction, "both");
    OK(store_camera_create(f->db.s, &cam, &e_));
    f->cam = cam.id;
    store_person p = {.active = 1};
    snprintf(p.external_id, sizeof p.external_id, "ANN");
    snprintf(p.first_name, sizeof p.first_name, "Angelina");
    snprintf(p.last_name, sizeof p.last_name, "Test");
    snprintf(p.kind, sizeof p.kind, "student");
    OK(store_person_create(f->db.s, &p, &e_));
    f->person = p.id;
    static const char *const enrolled[] = {"id/deepface_angelina/1.jpg",
                                           "id/deepface_angelina/2.jpg"};
    recog_image imgs[2];
    unsigned char *bufs[2];
    for (int i = 0; i < 2; i++) {
        char path[1200];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", faces_dir, enrolled[i]);
        OK(rc_read_file(path, 64 << 20, &bufs[i], &len, &e_));
        imgs[i] = (recog_image){bufs[i], len, enrolled[i]};
    }
    recog_enroll_req req = {.person_id = p.id, .images = imgs, .n = 2, .actor = "test"};
    recog_enroll_result res[2];
    recog_enroll_summary sum;
    OK(recog_enroll(f->rg, &req, res, &sum, &e_));
    free(bufs[0]);
    free(bufs[1]);
    assert_true(sum.accepted >= 1);
    f->ann = load_resized("id/deepface_angelina/5.jpg", 200, 280);
    f->stranger = load_resized("id/deepface_person02/6.jpg", 180, 225);
    assert_true(recog_listen(f->rg, count, f) > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cam_feed_destroy(f->feed);
    recog_destroy(f->rg);
    att_destroy(f->att);
    testdb_free(&f->db);
    rc_metrics_destroy(f->metrics);
    img_free(f->ann);
    img_free(f->stranger);
    free(f);
    return 0;
}

static void paste(uint8_t *dst, const img_image *src, int x, int y)
{
    for (int r = 0; r < src->h && y + r < H; r++)
        memcpy(dst + ((size_t)(y + r) * W + (size_t)x) * 3, src->px + (size_t)r * src->w * 3,
               (size_t)(x + src->w <= W ? src->w : W - x) * 3);
}

/* Where the enrolled person's photo is pasted in frame k (walking right). */
static int ann_x(int k)
{
    return 20 + 12 * k;
}

/* Frame k (captured at 1000 + 200k ms) as an MJPEG camera would deliver
 * it: `ann` at x (none when x < 0), the stranger when `stranger`. */
static cam_frame *compose(const fixture *f, int k, int x, bool stranger)
{
    img_image *canvas = img_new(W, H, 3);
    assert_non_null(canvas);
    memset(canvas->px, 110, (size_t)W * H * 3);
    if (x >= 0) paste(canvas->px, f->ann, x, 120);
    if (stranger) paste(canvas->px, f->stranger, 430, 180);
    unsigned char *jpeg = NULL;
    size_t len = 0;
    OK(img_encode_jpeg(canvas, 90, &jpeg, &len, &e_));
    img_free(canvas);
    cam_frame *fr = cam_frame_alloc(len);
    assert_non_null(fr);
    memcpy(fr->data, jpeg, len);
    free(jpeg);
    fr->fmt = CAM_FMT_JPEG;
    fr->width = W;
    fr->height = H;
    fr->mono_ms = 1000 + STEP_MS * k;
    fr->ts_ms = rc_unix_ms();
    fr->seq = (uint64_t)k + 1;
    return fr;
}

/* Frame k of the first sequence. */
static cam_frame *make_frame(const fixture *f, int k)
{
    return compose(f, k, k < LEAVES ? ann_x(k) : -1, k >= ENTERS);
}

typedef struct {
    int ann_track[FRAMES];      /* the track of the face on the enrolled person, 0 if none */
    int stranger_track[FRAMES]; /* same for the stranger */
    bool ann_known[FRAMES];
    char stranger_label[FRAMES][64];
    cam_track_stats stats;
} run;

static void run_sequence(fixture *f, run *out)
{
    memset(out, 0, sizeof *out);
    for (int k = 0; k < FRAMES; k++) {
        cam_frame *fr = make_frame(f, k);
        cam_feed_frame(f->feed, f->cam, fr);
        cam_frame_unref(fr);
        cam_face faces[CAM_FEED_FACES];
        int n = cam_feed_last_faces(f->feed, f->cam, faces, CAM_FEED_FACES);
        for (int i = 0; i < n; i++) {
            float cx = (faces[i].x0 + faces[i].x1) / 2;
            if (cx < 400) {
                out->ann_track[k] = faces[i].track;
                out->ann_known[k] = faces[i].known;
            } else {
                out->stranger_track[k] = faces[i].track;
                snprintf(out->stranger_label[k], sizeof out->stranger_label[k], "%s",
                         faces[i].label);
            }
        }
    }
    cam_feed_track_stats(f->feed, f->cam, &out->stats);
    printf("# %d frames: %llu tracked only, %llu detector, %llu whole pipeline; %llu tracks\n",
           FRAMES, (unsigned long long)out->stats.skipped, (unsigned long long)out->stats.detected,
           (unsigned long long)out->stats.identified, (unsigned long long)out->stats.tracks);
}

#define DETECTOR_RUNS "rollcall_pipeline_stage_ms_count{stage=\"detect\"}"

/* The value of one series in the fixture's /metrics text (0 when absent). */
static double metric(fixture *f, const char *series)
{
    size_t n = 0;
    char *text = rc_metrics_render(f->metrics, &n);
    assert_non_null(text);
    double v = 0;
    size_t len = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, series, len) == 0 && l[len] == ' ') v = strtod(l + len + 1, NULL);
    free(text);
    return v;
}

static size_t stored_events(fixture *f)
{
    store_event_filter flt = {.person_id = f->person};
    store_event *ev = NULL;
    size_t n = 0;
    OK(store_event_list(f->db.s, &flt, (store_page){.limit = 100}, &ev, &n, NULL, &e_));
    free(ev);
    return n;
}

static void tracking_keeps_ids_finds_newcomers_and_marks_once(void **state)
{
    fixture *f = *state;
    run r;
    double detector0 = metric(f, DETECTOR_RUNS); /* enrollment's */
    run_sequence(f, &r);
    /* The walking face keeps one track and is known from the first frame. */
    assert_true(r.ann_track[0] > 0);
    for (int k = 0; k < LEAVES; k++) {
        assert_int_equal(r.ann_track[k], r.ann_track[0]);
        assert_true(r.ann_known[k]);
    }
    /* The stranger has a track within detect_every (2) frames, then keeps it,
     * and stays unknown. */
    assert_int_equal(r.stranger_track[ENTERS - 1], 0);
    int first = ENTERS;
    while (first < FRAMES && !r.stranger_track[first]) first++;
    assert_true(first < ENTERS + 2);
    assert_true(r.stranger_track[first] != r.ann_track[0]);
    for (int k = first; k < FRAMES; k++) {
        assert_int_equal(r.stranger_track[k], r.stranger_track[first]);
        assert_string_equal(r.stranger_label[k], "unknown");
    }
    /* She left: her face is no longer shown within two detection rounds. */
    assert_int_equal(r.ann_track[LEAVES + 3], 0);
    assert_int_equal(r.stats.live, 1);
    assert_int_equal(r.stats.tracks, 2);
    /* Marked exactly once: one new event, one stored event. */
    assert_int_equal(f->new_events, 1);
    assert_int_equal(stored_events(f), 1);
    /* The whole pipeline ran for the two newcomers and the re-checks (every
     * 2 s over 4 s), not for every frame. */
    assert_int_equal(r.stats.skipped + r.stats.detected + r.stats.identified, FRAMES);
    assert_true(r.stats.identified <= 5);
    assert_true(r.stats.skipped >= FRAMES / 2 - 3);
    /* The detector ran once on each frame that was not only tracked: a frame
     * whose detector pass found a newcomer (or a face due for its re-check)
     * went through the rest of the pipeline from those boxes, without a
     * second detection (recog_frame_opts.detected). */
    double detector = metric(f, DETECTOR_RUNS) - detector0;
    double escalated =
        metric(f, "rollcall_camera_steps_total{step=\"detect\"}") - (double)r.stats.detected;
    printf("# detector runs %.0f on %llu frames not only tracked (%.0f escalated from the "
           "detector pass to the whole pipeline)\n",
           detector, (unsigned long long)(r.stats.detected + r.stats.identified), escalated);
    assert_true(escalated >= 1);
    assert_int_equal((int)detector, (int)(r.stats.detected + r.stats.identified));
    int with_tracking = f->attendance;

    /* The same sequence without tracking: every frame through the pipeline
     * (a new camera, so nothing carries over). Still one event. */
    cam_feed_set_tracking(f->feed, NULL);
    cam_feed_forget(f->feed, f->cam);
    run_sequence(f, &r);
    assert_int_equal(r.stats.identified, FRAMES);
    assert_int_equal(r.stats.skipped, 0);
    assert_int_equal(r.ann_track[0], 0);
    assert_int_equal(f->new_events, 1);
    assert_int_equal(stored_events(f), 1);
    assert_true(f->attendance - with_tracking >= LEAVES - 1);
}

/* Someone pacing back and forth in front of the camera for 16 s (up to 144
 * px/s, turning smoothly at each end; the photo is 200 px wide) keeps one
 * track, and the whole pipeline runs for the start and the 2 s re-checks
 * only. */
static void a_pacing_person_keeps_one_track(void **state)
{
    fixture *f = *state;
    cam_track_stats st;
    int first = 0;
    for (int k = 0; k < 80; k++) {
        double t = k * STEP_MS / 1000;
        cam_frame *fr = compose(f, k, (int)(200 + 180 * sin(t * 0.8)), false);
        cam_feed_frame(f->feed, f->cam, fr);
        cam_frame_unref(fr);
        cam_face faces[CAM_FEED_FACES];
        int n = cam_feed_last_faces(f->feed, f->cam, faces, CAM_FEED_FACES);
        assert_int_equal(n, 1);
        if (!first) first = faces[0].track;
        assert_int_equal(faces[0].track, first);
        assert_true(faces[0].known);
    }
    cam_feed_track_stats(f->feed, f->cam, &st);
    printf("# 80 frames: %llu tracked only, %llu detector, %llu whole pipeline; %llu tracks\n",
           (unsigned long long)st.skipped, (unsigned long long)st.detected,
           (unsigned long long)st.identified, (unsigned long long)st.tracks);
    assert_int_equal(st.tracks, 1);
    assert_true(st.identified <= 1 + 16 / 2);
    assert_int_equal(f->new_events, 1);
}

static float iou(const cam_face *a, const face_info *b)
{
    face_box x = {a->x0, a->y0, a->x1, a->y1, 0}, y = {b->x0, b->y0, b->x1, b->y1, 0};
    return face_iou(&x, &y);
}

typedef struct {
    int frames, ann_frames;  /* frames; those where the walker was shown */
    double iou_sum, iou_min; /* the walker's shown box against a whole-frame detection */
    int stranger_first;      /* the first frame the stranger was shown in, -1 never */
    double detector_ms;      /* detector time (whole frame and regions), wall clock */
    cam_track_stats stats;
} follow;

/* The first sequence with smaller faces (a camera farther from the door)
 * through camera `cam`, each frame's shown boxes compared with what the
 * detector finds on the whole frame. */
static void follow_sequence(fixture *f, const char *name, follow *out)
{
    memset(out, 0, sizeof *out);
    out->iou_min = 1;
    out->stranger_first = -1;
    double t0 = metric(f, "rollcall_pipeline_stage_ms_sum{stage=\"detect\"}") +
                metric(f, "rollcall_pipeline_stage_ms_sum{stage=\"region\"}");
    face_opts d = face_opts_default();
    d.landmarks = d.embedding = d.liveness = 0;
    d.pad_retry = 0;
    int person_track = 0;
    for (int k = 0; k < FRAMES; k++) {
        cam_frame *fr = make_frame(f, k);
        cam_feed_frame(f->feed, f->cam, fr);
        cam_face shown[CAM_FEED_FACES];
        int n = cam_feed_last_faces(f->feed, f->cam, shown, CAM_FEED_FACES);
        double before = metric(f, "rollcall_pipeline_stage_ms_sum{stage=\"detect\"}");
        img_image *im = NULL;
        OK(recog_decode(fr->data, fr->size, &im, &e_));
        face_info *truth = NULL;
        int nt = 0;
        OK(recog_analyze(f->rg, im, &d, &truth, &nt, &e_));
        t0 += metric(f, "rollcall_pipeline_stage_ms_sum{stage=\"detect\"}") - before;
        img_free(im);
        cam_frame_unref(fr);
        for (int i = 0; i < n; i++) {
            float cx = (shown[i].x0 + shown[i].x1) / 2;
            if (cx >= 400) {
                assert_string_equal(shown[i].label, "unknown");
                if (out->stranger_first < 0) out->stranger_first = k;
                continue;
            }
            if (k >= LEAVES) continue; /* her last box, until the track ends */
            assert_true(shown[i].known);
            if (!person_track) person_track = shown[i].track;
            assert_int_equal(shown[i].track, person_track);
            float best = 0;
            for (int j = 0; j < nt; j++)
                if (iou(&shown[i], &truth[j]) > best) best = iou(&shown[i], &truth[j]);
            out->iou_sum += best;
            if (best < out->iou_min) out->iou_min = best;
            out->ann_frames++;
        }
        free(truth);
        out->frames++;
    }
    out->detector_ms = metric(f, "rollcall_pipeline_stage_ms_sum{stage=\"detect\"}") +
                       metric(f, "rollcall_pipeline_stage_ms_sum{stage=\"region\"}") - t0;
    cam_feed_track_stats(f->feed, f->cam, &out->stats);
    cam_feed_forget(f->feed, f->cam); /* the next run starts without tracks */
    printf("# %s: %llu tracked only, %llu whole-frame detector, %llu regions, %llu whole "
           "pipeline; walker shown in %d of %d frames, IoU with a whole-frame detection mean "
           "%.3f min %.3f; stranger from frame %d; detector %.1f ms\n",
           name, (unsigned long long)out->stats.skipped, (unsigned long long)out->stats.detected,
           (unsigned long long)out->stats.regions, (unsigned long long)out->stats.identified,
           out->ann_frames, LEAVES, out->ann_frames ? out->iou_sum / out->ann_frames : 0,
           out->iou_min, out->stranger_first, out->detector_ms);
}

/* Detection on regions around the tracks (cam_track_config.full_every):
 * with faces of 100-140 px in a 640x480 frame, the walker keeps one track
 * whose box stays on her face as closely as with whole-frame detection,
 * the stranger is found by the next whole-frame detection (within
 * full_every frames) and stays unknown, she is marked once, and the
 * detector runs on regions on the rounds between. */
static void regions_follow_the_faces_between_whole_frame_detections(void **state)
{
    fixture *f = *state;
    img_image *ann = f->ann, *stranger = f->stranger;
    f->ann = load_resized("id/deepface_angelina/5.jpg", 100, 140);
    f->stranger = load_resized("id/deepface_person02/6.jpg", 90, 112);
    follow whole, regions;
    cam_feed_set_tracking(f->feed, &(cam_track_config){0});
    follow_sequence(f, "whole frame", &whole);
    cam_feed_set_tracking(f->feed, &(cam_track_config){.full_every = 4});
    follow_sequence(f, "regions", &regions);
    img_free(f->ann);
    img_free(f->stranger);
    f->ann = ann;
    f->stranger = stranger;
    assert_int_equal(whole.stats.regions, 0);
    assert_true(regions.stats.regions >= 3);
    assert_int_equal(regions.ann_frames, LEAVES);
    assert_true(regions.iou_sum / regions.ann_frames > 0.75);
    assert_true(regions.iou_min > 0.5);
    assert_true(regions.iou_sum / regions.ann_frames > whole.iou_sum / whole.ann_frames - 0.05);
    assert_true(regions.stranger_first >= ENTERS && regions.stranger_first < ENTERS + 4);
    assert_int_equal(regions.stats.tracks, 2);
    assert_int_equal(f->new_events, 1);
}

int main(void)
{
    const char *t = getenv("ROLLCALL_TESTDATA");
    snprintf(faces_dir, sizeof faces_dir, "%s/faces", t ? t : "../shared/testdata");
    models_dir = getenv("ROLLCALL_MODELS") ? getenv("ROLLCALL_MODELS") : "models";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tracking_keeps_ids_finds_newcomers_and_marks_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_pacing_person_keeps_one_track, setup, teardown),
        cmocka_unit_test_setup_teardown(regions_follow_the_faces_between_whole_frame_detections,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
