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
    {"bench", "measure performance (models, ...)", cli_bench},
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
