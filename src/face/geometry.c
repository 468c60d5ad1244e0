/*
 * geometry.c — the model-free parts of the face pipeline: SSD prior boxes
 * and their decoding, non-maximum suppression, the 68-to-5 landmark
 * reduction, the least-squares similarity fit used for alignment, and the
 * quality measures (Laplacian variance, head pose from 5 points), and the
 * choice of the face a photo is about. All pure functions, tested on
 * synthetic data.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face.h"
#include "../nn/nn.h"

/* The 5-point template insightface uses for 112x112 ArcFace crops. */
const float face_arcface_template[5][2] = {
    {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f},
    {41.5493f, 92.3655f}, {70.7299f, 92.2041f},
};

int face_priors(int in_w, int in_h, const int *steps, int nsteps, const int *const *min_sizes,
                const int *nmin, float *priors, int max)
{
    int n = 0;
    for (int k = 0; k < nsteps; k++) {
        int fw = (in_w + steps[k] - 1) / steps[k], fh = (in_h + steps[k] - 1) / steps[k];
        for (int i = 0; i < fh; i++)
            for (int j = 0; j < fw; j++)
                for (int s = 0; s < nmin[k]; s++) {
                    if (n >= max) return n;
                    float *p = priors + 4 * n++;
                    p[0] = (j + 0.5f) * steps[k] / in_w;
                    p[1] = (i + 0.5f) * steps[k] / in_h;
                    p[2] = (float)min_sizes[k][s] / in_w;
                    p[3] = (float)min_sizes[k][s] / in_h;
                }
    }
    return n;
}

void face_decode_boxes(const float *loc, const float *priors, int n, float var0, float var1,
                       float *boxes)
{
    for (int i = 0; i < n; i++) {
        const float *l = loc + 4 * i, *p = priors + 4 * i;
        float cx = p[0] + l[0] * var0 * p[2], cy = p[1] + l[1] * var0 * p[3];
        /* the engine's exp, so that a box is the model's own to the bit */
        float e[2] = {l[2] * var1, l[3] * var1};
        nn_exp(e, e, 2);
        float w = p[2] * e[0], h = p[3] * e[1];
        float *b = boxes + 4 * i;
        b[0] = cx - w / 2;
        b[1] = cy - h / 2;
        b[2] = cx + w / 2;
        b[3] = cy + h / 2;
    }
}

float face_iou(const face_box *a, const face_box *b)
{
    float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (ix <= 0 || iy <= 0) return 0;
    float inter = ix * iy;
    float ua = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return ua > 0 ? inter / ua : 0;
}

/* Intersection over the smaller box: a part of a face (an eye region, a
 * half face) scored as a face of its own lies almost inside the whole face. */
static float face_containment(const face_box *a, const face_box *b)
{
    float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (ix <= 0 || iy <= 0) return 0;
    float sa = (a->x1 - a->x0) * (a->y1 - a->y0), sb = (b->x1 - b->x0) * (b->y1 - b->y0);
    float m = sa < sb ? sa : sb;
    return m > 0 ? ix * iy / m : 0;
}

static int by_score_desc(const void *pa, const void *pb)
{
    const face_box *a = pa, *b = pb;
    return (a->score < b->score) - (a->score > b->score);
}

int face_nms(face_box *boxes, int n, float iou_threshold)
{
    if (n <= 1) return n < 0 ? 0 : n;
    qsort(boxes, (size_t)n, sizeof *boxes, by_score_desc);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        int keep = 1;
        for (int k = 0; k < kept && keep; k++)
            if (face_iou(&boxes[i], &boxes[k]) > iou_threshold ||
                face_containment(&boxes[i], &boxes[k]) > 0.6f)
                keep = 0;
        if (keep) boxes[kept++] = boxes[i];
    }
    return kept;
}

void face_lm68_to_5(const float lm68[68][2], float lm5[5][2])
{
    static const int leye[4] = {37, 38, 40, 41}, reye[4] = {43, 44, 46, 47};
    for (int c = 0; c < 2; c++) {
        float l = 0, r = 0;
        for (int k = 0; k < 4; k++) {
            l += lm68[leye[k]][c];
            r += lm68[reye[k]][c];
        }
        lm5[0][c] = l / 4;
        lm5[1][c] = r / 4;
        lm5[2][c] = lm68[30][c];
        lm5[3][c] = (lm68[48][c] + lm68[60][c]) / 2;
        lm5[4][c] = (lm68[54][c] + lm68[64][c]) / 2;
    }
}

float face_fit_similarity(const float (*src)[2], const float (*dst)[2], int n, float m[6])
{
    if (n < 2) return -1;
    double ms[2] = {0, 0}, md[2] = {0, 0};
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) {
            ms[c] += src[i][c];
            md[c] += dst[i][c];
        }
    for (int c = 0; c < 2; c++) {
        ms[c] /= n;
        md[c] /= n;
    }
    /* Minimise sum |[a -b; b a] s_i - d_i|^2 over centred points: closed form. */
    double ss = 0, sa = 0, sb = 0;
    for (int i = 0; i < n; i++) {
        double sx = src[i][0] - ms[0], sy = src[i][1] - ms[1];
        double dx = dst[i][0] - md[0], dy = dst[i][1] - md[1];
        ss += sx * sx + sy * sy;
        sa += sx * dx + sy * dy;
        sb += sx * dy - sy * dx;
    }
    if (ss < 1e-9) return -1;
    double a = sa / ss, b = sb / ss;
    m[0] = (float)a;
    m[1] = (float)-b;
    m[3] = (float)b;
    m[4] = (float)a;
    m[2] = (float)(md[0] - (a * ms[0] - b * ms[1]));
    m[5] = (float)(md[1] - (b * ms[0] + a * ms[1]));
    double res = 0;
    for (int i = 0; i < n; i++) {
        double x = m[0] * src[i][0] + m[1] * src[i][1] + m[2] - dst[i][0];
        double y = m[3] * src[i][0] + m[4] * src[i][1] + m[5] - dst[i][1];
        res += x * x + y * y;
    }
    return (float)sqrt(res / n);
}

float face_laplacian_var(const img_image *g)
{
    if (g->channels != 1 || g->w < 3 || g->h < 3) return 0;
    /* Each Laplacian value is a whole number in [-1020, 1020]: its sum and
     * the sum of its squares are summed exactly in integers (32 bits over
     * up to 2000 columns, below 2^31, then 64), which are the sums adding
     * them one by one in double gave (every partial sum a whole number
     * below 2^53 for any image img_new makes), without a chain of
     * dependent double additions (0.02 ms a face in quality). */
    int W = g->w;
    int64_t s = 0, s2 = 0;
    for (int y = 1; y < g->h - 1; y++) {
        const uint8_t *p = g->px + (size_t)y * W;
        for (int x0 = 1; x0 < W - 1; x0 += 2000) {
            int x1 = x0 + 2000 < W - 1 ? x0 + 2000 : W - 1;
            int32_t rs = 0, rs2 = 0;
            for (int x = x0; x < x1; x++) {
                int32_t l = p[x - 1] + p[x + 1] + p[x - W] + p[x + W] - 4 * p[x];
                rs += l;
                rs2 += l * l;
            }
            s += rs;
            s2 += rs2;
        }
    }
    double n = (double)(g->h - 2) * (W - 2);
    double mean = (double)s / n;
    return (float)((double)s2 / n - mean * mean);
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void face_pose_from_lm5(const float lm5[5][2], float *yaw, float *pitch, float *roll)
{
    const float deg = 57.29578f;
    float ex = lm5[1][0] - lm5[0][0], ey = lm5[1][1] - lm5[0][1];
    float r = atan2f(ey, ex);
    *roll = r * deg;
    /* Undo the roll, then compare the nose with the eye and mouth midpoints. */
    float c = cosf(-r), s = sinf(-r), p[5][2];
    for (int i = 0; i < 5; i++) {
        p[i][0] = c * lm5[i][0] - s * lm5[i][1];
        p[i][1] = s * lm5[i][0] + c * lm5[i][1];
    }
    float eye_d = fabsf(p[1][0] - p[0][0]);
    float eye_mx = (p[0][0] + p[1][0]) / 2, eye_my = (p[0][1] + p[1][1]) / 2;
    float mouth_mx = (p[3][0] + p[4][0]) / 2, mouth_my = (p[3][1] + p[4][1]) / 2;
    if (eye_d < 1e-3f) {
        *yaw = 90;
        *pitch = 0;
        return;
    }
    /* On the template the nose sits on the midline, and 49% of the way from
     * the eyes down to the mouth; the nose tip is about half an eye distance
     * in front of the face plane, hence the scaling. */
    float mid_x = (eye_mx + mouth_mx) / 2;
    *yaw = asinf(clampf((p[2][0] - mid_x) / (0.55f * eye_d), -1, 1)) * deg;
    float span = mouth_my - eye_my;
    if (fabsf(span) < 1e-3f) {
        *pitch = 0;
        return;
    }
    float ratio = (p[2][1] - eye_my) / span;
    *pitch = asinf(clampf((ratio - 0.494f) * 2.2f, -1, 1)) * deg;
}

/* Box height weighted by closeness to the image centre: 1 at the centre,
 * 0.4 in a corner (distance normalized by the half diagonal). */
static float prominence(const face_info *f, int w, int h)
{
    float cx = (f->x0 + f->x1) / 2 - w / 2.f, cy = (f->y0 + f->y1) / 2 - h / 2.f;
    float half_diag = sqrtf((float)w * w + (float)h * h) / 2;
    float d = half_diag > 0 ? fminf(1, sqrtf(cx * cx + cy * cy) / half_diag) : 0;
    return (f->y1 - f->y0) * (1 - 0.6f * d);
}

face_pick face_pick_primary(const face_info *faces, int n, int w, int h)
{
    face_pick p = {.index = -1, .runner_up = -1};
    float second = 0;
    for (int i = 0; i < n; i++) {
        float s = prominence(&faces[i], w, h);
        if (p.index < 0 || s > p.prominence) {
            if (p.index >= 0) p.runner_up = p.index, second = p.prominence;
            p.index = i;
            p.prominence = s;
        } else if (p.runner_up < 0 || s > second) {
            p.runner_up = i;
            second = s;
        }
    }
    if (p.runner_up >= 0 && p.prominence > 0) p.ratio = second / p.prominence;
    p.ambiguous = p.runner_up >= 0 && p.ratio >= FACE_PICK_AMBIGUOUS;
    if (p.ambiguous) {
        const face_info *a = &faces[p.index], *b = &faces[p.runner_up];
        snprintf(p.reason, sizeof p.reason,
                 "two faces of comparable size and place (%.0f px at %.0f,%.0f and %.0f px at "
                 "%.0f,%.0f): crop the photo to the one person",
                 a->y1 - a->y0, a->x0, a->y0, b->y1 - b->y0, b->x0, b->y0);
    }
    return p;
}
