"""CPU seconds of each stage of one build (#15): where a cold build's time goes.

    .venv/bin/python bench/bench_stages.py --content CORPUS --output OUT [--keep] [--runs N] [--json F]

Builds ``--content`` into ``--output`` in this process (a cold build: the output folder and its
build cache are deleted first, unless ``--keep``), with the build's stage clock (``build --explain``)
wrapped so that each stage records, besides its wall seconds, the CPU seconds of this process and of
the worker processes that ended during it (user + system, ``os.times``). The CPU figures are the ones
to compare on a shared machine; a stage's workers are counted in the stage that waits for them.
Each stage also records this process's **peak resident memory** during it (MB, the kernel's
``VmHWM``, reset at each stage's start through ``/proc/self/clear_refs``: no sampling thread, so the
build still forks its workers as it would), and the run the largest peak of any worker process
(``ru_maxrss`` of the children). Several ``--runs`` print each run and the median per stage.

``--memory`` also prints what the build process holds at the end of each stage (what it carries
into the next one and what its forked workers start with): resident MB (anonymous / file pages),
and, with ``--trace N``, the Python memory held after a collection (``tracemalloc``: the total,
then the N source lines that allocated most of it, with their change since the last stage). The
trace slows the build (every allocation is recorded): its CPU figures are not to be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH (another checkout) first


def _peak_mb() -> float:
    """This process's peak resident memory (MB) since the last ``_reset_peak`` (0 off Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _status_mb(*names: str) -> tuple[float, ...]:
    """Fields of ``/proc/self/status`` in MB (0 off Linux), e.g. ("VmRSS", "RssAnon", "RssFile")."""
    found = dict.fromkeys(names, 0.0)
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                name = line.split(":", 1)[0]
                if name in found:
                    found[name] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return tuple(found.values())


class Held:
    """What the build process holds at the end of each stage (``--memory``, ``--trace``)."""

    def __init__(self, top: int):
        self.top, self.rows, self.last = top, [], None
        if top:
            import tracemalloc

            tracemalloc.start()

    def __call__(self, stage: str) -> None:
        rss, anon, file = _status_mb("VmRSS", "RssAnon", "RssFile")
        row = {"stage": stage, "rss_mb": rss, "anon_mb": anon, "file_mb": file}
        line = f"  end of {stage:<15} resident {rss:7.1f} MB (anonymous {anon:7.1f}, file {file:6.1f})"
        if self.top:
            import gc
            import tracemalloc

            gc.collect()
            snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            stats = snap.statistics("lineno")
            row["traced_mb"] = sum(st.size for st in stats) / 1e6
            line += f"; Python objects {row['traced_mb']:7.1f} MB"
            diff = (
                {str(st.traceback[0]): st.size_diff for st in snap.compare_to(self.last, "lineno")} if self.last else {}
            )
            row["top"] = [
                (str(st.traceback[0]), st.size / 1e6, diff.get(str(st.traceback[0]), st.size) / 1e6)
                for st in stats[: self.top]
            ]
            line += "".join(f"\n      {mb:8.2f} MB ({d:+.2f}) {where}" for where, mb, d in row["top"])
            self.last = snap
        print(line, flush=True)
        self.rows.append(row)


def _children_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_once(
    content: Path, output: Path, keep: bool, held: Held | None = None
) -> tuple[dict[str, tuple[float, float, float]], float, float]:
    from site_builder.build import build
    from site_builder.config import load_config

    config, _warnings = load_config(Path.cwd(), {"content_dir": content, "output_dir": output})
    if not keep:
        shutil.rmtree(output, ignore_errors=True)
        shutil.rmtree(config.state_dir, ignore_errors=True)
    stages: dict[str, tuple[float, float, float]] = {}
    import importlib

    import site_builder.build as build_module

    try:  # the stage clock's homes (an older checkout has build._Clock only)
        index_module = importlib.import_module("site_builder.build_index")
    except ImportError:
        index_module = build_module
    original = build_module._Clock

    class CpuClock(original):  # type: ignore[misc, valid-type]
        def __init__(self, into: dict):
            super().__init__(into)
            self.cpu = _cpu()
            _reset_peak()

        def __call__(self, stage: str) -> None:
            wall_before = self.last
            super().__call__(stage)
            now = _cpu()
            stages[stage] = (self.last - wall_before, now - self.cpu, _peak_mb())
            if held is not None:  # (its own time counted in no stage)
                held(stage)
                self.last = time.perf_counter()
            self.cpu = _cpu()
            _reset_peak()

    wall0, cpu0 = time.perf_counter(), _cpu()
    build_module._Clock = index_module.Clock = CpuClock  # type: ignore[misc]
    try:
        result = build(config)
    finally:
        build_module._Clock = index_module.Clock = original  # type: ignore[misc]
    if result.problems and any(p.severity == "error" for p in result.problems):
        print(f"warning: {sum(p.severity == 'error' for p in result.problems)} errors in the build", file=sys.stderr)
    return stages, time.perf_counter() - wall0, _cpu() - cpu0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--content", type=Path, required=True)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--keep", action="store_true", help="do not delete the output and its cache first")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--memory", action="store_true", help="print what the process holds at each stage's end")
    ap.add_argument("--trace", type=int, default=0, metavar="N", help="with --memory: the N lines holding most")
    args = ap.parse_args(argv)
    runs = []
    for n in range(args.runs):
        held = Held(args.trace) if args.memory or args.trace else None
        stages, wall, cpu = run_once(args.content.resolve(), args.output.resolve(), args.keep, held)
        workers = _children_peak_mb()
        runs.append({"stages": stages, "wall": wall, "cpu": cpu, "workers_peak_mb": workers})
        if held is not None:
            runs[-1]["held"] = held.rows
        cells = ", ".join(f"{k} {w:.2f}/{c:.2f}" for k, (w, c, _m) in stages.items())
        print(f"run {n + 1}: total {wall:.2f} s wall / {cpu:.2f} s CPU; stage wall/CPU s: {cells}")
        peaks = ", ".join(f"{k} {m:.0f}" for k, (_w, _c, m) in stages.items())
        print(f"run {n + 1}: peak resident MB by stage: {peaks}; worker processes' peak {workers:.0f} MB")
    if args.runs > 1:
        names = list(runs[0]["stages"])
        med = {k: statistics.median(r["stages"].get(k, (0, 0, 0))[1] for r in runs) for k in names}
        print(
            f"median CPU: total {statistics.median(r['cpu'] for r in runs):.2f} s; "
            + ", ".join(f"{k} {v:.2f}" for k, v in med.items())
        )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
