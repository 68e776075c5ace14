"""A sorted table kept between builds without being read or written whole: a **base** (columns in
``.npy`` files, memory-mapped), a small **delta** of the rows of speeches changed since (in the
state), and the owners whose base rows are **dead**. A build reads only the base rows of the keys
it looks at; when the delta or the dead grow past an eighth of the base, base and delta are
written afresh as a new base (under a new name: a build killed half way leaves the old state whole).

Beside each base of anchors of ``BY_OWNER_ROWS`` rows or more, its keys ordered by owner
(``.byowner.npy``) and where each owner's begin (``.owners.npy``), written once with the base: the
keys a changed speech had are read as its slice, not found by scanning the whole owner column
(#15: 12 million rows at 10k, 49–58 ms CPU a step in a fresh process, 0.3–0.5 ms as a slice; 4
bytes a row, 48 MB; ``bench/bench_cache.py --keys-of ROWS``). A smaller base is scanned instead:
at 1,000 generated speeches (1.2 million rows) the scan costs 2.6–3.7 ms a step (5 ms at
``BY_OWNER_ROWS``), and the index would take 4.8 MB, 0.17× the 28 MB archive (#15: a cache ≤ 3×
the content), and 0.05–0.09 s each time a base is written. A big base without them
(an older state's) gets them when first asked. The sentences' base needs none: a step asks only
the keys of speeches it has just taken out of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..fileio import atomic_open
from ..segments import seg_index
from . import cold
from .cold import Spill, chunks, release
from .find import Table, _not_of, _order

COLUMNS = ("key", "owner", "pos")
#: a base of anchors of fewer rows has no keys by owner: its owner column is scanned (see above)
BY_OWNER_ROWS = 1 << 21


class Layers:
    """Without ``positions`` a table whose positions are all 0 (sentences): its base has no
    ``pos`` column, the rows read as position 0."""

    def __init__(
        self, name: str, folder: Path | None, meta: dict | None, dtype, positions: bool = True, indexed: bool = True
    ):
        meta = meta or {}
        self.name, self.folder, self.dtype = name, folder, np.dtype(dtype)
        self.positions = positions
        self.indexed = indexed  # (its base's keys by owner written: the keys of owners still in it are asked)
        self.file: str = meta.get("file", "")
        self.delta: Table = meta.get("delta") or Table.empty(self.dtype)
        self.dead: np.ndarray = meta.get("dead", np.zeros(0, dtype=np.uint32))
        self.base: Table | None = None
        self.by_owner: tuple[np.ndarray, np.ndarray] | None = (
            None  # (the base's keys by owner, where each owner's begin)
        )
        if self.file and folder is not None:
            try:
                self.base = self._base(self.file)
            except (OSError, ValueError):
                self.base, self.file = None, ""
            self.by_owner = self._by_owner(self.file) if self.base is not None and indexed else None

    def _base(self, name: str) -> Table:
        """The base written as ``name``, its columns memory-mapped."""
        assert self.folder is not None
        cols = [np.load(self.folder / f"{name}.{c}.npy", mmap_mode="r") for c in COLUMNS[: 3 if self.positions else 2]]
        if not self.positions:  # every position 0, without memory: a read-only view of one 0
            cols.append(np.broadcast_to(np.zeros(1, dtype=np.uint32), cols[0].shape))
        return Table(*cols)

    def _by_owner(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The base ``name``'s keys by owner and their starts, memory-mapped; None when they are
        not there (or do not fit the base)."""
        assert self.folder is not None and self.base is not None
        try:
            keys = np.load(self.folder / f"{name}.byowner.npy", mmap_mode="r")
            starts = np.load(self.folder / f"{name}.owners.npy")
        except (OSError, ValueError):
            return None
        if len(keys) != len(self.base.key) or not len(starts) or int(starts[-1]) != len(keys):
            return None
        return keys, starts

    def _wants_index(self) -> bool:
        """Whether the base should have its keys by owner (``BY_OWNER_ROWS``)."""
        big = self.base is not None and len(self.base.key) >= BY_OWNER_ROWS
        return self.indexed and big and self.folder is not None

    @property
    def whole(self) -> bool:
        """Whether the state's base was found (else the caller starts afresh)."""
        return self.base is not None or not self.file

    def meta(self) -> dict:
        return {"file": self.file, "delta": self.delta, "dead": self.dead}

    def keys_of(self, owners: np.ndarray) -> np.ndarray:
        parts = [self.delta.keys_of(owners)]
        if self.base is not None:
            live = owners[~np.isin(owners, self.dead)]
            if len(live) and self.by_owner is None and self._wants_index():  # (an older state's)
                assert self.folder is not None
                write_by_owner(self.folder, self.file, self.base)
                self.by_owner = self._by_owner(self.file)
            if len(live) and self.by_owner is not None:  # (each owner's slice)
                keys, starts = self.by_owner
                live = live[live < len(starts) - 1].astype(np.int64)
                parts.append(np.asarray(keys[seg_index(starts[live], starts[live + 1] - starts[live])]))
            elif len(live):
                parts.append(Table(self.base.key, self.base.owner, self.base.pos).keys_of(live))
                release(self.base.key, self.base.owner)  # (read whole: its pages mapped in, #15)
        from .prints import distinct

        return distinct(np.concatenate(parts))

    def remove(self, owners: np.ndarray) -> None:
        self.delta = self.delta.without(owners)
        if self.base is not None and len(owners):
            self.dead = np.union1d(self.dead, owners.astype(np.uint32))

    def add(self, rows: Table) -> None:
        self.delta = self.delta.merged(rows)

    def new_name(self, rows: int) -> str:
        return f"{self.name}-{os.getpid()}-{rows}-{os.urandom(4).hex()}"

    def adopt(self, name: str) -> None:
        """Take the base written as ``name`` (cold.Spill.write) as this table, delta and dead empty."""
        assert self.folder is not None
        self.file = name
        self.base = self._base(name)
        self.by_owner = None
        if self._wants_index():
            write_by_owner(self.folder, name, self.base)
            self.by_owner = self._by_owner(name)
        self.delta, self.dead = Table.empty(self.dtype), np.zeros(0, dtype=np.uint32)

    def view(self, keys: np.ndarray | None) -> Table:
        """The live rows of ``keys`` (sorted, distinct), or of all keys, as one table in memory
        (all keys of a base alone: the base itself, memory-mapped)."""
        if keys is None and self.base is not None and not len(self.dead) and not len(self.delta.key):
            return self.base
        if self.base is None:
            return self.delta if keys is None else _select(self.delta, keys)
        base = self.base if keys is None else _select(self.base, keys)
        if keys is not None:
            release(self.base.key, self.base.owner, self.base.pos)
        if len(self.dead):
            keep = _not_of(np.asarray(base.owner), self.dead)
            base = Table(np.asarray(base.key)[keep], np.asarray(base.owner)[keep], np.asarray(base.pos)[keep])
        delta = self.delta if keys is None else _select(self.delta, keys)
        both = Table(*(np.concatenate((np.asarray(getattr(base, c)), getattr(delta, c))) for c in COLUMNS))
        order = _order(both.key)
        return Table(both.key[order], both.owner[order], both.pos[order])

    def settle(self, owners: int) -> None:
        """Write base and delta afresh as the base when the delta or the dead grew too big (slice
        by slice through cold.Spill: memory bounded however big the base)."""
        size = 0 if self.base is None else len(self.base.key)
        if self.base is not None and len(self.delta.key) * 8 <= size and len(self.dead) * 8 <= max(owners, 1):
            return
        if self.folder is None:
            self.base, self.delta = self.view(None), Table.empty(self.dtype)
            self.dead = np.zeros(0, dtype=np.uint32)
            return
        spill = Spill(self.folder, self.name, self.dtype, self.positions)  # the live rows, sorted in partitions
        try:
            for part in chunks(self.base) if self.base is not None else ():
                keep = _not_of(part.owner, self.dead) if len(self.dead) else np.ones(len(part.key), dtype=bool)
                spill.add(part.owner[keep], part.key[keep], part.pos[keep])
            spill.add(self.delta.owner, self.delta.key, self.delta.pos)
            name = self.new_name(int(spill.counts.sum()) + spill.buffered)
            spill.write(name)
        finally:
            spill.remove()
        self.adopt(name)

    def remove_others(self) -> None:
        """Delete earlier bases (once the state naming this one is saved)."""
        if self.folder is not None:
            for old in self.folder.glob(f"{self.name}-*.npy"):
                if not old.name.startswith(self.file + "."):
                    old.unlink(missing_ok=True)


def _select(table: Table, keys: np.ndarray) -> Table:
    lo = np.searchsorted(table.key, keys, "left")
    hi = np.searchsorted(table.key, keys, "right")
    n = hi - lo
    rows = seg_index(lo, n)
    return Table(np.asarray(table.key[rows]), np.asarray(table.owner[rows]), np.asarray(table.pos[rows]))


def write_by_owner(folder: Path, name: str, base: Table) -> None:
    """The base's keys ordered by owner (then as in the base: by key) as ``name.byowner.npy``, and
    where each owner's begin as ``name.owners.npy``; a slice of ``cold.CHUNK_ROWS`` rows at a
    time (memory bounded however big the base)."""
    step = cold.CHUNK_ROWS
    (folder / f"{name}.owners.npy").unlink(missing_ok=True)  # (written last: names a whole index)
    n = len(base.key)
    counts = np.zeros(1, dtype=np.int64)
    for at in range(0, n, step):
        c = np.bincount(np.asarray(base.owner[at : at + step]))
        counts = np.pad(counts, (0, max(0, len(c) - len(counts))))
        counts[: len(c)] += c
    release(base.owner)
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    out = np.lib.format.open_memmap(folder / f"{name}.byowner.npy", mode="w+", dtype=base.key.dtype, shape=(n,))
    fill = starts[:-1].copy()  # where each owner's next key goes
    for at in range(0, n, step):
        owner = np.asarray(base.owner[at : at + step])
        order = np.argsort(owner, kind="stable")  # (by owner, then key: the base's order)
        sorted_owner = owner[order].astype(np.int64)
        first = np.flatnonzero(np.concatenate(([True], sorted_owner[1:] != sorted_owner[:-1])))
        rank = np.arange(len(order)) - np.repeat(first, np.diff(np.append(first, len(order))))
        out[fill[sorted_owner] + rank] = np.asarray(base.key[at : at + step])[order]
        fill += np.bincount(sorted_owner, minlength=len(fill))
        release(base.key, base.owner, out)
    out.flush()
    del out
    with atomic_open(folder / f"{name}.owners.npy") as fh:
        np.save(fh, starts)
