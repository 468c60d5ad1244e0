/*
 * store_pg.c — the PostgreSQL driver behind store.c (libpq). Statements are
 * prepared once per connection (PQprepare, named by a counter) and cached by
 * SQL text; the `?` placeholders store.c writes are rewritten to `$n`.
 * Parameters go as text, except blobs, which go in binary; results come back
 * as text and bytea is unescaped on demand. SQLSTATE classes map onto
 * rc_status so callers see the same codes as with SQLite (23505 unique →
 * RC_ERR_CONFLICT, 23503 foreign key → RC_ERR_NOT_FOUND, ...).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_db.h"

#define PG_CACHE  160
#define PG_MAXP   24
#define PG_MAXCOL 64

typedef struct pg_q {
    db_q base;
    struct pg_conn *conn;
    char *key;
    char name[16];
    int nparams;
    char *val[PG_MAXP];
    int len[PG_MAXP];
    int fmt[PG_MAXP];
    PGresult *res;
    int row, nrows;
    int64_t changes;
    unsigned char *blob[PG_MAXCOL];
} pg_q;

typedef struct pg_conn {
    db_conn base;
    PGconn *pg;
    pg_q *cache[PG_CACHE];
    int ncache;
    int counter;
} pg_conn;

static const db_ops pg_ops;

static void quiet_notices(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static rc_status pg_fail(PGconn *pg, const PGresult *res, rc_error *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
    if (!msg || !*msg) msg = PQerrorMessage(pg);
    rc_status code = RC_ERR_DB;
    if (state) {
        if (strcmp(state, "23505") == 0)
            code = RC_ERR_CONFLICT;
        else if (strcmp(state, "23503") == 0)
            code = RC_ERR_NOT_FOUND;
        else if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 ||
                 strncmp(state, "22", 2) == 0)
            code = RC_ERR_INVALID;
        else if (strncmp(state, "08", 2) == 0)
            code = RC_ERR_NET;
    } else if (PQstatus(pg) != CONNECTION_OK) {
        code = RC_ERR_NET;
    }
    /* libpq messages end in a newline; drop it. */
    char buf[400];
    snprintf(buf, sizeof buf, "%s", msg ? msg : "unknown error");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
    return rc_fail(err, code, "postgres: %s: %s", what, buf);
}

rc_status db_pg_connect(const char *url, db_conn **out, rc_error *err)
{
    pg_conn *c = calloc(1, sizeof *c);
    if (!c) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    c->base.ops = &pg_ops;
    c->pg = PQconnectdb(url);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char buf[400];
        snprintf(buf, sizeof buf, "%s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
        size_t n = strlen(buf);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
        PQfinish(c->pg);
        free(c);
        return rc_fail(err, RC_ERR_NET,
                       "cannot connect to PostgreSQL (%s); check the URL, that the server "
                       "runs and accepts this user",
                       buf);
    }
    PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
    PGresult *r = PQexec(c->pg, "SET TIME ZONE 'UTC'");
    PQclear(r);
    *out = &c->base;
    return RC_OK;
}

static void q_reset(pg_q *q)
{
    for (int i = 0; i < PG_MAXP; i++) {
        free(q->val[i]);
        q->val[i] = NULL;
        q->len[i] = 0;
        q->fmt[i] = 0;
    }
    for (int i = 0; i < PG_MAXCOL; i++) {
        PQfreemem(q->blob[i]);
        q->blob[i] = NULL;
    }
    PQclear(q->res);
    q->res = NULL;
    q->row = -1;
    q->nrows = 0;
}

static void pg_close(db_conn *base)
{
    pg_conn *c = (pg_conn *)base;
    if (!c) return;
    for (int i = 0; i < c->ncache; i++) {
        q_reset(c->cache[i]);
        free(c->cache[i]->key);
        free(c->cache[i]);
    }
    PQfinish(c->pg);
    free(c);
}

static rc_status pg_exec(db_conn *base, const char *sql, rc_error *err)
{
    pg_conn *c = (pg_conn *)base;
    char *x = db_expand_ddl(sql, 1);
    if (!x) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    PGresult *r = PQexec(c->pg, x);
    free(x);
    ExecStatusType st = PQresultStatus(r);
    rc_status s = RC_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) s = pg_fail(c->pg, r, err, "exec");
    PQclear(r);
    return s;
}

/* `?` → `$n`; no placeholders ever sit inside string literals in store.c. */
static char *rewrite(const char *sql, int *nparams)
{
    size_t cap = strlen(sql) * 4 + 16;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t o = 0;
    int n = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '?')
            o += (size_t)snprintf(out + o, cap - o, "$%d", ++n);
        else
            out[o++] = *p;
    }
    out[o] = 0;
    *nparams = n;
    return out;
}

static rc_status pg_prepare(db_conn *base, const char *sql, db_q **out, rc_error *err)
{
    pg_conn *c = (pg_conn *)base;
    for (int i = 0; i < c->ncache; i++) {
        if (strcmp(c->cache[i]->key, sql) == 0) {
            q_reset(c->cache[i]);
            *out = &c->cache[i]->base;
            return RC_OK;
        }
    }
    pg_q *q = calloc(1, sizeof *q);
    int np = 0;
    char *x = rewrite(sql, &np);
    if (!q || !x) {
        free(q);
        free(x);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    if (np > PG_MAXP) {
        free(q);
        free(x);
        return rc_fail(err, RC_ERR_INTERNAL, "statement has %d parameters (max %d)", np, PG_MAXP);
    }
    q->base.ops = &pg_ops;
    q->conn = c;
    q->nparams = np;
    q->row = -1;
    snprintf(q->name, sizeof q->name, "rc%d", ++c->counter);
    PGresult *r = PQprepare(c->pg, q->name, x, 0, NULL);
    free(x);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc_status s = pg_fail(c->pg, r, err, "prepare");
        PQclear(r);
        free(q);
        return s;
    }
    PQclear(r);
    q->key = strdup(sql);
    if (!q->key) {
        free(q);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    if (c->ncache < PG_CACHE) {
        c->cache[c->ncache++] = q;
    } else { /* full: drop the oldest (its server-side statement stays) */
        q_reset(c->cache[0]);
        free(c->cache[0]->key);
        free(c->cache[0]);
        memmove(c->cache, c->cache + 1, (PG_CACHE - 1) * sizeof c->cache[0]);
        c->cache[PG_CACHE - 1] = q;
    }
    *out = &q->base;
    return RC_OK;
}

static void set_param(pg_q *q, int i, char *v, int len, int fmt)
{
    if (i < 1 || i > PG_MAXP) {
        free(v);
        return;
    }
    free(q->val[i - 1]);
    q->val[i - 1] = v;
    q->len[i - 1] = len;
    q->fmt[i - 1] = fmt;
}

static void pgb_i64(db_q *q, int i, int64_t v)
{
    char *s = malloc(24);
    if (s) snprintf(s, 24, "%" PRId64, v);
    set_param((pg_q *)q, i, s, 0, 0);
}
static void pgb_f64(db_q *q, int i, double v)
{
    char *s = malloc(32);
    if (s) snprintf(s, 32, "%.17g", v);
    set_param((pg_q *)q, i, s, 0, 0);
}
static void pgb_text(db_q *q, int i, const char *v)
{
    set_param((pg_q *)q, i, v ? strdup(v) : NULL, 0, 0);
}
static void pgb_blob(db_q *q, int i, const void *p, size_t n)
{
    char *v = NULL;
    if (p) {
        v = malloc(n ? n : 1);
        if (v && n) memcpy(v, p, n);
    }
    set_param((pg_q *)q, i, v, (int)n, 1);
}
static void pgb_null(db_q *q, int i)
{
    set_param((pg_q *)q, i, NULL, 0, 0);
}

static int pg_step(db_q *base, rc_error *err)
{
    pg_q *q = (pg_q *)base;
    if (!q->res) {
        q->res = PQexecPrepared(q->conn->pg, q->name, q->nparams, (const char *const *)q->val,
                                q->len, q->fmt, 0);
        ExecStatusType st = PQresultStatus(q->res);
        if (st == PGRES_COMMAND_OK) {
            q->nrows = 0;
            q->changes = strtoll(PQcmdTuples(q->res), NULL, 10);
        } else if (st == PGRES_TUPLES_OK) {
            q->nrows = PQntuples(q->res);
            const char *ct = PQcmdTuples(q->res);
            q->changes = *ct ? strtoll(ct, NULL, 10) : q->nrows;
        } else {
            pg_fail(q->conn->pg, q->res, err, "query");
            return -1;
        }
        q->row = -1;
    }
    for (int i = 0; i < PG_MAXCOL; i++) {
        PQfreemem(q->blob[i]);
        q->blob[i] = NULL;
    }
    if (q->row + 1 >= q->nrows) {
        q->row = q->nrows;
        return 0;
    }
    q->row++;
    return 1;
}

static const char *pgc_text(db_q *base, int c)
{
    pg_q *q = (pg_q *)base;
    if (!q->res || q->row < 0 || q->row >= q->nrows || c >= PQnfields(q->res)) return "";
    return PQgetvalue(q->res, q->row, c);
}
static int pgc_null(db_q *base, int c)
{
    pg_q *q = (pg_q *)base;
    if (!q->res || q->row < 0 || q->row >= q->nrows || c >= PQnfields(q->res)) return 1;
    return PQgetisnull(q->res, q->row, c);
}
static int64_t pgc_i64(db_q *q, int c)
{
    const char *t = pgc_text(q, c);
    if (t[0] == 't') return 1; /* booleans */
    return strtoll(t, NULL, 10);
}
static double pgc_f64(db_q *q, int c)
{
    return strtod(pgc_text(q, c), NULL);
}
static const void *pgc_blob(db_q *base, int c, size_t *n)
{
    pg_q *q = (pg_q *)base;
    *n = 0;
    if (pgc_null(base, c) || c >= PG_MAXCOL) return NULL;
    PQfreemem(q->blob[c]);
    q->blob[c] = PQunescapeBytea((const unsigned char *)pgc_text(base, c), n);
    return q->blob[c];
}
static void pg_done(db_q *q)
{
    q_reset((pg_q *)q);
}
static int64_t pg_changes(db_q *q)
{
    return ((pg_q *)q)->changes;
}
/* Drain notifications already received; 1 if there were any. */
static int drain(PGconn *pg)
{
    int got = 0;
    PGnotify *n;
    while ((n = PQnotifies(pg))) {
        PQfreemem(n);
        got = 1;
    }
    return got;
}

static int pg_wait(db_conn *base, int timeout_ms, rc_error *err)
{
    PGconn *pg = ((pg_conn *)base)->pg;
    if (!PQconsumeInput(pg)) {
        pg_fail(pg, NULL, err, "listen");
        return -1;
    }
    if (drain(pg)) return 1;
    struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0) {
        if (errno == EINTR) return 0;
        rc_fail(err, RC_ERR_IO, "waiting for PostgreSQL notifications: %s", strerror(errno));
        return -1;
    }
    if (r == 0) return 0;
    if (!PQconsumeInput(pg)) {
        pg_fail(pg, NULL, err, "listen");
        return -1;
    }
    return drain(pg);
}

static int pg_broken(db_conn *c)
{
    return PQstatus(((pg_conn *)c)->pg) != CONNECTION_OK;
}

static const db_ops pg_ops = {
    .name = "postgres",
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_i64 = pgb_i64,
    .bind_f64 = pgb_f64,
    .bind_text = pgb_text,
    .bind_blob = pgb_blob,
    .bind_null = pgb_null,
    .step = pg_step,
    .col_i64 = pgc_i64,
    .col_f64 = pgc_f64,
    .col_text = pgc_text,
    .col_blob = pgc_blob,
    .col_null = pgc_null,
    .done = pg_done,
    .changes = pg_changes,
    .wait_notify = pg_wait,
    .broken = pg_broken,
};
