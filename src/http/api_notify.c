/*
 * api_notify.c — the outgoing webhooks API (admin only): list, create (the
 * secret is shown once, like an API key), read, change and delete webhooks,
 * queue a test delivery, and read a webhook's recent deliveries with their
 * status. Delivery itself is src/notify's; this file parses and renders.
 * URLs are shown without credentials, query or (for Slack and Telegram,
 * whose URLs are tokens) path; secrets never leave after creation.
 */
#include <stdlib.h>
#include <string.h>

#include "../notify/notify.h"
#include "internal.h"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

static json_t *events_json(const char *csv)
{
    json_t *a = json_array();
    for (const char *p = csv; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        p += n + (e ? 1 : 0);
    }
    return a;
}

static json_t *webhook_json(const store_webhook *w)
{
    char shown[1100];
    notify_url_display(w, shown, sizeof shown);
    return json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:s,s:b,s:o,s:o}", "id", (json_int_t)w->id, "name",
                     w->name, "url", shown, "events", events_json(w->events), "group_id",
                     w->group_id ? json_integer(w->group_id) : json_null(), "preset", w->preset,
                     "chat_id", w->chat_id, "enabled", w->enabled != 0, "created_at",
                     http_time_json(w->created_ms), "updated_at", http_time_json(w->updated_ms));
}

/* Fill w from the body's fields (create: url and events required). Returns
 * false after answering 400. */
static bool webhook_fields(http_req *r, json_t *b, store_webhook *w, bool create)
{
    static const char *const presets[] = {"generic", "slack", "telegram", NULL};
    const char *s;
    bool here;
    if (!http_field_str(r, b, "name", false, sizeof w->name - 1, &s, &here)) return false;
    if (here) http_copy(w->name, sizeof w->name, s);
    if (!http_field_str(r, b, "url", create, sizeof w->url - 1, &s, &here)) return false;
    if (here && strstr(s, "…")) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'url' is the shortened URL the API shows; send the full URL, or "
                         "leave the field out to keep the stored one");
        return false;
    }
    if (here) http_copy(w->url, sizeof w->url, s);
    if (!http_field_enum(r, b, "preset", false, presets, &s, &here)) return false;
    if (here) http_copy(w->preset, sizeof w->preset, s);
    if (!http_field_str(r, b, "chat_id", false, sizeof w->chat_id - 1, &s, &here)) return false;
    if (here) http_copy(w->chat_id, sizeof w->chat_id, s);
    if (!http_field_str(r, b, "secret", false, sizeof w->secret - 1, &s, &here)) return false;
    if (here) {
        if (strlen(s) < 16) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'secret' must be at least 16 characters (or leave it out to "
                             "have one made)");
            return false;
        }
        http_copy(w->secret, sizeof w->secret, s);
    }
    bool on = true;
    if (!http_field_bool(r, b, "enabled", false, &on, &here)) return false;
    if (here || create) w->enabled = on;
    json_t *g = json_object_get(b, "group_id");
    if (json_is_null(g)) {
        w->group_id = 0;
    } else if (g) {
        if (!http_field_int(r, b, "group_id", false, 1, INT64_MAX, &w->group_id, NULL))
            return false;
    }
    json_t *ev = json_object_get(b, "events");
    if (!ev && create) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                         "field 'events' is required (some of " STORE_WEBHOOK_KINDS ")");
        return false;
    }
    if (ev) {
        if (!json_is_array(ev) || json_array_size(ev) == 0) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'events' must be a non-empty array of " STORE_WEBHOOK_KINDS);
            return false;
        }
        size_t i, len = 0;
        json_t *e;
        w->events[0] = 0;
        json_array_foreach(ev, i, e)
        {
            const char *k = json_string_value(e);
            size_t n = k ? strlen(k) : 0;
            if (!k || !n || strchr(k, ',') || len + n + 2 > sizeof w->events) {
                http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                 "field 'events' must list some of " STORE_WEBHOOK_KINDS);
                return false;
            }
            if (len) w->events[len++] = ',';
            memcpy(w->events + len, k, n + 1);
            len += n;
        }
    }
    return true;
}

static json_t *audit_detail(const store_webhook *w)
{
    char shown[1100];
    notify_url_display(w, shown, sizeof shown);
    return json_pack("{s:s,s:s,s:s,s:b}", "name", w->name, "url", shown, "events", w->events,
                     "enabled", w->enabled != 0);
}

enum MHD_Result http_h_webhooks_list(http_req *r)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_webhook *ws = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_webhook_list(db(r), &ws, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++)
        json_array_append_new(items, webhook_json(&ws[i]));
    free(ws);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)n));
}

enum MHD_Result http_h_webhooks_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    store_webhook w = {.enabled = 1};
    enum MHD_Result res = MHD_YES;
    if (!webhook_fields(r, b, &w, true)) goto out;
    if (!w.secret[0]) {
        char hex[65];
        http_random_hex(hex, 32);
        snprintf(w.secret, sizeof w.secret, "whsec_%s", hex);
    }
    rc_error err;
    rc_status st = store_webhook_create(db(r), &w, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "webhook.create", "webhook", w.id, audit_detail(&w));
    json_t *j = webhook_json(&w);
    json_object_set_new(j, "secret", json_string(w.secret));
    res = http_reply_json(r, MHD_HTTP_CREATED, j);
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_webhooks_get(http_req *r)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    store_webhook w;
    rc_error err;
    rc_status st = store_webhook_get(db(r), id, &w, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_json(r, MHD_HTTP_OK, webhook_json(&w));
}

enum MHD_Result http_h_webhooks_patch(http_req *r)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    store_webhook w;
    rc_error err;
    rc_status st = store_webhook_get(db(r), id, &w, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    if (!webhook_fields(r, b, &w, false)) goto out;
    st = store_webhook_update(db(r), &w, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "webhook.update", "webhook", w.id, audit_detail(&w));
    res = http_reply_json(r, MHD_HTTP_OK, webhook_json(&w));
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_webhooks_delete(http_req *r)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    rc_error err;
    rc_status st = store_webhook_delete(db(r), id, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "webhook.delete", "webhook", id, NULL);
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result http_h_webhooks_test(http_req *r)
{
    int64_t id, delivery = 0;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    rc_error err;
    rc_status st = notify_test(db(r), id, &delivery, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    notify_wake(r->srv->cfg.notify);
    return http_reply_json(r, MHD_HTTP_ACCEPTED,
                           json_pack("{s:I}", "delivery_id", (json_int_t)delivery));
}

static json_t *delivery_json(const store_delivery *d)
{
    json_t *payload = json_loads(d->payload, 0, NULL);
    return json_pack("{s:I,s:I,s:s,s:o,s:s,s:i,s:o,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)d->id,
                     "webhook_id", (json_int_t)d->webhook_id, "kind", d->kind, "event_id",
                     d->event_id ? json_integer(d->event_id) : json_null(), "status", d->status,
                     "attempts", d->attempts, "last_http",
                     d->last_http ? json_integer(d->last_http) : json_null(), "last_error",
                     d->last_error, "next_attempt_at",
                     strcmp(d->status, "pending") == 0 ? http_time_json(d->next_ms) : json_null(),
                     "created_at", http_time_json(d->created_ms), "updated_at",
                     http_time_json(d->updated_ms), "payload", payload ? payload : json_object());
}

enum MHD_Result http_h_webhook_deliveries(http_req *r)
{
    int64_t id, limit, offset;
    if (!http_param_id(r, "id", &id) || !http_query_page(r, &limit, &offset)) return MHD_YES;
    store_webhook w;
    rc_error err;
    rc_status st = store_webhook_get(db(r), id, &w, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    store_delivery *ds = NULL;
    size_t n = 0;
    int64_t total = 0;
    st = store_delivery_list(db(r), id, (store_page){limit, offset}, &ds, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, delivery_json(&ds[i]));
    free(ds);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

enum MHD_Result http_h_webhook_redeliver(http_req *r)
{
    int64_t id, delivery;
    if (!http_param_id(r, "id", &id) || !http_param_id(r, "delivery_id", &delivery)) return MHD_YES;
    rc_error err;
    rc_status st = store_delivery_retry(db(r), id, delivery, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    store_delivery d;
    st = store_delivery_get(db(r), delivery, &d, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "webhook.redeliver", "webhook", id,
               json_pack("{s:I}", "delivery_id", (json_int_t)delivery));
    notify_wake(r->srv->cfg.notify);
    return http_reply_json(r, MHD_HTTP_ACCEPTED, delivery_json(&d));
}
