#!/usr/bin/env python3
"""What the reuse stage (passages found in more than one speech, near-duplicates) costs in a build.

    .venv/bin/python bench/bench_reuse.py --n 1000 [--n 10000] [--json OUT]

For each N: generate the corpus with bench/gen_corpus.py (seed 1; kept in bench/.work/reuse/corpus-N),
then build it into bench/.work/reuse/site-N three times and read the build's own stage timings
(``BuildResult.timings``, what ``build --explain`` prints):

* cold: no output, no cache — every speech printed, the tables sorted, every shared key extended;
* one changed: one speech gets a paragraph copied from another (a new shared passage);
* one changed back: the file restored.

With ``--keep`` the cold build is left out: the last run's site and state are built once (taking in
a new version of the code, which renders every page again), then changed and changed back.

It prints, per build, the wall seconds of the whole build and of the reuse stage and its share, the
build's warnings (near-duplicates among them), and (cold) the bytes the 与其他讲话相同的段落 sections add
to the speech pages.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from site_builder.build import build  # noqa: E402
from site_builder.config import load_config  # noqa: E402

WORK = REPO / "bench" / ".work" / "reuse"
SECTION = re.compile(rb'<section class="related reused".*?</section>\n?', re.S)


def corpus(n: int) -> Path:
    out = WORK / f"corpus-{n}"
    if not (out.is_dir() and any(out.rglob("*.md"))):
        cmd = [sys.executable, str(REPO / "bench" / "gen_corpus.py"), "--n", str(n), "--out", str(out), "--clean"]
        subprocess.run(cmd, check=True)
    return out


def one_build(config) -> dict:
    t0 = time.perf_counter()
    result = build(config)
    wall = time.perf_counter() - t0
    reuse = result.timings.get("reuse", 0.0)
    return {
        "build_s": round(wall, 2),
        "reuse_s": round(reuse, 3),
        "share": round(reuse / wall, 4) if wall else 0.0,
        "warnings": result.warnings,
        "timings": result.timings,
    }


def reused_bytes(output: Path) -> tuple[int, int, int]:
    """(pages with the section, its bytes in all, the speech pages' bytes in all)."""
    pages = total = section = 0
    for page in (output / "speeches").rglob("*.html"):
        data = page.read_bytes()
        total += len(data)
        found = SECTION.findall(data)
        if found:
            pages += 1
            section += sum(len(s) for s in found)
    return pages, section, total


def bench(n: int, keep: bool = False) -> dict:
    content = corpus(n)
    site = WORK / f"site-{n}"
    if not (keep and (site / "output").is_dir()):
        keep = False
        shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True, exist_ok=True)
    config, _ = load_config(site, {"content_dir": content, "output_dir": site / "output"})
    if keep:  # the last run's site: a first build takes in what changed since (code, theme)
        runs = {"settle": one_build(config)}
    else:
        shutil.rmtree(config.state_dir, ignore_errors=True)
        runs = {"cold": one_build(config)}
        pages, section, total = reused_bytes(config.output)
        runs["cold"]["reused_section"] = {"pages": pages, "bytes": section, "speech_pages_bytes": total}
    files = sorted(content.rglob("*.md"))
    target, donor = files[len(files) // 2], files[len(files) // 3]
    before = target.read_bytes()
    paragraph = max(donor.read_text(encoding="utf-8").split("\n\n"), key=len)
    try:
        target.write_bytes(before + ("\n" + paragraph + "\n").encode("utf-8"))
        runs["one changed"] = one_build(config)
    finally:
        target.write_bytes(before)
    runs["one changed back"] = one_build(config)
    state = config.state_dir / "reuse" / "state.pickle"
    return {"n": n, "runs": runs, "state_bytes": state.stat().st_size if state.exists() else 0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, action="append", help="corpus size (repeatable; default 1000)")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("--keep", action="store_true", help="no cold build: start from the last run's site and state")
    args = ap.parse_args(argv)
    results = []
    for n in args.n or [1000]:
        r = bench(n, args.keep)
        results.append(r)
        print(f"\n{n} speeches (reuse state {r['state_bytes'] / 1e6:.1f} MB)")
        print("| build | whole build s | reuse stage s | share |")
        print("|---|---|---|---|")
        for name, run in r["runs"].items():
            print(f"| {name} | {run['build_s']:.2f} | {run['reuse_s']:.3f} | {run['share']:.1%} |")
        if "cold" not in r["runs"]:
            continue
        sec = r["runs"]["cold"]["reused_section"]
        print(
            f"与其他讲话相同的段落 on {sec['pages']} pages: {sec['bytes'] / 1e6:.2f} MB of "
            f"{sec['speech_pages_bytes'] / 1e6:.1f} MB of speech pages"
        )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
