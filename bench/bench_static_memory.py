#!/usr/bin/env python3
"""The static index stage alone, cold (#15: its memory must not grow with the archive).

    .venv/bin/python bench/bench_static_memory.py --content CORPUS --work DIR [--ballast-mb N] [--json F]

Loads the speeches of ``--content`` (Markdown + front matter, as ``gen_corpus.py`` writes them, read
as ``bench_static_search.py`` reads them: bodies on demand) and runs one clean
``StaticIndex.update`` into ``DIR/site/search`` with its state in ``DIR/state`` (both deleted
first), in this process, as the build's last stage does. Prints the CPU seconds of this process and
of its worker processes (user + system, ``os.times``), the peak resident memory of this process
and the largest of its workers (``ru_maxrss``: for a spawned worker that counts this process's
resident set at the spawn; the stats' ``worker_peak_rss_mb`` is the assembly workers' own
``VmHWM``), and a digest of every file under ``search/`` (name and bytes): two versions of the code
that write the same index print the same digest.

``--ballast-mb N`` first fills N MB of this process's memory (as a build's main process holds its
model, pages and passages when this stage starts), to show what worker processes inherit: a forked
worker's resident set counts the parent's pages it maps. Run it under ``bench_tree_memory.py`` for
each process's peak RSS and PSS over time. ``PYTHONPATH=<other checkout>`` runs that checkout's code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # PYTHONPATH (another checkout) first

import site_builder  # noqa: E402  (the code under test, before bench_static_search puts REPO first)
from site_builder.static_search import StaticIndex  # noqa: E402

sys.path.append(str(REPO / "bench"))
from bench_static_search import _lazy, load_corpus  # noqa: E402


def tree_digest(root: Path) -> tuple[str, int, int]:
    """(sha256 of every file's relative name and bytes, in name order; files; bytes)."""
    h = hashlib.sha256()
    n = size = 0
    for p in sorted(x for x in root.rglob("*") if x.is_file()):
        data = p.read_bytes()
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + len(data).to_bytes(8, "little") + data)
        n += 1
        size += len(data)
    return h.hexdigest(), n, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--content", type=Path, required=True, help="a gen_corpus.py corpus")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (site/ and state/ are deleted first)")
    ap.add_argument("--ballast-mb", type=int, default=0, help="fill this many MB before the update")
    ap.add_argument("--jobs", type=int, default=None, help="StaticIndex's jobs (1: no worker processes)")
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args()
    site, state = args.work / "site", args.work / "state"
    for d in (site, state):
        shutil.rmtree(d, ignore_errors=True)
    docs = [_lazy(x, str(args.content / x.id)) for x in load_corpus(args.content)]
    ballast = bytearray(os.urandom(1 << 20)) * args.ballast_mb  # touched: resident, like a model
    t0, w0 = os.times(), time.perf_counter()
    stats = StaticIndex(state, site, jobs=args.jobs).update(docs)
    t1, wall = os.times(), time.perf_counter() - w0
    del ballast
    digest, files, size = tree_digest(site / "search")
    res = {
        "code": str(Path(site_builder.__file__).parent),
        "docs": len(docs),
        "wall_s": round(wall, 2),
        "cpu_s": round(t1.user + t1.system - t0.user - t0.system, 2),
        "workers_cpu_s": round(t1.children_user + t1.children_system - t0.children_user - t0.children_system, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "search_files": files,
        "search_bytes": size,
        "digest": digest,
        "stats": {k: v for k, v in stats.items() if isinstance(v, int)},
    }
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
