/* tools/replay.c — run a fixture in a fresh store (in memory, or a temporary file with
 * --on-disk) and compare each ledger.
 *
 * case.json: {"description": ..., "steps": [...]}. Steps: {"ingest": KIND, "files": [...]},
 * {"plan": FILE or [FILES]}, {"close": PERIOD}, {"preview": PERIOD}. A close or preview step
 * with "allow_gap": true may leave months after the last closed period unclosed (SPEC 10); an
 * ingest step with "again": true stores files whose bytes an earlier batch of the kind had (else
 * such a file fails the replay, as `acre ingest` refuses it). acre adds one key: a close
 * or preview step with "refused": RULE expects the close to be refused with that rule (a missing
 * FX rate, say) and writes nothing. Replay never reads the clock: a batch's stored_at is
 * unknown, and no period is refused for not having ended. Ledgers go to expected/PERIOD.json (PERIOD.preview.json for
 * a preview).
 *
 * A close or preview step may also carry "expect": {AFFILIATE: {FIELD: VALUE}}: the numbers a
 * person worked out (earned, payable, carried_forward, brought_forward, or "lines" as
 * "kind:amount" strings in ledger order). They are checked against the ledger before it is
 * compared with its expected file, so --update cannot silently accept a wrong number. */
#include "replay.h"

#include "case.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acre.h"

/* 1 when path, with every symlink resolved, is dir itself or inside it: a fixture's files and
 * its expected/ may be symlinks, but only to places inside the fixture (a fixture from
 * elsewhere cannot make replay read /etc/shadow, or --update write outside it). */
static int inside(const char *dir, const char *path)
{
    char *d = realpath(dir, NULL), *p = realpath(path, NULL);
    size_t n = d ? strlen(d) : 0;
    int ok = d && p && strncmp(d, p, n) == 0 && (p[n] == '/' || p[n] == '\0');
    free(d);
    free(p);
    return ok;
}

/* Opens dir/name for reading if it stays inside dir (inside()); else NULL, with a message. */
static FILE *open_inside(const char *dir, const char *name, size_t step)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "rb"))) {
        fprintf(stderr, "acre: replay: step %zu: cannot open %s\n", step, path);
        return NULL;
    }
    if (!inside(dir, path)) {
        fprintf(stderr, "acre: replay: step %zu: %s leads outside the fixture (a symlink): refused\n",
                step, path);
        fclose(f);
        return NULL;
    }
    return f;
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)len + 1))) {
        *n = fread(p, 1, (size_t)len, f);
        p[*n] = '\0';
    }
    fclose(f);
    return p;
}

/* Prints where a and b first differ: the line number and both texts around that byte. */
static void show_diff(const char *name, const char *want, const char *got)
{
    int line = 1;
    size_t i = 0, from;
    while (want[i] && want[i] == got[i]) {
        if (want[i] == '\n')
            line++;
        i++;
    }
    from = i > 80 ? i - 80 : 0;
    printf("%s: differs at line %d, byte %zu\n  expected: ...%.160s\n  got:      ...%.160s\n", name,
           line, i, want + from, got + from);
}

static int compare(const char *dir, const char *period, int preview, const char *got, int update)
{
    char path[4096];
    char *want;
    size_t n;
    int rc = 0;
    snprintf(path, sizeof path, "%s/expected", dir);
    if (update)
        mkdir(path, 0777);
    if ((update || access(path, F_OK) == 0) && !inside(dir, path)) {
        fprintf(stderr, "acre: replay: %s leads outside the fixture (a symlink): refused\n", path);
        return 4;
    }
    snprintf(path, sizeof path, "%s/expected/%s%s.json", dir, period, preview ? ".preview" : "");
    if (update) {
        /* never through a symlink, wherever it points */
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!f || fputs(got, f) < 0 || fclose(f)) {
            fprintf(stderr, "acre: replay: cannot write %s%s\n", path,
                    fd < 0 && errno == ELOOP ? ": it is a symlink" : "");
            if (fd >= 0 && !f)
                close(fd);
            return 4;
        }
        return 0;
    }
    if (access(path, F_OK) == 0 && !inside(dir, path)) {
        fprintf(stderr, "acre: replay: %s leads outside the fixture (a symlink): refused\n", path);
        return 4;
    }
    if (!(want = read_file(path, &n))) {
        printf("%s: missing (run acre replay %s --update to write it)\n", path, dir);
        return 1;
    }
    if (strcmp(want, got) != 0) {
        show_diff(path, want, got);
        rc = 1;
    }
    free(want);
    return rc;
}

/* Checks the hand-worked numbers of a step against the ledger; prints each mismatch. */
static int check_expect(const char *dir, size_t step, const json_t *expect, const char *ledger)
{
    json_t *doc = json_loads(ledger, 0, NULL), *affs = json_object_get(doc, "affiliates");
    const char *id;
    json_t *want;
    int bad = 0;
    json_object_foreach((json_t *)expect, id, want)
    {
        json_t *aff = NULL, *a, *w;
        const char *field;
        size_t i;
        json_array_foreach(affs, i, a)
        {
            if (strcmp(json_string_value(json_object_get(a, "affiliate_id")), id) == 0)
                aff = a;
        }
        if (!aff) {
            printf("%s: step %zu: affiliate %s is not in the ledger\n", dir, step, id);
            bad = 1;
            continue;
        }
        json_object_foreach(want, field, w)
        {
            if (strcmp(field, "lines") == 0) {
                json_t *lines = json_object_get(aff, "lines"), *l;
                char got[4096] = "", exp[4096] = "";
                json_array_foreach(lines, i, l)
                {
                    size_t n = strlen(got);
                    snprintf(got + n, sizeof got - n, "%s%s:%s", i ? " " : "",
                             json_string_value(json_object_get(l, "kind")),
                             json_string_value(json_object_get(l, "amount")));
                }
                json_array_foreach(w, i, l)
                {
                    size_t n = strlen(exp);
                    snprintf(exp + n, sizeof exp - n, "%s%s", i ? " " : "", json_string_value(l));
                }
                if (strcmp(got, exp) != 0) {
                    printf("%s: step %zu: %s lines: expected [%s], got [%s]\n", dir, step, id, exp,
                           got);
                    bad = 1;
                }
            } else {
                const char *g = json_string_value(json_object_get(aff, field));
                if (!g || !json_is_string(w) || strcmp(g, json_string_value(w)) != 0) {
                    printf("%s: step %zu: %s %s: expected %s, got %s\n", dir, step, id, field,
                           json_string_value(w), g ? g : "(none)");
                    bad = 1;
                }
            }
        }
    }
    json_decref(doc);
    return bad;
}

static void on_reject(void *ctx, const acre_reject *r)
{
    (void)ctx;
    fprintf(stderr, "acre: replay: rejected: %s\n", r->text);
}

int (*acre_replay_open)(acre_store **s, const char *path, acre_error *err) = acre_store_open;

int acre_replay(const char *dir, int update, int on_disk, const char *into, int full_read,
                int usage_ok)
{
    char path[4096], file[4096] = "", msg[300];
    json_error_t je;
    json_t *cs, *steps, *step;
    acre_store *s = NULL;
    acre_error err;
    size_t i;
    int code = 0;

    if (!dir || !usage_ok) {
        fprintf(stderr, "acre: replay: name one fixture DIR\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/case.json", dir);
    if (!(cs = json_load_file(path, JSON_REJECT_DUPLICATES, &je))) {
        fprintf(stderr, "acre: replay: %s: line %d: %s\n", path, je.line, je.text);
        return 2;
    }
    if (acre_case_check(cs, msg, sizeof msg)) {
        fprintf(stderr, "acre: replay: %s: %s\n", path, msg);
        json_decref(cs);
        return 2;
    }
    steps = json_object_get(cs, "steps");
    acre_error_clear(&err);
    if (into) {
        /* a store to keep: a new file, so nothing else is in it */
        FILE *f = fopen(into, "rb");
        if (f) {
            fclose(f);
            fprintf(stderr, "acre: replay: %s exists: --into takes a new store file\n", into);
            json_decref(cs);
            return 2;
        }
    } else if (on_disk) {
        /* a file store: the close reads it on its reader threads (engine/close_read.h) */
        const char *tmp = getenv("TMPDIR");
        int fd;
        snprintf(file, sizeof file, "%s/acre-replay-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if ((fd = mkstemp(file)) < 0) {
            fprintf(stderr, "acre: replay: cannot create a store file %s\n", file);
            json_decref(cs);
            return 2;
        }
        close(fd);
    }
    if (!json_is_array(steps) || acre_replay_open(&s,
                                                 into      ? into
                                                 : on_disk ? file
                                                           : ":memory:",
                                                 &err)) {
        fprintf(stderr, "acre: replay: %s: %s\n", path,
                json_is_array(steps) ? err.message : "needs a \"steps\" array");
        json_decref(cs);
        return 2;
    }
    json_array_foreach(steps, i, step)
    {
        json_t *v;
        acre_error_clear(&err);
        if ((v = json_object_get(step, "ingest"))) {
            json_t *files = json_object_get(step, "files"), *f;
            size_t k;
            json_array_foreach(files, k, f)
            {
                FILE *in;
                acre_ingest_summary sum = {0};
                acre_ingest_opts o = {.source = json_string_value(f),
                                      .on_reject = on_reject,
                                      .again = json_is_true(json_object_get(step, "again"))};
                snprintf(path, sizeof path, "%s/%s", dir, json_string_value(f));
                if (!(in = open_inside(dir, json_string_value(f), i))) {
                    code = 2;
                    goto out;
                }
                if (acre_ingest(s, json_string_value(v), in, &o, &sum, &err) &&
                    (err.code != ACRE_EREJECTED || strcmp(err.rule, "resent") == 0)) {
                    fprintf(stderr, "acre: replay: step %zu: %s: %s%s\n", i, path, err.message,
                            strcmp(err.rule, "resent") == 0 ? " (in a case: \"again\": true)" : "");
                    fclose(in);
                    code = 4;
                    goto out;
                }
                fclose(in);
            }
        } else if ((v = json_object_get(step, "plan"))) {
            json_t *one = json_is_string(v) ? json_pack("[O]", v) : json_incref(v), *f;
            size_t k;
            json_array_foreach(one, k, f)
            {
                FILE *in;
                int added, unchanged;
                if (!(in = open_inside(dir, json_string_value(f), i))) {
                    json_decref(one);
                    code = 2;
                    goto out;
                }
                if (acre_plan_add(s, in, json_string_value(f), &added, &unchanged, &err))
                    fprintf(stderr, "acre: replay: step %zu: %s\n", i, err.message);
                fclose(in);
            }
            json_decref(one);
        } else if ((v = json_object_get(step, "close")) || (v = json_object_get(step, "preview"))) {
            int preview = json_object_get(step, "close") == NULL;
            const char *refused = json_string_value(json_object_get(step, "refused"));
            char *ledger = NULL;
            acre_close_opts co = {.store = !preview,
                                  .allow_gap = json_is_true(json_object_get(step, "allow_gap")),
                                  .full_read = full_read};
            int rc = acre_close_period_opts(s, json_string_value(v), &co, &ledger, &err);
            if (refused) {
                if (rc != ACRE_EREFUSED || strcmp(err.rule, refused) != 0) {
                    printf("%s: step %zu: expected %s %s to be refused (%s), got: %s\n", dir, i,
                           preview ? "preview" : "close", json_string_value(v), refused,
                           rc ? err.message : "a ledger");
                    code = 1;
                }
                free(ledger);
                continue;
            }
            if (rc) {
                printf("%s: step %zu: %s %s: %s\n", dir, i, preview ? "preview" : "close",
                       json_string_value(v), err.message);
                code = 1;
                continue;
            }
            if (json_object_get(step, "expect") &&
                check_expect(dir, i, json_object_get(step, "expect"), ledger))
                code = 1;
            rc = compare(dir, json_string_value(v), preview, ledger, update);
            free(ledger);
            if (rc == 4) { /* could not write, or refused: stop here */
                code = 4;
                goto out;
            }
            if (rc)
                code = code ? code : 1;
        } else {
            fprintf(stderr, "acre: replay: step %zu: unknown step\n", i);
            code = 2;
            goto out;
        }
    }
out:
    acre_store_free(s);
    json_decref(cs);
    if (file[0]) {
        const char *suffix[] = {"", "-wal", "-shm", "-journal"};
        for (int k = 0; k < 4; k++) {
            snprintf(path, sizeof path, "%s%s", file, suffix[k]);
            remove(path);
        }
    }
    return code;
}
