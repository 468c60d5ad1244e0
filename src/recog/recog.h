/*
 * recog — the one place where a frame becomes attendance. It owns the loaded
 * face models and a pool of face workers, the live gallery of enrolled
 * embeddings, and the two policies every caller (HTTP, cameras, the CLI)
 * shares:
 *
 *  - recog_frame: image → faces → identities → attendance decision (through
 *    src/attendance) → stored event. A face whose liveness is below the
 *    `liveness_threshold` setting is reported as not live and WITHOUT an
 *    identity (no name, no person), so no caller can show who a spoof
 *    resembles.
 *  - recog_enroll: the one enrollment policy: the image must decode, show
 *    one clear face of good quality and enrollable size; the face must not
 *    match a different enrolled person above `recognition_threshold`
 *    (duplicate_identity, unless explicitly allowed) nor, when asked, a
 *    pending self-registration (duplicate_pending), and the photos of one
 *    upload must show one person (different_people). A new person is created
 *    only when at least one photo is accepted.
 *
 * The gallery follows the store incrementally: enrollments made here update
 * it at once; recog_person_changed applies one person's change (face or
 * person deleted, person deactivated); a follower thread wakes on the
 * store's gallery version (PostgreSQL LISTEN/NOTIFY, SQLite polling), finds
 * which persons' faces differ from what is loaded and replaces only those
 * persons (gallery_replace_person / gallery_remove_person). No frame asks
 * the database about the gallery.
 *
 * Listeners (recog_listen) receive every outcome: each recognized frame and
 * each attendance event created or updated. The HTTP live stream uses them;
 * webhooks can too.
 *
 * Work queue: recog_submit runs jobs on recog's own threads, as many at once
 * as face workers; a job waiting for the disk (an attendance commit's
 * fsync, between recog_wait_begin and _end) does not count, and a spare
 * thread runs the next job meanwhile. When no job can start and `queue`
 * jobs already wait, it refuses with RC_ERR_LIMIT at once (HTTP answers 503
 * with Retry-After), so a slow image never holds a network thread.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef RC_RECOG_H
#define RC_RECOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../attendance/att.h"
#include "../face/face.h"
#include "../gallery/gallery.h"
#include "../image/image.h"
#include "../rc/rc.h"
#include "../store/store.h"

typedef struct recog recog;

typedef struct {
    const char *models_dir; /* the ONNX models (face_models_load) */
    unsigned workers;       /* face workers and job threads [one per core] */
    unsigned queue;         /* jobs that may wait for a thread [4 per thread] */
    store *store;           /* required */
    att *att;               /* attendance rules; NULL: recog_frame never marks */
    rc_metrics *metrics;    /* pipeline, gallery and recognition series; may be NULL */
    bool follow;            /* start the follower thread (a server); false for one-shot CLI use */
} recog_config;

/* Load the models, start the workers, load the gallery from the store. */
rc_status recog_create(const recog_config *cfg, recog **out, rc_error *err);
/* Stops the follower and the job threads (jobs queued still run first). */
void recog_destroy(recog *r);

const char *recog_model_id(const recog *r);
size_t recog_gallery_size(recog *r);
/* The loaded models' names, for /healthz (NULL-terminated, owned by r). */
const char *const *recog_models_loaded(const recog *r);

/* ---- work queue --------------------------------------------------------- */

/* Run fn(arg) on a recog thread. RC_ERR_LIMIT ("busy") when every thread is
 * busy and the queue is full; fn is then not called. */
rc_status recog_submit(recog *r, void (*fn)(void *arg), void *arg, rc_error *err);

/* Called by a job around a wait that uses no CPU (the disk): meanwhile the
 * job does not count against the jobs that may run at once, so the next
 * queued job starts on a spare thread. Does nothing on a thread that is not
 * running a job of r. */
void recog_wait_begin(recog *r);
void recog_wait_end(recog *r);

/* ---- images ------------------------------------------------------------- */

/* Decode an uploaded or captured image with the limits recognition uses
 * (pixel count, progressive JPEG scans). */
rc_status recog_decode(const void *data, size_t len, img_image **out, rc_error *err);

/* Analyze one image with a borrowed worker (detection only when
 * `opts->embedding` is 0); records stage timings. *faces: caller frees. */
rc_status recog_analyze(recog *r, const img_image *im, const face_opts *opts, face_info **faces,
                        int *n, rc_error *err);

/* The detector alone on a region of the image (face_detect_region: x, y,
 * w, h in pixels, at the whole image's detector scale) with a borrowed
 * worker; its time is the "region" stage. *faces: caller frees.
 * RC_ERR_UNSUPPORTED when the detector cannot run on regions. */
rc_status recog_detect_region(recog *r, const img_image *im, const float rect[4],
                              const face_opts *opts, face_info **faces, int *n, rc_error *err);

/* ---- recognition -------------------------------------------------------- */

typedef struct {
    bool mark;         /* record attendance (att_record) for each face */
    int64_t camera_id; /* 0: none */
    int64_t ts_ms;     /* when the frame was taken; 0: now */
    const char *kind;  /* "entry"/"exit" chosen on the kiosk (Entrada/Salida); NULL: the
                          camera or the rules decide (see att_sighting.kind) */
    /* With `detected`, the detector already ran on this frame and found
     * `found` (nfound faces, from recog_analyze with the later stages off):
     * recog_frame takes those boxes (face_analyze_found) instead of running
     * the detector again. A camera frame whose detector-only pass shows a
     * face due for identification uses it. */
    bool detected;
    const face_info *found;
    int nfound;
} recog_frame_opts;

typedef struct {
    face_info face;
    bool live; /* liveness not measured, or >= liveness_threshold */
    /* marking: liveness not measured (face.liveness -1) because this person
     * was measured live at this camera within the de-duplication window
     * (att_live_recently); the sighting only merged into their event */
    bool liveness_skipped;
    gallery_match match; /* the gallery's answer (score: similarity; 0 when not live) */
    bool known;          /* a live face identified as an active person */
    store_person person; /* when known */
    /* with mark: the attendance outcome */
    bool has_event; /* an event was created or updated */
    bool event_new;
    store_event event;
    int minutes_late; /* late entries: minutes after start + grace */
} recog_face;

typedef struct {
    int width, height;
    int64_t camera_id;
    int64_t ts_ms;
    double ms; /* analysis and decision time */
    int n;
    recog_face *faces; /* largest first */
} recog_result;

/* Recognize every face of a frame; with o->mark, record attendance and
 * notify listeners of the events. Listeners get the frame (when it has
 * faces) after the events. Liveness runs only where its answer is used:
 * not on an unknown face of a frame that does not mark, nor, with o->mark,
 * on a known face measured live at this camera within the de-duplication
 * window (liveness_skipped). *out is freed with recog_result_free. */
rc_status recog_frame(recog *r, const img_image *im, const recog_frame_opts *o, recog_result *out,
                      rc_error *err);
void recog_result_free(recog_result *res);

/* ---- enrollment --------------------------------------------------------- */

typedef struct {
    const void *data;
    size_t len;
    const char *name; /* file name, for results */
} recog_image;

typedef struct {
    int64_t person_id;              /* the person to enroll, or 0 with new_person */
    const store_person *new_person; /* created only when a photo is accepted */
    const recog_image *images;
    size_t n;
    bool allow_duplicate; /* admin override of duplicate_identity (the caller audits it) */
    /* Also refuse a face that matches a pending self-registration's
     * templates at recognition_threshold (duplicate_pending): pending
     * persons are out of the gallery duplicate_identity searches. */
    bool check_pending;
    bool consent;      /* record consent now when the person has none */
    const char *actor; /* for the audit log ("user:3", "cli") */
} recog_enroll_req;

/* Stable reason codes (the UI translates them); reason has English text. */
#define RECOG_R_NOT_IMAGE     "not_an_image"
#define RECOG_R_NO_FACE       "no_face"
#define RECOG_R_SEVERAL_FACES "several_faces"
#define RECOG_R_LOW_QUALITY   "low_quality"
#define RECOG_R_TOO_SMALL     "face_too_small"
#define RECOG_R_DUPLICATE     "duplicate_identity"
#define RECOG_R_PENDING       "duplicate_pending"
#define RECOG_R_DIFFERENT     "different_people"
#define RECOG_R_STORE         "store_failed"
/* The person withdrew their consent and none was recorded since (a request
 * with `consent` records it and goes on). */
#define RECOG_R_CONSENT "consent_withdrawn"

typedef struct {
    bool accepted;
    int64_t face_id;
    const char *code; /* NULL when accepted, else one of RECOG_R_* */
    char reason[320];
    /* duplicate_identity, duplicate_pending: the person the face belongs to */
    int64_t other_person_id;
    char other_external_id[64];
    char other_name[128];
    float similarity; /* duplicate_identity / different_people: the score that decided */
    bool has_face;
    face_info face;
} recog_enroll_result;

typedef struct {
    int64_t person_id; /* 0 when a new person was not created */
    bool created;
    int accepted;
} recog_enroll_summary;

/* Enroll the photos of one request: results has req->n entries. Returns an
 * error only when nothing could be judged (the person does not exist, the
 * database failed creating it); refused photos are RC_OK with reasons. */
rc_status recog_enroll(recog *r, const recog_enroll_req *req, recog_enroll_result *results,
                       recog_enroll_summary *sum, rc_error *err);

/* ---- self check-in ------------------------------------------------------ */

/* A member's own check-in: a short capture verified 1:1 against the
 * person's OWN enrolled faces (the centroid of their templates, the
 * gallery's rule), never searched against anyone else's. A frame passes
 * when its primary face is live at `liveness_threshold` and scores at
 * least `recognition_threshold`; the check-in is accepted when
 * min_frames frames pass, and then recorded through att_record with source
 * "self" (slots, de-duplication) and delivered to the listeners. */
#define RECOG_SELF_MIN_FRAMES 2 /* frames that must pass by default */
#define RECOG_SELF_MAX_FRAMES 5 /* the most frames one check-in may send */

#define RECOG_R_NOT_LIVE    "not_live"
#define RECOG_R_NO_MATCH    "no_match"
#define RECOG_R_NO_ENROLLED "no_enrolled_faces"

typedef struct {
    int64_t person_id;         /* whose enrolled faces the frames are verified against */
    const recog_image *frames; /* JPEG/PNG frames of the capture */
    size_t n;                  /* 1..RECOG_SELF_MAX_FRAMES */
    int min_frames;            /* 0: RECOG_SELF_MIN_FRAMES (never more than n) */
    const char *kind;          /* "entry"/"exit" chosen; NULL: the rules decide */
    int64_t ts_ms;             /* 0: now */
} recog_self_req;

typedef struct {
    const char *code; /* NULL: the frame passed; not_an_image, no_face, not_live, no_match */
    bool has_face, live;
    double liveness; /* -1 without a face */
    double score;    /* cosine to the person's centroid; 0 unless live */
} recog_self_frame;

typedef struct {
    bool accepted;    /* enough frames passed and the event was recorded */
    const char *code; /* when refused: no_enrolled_faces, no_face, not_live, no_match */
    int nframes, faces, live, passed, needed;
    double score, liveness; /* of the best passing frame */
    recog_self_frame frames[RECOG_SELF_MAX_FRAMES];
    att_outcome outcome; /* accepted: ATT_NEW, or ATT_MERGED within the de-duplication window */
    bool has_event;
    store_event event;
} recog_self_result;

/* Verify and, when accepted, record. Refusals are RC_OK with a code; an
 * error means nothing could be judged (the store failed, bad request). */
rc_status recog_self_checkin(recog *r, const recog_self_req *req, recog_self_result *out,
                             rc_error *err);

/* ---- the gallery -------------------------------------------------------- */

/* Apply one person's change from the store now (their faces added or
 * deleted, the person deactivated or deleted). */
rc_status recog_person_changed(recog *r, int64_t person_id, rc_error *err);
/* Compare the whole gallery with the store and apply the persons that
 * differ (what the follower does on each version change). */
rc_status recog_sync(recog *r, rc_error *err);
/* How many per-person updates the gallery has had, and how many full loads
 * (one at start): for tests and /metrics. */
void recog_gallery_stats(recog *r, uint64_t *person_updates, uint64_t *full_loads);

/* ---- listeners ---------------------------------------------------------- */

typedef enum {
    RECOG_EVENT_FRAME,      /* a frame with at least one face was recognized */
    RECOG_EVENT_ATTENDANCE, /* an attendance event was created or updated */
    RECOG_EVENT_UNKNOWN,    /* marking: a live face that is nobody enrolled */
} recog_event_kind;

/* What a listener receives. Pointers are valid during the call only. */
typedef struct {
    recog_event_kind kind;
    int64_t camera_id; /* 0: none */
    int64_t ts_ms;
    const recog_result *frame; /* FRAME: every face of the frame */
    const recog_face *face;    /* ATTENDANCE, UNKNOWN: the face */
    const store_event *event;  /* ATTENDANCE: the event as stored */
    bool is_new;               /* ATTENDANCE: a new event (not merged or moved) */
    int64_t sighting_id;       /* UNKNOWN: the kept sighting (keep_unrecognized), else 0 */
} recog_event;

/* Called on the recognizing thread: keep it short and never call back into
 * recog_frame. */
typedef void (*recog_listener)(void *user, const recog_event *ev);
/* Register a listener; returns its id (> 0), 0 when out of memory. */
int recog_listen(recog *r, recog_listener fn, void *user);
void recog_unlisten(recog *r, int id);

#endif
