/*
 * api_people.c — the institution's model over REST: persons (CRUD, search,
 * paging), groups and their members, schedules, holidays and cameras. Each
 * handler validates the JSON it is given field by field (a message names the
 * field and what it must be), calls the store, and answers in the shapes of
 * the API contract; changes leave an audit entry.
 *
 * A person's first and last names are kept apart by the store, which also
 * makes the display name ("first last") from them. Days of the week are ISO (Monday 1 .. Sunday 7)
 * here and 0 (Sunday) .. 6 in the store. A holiday's id is its date as the number YYYYMMDD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attendance/att.h"
#include "../store/store.h"
#include "internal.h"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

/* ---- local days (join dates) ------------------------------------------------ */

/* The local day of instant ms in the institution's zone, as JSON text. */
static json_t *local_day_json(http_req *r, int64_t ms)
{
    if (ms <= 0) return json_null();
    char ds[11];
    if (r->srv->att) {
        att_local l;
        att_tz_local(att_zone(r->srv->att), ms, &l);
        att_day_string(l.days, ds);
    } else {
        att_day_string(ms / 86400000, ds);
    }
    return json_string(ds);
}

/* Query parameter or field value `day` (YYYY-MM-DD) as the UTC instant of
 * its local midnight; false after answering 400 naming `what`. */
static bool local_day_ms(http_req *r, const char *what, const char *day, int64_t *ms)
{
    int64_t days;
    if (!day || strlen(day) != 10 || att_parse_day(day, &days)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "'%s' must be a date YYYY-MM-DD",
                         what);
        return false;
    }
    *ms = r->srv->att ? att_tz_utc(att_zone(r->srv->att), days, 0) : days * 86400000;
    return true;
}

/* ---- persons ------------------------------------------------------------ */

static const char *const person_kinds[] = {"student", "teacher", "employee", "other", NULL};

json_t *http_person_json(store *s, const store_person *p)
{
    store_face *faces = NULL;
    size_t nf = 0;
    store_face_list(s, p->id, &faces, &nf, NULL);
    free(faces);
    json_t *groups = json_array();
    int64_t *gids = NULL;
    size_t ng = 0;
    if (store_person_groups(s, p->id, &gids, &ng, NULL) == RC_OK) {
        for (size_t i = 0; i < ng; i++) {
            store_group g;
            if (store_group_get(s, gids[i], &g, NULL) == RC_OK)
                json_array_append_new(
                    groups, json_pack("{s:I,s:s}", "id", (json_int_t)g.id, "name", g.name));
        }
    }
    free(gids);
    char pin[256] = "";
    store_person_pin_get(s, p->id, pin, sizeof pin, NULL);
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:s,s:b,s:o,s:o,s:I,s:o,s:o,s:b}", "id",
                     (json_int_t)p->id, "external_id", p->external_id, "first_name", p->first_name,
                     "last_name", p->last_name, "name", p->name, "email",
                     p->email[0] ? json_string(p->email) : json_null(), "kind", p->kind, "active",
                     p->active != 0, "consent_at", http_time_json(p->consent_ms),
                     "consent_withdrawn_at", http_time_json(store_consent_withdrawn(p)),
                     "face_count", (json_int_t)nf, "groups", groups, "created_at",
                     http_time_json(p->created_ms), "pin_set", pin[0] != 0);
}

/* Add each membership's join day to the person's "groups" and when they
 * were archived. */
static void person_dates(http_req *r, json_t *j, const store_person *p)
{
    store_membership *m = NULL;
    size_t nm = 0;
    store_memberships(db(r), 0, p->id, &m, &nm, NULL);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(j, "groups"), i, g)
    {
        json_int_t gid = json_integer_value(json_object_get(g, "id"));
        for (size_t k = 0; k < nm; k++)
            if (m[k].group_id == gid)
                json_object_set_new(g, "joined_on", local_day_json(r, m[k].joined_ms));
    }
    free(m);
    json_object_set_new(j, "archived_at", http_time_json(p->archived_ms));
}

/* A person as this caller may see them: a limited manager is not told the
 * names of the person's other groups. */
static json_t *person_json(http_req *r, const store_person *p)
{
    json_t *j = http_person_json(db(r), p);
    person_dates(r, j, p);
    if (!http_scope_limited(r)) return j;
    json_t *groups = json_object_get(j, "groups"), *kept = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        if (http_scope_group(r, json_integer_value(json_object_get(g, "id"))))
            json_array_append(kept, g);
    }
    json_object_set_new(j, "groups", kept);
    return j;
}

/* Read the person fields of `b` into p; `create` makes the contract's
 * required fields required. */
static bool person_fields(http_req *r, json_t *b, store_person *p, bool create)
{
    const char *ext, *first, *last, *email, *kind, *consent;
    bool has_ext, has_first, has_last, has_email, has_kind, has_active, has_consent, active;
    if (!http_field_str(r, b, "external_id", create, 63, &ext, &has_ext) ||
        !http_field_str(r, b, "first_name", create, 63, &first, &has_first) ||
        !http_field_str(r, b, "last_name", create, 63, &last, &has_last) ||
        !http_field_enum(r, b, "kind", create, person_kinds, &kind, &has_kind) ||
        !http_field_bool(r, b, "active", false, &active, &has_active))
        return false;
    if (has_ext && !*ext) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'external_id' must not be empty");
        return false;
    }
    if (has_ext) http_copy(p->external_id, sizeof p->external_id, ext);
    if (has_first && !*first) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'first_name' must not be empty");
        return false;
    }
    /* The store keeps both and makes the display name from them. */
    if (has_first) http_copy(p->first_name, sizeof p->first_name, first);
    if (has_last) http_copy(p->last_name, sizeof p->last_name, last);
    json_t *ej = json_object_get(b, "email");
    if (json_is_null(ej)) {
        p->email[0] = 0;
    } else {
        if (!http_field_str(r, b, "email", false, 254, &email, &has_email)) return false;
        if (has_email) {
            if (*email && !strchr(email, '@')) {
                http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                 "field 'email' must be an e-mail address");
                return false;
            }
            http_copy(p->email, sizeof p->email, email);
        }
    }
    if (has_kind) http_copy(p->kind, sizeof p->kind, kind);
    if (has_active) p->active = active;
    json_t *cj = json_object_get(b, "consent_at");
    if (json_is_null(cj)) {
        p->consent_ms = 0;
    } else {
        if (!http_field_str(r, b, "consent_at", false, 40, &consent, &has_consent)) return false;
        if (has_consent && !http_parse_time(consent, &p->consent_ms)) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'consent_at' must be an ISO 8601 time like "
                             "2026-11-21T08:00:00Z");
            return false;
        }
        /* Consent is recorded when it was given: a date to come would also
         * pass for a new consent after a withdrawal that nobody gave. */
        if (has_consent && p->consent_ms > rc_unix_ms() + 5 * 60000) {
            http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                               json_pack("{s:s}", "field", "consent_at"),
                               "field 'consent_at' is in the future: record when consent was "
                               "given");
            return false;
        }
    }
    return true;
}

static enum MHD_Result person_conflict(http_req *r, rc_status st, rc_error *err,
                                       const store_person *p)
{
    if (st == RC_ERR_CONFLICT)
        return http_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
                                "a person with external_id '%s' already exists", p->external_id);
    return http_reply_rc(r, st, err);
}

enum MHD_Result http_h_persons_list(http_req *r)
{
    int64_t limit, offset, group_id, total = 0;
    if (!http_query_page(r, &limit, &offset) ||
        !http_query_int(r, "group_id", 0, 0, INT64_MAX, &group_id))
        return MHD_YES;
    /* Archived (inactive) people are hidden unless asked for: active=false
     * lists only them, active=all everyone. */
    const char *active = http_query(r, "active");
    if (active && strcmp(active, "true") != 0 && strcmp(active, "false") != 0 &&
        strcmp(active, "all") != 0)
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query",
                                "query parameter 'active' must be true, false or all");
    bool inactive_only = active && strcmp(active, "false") == 0;
    store_person_filter f = {.query = http_query(r, "q"),
                             .group_id = group_id,
                             .active_only = !active || strcmp(active, "true") == 0};
    if (f.query && !*f.query) f.query = NULL;
    if (group_id && !http_require_group(r, group_id)) return MHD_YES;
    if (http_scope_limited(r)) f.scope_user_id = r->who.user_id;
    store_page page = inactive_only ? (store_page){10000, 0} : (store_page){limit, offset};
    store_person *ps = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_person_list(db(r), &f, page, &ps, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    if (inactive_only) {
        total = 0;
        for (size_t i = 0; i < n; i++) {
            if (ps[i].active) continue;
            if (total >= offset && total < offset + limit)
                json_array_append_new(items, person_json(r, &ps[i]));
            total++;
        }
    } else {
        for (size_t i = 0; i < n; i++) json_array_append_new(items, person_json(r, &ps[i]));
    }
    free(ps);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

/* "group_ids" of a new person: groups that exist and that the caller may
 * reach. A manager limited to groups must name at least one of theirs (a
 * person outside every group would be out of their reach at once). */
static bool new_person_groups(http_req *r, json_t *b, int64_t ids[64], size_t *n)
{
    bool present;
    if (!http_field_group_ids(r, b, ids, n, &present)) return false;
    if (*n == 0 && http_scope_limited(r)) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, present ? "invalid_field" : "missing_field",
                           json_pack("{s:s}", "field", "group_ids"),
                           "field 'group_ids': your account is limited to some groups; name the "
                           "group(s) of yours the new person joins");
        return false;
    }
    return true;
}

enum MHD_Result http_h_persons_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    store_person p = {.active = 1};
    enum MHD_Result res = MHD_YES;
    int64_t gids[64];
    size_t ng = 0;
    if (person_fields(r, b, &p, true) && new_person_groups(r, b, gids, &ng)) {
        rc_error err;
        rc_status st = store_person_create(db(r), &p, &err);
        for (size_t i = 0; st == RC_OK && i < ng; i++)
            st = store_group_add_member(db(r), gids[i], p.id, &err);
        if (st != RC_OK) {
            if (p.id) store_person_delete(db(r), p.id, http_actor(r), NULL);
            res = person_conflict(r, st, &err, &p);
        } else {
            http_audit(r, "person.create", "person", p.id,
                       json_pack("{s:s}", "external_id", p.external_id));
            res = http_reply_json(r, MHD_HTTP_CREATED, person_json(r, &p));
        }
    }
    json_decref(b);
    return res;
}

bool http_load_person(http_req *r, const char *param, store_person *p)
{
    int64_t id;
    if (!http_param_id(r, param, &id)) return false;
    rc_error err;
    rc_status st = store_person_get(db(r), id, p, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return http_scope_person(r, p->id) || http_reply_unknown(r, "person", p->id);
}

enum MHD_Result http_h_persons_get(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    return http_reply_json(r, MHD_HTTP_OK, person_json(r, &p));
}

enum MHD_Result http_h_persons_patch(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    int was_active = p.active;
    /* "active" is archiving by another name: the same rule as the route. */
    if (person_fields(r, b, &p, false) &&
        (p.active == was_active || http_require_whole_person(r, p.id))) {
        rc_error err;
        rc_status st = store_person_update(db(r), &p, &err);
        if (st != RC_OK) {
            res = person_conflict(r, st, &err, &p);
        } else {
            http_audit(r, "person.update", "person", p.id, NULL);
            http_gallery_changed(r, p.id); /* active may have changed */
            res = http_reply_json(r, MHD_HTTP_OK, person_json(r, &p));
        }
    }
    json_decref(b);
    return res;
}

static json_t *erase_json(const store_erase *e)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "faces", (json_int_t)e->faces,
                     "sightings", (json_int_t)e->sightings, "photo", (json_int_t)e->photo, "events",
                     (json_int_t)e->events, "memberships", (json_int_t)e->memberships, "schedules",
                     (json_int_t)e->schedules, "deliveries", (json_int_t)e->deliveries, "pin",
                     (json_int_t)e->pin, "consent", (json_int_t)e->consent);
}

rc_status http_erase_biometrics(http_req *r, int64_t person_id, bool withdraw, json_t **erased,
                                rc_error *err)
{
    store_erase e;
    rc_status st = withdraw
                       ? store_person_withdraw_consent(db(r), person_id, http_actor(r), &e, err)
                       : store_person_erase_biometrics(db(r), person_id, http_actor(r), &e, err);
    if (st != RC_OK) return st;
    /* Out of this process's gallery now (others follow the version bump):
     * no camera recognizes them from here on. */
    http_gallery_changed(r, person_id);
    *erased = erase_json(&e);
    return *erased ? RC_OK : rc_fail(err, RC_ERR_NOMEM, "out of memory");
}

/* Full erase (a privacy request): the person and everything about them.
 * The store's audit entry counts what went and keeps no personal data. */
enum MHD_Result http_h_persons_delete(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p) || !http_require_whole_person(r, p.id)) return MHD_YES;
    rc_error err;
    rc_status st = store_person_erase(db(r), p.id, http_actor(r), NULL, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_gallery_changed(r, p.id);
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* Erase the biometric data only (faces, embeddings, photo, best-matching
 * sightings); the person and their history stay. */
enum MHD_Result http_h_person_biometrics_delete(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p) || !http_require_whole_person(r, p.id)) return MHD_YES;
    rc_error err;
    json_t *erased = NULL;
    rc_status st = http_erase_biometrics(r, p.id, false, &erased, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "erased", erased));
}

/* Archive (on) or restore (off): out of the gallery and never absent from
 * the archive day on, history kept; hidden from default lists. */
static enum MHD_Result archive(http_req *r, bool on)
{
    store_person p;
    if (!http_load_person(r, "id", &p) || !http_require_whole_person(r, p.id)) return MHD_YES;
    if (!p.active == on) return http_reply_json(r, MHD_HTTP_OK, person_json(r, &p));
    p.active = !on;
    rc_error err;
    rc_status st = store_person_update(db(r), &p, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, on ? "person.archive" : "person.restore", "person", p.id, NULL);
    http_gallery_changed(r, p.id);
    return http_reply_json(r, MHD_HTTP_OK, person_json(r, &p));
}

enum MHD_Result http_h_person_archive(http_req *r)
{
    return archive(r, true);
}

enum MHD_Result http_h_person_restore(http_req *r)
{
    return archive(r, false);
}

/* ---- groups ------------------------------------------------------------- */

static json_t *group_json(const store_group *g)
{
    return json_pack("{s:I,s:s,s:s,s:I,s:b}", "id", (json_int_t)g->id, "name", g->name,
                     "description", g->description, "member_count", (json_int_t)g->member_count,
                     "notify_absentees", g->notify_absentees != 0);
}

static bool group_fields(http_req *r, json_t *b, store_group *g, bool create)
{
    const char *name, *desc;
    bool has_name, has_desc, notify, has_notify;
    if (!http_field_str(r, b, "name", create, 127, &name, &has_name) ||
        !http_field_str(r, b, "description", false, 511, &desc, &has_desc) ||
        !http_field_bool(r, b, "notify_absentees", false, &notify, &has_notify))
        return false;
    if (has_notify) g->notify_absentees = notify;
    if (has_name && !*name) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'name' must not be empty");
        return false;
    }
    if (has_name) http_copy(g->name, sizeof g->name, name);
    if (has_desc) http_copy(g->description, sizeof g->description, desc);
    return true;
}

static enum MHD_Result group_error(http_req *r, rc_status st, rc_error *err, const store_group *g)
{
    if (st == RC_ERR_CONFLICT)
        return http_reply_error(r, MHD_HTTP_CONFLICT, "conflict", "a group named '%s' exists",
                                g->name);
    return http_reply_rc(r, st, err);
}

enum MHD_Result http_h_groups_list(http_req *r)
{
    int64_t limit, offset, total = 0;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_group *gs = NULL;
    size_t n = 0;
    rc_error err;
    bool limited = http_scope_limited(r);
    /* A limited manager's groups are few (at most 64): page them here. */
    store_page page = limited ? (store_page){10000, 0} : (store_page){limit, offset};
    rc_status st = store_group_list(db(r), page, &gs, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    if (limited) total = 0;
    for (size_t i = 0; i < n; i++) {
        if (limited) {
            if (!http_scope_group(r, gs[i].id)) continue;
            bool in_page = total >= offset && total < offset + limit;
            total++;
            if (!in_page) continue;
        }
        json_array_append_new(items, group_json(&gs[i]));
    }
    free(gs);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

enum MHD_Result http_h_groups_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    store_group g = {0};
    enum MHD_Result res = MHD_YES;
    if (http_require_all_groups(r, "a new group") && group_fields(r, b, &g, true)) {
        rc_error err;
        rc_status st = store_group_create(db(r), &g, &err);
        if (st != RC_OK) {
            res = group_error(r, st, &err, &g);
        } else {
            http_audit(r, "group.create", "group", g.id, json_pack("{s:s}", "name", g.name));
            res = http_reply_json(r, MHD_HTTP_CREATED, group_json(&g));
        }
    }
    json_decref(b);
    return res;
}

static bool load_group(http_req *r, store_group *g)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_group_get(db(r), id, g, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return http_scope_group(r, g->id) || http_reply_unknown(r, "group", g->id);
}

enum MHD_Result http_h_groups_get(http_req *r)
{
    store_group g;
    if (!load_group(r, &g)) return MHD_YES;
    return http_reply_json(r, MHD_HTTP_OK, group_json(&g));
}

enum MHD_Result http_h_groups_patch(http_req *r)
{
    store_group g;
    if (!load_group(r, &g)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    if (group_fields(r, b, &g, false)) {
        rc_error err;
        rc_status st = store_group_update(db(r), &g, &err);
        if (st != RC_OK) {
            res = group_error(r, st, &err, &g);
        } else {
            http_audit(r, "group.update", "group", g.id, NULL);
            res = http_reply_json(r, MHD_HTTP_OK, group_json(&g));
        }
    }
    json_decref(b);
    return res;
}

enum MHD_Result http_h_groups_delete(http_req *r)
{
    store_group g;
    /* A limited manager may not: the group's webhooks (an admin's) and
     * other managers' reach go with it, and its people leave it. */
    if (!load_group(r, &g) || !http_require_all_groups(r, "deleting a group")) return MHD_YES;
    /* The webhooks about this group are deleted with it: named in the audit. */
    json_t *hooks = json_array();
    store_webhook *wh = NULL;
    size_t nw = 0;
    rc_error err;
    if (store_webhook_list(db(r), &wh, &nw, NULL) == RC_OK)
        for (size_t i = 0; i < nw; i++)
            if (wh[i].group_id == g.id)
                json_array_append_new(
                    hooks, json_pack("{s:I,s:s}", "id", (json_int_t)wh[i].id, "name", wh[i].name));
    free(wh);
    rc_status st = store_group_delete(db(r), g.id, &err);
    if (st != RC_OK) {
        json_decref(hooks);
        return http_reply_rc(r, st, &err);
    }
    http_audit(r, "group.delete", "group", g.id,
               json_pack("{s:s,s:o}", "name", g.name, "webhooks", hooks));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* The members of a group, each a person with the day they joined it. */
static enum MHD_Result members_reply(http_req *r, int64_t group_id)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_membership *m = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_memberships(db(r), group_id, 0, &m, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++) {
        store_person p;
        if (store_person_get(db(r), m[i].person_id, &p, NULL) != RC_OK) continue;
        json_t *j = person_json(r, &p);
        json_object_set_new(j, "joined_on", local_day_json(r, m[i].joined_ms));
        json_array_append_new(items, j);
    }
    free(m);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)n));
}

/* Optional query parameter joined_on (YYYY-MM-DD) as an instant; 0 when
 * absent. False after answering 400. */
static bool query_joined(http_req *r, int64_t *ms)
{
    const char *day = http_query(r, "joined_on");
    *ms = 0;
    return !day || local_day_ms(r, "joined_on", day, ms);
}

enum MHD_Result http_h_members_list(http_req *r)
{
    store_group g;
    if (!load_group(r, &g)) return MHD_YES;
    return members_reply(r, g.id);
}

enum MHD_Result http_h_members_put(http_req *r)
{
    store_group g;
    if (!load_group(r, &g)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    int64_t joined = 0;
    json_t *jv = json_object_get(b, "joined_on");
    if (jv && !json_is_null(jv) &&
        !local_day_ms(r, "joined_on", json_is_string(jv) ? json_string_value(jv) : NULL, &joined))
        goto out;
    json_t *list = json_object_get(b, "person_ids");
    if (!json_is_array(list)) {
        res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, list ? "invalid_field" : "missing_field",
                               "field 'person_ids' must be an array of person ids");
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        store_person p;
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                   "person_ids[%zu] must be a positive integer", i);
            goto out;
        }
        /* One outside the caller's groups is as unknown to them. */
        if (store_person_get(db(r), json_integer_value(v), &p, NULL) != RC_OK ||
            !http_scope_person(r, p.id)) {
            res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                   "person_ids[%zu]: there is no person %lld", i,
                                   (long long)json_integer_value(v));
            goto out;
        }
    }
    int64_t *cur = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_group_members(db(r), g.id, &cur, &n, &err);
    for (size_t k = 0; st == RC_OK && k < n; k++) {
        bool keep = false;
        json_array_foreach(list, i, v) keep |= json_integer_value(v) == cur[k];
        if (!keep) st = store_group_remove_member(db(r), g.id, cur[k], &err);
    }
    free(cur);
    /* New members join on joined_on (default today); members already in
     * keep their date. */
    store_membership *had = NULL;
    size_t nhad = 0;
    if (st == RC_OK) st = store_memberships(db(r), g.id, 0, &had, &nhad, &err);
    json_array_foreach(list, i, v)
    {
        if (st != RC_OK) break;
        bool member = false;
        for (size_t k = 0; k < nhad; k++) member |= had[k].person_id == json_integer_value(v);
        if (!member) st = store_group_join(db(r), g.id, json_integer_value(v), joined, &err);
    }
    free(had);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "group.members", "group", g.id, json_pack("{s:O}", "person_ids", list));
    res = members_reply(r, g.id);
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_member_add(http_req *r)
{
    store_group g;
    store_person p;
    int64_t joined;
    if (!load_group(r, &g) || !http_load_person(r, "person_id", &p) || !query_joined(r, &joined))
        return MHD_YES;
    rc_error err;
    /* joined_on given: the member joins (or joined) that day; else a new
     * member joins today and an existing one keeps their date. */
    rc_status st = joined ? store_group_join(db(r), g.id, p.id, joined, &err)
                          : store_group_add_member(db(r), g.id, p.id, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "group.member_add", "group", g.id,
               json_pack("{s:I,s:o}", "person_id", (json_int_t)p.id, "joined_on",
                         http_query(r, "joined_on") ? json_string(http_query(r, "joined_on"))
                                                    : json_null()));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result http_h_member_remove(http_req *r)
{
    store_group g;
    store_person p;
    if (!load_group(r, &g) || !http_load_person(r, "person_id", &p)) return MHD_YES;
    rc_error err;
    rc_status st = store_group_remove_member(db(r), g.id, p.id, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "group.member_remove", "group", g.id,
               json_pack("{s:I}", "person_id", (json_int_t)p.id));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* ---- schedules ---------------------------------------------------------- */

/* A slot; with `on`, "upcoming" says whether it begins after that day. */
static json_t *schedule_json(const store_schedule *sc, const char *on)
{
    json_t *j =
        json_pack("{s:I,s:o,s:o,s:i,s:o,s:o,s:i,s:s,s:o,s:o}", "id", (json_int_t)sc->id, "group_id",
                  sc->group_id ? json_integer(sc->group_id) : json_null(), "person_id",
                  sc->person_id ? json_integer(sc->person_id) : json_null(), "day_of_week",
                  sc->dow == 0 ? 7 : sc->dow, "start", http_clock_json(sc->start_min), "end",
                  http_clock_json(sc->end_min), "grace_min", sc->grace_min, "label", sc->label,
                  "valid_from", sc->valid_from[0] ? json_string(sc->valid_from) : json_null(),
                  "valid_to", sc->valid_to[0] ? json_string(sc->valid_to) : json_null());
    if (j && on)
        json_object_set_new(j, "upcoming",
                            json_boolean(sc->valid_from[0] && strcmp(sc->valid_from, on) > 0));
    return j;
}

/* Most days a timetable change may be dated away from today, either way. */
#define EFFECTIVE_MAX_DAYS 366

/* The local day a timetable change takes effect, into out: `given`, or
 * today in the institution's zone when NULL. False after answering 400
 * (not a date, more than EFFECTIVE_MAX_DAYS from today) or 403 (a day
 * before today re-judges attendance already reported: admins only). */
static bool effective_day(http_req *r, const char *given, char out[11])
{
    char today[11];
    const char *f = NULL, *t = NULL;
    http_days_or_today(r, &f, &t, today);
    if (!given) {
        memcpy(out, today, 11);
        return true;
    }
    int64_t day, now = 0;
    att_parse_day(today, &now);
    if (att_parse_day(given, &day) != 0) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "effective"),
                           "field 'effective' must be a date YYYY-MM-DD");
        return false;
    }
    if (day > now + EFFECTIVE_MAX_DAYS || day < now - EFFECTIVE_MAX_DAYS) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s,s:i}", "field", "effective", "max", EFFECTIVE_MAX_DAYS),
                           "field 'effective' must be within %d days of today (%s)",
                           EFFECTIVE_MAX_DAYS, today);
        return false;
    }
    if (day < now && r->who.role != HTTP_ADMIN) {
        http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                         "only an administrator may change a timetable from a past day (%s is "
                         "before today, %s): the days already reported would be judged again",
                         given, today);
        return false;
    }
    memcpy(out, given, 11);
    return true;
}

/* The field 'effective' of body b (absent or null: today), as effective_day. */
static bool effective_field(http_req *r, json_t *b, char out[11])
{
    const char *given = NULL;
    if (json_is_null(json_object_get(b, "effective"))) return effective_day(r, NULL, out);
    return http_field_str(r, b, "effective", false, 10, &given, NULL) &&
           effective_day(r, given, out);
}

static bool optional_id(http_req *r, json_t *b, const char *key, int64_t *out, bool *present)
{
    json_t *v = json_object_get(b, key);
    *present = v != NULL;
    if (!v) return true;
    if (json_is_null(v)) {
        *out = 0;
        return true;
    }
    return http_field_int(r, b, key, false, 1, INT64_MAX, out, NULL);
}

/* A timetable's group or person, when it is outside the caller's groups,
 * is as unknown to them. */
static bool owner_in_reach(http_req *r, const store_schedule *sc)
{
    if (sc->group_id) {
        store_group g;
        if (store_group_get(db(r), sc->group_id, &g, NULL) != RC_OK ||
            !http_scope_group(r, sc->group_id)) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'group_id': there is no group %lld", (long long)sc->group_id);
            return false;
        }
    }
    if (sc->person_id) {
        store_person p;
        if (store_person_get(db(r), sc->person_id, &p, NULL) != RC_OK ||
            !http_scope_person(r, sc->person_id)) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'person_id': there is no person %lld",
                             (long long)sc->person_id);
            return false;
        }
    }
    return true;
}

static bool schedule_fields(http_req *r, json_t *b, store_schedule *sc, bool create)
{
    bool has_g, has_p, has_dow, has_start, has_end, has_grace, has_label;
    int64_t dow = 0, grace = 0;
    const char *start, *end, *label;
    if (!optional_id(r, b, "group_id", &sc->group_id, &has_g) ||
        !optional_id(r, b, "person_id", &sc->person_id, &has_p) ||
        !http_field_int(r, b, "day_of_week", create, 1, 7, &dow, &has_dow) ||
        !http_field_str(r, b, "start", create, 5, &start, &has_start) ||
        !http_field_str(r, b, "end", create, 5, &end, &has_end) ||
        !http_field_int(r, b, "grace_min", false, 0, 720, &grace, &has_grace) ||
        !http_field_str(r, b, "label", false, 127, &label, &has_label))
        return false;
    if ((sc->group_id != 0) == (sc->person_id != 0)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "a schedule belongs to exactly one of group_id and person_id");
        return false;
    }
    /* The ones a schedule had were in reach (load_schedule). */
    if ((has_g || has_p) && !owner_in_reach(r, sc)) return false;
    if (has_dow) sc->dow = (int)(dow % 7);
    if (has_start && !http_parse_clock(start, &sc->start_min)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'start' must be a clock time HH:MM");
        return false;
    }
    if (has_end && !http_parse_clock(end, &sc->end_min)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'end' must be a clock time HH:MM");
        return false;
    }
    if (sc->start_min >= 1440) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'start' must be before 24:00");
        return false;
    }
    if (sc->end_min == 0) sc->end_min = 1440;
    if (has_grace) sc->grace_min = (int)grace;
    if (has_label) http_copy(sc->label, sizeof sc->label, label);
    return true;
}

/* The day ?on= names (default today, in the institution's zone); false
 * after answering 400. */
static bool query_on(http_req *r, char out[11])
{
    const char *on = http_query(r, "on"), *to = NULL;
    char today[11];
    http_days_or_today(r, &on, &to, today);
    int64_t day;
    if (att_parse_day(on, &day) != 0) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "on"),
                           "field 'on' must be a date YYYY-MM-DD");
        return false;
    }
    memcpy(out, on, 11);
    return true;
}

enum MHD_Result http_h_schedules_list(http_req *r)
{
    int64_t limit, offset, gid, pid;
    char on[11];
    if (!http_query_page(r, &limit, &offset) ||
        !http_query_int(r, "group_id", 0, 0, INT64_MAX, &gid) ||
        !http_query_int(r, "person_id", 0, 0, INT64_MAX, &pid) || !query_on(r, on))
        return MHD_YES;
    store_schedule *ss = NULL;
    size_t n = 0;
    rc_error err;
    if ((gid && !http_require_group(r, gid)) || (pid && !http_require_person(r, pid)))
        return MHD_YES;
    /* The slots in force on the day, and the changes that begin later. */
    rc_status st = store_schedule_list_from(db(r), pid, gid, on, &ss, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ss[i].group_id ? !http_scope_group(r, ss[i].group_id)
                           : !http_scope_person(r, ss[i].person_id))
            continue;
        if (total >= offset && total < offset + limit)
            json_array_append_new(items, schedule_json(&ss[i], on));
        total++;
    }
    free(ss);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

/* "Monday 08:00-09:00" for an error message. */
static void slot_text(const store_schedule *sc, char *buf, size_t cap)
{
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    int e = sc->end_min % 1440;
    snprintf(buf, cap, "%s %02d:%02d-%02d:%02d", days[sc->dow % 7], sc->start_min / 60,
             sc->start_min % 60, e / 60, e % 60);
}

/* Write slots of one owner (see store_schedules_write); false when an
 * error was answered, with an overlap named slot by slot. */
static bool write_schedules(http_req *r, int64_t person_id, int64_t group_id, int replace,
                            const char *effective, store_schedule *list, size_t n)
{
    store_schedule clash[2];
    rc_error err;
    rc_status st = store_schedules_write_from(db(r), person_id, group_id, replace, effective, list,
                                              n, clash, &err);
    if (st == RC_ERR_CONFLICT) {
        char a[40], b[40];
        slot_text(&clash[0], a, sizeof a);
        slot_text(&clash[1], b, sizeof b);
        http_reply_error(r, MHD_HTTP_CONFLICT, "overlap", "the slot %s overlaps %s%s%.0lld%s", a, b,
                         clash[1].id ? " (schedule " : "", (long long)clash[1].id,
                         clash[1].id ? ")" : "");
        return false;
    }
    if (st == RC_ERR_INVALID) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field", "%s%s",
                         replace ? "field 'slots': " : "", err.msg);
        return false;
    }
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return true;
}

enum MHD_Result http_h_schedules_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    store_schedule sc = {0};
    enum MHD_Result res = MHD_YES;
    char eff[11];
    if (schedule_fields(r, b, &sc, true) && effective_field(r, b, eff) &&
        write_schedules(r, sc.person_id, sc.group_id, 0, eff, &sc, 1)) {
        http_audit(r, "schedule.create", "schedule", sc.id, json_pack("{s:s}", "effective", eff));
        res = http_reply_json(r, MHD_HTTP_CREATED, schedule_json(&sc, NULL));
    }
    json_decref(b);
    return res;
}

/* Most slots one timetable may have (seven days of 70 short lessons). */
#define MAX_SLOTS 500

enum MHD_Result http_h_schedules_replace(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    store_schedule owner = {0};
    bool has_g, has_p;
    json_t *slots = json_object_get(b, "slots");
    size_t n = json_array_size(slots);
    store_schedule *list = NULL;
    enum MHD_Result res = MHD_YES;
    char eff[11];
    if (!optional_id(r, b, "group_id", &owner.group_id, &has_g) ||
        !optional_id(r, b, "person_id", &owner.person_id, &has_p) || !effective_field(r, b, eff))
        goto done;
    if ((owner.group_id != 0) == (owner.person_id != 0)) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "a timetable belongs to exactly one of group_id and person_id");
        goto done;
    }
    /* The owner checked as schedule_fields does: one out of reach is as
     * unknown. */
    if (!owner_in_reach(r, &owner)) goto done;
    if (!json_is_array(slots) || n > MAX_SLOTS) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'slots' must be a list of at most %d slots", MAX_SLOTS);
        goto done;
    }
    list = calloc(n ? n : 1, sizeof *list);
    if (!list) {
        http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(slots, i);
        list[i].group_id = owner.group_id;
        list[i].person_id = owner.person_id;
        if (!json_is_object(e)) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'slots': item %zu is not an object", i);
            goto done;
        }
        if (json_object_get(e, "group_id") || json_object_get(e, "person_id")) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                             "field 'slots': item %zu names its owner; the timetable's "
                             "group_id or person_id is given once, beside 'slots'",
                             i);
            goto done;
        }
        if (!http_field_int(r, e, "id", false, 1, INT64_MAX, &list[i].id, NULL) ||
            !schedule_fields(r, e, &list[i], true))
            goto done;
    }
    if (write_schedules(r, owner.person_id, owner.group_id, 1, eff, list, n)) {
        http_audit(r, "schedule.replace", owner.group_id ? "group" : "person",
                   owner.group_id ? owner.group_id : owner.person_id,
                   json_pack("{s:I,s:s}", "slots", (json_int_t)n, "effective", eff));
        /* The timetable as from the effective day (the slots in force then,
         * none later: the list replaced them). */
        store_schedule *ss = NULL;
        size_t ns = 0;
        rc_error err;
        rc_status st =
            store_schedule_list_from(db(r), owner.person_id, owner.group_id, eff, &ss, &ns, &err);
        if (st != RC_OK) {
            res = http_reply_rc(r, st, &err);
        } else {
            json_t *items = json_array();
            for (size_t i = 0; i < ns; i++)
                json_array_append_new(items, schedule_json(&ss[i], eff));
            res = http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)ns));
        }
        free(ss);
    }
done:
    free(list);
    json_decref(b);
    return res;
}

static bool load_schedule(http_req *r, store_schedule *sc)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_schedule_get(db(r), id, sc, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    bool reach =
        sc->group_id ? http_scope_group(r, sc->group_id) : http_scope_person(r, sc->person_id);
    return reach || http_reply_unknown(r, "schedule", sc->id);
}

enum MHD_Result http_h_schedules_patch(http_req *r)
{
    store_schedule sc;
    if (!load_schedule(r, &sc)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    char eff[11];
    int64_t was = sc.id;
    if (schedule_fields(r, b, &sc, false) && effective_field(r, b, eff) &&
        write_schedules(r, sc.person_id, sc.group_id, 0, eff, &sc, 1)) {
        /* A slot in force before the day is carried on by a new one (its id
         * in the answer); the old one keeps the days before. */
        http_audit(r, "schedule.update", "schedule", was,
                   json_pack("{s:s,s:I}", "effective", eff, "id", (json_int_t)sc.id));
        res = http_reply_json(r, MHD_HTTP_OK, schedule_json(&sc, NULL));
    }
    json_decref(b);
    return res;
}

enum MHD_Result http_h_schedules_delete(http_req *r)
{
    store_schedule sc;
    if (!load_schedule(r, &sc)) return MHD_YES;
    char eff[11];
    if (!effective_day(r, http_query(r, "effective"), eff)) return MHD_YES;
    /* Ended the day before `effective` (the days before keep it); a slot
     * that would only begin on or after that day goes. */
    rc_error err;
    int removed = 0;
    rc_status st = store_schedule_end(db(r), sc.id, eff, &removed, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "schedule.delete", "schedule", sc.id,
               json_pack("{s:s,s:b}", "effective", eff, "removed", removed));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* ---- holidays ----------------------------------------------------------- */

static json_t *holiday_json(const store_holiday *h)
{
    long long id = atoll(h->day) * 10000 + atoll(h->day + 5) * 100 + atoll(h->day + 8);
    return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "date", h->day, "name", h->name);
}

enum MHD_Result http_h_holidays_list(http_req *r)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_holiday *hs = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_holiday_list(db(r), NULL, NULL, &hs, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++)
        json_array_append_new(items, holiday_json(&hs[i]));
    free(hs);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)n));
}

/* A holiday, or a range of them (Christmas, summer: "to" the last day,
 * inclusive), one row a day, in one transaction. */
#define HOLIDAY_RANGE_MAX 366 /* days after the first */

enum MHD_Result http_h_holidays_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    const char *date, *name, *to = "";
    bool has_to = false;
    int64_t first, last;
    enum MHD_Result res = MHD_YES;
    if (!http_require_all_groups(r, "a holiday") ||
        !http_field_str(r, b, "date", true, 10, &date, NULL) ||
        !http_field_str(r, b, "to", false, 10, &to, &has_to) ||
        !http_field_str(r, b, "name", true, 127, &name, NULL))
        goto out;
    if (!http_day_range(r, "date", date, has_to ? to : NULL, HOLIDAY_RANGE_MAX, &first, &last))
        goto out;
    rc_error err;
    rc_status st = store_tx_begin(db(r), 0, &err);
    if (st == RC_OK) {
        char day[11];
        for (int64_t d = first; st == RC_OK && d <= last; d++) {
            att_day_string(d, day);
            st = store_holiday_set(db(r), day, name, &err);
        }
        st = store_tx_end(db(r), st, &err);
    }
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    char last_day[11];
    att_day_string(last, last_day);
    store_holiday h;
    http_copy(h.day, sizeof h.day, date);
    http_copy(h.name, sizeof h.name, name);
    int days = (int)(last - first + 1);
    http_audit(r, "holiday.set", "holiday", 0,
               json_pack("{s:s,s:s,s:i}", "date", date, "to", last_day, "days", days));
    json_t *j = holiday_json(&h);
    json_object_set_new(j, "to", json_string(last_day));
    json_object_set_new(j, "days", json_integer(days));
    res = http_reply_json(r, MHD_HTTP_CREATED, j);
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_holidays_delete(http_req *r)
{
    int64_t id;
    if (!http_require_all_groups(r, "a holiday") || !http_param_id(r, "id", &id)) return MHD_YES;
    char day[40];
    int y, m, d;
    if (id > 99991231)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no holiday %lld",
                                (long long)id);
    snprintf(day, sizeof day, "%04u-%02u-%02u", (unsigned)(id / 10000), (unsigned)(id / 100 % 100),
             (unsigned)(id % 100));
    if (!http_parse_date(day, &y, &m, &d))
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no holiday %lld",
                                (long long)id);
    store_holiday *hs = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_holiday_list(db(r), day, day, &hs, &n, &err);
    free(hs);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (n == 0)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no holiday on %s", day);
    st = store_holiday_delete(db(r), day, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "holiday.delete", "holiday", 0, json_pack("{s:s}", "date", day));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* ---- cameras ------------------------------------------------------------ */

static const char *const camera_kinds[] = {"mjpeg", "snapshot", "rtsp", "file",
                                           "v4l2",  "browser",  NULL};
static const char *const directions[] = {"entry", "exit", "both", NULL};

/* The URL is shown with its secrets hidden (cam_redact_url): admins see
 * which camera it is, nobody reads its password back. */
static json_t *camera_json(http_server *srv, const store_camera *c)
{
    char *url = cam_redact_url(c->url);
    json_t *j =
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:f,s:o}", "id", (json_int_t)c->id, "name", c->name,
                  "url", url ? url : "", "kind", c->kind, "direction", c->direction, "enabled",
                  c->enabled != 0, "fps", c->fps, "status", http_camera_status(srv, c));
    free(url);
    return j;
}

/* A URL sent back exactly as camera_json showed it keeps the stored one
 * (with its secrets): an edit form that round-trips the shown URL changes
 * nothing. */
static bool same_as_shown(const char *stored, const char *sent)
{
    char *shown = cam_redact_url(stored);
    bool same = shown && strcmp(shown, stored) != 0 && strcmp(shown, sent) == 0;
    free(shown);
    return same;
}

static bool camera_fields(http_req *r, json_t *b, store_camera *c, bool create)
{
    const char *name, *url, *kind, *dir;
    bool has_name, has_url, has_kind, has_dir, has_en, has_fps, en;
    double fps;
    if (!http_field_str(r, b, "name", create, 127, &name, &has_name) ||
        !http_field_str(r, b, "url", false, 511, &url, &has_url) ||
        !http_field_enum(r, b, "kind", create, camera_kinds, &kind, &has_kind) ||
        !http_field_enum(r, b, "direction", false, directions, &dir, &has_dir) ||
        !http_field_bool(r, b, "enabled", false, &en, &has_en) ||
        !http_field_num(r, b, "fps", false, 0.1, 60, &fps, &has_fps))
        return false;
    if (has_name && !*name) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'name' must not be empty");
        return false;
    }
    if (has_name) http_copy(c->name, sizeof c->name, name);
    if (has_url && !same_as_shown(c->url, url)) http_copy(c->url, sizeof c->url, url);
    if (has_kind) http_copy(c->kind, sizeof c->kind, kind);
    if (has_dir) http_copy(c->direction, sizeof c->direction, dir);
    if (has_en) c->enabled = en;
    if (has_fps) c->fps = fps;
    if (!c->url[0] && strcmp(c->kind, "browser") != 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                         "field 'url' is required for a %s camera", c->kind);
        return false;
    }
    return true;
}

enum MHD_Result http_h_cameras_list(http_req *r)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_camera *cs = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_camera_list(db(r), &cs, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++)
        json_array_append_new(items, camera_json(r->srv, &cs[i]));
    free(cs);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)n));
}

enum MHD_Result http_h_cameras_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    store_camera c = {.enabled = 1, .fps = 5};
    snprintf(c.direction, sizeof c.direction, "both");
    enum MHD_Result res = MHD_YES;
    if (camera_fields(r, b, &c, true)) {
        rc_error err;
        rc_status st = store_camera_create(db(r), &c, &err);
        if (st != RC_OK) {
            res = http_reply_rc(r, st, &err);
        } else {
            http_audit(r, "camera.create", "camera", c.id, json_pack("{s:s}", "name", c.name));
            if (http_camera_apply(r->srv, &c, &err) != RC_OK)
                rc_log(RC_LOG_WARN, "camera %lld: %s", (long long)c.id, err.msg);
            res = http_reply_json(r, MHD_HTTP_CREATED, camera_json(r->srv, &c));
        }
    }
    json_decref(b);
    return res;
}

static bool load_camera(http_req *r, store_camera *c)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_camera_get(db(r), id, c, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return true;
}

enum MHD_Result http_h_cameras_get(http_req *r)
{
    store_camera c;
    if (!load_camera(r, &c)) return MHD_YES;
    return http_reply_json(r, MHD_HTTP_OK, camera_json(r->srv, &c));
}

enum MHD_Result http_h_cameras_patch(http_req *r)
{
    store_camera c;
    if (!load_camera(r, &c)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    if (camera_fields(r, b, &c, false)) {
        rc_error err;
        rc_status st = store_camera_update(db(r), &c, &err);
        if (st != RC_OK) {
            res = http_reply_rc(r, st, &err);
        } else {
            http_audit(r, "camera.update", "camera", c.id, NULL);
            if (http_camera_apply(r->srv, &c, &err) != RC_OK)
                rc_log(RC_LOG_WARN, "camera %lld: %s", (long long)c.id, err.msg);
            res = http_reply_json(r, MHD_HTTP_OK, camera_json(r->srv, &c));
        }
    }
    json_decref(b);
    return res;
}

enum MHD_Result http_h_cameras_delete(http_req *r)
{
    store_camera c;
    if (!load_camera(r, &c)) return MHD_YES;
    rc_error err;
    http_camera_forget(r->srv, c.id);
    rc_status st = store_camera_delete(db(r), c.id, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "camera.delete", "camera", c.id, json_pack("{s:s}", "name", c.name));
    http_hub_revalidate(r->srv->hub); /* its keys were revoked: their streams end now */
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
