"""A generation's per-speech values as numpy columns (made once per opened snapshot), and what an
answer computes over them for a whole hit set at once: scores, the first hits in order, facets,
the trend by year. Every number is the one the per-speech Python definitions give (``ranking``,
``passages``): the same float operations in the same order, integers kept exact."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

from . import passages, ranking

# A score within this of the k-th best may still rank among the first k once rounded to 6 decimals.
_ROUNDING_MARGIN = 4e-6


class _Codes:
    """One value a speech (meeting type, speaker, organisation) as codes into ``values``."""

    __slots__ = ("codes", "values")

    def __init__(self, per_doc: Sequence):
        index: dict = {}
        self.codes = np.fromiter((index.setdefault(v, len(index)) for v in per_doc), np.int64, len(per_doc))
        self.values = list(index)

    def counts(self, docs: np.ndarray) -> list[tuple]:
        """(value, number of ``docs`` having it) for every value some of ``docs`` have."""
        counts = np.bincount(self.codes[docs], minlength=len(self.values)).tolist()
        return [(v, c) for v, c in zip(self.values, counts) if c]


class Columns:
    """The snapshot's per-speech lists as arrays (global docnum → value; deleted speeches too)."""

    def __init__(self, snap):
        n = snap.total_docs
        self.year = np.fromiter((-1 if y is None else y for y in snap.years), np.int64, n)
        self.datekey = np.fromiter(snap.datekey, np.int64, n)
        self.norm = np.fromiter(snap.norm, np.float64, n)
        self.blen = np.fromiter(snap.blen, np.int64, n)
        self.types, self.speakers, self.orgs = _Codes(snap.types), _Codes(snap.speakers), _Codes(snap.orgs)
        # Themes: one entry per (speech, theme), a speech's themes already without repeats.
        index: dict = {}
        docs: list[int] = []
        codes: list[int] = []
        for d, themes in enumerate(snap.themes):
            for t in themes:
                docs.append(d)
                codes.append(index.setdefault(t, len(index)))
        self.theme_doc = np.array(docs, dtype=np.int64)
        self.theme_code = np.array(codes, dtype=np.int64)
        self.theme_values = list(index)
        self.n = n

    def mask(self, docs) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        out[np.fromiter(docs, np.int64, len(docs))] = True
        return out

    def theme_counts(self, hit_mask: np.ndarray) -> list[tuple]:
        counts = np.bincount(self.theme_code[hit_mask[self.theme_doc]], minlength=len(self.theme_values)).tolist()
        return [(v, c) for v, c in zip(self.theme_values, counts) if c]


def _by_count(items: list[tuple]) -> dict:
    return dict(sorted(items, key=lambda kv: (-kv[1], kv[0])))


def facets(cols: Columns, hits: np.ndarray) -> dict:
    """The facet counts of the hits (``hits``: their docnums), as ``_facet_dicts`` defines them."""
    years, counts = np.unique(cols.year[hits], return_counts=True)
    types = dict(cols.types.counts(hits))
    types.pop("", None)
    speakers = dict(cols.speakers.counts(hits))
    orgs = dict(cols.orgs.counts(hits))
    for c in (speakers, orgs):
        c.pop("", None)
    hit_mask = np.zeros(cols.n, dtype=bool)
    hit_mask[hits] = True
    return {
        "year": {str(y): c for y, c in zip(years.tolist()[::-1], counts.tolist()[::-1])},
        "meeting_type": _by_count(list(types.items())),
        "theme": _by_count(cols.theme_counts(hit_mask)),
        "speaker": _by_count(list(speakers.items())),
        "organization": _by_count(list(orgs.items())),
    }


def _sum_by_year(years: np.ndarray, values: np.ndarray) -> dict[int, int]:
    """{year: the sum of ``values`` of that year} (integers: their float sums are exact below 2**53)."""
    uniq, inverse = np.unique(years, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(uniq))
    return dict(zip(uniq.tolist(), sums.astype(np.int64).tolist()))


def trend(
    cols: Columns, hits: np.ndarray, occ: np.ndarray, in_range: list[int], chars: dict | None, others
) -> list[dict]:
    """``passages.trend_rows`` of the hits (``occ``: each hit's occurrences). ``chars``: the
    characters by year of every speech, used when ``others`` (the speeches passing the filters other
    than the year, a set) is None; else they are added up over ``others``."""
    years = cols.year[hits]
    hits_by_year = _sum_by_year(years, np.ones(len(hits), dtype=np.float64))
    occ_by_year = _sum_by_year(years, occ.astype(np.float64))
    if others is not None:
        allowed = np.fromiter(others, np.int64, len(others))
        chars = _sum_by_year(cols.year[allowed], cols.blen[allowed].astype(np.float64))
    return passages.trend_rows(in_range, hits_by_year, occ_by_year, chars or {})


def scores(
    cols: Columns, hits: np.ndarray, terms: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Each hit's score: Σ over the terms (idf, tf, in title, in a heading — one entry per hit) of
    ``idf · ranking.term_score(…)``, added in the terms' order (what adds nothing adds 0.0)."""
    total = np.zeros(len(hits), dtype=np.float64)
    norm = cols.norm[hits]
    for w, tf, in_title, in_heading in terms:
        total += w * ranking.term_scores(tf, norm, in_title, in_heading)
    return total


def first(hits: list[int], k: int, sort: str, score: np.ndarray, datekey: np.ndarray, key: Callable) -> list[int]:
    """``heapq.nsmallest(k, hits, key)`` for the answer order ``sort`` (``key``: its sort key;
    ``score``, ``datekey``: each hit's): only the hits that can be among the first k are given to
    ``key``. By relevance, a hit whose score is below the k-th best by more than the rounding to 6
    decimals can move has k hits before it; by date, a hit dated before (after) the k-th newest
    (oldest)."""
    if sort == "relevance":
        values = score
        margin = _ROUNDING_MARGIN
    else:
        values = datekey if sort == "newest" else -datekey
        margin = 0
    kth = np.partition(values, len(values) - k)[len(values) - k]
    keep = np.flatnonzero(values >= kth - margin).tolist()
    return heapq.nsmallest(k, [hits[i] for i in keep], key=key)
