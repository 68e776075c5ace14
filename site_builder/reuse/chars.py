"""Every speech's folded text in one array, kept between builds: passages are extended on it
without reading or folding the other speeches' texts again.

In the build's state folder the array is one file of code points (uint16, or uint32 once a text
has a character outside the BMP), each text after a 0 and ending in one; a changed speech's text
is appended and its old one left as garbage until that is half the file, when the file is written
afresh under a new name (the state names its file, so a build killed half way leaves the old
state consistent). Without a folder it lives in memory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

COMPACT_MIN = 1 << 16  # code points: a smaller array is never written afresh


class CharStore:
    def __init__(self, folder: Path | None, meta: dict | None = None):
        self.folder = folder
        meta = meta or {}
        self.file: str = meta.get("file", "")
        self.dtype = np.dtype(meta.get("dtype", "uint16"))
        self.length: int = meta.get("length", 1)  # the leading 0
        self.offsets: dict[int, tuple[int, int]] = dict(meta.get("offsets", {}))
        self.garbage: int = meta.get("garbage", 0)
        self._memory: list[np.ndarray] = [np.zeros(1, dtype=self.dtype)] if folder is None else []
        self._array: np.ndarray | None = None
        self._fh: BinaryIO | None = None  # open while texts are appended

    @classmethod
    def fresh(cls, folder: Path | None) -> CharStore:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("chars-*.bin"):
                old.unlink()
        store = cls(folder)
        if folder is not None:
            store.file = store._new_name()
            (folder / store.file).write_bytes(np.zeros(1, dtype=store.dtype).tobytes())
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
        return store if store.file and size >= store.length * store.dtype.itemsize else None

    def meta(self) -> dict:
        return {
            "file": self.file,
            "dtype": self.dtype.name,
            "length": self.length,
            "offsets": self.offsets,
            "garbage": self.garbage,
        }

    def _new_name(self) -> str:
        return f"chars-{os.getpid()}-{len(self.offsets)}-{self.length}.bin"

    def drop(self, owner: int) -> None:
        hit = self.offsets.pop(owner, None)
        if hit is not None:
            self.garbage += hit[1] + 1

    def add(self, owner: int, codes: np.ndarray) -> None:
        self.drop(owner)
        if self.dtype == np.uint16 and len(codes) and int(codes.max()) >= 0x10000:
            self._widen()
        data = np.concatenate((codes.astype(self.dtype), np.zeros(1, dtype=self.dtype)))
        self.offsets[owner] = (self.length, len(codes))
        self.length += len(data)
        self._array = None
        if self.folder is None:
            self._memory.append(data)
            return
        if self._fh is None:
            path = self.folder / self.file
            os.truncate(path, (self.length - len(data)) * self.dtype.itemsize)  # a killed build's tail
            self._fh = open(path, "ab")  # noqa: SIM115  (kept open across appends; closed by array/close)
        self._fh.write(data.tobytes())

    def array(self) -> np.ndarray:
        """All texts; a text is array[start : start + length] of ``offsets[owner]``."""
        if self._array is None:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            if self.folder is None:
                self._memory = [np.concatenate(self._memory)]
                self._array = self._memory[0]
            else:
                self._array = np.memmap(self.folder / self.file, dtype=self.dtype, mode="r", shape=(self.length,))
        return self._array

    def _widen(self) -> None:
        old = self.array()
        self.dtype = np.dtype("uint32")
        self._rewrite(lambda: old.astype(np.uint32))

    def _rewrite(self, data) -> None:
        if self.folder is None:
            self._memory = [data()]
            self._array = None
            return
        name = self._new_name()
        with open(self.folder / name, "wb") as fh:
            fh.write(np.ascontiguousarray(data()).tobytes())
        self.file, self._array = name, None

    def compact(self) -> None:
        """Write the live texts afresh when the garbage is more than half of the array."""
        if self.garbage * 2 <= self.length or self.length < COMPACT_MIN:
            return
        old = self.array()
        parts, offsets, at = [np.zeros(1, dtype=self.dtype)], {}, 1
        for owner, (start, n) in sorted(self.offsets.items(), key=lambda kv: kv[1][0]):
            parts.append(old[start : start + n + 1])
            offsets[owner] = (at, n)
            at += n + 1
        self._rewrite(lambda: np.concatenate(parts))
        self.offsets, self.length, self.garbage = offsets, at, 0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._array = None

    def remove_others(self) -> None:
        """Delete the files of earlier states (once the state naming this one is saved)."""
        if self.folder is not None:
            for old in self.folder.glob("chars-*.bin"):
                if old.name != self.file:
                    old.unlink(missing_ok=True)
