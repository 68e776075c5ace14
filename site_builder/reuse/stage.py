"""The reuse stage of the build (and of ``site-builder reuse``): prints of new or changed speeches
only, the sorted tables patched, passages extended only around the keys those speeches had or
have, near-duplicate pairs recounted only for them.

The state (``reuse/state.pickle`` in the build's state folder) keeps each speech's id and digest,
both tables, the near-duplicate pairs and the passages found around each key. The answer equals
computing everything afresh (tested).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..blocks import TEXT_VERSION
from ..fileio import atomic_open
from ..search.analysis import fold_version, fold_with_offsets
from ..segments import seg_index
from . import cold
from .chars import Folded, Gather, Stale
from .cold import Spill, Texts, chunks
from .cold import near_pairs as cold_near_pairs
from .find import MAX_PLACES, Table, _lcp, extend, near_pairs
from .found import Found, Passage, Passages
from .layers import Layers
from .prints import LINE, distinct, folded_narrow, one_to_one, shape, speech_print

# 8: the passages' strings in UTF-16, their numbers narrow (found.py); 7: no anchors' keys by owner
# for a base under layers.BY_OWNER_ROWS rows; 6: the passages found in columns (found.py), not
# deflated; 5: no texts' store, sentences without positions
STATE_VERSION = 8
_LEADING = np.array([ord(c) for c in "。!?;,、:"], dtype=np.uint32)  # (folded: ！？；，： fold to !?;,:)
_IS_LEADING = np.zeros(max(_LEADING) + 1, dtype=bool)  # code point → is one of _LEADING (np.isin per run was slow)
_IS_LEADING[_LEADING] = True


def _not_leading(codes: np.ndarray) -> np.ndarray:
    """Where ``codes`` holds a character that a passage may start with (not one of _LEADING)."""
    small = codes < len(_IS_LEADING)
    small[small] = _IS_LEADING[codes[small]]
    return np.flatnonzero(~small)


STATE_FILE = "state.pickle"


@dataclass(frozen=True)
class Doc:
    source: str
    digest: str


@dataclass
class Reuse:
    passages: Sequence[Passage] = field(default_factory=list)  # (found.Passages: made when asked for)
    near: list[tuple[str, str, float]] = field(default_factory=list)  # (a, b, similarity), a < b
    seconds: dict = field(default_factory=dict)

    def of(self, source: str) -> list[Passage]:
        """The passages found in ``source``, in order of their first place."""
        if isinstance(self.passages, Passages):  # (from its columns: no passage made but these)
            return self.passages.of(source)
        if not hasattr(self, "_by_source"):
            self._by_source: dict[str, list[Passage]] = {}
            for p in self.passages:
                for s in dict.fromkeys(pl.source for pl in p.places):
                    self._by_source.setdefault(s, []).append(p)
        return self._by_source.get(source, [])


def _load(path: Path | None, params: tuple) -> dict:
    if path is None:
        return {}
    try:
        with open(path, "rb") as fh:
            state = pickle.loads(fh.read())
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError, KeyError, IndexError):
        return {}
    if not isinstance(state, dict) or state.get("params") != params or not state.keys() >= _PARTS:
        return {}
    return state


_PARTS = {"found", "folded", "anchors", "sentences", "ids", "next_id", "sizes", "near"}  # (_State.dump's)


def _save(path: Path, state: dict) -> None:
    """The state written atomically, pickled straight into the file (not as bytes first: ∝ archive)."""
    with atomic_open(path) as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)


def find_reuse(
    docs: Sequence[Doc],
    read: Callable[[str, str], str],
    min_chars: int,
    state_dir: Path | None = None,
    read_other: Callable[[str, str], str] | None = None,
    folded_other: Callable[[list[str]], Iterable[np.ndarray | None]] | None = None,
) -> Reuse:
    """Near-duplicate pairs and passages of at least ``min_chars`` folded characters found in
    more than one of ``docs`` (``read(source, digest)`` gives a speech's plain text; ``read_other``,
    if given, the same, for the texts read again to extend passages: the build's keeps nothing;
    ``folded_other(sources)``, if given, those texts folded, or None, from elsewhere: the build's
    reads the Whoosh index's text stores; each is checked)."""
    started = time.perf_counter()
    k, w = shape(min_chars)
    params = (STATE_VERSION, min_chars, k, w, MAX_PLACES, fold_version(), TEXT_VERSION)
    path = state_dir / STATE_FILE if state_dir is not None else None
    old = _load(path, params)
    try:
        st = _State(old, docs, state_dir)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):  # damaged, of this version: as none
        old, st = {}, _State({}, docs, state_dir)
    if not (st.anchors.whole and st.sentences.whole and st.found.whole):  # a base file is missing: start afresh
        old, st = {}, _State({}, docs, state_dir)
    result = Reuse()
    if len(st.dirty) or not old:
        st.quick = folded_other
        try:
            st.update(read, read_other or read, k, w, min_chars)
        except Stale:  # a plain text made otherwise under the same digest: start afresh
            st = _State({}, docs, state_dir)
            st.update(read, read_other or read, k, w, min_chars)
        if path is not None:
            _save(path, st.dump(params))
            st.remove_others()
    source = {i: s for s, (i, _d) in st.ids.items()}
    pairs = [(min(source[a], source[b]), max(source[a], source[b]), sim) for (a, b), sim in st.near.items()]
    result.near = sorted(pairs)
    result.passages = st.found.passages()
    result.seconds = {"reuse": round(time.perf_counter() - started, 3), "changed": len(st.changed)}
    return result


class _State:
    def __init__(self, old: dict, docs: Sequence[Doc], folder: Path | None):
        self.folded = Folded(folder, old.get("folded"))
        self.ids: dict[str, tuple[int, str]] = {}
        old_ids: dict[str, tuple[int, str]] = old.get("ids", {})
        next_id = old.get("next_id", 0)
        self.changed: list[tuple[int, Doc]] = []
        for doc in sorted(docs, key=lambda d: d.source):
            hit = old_ids.get(doc.source)
            if hit is None:
                hit, next_id = (next_id, doc.digest), next_id + 1
                self.changed.append((hit[0], doc))
            elif hit[1] != doc.digest:
                hit = (hit[0], doc.digest)
                self.changed.append((hit[0], doc))
            self.ids[doc.source] = hit
        self.next_id = next_id
        removed = [i for s, (i, _d) in old_ids.items() if s not in self.ids]
        gone = set(removed)
        self.removed = removed
        self.dirty = np.array(sorted([i for i, _d in self.changed] + removed), dtype=np.uint32)
        self.folder = folder
        self.anchors = Layers("anchors", folder, old.get("anchors"), np.uint32)
        self.sentences = Layers("sentences", folder, old.get("sentences"), np.uint64, positions=False, indexed=False)
        self.sizes: dict[int, int] = {i: n for i, n in old.get("sizes", {}).items() if i not in gone}
        self.near: dict[tuple[int, int], float] = old.get("near", {})
        self.found = Found(old.get("found"), folder)
        self.docs = {i: Doc(s, d) for s, (i, d) in self.ids.items()}
        self.quick: Callable[[list[str]], Iterable[np.ndarray | None]] | None = None  # (find_reuse's folded_other)
        self.fresh = np.zeros(0, dtype=np.uint32)  # the ids of the speeches printed in this step
        self.wanted = _Wanted()  # the sources asked of quick in this step, one at a time (_read)
        self.stream: Iterator[np.ndarray | None] | None = None  # its answers

    def dump(self, params: tuple) -> dict:
        keep = ("ids", "next_id", "sizes", "near")
        return {
            "params": params,
            "found": self.found.dump(),
            "folded": self.folded.known,
            "anchors": self.anchors.meta(),
            "sentences": self.sentences.meta(),
            **{name: getattr(self, name) for name in keep},
        }

    def remove_others(self) -> None:
        self.found.remove_others()
        self.folded.remove_others()
        self.anchors.remove_others()
        self.sentences.remove_others()
        if self.folder is not None:  # a killed cold build's partition files
            for old in self.folder.glob("spill-*"):
                old.unlink(missing_ok=True)

    def update(
        self, read: Callable[[str, str], str], again: Callable[[str, str], str], k: int, w: int, min_chars: int
    ) -> None:
        """The changed speeches' prints (their texts by ``read``), the tables patched, passages
        extended around their keys (the texts read again by ``again``)."""
        cold = self.anchors.base is None and not len(self.anchors.delta.key)
        empty = self.sentences.base is None and not len(self.sentences.delta.key)
        if cold and empty and len(self.changed) == len(self.ids) and self.folder is not None:
            self._cold(read, again, k, w, min_chars)
            return
        prints = {}
        for i in self.removed:
            self.folded.drop(i)
        for i, doc in self.changed:
            codes = folded_narrow(read(doc.source, doc.digest))
            prints[i] = speech_print(codes, k, w)
            self.folded.record(i, codes)
        affected = None if cold else self.anchors.keys_of(self.dirty)
        self.anchors.remove(self.dirty)
        self.anchors.add(Table.of(((i, p.keys, p.positions) for i, p in prints.items()), np.uint32))
        self.sentences.remove(self.dirty)
        self.sentences.add(
            Table.of(((i, p.sentences, np.zeros(len(p.sentences))) for i, p in prints.items()), np.uint64)
        )
        self.sizes.update({i: len(p.sentences) for i, p in prints.items()})
        dirty = set(self.dirty.tolist())
        self.near = {pair: sim for pair, sim in self.near.items() if not dirty & set(pair)}
        changed = self.fresh = np.array(sorted(prints), dtype=np.uint32)
        sentences = self.sentences.view(None if cold else self.sentences.keys_of(changed))
        self.near.update(near_pairs(sentences, self.sizes, None if cold else changed))
        if affected is not None and prints:
            affected = distinct(np.concatenate([affected, *(p.keys for p in prints.values())]))
        if len(self.found) and affected is not None:
            self.found.drop(affected)
        self._extend(affected, again, k, min_chars)
        self.anchors.settle(len(self.ids))
        self.sentences.settle(len(self.ids))

    def _cold(
        self, read: Callable[[str, str], str], again: Callable[[str, str], str], k: int, w: int, min_chars: int
    ) -> None:
        """Every speech afresh, in bounded memory: rows spilled to partition files and written
        as sorted bases (cold.py), the folded texts gathered as they are made (chars.py),
        passages and near-duplicate pairs found slice by slice."""
        folder = self.folder
        assert folder is not None
        for i in self.removed:
            self.folded.drop(i)
        anchors, sentences = Spill(folder, "anchors", np.uint32), Spill(folder, "sentences", np.uint64, False)
        gather = Gather(folder, scratch_min=0, breaks=True)  # (straight to the scratch file: none held)
        try:
            for i, doc in self.changed:
                codes = folded_narrow(read(doc.source, doc.digest))
                p = speech_print(codes, k, w)
                self.folded.recorded(i, gather.add(i, codes))
                anchors.add(i, p.keys, p.positions)
                sentences.add(i, p.sentences)
                self.sizes[i] = len(p.sentences)
            for spill, layers in ((anchors, self.anchors), (sentences, self.sentences)):
                name = layers.new_name(int(spill.counts.sum()) + spill.buffered)
                spill.write(name)
                layers.adopt(name)
            texts = Texts(*gather.finish(), gather.zeros())
        finally:
            anchors.remove()
            sentences.remove()
            gather.close()
        rows = self.sentences.base or Table.empty(np.uint64)
        self.near = cold_near_pairs(chunks(rows, cold.PAIR_ROWS), self.sizes, folder)
        base = self.anchors.base
        if base is not None and len(base.key):
            for table in chunks(base):
                self._extend_table(table, again, k, min_chars, texts)
            texts.release()

    def _extend(self, keys: np.ndarray | None, read: Callable[[str, str], str], k: int, min_chars: int) -> None:
        """Find the passages around ``keys`` (None: every key)."""
        table, have = self.anchors.view(keys), dict[int, np.ndarray]()
        try:
            if keys is not None:  # (a step's keys: most of their runs give no passage)
                table = self._likely(self._in_order(table), read, k, min_chars, have)
            self._extend_table(table, read, k, min_chars, have=have)
        finally:
            getattr(self.stream, "close", lambda: None)()
            self.stream = None

    def _in_order(self, table: Table) -> Table:
        """``table``'s rows of each key in the order a cold build writes them, by source, then
        position (a step's rows come after the base's, and settle keeps that order): ``extend``
        compares a key's rows with its first (keys collide: which k-gram is kept depends on it)
        and takes a passage's text at its first row in a place, so that the answers are a cold
        build's."""
        owners = distinct(table.owner)
        names = [self.docs[o].source for o in owners.tolist()]
        rank = np.empty(len(names), dtype=np.int64)
        rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        order = np.lexsort((table.pos, rank[np.searchsorted(owners, table.owner)], table.key))
        return Table(table.key[order], table.owner[order], table.pos[order])

    def _likely(self, table: Table, read: Callable[[str, str], str], k: int, min_chars: int, have: dict) -> Table:
        """``table`` without the runs that give no passage, as told by two rows' texts: ``extend``
        keeps the rows whose k-gram is the first row's and extends what they all share, so when
        another row (of a speech of this step if one is in the run: its text is read anyway) has
        the first's k-gram and shares with it fewer than ``min_chars`` characters around it, the
        run gives none. Only the texts of those two rows are read here (kept in ``have``)."""
        starts, lengths = table.runs()
        if not len(starts):
            return table
        run = np.repeat(np.arange(len(starts)), lengths)
        rows = seg_index(starts, lengths)
        probe = starts + 1  # the second row, or the first of a speech of this step after the first
        ours = np.flatnonzero(np.isin(table.owner[rows], self.fresh) & (rows > starts[run]))
        taken, at = np.unique(run[ours], return_index=True)
        probe[taken] = rows[ours[at]]
        pair = np.concatenate((starts, probe))
        owners = distinct(table.owner[pair])
        listed = owners.tolist()
        chars, offsets = self._read(listed, read)
        first = np.array([offsets[o][0] for o in listed], dtype=np.int64)
        where = first[np.searchsorted(owners, table.owner[pair])] + table.pos[pair].astype(np.int64)
        a, b = where[len(starts) :], where[: len(starts)]
        right = _lcp(chars, a, b, 1, 0)
        hopeless = (right >= k) & (right + _lcp(chars, a, b, -1, -1) < min_chars)
        have.update({o: chars[start : start + n] for o, (start, n) in offsets.items()})
        keep = seg_index(starts[~hopeless], lengths[~hopeless])
        return Table(table.key[keep], table.owner[keep], table.pos[keep])

    def _read(self, listed: list[int], read: Callable[[str, str], str], have: dict | None = None):
        """``Folded.texts`` of the owners ``listed``: those in ``have`` (owner → folded text) from
        there, the others from the Whoosh index's text store (``quick``) or their plain texts."""
        have = have or {}
        if self.stream is None and self.quick is not None:
            self.wanted = _Wanted()
            self.stream = iter(self.quick(self.wanted))

        def each():
            for o in listed:
                if o in have or self.stream is None:
                    yield have.get(o)
                else:
                    self.wanted.append(self.docs[o].source)
                    yield next(self.stream, None)

        return self.folded.texts(listed, lambda o: read(*self._doc(o)), each())

    def _extend_table(
        self,
        table: Table,
        read: Callable[[str, str], str],
        k: int,
        min_chars: int,
        texts: Texts | None = None,
        have: dict | None = None,
    ) -> None:
        """Find the passages around the keys of ``table`` (``texts``: every folded text, cold.Texts,
        else those of its owners made here, or taken from ``have``)."""
        starts, lengths = table.runs()
        if not len(starts):
            return
        rows = seg_index(starts, lengths)
        owner, pos = table.owner[rows], table.pos[rows].astype(np.int64)
        owners = distinct(owner)
        chars: np.ndarray | None = None
        lines: _Lines | Texts
        if texts is None:
            chars, offsets = self._read(owners.tolist(), read, have)
            first = np.array([offsets[o][0] for o in owners.tolist()], dtype=np.int64)
            lines, lcp = _Lines(chars, offsets), None
        else:  # every text, with where each starts by owner
            first, lines, lcp = texts.first[owners], texts, texts.lcp
        where = first[np.searchsorted(owners, owner)] + pos
        local = np.cumsum(lengths) - lengths
        extended = list(extend(chars, local, lengths, where, k, min_chars, lcp))
        lo = [int(where[kept[0]]) - left for _r, kept, left, _right in extended]
        hi = [int(where[kept[0]]) + right for _r, kept, _left, right in extended]
        if texts is not None:
            heads = texts.spans(lo, hi)
        else:
            assert chars is not None
            heads = [np.asarray(chars[a:b]) for a, b in zip(lo, hi)]
        found = []  # (key, folded text, the first place's (owner, start, end), places)
        for (run, kept, left, right), head in zip(extended, heads):
            starts_at = _not_leading(head)
            cut = int(starts_at[0]) if len(starts_at) else 0
            left -= cut  # a passage does not start with 。or ，
            if left + right < min_chars:
                continue
            places: dict[tuple[str, int], tuple[int, int, int]] = {}
            for o, p in zip(owner[kept].tolist(), pos[kept].tolist()):
                place = (self.docs[o].source, lines.paragraph(o, p))
                places.setdefault(place, (o, p - left, p + right))
            if len({src for src, _p in places}) >= 2:
                text = _text(head[cut:])
                found.append((int(table.key[starts[run]]), text, places[min(places)], tuple(sorted(places))))
        written = _written(self.docs, read, [span for _k, _t, span, _p in found])
        for key, folded, span, where_found in found:
            self.found.add(key, folded, written[span], where_found)

    def _doc(self, i: int) -> tuple[str, str]:
        doc = self.docs[i]
        return doc.source, doc.digest


class _Wanted(list):
    """The sources asked of ``folded_other`` (``_State.quick``), each appended as it is wanted:
    it takes them one at a time, as it answers, so one reader (one read of the Whoosh index's
    summary) serves the whole step."""

    def __iter__(self):
        while self:
            yield self.pop(0)


def _text(codes: np.ndarray) -> str:
    return codes.astype(np.uint32).tobytes().decode("utf-32-le")


class _Lines:
    """Where the lines (paragraphs) of each speech begin in the texts, found once per speech."""

    def __init__(self, chars: np.ndarray, offsets: dict[int, tuple[int, int]]):
        self.chars, self.offsets = chars, offsets
        self.breaks: dict[int, np.ndarray] = {}

    def paragraph(self, owner: int, pos: int) -> int:
        """n of #p<n> of position ``pos`` of a speech's folded text."""
        breaks = self.breaks.get(owner)
        if breaks is None:
            start, n = self.offsets[owner]
            breaks = self.breaks[owner] = np.flatnonzero(np.asarray(self.chars[start : start + n]) == 0)
        return int(np.searchsorted(breaks, pos)) + 1


def _written(docs: dict[int, Doc], read: Callable[[str, str], str], spans: list) -> dict[tuple[int, int, int], str]:
    """{(owner, start, end): the span as written} for folded spans; each text is read once."""
    out: dict[tuple[int, int, int], str] = {}
    by_owner: dict[int, list[tuple[int, int]]] = {}
    for o, s, e in spans:
        by_owner.setdefault(o, []).append((s, e))
    for o, wanted in sorted(by_owner.items()):
        doc = docs[o]
        plain = read(doc.source, doc.digest)
        offsets = None if one_to_one(plain) else fold_with_offsets(plain.replace("\n", LINE))[1]
        for s, e in wanted:
            out[(o, s, e)] = plain[offsets[s] : offsets[e]] if offsets else plain[s:e]
    return out
