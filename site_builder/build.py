"""The build, stage by stage: config → load → archive → pages → write → indexes.

It reads like a table of contents on purpose; each stage lives in its own module.
"""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
import sqlite3
import time
from functools import lru_cache
from pathlib import Path

import jinja2

from . import __version__, collector, duplicates, frontmatter, loader, page_inputs, render_pages
from .build_index import Bodies as _Bodies
from .build_index import IndexUpdate as _IndexUpdate
from .build_index import index_docs as _index_docs
from .build_support import BuildResult, TemplateProblem, build_lock, no_speech_problem, unindexed_problems
from .build_support import Clock as _Clock
from .build_support import shower as _shower
from .cache import BuildCache, remove_stale
from .config import SiteConfig
from .errors import Problem, SiteBuilderError, UsageError
from .model import Archive, build_archive
from .render import Page, Views, site_view
from .templates import TemplateSet
from .textio import decode_utf8
from .urls import UrlMap
from .writer import WriteError, copy_tree, os_error_message, remove_file, remove_leftovers


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
    chain = templates.env.loader.chain  # type: ignore[union-attr]  # TemplateSet's own loader
    for root in [Path(d) for d in chain.searchpath] + templates.static_dirs:
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


def _published(known: dict) -> dict[str, str | None]:
    """Output path → the source that owns it, as the last build wrote them (``known``: page_keys)."""
    return {path: owner for path, (_key, owner) in known.items()}


def check(config: SiteConfig, progress=None) -> BuildResult:
    """Load and validate everything; write nothing (the cache is only read)."""
    started = time.perf_counter()
    _require_content(config)
    cache = BuildCache(config.state_dir, readonly=True)
    published = _published(cache.page_keys())
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
        problems.append(no_speech_problem(config, stats))
    review = [(s.source, s.meta.review) for s in archive.speeches if s.meta.review]
    problems = problems + duplicate_problems(config, archive.speeches)
    return BuildResult(
        speeches=len(archive.speeches),
        problems=problems + archive.problems,
        parsed=stats["parsed"],
        seconds=time.perf_counter() - started,
        review=review,
    )


def duplicate_problems(
    config: SiteConfig, speeches: list, texts: bool = True, pairs: list | None = None
) -> list[Problem]:
    """A warning for each pair of speeches with the same title and date, or the same or nearly
    the same text: (``texts``) by reading every file again (see duplicates), or as ``pairs``
    (a, b, similarity) found by the build's reuse stage. One warning a pair, on the later file,
    naming the other."""
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
        pairs = duplicates.duplicate_pairs(bodies)
    for a, b, similarity in pairs or []:
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
            remove_stale(config.state_dir.parent, keep=config.state_dir, notify=notify)
            cache = BuildCache(config.state_dir)
            try:
                with collector.during_build():  # (what the build froze is unfrozen after it)
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
    signature = _signature(config, scanned[0], settings_fp, templates)  # scanned: (files, problems, unread)
    previous = cache.get("signature")
    if previous == signature and config.output.is_dir():
        return _unchanged(cache)
    cache.set("signature", "")  # an interrupted build must not be taken as complete
    cache.commit()
    if not previous and config.output.is_dir():  # the last build was killed: drop its temporary files
        remove_leftovers(config.output)

    clock = _Clock(result.timings)
    clock("scan")
    # 2.–3. Load and validate (parses only what changed), then the model.
    known = cache.page_keys()  # read once: the model's published URLs, then the pages' keys
    archive, problems, stats = _load_model(config, cache, scanned, result, progress, clock, known)
    del scanned  # (its paths: 0.6 KB a speech)
    broken = stats["broken"] | archive.rejected  # their published pages are kept
    bodies = _Bodies(cache)
    index_docs = _index_docs(archive, bodies)
    clock("model")

    # 4. Search indexes (Whoosh for the CLI and server, static for the browser), started here and
    # finished last: they need only the docs, so a small update runs in a child process while the
    # related speeches and the pages are computed.
    cache.commit()  # the child reads the bodies of changed speeches through its own connection
    background = stats["parsed"] <= BACKGROUND_INDEX_MAX_PARSED
    indexes = _IndexUpdate(config, index_docs, bodies, background)
    try:
        early = _early_keywords(config, index_docs)  # (new speeches segmented in a child, beside reuse)
        reuse = _find_reuse(config, archive, bodies)
        problems += duplicate_problems(config, archive.speeches, texts=False, pairs=reuse.near)
        collector.release()
        clock("reuse")
        _attach_related(archive, index_docs, config, reuse.near, early)
        bodies.forget()  # (the pages read no text; the index stages read each text once, or in their workers)
        collector.release()
        clock("related")

        # 5. Pages: render only those whose key changed.
        views = Views(config, archive, reuse)
        pages = page_inputs.plan(views, cache.page_plan())  # (the last plan: page_changes.py)
        early = None
        if config.trend_terms:  # the statistics page charts them: search the updated index first
            from .search.trends import add_to_stats

            early = indexes.finish(clock, result)
            add_to_stats(pages, config)
        result.pages = len(pages)
        _write_pages(config, cache, templates, views, pages, broken, problems, result, progress, explain, known)
        copy_tree(templates.static_dirs, config.output / "static")
        # The index stages need only the docs and their bodies: the model, the passages and the
        # pages' views go before them (their workers start with what this process holds).
        archive.let_go()
        del archive, reuse, views, pages, known, index_docs
        indexes.compact()  # (the docs made afresh: none of the model's objects stays)
        collector.release()
        clock("render")
    except BaseException:
        indexes.abandon()
        raise
    result.index, unindexed = early or indexes.finish(clock, result)
    problems += unindexed_problems(config, unindexed)

    result.problems = problems
    cache.set("last_result", pickle.dumps(result).hex())
    # A page that could not be rendered or a speech left out of the indexes (a bug, not the
    # content) is tried again by the next build: this one is not "complete".
    cache.set("signature", "" if unindexed or result.unrendered else signature)
    cache.commit()
    return result


def _signature(config: SiteConfig, files: list, settings_fp: str, templates: TemplateSet) -> str:
    """What the quick exit compares: the files, the configuration, the theme, the content and
    output folders (as the absolute paths they name: the same folders given as relative paths, or
    from another working folder, are the same; the templates' folder is in the theme's files)."""
    return _fingerprint(
        [(f.source, f.mtime_ns, f.size) for f in files],
        page_inputs.settings_shown(config),
        settings_fp,
        _theme_signature(templates),
        str(config.content),
        str(config.output),
    )


def _unchanged(cache: BuildCache) -> BuildResult:
    """The result of the last complete build, as a build that changed nothing."""
    last = pickle.loads(bytes.fromhex(cache.get("last_result") or pickle.dumps(BuildResult()).hex()))
    last.nothing_changed, last.written, last.removed, last.parsed = True, 0, 0, 0
    last.explain = ["no source, template or setting changed since the last complete build"]
    return last


def _load_model(config: SiteConfig, cache: BuildCache, scanned, result: BuildResult, progress, clock, known: dict):
    """(archive, problems, loader stats): the speeches loaded (only changed files parsed), ordered,
    linked and checked for URL collisions (the speech that published a URL keeps it)."""
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

    published = _published(known)
    archive = build_archive(speeches, UrlMap(config.urls), _shower(config), published)
    problems += archive.problems
    if not archive.speeches:
        problems.append(no_speech_problem(config, stats))
    result.speeches = len(archive.speeches)
    # The model lives until the pages are written: the collector, set off again and again by the
    # later stages, need not walk it (one changed speech at 10,000: the collector 1.8 -> 0.75 s CPU,
    # bench/bench_render.py; the pages' views are never frozen). collector.during_build unfreezes it.
    gc.freeze()
    collector.release()  # (what parsing freed: the workers' pickles, the bodies deflated into the cache)
    return archive, problems, stats


def _is_broken(owner: str | None, broken: set[str]) -> bool:
    """``broken`` holds sources that failed and folders ("a/b/", or "" for all of content) that
    could not be read: the pages they published are kept."""
    return owner is not None and (
        owner in broken or any(b.endswith("/") and owner.startswith(b) for b in broken) or "" in broken
    )


def _page_key(page: Page, templates: TemplateSet, site_fp: str) -> str:
    # repr, not JSON: views are plain data (str, int, None, bool, list, tuple, dict) built in a
    # fixed order, so repr is as deterministic and twice as fast for 10,000+ pages.
    try:
        fingerprint = templates.fingerprint(page.template)
    except jinja2.TemplateError as err:
        raise TemplateProblem(err, page) from None
    return hashlib.sha1(
        repr((page.keyed(), fingerprint, site_fp, page.body_of)).encode("utf-8", "surrogatepass")
    ).hexdigest()


def _write_pages(config, cache, templates, views, pages, broken, problems, result, progress, explain, known) -> None:
    """Render and write the pages whose key changed; remove the pages no longer made, except
    those of ``broken`` sources. A speech whose page cannot be rendered is a problem of its file
    (its previous page is kept); any other page that fails is a bug and stops the build."""
    gc.freeze()  # the model and the plan live until the pages are written (unfrozen after the build)
    templates.keep_compiled(config.state_dir / "templates", _code_version())  # (before any is read)
    site = site_view(config)
    # The parse fingerprint covers the code version: HTML, tables of contents and templates'
    # helpers of another version of site_builder render every page again.
    site_fp = _fingerprint(site, config.urls, _parse_fingerprint(config))
    out = config.output
    # Only pages whose inputs changed get a view and a key (page_inputs.py), a batch at a time.
    scopes = page_inputs.Scopes(views, templates, site_fp)
    selection = page_inputs.select(
        pages, known, cache.stored_inputs(), scopes, lambda page: _page_key(page, templates, site_fp), str(out)
    )
    cache.set_page_plan(None)  # kept again once every page is written (page_changes.py)
    cache.commit()  # worker processes read bodies through their own connections
    rendered: dict[str, str] = {}  # path → key of the pages rendered
    show = _shower(config)
    done = 0
    parallel = selection.total >= PARALLEL_RENDER_MIN
    with render_pages.renderer(parallel, templates, site, out, config.state_dir, cache) as render:
        for batch in selection.batches():
            cache.set_inputs(batch.refreshed)
            done += batch.unchanged
            if batch.unchanged and progress:
                progress("render", done, selection.total)
            for page, key, why, inputs, written in render(batch.todo):
                done += 1
                page_inputs.let_go(page)  # (only its path and owner are read from here on)
                if isinstance(written, str):  # this speech's page failed: its old page (if any) stays
                    problems.append(_unrendered(show(page.owner), written))
                    broken.add(page.owner)
                    result.unrendered += 1
                else:
                    rendered[page.path] = key
                    cache.set_page(page.path, key, page.owner)
                    if inputs is not None:
                        cache.set_inputs([(page.path, inputs, key)])
                    result.written += written
                    if written and explain:
                        result.explain.append(f"wrote {page.path} ({why})")
                if progress:
                    progress("render", done, selection.total)
            views.forget()
    current = {p.path for p in pages}
    stale = [path for path, (_, owner) in known.items() if path not in current and not _is_broken(owner, broken)]
    for path in stale:
        remove_file(out, path)
        if explain:
            result.explain.append(f"removed {path} (its speech or listing no longer exists)")
    cache.drop_pages(stale)
    result.removed = len(stale)
    cache.set_page_plan(None if result.unrendered else page_inputs.kept(pages, scopes, known, rendered))


def _unrendered(shown: str, error: str) -> Problem:
    hint = "this is a bug in site-builder (the other pages were built): run again with SITE_BUILDER_DEBUG=1"
    return Problem(
        shown, None, None, f"its page could not be rendered: {error}", hint + " and report it with this file"
    )


PARALLEL_RENDER_MIN = 300  # below this, starting worker processes costs more than it saves


# -- search ------------------------------------------------------------------------------
def _find_reuse(config: SiteConfig, archive: Archive, bodies: _Bodies):
    """Passages found in more than one speech, and near-duplicate pairs (see reuse/)."""
    from .reuse import Doc, find_reuse

    docs = [Doc(s.source, s.digest) for s in archive.speeches]
    return find_reuse(docs, bodies.text, config.reuse_min_chars, config.state_dir / "reuse", bodies.peek, bodies.folded)


def _early_keywords(config: SiteConfig, docs: list):
    """The new or changed speeches' words for the related stage, segmented in a forked child
    while the reuse stage runs (related_early.py)."""
    from .related_early import EarlyKeywords

    return EarlyKeywords(docs, config.state_dir / "related") if docs else None


def _attach_related(archive: Archive, docs: list, config: SiteConfig, near: list, early=None) -> None:
    """Each speech's related speeches, never its near-duplicates (the same speech twice)."""
    if not docs:
        return
    from .related import compute_related

    exclude: dict[str, set[str]] = {}
    for a, b, _similarity in near:
        exclude.setdefault(a, set()).add(b)
        exclude.setdefault(b, set()).add(a)
    related = compute_related(
        docs, k=config.related_count, cache_dir=config.state_dir / "related", exclude=exclude, early=early
    )
    by_source = {s.source: s for s in archive.speeches}
    for s in archive.speeches:
        s.related = [by_source[r] for r in related.get(s.source, []) if r in by_source]


BACKGROUND_INDEX_MAX_PARSED = 200  # a build that parsed more speeches updates the indexes last, in-process
