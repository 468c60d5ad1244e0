/*
 * ffmpeg.c — RTSP cameras, HTTP video and video files through FFmpeg
 * (libavformat demuxes, libavcodec decodes, libswscale converts to RGB24).
 * An interrupt callback makes every blocking call return promptly when the
 * camera is stopped or the peer goes silent: while streaming, silent means
 * no byte in the stall timeout (a packet may take longer to arrive over a
 * slow link, and a demuxer waits for a packet's end while its bytes come),
 * and one read gives up anyway when bytes keep coming and no packet does
 * (three stall timeouts: a stream of garbage). Files are read at their own
 * pace (as a camera would deliver them) unless cfg->fast; at the end a file
 * source reports "ended" and the camera loops it or stops.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

typedef struct {
    cam_camera *c;
    const cam_config *cfg;
    double deadline; /* rc_mono_ms() after which a blocking call gives up */
    /* While streaming (fmt set): each byte read moves the deadline on by
     * the stall timeout, up to `hard`, after which the read gives up
     * whatever arrives. RTSP has no byte count here (no AVIOContext): its
     * deadline is per read, and RTP packets are small. */
    AVFormatContext *fmt;
    int64_t bytes; /* fmt->pb->bytes_read when the deadline last moved */
    double hard;
    bool timed_out, no_packet;
} ff_ctx;

static int on_interrupt(void *arg)
{
    ff_ctx *x = arg;
    if (cam_run_stopping(x->c)) return 1;
    double now = rc_mono_ms();
    if (x->fmt) {
        const AVIOContext *pb = x->fmt->pb;
        if (pb && pb->bytes_read != x->bytes) {
            x->bytes = pb->bytes_read;
            x->deadline = now + x->cfg->stall_timeout_ms;
        }
        if (now > x->hard) {
            x->no_packet = true;
            return 1;
        }
    }
    if (now > x->deadline) {
        x->timed_out = true;
        return 1;
    }
    return 0;
}

/* The stable code of an FFmpeg error (cam_status.error_code), named for
 * camera c with the host of its URL where that helps. */
static void av_code(cam_camera *c, int averr)
{
    if (averr == AVERROR_HTTP_UNAUTHORIZED || averr == AVERROR_HTTP_FORBIDDEN)
        cam_run_fail_code(c, "auth_failed", "host", NULL);
    else if (averr == AVERROR_HTTP_NOT_FOUND || averr == AVERROR(ENOENT))
        cam_run_fail_code(c, "not_found", "host", NULL);
    else if (averr == AVERROR(EACCES))
        cam_run_fail_code(c, "permission_denied", NULL, NULL);
    else if (averr == AVERROR(ETIMEDOUT))
        cam_run_fail_code(c, "timeout", "host", NULL);
    else if (averr == AVERROR_INVALIDDATA)
        cam_run_fail_code(c, "decode_failed", NULL, NULL);
    else if (averr == AVERROR_PROTOCOL_NOT_FOUND)
        cam_run_fail_code(c, "bad_config", NULL, NULL);
    else if (averr == AVERROR_DEMUXER_NOT_FOUND || averr == AVERROR_DECODER_NOT_FOUND)
        cam_run_fail_code(c, "unsupported", NULL, NULL);
    else
        cam_run_fail_code(c, "connect_failed", "host", NULL);
}

static rc_status av_fail(cam_camera *c, rc_error *err, const char *url, const char *what, int averr)
{
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(averr, msg, sizeof msg);
    av_code(c, averr);
    rc_status code = RC_ERR_NET;
    if (averr == AVERROR(ENOENT)) code = RC_ERR_NOT_FOUND;
    if (averr == AVERROR(EACCES)) code = RC_ERR_DENIED;
    if (averr == AVERROR_INVALIDDATA) code = RC_ERR_CORRUPT;
    if (averr == AVERROR_PROTOCOL_NOT_FOUND) /* a URL no retry can fix */
        return rc_fail(err, RC_ERR_INVALID,
                       "%s: %s: unknown protocol (use rtsp://, http://, a "
                       "file path or /dev/videoN)",
                       url, what);
    if (averr == AVERROR_DEMUXER_NOT_FOUND || averr == AVERROR_DECODER_NOT_FOUND)
        code = RC_ERR_UNSUPPORTED;
    return rc_fail(err, code, "%s: %s: %s", url, what, msg);
}

/* FFmpeg logs through one process-wide callback. Its messages repeat what
 * the camera status already says (and would flood stderr while a camera
 * retries), so they go to Rollcall's log at debug level; set once. */
static void on_av_log(void *avcl, int level, const char *fmt, va_list ap)
{
    (void)avcl;
    if (level > AV_LOG_WARNING) return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!n) return;
    char *safe = cam_redact(line, NULL); /* FFmpeg names the URLs it opens */
    rc_log(RC_LOG_DEBUG, "ffmpeg: %s", safe ? safe : "(message hidden: out of memory)");
    free(safe);
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void set_av_log(void)
{
    av_log_set_callback(on_av_log);
}

static bool is_file(const char *url)
{
    return strstr(url, "://") == NULL || strncasecmp(url, "file:", 5) == 0;
}

/* A live source whose data never made a picture in its first `ms`. */
static rc_status no_picture(cam_camera *c, rc_error *err, const char *label, double ms,
                            uint64_t refused, const AVCodec *codec)
{
    cam_run_fail_code(c, "decode_failed", NULL, NULL);
    return rc_fail(err, RC_ERR_CORRUPT,
                   "%s: no picture in %.0f s although data arrives (%llu packets refused by the "
                   "%s decoder)",
                   label, ms / 1000, (unsigned long long)refused, codec->name);
}

rc_status cam_source_ffmpeg(cam_camera *c, bool *ended, rc_error *err)
{
    pthread_once(&log_once, set_av_log);
    const cam_config *cfg = cam_run_config(c);
    const char *label = cam_run_label(c);
    ff_ctx x = {.c = c, .cfg = cfg, .deadline = rc_mono_ms() + cfg->connect_timeout_ms};
    bool file = is_file(cfg->url);
    AVFormatContext *fmt = avformat_alloc_context();
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    struct SwsContext *sws = NULL;
    AVDictionary *opts = NULL;
    rc_status rc = RC_OK;
    if (!fmt || !pkt || !frame) {
        rc = rc_fail(err, RC_ERR_NOMEM, "%s: out of memory", label);
        goto out;
    }
    fmt->interrupt_callback.callback = on_interrupt;
    fmt->interrupt_callback.opaque = &x;
    if (strncasecmp(cfg->url, "rtsp://", 7) == 0) av_dict_set(&opts, "rtsp_transport", "tcp", 0);

    int ret = avformat_open_input(&fmt, cfg->url, NULL, &opts);
    if (ret < 0) {
        fmt = NULL; /* freed by avformat_open_input on failure */
        if (cam_run_stopping(c)) goto out;
        if (x.timed_out) {
            cam_run_fail_code(c, "timeout", "host", NULL);
            rc = rc_fail(err, RC_ERR_NET, "%s: no answer within %u ms", label,
                         cfg->connect_timeout_ms);
        } else
            rc = av_fail(c, err, label, "cannot open", ret);
        goto out;
    }
    x.deadline = rc_mono_ms() + cfg->connect_timeout_ms;
    if ((ret = avformat_find_stream_info(fmt, NULL)) < 0) {
        rc = av_fail(c, err, label, "cannot read the stream information", ret);
        goto out;
    }
    const AVCodec *codec = NULL;
    int vs = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (vs < 0 || !codec) {
        rc = rc_fail(err, RC_ERR_UNSUPPORTED, "%s: %s", label,
                     vs == AVERROR_DECODER_NOT_FOUND ? "no decoder for its video codec"
                                                     : "no video stream in it");
        goto out;
    }
    AVStream *st = fmt->streams[vs];
    dec = avcodec_alloc_context3(codec);
    if (!dec || avcodec_parameters_to_context(dec, st->codecpar) < 0) {
        rc = rc_fail(err, RC_ERR_NOMEM, "%s: cannot set up the decoder", label);
        goto out;
    }
    dec->thread_count = 1; /* cameras run side by side; one thread each is enough */
    if ((ret = avcodec_open2(dec, codec, NULL)) < 0) {
        rc = av_fail(c, err, label, "cannot open the decoder", ret);
        goto out;
    }

    bool connected = false, flushing = false;
    double pace_start = 0;
    /* Packets that never make a picture (a stream without its codec's
     * headers, say) would keep a live source "connecting" forever, as bytes
     * that never make a JPEG would an MJPEG one (mjpeg.c): the first picture
     * must come within three stall timeouts, well past a keyframe interval. */
    const double picture_ms = 3.0 * cfg->stall_timeout_ms, picture_due = rc_mono_ms() + picture_ms;
    uint64_t refused = 0;
    int64_t pts0 = AV_NOPTS_VALUE;
    double tb = av_q2d(st->time_base) * 1000.0;
    x.fmt = fmt; /* streaming: the bytes read count from here on */
    for (;;) {
        double start = rc_mono_ms();
        x.deadline = start + cfg->stall_timeout_ms;
        /* before the first picture, its due time; after, three stall
         * timeouts for one packet */
        x.hard = connected ? start + picture_ms : picture_due;
        x.bytes = fmt->pb ? fmt->pb->bytes_read : 0;
        /* x.timed_out and x.no_packet stay set once set: a demuxer may
         * return what it holds first and the interrupted read's error on
         * the next call */
        if (!flushing) {
            ret = av_read_frame(fmt, pkt);
            /* an interrupted read may come back as the end of the stream */
            if (ret == AVERROR_EOF && !x.timed_out && !x.no_packet) {
                flushing = true;
                avcodec_send_packet(dec, NULL);
            } else if (ret < 0) {
                if (cam_run_stopping(c)) break;
                if (x.no_packet && !connected) {
                    rc = no_picture(c, err, label, picture_ms, refused, codec);
                } else if (x.no_packet) {
                    cam_run_fail_code(c, "decode_failed", NULL, NULL);
                    rc =
                        rc_fail(err, RC_ERR_CORRUPT,
                                "%s: data arrives but no packet in %.0f s (not %s video any more?)",
                                label, picture_ms / 1000, codec->name);
                } else if (x.timed_out) {
                    cam_run_fail_code(c, "timeout", "host", NULL);
                    rc = rc_fail(err, RC_ERR_NET, "%s: no data for %u ms (stream stalled)", label,
                                 cfg->stall_timeout_ms);
                } else {
                    rc = av_fail(c, err, label, "read failed", ret);
                }
                break;
            } else {
                if (pkt->stream_index == vs && avcodec_send_packet(dec, pkt) < 0) {
                    cam_run_partial(c, 1);
                    refused++;
                }
                av_packet_unref(pkt);
            }
        }
        while ((ret = avcodec_receive_frame(dec, frame)) >= 0) {
            if (!connected) {
                connected = true;
                cam_run_connected(c);
            }
            if (file && !cfg->fast) {
                int64_t pts = frame->best_effort_timestamp;
                if (pts != AV_NOPTS_VALUE) {
                    double now = rc_mono_ms();
                    if (pts0 == AV_NOPTS_VALUE) {
                        pts0 = pts;
                        pace_start = now;
                    }
                    double due = pace_start + (double)(pts - pts0) * tb;
                    if (due > now && cam_run_wait(c, (unsigned)(due - now))) break;
                }
            }
            if (cam_run_stopping(c)) break;
            if (!cam_run_want_frame(c)) continue;
            int w = frame->width, h = frame->height;
            sws = sws_getCachedContext(sws, w, h, frame->format, w, h, AV_PIX_FMT_RGB24,
                                       SWS_BILINEAR, NULL, NULL, NULL);
            cam_frame *f = sws ? cam_frame_alloc((size_t)w * h * 3) : NULL;
            if (!f) {
                rc = rc_fail(err, RC_ERR_NOMEM, "%s: cannot convert a %dx%d frame", label, w, h);
                break;
            }
            uint8_t *dst[4] = {f->data, NULL, NULL, NULL};
            int dst_stride[4] = {w * 3, 0, 0, 0};
            sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, h, dst,
                      dst_stride);
            f->fmt = CAM_FMT_RGB24;
            f->width = w;
            f->height = h;
            cam_run_emit(c, f);
        }
        if (rc != RC_OK || cam_run_stopping(c)) break;
        if (!connected && rc_mono_ms() > picture_due) {
            rc = no_picture(c, err, label, picture_ms, refused, codec);
            break;
        }
        if (ret == AVERROR_EOF) {
            if (file) {
                *ended = true;
            } else {
                cam_run_fail_code(c, "stream_ended", NULL, NULL);
                rc = rc_fail(err, RC_ERR_NET, "%s: the stream ended", label);
            }
            break;
        }
        if (ret != AVERROR(EAGAIN)) cam_run_partial(c, 1);
    }
out:
    av_dict_free(&opts);
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}
