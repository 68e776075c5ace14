"""A long run of the build fuzzer (tests/test_fuzz_build.py): many more hostile archives than
``make test`` builds, with a summary of what happened.

    .venv/bin/python bench/fuzz_build.py                 # 2,000 examples
    .venv/bin/python bench/fuzz_build.py -n 20000 --seed 7

Each example writes one to three hostile speech files beside two good ones and builds with the
real CLI; the run fails at the first build that exits 70, prints a traceback, takes too long,
loses a good speech or writes invalid output (Hypothesis then prints the smallest such archive).
The summary: exit codes, the slowest builds, and the kinds of problem reported.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--examples", type=int, default=2000, help="hostile archives to build (default 2000)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    parser.add_argument("--top", type=int, default=25, help="problem kinds to list")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = Path(tmp) / "stats.jsonl"
        env = dict(os.environ, FUZZ_EXAMPLES=str(args.examples), FUZZ_STATS=str(stats_file))
        env.pop("CI", None)  # the ci profile derandomises: here we want new examples
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
            "tests/test_fuzz_build.py",
            "--hypothesis-show-statistics",
        ]
        if args.seed is not None:
            command.append(f"--hypothesis-seed={args.seed}")
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=REPO, env=env)
        wall = time.perf_counter() - started
        rows = [json.loads(line) for line in stats_file.read_text("utf-8").splitlines()] if stats_file.exists() else []
    print(f"\n{len(rows)} builds in {wall:.0f} s; pytest exit {proc.returncode}")
    if rows:
        exits = collections.Counter(r["exit"] for r in rows)
        seconds = sorted(r["seconds"] for r in rows)
        print("exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(exits.items())))
        print(
            f"seconds per build: median {seconds[len(seconds) // 2]:.2f}, p99 "
            f"{seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]:.2f}, max {seconds[-1]:.2f}"
        )
        print(f"largest archive: {max(r['bytes'] for r in rows) / 1048576:.1f} MB of hostile files")
        kinds = collections.Counter(p for r in rows for p in r["problems"])
        print("problems reported (kind: builds):")
        for kind, n in kinds.most_common(args.top):
            print(f"  {n:6}  {kind}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
