"""The search indexes' child of one changed or added speech, from the CLI's code path (issue #15).

    .venv/bin/python bench/bench_index_child.py --content C --output O [--code TREE] [--runs 3]
        [--scenarios changed,added] [--json F]

Each build is `site-builder build` run by the CLI's `main` in a fresh interpreter (`python -P`, the
working folder the output's parent, as bench_update.py runs it), with two wrappers: around
`build_index._update_indexes` (in the forked child: its CPU by `os.times()`, its workers' too, and its
wall) and around `IndexUpdate._wait` (in the build: how long it waited for the child at the end).
Works with any code since 6aa0de1 (`--code` a `git archive` snapshot), so that the child's CPU of two
codes can be compared; newer code prints the same figures in `build --explain`. The scenarios are
bench_update.py's (`peers.touch_one`, `peers.new_speech`); the content is changed in place: run it on
a copy, built before by the same code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import OursSite, new_speech, touch_one

_WRAPPED = r"""
import json, os, sys, time
log = sys.argv[1]
from site_builder import build_index
real_update, real_wait = build_index._update_indexes, build_index.IndexUpdate._wait
def cpu(t):
    return t.user + t.system + t.children_user + t.children_system
def update(*a, **kw):
    t0, w0 = os.times(), time.perf_counter()
    try:
        return real_update(*a, **kw)
    finally:
        with open(log, "a") as fh:
            fh.write(json.dumps({"child_cpu": cpu(os.times()) - cpu(t0), "child_wall": time.perf_counter() - w0}) + "\n")
def wait(self):
    w0 = time.perf_counter()
    try:
        return real_wait(self)
    finally:
        with open(log, "a") as fh:
            fh.write(json.dumps({"wait": time.perf_counter() - w0}) + "\n")
build_index._update_indexes, build_index.IndexUpdate._wait = update, wait
from site_builder.cli import main
main(sys.argv[2:])
"""


def one_build(content: Path, output: Path, code: Path | None, scenario: str, k: int) -> dict:
    if scenario == "changed":
        touch_one(content, f"bench-index-child-{k}-{time.time_ns()}")
    else:  # (OursSite.write_speech writes under self.content: a site whose content is ours)
        site = object.__new__(type("_Here", (OursSite,), {"content": content}))
        OursSite.write_speech(site, new_speech(content, 2000 + k))
    env = dict(os.environ, **({"PYTHONPATH": str(code)} if code else {}))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log"
        cmd = [sys.executable, "-P", "-c", _WRAPPED, str(log), "build", "--content", str(content)]
        cmd += ["--output", str(output), "-q"]
        r = subprocess.run(cmd, cwd=output.parent, env=env, capture_output=True, text=True)
        got: dict = {}
        if log.exists():
            for line in log.read_text().splitlines():
                got.update(json.loads(line))
    return {"scenario": scenario, "exit": r.returncode, **got, "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--content", type=Path, required=True)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--code", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scenarios", default="changed,added")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    content, output = args.content.resolve(), args.output.resolve()
    rows = []
    for k in range(args.runs):
        for scenario in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            if scenario not in ("changed", "added"):
                ap.error(f"unknown scenario {scenario!r}: changed or added")
            row = one_build(content, output, args.code, scenario, k)
            rows.append(row)
            print(
                f"{scenario} {k + 1}: child CPU {row.get('child_cpu', float('nan')):.2f} s, child wall "
                f"{row.get('child_wall', float('nan')):.2f} s, waited {row.get('wait', float('nan')):.3f} s "
                f"(exit {row['exit']}, load {row['load']:.1f})"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
