/* engine/audit.c — `acre audit`: every stored ledger against its digest and the chain.
 *
 * A ledger's digest is the SHA-256 of its document with the final ,"digest":"..." member removed
 * (docs/close.md). For each closed period, in order, the audit checks that:
 *   - the stored text hashes to the digest written inside it, and to the close row's digest;
 *   - the text's period is the row's period;
 *   - its previous_digest is the digest of the period closed before it (null for the first),
 *     in the text and in the row.
 *   - its numbers add up: each line re-derived from its detail, each total from the lines, as
 *     `acre verify` does, naming the affiliate and line that do not (so an edit is located, and
 *     caught even when the digests were recomputed after it).
 * It reports every problem, one line each, naming the period and what does not match. */
#include <stdlib.h>
#include <string.h>

#include "acre/audit.h"
#include "alloc.h"
#include "digest.h"
#include "store_int.h"
#include "verify_int.h"

/* Sets *out to the value of the first "key":"..." member of doc as a new string, "null" for
 * null, or NULL when there is none. Returns 0, or -1 when out of memory. */
static int member(char **out, const char *doc, const char *key)
{
    char pat[64];
    const char *p, *e;
    *out = NULL;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (!(p = strstr(doc, pat)))
        return 0;
    p += strlen(pat);
    if (strncmp(p, "null", 4) == 0)
        return (*out = acre_strdup("null")) ? 0 : -1;
    if (*p != '"' || !(e = strchr(p + 1, '"')))
        return 0;
    if (!(*out = acre_malloc((size_t)(e - p))))
        return -1;
    memcpy(*out, p + 1, (size_t)(e - p - 1));
    (*out)[e - p - 1] = '\0';
    return 0;
}

static void problem(FILE *out, int *nbad, const char *period, const char *what, const char *a,
                    const char *b)
{
    fprintf(out, "%s\tFAIL\t%s", period, what);
    if (a || b)
        fprintf(out, " (%s, expected %s)", a ? a : "none", b ? b : "none");
    fputc('\n', out);
    (*nbad)++;
}

int acre_audit(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    sqlite3_stmt *st;
    char *prev = NULL;
    int rc, n = 0;
    *nbad = 0;
    if ((rc = acre_store_prepare(s, &st,
                                 "SELECT period_text, ledger, digest, previous_digest FROM close "
                                 "ORDER BY period",
                                 err)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *period, *doc, *dig, *rprev;
        const char *want_prev = prev ? prev : "null";
        char got[72];
        char *inner = NULL, *tper = NULL, *tprev = NULL;
        char prefix[40];
        int before = *nbad, nnum = 0;
        if ((rc = acre_store_row(s, st, err)))
            break;
        period = (const char *)sqlite3_column_text(st, 0);
        doc = (const char *)sqlite3_column_text(st, 1);
        dig = (const char *)sqlite3_column_text(st, 2);
        rprev = (const char *)sqlite3_column_text(st, 3);
        if (member(&inner, doc, "digest") || member(&tper, doc, "period") ||
            member(&tprev, doc, "previous_digest")) {
            free(inner);
            free(tper);
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        n++;
        if (acre_ledger_digest(got, doc, strlen(doc)))
            problem(out, nbad, period, "the ledger has no digest member", NULL, NULL);
        else if (!inner || strcmp(got, inner) != 0)
            problem(out, nbad, period,
                    "the ledger's content does not hash to the digest written in it", got, inner);
        if (inner && strcmp(inner, dig) != 0)
            problem(out, nbad, period, "the digest in the ledger is not the close's digest", inner,
                    dig);
        if (!tper || strcmp(tper, period) != 0)
            problem(out, nbad, period, "the ledger's period is not the close's period", tper,
                    period);
        if (!tprev || strcmp(tprev, want_prev) != 0)
            problem(out, nbad, period,
                    "the ledger's previous_digest is not the digest of the period closed before it",
                    tprev, want_prev);
        if (strcmp(rprev ? rprev : "null", want_prev) != 0)
            problem(out, nbad, period,
                    "the close's previous_digest is not the digest of the period closed before it",
                    rprev ? rprev : "null", want_prev);
        /* what changed, where the numbers show it (a line, a total, a missing line), even in
         * a ledger whose digests were recomputed after the edit */
        snprintf(prefix, sizeof prefix, "%.20s\tFAIL\t", period);
        if (acre_verify_numbers(doc, strlen(doc), prefix, out, &nnum)) {
            free(inner);
            free(tper);
            free(tprev);
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                                "out of memory: the audit stopped at %s", period);
            break;
        }
        *nbad += nnum;
        if (*nbad == before)
            fprintf(out, "%s\tok\t%s\n", period, dig);
        free(inner);
        free(tper);
        free(tprev);
        free(prev);
        if (!(prev = acre_strdup(dig))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
    }
    free(prev);
    if (rc != SQLITE_DONE && rc < 0) {
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_store_fail(s, "reading closed ledgers", err);
    fprintf(out, "%d closed period%s, %d problem%s\n", n, n == 1 ? "" : "s", *nbad,
            *nbad == 1 ? "" : "s");
    return 0;
}
