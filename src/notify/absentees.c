/*
 * absentees.c — the absentee list sent to a group's managers once per slot:
 * after the slot's start + grace, who the attendance report counts absent in
 * it, queued in the webhook outbox as an "absentees" delivery with an
 * idempotency key, so that a server restarted during the slot (or a second
 * process sharing the database) does not send it again. serve calls
 * notify_absentees every few seconds; it builds a report only for a slot
 * whose deliveries are not queued yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attendance/att.h"
#include "notify.h"

/* The managers of group gid: active managers for every group or limited to
 * one that includes it; the active admins when there is none. */
static rc_status managers_json(store *s, int64_t gid, json_t *out, rc_error *err)
{
    store_user *u = NULL;
    size_t n = 0;
    rc_status st = store_user_list(s, (store_page){.limit = 10000}, &u, &n, NULL, err);
    for (int admins = 0; st == RC_OK && admins < 2 && json_array_size(out) == 0; admins++) {
        for (size_t i = 0; st == RC_OK && i < n; i++) {
            if (!u[i].active || strcmp(u[i].role, admins ? "admin" : "manager") != 0) continue;
            int in = !u[i].group_limited || admins;
            int64_t *g = NULL;
            size_t ng = 0;
            if (!in && (st = store_user_groups(s, u[i].id, &g, &ng, err)) == RC_OK)
                for (size_t k = 0; k < ng; k++) in |= g[k] == gid;
            free(g);
            if (in)
                json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:s}", "id",
                                                     (json_int_t)u[i].id, "name", u[i].name,
                                                     "email", u[i].email, "role", u[i].role));
        }
    }
    free(u);
    return st;
}

/* "HH:MM" of minutes after midnight (0..1440). */
static void clock_text(int min, char out[8])
{
    unsigned m = (unsigned)min % 1441;
    snprintf(out, 8, "%02u:%02u", m / 60, m % 60);
}

/* The payload's text, under STORE_PAYLOAD_MAX: absent people are dropped
 * from the end (with "truncated": true) until it fits; absent_count stays
 * the full count. Caller frees. */
static char *fit_payload(json_t *data)
{
    json_t *absent = json_object_get(data, "absent");
    for (;;) {
        char *text = json_dumps(data, JSON_COMPACT);
        if (!text || strlen(text) < STORE_PAYLOAD_MAX || json_array_size(absent) == 0) return text;
        free(text);
        json_array_remove(absent, json_array_size(absent) - 1);
        json_object_set_new(data, "truncated", json_true());
    }
}

/* Queue slot sc of group g on local day `days` if due and not queued yet. */
static rc_status slot_due(store *s, att *a, const store_group *g, const store_schedule *sc,
                          int64_t days, int64_t now_ms, int64_t *queued, rc_error *err)
{
    const att_tz *tz = att_zone(a);
    int64_t start = att_tz_utc(tz, days, sc->start_min);
    int64_t end = sc->end_min > sc->start_min ? att_tz_utc(tz, days, sc->end_min)
                                              : att_tz_utc(tz, days + 1, sc->end_min);
    if (now_ms < start + (int64_t)sc->grace_min * 60000 || now_ms >= end) return RC_OK;
    char ds[11], key[96];
    att_day_string(days, ds);
    snprintf(key, sizeof key, "absentees:%lld:%lld:%s", (long long)g->id, (long long)sc->id, ds);
    int64_t missing = 0;
    rc_status st = store_delivery_key_missing(s, "absentees", g->id, key, &missing, err);
    if (st != RC_OK || missing == 0) return st;

    att_query q = {.from_day = ds, .to_day = ds, .group_id = g->id, .now_ms = now_ms};
    att_report rep;
    st = att_report_build(a, &q, &rep, err);
    if (st != RC_OK) return st;
    json_t *absent = json_array(), *managers = json_array();
    int count = 0;
    for (size_t i = 0; i < rep.nrows; i++) {
        const att_row *row = &rep.rows[i];
        if (row->schedule_id != sc->id || !row->absent) continue;
        count++;
        json_array_append_new(absent,
                              json_pack("{s:I, s:s, s:s}", "person_id", (json_int_t)row->person_id,
                                        "external_id", row->external_id, "name", row->name));
    }
    att_report_free(&rep);
    st = managers_json(s, g->id, managers, err);
    char from[8], to[8];
    clock_text(sc->start_min, from);
    clock_text(sc->end_min, to);
    json_t *data =
        json_pack("{s:{s:I, s:s}, s:{s:I, s:s, s:s, s:s, s:s, s:i}, s:o, s:i, s:o, s:b, s:I}",
                  "group", "id", (json_int_t)g->id, "name", g->name, "slot", "schedule_id",
                  (json_int_t)sc->id, "label", sc->label, "day", ds, "start", from, "end", to,
                  "grace_min", sc->grace_min, "absent", absent, "absent_count", count, "managers",
                  managers, "truncated", 0, "ts_ms", (json_int_t)now_ms);
    char *payload = st == RC_OK && data ? fit_payload(data) : NULL;
    json_decref(data);
    if (st == RC_OK && !payload) st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    int64_t n = 0;
    if (st == RC_OK)
        st = store_delivery_enqueue_group(s, "absentees", g->id, key, payload, &n, err);
    free(payload);
    if (st == RC_OK && queued) *queued += n;
    return st;
}

rc_status notify_absentees(store *s, att *a, int64_t now_ms, int64_t *queued, rc_error *err)
{
    if (queued) *queued = 0;
    char all[8] = "";
    store_setting_get(s, "absentee_notify", all, sizeof all, NULL);
    int every_group = !strcmp(all, "1");
    att_local now;
    att_tz_local(att_zone(a), now_ms, &now);
    /* Today's slots, and yesterday's that run past midnight: a night
     * shift's start + grace may fall after it. Each day's own holiday. */
    int open[2] = {0, 0};
    rc_status st = RC_OK;
    for (int back = 0; back < 2 && st == RC_OK; back++) {
        char day[11];
        att_day_string(now.days - back, day);
        int off = 0;
        st = att_is_holiday(s, day, &off, err);
        open[back] = !off;
    }
    if (st != RC_OK || (!open[0] && !open[1])) return st;
    store_group *g = NULL;
    size_t ng = 0;
    st = store_group_list(s, (store_page){.limit = 10000}, &g, &ng, NULL, err);
    for (size_t i = 0; st == RC_OK && i < ng; i++) {
        if (!every_group && !g[i].notify_absentees) continue;
        store_schedule *sc = NULL;
        size_t nsc = 0;
        st = store_schedule_list(s, 0, g[i].id, &sc, &nsc, err);
        char today[11], yesterday[11];
        att_day_string(now.days, today);
        att_day_string(now.days - 1, yesterday);
        for (size_t k = 0; st == RC_OK && k < nsc; k++) {
            /* Each day's slots are those in force on it. */
            if (open[0] && sc[k].dow == now.wday && store_schedule_valid_on(&sc[k], today))
                st = slot_due(s, a, &g[i], &sc[k], now.days, now_ms, queued, err);
            else if (open[1] && sc[k].dow == (now.wday + 6) % 7 &&
                     sc[k].end_min <= sc[k].start_min && store_schedule_valid_on(&sc[k], yesterday))
                st = slot_due(s, a, &g[i], &sc[k], now.days - 1, now_ms, queued, err);
        }
        free(sc);
    }
    free(g);
    return st;
}
