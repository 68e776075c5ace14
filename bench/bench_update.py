"""One changed or added speech on a built site, from the CLI (issue #15: ≤ 1 s at 10k).

    .venv/bin/python bench/bench_update.py --content C --output O [--code TREE] [--runs 3]
        [--scenarios no-change,changed,added,added-own,relative] [--cold] [--json F] [--log F]

Each build is the command a site owner runs, `python -P -m site_builder build --content C --output O
--explain`, timed from outside (wall, CPU of the process and its children, peak RSS of the largest
process: compare.py's `peers.run_timed`), with the seconds per stage the build prints itself.
The scenarios `changed` and `added` are compare.py's: `changed` appends a marked paragraph to one speech
(`peers.touch_one`), `added` writes the next newest speech (`peers.new_speech`, a year after the
corpus's newest: it lands on top of every listing). Each `added` speech has the body of the one
before, so it shares every passage with all the speeches added before it (their pages' reuse
blocks change) and opens a new year: `added-own` writes a newest speech with a text of its own
instead (`own_speech`: gen_corpus's generator, dated the last day of the corpus's newest year, in
that year's folder), what a real new speech touches. `relative` changes nothing but names the
content and output folders as relative paths (the others name them absolute): after another
scenario, the same folders named another way. `--runs` repeats the list in turn. The content
is changed in place: run it on a copy. The site must have been built before by the same code
(`--cold` builds it first, timed too); otherwise the first build is not the scenario it is named.
--code TREE runs another checkout (a `git archive` snapshot) instead of this one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import OursSite, Timing, new_speech, run_timed, touch_one

SCENARIOS = ("no-change", "changed", "added", "added-own", "relative")
_STAGES = re.compile(r"seconds per stage: (.*)$")
_NOTHING = "no source, template or setting changed"


def stage_seconds(log_tail: str) -> dict[str, float]:
    """The `--explain` line "seconds per stage: parse 0.22, model 0.14, …" of the last build."""
    found: dict[str, float] = {}
    for line in log_tail.splitlines():
        m = _STAGES.search(line)
        if m:
            found = {}
            for part in m.group(1).split(","):
                name, _, value = part.strip().rpartition(" ")
                try:
                    found[name] = float(value)
                except ValueError:
                    continue
    return found


def own_speech(corpus: Path, k: int) -> Path:
    """Write the k-th newest speech with a text of its own: gen_corpus's speech k of 1,000,000
    (seed 7, not the corpus's seed), dated the last day of the corpus's newest year and written in
    that year's folder; return its path."""
    import gen_corpus

    year = max(int(p.name) for p in corpus.iterdir() if p.is_dir() and p.name.isdigit())
    v = gen_corpus.Vocab(7, gen_corpus.load_seed_sentences(gen_corpus.default_seed_dir()))
    rel, text, _ = gen_corpus.gen_one(v, 7, 1_000_000, k, gen_corpus.make_people(7, 1_000))
    text = re.sub(r"^date: .*$", f"date: {year}-12-31", text, count=1, flags=re.M)
    path = corpus / str(year) / f"新增-{rel.split('/', 1)[1]}"
    path.write_text(text, encoding="utf-8")
    return path


class _Site(OursSite):
    """compare.py's site of our tool, on the caller's content and output folders."""

    def __init__(self, content: Path, output: Path, code: Path | None, log: Path):
        py = sys.executable
        env_path = f"env PYTHONPATH={code} " if code else ""
        template = f"{env_path}{py} -P -m site_builder build --content {{content}} --output {{output}} --explain"
        super().__init__(content, log.parent, template)
        self._content, self._output, self.log = content, output, log

    @property
    def content(self) -> Path:
        return self._content

    @property
    def output(self) -> Path:
        return self._output

    @property
    def cwd(self) -> Path:
        return self._output.parent


def run_one(site: _Site, scenario: str, k: int) -> tuple[Timing, dict[str, float]]:
    """One build of the scenario; k numbers the added speeches (and the changed marks)."""
    if scenario == "changed":
        touch_one(site.content, f"bench-update-{k}-{time.time_ns()}")
    elif scenario == "added":
        site.write_speech(new_speech(site.content, 1000 + k))
    elif scenario == "added-own":
        own_speech(site.content, k)
    start = site.log.stat().st_size if site.log.exists() else 0
    command = site.command()
    if scenario == "relative":  # the same folders, named relative to the command's working folder
        absolute = {str(site.content), str(site.output)}
        command = [os.path.relpath(a, site.cwd) if a in absolute else a for a in command]
    t = run_timed(f"{scenario} {k}", command, cwd=site.cwd, log=site.log)
    with open(site.log, encoding="utf-8", errors="replace") as fh:
        fh.seek(start)
        tail = fh.read()
    # a build that found nothing changed repeats the last build's figures: not its own
    return t, {} if _NOTHING in tail else stage_seconds(tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", required=True, type=Path, help="the site's content (changed in place)")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--code", type=Path, help="a checkout to run (PYTHONPATH); default: the installed one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="no-change,changed,added")
    parser.add_argument("--cold", action="store_true", help="build the site cold first (cache and output removed)")
    parser.add_argument("--json", type=Path, help="write every build's figures here")
    parser.add_argument("--log", type=Path, help="the builds' output (default: beside the output folder)")
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}: choose from {', '.join(SCENARIOS)}")
    content, output = args.content.resolve(), args.output.resolve()
    log = (args.log or output.parent / "bench_update.log").resolve()
    site = _Site(content, output, args.code.resolve() if args.code else None, log)
    timings: list[Timing] = []
    stages_of: list[dict[str, float]] = []
    if args.cold:
        site.clean()
        t = run_timed("cold", site.command(), cwd=site.cwd, log=log)
        timings.append(t)
        stages_of.append({})
        print(t.short(), flush=True)
    for k in range(1, args.runs + 1):
        for scenario in scenarios:
            t, stages_s = run_one(site, scenario, k)
            timings.append(t)
            stages_of.append(stages_s)
            stages = ", ".join(f"{n} {v:.2f}" for n, v in stages_s.items())
            print(f"{t.short()}  [{stages or 'nothing to do'}]", flush=True)
            if not t.ok:
                return 1
    print("\nmedian wall / CPU s (peak RSS MB), over the runs:")
    for scenario in dict.fromkeys(scenarios):
        got = [t for t in timings if t.label.split()[0] == scenario]
        if got:
            wall = statistics.median(t.wall for t in got)
            cpu = statistics.median(t.cpu for t in got)
            rss = max(t.rss_mb for t in got)
            print(
                f"  {scenario:<9} {wall:6.2f} / {cpu:6.2f}  ({rss:.0f} MB)  CPU {min(t.cpu for t in got):.2f}–{max(t.cpu for t in got):.2f}"
            )
    if args.json:
        rows = [dict(t.__dict__, stages=st) for t, st in zip(timings, stages_of, strict=True)]
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
