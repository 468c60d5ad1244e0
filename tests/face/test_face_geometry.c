/* test_face_geometry.c — the model-free parts of the pipeline on synthetic
 * data: SSD priors and box decoding, NMS, the 68-to-5 reduction, the
 * similarity fit behind alignment, the alignment warp, and the quality
 * measures (Laplacian variance, pose), the liveness crop and its input,
 * and the pick of a photo's primary face. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/face.h"

static const int steps[4] = {8, 16, 32, 64};
static const int ms0[3] = {10, 16, 24}, ms1[2] = {32, 48}, ms2[2] = {64, 96},
                 ms3[3] = {128, 192, 256};
static const int *const min_sizes[4] = {ms0, ms1, ms2, ms3};
static const int nmin[4] = {3, 2, 2, 3};

static void ultraface_priors_for_320x240(void **state)
{
    (void)state;
    float *p = malloc(sizeof(float) * 4 * 5000);
    /* 40x30x3 + 20x15x2 + 10x8x2 + 5x4x3 = 3600 + 600 + 160 + 60 */
    assert_int_equal(face_priors(320, 240, steps, 4, min_sizes, nmin, p, 5000), 4420);
    assert_float_equal(p[0], 4.f / 320, 1e-6);
    assert_float_equal(p[1], 4.f / 240, 1e-6);
    assert_float_equal(p[2], 10.f / 320, 1e-6);
    assert_float_equal(p[3], 10.f / 240, 1e-6);
    /* The last prior: the 256 px anchor of the last cell of the 5x4 map. */
    float *l = p + 4 * 4419;
    assert_float_equal(l[0], 4.5f * 64 / 320, 1e-6);
    assert_float_equal(l[1], 3.5f * 64 / 240, 1e-6);
    assert_float_equal(l[2], 256.f / 320, 1e-6);
    /* Other input sizes work and the count follows the feature maps. */
    assert_int_equal(face_priors(640, 480, steps, 4, min_sizes, nmin, p, 5000), 5000);
    assert_int_equal(face_priors(160, 120, steps, 4, min_sizes, nmin, p, 5000),
                     20 * 15 * 3 + 10 * 8 * 2 + 5 * 4 * 2 + 3 * 2 * 3);
    free(p);
}

static void decode_inverts_the_encoding(void **state)
{
    (void)state;
    float prior[4] = {0.5f, 0.4f, 0.2f, 0.1f}, zero[4] = {0, 0, 0, 0}, b[4];
    face_decode_boxes(zero, prior, 1, 0.1f, 0.2f, b);
    assert_float_equal(b[0], 0.4, 1e-6);
    assert_float_equal(b[1], 0.35, 1e-6);
    assert_float_equal(b[2], 0.6, 1e-6);
    assert_float_equal(b[3], 0.45, 1e-6);
    /* A box of centre (0.52, 0.41) and size (0.3, 0.05), encoded SSD-style. */
    float loc[4] = {(0.52f - 0.5f) / (0.1f * 0.2f), (0.41f - 0.4f) / (0.1f * 0.1f),
                    logf(0.3f / 0.2f) / 0.2f, logf(0.05f / 0.1f) / 0.2f};
    face_decode_boxes(loc, prior, 1, 0.1f, 0.2f, b);
    assert_float_equal((b[0] + b[2]) / 2, 0.52, 1e-5);
    assert_float_equal((b[1] + b[3]) / 2, 0.41, 1e-5);
    assert_float_equal(b[2] - b[0], 0.3, 1e-5);
    assert_float_equal(b[3] - b[1], 0.05, 1e-5);
}

static void nms_keeps_the_best_of_each_cluster(void **state)
{
    (void)state;
    face_box b[] = {
        {10, 10, 50, 50, 0.8f},     {12, 11, 52, 49, 0.95f}, /* the same face twice */
        {100, 10, 140, 50, 0.7f},                            /* another face */
        {20, 20, 34, 30, 0.9f},                              /* an eye region inside face 1 */
        {200, 200, 210, 210, 0.6f},
    };
    int n = face_nms(b, 5, 0.4f);
    assert_int_equal(n, 3);
    assert_float_equal(b[0].score, 0.95, 1e-6);
    assert_float_equal(b[1].score, 0.7, 1e-6);
    assert_float_equal(b[2].score, 0.6, 1e-6);
    face_box a = {0, 0, 10, 10, 0}, c = {5, 0, 15, 10, 0}, d = {20, 20, 30, 30, 0};
    assert_float_equal(face_iou(&a, &c), 50.0 / 150.0, 1e-6);
    assert_float_equal(face_iou(&a, &d), 0, 1e-6);
    assert_int_equal(face_nms(b, 0, 0.4f), 0);
}

static void similarity_fit_recovers_a_known_transform(void **state)
{
    (void)state;
    /* dst = s R src + t with s = 0.5, 20 degrees, t = (7, -3). */
    float src[5][2], dst[5][2], m[6];
    float s = 0.5f, th = 20.f * 3.14159265f / 180.f;
    for (int i = 0; i < 5; i++) {
        src[i][0] = face_arcface_template[i][0] * 3 + 40;
        src[i][1] = face_arcface_template[i][1] * 3 + 10;
        dst[i][0] = s * (cosf(th) * src[i][0] - sinf(th) * src[i][1]) + 7;
        dst[i][1] = s * (sinf(th) * src[i][0] + cosf(th) * src[i][1]) - 3;
    }
    float res = face_fit_similarity((const float(*)[2])src, (const float(*)[2])dst, 5, m);
    assert_true(res >= 0 && res < 1e-3f);
    assert_float_equal(m[0], s * cosf(th), 1e-5);
    assert_float_equal(m[3], s * sinf(th), 1e-5);
    assert_float_equal(m[2], 7, 1e-3);
    assert_float_equal(m[5], -3, 1e-3);
    /* With noise on one point the fit is a compromise, not exact (least squares, not 3 points). */
    src[4][0] += 6;
    res = face_fit_similarity((const float(*)[2])src, (const float(*)[2])dst, 5, m);
    assert_true(res > 0.1f);
    /* Degenerate: all points equal. */
    float same[5][2] = {{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
    assert_true(face_fit_similarity((const float(*)[2])same, (const float(*)[2])dst, 5, m) < 0);
}

static void alignment_puts_landmarks_on_the_template(void **state)
{
    (void)state;
    /* A synthetic image with a bright dot at each of 5 landmarks of a face that is
     * twice the template's size, rotated 15 degrees and shifted. */
    img_image *im = img_new(400, 400, 3);
    memset(im->px, 0, 400 * 400 * 3);
    float lm[5][2];
    float th = 15.f * 3.14159265f / 180.f;
    for (int i = 0; i < 5; i++) {
        float x = face_arcface_template[i][0] * 2, y = face_arcface_template[i][1] * 2;
        lm[i][0] = cosf(th) * x - sinf(th) * y + 150;
        lm[i][1] = sinf(th) * x + cosf(th) * y + 60;
        img_draw_dot(im, (int)lrintf(lm[i][0]), (int)lrintf(lm[i][1]), 3, 255, 255, 255);
    }
    img_image *al = face_align(im, (const float(*)[2])lm);
    assert_non_null(al);
    assert_int_equal(al->w, 112);
    for (int i = 0; i < 5; i++) {
        int x = (int)lrintf(face_arcface_template[i][0]),
            y = (int)lrintf(face_arcface_template[i][1]);
        assert_true(al->px[3 * (y * 112 + x)] > 200);
    }
    /* Far from any landmark stays dark. */
    assert_int_equal(al->px[3 * (5 * 112 + 5)], 0);
    img_free(al);
    img_free(im);
}

static void lm68_reduces_to_eye_centres_nose_and_mouth(void **state)
{
    (void)state;
    float lm68[68][2], lm5[5][2];
    for (int i = 0; i < 68; i++) lm68[i][0] = lm68[i][1] = (float)i;
    face_lm68_to_5((const float(*)[2])lm68, lm5);
    assert_float_equal(lm5[0][0], (37 + 38 + 40 + 41) / 4.0, 1e-6);
    assert_float_equal(lm5[1][0], (43 + 44 + 46 + 47) / 4.0, 1e-6);
    assert_float_equal(lm5[2][0], 30, 1e-6);
    assert_float_equal(lm5[3][1], (48 + 60) / 2.0, 1e-6);
    assert_float_equal(lm5[4][1], (54 + 64) / 2.0, 1e-6);
}

/* The sharpness measure straight from its definition: the variance of the
 * 4-neighbour Laplacian over the inner pixels, summed one by one in double. */
static float plain_laplacian_var(const img_image *g)
{
    double s = 0, s2 = 0;
    int n = 0;
    for (int y = 1; y < g->h - 1; y++)
        for (int x = 1; x < g->w - 1; x++) {
            const uint8_t *p = g->px + (size_t)y * g->w + x;
            double l = p[-1] + p[1] + p[-g->w] + p[g->w] - 4.0 * p[0];
            s += l;
            s2 += l * l;
            n++;
        }
    double mean = s / n;
    return (float)(s2 / n - mean * mean);
}

/* face_laplacian_var sums in integers: the same float as the definition,
 * bit for bit, on noise (the largest Laplacians: 0/255 checkerboards too),
 * on sizes from 3x3 to rows wider than its 2000-column blocks. */
static void laplacian_var_matches_its_definition(void **state)
{
    (void)state;
    static const int sizes[][2] = {{3, 3}, {112, 112}, {7, 300}, {2003, 5}, {4500, 4}};
    unsigned seed = 5;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        img_image *g = img_new(w, h, 1);
        for (int kind = 0; kind < 2; kind++) {
            for (int i = 0; i < w * h; i++) {
                seed = seed * 1103515245u + 12345u;
                g->px[i] =
                    kind ? (uint8_t)(((i % w) + (i / w)) % 2 ? 255 : 0) : (uint8_t)(seed >> 16);
            }
            float a = face_laplacian_var(g), b = plain_laplacian_var(g);
            if (memcmp(&a, &b, sizeof a) != 0)
                fail_msg("%dx%d (%s): %.9g, definition %.9g", w, h, kind ? "checkerboard" : "noise",
                         a, b);
        }
        img_free(g);
    }
}

static void sharpness_and_pose(void **state)
{
    (void)state;
    img_image *g = img_new(50, 50, 1);
    memset(g->px, 90, 2500);
    assert_float_equal(face_laplacian_var(g), 0, 1e-6);
    for (int i = 0; i < 2500; i++) g->px[i] = (uint8_t)(((i % 50) + (i / 50)) % 2 ? 200 : 40);
    float sharp = face_laplacian_var(g);
    img_image *soft = img_resize(g, 25, 25, IMG_RESIZE_AREA);
    img_image *blur = img_resize(soft, 50, 50, IMG_RESIZE_BILINEAR);
    assert_true(sharp > 10 * face_laplacian_var(blur));
    img_free(g);
    img_free(soft);
    img_free(blur);

    float yaw, pitch, roll;
    face_pose_from_lm5(face_arcface_template, &yaw, &pitch, &roll);
    assert_true(fabsf(yaw) < 3 && fabsf(pitch) < 3 && fabsf(roll) < 1);
    /* Rotate the template by 30 degrees: roll 30, yaw and pitch unchanged. */
    float r[5][2], th = 30.f * 3.14159265f / 180.f;
    for (int i = 0; i < 5; i++) {
        r[i][0] = cosf(th) * face_arcface_template[i][0] - sinf(th) * face_arcface_template[i][1];
        r[i][1] = sinf(th) * face_arcface_template[i][0] + cosf(th) * face_arcface_template[i][1];
    }
    face_pose_from_lm5((const float(*)[2])r, &yaw, &pitch, &roll);
    assert_float_equal(roll, 30, 0.5);
    assert_true(fabsf(yaw) < 3);
    /* Nose moved to the right eye: strongly turned. */
    float t[5][2];
    memcpy(t, face_arcface_template, sizeof t);
    t[2][0] = t[1][0];
    face_pose_from_lm5((const float(*)[2])t, &yaw, &pitch, &roll);
    assert_true(yaw > 40);
    t[2][0] = face_arcface_template[2][0];
    t[2][1] = t[3][1]; /* nose down at the mouth: looking down */
    face_pose_from_lm5((const float(*)[2])t, &yaw, &pitch, &roll);
    assert_true(pitch > 30);
}

/* face_liveness_rect against the package's JavaScript worked by hand. */
static void liveness_rect_follows_the_package(void **state)
{
    (void)state;
    float r[4];
    struct {
        int W, H;
        float box[4], want[4];
    } cases[] = {
        /* In the middle: a 100 px square (from the box height) times 2.7. */
        {640, 480, {270, 190, 340, 290}, {170, 105, 270, 270}},
        /* Near the top-left corner: the square is clipped to x >= 0 (110 x
         * 120 px), grown to 297 x 324 and shifted right and down. */
        {640, 480, {10, 20, 90, 140}, {0, 0, 297, 324}},
        /* A face taller than 480 / 2.7: the factor drops to 479 / 300 and
         * the crop is shifted up to stay inside. */
        {640, 480, {200, 100, 440, 400}, {80, 0, 479, 479}},
        /* A box running past the bottom-right corner (84 x 89 px once
         * clipped to 319 x 239): factor 239 / 89, shifted left and up. */
        {320, 240, {250, 150, 330, 260}, {93, 0, 225, 239}},
        /* A tight crop's padded-retry box, larger than the frame: the whole
         * frame but its last row and column, as the package. */
        {150, 150, {-10, -5, 160, 170}, {0, 0, 149, 149}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(face_liveness_rect(cases[i].W, cases[i].H, cases[i].box, r), 0);
        for (int k = 0; k < 4; k++) assert_float_equal(r[k], cases[i].want[k], 1e-4);
        assert_true(r[0] + r[2] <= cases[i].W - 1 && r[1] + r[3] <= cases[i].H - 1);
    }
    /* No area inside the frame, or no box at all: nothing to measure. */
    const float outside[4] = {700, 10, 760, 90}, flat[4] = {10, 10, 60, 10};
    assert_int_equal(face_liveness_rect(640, 480, outside, r), -1);
    assert_int_equal(face_liveness_rect(640, 480, flat, r), -1);
    assert_int_equal(face_liveness_rect(1, 1, cases[0].box, r), -1);
}

/* The model input: the rectangle resized as cv::resize does (edges clamped,
 * half-pixel centres), planes in B, G, R order. */
static void liveness_input_is_bgr_bilinear(void **state)
{
    (void)state;
    img_image *im = img_new(320, 240, 3);
    for (int y = 0; y < 240; y++)
        for (int x = 0; x < 320; x++) {
            uint8_t *p = im->px + ((size_t)y * 320 + x) * 3;
            p[0] = (uint8_t)x, p[1] = (uint8_t)y, p[2] = 7; /* R = x, G = y */
        }
    /* A 40 px box in the middle: rectangle (106, 66, 108, 108). */
    const float box[4] = {140, 100, 180, 140};
    float rect[4], *t = malloc(sizeof(float) * 3 * 128 * 128);
    assert_int_equal(face_liveness_rect(320, 240, box, rect), 0);
    assert_float_equal(rect[0], 106, 0);
    assert_float_equal(rect[2], 108, 0);
    assert_int_equal(face_liveness_input(im, box, t), 0);
    const float *B = t, *G = t + 128 * 128, *R = t + 2 * 128 * 128;
    assert_float_equal(B[0], 7, 0);
    assert_float_equal(B[128 * 128 - 1], 7, 0);
    assert_float_equal(R[0], 106, 0); /* clamped to the rectangle's first column */
    assert_float_equal(G[0], 66, 0);
    assert_float_equal(R[127], 213, 0); /* and its last */
    assert_float_equal(G[127 * 128], 173, 0);
    assert_float_equal(R[64], 160, 0); /* 106 + 64.5 * 108 / 128 - 0.5, rounded */
    img_image *gray = img_new(320, 240, 1);
    assert_int_equal(face_liveness_input(gray, box, t), -1);
    img_free(gray);
    img_free(im);
    free(t);
}

static face_info box_at(float cx, float cy, float h)
{
    face_info f = {.x0 = cx - h * 0.4f, .x1 = cx + h * 0.4f, .y0 = cy - h / 2, .y1 = cy + h / 2};
    return f;
}

/* The face a photo is about: the largest near the centre, with a warning
 * when two are comparable. */
static void primary_face_is_the_framed_one(void **state)
{
    (void)state;
    face_info f[3] = {0};
    /* None, and one anywhere. */
    face_pick p = face_pick_primary(f, 0, 640, 480);
    assert_int_equal(p.index, -1);
    assert_int_equal(p.ambiguous, 0);
    f[0] = box_at(40, 40, 60);
    p = face_pick_primary(f, 1, 640, 480);
    assert_int_equal(p.index, 0);
    assert_int_equal(p.runner_up, -1);
    assert_int_equal(p.ambiguous, 0);
    /* A bigger face in a corner loses to a central one (the detector lists
     * the bigger one first); clearly smaller: not ambiguous. */
    f[0] = box_at(70, 70, 140);
    f[1] = box_at(320, 240, 120);
    p = face_pick_primary(f, 2, 640, 480);
    assert_int_equal(p.index, 1);
    assert_int_equal(p.runner_up, 0);
    assert_true(p.ratio < FACE_PICK_AMBIGUOUS);
    assert_int_equal(p.ambiguous, 0);
    assert_string_equal(p.reason, "");
    /* ...but a face 2.5 times taller in the corner still wins. */
    f[0] = box_at(10, 10, 400);
    assert_int_equal(face_pick_primary(f, 2, 640, 480).index, 0);
    /* Two equal faces side by side: ambiguous, with the reason. */
    f[0] = box_at(220, 240, 150);
    f[1] = box_at(420, 240, 150);
    f[2] = box_at(600, 40, 30);
    p = face_pick_primary(f, 3, 640, 480);
    assert_true(p.index == 0 || p.index == 1);
    assert_int_equal(p.runner_up, 1 - p.index);
    assert_true(p.ambiguous);
    assert_float_equal(p.ratio, 1, 1e-4);
    assert_non_null(strstr(p.reason, "two faces of comparable size"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ultraface_priors_for_320x240),
        cmocka_unit_test(decode_inverts_the_encoding),
        cmocka_unit_test(nms_keeps_the_best_of_each_cluster),
        cmocka_unit_test(similarity_fit_recovers_a_known_transform),
        cmocka_unit_test(alignment_puts_landmarks_on_the_template),
        cmocka_unit_test(lm68_reduces_to_eye_centres_nose_and_mouth),
        cmocka_unit_test(sharpness_and_pose),
        cmocka_unit_test(laplacian_var_matches_its_definition),
        cmocka_unit_test(liveness_rect_follows_the_package),
        cmocka_unit_test(liveness_input_is_bgr_bilinear),
        cmocka_unit_test(primary_face_is_the_framed_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
