/* test_gallery.c — search results against a brute-force reference, the
 * SIMD kernels against the plain C one, the per-person decision with its
 * unknown threshold, and updates racing with searches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gallery/gallery.h"

#define DIM 512

static uint64_t rng_state = 88172645463325252ull;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.f - 1.f;
}

static void random_unit(float *v, int dim)
{
    double n = 0;
    for (int i = 0; i < dim; i++) {
        v[i] = frand();
        n += v[i] * v[i];
    }
    for (int i = 0; i < dim; i++) v[i] /= (float)sqrt(n);
}

static void kernels_agree_with_plain_c(void **state)
{
    (void)state;
    const int dims[] = {1, 7, 16, 33, 128, 512, 515};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        int dim = dims[d];
        size_t n = 37;
        float *rows = malloc(sizeof(float) * n * dim), q[600], ref[37], got[37];
        for (size_t i = 0; i < n * dim; i++) rows[i] = frand();
        for (int i = 0; i < dim; i++) q[i] = frand();
        gallery_dot_rows(GALLERY_KERNEL_SCALAR, q, rows, n, dim, ref);
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (int k = 0; k < dim; k++) s += (double)q[k] * rows[i * dim + k];
            assert_float_equal(ref[i], s, 1e-4);
        }
        for (int k = GALLERY_KERNEL_AVX2; k <= GALLERY_KERNEL_AVX_VNNI; k++) {
            if (!gallery_kernel_available((gallery_kernel)k)) continue;
            gallery_dot_rows((gallery_kernel)k, q, rows, n, dim, got);
            for (size_t i = 0; i < n; i++) assert_float_equal(got[i], ref[i], 1e-4);
        }
        free(rows);
    }
}

/* Every int8 kernel against the scalar one and a sum written out here, on
 * the row counts and sizes the SIMD kernels split on: rows in groups of 16
 * (AVX-512 VNNI) or 8 (AVX-VNNI) with a shorter last group, 32- and 64-byte
 * chunks with a tail of every kind, and the extreme bytes (±127 everywhere,
 * -128: the VNNI kernels' sign trick must hold for it too). */
static void check_i8(const int8_t *q, const int8_t *rows, size_t n, int dim)
{
    int32_t *ref = malloc(sizeof(int32_t) * n), *got = malloc(sizeof(int32_t) * (n + 1));
    gallery_dot_rows_i8(GALLERY_KERNEL_SCALAR, q, rows, n, dim, ref);
    for (size_t i = 0; i < n; i++) {
        int32_t s = 0;
        for (int k = 0; k < dim; k++) s += q[k] * rows[i * dim + k];
        assert_int_equal(ref[i], s);
    }
    for (int k = GALLERY_KERNEL_AVX2; k <= GALLERY_KERNEL_AVX_VNNI; k++) {
        if (!gallery_kernel_available((gallery_kernel)k)) continue;
        got[n] = 0x5a5a5a5a; /* a short last group must not write past n */
        gallery_dot_rows_i8((gallery_kernel)k, q, rows, n, dim, got);
        for (size_t i = 0; i < n; i++)
            if (got[i] != ref[i])
                fail_msg("%s kernel, dim %d, row %zu of %zu: %d, expected %d",
                         gallery_kernel_name((gallery_kernel)k), dim, i, n, got[i], ref[i]);
        assert_int_equal(got[n], 0x5a5a5a5a);
    }
    free(ref);
    free(got);
}

static void int8_kernels_are_exact(void **state)
{
    (void)state;
    const int dims[] = {1, 15, 31, 32, 33, 63, 64, 65, 100, 127, 128, 512, 530};
    const size_t counts[] = {1, 7, 8, 9, 15, 16, 17, 21, 33};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            int dim = dims[d];
            size_t n = counts[c];
            /* The rows end exactly at the end of their allocation, so a
             * kernel reading past its last row shows under ASan. */
            int8_t *rows = malloc(n * dim), *q = malloc((size_t)dim);
            for (size_t i = 0; i < n * dim; i++) rows[i] = (int8_t)(frand() * 127);
            for (int i = 0; i < dim; i++) q[i] = (int8_t)(frand() * 127);
            /* Extremes too: -128 * -128 summed over 530 still fits in int32. */
            rows[0] = -128;
            q[0] = -128;
            rows[n * dim - 1] = -128;
            q[dim - 1] = -127;
            check_i8(q, rows, n, dim);
            /* All one sign and the largest magnitudes, both ways round. */
            const int8_t ext[][2] = {{127, 127},   {127, -127}, {-127, 127}, {-127, -127},
                                     {-128, -128}, {-128, 127}, {127, -128}, {0, -128}};
            for (size_t e = 0; e < sizeof ext / sizeof ext[0]; e++) {
                memset(q, ext[e][0], (size_t)dim);
                memset(rows, ext[e][1], n * dim);
                check_i8(q, rows, n, dim);
            }
            /* Alternating signs in the query, random rows with -128s. */
            for (int i = 0; i < dim; i++) q[i] = (int8_t)(i & 1 ? -128 + i % 3 : 127 - i % 5);
            for (size_t i = 0; i < n * dim; i++)
                rows[i] = (int8_t)(i % 7 == 0 ? -128 : frand() * 127);
            check_i8(q, rows, n, dim);
            free(rows);
            free(q);
        }
}

static void search_matches_brute_force(void **state)
{
    (void)state;
    gallery *g;
    assert_int_equal(gallery_create(DIM, &g, NULL), RC_OK);
    const int n = 3000; /* several storage blocks */
    float *all = malloc(sizeof(float) * n * DIM);
    for (int i = 0; i < n; i++) {
        random_unit(all + (size_t)i * DIM, DIM);
        assert_int_equal(gallery_add(g, i / 3, 1000 + i, all + (size_t)i * DIM, NULL), RC_OK);
    }
    assert_int_equal(gallery_count(g), n);
    float q[DIM];
    random_unit(q, DIM);
    float *ref = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < DIM; k++) s += (double)q[k] * all[(size_t)i * DIM + k];
        ref[i] = (float)s;
    }
    for (int kern = GALLERY_KERNEL_SCALAR; kern <= GALLERY_KERNEL_AVX_VNNI; kern++) {
        if (gallery_set_kernel(g, (gallery_kernel)kern, NULL) != RC_OK) continue;
        gallery_hit hits[10];
        assert_int_equal(gallery_search(g, q, 10, hits), 10);
        /* Each hit is >= every template not returned. */
        for (int h = 0; h < 10; h++) {
            int i = (int)(hits[h].template_id - 1000);
            assert_float_equal(hits[h].score, ref[i], 1e-4);
            assert_int_equal(hits[h].person, i / 3);
            if (h) assert_true(hits[h].score <= hits[h - 1].score);
        }
        int better = 0;
        for (int i = 0; i < n; i++) better += ref[i] > hits[9].score + 1e-4f;
        assert_true(better <= 9);
    }
    /* k larger than the gallery returns everything. */
    gallery *small;
    gallery_create(4, &small, NULL);
    float v[4] = {1, 0, 0, 0};
    gallery_add(small, 1, 1, v, NULL);
    gallery_hit hits[5];
    assert_int_equal(gallery_search(small, v, 5, hits), 1);
    assert_float_equal(hits[0].score, 1.0, 1e-6);
    gallery_free(small);
    free(ref);
    free(all);
    gallery_free(g);
}

/* A VNNI kernel changes only how the int8 first pass is computed, and its
 * sums are exact: searches and decisions must be the same bits as with the
 * kernel that shares its float pass (AVX-512 VNNI with AVX-512, AVX-VNNI
 * with AVX2), on a gallery whose last block ends inside a row group. */
static void vnni_kernels_decide_like_their_twins(void **state)
{
    (void)state;
    gallery *g;
    assert_int_equal(gallery_create(DIM, &g, NULL), RC_OK);
    const int n = 2 * 1024 + 957;
    float v[DIM];
    for (int i = 0; i < n; i++) {
        random_unit(v, DIM);
        assert_int_equal(gallery_add(g, i / 5, i, v, NULL), RC_OK);
    }
    const gallery_kernel pairs[][2] = {{GALLERY_KERNEL_AVX512_VNNI, GALLERY_KERNEL_AVX512},
                                       {GALLERY_KERNEL_AVX_VNNI, GALLERY_KERNEL_AVX2}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        if (!gallery_kernel_available(pairs[p][0])) continue;
        for (int t = 0; t < 20; t++) {
            random_unit(v, DIM);
            if (t % 4 == 0) { /* near a new person: a known answer too */
                float w[DIM];
                random_unit(w, DIM);
                for (int k = 0; k < DIM; k++) v[k] = w[k] * 0.3f + v[k] * 0.1f;
                int64_t id = 100000 + 100 * (int64_t)p + t;
                assert_int_equal(gallery_add(g, id, id, w, NULL), RC_OK);
            }
            gallery_hit h[2][72];
            gallery_match m[2];
            for (int side = 0; side < 2; side++) {
                assert_int_equal(gallery_set_kernel(g, pairs[p][side], NULL), RC_OK);
                assert_int_equal(gallery_search(g, v, 72, h[side]), 72);
                m[side] = gallery_identify(g, v, NULL);
            }
            for (int i = 0; i < 72; i++) { /* field by field: the struct has padding */
                assert_int_equal(h[0][i].person, h[1][i].person);
                assert_int_equal(h[0][i].template_id, h[1][i].template_id);
                assert_memory_equal(&h[0][i].score, &h[1][i].score, sizeof(float));
            }
            assert_int_equal(m[0].known, m[1].known);
            assert_int_equal(m[0].person, m[1].person);
            assert_memory_equal(&m[0].score, &m[1].score, sizeof(float));
            assert_memory_equal(&m[0].second, &m[1].second, sizeof(float));
            assert_int_equal(m[0].best_template, m[1].best_template);
            if (t % 4 == 0) assert_true(m[0].known);
        }
    }
    gallery_free(g);
}

/* ---- The search and the decision written out the plain way ----------------
 * What gallery_search and gallery_identify compute, step by step from the
 * templates the test added (in order, nothing removed), with the gallery's
 * own kernels for the dot products: the same int8 copies and scales; the
 * rows offered in order to a min-heap of the kc best int8 estimates (a row
 * enters when the heap has room or when it beats the root, strictly; this
 * decides which of equal estimates stay); the heap's rows rescored in float
 * and sorted best first, equal scores by template id; the best k. Then the
 * people of the hits in order, each one's centroid summed in row order and
 * its cosine in double. The fast paths must give the same bits. */
typedef struct {
    int n, dim;
    const float *emb; /* n rows as added (not normalized) */
    const int64_t *person;
    gallery_kernel kernel;
} plain_gallery;

static void plain_normalize(const float *in, float *out, int dim)
{
    double n2 = 0;
    for (int i = 0; i < dim; i++) n2 += (double)in[i] * in[i];
    float s = (float)(1.0 / sqrt(n2));
    for (int i = 0; i < dim; i++) out[i] = in[i] * s;
}

static float plain_quantize(const float *v, int dim, int8_t *q)
{
    float m = 0;
    for (int i = 0; i < dim; i++) m = fmaxf(m, fabsf(v[i]));
    float k = 127.f / m;
    for (int i = 0; i < dim; i++) q[i] = (int8_t)lrintf(v[i] * k);
    return m / 127.f;
}

typedef struct {
    float score;
    int row;
} plain_cand;

static void plain_heap_offer(plain_cand *h, int *n, int k, plain_cand x)
{
    int i;
    if (*n < k) {
        for (i = (*n)++; i > 0 && h[(i - 1) / 2].score > x.score; i = (i - 1) / 2)
            h[i] = h[(i - 1) / 2];
        h[i] = x;
        return;
    }
    if (x.score <= h[0].score) return;
    for (i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        float ms = x.score;
        if (l < k && h[l].score < ms) m = l, ms = h[l].score;
        if (r < k && h[r].score < ms) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static int plain_by_score(const void *a, const void *b)
{
    const plain_cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->row - y->row; /* equal scores by template id, 1000 + row */
}

/* The k best rows for the query: rows[] and exact scores[]; returns how many. */
static int plain_search(const plain_gallery *pg, const float *query, int k, int *rows,
                        float *scores)
{
    int dim = pg->dim, kc = k + (k / 2 > 32 ? k / 2 : 32), n = 0;
    float *q = malloc(sizeof(float) * dim), *unit = malloc(sizeof(float) * dim);
    int8_t *q8 = malloc(dim), *r8 = malloc(dim);
    plain_cand *c = malloc(sizeof *c * kc);
    plain_normalize(query, q, dim);
    float qs = plain_quantize(q, dim, q8);
    for (int i = 0; i < pg->n; i++) {
        plain_normalize(pg->emb + (size_t)i * dim, unit, dim);
        float rs = plain_quantize(unit, dim, r8);
        int32_t d;
        gallery_dot_rows_i8(GALLERY_KERNEL_SCALAR, q8, r8, 1, dim, &d);
        plain_heap_offer(c, &n, kc, (plain_cand){(float)d * rs * qs, i});
    }
    for (int i = 0; i < n; i++) {
        plain_normalize(pg->emb + (size_t)c[i].row * dim, unit, dim);
        gallery_dot_rows(pg->kernel, q, unit, 1, dim, &c[i].score);
    }
    qsort(c, n, sizeof *c, plain_by_score);
    if (n > k) n = k;
    for (int i = 0; i < n; i++) rows[i] = c[i].row, scores[i] = c[i].score;
    free(q);
    free(unit);
    free(q8);
    free(r8);
    free(c);
    return n;
}

/* gallery_identify(g, query, NULL) the plain way: each person's centroid
 * (the sum of their unit rows in row order, in double, and its norm), its
 * unit copy in int8 offered, people in order of their first row, to a heap
 * of the 34 best estimates; those rescored exactly (the cosine in double);
 * the best (equal scores: the lower person id) and the next; the winner's
 * best row by the kernel's float dot (equal scores: the lower template id). */
static gallery_match plain_identify(const plain_gallery *pg, const float *query)
{
    int dim = pg->dim, np = 0, nc = 0;
    float q[DIM], unit[DIM];
    int8_t q8[DIM], r8[DIM];
    gallery_match m = {0, -1, -1, -1, -1, 0, 0};
    plain_normalize(query, q, dim);
    float qs = plain_quantize(q, dim, q8);
    int64_t *who = malloc(sizeof *who * pg->n);
    double *sum = calloc((size_t)pg->n * dim, sizeof *sum);
    for (int r = 0; r < pg->n; r++) {
        int c = 0;
        while (c < np && who[c] != pg->person[r]) c++;
        if (c == np) who[np++] = pg->person[r];
        plain_normalize(pg->emb + (size_t)r * dim, unit, dim);
        for (int d = 0; d < dim; d++) sum[(size_t)c * dim + d] += unit[d];
    }
    plain_cand cand[34];
    for (int c = 0; c < np; c++) {
        double n2 = 0, *s = sum + (size_t)c * dim;
        for (int d = 0; d < dim; d++) n2 += s[d] * s[d];
        double n = sqrt(n2);
        for (int d = 0; d < dim; d++) unit[d] = (float)(s[d] / n);
        float rs = plain_quantize(unit, dim, r8);
        int32_t dot;
        gallery_dot_rows_i8(GALLERY_KERNEL_SCALAR, q8, r8, 1, dim, &dot);
        plain_heap_offer(cand, &nc, 34, (plain_cand){(float)dot * rs * qs, c});
    }
    int win = -1;
    for (int i = 0; i < nc; i++) {
        const double *s = sum + (size_t)cand[i].row * dim;
        double acc = 0, n2 = 0;
        for (int d = 0; d < dim; d++) acc += (double)q[d] * s[d];
        for (int d = 0; d < dim; d++) n2 += s[d] * s[d];
        float score = (float)(acc / sqrt(n2));
        int64_t p = who[cand[i].row];
        if (win < 0 || score > m.score || (score == m.score && p < m.person)) {
            if (win >= 0) m.second = m.score;
            win = cand[i].row;
            m.person = p;
            m.score = score;
        } else if (score > m.second) {
            m.second = score;
        }
    }
    for (int r = 0; r < pg->n; r++) {
        if (pg->person[r] != m.person) continue;
        plain_normalize(pg->emb + (size_t)r * dim, unit, dim);
        float sc;
        gallery_dot_rows(pg->kernel, q, unit, 1, dim, &sc);
        if (m.templates++ == 0 || sc > m.best || (sc == m.best && 1000 + r < m.best_template))
            m.best = sc, m.best_template = 1000 + r;
    }
    m.known = m.person >= 0 && m.score >= GALLERY_DEFAULT_THRESHOLD;
    free(who);
    free(sum);
    return m;
}

static void same_bits(float a, float b)
{
    assert_memory_equal(&a, &b, sizeof a);
}

/* Random people (1 to 9 templates each, some templates exact copies: equal
 * scores), queries at random and near a person. */
static void search_and_decision_match_the_plain_way(void **state)
{
    (void)state;
    const int n = 2 * 1024 + 333;
    float *emb = malloc(sizeof(float) * n * DIM), *v = malloc(sizeof(float) * DIM);
    int64_t *person = malloc(sizeof(int64_t) * n);
    gallery *g;
    assert_int_equal(gallery_create(DIM, &g, NULL), RC_OK);
    int64_t p = 0;
    for (int i = 0, left = 0; i < n; i++) {
        if (left-- <= 0) p++, left = (int)((frand() + 1) * 4.5f);
        person[i] = p;
        if (i % 97 == 5) /* a second copy of the row before, same person */
            memcpy(emb + (size_t)i * DIM, emb + (size_t)(i - 1) * DIM, sizeof(float) * DIM);
        else
            for (int d = 0; d < DIM; d++) emb[(size_t)i * DIM + d] = frand();
        if (i % 97 == 5) person[i] = person[i - 1];
        assert_int_equal(gallery_add(g, person[i], 1000 + i, emb + (size_t)i * DIM, NULL), RC_OK);
    }
    for (int kern = GALLERY_KERNEL_SCALAR; kern <= GALLERY_KERNEL_AVX_VNNI; kern++) {
        if (gallery_set_kernel(g, (gallery_kernel)kern, NULL) != RC_OK) continue;
        plain_gallery pg = {n, DIM, emb, person, (gallery_kernel)kern};
        for (int t = 0; t < 12; t++) {
            int near = t % 3 == 0 ? (int)((frand() + 1) * 0.5f * (n - 1)) : -1;
            for (int d = 0; d < DIM; d++)
                v[d] = frand() + (near >= 0 ? 4 * emb[(size_t)near * DIM + d] : 0);
            int rows[72];
            float scores[72];
            int want = plain_search(&pg, v, 72, rows, scores);
            gallery_hit h[72];
            assert_int_equal(gallery_search(g, v, 72, h), want);
            for (int i = 0; i < want; i++) {
                assert_int_equal(h[i].template_id, 1000 + rows[i]);
                assert_int_equal(h[i].person, person[rows[i]]);
                same_bits(h[i].score, scores[i]);
            }
            gallery_match a = plain_identify(&pg, v), b = gallery_identify(g, v, NULL);
            assert_int_equal(b.known, a.known);
            assert_int_equal(b.person, a.person);
            same_bits(b.score, a.score);
            same_bits(b.best, a.best);
            same_bits(b.second, a.second);
            assert_int_equal(b.templates, a.templates);
            assert_int_equal(b.best_template, a.best_template);
            if (near >= 0) assert_int_equal(b.person, person[near]);
        }
    }
    gallery_free(g);
    free(emb);
    free(v);
    free(person);
}

static void decision_per_person_with_unknown(void **state)
{
    (void)state;
    gallery *g;
    gallery_create(DIM, &g, NULL);
    /* Person p has 4 templates near a centre c_p. */
    float centre[5][DIM], t[DIM];
    for (int p = 0; p < 5; p++) {
        random_unit(centre[p], DIM);
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < DIM; i++) t[i] = centre[p][i] + 0.02f * frand();
            assert_int_equal(gallery_add(g, 100 + p, p * 10 + k, t, NULL), RC_OK);
        }
    }
    gallery_decide_opts o = {.threshold = 0.5f, .mean_of = 3}; /* GALLERY_RULE_TOP_MEAN */
    for (int p = 0; p < 5; p++) {
        gallery_match m = gallery_identify(g, centre[p], &o);
        assert_int_equal(m.known, 1);
        assert_int_equal(m.person, 100 + p);
        assert_int_equal(m.templates, 4);
        assert_true(m.score <= m.best + 1e-6f);
        assert_true(m.second < m.score);
    }
    /* A stranger is unknown, but the closest person is still reported. */
    float s[DIM];
    random_unit(s, DIM);
    gallery_match m = gallery_identify(g, s, &o);
    assert_int_equal(m.known, 0);
    assert_true(m.person >= 100);
    assert_true(m.score < 0.5f);
    /* Empty gallery: unknown, no person. */
    gallery *e;
    gallery_create(DIM, &e, NULL);
    m = gallery_identify(e, s, &o);
    assert_int_equal(m.known, 0);
    assert_int_equal(m.person, -1);
    gallery_free(e);
    gallery_free(g);
}

/* v = c * e_a + sqrt(1 - c^2) * e_b: cosine c with e_a, orthogonal parts. */
static void mix(float *v, int a, float c, int b)
{
    memset(v, 0, sizeof(float) * DIM);
    v[a] = c;
    v[b] = sqrtf(1 - c * c);
}

static void centroid_rule_outvotes_one_lucky_template(void **state)
{
    (void)state;
    gallery *g;
    gallery_create(DIM, &g, NULL);
    float q[DIM] = {1}, t[DIM];
    /* Person 1 (a lookalike): one template at cosine 0.55 with the query,
     * two unrelated ones. Centroid cosine 0.55 / sqrt(3) = 0.318. */
    mix(t, 0, 0.55f, 1);
    gallery_add(g, 1, 10, t, NULL);
    mix(t, 2, 1, 3);
    gallery_add(g, 1, 11, t, NULL);
    mix(t, 3, 1, 2);
    gallery_add(g, 1, 12, t, NULL);
    /* Person 2: three templates at 0.5 each, different in the rest.
     * Centroid cosine 1.5 / sqrt(4.5) = 0.707. */
    for (int k = 0; k < 3; k++) {
        mix(t, 0, 0.5f, 4 + k);
        gallery_add(g, 2, 20 + k, t, NULL);
    }
    gallery_match m = gallery_identify(g, q, NULL); /* the default: centroid */
    assert_int_equal(m.person, 2);
    assert_int_equal(m.known, 1);
    assert_float_equal(m.score, 0.7071, 1e-3);
    assert_float_equal(m.best, 0.5, 1e-3);
    assert_float_equal(m.second, 0.3175, 1e-3);
    assert_int_equal(m.templates, 3);
    /* The old rule (best template) picks the lookalike. */
    gallery_rule_opts best = {GALLERY_DEFAULT_THRESHOLD, GALLERY_RULE_TOP_MEAN, 1, 0};
    m = gallery_identify_with(g, q, &best);
    assert_int_equal(m.person, 1);
    assert_float_equal(m.score, 0.55, 1e-3);
    /* A margin over the second person. */
    gallery_rule_opts mg = {GALLERY_DEFAULT_THRESHOLD, GALLERY_RULE_CENTROID, 1, 0.3f};
    assert_int_equal(gallery_identify_with(g, q, &mg).known, 1);
    mg.margin = 0.5f;
    m = gallery_identify_with(g, q, &mg);
    assert_int_equal(m.known, 0);
    assert_int_equal(m.person, 2);
    /* A stranger matching the lookalike's one template at 0.55 (above the
     * threshold for the best-template rule) is unknown by the centroid. */
    gallery_remove_person(g, 2);
    m = gallery_identify(g, q, NULL);
    assert_int_equal(m.person, 1);
    assert_int_equal(m.known, 0);
    assert_true(gallery_identify_with(g, q, &best).known);
    /* The old options struct: mean_of 1 is the default rule too. */
    gallery_decide_opts old = {GALLERY_DEFAULT_THRESHOLD, 1};
    assert_int_equal(gallery_identify(g, q, &old).known, 0);
    gallery_free(g);
}

static void updates_and_bad_input(void **state)
{
    (void)state;
    gallery *g;
    rc_error err;
    assert_int_equal(gallery_create(0, &g, &err), RC_ERR_INVALID);
    gallery_create(DIM, &g, NULL);
    float v[DIM], z[DIM] = {0};
    random_unit(v, DIM);
    assert_int_equal(gallery_add(g, 1, 7, z, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "zero"));
    v[3] = NAN;
    assert_int_equal(gallery_add(g, 1, 7, v, &err), RC_ERR_INVALID);
    random_unit(v, DIM);
    assert_int_equal(gallery_add(g, 1, 7, v, NULL), RC_OK);
    assert_int_equal(gallery_add(g, 2, 7, v, &err), RC_ERR_CONFLICT);
    for (int i = 0; i < 2500; i++) {
        random_unit(v, DIM);
        gallery_add(g, 2 + i % 5, 100 + i, v, NULL);
    }
    assert_int_equal(gallery_remove_template(g, 7), 1);
    assert_int_equal(gallery_remove_template(g, 7), 0);
    assert_int_equal(gallery_remove_person(g, 3), 500);
    assert_int_equal(gallery_count(g), 2000);
    /* Replace: person 2's 500 templates become 2 new ones. */
    float two[2 * DIM];
    random_unit(two, DIM);
    random_unit(two + DIM, DIM);
    int64_t ids[2] = {9001, 9002};
    assert_int_equal(gallery_replace_person(g, 2, two, ids, 2, NULL), RC_OK);
    assert_int_equal(gallery_count(g), 1502);
    gallery_hit h[1];
    assert_int_equal(gallery_search(g, two + DIM, 1, h), 1);
    assert_int_equal(h[0].template_id, 9002);
    assert_int_equal(h[0].person, 2);
    /* An id owned by someone else is refused and nothing changes. */
    int64_t taken[2] = {9003, 102}; /* 102 is person 4's */
    assert_int_equal(gallery_replace_person(g, 2, two, taken, 2, &err), RC_ERR_CONFLICT);
    assert_int_equal(gallery_count(g), 1502);
    assert_int_equal(gallery_remove_person(g, 2), 2);
    /* The id index stayed right through all the moves: every remaining
     * template can be removed by id exactly once. */
    size_t left = gallery_count(g), removed = 0;
    for (int i = 0; i < 2500; i++) removed += gallery_remove_template(g, 100 + i);
    assert_int_equal(removed, left);
    assert_int_equal(gallery_count(g), 0);
    random_unit(v, DIM);
    assert_int_equal(gallery_add(g, 1, 7, v, NULL), RC_OK);
    assert_int_equal(gallery_set_kernel(g, GALLERY_KERNEL_SCALAR, NULL), RC_OK);
    assert_string_equal(gallery_kernel_name(gallery_get_kernel(g)), "scalar");
    gallery_free(g);
}

/* The centroids and each person's list of rows are kept by every add,
 * removal and replacement (rows moving into holes, people emptied, blocks
 * freed): after random churn, every decision is the one worked out from the
 * templates left, person by person. */
typedef struct {
    int64_t person, tid;
    float v[DIM];
    int alive;
} churn_row;

static void centroids_follow_every_change(void **state)
{
    (void)state;
    enum { CAP = 6000 };
    churn_row *t = calloc(CAP, sizeof *t);
    int n = 0;
    int64_t next_tid = 1;
    gallery *g;
    assert_int_equal(gallery_create(DIM, &g, NULL), RC_OK);
    for (; n < 2600; n++) { /* 2600 rows of about 650 people (1-7 each) */
        t[n].person = 1 + (int64_t)((frand() + 1) * 325);
        t[n].tid = next_tid++;
        random_unit(t[n].v, DIM);
        t[n].alive = 1;
        assert_int_equal(gallery_add(g, t[n].person, t[n].tid, t[n].v, NULL), RC_OK);
    }
    float q[DIM];
    for (int round = 0; round < 6; round++) {
        /* Churn: single removals, whole people removed, people replaced. */
        for (int k = 0; k < 300; k++) {
            int i = (int)((frand() + 1) * 0.5f * (n - 1));
            if (t[i].alive) {
                assert_int_equal(gallery_remove_template(g, t[i].tid), 1);
                t[i].alive = 0;
            }
        }
        for (int k = 0; k < 40; k++) {
            int64_t p = 1 + (int64_t)((frand() + 1) * 325);
            size_t want = 0;
            for (int i = 0; i < n; i++)
                if (t[i].alive && t[i].person == p) t[i].alive = 0, want++;
            if (k % 2) {
                assert_int_equal(gallery_remove_person(g, p), want);
                continue;
            }
            float embs[3 * DIM];
            int64_t ids[3];
            for (int j = 0; j < 3 && n < CAP; j++) {
                t[n].person = p;
                t[n].tid = ids[j] = next_tid++;
                random_unit(t[n].v, DIM);
                memcpy(embs + j * DIM, t[n].v, sizeof t[n].v);
                t[n++].alive = 1;
            }
            assert_int_equal(gallery_replace_person(g, p, embs, ids, 3, NULL), RC_OK);
        }
        for (int k = 0; k < 150 && n < CAP; k++) {
            t[n].person = 1 + (int64_t)((frand() + 1) * 400); /* some new people */
            t[n].tid = next_tid++;
            random_unit(t[n].v, DIM);
            t[n].alive = 1;
            assert_int_equal(gallery_add(g, t[n].person, t[n].tid, t[n].v, NULL), RC_OK);
            n++;
        }
        /* Queries near a living row, and at random. */
        for (int k = 0; k < 10; k++) {
            int near = -1;
            while (k % 2 == 0 && (near < 0 || !t[near].alive))
                near = (int)((frand() + 1) * 0.5f * (n - 1));
            for (int d = 0; d < DIM; d++) q[d] = frand() * 0.05f + (near >= 0 ? t[near].v[d] : 0);
            if (near < 0) random_unit(q, DIM);
            double qn = 0;
            for (int d = 0; d < DIM; d++) qn += (double)q[d] * q[d];
            /* Every person's centroid cosine from the rows left. */
            double bs = -2, ss = -2;
            int64_t bp = -1;
            for (int i = 0; i < n; i++) {
                if (!t[i].alive) continue;
                int64_t p = t[i].person;
                int first = 1;
                for (int j = 0; j < i && first; j++) first = !(t[j].alive && t[j].person == p);
                if (!first) continue;
                double sum[DIM] = {0}, dot = 0, n2 = 0;
                for (int j = i; j < n; j++)
                    if (t[j].alive && t[j].person == p)
                        for (int d = 0; d < DIM; d++) sum[d] += t[j].v[d];
                for (int d = 0; d < DIM; d++) dot += q[d] * sum[d], n2 += sum[d] * sum[d];
                double c = dot / sqrt(n2 * qn);
                if (c > bs)
                    ss = bs, bs = c, bp = p;
                else if (c > ss)
                    ss = c;
            }
            gallery_match m = gallery_identify(g, q, NULL);
            assert_int_equal(m.person, bp);
            assert_float_equal(m.score, bs, 1e-5);
            assert_float_equal(m.second, ss, 1e-5);
            int count = 0;
            double best = -2;
            int64_t best_tid = 0;
            for (int i = 0; i < n; i++) {
                if (!t[i].alive || t[i].person != bp) continue;
                count++;
                double dot = 0;
                for (int d = 0; d < DIM; d++) dot += q[d] * t[i].v[d];
                if (dot / sqrt(qn) > best) best = dot / sqrt(qn), best_tid = t[i].tid;
            }
            assert_int_equal(m.templates, count);
            assert_int_equal(m.best_template, best_tid);
            assert_float_equal(m.best, best, 1e-5);
            if (near >= 0) assert_int_equal(m.person, t[near].person);
        }
    }
    /* Emptied, the gallery knows nobody, and takes people again. */
    for (int i = 0; i < n; i++)
        if (t[i].alive) assert_int_equal(gallery_remove_template(g, t[i].tid), 1);
    assert_int_equal(gallery_count(g), 0);
    assert_int_equal(gallery_identify(g, q, NULL).person, -1);
    assert_int_equal(gallery_add(g, 9, next_tid, q, NULL), RC_OK);
    gallery_match m = gallery_identify(g, q, NULL);
    assert_int_equal(m.person, 9);
    assert_int_equal(m.templates, 1);
    assert_int_equal(m.best_template, next_tid);
    gallery_free(g);
    free(t);
}

/* Readers search while a writer flips person 1 between two template sets
 * and churns other people. A reader must always see one whole set. */
typedef struct {
    gallery *g;
    float *old_set, *new_set;
    atomic_int stop;
    atomic_int torn, searches;
} race;

static void *reader(void *arg)
{
    race *r = arg;
    gallery_hit hits[64];
    while (!atomic_load(&r->stop)) {
        int n = gallery_search(r->g, r->old_set, 64, hits);
        int olds = 0, news = 0;
        for (int i = 0; i < n; i++)
            if (hits[i].person == 1) {
                if (hits[i].template_id < 20)
                    olds++;
                else
                    news++;
            }
        if (!((olds == 3 && news == 0) || (olds == 0 && news == 3))) atomic_fetch_add(&r->torn, 1);
        atomic_fetch_add(&r->searches, 1);
    }
    return NULL;
}

static void searches_run_during_updates(void **state)
{
    (void)state;
    race r = {0};
    gallery_create(DIM, &r.g, NULL);
    r.old_set = malloc(sizeof(float) * 3 * DIM);
    r.new_set = malloc(sizeof(float) * 3 * DIM);
    random_unit(r.old_set, DIM);
    random_unit(r.new_set, DIM);
    /* Three near-copies each, so person 1 always has all 3 in the top 64. */
    for (int k = 1; k < 3; k++) {
        memcpy(r.old_set + k * DIM, r.old_set, sizeof(float) * DIM);
        memcpy(r.new_set + k * DIM, r.old_set, sizeof(float) * DIM);
        r.old_set[k * DIM] += 0.01f * k;
        r.new_set[k * DIM + 1] += 0.01f * k;
    }
    memcpy(r.new_set, r.old_set, sizeof(float) * DIM);
    int64_t old_ids[3] = {10, 11, 12}, new_ids[3] = {20, 21, 22};
    gallery_replace_person(r.g, 1, r.old_set, old_ids, 3, NULL);
    float v[DIM];
    for (int i = 0; i < 1500; i++) {
        random_unit(v, DIM);
        gallery_add(r.g, 1000 + i, 1000 + i, v, NULL);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, reader, &r);
    for (int it = 0; it < 300; it++) {
        int flip = it & 1;
        assert_int_equal(gallery_replace_person(r.g, 1, flip ? r.new_set : r.old_set,
                                                flip ? new_ids : old_ids, 3, NULL),
                         RC_OK);
        random_unit(v, DIM);
        gallery_add(r.g, 5000 + it, 5000 + it, v, NULL);
        gallery_remove_template(r.g, 1000 + it);
    }
    while (atomic_load(&r.searches) < 50) sched_yield();
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&r.torn), 0);
    assert_int_equal(gallery_count(r.g), 3 + 1500);
    free(r.old_set);
    free(r.new_set);
    gallery_free(r.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernels_agree_with_plain_c),
        cmocka_unit_test(int8_kernels_are_exact),
        cmocka_unit_test(search_matches_brute_force),
        cmocka_unit_test(vnni_kernels_decide_like_their_twins),
        cmocka_unit_test(search_and_decision_match_the_plain_way),
        cmocka_unit_test(decision_per_person_with_unknown),
        cmocka_unit_test(centroid_rule_outvotes_one_lucky_template),
        cmocka_unit_test(updates_and_bad_input),
        cmocka_unit_test(centroids_follow_every_change),
        cmocka_unit_test(searches_run_during_updates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
