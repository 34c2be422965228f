/* engine/audit_recompute.c — `acre audit --recompute`: every closed ledger derived again from the
 * stored record versions as of its close, and every state row with it (SPEC 10).
 *
 * The store is copied into memory with SQLite's backup API (the store itself is only read). In
 * the copy the stored closes and everything they left (close, close_affiliate, close_layer,
 * close_excluded, settled, counted) are kept aside in temporary tables and removed, and the
 * periods are closed again in order, each at its own close's watermark (close.seq), so each sees
 * the record versions its close saw, and the state the close before it left as recomputed, not as
 * stored. Each ledger must come back byte for byte (its mac aside: that is the key's check); the
 * first that does not is named with its first differing line, and the later ones, which follow
 * from it, are not compared. When every ledger matches, every state row is compared with the
 * recomputed one, naming the table, the key and the first field that differs. */
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "alloc.h"
#include "audit_int.h"
#include "close.h"
#include "jsonval.h"
#include "store_int.h"

#define MAX_ROWS 20 /* differing rows named per table; all are counted */

/* One state table: its key columns and its other columns, as SQL lists. */
typedef struct table {
    const char *name;
    int nkey, nval;
    const char *cols[10]; /* keys first */
    int period_col;       /* the column naming the period, or -1 */
} table;

static const table tables[] = {
    {"close_affiliate", 2, 2, {"period", "affiliate_id", "plan", "carried_forward"}, 0},
    {"close_layer", 3, 3, {"period", "affiliate_id", "origin", "plan_id", "plan", "amount"}, 0},
    {"close_excluded", 2, 0, {"period", "customer_id"}, 0},
    {"settled",
     1,
     9,
     {"customer_id", "period", "affiliate_id", "plan", "outcome", "amount", "qualified_at", "qsec",
      "clawback_days", "clawed_period"},
     1},
    {"counted", 3, 3, {"tbl", "rkey", "period", "seq", "a", "b"}, 2},
};

static int exec(acre_store *c, const char *sql, acre_error *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        int code = sqlite3_errcode(c->db);
        /* the copy and its temporary tables are in memory: failing to open one is memory */
        if (code == SQLITE_NOMEM || code == SQLITE_CANTOPEN)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL,
                                  "out of memory: recomputing in the copy");
        return acre_store_fail(c, "recomputing in the copy", err);
    }
    return 0;
}

/* Keeps the stored closes and their state aside (temp.o_TABLE) and removes them. */
static int set_aside(acre_store *c, acre_error *err)
{
    static const char sql[] =
        "CREATE TEMP TABLE o_close AS SELECT period, period_text, seq, ledger FROM close;"
        "CREATE TEMP TABLE o_close_affiliate AS SELECT * FROM close_affiliate;"
        "CREATE TEMP TABLE o_close_layer AS SELECT * FROM close_layer;"
        "CREATE TEMP TABLE o_close_excluded AS SELECT * FROM close_excluded;"
        "CREATE TEMP TABLE o_settled AS SELECT * FROM settled;"
        "CREATE TEMP TABLE o_counted AS SELECT * FROM counted;"
        "DELETE FROM close; DELETE FROM close_affiliate; DELETE FROM close_layer;"
        "DELETE FROM close_excluded; DELETE FROM settled; DELETE FROM counted;";
    int rc = exec(c, sql, err);
    /* each kept table indexed by its key, so comparing is one lookup per row, not a scan */
    for (size_t i = 0; !rc && i < sizeof tables / sizeof *tables; i++) {
        char idx[200];
        int n = snprintf(idx, sizeof idx, "CREATE INDEX temp.o_%s_key ON o_%s(", tables[i].name,
                         tables[i].name);
        for (int k = 0; k < tables[i].nkey; k++)
            n +=
                snprintf(idx + n, sizeof idx - (size_t)n, "%s%s", k ? ", " : "", tables[i].cols[k]);
        snprintf(idx + n, sizeof idx - (size_t)n, ")");
        rc = exec(c, idx, err);
    }
    return rc;
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

static int read_closes(acre_store *c, closed **out, int *n, acre_error *err)
{
    sqlite3_stmt *st;
    int rc;
    *out = NULL;
    *n = 0;
    if ((rc = acre_store_prepare(
             c, &st, "SELECT period_text, seq, ledger FROM temp.o_close ORDER BY period", err)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        closed *m;
        if ((rc = acre_store_row(c, st, err)))
            break;
        if (!(m = acre_realloc(*out, (size_t)(*n + 1) * sizeof *m))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        *out = m;
        m += *n;
        snprintf(m->period, sizeof m->period, "%s", (const char *)sqlite3_column_text(st, 0));
        m->seq = sqlite3_column_int64(st, 1);
        if (!(m->ledger = without_mac((const char *)sqlite3_column_text(st, 2)))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            break;
        }
        (*n)++;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = acre_store_fail(c, "reading the closes", err);
    sqlite3_finalize(st);
    return rc;
}

/* Closes every stored period again in the copy; *same is set when every ledger matched. */
static int reclose(acre_store *c, FILE *out, int *nbad, int *same, acre_error *err)
{
    closed *cl;
    int n, rc = read_closes(c, &cl, &n, err);
    *same = 0;
    for (int i = 0; !rc && i < n; i++) {
        char *ledger = NULL;
        acre_error cerr;
        int crc;
        acre_error_clear(&cerr);
        /* gaps were allowed when these closes were made, or they would not exist */
        crc = acre_close_period_at(c, cl[i].period, 1, cl[i].seq, 1, &ledger, &cerr);
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
    for (int i = 0; i < n; i++)
        free(cl[i].ledger);
    free(cl);
    return rc;
}

/* The rows of one state table that differ between the stored (temp.o_T) and the recomputed. */
static int compare_table(acre_store *c, const table *t, FILE *out, int *nbad, acre_error *err)
{
    acre_buf q = {0};
    sqlite3_stmt *st;
    int rc, shown = 0, ncol = t->nkey + t->nval;
    /* stored rows against the recomputed row of the same key (or none), and recomputed rows
     * with no stored one */
    acre_buf_adds(&q, "SELECT 0");
    for (int i = 0; i < ncol; i++)
        acre_buf_printf(&q, ", o.%s, m.%s", t->cols[i], t->cols[i]);
    /* key columns are NOT NULL (primary keys): a null m.key is a missing row */
    acre_buf_printf(&q, ", m.%s IS NULL FROM temp.o_%s AS o LEFT JOIN main.%s AS m ON ", t->cols[0],
                    t->name, t->name);
    for (int i = 0; i < t->nkey; i++)
        acre_buf_printf(&q, "%so.%s = m.%s", i ? " AND " : "", t->cols[i], t->cols[i]);
    acre_buf_printf(&q, " WHERE m.%s IS NULL", t->cols[0]);
    for (int i = t->nkey; i < ncol; i++)
        acre_buf_printf(&q, " OR o.%s IS NOT m.%s", t->cols[i], t->cols[i]);
    acre_buf_adds(&q, " UNION ALL SELECT 1");
    for (int i = 0; i < ncol; i++)
        acre_buf_printf(&q, ", NULL, m.%s", t->cols[i]);
    acre_buf_printf(&q,
                    ", 1 FROM main.%s AS m WHERE NOT EXISTS (SELECT 1 FROM temp.o_%s AS o WHERE ",
                    t->name, t->name);
    for (int i = 0; i < t->nkey; i++)
        acre_buf_printf(&q, "%so.%s = m.%s", i ? " AND " : "", t->cols[i], t->cols[i]);
    acre_buf_adds(&q, ")");
    if (q.oom) {
        acre_buf_free(&q);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    rc = acre_store_prepare(c, &st, q.p, err);
    acre_buf_free(&q);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int extra = sqlite3_column_int(st, 0), missing = sqlite3_column_int(st, 1 + 2 * ncol);
        int side = extra ? 2 : 1; /* the column pair member holding the key */
        char period[8] = "store";
        acre_buf key = {0};
        if ((rc = acre_store_row(c, st, err)))
            break;
        (*nbad)++;
        if (shown++ >= MAX_ROWS)
            continue;
        if (t->period_col >= 0 && sqlite3_column_type(st, side + 2 * t->period_col) != SQLITE_NULL)
            acre_period_text(period, sqlite3_column_int(st, side + 2 * t->period_col));
        for (int i = 0; i < t->nkey; i++) {
            const char *v = (const char *)sqlite3_column_text(st, side + 2 * i);
            acre_buf_printf(&key, "%s%s=", i ? ", " : "", t->cols[i]);
            if (strcmp(t->cols[i], "period") == 0 || strcmp(t->cols[i], "origin") == 0) {
                char p[8];
                acre_period_text(p, sqlite3_column_int(st, side + 2 * i));
                acre_buf_adds(&key, p);
            } else {
                for (; v && *v; v++) /* a counted key's fields are separated by control bytes */
                    acre_buf_add(&key, (unsigned char)*v < 0x20 ? "/" : v, 1);
            }
        }
        if (extra)
            fprintf(out, "%s\tFAIL\trecompute: %s has no row (%s); the records give one\n", period,
                    t->name, key.p ? key.p : "");
        else if (missing)
            fprintf(out, "%s\tFAIL\trecompute: %s has a row (%s) the records do not give\n", period,
                    t->name, key.p ? key.p : "");
        else
            for (int i = t->nkey; i < ncol; i++) {
                const char *o = (const char *)sqlite3_column_text(st, 1 + 2 * i);
                const char *m = (const char *)sqlite3_column_text(st, 2 + 2 * i);
                if ((o == NULL) == (m == NULL) && (!o || strcmp(o, m) == 0))
                    continue;
                fprintf(out, "%s\tFAIL\trecompute: %s (%s): %s is %s; the records give %s\n",
                        period, t->name, key.p ? key.p : "", t->cols[i], o ? o : "null",
                        m ? m : "null");
                break;
            }
        acre_buf_free(&key);
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = acre_store_fail(c, "comparing the state", err);
    sqlite3_finalize(st);
    if (!rc && shown > MAX_ROWS)
        fprintf(out, "store\tFAIL\trecompute: %s: %d more rows differ\n", t->name,
                shown - MAX_ROWS);
    return rc;
}

int acre_audit_recompute(acre_store *s, FILE *out, int *nbad, acre_error *err)
{
    acre_store *c = NULL;
    int rc, same = 0;
    if ((rc = acre_store_copy_memory(&c, s, err)) || (rc = set_aside(c, err)) ||
        (rc = reclose(c, out, nbad, &same, err)))
        goto out;
    for (size_t i = 0; same && i < sizeof tables / sizeof *tables; i++)
        if ((rc = compare_table(c, &tables[i], out, nbad, err)))
            break;
out:
    acre_store_free(c);
    return rc;
}
