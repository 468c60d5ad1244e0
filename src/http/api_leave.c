/*
 * api_leave.c — personal leave and justified absences: a sick day, a week of
 * vacation, a doctor's note. Managers and admins list, add and delete a
 * person's leaves (scoped like every person route: a person outside a
 * limited manager's groups answers as an unknown id) and list everyone's
 * over a date range for reports; a member reads their own (api_self.c).
 * The report engine (src/attendance) turns a leave day's slots into
 * "leave" instead of absences.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LEAVE_RANGE_MAX 366 /* days after the first */

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

json_t *http_leave_json(store *s, const store_leave *l)
{
    char by[128];
    att_actor_name(s, l->created_by, by, sizeof by);
    int64_t d0 = 0, d1 = 0;
    att_parse_day(l->from_day, &d0);
    att_parse_day(l->to_day, &d1);
    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "id", (json_int_t)l->id, "person_id",
                     (json_int_t)l->person_id, "kind", l->kind, "from", l->from_day, "to",
                     l->to_day, "days", (json_int_t)(d1 - d0 + 1), "note", l->note, "created_by",
                     by, "created_at", http_time_json(l->created_ms));
}

/* Query from/to (YYYY-MM-DD, each optional; at most LEAVE_RANGE_MAX days
 * apart when both given); false after answering 400. */
static bool leave_range(http_req *r, const char **from, const char **to)
{
    int64_t d0 = 0, d1 = 0;
    const char *keys[2] = {"from", "to"};
    const char **out[2] = {from, to};
    int64_t *days[2] = {&d0, &d1};
    for (int i = 0; i < 2; i++) {
        const char *v = http_query(r, keys[i]);
        *out[i] = NULL;
        if (!v || !*v) continue;
        if (strlen(v) != 10 || att_parse_day(v, days[i]) != 0) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                             "query parameter '%s' must be a date YYYY-MM-DD", keys[i]);
            return false;
        }
        *out[i] = v;
    }
    if (*from && *to && (d1 < d0 || d1 - d0 > LEAVE_RANGE_MAX)) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                           json_pack("{s:s,s:i}", "field", "to", "max", LEAVE_RANGE_MAX),
                           "query parameter 'to' must be a day from 'from' to %d days after it",
                           LEAVE_RANGE_MAX);
        return false;
    }
    return true;
}

static enum MHD_Result reply_leaves(http_req *r, store_leave *ls, size_t n, bool named)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *j = http_leave_json(db(r), &ls[i]);
        store_person p;
        if (named && store_person_get(db(r), ls[i].person_id, &p, NULL) == RC_OK) {
            json_object_set_new(j, "name", json_string(p.name));
            json_object_set_new(j, "external_id", json_string(p.external_id));
        }
        json_array_append_new(items, j);
    }
    free(ls);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)n));
}

enum MHD_Result http_h_person_leaves_list(http_req *r)
{
    store_person p;
    const char *from, *to;
    if (!http_load_person(r, "id", &p) || !leave_range(r, &from, &to)) return MHD_YES;
    store_leave *ls = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_leave_list(db(r), p.id, from, to, &ls, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return reply_leaves(r, ls, n, false);
}

enum MHD_Result http_h_person_leaves_create(http_req *r)
{
    static const char *const kinds[] = {"sick", "vacation", "personal", "justified", "other", NULL};
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    const char *kind, *from, *to = "", *note = "";
    bool has_to = false;
    int64_t first, last;
    if (!http_field_enum(r, b, "kind", true, kinds, &kind, NULL) ||
        !http_field_str(r, b, "from", true, 10, &from, NULL) ||
        !http_field_str(r, b, "to", false, 10, &to, &has_to) ||
        !http_field_str(r, b, "note", false, STORE_LEAVE_NOTE_MAX, &note, NULL))
        goto out;
    if (!http_day_range(r, "from", from, has_to ? to : NULL, LEAVE_RANGE_MAX, &first, &last))
        goto out;
    if (!has_to || !*to) to = from;
    store_leave l = {.person_id = p.id};
    http_copy(l.kind, sizeof l.kind, kind);
    http_copy(l.from_day, sizeof l.from_day, from);
    http_copy(l.to_day, sizeof l.to_day, to);
    http_copy(l.note, sizeof l.note, note);
    http_copy(l.created_by, sizeof l.created_by, http_actor(r));
    rc_error err;
    rc_status st = store_leave_add(db(r), &l, &err);
    if (st == RC_ERR_CONFLICT) {
        res = http_reply_error(r, MHD_HTTP_CONFLICT, "leave_overlap", "%s", err.msg);
        goto out;
    }
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    /* target person: erasing the person redacts the detail with the rest. */
    http_audit(r, "leave.add", "person", p.id,
               json_pack("{s:I,s:s,s:s,s:s}", "leave_id", (json_int_t)l.id, "kind", l.kind, "from",
                         l.from_day, "to", l.to_day));
    res = http_reply_json(r, MHD_HTTP_CREATED, http_leave_json(db(r), &l));
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_person_leaves_delete(http_req *r)
{
    store_person p;
    int64_t id;
    if (!http_load_person(r, "id", &p) || !http_param_id(r, "leave_id", &id)) return MHD_YES;
    store_leave l;
    rc_error err;
    rc_status st = store_leave_delete(db(r), p.id, id, &l, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "leave.delete", "person", p.id,
               json_pack("{s:I,s:s,s:s,s:s}", "leave_id", (json_int_t)l.id, "kind", l.kind, "from",
                         l.from_day, "to", l.to_day));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* Everyone's leaves over a range (default: today), for reports; a group's
 * members only with group_id; a limited manager's people only. */
enum MHD_Result http_h_leaves_list(http_req *r)
{
    const char *from, *to;
    int64_t group_id;
    if (!leave_range(r, &from, &to) || !http_query_int(r, "group_id", 0, 0, INT64_MAX, &group_id) ||
        (group_id && !http_require_group(r, group_id)))
        return MHD_YES;
    /* As the reports read them: neither given is today, one alone that day. */
    char today[11];
    http_days_or_today(r, &from, &to, today);
    int64_t *scope = NULL, *members = NULL;
    size_t nscope = 0, nmembers = 0;
    bool scoped = http_scope_persons(r, &scope, &nscope);
    store_leave *ls = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_leave_list(db(r), 0, from, to, &ls, &n, &err);
    if (st == RC_OK && group_id) {
        st = store_group_members(db(r), group_id, &members, &nmembers, &err);
        if (st == RC_OK && nmembers) qsort(members, nmembers, sizeof *members, rc_cmp_i64);
    }
    if (st != RC_OK) {
        free(scope);
        free(members);
        free(ls);
        return http_reply_rc(r, st, &err);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (scoped && !rc_sorted_has(scope, nscope, ls[i].person_id)) continue;
        if (group_id && !rc_sorted_has(members, nmembers, ls[i].person_id)) continue;
        ls[k++] = ls[i];
    }
    free(scope);
    free(members);
    return reply_leaves(r, ls, k, true);
}
