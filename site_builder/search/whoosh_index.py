"""The Whoosh full-text index of the archive (the only module that imports ``whoosh``).

How search works
================

Every speech is indexed by the keys of ``analysis.grams(search_text)``: each character and
each pair of adjacent characters of the folded title and body, with how often it occurs.
A query term of one or two characters is answered from its key alone; a longer term selects
the speeches that have all of its pairs and each of those is then checked against the
stored folded text (``term in search_text``). The hits are therefore exactly the speeches
for which ``query.parse(q).matches(search_text)`` holds — no more, no fewer.

Ranking, occurrences, KWIC, trend
---------------------------------

The formula and the per-speech numbers it needs are in ``search/ranking.py`` (the browser ranks with the same
numbers); occurrences, the concordance and the trend are defined in ``search/passages.py``. In short::

    score(d) = Σ_t idf(t) · ( tf·(k1+1) / (tf + k1·(1 − b + b·max(len, avglen)/avglen))
                              + 2·[t in the title] + 1·[t in a heading] )

with ``tf`` the occurrences of ``t`` in the body (exact: the key's count minus the title's for
terms of one or two characters, else counted in the stored text), ``len`` the folded body's length,
``idf`` over the smallest document frequency of the term's keys. The index keeps per speech, for
this: the folded title, the folded text of its headings and the body's length.

Filters and facets: ``year`` ("2020" or "2018-2020", ``query.parse_year``), ``meeting_type``,
``theme``, ``speaker`` and ``organization`` (exact values) restrict the hits. ``total``, the facet
counts (per year, meeting type, theme, speaker, organisation) and the trend are computed over the
whole hit set *with the filters applied* (as Pagefind does); a speech with several themes counts
once under each. ``sort`` is ``relevance`` (default), ``newest`` or ``oldest``; ``offset`` and
``limit`` page the hits, or with ``kwic=True`` the occurrences.

Answers (``search()``, also ``site-builder search --json`` and ``/api/search``)::

    {"query", "total", "occurrences_total", "sort", "offset",
     "hits": [{"source", "url", "title", "date", "year", "meeting_type", "themes", "speaker",
               "organization", "score", "occurrences", "excerpt"}],
     "facets": {"year", "meeting_type", "theme", "speaker", "organization"},
     "trend": [{"year", "speeches", "occurrences", "per_10k_chars"}]}

and with ``kwic=True`` ``"occurrences": [{"source", "url", "title", "date", "left", "match",
"right"}]`` (``url`` ending in ``#p<n>``, the paragraph) in place of ``"hits"``. A query that finds
nothing while the same query without the spaces inside its phrases finds something carries
``"suggestion": {"query", "total", "message": "去掉空格后找到 4 篇"}``.

Excerpts: up to two passages of about 80 characters of the body around the matches, the
matched characters (and only those) wrapped in ``<mark>``, everything else HTML-escaped.

On disk (``index_dir``)
=======================

A normal Whoosh index (``_MAIN_<generation>.toc`` + segment files), schema:

* ``id``  ``ID(unique, stored)`` — the source path; ``delete_by_term("id", …)`` works on it.
* ``g``   the gram keys; postings without positions, value = one byte (the key's count in the
  speech, capped at 255), weight 1. Written in bulk by this module (Whoosh's per-token
  writer costs ~16 µs per token; the bulk writer builds the same W3 posting blocks directly).
* ``url title date year meeting_type themes fingerprint``  ``STORED``.

Beside each segment, ``gt_<segment id>.bin`` holds, per document, the folded search text
(UTF-16-LE, searched with ``mmap.find`` when a long term is verified) and the characters
that folding changed (to restore the original body for excerpts), plus the documents'
metadata (the stored fields, then speaker, organisation and the folded text of the headings,
``analysis.SEPARATOR`` between two). It is written (temp file, fsync, rename) before the TOC that refers to its
segment, so a build killed at any point leaves the previous generation complete and
searchable; files of abandoned segments are removed by the next update.
``gt_summary_<generation>.marshal`` holds what opening that generation needs of every speech
(``search/whoosh_summary.py``), written by ``update`` after its commit (and by a search that finds
it missing or not matching): a search process opens a 10,000-speech index in ≈ 0.05 s, not 0.25 s.

Updating
========

``update(docs)`` compares each speech's fingerprint with the indexed one. When at least
half of the archive is new or changed, everything is written afresh (segments of up to
5,000 speeches, in worker processes when there are several) and the old segments are dropped; otherwise the changed and
removed speeches are deleted (``delete_by_term("id", …)``), the new versions written as a
new segment, and segments are merged log-structurally (four of a similar size into one;
mostly-deleted ones rewritten). Either way the answers equal those of a clean build.
Searchers keep their open generation and switch to a newer one at their next query.

Whoosh distribution: ``whoosh-reloaded`` 2.7.5 (the 2.7.4 code base with its Python 3.12+
warnings fixed); this module uses Whoosh's segments, term index, W3 posting blocks, deletions
and atomic TOC commits, so any fork with the 2.7 file format works.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path

from whoosh import index as windex
from whoosh.filedb.filestore import FileStorage

from ..fileio import TEMP_NAME, write_atomic
from . import query as querymod
from . import ranking, whoosh_compat
from . import whoosh_summary as summary

# The parts in search/whoosh_*.py, under the names they had here (tests and tools use them).
from .whoosh_evaluate import _PROOF_MIN, _Answer, _TermInfo  # noqa: F401
from .whoosh_excerpts import _PASSAGE, _excerpt  # noqa: F401
from .whoosh_filters import _Allowed, _Filters
from .whoosh_records import (  # noqa: F401
    _VERSION_FILE,
    FORMAT_VERSION,
    GRAM_FIELD,
    ID_FIELD,
    INDEXNAME,
    IndexDoc,
    Record,
    _grams,
    _patches,
    _record_from_doc,
    _store_name,
    _unfold,
    analyse_doc,
    heading_text,
)
from .whoosh_segments import (  # noqa: F401
    _PARALLEL_MIN,
    _SEGMENT_DOCS,
    GramCounts,
    GramField,
    _planned_segments,
    _schema,
    _TermWriter,
    _write_segment,
    _write_segments,
)
from .whoosh_snapshot import _date_key, _Memo, _read_postings, _Scan, _Snapshot, _Store  # noqa: F401
from .whoosh_summary import summary_path
from .whoosh_summary_update import indexed_in, write_computed, write_derived

__all__ = ["IndexDoc", "SearchIndex", "FORMAT_VERSION"]

# --------------------------------------------------------------------------------------
# The index


_Writer = whoosh_compat.CommitWriter  # the old name (tests patch it)


class _Progress:
    """Reports the number of documents (re)indexed so far, never more than ``todo``."""

    def __init__(self, report: Callable[[int], None] | None, todo: int):
        self.report, self.todo, self.done = report, todo, 0

    def add(self, k: int) -> None:
        if k:
            self.done += k
            if self.report is not None:
                self.report(min(self.done, self.todo))


class SearchIndex:
    """Whoosh index of the archive: ``update()`` at build time, ``search()`` at query time."""

    def __init__(self, index_dir: Path, *, workers: int | None = None):
        self.index_dir = Path(index_dir)
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()

    # -- state

    def exists(self) -> bool:
        """A complete index is here: its version file, written after the first update that
        finished (a first build killed half-way leaves none, so it is not answered from)."""
        d = self.index_dir
        if not d.is_dir():
            return False
        try:
            info = json.loads((d / _VERSION_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return False
        return info.get("format") == FORMAT_VERSION and windex.exists_in(str(d), INDEXNAME)

    def close(self) -> None:
        with self._lock:
            if self._snap is not None:
                self._snap.close()
                self._snap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing

    def _prepare_dir(self) -> None:
        d = self.index_dir
        if d.is_dir() and any(d.iterdir()) and not self.exists():
            # Another format (or a damaged index): start again — but only in a folder that
            # holds nothing except an index (never wipe a folder given by mistake).
            ours = re.compile(r"(_?MAIN[_.].*|gt_.*|site_builder_index\.json(\.tmp)?)")
            strangers = [p.name for p in d.iterdir() if not (ours.fullmatch(p.name) or TEMP_NAME.fullmatch(p.name))]
            if strangers:
                raise FileExistsError(
                    f"{d} is not empty and does not hold a search index "
                    f"(found {strangers[0]!r}); choose an empty folder for the index"
                )
            shutil.rmtree(d)
        d.mkdir(parents=True, exist_ok=True)
        if not windex.exists_in(str(d), INDEXNAME):
            windex.create_in(str(d), _schema(), indexname=INDEXNAME)

    def _mark_complete(self) -> None:
        """Written last, once: until then ``exists()`` is False ("no search index, build first")."""
        path = self.index_dir / _VERSION_FILE
        if not path.exists():
            write_atomic(path, json.dumps({"format": FORMAT_VERSION}), fsync=True)

    def update(self, docs: Sequence[IndexDoc], progress: Callable[[int], None] | None = None) -> dict:
        """Make the index hold exactly `docs` (the full current set): add new, re-index changed (fingerprint), delete missing. Returns {"added": n, "updated": n, "removed": n, "unchanged": n}.

        ``progress`` is called with the number of documents (re)indexed so far.
        """
        docs = list(docs)
        by_id: dict[str, IndexDoc] = {}
        for d in docs:
            if not isinstance(d, IndexDoc):
                raise TypeError(f"update() takes IndexDoc objects, not {type(d).__name__}")
            if d.id in by_id:
                raise ValueError(f"two documents have the same id {d.id!r}")
            by_id[d.id] = d
        self._prepare_dir()
        storage = FileStorage(str(self.index_dir))
        ix = windex.FileIndex(storage, indexname=INDEXNAME)
        try:
            writer = _Writer(ix, timeout=60.0, compound=False)
        except windex.LockError:
            raise RuntimeError(
                f"the search index in {self.index_dir} is being updated by another process "
                f"(waited 60 s); try again when that build has finished"
            ) from None
        previous = None
        try:
            self._clean_stores(writer.segments)
            previous = summary.load_latest(self.index_dir)  # (its file goes with the commit, not its mapping)
            stores: dict = {}
            try:
                stats = self._apply(storage, writer, docs, by_id, stores, _Progress(progress, len(docs)), previous)
            finally:
                for st in stores.values():
                    st.close()
            self._mark_complete()
            self._summarise(previous)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        finally:
            if previous is not None:
                summary.close(previous)
        return stats

    def _summarise(self, previous: dict | None) -> None:
        """Write what opening this generation needs (``search/whoosh_summary``) now, once, rather
        than in the first search (a snapshot computes and writes it when it is missing): from the
        ``previous`` generation's summary and the new segments' stores when it can (one changed
        speech reads one store, not all), else from the stores, one at a time (``write_computed``)."""
        try:
            toc = windex.TOC.read(FileStorage(str(self.index_dir), readonly=True), INDEXNAME)
        except (OSError, ValueError, EOFError):
            toc = None
        opener = self._open_store
        if toc is not None and (
            write_derived(self.index_dir, toc, previous, opener) or write_computed(self.index_dir, toc, opener)
        ):
            return
        try:
            _Snapshot(self.index_dir).close()
        except (OSError, ValueError, EOFError):
            pass  # a damaged index: searching it says so, the next update rebuilds it

    def _indexed(self, writer, stores: dict, previous: dict | None) -> dict[str, tuple]:
        """id → (fingerprint, segment, local docnum) of every live document; {} when the index is
        damaged (it is then rebuilt from scratch). Read from the ``previous`` generation's summary
        when it describes these segments, else from the segments' text stores (opened into ``stores``)."""
        current: dict[str, tuple] = {}
        try:
            if previous is not None and summary.describes(previous, self.index_dir, writer.segments):
                return indexed_in(previous, writer.segments)
            for seg in writer.segments:
                st = stores[seg.segment_id()] = self._open_store(seg.segment_id())
                for i, m in enumerate(st.meta):
                    if not seg.is_deleted(i):
                        current[m[0]] = (m[7], seg, i)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, *summary.ERRORS):
            return {}
        return current

    def _apply(
        self, storage, writer, docs: list, by_id: dict, stores: dict, progress: _Progress, previous: dict | None
    ) -> dict:
        """Write what changed (everything afresh when most did) and commit; return the counts."""
        current = self._indexed(writer, stores, previous)
        added = [d for d in docs if d.id not in current]
        changed = [d for d in docs if d.id in current and current[d.id][0] != d.fingerprint]
        removed = [i for i in current if i not in by_id]
        stats = {
            "added": len(added),
            "updated": len(changed),
            "removed": len(removed),
            "unchanged": len(docs) - len(added) - len(changed),
        }
        if not added and not changed and not removed:
            writer.cancel()
            return stats  # update() marks it complete: e.g. the first build of an archive with no speech
        n_change = len(added) + len(changed) + len(removed)
        progress.todo = len(added) + len(changed)
        if not current or n_change * 2 >= max(len(docs), len(current)):
            # Mostly new: write everything afresh (in parallel) and drop the old segments.
            progress.todo = len(docs)
            segs = _write_segments(storage, self.index_dir, docs, progress.add, self.workers)
            writer.commit_segments(segs, self._clean_stores)
        else:
            for doc_id in chain((d.id for d in changed), removed):
                _fingerprint, seg, i = current[doc_id]
                seg.delete_document(i)  # (delete_by_term(ID_FIELD, id) looks it up in every segment)
            new = _write_segments(storage, self.index_dir, added + changed, progress.add, self.workers)
            segs = self._merge(storage, writer.segments + new, stores)
            writer.commit_segments(segs, self._clean_stores)
        return stats

    def _merge(self, storage, segs: list, stores: dict) -> list:
        """Log-structured merging: rewrite segments that are mostly deleted, and merge any
        four or more segments of the same size tier (powers of 4 of their live documents)
        when that gives fewer segments.

        It terminates: a rewrite of mostly-deleted segments lowers the number of deleted
        documents (its output has none), and a tier merge never raises it and lowers the number
        of segments. Merging without that last condition looped for ever once four segments of
        ``_SEGMENT_DOCS`` documents (an archive of 20,000) shared a tier: merged, they were
        written back as four segments of ``_SEGMENT_DOCS`` (issue #15)."""
        segs = [s for s in segs if s.doc_count_all() - s.deleted_count() > 0]

        def live(s):
            return s.doc_count_all() - s.deleted_count()

        def store(s):
            sid = s.segment_id()
            return stores[sid] if sid in stores else stores.setdefault(sid, self._open_store(sid))

        while True:
            group = [s for s in segs if s.deleted_count() > live(s)]
            if not group:
                tiers = defaultdict(list)
                for s in segs:
                    tiers[int(math.log(max(live(s), 1), 4))].append(s)
                group = next(
                    (
                        g
                        for _t, g in sorted(tiers.items())
                        if len(g) >= 4 and _planned_segments(sum(map(live, g)), self.workers) < len(g)
                    ),
                    [],
                )
            if not group:
                return segs
            records: list = []
            for s in group:
                st = store(s)
                records.extend(st.record(i) for i in range(st.n) if not s.is_deleted(i))
            merged = _write_segments(storage, self.index_dir, records, lambda k: None, self.workers)
            gid = {s.segment_id() for s in group}
            pos = min(i for i, s in enumerate(segs) if s.segment_id() in gid)
            rest = [s for s in segs if s.segment_id() not in gid]
            segs = rest[:pos] + merged + rest[pos:]

    def _open_store(self, sid: str) -> _Store:
        return _Store.open(self.index_dir / _store_name(sid))

    def _clean_stores(self, segments) -> None:
        keep = {_store_name(s.segment_id()) for s in segments}
        try:
            gen = whoosh_compat.latest_generation(FileStorage(str(self.index_dir), readonly=True), INDEXNAME)
            keep.add(summary_path(self.index_dir, gen).name)
        except OSError:
            pass
        stores = chain(self.index_dir.glob("gt_*.bin*"), self.index_dir.glob("gt_summary_*"))
        temps = (p for p in self.index_dir.glob(".tmp-*") if TEMP_NAME.fullmatch(p.name))  # of a killed build
        for p in chain(stores, temps):
            if p.name not in keep:
                try:
                    p.unlink()
                except OSError:
                    pass

    # -- searching

    def _snapshot(self) -> _Snapshot:
        """The open snapshot, reopened when a newer generation has been committed."""
        if self._snap is not None:
            try:
                gen = whoosh_compat.latest_generation(FileStorage(str(self.index_dir), readonly=True), INDEXNAME)
            except OSError:
                gen = None
            if gen == self._snap.generation:
                return self._snap
        if not self.exists():
            raise FileNotFoundError(f"no search index in {self.index_dir}: run `site-builder build` first")
        last_error = None
        for _attempt in range(5):
            try:
                snap = _Snapshot(self.index_dir)
                break
            except (OSError, ValueError, EOFError) as e:  # a commit raced with us: retry
                last_error = e
        else:
            raise last_error  # type: ignore[misc]
        if self._snap is not None:
            self._snap.close()
        self._snap = snap
        return snap

    def search(
        self,
        query: str,
        *,
        year: str | None = None,
        meeting_type: str | None = None,
        theme: str | None = None,
        speaker: str | None = None,
        organization: str | None = None,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        kwic: bool = False,
    ) -> dict:
        """The answer as JSON-able data (see the module docstring). Raises query.QueryError for a
        malformed query and query.FilterError (a ValueError) for a bad year or sort."""
        parsed = querymod.parse(query)
        years = querymod.parse_year(year)
        if sort not in ranking.SORTS:
            raise querymod.FilterError(f"排序只能是 relevance、newest 或 oldest，而不是“{sort}”", "bad_sort")
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a whole number ≥ 0, not {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a whole number ≥ 0, not {offset!r}")
        filters = _Filters(years, meeting_type, theme, speaker, organization)
        with self._lock:
            snap = self._snapshot()
            with snap.lock:
                hits, infos = self._hits(snap, parsed, filters)
                result = _Answer(snap, parsed, hits, infos, filters, sort).result(limit, offset, kwic)
                if not hits:
                    alt = parsed.despaced()
                    found = len(self._hits(snap, alt, filters, counting=False)[0]) if alt is not None else 0
                    if found and alt is not None:
                        result["suggestion"] = {
                            "query": alt.raw,
                            "total": found,
                            "message": f"去掉空格后找到 {found} 篇",
                        }
                return result

    def _hits(self, snap: _Snapshot, parsed, filters: _Filters, counting: bool = True) -> tuple[set[int], dict]:
        """The speeches that match the query and pass the filters, and what was learnt of each term."""
        cache: dict[str, dict] = {}
        infos: dict[str, _TermInfo] = {}

        def info(t: str) -> _TermInfo:
            ti = infos.get(t)
            if ti is None:
                ti = infos[t] = _TermInfo(t, snap, cache)
            return ti

        groups = [[info(t) for t in g] for g in parsed.groups]
        # Cheap groups first (only exact terms: no verification), then the smallest; later
        # groups verify only within the hits so far.
        groups.sort(key=lambda g: (not all(ti.exact for ti in g), sum(ti.n_cand for ti in g)))
        hits: set[int] | _Allowed | None = filters.allowed(snap)  # None: no filter
        for g in groups:
            found: set[int] = set()
            for ti in g:
                found |= ti.docs(snap, hits, counting)
            hits = found if hits is None else (hits & found)
            if not hits:
                break
        hits = hits if isinstance(hits, set) else set()  # a set after the first group (a query has one)
        for t in parsed.excluded:
            if not hits:
                break
            hits -= info(t).docs(snap, hits)
        return hits, infos
