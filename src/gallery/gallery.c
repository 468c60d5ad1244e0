/*
 * gallery.c — template storage, top-k search and the per-person decision.
 *
 * Templates live in blocks of GALLERY_BLOCK rows (embedding, person id,
 * template id side by side), so growing the gallery adds a block and never
 * moves existing rows. Removal moves the last row into the hole. Writers
 * are serialised by their own mutex and find what to change while holding
 * the lock shared (concurrent with searches); the exclusive lock is taken
 * only for the O(dim) change itself. The rwlock prefers writers so a steady
 * stream of searches cannot starve enrollment.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gallery.h"

#define GALLERY_BLOCK 1024

typedef struct {
    float *rows;                /* GALLERY_BLOCK * dim, unit length */
    int8_t *q8;                 /* the same rows in int8: row * 127 / max|row| */
    float scale[GALLERY_BLOCK]; /* max|row| / 127 */
    int64_t person[GALLERY_BLOCK];
    int64_t tid[GALLERY_BLOCK];
} block;

/* Template id -> row, for O(1) duplicate checks and removals. Only writers
 * (serialised by `writer`) touch it, so searches never wait for it. Linear
 * probing with backward-shift deletion; empty slots have row == SIZE_MAX. */
typedef struct {
    int64_t key;
    size_t row;
} slot;

struct gallery {
    int dim;
    slot *map;
    size_t map_cap, map_used;
    gallery_kernel kernel; /* resolved, never AUTO */
    pthread_rwlock_t lock;
    pthread_mutex_t writer;
    block **blocks;
    size_t nblocks, cap_blocks;
    size_t count;
};

static gallery_kernel best_kernel(void)
{
    if (gallery_kernel_available(GALLERY_KERNEL_AVX512_VNNI)) return GALLERY_KERNEL_AVX512_VNNI;
    if (gallery_kernel_available(GALLERY_KERNEL_AVX512)) return GALLERY_KERNEL_AVX512;
    if (gallery_kernel_available(GALLERY_KERNEL_AVX_VNNI)) return GALLERY_KERNEL_AVX_VNNI;
    if (gallery_kernel_available(GALLERY_KERNEL_AVX2)) return GALLERY_KERNEL_AVX2;
    return GALLERY_KERNEL_SCALAR;
}

rc_status gallery_create(int dim, gallery **out, rc_error *err)
{
    *out = NULL;
    if (dim <= 0 || dim > 65536)
        return rc_fail(err, RC_ERR_INVALID, "embedding size %d is out of range", dim);
    gallery *g = calloc(1, sizeof *g);
    if (!g) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    g->dim = dim;
    g->kernel = best_kernel();
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
#ifdef PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&g->lock, &a);
    pthread_rwlockattr_destroy(&a);
    pthread_mutex_init(&g->writer, NULL);
    *out = g;
    return RC_OK;
}

void gallery_free(gallery *g)
{
    if (!g) return;
    for (size_t b = 0; b < g->nblocks; b++) {
        free(g->blocks[b]->rows);
        free(g->blocks[b]->q8);
        free(g->blocks[b]);
    }
    free(g->blocks);
    free(g->map);
    pthread_rwlock_destroy(&g->lock);
    pthread_mutex_destroy(&g->writer);
    free(g);
}

rc_status gallery_set_kernel(gallery *g, gallery_kernel k, rc_error *err)
{
    if (k == GALLERY_KERNEL_AUTO) k = best_kernel();
    if (!gallery_kernel_available(k))
        return rc_fail(err, RC_ERR_UNSUPPORTED, "this CPU cannot run the %s kernel",
                       gallery_kernel_name(k));
    pthread_rwlock_wrlock(&g->lock);
    g->kernel = k;
    pthread_rwlock_unlock(&g->lock);
    return RC_OK;
}

gallery_kernel gallery_get_kernel(const gallery *g)
{
    return g->kernel;
}

int gallery_dim(const gallery *g)
{
    return g->dim;
}

size_t gallery_count(const gallery *g)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&g->lock);
    size_t n = g->count;
    pthread_rwlock_unlock((pthread_rwlock_t *)&g->lock);
    return n;
}

static float *row(const gallery *g, size_t i)
{
    return g->blocks[i / GALLERY_BLOCK]->rows + (i % GALLERY_BLOCK) * (size_t)g->dim;
}

static int64_t *person_at(const gallery *g, size_t i)
{
    return &g->blocks[i / GALLERY_BLOCK]->person[i % GALLERY_BLOCK];
}

static int64_t *tid_at(const gallery *g, size_t i)
{
    return &g->blocks[i / GALLERY_BLOCK]->tid[i % GALLERY_BLOCK];
}

static size_t map_slot(const gallery *g, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (g->map_cap - 1);
}

static size_t map_find(const gallery *g, int64_t key)
{
    if (!g->map_cap) return SIZE_MAX;
    for (size_t i = map_slot(g, key);; i = (i + 1) & (g->map_cap - 1)) {
        if (g->map[i].row == SIZE_MAX) return SIZE_MAX;
        if (g->map[i].key == key) return g->map[i].row;
    }
}

static void map_set(gallery *g, int64_t key, size_t row)
{
    size_t i = map_slot(g, key);
    while (g->map[i].row != SIZE_MAX && g->map[i].key != key) i = (i + 1) & (g->map_cap - 1);
    if (g->map[i].row == SIZE_MAX) g->map_used++;
    g->map[i].key = key;
    g->map[i].row = row;
}

static void map_del(gallery *g, int64_t key)
{
    if (!g->map_cap) return;
    size_t mask = g->map_cap - 1, i = map_slot(g, key);
    while (g->map[i].row != SIZE_MAX && g->map[i].key != key) i = (i + 1) & mask;
    if (g->map[i].row == SIZE_MAX) return;
    /* Backward shift: pull later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; g->map[j].row != SIZE_MAX; j = (j + 1) & mask) {
        size_t home = map_slot(g, g->map[j].key);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            g->map[i] = g->map[j];
            i = j;
        }
    }
    g->map[i].row = SIZE_MAX;
    g->map_used--;
}

/* Room for `extra` more keys (writer mutex held). */
static rc_status map_reserve(gallery *g, size_t extra, rc_error *err)
{
    if ((g->map_used + extra) * 2 <= g->map_cap) return RC_OK;
    size_t nc = g->map_cap ? g->map_cap : 1024;
    while ((g->map_used + extra) * 2 > nc) nc *= 2;
    slot *old = g->map, *nm = malloc(sizeof *nm * nc);
    if (!nm) return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery index");
    for (size_t i = 0; i < nc; i++) nm[i].row = SIZE_MAX;
    size_t oc = g->map_cap;
    g->map = nm;
    g->map_cap = nc;
    g->map_used = 0;
    for (size_t i = 0; i < oc; i++)
        if (old[i].row != SIZE_MAX) map_set(g, old[i].key, old[i].row);
    free(old);
    return RC_OK;
}

static rc_status normalize(const float *in, float *out, int dim, rc_error *err)
{
    double n2 = 0;
    for (int i = 0; i < dim; i++) {
        if (!isfinite(in[i]))
            return rc_fail(err, RC_ERR_INVALID, "embedding has a non-finite value");
        n2 += (double)in[i] * in[i];
    }
    if (n2 <= 1e-20) return rc_fail(err, RC_ERR_INVALID, "embedding is all zeros");
    float s = (float)(1.0 / sqrt(n2));
    for (int i = 0; i < dim; i++) out[i] = in[i] * s;
    return RC_OK;
}

/* Make room for one more row (exclusive lock held, or not yet published). */
static rc_status ensure_room(gallery *g, rc_error *err)
{
    if (g->count < g->nblocks * GALLERY_BLOCK) return RC_OK;
    if (g->nblocks == g->cap_blocks) {
        size_t nc = g->cap_blocks ? g->cap_blocks * 2 : 16;
        block **nb = realloc(g->blocks, nc * sizeof *nb);
        if (!nb) return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery");
        g->blocks = nb;
        g->cap_blocks = nc;
    }
    block *b = malloc(sizeof *b);
    float *rows = b ? aligned_alloc(64, sizeof(float) * GALLERY_BLOCK * (size_t)g->dim) : NULL;
    int8_t *q8 = b ? aligned_alloc(64, GALLERY_BLOCK * (size_t)g->dim) : NULL;
    if (!rows || !q8) {
        free(rows);
        free(q8);
        free(b);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery");
    }
    b->rows = rows;
    b->q8 = q8;
    g->blocks[g->nblocks++] = b;
    return RC_OK;
}

/* int8 copy of a vector with its own scale (v ~ q * scale). */
static float quantize(const float *v, int dim, int8_t *q)
{
    float m = 0;
    for (int i = 0; i < dim; i++) m = fmaxf(m, fabsf(v[i]));
    if (m <= 0) {
        memset(q, 0, (size_t)dim);
        return 0;
    }
    float k = 127.f / m;
    for (int i = 0; i < dim; i++) q[i] = (int8_t)lrintf(v[i] * k);
    return m / 127.f;
}

static int8_t *q8_at(const gallery *g, size_t i)
{
    return g->blocks[i / GALLERY_BLOCK]->q8 + (i % GALLERY_BLOCK) * (size_t)g->dim;
}

static float *scale_at(const gallery *g, size_t i)
{
    return &g->blocks[i / GALLERY_BLOCK]->scale[i % GALLERY_BLOCK];
}

static void append(gallery *g, int64_t person, int64_t tid, const float *unit)
{
    size_t i = g->count++;
    memcpy(row(g, i), unit, sizeof(float) * (size_t)g->dim);
    *scale_at(g, i) = quantize(unit, g->dim, q8_at(g, i));
    *person_at(g, i) = person;
    *tid_at(g, i) = tid;
    map_set(g, tid, i);
}

/* Remove row i by moving the last row into it (exclusive lock held). */
static void remove_at(gallery *g, size_t i)
{
    size_t last = g->count - 1;
    map_del(g, *tid_at(g, i));
    if (i != last) {
        memcpy(row(g, i), row(g, last), sizeof(float) * (size_t)g->dim);
        memcpy(q8_at(g, i), q8_at(g, last), (size_t)g->dim);
        *scale_at(g, i) = *scale_at(g, last);
        *person_at(g, i) = *person_at(g, last);
        *tid_at(g, i) = *tid_at(g, last);
        map_set(g, *tid_at(g, i), i);
    }
    g->count--;
    /* Keep one spare block at most. */
    if (g->nblocks >= 2 && g->count <= (g->nblocks - 2) * GALLERY_BLOCK) {
        block *b = g->blocks[--g->nblocks];
        free(b->rows);
        free(b->q8);
        free(b);
    }
}

static int has_template(gallery *g, int64_t tid)
{
    return map_find(g, tid) != SIZE_MAX;
}

rc_status gallery_add(gallery *g, int64_t person, int64_t template_id, const float *emb,
                      rc_error *err)
{
    float *unit = malloc(sizeof(float) * (size_t)g->dim);
    if (!unit) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    rc_status st = normalize(emb, unit, g->dim, err);
    if (st != RC_OK) {
        free(unit);
        return st;
    }
    pthread_mutex_lock(&g->writer);
    if (has_template(g, template_id)) {
        st = rc_fail(err, RC_ERR_CONFLICT, "template %lld is already in the gallery",
                     (long long)template_id);
    } else if ((st = map_reserve(g, 1, err)) == RC_OK) {
        pthread_rwlock_wrlock(&g->lock);
        st = ensure_room(g, err);
        if (st == RC_OK) append(g, person, template_id, unit);
        pthread_rwlock_unlock(&g->lock);
    }
    pthread_mutex_unlock(&g->writer);
    free(unit);
    return st;
}

/* Remove every row whose person (by_person) or template id matches `key`. */
static size_t remove_matching(gallery *g, int by_person, int64_t key)
{
    size_t removed = 0;
    for (size_t i = g->count; i-- > 0;) {
        int64_t v = by_person ? *person_at(g, i) : *tid_at(g, i);
        if (v == key) {
            remove_at(g, i);
            removed++;
        }
    }
    return removed;
}

size_t gallery_remove_template(gallery *g, int64_t template_id)
{
    pthread_mutex_lock(&g->writer);
    size_t at = map_find(g, template_id);
    if (at != SIZE_MAX) {
        pthread_rwlock_wrlock(&g->lock);
        remove_at(g, at);
        pthread_rwlock_unlock(&g->lock);
    }
    pthread_mutex_unlock(&g->writer);
    return at != SIZE_MAX;
}

size_t gallery_remove_person(gallery *g, int64_t person)
{
    pthread_mutex_lock(&g->writer);
    pthread_rwlock_wrlock(&g->lock);
    size_t n = remove_matching(g, 1, person);
    pthread_rwlock_unlock(&g->lock);
    pthread_mutex_unlock(&g->writer);
    return n;
}

rc_status gallery_replace_person(gallery *g, int64_t person, const float *embs,
                                 const int64_t *template_ids, int n, rc_error *err)
{
    if (n < 0) return rc_fail(err, RC_ERR_INVALID, "negative template count");
    float *units = n ? malloc(sizeof(float) * (size_t)g->dim * (size_t)n) : NULL;
    if (n && !units) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        rc_status st =
            normalize(embs + (size_t)i * g->dim, units + (size_t)i * g->dim, g->dim, err);
        if (st != RC_OK) {
            free(units);
            return st;
        }
        for (int j = 0; j < i; j++)
            if (template_ids[j] == template_ids[i]) {
                free(units);
                return rc_fail(err, RC_ERR_CONFLICT, "template %lld given twice",
                               (long long)template_ids[i]);
            }
    }
    pthread_mutex_lock(&g->writer);
    rc_status st = RC_OK;
    /* New ids must not belong to someone else. */
    for (int j = 0; j < n && st == RC_OK; j++) {
        size_t at = map_find(g, template_ids[j]);
        if (at != SIZE_MAX && *person_at(g, at) != person)
            st = rc_fail(err, RC_ERR_CONFLICT, "template %lld belongs to another person",
                         (long long)template_ids[j]);
    }
    /* Index room for all n up front so the swap cannot fail half way. */
    if (st == RC_OK) st = map_reserve(g, (size_t)n, err);
    if (st == RC_OK) {
        pthread_rwlock_wrlock(&g->lock);
        remove_matching(g, 1, person);
        /* Room for all n first so the swap cannot fail half way. */
        size_t need = g->count + (size_t)n;
        while (st == RC_OK && g->nblocks * GALLERY_BLOCK < need) {
            size_t c = g->count;
            g->count = g->nblocks * GALLERY_BLOCK; /* ask ensure_room for one more block */
            st = ensure_room(g, err);
            g->count = c;
        }
        if (st == RC_OK)
            for (int i = 0; i < n; i++)
                append(g, person, template_ids[i], units + (size_t)i * g->dim);
        pthread_rwlock_unlock(&g->lock);
    }
    pthread_mutex_unlock(&g->writer);
    free(units);
    return st;
}

/* A min-heap of the k best hits (root = worst kept). */
static void heap_push(gallery_hit *h, int *n, int k, gallery_hit x)
{
    if (*n < k) {
        int i = (*n)++;
        while (i > 0) {
            int p = (i - 1) / 2;
            if (h[p].score <= x.score) break;
            h[i] = h[p];
            i = p;
        }
        h[i] = x;
        return;
    }
    if (x.score <= h[0].score) return;
    int i = 0;
    for (int l = 1; l < k; l = 2 * i + 1) {
        /* Down to the smaller child (the left one when equal) while it is
         * below x: picked without a branch on the scores, which are in no
         * order a predictor could learn. */
        int r = l + 1, c = r < k && h[r].score < h[l].score ? r : l;
        if (!(h[c].score < x.score)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* Best first; equal scores (copies of one template) by template id, so
 * the order does not hang on whether the C library's qsort is stable. */
static int by_score_desc(const void *a, const void *b)
{
    const gallery_hit *x = a, *y = b;
    if (x->score != y->score) return (x->score < y->score) - (x->score > y->score);
    return (x->template_id > y->template_id) - (x->template_id < y->template_id);
}

/* Ask for the `bytes` at p to be brought into the cache (a hint: no fault,
 * no effect on results). */
static void prefetch_bytes(const void *p, size_t bytes)
{
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o);
}

int gallery_search(gallery *g, const float *query, int k, gallery_hit *out)
{
    if (k <= 0) return 0;
    int dim = g->dim;
    /* First pass in int8 keeps a margin of extra candidates, so that the
     * small quantisation error cannot push a true top-k template out. */
    int kc = k + (k / 2 > 32 ? k / 2 : 32);
    float *q = malloc(sizeof(float) * (size_t)dim);
    int8_t *q8 = malloc((size_t)dim);
    gallery_hit *cand = malloc(sizeof *cand * (size_t)kc);
    int n = 0;
    if (!q || !q8 || !cand || normalize(query, q, dim, NULL) != RC_OK) goto done;
    float qs = quantize(q, dim, q8);
    int32_t dots[GALLERY_BLOCK];
    float approx[GALLERY_BLOCK];
    pthread_rwlock_rdlock(&g->lock);
    for (size_t b = 0; b < g->nblocks; b++) {
        size_t first = b * GALLERY_BLOCK;
        if (first >= g->count) break;
        size_t rows = g->count - first < GALLERY_BLOCK ? g->count - first : GALLERY_BLOCK;
        const block *bl = g->blocks[b];
        gallery_dot_rows_i8(g->kernel, q8, bl->q8, rows, dim, dots);
        /* The estimates in one loop the compiler vectorizes, then one
         * compare a row with the worst kept (rarely passed once the heap is
         * full): the same rows reach heap_push in the same order as with a
         * push attempt per row, so the same candidates come out. */
        for (size_t i = 0; i < rows; i++) approx[i] = (float)dots[i] * bl->scale[i] * qs;
        float worst = n == kc ? cand[0].score : -INFINITY;
        for (size_t i = 0; i < rows; i++) {
            if (approx[i] <= worst) continue;
            /* template_id holds the row index until the exact pass. */
            gallery_hit h = {0, (int64_t)(first + i), approx[i]};
            heap_push(cand, &n, kc, h);
            worst = n == kc ? cand[0].score : -INFINITY;
        }
    }
    /* Exact float scores for the candidates, still under the read lock. The
     * candidates' rows are scattered over the gallery and cold: the next
     * one's is fetched while this one is scored. */
    for (int i = 0; i < n; i++) {
        if (i + 1 < n) {
            size_t nx = (size_t)cand[i + 1].template_id;
            prefetch_bytes(row(g, nx), sizeof(float) * (size_t)dim);
            __builtin_prefetch(person_at(g, nx));
            __builtin_prefetch(tid_at(g, nx));
        }
        size_t r = (size_t)cand[i].template_id;
        gallery_dot_rows(g->kernel, q, row(g, r), 1, dim, &cand[i].score);
        cand[i].person = *person_at(g, r);
        cand[i].template_id = *tid_at(g, r);
    }
    pthread_rwlock_unlock(&g->lock);
    qsort(cand, (size_t)n, sizeof *cand, by_score_desc);
    if (n > k) n = k;
    memcpy(out, cand, sizeof *out * (size_t)n);
done:
    free(q);
    free(q8);
    free(cand);
    return n;
}

/* People rescored by the centroid rule: those owning the best templates. */
#define GALLERY_CANDIDATES 16

/* sum[c] += r, element by element (dim floats). */
static void add_rows(float *sum, int dim, int c, const float *r)
{
    float *acc = sum + (size_t)c * dim;
    for (int d = 0; d < dim; d++) acc[d] += r[d];
}

/* The centroid rule for the candidate people: the sum of each one's
 * templates (one pass over the person ids under the read lock, so a
 * concurrent replace is seen whole or not at all), then the cosine between
 * the unit query q and that sum. score[c] is -1 for a person with no
 * templates left; returns -1 when out of memory. */
static int centroid_scores(gallery *g, const float *q, const int64_t *cand, int nc, float *score,
                           int *count)
{
    int dim = g->dim;
    float *sum = calloc((size_t)nc * (size_t)dim, sizeof(float));
    if (!sum) return -1;
    memset(count, 0, sizeof *count * (size_t)nc);
    /* The candidates in a hash set 64 times their number: one probe per
     * row, and a row of nobody of interest (nearly all) meets an empty slot
     * at once, so the branch on it is predictable. */
    enum { SET = 64 * GALLERY_CANDIDATES, SET_BITS = 10 };
    _Static_assert(SET == 1 << SET_BITS, "the hash takes SET_BITS bits");
    int8_t set[SET];
    memset(set, -1, sizeof set);
    for (int c = 0; c < nc; c++) {
        unsigned h = (unsigned)(((uint64_t)cand[c] * 0x9E3779B97F4A7C15ull) >> (64 - SET_BITS));
        while (set[h] >= 0) h = (h + 1) & (SET - 1);
        set[h] = (int8_t)c;
    }
    /* A matching row is summed a few matches later, after a prefetch:
     * rows are summed in row order all the same. */
    enum { LAG = 8 };
    struct {
        int c;
        const float *r;
    } lag[LAG];
    int nlag = 0;
    pthread_rwlock_rdlock(&g->lock);
    for (size_t b = 0; b < g->nblocks && b * GALLERY_BLOCK < g->count; b++) {
        const block *bl = g->blocks[b];
        size_t rows = g->count - b * GALLERY_BLOCK;
        if (rows > GALLERY_BLOCK) rows = GALLERY_BLOCK;
        for (size_t i = 0; i < rows; i++) {
            int64_t p = bl->person[i];
            unsigned h = (unsigned)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >> (64 - SET_BITS));
            for (; set[h] >= 0; h = (h + 1) & (SET - 1)) {
                int c = set[h];
                if (cand[c] != p) continue;
                if (nlag == LAG) {
                    add_rows(sum, dim, lag[0].c, lag[0].r);
                    memmove(lag, lag + 1, sizeof lag[0] * (LAG - 1));
                    nlag--;
                }
                lag[nlag].c = c;
                lag[nlag].r = bl->rows + i * (size_t)dim;
                prefetch_bytes(lag[nlag++].r, sizeof(float) * (size_t)dim);
                count[c]++;
                break;
            }
        }
    }
    for (int i = 0; i < nlag; i++) add_rows(sum, dim, lag[i].c, lag[i].r);
    pthread_rwlock_unlock(&g->lock);
    /* The cosines, all candidates side by side: each one's sums run over d
     * in order as before (the same bits), but sixteen at once instead of one
     * long chain of dependent additions. */
    double qs[GALLERY_CANDIDATES] = {0}, n2[GALLERY_CANDIDATES] = {0};
    for (int d = 0; d < dim; d++)
        for (int c = 0; c < nc; c++) {
            double a = sum[(size_t)c * dim + d];
            qs[c] += (double)q[d] * a;
            n2[c] += a * a;
        }
    for (int c = 0; c < nc; c++) score[c] = n2[c] > 0 ? (float)(qs[c] / sqrt(n2[c])) : -1;
    free(sum);
    return 0;
}

gallery_match gallery_identify(gallery *g, const float *query, const gallery_decide_opts *opts)
{
    gallery_rule_opts o = {GALLERY_DEFAULT_THRESHOLD, GALLERY_RULE_CENTROID, 1, 0};
    if (opts) {
        o.threshold = opts->threshold;
        if (opts->mean_of >= 2) o.rule = GALLERY_RULE_TOP_MEAN, o.top = opts->mean_of;
    }
    return gallery_identify_with(g, query, &o);
}

gallery_match gallery_identify_with(gallery *g, const float *query, const gallery_rule_opts *opts)
{
    gallery_rule_opts o =
        opts ? *opts : (gallery_rule_opts){GALLERY_DEFAULT_THRESHOLD, GALLERY_RULE_CENTROID, 1, 0};
    if (o.top < 1) o.top = 1;
    gallery_match m = {0, -1, -1, -1, -1, 0, 0};
    int k = 64 + 8 * o.top;
    gallery_hit *hits = malloc(sizeof *hits * (size_t)k);
    /* Per candidate person, in order of their best template (zeroed: the
     * compiler cannot see that only the np written are read). */
    int64_t *who = calloc((size_t)k, sizeof *who);
    float *best = malloc(sizeof *best * (size_t)k), *score = malloc(sizeof *score * (size_t)k);
    int64_t *best_id = malloc(sizeof *best_id * (size_t)k);
    float *q = malloc(sizeof *q * (size_t)g->dim);
    int *count = malloc(sizeof *count * (size_t)k);
    if (!hits || !who || !best || !best_id || !score || !q || !count ||
        normalize(query, q, g->dim, NULL) != RC_OK)
        goto done;
    int n = gallery_search(g, q, k, hits), np = 0;
    /* Hits are best first, so each person's first hits are their best. The
     * centroid rule scores the first GALLERY_CANDIDATES people itself. */
    int centroid = o.rule == GALLERY_RULE_CENTROID;
    for (int i = 0; i < n && !(centroid && np == GALLERY_CANDIDATES); i++) {
        int64_t p = hits[i].person;
        int seen = 0;
        for (int j = 0; j < np && !seen; j++) seen = who[j] == p;
        if (seen) continue;
        who[np] = p;
        best[np] = hits[i].score;
        best_id[np] = hits[i].template_id;
        if (!centroid) {
            float sum = 0;
            int c = 0, total = 0;
            for (int j = i; j < n; j++)
                if (hits[j].person == p) {
                    if (c < o.top) sum += hits[j].score, c++;
                    total++;
                }
            score[np] = sum / c;
            count[np] = total;
        }
        np++;
    }
    if (centroid && centroid_scores(g, q, who, np, score, count) != 0) goto done;
    for (int i = 0; i < np; i++) {
        if (count[i] == 0) continue; /* removed since the search */
        if (score[i] > m.score || m.person < 0) {
            if (m.person >= 0) m.second = m.score;
            m.person = who[i];
            m.score = score[i];
            m.best = best[i];
            m.best_template = best_id[i];
            m.templates = count[i];
        } else if (score[i] > m.second) {
            m.second = score[i];
        }
    }
    m.known = m.person >= 0 && m.score >= o.threshold &&
              (o.margin <= 0 || m.second < 0 || m.score - m.second >= o.margin);
done:
    free(hits);
    free(who);
    free(best);
    free(best_id);
    free(score);
    free(q);
    free(count);
    return m;
}
