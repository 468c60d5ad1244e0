/*
 * enroll.c — `rollcall enroll` (photos for one person) and `rollcall import`
 * (a folder with one sub-folder of photos per person, and/or a roster CSV
 * naming people and their groups; the rules are src/dataset's, the same as
 * the HTTP import's). Both go through recog_enroll, the policy the server
 * applies to uploads: quality and size, one face per photo, no face of
 * another enrolled person, one person per upload, and no person created
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
#include "../dataset/dataset.h"
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

enum { OPT_DB = 256, OPT_ALLOW_DUP, OPT_CONSENT, OPT_ROSTER, OPT_WHOLE_FOLDERS };

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
    fprintf(
        out,
        "Usage: rollcall import [OPTIONS] DIR\n"
        "       rollcall import [OPTIONS] --roster FILE [DIR]\n\n"
        "Import people and their photos. DIR holds one folder per person with their\n"
        "photos (.jpg, .jpeg, .png, .webp, .heic, .heif) directly inside, and may hold\n"
        "the roster, a .csv file at its top level. Every photo goes through the\n"
        "server's enrollment policy; one line per photo says accepted or why not.\n\n"
        "What is skipped (with the reason, before anything is counted): a file at\n"
        "the top level of DIR (nobody's photo), a file that is not a photo (.txt,\n"
        ".pdf, .mov...), a file in a sub-folder of a person's folder, hidden files.\n\n"
        "A person's folder is named with their code or their name. It is matched to\n"
        "a roster row by code, else by name, and the row names the person. Without\n"
        "a row, an existing person with that code gets the photos, else the folder\n"
        "name is the new person's code and gives their name:\n"
        "  \"María José Núñez\"          first name \"María José\", last name \"Núñez\"\n"
        "                              (the last word is the last name)\n"
        "  \"Núñez García, María José\"  first name \"María José\", last name \"Núñez García\"\n"
        "                              (comma form: last names, first names)\n"
        "A folder named with a code and then the name gives both (the code: letters\n"
        "and digits with a digit, then a space, '_' or '-'; --no-folder-codes off):\n"
        "  \"1234_Ana_Garcia\", \"1234 - Ana García\"  code \"1234\", name \"Ana García\"\n"
        "Spaces and accents are kept; names are compared in Unicode NFC, so a folder\n"
        "from a macOS zip is the same person.\n\n"
        "A person with photos is created, or an existing person changed, only when\n"
        "one of their photos is accepted. A roster row without a photo folder\n"
        "creates the person (or updates them) without photos: a roster alone\n"
        "imports people and group memberships.\n\n"
        "The roster (CSV, UTF-8 with or without BOM, ',' or ';' separated):\n"
        "  code,first name,last name,kind,group,email\n"
        "  in that order, or any order under a header line; Spanish headers work too\n"
        "  (código, nombre, apellidos, tipo, grupo, correo). kind is free text\n"
        "  (alumno/student, profesor/teacher... are stored as student, teacher,\n"
        "  employee); group is created if new and the person is added to it. A bad\n"
        "  row is reported with its line number and skipped.\n\n"
        "Options:\n"
        "      --roster FILE     the roster CSV (instead of, or without, DIR's)\n"
        "      --consent         record consent now for people who have none\n"
        "      --no-folder-codes the whole folder name is the code (\"1234_Ana\" stays\n"
        "                        one code instead of code 1234 and the name Ana)\n"
        "      --db URL          SQLite file or postgres:// URL (default: $ROLLCALL_DB,\n"
        "                        else DATA/rollcall.db)\n"
        "  -d, --data DIR        data directory (default ./data)\n"
        "  -m, --models DIR      ONNX models (default $ROLLCALL_MODELS or ./models)\n"
        "  -h, --help            show this help\n\n"
        "Exit status: 0 when a photo was accepted or a person created or updated,\n"
        "1 when nothing was imported (or on errors), 2 on bad usage.\n");
}

#define MAX_ROSTER (64u << 20)

/* The CLI's side of an import: photo paths by ref, progress counters. */
typedef struct {
    char **paths;
    unsigned char **bufs; /* read while their person is enrolled */
    size_t n, cap;
    size_t done, total;
} cli_import_state;

static int state_path(cli_import_state *s, const char *path, size_t *ref)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **np = realloc(s->paths, cap * sizeof *np);
        if (np) s->paths = np;
        unsigned char **nb = realloc(s->bufs, cap * sizeof *nb);
        if (nb) s->bufs = nb;
        if (!np || !nb) return -1;
        s->cap = cap;
    }
    s->bufs[s->n] = NULL;
    if (!(s->paths[s->n] = strdup(path))) return -1;
    *ref = s->n++;
    return 0;
}

static rc_status import_load(void *user, size_t ref, const void **data, size_t *len, rc_error *err)
{
    cli_import_state *s = user;
    *len = 0;
    rc_status st = rc_read_file(s->paths[ref], MAX_PHOTO, &s->bufs[ref], len, err);
    *data = s->bufs[ref];
    return st;
}

static void import_release(void *user, size_t ref)
{
    cli_import_state *s = user;
    free(s->bufs[ref]);
    s->bufs[ref] = NULL;
}

static void import_emit(void *user, const dataset_line *l)
{
    cli_import_state *s = user;
    switch (l->kind) {
    case DATASET_LINE_SKIPPED:
        printf("skipped %s (%s): %s\n", l->file, l->code, l->reason);
        break;
    case DATASET_LINE_ROSTER:
        printf("%s %s\n", l->file, l->reason);
        break;
    case DATASET_LINE_PHOTO: {
        const recog_enroll_result *e = l->result;
        s->done++;
        if (e->accepted)
            printf("[%zu/%zu] %s: accepted (face %lld)\n", s->done, s->total, l->file,
                   (long long)e->face_id);
        else
            printf("[%zu/%zu] %s: refused (%s): %s\n", s->done, s->total, l->file,
                   e->code ? e->code : "?", e->reason);
        break;
    }
    case DATASET_LINE_PERSON:
        if (l->code) {
            printf("person %s: %s\n", l->person, l->reason);
            break;
        }
        printf("person %s (%s): %s", l->person, l->name,
               l->created   ? "created"
               : l->updated ? "updated"
                            : "existing person");
        if (l->photos)
            printf(", %d of %d photo(s) accepted\n", l->accepted, l->photos);
        else
            printf(" from the roster (no photos)\n");
        break;
    }
    fflush(stdout);
}

static void state_free(cli_import_state *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->paths[i]);
        free(s->bufs[i]);
    }
    free(s->paths);
    free(s->bufs);
}

/* Add a file to the import by its path relative to DIR; a top-level .csv is
 * read now (the roster). 0, or -1 when out of memory. */
static int add_file(dataset *d, cli_import_state *s, const char *full, const char *rel)
{
    rc_error err;
    size_t ref = 0;
    const char *dot = strrchr(rel, '.');
    if (!strchr(rel, '/') && dot && strcasecmp(dot, ".csv") == 0) {
        unsigned char *text = NULL;
        size_t len = 0;
        if (rc_read_file(full, MAX_ROSTER, &text, &len, &err) != RC_OK) {
            fprintf(stderr, "rollcall import: %s\n", err.msg);
            text = NULL, len = 0;
        }
        rc_status st = dataset_add(d, rel, NULL, 0, text ? text : (unsigned char *)"", len, &err);
        free(text);
        return st == RC_OK ? 0 : -1;
    }
    if (state_path(s, full, &ref) != 0) return -1;
    return dataset_add(d, rel, NULL, ref, NULL, 0, &err) == RC_OK ? 0 : -1;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry of DIR (hidden ones too: the rules report them): files at the
 * top, the files of each folder, and of each folder's sub-folders (which the
 * rules skip as nested, by name). */
static int add_dir(dataset *d, cli_import_state *s, const char *dir, const char *rel, int depth)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "rollcall import: cannot read the folder %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dh)) && rc == 0) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = -1;
        else
            n++;
    }
    closedir(dh);
    if (n) qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char full[4096], sub[4096];
        snprintf(full, sizeof full, "%s/%s", dir, names[i]);
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct stat sb;
        if (stat(full, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 3) rc = add_dir(d, s, full, sub, depth + 1);
        } else if (S_ISREG(sb.st_mode)) {
            rc = add_file(d, s, full, sub);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int cli_import(int argc, char **argv)
{
    common_opts co = {.data = "./data"};
    const char *roster = NULL;
    bool whole_folders = false;
    static const struct option opts[] = {{"roster", required_argument, 0, OPT_ROSTER},
                                         {"no-folder-codes", no_argument, 0, OPT_WHOLE_FOLDERS},
                                         COMMON_LONG_OPTS};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:m:h", opts, NULL)) != -1) {
        if (common_opt(c, &co)) continue;
        if (c == OPT_ROSTER) {
            roster = optarg;
            continue;
        }
        if (c == OPT_WHOLE_FOLDERS) {
            whole_folders = true;
            continue;
        }
        import_usage(c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    if (optind + 1 < argc || (optind == argc && !roster)) {
        fprintf(stderr, "rollcall import: give one folder to import (and/or --roster FILE)\n");
        import_usage(stderr);
        return 2;
    }
    const char *dir = optind < argc ? argv[optind] : NULL;
    dataset *d = dataset_new();
    cli_import_state st = {0};
    int rc = d ? 0 : -1;
    if (rc == 0 && roster) {
        const char *base = strrchr(roster, '/');
        char full[4096];
        snprintf(full, sizeof full, "%s", roster);
        struct stat sb;
        if (stat(roster, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            fprintf(stderr, "rollcall import: cannot read the roster %s\n", roster);
            rc = 1;
        } else {
            rc = add_file(d, &st, full, base ? base + 1 : roster);
        }
    }
    if (rc == 0 && dir) rc = add_dir(d, &st, dir, "", 1);
    session s;
    if (rc != 0 || session_open("import", &co, &s) != 0) {
        if (rc < 0) fprintf(stderr, "rollcall import: out of memory\n");
        dataset_free(d);
        state_free(&st);
        return 1;
    }
    dataset_totals t;
    dataset_totals_get(d, &t);
    st.total = (size_t)t.photos;
    printf("Importing %d photo(s) of %d person folder(s)", t.photos, t.persons);
    if (t.rows) printf(" and %d roster row(s)", t.rows);
    printf(" from %s; %d file(s) or row(s) skipped\n", dir ? dir : roster, t.skipped);
    fflush(stdout);
    dataset_io io = {.db = s.db,
                     .rg = s.rg,
                     .consent = co.consent,
                     .whole_folder_codes = whole_folders,
                     .actor = "cli",
                     .load = import_load,
                     .release = import_release,
                     .emit = import_emit,
                     .user = &st};
    while (dataset_step(d, &io)) {
    }
    dataset_totals_get(d, &t);
    printf("Done: %d of %d photo(s) accepted, %d person(s) created, %d updated, %d skipped\n",
           t.accepted, t.photos, t.created, t.updated, t.skipped);
    dataset_free(d);
    state_free(&st);
    session_close(&s);
    return t.accepted || t.created || t.updated ? 0 : 1;
}
