"""Same or nearly the same text in two files: one mechanism for `import` and `check`.

A text's fingerprint is a sample of the hashes of its 8-character shingles, taken after folding
(简/繁, full-width) and with whitespace and punctuation removed, so the same speech saved by two
sources (other line breaks, a title prefix, a few characters changed) still matches. Two texts
are near-duplicates when most of the smaller one's sampled shingles are in the other
(containment), which also catches an excerpt published as a speech of its own.
"""
from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from .analysis import fold

SHINGLE = 8
SAMPLE = 4
"""Keep a shingle when its hash is divisible by this (a quarter of them): fingerprints stay small."""
SMALL = 2000
"""Texts with fewer shingles than this keep them all (sampling would make short texts unreliable)."""
NEAR = 0.9
"""Containment at or above this is a near-duplicate."""
_DROP = re.compile(r"[\W_]+", re.UNICODE)


def fingerprint(text: str) -> frozenset[int]:
    """The sampled shingle hashes of ``text`` (empty for texts shorter than a shingle)."""
    plain = _DROP.sub("", fold(text))
    hashes = {zlib.crc32(plain[i:i + SHINGLE].encode("utf-8")) for i in range(max(0, len(plain) - SHINGLE + 1))}
    if len(hashes) < SMALL:
        return frozenset(hashes)
    return frozenset(h for h in hashes if h % SAMPLE == 0)


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


@dataclass(frozen=True)
class Match:
    name: str
    similarity: float

    @property
    def identical(self) -> bool:
        return self.similarity >= 0.999


class DuplicateIndex:
    """Fingerprints by name; :meth:`find` returns the names whose text (nearly) equals a new one."""

    def __init__(self) -> None:
        self._prints: dict[str, frozenset[int]] = {}
        self._postings: defaultdict[int, list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._prints)

    def add(self, name: str, print_: frozenset[int]) -> None:
        self._prints[name] = print_
        for h in print_:
            self._postings[h].append(name)

    def find(self, print_: frozenset[int], threshold: float = NEAR) -> list[Match]:
        if not print_:
            return []
        shared: Counter[str] = Counter()
        for h in print_:
            shared.update(self._postings.get(h, ()))
        out = []
        for name, count in shared.items():
            other = self._prints[name]
            sim = count / min(len(print_), len(other))
            if sim >= threshold:
                out.append(Match(name, round(sim, 3)))
        out.sort(key=lambda m: (-m.similarity, m.name))
        return out
