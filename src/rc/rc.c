/*
 * rc.c — status names, error filling, logging, clocks and two small file
 * helpers used across modules.
 */
#include "rc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RC_TEST_HOOKS /* meson defines it (option test_hooks) */
#define RC_TEST_HOOKS 0
#endif

static const char *const status_names[RC_STATUS_COUNT] = {
    [RC_OK] = "ok",
    [RC_ERR_INVALID] = "invalid",
    [RC_ERR_NOMEM] = "out_of_memory",
    [RC_ERR_IO] = "io",
    [RC_ERR_NOT_FOUND] = "not_found",
    [RC_ERR_UNSUPPORTED] = "unsupported",
    [RC_ERR_LIMIT] = "too_large",
    [RC_ERR_CORRUPT] = "corrupt",
    [RC_ERR_CONFLICT] = "conflict",
    [RC_ERR_DENIED] = "denied",
    [RC_ERR_DB] = "database",
    [RC_ERR_NET] = "network",
    [RC_ERR_INTERNAL] = "internal",
};

const char *rc_status_name(rc_status s)
{
    if ((unsigned)s >= RC_STATUS_COUNT) return "unknown";
    return status_names[s];
}

rc_status rc_fail(rc_error *err, rc_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void rc_error_clear(rc_error *err)
{
    if (!err) return;
    err->code = RC_OK;
    err->msg[0] = '\0';
}

/* Set once by main before threads start; read-only afterwards. */
static rc_log_level log_level = RC_LOG_INFO;

void rc_log_set_level(rc_log_level level)
{
    log_level = level;
}

void rc_log(rc_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < log_level) return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines from different threads whole. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}

double rc_thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int rc_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

bool rc_sorted_has(const int64_t *ids, size_t n, int64_t id)
{
    return n && bsearch(&id, ids, n, sizeof *ids, rc_cmp_i64) != NULL;
}

double rc_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double rc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t rc_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- civil calendar (proleptic Gregorian), after H. Hinnant --------------- */

int64_t rc_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void rc_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

rc_status rc_read_file(const char *path, size_t max_bytes, unsigned char **out, size_t *len,
                       rc_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return rc_fail(err, errno == ENOENT ? RC_ERR_NOT_FOUND : RC_ERR_IO, "%s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return rc_fail(err, RC_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(f);
        return rc_fail(err, RC_ERR_LIMIT, "%s: %lld bytes is over the limit of %zu", path,
                       (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return rc_fail(err, RC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(buf);
        return rc_fail(err, RC_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return RC_OK;
}

rc_status rc_mkdir_p(const char *path, rc_error *err)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return rc_fail(err, RC_ERR_INVALID, "bad directory path");
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return rc_fail(err, RC_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return rc_fail(err, RC_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
        return rc_fail(err, RC_ERR_IO, "%s exists and is not a directory", tmp);
    return RC_OK;
}

/* Is s[0..len) well-formed UTF-8 (no overlongs, surrogates or code points
 * past U+10FFFF)? */
bool rc_utf8_valid(const void *text, size_t len)
{
    const unsigned char *s = text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
        if (n == 9 || len - i < n + 1) return false;
        if (n == 0) {
            i++;
            continue;
        }
        unsigned cp = c & (0x3Fu >> n);
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

void rc_crash_point(const char *point)
{
#if RC_TEST_HOOKS
    const char *at = getenv("ROLLCALL_TEST_CRASH_AT");
    if (at && !strcmp(at, point)) {
        fprintf(stderr, "ROLLCALL_TEST_CRASH_AT=%s: stopping here\n", point);
        _exit(86);
    }
#else
    (void)point;
#endif
}
