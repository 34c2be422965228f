/* engine/simulate.c — `acre simulate`: the periods recomputed with other plans, compared with
 * what was (or would be) closed.
 *
 * Everything happens inside a write transaction that is rolled back, so nothing is written and
 * nothing is copied: closes from FROM on are undone (every state table is keyed by the close that
 * wrote it; a clawback made before FROM is kept: find_kept), plans and assignments replaced, and
 * the periods closed again in order, each closed period at its own close's watermark, so records
 * that arrived later are seen as that close saw them and the only difference from the stored
 * ledger is the deal. With the stored plans the simulation gives the stored ledgers back byte
 * for byte, every closed range and every closed period alone (tests/test_simulate.c checks it
 * on every fixture). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "acre/ledger.h"
#include "acre/plan.h"
#include "acre/simulate.h"
#include "alloc.h"
#include "close.h"
#include "datetime.h"
#include "jsonval.h"
#include "sim_int.h"
#include "sim_ledger.h"
#include "store_int.h"
#include "strset.h"

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

/* Runs a query without rows. */
static int run(acre_store *s, const acre_query *q, const acre_value *params, acre_error *err)
{
    return acre_store_query(s, q, params, NULL, NULL, "simulating", err);
}

/* *(char **)ctx = a copy of the first column's text (NULL when it is null). */
static int copy_text(void *ctx, const acre_value *row, int n, acre_error *err)
{
    (void)n;
    if (row[0].type == ACRE_VAL_TEXT && !(*(char **)ctx = acre_strdup(row[0].s)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    return 1;
}

/* *v = the text value of the first row of q with one text parameter, new, or NULL when there
 * is no row or the value is null. Returns 0 or an error. */
static int value(acre_store *s, const acre_query *q, const char *param, char **v, acre_error *err)
{
    acre_value p = acre_val_text(param);
    *v = NULL;
    return acre_store_query(s, q, &p, copy_text, v, "simulating", err);
}

/* A settled customer whose clawed_period is at or after the first simulated period, paid before
 * it. */
typedef struct marked {
    char *raw;    /* the customer ID */
    char *id;     /* the same JSON-escaped, with its quotes, as a ledger writes it */
    int paid;     /* the period it was paid in */
    int64_t last; /* the end of its clawback window: qualified_at + clawback_days */
    int clawed;   /* the period whose ledger claws it back, before the first simulated; or 0 */
} marked;

typedef struct marks {
    marked *m;
    int n, cap, oom;
    acre_strset by_id; /* each escaped id: its index in m */
} marks;

static int add_marked(void *ctx, const acre_value *row, int n, acre_error *err)
{
    marks *k = ctx;
    acre_buf b = {0};
    char *raw;
    (void)n;
    (void)err;
    if (k->n == k->cap) {
        int cap = k->cap ? k->cap * 2 : 16;
        marked *m = acre_realloc(k->m, (size_t)cap * sizeof *m);
        if (!m) {
            k->oom = 1;
            return 1;
        }
        k->m = m;
        k->cap = cap;
    }
    acre_buf_json_str(&b, row[0].s, row[0].n);
    if (b.oom || !(raw = acre_strdup(row[0].s))) {
        acre_buf_free(&b);
        k->oom = 1;
        return 1;
    }
    k->m[k->n++] = (marked){raw, b.p, (int)row[1].i, row[2].i + row[3].i * 86400, 0};
    return 0;
}

/* Sets k->m[i].clawed for each customer a cpa_clawback line of ledger `text` (period p) names.
 * The ledger is acre's own canonical JSON: a line is {"kind":"cpa_clawback","plan":"...",
 * "customer_id":"...",...} (engine/close_util.c acre_close_line). */
static void find_clawbacks(marks *k, const char *text, int p)
{
    static const char kind[] = "{\"kind\":\"cpa_clawback\",\"plan\":";
    static const char cust[] = ",\"customer_id\":";
    size_t n = strlen(text);
    long c;
    for (const char *at = strstr(text, kind); at; at = strstr(at + 1, kind)) {
        size_t i = (size_t)(at - text) + sizeof kind - 1, j;
        if (i >= n || text[i] != '"')
            continue;
        i = acre_sim_skip_string(text, n, i);
        if (n - i < sizeof cust - 1 || memcmp(text + i, cust, sizeof cust - 1) != 0)
            continue;
        i += sizeof cust - 1;
        if (i >= n || text[i] != '"')
            continue;
        j = acre_sim_skip_string(text, n, i);
        if (acre_strset_get(&k->by_id, text + i, j - i, &c) && !k->m[c].clawed)
            k->m[c].clawed = p;
    }
}

/* The customers clawed back before period `from` whose mark a later close set again: every
 * close after a clawback sets settled.clawed_period to its own period (engine/close_state.c),
 * so undoing the closes from `from` on would unmark them, and the simulation would claw them
 * back a second time. Each is found in the ledgers of the periods before `from` in its clawback
 * window (a clawback comes after the period that paid, while the window is open); mark_kept
 * marks them again, with the period that clawed them back, once the closes are undone. */
static int find_kept(acre_store *c, int from, marks *k, acre_error *err)
{
    static const acre_query q_marked = {ACRE_Q_SELECT,
                                        "settled",
                                        {"customer_id", "period", "qsec", "clawback_days", NULL},
                                        {{"clawed_period", ACRE_GE}, {"period", ACRE_LT}},
                                        {NULL},
                                        0,
                                        0};
    acre_value p[2] = {acre_val_int(from), acre_val_int(from)};
    int rc, lo = from;
    if ((rc = acre_store_query(c, &q_marked, p, add_marked, k, "reading clawbacks", err)))
        return rc;
    if (k->oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    for (int i = 0; i < k->n; i++) {
        if (acre_strset_put(&k->by_id, k->m[i].id, strlen(k->m[i].id), i))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        if (k->m[i].paid + 1 < lo)
            lo = k->m[i].paid + 1;
    }
    for (int q = lo; q < from && !rc; q++) {
        char per[8], *text = NULL;
        int want = 0;
        for (int i = 0; i < k->n; i++)
            want |= !k->m[i].clawed && q > k->m[i].paid && acre_month_start(q) <= k->m[i].last;
        if (!want)
            continue;
        acre_period_text(per, q);
        rc = acre_ledger_get(c, per, &text, err);
        if (rc == ACRE_ENOTFOUND) {
            rc = 0; /* not closed (skipped): no ledger, no clawback */
            acre_error_clear(err);
            continue;
        }
        if (!rc)
            find_clawbacks(k, text, q);
        free(text);
    }
    return rc;
}

/* The mark is the period that clawed the customer back, not the later period the stored row
 * held: a close reads only whether it is set (engine/close_load.c), and the simulated closes
 * set it again as the stored ones did. */
static int mark_kept(acre_store *c, const marks *k, acre_error *err)
{
    static const acre_query q_mark = {ACRE_Q_UPDATE,
                                      "settled",
                                      {"clawed_period", NULL},
                                      {{"customer_id", ACRE_EQ}},
                                      {NULL},
                                      0,
                                      0};
    int rc = 0;
    for (int i = 0; i < k->n && !rc; i++)
        if (k->m[i].clawed) {
            acre_value v[2] = {acre_val_int(k->m[i].clawed), acre_val_text(k->m[i].raw)};
            rc = acre_store_query(c, &q_mark, v, NULL, NULL, "keeping clawbacks", err);
        }
    return rc;
}

static void marks_free(marks *k)
{
    for (int i = 0; i < k->n; i++) {
        free(k->m[i].raw);
        free(k->m[i].id);
    }
    free(k->m);
    acre_strset_free(&k->by_id);
}

/* Undoes, inside the simulation's transaction, every close from period `from` (a month
 * number) on: its close row, and in every close's state table (acre_store_tables(), the rule
 * kinds' among them) the rows those closes wrote and the marks they set, but the clawbacks
 * before `from` (keep_clawbacks). */
static int undo_closes(acre_store *c, int from, acre_error *err)
{
    static const acre_query q_close = {ACRE_Q_DELETE, "close", {NULL}, {{"period", ACRE_GE}},
                                       {NULL},        0,       0};
    acre_value p[2] = {acre_val_int(from), acre_val_int(from)};
    marks kept = {0};
    int rc;
    if ((rc = find_kept(c, from, &kept, err)) ||
        (rc =
             acre_store_query(c, &q_close, p, NULL, NULL, "undoing closes in the simulation", err)))
        goto out;
    for (const acre_table *const *t = acre_store_tables(); *t; t++) {
        acre_query del = {ACRE_Q_DELETE, (*t)->name, {NULL}, {{(*t)->close_period, ACRE_GE}},
                          {NULL},        0,          0};
        acre_query mark = {ACRE_Q_UPDATE,
                           (*t)->name,
                           {(*t)->close_marks, NULL},
                           {{(*t)->close_marks, ACRE_GE}},
                           {NULL},
                           0,
                           0};
        acre_value unmark[2] = {acre_val_null(), acre_val_int(from)};
        if (!(*t)->close_period)
            continue;
        if ((rc = acre_store_query(c, &del, p, NULL, NULL, "undoing closes in the simulation",
                                   err)) ||
            ((*t)->close_marks && (rc = acre_store_query(c, &mark, unmark, NULL, NULL,
                                                         "undoing closes in the simulation", err))))
            goto out;
    }
    rc = mark_kept(c, &kept, err);
out:
    marks_free(&kept);
    return rc;
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
        if (!id || !json_is_integer(v))
            continue;
        static const acre_query del = {
            ACRE_Q_DELETE, "plan", {NULL}, {{"plan_id", ACRE_EQ}, {"version", ACRE_EQ}},
            {NULL},        0,      0};
        acre_value k[2] = {acre_val_text(id), acre_val_int(json_integer_value(v))};
        if ((rc = run(c, &del, k, err)))
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
        static const acre_query point = {ACRE_Q_UPDATE,
                                         "assignment",
                                         {"plan_version", NULL},
                                         {{"plan_id", ACRE_EQ}},
                                         {NULL},
                                         0,
                                         0};
        static const acre_query first = {ACRE_Q_UPDATE,
                                         "plan",
                                         {"seq", NULL},
                                         {{"plan_id", ACRE_EQ}, {"version", ACRE_EQ}},
                                         {NULL},
                                         0,
                                         0};
        long long ver = json_integer_value(json_object_get(p, "version"));
        acre_value id = acre_val_text(json_string_value(json_object_get(p, "plan_id")));
        rc = run(c, &point, (acre_value[]){acre_val_int(ver), id}, err);
        /* in place of the stored plan at every watermark, an --assign without a version too */
        if (!rc)
            rc = run(c, &first, (acre_value[]){acre_val_int(0), id, acre_val_int(ver)}, err);
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
    static const acre_query aff = {ACRE_Q_SELECT,
                                   "affiliate",
                                   {"affiliate_id", NULL},
                                   {{"affiliate_id", ACRE_EQ}},
                                   {NULL},
                                   0,
                                   1};
    static const acre_query plan = {
        ACRE_Q_SELECT, "plan", {"plan_id", NULL}, {{"plan_id", ACRE_EQ}}, {NULL}, 0, 1};
    static const acre_query earliest = {ACRE_Q_SELECT,
                                        "assignment",
                                        {"effective_from", NULL},
                                        {{"affiliate_id", ACRE_EQ}},
                                        {"effective_from", NULL},
                                        0,
                                        1};
    static const acre_query del = {
        ACRE_Q_DELETE, "assignment", {NULL}, {{"affiliate_id", ACRE_EQ}}, {NULL}, 0, 0};
    static const acre_query add = {ACRE_Q_INSERT, "assignment", {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
    const acre_table *t = acre_store_table("assignment");
    acre_value row[ACRE_Q_MAX];
    char *start, *known;
    int rc;
    if ((rc = value(c, &aff, a->affiliate_id, &known, err)))
        return rc;
    if (!known)
        return acre_error_set(err, ACRE_EUSAGE, "assign", "unknown_affiliate",
                              "--assign %s=%s: no affiliate %s is stored", a->affiliate_id,
                              a->plan_id, a->affiliate_id);
    free(known);
    if ((rc = value(c, &plan, a->plan_id, &known, err)))
        return rc;
    if (!known)
        return acre_error_set(err, ACRE_EUSAGE, "assign", "unknown_plan",
                              "--assign %s=%s: no plan %s is stored or given with --plan",
                              a->affiliate_id, a->plan_id, a->plan_id);
    free(known);
    if ((rc = value(c, &earliest, a->affiliate_id, &start, err)))
        return rc;
    /* the row by column name: seq and batch 0, effective_to and the rest null */
    for (int i = 0; i < t->ncols; i++) {
        const char *n = t->cols[i].name;
        row[i] = strcmp(n, "affiliate_id") == 0     ? acre_val_text(a->affiliate_id)
                 : strcmp(n, "plan_id") == 0        ? acre_val_text(a->plan_id)
                 : strcmp(n, "effective_from") == 0 ? acre_val_text(start ? start : from)
                 : strcmp(n, "plan_version") == 0 && a->version     ? acre_val_int(a->version)
                 : strcmp(n, "seq") == 0 || strcmp(n, "batch") == 0 ? acre_val_int(0)
                                                                    : acre_val_null();
    }
    if (!(rc = run(c, &del, (acre_value[]){acre_val_text(a->affiliate_id)}, err)))
        rc = run(c, &add, row, err);
    free(start);
    return rc;
}

typedef struct closes_seen {
    int from, to, last;
    long long seqs[MAX_PERIODS];
    int closed[MAX_PERIODS];
} closes_seen;

static int close_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    closes_seen *x = ctx;
    int p = (int)row[0].i;
    (void)n;
    (void)err;
    x->last = p;
    if (p >= x->from && p <= x->to) {
        x->closed[p - x->from] = 1;
        x->seqs[p - x->from] = row[1].i;
    }
    return 0;
}

/* The periods compared: the closed ones in [from, to] and every month after the last close. */
static int plan_periods(acre_sim *r, acre_store *s, int from, int to, acre_error *err)
{
    static const acre_query closes = {
        ACRE_Q_SELECT, "close", {"period", "seq", NULL}, {{NULL, 0}}, {NULL}, 0, 0};
    closes_seen x = {from, to, -1, {0}, {0}};
    int rc;

    if ((rc = acre_store_query(s, &closes, NULL, close_row, &x, "reading the closes", err)))
        return rc;
    int last = x.last;
    long long *seqs = x.seqs;
    int *closed = x.closed;
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
    int from, to, rc, open = 0;
    size_t key_len = s->ledger_key_len;

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

    /* computed without the ledger key: nothing of a simulation is a ledger anyone keeps */
    key_len = s->ledger_key_len;
    s->ledger_key_len = 0;
    /* the simulation, inside a write transaction rolled back at the end: closes from FROM
     * undone, plans and assignments replaced, the periods closed again in order */
    if ((rc = acre_store_begin(s, err)))
        goto out;
    if ((rc = undo_closes(s, from, err)))
        goto roll;
    for (int i = 0; i < o->nplans; i++)
        if ((rc = replace_plans(s, o->plan_files[i], o->plan_names[i], err)))
            goto roll;
    for (int i = 0; i < o->nassigns; i++)
        if ((rc = replace_assignment(s, &o->assigns[i], r->p[0].text, err)))
            goto roll;
    for (int i = 0; i < r->n; i++) {
        sim_period *p = &r->p[i];
        /* the first reads every record: an incremental close trusts that the close before it
         * judged the records with the plans stored now, and a plan replaced here was not the
         * one that close held (docs/design.md "An incremental close") */
        if ((rc = acre_close_period_at(s, p->text, 1, p->seq, 1, i == 0 && o->nplans > 0,
                                       &p->sim, err))) {
            prefix(err, "simulated", p->text);
            goto roll;
        }
        if (o->summaries && (rc = acre_sim_summarize(&p->sim, err)))
            goto roll;
        if (o->progress)
            o->progress(o->progress_ctx, p->text, i + 1, r->n);
    }
    acre_store_rollback(s);

    /* the baseline: the stored ledger of a closed period; the others closed in order, with the
     * stored plans, inside another transaction rolled back */
    for (int i = 0; i < r->n; i++)
        open += !r->p[i].closed;
    if (open && (rc = acre_store_begin(s, err)))
        goto out;
    for (int i = 0; i < r->n; i++) {
        sim_period *p = &r->p[i];
        if (p->closed)
            rc = acre_ledger_get(s, p->text, &p->base, err);
        else if ((rc = acre_close_period_at(s, p->text, 1, -1, 1, 0, &p->base, err)))
            prefix(err, "baseline", p->text);
        if (!rc && o->summaries)
            rc = acre_sim_summarize(&p->base, err);
        if (rc)
            goto roll;
    }
    if (open)
        acre_store_rollback(s);
    *out = r;
    r = NULL;
    goto out;
roll:
    acre_store_rollback(s);
out:
    s->ledger_key_len = key_len;
    acre_sim_free(r);
    return rc;
}
