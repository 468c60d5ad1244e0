/*
 * embed.c — `rollcall embed IMG...` (the embedding of the face each photo is
 * about as JSON Lines, with the id of the model that made it) and `rollcall
 * compare A B` (cosine similarity of the faces two photos are about and the
 * same/different decision at the per-pair threshold). The face a photo is
 * about is face_pick_primary's: the largest near the centre.
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
    fprintf(out, "Usage: rollcall embed [OPTIONS] IMG...\n\n"
                 "Print the 512-number embedding (L2-normalized) of the face each photo is\n"
                 "about as JSON, with the embedding model's id: embeddings from different models\n"
                 "must not be compared. The face is the one the photo frames: the largest near\n"
                 "the centre (a bigger face in a corner does not win); \"ambiguous\": true says\n"
                 "that another face is comparable, a photo enrollment would refuse.\n\n"
                 "One JSON object per line, one line per photo, in the order given (JSON Lines),\n"
                 "all from one process (the models are loaded once). A photo that fails gives a\n"
                 "line {\"file\": ..., \"error\": ...} when several photos or --json are given,\n"
                 "the message on stderr, and exit status 1 after the other photos.\n\n"
                 "Options:\n"
                 "      --json                JSON Lines even for one photo, with errors as lines\n"
                 "      --all                 every face, not only the one the photo is about\n"
                 "      --aligned             IMG is already an aligned 112x112 face crop\n"
                 "      --dump-aligned FILE   also write the aligned 112x112 crop of the chosen\n"
                 "                            face as raw RGB bytes (one photo only; for checking\n"
                 "                            against other runtimes)\n"
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

/* One photo's JSON document; NULL after printing why on stderr (the reason
 * also in *why for the batch's error line). */
static json_t *embed_one(face_worker *w, const face_models *m, const char *path, int aligned,
                         int all, const char *dump, char *why, size_t cap)
{
    img_image *im = NULL;
    rc_error err;
    if (img_load(path, NULL, &im, &err) != RC_OK) {
        fprintf(stderr, "rollcall embed: %s\n", err.msg);
        snprintf(why, cap, "%s", err.msg);
        return NULL;
    }
    json_t *doc = json_pack("{s:s,s:s,s:i}", "file", path, "model", face_models_embedding_id(m),
                            "dim", FACE_EMB_DIM);
    face_info *faces = NULL;
    int n = 0;
    if (aligned) {
        float e[FACE_EMB_DIM];
        if (face_embed_aligned(w, im, e, &err) != RC_OK) {
            snprintf(why, cap, "%s", err.msg);
            goto fail;
        }
        json_object_set_new(doc, "embedding", embedding_json(e));
        goto done;
    }
    face_opts fo = face_opts_default();
    fo.liveness = 0;
    if (face_analyze(w, im, &fo, &faces, &n, &err) != RC_OK) {
        snprintf(why, cap, "%s", err.msg);
        goto fail;
    }
    face_pick pk = face_pick_primary(faces, n, im->w, im->h);
    if (pk.index < 0 || !faces[pk.index].has_embedding) {
        snprintf(why, cap, "no face found");
        goto fail;
    }
    const face_info *f = &faces[pk.index];
    if (dump && dump_aligned(im, f, dump)) {
        snprintf(why, cap, "cannot write %s", dump);
        json_decref(doc);
        doc = NULL;
        goto done;
    }
    if (all) {
        json_t *fl = json_array();
        for (int i = 0; i < n; i++) json_array_append_new(fl, cli_face_json(&faces[i], 1));
        json_object_set_new(doc, "faces", fl);
        json_object_set_new(doc, "primary", json_integer(pk.index));
    } else {
        json_t *fj = cli_face_json(f, 0);
        json_object_set(doc, "box", json_object_get(fj, "box"));
        json_object_set(doc, "quality", json_object_get(fj, "quality"));
        json_decref(fj);
        json_object_set_new(doc, "embedding", embedding_json(f->embedding));
    }
    json_object_set_new(doc, "faces_found", json_integer(n));
    json_object_set_new(doc, "ambiguous", json_boolean(pk.ambiguous));
    if (pk.ambiguous) json_object_set_new(doc, "ambiguous_reason", json_string(pk.reason));
    goto done;
fail:
    fprintf(stderr, "rollcall embed: %s: %s\n", path, why);
    json_decref(doc);
    doc = NULL;
done:
    free(faces);
    img_free(im);
    return doc;
}

int cli_embed(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"aligned", no_argument, NULL, 'A'},
        {"dump-aligned", required_argument, NULL, 'D'},
        {"json", no_argument, NULL, 'j'},
        {"models", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int all = 0, aligned = 0, lines = 0, c;
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
        case 'j':
            lines = 1;
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
    int nimg = argc - optind;
    if (nimg < 1) {
        fprintf(stderr, "rollcall embed: give at least one image\n\n");
        embed_usage(stderr);
        return 2;
    }
    if (dump && nimg > 1) {
        fprintf(stderr, "rollcall embed: --dump-aligned takes one image, not %d\n", nimg);
        return 2;
    }
    if (nimg > 1) lines = 1;
    face_models *m;
    face_worker *w;
    if (cli_face_open("embed", cli_models_dir(models_opt), 0, &m, &w)) return 1;
    int rc = 0;
    for (int a = optind; a < argc; a++) {
        char why[512] = "";
        json_t *doc = embed_one(w, m, argv[a], aligned, all, dump, why, sizeof why);
        if (!doc) {
            rc = 1;
            if (!lines) continue;
            doc = json_pack("{s:s,s:s}", "file", argv[a], "error", why);
        }
        json_dumpf(doc, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8));
        printf("\n");
        fflush(stdout);
        json_decref(doc);
    }
    face_worker_free(w);
    face_models_free(m);
    return rc;
}

static void compare_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall compare [OPTIONS] A B\n\n"
            "Compare the face photo A is about with the face photo B is about (the largest\n"
            "near the centre, as `rollcall embed` picks it): cosine similarity of their\n"
            "embeddings (-1..1) and whether that makes them the same person at the\n"
            "threshold. A photo with two comparable faces is compared by the more central\n"
            "one, with a warning.\n\n"
            "Options:\n"
            "  -t, --threshold S   same person at or above S (default %.2f: 0.1%% false\n"
            "                      accepts per pair on the test photos with the default\n"
            "                      models; searching a gallery needs a higher one, %.2f)\n"
            "      --json          print JSON\n"
            "  -m, --models DIR    ONNX models (default $ROLLCALL_MODELS or ./models)\n"
            "  -h, --help          show this help\n\n"
            "Exit status: 0 when compared (same or different), 1 on error, 2 on bad usage.\n",
            GALLERY_PAIR_THRESHOLD, GALLERY_DEFAULT_THRESHOLD);
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
    float thr = GALLERY_PAIR_THRESHOLD;
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
    for (int k = 0; k < 2 && rc == 0; k++) {
        const char *path = argv[optind + k];
        face_info *f = malloc(sizeof *f);
        char why[512];
        if (!f || cli_photo_face(w, &fo, path, 0, f, why, sizeof why) != 0) {
            fprintf(stderr, "rollcall compare: %s: %s\n", path, f ? why : "out of memory");
            rc = 1;
        } else {
            if (why[0]) fprintf(stderr, "rollcall compare: %s: %s\n", path, why);
            memcpy(emb[k], f->embedding, sizeof emb[k]);
        }
        free(f);
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
