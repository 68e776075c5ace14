"""A cold build's tables in bounded memory (#15: 100,000 speeches in ≤ 2 GB).

A cold build sees every speech's anchors at once (about 2 / (w + 1) of all positions: ~96 million
rows at 100,000 speeches). Instead of holding them all with their sort copies, ``Spill`` appends
each speech's rows to one of ``PARTS`` partition files by the key's high bits; each partition is
then sorted alone and written into its place in the base's memory-mapped columns, which are thus
sorted as a whole. ``chunks`` walks a base in slices of about ``CHUNK_ROWS`` rows, never cutting
a key's run, so that what is computed over every key (passages, near-duplicate pairs) is computed
slice by slice. The answers are those of the whole tables (tested against the in-memory path).
"""

from __future__ import annotations

import itertools
import mmap
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .find import Table, _order, near_of, shared_counts

PARTS = 32  # partition files per table
FLUSH_ROWS = 1 << 18  # rows buffered before they are appended to the partition files
SORT_ROWS = 1 << 20  # rows of a partition sorted at once (a bigger one is cut again first)
CHUNK_ROWS = 1 << 20  # rows of a base looked at in one slice
# rows of sentences, or of pairs, looked at in one slice (each row: a few pairs, each pair 8 arrays)
PAIR_ROWS = 1 << 18
TEXT_RANGE = 1 << 23  # characters of the mapped texts read between two releases of their pages (Texts)
WINDOW = 16  # characters compared at once when passages are extended (Texts.lcp; then 4×, … up to 64×)
WINDOW_CELLS = 1 << 20  # characters of windows compared in one go (their index: as many int64)
COLUMNS = ("key", "owner", "pos")
NARROW = 1 << 16  # a base's owner or pos column is written as uint16 when every value is below this


def column_dtype(most: int) -> np.dtype:
    """The dtype a base's owner or pos column is written in, from its largest value (#15: a base
    of an archive under 65,536 speeches, or of texts under 65,536 characters, takes 2 bytes a
    row there instead of 4; tables read from it widen when rows of uint32 join them)."""
    return np.dtype(np.uint16 if most < NARROW else np.uint32)


class Spill:
    """Rows (key, owner, pos) appended speech by speech, kept in partition files by key (without
    ``positions``: rows (key, owner), their positions all 0, neither kept nor written)."""

    def __init__(self, folder: Path, name: str, dtype, positions: bool = True):
        self.folder, self.dtype = folder, np.dtype(dtype)
        self.columns = COLUMNS if positions else COLUMNS[:2]
        self.prefix = f"spill-{name}-{os.getpid()}-{os.urandom(4).hex()}"
        self.shift = np.uint64(self.dtype.itemsize * 8 - 5)  # PARTS = 2**5
        self.buffer: list[tuple[np.ndarray, int | np.ndarray, np.ndarray]] = []
        self.buffered = 0
        self.counts = np.zeros(PARTS, dtype=np.int64)
        self.most = [0, 0]  # the largest owner and pos added
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, part: int, column: str) -> Path:
        return self.folder / f"{self.prefix}-{part}.{column}"

    def add(self, owner: int | np.ndarray, keys: np.ndarray, positions: np.ndarray | None = None) -> None:
        """One speech's rows (``owner`` an id), or any rows (``owner`` their ids)."""
        pos = np.zeros(len(keys), dtype=np.uint32) if positions is None else positions.astype(np.uint32)
        self.buffer.append((keys.astype(self.dtype), owner, pos))
        self.buffered += len(keys)
        if self.buffered >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        key = np.concatenate([k for k, _o, _p in self.buffer])
        owner = np.concatenate([np.full(len(k), o, dtype=np.uint32) for k, o, _p in self.buffer]).astype(np.uint32)
        pos = np.concatenate([p for _k, _o, p in self.buffer])
        self.buffer, self.buffered = [], 0
        if len(key):
            self.most = [max(self.most[0], int(owner.max())), max(self.most[1], int(pos.max()))]
        part = key.astype(np.uint64) >> self.shift
        self.counts += _appended(
            [key, owner, pos][: len(self.columns)],
            part,
            [[self._path(p, c) for c in self.columns] for p in range(PARTS)],
        )

    def write(self, name: str) -> None:
        """The rows sorted by key as the base ``name`` (its ``.npy`` columns); the spill removed."""
        self.flush()
        total = int(self.counts.sum())
        narrow = (self.dtype, column_dtype(self.most[0]), column_dtype(self.most[1]))
        out = [
            np.lib.format.open_memmap(self.folder / f"{name}.{c}.npy", mode="w+", dtype=d, shape=(total,))
            for c, d in zip(self.columns, narrow)
        ]
        at = 0
        for p in range(PARTS):
            n = int(self.counts[p])
            if n:
                at = self._sorted(out, at, [self._path(p, c) for c in self.columns], n, int(self.shift))
            self.remove(p)
        del out

    def _sorted(self, out: list[np.memmap], at: int, paths: list[Path], n: int, shift: int) -> int:
        """The ``n`` rows of one partition's files (their keys alike above bit ``shift``) sorted
        into out[at : at + n]; a partition of more than ``SORT_ROWS`` rows is cut again by the
        key's next 5 bits first, ``FLUSH_ROWS`` rows at a time (memory bounded however big the
        table); returns at + n."""
        dtypes = (self.dtype, np.dtype(np.uint32), np.dtype(np.uint32))  # of the partition files
        if n <= SORT_ROWS or shift < 5:
            cols = [np.fromfile(path, dtype=d) for path, d in zip(paths, dtypes)]
            order = _order(cols[0])
            for target, values in zip(out, cols):
                target[at : at + n] = values[order]
                target.flush()
            release(*out)
            return at + n
        shift -= 5
        parts = [[path.with_name(f"{path.name}.{q}") for path in paths] for q in range(PARTS)]
        counts = np.zeros(PARTS, dtype=np.int64)
        for start in range(0, n, FLUSH_ROWS):
            cols = [
                np.fromfile(path, dtype=d, count=FLUSH_ROWS, offset=start * d.itemsize)
                for path, d in zip(paths, dtypes)
            ]
            counts += _appended(cols, (cols[0].astype(np.uint64) >> np.uint64(shift)) & np.uint64(PARTS - 1), parts)
        for path in paths:
            path.unlink(missing_ok=True)
        try:
            for q in range(PARTS):
                if counts[q]:
                    at = self._sorted(out, at, parts[q], int(counts[q]), shift)
        finally:
            for path in (path for part in parts for path in part):
                path.unlink(missing_ok=True)
        return at

    def remove(self, part: int | None = None) -> None:
        for p in range(PARTS) if part is None else (part,):
            for c in COLUMNS:
                self._path(p, c).unlink(missing_ok=True)


def _appended(cols: list[np.ndarray], part: np.ndarray, paths: list[list[Path]]) -> np.ndarray:
    """Append the rows of ``cols`` to the files of their partition (``part``: a row's, < PARTS;
    ``paths[p]``: partition p's file per column); how many rows each partition got."""
    order = np.argsort(part.astype(np.uint8), kind="stable")
    bounds = np.searchsorted(part[order], np.arange(PARTS + 1))
    for p in range(PARTS):
        rows = order[bounds[p] : bounds[p + 1]]
        if len(rows):
            for path, values in zip(paths[p], cols):
                with open(path, "ab") as fh:
                    values[rows].tofile(fh)
    return np.diff(bounds)


class Texts:
    """Every folded text of a cold build, joined by 0 in one array (``chars.Gather``: mapped from
    a scratch file), read in bounded resident memory: the passages' common prefixes are found on
    windows of ``WINDOW`` characters around the rows, gathered ``TEXT_RANGE`` characters of the
    array at a time (in position order) and the mapped pages released after each range; a
    paragraph's number is read from where the 0s are (``zeros``), not from its text."""

    def __init__(self, chars: np.ndarray, where: dict[int, tuple[int, int]], zeros: np.ndarray):
        self.chars, self.where, self.zeros = chars, where, zeros
        self.first = np.zeros(max(where, default=0) + 1, dtype=np.int64)  # owner → where its text starts
        self.first[list(where)] = [start for start, _n in where.values()]
        self.mapped = isinstance(chars, np.memmap)
        random_access(chars)
        self.release()

    def release(self) -> None:
        release(self.chars)

    def spans(self, lo: list[int], hi: list[int]) -> list[np.ndarray]:
        """[chars[a:b] for a, b in zip(lo, hi)], copied, read in order of position, the mapped
        pages released every ``TEXT_RANGE`` characters (``_in_ranges``)."""
        out: list[np.ndarray] = [np.zeros(0, dtype=self.chars.dtype)] * len(lo)
        for rows in self._in_ranges(np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)):
            for i in rows.tolist():
                out[i] = np.array(self.chars[lo[i] : hi[i]])
        return out

    def _in_ranges(self, starts: np.ndarray, ends: np.ndarray) -> Iterator[np.ndarray]:
        """The numbers of the reads chars[starts[i] : ends[i]] in order of position, a group at a
        time: those starting in one range of ``TEXT_RANGE`` characters. Once the caller has read
        a group (it asks for the next), the mapped pages from its first start to its last end
        are released."""
        if not len(starts):
            return
        order = np.argsort(starts, kind="stable")
        ordered = starts[order]
        edges = np.arange(int(ordered[0]), int(ordered[-1]) + TEXT_RANGE, TEXT_RANGE)
        cuts = np.searchsorted(ordered, edges).tolist() + [len(starts)]
        for lo, hi in itertools.pairwise(cuts):
            if hi > lo:
                rows = order[lo:hi]
                yield rows
                if self.mapped:
                    _drop(self.chars, int(ordered[lo]), int(ends[rows].max()))

    def paragraph(self, owner: int, pos: int) -> int:
        """n of #p<n> of position ``pos`` of a speech's folded text: the 0s before it in its text, + 1."""
        start = int(self.first[owner])
        return int(np.searchsorted(self.zeros, start + pos) - np.searchsorted(self.zeros, start)) + 1

    def lcp(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(right, left): find._lcp(chars, a, b, 1, 0) and find._lcp(chars, a, b, -1, -1), from windows."""
        return self._common(a, b, 1), self._common(a, b, -1)

    def _common(self, a: np.ndarray, b: np.ndarray, step: int) -> np.ndarray:
        """How many characters agree going right from a, b (``step`` 1) or left from a - 1, b - 1
        (-1), up to a difference or a 0; where a = b: up to the next 0 (from ``zeros``)."""
        at = np.searchsorted(self.zeros, a)
        n = self.zeros[at] - a if step > 0 else a - 1 - self.zeros[at - 1]
        todo = np.flatnonzero(a != b)
        n[todo] = 0
        offset, width = 0, WINDOW
        while len(todo):
            group, further = max(1, WINDOW_CELLS // width), []
            for g in range(0, len(todo), group):
                rows = todo[g : g + group]
                shift = offset if step > 0 else -offset - width
                wa, wb = self._windows(a[rows] + shift, width), self._windows(b[rows] + shift, width)
                if step < 0:
                    wa, wb = wa[:, ::-1], wb[:, ::-1]
                ok = (wa == wb) & (wa != 0)
                whole = ok.all(axis=1)
                n[rows] += np.where(whole, width, np.argmin(ok, axis=1))
                further.append(rows[whole])
            todo = np.concatenate(further)
            offset, width = offset + width, min(width * 4, WINDOW * 64)
        return n

    def _windows(self, starts: np.ndarray, width: int) -> np.ndarray:
        """chars[s : s + width] for each s of ``starts`` (past either end: 0s), gathered in order
        of position, ``TEXT_RANGE`` characters of a mapped array at a time (``_in_ranges``)."""
        last = len(self.chars) - 1  # chars[0] and chars[last] are 0
        span = np.arange(width, dtype=np.int64)
        if not self.mapped:
            return self.chars[np.clip(starts[:, None] + span, 0, last)]
        out = np.empty((len(starts), width), dtype=self.chars.dtype)
        for rows in self._in_ranges(starts, starts + width):
            out[rows] = self.chars[np.clip(starts[rows][:, None] + span, 0, last)]
        return out


def _drop(array: np.ndarray, lo: int, hi: int) -> None:
    """Release the mapped pages of array[lo:hi] (clipped to the array) from resident memory."""
    mapped = _mapping(array)
    if mapped is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    base = getattr(array, "offset", 0) % mmap.ALLOCATIONGRANULARITY
    start = (base + max(lo, 0) * array.itemsize) // mmap.PAGESIZE * mmap.PAGESIZE
    end = min(base + min(hi, len(array)) * array.itemsize, len(mapped))
    if end > start:
        mapped.madvise(mmap.MADV_DONTNEED, start, end - start)


_MIX = 0x9E3779B97F4A7C15  # odd: a pair code times it (modulo 2**64) spreads the codes over the partitions
_UNMIX = pow(_MIX, -1, 2**64)


def near_pairs(slices: Iterable[Table], sizes: dict[int, int], folder: Path) -> dict[tuple[int, int], float]:
    """find.near_pairs over the slices of a sentences table, in bounded memory: each slice's pairs
    (code, sentences shared) spilled to partition files (``Spill``; codes mixed so that their
    high bits differ), sorted, and each pair's counts added up a slice of the sorted pairs at a time."""
    spill = Spill(folder, "pairs", np.uint64, positions=False)
    name = f"pairs-{os.getpid()}-{os.urandom(4).hex()}"
    out: dict[tuple[int, int], float] = {}
    try:
        for table in slices:
            codes, shared = shared_counts(table, *table.runs())
            spill.add(shared.astype(np.uint32), codes * np.uint64(_MIX))
        if not int(spill.counts.sum()) + spill.buffered:
            return out
        spill.write(name)
        key = np.load(folder / f"{name}.key.npy", mmap_mode="r")
        count = np.load(folder / f"{name}.owner.npy", mmap_mode="r")
        for part in chunks(Table(key, count, np.broadcast_to(np.zeros(1, dtype=np.uint32), key.shape)), PAIR_ROWS):
            first = np.flatnonzero(np.concatenate(([True], part.key[1:] != part.key[:-1])))
            shared = np.add.reduceat(part.owner.astype(np.int64), first)
            out.update(near_of(part.key[first] * np.uint64(_UNMIX), shared, sizes))
        del key, count
        return out
    finally:
        spill.remove()
        for column in COLUMNS:
            (folder / f"{name}.{column}.npy").unlink(missing_ok=True)


def _mapping(array: np.ndarray) -> mmap.mmap | None:
    """The mmap a memory-mapped array reads (None: an array in memory)."""
    return getattr(array, "_mmap", None) if isinstance(array, np.memmap) else None


def random_access(array: np.ndarray) -> None:
    """Tell the kernel a mapped array is read here and there: no read-ahead, no pages mapped
    around the one read (else each scattered read maps in 64 KB and a slice maps in every text)."""
    mapped = _mapping(array)
    if mapped is not None and hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)


def release(*arrays) -> None:
    """Drop the pages of memory-mapped arrays from this process's resident memory (the file keeps
    the data; a later read maps it in again)."""
    for array in arrays:
        mapped = _mapping(array)
        if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
            mapped.madvise(mmap.MADV_DONTNEED)


def chunks(table: Table, rows: int | None = None) -> Iterator[Table]:
    """Consecutive slices of ``table`` (sorted by key) of about ``rows`` rows each, in memory,
    never cutting the run of one key (the mapped pages of a slice released once it is read)."""
    step = rows or CHUNK_ROWS
    n, at = len(table.key), 0
    while at < n:
        end = min(at + step, n)
        if end < n:
            end = int(np.searchsorted(table.key, table.key[end - 1], "right"))
        part = Table(*(np.array(getattr(table, c)[at:end]) for c in COLUMNS))
        release(table.key, table.owner, table.pos)
        yield part
        at = end
