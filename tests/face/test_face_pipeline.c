/* test_face_pipeline.c — the face pipeline with the real models on a small
 * photo (also under ASan/UBSan): a tight 150x150 crop that needs the padded
 * retry, two threads sharing the models with their own workers, and bad
 * input that must give errors, not crashes. The figures on the whole test
 * set are in test_face_data.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/face.h"
#include "nn/nn.h"

#include "face_fixture.h"

/* A photo under faces/, resized to w x h (w 0: as it is); NULL when it
 * cannot be read. */
static img_image *load_at(const char *rel, int w, int h)
{
    char file[2048];
    snprintf(file, sizeof file, "%s/%s", faces_dir, rel);
    img_image *im;
    if (img_load(file, NULL, &im, NULL) != RC_OK) return NULL;
    if (!w) return im;
    img_image *r = img_resize(im, w, h, IMG_RESIZE_AUTO);
    img_free(im);
    assert_non_null(r);
    return r;
}

/* Two workers on the default models: *ref on the reference path. */
static void worker_pair(face_worker **ref, face_worker **fused)
{
    assert_int_equal(face_worker_create(models, ref, NULL), RC_OK);
    assert_int_equal(face_worker_create(models, fused, NULL), RC_OK);
    face_worker_use_reference(*ref, 1);
}

static void a_tight_crop_gives_one_complete_face(void **state)
{
    (void)state;
    img_image *im = load_at("id/bbt_leonard/5.jpg", 0, 0);
    if (!im) skip();
    face_worker *w;
    assert_int_equal(face_worker_create(models, &w, NULL), RC_OK);
    face_opts o = face_opts_default();
    face_info *f;
    int n;
    /* Without the padded retry the detector sees no face in this crop. */
    o.pad_retry = 0;
    assert_int_equal(face_analyze(w, im, &o, &f, &n, NULL), RC_OK);
    assert_int_equal(n, 0);
    free(f);
    o.pad_retry = 1;
    assert_int_equal(face_analyze(w, im, &o, &f, &n, NULL), RC_OK);
    assert_int_equal(n, 1);
    /* Box inside the frame, eyes above the nose above the mouth, unit embedding. */
    assert_true(f[0].x0 >= 0 && f[0].y0 >= 0 && f[0].x1 <= im->w && f[0].y1 <= im->h);
    assert_true(f[0].has_landmarks && f[0].has_embedding);
    assert_true(f[0].lm5[0][0] < f[0].lm5[1][0]);
    assert_true(f[0].lm5[0][1] < f[0].lm5[2][1] && f[0].lm5[2][1] < f[0].lm5[3][1]);
    double n2 = 0;
    for (int i = 0; i < FACE_EMB_DIM; i++) n2 += f[0].embedding[i] * f[0].embedding[i];
    assert_float_equal(n2, 1.0, 1e-4);
    assert_true(f[0].liveness >= 0 && f[0].liveness <= 1);
    assert_true(f[0].age < 0 && f[0].male < 0); /* attributes are off by default */
    face_timings t = face_worker_timings(w);
    assert_true(t.detect > 0 && t.embed > 0);
    free(f);
    face_worker_free(w);
    img_free(im);
}

typedef struct {
    const img_image *im;
    face_info *faces;
    int n;
    rc_status st;
} thread_job;

static void *analyze_thread(void *arg)
{
    thread_job *j = arg;
    face_worker *w;
    j->st = face_worker_create(models, &w, NULL);
    if (j->st != RC_OK) return NULL;
    for (int r = 0; r < 2 && j->st == RC_OK; r++) {
        free(j->faces);
        j->faces = NULL;
        j->st = face_analyze(w, j->im, NULL, &j->faces, &j->n, NULL);
    }
    face_worker_free(w);
    return NULL;
}

static void threads_share_models_with_own_workers(void **state)
{
    (void)state;
    img_image *im = load_at("id/bbt_leonard/5.jpg", 0, 0);
    if (!im) skip();
    thread_job jobs[2] = {{im, NULL, 0, RC_OK}, {im, NULL, 0, RC_OK}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, analyze_thread, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_int_equal(jobs[0].st, RC_OK);
    assert_int_equal(jobs[1].st, RC_OK);
    assert_int_equal(jobs[0].n, 1);
    assert_int_equal(jobs[1].n, 1);
    for (int i = 0; i < 1; i++)
        assert_memory_equal(jobs[0].faces[i].embedding, jobs[1].faces[i].embedding,
                            sizeof jobs[0].faces[i].embedding);
    free(jobs[0].faces);
    free(jobs[1].faces);
    img_free(im);
}

static void bad_input_is_an_error_not_a_crash(void **state)
{
    (void)state;
    face_models *m;
    rc_error err;
    assert_int_not_equal(face_models_load("/nonexistent", 0, &m, &err), RC_OK);
    assert_null(m);
    assert_non_null(strstr(err.msg, "fr_detect.onnx"));
    face_worker *w;
    assert_int_equal(face_worker_create(models, &w, NULL), RC_OK);
    img_image *gray = img_new(64, 64, 1);
    memset(gray->px, 0, 64 * 64);
    face_info *f;
    int n;
    assert_int_equal(face_analyze(w, gray, NULL, &f, &n, &err), RC_ERR_INVALID);
    /* Tiny and flat images: no face, no error. */
    img_image *tiny = img_new(1, 1, 3);
    memset(tiny->px, 128, 3);
    assert_int_equal(face_analyze(w, tiny, NULL, &f, &n, &err), RC_OK);
    assert_int_equal(n, 0);
    free(f);
    img_image *odd = img_new(3000, 7, 3);
    memset(odd->px, 255, 3000 * 7 * 3);
    assert_int_equal(face_analyze(w, odd, NULL, &f, &n, &err), RC_OK);
    free(f);
    /* An aligned crop of the wrong size. */
    float e[FACE_EMB_DIM];
    assert_int_equal(face_embed_aligned(w, odd, e, &err), RC_ERR_INVALID);
    img_free(gray);
    img_free(tiny);
    img_free(odd);
    face_worker_free(w);
    assert_non_null(strstr(face_models_embedding_id(models), "fr_feature.onnx"));
}

/* The fused pre-processing (detector input in one pass, landmark gray crop
 * from the face's part of the frame only) against the worker's reference
 * path on real photos: a 640x480 frame (the detector's input is exactly half,
 * the fused pass), 320x240 (the same size: a plain conversion; a face under
 * 128 px, whose landmark crop is sampled bilinearly), the photo as it is
 * (another ratio), a tight crop (the padded retry) and group photos. Boxes and the detector input
 * are bit-identical by construction; landmarks may differ by the rounding of
 * a crop's position taken relative to the face's part of the frame, well
 * under 0.02 px (0.007 measured); embeddings then agree to a cosine of 0.9999. */
static void fused_path_matches_the_reference(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int w, h; /* 0: as it is */
    } cases[] = {
        {"id/deepface_angelina/1.jpg", 640, 480},
        {"id/deepface_angelina/1.jpg", 0, 0},
        {"id/bbt_leonard/5.jpg", 0, 0},
        {"group/deepface_couple.jpg", 640, 480},
        {"group/ageitgey_two_people.jpg", 640, 480},
        {"id/deepface_angelina/1.jpg", 320, 240},
    };
    face_worker *ref, *fused;
    worker_pair(&ref, &fused);
    int compared = 0;
    double worst_lm = 0, worst_cos = 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        img_image *im = load_at(cases[c].file, cases[c].w, cases[c].h);
        if (!im) continue;
        face_info *a, *b;
        int na, nb;
        assert_int_equal(face_analyze(ref, im, NULL, &a, &na, NULL), RC_OK);
        assert_int_equal(face_analyze(fused, im, NULL, &b, &nb, NULL), RC_OK);
        assert_int_equal(na, nb);
        assert_true(na > 0);
        for (int i = 0; i < na; i++) {
            assert_float_equal(a[i].x0, b[i].x0, 1e-4);
            assert_float_equal(a[i].y0, b[i].y0, 1e-4);
            assert_float_equal(a[i].x1, b[i].x1, 1e-4);
            assert_float_equal(a[i].y1, b[i].y1, 1e-4);
            assert_float_equal(a[i].score, b[i].score, 1e-6);
            assert_true(a[i].has_embedding && b[i].has_embedding);
            for (int k = 0; k < 68; k++)
                for (int d = 0; d < 2; d++) {
                    double e = fabs(a[i].lm68[k][d] - b[i].lm68[k][d]);
                    if (e > worst_lm) worst_lm = e;
                }
            double cs = face_similarity(a[i].embedding, b[i].embedding);
            if (cs < worst_cos) worst_cos = cs;
            assert_float_equal(a[i].liveness, b[i].liveness, 1e-4);
            assert_float_equal(a[i].sharpness, b[i].sharpness, 0.5);
            compared++;
        }
        free(a);
        free(b);
        img_free(im);
    }
    printf("# fused vs reference: %d faces, landmarks within %.4f px, embedding cosine >= %.6f\n",
           compared, worst_lm, worst_cos);
    if (compared == 0) skip();
    assert_true(worst_lm < 0.02);
    assert_true(worst_cos > 0.9999);
    face_worker_free(ref);
    face_worker_free(fused);
}

/* A group photo (24 faces, 1986x1545) whose faces' squares cover more than
 * a third of the frame: the default path converts the whole frame to gray
 * once, as the reference path does, so the landmarks are the reference
 * path's bit for bit (landmarks alone: the cheap part, also under qemu). */
static void a_group_photo_crops_landmarks_from_the_whole_frame(void **state)
{
    (void)state;
    img_image *im = load_at("group/dlib_bald_guys.jpg", 0, 0);
    if (!im) skip();
    face_worker *ref, *fused;
    worker_pair(&ref, &fused);
    face_opts o = face_opts_default();
    o.embedding = o.liveness = 0;
    face_info *a, *b;
    int na, nb;
    assert_int_equal(face_analyze(ref, im, &o, &a, &na, NULL), RC_OK);
    assert_int_equal(face_analyze(fused, im, &o, &b, &nb, NULL), RC_OK);
    assert_int_equal(na, nb);
    assert_true(na >= 20);
    for (int i = 0; i < na; i++) {
        assert_true(a[i].has_landmarks && b[i].has_landmarks);
        for (int k = 0; k < 68; k++)
            for (int d = 0; d < 2; d++)
                if (a[i].lm68[k][d] != b[i].lm68[k][d])
                    fail_msg("face %d: landmark %d differs by %g px", i, k,
                             fabs(a[i].lm68[k][d] - b[i].lm68[k][d]));
    }
    free(a);
    free(b);
    img_free(im);
    face_worker_free(ref);
    face_worker_free(fused);
}

/* A frame whose faces the detector already found (a camera's detector-only
 * pass) goes through the later stages from those faces without a second
 * detection, and gives exactly what the whole pipeline gives: the same
 * faces in the same order, boxes, landmarks, embeddings, liveness and
 * quality, on one-face and group photos; no face given is no face; a bad
 * count is an error. */
static void found_faces_give_what_the_whole_pipeline_gives(void **state)
{
    (void)state;
    /* Two photos as a 640x480 camera frame, two as they are. */
    static const char *const files[] = {"id/deepface_angelina/1.jpg", "group/deepface_couple.jpg",
                                        "group/ageitgey_two_people.jpg",
                                        "group/dlib_bald_guys.jpg"};
    face_worker *w;
    assert_int_equal(face_worker_create(models, &w, NULL), RC_OK);
    face_opts detect_only = face_opts_default();
    detect_only.landmarks = detect_only.embedding = detect_only.liveness = 0;
    detect_only.pad_retry = 0;
    int compared = 0;
    for (size_t c = 0; c < sizeof files / sizeof files[0]; c++) {
        img_image *im = load_at(files[c], c < 2 ? 640 : 0, 480);
        if (!im) continue;
        face_info *whole, *found, *later;
        int nw, nf, nl;
        assert_int_equal(face_analyze(w, im, NULL, &whole, &nw, NULL), RC_OK);
        assert_int_equal(face_analyze(w, im, &detect_only, &found, &nf, NULL), RC_OK);
        assert_int_equal(face_analyze_found(w, im, NULL, found, nf, &later, &nl, NULL), RC_OK);
        assert_true(nw > 0);
        assert_int_equal(nf, nw);
        assert_int_equal(nl, nw);
        assert_true(face_worker_timings(w).detect == 0); /* no detector ran */
        for (int i = 0; i < nw; i++) {
            const face_info *a = &whole[i], *b = &later[i];
            assert_memory_equal(&a->x0, &b->x0, 4 * sizeof a->x0);
            assert_memory_equal(a->det_box, b->det_box, sizeof a->det_box);
            assert_true(a->score == b->score);
            assert_memory_equal(a->lm68, b->lm68, sizeof a->lm68);
            assert_true(a->has_embedding && b->has_embedding);
            assert_memory_equal(a->embedding, b->embedding, sizeof a->embedding);
            assert_true(a->liveness == b->liveness && a->liveness >= 0);
            assert_true(a->quality_ok == b->quality_ok && a->sharpness == b->sharpness);
            assert_string_equal(a->quality_reasons, b->quality_reasons);
            compared++;
        }
        free(whole);
        free(later);
        assert_int_equal(face_analyze_found(w, im, NULL, found, 0, &later, &nl, NULL), RC_OK);
        assert_int_equal(nl, 0);
        assert_null(later);
        rc_error err;
        assert_int_equal(face_analyze_found(w, im, NULL, found, -1, &later, &nl, &err),
                         RC_ERR_INVALID);
        free(found);
        img_free(im);
    }
    printf("# found faces through the later stages: %d faces, identical to the whole pipeline\n",
           compared);
    if (compared == 0) skip();
    assert_true(compared >= 5);
    face_worker_free(w);
}

/* Detection on a region of the frame (a camera's face track) with the
 * detector cut before its box decoding and our own priors: on a frame of
 * the detector's own input size, the whole frame as the region gives the
 * whole-frame detector's boxes (so the priors are the model's); on a
 * 640x480 frame, a region around a face finds that face where the
 * whole frame does, a region beside it finds nothing, and one that cuts it
 * in half does not report half a face. */
static void a_region_finds_the_faces_of_the_whole_frame(void **state)
{
    (void)state;
    face_worker *w;
    assert_int_equal(face_worker_create(models, &w, NULL), RC_OK);
    assert_true(face_worker_regions(w));
    face_opts d = face_opts_default();
    d.landmarks = d.embedding = d.liveness = 0;
    d.pad_retry = 0;
    static const char *const files[] = {"group/deepface_couple.jpg", "id/deepface_angelina/1.jpg",
                                        "group/ageitgey_two_people.jpg"};
    int compared = 0;
    for (size_t c = 0; c < sizeof files / sizeof files[0]; c++) {
        img_image *im = load_at(files[c], 320, 240);
        if (!im) continue;
        face_info *a, *b;
        int na, nb;
        float all[4] = {0, 0, 320, 240};
        assert_int_equal(face_analyze(w, im, &d, &a, &na, NULL), RC_OK);
        assert_int_equal(face_detect_region(w, im, all, &d, &b, &nb, NULL), RC_OK);
        assert_true(face_worker_timings(w).detect > 0);
        assert_int_equal(na, nb);
        for (int i = 0; i < na; i++) {
            for (int k = 0; k < 4; k++) assert_float_equal(a[i].det_box[k], b[i].det_box[k], 1e-3);
            assert_float_equal(a[i].score, b[i].score, 1e-6);
            compared++;
        }
        free(a);
        free(b);
        img_free(im);
    }
    if (compared == 0) skip();
    img_image *im = load_at("group/deepface_couple.jpg", 640, 480);
    face_info *a, *b;
    int na, nb;
    assert_int_equal(face_analyze(w, im, &d, &a, &na, NULL), RC_OK);
    assert_true(na >= 2);
    for (int i = 0; i < na; i++) {
        float fw = a[i].x1 - a[i].x0, fh = a[i].y1 - a[i].y0;
        float around[4] = {a[i].x0 - fw * 0.75f, a[i].y0 - fh * 0.75f, fw * 2.5f, fh * 2.5f};
        assert_int_equal(face_detect_region(w, im, around, &d, &b, &nb, NULL), RC_OK);
        int found = 0;
        for (int j = 0; j < nb; j++) {
            face_box x = {a[i].x0, a[i].y0, a[i].x1, a[i].y1, 0};
            face_box y = {b[j].x0, b[j].y0, b[j].x1, b[j].y1, 0};
            found += face_iou(&x, &y) > 0.7f;
        }
        printf("# region around face %d (%.0f px): %d faces, %d on it\n", i, fh, nb, found);
        assert_int_equal(found, 1);
        free(b);
        /* The top half of the face only. */
        float half[4] = {a[i].x0 - fw, a[i].y0 - fh, fw * 3, fh * 1.5f};
        assert_int_equal(face_detect_region(w, im, half, &d, &b, &nb, NULL), RC_OK);
        for (int j = 0; j < nb; j++) {
            face_box x = {a[i].x0, a[i].y0, a[i].x1, a[i].y1, 0};
            face_box y = {b[j].x0, b[j].y0, b[j].x1, b[j].y1, 0};
            assert_true(face_iou(&x, &y) < 0.3f);
        }
        free(b);
    }
    /* A region of the frame's empty top-left corner; one wholly outside. */
    float corner[4] = {0, 0, 60, 60}, outside[4] = {700, 10, 50, 50};
    assert_int_equal(face_detect_region(w, im, corner, &d, &b, &nb, NULL), RC_OK);
    assert_int_equal(nb, 0);
    free(b);
    assert_int_equal(face_detect_region(w, im, outside, &d, &b, &nb, NULL), RC_OK);
    assert_int_equal(nb, 0);
    assert_null(b);
    free(a);
    img_free(im);
    face_worker_free(w);
}

/* The whole frame's boxes and scores are the detector graph's own, to the
 * bit: face_analyze stops the graph before its box decoding and decodes
 * only the boxes above the threshold itself (README "Pipeline, one
 * thread"); here the whole graph runs on the same input (img_to_planar, as
 * the pipeline makes it) and its decoded boxes, thresholded and suppressed
 * as the pipeline does, must be those face_analyze returns. */
static void whole_frame_boxes_are_the_graphs_own(void **state)
{
    (void)state;
    char path[2048];
    snprintf(path, sizeof path, "%s/fr_detect.onnx",
             getenv("ROLLCALL_MODELS") ? getenv("ROLLCALL_MODELS") : "models");
    nn_model *m;
    nn_session *s;
    assert_int_equal(nn_model_load(path, &m, NULL), RC_OK);
    assert_int_equal(nn_session_create(m, &s, NULL), RC_OK);
    int si = nn_model_output_index(m, "scores"), bi = nn_model_output_index(m, "boxes");
    assert_true(si >= 0 && bi >= 0);
    static const struct {
        const char *file;
        int w, h; /* 0: as it is */
    } cases[] = {
        {"id/deepface_angelina/1.jpg", 640, 480}, {"id/deepface_angelina/1.jpg", 0, 0},
        {"group/deepface_couple.jpg", 640, 480},  {"group/dlib_bald_guys.jpg", 0, 0},
        {"group/ageitgey_two_people.jpg", 0, 0},  {"id/deepface_person09/3.jpg", 0, 0},
    };
    face_worker *w;
    assert_int_equal(face_worker_create(models, &w, NULL), RC_OK);
    face_opts o = face_opts_default();
    o.landmarks = o.embedding = o.liveness = 0;
    o.pad_retry = 0;
    static float in[3 * 240 * 320];
    int compared = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        img_image *im = load_at(cases[c].file, cases[c].w, cases[c].h);
        if (!im) continue;
        face_info *f;
        int n;
        assert_int_equal(face_analyze(w, im, &o, &f, &n, NULL), RC_OK);
        assert_int_equal(img_to_planar(im, 320, 240, 127.f, 1.f / 128.f, in), 0);
        nn_shape sh = {4, {1, 3, 240, 320}}, ss, bs;
        const float *ins[1] = {in};
        assert_int_equal(nn_session_run(s, ins, &sh, NULL), RC_OK);
        const float *sc = nn_session_output(s, si, &ss), *bx = nn_session_output(s, bi, &bs);
        face_box kept[256];
        int nk = 0;
        for (int i = 0; i < (int)bs.d[1] && nk < 256; i++) {
            float sv = sc[i * ss.d[2] + 1];
            if (sv < o.score_threshold) continue;
            const float *b = bx + 4 * i;
            face_box fb = {b[0] * (float)im->w, b[1] * (float)im->h, b[2] * (float)im->w,
                           b[3] * (float)im->h, sv};
            if (fb.x1 - fb.x0 >= 2 && fb.y1 - fb.y0 >= 2) kept[nk++] = fb;
        }
        nk = face_nms(kept, nk, o.nms_iou);
        printf("# %s at %dx%d: %d faces, the graph %d\n", cases[c].file, im->w, im->h, n, nk);
        assert_int_equal(n, nk);
        for (int i = 0; i < n; i++) {
            int same = 0;
            for (int j = 0; j < nk && !same; j++) {
                float g[5] = {kept[j].x0, kept[j].y0, kept[j].x1, kept[j].y1, kept[j].score};
                float a[5] = {f[i].det_box[0], f[i].det_box[1], f[i].det_box[2], f[i].det_box[3],
                              f[i].score};
                same = memcmp(g, a, sizeof g) == 0;
            }
            if (!same)
                printf("# not the graph's: %.6f %.6f %.6f %.6f %.6f\n", f[i].det_box[0],
                       f[i].det_box[1], f[i].det_box[2], f[i].det_box[3], f[i].score);
            assert_true(same);
            compared++;
        }
        free(f);
        img_free(im);
    }
    if (compared == 0) skip();
    face_worker_free(w);
    nn_session_free(s);
    nn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_tight_crop_gives_one_complete_face),
        cmocka_unit_test(threads_share_models_with_own_workers),
        cmocka_unit_test(bad_input_is_an_error_not_a_crash),
        cmocka_unit_test(fused_path_matches_the_reference),
        cmocka_unit_test(a_group_photo_crops_landmarks_from_the_whole_frame),
        cmocka_unit_test(found_faces_give_what_the_whole_pipeline_gives),
        cmocka_unit_test(a_region_finds_the_faces_of_the_whole_frame),
        cmocka_unit_test(whole_frame_boxes_are_the_graphs_own),
    };
    /* The paths compared here (fused and reference pre-processing, found
     * faces, regions) in float: int8 turns differences of 0.007 px in the
     * aligned face into embedding cosines of 0.997 by flipping rounding
     * steps, which says nothing about the pre-processing; int8 against
     * float is face-int8's to judge. The same for bf16 (landmarks and
     * liveness on AVX-512 BF16 CPUs; README "bf16 inference"). */
    setenv("ROLLCALL_NN_INT8", "0", 1);
    setenv("ROLLCALL_NN_BF16", "0", 1);
    return cmocka_run_group_tests(tests, setup, teardown);
}
