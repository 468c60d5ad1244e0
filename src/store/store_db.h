/*
 * store_db.h — private to src/store: the small driver interface that the two
 * database backends (store_sqlite.c, store_pg.c) implement. Everything above
 * it (store.c, migrations) is written once: SQL with `?` placeholders, which
 * the PostgreSQL driver rewrites to `$1, $2, ...`, and DDL with a few tokens
 * (@ID@, @BLOB@, @REAL@, @INSTR@) that each driver expands to its own
 * types and functions.
 *
 * A connection is used by one thread at a time (the pool in store.c hands
 * them out). Prepared statements are cached per connection, keyed by SQL text.
 */
#ifndef RC_STORE_DB_H
#define RC_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"

typedef struct db_conn db_conn;
typedef struct db_q db_q;

typedef struct db_ops {
    const char *name; /* "sqlite" or "postgres" */
    void (*close)(db_conn *c);
    /* Run SQL without parameters or results (may hold several statements). */
    rc_status (*exec)(db_conn *c, const char *sql, rc_error *err);
    /* A prepared statement, reset and ready for binding. */
    rc_status (*prepare)(db_conn *c, const char *sql, db_q **out, rc_error *err);
    void (*bind_i64)(db_q *q, int idx, int64_t v);
    void (*bind_f64)(db_q *q, int idx, double v);
    void (*bind_text)(db_q *q, int idx, const char *s); /* NULL binds SQL NULL */
    void (*bind_blob)(db_q *q, int idx, const void *p, size_t n);
    void (*bind_null)(db_q *q, int idx);
    /* 1: a row is ready, 0: no more rows, <0: error (err filled). */
    int (*step)(db_q *q, rc_error *err);
    int64_t (*col_i64)(db_q *q, int col);
    double (*col_f64)(db_q *q, int col);
    const char *(*col_text)(db_q *q, int col); /* "" for NULL; valid until next step */
    const void *(*col_blob)(db_q *q, int col, size_t *n);
    int (*col_null)(db_q *q, int col);
    /* Reset the statement after use (keeps it cached). */
    void (*done)(db_q *q);
    /* Rows changed by the last statement. */
    int64_t (*changes)(db_q *q);
    /* Wait up to timeout_ms for a notification on a LISTENing connection:
     * 1 notified, 0 timed out, <0 error. SQLite has none and just sleeps. */
    int (*wait_notify)(db_conn *c, int timeout_ms, rc_error *err);
    /* Whether a failed connection should be thrown away. */
    int (*broken)(db_conn *c);
} db_ops;

struct db_conn {
    const db_ops *ops;
    int pinned;         /* inside store_tx_begin/end: owned by one thread's transaction */
    int damaged;        /* SQLite: a statement found the file damaged (SQLITE_CORRUPT) */
    int erased;         /* biometric data deleted inside the pinned transaction: wipe at its end */
    int depth;          /* store_tx_begin calls nested inside the pinned transaction */
    rc_status inner_st; /* the first failure a nested store_tx_end reported; RC_OK: none */
};

struct db_q {
    const db_ops *ops;
};

/* Open one connection. `url` is a file path (sqlite) or postgres:// URL. */
rc_status db_sqlite_connect(const char *path, db_conn **out, rc_error *err);
rc_status db_pg_connect(const char *url, db_conn **out, rc_error *err);

/* SQLite online backup of the open database into `dest` (a new file). */
rc_status db_sqlite_backup(db_conn *c, const char *dest, rc_error *err);
/* "PRAGMA integrity_check" (quick: "PRAGMA quick_check", which skips
 * matching indexes against their tables) result, "ok" when healthy, into buf;
 * a check that cannot even run on the damage says so in buf too. */
rc_status db_sqlite_integrity(db_conn *c, int quick, char *buf, size_t cap, rc_error *err);

/* The schema, in order (store_schema.c). SQLite runs migrations with its
 * foreign keys off (as its manual asks for table rebuilds) and checks every
 * reference before committing. */
typedef struct {
    int version;
    const char *name;
    const char *sql;
    /* SQLite only, after sql in the same transaction: what SQL text alone
     * cannot say (rebuilding tables from their current definitions). */
    rc_status (*sqlite_fn)(db_conn *c, rc_error *err);
    /* Both backends, after the above in the same transaction: values only C
     * computes (a person's search key). */
    rc_status (*fn)(db_conn *c, rc_error *err);
} db_migration;

/* A person's search key (persons.search_key): name, external id and e-mail
 * on lines of their own, case-folded and without accents (Unicode: "Íñigo
 * Núñez" -> "inigo nunez"), so that a search finds names however they are
 * typed; db_search_fold folds the search text the same way. Both write at
 * most cap - 1 bytes and a NUL. */
#define STORE_SEARCH_KEY_MAX 1024
void db_search_key(const char *name, const char *external_id, const char *email, char *out,
                   size_t cap);
void db_search_fold(const char *text, char *out, size_t cap);
extern const db_migration db_migrations[];
extern const size_t db_migration_count;

/* Expand the @ID@/@SERIAL@/@BLOB@/@REAL@/@INSTR@ DDL tokens (@SERIAL@: an id
 * never reused, AUTOINCREMENT on SQLite); returns malloc'd text or NULL. */
char *db_expand_ddl(const char *sql, int postgres);

static inline void db_bind_i64(db_q *q, int i, int64_t v)
{
    q->ops->bind_i64(q, i, v);
}
static inline void db_bind_f64(db_q *q, int i, double v)
{
    q->ops->bind_f64(q, i, v);
}
static inline void db_bind_text(db_q *q, int i, const char *s)
{
    q->ops->bind_text(q, i, s);
}
static inline void db_bind_blob(db_q *q, int i, const void *p, size_t n)
{
    q->ops->bind_blob(q, i, p, n);
}
static inline void db_bind_null(db_q *q, int i)
{
    q->ops->bind_null(q, i);
}
static inline int db_step(db_q *q, rc_error *err)
{
    return q->ops->step(q, err);
}
static inline int64_t db_i64(db_q *q, int c)
{
    return q->ops->col_i64(q, c);
}
static inline double db_f64(db_q *q, int c)
{
    return q->ops->col_f64(q, c);
}
static inline const char *db_text(db_q *q, int c)
{
    return q->ops->col_text(q, c);
}
static inline const void *db_blob(db_q *q, int c, size_t *n)
{
    return q->ops->col_blob(q, c, n);
}
static inline int db_null(db_q *q, int c)
{
    return q->ops->col_null(q, c);
}
static inline void db_done(db_q *q)
{
    q->ops->done(q);
}
static inline int64_t db_changes(db_q *q)
{
    return q->ops->changes(q);
}

#endif
