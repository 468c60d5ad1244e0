/*
 * dataset — the one set of rules for importing people and their photos, used
 * by `rollcall import` (src/cli/enroll.c), `POST /api/v1/import`
 * (src/http/api_face.c) and, through that endpoint, the web Import page.
 *
 * A dataset is a list of files named by their path relative to the dataset
 * folder:
 *
 *   PERSON/PHOTO     a photo of PERSON (.jpg .jpeg .png .webp .heic .heif,
 *                    img_format_of_name); any other extension is skipped as
 *                    unsupported_format before anything is counted
 *   NAME.csv         at the top level: the roster (one per import)
 *   anything else    skipped with a reason: a stray file at the top level
 *                    (stray_file), a file in a sub-folder of a person's
 *                    folder (nested_folder), a hidden file (hidden_file)
 *
 * PERSON, a folder name, is a code or a name. It is matched to a roster row
 * by code, else by name; the row, when there is one, names the person.
 * A folder named "CODE NAME" ("1234_Ana_Garcia", "1234 - Ana García";
 * dataset_split_code) stands for that code and that name, unless
 * dataset_io.whole_folder_codes: it is matched by the code, then the whole
 * folder name, then the name. Without a row, a person with that code (else
 * one whose code is the whole folder name, as an older import made it) is
 * looked up, else the new person gets the code and the name. Any other
 * folder: a person with that code is looked up, else the folder name
 * becomes the new person's code and their name by dataset_split_name:
 * "María José Núñez" → first "María José", last "Núñez" (the last word is the
 * last name); "Núñez García, María José" → first "María José", last "Núñez
 * García" (comma form, for two last names). Names are compared in Unicode
 * NFC, so a folder from a macOS zip (NFD) is the same person.
 *
 * The roster (dataset_roster_parse): UTF-8 with or without a BOM, `,` or `;`
 * separated, columns code, first name, last name, kind, group, email in that
 * order, or in any order under a header line (English or Spanish names:
 * código, nombre, apellidos, tipo, grupo, correo). Bad rows are reported
 * with their line numbers and left out; the good ones still count.
 *
 * A person with photos is created, or an existing person changed (names,
 * kind, email from the roster; group membership), only when one of their
 * photos is accepted by recog_enroll. A roster row with no photo folder
 * creates or updates the person without photos.
 */
#ifndef RC_DATASET_H
#define RC_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"
#include "../recog/recog.h"
#include "../store/store.h"

/* ---- names ---------------------------------------------------------------- */

/* `in` (UTF-8) in Unicode NFC, with surrounding white space removed and runs
 * of white space made one space, into out. RC_ERR_INVALID when in is not
 * UTF-8, RC_ERR_LIMIT when the result needs more than cap - 1 bytes. */
rc_status dataset_nfc(const char *in, char *out, size_t cap, rc_error *err);

/* A person's first and last name from a folder name (the rule above); NFC.
 * RC_ERR_INVALID for an empty or non-UTF-8 name, RC_ERR_LIMIT when a part is
 * longer than 63 bytes. */
rc_status dataset_split_name(const char *folder, char first[64], char last[64], rc_error *err);

/* A folder named by a code and then the name ("1234_Ana_Garcia", "1234 -
 * Ana García", "A002 García López, Ana"): the code is the leading run of
 * ASCII letters and digits with at least one digit (at most 63 bytes), then
 * at least one separator (space, '_', '-', an en or em dash), then a name
 * that does not start with a digit or punctuation, its '_' read as spaces
 * and split by dataset_split_name. False (all three empty) when the folder
 * is not of that form: "Ana García", "1234", "2024-015", "1234_". */
bool dataset_split_code(const char *folder, char code[64], char first[64], char last[64]);

/* The key two spellings of one name share: "first last" in NFC, case-folded
 * ("Núñez, María José", "MARÍA JOSÉ NÚÑEZ" and its NFD form have one key).
 * Empty when the name is not UTF-8 or too long. */
void dataset_name_key(const char *first, const char *last, char *out, size_t cap);

/* ---- the roster ----------------------------------------------------------- */

typedef struct {
    int line; /* in the file, from 1 */
    char code[64], first[64], last[64], kind[32], group[128], email[256];
} dataset_row;

/* What is wrong with a roster row or file (stable, for the UI):
 * empty_code, empty_first_name, bad_email (value: the text),
 * duplicate_code (value: the earlier line), too_long (value: the column),
 * open_quote; for the whole file: not_utf8, no_rows, no_code_column,
 * too_many_rows (more than DATASET_ROSTER_MAX_ROWS), second_roster. */
#define DATASET_ROSTER_MAX_ROWS 100000
typedef struct {
    int line;
    const char *code;    /* stable: "roster_invalid" */
    const char *problem; /* see above */
    char value[64];
    char reason[256];
} dataset_row_error;

typedef struct {
    dataset_row *rows;
    size_t n;
    dataset_row_error *errors;
    size_t nerrors;
    const char *problem; /* why dataset_roster_parse refused the whole file */
} dataset_roster;

/* Parse a roster. Fails (RC_ERR_INVALID, nothing kept) only when the whole
 * file is unusable: not UTF-8 text, or no row at all; bad rows go to
 * out->errors. Free with dataset_roster_free. */
rc_status dataset_roster_parse(const void *text, size_t len, dataset_roster *out, rc_error *err);
void dataset_roster_free(dataset_roster *r);

/* ---- an import ------------------------------------------------------------ */

typedef struct dataset dataset;

/* Skip reasons (stable codes; the UI translates them). */
#define DATASET_R_STRAY       "stray_file"
#define DATASET_R_UNSUPPORTED "unsupported_format"
#define DATASET_R_NESTED      "nested_folder"
#define DATASET_R_HIDDEN      "hidden_file"
#define DATASET_R_ROSTER      "roster_invalid"
#define DATASET_R_PERSON      "invalid_person"

/* A new, empty import; NULL when out of memory. */
dataset *dataset_new(void);
void dataset_free(dataset *d);

/* Add one file by its path relative to the dataset folder ("ana/1.jpg",
 * "roster.csv"). `person`, when not NULL/empty, is the folder of a bare file
 * name (the API's `person` field). A photo is kept as `ref` (the caller's
 * handle, read through dataset_io.load when its person's turn comes); a
 * roster's bytes are parsed now (`data`, `len`); other files are recorded as
 * skipped. Errors only for out of memory. */
rc_status dataset_add(dataset *d, const char *path, const char *person, size_t ref,
                      const void *data, size_t len, rc_error *err);

typedef enum {
    DATASET_LINE_SKIPPED, /* a file not imported: code, reason */
    DATASET_LINE_ROSTER,  /* a roster row not imported: line, code, reason */
    DATASET_LINE_PHOTO,   /* a photo judged by recog_enroll: result */
    DATASET_LINE_PERSON,  /* a person's outcome: created / updated / neither */
} dataset_line_kind;

/* One outcome. Pointers are valid during the callback only. */
typedef struct {
    dataset_line_kind kind;
    const char *file;                  /* SKIPPED, PHOTO: the path as added; ROSTER: the roster's */
    const char *person;                /* PHOTO, PERSON: the code; SKIPPED: the folder, if any */
    int line;                          /* ROSTER, and PERSON from a roster row: its line */
    const char *code;                  /* SKIPPED, ROSTER, PERSON not created: the reason code */
    const char *problem;               /* roster_invalid: what is wrong (dataset_row_error) */
    const char *value;                 /* roster_invalid: the text it is about, or "" */
    const char *reason;                /* English text */
    const recog_enroll_result *result; /* PHOTO */
    int64_t person_id;                 /* PERSON: 0 when not created */
    const char *name;                  /* PERSON: display name */
    bool created, updated;             /* PERSON */
    int photos, accepted;              /* PERSON: photos judged, accepted */
} dataset_line;

typedef struct {
    store *db;
    recog *rg;
    bool consent; /* record consent for people who have none */
    /* The whole folder name is the code and the name, as before
     * dataset_split_code: "1234_Ana_Garcia" is one code (and a first name). */
    bool whole_folder_codes;
    const char *actor; /* audit ("cli", "user:3") */
    /* Read photo `ref` (the caller owns the bytes until release); an error
     * becomes that photo's refusal. */
    rc_status (*load)(void *user, size_t ref, const void **data, size_t *len, rc_error *err);
    void (*release)(void *user, size_t ref); /* may be NULL */
    void (*emit)(void *user, const dataset_line *line);
    void *user;
} dataset_io;

typedef struct {
    int photos;  /* photos counted (supported files in person folders) */
    int persons; /* person folders */
    int rows;    /* good roster rows */
    int skipped; /* files skipped, roster rows refused */
    int accepted, created, updated;
} dataset_totals;

/* Counts known before the run (photos, persons, rows, skipped so far). */
void dataset_totals_get(const dataset *d, dataset_totals *t);

/* Do the next piece (the skipped files first, then one person folder, then
 * one roster row without photos), emitting its lines; false when nothing is
 * left. Returns an error only when the store fails outright. */
bool dataset_step(dataset *d, const dataset_io *io);

#endif
