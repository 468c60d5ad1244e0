/*
 * main.c — entry point of the `rollcall` binary: global options, the table of
 * subcommands and their dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "../rc/rc.h"
#include "cli.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("rollcall %s\n", RC_VERSION);
    return 0;
}

static const cli_command commands[] = {
    {"serve", "run the HTTP server (REST API, web UI, cameras)", cli_serve},
    {"user", "manage login accounts (add, passwd, unlock, list)", cli_user},
    {"db", "database: migrate, status, backup FILE, check", cli_db},
    {"export", "export attendance for a date range as CSV or XLSX", cli_export},
    {"webhook", "outgoing webhooks: list, add, delete, test, deliveries", cli_webhook},
    {"bench", "measure performance (models, pipeline, gallery)", cli_bench},
    {"calibrate", "input ranges of the detection and embedding models for int8", cli_calibrate},
    {"detect", "find faces in photos: boxes, landmarks, liveness, quality", cli_detect},
    {"embed", "print the embedding of the face in a photo as JSON", cli_embed},
    {"compare", "similarity of the faces in two photos: same person or not", cli_compare},
    {"identify", "name the faces in photos from a folder of known people", cli_identify},
    {"enroll", "enroll photos of one person (the server's policy)", cli_enroll},
    {"import", "import people (a roster CSV) and their photos (one folder per person)", cli_import},
    {"client", "capture from a camera here and post frames to a server", cli_client},
    {"probe", "check a camera source: read a few frames, report what came", cli_probe},
    {"version", "print the version", cmd_version},
};

static void usage(FILE *out)
{
    fprintf(out,
            "rollcall %s — face-recognition attendance\n\n"
            "Usage: rollcall [--help] [--version] COMMAND [ARGS...]\n\n"
            "Commands:\n",
            RC_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'rollcall COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "rollcall: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
