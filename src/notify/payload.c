/*
 * payload.c — what a webhook request says: the body in each preset (generic
 * JSON, a Slack incoming-webhook message, a Telegram sendMessage call), its
 * HMAC-SHA256 signature, the retry delay, and the URL as it may be shown.
 * Pure functions, so the tests check them without a network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "notify.h"

static void utc_text(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void iso_text(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", base, (int)(ms % 1000));
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* One line for people to read (Slack and Telegram). */
static char *message_text(const store_delivery *d, const json_t *data)
{
    char when[40], place[200] = "", buf[1024];
    json_int_t ts = json_integer_value(json_object_get(data, "ts_ms"));
    utc_text(ts ? ts : d->created_ms, when, sizeof when);
    const char *cam = str_of(data, "camera");
    if (*cam) snprintf(place, sizeof place, " at %s", cam);
    if (!strcmp(d->kind, "entry") || !strcmp(d->kind, "exit")) {
        const json_t *p = json_object_get(data, "person");
        const char *ext = str_of(p, "external_id"), *status = str_of(data, "status");
        char who[220];
        snprintf(who, sizeof who, "%s%s%s%s", str_of(p, "name"), *ext ? " (" : "", ext,
                 *ext ? ")" : "");
        const char *how = !strcmp(status, "late")          ? ", late"
                          : !strcmp(status, "early_leave") ? ", early leave"
                                                           : "";
        snprintf(buf, sizeof buf, "%s: %s%s%s%s, %s", !strcmp(d->kind, "entry") ? "Entry" : "Exit",
                 who, how, *place ? "," : "", place, when);
    } else if (!strcmp(d->kind, "unknown_face")) {
        snprintf(buf, sizeof buf, "Unknown face%s, %s", place, when);
    } else if (!strcmp(d->kind, "camera_down")) {
        const char *reason = str_of(data, "reason");
        snprintf(buf, sizeof buf, "Camera %s is down%s%s, %s", *cam ? cam : "?",
                 *reason ? ": " : "", reason, when);
    } else if (!strcmp(d->kind, "absentees")) {
        const json_t *g = json_object_get(data, "group"), *slot = json_object_get(data, "slot");
        const json_t *absent = json_object_get(data, "absent");
        int count = (int)json_integer_value(json_object_get(data, "absent_count"));
        int o =
            snprintf(buf, sizeof buf, "%s, %s %s %s-%s: ", str_of(g, "name"), str_of(slot, "label"),
                     str_of(slot, "day"), str_of(slot, "start"), str_of(slot, "end"));
        if (count == 0)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "everyone is here");
        else
            o += snprintf(buf + o, sizeof buf - (size_t)o, "%d missing:", count);
        size_t i;
        const json_t *p;
        json_array_foreach(absent, i, p)
        {
            if (o >= (int)sizeof buf - 8) break;
            o +=
                snprintf(buf + o, sizeof buf - (size_t)o, "%s %s", i ? "," : "", str_of(p, "name"));
        }
        if (count > (int)json_array_size(absent) && o < (int)sizeof buf - 8)
            snprintf(buf + o, sizeof buf - (size_t)o, ", …");
    } else if (!strcmp(d->kind, "test")) {
        snprintf(buf, sizeof buf, "Rollcall test notification for webhook %lld, %s",
                 (long long)d->webhook_id, when);
    } else {
        snprintf(buf, sizeof buf, "Rollcall %s, %s", d->kind, when);
    }
    return strdup(buf);
}

char *notify_render(const store_webhook *w, const store_delivery *d, size_t *len)
{
    json_t *data = json_loads(d->payload, 0, NULL);
    if (!json_is_object(data)) {
        json_decref(data);
        data = json_object();
    }
    json_t *body = NULL;
    if (!strcmp(w->preset, "slack") || !strcmp(w->preset, "telegram")) {
        char *text = message_text(d, data);
        if (text) {
            body = !strcmp(w->preset, "slack")
                       ? json_pack("{s:s}", "text", text)
                       : json_pack("{s:s, s:s}", "chat_id", w->chat_id, "text", text);
            free(text);
        }
        json_decref(data);
    } else {
        char iso[40];
        iso_text(d->created_ms, iso, sizeof iso);
        body = json_pack("{s:I, s:I, s:s, s:I, s:s, s:o}", "id", (json_int_t)d->id, "webhook_id",
                         (json_int_t)d->webhook_id, "kind", d->kind, "created_ms",
                         (json_int_t)d->created_ms, "time", iso, "data", data);
    }
    if (!body) return NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text && len) *len = strlen(text);
    return text;
}

void notify_sign(const char *secret, int64_t t, const char *body, size_t len,
                 char out[NOTIFY_SIGNATURE_MAX])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    int n = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, (unsigned long long)len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, NOTIFY_SIGNATURE_MAX, "t=%lld,v1=%s", (long long)t, hex);
    sodium_memzero(&st, sizeof st);
}

int64_t notify_backoff_ms(const notify_config *c, int attempt, double u)
{
    notify_config d = *c;
    notify_config_default(&d);
    int64_t delay = d.backoff_base_ms;
    for (int i = 1; i < attempt && delay < d.backoff_max_ms; i++) delay *= 2;
    if (delay > d.backoff_max_ms) delay = d.backoff_max_ms;
    if (u < 0) u = 0;
    if (u >= 1) u = 0.999999;
    return (int64_t)((double)delay * (0.5 + u / 2));
}

void notify_url_display(const store_webhook *w, char *out, size_t cap)
{
    const char *u = w->url, *rest = strstr(u, "://");
    if (!rest) {
        snprintf(out, cap, "?");
        return;
    }
    rest += 3;
    size_t auth_len = strcspn(rest, "/?#"); /* [user[:password]@]host[:port] */
    const char *host = rest;
    for (const char *p = rest; p < rest + auth_len; p++)
        if (*p == '@') host = p + 1;
    size_t host_len = (size_t)(rest + auth_len - host);
    const char *path = rest + auth_len;
    size_t path_len = *path == '/' ? strcspn(path, "?#") : 0;
    if (strcmp(w->preset, "generic") != 0)
        snprintf(out, cap, "%.*s%.*s/…", (int)(rest - u), u, (int)host_len, host);
    else
        snprintf(out, cap, "%.*s%.*s%.*s", (int)(rest - u), u, (int)host_len, host, (int)path_len,
                 path);
}
