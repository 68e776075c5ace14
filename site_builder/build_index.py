"""The search-index stage of the build: Whoosh for the CLI and server, the static index for the
browser; in a forked child beside the pages when the update is small (see ``IndexUpdate``)."""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path

from . import collector
from .build_support import BuildResult, Clock
from .cache import BuildCache
from .config import SiteConfig
from .errors import SiteBuilderError
from .model import Archive, IndexDoc
from .workers import Child
from .writer import WriteError, os_error_message


class Bodies:
    """Where the index docs read their text: the build cache, or in the child process that
    updates the indexes its own read-only connection (a SQLite connection must not cross a fork).

    Four stages read every changed speech's text (reuse, related, Whoosh, the static index) and
    two its headings: the texts read first are kept, up to ``KEEP_CHARS`` characters in all (a
    cold build of 1,000 speeches keeps them all and inflates each body once, not four times),
    until the related speeches are found (``forget``), and every speech's heading numbers."""

    KEEP_CHARS = 1 << 25
    #: a body's HTML of more characters than this is read through a connection of its own, closed
    #: once read: ``BuildCache.body`` keeps the last few bodies it inflated, HTML and text (#15: a 50
    #: MB speech's, ≈ 80 MB, held to the end of the index child)
    LONG_HTML = 1 << 22

    def __init__(self, cache: BuildCache):
        self.cache = cache
        self._texts: dict[tuple[str, str], str] = {}
        self._kept = 0
        self._headings: dict[tuple[str, str], tuple[int, ...]] = {}
        self._reader: BuildCache | None = None  # (where the headings are read: see LONG_HTML)
        self._last = False  # (see last_reads)

    def text(self, source: str, digest: str) -> str:
        key = (source, digest)
        found = self._texts.pop(key, None) if self._last else self._texts.get(key)
        if found is None:
            found = self.cache.text(source, digest)
            if self._kept + len(found) <= self.KEEP_CHARS:
                self._texts[key] = found
                self._kept += len(found)
        return found

    def last_reads(self) -> None:
        """From now on a kept text is given once more and let go of, and none is kept: in the index
        child, once the Whoosh index has read the texts, the static index reads each once (#15: a
        50 MB speech's text, ≈ 34 MB, was held to the end of the child)."""
        self._last = True
        self._kept = self.KEEP_CHARS

    def forget(self) -> None:
        """Let go of the texts kept: the pages read none, the Whoosh index's workers read theirs
        from the cache and the static index reads each text once."""
        self._texts.clear()
        self._kept = self.KEEP_CHARS  # (none kept from now on)

    def peek(self, source: str, digest: str) -> str:
        """The text, as ``text`` gives it, but not kept when it was not already: the reuse stage
        reads the texts of unchanged speeches that share passages with changed ones, which no
        other stage reads."""
        found = self._texts.get((source, digest))
        return found if found is not None else self.cache.text(source, digest)

    def folded(self, sources: list[str]):
        """For each of ``sources``: its folded text as the Whoosh index's text store holds it from
        the last build, or None (``whoosh_summary.folded_bodies``; the reuse stage checks each)."""
        from .search.whoosh_summary import folded_bodies

        return folded_bodies(self.cache.path.parent / "whoosh", sources)

    def headings(self, source: str, digest: str) -> tuple[int, ...]:
        """The numbers of the plain text's lines that are headings (from the cached body HTML)."""
        key = (source, digest)
        found = self._headings.get(key)
        if found is None:
            from .blocks import heading_lines

            if self._reader is None:
                self._reader = BuildCache(self.cache.path.parent, readonly=True)
            html = self._reader.body(source, digest)[0]
            found = self._headings[key] = heading_lines(html)
            if len(html) > self.LONG_HTML:
                self._reader.close()
                self._reader = None
        return found

    def close(self) -> None:
        """Close the connection the headings were read through (the cache is the build's)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def detach(self, cache: BuildCache) -> None:
        """In a forked child: read from ``cache`` (its own connection) from now on, none of the parent's."""
        self.cache = cache
        self._reader = None


_WORKER_CACHES: dict[str, BuildCache] = {}


class CachedDoc(IndexDoc):
    """An index doc as a worker process of the Whoosh index gets it (``LazyDoc.detached``): without
    its text, which the worker reads from the build cache through its own read-only connection."""

    _state: str  # the build's state folder
    _digest: str

    def _cache(self) -> BuildCache:
        cache = _WORKER_CACHES.get(self._state)
        if cache is None:
            cache = _WORKER_CACHES[self._state] = BuildCache(Path(self._state), readonly=True)
        return cache

    @property
    def body(self) -> str:  # (the whole body, HTML too: the headings are read from it next)
        return self._cache().body(self.id, self._digest)[1]

    @property
    def headings(self) -> tuple[int, ...]:
        from .blocks import heading_lines

        return heading_lines(self._cache().body(self.id, self._digest)[0])


def index_docs(archive: Archive, bodies: Bodies) -> list:
    """One IndexDoc per speech; the body text is read from the cache only if an index asks
    for it (they do so only for new or changed speeches), which keeps one-file builds cheap."""
    from .blocks import TEXT_VERSION

    class LazyDoc(IndexDoc):
        _digest: str  # the source's digest (set below, with the fields)

        @property
        def body(self) -> str:
            return bodies.text(self.id, self._digest)

        @property
        def headings(self) -> tuple[int, ...]:
            return bodies.headings(self.id, self._digest)

        def detached(self) -> CachedDoc:
            """This doc without its text, for a worker process that reads it from the cache."""
            doc = object.__new__(CachedDoc)
            doc.__dict__.update(self.__dict__, _state=str(bodies.cache.path.parent))
            return doc

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
    new, sha1 = object.__new__, hashlib.sha1
    for s in archive.speeches:
        doc = new(LazyDoc)
        m = s.meta
        # (the frozen dataclass's fields set in its __dict__ at once: 10,000 docs in 0.02 s, not 0.06)
        doc.__dict__.update(
            id=s.source,
            url=s.url,
            title=m.title,
            date=m.date.iso(),
            year=m.date.year,
            meeting_type=m.meeting_type,
            themes=tuple(m.themes),
            speaker=m.speaker or "",
            organization=m.organization or "",
            # TEXT_VERSION: a new way of making the plain text re-indexes every speech
            fingerprint=sha1(f"{s.digest}\0{s.url}\0{s.source}\0{TEXT_VERSION}".encode()).hexdigest(),
            _digest=s.digest,
        )
        docs.append(doc)
    return docs


class IndexUpdate:
    """Updates both search indexes: in a forked child process, beside the related speeches and
    the pages, when the update is small (few speeches parsed) and forking is safe (this process
    runs no other thread); otherwise in ``finish``, after the pages, as one more stage.

    The child inherits the build lock's file, so another build waits for it too; a child killed
    or crashed is an error of this build (the indexes stay crash-safe by themselves)."""

    def __init__(self, config: SiteConfig, docs: list, bodies: Bodies, background: bool):
        self.config, self.docs, self.bodies = config, docs, bodies
        self.child: Child | None = None
        if background and Child.allowed():
            self._start()

    def _start(self) -> None:
        # numpy, which both the static index (here, in the child) and this process's next stages
        # (reuse, the pages' plan) import: imported once, before the fork, not in each (#15: 0.12 s
        # CPU of the child's at 10,000 speeches). Its native threads (OpenBLAS) are not Python
        # threads; they register pthread_atfork handlers (workers.py).
        import numpy  # noqa: F401

        self.child = Child(self._in_child)

    def _in_child(self) -> bytes:
        """The child's work: update the indexes, give back (status, …)."""
        self.bodies.detach(BuildCache(self.config.state_dir, readonly=True))
        timings: dict = {}
        payload: tuple
        try:
            payload = ("ok", _update_indexes(self.config, self.docs, Clock(timings), self.bodies.last_reads), timings)
            t = os.times()  # (this child's CPU since the fork, and its workers')
            timings["its CPU"] = t.user + t.system + t.children_user + t.children_system
        except SiteBuilderError as err:
            payload = ("error", str(err), err.exit_code)
        except BaseException as err:  # reported by the parent
            import traceback

            payload = (
                "crash",
                f"{type(err).__name__}: {err} (while updating the search indexes)",
                traceback.format_exc(),
            )
        return pickle.dumps(payload)

    @property
    def pid(self) -> int | None:
        """The child's process id while it is not waited for."""
        return self.child.pid if self.child is not None else None

    def _wait(self):
        assert self.child is not None
        data = self.child.answer()
        return pickle.loads(data) if data else ("crash", "the process updating the search indexes died", None)

    def compact(self) -> None:
        """Once the model is let go of: the docs made afresh, sharing no object with the model, or
        none kept when a child updates the indexes (it has its own). A doc held the model's strings
        (its source, title, digest, meeting type …), allocated between the parse's, which kept
        most of the parse's memory arenas from going back to the system (#15)."""
        if self.pid is not None or not self.docs:
            self.docs = []
            return
        cls, keys = type(self.docs[0]), tuple(self.docs[0].__dict__)
        if any(type(d) is not cls or tuple(d.__dict__) != keys for d in self.docs):
            # index_docs makes them all of one class, with the same fields in the same order; a doc
            # of another kind would be made afresh as this class, wrongly: a bug, said (also under -O)
            raise AssertionError("IndexUpdate.compact: index docs of two kinds (index_docs makes one)")
        same: dict = {}  # one object for equal values (meeting types, themes, speakers …: marshal keeps it one)
        packed = marshal.dumps([tuple(same.setdefault(v, v) for v in d.__dict__.values()) for d in self.docs])
        del same
        self.docs = []  # (the last reference: the build holds none)
        collector.release()
        new = object.__new__
        docs = self.docs
        for row in marshal.loads(packed):
            doc = new(cls)
            doc.__dict__.update(zip(keys, row))
            docs.append(doc)

    def abandon(self) -> None:
        """The build failed: let a running update finish (it is consistent on its own)."""
        if self.pid is not None:
            self._wait()

    def finish(self, clock: Clock, result: BuildResult) -> tuple[dict, dict[str, str]]:
        """(stats, {source: why} of the speeches that could not be indexed)."""
        if self.pid is None:
            docs, self.docs = self.docs, []
            try:
                return _update_indexes(self.config, docs, clock)
            finally:
                self.bodies.close()
        waited = time.perf_counter()
        status, value, extra = self._wait()
        waited = time.perf_counter() - waited
        clock("search indexes")
        if status == "ok":
            result.explain.append(
                "search indexes updated beside the related speeches and pages: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in extra.items())
                + f"; this process waited {waited:.2f} s for them"
            )
            return value
        if status == "error":
            err = SiteBuilderError(value)
            err.exit_code = extra
            raise err
        # A bug: one line from the CLI; with SITE_BUILDER_DEBUG=1 the child's traceback too.
        raise RuntimeError(value + (f"\n{extra}" if extra and os.environ.get("SITE_BUILDER_DEBUG") else ""))


def _update_indexes(
    config: SiteConfig, docs: list, clock, between: Callable[[], None] | None = None
) -> tuple[dict, dict[str, str]]:
    """Update both indexes; return (stats, {source: why} of speeches left out of them). ``between``,
    when given, is called after the Whoosh index and before the static one.

    A speech whose text the indexers cannot take is left out and reported, and the others are
    indexed: when an update fails with an unexpected error, each speech is tried alone."""
    try:
        return _update_both(config, docs, clock, between), {}
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
    from .search.whoosh_index import analyse_doc as whoosh_analyse
    from .static_search.analyser import analyse as static_analyse

    bad = {}
    for doc in docs:
        try:
            whoosh_analyse(doc)
            static_analyse(doc)
        except Exception as err:
            bad[doc.id] = f"{type(err).__name__}: {err}"
    return bad


def _update_both(config: SiteConfig, docs: list, clock, between: Callable[[], None] | None = None) -> dict:
    from .search.whoosh_index import SearchIndex
    from .static_search import StaticIndex

    stats: dict = {}
    index = SearchIndex(config.state_dir / "whoosh")
    try:
        stats["whoosh"] = index.update(docs)
    except OSError as err:
        raise WriteError(os_error_message(err, config.state_dir / "whoosh", "the search index")) from None
    finally:
        index.close()
    collector.release()  # (what the Whoosh update freed, before the static index's workers start)
    clock("whoosh index")
    if between is not None:
        between()
    try:
        stats["static"] = StaticIndex(config.state_dir, config.output).update(docs)
    except OSError as err:
        raise WriteError(os_error_message(err, config.output / "search", "the in-browser search index")) from None
    collector.release()  # (the buckets and texts the static index wrote, freed in the middle of the heap)
    clock("static index")
    return stats
