#!/usr/bin/python3
"""tools/bench/serve.py [ROWS] [CLIENTS] [ROUNDS] — `acre serve` under CLIENTS concurrent clients
(default 8) pushing ROWS gaming-activity records (default 200,000) in requests of 1,000, over
loopback (plain HTTP, keep-alive: tools/bench/push.c, a C client), beside `acre ingest` of the
same rows from one file into a store made the same way, in the same run; ROUNDS times (default
1), the two alternating, each round on fresh stores, so that what else the machine runs falls on
both alike. Prints a Markdown table for docs/PERFORMANCE.md, a row a round and then the
medians: records per second both ways and their ratio, request latency (median, p99, max) and
the server's peak RSS (VmHWM). Then GET paging, after the last round: the first 20 pages of 500
rows, with the cursor.

Needs a built tree (build/acre, build/acre-gen, build/acre-push) and Debian's python3-requests. Run on an idle
machine: it measures time."""
import json
import os
import resource
import shutil
import statistics
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
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1


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


def one_round(work, last):
    """One round: the file's time, then the server's; paging too when last."""
    for f in os.listdir(work):
        if f.endswith((".db", ".db-wal", ".db-shm")):
            os.unlink(os.path.join(work, f))
    # the command line: one file
    db = store(work, "cli.db")
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    acre(db, "ingest", "igaming/gaming-activity", os.path.join(work, "activity.ndjson"))
    cli_s = time.monotonic() - t0
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime

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
    push = json.loads(subprocess.run(
        [PUSH, base[len("http://"):], token, "/api/v1/igaming/gaming-activity", str(clients),
         "1000", os.path.join(work, "activity.ndjson")],
        check=True, capture_output=True, text=True).stdout)
    r = {"cli_s": cli_s, "cli_cpu": cli_cpu, "api_s": push["seconds"], "push": push}
    r["hwm"] = int([l for l in open(f"/proc/{server.pid}/status")
                    if l.startswith("VmHWM")][0].split()[1])
    # CPU seconds of the server and of these clients: both share the machine's cores
    stat = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
    r["server_cpu"] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    r["by_thread"] = {}  # the server's CPU seconds by thread name (the writer is "acre-writer")
    for tid in os.listdir(f"/proc/{server.pid}/task"):
        try:
            name = open(f"/proc/{server.pid}/task/{tid}/comm").read().strip()
            st = open(f"/proc/{server.pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        r["by_thread"][name] = r["by_thread"].get(name, 0) + (
            int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")

    if last:
        # paging: the first 20 pages of 500, with the cursor (each page reads the whole table
        # today: engine/records.c)
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + token
        t0, got, cursor, pages = time.monotonic(), 0, None, 0
        while True:
            page = s.get(base + "/api/v1/igaming/gaming-activity?per_page=500" +
                         (f"&cursor={cursor}" if cursor else "")).json()
            got += len(page["data"])
            pages += 1
            cursor = page["meta"]["next_cursor"]
            if not cursor or pages == 20:
                break
        r["paging"] = (got, pages, time.monotonic() - t0)
    server.terminate()
    server.wait()
    r["stored"] = sqlite_count(db)
    return r


def main():
    work = tempfile.mkdtemp(prefix="acre-bench-serve-")
    subprocess.run([GEN, "activity", str(rows), work], check=True, capture_output=True)
    results = [one_round(work, i == rounds - 1) for i in range(rounds)]

    def row(label, cli_rate, api_rate, ratio, p50, p99, mx, hwm):
        print(f"| {label} | {cli_rate:,.0f} | {api_rate:,.0f} | {ratio:.2f} | "
              f"{p50:.0f} / {p99:.0f} / {mx:.0f} | {hwm / 1024:.0f} |")

    print(f"{rows} rows, {clients} clients, {rounds} round(s)\n")
    print(f"| round | acre ingest (rec/s) | acre serve, {clients} clients (rec/s) | ratio | "
          "latency median / p99 / max (ms) | server peak RSS (MiB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for i, r in enumerate(results):
        p = r["push"]
        row(i + 1, rows / r["cli_s"], rows / r["api_s"], r["cli_s"] / r["api_s"], p["p50_ms"],
            p["p99_ms"], p["max_ms"], r["hwm"])
    if rounds > 1:
        med = statistics.median
        row("median", med(rows / r["cli_s"] for r in results),
            med(rows / r["api_s"] for r in results),
            med(r["cli_s"] / r["api_s"] for r in results),
            med(r["push"]["p50_ms"] for r in results), med(r["push"]["p99_ms"] for r in results),
            med(r["push"]["max_ms"] for r in results), med(r["hwm"] for r in results))
    for i, r in enumerate(results):
        print(f"\nround {i + 1}: CPU during the pushes: server {r['server_cpu']:.1f} s, clients "
              f"{r['push']['cpu_seconds']:.1f} s, in {r['api_s']:.1f} s of wall; `acre ingest` "
              f"{r['cli_s']:.1f} s of wall, {r['cli_cpu']:.1f} s of CPU; server CPU by thread: " +
              ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r["by_thread"].items())) +
              f"; stored {r['stored']}")
    got, pages, page_s = results[-1]["paging"]
    print(f"\nGET paging: {got} records in {pages} pages of 500 in {page_s:.1f} s "
          f"({page_s / pages * 1000:.0f} ms a page)")
    if rounds > 1:
        print("\nCPU seconds, median of the rounds: `acre ingest` "
              f"{statistics.median(r['cli_cpu'] for r in results):.2f} s, the server "
              f"{statistics.median(r['server_cpu'] for r in results):.2f} s")
    shutil.rmtree(work)


def sqlite_count(db):
    import sqlite3
    return sqlite3.connect(db).execute("SELECT count(*) FROM gaming_activity").fetchone()[0]


if __name__ == "__main__":
    main()
