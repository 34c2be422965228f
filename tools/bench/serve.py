#!/usr/bin/python3
"""tools/bench/serve.py [ROWS] [CLIENTS] — `acre serve` under CLIENTS concurrent clients
(default 8) pushing ROWS gaming-activity records (default 200,000) in requests of 1,000, over
loopback (plain HTTP, keep-alive: tools/bench/push.c, a C client), beside `acre ingest` of the same rows from one file into a
store made the same way, in the same run. Prints a Markdown table for docs/PERFORMANCE.md:
records per second both ways and their ratio, request latency (median, p99, max) and the
server's peak RSS (VmHWM). Then GET paging: the first 20 pages of 500 rows, with the cursor.

Needs a built tree (build/acre, build/acre-gen, build/acre-push) and Debian's python3-requests. Run on an idle
machine: it measures time."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
ACRE = os.path.join(ROOT, "build", "acre")
GEN = os.path.join(ROOT, "build", "acre-gen")
PUSH = os.path.join(ROOT, "build", "acre-push")
rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
clients = int(sys.argv[2]) if len(sys.argv) > 2 else 8


def acre(db, *args, **kw):
    p = subprocess.run([ACRE, "--db", db, *args], capture_output=True, text=True, **kw)
    if p.returncode:
        sys.exit(p.stderr)
    return p.stdout


def store(work, name):
    db = os.path.join(work, name)
    acre(db, "ingest", "affiliates", os.path.join(work, "affiliates.ndjson"))
    acre(db, "ingest", "igaming/customers", os.path.join(work, "customers.ndjson"))
    return db


def main():
    work = tempfile.mkdtemp(prefix="acre-bench-serve-")
    subprocess.run([GEN, "activity", str(rows), work], check=True, capture_output=True)

    # the command line: one file
    db = store(work, "cli.db")
    t0 = time.monotonic()
    acre(db, "ingest", "igaming/gaming-activity", os.path.join(work, "activity.ndjson"))
    cli_s = time.monotonic() - t0

    # the server
    db = store(work, "api.db")
    cred = json.loads(acre(db, "clients", "add", "bench", "--scope", "ingest", "read"))
    server = subprocess.Popen([ACRE, "--db", db, "serve", "--listen", "127.0.0.1:0",
                               "--threads", str(clients), "--rate", "1000000000"],
                              stdout=subprocess.PIPE)
    base = "http://" + json.loads(server.stdout.readline())["listening"]
    token = requests.post(base + "/oauth/token", auth=(cred["client_id"], cred["client_secret"]),
                          data={"grant_type": "client_credentials"}).json()["access_token"]
    # the pushes: CLIENTS connections of tools/bench/push.c, each record once
    t0 = time.monotonic()
    push = json.loads(subprocess.run(
        [PUSH, base[len("http://"):], token, "/api/v1/igaming/gaming-activity", str(clients),
         "1000", os.path.join(work, "activity.ndjson")],
        check=True, capture_output=True, text=True).stdout)
    api_s = push["seconds"]
    hwm = [l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM")][0].split()[1]
    # CPU seconds of the server and of these clients: both share the machine's cores
    stat = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
    server_cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    client_cpu = push["cpu_seconds"]
    by_thread = {}  # the server's CPU seconds by thread name (the writer is "acre-writer")
    for tid in os.listdir(f"/proc/{server.pid}/task"):
        try:
            name = open(f"/proc/{server.pid}/task/{tid}/comm").read().strip()
            st = open(f"/proc/{server.pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        by_thread[name] = by_thread.get(name, 0) + (int(st[11]) + int(st[12])) / os.sysconf(
            "SC_CLK_TCK")

    # paging: the first 20 pages of 500, with the cursor (each page reads the whole table today:
    # engine/records.c)
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token
    t0, got, cursor, pages = time.monotonic(), 0, None, 0
    while True:
        r = s.get(base + "/api/v1/igaming/gaming-activity?per_page=500" +
                  (f"&cursor={cursor}" if cursor else "")).json()
        got += len(r["data"])
        pages += 1
        cursor = r["meta"]["next_cursor"]
        if not cursor or pages == 20:
            break
    page_s = time.monotonic() - t0
    server.terminate()
    server.wait()
    n = sqlite_count(db)
    print(f"| rows | acre ingest (rec/s) | acre serve, {clients} clients (rec/s) | ratio | "
          "latency median / p99 / max (ms) | server peak RSS (MiB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| {rows} | {rows / cli_s:,.0f} | {rows / api_s:,.0f} | {cli_s / api_s:.2f} | "
          f"{push['p50_ms']:.0f} / {push['p99_ms']:.0f} / {push['max_ms']:.0f} | "
          f"{int(hwm) / 1024:.0f} |")
    print(f"\nCPU during the pushes: server {server_cpu:.1f} s, clients {client_cpu:.1f} s, "
          f"in {api_s:.1f} s of wall; `acre ingest` {cli_s:.1f} s of wall")
    print("server CPU by thread: " +
          ", ".join(f"{k} {v:.1f} s" for k, v in sorted(by_thread.items())))
    print(f"GET paging: {got} records in {pages} pages of 500 in {page_s:.1f} s "
          f"({page_s / pages * 1000:.0f} ms a page); stored {n}")
    shutil.rmtree(work)


def sqlite_count(db):
    import sqlite3
    return sqlite3.connect(db).execute("SELECT count(*) FROM gaming_activity").fetchone()[0]


if __name__ == "__main__":
    main()
