/*
 * camera_marked.c — what a marking camera frame costs when its person was
 * already marked live at that camera within the de-duplication window (the
 * liveness model skipped, att_live_recently), beside the same frame with
 * liveness measured, in the same run: recog_frame with mark on one thread,
 * on a one-face 640x480 frame (the upper 4:3 of deepface_angelina/1.jpg,
 * the photo of `rollcall bench pipeline`), with a gallery of three other photos
 * of her and SQLite in a temporary directory. The reference frames go to a
 * camera that has not measured her yet (a new camera each time), so they
 * are measured and merge into the same event as the skipped ones: what
 * every one of these frames cost before liveness could be skipped. The two
 * kinds alternate; the figures are medians of thread CPU time (the
 * pipeline, the gallery and the SQLite work of this thread) and of wall
 * clock (which adds the commit's fsync). Run by bench/camera.sh.
 *
 *   camera-marked MODELS_DIR FACES_DIR [RUNS=40]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/lib/testdb.h"
#include "recog/recog.h"

static int fail(const char *what, const rc_error *err)
{
    fprintf(stderr, "camera-marked: %s: %s\n", what, err ? err->msg : "failed");
    return 1;
}

/* One marking frame at camera cam; CPU and wall ms; whether liveness was
 * skipped; -1 when the frame did not merge into her event. */
static int one(recog *rg, const img_image *im, int64_t cam, int64_t ts, double *cpu, double *wall,
               rc_error *err)
{
    recog_frame_opts o = {.mark = true, .camera_id = cam, .ts_ms = ts};
    recog_result r;
    double c0 = rc_thread_cpu_ms(), w0 = rc_mono_ms();
    rc_status st = recog_frame(rg, im, &o, &r, err);
    if (st != RC_OK) {
        fprintf(stderr, "camera-marked: %s %s\n", rc_status_name(st), err->msg);
        return -1;
    }
    *cpu = rc_thread_cpu_ms() - c0;
    *wall = rc_mono_ms() - w0;
    int skipped =
        r.n == 1 && r.faces[0].known && r.faces[0].has_event ? r.faces[0].liveness_skipped : -1;
    if (skipped < 0)
        fprintf(stderr, "camera-marked: %d faces; the first known %d, live %d (%.3f), event %d\n",
                r.n, r.n && r.faces[0].known, r.n && r.faces[0].live,
                r.n ? r.faces[0].face.liveness : -1, r.n && r.faces[0].has_event);
    recog_result_free(&r);
    return skipped;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODELS_DIR FACES_DIR [RUNS=40]\n", argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 40;
    if (runs < 1 || runs > 100) runs = 40; /* 2 s a pair: all inside the 300 s window */
    rc_error err;
    testdb db = {0};
    att *a = NULL;
    recog *rg = NULL;
    img_image *photo = NULL, *im = NULL, *frame = NULL;
    unsigned char *jpg = NULL;
    size_t len = 0;
    double *v = calloc(4 * (size_t)runs, sizeof *v);
    int rc = 1;
    if (!v || !testdb_open(&db)) goto done;
    if (att_create(db.s, &a, &err) != RC_OK) {
        rc = fail("attendance rules", &err);
        goto done;
    }
    recog_config cfg = {.models_dir = argv[1], .workers = 1, .store = db.s, .att = a};
    if (recog_create(&cfg, &rg, &err) != RC_OK) {
        rc = fail("models", &err);
        goto done;
    }
    store_person p = {.active = 1};
    snprintf(p.external_id, sizeof p.external_id, "ANG");
    snprintf(p.first_name, sizeof p.first_name, "Angelina");
    snprintf(p.kind, sizeof p.kind, "employee");
    if (store_person_create(db.s, &p, &err) != RC_OK) {
        rc = fail("person", &err);
        goto done;
    }
    unsigned char *buf[3] = {0};
    size_t blen[3];
    recog_image imgs[3];
    for (int i = 0; i < 3; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/id/deepface_angelina/%d.jpg", argv[2], i + 2);
        if (rc_read_file(path, 64 << 20, &buf[i], &blen[i], &err) != RC_OK) {
            rc = fail(path, &err);
            goto done;
        }
        imgs[i] = (recog_image){buf[i], blen[i], path};
    }
    recog_enroll_result res[3];
    recog_enroll_summary sum;
    recog_enroll_req req = {.person_id = p.id, .images = imgs, .n = 3, .actor = "bench"};
    rc_status st = recog_enroll(rg, &req, res, &sum, &err);
    for (int i = 0; i < 3; i++) free(buf[i]);
    if (st != RC_OK || sum.accepted < 2) {
        rc = fail("enrollment", st != RC_OK ? &err : NULL);
        goto done;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/id/deepface_angelina/1.jpg", argv[2]);
    if (img_load(path, NULL, &photo, &err) != RC_OK) {
        rc = fail(path, &err);
        goto done;
    }
    /* 4:3 around the face (the portrait's upper part), not squeezed: a
     * squeezed face is not hers any more for the gallery. */
    float cw = (float)photo->w, ch = cw * 3 / 4;
    if (ch > (float)photo->h) ch = (float)photo->h;
    frame = img_crop_resize(photo, 0, 0, cw, ch, 640, 480, 0);
    if (!frame || img_encode_jpeg(frame, 90, &jpg, &len, &err) != RC_OK ||
        img_decode(jpg, len, NULL, &im, &err) != RC_OK) {
        rc = fail("the 640x480 frame", &err);
        goto done;
    }
    /* The marked camera, and one camera per reference frame. */
    int64_t *cams = calloc((size_t)runs + 1, sizeof *cams);
    for (int i = 0; cams && i <= runs; i++) {
        store_camera c = {.enabled = 0, .fps = 5};
        snprintf(c.name, sizeof c.name, "door %d", i);
        snprintf(c.direction, sizeof c.direction, "both");
        if (store_camera_create(db.s, &c, &err) != RC_OK) {
            free(cams);
            rc = fail("camera", &err);
            goto done;
        }
        cams[i] = c.id;
    }
    if (!cams) goto done;
    int64_t t0 = rc_unix_ms();
    double cpu, wall;
    /* Her first frame at the camera: measured, a new event. */
    int first = one(rg, im, cams[0], t0, &cpu, &wall, &err);
    if (first != 0) {
        free(cams);
        rc = fail("the first frame did not make her event", &err);
        goto done;
    }
    int wrong = 0;
    for (int i = 0; i < runs; i++) {
        int64_t ts = t0 + 2000 * (i + 1);
        wrong += one(rg, im, cams[0], ts, &v[i], &v[runs + i], &err) != 1;
        wrong += one(rg, im, cams[i + 1], ts + 1000, &v[2 * runs + i], &v[3 * runs + i], &err) != 0;
    }
    free(cams);
    if (wrong) {
        fprintf(stderr, "camera-marked: %d frames did not skip or measure as expected\n", wrong);
        goto done;
    }
    double sc = rc_median(v, runs), sw = rc_median(v + runs, runs);
    double mc = rc_median(v + 2 * runs, runs), mw = rc_median(v + 3 * runs, runs);
    printf("marking frames of a person already marked at the camera (one thread, 640x480 one face, "
           "%d frames each, alternating, median ms per frame, recog_frame without decode)\n",
           runs);
    printf("  liveness skipped (marked live at this camera within the window)  CPU %6.2f  wall "
           "%6.2f\n",
           sc, sw);
    printf("-- reference, same run: liveness measured (a camera that has not measured her; every "
           "such frame before)  CPU %6.2f  wall %6.2f\n",
           mc, mw);
    double load = 0;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la && fscanf(la, "%lf", &load) != 1) load = 0;
    if (la) fclose(la);
    printf("  saved: %.2f ms CPU per frame (%.0f%%); wall adds the commit's fsync; load average "
           "%.1f\n",
           mc - sc, mc > 0 ? 100 * (mc - sc) / mc : 0, load);
    rc = 0;
done:
    recog_destroy(rg);
    att_destroy(a);
    if (db.s) testdb_free(&db);
    img_free(im);
    img_free(frame);
    img_free(photo);
    free(jpg);
    free(v);
    return rc;
}
