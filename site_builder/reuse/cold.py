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

import mmap
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .find import Table, _order

PARTS = 32  # partition files per table
FLUSH_ROWS = 1 << 20  # rows buffered before they are appended to the partition files
CHUNK_ROWS = 1 << 20  # rows of a base looked at in one slice
PAGE_BUDGET = 1 << 27  # bytes of mapped text pages one slice should touch (see slice_rows)
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
        part = (key.astype(np.uint64) >> self.shift).astype(np.uint8)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(PARTS + 1))
        for p in range(PARTS):
            rows = order[bounds[p] : bounds[p + 1]]
            if not len(rows):
                continue
            self.counts[p] += len(rows)
            for column, values in zip(self.columns, (key, owner, pos)):
                with open(self._path(p, column), "ab") as fh:
                    values[rows].tofile(fh)

    def write(self, name: str) -> None:
        """The rows sorted by key as the base ``name`` (its ``.npy`` columns); the spill removed."""
        self.flush()
        total = int(self.counts.sum())
        narrow = (self.dtype, column_dtype(self.most[0]), column_dtype(self.most[1]))
        dtypes = (self.dtype, np.dtype(np.uint32), np.dtype(np.uint32))  # of the partition files
        out = [
            np.lib.format.open_memmap(self.folder / f"{name}.{c}.npy", mode="w+", dtype=d, shape=(total,))
            for c, d in zip(self.columns, narrow)
        ]
        at = 0
        for p in range(PARTS):
            n = int(self.counts[p])
            if not n:
                continue
            cols = [np.fromfile(self._path(p, c), dtype=d) for c, d in zip(self.columns, dtypes)]
            order = _order(cols[0])
            for target, values in zip(out, cols):
                target[at : at + n] = values[order]
            at += n
            del cols, order
            self.remove(p)
            for target in out:
                target.flush()
            release(*out)
        del out

    def remove(self, part: int | None = None) -> None:
        for p in range(PARTS) if part is None else (part,):
            for c in COLUMNS:
                self._path(p, c).unlink(missing_ok=True)


def slice_rows(chars: np.ndarray) -> int:
    """Rows per slice when passages are extended on ``chars``: fewer when the texts are a large
    mapped file, so that the text pages one slice maps in (about one per row in a run) stay near
    ``PAGE_BUDGET`` bytes, whatever the archive's size."""
    if not isinstance(chars, np.memmap) or chars.nbytes <= PAGE_BUDGET:
        return CHUNK_ROWS
    return max(min(CHUNK_ROWS, 1 << 15), CHUNK_ROWS * PAGE_BUDGET // chars.nbytes)


def random_access(array: np.ndarray) -> None:
    """Tell the kernel a mapped array is read here and there: no read-ahead, no pages mapped
    around the one read (else each scattered read maps in 64 KB and a slice maps in every text)."""
    mapped = getattr(array, "_mmap", None) if isinstance(array, np.memmap) else None
    if mapped is not None and hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)


def release(*arrays) -> None:
    """Drop the pages of memory-mapped arrays from this process's resident memory (the file keeps
    the data; a later read maps it in again)."""
    for array in arrays:
        mapped = getattr(array, "_mmap", None) if isinstance(array, np.memmap) else None
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
