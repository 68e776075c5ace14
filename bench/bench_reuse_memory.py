"""The reuse stage alone, cold, on a built archive's cache: its peak resident memory (#15).

    .venv/bin/python bench/bench_reuse_memory.py --state STATE_DIR --scratch DIR [--sample SECONDS] [--changed N]

``STATE_DIR`` is a build's state folder (``.site_builder_cache/<output>-<hash>/``, holding
``cache.sqlite``); the speeches' texts are read from it, and ``find_reuse`` runs afresh with its
state in ``DIR`` (deleted first). Prints the process's resident memory (total, anonymous, file
pages) before and after each step of the stage, with the step's own peak (the kernel's ``VmHWM``,
reset at the step's start), and the stage's CPU seconds and a digest of the answers, so that two
checkouts can be compared on the same archive (``PYTHONPATH=/other/checkout``): same digest, other
peaks. ``--sample`` also reads the resident memory every SECONDS in a thread and prints, at the
largest sample, which lines of the stage the main thread was running (what holds the peak).
``--changed N`` then times N incremental steps on the state it left (the middle speech with the
first paragraph of the first added, then as it was, …): the CPU seconds of one changed speech.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH (another checkout) first

from bench_stages import _reset_peak  # (the peak since the last reset: one helper for both scripts)


def _status() -> dict[str, int]:
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            name = line.split(":")[0]
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(line.split()[1]) // 1024
    return fields


_MOST = [0]  # the largest peak printed (each step's peak is read before it is reset: the run's peak)


def memory(tag: str) -> None:
    f = _status()
    _MOST[0] = max(_MOST[0], f["VmHWM"])
    print(
        f"{tag}: resident {f['VmRSS']} MB (anonymous {f['RssAnon']}, file {f['RssFile']}), peak {f['VmHWM']} MB",
        flush=True,
    )


_DEPTH = [0]


def _wrap(owner, name: str) -> None:
    """Print the resident memory around each call of ``owner.name`` and its peak since the call
    began (or since the last wrapped call inside it ended: each resets the peak)."""
    original = getattr(owner, name, None)
    if original is None:  # (an older checkout)
        return

    def wrapped(*args, **kwargs):
        memory(f"{'  ' * _DEPTH[0]}before {name}")
        _reset_peak()
        _DEPTH[0] += 1
        try:
            return original(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            memory(f"{'  ' * _DEPTH[0]}after {name}")
            _reset_peak()

    setattr(owner, name, wrapped)


class Sampler(threading.Thread):
    """The resident memory every ``every`` seconds; the main thread's stack at the largest sample."""

    def __init__(self, every: float):
        super().__init__(daemon=True)
        self.every, self.main = every, threading.main_thread().ident
        self.best: tuple[int, int, int, list[str]] = (0, 0, 0, [])
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            f = _status()
            if f["VmRSS"] > self.best[0]:
                frame = sys._current_frames().get(self.main)
                stack = []
                while frame is not None:
                    code = frame.f_code
                    if "site_builder" in code.co_filename:
                        stack.append(f"{Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
                    frame = frame.f_back
                self.best = (f["VmRSS"], f["RssAnon"], f["RssFile"], stack)

    def report(self) -> None:
        rss, anon, file, stack = self.best
        print(f"largest sample: resident {rss} MB (anonymous {anon}, file {file}), in:")
        for line in stack:
            print(f"    {line}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--scratch", type=Path, required=True)
    ap.add_argument("--min-chars", type=int, default=30)
    ap.add_argument("--sample", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument(
        "--changed", type=int, default=0, metavar="N", help="then N incremental steps (one speech changed, back, …)"
    )
    args = ap.parse_args(argv)
    import site_builder.reuse.stage as stage
    from site_builder.cache import BuildCache
    from site_builder.reuse import Doc, find_reuse

    cache = BuildCache(args.state, readonly=True)
    # one version a speech (the cache keeps earlier ones of edited speeches: the last parsed)
    docs = list(
        {s: Doc(s, d) for s, d in cache.db.execute("SELECT source, digest FROM parsed ORDER BY rowid")}.values()
    )
    _wrap(stage._State, "_cold")
    for name in ("near_pairs", "cold_near_pairs", "_save"):
        _wrap(stage, name)
    _wrap(stage._State, "_extend_table" if hasattr(stage._State, "_extend_table") else "_extend")
    _wrap(stage._State, "dump")
    for cls, name in (("Spill", "write"), ("Gather", "finish")):
        if hasattr(stage, cls):
            _wrap(getattr(stage, cls), name)
    if hasattr(stage, "Found"):
        _wrap(stage.Found, "passages")
    shutil.rmtree(args.scratch, ignore_errors=True)
    sampler = Sampler(args.sample) if args.sample else None
    if sampler is not None:
        sampler.start()
    memory("start")
    _reset_peak()
    started, cpu = time.perf_counter(), os.times()
    found = find_reuse(docs, cache.text, args.min_chars, args.scratch)
    spent = os.times()
    memory(f"end: {len(docs)} speeches, {time.perf_counter() - started:.1f} s wall")
    print(f"CPU {spent.user + spent.system - cpu.user - cpu.system:.1f} s; peak of the whole stage {_MOST[0]} MB")
    if sampler is not None:
        sampler.done.set()
        sampler.join()
        sampler.report()
    passages = list(found.passages)
    digest = hashlib.sha1(pickle.dumps(([tuple(p) for p in passages], found.near))).hexdigest()
    print(f"{len(passages)} passages, {len(found.near)} near-duplicate pairs, answers {digest}")
    for step in range(args.changed):  # one speech changed (a paragraph of another added), then back
        middle = docs[len(docs) // 2]
        changed = step % 2 == 0
        extra = cache.text(docs[0].source, docs[0].digest).split("\n")[0]

        def read(source: str, digest: str, middle=middle, changed=changed, extra=extra) -> str:
            text = cache.text(source, middle.digest if source == middle.source else digest)
            return text + "\n" + extra if changed and source == middle.source else text

        now = [Doc(d.source, d.digest + "+" if changed and d == middle else d.digest) for d in docs]
        cpu = os.times()
        again = find_reuse(now, read, args.min_chars, args.scratch)
        spent = os.times()
        print(
            f"one changed{'' if changed else ' back'}: CPU {spent.user + spent.system - cpu.user - cpu.system:.2f} s, "
            f"{len(again.passages)} passages"
        )
    shutil.rmtree(args.scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
