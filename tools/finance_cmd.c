/* tools/finance_cmd.c — `acre payouts` and `acre statement` (SPEC 10): what finance pays of a
 * closed period, and the document it sends an affiliate, from the stored ledgers. */
#include "finance_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_payouts(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    char *ledger = NULL;
    const char *format = a->format_given ? a->format : "csv";
    int rc;

    acre_error_clear(&err);
    if (a->npos != 2)
        return usage("payouts: name one PERIOD (YYYY-MM)");
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return usage("payouts: --format csv or json");
    if ((rc = open_store(&s, a)))
        return rc;
    if (!(rc = acre_ledger_get(s, a->pos[1], &ledger, &err)))
        rc = acre_payouts_write(stdout, s, ledger, format, a->affiliate, &err);
    free(ledger);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: payouts: %s\n", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

int cmd_statement(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    const char *format = a->format_given ? a->format : "html";
    int rc;

    acre_error_clear(&err);
    if (a->npos != 2)
        return usage("statement: name one PERIOD (YYYY-MM)");
    if (!a->affiliate)
        return usage("statement: --affiliate ID names whose statement");
    if (strcmp(format, "html") != 0 && strcmp(format, "text") != 0)
        return usage("statement: --format html or text");
    if ((rc = open_store(&s, a)))
        return rc;
    rc = acre_statement_write(stdout, s, a->pos[1], a->affiliate, format, &err);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: statement: %s\n", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}
