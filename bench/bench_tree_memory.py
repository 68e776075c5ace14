"""Memory of a build's whole process tree over time (#15: 100,000 speeches in ≤ 2 GB).

    .venv/bin/python bench/bench_tree_memory.py --json OUT.json -- COMMAND ...

e.g. ``-- .venv/bin/python bench/bench_stages.py --content C --output O`` (whose own output gives
each stage's wall seconds, in order, to place the samples in stages: ``--stages "parse 64.8,
model 0.5, …"`` or ``--stages-json`` the JSON bench_stages wrote).

Runs COMMAND and, every ``--interval`` seconds, reads ``/proc`` for it and every process below it:
resident memory (``VmRSS``: what ``/usr/bin/time``'s peak and compare.py's "peak RSS" count, pages
shared with the parent after a fork included) and proportional memory (``Pss`` of
``smaps_rollup``: shared pages divided among the processes that map them, so the processes' PSS add
up to what the tree really holds). Prints the largest processes (peak RSS and PSS, when they lived,
which stage they peaked in), the main process's RSS at the start and peak of each stage, and the
tree's peak PSS. Sampling misses processes shorter than the interval. Linux only; standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _ppids() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        out[int(name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return out


def _tree(root: int) -> list[int]:
    ppids = _ppids()
    found, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in ppids.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


def _field(path: str, name: str) -> int:
    with open(path) as fh:
        for line in fh:
            if line.startswith(name):
                return int(line.split()[1]) // 1024
    return 0


def _sample(pid: int) -> tuple[int, int] | None:
    try:
        return _field(f"/proc/{pid}/status", "VmRSS:"), _field(f"/proc/{pid}/smaps_rollup", "Pss:")
    except OSError:
        return None


def _stage_bounds(args) -> list[tuple[str, float, float]]:
    pairs: list[tuple[str, float]] = []
    if args.stages_json:
        first = json.loads(Path(args.stages_json).read_text())[
            0
        ]  # a list of runs: {"stages": {name: [wall, cpu, peak]}}
        pairs = [(name.replace(" ", "-"), float(v[0])) for name, v in first["stages"].items()]
    elif args.stages:
        for part in args.stages.split(","):
            name, wall = part.split()
            pairs.append((name, float(wall)))
    bounds, t = [], 0.0
    for name, wall in pairs:
        bounds.append((name, t, t + wall))
        t += wall
    return bounds


def _stage(bounds, t: float) -> str:
    for name, a, b in bounds:
        if a <= t < b:
            return name
    return "-" if not bounds else "after"


def run(cmd: list[str], interval: float) -> dict:
    t0 = time.time()
    proc = subprocess.Popen(cmd)
    procs: dict[int, dict] = {}
    tree_pss: list[tuple[float, int]] = []
    while proc.poll() is None:
        t = round(time.time() - t0, 1)
        total = 0
        for pid in _tree(proc.pid):
            got = _sample(pid)
            if got is None:
                continue
            rss, pss = got
            total += pss
            rec = procs.setdefault(pid, {"first": t, "rss": 0, "pss": 0, "rss_at": t, "main": pid == proc.pid})
            rec["last"] = t
            if rss > rec["rss"]:
                rec["rss"], rec["rss_at"] = rss, t
            rec["pss"] = max(rec["pss"], pss)
            if pid == proc.pid:
                rec.setdefault("series", []).append((t, rss, pss))
        tree_pss.append((t, total))
        time.sleep(interval)
    return {"cmd": cmd, "rc": proc.returncode, "procs": procs, "tree_pss": tree_pss}


def report(data: dict, bounds) -> None:
    procs = data["procs"]
    print("largest processes (MB): pid, main?, lived s, peak RSS (stage), peak PSS")
    for pid, rec in sorted(procs.items(), key=lambda kv: -kv[1]["rss"])[:12]:
        where = _stage(bounds, rec["rss_at"])
        lived = f"{rec['first']:.0f}-{rec['last']:.0f}"
        print(f"  {pid:>7} {'main' if rec['main'] else 'child':5} {lived:>11} {rec['rss']:6} ({where}) {rec['pss']:6}")
    main = next((r for r in procs.values() if r["main"]), None)
    if main and bounds:
        print("main process RSS by stage (MB): at its start, its peak")
        seen: dict[str, list[int]] = {}
        for t, rss, _pss in main.get("series", []):
            seen.setdefault(_stage(bounds, t), []).append(rss)
        for name in [b[0] for b in bounds] + ["after"]:
            if name in seen:
                print(f"  {name:14} {seen[name][0]:6} {max(seen[name]):6}")
    if data["tree_pss"]:
        t, peak = max(data["tree_pss"], key=lambda x: x[1])
        print(f"tree's peak PSS: {peak} MB at {t:.0f} s ({_stage(bounds, t)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", required=True, help="write the samples here")
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--stages", help='stage walls in order: "parse 64.8, model 0.5, ..."')
    ap.add_argument("--stages-json", help="bench_stages.py's --json file (its first run)")
    ap.add_argument("--report", action="store_true", help="only print the report of an earlier --json")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.report:
        data = json.loads(Path(args.json).read_text())
    else:
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            ap.error("give the command after --")
        data = run(cmd, args.interval)
        with open(args.json, "w") as fh:
            json.dump(data, fh)
    report(data, _stage_bounds(args))
    sys.exit(data["rc"] or 0)


if __name__ == "__main__":
    main()
