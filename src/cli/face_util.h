/*
 * face_util.h — what the face commands (detect, embed, compare, identify,
 * bench pipeline) share: finding and loading the models, reading a photo,
 * a face as JSON, and drawing faces onto an annotated copy of the photo.
 * Private to src/cli.
 */
#ifndef RC_CLI_FACE_UTIL_H
#define RC_CLI_FACE_UTIL_H

#include <jansson.h>

#include "../face/face.h"

/* The models directory: --models if given, else $ROLLCALL_MODELS, else ./models. */
const char *cli_models_dir(const char *opt);

/* Load models and one worker, printing a helpful error as `cmd: ...`.
 * Returns 0 on success. */
int cli_face_open(const char *cmd, const char *models_dir, int attributes, face_models **m,
                  face_worker **w);

/* Load a photo (any size up to the default pixel limit), printing errors. */
img_image *cli_load_image(const char *cmd, const char *path);

/* Load photo `path` and analyze it with w and fo: returns the image with its
 * faces in *faces (caller frees both), or NULL after printing the error as
 * `rollcall cmd: ...` and, when doc is a JSON array, appending
 * {"file": path, "error": ...} to it. */
img_image *cli_analyze_photo(const char *cmd, face_worker *w, const face_opts *fo, const char *path,
                             json_t *doc, face_info **faces, int *n);

/* The face photo `path` is about (face_pick_primary), analyzed with w and fo,
 * copied to *face. Returns 0; or -1 with the reason in why (unreadable,
 * no face found, or with refuse_ambiguous two comparable faces). With
 * refuse_ambiguous 0 an ambiguous photo gives its more prominent face and
 * the reason in why as a warning. */
int cli_photo_face(face_worker *w, const face_opts *fo, const char *path, int refuse_ambiguous,
                   face_info *face, char *why, size_t cap);

/* A face as a JSON object: box, score, landmarks, liveness, quality (and
 * the embedding when with_embedding). */
json_t *cli_face_json(const face_info *f, int with_embedding);

/* Draw a face's box (green when quality is ok, orange otherwise), its
 * 5 landmarks and an optional label above the box. */
void cli_draw_face(img_image *im, const face_info *f, const char *label, int known);

/* Check a --draw target for `nimg` photos: with several photos it must be an
 * existing directory. Sets *draw_dir; prints an error and returns 2 when bad. */
int cli_draw_target(const char *cmd, const char *draw, int nimg, int *draw_dir);

/* Where the annotated copy of `photo` goes: `draw` itself, or, when it is a
 * directory, DRAW/<photo's base name>.jpg. */
void cli_draw_path(const char *draw, int draw_dir, const char *photo, char *out, size_t cap);

/* Parse a float/int option value in [lo, hi]; prints an error and returns -1 when bad. */
int cli_parse_float(const char *cmd, const char *opt, const char *s, float lo, float hi,
                    float *out);
int cli_parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);

/* Sorted names in a directory (dot files skipped): directories only
 * (dirs=1) or regular files only; NULL when it cannot be read. Free with
 * cli_free_dir. */
char **cli_list_dir(const char *path, int dirs, int *n);
void cli_free_dir(char **v, int n);
/* Does the file name have a photo extension (img_format_of_name: .jpg,
 * .jpeg, .png, .webp, .heic, .heif, any case)? */
int cli_is_image_name(const char *s);

#endif
