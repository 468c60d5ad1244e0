/*
 * identify.c — `rollcall identify --gallery DIR IMG...`: enroll every
 * person in DIR (one folder of photos per person, the usual dataset layout)
 * into an in-memory gallery, then name each face in the photos, or say
 * `unknown` when nobody is similar enough.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../attendance/att.h"
#include "../gallery/gallery.h"
#include "../store/store.h"
#include "cli.h"
#include "face_util.h"

static void identify_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall identify --gallery DIR [OPTIONS] IMG...\n\n"
            "Enroll the people in DIR (one sub-folder per person, named after them, holding\n"
            "their photos), then tell who each face in the photos IMG is, or 'unknown', with\n"
            "the similarity as confidence. Of each gallery photo the face it is about is\n"
            "enrolled (the largest near the centre); a photo with two comparable faces is\n"
            "skipped with the reason. A person's score is the cosine between the face and\n"
            "the mean of that person's photos (their centroid).\n\n"
            "Options:\n"
            "  -g, --gallery DIR     the enrolled people (required)\n"
            "  -t, --threshold S     unknown below this similarity (default %.2f: calibrated\n"
            "                        per face against a gallery on the test photos with the\n"
            "                        default models; see README)\n"
            "      --db URL          use the recognition_threshold setting of this Rollcall\n"
            "                        database, the one the server's /recognize uses\n"
            "      --mean-of N       a person's score is the mean of their best N photos\n"
            "                        instead (N >= 2; the rule before the centroid)\n"
            "      --json            print one JSON document\n"
            "      --draw OUT.jpg    write an annotated copy (several photos: a directory)\n"
            "      --min-face PX     also find faces down to PX pixels (slower)\n"
            "  -m, --models DIR      ONNX models (default $ROLLCALL_MODELS or ./models)\n"
            "  -q, --quiet           no progress messages\n"
            "  -h, --help            show this help\n",
            GALLERY_DEFAULT_THRESHOLD);
}

/* Enroll DIR; returns the number of people (names in *names) or -1. */
static int enroll(const char *dir, face_worker *w, gallery *g, char ***names, int quiet)
{
    int np;
    char **people = cli_list_dir(dir, 1, &np);
    if (!people) {
        fprintf(stderr, "rollcall identify: cannot read the gallery directory %s\n", dir);
        return -1;
    }
    if (np == 0) {
        fprintf(stderr,
                "rollcall identify: %s has no sub-folders; put each person's photos in a folder "
                "named after them\n",
                dir);
        free(people);
        return -1;
    }
    face_opts fo = face_opts_default();
    fo.liveness = 0;
    int templates = 0, skipped = 0;
    double t0 = rc_mono_ms();
    int tty = isatty(2);
    for (int p = 0; p < np; p++) {
        char pdir[4096];
        int k = snprintf(pdir, sizeof pdir, "%s/%s", dir, people[p]);
        if (k < 0 || (size_t)k >= sizeof pdir) continue;
        int nf;
        char **files = cli_list_dir(pdir, 0, &nf);
        int mine = 0;
        for (int f = 0; f < nf; f++) {
            if (!cli_is_image_name(files[f])) continue;
            char path[8192];
            k = snprintf(path, sizeof path, "%s/%s", pdir, files[f]);
            if (k < 0 || (size_t)k >= sizeof path) continue;
            face_info *face = malloc(sizeof *face);
            char why[512] = "out of memory";
            rc_error err;
            if (!face || cli_photo_face(w, &fo, path, 1, face, why, sizeof why) != 0) {
                if (!quiet) fprintf(stderr, "%sskipped %s: %s\n", tty ? "\n" : "", path, why);
                skipped++;
            } else if (gallery_add(g, p, templates, face->embedding, &err) == RC_OK) {
                templates++;
                mine++;
            }
            free(face);
        }
        cli_free_dir(files, nf);
        if (!quiet && tty) {
            fprintf(stderr, "\renrolling: %d/%d people, %d photos", p + 1, np, templates);
            fflush(stderr);
        }
        if (!quiet && mine == 0)
            fprintf(stderr, "%s%s has no usable photo\n", tty ? "\n" : "", people[p]);
    }
    if (!quiet)
        fprintf(stderr, "%sgallery: %d people, %d photos enrolled, %d skipped (%.1f s)\n",
                tty ? "\r" : "", np, templates, skipped, (rc_mono_ms() - t0) / 1000);
    *names = people;
    return np;
}

int cli_identify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gallery", required_argument, NULL, 'g'},
        {"threshold", required_argument, NULL, 't'},
        {"mean-of", required_argument, NULL, 'M'},
        {"json", no_argument, NULL, 'j'},
        {"draw", required_argument, NULL, 'd'},
        {"min-face", required_argument, NULL, 'f'},
        {"models", required_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},
        {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *gdir = NULL, *draw = NULL, *models_opt = NULL, *db_url = NULL;
    int threshold_given = 0;
    gallery_decide_opts dec = {GALLERY_DEFAULT_THRESHOLD, 1};
    face_opts fo = face_opts_default();
    int json = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "g:t:m:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            gdir = optarg;
            break;
        case 't':
            if (cli_parse_float("identify", "--threshold", optarg, -1, 1, &dec.threshold)) return 2;
            threshold_given = 1;
            break;
        case 'D':
            db_url = optarg;
            break;
        case 'M':
            if (cli_parse_int("identify", "--mean-of", optarg, 2, 100, &dec.mean_of)) return 2;
            break;
        case 'j':
            json = 1;
            break;
        case 'd':
            draw = optarg;
            break;
        case 'f':
            if (cli_parse_int("identify", "--min-face", optarg, 4, 10000, &fo.min_face)) return 2;
            break;
        case 'm':
            models_opt = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            identify_usage(stdout);
            return 0;
        default:
            identify_usage(stderr);
            return 2;
        }
    }
    if (!gdir) {
        fprintf(stderr, "rollcall identify: --gallery DIR is required\n\n");
        identify_usage(stderr);
        return 2;
    }
    int nimg = argc - optind;
    if (nimg < 1) {
        fprintf(stderr, "rollcall identify: no image given\n\n");
        identify_usage(stderr);
        return 2;
    }
    if (db_url && threshold_given) {
        fprintf(stderr, "rollcall identify: give --threshold or --db, not both\n");
        return 2;
    }
    if (db_url) { /* the server's threshold, so both answer alike */
        struct stat dbst;
        if (strncmp(db_url, "postgres", 8) != 0 &&
            stat(strncmp(db_url, "sqlite:", 7) == 0 ? db_url + 7 : db_url, &dbst) != 0) {
            fprintf(stderr, "rollcall identify: --db %s: no database there\n", db_url);
            return 1;
        }
        store *s = NULL;
        att_config ac;
        rc_error err;
        if (store_open(db_url, STORE_OPEN_NO_MIGRATE, &s, &err) != RC_OK ||
            att_config_load(s, &ac, &err) != RC_OK) {
            fprintf(stderr, "rollcall identify: --db %s: %s\n", db_url, err.msg);
            store_close(s);
            return 1;
        }
        store_close(s);
        dec.threshold = (float)ac.recognition_threshold;
        if (!quiet)
            fprintf(stderr, "threshold %.2f (recognition_threshold of %s)\n", dec.threshold,
                    db_url);
    }
    int draw_dir;
    if (cli_draw_target("identify", draw, nimg, &draw_dir)) return 2;
    face_models *m;
    face_worker *w;
    if (cli_face_open("identify", cli_models_dir(models_opt), 0, &m, &w)) return 1;
    gallery *g = NULL;
    char **names = NULL;
    int np = -1, failed = 0;
    if (gallery_create(FACE_EMB_DIM, &g, NULL) == RC_OK) np = enroll(gdir, w, g, &names, quiet);
    if (np < 0) {
        gallery_free(g);
        face_worker_free(w);
        face_models_free(m);
        return 1;
    }
    json_t *doc = json ? json_array() : NULL;
    for (int a = optind; a < argc; a++) {
        const char *path = argv[a];
        face_info *faces;
        int n;
        img_image *im = cli_analyze_photo("identify", w, &fo, path, doc, &faces, &n);
        if (!im) {
            failed = 1;
            continue;
        }
        json_t *fl = doc ? json_array() : NULL;
        if (!doc) printf("%s: %d face%s\n", path, n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++) {
            const face_info *f = &faces[i];
            gallery_match mt = {0, -1, -1, -1, -1, 0, 0};
            if (f->has_embedding) mt = gallery_identify(g, f->embedding, &dec);
            const char *who = mt.known ? names[mt.person] : "unknown";
            if (fl) {
                json_t *o = cli_face_json(f, 0);
                json_object_set_new(o, "identity", json_string(who));
                json_object_set_new(o, "known", json_boolean(mt.known));
                json_object_set_new(o, "confidence", json_real(mt.score));
                if (mt.person >= 0)
                    json_object_set_new(o, "closest", json_string(names[mt.person]));
                json_array_append_new(fl, o);
            } else {
                printf("  face %d at %.0f,%.0f %.0fx%.0f: %s (similarity %.3f", i + 1, f->x0, f->y0,
                       f->x1 - f->x0, f->y1 - f->y0, who, mt.score);
                if (!mt.known && mt.person >= 0) printf(", closest %s", names[mt.person]);
                printf(")");
                if (f->liveness >= 0) printf("  live %.2f", f->liveness);
                if (!f->quality_ok) printf("  quality: %s", f->quality_reasons);
                printf("\n");
            }
            if (draw) {
                char label[128];
                snprintf(label, sizeof label, "%s %.2f", who, mt.score);
                cli_draw_face(im, f, label, mt.known);
            }
        }
        if (doc) json_array_append_new(doc, json_pack("{s:s,s:o}", "file", path, "faces", fl));
        if (draw) {
            char out[4096];
            cli_draw_path(draw, draw_dir, path, out, sizeof out);
            rc_error err;
            if (img_save_jpeg(im, 90, out, &err) != RC_OK) {
                fprintf(stderr, "rollcall identify: %s\n", err.msg);
                failed = 1;
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
    cli_free_dir(names, np);
    gallery_free(g);
    face_worker_free(w);
    face_models_free(m);
    return failed;
}
