/*
 * rc — the few things every Rollcall module shares: the one project-wide
 * status enum, an error value that carries a message a user can read, logging
 * and clocks. Nothing here holds mutable global state except the log level,
 * which main sets once.
 */
#ifndef RC_RC_H
#define RC_RC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RC_VERSION "0.1.0"

/* Every fallible function in Rollcall returns one of these. */
typedef enum {
    RC_OK = 0,
    RC_ERR_INVALID,     /* malformed argument or input */
    RC_ERR_NOMEM,       /* allocation failed */
    RC_ERR_IO,          /* file or socket error */
    RC_ERR_NOT_FOUND,   /* no such file, record or route */
    RC_ERR_UNSUPPORTED, /* valid but not handled (operator, format, option) */
    RC_ERR_LIMIT,       /* input larger than a configured limit */
    RC_ERR_CORRUPT,     /* data that should parse does not */
    RC_ERR_CONFLICT,    /* already exists, or changed under us */
    RC_ERR_DENIED,      /* authentication or authorisation failed */
    RC_ERR_DB,          /* database error */
    RC_ERR_NET,         /* network peer unreachable or misbehaving */
    RC_ERR_INTERNAL,    /* a bug: should not happen */
    RC_STATUS_COUNT
} rc_status;

/* A short, stable, lower-case name for a status ("invalid", "not_found", ...). */
const char *rc_status_name(rc_status s);

/* An error with a message for the user. Functions that can fail take an
 * optional `rc_error *` (NULL is allowed) and fill it on failure. */
typedef struct {
    rc_status code;
    char msg[512];
} rc_error;

/* Fill `err` (if not NULL) with `code` and a printf-style message; returns
 * `code` so callers can write `return rc_fail(err, RC_ERR_IO, "...", ...)`. */
rc_status rc_fail(rc_error *err, rc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset an error to RC_OK with an empty message. */
void rc_error_clear(rc_error *err);

/* Logging to stderr, one line per call, with a UTC timestamp and level. */
typedef enum { RC_LOG_DEBUG, RC_LOG_INFO, RC_LOG_WARN, RC_LOG_ERROR } rc_log_level;
void rc_log_set_level(rc_log_level level);
void rc_log(rc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic milliseconds (for measuring) and wall-clock Unix milliseconds. */
double rc_mono_ms(void);
int64_t rc_unix_ms(void);
/* Days since 1970-01-01 of a civil (proleptic Gregorian) date, and back
 * (H. Hinnant's algorithms): the one calendar of the store and the reports. */
int64_t rc_days_from_civil(int y, int m, int d);
void rc_civil_from_days(int64_t days, int *y, int *m, int *d);
/* CPU milliseconds the calling thread has used (benchmarks on a busy machine). */
double rc_thread_cpu_ms(void);
/* The median of v[0..n-1], n > 0 (sorts v in place). */
double rc_median(double *v, int n);
/* qsort/bsearch order of int64_t values. */
int rc_cmp_i64(const void *a, const void *b);
/* Whether id is among ids[0..n-1], sorted by rc_cmp_i64. */
bool rc_sorted_has(const int64_t *ids, size_t n, int64_t id);

/* A test hook: when the environment variable ROLLCALL_TEST_CRASH_AT names
 * `point` ("request.apply"), end the process at once with _exit(86) — no
 * clean-up, no commit, as a power cut would — so that a test can restart
 * on the same database and check that what was interrupted was undone.
 * Compiled in with -Dtest_hooks=true (the default, which the tests need);
 * with false it does nothing. Whoever sets the server's environment can
 * stop it anyway, so the hook gives nobody anything new. */
void rc_crash_point(const char *point);

/* Read a whole file into a new buffer (NUL-terminated for convenience; the
 * terminator is not counted in *len). The caller frees the result with free().
 * Files over `max_bytes` are refused with RC_ERR_LIMIT. */
rc_status rc_read_file(const char *path, size_t max_bytes, unsigned char **out, size_t *len,
                       rc_error *err);

/* Create a directory and its parents (mode 0750); existing is fine. */
rc_status rc_mkdir_p(const char *path, rc_error *err);

/* Is text[0..len) well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF)? Text from outside must be before it reaches JSON or
 * the database. */
bool rc_utf8_valid(const void *text, size_t len);

/* Metrics registry (metrics.c): counters, gauges and latency histograms rendered at
 * GET /metrics in Prometheus text format. Thread-safe. A metric name may carry
 * labels: `rollcall_pipeline_ms{stage="detect"}`; HELP and TYPE are written
 * once per base name. */
typedef struct rc_metrics rc_metrics;
rc_metrics *rc_metrics_create(void);
void rc_metrics_destroy(rc_metrics *m);
/* Add `v` to a counter (created at 0 on first use). */
void rc_metrics_add(rc_metrics *m, const char *name, const char *help, double v);
/* Set a gauge. */
void rc_metrics_set(rc_metrics *m, const char *name, const char *help, double v);
/* Record one duration in milliseconds in a histogram. */
void rc_metrics_time(rc_metrics *m, const char *name, const char *help, double ms);

/* Render everything in Prometheus text format (caller frees); NULL when out
 * of memory. Its length goes to *len unless len is NULL. */
char *rc_metrics_render(rc_metrics *m, size_t *len);

#endif
