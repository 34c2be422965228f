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
 *   - with a ledger key, its mac is the HMAC of its digest (engine/ledger_key.c).
 * Before them SQLite's quick_check (a corrupt store stops the audit there); after them the state
 * rows the next close reads (engine/audit_state.c), the logs an incremental close reads
 * (engine/audit_logs.c), the head or anchor the caller kept, and with
 * --recompute every ledger closed again (engine/audit_recompute.c). It reports every problem, one
 * line each, naming the period (or "store", or the anchor line) and what does not match. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acre/audit.h"
#include "alloc.h"
#include "audit_int.h"
#include "digest.h"
#include "jsonval.h"
#include "ledger_key.h"
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

/* 1 when text has n lower-case hex digits at its start. */
static int hex_run(const char *text, int n)
{
    for (int i = 0; i < n; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return 0;
    return 1;
}

/* 1 when the document ends as a close writes it: its last digest member, then the mac or not,
 * then "}" and a newline. Bytes there are covered by neither the digest nor the mac, so none may
 * be added. */
static int tail_ok(const char *doc)
{
    const char *t = doc, *p;
    while ((p = strstr(t, ",\n\"digest\":\"sha256:")))
        t = p + 1;
    if (t == doc)
        return 0;
    t += strlen("\n\"digest\":\"sha256:");
    if (!hex_run(t, 64) || t[64] != '"')
        return 0;
    t += 65;
    if (strncmp(t, ",\"mac\":\"hmac-sha256:", 20) == 0) {
        if (!hex_run(t + 20, 64) || t[84] != '"')
            return 0;
        t += 85;
    }
    return strcmp(t, "}\n") == 0 || strcmp(t, "}") == 0;
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

/* Whether a quick_check report names SQLITE_NOMEM (7) as the error code of a line. */
typedef struct corrupt {
    FILE *out;
    int *nbad;
} corrupt;

static void corruption(void *ctx, const char *problem)
{
    corrupt *c = ctx;
    fprintf(c->out, "store\tFAIL\tcorruption: %s\n", problem);
    (*c->nbad)++;
}

/* The backend's own check (SQLite's quick_check): each problem it names (a zeroed or torn page,
 * a broken b-tree) is one. */
static int quick_check(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    corrupt c = {out, nbad};
    return acre_store_check(s, corruption, &c, err);
}

/* The last closed ledger's digest (last, NULL when nothing is closed) against the head given. */
static void check_head(FILE *out, int *nbad, const char *last_period, const char *last,
                       const char *head)
{
    if (!last)
        problem(out, nbad, "store", "head: no period is closed, so nothing has the head digest",
                NULL, head);
    else if (strcmp(last, head) != 0)
        problem(out, nbad, last_period,
                "head: the last closed ledger's digest is not the head given (a period removed "
                "from the end, or a ledger rewritten)",
                last, head);
}

static const acre_query q_digest = {
    ACRE_Q_SELECT, "close", {"digest", NULL}, {{"period_text", ACRE_EQ}}, {NULL}, 0, 1};

/* res[0]: the digest (new), res[1]: found. */
static int digest_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    void **res = ctx;
    (void)n;
    *(int *)res[1] = 1;
    if (row[0].type == ACRE_VAL_TEXT && !(*(char **)res[0] = acre_strdup(row[0].s)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 1;
}

/* Each line of the anchor file, {"period":…,"digest":…}, against the close of its period. */
static int check_anchor(acre_store *s, FILE *out, int *nbad, const char *path,
                        const char *last_period, acre_error *err)
{
    FILE *f = fopen(path, "rb");
    char line[512], anchored_last[8] = "";
    acre_stmt *st;
    long no = 0;
    int rc;
    if (!f)
        return acre_error_set(err, ACRE_EUSAGE, NULL, "anchor", "cannot read the anchor file %s",
                              path);
    if ((rc = acre_store_stmt(s, &q_digest, &st, err))) {
        fclose(f);
        return rc;
    }
    while (fgets(line, sizeof line, f)) {
        json_error_t je;
        json_t *o;
        const char *per, *dig;
        char where[64];
        size_t len = strlen(line);
        no++;
        if (len == 0 || (len == 1 && line[0] == '\n'))
            continue;
        snprintf(where, sizeof where, "anchor line %ld", no);
        if (!(o = acre_json_loadb(line, len, 0, &je)) &&
            json_error_code(&je) == json_error_out_of_memory) {
            acre_store_done(s, st);
            fclose(f);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        per = json_string_value(json_object_get(o, "period"));
        dig = json_string_value(json_object_get(o, "digest"));
        if (!per || !dig || strlen(per) != 7 || line[len - 1] != '\n') {
            problem(out, nbad, where, "is not one {\"period\":…,\"digest\":…} line", NULL, NULL);
            json_decref(o);
            continue;
        }
        {
            acre_value k = acre_val_text(per);
            char *d = NULL;
            int found = 0;
            void *res[2] = {&d, &found};
            if ((rc = acre_store_run(s, st, &k, digest_row, res, "reading closes", err))) {
                json_decref(o);
                acre_store_done(s, st);
                fclose(f);
                return rc;
            }
            if (found && (!d || strcmp(d, dig) != 0))
                problem(out, nbad, per,
                        "anchor: the close's digest is not the one anchored (a ledger rewritten)",
                        d, dig);
            else if (!found)
                problem(out, nbad, per,
                        "anchor: the anchor has this period closed, the store does not (a period "
                        "removed)",
                        NULL, dig);
            free(d);
        }
        if (strcmp(per, anchored_last) > 0)
            snprintf(anchored_last, sizeof anchored_last, "%s", per);
        json_decref(o);
    }
    if (ferror(f)) {
        acre_store_done(s, st);
        fclose(f);
        return acre_error_set(err, ACRE_EUSAGE, NULL, "anchor", "reading the anchor file %s failed",
                              path);
    }
    fclose(f);
    acre_store_done(s, st);
    if (last_period && strcmp(last_period, anchored_last) > 0)
        fprintf(out, "%s\tnote\tanchor: periods after %s are closed but not in the anchor\n",
                last_period, anchored_last[0] ? anchored_last : "(none)");
    return 0;
}

int acre_audit(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    return acre_audit_run(s, NULL, out, nbad, err);
}

static int audit_run(acre_store *s, const acre_audit_opts *o, FILE *out, int *nbad,
                     acre_error *err);

/* One transaction: every check sees the same snapshot, whatever closes meanwhile. */
int acre_audit_run(acre_store *s, const acre_audit_opts *o, FILE *out, int *nbad, acre_error *err)
{
    int rc;
    *nbad = 0;
    /* --recompute closes again inside a transaction it rolls back: a write transaction */
    if ((rc = o && o->recompute ? acre_store_begin(s, err) : acre_store_begin_read(s, err)))
        return rc;
    rc = audit_run(s, o, out, nbad, err);
    acre_store_rollback(s);
    return rc;
}

typedef struct auditing {
    acre_store *s;
    FILE *out;
    int *nbad;
    char *prev;
    char last_period[8];
    int n;
} auditing;

/* One closed ledger: its digests, chain, tail, mac and numbers. */
static int audit_close(void *ctx, const acre_value *row, int ncol, acre_error *err)
{
    auditing *a = ctx;
    const char *period, *doc, *dig, *rprev;
    const char *want_prev = a->prev ? a->prev : "null";
    char got[72];
    char *inner = NULL, *tper = NULL, *tprev = NULL;
    char prefix[40];
    int before = *a->nbad, nnum = 0;
    (void)ncol;
    period = row[0].s ? row[0].s : "";
    doc = row[1].s ? row[1].s : "";
    dig = row[2].s ? row[2].s : "";
    rprev = row[3].type == ACRE_VAL_TEXT ? row[3].s : NULL;
    if (member(&inner, doc, "digest") || member(&tper, doc, "period") ||
        member(&tprev, doc, "previous_digest")) {
        free(inner);
        free(tper);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    a->n++;
    if (acre_ledger_digest(got, doc, strlen(doc)))
        problem(a->out, a->nbad, period, "the ledger has no digest member", NULL, NULL);
    else if (!inner || strcmp(got, inner) != 0)
        problem(a->out, a->nbad, period,
                "the ledger's content does not hash to the digest written in it", got, inner);
    if (inner && strcmp(inner, dig) != 0)
        problem(a->out, a->nbad, period, "the digest in the ledger is not the close's digest",
                inner, dig);
    if (!tail_ok(doc))
        problem(a->out, a->nbad, period,
                "the ledger does not end with its digest (and mac): bytes were added there, "
                "which neither covers",
                NULL, NULL);
    if (!tper || strcmp(tper, period) != 0)
        problem(a->out, a->nbad, period, "the ledger's period is not the close's period", tper,
                period);
    if (!tprev || strcmp(tprev, want_prev) != 0)
        problem(a->out, a->nbad, period,
                "the ledger's previous_digest is not the digest of the period closed before it",
                tprev, want_prev);
    if (strcmp(rprev ? rprev : "null", want_prev) != 0)
        problem(a->out, a->nbad, period,
                "the close's previous_digest is not the digest of the period closed before it",
                rprev ? rprev : "null", want_prev);
    if (acre_ledger_keyed(a->s)) {
        char want[ACRE_MAC_SIZE], *mac = NULL;
        const char *tail = doc, *t;
        while ((t = strstr(tail, ",\n\"digest\":\""))) /* the mac follows the last digest */
            tail = t + 1;
        if (member(&mac, tail, "mac")) {
            free(inner);
            free(tper);
            free(tprev);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        if (acre_ledger_mac(want, a->s, inner ? inner : dig)) {
            free(mac);
            free(inner);
            free(tper);
            free(tprev);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        /* the right mac is never printed: the audit's output must not forge one */
        if (!mac)
            problem(a->out, a->nbad, period,
                    "the ledger has no mac (closed without the key, or the mac removed)", NULL,
                    NULL);
        else if (strcmp(mac, want) != 0)
            problem(a->out, a->nbad, period,
                    "the ledger's mac is not the key's HMAC of its digest (forged, or "
                    "another key)",
                    NULL, NULL);
        free(mac);
    }
    /* what changed, where the numbers show it (a line, a total, a missing line), even in
     * a ledger whose digests were recomputed after the edit */
    snprintf(prefix, sizeof prefix, "%.20s\tFAIL\t", period);
    if (acre_verify_numbers(doc, strlen(doc), prefix, a->out, &nnum)) {
        free(inner);
        free(tper);
        free(tprev);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                              "out of memory: the audit stopped at %s", period);
    }
    *a->nbad += nnum;
    if (*a->nbad == before)
        fprintf(a->out, "%s\tok\t%s\n", period, dig);
    free(inner);
    free(tper);
    free(tprev);
    free(a->prev);
    snprintf(a->last_period, sizeof a->last_period, "%s", period);
    if (!(a->prev = acre_strdup(dig)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 0;
}

static const acre_query q_closes = {ACRE_Q_SELECT,
                                    "close",
                                    {"period_text", "ledger", "digest", "previous_digest", NULL},
                                    {{NULL, 0}},
                                    {"period", NULL},
                                    0,
                                    0};

static int audit_run(acre_store *s, const acre_audit_opts *o, FILE *out, int *nbad, acre_error *err)
{
    static const acre_audit_opts none = {0, NULL, NULL};
    auditing a = {0};
    char *prev = NULL;
    char last_period[8] = "";
    int rc, n = 0;
    *nbad = 0;
    if (!o)
        o = &none;
    if ((rc = quick_check(s, out, nbad, err)))
        return rc;
    if (*nbad) {
        fprintf(out, "the store is corrupt: %d problem%s; nothing else was checked\n", *nbad,
                *nbad == 1 ? "" : "s");
        return 0;
    }
    a.s = s;
    a.out = out;
    a.nbad = nbad;
    rc = acre_store_query(s, &q_closes, NULL, audit_close, &a, "reading closed ledgers", err);
    prev = a.prev;
    n = a.n;
    memcpy(last_period, a.last_period, sizeof last_period);
    if (rc) {
        free(prev);
        return rc;
    }
    if (o->head)
        check_head(out, nbad, last_period, prev, o->head);
    rc = acre_audit_state(s, out, nbad, err);
    if (!rc)
        rc = acre_audit_logs(s, out, nbad, err);
    if (!rc && o->anchor)
        rc = check_anchor(s, out, nbad, o->anchor, prev ? last_period : NULL, err);
    if (!rc && o->recompute)
        rc = acre_audit_recompute(s, out, nbad, err);
    free(prev);
    if (rc)
        return rc;
    fprintf(out, "%d closed period%s, %d problem%s\n", n, n == 1 ? "" : "s", *nbad,
            *nbad == 1 ? "" : "s");
    return 0;
}
