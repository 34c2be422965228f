#!/usr/bin/env python3
"""tests/guides.py ACRE_DIR REPO GUIDE.md... [--update]

Runs every command of the guides in docs/guides/, so they cannot drift (STYLE.md: examples in the
docs are run as tests). In a guide, each ```console block holds commands, each on a line that
starts with "$ ", and after each command the output it must print (stdout and stderr together),
exactly. The commands of one guide run in order in one fresh directory, where `acre` is the
built program and `fixtures` the repository's fixtures. --update rewrites each output from a
run, for a person to read before committing."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.S | re.M)


def parse(block):
    """[(command, expected output)] of one console block."""
    steps = []
    for line in block.splitlines(keepends=True):
        if line.startswith("$ "):
            steps.append([line[2:].rstrip("\n"), ""])
        elif steps:
            steps[-1][1] += line
    return steps


def run_guide(acre_dir, repo, path, update):
    text = open(path).read()
    work = tempfile.mkdtemp(prefix="acre-guide-")
    os.symlink(os.path.join(repo, "fixtures"), os.path.join(work, "fixtures"))
    env = dict(os.environ, PATH=acre_dir + os.pathsep + os.environ["PATH"], LC_ALL="C")
    env.pop("ACRE_DB", None)
    failures = 0
    ncommands = 0
    out_text = []
    pos = 0
    for m in BLOCK.finditer(text):
        out_text.append(text[pos:m.start(1)])
        new_block = ""
        for cmd, want in parse(m.group(1)):
            ncommands += 1
            got = subprocess.run(["sh", "-c", cmd], cwd=work, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT).stdout.decode()
            got = got.replace(work + "/", "")
            new_block += "$ " + cmd + "\n" + got
            if got != want:
                failures += 1
                if not update:
                    print(f"FAIL {path}: $ {cmd}\n--- want\n{want}--- got\n{got}---")
        out_text.append(new_block)
        pos = m.end(1)
    out_text.append(text[pos:])
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
    return 1 if bad and not update else 0


if __name__ == "__main__":
    sys.exit(main())
