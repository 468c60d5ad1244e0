/*
 * track.c — face tracks of one camera, so that a stream does not go through
 * the whole pipeline on every frame. Pure geometry and timing: the feed
 * (feed.c) asks what a frame needs (cam_tracker_plan), runs the detector or
 * the whole pipeline, and hands back the boxes it found (cam_tracker_update)
 * and the identities (cam_tracker_identified). Association is greedy: pairs
 * overlapping by at least min_iou first (best IoU first), then pairs whose
 * centres are within half a face of each other and whose sizes are within a
 * factor of two (a face that moved fast between two detection rounds). The
 * tracker holds no lock: the manager hands a camera's frames to one worker
 * at a time.
 *
 * With cfg.full_every, detection rounds between whole-frame detections run
 * the detector only on regions around the tracks in view
 * (cam_tracker_regions; face_detect_region in the feed): a face that moved
 * stays in its region, and a newcomer elsewhere waits for the next
 * whole-frame round.
 *
 * The feed runs the detector alone without the face module's padded retry
 * (which looks again at a frame with no face, for photos where the face
 * fills the picture: twice the detector on every empty frame). So that a
 * face that close is still found, a scene with nobody in view goes through
 * the whole pipeline, retry included, every recheck_ms (the probe).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void cam_tracker_init(cam_tracker *tr, const cam_track_config *cfg)
{
    memset(tr, 0, sizeof *tr);
    if (cfg) tr->cfg = *cfg;
    if (!tr->cfg.detect_every) tr->cfg.detect_every = 2;
    if (!tr->cfg.max_missed) tr->cfg.max_missed = 1;
    if (!(tr->cfg.recheck_ms > 0)) tr->cfg.recheck_ms = 2000;
    if (!(tr->cfg.min_iou > 0)) tr->cfg.min_iou = 0.3f;
    if (!(tr->cfg.grow > 1)) tr->cfg.grow = 1.3f;
    if (!(tr->cfg.margin > 0)) tr->cfg.margin = 0.6f;
    tr->since_detect = tr->cfg.detect_every; /* the first frame runs the detector */
}

void cam_tracker_free(cam_tracker *tr)
{
    free(tr->t);
    memset(tr, 0, sizeof *tr);
}

bool cam_tracker_due(const cam_tracker *tr, double now_ms)
{
    for (size_t i = 0; i < tr->n; i++) {
        const cam_track *t = &tr->t[i];
        if (t->missed) continue; /* not in view now: nothing to identify */
        if (!t->identified || t->due || now_ms - t->ident_ms >= tr->cfg.recheck_ms) return true;
    }
    return false;
}

cam_step cam_tracker_plan(cam_tracker *tr, double now_ms)
{
    cam_step s = CAM_STEP_SKIP;
    bool in_view = false;
    for (size_t i = 0; i < tr->n && !in_view; i++) in_view = tr->t[i].missed == 0;
    if (cam_tracker_due(tr, now_ms) ||
        (!in_view && (!tr->probed || now_ms - tr->probe_ms >= tr->cfg.recheck_ms)))
        s = CAM_STEP_IDENTIFY; /* a track is due, or the empty scene's probe */
    else if (tr->since_detect + 1 >= tr->cfg.detect_every)
        s = in_view && tr->since_full + 1 < tr->cfg.full_every ? CAM_STEP_REGION : CAM_STEP_DETECT;
    if (s == CAM_STEP_SKIP) {
        tr->since_detect++;
        tr->skipped++;
    } else {
        tr->since_detect = 0;
    }
    if (s == CAM_STEP_SKIP || s == CAM_STEP_REGION)
        tr->since_full++;
    else
        tr->since_full = 0;
    if (s == CAM_STEP_IDENTIFY) {
        tr->probed = true;
        tr->probe_ms = now_ms;
    }
    return s;
}

typedef struct {
    float key;
    int track, box;
} pair;

static int by_key_desc(const void *a, const void *b)
{
    float x = ((const pair *)a)->key, y = ((const pair *)b)->key;
    return (x < y) - (x > y);
}

/* How well box b continues track t, whose box moved by (dx, dy) since it
 * was seen (its velocity times the time since): 1 + IoU with the moved box
 * when they overlap enough, else in (0, 1] by centre distance for a near box
 * of similar size, else 0. */
static float affinity(const cam_tracker *tr, const cam_track *t, float mx, float my,
                      const float b[4])
{
    float x0 = t->x0 + mx, y0 = t->y0 + my, x1 = t->x1 + mx, y1 = t->y1 + my;
    float ix = fminf(x1, b[2]) - fmaxf(x0, b[0]);
    float iy = fminf(y1, b[3]) - fmaxf(y0, b[1]);
    float at = (x1 - x0) * (y1 - y0), ab = (b[2] - b[0]) * (b[3] - b[1]);
    float inter = ix > 0 && iy > 0 ? ix * iy : 0;
    float iou = at + ab - inter > 0 ? inter / (at + ab - inter) : 0;
    if (iou >= tr->cfg.min_iou) return 1 + iou;
    float ht = y1 - y0, hb = b[3] - b[1];
    if (ht <= 0 || hb <= 0 || hb > 2 * ht || ht > 2 * hb) return 0;
    float dx = (x0 + x1 - b[0] - b[2]) / 2, dy = (y0 + y1 - b[1] - b[3]) / 2;
    float reach = 0.5f * fmaxf(ht, hb);
    float d = sqrtf(dx * dx + dy * dy);
    return d < reach ? 1 - d / reach * 0.999f : 0;
}

/* How far a track is expected to have moved by now_ms (its velocity over
 * the time since it was seen, at most a second of it). */
static void predicted_move(const cam_track *t, double now_ms, float *mx, float *my)
{
    double dt = now_ms - t->seen_ms;
    if (dt < 0) dt = 0;
    if (dt > 1000) dt = 1000;
    *mx = (float)(t->vx * dt);
    *my = (float)(t->vy * dt);
}

int cam_tracker_regions(const cam_tracker *tr, double now_ms, int w, int h, float (*rects)[4],
                        int cap)
{
    int n = 0;
    double area = 0;
    for (size_t i = 0; i < tr->n && n < cap; i++) {
        const cam_track *t = &tr->t[i];
        if (t->missed) continue;
        float mx, my;
        predicted_move(t, now_ms, &mx, &my);
        float fw = t->x1 - t->x0, fh = t->y1 - t->y0, m = tr->cfg.margin;
        float x0 = fmaxf(t->x0 + mx - m * fw, 0), y0 = fmaxf(t->y0 + my - m * fh, 0);
        float x1 = fminf(t->x1 + mx + m * fw, (float)w), y1 = fminf(t->y1 + my + m * fh, (float)h);
        if (!(x1 > x0 && y1 > y0)) continue; /* predicted out of the frame */
        rects[n][0] = x0;
        rects[n][1] = y0;
        rects[n][2] = x1 - x0;
        rects[n][3] = y1 - y0;
        area += (double)(x1 - x0) * (y1 - y0);
        n++;
    }
    return area > 0.5 * w * h ? -1 : n;
}

static int update(cam_tracker *tr, double now_ms, const float (*boxes)[4], int n, int *track_of,
                  bool misses)
{
    size_t np = 0;
    pair *pairs = tr->n && n > 0 ? malloc(tr->n * (size_t)n * sizeof *pairs) : NULL;
    for (size_t i = 0; pairs && i < tr->n; i++) {
        float mx, my;
        predicted_move(&tr->t[i], now_ms, &mx, &my);
        for (int j = 0; j < n; j++) {
            float k = affinity(tr, &tr->t[i], mx, my, boxes[j]);
            if (k > 0) pairs[np++] = (pair){k, (int)i, j};
        }
    }
    if (np) qsort(pairs, np, sizeof *pairs, by_key_desc);
    bool *tmatched = tr->n ? calloc(tr->n, sizeof *tmatched) : NULL;
    int *owner = n > 0 ? malloc((size_t)n * sizeof *owner) : NULL;
    for (int j = 0; owner && j < n; j++) owner[j] = -1;
    for (size_t p = 0; tmatched && owner && p < np; p++) {
        if (tmatched[pairs[p].track] || owner[pairs[p].box] >= 0) continue;
        tmatched[pairs[p].track] = true;
        owner[pairs[p].box] = pairs[p].track;
    }
    free(pairs);
    /* Matched tracks move to their box. */
    for (int j = 0; owner && j < n; j++) {
        if (owner[j] < 0) continue;
        cam_track *t = &tr->t[owner[j]];
        double dt = now_ms - t->seen_ms;
        if (dt > 0) { /* centre velocity, px per ms, smoothed */
            double vx = ((boxes[j][0] + boxes[j][2]) - (t->x0 + t->x1)) / 2 / dt;
            double vy = ((boxes[j][1] + boxes[j][3]) - (t->y0 + t->y1)) / 2 / dt;
            t->vx = t->has_v ? 0.5 * t->vx + 0.5 * vx : vx;
            t->vy = t->has_v ? 0.5 * t->vy + 0.5 * vy : vy;
            t->has_v = true;
        }
        t->seen_ms = now_ms;
        t->x0 = boxes[j][0];
        t->y0 = boxes[j][1];
        t->x1 = boxes[j][2];
        t->y1 = boxes[j][3];
        t->missed = 0;
        if (t->identified && t->y1 - t->y0 >= t->ident_h * tr->cfg.grow) t->due = true;
        if (track_of) track_of[j] = t->id;
    }
    /* Unmatched tracks miss a round; those gone too long end. Without
     * memory to match (out of memory) every track counts as missed. */
    size_t keep = 0;
    for (size_t i = 0; i < tr->n; i++) {
        cam_track *t = &tr->t[i];
        if (misses && !(tmatched && tmatched[i]) && ++t->missed > tr->cfg.max_missed) continue;
        tr->t[keep++] = *t;
    }
    tr->n = keep;
    free(tmatched);
    /* Unmatched boxes start tracks. */
    int started = 0;
    for (int j = 0; j < n; j++) {
        if (owner && owner[j] >= 0) continue;
        if (track_of) track_of[j] = 0;
        if (tr->n == tr->cap) {
            size_t cap = tr->cap ? tr->cap * 2 : 4;
            cam_track *nt = realloc(tr->t, cap * sizeof *nt);
            if (!nt) continue; /* untracked this round; the next detection tries again */
            tr->t = nt;
            tr->cap = cap;
        }
        cam_track *t = &tr->t[tr->n++];
        memset(t, 0, sizeof *t);
        t->id = ++tr->next_id;
        t->x0 = boxes[j][0];
        t->y0 = boxes[j][1];
        t->x1 = boxes[j][2];
        t->y1 = boxes[j][3];
        t->due = true;
        t->seen_ms = now_ms;
        if (track_of) track_of[j] = t->id;
        started++;
        tr->started++;
    }
    free(owner);
    return started;
}

int cam_tracker_update(cam_tracker *tr, double now_ms, const float (*boxes)[4], int n,
                       int *track_of)
{
    return update(tr, now_ms, boxes, n, track_of, true);
}

int cam_tracker_rematch(cam_tracker *tr, double now_ms, const float (*boxes)[4], int n,
                        int *track_of)
{
    return update(tr, now_ms, boxes, n, track_of, false);
}

void cam_tracker_identified(cam_tracker *tr, int id, double now_ms, const cam_face *face)
{
    for (size_t i = 0; i < tr->n; i++) {
        cam_track *t = &tr->t[i];
        if (t->id != id) continue;
        t->identified = true;
        t->due = false;
        t->ident_ms = now_ms;
        t->ident_h = t->y1 - t->y0;
        t->face = *face;
        return;
    }
}

int cam_tracker_faces(const cam_tracker *tr, cam_face *out, int cap)
{
    int k = 0;
    for (size_t i = 0; i < tr->n && k < cap; i++) {
        const cam_track *t = &tr->t[i];
        if (t->missed) continue;
        cam_face *f = &out[k++];
        *f = t->face;
        if (!t->identified) {
            f->known = false;
            memcpy(f->label, "unknown", sizeof "unknown");
        }
        f->x0 = t->x0;
        f->y0 = t->y0;
        f->x1 = t->x1;
        f->y1 = t->y1;
        f->track = t->id;
    }
    return k;
}
