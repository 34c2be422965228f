/* tools/copy_cmd.c — `acre copy --from SRC --to DEST` (SPEC 13, issue 22): a store moved
 * between backends, every version kept (engine/store_copy.c; docs/store-backends.md). */
#include "copy_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `name` as it may be shown: a URL's password replaced by *** (postgresql://u:pw@h/db). */
static void shown(char *out, size_t cap, const char *name)
{
    const char *scheme = strstr(name, "://"), *at, *colon;
    if (!acre_store_is_url(name) || !scheme || !(at = strchr(scheme + 3, '@')) ||
        !(colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3)))) {
        snprintf(out, cap, "%s", name);
        return;
    }
    snprintf(out, cap, "%.*s:***%s", (int)(colon - name), name, at);
}

int cmd_copy(const args *a)
{
    acre_store *from = NULL, *to = NULL;
    acre_copy_stats n;
    acre_error err;
    char to_name[512];
    struct stat st;
    int rc, made = 0;

    if (a->npos != 1 || !a->from || !a->to)
        return usage("copy: name the store to copy with --from and the new store with --to");
    if (strcmp(a->from, a->to) == 0)
        return usage("copy: --from and --to name the same store");
    shown(to_name, sizeof to_name, a->to);
    acre_error_clear(&err);
    if ((rc = acre_store_open_existing(&from, a->from, &err))) {
        fprintf(stderr, "acre: %s\n", err.message);
        return exit_for(rc);
    }
    /* a new SQLite file is removed again when the copy fails: no half store is left */
    made = !acre_store_is_url(a->to) && stat(a->to, &st) != 0 && errno == ENOENT;
    if (!(rc = acre_store_open(&to, a->to, &err)))
        rc = acre_store_copy(from, to, to_name, &n, &err);
    acre_store_free(to);
    acre_store_free(from);
    if (rc) {
        if (made) {
            unlink(a->to);
            for (const char *const *x = (const char *const[]){"-wal", "-shm", NULL}; *x; x++) {
                char side[4096];
                if (snprintf(side, sizeof side, "%s%s", a->to, *x) < (int)sizeof side)
                    unlink(side);
            }
        }
        fprintf(stderr, "acre: copying the store: %s\n", err.message);
        return exit_for(rc);
    }
    printf("{\"tables\":%d,\"rows\":%ld}\n", n.tables, n.rows);
    return EXIT_OK;
}
