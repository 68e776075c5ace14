"""CPU and memory of loading a built site's archive (issue #15: one changed ≤ 1 s at 10k, ≤ 2 GB at 100k).

    PYTHONPATH=<code> .venv/bin/python bench/bench_load.py --content C --output O [--tocs]

Reads what a build of C into O left (nothing is written: the build cache is opened read-only) the
way a rebuild does — scan, ``loader.load`` (the parsed records from the cache), ``build_archive``,
``build_index.index_docs`` — and prints each step's CPU seconds, then loads it again to see what the
model holds once loaded: bytes per speech (tracemalloc, after a collection) and the process's
resident size before and after (the second load; the first one's memory, freed, may still be
held by the allocator). --tocs also reads every speech's table of contents (what rendering every speech page
adds to the model). Run it on a site built with the same code (another version's cache parses
nothing here but may hold records this code does not read).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from pathlib import Path


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--tocs", action="store_true", help="also read every table of contents")
    args = parser.parse_args()

    from site_builder import build, collector, loader
    from site_builder.build_index import Bodies, index_docs
    from site_builder.cache import BuildCache
    from site_builder.config import load_config
    from site_builder.model import build_archive
    from site_builder.urls import UrlMap

    config, _ = load_config(Path.cwd(), {"content_dir": str(args.content), "output_dir": str(args.output)})
    cache = BuildCache(config.state_dir, readonly=True)

    def load() -> tuple:
        cpu: dict[str, float] = {}
        clock = time.process_time
        with collector.during_build():  # the build's collector settings
            start = clock()
            scanned = loader.scan(config.content)
            cpu["scan"] = clock() - start
            start = clock()
            speeches, _problems, stats = loader.load(config.content, cache, build._settings(config), scanned=scanned)
            cpu["load (loader.load)"] = clock() - start
            start = clock()
            archive = build_archive(speeches, UrlMap(config.urls))
            cpu["model (build_archive)"] = clock() - start
            start = clock()
            docs = index_docs(archive, Bodies(cache))
            cpu["index docs"] = clock() - start
        return cpu, stats, archive, docs

    cpu, stats, archive, docs = load()  # timed without tracemalloc (which slows every allocation)
    del archive, docs
    gc.collect()
    before = _rss()
    tracemalloc.start()
    _cpu, stats, archive, docs = load()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    after = _rss()
    n = max(len(archive.speeches), 1)
    for name, seconds in cpu.items():
        print(f"{name:<28} {seconds:6.3f} s CPU")
    print(f"{'speeches':<28} {len(archive.speeches):6d} ({stats['parsed']} parsed)")
    print(f"{'held (tracemalloc)':<28} {held / 1e6:8.1f} MB = {held / n:,.0f} B per speech (model + index docs)")
    print(f"{'resident':<28} {before / 1e6:8.1f} -> {after / 1e6:.1f} MB ({(after - before) / n:,.0f} B per speech)")
    if args.tocs:
        mark = tracemalloc.get_traced_memory()[0]
        for s in archive.speeches:
            list(s.toc)
        gc.collect()
        print(f"{'every toc read: more':<28} {(tracemalloc.get_traced_memory()[0] - mark) / n:,.0f} B per speech")
    del docs
    cache.close()


if __name__ == "__main__":
    main()
