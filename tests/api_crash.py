#!/usr/bin/python3
"""tests/api_crash.py ACRE [KILLS] — `acre serve` killed with SIGKILL at random moments while
four clients push gaming activity, KILLS times (default 50), restarted each time.

Every request carries 20 activity rows of its own game_type (g<N>) and the key Idempotency-Key
k<N>, X-Request-ID req-<N>. After the kills:
- every request the server answered 200 is stored: its 20 rows;
- every other request is stored whole or not at all (0 or 20 rows): a request killed after its
  commit and before its answer is stored but unanswered, which no server can rule out; its
  client cannot tell, and retries it with the same key;
- then each unanswered request is sent again with its key until answered: a request that was
  stored gets the kept answer back (Idempotent-Replayed) and is not stored twice (one batch per
  request), the others are stored now;
- a close of 2026-03 gives the same ledger bytes as the same requests' bodies ingested through
  the command line into a fresh store, as one file (the revenue of every row at 30%, summed
  exactly; the rows' keys are distinct, so their order does not matter).
The store passes `acre audit` at the end."""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import requests

ACRE = os.path.realpath(sys.argv[1])
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 50
passed = failed = 0


def check(name, want, got):
    global passed, failed
    if want == got:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}\n  want: {want!r}\n  got:  {got!r}")


def acre(db, *args):
    return subprocess.run([ACRE, "--db", db, *args], capture_output=True, text=True)


def setup(db):
    """One affiliate on 30% of NGR, 20 customers (the same in both stores)."""
    open("aff.ndjson", "w").write('{"affiliate_id":"a1","currency":"USD"}\n')
    open("plan.json", "w").write(json.dumps({"plan_id": "rs", "version": 1, "name": "RS",
                                             "currency": "USD",
                                             "revshare": {"rate": "30%"}}))
    open("asg.ndjson", "w").write('{"affiliate_id":"a1","plan_id":"rs","effective_from":"2026-01"}\n')
    open("cust.ndjson", "w").write("".join(json.dumps({
        "customer_id": f"c{i}", "signup_date": "2026-01-05T00:00:00Z", "affiliate_id": "a1",
        "tracking_data": "t"}) + "\n" for i in range(20)))
    for args in (("ingest", "affiliates", "aff.ndjson"), ("plan", "add", "plan.json"),
                 ("ingest", "assignments", "asg.ndjson"),
                 ("ingest", "igaming/customers", "cust.ndjson")):
        p = acre(db, *args)
        assert p.returncode == 0, p.stderr


def body_of(n):
    rng = random.Random(n)
    return "".join(json.dumps({
        "date": f"2026-03-{rng.randint(1, 31):02d}", "customer_id": f"c{i}",
        "game_type": f"g{n}", "currency": "USD",
        "total_bets": f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}",
        "wins": f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}"}) + "\n" for i in range(20))


def main():
    work = tempfile.mkdtemp(prefix="acre-crash-")
    os.chdir(work)
    setup("s.db")
    open("cl.json", "w").write(acre("s.db", "clients", "add", "load", "--scope",
                                    "ingest").stdout)
    cred = json.load(open("cl.json"))
    rng = random.Random(7)
    state = {"base": None, "token": None, "next": 0}
    lock = threading.Lock()
    answered, tried = set(), set()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            with lock:
                n = state["next"]
                state["next"] += 1
                base, token = state["base"], state["token"]
                tried.add(n)
            try:
                r = requests.post(base + "/api/v1/igaming/gaming-activity", data=body_of(n),
                                  timeout=10,
                                  headers={"Authorization": "Bearer " + token,
                                           "Content-Type": "application/x-ndjson",
                                           "Idempotency-Key": f"k{n}",
                                           "X-Request-ID": f"req-{n}"})
                if r.status_code == 200:
                    with lock:
                        answered.add(n)
            except requests.RequestException:
                time.sleep(0.02)  # the server is down: a new request once it is back

    def start():
        # the load is one client's, well over the default 1,000 requests a minute
        p = subprocess.Popen([ACRE, "--db", "s.db", "serve", "--listen", "127.0.0.1:0",
                              "--rate", "1000000000"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        base = "http://" + json.loads(p.stdout.readline())["listening"]
        tok = requests.post(base + "/oauth/token", auth=(cred["client_id"],
                                                         cred["client_secret"]),
                            data={"grant_type": "client_credentials"}).json()["access_token"]
        with lock:
            state["base"], state["token"] = base, tok
        return p

    server = start()
    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.05, 0.4))
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = start()
    stop.set()
    for t in threads:
        t.join()
    db = sqlite3.connect("s.db")
    rows = dict(db.execute("SELECT game_type, count(*) FROM gaming_activity GROUP BY game_type"))
    check("some requests answered", True, len(answered) > KILLS)
    check("every answered request stored whole", [], [n for n in answered
                                                      if rows.get(f"g{n}") != 20])
    check("every other request stored whole or not at all", [],
          [n for n in tried - answered if rows.get(f"g{n}", 0) not in (0, 20)])
    stored_unanswered = sum(1 for n in tried - answered if rows.get(f"g{n}") == 20)

    # each unanswered request again, with its key, until answered
    replayed = 0
    for n in sorted(tried - answered):
        r = requests.post(state["base"] + "/api/v1/igaming/gaming-activity", data=body_of(n),
                          headers={"Authorization": "Bearer " + state["token"],
                                   "Content-Type": "application/x-ndjson",
                                   "Idempotency-Key": f"k{n}", "X-Request-ID": f"req-{n}"})
        check(f"request {n} answered on retry", 200, r.status_code)
        replayed += r.headers.get("Idempotent-Replayed") == "true"
    check("the stored-but-unanswered ones were replayed, not stored again", stored_unanswered,
          replayed)
    server.send_signal(signal.SIGTERM)
    check("SIGTERM: exit 0", 0, server.wait(timeout=30))
    batches = dict(db.execute("SELECT source, count(*) FROM ingest_batch WHERE source LIKE "
                              "'request %' GROUP BY source"))
    check("one batch per request", {f"request req-{n} of {cred['client_id']}": 1
                                    for n in tried}, batches)
    rows = dict(db.execute("SELECT game_type, count(*) FROM gaming_activity GROUP BY game_type"))
    check("every request's 20 rows", {f"g{n}": 20 for n in tried}, rows)
    db.close()

    # the same bodies through the command line, in a fresh store
    setup("cli.db")
    open("b.ndjson", "w").write("".join(body_of(n) for n in sorted(tried)))
    p = acre("cli.db", "ingest", "igaming/gaming-activity", "b.ndjson")
    assert p.returncode == 0, p.stderr
    served = acre("s.db", "close", "2026-03")
    cli = acre("cli.db", "close", "2026-03")
    check("both close", (0, 0), (served.returncode, cli.returncode))
    a, b = acre("s.db", "ledger", "2026-03").stdout, acre("cli.db", "ledger", "2026-03").stdout
    check("the served store's ledger is the command line's, byte for byte", b, a)
    check("... and pays 30% of something", True, '"kind":"revshare"' in a)
    check("audit", 0, acre("s.db", "audit").returncode)
    print(f"{len(tried)} requests, {len(answered)} answered before the kills ended, "
          f"{stored_unanswered} stored but unanswered; {KILLS} kills")
    os.chdir("/")
    shutil.rmtree(work)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
