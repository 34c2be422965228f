/* tools/gen.c — deterministic benchmark data.
 *
 *   acre-gen activity ROWS DIR
 *   acre-gen close DIR [DIVISOR]
 *   acre-gen month DIR DIVISOR YYYY-MM
 *
 * writes DIR/affiliates.ndjson (1,000 affiliates), DIR/customers.ndjson (ROWS/5 customers, at
 * least 1) and DIR/activity.ndjson (ROWS gaming-activity records in one month, amounts with two
 * decimals), plus DIR/activity.csv: the same rows as acre stores them (columns of the
 * gaming_activity table, seq = row number, batch = 1), for SQLite's .import.
 *
 * `close` writes the benchmark operator of docs/PERFORMANCE.md: 1,000 affiliates (one in ten
 * the child of another), four hybrid plans (one per currency: CPA 50 + 30% of NGR with carry,
 * sub-affiliate levels 5%), 200,000 customers, 2,000,000 transactions and 3,000,000 gaming
 * activity rows in 2026-03, every count divided by DIVISOR (default 1). Same arguments, same
 * bytes.
 *
 * `month` writes one more month of the same operator for tools/bench/history.sh:
 * DIR/transactions-YYYY-MM.ndjson and DIR/activity-YYYY-MM.ndjson, the counts of `close` dated
 * in that month (transaction IDs carry the month, so no two months share one), and in the
 * activity file, after the month's rows, late data: a new version (other amounts) of one in a
 * hundred of the previous month's activity rows. The sequence restarts for each month, so a
 * month's files do not depend on which months were written before. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void) /* xorshift64*: fixed sequence, no libc rand */
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ULL;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

/* cents as "123.45" */
static void money(char *buf, size_t n, uint64_t cents)
{
    snprintf(buf, n, "%" PRIu64 ".%02" PRIu64, cents / 100, cents % 100);
}

/* customers.ndjson: customer c signs up in February 2026 with affiliate c mod `affiliates`. */
static void write_customers(const char *dir, long customers, long affiliates)
{
    FILE *f = open_out(dir, "customers.ndjson");
    for (long c = 0; c < customers; c++)
        fprintf(f,
                "{\"customer_id\":\"c_%07ld\",\"signup_date\":\"2026-02-%02ldT%02ld:%02ld:00Z\","
                "\"affiliate_id\":\"aff_%04ld\",\"tracking_data\":{\"sub\":\"s%ld\"},"
                "\"country_code\":\"DE\"}\n",
                c, 1 + c % 28, c % 24, c % 60, c % affiliates, c % 97);
    fclose(f);
}

/* Activity rows of month `ym` (YYYY-MM), `rows` of them over `customers`, amounts from the
 * generator's sequence, as both generators write them. */
static void activity_rows(FILE *f, const char *ym, long rows, long customers, long affiliates)
{
    static const char *const currencies[] = {"EUR", "GBP", "USD", "SEK"};
    static const char *const games[] = {"slots", "live_casino", "table_games", "sportsbook"};
    for (long i = 0; i < rows; i++) {
        long c = i % customers, k = i / customers;
        uint64_t bets = next() % 500000, wins = bets ? next() % (bets + bets / 10 + 1) : 0;
        char tb[32], w[32];
        money(tb, sizeof tb, bets);
        money(w, sizeof w, wins);
        fprintf(f,
                "{\"date\":\"%s-%02ld\",\"customer_id\":\"c_%07ld\",\"game_type\":\"%s\","
                "\"currency\":\"%s\",\"bets_count\":%u,\"total_bets\":%s,\"wins\":%s}\n",
                ym, 1 + k % 28, c, games[(k / 28) % 4], currencies[(c % affiliates) % 4],
                (unsigned)(next() % 400), tb, w);
    }
}

/* Transactions of month `ym` (YYYY-MM), `txns` of them over `customers`, each ID "t_" then
 * `tag` (gen_close's is empty, a month's "YYYYMM_") and the row number. */
static void txn_rows(FILE *f, const char *ym, const char *tag, long txns, long customers,
                     long affiliates)
{
    static const char *const currencies[] = {"EUR", "GBP", "USD", "SEK"};
    static const char *const types[] = {"deposit", "deposit", "deposit", "withdrawal", "bonus"};
    for (long i = 0; i < txns; i++) {
        long c = i % customers, k = i / customers;
        char amount[32];
        money(amount, sizeof amount, 1000 + next() % 50000);
        fprintf(f,
                "{\"transaction_id\":\"t_%s%08ld\",\"customer_id\":\"c_%07ld\","
                "\"transaction_type\":\"%s\",\"amount_currency\":%s,\"currency\":\"%s\","
                "\"transaction_date\":\"%s-%02ldT%02ld:%02ld:00Z\",\"status\":\"%s\"}\n",
                tag, i, c, types[k % 5], amount, currencies[(c % affiliates) % 4], ym, 1 + k % 28,
                (i / 7) % 24, i % 60, next() % 10 ? "approved" : "declined");
    }
}

static int gen_close(const char *dir, long div)
{
    static const char *const currencies[] = {"EUR", "GBP", "USD", "SEK"};
    long affiliates = 1000, customers = 200000 / div, txns = 2000000 / div, rows = 3000000 / div;
    FILE *f;

    f = open_out(dir, "affiliates.ndjson");
    for (long a = 0; a < affiliates; a++) {
        fprintf(f, "{\"affiliate_id\":\"aff_%04ld\",\"currency\":\"%s\"", a, currencies[a % 4]);
        if (a % 10 == 9) /* a child of an affiliate of the same currency */
            fprintf(f, ",\"parent_affiliate_id\":\"aff_%04ld\"", a - 8);
        fputs("}\n", f);
    }
    fclose(f);
    f = open_out(dir, "plans.json");
    fputs("[", f);
    for (int i = 0; i < 4; i++)
        fprintf(f,
                "%s{\"plan_id\":\"hybrid-%s\",\"version\":1,\"currency\":\"%s\","
                "\"qualification\":{\"min_first_amount\":\"20\"},\"cpa\":{\"amount\":\"50\"},"
                "\"revshare\":{\"rate\":\"30%%\",\"negative_carryover\":{\"mode\":\"carry\"}},"
                "\"sub_affiliate\":{\"levels\":[\"5%%\"]}}",
                i ? ",\n" : "", currencies[i], currencies[i]);
    fputs("]\n", f);
    fclose(f);
    f = open_out(dir, "assignments.ndjson");
    for (long a = 0; a < affiliates; a++)
        fprintf(f,
                "{\"affiliate_id\":\"aff_%04ld\",\"plan_id\":\"hybrid-%s\",\"effective_from\":"
                "\"2026-01\"}\n",
                a, currencies[a % 4]);
    fclose(f);
    write_customers(dir, customers, affiliates);
    /* each customer's transactions and activity are in its affiliate's currency */
    f = open_out(dir, "transactions.ndjson");
    txn_rows(f, "2026-03", "", txns, customers, affiliates);
    fclose(f);
    f = open_out(dir, "activity.ndjson");
    activity_rows(f, "2026-03", rows, customers, affiliates);
    fclose(f);
    return 0;
}

static int gen_month(const char *dir, long div, const char *ym)
{
    long affiliates = 1000, customers = 200000 / div, txns = 2000000 / div, rows = 3000000 / div;
    int y, m;
    char name[64], prev[32], tag[32]; /* room for any int, as the compiler counts */
    FILE *f;
    if (strlen(ym) != 7 || sscanf(ym, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12) {
        fprintf(stderr, "acre-gen month: %s is not YYYY-MM\n", ym);
        return 2;
    }
    snprintf(prev, sizeof prev, "%04d-%02d", m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1);
    snprintf(tag, sizeof tag, "%04d%02d_", y % 10000, m);
    state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(y * 12 + m);
    snprintf(name, sizeof name, "transactions-%s.ndjson", ym);
    f = open_out(dir, name);
    txn_rows(f, ym, tag, txns, customers, affiliates);
    fclose(f);
    snprintf(name, sizeof name, "activity-%s.ndjson", ym);
    f = open_out(dir, name);
    activity_rows(f, ym, rows, customers, affiliates);
    {
        /* late data: new versions of rows 0, 100, 200, ... of the previous month's keys */
        uint64_t saved = state;
        FILE *late = tmpfile();
        char line[512];
        long n = 0;
        if (!late) {
            perror("tmpfile");
            return 1;
        }
        activity_rows(late, prev, rows, customers, affiliates);
        rewind(late);
        state = saved;
        while (fgets(line, sizeof line, late)) {
            char *tbp = strstr(line, "\"total_bets\":");
            if (n++ % 100 || !tbp)
                continue;
            /* the same key, other amounts */
            *tbp = '\0';
            {
                uint64_t bets = next() % 500000, wins = bets ? next() % (bets + 1) : 0;
                char tb[32], w[32];
                money(tb, sizeof tb, bets);
                money(w, sizeof w, wins);
                fprintf(f, "%s\"total_bets\":%s,\"wins\":%s}\n", line, tb, w);
            }
        }
        fclose(late);
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const games[] = {"slots", "live_casino", "table_games", "sportsbook"};
    static const char *const currencies[] = {"EUR", "GBP", "USD", "SEK"};
    long rows, customers, affiliates = 1000;
    FILE *f, *csv;

    if (argc == 5 && strcmp(argv[1], "month") == 0)
        return gen_month(argv[2], atol(argv[3]) > 0 ? atol(argv[3]) : 1, argv[4]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "close") == 0)
        return gen_close(argv[2], argc == 4 && atol(argv[3]) > 0 ? atol(argv[3]) : 1);
    if (argc != 4 || strcmp(argv[1], "activity") != 0 || (rows = atol(argv[2])) <= 0) {
        fprintf(stderr, "usage: acre-gen activity ROWS DIR\n       acre-gen close DIR [DIVISOR]\n"
                        "       acre-gen month DIR DIVISOR YYYY-MM\n");
        return 2;
    }
    customers = rows / 5 > 0 ? rows / 5 : 1;

    f = open_out(argv[3], "affiliates.ndjson");
    for (long a = 0; a < affiliates; a++)
        fprintf(f,
                "{\"affiliate_id\":\"aff_%04ld\",\"name\":\"Affiliate %ld\",\"currency\":\"%s\"}\n",
                a, a, currencies[a % 4]);
    fclose(f);

    write_customers(argv[3], customers, affiliates);

    /* Row i: customer i mod C, day and game from i div C, so every key is distinct. */
    f = open_out(argv[3], "activity.ndjson");
    csv = open_out(argv[3], "activity.csv");
    for (long i = 0; i < rows; i++) {
        long c = i % customers, k = i / customers;
        int day = 1 + (int)(k % 28);
        const char *game = games[(k / 28) % 4];
        const char *cur = currencies[(c % affiliates) % 4];
        uint64_t bets = next() % 500000, wins = bets ? next() % (bets + bets / 10 + 1) : 0;
        unsigned count = (unsigned)(next() % 400);
        char tb[32], w[32], ggr[32];
        money(tb, sizeof tb, bets);
        money(w, sizeof w, wins);
        if (wins > bets) {
            money(ggr + 1, sizeof ggr - 1, wins - bets);
            ggr[0] = '-';
        } else {
            money(ggr, sizeof ggr, bets - wins);
        }
        fprintf(f,
                "{\"date\":\"2026-03-%02d\",\"customer_id\":\"c_%07ld\",\"game_type\":\"%s\","
                "\"currency\":\"%s\",\"bets_count\":%u,\"total_bets\":%s,\"wins\":%s,\"ggr\":%s}\n",
                day, c, game, cur, count, tb, w, ggr);
        /* acre stores the shortest exact decimal: trailing zeros go */
        for (char *m = tb; m; m = m == tb ? w : m == w ? ggr : NULL) {
            size_t n = strlen(m);
            while (n > 0 && m[n - 1] == '0' && strchr(m, '.'))
                m[--n] = '\0';
            if (n > 0 && m[n - 1] == '.')
                m[--n] = '\0';
            if (strcmp(m, "-0") == 0)
                strcpy(m, "0");
        }
        fprintf(csv, "2026-03-%02d,c_%07ld,%s,%s,%u,%s,%s,%s,,%ld,1\n", day, c, game, cur, count,
                tb, w, ggr, i + 1);
    }
    fclose(f);
    fclose(csv);
    return 0;
}
