/* engine/close_int.h — the state of a close while it runs, shared by engine/close*.c (internal).
 *
 * engine/close.h is the rule kinds' view of a close (acre_close); this adds what only the
 * close's own files use: what was loaded for the late data judgments, the streamed queries and
 * the functions the files give each other. close.c drives them; close_load.c and close_state.c
 * (and close_read.c) are the only ones that touch SQLite. */
#ifndef ACRE_ENGINE_CLOSE_INT_H
#define ACRE_ENGINE_CLOSE_INT_H

#include "close.h"
#include "close_read.h"

/* Separates the parts of a key held in an acre_strset. */
#define SEP "\x1f"
/* Room for a key "PERIOD SEP ID": a period number and an ID of up to 500 characters (engine/
 * validate.c), 2,000 bytes of UTF-8 at most. */
#define ACRE_CLOSE_KEY 2048

typedef struct closeinfo {
    int period;
    long long seq;
    char *digest;
} closeinfo;

/* The tables a close streams, in the order of their queries (acre_close_start_reading). */
enum {
    TB_TXN = ACRE_REC_TRANSACTION,
    TB_GAMING = ACRE_REC_GAMING,
    TB_TRADING = ACRE_REC_TRADING,
    TB_BONUS = ACRE_REC_BONUS,
    TB_N
};

/* Column layouts of the streamed queries (engine/close_load.c), the key columns first. */
enum { TX_ID, TX_CUST, TX_TYPE, TX_AMOUNT, TX_CUR, TX_DATE, TX_STATUS, TX_USD, TX_N };
enum { GA_DATE, GA_CUST, GA_GAME, GA_CUR, GA_BETS, GA_TOTAL, GA_WINS, GA_GGR, GA_NGR, GA_N };
enum { TA_DATE, TA_CUST, TA_INSTR, TA_CUR, TA_LOTS, TA_N };
enum { BE_ID, BE_STATUS, BE_CUST, BE_CUR, BE_TS, BE_BTR, BE_N };

/* The streamed queries' columns and order (engine/close_load.c, engine/close_incr.c). The
 * SQLite store's txn_date index holds every column of TX_COLS (schema 7,
 * engine/store_sqlite_schema.c): a column added here belongs there too, or a month's
 * transactions are looked up in the table one by one again (tests/test_ingest.c checks). */
#define TX_COLS                                                                                    \
    {                                                                                              \
        "transaction_id", "customer_id", "transaction_type", "amount_currency", "currency",        \
            "transaction_date", "status", "amount_usd", "seq", NULL                                \
    }
#define BE_COLS                                                                                    \
    {                                                                                              \
        "user_bonus_id", "status", "user_id", "currency", "timestamp", "bonus_turned_real", "seq", \
            NULL                                                                                   \
    }
#define GA_COLS                                                                                    \
    {                                                                                              \
        "date", "customer_id", "game_type", "currency", "bets_count", "total_bets", "wins", "ggr", \
            "ngr", "seq", NULL                                                                     \
    }
#define GA_ORDER                                                                                   \
    {                                                                                              \
        "date", "customer_id", "game_type", "currency", "seq", NULL                                \
    }
#define TA_COLS                                                                                    \
    {                                                                                              \
        "date", "customer_id", "instrument", "currency", "lots_traded", "seq", NULL                \
    }
#define TA_ORDER                                                                                   \
    {                                                                                              \
        "date", "customer_id", "instrument", "currency", "seq", NULL                               \
    }
/* engine/close_load.c's shapes: every transaction and Completed bonus event; activity before a
 * date, and between two */
extern const struct acre_query acre_close_q_txn, acre_close_q_bonus, acre_close_q_ga_to,
    acre_close_q_ga, acre_close_q_ta_to, acre_close_q_ta;
/* engine/close_incr.c's: the transaction versions dated in a month, from the date index alone
 * (tests/test_ingest.c checks that SQLite plans it so) */
extern const struct acre_query acre_close_q_txn_dated;
/* a customer's transactions, every version (customer_id, then the watermark) */
extern const struct acre_query acre_close_q_txn_cust;

typedef struct assign {
    char *plan_id;
    long version; /* 0: newest */
    int from, to;
} assign;

typedef struct judged {
    int period;
    long long seq;
    char *a, *b;
} judged;

typedef acre_ver ver;
typedef acre_grp grp;

typedef struct ctx {
    acre_close c;
    acre_store *s;
    long long seq; /* watermark of this close */
    closeinfo *closes;
    int ncloses;
    acre_strset plan_newest; /* plan_id -> newest version */
    assign **as;             /* per affiliate */
    int *nas;
    acre_strset close_plan; /* "period SEP affiliate" -> index into labels */
    char **labels;
    int nlabels, clab;
    acre_strset excluded;     /* "period SEP customer" */
    acre_strset judged_index; /* "table SEP key" -> index into judged */
    judged *judged;
    int njudged, cjudged;
    acre_buf out_counted;       /* rows to write: table, key, seq, a, b (SEP-separated, \n) */
    struct acre_stmt *old_cust; /* acre_close_old_customer's (engine/close_load.c) */
    acre_reader *rd;            /* started before the load, run by stream_all */
    int cust_cap;
    const char *last_cust; /* while loading customers: the last ID read */
    char *dropped_cust;    /* the last ID read when it was not kept */
    acre_read_query *rq;   /* the streamed queries (acre_close_start_reading) */
    int nrq;
    char (*bounds)[11];          /* the dates that split activity into queries */
    int query;                   /* the query of the record being processed */
    struct cursor {
        int at;     /* the customer found last */
        int misses; /* lookups in a row the look ahead did not find */
    } *cursor;      /* per query (find_customer) */
    unsigned __int128 *cust_key; /* per customer, acre_close_id_key of its ID (the scan) */
    int need_activity_events;
    /* An incremental close (docs/design.md "An incremental close"): it reads the months since
     * the last close whole (queries of class Q_A), and of the months before only the versions
     * logged since that close (Q_C), the records of the customers in need of more (Q_B, by
     * customer: bits of cust_b per table), and a table whole where it has to (Q_F, full_tb).
     * process() keeps each record from exactly one query. */
    int incr;
    long long last_seq; /* the last close's watermark */
    unsigned char *qcls; /* per query */
    unsigned char *cust_b;
    int *set_cust[TB_N]; /* per parameter set of a table's Q_B query: its customer */
    char from_date[11], from_dt[31]; /* the day after the last close's period */
    int full_tb[TB_N];
    acre_buf sets_text;  /* the texts of the Q_B and Q_C parameter sets */
    acre_strset multi;   /* transactions with several versions and one in the months read */
    acre_value *sets;
    size_t nsets;
    /* close_late.c: the plan each affiliate held at each close, by close * naffs + affiliate,
     * looked up when first needed (acre_close_closed_plan); the key of the record judged */
    const acre_plan **held;
    acre_buf key;
    acre_error *err;
    /* acre_close_opts.progress: told every ACRE_CLOSE_PROGRESS records read, and at each stage */
    void (*progress)(void *ctx, const char *stage, long records);
    void *progress_ctx;
    long nread; /* records processed */
} ctx;

/* Sets err to out of memory; returns ACRE_ENOMEM. */
static inline int acre_close_oom(acre_error *err)
{
    return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
}

/* The period index (year*12 + month-1) of a date "YYYY-MM-DD...". */
static inline int acre_close_period_of(const char *date)
{
    return ((date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 +
            (date[3] - '0')) *
               12 +
           (date[5] - '0') * 10 + (date[6] - '0') - 1;
}

/* The first 16 bytes of an ID as one big-endian number, zero-padded: two IDs' keys compare as
 * strcmp compares their first 16 bytes, so a scan of the sorted customers compares numbers and
 * calls strcmp only past 16 bytes of equal keys (find_customer, engine/close.c). */
static inline unsigned __int128 acre_close_id_key(const char *s)
{
    unsigned __int128 k = 0;
    int i = 0;
    for (; i < 16 && s[i]; i++)
        k = k << 8 | (unsigned char)s[i];
    return i ? k << (8 * (16 - i)) : 0;
}

/* Sets c->oom, which fails the close when it is stored. The streaming thread and the rules
 * threads may both set it. */
static inline void acre_close_ran_out(acre_close *c)
{
    __atomic_store_n(&c->oom, 1, __ATOMIC_RELAXED);
}

/* ---- the plans an affiliate holds (engine/close.c) ---- */

/* The plan affiliate `aff`'s current assignments give it for period p, or NULL (borrowed from
 * the close). When from is not NULL, *from is set to the assignment's effective_from; when
 * missing is not NULL, it is set (mlen bytes) when the assignment names a plan not stored. */
const acre_plan *acre_close_plan_for(ctx *x, int aff, int p, int *from, char *missing, size_t mlen);

/* The plan affiliate `aff` held at closed period p, or NULL (borrowed from the close). */
const acre_plan *acre_close_closed_plan(ctx *x, int p, const char *aff);

/* ---- reading the store (engine/close_load.c) ---- */

/* Begins the close's transaction: a preview reads one consistent snapshot; a close (store)
 * holds the write lock throughout. */
int acre_close_begin(acre_store *s, int store, acre_error *err);

/* x->closes: the closes stored so far, in period order. */
int acre_close_load_closes(ctx *x, acre_error *err);

/* x->seq = the store's sequence counter (0 when nothing was ever stored). */
int acre_close_load_seq(ctx *x, acre_error *err);

/* Starts reading the records (engine/close_read.h) as soon as the watermark is known, so that
 * the reader threads work while the close loads its state; sets x->rq, x->bounds, x->cursor and
 * x->rd. The queries, in table order: transactions; gaming activity up to the end of the period
 * (nothing dated from the next period on matters), split by date when two threads read it (the
 * months since the first close, each day of this period) so that both readers stay busy to the
 * end; trading activity the same way; Completed bonus events. */
int acre_close_start_reading(ctx *x, acre_error *err);

/* Everything else the close reads before streaming, at the watermark x->seq: plans, affiliates,
 * assignments, the previous close's balances, every close's plans and excluded customers, late
 * judgments, customers (indexed, in ID order), settled customers, flags, rates. Prepares the
 * statement of acre_close_old_customer first. The rule kinds' own state is their load hooks'
 * (engine/close.c calls them next). Returns 0 or an error (err set). */
int acre_close_load(ctx *x, acre_error *err);

/* For qualification at ingest (engine/events.c): what acre_close_load reads, but of the
 * customers ids[0..n) alone (sorted, distinct): plans, affiliates, assignments, those
 * customers (indexed), their settled rows and every rate; no balances, closes or judgments.
 * Flags are the caller's (acre_close_flag_bit). At the watermark x->seq. With activity_only
 * (the batch changed activity alone) and no plan with an activity threshold, or with no plan at
 * all, only the plans are read: no customer's qualification can have changed. */
int acre_close_load_some(ctx *x, char *const *ids, int n, int activity_only, acre_error *err);

/* The events of a close being stored (engine/events.c): a `qualified` event for each customer
 * it settles that has none for that plan yet, a `clawback` event for each CPA it claws back. */
int acre_close_events(ctx *x, acre_error *err);

/* 1 when plan p's qualification has an activity threshold (wagered, bets, lots): its events
 * include activity rows. */
static inline int acre_plan_reads_activity(const acre_plan *p)
{
    return acre_dec_sgn(&p->q.min_wagered) > 0 || p->q.min_bets > 0 ||
           acre_dec_sgn(&p->q.min_lots) > 0;
}

/* Frees what a ctx holds (engine/close.c), the customers' events included. */
void acre_close_ctx_free(ctx *x);

/* The bit (acre_flag_names order) of a flag record's version active at the end of the period
 * that ends at next_start (flagged before it, not cleared before it), or 0. */
unsigned acre_close_flag_bit(const char *flag, const char *flagged_at, const char *cleared_at,
                             const char *next_start);

/* The affiliate and signup customer `id` had in its newest version at or below seq (the
 * watermark of an earlier close): sets *aff to that affiliate's index in acre_close.affs (-1
 * when it is not one of this close's affiliates), *signup, and returns 1; returns 0 when it had
 * no version then, or an error (err set). */
int acre_close_old_customer(ctx *x, const char *id, long long seq, long *aff, int64_t *signup,
                            acre_error *err);

/* Whether this close may read incrementally (x->incr): a close before it, made by this acre
 * (after counter log_after's period) when the store already logged late versions (counter
 * log_from), and full not asked. When not, it starts reading at once
 * (acre_close_start_reading). Returns 0 or an error (err set). */
int acre_close_plan_reading(ctx *x, int full, acre_error *err);

/* The incremental close's queries, once the customers' part is known (prepare_customers):
 * started as acre_close_start_reading's are. Falls back to those (x->incr = 0) when more than
 * 64 customers need their history read and they are more than an eighth of the customers
 * counting anew, or more than half of all. Returns 0 or an error (err set). */
int acre_close_start_incremental(ctx *x, acre_error *err);

enum { Q_A, Q_B, Q_C, Q_F, Q_AS }; /* x->qcls; Q_AS: Q_A, but for the keys in x->multi */

/* Frees what acre_close_load keeps for the streaming; safe to call again, or before a load. */
void acre_close_load_free(ctx *x);

/* *ledger = the stored ledger of period p (new: the caller frees it); ACRE_ENOTFOUND when p is
 * not closed. `period` is p as the caller wrote it, for the message. */
int acre_close_load_ledger(acre_store *s, int p, const char *period, char **ledger,
                           acre_error *err);

/* ---- valuing a record (engine/close_value.c) ---- */

/* The date (YYYY-MM-DD) of version v of a record of table tb. */
void acre_close_record_date(int tb, const grp *g, const ver *v, char date[11]);
/* The customer of version v of a record of table tb (borrowed from g). */
const char *acre_close_record_customer(int tb, const grp *g, const ver *v);

/* The revenue a record version contributes under plan p for a customer who signed up at
 * signup_sec, added to a (GGR or deduction) and b (reported NGR or net revenue), in p's
 * currency: what the value hook of p's valuer says (include/acre/sys/rule.h); nothing without p
 * or a valuer. An allocation that fails sets c->oom (acre_close_ran_out). Returns 0, or the
 * hook's error (x->err set: ACRE_EREFUSED when a reported NGR is missing on a record that would
 * count). */
int acre_close_value(ctx *x, int tb, const grp *g, const ver *v, const acre_plan *p,
                     int64_t signup_sec, acre_acc *a, acre_acc *b);

/* Keeps the record as a qualification event of cu when the customer's plan (cu->evplan) can
 * use it: transactions of its event types in a counted status; activity rows when some plan
 * has an activity threshold. Out of memory sets c->oom. */
void acre_close_add_event(ctx *x, acre_cust *cu, int tb, const grp *g, const ver *v);

/* ---- late data (engine/close_late.c) ---- */

/* A record dated in earlier period p, of customer cu: when cu counts, the difference between
 * its value now and the value counted before (0 when never counted) joins its customer's
 * revenue, marked late, and the judgment is queued in x->out_counted for the next close unless
 * the implied rule names it (a record of a skipped month with one version; any activity row of
 * a skipped month). Returns 0, or an error with x->err set (a refusal, a damaged stored value, a
 * read that failed); out of memory sets c->oom or marks x->out_counted. */
int acre_close_judge_late(ctx *x, int tb, const grp *g, int p, acre_cust *cu);

/* A transaction or bonus event with several versions, dated in this close's period, of customer
 * cu (who counts): its value now joins the period's revenue and is queued in x->out_counted
 * (the implied rule would name the first close that saw it in its months, not this one), and
 * what an earlier close counted where it was dated before, if anything, is taken back as late
 * data. Returns 1, or an error with x->err set. A record with one version needs none of it: no
 * close judged it or counted it in another month, and the implied rule names this close. */
int acre_close_judge_moved(ctx *x, int tb, const grp *g, acre_cust *cu);

/* ---- the ledger (engine/close_ledger.c) ---- */

/* 1 when the ledger lists affiliate a: it has a plan, a line or a balance. */
int acre_close_listed(const acre_aff *a);

/* Puts each listed affiliate's lines in ledger order and sets its totals (SPEC 5.5). */
void acre_close_totals(ctx *x);

/* Appends the document (SPEC 6), after acre_close_totals(), to b and sets digest. The digest is
 * the SHA-256 of the document with its final ,"digest":"..." member removed. Reads the close and
 * frees only each line's detail, so it can run beside acre_close_write_state(). Returns 0, or
 * ACRE_ENOMEM (b is then marked out of memory). */
int acre_close_write_ledger(ctx *x, acre_buf *b, char digest[72]);

/* ---- what the close stores (engine/close_state.c) ---- */

/* Inserts everything a later close needs except the ledger itself: balances, each rule kind's
 * state (its save hook, in table order), excluded and settled customers, clawbacks, what was
 * counted. Reads the close only, but cuts x->out_counted into its fields in place. Returns 0 or
 * an error (err set). */
int acre_close_write_state(ctx *x, acre_error *err);

/* Inserts the close row: the period, the watermark, the ledger, its digest and the previous one.
 * Returns 0 or an error (err set). */
int acre_close_write_close(ctx *x, const char *ledger, const char *digest, acre_error *err);

#endif
