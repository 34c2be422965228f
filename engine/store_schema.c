/* engine/store_schema.c — the tables every backend holds (include/acre/sys/store.h).
 *
 * A record kind's table follows from its row in engine/validate.c: the kind's columns (integers
 * for counts and versions, money for amounts, text for the rest), then `seq` and `batch`; its key
 * is the record's key then seq. Kinds sharing a table (the two customer kinds, the two transaction
 * kinds) give it once. Then the store's own tables, and the close's state tables
 * (include/acre/sys/store.h says what close_period and close_marks mean): the affiliates' balances,
 * every rule kind's own tables (acre_rule_kind.tables: rules/carryover.c's close_layer), then the
 * customers'. docs/design.md says what each holds. */
#include <pthread.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "acre/sys/store.h"
#include "record.h"
#include "store_int.h"

#define T ACRE_COL_TEXT
#define I ACRE_COL_INT
#define M 1 /* acre_column.month */

static const acre_column counter_cols[] = {{"name", T, 1, 0}, {"value", I, 1, 0}};
static const acre_column batch_cols[] = {
    {"batch", I, 1, 0},    {"kind", T, 1, 0},      {"source", T, 1, 0},   {"sha256", T, 1, 0},
    {"received", I, 1, 0}, {"inserted", I, 1, 0},  {"updated", I, 1, 0},  {"unchanged", I, 1, 0},
    {"rejected", I, 1, 0}, {"first_seq", I, 0, 0}, {"last_seq", I, 0, 0}, {"stored_at", T, 0, 0}};
static const acre_column plan_cols[] = {
    {"plan_id", T, 1, 0}, {"version", I, 1, 0}, {"name", T, 0, 0}, {"currency", T, 1, 0},
    {"body", T, 1, 0},    {"sha256", T, 1, 0},  {"seq", I, 1, 0}};
/* the ledger last: a read of a close's digest or watermark does not walk its overflow pages */
static const acre_column close_cols[] = {{"period", I, 1, M},           {"period_text", T, 1, 0},
                                         {"seq", I, 1, 0},              {"digest", T, 1, 0},
                                         {"previous_digest", T, 0, 0}, {"ledger", T, 1, 0}};
static const acre_column close_affiliate_cols[] = {{"period", I, 1, M},
                                                   {"affiliate_id", T, 1, 0},
                                                   {"plan", T, 0, 0},
                                                   {"carried_forward", T, 1, 0}};
static const acre_column close_excluded_cols[] = {{"period", I, 1, M}, {"customer_id", T, 1, 0}};
static const acre_column settled_cols[] = {{"customer_id", T, 1, 0},   {"period", I, 1, M},
                                           {"affiliate_id", T, 1, 0},  {"plan", T, 1, 0},
                                           {"outcome", T, 1, 0},       {"amount", T, 0, 0},
                                           {"qualified_at", T, 1, 0},  {"qsec", I, 1, 0},
                                           {"clawback_days", I, 1, 0}, {"clawed_period", I, 0, M}};
static const acre_column late_version_cols[] = {{"seq", I, 1, 0}, {"tbl", T, 1, 0},
                                                {"k1", T, 1, 0},  {"k2", T, 0, 0},
                                                {"k3", T, 0, 0},  {"k4", T, 0, 0}};
static const acre_column txn_versions_cols[] = {
    {"period", I, 1, M}, {"transaction_id", T, 1, 0}, {"seq", I, 1, 0}};
/* the HTTP API's clients (SPEC 11): the secret only as a salted PBKDF2 hash; its access tokens
 * by their SHA-256; the answers it keeps for an Idempotency-Key (engine/clients.c) */
static const acre_column api_client_cols[] = {
    {"client_id", T, 1, 0}, {"name", T, 1, 0},       {"scope", T, 1, 0},
    {"salt", T, 1, 0},      {"hash", T, 1, 0},       {"iterations", I, 1, 0},
    {"created_at", T, 1, 0}, {"revoked_at", T, 0, 0}};
static const acre_column api_token_cols[] = {{"token_hash", T, 1, 0},
                                             {"client_id", T, 1, 0},
                                             {"scope", T, 1, 0},
                                             {"expires_at", I, 1, 0}};
static const acre_column api_idem_cols[] = {
    {"client_id", T, 1, 0}, {"idem_key", T, 1, 0}, {"body_sha256", T, 1, 0},
    {"status", I, 1, 0},    {"answer", T, 1, 0},   {"stored_at", I, 1, 0}};
/* postbacks (SPEC 12; engine/events.c): each affiliate's signing secret, and the outbox, one
 * row an event: its body as made, whether it is pending, delivered or dead, its attempts and
 * when the next is due (Unix seconds), what the receiver last answered, and what made it (an
 * ingest, or the close that settled or clawed back) */
static const acre_column affiliate_secret_cols[] = {
    {"affiliate_id", T, 1, 0}, {"secret", T, 1, 0}, {"created_at", T, 1, 0}};
static const acre_column event_cols[] = {
    {"event_id", T, 1, 0},     {"seq", I, 1, 0},         {"type", T, 1, 0},
    {"affiliate_id", T, 1, 0}, {"customer_id", T, 1, 0}, {"plan", T, 1, 0},
    {"body", T, 1, 0},         {"made_at", I, 1, 0},     {"status", T, 1, 0},
    {"attempts", I, 1, 0},     {"next_at", I, 1, 0},     {"last_error", T, 0, 0},
    {"done_at", I, 0, 0},      {"made_by", T, 1, 0}};
static const acre_column counted_cols[] = {{"tbl", T, 1, 0}, {"rkey", T, 1, 0}, {"period", I, 1, M},
                                           {"seq", I, 1, 0}, {"a", T, 1, 0},    {"b", T, 1, 0}};

#define N(a) ((int)(sizeof a / sizeof a[0]))

/* The store's own tables and the affiliates' balances: before the rule kinds' tables. */
static const acre_table before[] = {
    {.name = "counter", .cols = counter_cols, .ncols = N(counter_cols), .key = {0}, .nkey = 1},
    {.name = "ingest_batch",
     .cols = batch_cols,
     .ncols = N(batch_cols),
     .key = {0},
     .nkey = 1,
     .index = {"kind", "sha256", NULL}},
    {.name = "plan", .cols = plan_cols, .ncols = N(plan_cols), .key = {0, 1}, .nkey = 2},
    {.name = "close", .cols = close_cols, .ncols = N(close_cols), .key = {0}, .nkey = 1},
    /* every version ingest stored dated in a period already closed (engine/ingest_store.c):
     * what the next incremental close reads besides its own months (docs/design.md) */
    {.name = "late_version",
     .cols = late_version_cols,
     .ncols = N(late_version_cols),
     .key = {0},
     .nkey = 1},
    /* the transactions stored in more than one version, under each month a version is dated
     * in (engine/ingest_store.c): the ones an incremental close reads with every version */
    {.name = "txn_versions",
     .cols = txn_versions_cols,
     .ncols = N(txn_versions_cols),
     .key = {0, 1, 2},
     .nkey = 3},
    {.name = "api_client",
     .cols = api_client_cols,
     .ncols = N(api_client_cols),
     .key = {0},
     .nkey = 1},
    {.name = "api_token",
     .cols = api_token_cols,
     .ncols = N(api_token_cols),
     .key = {0},
     .nkey = 1},
    {.name = "api_idempotency",
     .cols = api_idem_cols,
     .ncols = N(api_idem_cols),
     .key = {0, 1},
     .nkey = 2},
    {.name = "affiliate_secret",
     .cols = affiliate_secret_cols,
     .ncols = N(affiliate_secret_cols),
     .key = {0},
     .nkey = 1},
    {.name = "event",
     .cols = event_cols,
     .ncols = N(event_cols),
     .key = {0},
     .nkey = 1,
     .index = {"status", "next_at", NULL}},
    {.name = "close_affiliate",
     .cols = close_affiliate_cols,
     .ncols = N(close_affiliate_cols),
     .key = {0, 1},
     .nkey = 2,
     .close_period = "period"},
};

/* The customers' state: after the rule kinds' tables. */
static const acre_table after[] = {
    {.name = "close_excluded",
     .cols = close_excluded_cols,
     .ncols = N(close_excluded_cols),
     .key = {0, 1},
     .nkey = 2,
     .close_period = "period"},
    {.name = "settled",
     .cols = settled_cols,
     .ncols = N(settled_cols),
     .key = {0},
     .nkey = 1,
     .close_period = "period",
     .close_marks = "clawed_period"},
    {.name = "counted",
     .cols = counted_cols,
     .ncols = N(counted_cols),
     .key = {0, 1, 2},
     .nkey = 3,
     .close_period = "period"},
};

/* A record kind's table: its columns, then seq and batch. */
typedef struct kind_table {
    acre_table t;
    acre_column cols[ACRE_MAX_COLS + 2];
} kind_table;

#define MAX_TABLES 32

static kind_table kinds[MAX_TABLES];
static const acre_table *all[MAX_TABLES + N(before) + ACRE_MAX_RULE_TABLES + N(after) + 1];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
    int n = 0, nk = 0, nr = 0;
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
            kt->cols[c].type =
                f->type == T_INT_NN || f->type == T_VERSION ? I
                : f->type == T_MONEY || f->type == T_MONEY_NN || f->type == T_MONEY_POS
                    ? ACRE_COL_MONEY
                    : T;
            kt->cols[c].notnull = c < k->nkey;
        }
        kt->cols[k->ncols] = (acre_column){"seq", I, 1, 0};
        kt->cols[k->ncols + 1] = (acre_column){"batch", I, 1, 0};
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
    for (int i = 0; i < N(before); i++)
        all[n++] = &before[i];
    /* at most ACRE_MAX_RULE_TABLES together (acre_rule_table_check) */
    for (int k = 0; acre_rule_kinds[k]; k++)
        for (int i = 0; i < acre_rule_kinds[k]->ntables && nr < ACRE_MAX_RULE_TABLES; i++, nr++)
            all[n++] = &acre_rule_kinds[k]->tables[i];
    for (int i = 0; i < N(after); i++)
        all[n++] = &after[i];
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
