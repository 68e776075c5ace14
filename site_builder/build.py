"""The build, stage by stage: config → load → archive → pages → write → indexes.

It reads like a table of contents on purpose; each stage lives in its own module.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2

from . import __version__, duplicates, frontmatter, loader
from .cache import BuildCache
from .config import SiteConfig
from .errors import Problem, SiteBuilderError, UsageError
from .model import Archive, build_archive
from .render import Page, Views, site_view
from .templates import TemplateSet
from .textio import decode_utf8
from .urls import UrlMap
from .writer import WriteError, copy_tree, os_error_message, remove_file, remove_leftovers, write_file

LOCK_WAIT_SECONDS = 30


@dataclass
class BuildResult:
    speeches: int = 0
    pages: int = 0
    written: int = 0
    removed: int = 0
    parsed: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    nothing_changed: bool = False
    explain: list[str] = field(default_factory=list)
    index: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # stage → seconds
    review: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (source, fields) awaiting review
    unrendered: int = 0  # speech pages that failed to render (see _write_pages)

    @property
    def errors(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(not p.is_error for p in self.problems)

    def summary(self, check_only: bool = False) -> str:
        what = "Checked" if check_only else "Built"
        pages = "" if check_only else f", {self.pages} pages ({self.written} written, {self.removed} removed)"
        return (
            f"{what} {self.speeches} speeches{pages}; {self.errors} errors, {self.warnings} warnings "
            f"in {self.seconds:.2f} s" + (" (nothing changed)" if self.nothing_changed else "")
        )


class BuildLocked(SiteBuilderError):
    pass


class TemplateProblem(SiteBuilderError):
    """A template is missing or broken: no page can be trusted, so the build stops (exit 2)."""

    exit_code = 2

    def __init__(self, err, page: Page | None = None):
        where = getattr(err, "filename", None) or getattr(err, "name", None) or (page and page.template)
        line = getattr(err, "lineno", None)
        during = f" (while rendering {page.path})" if page else ""
        super().__init__(
            f"template {where}{':' + str(line) if line else ''}: {err.message or err}{during}; "
            "fix the template and build again"
        )


class _Clock:
    """Records the seconds each stage took (shown by --explain, read by the benchmarks)."""

    def __init__(self, into: dict):
        self.into, self.last = into, time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.into[stage] = round(now - self.last, 3)
        self.last = now


@contextmanager
def build_lock(state_dir: Path, wait: float = LOCK_WAIT_SECONDS, notify=None):
    """One build at a time per output folder. The kernel releases the lock when a build dies,
    so a killed build never leaves a stale lock behind."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "build.lock", "a+") as fh:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BuildLocked(
                        f"another build of this output folder is still running "
                        f"(waited {wait:.0f} s); try again when it has finished"
                    ) from None
                if notify and not told:
                    notify("another build of this output folder is running; waiting for it to finish …")
                    told = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _shower(config: SiteConfig):
    content = config.content  # resolved once (the property resolves the path on every call)
    return lambda source: loader.display_path(content / source)


def _settings(config: SiteConfig) -> loader.ParseSettings:
    return loader.ParseSettings(config.trust_html, config.meeting_types, config.themes)


def _parse_fingerprint(config: SiteConfig) -> str:
    """Everything parsing depends on besides the file itself."""
    return _fingerprint(_settings(config).__dict__, _code_version())


def _fingerprint(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def _code_version() -> str:
    """Changes when the package's code changes (its bytes, not mtimes: a checkout keeps them)."""
    digest = hashlib.sha1(__version__.encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):  # subpackages too (importer/, serve/, …)
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _theme_signature(templates: TemplateSet) -> str:
    files = []
    for root in [Path(d) for d in templates.env.loader.chain.searchpath] + templates.static_dirs:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                st = p.stat()
                files.append((str(p), st.st_mtime_ns, st.st_size))
    return _fingerprint(files)


def _require_content(config: SiteConfig) -> None:
    """A content folder that is not there is a mistake in the command (or the configuration),
    not an archive without speeches: say so, and touch nothing."""
    if not config.content.is_dir():
        shown = loader.display_path(config.content)
        what = "is not a folder" if config.content.exists() else "not found"
        raise UsageError(
            f"content folder {shown} {what}: create it, or point --content (or content_dir "
            "in pyproject.toml) at the folder holding the speeches"
        )


def _published(cache: BuildCache) -> dict[str, str | None]:
    """Output path → the source that owns it, as the last build wrote them."""
    return {path: owner for path, (_key, owner) in cache.page_keys().items()}


def _no_speech_problem(config: SiteConfig, stats: dict) -> Problem:
    drafts = stats.get("drafts", 0)
    why = f" ({drafts} drafts; --drafts includes them)" if drafts else ""
    return Problem(
        loader.display_path(config.content),
        None,
        None,
        f"no speech to publish{why}: the site is built empty",
        "add speeches with site-builder new or site-builder import",
        severity="warning",
    )


def check(config: SiteConfig, progress=None) -> BuildResult:
    """Load and validate everything; write nothing (the cache is only read)."""
    started = time.perf_counter()
    _require_content(config)
    cache = BuildCache(config.state_dir, readonly=True)
    published = _published(cache)
    if cache.get("parse_settings") != _parse_fingerprint(config):
        cache.close()  # parsed with other settings: parse everything afresh, in memory
        cache = BuildCache(Path("/nonexistent"), readonly=True)
    try:
        speeches, problems, stats = loader.load(
            config.content, cache, _settings(config), config.drafts, progress=progress and progress.stage("check")
        )
    finally:
        cache.close()
    archive = build_archive(speeches, UrlMap(config.urls), _shower(config), published)
    if not archive.speeches:
        problems.append(_no_speech_problem(config, stats))
    review = [(s.source, s.meta.review) for s in archive.speeches if s.meta.review]
    problems = problems + duplicate_problems(config, archive.speeches)
    return BuildResult(
        speeches=len(archive.speeches),
        problems=problems + archive.problems,
        parsed=stats["parsed"],
        seconds=time.perf_counter() - started,
        review=review,
    )


def duplicate_problems(config: SiteConfig, speeches: list, texts: bool = True) -> list[Problem]:
    """A warning for each pair of speeches with the same title and date, or (``texts``: reads
    every file again) the same or nearly the same text (see duplicates): one warning a pair,
    on the later file, naming the other."""
    show = _shower(config)
    reasons: dict[tuple[str, str], list[str]] = {}
    items = {s.source: (s.title, s.date.iso()) for s in speeches}
    for a, b in duplicates.same_title_and_date(items):
        reasons.setdefault((a, b), []).append("the same title and date")
    if texts:
        bodies: dict[str, str] = {}
        for s in speeches:
            try:
                bodies[s.source] = frontmatter.split(decode_utf8((config.content / s.source).read_bytes())).body
            except (OSError, ValueError):
                continue  # unreadable files are reported by the loader
        for a, b, similarity in duplicates.duplicate_pairs(bodies):
            what = "the same text" if similarity >= 0.999 else f"nearly the same text ({similarity:.0%} of sentences)"
            reasons.setdefault((a, b), []).append(what)
    out = []
    for (a, b), why in sorted(reasons.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        what = why[0] if len(why) == 1 else f"{why[0]}, and {why[1]},"
        out.append(
            Problem(
                show(b),
                None,
                None,
                f"{what} as {show(a)}",
                "the same speech saved twice? keep one, or mark the other draft: true",
                severity="warning",
            )
        )
    return out


def build(config: SiteConfig, progress=None, notify=None, explain: bool = False) -> BuildResult:
    """Build content/ into output/; return what happened. Raises SiteBuilderError on failures
    that stop the whole build (lock held, disk full); content problems are in the result."""
    started = time.perf_counter()
    _require_content(config)
    try:
        with build_lock(config.state_dir, notify=notify):
            cache = BuildCache(config.state_dir)
            try:
                result = _build_locked(config, cache, progress, explain)
            finally:
                cache.close()
    except sqlite3.Error as err:  # a full disk, most likely
        raise SiteBuilderError(
            f"{config.state_dir / 'cache.sqlite'}: the build cache cannot be written ({err}); "
            f"free some space (or delete {config.state_dir}: it is only a cache) and build again"
        ) from None
    except OSError as err:
        raise WriteError(os_error_message(err, config.state_dir, "the build state")) from None
    result.seconds = time.perf_counter() - started
    return result


def _build_locked(config: SiteConfig, cache: BuildCache, progress, explain: bool) -> BuildResult:
    result = BuildResult()
    templates = TemplateSet(config.theme_dirs())
    settings_fp = _parse_fingerprint(config)
    if cache.get("parse_settings") != settings_fp:
        cache.reset_docs()
        cache.set("parse_settings", settings_fp)
        result.explain.append("parse settings or code changed: every speech is parsed again")

    # 1. Quick exit: same files, same configuration, same theme, last build complete.
    scanned = loader.scan(config.content)
    files = scanned[0]  # (files, problems, what could not be read)
    signature = _fingerprint(
        [(f.source, f.mtime_ns, f.size) for f in files],
        repr(config),
        settings_fp,
        _theme_signature(templates),
        str(config.output),
    )
    previous = cache.get("signature")
    if previous == signature and config.output.is_dir():
        last = pickle.loads(bytes.fromhex(cache.get("last_result") or pickle.dumps(BuildResult()).hex()))
        last.nothing_changed, last.written, last.removed, last.parsed = True, 0, 0, 0
        last.explain = ["no source, template or setting changed since the last complete build"]
        return last
    cache.set("signature", "")  # an interrupted build must not be taken as complete
    cache.commit()
    if not previous and config.output.is_dir():  # the last build was killed: drop its temporary files
        remove_leftovers(config.output)

    clock = _Clock(result.timings)
    clock("scan")

    # 2. Load and validate (parses only what changed).
    speeches, problems, stats = loader.load(
        config.content,
        cache,
        _settings(config),
        config.drafts,
        progress=progress and progress.stage("parse"),
        scanned=scanned,
    )
    result.parsed = stats["parsed"]
    clock("parse")
    if stats["parsed"]:
        result.explain.append(f"parsed {stats['parsed']} new or changed speech files")

    # 3. The model: order, prev/next, taxonomies, URL collisions (the speech that published a
    # URL keeps it).
    published = _published(cache)
    archive = build_archive(speeches, UrlMap(config.urls), _shower(config), published)
    problems += archive.problems
    if not archive.speeches:
        problems.append(_no_speech_problem(config, stats))
    broken = stats["broken"] | archive.rejected  # their published pages are kept
    problems += duplicate_problems(config, archive.speeches, texts=False)  # same title and date (cheap)
    result.speeches = len(archive.speeches)
    bodies = _Bodies(cache)
    index_docs = _index_docs(archive, bodies)
    clock("model")

    # 4. Search indexes (Whoosh for the CLI and server, static for the browser), started here and
    # finished last: they need only the docs, so a small update runs in a child process while the
    # related speeches and the pages are computed.
    cache.commit()  # the child reads the bodies of changed speeches through its own connection
    indexes = _IndexUpdate(config, index_docs, bodies, parsed=stats["parsed"])
    try:
        _attach_related(archive, index_docs, config)
        clock("related")

        # 5. Pages: render only those whose key changed.
        pages = Views(config, archive).all_pages()
        result.pages = len(pages)
        _write_pages(
            config,
            cache,
            templates,
            pages,
            broken=broken,
            problems=problems,
            result=result,
            progress=progress,
            explain=explain,
        )
        copy_tree(templates.static_dirs, config.output / "static")
        clock("render")
    except BaseException:
        indexes.abandon()
        raise
    result.index, unindexed = indexes.finish(clock, result)
    show = _shower(config)
    problems += [
        Problem(
            show(source),
            None,
            None,
            f"could not be indexed for search: {why}",
            "the page was built but search does not find it; this is a bug in site-builder: "
            "run again with SITE_BUILDER_DEBUG=1 and report it with this file",
        )
        for source, why in sorted(unindexed.items())
    ]

    result.problems = problems
    cache.set("last_result", pickle.dumps(result).hex())
    # A page that could not be rendered or a speech left out of the indexes (a bug, not the
    # content) is tried again by the next build: this one is not "complete".
    cache.set("signature", "" if unindexed or result.unrendered else signature)
    cache.commit()
    return result


def _is_broken(owner: str | None, broken: set[str]) -> bool:
    """``broken`` holds sources that failed and folders ("a/b/", or "" for all of content) that
    could not be read: the pages they published are kept."""
    return owner is not None and (
        owner in broken or any(b.endswith("/") and owner.startswith(b) for b in broken) or "" in broken
    )


def _page_key(page: Page, templates: TemplateSet, site_fp: str) -> str:
    # repr, not JSON: views are plain data (str, int, None, bool, list, tuple, dict) built in a
    # fixed order, so repr is as deterministic and twice as fast for 10,000+ pages.
    return hashlib.sha1(
        repr((page.keyed(), templates.fingerprint(page.template), site_fp, page.body_of)).encode(
            "utf-8", "surrogatepass"
        )
    ).hexdigest()


def _write_pages(config, cache, templates, pages, broken, problems, result, progress, explain) -> None:
    """Render and write the pages whose key changed; remove the pages no longer made, except
    those of ``broken`` sources. A speech whose page cannot be rendered is a problem of its file
    (its previous page is kept); any other page that fails is a bug and stops the build."""
    site = site_view(config)
    # The parse fingerprint covers the code version: HTML, tables of contents and templates'
    # helpers of another version of site_builder render every page again.
    site_fp = _fingerprint(site, config.urls, _parse_fingerprint(config))
    known = cache.page_keys()
    out = config.output
    show = _shower(config)
    out_dir = str(out)  # os.path, not pathlib, in this loop over every page
    todo = []
    for page in pages:
        try:
            key = _page_key(page, templates, site_fp)
        except jinja2.TemplateError as err:
            raise TemplateProblem(err, page) from None
        old = known.get(page.path)
        if old and old[0] == key and os.path.isfile(os.path.join(out_dir, page.path)):
            continue
        todo.append((page, key, "new page" if not old else "changed"))
    cache.commit()  # worker processes read bodies through their own connections
    done = 0
    for page, key, why, written in _render_all(todo, templates, site, out, config.state_dir, cache):
        done += 1
        if isinstance(written, str):  # this speech's page failed: its old page (if any) stays
            problems.append(
                Problem(
                    show(page.owner),
                    None,
                    None,
                    f"its page could not be rendered: {written}",
                    "this is a bug in site-builder (the other pages were built): run again with "
                    "SITE_BUILDER_DEBUG=1 and report it with this file",
                )
            )
            broken.add(page.owner)
            result.unrendered += 1
            continue
        if written:
            result.written += 1
            if explain:
                result.explain.append(f"wrote {page.path} ({why})")
        cache.set_page(page.path, key, page.owner)
        if progress:
            progress("render", done, len(todo))
    current = {p.path for p in pages}
    stale = [path for path, (_, owner) in known.items() if path not in current and not _is_broken(owner, broken)]
    for path in stale:
        remove_file(out, path)
        if explain:
            result.explain.append(f"removed {path} (its speech or listing no longer exists)")
    cache.drop_pages(stale)
    result.removed = len(stale)


PARALLEL_RENDER_MIN = 300  # below this, starting worker processes costs more than it saves
_render_state: tuple | None = None  # (templates, site, out, state_dir) inherited by forked workers


def _render_page(page: Page, templates: TemplateSet, site: dict, out: Path, cache: BuildCache) -> bool:
    context = dict(page.view, site=site)
    if page.body_of:
        context["body_html"] = cache.body(*page.body_of)[0]
    if page.template == "feed.xml":
        context["texts"] = {e["digest"]: cache.body(e["source"], e["digest"])[1] for e in page.view["entries"]}
    try:
        data = templates.render(page.template, page.path, context).encode("utf-8")
    except jinja2.TemplateError as err:
        raise TemplateProblem(err, page) from None
    return write_file(out, page.path, data)


def _render_speech_page(page: Page, templates: TemplateSet, site: dict, out: Path, cache: BuildCache) -> bool | str:
    """_render_page; for a speech's own page, an unexpected error comes back as its text."""
    try:
        return _render_page(page, templates, site, out, cache)
    except SiteBuilderError:
        raise
    except Exception as err:  # one speech's page: reported on its file
        if page.owner is None or os.environ.get("SITE_BUILDER_DEBUG"):
            raise
        return f"{type(err).__name__}: {err}"


def _render_chunk(chunk: list) -> list:
    """In a worker process: render and write a share of the pages; errors come back as text."""
    templates, site, out, state_dir = _render_state
    cache = BuildCache(state_dir, readonly=True)
    try:
        return [(n, _render_speech_page(page, templates, site, out, cache)) for n, page in chunk]
    except SiteBuilderError as err:
        return [(-1, str(err))]
    finally:
        cache.close()


def _render_all(todo: list, templates, site, out, state_dir, cache):
    """Yield (page, key, why, written) for each page; in two processes when there are many."""
    jobs = min(os.cpu_count() or 1, 4)
    if jobs <= 1 or len(todo) < PARALLEL_RENDER_MIN:
        for page, key, why in todo:
            yield page, key, why, _render_speech_page(page, templates, site, out, cache)
        return
    import multiprocessing

    global _render_state
    _render_state = (templates, site, out, state_dir)
    size = max(20, len(todo) // (jobs * 8))
    chunks = [[(n, todo[n][0]) for n in range(i, min(i + size, len(todo)))] for i in range(0, len(todo), size)]
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for results in pool.imap_unordered(_render_chunk, chunks):
                for n, written in results:
                    if n < 0:
                        raise SiteBuilderError(written)
                    page, key, why = todo[n]
                    yield page, key, why, written
    finally:
        _render_state = None


# -- search ------------------------------------------------------------------------------


class _Bodies:
    """Where the index docs read their text: the build cache, or in the child process that
    updates the indexes its own read-only connection (a SQLite connection must not cross a fork)."""

    def __init__(self, cache: BuildCache):
        self.cache = cache

    def text(self, source: str, digest: str) -> str:
        return self.cache.body(source, digest)[1]

    def headings(self, source: str, digest: str) -> tuple[int, ...]:
        """The numbers of the plain text's lines that are headings (from the cached body HTML)."""
        from .blocks import heading_lines

        return heading_lines(self.cache.body(source, digest)[0])


def _index_docs(archive: Archive, bodies: _Bodies) -> list:
    """One IndexDoc per speech; the body text is read from the cache only if an index asks
    for it (they do so only for new or changed speeches), which keeps one-file builds cheap."""
    from .blocks import TEXT_VERSION
    from .search_index import IndexDoc

    class LazyDoc(IndexDoc):
        @property
        def body(self) -> str:
            return bodies.text(self.id, self._digest)

        @property
        def headings(self) -> tuple[int, ...]:
            return bodies.headings(self.id, self._digest)

        def __reduce__(self):  # sent to worker processes with the text itself
            return (
                IndexDoc,
                (
                    self.id,
                    self.url,
                    self.title,
                    self.date,
                    self.year,
                    self.meeting_type,
                    self.themes,
                    self.body,
                    self.fingerprint,
                    self.speaker,
                    self.organization,
                    self.headings,
                ),
            )

    docs = []
    for s in archive.speeches:
        doc = object.__new__(LazyDoc)
        fields = dict(
            id=s.source,
            url=s.url,
            title=s.title,
            date=s.date.iso(),
            year=s.year,
            meeting_type=s.meta.meeting_type,
            themes=tuple(s.meta.themes),
            speaker=s.meta.speaker or "",
            organization=s.meta.organization or "",
            # TEXT_VERSION: a new way of making the plain text re-indexes every speech
            fingerprint=hashlib.sha1(f"{s.digest}\0{s.url}\0{s.source}\0{TEXT_VERSION}".encode()).hexdigest(),
            _digest=s.digest,
        )
        for key, value in fields.items():
            object.__setattr__(doc, key, value)
        docs.append(doc)
    return docs


def _attach_related(archive: Archive, docs: list, config: SiteConfig) -> None:
    if not docs:
        return
    from .related import compute_related

    related = compute_related(docs, k=config.related_count, cache_dir=config.state_dir / "related")
    by_source = {s.source: s for s in archive.speeches}
    for s in archive.speeches:
        s.related = [by_source[r] for r in related.get(s.source, []) if r in by_source]


BACKGROUND_INDEX_MAX_PARSED = 200  # a build that parsed more speeches updates the indexes last, in-process


class _IndexUpdate:
    """Updates both search indexes: in a forked child process, beside the related speeches and
    the pages, when the update is small (few speeches parsed) and forking is safe (this process
    runs no other thread); otherwise in ``finish``, after the pages, as one more stage.

    The child inherits the build lock's file, so another build waits for it too; a child killed
    or crashed is an error of this build (the indexes stay crash-safe by themselves)."""

    def __init__(self, config: SiteConfig, docs: list, bodies: _Bodies, parsed: int):
        self.config, self.docs, self.bodies = config, docs, bodies
        self.pid: int | None = None
        import threading

        if (
            parsed <= BACKGROUND_INDEX_MAX_PARSED
            and hasattr(os, "fork")
            and (os.cpu_count() or 1) > 1
            and threading.active_count() == 1
            and not os.environ.get("SITE_BUILDER_NO_FORK")
        ):
            self._start()

    def _start(self) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid:
            os.close(write)
            self.pid, self.pipe = pid, os.fdopen(read, "rb")
            return
        try:  # the child: update, send (status, …) back, leave without running any cleanup
            os.close(read)
            self.bodies.cache = BuildCache(self.config.state_dir, readonly=True)
            timings: dict = {}
            payload: tuple
            try:
                payload = ("ok", _update_indexes(self.config, self.docs, _Clock(timings)), timings)
            except SiteBuilderError as err:
                payload = ("error", str(err), err.exit_code)
            except BaseException as err:  # reported by the parent
                import traceback

                payload = (
                    "crash",
                    f"{type(err).__name__}: {err} (while updating the search indexes)",
                    traceback.format_exc(),
                )
            with os.fdopen(write, "wb") as fh:
                pickle.dump(payload, fh)
        finally:
            os._exit(0)

    def _wait(self):
        data = self.pipe.read()
        self.pipe.close()
        os.waitpid(self.pid, 0)
        self.pid = None
        return pickle.loads(data) if data else ("crash", "the process updating the search indexes died", None)

    def abandon(self) -> None:
        """The build failed: let a running update finish (it is consistent on its own)."""
        if self.pid is not None:
            self._wait()

    def finish(self, clock: _Clock, result: BuildResult) -> tuple[dict, dict[str, str]]:
        """(stats, {source: why} of the speeches that could not be indexed)."""
        if self.pid is None:
            return _update_indexes(self.config, self.docs, clock)
        status, value, extra = self._wait()
        clock("search indexes")
        if status == "ok":
            result.explain.append(
                "search indexes updated beside the related speeches and pages: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in extra.items())
            )
            return value
        if status == "error":
            err = SiteBuilderError(value)
            err.exit_code = extra
            raise err
        # A bug: one line from the CLI; with SITE_BUILDER_DEBUG=1 the child's traceback too.
        raise RuntimeError(value + (f"\n{extra}" if extra and os.environ.get("SITE_BUILDER_DEBUG") else ""))


def _update_indexes(config: SiteConfig, docs: list, clock) -> tuple[dict, dict[str, str]]:
    """Update both indexes; return (stats, {source: why} of speeches left out of them).

    A speech whose text the indexers cannot take is left out and reported, and the others are
    indexed: when an update fails with an unexpected error, each speech is tried alone."""
    try:
        return _update_both(config, docs, clock), {}
    except (SiteBuilderError, OSError, KeyboardInterrupt, MemoryError):
        raise
    except Exception:  # find the speeches that cause it, or re-raise (a bug)
        unindexable = _unindexable(docs)
        if not unindexable or os.environ.get("SITE_BUILDER_DEBUG"):
            raise
    rest = [d for d in docs if d.id not in unindexable]
    return _update_both(config, rest, clock), unindexable


def _unindexable(docs: list) -> dict[str, str]:
    """{source: error} of the docs that an index's per-speech analysis fails on."""
    from .search_index import analyse_doc as whoosh_analyse
    from .static_index import analyse as static_analyse

    bad = {}
    for doc in docs:
        try:
            whoosh_analyse(doc)
            static_analyse(doc)
        except Exception as err:
            bad[doc.id] = f"{type(err).__name__}: {err}"
    return bad


def _update_both(config: SiteConfig, docs: list, clock) -> dict:
    from .search_index import SearchIndex
    from .static_index import StaticIndex

    stats: dict = {}
    index = SearchIndex(config.state_dir / "whoosh")
    try:
        stats["whoosh"] = index.update(docs)
    except OSError as err:
        raise WriteError(os_error_message(err, config.state_dir / "whoosh", "the search index")) from None
    finally:
        index.close()
    clock("whoosh index")
    try:
        stats["static"] = StaticIndex(config.state_dir, config.output).update(docs)
    except OSError as err:
        raise WriteError(os_error_message(err, config.output / "search", "the in-browser search index")) from None
    clock("static index")
    return stats
