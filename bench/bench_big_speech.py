#!/usr/bin/env python3
"""One very large speech (#15, "a 50 MB speech"): time and memory of parsing it, and of building and
checking a small site that holds it.

    .venv/bin/python bench/bench_big_speech.py --corpus bench/.work/corpus-1000 --mb 4,16,50
    .venv/bin/python bench/bench_big_speech.py --corpus bench/.work/corpus-1000 --mb 4,16,50 --stage build
    .venv/bin/python bench/bench_big_speech.py --corpus bench/.work/corpus-1000 --mb 8 --profile

The speech (``--shape real``, the default) is speeches made by gen_corpus.py with a seed of their own
(7), their bodies one after another under the front matter of the first: many paragraphs, a heading every ``N/900`` bytes (the Markdown limits
allow 1,000), one giant paragraph (2,000 lines, the limit of a paragraph, ≈ 2.7 MB) and one line of
200,000 characters (the limit of a line). ``--shape plain`` is the older body without headings.

``--stage parse`` (default) calls ``loader.parse_bytes`` in this process: seconds, CPU seconds, the
peak of Python's allocations during the parse (tracemalloc) and its ratio to the file's size, and
the peak RSS of the process so far. ``--stage build`` writes the speech and ``--others`` ordinary
speeches of the corpus into a temporary folder and runs ``site-builder check`` (nothing cached),
``build`` (cold) and ``build`` again after a change to the big speech, each in a fresh process: wall and CPU
seconds, the peak RSS of the largest process (``ru_maxrss`` of the command and of its children), and
digests of ``search/`` and of the Whoosh index after each build; with ``--steps`` also the index
child's peak RSS by step (sampled every 20 ms by a thread of the child: for a few speeches, whose
index stages start no process pool) and the build process's peak RSS at the end of each stage.
``--stage static`` runs the static index stage alone (``bench_static``: the peak of the analysis and
of the whole update, a digest of search/); ``--stage whoosh`` the Whoosh stage alone (its peak, CPU, a
digest of the index's files). ``--stage prints``: what the reuse and related stages do per text
(``prints.speech_print``, ``related.doc_keywords``) for ``--others`` corpus speeches (CPU, best of 3)
and the big speech (CPU, then its peak by tracemalloc in a second run), with digests of the answers. ``--stage stages`` builds once in this process (no fork) and prints the peak of Python's
allocations in each stage and what is still held at its end (tracemalloc; slow). ``--lift`` lifts the file-size limit and the per-file time budget (to measure a version that
refuses the file). ``--profile``: the functions that took the most time parsing the largest size.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from site_builder import loader  # noqa: E402
from site_builder.build import _settings  # noqa: E402
from site_builder.config import load_config  # noqa: E402

SEED = 7  # gen_corpus.py --seed of the big speech (the corpus has 1)
HEADINGS = 900  # below markup.MAX_HEADINGS
GIANT_LINES = 2_000  # markup.MAX_PARAGRAPH_LINES
LONG_LINE = 200_000  # markup.MAX_LINE_CHARS


def _bodies():
    """Speeches of gen_corpus with a seed of their own (7): the corpus's kind of text, none of its
    speeches (a big speech copied from the others would be one long reused passage)."""
    from gen_corpus import Vocab, default_seed_dir, gen_one, load_seed_sentences, make_people

    vocab, people = Vocab(SEED, load_seed_sentences(default_seed_dir())), make_people(SEED, 2000)
    i = 0
    while True:
        yield gen_one(vocab, SEED, 100_000, i, people)[1]
        i += 1


def _sentences(text: str) -> list[str]:
    return [s + "。" for s in text.replace("\n", "").split("。") if s and not s.startswith("#")]


def speech_of(mb: float, shape: str = "real") -> bytes:
    """A speech of about ``mb`` MB (see the module's doc)."""
    bodies = _bodies()
    first = next(bodies)
    head, body = first.split("\n---\n", 1)
    target = int(mb * 1e6)
    parts: list[str] = []
    size = 0
    every = max(1, target // HEADINGS)  # bytes between kept headings
    since = 0
    giant_at: int | None = target // 3
    long_at: int | None = 2 * target // 3
    while size < target:
        lines = []
        for line in body.split("\n"):
            if line.startswith("#"):
                if shape == "plain" or since < every:
                    continue
                since = 0
            lines.append(line)
            since += 3 * len(line) + 1
        body = "\n".join(lines).strip("\n")
        if shape == "real" and giant_at is not None and size >= giant_at:
            body, giant_at = _giant(bodies) + "\n\n" + body, None
        if shape == "real" and long_at is not None and size >= long_at:
            body, long_at = _long_line(bodies) + "\n\n" + body, None
        parts.append(body)
        n = len(body.encode())
        size += n + 2
        body = next(bodies).split("\n---\n", 1)[1]
    return (head + "\n---\n\n" + "\n\n".join(parts) + "\n").encode()


def _giant(bodies) -> str:
    """One paragraph of GIANT_LINES lines, each a few sentences."""
    lines: list[str] = []
    pool: list[str] = []
    while len(lines) < GIANT_LINES:
        while len(pool) < 8:
            pool += _sentences(next(bodies))
        lines.append("".join(pool[:8]))
        del pool[:8]
    return "\n".join(lines)


def _long_line(bodies) -> str:
    """One line of LONG_LINE characters."""
    out: list[str] = []
    n = 0
    while n < LONG_LINE:
        for s in _sentences(next(bodies)):
            out.append(s)
            n += len(s)
    return "".join(out)[:LONG_LINE]


def lift_limits() -> None:
    loader.MAX_FILE = 1 << 40
    loader.PARSE_SECONDS = 0.0


def bench_parse(corpus: Path, sizes: list[float], shape: str, profile: bool) -> None:
    config, _ = load_config(Path.cwd(), {"content_dir": corpus})
    settings = _settings(config)
    lift_limits()  # measured, not refused
    print("| MB | s | CPU s | peak MB (tracemalloc) | × file | RSS MB so far | problems |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for n, mb in enumerate(sizes):
        data = speech_of(mb, shape)
        prof = cProfile.Profile() if profile and n == len(sizes) - 1 else None
        gc.collect()
        tracemalloc.start()
        wall, cpu = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        parsed, html, text = loader.parse_bytes("big.md", data, settings)
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del html, text
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        problems = "; ".join(p.message for p in parsed.problems) or "—"
        print(
            f"| {len(data) / 1e6:.1f} | {wall:.2f} | {cpu:.2f} | {peak / 1e6:.0f} | {peak / len(data):.1f} "
            f"| {rss:.0f} | {problems} |",
            flush=True,
        )
        if prof:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
            print(out.getvalue())


_DRIVER = """
import resource, sys, time
sys.path.insert(0, {root!r})
from site_builder import loader
if {lift!r}:
    loader.MAX_FILE = 1 << 40
    loader.PARSE_SECONDS = 0.0
{steps}
from site_builder.cli import main
wall, cpu = time.perf_counter(), time.process_time()
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
wall = time.perf_counter() - wall
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print("BENCH", code, wall, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
      me.ru_maxrss / 1024, kids.ru_maxrss / 1024, file=sys.stderr)
"""


# ``--steps``: the index child's RSS sampled every 20 ms, its peak by step (the step running: the
# innermost of the wrapped functions below), and the build process's peak RSS (VmHWM) at the end of
# each stage that ``--explain`` times. Printed as "STEPS child {...}" and "STEPS main [...]" (stderr).
_STEPS = """
import json, os, threading
from site_builder import build_index, build_support
from site_builder.search import whoosh_index, whoosh_segments
from site_builder.static_search import index as _sidx
def _status(field):
    with open("/proc/self/status") as fh:
        return next(int(x.split()[1]) // 1024 for x in fh if x.startswith(field))
_LABEL, _PEAKS, _MAIN, _STAGES = ["other"], {}, os.getpid(), []
def _label(owner, name, label):
    fn = getattr(owner, name, None)
    if fn is None:
        return
    def wrapped(*a, **k):
        _LABEL.append(label)
        try:
            return fn(*a, **k)
        finally:
            _LABEL.pop()
    setattr(owner, name, wrapped)
for _owner, _name, _lab in (
    (build_index.Bodies, "text", "whoosh: read the text"),
    (build_index.Bodies, "headings", "read the headings (body HTML)"),
    (whoosh_segments, "_record_from_doc", "whoosh: record"),
    (whoosh_segments, "_write_segment", "whoosh: write segment"),
    (whoosh_index.SearchIndex, "update", "whoosh: other"),
    (_sidx.StaticIndex, "_analyse_docs", "static: analyse new docs"),
    (_sidx.StaticIndex, "_ensure_arrays", "static: analyse old docs again"),
    (_sidx, "diff_entries", "static: diff old/new entries"),
    (_sidx, "patch", "static: patch"),
    (_sidx.StaticIndex, "_assemble", "static: assemble"),
    (_sidx.StaticIndex, "_texts", "static: text files"),
    (_sidx.StaticIndex, "update", "static: other"),
):
    _label(_owner, _name, _lab)
_real_child = build_index.IndexUpdate._in_child
def _in_child(self):
    _PEAKS["at the fork"] = _status("VmRSS:")
    def sample():
        while True:
            r, at = _status("VmRSS:"), _LABEL[-1]
            _PEAKS[at] = max(_PEAKS.get(at, 0), r)
            time.sleep(0.02)
    threading.Thread(target=sample, daemon=True).start()
    try:
        return _real_child(self)
    finally:
        time.sleep(0.05)
        print("STEPS child", json.dumps(_PEAKS, ensure_ascii=False), file=sys.stderr, flush=True)
build_index.IndexUpdate._in_child = _in_child
_real_clock = build_support.Clock.__call__
def _clock(self, stage):
    if os.getpid() == _MAIN:
        _STAGES.append((stage, _status("VmHWM:")))
    return _real_clock(self, stage)
build_support.Clock.__call__ = _clock
import atexit
atexit.register(lambda: print("STEPS main", json.dumps(_STAGES, ensure_ascii=False), file=sys.stderr, flush=True))
"""


def _run(args: list[str], lift: bool, cwd: Path, steps: bool = False) -> tuple[int, float, float, float, float, str]:
    driver = _DRIVER.format(root=str(ROOT), lift=lift, steps=_STEPS if steps else "")
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(
        [sys.executable, "-c", driver, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    line = next((x for x in proc.stderr.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"{args} failed:\n{proc.stderr[-3000:]}")
    code, wall, cpu, rss, kids = line.split()[1:]
    problems = [x.strip() for x in proc.stderr.splitlines() if "big.md" in x][:3]
    for x in proc.stderr.splitlines():
        if x.startswith("STEPS "):
            print("   ", x, flush=True)
    return int(code), float(wall), float(cpu), float(rss), float(kids), " / ".join(problems) or "—"


def bench_build(
    corpus: Path, sizes: list[float], shape: str, others: int, lift: bool, keep: bool, steps: bool = False
) -> None:
    print(
        "| MB | command | exit | s | CPU s | peak RSS MB (process / largest child) | × file "
        "| digests: search/, Whoosh | messages on big.md |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---|---|")
    files = sorted(corpus.rglob("*.md"))[1 : 1 + others]
    for mb in sizes:
        work = Path(tempfile.mkdtemp(prefix="big-speech-"))
        try:
            content = work / "content"
            content.mkdir()
            for i, f in enumerate(files):
                shutil.copyfile(f, content / f"s{i:04d}.md")
            data = speech_of(mb, shape)
            (content / "big.md").write_bytes(data)
            del data
            size = (content / "big.md").stat().st_size
            base = ["--content", str(content), "--output", str(work / "output")]
            for name, args in (
                ("check", ["check", *base]),
                ("build", ["build", *base]),
                ("build (big.md changed)", ["build", *base]),
            ):
                if name.startswith("build (big"):
                    with open(content / "big.md", "ab") as fh:
                        fh.write("\n\n又及：补充一段。\n".encode())
                code, wall, cpu, rss, kids, problems = _run(args, lift, work, steps)
                peak = max(rss, kids)
                print(
                    f"| {size / 1e6:.1f} | {name} | {code} | {wall:.1f} | {cpu:.1f} | {rss:.0f} / {kids:.0f} "
                    f"| {peak * 1048576 / size:.1f} | {_site_digest(work) if name != 'check' else '—'} | {problems} |",
                    flush=True,
                )
        finally:
            if keep:
                print(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)


def _site_digest(work: Path) -> str:
    """Digests of a built site's static index (every file under output/search/, by path) and of its
    Whoosh index (``_whoosh_digest``), to compare checkouts."""
    import hashlib

    h = hashlib.sha1()
    for f in sorted((work / "output" / "search").rglob("*")):
        if f.is_file():
            h.update(f.relative_to(work / "output").as_posix().encode() + b"\0" + f.read_bytes())
    whoosh = next((work / ".site_builder_cache").glob("*/whoosh"), None)
    return f"{h.hexdigest()[:8]}, {_whoosh_digest(whoosh)[:8] if whoosh else '—'}"


def bench_stages(corpus: Path, mb: float, shape: str, others: int, lift: bool) -> None:
    """One cold build in this process (no fork), tracemalloc on: the peak of Python's allocations
    (numpy's included; not SQLite's, nh3's or zlib's) in each stage that ``--explain`` times."""
    os.environ["SITE_BUILDER_NO_FORK"] = "1"
    from site_builder import build_support
    from site_builder.cli import main as cli

    if lift:
        lift_limits()
    peaks: dict[str, tuple[float, float]] = {}
    timed = build_support.Clock.__call__

    def clock(self, stage: str) -> None:
        timed(self, stage)
        held, peak = tracemalloc.get_traced_memory()
        peaks[stage] = peak / 1e6, held / 1e6
        tracemalloc.reset_peak()

    build_support.Clock.__call__ = clock  # type: ignore[method-assign]
    work = Path(tempfile.mkdtemp(prefix="big-speech-"))
    try:
        content = work / "content"
        content.mkdir()
        for i, f in enumerate(sorted(corpus.rglob("*.md"))[1 : 1 + others]):
            shutil.copyfile(f, content / f"s{i:04d}.md")
        (content / "big.md").write_bytes(speech_of(mb, shape))
        size = (content / "big.md").stat().st_size
        tracemalloc.start()
        try:
            cli(["build", "-q", "--content", str(content), "--output", str(work / "output")])
        except SystemExit:
            pass
        tracemalloc.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{size / 1e6:.1f} MB file; peak MB of Python's allocations per stage (× file), MB held at its end:")
    for stage, (peak, held) in peaks.items():
        print(f"  {stage:14s} {peak:8.0f}  {peak * 1e6 / size:5.1f}×  {held:8.0f}")


def bench_static(corpus: Path, sizes: list[float], shape: str, others: int) -> None:
    """The static index stage alone (``StaticIndex.update``, in this process, one job): the big
    speech (its plain text as bench_static_search.py makes it from the Markdown) and ``--others``
    ordinary speeches, cold. Per size: CPU seconds, the peak of Python's allocations (tracemalloc,
    numpy's included) during the analysis of the big speech alone and during the whole update, and
    a digest of every file written under search/ (to compare checkouts byte for byte)."""
    import hashlib

    from bench_static_search import load_corpus, plain

    from site_builder.static_search import IndexDoc, StaticIndex, analyser

    small = load_corpus(corpus)[1 : 1 + others]
    for mb in sizes:
        data = speech_of(mb, shape).decode()
        body = data.split("---\n", 2)[2]
        text, headings = plain(body)
        big = IndexDoc(
            id="big.md", url="speeches/big.html", title="一篇很长的讲话", date="2020-01-01", year=2020,
            meeting_type="", themes=(), body=text, fingerprint="big", headings=headings,
        )  # fmt: skip
        del data, body
        size = len(text.encode())
        tracemalloc.start()
        c0 = time.process_time()
        analyser.analyse(big)
        analyse_cpu = time.process_time() - c0
        analyse_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        work = Path(tempfile.mkdtemp(prefix="big-static-"))
        try:
            c0 = time.process_time()
            StaticIndex(work / "state", work / "out", jobs=1).update([*small, big])
            update_cpu = time.process_time() - c0
            update_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            digest = hashlib.sha1()
            for f in sorted((work / "out" / "search").rglob("*")):
                if f.is_file():
                    digest.update(f.relative_to(work / "out").as_posix().encode() + b"\0" + f.read_bytes())
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(
            f"{size / 1e6:.1f} MB of plain text: analyse {analyse_cpu:.1f} s CPU, peak {analyse_peak / 1e6:.0f} MB"
            f" ({analyse_peak / size:.1f}x); whole update {update_cpu:.1f} s CPU, peak {update_peak / 1e6:.0f} MB"
            f" ({update_peak / size:.1f}x); search/ {digest.hexdigest()[:16]}",
            flush=True,
        )


def _whoosh_digest(folder: Path) -> str:
    """A digest of a Whoosh index's postings, terms and text stores (the files whose bytes do not
    depend on the segment's random name)."""
    import hashlib

    kinds = (".pst", ".trm", ".bin")
    files = sorted(hashlib.sha1(f.read_bytes()).hexdigest() for f in folder.iterdir() if f.suffix in kinds)
    return hashlib.sha1("".join(files).encode()).hexdigest()[:16]


def bench_whoosh(corpus: Path, sizes: list[float], shape: str, others: int) -> None:
    """The Whoosh stage alone (``SearchIndex.update``, in this process): the big speech (its plain text
    and headings, as ``--stage static`` makes them) and ``--others`` ordinary speeches, cold. Per size:
    CPU seconds, the peak of Python's allocations (tracemalloc) during the update, and a digest of
    the index's postings, terms and text stores."""
    from bench_static_search import load_corpus, plain

    from site_builder.search.whoosh_index import SearchIndex
    from site_builder.static_search import IndexDoc

    os.environ["SITE_BUILDER_NO_FORK"] = "1"
    small = load_corpus(corpus)[1 : 1 + others]
    for mb in sizes:
        data = speech_of(mb, shape).decode()
        text, headings = plain(data.split("---\n", 2)[2])
        big = IndexDoc(
            id="big.md", url="speeches/big.html", title="一篇很长的讲话", date="2020-01-01", year=2020,
            meeting_type="", themes=(), body=text, fingerprint="big", headings=headings,
        )  # fmt: skip
        del data
        size = len(text.encode())
        work = Path(tempfile.mkdtemp(prefix="big-whoosh-"))
        try:
            gc.collect()
            tracemalloc.start()
            c0 = time.process_time()
            index = SearchIndex(work / "whoosh")
            try:
                index.update([*small, big])
            finally:
                index.close()
            cpu = time.process_time() - c0
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            digest = _whoosh_digest(work / "whoosh")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(
            f"{size / 1e6:.1f} MB of plain text: Whoosh update {cpu:.1f} s CPU, peak {peak / 1e6:.0f} MB"
            f" ({peak / size:.1f}x); files {digest}",
            flush=True,
        )


def bench_prints(corpus: Path, sizes: list[float], shape: str, others: int) -> None:
    """``--stage prints``: the reuse print (``prints.speech_print``) and the related words
    (``related.doc_keywords``) of ``others`` ordinary speeches (CPU, best of 3, no tracemalloc) and
    of the big speech (CPU, then the peak by tracemalloc in a second run), each with a digest of the answers."""
    import hashlib

    from site_builder.reuse.prints import shape as kw

    config, _ = load_config(Path.cwd(), {"content_dir": corpus})
    settings, k_w = _settings(config), kw(config.reuse_min_chars)
    lift_limits()
    ordinary = []
    for path in sorted(corpus.rglob("*.md"))[:others]:
        parsed, _html, text = loader.parse_bytes(path.name, path.read_bytes(), settings)
        ordinary.append((parsed.meta.title if parsed.meta else "", text))
    print("| text | chars | stage | CPU s | peak MB (× text bytes) | digest |")
    print("|---|---:|---|---:|---:|---|")
    for stage in ("reuse print", "related words"):
        cpus, digest = [], ""
        for _ in range(3):
            h, cpu = hashlib.sha256(), time.process_time()
            for title, text in ordinary:
                h.update(
                    _reuse_print(text, *k_w) if stage == "reuse print" else repr(_related_words(title, text)).encode()
                )
            cpus.append(time.process_time() - cpu)
            digest = h.hexdigest()[:8]
        chars = sum(len(t) for _, t in ordinary)
        print(f"| {len(ordinary)} ordinary | {chars:,} | {stage} | {min(cpus):.3f} | | {digest} |", flush=True)
    for mb in sizes:
        data = speech_of(mb, shape)
        parsed, _html, text = loader.parse_bytes("big.md", data, settings, 0.0)
        title = parsed.meta.title if parsed.meta else ""
        del data, _html
        for stage in ("reuse print", "related words"):
            cpu = time.process_time()  # (without tracemalloc, which slows many small allocations)
            got = _reuse_print(text, *k_w) if stage == "reuse print" else repr(_related_words(title, text)).encode()
            cpu = time.process_time() - cpu
            del got
            gc.collect()
            tracemalloc.start()
            got = _reuse_print(text, *k_w) if stage == "reuse print" else repr(_related_words(title, text)).encode()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            size = len(text.encode())
            print(
                f"| {mb} MB speech | {len(text):,} | {stage} | {cpu:.2f} | {peak / 1e6:.0f} ({peak / size:.1f}×) "
                f"| {hashlib.sha256(got).hexdigest()[:8]} |",
                flush=True,
            )


def _reuse_print(text: str, k: int, w: int) -> bytes:
    from site_builder.reuse.prints import folded_narrow, speech_print

    p = speech_print(folded_narrow(text), k, w)
    return p.keys.tobytes() + p.positions.tobytes() + p.sentences.tobytes()


def _related_words(title: str, text: str) -> list:
    from site_builder.related import doc_keywords

    return doc_keywords(title, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="a folder of speeches (gen_corpus.py)")
    ap.add_argument("--mb", default="1,2,4,8", help="sizes in MB, comma-separated (default 1,2,4,8)")
    ap.add_argument("--shape", choices=["real", "plain"], default="real")
    ap.add_argument("--stage", choices=["parse", "build", "stages", "static", "whoosh", "prints"], default="parse")
    ap.add_argument("--others", type=int, default=20, help="ordinary speeches beside the big one (--stage build)")
    ap.add_argument("--lift", action="store_true", help="lift the size limit and time budget (--stage build)")
    ap.add_argument(
        "--steps",
        action="store_true",
        help="--stage build: also the index child's peak RSS by step and the build process's by stage",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary site (--stage build)")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    sizes = [float(x) for x in args.mb.split(",")]
    corpus = Path(args.corpus)
    if args.stage == "parse":
        bench_parse(corpus, sizes, args.shape, args.profile)
    elif args.stage == "static":
        bench_static(corpus, sizes, args.shape, args.others)
    elif args.stage == "whoosh":
        bench_whoosh(corpus, sizes, args.shape, args.others)
    elif args.stage == "prints":
        bench_prints(corpus, sizes, args.shape, args.others)
    elif args.stage == "stages":
        bench_stages(corpus, sizes[-1], args.shape, args.others, args.lift)
    else:
        bench_build(corpus, sizes, args.shape, args.others, args.lift, args.keep, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
