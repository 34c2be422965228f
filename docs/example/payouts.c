/* docs/example/payouts.c — a program that embeds acre (docs/library.md): what to pay for a
 * closed period of a store, as `acre payouts` prints it, and which acre it ran on.
 *
 *   cc payouts.c $(pkg-config --cflags --libs acre) -o payouts && ./payouts acre.db 2026-03
 *
 * The same file builds as C++ (c++ -x c++ payouts.c ...): the headers have extern "C". */
#include <acre.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    acre_store *s = NULL;
    acre_error err;
    char *ledger = NULL;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: payouts STORE PERIOD\n");
        return 2;
    }
    acre_error_clear(&err);
    if ((rc = acre_store_open(&s, argv[1], &err)) == 0 &&
        (rc = acre_ledger_get(s, argv[2], &ledger, &err)) == 0)
        rc = acre_payouts_write(stdout, s, ledger, "csv", NULL, &err);
    free(ledger);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "payouts: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "acre %s on %s\n", acre_version(), acre_library_versions());
    return 0;
}
