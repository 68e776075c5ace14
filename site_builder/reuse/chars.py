"""Every speech's folded text, kept between builds: passages are extended on the texts of the
speeches that share an anchor, without reading or folding those texts again.

In the build's state folder the texts are one file of deflated code-point arrays (uint16, or uint32
for a text with a character outside the BMP), one after another; a changed speech's text is appended
and its old one left as garbage until that is half the file, when the file is written afresh under a
new name (the state names its file, so a build killed half way leaves the old state consistent).
``texts(owners)`` inflates just the texts a step needs into one array, each after a 0 and the last
ending in one (a large one is a scratch file mapped into memory, so that memory stays bounded).
Without a folder the file's bytes live in memory. Deflated, the texts take about half the space of
the raw arrays (#15: the build cache ≤ 3× the content).
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

COMPACT_MIN = 1 << 17  # bytes: a smaller file is never written afresh
LEVEL = 1  # deflate level: level 6 saves 5 % more at twice the time
SCRATCH_MIN = 1 << 25  # characters: more than this are inflated into a mapped scratch file


class CharStore:
    def __init__(self, folder: Path | None, meta: dict | None = None):
        self.folder = folder
        meta = meta or {}
        self.file: str = meta.get("file", "")
        self.length: int = meta.get("length", 0)  # bytes of the file the state knows of
        # owner → (byte offset, deflated bytes, characters, wide: uint32 code points)
        self.offsets: dict[int, tuple[int, int, int, bool]] = dict(meta.get("offsets", {}))
        self.garbage: int = meta.get("garbage", 0)  # bytes of texts dropped
        self._memory = bytearray() if folder is None else None
        self._fh: BinaryIO | None = None  # open while texts are appended
        self._fd: int | None = None  # open while texts are read

    @classmethod
    def fresh(cls, folder: Path | None) -> CharStore:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("chars-*.bin"):
                old.unlink()
        store = cls(folder)
        if folder is not None:
            store.file = store._new_name()
            (folder / store.file).write_bytes(b"")
        return store

    @classmethod
    def open(cls, folder: Path | None, meta: dict | None) -> CharStore | None:
        """The store the state describes, or None when its file is not as the state says."""
        if folder is None or not meta:
            return None
        store = cls(folder, meta)
        try:
            size = (folder / store.file).stat().st_size
        except OSError:
            return None
        return store if store.file and size >= store.length else None

    def meta(self) -> dict:
        return {"file": self.file, "length": self.length, "offsets": self.offsets, "garbage": self.garbage}

    def _new_name(self) -> str:
        return f"chars-{os.getpid()}-{len(self.offsets)}-{self.length}.bin"

    def drop(self, owner: int) -> None:
        hit = self.offsets.pop(owner, None)
        if hit is not None:
            self.garbage += hit[1]

    def add(self, owner: int, codes: np.ndarray) -> None:
        self.drop(owner)
        wide = bool(len(codes)) and int(codes.max()) >= 0x10000
        blob = zlib.compress(codes.astype(np.uint32 if wide else np.uint16).tobytes(), LEVEL)
        self.offsets[owner] = (self.length, len(blob), len(codes), wide)
        self.length += len(blob)
        self._close_reader()
        if self._memory is not None:
            self._memory += blob
            return
        if self._fh is None:
            assert self.folder is not None
            path = self.folder / self.file
            os.truncate(path, self.length - len(blob))  # a killed build's tail
            self._fh = open(path, "ab")  # noqa: SIM115  (kept open across appends; closed by texts/close)
        self._fh.write(blob)

    def _read(self, at: int, size: int) -> bytes:
        if self._memory is not None:
            return bytes(self._memory[at : at + size])
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._fd is None:
            assert self.folder is not None
            self._fd = os.open(self.folder / self.file, os.O_RDONLY)
        return os.pread(self._fd, size, at)

    def codes(self, owner: int) -> np.ndarray:
        at, size, _n, wide = self.offsets[owner]
        return np.frombuffer(zlib.decompress(self._read(at, size)), dtype=np.uint32 if wide else np.uint16)

    def texts(self, owners: list[int]) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
        """The texts of ``owners`` in one array, each after a 0 and the last ending in one, and
        where each is: owner → (start, length)."""
        wide = any(self.offsets[o][3] for o in owners)
        dtype = np.dtype(np.uint32 if wide else np.uint16)
        where: dict[int, tuple[int, int]] = {}
        at = 1
        for o in owners:
            n = self.offsets[o][2]
            where[o] = (at, n)
            at += n + 1
        out = self._scratch(at, dtype) if at > SCRATCH_MIN and self.folder is not None else np.zeros(at, dtype)
        out[0] = 0
        for o in owners:
            start, n = where[o]
            out[start : start + n] = self.codes(o)
            out[start + n] = 0
        return out, where

    def _scratch(self, length: int, dtype: np.dtype) -> np.ndarray:
        """A writable array backed by a file that is removed at once (the mapping keeps it)."""
        assert self.folder is not None
        path = self.folder / f"scratch-{os.getpid()}.bin"
        with open(path, "wb") as fh:
            fh.truncate(length * dtype.itemsize)
        try:
            return np.memmap(path, dtype=dtype, mode="r+", shape=(length,))
        finally:
            path.unlink()

    def _close_reader(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def compact(self) -> None:
        """Write the live texts afresh when the garbage is more than half of the file."""
        if self.garbage * 2 <= self.length or self.length < COMPACT_MIN:
            return
        live = sorted(self.offsets.items(), key=lambda kv: kv[1][0])
        blobs = [self._read(at, size) for _o, (at, size, _n, _w) in live]
        offsets, at = {}, 0
        for (owner, (_at, size, n, wide)), _blob in zip(live, blobs):
            offsets[owner] = (at, size, n, wide)
            at += size
        self.close()
        if self._memory is not None:
            self._memory = bytearray(b"".join(blobs))
        else:
            assert self.folder is not None
            self.offsets, self.length = offsets, at  # the new file's name says its size
            self.file = self._new_name()
            with open(self.folder / self.file, "wb") as fh:
                fh.write(b"".join(blobs))
        self.offsets, self.length, self.garbage = offsets, at, 0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._close_reader()

    def remove_others(self) -> None:
        """Delete the files of earlier states (once the state naming this one is saved), and any
        scratch file a killed build left behind."""
        if self.folder is not None:
            for old in [*self.folder.glob("chars-*.bin"), *self.folder.glob("scratch-*.bin")]:
                if old.name != self.file:
                    old.unlink(missing_ok=True)
