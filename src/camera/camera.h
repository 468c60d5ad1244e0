/*
 * camera — frames from the cameras at the doors. A camera is a source (MJPEG
 * over HTTP as an ESP32-CAM sends it, a JPEG snapshot URL polled at a rate,
 * RTSP / HTTP video / files through FFmpeg, a V4L2 webcam) driven by its own
 * thread that reconnects with exponential backoff and jitter, caps the frame
 * rate and hands frames to a small bounded queue that drops the oldest frame
 * instead of growing. A camera manager owns several cameras and a shared pool
 * of worker threads that take frames from all cameras fairly (one frame per
 * camera in flight at a time) and pass them to a user callback, so a slow
 * consumer never stalls capture or the other cameras.
 *
 * Frames are reference counted: the queue, the "last frame" slot (for a
 * snapshot endpoint) and the consumer each hold a reference.
 */
#ifndef RC_CAMERA_H
#define RC_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "rc/rc.h"
#include "store/store.h"

/* ---- frames ---------------------------------------------------------- */

typedef enum {
    CAM_FMT_JPEG,  /* data holds one complete JPEG (SOI..EOI checked) */
    CAM_FMT_RGB24, /* data holds width*height*3 bytes, rows packed, R G B */
} cam_format;

typedef struct {
    int64_t ts_ms;  /* wall-clock Unix ms when the frame was captured */
    double mono_ms; /* rc_mono_ms() at capture (for latency measurement) */
    int width;      /* pixels (read from the JPEG header for CAM_FMT_JPEG) */
    int height;
    cam_format fmt;
    uint8_t *data;
    size_t size;
    uint64_t seq; /* 1, 2, 3... per camera over accepted frames (a gap seen by a consumer
                   * means frames were dropped) */
} cam_frame;

/* A new reference to `f` (returns f). */
cam_frame *cam_frame_ref(cam_frame *f);
/* Drop a reference; the frame is freed with the last one. NULL is fine. */
void cam_frame_unref(cam_frame *f);

/* The frame as JPEG bytes in a new buffer the caller frees with free():
 * JPEG frames are copied as they are, RGB24 frames are encoded at `quality`
 * (1..100) with libturbojpeg. For posting frames and snapshot answers. */
rc_status cam_frame_jpeg(const cam_frame *f, int quality, uint8_t **out, size_t *len,
                         rc_error *err);

/* ---- configuration ---------------------------------------------------- */

typedef enum {
    CAM_KIND_AUTO,     /* chosen from the URL, see cam_kind_for_url */
    CAM_KIND_MJPEG,    /* HTTP multipart/x-mixed-replace stream of JPEGs */
    CAM_KIND_SNAPSHOT, /* HTTP URL answering one JPEG, polled at max_fps */
    CAM_KIND_FFMPEG,   /* RTSP, HTTP video or a file, decoded to RGB24 */
    CAM_KIND_V4L2,     /* /dev/videoN: MJPEG passed through, YUYV -> RGB24 */
} cam_kind;

typedef enum { CAM_DIR_BOTH, CAM_DIR_ENTRY, CAM_DIR_EXIT } cam_direction;

typedef struct {
    const char *name;            /* label for logs and status (copied); default: the URL */
    const char *url;             /* http(s)://, rtsp://, file path, /dev/videoN (copied) */
    cam_kind kind;               /* CAM_KIND_AUTO (0) picks from the URL */
    cam_direction direction;     /* carried for the attendance rules */
    double max_fps;              /* frame-rate cap; 0 = none (snapshots: 1 per second) */
    unsigned queue_len;          /* frames waiting for a consumer; 0 = 2 */
    unsigned backoff_base_ms;    /* first reconnect delay; 0 = 500 */
    unsigned backoff_max_ms;     /* delay ceiling; 0 = 30000 */
    unsigned connect_timeout_ms; /* 0 = 5000 */
    unsigned stall_timeout_ms;   /* reconnect when no byte/frame for this long; 0 = 10000 */
    size_t max_frame_bytes;      /* larger frames (or that much junk) are an error; 0 = 8 MiB */
    bool disabled;               /* start disabled (cam_*_set_enabled turns it on) */
    bool loop;                   /* files: start again at the end instead of ending */
    bool fast;                   /* files: read as fast as possible, not at the file's pace */
    int v4l2_width, v4l2_height; /* V4L2 capture size wanted; 0 = 640x480 */
} cam_config;

/* The kind CAM_KIND_AUTO resolves to: "/dev/video*" -> V4L2; rtsp://, rtmp://,
 * a path or file:// -> FFmpeg; http(s):// ending in a video extension (.mp4,
 * .mkv, .webm, .avi, .mov, .ts, .m3u8, .flv) -> FFmpeg; http(s):// ending in
 * .jpg/.jpeg or "/capture" -> snapshot; any other http(s):// -> MJPEG. */
cam_kind cam_kind_for_url(const char *url);
const char *cam_kind_name(cam_kind k);
/* "mjpeg", "snapshot", "ffmpeg" (also "rtsp" and "file", which FFmpeg reads)
 * or "v4l2", case-insensitive -> RC_OK; anything else RC_ERR_INVALID with a
 * message listing the kinds. */
rc_status cam_kind_parse(const char *s, cam_kind *out, rc_error *err);
const char *cam_direction_name(cam_direction d);
/* "entry", "exit", "both" (case-insensitive) -> RC_OK; anything else RC_ERR_INVALID. */
rc_status cam_direction_parse(const char *s, cam_direction *out, rc_error *err);

/* ---- status ----------------------------------------------------------- */

typedef enum {
    CAM_STATE_CONNECTING, /* opening the source */
    CAM_STATE_STREAMING,  /* frames arriving */
    CAM_STATE_BACKOFF,    /* waiting before the next connection attempt */
    CAM_STATE_DISABLED,   /* turned off at run time */
    CAM_STATE_ERROR,      /* a configuration error retrying cannot fix (bad URL scheme) */
    CAM_STATE_ENDED,      /* a file source reached its end (and loop is off) */
} cam_state;

const char *cam_state_name(cam_state s);

typedef struct {
    cam_state state;
    double fps_in;          /* frames accepted per second, over the last ~2 s */
    double fps_processed;   /* frames the consumer finished per second */
    uint64_t frames;        /* frames accepted into the queue */
    uint64_t processed;     /* frames a manager worker passed to the callback */
    uint64_t drops;         /* frames dropped because the queue was full */
    uint64_t skipped;       /* frames skipped by the frame-rate cap */
    uint64_t partial;       /* broken or truncated frames discarded */
    uint64_t connects;      /* successful connections (1 + reconnects) */
    uint64_t failures;      /* failed connections or streams */
    unsigned next_retry_ms; /* in CAM_STATE_BACKOFF: the delay being waited */
    int64_t last_frame_ms;  /* Unix ms of the last frame, 0 if none */
    int width, height;      /* of the last frame */
    rc_status last_status;  /* of the last failure, RC_OK if none */
    char last_error[512];   /* its message, "" if none (secrets redacted: cam_redact) */
    /* The last failure as a stable code a UI translates, "" if none:
     * connect_failed, host_not_found, timeout, auth_failed, not_found,
     * http_error, bad_content, not_http, stream_ended, stream_broken,
     * decode_failed, frame_too_large, unsupported, permission_denied,
     * device_error, bad_config, failed. error_params is a JSON object of its
     * parameters ({"host": "cam.local:81"}, {"status": 500}, {"device":
     * "/dev/video0"}, ...), never credentials. */
    char error_code[32];
    char error_params[256];
} cam_status;

/* The status as a new JSON object (jansson; the caller json_decref()s it):
 * {"state","fps_in","fps_processed","frames","processed","drops","skipped",
 *  "partial","connects","failures","next_retry_ms","last_frame_at" (ISO 8601
 *  UTC or null),"width","height","last_error" (null if none),"last_status",
 *  "error" ({"code","params"} of the last failure, null if none)}.
 * NULL if out of memory. */
struct json_t;
struct json_t *cam_status_json(const cam_status *st);

/* ---- one camera -------------------------------------------------------- */

typedef struct cam_camera cam_camera;

/* Create a camera and start its thread (unless cfg->disabled). Fails only on
 * a configuration the camera could never use (no URL, an MJPEG or snapshot
 * kind without http://, max_fps out of 0..1000): unreachable sources are
 * retried and show in the status; an unknown URL scheme shows as
 * CAM_STATE_ERROR. */
rc_status cam_camera_create(const cam_config *cfg, cam_camera **out, rc_error *err);
/* Stop the thread (promptly, even mid-connection) and free everything. */
void cam_camera_destroy(cam_camera *c);

/* Take the oldest queued frame, waiting up to timeout_ms (-1: forever).
 * Returns a reference the caller unrefs, or NULL on timeout, when the source
 * ended, or when the camera is disabled. For a camera owned by a manager,
 * use the manager's callback instead. */
cam_frame *cam_camera_next(cam_camera *c, int timeout_ms);

/* Turn capture on or off at run time; off closes the source. */
void cam_camera_set_enabled(cam_camera *c, bool on);
void cam_camera_status(cam_camera *c, cam_status *out);
/* The most recent frame (a reference the caller unrefs), or NULL. */
cam_frame *cam_camera_last_frame(cam_camera *c);
const char *cam_camera_name(const cam_camera *c);
/* The source URL with its secrets replaced by "***" (cam_redact_url). */
const char *cam_camera_url(const cam_camera *c);
cam_kind cam_camera_kind(const cam_camera *c);
cam_direction cam_camera_direction(const cam_camera *c);

/* ---- manager and worker pool ------------------------------------------ */

typedef struct cam_manager cam_manager;

/* Called on a worker thread for each frame. `worker` (0..workers-1) names
 * the calling thread, for per-worker scratch such as inference workspaces.
 * `cam` and `frame` are valid for the duration of the call (ref the frame to
 * keep it). Frames of one camera are delivered one at a time, in order;
 * different cameras run in parallel. */
typedef void (*cam_frame_fn)(void *user, unsigned worker, int camera_id, cam_camera *cam,
                             const cam_frame *frame);

typedef struct {
    unsigned workers; /* worker threads; 0 = 2 */
    cam_frame_fn on_frame;
    void *user;
} cam_manager_config;

rc_status cam_manager_create(const cam_manager_config *cfg, cam_manager **out, rc_error *err);
/* Stop every camera and worker (callbacks in flight finish first), free all. */
void cam_manager_destroy(cam_manager *m);

/* Add a camera under the caller's id (e.g. the store's camera id); the id
 * must be new (RC_ERR_CONFLICT). */
rc_status cam_manager_add(cam_manager *m, int id, const cam_config *cfg, rc_error *err);
/* Stop and remove a camera; waits for its callback in flight to return. */
rc_status cam_manager_remove(cam_manager *m, int id, rc_error *err);
rc_status cam_manager_set_enabled(cam_manager *m, int id, bool on, rc_error *err);
rc_status cam_manager_status(cam_manager *m, int id, cam_status *out, rc_error *err);
/* Everything about one camera as a new JSON object (caller json_decref()s):
 * {"id","name","url" (password redacted),"kind","direction", ...the fields of
 * cam_status_json}. For GET /api/v1/cameras. */
rc_status cam_manager_describe(cam_manager *m, int id, struct json_t **out, rc_error *err);
/* The camera's most recent frame (caller unrefs), or NULL (no such camera or no frame). */
cam_frame *cam_manager_last_frame(cam_manager *m, int id);
/* Fill ids[0..cap) with the camera ids in the order they were added; returns
 * how many cameras there are (may exceed cap). */
size_t cam_manager_list(cam_manager *m, int *ids, size_t cap);

/* ---- showing camera URLs ------------------------------------------------- */

/* Camera URLs carry credentials (rtsp://user:password@host/...,
 * http://cam/snapshot?token=...). Everything shown to anyone (API answers,
 * status, metrics labels, logs, error messages, the probe command) goes
 * through cam_redact first.
 *
 * `text` with every secret replaced by "***": in each URL-shaped part the
 * password of user:password@ and the values of query parameters whose names
 * say secret (token, key, password, pass, pwd, secret, auth, sig,
 * credential, session, and names containing them, any case). When `url` (the
 * camera's real URL) is given, its secrets are also hidden wherever they
 * appear alone, as libcurl and FFmpeg messages may quote them. Returns a new
 * string the caller frees, or NULL if out of memory. */
char *cam_redact(const char *text, const char *url);
/* cam_redact(url, url): the URL as it may be shown. */
char *cam_redact_url(const char *url);

/* ---- feeding recognition (feed.c) ---------------------------------------- */

/* The server's cameras: a manager whose frames go to recog_frame, marked
 * for attendance under the camera's id (recog's listeners publish it) —
 * every frame without tracking, with it (cam_track_config below) only the
 * frames where a face is new or due for its re-check; the others reuse or
 * move the camera's tracks. The feed keeps, per camera, the faces of its
 * last frame (for an annotated snapshot) and the latency from capture to
 * recognition done over the most recent frames. */
struct recog;
typedef struct cam_feed cam_feed;

typedef struct {
    float x0, y0, x1, y1;
    bool known;
    char label[64]; /* the person's name, "unknown" or "not live" */
    int track;      /* the face's track id on this camera (1, 2, ...); 0 without tracking */
} cam_face;
#define CAM_FEED_FACES 32

/* Face tracking per camera (track.c). A camera stream does not run the
 * whole pipeline on every frame: the detector runs every `detect_every`-th
 * frame and its boxes are associated with the camera's tracks (IoU, else
 * centre distance); the frames between reuse the tracks' boxes. A face is
 * identified (embedding, liveness, gallery, attendance) when its track
 * starts, every `recheck_ms` after that, and when its box has grown by
 * `grow` over the size it was identified at (closer, so better). A track
 * ends after `max_missed` detection rounds without its face. A newcomer is
 * therefore identified within `detect_every` frames of entering. */
typedef struct {
    unsigned detect_every; /* 0 = 2 */
    unsigned max_missed;   /* 0 = 1 */
    double recheck_ms;     /* 0 = 2000 */
    float min_iou;         /* association threshold; 0 = 0.3 */
    float grow;            /* 0 = 1.3 */
    /* Detection on regions: 0 runs every detection round on the whole
     * frame. N > 0: while faces are tracked, a detection round runs the
     * detector only on a region around each track (where its velocity puts
     * it, grown by `margin` of the face's size on each side, seen at the
     * whole frame's scale), and on the whole frame every N-th frame at
     * least, where newcomers are found; regions covering more than half the
     * frame are one whole-frame detection instead. */
    unsigned full_every;
    float margin; /* 0 = 0.6 */
} cam_track_config;

rc_status cam_feed_create(struct recog *rg, unsigned workers, rc_metrics *metrics, cam_feed **out,
                          rc_error *err);
/* Turn tracking on with the given settings (NULL: every frame goes through
 * the whole pipeline, as without tracking). Applies to cameras started
 * afterwards and to frames processed from now on; the default is on with
 * the defaults above. */
void cam_feed_set_tracking(cam_feed *f, const cam_track_config *cfg);
/* Process one frame of camera `id` now on the calling thread, exactly as a
 * manager worker would (tests, and sources outside the manager). Frames of
 * one camera must not be passed concurrently. */
void cam_feed_frame(cam_feed *f, int64_t id, const cam_frame *frame);
/* Per-camera tracking counters: frames that only reused the tracks, that
 * ran the detector (on the whole frame; on regions), that ran the whole
 * pipeline; tracks started. */
typedef struct {
    uint64_t skipped, detected, identified, tracks;
    int live;         /* tracks alive now */
    uint64_t regions; /* frames whose detection ran on regions around the tracks */
} cam_track_stats;
/* The counters of camera id (zero when it has none). */
void cam_feed_track_stats(cam_feed *f, int64_t id, cam_track_stats *out);
/* Stops every camera (frames in flight finish first). */
void cam_feed_destroy(cam_feed *f);
cam_manager *cam_feed_manager(cam_feed *f);
/* Start (or restart with new settings) a camera as the store describes it;
 * "browser" cameras (frames posted to /recognize) are only stopped. */
rc_status cam_feed_apply(cam_feed *f, const store_camera *c, rc_error *err);
void cam_feed_forget(cam_feed *f, int64_t id);
/* Start every camera in the store; failures are logged per camera. */
rc_status cam_feed_start_all(cam_feed *f, store *s, rc_error *err);
/* The faces of the camera's last recognized frame; returns how many. */
int cam_feed_last_faces(cam_feed *f, int64_t id, cam_face *out, int cap);
/* Per-camera state, last error and counters and the capture-to-recognition
 * latency in the exposition format (caller frees); NULL when out of memory. */
char *cam_feed_metrics(cam_feed *f);
/* A camera frame as an RGB image (JPEG frames decoded); NULL with err set. */
img_image *cam_frame_image(const cam_frame *fr, rc_error *err);

/* ---- helpers shared with the edge client -------------------------------- */

/* Reconnect delay before attempt number `attempt` (0 = first retry):
 * d = min(max_ms, base_ms * 2^attempt), then "equal jitter": a value in
 * [d/2, d] drawn from *rng (a per-caller xorshift state; 0 means a fixed seed). */
unsigned cam_backoff_ms(unsigned base_ms, unsigned max_ms, unsigned attempt, uint64_t *rng);

#endif
