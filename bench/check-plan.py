#!/usr/bin/env python3
"""Compare a `ferry plan --json` output with a generator expectation.

  check-plan.py EXPECTED.json PLAN.json     ferry's plan vs the expectation
  check-plan.py --git REPO EXPECTED.json    the expectation vs `git log` (checks the
                                            generator itself, slow-ish on big repos)

Prints OK, or MISMATCH and the first differences; exits 0 on OK, 1 on MISMATCH,
2 on unreadable input. Python 3.11 standard library only.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

FIELDS = ("current", "current_tag", "level", "next", "next_tag")
LEVELS = ["none", "patch", "minor", "major"]
SHOW = 8


def load(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"MISMATCH: cannot read {path}: {e}")
        sys.exit(2)


def report(diffs: list[str], what: str) -> int:
    if not diffs:
        print(f"OK: {what}")
        return 0
    print(f"MISMATCH: {what}: {len(diffs)} difference(s); first {min(SHOW, len(diffs))}:")
    for d in diffs[:SHOW]:
        print(f"  {d}")
    return 1


def compare(expected: dict, plan: dict) -> int:
    diffs: list[str] = []
    if plan.get("schema_version") != 2:
        diffs.append(f"schema_version: expected 2, got {plan.get('schema_version')!r}")
    if "head" in plan and plan["head"] != expected["head"]:
        diffs.append(f"head: expected {expected['head']}, got {plan['head']}")
    got_list = plan.get("packages")
    if not isinstance(got_list, list):
        diffs.append(f"no \"packages\" list in the plan (keys: {sorted(plan)})")
        return report(diffs, "plan vs expectation")
    got: dict[str, dict] = {}
    for p in got_list:
        name = p.get("package") if isinstance(p, dict) else None
        if name in got:
            diffs.append(f"{name}: listed twice")
        got[name] = p
    omitted_none = 0
    for e in expected["packages"]:
        name = e["package"]
        g = got.pop(name, None)
        if g is None:
            if e["level"] == "none":
                omitted_none += 1  # leaving out a package with nothing to release is fine
            else:
                diffs.append(f"{name}: missing (expected level {e['level']}, next {e['next']})")
            continue
        for k in FIELDS:
            if g.get(k) != e[k]:
                diffs.append(f"{name}.{k}: expected {e[k]!r}, got {g.get(k)!r}")
    for name in got:
        diffs.append(f"{name}: not a package of the generated repository")
    n = len(expected["packages"])
    note = f", {omitted_none} level-none package(s) omitted" if omitted_none else ""
    return report(diffs, f"{n} packages{note}")


def against_git(repo: str, expected: dict) -> int:
    """Recompute the expectation from `git log` alone."""
    names = {e["package"] for e in expected["packages"]}
    level = {n: 0 for n in names}
    touches = {n: 0 for n in names}
    # Every package is tagged at the same (first) commit, so one walk serves all.
    tag = expected["packages"][0]["current_tag"]
    out = subprocess.run(
        ["git", "-C", repo, "log", "--format=%x00%B%x01", "--name-only", f"{tag}..HEAD"],
        check=True, capture_output=True, text=True).stdout
    head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    subject = re.compile(r"^([a-z]+)(\([^()]+\))?(!)?: ")
    for rec in out.split("\x00")[1:]:
        msg, _, files = rec.partition("\x01")
        m = subject.match(msg)
        lv = 0
        if m:
            if m.group(3) or "\nBREAKING CHANGE:" in msg:
                lv = 3
            elif m.group(1) == "feat":
                lv = 2
            elif m.group(1) in ("fix", "perf"):
                lv = 1
        touched = {f.split("/")[1] for f in files.split() if f.startswith("packages/")}
        for n in touched:
            touches[n] += 1
            level[n] = max(level[n], lv)
    diffs = []
    if head != expected["head"]:
        diffs.append(f"head: expected {expected['head']}, repository has {head}")
    for e in expected["packages"]:
        n = e["package"]
        if LEVELS[level[n]] != e["level"]:
            diffs.append(f"{n}.level: expectation {e['level']}, git log says {LEVELS[level[n]]}")
        if touches[n] != e["commits_touching"]:
            diffs.append(f"{n}.commits_touching: expectation {e['commits_touching']}, "
                         f"git log says {touches[n]}")
    return report(diffs, f"expectation agrees with git log for {len(names)} packages")


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--git":
        return against_git(argv[1], load(argv[2]))
    if len(argv) == 2 and not argv[0].startswith("-"):
        return compare(load(argv[0]), load(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
