"""The reuse stage alone, cold, on a built archive's cache: its peak resident memory (#15).

    .venv/bin/python bench/bench_reuse_memory.py --state STATE_DIR --scratch DIR

``STATE_DIR`` is a build's state folder (``.site_builder_cache/<output>-<hash>/``, holding
``cache.sqlite``); the speeches' texts are read from it, and ``find_reuse`` runs afresh with its
state in ``DIR`` (deleted first). Prints the process's resident memory (total, anonymous, file
pages) and its peak at each step, and a digest of the answers, so that two checkouts can be
compared on the same archive (``PYTHONPATH=/other/checkout``): same digest, other peaks.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import shutil
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH (another checkout) first


def memory(tag: str) -> None:
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            name = line.split(":")[0]
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(line.split()[1]) // 1024
    print(
        f"{tag}: resident {fields['VmRSS']} MB (anonymous {fields['RssAnon']}, file {fields['RssFile']}), "
        f"peak so far {fields['VmHWM']} MB",
        flush=True,
    )


def _wrap(owner, name: str) -> None:
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        memory(f"before {name}")
        out = original(*args, **kwargs)
        memory(f"after {name}")
        return out

    setattr(owner, name, wrapped)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--scratch", type=Path, required=True)
    ap.add_argument("--min-chars", type=int, default=30)
    args = ap.parse_args(argv)
    import site_builder.reuse.stage as stage
    from site_builder.cache import BuildCache
    from site_builder.reuse import Doc, find_reuse

    cache = BuildCache(args.state, readonly=True)
    docs = [Doc(s, d) for s, d in cache.db.execute("SELECT source, digest FROM parsed")]
    _wrap(stage, "near_pairs")
    _wrap(stage._State, "_extend_table" if hasattr(stage._State, "_extend_table") else "_extend")
    shutil.rmtree(args.scratch, ignore_errors=True)
    memory("start")
    started = time.perf_counter()
    found = find_reuse(docs, cache.text, args.min_chars, args.scratch)
    memory(f"end: {len(docs)} speeches, {time.perf_counter() - started:.1f} s")
    digest = hashlib.sha1(pickle.dumps((found.passages, found.near))).hexdigest()
    print(f"{len(found.passages)} passages, {len(found.near)} near-duplicate pairs, answers {digest}")
    shutil.rmtree(args.scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
