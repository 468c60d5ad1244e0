/* bench_camera.c — the camera layer under load: N simulated cameras (MJPEG
 * streams from tests/camera/mjpeg_server.mjs) feed one manager whose
 * workers decode every frame to RGB (the first step of recognition) and
 * optionally spin for a fixed time to stand in for the face pipeline.
 * Prints frames processed per second, drops, capture-to-done latency
 * p50/p99 and CPU use, beside a reference measured in the same run: the
 * same decode from memory on one thread, which bounds what the workers
 * could do without cameras. Run by bench/camera.sh.
 *
 *   bench_camera BASE_URL [cameras=8] [fps=5] [seconds=10] [workers=2] [work_ms=0]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "camera/camera.h"

typedef struct {
    pthread_mutex_t mu;
    double *lat;
    size_t n, cap;
    double work_ms;
    unsigned long bad;
} bench;

static void decode(const cam_frame *f, uint8_t **rgb, size_t *cap, unsigned long *bad)
{
    tjhandle tj = tjInitDecompress();
    size_t need = (size_t)f->width * f->height * 3;
    if (need > *cap) {
        free(*rgb);
        *rgb = malloc(need);
        *cap = *rgb ? need : 0;
    }
    if (!tj || !*rgb ||
        tjDecompress2(tj, f->data, (unsigned long)f->size, *rgb, f->width, 0, f->height, TJPF_RGB,
                      0) != 0)
        (*bad)++;
    if (tj) tjDestroy(tj);
}

static void on_frame(void *user, unsigned worker, int id, cam_camera *cam, const cam_frame *f)
{
    (void)worker;
    (void)id;
    (void)cam;
    bench *b = user;
    uint8_t *rgb = NULL;
    size_t cap = 0;
    unsigned long bad = 0;
    decode(f, &rgb, &cap, &bad);
    free(rgb);
    for (double until = rc_mono_ms() + b->work_ms; rc_mono_ms() < until;) {
    }
    double lat = rc_mono_ms() - f->mono_ms;
    pthread_mutex_lock(&b->mu);
    b->bad += bad;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        double *nl = realloc(b->lat, nc * sizeof *nl);
        if (nl) {
            b->lat = nl;
            b->cap = nc;
        }
    }
    if (b->n < b->cap) b->lat[b->n++] = lat;
    pthread_mutex_unlock(&b->mu);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_camera BASE_URL [cameras=8] [fps=5] [seconds=10] [workers=2] "
                        "[work_ms=0]\n");
        return 2;
    }
    const char *base = argv[1];
    int ncam = argc > 2 ? atoi(argv[2]) : 8;
    double fps = argc > 3 ? atof(argv[3]) : 5;
    double seconds = argc > 4 ? atof(argv[4]) : 10;
    unsigned workers = argc > 5 ? (unsigned)atoi(argv[5]) : 2;
    double work_ms = argc > 6 ? atof(argv[6]) : 0;
    if (ncam < 1 || ncam > 64 || fps <= 0 || seconds <= 0 || workers < 1) {
        fprintf(stderr, "bench_camera: bad arguments\n");
        return 2;
    }

    /* Reference: one frame from the server, decoded from memory, one thread. */
    char url[512];
    snprintf(url, sizeof url, "%s/capture", base);
    cam_config one = {.url = url, .max_fps = 50};
    cam_camera *probe;
    rc_error err;
    if (cam_camera_create(&one, &probe, &err) != RC_OK) {
        fprintf(stderr, "bench_camera: %s\n", err.msg);
        return 1;
    }
    cam_frame *sample = cam_camera_next(probe, 10000);
    cam_camera_destroy(probe);
    if (!sample) {
        fprintf(stderr, "bench_camera: no frame from %s\n", url);
        return 1;
    }
    uint8_t *rgb = NULL;
    size_t cap = 0;
    unsigned long bad = 0;
    int reps = 0;
    double t0 = rc_mono_ms();
    while (rc_mono_ms() - t0 < 1000) {
        decode(sample, &rgb, &cap, &bad);
        reps++;
    }
    double decode_ms = (rc_mono_ms() - t0) / reps;
    free(rgb);
    double per_frame = decode_ms + work_ms;
    double capacity = workers * 1000.0 / per_frame;
    double offered = ncam * fps;
    printf("reference: decode of one %dx%d JPEG (%zu bytes) %.3f ms on one thread; "
           "with %.0f ms simulated recognition, %u workers can take %.0f frames/s\n",
           sample->width, sample->height, sample->size, decode_ms, work_ms, workers, capacity);
    cam_frame_unref(sample);

    bench b = {.work_ms = work_ms};
    pthread_mutex_init(&b.mu, NULL);
    cam_manager_config mc = {.workers = workers, .on_frame = on_frame, .user = &b};
    cam_manager *m;
    if (cam_manager_create(&mc, &m, &err) != RC_OK) {
        fprintf(stderr, "bench_camera: %s\n", err.msg);
        return 1;
    }
    char urls[64][512];
    for (int i = 0; i < ncam; i++) {
        snprintf(urls[i], sizeof urls[i], "%s/stream?fps=%g", base, fps);
        cam_config cfg = {.url = urls[i], .queue_len = 2};
        if (cam_manager_add(m, i + 1, &cfg, &err) != RC_OK) {
            fprintf(stderr, "bench_camera: %s\n", err.msg);
            return 1;
        }
    }
    sleep(1); /* let every camera connect before measuring */
    pthread_mutex_lock(&b.mu);
    b.n = 0;
    pthread_mutex_unlock(&b.mu);
    uint64_t drops0 = 0, frames0 = 0, proc0 = 0;
    cam_status st;
    for (int i = 0; i < ncam; i++) {
        cam_manager_status(m, i + 1, &st, NULL);
        drops0 += st.drops;
        frames0 += st.frames;
        proc0 += st.processed;
    }
    double c0 = cpu_ms(), w0 = rc_mono_ms();
    usleep((useconds_t)(seconds * 1e6));
    double wall = rc_mono_ms() - w0, cpu = cpu_ms() - c0;
    uint64_t drops = 0, frames = 0, proc = 0, streaming = 0;
    for (int i = 0; i < ncam; i++) {
        cam_manager_status(m, i + 1, &st, NULL);
        drops += st.drops;
        frames += st.frames;
        proc += st.processed;
        streaming += st.state == CAM_STATE_STREAMING;
    }
    pthread_mutex_lock(&b.mu);
    qsort(b.lat, b.n, sizeof *b.lat, cmp_double);
    double p50 = b.n ? b.lat[b.n / 2] : 0, p99 = b.n ? b.lat[(size_t)(b.n * 0.99)] : 0;
    size_t nlat = b.n;
    unsigned long nbad = b.bad;
    pthread_mutex_unlock(&b.mu);
    cam_manager_destroy(m);

    printf("cameras %d x %.0f fps (%.0f frames/s offered), %u workers, %.0f ms simulated "
           "recognition, %.0f s\n",
           ncam, fps, offered, workers, work_ms, wall / 1000);
    printf("  frames in      %.1f /s (%llu)   streaming %llu/%d\n",
           (frames - frames0) * 1000 / wall, (unsigned long long)(frames - frames0),
           (unsigned long long)streaming, ncam);
    printf("  processed      %.1f /s (%llu)   decode errors %lu\n", (proc - proc0) * 1000 / wall,
           (unsigned long long)(proc - proc0), nbad);
    printf("  drops          %llu (%.1f%% of frames in)\n", (unsigned long long)(drops - drops0),
           frames > frames0 ? 100.0 * (drops - drops0) / (frames - frames0) : 0);
    printf("  latency        p50 %.1f ms  p99 %.1f ms (capture to done, %zu frames)\n", p50, p99,
           nlat);
    printf("  cpu            %.0f%% of one core (this process: capture, parse, decode%s)\n",
           100 * cpu / wall, work_ms > 0 ? ", spin" : "");
    free(b.lat);
    pthread_mutex_destroy(&b.mu);
    return 0;
}
