/*
 * names.c — people's names as folder names give them: Unicode NFC (utf8proc,
 * so a name from a macOS zip, stored decomposed, is the same text), white
 * space tidied, split into first and last name, a leading code taken off
 * ("1234_Ana_Garcia", "1234 - Ana García"), and a case-folded key to match
 * a folder with a roster row whichever way either is written.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "dataset.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Copy `in` with white space tidied (trimmed, runs made one space). */
static void tidy(const char *in, char *out)
{
    char *o = out;
    for (const char *p = in; *p; p++) {
        if (is_space(*p)) {
            if (o > out && o[-1] != ' ') *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    if (o > out && o[-1] == ' ') o--;
    *o = 0;
}

/* utf8proc_map with `opts` over tidied text into out. */
static rc_status map(const char *in, int opts, char *out, size_t cap, rc_error *err)
{
    size_t n = strlen(in);
    if (!rc_utf8_valid(in, n)) return rc_fail(err, RC_ERR_INVALID, "the name is not UTF-8 text");
    char *t = malloc(n + 1);
    if (!t) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    tidy(in, t);
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)t, 0, &m,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | opts);
    free(t);
    if (k < 0) return rc_fail(err, RC_ERR_INVALID, "the name is not valid Unicode text");
    rc_status st = RC_OK;
    if ((size_t)k >= cap)
        st = rc_fail(err, RC_ERR_LIMIT, "the name '%.80s' is longer than %zu bytes", (char *)m,
                     cap - 1);
    else
        memcpy(out, m, (size_t)k + 1);
    free(m);
    return st;
}

rc_status dataset_nfc(const char *in, char *out, size_t cap, rc_error *err)
{
    return map(in, UTF8PROC_COMPOSE, out, cap, err);
}

/* Copy [s, s+n) trimmed into dst (cap 64). */
static rc_status part(const char *s, size_t n, char dst[64], const char *what, rc_error *err)
{
    while (n && *s == ' ') s++, n--;
    while (n && s[n - 1] == ' ') n--;
    if (n >= 64)
        return rc_fail(err, RC_ERR_LIMIT, "the %s '%.*s' is longer than 63 bytes", what,
                       (int)(n > 80 ? 80 : n), s);
    memcpy(dst, s, n);
    dst[n] = 0;
    return RC_OK;
}

rc_status dataset_split_name(const char *folder, char first[64], char last[64], rc_error *err)
{
    char t[512];
    first[0] = last[0] = 0;
    rc_status st = dataset_nfc(folder, t, sizeof t, err);
    if (st != RC_OK) return st;
    const char *comma = strchr(t, ',');
    if (comma) { /* "Last Names, First Names" */
        if ((st = part(t, (size_t)(comma - t), last, "last name", err)) != RC_OK ||
            (st = part(comma + 1, strlen(comma + 1), first, "first name", err)) != RC_OK)
            return st;
        if (!first[0]) { /* "Núñez," : only one name given */
            memcpy(first, last, 64);
            last[0] = 0;
        }
    } else { /* "First Names Last": the last word is the last name */
        const char *sp = strrchr(t, ' ');
        if (sp) {
            if ((st = part(t, (size_t)(sp - t), first, "first name", err)) != RC_OK ||
                (st = part(sp + 1, strlen(sp + 1), last, "last name", err)) != RC_OK)
                return st;
        } else if ((st = part(t, strlen(t), first, "first name", err)) != RC_OK) {
            return st;
        }
    }
    if (!first[0]) return rc_fail(err, RC_ERR_INVALID, "an empty name");
    return RC_OK;
}

void dataset_name_key(const char *first, const char *last, char *out, size_t cap)
{
    char joined[160];
    out[0] = 0;
    if (strlen(first) + strlen(last) + 2 > sizeof joined) return;
    snprintf(joined, sizeof joined, "%.79s %.79s", first, last);
    if (map(joined, UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD, out, cap, NULL) != RC_OK) out[0] = 0;
}

static bool ascii_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The length of the separator at p between a code and a name: spaces,
 * '_', '-', and the en and em dashes (U+2013, U+2014), in any mix. */
static size_t separator(const char *p)
{
    size_t n = 0;
    for (;;) {
        if (p[n] == ' ' || p[n] == '_' || p[n] == '-')
            n++;
        else if ((unsigned char)p[n] == 0xE2 && (unsigned char)p[n + 1] == 0x80 &&
                 ((unsigned char)p[n + 2] == 0x93 || (unsigned char)p[n + 2] == 0x94))
            n += 3;
        else
            return n;
    }
}

bool dataset_split_code(const char *folder, char code[64], char first[64], char last[64])
{
    char t[512], rest[512];
    code[0] = first[0] = last[0] = 0;
    if (dataset_nfc(folder, t, sizeof t, NULL) != RC_OK) return false;
    size_t n = 0;
    bool digit = false;
    while (ascii_alnum(t[n])) digit |= t[n] >= '0' && t[n] <= '9', n++;
    size_t sep = separator(t + n);
    /* A code (a digit in it, at most 63 bytes), a separator, then a name
     * that starts with neither a digit nor punctuation ("2024-015 Ana" is
     * one code, not 2024 and "015 Ana"). */
    if (!n || !digit || n >= 64 || !sep) return false;
    const char *name = t + n + sep;
    if (!*name || (*name >= '0' && *name <= '9') || strchr(",.;:()[]{}'\"", *name)) return false;
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof rest; p++) rest[k++] = *p == '_' ? ' ' : *p;
    rest[k] = 0;
    if (dataset_split_name(rest, first, last, NULL) != RC_OK) {
        first[0] = last[0] = 0;
        return false;
    }
    memcpy(code, t, n);
    code[n] = 0;
    return true;
}
