#!/usr/bin/env python3
"""tools/gen-openapi.py [OUT] — writes docs/openapi.json, the OpenAPI 3.1 document of
`acre serve` (docs/api.md; SPEC 11), which the server answers at GET /api/v1/openapi.json.

The record kinds' fields are those of engine/validate.c (SPEC 3). tests/api.py checks that the
committed document is this script's output, that it is a valid OpenAPI 3.1 document, and that
every answer the test receives matches the document (with an independent validator from npm:
tests/openapi-check.mjs)."""
import json
import sys

# field: (JSON Schema of the value as sent, of the value as read back)
ID = ({"type": "string", "minLength": 1, "maxLength": 500},) * 2
STR = ({"type": "string", "maxLength": 500},) * 2
MONEY_IN = {"oneOf": [{"type": "number"},
                      {"type": "string", "pattern": r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$"}],
            "description": "an exact decimal, at most 15 significant digits, as a JSON number "
                           "or a string in the JSON number grammar"}
MONEY = (MONEY_IN, {"type": "number", "description": "the exact decimal stored"})
INT = ({"type": "integer", "minimum": 0},) * 2
VERSION = ({"type": "integer", "minimum": 1},) * 2
DATE = ({"type": "string", "format": "date"},) * 2
MONTH = ({"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"},) * 2
DATETIME = ({"type": "string", "description": "ISO 8601 with an offset"},
            {"type": "string", "description": "UTC, to the nanosecond",
             "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$"})
CURRENCY = ({"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"},) * 2
COUNTRY = ({"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"},) * 2
LANG = ({"type": "string", "pattern": "^[a-z]{2}$", "description": "ISO 639-1"},) * 2
OBJ = ({"type": "object"},) * 2
URL = ({"type": "string", "maxLength": 500, "pattern": "^https?://[^/ ]",
        "description": "http or https; where the affiliate's postbacks go"},) * 2
OBJ_OR_STR = ({"type": ["object", "string"]},) * 2


# the payout row's columns (SPEC 10), and a currency total's
PAYOUT_COLS = ["affiliate_id", "name", "currency", "earned", "brought_forward", "total",
               "min_payout", "payable", "carried_forward", "status"]
PAYOUT_TOTALS = ["currency", "earned", "brought_forward", "total", "payable", "carried_forward"]

def enum(*values):
    return ({"type": "string", "enum": list(values)},) * 2


CUSTOMER = [("customer_id", ID, True), ("signup_date", DATETIME, True),
            ("affiliate_id", ID, True), ("tracking_data", OBJ_OR_STR, "igaming"),
            ("last_modified_date", DATETIME, False), ("campaign_id", STR, False),
            ("click_id", STR, False), ("lang_id", LANG, False), ("country_code", COUNTRY, False),
            ("kyc_status_id", STR, False), ("sales_status_id", STR, False),
            ("first_name", STR, False), ("last_name", STR, False), ("email", STR, False)]
PROP_CUSTOMER = [("challenge_type", STR, False), ("phase", STR, False),
                 ("account_size", MONEY, False)]


def txn(types):
    return [("transaction_id", ID, True), ("customer_id", ID, True),
            ("transaction_type", enum(*types), True), ("amount_currency", MONEY, True),
            ("currency", CURRENCY, True), ("transaction_date", DATETIME, True),
            ("status", STR, True), ("amount_usd", MONEY, False),
            ("transaction_subtype", STR, False), ("note", STR, False)]


KINDS = {
    "affiliates": [("affiliate_id", ID, True), ("name", STR, False),
                   ("parent_affiliate_id", ID, False), ("currency", CURRENCY, False),
                   ("min_payout", MONEY, False), ("postback_url", URL, False)],
    "assignments": [("affiliate_id", ID, True), ("plan_id", ID, True),
                    ("effective_from", MONTH, True), ("plan_version", VERSION, False),
                    ("effective_to", MONTH, False)],
    "igaming/customers": [(n, s, r is True or r == "igaming") for n, s, r in CUSTOMER],
    "prop-trading/customers": [(n, s, r is True) for n, s, r in CUSTOMER] + PROP_CUSTOMER,
    "igaming/transactions": txn(["deposit", "withdrawal", "bonus", "adjustment", "other"]),
    "prop-trading/transactions": txn(["challenge_fee", "payout", "reset_fee", "refund",
                                      "adjustment", "other"]),
    "igaming/gaming-activity": [("date", DATE, True), ("customer_id", ID, True),
                                ("game_type", ID, True), ("currency", CURRENCY, True),
                                ("bets_count", INT, False), ("total_bets", MONEY, False),
                                ("wins", MONEY, False), ("ggr", MONEY, False),
                                ("ngr", MONEY, False)],
    "prop-trading/trading-activity": [("date", DATE, True), ("customer_id", ID, True),
                                      ("instrument", ID, True), ("currency", CURRENCY, True),
                                      ("lots_traded", MONEY, True), ("pnl", MONEY, True),
                                      ("drawdown", MONEY, False),
                                      ("max_drawdown", MONEY, False)],
    "bonus-events": [("user_bonus_id", ID, True),
                     ("status", enum("Pending", "Created", "Ongoing", "Completed",
                                     "AutoCompleted", "Forfeited", "Expired", "Lost",
                                     "Reversed"), True),
                     ("amount", MONEY, True), ("bonus_id", ID, True), ("currency", CURRENCY, True),
                     ("exchange_rate", MONEY, True), ("origin", STR, True),
                     ("product", enum("Casino", "Sportsbook", "Lotto", "Poker"), True),
                     ("timestamp", DATETIME, True),
                     ("type", enum("NoDeposit", "WelcomeBonus", "CashbackBonus", "ReloadBonus",
                                   "WagerFree", "FreeSpins", "RiskFreeBet", "Undefined"), True),
                     ("user_id", ID, True), ("bonus_code", STR, False),
                     ("bonus_turned_real", MONEY, False), ("locked_amount", MONEY, False),
                     ("meta", OBJ, False), ("required_wagering_amount", MONEY, False),
                     ("fasttrack_references", OBJ, False)],
    "flags": [("customer_id", ID, True),
              ("flag", enum("fraud", "bonus_abuse", "multi_account", "self_excluded"), True),
              ("flagged_at", DATETIME, True), ("cleared_at", DATETIME, False)],
    "fx-rates": [("date", DATE, True), ("currency", CURRENCY, True), ("usd_rate", MONEY, True)],
}
FILTERS = {  # the GET filters each kind has (engine/records.c)
    "customer_id": lambda f: "customer_id" in f or "user_id" in f,
    "affiliate_id": lambda f: "affiliate_id" in f,
    "from": lambda f: any(d in f for d in ("date", "transaction_date", "timestamp",
                                          "signup_date", "flagged_at")),
}


def name(kind):
    return "".join(p.capitalize() for p in kind.replace("/", "-").split("-"))


def record(kind, out):
    fields = KINDS[kind]
    props = {n: s[1 if out else 0] for n, s, _ in fields}
    req = [n for n, _, r in fields if r]
    return {"type": "object", "properties": props, "required": req,
            "additionalProperties": False}


def ref(n):
    return {"$ref": "#/components/schemas/" + n}


def response(desc, schema=None, media="application/json", headers=None):
    r = {"description": desc}
    if schema is not None:
        r["content"] = {media: {"schema": schema}}
    if headers:
        r["headers"] = headers
    return r


def errors(*codes):
    text = {400: "INVALID_REQUEST", 401: "UNAUTHORIZED (WWW-Authenticate: Bearer)",
            403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
            409: "IDEMPOTENCY_CONFLICT", 413: "PAYLOAD_TOO_LARGE",
            415: "UNSUPPORTED_MEDIA_TYPE",
            422: "VALIDATION_ERROR or IDEMPOTENCY_KEY_REUSED",
            429: "RATE_LIMITED", 500: "INTERNAL"}
    out = {}
    for c in codes:
        hdr = {"Retry-After": {"schema": {"type": "integer"}}} if c == 429 else None
        out[str(c)] = response(text[c], ref("Error"), headers=hdr)
    return out


def security(*scopes):
    return [{"oauth2": list(scopes)}]


def main():
    schemas = {
        "Error": {"type": "object", "required": ["error", "message", "trace_id", "details"],
                  "additionalProperties": False,
                  "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                 "trace_id": {"type": "string"},
                                 "details": {"type": ["array", "null"]}}},
        "OAuthError": {"type": "object", "required": ["error"],
                       "properties": {"error": {"enum": ["invalid_request", "invalid_client",
                                                         "unsupported_grant_type",
                                                         "invalid_scope"]},
                                      "error_description": {"type": "string"}}},
        "Token": {"type": "object", "additionalProperties": False,
                  "required": ["access_token", "token_type", "expires_in", "scope"],
                  "properties": {"access_token": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                 "token_type": {"const": "Bearer"},
                                 "expires_in": {"const": 3600}, "scope": {"type": "string"}}},
        "Summary": {"type": "object", "additionalProperties": False,
                    "required": ["kind", "received", "inserted", "updated", "unchanged",
                                 "rejected"],
                    "properties": {"kind": {"type": "string"},
                                   **{k: {"type": "integer", "minimum": 0}
                                      for k in ("received", "inserted", "updated", "unchanged",
                                                "rejected")}}},
        "Meta": {"type": "object", "additionalProperties": False,
                 "required": ["total", "page", "per_page", "next_cursor"],
                 "properties": {"total": {"type": "integer", "minimum": 0},
                                "page": {"type": "integer", "minimum": 0},
                                "per_page": {"type": "integer", "minimum": 1, "maximum": 500},
                                "next_cursor": {"type": ["string", "null"]}}},
        "Period": {"type": "object", "additionalProperties": False,
                   "required": ["period", "digest", "previous_digest"],
                   "properties": {"period": MONTH[0],
                                  "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
                                  "previous_digest": {"type": ["string", "null"]}}},
        "Ledger": {"type": "object", "required": ["format", "period", "affiliates"],
                   "properties": {"format": {"const": "acre-ledger/1"}, "period": MONTH[0],
                                  "affiliates": {"type": "array"}, "digest": {"type": "string"},
                                  "extract_of": {"type": "string"}},
                   "oneOf": [{"required": ["digest"]}, {"required": ["extract_of"]}],
                   "description": "docs/close.md: the ledger document; with affiliate= (or an "
                                  "affiliate:ID token) that affiliate's extract, whose "
                                  "extract_of is the whole ledger's digest"},
        "Payouts": {
            "type": "object", "additionalProperties": False,
            "required": ["period", "digest", "affiliates", "totals"],
            "description": "acre payouts (SPEC 10): each affiliate's row, then a total per "
                           "currency; amounts are the ledger's decimal texts",
            "properties": {
                "period": MONTH[0], "digest": {"type": "string"},
                "affiliates": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": PAYOUT_COLS,
                    "properties": {**{c: {"type": "string"} for c in PAYOUT_COLS},
                                   "status": {"enum": ["paid", "below_min_payout", "negative",
                                                       "zero"]}}}},
                "totals": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": PAYOUT_TOTALS + ["affiliates", "paid"],
                    "properties": {**{c: {"type": "string"} for c in PAYOUT_TOTALS},
                                   "affiliates": {"type": "integer", "minimum": 1},
                                   "paid": {"type": "integer", "minimum": 0}}}}}},
        "Head": {"type": "object", "additionalProperties": False, "required": ["period", "digest"],
                 "properties": {"period": MONTH[0], "digest": {"type": "string"}}},
        "Health": {"type": "object", "additionalProperties": False,
                   "required": ["status", "schema_version"],
                   "properties": {"status": {"const": "ok"},
                                  "schema_version": {"type": "integer"}}},
    }
    page_params = [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "per_page", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"},
         "description": "next_cursor of the page before (not with page)"}]
    rid = {"name": "X-Request-ID", "in": "header", "schema": {"type": "string", "maxLength": 64}}
    idem = {"name": "Idempotency-Key", "in": "header",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
    paths = {
        "/health": {"get": {"summary": "liveness and schema version", "security": [],
                            "responses": {"200": response("up", ref("Health"))}}},
        "/oauth/token": {"post": {
            "summary": "an access token (RFC 6749 4.4, client credentials)", "security": [],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["grant_type"],
                    "properties": {"grant_type": {"const": "client_credentials"},
                                   "client_id": {"type": "string"},
                                   "client_secret": {"type": "string"},
                                   "scope": {"type": "string"}}}}}},
            "responses": {"200": response("the token (Cache-Control: no-store)", ref("Token")),
                          "400": response("RFC 6749 5.2", ref("OAuthError")),
                          "401": response("invalid_client", ref("OAuthError")),
                          "429": response("RATE_LIMITED", ref("Error"))}}},
        "/metrics": {"get": {"summary": "Prometheus text", "security": security("finance"),
                             "responses": {"200": response("the metrics", {"type": "string"},
                                                           "text/plain"),
                                           **errors(401, 403, 429, 500)}}},
        "/api/v1/openapi.json": {"get": {"summary": "this document (any token)",
                                         "security": security(),
                                         "responses": {"200": response("OpenAPI 3.1",
                                                                       {"type": "object"}),
                                                       **errors(401, 429, 500)}}},
        "/api/v1/periods": {"get": {
            "summary": "closed periods with their digests, oldest first",
            "security": security("finance") + security("read"), "parameters": page_params,
            "responses": {"200": response("a page", {
                "type": "object", "additionalProperties": False, "required": ["data", "meta"],
                "properties": {"data": {"type": "array", "items": ref("Period")},
                               "meta": ref("Meta")}}), **errors(400, 401, 403, 429, 500)}}},
    }
    period = {"name": "period", "in": "path", "required": True, "schema": MONTH[0]}
    ledger_formats = {"application/json": {"schema": ref("Ledger")},
                      "text/csv": {"schema": {"type": "string"}},
                      "text/plain": {"schema": {"type": "string",
                                                "description": "hledger, beancount or summary"}}}
    fmt = {"name": "format", "in": "query",
           "schema": {"enum": ["json", "csv", "hledger", "beancount", "summary"]}}
    flag = lambda n: {"name": n, "in": "query", "schema": {"type": "boolean"}}
    paths["/api/v1/periods/{period}/preview"] = {"post": {
        "summary": "compute PERIOD as a close would; store nothing",
        "security": security("finance"), "parameters": [period, fmt, flag("allow_gap")],
        "responses": {"200": {"description": "the ledger", "content": ledger_formats},
                      **errors(400, 401, 403, 404, 422, 429, 500)}}}
    paths["/api/v1/periods/{period}/close"] = {"post": {
        "summary": "close PERIOD: its ledger stored, the new head",
        "security": security("finance"), "parameters": [period, flag("early"), flag("allow_gap")],
        "responses": {"200": response("closed", ref("Head")),
                      **errors(400, 401, 403, 404, 422, 429, 500)}}}
    paths["/api/v1/ledgers/{period}"] = {"get": {
        "summary": "a closed ledger; an affiliate:ID token gets its own affiliate's only",
        "security": security("finance") + security("affiliate:ID"),
        "parameters": [period, fmt, {"name": "affiliate", "in": "query",
                                     "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the ledger", "content": ledger_formats},
                      **errors(400, 401, 403, 404, 429, 500)}}}
    paths["/api/v1/payouts/{period}"] = {"get": {
        "summary": "what to pay each affiliate of a closed period (acre payouts); an "
                   "affiliate:ID token gets its own row only",
        "security": security("finance") + security("affiliate:ID"),
        "parameters": [period, {"name": "format", "in": "query",
                                "schema": {"enum": ["json", "csv"]}},
                       {"name": "affiliate", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the payouts",
                              "content": {"application/json": {"schema": ref("Payouts")},
                                          "text/csv": {"schema": {"type": "string"}}}},
                      **errors(400, 401, 403, 404, 429, 500)}}}
    paths["/api/v1/affiliates/{affiliate_id}/statements/{period}"] = {"get": {
        "summary": "the statement finance sends an affiliate for a closed period (acre "
                   "statement); an affiliate:ID token gets its own only",
        "security": security("finance") + security("affiliate:ID"),
        "parameters": [{"name": "affiliate_id", "in": "path", "required": True,
                        "schema": {"type": "string"}},
                       period, {"name": "format", "in": "query",
                                "schema": {"enum": ["html", "text"]}}],
        "responses": {"200": {"description": "the statement: one self-contained HTML page "
                                             "(the default), or text",
                              "content": {"text/html": {"schema": {"type": "string"}},
                                          "text/plain": {"schema": {"type": "string"}}}},
                      **errors(400, 401, 403, 404, 429, 500)}}}
    post_codes = errors(400, 401, 403, 409, 413, 415, 422, 429, 500)
    for kind in KINDS:
        n = name(kind)
        schemas[n] = record(kind, False)
        schemas[n + "Stored"] = record(kind, True)
        fields = [f for f, _, _ in KINDS[kind]]
        filters = [{"name": f, "in": "query", "schema": {"type": "string"}}
                   for f in ("customer_id", "affiliate_id") if FILTERS[f](fields)]
        if FILTERS["from"](fields):
            filters += [{"name": f, "in": "query", "schema": DATE[0]} for f in ("from", "to")]
        filters.append({"name": "updated_since", "in": "query", "schema": {"type": "string"}})
        paths[f"/api/v1/{kind}"] = {
            "post": {"summary": f"validate and store {kind} records, all or nothing",
                     "security": security("ingest"), "parameters": [idem, rid],
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": {"oneOf": [
                             {"type": "array", "maxItems": 1000, "items": ref(n)},
                             {"type": "object", "required": ["data"],
                              "properties": {"data": {"type": "array", "maxItems": 1000,
                                                      "items": ref(n)},
                                             "meta": {}},
                              "additionalProperties": False}]}},
                         "application/x-ndjson": {"schema": {"type": "string",
                                                             "description": "one record a line"}}}},
                     "responses": {"200": response("stored (Idempotent-Replayed: true for a "
                                                   "kept answer)", ref("Summary")),
                                   **post_codes}},
            "get": {"summary": f"current versions of {kind} records, in key order",
                    "security": security("read"), "parameters": filters + page_params,
                    "responses": {"200": response("a page", {
                        "type": "object", "additionalProperties": False,
                        "required": ["data", "meta"],
                        "properties": {"data": {"type": "array", "items": ref(n + "Stored")},
                                       "meta": ref("Meta")}}),
                                  **errors(400, 401, 403, 429, 500)}}}
    paths["/v1/integration/bonus"] = {"post": {
        "summary": "Fast Track's bonus event, one a request", "security": security("ingest"),
        "parameters": [idem, rid],
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": ref("BonusEvents")}}},
        "responses": {"200": response("stored", ref("Summary")), **post_codes}}}
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "acre", "version": "1",
                 "description": "The HTTP API of acre serve (docs/api.md). Records follow "
                                "SPEC 3; errors are {error, message, trace_id, details}."},
        "servers": [{"url": "https://127.0.0.1:8360"}],
        "security": security(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": {"ingest": "POST records", "read": "GET records and periods",
                           "finance": "preview, close, periods, ledgers, payouts, statements, "
                                      "metrics",
                           "affiliate:ID": "that affiliate's own ledger lines, payouts row "
                                           "and statements"}}}}}},
    }
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.json"
    open(out, "w").write(text)


if __name__ == "__main__":
    main()
