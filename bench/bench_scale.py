#!/usr/bin/env python3
"""An archive of 100,000 speeches (#15): our build against Hugo + Pagefind on the same corpus, once.

    .venv/bin/python bench/bench_scale.py --n 100000 [--mem-cap-gb 12] [--ours-cmd '…'] [--json F]

Generates (or reuses) ``bench/.work/compare/corpus-<n>-s<seed>`` (``gen_corpus.py``; 100,000
speeches are ≈ 2.8 GB), then runs, one after another, each as an external command timed like
``compare.py`` (wall s, CPU s of the process and its children, peak RSS of the largest process):

  ours cold         output and cache deleted, full build (pages + Whoosh + browser index)
  ours no-change    the same command again
  ours 1-changed    a paragraph appended to one speech
  ours 1-added      a new speech, newer than all others
  ours search       whole-process ``site-builder search`` latency (``bench_cli.py``'s 24 queries, once each)
  hugo cold         Hugo over the same bodies (``peers.HugoSite``)
  pagefind          Pagefind extended over Hugo's speech pages

Peers run under a memory cap (``prlimit --as``, ``--mem-cap-gb``, default 12): at 10,000 pages
Pagefind peaked at 8.8 GB and Hugo at 2.7 GB here, and the machine has 24 GB; a peer that hits the
cap is recorded as failed with its time and peak, which is what it does on this machine;
``--peer-minutes`` stops a peer that runs longer (recorded as failed, exit status 124). Our build
runs without a cap (its target is ≤ 2 GB peak; the figure is reported). Every result is written to
the JSON file as soon as it is known, so a long run stopped half-way keeps what it measured.
Output size and file count of each site, by top-level folder, are recorded after its cold build.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare
import peers

REPO = Path(__file__).resolve().parent.parent


def memory_cap(cap_bytes: int, minutes: float | None = None) -> list[str]:
    """The command prefix that caps a peer's address space (the peers' memory grows with pages).

    With ``minutes``, ``timeout`` stops the peer (and only it: the cap's own process is replaced by
    the peer) after that long; /usr/bin/time still reports its CPU and peak, with exit status 124.
    """
    limit = ["timeout", "-k", "30", f"{minutes * 60:.0f}"] if minutes else []
    return [*limit, "prlimit", f"--as={cap_bytes}", "--"]


def search_latency(ours: peers.OursSite, log: Path, code: str | None) -> dict:
    """bench_cli.py's queries, each once, as separate processes against the built site."""
    out = log.with_suffix(".search.json")
    cmd = [
        sys.executable,
        str(REPO / "bench" / "bench_cli.py"),
        "--content",
        str(ours.content),
        "--output",
        str(ours.output),
        "--runs",
        "1",
        "--json",
        str(out),
    ]
    if code:
        cmd += ["--code", code]
    t = peers.run_timed("ours search (bench_cli)", cmd, log=log)
    result = asdict(t)
    if out.exists():
        result["latency"] = json.loads(out.read_text())
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default=str(REPO / "bench" / ".work" / "compare"))
    ap.add_argument("--ours-cmd", default=peers.OURS_DEFAULT)
    ap.add_argument("--code", help="the checkout whose site_builder bench_cli.py searches with (as in --ours-cmd)")
    ap.add_argument("--mem-cap-gb", type=float, default=12.0, help="address-space cap of each peer (default 12)")
    ap.add_argument(
        "--peer-minutes", type=float, help="stop each peer after this many minutes (Hugo did not end in 58 at 100k)"
    )
    ap.add_argument("--tools", default="ours,hugo,pagefind", help="subset of ours,hugo,pagefind")
    ap.add_argument("--skip-search", action="store_true", help="no search latency run")
    ap.add_argument("--json", help="results file (default WORK/scale-<n>-<time>.json)")
    args = ap.parse_args(argv)
    tools = set(args.tools.split(","))
    work = Path(args.work).resolve()  # the tools run in their own folders
    work.mkdir(parents=True, exist_ok=True)
    out_json = Path(args.json or work / f"scale-{args.n}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    record: dict = {
        "n": args.n,
        "machine": peers.machine_info(),
        "versions": peers.tool_versions(),
        "ours_cmd": args.ours_cmd,
        "mem_cap_gb": args.mem_cap_gb,
        "peer_minutes": args.peer_minutes,
        "steps": {},
    }

    def keep(name: str, value) -> None:
        record["steps"][name] = asdict(value) if isinstance(value, peers.Timing) else value
        out_json.write_text(json.dumps(record, ensure_ascii=False, indent=1))
        short = value.short() if isinstance(value, peers.Timing) else json.dumps(value, ensure_ascii=False)[:300]
        print(f"[{args.n}] {name}: {short}", flush=True)

    t0 = time.perf_counter()
    corpus = compare.corpus_for(args.n, args.seed, work)
    content_bytes, content_files = peers.dir_size(corpus)
    keep("corpus", {"path": str(corpus), "mb": round(content_bytes / 1e6, 1), "files": content_files})
    sdir = work / f"n{args.n}"
    sdir.mkdir(parents=True, exist_ok=True)
    if "ours" in tools:
        ours = peers.OursSite(corpus, sdir, args.ours_cmd)
        ours.prepare()
        keep("ours cold", ours.build_cold())
        if record["steps"]["ours cold"]["ok"]:
            cache = peers.dir_size(ours.output.parent / ".site_builder_cache")[0]
            keep("ours cache", {"mb": round(cache / 1e6, 1), "x_content": round(cache / content_bytes, 2)})
            keep("ours no-change", ours.build_again())
            keep("ours 1-changed", ours.build_one_changed())
            keep("ours 1-added", ours.build_one_added())
            if not args.skip_search:
                keep("ours search", search_latency(ours, sdir / "ours-search.log", args.code))
    cap = int(args.mem_cap_gb * 1024**3)
    if "hugo" in tools or "pagefind" in tools:
        hugo = peers.HugoSite(corpus, sdir)
        hugo.prepare(peers.read_corpus(corpus))
        hugo.prefix = memory_cap(cap, args.peer_minutes)
        keep("hugo cold", hugo.build_cold())
        if "pagefind" in tools and record["steps"]["hugo cold"]["ok"]:
            pagefind = peers.run_pagefind(
                hugo.output,
                sdir / "pagefind-hugo",
                "pagefind over hugo",
                log=sdir / "pagefind-hugo.log",
                prefix=memory_cap(cap, args.peer_minutes),
            )
            keep("pagefind over hugo", pagefind)
    keep("total", {"wall_s": round(time.perf_counter() - t0, 1)})
    print(f"results: {out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
