/*
 * region_detect.c — what the detector costs on a region around a tracked
 * face (face_detect_region, `--camera-tracking regions`) beside the whole
 * 640x480 frame, in the same run: a test photo pasted at three sizes into a
 * grey frame, the whole-frame detection finds its face, then the region a
 * camera track would get (the box grown by 0.6 of its size on each side)
 * is detected. Prints the face and region sizes, the detector's input, the
 * thread CPU time per detection (median of 9 rounds of 30) both ways, and
 * whether the region found the face (IoU with the whole-frame box).
 *
 *   region-detect MODELS_DIR PHOTO
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "face/face.h"

/* Median thread CPU ms of one detection, whole frame (rect NULL) or region. */
static double median_ms(face_worker *w, const img_image *im, const float *rect, const face_opts *o)
{
    double round[9];
    for (int r = 0; r < 9; r++) {
        double t0 = rc_thread_cpu_ms();
        for (int i = 0; i < 30; i++) {
            face_info *f = NULL;
            int n = 0;
            rc_status st = rect ? face_detect_region(w, im, rect, o, &f, &n, NULL)
                                : face_analyze(w, im, o, &f, &n, NULL);
            free(f);
            if (st != RC_OK) return -1;
        }
        round[r] = (rc_thread_cpu_ms() - t0) / 30;
    }
    return rc_median(round, 9);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: region-detect MODELS_DIR PHOTO\n");
        return 2;
    }
    face_models *m;
    face_worker *w;
    img_image *photo;
    rc_error e;
    if (face_models_load(argv[1], 0, &m, &e) != RC_OK || face_worker_create(m, &w, &e) != RC_OK ||
        img_load(argv[2], NULL, &photo, &e) != RC_OK) {
        fprintf(stderr, "region-detect: %s\n", e.msg);
        return 1;
    }
    face_opts o = face_opts_default();
    o.landmarks = o.embedding = o.liveness = 0;
    o.pad_retry = 0;
    printf("detector on a 640x480 frame, thread CPU ms per detection (median of 9 x 30)\n");
    printf("%-10s %-10s %-12s %-12s %10s %10s %7s %s\n", "photo", "face", "region", "det. input",
           "whole ms", "region ms", "ratio", "found (IoU)");
    static const int widths[] = {100, 160, 220};
    for (int k = 0; k < 3; k++) {
        int pw = widths[k], ph = pw * photo->h / photo->w;
        img_image *p = img_resize(photo, pw, ph, IMG_RESIZE_AUTO), *im = img_new(640, 480, 3);
        if (!p || !im || ph > 400) return 1;
        memset(im->px, 110, (size_t)640 * 480 * 3);
        for (int r = 0; r < ph; r++)
            memcpy(im->px + ((size_t)(40 + r) * 640 + 200) * 3, p->px + (size_t)r * pw * 3,
                   (size_t)pw * 3);
        face_info *f = NULL, *g = NULL;
        int n = 0, ng = 0;
        if (face_analyze(w, im, &o, &f, &n, &e) != RC_OK || n < 1) {
            printf("%-10d no face on the whole frame\n", pw);
            free(f);
            continue;
        }
        float fw = f[0].x1 - f[0].x0, fh = f[0].y1 - f[0].y0;
        float rect[4] = {f[0].x0 - 0.6f * fw, f[0].y0 - 0.6f * fh, 2.2f * fw, 2.2f * fh};
        double whole = median_ms(w, im, NULL, &o), region = median_ms(w, im, rect, &o);
        float iou = 0;
        if (face_detect_region(w, im, rect, &o, &g, &ng, &e) == RC_OK && ng > 0) {
            face_box a = {f[0].x0, f[0].y0, f[0].x1, f[0].y1, 0};
            face_box b = {g[0].x0, g[0].y0, g[0].x1, g[0].y1, 0};
            iou = face_iou(&a, &b);
        }
        char face[32], reg[32], in[32];
        snprintf(face, sizeof face, "%.0fx%.0f", fw, fh);
        snprintf(reg, sizeof reg, "%.0fx%.0f", rect[2], rect[3]);
        /* The detector's input: the region at half scale, in 16 px steps (face.c). */
        snprintf(in, sizeof in, "%dx%d", ((int)(rect[2] / 2 + 0.999f) + 15) / 16 * 16,
                 ((int)(rect[3] / 2 + 0.999f) + 15) / 16 * 16);
        printf("%-10d %-10s %-12s %-12s %10.3f %10.3f %7.2f %d (%.2f)\n", pw, face, reg, in, whole,
               region, region / whole, ng, iou);
        free(f);
        free(g);
        img_free(p);
        img_free(im);
    }
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la && fgets(load, sizeof load, la)) *strchr(load, ' ') = 0;
    if (la) fclose(la);
    printf("(whole frame: the reference, same run; whole-frame input 320x240; load average %s)\n",
           load);
    face_worker_free(w);
    face_models_free(m);
    img_free(photo);
    return 0;
}
