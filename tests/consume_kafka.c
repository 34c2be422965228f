/* tests/consume_kafka.c ACRE FIXTURES — `acre consume kafka://...` (SPEC 12, docs/events.md)
 * against librdkafka's mock cluster (rdkafka_mock.h), which this test runs on a loopback port
 * for the acre program it starts.
 *
 * The demo's affiliates, deals and customers are stored first. 1,203 messages go to topic
 * acre.in: 1,200 Fast Track bonus events with header type=BONUS (distinct user_bonus_ids of the
 * demo's five igaming customers), 5 of them for a customer nobody stored, and 3 with no type
 * header. Then:
 * 1. a consumer that dies (SIGKILL, ACRE_CONSUME_DIE_BEFORE_ACK=1) right after its first batch
 *    is committed to the store and before its offsets are committed to Kafka;
 * 2. a second consumer of the same group, which is therefore given every message again from
 *    the start (that batch an unchanged upsert: 500 - 2 of them unchanged, the two rejects of
 *    it, k_00010 and k_00300, rejected again) until it has read all 1,203, then SIGTERM: exit 0;
 * 3. the store holds each of the 1,195 valid events once, one version each, the same store a
 *    consumer that never died makes (a third store, one consumer, compared row by row);
 * 4. every offset was committed: after one more message, a third run of the group reads that
 *    one alone. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fails;

#define CHECK(name, cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fails++;                                                                               \
            printf("FAIL %s (%s:%d)\n", name, __FILE__, __LINE__);                                 \
        }                                                                                          \
    } while (0)

static const char *acre, *fixtures;
static char work[256];

static int run(const char *db, const char *a1, const char *a2, const char *a3)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' --db '%s' %s '%s' %s >/dev/null 2>&1", acre, db, a1, a2,
             a3 ? a3 : "");
    return system(cmd);
}

static void base(const char *db)
{
    char f[512];
    unlink(db);
    snprintf(f, sizeof f, "%s/demo/affiliates.ndjson", fixtures);
    run(db, "ingest", "affiliates", f);
    snprintf(f, sizeof f, "%s/demo/assignments.ndjson", fixtures);
    run(db, "ingest", "assignments", f);
    snprintf(f, sizeof f, "%s/demo/igaming-customers.ndjson", fixtures);
    run(db, "ingest", "igaming/customers", f);
}

static long sql_long(const char *db, const char *q)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    long v = -1;
    if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

/* The first column of q's first row as text (new), or NULL. */
static char *sql_text(const char *db, const char *q)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            v = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

/* Starts `acre consume`; its stdout (the batch lines) into out. */
static pid_t consume(const char *db, const char *brokers, const char *out, int die)
{
    pid_t p;
    fflush(stdout); /* not written again by the child's freopen */
    unlink(out);    /* the last run's lines are not this one's */
    p = fork();
    if (p == 0) {
        char url[512];
        snprintf(url, sizeof url, "kafka://%s", brokers);
        if (!freopen(out, "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        if (die)
            setenv("ACRE_CONSUME_DIE_BEFORE_ACK", "1", 1);
        execl(acre, acre, "--db", db, "consume", url, "--topic", "acre.in", "--group", "acre",
              (char *)NULL);
        _exit(127);
    }
    return p;
}

/* Sums the "received" of the batch lines in file out. */
static long received(const char *out, long *unchanged)
{
    FILE *f = fopen(out, "r");
    char line[512];
    long n = 0;
    if (unchanged)
        *unchanged = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *r = strstr(line, "\"received\":"), *u = strstr(line, "\"unchanged\":");
        if (r)
            n += strtol(r + 11, NULL, 10);
        if (u && unchanged)
            *unchanged += strtol(u + 12, NULL, 10);
    }
    if (f)
        fclose(f);
    return n;
}

/* Waits until the consumer's batch lines add up to want messages (or 60 s), then SIGTERM. */
static int drain(pid_t p, const char *out, long want)
{
    int st = 0;
    for (int i = 0; i < 600 && received(out, NULL) < want; i++)
        usleep(100000);
    kill(p, SIGTERM);
    waitpid(p, &st, 0);
    return st;
}

int main(int argc, char **argv)
{
    char errstr[512], db[300], db2[300], out[300];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    const char *brokers;
    int st;
    long unchanged;

    if (argc != 3) {
        fprintf(stderr, "usage: consume_kafka ACRE FIXTURES\n");
        return 2;
    }
    acre = argv[1];
    fixtures = argv[2];
    snprintf(work, sizeof work, "/tmp/acre-kafka-XXXXXX");
    if (!mkdtemp(work))
        return 2;
    snprintf(db, sizeof db, "%s/k.db", work);
    snprintf(db2, sizeof db2, "%s/once.db", work);
    snprintf(out, sizeof out, "%s/out", work);

    /* the cluster: one broker, in this process, on a loopback port */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr))) {
        printf("FAIL a producer: %s\n", errstr);
        return 1;
    }
    if (!(mc = rd_kafka_mock_cluster_new(rk, 1))) {
        printf("FAIL the mock cluster\n");
        return 1;
    }
    brokers = rd_kafka_mock_cluster_bootstraps(mc);
    rd_kafka_mock_topic_create(mc, "acre.in", 1, 1);
    {
        /* a producer of its own, to the cluster like any client */
        rd_kafka_conf_t *pc = rd_kafka_conf_new();
        rd_kafka_t *p;
        static const char *const users[] = {"c_1001", "c_1002", "c_1003", "c_2001", "c_2002"};
        rd_kafka_conf_set(pc, "bootstrap.servers", brokers, errstr, sizeof errstr);
        p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof errstr);
        for (int i = 0; i < 1203 && p; i++) {
            char body[600];
            int bad = i == 10 || i == 300 || i == 600 || i == 900 || i == 1100;
            snprintf(body, sizeof body,
                     "{\"amount\":10,\"bonus_id\":\"reload10\",\"currency\":\"EUR\","
                     "\"exchange_rate\":1,\"origin\":\"nordic.example\",\"product\":\"Casino\","
                     "\"status\":\"Created\",\"timestamp\":\"2026-02-01T10:%02d:%02dZ\","
                     "\"type\":\"ReloadBonus\",\"user_bonus_id\":\"k_%05d\",\"user_id\":\"%s\"}",
                     i / 60 % 60, i % 60, i, bad ? "c_nobody" : users[i % 5]);
            if (i < 1200)
                rd_kafka_producev(p, RD_KAFKA_V_TOPIC("acre.in"),
                                  RD_KAFKA_V_VALUE(body, strlen(body)),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADER("type", "BONUS", -1), RD_KAFKA_V_END);
            else
                rd_kafka_producev(p, RD_KAFKA_V_TOPIC("acre.in"),
                                  RD_KAFKA_V_VALUE(body, strlen(body)),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        }
        CHECK("produced every message", p && rd_kafka_flush(p, 30000) == 0);
        if (p)
            rd_kafka_destroy(p);
    }

    /* 1. killed between the store's commit and Kafka's */
    base(db);
    st = 0;
    waitpid(consume(db, brokers, out, 1), &st, 0);
    CHECK("the first consumer died by SIGKILL", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CHECK("its batch of 500 was in the store", sql_long(db, "SELECT count(*) FROM bonus_event") ==
                                                   500 - 2); /* k_00010, k_00300 rejected */

    /* 2. the same group again: that batch once more, then the rest */
    st = drain(consume(db, brokers, out, 0), out, 1203);
    CHECK("SIGTERM: exit 0", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    received(out, &unchanged);
    CHECK("the batch given again was unchanged", unchanged == 500 - 2);

    /* 3. each valid event once */
    CHECK("1,195 valid events, each once",
          sql_long(db, "SELECT count(DISTINCT user_bonus_id) FROM bonus_event") == 1195);
    CHECK("one version each", sql_long(db, "SELECT count(*) FROM bonus_event") == 1195);
    {
        /* the store of a consumer that never died, for another group: the same rows */
        pid_t p;
        char cmd[1200];
        base(db2);
        fflush(stdout);
        unlink(out);
        p = fork();
        if (p == 0) {
            char url[512];
            snprintf(url, sizeof url, "kafka://%s", brokers);
            if (!freopen(out, "w", stdout) || !freopen("/dev/null", "w", stderr))
                _exit(127);
            execl(acre, acre, "--db", db2, "consume", url, "--topic", "acre.in", "--group", "once",
                  (char *)NULL);
            _exit(127);
        }
        drain(p, out, 1203);
        /* row by row: key, status, customer, time */
        {
            static const char q[] = "SELECT group_concat(user_bonus_id || ' ' || status || ' ' || "
                                    "user_id || ' ' || timestamp, '|') FROM (SELECT * FROM "
                                    "bonus_event ORDER BY user_bonus_id)";
            char *a = sql_text(db, q), *b = sql_text(db2, q);
            CHECK("the same rows as a consumer that never died",
                  a && b && strlen(a) > 1000 && strcmp(a, b) == 0);
            free(a);
            free(b);
        }
        (void)cmd;
    }

    /* 4. every offset was committed: one more message, and a third run of the group reads
     * that one alone */
    {
        rd_kafka_conf_t *pc = rd_kafka_conf_new();
        rd_kafka_t *p;
        char body[] = "{\"amount\":10,\"bonus_id\":\"reload10\",\"currency\":\"EUR\","
                      "\"exchange_rate\":1,\"origin\":\"nordic.example\",\"product\":"
                      "\"Casino\",\"status\":\"Created\",\"timestamp\":"
                      "\"2026-02-02T10:00:00Z\",\"type\":\"ReloadBonus\",\"user_bonus_id\":"
                      "\"k_last\",\"user_id\":\"c_1001\"}";
        rd_kafka_conf_set(pc, "bootstrap.servers", brokers, errstr, sizeof errstr);
        p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof errstr);
        if (p) {
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC("acre.in"), RD_KAFKA_V_VALUE(body, strlen(body)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_HEADER("type", "BONUS", -1), RD_KAFKA_V_END);
            rd_kafka_flush(p, 30000);
            rd_kafka_destroy(p);
        }
        st = drain(consume(db, brokers, out, 0), out, 1);
        sleep(1); /* anything more would show now */
        CHECK("a third run: the new message alone", received(out, NULL) == 1);
        CHECK("the new message stored",
              sql_long(db, "SELECT count(*) FROM bonus_event WHERE user_bonus_id = 'k_last'") == 1);
    }

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
        if (system(cmd) != 0)
            fails++;
    }
    printf("%d failed\n", fails);
    return fails ? 1 : 0;
}
