"""Every speech's parsed record (metadata, table of contents, counts, problems) in one blob (#15).

A rebuild needs the records of all speeches, not only of those parsed again. Read as one pickle per
row of the build cache's ``parsed`` table they cost 0.33–0.39 s CPU at 10,000 speeches (the rows'
fetch, 10,000 inflations and unpicklings). The build therefore also keeps them together, as plain
tuples marshalled into one blob (``BuildCache.parsed_base``): read in one go, and turned into
objects without the pickle machinery. Not deflated: inflating its 13 MB at 10,000 speeches took
0.046 s, twice the unmarshalling; deflated it would be 4 MB of a 710 MB cache. A table of contents stays marshalled (``PackedToc``),
also one parsed by this build (``packed``), and its tuples are made each time it is read: most
builds render few speech pages, and the tables of contents are most of the records' bytes (about
1.3 of 1.5 KB a speech at 10,000; 4.2 KB as tuples).

The blob is a *base*: it holds the records of some build, keyed by (source, digest) — a key's
record never changes, since the digest is the file's and every other input of parsing resets the
cache (``BuildCache.reset_docs``). A later build takes from it the records it has, reads the few
others from their rows, and writes a new base only when many are missing or unused (``stale``), so
that one changed speech rewrites nothing here. A record with a value that is not plain data (a
future field of another type) is left out and read from its row; a blob of another layout or
damaged is as no blob. Its head names the fields of the record's class (``loader.Parsed``) and of
the metadata and problems: a blob made for other fields is no blob, and a class whose fields are not
the ones a record holds (``_LAYOUT``: a field added without this module knowing it) gets no base.
"""

from __future__ import annotations

import dataclasses
import marshal
from collections.abc import Iterable

from .dates import PartialDate
from .errors import Problem
from .markup import Toc
from .schema import SpeechMeta

VERSION = 3
_META = tuple(f.name for f in dataclasses.fields(SpeechMeta))
_PROBLEM = tuple(f.name for f in dataclasses.fields(Problem))
_PLAIN = (str, int, float, bool, type(None))
_LAYOUT = ("meta", "toc", "word_count", "reading_minutes", "problems")  # what a record holds, in order


def _head(parsed_class) -> tuple:
    return (VERSION, _META, _PROBLEM, tuple(f.name for f in dataclasses.fields(parsed_class)), marshal.version)


class PackedToc(Toc):
    """A table of contents kept as marshal bytes (pickled as a plain ``Toc``). Its tuples are made
    when read and not kept: a page's key reads them (``repr``), its template iterates them (in a
    render worker), and then they are garbage; held, they were 4.2 KB a speech (15 headings) into
    the index stages' arenas, against 0.9 KB packed (#15)."""

    __slots__ = ("_packed",)

    def __init__(self, packed: bytes):
        self._packed = packed
        self._entries = None

    @property
    def raw(self) -> tuple[tuple[int, str, str], ...]:  # type: ignore[override]
        return marshal.loads(self._packed)


def packed(toc: Toc) -> Toc:
    """``toc`` as a ``PackedToc`` (itself when it is one, or when its entries are not plain data)."""
    if type(toc) is not Toc or type(toc.raw) is not tuple:
        return toc
    try:
        return PackedToc(marshal.dumps(toc.raw))
    except ValueError:  # (not plain data)
        return toc


def _plain(value) -> bool:
    return type(value) in _PLAIN or (type(value) is tuple and all(type(v) in _PLAIN for v in value))


def _row(parsed) -> tuple | None:
    """A record as plain tuples, or None when some value would not come back the same."""
    meta = parsed.meta
    if meta is None:
        fields = None
    else:
        if type(meta) is not SpeechMeta or type(meta.date) is not PartialDate:
            return None
        fields = tuple(
            (meta.date.year, meta.date.month, meta.date.day) if name == "date" else getattr(meta, name)
            for name in _META
        )
        if not all(map(_plain, fields)):
            return None
    toc = packed(parsed.toc)
    if type(toc) is not PackedToc:
        return None
    problems = tuple(tuple(getattr(p, name) for name in _PROBLEM) for p in parsed.problems)
    if any(type(p) is not Problem for p in parsed.problems) or not all(map(_plain, (x for p in problems for x in p))):
        return None
    if type(parsed.word_count) is not int or type(parsed.reading_minutes) is not int:
        return None
    return (fields, toc._packed, parsed.word_count, parsed.reading_minutes, problems)


def encode(records: Iterable[tuple[tuple[str, str], object]], parsed_class: type) -> bytes:
    """The blob of ``records`` ((source, digest), a ``parsed_class``: loader.Parsed); those not
    plain data are left out (all of them when the class has fields a record does not hold)."""
    rows = []
    head = _head(parsed_class)
    for (source, digest), parsed in records if head[3] == _LAYOUT else ():
        row = _row(parsed) if type(parsed) is parsed_class else None
        if row is not None:
            rows.append(((source, digest), row))
    return marshal.dumps((head, rows))


def decode(blob: bytes | None, parsed_class: type) -> dict[tuple[str, str], tuple]:
    """(source, digest) → its plain record (``parsed_of`` makes the ``parsed_class``); {} for no
    blob, a blob of another layout or made for other fields, or a damaged one."""
    head = _head(parsed_class)
    if not blob or head[3] != _LAYOUT:
        return {}
    try:
        found, rows = marshal.loads(blob)
        if found != head:
            return {}
        return dict(rows)
    except (ValueError, EOFError, TypeError, IndexError, KeyError):
        return {}


def parsed_of(row: tuple, parsed_class):
    """The ``parsed_class`` (loader.Parsed) object of a plain record."""
    fields, toc, word_count, reading_minutes, problems = row
    new = object.__new__
    meta = None
    if fields is not None:
        values = dict(zip(_META, fields))
        date = new(PartialDate)
        date.__dict__.update(zip(("year", "month", "day"), values["date"]))
        values["date"] = date
        meta = new(SpeechMeta)
        meta.__dict__.update(values)
    parsed = new(parsed_class)
    parsed.__dict__.update(
        meta=meta,
        toc=PackedToc(toc),
        word_count=word_count,
        reading_minutes=reading_minutes,
        problems=[Problem(*p) for p in problems],
    )
    return parsed
