/*
 * internal.h — what the files of the recog module share: the service's
 * struct (workers, job queue, listeners, the gallery and what of the store
 * it reflects) and the gallery functions follow.c gives recog.c and
 * enroll.c. The public face of the module is recog.h.
 */
#ifndef RC_RECOG_INTERNAL_H
#define RC_RECOG_INTERNAL_H

#include <pthread.h>

#include "recog.h"

typedef struct {
    void (*fn)(void *arg);
    void *arg;
} recog_job;

typedef struct {
    int id;
    recog_listener fn;
    void *user;
} recog_listener_slot;

/* One template the in-memory gallery holds, as the store had it. */
typedef struct {
    int64_t person, face;
} recog_row;

struct recog {
    recog_config cfg;
    bool inited; /* locks initialised */
    face_models *models;
    char model_id[FACE_MODEL_ID];
    /* face workers, borrowed per analysis */
    pthread_mutex_t wlock;
    pthread_cond_t wfreed;
    face_worker **workers;
    bool *busy;
    bool *used; /* per worker: user[i] is the thread that took it last */
    pthread_t *user;
    size_t nworkers;
    /* job threads and their queue (a ring of jcap) */
    pthread_mutex_t jlock;
    pthread_cond_t jwake;
    pthread_t *threads;
    size_t nthreads;
    recog_job *jobs;
    size_t jhead, jcount, jcap, jrunning;
    unsigned jqueue;
    bool jstop;
    /* listeners */
    pthread_mutex_t llock;
    recog_listener_slot *listeners;
    size_t nlisteners;
    int next_listener;
    /* the gallery (searches need no lock; updates hold sync_lock) */
    gallery *gallery;
    pthread_mutex_t sync_lock;
    recog_row *loaded; /* what the gallery holds, sorted by person then face */
    size_t nloaded;
    uint64_t person_updates, full_loads;
    /* the follower */
    pthread_mutex_t follow_lock;
    pthread_cond_t follow_wake;
    pthread_t follower;
    bool following, follow_stop;
};

/* The recognition and liveness thresholds in force (settings), and
 * keep_unrecognized. */
void recog_settings(recog *r, double *threshold, double *liveness, int *keep_unrecognized);

/* Deliver an event to every listener (recog.c). */
void recog_emit(recog *r, const recog_event *ev);
/* follow.c: the first full load, and the follower thread. */
rc_status recog_gallery_load(recog *r, rc_error *err);
rc_status recog_follow_start(recog *r, rc_error *err);
void recog_follow_stop(recog *r);

#endif
