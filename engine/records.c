/* engine/records.c — the current versions of stored records, filtered and paged
 * (include/acre/records.h; SPEC 11's GET /KIND).
 *
 * A kind's table holds every version of every record, in key order and then by seq, so its
 * rows are read in that order and the last row of each key is the record's current version. A
 * record is given as the JSON of its stored columns: text as strings, money and counts as
 * numbers (the exact decimal text ingest stored), objects as their canonical JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/records.h"
#include "alloc.h"
#include "buf.h"
#include "datetime.h"
#include "jsonval.h"
#include "record.h"
#include "store_int.h"

typedef struct lister {
    const acre_kind *k;
    const acre_list_opts *o;
    int (*fn)(void *ctx, const char *json, size_t len, const char *cursor);
    void *ctx;
    int cust, aff, date, vertical; /* columns filtered on, or -1 */
    long long since;               /* current versions with seq >= since */
    char *after;                   /* the cursor's key, its parts NUL-separated */
    size_t afterlen;
    long total, skipped, given, before; /* before: matches up to the cursor or offset */
    int stop;
    /* the candidate: the last row read of the current key */
    acre_buf row; /* its texts, NUL-terminated, one after another */
    size_t off[ACRE_MAX_COLS + 1];
    int null[ACRE_MAX_COLS + 1];
    long long ival[ACRE_MAX_COLS + 1];
    int have;
    acre_buf out, cur;
} lister;

static int col_of(const acre_kind *k, const char *name)
{
    for (int i = 0; i < k->ncols; i++)
        if (strcmp(k->cols[i].name, name) == 0 && !(k->cols[i].flags & F_NOT))
            return i;
    return -1;
}

static const char *text(const lister *l, int c)
{
    return l->null[c] ? NULL : l->row.p + l->off[c];
}

/* the candidate's key, its parts NUL-separated, in l->cur */
static void key_text(lister *l)
{
    acre_buf_reset(&l->cur);
    for (int c = 0; c < l->k->nkey; c++) {
        const char *t = text(l, c);
        acre_buf_add(&l->cur, t ? t : "", t ? strlen(t) + 1 : 1);
    }
}

/* -1, 0, 1: the candidate's key against the cursor's */
static int after_cursor(lister *l)
{
    const char *a = l->after, *b = l->cur.p;
    size_t an = l->afterlen;
    for (int c = 0; c < l->k->nkey && an > 0; c++) {
        size_t la = strlen(a), lb = strlen(b);
        int d = memcmp(b, a, la < lb ? la : lb);
        if (d || la != lb)
            return (d ? d : (int)(lb > la) * 2 - 1) > 0;
        a += la + 1;
        an -= la + 1;
        b += lb + 1;
    }
    return 0; /* the cursor's own record */
}

static int matches(const lister *l)
{
    const acre_list_opts *o = l->o;
    const char *t;
    if (l->vertical >= 0 && l->k->vertical &&
        (!(t = text(l, l->vertical)) || strcmp(t, l->k->vertical) != 0))
        return 0;
    if (o->customer_id && (!(t = text(l, l->cust)) || strcmp(t, o->customer_id) != 0))
        return 0;
    if (o->affiliate_id && (!(t = text(l, l->aff)) || strcmp(t, o->affiliate_id) != 0))
        return 0;
    if (o->from && (!(t = text(l, l->date)) || strncmp(t, o->from, 10) < 0))
        return 0;
    if (o->to && (!(t = text(l, l->date)) || strncmp(t, o->to, 10) > 0))
        return 0;
    if (l->since > 0 && l->ival[l->k->ncols] < l->since)
        return 0;
    return 1;
}

/* the candidate as JSON in l->out */
static void record_json(lister *l)
{
    int first = 1;
    acre_buf_reset(&l->out);
    acre_buf_add(&l->out, "{", 1);
    for (int c = 0; c < l->k->ncols; c++) {
        const acre_field *f = &l->k->cols[c];
        const char *t = text(l, c);
        if (!t || f->type == T_VERTICAL || (f->flags & F_NOT))
            continue;
        if (!first)
            acre_buf_add(&l->out, ",", 1);
        first = 0;
        acre_buf_json_str(&l->out, f->name, strlen(f->name));
        acre_buf_add(&l->out, ":", 1);
        switch (f->type) {
        case T_MONEY:
        case T_MONEY_NN:
        case T_MONEY_POS:
        case T_INT_NN:
        case T_VERSION:
        case T_OBJ:
        case T_OBJ_OR_STR:
            acre_buf_adds(&l->out, t); /* a number's exact text, or canonical JSON */
            break;
        default:
            acre_buf_json_str(&l->out, t, strlen(t));
        }
    }
    acre_buf_add(&l->out, "}", 1);
}

/* the candidate is a record's current version: count it, and give it when on the page */
static int finish(lister *l, acre_error *err)
{
    if (!l->have || !matches(l))
        return 0;
    l->total++;
    if (l->stop)
        return 0;
    key_text(l);
    if (l->after ? !after_cursor(l) : l->skipped++ < l->o->offset) {
        l->before++;
        return 0;
    }
    if (l->given >= l->o->limit)
        return 0;
    record_json(l);
    {
        /* the cursor: the key's bytes as hex */
        static const char hex[] = "0123456789abcdef";
        char *cursor = acre_malloc(2 * l->cur.len + 1);
        int rc;
        if (!cursor || l->out.oom || l->cur.oom) {
            free(cursor);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        for (size_t i = 0; i < l->cur.len; i++) {
            cursor[2 * i] = hex[(unsigned char)l->cur.p[i] >> 4];
            cursor[2 * i + 1] = hex[(unsigned char)l->cur.p[i] & 15];
        }
        cursor[2 * l->cur.len] = 0;
        rc = l->fn(l->ctx, l->out.p, l->out.len, cursor);
        free(cursor);
        l->given++;
        if (rc)
            l->stop = 1;
    }
    return 0;
}

static int same_key(const lister *l, const acre_value *row)
{
    for (int c = 0; c < l->k->nkey; c++) {
        const char *t = text(l, c);
        if (row[c].type == ACRE_VAL_NULL || !t)
            return 0;
        if (row[c].type == ACRE_VAL_TEXT ? row[c].n != strlen(t) || memcmp(row[c].s, t, row[c].n)
                                         : row[c].i != l->ival[c])
            return 0;
    }
    return 1;
}

static int on_row(void *ctx, const acre_value *row, int n, acre_error *err)
{
    lister *l = ctx;
    int rc;
    if (l->have && !same_key(l, row) && (rc = finish(l, err)))
        return rc;
    acre_buf_reset(&l->row);
    for (int c = 0; c < n && c <= ACRE_MAX_COLS; c++) {
        char num[24];
        l->off[c] = l->row.len;
        l->null[c] = row[c].type == ACRE_VAL_NULL;
        l->ival[c] = row[c].i;
        if (row[c].type == ACRE_VAL_TEXT) {
            acre_buf_add(&l->row, row[c].s, row[c].n);
        } else if (row[c].type == ACRE_VAL_INT) {
            snprintf(num, sizeof num, "%lld", row[c].i);
            acre_buf_adds(&l->row, num);
        }
        acre_buf_add(&l->row, "", 1);
    }
    if (l->row.oom)
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    l->have = 1;
    return 0;
}

/* a batch that stored no version (all unchanged, or empty) has no first_seq: skipped */
static const acre_query q_since = {ACRE_Q_SELECT,
                                   "ingest_batch",
                                   {"first_seq", NULL},
                                   {{"stored_at", ACRE_GE}, {"first_seq", ACRE_GT}},
                                   {"batch", NULL},
                                   0,
                                   1};

static int unhex(lister *l, const char *s, acre_error *err)
{
    size_t n = strlen(s);
    if (n % 2 || n == 0 || strspn(s, "0123456789abcdef") != n || !(l->after = acre_malloc(n / 2)))
        return acre_error_set(err, ACRE_EUSAGE, "cursor", "cursor",
                              "cursor: not one this server gave");
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        l->after[i] = (char)v;
    }
    l->afterlen = n / 2;
    if (l->after[l->afterlen - 1] != 0)
        return acre_error_set(err, ACRE_EUSAGE, "cursor", "cursor",
                              "cursor: not one this server gave");
    return 0;
}

static int date_arg(const char *v, const char *name, acre_error *err)
{
    int ym;
    if (v &&
        (strlen(v) != 10 || v[7] != '-' || acre_month_parse(v, 7, &ym) ||
         strspn(v + 8, "0123456789") != 2 || strcmp(v + 8, "01") < 0 || strcmp(v + 8, "31") > 0))
        return acre_error_set(err, ACRE_EUSAGE, name, name, "%s: a date is YYYY-MM-DD", name);
    return 0;
}

int acre_records_list(acre_store *s, const char *kind, const acre_list_opts *o,
                      int (*fn)(void *ctx, const char *json, size_t len, const char *cursor),
                      void *ctx, long *total, long *before, acre_error *err)
{
    static const char *const dates[] = {"date",        "transaction_date", "timestamp",
                                        "signup_date", "flagged_at",       NULL};
    lister l;
    acre_query q;
    int rc = 0, nq = 0;

    *total = 0;
    if (before)
        *before = 0;
    memset(&l, 0, sizeof l);
    if (!(l.k = acre_kind_find(kind)))
        return acre_error_set(err, ACRE_EUSAGE, NULL, "kind", "unknown kind \"%.*s\"",
                              acre_utf8_prefix(kind, 60), kind);
    l.o = o;
    l.fn = fn;
    l.ctx = ctx;
    l.cust = col_of(l.k, "customer_id") >= 0 ? col_of(l.k, "customer_id") : col_of(l.k, "user_id");
    l.aff = col_of(l.k, "affiliate_id");
    l.date = -1;
    for (int i = 0; dates[i] && l.date < 0; i++)
        l.date = col_of(l.k, dates[i]);
    l.vertical = -1;
    for (int i = 0; i < l.k->ncols; i++)
        if (l.k->cols[i].type == T_VERTICAL)
            l.vertical = i;
    if ((o->customer_id && l.cust < 0) || (o->affiliate_id && l.aff < 0) ||
        ((o->from || o->to) && l.date < 0))
        return acre_error_set(err, ACRE_EUSAGE, NULL, "filter", "%s records have no %s", kind,
                              o->customer_id && l.cust < 0   ? "customer_id"
                              : o->affiliate_id && l.aff < 0 ? "affiliate_id"
                                                             : "date to filter from or to");
    if ((rc = date_arg(o->from, "from", err)) || (rc = date_arg(o->to, "to", err)))
        return rc;
    if (o->after && (rc = unhex(&l, o->after, err)))
        goto out;
    if (o->updated_since) {
        char utc[40];
        const char *why = NULL;
        acre_value p[2];
        if (acre_datetime_canon(utc, o->updated_since, strlen(o->updated_since), &why)) {
            rc = acre_error_set(err, ACRE_EUSAGE, "updated_since", "updated_since",
                                "updated_since: %s", why ? why : "not an ISO 8601 date-time");
            goto out;
        }
        /* the first version stored by a batch at or after it; none: nothing matches */
        p[0] = acre_val_text(utc);
        p[1] = acre_val_int(-1);
        l.since = -1;
        if ((rc = acre_store_int(s, &q_since, p, &l.since, "reading the batches", err)))
            goto out;
        if (l.since < 0 && (rc = acre_store_seq(s, &l.since, err)) == 0)
            l.since++;
        if (rc)
            goto out;
    }
    memset(&q, 0, sizeof q);
    q.kind = ACRE_Q_SELECT;
    q.table = l.k->table;
    for (int i = 0; i < l.k->ncols; i++)
        q.cols[nq++] = l.k->cols[i].name;
    q.cols[nq] = "seq";
    for (int i = 0; i < l.k->nkey; i++)
        q.order[i] = l.k->cols[i].name;
    q.order[l.k->nkey] = "seq";
    if ((rc = acre_store_begin_read(s, err)))
        goto out;
    rc = acre_store_query(s, &q, NULL, on_row, &l, "reading the records", err);
    if (rc == 0)
        rc = finish(&l, err);
    acre_store_rollback(s);
    if (rc == 0) {
        *total = l.total;
        if (before)
            *before = l.before;
    }
out:
    free(l.after);
    acre_buf_free(&l.row);
    acre_buf_free(&l.out);
    acre_buf_free(&l.cur);
    return rc;
}
