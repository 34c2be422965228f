/* tools/args.h — the acre program's command line, parsed (tools/args.c): every option of every
 * command, for the commands' functions in tools/acre.c and the files beside it. */
#ifndef ACRE_TOOLS_ARGS_H
#define ACRE_TOOLS_ARGS_H

#include "acre.h"
#include "cli.h"

typedef struct args {
    const char *db;
    const char *rejects, *format, *affiliate, *file, *into;
    const char *head, *anchor, *key_file; /* audit and close (SPEC 10 "Audit") */
    int recompute, atomic, explain, help, version, update, on_disk, format_given;
    int quiet;                   /* ingest, close, preview, simulate: no progress shown */
    int allow_gap, early, again; /* SPEC 10's safeguards, overridden */
    int full_read;               /* close, preview, replay: read every record (acre_close_opts) */
    const char *pos[256];
    int npos;
    const char *plans[64], *assigns[256]; /* simulate's --plan and --assign, in order */
    int nplans, nassigns;
    const char *listen, *tls_cert, *tls_key; /* serve */
    long threads, rate, request_timeout;     /* serve: 0 when not given */
    long deliver_every;                      /* serve --deliver-every: -1 when not given */
    const char *status;                      /* postbacks list --status */
    const char *queue, *topic, *group;       /* consume */
    const char *from, *to;                   /* copy --from SRC --to DEST */
    int rotate, now;                         /* affiliates secret --rotate, deliver --now */
    const char *scopes[64];                  /* clients add --scope S... */
    int nscopes;
    const cli_command *cmd; /* the command's row of cli_commands */
} args;

/* Fills a from argv; -1 (after saying why on stderr) on a malformed command line. */
int parse_args(args *a, int argc, char **argv);

/* Opens a's store: 0, or the exit status after saying why it cannot be opened: 2 for a missing
 * store when the command's row says CLI_STORE, or for a database that is not an acre store
 * (SPEC 13: a missing store), 4 when opening it failed. */
int open_store(acre_store **s, const args *a);

#endif
