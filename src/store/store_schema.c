/*
 * store_schema.c — the versioned schema. Each migration is applied once, in
 * order, and recorded in schema_migrations; a migration is never edited after
 * release, only followed by a new one, so upgrading never loses data. The SQL
 * is shared by both backends: @ID@, @BLOB@ and @REAL@ expand to each
 * database's types (store_db.h), @INSTR@ to its substring-position function,
 * and everything else is standard SQL both understand (CHECK, REFERENCES ... ON DELETE CASCADE,
 * partial uniqueness via NULLs). Booleans are integers 0/1 and times are BIGINT Unix milliseconds
 * in UTC on both, so the code above reads them the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_db.h"

/* The events table, defined once for every migration that creates it: v1
 * made it, and v5 and v7 rebuild it because SQLite cannot change a CHECK
 * constraint (the sources an event may have). `extra` adds columns after
 * updated_ms (v5's voided_ms). */
#define EVENTS_TABLE(name, sources, extra)                                                         \
    "CREATE TABLE " name " ("                                                                      \
    " id @ID@,"                                                                                    \
    " person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,"                         \
    " ts_ms BIGINT NOT NULL,"                                                                      \
    " last_seen_ms BIGINT NOT NULL,"                                                               \
    " kind TEXT NOT NULL CHECK (kind IN ('entry', 'exit')),"                                       \
    " status TEXT NOT NULL DEFAULT 'outside',"                                                     \
    " camera_id BIGINT REFERENCES cameras(id) ON DELETE SET NULL,"                                 \
    " confidence @REAL@ NOT NULL DEFAULT 0,"                                                       \
    " box_x @REAL@ NOT NULL DEFAULT 0,"                                                            \
    " box_y @REAL@ NOT NULL DEFAULT 0,"                                                            \
    " box_w @REAL@ NOT NULL DEFAULT 0,"                                                            \
    " box_h @REAL@ NOT NULL DEFAULT 0,"                                                            \
    " liveness @REAL@ NOT NULL DEFAULT 0,"                                                         \
    " sightings INTEGER NOT NULL DEFAULT 1,"                                                       \
    " schedule_id BIGINT REFERENCES schedules(id) ON DELETE SET NULL,"                             \
    " slot_day TEXT NOT NULL,"                                                                     \
    " source TEXT NOT NULL DEFAULT 'auto' CHECK (source IN (" sources ")),"                        \
    " reason TEXT NOT NULL DEFAULT '',"                                                            \
    " created_ms BIGINT NOT NULL,"                                                                 \
    " updated_ms BIGINT NOT NULL" extra ");"
#define EVENTS_INDEXES                                                                             \
    "CREATE INDEX events_person_time ON events(person_id, ts_ms);"                                 \
    "CREATE INDEX events_time ON events(ts_ms);"                                                   \
    "CREATE INDEX events_person_day ON events(person_id, slot_day);"
#define EVENTS_SOURCES_V1 "'auto', 'manual'"
#define EVENTS_SOURCES_V5 EVENTS_SOURCES_V1 ", 'pin'"
#define EVENTS_SOURCES_V7 EVENTS_SOURCES_V5 ", 'self'"
#define EVENTS_VOIDED     ", voided_ms BIGINT NOT NULL DEFAULT 0"
/* The columns a rebuild copies: those of v1 (v5 adds voided_ms). */
#define EVENTS_COLS                                                                                \
    "id, person_id, ts_ms, last_seen_ms, kind, status, camera_id, confidence, box_x, box_y, "      \
    "box_w, box_h, liveness, sightings, schedule_id, slot_day, source, reason, created_ms, "       \
    "updated_ms"
/* Rebuild events with `sources` allowed, keeping every row and id (nothing
 * refers to events; PostgreSQL's identity restarts after the largest id,
 * @RESEED_EVENTS@). */
#define EVENTS_REBUILD(sources, cols)                                                              \
    EVENTS_TABLE("events_rebuild", sources, EVENTS_VOIDED)                                         \
    "INSERT INTO events_rebuild (" cols ") SELECT " cols " FROM events;"                           \
    "DROP TABLE events;"                                                                           \
    "ALTER TABLE events_rebuild RENAME TO events;" EVENTS_INDEXES "@RESEED_EVENTS@"

static const char v1[] =
    "CREATE TABLE roles ("
    " name TEXT PRIMARY KEY,"
    " description TEXT NOT NULL DEFAULT '');"
    "INSERT INTO roles (name, description) VALUES"
    " ('admin', 'everything, including users, roles and API keys'),"
    " ('manager', 'people, groups, schedules, cameras and attendance corrections'),"
    " ('viewer', 'read attendance and reports'),"
    " ('kiosk', 'submit camera frames and see who was recognized');"
    "CREATE TABLE users ("
    " id @ID@,"
    " email TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL DEFAULT '',"
    " role TEXT NOT NULL REFERENCES roles(name),"
    " pass_hash TEXT NOT NULL DEFAULT '',"
    " active INTEGER NOT NULL DEFAULT 1,"
    " created_ms BIGINT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE TABLE sessions ("
    " token_hash TEXT PRIMARY KEY,"
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " csrf TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL,"
    " expires_ms BIGINT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE api_keys ("
    " id @ID@,"
    " name TEXT NOT NULL,"
    " prefix TEXT NOT NULL UNIQUE,"
    " key_hash TEXT NOT NULL,"
    " role TEXT NOT NULL REFERENCES roles(name),"
    " created_ms BIGINT NOT NULL,"
    " last_used_ms BIGINT NOT NULL DEFAULT 0,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE login_failures ("
    " id @ID@,"
    " email TEXT NOT NULL,"
    " ts_ms BIGINT NOT NULL);"
    "CREATE INDEX login_failures_email ON login_failures(email, ts_ms);"
    "CREATE TABLE persons ("
    " id @ID@,"
    " external_id TEXT UNIQUE,"
    " name TEXT NOT NULL,"
    " email TEXT NOT NULL DEFAULT '',"
    " kind TEXT NOT NULL DEFAULT '',"
    " photo_face_id BIGINT,"
    " consent_ms BIGINT NOT NULL DEFAULT 0,"
    " active INTEGER NOT NULL DEFAULT 1,"
    " created_ms BIGINT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE INDEX persons_name ON persons(name);"
    "CREATE TABLE person_groups ("
    " id @ID@,"
    " name TEXT NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '',"
    " created_ms BIGINT NOT NULL);"
    "CREATE TABLE group_members ("
    " group_id BIGINT NOT NULL REFERENCES person_groups(id) ON DELETE CASCADE,"
    " person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,"
    " PRIMARY KEY (group_id, person_id));"
    "CREATE INDEX group_members_person ON group_members(person_id);"
    "CREATE TABLE faces ("
    " id @ID@,"
    " person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,"
    " model TEXT NOT NULL,"
    " quality @REAL@ NOT NULL DEFAULT 0,"
    " dim INTEGER NOT NULL CHECK (dim > 0),"
    " embedding @BLOB@ NOT NULL,"
    " image @BLOB@,"
    " created_ms BIGINT NOT NULL);"
    "CREATE INDEX faces_person ON faces(person_id);"
    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY,"
    " value BIGINT NOT NULL);"
    "INSERT INTO counters (name, value) VALUES ('gallery_version', 1);"
    "CREATE TABLE schedules ("
    " id @ID@,"
    " person_id BIGINT REFERENCES persons(id) ON DELETE CASCADE,"
    " group_id BIGINT REFERENCES person_groups(id) ON DELETE CASCADE,"
    " dow INTEGER NOT NULL CHECK (dow BETWEEN 0 AND 6),"
    " start_min INTEGER NOT NULL CHECK (start_min BETWEEN 0 AND 1439),"
    " end_min INTEGER NOT NULL CHECK (end_min BETWEEN 1 AND 1440),"
    " grace_min INTEGER NOT NULL DEFAULT 0 CHECK (grace_min BETWEEN 0 AND 720),"
    " label TEXT NOT NULL DEFAULT '',"
    " CHECK ((person_id IS NULL AND group_id IS NOT NULL)"
    "     OR (person_id IS NOT NULL AND group_id IS NULL)));"
    "CREATE INDEX schedules_person ON schedules(person_id);"
    "CREATE INDEX schedules_group ON schedules(group_id);"
    "CREATE TABLE holidays ("
    " day TEXT PRIMARY KEY,"
    " name TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE settings ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL);"
    "CREATE TABLE cameras ("
    " id @ID@,"
    " name TEXT NOT NULL UNIQUE,"
    " url TEXT NOT NULL DEFAULT '',"
    " kind TEXT NOT NULL DEFAULT 'browser',"
    " direction TEXT NOT NULL DEFAULT 'both' CHECK (direction IN ('both', 'entry', 'exit')),"
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " fps @REAL@ NOT NULL DEFAULT 5,"
    " created_ms BIGINT NOT NULL);" EVENTS_TABLE("events", EVENTS_SOURCES_V1, "") EVENTS_INDEXES
    "CREATE TABLE sightings ("
    " id @ID@,"
    " ts_ms BIGINT NOT NULL,"
    " camera_id BIGINT REFERENCES cameras(id) ON DELETE SET NULL,"
    " candidate_person_id BIGINT REFERENCES persons(id) ON DELETE SET NULL,"
    " confidence @REAL@ NOT NULL DEFAULT 0,"
    " liveness @REAL@ NOT NULL DEFAULT 0,"
    " reason TEXT NOT NULL DEFAULT '',"
    " image @BLOB@);"
    "CREATE INDEX sightings_time ON sightings(ts_ms);"
    "CREATE TABLE audit ("
    " id @ID@,"
    " ts_ms BIGINT NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target_type TEXT NOT NULL DEFAULT '',"
    " target_id BIGINT NOT NULL DEFAULT 0,"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_target ON audit(target_type, target_id);";

/* v2: the API's words and the facts the HTTP layer had kept in settings.
 * Roles viewer/kiosk become member/device (rows referring to them follow).
 * Persons get first_name/last_name, split from name at the first space the
 * way the API used to split it; name stays as the display name. Users get
 * the person they are (person_id), their last login and, for managers, the
 * groups they manage (user_groups); API keys get their camera. Values the
 * HTTP layer kept as settings "user_person.<id>", "user_last_login.<id>",
 * "user_groups.<id>" ("1,2,3") and "api_key_camera.<id>" move into those
 * columns (those naming records that no longer exist are dropped) and leave
 * the settings table. @INSTR@ is instr() on SQLite and strpos() on
 * PostgreSQL (same arguments, 1-based, 0 when absent). */
static const char v2[] =
    "INSERT INTO roles (name, description) VALUES"
    " ('member', 'their own attendance only'),"
    " ('device', 'recognize faces and mark attendance (cameras, kiosks)');"
    "UPDATE users SET role = 'member' WHERE role = 'viewer';"
    "UPDATE users SET role = 'device' WHERE role = 'kiosk';"
    "UPDATE api_keys SET role = 'member' WHERE role = 'viewer';"
    "UPDATE api_keys SET role = 'device' WHERE role = 'kiosk';"
    "DELETE FROM roles WHERE name IN ('viewer', 'kiosk');"
    "ALTER TABLE persons ADD COLUMN first_name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE persons ADD COLUMN last_name TEXT NOT NULL DEFAULT '';"
    "UPDATE persons SET"
    " first_name = CASE WHEN @INSTR@(name, ' ') > 0"
    "  THEN substr(name, 1, @INSTR@(name, ' ') - 1) ELSE name END,"
    " last_name = CASE WHEN @INSTR@(name, ' ') > 0"
    "  THEN substr(name, @INSTR@(name, ' ') + 1) ELSE '' END;"
    "ALTER TABLE users ADD COLUMN person_id BIGINT REFERENCES persons(id) ON DELETE SET NULL;"
    "ALTER TABLE users ADD COLUMN last_login_ms BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX users_person ON users(person_id);"
    "CREATE TABLE user_groups ("
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " group_id BIGINT NOT NULL REFERENCES person_groups(id) ON DELETE CASCADE,"
    " PRIMARY KEY (user_id, group_id));"
    "CREATE INDEX user_groups_group ON user_groups(group_id);"
    "ALTER TABLE api_keys ADD COLUMN camera_id BIGINT REFERENCES cameras(id) ON DELETE SET NULL;"
    "CREATE INDEX api_keys_camera ON api_keys(camera_id);"
    "UPDATE users SET person_id = (SELECT p.id FROM persons p, settings s"
    " WHERE s.key = 'user_person.' || CAST(users.id AS TEXT) AND s.value = CAST(p.id AS TEXT));"
    "UPDATE users SET last_login_ms = (SELECT CAST(s.value AS BIGINT) FROM settings s"
    " WHERE s.key = 'user_last_login.' || CAST(users.id AS TEXT))"
    " WHERE EXISTS (SELECT 1 FROM settings s"
    "  WHERE s.key = 'user_last_login.' || CAST(users.id AS TEXT)"
    "  AND length(s.value) BETWEEN 1 AND 18 AND trim(s.value, '0123456789') = '');"
    "INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id"
    " FROM users u, person_groups g, settings s"
    " WHERE s.key = 'user_groups.' || CAST(u.id AS TEXT)"
    " AND ',' || s.value || ',' LIKE '%,' || CAST(g.id AS TEXT) || ',%';"
    "UPDATE api_keys SET camera_id = (SELECT c.id FROM cameras c, settings s"
    " WHERE s.key = 'api_key_camera.' || CAST(api_keys.id AS TEXT)"
    " AND s.value = CAST(c.id AS TEXT));"
    "DELETE FROM settings WHERE substr(key, 1, 12) = 'user_person.'"
    " OR substr(key, 1, 16) = 'user_last_login.' OR substr(key, 1, 12) = 'user_groups.'"
    " OR substr(key, 1, 15) = 'api_key_camera.';";

/* v3: a manager's group limit is explicit. users.group_limited 1 means "only
 * the groups in user_groups" (none when it has no rows), 0 means every group;
 * before, an empty user_groups meant every group, so deleting a limited
 * manager's last group widened their scope to everything. Managers that had
 * groups are limited; the rest keep seeing every group. Also the "metrics"
 * role, for API keys that may only read GET /metrics. */
static const char v3[] = "ALTER TABLE users ADD COLUMN group_limited INTEGER NOT NULL DEFAULT 0;"
                         "UPDATE users SET group_limited = 1"
                         " WHERE EXISTS (SELECT 1 FROM user_groups ug WHERE ug.user_id = users.id);"
                         "INSERT INTO roles (name, description) VALUES"
                         " ('metrics', 'read GET /metrics only (monitoring)');";

/* v5: what a school corrects and types. A user's one-time password (first
 * admin, accounts made by an admin) must be changed at the next login; an
 * attendance event can be voided (kept, counted by nothing); a person may
 * have a PIN to check in on a kiosk with their code instead of their face,
 * which makes events of a third source, "pin". SQLite cannot change a CHECK
 * constraint, so events is rebuilt (the same on both databases: nothing
 * refers to events; ids are kept, and PostgreSQL's identity restarts after
 * the largest, @RESEED_EVENTS@). */
static const char v5[] =
    "ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE persons ADD COLUMN pin_hash TEXT NOT NULL DEFAULT '';" EVENTS_REBUILD(
        EVENTS_SOURCES_V5, EVENTS_COLS);

/* v4: login failures remember the source address (the lock-out holds one
 * account from one address, never the account from everyone), and ids are
 * never reused after a delete. PostgreSQL's identity columns never hand a
 * number out twice already; SQLite's INTEGER PRIMARY KEY takes max(id) + 1,
 * so deleting the newest person made their id (and with it the audit trail,
 * URLs and exports naming it) point at the next person enrolled. SQLite
 * only promises otherwise with AUTOINCREMENT, which needs each table rebuilt:
 * v4_sqlite does it from the table's current definition, so columns added by
 * any earlier migration come along. */
static const char v4[] = "ALTER TABLE login_failures ADD COLUMN ip TEXT NOT NULL DEFAULT '';"
                         "CREATE INDEX login_failures_email_ip ON login_failures(email, ip, ts_ms);"
                         "CREATE INDEX login_failures_time ON login_failures(ts_ms);";

/* The first column of every row of `sql` (one text parameter) as malloc'd
 * strings; *n receives how many (at most cap). */
static rc_status texts(db_conn *c, const char *sql, const char *arg, char **out, size_t cap,
                       size_t *n, rc_error *err)
{
    db_q *q = NULL;
    rc_status st = c->ops->prepare(c, sql, &q, err);
    if (st != RC_OK) return st;
    db_bind_text(q, 1, arg);
    int r;
    *n = 0;
    while ((r = db_step(q, err)) > 0 && *n < cap) {
        if (!(out[*n] = strdup(db_text(q, 0)))) {
            r = -1;
            rc_fail(err, RC_ERR_NOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    db_done(q);
    return r < 0 ? (err ? err->code : RC_ERR_DB) : RC_OK;
}

/* Rebuild `table` with AUTOINCREMENT (SQLite's 12-step table change: new
 * table, copy, drop, rename, indexes again), then start its sequence above
 * every id the audit log names for `audit_type`, so ids deleted before this
 * upgrade are not handed out again either. */
static rc_status autoincrement(db_conn *c, const char *table, const char *audit_type, rc_error *err)
{
    char *create = NULL, *idx[16] = {0}, sql[512];
    size_t n = 0, nidx = 0;
    rc_status st = texts(c, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                         table, &create, 1, &n, err);
    if (st == RC_OK && n == 0) st = rc_fail(err, RC_ERR_CORRUPT, "table %s is missing", table);
    if (st != RC_OK || strstr(create, "AUTOINCREMENT")) goto out;
    const char *paren = strchr(create, '('), *pk = strstr(create, "INTEGER PRIMARY KEY");
    if (!paren || !pk || pk < paren) {
        st = rc_fail(err, RC_ERR_CORRUPT, "table %s has no INTEGER PRIMARY KEY", table);
        goto out;
    }
    pk += strlen("INTEGER PRIMARY KEY");
    size_t len = strlen(create) + strlen(table) + 64;
    char *def = malloc(len);
    if (!def) {
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(def, len, "CREATE TABLE %s_rebuild %.*s AUTOINCREMENT%s", table, (int)(pk - paren),
             paren, pk);
    st = texts(c,
               "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND "
               "sql IS NOT NULL",
               table, idx, sizeof idx / sizeof idx[0], &nidx, err);
    if (st == RC_OK) st = c->ops->exec(c, def, err);
    free(def);
    snprintf(sql, sizeof sql,
             "INSERT INTO %s_rebuild SELECT * FROM %s; DROP TABLE %s;"
             "ALTER TABLE %s_rebuild RENAME TO %s;"
             "INSERT INTO sqlite_sequence (name, seq) SELECT '%s', 0"
             " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '%s');",
             table, table, table, table, table, table, table);
    if (st == RC_OK) st = c->ops->exec(c, sql, err);
    for (size_t i = 0; st == RC_OK && i < nidx; i++) st = c->ops->exec(c, idx[i], err);
    db_q *q = NULL;
    if (st == RC_OK)
        st = c->ops->prepare(c,
                             "UPDATE sqlite_sequence SET seq = max(seq, (SELECT COALESCE(MAX("
                             "target_id), 0) FROM audit WHERE target_type = ?)) WHERE name = ?",
                             &q, err);
    if (st == RC_OK) {
        db_bind_text(q, 1, audit_type);
        db_bind_text(q, 2, table);
        if (db_step(q, err) < 0) st = err ? err->code : RC_ERR_DB;
        db_done(q);
    }
out:
    free(create);
    for (size_t i = 0; i < nidx; i++) free(idx[i]);
    return st;
}

static rc_status v4_sqlite(db_conn *c, rc_error *err)
{
    static const char *const tables[][2] = {
        {"persons", "person"},   {"faces", "face"},          {"users", "user"},
        {"api_keys", "api_key"}, {"person_groups", "group"}, {"cameras", "camera"},
    };
    rc_status st = RC_OK;
    for (size_t i = 0; st == RC_OK && i < sizeof tables / sizeof tables[0]; i++)
        st = autoincrement(c, tables[i][0], tables[i][1], err);
    return st;
}

/* v6: outgoing webhooks (src/notify) and their delivery queue. A webhook
 * names the event kinds it wants ("entry,exit,late,..."), optionally a group
 * whose members alone it hears about (deleting the group deletes the webhook
 * rather than widening it to everyone), the secret that signs each request,
 * and a payload preset. webhook_deliveries is a transactional outbox: an
 * attendance event's deliveries are inserted in the transaction that stores
 * the event, so an acknowledged event's notification survives a crash. A
 * dispatcher claims due rows with a lease (lease_ms) so that processes
 * sharing one PostgreSQL never deliver a row at the same time. Deliveries
 * about a person go with the person. Ids are never reused (@SERIAL@: SQLite
 * AUTOINCREMENT), so a receiver may drop repeats by delivery id. */
static const char v6[] =
    "CREATE TABLE webhooks ("
    " id @SERIAL@,"
    " name TEXT NOT NULL DEFAULT '',"
    " url TEXT NOT NULL,"
    " events TEXT NOT NULL,"
    " group_id BIGINT REFERENCES person_groups(id) ON DELETE CASCADE,"
    " secret TEXT NOT NULL,"
    " preset TEXT NOT NULL DEFAULT 'generic' CHECK (preset IN ('generic', 'slack', 'telegram')),"
    " chat_id TEXT NOT NULL DEFAULT '',"
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " created_ms BIGINT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE TABLE webhook_deliveries ("
    " id @SERIAL@,"
    " webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " event_id BIGINT NOT NULL DEFAULT 0,"
    " person_id BIGINT REFERENCES persons(id) ON DELETE CASCADE,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms BIGINT NOT NULL,"
    " lease_ms BIGINT NOT NULL DEFAULT 0,"
    " last_http INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " created_ms BIGINT NOT NULL,"
    " updated_ms BIGINT NOT NULL);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_ms);"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);"
    "CREATE INDEX webhook_deliveries_person ON webhook_deliveries(person_id);";

/* v7: self check-in and self-registration. A member checks in from their
 * own phone (events of a fourth source, "self": events is rebuilt once more
 * with the one definition above); a student may register themselves, which
 * makes a person that is pending (inactive, out of the gallery, reports and
 * lists) until a manager of their group or an admin approves it. */
static const char v7[] =
    "ALTER TABLE persons ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;" EVENTS_REBUILD(
        EVENTS_SOURCES_V7, EVENTS_COLS ", voided_ms");
/* v8: which enrolled face made a recognized event (the best-matching
 * template of the person named), so a wrong recognition can be traced to
 * the face that caused it and that face removed ("not this person"); set
 * back to NULL when the face is deleted. Sightings may hold the probe of a
 * recognized event (event_id; kept only while keep_unrecognized is on, not
 * listed for review, gone with the event) so that a corrected recognition's
 * face can be reviewed and assigned like an unrecognized one. */
static const char v8[] =
    "ALTER TABLE events ADD COLUMN face_id BIGINT REFERENCES faces(id) ON DELETE SET NULL;"
    "CREATE INDEX events_face ON events(face_id);"
    "ALTER TABLE sightings ADD COLUMN event_id BIGINT REFERENCES events(id) ON DELETE CASCADE;"
    "CREATE INDEX sightings_event ON sightings(event_id);"
    "CREATE INDEX sightings_camera_time ON sightings(camera_id, ts_ms);";
/* v9: history apart from biometrics, and when a membership began.
 * persons.archived_ms: a person archived (deactivated) keeps their history;
 * from that day on they are out of the gallery and no longer absent (0: not
 * archived; inactive rows, but self-registrations waiting for approval,
 * get their last change as the archive time).
 * group_members.joined_ms: the person joined the group then; a group slot
 * before it is no absence (existing rows: the person's creation).
 * person_groups.notify_absentees: send the group's managers the absentee
 * list of each slot (the global setting absentee_notify does it for every
 * group). webhook_deliveries.dedup_key: an idempotency key; one webhook gets
 * one delivery per key (NULL for deliveries without one), so a notification
 * decided again after a restart is not queued twice. */
static const char v9[] =
    "ALTER TABLE persons ADD COLUMN archived_ms BIGINT NOT NULL DEFAULT 0;"
    "UPDATE persons SET archived_ms = updated_ms WHERE active = 0 AND pending = 0;"
    "ALTER TABLE group_members ADD COLUMN joined_ms BIGINT NOT NULL DEFAULT 0;"
    "UPDATE group_members SET joined_ms ="
    " (SELECT p.created_ms FROM persons p WHERE p.id = group_members.person_id);"
    "ALTER TABLE person_groups ADD COLUMN notify_absentees INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE webhook_deliveries ADD COLUMN dedup_key TEXT;"
    "CREATE UNIQUE INDEX webhook_deliveries_dedup ON webhook_deliveries(webhook_id, dedup_key);";

/* v10: persons.search_key (db_search_key), filled here for every person
 * and kept by every write of a person's name, external id or e-mail, so
 * that searching "nunez" or "ÍÑIGO" finds Íñigo Núñez on both databases. */
static const char v10[] = "ALTER TABLE persons ADD COLUMN search_key TEXT NOT NULL DEFAULT '';";

static rc_status v10_keys(db_conn *c, rc_error *err)
{
    typedef struct {
        int64_t id;
        char *key; /* its own length: a whole roster's keys stay small */
    } row;
    row *rows = NULL;
    size_t n = 0, cap = 0;
    db_q *q = NULL;
    rc_status st = c->ops->prepare(
        c, "SELECT id, name, COALESCE(external_id, ''), COALESCE(email, '') FROM persons", &q, err);
    if (st != RC_OK) return st;
    int r;
    while ((r = db_step(q, err)) > 0) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            row *nr = realloc(rows, nc * sizeof *rows);
            if (!nr) {
                r = -1;
                rc_fail(err, RC_ERR_NOMEM, "out of memory");
                break;
            }
            rows = nr;
            cap = nc;
        }
        char key[STORE_SEARCH_KEY_MAX];
        db_search_key(db_text(q, 1), db_text(q, 2), db_text(q, 3), key, sizeof key);
        if (!(rows[n].key = strdup(key))) {
            r = -1;
            rc_fail(err, RC_ERR_NOMEM, "out of memory");
            break;
        }
        rows[n++].id = db_i64(q, 0);
    }
    db_done(q);
    if (r < 0) st = err ? err->code : RC_ERR_DB;
    for (size_t i = 0; st == RC_OK && i < n; i++) {
        if ((st = c->ops->prepare(c, "UPDATE persons SET search_key = ? WHERE id = ?", &q, err)) !=
            RC_OK)
            break;
        db_bind_text(q, 1, rows[i].key);
        db_bind_i64(q, 2, rows[i].id);
        if (db_step(q, err) < 0) st = err ? err->code : RC_ERR_DB;
        db_done(q);
    }
    for (size_t i = 0; i < n; i++) free(rows[i].key);
    free(rows);
    return st;
}

/* v11: events.corrected_ms and corrected_by: the last correction or voiding
 * by a person (when, and the actor as the audit log names it), shown beside
 * the event and in exports. Earlier corrections are read back from the
 * audit log ("not this person" voids through event.void too). */
#define V11_LAST_FIX                                                                               \
    " FROM audit a WHERE a.target_type = 'event' AND a.target_id = events.id AND a.action IN"      \
    " ('event.correct', 'event.void')"
static const char v11[] =
    "ALTER TABLE events ADD COLUMN corrected_ms BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE events ADD COLUMN corrected_by TEXT NOT NULL DEFAULT '';"
    "UPDATE events SET corrected_ms = COALESCE((SELECT MAX(a.ts_ms)" V11_LAST_FIX "), 0);"
    "UPDATE events SET corrected_by = COALESCE((SELECT a.actor" V11_LAST_FIX
    " ORDER BY a.ts_ms DESC, a.id DESC LIMIT 1), '') WHERE corrected_ms > 0;";

/* v12: persons.consent_withdrawn_ms, when the person withdrew their consent
 * (Mis datos); while later than consent_ms, no face of theirs is stored. */
static const char v12[] =
    "ALTER TABLE persons ADD COLUMN consent_withdrawn_ms BIGINT NOT NULL DEFAULT 0;";

/* v13: a member's request for a correction of their own attendance (a
 * forgotten exit or entry, a wrong time, an event that should not count),
 * decided by a manager of their group or an admin. event_id is the event
 * it is about (none for a missing one); event_ts_ms its time when asked,
 * so an approval can tell that the event changed or vanished meanwhile
 * (no foreign key: an event id that went is refused, not silently NULL).
 * result_event_id: the event the approval added or changed. Actors are
 * named as in the audit log ("user:3"). Requests go with their person. */
static const char v13[] =
    "CREATE TABLE correction_requests ("
    " id @SERIAL@,"
    " person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('missing_exit', 'missing_entry', 'wrong_time', 'void')),"
    " event_id BIGINT,"
    " event_ts_ms BIGINT NOT NULL DEFAULT 0,"
    " requested_ms BIGINT NOT NULL DEFAULT 0,"
    " reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),"
    " created_ms BIGINT NOT NULL,"
    " created_by TEXT NOT NULL DEFAULT '',"
    " decided_ms BIGINT NOT NULL DEFAULT 0,"
    " decided_by TEXT NOT NULL DEFAULT '',"
    " note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),"
    " result_event_id BIGINT);"
    "CREATE INDEX correction_requests_person ON correction_requests(person_id, status);"
    "CREATE INDEX correction_requests_status ON correction_requests(status, created_ms);";
/* v14: a person's leave (sick, vacation, personal, justified, other) over
 * local days from_day..to_day inclusive; their slots on those days are not
 * absences. Gone with the person; ids never reused. */
static const char v14[] =
    "CREATE TABLE person_leaves ("
    " id @SERIAL@,"
    " person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('sick', 'vacation', 'personal', 'justified', 'other')),"
    " from_day TEXT NOT NULL,"
    " to_day TEXT NOT NULL,"
    " note TEXT NOT NULL DEFAULT '',"
    " created_by TEXT NOT NULL DEFAULT '',"
    " created_ms BIGINT NOT NULL,"
    " CHECK (from_day <= to_day));"
    "CREATE INDEX person_leaves_person ON person_leaves(person_id, from_day);"
    "CREATE INDEX person_leaves_days ON person_leaves(from_day, to_day);";
/* v15: the "auditor" role, for HR and inspection: reads everyone's
 * attendance, reports and exports (optionally limited to groups, as a
 * manager can be), changes nothing and sees no face images. */
static const char v15[] =
    "INSERT INTO roles (name, description) VALUES"
    " ('auditor', 'read-only: people, groups, timetables, attendance, reports and exports');";
/* v16: dated timetables and memberships. schedules.valid_from / valid_to:
 * the local days (YYYY-MM-DD, inclusive; NULL: open on that side) a slot is
 * in force, so that changing a timetable from a day on leaves the days
 * before it judged by the slots they had (existing slots: open on both
 * sides). group_members gets an id and left_ms, when the person left the
 * group (0: a member now; like joined_ms, an instant, its local day taken
 * by the reports): leaving keeps the row, so the days in the group are
 * still judged by its slots, and a person may join again later (one
 * current membership per group and person). Existing rows are current. */
static const char v16[] =
    "ALTER TABLE schedules ADD COLUMN valid_from TEXT;"
    "ALTER TABLE schedules ADD COLUMN valid_to TEXT;"
    "CREATE INDEX schedules_valid_to ON schedules(valid_to);"
    "CREATE TABLE group_members_v16 ("
    " id @SERIAL@,"
    " group_id BIGINT NOT NULL REFERENCES person_groups(id) ON DELETE CASCADE,"
    " person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,"
    " joined_ms BIGINT NOT NULL DEFAULT 0,"
    " left_ms BIGINT NOT NULL DEFAULT 0);"
    "INSERT INTO group_members_v16 (group_id, person_id, joined_ms)"
    " SELECT group_id, person_id, joined_ms FROM group_members ORDER BY group_id, person_id;"
    "DROP TABLE group_members;"
    "ALTER TABLE group_members_v16 RENAME TO group_members;"
    "CREATE UNIQUE INDEX group_members_current ON group_members(group_id, person_id)"
    " WHERE left_ms = 0;"
    "CREATE INDEX group_members_person ON group_members(person_id);";

/* v17: part of a day's leave (a doctor's appointment 09:00-11:00): local
 * minutes [from_min, to_min) of a one-day leave; NULL, the whole day. */
static const char v17[] =
    "ALTER TABLE person_leaves ADD COLUMN from_min INTEGER CHECK (from_min BETWEEN 0 AND 1439);"
    "ALTER TABLE person_leaves ADD COLUMN to_min INTEGER CHECK (to_min BETWEEN 1 AND 1440);";

/* v18: a member may withdraw a correction request while it waits (status
 * 'withdrawn'). PostgreSQL widens the CHECK in place (@V18_STATUS@); SQLite
 * cannot change a CHECK, so v18_sqlite rebuilds the table from its current
 * definition (columns added since v13 come along), keeping every row, id
 * and the AUTOINCREMENT sequence (ids are never reused). */
static const char v18[] = "@V18_STATUS@";

static rc_status v18_sqlite(db_conn *c, rc_error *err)
{
    static const char from[] = "'approved', 'rejected')",
                      to[] = "'approved', 'rejected', 'withdrawn')";
    static const char table[] = "CREATE TABLE correction_requests";
    char *create = NULL, *idx[8] = {0}, *def = NULL;
    size_t n = 0, nidx = 0;
    rc_status st = texts(c, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                         "correction_requests", &create, 1, &n, err);
    if (st == RC_OK && n == 0)
        st = rc_fail(err, RC_ERR_CORRUPT, "table correction_requests is missing");
    const char *at = st == RC_OK ? strstr(create, from) : NULL;
    if (st == RC_OK && (!at || strncmp(create, table, sizeof table - 1) != 0))
        st = rc_fail(err, RC_ERR_CORRUPT, "table correction_requests has no status check to widen");
    if (st == RC_OK) {
        size_t len = strlen(create) + sizeof to + 16;
        if (!(def = malloc(len)))
            st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        else
            snprintf(def, len, "%s_v18%.*s%s%s", table, (int)(at - create - (sizeof table - 1)),
                     create + sizeof table - 1, to, at + sizeof from - 1);
    }
    if (st == RC_OK)
        st = texts(c,
                   "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND "
                   "sql IS NOT NULL",
                   "correction_requests", idx, sizeof idx / sizeof idx[0], &nidx, err);
    if (st == RC_OK) st = c->ops->exec(c, def, err);
    /* The sequence row moves to the new table before the old one's drop
     * deletes it; RENAME takes it along to the new name. */
    if (st == RC_OK)
        st = c->ops->exec(c,
                          "INSERT INTO correction_requests_v18 SELECT * FROM correction_requests;"
                          "DELETE FROM sqlite_sequence WHERE name = 'correction_requests_v18';"
                          "UPDATE sqlite_sequence SET name = 'correction_requests_v18'"
                          " WHERE name = 'correction_requests';"
                          "DROP TABLE correction_requests;"
                          "ALTER TABLE correction_requests_v18 RENAME TO correction_requests;",
                          err);
    for (size_t i = 0; st == RC_OK && i < nidx; i++) st = c->ops->exec(c, idx[i], err);
    free(def);
    free(create);
    for (size_t i = 0; i < nidx; i++) free(idx[i]);
    return st;
}

const db_migration db_migrations[] = {
    {1, "initial schema", v1, NULL, NULL},
    {2, "API role names, first/last names, user and key links", v2, NULL, NULL},
    {3, "explicit group limit of managers, metrics role", v3, NULL, NULL},
    {4, "login failures per address; ids never reused", v4, v4_sqlite, NULL},
    {5, "one-time passwords, voided events, kiosk PINs", v5, NULL, NULL},
    {6, "outgoing webhooks and their delivery queue", v6, NULL, NULL},
    {7, "self check-in events, pending self-registrations", v7, NULL, NULL},
    {8, "the face behind a recognized event; probes kept for review", v8, NULL, NULL},
    {9, "archived persons, group join dates, absentee notices", v9, NULL, NULL},
    {10, "person search without accents or case", v10, NULL, v10_keys},
    {11, "who corrected an event, and when", v11, NULL, NULL},
    {12, "when a person withdrew their consent", v12, NULL, NULL},
    {13, "members' correction requests", v13, NULL, NULL},
    {14, "personal leave and justified absences", v14, NULL, NULL},
    {15, "read-only auditor role (HR, inspection)", v15, NULL, NULL},
    {16, "dated timetables and memberships", v16, NULL, NULL},
    {17, "part-day leave (minutes of a one-day leave)", v17, NULL, NULL},
    {18, "members may withdraw a correction request", v18, v18_sqlite, NULL},
};
const size_t db_migration_count = sizeof db_migrations / sizeof db_migrations[0];

char *db_expand_ddl(const char *sql, int postgres)
{
    static const char *tok[][3] = {
        {"@ID@", "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
        {"@SERIAL@", "INTEGER PRIMARY KEY AUTOINCREMENT",
         "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
        {"@BLOB@", "BLOB", "BYTEA"},
        {"@REAL@", "REAL", "DOUBLE PRECISION"},
        {"@INSTR@", "instr", "strpos"},
        {"@V18_STATUS@", "",
         "ALTER TABLE correction_requests DROP CONSTRAINT correction_requests_status_check;"
         "ALTER TABLE correction_requests ADD CONSTRAINT correction_requests_status_check"
         " CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn'));"},
        {"@RESEED_EVENTS@", "",
         "SELECT setval(pg_get_serial_sequence('events', 'id'),"
         " COALESCE((SELECT max(id) FROM events), 0) + 1, false);"},
    };
    size_t cap = strlen(sql) * 14 + 256; /* @ID@ grows 13-fold at most; one reseed */
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t o = 0;
    for (const char *p = sql; *p;) {
        int hit = 0;
        for (size_t t = 0; t < sizeof tok / sizeof tok[0]; t++) {
            size_t n = strlen(tok[t][0]);
            if (strncmp(p, tok[t][0], n) == 0) {
                const char *rep = tok[t][postgres ? 2 : 1];
                size_t m = strlen(rep);
                memcpy(out + o, rep, m);
                o += m;
                p += n;
                hit = 1;
                break;
            }
        }
        if (!hit) out[o++] = *p++;
    }
    out[o] = 0;
    return out;
}
