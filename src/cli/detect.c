/*
 * detect.c — `rollcall detect IMG...`: the faces in photos with their boxes,
 * landmarks, detector score, liveness and quality, as text or JSON, and
 * optionally an annotated copy of the photo.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "face_util.h"

static void detect_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall detect [OPTIONS] IMG...\n\n"
            "Find the faces in JPEG or PNG photos: box, landmarks (eyes, nose, mouth corners),\n"
            "detector score, liveness (0..1 that the face is live) and quality (size,\n"
            "sharpness, head pose; with the reasons when a face is not good enough to enroll).\n\n"
            "Options:\n"
            "      --json            print one JSON document instead of text\n"
            "      --draw OUT.jpg    write an annotated copy (with several photos: a directory,\n"
            "                        one NAME.jpg per photo)\n"
            "  -m, --models DIR      ONNX models (default $ROLLCALL_MODELS or ./models)\n"
            "  -t, --threshold S     detector score threshold 0..1 (default 0.7)\n"
            "      --min-face PX     also find faces down to PX pixels (tiles the frame;\n"
            "                        slower; for small faces in wide shots)\n"
            "      --no-liveness     skip the liveness model\n"
            "      --attributes      estimate age and gender too\n"
            "  -h, --help            show this help\n\n"
            "Exit status: 0 when every photo was read, 1 when one could not be, 2 on bad usage.\n");
}

int cli_detect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"draw", required_argument, NULL, 'd'},
        {"models", required_argument, NULL, 'm'},
        {"threshold", required_argument, NULL, 't'},
        {"min-face", required_argument, NULL, 'f'},
        {"no-liveness", no_argument, NULL, 'L'},
        {"attributes", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    const char *draw = NULL, *models_opt = NULL;
    face_opts fo = face_opts_default();
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'd':
            draw = optarg;
            break;
        case 'm':
            models_opt = optarg;
            break;
        case 't':
            if (cli_parse_float("detect", "--threshold", optarg, 0, 1, &fo.score_threshold))
                return 2;
            break;
        case 'f':
            if (cli_parse_int("detect", "--min-face", optarg, 4, 10000, &fo.min_face)) return 2;
            break;
        case 'L':
            fo.liveness = 0;
            break;
        case 'a':
            fo.attributes = 1;
            break;
        case 'h':
            detect_usage(stdout);
            return 0;
        default:
            detect_usage(stderr);
            return 2;
        }
    }
    int nimg = argc - optind;
    if (nimg < 1) {
        fprintf(stderr, "rollcall detect: no image given\n\n");
        detect_usage(stderr);
        return 2;
    }
    int draw_dir;
    if (cli_draw_target("detect", draw, nimg, &draw_dir)) return 2;
    face_models *m;
    face_worker *w;
    if (cli_face_open("detect", cli_models_dir(models_opt), fo.attributes, &m, &w)) return 1;
    int failed = 0;
    json_t *doc = json ? json_array() : NULL;
    for (int a = optind; a < argc; a++) {
        const char *path = argv[a];
        face_info *faces;
        int n;
        img_image *im = cli_analyze_photo("detect", w, &fo, path, doc, &faces, &n);
        if (!im) {
            failed = 1;
            continue;
        }
        if (doc) {
            json_t *fl = json_array();
            for (int i = 0; i < n; i++) json_array_append_new(fl, cli_face_json(&faces[i], 0));
            json_array_append_new(doc, json_pack("{s:s,s:i,s:i,s:o}", "file", path, "width", im->w,
                                                 "height", im->h, "faces", fl));
        } else {
            printf("%s: %d face%s (%dx%d)\n", path, n, n == 1 ? "" : "s", im->w, im->h);
            for (int i = 0; i < n; i++) {
                const face_info *f = &faces[i];
                printf("  face %d: box %.0f,%.0f %.0fx%.0f  score %.3f", i + 1, f->x0, f->y0,
                       f->x1 - f->x0, f->y1 - f->y0, f->score);
                if (f->liveness >= 0) printf("  live %.2f", f->liveness);
                printf("  quality %s", f->quality_ok ? "ok" : f->quality_reasons);
                printf(" (sharpness %.0f, yaw %.0f, pitch %.0f, roll %.0f)", f->sharpness, f->yaw,
                       f->pitch, f->roll);
                if (f->age >= 0) printf("  age %.0f", f->age);
                if (f->male >= 0)
                    printf("  %s %.2f", f->male >= 0.5f ? "male" : "female",
                           f->male >= 0.5f ? f->male : 1 - f->male);
                printf("\n");
            }
        }
        if (draw) {
            for (int i = 0; i < n; i++) cli_draw_face(im, &faces[i], NULL, 1);
            char out[4096];
            cli_draw_path(draw, draw_dir, path, out, sizeof out);
            rc_error err;
            if (img_save_jpeg(im, 90, out, &err) != RC_OK) {
                fprintf(stderr, "rollcall detect: %s\n", err.msg);
                failed = 1;
            } else if (!json) {
                printf("  annotated copy: %s\n", out);
            }
        }
        free(faces);
        img_free(im);
    }
    if (doc) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        printf("\n");
        json_decref(doc);
    }
    face_worker_free(w);
    face_models_free(m);
    return failed;
}
