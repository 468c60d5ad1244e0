/*
 * user.c — `rollcall user add|passwd|unlock|list`: manage login accounts from
 * the command line (for the first admin, for a forgotten password, for an
 * account locked by failed logins, for scripts). A new password ends the
 * account's sessions and lifts its lock-out, as in the server.
 * Passwords are hashed with argon2id exactly as the server does; a password
 * not given with --password is read from the first line of standard input
 * with --password-stdin, or else generated and printed once.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../http/http.h"
#include "../store/store.h"
#include "cli.h"

static void user_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall user COMMAND [OPTIONS]\n\n"
            "Manage login accounts.\n\n"
            "Commands:\n"
            "  add EMAIL [--name NAME] [--role ROLE]   create an account (role admin, manager,\n"
            "                                          member, device or auditor; default\n"
            "                                          member)\n"
            "  passwd EMAIL                            set a new password (ends the account's\n"
            "                                          sessions and lifts its lock-out)\n"
            "  unlock EMAIL                            forget the account's failed logins, so\n"
            "                                          no address has to wait any more\n"
            "  list                                    list the accounts\n\n"
            "Options:\n"
            "  -d, --data DIR          data directory (default ./data)\n"
            "      --db URL            database (default $ROLLCALL_DB, else DATA/rollcall.db)\n"
            "  -n, --name NAME         display name (add; default: the part before @)\n"
            "  -r, --role ROLE         role (add)\n"
            "  -p, --password PW       the password (visible in the process list: prefer\n"
            "                          --password-stdin)\n"
            "      --password-stdin    read the password from the first line of stdin\n"
            "  -h, --help              show this help\n\n"
            "Without a password option a random one is generated and printed once.\n");
}

static bool get_password(const char *given, bool from_stdin, char *buf, size_t cap, bool *generated)
{
    *generated = false;
    if (given) {
        snprintf(buf, cap, "%s", given);
    } else if (from_stdin) {
        if (!fgets(buf, (int)cap, stdin)) {
            fprintf(stderr, "rollcall user: --password-stdin: nothing on standard input\n");
            return false;
        }
        buf[strcspn(buf, "\r\n")] = 0;
    } else {
        char hex[33];
        unsigned char raw[16];
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(raw, 1, sizeof raw, f) != sizeof raw) {
            if (f) fclose(f);
            fprintf(stderr, "rollcall user: cannot read /dev/urandom\n");
            return false;
        }
        fclose(f);
        for (size_t i = 0; i < sizeof raw; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        snprintf(buf, cap, "%s", hex);
        *generated = true;
    }
    if (strlen(buf) < 8) {
        fprintf(stderr, "rollcall user: the password must have at least 8 characters\n");
        return false;
    }
    return true;
}

int cli_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},     {"db", required_argument, 0, 'D'},
        {"name", required_argument, 0, 'n'},     {"role", required_argument, 0, 'r'},
        {"password", required_argument, 0, 'p'}, {"password-stdin", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *data = "./data", *db_url = NULL, *name = NULL, *role = "member", *password = NULL;
    bool pw_stdin = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:n:r:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'D':
            db_url = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'p':
            password = optarg;
            break;
        case 'P':
            pw_stdin = true;
            break;
        case 'h':
            user_usage(stdout);
            return 0;
        default:
            user_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "rollcall user: which command? (add, passwd, unlock or list)\n\n");
        user_usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    const char *email = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool is_add = strcmp(cmd, "add") == 0, is_pw = strcmp(cmd, "passwd") == 0,
         is_list = strcmp(cmd, "list") == 0, is_unlock = strcmp(cmd, "unlock") == 0;
    if (!is_add && !is_pw && !is_list && !is_unlock) {
        fprintf(stderr, "rollcall user: unknown command '%s' (add, passwd, unlock or list)\n", cmd);
        return 2;
    }
    if ((is_add || is_pw || is_unlock) && (!email || !strchr(email, '@'))) {
        fprintf(stderr, "rollcall user %s: give the account's e-mail address\n", cmd);
        return 2;
    }
    if (is_add && strcmp(role, "admin") != 0 && strcmp(role, "manager") != 0 &&
        strcmp(role, "member") != 0 && strcmp(role, "device") != 0 &&
        strcmp(role, "auditor") != 0) {
        fprintf(stderr,
                "rollcall user add: --role must be admin, manager, member, device or auditor\n");
        return 2;
    }
    char def_url[4096];
    db_url = cli_db_url(db_url, data, def_url, sizeof def_url);
    rc_error err;
    store *db;
    if (store_open(db_url, 0, &db, &err) != RC_OK) {
        fprintf(stderr, "rollcall user: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (is_list) {
        store_user *us = NULL;
        size_t n = 0;
        int64_t total = 0;
        if (store_user_list(db, (store_page){10000, 0}, &us, &n, &total, &err) != RC_OK) {
            fprintf(stderr, "rollcall user list: %s\n", err.msg);
            rc = 1;
        } else {
            printf("%-5s %-32s %-8s %-7s %s\n", "ID", "EMAIL", "ROLE", "ACTIVE", "NAME");
            for (size_t i = 0; i < n; i++)
                printf("%-5lld %-32s %-8s %-7s %s\n", (long long)us[i].id, us[i].email, us[i].role,
                       us[i].active ? "yes" : "no", us[i].name);
            printf("%lld account(s)\n", (long long)total);
        }
        free(us);
        store_close(db);
        return rc;
    }
    if (is_unlock) {
        store_user u;
        int64_t fails = 0;
        rc_status st = store_user_get_by_email(db, email, &u, &err);
        if (st == RC_OK) st = store_login_failure_count(db, email, NULL, 0, &fails, &err);
        if (st == RC_OK) st = store_login_failure_clear(db, email, NULL, &err);
        if (st == RC_OK) {
            store_audit_add(db, "rollcall user", "user.unlock", "user", u.id, "{}", NULL);
            printf("Unlocked %s (%lld failed login(s) forgotten)\n", email, (long long)fails);
        } else {
            fprintf(stderr, "rollcall user unlock: %s\n", err.msg);
        }
        store_close(db);
        return st == RC_OK ? 0 : 1;
    }
    char pw[1024];
    bool generated;
    if (!get_password(password, pw_stdin, pw, sizeof pw, &generated)) {
        store_close(db);
        return 2;
    }
    store_user u = {.active = 1};
    if (is_pw && store_user_get_by_email(db, email, &u, &err) != RC_OK) {
        fprintf(stderr, "rollcall user passwd: %s\n", err.msg);
        store_close(db);
        return 1;
    }
    if (http_password_hash(pw, u.pass_hash, sizeof u.pass_hash, &err) != RC_OK) {
        fprintf(stderr, "rollcall user: %s\n", err.msg);
        store_close(db);
        return 1;
    }
    rc_status st;
    if (is_add) {
        if (strlen(email) >= sizeof u.email) {
            fprintf(stderr, "rollcall user add: the e-mail address is too long\n");
            store_close(db);
            return 2;
        }
        snprintf(u.email, sizeof u.email, "%s", email);
        if (name)
            snprintf(u.name, sizeof u.name, "%.*s", (int)sizeof u.name - 1, name);
        else
            snprintf(u.name, sizeof u.name, "%.*s", (int)(strchr(email, '@') - email), email);
        snprintf(u.role, sizeof u.role, "%s", role);
        st = store_user_create(db, &u, &err);
        if (st == RC_OK)
            store_audit_add(db, "rollcall user", "user.create", "user", u.id, "{}", NULL);
    } else {
        st = store_user_update(db, &u, &err);
        if (st == RC_OK) st = store_session_delete_user(db, u.id, &err);
        if (st == RC_OK) st = store_login_failure_clear(db, u.email, NULL, &err);
        if (st == RC_OK)
            store_audit_add(db, "rollcall user", "user.passwd", "user", u.id, "{}", NULL);
    }
    if (st != RC_OK) {
        fprintf(stderr, "rollcall user %s: %s\n", cmd,
                st == RC_ERR_CONFLICT ? "an account with that e-mail already exists" : err.msg);
        rc = 1;
    } else {
        printf("%s %s (%s)\n", is_add ? "Created" : "New password for", u.email, u.role);
        if (generated) printf("Password (shown once): %s\n", pw);
    }
    store_close(db);
    return rc;
}
