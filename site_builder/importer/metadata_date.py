"""The date of a speech from its text: every date it gives — the date line, a byline, a dateline
subtitle, notes, the title, a news lead, a 求是-style closing note, dropped lines, the year of the
title, the file name — best first, then the choice among them (a fuller date of the same year wins
over a bare year; different years are noted and marked for review)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ..dates import PartialDate
from ..search.analysis import fold
from . import datefind, people
from .inferred import Metadata, Value
from .layout import Line

#: A note in brackets: （根据录音整理）, 【2023年6月2日】.
NOTE = re.compile(r"^[（(【\[].*[）)】\]]$")

_LEAD_PLACE = re.compile(
    r"(?:会议|大会|座谈会|论坛|峰会|全会|典礼|仪式|开幕式|会)在(?P<place>[\u3400-\u9fff]{2,8}?)"
    r"(?:隆重)?(?:召开|举行|开幕|举办)"
)


#: 求是-style note at the end: *这是王强同志2023年10月8日在…会议上讲话的一部分。
FOOTNOTE = re.compile(
    r"^[*＊]?\s*(?:这是|本文是|本文系)(?P<who>.{0,16}?)(?P<date>(?:\d{4}|[〇零○一二三四五六七八九]{4})年"
    r"[\d一二三四五六七八九十]{1,2}月[\d一二三四五六七八九十]{1,3}[日号])在(?P<meeting>.{2,60}?)"
    r"(?:上|时|期间)?的?(?:讲话|演讲|报告|致辞|发言)"
)


_AddDate = Callable[[datefind.DateHit | None, str, str], None]


def infer_date(
    lines: list[Line],
    head: list[str],
    tail_start: int,
    datelines: list[str],
    filename: str,
    meta: Metadata,
    max_year: int,
    extra_lines: Sequence[tuple[int, str]],
) -> None:
    tiers: list[tuple[PartialDate, str, str]] = []  # (date, source, how), best first

    def add(hit: datefind.DateHit | None, source: str, how: str) -> None:
        if hit is not None:
            tiers.append((hit.date, source, f"{hit.found} ({how})"))

    title = meta.values.get("title")
    _dates_at_the_head(lines, head, datelines, meta, max_year, add)
    _dates_at_the_end(lines, head, tail_start, meta, max_year, add)
    for n, text in extra_lines:
        hit = datefind.first_date(text, max_year, full_only=True)
        add(hit, f"text:{n}", f"the dropped line {n}")
    if title is not None:
        hits = [h for h in datefind.dates_in(str(title.value), max_year) if h.date.day is None and h.date.month is None]
        add(hits[0] if hits else None, title.source, "the year in the title")
    stem = Path(filename).stem
    add(datefind.file_name_date(stem, max_year), "file name", f"the file name {Path(filename).name}")
    if tiers:
        _choose_date(tiers, meta)


def _dates_at_the_head(
    lines: list[Line], head: list[str], datelines: list[str], meta: Metadata, max_year: int, add: _AddDate
) -> None:
    """The dates of the head's lines (date line, byline, notes), beside and in the title."""
    after = max(meta.title_lines, default=-1)
    order = [i for i in range(len(head)) if i > after] + [i for i in range(len(head)) if i <= after]
    for i in order:  # the lines right below the title first (a covering notice has dates too)
        kind, n = head[i], lines[i].n
        if kind == "date":
            hit, place = datefind.date_line(lines[i].text, max_year)  # type: ignore[misc]
            add(hit, f"text:{n}", f"the date line {n}")
            if place and "location" not in meta.values:
                meta.values["location"] = Value(place, f"text:{n}", f"the place on the date line {n}")
        elif kind == "byline":
            b = people.byline(lines[i].text)
            if b and b.date_text:
                add(datefind.first_date(b.date_text, max_year), f"text:{n}", f"the byline on line {n}")
        elif kind == "note" or (kind == "subtitle" and lines[i].text in datelines):
            add(datefind.first_date(lines[i].text, max_year, full_only=True), f"text:{n}", f"line {n}")
    for i, rest in meta.remainder.items():
        add(datefind.first_date(rest, max_year), f"text:{lines[i].n}", f"beside the title on line {lines[i].n}")
    title = meta.values.get("title")
    if title is not None:
        add(datefind.first_date(str(title.value), max_year, full_only=True), title.source, "in the title")


def _dates_at_the_end(
    lines: list[Line], head: list[str], tail_start: int, meta: Metadata, max_year: int, add: _AddDate
) -> None:
    """The dates of the closing lines (date line, byline, footnote, note), then of a news lead."""
    for line in reversed(lines[tail_start:]):
        found = datefind.date_line(line.text, max_year)
        b = people.byline(line.text)
        if found:
            add(found[0], f"text:{line.n}", f"the date line {line.n} at the end")
        elif b and b.date_text:
            add(datefind.first_date(b.date_text, max_year), f"text:{line.n}", f"the byline on line {line.n}")
    for line in lines[max(0, len(lines) - 6) :]:
        m = FOOTNOTE.match(fold(line.text))
        if m:
            add(
                datefind.first_date(m.group("date"), max_year, full_only=True),
                f"text:{line.n}",
                f"the note on line {line.n}",
            )
    for line in lines[tail_start:]:
        if NOTE.match(line.text.strip()):
            add(
                datefind.first_date(line.text, max_year, full_only=True), f"text:{line.n}", f"the note on line {line.n}"
            )
    lead = lines[len(head) : len(head) + 2]
    for line in lead:
        place = _LEAD_PLACE.search(line.text[:80])
        if place and "location" not in meta.values:
            meta.values["location"] = Value(place.group("place"), f"text:{line.n}", f"the news lead on line {line.n}")
        hit = datefind.first_date(line.text[:40], max_year, full_only=True)
        if hit is not None and hit.start <= 2:
            add(hit, f"text:{line.n}", f"the news lead on line {line.n}")


def _choose_date(tiers: list[tuple[PartialDate, str, str]], meta: Metadata) -> None:
    """The best of the dates found (``tiers``, best first) into ``meta``; a note when they disagree."""
    date, source, how = tiers[0]
    # A year from the title (2021年度) with a fuller date of the same year elsewhere: use the fuller one.
    if date.month is None:
        fuller = [t for t in tiers if t[0].year == date.year and t[0].month is not None and t[1] != "file name"]
        if fuller:
            date, source, how = fuller[0]
    meta.values["date"] = Value(date, source, how, review=source == "file name")
    years = {t[0].year for t in tiers}
    if len(years) > 1:
        meta.notes.append(
            "the text and the file name name different years ("
            + "、".join(map(str, sorted(years)))
            + f"); used {date.iso()} from {how}"
        )
        if any(t[0].year != date.year and t[1] != "file name" for t in tiers[:3]):
            meta.values["date"].review = True
