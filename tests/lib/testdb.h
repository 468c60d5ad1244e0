/*
 * testdb.h — a fresh, empty store for each test case, on whichever backend
 * the test run asks for: PostgreSQL when ROLLCALL_TEST_DB holds a URL (set by
 * tests/lib/pg.sh, which starts a private server; the schema is dropped and
 * recreated so each case starts empty), otherwise a SQLite file in a new
 * temporary directory that testdb_free removes.
 */
#ifndef RC_TESTS_TESTDB_H
#define RC_TESTS_TESTDB_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"

typedef struct {
    char dir[256]; /* SQLite: the temporary directory */
    char url[512]; /* what store_open was given */
    store *s;
} testdb;

/* Run `sql` on the database at url as it is, past the store (to fill a
 * database at an older schema the way an older rollcall did); 0 on success,
 * else the error is printed. */
static inline int testdb_sql(const char *url, const char *sql)
{
    int ok;
    if (strncmp(url, "postgres", 8) == 0) {
        PGconn *pg = PQconnectdb(url);
        PGresult *r = PQexec(pg, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) fprintf(stderr, "testdb_sql: %s\n", PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
    } else {
        sqlite3 *db = NULL;
        char *msg = NULL;
        ok = sqlite3_open(url, &db) == SQLITE_OK &&
             sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
        if (!ok) fprintf(stderr, "testdb_sql: %s\n", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
    }
    return ok ? 0 : -1;
}

/* Empty the PostgreSQL database behind url; 0 on success. */
static inline int testdb_reset_pg(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "testdb: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    /* amcheck lets store_check verify every index (the durability test). */
    PGresult *r = PQexec(pg, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; "
                             "CREATE SCHEMA public; CREATE EXTENSION IF NOT EXISTS amcheck");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "testdb: %s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    return ok ? 0 : -1;
}

static inline int testdb_is_pg(void)
{
    const char *u = getenv("ROLLCALL_TEST_DB");
    return u && *u;
}

/* Prepare an empty database and its URL without opening it; 0 on success. */
static inline int testdb_prepare(testdb *t)
{
    memset(t, 0, sizeof *t);
    const char *u = getenv("ROLLCALL_TEST_DB");
    if (u && *u) {
        snprintf(t->url, sizeof t->url, "%s", u);
        return testdb_reset_pg(u);
    }
    snprintf(t->dir, sizeof t->dir, "/tmp/rollcall-test.XXXXXX");
    if (!mkdtemp(t->dir)) return -1;
    snprintf(t->url, sizeof t->url, "%s/rollcall.db", t->dir);
    return 0;
}

/* An empty, migrated store; NULL (with a message on stderr) on failure. */
static inline store *testdb_open(testdb *t)
{
    if (testdb_prepare(t) != 0) return NULL;
    rc_error err;
    if (store_open(t->url, 0, &t->s, &err) != RC_OK) {
        fprintf(stderr, "testdb: %s\n", err.msg);
        return NULL;
    }
    return t->s;
}

static inline void testdb_free(testdb *t)
{
    store_close(t->s);
    t->s = NULL;
    if (!t->dir[0]) return;
    DIR *d = opendir(t->dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(t->dir);
}

#endif
