/* tools/cli.c — the program's small pieces: the usage text (around the commands' own lines, which
 * their table in tools/acre.c holds), exit codes from library errors, and the files and clock that
 * only the program touches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acre.h"
#include "cli.h"

static const char usage_head[] =
    "usage: acre [--db PATH] COMMAND [ARGS]\n"
    "\n"
    "commands:\n";

static const char usage_tail[] =
    "\n"
    "--key-file FILE (else $ACRE_LEDGER_KEY_FILE): its bytes, at least 32, are the key of the\n"
    "ledgers' hmac-sha256 mac (close, preview, audit).\n"
    "--db PATH (an SQLite file, or postgresql://USER@HOST:PORT/DB) defaults to $ACRE_DB, else\n"
    "./acre.db; only ingest, plan add, clients add, replay --into and copy --to create a\n"
    "store (a file mode 0600, or acre's tables in an empty database); other commands refuse\n"
    "a store that does not exist (exit 2).\n"
    "Exit status: 0 success, 1 a comparison found a difference, 2 bad usage, 3 some input\n"
    "records (or a plan) were rejected, 4 refused and nothing written, or the output could not\n"
    "be written whole.\n";

const cli_command *cli_current;

void usage_write(FILE *f)
{
    fputs(usage_head, f);
    for (const cli_command *c = cli_commands; c->name; c++)
        fputs(c->help, f);
    fputs(usage_tail, f);
    fputs("\n`acre help COMMAND` (or `acre COMMAND --help`) shows one command; `acre --version`\n"
          "the versions; docs/ has the guides.\n",
          f);
}

void command_help(FILE *f, const cli_command *c)
{
    fprintf(f, "usage: acre [--db PATH] %s ...\n\n%s", c->name, c->help);
    fputs(usage_tail, f);
}

int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "acre: %s\n", msg);
    if (cli_current) {
        command_help(stderr, cli_current);
        fputs("(acre help: every command)\n", stderr);
    } else {
        usage_write(stderr);
    }
    return EXIT_USAGE;
}

int exit_for(int rc)
{
    switch (rc) {
    case 0:
        return EXIT_OK;
    case ACRE_EUSAGE:
        return EXIT_USAGE;
    case ACRE_EREJECTED:
    case ACRE_EINVALID:
        return EXIT_REJECTED;
    default:
        return EXIT_REFUSED;
    }
}

/* Commands that only read or close a store refuse one that does not exist, rather than make an
 * empty one (a typo in --db would close an empty month). Returns 1 (after saying so) when the
 * store is missing. */
int store_missing(const char *db)
{
    struct stat st;
    if (acre_store_is_url(db)) {
        /* a database without acre's schema is a missing store (SPEC 13); one that cannot be
         * reached is said by the command's own open */
        acre_store *s = NULL;
        acre_error err;
        int rc;
        acre_error_clear(&err);
        rc = acre_store_open_existing(&s, db, &err);
        acre_store_free(s);
        if (rc != ACRE_EUSAGE || strcmp(err.rule, "missing_store") != 0)
            return 0;
        fprintf(stderr, "acre: %s (name the store with --db or $ACRE_DB)\n", err.message);
        return 1;
    }
    if (strcmp(db, ":memory:") == 0 || stat(db, &st) == 0 || errno != ENOENT)
        return 0;
    fprintf(stderr,
            "acre: no store %s: only ingest, plan add and replay --into create one (name the "
            "store with --db PATH or $ACRE_DB)\n",
            db);
    return 1;
}

/* Closes a file this program wrote; nonzero when a write to it or the close failed. */
int close_written(FILE *f)
{
    int bad = ferror(f);
    return (fclose(f) != 0) | bad;
}

/* A new file written 0600 whatever the umask (reject lines quote personal data); an existing
 * one is truncated and made 0600. Only a regular file: /dev/null, a pipe or a terminal keeps
 * its mode (run as root, `--rejects /dev/null` made /dev/null 0600, and every other user's
 * writes to it failed). NULL with errno set on failure. */
FILE *open_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct stat st;
    FILE *f;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) || (S_ISREG(st.st_mode) && fchmod(fd, 0600)) || !(f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    return f;
}

/* Now, UTC, as ISO 8601 ("2026-05-03T10:00:00Z"), and the month it is in (months since year 0).
 * The program reads the clock; the library never does. */
int utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/* Before anything is opened for writing: a directory is not a file of records (reading it
 * fails; exit 4, nothing stored), and --rejects naming one of the inputs (same device and inode,
 * whatever the path) would truncate it (exit 2). */
int check_inputs(FILE **files, const char **names, int n, const char *rejects)
{
    struct stat rs;
    int have_rs = rejects && stat(rejects, &rs) == 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (fstat(fileno(files[i]), &st) != 0)
            continue; /* the read will fail and say so */
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr,
                    "acre: ingest: %s is a directory, not a file of records; nothing is "
                    "stored\n",
                    names[i]);
            return EXIT_REFUSED;
        }
        if (have_rs && S_ISREG(st.st_mode) && st.st_dev == rs.st_dev && st.st_ino == rs.st_ino) {
            fprintf(stderr,
                    "acre: ingest: --rejects %s is the input file %s; name another file "
                    "for the rejects\n",
                    rejects, names[i]);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

/* The whole file as a new NUL-terminated string (its length in *len), or NULL. */
char *read_file(const char *path, size_t *len)
{
    FILE *in;
    long n;
    char *p = NULL;
    if (!(in = fopen(path, "rb")) || fseek(in, 0, SEEK_END) || (n = ftell(in)) < 0 ||
        fseek(in, 0, SEEK_SET) || !(p = malloc((size_t)n + 1)) ||
        fread(p, 1, (size_t)n, in) != (size_t)n) {
        if (in)
            fclose(in);
        free(p);
        return NULL;
    }
    fclose(in);
    p[n] = '\0';
    if (len)
        *len = (size_t)n;
    return p;
}
