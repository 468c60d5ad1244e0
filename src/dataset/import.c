/*
 * import.c — one import: files are sorted as they are added (photos into
 * their person's folder, the roster parsed, everything else skipped with its
 * reason), folders are matched with roster rows, and the run goes one person
 * at a time so a caller can stream each outcome (the HTTP answer) or print it
 * (the CLI) and free each person's photos before the next.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../image/image.h"
#include "dataset.h"

typedef struct {
    char *path, *folder;
    const char *code, *problem;
    char reason[240];
} skip;

typedef struct {
    char *path;
    size_t ref;
} photo;

typedef struct {
    char folder[256]; /* NFC */
    photo *photos;
    size_t n, cap;
    long row; /* roster row, -1: none */
    /* "1234_Ana_Garcia": the code and the name it gives (dataset_split_code;
     * coded false and all empty otherwise, or with whole_folder_codes). */
    bool coded;
    char code[64], first[64], last[64];
} unit;

struct dataset {
    skip *skips;
    size_t nskips;
    dataset_roster roster;
    char *roster_file;
    bool *row_used;
    unit *units;
    size_t nunits;
    bool matched;
    int stage; /* 0: skipped files, 1: folders, 2: rows without photos, 3: done */
    size_t next;
    dataset_totals t;
};

dataset *dataset_new(void)
{
    return calloc(1, sizeof(dataset));
}

void dataset_free(dataset *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->nskips; i++) {
        free(d->skips[i].path);
        free(d->skips[i].folder);
    }
    free(d->skips);
    for (size_t i = 0; i < d->nunits; i++) {
        for (size_t k = 0; k < d->units[i].n; k++) free(d->units[i].photos[k].path);
        free(d->units[i].photos);
    }
    free(d->units);
    dataset_roster_free(&d->roster);
    free(d->roster_file);
    free(d->row_used);
    free(d);
}

static rc_status add_skip(dataset *d, const char *path, const char *folder, const char *code,
                          const char *reason, rc_error *err)
{
    skip *ns = realloc(d->skips, (d->nskips + 1) * sizeof *ns);
    if (!ns) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    d->skips = ns;
    skip *s = &ns[d->nskips];
    s->path = strdup(path);
    s->folder = folder ? strdup(folder) : NULL;
    if (!s->path || (folder && !s->folder)) {
        free(s->path);
        free(s->folder);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    s->code = code;
    s->problem = NULL;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    d->nskips++;
    d->t.skipped++;
    return RC_OK;
}

static rc_status add_roster(dataset *d, const char *path, const void *data, size_t len,
                            rc_error *err)
{
    rc_error perr;
    rc_status st;
    if (d->roster_file) {
        st = add_skip(d, path, NULL, DATASET_R_ROSTER,
                      "a second roster: one roster per import (this one was not read)", err);
        if (st == RC_OK) d->skips[d->nskips - 1].problem = "second_roster";
        return st;
    }
    st = dataset_roster_parse(data, len, &d->roster, &perr);
    if (st == RC_ERR_NOMEM) return rc_fail(err, st, "%s", perr.msg);
    if (st != RC_OK) {
        const char *problem = d->roster.problem;
        if ((st = add_skip(d, path, NULL, DATASET_R_ROSTER, perr.msg, err)) == RC_OK)
            d->skips[d->nskips - 1].problem = problem;
        return st;
    }
    d->roster_file = strdup(path);
    d->row_used = calloc(d->roster.n + 1, sizeof *d->row_used);
    if (!d->roster_file || !d->row_used) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    d->t.rows = (int)d->roster.n;
    d->t.skipped += (int)d->roster.nerrors;
    return RC_OK;
}

static rc_status add_photo(dataset *d, const char *path, const char *folder, size_t ref,
                           rc_error *err)
{
    char nfc[256];
    rc_error nerr;
    if (dataset_nfc(folder, nfc, sizeof nfc, &nerr) != RC_OK || !nfc[0]) {
        char why[240];
        snprintf(why, sizeof why, "the folder name cannot name a person: %.150s",
                 nfc[0] ? nerr.msg : "it is empty");
        return add_skip(d, path, folder, DATASET_R_PERSON, why, err);
    }
    unit *u = NULL;
    for (size_t i = 0; i < d->nunits && !u; i++)
        if (strcmp(d->units[i].folder, nfc) == 0) u = &d->units[i];
    if (!u) {
        unit *nu = realloc(d->units, (d->nunits + 1) * sizeof *nu);
        if (!nu) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        d->units = nu;
        u = &nu[d->nunits++];
        memset(u, 0, sizeof *u);
        memcpy(u->folder, nfc, sizeof nfc);
        u->row = -1;
        d->t.persons++;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 8;
        photo *np = realloc(u->photos, cap * sizeof *np);
        if (!np) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        u->photos = np;
        u->cap = cap;
    }
    if (!(u->photos[u->n].path = strdup(path))) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    u->photos[u->n++].ref = ref;
    d->t.photos++;
    return RC_OK;
}

rc_status dataset_add(dataset *d, const char *path, const char *person, size_t ref,
                      const void *data, size_t len, rc_error *err)
{
    if (!rc_utf8_valid(path, strlen(path)))
        return add_skip(d, "(a file name that is not UTF-8)", NULL, DATASET_R_PERSON,
                        "the file name is not UTF-8 text", err);
    /* The path's parts, '/' or '\' separated, empty parts dropped. */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    char *part[3];
    int n = 0, deeper = 0;
    bool hidden = false;
    for (char *s = strtok(buf, "/\\"); s; s = strtok(NULL, "/\\")) {
        hidden |= s[0] == '.' || strcmp(s, "__MACOSX") == 0 || strcasecmp(s, "Thumbs.db") == 0 ||
                  strcasecmp(s, "desktop.ini") == 0;
        if (n < 3)
            part[n++] = s;
        else
            deeper++;
    }
    if (n == 1 && person && *person) { /* a bare name after a `person` field */
        part[1] = part[0];
        part[0] = (char *)person;
        n = 2;
    }
    char why[240];
    if (n == 0) return add_skip(d, path, NULL, DATASET_R_STRAY, "a file with no name", err);
    if (hidden)
        return add_skip(d, path, NULL, DATASET_R_HIDDEN,
                        "a hidden or system file (not a photo of anyone)", err);
    if (n == 1) {
        const char *dot = strrchr(part[0], '.');
        if (dot && strcasecmp(dot, ".csv") == 0) return add_roster(d, path, data, len, err);
        snprintf(why, sizeof why,
                 "a file at the top level of the dataset is nobody's photo: put photos in a "
                 "folder named after the person (or their code)");
        return add_skip(d, path, NULL, DATASET_R_STRAY, why, err);
    }
    if (n > 2 || deeper) {
        snprintf(why, sizeof why,
                 "inside a sub-folder of the person's folder '%.60s': photos must be directly in "
                 "the person's folder",
                 part[0]);
        return add_skip(d, path, part[0], DATASET_R_NESTED, why, err);
    }
    if (img_format_of_name(part[1]) == IMG_FORMAT_UNKNOWN) {
        const char *dot = strrchr(part[1], '.');
        snprintf(why, sizeof why,
                 "not a photo (%.20s): only .jpg, .jpeg, .png, .webp, .heic and .heif files are "
                 "imported",
                 dot && dot != part[1] ? dot : "no extension");
        return add_skip(d, path, part[0], DATASET_R_UNSUPPORTED, why, err);
    }
    return add_photo(d, path, part[0], ref, err);
}

void dataset_totals_get(const dataset *d, dataset_totals *t)
{
    *t = d->t;
}

/* Each folder's roster row: same code, else same name (dataset_name_key). */
/* The roster's rows in the order of a key (the code, or the name key) and
 * then of the file, looked up by binary search: comparing every folder
 * with every row (an NFC name key each time) took hours for 10 000 folders
 * and a 100 000-row roster. */
typedef struct {
    char *key;
    size_t row;
} row_key;

static int by_key_row(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* The first row in file order with `key` that no folder took yet; -1 when
 * none. Used rows are skipped one by one: at most one per folder. */
static long find_row(const row_key *ix, size_t n, const char *key, const bool *used)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && strcmp(ix[lo].key, key) == 0; lo++)
        if (!used[ix[lo].row]) return (long)ix[lo].row;
    return -1;
}

static void free_keys(row_key *ix, size_t n)
{
    for (size_t i = 0; ix && i < n; i++) free(ix[i].key);
    free(ix);
}

/* Each folder's code and name when it is named "CODE NAME", then its roster
 * row: by code first (the folder's code, else its whole name), else by
 * name. (Out of memory for the lookup arrays, a few MB, no folder is
 * matched: the rows then make people of their own, as for a roster without
 * those folders.) */
static void match_rows(dataset *d, const dataset_io *io)
{
    d->matched = true;
    for (size_t i = 0; i < d->nunits && !io->whole_folder_codes; i++) {
        unit *u = &d->units[i];
        u->coded = dataset_split_code(u->folder, u->code, u->first, u->last);
    }
    size_t n = d->roster.n;
    if (!n || !d->nunits) return;
    row_key *codes = calloc(n, sizeof *codes), *names = calloc(n, sizeof *names);
    bool ok = codes && names;
    for (size_t r = 0; ok && r < n; r++) {
        char rkey[256];
        dataset_name_key(d->roster.rows[r].first, d->roster.rows[r].last, rkey, sizeof rkey);
        codes[r] = (row_key){strdup(d->roster.rows[r].code), r};
        names[r] = (row_key){strdup(rkey), r};
        ok = codes[r].key && names[r].key;
    }
    if (ok) {
        qsort(codes, n, sizeof *codes, by_key_row);
        qsort(names, n, sizeof *names, by_key_row);
    }
    for (size_t i = 0; ok && i < d->nunits; i++) {
        unit *u = &d->units[i];
        u->row = u->coded ? find_row(codes, n, u->code, d->row_used) : -1;
        if (u->row < 0) u->row = find_row(codes, n, u->folder, d->row_used);
        char first[64], last[64], key[256];
        if (u->coded) {
            memcpy(first, u->first, sizeof first);
            memcpy(last, u->last, sizeof last);
        }
        if (u->row < 0 && (u->coded || dataset_split_name(u->folder, first, last, NULL) == RC_OK)) {
            dataset_name_key(first, last, key, sizeof key);
            if (key[0]) u->row = find_row(names, n, key, d->row_used);
        }
        if (u->row >= 0) d->row_used[u->row] = true;
    }
    free_keys(codes, codes ? n : 0); /* calloc'd: keys not made yet are NULL */
    free_keys(names, names ? n : 0);
}

/* The group named `name`, created when missing; 0 on error. */
static int64_t group_for(store *db, const char *name, rc_error *err)
{
    store_group *g = NULL;
    size_t n = 0;
    int64_t id = 0;
    if (store_group_list(db, (store_page){.limit = 100000}, &g, &n, NULL, err) != RC_OK) return 0;
    for (size_t i = 0; i < n && !id; i++)
        if (strcmp(g[i].name, name) == 0) id = g[i].id;
    free(g);
    if (id) return id;
    store_group ng = {0};
    snprintf(ng.name, sizeof ng.name, "%s", name);
    return store_group_create(db, &ng, err) == RC_OK ? ng.id : 0;
}

/* A roster row's fields onto a person (only the cells that are filled). */
static void row_onto(const dataset_row *row, store_person *p)
{
    if (row->first[0]) {
        memcpy(p->first_name, row->first, sizeof p->first_name);
        memcpy(p->last_name, row->last, sizeof p->last_name);
        p->name[0] = 0;
    }
    if (row->kind[0]) snprintf(p->kind, sizeof p->kind, "%s", row->kind);
    if (row->email[0]) snprintf(p->email, sizeof p->email, "%s", row->email);
}

/* Apply a row to person `id` (its fields when `update`, its group); fills
 * line->reason on failure. */
static bool apply_row(const dataset_io *io, const dataset_row *row, int64_t id, bool update,
                      dataset_line *line, char *why, size_t why_len)
{
    rc_error err;
    store_person p;
    if (update) {
        if (store_person_get(io->db, id, &p, &err) != RC_OK) goto fail;
        store_person before = p;
        row_onto(row, &p);
        if (strcmp(before.first_name, p.first_name) || strcmp(before.last_name, p.last_name) ||
            strcmp(before.kind, p.kind) || strcmp(before.email, p.email)) {
            if (store_person_update(io->db, &p, &err) != RC_OK) goto fail;
            line->updated = true;
            if (io->rg) recog_person_changed(io->rg, id, NULL);
        }
    }
    if (row->group[0]) {
        int64_t gid = group_for(io->db, row->group, &err);
        if (!gid || store_group_add_member(io->db, gid, id, &err) != RC_OK) goto fail;
    }
    return true;
fail:
    snprintf(why, why_len, "%.300s", err.msg);
    line->code = DATASET_R_ROSTER;
    line->reason = why;
    return false;
}

static void emit(const dataset_io *io, dataset_line *l)
{
    io->emit(io->user, l);
}

/* Every photo of a folder that cannot be judged, as skipped. */
static void skip_unit(dataset *d, const dataset_io *io, const unit *u, const char *why)
{
    for (size_t k = 0; k < u->n; k++) {
        dataset_line l = {.kind = DATASET_LINE_SKIPPED,
                          .file = u->photos[k].path,
                          .person = u->folder,
                          .code = DATASET_R_PERSON,
                          .reason = why};
        emit(io, &l);
    }
    d->t.skipped += (int)u->n;
    dataset_line l = {.kind = DATASET_LINE_PERSON,
                      .person = u->folder,
                      .code = DATASET_R_PERSON,
                      .reason = why,
                      .photos = (int)u->n};
    emit(io, &l);
}

static bool run_unit(dataset *d, const dataset_io *io, const unit *u)
{
    const dataset_row *row = u->row >= 0 ? &d->roster.rows[u->row] : NULL;
    const char *code = row ? row->code : u->coded ? u->code : u->folder;
    char why[400];
    if (strlen(code) >= sizeof(((store_person *)0)->external_id)) {
        snprintf(why, sizeof why,
                 "the folder name '%.80s' is longer than 63 bytes: name the folder with the "
                 "person's code, or list it in the roster",
                 u->folder);
        skip_unit(d, io, u, why);
        return true;
    }
    rc_error err;
    store_person p, np = {.active = 1};
    rc_status st = store_person_get_by_external(io->db, code, &p, &err);
    /* A person an import made before folder codes has the whole name as code. */
    if (st == RC_ERR_NOT_FOUND && !row && u->coded && strlen(u->folder) < sizeof p.external_id)
        st = store_person_get_by_external(io->db, u->folder, &p, &err);
    if (st != RC_OK && st != RC_ERR_NOT_FOUND) {
        skip_unit(d, io, u, err.msg);
        return st != RC_ERR_DB;
    }
    bool found = st == RC_OK;
    if (found) code = p.external_id;
    if (!found) {
        snprintf(np.external_id, sizeof np.external_id, "%.63s", code);
        if (row) {
            row_onto(row, &np);
        } else if (u->coded) {
            memcpy(np.first_name, u->first, sizeof np.first_name);
            memcpy(np.last_name, u->last, sizeof np.last_name);
        } else if (dataset_split_name(u->folder, np.first_name, np.last_name, &err) != RC_OK) {
            snprintf(why, sizeof why, "the folder name cannot name a person: %.150s", err.msg);
            skip_unit(d, io, u, why);
            return true;
        }
        if (!np.kind[0]) snprintf(np.kind, sizeof np.kind, "other");
    }
    recog_image *imgs = calloc(u->n, sizeof *imgs);
    recog_enroll_result *res = calloc(u->n, sizeof *res);
    rc_status *load_st = calloc(u->n, sizeof *load_st);
    rc_error *load_err = calloc(u->n, sizeof *load_err);
    if (!imgs || !res || !load_st || !load_err) {
        free(imgs), free(res), free(load_st), free(load_err);
        skip_unit(d, io, u, "out of memory");
        return true;
    }
    for (size_t k = 0; k < u->n; k++) {
        imgs[k].name = u->photos[k].path;
        load_st[k] =
            io->load(io->user, u->photos[k].ref, &imgs[k].data, &imgs[k].len, &load_err[k]);
        if (load_st[k] != RC_OK) imgs[k].data = NULL, imgs[k].len = 0;
    }
    recog_enroll_req req = {.person_id = found ? p.id : 0,
                            .new_person = found ? NULL : &np,
                            .images = imgs,
                            .n = u->n,
                            .consent = io->consent,
                            .actor = io->actor};
    recog_enroll_summary sum = {0};
    st = recog_enroll(io->rg, &req, res, &sum, &err);
    for (size_t k = 0; k < u->n; k++) {
        if (io->release) io->release(io->user, u->photos[k].ref);
        if (st != RC_OK) {
            memset(&res[k], 0, sizeof res[k]);
            res[k].code = RECOG_R_STORE;
            snprintf(res[k].reason, sizeof res[k].reason, "%.300s", err.msg);
        } else if (load_st[k] != RC_OK) { /* the reader's words beat "empty input" */
            res[k].code = RECOG_R_NOT_IMAGE;
            snprintf(res[k].reason, sizeof res[k].reason, "%.300s", load_err[k].msg);
        }
        dataset_line l = {.kind = DATASET_LINE_PHOTO,
                          .file = u->photos[k].path,
                          .person = code,
                          .result = &res[k]};
        emit(io, &l);
    }
    dataset_line l = {.kind = DATASET_LINE_PERSON,
                      .person = code,
                      .line = row ? row->line : 0,
                      .photos = (int)u->n,
                      .accepted = sum.accepted,
                      .created = sum.created,
                      .person_id = sum.accepted ? (found ? p.id : sum.person_id) : 0,
                      .name = found ? p.name : np.name};
    if (st == RC_OK && sum.accepted) {
        if (row) apply_row(io, row, l.person_id, found, &l, why, sizeof why);
        if ((l.created || l.updated) && store_person_get(io->db, l.person_id, &np, NULL) == RC_OK)
            l.name = np.name;
    } else if (st == RC_OK) {
        l.code = "no_photo_accepted";
        snprintf(why, sizeof why,
                 found ? "no photo was accepted: %.63s was not changed"
                       : "no photo was accepted: %.63s was not created",
                 code);
        l.reason = why;
    } else {
        l.code = RECOG_R_STORE;
        l.reason = err.msg;
    }
    if (!l.name || !l.name[0]) l.name = code;
    d->t.accepted += sum.accepted;
    d->t.created += l.created;
    d->t.updated += l.updated;
    emit(io, &l);
    free(imgs), free(res), free(load_st), free(load_err);
    return st != RC_ERR_DB;
}

/* A roster row with no photo folder: create or update the person. */
static bool run_row(dataset *d, const dataset_io *io, const dataset_row *row)
{
    rc_error err;
    char why[400];
    store_person p = {.active = 1};
    dataset_line l = {.kind = DATASET_LINE_PERSON, .person = row->code, .line = row->line};
    rc_status st = store_person_get_by_external(io->db, row->code, &p, &err);
    if (st == RC_ERR_NOT_FOUND) {
        memset(&p, 0, sizeof p);
        p.active = 1;
        snprintf(p.external_id, sizeof p.external_id, "%.63s", row->code);
        row_onto(row, &p);
        if (!p.kind[0]) snprintf(p.kind, sizeof p.kind, "other");
        if ((st = store_person_create(io->db, &p, &err)) == RC_OK) l.created = true;
    }
    if (st == RC_OK) {
        l.person_id = p.id;
        apply_row(io, row, p.id, !l.created, &l, why, sizeof why);
        store_person_get(io->db, p.id, &p, NULL);
        l.name = p.name;
    } else {
        snprintf(why, sizeof why, "%.300s", err.msg);
        l.code = DATASET_R_ROSTER;
        l.reason = why;
        d->t.skipped++;
    }
    d->t.created += l.created;
    d->t.updated += l.updated;
    emit(io, &l);
    return st != RC_ERR_DB;
}

bool dataset_step(dataset *d, const dataset_io *io)
{
    if (!d->matched) match_rows(d, io);
    if (d->stage == 0) {
        d->stage = 1;
        for (size_t i = 0; i < d->nskips; i++) {
            dataset_line l = {.kind = DATASET_LINE_SKIPPED,
                              .file = d->skips[i].path,
                              .person = d->skips[i].folder,
                              .code = d->skips[i].code,
                              .problem = d->skips[i].problem,
                              .value = "",
                              .reason = d->skips[i].reason};
            emit(io, &l);
        }
        for (size_t i = 0; i < d->roster.nerrors; i++) {
            dataset_line l = {.kind = DATASET_LINE_ROSTER,
                              .file = d->roster_file,
                              .line = d->roster.errors[i].line,
                              .code = d->roster.errors[i].code,
                              .problem = d->roster.errors[i].problem,
                              .value = d->roster.errors[i].value,
                              .reason = d->roster.errors[i].reason};
            emit(io, &l);
        }
        if (d->nskips || d->roster.nerrors) return true;
    }
    if (d->stage == 1) {
        if (d->next < d->nunits) {
            if (!run_unit(d, io, &d->units[d->next++])) d->stage = 3;
            return true;
        }
        d->stage = 2;
        d->next = 0;
    }
    if (d->stage == 2) {
        while (d->next < d->roster.n && d->row_used[d->next]) d->next++;
        if (d->next < d->roster.n) {
            if (!run_row(d, io, &d->roster.rows[d->next++])) d->stage = 3;
            return true;
        }
        d->stage = 3;
    }
    return false;
}
