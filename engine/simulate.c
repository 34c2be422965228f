/* engine/simulate.c — `acre simulate`: the periods recomputed with other plans, compared with
 * what was (or would be) closed.
 *
 * The store is copied into memory with SQLite's backup API and everything happens in the copy:
 * closes from FROM on are undone (every state table is keyed by the close that wrote it), plans
 * and assignments replaced, and the periods closed again in order, each closed period at its own
 * close's watermark, so records that arrived later are seen as that close saw them and the only
 * difference from the stored ledger is the deal. With the stored plans the simulation gives
 * the stored ledgers back byte for byte (tests/simulate.sh checks it on every fixture). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "acre/plan.h"
#include "acre/simulate.h"
#include "alloc.h"
#include "jsonval.h"
#include "close.h"
#include "datetime.h"
#include "store_int.h"

#define MAX_PERIODS 240

typedef struct sim_period {
    char text[8];
    int closed;       /* closed in the store */
    long long seq;    /* its close's watermark when closed */
    char *base, *sim; /* the two ledgers */
} sim_period;

struct acre_sim {
    sim_period p[MAX_PERIODS];
    int n;
};

void acre_sim_free(acre_sim *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++) {
        free(r->p[i].base);
        free(r->p[i].sim);
    }
    free(r);
}

const char *acre_sim_period(const acre_sim *r, int i, const char **baseline, const char **simulated)
{
    if (i < 0 || i >= r->n)
        return NULL;
    *baseline = r->p[i].base;
    *simulated = r->p[i].sim;
    return r->p[i].text;
}

/* Runs sql with text parameters (NULL binds null). */
static int run(acre_store *s, const char *sql, int n, const char *const *params, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st, sql, err);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        if (params[i])
            sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : acre_store_fail(s, "simulating", err);
}

/* *v = the text value of a one-row query with one text parameter, new, or NULL when there is no
 * row or the value is null. Returns 0 or an error. */
static int value(acre_store *s, const char *sql, const char *param, char **v, acre_error *err)
{
    sqlite3_stmt *st;
    int rc = acre_store_prepare(s, &st, sql, err);
    *v = NULL;
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc != SQLITE_ROW)
        rc = acre_store_fail(s, "simulating", err);
    else if (!(rc = acre_store_row(s, st, err)) && sqlite3_column_type(st, 0) != SQLITE_NULL &&
             !(*v = acre_strdup((const char *)sqlite3_column_text(st, 0))))
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    sqlite3_finalize(st);
    return rc;
}

/* Undoes in the copy every close from period `from` (a month number) on. */
static int undo_closes(acre_store *c, int from, acre_error *err)
{
    static const char *const sql[] = {
        "DELETE FROM close WHERE period >= ?1",
        "DELETE FROM close_affiliate WHERE period >= ?1",
        "DELETE FROM close_layer WHERE period >= ?1",
        "DELETE FROM close_excluded WHERE period >= ?1",
        "DELETE FROM settled WHERE period >= ?1",
        "UPDATE settled SET clawed_period = NULL WHERE clawed_period >= ?1",
        "DELETE FROM counted WHERE period >= ?1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        int rc = acre_store_prepare(c, &st, sql[i], err);
        if (rc)
            return rc;
        sqlite3_bind_int(st, 1, from);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return acre_store_fail(c, "undoing closes in the copy", err);
    }
    return 0;
}

/* Puts the plans of one file in the copy in place of the stored plan_id@version, and points
 * every assignment of each plan_id at it. */
static int replace_plans(acre_store *c, FILE *f, const char *name, acre_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem;
    json_t *doc;
    json_error_t je;
    size_t i;
    int rc = 0, added, unchanged;

    if (!(mem = open_memstream(&text, &len)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (int ch; (ch = fgetc(f)) != EOF;)
        fputc(ch, mem);
    fclose(mem);
    if (ferror(f)) { /* a directory, a failing disk: not an empty file */
        free(text);
        return acre_error_set(err, ACRE_EIO, NULL, NULL, "%s: read error", name);
    }
    if (!(doc = acre_json_loadb(text, len, 0, &je)) &&
        json_error_code(&je) == json_error_out_of_memory) {
        free(text);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    /* the names first: acre_plan_add checks the rest, and refuses with the key */
    for (i = 0; doc && i < (json_is_array(doc) ? json_array_size(doc) : 1); i++) {
        const json_t *p = json_is_array(doc) ? json_array_get(doc, i) : doc;
        const char *id = json_string_value(json_object_get(p, "plan_id"));
        json_t *v = json_object_get(p, "version");
        char ver[32];
        if (!id || !json_is_integer(v))
            continue;
        snprintf(ver, sizeof ver, "%lld", (long long)json_integer_value(v));
        if ((rc = run(c, "DELETE FROM plan WHERE plan_id = ?1 AND version = ?2", 2,
                      (const char *const[]){id, ver}, err)))
            break;
    }
    if (!rc) {
        FILE *in = fmemopen(text, len ? len : 1, "rb");
        rc = in ? acre_plan_add(c, in, name, &added, &unchanged, err)
                : acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        if (in)
            fclose(in);
    }
    for (i = 0; !rc && doc && i < (json_is_array(doc) ? json_array_size(doc) : 1); i++) {
        const json_t *p = json_is_array(doc) ? json_array_get(doc, i) : doc;
        char ver[32];
        snprintf(ver, sizeof ver, "%lld",
                 (long long)json_integer_value(json_object_get(p, "version")));
        rc = run(c, "UPDATE assignment SET plan_version = ?2 WHERE plan_id = ?1", 2,
                 (const char *const[]){json_string_value(json_object_get(p, "plan_id")), ver}, err);
        /* in place of the stored plan at every watermark, an --assign without a version too */
        if (!rc)
            rc = run(c, "UPDATE plan SET seq = 0 WHERE plan_id = ?1 AND version = ?2", 2,
                     (const char *const[]){json_string_value(json_object_get(p, "plan_id")), ver},
                     err);
    }
    json_decref(doc);
    free(text);
    return rc;
}

/* One assignment in place of the affiliate's stored ones, from its earliest effective_from (or
 * `from` when it had none), open-ended. */
static int replace_assignment(acre_store *c, const acre_sim_assign *a, const char *from,
                              acre_error *err)
{
    char ver[32], *start, *known;
    int rc;
    if ((rc = value(c, "SELECT affiliate_id FROM affiliate WHERE affiliate_id = ?1",
                    a->affiliate_id, &known, err)))
        return rc;
    if (!known)
        return acre_error_set(err, ACRE_EUSAGE, "assign", "unknown_affiliate",
                              "--assign %s=%s: no affiliate %s is stored", a->affiliate_id,
                              a->plan_id, a->affiliate_id);
    free(known);
    if ((rc = value(c, "SELECT plan_id FROM plan WHERE plan_id = ?1", a->plan_id, &known, err)))
        return rc;
    if (!known)
        return acre_error_set(err, ACRE_EUSAGE, "assign", "unknown_plan",
                              "--assign %s=%s: no plan %s is stored or given with --plan",
                              a->affiliate_id, a->plan_id, a->plan_id);
    free(known);
    if ((rc = value(c, "SELECT min(effective_from) FROM assignment WHERE affiliate_id = ?1",
                    a->affiliate_id, &start, err)))
        return rc;
    snprintf(ver, sizeof ver, "%ld", a->version);
    if (!(rc = run(c, "DELETE FROM assignment WHERE affiliate_id = ?1", 1,
                   (const char *const[]){a->affiliate_id}, err)))
        rc = run(c,
                 "INSERT INTO assignment(affiliate_id, plan_id, effective_from, plan_version, "
                 "effective_to, seq, batch) VALUES(?1, ?2, ?3, ?4, NULL, 0, 0)",
                 4,
                 (const char *const[]){a->affiliate_id, a->plan_id, start ? start : from,
                                       a->version ? ver : NULL},
                 err);
    free(start);
    return rc;
}

/* The periods compared: the closed ones in [from, to] and every month after the last close. */
static int plan_periods(acre_sim *r, acre_store *s, int from, int to, acre_error *err)
{
    sqlite3_stmt *st;
    int rc, last = -1;
    long long seqs[MAX_PERIODS];
    int closed[MAX_PERIODS] = {0};

    if ((rc = acre_store_prepare(s, &st, "SELECT period, seq FROM close ORDER BY period", err)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int p = sqlite3_column_int(st, 0);
        last = p;
        if (p >= from && p <= to) {
            closed[p - from] = 1;
            seqs[p - from] = sqlite3_column_int64(st, 1);
        }
    }
    rc = rc == SQLITE_DONE ? 0 : acre_store_fail(s, "reading the closes", err);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    for (int p = from; p <= to; p++) {
        sim_period *x = &r->p[r->n];
        if (!closed[p - from] && p <= last)
            continue; /* never closed, and later periods were: skipped, as it was */
        acre_period_text(x->text, p);
        x->closed = closed[p - from];
        x->seq = x->closed ? seqs[p - from] : -1;
        r->n++;
    }
    if (r->n == 0) {
        char a[8], b[8];
        acre_period_text(a, from);
        acre_period_text(b, to);
        return acre_error_set(err, ACRE_EUSAGE, "period", "no_period",
                              "no period to simulate in %s..%s: none was closed, and later "
                              "periods were",
                              a, b);
    }
    return 0;
}

/* Puts "WHAT PERIOD: " before err's message, which keeps its code, field and rule. */
static void prefix(acre_error *err, const char *what, const char *period)
{
    char m[sizeof err->message];
    int n = snprintf(m, sizeof m, "%s %s: ", what, period);
    if (n > 0 && (size_t)n < sizeof m) {
        memcpy(m + n, err->message, sizeof m - (size_t)n - 1);
        m[sizeof m - 1] = '\0';
        memcpy(err->message, m, sizeof m);
    }
}

int acre_simulate(acre_sim **out, acre_store *s, const acre_sim_options *o, acre_error *err)
{
    acre_sim *r = acre_calloc(1, sizeof *r);
    acre_store *copy = NULL, *base = NULL;
    int from, to, rc, open = 0;

    *out = NULL;
    if (!r)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (acre_month_parse(o->from, strlen(o->from), &from) ||
        acre_month_parse(o->to ? o->to : o->from, strlen(o->to ? o->to : o->from), &to) ||
        to < from || to - from >= MAX_PERIODS) {
        rc = acre_error_set(err, ACRE_EUSAGE, "period", "period",
                            "simulate FROM[..TO]: months YYYY-MM, FROM not after TO, at most "
                            "%d months",
                            MAX_PERIODS);
        goto out;
    }
    if ((rc = plan_periods(r, s, from, to, err)))
        goto out;

    /* the simulation's copy: closes undone, plans and assignments replaced */
    if ((rc = acre_store_copy_memory(&copy, s, err)) || (rc = acre_store_begin(copy, err)) ||
        (rc = undo_closes(copy, from, err)) || (rc = acre_store_commit(copy, err)))
        goto out;
    for (int i = 0; i < o->nplans; i++)
        if ((rc = replace_plans(copy, o->plan_files[i], o->plan_names[i], err)))
            goto out;
    for (int i = 0; i < o->nassigns; i++)
        if ((rc = replace_assignment(copy, &o->assigns[i], r->p[0].text, err)))
            goto out;

    for (int i = 0; i < r->n; i++)
        open += !r->p[i].closed;
    if (open && (rc = acre_store_copy_memory(&base, s, err)))
        goto out;
    for (int i = 0; i < r->n; i++) {
        sim_period *p = &r->p[i];
        if (p->closed) {
            if ((rc = acre_ledger_get(s, p->text, &p->base, err)))
                goto out;
        } else if ((rc = acre_close_period_at(base, p->text, 1, -1, 1, &p->base, err))) {
            prefix(err, "baseline", p->text);
            goto out;
        }
        if ((rc = acre_close_period_at(copy, p->text, 1, p->seq, 1, &p->sim, err))) {
            prefix(err, "simulated", p->text);
            goto out;
        }
        if (o->progress)
            o->progress(o->progress_ctx, p->text, i + 1, r->n);
    }
    *out = r;
    r = NULL;
out:
    acre_store_free(copy);
    acre_store_free(base);
    acre_sim_free(r);
    return rc;
}

/* ---- the comparison ---- */

typedef struct row {
    const char *id, *currency;
    int scale;
    acre_dec base, sim, diff;
    acre_dec *pb, *ps; /* per period */
} row;

static int row_find(row *rows, int n, const char *id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, k = strcmp(rows[mid].id, id);
        if (k == 0)
            return mid;
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const row *)a)->id, ((const row *)b)->id);
}

/* Largest absolute difference first, then affiliate_id. */
static int by_move(const void *a, const void *b)
{
    const row *x = a, *y = b;
    acre_dec ax, ay;
    int k;
    acre_dec_init(&ax);
    acre_dec_init(&ay);
    mpq_abs(ax.q, x->diff.q);
    mpq_abs(ay.q, y->diff.q);
    k = acre_dec_cmp(&ay, &ax);
    acre_dec_clear(&ax);
    acre_dec_clear(&ay);
    return k ? k : strcmp(x->id, y->id);
}

/* difference / |baseline| as a percentage with one decimal, or NULL when the baseline is 0.
 * New string. */
static char *percent(const acre_dec *diff, const acre_dec *base, int *oom)
{
    acre_dec x, hundred;
    char *s;
    if (acre_dec_sgn(base) == 0)
        return NULL;
    acre_dec_init(&x);
    acre_dec_init(&hundred);
    acre_dec_set_si(&hundred, 100);
    mpq_abs(x.q, base->q);
    acre_dec_div(&x, diff, &x);
    acre_dec_mul(&x, &x, &hundred);
    s = acre_dec_format_fixed(&x, 1, ACRE_ROUND_HALF_EVEN);
    acre_dec_clear(&x);
    acre_dec_clear(&hundred);
    *oom |= !s;
    return s;
}

/* d rounded to scale, new; on a failed allocation NULL, and *oom is set (the report then ends
 * with an error, so what was printed is not taken for the result). */
static char *money(const acre_dec *d, int scale, int *oom)
{
    char *s = acre_dec_format_fixed(d, scale, ACRE_ROUND_HALF_EVEN);
    *oom |= !s;
    return s;
}

/* s, or "" for a string money() could not make */
static const char *or_none(const char *s)
{
    return s ? s : "";
}

/* One line of the table: baseline, simulated, difference and change in percent. */
static void table_row(FILE *out, const char *label, const char *cur, const acre_dec *base,
                      const acre_dec *sim, const acre_dec *diff, int scale, int *oom)
{
    char *b = money(base, scale, oom), *s = money(sim, scale, oom), *d = money(diff, scale, oom),
         *pc = percent(diff, base, oom);
    fprintf(out, "%-20.20s %-3s %14s %14s %14s %6s%s\n", label, cur ? cur : "", or_none(b),
            or_none(s), or_none(d),
            pc                   ? pc
            : acre_dec_sgn(diff) ? "new"
                                 : "-",
            pc ? "%" : "");
    free(b);
    free(s);
    free(d);
    free(pc);
}

int acre_sim_write(FILE *out, const acre_sim *r, const char *format, const char *only, int max_rows,
                   acre_error *err)
{
    json_t **docs = acre_calloc((size_t)r->n * 2 + 1, sizeof *docs);
    row *rows = NULL;
    int nrows = 0, cap = 0, rc = 0, oom = 0;
    int table = strcmp(format, "table") == 0, json = strcmp(format, "json") == 0;

    if (!table && !json && strcmp(format, "csv") != 0) {
        free(docs);
        return acre_error_set(err, ACRE_EUSAGE, "format", "format",
                              "unknown simulate format %s (table, json or csv)", format);
    }
    if (!docs)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    /* every affiliate of either ledger of any period, with its earned in each */
    for (int i = 0; i < r->n * 2; i++) {
        size_t k;
        json_t *a;
        const char *text = i % 2 ? r->p[i / 2].sim : r->p[i / 2].base;
        if (!(docs[i] = acre_json_loadb(text, strlen(text), 0, NULL))) {
            /* acre wrote both (the simulated one just now; audit checks the stored one), so
             * what fails here is memory */
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                                "out of memory: a ledger cannot be read");
            goto out;
        }
        json_array_foreach(json_object_get(docs[i], "affiliates"), k, a)
        {
            const char *id = json_string_value(json_object_get(a, "affiliate_id"));
            if (!id || (only && strcmp(id, only) != 0) || row_find(rows, nrows, id) >= 0)
                continue;
            if (nrows == cap) {
                row *n = acre_realloc(rows, (size_t)(cap = cap ? cap * 2 : 64) * sizeof *n);
                if (!n) {
                    rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                    goto out;
                }
                rows = n;
            }
            rows[nrows].id = id;
            rows[nrows].currency = json_string_value(json_object_get(a, "currency"));
            rows[nrows].scale =
                (int)json_integer_value(json_object_get(json_object_get(a, "rounding"), "scale"));
            acre_dec_init(&rows[nrows].base);
            acre_dec_init(&rows[nrows].sim);
            acre_dec_init(&rows[nrows].diff);
            rows[nrows].pb = acre_calloc((size_t)r->n, sizeof *rows[nrows].pb);
            rows[nrows].ps = acre_calloc((size_t)r->n, sizeof *rows[nrows].ps);
            for (int p = 0; rows[nrows].pb && rows[nrows].ps && p < r->n; p++) {
                acre_dec_init(&rows[nrows].pb[p]);
                acre_dec_init(&rows[nrows].ps[p]);
            }
            nrows++;
            qsort(rows, (size_t)nrows, sizeof *rows, by_id);
        }
    }
    if (only && nrows == 0) {
        /* an id in no ledger of the run is most likely a typo: say so rather than print an
         * empty table */
        rc = acre_error_set(err, ACRE_EUSAGE, "affiliate", "unknown_affiliate",
                            "--affiliate %s: no ledger of %s..%s names affiliate %s", only,
                            r->p[0].text, r->p[r->n - 1].text, only);
        goto out;
    }
    for (int i = 0; i < nrows; i++)
        if (!rows[i].pb || !rows[i].ps) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            goto out;
        }
    for (int i = 0; i < r->n * 2; i++) {
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(docs[i], "affiliates"), k, a)
        {
            const char *e = json_string_value(json_object_get(a, "earned"));
            const char *id = json_string_value(json_object_get(a, "affiliate_id"));
            int j = id ? row_find(rows, nrows, id) : -1;
            acre_dec *d;
            if (j < 0 || !e)
                continue;
            d = i % 2 ? &rows[j].ps[i / 2] : &rows[j].pb[i / 2];
            if ((rc = acre_dec_parse_stored(d, e, err)))
                goto out;
            acre_dec_add(i % 2 ? &rows[j].sim : &rows[j].base, i % 2 ? &rows[j].sim : &rows[j].base,
                         d);
        }
    }
    for (int i = 0; i < nrows; i++)
        acre_dec_sub(&rows[i].diff, &rows[i].sim, &rows[i].base);

    if (json) {
        fprintf(out, "{\"from\":\"%s\",\"to\":\"%s\",\"periods\":[", r->p[0].text,
                r->p[r->n - 1].text);
        for (int p = 0; p < r->n; p++)
            fprintf(out, "%s{\"period\":\"%s\",\"baseline\":\"%s\"}", p ? "," : "", r->p[p].text,
                    r->p[p].closed ? "closed" : "computed");
        fputs("],\"affiliates\":[", out);
        for (int i = 0; i < nrows; i++) {
            row *w = &rows[i];
            char *b = money(&w->base, w->scale, &oom), *s = money(&w->sim, w->scale, &oom),
                 *d = money(&w->diff, w->scale, &oom), *pc = percent(&w->diff, &w->base, &oom);
            acre_buf id = {0};
            acre_buf_json_str(&id, w->id, strlen(w->id));
            oom |= id.oom;
            fprintf(out, "%s\n{\"affiliate_id\":%s", i ? "," : "", or_none(id.p));
            acre_buf_free(&id);
            fprintf(out,
                    ",\"currency\":\"%s\",\"baseline\":\"%s\",\"simulated\":\"%s\","
                    "\"difference\":\"%s\",\"percent\":%s%s%s,\"periods\":[",
                    w->currency ? w->currency : "", or_none(b), or_none(s), or_none(d),
                    pc ? "\"" : "", pc ? pc : "null",
                    pc ? "\"" : "");
            for (int p = 0; p < r->n; p++) {
                acre_dec dd;
                char *pb = money(&w->pb[p], w->scale, &oom), *ps = money(&w->ps[p], w->scale, &oom),
                     *pd;
                acre_dec_init(&dd);
                acre_dec_sub(&dd, &w->ps[p], &w->pb[p]);
                pd = money(&dd, w->scale, &oom);
                fprintf(out,
                        "%s{\"period\":\"%s\",\"baseline\":\"%s\",\"simulated\":\"%s\","
                        "\"difference\":\"%s\"}",
                        p ? "," : "", r->p[p].text, or_none(pb), or_none(ps), or_none(pd));
                free(pb);
                free(ps);
                free(pd);
                acre_dec_clear(&dd);
            }
            fputs("]}", out);
            free(b);
            free(s);
            free(d);
            free(pc);
        }
        fputs("]}\n", out);
    } else if (!table) {
        fputs("period,affiliate_id,currency,baseline,simulated,difference\n", out);
        for (int p = 0; p < r->n; p++)
            for (int i = 0; i < nrows; i++) {
                row *w = &rows[i];
                acre_dec dd;
                char *pb = money(&w->pb[p], w->scale, &oom), *ps = money(&w->ps[p], w->scale, &oom),
                     *pd;
                acre_dec_init(&dd);
                acre_dec_sub(&dd, &w->ps[p], &w->pb[p]);
                pd = money(&dd, w->scale, &oom);
                fprintf(out, "%s,%s,%s,%s,%s,%s\n", r->p[p].text, w->id,
                        w->currency ? w->currency : "", or_none(pb), or_none(ps), or_none(pd));
                free(pb);
                free(ps);
                free(pd);
                acre_dec_clear(&dd);
            }
    } else {
        /* the table: largest movers first, then totals per currency */
        int shown = 0, changed = 0;
        int nclosed = 0;
        for (int p = 0; p < r->n; p++)
            nclosed += r->p[p].closed;
        fprintf(out, "simulate %s..%s: %d closed period%s, %d open\n\n", r->p[0].text,
                r->p[r->n - 1].text, nclosed, nclosed == 1 ? "" : "s", r->n - nclosed);
        if (nrows > 1) /* qsort's array must not be NULL, even when empty */
            qsort(rows, (size_t)nrows, sizeof *rows, by_move);
        fprintf(out, "%-20s %-3s %14s %14s %14s %7s\n", "affiliate", "cur", "baseline", "simulated",
                "difference", "change");
        for (int i = 0; i < nrows; i++) {
            row *w = &rows[i];
            changed += acre_dec_sgn(&w->diff) != 0;
            if (shown >= max_rows)
                continue;
            table_row(out, w->id, w->currency, &w->base, &w->sim, &w->diff, w->scale, &oom);
            shown++;
        }
        if (shown < nrows)
            fprintf(out, "... %d more affiliates (--format csv or json lists all)\n",
                    nrows - shown);
        fputc('\n', out);
        /* totals: one line per currency, in currency order */
        for (int i = 0; i < nrows; i++) {
            const char *cur = rows[i].currency ? rows[i].currency : "";
            int first = 1, scale = 0;
            acre_dec tb, ts, td;
            for (int j = 0; j < i; j++)
                first &= strcmp(rows[j].currency ? rows[j].currency : "", cur) != 0;
            if (!first)
                continue;
            acre_dec_init(&tb);
            acre_dec_init(&ts);
            acre_dec_init(&td);
            for (int j = i; j < nrows; j++)
                if (strcmp(rows[j].currency ? rows[j].currency : "", cur) == 0) {
                    acre_dec_add(&tb, &tb, &rows[j].base);
                    acre_dec_add(&ts, &ts, &rows[j].sim);
                    if (rows[j].scale > scale)
                        scale = rows[j].scale;
                }
            acre_dec_sub(&td, &ts, &tb);
            table_row(out, "total", cur, &tb, &ts, &td, scale, &oom);
            acre_dec_clear(&tb);
            acre_dec_clear(&ts);
            acre_dec_clear(&td);
        }
        fprintf(out, "\n%d of %d affiliates change.\n", changed, nrows);
    }
    if (oom)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
out:
    for (int i = 0; i < nrows; i++) {
        acre_dec_clear(&rows[i].base);
        acre_dec_clear(&rows[i].sim);
        acre_dec_clear(&rows[i].diff);
        for (int p = 0; rows[i].pb && rows[i].ps && p < r->n; p++) {
            acre_dec_clear(&rows[i].pb[p]);
            acre_dec_clear(&rows[i].ps[p]);
        }
        free(rows[i].pb);
        free(rows[i].ps);
    }
    free(rows);
    for (int i = 0; i < r->n * 2; i++)
        json_decref(docs[i]);
    free(docs);
    return rc;
}
