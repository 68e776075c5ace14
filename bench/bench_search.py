#!/usr/bin/env python3
"""Benchmark the Whoosh search index (site_builder.search.whoosh_index) on a generated corpus.

    python bench/bench_search.py --n 1000
    python bench/bench_search.py --n 1000 --n 10000 --pagefind --json bench/.work/search.json
    python bench/bench_search.py --n 10000 --queries-only --first-passes 5 --answers a.json  # first runs

For each N: generate (or reuse) ``bench/.work/search/corpus-<N>-s<seed>`` with gen_corpus.py,
read the Markdown files directly (YAML front matter; the Markdown body is used as plain text),
then measure, in this process:

  index        clean build of the index with update() (wall s, CPU s incl. worker processes)
  size         bytes on disk of the index folder
  no-change    update() with nothing changed
  1-changed    update() after appending a sentence to one speech (median of 3 different speeches)
  queries      p50 / p95 latency of a fixed set of 1-4 term queries (plus OR, NOT, a phrase and
               filters), each with facets and 10 excerpts, one warm SearchIndex, every query run
               --repeat times after one warm-up pass; "first run" is that warm-up pass (each
               query's first run on the opened index)
  related      (--related) related speeches: cold keyword cache, nothing changed, one changed
  pagefind     (--pagefind) Pagefind extended over one minimal HTML page per speech, same run

Timings are wall clock and CPU (process + reaped children); on a shared machine compare CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402

from site_builder.search.whoosh_index import IndexDoc, SearchIndex  # noqa: E402

QUERIES: list[tuple[str, str, dict]] = [
    # (category, query, filters)
    ("1 term", "工作", {}),
    ("1 term", "建设", {}),
    ("1 term", "党建", {}),
    ("1 term", "权", {}),
    ("1 term", "的", {}),
    ("1 term", "廉政", {}),
    ("1 term", "安全生产", {}),
    ("1 term", "如履薄冰", {}),
    ("1 term", "全面从严治党", {}),
    ("1 term", "2035年", {}),
    ("1 term", "员队", {}),
    ("1 term", "乡村振兴", {}),
    ("1 term", "基层党组织", {}),
    ("1 term", "主体责任", {}),
    ("1 term", "队伍建设", {}),
    ("1 term", "高质量发展", {}),
    ("1 term", "营商环境", {}),
    ("1 term", "把权力关进制度的笼子里", {}),
    ("1 term", "黨建", {}),
    ("1 term", "ＧＤＰ", {}),
    ("2 terms", "党建 廉政", {}),
    ("2 terms", "安全生产 责任", {}),
    ("2 terms", "工作 建设", {}),
    ("2 terms", "乡村振兴 产业", {}),
    ("2 terms", "全面从严治党 主体责任", {}),
    ("2 terms", "如履薄冰 权力", {}),
    ("3 terms", "党建 廉政 作风", {}),
    ("3 terms", "基层 党组织 建设", {}),
    ("3 terms", "改革 发展 稳定", {}),
    ("4 terms", "党建 廉政 作风 纪律", {}),
    ("4 terms", "改革 发展 稳定 安全", {}),
    ("4 terms", "全面从严治党 主体责任 监督责任 廉政建设", {}),
    ("OR/NOT/phrase", "党建 OR 廉政", {}),
    ("OR/NOT/phrase", "工作 -安全生产", {}),
    ("OR/NOT/phrase", '"从严 治党"', {}),
    ("OR/NOT/phrase", "安全 OR 生产 OR 应急 -消防", {}),
    ("filtered", "党建", {"year": "2018-2020"}),
    ("filtered", "工作", {"meeting_type": "@top"}),
    ("filtered", "建设", {"theme": "@top"}),
]


def cpu_now() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class Timer:
    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), cpu_now()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = cpu_now() - self.c0


def corpus_dir(n: int, seed: int, work: Path) -> Path:
    for d in (work / f"corpus-{n}-s{seed}", HERE / ".work" / "compare" / f"corpus-{n}-s{seed}"):
        if d.is_dir() and (d.parent / f"corpus-{n}-s{seed}.json").exists():
            return d
    import gen_corpus

    d = work / f"corpus-{n}-s{seed}"
    print(f"generating {n} speeches into {d} ...", flush=True)
    info = gen_corpus.generate(n, d, seed=seed, jobs=2, clean=True)
    (work / f"corpus-{n}-s{seed}.json").write_text(json.dumps(info, ensure_ascii=False))
    return d


def load_docs(root: Path) -> list[IndexDoc]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = []
    for p in sorted(root.rglob("*.md")):
        raw = p.read_bytes()
        text = raw.decode("utf-8")
        _, fm, body = text.split("---\n", 2)
        meta = yaml.load(fm, Loader=loader) or {}
        date = str(meta.get("date", ""))
        year = int(date[:4]) if date[:4].isdigit() else 0
        themes = meta.get("themes") or []
        if isinstance(themes, str):
            themes = [themes]
        rel = p.relative_to(root).as_posix()
        docs.append(
            IndexDoc(
                id=rel,
                url="speeches/" + rel[:-3] + ".html",
                title=str(meta.get("title", "")),
                date=date,
                year=year,
                meeting_type=str(meta.get("meeting_type", "")),
                themes=tuple(str(t) for t in themes),
                body=body,
                fingerprint=hashlib.sha1(raw).hexdigest(),
            )
        )
    return docs


def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_pagefind(docs: list[IndexDoc], work: Path) -> dict | None:
    try:
        import peers

        binary = peers.pagefind_bin()
    except Exception as e:
        print(f"pagefind: not available ({e}); run `python bench/peers.py setup`", flush=True)
        return None
    site = work / "pagefind-site"
    if site.exists():
        shutil.rmtree(site)
    for d in docs:
        p = site / d.url
        p.parent.mkdir(parents=True, exist_ok=True)
        paras = "".join(f"<p>{escape(x)}</p>" for x in d.body.split("\n") if x.strip())
        p.write_text(
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(d.title)}'
            f"</title></head><body><main data-pagefind-body><h1>{escape(d.title)}</h1>"
            f'<span data-pagefind-filter="year">{d.year}</span>{paras}</main></body></html>',
            "utf-8",
        )
    with Timer() as t:
        r = subprocess.run([str(binary), "--site", str(site)], capture_output=True, text=True)
    if r.returncode != 0:
        print("pagefind failed:", r.stderr[-2000:], flush=True)
        return None
    return {"wall_s": round(t.wall, 2), "cpu_s": round(t.cpu, 2), "index_bytes": dir_bytes(site / "pagefind")}


def measure_updates(ixdir: Path, docs: list[IndexDoc], out: dict, args) -> None:
    """Clean build, no-change update and one-changed updates of the index in ``ixdir``."""
    if ixdir.exists():
        shutil.rmtree(ixdir)
    ix = SearchIndex(ixdir, workers=args.workers)
    with Timer() as t:
        stats = ix.update(docs)
    assert stats["added"] == len(docs), stats
    out["index"] = {"wall_s": round(t.wall, 2), "cpu_s": round(t.cpu, 2), "docs_per_s": round(len(docs) / t.wall, 1)}
    out["index_bytes"] = dir_bytes(ixdir)
    print(
        f"index: {t.wall:.2f} s wall, {t.cpu:.2f} s CPU ({len(docs) / t.wall:.0f} docs/s), "
        f"{out['index_bytes'] / 1e6:.1f} MB",
        flush=True,
    )

    with Timer() as t:
        stats = ix.update(docs)
    assert stats["unchanged"] == len(docs), stats
    out["no_change"] = {"wall_s": round(t.wall, 3), "cpu_s": round(t.cpu, 3)}
    print(f"no-change update: {t.wall:.3f} s wall", flush=True)

    walls, cpus = [], []
    for k in range(3):
        i = (k * 7919 + 13) % len(docs)
        d = docs[i]
        docs[i] = IndexDoc(
            **{
                **d.__dict__,
                "body": d.body + f"\n本次修改增加了一句话{k}。",
                "fingerprint": d.fingerprint + f"-edit{k}",
            }
        )
        with Timer() as t:
            stats = ix.update(docs)
        assert stats["updated"] == 1 and stats["added"] == 0, stats
        walls.append(t.wall)
        cpus.append(t.cpu)
    out["one_changed"] = {
        "wall_s": round(statistics.median(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
        "all_wall_s": [round(w, 3) for w in walls],
    }
    print(
        f"1-changed update: {statistics.median(walls):.3f} s wall (runs {', '.join(f'{w:.3f}' for w in walls)})",
        flush=True,
    )

    ix.close()


def write_answers(searcher: SearchIndex, queries: list, path: Path, n: int) -> None:
    """Every query's whole answer (all hits with their scores and occurrences, facets, trend) and the
    first 200 occurrences of its KWIC view, as JSON: two runs of the code must give the same file."""
    answers = []
    for _cat, q, kw in queries:
        full = searcher.search(q, limit=n, **kw)
        for hit in full["hits"]:
            hit.pop("excerpt")  # the first 10 keep theirs (below)
        answers.append(
            {
                "query": q,
                "filters": kw,
                "answer": full,
                "first_page": searcher.search(q, limit=10, **kw)["hits"],
                "kwic": searcher.search(q, limit=200, kwic=True, **kw)["occurrences"],
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(answers, ensure_ascii=False, sort_keys=True), "utf-8")
    print(f"answers: {path}", flush=True)


def bench(n: int, args) -> dict:
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    root = corpus_dir(n, args.seed, work)
    with Timer() as t:
        docs = load_docs(root)
    print(
        f"\n== {len(docs)} speeches from {root} (read in {t.wall:.1f} s, "
        f"{sum(len(d.body) for d in docs) / 1e6:.1f} M characters)",
        flush=True,
    )
    out: dict = {"n": len(docs), "chars": sum(len(d.body) for d in docs), "workers": args.workers}

    ixdir = work / f"index-{n}"
    if args.queries_only and SearchIndex(ixdir).exists():
        print(f"index: reused {ixdir} (--queries-only)", flush=True)
    else:
        measure_updates(ixdir, docs, out, args)

    top_type = max({d.meeting_type for d in docs}, key=lambda m: sum(d.meeting_type == m for d in docs))
    top_theme = max({t for d in docs for t in d.themes}, key=lambda th: sum(th in d.themes for d in docs))
    queries = []
    for cat, q, kw in QUERIES:
        kw = dict(kw)
        if kw.get("meeting_type") == "@top":
            kw["meeting_type"] = top_type
        if kw.get("theme") == "@top":
            kw["theme"] = top_theme
        queries.append((cat, q, kw))

    first = []  # each query's first run on a freshly opened index (its terms not yet scanned)
    for k in range(args.first_passes):
        searcher = SearchIndex(ixdir)
        with Timer() as t:
            searcher.search("党建", limit=10)  # open (reads metadata of all speeches)
        out["open_first_query_s"] = round(t.wall, 3)
        for _cat, q, kw in queries:
            w0, c0 = time.perf_counter(), time.process_time()
            searcher.search(q, limit=10, **kw)
            first.append(((time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000, q))
        if k + 1 < args.first_passes:
            searcher.close()
    if args.answers:
        write_answers(searcher, queries, args.answers, n)
    samples: dict[str, list[tuple[float, float]]] = {}
    per_query = []
    for _ in range(args.repeat):
        for cat, q, kw in queries:
            w0, c0 = time.perf_counter(), time.process_time()
            res = searcher.search(q, limit=10, **kw)
            w, c = time.perf_counter() - w0, time.process_time() - c0
            samples.setdefault(cat, []).append((w, c))
            samples.setdefault("all", []).append((w, c))
            per_query.append((q, kw, res["total"], w))
    lat = {}
    for cat, vals in samples.items():
        ws = [v[0] * 1000 for v in vals]
        cs = [v[1] * 1000 for v in vals]
        lat[cat] = {
            "n": len(vals),
            "wall_p50_ms": round(pct(ws, 0.5), 1),
            "wall_p95_ms": round(pct(ws, 0.95), 1),
            "cpu_p50_ms": round(pct(cs, 0.5), 1),
            "cpu_p95_ms": round(pct(cs, 0.95), 1),
        }
    out["latency"] = lat
    out["first_run"] = {
        "n": len(first),
        "wall_p50_ms": round(pct([f[0] for f in first], 0.5), 1),
        "wall_p95_ms": round(pct([f[0] for f in first], 0.95), 1),
        "cpu_p50_ms": round(pct([f[1] for f in first], 0.5), 1),
        "cpu_p95_ms": round(pct([f[1] for f in first], 0.95), 1),
        "slowest": [{"query": q, "ms": round(w, 1)} for w, _c, q in sorted(first, key=lambda f: -f[0])[:3]],
    }
    hits = {}
    for q, kw, total, _w in per_query:
        hits[q + (" " + json.dumps(kw, ensure_ascii=False) if kw else "")] = total
    out["hits"] = hits
    slow = sorted(per_query, key=lambda x: -x[3])[:5]
    out["slowest"] = [{"query": q, "filters": kw, "total": tot, "ms": round(w * 1000, 1)} for q, kw, tot, w in slow]
    searcher.close()
    print("latency (ms)      n   wall p50  wall p95   CPU p50   CPU p95")
    for cat in [c for c in dict.fromkeys(c for c, _, _ in QUERIES)] + ["all"]:
        v = lat[cat]
        print(
            f"  {cat:14s} {v['n']:4d} {v['wall_p50_ms']:9.1f} {v['wall_p95_ms']:9.1f} "
            f"{v['cpu_p50_ms']:9.1f} {v['cpu_p95_ms']:9.1f}"
        )
    v = out["first_run"]
    print(
        f"  {'first run':14s} {v['n']:4d} {v['wall_p50_ms']:9.1f} {v['wall_p95_ms']:9.1f} "
        f"{v['cpu_p50_ms']:9.1f} {v['cpu_p95_ms']:9.1f}  (slowest: "
        + ", ".join(f"{s['query']} {s['ms']} ms" for s in v["slowest"])
        + ")"
    )
    print("hits:", ", ".join(f"{q}={t}" for q, t in list(hits.items())[:12]), "…")
    print(
        "slowest:",
        "; ".join(f"{s['query']} {s['filters'] or ''} {s['total']} hits {s['ms']} ms" for s in out["slowest"]),
    )

    if args.related:
        from site_builder.related import compute_related

        cache = work / f"related-{n}"
        if cache.exists():
            shutil.rmtree(cache)
        rel = {}
        for label in ("cold", "unchanged", "1-changed"):
            if label == "1-changed":
                d = docs[1]
                docs[1] = IndexDoc(
                    **{**d.__dict__, "body": d.body + "\n再补充一句话。", "fingerprint": d.fingerprint + "-rel"}
                )
            with Timer() as t:
                compute_related(docs, k=5, cache_dir=cache)
            rel[label] = {"wall_s": round(t.wall, 2), "cpu_s": round(t.cpu, 2)}
        out["related"] = rel
        print(
            "related (k=5): "
            + ", ".join(f"{k} {v['wall_s']:.2f} s wall / {v['cpu_s']:.2f} s CPU" for k, v in rel.items()),
            flush=True,
        )

    if args.pagefind:
        pf = run_pagefind(docs, work)
        out["pagefind"] = pf
        if pf:
            print(
                f"pagefind extended: {pf['wall_s']:.2f} s wall, {pf['cpu_s']:.2f} s CPU, "
                f"{pf['index_bytes'] / 1e6:.1f} MB  (ours: {out['index']['wall_s']:.2f} s wall, "
                f"{out['index']['cpu_s']:.2f} s CPU)",
                flush=True,
            )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, action="append", help="corpus size (repeatable; default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=HERE / ".work" / "search")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--repeat", type=int, default=5, help="timed passes over the query set")
    ap.add_argument("--pagefind", action="store_true", help="also time Pagefind extended (same pages)")
    ap.add_argument(
        "--related", action="store_true", help="also time related.compute_related (cold cache, unchanged, one changed)"
    )
    ap.add_argument("--json", type=Path, help="write all results here")
    ap.add_argument(
        "--queries-only", action="store_true", help="reuse the index of an earlier run; time only the queries"
    )
    ap.add_argument("--first-passes", type=int, default=1, help="passes of first runs, each on a freshly opened index")
    ap.add_argument("--answers", type=Path, help="write every query's whole answer here (to compare two versions)")
    args = ap.parse_args(argv)
    results = {
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg(), "python": sys.version.split()[0]},
        "runs": [bench(n, args) for n in (args.n or [1000])],
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
