/* engine/ledger.c — writing a ledger document as JSON or CSV (journals: engine/journal.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/decimal.h"

#include "acre/ledger.h"
#include "alloc.h"
#include "journal.h"
#include "jsonval.h"
#include "payouts.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

enum { NUM_COLS = 4 };

/* A table for people: per affiliate its name (with names), lines' count, totals and payout
 * status (SPEC 10, as `acre payouts` gives it), then what is paid per currency. Columns widen
 * to their longest text: nothing is cut. The amounts are the ledger's own strings; the
 * per-currency sums are exact. Returns 0, or ACRE_ENOMEM. */
static int summary(FILE *out, const json_t *doc, const char *only, const json_t *names)
{
    static const char *const heads[NUM_COLS] = {"earned", "brought fwd", "payable", "carried fwd"};
    static const char *const keys[NUM_COLS] = {"earned", "brought_forward", "payable",
                                               "carried_forward"};
    const json_t *affs = json_object_get(doc, "affiliates"), *a;
    size_t i;
    char curs[64][4];
    int ncur = 0, wid = acre_text_columns("affiliate"), wname = acre_text_columns("name"),
        wnum = 12;
    json_array_foreach(affs, i, a)
    {
        const char *id = str(a, "affiliate_id");
        if (only && strcmp(id, only) != 0)
            continue;
        if (acre_text_columns(id) > wid)
            wid = acre_text_columns(id);
        if (names && acre_text_columns(str(names, id)) > wname)
            wname = acre_text_columns(str(names, id));
        for (int k = 0; k < NUM_COLS; k++)
            if (acre_text_columns(str(a, keys[k])) > wnum)
                wnum = acre_text_columns(str(a, keys[k]));
    }
    fprintf(out, "%s  ", str(doc, "period"));
    acre_text_cell(out, "affiliate", wid, 0);
    if (names) {
        fputc(' ', out);
        acre_text_cell(out, "name", wname, 0);
    }
    fprintf(out, " %-3s %5s", "cur", "lines");
    for (int k = 0; k < NUM_COLS; k++) {
        fputc(' ', out);
        acre_text_cell(out, heads[k], wnum, 1);
    }
    fputs("  status\n", out);
    json_array_foreach(affs, i, a)
    {
        const char *cur = str(a, "currency");
        acre_payout_row r;
        int seen = 0;
        if (only && strcmp(str(a, "affiliate_id"), only) != 0)
            continue;
        if (acre_payout_fill(&r, a, names))
            return ACRE_ENOMEM;
        fprintf(out, "%7s  ", "");
        acre_text_cell(out, r.affiliate_id, wid, 0);
        if (names) {
            fputc(' ', out);
            acre_text_cell(out, r.name, wname, 0);
        }
        fprintf(out, " %-3s %5zu", cur, json_array_size(json_object_get(a, "lines")));
        for (int k = 0; k < NUM_COLS; k++) {
            fputc(' ', out);
            acre_text_cell(out, str(a, keys[k]), wnum, 1);
        }
        fprintf(out, "  %s\n", r.status);
        acre_payout_row_free(&r);
        for (int k = 0; k < ncur; k++)
            seen |= strcmp(curs[k], cur) == 0;
        if (!seen && ncur < 64 && strlen(cur) == 3)
            memcpy(curs[ncur++], cur, 4);
    }
    for (int k = 0; k < ncur; k++) {
        acre_dec sum, x;
        char *s;
        int scale = 0;
        acre_dec_init(&sum);
        acre_dec_init(&x);
        json_array_foreach(affs, i, a)
        {
            const char *p = str(a, "payable"), *dot;
            if (strcmp(str(a, "currency"), curs[k]) != 0 || !p ||
                (only && strcmp(str(a, "affiliate_id"), only) != 0) ||
                acre_dec_parse_stored(&x, p, NULL))
                continue;
            acre_dec_add(&sum, &sum, &x);
            if ((dot = strchr(p, '.')) && (int)strlen(dot + 1) > scale)
                scale = (int)strlen(dot + 1);
        }
        s = acre_dec_format_fixed(&sum, scale, ACRE_ROUND_HALF_EVEN);
        if (s) {
            fprintf(out, "%7s  ", "");
            acre_text_cell(out, "to pay", wid, 0);
            if (names) {
                fputc(' ', out);
                acre_text_cell(out, "", wname, 0);
            }
            fprintf(out, " %-3s %5s", curs[k], "");
            for (int c = 0; c <= 2; c++) { /* up to payable: no trailing spaces */
                fputc(' ', out);
                acre_text_cell(out, c == 2 ? s : "", wnum, 1);
            }
            fputc('\n', out);
        }
        free(s);
        acre_dec_clear(&sum);
        acre_dec_clear(&x);
        if (!s)
            return ACRE_ENOMEM;
    }
    return 0;
}

static int write_doc(FILE *out, const char *ledger, const char *format, const char *only,
                     acre_store *s, acre_error *err)
{
    json_error_t je;
    json_t *doc, *affs, *a;
    size_t i;
    int rc = 0;

    if (strcmp(format, "json") == 0 && !only) {
        fputs(ledger, out);
        return 0;
    }
    if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 &&
        strcmp(format, "hledger") != 0 && strcmp(format, "beancount") != 0 &&
        strcmp(format, "summary") != 0)
        return acre_error_set(err, ACRE_EUSAGE, "format", "format",
                              "unknown ledger format %s (json, csv, hledger, beancount or "
                              "summary)",
                              format);
    if (!(doc = acre_json_loadb(ledger, strlen(ledger), 0, &je))) {
        if (json_error_code(&je) == json_error_out_of_memory)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        return acre_error_set(err, ACRE_ERROR, NULL, "ledger", "the ledger cannot be read: %s",
                              je.text);
    }
    if (strcmp(format, "hledger") == 0 || strcmp(format, "beancount") == 0) {
        rc = acre_journal_write(out, doc, format[0] == 'b', only, err);
        json_decref(doc);
        return rc;
    }
    affs = json_object_get(doc, "affiliates");
    if (strcmp(format, "summary") == 0) {
        json_t *names = NULL;
        if (s && (rc = acre_payout_names(s, &names, err))) {
            json_decref(doc);
            return rc;
        }
        rc = summary(out, doc, only, names);
        json_decref(names);
        json_decref(doc);
        return rc ? acre_error_set(err, rc, NULL, NULL, "out of memory") : 0;
    }
    if (strcmp(format, "json") == 0) {
        /* An extract: only `only`'s entries, of the affiliates and of the revenue with no plan,
         * nothing of any other affiliate (an affiliate's token reads its own extract: SPEC 11).
         * It is not the stored document, so the whole ledger's digest is kept as "extract_of"
         * and its "digest" and "mac" go (they would not verify). Every allocation jansson makes
         * here is checked, as the parse. */
        long failed = acre_json_failures();
        json_t *keep = json_array(), *unassigned = json_object_get(doc, "unassigned");
        json_t *digest = json_object_get(doc, "digest");
        json_array_foreach(affs, i, a)
        {
            if (keep && strcmp(str(a, "affiliate_id"), only) == 0 && json_array_append(keep, a))
                break;
        }
        if (keep && json_is_array(unassigned)) {
            json_t *u = json_array();
            json_array_foreach(unassigned, i, a)
            {
                if (u && strcmp(str(a, "affiliate_id"), only) == 0 && json_array_append(u, a))
                    break;
            }
            if (!u || json_object_set_new(doc, "unassigned", u))
                keep = (json_decref(keep), NULL);
        }
        if (keep && digest &&
            (json_object_set(doc, "extract_of", digest) || json_object_del(doc, "digest")))
            keep = (json_decref(keep), NULL);
        if (keep)
            json_object_del(doc, "mac");
        if (!keep || json_object_set_new(doc, "affiliates", keep) ||
            acre_json_failures() != failed) {
            json_decref(doc);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        rc = json_dumpf(doc, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(doc);
        if (rc || acre_json_failures() != failed)
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        fputc('\n', out);
        return 0;
    }
    fputs("period,affiliate_id,currency,kind,plan,customer_id,descendant_id,depth,amount,exact\n",
          out);
    json_array_foreach(affs, i, a)
    {
        size_t k;
        json_t *l;
        if (only && strcmp(str(a, "affiliate_id"), only) != 0)
            continue;
        json_array_foreach(json_object_get(a, "lines"), k, l)
        {
            char depth[24] = "";
            if (json_object_get(l, "depth"))
                snprintf(depth, sizeof depth, "%lld",
                         (long long)json_integer_value(json_object_get(l, "depth")));
            acre_csv_field(out, str(doc, "period"), 0);
            acre_csv_field(out, str(a, "affiliate_id"), 0);
            acre_csv_field(out, str(a, "currency"), 0);
            acre_csv_field(out, str(l, "kind"), 0);
            acre_csv_field(out, str(l, "plan"), 0);
            acre_csv_field(out, str(l, "customer_id"), 0);
            acre_csv_field(out, str(l, "descendant_id"), 0);
            acre_csv_field(out, depth, 0);
            acre_csv_field(out, str(l, "amount"), 0);
            acre_csv_field(out, str(l, "exact"), 1);
        }
    }
    json_decref(doc);
    return rc;
}

int acre_ledger_write(FILE *out, const char *ledger, const char *format, const char *only,
                      acre_error *err)
{
    return write_doc(out, ledger, format, only, NULL, err);
}

int acre_ledger_write_named(FILE *out, acre_store *s, const char *ledger, const char *format,
                            const char *only, acre_error *err)
{
    return write_doc(out, ledger, format, only, s, err);
}
