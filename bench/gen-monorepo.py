#!/usr/bin/env python3
"""Generate a synthetic monorepo for benchmarking `ferry plan` in independent mode.

The history is written with ONE `git fast-import` stream into a fresh repository
(`git init -b main`), so 50,000 commits take seconds, not hours:

  commit 1     adds README.md, .ci/x.yml, ferry.toml and, for every package,
               packages/pkg-NNN/package.json ({"name": ..., "version": "1.0.0"}) and
               packages/pkg-NNN/src/index.js
  tags         one annotated tag per package at commit 1: pkg-NNN@v1.0.0
  commits 2..  M linear commits; each touches 1-3 random packages (rewrites their
               src/index.js, sometimes adds a file under src/<word>/) with a
               conventional message: ~60% fix(pkg-NNN), ~30% feat(pkg-NNN), ~2%
               feat(pkg-NNN)!, the rest chore:/docs:, about half of which touch no
               package at all (README.md or .ci/x.yml only).

Next to the repository it writes DIR.expected.json: for every package, the highest
conventional level among the commits that touched its directory since its tag and
the next version from 1.0.0 -- computed here, independently of ferry, so that
`ferry plan --json -C DIR` can be checked against it (see check-plan.py).

Deterministic for a given (--packages, --commits, --seed, --idle): same commit ids.
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time

AUTHOR = "Ferry Bench <bench@ferry.invalid>"
EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z; every commit is 60 s after the previous one
LEVELS = ["none", "patch", "minor", "major"]
NEXT = {"none": None, "patch": "1.0.1", "minor": "1.1.0", "major": "2.0.0"}

WORDS = (
    "parser cache config loader retry timeout handler router schema index token "
    "stream buffer encoder decoder session client server queue worker logger "
    "metrics auth limits paths locale options plugin registry manifest"
).split()
FIX_VERBS = ["handle", "guard against", "avoid crash on", "correct", "reject", "escape"]
FEAT_VERBS = ["add", "support", "expose", "allow configuring", "introduce"]
CHORE = ["chore: bump dev dependencies", "chore: tidy build scripts", "chore: update CI image",
         "chore: format sources", "chore: refresh lockfile"]
DOCS = ["docs: fix typos in README", "docs: explain release process", "docs: add examples",
        "docs: document environment variables"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--packages", type=int, default=300, help="number of packages (default 300)")
    p.add_argument("--commits", type=int, default=50000,
                   help="commits after the tagged first commit (default 50000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--idle", type=int, default=0,
                   help="the last K packages are never touched after their tag, so the "
                        "expectation contains some level-none packages (default 0)")
    p.add_argument("--single", action="store_true",
                   help="a single-package repository: one package at the repository root "
                        "(path \".\"), files at the top level; implies --packages 1")
    p.add_argument("--out", required=True, help="directory to create (must not exist or be empty)")
    a = p.parse_args(argv)
    if a.packages < 1:
        p.error("--packages must be at least 1")
    if a.commits < 0:
        p.error("--commits must be >= 0")
    if not 0 <= a.idle < a.packages:
        p.error("--idle must be between 0 and packages-1")
    if os.path.exists(a.out) and (not os.path.isdir(a.out) or os.listdir(a.out)):
        p.error(f"--out {a.out}: exists and is not an empty directory")
    return a


class Stream:
    """A buffered writer of fast-import commands."""

    def __init__(self, sink) -> None:
        self.sink = sink
        self.buf: list[bytes] = []
        self.size = 0
        self.total = 0

    def raw(self, s: str | bytes) -> None:
        b = s.encode() if isinstance(s, str) else s
        self.buf.append(b)
        self.size += len(b)
        if self.size >= 1 << 20:
            self.flush()

    def data(self, payload: str | bytes) -> None:
        b = payload.encode() if isinstance(payload, str) else payload
        self.raw(b"data %d\n" % len(b))
        self.raw(b)
        self.raw(b"\n")

    def file(self, path: str, content: str) -> None:
        self.raw(f"M 100644 inline {path}\n")
        self.data(content)

    def flush(self) -> None:
        if self.buf:
            chunk = b"".join(self.buf)
            self.sink.write(chunk)
            self.total += len(chunk)
            self.buf = []
            self.size = 0


SINGLE = False


def pdir(name: str) -> str:
    """Where a package's files live: packages/<name>/, or the root when --single."""
    return "" if SINGLE else f"packages/{name}/"


def ferry_toml(names: list[str]) -> str:
    out = ['[release]', 'mode = "independent"', '', '[changelog]', 'enabled = false', '']
    for n in names:
        out += ['[[package]]', f'name = "{n}"', f'path = "{pdir(n).rstrip("/") or "."}"',
                '# tag defaults to "{package}@v{version}"', '']
    for n in names:
        out += ['[[file]]', f'path = "{pdir(n)}package.json"', f'package = "{n}"', '']
    return "\n".join(out)


def index_js(name: str, rev: int) -> str:
    return f"// {name}\nexport const name = {json.dumps(name)};\nexport const revision = {rev};\n"


def generate(a: argparse.Namespace) -> dict:
    global SINGLE
    SINGLE = a.single
    if a.single:
        a.packages = 1
    width = max(3, len(str(a.packages - 1)))
    names = [f"pkg-{i:0{width}d}" for i in range(a.packages)]
    active = a.packages - a.idle  # packages 0..active-1 may be touched
    rng = random.Random(a.seed)
    level = [0] * a.packages  # index into LEVELS
    touches = [0] * a.packages

    os.makedirs(a.out, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", a.out], check=True)
    fi = subprocess.Popen(["git", "-C", a.out, "fast-import", "--quiet", "--done"],
                          stdin=subprocess.PIPE)
    s = Stream(fi.stdin)

    t = EPOCH

    def header(msg: str, mark: int | None = None) -> None:
        nonlocal t
        s.raw("commit refs/heads/main\n")
        if mark is not None:
            s.raw(f"mark :{mark}\n")
        s.raw(f"author {AUTHOR} {t} +0000\ncommitter {AUTHOR} {t} +0000\n")
        s.data(msg + "\n")
        t += 60

    # Commit 1: everything.
    header("chore: initial import", mark=1)
    s.file("README.md", "# Synthetic monorepo\n\nGenerated by ferry's bench/gen-monorepo.py.\n")
    s.file(".ci/x.yml", "jobs: {}\n")
    s.file("ferry.toml", ferry_toml(names))
    for n in names:
        s.file(f"{pdir(n)}package.json", json.dumps({"name": n, "version": "1.0.0"}) + "\n")
        s.file(f"{pdir(n)}src/index.js", index_js(n, 0))
    s.raw("\n")

    # One annotated tag per package at commit 1.
    for n in names:
        s.raw(f"tag {n}@v1.0.0\nfrom :1\ntagger {AUTHOR} {t} +0000\n")
        s.data(f"{n} 1.0.0\n")

    # M linear commits.
    for i in range(1, a.commits + 1):
        r = rng.random()
        if r < 0.60:
            kind = "fix"
        elif r < 0.90:
            kind = "feat"
        elif r < 0.92:
            kind = "feat!"
        else:
            kind = "chore" if rng.random() < 0.5 else "docs"
        k = rng.randint(1, min(3, active))
        pkgs = rng.sample(range(active), k)
        if kind in ("chore", "docs") and rng.random() < 0.5:
            pkgs = []  # touches no package
        word = rng.choice(WORDS)
        if kind == "fix":
            msg = f"fix({names[pkgs[0]]}): {rng.choice(FIX_VERBS)} empty {word}"
            lvl = 1
        elif kind == "feat":
            msg = f"feat({names[pkgs[0]]}): {rng.choice(FEAT_VERBS)} {word} option"
            lvl = 2
        elif kind == "feat!":
            msg = (f"feat({names[pkgs[0]]})!: rename the {word} API\n\n"
                   f"The old {word} entry point is gone.")
            lvl = 3
        elif kind == "chore":
            msg = rng.choice(CHORE)
            lvl = 0
        else:
            msg = rng.choice(DOCS)
            lvl = 0
        header(msg)
        if not pkgs:
            if kind == "docs":
                s.file("README.md", f"# Synthetic monorepo\n\nrevision {i}\n")
            else:
                s.file(".ci/x.yml", f"jobs: {{}}\n# revision {i}\n")
        for p in sorted(pkgs):
            n = names[p]
            s.file(f"{pdir(n)}src/index.js", index_js(n, i))
            if rng.random() < 0.05:  # a new file, in one of ~30 subdirectories
                sub = rng.choice(WORDS)
                s.file(f"{pdir(n)}src/{sub}/{sub}-{i}.js", f"export default {i};\n")
            touches[p] += 1
            if lvl > level[p]:
                level[p] = lvl
        s.raw("\n")

    s.raw("done\n")
    s.flush()
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit(f"git fast-import failed with exit code {fi.returncode}")
    # fast-import writes objects and refs only: check the tree out so that the working
    # tree (and ferry.toml in it) matches HEAD.
    subprocess.run(["git", "-C", a.out, "reset", "-q", "--hard", "main"], check=True)
    head = subprocess.run(["git", "-C", a.out, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()

    packages = []
    for p, n in enumerate(names):
        lv = LEVELS[level[p]]
        nxt = NEXT[lv]
        packages.append({
            "package": n,
            "current": "1.0.0",
            "current_tag": f"{n}@v1.0.0",
            "level": lv,
            "next": nxt,
            "next_tag": f"{n}@v{nxt}" if nxt else None,
            "commits_touching": touches[p],
        })
    return {
        "schema_version": 1,
        "generator": {"packages": a.packages, "commits": a.commits, "seed": a.seed,
                      "idle": a.idle, "stream_bytes": s.total},
        "head": head,
        "packages": packages,
    }


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    start = time.perf_counter()
    expected = generate(a)
    out = a.out.rstrip("/") + ".expected.json"
    with open(out, "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    secs = time.perf_counter() - start
    counts = {lv: 0 for lv in LEVELS}
    for p in expected["packages"]:
        counts[p["level"]] += 1
    print(f"generated {a.out}: {a.packages} packages x {a.commits} commits (seed {a.seed}) "
          f"in {secs:.1f} s; fast-import stream {expected['generator']['stream_bytes'] / 2**20:.1f} MiB; "
          f"expected levels {counts}; wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
