/* engine/close.h — the state of one close, shared by engine/close.c and rules/ (internal).
 *
 * A close reads the store once into these structures (affiliates, customers, their events and
 * revenue in each affiliate's plan currency), lets each rule kind add lines, and then writes the
 * ledger and the state the next close starts from. Nothing here touches SQLite except close.c. */
#ifndef ACRE_ENGINE_CLOSE_H
#define ACRE_ENGINE_CLOSE_H

#include <pthread.h>
#include <stdint.h>

#include "acre/decimal.h"
#include "acre/store.h"
#include "acre/error.h"
#include "jsonval.h"
#include "number.h"
#include "plan.h"
#include "strset.h"

/* An exact sum: an int128 of 10^-18 units for the common case, spilling into a rational. */
typedef struct acre_acc {
    __int128 v;
    mpq_t *big;
} acre_acc;

/* Each line kind's ledger name by its number (acre_line_kind_index, include/acre/sys/rule.h),
 * for engine/close.c, which writes acre_line_kind_names[kind]; the rest of the library reads
 * acre_line_kind_at(kind)->name. Made once from the kinds' table (engine/kinds.c). */
const char *const *acre_line_kind_name_list(void);
#define acre_line_kind_names (acre_line_kind_name_list())

typedef struct acre_line {
    int kind; /* its line kind: the ledger's order (acre_line_kind_index) */
    /* borrowed from the close (plans, customers, affiliates), which outlives its lines */
    const char *plan;
    const char *customer_id;   /* or NULL */
    const char *descendant_id; /* sub_affiliate only */
    int depth;
    int scale;
    acre_round mode;
    acre_dec exact, amount; /* amount: exact rounded once, to scale */
    acre_buf detail;        /* a JSON object */
} acre_line;

/* The tables a close streams, in the order of their queries. */
enum { ACRE_REC_TRANSACTION, ACRE_REC_GAMING, ACRE_REC_TRADING, ACRE_REC_BONUS };

/* One streamed record version as a value hook sees it (acre_rule_kind.value,
 * include/acre/sys/rule.h): its table, date, customer, and the columns a valuation reads, as
 * stored (NULL when the column is NULL, and for the columns of other tables). The strings are
 * borrowed from the streaming: valid during the call only. The amounts (amount, amount_usd,
 * total_bets, total_wins, ggr, ngr, btr) are not always text: on the close's reader threads an
 * amount held as hundredths comes as ACRE_CENTS_MARK and its 8 bytes (engine/number.h), which
 * may hold NUL bytes. Read an amount only with acre_number_stored, and only test it for NULL
 * otherwise; the other members are text. */
typedef struct acre_rec_view {
    int table;          /* ACRE_REC_* */
    char date[11];      /* YYYY-MM-DD: transaction_date, activity_date or event timestamp */
    const char *customer_id;
    int64_t signup_sec; /* the customer's signup as the judging close sees it */
    const char *currency; /* transaction, gaming and trading activity, bonus event */
    /* transaction */
    const char *type, *status, *amount, *amount_usd;
    /* gaming activity (and activity_date as written) */
    const char *activity_date, *game_type, *total_bets, *total_wins, *ggr, *ngr;
    /* bonus event: status (above) and bonus_turned_real */
    const char *btr;
} acre_rec_view;

/* A qualification event: a transaction of one of the plan's event types in a counted status,
 * or an activity row (at 23:59:59Z of its day). Only the events the customer's plan can use are
 * kept (acre_cust.evplan), so a close holds a few dozen bytes per deposit, not per record. */
typedef struct acre_qev {
    int64_t sec;
    int32_t nsec;
    int8_t activity;  /* 0 transaction, 1 activity row */
    int8_t has_usd;
    char currency[4];
    uint32_t txn_id;  /* offset of the transaction ID in acre_close.ids */
    long bets;
    acre_number amount; /* transaction: amount_currency; activity: total_bets */
    acre_number other;  /* transaction: amount_usd (when has_usd); activity: lots_traded */
} acre_qev;

/* One late contribution, for the ledger detail. */
typedef struct acre_late {
    int table;        /* its table (engine/close_int.h TB_*): the ledger lists them in table */
    char *rkey;       /* order, then in key order: the key's columns, each NUL-terminated */
    const char *kind; /* "gaming_activity", ... */
    char *key;
    char date[11];
    acre_dec ggr, ded, ngr, nr; /* the differences it contributes */
} acre_late;

typedef struct acre_cust {
    char *id;
    long long seq;    /* its newest version's (at the close's watermark) */
    long long first_seq; /* its oldest version's */
    int aff;          /* current affiliate (index into acre_close.affs) */
    int64_t signup_sec;
    int32_t signup_nsec;
    char signup_date[11];
    char country[3];
    char *kyc;
    unsigned flags;   /* flag bits active at the period's end */
    /* settled state from earlier closes */
    int settled, paid, clawed;
    char *paid_aff, *paid_label, *paid_amount, *paid_qat, *paid_period;
    long paid_clawback_days;
    int64_t paid_qsec;
    /* qualification */
    int need_events;
    const struct acre_plan *evplan; /* the plan whose events are kept (current, or the paid one) */
    acre_qev *ev;
    int nev, cap;
    /* revenue of this close, in the plan currency of its affiliate */
    int counts;       /* counts toward the basis at this close (5.3) */
    int has_rev, active;
    int unassigned;   /* has a record dated in the period while its affiliate has no plan */
    acre_acc ggr, ded, ngr, nr;
    acre_late *late;
    int nlate;
    /* results of this close */
    int qualifies;    /* qualified with every condition at this close */
    int outcome;      /* 1 paid, 2 over the cap, 3 qualified under a plan without cpa */
    char *paid_now;   /* the paid amount, rounded (outcome 1) */
    char qualified_at[31];
    int64_t qsec;
    int32_t qnsec;
    const char *ftd_id;
    acre_dec ftd_amount;
} acre_cust;

typedef struct acre_aff {
    char *id, *parent;
    int parent_idx;
    char currency[4];
    acre_dec min_payout;
    acre_plan *plan;      /* this period's, or NULL */
    int assign_from;      /* effective_from of the assignment giving it */
    /* records dated in the period of its customers while it has no plan (SPEC 10) */
    long unassigned_records;
    int unassigned_customers;
    int *custs;           /* customers whose current affiliate this is */
    int ncusts, ccap;
    int *children;        /* affiliates whose current parent this is, in id order */
    int nchildren, chcap;
    int *paid;            /* customers this affiliate was paid a CPA for (clawback candidates) */
    int npaid, pcap;
    /* each rule kind's state between closes, by its row in acre_rule_kinds[]
     * (acre_aff_state): carryover's deficit layers */
    void *state[ACRE_MAX_RULE_KINDS];
    acre_dec brought_forward;
    int had_balance;
    acre_line *lines;
    int nlines, lcap;
    /* this close */
    int qualified_count, active_customers;
    acre_dec earned, payable, carried_forward;
    int scale;
    acre_round mode;
} acre_aff;

typedef struct acre_fx {
    char currency[4];
    char date[11];
    acre_dec rate;
} acre_fx;

typedef struct acre_close {
    int period;             /* year*12 + month-1 */
    char period_text[8];
    char start[31], next_start[31]; /* UTC bounds of the period, stored form */
    char last_day[11];
    int first_closed;       /* first closed period, or `period` when none */
    int last_closed;        /* -1 when none */
    acre_aff *affs;
    int naffs;
    acre_strset aff_index;
    acre_cust *custs;
    int ncusts;
    acre_strset cust_index;
    acre_fx *fx;
    int nfx;
    acre_plan **plans;      /* every stored plan, by label through plan_index */
    int nplans;
    acre_strset plan_index;
    acre_buf ids;           /* transaction IDs of qualification events, NUL-terminated */
    acre_strset missing_set; /* "CUR/DATE" of each missing rate */
    pthread_mutex_t *lock;  /* guards missing_set while rule kinds run on two threads, or NULL */
    int oom;                /* an allocation failed while streaming */
} acre_close;

/* The state slot of rule kind k (a row of acre_rule_kinds[]) for affiliate a: NULL until the
 * kind sets it; the kind's state_free frees it with the close (include/acre/sys/rule.h
 * "State"). Returns NULL, not a slot, when k is not a row of acre_rule_kinds[]. */
static inline void **acre_aff_state(acre_aff *a, const acre_rule_kind *k)
{
    int slot = acre_rule_kind_slot(k);
    return slot < 0 ? NULL : &a->state[slot];
}

/* d = the exact value the store keeps as `text` (a deficit, a balance, a remembered amount:
 * decimals of any length and "p/q" included, SPEC 9 "Late data"); a value that does not parse
 * fails the close, naming where it is (fmt, ...: "close_layer.amount of affiliate A"), and
 * never becomes 0. Returns 0 or an error (err set). In engine/close_load.c. */
int acre_close_stored(acre_dec *d, const char *text, acre_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Accumulators. */
/* acre_close_period, seeing only record versions at or below `watermark` (a close's seq; below
 * 0: everything stored), as the close with that watermark saw them. For simulate. allow_gap:
 * PERIOD may leave months after the last closed one unclosed (else refused, SPEC 10). full:
 * read every record stored, not only what changed since the last close (audit --recompute's
 * independent reading; acre_close_opts.full_read). */
int acre_close_period_at(acre_store *s, const char *period, int store, long long watermark,
                         int allow_gap, int full, char **ledger, acre_error *err);

/* Add to an exact sum. Return 0, or -1 when its rational part could not be allocated (the sum
 * is then unchanged). */
int acre_acc_add_number(acre_acc *a, const acre_number *n) __attribute__((warn_unused_result));
int acre_acc_add_dec(acre_acc *a, const acre_dec *d) __attribute__((warn_unused_result));
void acre_acc_get(acre_dec *out, const acre_acc *a);
void acre_acc_free(acre_acc *a);

/* Converts n (in `currency`, dated `date`) into `to`, exactly (SPEC 5.1). usd is amount_usd or
 * NULL. A missing rate is remembered in c->missing and gives 0. */
void acre_close_convert(acre_close *c, acre_dec *out, const acre_number *n, const char *currency,
                        const acre_number *usd, const char *date, const char *to);
void acre_close_convert_dec(acre_close *c, acre_dec *out, const acre_dec *v, const char *currency,
                            const char *date, const char *to);

/* Appends a line to a (its detail empty); returns it, or NULL when out of memory. plan and
 * customer_id are borrowed: they must live as long as the close. */
acre_line *acre_close_line(acre_aff *a, int kind, const char *plan, const char *customer_id);
/* Sets a line's exact value and its amount rounded to (scale, mode). */
void acre_line_set(acre_line *l, const acre_dec *exact, int scale, acre_round mode);

/* JSON helpers for line detail: "key":"value" pairs, comma-separated as needed. */
void acre_detail_dec(acre_buf *b, const char *key, const acre_dec *v);
void acre_detail_str(acre_buf *b, const char *key, const char *s);
void acre_detail_raw(acre_buf *b, const char *key, const char *json);
/* As acre_detail_raw, with what json holds; b is marked out of memory if json is. */
void acre_detail_buf(acre_buf *b, const char *key, const acre_buf *json);
/* The sum in a, exactly, as acre_dec_format writes it. */
void acre_detail_acc(acre_buf *b, const char *key, const acre_acc *a);

/* Carryover (rules/carryover.c), whose state slot holds each affiliate's deficit layers:
 * expires the affiliate's layers that can no longer be used (SPEC 5.3), one carryover_expired
 * line for them. Revshare's run calls it before valuing. Returns 0, or an error code with err
 * set. */
int acre_carry_expire(acre_close *c, acre_aff *a, acre_error *err);
/* 1 when plan p carries deficits (revshare.negative_carryover.mode carry). */
int acre_carry_on(const acre_plan *p);
/* Carryover (rules/carryover.c): applies basis B to the affiliate's layers; sets *adjusted to A
 * and *carried_in to C; *carried_out to the deficit after. Returns 0, or ACRE_ENOMEM. */
int acre_carry_apply(acre_close *c, acre_aff *a, const acre_dec *basis, acre_dec *carried_in,
                      acre_dec *adjusted, acre_dec *carried_out);

/* Qualification (rules/qualification.c): computes the customer's qualified_at under plan p,
 * seeing events up to the period's end. Returns 1 when it has one (sets qat, ftd). */
int acre_qualify(acre_close *c, acre_cust *cu, const acre_plan *p, char qat[31], int64_t *qsec,
                 int32_t *qnsec, const char **ftd_id, acre_dec *ftd_amount);
/* 1 when the KYC, country and flag conditions of p hold for cu at the period's end. */
int acre_conditions(const acre_close *c, const acre_cust *cu, const acre_plan *p);

/* Looks a plan up by label (loaded at the start of the close). */
const acre_plan *acre_close_plan(acre_close *c, const char *label);

/* Formats a period index as "YYYY-MM". */
void acre_period_text(char out[8], int period);

#endif
