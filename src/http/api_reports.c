/*
 * api_reports.c — the figures a school reads: the absentee list of a day
 * ("who is missing now": slots whose start + grace passed without an entry,
 * as JSON or as the attendance CSV of those rows only) and the report per
 * group and per subject (the schedule label) over a date range, with a
 * summary per person, per group and per day. The report itself is built by
 * src/attendance (api_attendance.c's http_report_for reads the query and
 * applies a limited manager's groups); the per-day figures count people and
 * are the same ones the dashboard shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

json_t *http_person_summary_json(const att_person_summary *p)
{
    int judged = p->present + p->absent;
    /* time_on_site_s = time_in_slots_s + time_outside_slots_s (by day: the
     * stays' time outside every slot, overtime candidates). */
    json_t *j = json_pack(
        "{s:I,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:o,s:I,s:I,s:I,s:i,s:o}", "person_id",
        (json_int_t)p->person_id, "name", p->name, "external_id", p->external_id, "slots", p->slots,
        "present", p->present, "late", p->late, "early_leave", p->early_leave, "absent", p->absent,
        "first_entry", http_time_json(p->first_entry_ms), "last_exit",
        http_time_json(p->last_exit_ms), "time_on_site_s", (json_int_t)(p->on_site_ms / 1000),
        "time_in_slots_s", (json_int_t)(p->on_site_ms / 1000 - p->outside_ms / 1000),
        "time_outside_slots_s", (json_int_t)(p->outside_ms / 1000), "missing_exits",
        p->missing_exits, "rate", judged ? json_real((double)p->present / judged) : json_null());
    /* Slots on leave (not present): apart from absences and the rate. */
    json_t *kinds = json_object();
    for (int k = 0; k < STORE_LEAVE_KINDS; k++)
        json_object_set_new(kinds, store_leave_kinds[k], json_integer(p->leave_by_kind[k]));
    json_object_set_new(j, "leave", json_integer(p->leave));
    json_object_set_new(j, "leave_by_kind", kinds);
    /* What payroll reads (att.h, att_row): whole minutes. */
    json_object_set_new(j, "minutes_late", json_integer(p->minutes_late));
    json_object_set_new(j, "minutes_early_leave", json_integer(p->minutes_early_leave));
    json_object_set_new(j, "overtime_minutes", json_integer(p->overtime_ms / 60000));
    return j;
}

json_t *http_report_totals_json(const att_report *rep)
{
    json_int_t late = 0, early = 0, overtime = 0;
    for (size_t i = 0; i < rep->npeople; i++) {
        late += rep->people[i].minutes_late;
        early += rep->people[i].minutes_early_leave;
        overtime += rep->people[i].overtime_ms / 60000;
    }
    return json_pack("{s:I,s:I,s:I}", "minutes_late", late, "minutes_early_leave", early,
                     "overtime_minutes", overtime);
}

json_t *http_day_json(const att_day *d)
{
    return json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:o}", "date", d->day, "expected",
                     d->expected, "present", d->present, "late", d->late, "early_leave",
                     d->early_leave, "absent", d->absent, "pending", d->pending, "leave", d->leave,
                     "rate", d->rate >= 0 ? json_real(d->rate) : json_null());
}

bool http_days_json(http_req *r, const att_report *rep, json_t **out)
{
    att_day *days = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = att_report_days(rep, &days, &n, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    *out = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(*out, http_day_json(&days[i]));
    free(days);
    return true;
}

/* The name of group id (from the report's groups, else the store); "" when none. */
static void group_name(http_req *r, const att_report *rep, int64_t id, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!id) return;
    for (size_t i = 0; i < rep->ngroups; i++)
        if (rep->groups[i].group_id == id) {
            http_copy(buf, cap, rep->groups[i].name);
            return;
        }
    store_group g;
    if (store_group_get(r->srv->cfg.store, id, &g, NULL) == RC_OK) http_copy(buf, cap, g.name);
}

enum MHD_Result http_h_absentees(http_req *r)
{
    const char *format = http_query(r, "format");
    if (!format || !*format) format = "json";
    bool csv = strcmp(format, "csv") == 0;
    if (!csv && strcmp(format, "json") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                "query parameter 'format' must be json or csv");
    const char *day = http_query(r, "day");
    if (day && *day) {
        int64_t d;
        if (strlen(day) != 10 || att_parse_day(day, &d))
            return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                    "query parameter 'day' must be a date YYYY-MM-DD");
    } else {
        day = NULL;
    }
    att_report rep;
    if (!http_report_for(r, 0, day, &rep)) return MHD_YES;
    att_report_keep_absent(&rep, NULL);
    if (csv) {
        char *data = NULL;
        size_t len = 0;
        rc_error err;
        FILE *f = open_memstream(&data, &len);
        rc_status st =
            f ? http_report_csv(r, &rep, f, &err) : rc_fail(&err, RC_ERR_NOMEM, "out of memory");
        if (f) fclose(f);
        char name[96];
        snprintf(name, sizeof name, "attachment; filename=\"%s-%s.csv\"",
                 http_export_word(r, "absentees", "ausentes"), rep.from_day);
        att_report_free(&rep);
        if (st != RC_OK) {
            free(data);
            return http_reply_rc(r, st, &err);
        }
        struct MHD_Response *resp = http_owned_response(data, len, "text/csv; charset=utf-8");
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Disposition", name);
        return http_reply_response(r, MHD_HTTP_OK, resp);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < rep.nrows; i++) {
        const att_row *row = &rep.rows[i];
        char gname[128];
        group_name(r, &rep, row->group_id, gname, sizeof gname);
        json_array_append_new(
            items,
            json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:o}", "person_id",
                      (json_int_t)row->person_id, "name", row->name, "external_id",
                      row->external_id, "date", row->day, "group_id",
                      row->group_id ? json_integer(row->group_id) : json_null(), "group_name",
                      row->group_id ? json_string(gname) : json_null(), "label", row->label,
                      "start", http_time_json(row->start_ms), "end", http_time_json(row->end_ms)));
    }
    json_t *body = json_pack("{s:s,s:o,s:I}", "date", rep.from_day, "items", items, "total",
                             (json_int_t)rep.nrows);
    att_report_free(&rep);
    return http_reply_json(r, MHD_HTTP_OK, body);
}

enum MHD_Result http_h_report_groups(http_req *r)
{
    att_report rep;
    if (!http_report_for(r, 0, NULL, &rep)) return MHD_YES;
    json_t *days;
    if (!http_days_json(r, &rep, &days)) {
        att_report_free(&rep);
        return MHD_YES;
    }
    json_t *people = json_array();
    for (size_t i = 0; i < rep.npeople; i++)
        if (rep.people[i].slots > 0)
            json_array_append_new(people, http_person_summary_json(&rep.people[i]));
    json_t *groups = json_array();
    for (size_t i = 0; i < rep.ngroups; i++) {
        const att_group_summary *g = &rep.groups[i];
        if (!g->slots) continue;
        json_array_append_new(
            groups,
            json_pack("{s:I,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:o}", "group_id",
                      (json_int_t)g->group_id, "name", g->name, "members", g->members, "slots",
                      g->slots, "present", g->present, "late", g->late, "early_leave",
                      g->early_leave, "absent", g->absent, "leave", g->leave, "rate",
                      g->present + g->absent ? json_real(g->present_rate) : json_null()));
    }
    const char *label = http_query(r, "label");
    json_t *body = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "from", rep.from_day, "to",
                             rep.to_day, "timezone", rep.timezone, "label",
                             label && *label ? json_string(label) : json_null(), "people", people,
                             "groups", groups, "days", days);
    json_object_set_new(body, "totals", http_report_totals_json(&rep));
    att_report_free(&rep);
    return http_reply_json(r, MHD_HTTP_OK, body);
}
