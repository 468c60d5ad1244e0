/*
 * api_kiosk.c — what a kiosk left at the door needs besides recognition: the
 * institution's name and logo it shows (settings any signed-in role reads),
 * the PIN that lets an administrator leave kiosk mode (stored as an argon2id
 * hash in the settings table, never shown), and the non-biometric check-in
 * for people who did not consent to face data or are not recognized: their
 * code and personal PIN typed on the kiosk, recorded as an event with source
 * "pin". Wrong PINs are throttled per client address and per code typed,
 * and every attempt is audited.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "internal.h"

#define PIN_MIN 4
#define PIN_MAX 12

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

static void setting(http_req *r, const char *key, char *buf, size_t cap)
{
    if (store_setting_get(db(r), key, buf, cap, NULL) != RC_OK) buf[0] = 0;
}

json_t *http_institution_json(http_req *r)
{
    char name[128], logo[1100];
    setting(r, "institution_name", name, sizeof name);
    setting(r, "institution_logo_url", logo, sizeof logo);
    return json_pack("{s:s,s:o}", "name", name, "logo_url",
                     logo[0] ? json_string(logo) : json_null());
}

void http_kiosk_settings_json(http_req *r, json_t *settings)
{
    char name[128], logo[1100], pin[256];
    setting(r, "institution_name", name, sizeof name);
    setting(r, "institution_logo_url", logo, sizeof logo);
    setting(r, "kiosk_pin_hash", pin, sizeof pin);
    json_object_set_new(settings, "institution_name", json_string(name));
    json_object_set_new(settings, "institution_logo_url", json_string(logo));
    json_object_set_new(settings, "kiosk_pin_set", json_boolean(pin[0] != 0));
}

/* A PIN anyone would try first: one digit over and over (0000, 111111) or
 * digits counting up or down by one (1234, 3456, 98765). The kiosk limits
 * wrong PINs per code and per address, but one PIN tried with a different
 * code each time meets only the address's limit: someone trying 1234 with
 * every code in turn, slowly, finds whoever chose it. */
static bool guessable_pin(const char *pin)
{
    bool same = true, up = true, down = true;
    for (size_t i = 1; pin[i]; i++) {
        int d = pin[i] - pin[i - 1];
        same = same && d == 0;
        up = up && d == 1;
        down = down && d == -1;
    }
    return same || up || down;
}

/* 4 to 12 digits, not guessable_pin; false after answering 400. */
static bool valid_pin(http_req *r, const char *field, const char *pin)
{
    size_t n = strlen(pin);
    if (n < PIN_MIN || n > PIN_MAX || strspn(pin, "0123456789") != n) {
        http_reply_error_p(
            r, MHD_HTTP_BAD_REQUEST, "invalid_pin_format",
            json_pack("{s:s,s:i,s:i}", "field", field, "min", PIN_MIN, "max", PIN_MAX),
            "field '%s' must be %d to %d digits", field, PIN_MIN, PIN_MAX);
        return false;
    }
    if (guessable_pin(pin)) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "weak_pin", json_pack("{s:s}", "field", field),
                           "field '%s' is too easy to guess (one digit repeated, or digits "
                           "counting up or down); choose another",
                           field);
        return false;
    }
    return true;
}

bool http_kiosk_settings_patch(http_req *r, json_t *b)
{
    const char *name = NULL, *logo = NULL, *pin = NULL;
    bool has_name, has_logo, has_pin;
    if (!http_field_str(r, b, "institution_name", false, 127, &name, &has_name) ||
        !http_field_str(r, b, "institution_logo_url", false, 1024, &logo, &has_logo) ||
        !http_field_str(r, b, "kiosk_pin", false, 64, &pin, &has_pin))
        return false;
    if (has_logo && *logo && strncmp(logo, "https://", 8) && strncmp(logo, "http://", 7) &&
        logo[0] != '/') {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s}", "field", "institution_logo_url"),
                           "field 'institution_logo_url' must be an http(s) URL or a path");
        return false;
    }
    if (has_pin && *pin && !valid_pin(r, "kiosk_pin", pin)) return false;
    rc_error err;
    rc_status st = RC_OK;
    if (has_name) st = store_setting_set(db(r), "institution_name", name, &err);
    if (st == RC_OK && has_logo) st = store_setting_set(db(r), "institution_logo_url", logo, &err);
    if (st == RC_OK && has_pin) {
        char hash[256] = "";
        if (*pin) st = http_password_hash(pin, hash, sizeof hash, &err);
        if (st == RC_OK) st = store_setting_set(db(r), "kiosk_pin_hash", hash, &err);
    }
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return true;
}

/* A try from this address, counted as a wrong PIN before it is checked
 * (tries sent at the same time cannot pass the limit together); answers
 * 429 when the address typed too many and returns true. */
static bool throttled(http_req *r, const char *ipkey)
{
    unsigned wait = http_limiter_try(r->srv->pin_limiter, ipkey, rc_unix_ms());
    if (!wait) return false;
    char why[96];
    snprintf(why, sizeof why, "too many wrong PINs from this kiosk; wait %u s", wait);
    http_reply_too_many(r, wait, "address", why);
    return true;
}

/* Leave kiosk mode: the kiosk PIN, or an administrator's password (the
 * signed-in admin's, or with "email" any active admin's for a device key). */
enum MHD_Result http_h_kiosk_unlock(http_req *r)
{
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    char ipkey[80];
    snprintf(ipkey, sizeof ipkey, "unlock:%s", r->addr_key);
    const char *pin = NULL, *password = NULL, *email = NULL;
    bool has_pin, has_pw, has_email, end_key = false, has_end;
    if (!http_field_str(r, b, "pin", false, 64, &pin, &has_pin) ||
        !http_field_str(r, b, "password", false, 1024, &password, &has_pw) ||
        !http_field_str(r, b, "email", false, 254, &email, &has_email) ||
        !http_field_bool(r, b, "end_key", false, &end_key, &has_end))
        goto out;
    if ((!has_pin || !*pin) && (!has_pw || !*password)) {
        res = http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                                 json_pack("{s:s}", "field", "pin"),
                                 "send the kiosk PIN (pin) or an admin password (password)");
        goto out;
    }
    if (throttled(r, ipkey)) goto out;
    bool ok = false;
    const char *how = "pin";
    if (has_pin && *pin) {
        char hash[256];
        setting(r, "kiosk_pin_hash", hash, sizeof hash);
        ok = hash[0] && http_password_verify(hash, pin);
    } else {
        how = "password";
        store_user u;
        rc_status st = has_email && *email ? store_user_get_by_email(db(r), email, &u, NULL)
                       : r->who.user_id    ? store_user_get(db(r), r->who.user_id, &u, NULL)
                                           : RC_ERR_NOT_FOUND;
        /* An admin's password tried here counts as a login to that account:
         * the kiosk is no way around the account's lock-out (api_auth.c). */
        const char *account = has_email && *email ? email : st == RC_OK ? u.email : "";
        if (*account && !http_password_try(r, account, false)) {
            http_limiter_forgive(r->srv->pin_limiter, ipkey, 1); /* not tried */
            goto out;
        }
        bool admin = st == RC_OK && u.active && strcmp(u.role, "admin") == 0;
        /* The same work for every account: whether an e-mail is somebody's
         * who is not an admin is not told by the time of the answer. */
        ok = http_password_verify(admin ? u.pass_hash : r->srv->dummy_hash, password) && admin;
        if (ok) http_password_right(r, u.email, false);
    }
    if (!ok) {
        http_audit(r, "kiosk.unlock_failed", "kiosk", 0,
                   json_pack("{s:s,s:s}", "by", how, "ip", r->ip));
        /* The wrong one that uses up the address's tries says so at once. */
        unsigned aw = http_limiter_lock_if_full(r->srv->pin_limiter, ipkey, rc_unix_ms());
        char why[112];
        snprintf(why, sizeof why, "wrong PIN or password; too many from this kiosk: wait %u s", aw);
        res = aw ? http_reply_too_many(r, aw, "address", why)
                 : http_reply_error(r, MHD_HTTP_FORBIDDEN, "kiosk_unlock_refused",
                                    "wrong PIN or password");
        goto out;
    }
    http_limiter_ok(r->srv->pin_limiter, ipkey);
    http_audit(r, "kiosk.unlock", "kiosk", 0, json_pack("{s:s,s:s}", "by", how, "ip", r->ip));
    /* A kiosk leaving for good gives up its own device key (one the web
     * app made when an admin started it to stay signed in): nobody can use
     * that key again, and it leaves the list of keys. */
    if (end_key && r->who.key_id > 0) {
        rc_error kerr;
        rc_status kst =
            http_key_revoke(r, r->who.key_id, json_pack("{s:s}", "by", "kiosk.unlock"), &kerr);
        if (kst != RC_OK) {
            res = http_reply_rc(r, kst, &kerr);
            goto out;
        }
    }
    res = http_reply_empty(r, MHD_HTTP_NO_CONTENT);
out:
    json_decref(b);
    return res;
}

/* A person's code and PIN typed on the kiosk: an attendance event with
 * source "pin", under the kiosk's camera, judged by the same rules as a face.
 * An unknown code and a wrong PIN get the same answer. */
enum MHD_Result http_h_kiosk_checkin(http_req *r)
{
    static const char *const kinds[] = {"entry", "exit", NULL};
    if (!r->srv->att)
        return http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "internal", "no store");
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    const char *code = NULL, *pin = NULL, *kind = NULL;
    int64_t camera_id = r->who.camera_id;
    bool has_kind, has_cam;
    if (!http_field_str(r, b, "code", true, 63, &code, NULL) ||
        !http_field_str(r, b, "pin", true, 64, &pin, NULL) ||
        !http_field_enum(r, b, "kind", false, kinds, &kind, &has_kind) ||
        (!r->who.camera_id &&
         !http_field_int(r, b, "camera_id", false, 1, INT64_MAX, &camera_id, &has_cam)) ||
        !http_require_known_camera(r, camera_id, true))
        goto out;
    /* The address, the code as typed, known or not (a lock says nothing of
     * whether the code exists), and the pair: this kiosk's failures on this
     * code. The try counts against the first two before the PIN is
     * checked, and is taken back when it was right. */
    char ipkey[80], codekey[80], pairkey[160];
    snprintf(ipkey, sizeof ipkey, "checkin:%s", r->addr_key);
    /* Codes are typed in any case ("a002" for A002): one lock for all. */
    snprintf(codekey, sizeof codekey, "%s", code);
    for (char *c = codekey; *c; c++) *c = (char)tolower((unsigned char)*c);
    snprintf(pairkey, sizeof pairkey, "%s\n%s", r->addr_key, codekey);
    if (throttled(r, ipkey)) goto out;
    store_person p;
    bool found = store_person_get_by_code(db(r), code, &p, NULL) == RC_OK && p.active;
    unsigned wait = http_limiter_try(r->srv->code_limiter, codekey, rc_unix_ms());
    if (wait) {
        http_limiter_forgive(r->srv->pin_limiter, ipkey, 1); /* not tried */
        http_audit(r, "kiosk.checkin_locked", "person", found ? p.id : 0,
                   json_pack("{s:s,s:s}", "code", code, "ip", r->ip));
        char why[96];
        snprintf(why, sizeof why, "too many wrong PINs for this code; wait %u s", wait);
        res = http_reply_too_many(r, wait, "code", why);
        goto out;
    }
    char hash[256] = "";
    if (found) store_person_pin_get(db(r), p.id, hash, sizeof hash, NULL);
    bool ok = hash[0] && http_password_verify(hash, pin);
    if (!hash[0]) http_password_verify(r->srv->dummy_hash, pin); /* same time either way */
    if (!ok) {
        int64_t now = rc_unix_ms();
        http_limiter_fail(r->srv->pair_counter, pairkey, now);
        http_audit(r, "kiosk.checkin_failed", "person", found ? p.id : 0,
                   json_pack("{s:s,s:s}", "code", code, "ip", r->ip));
        /* The wrong PIN that uses up a limit says so at once, not at the
         * next try. */
        unsigned cw = http_limiter_lock_if_full(r->srv->code_limiter, codekey, now);
        unsigned aw = http_limiter_lock_if_full(r->srv->pin_limiter, ipkey, now);
        char why[112];
        if (cw) {
            snprintf(why, sizeof why, "wrong PIN; too many for this code: wait %u s", cw);
            res = http_reply_too_many(r, cw, "code", why);
        } else if (aw) {
            snprintf(why, sizeof why, "wrong PIN; too many from this kiosk: wait %u s", aw);
            res = http_reply_too_many(r, aw, "address", why);
        } else {
            res = http_reply_error(r, MHD_HTTP_FORBIDDEN, "checkin_refused",
                                   "unknown code or wrong PIN");
        }
        goto out;
    }
    /* A person's own typos are forgiven, at this kiosk and for the code;
     * the wrong PINs typed for other codes still count: one's own PIN is
     * no way to go on guessing others'. */
    http_limiter_ok(r->srv->code_limiter, codekey);
    http_limiter_forgive(r->srv->pin_limiter, ipkey,
                         1 + http_limiter_take(r->srv->pair_counter, pairkey, rc_unix_ms()));
    att_sighting sg = {.person_id = p.id,
                       .ts_ms = rc_unix_ms(),
                       .camera_id = camera_id,
                       .confidence = 1,
                       .liveness = -1,
                       .kind = has_kind ? kind : NULL,
                       .source = "pin"};
    att_result ar;
    rc_error err;
    rc_status st = att_record(r->srv->att, &sg, NULL, 0, &ar, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    bool is_new = ar.outcome == ATT_NEW;
    http_publish_event(r->srv, &ar.event, is_new);
    http_audit(r, "kiosk.checkin", "person", p.id,
               json_pack("{s:I,s:s,s:s}", "event_id", (json_int_t)ar.event.id, "kind",
                         ar.event.kind, "ip", r->ip));
    json_t *ev = http_event_json(db(r), &ar.event);
    json_object_set_new(ev, "new", json_boolean(is_new));
    json_object_set_new(ev, "minutes_late", json_integer(att_minutes_late(r->srv->att, &ar.event)));
    res = http_reply_json(r, MHD_HTTP_OK,
                          json_pack("{s:{s:I,s:s},s:o}", "person", "id", (json_int_t)p.id, "name",
                                    p.name, "event", ev));
out:
    json_decref(b);
    return res;
}

/* Set (4–12 digits) or remove ("" or null) a person's kiosk PIN. */
enum MHD_Result http_h_person_pin(http_req *r)
{
    store_person p;
    if (!http_load_person(r, "id", &p)) return MHD_YES;
    json_t *b = http_json_body(r);
    if (!b) return MHD_YES;
    enum MHD_Result res = MHD_YES;
    const char *pin = "";
    if (!json_is_null(json_object_get(b, "pin")) &&
        (!http_field_str(r, b, "pin", true, 64, &pin, NULL) || (*pin && !valid_pin(r, "pin", pin))))
        goto out;
    char hash[256] = "";
    rc_error err;
    rc_status st = *pin ? http_password_hash(pin, hash, sizeof hash, &err) : RC_OK;
    if (st == RC_OK) st = store_person_pin_set(db(r), p.id, hash, &err);
    if (st != RC_OK) {
        res = http_reply_rc(r, st, &err);
        goto out;
    }
    http_audit(r, *pin ? "person.pin_set" : "person.pin_clear", "person", p.id, NULL);
    res = http_reply_json(r, MHD_HTTP_OK, json_pack("{s:b}", "pin_set", *pin != 0));
out:
    json_decref(b);
    return res;
}
