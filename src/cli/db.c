/*
 * db.c — `rollcall db migrate|status|backup|check`: look after the database
 * without starting the server. The database is named by --db (a SQLite file
 * path or a postgres:// URL), else $ROLLCALL_DB, else DATA/rollcall.db with
 * DATA from --data (default ./data), the same file `rollcall serve` uses.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../rc/rc.h"
#include "../store/store.h"
#include "cli.h"

static void db_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall db COMMAND [OPTIONS]\n\n"
                 "Look after the Rollcall database.\n\n"
                 "Commands:\n"
                 "  migrate        apply pending schema migrations (also done by 'serve')\n"
                 "  status         show the schema version and which migrations are applied\n"
                 "  backup FILE    consistent copy of a SQLite database into a new FILE, safe\n"
                 "                 while the server runs (PostgreSQL: prints pg_dump advice)\n"
                 "  check          run the database's integrity check\n\n"
                 "Options:\n"
                 "  --db URL       SQLite file or postgres://user@host/dbname URL\n"
                 "                 (default: $ROLLCALL_DB, else DATA/rollcall.db)\n"
                 "  -d, --data DIR data directory (default ./data)\n"
                 "  -h, --help     show this help\n");
}

const char *cli_db_url(const char *db, const char *data, char *buf, size_t cap)
{
    if (db && *db) return db;
    const char *env = getenv("ROLLCALL_DB");
    if (env && *env) return env;
    snprintf(buf, cap, "%s/rollcall.db", data && *data ? data : "./data");
    return buf;
}

static int is_pg(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

static void fmt_time(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static int db_status(const char *url)
{
    struct stat st;
    if (!is_pg(url) && stat(url, &st) != 0) {
        fprintf(stderr,
                "rollcall db: no database at %s yet; 'rollcall db migrate' or 'rollcall serve' "
                "creates it\n",
                url);
        return 1;
    }
    store *s;
    rc_error err;
    if (store_open(url, STORE_OPEN_NO_MIGRATE, &s, &err) != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    store_migration *m;
    size_t n;
    if (store_migrations(s, &m, &n, &err) != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        store_close(s);
        return 1;
    }
    int current = 0, pending = 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i].applied_ms)
            current = m[i].version;
        else
            pending++;
    }
    printf("database: %s (%s)\n", is_pg(url) ? "postgres" : url, store_backend_name(s));
    printf("schema:   version %d of %d%s\n", current, m[n - 1].version,
           pending ? "" : ", up to date");
    for (size_t i = 0; i < n; i++) {
        char when[64] = "pending";
        if (m[i].applied_ms) fmt_time(m[i].applied_ms, when, sizeof when);
        printf("  %3d  %-28s %s\n", m[i].version, m[i].name, when);
    }
    if (pending)
        printf("%d migration%s pending: run 'rollcall db migrate'\n", pending,
               pending == 1 ? "" : "s");
    free(m);
    store_close(s);
    return 0;
}

static int db_migrate(const char *url)
{
    store *s;
    rc_error err;
    if (store_open(url, STORE_OPEN_NO_MIGRATE, &s, &err) != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    int applied = 0;
    rc_status st = store_migrate(s, &applied, &err);
    store_close(s);
    if (st != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    if (applied)
        printf("applied %d migration%s to %s\n", applied, applied == 1 ? "" : "s",
               is_pg(url) ? "the PostgreSQL database" : url);
    else
        printf("%s is up to date\n", is_pg(url) ? "the PostgreSQL database" : url);
    return 0;
}

static int db_backup(const char *url, const char *file)
{
    if (is_pg(url)) { /* the server's own tool does this best; nothing to open */
        printf("PostgreSQL databases are backed up with the server's tools, consistent while\n"
               "rollcall runs:\n\n"
               "  pg_dump --format=custom --file=%s '%s'\n\n"
               "Restore into an empty database with:\n\n"
               "  pg_restore --dbname='<postgres:// URL>' %s\n",
               file, url, file);
        return 1;
    }
    struct stat st;
    if (stat(url, &st) != 0) {
        fprintf(stderr, "rollcall db: no database at %s to back up\n", url);
        return 1;
    }
    store *s;
    rc_error err;
    if (store_open(url, 0, &s, &err) != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "backing up %s to %s ...\n", url, file);
    double t0 = rc_mono_ms();
    rc_status rs = store_backup(s, file, &err);
    store_close(s);
    if (rs != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    struct stat bs;
    long long size = stat(file, &bs) == 0 ? (long long)bs.st_size : -1;
    printf("backup written to %s (%lld bytes, %.0f ms)\n", file, size, rc_mono_ms() - t0);
    return 0;
}

static int db_check(const char *url)
{
    store *s;
    rc_error err;
    if (store_open(url, STORE_OPEN_NO_MIGRATE, &s, &err) != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    char buf[1024];
    rc_status st = store_check(s, buf, sizeof buf, &err);
    store_close(s);
    if (st != RC_OK) {
        fprintf(stderr, "rollcall db: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", buf);
    return strcmp(buf, "ok") == 0 ? 0 : 1;
}

int cli_db(int argc, char **argv)
{
    const char *db = NULL, *data = "./data";
    static const struct option opts[] = {{"db", required_argument, 0, 'D'},
                                         {"data", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            db = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'h':
            db_usage(stdout);
            return 0;
        default:
            db_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "rollcall db: which command? (migrate, status, backup FILE, check)\n\n");
        db_usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    char buf[4096];
    const char *url = cli_db_url(db, data, buf, sizeof buf);
    int extra = argc - optind - 1;
    if (strcmp(cmd, "backup") == 0) {
        if (extra != 1) {
            fprintf(stderr, "rollcall db backup: give exactly one FILE to write\n");
            return 2;
        }
        return db_backup(url, argv[optind + 1]);
    }
    if (extra != 0) {
        fprintf(stderr, "rollcall db %s: unexpected argument '%s'\n", cmd, argv[optind + 1]);
        return 2;
    }
    if (strcmp(cmd, "migrate") == 0) return db_migrate(url);
    if (strcmp(cmd, "status") == 0) return db_status(url);
    if (strcmp(cmd, "check") == 0) return db_check(url);
    fprintf(stderr, "rollcall db: unknown command '%s' (migrate, status, backup FILE, check)\n",
            cmd);
    return 2;
}
