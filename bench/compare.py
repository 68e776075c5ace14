#!/usr/bin/env python3
"""Compare our tool with Hugo (+ Pagefind) and Pelican on generated corpora.

    python bench/compare.py --sizes 1000 --runs 3
    python bench/compare.py --sizes 1000,10000 --runs 3          # 10k gets --large-runs (1) runs
    python bench/compare.py --sizes 1000 --tools ours,hugo --no-pagefind
    python bench/compare.py --sizes 1000 --breakdown    # + bytes and files by folder (issue #15)

For each size: generate (or reuse) ``bench/.work/compare/corpus-<n>-s<seed>``, give every tool its
own copy of the content, then run the tools ALTERNATELY, one scenario at a time:

  cold       output and caches deleted, full build
  pagefind   Pagefind extended over the site just built (ours and Hugo)
  no-change  build again, nothing changed
  1-changed  one speech body edited (a paragraph appended), build again
  1-added    one new speech added, newer than all others (the weekly case), build again

Our tool is an external command (``--ours-cmd``, default
``/work/main/.venv/bin/site-builder build --content {content} --output {output}``), run with the
site folder as working directory; if it fails, its cells say "failed" and the peers still run.
Prints a Markdown table of medians (wall s, CPU s, peak RSS MB) and ratios peer/ours on wall time
(> 1 means ours is faster), and writes all raw timings to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_corpus
import peers

SCENARIOS = ["cold", "pagefind", "no-change", "1-changed", "1-added"]
ALL_TOOLS = ["ours", "hugo", "pelican"]


def corpus_for(n: int, seed: int, work: Path) -> Path:
    d = work / f"corpus-{n}-s{seed}"
    stamp = work / f"corpus-{n}-s{seed}.json"
    if d.exists() and stamp.exists():
        return d
    print(f"generating {n} speeches into {d} ...", flush=True)
    info = gen_corpus.generate(n, d, seed=seed, jobs=2, clean=True)
    stamp.write_text(json.dumps(info, ensure_ascii=False))
    return d


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def run_size(n: int, args, work: Path) -> dict:
    corpus = corpus_for(n, args.seed, work)
    sdir = work / f"n{n}"
    sdir.mkdir(parents=True, exist_ok=True)
    sites: dict[str, peers.Site] = {}
    speeches = None
    for tool in args.tools:
        if tool == "ours":
            sites[tool] = peers.OursSite(corpus, sdir, args.ours_cmd)
        elif tool == "hugo":
            sites[tool] = peers.HugoSite(corpus, sdir)
        elif tool == "pelican":
            sites[tool] = peers.PelicanSite(corpus, sdir)
    t0 = time.perf_counter()
    for tool, site in sites.items():
        if tool != "ours" and speeches is None:
            speeches = peers.read_corpus(corpus)
        if site.log.exists():
            site.log.unlink()
        site.prepare() if tool == "ours" else site.prepare(speeches)
    print(f"[{n}] prepared {', '.join(sites)} in {time.perf_counter() - t0:.1f} s", flush=True)

    runs = args.runs if n < args.large_threshold else args.large_runs
    results: dict[str, dict[str, list]] = {t: {s: [] for s in SCENARIOS} for t in sites}
    for r in range(runs):
        order = list(sites)
        k = r % len(order)
        order = order[k:] + order[:k]  # rotate who goes first
        broken: set[str] = set()
        for scen in SCENARIOS:
            for tool in order:
                site = sites[tool]
                if tool in broken:
                    if scen != "pagefind" or (tool != "pelican" and not args.no_pagefind):
                        results[tool][scen].append(peers.Timing(f"{tool} {scen}", note="skipped: cold build failed"))
                    continue
                if scen == "cold":
                    t = site.build_cold()
                    if not t.ok:
                        broken.add(tool)
                elif scen == "pagefind":
                    if args.no_pagefind or tool == "pelican":
                        continue
                    t = peers.run_pagefind(
                        site.output,
                        sdir / f"pagefind-{tool}",
                        f"pagefind over {tool}",
                        log=sdir / f"pagefind-{tool}.log",
                        glob=args.ours_pagefind_glob if tool == "ours" else None,
                    )
                elif scen == "no-change":
                    t = site.build_again()
                elif scen == "1-changed":
                    t = site.build_one_changed()
                else:
                    t = site.build_one_added()
                print(f"  [{n} run {r + 1}/{runs}] {t.short()}", flush=True)
                results[tool][scen].append(t)
    cache = {}
    if "ours" in sites:  # the build cache after the last scenario, against the content's bytes (#15)
        held, content = (
            peers.dir_size(sites["ours"].output.parent / ".site_builder_cache")[0],
            peers.dir_size(corpus)[0],
        )
        cache = {"mb": round(held / 1e6, 1), "x_content": round(held / max(content, 1), 2)}
        if args.breakdown:
            cache["content_mb"] = round(content / 1e6, 1)
            root = sites["ours"].output.parent / ".site_builder_cache"
            parts: dict[str, list[int]] = {}
            for name, v in peers.dir_breakdown(root, True).items():  # one level into output-<hash>/
                inner = peers.dir_breakdown(root / name, True) if name.endswith("/") else {}
                parts.update({name + k: w for k, w in inner.items()} if inner else {name: v})
            cache["by_folder"] = parts
    return {"n": n, "runs": runs, "corpus": str(corpus), "results": results, "ours_cache": cache}


def fmt(v, spec=".2f"):
    return "—" if v is None else format(v, spec)


def cell(ts: list) -> tuple[str, float | None, float | None]:
    """(text, median wall, median CPU) for a list of Timing."""
    if not ts:
        return "—", None, None
    ok = [t for t in ts if t.ok]
    if not ok:
        return "failed", None, None
    wall, cpu, rss = med([t.wall for t in ok]), med([t.cpu for t in ok]), med([t.rss_mb for t in ok])
    txt = f"{wall:.2f} s / {cpu:.2f} s / {rss:.0f} MB"
    if len(ok) < len(ts):
        txt += f" ({len(ts) - len(ok)} failed)"
    return txt, wall, cpu


def ratio(a, b) -> str:
    return f"{a / b:.2f}×" if a and b else "—"


def table(size_result: dict, tools: list[str], breakdown: bool = False) -> str:
    res = size_result["results"]
    lines = [
        f"### {size_result['n']:,} speeches (median of {size_result['runs']}; wall / CPU / peak RSS)",
        "",
        "| scenario | " + " | ".join(tools) + " | " + " | ".join(f"{t}/ours" for t in tools if t != "ours") + " |",
        "|---" * (1 + len(tools) + len([t for t in tools if t != "ours"])) + "|",
    ]
    rows = list(SCENARIOS)
    for scen in rows:
        cells, walls, cpus = [], {}, {}
        for t in tools:
            txt, w, c = cell(res.get(t, {}).get(scen, []))
            cells.append(txt)
            walls[t], cpus[t] = w, c
        ratios = []
        for t in tools:
            if t == "ours":
                continue
            r = ratio(walls.get(t), walls.get("ours"))
            ratios.append(r if r == "—" else f"{r} ({ratio(cpus.get(t), cpus.get('ours'))})")
        if all(c == "—" for c in cells):
            continue
        lines.append(f"| {scen} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    # build + search index: ours cold already includes its indexes; Hugo needs Pagefind after
    if "ours" in tools and "hugo" in tools:

        def m(t, scen, attr):
            return med([getattr(x, attr) for x in res.get(t, {}).get(scen, []) if x.ok])

        o, oc = m("ours", "cold", "wall"), m("ours", "cold", "cpu")
        h, hc = m("hugo", "cold", "wall"), m("hugo", "cold", "cpu")
        hp, hpc = m("hugo", "pagefind", "wall"), m("hugo", "pagefind", "cpu")
        if h is not None and hp is not None:
            cells = []
            for t in tools:
                cells.append(
                    {
                        "ours": f"{fmt(o)} s / {fmt(oc)} s (one command)" if o is not None else "failed",
                        "hugo": f"{fmt(h + hp)} s / {fmt(hc + hpc)} s (hugo + pagefind)",
                    }.get(t, "no search index")
                )
            r = ratio(h + hp, o)
            ratios = [
                (r if r == "—" else f"{r} ({ratio(hc + hpc, oc)})") if t == "hugo" else "—"
                for t in tools
                if t != "ours"
            ]
            lines.append("| cold build + search index | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    # sizes
    extra = []
    for t in tools:
        cold = [x for x in res.get(t, {}).get("cold", []) if x.ok]
        pf = [x for x in res.get(t, {}).get("pagefind", []) if x.ok]
        if cold:
            extra.append(
                f"{t}: {cold[-1].extra.get('html', '?')} HTML files, {cold[-1].extra.get('out_mb', '?')} MB output"
            )
        if pf:
            extra.append(
                f"pagefind over {t}: {pf[-1].extra.get('pages', '?')} pages indexed, "
                f"{pf[-1].extra.get('index_mb', '?')} MB in {pf[-1].extra.get('index_files', '?')} files"
            )
    if size_result.get("ours_cache"):
        c = size_result["ours_cache"]
        extra.append(f"ours: build cache {c['mb']} MB, {c['x_content']}× the content")
    lines += ["", "; ".join(extra) + "."]
    if breakdown:
        lines += ["", *breakdown_lines(size_result, tools)]
    return "\n".join(lines)


def _mb_files(b: int, n: int) -> str:
    return f"{b / 1e6:.2f} MB in {n} files"


def breakdown_lines(size_result: dict, tools: list[str]) -> list[str]:
    """Where the bytes and files are (issue #15): each tool's output by top-level folder after its
    last cold build, ours' search/ against Pagefind's bundles, ours' whole output against Hugo's
    pages + Pagefind's index over them, and ours' build cache by part after the last scenario."""
    res = size_result["results"]

    def last(t: str, scen: str):
        ok = [x for x in res.get(t, {}).get(scen, []) if x.ok]
        return ok[-1].extra if ok else None

    out = []
    for t in tools:
        cold = last(t, "cold")
        if cold and cold.get("by_folder"):
            parts = sorted(cold["by_folder"].items(), key=lambda kv: -kv[1][0])
            out.append(
                f"{t} output by folder (last cold build): " + "; ".join(f"`{k}` {_mb_files(*v)}" for k, v in parts)
            )
    ours, hugo = last("ours", "cold"), last("hugo", "cold")
    pf = {t: last(t, "pagefind") for t in ("ours", "hugo")}
    if ours and ours.get("by_folder"):
        sb, sn = ours["by_folder"].get("search/", [0, 0])
        for t, p in pf.items():
            if p and "index_bytes" in p:
                pb = p["index_bytes"]
                out.append(
                    f"ours `search/` {_mb_files(sb, sn)} vs Pagefind over {t} {_mb_files(pb, p['index_files'])}: "
                    f"{sb / pb:.2f}× the bytes, {sn / p['index_files']:.2f}× the files"
                )
        if hugo and pf["hugo"] and "out_bytes" in hugo and "index_bytes" in pf["hugo"]:
            ob, on = ours["out_bytes"], ours["out_files"]
            hb = hugo["out_bytes"] + pf["hugo"]["index_bytes"]
            hn = hugo["out_files"] + pf["hugo"]["index_files"]
            out.append(
                f"ours whole output {_mb_files(ob, on)} vs Hugo's pages + Pagefind's index {_mb_files(hb, hn)}: "
                f"{ob / hb:.2f}× the bytes, {on / hn:.2f}× the files"
            )
    c = size_result.get("ours_cache") or {}
    if c.get("by_folder"):
        parts = sorted(c["by_folder"].items(), key=lambda kv: -kv[1][0])
        out.append(
            f"ours build cache after the last scenario {c['mb']} MB = {c['x_content']}× the content "
            f"({c['content_mb']} MB): " + "; ".join(f"`{k}` {_mb_files(*v)}" for k, v in parts)
        )
    return [f"* {line}" for line in out]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark our tool against Hugo (+Pagefind) and Pelican")
    ap.add_argument("--sizes", default="1000", help="comma-separated corpus sizes (default 1000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size below --large-threshold (default 3)")
    ap.add_argument("--large-runs", type=int, default=1, help="runs for sizes >= --large-threshold (default 1)")
    ap.add_argument("--large-threshold", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tools", default=",".join(ALL_TOOLS), help="subset of ours,hugo,pelican")
    ap.add_argument("--no-pagefind", action="store_true")
    ap.add_argument(
        "--ours-cmd",
        default=peers.OURS_DEFAULT,
        help="command template for our tool; {content} and {output} are filled in",
    )
    ap.add_argument(
        "--ours-pagefind-glob",
        default="speeches/**/*.html",
        help="pages of our output that Pagefind indexes (Hugo's are marked data-pagefind-body); '' for all pages",
    )
    ap.add_argument(
        "--breakdown",
        action="store_true",
        help="also print output by folder, our search/ vs Pagefind, output vs Hugo + Pagefind, cache by part",
    )
    ap.add_argument("--work", type=Path, default=peers.WORK / "compare")
    ap.add_argument("--json", type=Path, default=None, help="raw results (default WORK/results-<time>.json)")
    a = ap.parse_args(argv)
    a.tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    bad = [t for t in a.tools if t not in ALL_TOOLS]
    if bad:
        ap.error(f"unknown tool(s): {', '.join(bad)}")
    sizes = [int(x) for x in a.sizes.split(",") if x.strip()]
    work = a.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if any(t != "ours" for t in a.tools) or not a.no_pagefind:
        peers.ensure_venv(quiet=True)

    machine = peers.machine_info()
    versions = peers.tool_versions()
    print(f"machine: {machine}\nversions: {versions}", flush=True)
    out = []
    for n in sizes:
        r = run_size(n, a, work)
        out.append(r)
    print()
    print(
        f"Date {machine['date']}; nproc {machine['nproc']}; {machine.get('python3')}; {machine.get('cpu', '')}; "
        f"load average at start {' '.join(machine.get('loadavg', []))}"
    )
    print(
        "Cells: median wall seconds / CPU seconds (user+system) / peak RSS of the largest process. "
        "Ratios are peer / ours on wall time, and in brackets on CPU time (> 1: ours is faster). "
        f"Load average at the end: {' '.join(peers.machine_info().get('loadavg', []))}.\n"
    )
    for r in out:
        print(table(r, list(r["results"]), a.breakdown))
        print()
    path = a.json or work / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "machine": machine,
                "versions": versions,
                "ours_cmd": a.ours_cmd,
                "sizes": [
                    {
                        **r,
                        "results": {
                            t: {s: [asdict(x) for x in v] for s, v in sc.items()} for t, sc in r["results"].items()
                        },
                    }
                    for r in out
                ],
            },
            ensure_ascii=False,
            indent=1,
        )
    )
    print(f"raw timings: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
