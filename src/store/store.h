/*
 * store — where everything Rollcall knows is kept: people, groups, faces and
 * their embeddings, schedules, holidays, cameras, attendance events,
 * unrecognized sightings, login accounts, sessions, API keys, the audit log
 * and settings. One interface over two databases: SQLite (a file path, the
 * embedded default `./data/rollcall.db`) and PostgreSQL (a `postgres://` URL).
 *
 * A store is shared by every thread of the process: each call borrows a
 * connection from a small pool and returns it before it returns, so calls
 * may come from any thread at once. Migrations are applied when the store is
 * opened. Times are Unix milliseconds in UTC; days are "YYYY-MM-DD" strings
 * in the institution's time zone (see src/attendance).
 *
 * Records are plain structs with fixed-size text fields; strings that do not
 * fit are refused with RC_ERR_LIMIT, never truncated. List functions return
 * an array the caller frees with free(). Lookups of a missing record return
 * RC_ERR_NOT_FOUND; a duplicate unique value returns RC_ERR_CONFLICT.
 */
#ifndef RC_STORE_H
#define RC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"

typedef struct store store;

typedef enum { STORE_SQLITE, STORE_POSTGRES } store_backend;

#define STORE_DEFAULT_URL "./data/rollcall.db"
#define STORE_EMBED_MAX   2048      /* largest embedding dimension accepted */
#define STORE_IMAGE_MAX   (8 << 20) /* largest face or sighting image, bytes */

/* ---- opening, migrations, maintenance ------------------------------------ */

enum {
    STORE_OPEN_NO_MIGRATE = 1, /* open as is (for `rollcall db status`) */
};

/* Open `url`: a file path (or "sqlite:PATH"), or "postgres://..." /
 * "postgresql://...". NULL means STORE_DEFAULT_URL. The parent directory of a
 * SQLite file is created. Pending migrations are applied unless
 * STORE_OPEN_NO_MIGRATE is given. A database from a newer Rollcall (with
 * migrations this build does not know) is refused with RC_ERR_UNSUPPORTED. */
rc_status store_open(const char *url, unsigned flags, store **out, rc_error *err);
void store_close(store *s);
store_backend store_kind(const store *s);
const char *store_backend_name(const store *s); /* "sqlite" or "postgres" */

typedef struct {
    int version;
    char name[64];
    int64_t applied_ms; /* 0 while pending */
} store_migration;

/* Apply pending migrations in one transaction (all or none); *applied (may be
 * NULL) receives how many ran. Safe to run from several processes at once. */
rc_status store_migrate(store *s, int *applied, rc_error *err);
/* The same, but only up to and including schema `version` (staged upgrades,
 * and tests that fill an older schema before upgrading it). */
rc_status store_migrate_to(store *s, int version, int *applied, rc_error *err);
/* Every migration this build knows, with when it was applied (caller frees). */
rc_status store_migrations(store *s, store_migration **out, size_t *n, rc_error *err);
/* SQLite: consistent copy into a new file `path` while others keep writing
 * (online backup API). PostgreSQL: RC_ERR_UNSUPPORTED with pg_dump advice. */
rc_status store_backup(store *s, const char *path, rc_error *err);
/* Integrity check into buf: "ok" when healthy, else what is wrong. SQLite:
 * PRAGMA integrity_check. PostgreSQL: amcheck's bt_index_check (with
 * heapallindexed) over every index when the amcheck extension is installed
 * in the database, otherwise only that the server answers. */
rc_status store_check(store *s, char *buf, size_t cap, rc_error *err);
/* The check `rollcall serve` runs at start: SQLite's PRAGMA quick_check
 * (every page and record read, indexes not matched against tables: a few
 * seconds per GB); PostgreSQL: that the server answers. "ok" when healthy.
 * Errors met later while answering queries on a damaged SQLite file are
 * RC_ERR_DB (the server's fault, not the caller's); a file found damaged by
 * store_open is RC_ERR_CORRUPT. */
rc_status store_quick_check(store *s, char *buf, size_t cap, rc_error *err);

/* Make the calling thread's next store calls one transaction: they all use
 * one connection until store_tx_end, which commits when st is RC_OK and
 * rolls back otherwise (returning the final status). On PostgreSQL a
 * non-zero lock_key also takes a transaction-scoped advisory lock, so
 * transactions with the same key run one after the other even across
 * processes; on SQLite the transaction holds the database's write lock from
 * the start, which serialises all writers anyway. Nested begin/end pairs
 * (a caller's transaction around att_manual, say) join the outer one: a
 * nested begin takes its lock too, a nested end commits nothing, and a
 * nested end with a failure makes the outermost end roll back. */
rc_status store_tx_begin(store *s, int64_t lock_key, rc_error *err);
rc_status store_tx_end(store *s, rc_status st, rc_error *err);

/* Paging for list functions: limit 0 means 100; at most 10000. */
typedef struct {
    int64_t limit;
    int64_t offset;
} store_page;

/* ---- roles, users, sessions, API keys, login failures --------------------- */

/* Roles are fixed by migrations: "admin", "manager", "member", "device",
 * "auditor" (read-only, migration 15),
 * "metrics" (API keys that may only read the metrics). */
typedef struct {
    char name[32];
    char description[128];
} store_role;
rc_status store_role_list(store *s, store_role **out, size_t *n, rc_error *err);

typedef struct {
    int64_t id;
    char email[256];
    char name[128];
    char role[32];
    char pass_hash[256]; /* argon2id string, made by the caller */
    int active;
    int64_t person_id;     /* the person this user is (own attendance); 0: none */
    int64_t last_login_ms; /* 0: never; set by store_user_touch_login only */
    int must_change;       /* the password is one-time: change it at the next login */
    /* 1: a manager who sees only the groups store_user_groups lists (none
     * when it lists none); 0: every group. Never implied by an empty list. */
    int group_limited;
    int64_t created_ms, updated_ms;
} store_user;

/* Create (fills id and times); email must be unique, role must exist. */
rc_status store_user_create(store *s, store_user *u, rc_error *err);
rc_status store_user_get(store *s, int64_t id, store_user *out, rc_error *err);
rc_status store_user_get_by_email(store *s, const char *email, store_user *out, rc_error *err);
/* Update email, name, role, pass_hash, active, person_id and group_limited
 * of user u->id.
 * A person_id that names no person is RC_ERR_INVALID; deleting the person
 * later sets it back to 0. */
rc_status store_user_update(store *s, const store_user *u, rc_error *err);
/* Sessions and group links go with the user. */
rc_status store_user_delete(store *s, int64_t id, rc_error *err);
/* Record a successful login at now_ms. */
rc_status store_user_touch_login(store *s, int64_t id, int64_t now_ms, rc_error *err);
/* The groups a user (a manager) is limited to, ascending (caller frees).
 * Deleting a group removes it from every user's list. */
rc_status store_user_groups(store *s, int64_t user_id, int64_t **ids, size_t *n, rc_error *err);
/* Replace a user's groups with ids[0..n) in one transaction (duplicates are
 * ignored; an id naming no group is RC_ERR_INVALID and changes nothing). */
rc_status store_user_set_groups(store *s, int64_t user_id, const int64_t *ids, size_t n,
                                rc_error *err);
rc_status store_user_list(store *s, store_page page, store_user **out, size_t *n, int64_t *total,
                          rc_error *err);

typedef struct {
    char token_hash[96]; /* hash of the cookie token, never the token */
    int64_t user_id;
    char csrf[96];
    int64_t created_ms, expires_ms;
} store_session;
rc_status store_session_create(store *s, const store_session *se, rc_error *err);
/* RC_ERR_NOT_FOUND when missing or expired at now_ms. */
rc_status store_session_get(store *s, const char *token_hash, int64_t now_ms, store_session *out,
                            rc_error *err);
rc_status store_session_delete(store *s, const char *token_hash, rc_error *err);
/* End every session of a user (password change, "log out everywhere"). */
rc_status store_session_delete_user(store *s, int64_t user_id, rc_error *err);
/* End every session of a user but the one whose token hash is keep_hash (a
 * user who changes their own password stays signed in where they did it). */
rc_status store_session_delete_others(store *s, int64_t user_id, const char *keep_hash,
                                      rc_error *err);
/* Remove expired sessions; *removed may be NULL. */
rc_status store_session_purge(store *s, int64_t now_ms, int64_t *removed, rc_error *err);

typedef struct {
    int64_t id;
    char name[128];
    char prefix[32];    /* public part shown to users and used for lookup */
    char key_hash[256]; /* hash of the secret part */
    char role[32];
    int64_t camera_id; /* the camera a device key marks for; 0: none (deleting the
                          camera sets it back to 0) */
    int64_t created_ms, last_used_ms;
    int revoked;
} store_api_key;
rc_status store_api_key_create(store *s, store_api_key *k, rc_error *err);
rc_status store_api_key_get_by_prefix(store *s, const char *prefix, store_api_key *out,
                                      rc_error *err);
rc_status store_api_key_list(store *s, store_api_key **out, size_t *n, rc_error *err);
rc_status store_api_key_revoke(store *s, int64_t id, rc_error *err);
rc_status store_api_key_touch(store *s, int64_t id, int64_t now_ms, rc_error *err);

/* Failed logins, for lock-out. A lock holds one account from one source
 * address only, so a stranger who guesses wrong from their address never
 * locks the owner (or the only admin) out of theirs. From an address with
 * STORE_LOGIN_FREE_FAILURES failures on an account (over the last 24 hours,
 * until a success from there or an unlock), each further attempt waits
 * STORE_LOGIN_BACKOFF_MS after the last failure, doubling with every further
 * failure up to STORE_LOGIN_BACKOFF_MAX_MS. Failures are kept in the
 * database, so the lock holds across processes and restarts. */
#define STORE_LOGIN_FREE_FAILURES  5
#define STORE_LOGIN_BACKOFF_MS     (60LL * 1000)
#define STORE_LOGIN_BACKOFF_MAX_MS (3600LL * 1000)
rc_status store_login_failure_add(store *s, const char *email, const char *ip, int64_t now_ms,
                                  rc_error *err);
/* Failures of `email` from `ip` (NULL: from every address) since since_ms. */
rc_status store_login_failure_count(store *s, const char *email, const char *ip, int64_t since_ms,
                                    int64_t *count, rc_error *err);
/* Forget the failures of `email` from `ip`; ip NULL: from every address (an
 * unlock: `rollcall user unlock`, a new password). */
rc_status store_login_failure_clear(store *s, const char *email, const char *ip, rc_error *err);
/* Forget failures older than a day (they no longer count); *removed may be
 * NULL. */
rc_status store_login_failure_purge(store *s, int64_t now_ms, int64_t *removed, rc_error *err);
/* How long `email` must still wait before trying again from `ip`: *wait_ms
 * 0 when it may try now. */
rc_status store_login_wait(store *s, const char *email, const char *ip, int64_t now_ms,
                           int64_t *wait_ms, rc_error *err);

/* ---- persons, groups ------------------------------------------------------ */

typedef struct {
    int64_t id;
    char external_id[64]; /* student or employee code; "" for none; unique */
    char first_name[64];
    char last_name[64]; /* may be "" */
    /* Display name, "first last", computed by create and update from the two
     * above. A caller that fills only name (first_name and last_name both
     * "") has it split at the first space instead. */
    char name[128];
    char email[256];
    char kind[32];         /* free label: "student", "teacher", "employee", ... */
    int64_t photo_face_id; /* 0: none */
    int64_t consent_ms;    /* 0: not recorded */
    /* When the person last withdrew their consent (0: never). Set only by
     * store_person_withdraw_consent; while it is later than consent_ms no
     * face of theirs is stored (store_face_add: RC_ERR_CONFLICT) until a new
     * consent is recorded. */
    int64_t consent_withdrawn_ms;
    int active;
    /* 1: a self-registration waiting for approval: kept inactive, out of the
     * gallery and of person lists (but those asking for pending ones) until
     * a manager approves it (pending 0, active 1) or rejects it (deleted). */
    int pending;
    /* When the person was archived (deactivated): from that local day on they
     * are out of the gallery and never absent, their history stays. 0 while
     * active. Kept by create and update from `active` (turning active off
     * sets it to now unless already set; turning it on clears it). */
    int64_t archived_ms;
    int64_t created_ms, updated_ms;
} store_person;

/* When p withdrew their consent, while no consent was recorded since (no
 * face of theirs is enrolled then); 0 otherwise. */
static inline int64_t store_consent_withdrawn(const store_person *p)
{
    return p->consent_withdrawn_ms > p->consent_ms ? p->consent_withdrawn_ms : 0;
}

typedef struct {
    const char *query;     /* substring of name, external id or email (case-insensitive) */
    int64_t group_id;      /* members of this group only; 0: any */
    int64_t left_after_ms; /* with group_id: also those who left it after this instant */
    int active_only;
    /* Non-zero: only members of the groups this user (a group-limited
     * manager) is limited to, per user_groups; nobody when it has none. */
    int64_t scope_user_id;
    int pending; /* 0: settled persons only; 1: pending self-registrations only */
} store_person_filter;

/* created_ms 0 means now; a past time (history imported, tests) is kept:
 * reports count a person's absences only from that day on. */
rc_status store_person_create(store *s, store_person *p, rc_error *err);
rc_status store_person_get(store *s, int64_t id, store_person *out, rc_error *err);
rc_status store_person_get_by_external(store *s, const char *external_id, store_person *out,
                                       rc_error *err);
/* The one person whose external id is `code` but for ASCII letter case (a
 * code typed at a kiosk: "a002" for A002); an exact match first.
 * RC_ERR_NOT_FOUND for none, and for two that differ only in case. */
rc_status store_person_get_by_code(store *s, const char *code, store_person *out, rc_error *err);
/* Update every field of person p->id; p's names are settled as by create
 * (change first_name/last_name: name follows them). */
rc_status store_person_update(store *s, store_person *p, rc_error *err);
/* A person without a photo gets their first face as it, in one statement
 * (nothing else of the record is written, so a concurrent update is not
 * undone); none when they have no face. */
rc_status store_person_photo_fallback(store *s, int64_t id, rc_error *err);
/* The hash of the PIN a person types on a kiosk with their code (made by the
 * caller; "" removes it). pin_hash_get gives "" when none is set. */
rc_status store_person_pin_set(store *s, int64_t id, const char *hash, rc_error *err);
rc_status store_person_pin_get(store *s, int64_t id, char *buf, size_t cap, rc_error *err);
/* filter may be NULL. Ordered by name, then id. */
rc_status store_person_list(store *s, const store_person_filter *f, store_page page,
                            store_person **out, size_t *n, int64_t *total, rc_error *err);
/* What an erase removed, counted per kind. */
typedef struct {
    int64_t faces;          /* face photos with their embeddings */
    int64_t sightings;      /* unrecognized sightings that best matched the person */
    int64_t photo;          /* 1 when the person had a profile photo */
    int64_t events;         /* attendance events (full erase only) */
    int64_t memberships;    /* group memberships (full erase only) */
    int64_t schedules;      /* the person's own schedules (full erase only) */
    int64_t deliveries;     /* queued or past webhook deliveries about them (full erase only) */
    int64_t pin;            /* 1 when a kiosk PIN was set (full erase only) */
    int64_t audit_redacted; /* earlier audit entries about them whose detail was blanked */
    int64_t consent;        /* 1 when a recorded consent was cleared (withdrawal only) */
} store_erase;

/* Full erase (a privacy request): delete a person with their faces,
 * embeddings, memberships, schedules, events, webhook deliveries and the
 * unrecognized sightings that best matched them, in one transaction. Earlier
 * audit entries about the person lose their detail (names, codes); the new
 * "person.erase" entry says what was erased, in counts per kind, and keeps
 * no personal data. Bumps the gallery version; deleted biometric data is
 * wiped from the files (see README). *out (may be NULL) receives the counts. */
rc_status store_person_erase(store *s, int64_t id, const char *actor, store_erase *out,
                             rc_error *err);
/* store_person_erase without the counts. */
rc_status store_person_delete(store *s, int64_t id, const char *actor, rc_error *err);
/* Erase a person's biometric data only: every face with its embedding, the
 * profile photo and the unrecognized sightings that best matched them. The
 * person, their memberships and their attendance history stay. Audited as
 * "person.erase_biometrics" with the counts. Bumps the gallery version. */
rc_status store_person_erase_biometrics(store *s, int64_t id, const char *actor, store_erase *out,
                                        rc_error *err);
/* The person's own withdrawal of consent: store_person_erase_biometrics
 * (the same rows, lock and audit entry, the consent it cleared in the
 * counts) that also clears the recorded consent (consent_ms 0), in the same
 * transaction. */
rc_status store_person_withdraw_consent(store *s, int64_t id, const char *actor, store_erase *out,
                                        rc_error *err);
/* What is held about a person, counted as store_person_erase_biometrics
 * would count what it erases (the person's own view of their data). */
typedef struct {
    int64_t faces;     /* face photos with their embeddings */
    int64_t photo;     /* 1 when the person has a profile photo (one of the faces) */
    int64_t sightings; /* face crops naming them: unrecognized sightings whose best match they
                          are and the probes kept with their recognized events */
    int64_t probes;    /* of those, the probes of events */
    int64_t events;    /* attendance events, voided ones included */
    int64_t voided;    /* of those, voided */
} store_held;
/* RC_ERR_NOT_FOUND when there is no such person. */
rc_status store_person_held(store *s, int64_t id, store_held *out, rc_error *err);

typedef struct {
    int64_t id;
    char name[128];
    char description[512];
    int64_t created_ms;
    int64_t member_count; /* filled by get and list */
    int notify_absentees; /* send the group's managers each slot's absentee list */
} store_group;
rc_status store_group_create(store *s, store_group *g, rc_error *err);
rc_status store_group_get(store *s, int64_t id, store_group *out, rc_error *err);
rc_status store_group_update(store *s, const store_group *g, rc_error *err);
rc_status store_group_delete(store *s, int64_t id, rc_error *err);
rc_status store_group_list(store *s, store_page page, store_group **out, size_t *n, int64_t *total,
                           rc_error *err);
/* Adding an existing member is not an error (their join date stays); a new
 * member joins now. */
rc_status store_group_add_member(store *s, int64_t group_id, int64_t person_id, rc_error *err);
/* Add a member who joined at joined_ms (0: now), or move an existing
 * member's join date to it. Reports count no absence from a group's slots
 * before the local day of joining. */
rc_status store_group_join(store *s, int64_t group_id, int64_t person_id, int64_t joined_ms,
                           rc_error *err);
typedef struct {
    int64_t group_id, person_id;
    int64_t joined_ms;
    int64_t left_ms; /* when the person left the group; 0: a member now */
} store_membership;
/* A person's current memberships by group id, or a group's by person id
 * (the other id 0), ascending (caller frees). */
rc_status store_memberships(store *s, int64_t group_id, int64_t person_id, store_membership **out,
                            size_t *n, rc_error *err);
/* Every membership a person has had, current and ended, by group id then
 * join time (caller frees): what the reports judge past days by. */
rc_status store_memberships_history(store *s, int64_t person_id, store_membership **out, size_t *n,
                                    rc_error *err);
/* End a current membership now: the row stays, with left_ms (the reports
 * count the group's slots up to the day before). Not a member: nothing. */
rc_status store_group_remove_member(store *s, int64_t group_id, int64_t person_id, rc_error *err);
/* The same, left at left_ms (0: now). */
rc_status store_group_leave(store *s, int64_t group_id, int64_t person_id, int64_t left_ms,
                            rc_error *err);
/* Current members / groups: person ids of a group / group ids of a person,
 * ascending (caller frees). */
rc_status store_group_members(store *s, int64_t group_id, int64_t **ids, size_t *n, rc_error *err);
rc_status store_person_groups(store *s, int64_t person_id, int64_t **ids, size_t *n, rc_error *err);

/* ---- faces and the gallery ------------------------------------------------ */

typedef struct {
    int64_t id;
    int64_t person_id;
    char model[64]; /* which embedding model made the vector */
    double quality;
    int dim;
    int64_t created_ms;
} store_face;

/* Add a face: its embedding (f->dim floats) and optionally its aligned JPEG.
 * Fills id and created_ms; bumps the gallery version. */
rc_status store_face_add(store *s, store_face *f, const float *embedding, const void *jpeg,
                         size_t jpeg_len, rc_error *err);
rc_status store_face_list(store *s, int64_t person_id, store_face **out, size_t *n, rc_error *err);
/* The aligned face JPEG (caller frees *jpeg); RC_ERR_NOT_FOUND without one. */
rc_status store_face_image(store *s, int64_t face_id, unsigned char **jpeg, size_t *len,
                           rc_error *err);
/* The person a face belongs to; RC_ERR_NOT_FOUND when there is no such face. */
rc_status store_face_person(store *s, int64_t face_id, int64_t *person_id, rc_error *err);
/* Remove a face (and its embedding), with an audit entry; bumps the version. */
rc_status store_face_delete(store *s, int64_t face_id, const char *actor, rc_error *err);

/* Every embedding of active persons, for the in-memory gallery. */
typedef struct {
    size_t count;
    int dim;
    int64_t *face_ids;
    int64_t *person_ids;
    float *vectors;  /* count * dim floats, row-major */
    int64_t version; /* gallery version this snapshot reflects */
} store_gallery;
/* model NULL: all faces (they must share one dimension, else RC_ERR_CORRUPT).
 * Free with store_gallery_free. */
rc_status store_gallery_load(store *s, const char *model, store_gallery *out, rc_error *err);
void store_gallery_free(store_gallery *g);
/* The same rows for one person only (none when the person is inactive or
 * gone: count 0), for applying one person's change to a loaded gallery. */
rc_status store_gallery_load_person(store *s, const char *model, int64_t person_id,
                                    store_gallery *out, rc_error *err);
/* The same rows for the pending self-registrations (never in the gallery):
 * what a new registration's faces are checked against. */
rc_status store_gallery_load_pending(store *s, const char *model, store_gallery *out,
                                     rc_error *err);
/* The face and person ids (and dim) of every row store_gallery_load would
 * read, without the vectors (vectors stays NULL): cheap enough to compare
 * with what is loaded and find which persons changed. */
rc_status store_gallery_ids(store *s, const char *model, store_gallery *out, rc_error *err);
/* A counter raised by every change to faces or persons' active flag, shared
 * by every process using the database (PostgreSQL also sends NOTIFY
 * rollcall_gallery with the new version). Reload when it moved. */
rc_status store_gallery_version(store *s, int64_t *version, rc_error *err);
/* Block until the gallery version differs from `known` or timeout_ms has
 * passed; *version receives the current version (== known on timeout).
 * PostgreSQL wakes on NOTIFY from any process sharing the database; SQLite
 * looks at the counter every 200 ms. Meant for one background thread per
 * process that reloads the in-memory gallery. */
rc_status store_gallery_wait(store *s, int64_t known, int timeout_ms, int64_t *version,
                             rc_error *err);

/* ---- schedules, holidays, settings ---------------------------------------- */

typedef struct {
    int64_t id;
    int64_t person_id; /* exactly one of person_id and group_id is non-zero */
    int64_t group_id;
    int dow;       /* 0 Sunday .. 6 Saturday */
    int start_min; /* minutes after local midnight, 0..1439 */
    int end_min;   /* 1..1440; end <= start means the slot crosses midnight */
    int grace_min;
    char label[128]; /* subject, shift, ... */
    /* The local days the slot is in force, inclusive (YYYY-MM-DD; "": open
     * on that side). Changing a timetable from a day on ends the slots in
     * force before it and starts new ones, so earlier days keep theirs. */
    char valid_from[11];
    char valid_to[11];
} store_schedule;
rc_status store_schedule_create(store *s, store_schedule *sc, rc_error *err);
rc_status store_schedule_update(store *s, const store_schedule *sc, rc_error *err);
rc_status store_schedule_delete(store *s, int64_t id, rc_error *err);
rc_status store_schedule_get(store *s, int64_t id, store_schedule *out, rc_error *err);
/* person_id / group_id 0: not filtered. */
rc_status store_schedule_list(store *s, int64_t person_id, int64_t group_id, store_schedule **out,
                              size_t *n, rc_error *err);
/* Whether two slots share a minute of the week (a slot ending at or after
 * midnight runs into the next day; Saturday's into Sunday's). */
int store_schedules_overlap(const store_schedule *a, const store_schedule *b);
/* Write the n slots of one owner (person_id or group_id; set on each):
 * those with an id are updated (the id must exist, and with `replace` be the
 * owner's), the others created (their ids written back); with `replace` the
 * owner's slots not listed are deleted. One transaction, serialised per
 * owner. No two slots of the timetable that results may share a minute of
 * the week: RC_ERR_CONFLICT with the written slot and the one it meets in
 * clash[0..1] (clash may be NULL), and nothing is written. */
rc_status store_schedules_write(store *s, int64_t person_id, int64_t group_id, int replace,
                                store_schedule *list, size_t n, store_schedule clash[2],
                                rc_error *err);
/* Dated writing: as store_schedules_write, but for the days from local day
 * `effective` (YYYY-MM-DD) on, leaving earlier days judged by the slots
 * they had (NULL: undated, every change in place as store_schedules_write).
 * A slot in force before `effective` that is changed is ended on the day
 * before and continued by a new row (new id, written back) from
 * `effective` to the old row's end; one that begins on or after it is
 * changed in place; a new slot runs from `effective` with no end. With
 * `replace`, the list is the owner's timetable from `effective` on, with no
 * end: unlisted slots end the day before (or are removed when they would
 * only have begun later). Overlaps count only between slots whose days in
 * force meet. */
rc_status store_schedules_write_from(store *s, int64_t person_id, int64_t group_id, int replace,
                                     const char *effective, store_schedule *list, size_t n,
                                     store_schedule clash[2], rc_error *err);
/* End slot `id` on the day before `effective` (removed outright when it
 * would begin on or after it; NULL: removed). *removed (may be NULL): 1
 * when the row went. */
rc_status store_schedule_end(store *s, int64_t id, const char *effective, int *removed,
                             rc_error *err);
/* The slots of one owner (0: any, as store_schedule_list) in force on
 * local day `on` or later (the ones that ended before it left out). */
rc_status store_schedule_list_from(store *s, int64_t person_id, int64_t group_id, const char *on,
                                   store_schedule **out, size_t *n, rc_error *err);
/* Whether slot sc is in force on local day `day` (YYYY-MM-DD). */
int store_schedule_valid_on(const store_schedule *sc, const char *day);
/* The person's own schedules and those of every group they have been in
 * (store_memberships_history says when), every row whatever its days in
 * force. */
rc_status store_schedules_for_person_history(store *s, int64_t person_id, store_schedule **out,
                                             size_t *n, rc_error *err);
/* The person's own schedules and those of their current groups, every row
 * whatever its days in force (pick a day's with store_schedule_valid_on). */
rc_status store_schedules_for_person(store *s, int64_t person_id, store_schedule **out, size_t *n,
                                     rc_error *err);

typedef struct {
    char day[11]; /* YYYY-MM-DD */
    char name[128];
} store_holiday;
rc_status store_holiday_set(store *s, const char *day, const char *name, rc_error *err);
rc_status store_holiday_delete(store *s, const char *day, rc_error *err);
/* Days in [from, to] (inclusive; NULL for open ends). */
rc_status store_holiday_list(store *s, const char *from, const char *to, store_holiday **out,
                             size_t *n, rc_error *err);

/* A person's leave (sick, vacation, personal, a justified absence, other)
 * over local days from_day..to_day inclusive: their slots on those days are
 * "leave", not absences (src/attendance). One person's leaves never overlap;
 * deleting the person deletes them. */
#define STORE_LEAVE_KINDS    5
#define STORE_LEAVE_NOTE_MAX 500                               /* bytes */
extern const char *const store_leave_kinds[STORE_LEAVE_KINDS]; /* "sick", "vacation", ... */
typedef struct {
    int64_t id;
    int64_t person_id;
    char kind[16];
    char from_day[11], to_day[11]; /* YYYY-MM-DD, inclusive */
    /* Part of a one-day leave: local minutes [from_min, to_min) of that day
     * (a doctor's appointment 09:00-11:00); both 0: the whole day(s). */
    int from_min, to_min;
    char note[STORE_LEAVE_NOTE_MAX + 1];
    char created_by[128]; /* the actor, as the audit log names it */
    int64_t created_ms;
} store_leave;
/* Add l (id and created_ms filled in): RC_ERR_INVALID for an unknown kind, a
 * day that is not YYYY-MM-DD, to before from, or a part of a day that is
 * not one (to_min not after from_min, minutes outside 0..1440, or a leave
 * of more than one day); RC_ERR_LIMIT for a note over STORE_LEAVE_NOTE_MAX;
 * RC_ERR_NOT_FOUND for an unknown person; RC_ERR_CONFLICT when it overlaps
 * another leave of the person (err names it). */
rc_status store_leave_add(store *s, store_leave *l, rc_error *err);
/* Leave id of person_id (RC_ERR_NOT_FOUND when the person has no such
 * leave). */
rc_status store_leave_get(store *s, int64_t person_id, int64_t id, store_leave *out, rc_error *err);
/* Change leave l->id of l->person_id to l's kind, days, minutes and note,
 * checked as store_leave_add checks them (its own days never overlap it);
 * who created it and when stay (filled into l). RC_ERR_NOT_FOUND when the
 * person has no such leave; *before (may be NULL) receives it as it was. */
rc_status store_leave_update(store *s, store_leave *l, store_leave *before, rc_error *err);
/* Delete leave id of person_id (RC_ERR_NOT_FOUND when the person has no such
 * leave); *out (may be NULL) receives what was deleted. */
rc_status store_leave_delete(store *s, int64_t person_id, int64_t id, store_leave *out,
                             rc_error *err);
/* The leaves that overlap [from, to] (NULL: open ends) of person_id (0:
 * everyone), by person then first day (caller frees *out). */
rc_status store_leave_list(store *s, int64_t person_id, const char *from, const char *to,
                           store_leave **out, size_t *n, rc_error *err);

/* When this database began to be used: the earlier of its first attendance
 * event (by time) and its creation (the first migration applied). */
rc_status store_started_ms(store *s, int64_t *out, rc_error *err);

/* Settings are text; RC_ERR_NOT_FOUND when the key was never set. */
rc_status store_setting_get(store *s, const char *key, char *buf, size_t cap, rc_error *err);
rc_status store_setting_set(store *s, const char *key, const char *value, rc_error *err);

/* ---- cameras -------------------------------------------------------------- */

typedef struct {
    int64_t id;
    char name[128];
    char url[512];
    char kind[32];     /* "browser", "mjpeg", "rtsp", "file", "v4l2" */
    char direction[8]; /* "both", "entry" or "exit" */
    int enabled;
    double fps;
    int64_t created_ms;
} store_camera;
rc_status store_camera_create(store *s, store_camera *c, rc_error *err);
rc_status store_camera_get(store *s, int64_t id, store_camera *out, rc_error *err);
rc_status store_camera_update(store *s, const store_camera *c, rc_error *err);
/* Deletes the camera and revokes the API keys bound to it (one transaction). */
rc_status store_camera_delete(store *s, int64_t id, rc_error *err);
rc_status store_camera_list(store *s, store_camera **out, size_t *n, rc_error *err);

/* ---- attendance events, unrecognized sightings, audit --------------------- */

typedef struct {
    int64_t id;
    int64_t person_id;
    int64_t ts_ms;        /* when it happened (first sighting of the cluster) */
    int64_t last_seen_ms; /* last sighting merged into it */
    char kind[8];         /* "entry" or "exit" */
    char status[16];      /* "on_time", "late", "early_leave", "outside" */
    int64_t camera_id;    /* 0: none (manual) */
    double confidence;    /* best of the merged sightings */
    float box[4];         /* x, y, w, h of the best sighting, pixels */
    double liveness;
    int sightings;       /* how many sightings were merged into it */
    int64_t schedule_id; /* 0: outside any schedule */
    char slot_day[11];   /* local day the slot (or day) belongs to */
    char source[8];      /* "auto", "manual", "pin" (code + PIN typed on a kiosk) or "self"
                            (a member's own check-in from their phone) */
    char reason[256];    /* for manual events, corrections and voiding */
    int64_t voided_ms;   /* 0: counts; else when it was voided (kept, left out of rules and
                            reports); set by store_event_void only */
    int64_t face_id;     /* auto events: the enrolled face that matched best (the one to
                            remove when the recognition was wrong); 0: none, or deleted since */
    /* The last correction by a person (store_event_correct, store_event_void):
     * when, and the actor ("user:3", "key:7"); 0 and "" if never. Set by
     * those two only; the rules' merges keep them. */
    int64_t corrected_ms;
    char corrected_by[96];
    int64_t created_ms, updated_ms;
    /* Read-only, filled by get/list/latest for display: */
    char person_name[128];
    char person_external_id[64];
    int has_probe; /* its probe is kept (see store_sighting) */
} store_event;

typedef struct {
    int64_t person_id;             /* 0: any */
    int64_t group_id;              /* 0: any */
    int64_t camera_id;             /* 0: any */
    int64_t from_ms, to_ms;        /* [from, to); 0: open */
    const char *from_day, *to_day; /* slot_day range, inclusive; NULL: open */
    const char *kind;              /* NULL: both */
    int include_void;              /* 0: voided events are left out */
    const char *status;            /* "on_time", "late", ...; NULL: any */
    int corrected_only;            /* only events someone corrected (corrected_ms) */
    /* Non-zero: only events of members of the groups this user (a
     * group-limited manager) is limited to; nothing when it has none. */
    int64_t scope_user_id;
} store_event_filter;

/* Insert (fills id, created/updated). Acknowledged only after commit: with
 * SQLite the WAL is fsync'd, with PostgreSQL the commit is synchronous. */
rc_status store_event_insert(store *s, store_event *e, rc_error *err);
/* Overwrite every field of event e->id (rules use this to merge sightings). */
rc_status store_event_update(store *s, const store_event *e, rc_error *err);
rc_status store_event_get(store *s, int64_t id, store_event *out, rc_error *err);
/* Ordered by time, then id. filter may be NULL. */
rc_status store_event_list(store *s, const store_event_filter *f, store_page page,
                           store_event **out, size_t *n, int64_t *total, rc_error *err);
/* The person's latest event (by last sighting); RC_ERR_NOT_FOUND if none. */
rc_status store_event_latest(store *s, int64_t person_id, store_event *out, rc_error *err);
/* Manual add / correction / delete with an audit entry holding the reason and
 * the original values, in one transaction. */
rc_status store_event_manual_add(store *s, store_event *e, const char *actor, rc_error *err);
rc_status store_event_correct(store *s, const store_event *e, const char *actor, rc_error *err);
rc_status store_event_remove(store *s, int64_t id, const char *actor, const char *reason,
                             rc_error *err);
/* Void an event: it stays (with the reason) but no rule or report counts it
 * any more; audited with the original values. RC_ERR_CONFLICT if already
 * void. */
rc_status store_event_void(store *s, int64_t id, const char *actor, const char *reason,
                           rc_error *err);

/* A face seen but not made into attendance (kept while the setting
 * keep_unrecognized is on), for review: assign it to a person or dismiss
 * it. A sighting with event_id is instead the probe of that recognized
 * event (the face as the camera saw it), kept for a correction ("not this
 * person"): lists and gets leave it out until store_event_probe_release
 * turns it into an ordinary sighting; it goes with its event. */
typedef struct {
    int64_t id;
    int64_t ts_ms;
    int64_t camera_id;           /* 0: none */
    int64_t candidate_person_id; /* best match below threshold; 0: none */
    double confidence, liveness;
    char reason[32]; /* "below_threshold", "liveness", "unknown", "corrected" */
    int has_image;
    int64_t event_id; /* the probe of this event; 0: a sighting for review */
} store_sighting;

typedef struct {
    int64_t from_ms, to_ms; /* [from, to); 0: open */
    int64_t camera_id;      /* 0: any */
} store_sighting_filter;

/* Add a sighting (fills g->id). One that names a person with no face left
 * (their biometric data erased while the frame was in flight) is not kept:
 * RC_OK with g->id 0. The same holds for store_event_probe_set. */
rc_status store_sighting_add(store *s, store_sighting *g, const void *jpeg, size_t len,
                             rc_error *err);
/* Sightings for review (not probes), newest first; f may be NULL. */
rc_status store_sighting_list(store *s, const store_sighting_filter *f, store_page page,
                              store_sighting **out, size_t *n, int64_t *total, rc_error *err);
/* One sighting for review; RC_ERR_NOT_FOUND for a probe or a missing id. */
rc_status store_sighting_get(store *s, int64_t id, store_sighting *out, rc_error *err);
rc_status store_sighting_image(store *s, int64_t id, unsigned char **jpeg, size_t *len,
                               rc_error *err);
/* Delete a sighting for review (its image zeroed on SQLite, see store.c);
 * RC_ERR_NOT_FOUND for a probe or a missing id. */
rc_status store_sighting_delete(store *s, int64_t id, rc_error *err);
/* Replace the probe kept for event g->event_id with g and jpeg (fills
 * g->id; 0 and no probe when g names a person with no face left). */
rc_status store_event_probe_set(store *s, store_sighting *g, const void *jpeg, size_t len,
                                rc_error *err);
/* Turn the probe of event_id into a sighting for review with `reason` and
 * no candidate (*sighting_id receives its id); RC_ERR_NOT_FOUND when the
 * event has no probe. Inside store_tx_begin/end, part of that transaction. */
rc_status store_event_probe_release(store *s, int64_t event_id, const char *reason,
                                    int64_t *sighting_id, rc_error *err);
rc_status store_sighting_purge(store *s, int64_t before_ms, int64_t *removed, rc_error *err);

typedef struct {
    int64_t id;
    int64_t ts_ms;
    char actor[128];
    char action[64]; /* "person.erase", "event.correct", ... */
    char target_type[32];
    int64_t target_id;
    char detail[1024]; /* JSON text */
} store_audit;
rc_status store_audit_add(store *s, const char *actor, const char *action, const char *target_type,
                          int64_t target_id, const char *detail, rc_error *err);
/* How many entries `actor` made with `action` since since_ms (rate limits
 * that must hold across processes: self check-in failures). */
rc_status store_audit_count(store *s, const char *actor, const char *action, int64_t since_ms,
                            int64_t *count, rc_error *err);
/* Newest first; target_type NULL and target_id 0 for all. */
rc_status store_audit_list(store *s, const char *target_type, int64_t target_id, store_page page,
                           store_audit **out, size_t *n, int64_t *total, rc_error *err);

/* ---- members' correction requests ------------------------------------------ */

/* A member asks for a correction of their own attendance; a manager of
 * their group (or an admin) approves it, which makes the change through
 * the attendance rules as a manual correction would, or rejects it. */
#define STORE_REQUEST_TEXT_MAX   500 /* characters of a reason or a decision note */
#define STORE_REQUEST_TEXT_BYTES (4 * STORE_REQUEST_TEXT_MAX + 1)

typedef struct {
    int64_t id;
    int64_t person_id;
    char kind[16];        /* "missing_exit", "missing_entry", "wrong_time", "void" */
    int64_t event_id;     /* the event it is about; 0: none (a missing one) */
    int64_t event_ts_ms;  /* that event's time when asked; 0 without one */
    int64_t requested_ms; /* the time asked for (missing_*, wrong_time); 0 for void */
    char reason[STORE_REQUEST_TEXT_BYTES];
    char status[12]; /* "pending", "approved", "rejected", "withdrawn" (by the member) */
    int64_t created_ms;
    char created_by[96]; /* the actor as the audit log names it ("user:3") */
    int64_t decided_ms;  /* 0 while pending */
    char decided_by[96];
    char note[STORE_REQUEST_TEXT_BYTES]; /* the decision's note; "" when none */
    int64_t result_event_id;             /* the event an approval added or changed; 0: none */
    /* Read-only, filled by get/list for display: */
    char person_name[128];
} store_request;

typedef struct {
    int64_t person_id;     /* 0: anyone */
    const char *status;    /* NULL: any */
    int64_t scope_user_id; /* non-zero: only people of this limited manager's groups */
} store_request_filter;

/* Add a pending request (fills id, status and created_ms; the caller sets
 * person_id, kind, event_id, event_ts_ms, requested_ms, reason and
 * created_by). RC_ERR_CONFLICT when the person already has max_pending
 * pending requests (counted and inserted in one transaction, so requests
 * sent at once cannot pass the limit together); RC_ERR_INVALID for a kind,
 * reason (1 to STORE_REQUEST_TEXT_MAX characters) or person that is not. */
rc_status store_request_create(store *s, store_request *q, int64_t max_pending, rc_error *err);
rc_status store_request_get(store *s, int64_t id, store_request *out, rc_error *err);
/* Newest first; f may be NULL. */
rc_status store_request_list(store *s, const store_request_filter *f, store_page page,
                             store_request **out, size_t *n, int64_t *total, rc_error *err);
/* How many requests person_id made since since_ms (a rate limit). */
rc_status store_request_count(store *s, int64_t person_id, int64_t since_ms, int64_t *count,
                              rc_error *err);
/* Move request id from status `from` to `to` in one statement, so that of
 * two deciders only one wins: RC_ERR_CONFLICT (nothing changed) when it is
 * not `from` any more. Sets decided_ms/by, note and result_event_id; to
 * "pending" clears them. Inside store_tx_begin/end (an approval: the
 * change, the decision and its audit entry) it is part of that transaction. */
rc_status store_request_decide(store *s, int64_t id, const char *from, const char *to,
                               const char *actor, const char *note, int64_t result_event_id,
                               rc_error *err);

/* ---- outgoing webhooks and their delivery queue (src/notify) -------------- */

/* Event kinds a webhook may ask for. "late" and "early_leave" are entries and
 * exits with that status; a webhook wanting "entry" hears about every entry. */
#define STORE_WEBHOOK_KINDS "entry,exit,late,early_leave,unknown_face,camera_down,absentees"

typedef struct {
    int64_t id;
    char name[128];
    char url[1024];   /* http:// or https:// only */
    char events[256]; /* comma-separated kinds from STORE_WEBHOOK_KINDS */
    int64_t group_id; /* only about members of this group; 0: everyone. Deleting
                         the group deletes the webhook. */
    char secret[128]; /* HMAC-SHA256 key; kept in clear because signing needs it */
    char preset[16];  /* "generic", "slack" or "telegram" */
    char chat_id[64]; /* telegram: the chat to send to (required there) */
    int enabled;
    int64_t created_ms, updated_ms;
} store_webhook;
/* Create (fills id and times) after checking every field (RC_ERR_INVALID
 * naming the field); a group_id naming no group is RC_ERR_INVALID. */
rc_status store_webhook_create(store *s, store_webhook *w, rc_error *err);
rc_status store_webhook_get(store *s, int64_t id, store_webhook *out, rc_error *err);
/* Update every field of webhook w->id (checked as by create). */
rc_status store_webhook_update(store *s, store_webhook *w, rc_error *err);
/* Its queued and past deliveries go with it. */
rc_status store_webhook_delete(store *s, int64_t id, rc_error *err);
rc_status store_webhook_list(store *s, store_webhook **out, size_t *n, rc_error *err);

#define STORE_PAYLOAD_MAX 4096 /* largest delivery payload (JSON text), bytes */

typedef struct {
    int64_t id;
    int64_t webhook_id;
    char kind[32];                   /* "entry", "exit", "unknown_face", "camera_down", "test" */
    int64_t event_id;                /* the attendance event; 0 for other kinds */
    int64_t person_id;               /* 0: about nobody in particular */
    char payload[STORE_PAYLOAD_MAX]; /* JSON object: what happened */
    char status[12];                 /* "pending", "delivered" or "dead" */
    int attempts;                    /* claims so far (a claim that crashed counts) */
    int64_t next_ms;                 /* pending: not before this time */
    int64_t lease_ms;                /* claimed until this time; also the claim's token */
    int last_http;                   /* HTTP status of the last attempt; 0: none or no answer */
    char last_error[256];
    int64_t created_ms, updated_ms;
} store_delivery;

/* Queue one delivery of `kind` with `payload` (a JSON object's text) for
 * every enabled webhook that wants `kind` or `also_kind` (may be NULL) and
 * whose group, if any, has person_id as a member (person_id 0 matches only
 * webhooks without a group). Inside store_tx_begin/end it is part of the
 * caller's transaction. *queued (may be NULL) receives how many were queued. */
rc_status store_delivery_enqueue(store *s, const char *kind, const char *also_kind,
                                 int64_t person_id, int64_t event_id, const char *payload,
                                 int64_t *queued, rc_error *err);
/* Queue one delivery of `kind` about group group_id for every enabled webhook
 * that wants `kind` and has no group or that group, at most once per webhook
 * and dedup_key (an idempotency key such as "absentees:7:12:2026-03-02"): a
 * key already queued for a webhook queues nothing again, whatever became of
 * the first delivery. *queued (may be NULL) receives how many were queued. */
rc_status store_delivery_enqueue_group(store *s, const char *kind, int64_t group_id,
                                       const char *dedup_key, const char *payload, int64_t *queued,
                                       rc_error *err);
/* How many enabled webhooks that want `kind` and have no group or group
 * group_id have no delivery with dedup_key yet (0: nothing left to queue). */
rc_status store_delivery_key_missing(store *s, const char *kind, int64_t group_id,
                                     const char *dedup_key, int64_t *missing, rc_error *err);
/* Queue one delivery for webhook webhook_id alone, whatever its kinds (a
 * test); *id (may be NULL) receives the new row's id. */
rc_status store_delivery_enqueue_one(store *s, int64_t webhook_id, const char *kind,
                                     const char *payload, int64_t *id, rc_error *err);
/* Claim up to `max` due deliveries (pending, next_ms <= now_ms, not claimed
 * by anyone whose lease still runs, webhook enabled), oldest due first: each
 * gets lease_ms = now_ms + lease and one more attempt. On PostgreSQL rows
 * are taken with FOR UPDATE SKIP LOCKED, so processes sharing the database
 * never claim the same row. The caller frees *out. */
rc_status store_delivery_claim(store *s, int64_t now_ms, int64_t lease, size_t max,
                               store_delivery **out, size_t *n, rc_error *err);
/* Record the outcome of claimed delivery d (d->id with the d->lease_ms the
 * claim returned): status "delivered", "dead", or "pending" again at
 * next_ms. RC_ERR_CONFLICT when the lease was lost (another claim took the
 * row after it ran out), in which case nothing is changed. */
rc_status store_delivery_finish(store *s, const store_delivery *d, const char *status,
                                int64_t next_ms, int http_status, const char *error, rc_error *err);
rc_status store_delivery_get(store *s, int64_t id, store_delivery *out, rc_error *err);
/* Newest first; webhook_id 0 for every webhook's. */
rc_status store_delivery_list(store *s, int64_t webhook_id, store_page page, store_delivery **out,
                              size_t *n, int64_t *total, rc_error *err);
/* Send delivery id of webhook webhook_id again: a dead (or delivered) one
 * becomes pending now with its attempts counted from zero; RC_ERR_NOT_FOUND
 * when the webhook has no such delivery, RC_ERR_CONFLICT while it is still
 * pending. */
rc_status store_delivery_retry(store *s, int64_t webhook_id, int64_t id, rc_error *err);
/* Delete delivered and dead deliveries last changed before before_ms (pending
 * ones stay whatever their age); *removed may be NULL. */
rc_status store_delivery_purge(store *s, int64_t before_ms, int64_t *removed, rc_error *err);
/* When the earliest pending delivery is due (its next_ms, or its lease's end
 * while claimed); 0 when nothing is pending. */
rc_status store_delivery_next_due(store *s, int64_t *when_ms, rc_error *err);

#endif
