/*
 * metrics.c — a small registry of counters, gauges and latency histograms,
 * rendered in the Prometheus text exposition format (GET /metrics). The HTTP
 * server feeds it one observation per request; the rest of the process (face
 * pipeline, gallery, cameras, attendance) feeds it through rc.h. A metric's
 * name may carry labels (`name{k="v"}`); HELP and TYPE go out once per base
 * name, so series of one family must share a kind.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include "rc.h"

enum kind { COUNTER, GAUGE, HISTOGRAM };

static const double bucket_ms[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0])

typedef struct {
    char *name; /* with labels */
    char *help;
    enum kind kind;
    double value; /* counter/gauge value; histogram sum */
    uint64_t count;
    uint64_t buckets[NBUCKETS];
} metric;

struct rc_metrics {
    pthread_mutex_t lock;
    metric *items;
    size_t n, cap;
};

rc_metrics *rc_metrics_create(void)
{
    rc_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->lock, NULL);
    return m;
}

void rc_metrics_destroy(rc_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].name);
        free(m->items[i].help);
    }
    free(m->items);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Find or create (under the lock); NULL when out of memory. */
static metric *get(rc_metrics *m, const char *name, const char *help, enum kind kind)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].name, name) == 0) return &m->items[i];
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        metric *it = realloc(m->items, cap * sizeof *it);
        if (!it) return NULL;
        m->items = it;
        m->cap = cap;
    }
    metric *x = &m->items[m->n];
    memset(x, 0, sizeof *x);
    x->name = strdup(name);
    x->help = strdup(help ? help : "");
    if (!x->name || !x->help) {
        free(x->name);
        free(x->help);
        return NULL;
    }
    x->kind = kind;
    m->n++;
    return x;
}

void rc_metrics_add(rc_metrics *m, const char *name, const char *help, double v)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metric *x = get(m, name, help, COUNTER);
    if (x) x->value += v;
    pthread_mutex_unlock(&m->lock);
}

void rc_metrics_set(rc_metrics *m, const char *name, const char *help, double v)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metric *x = get(m, name, help, GAUGE);
    if (x) x->value = v;
    pthread_mutex_unlock(&m->lock);
}

void rc_metrics_time(rc_metrics *m, const char *name, const char *help, double ms)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metric *x = get(m, name, help, HISTOGRAM);
    if (x) {
        x->value += ms;
        x->count++;
        for (size_t b = 0; b < NBUCKETS; b++)
            if (ms <= bucket_ms[b]) x->buckets[b]++;
    }
    pthread_mutex_unlock(&m->lock);
}

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->failed = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const metric *)a)->name, ((const metric *)b)->name);
}

char *rc_metrics_render(rc_metrics *m, size_t *len)
{
    sbuf b = {malloc(8192), 0, 8192, false};
    if (!b.buf) return NULL;
    b.buf[0] = 0;
    pthread_mutex_lock(&m->lock);
    qsort(m->items, m->n, sizeof *m->items, by_name);
    char prev[256] = "";
    for (size_t i = 0; i < m->n; i++) {
        const metric *x = &m->items[i];
        const char *brace = strchr(x->name, '{');
        size_t bl = brace ? (size_t)(brace - x->name) : strlen(x->name);
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)bl, x->name);
        const char *labels = brace ? brace + 1 : ""; /* "k=\"v\"}" */
        size_t ll = brace ? strlen(labels) - 1 : 0;
        if (strcmp(base, prev) != 0) {
            static const char *kinds[] = {"counter", "gauge", "histogram"};
            sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", base, x->help, base, kinds[x->kind]);
            snprintf(prev, sizeof prev, "%s", base);
        }
        if (x->kind != HISTOGRAM) {
            sb_printf(&b, "%s %.17g\n", x->name, x->value);
            continue;
        }
        for (size_t k = 0; k < NBUCKETS; k++)
            sb_printf(&b, "%s_bucket{%.*s%sle=\"%g\"} %llu\n", base, (int)ll, labels, ll ? "," : "",
                      bucket_ms[k], (unsigned long long)x->buckets[k]);
        sb_printf(&b, "%s_bucket{%.*s%sle=\"+Inf\"} %llu\n", base, (int)ll, labels, ll ? "," : "",
                  (unsigned long long)x->count);
        sb_printf(&b, "%s_sum%s%.*s%s %.17g\n", base, ll ? "{" : "", (int)ll, labels, ll ? "}" : "",
                  x->value);
        sb_printf(&b, "%s_count%s%.*s%s %llu\n", base, ll ? "{" : "", (int)ll, labels,
                  ll ? "}" : "", (unsigned long long)x->count);
    }
    pthread_mutex_unlock(&m->lock);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    if (len) *len = b.len;
    return b.buf;
}
