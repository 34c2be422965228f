#!/usr/bin/env python3
"""tests/progress.py ACRE GEN — `acre ingest` shows how far it is on a terminal, and only there.

20,000 gaming-activity rows (acre-gen at 1/10 of its operator): under a pseudo-terminal the
ingest rewrites one line on stderr ("acre: ingest FILE: read N% of M kB, R records, S
records/s"), at least once (its first call comes at 8,192 records), each count a multiple of
8,192 and never more than the 20,000 sent, and clears it at the end; stdout has the summary
alone. With --quiet, or with stderr a pipe, stderr stays empty."""
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


def on_terminal(*extra):
    """(stdout, what the terminal got on stderr) of the ingest, stderr a pseudo-terminal."""
    master, slave = pty.openpty()
    p = subprocess.Popen([acre, "--db", store(), "ingest", "igaming/gaming-activity",
                          os.path.join(work, "activity.ndjson"), *extra],
                         stdout=subprocess.PIPE, stderr=slave)
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

shutil.rmtree(work)
print(f"{fails} failed")
sys.exit(1 if fails else 0)
