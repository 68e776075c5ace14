"""Numbered sections → Markdown headings, decided once per document and per kind of number.

Chinese speeches number their sections 一、 › （一） › 1. / 1． / 1、 › （1）. Whether the items
of one kind are headings or numbered paragraphs is decided for the whole document: when most of
them are short (a line without a sentence inside, or a short first sentence followed by the
paragraph — ``（一）坚持问题导向。要……``), every item of that kind is a heading; otherwise none is.
Levels follow the kind (the highest kind used becomes ``##``), the same everywhere in the
document. Nothing is removed: a heading keeps its number and its final 。.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN = "一二三四五六七八九十百零〇"
#: (kind, pattern) in the order sections nest. Kind 0 is 第一部分 / 第一章 style parts.
MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"^第[{_CN}\d]{{1,4}}(?:部分|章|篇|编)(?:\s+|[、：:．.]|(?=\S))")),
    (1, re.compile(rf"^[{_CN}]{{1,3}}\s*[、．]\s*")),
    (2, re.compile(rf"^[（(]\s*[{_CN}]{{1,3}}\s*[）)]\s*")),
    (3, re.compile(r"^[0-9０-９]{1,2}\s*(?:[．、]|\.(?![0-9０-９]))\s*")),
    (4, re.compile(r"^[（(]\s*[0-9０-９]{1,2}\s*[）)]\s*")),
)

HEAD_MAX = 40
"""A heading (or the first sentence that becomes one) has at most this many characters."""
LONG_HEAD_MAX = 90
"""In a document whose items of a kind are headings, a longer first sentence still is one, up to this."""

_PAIRS = (("“", "”"), ("‘", "’"), ("（", "）"), ("(", ")"), ("《", "》"), ("【", "】"), ("「", "」"), ("『", "』"))
_ENDS = "。！？!?"
_CLOSING = "”’）)》】」』\"'"


def marker_kind(text: str) -> tuple[int, int] | None:
    """(kind, length of the number) when ``text`` starts with a section number, else None."""
    for kind, rx in MARKERS:
        m = rx.match(text)
        if m:
            return kind, m.end()
    return None


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in _PAIRS) and text.count('"') % 2 == 0


@dataclass(frozen=True)
class _Item:
    head: str
    rest: str
    whole: bool  # the line as a whole is short and has no sentence inside


def _split(text: str, marker_len: int, limit: int) -> _Item | None:
    """The heading part of a numbered line: the whole line, or its first sentence."""
    body = text[marker_len:]
    if not body.strip():
        return None
    inner = text[:-1] if text.endswith(tuple(_ENDS)) else text
    if len(text) <= limit and not any(c in inner[marker_len:] for c in _ENDS) and _balanced(text):
        return _Item(text, "", True)
    ends = [i for i in (text.find(c, marker_len) for c in _ENDS) if i >= 0]
    if not ends:
        return None
    cut = min(ends) + 1
    head, rest = text[:cut], text[cut:].strip()
    if len(head) > limit or not rest or not _balanced(head) or rest[0] in _CLOSING or len(head) - marker_len < 2:
        return None
    return _Item(head, rest, False)


@dataclass(frozen=True)
class Block:
    text: str
    level: int | None = None
    """None for a paragraph; 2..6 for a heading (the number of #)."""
    n: int = 0
    """Source line number."""


def structure(lines: list, min_items: dict[int, int] | None = None) -> list[Block]:
    """Paragraphs and headings for ``lines`` (objects with ``.text``, ``.n`` and ``.heading``)."""
    min_items = min_items if min_items is not None else {0: 1, 1: 1, 2: 1, 3: 2, 4: 2}
    kinds: dict[int, list[tuple[int, int]]] = {}
    for i, line in enumerate(lines):
        found = marker_kind(line.text)
        if found and line.heading is None:
            kinds.setdefault(found[0], []).append((i, found[1]))
    heading_kinds: set[int] = set()
    for kind, items in kinds.items():
        split = [_split(lines[i].text, ml, HEAD_MAX) for i, ml in items]
        good = sum(1 for s in split if s is not None)
        whole = sum(1 for s in split if s is not None and s.whole)
        if len(items) >= min_items.get(kind, 1) and good >= 0.5 * len(items) and (whole or good >= 2):
            heading_kinds.add(kind)
    hinted = sorted({line.heading for line in lines if line.heading})
    base = 2 + len(hinted)
    levels = {kind: min(6, base + i) for i, kind in enumerate(sorted(heading_kinds))}
    blocks: list[Block] = []
    for line in lines:
        if line.heading:
            blocks.append(Block(line.text, min(6, 1 + hinted.index(line.heading) + 1), line.n))
            continue
        found = marker_kind(line.text)
        if found and found[0] in levels:
            item = _split(line.text, found[1], LONG_HEAD_MAX)
            if item is not None:
                blocks.append(Block(item.head, levels[found[0]], line.n))
                if item.rest:
                    blocks.append(Block(item.rest, None, line.n))
                continue
        blocks.append(Block(line.text, None, line.n))
    return blocks
