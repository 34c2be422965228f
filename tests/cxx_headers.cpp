// tests/cxx_headers.cpp — the public headers compile and link as C++ (their extern "C" guards).
// One function of each header is referenced: a header without the guard would leave a mangled
// name that does not link. acre.h brings the module headers; each sys/ header is named here
// (tests/headers.cmake checks that every one is).
#include <acre.h>
#include <acre/sys/alloc.h>
#include <acre/sys/rule.h>
#include <acre/sys/store.h>

// A function's address kept in a volatile variable: the reference stays, optimized or not.
template <typename F> static bool linked(F *f)
{
    F *volatile p = f;
    return p != nullptr;
}

int main()
{
    acre_error e;
    acre_dec d;
    char digest[ACRE_LEDGER_DIGEST_SIZE];
    acre_error_clear(&e);
    acre_dec_init(&d);
    int rc = acre_dec_parse_stored(&d, "-3175/27", &e);
    acre_dec_clear(&d);
    bool ok = rc == 0 && acre_rule_kinds[0] != nullptr && acre_kind_name(0) != nullptr &&
              acre_ledger_digest(digest, "{}", 2) == ACRE_ERROR;
    ok = ok && linked(acre_store_open) && linked(acre_ingest) && linked(acre_plan_add) &&
         linked(acre_close_period) && linked(acre_ledger_get) && linked(acre_ledger_write) &&
         linked(acre_audit_run) && linked(acre_verify) && linked(acre_simulate) &&
         linked(acre_alloc_count) && linked(acre_store_tables) && linked(acre_val_text);
    return ok ? 0 : 1;
}
