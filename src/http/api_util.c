/*
 * api_util.c — small conversions every API handler needs: Unix milliseconds
 * to and from ISO 8601 UTC text, clock times "HH:MM", the {items, total}
 * list shape, the "group_ids" field, the audit actor of a request, and the
 * mapping between the API's role names and the store's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/store.h"
#include "internal.h"

json_t *http_time_json(int64_t ms)
{
    if (ms <= 0) return json_null();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool http_parse_date(const char *s, int *y, int *mo, int *d)
{
    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-') return false;
    if (!digits(s, 4, y) || !digits(s + 5, 2, mo) || !digits(s + 8, 2, d)) return false;
    if (*mo < 1 || *mo > 12 || *d < 1) return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*d > mdays[*mo - 1]) return false;
    bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    if (*mo == 2 && *d == 29 && !leap) return false;
    return true;
}

bool http_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!http_parse_date(s, &y, &mo, &d)) return false;
    const char *p = s + 10;
    int64_t frac_ms = 0, offset_min = 0;
    if (*p == 'T' || *p == ' ') {
        if (strlen(p) < 6 || !digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
            return false;
        p += 6;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec)) return false;
            p += 3;
            if (*p == '.') {
                p++;
                int scale = 100;
                while (*p >= '0' && *p <= '9') {
                    frac_ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) < 6 || !digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
                return false;
            if (oh > 14 || om > 59 || (oh == 14 && om > 0)) return false; /* UTC-14..+14 */
            offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
            p += 6;
        }
        if (*p) return false;
    } else if (*p) {
        return false;
    }
    if (h > 23 || mi > 59 || sec > 60) return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    *ms = (int64_t)t * 1000 + frac_ms - offset_min * 60000;
    return true;
}

bool http_parse_clock(const char *s, int *minutes)
{
    int h, m;
    if (!s || strlen(s) != 5 || s[2] != ':' || !digits(s, 2, &h) || !digits(s + 3, 2, &m))
        return false;
    if (h > 24 || m > 59 || (h == 24 && m != 0)) return false;
    *minutes = h * 60 + m;
    return true;
}

void http_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

json_t *http_clock_json(int minutes)
{
    char buf[16];
    unsigned m = minutes < 0 ? 0u : minutes > 1440 ? 1440u : (unsigned)minutes;
    snprintf(buf, sizeof buf, "%02u:%02u", m / 60, m % 60);
    return json_string(buf);
}

json_t *http_list(json_t *items, int64_t total)
{
    return json_pack("{s:o,s:I}", "items", items, "total", (json_int_t)total);
}

const char *http_actor(const http_req *r)
{
    return r->who.label;
}

void http_audit(http_req *r, const char *action, const char *type, int64_t id, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    rc_error err;
    if (store_audit_add(r->srv->cfg.store, http_actor(r), action, type, id, text ? text : "{}",
                        &err) != RC_OK)
        rc_log(RC_LOG_WARN, "audit %s: %s", action, err.msg);
    free(text);
}

bool http_field_group_ids(http_req *r, json_t *obj, int64_t ids[64], size_t *n, bool *present)
{
    json_t *v = json_object_get(obj, "group_ids");
    *present = v != NULL && !json_is_null(v);
    *n = 0;
    if (!*present) return true;
    if (!json_is_array(v) || json_array_size(v) > 64) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'group_ids' must be an array of at most 64 group ids");
        return false;
    }
    size_t i;
    json_t *g;
    json_array_foreach(v, i, g)
    {
        store_group grp;
        if (!json_is_integer(g) ||
            store_group_get(r->srv->cfg.store, json_integer_value(g), &grp, NULL) != RC_OK ||
            !http_scope_group(r, grp.id)) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "group_ids[%zu] is not the id of a group", i);
            return false;
        }
        ids[(*n)++] = grp.id;
    }
    return true;
}

bool http_day_range(http_req *r, const char *from_field, const char *from, const char *to, int max,
                    int64_t *first, int64_t *last)
{
    if (strlen(from) != 10 || att_parse_day(from, first) != 0) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", from_field),
                           "field '%s' must be a date YYYY-MM-DD", from_field);
        return false;
    }
    *last = *first;
    if (to && *to && (strlen(to) != 10 || att_parse_day(to, last) != 0)) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "to"),
                           "field 'to' must be a date YYYY-MM-DD");
        return false;
    }
    if (*last < *first || *last - *first > max) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s,s:i}", "field", "to", "max", max),
                           "field 'to' must be a day from '%s' to %d days after it", from_field,
                           max);
        return false;
    }
    return true;
}

void http_days_or_today(http_req *r, const char **from, const char **to, char today[11])
{
    att_local now;
    att_tz_local(att_zone(r->srv->att), rc_unix_ms(), &now);
    att_day_string(now.days, today);
    if (!*from && !*to) *from = *to = today;
    if (!*from) *from = *to;
    if (!*to) *to = *from;
}
