/* tools/args.c — parsing the acre program's command line (tools/args.h). */
#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options may come before or after positional arguments (SPEC 9). */
int parse_args(args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->db = getenv("ACRE_DB");
    a->deliver_every = -1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--db") == 0 || strcmp(s, "--rejects") == 0 || strcmp(s, "--format") == 0 ||
            strcmp(s, "--affiliate") == 0 || strcmp(s, "--file") == 0 || strcmp(s, "--into") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "acre: %s needs a value\n", s);
                return -1;
            }
            if (s[2] == 'd')
                a->db = argv[++i];
            else if (s[2] == 'r')
                a->rejects = argv[++i];
            else if (strcmp(s, "--format") == 0)
                a->format = argv[++i];
            else if (strcmp(s, "--file") == 0)
                a->file = argv[++i];
            else if (strcmp(s, "--into") == 0)
                a->into = argv[++i];
            else
                a->affiliate = argv[++i];
        } else if (strcmp(s, "--plan") == 0 || strcmp(s, "--assign") == 0) {
            int plan = s[2] == 'p';
            if (i + 1 >= argc) {
                fprintf(stderr, "acre: %s needs a value\n", s);
                return -1;
            }
            if (plan ? a->nplans >= 64 : a->nassigns >= 256) {
                fprintf(stderr, "acre: too many %s options\n", s);
                return -1;
            }
            if (plan)
                a->plans[a->nplans++] = argv[++i];
            else
                a->assigns[a->nassigns++] = argv[++i];
        } else if (strcmp(s, "--head") == 0 || strcmp(s, "--anchor") == 0 ||
                   strcmp(s, "--key-file") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "acre: %s needs a value\n", s);
                return -1;
            }
            *(s[2] == 'h' ? &a->head : s[2] == 'a' ? &a->anchor : &a->key_file) = argv[++i];
        } else if (strcmp(s, "--listen") == 0 || strcmp(s, "--tls-cert") == 0 ||
                   strcmp(s, "--tls-key") == 0 || strcmp(s, "--threads") == 0 ||
                   strcmp(s, "--rate") == 0 || strcmp(s, "--request-timeout") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "acre: %s needs a value\n", s);
                return -1;
            }
            if (strcmp(s, "--listen") == 0) {
                a->listen = argv[++i];
            } else if (strcmp(s, "--tls-cert") == 0) {
                a->tls_cert = argv[++i];
            } else if (strcmp(s, "--tls-key") == 0) {
                a->tls_key = argv[++i];
            } else {
                char *end;
                int timeout = strcmp(s, "--request-timeout") == 0;
                long max = s[2] == 't' ? 256 : timeout ? 3600 : 1000000000L;
                long v = strtol(argv[++i], &end, 10);
                if (*end || end == argv[i] || v < 1 || v > max) {
                    fprintf(stderr, "acre: %s takes a positive number%s, not \"%s\"\n", s,
                            s[2] == 't' ? " up to 256"
                            : timeout   ? " of seconds up to 3600"
                                        : "",
                            argv[i]);
                    return -1;
                }
                *(s[2] == 't' ? &a->threads : timeout ? &a->request_timeout : &a->rate) = v;
            }
        } else if (strcmp(s, "--scope") == 0) {
            /* --scope S... : every word up to the next option */
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
                fprintf(stderr, "acre: --scope needs a value\n");
                return -1;
            }
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                if (a->nscopes >= 64) {
                    fprintf(stderr, "acre: too many scopes\n");
                    return -1;
                }
                a->scopes[a->nscopes++] = argv[++i];
            }
        } else if (strcmp(s, "--deliver-every") == 0) {
            char *end;
            if (i + 1 >= argc) {
                fprintf(stderr, "acre: --deliver-every needs a value\n");
                return -1;
            }
            a->deliver_every = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || a->deliver_every < 0 || a->deliver_every > 3600) {
                fprintf(stderr,
                        "acre: --deliver-every takes seconds from 0 (none) to 3600, not "
                        "\"%s\"\n",
                        argv[i]);
                return -1;
            }
        } else if (strcmp(s, "--status") == 0 || strcmp(s, "--queue") == 0 ||
                   strcmp(s, "--topic") == 0 || strcmp(s, "--group") == 0 ||
                   strcmp(s, "--from") == 0 || strcmp(s, "--to") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "acre: %s needs a value\n", s);
                return -1;
            }
            *(s[2] == 's'                 ? &a->status
              : s[2] == 'q'               ? &a->queue
              : strcmp(s, "--topic") == 0 ? &a->topic
              : s[2] == 'g'               ? &a->group
              : s[2] == 'f'               ? &a->from
                                          : &a->to) = argv[++i];
        } else if (strcmp(s, "--rotate") == 0) {
            a->rotate = 1;
        } else if (strcmp(s, "--now") == 0) {
            a->now = 1;
        } else if (strcmp(s, "--recompute") == 0) {
            a->recompute = 1;
        } else if (strncmp(s, "--format=", 9) == 0) {
            a->format = s + 9;
        } else if (strncmp(s, "--affiliate=", 12) == 0) {
            a->affiliate = s + 12;
        } else if (strcmp(s, "--update") == 0) {
            a->update = 1;
        } else if (strcmp(s, "--on-disk") == 0) {
            a->on_disk = 1;
        } else if (strncmp(s, "--db=", 5) == 0) {
            a->db = s + 5;
        } else if (strncmp(s, "--rejects=", 10) == 0) {
            a->rejects = s + 10;
        } else if (strcmp(s, "--atomic") == 0) {
            a->atomic = 1;
        } else if (strcmp(s, "--explain") == 0) {
            a->explain = 1;
        } else if (strcmp(s, "--allow-gap") == 0) {
            a->allow_gap = 1;
        } else if (strcmp(s, "--full-read") == 0) {
            a->full_read = 1;
        } else if (strcmp(s, "--early") == 0) {
            a->early = 1;
        } else if (strcmp(s, "--again") == 0) {
            a->again = 1;
        } else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            a->help = 1;
        } else if (strcmp(s, "--version") == 0) {
            a->version = 1;
        } else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) {
            a->quiet = 1;
        } else if (s[0] == '-' && s[1] == '-') {
            fprintf(stderr, "acre: unknown option %s\n", s);
            return -1;
        } else {
            if (a->npos >= (int)(sizeof a->pos / sizeof a->pos[0])) {
                fprintf(stderr, "acre: too many arguments\n");
                return -1;
            }
            a->pos[a->npos++] = s;
        }
    }
    if (!a->db || !*a->db)
        a->db = "acre.db";
    a->format_given = a->format != NULL;
    if (!a->format)
        a->format = "json";
    return 0;
}

int open_store(acre_store **s, const args *a)
{
    acre_error err;
    int rc;
    if (a->cmd->store == CLI_STORE && store_missing(a->db))
        return EXIT_USAGE;
    acre_error_clear(&err);
    rc = a->cmd->store == CLI_STORE ? acre_store_open_existing(s, a->db, &err)
                                    : acre_store_open(s, a->db, &err);
    if (rc) {
        fprintf(stderr, "acre: %s\n", err.message);
        return exit_for(rc);
    }
    return 0;
}
