/* test_camera_sources.c — cameras against real servers on loopback: the
 * node MJPEG server (tests/camera/mjpeg_server.mjs) in its normal and broken
 * modes, a video file and an RTSP stream made by Debian's ffmpeg from the
 * test photos, and a manager that keeps good cameras flowing beside bad ones
 * and a slow consumer. Waits are bounded polls on the camera status (they
 * check that something happens, never how fast). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "camera/camera.h"

extern char **environ;

typedef struct {
    char dir[256];    /* temp dir with frames/ and clip.mkv */
    pid_t server;     /* node mjpeg_server.mjs */
    int server_stdin; /* closing it stops the server */
    int port;
} fixture;

static fixture fx;

static pid_t spawn(char *const argv[], int *stdin_fd, int *stdout_fd)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (stdin_fd && pipe(in) != 0) return -1;
    if (stdout_fd && pipe(out) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdin_fd) {
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_addclose(&fa, in[1]);
    } else {
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
    }
    if (stdout_fd) {
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addclose(&fa, out[0]);
    }
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (stdin_fd) {
        close(in[0]);
        *stdin_fd = in[1];
    }
    if (stdout_fd) {
        close(out[1]);
        *stdout_fd = out[0];
    }
    return rc == 0 ? pid : -1;
}

static void stop_child(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* Start a node helper (mjpeg_server.mjs or rtsp_server.mjs) that prints
 * "listening PORT"; returns the port, fills *pid and *stdin_fd. */
static int start_helper(char *const argv[], pid_t *pid, int *stdin_fd)
{
    int out;
    *pid = spawn(argv, stdin_fd, &out);
    if (*pid < 0) return -1;
    char line[128] = "";
    size_t n = 0;
    struct pollfd p = {.fd = out, .events = POLLIN};
    while (n < sizeof line - 1 && poll(&p, 1, 20000) > 0) {
        if (read(out, line + n, 1) != 1) break;
        if (line[n++] == '\n') break;
    }
    line[n] = 0;
    close(out);
    int port;
    if (sscanf(line, "listening %d", &port) != 1) {
        fprintf(stderr, "%s did not start: '%s'\n", argv[1], line);
        return -1;
    }
    return port;
}

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("ROLLCALL_SOURCE");
    if (!src) return -1;
    snprintf(fx.dir, sizeof fx.dir, "/tmp/rollcall-cam-XXXXXX");
    if (!mkdtemp(fx.dir)) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/camera/make_media.sh' '%s'", src, fx.dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make_media.sh failed\n");
        return -1;
    }
    char script[512], frames[512], video[512], nopicture[512], trickle[512];
    snprintf(script, sizeof script, "%s/tests/camera/mjpeg_server.mjs", src);
    snprintf(frames, sizeof frames, "%s/frames", fx.dir);
    snprintf(video, sizeof video, "%s/clip.mkv", fx.dir);
    snprintf(nopicture, sizeof nopicture, "%s/nopicture.ts", fx.dir);
    snprintf(trickle, sizeof trickle, "%s/clip.ts", fx.dir);
    char *argv[] = {"node",        script,    "--dir",     frames,  "--video", video,
                    "--nopicture", nopicture, "--trickle", trickle, "--port",  "0",
                    "--fps",       "20",      "--stdin",   "watch", NULL};
    fx.port = start_helper(argv, &fx.server, &fx.server_stdin);
    return fx.port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    close(fx.server_stdin);
    stop_child(fx.server);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *url(const char *path)
{
    static _Thread_local char buf[256];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", fx.port, path);
    return buf;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static cam_config fast_cfg(const char *u)
{
    return (cam_config){.url = u,
                        .backoff_base_ms = 50,
                        .backoff_max_ms = 400,
                        .connect_timeout_ms = 3000,
                        .stall_timeout_ms = 5000,
                        .queue_len = 4};
}

/* Poll the status until pred holds (at most ~30 s). */
typedef bool (*status_pred)(const cam_status *st, uint64_t arg);

static cam_status wait_status(cam_camera *c, status_pred pred, uint64_t arg, const char *what)
{
    cam_status st;
    for (int i = 0; i < 3000; i++) {
        cam_camera_status(c, &st);
        if (pred(&st, arg)) return st;
        usleep(10000);
    }
    fail_msg("%s: timed out waiting for %s (state %s, frames %llu, error '%s')", cam_camera_url(c),
             what, cam_state_name(st.state), (unsigned long long)st.frames, st.last_error);
    return st;
}

static bool has_connects(const cam_status *st, uint64_t n)
{
    return st->connects >= n;
}

static bool in_state(const cam_status *st, uint64_t s)
{
    return st->state == (cam_state)s;
}

/* Take n frames through cam_camera_next and check each is a whole 320x240
 * frame of the expected format, in increasing sequence. */
static void take_frames(cam_camera *c, int n, cam_format fmt)
{
    uint64_t last_seq = 0;
    for (int i = 0; i < n; i++) {
        cam_frame *f = cam_camera_next(c, 20000);
        if (!f) {
            cam_status st;
            cam_camera_status(c, &st);
            fail_msg("%s: frame %d did not come (state %s, error '%s')", cam_camera_url(c), i,
                     cam_state_name(st.state), st.last_error);
        }
        assert_int_equal(f->fmt, fmt);
        assert_int_equal(f->width, 320);
        assert_int_equal(f->height, 240);
        assert_true(f->seq > last_seq);
        last_seq = f->seq;
        if (fmt == CAM_FMT_JPEG) {
            assert_true(f->size > 1000);
            assert_int_equal(f->data[0], 0xFF);
            assert_int_equal(f->data[1], 0xD8);
            assert_int_equal(f->data[f->size - 2], 0xFF);
            assert_int_equal(f->data[f->size - 1], 0xD9);
        } else {
            assert_int_equal(f->size, 320 * 240 * 3);
        }
        assert_true(f->ts_ms > 1600000000000LL);
        cam_frame_unref(f);
    }
}

static void mjpeg_streams_in_every_framing_style(void **state)
{
    (void)state;
    const char *paths[] = {"/stream", "/stream?mode=nolength", "/stream?mode=quirks"};
    for (size_t i = 0; i < 3; i++) {
        cam_config cfg = fast_cfg(url(paths[i]));
        cam_camera *c;
        rc_error err;
        assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
        assert_int_equal(cam_camera_kind(c), CAM_KIND_MJPEG);
        take_frames(c, 8, CAM_FMT_JPEG);
        cam_status st;
        cam_camera_status(c, &st);
        assert_int_equal(st.state, CAM_STATE_STREAMING);
        assert_int_equal(st.failures, 0);
        assert_int_equal(st.partial, 0);
        assert_int_equal(st.width, 320);
        assert_true(st.last_frame_ms > 0);
        cam_frame *last = cam_camera_last_frame(c);
        assert_non_null(last);
        assert_int_equal(last->fmt, CAM_FMT_JPEG);
        cam_frame_unref(last);
        cam_camera_destroy(c);
    }
}

static void truncated_parts_are_discarded_not_delivered(void **state)
{
    (void)state;
    cam_config cfg = fast_cfg(url("/stream?mode=truncate"));
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    take_frames(c, 8, CAM_FMT_JPEG); /* every delivered frame is whole */
    cam_status st;
    cam_camera_status(c, &st);
    assert_true(st.partial >= 2);
    assert_int_equal(st.failures, 0);
    cam_camera_destroy(c);
}

static void a_stream_cut_mid_frame_reconnects_by_itself(void **state)
{
    (void)state;
    cam_config cfg = fast_cfg(url("/cut"));
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    take_frames(c, 3, CAM_FMT_JPEG);
    cam_status st = wait_status(c, has_connects, 2, "a second connection");
    assert_true(st.failures >= 1);
    assert_true(st.partial >= 1);                             /* the half frame at the cut */
    assert_non_null(strstr(st.last_error, "after 3 frames")); /* broke off, or closed */
    take_frames(c, 10, CAM_FMT_JPEG);                         /* and it keeps delivering */
    cam_camera_status(c, &st);
    assert_int_equal(st.state, CAM_STATE_STREAMING);
    cam_camera_destroy(c);
}

static void snapshot_urls_are_polled(void **state)
{
    (void)state;
    cam_config cfg = fast_cfg(url("/capture"));
    cfg.max_fps = 20;
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    assert_int_equal(cam_camera_kind(c), CAM_KIND_SNAPSHOT);
    take_frames(c, 5, CAM_FMT_JPEG);
    cam_camera_destroy(c);
}

typedef struct {
    const char *path; /* NULL: a refused connection */
    cam_kind kind;
    size_t max_frame_bytes;
    unsigned stall_ms;
    const char *expect;
    const char *code; /* the stable code (cam_status.error_code); NULL: any */
} bad_case;

static const bad_case bad_cases[] = {
    {"/404", CAM_KIND_AUTO, 0, 0, "HTTP 404", "not_found"},
    {"/html", CAM_KIND_AUTO, 0, 0, "sent text/html", "bad_content"},
    {"/garbage", CAM_KIND_AUTO, 0, 0, "does not speak HTTP", "not_http"},
    {"/garbage-body", CAM_KIND_AUTO, 200000, 0, "no JPEG frame", NULL},
    {"/stall", CAM_KIND_AUTO, 0, 1500, "stalled", "timeout"},
    {"/hang", CAM_KIND_AUTO, 0, 1500, "another viewer", "timeout"},
    {"/drip", CAM_KIND_AUTO, 0, 1500, "no whole frame for", "timeout"},
    {"/private", CAM_KIND_AUTO, 0, 0, "HTTP 401 (the camera wants credentials", "auth_failed"},
    {"/stream", CAM_KIND_AUTO, 4000, 0, "larger than 4000 bytes", "frame_too_large"},
    {"/capture", CAM_KIND_AUTO, 4000, 0, "larger than 4000 bytes", "frame_too_large"},
    {"/video.mkv", CAM_KIND_MJPEG, 0, 0, "use an FFmpeg source for video", "bad_content"},
    {"/html", CAM_KIND_SNAPSHOT, 0, 0, "not a JPEG image", "bad_content"},
    {"/404", CAM_KIND_SNAPSHOT, 0, 0, "HTTP 404", "not_found"},
    {"/html", CAM_KIND_FFMPEG, 0, 2000, "127.0.0.1:", NULL}, /* not a format FFmpeg knows */
    /* video that arrives and never decodes: an error, not "connecting" */
    {"/nopicture.ts", CAM_KIND_FFMPEG, 0, 1000, "no picture in 3 s although data arrives",
     "decode_failed"},
    {NULL, CAM_KIND_AUTO, 0, 0, "is the camera on", "connect_failed"},
};

static cam_config bad_cfg(const bad_case *b, char *buf, size_t n)
{
    if (b->path)
        snprintf(buf, n, "%s", url(b->path));
    else
        snprintf(buf, n, "http://127.0.0.1:%d/stream", free_port());
    cam_config cfg = fast_cfg(buf);
    cfg.kind = b->kind;
    cfg.max_frame_bytes = b->max_frame_bytes;
    if (b->stall_ms) cfg.stall_timeout_ms = b->stall_ms;
    return cfg;
}

/* Two failed attempts, the last with the case's code (any, when it names
 * none). On a loaded machine the server or the reader can be kept from
 * running for a whole stall timeout, a true silence, and the video without
 * pictures then fails as a stall once (seen in a CI run when a stall was
 * still counted per packet): its attempts are read until one fails the way
 * under test. */
static bool failed_as(const cam_status *st, uint64_t arg)
{
    const bad_case *b = (const bad_case *)(uintptr_t)arg;
    return st->failures >= 2 && (!b->code || strcmp(st->error_code, b->code) == 0);
}

static void bad_sources_give_a_clear_status_and_keep_retrying(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        char u[256];
        cam_config cfg = bad_cfg(&bad_cases[i], u, sizeof u);
        cam_camera *c;
        rc_error err;
        assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
        cam_status st = wait_status(c, failed_as, (uint64_t)(uintptr_t)&bad_cases[i],
                                    "two failed attempts, the last with the case's code");
        if (!strstr(st.last_error, bad_cases[i].expect))
            fail_msg("%s (%s): error '%s' does not mention '%s'", u,
                     cam_kind_name(bad_cases[i].kind), st.last_error, bad_cases[i].expect);
        assert_int_not_equal(st.last_status, RC_OK);
        /* A stable code for the UI to translate, with the host when it is
         * about the connection. */
        assert_true(st.error_code[0] != 0);
        if (bad_cases[i].code && strcmp(st.error_code, bad_cases[i].code) != 0)
            fail_msg("%s (%s): code '%s', want '%s'", u, cam_kind_name(bad_cases[i].kind),
                     st.error_code, bad_cases[i].code);
        if (!strcmp(st.error_code, "connect_failed") || !strcmp(st.error_code, "not_found"))
            assert_non_null(strstr(st.error_params, "\"host\":\"127.0.0.1:"));
        assert_int_equal(st.frames, 0);
        assert_null(cam_camera_last_frame(c));
        cam_camera_destroy(c);
    }
}

static void a_video_file_is_read_frame_by_frame(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/clip.mkv", fx.dir);
    cam_config cfg = fast_cfg(path);
    cfg.fast = true;
    cfg.queue_len = 64; /* hold the whole clip: count every frame */
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    assert_int_equal(cam_camera_kind(c), CAM_KIND_FFMPEG);
    wait_status(c, in_state, CAM_STATE_ENDED, "the end of the file");
    take_frames(c, 30, CAM_FMT_RGB24);
    assert_null(cam_camera_next(c, 100)); /* ended: no more, no waiting */
    cam_status st;
    cam_camera_status(c, &st);
    assert_int_equal(st.frames, 30);
    assert_int_equal(st.drops, 0);
    assert_int_equal(st.failures, 0);
    /* Re-enabling an ended file plays it again. */
    cam_camera_set_enabled(c, false);
    cam_camera_set_enabled(c, true);
    take_frames(c, 5, CAM_FMT_RGB24);
    cam_camera_destroy(c);
}

static void http_video_is_read_through_ffmpeg(void **state)
{
    (void)state;
    cam_config cfg = fast_cfg(url("/video.mkv"));
    cfg.fast = true;
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    assert_int_equal(cam_camera_kind(c), CAM_KIND_FFMPEG);
    take_frames(c, 5, CAM_FMT_RGB24);
    cam_camera_destroy(c);
}

static void a_video_file_plays_at_its_pace_and_loops(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/clip.mkv", fx.dir);
    cam_config cfg = fast_cfg(path);
    cfg.loop = true;
    cfg.max_fps = 50;
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    take_frames(c, 40, CAM_FMT_RGB24); /* more than the clip holds */
    cam_status st;
    cam_camera_status(c, &st);
    assert_true(st.frames >= 40);
    assert_true(st.state == CAM_STATE_STREAMING || st.state == CAM_STATE_CONNECTING);
    cam_camera_destroy(c);
}

static bool has_frames(const cam_status *st, uint64_t n)
{
    return st->frames >= n;
}

static bool has_failures(const cam_status *st, uint64_t n)
{
    return st->failures >= n;
}

/* An FFmpeg camera on the server's `path` with a stall timeout of 1 s. */
static cam_camera *ffmpeg_camera(const char *path)
{
    cam_config cfg = fast_cfg(url(path));
    cfg.kind = CAM_KIND_FFMPEG;
    cfg.stall_timeout_ms = 1000;
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    return c;
}

/* A slow link: after the clip's 30 frames at full speed, its bytes come
 * 376 every 100 ms, so each packet (5.6-9.8 KB) takes 1.5-2.6 s to arrive,
 * longer than the stall timeout of 1 s, while the link is never silent for
 * more than 100 ms. The stream plays on: a stall is a silence, not a slow
 * packet. */
static void a_slow_stream_that_never_goes_silent_is_not_a_stall(void **state)
{
    (void)state;
    cam_camera *c = ffmpeg_camera("/trickle.ts");
    cam_status st = wait_status(c, has_frames, 33, "three frames past the first 30");
    if (st.failures != 0)
        fail_msg("%llu failed attempts, the last: '%s'", (unsigned long long)st.failures,
                 st.last_error);
    assert_int_equal(st.connects, 1);
    cam_camera_destroy(c);
}

/* The clip's 30 frames, then random bytes every 100 ms for ever: the link
 * never goes silent and no packet comes. The read gives up after three
 * stall timeouts and says why, instead of waiting for as long as bytes
 * come. */
static void a_stream_turned_to_garbage_fails_as_undecodable(void **state)
{
    (void)state;
    cam_camera *c = ffmpeg_camera("/garbage-after.ts");
    cam_status st = wait_status(c, has_failures, 1, "a failed attempt");
    assert_true(st.frames >= 30);
    if (!strstr(st.last_error, "data arrives but no packet in 3 s"))
        fail_msg("error '%s'", st.last_error);
    assert_string_equal(st.error_code, "decode_failed");
    cam_camera_destroy(c);
}

static void an_rtsp_stream_is_read_through_ffmpeg(void **state)
{
    (void)state;
    char script[512], clip[512], rtsp[128];
    snprintf(script, sizeof script, "%s/tests/camera/rtsp_server.mjs", getenv("ROLLCALL_SOURCE"));
    snprintf(clip, sizeof clip, "%s/clip.mkv", fx.dir);
    char *argv[] = {"node", script, "--input", clip, "--stdin", "watch", NULL};
    pid_t pid;
    int in;
    int port = start_helper(argv, &pid, &in);
    assert_true(port > 0);
    snprintf(rtsp, sizeof rtsp, "rtsp://127.0.0.1:%d/door", port);
    cam_config cfg = fast_cfg(rtsp);
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    take_frames(c, 10, CAM_FMT_RGB24);
    cam_status st;
    cam_camera_status(c, &st);
    assert_int_equal(st.state, CAM_STATE_STREAMING);
    assert_int_equal(st.connects, 1);
    cam_camera_destroy(c);
    close(in);
    stop_child(pid);
}

static void a_camera_is_disabled_and_enabled_at_run_time(void **state)
{
    (void)state;
    cam_config cfg = fast_cfg(url("/stream"));
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    take_frames(c, 3, CAM_FMT_JPEG);
    cam_camera_set_enabled(c, false);
    cam_status st;
    cam_camera_status(c, &st);
    assert_int_equal(st.state, CAM_STATE_DISABLED);
    uint64_t frames = st.frames;
    assert_null(cam_camera_next(c, 300)); /* the queue was emptied and stays empty */
    cam_camera_status(c, &st);
    assert_int_equal(st.frames, frames);
    assert_int_equal(st.state, CAM_STATE_DISABLED);
    cam_camera_set_enabled(c, true);
    take_frames(c, 3, CAM_FMT_JPEG);
    cam_camera_status(c, &st);
    assert_true(st.connects >= 2);
    cam_camera_destroy(c);
}

static void the_frame_rate_cap_skips_and_the_queue_drops(void **state)
{
    (void)state;
    cam_config cfg = fast_cfg(url("/stream?fps=40"));
    cfg.max_fps = 5;
    cfg.queue_len = 2;
    cam_camera *c;
    rc_error err;
    assert_int_equal(cam_camera_create(&cfg, &c, &err), RC_OK);
    /* Nobody consumes: frames past the cap are skipped, the queue keeps the
     * newest two and counts the rest as drops. */
    cam_status st = wait_status(c, has_connects, 1, "a connection");
    for (int i = 0; i < 3000; i++) {
        cam_camera_status(c, &st);
        if (st.frames >= 5) break;
        usleep(10000);
    }
    assert_true(st.frames >= 5);
    assert_true(st.skipped > st.frames); /* 40 fps in, 5 fps accepted */
    assert_int_equal(st.drops, st.frames - 2);
    cam_frame *a = cam_camera_next(c, 0), *b = cam_camera_next(c, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(b->seq > a->seq);
    cam_frame_unref(a);
    cam_frame_unref(b);
    cam_camera_destroy(c);
}

/* ---- manager ------------------------------------------------------------- */

#define MAX_IDS 32

typedef struct {
    atomic_int count[MAX_IDS];
    atomic_int active[MAX_IDS]; /* callbacks running now per camera */
    atomic_int overlap;         /* times two callbacks ran for one camera */
    atomic_int bad_calls;       /* callbacks with impossible arguments */
    int slow_id;
    unsigned slow_ms;
} consumer;

static void on_frame(void *user, unsigned worker, int id, cam_camera *cam, const cam_frame *f)
{
    consumer *k = user;
    if (worker >= 2) atomic_fetch_add(&k->bad_calls, 1); /* the pool has two workers */
    /* cmocka's asserts must not run on a worker thread: count instead. */
    if (id < 0 || id >= MAX_IDS || !cam || !f || !f->data || !f->size) {
        atomic_fetch_add(&k->bad_calls, 1);
        return;
    }
    if (atomic_fetch_add(&k->active[id], 1) != 0) atomic_fetch_add(&k->overlap, 1);
    if (id == k->slow_id) usleep(k->slow_ms * 1000);
    atomic_fetch_add(&k->count[id], 1);
    atomic_fetch_sub(&k->active[id], 1);
}

static void wait_count(consumer *k, int id, int n)
{
    for (int i = 0; i < 3000 && atomic_load(&k->count[id]) < n; i++) usleep(10000);
    if (atomic_load(&k->count[id]) < n)
        fail_msg("camera %d: only %d frames processed", id, atomic_load(&k->count[id]));
}

static void manager_keeps_good_cameras_flowing_beside_bad_ones(void **state)
{
    (void)state;
    consumer k = {.slow_id = 1, .slow_ms = 400};
    cam_manager_config mc = {.workers = 2, .on_frame = on_frame, .user = &k};
    cam_manager *m;
    rc_error err;
    assert_int_equal(cam_manager_create(&mc, &m, &err), RC_OK);
    /* 1: a camera whose consumer is slow; 2: MJPEG; 3: a looping file;
     * 10..: every bad source. */
    cam_config slow = fast_cfg(url("/stream?mode=nolength"));
    assert_int_equal(cam_manager_add(m, 1, &slow, &err), RC_OK);
    cam_config good = fast_cfg(url("/stream"));
    good.direction = CAM_DIR_ENTRY;
    assert_int_equal(cam_manager_add(m, 2, &good, &err), RC_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/clip.mkv", fx.dir);
    cam_config file = fast_cfg(path);
    file.loop = true;
    file.direction = CAM_DIR_EXIT;
    assert_int_equal(cam_manager_add(m, 3, &file, &err), RC_OK);
    char urls[sizeof bad_cases / sizeof *bad_cases][256];
    size_t nbad = sizeof bad_cases / sizeof *bad_cases;
    for (size_t i = 0; i < nbad; i++) {
        cam_config cfg = bad_cfg(&bad_cases[i], urls[i], sizeof urls[i]);
        assert_int_equal(cam_manager_add(m, 10 + (int)i, &cfg, &err), RC_OK);
    }
    assert_int_equal(cam_manager_add(m, 2, &good, &err), RC_ERR_CONFLICT);
    int ids[MAX_IDS];
    assert_int_equal(cam_manager_list(m, ids, MAX_IDS), 3 + nbad);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[3], 10);

    /* The fast cameras get far more frames through than the slow one. */
    wait_count(&k, 2, 40);
    wait_count(&k, 3, 20);
    wait_count(&k, 1, 2);
    assert_true(atomic_load(&k.count[2]) > 2 * atomic_load(&k.count[1]));
    assert_int_equal(atomic_load(&k.overlap), 0); /* one frame per camera at a time */
    assert_int_equal(atomic_load(&k.bad_calls), 0);

    cam_status st;
    assert_int_equal(cam_manager_status(m, 1, &st, &err), RC_OK);
    assert_true(st.drops > 0);                 /* slow consumer: old frames dropped */
    assert_true(st.frames > st.processed + 2); /* capture did not wait for it */
    assert_int_equal(cam_manager_status(m, 2, &st, &err), RC_OK);
    assert_int_equal(st.state, CAM_STATE_STREAMING);
    assert_true(st.processed >= 40);
    for (size_t i = 0; i < nbad; i++) {
        assert_int_equal(cam_manager_status(m, 10 + (int)i, &st, &err), RC_OK);
        assert_int_equal(st.frames, 0);
        assert_true(st.state == CAM_STATE_BACKOFF || st.state == CAM_STATE_CONNECTING);
    }

    /* What GET /api/v1/cameras shows. */
    json_t *d;
    assert_int_equal(cam_manager_describe(m, 3, &d, &err), RC_OK);
    assert_int_equal(json_integer_value(json_object_get(d, "id")), 3);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "ffmpeg");
    assert_string_equal(json_string_value(json_object_get(d, "direction")), "exit");
    assert_string_equal(json_string_value(json_object_get(d, "url")), path);
    assert_true(json_integer_value(json_object_get(d, "frames")) > 0);
    assert_true(json_is_string(json_object_get(d, "last_frame_at")));
    json_decref(d);
    assert_int_equal(cam_manager_describe(m, 10, &d, &err), RC_OK); /* a bad source */
    assert_non_null(strstr(json_string_value(json_object_get(d, "last_error")), "HTTP 404"));
    json_decref(d);
    assert_int_equal(cam_manager_describe(m, 99, &d, &err), RC_ERR_NOT_FOUND);
    assert_null(d);

    /* Snapshot of the last frame, disable and remove at run time. */
    cam_frame *last = cam_manager_last_frame(m, 3);
    assert_non_null(last);
    assert_int_equal(last->fmt, CAM_FMT_RGB24);
    cam_frame_unref(last);
    assert_null(cam_manager_last_frame(m, 99));
    assert_int_equal(cam_manager_set_enabled(m, 2, false, &err), RC_OK);
    assert_int_equal(cam_manager_status(m, 2, &st, &err), RC_OK);
    assert_int_equal(st.state, CAM_STATE_DISABLED);
    assert_int_equal(cam_manager_set_enabled(m, 2, true, &err), RC_OK);
    int before = atomic_load(&k.count[2]);
    wait_count(&k, 2, before + 5);
    assert_int_equal(cam_manager_remove(m, 1, &err), RC_OK); /* its callback may be running */
    assert_int_equal(cam_manager_remove(m, 1, &err), RC_ERR_NOT_FOUND);
    assert_int_equal(cam_manager_status(m, 1, &st, &err), RC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no camera 1"));
    assert_int_equal(cam_manager_list(m, ids, MAX_IDS), 2 + nbad);
    cam_manager_destroy(m);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mjpeg_streams_in_every_framing_style),
        cmocka_unit_test(truncated_parts_are_discarded_not_delivered),
        cmocka_unit_test(a_stream_cut_mid_frame_reconnects_by_itself),
        cmocka_unit_test(snapshot_urls_are_polled),
        cmocka_unit_test(bad_sources_give_a_clear_status_and_keep_retrying),
        cmocka_unit_test(a_video_file_is_read_frame_by_frame),
        cmocka_unit_test(a_video_file_plays_at_its_pace_and_loops),
        cmocka_unit_test(http_video_is_read_through_ffmpeg),
        cmocka_unit_test(a_slow_stream_that_never_goes_silent_is_not_a_stall),
        cmocka_unit_test(a_stream_turned_to_garbage_fails_as_undecodable),
        cmocka_unit_test(an_rtsp_stream_is_read_through_ffmpeg),
        cmocka_unit_test(a_camera_is_disabled_and_enabled_at_run_time),
        cmocka_unit_test(the_frame_rate_cap_skips_and_the_queue_drops),
        cmocka_unit_test(manager_keeps_good_cameras_flowing_beside_bad_ones),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
