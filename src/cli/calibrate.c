/*
 * calibrate.c — `rollcall calibrate [--out DIR] PHOTO|DIR...`: run the face
 * pipeline in float on real photos and write the input range of every
 * convolution of the detection and embedding models, which int8 inference
 * (ROLLCALL_NN_INT8=1) quantises with. Photos are taken in the order given,
 * a directory's images in name order, so a fixed list gives the same file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "face_util.h"

static void calibrate_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall calibrate [OPTIONS] PHOTO|DIR...\n\n"
                 "Run face detection and embedding in float on the photos (every face found;\n"
                 "a directory's .jpg/.jpeg/.png files in name order) and write the smallest and\n"
                 "largest input value of each convolution of the two models, the ranges int8\n"
                 "inference needs: DIR/fr_detect.onnx.int8 and DIR/fr_feature.onnx.int8. They\n"
                 "hold one line per layer (name, min, max) and nothing about the faces.\n"
                 "ROLLCALL_NN_INT8=1 then runs both models in int8 on CPUs with AVX-512 VNNI\n"
                 "or AVX-VNNI, reading the files from $ROLLCALL_NN_INT8_RANGES or else the\n"
                 "models directory.\n\n"
                 "Options:\n"
                 "  -o, --out DIR      where to write the ranges (default: the models directory)\n"
                 "  -m, --models DIR   ONNX models (default $ROLLCALL_MODELS or ./models)\n"
                 "  -h, --help         show this help\n");
}

/* Analyze one photo with calibration on; returns the faces found, -1 on error. */
static int calibrate_photo(face_worker *w, const char *path)
{
    face_opts fo = face_opts_default();
    fo.liveness = 0;
    face_info *faces = NULL;
    int n = 0;
    img_image *im = cli_analyze_photo("calibrate", w, &fo, path, NULL, &faces, &n);
    if (!im) return -1;
    free(faces);
    img_free(im);
    return n;
}

int cli_calibrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"models", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *models_opt = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'm':
            models_opt = optarg;
            break;
        case 'h':
            calibrate_usage(stdout);
            return 0;
        default:
            calibrate_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "rollcall calibrate: give photos or directories of photos\n\n");
        calibrate_usage(stderr);
        return 2;
    }
    const char *models_dir = cli_models_dir(models_opt);
    face_models *m;
    face_worker *w;
    if (cli_face_open("calibrate", models_dir, 0, &m, &w)) return 1;
    rc_error err;
    int rc = 0, photos = 0, faces = 0;
    if (face_worker_calibrate(w, 1, &err) != RC_OK) {
        fprintf(stderr, "rollcall calibrate: %s\n", err.msg);
        rc = 1;
    }
    for (int a = optind; a < argc && rc == 0; a++) {
        int nf = 0;
        char **names = cli_list_dir(argv[a], 0, &nf);
        if (!names) {
            int got = calibrate_photo(w, argv[a]);
            if (got < 0) rc = 1;
            photos++;
            faces += got > 0 ? got : 0;
            continue;
        }
        for (int i = 0; i < nf && rc == 0; i++) {
            if (!cli_is_image_name(names[i])) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]);
            int got = calibrate_photo(w, path);
            if (got < 0) rc = 1;
            photos++;
            faces += got > 0 ? got : 0;
        }
        cli_free_dir(names, nf);
    }
    if (rc == 0) {
        char note[128];
        snprintf(note, sizeof note, "rollcall calibrate: %d photos, %d faces", photos, faces);
        if (face_worker_calibration_save(w, out ? out : models_dir, note, &err) != RC_OK) {
            fprintf(stderr, "rollcall calibrate: %s%s\n", err.msg,
                    faces == 0 ? " (no face was found in the photos)" : "");
            rc = 1;
        } else {
            printf(
                "%d photos, %d faces: wrote %s/fr_detect.onnx.int8 and %s/fr_feature.onnx.int8\n",
                photos, faces, out ? out : models_dir, out ? out : models_dir);
        }
    }
    face_worker_free(w);
    face_models_free(m);
    return rc;
}
