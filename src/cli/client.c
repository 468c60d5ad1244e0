/*
 * client.c — `rollcall client`: the edge client for a camera the server
 * cannot reach. It captures with the camera module's sources (webcam, MJPEG
 * or snapshot URL, RTSP, video or image file), posts each frame as
 * image/jpeg to SERVER/api/v1/recognize?mark=true with the API key, and
 * prints who was recognized. Frames that come as pixels are JPEG-encoded
 * (cam_frame_jpeg, libturbojpeg). When the server is down it backs off (exponential
 * with jitter) and keeps going, always posting the newest frame; --once
 * posts one frame and exits non-zero if that did not work.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../camera/camera.h"
#include "../rc/rc.h"
#include "cli.h"

static void client_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall client --source SRC --server URL --api-key KEY [OPTIONS]\n\n"
            "Capture frames here and post them to a Rollcall server, which recognizes the\n"
            "faces and records attendance; prints who was recognized. For a camera the\n"
            "server cannot reach itself.\n\n"
            "Options:\n"
            "  -s, --source SRC     /dev/videoN (USB webcam), http://cam:81/stream (MJPEG),\n"
            "                       http://cam/capture (JPEG snapshots), rtsp://... (IP\n"
            "                       camera), or a video or image file\n"
            "  -S, --server URL     the Rollcall server, e.g. http://10.0.0.2:8080\n"
            "  -k, --api-key KEY    API key (default: the ROLLCALL_API_KEY environment variable,\n"
            "                       which keeps it out of the process list)\n"
            "  -f, --fps N          frames posted per second at most (default 2)\n"
            "  -1, --once           post one frame, print the answer and exit; the exit status\n"
            "                       is 1 when no frame could be captured or posted\n"
            "      --timeout S      with --once: give up after S seconds (default 20)\n"
            "      --kind KIND      force the source kind: mjpeg, snapshot, ffmpeg, v4l2\n"
            "      --quality Q      JPEG quality for sources that give pixels (default 85)\n"
            "      --retry-ms MS    first back-off delay when the server is down (default\n"
            "                       500; doubles up to 30 s, with jitter)\n"
            "  -v, --verbose        log debug messages\n"
            "  -h, --help           show this help\n\n"
            "Exit status: 0 done (end of a file, SIGINT/SIGTERM, or --once posted), 1 failure\n"
            "(--once could not post, or the server refused the API key), 2 bad usage.\n");
}

/* Set from the signal handler only; the main loop polls it. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    char *data;
    size_t len;
} body_buf;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    body_buf *b = arg;
    size_t add = size * n;
    if (b->len + add > (1u << 20)) return 0; /* an answer this big is not ours */
    char *nb = realloc(b->data, b->len + add + 1);
    if (!nb) return 0;
    memcpy(nb + b->len, p, add);
    b->len += add;
    nb[b->len] = 0;
    b->data = nb;
    return add;
}

static void now_iso(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A face's identity: "name" beside it, or identity as an object or string. */
static const char *face_name(json_t *face)
{
    const char *s = json_string_value(json_object_get(face, "name"));
    json_t *id = json_object_get(face, "identity");
    if (!s && json_is_object(id)) {
        s = json_string_value(json_object_get(id, "name"));
        if (!s) s = json_string_value(json_object_get(id, "external_id"));
    }
    if (!s) s = json_string_value(id);
    json_t *person = json_object_get(face, "person");
    if (!s && json_is_object(person)) s = json_string_value(json_object_get(person, "name"));
    return s;
}

/* Print the recognition answer; returns the number of identified faces. */
static int print_answer(const char *body, bool once)
{
    json_error_t je;
    json_t *root = json_loads(body ? body : "", 0, &je);
    if (!root) {
        fprintf(stderr, "rollcall client: the server's answer is not JSON (%s)\n", je.text);
        return 0;
    }
    json_t *faces = json_object_get(root, "faces");
    if (!json_is_array(faces)) faces = json_object_get(root, "recognized_faces");
    char ts[32];
    now_iso(ts, sizeof ts);
    int known = 0;
    size_t i;
    json_t *face;
    if (json_array_size(faces) == 0 && once) printf("%s  no face in the frame\n", ts);
    json_array_foreach(faces, i, face)
    {
        const char *name = face_name(face);
        json_t *conf = json_object_get(face, "confidence");
        if (!conf) conf = json_object_get(face, "score");
        json_t *ev = json_object_get(face, "event");
        const char *event = json_string_value(ev);
        const char *status = NULL;
        if (json_is_object(ev)) {
            event = json_string_value(json_object_get(ev, "type"));
            if (!event) event = json_string_value(json_object_get(ev, "direction"));
            status = json_string_value(json_object_get(ev, "status"));
        }
        char confs[32] = "";
        if (json_is_number(conf)) snprintf(confs, sizeof confs, "  %.2f", json_number_value(conf));
        if (name) {
            known++;
            printf("%s  %s%s", ts, name, confs);
            if (event) printf("  %s", event);
            if (status) printf(" (%s)", status);
            printf("\n");
        } else {
            printf("%s  unknown face%s\n", ts, confs);
        }
    }
    fflush(stdout);
    json_decref(root);
    return known;
}

/* The "error.message" of a JSON error answer, or the raw start of the body. */
static void error_text(const char *body, char *out, size_t n)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(root, "error"), "message"));
    if (msg)
        snprintf(out, n, "%s", msg);
    else
        snprintf(out, n, "%.120s", body ? body : "");
    json_decref(root);
}

typedef enum { POST_OK, POST_RETRY, POST_SKIP, POST_FATAL } post_result;

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    char url[2048];
    int quality;
} poster;

static post_result post_frame(poster *p, const cam_frame *f, bool once, int *known, char *why,
                              size_t whyn)
{
    uint8_t *data = NULL;
    size_t size = 0;
    rc_error err;
    if (cam_frame_jpeg(f, p->quality, &data, &size, &err) != RC_OK) {
        snprintf(why, whyn, "%s", err.msg);
        return POST_SKIP;
    }
    body_buf body = {0};
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)size);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &body);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(p->curl);
    post_result r = POST_OK;
    long code = 0;
    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK) {
        snprintf(why, whyn, "cannot reach the server: %s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
        r = POST_RETRY;
    } else if (code == 401 || code == 403) {
        char msg[256];
        error_text(body.data, msg, sizeof msg);
        snprintf(why, whyn, "the server refused the API key (HTTP %ld): %s", code, msg);
        r = POST_FATAL;
    } else if (code >= 500 || code == 429 || code == 408) {
        char msg[256];
        error_text(body.data, msg, sizeof msg);
        snprintf(why, whyn, "the server answered HTTP %ld: %s", code, msg);
        r = POST_RETRY;
    } else if (code < 200 || code >= 300) {
        char msg[256];
        error_text(body.data, msg, sizeof msg);
        snprintf(why, whyn, "the server rejected the frame (HTTP %ld): %s", code, msg);
        r = code == 404 ? POST_FATAL : POST_SKIP;
    } else {
        *known = print_answer(body.data, once);
    }
    free(body.data);
    free(data);
    return r;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

int cli_client(int argc, char **argv)
{
    const char *source = NULL, *server = NULL, *key = getenv("ROLLCALL_API_KEY");
    double fps = 2, timeout_s = 20, quality = 85, retry_ms = 500;
    bool once = false;
    cam_kind kind = CAM_KIND_AUTO;
    enum { OPT_TIMEOUT = 256, OPT_KIND, OPT_QUALITY, OPT_RETRY };
    static const struct option opts[] = {{"source", required_argument, 0, 's'},
                                         {"server", required_argument, 0, 'S'},
                                         {"api-key", required_argument, 0, 'k'},
                                         {"fps", required_argument, 0, 'f'},
                                         {"once", no_argument, 0, '1'},
                                         {"timeout", required_argument, 0, OPT_TIMEOUT},
                                         {"kind", required_argument, 0, OPT_KIND},
                                         {"quality", required_argument, 0, OPT_QUALITY},
                                         {"retry-ms", required_argument, 0, OPT_RETRY},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    /* This command prints the camera's problems itself; the module's own
     * warnings would say everything twice. -v shows them all. */
    rc_log_set_level(RC_LOG_ERROR);
    while ((c = getopt_long(argc, argv, "s:S:k:f:1vh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            source = optarg;
            break;
        case 'S':
            server = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'f':
            if (!parse_num(optarg, 0.01, 100, &fps)) {
                fprintf(stderr, "rollcall client: --fps wants a number from 0.01 to 100\n");
                return 2;
            }
            break;
        case '1':
            once = true;
            break;
        case OPT_TIMEOUT:
            if (!parse_num(optarg, 1, 86400, &timeout_s)) {
                fprintf(stderr, "rollcall client: --timeout wants seconds from 1 to 86400\n");
                return 2;
            }
            break;
        case OPT_QUALITY:
            if (!parse_num(optarg, 1, 100, &quality)) {
                fprintf(stderr, "rollcall client: --quality wants a number from 1 to 100\n");
                return 2;
            }
            break;
        case OPT_RETRY:
            if (!parse_num(optarg, 1, 600000, &retry_ms)) {
                fprintf(stderr, "rollcall client: --retry-ms wants milliseconds from 1\n");
                return 2;
            }
            break;
        case OPT_KIND: {
            rc_error kerr;
            if (cam_kind_parse(optarg, &kind, &kerr) != RC_OK) {
                fprintf(stderr, "rollcall client: --kind: %s\n", kerr.msg);
                return 2;
            }
            break;
        }
        case 'v':
            rc_log_set_level(RC_LOG_DEBUG);
            break;
        case 'h':
            client_usage(stdout);
            return 0;
        default:
            client_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall client: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    const char *missing = !source         ? "--source"
                          : !server       ? "--server"
                          : !key || !*key ? "--api-key (or ROLLCALL_API_KEY)"
                                          : NULL;
    if (missing) {
        fprintf(stderr, "rollcall client: %s is required (see rollcall client --help)\n", missing);
        return 2;
    }
    if (strncasecmp(server, "http://", 7) != 0 && strncasecmp(server, "https://", 8) != 0) {
        fprintf(stderr, "rollcall client: --server wants an http:// or https:// URL, not '%s'\n",
                server);
        return 2;
    }

    poster p = {.quality = (int)quality};
    size_t sl = strlen(server);
    while (sl && server[sl - 1] == '/') sl--;
    snprintf(p.url, sizeof p.url, "%.*s/api/v1/recognize?mark=true", (int)sl, server);

    rc_error err;
    cam_config cfg = {.url = source,
                      .kind = kind,
                      .max_fps = fps,
                      .queue_len = 1,
                      .backoff_base_ms = 500,
                      .backoff_max_ms = 10000};
    cam_camera *cam;
    if (cam_camera_create(&cfg, &cam, &err) != RC_OK) {
        fprintf(stderr, "rollcall client: %s\n", err.msg);
        return 2;
    }
    char auth[1024];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    p.curl = curl_easy_init();
    p.headers = curl_slist_append(p.headers, "Content-Type: image/jpeg");
    p.headers = curl_slist_append(p.headers, "Accept: application/json");
    p.headers = curl_slist_append(p.headers, "Expect:");
    p.headers = curl_slist_append(p.headers, auth);
    if (!p.curl || !p.headers) {
        fprintf(stderr, "rollcall client: out of memory\n");
        cam_camera_destroy(cam);
        return 1;
    }
    curl_easy_setopt(p.curl, CURLOPT_URL, p.url);
    curl_easy_setopt(p.curl, CURLOPT_HTTPHEADER, p.headers);
    curl_easy_setopt(p.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p.curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(p.curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(p.curl, CURLOPT_USERAGENT, "rollcall-client/" RC_VERSION);
    curl_easy_setopt(p.curl, CURLOPT_WRITEFUNCTION, on_body);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    stop_requested = 0;

    /* The source as it may be shown: its credentials hidden (cam_redact). */
    fprintf(stderr, "rollcall client: %s (%s) -> %s\n", cam_camera_url(cam),
            cam_kind_name(cam_camera_kind(cam)), p.url);
    int status = 0;
    uint64_t posted = 0, recognized = 0, seen_failures = 0;
    unsigned attempt = 0;
    uint64_t rng = (uint64_t)rc_unix_ms() | 1;
    double start = rc_mono_ms();
    bool announced = false;
    while (!stop_requested) {
        cam_frame *f = cam_camera_next(cam, 500);
        cam_status st;
        cam_camera_status(cam, &st);
        if (st.failures > seen_failures) {
            seen_failures = st.failures;
            fprintf(stderr, "rollcall client: camera: %s%s\n", st.last_error,
                    st.state == CAM_STATE_BACKOFF ? " (retrying)" : "");
        }
        if (!f) {
            if (st.state == CAM_STATE_ENDED) {
                fprintf(stderr, "rollcall client: %s ended\n", cam_camera_url(cam));
                if (once && posted == 0) status = 1;
                break;
            }
            if (once && rc_mono_ms() - start > timeout_s * 1000) {
                fprintf(stderr, "rollcall client: no frame from %s within %.0f s%s%s\n",
                        cam_camera_url(cam), timeout_s, st.last_error[0] ? ": " : "",
                        st.last_error);
                status = 1;
                break;
            }
            continue;
        }
        if (!announced) {
            announced = true;
            fprintf(stderr, "rollcall client: capturing %dx%d %s\n", f->width, f->height,
                    f->fmt == CAM_FMT_JPEG ? "JPEG" : "frames (encoding to JPEG)");
        }
        char why[1024] = "";
        int known = 0;
        post_result r = post_frame(&p, f, once, &known, why, sizeof why);
        cam_frame_unref(f);
        if (r == POST_OK) {
            posted++;
            recognized += (uint64_t)known;
            attempt = 0;
            if (once) break;
            continue;
        }
        fprintf(stderr, "rollcall client: %s", why);
        if (once || r == POST_FATAL) {
            fprintf(stderr, "\n");
            status = 1;
            break;
        }
        if (r == POST_SKIP) {
            fprintf(stderr, " (skipping this frame)\n");
            continue;
        }
        unsigned delay = cam_backoff_ms((unsigned)retry_ms, 30000, attempt, &rng);
        if (attempt < 64) attempt++;
        fprintf(stderr, "; retrying in %u ms\n", delay);
        for (double until = rc_mono_ms() + delay; !stop_requested && rc_mono_ms() < until;)
            usleep(20000);
    }
    fprintf(stderr, "rollcall client: posted %llu frame%s, %llu face%s recognized\n",
            (unsigned long long)posted, posted == 1 ? "" : "s", (unsigned long long)recognized,
            recognized == 1 ? "" : "s");
    cam_camera_destroy(cam);
    curl_slist_free_all(p.headers);
    curl_easy_cleanup(p.curl);
    return status;
}
