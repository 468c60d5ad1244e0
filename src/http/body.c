/*
 * body.c — reading request bodies: JSON objects with errors that name the
 * line, column or field at fault, typed field readers, and multipart/form-data
 * split into parts by libmicrohttpd's post processor (a dataset import's
 * photo files spooled to an unlinked file as they arrive). Every failure answers
 * the request with a 4xx JSON error and returns false/NULL, so a handler only
 * has to return.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

static bool content_type_is(const http_req *r, const char *want)
{
    const char *ct = http_header(r, "Content-Type");
    if (!ct) return false;
    size_t n = strlen(want);
    return strncasecmp(ct, want, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

bool http_is_multipart(const http_req *r)
{
    return content_type_is(r, "multipart/form-data");
}

/* How many values a JSON text holds, at most (a bracket, brace, comma or
 * colon outside strings starts one more), counted up to `stop`. jansson
 * spends ~50 bytes and microseconds on each value, on the connection
 * thread: an 18 MB array of zeros (9 M values) held 440 MB and that thread
 * for 30 s. */
static size_t json_values(const unsigned char *p, size_t n, size_t stop)
{
    size_t values = 1;
    bool in_string = false;
    for (size_t i = 0; i < n && values <= stop; i++) {
        unsigned char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{' || c == ',' || c == ':') {
            values++;
        }
    }
    return values;
}

json_t *http_json_body(http_req *r)
{
    if (!content_type_is(r, "application/json")) {
        const char *ct = http_header(r, "Content-Type");
        http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                         "send the body as application/json (got %s)", ct ? ct : "no Content-Type");
        return NULL;
    }
    if (r->body_len == 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "empty_body",
                         "the request body is empty; "
                         "send a JSON object");
        return NULL;
    }
    if (json_values(r->body, r->body_len, HTTP_MAX_JSON_VALUES) > HTTP_MAX_JSON_VALUES) {
        http_reply_error_p(r, MHD_HTTP_CONTENT_TOO_LARGE, "json_too_large",
                           json_pack("{s:i}", "max", (int)HTTP_MAX_JSON_VALUES),
                           "the JSON body has more than %u values", HTTP_MAX_JSON_VALUES);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed_json",
                         "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed_json",
                         "the request body must be a JSON object");
        return NULL;
    }
    return j;
}

static bool missing(http_req *r, json_t *v, const char *key, bool required, bool *present)
{
    if (present) *present = v != NULL;
    if (v) return false;
    if (required)
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "missing_field",
                           json_pack("{s:s}", "field", key), "field '%s' is required", key);
    return true;
}

/* params: what a translation may name besides the field (min, max, choices);
 * stolen, may be NULL. */
static bool wrong_type(http_req *r, const char *key, const char *want, json_t *params)
{
    if (!params) params = json_object();
    json_object_set_new(params, "field", json_string(key));
    http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field", params, "field '%s' must be %s",
                       key, want);
    return false;
}

bool http_field_str(http_req *r, json_t *obj, const char *key, bool required, size_t max_len,
                    const char **out, bool *present)
{
    json_t *v = json_object_get(obj, key);
    if (missing(r, v, key, required, present)) return !required;
    if (!json_is_string(v)) return wrong_type(r, key, "a string", NULL);
    size_t len = json_string_length(v);
    if (max_len && len > max_len) {
        http_reply_error_p(r, MHD_HTTP_BAD_REQUEST, "invalid_field",
                           json_pack("{s:s,s:I}", "field", key, "max", (json_int_t)max_len),
                           "field '%s' is %zu bytes long; the limit is %zu", key, len, max_len);
        return false;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != len) return wrong_type(r, key, "a string without NUL characters", NULL);
    *out = s;
    return true;
}

bool http_field_int(http_req *r, json_t *obj, const char *key, bool required, int64_t min,
                    int64_t max, int64_t *out, bool *present)
{
    json_t *v = json_object_get(obj, key);
    if (missing(r, v, key, required, present)) return !required;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char want[96];
        snprintf(want, sizeof want, "an integer from %lld to %lld", (long long)min, (long long)max);
        return wrong_type(r, key, want,
                          json_pack("{s:I,s:I}", "min", (json_int_t)min, "max", (json_int_t)max));
    }
    *out = json_integer_value(v);
    return true;
}

bool http_field_num(http_req *r, json_t *obj, const char *key, bool required, double min,
                    double max, double *out, bool *present)
{
    json_t *v = json_object_get(obj, key);
    if (missing(r, v, key, required, present)) return !required;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        char want[96];
        snprintf(want, sizeof want, "a number from %g to %g", min, max);
        return wrong_type(r, key, want, json_pack("{s:f,s:f}", "min", min, "max", max));
    }
    *out = json_number_value(v);
    return true;
}

bool http_field_bool(http_req *r, json_t *obj, const char *key, bool required, bool *out,
                     bool *present)
{
    json_t *v = json_object_get(obj, key);
    if (missing(r, v, key, required, present)) return !required;
    if (!json_is_boolean(v)) return wrong_type(r, key, "true or false", NULL);
    *out = json_is_true(v);
    return true;
}

bool http_field_enum(http_req *r, json_t *obj, const char *key, bool required,
                     const char *const *choices, const char **out, bool *present)
{
    const char *s = NULL;
    bool here = false;
    if (!http_field_str(r, obj, key, required, 64, &s, &here)) return false;
    if (present) *present = here;
    if (!here) return true;
    char want[256] = "one of";
    json_t *list = json_array();
    for (size_t i = 0; choices[i]; i++) {
        json_array_append_new(list, json_string(choices[i]));
        if (strcmp(s, choices[i]) == 0) {
            json_decref(list);
            *out = choices[i];
            return true;
        }
        size_t l = strlen(want);
        snprintf(want + l, sizeof want - l, "%s '%s'", i ? "," : "", choices[i]);
    }
    return wrong_type(r, key, want, json_pack("{s:o}", "choices", list));
}

/* ---- multipart ---------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A dataset import (HTTP_BIG_UPLOAD, parsed as it arrives) keeps its photo
 * files on disk until their person's turn; a roster (.csv) is parsed from
 * memory, and plain fields stay there. */
static bool spool_part(const http_req *r, const char *filename)
{
    if (!filename || !r->streamed || !r->route || !(r->route->flags & HTTP_BIG_UPLOAD))
        return false;
    const char *dot = strrchr(filename, '.');
    return !(dot && strcasecmp(dot, ".csv") == 0);
}

/* The spool: a file with no name in the data folder (on the database's
 * disk, not a tmpfs), gone when the request ends or the server dies. */
static int spool_open(const http_req *r)
{
    const char *dir = r->srv->cfg.data_dir;
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
#endif
    char path[4096];
    snprintf(path, sizeof path, "%s/.rollcall-upload-XXXXXX", dir);
    int tmp = mkostemp(path, O_CLOEXEC);
    if (tmp >= 0) unlink(path);
    return tmp;
}

static bool spool_write(http_req *r, http_part *p, const char *data, size_t size)
{
    if (r->spool_fd < 0 && (r->spool_fd = spool_open(r)) < 0) {
        r->spool_errno = errno;
        return false;
    }
    for (size_t done = 0; done < size;) {
        ssize_t w = pwrite(r->spool_fd, data + done, size - done, (off_t)(r->spool_len + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            r->spool_errno = w < 0 ? errno : EIO;
            return false;
        }
        done += (size_t)w;
    }
    r->spool_len += size;
    p->len += size;
    return true;
}

rc_status http_part_load(http_req *r, http_part *part, rc_error *err)
{
    if (!part->spooled || part->data) return RC_OK;
    unsigned char *d = malloc(part->len + 1);
    if (!d)
        return rc_fail(err, RC_ERR_NOMEM, "out of memory reading back '%s' (%zu bytes)",
                       part->filename, part->len);
    for (size_t done = 0; done < part->len;) {
        ssize_t n = pread(r->spool_fd, d + done, part->len - done, (off_t)(part->off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            free(d);
            return rc_fail(err, RC_ERR_IO, "cannot read '%s' back from the upload's spool file: %s",
                           part->filename, n < 0 ? strerror(errno) : "it is shorter");
        }
        done += (size_t)n;
    }
    d[part->len] = 0;
    part->data = d;
    part->cap = part->len;
    return RC_OK;
}

/* How many files one request may carry: --max-files, or a dataset
 * import's own bound. */
static unsigned route_max_files(const http_req *r)
{
    if (r->route && (r->route->flags & HTTP_BIG_UPLOAD)) return 10000;
    return r->srv->cfg.limits.max_files;
}

static enum MHD_Result part_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size)
{
    (void)kind;
    (void)transfer_encoding;
    http_req *r = cls;
    http_part *p = r->nparts ? &r->parts[r->nparts - 1] : NULL;
    /* libmicrohttpd may announce a part with no data before its first
     * bytes: those bytes continue it. Only the same field AND the same file
     * name continue it: an empty file (a zero-byte upload) followed by the
     * next file of the same field is two parts, not one. */
    bool same_file = p && (p->filename == NULL) == (filename == NULL) &&
                     (!filename || strcmp(p->filename, filename) == 0);
    if (off == 0 &&
        !(p && p->len == 0 && !p->data && strcmp(p->name, key) == 0 && size > 0 && same_file)) {
        /* Counted as they come (no walk over the parts so far: a body of
         * tiny parts must not cost time in their square), and bounded: each
         * part costs memory beyond its bytes. */
        unsigned max_files = route_max_files(r);
        if (filename ? r->nfiles >= max_files : r->nfields >= max_files + HTTP_MAX_FIELDS) {
            if (filename)
                r->parts_too_many = true;
            else
                r->fields_too_many = true;
            return MHD_NO;
        }
        if ((key && strlen(key) > HTTP_MAX_PART_NAME) ||
            (filename && strlen(filename) > HTTP_MAX_PART_NAME)) {
            r->part_name_too_long = true;
            return MHD_NO;
        }
        if (r->nparts == r->parts_cap) {
            size_t cap = r->parts_cap ? r->parts_cap * 2 : 8;
            http_part *np = realloc(r->parts, cap * sizeof *np);
            if (!np) return MHD_NO;
            r->parts = np;
            r->parts_cap = cap;
        }
        p = &r->parts[r->nparts++];
        memset(p, 0, sizeof *p);
        if (filename)
            r->nfiles++;
        else
            r->nfields++;
        p->name = strdup(key ? key : "");
        p->filename = dup_or_null(filename);
        p->content_type = dup_or_null(content_type);
        p->spooled = spool_part(r, filename);
        p->off = r->spool_len;
        if (!p->name) return MHD_NO;
    }
    if (!p || size == 0) return MHD_YES;
    if (p->spooled) return spool_write(r, p, data, size) ? MHD_YES : MHD_NO;
    if (r->streamed && (r->held_in_memory += size) > HTTP_MAX_IMPORT_MEMORY) {
        r->held_too_much = true;
        return MHD_NO;
    }
    if (p->len + size > p->cap) {
        /* From the first chunk's size, not a fixed block: a one-byte field
         * costs bytes, not pages. */
        size_t cap = p->cap ? p->cap : size;
        while (cap < p->len + size) cap *= 2;
        unsigned char *d = realloc(p->data, cap + 1);
        if (!d) return MHD_NO;
        p->data = d;
        p->cap = cap;
    }
    memcpy(p->data + p->len, data, size);
    p->len += size;
    p->data[p->len] = 0;
    return MHD_YES;
}

/* Text a handler may put into JSON or the database must be UTF-8: every
 * part's name and file name, and the value of every field that is not a
 * file. Answers 400 naming the field. */
static bool parts_are_text(http_req *r)
{
    for (size_t i = 0; i < r->nparts; i++) {
        const http_part *p = &r->parts[i];
        bool name_ok = rc_utf8_valid(p->name, strlen(p->name));
        const char *what = NULL;
        if (!name_ok)
            what = "a form field's name";
        else if (p->filename && !rc_utf8_valid(p->filename, strlen(p->filename)))
            what = "the file name of form field";
        else if (!p->filename && p->data && !rc_utf8_valid(p->data, p->len))
            what = "form field";
        if (!what) continue;
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_utf8", "%s%s%s%s is not valid UTF-8",
                         what, name_ok ? " '" : "", name_ok ? p->name : "", name_ok ? "'" : "");
        return false;
    }
    return true;
}

void http_multipart_feed(http_req *r, const char *data, size_t n)
{
    r->streamed += n;
    if (r->pp_failed) return;
    if (!r->pp) r->pp = MHD_create_post_processor(r->conn, 64 * 1024, part_iter, r);
    if (!r->pp || MHD_post_process(r->pp, data, n) != MHD_YES) r->pp_failed = true;
}

bool http_parse_multipart(http_req *r)
{
    if (!http_is_multipart(r)) {
        http_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                         "send the body as multipart/form-data");
        return false;
    }
    const char *ct = http_header(r, "Content-Type");
    if (!strstr(ct, "boundary=")) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed_multipart",
                         "multipart/form-data without a boundary parameter");
        return false;
    }
    enum MHD_Result ok, done;
    if (r->streamed) { /* parsed as it arrived (http_multipart_feed) */
        done = r->pp ? MHD_destroy_post_processor(r->pp) : MHD_NO;
        r->pp = NULL;
        ok = r->pp_failed ? MHD_NO : MHD_YES;
    } else {
        struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 64 * 1024, part_iter, r);
        if (!pp) {
            http_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed_multipart",
                             "cannot read the multipart/form-data header (boundary?)");
            return false;
        }
        ok = r->body_len ? MHD_post_process(pp, (const char *)r->body, r->body_len) : MHD_YES;
        done = MHD_destroy_post_processor(pp);
    }
    if (r->spool_errno) {
        http_reply_error(r,
                         r->spool_errno == ENOSPC || r->spool_errno == EDQUOT
                             ? MHD_HTTP_INSUFFICIENT_STORAGE
                             : MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "spool_failed", "cannot keep the upload's files on disk in %s: %s",
                         r->srv->cfg.data_dir ? r->srv->cfg.data_dir : "the temporary folder",
                         strerror(r->spool_errno));
        return false;
    }
    if (r->parts_too_many) {
        http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_many_files",
                         "more than %u files in one request", route_max_files(r));
        return false;
    }
    if (r->fields_too_many) {
        http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "too_many_fields",
                         "more than %u form fields that are not files in one request",
                         route_max_files(r) + HTTP_MAX_FIELDS);
        return false;
    }
    if (r->held_too_much) {
        http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "roster_too_large",
                         "the roster and form fields of an import are over %u MB together",
                         HTTP_MAX_IMPORT_MEMORY >> 20);
        return false;
    }
    if (r->part_name_too_long) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed_multipart",
                         "a form field's name or file name is longer than %u bytes",
                         HTTP_MAX_PART_NAME);
        return false;
    }
    if (ok != MHD_YES || done != MHD_YES || r->nparts == 0) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "malformed_multipart",
                         r->nparts == 0 ? "the multipart body has no parts (wrong boundary?)"
                                        : "the multipart body is malformed or truncated");
        return false;
    }
    return parts_are_text(r);
}

const http_part *http_part_get(const http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparts; i++)
        if (strcmp(r->parts[i].name, name) == 0) return &r->parts[i];
    return NULL;
}
