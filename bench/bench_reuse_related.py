"""The reuse and related stages of one changed or added speech on a built site, stage by stage
(issue #15: one changed or added speech ≤ 1 s at 10k from the CLI).

    .venv/bin/python bench/bench_reuse_related.py --content C --output O [--code TREE] [--runs 3]
        [--scenarios changed,added] [--json F]
    PYTHONPATH=TREE .venv/bin/python -P bench/bench_reuse_related.py --state STATE_DIR --scratch DIR --steps N

Each build is the CLI's `build --content C --output O --explain` run in a fresh process (``python -P``,
the code from ``--code``, a `git archive` snapshot, as bench_update.py runs it), with its stages
timed from inside: the reuse stage (``build._find_reuse``, and ``build._early_keywords`` where the
code has it: the related stage's child is started there) and the related stage
(``build._attach_related``), each as wall seconds and CPU seconds of the build's main process; the
CPU of the child that segments the new speeches (reaped in the related stage) apart; and the
whole process's wall and CPU (its children included: the search indexes' child too). On a shared
machine the CPU columns are the figures; walls grow with the load. The scenarios are
bench_update.py's (`changed` appends a marked paragraph to one speech, `added` writes the next
newest speech); the content is changed in place: run it on a copy, built before by the same code.

``--steps N`` times the reuse stage alone in this process (the code on PYTHONPATH): N steps of one
changed speech on a copy of a build's reuse state (in ``--scratch``), the texts from its cache,
with each step's CPU and a digest of the answers (two codes on the same state: the same digests).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def _inner(content: str, output: str) -> None:
    """One build in this process, its stages wrapped; one JSON line printed last."""
    import site_builder.build as build
    from site_builder.cli import main

    got: dict[str, list[float]] = {}

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            t0, c0, k0 = time.perf_counter(), time.process_time(), os.times()
            try:
                return fn(*args, **kwargs)
            finally:
                k1 = os.times()
                kids = k1.children_user + k1.children_system - k0.children_user - k0.children_system
                row = got.setdefault(name, [0.0, 0.0, 0.0])
                row[0] += time.perf_counter() - t0
                row[1] += time.process_time() - c0
                row[2] += kids

        return wrapper

    for name, fn_name in (("reuse", "_find_reuse"), ("reuse", "_early_keywords"), ("related", "_attach_related")):
        fn = getattr(build, fn_name, None)
        if fn is not None:
            setattr(build, fn_name, timed(name, fn))
    t0 = time.perf_counter()
    sys.argv = ["site-builder", "build", "--content", content, "--output", output, "--explain"]
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    end = os.times()
    whole = {
        "wall": time.perf_counter() - t0,
        "cpu": end.user + end.system + end.children_user + end.children_system,
        "exit": code,
    }
    print(json.dumps({"stages": got, "whole": whole}))


def _steps(state_dir: Path, scratch: Path, steps: int) -> list[dict]:
    """The reuse stage alone, in this process: ``steps`` steps of one changed speech (the middle
    one, a marked sentence appended, each step its own) on a copy of the state folder's reuse
    state (``scratch``, replaced), the texts from its build cache; each step's CPU and wall, and
    a digest of its answers (two codes compared on the same state give the same digests)."""
    import hashlib
    import pickle
    import shutil

    from site_builder.cache import BuildCache
    from site_builder.reuse import Doc, find_reuse

    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(state_dir / "reuse", scratch)
    saved = pickle.loads((scratch / "state.pickle").read_bytes())
    digests = {source: digest for source, (_id, digest) in saved["ids"].items()}
    del saved
    cache = BuildCache(state_dir, readonly=True)
    target = sorted(digests)[len(digests) // 2]
    first = cache.text(target, digests[target])
    texts: dict[tuple[str, str], str] = {}

    def read(source: str, digest: str) -> str:
        found = texts.get((source, digest))
        return found if found is not None else cache.text(source, digest)

    out = []
    for k in range(1, steps + 1):
        digests[target] = f"bench-step-{k}"
        texts[(target, digests[target])] = first + f"\n同志们，这是为测试增量构建而新增的第{k}段话。"
        docs = [Doc(source, digest) for source, digest in digests.items()]
        t0, c0 = time.perf_counter(), time.process_time()
        found = find_reuse(docs, read, 30, scratch)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        answers = repr(([(p.text, tuple(p.places)) for p in found.passages], found.near)).encode()
        out.append({"step": k, "cpu": cpu, "wall": wall, "digest": hashlib.sha1(answers).hexdigest()[:12]})
        print(f"step {k}: {cpu:.3f} s CPU, {wall:.3f} s wall, answers {out[-1]['digest']}", flush=True)
    cache.close()
    return out


def _change(site, scenario: str, k: int) -> None:
    from peers import new_speech, touch_one

    if scenario == "changed":
        touch_one(site.content, f"bench-reuse-related-{k}-{time.time_ns()}")
    elif scenario == "added":
        site.write_speech(new_speech(site.content, 3000 + k))  # (a year after the newest: a file of its own)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--code", type=Path, help="a checkout to run (PYTHONPATH); default: this one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="changed,added")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help="--steps: a build's state folder (its reuse state and cache)")
    parser.add_argument("--scratch", type=Path, help="--steps: where the reuse state is copied (replaced)")
    parser.add_argument("--steps", type=int, default=0, help="the reuse stage alone, in this process: N steps")
    args = parser.parse_args(argv)
    if args.steps:
        if not os.environ.get("PYTHONPATH"):  # (else the code given there)
            sys.path.insert(0, str(BENCH.parent))
        rows = _steps(args.state, args.scratch, args.steps)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        return 0
    if not (args.content and args.output):
        parser.error("--content and --output are needed (or --state, --scratch and --steps)")
    content, output = args.content.resolve(), args.output.resolve()
    if args.inner:
        _inner(str(content), str(output))
        return 0
    sys.path.insert(0, str(BENCH))
    from bench_update import _Site

    code = (args.code or BENCH.parent).resolve()
    site = _Site(content, output, code, output.parent / "bench_reuse_related.log")
    env = dict(os.environ, PYTHONPATH=str(code))
    rows = []
    for k in range(1, args.runs + 1):
        for scenario in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            _change(site, scenario, k)
            command = [sys.executable, "-P", str(Path(__file__).resolve()), "--inner"]
            command += ["--content", str(content), "--output", str(output)]
            done = subprocess.run(command, env=env, cwd=output.parent, capture_output=True, text=True)
            lines = done.stdout.strip().splitlines()
            if done.returncode or not lines:
                print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
                return 1
            row = dict(json.loads(lines[-1]), scenario=scenario, load=os.getloadavg()[0])
            rows.append(row)
            st = row["stages"]
            shown = "  ".join(
                f"{name} {w:.2f} s wall / {c:.2f} s CPU (+{kid:.2f} child)" for name, (w, c, kid) in st.items()
            )
            print(
                f"{scenario} {k}: whole {row['whole']['wall']:.2f} s wall / {row['whole']['cpu']:.2f} s CPU;  {shown}  [load {row['load']:.1f}]",
                flush=True,
            )
    print("\nmedians (CPU s of the main process; wall s):")
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        got = [r for r in rows if r["scenario"] == scenario]
        for name in ("reuse", "related"):
            stage = [r["stages"][name] for r in got if name in r["stages"]]
            if stage:
                cpu = statistics.median(s[1] for s in stage)
                wall = statistics.median(s[0] for s in stage)
                kid = statistics.median(s[2] for s in stage)
                print(f"  {scenario:<8} {name:<8} CPU {cpu:.3f}  wall {wall:.3f}  child CPU {kid:.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
