/* engine/record.h — record kinds and one validated record (internal).
 *
 * Each KIND maps to a table whose columns hold canonical values: IDs and text as sent, money as
 * the shortest exact decimal text ("0.10" -> "0.1"), date-times as fixed-width UTC text, JSON
 * objects as canonical JSON with sorted keys. Two versions of a record are equal exactly when
 * their columns are equal, which is SPEC 9's "compares parsed values". */
#ifndef ACRE_ENGINE_RECORD_H
#define ACRE_ENGINE_RECORD_H

#include <jansson.h>

#include "acre/error.h"
#include "jsonval.h"

#define ACRE_MAX_COLS 20
#define ACRE_MAX_ERRORS 24

typedef enum acre_ftype {
    T_ID,         /* non-empty string */
    T_STR,        /* string */
    T_MONEY,      /* decimal, any sign */
    T_MONEY_NN,   /* decimal >= 0 */
    T_MONEY_POS,  /* decimal > 0 */
    T_INT_NN,     /* JSON integer >= 0 */
    T_VERSION,    /* JSON integer >= 1 */
    T_DATE,       /* YYYY-MM-DD */
    T_MONTH,      /* YYYY-MM */
    T_DATETIME,   /* ISO 8601 with offset -> UTC */
    T_CURRENCY,   /* ISO 4217 */
    T_COUNTRY,    /* ISO 3166-1 alpha-2 */
    T_LANG,       /* ISO 639-1 */
    T_ENUM,       /* one of a list */
    T_OBJ_OR_STR, /* object or string, stored as JSON */
    T_OBJ,        /* object, stored as JSON */
    T_URL,        /* an http or https URL */
    T_VERTICAL    /* not a field: the kind's vertical, stored in the row */
} acre_ftype;

/* F_NOT: a column of a shared table that this kind does not accept as a field. */
enum { F_REQ = 1, F_NOT = 2 };

typedef struct acre_field {
    const char *name;
    acre_ftype type;
    unsigned flags;
    const char *const *values; /* T_ENUM: NULL-terminated list */
    const char *dflt;          /* stored when absent (text), or NULL */
} acre_field;

typedef enum {
    CELL_NULL = 0,
    CELL_TEXT,
    CELL_INT,
    CELL_OTHER /* read from the store only: a value of another SQL type (a store edited by hand),
                * its text in s, equal to no record's value */
} acre_celltype;

typedef struct acre_cell {
    acre_celltype t;
    const char *s; /* CELL_TEXT: not NUL-terminated necessarily; see len */
    size_t len;
    long long i;
} acre_cell;

typedef struct acre_fielderr {
    char field[64];
    char rule[40];
    char message[300];
} acre_fielderr;

struct acre_kind;
struct acre_rec;
/* One kind's versions as stored so far in the open ingest transaction (engine/ingest_store.h):
 * what a kind's hooks may read. */
typedef struct acre_istore acre_istore;

/* A field that must name a stored record of another kind (SPEC 3 "References"): its value is
 * looked up as the key of `kind` (whose key is one column). A missing one is the record's error
 * "unknown_<table>", "FIELD: no <table> \"ID\" is stored", with the referenced kind's table. */
typedef struct acre_kind_ref {
    const char *field;
    const struct acre_kind *kind;
} acre_kind_ref;

#define ACRE_MAX_REFS 4

/* The batch's records, for a hook that reads them all: validates record i (0 <= i < n) again
 * and sets *cells to its cells (valid until the next call). Returns 1, 0 when the record has
 * field errors, or a negative code (err set). */
typedef int (*acre_batch_rec_fn)(void *ctx, long i, const acre_cell **cells, acre_error *err);

/* A record kind: its table row (fields, key, table) and the rules beyond its fields' own, as
 * hooks that engine/ingest.c calls. Each hook is optional: NULL when the kind has none. A new
 * kind is a row here; engine/store.c makes its table from the row. */
typedef struct acre_kind {
    const char *name;      /* as on the command line: "igaming/customers" */
    const char *table;     /* SQL table */
    const char *vertical;  /* "igaming", "prop-trading", or NULL */
    const acre_field *cols; /* the table's columns, key first; kinds sharing a table list the
                               same names in the same order */
    int ncols, nkey;
    const acre_kind_ref *refs; /* checked in order, for a record without field errors */
    int nrefs;                 /* at most ACRE_MAX_REFS */
    /* Rules across the record's own fields, for a record whose every field passed its own
     * checks: adds errors to r (gaming activity: ggr, or both total_bets and wins). */
    void (*fields)(const struct acre_kind *k, struct acre_rec *r);
    /* A rule that reads the store, for a record whose fields and references hold: adds errors
     * to r (assignments: no overlap). Returns 0, or a negative code (err set). */
    int (*check)(const struct acre_kind *k, struct acre_rec *r, acre_istore *is, acre_error *err);
    /* Whether the new version `neu` of a key replaces the stored `old` when they differ: 0
     * keeps the stored one and counts the record unchanged (customers: an older
     * last_modified_date). NULL: it always does. */
    int (*supersedes)(const struct acre_kind *k, const acre_cell *old, const acre_cell *neu);
    /* Rules across the whole batch, which later records of the same batch may satisfy
     * (affiliates: parents). When set, the batch's records are held until it is committed;
     * then this is called once, before any of them is stored, with its n records through
     * rec(ctx, i, ...), and sets verdict[i] (all NULL on entry) to the error of record i, or
     * leaves it NULL. Returns 0, or a negative code (err set). */
    int (*across)(const struct acre_kind *k, long n, acre_batch_rec_fn rec, void *ctx,
                  acre_istore *is, const acre_fielderr **verdict, acre_error *err);
} acre_kind;

/* All kinds, in the order docs/records.md lists them; NULL-terminated. */
extern const acre_kind *const acre_kinds[];
const acre_kind *acre_kind_find(const char *name);

typedef struct acre_rec {
    const acre_kind *kind;
    acre_cell cells[ACRE_MAX_COLS];
    size_t off[ACRE_MAX_COLS]; /* arena offsets while building */
    acre_buf arena;
    acre_fielderr errors[ACRE_MAX_ERRORS];
    int nerrors;
} acre_rec;

void acre_rec_init(acre_rec *r);
void acre_rec_free(acre_rec *r);

/* Validates one record against its kind's field rules and fills r->cells with canonical values.
 * Returns 0 when valid; otherwise r->errors lists every field error (ACRE_EINVALID). */
int acre_rec_validate(acre_rec *r, const acre_kind *k, const json_t *obj, const acre_numtab *t);

/* Adds an error to r (a reference error found later, say). */
void acre_rec_error(acre_rec *r, const char *field, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Column index by name, or -1. */
int acre_kind_col(const acre_kind *k, const char *name);

#endif
