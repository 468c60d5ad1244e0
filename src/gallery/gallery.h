/*
 * gallery — the enrolled face templates in memory and the search over them.
 * Each template is an L2-normalized embedding tagged with the person it
 * belongs to (several per person) and its own id. A search is the dot
 * product of the query with every template (cosine similarity), done with
 * AVX-512 or AVX2 when the CPU has them; a plain C kernel defines the right
 * answer and is used elsewhere.
 *
 * A scan reads every template, so it is bound by memory bandwidth: the first
 * pass uses int8 copies of the templates (a quarter of the bytes, each row
 * with its own scale), then the best candidates are rescored exactly in
 * float. Reported scores are the exact float cosines.
 *
 * Thread safety: any number of threads may search while others add, remove
 * or replace. Storage is in fixed-size blocks, so a writer never copies the
 * whole matrix; it holds the lock (writer-preferring) only for an O(dim)
 * update, and readers hold it shared for the duration of one scan.
 */
#ifndef RC_GALLERY_H
#define RC_GALLERY_H

#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"

typedef struct gallery gallery;

/* Default decision threshold (cosine) for the default embedding model
 * (fr_feature.onnx): calibrated by tests/face/test_face_data.c on
 * ../shared/testdata/faces, where it gives a 0.1% false-accept rate over all
 * impostor pairs (measured 0.366; TAR 99.8% there). Other models need their
 * own calibration. */
#define GALLERY_DEFAULT_THRESHOLD 0.37f

typedef enum {
    GALLERY_KERNEL_AUTO = 0, /* the best the CPU supports */
    GALLERY_KERNEL_SCALAR,   /* portable C: the reference */
    GALLERY_KERNEL_AVX2,
    GALLERY_KERNEL_AVX512,
} gallery_kernel;

rc_status gallery_create(int dim, gallery **out, rc_error *err);
void gallery_free(gallery *g);

/* Choose the dot-product kernel; asking for one the CPU lacks is
 * RC_ERR_UNSUPPORTED. AUTO picks the best available. */
rc_status gallery_set_kernel(gallery *g, gallery_kernel k, rc_error *err);
gallery_kernel gallery_get_kernel(const gallery *g);
const char *gallery_kernel_name(gallery_kernel k);
/* Whether this CPU can run kernel k. */
int gallery_kernel_available(gallery_kernel k);

int gallery_dim(const gallery *g);
size_t gallery_count(const gallery *g); /* templates */

/* Add one template (copied and L2-normalized). Template ids must be unique
 * (RC_ERR_CONFLICT otherwise); an all-zero or non-finite vector is
 * RC_ERR_INVALID. */
rc_status gallery_add(gallery *g, int64_t person, int64_t template_id, const float *emb,
                      rc_error *err);
/* Remove one template / every template of a person; returns how many went. */
size_t gallery_remove_template(gallery *g, int64_t template_id);
size_t gallery_remove_person(gallery *g, int64_t person);
/* Atomically replace all of a person's templates with n new ones (n may be
 * 0): searches see either the old set or the new one, never a mix. */
rc_status gallery_replace_person(gallery *g, int64_t person, const float *embs,
                                 const int64_t *template_ids, int n, rc_error *err);

typedef struct {
    int64_t person, template_id;
    float score; /* cosine similarity */
} gallery_hit;

/* The k best templates for a query (need not be normalized), best first.
 * Returns how many were written (fewer than k when the gallery is small). */
int gallery_search(gallery *g, const float *query, int k, gallery_hit *out);

typedef struct {
    float threshold; /* below this: unknown */
    int mean_of;     /* the person score is the mean of their best N templates (1 = best) */
} gallery_decide_opts;

typedef struct {
    int known;      /* 1: person is the match; 0: unknown (person is the closest) */
    int64_t person; /* -1 when the gallery is empty */
    float score;    /* the decision score (best, or mean of the best few) */
    float best;     /* the best single template */
    float second;   /* the best score of any other person (-1 if none) */
    int templates;  /* how many of the person's templates were among the hits */
} gallery_match;

/* Decide who the query is (opts NULL: default threshold, best template): per person, the best
 * template and the mean of their best `mean_of`; the person with the highest decision score wins if
 * it reaches the threshold, otherwise the answer is unknown. */
gallery_match gallery_identify(gallery *g, const float *query, const gallery_decide_opts *opts);

/* The raw kernels: scores[i] = dot(q, rows + i * dim) for n rows, in float
 * and in int8 with exact int32 sums (every kernel gives identical results). */
void gallery_dot_rows(gallery_kernel k, const float *q, const float *rows, size_t n, int dim,
                      float *scores);
void gallery_dot_rows_i8(gallery_kernel k, const int8_t *q, const int8_t *rows, size_t n, int dim,
                         int32_t *out);

#endif
