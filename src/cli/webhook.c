/*
 * webhook.c — `rollcall webhook list|add|delete|test|deliveries`: outgoing
 * webhooks from the command line, with the API's rules (store validation,
 * the secret shown once, URLs shown without credentials or tokens). Queued
 * deliveries are sent by whichever `rollcall serve` uses the database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../notify/notify.h"
#include "../store/store.h"
#include "cli.h"

static void webhook_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall webhook COMMAND [OPTIONS]\n\n"
            "Outgoing webhooks (the server sends what is queued).\n\n"
            "Commands:\n"
            "  list                    the webhooks (secrets never shown)\n"
            "  add URL --events LIST   create one; prints its secret once\n"
            "  delete ID               delete one with its deliveries\n"
            "  test ID                 queue a test delivery\n"
            "  deliveries ID           its latest deliveries with their status\n\n"
            "Options:\n"
            "  -d, --data DIR          data directory (default ./data)\n"
            "      --db URL            database (default $ROLLCALL_DB, else DATA/rollcall.db)\n"
            "  -e, --events LIST       comma-separated: %s\n"
            "  -n, --name NAME         a name to recognise it by\n"
            "      --preset P          generic (default), slack or telegram\n"
            "      --chat-id ID        telegram: the chat to send to\n"
            "      --group ID          only about members of this group\n"
            "      --secret S          the signing secret (16+ characters; default: made)\n"
            "  -h, --help              show this help\n",
            STORE_WEBHOOK_KINDS);
}

static int list(store *db)
{
    store_webhook *ws = NULL;
    size_t n = 0;
    rc_error err;
    if (store_webhook_list(db, &ws, &n, &err) != RC_OK) {
        fprintf(stderr, "rollcall webhook list: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char shown[1100];
        notify_url_display(&ws[i], shown, sizeof shown);
        printf("%-5lld %-8s %-9s %-30s %s  %s\n", (long long)ws[i].id,
               ws[i].enabled ? "enabled" : "disabled", ws[i].preset, ws[i].events, shown,
               ws[i].name);
    }
    if (!n) printf("no webhooks\n");
    free(ws);
    return 0;
}

static int deliveries(store *db, int64_t id)
{
    store_delivery *ds = NULL;
    size_t n = 0;
    int64_t total = 0;
    rc_error err;
    store_webhook w;
    if (store_webhook_get(db, id, &w, &err) != RC_OK ||
        store_delivery_list(db, id, (store_page){20, 0}, &ds, &n, &total, &err) != RC_OK) {
        fprintf(stderr, "rollcall webhook deliveries: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%-7lld %-12s %-9s attempts %d  http %d  %s\n", (long long)ds[i].id, ds[i].kind,
               ds[i].status, ds[i].attempts, ds[i].last_http, ds[i].last_error);
    printf("%zu of %lld deliveries\n", n, (long long)total);
    free(ds);
    return 0;
}

int cli_webhook(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},   {"db", required_argument, 0, 'D'},
        {"events", required_argument, 0, 'e'}, {"name", required_argument, 0, 'n'},
        {"preset", required_argument, 0, 'p'}, {"chat-id", required_argument, 0, 'c'},
        {"group", required_argument, 0, 'g'},  {"secret", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *data = "./data", *db_url = NULL;
    store_webhook w = {.enabled = 1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:e:n:h", opts, NULL)) != -1) {
        const char *field = NULL;
        size_t cap = 0;
        char *dst = NULL;
        switch (c) {
        case 'd':
            data = optarg;
            continue;
        case 'D':
            db_url = optarg;
            continue;
        case 'g':
            w.group_id = atoll(optarg);
            if (w.group_id <= 0) {
                fprintf(stderr, "rollcall webhook: --group takes a group id\n");
                return 2;
            }
            continue;
        case 'h':
            webhook_usage(stdout);
            return 0;
        case 'e':
            field = "--events", dst = w.events, cap = sizeof w.events;
            break;
        case 'n':
            field = "--name", dst = w.name, cap = sizeof w.name;
            break;
        case 'p':
            field = "--preset", dst = w.preset, cap = sizeof w.preset;
            break;
        case 'c':
            field = "--chat-id", dst = w.chat_id, cap = sizeof w.chat_id;
            break;
        case 's':
            field = "--secret", dst = w.secret, cap = sizeof w.secret;
            break;
        default:
            webhook_usage(stderr);
            return 2;
        }
        if (strlen(optarg) >= cap) {
            fprintf(stderr, "rollcall webhook: %s is too long (at most %zu characters)\n", field,
                    cap - 1);
            return 2;
        }
        memcpy(dst, optarg, strlen(optarg) + 1);
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    static const char *const cmds[] = {"list", "add", "delete", "test", "deliveries"};
    int which = -1;
    for (int i = 0; cmd && i < 5; i++)
        if (!strcmp(cmd, cmds[i])) which = i;
    if (which < 0) {
        fprintf(stderr,
                "rollcall webhook: %s command '%s' (list, add, delete, test or deliveries)\n",
                cmd ? "unknown" : "which", cmd ? cmd : "?");
        return 2;
    }
    int64_t id = which >= 2 && arg ? atoll(arg) : 0;
    if (which >= 2 && id <= 0) {
        fprintf(stderr, "rollcall webhook %s: give the webhook's id (see rollcall webhook list)\n",
                cmd);
        return 2;
    }
    if (which == 1 && (!arg || strlen(arg) >= sizeof w.url)) {
        fprintf(stderr, "rollcall webhook add: give the URL to send to\n");
        return 2;
    }
    if (which == 1 && w.secret[0] && strlen(w.secret) < 16) {
        fprintf(stderr, "rollcall webhook add: --secret must be at least 16 characters\n");
        return 2;
    }
    char def_url[4096];
    db_url = cli_db_url(db_url, data, def_url, sizeof def_url);
    rc_error err;
    store *db;
    if (store_open(db_url, 0, &db, &err) != RC_OK) {
        fprintf(stderr, "rollcall webhook: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    rc_status st = RC_OK;
    int64_t delivery = 0;
    switch (which) {
    case 0:
        rc = list(db);
        break;
    case 1:
        memcpy(w.url, arg, strlen(arg) + 1);
        if (!w.secret[0]) {
            unsigned char raw[32];
            char hex[65];
            randombytes_buf(raw, sizeof raw);
            sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
            snprintf(w.secret, sizeof w.secret, "whsec_%s", hex);
        }
        st = store_webhook_create(db, &w, &err);
        if (st == RC_OK)
            printf("Created webhook %lld. Its signing secret (shown only now):\n%s\n",
                   (long long)w.id, w.secret);
        break;
    case 2:
        st = store_webhook_delete(db, id, &err);
        if (st == RC_OK) printf("Deleted webhook %lld\n", (long long)id);
        break;
    case 3:
        st = notify_test(db, id, &delivery, &err);
        if (st == RC_OK)
            printf("Queued test delivery %lld (a running rollcall serve sends it)\n",
                   (long long)delivery);
        break;
    default:
        rc = deliveries(db, id);
        break;
    }
    if (st != RC_OK) {
        fprintf(stderr, "rollcall webhook %s: %s\n", cmd, err.msg);
        rc = 1;
    }
    store_close(db);
    return rc;
}
