/*
 * internal.h — what the files of the camera module share and the unit tests
 * reach into: the drop-oldest frame queue, the JPEG structure scanner, the
 * MJPEG stream parser, pixel conversion, the face tracker the feed runs per
 * camera (track.c), and the small interface between a camera's thread
 * (camera.c) and the sources (mjpeg.c, ffmpeg.c, v4l2.c).
 * Not part of the public API.
 */
#ifndef RC_CAMERA_INTERNAL_H
#define RC_CAMERA_INTERNAL_H

#include "camera.h"

/* ---- frames ----------------------------------------------------------- */

/* A frame with `size` bytes of uninitialised data and one reference. NULL if
 * out of memory. */
cam_frame *cam_frame_alloc(size_t size);

/* ---- bounded queue that drops the oldest frame -------------------------- */

typedef struct {
    cam_frame **slot;
    unsigned cap, head, count;
    uint64_t drops;
} cam_queue;

rc_status cam_queue_init(cam_queue *q, unsigned cap);
/* Frees the queued frames and the slots. */
void cam_queue_free(cam_queue *q);
/* Takes ownership of f. When the queue is full the oldest frame is dropped
 * (unreffed) and counted; returns true when that happened. */
bool cam_queue_push(cam_queue *q, cam_frame *f);
/* The oldest frame (ownership to the caller) or NULL when empty. */
cam_frame *cam_queue_pop(cam_queue *q);

/* ---- JPEG structure ------------------------------------------------------ */

typedef enum { CAM_JPEG_NEED_MORE, CAM_JPEG_COMPLETE, CAM_JPEG_CORRUPT } cam_jpeg_result;

/* Resumable walk over one JPEG that starts with SOI at buf[0]: marker
 * segments are skipped by their length (so an EXIF thumbnail's EOI does not
 * end the frame), entropy-coded data is scanned for the EOI marker. Start
 * with a zeroed state; call again with more bytes (same start) after
 * NEED_MORE. On COMPLETE, *end is the length of the JPEG. */
typedef struct {
    size_t pos;
    bool entropy;
} cam_jpeg_scan;

cam_jpeg_result cam_jpeg_scan_step(cam_jpeg_scan *s, const uint8_t *buf, size_t len, size_t *end);

/* Offset of the first JPEG SOI (FF D8 FF) in buf, or len if none. */
size_t cam_jpeg_find_soi(const uint8_t *buf, size_t len);

/* ---- MJPEG stream parser ------------------------------------------------- */

/* Turns the body of a multipart/x-mixed-replace response (or any byte stream
 * with JPEGs in it) into whole JPEGs. It ignores the multipart framing and
 * finds frames by their JPEG structure, which makes it indifferent to
 * boundary spelling, missing Content-Length and extra headers; a frame cut
 * short by the next part or by a disconnect is discarded and counted. */
typedef rc_status (*cam_jpeg_sink)(void *arg, const uint8_t *jpeg, size_t len, rc_error *err);

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    size_t max_bytes; /* frame size limit, and junk limit */
    size_t junk;      /* bytes discarded since the last whole frame */
    bool in_frame;    /* buf starts with an SOI being scanned */
    cam_jpeg_scan scan;
    uint64_t partial; /* frames found broken or truncated */
    uint64_t frames;  /* frames handed to the sink */
} cam_mjpeg_parser;

void cam_mjpeg_parser_init(cam_mjpeg_parser *p, size_t max_bytes);
void cam_mjpeg_parser_free(cam_mjpeg_parser *p);
/* Feed bytes; calls sink for each complete JPEG. Fails (RC_ERR_LIMIT or
 * RC_ERR_CORRUPT) on a frame over the limit or that much data without any
 * JPEG, or with the sink's error. */
rc_status cam_mjpeg_parser_feed(cam_mjpeg_parser *p, const uint8_t *data, size_t n,
                                cam_jpeg_sink sink, void *arg, rc_error *err);
/* The stream ended: a frame in progress counts as partial. */
void cam_mjpeg_parser_finish(cam_mjpeg_parser *p);

/* ---- pixels ------------------------------------------------------------- */

/* YUYV 4:2:2 (BT.601, limited range) to packed RGB24. `stride` is the
 * source row length in bytes (>= width*2); width must be even. */
void cam_yuyv_to_rgb24(const uint8_t *yuyv, size_t stride, int width, int height, uint8_t *rgb);

/* ---- face tracks (track.c) ----------------------------------------------- */

/* What a camera's next frame needs. */
typedef enum {
    CAM_STEP_SKIP,     /* nothing: the tracks' boxes stand for this frame */
    CAM_STEP_DETECT,   /* the detector, then association */
    CAM_STEP_IDENTIFY, /* the whole pipeline (a track is due for identification) */
    CAM_STEP_REGION,   /* the detector on regions around the tracks, then association */
} cam_step;

typedef struct {
    int id;
    float x0, y0, x1, y1;
    unsigned missed; /* detection rounds in a row without this face */
    double seen_ms;  /* capture time of the frame it was last found in */
    double vx, vy;   /* its centre's velocity, px per ms (smoothed) */
    bool has_v;      /* vx, vy measured (found in two frames) */
    bool identified; /* has been through the whole pipeline */
    bool due;        /* identify at the next chance (grown, or new) */
    double ident_ms; /* capture time of its last identification */
    float ident_h;   /* box height then */
    cam_face face;   /* box, label and known as last identified */
} cam_track;

typedef struct {
    cam_track_config cfg; /* defaults filled in */
    cam_track *t;
    size_t n, cap;
    int next_id;
    unsigned since_detect; /* frames since the detector last ran */
    unsigned since_full;   /* frames since it last ran on the whole frame */
    bool probed;           /* the whole pipeline has run (probe_ms is set) */
    double probe_ms;       /* capture time it last ran: an empty scene is probed every recheck_ms */
    uint64_t skipped, detected, identified, started;
} cam_tracker;

/* A tracker with cfg's settings (NULL: defaults). */
void cam_tracker_init(cam_tracker *tr, const cam_track_config *cfg);
void cam_tracker_free(cam_tracker *tr);
/* What the frame captured at now_ms needs; counts the frame. The whole
 * pipeline when a track is due, or every recheck_ms while no face is in
 * view (the first frame included); else the detector every detect_every-th
 * frame: with cfg.full_every, on regions around the tracks in view unless
 * the whole frame is due (full_every frames since it last ran there). */
cam_step cam_tracker_plan(cam_tracker *tr, double now_ms);
/* The detector's boxes (x0, y0, x1, y1 in pixels) for the frame captured at
 * now_ms: each is matched to a track where its velocity puts it now (greedy,
 * best IoU first, then nearest centre within half a face), unmatched boxes
 * start tracks (due for identification),
 * unmatched tracks count a miss and end after cfg.max_missed. track_of[i]
 * receives box i's track id (may be NULL). Returns the number of tracks
 * started. */
int cam_tracker_update(cam_tracker *tr, double now_ms, const float (*boxes)[4], int n,
                       int *track_of);
/* The same frame's boxes once more (the whole pipeline ran after the
 * detector): as cam_tracker_update but a track without a box is not counted
 * a second miss. */
int cam_tracker_rematch(cam_tracker *tr, double now_ms, const float (*boxes)[4], int n,
                        int *track_of);
/* The regions (x, y, w, h, inside the w x h frame) a CAM_STEP_REGION frame
 * captured at now_ms runs the detector on: one per track in view, around
 * where its velocity puts it, grown by cfg.margin of its size on each side.
 * Returns how many (at most cap); -1 when together they cover more than
 * half the frame, where one whole-frame detection costs less. */
int cam_tracker_regions(const cam_tracker *tr, double now_ms, int w, int h, float (*rects)[4],
                        int cap);
/* True when a track is due for identification at now_ms. */
bool cam_tracker_due(const cam_tracker *tr, double now_ms);
/* Track `id` went through the whole pipeline at now_ms with this outcome. */
void cam_tracker_identified(cam_tracker *tr, int id, double now_ms, const cam_face *face);
/* The tracks as faces (box, last label, track id); returns how many. */
int cam_tracker_faces(const cam_tracker *tr, cam_face *out, int cap);

/* ---- between a camera thread and its source ---------------------------- */

/* Runs the source until it fails (returns the error), is asked to stop
 * (returns RC_OK) or a file ends (returns RC_OK with *ended set). */
typedef rc_status (*cam_source_fn)(cam_camera *c, bool *ended, rc_error *err);

rc_status cam_source_mjpeg(cam_camera *c, bool *ended, rc_error *err);
rc_status cam_source_snapshot(cam_camera *c, bool *ended, rc_error *err);
rc_status cam_source_ffmpeg(cam_camera *c, bool *ended, rc_error *err);
rc_status cam_source_v4l2(cam_camera *c, bool *ended, rc_error *err);

/* Name the failure the source is about to return with a stable code (see
 * cam_status.error_code) and one parameter (name NULL: none; a "host"
 * parameter is filled from the camera's URL when value is NULL). Without
 * it, the code follows the rc_status returned. */
void cam_run_fail_code(cam_camera *c, const char *code, const char *param, const char *value);
/* The same with an integer parameter (an HTTP status). */
void cam_run_fail_code_int(cam_camera *c, const char *code, const char *param, long value);
/* The camera's URL as messages should show it (password redacted). */
const char *cam_run_label(const cam_camera *c);

/* The camera's configuration with defaults filled in (strings owned by it). */
const cam_config *cam_run_config(const cam_camera *c);
/* True when the source should return: camera destroyed, disabled, or
 * re-enabled since this connection began. Cheap; call it often. */
bool cam_run_stopping(cam_camera *c);
/* The source has a working connection (state -> streaming). */
void cam_run_connected(cam_camera *c);
/* Frame-rate cap: true when a frame now would be accepted; false counts a
 * skip. Ask before spending work (pixel conversion) on a frame. */
bool cam_run_want_frame(cam_camera *c);
/* Deliver a frame (takes ownership; ts, seq are filled in here). */
void cam_run_emit(cam_camera *c, cam_frame *f);
/* Count a broken frame that was discarded. */
void cam_run_partial(cam_camera *c, uint64_t n);
/* Sleep up to ms, waking early when the source should stop; returns
 * cam_run_stopping(). */
bool cam_run_wait(cam_camera *c, unsigned ms);
/* Register a function that interrupts the source's blocking wait (called
 * with the camera's lock held, from another thread); NULL to unregister. */
void cam_run_set_waker(cam_camera *c, void (*fn)(void *), void *arg);

/* For the manager: a camera that calls notify(arg) after each queued frame. */
rc_status cam_camera_create_notify(const cam_config *cfg, void (*notify)(void *), void *arg,
                                   cam_camera **out, rc_error *err);
/* Non-blocking pop for the manager's workers. */
cam_frame *cam_camera_try_pop(cam_camera *c);
/* A worker finished a frame of this camera. */
void cam_camera_note_processed(cam_camera *c);

#endif
