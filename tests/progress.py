#!/usr/bin/env python3
"""tests/progress.py ACRE GEN — `acre ingest` and `acre close` show how far they are on a terminal,
and only there.

20,000 gaming-activity rows (acre-gen at 1/10 of its operator): under a pseudo-terminal the
ingest rewrites one line on stderr ("acre: ingest FILE: read N% of M kB, R records, S
records/s"), at least once (its first call comes at 8,192 records), each count a multiple of
8,192 and never more than the 20,000 sent, and clears it at the end; stdout has the summary
alone. With --quiet, or with stderr a pipe, stderr stays empty.

Then the close (as `acre preview`, which reads the same way) of that store's March, with
ACRE_PROGRESS_DELAY_MS=0 so that a close this short shows its stages too: "reading records, 0 so
far" at the start, "computing the ledger from 20,000 records" (the 20,000 activity rows, one
version each, and nothing else stored to read), "writing the ledger", then the line cleared;
with --quiet, or stderr a pipe, no progress at all (only the warnings about affiliates without a
plan, which are the same either way)."""
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile

acre, gen = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="acre-progress-")
fails = 0


def check(name, want, got):
    global fails
    if want != got:
        fails += 1
        print(f"FAIL {name}\n  want: {want!r}\n  got:  {got!r}")


def store():
    db = os.path.join(work, "p.db")
    for f in ("p.db", "p.db-wal", "p.db-shm"):
        if os.path.exists(os.path.join(work, f)):
            os.unlink(os.path.join(work, f))
    for kind, f in (("affiliates", "affiliates.ndjson"), ("igaming/customers", "customers.ndjson")):
        subprocess.run([acre, "--db", db, "ingest", kind, os.path.join(work, f)], check=True,
                       capture_output=True)
    return db


def on_terminal(*extra, argv=None, env=None):
    """(stdout, what the terminal got on stderr) of the ingest (or argv), stderr a
    pseudo-terminal."""
    master, slave = pty.openpty()
    argv = argv or [acre, "--db", store(), "ingest", "igaming/gaming-activity",
                    os.path.join(work, "activity.ndjson"), *extra]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        err += chunk
    out = p.stdout.read().decode()
    p.wait()
    os.close(master)
    return out, err.decode()


subprocess.run([gen, "activity", "20000", work], check=True, capture_output=True)
summary = ('{"kind":"igaming/gaming-activity","received":20000,"inserted":20000,"updated":0,'
           '"unchanged":0,"rejected":0}\n')

out, err = on_terminal()
check("terminal: the summary on stdout", summary, out)
lines = re.findall(r"\racre: ingest \S*activity\.ndjson: read (\d+)% of (\d+) [km]B, ([\d,]+) records, "
                   r"([\d,]+) records/s\x1b\[K", err)
check("terminal: at least one progress line", True, len(lines) >= 1)
counts = [int(c.replace(",", "")) for _, _, c, _ in lines]
check("terminal: counts are multiples of 8,192, at most 20,000, in order", True,
      all(c % 8192 == 0 and 0 < c <= 20000 for c in counts) and counts == sorted(counts))
check("terminal: percentages at most 100", True, all(int(p) <= 100 for p, _, _, _ in lines))
check("terminal: the line cleared at the end", True, err.endswith("\r\x1b[K"))
check("terminal: nothing but the progress", "",
      re.sub(r"\racre: ingest [^\x1b]*\x1b\[K", "", err).replace("\r\x1b[K", ""))

out, err = on_terminal("--quiet")
check("--quiet: the summary", summary, out)
check("--quiet: nothing on the terminal", "", err)

p = subprocess.run([acre, "--db", store(), "ingest", "igaming/gaming-activity",
                    os.path.join(work, "activity.ndjson")], capture_output=True, text=True)
check("stderr a pipe: the summary", summary, p.stdout)
check("stderr a pipe: nothing on stderr", "", p.stderr)

# the close: the store of the last ingest holds the 20,000 rows
db = os.path.join(work, "p.db")
preview = [acre, "--db", db, "preview", "2026-03", "--format", "summary"]
now = dict(os.environ, ACRE_PROGRESS_DELAY_MS="0")
piped = subprocess.run(preview, capture_output=True, text=True, env=now)
check("close, stderr a pipe: no progress", False, "\r" in piped.stderr or "\x1b" in piped.stderr)
out, err = on_terminal(argv=preview, env=now)
check("close: the summary on stdout", piped.stdout, out)
stages = re.findall(r"\racre: preview 2026-03: ([^\x1b]*)\x1b\[K", err)
check("close: its stages in order", ["reading records, 0 so far, 0 records/s",
                                     "computing the ledger from 20,000 records",
                                     "writing the ledger"], stages)
check("close: the line cleared, then only the warnings",
      piped.stderr.replace("\n", "\r\n"), err[err.index("\r\x1b[K") + 4:])
out, err = on_terminal(argv=preview + ["--quiet"], env=now)
check("close --quiet: no progress", piped.stderr.replace("\n", "\r\n"), err)

shutil.rmtree(work)
print(f"{fails} failed")
sys.exit(1 if fails else 0)
