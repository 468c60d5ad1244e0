/*
 * roster.c — the roster CSV a school exports from its records: UTF-8 with
 * or without a BOM (Excel writes one), `,`, `;` (Spanish Excel) or tab
 * separated (whichever the first line uses most), quoted fields with ""
 * escapes, an optional header in English or Spanish that may order the
 * columns, and one error per bad row naming its line. A file that is not
 * UTF-8 is refused whole: guessing its encoding would write wrong names.
 *
 * A roster comes from outside, so its cost is bounded: at most
 * DATASET_ROSTER_MAX_ROWS lines, and repeated codes are found by sorting
 * once, not by comparing each row with every row before it (a 440 KB
 * roster of 50 000 rows took 5 s that way).
 */
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

enum { COL_CODE, COL_FIRST, COL_LAST, COL_KIND, COL_GROUP, COL_EMAIL, NCOLS };

/* Header names per column, compared case-folded (dataset_name_key). */
static const char *const header_names[NCOLS][12] = {
    {"code", "código", "codigo", "cod", "id", "external id", "external_id", "matrícula",
     "matricula", "dni", "legajo"},
    {"first name", "first_name", "firstname", "given name", "nombre", "nombres"},
    {"last name", "last_name", "lastname", "surname", "family name", "apellido", "apellidos"},
    {"kind", "type", "role", "tipo", "rol"},
    {"group", "class", "grupo", "clase", "curso", "sección", "seccion"},
    {"email", "e-mail", "mail", "correo", "correo electrónico", "correo electronico"},
};

/* Spanish and English words for the usual kinds, stored in English. */
static const struct {
    const char *word, *kind;
} kinds[] = {{"student", "student"},    {"alumno", "student"},    {"alumna", "student"},
             {"estudiante", "student"}, {"teacher", "teacher"},   {"profesor", "teacher"},
             {"profesora", "teacher"},  {"docente", "teacher"},   {"maestro", "teacher"},
             {"maestra", "teacher"},    {"employee", "employee"}, {"empleado", "employee"},
             {"empleada", "employee"},  {"staff", "employee"},    {"personal", "employee"},
             {"other", "other"},        {"otro", "other"},        {"otra", "other"}};

static int header_column(const char *field)
{
    char key[128];
    dataset_name_key(field, "", key, sizeof key);
    for (int c = 0; c < NCOLS; c++)
        for (int k = 0; k < 12 && header_names[c][k]; k++)
            if (strcmp(key, header_names[c][k]) == 0) return c;
    return -1;
}

/* The separator the line uses most outside quotes (',' when none). */
static char guess_separator(const char *line)
{
    int comma = 0, semi = 0, tab = 0;
    bool quoted = false;
    for (const char *p = line; *p && *p != '\n'; p++) {
        if (*p == '"') quoted = !quoted;
        if (quoted) continue;
        comma += *p == ',';
        semi += *p == ';';
        tab += *p == '\t';
    }
    if (semi > comma && semi >= tab) return ';';
    if (tab > comma && tab > semi) return '\t';
    return ',';
}

/* Split one line into at most `max` fields (quotes with "" escapes); returns
 * how many, -1 when a quote is left open. Fields point into line. */
static int csv_split(char *line, char sep, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return n;
        while (*p == ' ' || (*p == '\t' && sep != '\t')) p++;
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
            while (*p && *p != sep) p++;
        } else {
            while (*p && *p != sep) *out++ = *p++;
            while (out > start && (out[-1] == ' ' || out[-1] == '\t')) out--;
        }
        bool more = *p == sep;
        *out = 0;
        f[n++] = start;
        if (!more) return n;
        p++;
    }
}

static rc_status push_error(dataset_roster *r, int line, const char *problem, const char *fmt,
                            const char *a, const char *b)
{
    /* The array doubles when its count reaches a power of two (8 first). */
    size_t n = r->nerrors;
    if (n < 8 ? n == 0 : (n & (n - 1)) == 0) {
        dataset_row_error *ne = realloc(r->errors, (n < 8 ? 8 : 2 * n) * sizeof *ne);
        if (!ne) return RC_ERR_NOMEM;
        r->errors = ne;
    }
    dataset_row_error *ne = r->errors;
    dataset_row_error *e = &ne[r->nerrors++];
    e->line = line;
    e->code = DATASET_R_ROSTER;
    e->problem = problem;
    snprintf(e->value, sizeof e->value, "%.63s",
             strcmp(problem, "duplicate_code") == 0 && b ? b
             : a                                         ? a
                                                         : "");
    char msg[600];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    snprintf(e->reason, sizeof e->reason, "line %d: %.230s", line, msg);
    return RC_OK;
}

/* Fill row from the fields by the column map; false (with an error pushed)
 * when the row is bad. */
static bool fill_row(dataset_roster *r, int line, char **f, int nf, const int *col,
                     dataset_row *row)
{
    static const char *const what[NCOLS] = {"code", "first name", "last name",
                                            "kind", "group",      "email"};
    char *dst[NCOLS] = {row->code, row->first, row->last, row->kind, row->group, row->email};
    size_t cap[NCOLS] = {sizeof row->code, sizeof row->first, sizeof row->last,
                         sizeof row->kind, sizeof row->group, sizeof row->email};
    memset(row, 0, sizeof *row);
    row->line = line;
    for (int k = 0; k < nf; k++) {
        int c = col[k];
        if (c < 0 || !*f[k]) continue;
        rc_error err;
        rc_status st = dataset_nfc(f[k], dst[c], cap[c], &err);
        if (st != RC_OK) {
            char lim[32];
            snprintf(lim, sizeof lim, "%zu", cap[c] - 1);
            push_error(r, line, "too_long",
                       st == RC_ERR_LIMIT ? "the %s is longer than %s bytes" : "bad %s", what[c],
                       lim);
            return false;
        }
    }
    if (!row->code[0]) {
        push_error(r, line, "empty_code", "the code is empty (every row needs the person's code)",
                   NULL, NULL);
        return false;
    }
    if (!row->first[0]) {
        push_error(r, line, "empty_first_name", "the first name of %s is empty", row->code, NULL);
        return false;
    }
    const char *at = strchr(row->email, '@');
    if (row->email[0] && (!at || at == row->email || !at[1] || strchr(row->email, ' '))) {
        push_error(r, line, "bad_email", "'%s' is not an email address", row->email, NULL);
        return false;
    }
    /* One of the API's kinds (student, teacher, employee, other): any other
     * word is "other", so the person can be edited (the API refuses other
     * kinds); an empty cell stays empty (the person's kind is kept). */
    char key[64];
    dataset_name_key(row->kind, "", key, sizeof key);
    const char *kind = row->kind[0] ? "other" : "";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(key, kinds[i].word) == 0) kind = kinds[i].kind;
    snprintf(row->kind, sizeof row->kind, "%s", kind);
    return true; /* a repeated code is found afterwards (drop_repeats) */
}

static int row_by_code(const void *a, const void *b)
{
    const dataset_row *x = *(const dataset_row *const *)a, *y = *(const dataset_row *const *)b;
    int c = strcmp(x->code, y->code);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int error_by_line(const void *a, const void *b)
{
    const dataset_row_error *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

/* A row whose code an earlier row has is an error naming that line, and
 * leaves the rows (the first one keeps the code). One sort, then the
 * errors back in line order. */
static rc_status drop_repeats(dataset_roster *r)
{
    if (r->n < 2) return RC_OK;
    const dataset_row **by = malloc(r->n * sizeof *by);
    if (!by) return RC_ERR_NOMEM;
    for (size_t i = 0; i < r->n; i++) by[i] = &r->rows[i];
    qsort(by, r->n, sizeof *by, row_by_code);
    size_t repeats = 0;
    rc_status st = RC_OK;
    for (size_t i = 1, first = 0; i < r->n && st == RC_OK; i++) {
        if (strcmp(by[i]->code, by[first]->code) != 0) {
            first = i; /* the first row (lowest line) with this code */
            continue;
        }
        char prev[16];
        snprintf(prev, sizeof prev, "%d", by[first]->line);
        st = push_error(r, by[i]->line, "duplicate_code", "the code %s is already on line %s",
                        by[i]->code, prev);
        ((dataset_row *)by[i])->line = -by[i]->line; /* marked to leave */
        repeats++;
    }
    free(by);
    if (st != RC_OK || !repeats) return st;
    size_t kept = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->rows[i].line > 0) r->rows[kept++] = r->rows[i];
    r->n = kept;
    qsort(r->errors, r->nerrors, sizeof *r->errors, error_by_line);
    return RC_OK;
}

rc_status dataset_roster_parse(const void *data, size_t len, dataset_roster *out, rc_error *err)
{
    memset(out, 0, sizeof *out);
    out->problem = "not_utf8";
    if (!rc_utf8_valid(data, len))
        return rc_fail(err, RC_ERR_INVALID,
                       "the roster is not UTF-8 text (save it from the spreadsheet as "
                       "\"CSV UTF-8\")");
    char *text = malloc(len + 1);
    if (!text) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    memcpy(text, data, len);
    text[len] = 0;
    char *p = text;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* BOM */
    int col[16] = {COL_CODE, COL_FIRST, COL_LAST, COL_KIND, COL_GROUP, COL_EMAIL, -1, -1,
                   -1,       -1,        -1,       -1,       -1,        -1,        -1, -1};
    char sep = 0;
    bool seen_first = false;
    const char *problem = "not_utf8";
    rc_status st = RC_OK;
    size_t cap = 0;
    int lines = 0; /* not blank */
    for (int line = 1; p && *p && st == RC_OK; line++) {
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[--l] = 0;
        char *next = eol ? eol + 1 : NULL;
        if (strspn(p, " \t,;") == l) { /* blank (or only separators) */
            p = next;
            continue;
        }
        if (++lines > DATASET_ROSTER_MAX_ROWS + 1) { /* + 1: a header */
            problem = "too_many_rows";
            st = rc_fail(err, RC_ERR_INVALID,
                         "the roster has more than %d rows (split it into several imports)",
                         DATASET_ROSTER_MAX_ROWS);
            break;
        }
        if (!sep) sep = guess_separator(p);
        char *f[16];
        int nf = csv_split(p, sep, f, 16);
        p = next;
        if (nf < 0) {
            st = push_error(out, line, "open_quote", "a quoted field is not closed on this line",
                            NULL, NULL);
            continue;
        }
        if (!seen_first) {
            seen_first = true;
            int hc[16], named = 0;
            for (int k = 0; k < nf; k++) named += (hc[k] = header_column(f[k])) >= 0;
            if (named) { /* a header: it orders the columns */
                bool has_code = false;
                for (int k = 0; k < 16; k++) {
                    col[k] = k < nf ? hc[k] : -1;
                    has_code |= col[k] == COL_CODE;
                }
                if (!has_code) {
                    problem = "no_code_column";
                    st = rc_fail(err, RC_ERR_INVALID,
                                 "the roster's header (line %d) has no code column (code, código)",
                                 line);
                    break;
                }
                continue;
            }
        }
        dataset_row row;
        if (!fill_row(out, line, f, nf, col, &row)) continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            dataset_row *nr = realloc(out->rows, cap * sizeof *nr);
            if (!nr) {
                st = RC_ERR_NOMEM;
                break;
            }
            out->rows = nr;
        }
        out->rows[out->n++] = row;
    }
    free(text);
    if (st == RC_OK) st = drop_repeats(out);
    if (st == RC_ERR_NOMEM) rc_fail(err, st, "out of memory reading the roster");
    if (st == RC_OK && !out->n && !out->nerrors) {
        problem = "no_rows";
        st = rc_fail(err, RC_ERR_INVALID, "the roster has no rows (code, first name, ...)");
    }
    if (st != RC_OK) {
        dataset_roster_free(out);
        out->problem = problem;
    } else {
        out->problem = NULL;
    }
    return st;
}

void dataset_roster_free(dataset_roster *r)
{
    free(r->rows);
    free(r->errors);
    memset(r, 0, sizeof *r);
}
