/*
 * store.c — the store interface, written once over the driver in
 * store_db.h: the connection pool, migrations, and every record's SQL.
 *
 * Pool: up to STORE_POOL connections are opened on demand; a call takes one
 * (waiting on a condition variable when all are busy), runs its statements
 * and gives it back. A PostgreSQL connection that broke is dropped and the
 * next call opens a fresh one. With SQLite every connection is a separate
 * handle on the same WAL database, so readers run beside the writer.
 *
 * Queries with optional filters are assembled by a tiny builder (qb) that
 * only adds the conditions in use; the SQL text still has only `?`
 * placeholders and every value is bound, never pasted into the text.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <utf8proc.h>

#include "store.h"
#include "store_db.h"

#define STORE_POOL 6

struct store {
    store_backend kind;
    char *target; /* SQLite path or PostgreSQL conninfo */
    int max_conns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_conn *idle[STORE_POOL];
    int nidle, nopen;
    /* A connection of its own for store_gallery_wait (LISTEN on PostgreSQL). */
    pthread_mutex_t listen_mu;
    db_conn *listener;
    /* The connection a thread pinned with store_tx_begin, per thread. */
    pthread_key_t pin_key;
};

/* ---- small helpers -------------------------------------------------------- */

static void cp(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A fixed-size text field handed in by a caller must be NUL-terminated. */
static int terminated(const char *field, size_t cap)
{
    return memchr(field, 0, cap) != NULL;
}
#define FIELD_OK(p, f) terminated((p)->f, sizeof(p)->f)

static rc_status too_long(rc_error *err, const char *what, size_t max)
{
    return rc_fail(err, RC_ERR_LIMIT, "%s is too long (at most %zu characters)", what, max - 1);
}

static int64_t page_limit(store_page p)
{
    if (p.limit <= 0) return 100;
    return p.limit > 10000 ? 10000 : p.limit;
}

/* Bind a list of values described by `types`:
 *   i int64   I int64, 0 binds NULL   d double
 *   t text (NULL binds NULL)   T text, "" binds NULL   b blob (ptr, size_t) */
static void bind_v(db_q *q, const char *types, va_list ap)
{
    int idx = 1;
    for (const char *t = types; *t; t++, idx++) {
        switch (*t) {
        case 'i':
            db_bind_i64(q, idx, va_arg(ap, int64_t));
            break;
        case 'I': {
            int64_t v = va_arg(ap, int64_t);
            if (v)
                db_bind_i64(q, idx, v);
            else
                db_bind_null(q, idx);
            break;
        }
        case 'd':
            db_bind_f64(q, idx, va_arg(ap, double));
            break;
        case 't':
            db_bind_text(q, idx, va_arg(ap, const char *));
            break;
        case 'T': {
            const char *v = va_arg(ap, const char *);
            db_bind_text(q, idx, v && *v ? v : NULL);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            db_bind_blob(q, idx, p, n);
            break;
        }
        default:
            break;
        }
    }
}

/* Prepare and bind; NULL on error (err filled). */
static db_q *qprep_v(db_conn *c, const char *sql, rc_error *err, const char *types, va_list ap)
{
    db_q *q = NULL;
    if (c->ops->prepare(c, sql, &q, err) != RC_OK) return NULL;
    bind_v(q, types, ap);
    return q;
}
static db_q *qprep(db_conn *c, const char *sql, rc_error *err, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    db_q *q = qprep_v(c, sql, err, types, ap);
    va_end(ap);
    return q;
}

/* Run a statement to completion; *changes (may be NULL) gets rows changed. */
static rc_status qexec_v(db_conn *c, const char *sql, int64_t *changes, rc_error *err,
                         const char *types, va_list ap)
{
    db_q *q = NULL;
    rc_status st = c->ops->prepare(c, sql, &q, err);
    if (st != RC_OK) return st;
    bind_v(q, types, ap);
    int r;
    while ((r = db_step(q, err)) > 0) {
    }
    if (r == 0 && changes) *changes = db_changes(q);
    db_done(q);
    return r < 0 ? (err ? err->code : RC_ERR_DB) : RC_OK;
}
static rc_status qexec(db_conn *c, const char *sql, int64_t *changes, rc_error *err,
                       const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    rc_status st = qexec_v(c, sql, changes, err, types, ap);
    va_end(ap);
    return st;
}

/* First column of the first row as an integer; RC_ERR_NOT_FOUND if no row. */
static rc_status qint(db_conn *c, const char *sql, int64_t *out, rc_error *err, const char *types,
                      ...)
{
    db_q *q = NULL;
    rc_status st = c->ops->prepare(c, sql, &q, err);
    if (st != RC_OK) return st;
    va_list ap;
    va_start(ap, types);
    bind_v(q, types, ap);
    va_end(ap);
    int r = db_step(q, err);
    if (r > 0) *out = db_i64(q, 0);
    db_done(q);
    if (r < 0) return err ? err->code : RC_ERR_DB;
    return r == 0 ? rc_fail(err, RC_ERR_NOT_FOUND, "no such record") : RC_OK;
}

typedef void (*row_fn)(db_q *q, void *dst);

/* Step through every row, appending each (read by `row`) to a growing array. */
static rc_status collect(db_q *q, size_t elem, row_fn row, void **out, size_t *n, rc_error *err)
{
    size_t cap = 0, cnt = 0;
    char *arr = NULL;
    int r;
    while ((r = db_step(q, err)) > 0) {
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char *na = realloc(arr, nc * elem);
            if (!na) {
                free(arr);
                db_done(q);
                return rc_fail(err, RC_ERR_NOMEM, "out of memory reading %zu rows", cnt);
            }
            arr = na;
            cap = nc;
        }
        memset(arr + cnt * elem, 0, elem);
        row(q, arr + cnt * elem);
        cnt++;
    }
    db_done(q);
    if (r < 0) {
        free(arr);
        return err ? err->code : RC_ERR_DB;
    }
    *out = arr;
    *n = cnt;
    return RC_OK;
}

/* Read exactly one row into dst; RC_ERR_NOT_FOUND naming `what` otherwise. */
static rc_status one(db_q *q, row_fn row, void *dst, rc_error *err, const char *what, int64_t id)
{
    int r = db_step(q, err);
    if (r > 0) row(q, dst);
    db_done(q);
    if (r < 0) return err ? err->code : RC_ERR_DB;
    if (r == 0) return rc_fail(err, RC_ERR_NOT_FOUND, "no %s with id %lld", what, (long long)id);
    return RC_OK;
}

/* Prepare, bind and read exactly one row on connection c (see one()). */
static rc_status qone(db_conn *c, row_fn row, void *dst, rc_error *err, const char *what,
                      int64_t id, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    db_q *q = qprep_v(c, sql, err, types, ap);
    va_end(ap);
    return q ? one(q, row, dst, err, what, id) : (err ? err->code : RC_ERR_DB);
}

/* ---- query builder for optional filters ----------------------------------- */

#define QB_MAX 16
typedef struct {
    char where[1024];
    size_t len;
    int n;
    char type[QB_MAX];
    int64_t iv[QB_MAX];
    const char *tv[QB_MAX];
} qb;

static void qb_cond(qb *b, const char *cond)
{
    int w = snprintf(b->where + b->len, sizeof b->where - b->len, "%s%s",
                     b->len ? " AND " : " WHERE ", cond);
    if (w > 0) b->len += (size_t)w;
}
static void qb_i(qb *b, const char *cond, int64_t v)
{
    qb_cond(b, cond);
    for (const char *p = cond; *p; p++)
        if (*p == '?' && b->n < QB_MAX) {
            b->type[b->n] = 'i';
            b->iv[b->n++] = v;
        }
}
static void qb_t(qb *b, const char *cond, const char *v)
{
    qb_cond(b, cond);
    for (const char *p = cond; *p; p++)
        if (*p == '?' && b->n < QB_MAX) {
            b->type[b->n] = 't';
            b->tv[b->n++] = v;
        }
}
/* Prepare "head WHERE... tail" and bind the filter values, then `extra`
 * integers (e.g. LIMIT and OFFSET) after them. */
static db_q *qb_prep(db_conn *c, const qb *b, const char *head, const char *tail, rc_error *err,
                     int nextra, int64_t e1, int64_t e2)
{
    char sql[2048];
    snprintf(sql, sizeof sql, "%s%s%s", head, b->where, tail ? tail : "");
    db_q *q = NULL;
    if (c->ops->prepare(c, sql, &q, err) != RC_OK) return NULL;
    int i = 0;
    for (; i < b->n; i++) {
        if (b->type[i] == 'i')
            db_bind_i64(q, i + 1, b->iv[i]);
        else
            db_bind_text(q, i + 1, b->tv[i]);
    }
    if (nextra > 0) db_bind_i64(q, ++i, e1);
    if (nextra > 1) db_bind_i64(q, ++i, e2);
    return q;
}
static rc_status qb_count(db_conn *c, const qb *b, const char *head, int64_t *total, rc_error *err)
{
    if (!total) return RC_OK;
    db_q *q = qb_prep(c, b, head, NULL, err, 0, 0, 0);
    if (!q) return err ? err->code : RC_ERR_DB;
    int r = db_step(q, err);
    if (r > 0) *total = db_i64(q, 0);
    db_done(q);
    return r < 0 ? (err ? err->code : RC_ERR_DB) : RC_OK;
}

/* ---- pool ----------------------------------------------------------------- */

static rc_status connect_one(store *s, db_conn **out, rc_error *err)
{
    if (s->kind == STORE_POSTGRES) return db_pg_connect(s->target, out, err);
    return db_sqlite_connect(s->target, out, err);
}

static rc_status take(store *s, db_conn **out, rc_error *err)
{
    db_conn *pinned = pthread_getspecific(s->pin_key);
    if (pinned) { /* this thread is inside store_tx_begin/end */
        *out = pinned;
        return RC_OK;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->nidle > 0) {
            *out = s->idle[--s->nidle];
            pthread_mutex_unlock(&s->mu);
            return RC_OK;
        }
        if (s->nopen < s->max_conns) break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    s->nopen++;
    pthread_mutex_unlock(&s->mu);
    rc_status st = connect_one(s, out, err);
    if (st != RC_OK) {
        pthread_mutex_lock(&s->mu);
        s->nopen--;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return st;
}

static void give(store *s, db_conn *c)
{
    if (c->pinned) return; /* store_tx_end gives it back */
    if (c->ops->broken(c)) {
        c->ops->close(c);
        pthread_mutex_lock(&s->mu);
        s->nopen--;
    } else {
        pthread_mutex_lock(&s->mu);
        s->idle[s->nidle++] = c;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

#define TAKE(s, c, err)                                                                            \
    db_conn *c = NULL;                                                                             \
    do {                                                                                           \
        rc_status take_st_ = take((s), &c, (err));                                                 \
        if (take_st_ != RC_OK) return take_st_;                                                    \
    } while (0)

/* One page of rows ("head WHERE... tail", tail ending in LIMIT ? OFFSET ?)
 * and, when total is not NULL, how many rows of `table` match the filter. */
static rc_status qb_page(store *s, const qb *b, const char *head, const char *table,
                         const char *tail, store_page page, size_t elem, row_fn row, void **out,
                         size_t *n, int64_t *total, rc_error *err)
{
    char count[128];
    snprintf(count, sizeof count, "SELECT count(*) FROM %s", table);
    TAKE(s, c, err);
    rc_status st = qb_count(c, b, count, total, err);
    if (st == RC_OK) {
        db_q *q = qb_prep(c, b, head, tail, err, 2, page_limit(page), page.offset);
        st = q ? collect(q, elem, row, out, n, err) : (err ? err->code : RC_ERR_DB);
    }
    give(s, c);
    return st;
}

/* Run one SELECT on a pooled connection and collect every row (read by
 * `row`) into a new array of `elem`-sized records; the caller frees *out. */
static rc_status query_list(store *s, size_t elem, row_fn row, void **out, size_t *n, rc_error *err,
                            const char *sql, const char *types, ...)
{
    TAKE(s, c, err);
    va_list ap;
    va_start(ap, types);
    db_q *q = qprep_v(c, sql, err, types, ap);
    va_end(ap);
    rc_status st = q ? collect(q, elem, row, out, n, err) : (err ? err->code : RC_ERR_DB);
    give(s, c);
    return st;
}

/* Run one SELECT on a pooled connection and read exactly one row into dst;
 * RC_ERR_NOT_FOUND naming `what` and `id` when there is none. */
static rc_status query_one(store *s, row_fn row, void *dst, rc_error *err, const char *what,
                           int64_t id, const char *sql, const char *types, ...)
{
    TAKE(s, c, err);
    va_list ap;
    va_start(ap, types);
    db_q *q = qprep_v(c, sql, err, types, ap);
    va_end(ap);
    rc_status st = q ? one(q, row, dst, err, what, id) : (err ? err->code : RC_ERR_DB);
    give(s, c);
    return st;
}

/* Run one statement to completion on a pooled connection (see qexec). */
static rc_status query_exec(store *s, const char *sql, int64_t *changes, rc_error *err,
                            const char *types, ...)
{
    TAKE(s, c, err);
    va_list ap;
    va_start(ap, types);
    rc_status st = qexec_v(c, sql, changes, err, types, ap);
    va_end(ap);
    give(s, c);
    return st;
}

static rc_status tx_begin(store *s, db_conn *c, rc_error *err)
{
    if (c->pinned) return RC_OK; /* part of the caller's transaction */
    /* IMMEDIATE takes SQLite's write lock up front, so two writers never
     * deadlock upgrading from a read lock; busy_timeout makes the later wait. */
    return c->ops->exec(c, s->kind == STORE_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

/* Commit when st is RC_OK, otherwise roll back; returns the final status. */
static rc_status tx_end(db_conn *c, rc_status st, rc_error *err)
{
    if (c->pinned) return st; /* store_tx_end commits or rolls back */
    if (st == RC_OK) {
        st = c->ops->exec(c, "COMMIT", err);
        if (st == RC_OK) return RC_OK;
    }
    c->ops->exec(c, "ROLLBACK", NULL);
    return st;
}

rc_status store_tx_begin(store *s, int64_t lock_key, rc_error *err)
{
    db_conn *c = pthread_getspecific(s->pin_key);
    if (c) { /* nested: part of the open transaction, with its lock too */
        rc_status st = RC_OK;
        if (lock_key && s->kind == STORE_POSTGRES)
            st = qexec(c, "SELECT pg_advisory_xact_lock(?)", NULL, err, "i", lock_key);
        if (st == RC_OK)
            c->depth++;
        else if (c->inner_st == RC_OK) /* the outer transaction cannot commit now */
            c->inner_st = st;
        return st;
    }
    rc_status st = take(s, &c, err);
    if (st != RC_OK) return st;
    st = tx_begin(s, c, err);
    if (st == RC_OK && lock_key && s->kind == STORE_POSTGRES)
        st = qexec(c, "SELECT pg_advisory_xact_lock(?)", NULL, err, "i", lock_key);
    if (st != RC_OK) {
        tx_end(c, st, NULL);
        give(s, c);
        return st;
    }
    c->pinned = 1;
    pthread_setspecific(s->pin_key, c);
    return RC_OK;
}

static void erase_deleted(store *s);

rc_status store_tx_end(store *s, rc_status st, rc_error *err)
{
    db_conn *c = pthread_getspecific(s->pin_key);
    if (!c) return rc_fail(err, RC_ERR_INTERNAL, "store_tx_end without store_tx_begin");
    if (c->depth > 0) { /* nested: the outermost end commits or rolls back */
        c->depth--;
        if (st != RC_OK && c->inner_st == RC_OK) c->inner_st = st;
        return st;
    }
    /* A nested part that failed undoes the whole, whatever the outer says. */
    if (st == RC_OK && c->inner_st != RC_OK)
        st = rc_fail(err, c->inner_st, "part of the transaction failed; nothing was changed");
    c->inner_st = RC_OK;
    pthread_setspecific(s->pin_key, NULL);
    c->pinned = 0;
    int erased = c->erased;
    c->erased = 0;
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK && erased) erase_deleted(s);
    return st;
}

/* ---- open, migrate -------------------------------------------------------- */

/* Apply pending migrations up to version `upto` (0: all). */
static rc_status migrate_locked(store *s, db_conn *c, int upto, int *applied, rc_error *err)
{
    /* SQLite: foreign keys off while tables are rebuilt (a DROP TABLE would
     * otherwise cascade), checked before the commit. Only outside a
     * transaction does the pragma take effect. */
    int sqlite = s->kind == STORE_SQLITE;
    rc_status st = sqlite ? c->ops->exec(c, "PRAGMA foreign_keys=OFF", err) : RC_OK;
    if (st == RC_OK) st = tx_begin(s, c, err);
    if (st != RC_OK) return st;
    if (st != RC_OK) return st;
    if (s->kind == STORE_POSTGRES) /* one migrator at a time across processes */
        st = qexec(c, "SELECT pg_advisory_xact_lock(7240517)", NULL, err, "");
    if (st == RC_OK)
        st = c->ops->exec(c,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                          " applied_ms BIGINT NOT NULL)",
                          err);
    int64_t have = 0;
    if (st == RC_OK)
        st = qint(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &have, err, "");
    int latest = db_migrations[db_migration_count - 1].version;
    if (st == RC_OK && have > latest)
        st = rc_fail(err, RC_ERR_UNSUPPORTED,
                     "the database is at schema version %lld but this rollcall knows only up to "
                     "%d; use a newer rollcall",
                     (long long)have, latest);
    int n = 0;
    for (size_t i = 0; st == RC_OK && i < db_migration_count; i++) {
        const db_migration *m = &db_migrations[i];
        if (m->version <= have || (upto > 0 && m->version > upto)) continue;
        st = c->ops->exec(c, m->sql, err);
        if (st == RC_OK && sqlite && m->sqlite_fn) st = m->sqlite_fn(c, err);
        if (st == RC_OK && m->fn) st = m->fn(c, err);
        if (st != RC_OK) {
            char msg[sizeof err->msg];
            cp(msg, sizeof msg, err ? err->msg : "");
            st = rc_fail(err, st, "migration %d (%s) failed: %s", m->version, m->name, msg);
            break;
        }
        st = qexec(c, "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
                   NULL, err, "iti", (int64_t)m->version, m->name, rc_unix_ms());
        n++;
    }
    int64_t broken = 0;
    if (st == RC_OK && sqlite && n > 0)
        st = qint(c, "SELECT count(*) FROM pragma_foreign_key_check", &broken, err, "");
    if (st == RC_OK && broken > 0)
        st = rc_fail(err, RC_ERR_CORRUPT,
                     "the migrated database would have %lld rows referring to rows that do not "
                     "exist (PRAGMA foreign_key_check lists them); nothing was changed",
                     (long long)broken);
    st = tx_end(c, st, err);
    if (sqlite) c->ops->exec(c, "PRAGMA foreign_keys=ON", NULL);
    if (st == RC_OK && applied) *applied = n;
    return st;
}

rc_status store_migrate(store *s, int *applied, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = migrate_locked(s, c, 0, applied, err);
    give(s, c);
    return st;
}

rc_status store_migrate_to(store *s, int version, int *applied, rc_error *err)
{
    if (version < 1)
        return rc_fail(err, RC_ERR_INVALID, "schema version %d: versions start at 1", version);
    TAKE(s, c, err);
    rc_status st = migrate_locked(s, c, version, applied, err);
    give(s, c);
    return st;
}

static int is_pg_url(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

rc_status store_open(const char *url, unsigned flags, store **out, rc_error *err)
{
    if (!url || !*url) url = STORE_DEFAULT_URL;
    store *s = calloc(1, sizeof *s);
    if (!s) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->listen_mu, NULL);
    if (pthread_key_create(&s->pin_key, NULL) != 0) {
        free(s);
        return rc_fail(err, RC_ERR_NOMEM, "out of thread-specific keys");
    }
    s->max_conns = STORE_POOL;
    if (is_pg_url(url)) {
        s->kind = STORE_POSTGRES;
        s->target = strdup(url);
    } else {
        s->kind = STORE_SQLITE;
        if (strncmp(url, "sqlite:", 7) == 0) url += 7;
        if (strncmp(url, "//", 2) == 0) url += 2;
        s->target = strdup(url);
        if (strcmp(url, ":memory:") == 0) s->max_conns = 1; /* each would be its own db */
        /* Create the parent directory of the file. */
        const char *slash = strrchr(url, '/');
        if (s->target && slash && slash != url && strncmp(url, "file:", 5) != 0) {
            char dir[1024];
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - url), url);
            rc_status st = rc_mkdir_p(dir, err);
            if (st != RC_OK) {
                store_close(s);
                return st;
            }
        }
    }
    if (!s->target) {
        store_close(s);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    /* Open one connection now so that a bad path or URL fails here. */
    db_conn *c = NULL;
    rc_status st = take(s, &c, err);
    if (st == RC_OK && !(flags & STORE_OPEN_NO_MIGRATE)) st = migrate_locked(s, c, 0, NULL, err);
    if (st != RC_OK && c && c->damaged) st = RC_ERR_CORRUPT; /* the file given is damaged */
    if (err && st == RC_ERR_CORRUPT) err->code = st;
    if (c) give(s, c);
    if (st != RC_OK) {
        store_close(s);
        return st;
    }
    *out = s;
    return RC_OK;
}

void store_close(store *s)
{
    if (!s) return;
    for (int i = 0; i < s->nidle; i++) s->idle[i]->ops->close(s->idle[i]);
    if (s->listener) s->listener->ops->close(s->listener);
    pthread_mutex_destroy(&s->listen_mu);
    pthread_key_delete(s->pin_key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->target);
    free(s);
}

store_backend store_kind(const store *s)
{
    return s->kind;
}

const char *store_backend_name(const store *s)
{
    return s->kind == STORE_POSTGRES ? "postgres" : "sqlite";
}

rc_status store_migrations(store *s, store_migration **out, size_t *n, rc_error *err)
{
    store_migration *m = calloc(db_migration_count, sizeof *m);
    if (!m) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < db_migration_count; i++) {
        m[i].version = db_migrations[i].version;
        cp(m[i].name, sizeof m[i].name, db_migrations[i].name);
    }
    db_conn *c = NULL;
    rc_status st = take(s, &c, err);
    if (st != RC_OK) {
        free(m);
        return st;
    }
    int64_t exists = 0;
    st = qint(c,
              s->kind == STORE_SQLITE
                  ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                    "'schema_migrations'"
                  : "SELECT count(*) FROM information_schema.tables WHERE table_name = "
                    "'schema_migrations' AND table_schema = current_schema()",
              &exists, err, "");
    if (st == RC_OK && exists) {
        db_q *q = qprep(c, "SELECT version, applied_ms FROM schema_migrations", err, "");
        int r = q ? 0 : -1;
        while (q && (r = db_step(q, err)) > 0) {
            int64_t v = db_i64(q, 0);
            for (size_t i = 0; i < db_migration_count; i++)
                if (m[i].version == v) m[i].applied_ms = db_i64(q, 1);
        }
        if (q) db_done(q);
        if (r < 0) st = err ? err->code : RC_ERR_DB;
    }
    give(s, c);
    if (st != RC_OK) {
        free(m);
        return st;
    }
    *out = m;
    *n = db_migration_count;
    return RC_OK;
}

rc_status store_backup(store *s, const char *path, rc_error *err)
{
    if (s->kind == STORE_POSTGRES)
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "PostgreSQL databases are backed up with the server's tools: "
                       "pg_dump --format=custom --file=%s '<your postgres:// URL>' (consistent "
                       "while rollcall runs; restore with pg_restore)",
                       path);
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return rc_fail(err, RC_ERR_CONFLICT, "%s already exists; choose a new file name", path);
    }
    TAKE(s, c, err);
    rc_status st = db_sqlite_backup(c, path, err);
    give(s, c);
    if (st != RC_OK) remove(path);
    return st;
}

/* PostgreSQL: with the amcheck extension installed, verify every B-tree
 * index of our schema against its table (heapallindexed), which reads every
 * row; without it, only that the server answers. */
static rc_status pg_check(db_conn *c, char *buf, size_t cap, rc_error *err)
{
    int64_t have = 0;
    rc_status st =
        qint(c, "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'", &have, err, "");
    if (st != RC_OK) return st;
    if (!have) {
        cp(buf, cap, "ok");
        return RC_OK;
    }
    rc_error e2;
    int64_t checked = 0;
    st = qint(c,
              "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i "
              "JOIN pg_class c ON c.oid = i.indexrelid "
              "JOIN pg_namespace n ON n.oid = c.relnamespace "
              "JOIN pg_am a ON a.oid = c.relam "
              "WHERE n.nspname = current_schema() AND a.amname = 'btree'",
              &checked, &e2, "");
    if (st == RC_ERR_DB || st == RC_ERR_INVALID) { /* amcheck found damage */
        snprintf(buf, cap, "damaged: %s", e2.msg);
        return RC_OK;
    }
    if (st != RC_OK) return rc_fail(err, st, "%s", e2.msg);
    cp(buf, cap, "ok");
    return RC_OK;
}

rc_status store_check(store *s, char *buf, size_t cap, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = s->kind == STORE_SQLITE ? db_sqlite_integrity(c, 0, buf, cap, err)
                                           : pg_check(c, buf, cap, err);
    give(s, c);
    return st;
}

rc_status store_quick_check(store *s, char *buf, size_t cap, rc_error *err)
{
    TAKE(s, c, err);
    int64_t one = 0;
    rc_status st = s->kind == STORE_SQLITE ? db_sqlite_integrity(c, 1, buf, cap, err)
                                           : qint(c, "SELECT 1", &one, err, "");
    if (st == RC_OK && s->kind == STORE_POSTGRES) cp(buf, cap, "ok");
    give(s, c);
    return st;
}

/* ---- audit and gallery version (used inside other transactions) ----------- */

static rc_status audit_in(db_conn *c, const char *actor, const char *action, const char *ttype,
                          int64_t tid, const char *detail, rc_error *err)
{
    return qexec(c,
                 "INSERT INTO audit (ts_ms, actor, action, target_type, target_id, detail) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 NULL, err,
                 "ittt"
                 "it",
                 rc_unix_ms(), actor && *actor ? actor : "system", action, ttype ? ttype : "", tid,
                 detail ? detail : "");
}

static rc_status bump_gallery(store *s, db_conn *c, rc_error *err)
{
    rc_status st = qexec(c, "UPDATE counters SET value = value + 1 WHERE name = 'gallery_version'",
                         NULL, err, "");
    /* Delivered to LISTENers when the transaction commits. */
    if (st == RC_OK && s->kind == STORE_POSTGRES)
        st = qexec(c,
                   "SELECT pg_notify('rollcall_gallery', value::text) FROM counters WHERE "
                   "name = 'gallery_version'",
                   NULL, err, "");
    return st;
}

/* SQLite, after biometric data (faces, sighting images) was deleted: the
 * connection's secure_delete has zeroed the freed cells and pages, but the
 * WAL still holds the pages as they were before, and would until it is
 * overwritten. Checkpoint them into the database file and truncate the WAL,
 * so neither file (nor a backup made later) still holds the deleted data.
 * The checkpoint waits for readers (busy_timeout); if one never lets go, the
 * next delete (or closing the database) finishes the job. Inside a caller's
 * transaction (store_tx_begin) a checkpoint cannot run: store_tx_end does it
 * once that transaction has committed. PostgreSQL: see README (VACUUM). */
static void erase_deleted(store *s)
{
    if (s->kind != STORE_SQLITE) return;
    db_conn *c = NULL;
    if (take(s, &c, NULL) != RC_OK) return;
    int64_t busy = 0;
    if (c->pinned)
        c->erased = 1;
    else
        qint(c, "PRAGMA wal_checkpoint(TRUNCATE)", &busy, NULL, "");
    give(s, c);
}

/* JSON text of a jansson value (steals the reference); "" on failure. */
static char *json_text(json_t *j)
{
    char *t = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return t;
}

rc_status store_audit_add(store *s, const char *actor, const char *action, const char *target_type,
                          int64_t target_id, const char *detail, rc_error *err)
{
    if (!action || !*action) return rc_fail(err, RC_ERR_INVALID, "audit entry needs an action");
    if (actor && strlen(actor) >= sizeof((store_audit *)0)->actor)
        return too_long(err, "audit actor", sizeof((store_audit *)0)->actor);
    if (strlen(action) >= sizeof((store_audit *)0)->action)
        return too_long(err, "audit action", sizeof((store_audit *)0)->action);
    if (detail && strlen(detail) >= sizeof((store_audit *)0)->detail)
        return too_long(err, "audit detail", sizeof((store_audit *)0)->detail);
    TAKE(s, c, err);
    rc_status st = audit_in(c, actor, action, target_type, target_id, detail, err);
    give(s, c);
    return st;
}

static void row_audit(db_q *q, void *dst)
{
    store_audit *a = dst;
    a->id = db_i64(q, 0);
    a->ts_ms = db_i64(q, 1);
    cp(a->actor, sizeof a->actor, db_text(q, 2));
    cp(a->action, sizeof a->action, db_text(q, 3));
    cp(a->target_type, sizeof a->target_type, db_text(q, 4));
    a->target_id = db_i64(q, 5);
    cp(a->detail, sizeof a->detail, db_text(q, 6));
}

rc_status store_audit_list(store *s, const char *target_type, int64_t target_id, store_page page,
                           store_audit **out, size_t *n, int64_t *total, rc_error *err)
{
    qb b = {0};
    if (target_type && *target_type) qb_t(&b, "target_type = ?", target_type);
    if (target_id) qb_i(&b, "target_id = ?", target_id);
    return qb_page(s, &b,
                   "SELECT id, ts_ms, actor, action, target_type, target_id, detail "
                   "FROM audit",
                   "audit", " ORDER BY id DESC LIMIT ? OFFSET ?", page, sizeof **out, row_audit,
                   (void **)out, n, total, err);
}

rc_status store_audit_count(store *s, const char *actor, const char *action, int64_t since_ms,
                            int64_t *count, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st =
        qint(c, "SELECT count(*) FROM audit WHERE actor = ? AND action = ? AND ts_ms >= ?", count,
             err, "tti", actor ? actor : "", action ? action : "", since_ms);
    give(s, c);
    return st;
}

/* ---- roles, users --------------------------------------------------------- */

static void row_role(db_q *q, void *dst)
{
    store_role *r = dst;
    cp(r->name, sizeof r->name, db_text(q, 0));
    cp(r->description, sizeof r->description, db_text(q, 1));
}

rc_status store_role_list(store *s, store_role **out, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **out, row_role, (void **)out, n, err,
                      "SELECT name, description FROM roles ORDER BY name", "");
}

#define USER_COLS                                                                                  \
    "id, email, name, role, pass_hash, active, created_ms, updated_ms, person_id, last_login_ms, " \
    "group_limited, must_change_password"
static void row_user(db_q *q, void *dst)
{
    store_user *u = dst;
    u->id = db_i64(q, 0);
    cp(u->email, sizeof u->email, db_text(q, 1));
    cp(u->name, sizeof u->name, db_text(q, 2));
    cp(u->role, sizeof u->role, db_text(q, 3));
    cp(u->pass_hash, sizeof u->pass_hash, db_text(q, 4));
    u->active = (int)db_i64(q, 5);
    u->created_ms = db_i64(q, 6);
    u->updated_ms = db_i64(q, 7);
    u->person_id = db_i64(q, 8);
    u->last_login_ms = db_i64(q, 9);
    u->group_limited = (int)db_i64(q, 10);
    u->must_change = (int)db_i64(q, 11);
}

static rc_status user_valid(const store_user *u, rc_error *err)
{
    if (!FIELD_OK(u, email) || !FIELD_OK(u, name) || !FIELD_OK(u, role) || !FIELD_OK(u, pass_hash))
        return rc_fail(err, RC_ERR_INVALID, "user has an unterminated text field");
    if (!u->email[0] || !strchr(u->email, '@'))
        return rc_fail(err, RC_ERR_INVALID, "user email '%s' is not an email address", u->email);
    return RC_OK;
}

static rc_status role_err(rc_status st, const char *role, rc_error *err)
{
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, RC_ERR_INVALID,
                       "unknown role '%s' (roles: admin, manager, member, device)", role);
    return st;
}

/* A user's foreign keys are its role and its person: say which one failed. */
static rc_status user_fk_err(db_conn *c, rc_status st, const store_user *u, rc_error *err)
{
    int64_t roles = 0;
    if (st == RC_ERR_NOT_FOUND && u->person_id &&
        qint(c, "SELECT count(*) FROM roles WHERE name = ?", &roles, NULL, "t", u->role) == RC_OK &&
        roles > 0)
        return rc_fail(err, RC_ERR_INVALID, "no person with id %lld to link the user to",
                       (long long)u->person_id);
    return role_err(st, u->role, err);
}

rc_status store_user_create(store *s, store_user *u, rc_error *err)
{
    rc_status st = user_valid(u, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), id = 0;
    st = qint(
        c,
        "INSERT INTO users (email, name, role, pass_hash, active, created_ms, updated_ms, "
        "person_id, group_limited, must_change_password) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        &id, err, "ttttiiiIii", u->email, u->name, u->role, u->pass_hash, (int64_t)u->active, now,
        now, u->person_id, (int64_t)(u->group_limited != 0), (int64_t)(u->must_change != 0));
    if (st != RC_OK && st != RC_ERR_CONFLICT) st = user_fk_err(c, st, u, err);
    give(s, c);
    if (st == RC_ERR_CONFLICT)
        return rc_fail(err, st, "a user with email %s already exists", u->email);
    if (st != RC_OK) return st;
    u->id = id;
    u->last_login_ms = 0;
    u->created_ms = u->updated_ms = now;
    return RC_OK;
}

rc_status store_user_get(store *s, int64_t id, store_user *out, rc_error *err)
{
    return query_one(s, row_user, out, err, "user", id,
                     "SELECT " USER_COLS " FROM users WHERE id = ?", "i", id);
}

rc_status store_user_get_by_email(store *s, const char *email, store_user *out, rc_error *err)
{
    rc_status st = query_one(s, row_user, out, err, "user", 0,
                             "SELECT " USER_COLS " FROM users WHERE email = ?", "t", email);
    if (st == RC_ERR_NOT_FOUND) rc_fail(err, st, "no user with email %s", email);
    return st;
}

rc_status store_user_update(store *s, const store_user *u, rc_error *err)
{
    rc_status st = user_valid(u, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t ch = 0;
    st = qexec(
        c,
        "UPDATE users SET email = ?, name = ?, role = ?, pass_hash = ?, active = ?, "
        "person_id = ?, group_limited = ?, must_change_password = ?, updated_ms = ? WHERE id = ?",
        &ch, err, "ttttiIiiii", u->email, u->name, u->role, u->pass_hash, (int64_t)u->active,
        u->person_id, (int64_t)(u->group_limited != 0), (int64_t)(u->must_change != 0),
        rc_unix_ms(), u->id);
    if (st != RC_OK && st != RC_ERR_CONFLICT) st = user_fk_err(c, st, u, err);
    give(s, c);
    if (st == RC_ERR_CONFLICT)
        return rc_fail(err, st, "a user with email %s already exists", u->email);
    if (st != RC_OK) return st;
    if (ch == 0) return rc_fail(err, RC_ERR_NOT_FOUND, "no user with id %lld", (long long)u->id);
    return RC_OK;
}

/* DELETE ... WHERE id = ?; RC_ERR_NOT_FOUND naming `what` when nothing went. */
static rc_status delete_by_id(store *s, const char *sql, int64_t id, const char *what,
                              rc_error *err)
{
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st = qexec(c, sql, &ch, err, "i", id);
    give(s, c);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no %s with id %lld", what, (long long)id);
    return st;
}

rc_status store_user_delete(store *s, int64_t id, rc_error *err)
{
    return delete_by_id(s, "DELETE FROM users WHERE id = ?", id, "user", err);
}

rc_status store_user_touch_login(store *s, int64_t id, int64_t now_ms, rc_error *err)
{
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st =
        qexec(c, "UPDATE users SET last_login_ms = ? WHERE id = ?", &ch, err, "ii", now_ms, id);
    give(s, c);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no user with id %lld", (long long)id);
    return st;
}

static void row_id(db_q *q, void *dst);

rc_status store_user_groups(store *s, int64_t user_id, int64_t **ids, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **ids, row_id, (void **)ids, n, err,
                      "SELECT group_id FROM user_groups WHERE user_id = ? ORDER BY group_id", "i",
                      user_id);
}

rc_status store_user_set_groups(store *s, int64_t user_id, const int64_t *ids, size_t n,
                                rc_error *err)
{
    TAKE(s, c, err);
    int64_t users = 0;
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM users WHERE id = ?", &users, err, "i", user_id);
    if (st == RC_OK && users == 0)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no user with id %lld", (long long)user_id);
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM user_groups WHERE user_id = ?", NULL, err, "i", user_id);
    for (size_t i = 0; st == RC_OK && i < n; i++) {
        st = qexec(c,
                   "INSERT INTO user_groups (user_id, group_id) VALUES (?, ?) "
                   "ON CONFLICT DO NOTHING",
                   NULL, err, "ii", user_id, ids[i]);
        if (st == RC_ERR_NOT_FOUND)
            st = rc_fail(err, RC_ERR_INVALID, "no group with id %lld", (long long)ids[i]);
    }
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

rc_status store_user_list(store *s, store_page page, store_user **out, size_t *n, int64_t *total,
                          rc_error *err)
{
    qb b = {0};
    return qb_page(s, &b, "SELECT " USER_COLS " FROM users", "users",
                   " ORDER BY email LIMIT ? OFFSET ?", page, sizeof **out, row_user, (void **)out,
                   n, total, err);
}

/* ---- sessions ------------------------------------------------------------- */

static void row_session(db_q *q, void *dst)
{
    store_session *se = dst;
    cp(se->token_hash, sizeof se->token_hash, db_text(q, 0));
    se->user_id = db_i64(q, 1);
    cp(se->csrf, sizeof se->csrf, db_text(q, 2));
    se->created_ms = db_i64(q, 3);
    se->expires_ms = db_i64(q, 4);
}

rc_status store_session_create(store *s, const store_session *se, rc_error *err)
{
    if (!FIELD_OK(se, token_hash) || !FIELD_OK(se, csrf) || !se->token_hash[0])
        return rc_fail(err, RC_ERR_INVALID, "session needs a token hash");
    TAKE(s, c, err);
    rc_status st = qexec(c,
                         "INSERT INTO sessions (token_hash, user_id, csrf, created_ms, expires_ms) "
                         "VALUES (?, ?, ?, ?, ?)",
                         NULL, err, "titii", se->token_hash, se->user_id, se->csrf,
                         se->created_ms ? se->created_ms : rc_unix_ms(), se->expires_ms);
    give(s, c);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "no user with id %lld", (long long)se->user_id);
    return st;
}

rc_status store_session_get(store *s, const char *token_hash, int64_t now_ms, store_session *out,
                            rc_error *err)
{
    rc_status st =
        query_one(s, row_session, out, err, "session", 0,
                  "SELECT token_hash, user_id, csrf, created_ms, expires_ms FROM sessions "
                  "WHERE token_hash = ? AND expires_ms > ?",
                  "ti", token_hash, now_ms);
    if (st == RC_ERR_NOT_FOUND) rc_fail(err, st, "no such session, or it expired");
    return st;
}

rc_status store_session_delete(store *s, const char *token_hash, rc_error *err)
{
    return query_exec(s, "DELETE FROM sessions WHERE token_hash = ?", NULL, err, "t", token_hash);
}

rc_status store_session_delete_user(store *s, int64_t user_id, rc_error *err)
{
    return query_exec(s, "DELETE FROM sessions WHERE user_id = ?", NULL, err, "i", user_id);
}

rc_status store_session_delete_others(store *s, int64_t user_id, const char *keep_hash,
                                      rc_error *err)
{
    return query_exec(s, "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?", NULL, err,
                      "it", user_id, keep_hash ? keep_hash : "");
}

rc_status store_session_purge(store *s, int64_t now_ms, int64_t *removed, rc_error *err)
{
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st = qexec(c, "DELETE FROM sessions WHERE expires_ms <= ?", &ch, err, "i", now_ms);
    give(s, c);
    if (removed) *removed = ch;
    return st;
}

/* ---- API keys ------------------------------------------------------------- */

#define KEY_COLS "id, name, prefix, key_hash, role, created_ms, last_used_ms, revoked, camera_id"
static void row_key(db_q *q, void *dst)
{
    store_api_key *k = dst;
    k->id = db_i64(q, 0);
    cp(k->name, sizeof k->name, db_text(q, 1));
    cp(k->prefix, sizeof k->prefix, db_text(q, 2));
    cp(k->key_hash, sizeof k->key_hash, db_text(q, 3));
    cp(k->role, sizeof k->role, db_text(q, 4));
    k->created_ms = db_i64(q, 5);
    k->last_used_ms = db_i64(q, 6);
    k->revoked = (int)db_i64(q, 7);
    k->camera_id = db_i64(q, 8);
}

rc_status store_api_key_create(store *s, store_api_key *k, rc_error *err)
{
    if (!FIELD_OK(k, name) || !FIELD_OK(k, prefix) || !FIELD_OK(k, key_hash) ||
        !FIELD_OK(k, role) || !k->prefix[0] || !k->key_hash[0])
        return rc_fail(err, RC_ERR_INVALID, "API key needs a prefix and a hash");
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), id = 0;
    rc_status st =
        qint(c,
             "INSERT INTO api_keys (name, prefix, key_hash, role, created_ms, "
             "camera_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
             &id, err, "ttttiI", k->name, k->prefix, k->key_hash, k->role, now, k->camera_id);
    int64_t roles = 0;
    if (st == RC_ERR_NOT_FOUND && k->camera_id &&
        qint(c, "SELECT count(*) FROM roles WHERE name = ?", &roles, NULL, "t", k->role) == RC_OK &&
        roles > 0)
        st = rc_fail(err, RC_ERR_INVALID, "no camera with id %lld for the API key",
                     (long long)k->camera_id);
    give(s, c);
    if (st == RC_ERR_CONFLICT)
        return rc_fail(err, st, "an API key with prefix %s already exists", k->prefix);
    if (st != RC_OK) return role_err(st, k->role, err);
    k->id = id;
    k->created_ms = now;
    return RC_OK;
}

rc_status store_api_key_get_by_prefix(store *s, const char *prefix, store_api_key *out,
                                      rc_error *err)
{
    rc_status st = query_one(s, row_key, out, err, "API key", 0,
                             "SELECT " KEY_COLS " FROM api_keys WHERE prefix = ?", "t", prefix);
    if (st == RC_ERR_NOT_FOUND) rc_fail(err, st, "no API key with prefix %s", prefix);
    return st;
}

rc_status store_api_key_list(store *s, store_api_key **out, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **out, row_key, (void **)out, n, err,
                      "SELECT " KEY_COLS " FROM api_keys ORDER BY id", "");
}

rc_status store_api_key_revoke(store *s, int64_t id, rc_error *err)
{
    return delete_by_id(s, "UPDATE api_keys SET revoked = 1 WHERE id = ?", id, "API key", err);
}

rc_status store_api_key_touch(store *s, int64_t id, int64_t now_ms, rc_error *err)
{
    return query_exec(s, "UPDATE api_keys SET last_used_ms = ? WHERE id = ?", NULL, err, "ii",
                      now_ms, id);
}

/* ---- login failures ------------------------------------------------------- */

#define LOGIN_MEMORY_MS (24LL * 3600 * 1000) /* failures older than this are forgotten */

rc_status store_login_failure_add(store *s, const char *email, const char *ip, int64_t now_ms,
                                  rc_error *err)
{
    return query_exec(s, "INSERT INTO login_failures (email, ip, ts_ms) VALUES (?, ?, ?)", NULL,
                      err, "tti", email ? email : "", ip ? ip : "", now_ms);
}

/* Count and latest time of the failures of email (from ip, or any if NULL). */
static rc_status login_failures(store *s, const char *email, const char *ip, int64_t since_ms,
                                int64_t *count, int64_t *last_ms, rc_error *err)
{
    TAKE(s, c, err);
    db_q *q = ip ? qprep(c,
                         "SELECT count(*), COALESCE(MAX(ts_ms), 0) FROM login_failures "
                         "WHERE email = ? AND ip = ? AND ts_ms >= ?",
                         err, "tti", email ? email : "", ip, since_ms)
                 : qprep(c,
                         "SELECT count(*), COALESCE(MAX(ts_ms), 0) FROM login_failures "
                         "WHERE email = ? AND ts_ms >= ?",
                         err, "ti", email ? email : "", since_ms);
    rc_status st = q ? RC_OK : (err ? err->code : RC_ERR_DB);
    if (q) {
        int r = db_step(q, err);
        if (r > 0) {
            *count = db_i64(q, 0);
            if (last_ms) *last_ms = db_i64(q, 1);
        }
        db_done(q);
        if (r < 0) st = err ? err->code : RC_ERR_DB;
    }
    give(s, c);
    return st;
}

rc_status store_login_failure_count(store *s, const char *email, const char *ip, int64_t since_ms,
                                    int64_t *count, rc_error *err)
{
    return login_failures(s, email, ip, since_ms, count, NULL, err);
}

rc_status store_login_failure_clear(store *s, const char *email, const char *ip, rc_error *err)
{
    if (ip)
        return query_exec(s, "DELETE FROM login_failures WHERE email = ? AND ip = ?", NULL, err,
                          "tt", email ? email : "", ip);
    return query_exec(s, "DELETE FROM login_failures WHERE email = ?", NULL, err, "t",
                      email ? email : "");
}

rc_status store_login_failure_purge(store *s, int64_t now_ms, int64_t *removed, rc_error *err)
{
    int64_t ch = 0;
    rc_status st = query_exec(s, "DELETE FROM login_failures WHERE ts_ms < ?", &ch, err, "i",
                              now_ms - LOGIN_MEMORY_MS);
    if (removed) *removed = ch;
    return st;
}

rc_status store_login_wait(store *s, const char *email, const char *ip, int64_t now_ms,
                           int64_t *wait_ms, rc_error *err)
{
    int64_t n = 0, last = 0;
    *wait_ms = 0;
    rc_status st = login_failures(s, email, ip ? ip : "", now_ms - LOGIN_MEMORY_MS, &n, &last, err);
    if (st != RC_OK || n < STORE_LOGIN_FREE_FAILURES) return st;
    int64_t delay = STORE_LOGIN_BACKOFF_MS;
    for (int64_t i = STORE_LOGIN_FREE_FAILURES; i < n && delay < STORE_LOGIN_BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > STORE_LOGIN_BACKOFF_MAX_MS) delay = STORE_LOGIN_BACKOFF_MAX_MS;
    if (last + delay > now_ms) *wait_ms = last + delay - now_ms;
    return RC_OK;
}

/* ---- persons -------------------------------------------------------------- */

void db_search_fold(const char *text, char *out, size_t cap)
{
    if (!cap) return;
    utf8proc_uint8_t *f = NULL;
    /* Decomposed, marks dropped (accents, tildes), case-folded; text that
     * is not UTF-8 (never stored: the HTTP layer refuses it) folds by ASCII
     * alone. */
    if (utf8proc_map((const utf8proc_uint8_t *)(text ? text : ""), 0, &f,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK |
                         UTF8PROC_CASEFOLD) < 0) {
        size_t o = 0;
        for (const char *p = text ? text : ""; *p && o + 1 < cap; p++)
            out[o++] = (char)tolower((unsigned char)*p);
        out[o] = 0;
        return;
    }
    /* Cut at a character boundary. */
    size_t n = strlen((const char *)f);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && (f[n] & 0xC0) == 0x80) n--;
    }
    memcpy(out, f, n);
    out[n] = 0;
    free(f);
}

void db_search_key(const char *name, const char *external_id, const char *email, char *out,
                   size_t cap)
{
    char raw[STORE_SEARCH_KEY_MAX];
    snprintf(raw, sizeof raw, "%s\n%s\n%s", name ? name : "", external_id ? external_id : "",
             email ? email : "");
    db_search_fold(raw, out, cap);
}

#define PERSON_COLS                                                                                \
    "id, external_id, name, email, kind, photo_face_id, consent_ms, active, created_ms, "          \
    "updated_ms, first_name, last_name, pending, archived_ms, consent_withdrawn_ms"
static void row_person(db_q *q, void *dst)
{
    store_person *p = dst;
    p->id = db_i64(q, 0);
    cp(p->external_id, sizeof p->external_id, db_text(q, 1));
    cp(p->name, sizeof p->name, db_text(q, 2));
    cp(p->email, sizeof p->email, db_text(q, 3));
    cp(p->kind, sizeof p->kind, db_text(q, 4));
    p->photo_face_id = db_i64(q, 5);
    p->consent_ms = db_i64(q, 6);
    p->active = (int)db_i64(q, 7);
    p->created_ms = db_i64(q, 8);
    p->updated_ms = db_i64(q, 9);
    cp(p->first_name, sizeof p->first_name, db_text(q, 10));
    cp(p->last_name, sizeof p->last_name, db_text(q, 11));
    p->pending = (int)db_i64(q, 12);
    p->archived_ms = db_i64(q, 13);
    p->consent_withdrawn_ms = db_i64(q, 14);
}

/* The archive time follows `active`: set when it goes off, cleared when on.
 * A pending self-registration is inactive without being archived. */
static void settle_archive(store_person *p, int64_t now)
{
    if (p->active || p->pending)
        p->archived_ms = 0;
    else if (p->archived_ms <= 0)
        p->archived_ms = now;
}

/* Check a person and settle its names: the display name from first and last
 * name, or (only a name given) first and last name split from it at the
 * first space. */
static rc_status person_valid(store_person *p, rc_error *err)
{
    if (!FIELD_OK(p, external_id) || !FIELD_OK(p, name) || !FIELD_OK(p, email) ||
        !FIELD_OK(p, kind) || !FIELD_OK(p, first_name) || !FIELD_OK(p, last_name))
        return rc_fail(err, RC_ERR_INVALID, "person has an unterminated text field");
    if (!p->first_name[0] && !p->last_name[0]) {
        const char *sp = strchr(p->name, ' ');
        size_t fl = sp ? (size_t)(sp - p->name) : strlen(p->name);
        if (fl >= sizeof p->first_name || (sp && strlen(sp + 1) >= sizeof p->last_name))
            return rc_fail(err, RC_ERR_LIMIT,
                           "person name '%s' is too long (first and last name at most %zu "
                           "characters each)",
                           p->name, sizeof p->first_name - 1);
        memcpy(p->first_name, p->name, fl);
        p->first_name[fl] = 0;
        cp(p->last_name, sizeof p->last_name, sp ? sp + 1 : "");
    } else {
        snprintf(p->name, sizeof p->name, "%s%s%s", p->first_name, p->last_name[0] ? " " : "",
                 p->last_name);
    }
    if (!p->first_name[0]) return rc_fail(err, RC_ERR_INVALID, "a person needs a first name");
    return RC_OK;
}

rc_status store_person_create(store *s, store_person *p, rc_error *err)
{
    rc_status st = person_valid(p, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), id = 0;
    int64_t created = p->created_ms > 0 ? p->created_ms : now;
    settle_archive(p, now);
    char key[STORE_SEARCH_KEY_MAX];
    db_search_key(p->name, p->external_id, p->email, key, sizeof key);
    st = qint(c,
              "INSERT INTO persons (external_id, name, email, kind, photo_face_id, consent_ms, "
              "active, created_ms, updated_ms, first_name, last_name, pending, archived_ms, "
              "search_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
              &id, err, "TtttIiiiittiit", p->external_id, p->name, p->email, p->kind,
              p->photo_face_id, p->consent_ms, (int64_t)p->active, created, now, p->first_name,
              p->last_name, (int64_t)(p->pending != 0), p->archived_ms, key);
    give(s, c);
    if (st == RC_ERR_CONFLICT)
        return rc_fail(err, st, "a person with external id %s already exists", p->external_id);
    if (st != RC_OK) return st;
    p->id = id;
    p->created_ms = created;
    p->updated_ms = now;
    return RC_OK;
}

rc_status store_person_get(store *s, int64_t id, store_person *out, rc_error *err)
{
    return query_one(s, row_person, out, err, "person", id,
                     "SELECT " PERSON_COLS " FROM persons WHERE id = ?", "i", id);
}

rc_status store_person_get_by_external(store *s, const char *external_id, store_person *out,
                                       rc_error *err)
{
    rc_status st = query_one(s, row_person, out, err, "person", 0,
                             "SELECT " PERSON_COLS " FROM persons WHERE external_id = ?", "t",
                             external_id ? external_id : "");
    if (st == RC_ERR_NOT_FOUND)
        rc_fail(err, st, "no person with external id %s", external_id ? external_id : "");
    return st;
}

rc_status store_person_get_by_code(store *s, const char *code, store_person *out, rc_error *err)
{
    rc_status st = store_person_get_by_external(s, code, out, err);
    if (st != RC_ERR_NOT_FOUND) return st;
    store_person *list = NULL;
    size_t n = 0;
    TAKE(s, c, err);
    db_q *q =
        qprep(c, "SELECT " PERSON_COLS " FROM persons WHERE lower(external_id) = lower(?) LIMIT 2",
              err, "t", code ? code : "");
    st = q ? collect(q, sizeof *list, row_person, (void **)&list, &n, err)
           : (err ? err->code : RC_ERR_DB);
    give(s, c);
    if (st == RC_OK && n == 1) *out = list[0];
    free(list);
    if (st == RC_OK && n != 1)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no one person with code %s", code ? code : "");
    return st;
}

rc_status store_person_update(store *s, store_person *p, rc_error *err)
{
    rc_status st = person_valid(p, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t ch = 0, now = rc_unix_ms();
    settle_archive(p, now);
    char key[STORE_SEARCH_KEY_MAX];
    db_search_key(p->name, p->external_id, p->email, key, sizeof key);
    st = tx_begin(s, c, err);
    if (st == RC_OK)
        st = qexec(c,
                   "UPDATE persons SET external_id = ?, name = ?, email = ?, kind = ?, "
                   "photo_face_id = ?, consent_ms = ?, active = ?, updated_ms = ?, "
                   "first_name = ?, last_name = ?, pending = ?, archived_ms = ?, search_key = ? "
                   "WHERE id = ?",
                   &ch, err, "TtttIiiittiiti", p->external_id, p->name, p->email, p->kind,
                   p->photo_face_id, p->consent_ms, (int64_t)p->active, now, p->first_name,
                   p->last_name, (int64_t)(p->pending != 0), p->archived_ms, key, p->id);
    if (st == RC_OK && ch == 0)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no person with id %lld", (long long)p->id);
    if (st == RC_OK) st = bump_gallery(s, c, err); /* `active` decides gallery membership */
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_ERR_CONFLICT)
        return rc_fail(err, st, "a person with external id %s already exists", p->external_id);
    return st;
}

rc_status store_person_photo_fallback(store *s, int64_t id, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = qexec(c,
                         "UPDATE persons SET photo_face_id = "
                         "(SELECT min(id) FROM faces WHERE person_id = ?) "
                         "WHERE id = ? AND photo_face_id IS NULL",
                         NULL, err, "ii", id, id);
    give(s, c);
    return st;
}

/* "%text%" for LIKE against persons.search_key: the text folded as the
 * key is (db_search_fold), its wildcards escaped by backslash. */
static void search_pattern(char *dst, size_t cap, const char *text)
{
    char folded[256];
    db_search_fold(text, folded, sizeof folded);
    size_t o = 0;
    if (cap < 4) return;
    dst[o++] = '%';
    for (const char *p = folded; *p && o + 3 < cap; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') dst[o++] = '\\';
        dst[o++] = *p;
    }
    dst[o++] = '%';
    dst[o] = 0;
}

/* Persons in the groups a limited manager manages (one bound value). */
#define SCOPE_PERSONS                                                                              \
    "(SELECT gm.person_id FROM group_members gm JOIN user_groups ug ON ug.group_id = gm.group_id " \
    "WHERE ug.user_id = ? AND gm.left_ms = 0)"

rc_status store_person_list(store *s, const store_person_filter *f, store_page page,
                            store_person **out, size_t *n, int64_t *total, rc_error *err)
{
    qb b = {0};
    char pat[300];
    if (f && f->query && *f->query) {
        search_pattern(pat, sizeof pat, f->query);
        qb_t(&b, "search_key LIKE ? ESCAPE '\\'", pat);
    }
    if (f && f->group_id && f->left_after_ms) {
        qb_cond(&b, "id IN (SELECT person_id FROM group_members WHERE group_id = ? AND "
                    "(left_ms = 0 OR left_ms > ?))");
        b.type[b.n] = 'i', b.iv[b.n++] = f->group_id;
        b.type[b.n] = 'i', b.iv[b.n++] = f->left_after_ms;
    } else if (f && f->group_id) {
        qb_i(&b, "id IN (SELECT person_id FROM group_members WHERE group_id = ? AND left_ms = 0)",
             f->group_id);
    }
    if (f && f->active_only) qb_cond(&b, "active = 1");
    qb_cond(&b, f && f->pending ? "pending = 1" : "pending = 0");
    if (f && f->scope_user_id) qb_i(&b, "id IN " SCOPE_PERSONS, f->scope_user_id);
    return qb_page(s, &b, "SELECT " PERSON_COLS " FROM persons", "persons",
                   " ORDER BY name, id LIMIT ? OFFSET ?", page, sizeof **out, row_person,
                   (void **)out, n, total, err);
}

rc_status store_person_pin_set(store *s, int64_t id, const char *hash, rc_error *err)
{
    if (!hash || strlen(hash) > 255) return rc_fail(err, RC_ERR_INVALID, "PIN hash too long");
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st =
        qexec(c, "UPDATE persons SET pin_hash = ? WHERE id = ?", &ch, err, "ti", hash, id);
    give(s, c);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no person with id %lld", (long long)id);
    return st;
}

static void row_text0(db_q *q, void *dst)
{
    char **out = dst;
    *out = strdup(db_text(q, 0));
}

rc_status store_person_pin_get(store *s, int64_t id, char *buf, size_t cap, rc_error *err)
{
    char *text = NULL;
    rc_status st = query_one(s, row_text0, &text, err, "person", id,
                             "SELECT pin_hash FROM persons WHERE id = ?", "i", id);
    if (st == RC_OK) {
        if (!text)
            st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
        else if (strlen(text) >= cap)
            st = rc_fail(err, RC_ERR_LIMIT, "PIN hash too long");
        else
            cp(buf, cap, text);
    }
    free(text);
    return st;
}

/* The counts of an erase as the audit entry's detail (no personal data). */
static char *erase_detail(const store_erase *e, int full)
{
    json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "faces", (json_int_t)e->faces, "sightings",
                          (json_int_t)e->sightings, "photo", (json_int_t)e->photo, "audit_redacted",
                          (json_int_t)e->audit_redacted);
    if (j && e->consent) json_object_set_new(j, "consent", json_integer(e->consent));
    if (j && full) {
        json_object_set_new(j, "events", json_integer(e->events));
        json_object_set_new(j, "memberships", json_integer(e->memberships));
        json_object_set_new(j, "schedules", json_integer(e->schedules));
        json_object_set_new(j, "deliveries", json_integer(e->deliveries));
        json_object_set_new(j, "pin", json_integer(e->pin));
    }
    return json_text(j);
}

/* Inside a transaction on c: hold person id's row until it ends, so that an
 * erase of their biometric data and a face crop naming them (a probe, a
 * sighting) run one wholly before the other. PostgreSQL locks the row;
 * SQLite's write transaction (BEGIN IMMEDIATE) already holds every writer
 * off. A missing person is no error here. */
static rc_status lock_person(store *s, db_conn *c, int64_t id, rc_error *err)
{
    if (s->kind == STORE_SQLITE) return RC_OK;
    int64_t got;
    rc_status st =
        qint(c, "SELECT id FROM persons WHERE id = ? FOR NO KEY UPDATE", &got, err, "i", id);
    return st == RC_ERR_NOT_FOUND ? RC_OK : st;
}

/* Inside a transaction on c: delete person id's biometric data (faces,
 * photo, best-matching sightings) into *e. */
static rc_status erase_biometrics_in(store *s, db_conn *c, int64_t id, store_erase *e,
                                     rc_error *err)
{
    rc_status st = lock_person(s, c, id, err);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM persons WHERE id = ? AND photo_face_id IS NOT NULL",
                  &e->photo, err, "i", id);
    if (st == RC_OK)
        st = qexec(c, "UPDATE persons SET photo_face_id = NULL WHERE id = ?", NULL, err, "i", id);
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM faces WHERE person_id = ?", &e->faces, err, "i", id);
    /* Unrecognized sightings that best matched this person are most likely
     * their face too: biometric data, so they go as well. */
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM sightings WHERE candidate_person_id = ?", &e->sightings, err,
                   "i", id);
    return st;
}

/* The end of an erase on c (its transaction open, st its status so far):
 * bump the gallery, audit the counts (person.erase when full, else
 * person.erase_biometrics), commit, give c back, wipe the files. */
static rc_status erase_end(store *s, db_conn *c, rc_status st, int64_t id, const char *actor,
                           int full, const store_erase *e, store_erase *out, rc_error *err)
{
    if (st == RC_OK) st = bump_gallery(s, c, err);
    if (st == RC_OK) {
        char *detail = erase_detail(e, full);
        st = audit_in(c, actor, full ? "person.erase" : "person.erase_biometrics", "person", id,
                      detail ? detail : "", err);
        free(detail);
    }
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK) erase_deleted(s);
    if (st == RC_OK && out) *out = *e;
    return st;
}

/* The biometric erase (an admin's, or the person's own withdrawal of
 * consent, which also clears the recorded consent) in one transaction. */
static rc_status erase_biometrics(store *s, int64_t id, const char *actor, int withdraw,
                                  store_erase *out, rc_error *err)
{
    store_erase e = {0};
    int64_t have = 0;
    TAKE(s, c, err);
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK) st = qint(c, "SELECT count(*) FROM persons WHERE id = ?", &have, err, "i", id);
    if (st == RC_OK && !have)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no person with id %lld", (long long)id);
    if (st == RC_OK) st = erase_biometrics_in(s, c, id, &e, err);
    if (st == RC_OK && withdraw) {
        int64_t now = rc_unix_ms(), was = 0;
        st = qint(c, "SELECT consent_ms FROM persons WHERE id = ?", &was, err, "i", id);
        if (st == RC_OK)
            st =
                qexec(c,
                      "UPDATE persons SET consent_ms = 0, consent_withdrawn_ms = ?, updated_ms = ? "
                      "WHERE id = ?",
                      NULL, err, "iii", now, now, id);
        e.consent = was != 0;
    }
    return erase_end(s, c, st, id, actor, 0, &e, out, err);
}

rc_status store_person_erase_biometrics(store *s, int64_t id, const char *actor, store_erase *out,
                                        rc_error *err)
{
    return erase_biometrics(s, id, actor, 0, out, err);
}

rc_status store_person_withdraw_consent(store *s, int64_t id, const char *actor, store_erase *out,
                                        rc_error *err)
{
    return erase_biometrics(s, id, actor, 1, out, err);
}

rc_status store_person_held(store *s, int64_t id, store_held *out, rc_error *err)
{
    store_held h = {0};
    int64_t have = 0;
    TAKE(s, c, err);
    rc_status st = qint(c, "SELECT count(*) FROM persons WHERE id = ?", &have, err, "i", id);
    if (st == RC_OK && !have)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no person with id %lld", (long long)id);
    /* The same rows erase_biometrics_in deletes, counted. */
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM faces WHERE person_id = ?", &h.faces, err, "i", id);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM persons WHERE id = ? AND photo_face_id IS NOT NULL",
                  &h.photo, err, "i", id);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM sightings WHERE candidate_person_id = ?", &h.sightings,
                  err, "i", id);
    if (st == RC_OK)
        st = qint(c,
                  "SELECT count(*) FROM sightings WHERE candidate_person_id = ? AND event_id IS "
                  "NOT NULL",
                  &h.probes, err, "i", id);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM events WHERE person_id = ?", &h.events, err, "i", id);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM events WHERE person_id = ? AND voided_ms <> 0",
                  &h.voided, err, "i", id);
    give(s, c);
    if (st == RC_OK) *out = h;
    return st;
}

rc_status store_person_erase(store *s, int64_t id, const char *actor, store_erase *out,
                             rc_error *err)
{
    store_erase e = {0};
    TAKE(s, c, err);
    store_person p;
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK)
        st = qone(c, row_person, &p, err, "person", id,
                  "SELECT " PERSON_COLS " FROM persons WHERE id = ?", "i", id);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM persons WHERE id = ? AND pin_hash <> ''", &e.pin, err,
                  "i", id);
    if (st == RC_OK) st = erase_biometrics_in(s, c, id, &e, err);
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM events WHERE person_id = ?", &e.events, err, "i", id);
    if (st == RC_OK)
        st =
            qexec(c, "DELETE FROM group_members WHERE person_id = ?", &e.memberships, err, "i", id);
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM schedules WHERE person_id = ?", &e.schedules, err, "i", id);
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM webhook_deliveries WHERE person_id = ?", &e.deliveries, err, "i",
                   id);
    /* What earlier entries said about them (code, name) goes too; that an
     * action happened, by whom and when, stays. */
    if (st == RC_OK)
        st = qexec(c,
                   "UPDATE audit SET detail = '{\"erased\":true}' WHERE target_type = 'person' "
                   "AND target_id = ? AND detail <> ''",
                   &e.audit_redacted, err, "i", id);
    if (st == RC_OK) st = qexec(c, "DELETE FROM persons WHERE id = ?", NULL, err, "i", id);
    return erase_end(s, c, st, id, actor, 1, &e, out, err);
}

rc_status store_person_delete(store *s, int64_t id, const char *actor, rc_error *err)
{
    return store_person_erase(s, id, actor, NULL, err);
}

/* ---- groups --------------------------------------------------------------- */

#define GROUP_COLS                                                                                 \
    "id, name, description, created_ms, (SELECT count(*) FROM group_members m WHERE "              \
    "m.group_id = person_groups.id AND m.left_ms = 0), notify_absentees"
static void row_group(db_q *q, void *dst)
{
    store_group *g = dst;
    g->id = db_i64(q, 0);
    cp(g->name, sizeof g->name, db_text(q, 1));
    cp(g->description, sizeof g->description, db_text(q, 2));
    g->created_ms = db_i64(q, 3);
    g->member_count = db_i64(q, 4);
    g->notify_absentees = (int)db_i64(q, 5);
}

rc_status store_group_create(store *s, store_group *g, rc_error *err)
{
    if (!FIELD_OK(g, name) || !FIELD_OK(g, description) || !g->name[0])
        return rc_fail(err, RC_ERR_INVALID, "a group needs a name");
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), id = 0;
    rc_status st =
        qint(c,
             "INSERT INTO person_groups (name, description, created_ms, "
             "notify_absentees) VALUES (?, ?, ?, ?) RETURNING id",
             &id, err, "ttii", g->name, g->description, now, (int64_t)(g->notify_absentees != 0));
    give(s, c);
    if (st == RC_ERR_CONFLICT) return rc_fail(err, st, "a group named %s already exists", g->name);
    if (st != RC_OK) return st;
    g->id = id;
    g->created_ms = now;
    g->member_count = 0;
    return RC_OK;
}

rc_status store_group_get(store *s, int64_t id, store_group *out, rc_error *err)
{
    return query_one(s, row_group, out, err, "group", id,
                     "SELECT " GROUP_COLS " FROM person_groups WHERE id = ?", "i", id);
}

rc_status store_group_update(store *s, const store_group *g, rc_error *err)
{
    if (!FIELD_OK(g, name) || !FIELD_OK(g, description) || !g->name[0])
        return rc_fail(err, RC_ERR_INVALID, "a group needs a name");
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st = qexec(c,
                         "UPDATE person_groups SET name = ?, description = ?, notify_absentees = ? "
                         "WHERE id = ?",
                         &ch, err, "ttii", g->name, g->description,
                         (int64_t)(g->notify_absentees != 0), g->id);
    give(s, c);
    if (st == RC_ERR_CONFLICT) return rc_fail(err, st, "a group named %s already exists", g->name);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no group with id %lld", (long long)g->id);
    return st;
}

rc_status store_group_delete(store *s, int64_t id, rc_error *err)
{
    return delete_by_id(s, "DELETE FROM person_groups WHERE id = ?", id, "group", err);
}

rc_status store_group_list(store *s, store_page page, store_group **out, size_t *n, int64_t *total,
                           rc_error *err)
{
    qb b = {0};
    return qb_page(s, &b, "SELECT " GROUP_COLS " FROM person_groups", "person_groups",
                   " ORDER BY name LIMIT ? OFFSET ?", page, sizeof **out, row_group, (void **)out,
                   n, total, err);
}

/* Insert a membership joined at `joined`; an existing one keeps its date
 * unless `move` is set. */
static rc_status member_put(store *s, int64_t group_id, int64_t person_id, int64_t joined, int move,
                            rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = qexec(c,
                         move ? "INSERT INTO group_members (group_id, person_id, joined_ms) VALUES "
                                "(?, ?, ?) ON CONFLICT (group_id, person_id) WHERE left_ms = 0 "
                                "DO UPDATE SET joined_ms = excluded.joined_ms"
                              : "INSERT INTO group_members (group_id, person_id, joined_ms) VALUES "
                                "(?, ?, ?) ON CONFLICT DO NOTHING",
                         NULL, err, "iii", group_id, person_id, joined);
    give(s, c);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "no group %lld or no person %lld", (long long)group_id,
                       (long long)person_id);
    return st;
}

rc_status store_group_add_member(store *s, int64_t group_id, int64_t person_id, rc_error *err)
{
    return member_put(s, group_id, person_id, rc_unix_ms(), 0, err);
}

rc_status store_group_join(store *s, int64_t group_id, int64_t person_id, int64_t joined_ms,
                           rc_error *err)
{
    return member_put(s, group_id, person_id, joined_ms > 0 ? joined_ms : rc_unix_ms(), 1, err);
}

static void row_membership(db_q *q, void *dst)
{
    store_membership *m = dst;
    m->group_id = db_i64(q, 0);
    m->person_id = db_i64(q, 1);
    m->joined_ms = db_i64(q, 2);
    m->left_ms = db_i64(q, 3);
}

rc_status store_memberships(store *s, int64_t group_id, int64_t person_id, store_membership **out,
                            size_t *n, rc_error *err)
{
    if (!group_id == !person_id)
        return rc_fail(err, RC_ERR_INVALID, "memberships of one group or of one person");
    return query_list(s, sizeof **out, row_membership, (void **)out, n, err,
                      group_id
                          ? "SELECT group_id, person_id, joined_ms, left_ms FROM group_members "
                            "WHERE group_id = ? AND left_ms = 0 ORDER BY person_id"
                          : "SELECT group_id, person_id, joined_ms, left_ms FROM group_members "
                            "WHERE person_id = ? AND left_ms = 0 ORDER BY group_id",
                      "i", group_id ? group_id : person_id);
}

rc_status store_memberships_history(store *s, int64_t person_id, store_membership **out, size_t *n,
                                    rc_error *err)
{
    return query_list(s, sizeof **out, row_membership, (void **)out, n, err,
                      "SELECT group_id, person_id, joined_ms, left_ms FROM group_members WHERE "
                      "person_id = ? ORDER BY group_id, joined_ms, id",
                      "i", person_id);
}

rc_status store_group_remove_member(store *s, int64_t group_id, int64_t person_id, rc_error *err)
{
    return store_group_leave(s, group_id, person_id, 0, err);
}

rc_status store_group_leave(store *s, int64_t group_id, int64_t person_id, int64_t left_ms,
                            rc_error *err)
{
    if (left_ms <= 0) left_ms = rc_unix_ms();
    return query_exec(s,
                      "UPDATE group_members SET left_ms = ? WHERE group_id = ? AND person_id = ? "
                      "AND left_ms = 0",
                      NULL, err, "iii", left_ms > 0 ? left_ms : 1, group_id, person_id);
}

static void row_id(db_q *q, void *dst)
{
    *(int64_t *)dst = db_i64(q, 0);
}

rc_status store_group_members(store *s, int64_t group_id, int64_t **ids, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **ids, row_id, (void **)ids, n, err,
                      "SELECT person_id FROM group_members WHERE group_id = ? AND left_ms = 0 "
                      "ORDER BY person_id",
                      "i", group_id);
}

rc_status store_person_groups(store *s, int64_t person_id, int64_t **ids, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **ids, row_id, (void **)ids, n, err,
                      "SELECT group_id FROM group_members WHERE person_id = ? AND left_ms = 0 "
                      "ORDER BY group_id",
                      "i", person_id);
}

/* ---- faces and gallery ---------------------------------------------------- */

/* Embeddings are stored as little-endian float32, whatever the host. */
static void floats_to_le(const float *src, unsigned char *dst, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        dst[4 * i] = (unsigned char)u;
        dst[4 * i + 1] = (unsigned char)(u >> 8);
        dst[4 * i + 2] = (unsigned char)(u >> 16);
        dst[4 * i + 3] = (unsigned char)(u >> 24);
    }
}
static void le_to_floats(const unsigned char *src, float *dst, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

rc_status store_face_add(store *s, store_face *f, const float *embedding, const void *jpeg,
                         size_t jpeg_len, rc_error *err)
{
    if (!FIELD_OK(f, model) || !f->model[0])
        return rc_fail(err, RC_ERR_INVALID, "a face needs the name of its embedding model");
    if (jpeg && jpeg_len > STORE_IMAGE_MAX)
        return rc_fail(err, RC_ERR_LIMIT, "face image of %zu bytes is over the %d byte limit",
                       jpeg_len, STORE_IMAGE_MAX);
    if (f->dim <= 0 || f->dim > STORE_EMBED_MAX || !embedding)
        return rc_fail(err, RC_ERR_INVALID, "embedding dimension %d is not in 1..%d", f->dim,
                       STORE_EMBED_MAX);
    for (int i = 0; i < f->dim; i++)
        if (embedding[i] != embedding[i] || embedding[i] > 1e30f || embedding[i] < -1e30f)
            return rc_fail(err, RC_ERR_INVALID, "embedding value %d is not a finite number", i);
    unsigned char *le = malloc((size_t)f->dim * 4);
    if (!le) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    floats_to_le(embedding, le, f->dim);
    db_conn *c = NULL;
    rc_status st = take(s, &c, err);
    if (st != RC_OK) {
        free(le);
        return st;
    }
    int64_t now = rc_unix_ms(), id = 0, withdrawn = 0;
    st = tx_begin(s, c, err);
    /* Not a face of someone who withdrew their consent and has not given it
     * again (under the person's lock, which the withdrawal takes: a face
     * being enrolled as they withdraw is stored before or refused after). */
    if (st == RC_OK) st = lock_person(s, c, f->person_id, err);
    if (st == RC_OK)
        st = qint(c, "SELECT consent_withdrawn_ms > consent_ms FROM persons WHERE id = ?",
                  &withdrawn, err, "i", f->person_id);
    if (st == RC_OK && withdrawn)
        st = rc_fail(err, RC_ERR_CONFLICT,
                     "person %lld withdrew their consent: record a new consent before enrolling "
                     "their face",
                     (long long)f->person_id);
    if (st == RC_OK)
        st = qint(c,
                  "INSERT INTO faces (person_id, model, quality, dim, embedding, image, "
                  "created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                  &id, err, "itdibbi", f->person_id, f->model, f->quality, (int64_t)f->dim,
                  (const void *)le, (size_t)f->dim * 4, jpeg && jpeg_len ? jpeg : NULL,
                  jpeg ? jpeg_len : (size_t)0, now);
    if (st == RC_ERR_NOT_FOUND)
        st = rc_fail(err, st, "no person with id %lld", (long long)f->person_id);
    if (st == RC_OK) st = bump_gallery(s, c, err);
    st = tx_end(c, st, err);
    give(s, c);
    free(le);
    if (st != RC_OK) return st;
    f->id = id;
    f->created_ms = now;
    return RC_OK;
}

static void row_face(db_q *q, void *dst)
{
    store_face *f = dst;
    f->id = db_i64(q, 0);
    f->person_id = db_i64(q, 1);
    cp(f->model, sizeof f->model, db_text(q, 2));
    f->quality = db_f64(q, 3);
    f->dim = (int)db_i64(q, 4);
    f->created_ms = db_i64(q, 5);
}

rc_status store_face_list(store *s, int64_t person_id, store_face **out, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **out, row_face, (void **)out, n, err,
                      "SELECT id, person_id, model, quality, dim, created_ms FROM faces WHERE "
                      "person_id = ? ORDER BY id",
                      "i", person_id);
}

/* A blob column of one row into a new buffer. */
static rc_status blob_of(store *s, const char *sql, int64_t id, const char *what,
                         unsigned char **out, size_t *len, rc_error *err)
{
    TAKE(s, c, err);
    db_q *q = qprep(c, sql, err, "i", id);
    rc_status st = q ? RC_OK : (err ? err->code : RC_ERR_DB);
    if (q) {
        int r = db_step(q, err);
        if (r < 0) {
            st = err ? err->code : RC_ERR_DB;
        } else if (r == 0) {
            st = rc_fail(err, RC_ERR_NOT_FOUND, "no %s with id %lld", what, (long long)id);
        } else if (db_null(q, 0)) {
            st = rc_fail(err, RC_ERR_NOT_FOUND, "%s %lld has no image", what, (long long)id);
        } else {
            size_t n = 0;
            const void *p = db_blob(q, 0, &n);
            *out = malloc(n ? n : 1);
            if (!*out)
                st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
            else {
                if (n) memcpy(*out, p, n);
                *len = n;
            }
        }
        db_done(q);
    }
    give(s, c);
    return st;
}

rc_status store_face_image(store *s, int64_t face_id, unsigned char **jpeg, size_t *len,
                           rc_error *err)
{
    return blob_of(s, "SELECT image FROM faces WHERE id = ?", face_id, "face", jpeg, len, err);
}

rc_status store_face_person(store *s, int64_t face_id, int64_t *person_id, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st =
        qint(c, "SELECT person_id FROM faces WHERE id = ?", person_id, err, "i", face_id);
    give(s, c);
    if (st == RC_ERR_NOT_FOUND) rc_fail(err, st, "no face with id %lld", (long long)face_id);
    return st;
}

rc_status store_face_delete(store *s, int64_t face_id, const char *actor, rc_error *err)
{
    TAKE(s, c, err);
    int64_t person = 0, ch = 0;
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK)
        st = qint(c, "SELECT person_id FROM faces WHERE id = ?", &person, err, "i", face_id);
    if (st == RC_ERR_NOT_FOUND) st = rc_fail(err, st, "no face with id %lld", (long long)face_id);
    if (st == RC_OK) st = qexec(c, "DELETE FROM faces WHERE id = ?", &ch, err, "i", face_id);
    if (st == RC_OK)
        st = qexec(c, "UPDATE persons SET photo_face_id = NULL WHERE photo_face_id = ?", NULL, err,
                   "i", face_id);
    if (st == RC_OK) st = bump_gallery(s, c, err);
    if (st == RC_OK) {
        char *detail = json_text(json_pack("{s:I}", "person_id", (json_int_t)person));
        st = audit_in(c, actor, "face.delete", "face", face_id, detail ? detail : "", err);
        free(detail);
    }
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK) erase_deleted(s);
    return st;
}

void store_gallery_free(store_gallery *g)
{
    if (!g) return;
    free(g->face_ids);
    free(g->person_ids);
    free(g->vectors);
    memset(g, 0, sizeof *g);
}

/* The gallery rows of active persons (or, with `pending`, of pending
 * self-registrations instead), optionally of one model and/or one person;
 * without vectors (ids only) when `with_vectors` is false. */
static rc_status gallery_rows(store *s, const char *model, int64_t person_id, int with_vectors,
                              int pending, store_gallery *out, rc_error *err)
{
    memset(out, 0, sizeof *out);
    TAKE(s, c, err);
    /* One snapshot, so the version matches the rows read. */
    rc_status st =
        c->pinned
            ? RC_OK
            : c->ops->exec(
                  c, s->kind == STORE_POSTGRES ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN",
                  err);
    if (st == RC_OK)
        st = qint(c, "SELECT value FROM counters WHERE name = 'gallery_version'", &out->version,
                  err, "");
    db_q *q = NULL;
    if (st == RC_OK) {
        char sql[320];
        snprintf(sql, sizeof sql,
                 "SELECT f.id, f.person_id, f.dim%s FROM faces f JOIN persons p ON p.id = "
                 "f.person_id WHERE %s%s%s ORDER BY f.id",
                 with_vectors ? ", f.embedding" : "",
                 pending ? "p.pending = 1" : "p.active = 1 AND p.pending = 0",
                 model ? " AND f.model = ?" : "", person_id ? " AND f.person_id = ?" : "");
        if (model && person_id)
            q = qprep(c, sql, err, "ti", model, person_id);
        else if (model)
            q = qprep(c, sql, err, "t", model);
        else if (person_id)
            q = qprep(c, sql, err, "i", person_id);
        else
            q = qprep(c, sql, err, "");
        if (!q) st = err ? err->code : RC_ERR_DB;
    }
    size_t cap = 0;
    int r = 0;
    while (st == RC_OK && (r = db_step(q, err)) > 0) {
        int dim = (int)db_i64(q, 2);
        size_t bl = (size_t)dim * 4;
        const unsigned char *b = with_vectors ? db_blob(q, 3, &bl) : NULL;
        if (dim <= 0 || dim > STORE_EMBED_MAX || bl != (size_t)dim * 4 || (with_vectors && !b)) {
            st = rc_fail(err, RC_ERR_CORRUPT, "face %lld has a damaged embedding (%zu bytes)",
                         (long long)db_i64(q, 0), bl);
            break;
        }
        if (out->count == 0) out->dim = dim;
        if (dim != out->dim) {
            st = rc_fail(err, RC_ERR_CORRUPT,
                         "faces have embeddings of different sizes (%d and %d); load one model "
                         "at a time",
                         out->dim, dim);
            break;
        }
        if (out->count == cap) {
            size_t nc = cap ? cap * 2 : 64;
            int64_t *fi = realloc(out->face_ids, nc * sizeof *fi);
            if (fi) out->face_ids = fi;
            int64_t *pi = realloc(out->person_ids, nc * sizeof *pi);
            if (pi) out->person_ids = pi;
            float *v = with_vectors ? realloc(out->vectors, nc * (size_t)dim * sizeof *v) : NULL;
            if (v) out->vectors = v;
            if (!fi || !pi || (with_vectors && !v)) {
                st = rc_fail(err, RC_ERR_NOMEM, "out of memory loading %zu embeddings", cap);
                break;
            }
            cap = nc;
        }
        out->face_ids[out->count] = db_i64(q, 0);
        out->person_ids[out->count] = db_i64(q, 1);
        if (with_vectors) le_to_floats(b, out->vectors + out->count * (size_t)dim, dim);
        out->count++;
    }
    if (r < 0) st = err ? err->code : RC_ERR_DB;
    if (q) db_done(q);
    if (!c->pinned) c->ops->exec(c, st == RC_OK ? "COMMIT" : "ROLLBACK", NULL);
    give(s, c);
    if (st != RC_OK) store_gallery_free(out);
    return st;
}

rc_status store_gallery_load(store *s, const char *model, store_gallery *out, rc_error *err)
{
    return gallery_rows(s, model, 0, 1, 0, out, err);
}

rc_status store_gallery_load_person(store *s, const char *model, int64_t person_id,
                                    store_gallery *out, rc_error *err)
{
    if (person_id <= 0) return rc_fail(err, RC_ERR_INVALID, "no person id");
    return gallery_rows(s, model, person_id, 1, 0, out, err);
}

rc_status store_gallery_ids(store *s, const char *model, store_gallery *out, rc_error *err)
{
    return gallery_rows(s, model, 0, 0, 0, out, err);
}

rc_status store_gallery_load_pending(store *s, const char *model, store_gallery *out, rc_error *err)
{
    return gallery_rows(s, model, 0, 1, 1, out, err);
}

rc_status store_gallery_version(store *s, int64_t *version, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st =
        qint(c, "SELECT value FROM counters WHERE name = 'gallery_version'", version, err, "");
    give(s, c);
    return st;
}

rc_status store_gallery_wait(store *s, int64_t known, int timeout_ms, int64_t *version,
                             rc_error *err)
{
    pthread_mutex_lock(&s->listen_mu);
    rc_status st = RC_OK;
    if (!s->listener) {
        st = connect_one(s, &s->listener, err);
        if (st == RC_OK && s->kind == STORE_POSTGRES)
            st = s->listener->ops->exec(s->listener, "LISTEN rollcall_gallery", err);
        if (st != RC_OK && s->listener) {
            s->listener->ops->close(s->listener);
            s->listener = NULL;
        }
    }
    double deadline = rc_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    while (st == RC_OK) {
        /* Read after LISTEN, so a change between the two is not missed. */
        st = qint(s->listener, "SELECT value FROM counters WHERE name = 'gallery_version'", version,
                  err, "");
        if (st != RC_OK || *version != known) break;
        double left = deadline - rc_mono_ms();
        if (left <= 0) break;
        /* SQLite has no notifications: look again every 200 ms. */
        int slice = s->kind == STORE_SQLITE && left > 200 ? 200 : (int)left + 1;
        if (s->listener->ops->wait_notify(s->listener, slice, err) < 0)
            st = err ? err->code : RC_ERR_DB;
    }
    if (st != RC_OK && s->listener && s->listener->ops->broken(s->listener)) {
        s->listener->ops->close(s->listener); /* reconnect next time */
        s->listener = NULL;
    }
    pthread_mutex_unlock(&s->listen_mu);
    return st;
}

/* ---- schedules ------------------------------------------------------------ */

#define SCHED_COLS                                                                                 \
    "id, person_id, group_id, dow, start_min, end_min, grace_min, label, valid_from, valid_to"
static void row_sched(db_q *q, void *dst)
{
    store_schedule *sc = dst;
    sc->id = db_i64(q, 0);
    sc->person_id = db_i64(q, 1);
    sc->group_id = db_i64(q, 2);
    sc->dow = (int)db_i64(q, 3);
    sc->start_min = (int)db_i64(q, 4);
    sc->end_min = (int)db_i64(q, 5);
    sc->grace_min = (int)db_i64(q, 6);
    cp(sc->label, sizeof sc->label, db_text(q, 7));
    cp(sc->valid_from, sizeof sc->valid_from, db_text(q, 8));
    cp(sc->valid_to, sizeof sc->valid_to, db_text(q, 9));
}

static int valid_day(const char *d);

/* Days since 1970-01-01 of a valid YYYY-MM-DD, and back. */
static int64_t day_number(const char *d)
{
    return rc_days_from_civil(atoi(d), atoi(d + 5), atoi(d + 8));
}
static void day_text(int64_t z, char out[11])
{
    int y, m, d;
    rc_civil_from_days(z, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static rc_status sched_valid(const store_schedule *sc, rc_error *err)
{
    if (!FIELD_OK(sc, label)) return rc_fail(err, RC_ERR_INVALID, "unterminated label");
    if ((sc->person_id != 0) == (sc->group_id != 0))
        return rc_fail(err, RC_ERR_INVALID, "a schedule belongs to one person or one group");
    if (sc->dow < 0 || sc->dow > 6)
        return rc_fail(err, RC_ERR_INVALID, "day of week %d is not 0 (Sunday) .. 6", sc->dow);
    if (sc->start_min < 0 || sc->start_min > 1439 || sc->end_min < 1 || sc->end_min > 1440)
        return rc_fail(err, RC_ERR_INVALID, "start %d or end %d is outside the day (minutes)",
                       sc->start_min, sc->end_min);
    if (sc->grace_min < 0 || sc->grace_min > 720)
        return rc_fail(err, RC_ERR_INVALID, "grace of %d minutes is not in 0..720", sc->grace_min);
    if (!FIELD_OK(sc, valid_from) || !FIELD_OK(sc, valid_to) ||
        (sc->valid_from[0] && !valid_day(sc->valid_from)) ||
        (sc->valid_to[0] && !valid_day(sc->valid_to)))
        return rc_fail(err, RC_ERR_INVALID, "a slot's days in force are not YYYY-MM-DD");
    if (sc->valid_from[0] && sc->valid_to[0] && strcmp(sc->valid_from, sc->valid_to) > 0)
        return rc_fail(err, RC_ERR_INVALID,
                       "a slot's days in force end (%s) before they begin (%s)", sc->valid_to,
                       sc->valid_from);
    return RC_OK;
}

rc_status store_schedule_create(store *s, store_schedule *sc, rc_error *err)
{
    rc_status st = sched_valid(sc, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t id = 0;
    st = qint(c,
              "INSERT INTO schedules (person_id, group_id, dow, start_min, end_min, grace_min, "
              "label, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
              &id, err, "IIiiiitTT", sc->person_id, sc->group_id, (int64_t)sc->dow,
              (int64_t)sc->start_min, (int64_t)sc->end_min, (int64_t)sc->grace_min, sc->label,
              sc->valid_from, sc->valid_to);
    give(s, c);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "the schedule's person or group is unknown");
    if (st == RC_OK) sc->id = id;
    return st;
}

rc_status store_schedule_update(store *s, const store_schedule *sc, rc_error *err)
{
    rc_status st = sched_valid(sc, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t ch = 0;
    st = qexec(c,
               "UPDATE schedules SET person_id = ?, group_id = ?, dow = ?, start_min = ?, "
               "end_min = ?, grace_min = ?, label = ?, valid_from = ?, valid_to = ? WHERE id = ?",
               &ch, err, "IIiiiitTTi", sc->person_id, sc->group_id, (int64_t)sc->dow,
               (int64_t)sc->start_min, (int64_t)sc->end_min, (int64_t)sc->grace_min, sc->label,
               sc->valid_from, sc->valid_to, sc->id);
    give(s, c);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no schedule with id %lld", (long long)sc->id);
    return st;
}

rc_status store_schedule_delete(store *s, int64_t id, rc_error *err)
{
    return delete_by_id(s, "DELETE FROM schedules WHERE id = ?", id, "schedule", err);
}

rc_status store_schedule_get(store *s, int64_t id, store_schedule *out, rc_error *err)
{
    return query_one(s, row_sched, out, err, "schedule", id,
                     "SELECT " SCHED_COLS " FROM schedules WHERE id = ?", "i", id);
}

rc_status store_schedule_list(store *s, int64_t person_id, int64_t group_id, store_schedule **out,
                              size_t *n, rc_error *err)
{
    return store_schedule_list_from(s, person_id, group_id, NULL, out, n, err);
}

rc_status store_schedule_list_from(store *s, int64_t person_id, int64_t group_id, const char *on,
                                   store_schedule **out, size_t *n, rc_error *err)
{
    qb b = {0};
    if (person_id) qb_i(&b, "person_id = ?", person_id);
    if (group_id) qb_i(&b, "group_id = ?", group_id);
    if (on) qb_t(&b, "(valid_to IS NULL OR valid_to >= ?)", on);
    TAKE(s, c, err);
    db_q *q = qb_prep(c, &b, "SELECT " SCHED_COLS " FROM schedules",
                      " ORDER BY dow, start_min, COALESCE(valid_from, ''), id", err, 0, 0, 0);
    rc_status st = q ? collect(q, sizeof **out, row_sched, (void **)out, n, err)
                     : (err ? err->code : RC_ERR_DB);
    give(s, c);
    return st;
}

int store_schedule_valid_on(const store_schedule *sc, const char *day)
{
    return (!sc->valid_from[0] || strcmp(sc->valid_from, day) <= 0) &&
           (!sc->valid_to[0] || strcmp(day, sc->valid_to) <= 0);
}

rc_status store_schedules_for_person(store *s, int64_t person_id, store_schedule **out, size_t *n,
                                     rc_error *err)
{
    return query_list(s, sizeof **out, row_sched, (void **)out, n, err,
                      "SELECT " SCHED_COLS " FROM schedules WHERE person_id = ? OR group_id IN "
                      "(SELECT group_id FROM group_members WHERE person_id = ? AND left_ms = 0) "
                      "ORDER BY dow, start_min, id",
                      "ii", person_id, person_id);
}

rc_status store_schedules_for_person_history(store *s, int64_t person_id, store_schedule **out,
                                             size_t *n, rc_error *err)
{
    return query_list(s, sizeof **out, row_sched, (void **)out, n, err,
                      "SELECT " SCHED_COLS " FROM schedules WHERE person_id = ? OR group_id IN "
                      "(SELECT group_id FROM group_members WHERE person_id = ?) "
                      "ORDER BY dow, start_min, id",
                      "ii", person_id, person_id);
}

int store_schedules_overlap(const store_schedule *a, const store_schedule *b)
{
    enum { WEEK = 7 * 1440 };
    int sa = a->dow * 1440 + a->start_min, sb = b->dow * 1440 + b->start_min;
    int la = a->end_min - a->start_min, lb = b->end_min - b->start_min;
    if (la <= 0) la += 1440;
    if (lb <= 0) lb += 1440;
    return (sb - sa + WEEK) % WEEK < la || (sa - sb + WEEK) % WEEK < lb;
}

/* Whether two slots' days in force meet (open sides reach everything). */
static int sched_days_meet(const store_schedule *a, const store_schedule *b)
{
    return (!a->valid_to[0] || !b->valid_from[0] || strcmp(b->valid_from, a->valid_to) <= 0) &&
           (!b->valid_to[0] || !a->valid_from[0] || strcmp(a->valid_from, b->valid_to) <= 0);
}

/* Whether two rows say the same slot (owner, day, times, grace, label). */
static int sched_same(const store_schedule *a, const store_schedule *b)
{
    return a->person_id == b->person_id && a->group_id == b->group_id && a->dow == b->dow &&
           a->start_min == b->start_min && a->end_min == b->end_min &&
           a->grace_min == b->grace_min && !strcmp(a->label, b->label);
}

/* Serialises writers of one owner's timetable (PostgreSQL advisory lock). */
#define SCHED_LOCK_BASE ((int64_t)3 << 40)

rc_status store_schedules_write(store *s, int64_t person_id, int64_t group_id, int replace,
                                store_schedule *list, size_t n, store_schedule clash[2],
                                rc_error *err)
{
    return store_schedules_write_from(s, person_id, group_id, replace, NULL, list, n, clash, err);
}

/* What a dated write does with one listed slot. */
enum { SW_NEW, SW_INPLACE, SW_SPLIT, SW_NOOP };

rc_status store_schedules_write_from(store *s, int64_t person_id, int64_t group_id, int replace,
                                     const char *effective, store_schedule *list, size_t n,
                                     store_schedule clash[2], rc_error *err)
{
    const char *E = effective;
    char before[11] = ""; /* the day before E */
    if (E) {
        if (!valid_day(E))
            return rc_fail(err, RC_ERR_INVALID, "effective day '%s' is not YYYY-MM-DD", E);
        day_text(day_number(E) - 1, before);
    }
    for (size_t i = 0; i < n; i++) {
        list[i].person_id = person_id;
        list[i].group_id = group_id;
        if (E && !list[i].id) {
            snprintf(list[i].valid_from, sizeof list[i].valid_from, "%s", E);
            list[i].valid_to[0] = 0;
        }
        rc_status st = sched_valid(&list[i], err);
        if (st != RC_OK) return st;
    }
    rc_status st =
        store_tx_begin(s, SCHED_LOCK_BASE + (person_id ? 2 * person_id : 2 * group_id + 1), err);
    if (st != RC_OK) return st;
    store_schedule *cur = NULL;
    size_t nc = 0;
    st = store_schedule_list(s, person_id, group_id, &cur, &nc, err);
    /* fin[j]: cur[j] as it will be (its days in force); gone[j]: removed,
     * or written over by a listed slot (which stands for it). old[i]: the
     * row listed slot i had; act[i]: what becomes of it. */
    store_schedule *fin = nc ? malloc(nc * sizeof *fin) : NULL;
    unsigned char *written = nc ? calloc(nc, 1) : NULL, *gone = nc ? calloc(nc, 1) : NULL;
    store_schedule *old = n ? calloc(n, sizeof *old) : NULL;
    unsigned char *act = n ? calloc(n, 1) : NULL;
    if (st == RC_OK && ((nc && (!fin || !written || !gone)) || (n && (!old || !act))))
        st = rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; st == RC_OK && j < nc; j++) fin[j] = cur[j];
    /* A slot kept is one of the owner's not written; with `replace` there
     * are none. Written ids must exist (replace: be the owner's) and, dated,
     * still be in force on E or later. */
    for (size_t i = 0; st == RC_OK && i < n; i++) {
        act[i] = SW_NEW;
        if (!list[i].id) continue;
        for (size_t k = 0; st == RC_OK && k < i; k++)
            if (list[k].id == list[i].id)
                st = rc_fail(err, RC_ERR_INVALID, "schedule %lld is given twice",
                             (long long)list[i].id);
        size_t j = 0;
        while (j < nc && cur[j].id != list[i].id) j++;
        if (st != RC_OK) break;
        if (j < nc) {
            written[j] = 1;
            old[i] = cur[j];
        } else if (replace || store_schedule_get(s, list[i].id, &old[i], NULL) != RC_OK) {
            st = rc_fail(err, RC_ERR_NOT_FOUND, "no schedule with id %lld", (long long)list[i].id);
            break;
        }
        if (E && old[i].valid_to[0] && strcmp(old[i].valid_to, E) < 0) {
            st = rc_fail(err, RC_ERR_INVALID, "schedule %lld ended on %s, before %s",
                         (long long)list[i].id, old[i].valid_to, E);
            break;
        }
        if (j < nc) gone[j] = 1;
        if (!E) { /* undated: in place, its days kept */
            act[i] = SW_INPLACE;
            memcpy(list[i].valid_from, old[i].valid_from, sizeof list[i].valid_from);
            memcpy(list[i].valid_to, old[i].valid_to, sizeof list[i].valid_to);
            continue;
        }
        int begun = !old[i].valid_from[0] || strcmp(old[i].valid_from, E) < 0;
        if (begun && sched_same(&list[i], &old[i])) {
            act[i] = SW_NOOP; /* the same slot: its row stays (replace: with no end) */
            memcpy(list[i].valid_from, old[i].valid_from, sizeof list[i].valid_from);
            if (replace)
                list[i].valid_to[0] = 0;
            else
                memcpy(list[i].valid_to, old[i].valid_to, sizeof list[i].valid_to);
        } else if (begun) {
            act[i] = SW_SPLIT; /* the old row ends, a new one carries it on */
            if (j < nc) {
                gone[j] = 0;
                memcpy(fin[j].valid_to, before, sizeof before);
            }
            snprintf(list[i].valid_from, sizeof list[i].valid_from, "%s", E);
            if (replace)
                list[i].valid_to[0] = 0;
            else
                memcpy(list[i].valid_to, old[i].valid_to, sizeof list[i].valid_to);
        } else {
            act[i] = SW_INPLACE; /* not in force before E: changed in place */
            if (replace) {
                snprintf(list[i].valid_from, sizeof list[i].valid_from, "%s", E);
                list[i].valid_to[0] = 0;
            } else {
                memcpy(list[i].valid_from, old[i].valid_from, sizeof list[i].valid_from);
                memcpy(list[i].valid_to, old[i].valid_to, sizeof list[i].valid_to);
            }
        }
    }
    /* With `replace`, the slots not listed: undated, removed; dated, those
     * in force before E end the day before, the later ones go. */
    for (size_t j = 0; st == RC_OK && replace && j < nc; j++) {
        if (written[j]) continue;
        if (!E || (cur[j].valid_from[0] && strcmp(cur[j].valid_from, E) >= 0))
            gone[j] = 1;
        else if (!cur[j].valid_to[0] || strcmp(cur[j].valid_to, E) >= 0)
            memcpy(fin[j].valid_to, before, sizeof before);
    }
    /* No two slots of the result share a minute of the week on a day both
     * are in force: the written ones against each other and against the
     * rest as they will be. */
    for (size_t i = 0; st == RC_OK && i < n; i++) {
        const store_schedule *other = NULL;
        for (size_t k = 0; k < i && !other; k++)
            if (sched_days_meet(&list[i], &list[k]) && store_schedules_overlap(&list[i], &list[k]))
                other = &list[k];
        for (size_t j = 0; j < nc && !other; j++)
            if (!gone[j] && fin[j].id != list[i].id && sched_days_meet(&list[i], &fin[j]) &&
                store_schedules_overlap(&list[i], &fin[j]))
                other = &fin[j];
        if (other) {
            if (clash) clash[0] = list[i], clash[1] = *other;
            st = rc_fail(err, RC_ERR_CONFLICT, "the slot overlaps another of the same timetable");
        }
    }
    /* The rows not listed that end or go, then the listed ones. */
    for (size_t j = 0; st == RC_OK && j < nc; j++) {
        if (written[j]) continue;
        if (gone[j])
            st = store_schedule_delete(s, cur[j].id, err);
        else if (!gone[j] && strcmp(fin[j].valid_to, cur[j].valid_to))
            st = store_schedule_update(s, &fin[j], err);
    }
    for (size_t i = 0; st == RC_OK && i < n; i++) {
        switch (act[i]) {
        case SW_NEW:
            st = store_schedule_create(s, &list[i], err);
            break;
        case SW_INPLACE:
            st = store_schedule_update(s, &list[i], err);
            break;
        case SW_NOOP:
            if (strcmp(list[i].valid_to, old[i].valid_to))
                st = store_schedule_update(s, &list[i], err);
            break;
        case SW_SPLIT: {
            store_schedule ended = old[i];
            memcpy(ended.valid_to, before, sizeof before);
            st = store_schedule_update(s, &ended, err);
            list[i].id = 0;
            if (st == RC_OK) st = store_schedule_create(s, &list[i], err);
            /* Events made on E or later for the old row belong to the new. */
            if (st == RC_OK)
                st = query_exec(s,
                                "UPDATE events SET schedule_id = ? WHERE schedule_id = ? AND "
                                "slot_day >= ?",
                                NULL, err, "iit", list[i].id, old[i].id, E);
            break;
        }
        }
    }
    free(cur);
    free(fin);
    free(written);
    free(gone);
    free(old);
    free(act);
    return store_tx_end(s, st, err);
}

rc_status store_schedule_end(store *s, int64_t id, const char *effective, int *removed,
                             rc_error *err)
{
    if (removed) *removed = 0;
    if (effective && !valid_day(effective))
        return rc_fail(err, RC_ERR_INVALID, "effective day '%s' is not YYYY-MM-DD", effective);
    store_schedule sc;
    rc_status st = store_schedule_get(s, id, &sc, err);
    if (st != RC_OK) return st;
    if (!effective || (sc.valid_from[0] && strcmp(sc.valid_from, effective) >= 0)) {
        if (removed) *removed = 1;
        return store_schedule_delete(s, id, err);
    }
    char before[11];
    day_text(day_number(effective) - 1, before);
    if (sc.valid_to[0] && strcmp(sc.valid_to, before) <= 0) return RC_OK; /* ended already */
    memcpy(sc.valid_to, before, sizeof before);
    return store_schedule_update(s, &sc, err);
}

/* ---- holidays, settings --------------------------------------------------- */

static int valid_day(const char *d)
{
    if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)d[i])) return 0;
    int m = (d[5] - '0') * 10 + (d[6] - '0'), dd = (d[8] - '0') * 10 + (d[9] - '0');
    return m >= 1 && m <= 12 && dd >= 1 && dd <= 31;
}

rc_status store_holiday_set(store *s, const char *day, const char *name, rc_error *err)
{
    if (!valid_day(day))
        return rc_fail(err, RC_ERR_INVALID, "holiday day '%s' is not YYYY-MM-DD", day ? day : "");
    if (name && strlen(name) >= sizeof((store_holiday *)0)->name)
        return too_long(err, "holiday name", sizeof((store_holiday *)0)->name);
    return query_exec(s,
                      "INSERT INTO holidays (day, name) VALUES (?, ?) ON CONFLICT (day) DO "
                      "UPDATE SET name = excluded.name",
                      NULL, err, "tt", day, name ? name : "");
}

rc_status store_holiday_delete(store *s, const char *day, rc_error *err)
{
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st = qexec(c, "DELETE FROM holidays WHERE day = ?", &ch, err, "t", day ? day : "");
    give(s, c);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no holiday on %s", day ? day : "");
    return st;
}

static void row_holiday(db_q *q, void *dst)
{
    store_holiday *h = dst;
    cp(h->day, sizeof h->day, db_text(q, 0));
    cp(h->name, sizeof h->name, db_text(q, 1));
}

rc_status store_holiday_list(store *s, const char *from, const char *to, store_holiday **out,
                             size_t *n, rc_error *err)
{
    qb b = {0};
    if (from) qb_t(&b, "day >= ?", from);
    if (to) qb_t(&b, "day <= ?", to);
    TAKE(s, c, err);
    db_q *q = qb_prep(c, &b, "SELECT day, name FROM holidays", " ORDER BY day", err, 0, 0, 0);
    rc_status st = q ? collect(q, sizeof **out, row_holiday, (void **)out, n, err)
                     : (err ? err->code : RC_ERR_DB);
    give(s, c);
    return st;
}

/* ---- leaves --------------------------------------------------------------- */

const char *const store_leave_kinds[STORE_LEAVE_KINDS] = {"sick", "vacation", "personal",
                                                          "justified", "other"};

#define LEAVE_COLS                                                                                 \
    "id, person_id, kind, from_day, to_day, note, created_by, created_ms, from_min, to_min"
static void row_leave(db_q *q, void *dst)
{
    store_leave *l = dst;
    l->id = db_i64(q, 0);
    l->person_id = db_i64(q, 1);
    cp(l->kind, sizeof l->kind, db_text(q, 2));
    cp(l->from_day, sizeof l->from_day, db_text(q, 3));
    cp(l->to_day, sizeof l->to_day, db_text(q, 4));
    cp(l->note, sizeof l->note, db_text(q, 5));
    cp(l->created_by, sizeof l->created_by, db_text(q, 6));
    l->created_ms = db_i64(q, 7);
    l->from_min = db_null(q, 8) ? 0 : (int)db_i64(q, 8);
    l->to_min = db_null(q, 9) ? 0 : (int)db_i64(q, 9);
}

/* What store_leave_add and store_leave_update refuse before the database. */
static rc_status leave_check(const store_leave *l, rc_error *err)
{
    if (!FIELD_OK(l, kind) || !FIELD_OK(l, from_day) || !FIELD_OK(l, to_day) ||
        !FIELD_OK(l, note) || !FIELD_OK(l, created_by))
        return rc_fail(err, RC_ERR_INVALID, "unterminated leave field");
    int known = 0;
    for (int i = 0; i < STORE_LEAVE_KINDS; i++) known |= !strcmp(l->kind, store_leave_kinds[i]);
    if (!known)
        return rc_fail(err, RC_ERR_INVALID,
                       "leave kind '%s' is not sick, vacation, personal, justified or other",
                       l->kind);
    if (!valid_day(l->from_day) || !valid_day(l->to_day))
        return rc_fail(err, RC_ERR_INVALID, "leave days '%s' to '%s' are not YYYY-MM-DD",
                       l->from_day, l->to_day);
    if (strcmp(l->to_day, l->from_day) < 0)
        return rc_fail(err, RC_ERR_INVALID, "leave ends (%s) before it starts (%s)", l->to_day,
                       l->from_day);
    if (l->from_min || l->to_min) {
        if (l->from_min < 0 || l->from_min > 1439 || l->to_min < 1 || l->to_min > 1440)
            return rc_fail(err, RC_ERR_INVALID,
                           "part of a day: minutes %d to %d are not within 0 to 1440", l->from_min,
                           l->to_min);
        if (l->to_min <= l->from_min)
            return rc_fail(err, RC_ERR_INVALID,
                           "part of a day: it ends (minute %d) before or as it starts (minute %d)",
                           l->to_min, l->from_min);
        if (strcmp(l->from_day, l->to_day) != 0)
            return rc_fail(err, RC_ERR_INVALID,
                           "part of a day: a leave from %s to %s is more than one day", l->from_day,
                           l->to_day);
    }
    if (strlen(l->note) > STORE_LEAVE_NOTE_MAX)
        return too_long(err, "leave note", STORE_LEAVE_NOTE_MAX + 1);
    return RC_OK;
}

/* RC_ERR_CONFLICT naming the first leave of l's person other than l->id (0:
 * any) that shares a day with l; RC_OK when none does. In a transaction that
 * holds the person's lock. */
static rc_status leave_overlap(db_conn *c, const store_leave *l, rc_error *err)
{
    store_leave other;
    rc_status st = qone(c, row_leave, &other, err, "leave", 0,
                        "SELECT " LEAVE_COLS " FROM person_leaves WHERE person_id = ? AND "
                        "from_day <= ? AND to_day >= ? AND id <> ? ORDER BY from_day LIMIT 1",
                        "itti", l->person_id, l->to_day, l->from_day, l->id);
    if (st == RC_OK)
        return rc_fail(err, RC_ERR_CONFLICT,
                       "leave %lld (%s to %s) already covers some of these days",
                       (long long)other.id, other.from_day, other.to_day);
    return st == RC_ERR_NOT_FOUND ? RC_OK : st;
}

rc_status store_leave_add(store *s, store_leave *l, rc_error *err)
{
    rc_status st = leave_check(l, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), have = 0, id = 0;
    /* The person's row locked (PostgreSQL; SQLite's write lock is taken by
     * BEGIN IMMEDIATE), so two overlapping leaves added at once cannot both
     * pass the check. */
    st = tx_begin(s, c, err);
    if (st == RC_OK) st = lock_person(s, c, l->person_id, err);
    if (st == RC_OK)
        st = qint(c, "SELECT count(*) FROM persons WHERE id = ?", &have, err, "i", l->person_id);
    if (st == RC_OK && !have)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no person with id %lld", (long long)l->person_id);
    if (st == RC_OK) {
        l->id = 0;
        st = leave_overlap(c, l, err);
    }
    /* A whole day's minutes are NULL (from_min -1 binds NULL). */
    if (st == RC_OK)
        st = qint(c,
                  "INSERT INTO person_leaves (person_id, kind, from_day, to_day, note, created_by, "
                  "created_ms, from_min, to_min) VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, -1), ?) "
                  "RETURNING id",
                  &id, err, "itttttiiI", l->person_id, l->kind, l->from_day, l->to_day, l->note,
                  l->created_by, now, (int64_t)(l->to_min ? l->from_min : -1), (int64_t)l->to_min);
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK) {
        l->id = id;
        l->created_ms = now;
    }
    return st;
}

#define LEAVE_OF_PERSON "SELECT " LEAVE_COLS " FROM person_leaves WHERE id = ? AND person_id = ?"

rc_status store_leave_get(store *s, int64_t person_id, int64_t id, store_leave *out, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = qone(c, row_leave, out, err, "leave", id, LEAVE_OF_PERSON, "ii", id, person_id);
    give(s, c);
    return st;
}

rc_status store_leave_update(store *s, store_leave *l, store_leave *before, rc_error *err)
{
    /* Who created it is the stored row's; checked only for termination. */
    l->created_by[0] = 0;
    rc_status st = leave_check(l, err);
    if (st != RC_OK) return st;
    store_leave was;
    TAKE(s, c, err);
    st = tx_begin(s, c, err);
    if (st == RC_OK) st = lock_person(s, c, l->person_id, err);
    if (st == RC_OK)
        st = qone(c, row_leave, &was, err, "leave", l->id, LEAVE_OF_PERSON, "ii", l->id,
                  l->person_id);
    if (st == RC_OK) st = leave_overlap(c, l, err);
    if (st == RC_OK)
        st = qexec(c,
                   "UPDATE person_leaves SET kind = ?, from_day = ?, to_day = ?, note = ?, "
                   "from_min = NULLIF(?, -1), to_min = ? WHERE id = ?",
                   NULL, err, "ttttiIi", l->kind, l->from_day, l->to_day, l->note,
                   (int64_t)(l->to_min ? l->from_min : -1), (int64_t)l->to_min, l->id);
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK) {
        memcpy(l->created_by, was.created_by, sizeof l->created_by);
        l->created_ms = was.created_ms;
        if (before) *before = was;
    }
    return st;
}

rc_status store_leave_delete(store *s, int64_t person_id, int64_t id, store_leave *out,
                             rc_error *err)
{
    store_leave l;
    TAKE(s, c, err);
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK)
        st = qone(c, row_leave, &l, err, "leave", id, LEAVE_OF_PERSON, "ii", id, person_id);
    if (st == RC_OK) st = qexec(c, "DELETE FROM person_leaves WHERE id = ?", NULL, err, "i", id);
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK && out) *out = l;
    return st;
}

rc_status store_leave_list(store *s, int64_t person_id, const char *from, const char *to,
                           store_leave **out, size_t *n, rc_error *err)
{
    qb b = {0};
    if (person_id) qb_i(&b, "person_id = ?", person_id);
    if (from) qb_t(&b, "to_day >= ?", from);
    if (to) qb_t(&b, "from_day <= ?", to);
    TAKE(s, c, err);
    db_q *q = qb_prep(c, &b, "SELECT " LEAVE_COLS " FROM person_leaves",
                      " ORDER BY person_id, from_day, id", err, 0, 0, 0);
    rc_status st = q ? collect(q, sizeof **out, row_leave, (void **)out, n, err)
                     : (err ? err->code : RC_ERR_DB);
    give(s, c);
    return st;
}

rc_status store_started_ms(store *s, int64_t *out, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = qint(c,
                        "SELECT COALESCE(MIN(t), 0) FROM (SELECT MIN(ts_ms) AS t FROM events "
                        "UNION ALL SELECT MIN(applied_ms) FROM schema_migrations) x",
                        out, err, "");
    give(s, c);
    return st;
}

rc_status store_setting_get(store *s, const char *key, char *buf, size_t cap, rc_error *err)
{
    TAKE(s, c, err);
    db_q *q = qprep(c, "SELECT value FROM settings WHERE key = ?", err, "t", key);
    rc_status st = q ? RC_OK : (err ? err->code : RC_ERR_DB);
    if (q) {
        int r = db_step(q, err);
        if (r < 0)
            st = err ? err->code : RC_ERR_DB;
        else if (r == 0)
            st = rc_fail(err, RC_ERR_NOT_FOUND, "setting %s is not set", key);
        else if (strlen(db_text(q, 0)) >= cap)
            st = rc_fail(err, RC_ERR_LIMIT, "setting %s is longer than %zu bytes", key, cap - 1);
        else
            cp(buf, cap, db_text(q, 0));
        db_done(q);
    }
    give(s, c);
    return st;
}

rc_status store_setting_set(store *s, const char *key, const char *value, rc_error *err)
{
    if (!key || !*key || !value)
        return rc_fail(err, RC_ERR_INVALID, "setting needs a key and value");
    if (strlen(key) > 64 || strlen(value) > 4096)
        return rc_fail(err, RC_ERR_LIMIT, "setting %.64s is too long", key);
    return query_exec(s,
                      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
                      "UPDATE SET value = excluded.value",
                      NULL, err, "tt", key, value);
}

/* ---- cameras -------------------------------------------------------------- */

#define CAM_COLS "id, name, url, kind, direction, enabled, fps, created_ms"
static void row_cam(db_q *q, void *dst)
{
    store_camera *k = dst;
    k->id = db_i64(q, 0);
    cp(k->name, sizeof k->name, db_text(q, 1));
    cp(k->url, sizeof k->url, db_text(q, 2));
    cp(k->kind, sizeof k->kind, db_text(q, 3));
    cp(k->direction, sizeof k->direction, db_text(q, 4));
    k->enabled = (int)db_i64(q, 5);
    k->fps = db_f64(q, 6);
    k->created_ms = db_i64(q, 7);
}

static rc_status cam_valid(store_camera *k, rc_error *err)
{
    if (!FIELD_OK(k, name) || !FIELD_OK(k, url) || !FIELD_OK(k, kind) || !FIELD_OK(k, direction) ||
        !k->name[0])
        return rc_fail(err, RC_ERR_INVALID, "a camera needs a name");
    if (!k->direction[0]) cp(k->direction, sizeof k->direction, "both");
    if (!k->kind[0]) cp(k->kind, sizeof k->kind, "browser");
    if (strcmp(k->direction, "both") && strcmp(k->direction, "entry") &&
        strcmp(k->direction, "exit"))
        return rc_fail(err, RC_ERR_INVALID, "camera direction '%s' is not both, entry or exit",
                       k->direction);
    if (!(k->fps >= 0 && k->fps <= 120))
        return rc_fail(err, RC_ERR_INVALID, "camera frame rate %g is not in 0..120", k->fps);
    return RC_OK;
}

rc_status store_camera_create(store *s, store_camera *k, rc_error *err)
{
    rc_status st = cam_valid(k, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), id = 0;
    st = qint(c,
              "INSERT INTO cameras (name, url, kind, direction, enabled, fps, created_ms) VALUES "
              "(?, ?, ?, ?, ?, ?, ?) RETURNING id",
              &id, err, "ttttidi", k->name, k->url, k->kind, k->direction, (int64_t)k->enabled,
              k->fps, now);
    give(s, c);
    if (st == RC_ERR_CONFLICT) return rc_fail(err, st, "a camera named %s already exists", k->name);
    if (st != RC_OK) return st;
    k->id = id;
    k->created_ms = now;
    return RC_OK;
}

rc_status store_camera_get(store *s, int64_t id, store_camera *out, rc_error *err)
{
    return query_one(s, row_cam, out, err, "camera", id,
                     "SELECT " CAM_COLS " FROM cameras WHERE id = ?", "i", id);
}

rc_status store_camera_update(store *s, const store_camera *k, rc_error *err)
{
    store_camera v = *k;
    rc_status st = cam_valid(&v, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t ch = 0;
    st = qexec(c,
               "UPDATE cameras SET name = ?, url = ?, kind = ?, direction = ?, enabled = ?, "
               "fps = ? WHERE id = ?",
               &ch, err, "ttttidi", v.name, v.url, v.kind, v.direction, (int64_t)v.enabled, v.fps,
               v.id);
    give(s, c);
    if (st == RC_ERR_CONFLICT) return rc_fail(err, st, "a camera named %s already exists", v.name);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no camera with id %lld", (long long)v.id);
    return st;
}

rc_status store_camera_delete(store *s, int64_t id, rc_error *err)
{
    /* The API keys bound to the camera are revoked with it, in the same
     * transaction: the foreign key would otherwise unbind them (ON DELETE
     * SET NULL), and an unbound device key marks attendance as any camera
     * and follows every camera's events. */
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK)
        st = qexec(c, "UPDATE api_keys SET revoked = 1 WHERE camera_id = ?", NULL, err, "i", id);
    if (st == RC_OK) st = qexec(c, "DELETE FROM cameras WHERE id = ?", &ch, err, "i", id);
    if (st == RC_OK && ch == 0)
        st = rc_fail(err, RC_ERR_NOT_FOUND, "no camera with id %lld", (long long)id);
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

rc_status store_camera_list(store *s, store_camera **out, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **out, row_cam, (void **)out, n, err,
                      "SELECT " CAM_COLS " FROM cameras ORDER BY name", "");
}

/* ---- events --------------------------------------------------------------- */

#define EVENT_COLS                                                                                 \
    "id, person_id, ts_ms, last_seen_ms, kind, status, camera_id, confidence, box_x, box_y, "      \
    "box_w, box_h, liveness, sightings, schedule_id, slot_day, source, reason, created_ms, "       \
    "updated_ms, (SELECT p.name FROM persons p WHERE p.id = events.person_id), "                   \
    "(SELECT COALESCE(p.external_id, '') FROM persons p WHERE p.id = events.person_id), "          \
    "voided_ms, face_id, (SELECT count(*) FROM sightings sg WHERE sg.event_id = events.id), "      \
    "corrected_ms, corrected_by"
static void row_event(db_q *q, void *dst)
{
    store_event *e = dst;
    e->id = db_i64(q, 0);
    e->person_id = db_i64(q, 1);
    e->ts_ms = db_i64(q, 2);
    e->last_seen_ms = db_i64(q, 3);
    cp(e->kind, sizeof e->kind, db_text(q, 4));
    cp(e->status, sizeof e->status, db_text(q, 5));
    e->camera_id = db_i64(q, 6);
    e->confidence = db_f64(q, 7);
    for (int i = 0; i < 4; i++) e->box[i] = (float)db_f64(q, 8 + i);
    e->liveness = db_f64(q, 12);
    e->sightings = (int)db_i64(q, 13);
    e->schedule_id = db_i64(q, 14);
    cp(e->slot_day, sizeof e->slot_day, db_text(q, 15));
    cp(e->source, sizeof e->source, db_text(q, 16));
    cp(e->reason, sizeof e->reason, db_text(q, 17));
    e->created_ms = db_i64(q, 18);
    e->updated_ms = db_i64(q, 19);
    cp(e->person_name, sizeof e->person_name, db_text(q, 20));
    cp(e->person_external_id, sizeof e->person_external_id, db_text(q, 21));
    e->voided_ms = db_i64(q, 22);
    e->face_id = db_i64(q, 23);
    e->has_probe = db_i64(q, 24) > 0;
    e->corrected_ms = db_i64(q, 25);
    cp(e->corrected_by, sizeof e->corrected_by, db_text(q, 26));
}

static rc_status event_valid(store_event *e, rc_error *err)
{
    if (!FIELD_OK(e, kind) || !FIELD_OK(e, status) || !FIELD_OK(e, slot_day) ||
        !FIELD_OK(e, source) || !FIELD_OK(e, reason))
        return rc_fail(err, RC_ERR_INVALID, "event has an unterminated text field");
    if (strcmp(e->kind, "entry") && strcmp(e->kind, "exit"))
        return rc_fail(err, RC_ERR_INVALID, "event kind '%s' is not entry or exit", e->kind);
    if (!valid_day(e->slot_day))
        return rc_fail(err, RC_ERR_INVALID, "event day '%s' is not YYYY-MM-DD", e->slot_day);
    if (!e->status[0]) cp(e->status, sizeof e->status, "outside");
    if (!e->source[0]) cp(e->source, sizeof e->source, "auto");
    if (strcmp(e->source, "auto") && strcmp(e->source, "manual") && strcmp(e->source, "pin") &&
        strcmp(e->source, "self"))
        return rc_fail(err, RC_ERR_INVALID, "event source '%s' is not auto, manual, pin or self",
                       e->source);
    if (e->last_seen_ms < e->ts_ms) e->last_seen_ms = e->ts_ms;
    if (e->sightings < 1) e->sightings = 1;
    return RC_OK;
}

/* The event's face, or NULL when it was deleted meanwhile (a face removed
 * while a frame it matched was being recorded must not lose the event). */
#define EVENT_FACE "(SELECT f.id FROM faces f WHERE f.id = ?)"

static rc_status event_insert_in(db_conn *c, store_event *e, rc_error *err)
{
    int64_t now = rc_unix_ms(), id = 0;
    rc_status st = qint(
        c,
        "INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, status, camera_id, "
        "confidence, box_x, box_y, box_w, box_h, liveness, sightings, schedule_id, slot_day, "
        "source, reason, created_ms, updated_ms, face_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, " EVENT_FACE ") RETURNING id",
        &id, err,
        "iiittIdddddd"
        "iIttt"
        "iiI",
        e->person_id, e->ts_ms, e->last_seen_ms, e->kind, e->status, e->camera_id, e->confidence,
        (double)e->box[0], (double)e->box[1], (double)e->box[2], (double)e->box[3], e->liveness,
        (int64_t)e->sightings, e->schedule_id, e->slot_day, e->source, e->reason, now, now,
        e->face_id);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st,
                       "event refers to an unknown person %lld, camera %lld, schedule "
                       "%lld or face %lld",
                       (long long)e->person_id, (long long)e->camera_id, (long long)e->schedule_id,
                       (long long)e->face_id);
    if (st != RC_OK) return st;
    e->id = id;
    e->created_ms = e->updated_ms = now;
    return RC_OK;
}

static rc_status event_update_in(db_conn *c, const store_event *e, rc_error *err)
{
    int64_t ch = 0;
    rc_status st =
        qexec(c,
              "UPDATE events SET person_id = ?, ts_ms = ?, last_seen_ms = ?, kind = ?, status = ?, "
              "camera_id = ?, confidence = ?, box_x = ?, box_y = ?, box_w = ?, box_h = ?, "
              "liveness = ?, sightings = ?, schedule_id = ?, slot_day = ?, source = ?, reason = ?, "
              "updated_ms = ?, face_id = " EVENT_FACE " WHERE id = ?",
              &ch, err,
              "iiittIdddddd"
              "iIttt"
              "iIi",
              e->person_id, e->ts_ms, e->last_seen_ms, e->kind, e->status, e->camera_id,
              e->confidence, (double)e->box[0], (double)e->box[1], (double)e->box[2],
              (double)e->box[3], e->liveness, (int64_t)e->sightings, e->schedule_id, e->slot_day,
              e->source, e->reason, rc_unix_ms(), e->face_id, e->id);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "event refers to an unknown person, camera, schedule or face");
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_NOT_FOUND, "no event with id %lld", (long long)e->id);
    return st;
}

/* Queue the webhook deliveries of a new event in its transaction (below). */
static rc_status outbox_event_in(db_conn *c, const store_event *e, rc_error *err);

rc_status store_event_insert(store *s, store_event *e, rc_error *err)
{
    rc_status st = event_valid(e, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    st = tx_begin(s, c, err);
    if (st == RC_OK) st = event_insert_in(c, e, err);
    if (st == RC_OK) st = outbox_event_in(c, e, err);
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

rc_status store_event_update(store *s, const store_event *e, rc_error *err)
{
    store_event v = *e;
    rc_status st = event_valid(&v, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    st = event_update_in(c, &v, err);
    give(s, c);
    return st;
}

static rc_status event_get_in(db_conn *c, int64_t id, store_event *out, rc_error *err)
{
    return qone(c, row_event, out, err, "event", id,
                "SELECT " EVENT_COLS " FROM events WHERE id = ?", "i", id);
}

rc_status store_event_get(store *s, int64_t id, store_event *out, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = event_get_in(c, id, out, err);
    give(s, c);
    return st;
}

rc_status store_event_latest(store *s, int64_t person_id, store_event *out, rc_error *err)
{
    rc_status st =
        query_one(s, row_event, out, err, "event", 0,
                  "SELECT " EVENT_COLS " FROM events WHERE person_id = ? AND voided_ms = 0 "
                  "ORDER BY last_seen_ms DESC, id DESC LIMIT 1",
                  "i", person_id);
    if (st == RC_ERR_NOT_FOUND) rc_fail(err, st, "person %lld has no events", (long long)person_id);
    return st;
}

rc_status store_event_list(store *s, const store_event_filter *f, store_page page,
                           store_event **out, size_t *n, int64_t *total, rc_error *err)
{
    qb b = {0};
    if (f) {
        if (f->person_id) qb_i(&b, "person_id = ?", f->person_id);
        if (f->group_id)
            qb_i(&b,
                 "person_id IN (SELECT person_id FROM group_members WHERE group_id = ? AND "
                 "left_ms = 0)",
                 f->group_id);
        if (f->camera_id) qb_i(&b, "camera_id = ?", f->camera_id);
        if (f->from_ms) qb_i(&b, "ts_ms >= ?", f->from_ms);
        if (f->to_ms) qb_i(&b, "ts_ms < ?", f->to_ms);
        if (f->from_day) qb_t(&b, "slot_day >= ?", f->from_day);
        if (f->to_day) qb_t(&b, "slot_day <= ?", f->to_day);
        if (f->kind) qb_t(&b, "kind = ?", f->kind);
        if (f->status) qb_t(&b, "status = ?", f->status);
        if (f->corrected_only) qb_cond(&b, "corrected_ms > 0");
        if (f->scope_user_id) qb_i(&b, "person_id IN " SCOPE_PERSONS, f->scope_user_id);
    }
    if (!f || !f->include_void) qb_cond(&b, "voided_ms = 0");
    return qb_page(s, &b, "SELECT " EVENT_COLS " FROM events", "events",
                   " ORDER BY ts_ms, id LIMIT ? OFFSET ?", page, sizeof **out, row_event,
                   (void **)out, n, total, err);
}

static json_t *event_json(const store_event *e)
{
    return json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:f, s:i, s:I, s:s, s:s, s:s}", "id",
                     (json_int_t)e->id, "person_id", (json_int_t)e->person_id, "ts_ms",
                     (json_int_t)e->ts_ms, "kind", e->kind, "status", e->status, "camera_id",
                     (json_int_t)e->camera_id, "confidence", e->confidence, "sightings",
                     e->sightings, "schedule_id", (json_int_t)e->schedule_id, "slot_day",
                     e->slot_day, "source", e->source, "reason", e->reason);
}

rc_status store_event_manual_add(store *s, store_event *e, const char *actor, rc_error *err)
{
    cp(e->source, sizeof e->source, "manual");
    if (!e->reason[0]) return rc_fail(err, RC_ERR_INVALID, "a manual event needs a reason");
    rc_status st = event_valid(e, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    st = tx_begin(s, c, err);
    if (st == RC_OK) st = event_insert_in(c, e, err);
    if (st == RC_OK) st = outbox_event_in(c, e, err);
    if (st == RC_OK) {
        char *detail = json_text(json_pack("{s:o}", "new", event_json(e)));
        st = audit_in(c, actor, "event.add", "event", e->id, detail ? detail : "", err);
        free(detail);
    }
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

rc_status store_event_correct(store *s, const store_event *e, const char *actor, rc_error *err)
{
    store_event v = *e, old;
    cp(v.source, sizeof v.source, "manual");
    if (!v.reason[0]) return rc_fail(err, RC_ERR_INVALID, "a correction needs a reason");
    rc_status st = event_valid(&v, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    st = tx_begin(s, c, err);
    if (st == RC_OK) st = event_get_in(c, v.id, &old, err);
    if (st == RC_OK) st = event_update_in(c, &v, err);
    if (st == RC_OK)
        st = qexec(c, "UPDATE events SET corrected_ms = ?, corrected_by = ? WHERE id = ?", NULL,
                   err, "iti", rc_unix_ms(), actor && *actor ? actor : "system", v.id);
    if (st == RC_OK) {
        char *detail = json_text(json_pack("{s:s, s:o, s:o}", "reason", v.reason, "old",
                                           event_json(&old), "new", event_json(&v)));
        st = audit_in(c, actor, "event.correct", "event", v.id, detail ? detail : "", err);
        free(detail);
    }
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

rc_status store_event_remove(store *s, int64_t id, const char *actor, const char *reason,
                             rc_error *err)
{
    if (!reason || !*reason)
        return rc_fail(err, RC_ERR_INVALID, "removing an event needs a reason");
    if (strlen(reason) >= sizeof((store_event *)0)->reason)
        return too_long(err, "reason", sizeof((store_event *)0)->reason);
    store_event old;
    TAKE(s, c, err);
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK) st = event_get_in(c, id, &old, err);
    if (st == RC_OK) st = qexec(c, "DELETE FROM events WHERE id = ?", NULL, err, "i", id);
    if (st == RC_OK) {
        char *detail =
            json_text(json_pack("{s:s, s:o}", "reason", reason, "old", event_json(&old)));
        st = audit_in(c, actor, "event.remove", "event", id, detail ? detail : "", err);
        free(detail);
    }
    st = tx_end(c, st, err);
    give(s, c);
    if (st == RC_OK) erase_deleted(s); /* its probe (a face crop) went with it */
    return st;
}

rc_status store_event_void(store *s, int64_t id, const char *actor, const char *reason,
                           rc_error *err)
{
    if (!reason || !*reason) return rc_fail(err, RC_ERR_INVALID, "voiding an event needs a reason");
    if (strlen(reason) >= sizeof((store_event *)0)->reason)
        return too_long(err, "reason", sizeof((store_event *)0)->reason);
    store_event old;
    int64_t now = rc_unix_ms();
    TAKE(s, c, err);
    rc_status st = tx_begin(s, c, err);
    if (st == RC_OK) st = event_get_in(c, id, &old, err);
    if (st == RC_OK && old.voided_ms)
        st = rc_fail(err, RC_ERR_CONFLICT, "event %lld is already void", (long long)id);
    if (st == RC_OK)
        st = qexec(c,
                   "UPDATE events SET voided_ms = ?, reason = ?, updated_ms = ?, corrected_ms = ?, "
                   "corrected_by = ? WHERE id = ?",
                   NULL, err, "itiiti", now, reason, now, now, actor && *actor ? actor : "system",
                   id);
    if (st == RC_OK) {
        char *detail =
            json_text(json_pack("{s:s, s:o}", "reason", reason, "old", event_json(&old)));
        st = audit_in(c, actor, "event.void", "event", id, detail ? detail : "", err);
        free(detail);
    }
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

/* ---- unrecognized sightings ----------------------------------------------- */

/* Inside a transaction on c: add sighting g, unless it names a person
 * (candidate_person_id) who has no face left. Such a sighting was seen
 * against a gallery from before their biometric data were erased (a frame
 * in flight then): their face, which the erase must not leave behind.
 * Nothing is kept then, and g->id is 0. */
static rc_status sighting_add_in(store *s, db_conn *c, store_sighting *g, const void *jpeg,
                                 size_t len, rc_error *err)
{
    int64_t id = 0, faces = 1;
    g->id = 0;
    g->has_image = 0;
    rc_status st = RC_OK;
    if (g->candidate_person_id) {
        st = lock_person(s, c, g->candidate_person_id, err);
        if (st == RC_OK)
            st = qint(c, "SELECT count(*) FROM faces WHERE person_id = ?", &faces, err, "i",
                      g->candidate_person_id);
        if (st != RC_OK || !faces) return st;
    }
    st = qint(c,
              "INSERT INTO sightings (ts_ms, camera_id, candidate_person_id, "
              "confidence, liveness, reason, image, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
              "RETURNING id",
              &id, err, "iIIddtbI", g->ts_ms, g->camera_id, g->candidate_person_id, g->confidence,
              g->liveness, g->reason, jpeg && len ? jpeg : NULL, jpeg ? len : (size_t)0,
              g->event_id);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "sighting refers to an unknown camera, person or event");
    if (st == RC_OK) {
        g->id = id;
        g->has_image = jpeg && len;
    }
    return st;
}

static rc_status sighting_valid(const store_sighting *g, size_t len, rc_error *err)
{
    if (!FIELD_OK(g, reason)) return rc_fail(err, RC_ERR_INVALID, "unterminated reason");
    if (len > STORE_IMAGE_MAX)
        return rc_fail(err, RC_ERR_LIMIT, "sighting image of %zu bytes is over the %d byte limit",
                       len, STORE_IMAGE_MAX);
    return RC_OK;
}

rc_status store_sighting_add(store *s, store_sighting *g, const void *jpeg, size_t len,
                             rc_error *err)
{
    rc_status st = sighting_valid(g, jpeg ? len : 0, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    st = tx_begin(s, c, err);
    if (st == RC_OK) st = sighting_add_in(s, c, g, jpeg, len, err);
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

#define SIGHTING_COLS                                                                              \
    "id, ts_ms, camera_id, candidate_person_id, confidence, liveness, reason, "                    \
    "CASE WHEN image IS NULL THEN 0 ELSE 1 END, event_id"

static void row_sighting(db_q *q, void *dst)
{
    store_sighting *g = dst;
    g->id = db_i64(q, 0);
    g->ts_ms = db_i64(q, 1);
    g->camera_id = db_i64(q, 2);
    g->candidate_person_id = db_i64(q, 3);
    g->confidence = db_f64(q, 4);
    g->liveness = db_f64(q, 5);
    cp(g->reason, sizeof g->reason, db_text(q, 6));
    g->has_image = (int)db_i64(q, 7);
    g->event_id = db_i64(q, 8);
}

rc_status store_sighting_list(store *s, const store_sighting_filter *f, store_page page,
                              store_sighting **out, size_t *n, int64_t *total, rc_error *err)
{
    qb b = {0};
    qb_cond(&b, "event_id IS NULL");
    if (f && f->from_ms) qb_i(&b, "ts_ms >= ?", f->from_ms);
    if (f && f->to_ms) qb_i(&b, "ts_ms < ?", f->to_ms);
    if (f && f->camera_id) qb_i(&b, "camera_id = ?", f->camera_id);
    return qb_page(s, &b, "SELECT " SIGHTING_COLS " FROM sightings", "sightings",
                   " ORDER BY ts_ms DESC, id DESC LIMIT ? OFFSET ?", page, sizeof **out,
                   row_sighting, (void **)out, n, total, err);
}

rc_status store_sighting_get(store *s, int64_t id, store_sighting *out, rc_error *err)
{
    return query_one(s, row_sighting, out, err, "sighting", id,
                     "SELECT " SIGHTING_COLS " FROM sightings WHERE id = ? AND event_id IS NULL",
                     "i", id);
}

rc_status store_sighting_image(store *s, int64_t id, unsigned char **jpeg, size_t *len,
                               rc_error *err)
{
    return blob_of(s, "SELECT image FROM sightings WHERE id = ? AND event_id IS NULL", id,
                   "sighting", jpeg, len, err);
}

rc_status store_sighting_delete(store *s, int64_t id, rc_error *err)
{
    rc_status st = delete_by_id(s, "DELETE FROM sightings WHERE id = ? AND event_id IS NULL", id,
                                "sighting", err);
    if (st == RC_OK) erase_deleted(s);
    return st;
}

rc_status store_event_probe_set(store *s, store_sighting *g, const void *jpeg, size_t len,
                                rc_error *err)
{
    if (!g->event_id) return rc_fail(err, RC_ERR_INVALID, "a probe needs its event");
    rc_status st = sighting_valid(g, jpeg ? len : 0, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    st = tx_begin(s, c, err);
    /* The person first, as an erase takes it: then the old probe's row. */
    if (st == RC_OK && g->candidate_person_id) st = lock_person(s, c, g->candidate_person_id, err);
    if (st == RC_OK)
        st = qexec(c, "DELETE FROM sightings WHERE event_id = ?", NULL, err, "i", g->event_id);
    if (st == RC_OK) st = sighting_add_in(s, c, g, jpeg, len, err);
    st = tx_end(c, st, err);
    give(s, c);
    return st;
}

rc_status store_event_probe_release(store *s, int64_t event_id, const char *reason,
                                    int64_t *sighting_id, rc_error *err)
{
    if (!reason || strlen(reason) >= sizeof((store_sighting *)0)->reason)
        return rc_fail(err, RC_ERR_INVALID, "a sighting's reason must be 1 to %zu bytes",
                       sizeof((store_sighting *)0)->reason - 1);
    TAKE(s, c, err);
    int64_t id = 0;
    rc_status st = qint(c, "SELECT id FROM sightings WHERE event_id = ? ORDER BY id DESC LIMIT 1",
                        &id, err, "i", event_id);
    if (st == RC_ERR_NOT_FOUND)
        st = rc_fail(err, st, "event %lld has no kept probe", (long long)event_id);
    if (st == RC_OK)
        st = qexec(c,
                   "UPDATE sightings SET event_id = NULL, candidate_person_id = NULL, reason = ? "
                   "WHERE id = ?",
                   NULL, err, "ti", reason, id);
    give(s, c);
    if (st == RC_OK && sighting_id) *sighting_id = id;
    return st;
}

rc_status store_sighting_purge(store *s, int64_t before_ms, int64_t *removed, rc_error *err)
{
    TAKE(s, c, err);
    int64_t ch = 0;
    rc_status st = qexec(c, "DELETE FROM sightings WHERE ts_ms < ?", &ch, err, "i", before_ms);
    give(s, c);
    if (st == RC_OK && ch > 0) erase_deleted(s);
    if (removed) *removed = ch;
    return st;
}

/* ---- outgoing webhooks and their delivery queue --------------------------- */

/* Is `tok` (n bytes) one of the comma-separated words of `list`? */
static int word_in(const char *list, const char *tok, size_t n)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, tok, n) == 0) return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

static rc_status webhook_valid(store_webhook *w, rc_error *err)
{
    if (!FIELD_OK(w, name) || !FIELD_OK(w, url) || !FIELD_OK(w, events) || !FIELD_OK(w, secret) ||
        !FIELD_OK(w, preset) || !FIELD_OK(w, chat_id))
        return rc_fail(err, RC_ERR_INVALID, "webhook has an unterminated text field");
    size_t scheme = strncasecmp(w->url, "https://", 8) == 0  ? 8
                    : strncasecmp(w->url, "http://", 7) == 0 ? 7
                                                             : 0;
    if (!scheme || !w->url[scheme] || w->url[scheme] == '/')
        return rc_fail(err, RC_ERR_INVALID,
                       "webhook url must be an http:// or https:// URL with a host");
    for (const char *p = w->url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return rc_fail(err, RC_ERR_INVALID,
                           "webhook url must not contain spaces or control characters");
    if (!w->events[0])
        return rc_fail(err, RC_ERR_INVALID, "webhook events: name at least one of %s",
                       STORE_WEBHOOK_KINDS);
    for (const char *p = w->events; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!word_in(STORE_WEBHOOK_KINDS, p, len))
            return rc_fail(err, RC_ERR_INVALID, "webhook event '%.*s' is not one of %s", (int)len,
                           p, STORE_WEBHOOK_KINDS);
        p += len + (e ? 1 : 0);
    }
    if (!w->preset[0]) cp(w->preset, sizeof w->preset, "generic");
    if (strcmp(w->preset, "generic") && strcmp(w->preset, "slack") && strcmp(w->preset, "telegram"))
        return rc_fail(err, RC_ERR_INVALID, "webhook preset '%s' is not generic, slack or telegram",
                       w->preset);
    if (!strcmp(w->preset, "telegram") && !w->chat_id[0])
        return rc_fail(err, RC_ERR_INVALID, "a telegram webhook needs a chat_id");
    if (!w->secret[0]) return rc_fail(err, RC_ERR_INVALID, "a webhook needs a secret");
    return RC_OK;
}

#define WEBHOOK_COLS                                                                               \
    "id, name, url, events, COALESCE(group_id, 0), secret, preset, chat_id, enabled, created_ms, " \
    "updated_ms"
static void row_webhook(db_q *q, void *dst)
{
    store_webhook *w = dst;
    w->id = db_i64(q, 0);
    cp(w->name, sizeof w->name, db_text(q, 1));
    cp(w->url, sizeof w->url, db_text(q, 2));
    cp(w->events, sizeof w->events, db_text(q, 3));
    w->group_id = db_i64(q, 4);
    cp(w->secret, sizeof w->secret, db_text(q, 5));
    cp(w->preset, sizeof w->preset, db_text(q, 6));
    cp(w->chat_id, sizeof w->chat_id, db_text(q, 7));
    w->enabled = (int)db_i64(q, 8);
    w->created_ms = db_i64(q, 9);
    w->updated_ms = db_i64(q, 10);
}

static rc_status webhook_group_err(rc_status st, const store_webhook *w, rc_error *err)
{
    if (st == RC_ERR_NOT_FOUND && w->group_id)
        return rc_fail(err, RC_ERR_INVALID, "no group with id %lld for the webhook",
                       (long long)w->group_id);
    return st;
}

rc_status store_webhook_create(store *s, store_webhook *w, rc_error *err)
{
    rc_status st = webhook_valid(w, err);
    if (st != RC_OK) return st;
    TAKE(s, c, err);
    int64_t now = rc_unix_ms(), id = 0;
    st = qint(c,
              "INSERT INTO webhooks (name, url, events, group_id, secret, preset, chat_id, "
              "enabled, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
              &id, err,
              "tttIttti"
              "ii",
              w->name, w->url, w->events, w->group_id, w->secret, w->preset, w->chat_id,
              (int64_t)(w->enabled != 0), now, now);
    give(s, c);
    if (st != RC_OK) return webhook_group_err(st, w, err);
    w->id = id;
    w->created_ms = w->updated_ms = now;
    return RC_OK;
}

rc_status store_webhook_get(store *s, int64_t id, store_webhook *out, rc_error *err)
{
    return query_one(s, row_webhook, out, err, "webhook", id,
                     "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = ?", "i", id);
}

rc_status store_webhook_update(store *s, store_webhook *w, rc_error *err)
{
    rc_status st = webhook_valid(w, err);
    if (st != RC_OK) return st;
    int64_t ch = 0, now = rc_unix_ms();
    st = query_exec(s,
                    "UPDATE webhooks SET name = ?, url = ?, events = ?, group_id = ?, secret = ?, "
                    "preset = ?, chat_id = ?, enabled = ?, updated_ms = ? WHERE id = ?",
                    &ch, err,
                    "tttIttti"
                    "ii",
                    w->name, w->url, w->events, w->group_id, w->secret, w->preset, w->chat_id,
                    (int64_t)(w->enabled != 0), now, w->id);
    if (st != RC_OK) return webhook_group_err(st, w, err);
    if (ch == 0) return rc_fail(err, RC_ERR_NOT_FOUND, "no webhook with id %lld", (long long)w->id);
    w->updated_ms = now;
    return RC_OK;
}

rc_status store_webhook_delete(store *s, int64_t id, rc_error *err)
{
    return delete_by_id(s, "DELETE FROM webhooks WHERE id = ?", id, "webhook", err);
}

rc_status store_webhook_list(store *s, store_webhook **out, size_t *n, rc_error *err)
{
    return query_list(s, sizeof **out, row_webhook, (void **)out, n, err,
                      "SELECT " WEBHOOK_COLS " FROM webhooks ORDER BY id", "");
}

#define DELIVERY_COLS                                                                              \
    "id, webhook_id, kind, event_id, COALESCE(person_id, 0), payload, status, attempts, next_ms, " \
    "lease_ms, last_http, last_error, created_ms, updated_ms"
static void row_delivery(db_q *q, void *dst)
{
    store_delivery *d = dst;
    d->id = db_i64(q, 0);
    d->webhook_id = db_i64(q, 1);
    cp(d->kind, sizeof d->kind, db_text(q, 2));
    d->event_id = db_i64(q, 3);
    d->person_id = db_i64(q, 4);
    cp(d->payload, sizeof d->payload, db_text(q, 5));
    cp(d->status, sizeof d->status, db_text(q, 6));
    d->attempts = (int)db_i64(q, 7);
    d->next_ms = db_i64(q, 8);
    d->lease_ms = db_i64(q, 9);
    d->last_http = (int)db_i64(q, 10);
    cp(d->last_error, sizeof d->last_error, db_text(q, 11));
    d->created_ms = db_i64(q, 12);
    d->updated_ms = db_i64(q, 13);
}

/* The CASTs tell PostgreSQL the types of parameters in a select list. */
#define ENQUEUE_HEAD                                                                               \
    "INSERT INTO webhook_deliveries (webhook_id, kind, event_id, person_id, payload, next_ms, "    \
    "created_ms, updated_ms) SELECT w.id, CAST(? AS TEXT), CAST(? AS BIGINT), "                    \
    "CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), "                   \
    "CAST(? AS BIGINT) FROM webhooks w WHERE "

static rc_status delivery_args_valid(const char *kind, const char *payload, rc_error *err)
{
    if (!kind || !*kind || strlen(kind) >= sizeof((store_delivery *)0)->kind)
        return rc_fail(err, RC_ERR_INVALID, "a delivery needs a kind of at most %zu characters",
                       sizeof((store_delivery *)0)->kind - 1);
    if (!payload || strlen(payload) >= STORE_PAYLOAD_MAX)
        return too_long(err, "delivery payload", STORE_PAYLOAD_MAX);
    return RC_OK;
}

/* The INSERT ... SELECT behind store_delivery_enqueue, on connection c. */
static rc_status enqueue_in(db_conn *c, const char *kind, const char *also_kind, int64_t person_id,
                            int64_t event_id, const char *payload, int64_t *queued, rc_error *err)
{
    rc_status st = delivery_args_valid(kind, payload, err);
    if (st != RC_OK) return st;
    int64_t now = rc_unix_ms(), ch = 0;
    char p1[48], p2[48];
    snprintf(p1, sizeof p1, "%%,%s,%%", kind);
    snprintf(p2, sizeof p2, "%%,%s,%%", also_kind && *also_kind ? also_kind : kind);
    st = qexec(c,
               ENQUEUE_HEAD
               "w.enabled = 1 AND (',' || w.events || ',' LIKE ? OR ',' || w.events || ',' "
               "LIKE ?) AND (w.group_id IS NULL OR w.group_id IN (SELECT gm.group_id FROM "
               "group_members gm WHERE gm.person_id = ? AND gm.left_ms = 0))",
               &ch, err, "tiItiiitti", kind, event_id, person_id, payload, now, now, now, p1, p2,
               person_id);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "delivery refers to an unknown person %lld", (long long)person_id);
    if (st == RC_OK && queued) *queued = ch;
    return st;
}

rc_status store_delivery_enqueue(store *s, const char *kind, const char *also_kind,
                                 int64_t person_id, int64_t event_id, const char *payload,
                                 int64_t *queued, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = enqueue_in(c, kind, also_kind, person_id, event_id, payload, queued, err);
    give(s, c);
    return st;
}

rc_status store_delivery_enqueue_group(store *s, const char *kind, int64_t group_id,
                                       const char *dedup_key, const char *payload, int64_t *queued,
                                       rc_error *err)
{
    rc_status st = delivery_args_valid(kind, payload, err);
    if (st != RC_OK) return st;
    if (!dedup_key || !*dedup_key || strlen(dedup_key) > 200)
        return rc_fail(err, RC_ERR_INVALID, "a group delivery needs an idempotency key");
    int64_t now = rc_unix_ms(), ch = 0;
    char pat[48];
    snprintf(pat, sizeof pat, "%%,%s,%%", kind);
    TAKE(s, c, err);
    st = qexec(c,
               "INSERT INTO webhook_deliveries (webhook_id, kind, event_id, person_id, payload, "
               "next_ms, created_ms, updated_ms, dedup_key) SELECT w.id, CAST(? AS TEXT), 0, "
               "NULL, CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), "
               "CAST(? AS TEXT) FROM webhooks w WHERE w.enabled = 1 AND ',' || w.events || ',' "
               "LIKE ? AND (w.group_id IS NULL OR w.group_id = ?) "
               "ON CONFLICT (webhook_id, dedup_key) DO NOTHING",
               &ch, err, "ttiiitti", kind, payload, now, now, now, dedup_key, pat, group_id);
    give(s, c);
    if (st == RC_OK && queued) *queued = ch;
    return st;
}

rc_status store_delivery_key_missing(store *s, const char *kind, int64_t group_id,
                                     const char *dedup_key, int64_t *missing, rc_error *err)
{
    char pat[48];
    snprintf(pat, sizeof pat, "%%,%s,%%", kind ? kind : "");
    TAKE(s, c, err);
    rc_status st = qint(c,
                        "SELECT count(*) FROM webhooks w WHERE w.enabled = 1 AND ',' || w.events "
                        "|| ',' LIKE ? AND (w.group_id IS NULL OR w.group_id = ?) AND NOT EXISTS "
                        "(SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND "
                        "d.dedup_key = ?)",
                        missing, err, "tit", pat, group_id, dedup_key ? dedup_key : "");
    give(s, c);
    return st;
}

rc_status store_delivery_enqueue_one(store *s, int64_t webhook_id, const char *kind,
                                     const char *payload, int64_t *id, rc_error *err)
{
    rc_status st = delivery_args_valid(kind, payload, err);
    if (st != RC_OK) return st;
    int64_t now = rc_unix_ms(), got = 0;
    TAKE(s, c, err);
    st = qint(c, ENQUEUE_HEAD "w.id = ? RETURNING id", &got, err, "tiItiiii", kind, (int64_t)0,
              (int64_t)0, payload, now, now, now, webhook_id);
    give(s, c);
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "no webhook with id %lld", (long long)webhook_id);
    if (st == RC_OK && id) *id = got;
    return st;
}
#undef ENQUEUE_HEAD

/* The transactional outbox: queue the deliveries of attendance event e on
 * the connection (and so in the transaction) that has just inserted it.
 * Costs one small SELECT when no webhook is enabled. */
static rc_status outbox_event_in(db_conn *c, const store_event *e, rc_error *err)
{
    int64_t hooks = 0;
    rc_status st = qint(c, "SELECT count(*) FROM webhooks WHERE enabled = 1", &hooks, err, "");
    if (st != RC_OK || hooks == 0) return st;
    char name[128] = "", ext[64] = "", cam[128] = "";
    db_q *q = qprep(c,
                    "SELECT p.name, COALESCE(p.external_id, ''), COALESCE((SELECT k.name FROM "
                    "cameras k WHERE k.id = ?), '') FROM persons p WHERE p.id = ?",
                    err, "ii", e->camera_id, e->person_id);
    if (!q) return err ? err->code : RC_ERR_DB;
    int r = db_step(q, err);
    if (r > 0) {
        cp(name, sizeof name, db_text(q, 0));
        cp(ext, sizeof ext, db_text(q, 1));
        cp(cam, sizeof cam, db_text(q, 2));
    }
    db_done(q);
    if (r < 0) return err ? err->code : RC_ERR_DB;
    char *payload = json_text(json_pack(
        "{s:I, s:s, s:s, s:{s:I, s:s, s:s}, s:I, s:s, s:I, s:s, s:f, s:f, s:s, s:s}", "event_id",
        (json_int_t)e->id, "kind", e->kind, "status", e->status, "person", "id",
        (json_int_t)e->person_id, "name", name, "external_id", ext, "ts_ms", (json_int_t)e->ts_ms,
        "slot_day", e->slot_day, "camera_id", (json_int_t)e->camera_id, "camera", cam, "confidence",
        e->confidence, "liveness", e->liveness, "source", e->source, "reason", e->reason));
    if (!payload) return rc_fail(err, RC_ERR_NOMEM, "out of memory building a webhook payload");
    const char *also =
        !strcmp(e->status, "late") || !strcmp(e->status, "early_leave") ? e->status : NULL;
    st = enqueue_in(c, e->kind, also, e->person_id, e->id, payload, NULL, err);
    free(payload);
    return st;
}

rc_status store_delivery_claim(store *s, int64_t now_ms, int64_t lease, size_t max,
                               store_delivery **out, size_t *n, rc_error *err)
{
    if (max == 0) max = 1;
    /* SQLite serialises writers, so its UPDATE needs no row locks. */
    const char *sql =
        s->kind == STORE_POSTGRES
            ? "UPDATE webhook_deliveries SET lease_ms = ?, attempts = attempts + 1, "
              "updated_ms = ? WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w "
              "ON w.id = d.webhook_id WHERE d.status = 'pending' AND d.next_ms <= ? AND "
              "d.lease_ms <= ? AND w.enabled = 1 ORDER BY d.next_ms, d.id LIMIT ? "
              "FOR UPDATE OF d SKIP LOCKED) RETURNING " DELIVERY_COLS
            : "UPDATE webhook_deliveries SET lease_ms = ?, attempts = attempts + 1, "
              "updated_ms = ? WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w "
              "ON w.id = d.webhook_id WHERE d.status = 'pending' AND d.next_ms <= ? AND "
              "d.lease_ms <= ? AND w.enabled = 1 ORDER BY d.next_ms, d.id LIMIT ?) "
              "RETURNING " DELIVERY_COLS;
    return query_list(s, sizeof **out, row_delivery, (void **)out, n, err, sql, "iiiii",
                      now_ms + lease, now_ms, now_ms, now_ms, (int64_t)max);
}

rc_status store_delivery_finish(store *s, const store_delivery *d, const char *status,
                                int64_t next_ms, int http_status, const char *error, rc_error *err)
{
    if (!status ||
        (strcmp(status, "pending") && strcmp(status, "delivered") && strcmp(status, "dead")))
        return rc_fail(err, RC_ERR_INVALID,
                       "delivery status '%s' is not pending, delivered or dead",
                       status ? status : "");
    char msg[sizeof d->last_error];
    cp(msg, sizeof msg, error); /* a long error is cut, not refused */
    int64_t ch = 0;
    rc_status st = query_exec(s,
                              "UPDATE webhook_deliveries SET status = ?, next_ms = ?, lease_ms = "
                              "0, last_http = ?, last_error = ?, updated_ms = ? WHERE id = ? AND "
                              "lease_ms = ? AND status = 'pending'",
                              &ch, err, "tiitiii", status, next_ms, (int64_t)http_status, msg,
                              rc_unix_ms(), d->id, d->lease_ms);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_CONFLICT,
                       "delivery %lld is no longer claimed by this worker (its lease ran out)",
                       (long long)d->id);
    return st;
}

rc_status store_delivery_get(store *s, int64_t id, store_delivery *out, rc_error *err)
{
    return query_one(s, row_delivery, out, err, "delivery", id,
                     "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE id = ?", "i", id);
}

rc_status store_delivery_list(store *s, int64_t webhook_id, store_page page, store_delivery **out,
                              size_t *n, int64_t *total, rc_error *err)
{
    qb b = {0};
    if (webhook_id) qb_i(&b, "webhook_id = ?", webhook_id);
    return qb_page(s, &b, "SELECT " DELIVERY_COLS " FROM webhook_deliveries", "webhook_deliveries",
                   " ORDER BY id DESC LIMIT ? OFFSET ?", page, sizeof **out, row_delivery,
                   (void **)out, n, total, err);
}

rc_status store_delivery_retry(store *s, int64_t webhook_id, int64_t id, rc_error *err)
{
    store_delivery d;
    rc_status st = store_delivery_get(s, id, &d, err);
    if (st == RC_OK && d.webhook_id != webhook_id) st = RC_ERR_NOT_FOUND;
    if (st == RC_ERR_NOT_FOUND)
        return rc_fail(err, st, "webhook %lld has no delivery %lld", (long long)webhook_id,
                       (long long)id);
    if (st != RC_OK) return st;
    int64_t now = rc_unix_ms(), ch = 0;
    st = query_exec(s,
                    "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_ms = ?, "
                    "lease_ms = 0, updated_ms = ? WHERE id = ? AND status <> 'pending'",
                    &ch, err, "iii", now, now, id);
    if (st == RC_OK && ch == 0)
        return rc_fail(err, RC_ERR_CONFLICT, "delivery %lld is still pending", (long long)id);
    return st;
}

rc_status store_delivery_purge(store *s, int64_t before_ms, int64_t *removed, rc_error *err)
{
    return query_exec(s,
                      "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_ms < ?",
                      removed, err, "i", before_ms);
}

rc_status store_delivery_next_due(store *s, int64_t *when_ms, rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = qint(c,
                        "SELECT COALESCE(MIN(CASE WHEN d.lease_ms > d.next_ms THEN d.lease_ms "
                        "ELSE d.next_ms END), 0) FROM webhook_deliveries d JOIN webhooks w ON "
                        "w.id = d.webhook_id WHERE d.status = 'pending' AND w.enabled = 1",
                        when_ms, err, "");
    give(s, c);
    return st;
}

/* ---- members' correction requests ----------------------------------------- */

#define REQUEST_COLS                                                                               \
    "id, person_id, kind, COALESCE(event_id, 0), event_ts_ms, requested_ms, reason, status, "      \
    "created_ms, created_by, decided_ms, decided_by, note, COALESCE(result_event_id, 0), "         \
    "COALESCE((SELECT p.name FROM persons p WHERE p.id = correction_requests.person_id), '')"
static void row_request(db_q *q, void *dst)
{
    store_request *r = dst;
    r->id = db_i64(q, 0);
    r->person_id = db_i64(q, 1);
    cp(r->kind, sizeof r->kind, db_text(q, 2));
    r->event_id = db_i64(q, 3);
    r->event_ts_ms = db_i64(q, 4);
    r->requested_ms = db_i64(q, 5);
    cp(r->reason, sizeof r->reason, db_text(q, 6));
    cp(r->status, sizeof r->status, db_text(q, 7));
    r->created_ms = db_i64(q, 8);
    cp(r->created_by, sizeof r->created_by, db_text(q, 9));
    r->decided_ms = db_i64(q, 10);
    cp(r->decided_by, sizeof r->decided_by, db_text(q, 11));
    cp(r->note, sizeof r->note, db_text(q, 12));
    r->result_event_id = db_i64(q, 13);
    cp(r->person_name, sizeof r->person_name, db_text(q, 14));
}

/* Characters (UTF-8 code points) of s: the database's length() counts them. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int request_kind_ok(const char *k)
{
    static const char *const kinds[] = {"missing_exit", "missing_entry", "wrong_time", "void"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(k, kinds[i])) return 1;
    return 0;
}

rc_status store_request_create(store *s, store_request *q, int64_t max_pending, rc_error *err)
{
    if (!FIELD_OK(q, kind) || !request_kind_ok(q->kind))
        return rc_fail(err, RC_ERR_INVALID,
                       "kind must be missing_exit, missing_entry, wrong_time or void");
    if (!FIELD_OK(q, reason) || !FIELD_OK(q, created_by) || !q->reason[0] ||
        utf8_chars(q->reason) > STORE_REQUEST_TEXT_MAX)
        return rc_fail(err, RC_ERR_INVALID, "a request needs a reason of 1 to %d characters",
                       STORE_REQUEST_TEXT_MAX);
    int64_t now = rc_unix_ms(), pending = 0, id = 0;
    TAKE(s, c, err);
    rc_status st = tx_begin(s, c, err);
    /* PostgreSQL: the person's row lock makes requests of one person wait
     * for each other between the count and the insert (SQLite's write lock
     * does it for every writer). */
    if (st == RC_OK) st = lock_person(s, c, q->person_id, err);
    if (st == RC_OK)
        st = qint(c,
                  "SELECT count(*) FROM correction_requests WHERE person_id = ? AND status = "
                  "'pending'",
                  &pending, err, "i", q->person_id);
    if (st == RC_OK && pending >= max_pending)
        st = rc_fail(err, RC_ERR_CONFLICT,
                     "there are already %lld requests waiting for a decision (at most %lld)",
                     (long long)pending, (long long)max_pending);
    if (st == RC_OK) {
        st = qint(c,
                  "INSERT INTO correction_requests (person_id, kind, event_id, event_ts_ms, "
                  "requested_ms, reason, status, created_ms, created_by) VALUES (?, ?, ?, ?, ?, ?, "
                  "'pending', ?, ?) RETURNING id",
                  &id, err,
                  "itIiiti"
                  "t",
                  q->person_id, q->kind, q->event_id, q->event_ts_ms, q->requested_ms, q->reason,
                  now, q->created_by);
        /* The only reference that can fail: the person. */
        if (st == RC_ERR_NOT_FOUND)
            st = rc_fail(err, RC_ERR_INVALID, "no person with id %lld", (long long)q->person_id);
    }
    st = tx_end(c, st, err);
    give(s, c);
    if (st != RC_OK) return st;
    q->id = id;
    q->created_ms = now;
    cp(q->status, sizeof q->status, "pending");
    q->decided_ms = q->result_event_id = 0;
    q->decided_by[0] = q->note[0] = 0;
    return RC_OK;
}

rc_status store_request_get(store *s, int64_t id, store_request *out, rc_error *err)
{
    return query_one(s, row_request, out, err, "correction request", id,
                     "SELECT " REQUEST_COLS " FROM correction_requests WHERE id = ?", "i", id);
}

rc_status store_request_list(store *s, const store_request_filter *f, store_page page,
                             store_request **out, size_t *n, int64_t *total, rc_error *err)
{
    qb b = {0};
    if (f) {
        if (f->person_id) qb_i(&b, "person_id = ?", f->person_id);
        if (f->status) qb_t(&b, "status = ?", f->status);
        if (f->scope_user_id) qb_i(&b, "person_id IN " SCOPE_PERSONS, f->scope_user_id);
    }
    return qb_page(s, &b, "SELECT " REQUEST_COLS " FROM correction_requests", "correction_requests",
                   " ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?", page, sizeof **out,
                   row_request, (void **)out, n, total, err);
}

rc_status store_request_count(store *s, int64_t person_id, int64_t since_ms, int64_t *count,
                              rc_error *err)
{
    TAKE(s, c, err);
    rc_status st = qint(c,
                        "SELECT count(*) FROM correction_requests WHERE person_id = ? AND "
                        "created_ms >= ?",
                        count, err, "ii", person_id, since_ms);
    give(s, c);
    return st;
}

rc_status store_request_decide(store *s, int64_t id, const char *from, const char *to,
                               const char *actor, const char *note, int64_t result_event_id,
                               rc_error *err)
{
    if (!note) note = "";
    if (utf8_chars(note) > STORE_REQUEST_TEXT_MAX)
        return rc_fail(err, RC_ERR_INVALID, "a note is at most %d characters",
                       STORE_REQUEST_TEXT_MAX);
    int reopen = !strcmp(to, "pending");
    int64_t ch = 0;
    rc_status st = query_exec(
        s,
        "UPDATE correction_requests SET status = ?, decided_ms = ?, decided_by = ?, note = ?, "
        "result_event_id = ? WHERE id = ? AND status = ?",
        &ch, err, "tittIit", to, reopen ? (int64_t)0 : rc_unix_ms(),
        reopen ? "" : (actor && *actor ? actor : "system"), reopen ? "" : note,
        reopen ? (int64_t)0 : result_event_id, id, from);
    if (st == RC_OK && ch == 0)
        st =
            rc_fail(err, RC_ERR_CONFLICT, "correction request %lld is not %s", (long long)id, from);
    return st;
}
