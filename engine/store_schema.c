/* engine/store_schema.c — the tables every backend holds (include/acre/sys/store.h).
 *
 * A record kind's table follows from its row in engine/validate.c: the kind's columns (integers
 * for counts and versions, text for the rest), then `seq` and `batch`; its key is the record's
 * key then seq. Kinds sharing a table (the two customer kinds, the two transaction kinds) give
 * it once. The close's state tables are listed here, the rule kinds' among them (each says
 * which kind owns it); docs/design.md says what each holds. */
#include <pthread.h>
#include <string.h>

#include "acre/sys/store.h"
#include "record.h"
#include "store_int.h"

#define T ACRE_COL_TEXT
#define I ACRE_COL_INT

static const acre_column counter_cols[] = {{"name", T, 1}, {"value", I, 1}};
static const acre_column batch_cols[] = {
    {"batch", I, 1},    {"kind", T, 1},      {"source", T, 1},   {"sha256", T, 1},
    {"received", I, 1}, {"inserted", I, 1},  {"updated", I, 1},  {"unchanged", I, 1},
    {"rejected", I, 1}, {"first_seq", I, 0}, {"last_seq", I, 0}, {"stored_at", T, 0}};
static const acre_column plan_cols[] = {{"plan_id", T, 1},  {"version", I, 1}, {"name", T, 0},
                                        {"currency", T, 1}, {"body", T, 1},    {"sha256", T, 1},
                                        {"seq", I, 1}};
static const acre_column close_cols[] = {{"period", I, 1}, {"period_text", T, 1},
                                         {"seq", I, 1},    {"ledger", T, 1},
                                         {"digest", T, 1}, {"previous_digest", T, 0}};
static const acre_column close_affiliate_cols[] = {
    {"period", I, 1}, {"affiliate_id", T, 1}, {"plan", T, 0}, {"carried_forward", T, 1}};
/* close_layer is the carryover rule kind's state: rules/carryover.c alone reads and writes it
 * (its load, save and audit hooks, include/acre/sys/rule.h "State"). */
static const acre_column close_layer_cols[] = {{"period", I, 1},  {"affiliate_id", T, 1},
                                               {"plan_id", T, 1}, {"plan", T, 1},
                                               {"origin", I, 1},  {"amount", T, 1}};
static const acre_column close_excluded_cols[] = {{"period", I, 1}, {"customer_id", T, 1}};
static const acre_column settled_cols[] = {
    {"customer_id", T, 1},   {"period", I, 1},       {"affiliate_id", T, 1}, {"plan", T, 1},
    {"outcome", T, 1},       {"amount", T, 0},       {"qualified_at", T, 1}, {"qsec", I, 1},
    {"clawback_days", I, 1}, {"clawed_period", I, 0}};
static const acre_column counted_cols[] = {{"tbl", T, 1}, {"rkey", T, 1}, {"period", I, 1},
                                           {"seq", I, 1}, {"a", T, 1},    {"b", T, 1}};

#define N(a) ((int)(sizeof a / sizeof a[0]))

static const acre_table state[] = {
    {"counter", counter_cols, N(counter_cols), {0}, 1, 0, {NULL}},
    {"ingest_batch", batch_cols, N(batch_cols), {0}, 1, 0, {"kind", "sha256", NULL}},
    {"plan", plan_cols, N(plan_cols), {0, 1}, 2, 0, {NULL}},
    {"close", close_cols, N(close_cols), {0}, 1, 0, {NULL}},
    {"close_affiliate", close_affiliate_cols, N(close_affiliate_cols), {0, 1}, 2, 0, {NULL}},
    {"close_layer", close_layer_cols, N(close_layer_cols), {0, 1, 4}, 3, 0, {NULL}},
    {"close_excluded", close_excluded_cols, N(close_excluded_cols), {0, 1}, 2, 0, {NULL}},
    {"settled", settled_cols, N(settled_cols), {0}, 1, 0, {NULL}},
    {"counted", counted_cols, N(counted_cols), {0, 1, 2}, 3, 0, {NULL}},
};

/* A record kind's table: its columns, then seq and batch. */
typedef struct kind_table {
    acre_table t;
    acre_column cols[ACRE_MAX_COLS + 2];
} kind_table;

#define MAX_TABLES 32

static kind_table kinds[MAX_TABLES];
static const acre_table *all[MAX_TABLES + N(state) + 1];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    int n = 0, nk = 0;
    for (int i = 0; acre_kinds[i] && nk < MAX_TABLES; i++) {
        const acre_kind *k = acre_kinds[i];
        kind_table *kt = &kinds[nk];
        int seen = 0;
        for (int j = 0; j < nk; j++)
            seen |= strcmp(kinds[j].t.name, k->table) == 0;
        if (seen)
            continue;
        for (int c = 0; c < k->ncols; c++) {
            const acre_field *f = &k->cols[c];
            kt->cols[c].name = f->name;
            kt->cols[c].type = f->type == T_INT_NN || f->type == T_VERSION ? I : T;
            kt->cols[c].notnull = c < k->nkey;
        }
        kt->cols[k->ncols] = (acre_column){"seq", I, 1};
        kt->cols[k->ncols + 1] = (acre_column){"batch", I, 1};
        kt->t.name = k->table;
        kt->t.cols = kt->cols;
        kt->t.ncols = k->ncols + 2;
        for (int c = 0; c < k->nkey; c++)
            kt->t.key[c] = c;
        kt->t.key[k->nkey] = k->ncols;
        kt->t.nkey = k->nkey + 1;
        kt->t.versioned = 1;
        all[n++] = &kt->t;
        nk++;
    }
    for (int i = 0; i < N(state); i++)
        all[n++] = &state[i];
    all[n] = NULL;
}

const acre_table *const *acre_store_tables(void)
{
    pthread_once(&once, build);
    return all;
}

const acre_table *acre_store_table(const char *name)
{
    for (const acre_table *const *t = acre_store_tables(); *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}

int acre_table_col(const acre_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

acre_value acre_val_text(const char *s)
{
    acre_value v = {ACRE_VAL_NULL, 0, NULL, 0};
    if (s) {
        v.type = ACRE_VAL_TEXT;
        v.s = s;
        v.n = strlen(s);
    }
    return v;
}
