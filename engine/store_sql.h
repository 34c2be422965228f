/* engine/store_sql.h — query shapes as SQL (engine/store_sql.c; internal). */
#ifndef ACRE_ENGINE_STORE_SQL_H
#define ACRE_ENGINE_STORE_SQL_H

#include "acre/sys/store.h"
#include "buf.h"

/* What differs between the SQL dialects acre writes. */
typedef struct acre_sql_dialect {
    char param;      /* parameters as ?1 (SQLite) or $1 (PostgreSQL) */
    int on_conflict; /* ACRE_Q_REPLACE as INSERT ... ON CONFLICT (key) DO UPDATE, not INSERT OR
                      * REPLACE; and NULLs sorted first ascending (last descending), as SQLite
                      * sorts them, said in each ORDER BY */
    int lateral;     /* ACRE_Q_RECORDS as a LATERAL nested loop by key, not IN (subquery):
                      * PostgreSQL hashes the whole table for IN on a table growing in the
                      * transaction (its statistics say it is small), SQLite seeks by key */
    const char *ref; /* NULL, or parameters written as columns: ref then the number ("k.p1"),
                      * a query run for every row of a set of parameters (engine/store_pg_sets.c) */
} acre_sql_dialect;

extern const acre_sql_dialect acre_sql_sqlite, acre_sql_postgres, acre_sql_postgres_sets;

/* Builds q's SQL into b, its parameters numbered from 1 in the order include/acre/sys/store.h
 * gives (*np of them; *ncols columns returned); checks every name against t (ACRE_EUSAGE). A
 * SELECT orders by its sort columns, then the key's others, so that every backend gives the
 * same rows in the same order. */
int acre_sql_build(acre_buf *b, const acre_sql_dialect *d, const acre_table *t, const acre_query *q,
                   int *np, int *ncols, acre_error *err);

/* A SELECT's ORDER BY list as acre_sql_build writes it (its sort columns, then the key's
 * others, in its direction), each column after `qual` ("v."); and whether every one of those
 * columns is one the SELECT returns. */
void acre_sql_order(acre_buf *b, const acre_sql_dialect *d, const acre_table *t,
                    const acre_query *q, const char *qual);
int acre_sql_order_selected(const acre_table *t, const acre_query *q);

int acre_table_col(const acre_table *t, const char *name);

#endif
