/*
 * http_load.c — a load generator light enough to share two cores with the
 * server it measures: one thread, epoll, N keep-alive connections to a
 * loopback address, each sending the same request (built once, before the
 * clock starts) as soon as the answer to the last one has come. The answer
 * is read by its Content-Length and only its status line is looked at.
 *
 * It prints the answers per second, its own CPU time per answer (getrusage)
 * and, given the server's pid, the server's CPU time and minor page faults
 * per answer over the same window (/proc/PID/stat), and where the server's
 * threads of one name (default recog-job) spent the window, from
 * /proc/PID/task/T/schedstat: running, waiting for a CPU, and the rest
 * (blocked, or idle). bench/http_scaling.mjs runs it for each round.
 *
 *   http-load --port P --body FILE [options]   (--help lists them)
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   256
#define MAX_HEADERS 16
#define MAX_HEAD    16384

static const char usage[] =
    "usage: http-load --port P --body FILE [options]\n"
    "Posts the same request on N keep-alive connections for a while and prints\n"
    "answers/s, its own CPU per answer and (with --pid) the server's.\n"
    "  --host ADDR         IPv4 address (default 127.0.0.1; loopback only is sensible)\n"
    "  --port P            the server's port (required)\n"
    "  --path PATH         request path (default /api/v1/recognize)\n"
    "  --method M          request method (default POST)\n"
    "  --body FILE         request body (required for POST; - for none)\n"
    "  --type TYPE         Content-Type of the body (default image/jpeg)\n"
    "  -H, --header 'K: V' an extra header (repeatable, up to 16)\n"
    "  -c, --connections N concurrent connections (default 4, at most 256)\n"
    "  -d, --seconds S     how long to send (default 6; answers in flight at the\n"
    "                      end are awaited and counted)\n"
    "  --pid PID           the server's process: its CPU, page faults and threads\n"
    "  --task NAME         the server threads to report on (default recog-job)\n"
    "  --json              one JSON object instead of the text lines\n"
    "  -h, --help          this text\n"
    "An answer with status 200 counts as done; any other status counts as an error.\n";

typedef struct conn {
    int fd;
    size_t sent; /* bytes of the request written */
    char head[MAX_HEAD];
    size_t hlen;    /* bytes of head received */
    long body_left; /* body bytes still to read; -1 while reading the head */
    int status;
    int closing; /* the server closes after this answer (Connection: close, HTTP/1.0) */
    int fails;   /* failures since the last answer */
    int err;     /* errno of the last failure */
    struct timespec t0;
} conn;

/* Scheduler time of a process's threads, summed per thread name. */
typedef struct sched {
    char name[32];
    double run, wait; /* seconds summed over the threads of that name */
    int n;
} sched;

#define MAX_NAMES 32

static double now_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

/* utime+stime in seconds and minor faults of a process; -1 when unreadable. */
static int proc_stat(int pid, double *cpu, double *faults)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    /* fields after the name: state(3) ppid pgrp session tty tpgid flags minflt(10) cminflt
     * majflt cmajflt utime(14) stime(15) */
    unsigned long long v[13];
    if (sscanf(p + 2, "%*c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
               &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) != 12)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *faults = (double)v[6];
    *cpu = (double)(v[10] + v[11]) / (double)(hz > 0 ? hz : 100);
    return 0;
}

/* Fills t (up to MAX_NAMES names) from /proc/PID/task/T/{comm,schedstat}. */
static int task_sched(int pid, sched *t)
{
    int names = 0;
    char path[320];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char comm[32] = "";
        snprintf(path, sizeof path, "/proc/%d/task/%s/comm", pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
        fclose(f);
        comm[strcspn(comm, "\n")] = 0;
        snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", pid, e->d_name);
        unsigned long long run, wait;
        f = fopen(path, "r");
        if (!f) continue;
        int ok = fscanf(f, "%llu %llu", &run, &wait) == 2;
        fclose(f);
        if (!ok) continue;
        int i = 0;
        while (i < names && strcmp(t[i].name, comm) != 0) i++;
        if (i == names) {
            if (names == MAX_NAMES) continue;
            memset(&t[names], 0, sizeof t[names]);
            memcpy(t[names].name, comm, sizeof comm);
            names++;
        }
        t[i].run += (double)run / 1e9;
        t[i].wait += (double)wait / 1e9;
        t[i].n++;
    }
    closedir(d);
    return names;
}

/* The entry of `name` in t, or an empty one. */
static sched sched_of(const sched *t, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0) return t[i];
    return (sched){"", 0, 0, 0};
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int conn_open(conn *c, const struct sockaddr_in *to, int ep)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)to, sizeof *to) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void conn_start(conn *c, int ep)
{
    c->sent = 0;
    c->hlen = 0;
    c->body_left = -1;
    c->status = 0;
    c->closing = 0;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The head is complete in c->head[0..end): status and Content-Length. */
static int parse_head(conn *c, size_t end)
{
    c->head[end] = 0;
    if (strncmp(c->head, "HTTP/1.", 7) != 0 || end < 12) return -1;
    c->status = atoi(c->head + 9);
    c->closing = c->head[7] == '0'; /* HTTP/1.0 unless it says keep-alive */
    long len = -1;
    for (char *line = strstr(c->head, "\r\n"); line && line < c->head + end;
         line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (strncasecmp(l, "content-length:", 15) == 0) len = strtol(l + 15, NULL, 10);
        if (strncasecmp(l, "connection:", 11) == 0) {
            const char *eol = strstr(l, "\r\n"), *v = l + 11;
            size_t vlen = eol ? (size_t)(eol - v) : strlen(v);
            if (memmem(v, vlen, "close", 5)) c->closing = 1;
            if (memmem(v, vlen, "eep-alive", 9)) c->closing = 0;
        }
    }
    if (len < 0) return -1;
    c->body_left = len;
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *path = "/api/v1/recognize", *method = "POST",
               *body_file = NULL, *type = "image/jpeg", *task = "recog-job";
    const char *headers[MAX_HEADERS];
    int nheaders = 0, port = 0, nconns = 4, pid = 0, json = 0;
    double seconds = 6;
    static const struct option opts[] = {
        {"host", required_argument, 0, 1},      {"port", required_argument, 0, 2},
        {"path", required_argument, 0, 3},      {"method", required_argument, 0, 4},
        {"body", required_argument, 0, 5},      {"type", required_argument, 0, 6},
        {"header", required_argument, 0, 'H'},  {"connections", required_argument, 0, 'c'},
        {"seconds", required_argument, 0, 'd'}, {"pid", required_argument, 0, 7},
        {"task", required_argument, 0, 8},      {"json", no_argument, 0, 9},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "H:c:d:h", opts, NULL)) != -1) {
        switch (o) {
        case 1:
            host = optarg;
            break;
        case 2:
            port = atoi(optarg);
            break;
        case 3:
            path = optarg;
            break;
        case 4:
            method = optarg;
            break;
        case 5:
            body_file = optarg;
            break;
        case 6:
            type = optarg;
            break;
        case 'H':
            if (nheaders == MAX_HEADERS) {
                fprintf(stderr, "http-load: at most %d --header\n", MAX_HEADERS);
                return 2;
            }
            headers[nheaders++] = optarg;
            break;
        case 'c':
            nconns = atoi(optarg);
            break;
        case 'd':
            seconds = atof(optarg);
            break;
        case 7:
            pid = atoi(optarg);
            break;
        case 8:
            task = optarg;
            break;
        case 9:
            json = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc || port <= 0 || port > 65535 || nconns < 1 || nconns > MAX_CONNS ||
        !(seconds > 0 && seconds <= 3600) || !body_file) {
        fprintf(stderr, "http-load: %s\n%s",
                optind < argc                       ? "unexpected argument"
                : port <= 0 || port > 65535         ? "--port 1..65535 is required"
                : nconns < 1 || nconns > MAX_CONNS  ? "--connections must be 1..256"
                : !(seconds > 0 && seconds <= 3600) ? "--seconds must be in (0, 3600]"
                                                    : "--body FILE is required (- for none)",
                usage);
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "http-load: --host %s is not an IPv4 address\n", host);
        return 2;
    }

    /* The request, built once. */
    size_t blen = 0;
    char *body = NULL;
    if (strcmp(body_file, "-") != 0 && !(body = read_file(body_file, &blen))) {
        fprintf(stderr, "http-load: cannot read %s: %s\n", body_file, strerror(errno));
        return 1;
    }
    size_t hcap = 512 + strlen(path) + strlen(type);
    for (int i = 0; i < nheaders; i++) hcap += strlen(headers[i]) + 2;
    char *req = malloc(hcap + blen);
    if (!req) {
        fprintf(stderr, "http-load: out of memory\n");
        return 1;
    }
    int hl = snprintf(req, hcap, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", method, path, host, port);
    for (int i = 0; i < nheaders; i++)
        hl += snprintf(req + hl, hcap - (size_t)hl, "%s\r\n", headers[i]);
    if (body)
        hl += snprintf(req + hl, hcap - (size_t)hl, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                       type, blen);
    hl += snprintf(req + hl, hcap - (size_t)hl, "\r\n");
    if (body) memcpy(req + hl, body, blen);
    size_t rlen = (size_t)hl + blen;
    free(body);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    conn *cs = calloc((size_t)nconns, sizeof *cs);
    size_t lcap = 1 << 16, nlat = 0;
    double *lat = malloc(lcap * sizeof *lat);
    char *sink = malloc(1 << 16);
    if (ep < 0 || !cs || !lat || !sink) {
        fprintf(stderr, "http-load: out of memory\n");
        return 1;
    }
    for (int i = 0; i < nconns; i++) {
        if (conn_open(&cs[i], &to, ep) != 0) {
            fprintf(stderr, "http-load: cannot connect to %s:%d: %s\n", host, port,
                    strerror(errno));
            return 1;
        }
    }

    double srv_cpu0 = 0, srv_flt0 = 0, srv_cpu1 = 0, srv_flt1 = 0;
    if (pid && proc_stat(pid, &srv_cpu0, &srv_flt0) != 0) {
        fprintf(stderr, "http-load: no process %d\n", pid);
        return 1;
    }
    sched t0s[MAX_NAMES], t1s[MAX_NAMES];
    int n0 = pid ? task_sched(pid, t0s) : 0;
    double cpu0 = self_cpu_s(), t0 = now_s(CLOCK_MONOTONIC), end = t0 + seconds;
    long done = 0, errors = 0, reconnects = 0;
    int active = nconns;
    for (int i = 0; i < nconns; i++) conn_start(&cs[i], ep);

    struct epoll_event evs[64];
    while (active > 0) {
        int n = epoll_wait(ep, evs, 64, 1000);
        if (n < 0 && errno != EINTR) {
            perror("http-load: epoll_wait");
            return 1;
        }
        for (int k = 0; k < n; k++) {
            conn *c = evs[k].data.ptr;
            int failed = 0, finished = 0;
            if (c->sent < rlen && (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                ssize_t w = send(c->fd, req + c->sent, rlen - c->sent, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    failed = 1;
                    c->err = errno;
                }
                if (w > 0) c->sent += (size_t)w;
                if (c->sent == rlen) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            while (!failed && !finished && (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                ssize_t r;
                if (c->body_left < 0) {
                    r = recv(c->fd, c->head + c->hlen, MAX_HEAD - 1 - c->hlen, 0);
                    if (r > 0) {
                        size_t from = c->hlen > 3 ? c->hlen - 3 : 0;
                        c->hlen += (size_t)r;
                        c->head[c->hlen] = 0;
                        char *e = strstr(c->head + from, "\r\n\r\n");
                        if (e) {
                            size_t hend = (size_t)(e - c->head);
                            size_t extra = c->hlen - hend - 4;
                            if (parse_head(c, hend) != 0) {
                                fprintf(stderr, "http-load: an answer without Content-Length\n");
                                return 1;
                            }
                            c->body_left -= (long)extra;
                        } else if (c->hlen == MAX_HEAD - 1) {
                            fprintf(stderr, "http-load: an answer head over %d bytes\n", MAX_HEAD);
                            return 1;
                        }
                    }
                } else {
                    r = recv(c->fd, sink,
                             c->body_left > (1 << 16) ? (1 << 16) : (size_t)c->body_left, 0);
                    if (r > 0) c->body_left -= r;
                }
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    failed = 1;
                    c->err = r == 0 ? ECONNRESET : errno;
                }
                if (r < 0) break;
                if (c->body_left == 0) finished = 1;
            }
            double t = now_s(CLOCK_MONOTONIC);
            if (finished) {
                c->fails = 0;
                if (c->status == 200) {
                    done++;
                    if (nlat == lcap) {
                        double *nl = realloc(lat, (lcap *= 2) * sizeof *lat);
                        if (!nl) {
                            fprintf(stderr, "http-load: out of memory\n");
                            return 1;
                        }
                        lat = nl;
                    }
                    lat[nlat++] = t - ((double)c->t0.tv_sec + (double)c->t0.tv_nsec / 1e9);
                } else {
                    errors++;
                }
            }
            if (failed || (finished && c->closing)) {
                /* A connection the server closed: open it again (counted); one
                 * that failed with a request in flight is an error too, and many
                 * such in a row end the run. */
                if (failed) errors++;
                if (failed && ++c->fails > 20) {
                    fprintf(stderr, "http-load: cannot talk to %s:%d: %s\n", host, port,
                            strerror(c->err));
                    return 1;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                if (t >= end) {
                    c->fd = -1;
                    active--;
                    continue;
                }
                reconnects++;
                if (conn_open(c, &to, ep) != 0) {
                    fprintf(stderr, "http-load: cannot connect to %s:%d: %s\n", host, port,
                            strerror(errno));
                    return 1;
                }
                conn_start(c, ep);
            } else if (finished) {
                if (t >= end) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    active--;
                } else {
                    conn_start(c, ep);
                }
            }
        }
    }
    double wall = now_s(CLOCK_MONOTONIC) - t0, cpu = self_cpu_s() - cpu0;
    int n1 = pid ? task_sched(pid, t1s) : 0;
    sched s0 = sched_of(t0s, n0, task), s1 = sched_of(t1s, n1, task);
    if (pid) proc_stat(pid, &srv_cpu1, &srv_flt1);
    for (int i = 0; i < nconns; i++)
        if (cs[i].fd >= 0) close(cs[i].fd);

    qsort(lat, nlat, sizeof *lat, by_value);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(size_t)((double)nlat * 0.99)] : 0;
    double per = done ? 1e3 / (double)done : 0;
    double srun = s1.run - s0.run, swait = s1.wait - s0.wait, stime = wall * s1.n;
    if (json) {
        printf("{\"done\":%ld,\"errors\":%ld,\"reconnects\":%ld,\"wall_s\":%.6f,\"rate\":%.3f,"
               "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"client_cpu_s\":%.6f,\"server_cpu_s\":%.6f,"
               "\"server_faults\":%.0f,\"tasks\":%d,\"task_run_s\":%.6f,\"task_wait_s\":%.6f",
               done, errors, reconnects, wall, (double)done / wall, p50 * 1e3, p99 * 1e3, cpu,
               srv_cpu1 - srv_cpu0, srv_flt1 - srv_flt0, s1.n, srun, swait);
        printf(",\"threads\":{");
        for (int i = 0; i < n1; i++) {
            sched a = sched_of(t0s, n0, t1s[i].name);
            printf("%s\"%s\":{\"n\":%d,\"run_s\":%.6f,\"wait_s\":%.6f}", i ? "," : "", t1s[i].name,
                   t1s[i].n, t1s[i].run - a.run, t1s[i].wait - a.wait);
        }
        printf("}}\n");
        return 0;
    }
    printf("%s %s on %d connection(s) for %.1f s: %ld answered 200 (%.1f/s), %ld errors, "
           "%ld reconnects; latency p50 %.1f ms, p99 %.1f ms\n",
           method, path, nconns, wall, done, (double)done / wall, errors, reconnects, p50 * 1e3,
           p99 * 1e3);
    printf("load generator CPU: %.3f ms per answer (%.1f%% of one core)\n", cpu * per,
           100 * cpu / wall);
    if (pid) {
        printf("server CPU: %.3f ms per answer (%.0f%% of one core), %.1f minor page faults per "
               "answer\n",
               (srv_cpu1 - srv_cpu0) * per, 100 * (srv_cpu1 - srv_cpu0) / wall,
               (srv_flt1 - srv_flt0) * (double)(done ? 1.0 / (double)done : 0));
        if (s1.n)
            printf("%d %s threads: running %.0f%%, waiting for a CPU %.0f%%, blocked or idle "
                   "%.0f%%; %.3f ms running per answer\n",
                   s1.n, task, 100 * srun / stime, 100 * swait / stime,
                   100 * (stime - srun - swait) / stime, srun * per);
        printf("server threads, CPU ms per answer:");
        for (int i = 0; i < n1; i++) {
            sched a = sched_of(t0s, n0, t1s[i].name);
            printf(" %s (%d) %.3f;", t1s[i].name, t1s[i].n, (t1s[i].run - a.run) * per);
        }
        printf("\n");
    }
    return 0;
}
