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

/* Default decision threshold (cosine) of gallery_identify's default rule
 * (GALLERY_RULE_CENTROID) for the default embedding model (fr_feature.onnx),
 * calibrated per probe against a gallery, not per pair: the open-set
 * evaluation tests/face/test_face_openset.c (bench/openset.sh) enrolls 23 or
 * 24 of the 29 people of ../shared/testdata/faces/id (up to 5 photos each),
 * probes with the others and the strangers of group/ (5 rotations), finds the
 * strangers' best centroid cosine at 0.44 and the genuine probes' lowest at
 * 0.49. 0.47 sits in that gap, nearer the genuine side because a stranger
 * wrongly let in costs more than a retry. What this small set can and
 * cannot claim is in README ("Recognition threshold and enrollment"). */
#define GALLERY_DEFAULT_THRESHOLD 0.47f

/* Threshold for one pair of faces (1:1, `rollcall compare`): the cosine that
 * lets 0.1% of impostor pairs through on the same photos (measured 0.366).
 * Not for searches against a gallery: there every enrolled person is one
 * more chance for a stranger to pass, so the gallery needs the higher
 * GALLERY_DEFAULT_THRESHOLD. */
#define GALLERY_PAIR_THRESHOLD 0.37f

typedef enum {
    GALLERY_KERNEL_AUTO = 0, /* the best the CPU supports */
    GALLERY_KERNEL_SCALAR,   /* portable C: the reference */
    GALLERY_KERNEL_AVX2,
    GALLERY_KERNEL_AVX512,
    GALLERY_KERNEL_AVX512_VNNI, /* AVX-512 with VNNI for the int8 pass (float: AVX512) */
    GALLERY_KERNEL_AVX_VNNI,    /* AVX2 with AVX-VNNI for the int8 pass (float: AVX2) */
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

/* How a person's templates make one score for the query. */
typedef enum {
    /* Cosine between the query and the mean of the person's templates (their
     * centroid, renormalized). The default: one lucky template of a
     * lookalike no longer decides, and several views of a person add up.
     * Measured best of best-template, mean of the top k, centroid, and
     * centroid without outliers by tests/face/test_face_openset.c. */
    GALLERY_RULE_CENTROID = 0,
    /* The mean of the person's best `top` templates (1: the best template,
     * the rule before the open-set evaluation). */
    GALLERY_RULE_TOP_MEAN = 1,
} gallery_rule;

/* Options of gallery_identify (kept as they were for existing callers). */
typedef struct {
    float threshold; /* below this decision score: unknown */
    int mean_of;     /* 0 or 1: the default rule (GALLERY_RULE_CENTROID); N >= 2: the mean of the
                        person's best N templates (GALLERY_RULE_TOP_MEAN) */
} gallery_decide_opts;

/* Every option of the decision, for gallery_identify_with. */
typedef struct {
    float threshold;   /* below this decision score: unknown */
    gallery_rule rule; /* how a person's templates make one score */
    int top;           /* GALLERY_RULE_TOP_MEAN: the mean of the best N templates (1 = best) */
    float margin;      /* also unknown when the next person's decision score is within this
                          of the best one's (0 = off; measured no gain on the test photos,
                          see README) */
} gallery_rule_opts;

typedef struct {
    int known;             /* 1: person is the match; 0: unknown (person is the closest) */
    int64_t person;        /* -1 when the gallery is empty */
    float score;           /* the decision score (centroid cosine, or mean of the best few) */
    float best;            /* the best single template of that person */
    float second;          /* the decision score of the next best person (-1 if none) */
    int templates;         /* how many of the person's templates made the score */
    int64_t best_template; /* the id of that best template (0 when none): the face to blame
                              when the match was wrong */
} gallery_match;

/* Decide who the query is (opts NULL: GALLERY_DEFAULT_THRESHOLD, centroid
 * rule, no margin; see gallery_decide_opts.mean_of for the rest). By the
 * centroid rule every person is a candidate: the gallery keeps each
 * person's centroid up to date as templates come and go, estimates every
 * centroid's cosine in int8, rescores the best 34 exactly and reads the
 * winner's own templates for `best` (one row a person and the winner's
 * rows, instead of every template). By the mean-of-best rule the
 * candidates are the people owning the best-scoring templates (an int8
 * pass over every template, then exact floats). The highest decision score
 * wins if it reaches the threshold (and leads the next person by the
 * margin), otherwise the answer is unknown with the closest person still
 * reported. The score is what callers compare with recognition_threshold,
 * so it must be the same rule's.
 *
 * Contract for callers (src/http today, src/recog after the move): call with
 * {threshold, 1} or NULL to get the calibrated default rule (and
 * GALLERY_DEFAULT_THRESHOLD as the default threshold); `known` is the
 * decision, `score` the confidence to store and show. One decision per face
 * and frame: deciding over a camera track (several frames of one person) is
 * the caller's job (see README). Thread-safe like gallery_search. */
gallery_match gallery_identify(gallery *g, const float *query, const gallery_decide_opts *opts);
/* The same with every option (opts NULL: the defaults, as above). */
gallery_match gallery_identify_with(gallery *g, const float *query, const gallery_rule_opts *opts);

/* The raw kernels: scores[i] = dot(q, rows + i * dim) for n rows, in float
 * and in int8 with exact int32 sums (every kernel gives identical results). */
void gallery_dot_rows(gallery_kernel k, const float *q, const float *rows, size_t n, int dim,
                      float *scores);
void gallery_dot_rows_i8(gallery_kernel k, const int8_t *q, const int8_t *rows, size_t n, int dim,
                         int32_t *out);

#endif
