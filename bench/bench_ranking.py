#!/usr/bin/env python3
"""Ranking quality: nDCG@10 of the judged queries, before (ranking version 1) and after (version 2).

    python bench/bench_ranking.py [--work DIR] [--json FILE] [-v]

The corpus: the repository's ``content/``, and the texts of ``tests/fixtures/import/corpus``,
``bench/heldout`` and ``bench/heldout2`` imported with ``site-builder import`` (110 speeches of
650–3,900 characters: greetings, short addresses, long reports), then built with
``site-builder build``. The judgments are ``bench/judged_queries.json`` (grades 0–3 per speech,
named by source file). For each query:

* **after**: the first 10 hits of the built index (``SearchIndex.search``), which must equal the
  first 10 of ``site_builder.search.ranking.reference`` (the published formula computed from the
  plain texts: the script stops if they differ, so the browser can match these numbers);
* **before**: the first 10 by ranking version 1 (``ranking.score_v1``, the formula until #13).

nDCG@10 = DCG@10 / ideal DCG@10, DCG = Σ (2^grade − 1) / log2(rank + 1), the ideal from all the
query's judged grades.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from site_builder import blocks  # noqa: E402
from site_builder.config import load_config  # noqa: E402
from site_builder.loader import ParseSettings, parse_bytes  # noqa: E402
from site_builder.search import ranking  # noqa: E402
from site_builder.search.terminal import clip_right  # noqa: E402
from site_builder.search.whoosh_index import SearchIndex  # noqa: E402

SOURCES = {
    "corpus": REPO / "tests" / "fixtures" / "import" / "corpus",
    "heldout": HERE / "heldout",
    "heldout2": HERE / "heldout2",
}


def run(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "site_builder", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"site-builder {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def make_site(work: Path) -> tuple[Path, dict[str, str]]:
    """Import and build the corpus in ``work``; return the content folder and {content path: source name}."""
    content = work / "content"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(REPO / "content", content)
    names = {
        p.relative_to(content).as_posix(): "content/" + p.relative_to(content).as_posix() for p in content.rglob("*.md")
    }
    run(
        "import", *map(str, SOURCES.values()), "--content", str(content), "--report", str(work / "report.csv"), cwd=work
    )
    with open(work / "report.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["target"] and row["status"] == "written":
                src = Path(row["file"])
                kind = next(k for k, d in SOURCES.items() if src.parent.resolve() == d.resolve())
                target = (work / row["target"]).resolve()  # relative to the folder import ran in
                names[target.relative_to(content.resolve()).as_posix()] = f"{kind}/{src.name}"
    run("build", "-q", "--content", str(content), "--output", str(work / "output"), cwd=work)
    return content, names


def load_docs(content: Path, names: dict[str, str]) -> list[ranking.Doc]:
    docs = []
    for rel, name in sorted(names.items()):
        path = content / rel
        parsed, html, text = parse_bytes(rel, path.read_bytes(), ParseSettings(False, None, None))
        if parsed.meta is None or parsed.meta.draft:
            continue
        docs.append(ranking.Doc(name, parsed.meta.title, parsed.meta.date.iso(), text, blocks.heading_lines(html)))
    return docs


def ndcg(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    def dcg(gains):
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(d, 0) for d in ranked]) / ideal if ideal else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, help="build here (default: a temporary folder, removed after)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="print both top-10 lists of each query")
    args = ap.parse_args()
    judged = json.loads((HERE / "judged_queries.json").read_text("utf-8"))["queries"]
    tmp = None if args.work else tempfile.mkdtemp(prefix="bench-ranking-")
    work = args.work or Path(tmp) / "site"
    try:
        content, names = make_site(work)
        docs = load_docs(content, names)
        config, _ = load_config(work, {"content_dir": content, "output_dir": work / "output"})
        by_path = {v: k for k, v in names.items()}
        rows = []
        with SearchIndex(config.state_dir / "whoosh") as index:
            for item in judged:
                q, grades = item["q"], item["grades"]
                hits = index.search(q, limit=10)["hits"]
                after = [names[h["source"]] for h in hits]
                formula = [d for d, _s, _o in ranking.reference(docs, q)[:10]]
                if after != formula:
                    sys.exit(f"{q}: the index's order differs from the published formula:\n  {after}\n  {formula}")
                before = ranking.score_v1(docs, q)[:10]
                rows.append(
                    {
                        "q": q,
                        "hits": index.search(q, limit=0)["total"],
                        "judged": len(grades),
                        "before": ndcg(before, grades),
                        "after": ndcg(after, grades),
                    }
                )
                if args.verbose:
                    print(f"\n{q}")
                    for i in range(10):
                        b = before[i] if i < len(before) else ""
                        a = after[i] if i < len(after) else ""
                        print(
                            f"  {i + 1:2d}  {grades.get(b, 0)} {by_path.get(b, b)[:40]:<40}  {grades.get(a, 0)} "
                            f"{by_path.get(a, a)[:40]}"
                        )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(docs)} speeches, {len(rows)} judged queries; nDCG@10 (ranking v1 → v2)\n")
    print(f"{clip_right('query', 12, pad=True)} {'hits':>5} {'judged':>6} {'before':>7} {'after':>7}")
    for r in rows:
        print(
            f"{clip_right(r['q'], 12, pad=True)} {r['hits']:>5} {r['judged']:>6} {r['before']:>7.3f} {r['after']:>7.3f}"
        )
    mean_b = sum(r["before"] for r in rows) / len(rows)
    mean_a = sum(r["after"] for r in rows) / len(rows)
    print(f"{clip_right('mean', 12, pad=True)} {'':>5} {'':>6} {mean_b:>7.3f} {mean_a:>7.3f}")
    print("\nThe index's first 10 equal the published formula's (search/ranking.py) for every query.")
    if args.json:
        args.json.write_text(
            json.dumps({"queries": rows, "mean_before": mean_b, "mean_after": mean_a}, ensure_ascii=False, indent=1),
            "utf-8",
        )


if __name__ == "__main__":
    main()
