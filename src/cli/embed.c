/*
 * embed.c — `rollcall embed IMG` (the face embedding as JSON, with the id of
 * the model that made it) and `rollcall compare A B` (cosine similarity of
 * the main faces of two photos and the same/different decision).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gallery/gallery.h"
#include "cli.h"
#include "face_util.h"

static void embed_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall embed [OPTIONS] IMG\n\n"
                 "Print the 512-number embedding (L2-normalized) of the largest face in a photo\n"
                 "as JSON, with the embedding model's id: embeddings from different models must\n"
                 "not be compared.\n\n"
                 "Options:\n"
                 "      --all                 every face, not only the largest\n"
                 "      --aligned             IMG is already an aligned 112x112 face crop\n"
                 "      --dump-aligned FILE   also write the aligned 112x112 crop of the largest\n"
                 "                            face as raw RGB bytes (for checking against other\n"
                 "                            runtimes)\n"
                 "  -m, --models DIR          ONNX models (default $ROLLCALL_MODELS or ./models)\n"
                 "  -h, --help                show this help\n");
}

static json_t *embedding_json(const float *e)
{
    json_t *a = json_array();
    for (int i = 0; i < FACE_EMB_DIM; i++) json_array_append_new(a, json_real(e[i]));
    return a;
}

static int dump_aligned(const img_image *im, const face_info *f, const char *path)
{
    img_image *al = face_align(im, (const float(*)[2])f->lm5);
    if (!al) {
        fprintf(stderr, "rollcall embed: cannot align the face\n");
        return -1;
    }
    FILE *fp = fopen(path, "wb");
    size_t len = (size_t)al->w * al->h * 3;
    int bad = !fp || fwrite(al->px, 1, len, fp) != len;
    if (fp && fclose(fp) != 0) bad = 1;
    img_free(al);
    if (bad) fprintf(stderr, "rollcall embed: cannot write %s\n", path);
    return bad ? -1 : 0;
}

int cli_embed(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"aligned", no_argument, NULL, 'A'},
        {"dump-aligned", required_argument, NULL, 'D'},
        {"models", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int all = 0, aligned = 0, c;
    const char *models_opt = NULL, *dump = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = 1;
            break;
        case 'A':
            aligned = 1;
            break;
        case 'D':
            dump = optarg;
            break;
        case 'm':
            models_opt = optarg;
            break;
        case 'h':
            embed_usage(stdout);
            return 0;
        default:
            embed_usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "rollcall embed: give exactly one image\n\n");
        embed_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    img_image *im = cli_load_image("embed", path);
    if (!im) return 1;
    face_models *m;
    face_worker *w;
    if (cli_face_open("embed", cli_models_dir(models_opt), 0, &m, &w)) {
        img_free(im);
        return 1;
    }
    int rc = 1;
    rc_error err;
    json_t *doc = json_pack("{s:s,s:s,s:i}", "file", path, "model", face_models_embedding_id(m),
                            "dim", FACE_EMB_DIM);
    face_info *faces = NULL;
    int n = 0;
    if (aligned) {
        float e[FACE_EMB_DIM];
        if (face_embed_aligned(w, im, e, &err) != RC_OK) {
            fprintf(stderr, "rollcall embed: %s: %s\n", path, err.msg);
            goto done;
        }
        json_object_set_new(doc, "embedding", embedding_json(e));
    } else {
        face_opts fo = face_opts_default();
        fo.liveness = 0;
        if (face_analyze(w, im, &fo, &faces, &n, &err) != RC_OK) {
            fprintf(stderr, "rollcall embed: %s: %s\n", path, err.msg);
            goto done;
        }
        if (n == 0) {
            fprintf(stderr, "rollcall embed: no face found in %s\n", path);
            goto done;
        }
        if (dump && dump_aligned(im, &faces[0], dump)) goto done;
        if (all) {
            json_t *fl = json_array();
            for (int i = 0; i < n; i++) json_array_append_new(fl, cli_face_json(&faces[i], 1));
            json_object_set_new(doc, "faces", fl);
        } else {
            json_t *f = cli_face_json(&faces[0], 0);
            json_object_set(doc, "box", json_object_get(f, "box"));
            json_object_set(doc, "quality", json_object_get(f, "quality"));
            json_decref(f);
            json_object_set_new(doc, "embedding", embedding_json(faces[0].embedding));
        }
    }
    json_dumpf(doc, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8));
    printf("\n");
    rc = 0;
done:
    json_decref(doc);
    free(faces);
    img_free(im);
    face_worker_free(w);
    face_models_free(m);
    return rc;
}

static void compare_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall compare [OPTIONS] A B\n\n"
            "Compare the largest face in photo A with the largest face in photo B: cosine\n"
            "similarity of their embeddings (-1..1) and whether that makes them the same\n"
            "person at the threshold.\n\n"
            "Options:\n"
            "  -t, --threshold S   same person at or above S (default %.2f: 0.1%% false\n"
            "                      accepts on the test photos with the default models)\n"
            "      --json          print JSON\n"
            "  -m, --models DIR    ONNX models (default $ROLLCALL_MODELS or ./models)\n"
            "  -h, --help          show this help\n\n"
            "Exit status: 0 when compared (same or different), 1 on error, 2 on bad usage.\n",
            GALLERY_DEFAULT_THRESHOLD);
}

int cli_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"threshold", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"models", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    float thr = GALLERY_DEFAULT_THRESHOLD;
    int json = 0, c;
    const char *models_opt = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (cli_parse_float("compare", "--threshold", optarg, -1, 1, &thr)) return 2;
            break;
        case 'j':
            json = 1;
            break;
        case 'm':
            models_opt = optarg;
            break;
        case 'h':
            compare_usage(stdout);
            return 0;
        default:
            compare_usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "rollcall compare: give exactly two images\n\n");
        compare_usage(stderr);
        return 2;
    }
    face_models *m;
    face_worker *w;
    if (cli_face_open("compare", cli_models_dir(models_opt), 0, &m, &w)) return 1;
    float emb[2][FACE_EMB_DIM];
    int rc = 0;
    face_opts fo = face_opts_default();
    fo.liveness = 0;
    fo.max_faces = 1;
    for (int k = 0; k < 2 && rc == 0; k++) {
        const char *path = argv[optind + k];
        img_image *im = cli_load_image("compare", path);
        face_info *f = NULL;
        int n = 0;
        rc_error err;
        if (!im) {
            rc = 1;
        } else if (face_analyze(w, im, &fo, &f, &n, &err) != RC_OK) {
            fprintf(stderr, "rollcall compare: %s: %s\n", path, err.msg);
            rc = 1;
        } else if (n == 0) {
            fprintf(stderr, "rollcall compare: no face found in %s\n", path);
            rc = 1;
        } else {
            memcpy(emb[k], f[0].embedding, sizeof emb[k]);
        }
        free(f);
        img_free(im);
    }
    if (rc == 0) {
        float s = face_similarity(emb[0], emb[1]);
        int same = s >= thr;
        if (json)
            printf("{\"similarity\": %.4f, \"same\": %s, \"threshold\": %.4f, \"model\": \"%s\"}\n",
                   s, same ? "true" : "false", thr, face_models_embedding_id(m));
        else
            printf("similarity %.4f: %s (threshold %.2f)\n", s,
                   same ? "same person" : "different people", thr);
    }
    face_worker_free(w);
    face_models_free(m);
    return rc;
}
