"""A sorted table kept between builds without being read or written whole: a **base** (columns in
``.npy`` files, memory-mapped), a small **delta** of the rows of speeches changed since (in the
state), and the owners whose base rows are **dead**. A build reads only the base rows of the keys
it looks at; when the delta or the dead grow past an eighth of the base, base and delta are
written afresh as a new base (under a new name: a build killed half way leaves the old state whole).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..segments import seg_index
from .cold import Spill, chunks, release
from .find import Table, _not_of, _order

COLUMNS = ("key", "owner", "pos")


class Layers:
    """Without ``positions`` a table whose positions are all 0 (sentences): its base has no
    ``pos`` column, the rows read as position 0."""

    def __init__(self, name: str, folder: Path | None, meta: dict | None, dtype, positions: bool = True):
        meta = meta or {}
        self.name, self.folder, self.dtype = name, folder, np.dtype(dtype)
        self.positions = positions
        self.file: str = meta.get("file", "")
        self.delta: Table = meta.get("delta") or Table.empty(self.dtype)
        self.dead: np.ndarray = meta.get("dead", np.zeros(0, dtype=np.uint32))
        self.base: Table | None = None
        if self.file and folder is not None:
            try:
                self.base = self._base(self.file)
            except (OSError, ValueError):
                self.base, self.file = None, ""

    def _base(self, name: str) -> Table:
        """The base written as ``name``, its columns memory-mapped."""
        assert self.folder is not None
        cols = [np.load(self.folder / f"{name}.{c}.npy", mmap_mode="r") for c in COLUMNS[: 3 if self.positions else 2]]
        if not self.positions:  # every position 0, without memory: a read-only view of one 0
            cols.append(np.broadcast_to(np.zeros(1, dtype=np.uint32), cols[0].shape))
        return Table(*cols)

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
            if len(live):
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
