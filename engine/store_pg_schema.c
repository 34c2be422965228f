/* engine/store_pg_schema.c — the PostgreSQL store's schema (SPEC 13): made on first use,
 * migrated from an older version, a newer or a foreign one refused (engine/store_pg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_pg.h"

/* The schema version of the database is the one row of acre_schema, a table SQLite's store has
 * no counterpart of (it keeps its version in PRAGMA user_version) and acre copy does not copy. */

static void ddl(acre_buf *b, const acre_table *t)
{
    static const char *const types[] = {" TEXT COLLATE \"C\"", " BIGINT", " TEXT COLLATE \"C\""};
    int part = strcmp(t->name, "gaming_activity") == 0 || strcmp(t->name, "trading_activity") == 0;
    acre_buf_printf(b, "CREATE TABLE IF NOT EXISTS \"%s\"(", t->name);
    for (int i = 0; i < t->ncols; i++)
        acre_buf_printf(b, "%s\"%s\"%s%s", i ? ", " : "", t->cols[i].name, types[t->cols[i].type],
                        t->cols[i].notnull ? " NOT NULL" : "");
    acre_buf_adds(b, ", PRIMARY KEY(");
    for (int i = 0; i < t->nkey; i++)
        acre_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[t->key[i]].name);
    acre_buf_printf(b, "))%s;\n", part ? " PARTITION BY RANGE (\"date\")" : "");
    if (t->index[0]) {
        acre_buf_printf(b, "CREATE INDEX IF NOT EXISTS \"%s_by\" ON \"%s\"(", t->name, t->name);
        for (int i = 0; t->index[i]; i++)
            acre_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->index[i]);
        acre_buf_adds(b, ");\n");
    }
}

/* The tables (and indexes) acre_store_tables() has and the database lacks, made; the counters
 * a new SQLite store starts with, where missing; the version written. The first use of a new
 * database makes everything; a database of an older version gets the tables made since. */
static int make_tables(pg_backend *pb, acre_error *err)
{
    acre_buf b = {0};
    int rc;
    for (const acre_table *const *t = acre_store_tables(); *t; t++)
        ddl(&b, *t);
    acre_buf_adds(&b,
                  "CREATE INDEX IF NOT EXISTS txn_date ON txn(transaction_date, transaction_id, "
                  "seq, customer_id, transaction_type, amount_currency, currency, status, "
                  "amount_usd);\n"
                  "CREATE INDEX IF NOT EXISTS txn_customer ON txn(customer_id);\n"
                  "CREATE INDEX IF NOT EXISTS bonus_event_time ON bonus_event(timestamp);\n"
                  "CREATE INDEX IF NOT EXISTS bonus_event_user ON bonus_event(user_id);\n"
                  "CREATE INDEX IF NOT EXISTS event_seq ON event(seq);\n"
                  "CREATE INDEX IF NOT EXISTS event_customer ON event(customer_id);\n"
                  "CREATE INDEX IF NOT EXISTS gaming_activity_customer ON "
                  "gaming_activity(customer_id);\n"
                  "CREATE INDEX IF NOT EXISTS trading_activity_customer ON "
                  "trading_activity(customer_id);\n"
                  "INSERT INTO counter VALUES('seq', 0), ('log_from', 0), ('log_after', -1) "
                  "ON CONFLICT DO NOTHING;\n"
                  "CREATE TABLE IF NOT EXISTS acre_schema(version BIGINT NOT NULL);\n"
                  "DELETE FROM acre_schema;\n");
    acre_buf_printf(&b, "INSERT INTO acre_schema VALUES(%d);\n", ACRE_SCHEMA_VERSION);
    if (b.oom) {
        acre_buf_free(&b);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    rc = acre_pg_exec(pb, b.p, "making the schema", err);
    acre_buf_free(&b);
    return rc;
}

/* What the database holds: *version acre's schema version (0: none), *tables acre's tables
 * found, *others the tables of its schema that are not acre's (a month's partition is acre's). */
static int survey(pg_backend *pb, long *version, long *tables, long *others, int *have,
                  acre_error *err)
{
    acre_buf b = {0}, names = {0};
    PGresult *r;
    long core;
    for (const acre_table *const *t = acre_store_tables(); *t; t++)
        acre_buf_printf(&names, ", '%s'", (*t)->name);
    acre_buf_printf(&b,
                    "SELECT coalesce(bool_or(tablename = 'acre_schema'), false), count(*) FILTER "
                    "(WHERE tablename IN (''%s)), count(*) FILTER (WHERE tablename NOT IN "
                    "('acre_schema'%s) AND tablename !~ "
                    "'^(gaming|trading)_activity_[0-9]{4}_[0-9]{2}$'), count(*) FILTER (WHERE "
                    "tablename IN ('counter', 'ingest_batch')) FROM pg_tables WHERE "
                    "schemaname = current_schema()",
                    names.p ? names.p : "", names.p ? names.p : "");
    if (names.oom)
        b.oom = 1;
    acre_buf_free(&names);
    if (b.oom) {
        acre_buf_free(&b);
        return acre_error_set(err, ACRE_ENOMEM, NULL, NULL, "out of memory");
    }
    r = PQexec(pb->db, b.p);
    acre_buf_free(&b);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        PQclear(r);
        return acre_pg_fail(pb, "reading the schema", err);
    }
    *have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    *tables = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    *others = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    core = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    PQclear(r);
    /* a store made by acre before acre_schema (its first PostgreSQL version, 9): acre's tables,
     * counter and ingest_batch among them, and nothing else */
    *version = !*have && core == 2 && *others == 0 ? 9 : 0;
    if (!*have)
        return 0;
    r = PQexec(pb->db, "SELECT coalesce(max(version), 0) FROM acre_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        PQclear(r);
        return acre_pg_fail(pb, "reading the schema version", err);
    }
    *version = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

static int count_tables(void)
{
    int n = 0;
    for (const acre_table *const *t = acre_store_tables(); *t; t++)
        n++;
    return n;
}

/* The database's schema checked, and made or migrated (under the write lock, looked at again
 * there: another process may have made it meanwhile). create 0: a database without acre's
 * schema is refused as a missing store (SPEC 13), and nothing is written. */
int acre_pg_schema(pg_backend *pb, int create, acre_error *err)
{
    long version = 0, tables = 0, others = 0;
    int rc, locked = 0, have = 0;
    for (;;) {
        if ((rc = survey(pb, &version, &tables, &others, &have, err)))
            break;
        if (version > ACRE_SCHEMA_VERSION) {
            rc = acre_error_set(err, ACRE_EIO, NULL, "schema_version",
                                "the store (database %s) has schema version %ld; this acre knows "
                                "up to %d",
                                PQdb(pb->db), version, ACRE_SCHEMA_VERSION);
            break;
        }
        if (version == 0 && (others > 0 || tables > 0)) {
            rc = acre_error_set(err, ACRE_EUSAGE, NULL, "foreign_store",
                                "the database %s is not an acre store (it has tables and no acre "
                                "schema); acre leaves it as it is: name an acre store, or a new "
                                "database, with --db",
                                PQdb(pb->db));
            break;
        }
        if (version == 0 && !create) {
            rc = acre_error_set(err, ACRE_EUSAGE, NULL, "missing_store",
                                "no store in the database %s: only ingest, plan add and replay "
                                "--into create one",
                                PQdb(pb->db));
            break;
        }
        if (version == ACRE_SCHEMA_VERSION && tables == count_tables() && have)
            break; /* whole */
        if (locked) {
            rc = make_tables(pb, err);
            break;
        }
        if ((rc = acre_pg_exec(pb, "BEGIN; SET LOCAL lock_timeout = '300s'; SELECT " WRITE_LOCK,
                               "making the schema", err)))
            return rc;
        locked = 1;
    }
    if (locked)
        rc = rc ? (acre_pg_exec(pb, "ROLLBACK", "rolling back", NULL), rc)
                : acre_pg_exec(pb, "COMMIT", "making the schema", err);
    return rc;
}
