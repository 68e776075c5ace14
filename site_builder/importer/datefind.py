"""Dates named in a text: 2022年11月4日, ２０２１年５月８日, 二〇二三年十二月三十一日, 2023-06-02,
2023.6.2, 2021年度 … Texts are matched after folding (full-width digits → ASCII, 繁 → 简), so
traditional-script and full-width dates read the same."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..dates import DateError, PartialDate, parse_date
from ..search.analysis import fold

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "O": 0,
    "o": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CNY = "〇零○一二三四五六七八九"
_CNN = "一二三四五六七八九十"

FULL = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
ISO = re.compile(r"(?<![\d.])(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})(?![\d.])")
CN_FULL = re.compile(rf"([{_CNY}]{{4}})\s*年\s*([{_CNN}]{{1,2}})\s*月(?:\s*([{_CNN}]{{1,3}})\s*[日号])?")
YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d)")
YEAR = re.compile(r"(?<!\d)(\d{4})\s*年(度)?")
FILE_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-._]?(0[1-9]|1[0-2])[-._]?([0-2]\d|3[01])(?!\d)")
FILE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")

#: A line that is only a date (in brackets or not), possibly with a place: （2023年11月16日，杭州）.
_DATE_ONLY = re.compile(
    rf"^[（(【\[]?\s*(?P<date>\d{{4}}\s*年\s*\d{{1,2}}\s*月(?:\s*\d{{1,2}}\s*[日号])?|"
    rf"\d{{4}}[-./]\d{{1,2}}[-./]\d{{1,2}}|[{_CNY}]{{4}}年[{_CNN}]{{1,2}}月(?:[{_CNN}]{{1,3}}[日号])?)"
    r"\s*(?:(?:[，,、\s]|于|在)\s*(?P<place>[\u3400-\u9fff]{2,12}))?\s*[）)】\]]?$"
)


def _cn_number(text: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 二十五 → 25, 三十一 → 31."""
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(text, 0)


@dataclass(frozen=True)
class DateHit:
    date: PartialDate
    found: str
    """The text the date was read from (folded)."""
    start: int = 0


def _make(y: int, m: int | None, d: int | None, max_year: int) -> PartialDate | None:
    if not 1800 <= y <= max_year:
        return None
    try:
        return parse_date(PartialDate(y, m, d).iso())
    except DateError:
        return None


def dates_in(text: str, max_year: int) -> list[DateHit]:
    """Every date named in ``text``: full dates first, then year-month, then years; each in order."""
    norm = fold(text)
    hits: list[tuple[int, int, DateHit]] = []
    seen: set[int] = set()

    def add(rank: int, m: re.Match[str], y: int, mo: int | None = None, d: int | None = None) -> None:
        if m.start() in seen and rank > 0:
            return
        date = _make(y, mo, d, max_year)
        if date is not None:
            seen.add(m.start())
            hits.append((rank, m.start(), DateHit(date, m.group(0), m.start())))

    for rx in (FULL, ISO):
        for m in rx.finditer(norm):
            add(0, m, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in CN_FULL.finditer(norm):
        y = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        add(0 if m.group(3) else 1, m, y, _cn_number(m.group(2)), _cn_number(m.group(3)) if m.group(3) else None)
    for m in YEAR_MONTH.finditer(norm):
        add(1, m, int(m.group(1)), int(m.group(2)))
    for m in YEAR.finditer(norm):
        add(2, m, int(m.group(1)))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits]


def first_date(text: str, max_year: int, full_only: bool = False) -> DateHit | None:
    hits = dates_in(text, max_year)
    if full_only:
        hits = [h for h in hits if h.date.day is not None]
    return hits[0] if hits else None


def date_line(text: str, max_year: int) -> tuple[DateHit, str | None] | None:
    """(date, place) when the whole line is a date, optionally in brackets and with a place."""
    norm = fold(text)
    m = _DATE_ONLY.match(norm.strip())
    if not m:
        return None
    hit = first_date(m.group("date"), max_year)
    if hit is None:
        return None
    place = m.group("place")
    if place is not None:
        start = m.start("place")
        place = text.strip()[start : start + len(place)] if len(norm.strip()) == len(text.strip()) else place
    return hit, place


def file_name_date(stem: str, max_year: int) -> DateHit | None:
    """A date or year in a file name: 2023-06-02_讲话, 20230602, 2023年6月2日讲话, 2021讲话."""
    hit = first_date(stem, max_year)
    if hit is not None:
        return hit
    norm = fold(stem)
    m = FILE_DATE.search(norm)
    if m:
        date = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), max_year)
        if date:
            return DateHit(date, m.group(0))
    m = FILE_YEAR.search(norm)
    if m:
        date = _make(int(m.group(1)), None, None, max_year)
        if date:
            return DateHit(date, m.group(0))
    return None
