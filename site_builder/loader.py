"""Read content/: find the speech files (``scan``), decode, parse and validate them, using the cache.

Every problem of every file is collected in one pass; a broken file never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import collector, frontmatter, parsed_store, schema
from .cache import BuildCache
from .errors import Problem
from .markup import Renderer, Toc, TooComplex
from .model import Speech
from .scan import SourceFile, display_path, escape_name, scan
from .textio import EncodingProblem, decode_utf8
from .workers import process_pool

logger = logging.getLogger(__name__)

LARGE_FILE = 2 * 1024 * 1024  # a warning: more than one speech in the file?
# Refused unread: what protects the machine. A long body is parsed in pieces (body_pieces): 50 MB
# in 10–30 CPU s and about 3.5 times its size in memory (#15, bench/bench_big_speech.py); a whole
# build holds more (the search indexes, reuse and related speeches: about 55 times at 50 MB).
MAX_FILE = 64 * 1024 * 1024
PARSE_SECONDS = 15.0  # CPU seconds per file: reading, front matter, Markdown, sanitising (see time_budget) …
SECONDS_PER_MB = 4.0  # … and this much more per MB (a 50 MB speech parses in 10–30 CPU s; a busy machine takes longer)
BASE_SLACK = 512  # records the parsed base may lack or hold unused before it is written again (parsed_store)


@dataclass(frozen=True)
class ParseSettings:
    trust_html: bool
    meeting_types: tuple[str, ...] | None
    themes: tuple[str, ...] | None


@dataclass
class Parsed:
    """What parsing one file gives: metadata (None when it has errors) and its problems."""

    meta: schema.SpeechMeta | None
    toc: Toc
    word_count: int
    reading_minutes: int
    problems: list[Problem]


class TimeBudgetExceeded(BaseException):
    """A file took longer than its budget. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` inside a library swallows it."""


@contextmanager
def time_budget(seconds: float | None):
    """Raise TimeBudgetExceeded in this thread once it has used ``seconds`` of CPU time.

    CPU time, not wall time: on a busy machine (a load of 25 on 2 cores) an ordinary speech can
    wait longer than the budget for its turn, and a build must not refuse files because of the
    machine's load; what the budget stops — a body or a regular expression that never ends —
    spins on the CPU. In the main thread (the CLI, the parse worker processes) a SIGPROF timer
    (ITIMER_PROF: the process's CPU time), which costs nothing and also stops a regular expression
    that backtracks; in another thread (``serve`` builds in one) a profile hook that looks at the
    thread's CPU clock every 512 calls."""
    if not seconds or seconds <= 0:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(_signum, _frame):
            raise TimeBudgetExceeded(seconds)

        handler = signal.signal(signal.SIGPROF, on_alarm)
        signal.setitimer(signal.ITIMER_PROF, seconds, 0.25)  # again every 0.25 s if one is lost
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, handler)
        return
    deadline = time.thread_time() + seconds
    calls = [0]
    previous: Any = sys.getprofile()

    def hook(_frame, event, _arg):
        calls[0] += 1
        if calls[0] & 511 == 0 and time.thread_time() > deadline:
            sys.setprofile(previous)
            raise TimeBudgetExceeded(seconds)

    sys.setprofile(hook)
    try:
        yield
    finally:
        sys.setprofile(previous)


_renderer: Renderer | None = None


def _failed(problem: Problem) -> tuple[Parsed, str, str]:
    return Parsed(None, Toc(), 0, 0, [problem]), "", ""


def _too_large(shown: str, size: int) -> tuple[Parsed, str, str]:
    return _failed(
        Problem(
            shown,
            None,
            None,
            f"file too large ({size / 1048576:.1f} MB; the limit is {MAX_FILE >> 20} MB): not read",
            "split it: one speech per file",
        )
    )


def budget(size: int) -> float:
    """The seconds a file of ``size`` bytes may take to read (PARSE_SECONDS, more for a big one)."""
    return PARSE_SECONDS + SECONDS_PER_MB * size / 1048576 if PARSE_SECONDS > 0 else PARSE_SECONDS


def parse_bytes(
    shown: str, data: bytes, settings: ParseSettings, seconds: float | None = None
) -> tuple[Parsed, str, str]:
    """Parse one speech file; return (Parsed, html, plain text). Never raises for bad content:
    whatever goes wrong, also a bug or a file that takes longer than ``seconds`` (default
    ``budget(len(data))``), is a problem of this file. The bytes are let go once decoded: a
    caller that keeps no reference of its own saves their size at the peak."""
    global _renderer
    seconds = budget(len(data)) if seconds is None else seconds
    held = [data]
    del data
    try:
        with time_budget(seconds):
            return _parse_bytes(shown, held, settings)
    except TimeBudgetExceeded:
        _renderer = None  # stopped half-way: start the next file with a fresh one
        return _failed(
            Problem(
                shown,
                None,
                None,
                f"took more than {seconds:g} s of CPU time to read (the limit per file)",
                "simplify its Markdown (very long paragraphs, deep nesting, many [ < * _) or split the file",
            )
        )
    except RecursionError:
        _renderer = None
        return _failed(
            Problem(
                shown,
                None,
                "markdown",
                "nested too deeply for the Markdown parser",
                "flatten the nesting of lists, quotes or HTML",
            )
        )
    except MemoryError:
        _renderer = None
        return _failed(
            Problem(shown, None, None, "not enough memory to read this file", "split it, or simplify its Markdown")
        )
    except Exception as err:
        _renderer = None
        logger.debug("reading %s failed", shown, exc_info=True)
        if os.environ.get("SITE_BUILDER_DEBUG"):
            raise
        return _failed(
            Problem(
                shown,
                None,
                None,
                f"could not be read: {type(err).__name__}: {err}",
                "this is a bug in site-builder (the other speeches were built); run again with "
                "SITE_BUILDER_DEBUG=1 for the details and report them with this file",
            )
        )


def _parse_bytes(shown: str, held: list[bytes], settings: ParseSettings) -> tuple[Parsed, str, str]:
    global _renderer
    if _renderer is None or _renderer.trust_html != settings.trust_html:
        _renderer = Renderer(trust_html=settings.trust_html)
    problems: list[Problem] = []
    size = len(held[0])
    if size > MAX_FILE:
        return _too_large(shown, size)
    if size > LARGE_FILE:
        problems.append(
            Problem(
                shown,
                None,
                None,
                f"very large speech ({size / 1048576:.1f} MB)",
                "check that the file holds one speech only",
                severity="warning",
            )
        )
    try:
        text = decode_utf8(held.pop())
    except EncodingProblem as err:
        return Parsed(None, Toc(), 0, 0, [Problem(shown, err.line, "encoding", str(err), err.hint(shown))]), "", ""
    try:
        fm = frontmatter.split(text)
        del text  # the body is a copy of its part
    except frontmatter.FrontMatterError as err:
        return (
            Parsed(None, Toc(), 0, 0, problems + [Problem(shown, err.line, "front matter", err.message, err.hint)]),
            "",
            "",
        )
    meta, found = schema.validate(shown, fm.data, fm.key_lines, settings.meeting_types, settings.themes)
    problems.extend(found)
    if meta is None:
        return Parsed(None, Toc(), 0, 0, problems), "", ""
    if not fm.body or fm.body.isspace():
        problems.append(
            Problem(
                shown,
                fm.body_line,
                None,
                "no text after the front matter",
                "write the speech below the closing ---",
                severity="warning",
            )
        )
    try:
        rendered = _renderer.render(fm.body)
    except TooComplex as err:
        line, message = err.where(fm.body_line)
        return Parsed(None, Toc(), 0, 0, problems + [Problem(shown, line, "markdown", message, err.hint)]), "", ""
    parsed = Parsed(meta, rendered.toc, rendered.word_count, rendered.reading_minutes, problems)
    return parsed, rendered.html, rendered.text


def _parse_job(job: tuple[str, str, str, ParseSettings]) -> tuple[str, Parsed, str, str]:
    source, path, shown, settings = job
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE:  # refused unread: a 50 MB file costs nothing
            return (source, *_too_large(shown, size))
        data = [Path(path).read_bytes()]  # handed over (parse_bytes lets the bytes go once decoded)
    except OSError as err:
        return (
            source,
            Parsed(
                None,
                Toc(),
                0,
                0,
                [Problem(shown, None, None, f"cannot read this file: {err.strerror}", "check its permissions")],
            ),
            "",
            "",
        )
    parsed, html, text = parse_bytes(shown, data.pop(), settings)
    return source, parsed, html, text


def digest_file(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load(
    content: Path,
    cache: BuildCache,
    settings: ParseSettings,
    include_drafts: bool = False,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
    scanned: tuple[list[SourceFile], list[Problem], set[str]] | None = None,
) -> tuple[list[Speech], list[Problem], dict]:
    """Scan (unless ``scanned`` is what ``scan(content)`` just returned), parse what changed (in
    parallel), validate; return speeches, problems and counts. ``stats["broken"]``: the sources
    that failed and the folders (prefixes ending in "/") that could not be read: the pages they
    published are kept."""
    files, problems, broken = scanned if scanned is not None else scan(content)
    problems = list(problems)
    broken = set(broken)
    known = cache.file_stats()
    rows = _file_rows(files, known, problems, broken)
    keys = [(r[0], r[3]) for r in rows]
    base = _read_base(cache)
    cached = _cached(cache, keys, base)
    paths = {f.source: f.path for f in files}
    todo = [(s, str(paths[s]), display_path(paths[s]), settings) for s, d in keys if (s, d) not in cached]
    digests = dict(keys)
    done = len(keys) - len(todo)
    if progress:
        progress(done, len(keys))
    for source, parsed, html, text in _run(todo, jobs):
        cache.put_parsed(source, digests[source], parsed, html, text)
        cached[(source, digests[source])] = _packed(parsed)
        done += 1
        if progress:
            progress(done, len(keys))
    cache.update_files(rows, known)
    _keep(cache, keys, known, base, cached)
    with collector.paused(keep=True):  # (10,000 speeches: they live until the pages are written)
        speeches, drafts = _speeches(keys, cached, problems, broken, include_drafts)
    stats = {"files": len(keys), "parsed": len(todo), "drafts": drafts, "broken": broken}
    return speeches, problems, stats


def _speeches(keys: list, cached: dict, problems: list[Problem], broken: set[str], include_drafts: bool):
    """(the speeches of the records of ``keys``, how many drafts were left out); their problems
    added to ``problems``, the sources that failed to ``broken``."""
    speeches: list[Speech] = []
    drafts = 0
    for source, digest in keys:
        parsed = cached[(source, digest)]
        problems.extend(parsed.problems)
        if parsed.meta is None:
            broken.add(source)
            continue
        if parsed.meta.draft and not include_drafts:
            drafts += 1
            continue
        speeches.append(
            Speech(
                source=source,
                digest=digest,
                meta=parsed.meta,
                toc=parsed.toc,
                word_count=parsed.word_count,
                reading_minutes=parsed.reading_minutes,
            )
        )
    return speeches, drafts


def _file_rows(files: list[SourceFile], known: dict, problems: list[Problem], broken: set[str]) -> list[tuple]:
    """(source, mtime_ns, size, digest) of each file: the digest of the last build when its stat
    is the same, else read (a file that cannot be read is a problem, and ``broken``)."""
    rows: list[tuple[str, int, int, str]] = []
    for f in files:
        old = known.get(f.source)
        if old and old[0] == f.mtime_ns and old[1] == f.size:
            digest = old[2]
        else:
            try:
                digest = digest_file(f.path)
            except OSError as err:
                problems.append(
                    Problem(
                        display_path(f.path),
                        None,
                        None,
                        f"cannot read this file: {err.strerror}",
                        "check its permissions",
                    )
                )
                broken.add(f.source)
                continue
        rows.append((f.source, f.mtime_ns, f.size, digest))
    return rows


def _read_base(cache: BuildCache) -> dict[tuple[str, str], tuple]:
    """The parsed records kept in one blob by an earlier build (parsed_store), as plain tuples."""
    with collector.paused(keep=True):  # thousands of tuples, no cycles: the collector would walk them again and again
        return parsed_store.decode(cache.parsed_base(), Parsed)


def _cached(cache: BuildCache, keys: list[tuple[str, str]], base: dict) -> dict[tuple[str, str], Parsed]:
    """The parsed record of each of ``keys`` the cache holds: from the base, else from its row
    (anything else under a key, from an older version of the cache, is parsed again)."""
    cached: dict[tuple[str, str], Parsed] = {}
    rest = []
    with collector.paused(keep=True):
        for key in keys:
            row = base.get(key)
            if row is None:
                rest.append(key)
            else:
                cached[key] = parsed_store.parsed_of(row, Parsed)
    if rest:
        cached.update(
            (key, _packed(parsed)) for key, parsed in cache.parsed(rest).items() if isinstance(parsed, Parsed)
        )
    return cached


def _packed(parsed: Parsed) -> Parsed:
    """``parsed`` with its table of contents packed (``parsed_store.packed``: 0.9 KB a speech, not
    4.2 KB of tuples, held until the pages are written)."""
    parsed.toc = parsed_store.packed(parsed.toc)
    return parsed


def _keep(cache: BuildCache, keys: list[tuple[str, str]], known: dict, base: dict, cached: dict) -> None:
    """Drop the rows of files changed or gone; write a new base when the old one lacks or no
    longer uses more than a few records (``BASE_SLACK``), pruning the table then. Every record in
    the base keeps its row (its body): a file changed back to what it was takes its record from
    the base, and its text from the row. Nothing on a read-only cache (check, export)."""
    if cache.readonly:
        return
    current = set(keys)
    missing = sum(1 for key in keys if key not in base)
    unused = len(base) - (len(keys) - missing)
    if missing + unused > min(BASE_SLACK, max(32, len(keys) // 16)) or (missing and not base):
        cache.prune_docs(current)
        cache.set_parsed_base(parsed_store.encode(((key, cached[key]) for key in keys), Parsed))
    else:
        stale = ((s, old[2]) for s, old in known.items())
        cache.drop_parsed([key for key in stale if key not in current and key not in base])


def _run(todo: list, jobs: int | None):
    """Parse in a process pool when there is enough work to pay for it."""
    jobs = jobs or min(os.cpu_count() or 1, 4)
    if jobs <= 1 or len(todo) < 40:
        yield from map(_parse_job, todo)
        return
    done = 0
    try:
        with process_pool(jobs, prefer_fork=True) as pool:
            for result in pool.map(_parse_job, todo, chunksize=16):
                done += 1
                yield result
        return
    except BrokenProcessPool:  # a worker died (killed for memory, or a crash in native code)
        pass
    yield from _run_isolated(todo[done:])


def _run_isolated(todo: list):
    """Parse one file at a time in a worker process, so that a file that kills its process is
    known, reported, and the others still parsed."""
    pool = None
    try:
        for job in todo:
            if pool is None:
                pool = process_pool(1, prefer_fork=True)
            try:
                result = pool.submit(_parse_job, job).result()
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = None
                source, _path, shown, _settings = job
                result = (
                    source,
                    *_failed(
                        Problem(
                            shown,
                            None,
                            None,
                            "the process reading this file died (out of memory, or a crash)",
                            "simplify or split the file; if it is an ordinary speech, report it as a bug",
                        )
                    ),
                )
            yield result
    finally:
        if pool is not None:
            pool.shutdown()


__all__ = [
    "LARGE_FILE",
    "MAX_FILE",
    "PARSE_SECONDS",
    "SECONDS_PER_MB",
    "ParseSettings",
    "Parsed",
    "TimeBudgetExceeded",
    "budget",
    "digest_file",
    "load",
    "parse_bytes",
    "time_budget",
    # scan's, used through this module by the rest of the package
    "SourceFile",
    "display_path",
    "escape_name",
    "scan",
]
