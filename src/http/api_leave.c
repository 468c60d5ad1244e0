/*
 * api_leave.c — personal leave and justified absences: a sick day, a week of
 * vacation, a doctor's appointment (part of one day). Managers and admins
 * list, add, edit and delete a person's leaves (scoped like every person
 * route: a person outside a limited manager's groups answers as an unknown
 * id) and list everyone's over a date range for reports; a member reads
 * their own (api_self.c). The report engine (src/attendance) turns the
 * slots a leave covers into "leave" instead of absences.
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
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "id", (json_int_t)l->id,
                          "person_id", (json_int_t)l->person_id, "kind", l->kind, "from",
                          l->from_day, "to", l->to_day, "days", (json_int_t)(d1 - d0 + 1), "note",
                          l->note, "created_by", by, "created_at", http_time_json(l->created_ms));
    /* Part of the day: local minutes [from_min, to_min); null, the whole day. */
    json_object_set_new(j, "from_min", l->to_min ? json_integer(l->from_min) : json_null());
    json_object_set_new(j, "to_min", l->to_min ? json_integer(l->to_min) : json_null());
    return j;
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

/* Body fields kind, from, to, note, from_min and to_min onto l (create:
 * kind and from required, to defaults to from; a PATCH changes what it
 * names, and null minutes make it the whole day again). False after
 * answering 400. */
static bool leave_fields(http_req *r, json_t *b, store_leave *l, bool create)
{
    static const char *const kinds[] = {"sick", "vacation", "personal", "justified", "other", NULL};
    char had_from[11], had_to[11]; /* l's, apart: copied back into l below */
    memcpy(had_from, l->from_day, sizeof had_from);
    memcpy(had_to, l->to_day, sizeof had_to);
    const char *kind, *from = had_from, *to = "", *note;
    bool has_kind, has_from, has_to, has_note, has_fm = false, has_tm = false;
    int64_t first, last, fm = 0, tm = 0;
    json_t *jf = json_object_get(b, "from_min"), *jt = json_object_get(b, "to_min");
    bool clear = json_is_null(jf) && json_is_null(jt);
    if (!http_field_enum(r, b, "kind", create, kinds, &kind, &has_kind) ||
        !http_field_str(r, b, "from", create, 10, &from, &has_from) ||
        !http_field_str(r, b, "to", false, 10, &to, &has_to) ||
        !http_field_str(r, b, "note", false, STORE_LEAVE_NOTE_MAX, &note, &has_note) ||
        (!clear && (!http_field_int(r, b, "from_min", false, 0, 1439, &fm, &has_fm) ||
                    !http_field_int(r, b, "to_min", false, 1, 1440, &tm, &has_tm))))
        return false;
    if (has_fm != has_tm) {
        const char *given = has_fm ? "from_min" : "to_min", *lack = has_fm ? "to_min" : "from_min";
        http_reply_error_p(
            r, MHD_HTTP_BAD_REQUEST, "missing_field", json_pack("{s:s}", "field", lack),
            "field '%s' is required with '%s' (part of a day: both, or neither)", lack, given);
        return false;
    }
    /* No last day: the first, or in a PATCH the one it had (but a one-day
     * leave moved to another day stays one day). */
    if (!has_to || !*to)
        to = create || has_to || (has_from && !strcmp(had_from, had_to)) ? from : had_to;
    if (!http_day_range(r, "from", from, to, LEAVE_RANGE_MAX, &first, &last)) return false;
    if (has_kind) http_copy(l->kind, sizeof l->kind, kind);
    http_copy(l->from_day, sizeof l->from_day, from);
    http_copy(l->to_day, sizeof l->to_day, to);
    if (has_note) http_copy(l->note, sizeof l->note, note);
    if (clear) l->from_min = l->to_min = 0;
    if (has_fm) {
        l->from_min = (int)fm;
        l->to_min = (int)tm;
    }
    if (l->to_min && l->to_min <= l->from_min) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "to_min"),
                           "field 'to_min' (%d) must be after 'from_min' (%d): part of a day "
                           "ends after it starts",
                           l->to_min, l->from_min);
        return false;
    }
    if (l->to_min && first != last) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "to_min"),
                           "fields 'from_min' and 'to_min' are part of one day: 'to' must be "
                           "'from' (or left out), or the minutes null");
        return false;
    }
    return true;
}

/* A leave that could not be added or changed: 409 leave_overlap naming the
 * other leave, or the store's error. */
static enum MHD_Result write_failed(http_req *r, rc_status st, rc_error *err)
{
    if (st == RC_ERR_CONFLICT)
        return http_reply_error(r, MHD_HTTP_CONFLICT, "leave_overlap", "%s", err->msg);
    return http_reply_rc(r, st, err);
}

/* The audit's view of a leave (the note stays out: it may be medical). */
static json_t *leave_audit(const store_leave *l)
{
    json_t *j = json_pack("{s:s,s:s,s:s}", "kind", l->kind, "from", l->from_day, "to", l->to_day);
    if (l->to_min) {
        json_object_set_new(j, "from_min", json_integer(l->from_min));
        json_object_set_new(j, "to_min", json_integer(l->to_min));
    }
    return j;
}

enum MHD_Result http_h_person_leaves_create(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    store_leave l = {.person_id = p.id};
    if (!leave_fields(r, b, &l, true)) goto out;
    http_copy(l.created_by, sizeof l.created_by, http_actor(r));
    rc_error err;
    rc_status st = store_leave_add(db(r), &l, &err);
    if (st != RC_OK) {
        res = write_failed(r, st, &err);
        goto out;
    }
    /* target person: erasing the person redacts the detail with the rest. */
    json_t *detail = leave_audit(&l);
    json_object_set_new(detail, "leave_id", json_integer(l.id));
    http_audit(r, "leave.add", "person", p.id, detail);
    res = http_reply_json(r, MHD_HTTP_CREATED, http_leave_json(db(r), &l));
out:
    json_decref(b);
    return res;
}

/* Change a leave in place (what the body names); who created it stays.
 * Audited with the leave before and after. */
enum MHD_Result http_h_person_leaves_patch(http_req *r)
{
    store_person p;
    int64_t id;
    if (!http_load_person(r, "id", &p) || !http_param_id(r, "leave_id", &id)) return MHD_YES;
    store_leave l, was;
    rc_error err;
    rc_status st = store_leave_get(db(r), p.id, id, &l, &err); /* the fields not sent */
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    if (!leave_fields(r, b, &l, false)) goto out;
    st = store_leave_update(db(r), &l, &was, &err);
    if (st != RC_OK) {
        res = write_failed(r, st, &err);
        goto out;
    }
    http_audit(r, "leave.update", "person", p.id,
               json_pack("{s:I,s:o,s:o,s:b}", "leave_id", (json_int_t)l.id, "before",
                         leave_audit(&was), "after", leave_audit(&l), "note_changed",
                         strcmp(was.note, l.note) != 0));
    res = http_reply_json(r, MHD_HTTP_OK, http_leave_json(db(r), &l));
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
    json_t *detail = leave_audit(&l);
    json_object_set_new(detail, "leave_id", json_integer(l.id));
    http_audit(r, "leave.delete", "person", p.id, detail);
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
