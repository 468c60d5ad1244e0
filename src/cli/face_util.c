/*
 * face_util.c — helpers shared by the face commands: model loading with
 * errors that say what to do, photo loading, the face a photo is about,
 * JSON for a face, drawing.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "face_util.h"

const char *cli_models_dir(const char *opt)
{
    if (opt) return opt;
    const char *env = getenv("ROLLCALL_MODELS");
    return env && *env ? env : "models";
}

int cli_face_open(const char *cmd, const char *models_dir, int attributes, face_models **m,
                  face_worker **w)
{
    rc_error err;
    *m = NULL;
    *w = NULL;
    if (face_models_load(models_dir, attributes, m, &err) != RC_OK) {
        fprintf(stderr, "rollcall %s: %s\n", cmd, err.msg);
        if (err.code == RC_ERR_NOT_FOUND || err.code == RC_ERR_IO)
            fprintf(stderr,
                    "  (get the default models with 'make models', or pass --models DIR)\n");
        return -1;
    }
    if (face_worker_create(*m, w, &err) != RC_OK) {
        fprintf(stderr, "rollcall %s: %s\n", cmd, err.msg);
        face_models_free(*m);
        *m = NULL;
        return -1;
    }
    return 0;
}

img_image *cli_load_image(const char *cmd, const char *path)
{
    img_image *im = NULL;
    rc_error err;
    if (img_load(path, NULL, &im, &err) != RC_OK) {
        fprintf(stderr, "rollcall %s: %s\n", cmd, err.msg);
        return NULL;
    }
    return im;
}

static double r2(double v)
{
    return round(v * 100) / 100;
}

static double r4(double v)
{
    return round(v * 10000) / 10000;
}

img_image *cli_analyze_photo(const char *cmd, face_worker *w, const face_opts *fo, const char *path,
                             json_t *doc, face_info **faces, int *n)
{
    *faces = NULL;
    *n = 0;
    img_image *im = cli_load_image(cmd, path);
    rc_error err;
    if (im && face_analyze(w, im, fo, faces, n, &err) != RC_OK) {
        fprintf(stderr, "rollcall %s: %s: %s\n", cmd, path, err.msg);
        img_free(im);
        im = NULL;
    }
    if (!im && doc)
        json_array_append_new(
            doc, json_pack("{s:s,s:s}", "file", path, "error", "cannot read or analyze the image"));
    return im;
}

int cli_photo_face(face_worker *w, const face_opts *fo, const char *path, int refuse_ambiguous,
                   face_info *face, char *why, size_t cap)
{
    img_image *im = NULL;
    face_info *faces = NULL;
    int n = 0, rc = -1;
    rc_error err;
    why[0] = 0;
    if (img_load(path, NULL, &im, &err) != RC_OK ||
        face_analyze(w, im, fo, &faces, &n, &err) != RC_OK) {
        snprintf(why, cap, "%s", err.msg);
        goto done;
    }
    face_pick pk = face_pick_primary(faces, n, im->w, im->h);
    if (pk.index < 0 || !faces[pk.index].has_embedding) {
        snprintf(why, cap, "no face found");
    } else if (pk.ambiguous && refuse_ambiguous) {
        snprintf(why, cap, "%s", pk.reason);
    } else {
        if (pk.ambiguous) snprintf(why, cap, "%s", pk.reason);
        *face = faces[pk.index];
        rc = 0;
    }
done:
    free(faces);
    img_free(im);
    return rc;
}

json_t *cli_face_json(const face_info *f, int with_embedding)
{
    json_t *o = json_object();
    json_object_set_new(o, "box",
                        json_pack("{s:f,s:f,s:f,s:f}", "x", r2(f->x0), "y", r2(f->y0), "w",
                                  r2(f->x1 - f->x0), "h", r2(f->y1 - f->y0)));
    json_object_set_new(o, "score", json_real(r4(f->score)));
    if (f->has_landmarks) {
        static const char *const names[5] = {"left_eye", "right_eye", "nose", "mouth_left",
                                             "mouth_right"};
        json_t *lm = json_object();
        for (int i = 0; i < 5; i++)
            json_object_set_new(lm, names[i],
                                json_pack("[f,f]", r2(f->lm5[i][0]), r2(f->lm5[i][1])));
        json_object_set_new(o, "landmarks", lm);
    }
    if (f->liveness >= 0) json_object_set_new(o, "liveness", json_real(r4(f->liveness)));
    json_t *q = json_object();
    json_object_set_new(q, "ok", json_boolean(f->quality_ok));
    json_t *reasons = json_array();
    if (f->quality_reasons[0]) {
        char buf[sizeof f->quality_reasons];
        snprintf(buf, sizeof buf, "%s", f->quality_reasons);
        char *save;
        for (char *r = strtok_r(buf, ";", &save); r; r = strtok_r(NULL, ";", &save))
            json_array_append_new(reasons, json_string(r[0] == ' ' ? r + 1 : r));
    }
    json_object_set_new(q, "reasons", reasons);
    json_object_set_new(q, "size", json_real(r2(f->size)));
    json_object_set_new(q, "sharpness", json_real(r2(f->sharpness)));
    json_object_set_new(q, "yaw", json_real(r2(f->yaw)));
    json_object_set_new(q, "pitch", json_real(r2(f->pitch)));
    json_object_set_new(q, "roll", json_real(r2(f->roll)));
    json_object_set_new(o, "quality", q);
    if (f->age >= 0) json_object_set_new(o, "age", json_real(r2(f->age)));
    if (f->male >= 0) json_object_set_new(o, "male", json_real(r4(f->male)));
    if (with_embedding && f->has_embedding) {
        json_t *e = json_array();
        for (int i = 0; i < FACE_EMB_DIM; i++) json_array_append_new(e, json_real(f->embedding[i]));
        json_object_set_new(o, "embedding", e);
    }
    return o;
}

void cli_draw_face(img_image *im, const face_info *f, const char *label, int known)
{
    int t = (int)((f->x1 - f->x0) / 60) + 1;
    uint8_t r = known ? 40 : 255, g = known ? 220 : 160, b = 40;
    if (!f->quality_ok && !label) r = 255, g = 140, b = 0;
    img_draw_rect(im, (int)f->x0, (int)f->y0, (int)f->x1, (int)f->y1, t, r, g, b);
    if (f->has_landmarks)
        for (int i = 0; i < 5; i++)
            img_draw_dot(im, (int)f->lm5[i][0], (int)f->lm5[i][1], t + 1, 255, 40, 40);
    if (label) {
        int scale = (int)((f->x1 - f->x0) / 90) + 1;
        int y = (int)f->y0 - 9 * scale - t;
        if (y < 0) y = (int)f->y1 + t + 2;
        img_draw_text(im, (int)f->x0, y, scale, label, r, g, b);
    }
}

int cli_parse_float(const char *cmd, const char *opt, const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "rollcall %s: %s must be a number from %g to %g (got '%s')\n", cmd, opt, lo,
                hi, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "rollcall %s: %s must be a whole number from %d to %d (got '%s')\n", cmd,
                opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_draw_target(const char *cmd, const char *draw, int nimg, int *draw_dir)
{
    struct stat st;
    *draw_dir = draw && stat(draw, &st) == 0 && S_ISDIR(st.st_mode);
    if (draw && nimg > 1 && !*draw_dir) {
        fprintf(stderr, "rollcall %s: with several photos, --draw must be an existing directory\n",
                cmd);
        return 2;
    }
    return 0;
}

void cli_draw_path(const char *draw, int draw_dir, const char *photo, char *out, size_t cap)
{
    if (!draw_dir) {
        snprintf(out, cap, "%s", draw);
        return;
    }
    const char *b = strrchr(photo, '/');
    b = b ? b + 1 : photo;
    const char *dot = strrchr(b, '.');
    snprintf(out, cap, "%s%s%.*s.jpg", draw, draw[strlen(draw) - 1] == '/' ? "" : "/",
             dot ? (int)(dot - b) : (int)strlen(b), b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **cli_list_dir(const char *path, int dirs, int *n)
{
    DIR *d = opendir(path);
    *n = 0;
    if (!d) return NULL;
    int cap = 64;
    char **v = malloc(sizeof *v * (size_t)cap);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        int k = snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (k < 0 || (size_t)k >= sizeof full) continue;
        struct stat st;
        if (stat(full, &st) != 0 || (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) continue;
        if (*n == cap) {
            cap *= 2;
            char **nv = realloc(v, sizeof *v * (size_t)cap);
            if (!nv) break;
            v = nv;
        }
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (v) qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v;
}

void cli_free_dir(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

int cli_is_image_name(const char *s)
{
    return img_format_of_name(s) != IMG_FORMAT_UNKNOWN;
}
