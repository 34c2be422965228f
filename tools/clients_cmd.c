/* tools/clients_cmd.c — `acre clients add|list|revoke`: the HTTP API's clients (SPEC 11;
 * include/acre/clients.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acre.h"
#include "cli.h"
#include "clients_cmd.h"

static int print_client(void *ctx, const acre_client *c)
{
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "client_id", c->client_id, "name", c->name,
                          "scope", c->scope, "created_at", c->created_at, "revoked_at",
                          c->revoked_at[0] ? c->revoked_at : NULL);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    (void)ctx;
    json_decref(v);
    if (!text)
        return -1;
    puts(text);
    free(text);
    return 0;
}

int clients_command(const char *db, int npos, const char *const *pos, const char *const *scopes,
                    int nscopes)
{
    const char *sub = npos > 1 ? pos[1] : "";
    acre_store *s = NULL;
    acre_error err;
    char now[32];
    int rc;

    if (strcmp(sub, "add") == 0      ? npos != 3 || nscopes == 0
        : strcmp(sub, "list") == 0   ? npos != 2
        : strcmp(sub, "revoke") == 0 ? npos != 3
                                     : 1)
        return usage("clients: add NAME --scope S..., list, or revoke ID");
    if (strcmp(sub, "add") != 0 && store_missing(db))
        return EXIT_USAGE;
    acre_error_clear(&err);
    if ((rc = acre_store_open(&s, db, &err))) {
        fprintf(stderr, "acre: %s\n", err.message);
        return exit_for(rc);
    }
    utc_now(now);
    if (strcmp(sub, "add") == 0) {
        char scope[1024] = "", secret[65];
        acre_client c;
        size_t n = 0;
        for (int i = 0; i < nscopes && n < sizeof scope; i++)
            n += (size_t)snprintf(scope + n, sizeof scope - n, "%s%s", i ? " " : "", scopes[i]);
        if (n >= sizeof scope) {
            acre_store_free(s);
            return usage("clients add: the scope is too long");
        }
        rc = acre_client_add(s, pos[2], scope, now, &c, secret, &err);
        if (rc == 0) {
            json_t *v = json_pack("{s:s,s:s,s:s}", "client_id", c.client_id, "client_secret",
                                  secret, "scope", c.scope);
            char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
            json_decref(v);
            if (text)
                puts(text);
            free(text);
            rc = text ? 0 : ACRE_ENOMEM;
        }
    } else if (strcmp(sub, "list") == 0) {
        rc = acre_clients_each(s, print_client, NULL, &err);
    } else {
        rc = acre_client_revoke(s, pos[2], now, &err);
    }
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: clients %s: %s\n", sub, err.message);
        /* an unknown affiliate in a scope is a rejected input (exit 3), a malformed scope or an
         * unknown client bad usage (2) */
        return rc == ACRE_ENOTFOUND && strcmp(err.rule, "unknown_affiliate") == 0 ? EXIT_REJECTED
               : rc == ACRE_EINVALID || rc == ACRE_ENOTFOUND                      ? EXIT_USAGE
                                                                                  : exit_for(rc);
    }
    return EXIT_OK;
}
