#!/usr/bin/env python3
"""Whole-process latency of `site-builder search` (#15): start-up, imports and the query, as a user
at a terminal or a script calling the CLI pays them.

    .venv/bin/python bench/bench_cli.py --content bench/.work/corpus-1000 --output OUT [--runs 3] [--json F]

Against a site already built (``site-builder build --content … --output …``), runs each of
``QUERIES`` (all different; single characters, pairs, long terms, phrases, OR, exclusions, filters)
``--runs`` times as a separate process (``python -m site_builder search Q --json --content …
--output …``), queries interleaved, and prints p50/p95/max of the wall time and of the CPU time
(user + system of the child; less sensitive to other load on a shared machine). Also times
``python -c "import site_builder.cli"`` (the imports every command pays) and ``python -c pass``
(the interpreter alone), and lists the modules of the import that are heavy (``-X importtime``,
cumulative ms, the best of ``--runs``). Every answer is checked to be the same on every run. One untimed search first writes the
bytecode (children run without ``PYTHONDONTWRITEBYTECODE``, as an installed package has its ``.pyc``).
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable

QUERIES = [
    ["测试"],
    ["工作"],
    ["群众"],
    ["党建"],
    ["安全"],
    ["信访"],
    ["廉政"],
    ["GDP"],
    ["恪尽职守"],
    ["2035年"],
    ["5G"],
    ["如履薄冰"],
    ["河长制"],
    ["扫黑除恶"],
    ["核酸检测"],
    ["乡村振兴"],
    ["党建 廉政"],
    ["安全 -信访"],
    ["党建 OR 廉政"],
    ['"从严 治党"'],
    ["脱贫攻坚", "--year", "2015-2020"],
    ["疫情防控", "--sort", "newest"],
    ["基层", "--kwic", "--limit", "20"],
    ["改革", "--trend"],
]


def run(cmd: list[str]) -> tuple[float, float, bytes, int]:
    """(wall s, child CPU s, stdout, exit code) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, cwd=REPO, env=child_env())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout, proc.returncode


def child_env() -> dict[str, str]:
    """The environment of every child: no colours, and bytecode cached as an installed package has it
    (``PYTHONDONTWRITEBYTECODE`` in the caller's environment would make every run compile the
    package's modules from source again, ≈ 50 ms that no user pays)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    return env


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def summary(name: str, walls: list[float], cpus: list[float]) -> dict:
    row = {
        "what": name,
        "n": len(walls),
        "wall_p50": statistics.median(walls),
        "wall_p95": pct(walls, 95),
        "wall_max": max(walls),
        "cpu_p50": statistics.median(cpus),
        "cpu_p95": pct(cpus, 95),
    }
    print(
        f"| {name} | {row['n']} | {row['wall_p50']:.3f} | {row['wall_p95']:.3f} | {row['wall_max']:.3f} "
        f"| {row['cpu_p50']:.3f} | {row['cpu_p95']:.3f} |"
    )
    return row


def heavy_imports(runs: int, top: int = 15) -> list[tuple[str, float]]:
    """Cumulative import ms of the modules ``import site_builder.cli`` loads, best of ``runs``."""
    best: dict[str, float] = {}
    for _ in range(runs):
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", "import site_builder.cli"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=child_env(),
        )
        for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", proc.stderr):
            if len(m.group(2)) <= 3:  # the top levels
                name = m.group(3)
                best[name] = min(best.get(name, 1e9), int(m.group(1)) / 1000)
    return sorted(best.items(), key=lambda kv: -kv[1])[:top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--content", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--runs", type=int, default=3, help="times each query is run (default 3)")
    ap.add_argument("--json", help="write the numbers to this file too")
    ap.add_argument("--code", help="run the site_builder of this checkout (default: this one), for before/after")
    args = ap.parse_args(argv)
    global REPO
    REPO = Path(args.code).resolve() if args.code else REPO
    where = ["--content", str(Path(args.content).resolve()), "--output", str(Path(args.output).resolve())]
    print(f"python {PYTHON}; {len(QUERIES)} queries × {args.runs} runs; load average {os.getloadavg()[0]:.2f}")
    print(
        "| what | n | wall p50 s | wall p95 s | wall max s | CPU p50 s | CPU p95 s |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    # Untimed: writes the bytecode, and opens the index once (as the build that wrote it would have).
    run([PYTHON, "-m", "site_builder", "search", *QUERIES[0], "--json", *where])
    rows = []
    walls, cpus = [], []
    for _ in range(args.runs):
        w, c, _, _ = run([PYTHON, "-c", "pass"])
        walls.append(w)
        cpus.append(c)
    rows.append(summary("python -c pass", walls, cpus))
    walls, cpus = [], []
    for _ in range(args.runs):
        w, c, _, _ = run([PYTHON, "-c", "import site_builder.cli"])
        walls.append(w)
        cpus.append(c)
    rows.append(summary("import site_builder.cli", walls, cpus))
    walls, cpus = [], []
    answers: dict[str, set[str]] = {}
    failed = 0
    for _ in range(args.runs):
        for q in QUERIES:
            w, c, out, code = run([PYTHON, "-m", "site_builder", "search", *q, "--json", *where])
            failed += code != 0
            walls.append(w)
            cpus.append(c)
            answers.setdefault(" ".join(q), set()).add(hashlib.sha1(out).hexdigest())
    rows.append(summary("search --json (whole process)", walls, cpus))
    unstable = [q for q, a in answers.items() if len(a) != 1]
    print(f"failed runs: {failed}; queries whose answer differed between runs: {unstable or 'none'}")
    digest = hashlib.sha1(json.dumps(sorted((q, sorted(a)) for q, a in answers.items())).encode()).hexdigest()[:12]
    print(f"digest of all answers: {digest} (equal digests: equal answers)")
    heavy = heavy_imports(args.runs)
    print(
        "heaviest imports of `import site_builder.cli` (cumulative ms, best run): "
        + ", ".join(f"{n} {ms:.1f}" for n, ms in heavy)
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": rows, "answers_digest": digest, "failed": failed, "heavy": heavy}, indent=1)
        )
    return 1 if failed or unstable else 0


if __name__ == "__main__":
    sys.exit(main())
