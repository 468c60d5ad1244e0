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
 *
 * Beside the templates, each person has one centroid kept up to date by
 * every add and removal (the sum of their unit templates in double, its
 * norm, and an int8 copy of the renormalized sum), and their templates are
 * linked in a list, so the centroid rule reads one row per person instead
 * of every template, and the winner's own templates without a scan.
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
    size_t prev[GALLERY_BLOCK], next[GALLERY_BLOCK]; /* the person's other rows (SIZE_MAX: none) */
} block;

/* People: one centroid each, GALLERY_BLOCK to a block like the templates. */
typedef struct {
    double *sum;                /* GALLERY_BLOCK * dim: the sum of the person's unit rows */
    int8_t *q8;                 /* the renormalized sum in int8 (zeros when the sum is 0) */
    float scale[GALLERY_BLOCK]; /* as block.scale */
    double norm[GALLERY_BLOCK]; /* |sum| */
    int64_t person[GALLERY_BLOCK];
    size_t head[GALLERY_BLOCK]; /* the person's first row */
    int count[GALLERY_BLOCK];   /* how many rows */
} pblock;

/* Id -> index (template id -> row, person -> centroid), for O(1) duplicate
 * checks and removals. Only writers (serialised by `writer`) touch them, so
 * searches never wait for them. Linear probing with backward-shift
 * deletion; empty slots have row == SIZE_MAX. */
typedef struct {
    int64_t key;
    size_t row;
} slot;

typedef struct {
    slot *s;
    size_t cap, used;
} idmap;

struct gallery {
    int dim;
    idmap map, pmap;
    gallery_kernel kernel; /* resolved, never AUTO */
    pthread_rwlock_t lock;
    pthread_mutex_t writer;
    block **blocks;
    size_t nblocks, cap_blocks;
    size_t count;
    pblock **pblocks;
    size_t npblocks, cap_pblocks;
    size_t people;
    float *unit; /* dim floats: a centroid renormalized (writers only) */
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
    g->unit = malloc(sizeof(float) * (size_t)dim);
    if (!g->unit) {
        free(g);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
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
    for (size_t b = 0; b < g->npblocks; b++) {
        free(g->pblocks[b]->sum);
        free(g->pblocks[b]->q8);
        free(g->pblocks[b]);
    }
    free(g->pblocks);
    free(g->map.s);
    free(g->pmap.s);
    free(g->unit);
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

static size_t map_slot(const idmap *m, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (m->cap - 1);
}

static size_t map_find(const idmap *m, int64_t key)
{
    if (!m->cap) return SIZE_MAX;
    for (size_t i = map_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->s[i].row == SIZE_MAX) return SIZE_MAX;
        if (m->s[i].key == key) return m->s[i].row;
    }
}

static void map_set(idmap *m, int64_t key, size_t row)
{
    size_t i = map_slot(m, key);
    while (m->s[i].row != SIZE_MAX && m->s[i].key != key) i = (i + 1) & (m->cap - 1);
    if (m->s[i].row == SIZE_MAX) m->used++;
    m->s[i].key = key;
    m->s[i].row = row;
}

static void map_del(idmap *m, int64_t key)
{
    if (!m->cap) return;
    size_t mask = m->cap - 1, i = map_slot(m, key);
    while (m->s[i].row != SIZE_MAX && m->s[i].key != key) i = (i + 1) & mask;
    if (m->s[i].row == SIZE_MAX) return;
    /* Backward shift: pull later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->s[j].row != SIZE_MAX; j = (j + 1) & mask) {
        size_t home = map_slot(m, m->s[j].key);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->s[i] = m->s[j];
            i = j;
        }
    }
    m->s[i].row = SIZE_MAX;
    m->used--;
}

/* Room for `extra` more keys (writer mutex held). */
static rc_status map_reserve(idmap *m, size_t extra, rc_error *err)
{
    if ((m->used + extra) * 2 <= m->cap) return RC_OK;
    size_t nc = m->cap ? m->cap : 1024;
    while ((m->used + extra) * 2 > nc) nc *= 2;
    slot *old = m->s, *nm = malloc(sizeof *nm * nc);
    if (!nm) return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery index");
    for (size_t i = 0; i < nc; i++) nm[i].row = SIZE_MAX;
    size_t oc = m->cap;
    m->s = nm;
    m->cap = nc;
    m->used = 0;
    for (size_t i = 0; i < oc; i++)
        if (old[i].row != SIZE_MAX) map_set(m, old[i].key, old[i].row);
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

/* A block struct of `size` bytes and its two arrays (64-byte aligned), or
 * NULL with nothing allocated. */
static void *alloc_block(size_t size, size_t a_bytes, void **a, size_t q_bytes, void **q)
{
    void *b = malloc(size);
    *a = b ? aligned_alloc(64, a_bytes) : NULL;
    *q = b ? aligned_alloc(64, q_bytes) : NULL;
    if (*a && *q) return b;
    free(*a);
    free(*q);
    free(b);
    return NULL;
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
    void *rows, *q8;
    block *b = alloc_block(sizeof *b, sizeof(float) * GALLERY_BLOCK * (size_t)g->dim, &rows,
                           GALLERY_BLOCK * (size_t)g->dim, &q8);
    if (!b) return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery");
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

static size_t *prev_at(const gallery *g, size_t i)
{
    return &g->blocks[i / GALLERY_BLOCK]->prev[i % GALLERY_BLOCK];
}

static size_t *next_at(const gallery *g, size_t i)
{
    return &g->blocks[i / GALLERY_BLOCK]->next[i % GALLERY_BLOCK];
}

/* ---- People: a centroid each ------------------------------------------- */

static pblock *pb(const gallery *g, size_t c)
{
    return g->pblocks[c / GALLERY_BLOCK];
}

static double *psum(const gallery *g, size_t c)
{
    return pb(g, c)->sum + (c % GALLERY_BLOCK) * (size_t)g->dim;
}

static int8_t *pq8(const gallery *g, size_t c)
{
    return pb(g, c)->q8 + (c % GALLERY_BLOCK) * (size_t)g->dim;
}

#define PFIELD(g, c, f) (pb(g, c)->f[(c) % GALLERY_BLOCK])

/* Room for one more person (exclusive lock held, before any change). */
static rc_status ensure_person_room(gallery *g, rc_error *err)
{
    if (g->people < g->npblocks * GALLERY_BLOCK) return RC_OK;
    if (g->npblocks == g->cap_pblocks) {
        size_t nc = g->cap_pblocks ? g->cap_pblocks * 2 : 16;
        pblock **nb = realloc(g->pblocks, nc * sizeof *nb);
        if (!nb) return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery");
        g->pblocks = nb;
        g->cap_pblocks = nc;
    }
    void *sum, *q8;
    pblock *b = alloc_block(sizeof *b, sizeof(double) * GALLERY_BLOCK * (size_t)g->dim, &sum,
                            GALLERY_BLOCK * (size_t)g->dim, &q8);
    if (!b) return rc_fail(err, RC_ERR_NOMEM, "out of memory growing the gallery");
    b->sum = sum;
    b->q8 = q8;
    g->pblocks[g->npblocks++] = b;
    return RC_OK;
}

/* The norm and int8 copy of centroid c after its sum changed. */
static void centroid_refresh(gallery *g, size_t c)
{
    const double *sum = psum(g, c);
    double n2 = 0;
    for (int d = 0; d < g->dim; d++) n2 += sum[d] * sum[d];
    double n = sqrt(n2);
    PFIELD(g, c, norm) = n;
    if (n > 0)
        for (int d = 0; d < g->dim; d++) g->unit[d] = (float)(sum[d] / n);
    else
        memset(g->unit, 0, sizeof(float) * (size_t)g->dim);
    PFIELD(g, c, scale) = quantize(g->unit, g->dim, pq8(g, c));
}

/* Row i (just written) joins its person: a new centroid when they had none
 * (room made by ensure_person_room and map_reserve beforehand). */
static void person_join(gallery *g, size_t i)
{
    int64_t p = *person_at(g, i);
    size_t c = map_find(&g->pmap, p);
    if (c == SIZE_MAX) {
        c = g->people++;
        memset(psum(g, c), 0, sizeof(double) * (size_t)g->dim);
        PFIELD(g, c, person) = p;
        PFIELD(g, c, head) = SIZE_MAX;
        PFIELD(g, c, count) = 0;
        map_set(&g->pmap, p, c);
    }
    size_t h = PFIELD(g, c, head);
    *prev_at(g, i) = SIZE_MAX;
    *next_at(g, i) = h;
    if (h != SIZE_MAX) *prev_at(g, h) = i;
    PFIELD(g, c, head) = i;
    PFIELD(g, c, count)++;
    double *sum = psum(g, c);
    const float *r = row(g, i);
    for (int d = 0; d < g->dim; d++) sum[d] += r[d];
    centroid_refresh(g, c);
}

/* Row i leaves its person; the last centroid moves into the hole when the
 * person has no rows left. */
static void person_leave(gallery *g, size_t i)
{
    int64_t p = *person_at(g, i);
    size_t c = map_find(&g->pmap, p), pv = *prev_at(g, i), nx = *next_at(g, i);
    if (pv != SIZE_MAX)
        *next_at(g, pv) = nx;
    else
        PFIELD(g, c, head) = nx;
    if (nx != SIZE_MAX) *prev_at(g, nx) = pv;
    if (--PFIELD(g, c, count) > 0) {
        double *sum = psum(g, c);
        const float *r = row(g, i);
        for (int d = 0; d < g->dim; d++) sum[d] -= r[d];
        centroid_refresh(g, c);
        return;
    }
    map_del(&g->pmap, p);
    size_t last = --g->people;
    if (c != last) {
        memcpy(psum(g, c), psum(g, last), sizeof(double) * (size_t)g->dim);
        memcpy(pq8(g, c), pq8(g, last), (size_t)g->dim);
        PFIELD(g, c, scale) = PFIELD(g, last, scale);
        PFIELD(g, c, norm) = PFIELD(g, last, norm);
        PFIELD(g, c, person) = PFIELD(g, last, person);
        PFIELD(g, c, head) = PFIELD(g, last, head);
        PFIELD(g, c, count) = PFIELD(g, last, count);
        map_set(&g->pmap, PFIELD(g, c, person), c);
    }
    if (g->npblocks >= 2 && g->people <= (g->npblocks - 2) * GALLERY_BLOCK) {
        pblock *b = g->pblocks[--g->npblocks];
        free(b->sum);
        free(b->q8);
        free(b);
    }
}

static void append(gallery *g, int64_t person, int64_t tid, const float *unit)
{
    size_t i = g->count++;
    memcpy(row(g, i), unit, sizeof(float) * (size_t)g->dim);
    *scale_at(g, i) = quantize(unit, g->dim, q8_at(g, i));
    *person_at(g, i) = person;
    *tid_at(g, i) = tid;
    map_set(&g->map, tid, i);
    person_join(g, i);
}

/* Remove row i by moving the last row into it (exclusive lock held). */
static void remove_at(gallery *g, size_t i)
{
    size_t last = g->count - 1;
    person_leave(g, i);
    map_del(&g->map, *tid_at(g, i));
    if (i != last) {
        memcpy(row(g, i), row(g, last), sizeof(float) * (size_t)g->dim);
        memcpy(q8_at(g, i), q8_at(g, last), (size_t)g->dim);
        *scale_at(g, i) = *scale_at(g, last);
        *person_at(g, i) = *person_at(g, last);
        *tid_at(g, i) = *tid_at(g, last);
        map_set(&g->map, *tid_at(g, i), i);
        /* The moved row's neighbours (or its person's head) point at i. */
        size_t pv = *prev_at(g, last), nx = *next_at(g, last);
        *prev_at(g, i) = pv;
        *next_at(g, i) = nx;
        if (pv != SIZE_MAX)
            *next_at(g, pv) = i;
        else
            PFIELD(g, map_find(&g->pmap, *person_at(g, i)), head) = i;
        if (nx != SIZE_MAX) *prev_at(g, nx) = i;
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
    return map_find(&g->map, tid) != SIZE_MAX;
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
    } else if ((st = map_reserve(&g->map, 1, err)) == RC_OK &&
               (st = map_reserve(&g->pmap, 1, err)) == RC_OK) {
        pthread_rwlock_wrlock(&g->lock);
        st = ensure_room(g, err);
        if (st == RC_OK) st = ensure_person_room(g, err);
        if (st == RC_OK) append(g, person, template_id, unit);
        pthread_rwlock_unlock(&g->lock);
    }
    pthread_mutex_unlock(&g->writer);
    free(unit);
    return st;
}

/* Remove every row of a person (exclusive lock held), by their list. */
static size_t remove_rows_of(gallery *g, int64_t person)
{
    size_t c = map_find(&g->pmap, person), removed = 0;
    if (c == SIZE_MAX) return 0;
    size_t n = (size_t)PFIELD(g, c, count);
    /* Their first row each time: removing the last one drops the centroid
     * (and another may move into its place), so look c up no more. */
    for (; removed < n; removed++) remove_at(g, PFIELD(g, map_find(&g->pmap, person), head));
    return removed;
}

size_t gallery_remove_template(gallery *g, int64_t template_id)
{
    pthread_mutex_lock(&g->writer);
    size_t at = map_find(&g->map, template_id);
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
    size_t n = remove_rows_of(g, person);
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
        size_t at = map_find(&g->map, template_ids[j]);
        if (at != SIZE_MAX && *person_at(g, at) != person)
            st = rc_fail(err, RC_ERR_CONFLICT, "template %lld belongs to another person",
                         (long long)template_ids[j]);
    }
    /* Index room for all n up front so the swap cannot fail half way. */
    if (st == RC_OK) st = map_reserve(&g->map, (size_t)n, err);
    if (st == RC_OK) st = map_reserve(&g->pmap, 1, err);
    if (st == RC_OK) {
        pthread_rwlock_wrlock(&g->lock);
        /* Room for the person first (they may have no centroid yet), so
         * nothing is removed when it cannot be made. */
        st = ensure_person_room(g, err);
        if (st == RC_OK) remove_rows_of(g, person);
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

/* The centroid rule's first pass keeps this many people beyond the two it
 * needs (the best and the next), so that the int8 estimates' small error
 * cannot push either out. */
#define GALLERY_CENTROID_MARGIN 32

/* Exact centroid cosines of the unit query q for nc people (the cosine in
 * double, each person's sum over d in order; several people side by side,
 * independent chains). */
static void centroid_exact(const gallery *g, const float *q, const size_t *c, int nc, float *score)
{
    enum { SIDE = 8 };
    for (int i0 = 0; i0 < nc; i0 += SIDE) {
        int m = nc - i0 < SIDE ? nc - i0 : SIDE;
        const double *sum[SIDE];
        double acc[SIDE] = {0};
        for (int j = 0; j < m; j++) sum[j] = psum(g, c[i0 + j]);
        for (int d = 0; d < g->dim; d++)
            for (int j = 0; j < m; j++) acc[j] += (double)q[d] * sum[j][d];
        for (int j = 0; j < m; j++) {
            double n = PFIELD(g, c[i0 + j], norm);
            score[i0 + j] = n > 0 ? (float)(acc[j] / n) : -1;
        }
    }
}

/* The default rule: the int8 estimate of every person's centroid cosine,
 * the best few rescored exactly, the best and the next decided; then the
 * winner's best template, read from their own rows. */
static gallery_match identify_by_centroid(gallery *g, const float *q)
{
    gallery_match m = {0, -1, -1, -1, -1, 0, 0};
    int dim = g->dim, kc = 2 + GALLERY_CENTROID_MARGIN, n = 0;
    int8_t *q8 = malloc((size_t)dim);
    gallery_hit cand[2 + GALLERY_CENTROID_MARGIN];
    if (!q8) return m;
    float qs = quantize(q, dim, q8);
    int32_t dots[GALLERY_BLOCK];
    pthread_rwlock_rdlock(&g->lock);
    for (size_t b = 0; b < g->npblocks && b * GALLERY_BLOCK < g->people; b++) {
        size_t first = b * GALLERY_BLOCK;
        size_t rows = g->people - first < GALLERY_BLOCK ? g->people - first : GALLERY_BLOCK;
        const pblock *pbl = g->pblocks[b];
        gallery_dot_rows_i8(g->kernel, q8, pbl->q8, rows, dim, dots);
        float worst = n == kc ? cand[0].score : -INFINITY;
        for (size_t i = 0; i < rows; i++) {
            float approx = (float)dots[i] * pbl->scale[i] * qs;
            if (approx <= worst) continue;
            /* template_id holds the centroid's index until the exact pass. */
            heap_push(cand, &n, kc, (gallery_hit){0, (int64_t)(first + i), approx});
            worst = n == kc ? cand[0].score : -INFINITY;
        }
    }
    size_t at[2 + GALLERY_CENTROID_MARGIN];
    float score[2 + GALLERY_CENTROID_MARGIN];
    for (int i = 0; i < n; i++) at[i] = (size_t)cand[i].template_id;
    centroid_exact(g, q, at, n, score);
    /* Best first; equal scores by person id, whatever order the heap left. */
    int win = -1;
    for (int i = 0; i < n; i++) {
        int64_t p = PFIELD(g, at[i], person);
        if (win < 0 || score[i] > m.score || (score[i] == m.score && p < m.person)) {
            if (win >= 0) m.second = m.score;
            win = i;
            m.person = p;
            m.score = score[i];
        } else if (score[i] > m.second) {
            m.second = score[i];
        }
    }
    if (win >= 0) {
        /* The winner's best template, equal scores by template id. */
        size_t c = at[win];
        m.templates = PFIELD(g, c, count);
        int first = 1;
        for (size_t r = PFIELD(g, c, head); r != SIZE_MAX; r = *next_at(g, r), first = 0) {
            float sc;
            gallery_dot_rows(g->kernel, q, row(g, r), 1, dim, &sc);
            int64_t t = *tid_at(g, r);
            if (first || sc > m.best || (sc == m.best && t < m.best_template)) {
                m.best = sc;
                m.best_template = t;
            }
        }
    }
    pthread_rwlock_unlock(&g->lock);
    free(q8);
    return m;
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
    float *q = malloc(sizeof *q * (size_t)g->dim);
    int k = 64 + 8 * o.top;
    gallery_hit *hits = NULL;
    int64_t *who = NULL;
    float *best = NULL, *score = NULL;
    int64_t *best_id = NULL;
    int *count = NULL;
    if (!q || normalize(query, q, g->dim, NULL) != RC_OK) goto done;
    if (o.rule == GALLERY_RULE_CENTROID) {
        m = identify_by_centroid(g, q);
        goto decide;
    }
    /* The mean of each person's best `top` templates, among the people
     * owning the best k templates. */
    hits = malloc(sizeof *hits * (size_t)k);
    who = malloc(sizeof *who * (size_t)k);
    best = malloc(sizeof *best * (size_t)k);
    score = malloc(sizeof *score * (size_t)k);
    best_id = malloc(sizeof *best_id * (size_t)k);
    count = malloc(sizeof *count * (size_t)k);
    if (!hits || !who || !best || !best_id || !score || !count) goto done;
    int n = gallery_search(g, q, k, hits), np = 0;
    /* Hits are best first, so each person's first hits are their best. */
    for (int i = 0; i < n; i++) {
        int64_t p = hits[i].person;
        int seen = 0;
        for (int j = 0; j < np && !seen; j++) seen = who[j] == p;
        if (seen) continue;
        who[np] = p;
        best[np] = hits[i].score;
        best_id[np] = hits[i].template_id;
        float sum = 0;
        int c = 0, total = 0;
        for (int j = i; j < n; j++)
            if (hits[j].person == p) {
                if (c < o.top) sum += hits[j].score, c++;
                total++;
            }
        score[np] = sum / c;
        count[np] = total;
        np++;
    }
    for (int i = 0; i < np; i++) {
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
decide:
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
