/*
 * probe.c — `rollcall probe SOURCE`: check a camera source before adding it
 * to the server. It opens the source exactly as a server camera would (same
 * kinds, timeouts and error messages), reads a few frames and reports the
 * kind, frame size and format, the rate they came at and what went wrong if
 * nothing came; --save writes the last frame as a JPEG to look at.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../camera/camera.h"
#include "../rc/rc.h"
#include "cli.h"

static void probe_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall probe SOURCE [OPTIONS]\n\n"
            "Open a camera source the way the server would, read a few frames and report\n"
            "what came (kind, size, format, rate) or why nothing did. SOURCE is /dev/videoN,\n"
            "an MJPEG stream (http://cam:81/stream), a snapshot URL (http://cam/capture),\n"
            "rtsp://..., or a video or image file.\n\n"
            "Options:\n"
            "  -n, --frames N     frames to read (default 10)\n"
            "  -t, --timeout S    give up after S seconds (default 15)\n"
            "  -k, --kind KIND    force the source kind: mjpeg, snapshot, ffmpeg, v4l2\n"
            "  -o, --save FILE    write the last frame to FILE as JPEG\n"
            "      --json         print the camera status as JSON instead of text\n"
            "  -v, --verbose      log debug messages (every retry)\n"
            "  -h, --help         show this help\n\n"
            "Exit status: 0 frames arrived, 1 none did (the reason is printed), 2 bad usage.\n");
}

static rc_status save_jpeg(const cam_frame *f, const char *path, rc_error *err)
{
    uint8_t *jpeg;
    size_t len;
    rc_status rc = cam_frame_jpeg(f, 90, &jpeg, &len, err);
    if (rc != RC_OK) return rc;
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(jpeg, 1, len, fp) != len)
        rc = rc_fail(err, RC_ERR_IO, "cannot write %s", path);
    if (fp && fclose(fp) != 0 && rc == RC_OK) rc = rc_fail(err, RC_ERR_IO, "cannot write %s", path);
    free(jpeg);
    return rc;
}

int cli_probe(int argc, char **argv)
{
    long want = 10;
    double timeout_s = 15;
    const char *save = NULL;
    bool json = false;
    cam_kind kind = CAM_KIND_AUTO;
    enum { OPT_JSON = 256 };
    static const struct option opts[] = {
        {"frames", required_argument, 0, 'n'}, {"timeout", required_argument, 0, 't'},
        {"kind", required_argument, 0, 'k'},   {"save", required_argument, 0, 'o'},
        {"json", no_argument, 0, OPT_JSON},    {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    optind = 1;
    /* This command prints the camera's problems itself; the module's own
     * warnings would say everything twice. -v shows them all. */
    rc_log_set_level(RC_LOG_ERROR);
    while ((c = getopt_long(argc, argv, "n:t:k:o:vh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'n':
            want = strtol(optarg, &end, 10);
            if (*end || want < 1 || want > 100000) {
                fprintf(stderr, "rollcall probe: --frames wants a number from 1 to 100000\n");
                return 2;
            }
            break;
        case 't':
            timeout_s = strtod(optarg, &end);
            if (*end || !(timeout_s >= 1 && timeout_s <= 86400)) {
                fprintf(stderr, "rollcall probe: --timeout wants seconds from 1 to 86400\n");
                return 2;
            }
            break;
        case 'k': {
            rc_error kerr;
            if (cam_kind_parse(optarg, &kind, &kerr) != RC_OK) {
                fprintf(stderr, "rollcall probe: --kind: %s\n", kerr.msg);
                return 2;
            }
            break;
        }
        case 'o':
            save = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'v':
            rc_log_set_level(RC_LOG_DEBUG);
            break;
        case 'h':
            probe_usage(stdout);
            return 0;
        default:
            probe_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "rollcall probe: %s\n",
                optind >= argc ? "which source? (see rollcall probe --help)"
                               : "give one source only");
        return 2;
    }
    const char *source = argv[optind];
    rc_error err;
    cam_config cfg = {.url = source,
                      .kind = kind,
                      .queue_len = 4,
                      .backoff_base_ms = 500,
                      .backoff_max_ms = 4000,
                      .stall_timeout_ms =
                          (unsigned)(timeout_s * 1000 < 10000 ? timeout_s * 1000 : 10000)};
    cam_camera *cam;
    if (cam_camera_create(&cfg, &cam, &err) != RC_OK) {
        fprintf(stderr, "rollcall probe: %s\n", err.msg);
        return 2;
    }
    if (!json)
        fprintf(stderr, "probing %s (%s), up to %ld frames or %.0f s...\n", cam_camera_url(cam),
                cam_kind_name(cam_camera_kind(cam)), want, timeout_s);
    double start = rc_mono_ms(), first = 0, last_t = 0;
    long got = 0;
    uint64_t seen_failures = 0;
    cam_status st;
    char shown[sizeof st.last_error] = "";
    cam_frame *last = NULL;
    while (got < want && rc_mono_ms() - start < timeout_s * 1000) {
        cam_frame *f = cam_camera_next(cam, 200);
        cam_camera_status(cam, &st);
        if (st.failures > seen_failures && !json && strcmp(st.last_error, shown) != 0) {
            snprintf(shown, sizeof shown, "%s", st.last_error);
            fprintf(stderr, "  %s (retrying)\n", st.last_error);
        }
        seen_failures = st.failures;
        if (!f) {
            if (st.state == CAM_STATE_ENDED || st.state == CAM_STATE_ERROR) break;
            continue;
        }
        if (!got) first = rc_mono_ms();
        last_t = rc_mono_ms();
        got++;
        cam_frame_unref(last);
        last = f;
    }
    cam_camera_status(cam, &st);
    int status = got > 0 ? 0 : 1;
    if (json) {
        json_t *j = cam_status_json(&st);
        json_object_set_new(j, "source", json_string(cam_camera_url(cam)));
        json_object_set_new(j, "kind", json_string(cam_kind_name(cam_camera_kind(cam))));
        json_object_set_new(j, "received", json_integer(got));
        json_object_set_new(j, "format",
                            last ? json_string(last->fmt == CAM_FMT_JPEG ? "jpeg" : "rgb24")
                                 : json_null());
        char *s = json_dumps(j, JSON_INDENT(2));
        if (s) printf("%s\n", s);
        free(s);
        json_decref(j);
    } else if (got) {
        double span = last_t - first;
        printf("source    %s (%s)\n", cam_camera_url(cam), cam_kind_name(cam_camera_kind(cam)));
        printf("frames    %ld, %s %dx%d", got, last->fmt == CAM_FMT_JPEG ? "JPEG" : "RGB24",
               last->width, last->height);
        if (got > 1 && span > 0) printf(", %.1f fps", (got - 1) * 1000.0 / span);
        printf(", first after %.0f ms\n", first - start);
        if (st.partial) printf("broken    %llu frames discarded\n", (unsigned long long)st.partial);
        if (st.failures)
            printf("retries   %llu (last: %s)\n", (unsigned long long)st.failures, st.last_error);
    } else {
        fprintf(stderr, "rollcall probe: no frame from %s within %.0f s%s%s\n", cam_camera_url(cam),
                timeout_s, st.last_error[0] ? ": " : "", st.last_error);
    }
    if (save && last) {
        if (save_jpeg(last, save, &err) != RC_OK) {
            fprintf(stderr, "rollcall probe: %s\n", err.msg);
            status = 1;
        } else if (!json) {
            printf("saved     %s\n", save);
        }
    }
    cam_frame_unref(last);
    cam_camera_destroy(cam);
    return status;
}
