/*
 * export.c — `rollcall export`: an attendance report for a date range, as
 * CSV (to a file or standard output) or as an XLSX workbook with a Summary
 * and a Detail sheet. Days are judged in the institution's time zone
 * (setting `timezone`), exactly as the server does.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attendance/att.h"
#include "../rc/rc.h"
#include "../store/store.h"
#include "cli.h"

static void export_usage(FILE *out)
{
    fprintf(out, "Usage: rollcall export --from YYYY-MM-DD --to YYYY-MM-DD [OPTIONS]\n\n"
                 "Export attendance (one row per person and scheduled slot, plus days with\n"
                 "events outside any schedule) with present, late, early leave, absent,\n"
                 "first entry, last exit and time on site.\n\n"
                 "Options:\n"
                 "  -f, --from DAY         first day, inclusive (required)\n"
                 "  -t, --to DAY           last day, inclusive (required; at most 366 days)\n"
                 "  -g, --group NAME|ID    only members of this group\n"
                 "  -p, --person CODE|ID   only this person (external id, or numeric id)\n"
                 "  -F, --format FORMAT    csv (default) or xlsx\n"
                 "  -l, --lang LANG        en (default: column names for scripts) or es\n"
                 "                         (Spanish headers and values; CSV with ';' and a\n"
                 "                         UTF-8 byte-order mark, as Spanish Excel expects)\n"
                 "      --separator SEP    CSV separator: comma, semicolon or tab\n"
                 "                         (default: the language's)\n"
                 "      --bom true|false   start the CSV with a UTF-8 byte-order mark\n"
                 "  -o, --output FILE      where to write (default: standard output for csv,\n"
                 "                         attendance-FROM-TO.xlsx for xlsx)\n"
                 "      --db URL           SQLite file or postgres:// URL (default: $ROLLCALL_DB,\n"
                 "                         else DATA/rollcall.db)\n"
                 "  -d, --data DIR         data directory (default ./data)\n"
                 "  -h, --help             show this help\n");
}

/* The numeric value of s, or 0 when it is not a plain positive number. */
static int64_t as_id(const char *s)
{
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return strtoll(s, NULL, 10);
}

static rc_status find_group(store *s, const char *arg, int64_t *id, rc_error *err)
{
    store_group *g = NULL;
    size_t n = 0;
    rc_status st = store_group_list(s, (store_page){.limit = 10000}, &g, &n, NULL, err);
    if (st != RC_OK) return st;
    int64_t num = as_id(arg);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(g[i].name, arg) == 0 || (num && g[i].id == num)) {
            *id = g[i].id;
            free(g);
            return RC_OK;
        }
    }
    free(g);
    return rc_fail(err, RC_ERR_NOT_FOUND, "no group named '%s'", arg);
}

static rc_status find_person(store *s, const char *arg, int64_t *id, rc_error *err)
{
    store_person p;
    rc_error e2;
    if (store_person_get_by_external(s, arg, &p, &e2) == RC_OK) {
        *id = p.id;
        return RC_OK;
    }
    int64_t num = as_id(arg);
    if (num && store_person_get(s, num, &p, &e2) == RC_OK) {
        *id = p.id;
        return RC_OK;
    }
    return rc_fail(err, RC_ERR_NOT_FOUND, "no person with external id or id '%s'", arg);
}

int cli_export(int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *group = NULL, *person = NULL, *format = "csv";
    const char *output = NULL, *db = NULL, *data = "./data", *lang = NULL, *sep = NULL, *bom = NULL;
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"group", required_argument, 0, 'g'},
                                         {"person", required_argument, 0, 'p'},
                                         {"format", required_argument, 0, 'F'},
                                         {"output", required_argument, 0, 'o'},
                                         {"db", required_argument, 0, 'D'},
                                         {"data", required_argument, 0, 'd'},
                                         {"lang", required_argument, 0, 'l'},
                                         {"separator", required_argument, 0, 'S'},
                                         {"bom", required_argument, 0, 'B'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:t:g:p:F:o:d:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'p':
            person = optarg;
            break;
        case 'F':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'D':
            db = optarg;
            break;
        case 'l':
            lang = optarg;
            break;
        case 'S':
            sep = optarg;
            break;
        case 'B':
            bom = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'h':
            export_usage(stdout);
            return 0;
        default:
            export_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall export: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    att_export_opts eopt;
    rc_error oerr;
    if (att_export_parse(lang, sep, bom, &eopt, &oerr) != RC_OK) {
        fprintf(stderr, "rollcall export: %s\n", oerr.msg);
        return 2;
    }
    int64_t d;
    if (!from || !to) {
        fprintf(stderr, "rollcall export: --from and --to are required (YYYY-MM-DD)\n");
        return 2;
    }
    if (att_parse_day(from, &d) || att_parse_day(to, &d)) {
        fprintf(stderr, "rollcall export: dates must be real days as YYYY-MM-DD (got %s, %s)\n",
                from, to);
        return 2;
    }
    int xlsx = strcmp(format, "xlsx") == 0;
    if (!xlsx && strcmp(format, "csv") != 0) {
        fprintf(stderr, "rollcall export: --format must be csv or xlsx, not '%s'\n", format);
        return 2;
    }
    char defname[64];
    if (xlsx && !output) {
        snprintf(defname, sizeof defname, "attendance-%.10s-%.10s.xlsx", from, to);
        output = defname;
    }

    char buf[4096];
    const char *url = cli_db_url(db, data, buf, sizeof buf);
    store *s = NULL;
    att *a = NULL;
    rc_error err;
    att_query q = {.from_day = from, .to_day = to, .now_ms = rc_unix_ms()};
    att_report rep = {0};
    rc_status st = store_open(url, 0, &s, &err);
    if (st == RC_OK) st = att_create(s, &a, &err);
    if (st == RC_OK && group) st = find_group(s, group, &q.group_id, &err);
    if (st == RC_OK && person) st = find_person(s, person, &q.person_id, &err);
    if (st == RC_OK) {
        fprintf(stderr, "building the report for %s to %s ...\n", from, to);
        st = att_report_build(a, &q, &rep, &err);
    }
    if (st == RC_OK) {
        if (xlsx) {
            st = att_export_xlsx(&rep, att_zone(a), &eopt, output, &err);
        } else {
            FILE *out = output ? fopen(output, "w") : stdout;
            if (!out) {
                st = rc_fail(&err, RC_ERR_IO, "cannot write %s", output);
            } else {
                st = att_export_csv(&rep, att_zone(a), &eopt, out, &err);
                if (output && fclose(out) != 0 && st == RC_OK)
                    st = rc_fail(&err, RC_ERR_IO, "cannot finish writing %s", output);
            }
        }
    }
    if (st == RC_OK)
        fprintf(stderr, "exported %zu rows for %zu people (%s) to %s\n", rep.nrows, rep.npeople,
                rep.timezone, output ? output : "standard output");
    else
        fprintf(stderr, "rollcall export: %s\n", err.msg);
    att_report_free(&rep);
    att_destroy(a);
    store_close(s);
    return st == RC_OK ? 0 : 1;
}
