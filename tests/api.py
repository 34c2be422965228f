#!/usr/bin/python3
"""tests/api.py ACRE FIXTURES [NPM_DIR] — `acre serve` (SPEC 11, docs/api.md) on a loopback port, driven
by real HTTP clients: requests-oauthlib's BackendApplicationClient (an OAuth 2.0 client library
that is not acre's) and curl.

What it proves, each number below worked out from the records sent:
- a token from /oauth/token (HTTP Basic and form credentials), its refresh after it expired;
- the spec-worked-example fixture pushed kind by kind through the API closes to the very ledger
  bytes the fixture expects (fixtures/spec-worked-example/expected/2026-03.json: 462.50);
- every error code of SPEC 11 this server has, provoked: 400, 401 (missing, unknown, expired,
  revoked), 403, 404, 405, 409, 413 (with and without Content-Length), 415, 422 (a record's
  errors the same as `acre ingest --atomic` reports; max_records; IDEMPOTENCY_KEY_REUSED), 429;
- Idempotency-Key replays the same answer without storing again;
- the transactions sent over HTTP make the customer's `qualified` event (SPEC 12);
- X-Request-ID is echoed and is the error's trace_id;
- records read back exactly as stored, filtered, paged by page and by a keyset cursor that a
  record stored between pages does not disturb;
- finance: preview and close of 2026-03 (the fixture's ledger bytes and digest), the refusals
  (not ended, a gap, closed already), periods, ledgers in JSON and CSV, an affiliate:ID token
  that reads its own lines and nothing else, /metrics' counts;
- SIGTERM lets a request in flight finish, then the server exits 0;
- docs/openapi.json is tools/gen-openapi.py's output, served as it is, a valid OpenAPI 3.1
  document, and every answer received matches it (tests/openapi/check.mjs, from npm, when a
  third argument names where npm may install).
Run with Debian's python3 (/usr/bin/python3), which has python3-requests-oauthlib."""
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import requests
from oauthlib.oauth2 import BackendApplicationClient, TokenExpiredError
from requests_oauthlib import OAuth2Session

ACRE = os.path.realpath(sys.argv[1])
# the store: an SQLite file in the test's folder, or the PostgreSQL database ACRE_TEST_STORE names
# (tests/with_pg.sh makes one on a throwaway cluster); sql() reads either
STORE = os.environ.get("ACRE_TEST_STORE") or "s.db"
PG = STORE.startswith("postgresql://")
FIXTURES = os.path.realpath(sys.argv[2])
REPO = os.path.dirname(FIXTURES)
NPM = os.path.realpath(sys.argv[3]) if len(sys.argv) > 3 else None  # where npm installs
passed = failed = 0

# every answer a requests session receives, for the OpenAPI check at the end
EXCHANGES = []
_send = requests.Session.send


def _logged_send(self, request, **kw):
    r = _send(self, request, **kw)
    path = requests.utils.urlparse(request.url).path
    EXCHANGES.append({"method": request.method, "path": path, "status": r.status_code,
                      "type": r.headers.get("Content-Type", ""), "body": r.text})
    return r


requests.Session.send = _logged_send


def check(name, want, got):
    global passed, failed
    if want == got:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}\n  want: {want!r}\n  got:  {got!r}")


def sql(query, *params):
    """The rows of query on the store, params in place of its ?s (the tests' own values)."""
    if not PG:
        db = sqlite3.connect(STORE, timeout=30, isolation_level=None)
        try:
            return db.execute(query, params).fetchall()
        finally:
            db.close()
    for v in params:
        lit = str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"
        query = query.replace("?", lit, 1)
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\x1f", STORE, "-c", query], check=True,
                         capture_output=True, text=True).stdout
    return [tuple(int(f) if re.fullmatch(r"-?[0-9]{1,18}", f) else f for f in line.split("\x1f"))
            for line in out.splitlines()]


def count(query, *params):
    return sql(query, *params)[0][0]


def acre(*args, stdin=None):
    p = subprocess.run([ACRE, "--db", STORE, *args], input=stdin, capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def start(*extra):
    p = subprocess.Popen([ACRE, "--db", STORE, "serve", "--listen", "127.0.0.1:0",
                          "--tls-cert", "cert.pem", "--tls-key", "key.pem", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = json.loads(p.stdout.readline())
    return p, "https://" + line["listening"]


def token_of(base, cred):
    """A token for the client `cred` (clients add's answer), by the OAuth2 client library."""
    return OAuth2Session(client=BackendApplicationClient(client_id=cred["client_id"])) \
        .fetch_token(token_url=base + "/oauth/token", client_id=cred["client_id"],
                     client_secret=cred["client_secret"])


def auth_of(token):
    return {"Authorization": "Bearer " + token["access_token"]}


def lock_store(seconds):
    """Holds the store's write lock from another connection for `seconds`, in a thread."""
    ready = threading.Event()

    def hold():
        if PG:  # the advisory lock every writer takes (engine/store_pg.c)
            p = subprocess.Popen(["psql", "-X", "-At", STORE], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
            p.stdin.write("BEGIN; SELECT pg_advisory_xact_lock(1634887013, 1); "
                          "SELECT 'locked';\n")
            p.stdin.flush()
            while (line := p.stdout.readline()) and line.strip() != "locked":
                pass
            if not line:
                raise RuntimeError("psql could not take the write lock")
            ready.set()
            time.sleep(seconds)
            p.communicate("ROLLBACK;\n")
            return
        db = sqlite3.connect("s.db", timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        db.execute("ROLLBACK")
        db.close()

    t = threading.Thread(target=hold)
    t.start()
    ready.wait()
    return t


def slow_loris(base, tok, ftok):
    """63 connections that dribble a request a byte every 0.4 s (never idle long enough for the
    30 s idle timeout) and one that dribbles a body: with --request-timeout 3 the server shuts
    each down once its request has taken more than 3 s, stores nothing of the slow body, counts
    them in /metrics, and serves again."""
    import socket
    import ssl
    ctx = ssl.create_default_context(cafile="cert.pem")
    host, port = base[len("https://"):].split(":")
    before = count("SELECT count(*) FROM ingest_batch")
    conns = []  # [tls socket, bytes still to send, opened at, closed at]
    for i in range(64):
        t = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
        if i < 63:
            rest = (f"GET /api/v1/affiliates?n={i} HTTP/1.1\r\nHost: x\r\n"
                    "X-Slow: " + "x" * 200 + "\r\n\r\n").encode()
        else:
            t.sendall(("POST /api/v1/affiliates HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer " + tok["access_token"] + "\r\n"
                       "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n").encode())
            rest = ('[{"affiliate_id":"slow"}]' + " " * 375).encode()
        t.settimeout(0.01)
        conns.append([t, rest, time.monotonic(), None])
    deadline = time.monotonic() + 60
    while any(c[3] is None for c in conns) and time.monotonic() < deadline:
        for c in conns:
            if c[3] is not None:
                continue
            try:
                if c[0].recv(1) == b"":
                    c[3] = time.monotonic()
                    continue
            except (ssl.SSLWantReadError, socket.timeout, TimeoutError):
                pass
            except OSError:
                c[3] = time.monotonic()
                continue
            try:
                c[0].send(c[1][:1])
                c[1] = c[1][1:]
            except OSError:
                c[3] = time.monotonic()
        time.sleep(0.4)
    lives = [c[3] - c[2] for c in conns if c[3] is not None]
    check("slow-loris: all 64 slow connections were shut down", 64, len(lives))
    check("... none before its 3 s (the request had not arrived: nothing answered)", True,
          min(lives or [0]) >= 2.0)
    check("... though none stopped sending", True, all(len(c[1]) > 0 for c in conns))
    for c in conns:
        c[0].close()
    check("slow body: nothing stored", (before, 0),
          (count("SELECT count(*) FROM ingest_batch"),
           count("SELECT count(*) FROM affiliate WHERE affiliate_id = 'slow'")))
    check("slow-loris: then the server serves", 200, requests.get(base + "/health").status_code)
    m = requests.get(base + "/metrics", headers=auth_of(ftok)).text
    check("slow-loris: counted in /metrics", "acre_http_connections_slow_total 64",
          [line for line in m.splitlines() if line.startswith("acre_http_connections_slow")][0])


def main():
    work = tempfile.mkdtemp(prefix="acre-api-")
    os.chdir(work)
    fx = os.path.join(FIXTURES, "spec-worked-example")

    # --- clients: the secret shown once, a scope checked against the store ---
    rc, out, _ = acre("clients", "add", "operator", "--scope", "ingest", "read")
    check("clients add", 0, rc)
    full = json.loads(out)
    check("clients add: the scope", "ingest read", full["scope"])
    check("clients add: a 64-digit secret", 64, len(full["client_secret"]))
    rc, _, err = acre("clients", "add", "x", "--scope", "affiliate:nobody")
    check("clients add: an unknown affiliate is exit 3", 3, rc)
    rc, _, err = acre("clients", "add", b"\xff", "--scope", "read")
    check("clients add: a name not UTF-8 is exit 2", (2, 1), (rc, err.count("UTF-8")))
    _, out, _ = acre("clients", "add", "reader", "--scope", "read")
    reader = json.loads(out)
    salt, hashed, iterations = sql(
        "SELECT salt, hash, iterations FROM api_client WHERE client_id = ?", full["client_id"])[0]
    check("the store keeps PBKDF2-HMAC-SHA256(secret, salt, 100000), not the secret",
          (100000, hashlib.pbkdf2_hmac("sha256", full["client_secret"].encode(), salt.encode(),
                                       100000).hex()),
          (iterations, hashed))
    check("... with a salt of 16 random bytes", 32, len(salt))

    # HTTPS with a certificate made here for 127.0.0.1: every client checks it
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    os.environ["REQUESTS_CA_BUNDLE"] = os.path.join(work, "cert.pem")
    server, base = start()
    try:
        p = subprocess.run(["curl", "-s", "--cacert", "cert.pem", base + "/health"],
                           capture_output=True)
        check("/health over HTTPS", {"status": "ok", "schema_version": 9},
              json.loads(p.stdout or b"null"))
        # the server refuses TLS 1.1 even to a client willing to speak it (SECLEVEL=0), and
        # speaks 1.2 to the same client
        hostport = base[len("https://"):]
        for version, want in (("-tls1_2", True), ("-tls1_1", False)):
            p = subprocess.run(["openssl", "s_client", version, "-cipher", "DEFAULT@SECLEVEL=0",
                                "-connect", hostport, "-CAfile", "cert.pem"],
                               input=b"", capture_output=True)
            check(f"s_client {version}: handshake", want,
                  b"Verify return code: 0 (ok)" in p.stdout and p.returncode == 0)
        p = subprocess.run(["curl", "-s", "http" + base[5:] + "/health"], capture_output=True)
        check("plain HTTP refused", True, p.returncode != 0 or not p.stdout.startswith(b"{"))
        # --- the token, by an OAuth2 client library (HTTP Basic) ---
        client = BackendApplicationClient(client_id=full["client_id"])
        oauth = OAuth2Session(client=client)
        tok = oauth.fetch_token(token_url=base + "/oauth/token", client_id=full["client_id"],
                                client_secret=full["client_secret"])
        check("token: Bearer", "Bearer", tok["token_type"])
        check("token: an hour", 3600, tok["expires_in"])
        check("token: the client's scope", ["ingest", "read"], tok["scope"])

        # --- the fixture's records through the API; its plan through the CLI (no endpoint) ---
        rc, _, _ = acre("plan", "add", os.path.join(fx, "plans", "casino-hybrid.json"))
        check("plan add", 0, rc)
        sent = [("affiliates", "affiliates.ndjson"), ("assignments", "assignments.ndjson"),
                ("igaming/customers", "customers.ndjson"),
                ("igaming/transactions", "transactions.ndjson"),
                ("igaming/gaming-activity", "activity.ndjson")]
        for kind, name in sent:
            body = open(os.path.join(fx, name), "rb").read()
            r = oauth.post(f"{base}/api/v1/{kind}", data=body,
                           headers={"Content-Type": "application/x-ndjson"})
            n = body.count(b"\n")
            check(f"POST {kind}: 200", 200, r.status_code)
            check(f"POST {kind}: the ingest summary", {"kind": kind, "received": n, "inserted": n,
                                                       "updated": 0, "unchanged": 0,
                                                       "rejected": 0}, r.json())
        # --- finance: preview, close, periods, ledgers, by a client with the finance scope ---
        want = open(os.path.join(fx, "expected", "2026-03.json")).read()
        digest = json.loads(want)["digest"]
        _, out, _ = acre("clients", "add", "finance", "--scope", "finance")
        fin = json.loads(out)
        ftok = token_of(base, fin)
        # the transactions POSTed made c_9's qualified event, before any close (SPEC 12): its
        # first deposit t_1, 50 EUR at 11:00+01:00, under casino-hybrid@1
        events = sql(
            "SELECT customer_id, plan, made_by, body::json->>'qualified_at', "
            "body::json->'ftd'->>'transaction_id' FROM event" if PG else
            "SELECT customer_id, plan, made_by, json_extract(body, '$.qualified_at'), "
            "json_extract(body, '$.ftd.transaction_id') FROM event")
        check("an ingest over HTTP makes the qualified event",
              [("c_9", "casino-hybrid@1", "ingest", "2026-03-04T10:00:00Z", "t_1")], events)
        fh = {"Authorization": "Bearer " + ftok["access_token"]}
        r = requests.post(base + "/api/v1/periods/2026-03/preview", headers=fh)
        check("preview: the fixture's ledger", (200, want), (r.status_code, r.text))
        r = requests.post(base + "/api/v1/periods/2026-03/preview", headers=auth_of(tok))
        check("preview needs finance: 403", 403, r.status_code)
        r = requests.post(base + "/api/v1/periods/2026-03/close", headers=fh)
        check("close: the period and its digest", (200, {"period": "2026-03", "digest": digest}),
              (r.status_code, r.json()))
        r = requests.post(base + "/api/v1/periods/2026-03/close", headers=fh)
        check("close again: 422, rule closed_in_order", (422, "closed_in_order"),
              (r.status_code, r.json()["details"][0]["rule"]))
        r = requests.post(base + "/api/v1/periods/9999-12/close", headers=fh)
        check("a month not ended: 422, rule early", (422, "early"),
              (r.status_code, r.json()["details"][0]["rule"]))
        r = requests.post(base + "/api/v1/periods/9999-12/close?early=true", headers=fh)
        check("early, but months between: 422, rule gap", (422, "gap"),
              (r.status_code, r.json()["details"][0]["rule"]))
        r = requests.get(base + "/api/v1/periods", headers=fh)
        check("periods", {"data": [{"period": "2026-03", "digest": digest,
                                    "previous_digest": None}],
                          "meta": {"total": 1, "page": 1, "per_page": 50, "next_cursor": None}},
              r.json())
        r = requests.get(base + "/api/v1/periods?per_page=501", headers=fh)
        check("per_page 501: 400", 400, r.status_code)
        rc, ledger, _ = acre("ledger", "2026-03")
        check("the stored ledger of the records sent over HTTP is the fixture's", want, ledger)
        check("... which pays aff_1 462.50", 1, ledger.count('"earned":"462.50"'))
        r = requests.get(base + "/api/v1/ledgers/2026-03", headers=fh)
        check("GET the ledger", (200, "application/json", want),
              (r.status_code, r.headers["Content-Type"], r.text))
        r = requests.get(base + "/api/v1/ledgers/2026-03?format=csv", headers=fh)
        check("GET the ledger as CSV: acre ledger --format csv's bytes",
              (200, acre("ledger", "2026-03", "--format", "csv")[1]), (r.status_code, r.text))
        r = requests.get(base + "/api/v1/ledgers/2026-04", headers=fh)
        check("a period not closed: 404", (404, "NOT_FOUND"), (r.status_code, r.json()["error"]))
        r = requests.get(base + "/api/v1/ledgers/2026-03?format=xml", headers=fh)
        check("format xml: 400", 400, r.status_code)
        # the payouts: acre payouts' bytes; aff_1's 462.50 paid (SPEC 6's example: no min_payout)
        r = requests.get(base + "/api/v1/payouts/2026-03", headers=fh)
        check("GET the payouts: acre payouts --format json's bytes",
              (200, "application/json", acre("payouts", "2026-03", "--format", "json")[1]),
              (r.status_code, r.headers["Content-Type"], r.text))
        row = [a for a in r.json()["affiliates"] if a["affiliate_id"] == "aff_1"]
        check("... aff_1 paid 462.50", [("462.50", "462.50", "paid")],
              [(a["total"], a["payable"], a["status"]) for a in row])
        r = requests.get(base + "/api/v1/payouts/2026-03?format=csv", headers=fh)
        check("GET the payouts as CSV", (200, acre("payouts", "2026-03")[1]), (r.status_code, r.text))
        r = requests.get(base + "/api/v1/payouts/2026-04", headers=fh)
        check("payouts of a period not closed: 404", 404, r.status_code)
        r = requests.get(base + "/api/v1/payouts/2026-03?format=summary", headers=fh)
        check("payouts format summary: 400", 400, r.status_code)
        r = requests.post(base + "/api/v1/payouts/2026-03", headers=fh)
        check("POST payouts: 405", (405, "GET"), (r.status_code, r.headers.get("Allow")))
        # the statements: acre statement's bytes, html by default
        r = requests.get(base + "/api/v1/affiliates/aff_1/statements/2026-03", headers=fh)
        check("GET a statement: acre statement's html",
              (200, "text/html; charset=utf-8",
               acre("statement", "2026-03", "--affiliate", "aff_1")[1]),
              (r.status_code, r.headers["Content-Type"], r.text))
        r = requests.get(base + "/api/v1/affiliates/aff_1/statements/2026-03?format=text",
                         headers=fh)
        check("GET a statement as text",
              (200, acre("statement", "2026-03", "--affiliate", "aff_1", "--format", "text")[1]),
              (r.status_code, r.text))
        check("... which pays aff_1 462.50 (SPEC 6's example)", 1,
              sum(1 for l in r.text.splitlines() if l.split()[:3] == ["payable", "462.50", "EUR"]))
        for what, path, status in (
                ("an affiliate not in the ledger", "aff_none/statements/2026-03", 404),
                ("a period not closed", "aff_1/statements/2026-04", 404),
                ("format pdf", "aff_1/statements/2026-03?format=pdf", 400)):
            r = requests.get(base + "/api/v1/affiliates/" + path, headers=fh)
            check(f"statement, {what}: {status}", status, r.status_code)
        # an affiliate's token reads its own lines, and nothing else
        _, out, _ = acre("clients", "add", "aff1", "--scope", "affiliate:aff_1")
        aff = json.loads(out)
        atok = token_of(base, aff)
        ah = {"Authorization": "Bearer " + atok["access_token"]}
        own = acre("ledger", "2026-03", "--affiliate", "aff_1")[1]
        r = requests.get(base + "/api/v1/ledgers/2026-03", headers=ah)
        check("affiliate:aff_1 without affiliate=: its own lines",
              (200, own), (r.status_code, r.text))
        r = requests.get(base + "/api/v1/ledgers/2026-03?affiliate=aff_1", headers=ah)
        check("affiliate:aff_1 naming itself", (200, own), (r.status_code, r.text))
        r = requests.get(base + "/api/v1/payouts/2026-03", headers=ah)
        check("affiliate:aff_1's payouts: its own row and totals",
              (200, acre("payouts", "2026-03", "--format", "json", "--affiliate", "aff_1")[1]),
              (r.status_code, r.text))
        check("... one row", 1, len(r.json()["affiliates"]))
        r = requests.get(base + "/api/v1/affiliates/aff_1/statements/2026-03", headers=ah)
        check("affiliate:aff_1's own statement",
              (200, acre("statement", "2026-03", "--affiliate", "aff_1")[1]),
              (r.status_code, r.text))
        for what, call in (("another affiliate's ledger",
                            lambda: requests.get(base + "/api/v1/ledgers/2026-03?affiliate=aff_2",
                                                 headers=ah)),
                           ("another affiliate's statement", lambda: requests.get(
                               base + "/api/v1/affiliates/aff_2/statements/2026-03",
                               headers=ah)),
                           ("another affiliate's payouts", lambda: requests.get(
                               base + "/api/v1/payouts/2026-03?affiliate=aff_2", headers=ah)),
                           ("the periods", lambda: requests.get(base + "/api/v1/periods",
                                                                headers=ah)),
                           ("a preview", lambda: requests.post(
                               base + "/api/v1/periods/2026-03/preview", headers=ah)),
                           ("a close", lambda: requests.post(
                               base + "/api/v1/periods/2026-04/close?early=true", headers=ah)),
                           ("records", lambda: requests.post(
                               base + "/api/v1/affiliates", json=[], headers=ah)),
                           ("records back", lambda: requests.get(
                               base + "/api/v1/igaming/customers", headers=ah)),
                           ("metrics", lambda: requests.get(base + "/metrics", headers=ah))):
            r = call()
            check(f"affiliate:aff_1 cannot read or write {what}: 403", 403, r.status_code)

        # --- read back: the current versions, exactly as stored (UTC date-times, exact
        # decimals as numbers), filtered and paged ---
        r = oauth.get(base + "/api/v1/igaming/transactions")
        check("GET transactions: what was sent, as stored",
              [{"transaction_id": "t_1", "customer_id": "c_9", "transaction_type": "deposit",
                "amount_currency": 50, "currency": "EUR",
                "transaction_date": "2026-03-04T10:00:00.000000000Z", "status": "approved"},
               {"transaction_id": "t_2", "customer_id": "c_9", "transaction_type": "bonus",
                "amount_currency": 250, "currency": "EUR",
                "transaction_date": "2026-03-05T12:00:00.000000000Z", "status": "approved"}],
              r.json()["data"])
        check("GET: meta", {"total": 2, "page": 1, "per_page": 50, "next_cursor": None},
              r.json()["meta"])
        act = base + "/api/v1/igaming/gaming-activity"
        first = oauth.get(act + "?per_page=1").json()
        check("page 1 of 2: the 4th", (["2026-03-04"], 2, True),
              ([d["date"] for d in first["data"]], first["meta"]["total"],
               first["meta"]["next_cursor"] is not None))
        # a record stored between the pages, before the cursor: the next page is unchanged
        # (after the close above, so its ledger is the fixture's)
        r = oauth.post(act, headers={"Content-Type": "application/x-ndjson"},
                       data='{"date":"2026-03-01","customer_id":"c_9","game_type":"live",'
                            '"currency":"EUR","ggr":"7.5"}\n')
        check("a row stored between pages", 1, r.json()["inserted"])
        second = oauth.get(act + "?per_page=1&cursor=" + first["meta"]["next_cursor"]).json()
        check("the cursor's next page: the 12th, the last", (["2026-03-12"], 3, None),
              ([d["date"] for d in second["data"]], second["meta"]["total"],
               second["meta"]["next_cursor"]))
        check("the new row, exactly", {"date": "2026-03-01", "customer_id": "c_9",
                                       "game_type": "live", "currency": "EUR", "ggr": 7.5},
              oauth.get(act + "?to=2026-03-01").json()["data"][0])
        check("page=2&per_page=1: the 4th", ["2026-03-04"],
              [d["date"] for d in oauth.get(act + "?page=2&per_page=1").json()["data"]])
        check("from=2026-03-05", ["2026-03-12"],
              [d["date"] for d in oauth.get(act + "?from=2026-03-05").json()["data"]])
        check("customer_id=nobody", 0, oauth.get(act + "?customer_id=nobody").json()["meta"]["total"])
        check("updated_since in 9999", 0,
              oauth.get(act + "?updated_since=9999-01-01T00:00:00Z").json()["meta"]["total"])
        check("updated_since 2000", 3,
              oauth.get(act + "?updated_since=2000-01-01T00:00:00%2B01:00").json()["meta"]["total"])
        check("customers by affiliate_id", ["c_9"],
              [d["customer_id"] for d in
               oauth.get(base + "/api/v1/igaming/customers?affiliate_id=aff_1").json()["data"]])
        for q, why in (("?from=2026-3-1", "from"), ("?cursor=zz", "cursor"),
                       ("?per_page=0", "per_page"), ("?page=1&cursor=00", "both")):
            check(f"GET {q}: 400", 400, oauth.get(act + q).status_code)
        check("affiliates have no customer_id: 400", 400,
              oauth.get(base + "/api/v1/affiliates?customer_id=c_9").status_code)


        # --- the same records again: unchanged upserts, no refusal as re-sent ---
        body = open(os.path.join(fx, "affiliates.ndjson"), "rb").read()
        r = oauth.post(base + "/api/v1/affiliates", data=body,
                       headers={"Content-Type": "application/x-ndjson"})
        check("sent again: unchanged", 1, r.json()["unchanged"])

        # --- a JSON array, and Fast Track's bonus path ---
        r = oauth.post(base + "/api/v1/affiliates",
                       json=[{"affiliate_id": "aff_2", "name": "Two"}])
        check("a JSON array", 1, r.json()["inserted"])
        bonus = {"amount": 10, "bonus_id": "b1", "currency": "EUR", "exchange_rate": 1,
                 "origin": "test", "product": "Casino", "status": "Created",
                 "timestamp": "2026-04-02T10:00:00Z", "type": "WelcomeBonus",
                 "user_bonus_id": "ub1", "user_id": "c_9"}
        r = oauth.post(base + "/v1/integration/bonus", json=bonus)
        check("bonus: stored", (200, "bonus-events", 1),
              (r.status_code, r.json()["kind"], r.json()["inserted"]))
        r = oauth.get(base + "/api/v1/bonus-events?customer_id=c_9")
        check("a bonus event by customer_id (its user_id)", ["ub1"],
              [d["user_bonus_id"] for d in r.json()["data"]])
        r = oauth.post(base + "/v1/integration/bonus", json=[bonus, dict(bonus, status="Ongoing")])
        check("bonus: one event per request", (422, "max_records"),
              (r.status_code, r.json()["details"][0]["errors"][0]["rule"]))

        auth = {"Authorization": "Bearer " + tok["access_token"]}
        js = dict(auth, **{"Content-Type": "application/json"})

        # --- 422: the record's errors, the same as the CLI's reject line ---
        bad = b'[{"affiliate_id":"aff_3","min_payout":"1.0000000000000000001"}]'
        r = requests.post(base + "/api/v1/affiliates", data=bad, headers=js)
        check("422", 422, r.status_code)
        check("422: VALIDATION_ERROR", "VALIDATION_ERROR", r.json()["error"])
        open("bad.json", "wb").write(bad)
        rc, _, err = acre("ingest", "affiliates", "bad.json", "--atomic")
        cli = json.loads(err.splitlines()[0])
        check("422: the errors are the CLI's", cli["errors"], r.json()["details"][0]["errors"])
        check("422: the rule", "max_significant_digits", cli["errors"][0]["rule"])
        check("422: nothing stored", 0,
              count("SELECT count(*) FROM affiliate WHERE affiliate_id = 'aff_3'"))

        # --- 422 max_records: 1,001 valid records, none stored ---
        many = "".join(json.dumps({"affiliate_id": f"m{i}"}) + "\n" for i in range(1001))
        r = requests.post(base + "/api/v1/affiliates", data=many,
                          headers=dict(auth, **{"Content-Type": "application/x-ndjson"}))
        check("1,001 records: 422", 422, r.status_code)
        check("1,001 records: rule max_records", "max_records",
              r.json()["details"][0]["errors"][0]["rule"])
        check("1,001 records: none stored", 0,
              count("SELECT count(*) FROM affiliate WHERE affiliate_id LIKE 'm%'"))

        # --- 400, 415, 404, 405 ---
        r = requests.post(base + "/api/v1/affiliates", data=b'[{"affiliate_id":', headers=js)
        check("bad JSON: 400 INVALID_REQUEST", (400, "INVALID_REQUEST"),
              (r.status_code, r.json()["error"]))
        r = requests.post(base + "/api/v1/affiliates", data=b'[\xff]', headers=js)
        check("invalid UTF-8: 400", 400, r.status_code)
        r = requests.post(base + "/api/v1/affiliates", data=b"[]",
                          headers=dict(auth, **{"Content-Type": "text/csv"}))
        check("wrong media type: 415", (415, "UNSUPPORTED_MEDIA_TYPE"),
              (r.status_code, r.json()["error"]))
        r = requests.get(base + "/api/v1/nothing", headers=auth)
        check("unknown path: 404", (404, "NOT_FOUND"), (r.status_code, r.json()["error"]))
        r = requests.delete(base + "/api/v1/affiliates", headers=auth)
        check("wrong method: 405 with Allow", (405, "GET, POST"),
              (r.status_code, r.headers.get("Allow")))

        # --- 413: 17 MiB, with Content-Length and chunked ---
        # curl sends Expect: 100-continue, so it reads the 413 before sending the body
        big = b"[" + b" " * (17 << 20) + b"]"
        for name, extra in (("17 MiB: 413", []),
                            ("17 MiB chunked: 413", ["-H", "Transfer-Encoding: chunked"])):
            p = subprocess.run(["curl", "-s", "--cacert", "cert.pem", "-w", "\n%{http_code}",
                                *extra, "-H", "Content-Type: application/json",
                                "-H", "Authorization: Bearer " + tok["access_token"],
                                "--data-binary", "@-", base + "/api/v1/affiliates"],
                               input=big, capture_output=True)
            body, code = p.stdout.decode().rsplit("\n", 1)
            check(name, ("413", "PAYLOAD_TOO_LARGE"), (code, json.loads(body or "{}").get("error")))

        # --- a write refused before its body is read: no token, 100 KiB chunked ---
        p = subprocess.run(["curl", "-s", "--cacert", "cert.pem", "-w", "\n%{http_code}",
                            "-H", "Transfer-Encoding: chunked", "-H",
                            "Content-Type: application/json", "--data-binary", "@-",
                            base + "/api/v1/affiliates"],
                           input=b"[" + b" " * 100000 + b"]", capture_output=True)
        check("no token, a body on its way: 401 first", "401", p.stdout.decode().rsplit("\n")[-1])

        # --- headers over 64 KiB: libmicrohttpd's 431 ---
        p = subprocess.run(["curl", "-s", "--cacert", "cert.pem", "-o", "/dev/null", "-w",
                            "%{http_code}", "-H", "X-Big: " + "x" * 70000, base + "/health"],
                           capture_output=True)
        check("huge headers: 431", "431", p.stdout.decode())

        # --- the OpenAPI document: the committed one is the generator's, and served ---
        subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen-openapi.py"),
                        "gen.json"], check=True)
        committed = open(os.path.join(REPO, "docs", "openapi.json")).read()
        check("docs/openapi.json is tools/gen-openapi.py's output", open("gen.json").read(),
              committed)
        r = requests.get(base + "/api/v1/openapi.json", headers=auth_of(tok))
        check("GET /api/v1/openapi.json: the document", (200, committed),
              (r.status_code, r.text))
        r = requests.get(base + "/api/v1/openapi.json")
        check("... for any token, not none (only /health is open)", 401, r.status_code)

        # --- hostile bodies: cut short, nested deep; the server goes on ---
        import socket
        import ssl
        ctx = ssl.create_default_context(cafile="cert.pem")
        host, port = base[len("https://"):].split(":")
        before = count("SELECT count(*) FROM ingest_batch")
        with socket.create_connection((host, int(port))) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as t:
                t.sendall(("POST /api/v1/affiliates HTTP/1.1\r\nHost: x\r\n"
                           "Authorization: Bearer " + tok["access_token"] + "\r\n"
                           "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                           '[{"affiliate_id":"cut"').encode())
        deep = b"[" * 100000 + b"]" * 100000
        r = requests.post(base + "/api/v1/affiliates", data=deep, headers=js)
        check("100,000 levels of nesting: 400", (400, "INVALID_REQUEST"),
              (r.status_code, r.json()["error"]))
        check("a body cut short stored nothing", (before, 0),
              (count("SELECT count(*) FROM ingest_batch"),
               count("SELECT count(*) FROM affiliate WHERE affiliate_id = 'cut'")))
        check("and the server still answers", 200, requests.get(base + "/health").status_code)
        # 11 customers without a signup_date, then a line that is not JSON: refused whole (400),
        # with the 11 rejects and the JSON one, each intact, in order (the writer's reject
        # callback keeps them as jansson values while the records are parsed)
        body = "".join('{"customer_id":"n%d"}\n' % i for i in range(11)) + "{oops\n"
        r = requests.post(base + "/api/v1/igaming/customers", data=body,
                          headers=dict(js, **{"Content-Type": "application/x-ndjson"}))
        check("invalid records, then bad JSON: 400 with 12 rejects in order",
              (400, list(range(12)), "n10"),
              (r.status_code, [d["index"] for d in r.json()["details"]],
               r.json()["details"][10]["record"]["customer_id"]))

        # --- X-Request-ID ---
        r = requests.get(base + "/api/v1/nothing", headers={"X-Request-ID": "req-42"})
        check("X-Request-ID echoed", "req-42", r.headers.get("X-Request-ID"))
        check("... and the trace_id", "req-42", r.json()["trace_id"])

        # --- 401 and 403 ---
        r = requests.post(base + "/api/v1/affiliates", json=[])
        check("no token: 401 Bearer", (401, "UNAUTHORIZED", "Bearer realm=\"acre\""),
              (r.status_code, r.json()["error"], r.headers.get("WWW-Authenticate")))
        r = requests.post(base + "/api/v1/affiliates", json=[],
                          headers={"Authorization": "Bearer " + "0" * 64})
        check("unknown token: 401", (401, "unknown token"), (r.status_code, r.json()["message"]))
        rtok = token_of(base, reader)
        r = requests.post(base + "/api/v1/affiliates", json=[],
                          headers={"Authorization": "Bearer " + rtok["access_token"]})
        check("read scope cannot ingest: 403", (403, "FORBIDDEN"),
              (r.status_code, r.json()["error"]))
        r = requests.get(base + "/api/v1/affiliates", headers=auth_of(rtok))
        check("read scope reads", (200, 2), (r.status_code, r.json()["meta"]["total"] >= 2 and 2))

        # --- /oauth/token errors (RFC 6749 5.2), credentials in the form with curl ---
        def curl_token(*args):
            p = subprocess.run(["curl", "-s", "--cacert", "cert.pem", "-w", "\n%{http_code}", *args,
                                base + "/oauth/token"], capture_output=True)
            body, code = p.stdout.decode().rsplit("\n", 1)
            return int(code), json.loads(body)
        code, body = curl_token("-d", "grant_type=client_credentials", "-d",
                                "client_id=" + full["client_id"], "-d",
                                "client_secret=" + full["client_secret"], "-d", "scope=ingest")
        check("form credentials, a narrower scope", (200, "ingest"), (code, body.get("scope")))
        code, body = curl_token("-d", "grant_type=password", "-u",
                                full["client_id"] + ":" + full["client_secret"])
        check("unsupported_grant_type", (400, "unsupported_grant_type"), (code, body["error"]))
        code, body = curl_token("-d", "grant_type=client_credentials&scope=finance", "-u",
                                full["client_id"] + ":" + full["client_secret"])
        check("invalid_scope", (400, "invalid_scope"), (code, body["error"]))
        code, body = curl_token("-d", "grant_type=client_credentials", "-u",
                                full["client_id"] + ":wrong")
        check("invalid_client", (401, "invalid_client"), (code, body["error"]))
        code, body = curl_token("-d", "client_id=x")
        check("invalid_request", (400, "invalid_request"), (code, body["error"]))
        code, body = curl_token("-d", "grant_type=client_credentials&&scope=ingest&", "-u",
                                full["client_id"] + ":" + full["client_secret"])
        check("empty pairs skipped, the scope kept", (200, "ingest"), (code, body.get("scope")))
        code, body = curl_token("-d", "grant_type=client_credentials&client_id=" +
                                full["client_id"], "-u",
                                full["client_id"] + ":" + full["client_secret"])
        check("Basic, and the same client_id in the form", 200, code)
        code, body = curl_token("-d", "grant_type=client_credentials&client_id=other", "-u",
                                full["client_id"] + ":" + full["client_secret"])
        check("Basic, and another client_id in the form", (400, "invalid_request"),
              (code, body["error"]))
        code, body = curl_token("-d", "grant_type=client_credentials", "-H",
                                "Authorization: Basic !!!")
        check("malformed Basic: invalid_client", (401, "invalid_client"), (code, body["error"]))

        # --- expiry: the server's clock says the token is old; the client fetches another ---
        sql("UPDATE api_token SET expires_at = 1")
        r = oauth.post(base + "/api/v1/affiliates", json=[])
        check("expired: 401", (401, "the token expired"), (r.status_code, r.json()["message"]))
        oauth.token = dict(oauth.token, expires_at=time.time() - 10)
        try:
            oauth.post(base + "/api/v1/affiliates", json=[])
            check("the client library sees the token expired", True, False)
        except TokenExpiredError:
            tok = oauth.fetch_token(token_url=base + "/oauth/token",
                                    client_id=full["client_id"],
                                    client_secret=full["client_secret"])
        r = oauth.post(base + "/api/v1/affiliates", json=[])
        check("refreshed: 200", 200, r.status_code)
        auth = {"Authorization": "Bearer " + tok["access_token"]}
        js = dict(auth, **{"Content-Type": "application/json"})

        # --- Idempotency-Key ---
        def batches():
            return count("SELECT count(*) FROM ingest_batch")
        body = json.dumps([{"affiliate_id": "aff_4"}])
        k = dict(js, **{"Idempotency-Key": "k-1"})
        first = requests.post(base + "/api/v1/affiliates", data=body, headers=k)
        n = batches()
        again = requests.post(base + "/api/v1/affiliates", data=body, headers=k)
        check("idempotent: the same status and body", (first.status_code, first.text),
              (again.status_code, again.text))
        check("idempotent: Idempotent-Replayed", "true", again.headers.get("Idempotent-Replayed"))
        check("idempotent: the first inserted", 1, first.json()["inserted"])
        check("idempotent: nothing stored again", n, batches())
        other = requests.post(base + "/api/v1/affiliates",
                              data=json.dumps([{"affiliate_id": "aff_5"}]), headers=k)
        check("another body: 422 IDEMPOTENCY_KEY_REUSED", (422, "IDEMPOTENCY_KEY_REUSED"),
              (other.status_code, other.json()["error"]))
        other = requests.post(base + "/api/v1/flags", data=body, headers=k)
        check("the same body to another path: 422 IDEMPOTENCY_KEY_REUSED",
              (422, "IDEMPOTENCY_KEY_REUSED"), (other.status_code, other.json()["error"]))
        # the same key twice at once: the store's write lock is held elsewhere so the first
        # waits in flight while the second arrives
        k2 = dict(js, **{"Idempotency-Key": "k-2"})
        body = json.dumps([{"affiliate_id": "aff_6"}])
        holder = lock_store(2.0)
        answers = {}
        t = threading.Thread(target=lambda: answers.__setitem__(
            "first", requests.post(base + "/api/v1/affiliates", data=body, headers=k2)))
        t.start()
        time.sleep(0.5)
        second = requests.post(base + "/api/v1/affiliates", data=body, headers=k2)
        t.join()
        holder.join()
        check("in flight: 409 IDEMPOTENCY_CONFLICT", (409, "IDEMPOTENCY_CONFLICT"),
              (second.status_code, second.json()["error"]))
        check("in flight: the first is stored", (200, 1),
              (answers["first"].status_code, answers["first"].json()["inserted"]))

        # --- revocation: its tokens stop at once (a new token: the old one expired above) ---
        rtok = token_of(base, reader)
        rc, _, _ = acre("clients", "revoke", reader["client_id"])
        check("clients revoke", 0, rc)
        r = requests.post(base + "/api/v1/affiliates", json=[],
                          headers={"Authorization": "Bearer " + rtok["access_token"]})
        check("revoked: 401", (401, "the token's client is revoked"),
              (r.status_code, r.json()["message"]))
        code, body = curl_token("-d", "grant_type=client_credentials", "-u",
                                reader["client_id"] + ":" + reader["client_secret"])
        check("revoked: no new token", (401, "invalid_client"), (code, body["error"]))
        _, out, _ = acre("clients", "list")
        check("clients list: the reader revoked, no other",
              {"operator": False, "reader": True, "finance": False, "aff1": False},
              {c["name"]: c["revoked_at"] is not None
               for c in (json.loads(line) for line in out.splitlines())})

        # --- 429: the 1,001st request of a minute ---
        # a client of its own: the limit counts a client's requests, whatever its token
        _, out, _ = acre("clients", "add", "burst", "--scope", "ingest")
        burst = json.loads(out)
        t3 = token_of(base, burst)
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + t3["access_token"]
        s.headers["Content-Type"] = "text/plain"  # each answered 415 once counted: no writes

        def minute():
            codes = [s.post(base + "/api/v1/affiliates", data=b"[]").status_code
                     for _ in range(1000)]
            return codes, s.post(base + "/api/v1/affiliates", data=b"[]")
        # the limit counts per minute of the clock: start with 20 s or more of it left
        if time.time() % 60 > 40:
            time.sleep(60.5 - time.time() % 60)
        start_minute = int(time.time()) // 60
        codes, limited = minute()
        check("the burst took less than its minute", start_minute, int(time.time()) // 60)
        sent415 = 1 + 1000  # the wrong media type above, and these
        check("1,000 requests in a minute answered", {415: 1000},
              {c: codes.count(c) for c in set(codes)})
        check("the 1,001st: 429 with Retry-After", (429, "RATE_LIMITED", True),
              (limited.status_code, limited.json()["error"],
               1 <= int(limited.headers.get("Retry-After", "0")) <= 60))

        # --- /metrics: the activity rows stored, the one 429, every answer counted ---
        # (a new token: the expiry above aged every token)
        ftok = token_of(base, fin)
        r = requests.get(base + "/metrics", headers=auth_of(ftok))
        check("metrics: Prometheus text", (200, "text/plain; version=0.0.4; charset=utf-8"),
              (r.status_code, r.headers["Content-Type"]))
        m = {}
        for line in r.text.splitlines():
            if not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                m[name] = int(value) if "." not in value else value
        nact = open(os.path.join(fx, "activity.ndjson")).read().count("\n")
        check("metrics: the activity rows stored (the fixture's, and one between pages)", nact + 1,
              m.get('acre_records_stored_total{kind="igaming/gaming-activity"}'))
        check("metrics: one request limited", 1, m.get("acre_http_requests_limited_total"))
        check("metrics: the requests answered 415", sent415,
              m.get('acre_http_requests_total{route="records",status="415"}'))
        check("metrics: one close stored", 1,
              m.get('acre_http_requests_total{route="close",status="200"}'))
        again = requests.get(base + "/metrics", headers=auth_of(ftok)).text
        m2 = dict(line.rsplit(" ", 1) for line in again.splitlines() if not line.startswith("#"))
        check("metrics: the first /metrics answered is counted in the second, once",
              (m.get('acre_http_requests_total{route="metrics",status="200"}', 0) + 1,
               m["acre_http_request_duration_seconds_count"] + 1),
              (int(m2['acre_http_requests_total{route="metrics",status="200"}']),
               int(m2["acre_http_request_duration_seconds_count"])))

        # --- SIGTERM: the request in flight finishes, then exit 0 ---
        holder = lock_store(1.5)
        answers = {}
        t = threading.Thread(target=lambda: answers.__setitem__(
            "r", requests.post(base + "/api/v1/affiliates",
                               data=json.dumps([{"affiliate_id": "aff_7"}]), headers=js)))
        t.start()
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        t.join()
        holder.join()
        check("SIGTERM: the request in flight is answered", 200, answers["r"].status_code)
        check("SIGTERM: exit 0", 0, server.wait(timeout=30))
        check("SIGTERM: its record stored", 1,
              count("SELECT count(*) FROM affiliate WHERE affiliate_id = 'aff_7'"))

        # --- slow-loris: a server that gives a request 3 s to arrive ---
        server, base = start("--request-timeout", "3")
        t0 = time.monotonic()
        slow_loris(base, tok, ftok)
        print(f"slow-loris phase: {time.monotonic() - t0:.1f} s")
        server.send_signal(signal.SIGTERM)
        check("slow-loris server: exit 0 on SIGTERM", 0, server.wait(timeout=30))
        # --- every answer above against the OpenAPI document, by an independent validator ---
        if NPM:
            json.dump(EXCHANGES, open("exchanges.json", "w"))
            os.makedirs(NPM, exist_ok=True)
            for f in ("package.json", "package-lock.json", "check.mjs"):
                shutil.copy(os.path.join(REPO, "tests", "openapi", f), NPM)
            if not os.path.isdir(os.path.join(NPM, "node_modules", "ajv")):
                subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=NPM,
                               check=True)
            p = subprocess.run(["node", os.path.join(NPM, "check.mjs"),
                                os.path.join(REPO, "docs", "openapi.json"), "exchanges.json"],
                               capture_output=True, text=True)
            print(p.stdout, end="")
            check("every answer matches docs/openapi.json (tests/openapi/check.mjs)", 0,
                  p.returncode)
            seen = int(p.stdout.rsplit(" documented answers seen", 1)[0].rsplit(" ", 1)[1])
            check("... answers of at least 40 kinds (path, method, status)", True, seen >= 40)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        sys.stderr.write(server.stderr.read().decode())
        os.chdir("/")
        shutil.rmtree(work)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
