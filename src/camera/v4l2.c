/*
 * v4l2.c — USB webcams through Video4Linux2: open /dev/videoN, ask for MJPEG
 * (passed through as JPEG, the cheapest for the CPU and the USB bus) or else
 * YUYV (converted to RGB24 here), stream from memory-mapped buffers and wait
 * with poll() in short slices so the camera can be stopped promptly. Opening
 * a missing or wrong device says so plainly (the usual cases: the webcam is
 * unplugged, the user lacks the "video" group, or the node is not a capture
 * device).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "internal.h"

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void cam_yuyv_to_rgb24(const uint8_t *yuyv, size_t stride, int width, int height, uint8_t *rgb)
{
    for (int y = 0; y < height; y++) {
        const uint8_t *s = yuyv + (size_t)y * stride;
        uint8_t *d = rgb + (size_t)y * width * 3;
        for (int x = 0; x + 1 < width; x += 2, s += 4, d += 6) {
            /* BT.601 limited range, fixed point with 8 fractional bits. */
            int u = s[1] - 128, v = s[3] - 128;
            int ru = 409 * v, gu = -100 * u - 208 * v, bu = 516 * u;
            int y0 = 298 * (s[0] - 16), y1 = 298 * (s[2] - 16);
            d[0] = clamp8((y0 + ru + 128) >> 8);
            d[1] = clamp8((y0 + gu + 128) >> 8);
            d[2] = clamp8((y0 + bu + 128) >> 8);
            d[3] = clamp8((y1 + ru + 128) >> 8);
            d[4] = clamp8((y1 + gu + 128) >> 8);
            d[5] = clamp8((y1 + bu + 128) >> 8);
        }
    }
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

typedef struct {
    void *start;
    size_t len;
} mbuf;

#define V4L2_NBUF 4

rc_status cam_source_v4l2(cam_camera *c, bool *ended, rc_error *err)
{
    (void)ended;
    const cam_config *cfg = cam_run_config(c);
    const char *path = strncmp(cfg->url, "v4l2://", 7) == 0 ? cfg->url + 7 : cfg->url;
    mbuf bufs[V4L2_NBUF] = {{0}};
    unsigned nbuf = 0;
    bool streaming = false;
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    tjhandle tj = NULL;
    rc_status rc = RC_OK;

    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cam_run_fail_code(c,
                          e == ENOENT   ? "not_found"
                          : e == EACCES ? "permission_denied"
                                        : "device_error",
                          "device", path);
        if (e == ENOENT)
            return rc_fail(err, RC_ERR_NOT_FOUND,
                           "%s: no such video device (is the webcam plugged in? ls /dev/video*)",
                           path);
        if (e == EACCES)
            return rc_fail(err, RC_ERR_DENIED,
                           "%s: permission denied (add the user to the 'video' group)", path);
        return rc_fail(err, RC_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat sb;
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (fstat(fd, &sb) != 0 || !S_ISCHR(sb.st_mode)) {
        rc = rc_fail(err, RC_ERR_UNSUPPORTED, "%s: not a video device (not a character device)",
                     path);
        goto out;
    }
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) != 0) {
        rc = rc_fail(err, RC_ERR_UNSUPPORTED, "%s: not a V4L2 video device (%s)", path,
                     strerror(errno));
        goto out;
    }
    uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
        rc = rc_fail(err, RC_ERR_UNSUPPORTED,
                     "%s (%s): not a streaming capture device (try another /dev/videoN)", path,
                     (const char *)cap.card);
        goto out;
    }

    struct v4l2_format fmt;
    uint32_t want[] = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV};
    bool ok = false;
    for (size_t i = 0; i < 2 && !ok; i++) {
        memset(&fmt, 0, sizeof fmt);
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        fmt.fmt.pix.width = (uint32_t)cfg->v4l2_width;
        fmt.fmt.pix.height = (uint32_t)cfg->v4l2_height;
        fmt.fmt.pix.pixelformat = want[i];
        fmt.fmt.pix.field = V4L2_FIELD_ANY;
        ok = xioctl(fd, VIDIOC_S_FMT, &fmt) == 0 && fmt.fmt.pix.pixelformat == want[i];
    }
    if (!ok) {
        rc = rc_fail(err, RC_ERR_UNSUPPORTED, "%s (%s): offers neither MJPEG nor YUYV", path,
                     (const char *)cap.card);
        goto out;
    }
    bool mjpeg = fmt.fmt.pix.pixelformat == V4L2_PIX_FMT_MJPEG;
    int w = (int)fmt.fmt.pix.width, h = (int)fmt.fmt.pix.height;
    size_t stride = fmt.fmt.pix.bytesperline ? fmt.fmt.pix.bytesperline : (size_t)w * 2;
    if (cfg->max_fps > 0) {
        struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
        parm.parm.capture.timeperframe.numerator = 1000;
        parm.parm.capture.timeperframe.denominator = (uint32_t)(cfg->max_fps * 1000);
        xioctl(fd, VIDIOC_S_PARM, &parm); /* a hint; the cap is enforced anyway */
    }

    struct v4l2_requestbuffers req = {
        .count = V4L2_NBUF, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (xioctl(fd, VIDIOC_REQBUFS, &req) != 0 || req.count < 2) {
        rc = rc_fail(err, RC_ERR_IO,
                     "%s: cannot get capture buffers (%s; in use by another "
                     "program?)",
                     path, strerror(errno));
        goto out;
    }
    for (nbuf = 0; nbuf < req.count && nbuf < V4L2_NBUF; nbuf++) {
        struct v4l2_buffer b = {
            .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = nbuf};
        if (xioctl(fd, VIDIOC_QUERYBUF, &b) != 0) break;
        bufs[nbuf].len = b.length;
        bufs[nbuf].start = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
        if (bufs[nbuf].start == MAP_FAILED) {
            bufs[nbuf].start = NULL;
            break;
        }
        if (xioctl(fd, VIDIOC_QBUF, &b) != 0) break;
    }
    if (nbuf < 2 || xioctl(fd, VIDIOC_STREAMON, &type) != 0) {
        rc = rc_fail(err, RC_ERR_IO, "%s: cannot start streaming: %s", path, strerror(errno));
        goto out;
    }
    streaming = true;
    if (mjpeg && !(tj = tjInitDecompress())) {
        rc = rc_fail(err, RC_ERR_NOMEM, "%s: cannot set up a JPEG reader", path);
        goto out;
    }
    cam_run_connected(c);

    double last = rc_mono_ms();
    while (!cam_run_stopping(c)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 200);
        if (pr < 0 && errno != EINTR) {
            rc = rc_fail(err, RC_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (pr <= 0) {
            if (rc_mono_ms() - last > cfg->stall_timeout_ms) {
                rc = rc_fail(err, RC_ERR_IO, "%s: no frame for %u ms", path, cfg->stall_timeout_ms);
                break;
            }
            continue;
        }
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        if (xioctl(fd, VIDIOC_DQBUF, &b) != 0) {
            if (errno == EAGAIN) continue;
            rc = rc_fail(err, RC_ERR_IO, "%s: the device went away (%s)", path, strerror(errno));
            break;
        }
        last = rc_mono_ms();
        const uint8_t *data = bufs[b.index].start;
        size_t used = b.bytesused;
        if (b.index < nbuf && !(b.flags & V4L2_BUF_FLAG_ERROR) && cam_run_want_frame(c)) {
            cam_frame *f = NULL;
            if (mjpeg) {
                size_t end = 0;
                cam_jpeg_scan scan = {0};
                /* A header without a frame leaves the sizes untouched: start at 0. */
                int jw = 0, jh = 0, sub = 0, cs = 0;
                if (cam_jpeg_scan_step(&scan, data, used, &end) == CAM_JPEG_COMPLETE &&
                    tjDecompressHeader3(tj, data, (unsigned long)end, &jw, &jh, &sub, &cs) == 0 &&
                    jw > 0 && jh > 0 && (f = cam_frame_alloc(end))) {
                    memcpy(f->data, data, end);
                    f->fmt = CAM_FMT_JPEG;
                    f->width = jw;
                    f->height = jh;
                } else {
                    cam_run_partial(c, 1);
                }
            } else if (used >= stride * (size_t)h && (f = cam_frame_alloc((size_t)w * h * 3))) {
                cam_yuyv_to_rgb24(data, stride, w, h, f->data);
                f->fmt = CAM_FMT_RGB24;
                f->width = w;
                f->height = h;
            } else {
                cam_run_partial(c, 1);
            }
            if (f) cam_run_emit(c, f);
        }
        if (xioctl(fd, VIDIOC_QBUF, &b) != 0) {
            rc = rc_fail(err, RC_ERR_IO, "%s: the device went away (%s)", path, strerror(errno));
            break;
        }
    }
out:
    if (streaming) xioctl(fd, VIDIOC_STREAMOFF, &type);
    for (unsigned i = 0; i < V4L2_NBUF; i++)
        if (bufs[i].start) munmap(bufs[i].start, bufs[i].len);
    if (tj) tjDestroy(tj);
    close(fd);
    return rc;
}
