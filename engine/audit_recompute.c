/* engine/audit_recompute.c — `acre audit --recompute`: every closed ledger derived again from the
 * stored record versions as of its close, and every state row with it (SPEC 10).
 *
 * It runs inside a write transaction that is rolled back (the store itself is only read): the
 * stored closes and everything they left (the close rows and every close's state table of
 * acre_store_tables(): close_affiliate, the rule kinds' tables such as carryover's close_layer,
 * close_excluded, settled, counted) are read into memory and removed, and the periods are closed
 * again in order, each at its own close's watermark (close.seq), so each sees the record
 * versions its close saw,
 * and the state the close before it left as recomputed, not as stored. Each ledger must come back
 * byte for byte (its mac aside: that is the key's check); the first that does not is named with its
 * first differing line, and the later ones, which follow from it, are not compared. When every
 * ledger matches, every state row is compared with the recomputed one, naming the table, the key
 * and the first field that differs. */
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "alloc.h"
#include "audit_int.h"
#include "close.h"
#include "jsonval.h"
#include "store_int.h"

#define MAX_ROWS 20 /* differing rows named per table; all are counted */
#define MAX_TABLES 32 /* close's state tables: the core's and the rule kinds' (at most 16) */

/* One close's state table (acre_store_tables() with close_period): its key columns, then its
 * other columns in table order. */
typedef struct table {
    const char *name;
    int nkey, nval;
    const char *cols[ACRE_Q_MAX]; /* keys first */
    int month[ACRE_Q_MAX];        /* cols[i] holds a month number: messages write YYYY-MM */
    int period_col;               /* the column naming the close's period (in cols) */
} table;

/* The close's state tables in acre_store_tables()' order; *n of them. */
static void state_tables(table *tabs, int *n)
{
    *n = 0;
    for (const acre_table *const *all = acre_store_tables(); *all && *n < MAX_TABLES; all++) {
        const acre_table *t = *all;
        table *x = &tabs[*n];
        int k = 0;
        if (!t->close_period)
            continue;
        memset(x, 0, sizeof *x);
        x->name = t->name;
        x->nkey = t->nkey;
        x->nval = t->ncols - t->nkey;
        for (int i = 0; i < t->nkey; i++) {
            x->month[k] = t->cols[t->key[i]].month;
            x->cols[k++] = t->cols[t->key[i]].name;
        }
        for (int c = 0; c < t->ncols; c++) {
            int key = 0;
            for (int i = 0; i < t->nkey; i++)
                key |= t->key[i] == c;
            if (!key) {
                x->month[k] = t->cols[c].month;
                x->cols[k++] = t->cols[c].name;
            }
        }
        for (int i = 0; i < k; i++)
            if (strcmp(x->cols[i], t->close_period) == 0)
                x->period_col = i;
        (*n)++;
    }
}

/* The rows of one state table, nc values each (texts owned), row i at v + i*nc. */
typedef struct rows {
    acre_value *v;
    int nc, n, cap;
} rows;

#define ROW(x, i) ((x)->v + (size_t)(i) * (size_t)(x)->nc)

static void rows_free(rows *x)
{
    for (int i = 0; i < x->n; i++)
        for (int k = 0; k < x->nc; k++)
            if (ROW(x, i)[k].type == ACRE_VAL_TEXT)
                free((char *)ROW(x, i)[k].s);
    free(x->v);
    memset(x, 0, sizeof *x);
}

static int keep_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    rows *x = ctx;
    acre_value *r;
    if (x->n == x->cap) {
        int cap = x->cap ? x->cap * 2 : 64;
        acre_value *m = acre_realloc(x->v, (size_t)cap * (size_t)x->nc * sizeof *m);
        if (!m)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        x->v = m;
        x->cap = cap;
    }
    r = ROW(x, x->n);
    memset(r, 0, (size_t)x->nc * sizeof *r);
    for (int i = 0; i < n && i < x->nc; i++) {
        r[i] = row[i];
        if (row[i].type == ACRE_VAL_TEXT && !(r[i].s = acre_strndup(row[i].s, row[i].n))) {
            for (int k = 0; k < i; k++)
                if (r[k].type == ACRE_VAL_TEXT)
                    free((char *)r[k].s);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
    }
    x->n++;
    return 0;
}

/* Every row of t, keys first, in key order. */
static int read_rows(acre_store *c, const table *t, rows *x, acre_error *err)
{
    acre_query q = {ACRE_Q_SELECT, t->name, {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
    x->nc = t->nkey + t->nval;
    for (int i = 0; i < t->nkey + t->nval; i++)
        q.cols[i] = t->cols[i];
    for (int i = 0; i < t->nkey; i++)
        q.order[i] = t->cols[i];
    return acre_store_query(c, &q, NULL, keep_row, x, "reading the state", err);
}

static int value_cmp(const acre_value *a, const acre_value *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    if (a->type == ACRE_VAL_INT)
        return a->i < b->i ? -1 : a->i > b->i;
    if (a->type == ACRE_VAL_TEXT) {
        size_t n = a->n < b->n ? a->n : b->n;
        int d = memcmp(a->s, b->s, n);
        return d ? d : a->n < b->n ? -1 : a->n > b->n;
    }
    return 0;
}

static int key_cmp(const table *t, const acre_value *a, const acre_value *b)
{
    for (int i = 0; i < t->nkey; i++) {
        int d = value_cmp(&a[i], &b[i]);
        if (d)
            return d;
    }
    return 0;
}

/* The row of `x` with the key of r, or NULL (x is in key order). */
static const acre_value *find(const table *t, const rows *x, const acre_value *r)
{
    int lo = 0, hi = x->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, d = key_cmp(t, ROW(x, mid), r);
        if (d == 0)
            return ROW(x, mid);
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A value as text for a message; buf holds an integer's digits. NULL for null. */
static const char *text_of(const acre_value *v, char buf[24])
{
    if (v->type == ACRE_VAL_TEXT)
        return v->s;
    if (v->type == ACRE_VAL_INT) {
        snprintf(buf, 24, "%lld", v->i);
        return buf;
    }
    return NULL;
}

static const acre_query q_stored_closes = {ACRE_Q_SELECT,
                                           "close",
                                           {"period_text", "seq", "ledger", NULL},
                                           {{NULL, 0}},
                                           {"period", NULL},
                                           0,
                                           0};

/* Removes every close and the state they left (inside the recompute's transaction): the close
 * rows and every row of the close's state tables. */
static int remove_closes(acre_store *c, const table *tabs, int ntabs, acre_error *err)
{
    for (int i = -1; i < ntabs; i++) {
        acre_query q = {
            ACRE_Q_DELETE, i < 0 ? "close" : tabs[i].name, {NULL}, {{NULL, 0}}, {NULL}, 0, 0};
        int rc = acre_store_query(c, &q, NULL, NULL, NULL, "recomputing", err);
        if (rc)
            return rc;
    }
    return 0;
}

/* doc without its ,"mac":"…" member (a new string), or NULL when out of memory. */
static char *without_mac(const char *doc)
{
    const char *m = strstr(doc, "\",\"mac\":\"hmac-sha256:");
    char *r;
    const char *end;
    if (!m || !(end = strchr(m + 9, '"')))
        return acre_strdup(doc);
    m++; /* keep the digest's closing quote */
    if (!(r = acre_malloc(strlen(doc) + 1)))
        return NULL;
    memcpy(r, doc, (size_t)(m - doc));
    strcpy(r + (m - doc), end + 1);
    return r;
}

/* Names the first line where a and b differ. */
static void first_difference(FILE *out, const char *period, const char *a, const char *b)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    fprintf(out,
            "%s\tFAIL\trecompute: the stored ledger is not the one its records give; the first "
            "difference is on line %d (stored %.*s, recomputed %.*s)\n",
            period, line, (int)strcspn(la, "\n") > 160 ? 160 : (int)strcspn(la, "\n"), la,
            (int)strcspn(lb, "\n") > 160 ? 160 : (int)strcspn(lb, "\n"), lb);
}

/* One stored close, read before any is closed again. */
typedef struct closed {
    char period[8];
    long long seq;
    char *ledger; /* without its mac */
} closed;

typedef struct closes {
    closed *v;
    int n;
} closes;

static int close_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    closes *x = ctx;
    closed *m;
    (void)n;
    if (!(m = acre_realloc(x->v, (size_t)(x->n + 1) * sizeof *m)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    x->v = m;
    m += x->n;
    snprintf(m->period, sizeof m->period, "%s", row[0].s ? row[0].s : "");
    m->seq = row[1].i;
    if (!(m->ledger = without_mac(row[2].s ? row[2].s : "")))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    x->n++;
    return 0;
}

static int read_closes(acre_store *c, closed **out, int *n, acre_error *err)
{
    closes x = {NULL, 0};
    int rc = acre_store_query(c, &q_stored_closes, NULL, close_row, &x, "reading the closes", err);
    *out = x.v;
    *n = x.n;
    return rc;
}

/* Closes every stored period again in the copy; *same is set when every ledger matched. */
static int reclose(acre_store *c, closed *cl, int n, FILE *out, int *nbad, int *same,
                   acre_error *err)
{
    int rc = 0;
    *same = 0;
    for (int i = 0; !rc && i < n; i++) {
        char *ledger = NULL;
        acre_error cerr;
        int crc;
        acre_error_clear(&cerr);
        /* gaps were allowed when these closes were made, or they would not exist */
        crc = acre_close_period_at(c, cl[i].period, 1, cl[i].seq, 1, 1, &ledger, &cerr);
        if (crc == ACRE_ENOMEM || crc == ACRE_EIO) { /* not the records' answer: an error */
            rc = acre_error_set(err, crc, NULL, NULL, "the recompute stopped at %s: %s",
                                cl[i].period, cerr.message);
            break;
        }
        if (crc) {
            fprintf(out, "%s\tFAIL\trecompute: closing it again at seq %lld is refused: %s\n",
                    cl[i].period, cl[i].seq, cerr.message);
            (*nbad)++;
        } else if (strcmp(ledger, cl[i].ledger) != 0) {
            first_difference(out, cl[i].period, cl[i].ledger, ledger);
            (*nbad)++;
            crc = 1;
        }
        free(ledger);
        if (crc) {
            if (i + 1 < n)
                fprintf(out,
                        "%s\tnote\trecompute: the periods after it follow from it and are "
                        "not compared\n",
                        cl[i].period);
            break;
        }
        if (i + 1 == n)
            *same = 1;
    }
    if (n == 0 && !rc)
        *same = 1;
    return rc;
}

/* Names one differing row: side is the stored row, or the recomputed one when there is none. */
static void name_row(FILE *out, const table *t, const acre_value *o, const acre_value *m)
{
    const acre_value *side = o ? o : m;
    char period[8] = "store", buf[24];
    acre_buf key = {0};
    if (t->period_col >= 0 && side[t->period_col].type == ACRE_VAL_INT)
        acre_period_text(period, (int)side[t->period_col].i);
    for (int i = 0; i < t->nkey; i++) {
        const char *v = text_of(&side[i], buf);
        acre_buf_printf(&key, "%s%s=", i ? ", " : "", t->cols[i]);
        if (t->month[i]) {
            char p[8];
            acre_period_text(p, (int)side[i].i);
            acre_buf_adds(&key, p);
        } else {
            for (; v && *v; v++) /* a counted key's fields are separated by control bytes */
                acre_buf_add(&key, (unsigned char)*v < 0x20 ? "/" : v, 1);
        }
    }
    if (!o)
        fprintf(out, "%s\tFAIL\trecompute: %s has no row (%s); the records give one\n", period,
                t->name, key.p ? key.p : "");
    else if (!m)
        fprintf(out, "%s\tFAIL\trecompute: %s has a row (%s) the records do not give\n", period,
                t->name, key.p ? key.p : "");
    else
        for (int i = t->nkey; i < t->nkey + t->nval; i++) {
            char ob[24], mb[24];
            const char *ov = text_of(&o[i], ob), *mv = text_of(&m[i], mb);
            if (value_cmp(&o[i], &m[i]) == 0)
                continue;
            fprintf(out, "%s\tFAIL\trecompute: %s (%s): %s is %s; the records give %s\n", period,
                    t->name, key.p ? key.p : "", t->cols[i], ov ? ov : "null", mv ? mv : "null");
            break;
        }
    acre_buf_free(&key);
}

/* The rows of one state table that differ between the stored (o) and the recomputed (m):
 * stored rows against the recomputed row of the same key (or none), then recomputed rows with
 * no stored one. */
static void compare_table(const table *t, const rows *o, const rows *m, FILE *out, int *nbad)
{
    int shown = 0;
    for (int i = 0; i < o->n; i++) {
        const acre_value *r = ROW(o, i), *twin = find(t, m, r);
        int differs = !twin;
        for (int k = t->nkey; twin && k < t->nkey + t->nval; k++)
            differs |= value_cmp(&r[k], &twin[k]) != 0;
        if (!differs)
            continue;
        (*nbad)++;
        if (shown++ < MAX_ROWS)
            name_row(out, t, r, twin);
    }
    for (int i = 0; i < m->n; i++) {
        if (find(t, o, ROW(m, i)))
            continue;
        (*nbad)++;
        if (shown++ < MAX_ROWS)
            name_row(out, t, NULL, ROW(m, i));
    }
    if (shown > MAX_ROWS)
        fprintf(out, "store\tFAIL\trecompute: %s: %d more rows differ\n", t->name,
                shown - MAX_ROWS);
}

/* Inside a write transaction rolled back at the end, so the store is only read: the stored
 * closes and state read first, then removed, the periods closed again, and compared. */
int acre_audit_recompute(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    table tabs[MAX_TABLES];
    rows stored[MAX_TABLES], now[MAX_TABLES];
    closed *cl = NULL;
    int rc, n = 0, same = 0, ntabs;
    size_t key_len = s->ledger_key_len;
    state_tables(tabs, &ntabs);
    memset(stored, 0, sizeof stored);
    memset(now, 0, sizeof now);
    if ((rc = acre_store_begin(s, err)))
        return rc;
    /* the closes again without the ledger key: the stored ledgers are compared without their
     * mac (the key's check is the audit's own), and nothing recomputed is kept */
    s->ledger_key_len = 0;
    if ((rc = read_closes(s, &cl, &n, err)))
        goto out;
    for (int i = 0; i < ntabs; i++)
        if ((rc = read_rows(s, &tabs[i], &stored[i], err)))
            goto out;
    if ((rc = remove_closes(s, tabs, ntabs, err)) ||
        (rc = reclose(s, cl, n, out, nbad, &same, err)))
        goto out;
    for (int i = 0; same && i < ntabs; i++) {
        if ((rc = read_rows(s, &tabs[i], &now[i], err)))
            goto out;
        compare_table(&tabs[i], &stored[i], &now[i], out, nbad);
    }
out:
    s->ledger_key_len = key_len;
    acre_store_rollback(s);
    for (int i = 0; i < ntabs; i++) {
        rows_free(&stored[i]);
        rows_free(&now[i]);
    }
    for (int i = 0; i < n; i++)
        free(cl[i].ledger);
    free(cl);
    return rc;
}
