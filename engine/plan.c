/* engine/plan.c — parsing a plan document strictly (SPEC 4, 9 "Plans").
 *
 * The top level is read here; each rule kind parses its own section (rules/, through the table
 * in include/acre/sys/rule.h). Every error names the key path and the rule broken. */
#include "alloc.h"
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acre/sys/rule.h"
#include "iso.h"
#include "number.h"

const char *const acre_txn_type_names[TT_COUNT] = {
    "deposit", "withdrawal", "bonus", "adjustment", "other",
    "challenge_fee", "payout", "reset_fee", "refund"};

const char *const acre_flag_names[4] = {"fraud", "bonus_abuse", "multi_account", "self_excluded"};

int acre_txn_type(const char *name, size_t len)
{
    for (int i = 0; i < TT_COUNT; i++)
        if (strlen(acre_txn_type_names[i]) == len && memcmp(acre_txn_type_names[i], name, len) == 0)
            return i;
    return -1;
}

static int bad(acre_error *err, const char *key, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(acre_error *err, const char *key, const char *rule, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return acre_error_set(err, ACRE_EINVALID, key, rule, "%s: %s", key, msg);
}

int acre_plan_keys(const json_t *obj, const char *where, const char *const *allowed,
                   acre_error *err)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj))
        return bad(err, where, "type", "must be an object");
    json_object_foreach((json_t *)obj, k, v) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok) {
            char key[128];
            snprintf(key, sizeof key, "%s%s%s", where, *where ? "." : "", k);
            return bad(err, key, "unknown_key", "unknown key");
        }
    }
    return 0;
}

/* The exact text of a money value: a JSON number (as written) or a string in the JSON number
 * grammar, at most 15 significant digits. */
int acre_plan_money(acre_dec *d, const json_t *v, const acre_numtab *t, const char *key,
                    acre_error *err)
{
    const char *s;
    size_t n;
    acre_error e;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_number(v)) {
        const acre_numlit *lit = acre_numtab_find(t, v);
        if (!lit)
            return bad(err, key, "money", "number text not found");
        s = lit->text;
        n = lit->len;
    } else {
        return bad(err, key, "money", "must be a decimal string or number");
    }
    if (acre_dec_parse(d, s, n, &e))
        return bad(err, key, e.rule, "%s", e.message);
    return 0;
}

int acre_plan_rate(acre_dec *d, char **text, const json_t *v, const acre_numtab *t,
                   const char *key, acre_error *err)
{
    const char *s;
    size_t n;
    acre_error e;
    acre_dec hundred;
    (void)t;
    if (!json_is_string(v) || (n = json_string_length(v)) < 2 ||
        (s = json_string_value(v))[n - 1] != '%')
        return bad(err, key, "rate", "must be a string ending in %% (\"25%%\")");
    if (acre_dec_parse(d, s, n - 1, &e))
        return bad(err, key, e.rule, "%s", e.message);
    if (acre_dec_sgn(d) < 0)
        return bad(err, key, "rate", "must not be negative");
    acre_dec_init(&hundred);
    acre_dec_set_si(&hundred, 100);
    acre_dec_div(d, d, &hundred);
    acre_dec_clear(&hundred);
    if (text) {
        free(*text);
        if (!(*text = acre_strdup(s)))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    return 0;
}

int acre_plan_int(long *out, const json_t *v, long min, const char *key, acre_error *err)
{
    if (!json_is_integer(v))
        return bad(err, key, "integer", "must be a JSON integer");
    if (json_integer_value(v) < min || json_integer_value(v) > 1000000000)
        return bad(err, key, "range", "must be an integer from %ld", min);
    *out = (long)json_integer_value(v);
    return 0;
}

void acre_strlist_free(acre_strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int acre_strlist_has(const acre_strlist *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

int acre_plan_strlist(acre_strlist *l, const json_t *v, int (*check)(const char *, size_t),
                      const char *key, acre_error *err)
{
    size_t i;
    json_t *x;
    acre_strlist_free(l);
    if (!json_is_array(v))
        return bad(err, key, "type", "must be an array of strings");
    if (!(l->v = acre_calloc(json_array_size(v) + 1, sizeof *l->v)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    json_array_foreach((json_t *)v, i, x) {
        char k[128];
        snprintf(k, sizeof k, "%s[%zu]", key, i);
        if (!json_is_string(x) || json_string_length(x) == 0)
            return bad(err, k, "type", "must be a non-empty string");
        if (check && !check(json_string_value(x), json_string_length(x)))
            return bad(err, k, "code", "\"%s\" is not a valid code here", json_string_value(x));
        if (!(l->v[l->n] = acre_strdup(json_string_value(x))))
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        l->n++;
    }
    return 0;
}

int acre_plan_types(unsigned *bits, const json_t *v, int allow_btr, const char *key,
                    acre_error *err)
{
    size_t i;
    json_t *x;
    *bits = 0;
    if (!json_is_array(v))
        return bad(err, key, "type", "must be an array of transaction types");
    json_array_foreach((json_t *)v, i, x) {
        char k[128];
        int t;
        snprintf(k, sizeof k, "%s[%zu]", key, i);
        if (!json_is_string(x))
            return bad(err, k, "type", "must be a string");
        if (allow_btr && strcmp(json_string_value(x), "bonus_turned_real") == 0)
            t = TT_BTR;
        else if ((t = acre_txn_type(json_string_value(x), json_string_length(x))) < 0)
            return bad(err, k, "transaction_type",
                       "\"%s\" is not a transaction type of either vertical%s",
                       json_string_value(x), allow_btr ? " (nor bonus_turned_real)" : "");
        *bits |= 1u << t;
    }
    return 0;
}

/* {"metric", "mode", "bands": [{"from", "amount"|"rate"}]}; CPA tiers count customers. */
int acre_plan_tiers(acre_tiers *tr, const json_t *v, const acre_numtab *t, int cpa,
                    const char *key, acre_error *err)
{
    static const char *const cpa_keys[] = {"mode", "bands", NULL};
    static const char *const rs_keys[] = {"metric", "mode", "bands", NULL};
    static const char *const cpa_band[] = {"from", "amount", NULL};
    static const char *const rs_band[] = {"from", "rate", NULL};
    char k[160];
    json_t *m, *bands, *b;
    size_t i;
    int rc;

    if ((rc = acre_plan_keys(v, key, cpa ? cpa_keys : rs_keys, err)))
        return rc;
    tr->present = 1;
    tr->metric = METRIC_NET_REVENUE;
    tr->mode = TIERS_FLAT;
    if ((m = json_object_get(v, "metric"))) {
        const char *s = json_is_string(m) ? json_string_value(m) : "";
        snprintf(k, sizeof k, "%s.metric", key);
        if (strcmp(s, "net_revenue") == 0)
            tr->metric = METRIC_NET_REVENUE;
        else if (strcmp(s, "qualified_count") == 0)
            tr->metric = METRIC_QUALIFIED;
        else if (strcmp(s, "active_customers") == 0)
            tr->metric = METRIC_ACTIVE;
        else
            return bad(err, k, "enum",
                       "must be one of net_revenue, qualified_count, active_customers");
    }
    if ((m = json_object_get(v, "mode"))) {
        const char *s = json_is_string(m) ? json_string_value(m) : "";
        snprintf(k, sizeof k, "%s.mode", key);
        if (strcmp(s, "flat") == 0)
            tr->mode = TIERS_FLAT;
        else if (strcmp(s, "progressive") == 0)
            tr->mode = TIERS_PROGRESSIVE;
        else
            return bad(err, k, "enum", "must be flat or progressive");
        if (!cpa && tr->mode == TIERS_PROGRESSIVE && tr->metric != METRIC_NET_REVENUE)
            return bad(err, k, "progressive_metric",
                       "progressive bands are only valid with metric net_revenue");
    }
    snprintf(k, sizeof k, "%s.bands", key);
    bands = json_object_get(v, "bands");
    if (!json_is_array(bands) || json_array_size(bands) == 0)
        return bad(err, k, "required", "must be a non-empty array of bands");
    if (json_array_size(bands) > ACRE_MAX_BANDS)
        return bad(err, k, "too_many", "at most %d bands", ACRE_MAX_BANDS);
    json_array_foreach(bands, i, b) {
        acre_band *band = &tr->bands[i];
        json_t *from, *val;
        acre_dec_init(&band->from);
        acre_dec_init(&band->value);
        band->text = NULL;
        tr->n = (int)i + 1;
        snprintf(k, sizeof k, "%s.bands[%zu]", key, i);
        if ((rc = acre_plan_keys(b, k, cpa ? cpa_band : rs_band, err)))
            return rc;
        from = json_object_get(b, "from");
        val = json_object_get(b, cpa ? "amount" : "rate");
        snprintf(k, sizeof k, "%s.bands[%zu].from", key, i);
        if (!from)
            return bad(err, k, "required", "is required");
        if (cpa) {
            long f = 0;
            if ((rc = acre_plan_int(&f, from, 1, k, err)))
                return rc;
            acre_dec_set_si(&band->from, f);
        } else if ((rc = acre_plan_money(&band->from, from, t, k, err))) {
            return rc;
        }
        if (i == 0 && acre_dec_sgn(&band->from) != (cpa ? 1 : 0))
            return bad(err, k, "first_band", "the first band's from must be %s", cpa ? "1" : "0");
        if (cpa && i == 0 && mpz_cmp_ui(mpq_numref(band->from.q), 1) != 0)
            return bad(err, k, "first_band", "the first band's from must be 1");
        if (i > 0 && acre_dec_cmp(&band->from, &tr->bands[i - 1].from) <= 0)
            return bad(err, k, "increasing", "from values must strictly increase");
        snprintf(k, sizeof k, "%s.bands[%zu].%s", key, i, cpa ? "amount" : "rate");
        if (!val)
            return bad(err, k, "required", "is required");
        rc = cpa ? acre_plan_money(&band->value, val, t, k, err)
                 : acre_plan_rate(&band->value, &band->text, val, t, k, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_status(const char *s, size_t n)
{
    (void)s;
    return n > 0;
}

void acre_plan_tiers_free(acre_tiers *t)
{
    for (int i = 0; i < t->n; i++) {
        acre_dec_clear(&t->bands[i].from);
        acre_dec_clear(&t->bands[i].value);
        free(t->bands[i].text);
    }
    t->n = 0;
}

/* The defaults of SPEC 4 for the fields here; each kind sets its config's own. */
static void plan_init(acre_plan *p)
{
    memset(p, 0, sizeof *p);
    acre_dec_init(&p->q.min_wagered);
    acre_dec_init(&p->q.min_lots);
    p->scale = 2;
    p->mode = ACRE_ROUND_HALF_EVEN;
    p->q.event_types = 1u << TT_DEPOSIT;
    p->q.exclude_flags = 1u; /* fraud */
}

void acre_plan_free(acre_plan *p)
{
    if (!p)
        return;
    free(p->plan_id);
    free(p->name);
    acre_strlist_free(&p->counted_statuses);
    acre_dec_clear(&p->q.min_wagered);
    acre_dec_clear(&p->q.min_lots);
    for (int i = 0; acre_rule_kinds[i]; i++)
        if (p->config[i] && acre_rule_kinds[i]->free)
            acre_rule_kinds[i]->free(p->config[i]);
    free(p);
}

void *acre_plan_config(const acre_plan *p, const acre_rule_kind *k)
{
    int i = acre_rule_kind_slot(k);
    return i < 0 ? NULL : p->config[i];
}

int acre_plan_parse(acre_plan **out, const json_t *obj, const acre_numtab *t, acre_error *err)
{
    static const char *const own[] = {"plan_id",  "version",  "name",
                                      "currency", "rounding", "counted_statuses"};
    static const char *const rounding_keys[] = {"scale", "mode", NULL};
    /* the top level: these, and the section of each rule kind that has one */
    const char *keys[sizeof own / sizeof own[0] + ACRE_MAX_RULE_KINDS + 1];
    size_t nkeys = 0;
    acre_plan *p;
    json_t *v;
    int rc;

    *out = NULL;
    if ((rc = acre_rule_kinds_ready(err)))
        return rc;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        keys[nkeys++] = own[i];
    for (int i = 0; acre_rule_kinds[i]; i++)
        if (acre_rule_kinds[i]->section)
            keys[nkeys++] = acre_rule_kinds[i]->section;
    keys[nkeys] = NULL;
    if (!(p = acre_calloc(1, sizeof *p)))
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    plan_init(p);
    if ((rc = acre_plan_keys(obj, "", keys, err)))
        goto fail;
    v = json_object_get(obj, "plan_id");
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200) {
        rc = bad(err, "plan_id", "required", "must be a non-empty string (at most 200 characters)");
        goto fail;
    }
    if (!(p->plan_id = acre_strdup(json_string_value(v)))) {
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        goto fail;
    }
    if (!(v = json_object_get(obj, "version"))) {
        rc = bad(err, "version", "required", "is required");
        goto fail;
    }
    if ((rc = acre_plan_int(&p->version, v, 1, "version", err)))
        goto fail;
    snprintf(p->label, sizeof p->label, "%s@%ld", p->plan_id, p->version);
    if ((v = json_object_get(obj, "name"))) {
        if (!json_is_string(v)) {
            rc = bad(err, "name", "type", "must be a string");
            goto fail;
        }
        if (!(p->name = acre_strdup(json_string_value(v)))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            goto fail;
        }
    }
    v = json_object_get(obj, "currency");
    if (!json_is_string(v) || !acre_iso_currency(json_string_value(v))) {
        rc = bad(err, "currency", v ? "currency" : "required",
                 v ? "must be an ISO 4217 currency code" : "is required");
        goto fail;
    }
    memcpy(p->currency, json_string_value(v), 4);
    if ((v = json_object_get(obj, "rounding"))) {
        json_t *x;
        if ((rc = acre_plan_keys(v, "rounding", rounding_keys, err)))
            goto fail;
        if ((x = json_object_get(v, "scale"))) {
            long s;
            if ((rc = acre_plan_int(&s, x, 0, "rounding.scale", err)))
                goto fail;
            if (s > 18) {
                rc = bad(err, "rounding.scale", "range", "must be from 0 to 18");
                goto fail;
            }
            p->scale = (int)s;
        }
        if ((x = json_object_get(v, "mode")) &&
            (!json_is_string(x) || acre_round_parse(&p->mode, json_string_value(x)))) {
            rc = bad(err, "rounding.mode", "enum", "must be half_even, half_up or down");
            goto fail;
        }
    }
    if ((v = json_object_get(obj, "counted_statuses"))) {
        if ((rc = acre_plan_strlist(&p->counted_statuses, v, check_status, "counted_statuses",
                                    err)))
            goto fail;
    } else {
        if (!(p->counted_statuses.v = acre_calloc(1, sizeof(char *))) ||
            !(p->counted_statuses.v[0] = acre_strdup("approved"))) {
            rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
            goto fail;
        }
        p->counted_statuses.n = 1;
    }
    /* SPEC 4: whatever else it has, a plan pays a CPA, a revenue share or both */
    if (!json_object_get(obj, "cpa") && !json_object_get(obj, "revshare")) {
        rc = bad(err, "cpa", "required", "a plan needs cpa, revshare or both");
        goto fail;
    }
    for (int i = 0; acre_rule_kinds[i]; i++)
        if (acre_rule_kinds[i]->parse &&
            (rc = acre_rule_kinds[i]->parse(&p->config[i], p, obj, t, err)))
            goto fail;
    /* at most one kind has a value hook (acre_rule_table_check) */
    for (int i = 0; acre_rule_kinds[i]; i++)
        if (acre_rule_kinds[i]->value && p->config[i]) {
            p->valuer = acre_rule_kinds[i];
            p->valuer_config = p->config[i];
        }
    *out = p;
    return 0;
fail:
    acre_plan_free(p);
    return rc;
}
