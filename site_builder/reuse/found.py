"""The passages found around each key, kept between builds in columns (#15: a build that changed
one speech drops and adds the entries of its keys, and reads and writes the others as a few
arrays, without a Python object per place).

An entry is what was found around one key: (key, folded text, the text as written at its first
place, its places (source, paragraph) sorted). The passages are the entries grouped by folded
text: every place of any of them, the text of the one whose first place comes first (then the
smallest key: a clean build's order), in order of their first place (``passages``).

Stored compactly (#15): the strings as UTF-16 (2 bytes a Chinese character, not 3 as in UTF-8;
decoded 2.6× faster), the numbers in the narrowest of uint16 / uint32 / int64 that holds them,
widened to int64 when read (``_encode``, ``_narrow``): the base file of 1,000 generated speeches
1.54 → 0.82 MB after a cold build, 2.17 → 1.22 MB after one changed and one added speech.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..fileio import atomic_open
from ..segments import seg_index
from ..textio import decode_text, encode_texts


class Place(NamedTuple):
    source: str
    paragraph: int  # n of #p{n} (1-based line of the plain text)


class Passage(NamedTuple):
    text: str  # as written in its first place
    places: tuple[Place, ...]  # by source, then paragraph


def _encode(text: str) -> bytes:
    """``text`` as stored: its codec byte, then its bytes (``textio.encode_texts``)."""
    codec, (raw,) = encode_texts(text)
    return bytes((codec,)) + raw


def _decode(blob: bytes) -> str:
    return decode_text(blob[0], blob[1:]) if blob else ""


def _narrow(values: np.ndarray) -> np.ndarray:
    """Whole numbers ≥ 0 in the narrowest of uint16, uint32 (else as they are) that holds them."""
    values = np.asarray(values)
    most = int(values.max()) if len(values) else 0
    if len(values) and int(values.min()) < 0:
        return values
    return values.astype(np.uint16 if most < 1 << 16 else np.uint32 if most < 1 << 32 else values.dtype)


def _wide(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _join(strings: list[str]) -> tuple[bytes, np.ndarray]:
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    return _encode("".join(strings)), _narrow(lengths)


class _Strings:
    """Strings kept as one text and where each ends (#15: the state's 23,000 passage texts at
    10k are neither split into objects when read nor joined again when written; a string is made
    only when asked for)."""

    def __init__(self, text: str = "", lengths: np.ndarray | None = None):
        self.text = text
        self.ends = np.cumsum(lengths if lengths is not None else np.zeros(0, dtype=np.int64), dtype=np.int64)

    @classmethod
    def stored(cls, blob: bytes, lengths: np.ndarray) -> _Strings:
        return cls(_decode(blob), _wide(lengths))

    @classmethod
    def of(cls, strings: list[str]) -> _Strings:
        return cls("".join(strings), np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)))

    def __len__(self) -> int:
        return len(self.ends)

    def lengths(self) -> np.ndarray:
        return np.diff(self.ends, prepend=0)

    def __getitem__(self, i: int) -> str:
        return self.text[int(self.ends[i - 1]) if i else 0 : int(self.ends[i])]

    def many(self, rows: np.ndarray) -> list[str]:
        """The strings of ``rows``."""
        ends = self.ends[rows]
        text = self.text
        return [text[a:b] for a, b in zip((ends - self.lengths()[rows]).tolist(), ends.tolist())]

    def take(self, rows: np.ndarray, more: list[str]) -> _Strings:
        """The strings of ``rows`` (ascending), then ``more``: the text cut once per run of
        consecutive rows (a few runs when few were dropped)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.ends - self.lengths()
        cut = np.flatnonzero(np.diff(rows) != 1) + 1 if len(rows) else np.zeros(0, dtype=np.int64)
        parts = [self.text[int(starts[r[0]]) : int(self.ends[r[-1]])] for r in np.split(rows, cut) if len(r)]
        parts += more
        lengths = np.concatenate((self.lengths()[rows], np.fromiter(map(len, more), dtype=np.int64, count=len(more))))
        return _Strings("".join(parts), lengths)

    def find(self, string: str) -> int:
        """The row holding ``string``, or -1."""
        n = len(string)
        for i in np.flatnonzero(self.lengths() == n).tolist():
            if self[i] == string:
                return i
        return -1

    def dump(self) -> tuple[bytes, np.ndarray]:
        return _encode(self.text), _narrow(self.lengths())


def _split(blob: bytes, lengths: np.ndarray) -> list[str]:
    text = _Strings.stored(blob, lengths)
    return [text[i] for i in range(len(text))]


@dataclass
class _Columns:
    key: np.ndarray  # uint32, one an entry
    fold: np.ndarray  # int64: the entry's folded text, a number into folds
    texts: _Strings  # the entry's text as written
    start: np.ndarray  # int64, one more than the entries: entry i's places are start[i]:start[i + 1]
    src: np.ndarray  # int64 a place: its source, a number into sources
    par: np.ndarray  # int64 a place: its paragraph
    folds: _Strings
    sources: list[str]

    @classmethod
    def empty(cls) -> _Columns:
        none = np.zeros(0, dtype=np.int64)
        return cls(
            np.zeros(0, dtype=np.uint32), none, _Strings(), np.zeros(1, dtype=np.int64), none, none, _Strings(), []
        )


SLACK = 1024  # entries dropped or added since the base kept in the state, at least, before a new base
FIND_MOST = 64  # folded texts of added entries looked up one by one among the kept ones; more: all in a dict


class Found:
    """The entries: those of the last build (columns, minus the keys dropped) and those added.

    With a ``folder``, the columns are a **base** file (``found-*.pickle``) written only now and
    then, and the state holds what changed since (``dump``): the keys whose base entries are
    dropped and the entries added, so that a step writes a few entries, not every passage (#15:
    11 MB at 10k). The base is written afresh, under a new name, when that grows past an eighth of
    it (``SLACK`` at least); the state names it (written after it), so a build killed between
    leaves the old state whole, and ``remove_others`` deletes the others once the state is saved.
    """

    def __init__(self, stored: dict | None = None, folder: Path | None = None):
        self.folder, self.file, self.whole = folder, "", True
        delta = None
        if stored and "base" in stored:  # a delta beside a base file
            delta, stored = stored, None
            self.file = delta["base"]
            if self.file:
                stored = self._read(self.file)
        self.old = _Columns.empty()
        if stored:
            self.old = _Columns(
                stored["key"],
                _wide(stored["fold"]),
                _Strings.stored(stored["texts"], stored["text_lengths"]),
                _wide(stored["start"]),
                _wide(stored["src"]),
                _wide(stored["par"]),
                _Strings.stored(stored["folds"], stored["fold_lengths"]),
                _split(stored["sources"], stored["source_lengths"]),
            )
        self.alive = np.ones(len(self.old.key), dtype=bool)
        self.dropped = np.zeros(0, dtype=np.uint32)  # keys whose base entries are dropped
        self.added: list[tuple[int, str, str, tuple[tuple[str, int], ...]]] = []
        self._all: _Columns | None = None
        if delta is not None:
            self.drop(np.asarray(delta["dropped"], dtype=np.uint32))
            self.added = list(delta["added"])

    def _read(self, name: str) -> dict | None:
        """The base ``name``, or None (``whole`` False: the caller starts afresh)."""
        try:
            if self.folder is None:  # (a delta without its folder: nothing to read it from)
                raise ValueError(name)
            with open(self.folder / name, "rb") as fh:
                base = pickle.load(fh)
            if not isinstance(base, dict):
                raise ValueError(name)
            return base
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            self.whole, self.file = False, ""
            return None

    def __len__(self) -> int:
        return int(self.alive.sum()) + len(self.added)

    def drop(self, keys: np.ndarray) -> None:
        """Forget the entries of ``keys`` (sorted)."""
        hit = np.isin(self.old.key, keys) & self.alive
        self.alive &= ~hit
        if hit.any():
            self.dropped = np.union1d(self.dropped, self.old.key[hit])
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
        fold_of, new_folds = self._fold_numbers()
        sources = {s: i for i, s in enumerate(old.sources)}
        src_of = [sources.setdefault(s, len(sources)) for *_e, where in self.added for s, _n in where]
        fold = np.concatenate((old.fold[alive], np.array(fold_of, dtype=np.int64)))
        src = np.concatenate((old.src[rows], np.array(src_of, dtype=np.int64)))
        par = np.concatenate((old.par[rows], np.array([n for *_e, w in self.added for _s, n in w], dtype=np.int64)))
        counts = np.concatenate((lengths, np.array([len(w) for *_e, w in self.added], dtype=np.int64)))
        start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        key = np.concatenate((old.key[alive], np.array([e[0] for e in self.added], dtype=np.uint32)))
        texts = old.texts.take(np.flatnonzero(alive), [e[2] for e in self.added])
        src_names = list(sources)
        used_folds, fold = np.unique(fold, return_inverse=True)
        used_sources, src = np.unique(src, return_inverse=True)
        kept = used_folds[used_folds < len(old.folds)]
        folds = old.folds.take(kept, [new_folds[i] for i in (used_folds[len(kept) :] - len(old.folds)).tolist()])
        self._all = _Columns(
            key,
            fold.ravel().astype(np.int64),
            texts,
            start,
            src.ravel().astype(np.int64),
            par,
            folds,
            [src_names[i] for i in used_sources.tolist()],
        )
        return self._all

    def _fold_numbers(self) -> tuple[list[int], list[str]]:
        """Each added entry's folded text as a number: a kept one's (the same string), else the
        next after them (in order of first use); and the new ones' strings. A few are looked up
        among the kept ones one by one (by length, then compared), more through a dict of all."""
        kept = self.old.folds
        distinct = list(dict.fromkeys(f for _k, f, _t, _p in self.added))
        if len(distinct) <= FIND_MOST:
            number = {f: kept.find(f) for f in distinct}
        else:
            every = {kept[i]: i for i in range(len(kept))}
            number = {f: every.get(f, -1) for f in distinct}
        new_folds = [f for f in distinct if number[f] < 0]
        number.update({f: len(kept) + j for j, f in enumerate(new_folds)})
        return [number[f] for _k, f, _t, _p in self.added], new_folds

    def dump(self) -> dict:
        """What the state keeps: without a folder every column; else the base's name and what
        changed since it, the base written afresh first when that is too much (see the class)."""
        if self.folder is None:
            return self._columns_dump()
        dead = len(self.alive) - int(self.alive.sum())
        if not self.file or dead + len(self.added) > max(SLACK, len(self.alive) // 8):
            name = f"found-{os.getpid()}-{os.urandom(4).hex()}.pickle"
            with atomic_open(self.folder / name) as fh:
                pickle.dump(self._columns_dump(), fh, protocol=pickle.HIGHEST_PROTOCOL)
            self.file, self.dropped, self.added = name, np.zeros(0, dtype=np.uint32), []
            self.old, self.alive = self.columns(), np.ones(len(self.columns().key), dtype=bool)
            self._all = self.old
        return {"base": self.file, "dropped": self.dropped, "added": self.added}

    def remove_others(self) -> None:
        """Delete the bases the state no longer names (once it is saved)."""
        if self.folder is not None:
            for path in self.folder.glob("found-*.pickle"):
                if path.name != self.file:
                    path.unlink(missing_ok=True)

    def _columns_dump(self) -> dict:
        c = self.columns()
        texts, text_lengths = c.texts.dump()
        folds, fold_lengths = c.folds.dump()
        sources, source_lengths = _join(c.sources)
        return {
            "key": c.key,
            "fold": _narrow(c.fold),
            "texts": texts,
            "text_lengths": text_lengths,
            "start": _narrow(c.start),
            "src": _narrow(c.src),
            "par": _narrow(c.par),
            "folds": folds,
            "fold_lengths": fold_lengths,
            "sources": sources,
            "source_lengths": source_lengths,
        }

    def passages(self) -> Passages:
        """One Passage per folded text, with every place it was found at, in order of first
        place; its text as written at the first place."""
        c = self.columns()
        if not len(c.key):
            return Passages(
                [], np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            )
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
        counts = np.diff(np.append(bounds, len(r)))
        # Its text: that of the entry whose first place comes first, then of the smallest key.
        firsts = c.start[:-1]
        e = np.lexsort((np.arange(len(c.key)), c.key, c.par[firsts], rank[c.src[firsts]], c.fold))
        pick = e[np.concatenate(([True], c.fold[e][1:] != c.fold[e][:-1]))]
        texts = c.texts.many(pick)
        # In order of the first place, then the text (a folded text's places are distinct: its bound breaks no tie).
        firsts_r, firsts_p = r[bounds].tolist(), p[bounds].tolist()
        keyed = sorted(range(len(texts)), key=lambda g: (firsts_r[g], firsts_p[g], texts[g]))
        at = np.array(keyed, dtype=np.int64)
        rows = seg_index(bounds[at], counts[at])
        return Passages([texts[g] for g in keyed], counts[at], [c.sources[i] for i in order], r[rows], p[rows])


class Passages(Sequence):
    """The passages in order, as columns (#15: 23,000 passages with 100,000 places at 10k, none
    made as objects by the build): ``texts``, each one's number of places (``counts``), and its
    places in order as a number into ``names`` (the sources, sorted) and a paragraph. A Passage
    is made when asked for (``passages[i]``, iterating), and kept: the same object each time."""

    def __init__(self, texts: list[str], counts: np.ndarray, names: list[str], src: np.ndarray, par: np.ndarray):
        self.texts, self.counts, self.names, self.src, self.par = texts, counts, names, src, par
        self.starts = np.cumsum(counts) - counts
        self._made: dict[int, Passage] = {}
        self._number: dict[str, int] | None = None

    def columns(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray, np.ndarray]:
        """(texts, counts, names, src, par): what the passages are, without an object each."""
        return self.texts, self.counts, self.names, self.src, self.par

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):  # (an int, or a slice: a list)
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = i + len(self) if i < 0 else i
        if not 0 <= i < len(self):
            raise IndexError(i)
        made = self._made.get(i)
        if made is None:
            a = int(self.starts[i])
            b = a + int(self.counts[i])
            made = self._made[i] = Passage(self.texts[i], self._places(a, b))
        return made

    def _places(self, a: int, b: int) -> tuple[Place, ...]:
        # Place(source, paragraph) made by tuple.__new__ through map: no Python frame a place.
        names = self.names
        return tuple(
            map(
                partial(tuple.__new__, Place),
                zip(map(names.__getitem__, self.src[a:b].tolist()), self.par[a:b].tolist()),
            )
        )

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Passages, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Passages({list(self)!r})"

    def of(self, source: str) -> list[Passage]:
        """The passages found in ``source``, in order (of their first place)."""
        if self._number is None:
            self._number = {name: i for i, name in enumerate(self.names)}
        number = self._number.get(source)
        if number is None:
            return []
        owner = np.searchsorted(self.starts, np.flatnonzero(self.src == number), "right") - 1
        return [self[i] for i in np.unique(owner).tolist()]
