/*
 * att_tz.c — time zones for the attendance rules, read straight from the TZ
 * database (TZif files under /usr/share/zoneinfo, RFC 8536) instead of going
 * through the C library's TZ/tzset/localtime. localtime_r only knows the one
 * process-wide zone held in the TZ variable; switching it per call would mean
 * setenv + tzset under a lock that every other localtime caller in the
 * process (libraries included) would have to honour too. A loaded att_tz is
 * an immutable value: any number of threads may convert with it, and two
 * institutions' zones can be used side by side.
 *
 * What is read: the 64-bit (version 2+) transition table and the POSIX TZ
 * footer that gives the rule after the last transition (e.g.
 * "CET-1CEST,M3.5.0,M10.5.0/3"), so dates after the table — and "slim" TZif
 * files that stop early — are right. A bare POSIX rule ("EST5EDT,M3.2.0,
 * M11.1.0") is accepted too. Leap seconds are ignored, as POSIX time does.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "att.h"

typedef struct {
    int kind; /* 'M' month.week.day, 'J' Julian 1..365 without Feb 29, 'D' 0..365 */
    int m, w, d;
    int time_s; /* local time of day of the change, may be negative or > 24 h */
} tz_rule_date;

typedef struct {
    int valid;
    int std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    tz_rule_date start, end;
} tz_rule;

struct att_tz {
    char name[128];
    size_t n;      /* transitions */
    int64_t *when; /* UTC seconds */
    unsigned char *type;
    int ntypes;
    int off[256];
    unsigned char isdst[256];
    tz_rule rule; /* after the last transition (or alone) */
};

int att_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* ---- POSIX TZ rule -------------------------------------------------------- */

static const char *parse_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>') p++;
        return *p == '>' ? p + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p)) p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] → seconds; NULL on error. */
static const char *parse_hms(const char *p, int *out, int max_h)
{
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p)) return NULL;
    int h = 0, m = 0, s = 0;
    while (isdigit((unsigned char)*p)) h = h * 10 + (*p++ - '0');
    if (h > max_h) return NULL;
    if (*p == ':') {
        p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p)) m = m * 10 + (*p++ - '0');
        if (*p == ':') {
            p++;
            while (isdigit((unsigned char)*p)) s = s * 10 + (*p++ - '0');
        }
    }
    if (m > 59 || s > 59) return NULL;
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_rule_date(const char *p, tz_rule_date *r)
{
    r->time_s = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3) return NULL;
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6) return NULL;
        p++;
        while (isdigit((unsigned char)*p) || *p == '.') p++;
    } else if (*p == 'J' || isdigit((unsigned char)*p)) {
        r->kind = *p == 'J' ? 'J' : 'D';
        if (*p == 'J') p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        r->d = 0;
        while (isdigit((unsigned char)*p)) r->d = r->d * 10 + (*p++ - '0');
        if (r->d > 365 || (r->kind == 'J' && r->d < 1)) return NULL;
    } else {
        return NULL;
    }
    if (*p == '/') {
        p = parse_hms(p + 1, &r->time_s, 167);
        if (!p) return NULL;
    }
    return p;
}

static int parse_rule(const char *p, tz_rule *r)
{
    memset(r, 0, sizeof *r);
    p = parse_name(p);
    if (!p) return -1;
    int std;
    p = parse_hms(p, &std, 24);
    if (!p) return -1;
    r->std_off = -std; /* POSIX counts west of Greenwich as positive */
    r->dst_off = r->std_off;
    if (*p == 0) {
        r->valid = 1;
        return 0;
    }
    p = parse_name(p);
    if (!p) return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        int dst;
        p = parse_hms(p, &dst, 24);
        if (!p) return -1;
        r->dst_off = -dst;
    }
    if (*p != ',') { /* no rule: the old US default is not worth guessing */
        return -1;
    }
    p = parse_rule_date(p + 1, &r->start);
    if (!p || *p != ',') return -1;
    p = parse_rule_date(p + 1, &r->end);
    if (!p || *p) return -1;
    r->valid = 1;
    return 0;
}

/* Seconds since the epoch of the local (wall) time of rule date r in year y,
 * counted as if it were UTC. */
static int64_t rule_local(int y, const tz_rule_date *r)
{
    int64_t days;
    if (r->kind == 'M') {
        int64_t first = rc_days_from_civil(y, r->m, 1);
        int wd = att_weekday(first);
        int day = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
        while (day > month_days(y, r->m)) day -= 7;
        days = first + day - 1;
    } else if (r->kind == 'J') {
        days = rc_days_from_civil(y, 1, 1) + r->d - 1;
        if (is_leap(y) && r->d >= 60) days++;
    } else {
        days = rc_days_from_civil(y, 1, 1) + r->d;
    }
    return days * 86400 + r->time_s;
}

static void rule_at(const tz_rule *r, int64_t t, int *off, int *dst)
{
    *off = r->std_off;
    *dst = 0;
    if (!r->has_dst) return;
    int y, m, d;
    rc_civil_from_days(floordiv(t + r->std_off, 86400), &y, &m, &d);
    /* The start is given in standard time, the end in daylight time. */
    int64_t start = rule_local(y, &r->start) - r->std_off;
    int64_t end = rule_local(y, &r->end) - r->dst_off;
    int in = start < end ? (t >= start && t < end) : (t < end || t >= start);
    if (in) {
        *off = r->dst_off;
        *dst = 1;
    }
}

/* ---- TZif ----------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static rc_status parse_tzif(att_tz *tz, const unsigned char *b, size_t len, rc_error *err)
{
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if ((size_t)(n) > len - (size_t)(p - b))                                                   \
            return rc_fail(err, RC_ERR_CORRUPT, "time zone file for %s is truncated", tz->name);   \
    } while (0)
    const unsigned char *p = b;
    NEED(44);
    if (memcmp(p, "TZif", 4) != 0)
        return rc_fail(err, RC_ERR_CORRUPT, "%s is not a TZif time zone file", tz->name);
    int version = p[4];
    uint32_t c[6];
    for (int i = 0; i < 6; i++) c[i] = be32(p + 20 + 4 * i);
    int tsize = 4;
    if (version >= '2') { /* skip the 32-bit block, use the 64-bit one */
        size_t skip =
            44 + (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
        NEED(skip + 44);
        p += skip;
        if (memcmp(p, "TZif", 4) != 0)
            return rc_fail(err, RC_ERR_CORRUPT, "%s: second TZif header missing", tz->name);
        for (int i = 0; i < 6; i++) c[i] = be32(p + 20 + 4 * i);
        tsize = 8;
    }
    uint32_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
    if (typecnt == 0 || typecnt > 256 || timecnt > 100000)
        return rc_fail(err, RC_ERR_CORRUPT, "%s: implausible counts in time zone file", tz->name);
    p += 44;
    NEED((size_t)timecnt * (tsize + 1) + (size_t)typecnt * 6 + charcnt +
         (size_t)leap * (tsize + 4) + isstd + isut);
    tz->n = timecnt;
    tz->when = malloc((timecnt ? timecnt : 1) * sizeof *tz->when);
    tz->type = malloc(timecnt ? timecnt : 1);
    if (!tz->when || !tz->type) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < timecnt; i++, p += tsize)
        tz->when[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
    for (uint32_t i = 0; i < timecnt; i++) {
        tz->type[i] = *p++;
        if (tz->type[i] >= typecnt)
            return rc_fail(err, RC_ERR_CORRUPT, "%s: transition to unknown type", tz->name);
    }
    tz->ntypes = (int)typecnt;
    for (uint32_t i = 0; i < typecnt; i++, p += 6) {
        tz->off[i] = (int32_t)be32(p);
        tz->isdst[i] = p[4];
        if (tz->off[i] < -26 * 3600 || tz->off[i] > 26 * 3600)
            return rc_fail(err, RC_ERR_CORRUPT, "%s: offset out of range", tz->name);
    }
    p += charcnt + (size_t)leap * (tsize + 4) + isstd + isut;
    if (tsize == 8 && (size_t)(p - b) < len && *p == '\n') { /* footer */
        const unsigned char *e = memchr(p + 1, '\n', len - (size_t)(p - b) - 1);
        if (e && e - p - 1 < 120) {
            char footer[128];
            memcpy(footer, p + 1, (size_t)(e - p - 1));
            footer[e - p - 1] = 0;
            if (footer[0] && parse_rule(footer, &tz->rule) != 0) tz->rule.valid = 0;
        }
    }
    return RC_OK;
#undef NEED
}

static att_tz *tz_new(const char *name)
{
    att_tz *tz = calloc(1, sizeof *tz);
    if (tz) snprintf(tz->name, sizeof tz->name, "%s", name);
    return tz;
}

rc_status att_tz_load(const char *name, att_tz **out, rc_error *err)
{
    char sys[128] = "";
    const char *path = NULL;
    char buf[512];
    if (!name || !*name) { /* the system's zone: $TZ, else /etc/localtime */
        const char *env = getenv("TZ");
        if (env && *env) {
            name = env[0] == ':' ? env + 1 : env;
        } else {
            name = "localtime";
            path = "/etc/localtime";
            ssize_t n = readlink(path, sys, sizeof sys - 1);
            if (n > 0) {
                sys[n] = 0;
                const char *z = strstr(sys, "zoneinfo/");
                if (z) name = z + 9;
            }
        }
    }
    if (strlen(name) >= 120) return rc_fail(err, RC_ERR_LIMIT, "time zone name is too long");
    if (!path) {
        if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 || strcmp(name, "GMT") == 0) {
            att_tz *tz = tz_new(name);
            if (!tz) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            tz->rule.valid = 1;
            *out = tz;
            return RC_OK;
        }
        if (name[0] == '/') {
            path = name;
        } else {
            if (strstr(name, "..") || name[0] == '.')
                return rc_fail(err, RC_ERR_INVALID, "'%s' is not a time zone name", name);
            snprintf(buf, sizeof buf, "/usr/share/zoneinfo/%s", name);
            path = buf;
        }
    }
    att_tz *tz = tz_new(name);
    if (!tz) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    unsigned char *data = NULL;
    size_t len = 0;
    rc_error ferr;
    rc_status st = rc_read_file(path, 1 << 20, &data, &len, &ferr);
    if (st != RC_OK) {
        /* Not a file: maybe a POSIX rule such as "EST5EDT,M3.2.0,M11.1.0". */
        if (parse_rule(name, &tz->rule) == 0) {
            *out = tz;
            return RC_OK;
        }
        att_tz_free(tz);
        return rc_fail(err, RC_ERR_NOT_FOUND,
                       "unknown time zone '%s' (not in /usr/share/zoneinfo; use a name like "
                       "Europe/Berlin or install tzdata)",
                       name);
    }
    st = parse_tzif(tz, data, len, err);
    free(data);
    if (st != RC_OK) {
        att_tz_free(tz);
        return st;
    }
    *out = tz;
    return RC_OK;
}

void att_tz_free(att_tz *tz)
{
    if (!tz) return;
    free(tz->when);
    free(tz->type);
    free(tz);
}

const char *att_tz_name(const att_tz *tz)
{
    return tz->name;
}

static int offset_at(const att_tz *tz, int64_t t, int *dst)
{
    int off = 0, d = 0;
    if (tz->n == 0 || t >= tz->when[tz->n - 1]) {
        if (tz->rule.valid) {
            rule_at(&tz->rule, t, &off, &d);
        } else if (tz->n) {
            off = tz->off[tz->type[tz->n - 1]];
            d = tz->isdst[tz->type[tz->n - 1]];
        } else {
            off = tz->ntypes ? tz->off[0] : 0;
        }
    } else if (t < tz->when[0]) {
        off = tz->off[0];
        d = tz->isdst[0];
    } else {
        size_t lo = 0, hi = tz->n - 1; /* when[lo] <= t < when[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->when[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        off = tz->off[tz->type[lo]];
        d = tz->isdst[tz->type[lo]];
    }
    if (dst) *dst = d;
    return off;
}

void att_tz_local(const att_tz *tz, int64_t utc_ms, att_local *out)
{
    int64_t t = floordiv(utc_ms, 1000);
    int dst = 0;
    int off = offset_at(tz, t, &dst);
    int64_t local = t + off;
    int64_t days = floordiv(local, 86400);
    int64_t secs = local - days * 86400;
    rc_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs / 60 % 60);
    out->second = (int)(secs % 60);
    out->wday = att_weekday(days);
    out->days = days;
    out->utc_offset_s = off;
    out->is_dst = dst;
}

int64_t att_tz_utc(const att_tz *tz, int64_t days, int minute_of_day)
{
    int64_t local = days * 86400 + (int64_t)minute_of_day * 60;
    int before = offset_at(tz, local - 86400 - 26 * 3600, NULL);
    int after = offset_at(tz, local + 86400 + 26 * 3600, NULL);
    /* Try each offset in force around that day; the wall time exists under
     * an offset when converting back gives the same offset. */
    int64_t best = 0;
    int found = 0;
    int cand[2] = {before, after};
    for (int i = 0; i < 2; i++) {
        int64_t t = local - cand[i];
        if (offset_at(tz, t, NULL) == cand[i] && (!found || t < best)) {
            best = t; /* repeated hour (autumn): the first occurrence */
            found = 1;
        }
    }
    if (!found) {
        best = local - before; /* skipped hour (spring): as if the clock had not moved yet */
    }
    return best * 1000;
}

void att_day_string(int64_t days, char out[11])
{
    int y, m, d;
    rc_civil_from_days(days, &y, &m, &d);
    unsigned yy = (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y);
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = 0;
}

int att_parse_day(const char *s, int64_t *days)
{
    int y, m, d;
    char tail;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return -1;
    if (s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) return -1;
    *days = rc_days_from_civil(y, m, d);
    return 0;
}
