/*
 * enroll.c — `rollcall enroll` (photos for one person) and `rollcall import`
 * (a folder with one sub-folder of photos per person, and an optional
 * roster.csv naming them). Both go through recog_enroll, the policy the
 * server applies to uploads: quality and size, one face per photo, no face
 * of another enrolled person, one person per upload, and no person created
 * unless a photo was accepted. Progress is printed one line per photo.
 */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../attendance/att.h"
#include "../rc/rc.h"
#include "../recog/recog.h"
#include "../store/store.h"
#include "cli.h"
#include "face_util.h"

#define MAX_PHOTO (40u << 20) /* bytes read per photo */

/* What both commands open: the database, the rules (for the thresholds) and
 * the recognition service. */
typedef struct {
    store *db;
    att *rules;
    recog *rg;
} session;

/* The options enroll and import share. */
typedef struct {
    const char *db_url, *data, *models;
    bool consent;
} common_opts;

static int session_open(const char *cmd, const common_opts *co, session *s)
{
    memset(s, 0, sizeof *s);
    char buf[4096];
    const char *url = cli_db_url(co->db_url, co->data, buf, sizeof buf);
    const char *models = co->models;
    rc_error err;
    if (store_open(url, 0, &s->db, &err) != RC_OK || att_create(s->db, &s->rules, &err) != RC_OK) {
        fprintf(stderr, "rollcall %s: %s\n", cmd, err.msg);
        if (s->db) store_close(s->db);
        return 1;
    }
    models = cli_models_dir(models);
    recog_config rc = {.models_dir = models, .store = s->db, .att = s->rules};
    if (recog_create(&rc, &s->rg, &err) != RC_OK) {
        fprintf(stderr, "rollcall %s: cannot load the face models from %s: %s\n", cmd, models,
                err.msg);
        att_destroy(s->rules);
        store_close(s->db);
        return 1;
    }
    return 0;
}

static void session_close(session *s)
{
    recog_destroy(s->rg);
    att_destroy(s->rules);
    store_close(s->db);
}

/* Photos read into memory for one recog_enroll call. */
typedef struct {
    recog_image *img;
    unsigned char **data;
    char **names;
    size_t n, cap;
} photo_set;

static void photos_free(photo_set *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->data[i]);
        free(ps->names[i]);
    }
    free(ps->img);
    free(ps->data);
    free(ps->names);
    memset(ps, 0, sizeof *ps);
}

/* Add a photo (read now); a file that cannot be read is still added, empty,
 * so the policy reports it with the others. */
static int photos_add(photo_set *ps, const char *path, const char *shown)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        recog_image *ni = realloc(ps->img, cap * sizeof *ni);
        if (ni) ps->img = ni;
        unsigned char **nd = realloc(ps->data, cap * sizeof *nd);
        if (nd) ps->data = nd;
        char **nn = realloc(ps->names, cap * sizeof *nn);
        if (nn) ps->names = nn;
        if (!ni || !nd || !nn) return -1;
        ps->cap = cap;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    rc_error err;
    if (rc_read_file(path, MAX_PHOTO, &buf, &len, &err) != RC_OK) {
        fprintf(stderr, "  %s: %s\n", shown, err.msg);
        buf = NULL;
        len = 0;
    }
    ps->data[ps->n] = buf;
    ps->names[ps->n] = strdup(shown);
    ps->img[ps->n] = (recog_image){buf, len, ps->names[ps->n]};
    ps->n++;
    return 0;
}

/* One line per photo; returns how many were accepted. */
static void print_results(const photo_set *ps, const recog_enroll_result *res, size_t done,
                          size_t total)
{
    for (size_t i = 0; i < ps->n; i++) {
        const recog_enroll_result *e = &res[i];
        if (e->accepted)
            printf("[%zu/%zu] %s: accepted (face %lld)\n", done + i + 1, total, ps->names[i],
                   (long long)e->face_id);
        else
            printf("[%zu/%zu] %s: refused (%s): %s\n", done + i + 1, total, ps->names[i],
                   e->code ? e->code : "?", e->reason);
    }
    fflush(stdout);
}

static rc_status enroll_set(session *s, int64_t person_id, const store_person *np,
                            const photo_set *ps, bool allow_dup, bool consent,
                            recog_enroll_result *res, recog_enroll_summary *sum, rc_error *err)
{
    recog_enroll_req req = {.person_id = person_id,
                            .new_person = np,
                            .images = ps->img,
                            .n = ps->n,
                            .allow_duplicate = allow_dup,
                            .consent = consent,
                            .actor = "cli"};
    return recog_enroll(s->rg, &req, res, sum, err);
}

/* The help lines of the options enroll and import share. */
#define COMMON_HELP                                                                                \
    "      --db URL          SQLite file or postgres:// URL (default: $ROLLCALL_DB,\n"             \
    "                        else DATA/rollcall.db)\n"                                             \
    "  -d, --data DIR        data directory (default ./data)\n"                                    \
    "  -m, --models DIR      ONNX models (default $ROLLCALL_MODELS or ./models)\n"                 \
    "  -h, --help            show this help\n\n"                                                   \
    "Exit status: 0 when a photo was accepted, 1 when none was (or on errors),\n"                  \
    "2 on bad usage.\n"

/* ---- rollcall enroll ------------------------------------------------------ */

static void enroll_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall enroll --person CODE [OPTIONS] IMG...\n\n"
            "Enroll photos of one person with the server's policy: each photo must show\n"
            "one clear face of good quality and enough size, must not match a different\n"
            "enrolled person (duplicate_identity), and the photos must show one person\n"
            "(different_people). One line per photo says accepted or why not.\n\n"
            "Options:\n"
            "  -p, --person CODE     the person's external id (student code, employee id)\n"
            "  -n, --name \"FIRST LAST\" create the person with this name if CODE is new\n"
            "                        (only when a photo is accepted)\n"
            "      --allow-duplicate enroll even a face that matches another person (audited)\n"
            "      --consent         record the person's consent now if none is "
            "recorded\n" COMMON_HELP);
}

enum { OPT_DB = 256, OPT_ALLOW_DUP, OPT_CONSENT };

#define COMMON_LONG_OPTS                                                                           \
    {"consent", no_argument, 0, OPT_CONSENT}, {"db", required_argument, 0, OPT_DB},                \
        {"data", required_argument, 0, 'd'}, {"models", required_argument, 0, 'm'},                \
        {"help", no_argument, 0, 'h'},                                                             \
    {                                                                                              \
        0, 0, 0, 0                                                                                 \
    }

/* Take a shared option; false when c is not one. */
static bool common_opt(int c, common_opts *o)
{
    switch (c) {
    case OPT_CONSENT:
        o->consent = true;
        return true;
    case OPT_DB:
        o->db_url = optarg;
        return true;
    case 'd':
        o->data = optarg;
        return true;
    case 'm':
        o->models = optarg;
        return true;
    default:
        return false;
    }
}

int cli_enroll(int argc, char **argv)
{
    const char *person = NULL, *name = NULL;
    bool allow_dup = false;
    common_opts co = {.data = "./data"};
    static const struct option opts[] = {{"person", required_argument, 0, 'p'},
                                         {"name", required_argument, 0, 'n'},
                                         {"allow-duplicate", no_argument, 0, OPT_ALLOW_DUP},
                                         COMMON_LONG_OPTS};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:n:d:m:h", opts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        if (c == 'p') {
            person = optarg;
        } else if (c == 'n') {
            name = optarg;
        } else if (c == OPT_ALLOW_DUP) {
            allow_dup = true;
        } else {
            enroll_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (!person || !*person) {
        fprintf(stderr, "rollcall enroll: --person CODE is required\n");
        enroll_usage(stderr);
        return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "rollcall enroll: give one or more photos to enroll\n");
        enroll_usage(stderr);
        return 2;
    }
    if (!rc_utf8_valid(person, strlen(person)) || (name && !rc_utf8_valid(name, strlen(name)))) {
        fprintf(stderr, "rollcall enroll: --person and --name must be UTF-8 text\n");
        return 2;
    }
    session s;
    if (session_open("enroll", &co, &s) != 0) return 1;
    store_person p, np = {.active = 1};
    rc_error err;
    rc_status st = store_person_get_by_external(s.db, person, &p, &err);
    if (st == RC_ERR_NOT_FOUND && !name) {
        fprintf(stderr,
                "rollcall enroll: there is no person with code '%s' (create it first, or give "
                "--name \"FIRST LAST\" to create it here)\n",
                person);
        session_close(&s);
        return 1;
    }
    if (st != RC_OK && st != RC_ERR_NOT_FOUND) {
        fprintf(stderr, "rollcall enroll: %s\n", err.msg);
        session_close(&s);
        return 1;
    }
    bool found = st == RC_OK;
    if (!found) {
        snprintf(np.external_id, sizeof np.external_id, "%s", person);
        snprintf(np.name, sizeof np.name, "%s", name);
        snprintf(np.kind, sizeof np.kind, "other");
    }
    photo_set ps = {0};
    for (int i = optind; i < argc; i++)
        if (photos_add(&ps, argv[i], argv[i]) != 0) {
            fprintf(stderr, "rollcall enroll: out of memory\n");
            photos_free(&ps);
            session_close(&s);
            return 1;
        }
    printf("Enrolling %zu photo(s) for %s\n", ps.n, found ? p.name : np.name);
    fflush(stdout);
    recog_enroll_result *res = calloc(ps.n, sizeof *res);
    recog_enroll_summary sum = {0};
    st = res ? enroll_set(&s, found ? p.id : 0, found ? NULL : &np, &ps, allow_dup, co.consent, res,
                          &sum, &err)
             : rc_fail(&err, RC_ERR_NOMEM, "out of memory");
    int rc = 1;
    if (st != RC_OK) {
        fprintf(stderr, "rollcall enroll: %s\n", err.msg);
    } else {
        print_results(&ps, res, 0, ps.n);
        printf("%d of %zu photo(s) accepted%s\n", sum.accepted, ps.n,
               sum.created ? "; person created" : "");
        rc = sum.accepted ? 0 : 1;
    }
    free(res);
    photos_free(&ps);
    session_close(&s);
    return rc;
}

/* ---- rollcall import ------------------------------------------------------ */

static void import_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall import [OPTIONS] DIR\n\n"
            "Enroll a dataset: DIR holds one folder per person, named with the person's\n"
            "code (external id), with their photos (.jpg, .jpeg, .png). People who do not\n"
            "exist are created, named from DIR/roster.csv when it lists them (else after\n"
            "the folder), and only when one of their photos is accepted. The server's\n"
            "enrollment policy applies to every photo; one line per photo says accepted\n"
            "or why not.\n\n"
            "roster.csv (optional, UTF-8, comma-separated, a header line allowed):\n"
            "  code,first name,last name,kind,group\n"
            "  kind is free text (student, teacher, employee...); group is created if new\n"
            "  and the person is added to it.\n\n"
            "Options:\n"
            "      --consent         record consent now for people who have none\n" COMMON_HELP);
}

typedef struct {
    char code[64], first[64], last[64], kind[32], group[128];
} roster_row;

/* Split one CSV line into at most `max` fields (quotes with "" escapes);
 * returns how many, -1 when a quote is left open. Fields point into line. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return n;
        while (*p == ' ' || *p == '\t') p++;
        char *out = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p && *p != ',') p++;
        } else {
            while (*p && *p != ',') *out++ = *p++;
            while (out > start && (out[-1] == ' ' || out[-1] == '\t')) out--;
        }
        bool more = *p == ',';
        *out = 0;
        f[n++] = start;
        if (!more) return n;
        p++;
    }
}

/* Read DIR/roster.csv (missing is fine: *n = 0). Errors name the line. */
static int roster_read(const char *dir, roster_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/roster.csv", dir);
    unsigned char *text = NULL;
    size_t len = 0;
    rc_error err;
    if (rc_read_file(path, 64u << 20, &text, &len, &err) != RC_OK) {
        if (err.code == RC_ERR_NOT_FOUND) return 0;
        struct stat sb;
        if (stat(path, &sb) != 0) return 0;
        fprintf(stderr, "rollcall import: %s\n", err.msg);
        return -1;
    }
    if (!rc_utf8_valid(text, len)) {
        fprintf(stderr, "rollcall import: %s is not UTF-8 text (save it as UTF-8)\n", path);
        free(text);
        return -1;
    }
    char *p = (char *)text;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* BOM */
    size_t cap = 0;
    int line_no = 0, rc = 0;
    while (p && *p && rc == 0) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        line_no++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = 0;
        char *f[5] = {0};
        int nf = *p ? csv_split(p, f, 5) : 0;
        bool header = line_no == 1 && nf > 0 && strcasecmp(f[0], "code") == 0;
        if (nf < 0) {
            fprintf(stderr, "rollcall import: %s line %d: a quoted field is not closed\n", path,
                    line_no);
            rc = -1;
        } else if (nf > 0 && !header && *f[0]) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                roster_row *nr = realloc(*rows, cap * sizeof *nr);
                if (!nr) {
                    rc = -1;
                    break;
                }
                *rows = nr;
            }
            roster_row *r = &(*rows)[(*n)++];
            memset(r, 0, sizeof *r);
            const struct {
                char *dst;
                size_t cap;
                const char *what;
            } cols[] = {{r->code, sizeof r->code, "code"},
                        {r->first, sizeof r->first, "first name"},
                        {r->last, sizeof r->last, "last name"},
                        {r->kind, sizeof r->kind, "kind"},
                        {r->group, sizeof r->group, "group"}};
            for (int k = 0; k < nf && rc == 0; k++) {
                if (strlen(f[k]) >= cols[k].cap) {
                    fprintf(stderr,
                            "rollcall import: %s line %d: the %s is longer than %zu bytes\n", path,
                            line_no, cols[k].what, cols[k].cap - 1);
                    rc = -1;
                } else {
                    snprintf(cols[k].dst, cols[k].cap, "%s", f[k]);
                }
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    free(text);
    if (rc != 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

/* The photos in a person's folder (sorted); free with cli_free_dir. */
static char **list_photos(const char *dir, int *n)
{
    char **all = cli_list_dir(dir, 0, n);
    int k = 0;
    for (int i = 0; all && i < *n; i++) {
        if (cli_is_image_name(all[i]))
            all[k++] = all[i];
        else
            free(all[i]);
    }
    *n = k;
    return all;
}

/* The group named `name`, created when missing; 0 (with a message) on error. */
static int64_t group_for(store *db, const char *name)
{
    store_group *g = NULL;
    size_t n = 0;
    rc_error err;
    int64_t id = 0;
    if (store_group_list(db, (store_page){.limit = 10000}, &g, &n, NULL, &err) == RC_OK)
        for (size_t i = 0; i < n && !id; i++)
            if (strcmp(g[i].name, name) == 0) id = g[i].id;
    free(g);
    if (id) return id;
    store_group ng = {0};
    snprintf(ng.name, sizeof ng.name, "%s", name);
    if (store_group_create(db, &ng, &err) != RC_OK) {
        fprintf(stderr, "  group '%s': %s\n", name, err.msg);
        return 0;
    }
    printf("  group '%s' created\n", name);
    return ng.id;
}

int cli_import(int argc, char **argv)
{
    common_opts co = {.data = "./data"};
    static const struct option opts[] = {COMMON_LONG_OPTS};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:m:h", opts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        import_usage(c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "rollcall import: give exactly one folder to import\n");
        import_usage(stderr);
        return 2;
    }
    const char *dir = argv[optind];
    int nfolders = 0;
    char **folders = cli_list_dir(dir, 1, &nfolders);
    if (!folders) {
        fprintf(stderr, "rollcall import: cannot read the folder %s\n", dir);
        return 1;
    }
    roster_row *roster = NULL;
    size_t nroster = 0;
    if (roster_read(dir, &roster, &nroster) != 0) {
        cli_free_dir(folders, nfolders);
        return 1;
    }
    session s;
    if (session_open("import", &co, &s) != 0) {
        free(roster);
        cli_free_dir(folders, nfolders);
        return 1;
    }
    /* Photo counts first, for the progress lines. */
    size_t total = 0;
    for (int i = 0; i < nfolders; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, folders[i]);
        int k;
        cli_free_dir(list_photos(path, &k), k);
        total += (size_t)k;
    }
    printf("Importing %zu photo(s) of %d person folder(s) from %s%s\n", total, nfolders, dir,
           nroster ? " (with roster.csv)" : "");
    fflush(stdout);
    size_t done = 0;
    int accepted = 0, created = 0, failed = 0;
    for (int i = 0; i < nfolders; i++) {
        const char *code = folders[i];
        const roster_row *row = NULL;
        for (size_t k = 0; k < nroster && !row; k++)
            if (strcmp(roster[k].code, code) == 0) row = &roster[k];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, code);
        int nphotos;
        char **files = list_photos(path, &nphotos);
        if (!rc_utf8_valid(code, strlen(code)) || strlen(code) >= sizeof roster->code) {
            printf("person folder '%s': skipped (the name must be UTF-8, at most %zu bytes)\n",
                   code, sizeof roster->code - 1);
            done += (size_t)nphotos;
            failed++;
            cli_free_dir(files, nphotos);
            continue;
        }
        store_person p, np = {.active = 1};
        rc_error err;
        rc_status st = store_person_get_by_external(s.db, code, &p, &err);
        bool found = st == RC_OK;
        if (!found) {
            snprintf(np.external_id, sizeof np.external_id, "%s", code);
            if (row && (row->first[0] || row->last[0])) {
                snprintf(np.first_name, sizeof np.first_name, "%s", row->first);
                snprintf(np.last_name, sizeof np.last_name, "%s", row->last);
            } else {
                snprintf(np.name, sizeof np.name, "%s", code);
            }
            snprintf(np.kind, sizeof np.kind, "%s", row && row->kind[0] ? row->kind : "other");
        }
        printf("person %s (%s): %d photo(s)\n", code,
               found                  ? p.name
               : row && row->first[0] ? "new, from roster.csv"
                                      : "new",
               nphotos);
        photo_set ps = {0};
        for (int k = 0; files && k < nphotos; k++) {
            char fp[8192], shown[4096];
            snprintf(fp, sizeof fp, "%s/%s", path, files[k]);
            snprintf(shown, sizeof shown, "%s/%s", code, files[k]);
            photos_add(&ps, fp, shown);
        }
        cli_free_dir(files, nphotos);
        recog_enroll_result *res = calloc(ps.n + 1, sizeof *res);
        recog_enroll_summary sum = {0};
        if (st != RC_OK && st != RC_ERR_NOT_FOUND) {
            printf("  %s\n", err.msg);
            failed++;
        } else if (!res) {
            printf("  out of memory\n");
            failed++;
        } else if (ps.n && enroll_set(&s, found ? p.id : 0, found ? NULL : &np, &ps, false,
                                      co.consent, res, &sum, &err) != RC_OK) {
            printf("  %s\n", err.msg);
            failed++;
        } else {
            print_results(&ps, res, done, total);
            accepted += sum.accepted;
            created += sum.created;
            if (!found && !sum.accepted) printf("  no photo accepted: %s not created\n", code);
            if (row && row->group[0] && sum.person_id) {
                int64_t gid = group_for(s.db, row->group);
                if (gid && store_group_add_member(s.db, gid, sum.person_id, &err) != RC_OK)
                    printf("  group '%s': %s\n", row->group, err.msg);
            }
        }
        done += ps.n;
        free(res);
        photos_free(&ps);
    }
    for (size_t k = 0; k < nroster; k++) {
        bool has = false;
        for (int i = 0; i < nfolders && !has; i++) has = strcmp(folders[i], roster[k].code) == 0;
        if (!has) printf("roster.csv: %s has no photo folder; skipped\n", roster[k].code);
    }
    printf("Done: %d of %zu photo(s) accepted, %d person(s) created%s\n", accepted, total, created,
           failed ? "; some folders failed (see above)" : "");
    free(roster);
    cli_free_dir(folders, nfolders);
    session_close(&s);
    return accepted ? 0 : 1;
}
