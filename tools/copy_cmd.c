/* tools/copy_cmd.c — `acre copy --from SRC --to DEST` (SPEC 13, issue 22): a store moved
 * between backends, every version kept (engine/store_copy.c; docs/store-backends.md). */
#include "copy_cmd.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* `name` as it may be shown: a URL's password (postgresql://u:pw@h/db, ...?password=pw)
 * replaced by ***. */
static void shown(char *out, size_t cap, const char *name)
{
    const char *scheme = strstr(name, "://"), *at, *colon;
    char *pw;
    if (acre_store_is_url(name) && scheme && (at = strchr(scheme + 3, '@')) &&
        (colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3))))
        snprintf(out, cap, "%.*s:***%s", (int)(colon - name), name, at);
    else
        snprintf(out, cap, "%s", name);
    if (acre_store_is_url(name) && (pw = strstr(out, "password=")) != NULL &&
        strlen(out) + 3 < cap) {
        size_t end = strcspn(pw + 9, "&");
        memmove(pw + 12, pw + 9 + end, strlen(pw + 9 + end) + 1);
        memcpy(pw + 9, "***", 3);
    }
}

int cmd_copy(const args *a)
{
    acre_store *from = NULL, *to = NULL;
    acre_copy_stats n;
    acre_error err;
    char to_name[512];
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
    /* a new SQLite file, made here (O_EXCL: not one another process made meanwhile), is removed
     * again when the copy fails: no half store is left */
    if (!acre_store_is_url(a->to)) {
        int fd = open(a->to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        made = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
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
