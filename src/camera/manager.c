/*
 * manager.c — several cameras and one pool of worker threads. Capture never
 * waits for consumers: a camera thread only pushes into its own drop-oldest
 * queue and signals. Workers scan the cameras round-robin from where the
 * last one stopped and take at most one frame per camera at a time, so a
 * busy camera cannot occupy every worker, frames of one camera are handled
 * in order, and a slow callback only delays (and eventually drops frames of)
 * the camera it is working for.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    int id;
    cam_camera *cam;
    bool in_flight; /* a worker is running the callback for this camera */
    bool removing;
} entry;

typedef struct {
    cam_manager *m;
    unsigned index;
} worker_arg;

struct cam_manager {
    cam_manager_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a frame may be waiting, or quit */
    pthread_cond_t idle; /* a callback finished */
    entry **v;
    size_t n, cap;
    size_t cursor; /* where the next scan starts */
    bool quit;
    pthread_t *workers;
    worker_arg *args;
    unsigned nworkers;
};

static void on_frame_queued(void *arg)
{
    cam_manager *m = arg;
    pthread_mutex_lock(&m->mu);
    pthread_cond_signal(&m->work);
    pthread_mutex_unlock(&m->mu);
}

static void *worker(void *arg)
{
    cam_manager *m = ((worker_arg *)arg)->m;
    unsigned index = ((worker_arg *)arg)->index;
    pthread_setname_np(pthread_self(), "cam-worker"); /* for top -H and the benchmarks */
    pthread_mutex_lock(&m->mu);
    while (!m->quit) {
        entry *e = NULL;
        cam_frame *f = NULL;
        for (size_t k = 0; k < m->n && !f; k++) {
            size_t i = (m->cursor + k) % m->n;
            if (m->v[i]->in_flight || m->v[i]->removing) continue;
            if ((f = cam_camera_try_pop(m->v[i]->cam))) {
                e = m->v[i];
                m->cursor = i + 1;
            }
        }
        if (!f) {
            pthread_cond_wait(&m->work, &m->mu);
            continue;
        }
        e->in_flight = true;
        pthread_mutex_unlock(&m->mu);
        if (m->cfg.on_frame) m->cfg.on_frame(m->cfg.user, index, e->id, e->cam, f);
        cam_camera_note_processed(e->cam);
        cam_frame_unref(f);
        pthread_mutex_lock(&m->mu);
        e->in_flight = false;
        pthread_cond_broadcast(&m->idle);
        /* This camera may have more frames: let a waiting worker look too. */
        pthread_cond_signal(&m->work);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

rc_status cam_manager_create(const cam_manager_config *cfg, cam_manager **out, rc_error *err)
{
    *out = NULL;
    if (cfg && cfg->workers > 256)
        return rc_fail(err, RC_ERR_INVALID, "camera manager: %u workers is too many (at most 256)",
                       cfg->workers);
    cam_manager *m = calloc(1, sizeof *m);
    if (!m) return rc_fail(err, RC_ERR_NOMEM, "camera manager: out of memory");
    if (cfg) m->cfg = *cfg;
    if (!m->cfg.workers) m->cfg.workers = 2;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->work, NULL);
    pthread_cond_init(&m->idle, NULL);
    m->workers = calloc(m->cfg.workers, sizeof *m->workers);
    m->args = calloc(m->cfg.workers, sizeof *m->args);
    if (!m->workers || !m->args) {
        cam_manager_destroy(m);
        return rc_fail(err, RC_ERR_NOMEM, "camera manager: out of memory");
    }
    for (; m->nworkers < m->cfg.workers; m->nworkers++) {
        m->args[m->nworkers] = (worker_arg){m, m->nworkers};
        if (pthread_create(&m->workers[m->nworkers], NULL, worker, &m->args[m->nworkers]) != 0) {
            cam_manager_destroy(m);
            return rc_fail(err, RC_ERR_INTERNAL, "camera manager: cannot start worker threads");
        }
    }
    *out = m;
    return RC_OK;
}

void cam_manager_destroy(cam_manager *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->quit = true;
    pthread_cond_broadcast(&m->work);
    pthread_mutex_unlock(&m->mu);
    for (unsigned i = 0; i < m->nworkers; i++) pthread_join(m->workers[i], NULL);
    for (size_t i = 0; i < m->n; i++) {
        cam_camera_destroy(m->v[i]->cam);
        free(m->v[i]);
    }
    free(m->v);
    free(m->workers);
    free(m->args);
    pthread_cond_destroy(&m->idle);
    pthread_cond_destroy(&m->work);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* With mu held. */
static entry *find(cam_manager *m, int id, size_t *at)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i]->id == id && !m->v[i]->removing) {
            if (at) *at = i;
            return m->v[i];
        }
    return NULL;
}

rc_status cam_manager_add(cam_manager *m, int id, const cam_config *cfg, rc_error *err)
{
    pthread_mutex_lock(&m->mu);
    bool taken = find(m, id, NULL) != NULL;
    pthread_mutex_unlock(&m->mu);
    if (taken) return rc_fail(err, RC_ERR_CONFLICT, "camera %d is already running", id);
    entry *e = calloc(1, sizeof *e);
    if (!e) return rc_fail(err, RC_ERR_NOMEM, "camera %d: out of memory", id);
    e->id = id;
    rc_status rc = cam_camera_create_notify(cfg, on_frame_queued, m, &e->cam, err);
    if (rc != RC_OK) {
        free(e);
        return rc;
    }
    pthread_mutex_lock(&m->mu);
    if (find(m, id, NULL)) { /* added by another thread meanwhile */
        pthread_mutex_unlock(&m->mu);
        cam_camera_destroy(e->cam);
        free(e);
        return rc_fail(err, RC_ERR_CONFLICT, "camera %d is already running", id);
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        entry **nv = realloc(m->v, cap * sizeof *nv);
        if (!nv) {
            pthread_mutex_unlock(&m->mu);
            cam_camera_destroy(e->cam);
            free(e);
            return rc_fail(err, RC_ERR_NOMEM, "camera %d: out of memory", id);
        }
        m->v = nv;
        m->cap = cap;
    }
    m->v[m->n++] = e;
    pthread_mutex_unlock(&m->mu);
    return RC_OK;
}

rc_status cam_manager_remove(cam_manager *m, int id, rc_error *err)
{
    pthread_mutex_lock(&m->mu);
    entry *e = find(m, id, NULL);
    if (!e) {
        pthread_mutex_unlock(&m->mu);
        return rc_fail(err, RC_ERR_NOT_FOUND, "no camera %d", id);
    }
    e->removing = true;
    while (e->in_flight) pthread_cond_wait(&m->idle, &m->mu);
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i] == e) {
            memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof *m->v);
            m->n--;
            break;
        }
    pthread_mutex_unlock(&m->mu);
    cam_camera_destroy(e->cam);
    free(e);
    return RC_OK;
}

/* Run fn on camera id with the manager locked (cameras cannot disappear). */
#define WITH_CAMERA(m, id, err, stmt)                                                              \
    do {                                                                                           \
        pthread_mutex_lock(&(m)->mu);                                                              \
        entry *e_ = find((m), (id), NULL);                                                         \
        if (!e_) {                                                                                 \
            pthread_mutex_unlock(&(m)->mu);                                                        \
            return rc_fail((err), RC_ERR_NOT_FOUND, "no camera %d", (id));                         \
        }                                                                                          \
        cam_camera *cam_ = e_->cam;                                                                \
        stmt;                                                                                      \
        pthread_mutex_unlock(&(m)->mu);                                                            \
    } while (0)

rc_status cam_manager_set_enabled(cam_manager *m, int id, bool on, rc_error *err)
{
    WITH_CAMERA(m, id, err, cam_camera_set_enabled(cam_, on));
    return RC_OK;
}

rc_status cam_manager_status(cam_manager *m, int id, cam_status *out, rc_error *err)
{
    WITH_CAMERA(m, id, err, cam_camera_status(cam_, out));
    return RC_OK;
}

rc_status cam_manager_describe(cam_manager *m, int id, json_t **out, rc_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&m->mu);
    entry *e = find(m, id, NULL);
    if (!e) {
        pthread_mutex_unlock(&m->mu);
        return rc_fail(err, RC_ERR_NOT_FOUND, "no camera %d", id);
    }
    cam_status st;
    cam_camera_status(e->cam, &st);
    json_t *j =
        json_pack("{s:i, s:s, s:s, s:s, s:s}", "id", id, "name", cam_camera_name(e->cam), "url",
                  cam_camera_url(e->cam), "kind", cam_kind_name(cam_camera_kind(e->cam)),
                  "direction", cam_direction_name(cam_camera_direction(e->cam)));
    pthread_mutex_unlock(&m->mu);
    json_t *sj = cam_status_json(&st);
    if (!j || !sj || json_object_update(j, sj) != 0) {
        json_decref(j);
        json_decref(sj);
        return rc_fail(err, RC_ERR_NOMEM, "camera %d: out of memory describing it", id);
    }
    json_decref(sj);
    *out = j;
    return RC_OK;
}

cam_frame *cam_manager_last_frame(cam_manager *m, int id)
{
    pthread_mutex_lock(&m->mu);
    entry *e = find(m, id, NULL);
    cam_frame *f = e ? cam_camera_last_frame(e->cam) : NULL;
    pthread_mutex_unlock(&m->mu);
    return f;
}

size_t cam_manager_list(cam_manager *m, int *ids, size_t cap)
{
    pthread_mutex_lock(&m->mu);
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i]->removing) continue;
        if (n < cap) ids[n] = m->v[i]->id;
        n++;
    }
    pthread_mutex_unlock(&m->mu);
    return n;
}
