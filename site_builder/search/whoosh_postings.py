"""A segment's gram postings as integers, and their way from the documents to term order in bounded memory.

A gram key as an integer: a character c alone is c << 21, a pair (c, d) is c << 21 | (d + 1), so
integer order is the keys' code point order ("a" < "ab" < "b"). A posting packs key << 22 | the
document's number << 8 | its count (at most 255): sorting the packed postings of a segment puts
them in term order, then document order, which is what the W3 writer needs.

``PostingSpill`` takes each document's packed postings as it is written and gives them back sorted,
one key range at a time: a document's (sorted) array is cut at the ranges' bounds and each piece is
appended to its range's temporary file, so that only one range is ever sorted in memory, not the
segment's postings (5,000 generated speeches: 19 million postings, 155 MB as one array, which the
sort and its temporaries held two to three times over).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CHAR_BITS = 21
CHAR_MASK = (1 << CHAR_BITS) - 1
DOC_BITS = 14
KEY_SHIFT = 8 + DOC_BITS


# Characters of a folded text taken at a time: a text longer than this (a speech of several MB) is
# counted a window at a time, so that its arrays (≈ 50 bytes a character) stay bounded by the window.
WINDOW = 1 << 18


def _window_keys(folded: str, lo: int, hi: int) -> np.ndarray:
    """The gram keys of the chars at ``[lo, hi)`` of a folded text and of the pairs that start
    there (the one that straddles ``hi`` included: its second char is read too), sorted."""
    import numpy as np

    codes = np.frombuffer(folded[lo : hi + 1].encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    ok = (codes != 32) & (codes != 0)  # " " and analysis.SEPARATOR are never in a key
    first = codes << np.uint64(CHAR_BITS)
    both = ok[:-1] & ok[1:]
    m = hi - lo
    keys = np.concatenate((first[:m][ok[:m]], first[:-1][both] | (codes[1:][both] + np.uint64(1))))
    keys.sort()
    return keys


def _counted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, how many times each) of sorted keys."""
    import numpy as np

    if not len(keys):
        return keys, keys
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.diff(np.append(starts, len(keys))).astype(np.uint64)


def gram_postings(folded: str, dn: int) -> np.ndarray:
    """The packed postings of one folded search text (the keys of ``_grams`` with their counts), sorted.

    A text longer than ``WINDOW`` is counted a window at a time (the pair across a window's end
    belongs to that window) and the counts of the windows summed: the same postings."""
    import numpy as np  # here, not on import: a search loads this module too

    n = len(folded)
    keys, counts = _counted(_window_keys(folded, 0, min(n, WINDOW)))
    for lo in range(WINDOW, n, WINDOW):
        wkeys, wcounts = _counted(_window_keys(folded, lo, min(n, lo + WINDOW)))
        keys, counts = np.concatenate((keys, wkeys)), np.concatenate((counts, wcounts))
        if len(wkeys):  # the windows' counts of a key summed
            order = np.argsort(keys, kind="stable")
            keys, counts = keys[order], counts[order]
            starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            keys, counts = keys[starts], np.add.reduceat(counts, starts)
    if not len(keys):
        return keys
    counts = np.minimum(counts, 255)
    return (keys << np.uint64(KEY_SHIFT)) | np.uint64(dn << 8) | counts


def gram_term(key: int) -> bytes:
    """The term (UTF-8) of a gram key."""
    second = key & CHAR_MASK
    term = chr(key >> CHAR_BITS) + chr(second - 1) if second else chr(key >> CHAR_BITS)
    return term.encode("utf-8", "surrogatepass")


class PostingSpill:
    """A segment's packed postings, given a document at a time (``add``), read back sorted one key
    range at a time (``read(j)`` for j in ``range(len(spill))``, in key order). The ranges' bounds
    are quantiles of the keys of the first ``SAMPLE`` documents; their files are temporary files in
    ``folder`` (unnamed where the system allows, else ``.tmp-*`` names removed at once)."""

    RANGES = 32
    SAMPLE = 8

    def __init__(self, folder: Path):
        self.folder = folder
        self.pending: list = []  # the first documents' arrays, until the bounds are set
        self.bounds: np.ndarray | None = None
        self.files: list = []

    def add(self, packed: np.ndarray) -> None:
        if self.bounds is None:
            self.pending.append(packed)
            if len(self.pending) >= self.SAMPLE:
                self._start()
        else:
            self._spill(packed)

    def _start(self) -> None:
        import numpy as np

        pending, self.pending = self.pending, []
        keys = np.concatenate(pending) >> np.uint64(KEY_SHIFT) if pending else np.zeros(0, np.uint64)
        keys.sort()
        picks = keys[(np.arange(1, self.RANGES) * len(keys)) // self.RANGES] if len(keys) else keys
        self.bounds = np.unique(picks) << np.uint64(KEY_SHIFT)  # a posting ≥ bound j goes past range j
        for _ in range(len(self.bounds) + 1):  # (closed by read or close)
            self.files.append(tempfile.TemporaryFile(prefix=".tmp-", dir=self.folder))  # noqa: SIM115
        for packed in pending:
            self._spill(packed)

    def _spill(self, packed: np.ndarray) -> None:
        assert self.bounds is not None
        lo = 0
        for f, hi in zip(self.files, [*packed.searchsorted(self.bounds).tolist(), len(packed)]):
            if hi > lo:
                f.write(packed[lo:hi].data)
                lo = hi

    def __len__(self) -> int:
        if self.bounds is None:
            self._start()
        return len(self.files)

    def read(self, j: int) -> np.ndarray:
        """Range ``j``'s postings, sorted (its file is closed: each range is read once)."""
        import numpy as np

        f = self.files[j]
        size = f.tell()
        packed = np.empty(size // 8, dtype=np.uint64)
        f.seek(0)
        if f.readinto(packed.data.cast("B")) != size:
            raise OSError(f"a temporary file of the index's postings in {self.folder} was cut short")
        f.close()
        packed.sort()
        return packed

    def close(self) -> None:
        for f in self.files:
            f.close()
        self.files, self.pending = [], []
