/* engine/validate.c — the record kinds of SPEC 3 and their field rules. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "datetime.h"
#include "iso.h"
#include "kind_rules.h"
#include "jsonval.h"
#include "number.h"
#include "record.h"

#define MAX_CHARS 500

static const char *const igaming_txn_types[] = {"deposit", "withdrawal", "bonus", "adjustment",
                                                "other", NULL};
static const char *const prop_txn_types[] = {"challenge_fee", "payout", "reset_fee", "refund",
                                             "adjustment", "other", NULL};
static const char *const products[] = {"Casino", "Sportsbook", "Lotto", "Poker", NULL};
static const char *const bonus_statuses[] = {"Pending", "Created", "Ongoing", "Completed",
                                             "AutoCompleted", "Forfeited", "Expired", "Lost",
                                             "Reversed", NULL};
static const char *const bonus_types[] = {"NoDeposit", "WelcomeBonus", "CashbackBonus",
                                          "ReloadBonus", "WagerFree", "FreeSpins", "RiskFreeBet",
                                          "Undefined", NULL};
static const char *const flag_names[] = {"fraud", "bonus_abuse", "multi_account",
                                         "self_excluded", NULL};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const acre_field affiliate_cols[] = {
    {"affiliate_id", T_ID, F_REQ, NULL, NULL},    {"name", T_STR, 0, NULL, NULL},
    {"parent_affiliate_id", T_ID, 0, NULL, NULL}, {"currency", T_CURRENCY, 0, NULL, "USD"},
    {"min_payout", T_MONEY_NN, 0, NULL, "0"},     {"postback_url", T_URL, 0, NULL, NULL},
};

static const acre_field assignment_cols[] = {
    {"affiliate_id", T_ID, F_REQ, NULL, NULL},
    {"plan_id", T_ID, F_REQ, NULL, NULL},
    {"effective_from", T_MONTH, F_REQ, NULL, NULL},
    {"plan_version", T_VERSION, 0, NULL, NULL},
    {"effective_to", T_MONTH, 0, NULL, NULL},
};

/* igaming and prop-trading customers share one table and key space. */
#define CUSTOMER_COLS(TRACKING, PROP)                                                              \
    {"customer_id", T_ID, F_REQ, NULL, NULL}, {"vertical", T_VERTICAL, 0, NULL, NULL},             \
        {"signup_date", T_DATETIME, F_REQ, NULL, NULL},                                            \
        {"affiliate_id", T_ID, F_REQ, NULL, NULL},                                                 \
        {"tracking_data", T_OBJ_OR_STR, TRACKING, NULL, NULL},                                     \
        {"last_modified_date", T_DATETIME, 0, NULL, NULL},                                         \
        {"campaign_id", T_STR, 0, NULL, NULL}, {"click_id", T_STR, 0, NULL, NULL},                 \
        {"lang_id", T_LANG, 0, NULL, NULL}, {"country_code", T_COUNTRY, 0, NULL, NULL},            \
        {"kyc_status_id", T_STR, 0, NULL, NULL}, {"sales_status_id", T_STR, 0, NULL, NULL},        \
        {"first_name", T_STR, 0, NULL, NULL}, {"last_name", T_STR, 0, NULL, NULL},                 \
        {"email", T_STR, 0, NULL, NULL}, {"challenge_type", T_STR, PROP, NULL, NULL},              \
        {"phase", T_STR, PROP, NULL, NULL}, {"account_size", T_MONEY_NN, PROP, NULL, NULL}

static const acre_field igaming_customer_cols[] = {CUSTOMER_COLS(F_REQ, F_NOT)};
static const acre_field prop_customer_cols[] = {CUSTOMER_COLS(0, 0)};

#define TXN_COLS(TYPES)                                                                            \
    {"transaction_id", T_ID, F_REQ, NULL, NULL}, {"vertical", T_VERTICAL, 0, NULL, NULL},          \
        {"customer_id", T_ID, F_REQ, NULL, NULL},                                                  \
        {"transaction_type", T_ENUM, F_REQ, TYPES, NULL},                                          \
        {"amount_currency", T_MONEY, F_REQ, NULL, NULL},                                           \
        {"currency", T_CURRENCY, F_REQ, NULL, NULL},                                               \
        {"transaction_date", T_DATETIME, F_REQ, NULL, NULL}, {"status", T_STR, F_REQ, NULL, NULL}, \
        {"amount_usd", T_MONEY, 0, NULL, NULL}, {"transaction_subtype", T_STR, 0, NULL, NULL},     \
        {"note", T_STR, 0, NULL, NULL}

static const acre_field igaming_txn_cols[] = {TXN_COLS(igaming_txn_types)};
static const acre_field prop_txn_cols[] = {TXN_COLS(prop_txn_types)};

static const acre_field gaming_cols[] = {
    {"date", T_DATE, F_REQ, NULL, NULL},
    {"customer_id", T_ID, F_REQ, NULL, NULL},
    {"game_type", T_ID, F_REQ, NULL, NULL},
    {"currency", T_CURRENCY, F_REQ, NULL, NULL},
    {"bets_count", T_INT_NN, 0, NULL, NULL},
    {"total_bets", T_MONEY_NN, 0, NULL, NULL},
    {"wins", T_MONEY_NN, 0, NULL, NULL},
    {"ggr", T_MONEY, 0, NULL, NULL},
    {"ngr", T_MONEY, 0, NULL, NULL},
};

static const acre_field trading_cols[] = {
    {"date", T_DATE, F_REQ, NULL, NULL},
    {"customer_id", T_ID, F_REQ, NULL, NULL},
    {"instrument", T_ID, F_REQ, NULL, NULL},
    {"currency", T_CURRENCY, F_REQ, NULL, NULL},
    {"lots_traded", T_MONEY_NN, F_REQ, NULL, NULL},
    {"pnl", T_MONEY, F_REQ, NULL, NULL},
    {"drawdown", T_MONEY_NN, 0, NULL, NULL},
    {"max_drawdown", T_MONEY_NN, 0, NULL, NULL},
};

static const acre_field bonus_cols[] = {
    {"user_bonus_id", T_ID, F_REQ, NULL, NULL},
    {"status", T_ENUM, F_REQ, bonus_statuses, NULL},
    {"amount", T_MONEY, F_REQ, NULL, NULL},
    {"bonus_id", T_ID, F_REQ, NULL, NULL},
    {"currency", T_CURRENCY, F_REQ, NULL, NULL},
    {"exchange_rate", T_MONEY, F_REQ, NULL, NULL},
    {"origin", T_STR, F_REQ, NULL, NULL},
    {"product", T_ENUM, F_REQ, products, NULL},
    {"timestamp", T_DATETIME, F_REQ, NULL, NULL},
    {"type", T_ENUM, F_REQ, bonus_types, NULL},
    {"user_id", T_ID, F_REQ, NULL, NULL},
    {"bonus_code", T_STR, 0, NULL, NULL},
    {"bonus_turned_real", T_MONEY, 0, NULL, NULL},
    {"locked_amount", T_MONEY, 0, NULL, NULL},
    {"meta", T_OBJ, 0, NULL, NULL},
    {"required_wagering_amount", T_MONEY, 0, NULL, NULL},
    {"fasttrack_references", T_OBJ, 0, NULL, NULL},
};

static const acre_field flag_cols[] = {
    {"customer_id", T_ID, F_REQ, NULL, NULL},
    {"flag", T_ENUM, F_REQ, flag_names, NULL},
    {"flagged_at", T_DATETIME, F_REQ, NULL, NULL},
    {"cleared_at", T_DATETIME, 0, NULL, NULL},
};

static const acre_field fx_cols[] = {
    {"date", T_DATE, F_REQ, NULL, NULL},
    {"currency", T_CURRENCY, F_REQ, NULL, NULL},
    {"usd_rate", T_MONEY_POS, F_REQ, NULL, NULL},
};

/* The kinds other kinds refer to (defined below). */
static const acre_kind k_affiliates, k_ig_customers;

static const acre_kind_ref refs_affiliate[] = {{"affiliate_id", &k_affiliates}};
static const acre_kind_ref refs_customer[] = {{"customer_id", &k_ig_customers}};
static const acre_kind_ref refs_user[] = {{"user_id", &k_ig_customers}};

/* A kind: its name, table, vertical, columns and key; its references; its hooks, which are in
 * engine/kind_rules.c (fields, check, supersedes, across: see engine/record.h). */
#define KIND(var, name, table, vert, cols, nkey, refs, fields, check, supersedes, across)          \
    static const acre_kind var = {name, table, vert,   cols,  N(cols),    nkey,                   \
                                  refs, N(refs), fields, check, supersedes, across}
#define KIND_NOREFS(var, name, table, vert, cols, nkey, fields, check, supersedes, across)         \
    static const acre_kind var = {name, table, vert,   cols,  N(cols),    nkey,                   \
                                  NULL, 0,     fields, check, supersedes, across}

KIND_NOREFS(k_affiliates, "affiliates", "affiliate", NULL, affiliate_cols, 1, NULL, NULL, NULL,
            acre_affiliate_parents);
KIND(k_assignments, "assignments", "assignment", NULL, assignment_cols, 3, refs_affiliate,
     acre_assignment_dates, acre_assignment_overlap, NULL, NULL);
KIND(k_ig_customers, "igaming/customers", "customer", "igaming", igaming_customer_cols, 1,
     refs_affiliate, NULL, NULL, acre_customer_supersedes, NULL);
KIND(k_pt_customers, "prop-trading/customers", "customer", "prop-trading", prop_customer_cols, 1,
     refs_affiliate, NULL, NULL, acre_customer_supersedes, NULL);
KIND(k_ig_txns, "igaming/transactions", "txn", "igaming", igaming_txn_cols, 1, refs_customer, NULL,
     NULL, NULL, NULL);
KIND(k_pt_txns, "prop-trading/transactions", "txn", "prop-trading", prop_txn_cols, 1,
     refs_customer, NULL, NULL, NULL, NULL);
KIND(k_gaming, "igaming/gaming-activity", "gaming_activity", NULL, gaming_cols, 4, refs_customer,
     acre_gaming_ggr, NULL, NULL, NULL);
KIND(k_trading, "prop-trading/trading-activity", "trading_activity", NULL, trading_cols, 4,
     refs_customer, NULL, NULL, NULL, NULL);
KIND(k_bonus, "bonus-events", "bonus_event", NULL, bonus_cols, 2, refs_user, NULL, NULL, NULL,
     NULL);
KIND(k_flags, "flags", "flag", NULL, flag_cols, 3, refs_customer, NULL, NULL, NULL, NULL);
KIND_NOREFS(k_fx, "fx-rates", "fx_rate", NULL, fx_cols, 2, acre_fx_not_usd, NULL, NULL, NULL);

const acre_kind *const acre_kinds[] = {&k_affiliates, &k_assignments, &k_ig_customers,
                                       &k_pt_customers, &k_ig_txns, &k_pt_txns, &k_gaming,
                                       &k_trading, &k_bonus, &k_flags, &k_fx, NULL};

const acre_kind *acre_kind_find(const char *name)
{
    for (int i = 0; acre_kinds[i]; i++)
        if (strcmp(acre_kinds[i]->name, name) == 0)
            return acre_kinds[i];
    return NULL;
}

int acre_kind_col(const acre_kind *k, const char *name)
{
    for (int i = 0; i < k->ncols; i++)
        if (strcmp(k->cols[i].name, name) == 0)
            return i;
    return -1;
}

void acre_rec_init(acre_rec *r)
{
    memset(r, 0, sizeof *r);
}

void acre_rec_free(acre_rec *r)
{
    acre_buf_free(&r->arena);
}

void acre_rec_error(acre_rec *r, const char *field, const char *rule, const char *fmt, ...)
{
    va_list ap;
    acre_fielderr *e;
    if (r->nerrors >= ACRE_MAX_ERRORS)
        return;
    e = &r->errors[r->nerrors++];
    snprintf(e->field, sizeof e->field, "%s", field);
    snprintf(e->rule, sizeof e->rule, "%s", rule);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    /* a cut must not split a character of a quoted value */
    acre_utf8_trim(e->field);
    acre_utf8_trim(e->message);
}

/* Characters (UTF-8 code points; jansson has checked the encoding). */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static void set_text(acre_rec *r, int col, const char *s, size_t n)
{
    r->cells[col].t = CELL_TEXT;
    r->cells[col].s = s;
    r->cells[col].len = n;
}

/* Copies text into the arena; the pointer is fixed up when validation ends. */
static void set_arena(acre_rec *r, int col, const char *s, size_t n)
{
    r->off[col] = r->arena.len;
    acre_buf_add(&r->arena, s, n);
    acre_buf_add(&r->arena, "", 1); /* keep each value NUL-terminated */
    r->cells[col].t = CELL_TEXT;
    r->cells[col].s = NULL;
    r->cells[col].len = n;
}

static void check_money(acre_rec *r, int col, const acre_field *f, const json_t *v,
                        const acre_numtab *t)
{
    const char *text;
    size_t len;
    acre_number n;
    acre_error err;
    char canon[ACRE_NUMBER_TEXT_MAX];
    size_t clen;

    if (json_is_string(v)) {
        text = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_number(v)) {
        const acre_numlit *lit = acre_numtab_find(t, v);
        if (!lit) {
            acre_rec_error(r, f->name, "number", "%s: the number's text could not be read",
                           f->name);
            return;
        }
        text = lit->text;
        len = lit->len;
    } else {
        acre_rec_error(r, f->name, "type", "%s: expected a decimal number or string, got %s",
                       f->name, type_name(v));
        return;
    }
    acre_error_clear(&err);
    if (acre_number_parse(&n, text, len, f->name, &err)) {
        acre_rec_error(r, f->name, err.rule, "%s", err.message);
        return;
    }
    if (f->type == T_MONEY_NN && acre_number_sgn(&n) < 0) {
        acre_rec_error(r, f->name, "min", "%s: must be 0 or more, got %.*s", f->name, (int)len,
                       text);
        return;
    }
    if (f->type == T_MONEY_POS && acre_number_sgn(&n) <= 0) {
        acre_rec_error(r, f->name, "positive", "%s: must be greater than 0, got %.*s", f->name,
                       (int)len, text);
        return;
    }
    clen = acre_number_format(&n, canon);
    set_arena(r, col, canon, clen);
}

static int is_in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static void list_values(char *out, size_t cap, const char *const *list)
{
    size_t o = 0;
    out[0] = '\0';
    for (; *list && o < cap; list++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "", *list);
}

static void check_field(acre_rec *r, int col, const acre_field *f, const json_t *v,
                        const acre_numtab *t)
{
    const char *s = NULL;
    size_t n = 0;

    switch (f->type) {
    case T_MONEY:
    case T_MONEY_NN:
    case T_MONEY_POS:
        check_money(r, col, f, v, t);
        return;
    case T_INT_NN:
    case T_VERSION: {
        long long x;
        if (!json_is_integer(v)) {
            acre_rec_error(r, f->name, "integer", "%s: expected a JSON integer, got %s", f->name,
                           json_is_real(v) ? "a number with a fraction or exponent"
                                           : type_name(v));
            return;
        }
        x = json_integer_value(v);
        if (x < (f->type == T_VERSION ? 1 : 0)) {
            acre_rec_error(r, f->name, "min", "%s: must be %d or more, got %lld", f->name,
                           f->type == T_VERSION ? 1 : 0, x);
            return;
        }
        r->cells[col].t = CELL_INT;
        r->cells[col].i = x;
        return;
    }
    case T_OBJ_OR_STR:
    case T_OBJ:
        if (json_is_object(v)) {
            acre_buf tmp = {0};
            acre_buf_json(&tmp, v, t, 1);
            set_arena(r, col, tmp.p ? tmp.p : "{}", tmp.p ? tmp.len : 2);
            r->arena.oom |= tmp.oom; /* a cut-short value is out of memory, never stored */
            acre_buf_free(&tmp);
            return;
        }
        if (f->type == T_OBJ || !json_is_string(v)) {
            acre_rec_error(r, f->name, "type", "%s: expected %s, got %s", f->name,
                           f->type == T_OBJ ? "an object" : "an object or a string",
                           type_name(v));
            return;
        }
        if (utf8_chars(json_string_value(v), json_string_length(v)) > MAX_CHARS) {
            acre_rec_error(r, f->name, "max_length", "%s: longer than %d characters", f->name,
                           MAX_CHARS);
            return;
        }
        {
            acre_buf tmp = {0};
            acre_buf_json_str(&tmp, json_string_value(v), json_string_length(v));
            set_arena(r, col, tmp.p ? tmp.p : "", tmp.len);
            r->arena.oom |= tmp.oom;
            acre_buf_free(&tmp);
        }
        return;
    default:
        break;
    }

    /* Everything else is a string. */
    if (!json_is_string(v)) {
        acre_rec_error(r, f->name, "type", "%s: expected a string, got %s", f->name,
                       type_name(v));
        return;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (utf8_chars(s, n) > MAX_CHARS) {
        acre_rec_error(r, f->name, "max_length", "%s: longer than %d characters (%zu)", f->name,
                       MAX_CHARS, utf8_chars(s, n));
        return;
    }
    if (memchr(s, '\0', n)) {
        acre_rec_error(r, f->name, "nul", "%s: contains a NUL character", f->name);
        return;
    }
    switch (f->type) {
    case T_ID:
        if (n == 0) {
            acre_rec_error(r, f->name, "non_empty", "%s: must not be empty", f->name);
            return;
        }
        break;
    case T_DATE:
        if (acre_date_check(s, n)) {
            acre_rec_error(r, f->name, "date", "%s: \"%.*s\" is not a calendar date YYYY-MM-DD",
                           f->name, acre_utf8_prefix(s, 40), s);
            return;
        }
        break;
    case T_MONTH: {
        int ym;
        if (acre_month_parse(s, n, &ym)) {
            acre_rec_error(r, f->name, "month", "%s: \"%.*s\" is not a month YYYY-MM", f->name,
                           acre_utf8_prefix(s, 40), s);
            return;
        }
        break;
    }
    case T_DATETIME: {
        char canon[ACRE_DATETIME_LEN + 1];
        const char *why;
        if (acre_datetime_canon(canon, s, n, &why)) {
            acre_rec_error(r, f->name, "datetime", "%s: \"%.*s\": %s", f->name,
                           acre_utf8_prefix(s, 40), s, why);
            return;
        }
        set_arena(r, col, canon, ACRE_DATETIME_LEN);
        return;
    }
    case T_CURRENCY:
        if (n != 3 || !acre_iso_currency(s)) {
            acre_rec_error(r, f->name, "iso4217",
                           "%s: \"%.*s\" is not an ISO 4217 currency code (upper case, "
                           "e.g. EUR)",
                           f->name, acre_utf8_prefix(s, 40), s);
            return;
        }
        break;
    case T_COUNTRY:
        if (n != 2 || !acre_iso_country(s)) {
            acre_rec_error(r, f->name, "iso3166",
                           "%s: \"%.*s\" is not an ISO 3166-1 alpha-2 country code (upper "
                           "case, e.g. DE)",
                           f->name, acre_utf8_prefix(s, 40), s);
            return;
        }
        break;
    case T_LANG:
        if (n != 2 || !acre_iso_language(s)) {
            acre_rec_error(r, f->name, "iso639",
                           "%s: \"%.*s\" is not an ISO 639-1 language code (lower case, e.g. "
                           "en)",
                           f->name, acre_utf8_prefix(s, 40), s);
            return;
        }
        break;
    case T_URL:
        /* where postbacks go (SPEC 12): http or https, a host, no space or control character
         * (libcurl takes the rest as it is) */
        if (!(n > 7 && strncmp(s, "http://", 7) == 0 && s[7] != '/') &&
            !(n > 8 && strncmp(s, "https://", 8) == 0 && s[8] != '/')) {
            acre_rec_error(r, f->name, "url",
                           "%s: \"%.*s\" is not an http:// or https:// URL with a host", f->name,
                           acre_utf8_prefix(s, 40), s);
            return;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
                acre_rec_error(r, f->name, "url",
                               "%s: a URL holds no space or control character (at byte %zu)",
                               f->name, i);
                return;
            }
        break;
    case T_ENUM:
        if (!is_in(f->values, s)) {
            char all[300];
            list_values(all, sizeof all, f->values);
            acre_rec_error(r, f->name, "enum", "%s: \"%.*s\" is not one of: %s", f->name,
                           acre_utf8_prefix(s, 40), s, all);
            return;
        }
        break;
    default:
        break;
    }
    set_text(r, col, s, n);
}

int acre_rec_validate(acre_rec *r, const acre_kind *k, const json_t *obj, const acre_numtab *t)
{
    const char *key;
    json_t *v;

    r->kind = k;
    r->nerrors = 0;
    acre_buf_reset(&r->arena);
    memset(r->cells, 0, sizeof r->cells);
    if (!json_is_object(obj)) {
        acre_rec_error(r, "", "not_object", "record: expected a JSON object, got %s",
                       type_name(obj));
        return ACRE_EINVALID;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        int col = acre_kind_col(k, key);
        if (col < 0 || k->cols[col].type == T_VERTICAL || (k->cols[col].flags & F_NOT))
            acre_rec_error(r, key, "unknown_field", "%.*s: not a field of %s",
                           acre_utf8_prefix(key, 60), key, k->name);
    }
    for (int col = 0; col < k->ncols; col++) {
        const acre_field *f = &k->cols[col];
        if (f->type == T_VERTICAL) {
            set_text(r, col, k->vertical, strlen(k->vertical));
            continue;
        }
        if (f->flags & F_NOT)
            continue;
        v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) {
            if (f->flags & F_REQ)
                acre_rec_error(r, f->name, "required", "%s: required", f->name);
            else if (f->dflt)
                set_text(r, col, f->dflt, strlen(f->dflt));
            continue;
        }
        check_field(r, col, f, v, t);
    }
    if (r->nerrors == 0 && k->fields)
        k->fields(k, r);
    if (r->arena.oom) {
        acre_rec_error(r, "", "out_of_memory", "record: out of memory");
        return ACRE_ENOMEM;
    }
    for (int col = 0; col < k->ncols; col++)
        if (r->cells[col].t == CELL_TEXT && r->cells[col].s == NULL)
            r->cells[col].s = r->arena.p + r->off[col];
    return r->nerrors ? ACRE_EINVALID : 0;
}
