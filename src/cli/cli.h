/*
 * cli — the `rollcall` command line: one function per subcommand, each with
 * its own --help. main() looks the subcommand up in a table and calls it.
 */
#ifndef RC_CLI_H
#define RC_CLI_H

#include <stddef.h>

/* A subcommand: argv[0] is the subcommand name. Returns the process exit
 * status: 0 success, 1 failure at run time, 2 bad usage. */
typedef int (*cli_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    const char *summary; /* one line for `rollcall --help` */
    cli_fn run;
} cli_command;

int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_webhook(int argc, char **argv);

/* The database to open: db if given, else $ROLLCALL_DB, else DATA/rollcall.db
 * (written into buf). */
const char *cli_db_url(const char *db, const char *data, char *buf, size_t cap);
int cli_bench(int argc, char **argv);
int cli_detect(int argc, char **argv);
int cli_embed(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_identify(int argc, char **argv);
int cli_enroll(int argc, char **argv);         /* enroll.c */
int cli_import(int argc, char **argv);         /* enroll.c */
int cli_bench_pipeline(int argc, char **argv); /* rollcall bench pipeline */
int cli_bench_gallery(int argc, char **argv);  /* rollcall bench gallery */
int cli_client(int argc, char **argv);
int cli_probe(int argc, char **argv);
int cli_calibrate(int argc, char **argv); /* calibrate.c */

/* Scan models_dir for the default models listed in its manifest.json (or any
 * *.onnx when there is no manifest). Returns a NULL-terminated array of file
 * names that the caller frees with cli_free_list. */
char **cli_list_models(const char *models_dir);
void cli_free_list(char **list);

#endif
