/*
 * follow.c — the in-memory gallery kept current with the store, one person
 * at a time. At start the whole gallery is loaded once. After that a change
 * is applied per person: recog_person_changed for changes this process made
 * (enrollment, deletion), and the follower thread for everything else. The
 * follower waits on the store's gallery version (LISTEN/NOTIFY on
 * PostgreSQL, polling on SQLite); when it moves, it reads the face and
 * person ids (not the vectors), compares them with what is loaded, and
 * reloads only the persons whose faces differ. Searches never wait for it:
 * gallery_replace_person swaps one person's templates atomically.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static int row_cmp(const void *a, const void *b)
{
    const recog_row *x = a, *y = b;
    if (x->person != y->person) return x->person < y->person ? -1 : 1;
    return (x->face > y->face) - (x->face < y->face);
}

static void gauge(recog *r)
{
    rc_metrics_set(r->cfg.metrics, "rollcall_gallery_size", "face templates in the gallery",
                   (double)gallery_count(r->gallery));
}

rc_status recog_gallery_load(recog *r, rc_error *err)
{
    store_gallery sg;
    rc_status st = store_gallery_load(r->cfg.store, r->model_id, &sg, err);
    if (st != RC_OK) return st;
    recog_row *rows = calloc(sg.count + 1, sizeof *rows);
    if (!rows) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&r->sync_lock);
    for (size_t i = 0; st == RC_OK && i < sg.count; i++) {
        if (sg.dim != FACE_EMB_DIM) break;
        st = gallery_add(r->gallery, sg.person_ids[i], sg.face_ids[i],
                         sg.vectors + i * (size_t)sg.dim, err);
        rows[i] = (recog_row){sg.person_ids[i], sg.face_ids[i]};
    }
    if (st == RC_OK) {
        qsort(rows, sg.count, sizeof *rows, row_cmp);
        free(r->loaded);
        r->loaded = rows;
        r->nloaded = sg.dim == FACE_EMB_DIM ? sg.count : 0;
        rows = NULL;
        r->full_loads++;
        rc_metrics_add(r->cfg.metrics, "rollcall_gallery_full_loads_total",
                       "whole-gallery loads from the store (one at start)", 1);
    }
    pthread_mutex_unlock(&r->sync_lock);
    free(rows);
    store_gallery_free(&sg);
    gauge(r);
    return st;
}

/* Reload one person's templates from the store into the gallery and the
 * loaded rows (under sync_lock). */
static rc_status apply_person(recog *r, int64_t person, rc_error *err)
{
    store_gallery sg;
    rc_status st = store_gallery_load_person(r->cfg.store, r->model_id, person, &sg, err);
    if (st != RC_OK) return st;
    if (sg.count && sg.dim != FACE_EMB_DIM) sg.count = 0;
    st = gallery_replace_person(r->gallery, person, sg.vectors, sg.face_ids, (int)sg.count, err);
    if (st == RC_OK) {
        /* Drop the person's old rows, append the new ones, keep sorted. */
        size_t j = 0;
        for (size_t i = 0; i < r->nloaded; i++)
            if (r->loaded[i].person != person) r->loaded[j++] = r->loaded[i];
        recog_row *nl = realloc(r->loaded, (j + sg.count + 1) * sizeof *nl);
        if (!nl) {
            st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
            r->nloaded = j;
        } else {
            r->loaded = nl;
            for (size_t i = 0; i < sg.count; i++) nl[j++] = (recog_row){person, sg.face_ids[i]};
            r->nloaded = j;
            qsort(nl, j, sizeof *nl, row_cmp);
        }
        r->person_updates++;
        rc_metrics_add(r->cfg.metrics, "rollcall_gallery_person_updates_total",
                       "persons whose templates were replaced in the live gallery", 1);
    }
    store_gallery_free(&sg);
    return st;
}

rc_status recog_person_changed(recog *r, int64_t person_id, rc_error *err)
{
    pthread_mutex_lock(&r->sync_lock);
    rc_status st = apply_person(r, person_id, err);
    pthread_mutex_unlock(&r->sync_lock);
    gauge(r);
    return st;
}

/* Is person p's run in a (from *i) the same set as in b (from *j)? Advances
 * both past the person. */
static bool same_person(const recog_row *a, size_t na, size_t *i, const recog_row *b, size_t nb,
                        size_t *j, int64_t p)
{
    bool same = true;
    while (*i < na && a[*i].person == p && *j < nb && b[*j].person == p) {
        if (a[*i].face != b[*j].face) same = false;
        (*i)++;
        (*j)++;
    }
    if ((*i < na && a[*i].person == p) || (*j < nb && b[*j].person == p)) same = false;
    while (*i < na && a[*i].person == p) (*i)++;
    while (*j < nb && b[*j].person == p) (*j)++;
    return same;
}

rc_status recog_sync(recog *r, rc_error *err)
{
    store_gallery ids;
    rc_status st = store_gallery_ids(r->cfg.store, r->model_id, &ids, err);
    if (st != RC_OK) return st;
    recog_row *now = calloc(ids.count + 1, sizeof *now);
    if (!now) {
        store_gallery_free(&ids);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < ids.count; k++) now[k] = (recog_row){ids.person_ids[k], ids.face_ids[k]};
    size_t nn = ids.dim == FACE_EMB_DIM || ids.count == 0 ? ids.count : 0;
    store_gallery_free(&ids);
    qsort(now, nn, sizeof *now, row_cmp);
    pthread_mutex_lock(&r->sync_lock);
    /* The persons to apply: walk both sorted lists. */
    size_t cap = 16, nchanged = 0;
    int64_t *changed = malloc(cap * sizeof *changed);
    size_t i = 0, j = 0;
    while (changed && (i < r->nloaded || j < nn)) {
        int64_t p = i < r->nloaded && (j >= nn || r->loaded[i].person <= now[j].person)
                        ? r->loaded[i].person
                        : now[j].person;
        if (same_person(r->loaded, r->nloaded, &i, now, nn, &j, p)) continue;
        if (nchanged == cap) {
            int64_t *nc = realloc(changed, 2 * cap * sizeof *nc);
            if (!nc) {
                free(changed);
                changed = NULL;
                break;
            }
            changed = nc;
            cap *= 2;
        }
        changed[nchanged++] = p;
    }
    if (!changed) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; st == RC_OK && k < nchanged; k++) st = apply_person(r, changed[k], err);
    pthread_mutex_unlock(&r->sync_lock);
    if (nchanged)
        rc_log(RC_LOG_DEBUG, "gallery: %zu person(s) changed in the store, applied", nchanged);
    free(changed);
    free(now);
    gauge(r);
    return st;
}

void recog_gallery_stats(recog *r, uint64_t *person_updates, uint64_t *full_loads)
{
    pthread_mutex_lock(&r->sync_lock);
    if (person_updates) *person_updates = r->person_updates;
    if (full_loads) *full_loads = r->full_loads;
    pthread_mutex_unlock(&r->sync_lock);
}

static bool stopping(recog *r)
{
    pthread_mutex_lock(&r->follow_lock);
    bool s = r->follow_stop;
    pthread_mutex_unlock(&r->follow_lock);
    return s;
}

/* After a failure: wait a second (or until stopped) before trying again. */
static void pause_after_failure(recog *r, const rc_error *err)
{
    rc_log(RC_LOG_WARN, "gallery follower: %s (retrying)", err->msg);
    pthread_mutex_lock(&r->follow_lock);
    if (!r->follow_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&r->follow_wake, &r->follow_lock, &ts);
    }
    pthread_mutex_unlock(&r->follow_lock);
}

static void *follow_main(void *arg)
{
    recog *r = arg;
    int64_t known = -1;
    rc_error err;
    if (store_gallery_version(r->cfg.store, &known, &err) != RC_OK) known = -1;
    /* Changes between the load at start and this version are caught too. */
    if (recog_sync(r, &err) != RC_OK) known = -1;
    while (!stopping(r)) {
        int64_t v = known;
        /* Short waits, so stopping is prompt. */
        rc_status st = store_gallery_wait(r->cfg.store, known, 500, &v, &err);
        if (st == RC_OK && v != known && (st = recog_sync(r, &err)) == RC_OK) known = v;
        if (st != RC_OK) pause_after_failure(r, &err); /* known stays: try again */
    }
    return NULL;
}

rc_status recog_follow_start(recog *r, rc_error *err)
{
    if (pthread_create(&r->follower, NULL, follow_main, r) != 0)
        return rc_fail(err, RC_ERR_INTERNAL, "cannot start the gallery follower");
    r->following = true;
    return RC_OK;
}

void recog_follow_stop(recog *r)
{
    if (!r->following) return;
    pthread_mutex_lock(&r->follow_lock);
    r->follow_stop = true;
    pthread_cond_broadcast(&r->follow_wake);
    pthread_mutex_unlock(&r->follow_lock);
    pthread_join(r->follower, NULL);
    r->following = false;
}
