/*
 * api_auth.c — who is calling and what administrators manage about callers:
 * resolving the session cookie or bearer API key into a principal; login
 * (argon2id verify, lock-out of an account from one address with growing
 * waits, kept in the database so it holds across processes, per-address
 * throttling in memory), logout and /me;
 * users, roles, API keys (the secret is shown once and stored as a SHA-256
 * hash: it is 256 random bits, so a slow hash adds nothing), the audit log and
 * settings.
 *
 * An API key reads "rc_<prefix>_<secret>": the prefix finds the record, the
 * secret's hash is compared in constant time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/store.h"
#include "internal.h"

#define SESSION_TTL_MS (12LL * 3600 * 1000)

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

/* ---- principal ---------------------------------------------------------- */

static void resolve_key(store *s, const char *token, http_principal *who)
{
    /* rc_<prefix>_<secret> */
    if (strncmp(token, "rc_", 3) != 0) return;
    const char *us = strchr(token + 3, '_');
    if (!us || us - (token + 3) >= 32 || us == token + 3) return;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(us - (token + 3)), token + 3);
    store_api_key k;
    if (store_api_key_get_by_prefix(s, prefix, &k, NULL) != RC_OK || k.revoked) return;
    char h[65];
    http_token_hash(us + 1, h);
    if (!http_ct_equal(h, k.key_hash)) return;
    unsigned bit = http_role_bit(k.role);
    if (!bit) return;
    who->role = bit;
    who->key_id = k.id;
    who->camera_id = k.camera_id;
    snprintf(who->label, sizeof who->label, "key:%lld", (long long)k.id);
    int64_t now = rc_unix_ms();
    if (now - k.last_used_ms > 60000) store_api_key_touch(s, k.id, now, NULL);
}

static void resolve_session(store *s, const char *token, http_principal *who)
{
    if (strlen(token) != 64) return;
    char h[65];
    http_token_hash(token, h);
    store_session se;
    if (store_session_get(s, h, rc_unix_ms(), &se, NULL) != RC_OK) return;
    store_user u;
    if (store_user_get(s, se.user_id, &u, NULL) != RC_OK || !u.active) return;
    unsigned bit = http_role_bit(u.role);
    if (!bit || bit == HTTP_METRICS) return;
    if ((bit == HTTP_MANAGER || bit == HTTP_AUDITOR) && u.group_limited) {
        /* Limited, even to no group at all: an empty list never widens. */
        who->limited = true;
        int64_t *gids = NULL;
        size_t ng = 0;
        if (store_user_groups(s, u.id, &gids, &ng, NULL) == RC_OK && gids) {
            size_t cap = sizeof who->groups / sizeof who->groups[0];
            who->ngroups = ng < cap ? ng : cap;
            memcpy(who->groups, gids, who->ngroups * sizeof *gids);
        }
        free(gids);
    }
    who->role = bit;
    who->user_id = u.id;
    who->person_id = u.person_id;
    who->must_change = u.must_change != 0;
    who->via_cookie = true;
    http_copy(who->session_id, sizeof who->session_id, token);
    http_copy(who->csrf, sizeof who->csrf, se.csrf);
    snprintf(who->label, sizeof who->label, "user:%lld", (long long)u.id);
}

void http_principal_resolve(store *s, const char *bearer, const char *cookie, http_principal *who)
{
    memset(who, 0, sizeof *who);
    who->role = HTTP_ANON;
    snprintf(who->label, sizeof who->label, "-");
    if (!s) return;
    if (bearer) {
        resolve_key(s, bearer, who);
        return; /* a bad key is not rescued by a cookie */
    }
    if (cookie) resolve_session(s, cookie, who);
}

void http_auth_resolve(http_req *r)
{
    const char *auth = http_header(r, "Authorization");
    const char *bearer = auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "rc_session");
    http_principal_resolve(db(r), bearer, cookie, &r->who);
}

/* ---- users -------------------------------------------------------------- */

static json_t *user_json(store *s, const store_user *u)
{
    int64_t *groups = NULL;
    size_t ng = 0;
    store_user_groups(s, u->id, &groups, &ng, NULL);
    json_t *gj = json_array();
    for (size_t i = 0; i < ng; i++) json_array_append_new(gj, json_integer(groups[i]));
    free(groups);
    return json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:o,s:b,s:b}", "id", (json_int_t)u->id,
                     "email", u->email, "name", u->name, "role", u->role, "person_id",
                     u->person_id ? json_integer(u->person_id) : json_null(), "created_at",
                     http_time_json(u->created_ms), "last_login_at",
                     http_time_json(u->last_login_ms), "active", u->active != 0, "group_ids", gj,
                     "must_change_password", u->must_change != 0, "all_groups", !u->group_limited);
}

/* The institution's time zone, which every signed-in role may read (the rest
 * of the settings is for administrators): the one set, else the one in force
 * (the system's), else UTC. */
static json_t *timezone_json(http_req *r)
{
    if (!r->srv->att) return json_string("UTC");
    att_config c;
    att_get_config(r->srv->att, &c); /* the engine's copy, reloaded when settings change */
    return json_string(c.timezone[0] ? c.timezone : att_tz_name(att_zone(r->srv->att)));
}

static json_t *me_json(http_req *r)
{
    if (r->who.user_id) {
        store_user u;
        rc_error err;
        if (store_user_get(db(r), r->who.user_id, &u, &err) != RC_OK) return NULL;
        return json_pack("{s:o,s:s,s:o,s:o}", "user", user_json(db(r), &u), "csrf_token",
                         r->who.csrf, "timezone", timezone_json(r), "institution",
                         http_institution_json(r));
    }
    /* An API key: describe it in the user shape so clients need one code path. */
    char name[64];
    snprintf(name, sizeof name, "API key %lld", (long long)r->who.key_id);
    json_t *j =
        json_pack("{s:{s:n,s:s,s:s,s:s,s:n,s:n,s:n,s:I},s:s,s:o,s:o}", "user", "id", "email", "",
                  "name", name, "role", http_role_name(r->who.role), "person_id", "created_at",
                  "last_login_at", "key_id", (json_int_t)r->who.key_id, "csrf_token", "",
                  "timezone", timezone_json(r), "institution", http_institution_json(r));
    /* The key's camera, so a kiosk knows whether to offer Entrada/Salida. */
    store_camera c;
    if (r->who.camera_id && store_camera_get(db(r), r->who.camera_id, &c, NULL) == RC_OK)
        json_object_set_new(j, "camera",
                            json_pack("{s:I,s:s,s:s}", "id", (json_int_t)c.id, "name", c.name,
                                      "direction", c.direction));
    return j;
}

static void login_ipkey(const http_req *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "ip:%s", r->addr_key);
}

bool http_password_try(http_req *r, const char *email, bool address)
{
    int64_t now = rc_unix_ms();
    char ipkey[80];
    login_ipkey(r, ipkey, sizeof ipkey);
    if (address) {
        unsigned wait = http_limiter_try(r->srv->login_limiter, ipkey, now);
        if (wait) {
            http_reply_too_many(r, wait, "address",
                                "too many failed logins from this address; try again later");
            return false;
        }
    }
    /* Failures lock this account from this address only: a stranger's
     * guesses never lock the owner out of theirs. Checked and counted under
     * one lock: the try's failure is in the store before the next try
     * looks. */
    int64_t wait_ms = 0;
    pthread_mutex_lock(&r->srv->auth_lock);
    store_login_wait(db(r), email, r->addr_key, now, &wait_ms, NULL);
    if (wait_ms <= 0) store_login_failure_add(db(r), email, r->addr_key, now, NULL);
    pthread_mutex_unlock(&r->srv->auth_lock);
    if (wait_ms > 0) {
        if (address) http_limiter_forgive(r->srv->login_limiter, ipkey, 1); /* not tried */
        http_reply_too_many(r, (unsigned)((wait_ms + 999) / 1000), "account",
                            "too many failed logins to this account from this address; try again "
                            "later (an admin can run: rollcall user unlock EMAIL)");
        return false;
    }
    return true;
}

void http_password_right(http_req *r, const char *email, bool address)
{
    store_login_failure_clear(db(r), email, r->addr_key, NULL);
    if (address) {
        char ipkey[80];
        login_ipkey(r, ipkey, sizeof ipkey);
        http_limiter_forgive(r->srv->login_limiter, ipkey, 1);
    }
}

enum MHD_Result http_reply_too_many(http_req *r, unsigned wait_s, const char *scope,
                                    const char *why)
{
    json_t *body =
        json_pack("{s:{s:s,s:s,s:i,s:{s:i,s:i,s:s}}}", "error", "code", "too_many_attempts",
                  "message", why, "retry_after_s", (int)wait_s, "params", "retry_after_s",
                  (int)wait_s, "minutes", (int)((wait_s + 59) / 60), "scope", scope);
    struct MHD_Response *resp = http_json_response(body);
    if (!resp) return MHD_NO;
    char s[16];
    snprintf(s, sizeof s, "%u", wait_s);
    MHD_add_response_header(resp, "Retry-After", s);
    return http_reply_response(r, MHD_HTTP_TOO_MANY_REQUESTS, resp);
}

/* Open a session for u and answer with it ({user, csrf_token, timezone,
 * institution} and the cookie): after a login and after a password change,
 * which ends every other session of the account. */
static enum MHD_Result reply_new_session(http_req *r, const store_user *u)
{
    int64_t now = rc_unix_ms();
    char token[65], csrf[65], h[65];
    http_random_hex(token, 32);
    http_random_hex(csrf, 32);
    http_token_hash(token, h);
    store_session se = {.user_id = u->id, .created_ms = now, .expires_ms = now + SESSION_TTL_MS};
    http_copy(se.token_hash, sizeof se.token_hash, h);
    http_copy(se.csrf, sizeof se.csrf, csrf);
    rc_error err;
    rc_status st = store_session_create(db(r), &se, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    struct MHD_Response *resp = http_json_response(
        json_pack("{s:o,s:s,s:o,s:o}", "user", user_json(db(r), u), "csrf_token", csrf, "timezone",
                  timezone_json(r), "institution", http_institution_json(r)));
    if (!resp) return MHD_NO;
    char cookie[256];
    snprintf(cookie, sizeof cookie,
             "rc_session=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", token,
             SESSION_TTL_MS / 1000, r->srv->tls ? "; Secure" : "");
    MHD_add_response_header(resp, "Set-Cookie", cookie);
    return http_reply_response(r, MHD_HTTP_OK, resp);
}

enum MHD_Result http_h_login(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    const char *email = NULL, *password = NULL;
    if (!http_field_str(r, b, "email", true, 254, &email, NULL) ||
        !http_field_str(r, b, "password", true, 1024, &password, NULL)) {
        json_decref(b);
        return MHD_YES;
    }
    if (!http_password_try(r, email, true)) {
        json_decref(b);
        return MHD_YES;
    }
    int64_t now = rc_unix_ms();
    store_user u;
    rc_error err;
    rc_status st = store_user_get_by_email(db(r), email, &u, &err);
    bool ok;
    if (st == RC_OK) {
        ok = http_password_verify(u.pass_hash, password) && u.active;
    } else {
        http_password_verify(r->srv->dummy_hash, password); /* same time either way */
        ok = false;
    }
    if (!ok) { /* the failure is counted (http_password_try) */
        http_audit(r, "auth.login_failed", "user", 0,
                   json_pack("{s:s,s:s}", "email", email, "ip", r->ip));
        json_decref(b);
        return http_reply_error(r, MHD_HTTP_UNAUTHORIZED, "invalid_credentials",
                                "wrong e-mail or password");
    }
    http_password_right(r, email, true);
    json_decref(b);
    store_session_purge(db(r), now, NULL, NULL); /* what expired goes at every login */
    store_login_failure_purge(db(r), now, NULL, NULL);
    store_user_touch_login(db(r), u.id, now, NULL);
    u.last_login_ms = now;
    r->who.user_id = u.id;
    snprintf(r->who.label, sizeof r->who.label, "user:%lld", (long long)u.id);
    http_audit(r, "auth.login", "user", u.id, json_pack("{s:s}", "ip", r->ip));
    return reply_new_session(r, &u);
}

enum MHD_Result http_h_logout(http_req *r)
{
    if (r->who.via_cookie) {
        char h[65];
        http_token_hash(r->who.session_id, h);
        store_session_delete(db(r), h, NULL);
        http_audit(r, "auth.logout", "user", r->who.user_id, NULL);
        http_hub_revalidate(r->srv->hub);
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Set-Cookie",
                            "rc_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    return http_reply_response(r, MHD_HTTP_NO_CONTENT, resp);
}

enum MHD_Result http_h_me(http_req *r)
{
    json_t *j = me_json(r);
    if (!j) return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "your user is gone");
    return http_reply_json(r, MHD_HTTP_OK, j);
}

static bool valid_password(http_req *r, const char *pw);
static void end_other_sessions(http_req *r, const store_user *u);

/* Change one's own password: the current one, then the new one (8+
 * characters, not the same). Ends every other session of the account (a
 * stolen cookie stops working) and answers with a fresh session for this
 * browser; clears the one-time flag. */
enum MHD_Result http_h_password(http_req *r)
{
    if (!r->who.user_id) /* a device key: nothing to change, not a lack of rights */
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "no_password",
                                "an API key has no password to change");
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    const char *cur = NULL, *pw = NULL;
    if (!http_field_str(r, b, "current_password", true, 1024, &cur, NULL) ||
        !http_field_str(r, b, "new_password", true, 1024, &pw, NULL) || !valid_password(r, pw))
        goto out;
    store_user u;
    rc_error err;
    rc_status st = store_user_get(db(r), r->who.user_id, &u, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    /* A wrong current password is a failed login to the account: a session
     * left open is no way to guess its password past the lock-out, nor to
     * keep the server hashing. */
    if (!http_password_try(r, u.email, true)) goto out;
    if (!http_password_verify(u.pass_hash, cur)) {
        http_audit(r, "auth.password_change_failed", "user", u.id, NULL);
        res = http_reply_error(r, MHD_HTTP_FORBIDDEN, "wrong_current_password",
                               "the current password is not right");
        goto out;
    }
    http_password_right(r, u.email, true);
    if (strcmp(cur, pw) == 0) {
        res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "same_password",
                               "the new password must differ from the current one");
        goto out;
    }
    if ((st = http_password_hash(pw, u.pass_hash, sizeof u.pass_hash, &err)) == RC_OK) {
        u.must_change = 0;
        st = store_user_update(db(r), &u, &err);
    }
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    /* The account's other sessions end (a stolen cookie stops working), and
     * this browser's session is replaced by a new one. */
    end_other_sessions(r, &u);
    char h[65];
    http_token_hash(r->who.session_id, h);
    store_session_delete(db(r), h, NULL);
    http_audit(r, "auth.password_change", "user", u.id, NULL);
    res = reply_new_session(r, &u);
out:
    json_decref(b);
    return res;
}

static const char *const api_roles[] = {"admin", "manager", "member", "device", "auditor", NULL};

static bool valid_email(http_req *r, const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@') || strpbrk(email, " \t\r\n<>\"")) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'email' must be an e-mail address like name@example.org");
        return false;
    }
    return true;
}

static bool valid_password(http_req *r, const char *pw)
{
    if (strlen(pw) < 8) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "weak_password", json_pack("{s:i}", "min", 8),
                           "the password must have at least 8 characters");
        return false;
    }
    return true;
}

/* The person a user is linked to must exist. */
static bool valid_person(http_req *r, int64_t pid)
{
    store_person p;
    if (pid && store_person_get(db(r), pid, &p, NULL) != RC_OK) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'person_id': there is no person %lld", (long long)pid);
        return false;
    }
    return true;
}

static size_t count_admins(store *s)
{
    store_user *us = NULL;
    size_t n = 0, admins = 0;
    int64_t total;
    store_page page = {10000, 0};
    if (store_user_list(s, page, &us, &n, &total, NULL) != RC_OK) return 1;
    for (size_t i = 0; i < n; i++) admins += strcmp(us[i].role, "admin") == 0 && us[i].active;
    free(us);
    return admins;
}

enum MHD_Result http_h_users_list(http_req *r)
{
    int64_t limit, offset, total = 0;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_user *us = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_user_list(db(r), (store_page){limit, offset}, &us, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, user_json(db(r), &us[i]));
    free(us);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

/* The fields of a user's body, shared by create (where e-mail, name, role
 * and password are required) and update (where every field is optional). */
typedef struct {
    const char *email, *name, *role, *pw;
    bool has_email, has_name, has_role, has_pw, has_active, active;
    bool has_must_change, must_change; /* "must_change_password" */
    bool has_person;                   /* "person_id" given: a number, or null to unlink */
    int64_t person_id;
    int64_t gids[64];
    size_t ng;
    bool has_groups;
    /* The group limit to store, when has_limit: "all_groups" given, or
     * group_ids given (a non-empty list limits; [] or null, as before
     * all_groups existed, means every group). */
    bool has_limit, limited;
} user_body;

static bool user_fields(http_req *r, json_t *b, bool create, user_body *f)
{
    *f = (user_body){.active = true};
    if (!http_field_str(r, b, "email", create, 254, &f->email, &f->has_email) ||
        (f->has_email && !valid_email(r, f->email)) ||
        !http_field_str(r, b, "name", create, 127, &f->name, &f->has_name) ||
        !http_field_enum(r, b, "role", create, api_roles, &f->role, &f->has_role) ||
        !http_field_str(r, b, "password", create, 1024, &f->pw, &f->has_pw) ||
        (f->has_pw && !valid_password(r, f->pw)) ||
        !http_field_bool(r, b, "active", false, &f->active, &f->has_active) ||
        !http_field_bool(r, b, "must_change_password", false, &f->must_change, &f->has_must_change))
        return false;
    json_t *pj = json_object_get(b, "person_id");
    f->has_person = pj != NULL;
    if (pj && !json_is_null(pj) &&
        (!http_field_int(r, b, "person_id", false, 1, INT64_MAX, &f->person_id, NULL) ||
         !valid_person(r, f->person_id)))
        return false;
    bool all = false, has_all = false;
    if (!http_field_group_ids(r, b, f->gids, &f->ng, &f->has_groups) ||
        !http_field_bool(r, b, "all_groups", false, &all, &has_all))
        return false;
    if (has_all && all && f->ng > 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "'all_groups': true and a non-empty 'group_ids' contradict each other");
        return false;
    }
    bool ids_given = f->has_groups || json_is_null(json_object_get(b, "group_ids"));
    f->has_limit = has_all || ids_given;
    f->limited = has_all ? !all : f->ng > 0;
    return true;
}

enum MHD_Result http_h_users_create(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    user_body f;
    if (!user_fields(r, b, true, &f)) goto out;
    /* The password an admin chose is one-time: its owner changes it first. */
    store_user u = {.active = f.active,
                    .person_id = f.person_id,
                    .group_limited = f.limited,
                    .must_change = f.has_must_change ? f.must_change : 1};
    http_copy(u.email, sizeof u.email, f.email);
    http_copy(u.name, sizeof u.name, f.name);
    http_copy(u.role, sizeof u.role, f.role);
    rc_error err;
    rc_status st = http_password_hash(f.pw, u.pass_hash, sizeof u.pass_hash, &err);
    if (st == RC_OK) st = store_user_create(db(r), &u, &err);
    if (st == RC_OK && f.has_groups) st = store_user_set_groups(db(r), u.id, f.gids, f.ng, &err);
    if (st != RC_OK) {
        if (st == RC_ERR_CONFLICT)
            res = http_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
                                   "a user with e-mail %s already exists", f.email);
        else
            res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "user.create", "user", u.id,
               json_pack("{s:s,s:s}", "email", f.email, "role", f.role));
    res = http_reply_json(r, MHD_HTTP_CREATED, user_json(db(r), &u));
out:
    json_decref(b);
    return res;
}

static bool load_user(http_req *r, store_user *u)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return false;
    rc_error err;
    rc_status st = store_user_get(db(r), id, u, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return true;
}

enum MHD_Result http_h_users_get(http_req *r)
{
    store_user u;
    if (!load_user(r, &u)) return MHD_YES;
    return http_reply_json(r, MHD_HTTP_OK, user_json(db(r), &u));
}

/* A new password ends the user's sessions (but the one the user changed
 * their own password from) and lifts any lock-out. */
static void end_other_sessions(http_req *r, const store_user *u)
{
    if (r->who.via_cookie && r->who.user_id == u->id) {
        char h[65];
        http_token_hash(r->who.session_id, h);
        store_session_delete_others(db(r), u->id, h, NULL);
    } else {
        store_session_delete_user(db(r), u->id, NULL);
    }
    store_login_failure_clear(db(r), u->email, NULL, NULL);
}

enum MHD_Result http_h_users_patch(http_req *r)
{
    store_user u;
    if (!load_user(r, &u)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    user_body f;
    if (!user_fields(r, b, false, &f)) goto out;
    bool was_admin = strcmp(u.role, "admin") == 0 && u.active;
    if (f.has_email) http_copy(u.email, sizeof u.email, f.email);
    if (f.has_name) http_copy(u.name, sizeof u.name, f.name);
    if (f.has_role) http_copy(u.role, sizeof u.role, f.role);
    if (f.has_person) u.person_id = f.person_id;
    if (f.has_active) u.active = f.active;
    if (f.has_limit) u.group_limited = f.limited;
    bool still_admin = strcmp(u.role, "admin") == 0 && u.active;
    if (was_admin && !still_admin && count_admins(db(r)) <= 1) {
        res = http_reply_error(r, MHD_HTTP_CONFLICT, "last_admin",
                               "this is the last active admin; make another admin first");
        goto out;
    }
    rc_error err;
    rc_status st = RC_OK;
    if (f.has_pw) {
        st = http_password_hash(f.pw, u.pass_hash, sizeof u.pass_hash, &err);
        u.must_change = u.id != r->who.user_id; /* a password set for someone else is one-time */
    }
    if (f.has_must_change) u.must_change = f.must_change;
    if (st == RC_OK) st = store_user_update(db(r), &u, &err);
    /* Every group again: the old list goes with the limit. */
    bool clear = f.has_limit && !f.limited;
    if (st == RC_OK && (f.has_groups || clear || json_is_null(json_object_get(b, "group_ids"))))
        st = store_user_set_groups(db(r), u.id, f.gids, f.has_groups ? f.ng : 0, &err);
    if (st == RC_OK && f.has_pw) end_other_sessions(r, &u);
    /* Deactivating ends the sessions for good: activating the account again
     * must not bring a session back (a stolen cookie was often the reason). */
    if (st == RC_OK && !u.active) store_session_delete_user(db(r), u.id, NULL);
    if (st != RC_OK) {
        res = st == RC_ERR_CONFLICT ? http_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
                                                       "another user has that e-mail")
                                    : http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "user.update", "user", u.id,
               json_pack("{s:b,s:b,s:b}", "role", f.has_role, "password", f.has_pw, "active",
                         f.has_active));
    http_hub_revalidate(r->srv->hub); /* their event streams follow the change */
    res = http_reply_json(r, MHD_HTTP_OK, user_json(db(r), &u));
out:
    json_decref(b);
    return res;
}

enum MHD_Result http_h_users_delete(http_req *r)
{
    store_user u;
    if (!load_user(r, &u)) return MHD_YES;
    if (strcmp(u.role, "admin") == 0 && u.active && count_admins(db(r)) <= 1)
        return http_reply_error(r, MHD_HTTP_CONFLICT, "last_admin",
                                "this is the last active admin; make another admin first");
    rc_error err;
    rc_status st = store_user_delete(db(r), u.id, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    http_audit(r, "user.delete", "user", u.id, json_pack("{s:s}", "email", u.email));
    http_hub_revalidate(r->srv->hub);
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result http_h_roles(http_req *r)
{
    return http_reply_json(
        r, MHD_HTTP_OK,
        json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "name", "admin",
                  "description", "everything, including users, API keys, cameras and settings",
                  "name", "manager", "description",
                  "people, groups, schedules, enrollment, attendance and reports", "name", "member",
                  "description", "their own attendance only", "name", "device", "description",
                  "recognize faces and mark attendance (cameras, kiosks)", "name", "metrics",
                  "description", "API keys only: read GET /metrics (monitoring)", "name", "auditor",
                  "description",
                  "read-only (HR, inspection): people, groups, timetables, attendance, reports "
                  "and exports; no changes, no face images"));
}

/* ---- API keys ----------------------------------------------------------- */

static json_t *key_json(const store_api_key *k)
{
    int64_t cam = k->camera_id;
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:o,s:o,s:o}", "id", (json_int_t)k->id, "name", k->name, "role", k->role,
        "prefix", k->prefix, "camera_id", cam ? json_integer(cam) : json_null(), "created_at",
        http_time_json(k->created_ms), "last_used_at", http_time_json(k->last_used_ms));
}

enum MHD_Result http_h_keys_list(http_req *r)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    store_api_key *ks = NULL;
    size_t n = 0;
    rc_error err;
    rc_status st = store_api_key_list(db(r), &ks, &n, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ks[i].revoked) continue;
        if (total >= offset && total < offset + limit)
            json_array_append_new(items, key_json(&ks[i]));
        total++;
    }
    free(ks);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, total));
}

enum MHD_Result http_h_keys_create(http_req *r)
{
    static const char *const key_roles[] = {"device", "admin", "manager", "metrics", "auditor", NULL};
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    const char *name, *role;
    int64_t cam = 0;
    enum MHD_Result res = MHD_YES;
    if (!http_field_str(r, b, "name", true, 127, &name, NULL) ||
        !http_field_enum(r, b, "role", true, key_roles, &role, NULL))
        goto out;
    if (!json_is_null(json_object_get(b, "camera_id")) &&
        !http_field_int(r, b, "camera_id", false, 1, INT64_MAX, &cam, NULL))
        goto out;
    store_camera c;
    if (cam && store_camera_get(db(r), cam, &c, NULL) != RC_OK) {
        res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                               "field 'camera_id': there is no camera %lld", (long long)cam);
        goto out;
    }
    char prefix[13], secret[65], key[96];
    http_random_hex(prefix, 6);
    http_random_hex(secret, 32);
    snprintf(key, sizeof key, "rc_%s_%s", prefix, secret);
    store_api_key k = {0};
    http_copy(k.name, sizeof k.name, name);
    http_copy(k.prefix, sizeof k.prefix, prefix);
    http_token_hash(secret, k.key_hash);
    http_copy(k.role, sizeof k.role, role);
    k.camera_id = cam;
    rc_error err;
    rc_status st = store_api_key_create(db(r), &k, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, "api_key.create", "api_key", k.id,
               json_pack("{s:s,s:s}", "name", name, "role", role));
    json_t *j = key_json(&k);
    json_object_set_new(j, "key", json_string(key));
    res = http_reply_json(r, MHD_HTTP_CREATED, j);
out:
    json_decref(b);
    return res;
}

rc_status http_key_revoke(http_req *r, int64_t id, json_t *detail, rc_error *err)
{
    rc_status st = store_api_key_revoke(db(r), id, err);
    if (st != RC_OK) {
        json_decref(detail);
        return st;
    }
    http_audit(r, "api_key.revoke", "api_key", id, detail);
    http_hub_revalidate(r->srv->hub); /* its event streams end now */
    return RC_OK;
}

enum MHD_Result http_h_keys_delete(http_req *r)
{
    int64_t id;
    if (!http_param_id(r, "id", &id)) return MHD_YES;
    rc_error err;
    rc_status st = http_key_revoke(r, id, NULL, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    return http_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* ---- audit -------------------------------------------------------------- */

enum MHD_Result http_h_audit(http_req *r)
{
    int64_t limit, offset;
    if (!http_query_page(r, &limit, &offset)) return MHD_YES;
    const char *action = http_query(r, "action");
    store_audit *as = NULL;
    size_t n = 0;
    int64_t total = 0;
    rc_error err;
    store_page page = action && *action ? (store_page){10000, 0} : (store_page){limit, offset};
    rc_status st = store_audit_list(db(r), NULL, 0, page, &as, &n, &total, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *items = json_array();
    int64_t matched = 0;
    for (size_t i = 0; i < n; i++) {
        if (action && *action) {
            if (strcmp(as[i].action, action) != 0) continue;
            matched++;
            if (matched <= offset || matched > offset + limit) continue;
        }
        char target[64];
        snprintf(target, sizeof target, "%s:%lld", as[i].target_type, (long long)as[i].target_id);
        json_array_append_new(items,
                              json_pack("{s:I,s:o,s:s,s:s,s:o,s:s}", "id", (json_int_t)as[i].id,
                                        "time", http_time_json(as[i].ts_ms), "actor", as[i].actor,
                                        "action", as[i].action, "target",
                                        as[i].target_type[0] ? json_string(target) : json_null(),
                                        "detail", as[i].detail));
    }
    free(as);
    return http_reply_json(r, MHD_HTTP_OK, http_list(items, action && *action ? matched : total));
}

/* ---- settings ----------------------------------------------------------- */

/* The attendance rules own the settings (att_config); this is their JSON. */
static json_t *settings_json(const att_config *c)
{
    json_t *j = json_pack("{s:s,s:i,s:i,s:i,s:f,s:f,s:b}", "timezone",
                          c->timezone[0] ? c->timezone : "", "dedup_window_s", c->dedup_window_s,
                          "min_stay_s", c->min_stay_s, "slot_margin_min", c->slot_margin_min,
                          "recognition_threshold", c->recognition_threshold, "liveness_threshold",
                          c->liveness_threshold, "keep_unrecognized", c->keep_unrecognized != 0);
    json_object_set_new(j, "attendance_start_day",
                        c->start_day[0] ? json_string(c->start_day) : json_null());
    json_object_set_new(j, "unrecognized_retention_days",
                        json_integer(c->unrecognized_retention_days));
    json_object_set_new(j, "presence_mode", json_string(att_presence_name(c->presence)));
    return j;
}

/* What the answer adds to the rules' settings: the institution's start in
 * effect (the setting, or the first use when it is unset) and whether every
 * group's managers get the absentee list of each slot. */
static void settings_more_json(http_req *r, json_t *j)
{
    int64_t days;
    if (r->srv->att && att_start_day(r->srv->att, att_zone(r->srv->att), &days, NULL) == RC_OK &&
        days != INT64_MIN) {
        char ds[11];
        att_day_string(days, ds);
        json_object_set_new(j, "attendance_start_day_in_effect", json_string(ds));
    } else {
        json_object_set_new(j, "attendance_start_day_in_effect", json_null());
    }
    char v[8] = "";
    store_setting_get(db(r), "absentee_notify", v, sizeof v, NULL);
    json_object_set_new(j, "absentee_notify", json_boolean(!strcmp(v, "1")));
}

enum MHD_Result http_h_settings_get(http_req *r)
{
    att_config c;
    rc_error err;
    rc_status st = att_config_load(db(r), &c, &err);
    if (st != RC_OK) return http_reply_rc(r, st, &err);
    json_t *j = settings_json(&c);
    http_kiosk_settings_json(r, j);
    http_self_settings_json(r, j);
    settings_more_json(r, j);
    /* The zone in effect when none is set: the system's. */
    if (!c.timezone[0] && r->srv->att)
        json_object_set_new(j, "timezone_in_effect",
                            json_string(att_tz_name(att_zone(r->srv->att))));
    return http_reply_json(r, MHD_HTTP_OK, j);
}

/* Field attendance_start_day: a date YYYY-MM-DD, or null/"" for none.
 * Returns false after answering 400. */
static bool settings_start_day(http_req *r, json_t *b, att_config *c)
{
    json_t *v = json_object_get(b, "attendance_start_day");
    int64_t days;
    if (!v) return true;
    const char *s = json_is_null(v) ? "" : json_string_value(v);
    if (!s || (*s && (strlen(s) != 10 || att_parse_day(s, &days)))) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                         "field 'attendance_start_day' must be a date YYYY-MM-DD or null");
        return false;
    }
    http_copy(c->start_day, sizeof c->start_day, s);
    return true;
}

/* A name of the tz database: "UTC", or a file under /usr/share/zoneinfo
 * named by plain segments (letters, digits, "_", "-", "+"; none starting
 * with a dot) that is a compiled zone (TZif). Not a path, not a POSIX rule
 * such as "ABC-3", not zone.tab. */
static bool tz_database_name(const char *tz)
{
    if (strcmp(tz, "UTC") == 0) return true;
    if (!*tz || tz[0] == '/' || strlen(tz) > 60) return false;
    for (const char *p = tz; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '+' || *p == '/' ||
                  (*p == '.' && p != tz && p[-1] != '/');
        if (!ok) return false;
    }
    if (strstr(tz, "//") || tz[strlen(tz) - 1] == '/' || strstr(tz, "..")) return false;
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char magic[4] = {0};
    bool tzif = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    return tzif;
}

enum MHD_Result http_h_settings_patch(http_req *r)
{
    static const char *const known[] = {"timezone",
                                        "dedup_window_s",
                                        "min_stay_s",
                                        "slot_margin_min",
                                        "recognition_threshold",
                                        "liveness_threshold",
                                        "keep_unrecognized",
                                        "unrecognized_retention_days",
                                        "institution_name",
                                        "institution_logo_url",
                                        "kiosk_pin",
                                        "attendance_start_day",
                                        "self_checkin_enabled",
                                        "self_checkin_window_min",
                                        "self_checkin_networks",
                                        "self_registration_enabled",
                                        "absentee_notify",
                                        "presence_mode",
                                        NULL};
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    att_config c;
    rc_error err;
    rc_status st = att_config_load(db(r), &c, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0) i++;
        if (!known[i]) {
            res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "unknown_setting",
                                   "there is no setting '%.64s'", key);
            goto out;
        }
    }
    const char *tz;
    bool has_tz, has, keep;
    int64_t n;
    double d;
    if (!http_field_str(r, b, "timezone", false, sizeof c.timezone - 1, &tz, &has_tz)) goto out;
    if (has_tz) {
        att_tz *zone = NULL;
        if (!tz_database_name(tz) || att_tz_load(tz, &zone, &err) != RC_OK) {
            res = http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                   "field 'timezone': '%s' is not a time zone (e.g. Europe/Madrid, "
                                   "UTC)",
                                   tz);
            goto out;
        }
        att_tz_free(zone);
        http_copy(c.timezone, sizeof c.timezone, tz);
    }
    if (!http_field_int(r, b, "dedup_window_s", false, 0, 86400, &n, &has)) goto out;
    if (has) c.dedup_window_s = (int)n;
    if (!http_field_int(r, b, "min_stay_s", false, 0, 86400, &n, &has)) goto out;
    if (has) c.min_stay_s = (int)n;
    if (!http_field_int(r, b, "slot_margin_min", false, 0, 720, &n, &has)) goto out;
    if (has) c.slot_margin_min = (int)n;
    if (!http_field_num(r, b, "recognition_threshold", false, 0, 1, &d, &has)) goto out;
    if (has) c.recognition_threshold = d;
    if (!http_field_num(r, b, "liveness_threshold", false, 0, 1, &d, &has)) goto out;
    if (has) c.liveness_threshold = d;
    if (!http_field_bool(r, b, "keep_unrecognized", false, &keep, &has)) goto out;
    if (has) c.keep_unrecognized = keep;
    if (!http_field_int(r, b, "unrecognized_retention_days", false, 0, 3650, &n, &has)) goto out;
    if (has) c.unrecognized_retention_days = (int)n;
    if (!settings_start_day(r, b, &c)) goto out;
    json_t *mode = json_object_get(b, "presence_mode");
    if (mode && att_presence_parse(json_string_value(mode), &c.presence)) {
        res = http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                                 json_pack("{s:s}", "field", "presence_mode"),
                                 "field 'presence_mode' must be \"day\" (a camera or kiosk at "
                                 "the door) or \"slot\" (one in each classroom)");
        goto out;
    }
    bool notify_all, has_notify;
    if (!http_field_bool(r, b, "absentee_notify", false, &notify_all, &has_notify)) goto out;
    if (!http_kiosk_settings_patch(r, b) || !http_self_settings_patch(r, b)) goto out;
    if (has_notify &&
        (st = store_setting_set(db(r), "absentee_notify", notify_all ? "1" : "0", &err)) != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    if ((st = att_config_save(db(r), &c, &err)) != RC_OK ||
        (r->srv->att && (st = att_reload(r->srv->att, &err)) != RC_OK)) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    json_t *audited = json_deep_copy(b);
    if (json_object_get(audited, "kiosk_pin")) /* never the PIN itself */
        json_object_set_new(audited, "kiosk_pin", json_string("(changed)"));
    http_audit(r, "settings.update", "settings", 0, audited);
    json_t *j = settings_json(&c);
    http_kiosk_settings_json(r, j);
    http_self_settings_json(r, j);
    settings_more_json(r, j);
    res = http_reply_json(r, MHD_HTTP_OK, j);
out:
    json_decref(b);
    return res;
}

rc_status http_ensure_admin(store *s, const char *email, const char *password, char generated[33],
                            bool *created, rc_error *err)
{
    *created = false;
    generated[0] = 0;
    if (count_admins(s) > 0) return RC_OK;
    store_user u = {.active = 1};
    http_copy(u.email, sizeof u.email, email && *email ? email : "admin@localhost");
    u.must_change = !password || !*password;           /* the printed password is one-time */
    http_copy(u.name, sizeof u.name, "Administrador"); /* the UI's language */
    http_copy(u.role, sizeof u.role, "admin");
    if (!password || !*password) {
        http_random_hex(generated, 16);
        password = generated;
    } else if (strlen(password) < 8) {
        return rc_fail(err, RC_ERR_INVALID, "the admin password must have at least 8 characters");
    }
    rc_status st = http_password_hash(password, u.pass_hash, sizeof u.pass_hash, err);
    if (st != RC_OK) return st;
    store_user old;
    if (store_user_get_by_email(s, u.email, &old, NULL) == RC_OK) {
        /* The account exists but is not an active admin: promote it. */
        old.active = 1;
        http_copy(old.role, sizeof old.role, "admin");
        http_copy(old.pass_hash, sizeof old.pass_hash, u.pass_hash);
        old.must_change = u.must_change;
        st = store_user_update(s, &old, err);
    } else {
        st = store_user_create(s, &u, err);
    }
    if (st != RC_OK) return st;
    store_audit_add(s, "rollcall serve", "user.bootstrap_admin", "user", u.id, "{}", NULL);
    *created = true;
    return RC_OK;
}
