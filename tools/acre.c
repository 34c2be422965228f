/* tools/acre.c — the acre command line. The library never prints or exits; this does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "acre.h"
#include "acre/sys/alloc.h"
#include "args.h"
#include "cli.h"
#include "clients_cmd.h"
#include "consume.h"
#include "copy_cmd.h"
#include "finance_cmd.h"
#include "postbacks_cmd.h"
#include "progress.h"
#include "replay.h"
#include "serve.h"

typedef struct reject_sink {
    FILE *out;
    int explain;
} reject_sink;

static void on_reject(void *ctx, const acre_reject *r)
{
    reject_sink *k = ctx;
    fputs(k->explain ? r->text : r->json, k->out);
    fputc('\n', k->out);
}

/* The ledger key of --key-file, else of $ACRE_LEDGER_KEY_FILE, if any (SPEC 10). Returns 0, or
 * -1 when it cannot be read or is shorter than ACRE_LEDGER_KEY_MIN bytes (bad usage). */
static int set_key(acre_store *s, const args *a)
{
    const char *path = a->key_file ? a->key_file : getenv("ACRE_LEDGER_KEY_FILE");
    acre_error err;
    acre_error_clear(&err);
    if (!path || !*path)
        return 0;
    if (acre_store_set_ledger_key_file(s, path, &err)) {
        fprintf(stderr, "acre: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int cmd_ingest(const args *a)
{
    const char *kind;
    FILE *files[255];
    const char *names[255];
    int nfiles = 0, code = EXIT_OK;
    acre_store *s = NULL;
    acre_ingest_summary sum = {0};
    reject_sink sink = {stderr, a->explain};
    int valid_kind = 0;

    if (a->npos < 2)
        return usage("ingest: name a KIND");
    kind = a->pos[1];
    for (int i = 0; acre_kind_name(i); i++)
        valid_kind |= strcmp(acre_kind_name(i), kind) == 0;
    if (!valid_kind) {
        fprintf(stderr, "acre: ingest: unknown kind \"%s\"; the kinds are:", kind);
        for (int i = 0; acre_kind_name(i); i++)
            fprintf(stderr, " %s", acre_kind_name(i));
        fputc('\n', stderr);
        return EXIT_USAGE;
    }
    /* Open every file before storing anything, so a typo in the third name stores nothing. */
    for (int i = 2; i < a->npos; i++) {
        const char *f = a->pos[i];
        names[nfiles] = f;
        files[nfiles] = strcmp(f, "-") == 0 ? stdin : fopen(f, "rb");
        if (!files[nfiles]) {
            fprintf(stderr, "acre: ingest: cannot open %s\n", f);
            for (int j = 0; j < nfiles; j++)
                if (files[j] != stdin)
                    fclose(files[j]);
            return EXIT_USAGE;
        }
        nfiles++;
    }
    if (nfiles == 0) {
        names[0] = "-";
        files[0] = stdin;
        nfiles = 1;
    }
    if ((code = check_inputs(files, names, nfiles, a->rejects)) != EXIT_OK)
        goto out;
    if (a->rejects) {
        sink.out = open_private(a->rejects);
        if (!sink.out) {
            fprintf(stderr, "acre: ingest: cannot write %s\n", a->rejects);
            code = EXIT_USAGE;
            goto out;
        }
    }
    if ((code = open_store(&s, a)))
        goto out;
    for (int i = 0; i < nfiles; i++) {
        acre_error err;
        char now[32];
        acre_ingest_opts o = {.atomic = a->atomic,
                              .source = names[i],
                              .on_reject = on_reject,
                              .ctx = &sink,
                              .again = a->again,
                              .stored_at = now};
        ingest_progress pr;
        int rc;
        utc_now(now);
        acre_error_clear(&err);
        if (progress_start(&pr, names[i], files[i], a->quiet)) {
            o.progress = progress_show;
            o.progress_ctx = &pr;
        }
        rc = acre_ingest(s, kind, files[i], &o, &sum, &err);
        progress_end(&pr);
        if (rc == ACRE_EREJECTED) {
            fprintf(stderr, "acre: %s\n", err.message);
            if (code == EXIT_OK)
                code = EXIT_REJECTED;
        } else if (rc) {
            fprintf(stderr, "acre: %s: %s\n", names[i], err.message);
            code = EXIT_REFUSED;
        }
    }
    if (code == EXIT_OK && sum.rejected > 0)
        code = EXIT_REJECTED;
    printf("{\"kind\":\"%s\",\"received\":%ld,\"inserted\":%ld,\"updated\":%ld,"
           "\"unchanged\":%ld,\"rejected\":%ld}\n",
           kind, sum.received, sum.inserted, sum.updated, sum.unchanged, sum.rejected);
out:
    for (int i = 0; i < nfiles; i++)
        if (files[i] != stdin)
            fclose(files[i]);
    if (sink.out && sink.out != stderr && close_written(sink.out)) {
        fprintf(stderr, "acre: ingest: writing %s failed; the rejects in it are incomplete\n",
                a->rejects);
        code = EXIT_REFUSED;
    }
    acre_store_free(s);
    return code;
}

static int print_batch(void *ctx, const acre_batch *b)
{
    (void)ctx;
    printf("  %4lld  %-30s %6ld %8ld %7ld %9ld %8ld  %.12s  %s\n", b->batch, b->kind, b->received,
           b->inserted, b->updated, b->unchanged, b->rejected, b->sha256, b->source);
    return 0;
}

static int cmd_status(const args *a)
{
    acre_store *s;
    acre_kind_count counts[32];
    acre_error err;
    int n, rc;

    if ((rc = open_store(&s, a)))
        return rc;
    acre_error_clear(&err);
    n = acre_store_counts(s, counts, 32, &err);
    if (n < 0) {
        fprintf(stderr, "acre: %s\n", err.message);
        acre_store_free(s);
        return EXIT_REFUSED;
    }
    printf("store %s (schema %d)\n\n", a->db, ACRE_SCHEMA_VERSION);
    printf("  %-30s %9s %9s\n", "kind", "records", "versions");
    for (int i = 0; i < n; i++)
        printf("  %-30s %9ld %9ld\n", counts[i].kind, counts[i].records, counts[i].versions);
    printf("\ningested files\n  %4s  %-30s %6s %8s %7s %9s %8s  %-12s  %s\n", "#", "kind", "recvd",
           "inserted", "updated", "unchanged", "rejected", "sha256", "file");
    if (acre_store_batches(s, print_batch, NULL, &err)) {
        fprintf(stderr, "acre: %s\n", err.message);
        acre_store_free(s);
        return EXIT_REFUSED;
    }
    acre_store_free(s);
    return EXIT_OK;
}

static int print_plan(void *ctx, const acre_plan_info *p)
{
    (void)ctx;
    printf("%s@%ld\t%s\t%s\tsha256:%s\n", p->plan_id, p->version, p->currency,
           p->name ? p->name : "", p->sha256);
    return 0;
}

static int cmd_plan(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    int code = EXIT_OK, rc;
    const char *sub = a->npos > 1 ? a->pos[1] : "";

    acre_error_clear(&err);
    if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "show"))
        return usage("plan: add FILE..., list, or show ID[@VERSION]");
    if ((strcmp(sub, "add") == 0 && a->npos < 3) || (strcmp(sub, "show") == 0 && a->npos != 3))
        return usage(strcmp(sub, "add") == 0 ? "plan add: name a FILE"
                                             : "plan show: name ID[@VERSION]");
    /* plan add makes the store (CLI_NEW_STORE); list and show only read it */
    if (strcmp(sub, "add") != 0 && store_missing(a->db))
        return EXIT_USAGE;
    if ((rc = open_store(&s, a)))
        return rc;
    if (strcmp(sub, "add") == 0) {
        for (int i = 2; i < a->npos; i++) {
            FILE *f = strcmp(a->pos[i], "-") == 0 ? stdin : fopen(a->pos[i], "rb");
            int added = 0, unchanged = 0, rc;
            if (!f) {
                fprintf(stderr, "acre: plan add: cannot open %s\n", a->pos[i]);
                code = EXIT_USAGE;
                break;
            }
            rc = acre_plan_add(s, f, a->pos[i], &added, &unchanged, &err);
            if (f != stdin)
                fclose(f);
            if (rc) {
                fprintf(stderr, "acre: %s\n", err.message);
                code = exit_for(rc);
                continue;
            }
            printf("{\"file\":\"%s\",\"added\":%d,\"unchanged\":%d}\n", a->pos[i], added,
                   unchanged);
        }
    } else if (strcmp(sub, "list") == 0) {
        if (acre_plan_list(s, print_plan, NULL, &err)) {
            fprintf(stderr, "acre: %s\n", err.message);
            code = EXIT_REFUSED;
        }
    } else {
        char id[512];
        long version = 0;
        char *at, *json = NULL;
        snprintf(id, sizeof id, "%s", a->pos[2]);
        if ((at = strrchr(id, '@'))) {
            *at = '\0';
            char *end;
            errno = 0;
            version = strtol(at + 1, &end, 10);
            /* the whole of it a number: id@1abc is not id@1 */
            if (at[1] < '0' || at[1] > '9' || *end || errno || version < 1) {
                acre_store_free(s);
                return usage("plan show: VERSION is a number from 1");
            }
        }
        if (acre_plan_show(s, id, version, &json, &err)) {
            fprintf(stderr, "acre: %s\n", err.message);
            code = EXIT_REFUSED;
        } else {
            puts(json);
            free(json);
        }
    }
    acre_store_free(s);
    return code;
}

/* One warning line per affiliate of the ledger's "unassigned" list (SPEC 10): revenue in the
 * period that no plan pays on. The exit status does not change. */
static void warn_unassigned(const char *cmd, const char *period, const char *ledger)
{
    /* the list stands last before the digest; a newline is never inside a JSON string, so
     * this is the list's start (and only it is parsed, not a ledger of many megabytes) */
    const char *p = strstr(ledger, "\n\"unassigned\":["), *e;
    json_t *list, *u;
    size_t i;
    if (!p || !(e = strstr(p, "],\n\"digest\":")))
        return;
    p += strlen("\n\"unassigned\":");
    list = json_loadb(p, (size_t)(e - p) + 1, 0, NULL);
    json_array_foreach(list, i, u)
    {
        fprintf(stderr,
                "acre: %s: warning: affiliate %s has %lld records of %lld customers in %s but "
                "no plan: nothing is paid on them\n",
                cmd, json_string_value(json_object_get(u, "affiliate_id")),
                (long long)json_integer_value(json_object_get(u, "records")),
                (long long)json_integer_value(json_object_get(u, "customers")), period);
    }
    json_decref(list);
}

static int close_or_preview(const args *a, int store)
{
    acre_store *s = NULL;
    acre_error err;
    FILE *anchor = NULL;
    char head[128] = "";
    char *ledger = NULL;
    int rc;

    if (a->npos != 2)
        return usage(store ? "close: name one PERIOD (YYYY-MM)" : "preview: name one PERIOD");
    if (strcmp(a->format, "json") && strcmp(a->format, "csv") && strcmp(a->format, "summary") &&
        strcmp(a->format, "hledger") && strcmp(a->format, "beancount"))
        return usage("--format: json, csv, hledger, beancount or summary");
    if (store && !a->early) {
        /* a period is closed once it has ended: its records can still arrive until then */
        char now[32];
        int y, m, n = 0, month = utc_now(now);
        if (sscanf(a->pos[1], "%4d-%2d%n", &y, &m, &n) == 2 && n == 7 && !a->pos[1][7] && m >= 1 &&
            m <= 12 && y * 12 + m - 1 >= month) {
            fprintf(stderr,
                    "acre: close: %s has not ended (the UTC clock says %s): a period is closed "
                    "after its last day; --early closes it now\n",
                    a->pos[1], now);
            return EXIT_REFUSED;
        }
    }
    /* before the anchor file is made (open_store checks it too) */
    if (store_missing(a->db))
        return EXIT_USAGE;
    if (!store && a->anchor)
        return usage("preview: --anchor is for close");
    /* the anchor is opened first: a close is never stored with nowhere to record it */
    if (a->anchor && !(anchor = fopen(a->anchor, "a"))) {
        fprintf(stderr, "acre: close: cannot append to the anchor file %s\n", a->anchor);
        return EXIT_USAGE;
    }
    if ((rc = open_store(&s, a))) {
        if (anchor)
            fclose(anchor);
        return rc;
    }
    if (set_key(s, a)) {
        if (anchor)
            fclose(anchor);
        acre_store_free(s);
        return EXIT_USAGE;
    }
    acre_error_clear(&err);
    {
        acre_close_opts o = {.store = store, .allow_gap = a->allow_gap, .full_read = a->full_read};
        close_progress pr;
        if (close_progress_start(&pr, store ? "close" : "preview", a->pos[1], a->quiet)) {
            o.progress = close_progress_show;
            o.progress_ctx = &pr;
        }
        rc = acre_close_period_opts(s, a->pos[1], &o, &ledger, &err);
        close_progress_end(&pr);
    }
    if (rc) {
        fprintf(stderr, "acre: %s: %s\n", store ? "close" : "preview", err.message);
        if (anchor)
            fclose(anchor);
        acre_store_free(s);
        return exit_for(rc);
    }
    warn_unassigned(store ? "close" : "preview", a->pos[1], ledger);
    if (store) {
        /* the ledger ends with "digest":"sha256:<64 hex>" (then the mac, with a key) */
        const char *d = strstr(ledger, "\n\"digest\":\"");
        snprintf(head, sizeof head, "{\"period\":\"%s\",\"digest\":\"%.71s\"}\n", a->pos[1],
                 d ? d + 11 : "");
    }
    if (anchor) {
        int bad = fputs(head, anchor) == EOF || fflush(anchor) != 0 || fsync(fileno(anchor)) != 0;
        bad |= fclose(anchor) != 0;
        if (bad) {
            fprintf(stderr,
                    "acre: close: %s is closed, but the anchor file %s could not be written; "
                    "append this line to it: %s",
                    a->pos[1], a->anchor, head);
            free(ledger);
            acre_store_free(s);
            return EXIT_REFUSED;
        }
    }
    if (!store || a->affiliate || strcmp(a->format, "json") != 0)
        rc = acre_ledger_write_named(stdout, s, ledger, a->format, a->affiliate, &err);
    else
        fputs(head, stdout);
    free(ledger);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: %s\n", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

static int cmd_preview(const args *a)
{
    return close_or_preview(a, 0);
}

static int cmd_close(const args *a)
{
    return close_or_preview(a, 1);
}

/* EXIT_OK when the ledger file passes acre verify; else its report on stderr and EXIT_REFUSED:
 * a file whose lines do not add up (edited, cut, forged) is not exported. */
static int verified(const char *doc, size_t len, const char *name)
{
    acre_error err;
    char *report = NULL;
    size_t rlen = 0;
    int rc, nbad = 0;
    FILE *out = open_memstream(&report, &rlen);

    if (!out) {
        fprintf(stderr, "acre: ledger: out of memory\n");
        return EXIT_REFUSED;
    }
    acre_error_clear(&err);
    rc = acre_verify(doc, len, name, out, &nbad, &err);
    fclose(out);
    if (rc || nbad) {
        if (rc)
            fprintf(stderr, "acre: ledger: %s\n", err.message);
        else
            fputs(report, stderr);
        fprintf(stderr, "acre: ledger: %s does not verify (acre verify %s); it is not exported\n",
                name, name);
    }
    free(report);
    return rc || nbad ? EXIT_REFUSED : EXIT_OK;
}

static int cmd_ledger(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    char *ledger = NULL;
    size_t len = 0;
    int rc;

    acre_error_clear(&err);
    if (a->file) {
        /* a ledger document kept as a file: no store */
        if (a->npos != 1)
            return usage("ledger: --file FILE takes no PERIOD");
        if (!(ledger = read_file(a->file, &len))) {
            fprintf(stderr, "acre: ledger: cannot read %s\n", a->file);
            return EXIT_USAGE;
        }
        if ((rc = verified(ledger, len, a->file)) != EXIT_OK) {
            free(ledger);
            return rc;
        }
        rc = acre_ledger_write(stdout, ledger, a->format, a->affiliate, &err);
        free(ledger);
        if (rc) {
            fprintf(stderr, "acre: ledger: %s: %s\n", a->file, err.message);
            return exit_for(rc);
        }
        return EXIT_OK;
    }
    if (a->npos != 2)
        return usage("ledger: name one PERIOD (YYYY-MM)");
    if ((rc = open_store(&s, a)))
        return rc;
    if (!(rc = acre_ledger_get(s, a->pos[1], &ledger, &err)))
        rc = acre_ledger_write_named(stdout, s, ledger, a->format, a->affiliate, &err);
    free(ledger);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: ledger: %s\n", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

static int cmd_audit(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    acre_audit_opts o = {a->recompute, a->head, a->anchor};
    int rc, nbad = 0;

    if (a->npos != 1)
        return usage("audit takes no arguments");
    if ((rc = open_store(&s, a)))
        return rc;
    if (set_key(s, a)) {
        acre_store_free(s);
        return EXIT_USAGE;
    }
    acre_error_clear(&err);
    rc = acre_audit_run(s, &o, stdout, &nbad, &err);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: audit: %s\n", err.message);
        return exit_for(rc);
    }
    return nbad ? EXIT_DIFF : EXIT_OK;
}

typedef struct progress {
    struct timespec start;
    int shown;
} progress;

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* A progress line on a terminal, once the run has taken more than a second. */
static void on_progress(void *ctx, const char *period, int done, int total)
{
    progress *p = ctx;
    if (since(&p->start) < 1.0)
        return;
    fprintf(stderr, "\rsimulate: %s computed (%d of %d periods)", period, done, total);
    p->shown = 1;
}

static int cmd_simulate(const args *a)
{
    acre_store *s = NULL;
    acre_sim *r = NULL;
    acre_error err;
    acre_sim_options o;
    acre_sim_assign as[256];
    FILE *files[64] = {0};
    char from[32], *to, *eq;
    char ids[256][128];
    progress pr = {{0, 0}, 0};
    int rc;

    memset(&o, 0, sizeof o);
    if (a->npos != 2 || strlen(a->pos[1]) >= sizeof from)
        return usage("simulate: name FROM or FROM..TO (YYYY-MM)");
    if (a->format_given && strcmp(a->format, "table") && strcmp(a->format, "json") &&
        strcmp(a->format, "csv") && strcmp(a->format, "svg") && strcmp(a->format, "html"))
        return usage("simulate: --format table, json, csv, svg or html");
    snprintf(from, sizeof from, "%s", a->pos[1]);
    if ((to = strstr(from, ".."))) {
        *to = '\0';
        to += 2;
    }
    for (int i = 0; i < a->nassigns; i++) {
        const char *v = a->assigns[i];
        char *at;
        if (!(eq = strchr(v, '=')) || eq == v || !eq[1] || strlen(v) >= sizeof ids[i])
            return usage("simulate: --assign takes AFFILIATE=PLAN or AFFILIATE=PLAN@VERSION");
        snprintf(ids[i], sizeof ids[i], "%s", v);
        ids[i][eq - v] = '\0';
        as[i].affiliate_id = ids[i];
        as[i].plan_id = ids[i] + (eq - v) + 1;
        as[i].version = 0;
        if ((at = strchr(ids[i] + (eq - v) + 1, '@'))) {
            char *end;
            *at = '\0';
            as[i].version = strtol(at + 1, &end, 10);
            if (*end || as[i].version < 1)
                return usage("simulate: --assign AFFILIATE=PLAN@VERSION needs a version of 1 or "
                             "more");
        }
    }
    for (int i = 0; i < a->nplans; i++)
        if (!(files[i] = fopen(a->plans[i], "rb"))) {
            fprintf(stderr, "acre: simulate: cannot read %s\n", a->plans[i]);
            for (int j = 0; j < i; j++)
                fclose(files[j]);
            return EXIT_USAGE;
        }
    o.from = from;
    o.to = to;
    o.plan_files = files;
    o.plan_names = a->plans;
    o.nplans = a->nplans;
    o.assigns = as;
    o.nassigns = a->nassigns;
    o.summaries = 1; /* the comparison is all this command prints */
    if (isatty(2) && !a->quiet) {
        clock_gettime(CLOCK_MONOTONIC, &pr.start);
        o.progress = on_progress;
        o.progress_ctx = &pr;
    }
    acre_error_clear(&err);
    if ((rc = open_store(&s, a)))
        goto out;
    rc = acre_simulate(&r, s, &o, &err);
    if (pr.shown)
        fputc('\n', stderr);
    if (!rc)
        rc = acre_sim_write(
            stdout, r, strcmp(a->format, "json") == 0 && !a->format_given ? "table" : a->format,
            a->affiliate, 20, &err);
    if (rc) {
        fprintf(stderr, "acre: simulate: %s\n", err.message);
        rc = exit_for(rc);
    }
out:
    for (int i = 0; i < a->nplans; i++)
        fclose(files[i]);
    acre_sim_free(r);
    acre_store_free(s);
    return rc;
}

static int cmd_verify(const args *a)
{
    acre_error err;
    char *doc;
    size_t len;
    int rc, nbad = 0;

    if (a->npos != 2)
        return usage("verify: name one ledger FILE");
    if (!(doc = read_file(a->pos[1], &len))) {
        fprintf(stderr, "acre: verify: cannot read %s\n", a->pos[1]);
        return EXIT_USAGE;
    }
    acre_error_clear(&err);
    rc = acre_verify(doc, len, a->pos[1], stdout, &nbad, &err);
    free(doc);
    if (rc) {
        fprintf(stderr, "acre: verify: %s\n", err.message);
        return exit_for(rc);
    }
    return nbad ? EXIT_DIFF : EXIT_OK;
}

static int cmd_backup(const args *a)
{
    acre_store *s = NULL;
    acre_error err;
    int rc;

    if (a->npos != 2)
        return usage("backup: name one DEST file (a new file)");
    if ((rc = open_store(&s, a)))
        return rc;
    acre_error_clear(&err);
    rc = acre_store_backup(s, a->pos[1], &err);
    acre_store_free(s);
    if (rc) {
        fprintf(stderr, "acre: %s\n", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

static int cmd_serve(const args *a)
{
    const char *key = a->key_file ? a->key_file : getenv("ACRE_LEDGER_KEY_FILE");
    serve_opts o = {.db = a->db,
                    .listen = a->listen,
                    .tls_cert = a->tls_cert,
                    .tls_key = a->tls_key,
                    .threads = (int)a->threads,
                    .rate = a->rate,
                    .key_file = key && *key ? key : NULL,
                    .request_timeout = a->request_timeout,
                    /* not given: every 10 s; 0: no delivery in this server */
                    .deliver_every = a->deliver_every < 0    ? 0
                                     : a->deliver_every == 0 ? -1
                                                             : a->deliver_every};
    if (a->npos != 1)
        return usage("serve takes no arguments but its options");
    if (store_missing(a->db))
        return EXIT_USAGE;
    return serve_run(&o);
}

/* clients add NAME --scope S..., clients list, clients revoke ID (tools/clients_cmd.c) */
static int cmd_clients(const args *a)
{
    return clients_command(a->db, a->npos, a->pos, a->scopes, a->nscopes);
}

/* ACRE_FAIL_ALLOC=N[,repeat][,gmp]: the failing-allocator switch (acre/sys/alloc.h), for tests. */
static int alloc_switch(const char *sw)
{
    char *end;
    unsigned flags = 0;
    long n = strtol(sw, &end, 10);
    while (n >= 0 && *end == ',') {
        if (strncmp(end, ",repeat", 7) == 0) {
            flags |= ACRE_ALLOC_REPEAT;
            end += 7;
        } else if (strncmp(end, ",gmp", 4) == 0) {
            flags |= ACRE_ALLOC_GMP;
            end += 4;
        } else if (strncmp(end, ",threads", 8) == 0) {
            flags |= ACRE_ALLOC_THREADS;
            end += 8;
        } else if (strncmp(end, ",spare-lexer", 12) == 0) {
            flags |= ACRE_ALLOC_SPARE_LEXER;
            end += 12;
        } else {
            break;
        }
    }
    if (end == sw || *end || n < 0) {
        fprintf(stderr, "acre: ACRE_FAIL_ALLOC must be N[,repeat][,gmp][,threads][,spare-lexer], not \"%s\"\n", sw);
        return -1;
    }
    return acre_alloc_fail(n, flags);
}

static int cmd_replay(const args *a)
{
    return acre_replay(a->pos[1], a->update, a->on_disk, a->into, a->full_read, a->npos == 2);
}

static int cmd_kinds(const args *a)
{
    (void)a;
    for (int i = 0; acre_kind_name(i); i++)
        puts(acre_kind_name(i));
    return EXIT_OK;
}

/* Every command: `acre NAME` runs its row's function. The usage text is these rows' help between
 * its head and tail (tools/cli.c), so a command and its help are one row. */
const cli_command cli_commands[] = {
    {"ingest", cmd_ingest, CLI_NEW_STORE,
     "  ingest KIND [FILE...] [--rejects FILE] [--atomic] [--explain] [--again] [--quiet]\n"
     "                     validate and store records (NDJSON, a JSON array, or a\n"
     "                     {\"data\":[...]} envelope; no FILE or - reads stdin); a file\n"
     "                     whose bytes a stored batch of KIND has is refused (exit 3)\n"
     "                     unless --again; on a terminal it shows how far it is (not with\n"
     "                     --quiet)\n"},
    /* plan add makes the store; plan list and show refuse a missing one (cmd_plan) */
    {"plan", cmd_plan, CLI_NEW_STORE,
     "  plan add FILE...   validate and store plan versions (a file holds a plan or an array)\n"
     "  plan list          stored plans\n"
     "  plan show ID[@V]   a stored plan's JSON (the newest version without @V)\n"},
    {"preview", cmd_preview, CLI_STORE,
     "  preview PERIOD [--format json|csv|hledger|beancount|summary] [--affiliate ID]\n"
     "         [--allow-gap] [--full-read] [--quiet]\n"
     "                     compute PERIOD (YYYY-MM) exactly as close would; store nothing\n"},
    {"close", cmd_close, CLI_STORE,
     "  close PERIOD [--allow-gap] [--early] [--anchor FILE] [--key-file FILE] [--full-read]\n"
     "        [--quiet]\n"
     "                     compute and store PERIOD's ledger; closed periods never change.\n"
     "                     It reads the months since the last close and what changed before\n"
     "                     them (--full-read: every record, the same ledger, slower).\n"
     "                     Refused (exit 4) when months between the last closed period and\n"
     "                     PERIOD are not closed (unless --allow-gap), or PERIOD has not\n"
     "                     ended by the UTC clock (unless --early). Prints\n"
     "                     {\"period\":...,\"digest\":...}, the new head, and appends that\n"
     "                     line to the anchor FILE. A close of more than a second shows\n"
     "                     on a terminal how far it is (not with --quiet)\n"},
    /* ledger --file reads no store */
    {"ledger", cmd_ledger, CLI_STORE,
     "  ledger PERIOD [--format json|csv|hledger|beancount|summary] [--affiliate ID]\n"
     "                     print a closed period's ledger; hledger and beancount write the\n"
     "                     accruals, payouts and a balance assertion per affiliate; summary\n"
     "                     each affiliate's totals and what to pay per currency\n"
     "  ledger --file FILE [--format ...] [--affiliate ID]\n"
     "                     the same for a ledger document kept as a file, once it verifies\n"},
    {"payouts", cmd_payouts, CLI_STORE,
     "  payouts PERIOD [--format csv|json] [--affiliate ID]\n"
     "                     what to pay each affiliate of a closed period: its name, earned,\n"
     "                     brought forward, total, min_payout, payable, carried forward and\n"
     "                     status (paid, below_min_payout, negative, zero), then a total per\n"
     "                     currency (csv by default)\n"},
    {"statement", cmd_statement, CLI_STORE,
     "  statement PERIOD --affiliate ID [--format html|text]\n"
     "                     the statement finance sends an affiliate for a closed period: each\n"
     "                     line with its detail, the totals and payout status, the last 12\n"
     "                     closed periods (in html one self-contained file with a chart)\n"},
    {"audit", cmd_audit, CLI_STORE,
     "  audit [--recompute] [--head DIGEST] [--anchor FILE] [--key-file FILE]\n"
     "                     check the store (SQLite's quick_check), every closed ledger against\n"
     "                     its digest, the chain linking each to the one before, its mac (with\n"
     "                     the key) and the state the next close reads; --recompute closes\n"
     "                     every period again and compares the bytes; --head and --anchor\n"
     "                     check the last digests kept elsewhere; exit 1 naming what does not\n"
     "                     match\n"},
    {"simulate", cmd_simulate, CLI_STORE,
     "  simulate FROM[..TO] --plan FILE... [--assign AFF=PLAN[@V]...] [--affiliate ID]\n"
     "           [--format table|json|csv|svg|html] [--quiet]\n"
     "                     recompute closed and open periods with other plans or assignments;\n"
     "                     show each affiliate's baseline and simulated earned (svg, html: as\n"
     "                     a chart per affiliate and period); writes nothing\n"},
    {"verify", cmd_verify, CLI_NO_STORE,
     "  verify FILE        re-derive every line of a ledger file from its own detail, the\n"
     "                     totals and the digest; exit 1 naming each line that does not add up\n"},
    /* replay makes its own store: in memory, a temporary file, or --into's new file */
    {"replay", cmd_replay, CLI_NO_STORE,
     "  replay DIR [--update] [--on-disk | --into STORE] [--full-read]\n"
     "                     run a fixture in a fresh in-memory store (--on-disk: a temporary\n"
     "                     file; --into: a new store file, kept) and compare its ledgers with\n"
     "                     DIR/expected/ (--update writes them)\n"},
    {"status", cmd_status, CLI_STORE,
     "  status             what the store holds: records and versions per kind, ingested files\n"},
    {"backup", cmd_backup, CLI_STORE,
     "  backup DEST        write a consistent copy of the store, even while it is written, to\n"
     "                     the new file DEST (mode 0600); never copy a live store with cp\n"},
    {"copy", cmd_copy, CLI_NO_STORE,
     "  copy --from SRC --to DEST\n"
     "                     copy the store SRC, every version of every record, into the new\n"
     "                     store DEST: SQLite to PostgreSQL (postgresql://...) or back\n"},
    {"kinds", cmd_kinds, CLI_NO_STORE, "  kinds              list the record kinds\n"},
    /* clients add makes the store; list and revoke refuse a missing one (cmd_clients) */
    {"clients", cmd_clients, CLI_NEW_STORE,
     "  clients add NAME --scope S...\n"
     "                     make an API client (scopes: ingest, read, finance, affiliate:ID);\n"
     "                     prints its client_id and client_secret, shown only this once\n"
     "  clients list       the API clients, one JSON object a line\n"
     "  clients revoke ID  revoke a client: its tokens stop working at once\n"},
    {"affiliates", cmd_affiliates, CLI_STORE,
     "  affiliates secret ID [--rotate]\n"
     "                     the affiliate's postback signing secret: made the first time, the\n"
     "                     same after; --rotate makes a new one (docs/events.md)\n"},
    {"postbacks", cmd_postbacks, CLI_STORE,
     "  postbacks deliver [--now]\n"
     "                     POST each pending event due now (--now: every pending one) to its\n"
     "                     affiliate's postback_url, signed; prints {\"attempted\":N,...}\n"
     "  postbacks list [--status pending|delivered|dead] [--format json]\n"
     "                     the events, in the order they were made\n"
     "  postbacks retry EVENT_ID\n"
     "                     make a dead event pending again, its 72 hours started over\n"},
    {"consume", cmd_consume, CLI_STORE,
     "  consume amqp://USER:PASS@HOST:PORT/VHOST --queue Q [--rejects FILE]\n"
     "  consume kafka://HOST:PORT[,...] --topic T --group G [--rejects FILE]\n"
     "                     store records from RabbitMQ or Kafka, a message each, its kind the\n"
     "                     AMQP type property or the Kafka header type (BONUS: bonus-events);\n"
     "                     in batches, acknowledged once committed; invalid ones rejected (a\n"
     "                     reject line each); SIGTERM finishes the batch and exits 0\n"},
    {"serve", cmd_serve, CLI_STORE,
     "  serve [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--threads N] [--rate N]\n"
     "        [--request-timeout SECONDS] [--key-file FILE] [--deliver-every SECONDS]\n"
     "                     the HTTP API (docs/api.md) on 127.0.0.1:8360 by default; prints\n"
     "                     {\"listening\":...} once it listens; delivers the pending postbacks\n"
     "                     every 10 seconds (--deliver-every 0: never); SIGTERM finishes the\n"
     "                     requests in flight and exits 0\n"},
    {NULL, NULL, CLI_NO_STORE, NULL},
};

static const cli_command *command_named(const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* acre --version: acre's, the store schema it writes, and what it runs on */
static int version(void)
{
    printf("acre %s (store schema %d)\n%s, libmicrohttpd %s\n", acre_version(), ACRE_SCHEMA_VERSION,
           acre_library_versions(), serve_http_version());
    return EXIT_OK;
}

/* acre help [COMMAND] */
static int help(const args *a)
{
    const cli_command *c;
    if (a->npos == 1) {
        usage_write(stdout);
        return EXIT_OK;
    }
    if (a->npos > 2 || !(c = command_named(a->pos[1]))) {
        fprintf(stderr, "acre: help: no command \"%s\"; the commands:\n",
                a->npos > 1 ? a->pos[1] : "");
        for (c = cli_commands; c->name; c++)
            fprintf(stderr, "  %s\n", c->name);
        return EXIT_USAGE;
    }
    command_help(stdout, c);
    return EXIT_OK;
}

static int run(int argc, char **argv)
{
    args a;
    const cli_command *c;

    if (parse_args(&a, argc, argv))
        return usage(NULL);
    if (a.version)
        return version();
    if (a.npos == 0) {
        usage_write(a.help ? stdout : stderr);
        return a.help ? EXIT_OK : EXIT_USAGE;
    }
    if (strcmp(a.pos[0], "help") == 0)
        return help(&a);
    if (!(c = command_named(a.pos[0]))) {
        fprintf(stderr, "acre: unknown command \"%s\"\n", a.pos[0]);
        return usage(NULL);
    }
    cli_current = a.cmd = c;
    if (a.help) {
        command_help(stdout, c);
        return EXIT_OK;
    }
    return c->run(&a);
}

/* A failed or short write anywhere on stdout (the error flag stdio keeps) or at its final flush
 * and close turns any exit status into 4: output cut short must never look like success. */
static int close_stdout(int code)
{
    int bad = ferror(stdout), e = 0;
    if (fflush(stdout) != 0) {
        bad = 1;
        e = errno;
    }
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad)
        return code;
    fprintf(stderr, "acre: writing the output failed%s%s; it is incomplete\n", e ? ": " : "",
            e ? strerror(e) : "");
    return EXIT_REFUSED;
}

int main(int argc, char **argv)
{
    const char *sw = getenv("ACRE_FAIL_ALLOC");
    int code;
    if (sw && alloc_switch(sw))
        return EXIT_USAGE;
    code = close_stdout(run(argc, argv));
    if (sw)
        fprintf(stderr, "acre: ACRE_FAIL_ALLOC=%s: %ld allocations counted\n", sw,
                acre_alloc_count());
    return code;
}
