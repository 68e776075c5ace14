"""The passages found around each key, kept between builds in columns (#15: a build that changed
one speech drops and adds the entries of its keys, and reads and writes the others as a few
arrays, without a Python object per place).

An entry is what was found around one key: (key, folded text, the text as written at its first
place, its places (source, paragraph) sorted). The passages are the entries grouped by folded
text: every place of any of them, the text of the one whose first place comes first (then the
smallest key: a clean build's order), in order of their first place (``passages``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np

from ..segments import seg_index


class Place(NamedTuple):
    source: str
    paragraph: int  # n of #p{n} (1-based line of the plain text)


class Passage(NamedTuple):
    text: str  # as written in its first place
    places: tuple[Place, ...]  # by source, then paragraph


def _join(strings: list[str]) -> tuple[bytes, np.ndarray]:
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    return "".join(strings).encode("utf-8", "surrogatepass"), lengths


def _split(blob: bytes, lengths: np.ndarray) -> list[str]:
    text = blob.decode("utf-8", "surrogatepass")
    ends = np.cumsum(lengths).tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]


@dataclass
class _Columns:
    key: np.ndarray  # uint32, one an entry
    fold: np.ndarray  # int64: the entry's folded text, a number into folds
    texts: list[str]  # the entry's text as written
    start: np.ndarray  # int64, one more than the entries: entry i's places are start[i]:start[i + 1]
    src: np.ndarray  # int64 a place: its source, a number into sources
    par: np.ndarray  # int64 a place: its paragraph
    folds: list[str]
    sources: list[str]

    @classmethod
    def empty(cls) -> _Columns:
        none = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(0, dtype=np.uint32), none, [], np.zeros(1, dtype=np.int64), none, none, [], [])


class Found:
    """The entries: those of the last build (columns, minus the keys dropped) and those added."""

    def __init__(self, stored: dict | None = None):
        self.old = _Columns.empty()
        if stored:
            self.old = _Columns(
                stored["key"],
                stored["fold"],
                _split(stored["texts"], stored["text_lengths"]),
                stored["start"],
                stored["src"],
                stored["par"],
                _split(stored["folds"], stored["fold_lengths"]),
                _split(stored["sources"], stored["source_lengths"]),
            )
        self.alive = np.ones(len(self.old.key), dtype=bool)
        self.added: list[tuple[int, str, str, tuple[tuple[str, int], ...]]] = []
        self._all: _Columns | None = None

    def __len__(self) -> int:
        return int(self.alive.sum()) + len(self.added)

    def drop(self, keys: np.ndarray) -> None:
        """Forget the entries of ``keys`` (sorted)."""
        self.alive &= ~np.isin(self.old.key, keys)
        if self.added:
            gone = set(keys.tolist())
            self.added = [e for e in self.added if e[0] not in gone]
        self._all = None

    def add(self, key: int, folded: str, text: str, places: tuple[tuple[str, int], ...]) -> None:
        self.added.append((key, folded, text, places))
        self._all = None

    def columns(self) -> _Columns:
        """Every entry (the last build's that are left, then those added), only the folded texts
        and sources they use numbered."""
        if self._all is not None:
            return self._all
        old, alive = self.old, self.alive
        lengths = np.diff(old.start)[alive]
        rows = seg_index(old.start[:-1][alive], lengths)
        folds = {f: i for i, f in enumerate(old.folds)}
        sources = {s: i for i, s in enumerate(old.sources)}
        fold_of = [folds.setdefault(f, len(folds)) for _k, f, _t, _p in self.added]
        src_of = [sources.setdefault(s, len(sources)) for *_e, where in self.added for s, _n in where]
        fold = np.concatenate((old.fold[alive], np.array(fold_of, dtype=np.int64)))
        src = np.concatenate((old.src[rows], np.array(src_of, dtype=np.int64)))
        par = np.concatenate((old.par[rows], np.array([n for *_e, w in self.added for _s, n in w], dtype=np.int64)))
        counts = np.concatenate((lengths, np.array([len(w) for *_e, w in self.added], dtype=np.int64)))
        start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        key = np.concatenate((old.key[alive], np.array([e[0] for e in self.added], dtype=np.uint32)))
        texts = [t for t, a in zip(old.texts, alive.tolist()) if a] + [e[2] for e in self.added]
        fold_names, src_names = list(folds), list(sources)
        used_folds, fold = np.unique(fold, return_inverse=True)
        used_sources, src = np.unique(src, return_inverse=True)
        self._all = _Columns(
            key,
            fold.ravel().astype(np.int64),
            texts,
            start,
            src.ravel().astype(np.int64),
            par,
            [fold_names[i] for i in used_folds.tolist()],
            [src_names[i] for i in used_sources.tolist()],
        )
        return self._all

    def dump(self) -> dict:
        c = self.columns()
        texts, text_lengths = _join(c.texts)
        folds, fold_lengths = _join(c.folds)
        sources, source_lengths = _join(c.sources)
        return {
            "key": c.key,
            "fold": c.fold,
            "texts": texts,
            "text_lengths": text_lengths,
            "start": c.start,
            "src": c.src,
            "par": c.par,
            "folds": folds,
            "fold_lengths": fold_lengths,
            "sources": sources,
            "source_lengths": source_lengths,
        }

    def passages(self) -> list[Passage]:
        """One Passage per folded text, with every place it was found at, in order of first
        place; its text as written at the first place."""
        c = self.columns()
        if not len(c.key):
            return []
        order = sorted(range(len(c.sources)), key=c.sources.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)  # a source's place in string order
        rank[np.array(order, dtype=np.int64)] = np.arange(len(order))
        # Each folded text's places: its entries', distinct, by source then paragraph.
        fold = np.repeat(c.fold, np.diff(c.start))
        r, p = rank[c.src], c.par
        o = np.lexsort((p, r, fold))
        fold, r, p = fold[o], r[o], p[o]
        new = np.concatenate(([True], (fold[1:] != fold[:-1]) | (r[1:] != r[:-1]) | (p[1:] != p[:-1])))
        fold, r, p = fold[new], r[new], p[new]
        bounds = np.flatnonzero(np.concatenate(([True], fold[1:] != fold[:-1])))
        # Its text: that of the entry whose first place comes first, then of the smallest key.
        firsts = c.start[:-1]
        e = np.lexsort((np.arange(len(c.key)), c.key, c.par[firsts], rank[c.src[firsts]], c.fold))
        pick = e[np.concatenate(([True], c.fold[e][1:] != c.fold[e][:-1]))]
        names = [c.sources[i] for i in order]
        # Place(source, paragraph) made by tuple.__new__ through map: no Python frame a place.
        places = list(map(partial(tuple.__new__, Place), zip(map(names.__getitem__, r.tolist()), p.tolist())))
        ends = [*bounds[1:].tolist(), len(places)]
        texts = [c.texts[i] for i in pick.tolist()]
        firsts_r, firsts_p = r[bounds].tolist(), p[bounds].tolist()
        keyed = sorted(zip(firsts_r, firsts_p, texts, bounds.tolist(), ends))
        return [Passage(t, tuple(places[a:b])) for _r, _p, t, a, b in keyed]
