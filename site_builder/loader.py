"""Read content/: find the speech files, decode, parse and validate them, using the cache.

Every problem of every file is collected in one pass; a broken file never stops the others.
"""
from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import frontmatter, schema
from .cache import BuildCache
from .errors import Problem
from .markup import Renderer
from .model import Speech
from .textio import EncodingProblem, decode_utf8

LARGE_FILE = 2 * 1024 * 1024
MAX_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    source: str  # relative to the content folder, posix
    path: str
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class ParseSettings:
    trust_html: bool
    meeting_types: tuple[str, ...] | None
    themes: tuple[str, ...] | None


@dataclass
class Parsed:
    """What parsing one file gives: metadata (None when it has errors) and its problems."""

    meta: schema.SpeechMeta | None
    toc: tuple
    word_count: int
    reading_minutes: int
    problems: list[Problem]


def display_path(path: Path) -> str:
    """The path as the user should see it: relative to the current folder when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def scan(content: Path) -> tuple[list[SourceFile], list[Problem]]:
    """All *.md files under ``content`` (sorted), and the ones that cannot be read."""
    files: list[SourceFile] = []
    problems: list[Problem] = []
    if not content.is_dir():
        return files, [Problem(display_path(content), None, None, "content folder not found",
                               "create it, or point --content at the folder holding the speeches")]
    seen_dirs: set[tuple[int, int]] = set()
    root = str(content)

    def onerror(err: OSError) -> None:
        problems.append(Problem(display_path(Path(err.filename or content)), None, None,
                                f"cannot read this folder: {err.strerror}", "check its permissions"))

    for dirpath, dirnames, filenames in os.walk(content, onerror=onerror, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop: visit each folder once
            problems.append(Problem(display_path(Path(dirpath)), None, None,
                                    "symbolic link loop: this folder was already read", "remove the link",
                                    severity="warning"))
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        # Plain strings, not Path objects: at 10,000 files pathlib alone cost more than the stats.
        prefix = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if prefix == "." else prefix + "/"
        for name in sorted(filenames):
            if not name.endswith(".md") or name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError as err:
                problems.append(Problem(display_path(path), None, None, f"cannot read this file: {err.strerror}",
                                        "a broken symbolic link? fix or remove it"))
                continue
            if not stat.S_ISREG(st.st_mode):  # reading a pipe would block, a device would never end
                problems.append(Problem(display_path(path), None, None,
                                        "not a regular file (a pipe, device or socket): not read",
                                        "remove it, or put the speech's text in an ordinary file"))
                continue
            files.append(SourceFile(prefix + name, path, st.st_mtime_ns, st.st_size))
    return files, problems


_renderer: Renderer | None = None


def parse_bytes(shown: str, data: bytes, settings: ParseSettings) -> tuple[Parsed, str, str]:
    """Parse one speech file; return (Parsed, html, plain text). Never raises for bad content."""
    global _renderer
    if _renderer is None or _renderer.trust_html != settings.trust_html:
        _renderer = Renderer(trust_html=settings.trust_html)
    problems: list[Problem] = []
    if len(data) > MAX_FILE:
        return Parsed(None, (), 0, 0, [Problem(shown, None, None, f"file too large ({len(data) >> 20} MB)",
                                                "split it: one speech per file")]), "", ""
    if len(data) > LARGE_FILE:
        problems.append(Problem(shown, None, None, f"very large speech ({len(data) / 1048576:.1f} MB)",
                                "check that the file holds one speech only", severity="warning"))
    try:
        text = decode_utf8(data)
    except EncodingProblem as err:
        return Parsed(None, (), 0, 0, [Problem(shown, err.line, "encoding", str(err), err.hint(shown))]), "", ""
    try:
        fm = frontmatter.split(text)
    except frontmatter.FrontMatterError as err:
        return Parsed(None, (), 0, 0, problems + [Problem(shown, err.line, "front matter", err.message, err.hint)]), "", ""
    meta, found = schema.validate(shown, fm.data, fm.key_lines, settings.meeting_types, settings.themes)
    problems.extend(found)
    if meta is None:
        return Parsed(None, (), 0, 0, problems), "", ""
    if not fm.body.strip():
        problems.append(Problem(shown, fm.body_line, None, "no text after the front matter",
                                "write the speech below the closing ---", severity="warning"))
    rendered = _renderer.render(fm.body)
    parsed = Parsed(meta, rendered.toc, rendered.word_count, rendered.reading_minutes, problems)
    return parsed, rendered.html, rendered.text


def _parse_job(job: tuple[str, str, str, ParseSettings]) -> tuple[str, Parsed, str, str]:
    source, path, shown, settings = job
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return source, Parsed(None, (), 0, 0, [Problem(shown, None, None, f"cannot read this file: {err.strerror}",
                                                       "check its permissions")]), "", ""
    parsed, html, text = parse_bytes(shown, data, settings)
    return source, parsed, html, text


def digest_file(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha1(fh.read()).hexdigest()


def load(
    content: Path,
    cache: BuildCache,
    settings: ParseSettings,
    include_drafts: bool = False,
    progress: Callable[[int, int], None] | None = None,
    jobs: int | None = None,
    scanned: tuple[list[SourceFile], list[Problem]] | None = None,
) -> tuple[list[Speech], list[Problem], dict]:
    """Scan (unless ``scanned`` is what ``scan(content)`` just returned), parse what changed (in
    parallel), validate; return speeches, problems and counts."""
    files, problems = scanned if scanned is not None else scan(content)
    problems = list(problems)
    known = cache.file_stats()
    rows: list[tuple[str, int, int, str]] = []
    for f in files:
        old = known.get(f.source)
        if old and old[0] == f.mtime_ns and old[1] == f.size:
            digest = old[2]
        else:
            try:
                digest = digest_file(f.path)
            except OSError as err:
                problems.append(Problem(display_path(f.path), None, None, f"cannot read this file: {err.strerror}",
                                        "check its permissions"))
                continue
        rows.append((f.source, f.mtime_ns, f.size, digest))
    keys = [(r[0], r[3]) for r in rows]
    cached = cache.parsed(keys)
    paths = {f.source: f.path for f in files}
    todo = [(s, str(paths[s]), display_path(paths[s]), settings) for s, d in keys if (s, d) not in cached]
    digests = dict(keys)
    done = len(keys) - len(todo)
    if progress:
        progress(done, len(keys))
    for source, parsed, html, text in _run(todo, jobs):
        cached[(source, digests[source])] = parsed
        cache.put_parsed(source, digests[source], parsed, html, text)
        done += 1
        if progress:
            progress(done, len(keys))
    cache.set_files(rows)
    cache.prune_docs(set(keys))
    speeches: list[Speech] = []
    drafts = 0
    for source, digest in keys:
        parsed = cached[(source, digest)]
        problems.extend(parsed.problems)
        if parsed.meta is None:
            continue
        if parsed.meta.draft and not include_drafts:
            drafts += 1
            continue
        speeches.append(Speech(source=source, digest=digest, meta=parsed.meta, toc=parsed.toc,
                               word_count=parsed.word_count, reading_minutes=parsed.reading_minutes))
    stats = {"files": len(keys), "parsed": len(todo), "drafts": drafts}
    return speeches, problems, stats


def _run(todo: list, jobs: int | None):
    """Parse in a process pool when there is enough work to pay for it."""
    jobs = jobs or min(os.cpu_count() or 1, 4)
    if jobs <= 1 or len(todo) < 40:
        yield from map(_parse_job, todo)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_parse_job, todo, chunksize=16)
