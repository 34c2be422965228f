/* engine/store_sqlite_schema.c — the SQLite backend's schema: a new file gets every table of
 * acre_store_tables(); an older one is migrated a version at a time, each step one transaction;
 * a table of acre_store_tables() the file lacks (a record kind or a rule kind's state table
 * added since) is made from its descriptor on the next open; a file that is not an acre store
 * is refused before anything is written to it. */
#include <string.h>

#include "jsonval.h"
#include "number.h"
#include "store_sqlite.h"

/* The DDL of one table, from its descriptor: every column with its type and NOT NULL, and the
 * key as the primary key of a WITHOUT ROWID table (which also makes the key unique and not
 * null). For close_layer this is the DDL schema_v2 writes by hand (tests/close.sh compares
 * them); for settled, whose schema_v2 DDL says `customer_id TEXT PRIMARY KEY`, it is the same
 * table in other words. A money column has no declared type, so no affinity: SQLite keeps an
 * integer of hundredths as an integer and a text as text (store_sqlite_query.c). `name` is the
 * table's name in the DDL (schema 6 builds a table beside the one it replaces). */
static void table_ddl_as(acre_buf *b, const acre_table *t, const char *name)
{
    static const char *const types[] = {" TEXT", " INTEGER", ""};
    acre_buf_printf(b, "CREATE TABLE %s(", name);
    for (int i = 0; i < t->ncols; i++)
        acre_buf_printf(b, "%s%s%s%s", i ? ", " : "", t->cols[i].name, types[t->cols[i].type],
                        t->cols[i].notnull ? " NOT NULL" : "");
    acre_buf_adds(b, ", PRIMARY KEY(");
    for (int i = 0; i < t->nkey; i++)
        acre_buf_printf(b, "%s%s", i ? ", " : "", t->cols[t->key[i]].name);
    acre_buf_adds(b, ")) WITHOUT ROWID;\n");
}

static void table_ddl(acre_buf *b, const acre_table *t)
{
    table_ddl_as(b, t, t->name);
}

static int run_script(sqlite3 *db, const char *sql, const char *what, acre_error *err)
{
    int rc;
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    rc = acre_sqlite_fail(db, what, err);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* 1 when table t has column col (0 when not, or when the schema could not be read). */
static int has_column(sqlite3 *db, const char *t, const char *col)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int create_schema(sqlite3 *db, acre_error *err)
{
    acre_buf b = {0};
    int rc;

    acre_buf_adds(&b, "BEGIN;\n"
                      "CREATE TABLE counter(name TEXT PRIMARY KEY, value INTEGER NOT NULL) "
                      "WITHOUT ROWID;\n"
                      "INSERT INTO counter VALUES('seq', 0);\n"
                      "CREATE TABLE ingest_batch(batch INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
                      "source TEXT NOT NULL, sha256 TEXT NOT NULL, received INTEGER NOT NULL, "
                      "inserted INTEGER NOT NULL, updated INTEGER NOT NULL, "
                      "unchanged INTEGER NOT NULL, rejected INTEGER NOT NULL, "
                      "first_seq INTEGER, last_seq INTEGER);\n");
    for (const acre_table *const *t = acre_store_tables(); *t; t++)
        if ((*t)->versioned)
            table_ddl(&b, *t);
    acre_buf_adds(&b, "PRAGMA user_version = 1;\nCOMMIT;\n");
    if (b.oom) {
        acre_buf_free(&b);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    rc = run_script(db, b.p, "creating the schema", err);
    acre_buf_free(&b);
    return rc;
}

static int user_version(sqlite3 *db, int *v, acre_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return acre_sqlite_fail(db, "preparing a statement", err);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return acre_sqlite_fail(db, "reading the schema version", err);
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Version 2: plans, closes and what each close leaves for the next (engine/close.c). Written
 * out by hand, close_layer (now rules/carryover.c's own table) among them, and never changed:
 * a store made by an older acre migrates to the same schema as before. A state table added
 * since is made by add_missing_tables. */
static const char schema_v2[] =
    "BEGIN;\n"
    "CREATE TABLE plan(plan_id TEXT NOT NULL, version INTEGER NOT NULL, name TEXT, "
    "currency TEXT NOT NULL, body TEXT NOT NULL, sha256 TEXT NOT NULL, "
    "PRIMARY KEY(plan_id, version)) WITHOUT ROWID;\n"
    "CREATE TABLE close(period INTEGER PRIMARY KEY, period_text TEXT NOT NULL, "
    "seq INTEGER NOT NULL, ledger TEXT NOT NULL, digest TEXT NOT NULL, previous_digest TEXT);\n"
    "CREATE TABLE close_affiliate(period INTEGER NOT NULL, affiliate_id TEXT NOT NULL, plan TEXT, "
    "carried_forward TEXT NOT NULL, PRIMARY KEY(period, affiliate_id)) WITHOUT ROWID;\n"
    "CREATE TABLE close_layer(period INTEGER NOT NULL, affiliate_id TEXT NOT NULL, "
    "plan_id TEXT NOT NULL, plan TEXT NOT NULL, origin INTEGER NOT NULL, amount TEXT NOT NULL, "
    "PRIMARY KEY(period, affiliate_id, origin)) WITHOUT ROWID;\n"
    "CREATE TABLE close_excluded(period INTEGER NOT NULL, customer_id TEXT NOT NULL, "
    "PRIMARY KEY(period, customer_id)) WITHOUT ROWID;\n"
    "CREATE TABLE settled(customer_id TEXT PRIMARY KEY, period INTEGER NOT NULL, "
    "affiliate_id TEXT NOT NULL, plan TEXT NOT NULL, outcome TEXT NOT NULL, amount TEXT, "
    "qualified_at TEXT NOT NULL, qsec INTEGER NOT NULL, clawback_days INTEGER NOT NULL, "
    "clawed_period INTEGER) WITHOUT ROWID;\n"
    "CREATE TABLE counted(tbl TEXT NOT NULL, rkey TEXT NOT NULL, period INTEGER NOT NULL, "
    "seq INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, "
    "PRIMARY KEY(tbl, rkey, period)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 2;\n"
    "COMMIT;\n";

/* Version 3: when each batch was stored (SPEC 10 "Re-sent files"; NULL for batches stored
 * before, or by a caller that gave no time), and the index that finds a batch by its bytes. */
static const char schema_v3[] = "BEGIN;\n"
                                "ALTER TABLE ingest_batch ADD COLUMN stored_at TEXT;\n"
                                "CREATE INDEX ingest_batch_sha ON ingest_batch(kind, sha256);\n"
                                "PRAGMA user_version = 3;\n"
                                "COMMIT;\n";

/* Version 4: the sequence number at which each plan version was stored, so that a close
 * recomputed at an earlier watermark (simulate, audit --recompute) resolves "the newest
 * version" as that close did. Plans stored before have 0: as if stored before every close. */
static const char schema_v4[] = "BEGIN;\n"
                                "ALTER TABLE plan ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;\n"
                                "PRAGMA user_version = 4;\n"
                                "COMMIT;\n";

/* Version 5: what an incremental close reads (docs/design.md "An incremental close"). The log of
 * versions stored dated in a closed period (its layout is table_ddl's of the late_version
 * descriptor), the sequence number from which it is complete (counter log_from: a store
 * migrated now has versions from before with no log row) and the last period closed before
 * (counter log_after: a close whose previous close is not after it reads as before, since an
 * older acre judged differently), the transactions stored in more than one version under the months
 * their versions are dated in (txn_versions, filled here as ingest fills it), the indexes
 * that find a period's transactions and bonus events and a customer's, and the close table
 * with its ledger as the last column. */
/* The month of transaction_date as acre_month_parse reads its first 7 bytes, or -1 (as ingest
 * and the audit take a date that is not one: engine/ingest_store.c month_of) */
#define MONTH_SQL                                                                                  \
    "(CASE WHEN transaction_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*' "                         \
    "AND substr(transaction_date, 1, 4) <> '0000' "                                                \
    "AND substr(transaction_date, 6, 2) BETWEEN '01' AND '12' "                                    \
    "THEN substr(transaction_date, 1, 4) * 12 + substr(transaction_date, 6, 2) - 1 ELSE -1 END)"

static const char schema_v5[] =
    "BEGIN;\n"
    "CREATE TABLE late_version(seq INTEGER NOT NULL, tbl TEXT NOT NULL, k1 TEXT NOT NULL, "
    "k2 TEXT, k3 TEXT, k4 TEXT, PRIMARY KEY(seq)) WITHOUT ROWID;\n"
    "INSERT INTO counter SELECT 'log_from', value FROM counter WHERE name = 'seq';\n"
    /* the last period closed before the migration: the close after it trusts no state an
     * older acre left, and reads in full */
    "INSERT INTO counter SELECT 'log_after', coalesce((SELECT max(period) FROM close), -1);\n"
    "CREATE TABLE txn_versions(period INTEGER NOT NULL, transaction_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, PRIMARY KEY(period, transaction_id, seq)) WITHOUT ROWID;\n"
    /* what ingest writes for each version after a key's first: its month and its
     * predecessor's, at its seq */
    "INSERT OR IGNORE INTO txn_versions SELECT CASE w WHEN 0 THEN p ELSE q END, id, s "
    "FROM (SELECT transaction_id id, seq s, "
    "" MONTH_SQL " p, lag(" MONTH_SQL ") OVER (PARTITION BY transaction_id ORDER BY seq) q, "
    "row_number() OVER (PARTITION BY transaction_id ORDER BY seq) n FROM txn) v, "
    "(SELECT 0 w UNION ALL SELECT 1) WHERE n > 1 AND (w = 0 OR q <> p);\n"
    /* the ledger last: reading the closes' digests (every close does) walked the overflow
     * pages of every ledger stored, 62 MB each at the benchmark's size */
    "CREATE TABLE close_v5(period INTEGER PRIMARY KEY, period_text TEXT NOT NULL, "
    "seq INTEGER NOT NULL, digest TEXT NOT NULL, previous_digest TEXT, ledger TEXT NOT NULL);\n"
    "INSERT INTO close_v5 SELECT period, period_text, seq, digest, previous_digest, ledger "
    "FROM close;\n"
    "DROP TABLE close;\n"
    "ALTER TABLE close_v5 RENAME TO close;\n"
    "CREATE INDEX txn_date ON txn(transaction_date);\n"
    "CREATE INDEX txn_customer ON txn(customer_id);\n"
    "CREATE INDEX bonus_event_time ON bonus_event(timestamp);\n"
    "CREATE INDEX bonus_event_user ON bonus_event(user_id);\n"
    "PRAGMA user_version = 5;\n"
    "COMMIT;\n";

/* Version 6: money as integers (docs/design.md "Money as integers"). Each record table with a
 * money column is rebuilt from its descriptor, whose money columns have no declared type, with
 * each amount that fits as an integer of hundredths (acre_money, below) and the others as their
 * text; its indexes are made again from their stored SQL. A table the store does not have yet
 * is made later by add_missing_tables, in the new form. */
static void money_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    long long v;
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_TEXT &&
        acre_cents_parse((const char *)sqlite3_value_text(argv[0]),
                         (size_t)sqlite3_value_bytes(argv[0]), &v))
        sqlite3_result_int64(cx, v);
    else
        sqlite3_result_value(cx, argv[0]);
}

/* A column a record kind gained after schema 6, which a store of that age lacks (schema 9's
 * affiliate.postback_url): the rebuild gives it NULL. Any other column missing is an error. */
static int added_since_v6(const char *table, const char *col)
{
    return strcmp(table, "affiliate") == 0 && strcmp(col, "postback_url") == 0;
}

/* Appends to b the statements that rebuild table t: see schema 6 above. */
static int rebuild_money(sqlite3 *db, acre_buf *b, const acre_table *t, acre_error *err)
{
    sqlite3_stmt *st;
    int rc, money = 0, have = 0;
    for (int i = 0; i < t->ncols; i++)
        money |= t->cols[i].type == ACRE_COL_MONEY;
    if (!money)
        return 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT type, sql FROM sqlite_master WHERE tbl_name = ?1 AND "
                           "type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type DESC",
                           -1, &st, NULL) != SQLITE_OK)
        return acre_sqlite_fail(db, "preparing a statement", err);
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0),
                   *sql = (const char *)sqlite3_column_text(st, 1);
        if (!type || !sql) {
            sqlite3_finalize(st);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        if (strcmp(type, "table") == 0) {
            /* first (ORDER BY type DESC): the new table, filled, in the old one's place */
            have = 1;
            table_ddl_as(b, t, "acre_v6");
            acre_buf_adds(b, "INSERT INTO acre_v6 SELECT ");
            for (int i = 0; i < t->ncols; i++)
                if (added_since_v6(t->name, t->cols[i].name) &&
                    !has_column(db, t->name, t->cols[i].name))
                    acre_buf_printf(b, "%sNULL", i ? ", " : "");
                else
                    acre_buf_printf(
                        b, t->cols[i].type == ACRE_COL_MONEY ? "%sacre_money(\"%s\")" : "%s\"%s\"",
                        i ? ", " : "", t->cols[i].name);
            acre_buf_printf(b,
                            " FROM \"%s\";\nDROP TABLE \"%s\";\n"
                            "ALTER TABLE acre_v6 RENAME TO \"%s\";\n",
                            t->name, t->name, t->name);
        } else if (have) {
            acre_buf_printf(b, "%s;\n", sql);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : acre_sqlite_fail(db, "reading the schema", err);
}

static int schema_v6(sqlite3 *db, acre_error *err)
{
    acre_buf b = {0};
    int rc = 0, dqs = 1;
    if (sqlite3_create_function_v2(db, "acre_money", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                   money_fn, NULL, NULL, NULL) != SQLITE_OK)
        return acre_sqlite_fail(db, "migrating the store to schema version 6", err);
    /* a column the old table lacks is an error, not the string "wins" in every row (SQLite
     * reads an unknown double-quoted name as a string unless told not to) */
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, -1, &dqs);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
    acre_buf_adds(&b, "BEGIN;\n");
    for (const acre_table *const *t = acre_store_tables(); *t && !rc; t++)
        if ((*t)->versioned)
            rc = rebuild_money(db, &b, *t, err);
    acre_buf_adds(&b, "PRAGMA user_version = 6;\nCOMMIT;\n");
    if (!rc && b.oom)
        rc = acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    if (!rc)
        rc = run_script(db, b.p, "migrating the store to schema version 6", err);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, dqs, NULL);
    acre_buf_free(&b);
    return rc;
}

/* Version 7: the index of transactions by date holds every column an incremental close reads of
 * them (TX_COLS, engine/close_int.h), after the key, in key order: the close reads a month's
 * transactions from the index alone, in its order, instead of looking each one up in the table
 * (docs/design.md "An incremental close"; docs/PERFORMANCE.md has what it costs and saves). */
static const char schema_v7[] =
    "BEGIN;\n"
    "DROP INDEX IF EXISTS txn_date;\n"
    "CREATE INDEX txn_date ON txn(transaction_date, transaction_id, seq, customer_id, "
    "transaction_type, amount_currency, currency, status, amount_usd);\n"
    "PRAGMA user_version = 7;\n"
    "COMMIT;\n";

/* Version 8: the HTTP API's clients, their access tokens and the answers kept for an
 * Idempotency-Key (SPEC 11; engine/clients.c). */
static const char schema_v8[] =
    "BEGIN;\n"
    "CREATE TABLE api_client(client_id TEXT NOT NULL, name TEXT NOT NULL, scope TEXT NOT NULL, "
    "salt TEXT NOT NULL, hash TEXT NOT NULL, iterations INTEGER NOT NULL, "
    "created_at TEXT NOT NULL, revoked_at TEXT, PRIMARY KEY(client_id)) WITHOUT ROWID;\n"
    "CREATE TABLE api_token(token_hash TEXT NOT NULL, client_id TEXT NOT NULL, "
    "scope TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY(token_hash)) WITHOUT ROWID;\n"
    "CREATE TABLE api_idempotency(client_id TEXT NOT NULL, idem_key TEXT NOT NULL, "
    "body_sha256 TEXT NOT NULL, status INTEGER NOT NULL, answer TEXT NOT NULL, "
    "stored_at INTEGER NOT NULL, PRIMARY KEY(client_id, idem_key)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 8;\n"
    "COMMIT;\n";

/* Version 9: postbacks (SPEC 12; engine/events.c). Affiliates carry a postback_url (a table
 * made or rebuilt from its descriptor since has it already); each affiliate's signing secret;
 * the outbox of events, found by status and due time; and activity by customer, which
 * qualification at ingest reads for the customers a batch changed. */
static int schema_v9(sqlite3 *db, acre_error *err)
{
    acre_buf b = {0};
    int rc;
    acre_buf_adds(&b, "BEGIN;\n");
    if (!has_column(db, "affiliate", "postback_url"))
        acre_buf_adds(&b, "ALTER TABLE affiliate ADD COLUMN postback_url TEXT;\n");
    acre_buf_adds(
        &b, "CREATE TABLE affiliate_secret(affiliate_id TEXT NOT NULL, secret TEXT NOT NULL, "
            "created_at TEXT NOT NULL, PRIMARY KEY(affiliate_id)) WITHOUT ROWID;\n"
            "CREATE TABLE event(event_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, "
            "affiliate_id TEXT NOT NULL, customer_id TEXT NOT NULL, plan TEXT NOT NULL, "
            "body TEXT NOT NULL, made_at INTEGER NOT NULL, status TEXT NOT NULL, "
            "attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, last_error TEXT, "
            "done_at INTEGER, made_by TEXT NOT NULL, PRIMARY KEY(event_id)) WITHOUT ROWID;\n"
            "CREATE INDEX event_due ON event(status, next_at);\n"
            "CREATE INDEX event_seq ON event(seq);\n"
            "CREATE INDEX event_customer ON event(customer_id);\n"
            "CREATE INDEX gaming_activity_customer ON gaming_activity(customer_id);\n"
            "CREATE INDEX trading_activity_customer ON trading_activity(customer_id);\n"
            "PRAGMA user_version = 9;\nCOMMIT;\n");
    if (b.oom) {
        acre_buf_free(&b);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    rc = run_script(db, b.p, "migrating the store to schema version 9", err);
    acre_buf_free(&b);
    return rc;
}

static int migrate(sqlite3 *db, int from, acre_error *err)
{
    int rc;
    if (from == 0 && (rc = create_schema(db, err)))
        return rc;
    if (from <= 1 &&
        (rc = run_script(db, schema_v2, "migrating the store to schema version 2", err)))
        return rc;
    if (from <= 2 &&
        (rc = run_script(db, schema_v3, "migrating the store to schema version 3", err)))
        return rc;
    if (from <= 3 &&
        (rc = run_script(db, schema_v4, "migrating the store to schema version 4", err)))
        return rc;
    if (from <= 4 &&
        (rc = run_script(db, schema_v5, "migrating the store to schema version 5", err)))
        return rc;
    if (from <= 5 && (rc = schema_v6(db, err)))
        return rc;
    if (from <= 6 &&
        (rc = run_script(db, schema_v7, "migrating the store to schema version 7", err)))
        return rc;
    if (from <= 7 &&
        (rc = run_script(db, schema_v8, "migrating the store to schema version 8", err)))
        return rc;
    if (from <= 8 && (rc = schema_v9(db, err)))
        return rc;
    return 0;
}

#define MAX_TABLES 128 /* tables of acre_store_tables() looked for */

/* Each table of acre_store_tables() the file lacks, created from its descriptor (table_ddl),
 * one transaction each: a record kind's table, or a close's state table such as a rule kind's,
 * added after the store was made. The store's own tables (counter, ingest_batch, plan, close)
 * are there in every store that passed foreign_check and the migration. */
static int add_missing_tables(sqlite3 *db, acre_error *err)
{
    const acre_table *const *all = acre_store_tables();
    char have[MAX_TABLES] = {0};
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st,
                           NULL) != SQLITE_OK)
        return acre_sqlite_fail(db, "preparing a statement", err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name) {
            sqlite3_finalize(st);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        for (int i = 0; all[i] && i < MAX_TABLES; i++)
            if (strcmp(all[i]->name, name) == 0)
                have[i] = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return acre_sqlite_fail(db, "reading the schema", err);
    for (int i = 0; all[i] && i < MAX_TABLES; i++) {
        acre_buf b = {0};
        if (have[i] || (!all[i]->versioned && !all[i]->close_period))
            continue;
        acre_buf_adds(&b, "BEGIN;\n");
        table_ddl(&b, all[i]);
        acre_buf_adds(&b, "COMMIT;\n");
        if (b.oom) {
            acre_buf_free(&b);
            return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
        }
        rc = run_script(db, b.p,
                        all[i]->versioned ? "adding a record kind's table"
                                          : "adding a close's state table",
                        err);
        acre_buf_free(&b);
        if (rc)
            return rc;
    }
    return 0;
}

/* A file that SQLite opens but that is not an acre store (another program's database) is
 * refused before anything is written to it: no schema, no switch to WAL. Version 0 with tables
 * is such a file; so is a version acre wrote whose tables are not there. */
static int foreign_check(sqlite3 *db, const char *path, int v, acre_error *err)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db,
                           v ? "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'table' "
                               "AND name IN ('counter', 'ingest_batch')"
                             : "SELECT count(*) = 0 FROM sqlite_master",
                           -1, &st, NULL) != SQLITE_OK)
        return acre_sqlite_fail(db, "preparing a statement", err);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return acre_sqlite_fail(db, "reading the schema", err);
    }
    rc = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc)
        return 0;
    return acre_error_set(err, ACRE_EUSAGE, NULL, "foreign_store",
                          "%s is an SQLite database but not an acre store (%s); acre leaves it "
                          "as it is: name an acre store, or a new file, with --db",
                          path,
                          v ? "its schema version is acre's but acre's tables are missing"
                            : "it has tables and no acre schema");
}

int acre_sqlite_schema(sqlite3 *db, const char *path, acre_error *err)
{
    int rc, v = 0;
    /* the schema is read before anything is written: a foreign file stays as it is */
    if ((rc = user_version(db, &v, err)))
        return acre_error_set(err, rc, NULL, "store", "opening the store %s: %s", path,
                              sqlite3_errmsg(db));
    if ((rc = foreign_check(db, path, v, err)))
        return rc;
    /* WAL lets readers go on while a file is ingested; synchronous=FULL makes a committed file
     * survive a power cut (one sync per file, so it costs little). */
    if ((rc = acre_sqlite_exec(db, "PRAGMA journal_mode=WAL", err)) ||
        (rc = acre_sqlite_exec(db, "PRAGMA synchronous=FULL", err)) ||
        /* 16 MiB of page cache: 64 MiB cost the benchmark's first close 24 MiB of peak memory
         * and its ingest of 2,000,000 transactions 52 MiB, and bought neither any time
         * (docs/PERFORMANCE.md, session 15); readers keep SQLite's default */
        (rc = acre_sqlite_exec(db, "PRAGMA cache_size=-16384", err)) ||
        /* temporary b-trees in memory (quick_check's, sorts): no temporary file to fail to
         * open. Set here, before the migration: once a statement has opened the temporary
         * database (schema 5's ALTER TABLE RENAME does), it cannot be set inside a
         * transaction, where the audit's check runs */
        (rc = acre_sqlite_exec(db, "PRAGMA temp_store=MEMORY", err)) ||
        (rc = acre_sqlite_exec(db, "PRAGMA foreign_keys=OFF", err)))
        /* say which file: "opening the store x.db: file is not a database" */
        return acre_error_set(err, rc, NULL, "store", "opening the store %s: %s", path,
                              sqlite3_errmsg(db));
    if (v > ACRE_SCHEMA_VERSION)
        return acre_error_set(err, ACRE_EIO, NULL, "schema_version",
                              "the store %s has schema version %d; this acre knows up to %d", path,
                              v, ACRE_SCHEMA_VERSION);
    if (v < ACRE_SCHEMA_VERSION && (rc = migrate(db, v, err)))
        return rc;
    return add_missing_tables(db, err);
}
