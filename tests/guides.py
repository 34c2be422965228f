#!/usr/bin/env python3
"""tests/guides.py ACRE_DIR REPO GUIDE.md... [--update]

Runs every command of the guides (docs/guides/, docs/plans.md, docs/api.md), so they cannot drift
(STYLE.md: examples in the docs are run as tests). In a guide, each ```console block holds
commands, each on a line that starts with "$ ", and after each command the output it must print
(stdout and stderr together), exactly; a "…" in that output stands for any text within its line
(a token, a port: what differs on each run). The commands of one guide run in order in one shell,
as a reader would type them, in one fresh directory, where `acre` is the built program and
`fixtures` the repository's fixtures: a variable set, or a server started in the background
(`&`), by one command is there for the next; a background job's output should go to a file (it
would land in whichever command runs then). Each command reads no input and has 60 seconds;
whatever a guide left running is killed after it. --update rewrites each output that differs from
a run (keeping the lines a "…" matches), for a person to read before committing; a command that
did not finish fails it still."""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.S | re.M)
SECONDS = 60
UNFINISHED = False  # a command did not finish: a failure even with --update


def parse(block):
    """[(command, expected output)] of one console block."""
    steps = []
    for line in block.splitlines(keepends=True):
        if line.startswith("$ "):
            steps.append([line[2:].rstrip("\n"), ""])
        elif steps:
            steps[-1][1] += line
    return steps


def line_matches(want, got):
    """Whether the line got is the line want, a "…" in want standing for any text."""
    pattern = ".*".join(re.escape(part) for part in want.split("…"))
    return re.fullmatch(pattern, got, re.S) is not None


def matches(want, got):
    """Whether got is want, line by line, a "…" in want standing for any text within its line."""
    w, g = want.split("\n"), got.split("\n")
    return len(w) == len(g) and all(line_matches(a, b) for a, b in zip(w, g))


def updated(want, got):
    """What --update writes for a step: got, but each line that matches its line of want keeps
    want's (its "…" stay), and ending with a newline so the next command stays a command."""
    w, g = want.split("\n"), got.split("\n")
    if len(w) == len(g):
        g = [a if line_matches(a, b) else b for a, b in zip(w, g)]
    text = "\n".join(g)
    return text if not text or text.endswith("\n") else text + "\n"


class Shell:
    """One sh for a guide: run(command) gives what it printed, or None if it did not finish."""

    def __init__(self, cwd, env):
        self.proc = subprocess.Popen(["sh"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.count = 0

    def run(self, cmd):
        """(output, finished): what the command printed, and whether it finished in time."""
        self.count += 1
        mark = b"\n@@ acre guide step %d done @@\n" % self.count
        # the command's own input is /dev/null, so it cannot read the commands after it
        script = "{ %s\n} </dev/null 2>&1\nprintf '\\n@@ acre guide step %d done @@\\n'\n" % (
            cmd, self.count)
        out = b""
        try:
            self.proc.stdin.write(script.encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            return "", False
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + SECONDS
        while mark not in out:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                return out.decode(errors="replace"), False
            out += chunk
        return out[:out.index(mark)].decode(errors="replace"), True

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def run_guide(acre_dir, repo, path, update):
    """(commands run, failures) of one guide; with update, rewrites it."""
    text = open(path).read()
    work = tempfile.mkdtemp(prefix="acre-guide-")
    os.symlink(os.path.join(repo, "fixtures"), os.path.join(work, "fixtures"))
    env = dict(os.environ, PATH=acre_dir + os.pathsep + os.environ["PATH"], LC_ALL="C")
    env.pop("ACRE_DB", None)
    shell = Shell(work, env)
    failures = 0
    ncommands = 0
    out_text = []
    pos = 0
    try:
        for m in BLOCK.finditer(text):
            out_text.append(text[pos:m.start(1)])
            new_block = ""
            for cmd, want in parse(m.group(1)):
                ncommands += 1
                got, finished = shell.run(cmd)
                got = got.replace(work + "/", "")
                if not finished:
                    print(f"FAIL {path}: $ {cmd}\n--- did not finish in {SECONDS} s, or the "
                          f"shell exited; it printed\n{got}---\nthe commands after it were not "
                          "run")
                    global UNFINISHED
                    UNFINISHED = True
                    return ncommands, failures + 1
                new_block += "$ " + cmd + "\n" + (updated(want, got) if update else want)
                if not matches(want, got):
                    failures += 1
                    if not update:
                        end = "" if not got or got.endswith("\n") else \
                            "\n(no newline at the end of the output)\n"
                        print(f"FAIL {path}: $ {cmd}\n--- want\n{want}--- got\n{got}{end}---")
            out_text.append(new_block)
            pos = m.end(1)
        out_text.append(text[pos:])
    finally:
        shell.close()
        shutil.rmtree(work)
    if update:
        open(path, "w").write("".join(out_text))
    return ncommands, failures


def main():
    args = [a for a in sys.argv[1:] if a != "--update"]
    update = "--update" in sys.argv
    if len(args) < 3:
        print(__doc__)
        return 2
    acre_dir, repo, guides = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2:]
    total = bad = 0
    for g in guides:
        n, f = run_guide(acre_dir, repo, g, update)
        if n == 0:
            print(f"FAIL {g}: no commands")
            f = 1
        total += n
        bad += f
    print(f"{total} commands in {len(guides)} guides, {bad} differ" + (" (updated)" if update else ""))
    return 1 if (bad and not update) or UNFINISHED else 0


if __name__ == "__main__":
    sys.exit(main())
