"""The folded texts the reuse stage extends passages on, none of them kept by the stage between
builds (#15: the build cache ≤ 3× the content): a cold build gathers them as it folds every
speech; a later build takes an unchanged speech's from the Whoosh index's text store (the same
code points, read without inflating or folding: ``whoosh_summary.folded_bodies``), else folds
its plain text from the build cache again (a numpy table lookup).

``Gather`` joins texts into one array, each after a 0 and the last ending in one (uint16 code
points, or uint32 when a text has a character outside the BMP): in memory, or past
``SCRATCH_MIN`` characters in a scratch file mapped into memory and removed at once, so that
memory stays bounded however many texts a step needs. The state keeps per speech only the length
and a CRC-32 of its folded text (``Folded``): a text made again that differs (the plain text made
otherwise under the same digest) is ``Stale``, and the stage starts afresh.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .prints import folded_narrow

SCRATCH_MIN = 1 << 25  # characters: more than this are gathered into a mapped scratch file
_WRITE = 1 << 22  # bytes gathered in memory before they are appended to the scratch file


class Stale(Exception):
    """A folded text made again is not the one the state was computed from."""


def _narrow(codes: np.ndarray) -> tuple[np.ndarray, bool]:
    """(codes as uint16, or as uint32 when one is outside the BMP; whether it is wide)."""
    wide = bool(len(codes)) and int(codes.max()) >= 0x10000
    return codes.astype(np.uint32 if wide else np.uint16, copy=False), wide


def check(codes: np.ndarray) -> tuple[int, int]:
    """What the state keeps of a folded text: (its length, CRC-32 of its narrowed code points)."""
    return len(codes), zlib.crc32(_narrow(codes)[0].data)  # (Gather.add gives the same)


class Gather:
    """Folded texts joined into one array (``finish``): where each is, owner → (start, length).
    ``scratch_min``: characters gathered in memory before they go to the scratch file (a cold
    build's: 0, none held); ``breaks``: also keep where every 0 of the array is (``zeros``)."""

    def __init__(self, folder: Path | None, scratch_min: int | None = None, breaks: bool = False):
        self.folder = folder
        self.scratch_min = SCRATCH_MIN if scratch_min is None else scratch_min
        self.where: dict[int, tuple[int, int]] = {}
        self.size = 1  # characters so far, with the 0 before the first text
        self.buf = bytearray(2)  # uint16 code points not yet in the scratch file
        self.wide: dict[int, np.ndarray] = {}  # texts outside the BMP, put in by finish
        self.path: Path | None = None
        self.fh: BinaryIO | None = None
        self.breaks = bytearray(np.zeros(1, dtype=np.int64).data) if breaks else None  # int64: the 0 before the first

    def add(self, owner: int, codes: np.ndarray, known: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """Append a folded text (``prints.folded_codes``) and return its ``check``; with ``known``,
        only if that is its check (else None, nothing appended)."""
        narrow, wide = _narrow(codes)
        n = len(codes)
        crc = zlib.crc32(narrow.data)
        if known is not None and (n, crc) != tuple(known):
            return None
        self.where[owner] = (self.size, n)
        if self.breaks is not None:  # the text's line breaks and the 0 after it
            zeros = np.flatnonzero(narrow == 0)
            self.breaks += np.concatenate((zeros, [n])).astype(np.int64).__add__(self.size).data
        self.size += n + 1
        if wide:
            self.wide[owner] = narrow
            narrow = np.zeros(n, dtype=np.uint16)
        self.buf += narrow.data.cast("B")
        self.buf += b"\0\0"
        if self.folder is not None and (self.fh is not None or self.size > self.scratch_min):
            if self.fh is None:
                self.path = self.folder / f"scratch-{os.getpid()}.bin"
                self.fh = open(self.path, "wb")  # noqa: SIM115  (closed by finish/close)
            if len(self.buf) >= _WRITE:
                self.fh.write(self.buf)
                self.buf = bytearray()
        return n, crc

    def finish(self) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
        """(the texts in one array, owner → (start, length)); a scratch file is removed here."""
        if self.fh is None:
            chars: np.ndarray = np.frombuffer(self.buf, dtype=np.uint16)
        else:
            self.fh.write(self.buf)
            self.buf = bytearray()
            self.fh.close()
            self.fh = None
            assert self.path is not None
            try:
                chars = np.memmap(self.path, dtype=np.uint16, mode="r+", shape=(self.size,))
                if self.wide:
                    chars = self._widened(chars)
            finally:
                self.path.unlink(missing_ok=True)  # the mapping keeps it
            return chars, self.where
        if self.wide:
            chars = chars.astype(np.uint32)
        for owner, codes in self.wide.items():
            start, n = self.where[owner]
            chars[start : start + n] = codes
        return chars, self.where

    def zeros(self) -> np.ndarray:
        """Where every 0 of ``finish``'s array is (line breaks and the 0 around each text), sorted."""
        assert self.breaks is not None
        return np.frombuffer(self.breaks, dtype=np.int64)

    def _widened(self, narrow: np.ndarray) -> np.ndarray:
        """The mapped uint16 texts copied, slice by slice, into a mapped uint32 scratch file with the wide texts in."""
        assert self.folder is not None
        path = self.folder / f"scratch-{os.getpid()}-wide.bin"
        with open(path, "wb") as fh:
            fh.truncate(self.size * 4)
        try:
            out = np.memmap(path, dtype=np.uint32, mode="r+", shape=(self.size,))
        finally:
            path.unlink()
        for at in range(0, self.size, _WRITE):
            out[at : at + _WRITE] = narrow[at : at + _WRITE]
        for owner, codes in self.wide.items():
            start, n = self.where[owner]
            out[start : start + n] = codes
        return out

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class Folded:
    """Every speech's folded text on demand: ``texts(owners)`` reads their plain texts (``read``),
    folds them, checks each against what the state recorded (``known``: owner → ``check``)."""

    def __init__(self, folder: Path | None, known: dict[int, tuple[int, int]] | None = None):
        self.folder = folder
        self.known: dict[int, tuple[int, int]] = dict(known or {})

    def record(self, owner: int, codes: np.ndarray) -> None:
        self.known[owner] = check(codes)

    def recorded(self, owner: int, known: tuple[int, int] | None) -> None:
        assert known is not None
        self.known[owner] = known

    def drop(self, owner: int) -> None:
        self.known.pop(owner, None)

    def texts(
        self, owners: list[int], plain: Callable[[int], str], quick: Iterable[np.ndarray | None] | None = None
    ) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
        """The folded texts of ``owners`` in one array, each after a 0 and the last ending in one,
        and where each is: owner → (start, length). ``quick`` gives each owner's folded text, or
        None, in order (the Whoosh index's copy); one that is not as recorded, or None, is made
        from ``plain(owner)``, its plain text."""
        gather = Gather(self.folder)
        ahead = iter(quick) if quick is not None else None
        try:
            for o in owners:
                known = self.known.get(o)
                if known is None:
                    raise Stale(o)
                codes = next(ahead, None) if ahead is not None else None
                taken = codes is not None and gather.add(o, codes, known) is not None
                if not taken and gather.add(o, folded_narrow(plain(o)), known) is None:
                    raise Stale(o)
            return gather.finish()
        finally:
            gather.close()
            close = getattr(ahead, "close", None)
            if close is not None:
                close()

    def remove_others(self) -> None:
        """Delete the texts' files of earlier versions of this stage and any scratch file a
        killed build left behind."""
        if self.folder is not None:
            for old in [*self.folder.glob("chars-*.bin"), *self.folder.glob("scratch-*.bin")]:
                old.unlink(missing_ok=True)
