/* engine/kinds.c — the table of rule kinds as the core reads it: checked once (versions,
 * required members, the settlement flags, limits), each kind's config slot, and the line kinds
 * numbered in ledger order with their names and accounts (include/acre/sys/rule.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "acre/sys/store.h"
#include "close.h"

#define SETTLES (ACRE_LINE_SETTLES_PAID | ACRE_LINE_SETTLES_OVER_CAP | ACRE_LINE_SETTLES_CLAWBACK)

/* k's state tables (acre_rule_kind.tables): each a close's state table whose key and period
 * column are its own columns; *n counts them over the whole table. */
static int check_tables(const acre_rule_kind *k, int *n, acre_error *err)
{
    if (k->ntables < 0 || (k->ntables > 0 && !k->tables))
        return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                              "rule kind %s: ntables is %d without its tables", k->name,
                              k->ntables);
    for (int j = 0; j < k->ntables; j++) {
        const acre_table *t = &k->tables[j];
        int ok = t->name && t->name[0] && t->cols && t->ncols > 0 && t->ncols < ACRE_Q_MAX &&
                 t->nkey > 0 && t->nkey <= t->ncols && !t->versioned && t->close_period,
            period = 0;
        for (int c = 0; ok && c < t->nkey; c++)
            ok = t->key[c] >= 0 && t->key[c] < t->ncols;
        /* every column named, once; the queries over the table end its lists with a NULL */
        for (int c = 0; ok && c < t->ncols; c++) {
            ok = t->cols[c].name && t->cols[c].name[0];
            for (int d = 0; ok && d < c; d++)
                ok = strcmp(t->cols[c].name, t->cols[d].name) != 0;
        }
        for (int c = 0; ok && c < t->ncols; c++)
            period |=
                strcmp(t->cols[c].name, t->close_period) == 0 && t->cols[c].type == ACRE_COL_INT;
        if (!ok || !period)
            return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                  "rule kind %s: table %d needs a name, its columns, a key and "
                                  "an integer close_period column",
                                  k->name, j);
        if (++*n > ACRE_MAX_RULE_TABLES)
            return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                  "more than %d rule kinds' tables", ACRE_MAX_RULE_TABLES);
    }
    return 0;
}

int acre_rule_table_check(const acre_rule_kind *const *kinds, acre_error *err)
{
    unsigned settles = 0; /* the ACRE_LINE_SETTLES_* flags given so far */
    int nlines = 0, ntables = 0, i, rc;
    for (i = 0; kinds[i]; i++) {
        const acre_rule_kind *k = kinds[i];
        const char *name = k->name ? k->name : "?";
        if (i >= ACRE_MAX_RULE_KINDS)
            return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                  "more than %d rule kinds", ACRE_MAX_RULE_KINDS);
        if (k->version != ACRE_RULE_KIND_VERSION)
            return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                  "rule kind %s implements interface version %u, not %u", name,
                                  k->version, ACRE_RULE_KIND_VERSION);
        if (!k->name || !k->name[0] || !k->run || (k->phase != 1 && k->phase != 2) ||
            k->nlines < 0 || (k->nlines > 0 && !k->lines))
            return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                  "rule kind %s needs a name, a run, phase 1 or 2 and its line "
                                  "kinds",
                                  name);
        for (int j = 0; j < i; j++)
            if (strcmp(kinds[j]->name, k->name) == 0)
                return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                      "two rule kinds are called %s", name);
        if (((k->load || k->save) && !k->state_free) ||
            ((k->audit_lines || k->audit_rows) && !k->audit_free))
            return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                  "rule kind %s keeps state: it needs state_free with load or "
                                  "save, audit_free with audit_lines or audit_rows",
                                  name);
        if ((rc = check_tables(k, &ntables, err)))
            return rc;
        for (int j = 0; j < i; j++)
            if (k->value && kinds[j]->value)
                return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                      "rule kinds %s and %s both value records", kinds[j]->name,
                                      name);
        for (int j = 0; j < k->nlines; j++) {
            const acre_line_kind *l = &k->lines[j];
            if (!l->name || !l->name[0] || !l->hledger || !l->hledger[0] || !l->beancount ||
                !(l->beancount[0] >= 'A' && l->beancount[0] <= 'Z'))
                return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                      "rule kind %s: line kind %d needs a name and its journal "
                                      "accounts",
                                      name, j);
            if (l->flags & SETTLES) {
                unsigned f = l->flags & SETTLES;
                if ((f & (f - 1)) || !(l->flags & ACRE_LINE_CUSTOMER))
                    return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                          "line kind %s documents one settlement at most, and "
                                          "only with ACRE_LINE_CUSTOMER",
                                          l->name);
                if (settles & f)
                    return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                          "two line kinds document the same settlement (the "
                                          "second: %s)",
                                          l->name);
                settles |= f;
            }
            if (++nlines > ACRE_MAX_LINE_KINDS)
                return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                      "more than %d line kinds", ACRE_MAX_LINE_KINDS);
            for (int a = 0; a <= i; a++)
                for (int b = 0; b < (a < i ? kinds[a]->nlines : j); b++)
                    if (strcmp(kinds[a]->lines[b].name, l->name) == 0)
                        return acre_error_set(err, ACRE_ERROR, "rule_kinds", "rule_kind",
                                              "two line kinds are called %s", l->name);
        }
    }
    return 0;
}

/* The answer for acre_rule_kinds[], made once; constant after. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static acre_error checked;
static const char *names[ACRE_MAX_LINE_KINDS];

static void check_once(void)
{
    acre_error_clear(&checked);
    if (acre_rule_table_check(acre_rule_kinds, &checked))
        return;
    for (int i = 0; i < acre_line_kind_count(); i++)
        names[i] = acre_line_kind_at(i)->name;
}

int acre_rule_kinds_ready(acre_error *err)
{
    pthread_once(&once, check_once);
    if (checked.code && err)
        *err = checked;
    return checked.code;
}

const char *const *acre_line_kind_name_list(void)
{
    acre_rule_kinds_ready(NULL);
    return names;
}

int acre_rule_kind_slot(const acre_rule_kind *k)
{
    for (int i = 0; acre_rule_kinds[i]; i++)
        if (acre_rule_kinds[i] == k)
            return i;
    return -1;
}

int acre_line_kind_index(const acre_rule_kind *k, int j)
{
    int n = 0;
    for (int i = 0; acre_rule_kinds[i]; i++) {
        if (acre_rule_kinds[i] == k)
            return j >= 0 && j < k->nlines ? n + j : -1;
        n += acre_rule_kinds[i]->nlines;
    }
    return -1;
}

int acre_line_kind_count(void)
{
    int n = 0;
    for (int i = 0; acre_rule_kinds[i]; i++)
        n += acre_rule_kinds[i]->nlines;
    return n;
}

const acre_line_kind *acre_line_kind_at(int index)
{
    for (int i = 0; acre_rule_kinds[i] && index >= 0; i++) {
        if (index < acre_rule_kinds[i]->nlines)
            return &acre_rule_kinds[i]->lines[index];
        index -= acre_rule_kinds[i]->nlines;
    }
    return NULL;
}

int acre_line_kind_find(const char *name)
{
    int n = 0;
    for (int i = 0; name && acre_rule_kinds[i]; i++)
        for (int j = 0; j < acre_rule_kinds[i]->nlines; j++, n++)
            if (strcmp(acre_rule_kinds[i]->lines[j].name, name) == 0)
                return n;
    return -1;
}
