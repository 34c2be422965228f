/* engine/backup.c — a consistent copy of a live store (`acre backup DEST`).
 *
 * Copying the file with cp while another process writes it can copy pages of two states, or miss
 * what is still in the -wal file: SQLite's online backup reads one snapshot, page by page, in a
 * read transaction, so writers go on and the copy is one committed state. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

static void remove_copy(const char *dest)
{
    const char *suffix[] = {"", "-journal", "-wal", "-shm"};
    char p[4096];
    for (int k = 0; k < 4; k++)
        if (snprintf(p, sizeof p, "%s%s", dest, suffix[k]) < (int)sizeof p)
            unlink(p);
}

int acre_store_backup(acre_store *s, const char *dest, acre_error *err)
{
    sqlite3 *to = NULL;
    sqlite3_backup *b;
    int fd, rc, tries = 0;

    if (!dest[0] || strcmp(dest, ":memory:") == 0)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "backup", "backup: name a new file");
    /* the copy holds the same personal data as the store: 0600 whatever the umask */
    fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return acre_error_set(err, errno == EEXIST ? ACRE_EUSAGE : ACRE_EIO, NULL, "backup",
                              errno == EEXIST ? "backup: %s exists: a backup is written to a new "
                                                "file, never over one"
                                              : "backup: cannot create %s: %s",
                              dest, strerror(errno));
    if (fchmod(fd, 0600)) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: %s: %s", dest, strerror(errno));
        close(fd);
        remove_copy(dest);
        return rc;
    }
    close(fd);
    if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: opening %s: %s", dest,
                            to ? sqlite3_errmsg(to) : "out of memory");
        goto out;
    }
    if (!(b = sqlite3_backup_init(to, "main", s->db, "main"))) {
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: %s: %s", dest,
                            sqlite3_errmsg(to));
        goto out;
    }
    /* all pages in one step: one read transaction, so one snapshot (a writer waits on no one) */
    while (((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
           ++tries < 600)
        sqlite3_sleep(50); /* at most 30 s, the store's busy timeout */
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        rc = acre_error_set(err, rc == SQLITE_NOMEM ? ACRE_ENOMEM : ACRE_EIO, NULL, "backup",
                            "backup: copying the store to %s: %s", dest, sqlite3_errstr(rc));
        goto out;
    }
    rc = 0;
out:
    if (to && sqlite3_close(to) != SQLITE_OK && !rc)
        rc = acre_error_set(err, ACRE_EIO, NULL, "backup", "backup: closing %s", dest);
    if (rc)
        remove_copy(dest);
    return rc;
}
