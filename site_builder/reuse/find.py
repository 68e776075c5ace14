"""Which speeches share text, from their prints: near-duplicate pairs (sentence fingerprints) and
passages found in more than one speech (anchors, extended character by character).

Both are answered from tables sorted by key (``Table``), kept between builds and patched: a
changed speech's rows are taken out and its new rows merged in, so only the keys it had or has
are looked at again. Nothing is compared pair by pair except what shares a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..duplicates import COMMON, NEAR
from ..segments import seg_index
from .prints import distinct

MAX_PLACES = COMMON
"""A key found in more places than this is a set phrase, not a passage reused: it is left out
(as duplicates.COMMON leaves such sentences out of near-duplicates)."""


@dataclass
class Table:
    """Rows (key, owner, position) sorted by key."""

    key: np.ndarray
    owner: np.ndarray  # uint32 ids
    pos: np.ndarray  # uint32

    @classmethod
    def empty(cls, dtype) -> Table:
        return cls(np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32))

    @classmethod
    def of(cls, rows: Iterable[tuple[int, np.ndarray, np.ndarray]], dtype) -> Table:
        """From (owner, keys, positions) per speech."""
        parts = list(rows)
        if not parts:
            return cls.empty(dtype)
        key = np.concatenate([k for _o, k, _p in parts]).astype(dtype)
        owner = np.concatenate([np.full(len(k), o, dtype=np.uint32) for o, k, _p in parts])
        pos = np.concatenate([p for _o, _k, p in parts]).astype(np.uint32)
        order = _order(key)
        return cls(key[order], owner[order], pos[order])

    def without(self, owners: np.ndarray) -> Table:
        if not len(owners):
            return self
        keep = _not_of(self.owner, owners)
        return Table(self.key[keep], self.owner[keep], self.pos[keep])

    def merged(self, other: Table) -> Table:
        """Both tables' rows, by key (rows of one key: in no particular order, which no answer
        depends on)."""
        if not len(other.key):
            return self
        if not len(self.key):
            return other
        at = np.searchsorted(self.key, other.key)
        return Table(
            np.insert(self.key, at, other.key),
            np.insert(self.owner, at, other.owner),
            np.insert(self.pos, at, other.pos),
        )

    def keys_of(self, owners: np.ndarray) -> np.ndarray:
        return distinct(self.key[~_not_of(self.owner, owners)])

    def runs(self, keys: np.ndarray | None = None, most: int = MAX_PLACES) -> tuple[np.ndarray, np.ndarray]:
        """(starts, lengths) of the runs of one key with 2 … ``most`` rows (of ``keys`` only)."""
        if keys is None:
            if not len(self.key):
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            starts = np.flatnonzero(np.concatenate(([True], self.key[1:] != self.key[:-1])))
            lengths = np.diff(np.concatenate((starts, [len(self.key)])))
        else:
            starts = np.searchsorted(self.key, keys, "left")
            lengths = np.searchsorted(self.key, keys, "right") - starts
        wanted = (lengths >= 2) & (lengths <= most)
        return starts[wanted], lengths[wanted]


def _not_of(owner: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """owner not in owners, row by row (a few owners: compared one by one, faster than np.isin)."""
    if len(owners) > 8:
        return ~np.isin(owner, owners)
    keep = np.ones(len(owner), dtype=bool)
    for o in owners.tolist():
        keep &= owner != o
    return keep


def _order(key: np.ndarray) -> np.ndarray:
    """The rows sorted by key. For 32-bit keys, key and row packed in 64 bits and sorted as
    numbers (numpy's vectorised sort, several times faster than argsort on millions of rows)."""
    if key.dtype == np.uint32 and len(key) < 2**32:
        packed = (key.astype(np.uint64) << np.uint64(32)) | np.arange(len(key), dtype=np.uint64)
        packed.sort()
        return (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return np.argsort(key, kind="stable")


def shared_counts(table: Table, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair codes a << 32 | b with a < b, how many runs each pair shares) over the given runs."""
    pairs = []
    for m in distinct(lengths).tolist():  # runs of m rows: all their pairs at once
        at = starts[lengths == m]
        members = table.owner[at[:, None] + np.arange(m)].astype(np.uint64)
        i, j = np.triu_indices(m, 1)
        a, b = members[:, i].ravel(), members[:, j].ravel()
        pairs.append((np.minimum(a, b) << np.uint64(32)) | np.maximum(a, b))
    if not pairs:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    codes = np.sort(np.concatenate(pairs))
    first = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    return codes[first], np.diff(np.concatenate((first, [len(codes)])))


def near_pairs(
    table: Table | Iterable[Table], sizes: dict[int, int], owners: np.ndarray | None = None, threshold: float = NEAR
):
    """{(a, b): similarity} of the owners (ids, a < b) that share at least ``threshold`` of the
    sentences of the smaller one (3 sentences at least), as ``duplicates.DuplicateIndex`` decides;
    with ``owners``, only pairs with one of them (``table``: at least every row of their keys;
    an iterable: slices of one table, no key in two of them)."""
    if not isinstance(table, Table):
        counted = [shared_counts(t, *t.runs()) for t in table]
        codes = np.concatenate([np.zeros(0, dtype=np.uint64), *(c for c, _n in counted)])
        shared = np.concatenate([np.zeros(0, dtype=np.int64), *(n for _c, n in counted)])
        if len(counted) > 1 and len(codes):  # a pair's counts from several slices added up
            order = np.argsort(codes, kind="stable")
            codes, shared = codes[order], shared[order]
            first = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
            codes, shared = codes[first], np.add.reduceat(shared, first)
    else:
        codes, shared = shared_counts(table, *table.runs())
    return near_of(codes, shared, sizes, owners, threshold)


def near_of(
    codes: np.ndarray, shared: np.ndarray, sizes: dict[int, int], owners: np.ndarray | None = None, threshold=NEAR
) -> dict[tuple[int, int], float]:
    """``near_pairs``' answer from each pair's code (a << 32 | b) and how many sentences it shares
    (in numpy: no Python object a pair looked at)."""
    a, b = (codes >> np.uint64(32)).astype(np.int64), (codes & np.uint64(0xFFFFFFFF)).astype(np.int64)
    size = np.zeros(max(sizes, default=0) + 2, dtype=np.int64)  # owner → its sentences (0: unknown)
    size[np.fromiter(sizes, np.int64, len(sizes))] = np.fromiter(sizes.values(), np.int64, len(sizes))
    smaller = np.minimum(size[np.minimum(a, len(size) - 1)], size[np.minimum(b, len(size) - 1)])
    keep = (a != b) & (smaller >= 3)
    if owners is not None:
        keep &= np.isin(a, owners) | np.isin(b, owners)
    ratio = shared[keep] / smaller[keep]
    good = ratio >= threshold
    pairs = zip(a[keep][good].tolist(), b[keep][good].tolist(), ratio[good].tolist())
    return {(x, y): round(r, 3) for x, y, r in pairs}


def _lcp(chars: np.ndarray, a: np.ndarray, b: np.ndarray, step: int, first: int) -> np.ndarray:
    """For each i, how many characters chars[a[i] + first + step·d] equal chars[b[i] + … ] for
    d = 0, 1, … before a difference or a 0 (line or text end)."""
    n = np.zeros(len(a), dtype=np.int64)
    alive = np.arange(len(a))
    offset = first
    while len(alive):
        x = chars[a[alive] + offset]
        alive = alive[(x == chars[b[alive] + offset]) & (x != 0)]
        n[alive] += 1
        offset += step
    return n


def extend(
    chars: np.ndarray | None,
    starts: np.ndarray,
    lengths: np.ndarray,
    where: np.ndarray,
    k: int,
    min_chars: int,
    lcp: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
):
    """The passages around the runs (``where``: each row's offset in ``chars``, the folded texts
    joined by 0): per run, the rows whose k-gram is the first row's (keys can collide), extended
    left and right as far as all of them agree. Yields (run, rows kept, left, right): the passage
    of row r is chars[where[r] - left : where[r] + right]. ``lcp(a, b)``, if given, answers
    (_lcp(chars, a, b, 1, 0), _lcp(chars, a, b, -1, -1)) instead (cold.Texts: chars not in memory)."""
    run = np.repeat(np.arange(len(starts)), lengths)
    rows = seg_index(starts, lengths)
    ref = where[starts][run]
    if lcp is None:
        assert chars is not None
        right, left = _lcp(chars, where[rows], ref, 1, 0), _lcp(chars, where[rows], ref, -1, -1)
    else:
        right, left = lcp(where[rows], ref)
    same = right >= k  # the same k-gram as the run's first row
    big = np.iinfo(np.int64).max
    r_min = np.full(len(starts), big)
    l_min = np.full(len(starts), big)
    count = np.bincount(run[same], minlength=len(starts))
    np.minimum.at(r_min, run[same], right[same])
    np.minimum.at(l_min, run[same], left[same])
    good = (count >= 2) & (r_min + l_min >= min_chars) & (r_min < big)
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    for g in np.flatnonzero(good).tolist():
        lo, hi = bounds[g], bounds[g + 1]
        yield g, rows[lo:hi][same[lo:hi]], int(l_min[g]), int(r_min[g])
