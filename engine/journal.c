/* engine/journal.c — a ledger as an hledger or beancount journal (SPEC 6).
 *
 * Per affiliate: the balance brought forward (from equity, so one period's journal stands on its
 * own), the accrual (one posting per line with money to the expense account of its line kind,
 * from the rule kinds' table: expenses:affiliates:cpa; the total earned to
 * liabilities:affiliates:ID), the payout of payable, and an assertion that the liability equals
 * carried_forward. A liability is negative when acre owes it, as both tools
 * count. Amounts are the ledger's own, written with at least three decimals: beancount
 * tolerates an error of one unit in the last written digit of a balance assertion, so with two
 * decimals a one-cent change would pass. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/close.h"
#include "acre/sys/rule.h"
#include "datetime.h"
#include "journal.h"
#include "strset.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int is_zero(const char *a)
{
    for (; *a; a++)
        if (*a >= '1' && *a <= '9')
            return 0;
    return 1;
}

/* `a`, negated when neg, with at least three decimals. */
static void amount(FILE *out, const char *a, int neg)
{
    const char *dot = strchr(a, '.');
    size_t dec = dot ? strlen(dot + 1) : 0;
    int minus = a[0] == '-';
    if (minus ? !neg : neg && !is_zero(a))
        fputc('-', out);
    fputs(a + minus, out);
    if (!dot)
        fputc('.', out);
    for (; dec < 3; dec++)
        fputc('0', out);
}

/* Comments and narrations: one line, no control bytes. */
static void text(FILE *out, const char *s, int quoted)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            fputc('?', out);
        else if (quoted && (ch == '"' || ch == '\\'))
            fprintf(out, "\\%c", ch);
        else
            fputc(ch, out);
    }
}

/* hledger: the ID with the bytes that end or split an account name (':' and spaces among them)
 * escaped as %XX, so every ID has its own account. */
static void hl_id(FILE *out, const char *id)
{
    for (; *id; id++) {
        unsigned char ch = (unsigned char)*id;
        if (ch <= 0x20 || ch == 0x7f || strchr(":;%()[]\"", ch))
            fprintf(out, "%%%02X", ch);
        else
            fputc(ch, out);
    }
}

/* beancount: a component starts with a capital or a digit and holds letters, digits and '-'.
 * The ID's first letter is capitalised and other bytes become '-' (UTF-8 is kept); two IDs
 * that meet on one name are refused, and each account carries its affiliate_id. */
static void bc_id(char *out, size_t cap, const char *id)
{
    size_t n = 0;
    if (!((id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= 'a' && id[0] <= 'z') ||
          (id[0] >= '0' && id[0] <= '9') || (unsigned char)id[0] >= 0x80))
        out[n++] = 'X';
    for (const char *p = id; *p && n + 1 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (p == id && ch >= 'a' && ch <= 'z')
            out[n++] = (char)(ch - 'a' + 'A');
        else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch >= 0x80)
            out[n++] = (char)ch;
        else
            out[n++] = '-';
    }
    out[n] = '\0';
}

typedef struct jw {
    FILE *out;
    int bean;
    const char *only;
    const json_t *affs;
    char last[11], next[11]; /* the period's last day, the day after */
} jw;

static int wanted(const jw *w, const json_t *a)
{
    return !w->only || strcmp(str(a, "affiliate_id"), w->only) == 0;
}

static void liability(const jw *w, const json_t *a)
{
    if (w->bean) {
        char id[1024];
        bc_id(id, sizeof id, str(a, "affiliate_id"));
        fprintf(w->out, "Liabilities:Affiliates:%s", id);
    } else {
        fputs("liabilities:affiliates:", w->out);
        hl_id(w->out, str(a, "affiliate_id"));
    }
}

static void posting(const jw *w, const json_t *a, int kind, const char *amt, int neg,
                    const char *cur)
{
    fputs(w->bean ? "  " : "    ", w->out);
    if (kind == -1)
        liability(w, a);
    else if (kind == -2)
        fputs(w->bean ? "Equity:Affiliates:Brought-Forward" : "equity:affiliates:brought-forward",
              w->out);
    else if (kind == -3)
        fputs(w->bean ? "Assets:Affiliate-Payouts" : "assets:affiliate-payouts", w->out);
    else if (w->bean)
        fprintf(w->out, "Expenses:Affiliates:%s", acre_line_kind_at(kind)->beancount);
    else
        fprintf(w->out, "expenses:affiliates:%s", acre_line_kind_at(kind)->hledger);
    fputs("  ", w->out);
    amount(w->out, amt, neg);
    fprintf(w->out, " %s", cur);
}

static void head(const jw *w, const char *what, const json_t *a, const char *period)
{
    const char *q = w->bean ? "\"" : "";
    fprintf(w->out, "\n%s %s%s%s ", w->last, w->bean ? "* " : "", q, what);
    text(w->out, str(a, "affiliate_id"), w->bean);
    fprintf(w->out, " %s%s\n", period, q);
}

/* Declarations first: each tool wants every account and currency known before use (hledger
 * check -s, beancount's open). Returns nonzero on a beancount name collision. */
static int declare(jw *w, acre_error *err)
{
    int used[ACRE_MAX_LINE_KINDS] = {0};
    acre_strset curs = {0}, names = {0};
    const json_t *a;
    size_t i;
    int rc = 0;

    json_array_foreach(w->affs, i, a) {
        const json_t *l;
        size_t k;
        if (!wanted(w, a))
            continue;
        if (acre_strset_put(&curs, str(a, "currency"), strlen(str(a, "currency")), 0)) {
            acre_strset_free(&curs);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        json_array_foreach(json_object_get(a, "lines"), k, l) {
            int ki = acre_line_kind_find(str(l, "kind"));
            if (ki >= 0 && !is_zero(str(l, "amount")))
                used[ki] = 1;
        }
    }
    /* currencies, sorted for the same bytes every time */
    {
        const char *c[64];
        size_t n = 0;
        for (size_t s = 0; s < curs.cap && n < 64; s++)
            if (acre_strset_key(&curs, s))
                c[n++] = acre_strset_key(&curs, s);
        for (size_t x = 1; x < n; x++)
            for (size_t y = x; y > 0 && strcmp(c[y - 1], c[y]) > 0; y--) {
                const char *t = c[y];
                c[y] = c[y - 1];
                c[y - 1] = t;
            }
        for (size_t x = 0; x < n && !w->bean; x++)
            fprintf(w->out, "commodity 1000.000 %s\n", c[x]);
        if (w->bean) {
            fputs("option \"operating_currency\" \"", w->out);
            fputs(n ? c[0] : "EUR", w->out);
            fputs("\"\n", w->out);
        }
        for (int k = 0; k < acre_line_kind_count(); k++)
            if (used[k]) {
                if (w->bean) {
                    fprintf(w->out, "1970-01-01 open Expenses:Affiliates:%s",
                            acre_line_kind_at(k)->beancount);
                    for (size_t x = 0; x < n; x++)
                        fprintf(w->out, "%s%s", x ? "," : " ", c[x]);
                    fputc('\n', w->out);
                } else {
                    fprintf(w->out, "account expenses:affiliates:%s\n",
                            acre_line_kind_at(k)->hledger);
                }
            }
        if (w->bean) {
            fputs("1970-01-01 open Equity:Affiliates:Brought-Forward", w->out);
            for (size_t x = 0; x < n; x++)
                fprintf(w->out, "%s%s", x ? "," : " ", c[x]);
            fputs("\n1970-01-01 open Assets:Affiliate-Payouts", w->out);
            for (size_t x = 0; x < n; x++)
                fprintf(w->out, "%s%s", x ? "," : " ", c[x]);
            fputc('\n', w->out);
        } else {
            fputs("account equity:affiliates:brought-forward\n"
                  "account assets:affiliate-payouts\n",
                  w->out);
        }
    }
    json_array_foreach(w->affs, i, a) {
        if (!wanted(w, a))
            continue;
        if (w->bean) {
            char id[1024];
            long prev;
            bc_id(id, sizeof id, str(a, "affiliate_id"));
            if (acre_strset_get(&names, id, strlen(id), &prev)) {
                rc = acre_error_set(err, ACRE_EINVALID, "affiliate_id", "beancount_account",
                                    "affiliates %s and %s would share the beancount account "
                                    "Liabilities:Affiliates:%s",
                                    str(json_array_get(w->affs, (size_t)prev), "affiliate_id"),
                                    str(a, "affiliate_id"), id);
                break;
            }
            if (acre_strset_put(&names, id, strlen(id), (long)i)) {
                rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
                break;
            }
            fputs("1970-01-01 open ", w->out);
            liability(w, a);
            fprintf(w->out, " %s\n  affiliate_id: \"", str(a, "currency"));
            text(w->out, str(a, "affiliate_id"), 1);
            fputs("\"\n", w->out);
        } else {
            fputs("account ", w->out);
            liability(w, a);
            fputc('\n', w->out);
        }
    }
    acre_strset_free(&curs);
    acre_strset_free(&names);
    return rc;
}

int acre_journal_write(FILE *out, const json_t *doc, int beancount, const char *only,
                       acre_error *err)
{
    jw w = {out, beancount, only, json_object_get(doc, "affiliates"), "", ""};
    const char *period = str(doc, "period");
    const json_t *a;
    size_t i;
    int p, rc;

    if ((rc = acre_rule_kinds_ready(err)))
        return rc;
    if (acre_month_parse(period, strlen(period), &p))
        return acre_error_set(err, ACRE_ERROR, "period", "ledger",
                              "the ledger's period \"%s\" is not a month", period);
    acre_date_of(w.next, acre_month_start(p + 1));
    acre_date_of(w.last, acre_month_start(p + 1) - 86400);
    fprintf(out, "; acre ledger %s, %s\n", period, str(doc, "digest"));
    if ((rc = declare(&w, err)))
        return rc;
    json_array_foreach(w.affs, i, a) {
        const char *cur = str(a, "currency");
        const json_t *l;
        size_t k;
        int any = 0;
        if (!wanted(&w, a))
            continue;
        if (!is_zero(str(a, "brought_forward"))) {
            head(&w, "brought forward", a, period);
            posting(&w, a, -1, str(a, "brought_forward"), 1, cur);
            fputc('\n', out);
            posting(&w, a, -2, str(a, "brought_forward"), 0, cur);
            fputc('\n', out);
        }
        json_array_foreach(json_object_get(a, "lines"), k, l) {
            int ki = acre_line_kind_find(str(l, "kind"));
            if (ki < 0 || is_zero(str(l, "amount")))
                continue;
            if (!any++)
                head(&w, "accrual", a, period);
            posting(&w, a, ki, str(l, "amount"), 0, cur);
            fputs(w.bean ? " ; " : "  ; ", out);
            text(out, str(l, "plan"), 0);
            if (json_object_get(l, "customer_id")) {
                fputc(' ', out);
                text(out, str(l, "customer_id"), 0);
            }
            if (json_object_get(l, "descendant_id")) {
                fputc(' ', out);
                text(out, str(l, "descendant_id"), 0);
            }
            fputc('\n', out);
        }
        if (any) {
            posting(&w, a, -1, str(a, "earned"), 1, cur);
            fputc('\n', out);
        }
        if (!is_zero(str(a, "payable"))) {
            head(&w, "payout", a, period);
            posting(&w, a, -1, str(a, "payable"), 0, cur);
            fputc('\n', out);
            posting(&w, a, -3, str(a, "payable"), 1, cur);
            fputc('\n', out);
        }
        /* the liability is what is carried forward, owed to the affiliate when positive */
        if (w.bean) {
            fprintf(out, "\n%s balance ", w.next);
            liability(&w, a);
            fputs("  ", out);
            amount(out, str(a, "carried_forward"), 1);
            fprintf(out, " %s\n", cur);
        } else {
            head(&w, "carried forward", a, period);
            fputs("    ", out);
            liability(&w, a);
            fprintf(out, "  0 %s = ", cur);
            amount(out, str(a, "carried_forward"), 1);
            fprintf(out, " %s\n", cur);
        }
    }
    return 0;
}
