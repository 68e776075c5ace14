"""The candidate words of the speeches the related cache does not hold, segmented early (#15).

Segmenting a speech (``related.doc_keywords``) first builds rjieba's dictionary, ≈ 0.2 s at
``import rjieba``, holding the interpreter lock: a thread cannot hide it. So the build, once the
model says which speeches there are (before the reuse stage), starts ``EarlyKeywords``: the cache's
(id, fingerprint) pairs are read here, the texts of the few speeches it lacks are read here too (a
SQLite connection must not cross a fork), and a forked child imports rjieba and segments them
while this process finds the reused passages. The related stage then takes the child's answers
(``take``): the same packed words ``related._extract`` makes, keyed by (id, fingerprint).

Nothing is forked when the process runs other threads, when rjieba is already imported (a
long-lived process: segmenting here is cheap), for more than ``MAX_DOCS`` speeches (the related
stage's own workers do those), or with ``SITE_BUILDER_NO_FORK``. A child that dies or answers
nothing leaves ``take`` empty: the related stage segments those speeches itself (same answer).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from .workers import Child

MAX_DOCS = 200  # more speeches to segment: the related stage's workers do them


def _child_work(pairs: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    from .related import _extract_pairs

    return _extract_pairs(pairs)


class EarlyKeywords:
    """``stored``: the related cache as ``related._load_cache`` read it, when ``loaded`` (a small
    update: the related stage takes it from here, not reading it again); ``take()``: (id, fingerprint) → packed candidate words of the
    speeches segmented by the child."""

    def __init__(self, docs: Sequence, cache_dir: Path | None):
        from .related import _load_cache

        self.cache_dir = cache_dir
        self.stored = _load_cache(cache_dir)
        self.child: Child | None = None
        self.keys: list[tuple[str, str]] = []
        self._got: dict[tuple[str, str], tuple[str, bytes]] | None = None
        known = set(zip(self.stored.ids, self.stored.fingerprints)) if self.stored is not None else set()
        todo = [d for d in docs if (d.id, d.fingerprint) not in known]
        self.loaded = len(todo) <= MAX_DOCS
        if not self.loaded:  # (a big update: the cache is not held through the reuse stage, the related stage reads it)
            self.stored = None
        elif todo and not _segmenter_loaded() and _may_fork():
            self.keys = [(d.id, d.fingerprint) for d in todo]
            self._start([(d.title, d.body) for d in todo])

    @property
    def pid(self) -> int | None:
        """The child's process id while it is not reaped."""
        return self.child.pid if self.child is not None else None

    def _start(self, pairs: list[tuple[str, str]]) -> None:
        self.child = Child(lambda: pickle.dumps(_child_work(pairs), protocol=pickle.HIGHEST_PROTOCOL))

    def take(self) -> dict[tuple[str, str], tuple[str, bytes]]:
        """The child's answers (waited for), or {} when it died or none was started."""
        if self._got is None:
            self._got = {}
            if self.child is not None and self.child.pid is not None:
                data = self.child.answer()
                try:
                    packed = pickle.loads(data) if data else []
                except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
                    packed = []
                if len(packed) == len(self.keys):
                    self._got = dict(zip(self.keys, packed))
        return self._got

    def close(self) -> None:
        """The build stopped before the related stage: the child is not waited for its words."""
        if self.child is not None and self.child.pid is not None:
            self._got = {}
            self.child.close()

    def __del__(self) -> None:
        if getattr(self, "child", None) is not None:
            self.close()


def _segmenter_loaded() -> bool:
    """rjieba imported already (its dictionary built): segmenting here costs little."""
    return "rjieba" in sys.modules


def _may_fork() -> bool:
    return Child.allowed()
