/*
 * api_requests.c — a member's request for a correction of their own
 * attendance, and its decision.
 *
 * A member linked to a person asks for an exit or entry they forgot to be
 * added, for an event's time to be corrected, or for an event to be voided,
 * with a reason; only for themself, about their own events. A manager of
 * the person's groups (or an admin) approves it, which makes the change
 * through the same code as a manager's manual event or correction (the
 * attendance rules judge slot and status; the audit log, the "corrected"
 * mark and the reports see it), or rejects it with a note. An approval is
 * refused when the event changed or vanished since the request was made.
 *
 * Bounds: a reason or note of at most STORE_REQUEST_TEXT_MAX characters,
 * REQ_PENDING_MAX requests waiting per person, REQ_DAY_MAX requests per
 * person a day. To a group-limited manager a request of another group's
 * person is answered exactly as an id that names none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define REQ_PENDING_MAX 20    /* requests of one person waiting for a decision */
#define REQ_DAY_MAX     50    /* requests one person may make in 24 hours */
#define REQ_SKEW_MS     60000 /* a clock a minute ahead is not "the future" */
#define REQ_WHAT        "correction request"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A free text field of at most STORE_REQUEST_TEXT_MAX characters (required:
 * not empty either); false after answering 400. */
static bool text_field(http_req *r, json_t *b, const char *key, bool required, const char **out)
{
    bool present = false;
    *out = "";
    if (!http_field_str(r, b, key, required, STORE_REQUEST_TEXT_BYTES - 1, out, &present))
        return false;
    size_t n = chars(*out);
    if (n <= STORE_REQUEST_TEXT_MAX && (!required || **out)) return true;
    json_t *params = json_pack("{s:s,s:i}", "field", key, "max", STORE_REQUEST_TEXT_MAX);
    if (n)
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field", params,
                           "field '%s' is %zu characters long; the limit is %d", key, n,
                           STORE_REQUEST_TEXT_MAX);
    else
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field", params,
                           "field '%s' must say why (1 to %d characters)", key,
                           STORE_REQUEST_TEXT_MAX);
    return false;
}

static json_t *actor_json(http_req *r, const char *actor)
{
    if (!actor[0]) return json_null();
    char name[256];
    att_actor_name(db(r), actor, name, sizeof name);
    return json_string(name);
}

/* A request in the API's shape, with the event it is about as it is now
 * (null when it has none, or it is gone). */
static json_t *request_json(http_req *r, const store_request *q)
{
    store_event e;
    bool have_e = q->event_id && store_event_get(db(r), q->event_id, &e, NULL) == RC_OK &&
                  e.person_id == q->person_id;
    json_t *j = json_pack(
        "{s:I,s:I,s:s,s:s,s:o,s:o,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)q->id,
        "person_id", (json_int_t)q->person_id, "person_name", q->person_name, "kind", q->kind,
        "event_id", q->event_id ? json_integer(q->event_id) : json_null(), "event_time",
        http_time_json(q->event_ts_ms), "time", http_time_json(q->requested_ms), "reason",
        q->reason, "status", q->status, "created_at", http_time_json(q->created_ms), "decided_at",
        http_time_json(q->decided_ms), "decided_by", actor_json(r, q->decided_by), "note",
        q->note[0] ? json_string(q->note) : json_null(), "result_event_id",
        q->result_event_id ? json_integer(q->result_event_id) : json_null());
    json_object_set_new(j, "event", have_e ? http_event_json(db(r), &e) : json_null());
    return j;
}

static enum MHD_Result reply_list(http_req *r, const store_request_filter *f)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_request *qs = NULL;
    size_t n = 0;
    int64_t total = 0;
    rc_error err;
    rc_status st = store_request_list(db(r), f, (store_page){limit, offset}, &qs, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, request_json(r, &qs[i]));
    free(qs);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

static rc_status audit_in_tx(http_req *r, const char *action, int64_t person_id, json_t *detail,
                             rc_error *err);

/* ---- the member's side ----------------------------------------------------- */

enum MHD_Result http_h_self_requests_list(http_req *r)
{
    store_person p;
    if (!http_own_person(r, &p)) return MHD_YES;
    store_request_filter f = {.person_id = p.id};
    return reply_list(r, &f);
}

/* The event a request names: one of the caller's own, not voided; false
 * after answering (someone else's answers as one that does not exist). */
static bool own_event(http_req *r, int64_t person_id, int64_t id, store_event *e)
{
    rc_error err;
    rc_status st = store_event_get(db(r), id, e, &err);
    if (st != RC_OK && st != RC_ERR_NOT_FOUND) {
        http_reply_rc(r, st, &err);
        return false;
    }
    if (st != RC_OK || e->person_id != person_id) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "event_id"),
                           "field 'event_id': you have no event %lld", (long long)id);
        return false;
    }
    if (e->voided_ms) {
        http_reply_error_p(r, MHD_HTTP_CONFLICT, "event_voided",
                           json_pack("{s:I}", "event_id", (json_int_t)id),
                           "event %lld is already void", (long long)id);
        return false;
    }
    return true;
}

static enum MHD_Result create(http_req *r, const store_person *p, json_t *b)
{
    static const char *const kinds[] = {"missing_exit", "missing_entry", "wrong_time", "void",
                                        NULL};
    const char *kind, *reason, *time_s = NULL;
    int64_t event_id = 0, ts = 0, now = rc_unix_ms(), person_id = 0;
    bool has_time = false, has_event = false, has_person = false;
    if (!http_field_int(r, b, "person_id", false, 1, INT64_MAX, &person_id, &has_person))
        return MHD_YES;
    /* Only for themself: naming anyone else is refused, never ignored. */
    if (has_person && person_id != p->id)
        return http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                                "members may only ask for corrections of their own attendance");
    if (!http_field_enum(r, b, "kind", true, kinds, &kind, NULL) ||
        !http_field_int(r, b, "event_id", false, 1, INT64_MAX, &event_id, &has_event) ||
        !http_field_str(r, b, "time", false, 40, &time_s, &has_time) ||
        !text_field(r, b, "reason", true, &reason))
        return MHD_YES;
    bool is_void = !strcmp(kind, "void"), missing = !strncmp(kind, "missing_", 8);
    if (!missing && !has_event)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                                  json_pack("{s:s}", "field", "event_id"),
                                  "field 'event_id' names the event to correct or void");
    if (is_void && has_time)
        return http_reply_error_p(
            r, MHD_HTTP_BAD_REQUEST, "invalid_field", json_pack("{s:s}", "field", "time"),
            "field 'time' is for a missing event or a wrong time, not a void");
    if (!is_void && !has_time)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                                  json_pack("{s:s}", "field", "time"),
                                  "field 'time' must say when it happened");
    if (has_time && !http_event_time(r, time_s, &ts)) return MHD_YES;
    if (ts > now + REQ_SKEW_MS)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "time_in_future",
                                  json_pack("{s:s}", "field", "time"),
                                  "field 'time' is in the future (%.40s)", time_s);
    store_event e = {0};
    if (has_event && !own_event(r, p->id, event_id, &e)) return MHD_YES;
    rc_error err;
    int64_t today = 0;
    rc_status st = store_request_count(db(r), p->id, now - 24 * 3600 * 1000LL, &today, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (today >= REQ_DAY_MAX) {
        char why[96];
        snprintf(why, sizeof why, "at most %d correction requests a day", REQ_DAY_MAX);
        return http_reply_too_many(r, 3600, "person", why);
    }
    store_request q = {.person_id = p->id,
                       .event_id = event_id,
                       .event_ts_ms = has_event ? e.ts_ms : 0,
                       .requested_ms = ts};
    http_copy(q.kind, sizeof q.kind, kind);
    http_copy(q.reason, sizeof q.reason, reason);
    http_copy(q.created_by, sizeof q.created_by, http_actor(r));
    st = store_request_create(db(r), &q, REQ_PENDING_MAX, &err);
    if (st == RC_ERR_CONFLICT)
        return http_reply_error_p(
            r, MHD_HTTP_CONFLICT, "too_many_pending", json_pack("{s:i}", "max", REQ_PENDING_MAX),
            "you already have %d requests waiting for a decision", REQ_PENDING_MAX);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_copy(q.person_name, sizeof q.person_name, p->name);
    http_audit(r, "request.create", "person", p->id,
               json_pack("{s:I,s:s,s:I}", "request_id", (json_int_t)q.id, "kind", q.kind,
                         "event_id", (json_int_t)q.event_id));
    return http_reply_json(r, MHD_HTTP_CREATED, request_json(r, &q));
}

enum MHD_Result http_h_self_requests_create(http_req *r)
{
    store_person p;
    if (!http_own_person(r, &p)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = create(r, &p, b);
    json_decref(b);
    return res;
}

/* A member withdraws a request of their own while it waits: it becomes
 * "withdrawn" (decided by them, now), leaves the pending count and the
 * managers' pending list. Someone else's request is answered exactly as an
 * id that names none; a decided one is 409 already_decided. The change and
 * its audit entry (request.withdraw) are one transaction. */
enum MHD_Result http_h_self_request_withdraw(http_req *r)
{
    store_person p;
    if (!http_own_person(r, &p)) return MHD_YES;
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    store_request q;
    rc_error err;
    rc_status st = store_request_get(db(r), id, &q, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (q.person_id != p.id) {
        http_reply_unknown(r, REQ_WHAT, id);
        return MHD_YES;
    }
    bool claimed = false;
    st = store_tx_begin(db(r), 0, &err);
    if (st == RC_OK) {
        st = store_request_decide(db(r), q.id, "pending", "withdrawn", http_actor(r), "", 0, &err);
        claimed = st == RC_OK;
        if (st == RC_OK)
            st = audit_in_tx(r, "request.withdraw", q.person_id,
                             json_pack("{s:I,s:s}", "request_id", (json_int_t)q.id, "kind", q.kind),
                             &err);
        st = store_tx_end(db(r), st, &err);
    }
    if (st == RC_ERR_CONFLICT && !claimed) {
        store_request now;
        const char *status =
            store_request_get(db(r), q.id, &now, NULL) == RC_OK ? now.status : q.status;
        return http_reply_error_p(r, MHD_HTTP_CONFLICT, "already_decided",
                                  json_pack("{s:s}", "status", status),
                                  "correction request %lld is already %s", (long long)q.id, status);
    }
    if (st == RC_OK) st = store_request_get(db(r), q.id, &q, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_json(r, MHD_HTTP_OK, request_json(r, &q));
}

/* ---- the manager's side ---------------------------------------------------- */

enum MHD_Result http_h_requests_list(http_req *r)
{
    const char *status = http_query(r, "status");
    if (status && !*status) status = NULL;
    if (status && strcmp(status, "pending") && strcmp(status, "approved") &&
        strcmp(status, "rejected") && strcmp(status, "withdrawn"))
        return http_reply_error(
            r, MHD_HTTP_BAD_REQUEST, "invalid_query",
            "query parameter 'status' must be pending, approved, rejected or withdrawn");
    store_request_filter f = {.status = status};
    if (http_scope_limited(r)) f.scope_user_id = r->who.user_id;
    return reply_list(r, &f);
}

/* The request named by {id} within the caller's reach (another group's is
 * answered as an unknown id), and the body (an empty one is {}); false
 * after answering. The caller frees *body. */
static bool load_request(http_req *r, store_request *q, json_t **body)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_request_get(db(r), id, q, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    if (!http_scope_person(r, q->person_id)) return http_reply_unknown(r, REQ_WHAT, id);
    *body = r->body_len ? http_json_body(r) : json_object();
    if (!*body) return false;
    if (strcmp(q->status, "pending") != 0) {
        http_reply_error_p(r, MHD_HTTP_CONFLICT, "already_decided",
                           json_pack("{s:s}", "status", q->status),
                           "correction request %lld is already %s", (long long)q->id, q->status);
        return false;
    }
    return true;
}

/* Whether the event is still as the member saw it: there, theirs, not
 * voided, its time the same and nobody's correction since the request
 * (*same false otherwise). Read inside the approval's transaction. */
static rc_status event_unchanged(http_req *r, const store_request *q, bool *same, rc_error *err)
{
    *same = true;
    if (!q->event_id) return RC_OK;
    store_event e;
    rc_status st = store_event_get(db(r), q->event_id, &e, err);
    if (st != RC_OK && st != RC_ERR_NOT_FOUND) return st;
    *same = st == RC_OK && e.person_id == q->person_id && !e.voided_ms &&
            e.ts_ms == q->event_ts_ms && e.corrected_ms <= q->created_ms;
    return RC_OK;
}

static enum MHD_Result event_changed(http_req *r, const store_request *q)
{
    return http_reply_error_p(r, MHD_HTTP_CONFLICT, "event_changed",
                              json_pack("{s:I}", "event_id", (json_int_t)q->event_id),
                              "event %lld changed or was removed after the request was made; "
                              "reject it, or correct the attendance by hand",
                              (long long)q->event_id);
}

/* An audit entry about the request's person written inside the caller's
 * transaction (http_audit writes on its own and only logs a failure; here
 * a failure undoes the decision with it). Takes detail. */
static rc_status audit_in_tx(http_req *r, const char *action, int64_t person_id, json_t *detail,
                             rc_error *err)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    if (!text) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    rc_status st = store_audit_add(db(r), http_actor(r), action, "person", person_id, text, err);
    free(text);
    return st;
}

/* The reason the changed event carries: the request's, after its id, cut
 * at a character boundary to fit. */
static void event_reason(const store_request *q, char *out, size_t cap)
{
    int w = snprintf(out, cap, "#%lld: ", (long long)q->id);
    size_t n = w > 0 && (size_t)w < cap ? (size_t)w : 0, len = strlen(q->reason);
    if (len > cap - 1 - n) {
        len = cap - 1 - n;
        /* Not inside a character: the first byte left out starts one. */
        while (len > 0 && ((unsigned char)q->reason[len] & 0xC0) == 0x80) len--;
    }
    memcpy(out + n, q->reason, len);
    out[n + len] = 0;
}

/* Make the change the request asks for, as a manager's correction does. */
static rc_status apply(http_req *r, const store_request *q, store_event *e, rc_error *err)
{
    char reason[sizeof e->reason];
    event_reason(q, reason, sizeof reason);
    const char *actor = http_actor(r);
    rc_status st;
    if (!r->srv->att) return rc_fail(err, RC_ERR_UNSUPPORTED, "attendance rules are not running");
    if (!strcmp(q->kind, "wrong_time"))
        return att_correct(r->srv->att, q->event_id, q->requested_ms, NULL, reason, actor, e, err);
    if (!strcmp(q->kind, "void")) {
        st = store_event_void(db(r), q->event_id, actor, reason, err);
        return st == RC_OK ? store_event_get(db(r), q->event_id, e, err) : st;
    }
    /* missing_exit / missing_entry: a manual event, as a manager adds one
     * (not "corrected": that mark is for an event changed after it was
     * recorded; the reason names the request). */
    return att_manual(r->srv->att, q->person_id, q->requested_ms,
                      !strcmp(q->kind, "missing_exit") ? "exit" : "entry", reason, actor, e, err);
}

static enum MHD_Result already_decided(http_req *r, int64_t id)
{
    return http_reply_error(r, MHD_HTTP_CONFLICT, "already_decided",
                            "correction request %lld was decided meanwhile", (long long)id);
}

/* Approving is all or nothing: the claim of the request, the change to the
 * attendance (with its own audit entry), the decision naming the event and
 * the request.approve entry are one transaction under the person's
 * attendance lock (att_tx_begin; att_manual and att_correct join it). A
 * crash anywhere before the commit leaves the request pending and the
 * attendance as it was; nothing needs finishing at start-up. The live feed
 * hears of the event only after the commit. rc_crash_point marks the steps
 * a test stops the process at. */
enum MHD_Result http_h_request_approve(http_req *r)
{
    store_request q;
    json_t *b = NULL;
    const char *note = "";
    enum MHD_Result res = MHD_YES;
    if (!load_request(r, &q, &b) || !text_field(r, b, "note", false, &note)) goto out;
    rc_error err;
    if (!r->srv->att) {
        rc_fail(&err, RC_ERR_UNSUPPORTED, "attendance rules are not running");
        res = http_reply_rc(r, err.code, &err);
        goto out;
    }
    const char *actor = http_actor(r);
    store_event e = {0};
    bool claimed = false, same = true;
    rc_status st = att_tx_begin(r->srv->att, q.person_id, &err);
    if (st == RC_OK) {
        /* Claimed first: of two approvals at once only one applies the change. */
        st = store_request_decide(db(r), q.id, "pending", "approved", actor, note, 0, &err);
        claimed = st == RC_OK;
        if (st == RC_OK) st = event_unchanged(r, &q, &same, &err);
        if (st == RC_OK && !same)
            st = rc_fail(&err, RC_ERR_CONFLICT, "event %lld changed", (long long)q.event_id);
        if (st == RC_OK) {
            rc_crash_point("request.apply");
            st = apply(r, &q, &e, &err);
        }
        if (st == RC_OK) {
            rc_crash_point("request.decide");
            st = store_request_decide(db(r), q.id, "approved", "approved", actor, note, e.id, &err);
        }
        if (st == RC_OK) {
            rc_crash_point("request.audit");
            st = audit_in_tx(r, "request.approve", q.person_id,
                             json_pack("{s:I,s:s,s:I}", "request_id", (json_int_t)q.id, "kind",
                                       q.kind, "event_id", (json_int_t)e.id),
                             &err);
        }
        st = store_tx_end(db(r), st, &err);
    }
    if (st != RC_OK) {
        if (st == RC_ERR_CONFLICT && !claimed)
            res = already_decided(r, q.id);
        else if (st == RC_ERR_CONFLICT && !same)
            res = event_changed(r, &q);
        else
            res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_publish_event(r->srv, &e, strncmp(q.kind, "missing_", 8) == 0);
    if (store_request_get(db(r), q.id, &q, &err) != RC_OK) {
        res = http_reply_rc(r, err.code, &err);
        goto out;
    }
    res = http_reply_json(r, MHD_HTTP_OK, request_json(r, &q));
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_request_reject(http_req *r)
{
    store_request q;
    json_t *b = NULL;
    const char *note;
    enum MHD_Result res = MHD_YES;
    if (!load_request(r, &q, &b) || !text_field(r, b, "note", true, &note)) goto out;
    rc_error err;
    /* The decision and its audit entry together, or neither. */
    bool claimed = false;
    rc_status st = store_tx_begin(db(r), 0, &err);
    if (st == RC_OK) {
        st = store_request_decide(db(r), q.id, "pending", "rejected", http_actor(r), note, 0, &err);
        claimed = st == RC_OK;
        if (st == RC_OK)
            st = audit_in_tx(r, "request.reject", q.person_id,
                             json_pack("{s:I,s:s}", "request_id", (json_int_t)q.id, "kind", q.kind),
                             &err);
        st = store_tx_end(db(r), st, &err);
    }
    if (st == RC_ERR_CONFLICT && !claimed) {
        res = already_decided(r, q.id);
        goto out;
    }
    if (st == RC_OK) st = store_request_get(db(r), q.id, &q, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    res = http_reply_json(r, MHD_HTTP_OK, request_json(r, &q));
out:
    json_decref(b);
    return res;
}
