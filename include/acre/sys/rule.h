/* acre/sys/rule.h — the interface a rule kind implements (for acre's own rules/; not part of
 * the umbrella header).
 *
 * A rule kind owns everything about itself: its section of a plan (parse, its private config,
 * free), what a streamed record is worth to it (value, for the kind that makes a revenue basis),
 * the lines it adds at a close (run), the state it keeps from one close to the next (load,
 * save, state_free) and the audit's replay of that state from the ledgers (audit_lines,
 * audit_rows, audit_free), and its line kinds: the name the ledger writes, the journal account,
 * and how `acre verify` re-derives one line from its detail. The core knows the kinds only
 * through the table acre_rule_kinds[] (rules/rules.c): adding a kind is a file in rules/ and a
 * row in the table. docs/ARCHITECTURE.md "The seams" says what an implementer writes.
 *
 * Order. Plans are parsed and the kinds run in table order. The ledger lists an affiliate's
 * lines by line kind in table order (each kind's `lines` in their order), then plan, customer,
 * descendant: the line kinds are numbered so, from 0 (acre_line_kind_index). A new kind's line
 * kinds therefore come after those of every kind before its row.
 *
 * Threads. A close runs phase 1 for every affiliate in affiliate_id order, all phase-1 kinds
 * for one affiliate (in table order) before the next, on two threads: each thread takes the
 * next affiliate, so the runs of two affiliates may overlap, never two runs for one affiliate.
 * A phase-1 run for affiliate a
 *   - may read what the close loaded before the rules: the period, the plans and their configs,
 *     the FX rates and IDs, every affiliate's identity, plan, parent, children, customer and
 *     paid lists, every customer's loaded data; and everything of a, including what earlier
 *     kinds wrote for a at this close (its lines, qualified_count, their state slots);
 *   - may write only a (its lines through acre_close_line, its own fields and its state slot,
 *     acre_aff_state) and the customers a decides: its own unsettled customers and the paid
 *     ones on a->paid that it may claw back (a customer is one or the other, so no two
 *     affiliates share one);
 *   - converts amounts with acre_close_convert*, which records a missing rate under the
 *     close's lock, allocates only through engine/alloc.h, and keeps no mutable static state;
 *   - must not read another affiliate's lines, results or state (they may be being written).
 * Phase 2 runs after every phase-1 run has returned, on one thread, for each affiliate in
 * order: it may read every affiliate's lines and results (sub_affiliate reads its
 * descendants') and writes only a's lines. parse and free run on the thread that parses the
 * plan; a config is read-only once parse returns (both threads read it). The verify hooks run
 * on the caller's thread and read only the document.
 *
 * Values. Before the rules run, the close streams the records (engine/close_read.h) and asks
 * the plan's kind with a value hook (acre_plan.valuer: the one row with `value` whose parse set
 * a config for the plan) what each record version is worth: for a record of the period of a
 * customer who counts, under its affiliate's plan, and for late data under the plan that
 * judges it (the old value under the plan of the record's own period, the new under this
 * period's; engine/close_late.c). The hook runs on the streaming thread, one record at a time,
 * with the records of different queries interleaved, so its result may depend only on the
 * record, the plan and its config, never on the order or on records seen before. It may read
 * the record view (borrowed for the call; its amounts only through acre_number_stored, since
 * they may come as binary hundredths: engine/close.h), the plan, its config and what the close loaded
 * before streaming (the period, the FX rates); it writes only its outputs *a and *b, converts
 * with acre_close_convert* (which records a missing rate under the close's lock), allocates only
 * through engine/alloc.h, and keeps no state of its own.
 *
 * State. What a kind carries from one close to the next (carryover: its deficit layers) is its
 * own: rows of tables it declares itself (`tables`: each a close's state table, its
 * close_period set, include/acre/sys/store.h) and reads and writes through engine/store_int.h's
 * query shapes (never SQL), held during a close in its slot of each affiliate (acre_aff_state:
 * NULL until the kind sets it). The core does the rest for those tables: every backend creates
 * them (engine/store_schema.c appends them to acre_store_tables()), simulate and audit
 * --recompute undo them with the closes, and the audit reports their rows of periods that are
 * not closed and, with --recompute, compares them row by row. `load` fills the slots from the
 * previous close's rows, on the close's thread, once the affiliates, the stored plans and the
 * customers are loaded and before the records are streamed; the runs then read and write the
 * slot of their affiliate (the contract above); `save` inserts this close's rows from them when
 * the close is stored (not for a preview), inside its write transaction, on the close's thread
 * while another thread writes the ledger document. save also runs when simulate and audit
 * --recompute close periods again: their transactions are rolled back, so what it inserts there
 * is never kept, but it must not do anything outside the store. `state_free` frees each slot
 * set, when the close ends however it ends; a kind that may set a slot (from load or from run)
 * must have one: the core frees nothing a kind set. `acre audit` replays the same state from
 * the closed ledgers alone, on the caller's thread: ledger by ledger in period order it hands
 * each kind every listed affiliate's lines (audit_lines), then lets it compare what it replayed
 * with its rows of that period (audit_rows), each problem reported through
 * engine/audit_util.h. */
#ifndef ACRE_SYS_RULE_H
#define ACRE_SYS_RULE_H

#include <stddef.h>

#include <jansson.h>

#include "acre/decimal.h"
#include "acre/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The interface's version: a row whose `version` differs is refused when the table is first
 * used (acre_rule_kinds_ready), so a kind written for another interface cannot run. */
#define ACRE_RULE_KIND_VERSION 3 /* 2: the value hook; 3: the state and audit hooks and state
                                  * tables (all members of 3 came in one release) */
#define ACRE_MAX_RULE_KINDS 16 /* rows of the table; a plan has one config slot per row */
#define ACRE_MAX_LINE_KINDS 32 /* line kinds of all rows together */
#define ACRE_MAX_RULE_TABLES 16 /* state tables of all rows together */

struct acre_plan;
struct acre_numtab;
struct acre_close;
struct acre_aff;
struct acre_vc; /* a verify run (engine/verify_util.h: what a verify hook may call) */
struct acre_rec_view; /* a streamed record version (engine/close.h) */
struct acre_acc;      /* an exact sum (engine/close.h) */
struct acre_store;    /* the store, through engine/store_int.h's query shapes */
struct acre_audit;    /* an audit run (engine/audit_util.h: what an audit hook may call) */
struct acre_table;    /* a table of the store (include/acre/sys/store.h) */

/* acre_line_kind.flags */
enum {
    ACRE_LINE_CUSTOMER = 1u,   /* its lines carry customer_id, and only such lines do */
    ACRE_LINE_DESCENDANT = 2u, /* its lines carry descendant_id and depth, only such lines do */
    ACRE_LINE_OWN = 4u,        /* the affiliate's own commission: the E of a parent's
                                * sub_affiliate share counts it (SPEC 5.4) */
    /* The close stores each customer's settlement itself (table settled, from the outcome the
     * rules leave: engine/close_state.c); these say which line kind documents which outcome, so
     * that the audit can check the rows against the ledgers (engine/audit_state.c). At most one
     * line kind of the table has each; a line kind has one at most, and only with
     * ACRE_LINE_CUSTOMER. */
    ACRE_LINE_SETTLES_PAID = 8u,      /* a row of outcome paid: this line of its period, its
                                       * affiliate, plan, amount and detail.qualified_at */
    ACRE_LINE_SETTLES_OVER_CAP = 16u, /* a row of outcome over_cap: this line of its period */
    ACRE_LINE_SETTLES_CLAWBACK = 32u  /* clawed_period set: this line, after the paid period */
};

/* One kind of ledger line. Every member is required but verify. */
typedef struct acre_line_kind {
    const char *name;      /* as the ledger writes it: "cpa_clawback" */
    const char *hledger;   /* the journal accounts it accrues to: expenses:affiliates:HLEDGER */
    const char *beancount; /* and Expenses:Affiliates:BEANCOUNT (a capital, then letters,
                            * digits and '-') */
    unsigned flags;        /* ACRE_LINE_* */
    /* Optional. Re-derives one line of this kind from the line alone, after the checks every
     * line gets (kind, plan, detail object, rounding, amount = exact rounded): `line` is the
     * line object, `detail` its detail, `currency` the affiliate's (or NULL), `exact` the
     * line's exact value. Reports each problem with acre_vc_bad; returns nothing. */
    void (*verify)(struct acre_vc *v, const json_t *line, const json_t *detail,
                   const char *currency, const acre_dec *exact);
} acre_line_kind;

/* A line handed to acre_rule_kind.verify_lines and audit_lines. */
typedef struct acre_vline {
    const json_t *line;
    int kind;   /* its line kind (acre_line_kind_index) */
    int number; /* its position among the affiliate's lines, from 1 */
} acre_vline;

typedef struct acre_rule_kind {
    unsigned version; /* ACRE_RULE_KIND_VERSION */
    const char *name; /* required */
    int phase;        /* 1 or 2 */
    /* The top-level plan key this kind reads ("cpa"), or NULL when it reads none of its own
     * (carryover reads revshare.negative_carryover): the plan parser allows these keys. */
    const char *section;
    const acre_line_kind *lines; /* its line kinds, in ledger order; NULL when nlines is 0 */
    int nlines;
    /* Optional. Reads this kind's part of the plan document `doc`. It may set *config to a
     * config of its own (acre_plan_config gives it back; acre_plan_free frees it with `free`),
     * and fills the fields of p that the close reads directly (engine/plan.h says which).
     * Returns 0, or ACRE_EINVALID with err naming the key ("volume_bonus.bands[1].from") and
     * the rule, or ACRE_ENOMEM. After a failure *config may be set and half filled. */
    int (*parse)(void **config, struct acre_plan *p, const json_t *doc, const struct acre_numtab *t,
                 acre_error *err);
    /* Required when parse sets a config, else NULL. Frees a config (also a half-filled one). */
    void (*free)(void *config);
    /* Required. Adds this kind's lines for affiliate a at a close (the contract above).
     * Returns 0 or an error code with err set. */
    int (*run)(struct acre_close *c, struct acre_aff *a, acre_error *err);
    /* Optional, and at most one row of the table has it (the customer's two sums are one
     * pair). What one streamed record version adds to its customer's revenue under plan p,
     * whose parse set `config` for this kind (the contract "Values" above): adds to *a (GGR or a
     * deduction) and *b (reported NGR or net revenue), in p's currency. Returns 0, ACRE_ENOMEM
     * when an add failed (the close then fails when it is stored; what was added stays), or
     * another error code with err set (the close stops with it: revshare refuses a missing
     * reported NGR with ACRE_EREFUSED). */
    int (*value)(struct acre_close *c, const void *config, const struct acre_plan *p,
                 const struct acre_rec_view *r, struct acre_acc *a, struct acre_acc *b,
                 acre_error *err);
    /* Optional. Checks across one affiliate's lines of this kind's line kinds, after each line's
     * own checks: `lines` holds those that passed the common checks, in document order (the
     * hook may reorder them). Reports with acre_vc_bad, after acre_vc_where. */
    void (*verify_lines)(struct acre_vc *v, const char *affiliate_id, acre_vline *lines, size_t n);

    /* State between closes (the contract "State" above). */
    /* Optional. Reads the rows this kind stored at the previous close, period `last`
     * (c->last_closed; -1 when nothing is closed, and then there is nothing to read), into its
     * slots of the affiliates it names (acre_aff_state; an affiliate the close did not load is
     * skipped). `watermark` is this close's, the last record version it sees (state rows are
     * not versioned; a kind that also reads records needs it). Called once per close, a preview
     * too, after acre_close_load and before each affiliate is given its plan for the period
     * (a->plan is not set yet). It may read the store, the period, the stored plans, every
     * affiliate's identity and every customer's loaded data; it writes only its slots. Returns
     * 0, or an error code with err set: ACRE_ENOMEM, a store failure, or a stored value that
     * does not parse (acre_close_stored, engine/close.h), which fails the close. */
    int (*load)(struct acre_close *c, struct acre_store *s, int last, long long watermark,
                acre_error *err);
    /* Optional. Inserts this kind's rows of this close (period c->period) from its slots, after
     * the rules and the totals, for a close that is stored. It may read its slots and what the
     * close loaded, never the lines (the ledger's writer frees their detail meanwhile). Returns
     * 0 or an error code with err set (the close then rolls back: nothing of it is stored). */
    int (*save)(struct acre_close *c, struct acre_store *s, acre_error *err);
    /* Required when the kind may set a slot, from any hook (the table check requires it with
     * load or save; without it the core frees nothing). Frees one affiliate's slot, which is
     * not NULL. */
    void (*state_free)(void *state);
    /* The tables load and save read and write, `ntables` of them (NULL when 0): each a close's
     * state table (close_period naming an integer month column; include/acre/sys/store.h), its
     * name unique in the store. Borrowed for the life of the program. A table added here is
     * created in an existing store the next time it is opened. */
    const struct acre_table *tables;
    int ntables;

    /* The audit's replay of this kind's state from the ledgers (the contract "State" above).
     * *state is the kind's own for the whole audit: NULL at first (the hook allocates it) and
     * given to audit_free at the end. `period` is the ledger's period as the close row writes it
     * (for the reports), p its number (year*12 + month-1). */
    /* Optional. One listed affiliate of the ledger of p: `lines` its lines in document order
     * (each line's kind: acre_line_kind_find of its "kind", -1 when unknown; a line whose
     * numbers do not read is still there: verify names it). `aff` numbers the affiliate in this
     * audit, from 0 in the order the ledgers first list them (acre_audit_affiliate finds one by
     * ID). Reports with acre_audit_bad; a failed allocation is marked with acre_audit_ran_out. */
    void (*audit_lines)(struct acre_audit *au, void **state, const char *period, int p, int aff,
                        const char *affiliate_id, const acre_vline *lines, size_t n);
    /* Optional. After every listed affiliate of the ledger of p and the audit's own check of
     * that period's close_affiliate rows: compares what was replayed so far with the kind's
     * rows of period p in store s. Returns 0, or an error code with err set (a store failure:
     * the audit stops). */
    int (*audit_rows)(struct acre_audit *au, void **state, struct acre_store *s, const char *period,
                      int p, acre_error *err);
    /* Required when audit_lines or audit_rows is set. Frees the state they made (not NULL). */
    void (*audit_free)(void *state);
} acre_rule_kind;

/* Every kind, in table order; NULL-terminated. */
extern const acre_rule_kind *const acre_rule_kinds[];

/* Checks a NULL-terminated table of kinds: each row's version, name, phase, run, the free
 * hooks its other hooks need, line kinds (name and accounts set, names unique across the
 * table, the ACRE_LINE_SETTLES_* flags as their comment says), state tables (a name, columns, a
 * key and an integer close_period column) and the limits above. Returns 0,
 * or ACRE_ERROR with err naming the row. */
int acre_rule_table_check(const acre_rule_kind *const *kinds, acre_error *err);
/* Checks acre_rule_kinds[] with acre_rule_table_check the first time it is called (any thread)
 * and gives the same answer after. Plan parsing, verify and the journal call it before they
 * read the table. Returns 0 or ACRE_ERROR with err set (err may be NULL). */
int acre_rule_kinds_ready(acre_error *err);

/* The row of k in acre_rule_kinds[] (its config slot in a plan), or -1. */
int acre_rule_kind_slot(const acre_rule_kind *k);
/* The config k's parse set for plan p, or NULL when it set none. Borrowed: it lives as long as
 * p. */
void *acre_plan_config(const struct acre_plan *p, const acre_rule_kind *k);

/* The number of kind k's line kind j in ledger order, or -1 when k is not in the table or j is
 * not one of its line kinds. */
int acre_line_kind_index(const acre_rule_kind *k, int j);
/* How many line kinds the table has. */
int acre_line_kind_count(void);
/* Line kind number i (borrowed from the table), or NULL. */
const acre_line_kind *acre_line_kind_at(int i);
/* The number of the line kind the ledger calls `name`, or -1. */
int acre_line_kind_find(const char *name);

#ifdef __cplusplus
}
#endif

#endif
