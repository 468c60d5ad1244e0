/* test_dataset.c — the import rules without faces: names from folder names
 * (spaces and accents kept, comma form, NFC = NFD, a leading code), the
 * roster CSV (kinds as the API's, either
 * separator, BOM, Spanish headers, per-row errors with line numbers) and
 * which files of a dataset are photos of whom (stray top-level files,
 * unsupported formats, nested folders and hidden files are skipped with a
 * reason before anything is counted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/dataset.h"

/* "María José Núñez" written decomposed, as a macOS zip stores it. */
#define NFD_NAME                                                                                   \
    "Mari\xcc\x81"                                                                                 \
    "a Jose\xcc\x81 Nu\xcc\x81"                                                                    \
    "n\xcc\x83"                                                                                    \
    "ez"
#define NFC_NAME                                                                                   \
    "Mar\xc3\xad"                                                                                  \
    "a Jos\xc3\xa9 N\xc3\xba\xc3\xb1"                                                              \
    "ez"

static void names_keep_spaces_and_accents(void **state)
{
    (void)state;
    char first[64], last[64];
    rc_error err;
    assert_int_equal(dataset_split_name("María José Núñez", first, last, &err), RC_OK);
    assert_string_equal(first, "María José");
    assert_string_equal(last, "Núñez");
    assert_int_equal(dataset_split_name("  Núñez,   María José ", first, last, &err), RC_OK);
    assert_string_equal(first, "María José");
    assert_string_equal(last, "Núñez");
    assert_int_equal(dataset_split_name("Núñez García, María José", first, last, &err), RC_OK);
    assert_string_equal(first, "María José");
    assert_string_equal(last, "Núñez García");
    assert_int_equal(dataset_split_name("S0042", first, last, &err), RC_OK);
    assert_string_equal(first, "S0042");
    assert_string_equal(last, "");
    /* NFD from a macOS zip becomes the same NFC text. */
    assert_int_equal(dataset_split_name(NFD_NAME, first, last, &err), RC_OK);
    assert_string_equal(first, "Mar\xc3\xad"
                               "a Jos\xc3\xa9");
    assert_string_equal(last, "N\xc3\xba\xc3\xb1"
                              "ez");
    char a[128], b[128], c[128];
    dataset_name_key("María José", "Núñez", a, sizeof a);
    dataset_name_key("MARÍA JOSÉ", "NÚÑEZ", b, sizeof b);
    dataset_name_key("Mari\xcc\x81"
                     "a Jose\xcc\x81",
                     "Nu\xcc\x81n\xcc\x83"
                     "ez",
                     c, sizeof c);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    /* Bad names are errors, not guesses. */
    assert_int_equal(dataset_split_name("   ", first, last, &err), RC_ERR_INVALID);
    assert_int_equal(dataset_split_name("\xff\xfe", first, last, &err), RC_ERR_INVALID);
    char longname[200];
    memset(longname, 'a', 100);
    longname[100] = 0;
    assert_int_equal(dataset_split_name(longname, first, last, &err), RC_ERR_LIMIT);
    char out[16];
    assert_int_equal(dataset_nfc("a  b\t c", out, sizeof out, &err), RC_OK);
    assert_string_equal(out, "a b c");
}

/* A folder named by a code and then the name ("1234_Ana_Garcia",
 * "1234 - Ana García") gives both; any other folder is not split. */
static void folder_codes_come_off_the_name(void **state)
{
    (void)state;
    char code[64], first[64], last[64];
    const char *yes[][4] = {
        {"1234_Ana_Garcia", "1234", "Ana", "Garcia"},
        {"1234 - Ana García", "1234", "Ana", "García"},
        {"1234 \xe2\x80\x93 Ana García", "1234", "Ana", "García"}, /* en dash */
        {"  0042   María José Núñez ", "0042", "María José", "Núñez"},
        {"A002_Núñez García, María José", "A002", "María José", "Núñez García"},
        {"S17-Bob", "S17", "Bob", ""},
        {"1234_" NFD_NAME, "1234", "María José", "Núñez"}, /* NFC */
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        assert_true(dataset_split_code(yes[i][0], code, first, last));
        assert_string_equal(code, yes[i][1]);
        assert_string_equal(first, yes[i][2]);
        assert_string_equal(last, yes[i][3]);
    }
    /* No code, a code alone, a code with no name, a code of digits and
     * dashes, a name that starts with a digit, a code too long. */
    const char *no[] = {"Ana García",
                        "María José Núñez",
                        "1234",
                        "1234_",
                        "1234 - ",
                        "2024-015",
                        "2024-015 Ana",
                        "12 34",
                        "Ana_Garcia",
                        "_1234 Ana",
                        "1234567890123456789012345678901234567890123456789012345678901234 Ana"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        strcpy(code, "x");
        assert_false(dataset_split_code(no[i], code, first, last));
        assert_string_equal(code, "");
        assert_string_equal(first, "");
    }
}

/* The roster's kinds are the API's: the usual words in English and Spanish,
 * "otro"/"other", and any other word is "other" (the API would refuse to
 * edit a person of a kind it does not know); an empty cell stays empty. */
static void roster_kinds_are_the_api_kinds(void **state)
{
    (void)state;
    const char *csv = "code,first name,last name,kind\n"
                      "K1,Ana,Ruiz,Otro\n"
                      "K2,Bea,Sol,other\n"
                      "K3,Carla,Mar,conserje\n"
                      "K4,Dani,Paz,\n"
                      "K5,Eva,Gil,EMPLEADA\n";
    dataset_roster r;
    rc_error err;
    assert_int_equal(dataset_roster_parse(csv, strlen(csv), &r, &err), RC_OK);
    assert_int_equal(r.n, 5);
    const char *want[] = {"other", "other", "other", "", "employee"};
    for (size_t i = 0; i < 5; i++) assert_string_equal(r.rows[i].kind, want[i]);
    dataset_roster_free(&r);
}

static void roster_reads_spanish_excel(void **state)
{
    (void)state;
    /* Spanish Excel: BOM, ';', its own header order, CRLF, quoted field. */
    const char *csv = "\xEF\xBB\xBF"
                      "Apellidos;Nombre;Código;Grupo;Tipo;Correo\r\n"
                      "Núñez;María José;S001;1º A;alumna;mj@example.org\r\n"
                      "\"Pérez; López\";Juan;S002;1º A;profesor;\r\n"
                      "\r\n";
    dataset_roster r;
    rc_error err;
    assert_int_equal(dataset_roster_parse(csv, strlen(csv), &r, &err), RC_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.nerrors, 0);
    assert_string_equal(r.rows[0].code, "S001");
    assert_string_equal(r.rows[0].first, "María José");
    assert_string_equal(r.rows[0].last, "Núñez");
    assert_string_equal(r.rows[0].group, "1º A");
    assert_string_equal(r.rows[0].kind, "student");
    assert_string_equal(r.rows[0].email, "mj@example.org");
    assert_int_equal(r.rows[0].line, 2);
    assert_string_equal(r.rows[1].last, "Pérez; López");
    assert_string_equal(r.rows[1].kind, "teacher");
    dataset_roster_free(&r);
}

static void roster_bad_rows_name_their_lines(void **state)
{
    (void)state;
    /* No header: the documented order, comma separated. */
    const char *csv = "S1,Ana,Ruiz,student,G1,ana@x.org\n"
                      ",Nobody,Here\n"
                      "S3,,Blank\n"
                      "S1,Again,Dup\n"
                      "S5,Eva,Mal,student,G1,not-an-email\n"
                      "S6,\"Open,Quote\n"
                      "S7,Ok,Row\n";
    dataset_roster r;
    rc_error err;
    assert_int_equal(dataset_roster_parse(csv, strlen(csv), &r, &err), RC_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.rows[0].code, "S1");
    assert_string_equal(r.rows[1].code, "S7");
    assert_int_equal(r.nerrors, 5);
    int lines[] = {2, 3, 4, 5, 6};
    const char *words[] = {"code is empty", "first name", "already on line 1", "email",
                           "not closed"};
    const char *problems[] = {"empty_code", "empty_first_name", "duplicate_code", "bad_email",
                              "open_quote"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r.errors[i].line, lines[i]);
        assert_string_equal(r.errors[i].problem, problems[i]);
        assert_string_equal(r.errors[i].code, "roster_invalid");
        assert_non_null(strstr(r.errors[i].reason, words[i]));
    }
    dataset_roster_free(&r);
    /* Unusable files are refused whole. */
    assert_int_equal(dataset_roster_parse("S1,N\xe1\n", 6, &r, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "UTF-8"));
    assert_int_equal(dataset_roster_parse("\n\n", 2, &r, &err), RC_ERR_INVALID);
    assert_int_equal(dataset_roster_parse("nombre;apellidos\nAna;Ruiz\n", 26, &r, &err),
                     RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no code column"));
    assert_string_equal(r.problem, "no_code_column");
}

/* A roster of `rows` lines R0..R(rows-1) after a header; every line whose
 * number is a multiple of `repeat_every` repeats the code of the line
 * before it. Caller frees. */
static char *big_roster(int rows, int repeat_every, size_t *len)
{
    char *csv = malloc((size_t)rows * 24 + 32);
    size_t n = (size_t)sprintf(csv, "code,first name\n");
    for (int i = 0; i < rows; i++) {
        int code = repeat_every && i && i % repeat_every == 0 ? i - 1 : i;
        n += (size_t)sprintf(csv + n, "R%d,x\n", code);
    }
    *len = n;
    return csv;
}

static void roster_is_bounded_and_repeats_are_found_at_any_size(void **state)
{
    (void)state;
    dataset_roster r;
    rc_error err;
    size_t len;
    /* The most rows a roster may have, every 1000th repeating the row
     * before: each repeat names that row's line, errors in line order. */
    char *csv = big_roster(DATASET_ROSTER_MAX_ROWS, 1000, &len);
    assert_int_equal(dataset_roster_parse(csv, len, &r, &err), RC_OK);
    assert_int_equal(r.nerrors, DATASET_ROSTER_MAX_ROWS / 1000 - 1);
    assert_int_equal(r.n, DATASET_ROSTER_MAX_ROWS - r.nerrors);
    for (size_t i = 0; i < r.nerrors; i++) {
        int line = (int)(i + 1) * 1000 + 2; /* row i*1000 is on line i*1000 + 2 */
        char want[16];
        snprintf(want, sizeof want, "%d", line - 1);
        assert_int_equal(r.errors[i].line, line);
        assert_string_equal(r.errors[i].problem, "duplicate_code");
        assert_string_equal(r.errors[i].value, want);
    }
    for (size_t i = 1; i < r.n; i++) assert_true(r.rows[i - 1].line < r.rows[i].line);
    dataset_roster_free(&r);
    free(csv);
    /* One row more is refused whole. */
    csv = big_roster(DATASET_ROSTER_MAX_ROWS + 1, 0, &len);
    assert_int_equal(dataset_roster_parse(csv, len, &r, &err), RC_ERR_INVALID);
    assert_string_equal(r.problem, "too_many_rows");
    assert_non_null(strstr(err.msg, "more than 100000 rows"));
    assert_int_equal(r.n, 0);
    free(csv);
}

typedef struct {
    int n;
    char file[16][128], code[16][32];
} seen;

static void record(void *user, const dataset_line *l)
{
    seen *s = user;
    if (s->n == 16) return;
    snprintf(s->file[s->n], sizeof s->file[0], "%s", l->file ? l->file : "");
    snprintf(s->code[s->n], sizeof s->code[0], "%s", l->code ? l->code : "");
    s->n++;
}

static void only_photos_in_person_folders_count(void **state)
{
    (void)state;
    dataset *d = dataset_new();
    rc_error err;
    const char *files[] = {
        "notes.txt",        "ana/1.jpg",       "ana/2.HEIC", "ana/clip.mov",
        "ana/scan.pdf",     "ana/old/3.jpg",   ".DS_Store",  "__MACOSX/ana/._1.jpg",
        NFD_NAME "/1.webp", NFC_NAME "/2.png", "photo.jpg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_int_equal(dataset_add(d, files[i], NULL, i, NULL, 0, &err), RC_OK);
    /* A bare file name after the API's `person` field belongs to that person. */
    assert_int_equal(dataset_add(d, "5.jpg", "bob", 99, NULL, 0, &err), RC_OK);
    dataset_totals t;
    dataset_totals_get(d, &t);
    assert_int_equal(t.photos, 5);  /* ana ×2, María José (NFD and NFC) ×2, bob */
    assert_int_equal(t.persons, 3); /* NFD and NFC are one person */
    assert_int_equal(t.skipped, 7);
    seen s = {0};
    dataset_io io = {.emit = record, .user = &s};
    /* The first step reports the skipped files (no store needed for that). */
    assert_true(dataset_step(d, &io));
    assert_int_equal(s.n, 7);
    const char *want[][2] = {{"notes.txt", "stray_file"},
                             {"ana/clip.mov", "unsupported_format"},
                             {"ana/scan.pdf", "unsupported_format"},
                             {"ana/old/3.jpg", "nested_folder"},
                             {".DS_Store", "hidden_file"},
                             {"__MACOSX/ana/._1.jpg", "hidden_file"},
                             {"photo.jpg", "stray_file"}};
    for (int i = 0; i < 7; i++) {
        assert_string_equal(s.file[i], want[i][0]);
        assert_string_equal(s.code[i], want[i][1]);
    }
    dataset_free(d);
}

static void a_second_or_broken_roster_is_reported(void **state)
{
    (void)state;
    dataset *d = dataset_new();
    rc_error err;
    const char *good = "code,first name,last name\nS1,Ana,Ruiz\nS2,,x\n";
    assert_int_equal(dataset_add(d, "roster.csv", NULL, 0, good, strlen(good), &err), RC_OK);
    assert_int_equal(dataset_add(d, "more.CSV", NULL, 0, good, strlen(good), &err), RC_OK);
    dataset_totals t;
    dataset_totals_get(d, &t);
    assert_int_equal(t.rows, 1);
    assert_int_equal(t.skipped, 2); /* the second roster, row 3 */
    seen s = {0};
    dataset_io io = {.emit = record, .user = &s};
    assert_true(dataset_step(d, &io));
    assert_int_equal(s.n, 2);
    assert_string_equal(s.file[0], "more.CSV");
    assert_string_equal(s.file[1], "roster.csv");
    assert_string_equal(s.code[1], "roster_invalid");
    dataset_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_keep_spaces_and_accents),
        cmocka_unit_test(folder_codes_come_off_the_name),
        cmocka_unit_test(roster_kinds_are_the_api_kinds),
        cmocka_unit_test(roster_reads_spanish_excel),
        cmocka_unit_test(roster_bad_rows_name_their_lines),
        cmocka_unit_test(roster_is_bounded_and_repeats_are_found_at_any_size),
        cmocka_unit_test(only_photos_in_person_folders_count),
        cmocka_unit_test(a_second_or_broken_roster_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
