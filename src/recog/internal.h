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

/* One job thread: idle ones wait on their own condition, so that the one
 * idle last (warm caches, its face worker's buffers in its malloc arena) is
 * the one woken for the next job. */
typedef struct recog_jthread {
    struct recog *r;
    pthread_t thread;
    pthread_cond_t wake;
    recog_job job; /* handed over by dispatch when has_job */
    bool has_job;
    bool waiting; /* between recog_wait_begin and _end */
    size_t index;
} recog_jthread;

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
    /* Job threads and their queue (a ring of jcap). At most jlimit jobs
     * (one per face worker) run at once; a job waiting for the disk
     * (recog_wait_begin: an attendance commit's fsync) does not count, and
     * one of the spare threads (as many as the workers) takes the next job
     * meanwhile. jidle is a stack of idle threads, the one idle last on top;
     * jkey gives a job thread its recog_jthread. */
    pthread_mutex_t jlock;
    recog_jthread *jt;
    size_t nthreads, *jidle, nidle;
    recog_job *jobs;
    size_t jhead, jcount, jcap, jactive, jlimit;
    unsigned jqueue;
    bool jstop, jkey_made;
    pthread_key_t jkey;
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
