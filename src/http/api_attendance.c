/*
 * api_attendance.c — attendance over REST: the event list with filters and
 * paging, manual events and corrections (through the attendance rules, so
 * slot and status are judged the same way as for a camera), CSV/XLSX export,
 * the per-person and per-day reports and the dashboard. Members see only the
 * person their account is linked to. New and corrected events are published
 * on the event stream.
 *
 * Dates in queries (`from`, `to`) are local days YYYY-MM-DD in the
 * institution's time zone, inclusive; a full ISO time is accepted for the
 * event list too. The store's status "outside" is "outside_schedule" here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

static const char *status_out(const char *s)
{
    return strcmp(s, "outside") == 0 ? "outside_schedule" : s;
}

/* Who last corrected or voided the event and when, or null: the actor as
 * the audit log names it ("user:3") and, for an account, its name (else
 * its e-mail), which is what the UI shows. */
static json_t *corrected_json(store *s, const store_event *e)
{
    if (!e->corrected_ms) return json_null();
    char by[256];
    att_actor_name(s, e->corrected_by, by, sizeof by);
    return json_pack("{s:o,s:s,s:s}", "at", http_time_json(e->corrected_ms), "actor",
                     e->corrected_by, "by", by);
}

json_t *http_event_json(store *s, const store_event *e)
{
    store_person p;
    bool have_p = store_person_get(s, e->person_id, &p, NULL) == RC_OK;
    store_camera c;
    bool have_c = e->camera_id && store_camera_get(s, e->camera_id, &c, NULL) == RC_OK;
    bool manual = strcmp(e->source, "manual") == 0;
    bool has_box = e->box[2] > 0 && e->box[3] > 0;
    json_t *j = json_pack(
        "{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:i,s:b,s:o,s:s}", "id",
        (json_int_t)e->id, "person_id", (json_int_t)e->person_id, "person_name",
        have_p ? p.name : "", "external_id", have_p ? p.external_id : "", "time",
        http_time_json(e->ts_ms), "type", e->kind, "status", status_out(e->status), "camera_id",
        e->camera_id ? json_integer(e->camera_id) : json_null(), "camera_name",
        have_c ? json_string(c.name) : json_null(), "confidence",
        manual ? json_null() : json_real(e->confidence), "box",
        has_box ? json_pack("{s:f,s:f,s:f,s:f}", "x", (double)e->box[0], "y", (double)e->box[1],
                            "w", (double)e->box[2], "h", (double)e->box[3])
                : json_null(),
        "liveness", e->liveness >= 0 && !manual ? json_real(e->liveness) : json_null(), "count",
        e->sightings, "manual", manual, "reason",
        e->reason[0] ? json_string(e->reason) : json_null(), "day", e->slot_day);
    json_object_set_new(j, "source", json_string(e->source));
    json_object_set_new(j, "voided_at", http_time_json(e->voided_ms));
    /* What "not this person" can undo: the enrolled face that matched best,
     * and whether the face as seen was kept (keep_unrecognized). */
    json_object_set_new(j, "face_id", e->face_id ? json_integer(e->face_id) : json_null());
    json_object_set_new(j, "has_probe", json_boolean(e->has_probe));
    json_object_set_new(j, "corrected", corrected_json(s, e));
    return j;
}

/* A local day "YYYY-MM-DD" from the query, or NULL; answers 400 on junk. */
static bool query_day(http_req *r, const char *key, const char **out)
{
    const char *v = http_query(r, key);
    *out = NULL;
    if (!v || !*v) return true;
    int64_t days;
    if (strlen(v) != 10 || att_parse_day(v, &days) != 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                         "query parameter '%s' must be a date YYYY-MM-DD", key);
        return false;
    }
    *out = v;
    return true;
}

/* A manager limited to groups filtering by a group or person outside them
 * (or unknown: the same to them): answers 403 and returns false. */
static bool scope_check(http_req *r, int64_t group_id, int64_t person_id)
{
    return (!group_id || http_require_group(r, group_id)) &&
           (!person_id || http_require_person(r, person_id));
}

/* Drop the people a limited manager may not see from a report (their
 * groups' slots and summaries alone were built: att_query's scope). */
static void scope_report(att_report *rep, const int64_t *ids, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < rep->nrows; i++)
        if (rc_sorted_has(ids, n, rep->rows[i].person_id)) rep->rows[k++] = rep->rows[i];
    rep->nrows = k;
    k = 0;
    for (size_t i = 0; i < rep->npeople; i++)
        if (rc_sorted_has(ids, n, rep->people[i].person_id)) rep->people[k++] = rep->people[i];
    rep->npeople = k;
}

/* Members may only ask about themselves. Returns false after answering
 * (403 for someone else, an empty list when the account has no person). */
static bool scope_person(http_req *r, int64_t *person_id)
{
    if (r->who.role != HTTP_MEMBER) return true;
    if (!r->who.person_id) { /* not linked to a person: there is nothing of theirs */
        http_reply_json(r, MHD_HTTP_OK, http_list(json_array(), 0));
        return false;
    }
    if (*person_id && *person_id != r->who.person_id) {
        http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                         "members may only see their own attendance");
        return false;
    }
    *person_id = r->who.person_id;
    return true;
}

enum MHD_Result http_h_attendance_list(http_req *r)
{
    int64_t limit, offset, person_id, group_id, camera_id;
    if (!http_query_page(r, &limit, &offset) ||
        !http_query_int(r, "person_id", 0, 0, INT64_MAX, &person_id) ||
        !http_query_int(r, "group_id", 0, 0, INT64_MAX, &group_id) ||
        !http_query_int(r, "camera_id", 0, 0, INT64_MAX, &camera_id) ||
        !scope_person(r, &person_id))
        return MHD_YES;
    store_event_filter f = {.person_id = person_id, .group_id = group_id, .camera_id = camera_id};
    const char *inc = http_query(r, "include_void");
    f.include_void = inc && (strcmp(inc, "true") == 0 || strcmp(inc, "1") == 0);
    const char *from = http_query(r, "from"), *to = http_query(r, "to");
    /* A day is a local day (slot day); a full time is an instant. */
    if (from && *from) {
        if (strlen(from) == 10) {
            if (!query_day(r, "from", &f.from_day)) return MHD_YES;
        } else if (!http_parse_time(from, &f.from_ms)) {
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                    "query parameter 'from' must be YYYY-MM-DD or an ISO time");
        }
    }
    if (to && *to) {
        if (strlen(to) == 10) {
            if (!query_day(r, "to", &f.to_day)) return MHD_YES;
        } else if (!http_parse_time(to, &f.to_ms)) {
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                    "query parameter 'to' must be YYYY-MM-DD or an ISO time");
        }
    }
    const char *type = http_query(r, "type");
    if (type && *type) {
        if (strcmp(type, "entry") != 0 && strcmp(type, "exit") != 0)
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                    "query parameter 'type' must be entry or exit");
        f.kind = type;
    }
    const char *status = http_query(r, "status");
    if (status && !*status) status = NULL;
    if (status && strcmp(status, "outside_schedule") == 0) status = "outside";
    if (status && strcmp(status, "on_time") != 0 && strcmp(status, "late") != 0 &&
        strcmp(status, "early_leave") != 0 && strcmp(status, "outside") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                "query parameter 'status' must be on_time, late, early_leave or "
                                "outside_schedule");
    if (!scope_check(r, group_id, person_id)) return MHD_YES;
    /* Status and a limited manager's groups are filtered by the database,
     * so paging and the total run over the whole table. */
    f.status = status;
    if (http_scope_limited(r)) f.scope_user_id = r->who.user_id;
    store_event *es = NULL;
    size_t n = 0;
    int64_t total = 0;
    rc_error err;
    rc_status st = store_event_list(db(r), &f, (store_page){limit, offset}, &es, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, http_event_json(db(r), &es[i]));
    free(es);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

void http_publish_event(http_server *srv, const store_event *e, bool is_new)
{
    json_t *j = http_event_json(srv->cfg.store, e);
    json_object_set_new(j, "new", json_boolean(is_new));
    http_hub_publish(srv->hub, "attendance", j);
    json_decref(j);
    rc_metrics_add(srv->metrics, "rollcall_attendance_events_total",
                   "attendance events created or updated", 1);
}

/* The time of a manual event or correction: ISO 8601 with a real UTC offset
 * (at most ±14:00) in the years 2000 to 2100, so a typo cannot file an event
 * in year 9999 or 0001. Answers 400 and returns false otherwise. */
bool http_event_time(http_req *r, const char *text, int64_t *ms)
{
    int y = 0, mo, d;
    if (!http_parse_time(text, ms) || !http_parse_date(text, &y, &mo, &d)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'time' must be an ISO 8601 time like 2026-11-21T08:01:00Z (UTC "
                         "offsets from -14:00 to +14:00)");
        return false;
    }
    /* The year of the instant, whatever the offset moved it to. */
    int64_t lo = 946684800000LL, hi = 4133980800000LL; /* 2000-01-01, 2101-01-01 UTC */
    if (*ms < lo || *ms >= hi) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'time' must be in the years 2000 to 2100 (got %.40s)", text);
        return false;
    }
    return true;
}

enum MHD_Result http_h_attendance_create(http_req *r)
{
    static const char *const kinds[] = {"entry", "exit", NULL};
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    int64_t pid, ts;
    const char *kind, *time_s, *reason;
    if (!http_field_int(r, b, "person_id", true, 1, INT64_MAX, &pid, NULL) ||
        !http_field_enum(r, b, "type", true, kinds, &kind, NULL) ||
        !http_field_str(r, b, "time", true, 40, &time_s, NULL) ||
        !http_field_str(r, b, "reason", true, 255, &reason, NULL))
        goto out;
    if (!http_event_time(r, time_s, &ts)) goto out;
    if (!*reason) {
        res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                               "field 'reason' must say why the event is entered by hand");
        goto out;
    }
    store_person p;
    /* One outside the caller's groups is as unknown to them. */
    if (store_person_get(db(r), pid, &p, NULL) != RC_OK || !http_scope_person(r, pid)) {
        res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                               "field 'person_id': there is no person %lld", (long long)pid);
        goto out;
    }
    store_event e;
    rc_error err;
    rc_status st = att_manual(r->srv->att, pid, ts, kind, reason, http_actor(r), &e, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_publish_event(r->srv, &e, true);
    res = http_reply_json(r, MHD_HTTP_CREATED, http_event_json(db(r), &e));
out:
    json_decref(b);
    return res;
}

bool http_load_event(http_req *r, store_event *e)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_event_get(db(r), id, e, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return http_scope_person(r, e->person_id) || http_reply_unknown(r, "event", e->id);
}

enum MHD_Result http_h_attendance_patch(http_req *r)
{
    static const char *const kinds[] = {"entry", "exit", NULL};
    static const char *const statuses[] = {"on_time", "late", "early_leave", "outside_schedule",
                                           NULL};
    store_event e;
    rc_error err;
    rc_status st;
    if (!http_load_event(r, &e)) return MHD_YES;
    int64_t id = e.id;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    const char *kind = NULL, *time_s, *status = NULL, *reason;
    bool has_time, has_status;
    int64_t ts = 0;
    if (!http_field_enum(r, b, "type", false, kinds, &kind, NULL) ||
        !http_field_str(r, b, "time", false, 40, &time_s, &has_time) ||
        !http_field_enum(r, b, "status", false, statuses, &status, &has_status) ||
        !http_field_str(r, b, "reason", true, 255, &reason, NULL))
        goto out;
    if (!*reason) {
        res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                               "field 'reason' must say why the event is corrected");
        goto out;
    }
    if (has_time && !http_event_time(r, time_s, &ts)) goto out;
    st = att_correct(r->srv->att, id, ts, kind, reason, http_actor(r), &e, &err);
    if (st == RC_OK && has_status) {
        /* An explicit status overrides the rules' judgement. */
        http_copy(e.status, sizeof e.status,
                  strcmp(status, "outside_schedule") == 0 ? "outside" : status);
        st = store_event_correct(db(r), &e, http_actor(r), &err);
        if (st == RC_OK) st = store_event_get(db(r), id, &e, &err);
    }
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_publish_event(r->srv, &e, false);
    res = http_reply_json(r, MHD_HTTP_OK, http_event_json(db(r), &e));
out:
    json_decref(b);
    return res;
}

/* The event named by the path, within the caller's scope, and the body's
 * non-empty reason; false after answering. The caller frees *body. */
static bool event_and_reason(http_req *r, store_event *e, json_t **body, const char **reason)
{
    if (!http_load_event(r, e) || !(*body = http_json_body(r))) return false;
    if (!http_field_str(r, *body, "reason", true, 255, reason, NULL)) return false;
    if (!**reason) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "reason_required",
                           json_pack("{s:s}", "field", "reason"),
                           "field 'reason' must say why the event is voided or deleted");
        return false;
    }
    return true;
}

/* Void (the event stays, marked, with its reason; rules and reports skip
 * it) or delete it for good (the audit log keeps its values and the reason). */
static enum MHD_Result void_or_delete(http_req *r, bool erase)
{
    store_event e;
    json_t *b = NULL;
    const char *reason;
    if (!event_and_reason(r, &e, &b, &reason)) {
        json_decref(b);
        return MHD_YES;
    }
    rc_error err;
    rc_status st = erase ? store_event_remove(db(r), e.id, http_actor(r), reason, &err)
                         : store_event_void(db(r), e.id, http_actor(r), reason, &err);
    if (st == RC_OK && !erase) st = store_event_get(db(r), e.id, &e, &err);
    json_decref(b);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (erase) return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
    http_publish_event(r->srv, &e, false);
    return http_reply_json(r, MHD_HTTP_OK, http_event_json(db(r), &e));
}

enum MHD_Result http_h_attendance_void(http_req *r)
{
    return void_or_delete(r, false);
}

enum MHD_Result http_h_attendance_delete(http_req *r)
{
    return void_or_delete(r, true);
}

/* The report for the query's from/to (default: today; `day` instead when
 * not NULL), group, subject (`label`) and person. */
bool http_report_for(http_req *r, int64_t person_id, const char *day, att_report *rep)
{
    const char *from, *to;
    int64_t group_id;
    if (!query_day(r, "from", &from) || !query_day(r, "to", &to) ||
        !http_query_int(r, "group_id", 0, 0, INT64_MAX, &group_id))
        return false;
    const char *label = http_query(r, "label");
    if (label && strlen(label) >= sizeof rep->rows[0].label) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                         "query parameter 'label' is longer than %zu bytes",
                         sizeof rep->rows[0].label - 1);
        return false;
    }
    if (day) from = to = day;
    char today[11];
    http_days_or_today(r, &from, &to, today);
    if (!scope_check(r, group_id, person_id)) return false;
    int64_t *scope = NULL;
    size_t nscope = 0;
    bool scoped = http_scope_persons(r, &scope, &nscope);
    att_query q = {.from_day = from,
                   .to_day = to,
                   .person_id = person_id,
                   .group_id = group_id,
                   .label = label,
                   .now_ms = rc_unix_ms(),
                   .scoped = scoped,
                   .groups = r->who.groups,
                   .ngroups = r->who.ngroups,
                   .persons = scope,
                   .npersons = nscope};
    rc_error err;
    rc_status st = att_report_build(r->srv->att, &q, rep, &err);
    if (st != RC_OK) {
        free(scope);
        http_reply_rc(r, st, &err);
        return false;
    }
    if (scoped) scope_report(rep, scope, nscope);
    free(scope);
    return true;
}

static bool build_report(http_req *r, int64_t person_id, att_report *rep)
{
    return http_report_for(r, person_id, NULL, rep);
}

const char *http_export_word(const http_req *r, const char *en, const char *es)
{
    const char *lang = http_query(r, "lang");
    return lang && strcmp(lang, "es") == 0 ? es : en;
}

rc_status http_report_csv(http_req *r, const att_report *rep, FILE *out, rc_error *err)
{
    /* The same lang/sep/bom query as the export (lang=es: ';' with a BOM). */
    att_export_opts opt;
    rc_status st = att_export_parse(http_query(r, "lang"), http_query(r, "sep"),
                                    http_query(r, "bom"), &opt, err);
    return st != RC_OK ? st : att_export_csv(rep, att_zone(r->srv->att), &opt, out, err);
}

enum MHD_Result http_h_export(http_req *r)
{
    const char *format = http_query(r, "format");
    if (!format || !*format) format = "csv";
    bool xlsx = strcmp(format, "xlsx") == 0;
    if (!xlsx && strcmp(format, "csv") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                "query parameter 'format' must be csv or xlsx");
    int64_t person_id;
    if (!http_query_int(r, "person_id", 0, 0, INT64_MAX, &person_id)) return MHD_YES;
    /* lang=es: Spanish headers and values, and for CSV ';' with a BOM (sep
     * and bom choose otherwise). */
    att_export_opts opt;
    rc_error err;
    if (att_export_parse(http_query(r, "lang"), http_query(r, "sep"), http_query(r, "bom"), &opt,
                         &err) != RC_OK)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                  json_pack("{s:s}", "field", "lang"), "%s", err.msg);
    att_report rep;
    if (!build_report(r, person_id, &rep)) return MHD_YES;
    rc_status st;
    char *data = NULL;
    size_t len = 0;
    if (xlsx) {
        char path[] = "/tmp/rollcall-export-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0) {
            att_report_free(&rep);
            return http_reply_error(r, 500, "internal", "cannot create a temporary file");
        }
        close(fd);
        st = att_export_xlsx(&rep, att_zone(r->srv->att), &opt, path, &err);
        if (st == RC_OK)
            st = rc_read_file(path, (size_t)1 << 30, (unsigned char **)&data, &len, &err);
        unlink(path);
    } else {
        FILE *f = open_memstream(&data, &len);
        st = f ? att_export_csv(&rep, att_zone(r->srv->att), &opt, f, &err)
               : rc_fail(&err, RC_ERR_NOMEM, "out of memory");
        if (f) fclose(f);
    }
    char name[128];
    snprintf(name, sizeof name, "attachment; filename=\"%s-%s-%s.%s\"",
             http_export_word(r, "attendance", "asistencia"), rep.from_day, rep.to_day,
             xlsx ? "xlsx" : "csv");
    att_report_free(&rep);
    if (st != RC_OK) {
        free(data);
        return http_reply_rc(r, st, &err);
    }
    struct MHD_Response *resp = http_owned_response(
        data, len,
        xlsx ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
             : "text/csv; charset=utf-8");
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Disposition", name);
    http_audit(r, "attendance.export", "attendance", 0,
               json_pack("{s:s,s:s}", "format", format, "lang", opt.lang));
    return http_reply_response(r, MHD_HTTP_OK, resp);
}

enum MHD_Result http_h_report_summary(http_req *r)
{
    int64_t person_id;
    if (!http_query_int(r, "person_id", 0, 0, INT64_MAX, &person_id) ||
        !scope_person(r, &person_id))
        return MHD_YES;
    att_report rep;
    if (!build_report(r, person_id, &rep)) return MHD_YES;
    json_t *items = json_array();
    for (size_t i = 0; i < rep.npeople; i++)
        json_array_append_new(items, http_person_summary_json(&rep.people[i]));
    json_t *body = json_pack("{s:o,s:s,s:s,s:s}", "items", items, "from", rep.from_day, "to",
                             rep.to_day, "timezone", rep.timezone);
    json_object_set_new(body, "totals", http_report_totals_json(&rep));
    att_report_free(&rep);
    return http_reply_json(r, MHD_HTTP_OK, body);
}

enum MHD_Result http_h_report_daily(http_req *r)
{
    att_report rep;
    if (!build_report(r, 0, &rep)) return MHD_YES;
    json_t *items;
    if (!http_days_json(r, &rep, &items)) {
        att_report_free(&rep);
        return MHD_YES;
    }
    json_t *body =
        json_pack("{s:o,s:s,s:s}", "items", items, "from", rep.from_day, "to", rep.to_day);
    att_report_free(&rep);
    return http_reply_json(r, MHD_HTTP_OK, body);
}

enum MHD_Result http_h_dashboard(http_req *r)
{
    att_report rep;
    if (!build_report(r, 0, &rep)) return MHD_YES;
    /* Today's cards are the daily chart's figures for today (att_report_days). */
    json_t *days;
    if (!http_days_json(r, &rep, &days)) {
        att_report_free(&rep);
        return MHD_YES;
    }
    att_day none = {.rate = -1};
    snprintf(none.day, sizeof none.day, "%s", rep.from_day);
    json_t *today = json_array_size(days)
                        ? json_incref(json_array_get(days, json_array_size(days) - 1))
                        : http_day_json(&none);
    json_decref(days);
    json_t *by_group = json_array();
    for (size_t i = 0; i < rep.ngroups; i++)
        json_array_append_new(by_group, json_pack("{s:I,s:s,s:i}", "group_id",
                                                  (json_int_t)rep.groups[i].group_id, "name",
                                                  rep.groups[i].name, "late", rep.groups[i].late));
    att_report_free(&rep);
    store_event *es = NULL;
    size_t n = 0;
    int64_t total = 0;
    json_t *recent = json_array();
    /* The newest ten (of the manager's groups): the list is oldest first, so
     * read its tail. */
    store_event_filter f = {.scope_user_id = http_scope_limited(r) ? r->who.user_id : 0};
    if (store_event_list(db(r), &f, (store_page){1, 0}, &es, &n, &total, NULL) == RC_OK) {
        free(es);
        es = NULL;
        int64_t off = total > 10 ? total - 10 : 0;
        if (store_event_list(db(r), &f, (store_page){10, off}, &es, &n, &total, NULL) == RC_OK)
            for (size_t i = n; i-- > 0;)
                json_array_append_new(recent, http_event_json(db(r), &es[i]));
    }
    free(es);
    return http_reply_json(
        r, MHD_HTTP_OK,
        json_pack("{s:o,s:o,s:o}", "today", today, "late_by_group", by_group, "recent", recent));
}
