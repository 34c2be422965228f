/* engine/plan.h — a parsed plan (internal). SPEC 4 is the language; docs/plans.md the reference.
 *
 * A plan is parsed once into this struct. The top level is plan.c's; every rule kind (rules/)
 * parses its own section into a private config kept in the plan's slot for it
 * (acre_plan_config), and fills here only what the close reads itself (engine/close*.c: the
 * qualification events it keeps, whose revenue counts, who is active); what a record is worth
 * is the valuer's (acre_plan.valuer). Money and rates are exact (acre_dec); a rate "25%"
 * is held as 1/4. */
#ifndef ACRE_ENGINE_PLAN_H
#define ACRE_ENGINE_PLAN_H

#include <jansson.h>

#include "acre/decimal.h"
#include "acre/error.h"
#include "acre/sys/rule.h"
#include "jsonval.h"

/* Transaction types of both verticals, as bits; BTR is deduct's bonus_turned_real. */
enum {
    TT_DEPOSIT, TT_WITHDRAWAL, TT_BONUS, TT_ADJUSTMENT, TT_OTHER, TT_CHALLENGE_FEE, TT_PAYOUT,
    TT_RESET_FEE, TT_REFUND, TT_COUNT, TT_BTR = TT_COUNT
};
extern const char *const acre_txn_type_names[TT_COUNT];
/* The bit of a type name, or -1. */
int acre_txn_type(const char *name, size_t len);

#define ACRE_MAX_BANDS 32

enum { METRIC_NET_REVENUE, METRIC_QUALIFIED, METRIC_ACTIVE };
enum { TIERS_FLAT, TIERS_PROGRESSIVE };
enum { BASIS_NGR, BASIS_NET_REVENUE };

typedef struct acre_band {
    acre_dec from;   /* CPA: customers count; revshare: metric value */
    acre_dec value;  /* CPA: amount; revshare: rate */
    char *text;      /* the rate as written ("25%"), for the ledger */
} acre_band;

typedef struct acre_tiers {
    int present, metric, mode, n;
    acre_band bands[ACRE_MAX_BANDS];
} acre_tiers;

typedef struct acre_strlist {
    char **v;
    int n;
} acre_strlist;

typedef struct acre_plan {
    char *plan_id;
    long version;
    char label[300]; /* plan_id@version */
    char currency[4];
    char *name;
    int scale;
    acre_round mode;
    acre_strlist counted_statuses;

    /* What the close reads directly; each kind's other fields are in its config. */

    /* qualification (rules/qualification.c): the events the close keeps for it, and whose
     * revenue counts */
    struct {
        unsigned event_types;
        acre_dec min_wagered, min_lots; /* above 0: activity is a qualification event */
        long min_bets;
        unsigned exclude_flags; /* bits of acre_flag_names */
    } q;
    int needs_ftd_amount; /* a kind reads acre_cust.ftd_amount (cpa's percent_of_first), so
                           * qualification converts the FTD even without min_first_amount */

    /* rules/cpa.c: a paid customer's CPA may be clawed back for this many days after it
     * qualified (stored with each settled customer: the close keeps its events that long);
     * 0 when never, or the plan has no cpa */
    long clawback_days;
    /* rules/revshare.c: 0, or revenue counts for this many months from signup. The close reads
     * it too: only activity inside the window makes a customer active (the tiers' metric
     * active_customers) */
    long customer_months;

    /* The kind that values this plan's records (acre_rule_kind.value), and its config: set by
     * acre_plan_parse when a kind with a value hook set a config for the plan, else NULL. The
     * close calls it for each record version it values (engine/close_value.c), and a plan with
     * a valuer pays on a revenue basis: its customers count toward it (SPEC 5.3; the ones who
     * do not are stored as excluded). */
    const acre_rule_kind *valuer;
    const void *valuer_config;

    /* each rule kind's private config, by its row in acre_rule_kinds[] (acre_plan_config) */
    void *config[ACRE_MAX_RULE_KINDS];
} acre_plan;

/* Flag names, in the bit order of exclude_flags. */
extern const char *const acre_flag_names[4];

/* Parses one plan object. On success *out is new (acre_plan_free). The error names the key
 * ("cpa.tiers.bands[1].from") and the rule. */
int acre_plan_parse(acre_plan **out, const json_t *obj, const acre_numtab *t, acre_error *err);
void acre_plan_free(acre_plan *p);

/* Helpers for the rule parsers (engine/plan.c). Each returns 0 or ACRE_EINVALID with err set
 * naming `key`. */
int acre_plan_keys(const json_t *obj, const char *where, const char *const *allowed,
                   acre_error *err);
int acre_plan_money(acre_dec *d, const json_t *v, const acre_numtab *t, const char *key,
                    acre_error *err);
int acre_plan_rate(acre_dec *d, char **text, const json_t *v, const acre_numtab *t,
                   const char *key, acre_error *err);
int acre_plan_int(long *out, const json_t *v, long min, const char *key, acre_error *err);
int acre_plan_strlist(acre_strlist *l, const json_t *v, int (*check)(const char *, size_t),
                      const char *key, acre_error *err);
int acre_plan_types(unsigned *bits, const json_t *v, int allow_btr, const char *key,
                    acre_error *err);
int acre_plan_tiers(acre_tiers *tr, const json_t *v, const acre_numtab *t, int cpa,
                    const char *key, acre_error *err);
/* Frees what acre_plan_tiers filled (also after a failure). */
void acre_plan_tiers_free(acre_tiers *t);
int acre_strlist_has(const acre_strlist *l, const char *s);
void acre_strlist_free(acre_strlist *l);

#endif
