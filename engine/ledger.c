/* engine/ledger.c — writing a ledger document as JSON or CSV (journals: engine/journal.c). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "acre/close.h"
#include "journal.h"

static void csv_field(FILE *out, const char *s, int last)
{
    if (s && strpbrk(s, ",\"\n\r")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else if (s) {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int acre_ledger_write(FILE *out, const char *ledger, const char *format, const char *only,
                      acre_error *err)
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
        strcmp(format, "hledger") != 0 && strcmp(format, "beancount") != 0)
        return acre_error_set(err, ACRE_EUSAGE, "format", "format",
                              "unknown ledger format %s (json, csv, hledger or beancount)",
                              format);
    if (!(doc = json_loads(ledger, 0, &je)))
        return acre_error_set(err, ACRE_ERROR, NULL, "ledger", "the ledger cannot be read: %s",
                              je.text);
    if (strcmp(format, "hledger") == 0 || strcmp(format, "beancount") == 0) {
        rc = acre_journal_write(out, doc, format[0] == 'b', only, err);
        json_decref(doc);
        return rc;
    }
    affs = json_object_get(doc, "affiliates");
    if (strcmp(format, "json") == 0) {
        json_t *keep = json_array();
        json_array_foreach(affs, i, a) {
            if (strcmp(str(a, "affiliate_id"), only) == 0)
                json_array_append(keep, a);
        }
        json_object_set_new(doc, "affiliates", keep);
        json_dumpf(doc, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', out);
        json_decref(doc);
        return 0;
    }
    fputs("period,affiliate_id,currency,kind,plan,customer_id,descendant_id,depth,amount,exact\n",
          out);
    json_array_foreach(affs, i, a) {
        size_t k;
        json_t *l;
        if (only && strcmp(str(a, "affiliate_id"), only) != 0)
            continue;
        json_array_foreach(json_object_get(a, "lines"), k, l) {
            char depth[24] = "";
            if (json_object_get(l, "depth"))
                snprintf(depth, sizeof depth, "%lld",
                         (long long)json_integer_value(json_object_get(l, "depth")));
            csv_field(out, str(doc, "period"), 0);
            csv_field(out, str(a, "affiliate_id"), 0);
            csv_field(out, str(a, "currency"), 0);
            csv_field(out, str(l, "kind"), 0);
            csv_field(out, str(l, "plan"), 0);
            csv_field(out, str(l, "customer_id"), 0);
            csv_field(out, str(l, "descendant_id"), 0);
            csv_field(out, depth, 0);
            csv_field(out, str(l, "amount"), 0);
            csv_field(out, str(l, "exact"), 1);
        }
    }
    json_decref(doc);
    return rc;
}
