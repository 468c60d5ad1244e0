/*
 * api_self.c — what students do for themselves.
 *
 * Self check-in: a member whose account is linked to a person sends a short
 * capture (2 to 5 frames) from their phone; src/recog verifies it 1:1
 * against that person's own enrolled faces, with liveness, and records the
 * event with source "self". This file is the policy around it: the setting
 * that turns it off, the person's schedule slots ± a window, the networks
 * it is allowed from, a per-account limit on failed verifications (kept in
 * the audit log, so it holds across processes), and an audit entry for
 * every attempt with a stable reason code the UI translates.
 *
 * Self-registration (off by default): a public page sends first and last
 * name, e-mail, group, three photos and consent; the photos go through the
 * one enrollment policy (recog_enroll) and the person is created pending:
 * inactive, outside the gallery, reports and person lists, until a manager
 * of that group (or an admin) approves it; rejecting erases it with its
 * photos. Attempts are limited per client address.
 *
 * A member's own data ("Mis datos", GDPR art. 15 and 7(3)): what is held
 * about their person (record, groups, consent, enrolled faces and their
 * images, face crops that name them, how many attendance records), and the
 * withdrawal of their consent, which takes the account's password (counted
 * as a login) and erases their biometric data through the admin's erase.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define SELF_WINDOW_DEFAULT 15   /* minutes around a slot */
#define SELF_NETWORKS_MAX   1000 /* characters of the network list */
#define REG_PHOTOS          3    /* photos a self-registration sends */
#define REG_ACTOR           "self-registration"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

/* ---- settings ----------------------------------------------------------- */

static void setting(http_req *r, const char *key, char *buf, size_t cap)
{
    if (store_setting_get(db(r), key, buf, cap, NULL) != RC_OK) buf[0] = 0;
}

static bool setting_bool(http_req *r, const char *key, bool def)
{
    char v[8];
    setting(r, key, v, sizeof v);
    return v[0] ? strcmp(v, "1") == 0 : def;
}

static int window_min(http_req *r)
{
    char v[16];
    setting(r, "self_checkin_window_min", v, sizeof v);
    return v[0] ? atoi(v) : SELF_WINDOW_DEFAULT;
}

void http_self_settings_json(http_req *r, json_t *settings)
{
    char nets[SELF_NETWORKS_MAX + 1];
    setting(r, "self_checkin_networks", nets, sizeof nets);
    json_object_set_new(settings, "self_checkin_enabled",
                        json_boolean(setting_bool(r, "self_checkin_enabled", true)));
    json_object_set_new(settings, "self_checkin_window_min", json_integer(window_min(r)));
    json_object_set_new(settings, "self_checkin_networks", json_string(nets));
    json_object_set_new(settings, "self_registration_enabled",
                        json_boolean(setting_bool(r, "self_registration_enabled", false)));
}

bool http_self_settings_patch(http_req *r, json_t *b)
{
    bool on, has_on, reg, has_reg, has_win, has_nets, valid = true;
    int64_t win;
    const char *nets = NULL;
    if (!http_field_bool(r, b, "self_checkin_enabled", false, &on, &has_on) ||
        !http_field_bool(r, b, "self_registration_enabled", false, &reg, &has_reg) ||
        !http_field_int(r, b, "self_checkin_window_min", false, 0, 720, &win, &has_win) ||
        !http_field_str(r, b, "self_checkin_networks", false, SELF_NETWORKS_MAX, &nets, &has_nets))
        return false;
    if (has_nets && *nets) http_cidr_match(nets, "127.0.0.1", &valid);
    if (!valid) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "self_checkin_networks"),
                           "field 'self_checkin_networks' must list networks such as "
                           "192.168.1.0/24 or 2001:db8::/32, separated by commas");
        return false;
    }
    char wtext[16];
    snprintf(wtext, sizeof wtext, "%d", (int)win);
    rc_error err;
    rc_status st = RC_OK;
    if (has_on) st = store_setting_set(db(r), "self_checkin_enabled", on ? "1" : "0", &err);
    if (st == RC_OK && has_reg)
        st = store_setting_set(db(r), "self_registration_enabled", reg ? "1" : "0", &err);
    if (st == RC_OK && has_win)
        st = store_setting_set(db(r), "self_checkin_window_min", wtext, &err);
    if (st == RC_OK && has_nets) st = store_setting_set(db(r), "self_checkin_networks", nets, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return true;
}

/* ---- networks ----------------------------------------------------------- */

/* Text address → 16 bytes (IPv4 as ::ffff:a.b.c.d) and its prefix bias (96
 * for IPv4, so a.b.c.d/24 is ::ffff:a.b.c.d/120). */
static bool addr16(const char *text, unsigned char out[16], int *bias)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        *bias = 96;
        return true;
    }
    *bias = 0;
    return inet_pton(AF_INET6, text, out) == 1;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0) return false;
    if (!rest) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool http_cidr_match(const char *list, const char *ip, bool *valid)
{
    unsigned char who[16];
    int who_bias;
    bool have_ip = addr16(ip, who, &who_bias), hit = false;
    *valid = true;
    for (const char *p = list; *p;) {
        size_t skip = strspn(p, ", \t\r\n"), len;
        p += skip;
        if (!*p) break;
        len = strcspn(p, ", \t\r\n");
        char tok[80], *slash;
        if (len >= sizeof tok) {
            *valid = false;
            return false;
        }
        memcpy(tok, p, len);
        tok[len] = 0;
        p += len;
        int bias, bits = -1;
        if ((slash = strchr(tok, '/'))) {
            char *end;
            *slash = 0;
            long v = strtol(slash + 1, &end, 10);
            bits = *end || end == slash + 1 ? -2 : (int)v;
        }
        unsigned char net[16];
        if (!addr16(tok, net, &bias) || bits == -2 || bits > 128 - bias) {
            *valid = false;
            return false;
        }
        bits = bits < 0 ? 128 : bits + bias;
        if (have_ip && prefix_equal(net, who, bits)) hit = true;
    }
    return hit;
}

/* ---- self check-in ------------------------------------------------------ */

/* Refuse an attempt: audit it (action, code, params, address) and answer
 * with the code and params; params stolen. */
static enum MHD_Result refuse(http_req *r, const char *action, unsigned status, const char *code,
                              json_t *params, const char *msg)
{
    if (!params) params = json_object();
    json_t *detail = json_pack("{s:s,s:s,s:O}", "code", code, "ip", r->ip, "params", params);
    http_audit(r, action, "person", r->who.person_id, detail);
    return http_reply_error_p(r, status, code, params, "%s", msg);
}

/* Where the caller stands today: linked, enabled, network, the slot now. */
typedef struct {
    bool enabled, network_ok, networks_valid;
    int window;
    att_slot slot;
    store_person person;
    bool has_person;
    bool marked;       /* an entry in this slot already */
    store_event entry; /* when marked */
    int64_t failures;  /* failed verifications in the rate-limit window */
} self_state;

static rc_status self_state_get(http_req *r, int64_t now, self_state *s, rc_error *err)
{
    memset(s, 0, sizeof *s);
    char nets[SELF_NETWORKS_MAX + 1];
    s->enabled = setting_bool(r, "self_checkin_enabled", true);
    s->window = window_min(r);
    setting(r, "self_checkin_networks", nets, sizeof nets);
    s->network_ok = !nets[0] || http_cidr_match(nets, r->ip, &s->networks_valid);
    if (!nets[0]) s->networks_valid = true;
    rc_status st = store_audit_count(db(r), http_actor(r), "self.checkin_failed",
                                     now - HTTP_SELF_FAIL_WINDOW_S * 1000LL, &s->failures, err);
    if (st != RC_OK || !r->who.person_id) return st;
    st = store_person_get(db(r), r->who.person_id, &s->person, err);
    if (st == RC_ERR_NOT_FOUND) return RC_OK;
    if (st != RC_OK) return st;
    s->has_person = !s->person.pending;
    if (!r->srv->att) return rc_fail(err, RC_ERR_UNSUPPORTED, "attendance rules are not running");
    st = att_slot_at(r->srv->att, r->who.person_id, now, s->window, &s->slot, err);
    if (st != RC_OK || !s->slot.schedule_id) return st;
    store_event_filter f = {.person_id = r->who.person_id,
                            .from_day = s->slot.day,
                            .to_day = s->slot.day,
                            .kind = "entry"};
    store_event *ev = NULL;
    size_t n = 0;
    st = store_event_list(db(r), &f, (store_page){.limit = 1000}, &ev, &n, NULL, err);
    for (size_t i = 0; st == RC_OK && i < n && !s->marked; i++)
        if (ev[i].schedule_id == s->slot.schedule_id) {
            s->marked = true;
            s->entry = ev[i];
        }
    free(ev);
    return st;
}

static json_t *slot_json(http_req *r, const att_slot *sl)
{
    if (!sl->schedule_id) return json_null();
    store_schedule sc;
    const char *label =
        store_schedule_get(db(r), sl->schedule_id, &sc, NULL) == RC_OK ? sc.label : "";
    return json_pack("{s:I,s:s,s:s,s:o,s:o}", "schedule_id", (json_int_t)sl->schedule_id, "day",
                     sl->day, "label", label, "start", http_time_json(sl->start_ms), "end",
                     http_time_json(sl->end_ms));
}

/* What the check-in page shows before the camera opens. */
enum MHD_Result http_h_self_status(http_req *r)
{
    self_state s;
    rc_error err;
    rc_status st = self_state_get(r, rc_unix_ms(), &s, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    store_face *faces = NULL;
    size_t nf = 0;
    if (s.has_person) store_face_list(db(r), s.person.id, &faces, &nf, NULL);
    free(faces);
    json_t *j = json_pack(
        "{s:b,s:b,s:o,s:I,s:i,s:b,s:s,s:o,s:b,s:o,s:i,s:i}", "enabled", s.enabled, "linked",
        s.has_person, "person",
        s.has_person ? json_pack("{s:I,s:s}", "id", (json_int_t)s.person.id, "name", s.person.name)
                     : json_null(),
        "face_count", (json_int_t)nf, "window_min", s.window, "network_allowed", s.network_ok, "ip",
        r->ip, "slot", slot_json(r, &s.slot), "already_marked", s.marked, "entry",
        s.marked ? http_event_json(db(r), &s.entry) : json_null(), "min_frames",
        RECOG_SELF_MIN_FRAMES, "max_frames", RECOG_SELF_MAX_FRAMES);
    return http_reply_json(r, MHD_HTTP_OK, j);
}

/* The capture's frames: every file part (named "frame" by the web UI). */
static size_t capture_frames(http_req *r, recog_image *out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nparts; i++) {
        const http_part *p = &r->parts[i];
        if (!p->filename) continue;
        if (n < RECOG_SELF_MAX_FRAMES) out[n] = (recog_image){p->data, p->len, p->filename};
        n++;
    }
    return n;
}

/* The account has used up its failed verifications. */
static enum MHD_Result refuse_too_many(http_req *r)
{
    return refuse(r, "self.checkin_refused", MHD_HTTP_TOO_MANY_REQUESTS, "too_many_attempts",
                  json_pack("{s:i,s:i,s:s}", "retry_after_s", HTTP_SELF_FAIL_WINDOW_S, "minutes",
                            HTTP_SELF_FAIL_WINDOW_S / 60, "scope", "account"),
                  "too many failed check-ins; wait 15 minutes");
}

enum MHD_Result http_h_self_checkin(http_req *r)
{
    static const char *const R = "self.checkin_refused", *const F = "self.checkin_failed";
    int64_t now = rc_unix_ms();
    self_state s;
    rc_error err;
    rc_status st = self_state_get(r, now, &s, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (!s.has_person)
        return refuse(r, R, MHD_HTTP_CONFLICT, "not_linked", NULL,
                      "this account is not linked to a person; ask an administrator");
    if (!s.enabled)
        return refuse(r, R, MHD_HTTP_FORBIDDEN, "disabled", NULL,
                      "self check-in is turned off by the administrator");
    if (s.failures >= HTTP_SELF_FAIL_LIMIT) return refuse_too_many(r);
    if (!s.network_ok)
        return refuse(r, R, MHD_HTTP_FORBIDDEN, "network_not_allowed",
                      json_pack("{s:s}", "ip", r->ip),
                      "self check-in is allowed only from the institution's networks");
    if (!s.slot.schedule_id)
        return refuse(r, R, MHD_HTTP_FORBIDDEN, "outside_schedule",
                      json_pack("{s:i}", "window_min", s.window),
                      "self check-in is allowed only during your schedule slots");
    if (!http_parse_multipart(r)) return MHD_YES;
    const http_part *kp = http_part_get(r, "kind");
    const char *kind = kp && kp->data && !kp->filename ? (const char *)kp->data : NULL;
    if (kind && *kind && strcmp(kind, "entry") && strcmp(kind, "exit"))
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                  json_pack("{s:s}", "field", "kind"),
                                  "field 'kind' must be entry or exit");
    if (kind && !*kind) kind = NULL;
    if (s.marked && !(kind && strcmp(kind, "exit") == 0))
        return refuse(r, R, MHD_HTTP_CONFLICT, "already_marked",
                      json_pack("{s:I,s:o}", "event_id", (json_int_t)s.entry.id, "at",
                                http_time_json(s.entry.ts_ms)),
                      "your attendance for this slot is already recorded");
    recog_image frames[RECOG_SELF_MAX_FRAMES];
    size_t n = capture_frames(r, frames);
    if (n < RECOG_SELF_MIN_FRAMES || n > RECOG_SELF_MAX_FRAMES)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST,
                                  n < RECOG_SELF_MIN_FRAMES ? "too_few_frames" : "too_many_frames",
                                  json_pack("{s:i,s:i,s:i}", "count", (int)n, "min",
                                            RECOG_SELF_MIN_FRAMES, "max", RECOG_SELF_MAX_FRAMES),
                                  "send %d to %d frames as multipart file parts (got %zu)",
                                  RECOG_SELF_MIN_FRAMES, RECOG_SELF_MAX_FRAMES, n);
    if (!r->srv->cfg.recog)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "models_unavailable",
                                "the face models are not loaded");
    /* The attempt counts for the account from now, before the capture is
     * verified, so that attempts sent at the same time cannot pass the
     * limit together (the audit rows alone are read before and written
     * after); a verification that does not fail is taken back. */
    char key[48];
    snprintf(key, sizeof key, "self:%lld", (long long)r->who.user_id);
    if (http_limiter_try(r->srv->self_limiter, key, now)) return refuse_too_many(r);
    recog_self_req req = {
        .person_id = s.person.id, .frames = frames, .n = n, .kind = kind, .ts_ms = now};
    recog_self_result *res = malloc(sizeof *res);
    if (!res) {
        http_limiter_forgive(r->srv->self_limiter, key, 1);
        return http_reply_error(r, 500, "internal", "out of memory");
    }
    st = recog_self_checkin(r->srv->cfg.recog, &req, res, &err);
    bool failed = st == RC_OK && !res->accepted && strcmp(res->code, RECOG_R_NO_ENROLLED) != 0;
    if (!failed) http_limiter_forgive(r->srv->self_limiter, key, 1);
    enum MHD_Result out;
    if (st != RC_OK) {
        out = http_reply_rc(r, st, &err);
    } else if (!res->accepted) {
        json_t *params =
            json_pack("{s:i,s:i,s:i,s:i,s:i}", "frames", res->nframes, "faces", res->faces, "live",
                      res->live, "passed", res->passed, "needed", res->needed);
        /* A failed verification (audited as such, and counted) or no face to
         * verify against (a refusal). */
        out = refuse(r, failed ? F : R, MHD_HTTP_UNPROCESSABLE_CONTENT, res->code, params,
                     !failed                                    ? "you have no enrolled face yet"
                     : strcmp(res->code, RECOG_R_NO_FACE) == 0  ? "no face was seen clearly"
                     : strcmp(res->code, RECOG_R_NOT_LIVE) == 0 ? "the face did not look live"
                                                                : "the face is not yours");
    } else if (res->outcome == ATT_MERGED) {
        out = refuse(r, R, MHD_HTTP_CONFLICT, "already_marked",
                     json_pack("{s:I,s:o}", "event_id", (json_int_t)res->event.id, "at",
                               http_time_json(res->event.ts_ms)),
                     "your attendance is already recorded");
    } else {
        http_audit(r, "self.checkin", "person", s.person.id,
                   json_pack("{s:I,s:s,s:s,s:f,s:f,s:i,s:i,s:s}", "event_id",
                             (json_int_t)res->event.id, "kind", res->event.kind, "status",
                             res->event.status, "score", res->score, "liveness", res->liveness,
                             "frames", res->nframes, "passed", res->passed, "ip", r->ip));
        json_t *ev = http_event_json(db(r), &res->event);
        json_object_set_new(ev, "new", json_boolean(res->outcome == ATT_NEW));
        out =
            http_reply_json(r, MHD_HTTP_OK,
                            json_pack("{s:b,s:{s:I,s:s},s:o,s:i,s:i}", "accepted", 1, "person",
                                      "id", (json_int_t)s.person.id, "name", s.person.name, "event",
                                      ev, "frames", res->nframes, "passed", res->passed));
    }
    free(res);
    return out;
}

/* ---- a member's own data -------------------------------------------------- */

/* The caller's person into *p; false after answering 409 not_linked (no
 * person linked, or one still pending approval), as self check-in does. */
static bool own_person(http_req *r, store_person *p)
{
    rc_error err;
    rc_status st =
        r->who.person_id ? store_person_get(db(r), r->who.person_id, p, &err) : RC_ERR_NOT_FOUND;
    if (st == RC_OK && !p->pending) return true;
    if (st != RC_OK && st != RC_ERR_NOT_FOUND) {
        http_reply_rc(r, st, &err);
        return false;
    }
    http_reply_error(r, MHD_HTTP_CONFLICT, "not_linked",
                     "this account is not linked to a person; ask an administrator");
    return false;
}

bool http_own_person(http_req *r, store_person *p)
{
    return own_person(r, p);
}

enum MHD_Result http_h_self_data(http_req *r)
{
    store_person p;
    if (!own_person(r, &p)) return MHD_YES;
    rc_error err;
    store_held h;
    store_face *faces = NULL;
    size_t nf = 0;
    rc_status st = store_person_held(db(r), p.id, &h, &err);
    if (st == RC_OK) st = store_face_list(db(r), p.id, &faces, &nf, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *list = json_array();
    for (size_t i = 0; i < nf; i++) {
        char url[96];
        snprintf(url, sizeof url, "/api/v1/self/faces/%lld/image", (long long)faces[i].id);
        json_array_append_new(list,
                              json_pack("{s:I,s:o,s:b,s:s}", "id", (json_int_t)faces[i].id,
                                        "created_at", http_time_json(faces[i].created_ms), "photo",
                                        faces[i].id == p.photo_face_id, "image", url));
    }
    free(faces);
    json_t *person = http_person_json(db(r), &p);
    json_t *body =
        json_pack("{s:o,s:o,s:o,s:o,s:{s:I,s:b,s:I,s:I},s:{s:I,s:I}}", "person", person,
                  "consent_at", http_time_json(p.consent_ms), "consent_withdrawn_at",
                  http_time_json(store_consent_withdrawn(&p)), "faces", list, "biometrics", "faces",
                  (json_int_t)h.faces, "photo", h.photo != 0, "sightings", (json_int_t)h.sightings,
                  "probes", (json_int_t)h.probes, "attendance", "events", (json_int_t)h.events,
                  "voided", (json_int_t)h.voided);
    return http_reply_json(r, MHD_HTTP_OK, body);
}

/* The caller's own leaves and justified absences (all of them, by day). */
enum MHD_Result http_h_self_leaves(http_req *r)
{
    store_person p;
    if (!own_person(r, &p)) return MHD_YES;
    store_leave *ls = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_leave_list(db(r), p.id, NULL, NULL, &ls, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, http_leave_json(db(r), &ls[i]));
    free(ls);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, (int64_t)n));
}

/* One of the caller's own enrolled faces. Another person's face id answers
 * exactly as an id that names no face: nothing tells which ids exist. */
enum MHD_Result http_h_self_face_image(http_req *r)
{
    int64_t face_id, owner = 0;
    store_person p;
    if (!http_param_id(r, "face_id", &face_id) || !own_person(r, &p)) return MHD_YES;
    rc_error err;
    rc_status st = store_face_person(db(r), face_id, &owner, &err);
    unsigned char *jpeg = NULL;
    size_t len = 0;
    if (st == RC_OK && owner == p.id)
        st = store_face_image(db(r), face_id, &jpeg, &len, &err);
    else if (st == RC_OK)
        st = RC_ERR_NOT_FOUND;
    if (st == RC_ERR_NOT_FOUND)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "you have no such face");
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_owned(r, MHD_HTTP_OK, "image/jpeg", jpeg, len);
}

/* Withdraw consent: the account's password again (a wrong one counts as a
 * failed login, as a password change's does), then the admin's biometric
 * erase with the recorded consent cleared; attendance history stays. */
enum MHD_Result http_h_self_withdraw(http_req *r)
{
    store_person p;
    if (!own_person(r, &p)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    const char *pw = NULL;
    store_user u;
    rc_error err;
    rc_status st;
    json_t *erased = NULL;
    if (!http_field_str(r, b, "password", true, 1024, &pw, NULL)) goto out;
    if ((st = store_user_get(db(r), r->who.user_id, &u, &err)) != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    if (!http_password_try(r, u.email, true)) goto out;
    if (!http_password_verify(u.pass_hash, pw)) {
        http_audit(r, "self.consent_withdraw_failed", "person", p.id,
                   json_pack("{s:s,s:s}", "code", "wrong_password", "ip", r->ip));
        res =
            http_reply_error(r, MHD_HTTP_FORBIDDEN, "wrong_password", "the password is not right");
        goto out;
    }
    http_password_right(r, u.email, true);
    if ((st = http_erase_biometrics(r, p.id, true, &erased, &err)) != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "self.consent_withdrawn", "person", p.id,
               json_pack("{s:O,s:o,s:s}", "erased", erased, "consent_was",
                         http_time_json(p.consent_ms), "ip", r->ip));
    res = http_reply_json(r, MHD_HTTP_OK,
                          json_pack("{s:o,s:o,s:o}", "erased", erased, "consent_at", json_null(),
                                    "consent_was", http_time_json(p.consent_ms)));
out:
    json_decref(b);
    return res;
}

/* ---- self-registration -------------------------------------------------- */

/* The public page's facts: whether it is open, and the groups to pick. */
enum MHD_Result http_h_register_info(http_req *r)
{
    bool on = setting_bool(r, "self_registration_enabled", false);
    json_t *groups = json_array();
    if (on) {
        store_group *gs = NULL;
        size_t n = 0;
        if (store_group_list(db(r), (store_page){.limit = 10000}, &gs, &n, NULL, NULL) == RC_OK)
            for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    groups, json_pack("{s:I,s:s}", "id", (json_int_t)gs[i].id, "name", gs[i].name));
        free(gs);
    }
    return http_reply_json(r, MHD_HTTP_OK,
                           json_pack("{s:b,s:i,s:o,s:o}", "enabled", on, "photos", REG_PHOTOS,
                                     "groups", groups, "institution", http_institution_json(r)));
}

/* A plain multipart field, or NULL (answering 400 when required). */
static const char *form_field(http_req *r, const char *name, size_t max, bool required)
{
    const http_part *p = http_part_get(r, name);
    const char *v = p && !p->filename && p->data ? (const char *)p->data : "";
    if (strlen(v) > max) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "field_too_long",
                           json_pack("{s:s,s:i}", "field", name, "max", (int)max),
                           "field '%s' is longer than %zu characters", name, max);
        return NULL;
    }
    if (required && !*v) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                           json_pack("{s:s}", "field", name), "field '%s' is required", name);
        return NULL;
    }
    return v;
}

/* Whether a pending registration has this e-mail (case-insensitive): a
 * second one from the same student waits for the first to be settled. */
static bool email_pending(http_req *r, const char *email)
{
    store_person_filter f = {.query = email, .pending = 1};
    store_person *list = NULL;
    size_t n = 0;
    rc_error err;
    if (store_person_list(db(r), &f, (store_page){.limit = 50}, &list, &n, NULL, &err) != RC_OK) {
        rc_log(RC_LOG_WARN, "registration: pending check: %s", err.msg);
        return false;
    }
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) found = strcasecmp(list[i].email, email) == 0;
    free(list);
    return found;
}

static enum MHD_Result register_pending(http_req *r, const store_group *g, const char *first,
                                        const char *last, const char *email,
                                        recog_image photos[REG_PHOTOS]);

enum MHD_Result http_h_register(http_req *r)
{
    char ipkey[80];
    snprintf(ipkey, sizeof ipkey, "register:%s", r->addr_key);
    /* Every attempt counts, from the moment it is made. */
    unsigned wait = http_limiter_try(r->srv->reg_limiter, ipkey, rc_unix_ms());
    if (wait) {
        char why[96];
        snprintf(why, sizeof why, "too many registrations from this address; wait %u s", wait);
        return http_reply_too_many(r, wait, "address", why);
    }
    if (!setting_bool(r, "self_registration_enabled", false))
        return http_reply_error(r, MHD_HTTP_CONFLICT, "registration_disabled",
                                "self-registration is turned off");
    if (!r->srv->cfg.recog)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "models_unavailable",
                                "the face models are not loaded");
    if (!http_parse_multipart(r)) return MHD_YES;
    const char *first, *last, *email, *group, *consent;
    if (!(first = form_field(r, "first_name", 63, true)) ||
        !(last = form_field(r, "last_name", 63, true)) ||
        !(email = form_field(r, "email", 254, true)) ||
        !(group = form_field(r, "group_id", 20, true)) ||
        !(consent = form_field(r, "consent", 8, false)))
        return MHD_YES;
    const char *at = strchr(email, '@');
    if (!at || at == email || !strchr(at, '.') || strpbrk(email, " \t\r\n<>\"'"))
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                  json_pack("{s:s}", "field", "email"),
                                  "field 'email' must be an e-mail address");
    char *end;
    long long gid = strtoll(group, &end, 10);
    store_group g;
    if (*end || gid <= 0 || store_group_get(db(r), gid, &g, NULL) != RC_OK)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                  json_pack("{s:s}", "field", "group_id"),
                                  "field 'group_id' must name a group");
    if (strcmp(consent, "true") && strcmp(consent, "1"))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "consent_required",
                                "consent to the use of the photos is required");
    recog_image photos[REG_PHOTOS];
    size_t n = 0;
    for (size_t i = 0; i < r->nparts; i++) {
        const http_part *p = &r->parts[i];
        if (!p->filename) continue;
        if (n < REG_PHOTOS) photos[n] = (recog_image){p->data, p->len, p->filename};
        n++;
    }
    if (n != REG_PHOTOS)
        return http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "photos_required",
                                  json_pack("{s:i,s:i}", "count", (int)n, "needed", REG_PHOTOS),
                                  "send exactly %d photos (got %zu)", REG_PHOTOS, n);
    /* One registration at a time, from the checks for a pending e-mail and
     * face to the pending person's creation: two sent at the same instant
     * would otherwise each pass the checks before the other exists. */
    pthread_mutex_lock(&r->srv->reg_lock);
    enum MHD_Result res = register_pending(r, &g, first, last, email, photos);
    pthread_mutex_unlock(&r->srv->reg_lock);
    return res;
}

/* The rest of a self-registration, under reg_lock: refused while the
 * e-mail or the face waits for approval, else a pending person with the
 * three photos, in group g. */
static enum MHD_Result register_pending(http_req *r, const store_group *g, const char *first,
                                        const char *last, const char *email,
                                        recog_image photos[REG_PHOTOS])
{
    if (email_pending(r, email))
        return http_reply_error(r, MHD_HTTP_CONFLICT, "already_pending",
                                "a registration with this e-mail is already waiting for approval");
    store_person np = {.active = 0, .pending = 1};
    http_copy(np.first_name, sizeof np.first_name, first);
    http_copy(np.last_name, sizeof np.last_name, last);
    http_copy(np.email, sizeof np.email, email);
    http_copy(np.kind, sizeof np.kind, "student");
    recog_enroll_req req = {.new_person = &np,
                            .images = photos,
                            .n = REG_PHOTOS,
                            .consent = true,
                            .check_pending = true,
                            .actor = REG_ACTOR};
    recog_enroll_result res[REG_PHOTOS];
    recog_enroll_summary sum;
    rc_error err;
    rc_status st = recog_enroll(r->srv->cfg.recog, &req, res, &sum, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    if (sum.accepted < REG_PHOTOS) {
        /* All three or nothing: a refused photo is taken again, and no
         * half-registered person waits for approval. */
        if (sum.created && store_person_delete(db(r), sum.person_id, REG_ACTOR, &err) != RC_OK)
            rc_log(RC_LOG_WARN, "removing a refused self-registration: %s", err.msg);
        if (sum.created) http_gallery_changed(r, sum.person_id);
        /* Codes only: a public caller is never told whom a face resembles. */
        json_t *results = json_array();
        bool pending_face = false;
        for (size_t i = 0; i < REG_PHOTOS; i++) {
            bool refused = res[i].code && !res[i].accepted;
            pending_face |= refused && strcmp(res[i].code, RECOG_R_PENDING) == 0;
            json_array_append_new(results,
                                  json_pack("{s:s,s:b,s:o}", "file", photos[i].name, "accepted",
                                            res[i].accepted, "code",
                                            refused ? json_string(res[i].code) : json_null()));
        }
        /* The same face under another e-mail while the first waits: the
         * same answer as the same e-mail, for the face. */
        if (pending_face)
            return http_reply_error_p(
                r, MHD_HTTP_CONFLICT, "face_pending", json_pack("{s:o}", "results", results),
                "a registration with this face is already waiting for approval");
        return http_reply_error_p(
            r, MHD_HTTP_UNPROCESSABLE_CONTENT, "photos_refused",
            json_pack("{s:i,s:o}", "accepted", sum.accepted, "results", results),
            "%d of %d photos were accepted; take the others again", sum.accepted, REG_PHOTOS);
    }
    st = store_group_add_member(db(r), g->id, sum.person_id, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *detail =
        json_pack("{s:I,s:s,s:s}", "group_id", (json_int_t)g->id, "email", email, "ip", r->ip);
    char *text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    store_audit_add(db(r), REG_ACTOR, "registration.create", "person", sum.person_id,
                    text ? text : "", NULL);
    free(text);
    return http_reply_json(r, MHD_HTTP_CREATED,
                           json_pack("{s:I,s:s,s:s}", "id", (json_int_t)sum.person_id, "status",
                                     "pending", "group", g->name));
}

/* ---- approval ----------------------------------------------------------- */

static json_t *registration_json(http_req *r, const store_person *p)
{
    json_t *j = http_person_json(db(r), p);
    store_face *faces = NULL;
    size_t n = 0;
    json_t *ids = json_array();
    if (store_face_list(db(r), p->id, &faces, &n, NULL) == RC_OK)
        for (size_t i = 0; i < n; i++) json_array_append_new(ids, json_integer(faces[i].id));
    free(faces);
    json_object_set_new(j, "face_ids", ids);
    json_object_set_new(j, "pending", json_boolean(p->pending));
    return j;
}

enum MHD_Result http_h_registrations_list(http_req *r)
{
    store_person_filter f = {.pending = 1};
    if (http_scope_limited(r)) f.scope_user_id = r->who.user_id;
    store_person *ps = NULL;
    size_t n = 0;
    int64_t total = 0;
    rc_error err;
    rc_status st = store_person_list(db(r), &f, (store_page){.limit = 500}, &ps, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, registration_json(r, &ps[i]));
    free(ps);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

/* The pending registration named by {id}, in the caller's scope; false
 * after answering. */
static bool load_pending(http_req *r, store_person *p)
{
    if (!http_load_person(r, "id", p)) return false;
    if (!p->pending) {
        http_reply_error_p(r, MHD_HTTP_NOT_FOUND, "not_pending",
                           json_pack("{s:I}", "id", (json_int_t)p->id),
                           "person %lld is not a pending registration", (long long)p->id);
        return false;
    }
    return true;
}

enum MHD_Result http_h_registration_approve(http_req *r)
{
    store_person p;
    if (!load_pending(r, &p)) return MHD_YES;
    p.pending = 0;
    p.active = 1;
    rc_error err;
    rc_status st = store_person_update(db(r), &p, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_gallery_changed(r, p.id);
    http_audit(r, "registration.approve", "person", p.id,
               json_pack("{s:s,s:s}", "name", p.name, "email", p.email));
    return http_reply_json(r, MHD_HTTP_OK, registration_json(r, &p));
}

enum MHD_Result http_h_registration_reject(http_req *r)
{
    store_person p;
    if (!load_pending(r, &p)) return MHD_YES;
    rc_error err;
    rc_status st = store_person_delete(db(r), p.id, http_actor(r), &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_gallery_changed(r, p.id);
    http_audit(r, "registration.reject", "person", p.id,
               json_pack("{s:s,s:s}", "name", p.name, "email", p.email));
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
