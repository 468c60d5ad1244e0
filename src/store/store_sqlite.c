/*
 * store_sqlite.c — the SQLite driver behind store.c: one connection per
 * db_conn, prepared statements cached by SQL text, and the PRAGMAs that make
 * the embedded database safe to share and hard to lose:
 *
 *   journal_mode=WAL     readers never block the writer (HTTP threads read
 *                        while the camera thread writes events);
 *   synchronous=FULL     the WAL is fsync'd at every commit, so an event that
 *                        was acknowledged survives not only a killed process
 *                        (NORMAL would already) but also power loss, which is
 *                        what "every acknowledged event is durable" asks for;
 *   foreign_keys=ON      deleting a person cascades to faces and events;
 *   busy_timeout=10000   writers from several connections wait for each
 *                        other instead of failing with SQLITE_BUSY;
 *   secure_delete=ON     deleted rows and freed pages are overwritten with
 *                        zeros, so a deleted person's face images and
 *                        embeddings do not linger in free space (store.c
 *                        then checkpoints and truncates the WAL, which still
 *                        holds the older page images).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_db.h"

#define SQ_CACHE 160

typedef struct sq_q {
    db_q base;
    sqlite3_stmt *st;
    const char *key; /* SQL text it was prepared from (owned) */
    struct sq_conn *conn;
} sq_q;

typedef struct sq_conn {
    db_conn base;
    sqlite3 *db;
    sq_q *cache[SQ_CACHE];
    int ncache;
} sq_conn;

static const db_ops sq_ops;

/* A damaged database file found while answering a query is the server's
 * fault, not the caller's: RC_ERR_DB (HTTP 500, logged), with words saying
 * what to do, and the connection remembers it (store_open reports a file
 * found damaged while opening as RC_ERR_CORRUPT). */
static rc_status sq_err(sq_conn *c, int rc, rc_error *err, const char *what)
{
    sqlite3 *db = c ? c->db : NULL;
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    rc_status code = RC_ERR_DB;
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        code = RC_ERR_CONFLICT;
    else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        code = RC_ERR_NOT_FOUND;
    else if (ext == SQLITE_CONSTRAINT_CHECK || ext == SQLITE_CONSTRAINT_NOTNULL)
        code = RC_ERR_INVALID;
    else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
        if (c) c->base.damaged = 1;
        return rc_fail(err, RC_ERR_DB,
                       "the database file is damaged (sqlite: %s: %s); run rollcall db check", what,
                       msg);
    } else if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR ||
               (rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_FULL)
        code = RC_ERR_IO;
    return rc_fail(err, code, "sqlite: %s: %s", what, msg);
}

rc_status db_sqlite_connect(const char *path, db_conn **out, rc_error *err)
{
    sq_conn *c = calloc(1, sizeof *c);
    if (!c) return rc_fail(err, RC_ERR_NOMEM, "out of memory opening %s", path);
    c->base.ops = &sq_ops;
    int rc = sqlite3_open_v2(
        path, &c->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        rc_status s = rc_fail(err, (rc & 0xff) == SQLITE_NOTADB ? RC_ERR_CORRUPT : RC_ERR_IO,
                              "cannot open database %s: %s", path,
                              c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        free(c);
        return s;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, 10000);
    /* The first statement to touch the file tells us whether it is a database. */
    const char *pragmas = "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; "
                          "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;";
    char *msg = NULL;
    rc = sqlite3_exec(c->db, pragmas, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        rc_status s =
            rc_fail(err,
                    (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT ? RC_ERR_CORRUPT
                                                                                  : RC_ERR_IO,
                    "cannot use %s as a database: %s", path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(c->db);
        free(c);
        return s;
    }
    *out = &c->base;
    return RC_OK;
}

static void sq_close(db_conn *base)
{
    sq_conn *c = (sq_conn *)base;
    if (!c) return;
    for (int i = 0; i < c->ncache; i++) {
        sqlite3_finalize(c->cache[i]->st);
        free((char *)c->cache[i]->key);
        free(c->cache[i]);
    }
    sqlite3_close(c->db);
    free(c);
}

static rc_status sq_exec(db_conn *base, const char *sql, rc_error *err)
{
    sq_conn *c = (sq_conn *)base;
    char *x = db_expand_ddl(sql, 0);
    if (!x) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, x, NULL, NULL, &msg);
    free(x);
    if (rc != SQLITE_OK) {
        rc_status s = sq_err(c, rc, err, msg ? msg : "exec");
        sqlite3_free(msg);
        return s;
    }
    return RC_OK;
}

static rc_status sq_prepare(db_conn *base, const char *sql, db_q **out, rc_error *err)
{
    sq_conn *c = (sq_conn *)base;
    for (int i = 0; i < c->ncache; i++) {
        if (c->cache[i]->key == sql || strcmp(c->cache[i]->key, sql) == 0) {
            *out = &c->cache[i]->base;
            return RC_OK;
        }
    }
    sq_q *q = calloc(1, sizeof *q);
    char *key = strdup(sql);
    if (!q || !key) {
        free(q);
        free(key);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->st, NULL);
    if (rc != SQLITE_OK) {
        free(q);
        free(key);
        return sq_err(c, rc, err, "prepare");
    }
    q->base.ops = &sq_ops;
    q->key = key;
    q->conn = c;
    if (c->ncache < SQ_CACHE) {
        c->cache[c->ncache++] = q;
    } else { /* full: evict the oldest entry */
        sqlite3_finalize(c->cache[0]->st);
        free((char *)c->cache[0]->key);
        free(c->cache[0]);
        memmove(c->cache, c->cache + 1, (SQ_CACHE - 1) * sizeof c->cache[0]);
        c->cache[SQ_CACHE - 1] = q;
    }
    *out = &q->base;
    return RC_OK;
}

static void sq_bind_i64(db_q *q, int i, int64_t v)
{
    sqlite3_bind_int64(((sq_q *)q)->st, i, v);
}
static void sq_bind_f64(db_q *q, int i, double v)
{
    sqlite3_bind_double(((sq_q *)q)->st, i, v);
}
static void sq_bind_text(db_q *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(((sq_q *)q)->st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(((sq_q *)q)->st, i);
}
static void sq_bind_blob(db_q *q, int i, const void *p, size_t n)
{
    if (p)
        sqlite3_bind_blob64(((sq_q *)q)->st, i, p, n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(((sq_q *)q)->st, i);
}
static void sq_bind_null(db_q *q, int i)
{
    sqlite3_bind_null(((sq_q *)q)->st, i);
}

static int sq_step(db_q *base, rc_error *err)
{
    sq_q *q = (sq_q *)base;
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    sq_err(q->conn, rc, err, "query");
    return -1;
}

static int64_t sq_i64(db_q *q, int c)
{
    return sqlite3_column_int64(((sq_q *)q)->st, c);
}
static double sq_f64(db_q *q, int c)
{
    return sqlite3_column_double(((sq_q *)q)->st, c);
}
static const char *sq_text(db_q *q, int c)
{
    const unsigned char *t = sqlite3_column_text(((sq_q *)q)->st, c);
    return t ? (const char *)t : "";
}
static const void *sq_blob(db_q *q, int c, size_t *n)
{
    const void *p = sqlite3_column_blob(((sq_q *)q)->st, c);
    *n = (size_t)sqlite3_column_bytes(((sq_q *)q)->st, c);
    return p;
}
static int sq_null(db_q *q, int c)
{
    return sqlite3_column_type(((sq_q *)q)->st, c) == SQLITE_NULL;
}
static void sq_done(db_q *base)
{
    sq_q *q = (sq_q *)base;
    sqlite3_reset(q->st);
    sqlite3_clear_bindings(q->st);
}
static int64_t sq_changes(db_q *q)
{
    return sqlite3_changes64(((sq_q *)q)->conn->db);
}
static int sq_wait(db_conn *c, int timeout_ms, rc_error *err)
{
    (void)c;
    (void)err;
    if (timeout_ms > 0) sqlite3_sleep(timeout_ms);
    return 0;
}

static int sq_broken(db_conn *c)
{
    (void)c;
    return 0;
}

rc_status db_sqlite_backup(db_conn *base, const char *dest, rc_error *err)
{
    sq_conn *c = (sq_conn *)base;
    sqlite3 *out = NULL;
    int rc = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        rc_status s = rc_fail(err, RC_ERR_IO, "cannot create backup file %s: %s", dest,
                              out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
        sqlite3_close(out);
        return s;
    }
    sqlite3_backup *b = sqlite3_backup_init(out, "main", c->db, "main");
    if (!b) {
        rc_status s =
            rc_fail(err, RC_ERR_IO, "cannot back up into %s: %s", dest, sqlite3_errmsg(out));
        sqlite3_close(out);
        return s;
    }
    /* Copy in steps so that writers are not blocked for the whole copy; a
     * write between steps restarts the copy from the new state. */
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        rc_status s =
            rc_fail(err, RC_ERR_IO, "backup into %s failed: %s", dest, sqlite3_errmsg(out));
        sqlite3_close(out);
        return s;
    }
    return sqlite3_close(out) == SQLITE_OK ? RC_OK
                                           : rc_fail(err, RC_ERR_IO, "cannot close %s", dest);
}

rc_status db_sqlite_integrity(db_conn *base, int quick, char *buf, size_t cap, rc_error *err)
{
    sq_conn *c = (sq_conn *)base;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, quick ? "PRAGMA quick_check" : "PRAGMA integrity_check", -1,
                                &st, NULL);
    buf[0] = 0;
    size_t used = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        int n = snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", t ? t : "");
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
        /* Too damaged for the check itself to run: that is its answer. */
        snprintf(buf, cap, "%s", sqlite3_errmsg(c->db));
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq_err(c, rc, err, "integrity_check");
    return RC_OK;
}

static const db_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind_i64 = sq_bind_i64,
    .bind_f64 = sq_bind_f64,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_i64 = sq_i64,
    .col_f64 = sq_f64,
    .col_text = sq_text,
    .col_blob = sq_blob,
    .col_null = sq_null,
    .done = sq_done,
    .changes = sq_changes,
    .wait_notify = sq_wait,
    .broken = sq_broken,
};
