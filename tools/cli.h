/* tools/cli.h — the acre program's shared pieces (tools/cli.c): exit codes, the command table's
 * row, usage, the files and clock only the program touches. The library never prints, exits or
 * reads the clock. */
#ifndef ACRE_TOOLS_CLI_H
#define ACRE_TOOLS_CLI_H

#include <stddef.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_DIFF = 1, EXIT_USAGE = 2, EXIT_REJECTED = 3, EXIT_REFUSED = 4 };

struct args; /* the parsed command line (tools/acre.c) */

/* What a command does with the store named by --db. */
enum {
    CLI_NO_STORE, /* never opens it */
    CLI_STORE,    /* opens it, and refuses one that does not exist (store_missing) */
    CLI_NEW_STORE /* opens it, and makes it when it does not exist */
};

/* One command of the program: `acre NAME ...` runs run(). */
typedef struct cli_command {
    const char *name;
    int (*run)(const struct args *a); /* returns the exit status */
    int store;                        /* CLI_NO_STORE, CLI_STORE or CLI_NEW_STORE */
    const char *help;                 /* its lines of the usage text: synopsis and summary */
} cli_command;

/* Every command, in the order the usage text lists them; a row with a NULL name ends it
 * (tools/acre.c). */
extern const cli_command cli_commands[];

/* Writes the usage text to f: its head, each command's help in table order, its tail. */
void usage_write(FILE *f);

/* The command being run, once known (tools/acre.c sets it): a usage error then shows its help
 * only. */
extern const cli_command *cli_current;

/* Writes command c's help to f: its synopsis and what it does, then the options every command
 * takes and the exit statuses. */
void command_help(FILE *f, const cli_command *c);

/* Prints msg (if any) and, on stderr, the current command's help (or the usage text before a
 * command is known); returns EXIT_USAGE. */
int usage(const char *msg);

/* The exit status for a library error code (SPEC 2). */
int exit_for(int rc);

/* Commands that only read or close a store refuse one that does not exist, rather than make an
 * empty one (a typo in --db would close an empty month). Returns 1 (after saying so) when the
 * store is missing. */
int store_missing(const char *db);

/* Closes a file this program wrote; nonzero when a write to it or the close failed. */
int close_written(FILE *f);

/* A new file written 0600 whatever the umask (reject lines quote personal data); an existing
 * one is truncated and made 0600. NULL with errno set on failure. */
FILE *open_private(const char *path);

/* Now, UTC, as ISO 8601 ("2026-05-03T10:00:00Z"), and the month it is in (months since year 0).
 * The program reads the clock; the library never does. */
int utc_now(char out[32]);

/* Before anything is opened for writing: a directory is not a file of records (EXIT_REFUSED),
 * and --rejects naming one of the inputs (same device and inode) would truncate it
 * (EXIT_USAGE). EXIT_OK otherwise. */
int check_inputs(FILE **files, const char **names, int n, const char *rejects);

/* The whole file as a new NUL-terminated string (its length in *len), or NULL. */
char *read_file(const char *path, size_t *len);

#endif
