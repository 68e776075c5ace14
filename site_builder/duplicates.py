"""Same or nearly the same text in two files: one mechanism for `import` and `check`; and the
same title and date in two files (a speech saved twice), cheap enough for every `build`.

A text's fingerprint is the set of hashes of its sentences, taken after folding (简/繁,
full-width) and with whitespace and punctuation removed, so the same speech saved by two sources
(other line breaks, another title line, a few characters changed) still matches: only the
sentences that changed differ. Two texts are near-duplicates when most sentences of the smaller
one are in the other (containment), which also catches an excerpt published on its own. The cost
is one pass over the text, so `check` can afford it on a whole archive.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from .search.analysis import fold

MIN_SENTENCE = 6
"""Sentences shorter than this (after removing punctuation) are ignored: 同志们, 谢谢大家."""
COMMON = 50
"""A sentence found in more speeches than this is not counted as shared (formulaic text)."""
NEAR = 0.8
"""Containment at or above this is a near-duplicate."""
_SENTENCES = re.compile(r"[。！？；!?;\n\u2028\u2029]+")
_KEEP = re.compile(r"[^\w\x00]+|_+")


def fingerprint(text: str) -> frozenset[int]:
    """The hashes of the sentences of ``text`` (empty for a text with no sentence long enough)."""
    # Sentence ends and line breaks become one mark before folding (fold() turns breaks into
    # spaces); then everything that is not a letter or a digit goes, except that mark.
    plain = _KEEP.sub("", fold(_SENTENCES.sub("\x00", text)))
    crc = zlib.crc32
    return frozenset(crc(p.encode("utf-8")) for p in plain.split("\x00") if len(p) >= MIN_SENTENCE)


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
            names = self._postings.get(h, ())
            if len(names) <= COMMON:  # a sentence in very many speeches tells nothing about which
                shared.update(names)
        out = []
        for name, count in shared.items():
            other = self._prints[name]
            sim = count / min(len(print_), len(other))
            if min(len(print_), len(other)) < 3:  # too short to tell
                continue
            if sim >= threshold:
                out.append(Match(name, round(sim, 3)))
        out.sort(key=lambda m: (-m.similarity, m.name))
        return out


def duplicate_pairs(texts: dict[str, str], threshold: float = NEAR) -> list[tuple[str, str, float]]:
    """(a, b, similarity) for every pair of names whose texts are (nearly) the same, a < b."""
    index = DuplicateIndex()
    pairs: list[tuple[str, str, float]] = []
    for name in sorted(texts):
        print_ = fingerprint(texts[name])
        for match in index.find(print_, threshold):
            pairs.append((match.name, name, match.similarity))
        index.add(name, print_)
    return pairs


_NOT_TITLE = re.compile(r"[^\w]+|_+")


def title_key(title: str) -> str:
    """A title as compared for duplicates: folded (简/繁, full-width, case, invisible characters)
    without spaces and punctuation, so 《…》 or a full-width comma does not make two titles differ."""
    return _NOT_TITLE.sub("", fold(title))


def same_title_and_date(items: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """(a, b) for every name b whose (title, date) equals that of an earlier name a, a < b
    (each name of a group is paired with the group's first). ``items``: name → (title, date),
    the date as text (2020-03-05, 2020-03, 2020: a year alone is not the same date as a day)."""
    first: dict[tuple[str, str], str] = {}
    pairs: list[tuple[str, str]] = []
    for name in sorted(items):
        title, date = items[name]
        key = (title_key(title), date)
        if not key[0]:
            continue
        if key in first:
            pairs.append((first[key], name))
        else:
            first[key] = name
    return pairs
