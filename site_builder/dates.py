"""Dates that may be known only to the year or the month (archives often know only 2020年度)."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass


class DateError(ValueError):
    """A date that cannot be read or does not exist; the message says which."""


@dataclass(frozen=True, order=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None

    def iso(self) -> str:
        """2020-03-05, 2020-03 or 2020."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def chinese(self) -> str:
        """2020年3月5日, 2020年3月 or 2020年."""
        out = f"{self.year}年"
        if self.month is not None:
            out += f"{self.month}月"
            if self.day is not None:
                out += f"{self.day}日"
        return out

    def sort_key(self) -> tuple[int, int, int]:
        """Orders partial dates before full dates of the same period (2020 < 2020-01-01)."""
        return (self.year, self.month or 0, self.day or 0)

    def as_date(self) -> _dt.date:
        """The first day of the known period (for feeds and sitemaps)."""
        return _dt.date(self.year, self.month or 1, self.day or 1)


_ISO = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")
_CHINESE = re.compile(r"^(\d{4})\s*年(?:度)?\s*(?:(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?)?$")

FORMATS_HINT = "write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日"


def parse_date(value: object) -> PartialDate:
    """Read a front-matter date: a YAML date, 2020-03-05, 2020-03, 2020, 2020年3月5日, 2020年度."""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return PartialDate(value.year, value.month, value.day)
    if isinstance(value, bool) or value is None:
        raise DateError(f"not a date: {value!r}")
    text = str(value).strip()
    import unicodedata

    text = unicodedata.normalize("NFKC", text)
    match = _ISO.match(text) or _CHINESE.match(text)
    if not match:
        raise DateError(f"cannot read {str(value)!r} as a date")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    if not 1 <= year <= 9999:
        raise DateError(f"year {year} is out of range")
    if month is not None and not 1 <= month <= 12:
        raise DateError(f"{text!r} has month {month}, which does not exist")
    if day is not None:
        try:
            _dt.date(year, month, day)  # type: ignore[arg-type]
        except ValueError:
            raise DateError(f"{text!r} is not a real day ({year}年{month}月 has no {day}日)") from None
    return PartialDate(year, month, day)
