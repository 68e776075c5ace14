"""A query's filters (year, meeting type, theme, speaker, organisation): the speeches they let
through, as presence bits intersected with a term's candidates before any text is scanned; and the
facet counts of a hit set."""

from __future__ import annotations

from collections import Counter
from itertools import chain, compress

from . import query as querymod
from .whoosh_snapshot import _Snapshot

_parse_year = querymod.parse_year


def _facet_dicts(hits: set[int], snap: _Snapshot) -> dict:
    years: Counter = Counter(map(snap.years.__getitem__, hits))
    types = Counter(map(snap.types.__getitem__, hits))
    types.pop("", None)
    themes = Counter(chain.from_iterable(map(snap.themes.__getitem__, hits)))
    speakers = Counter(map(snap.speakers.__getitem__, hits))
    orgs = Counter(map(snap.orgs.__getitem__, hits))
    for c in (speakers, orgs):
        c.pop("", None)

    def by_count(c: Counter) -> dict:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return {
        "year": {str(y): years[y] for y in sorted(years, reverse=True)},
        "meeting_type": by_count(types),
        "theme": by_count(themes),
        "speaker": by_count(speakers),
        "organization": by_count(orgs),
    }


class _Filters:
    def __init__(self, years, meeting_type, theme, speaker, organization):
        self.years = years
        self.values = [
            (v, name)
            for v, name in (
                (meeting_type, "by_type"),
                (theme, "by_theme"),
                (speaker, "by_speaker"),
                (organization, "by_org"),
            )
            if v is not None
        ]

    def in_years(self, y: int) -> bool:
        return self.years is None or self.years[0] <= y <= self.years[1]

    def others(self, snap: _Snapshot) -> set[int] | None:
        """The speeches that pass the filters other than the year (None: no such filter)."""
        allowed: set[int] | None = None
        for value, name in self.values:
            docs = getattr(snap, name).get(value, set())
            allowed = set(docs) if allowed is None else allowed & docs
        return allowed

    def allowed(self, snap: _Snapshot) -> _Allowed | None:
        """The speeches that pass every filter (None: no filter). A query's terms are looked for
        only in these: the texts of speeches the filters leave out are never scanned."""
        if self.years is None and not self.values:
            return None
        bits = -1
        if self.years is not None:
            bits = 0
            for y in snap.by_year:
                if self.in_years(y):
                    bits |= snap.bits_of("by_year", y)
        for value, name in self.values:
            bits &= snap.bits_of(name, value)
        return _Allowed(bits, snap.total_docs)


class _Allowed:
    """The speeches passing a query's filters, one byte a speech in ``bits`` (as ``key_counts``'
    presence bits). ``docs & allowed`` (or ``allowed & docs``) is the set of those of ``docs``."""

    __slots__ = ("bits", "n")

    def __init__(self, bits: int, n: int):
        self.bits, self.n = bits, n

    def __and__(self, docs) -> set[int]:
        mask = (self.bits & ((1 << (8 * self.n)) - 1)).to_bytes(self.n, "little")
        return set(compress(docs, map(mask.__getitem__, docs)))

    __rand__ = __and__
