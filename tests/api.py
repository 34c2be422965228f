#!/usr/bin/python3
"""tests/api.py ACRE FIXTURES — `acre serve` (SPEC 11, docs/api.md) on a loopback port, driven
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
- X-Request-ID is echoed and is the error's trace_id;
- SIGTERM lets a request in flight finish, then the server exits 0.
Run with Debian's python3 (/usr/bin/python3), which has python3-requests-oauthlib."""
import hashlib
import json
import os
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
FIXTURES = os.path.realpath(sys.argv[2])
passed = failed = 0


def check(name, want, got):
    global passed, failed
    if want == got:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}\n  want: {want!r}\n  got:  {got!r}")


def acre(*args, stdin=None):
    p = subprocess.run([ACRE, "--db", "s.db", *args], input=stdin, capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def start(*extra):
    p = subprocess.Popen([ACRE, "--db", "s.db", "serve", "--listen", "127.0.0.1:0",
                          "--tls-cert", "cert.pem", "--tls-key", "key.pem", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = json.loads(p.stdout.readline())
    return p, "https://" + line["listening"]


def lock_store(seconds):
    """Holds the store's write lock from another connection for `seconds`, in a thread."""
    ready = threading.Event()

    def hold():
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
    db = sqlite3.connect("s.db")
    salt, hashed, iterations = db.execute(
        "SELECT salt, hash, iterations FROM api_client WHERE client_id = ?",
        (full["client_id"],)).fetchone()
    db.close()
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
        check("/health over HTTPS", {"status": "ok", "schema_version": 8},
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
        rc, _, _ = acre("close", "2026-03")
        check("close 2026-03", 0, rc)
        rc, ledger, _ = acre("ledger", "2026-03")
        want = open(os.path.join(fx, "expected", "2026-03.json")).read()
        check("the ledger of the records sent over HTTP is the fixture's", want, ledger)
        check("... which pays aff_1 462.50", 1, ledger.count('"earned":"462.50"'))

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
              sqlite3.connect("s.db").execute(
                  "SELECT count(*) FROM affiliate WHERE affiliate_id = 'aff_3'").fetchone()[0])

        # --- 422 max_records: 1,001 valid records, none stored ---
        many = "".join(json.dumps({"affiliate_id": f"m{i}"}) + "\n" for i in range(1001))
        r = requests.post(base + "/api/v1/affiliates", data=many,
                          headers=dict(auth, **{"Content-Type": "application/x-ndjson"}))
        check("1,001 records: 422", 422, r.status_code)
        check("1,001 records: rule max_records", "max_records",
              r.json()["details"][0]["errors"][0]["rule"])
        check("1,001 records: none stored", 0,
              sqlite3.connect("s.db").execute(
                  "SELECT count(*) FROM affiliate WHERE affiliate_id LIKE 'm%'").fetchone()[0])

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
        check("wrong method: 405 with Allow", (405, "POST"),
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
        rtok = OAuth2Session(client=BackendApplicationClient(client_id=reader["client_id"])) \
            .fetch_token(token_url=base + "/oauth/token", client_id=reader["client_id"],
                         client_secret=reader["client_secret"])
        r = requests.post(base + "/api/v1/affiliates", json=[],
                          headers={"Authorization": "Bearer " + rtok["access_token"]})
        check("read scope cannot ingest: 403", (403, "FORBIDDEN"),
              (r.status_code, r.json()["error"]))

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
        db = sqlite3.connect("s.db", isolation_level=None)
        db.execute("UPDATE api_token SET expires_at = 1")
        db.close()
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
            return sqlite3.connect("s.db").execute(
                "SELECT count(*) FROM ingest_batch").fetchone()[0]
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
        rtok = OAuth2Session(client=BackendApplicationClient(client_id=reader["client_id"])) \
            .fetch_token(token_url=base + "/oauth/token", client_id=reader["client_id"],
                         client_secret=reader["client_secret"])
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
        check("clients list: two, one revoked", [None, True],
              [c["revoked_at"] is not None if c["revoked_at"] else None
               for c in sorted((json.loads(line) for line in out.splitlines()),
                               key=lambda c: c["name"] != "operator")])

        # --- 429: the 1,001st request of a minute ---
        # a client of its own: the limit counts a client's requests, whatever its token
        _, out, _ = acre("clients", "add", "burst", "--scope", "ingest")
        burst = json.loads(out)
        t3 = OAuth2Session(client=BackendApplicationClient(client_id=burst["client_id"])) \
            .fetch_token(token_url=base + "/oauth/token", client_id=burst["client_id"],
                         client_secret=burst["client_secret"])
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + t3["access_token"]
        s.headers["Content-Type"] = "text/plain"  # each answered 415 once counted: no writes

        def minute():
            codes = [s.post(base + "/api/v1/affiliates", data=b"[]").status_code
                     for _ in range(1000)]
            return codes, s.post(base + "/api/v1/affiliates", data=b"[]")
        start_minute = int(time.time()) // 60
        codes, limited = minute()
        if int(time.time()) // 60 != start_minute:  # the minute turned: count again
            codes, limited = minute()
        check("1,000 requests in a minute answered", {415: 1000},
              {c: codes.count(c) for c in set(codes)})
        check("the 1,001st: 429 with Retry-After", (429, "RATE_LIMITED", True),
              (limited.status_code, limited.json()["error"],
               1 <= int(limited.headers.get("Retry-After", "0")) <= 60))

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
              sqlite3.connect("s.db").execute(
                  "SELECT count(*) FROM affiliate WHERE affiliate_id = 'aff_7'").fetchone()[0])
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
