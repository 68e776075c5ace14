"""Ranking (``sort=relevance``): the formula, its constants, and a reference implementation.

The formula (version 2; the browser computes the same numbers from the static index)
====================================================================================

For a query with the positive terms ``t`` (every term of every OR-group, each once, folded) and a
hit ``d``::

    score(d) = Σ_t  idf(t) · ( tf(t,d)·(K1+1) / (tf(t,d) + K1·(1 − B + B·max(len(d), avglen)/avglen))
                               + TITLE·[t occurs in the title of d]
                               + HEADING·[t occurs in a heading of d] )

    idf(t)   = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))

with ``K1 = 1.2``, ``B = 0.75``, ``TITLE = 2``, ``HEADING = 1`` and, per speech (what an index ships):

* ``tf(t,d)``: the occurrences of ``t`` in the body (``passages``: non-overlapping, line by line,
  title excluded; not capped);
* ``len(d)``: the length of the folded body in characters (``len(analysis.fold(body))``, the line
  breaks included); ``avglen``: its mean over all speeches in the index (1 if that is 0);
* title: ``t in analysis.fold(title)``; heading: ``t`` in the folded text of one of the body's
  heading lines (``IndexDoc.headings``: the lines of ``<h1>``–``<h6>``);
* ``N``: the number of speeches in the index; ``n(t)``: the smallest number of speeches that
  have one of its keys, ``min(df(g) for g in analysis.term_grams(t))``, where ``df(g)`` counts the
  speeches whose search text (title and body) has the key ``g`` (exact for terms of one or two
  characters; filters change neither ``N`` nor ``n``).

**Length floor**: a speech shorter than the average is weighed as if it had the average length, so
one passing mention in a 1,000-character greeting (tf = 1 → 1.0) does not beat a long report that
uses the term a few times (tf = 3 at twice the average length → 1.29) and has it in a heading (+1).
``K1`` saturates repetitions: the tenth occurrence adds far less than the second.

Order: the score rounded to 6 decimals, highest first; then the newer speech (``date_key``: year,
month, day, a missing part 0); then the source path (code point order). ``score`` in answers is
rounded to 4 decimals. ``newest``/``oldest``: by ``date_key`` descending/ascending, then the source
path ascending.

Version 1 (until 0.1, kept in ``score_v1`` for ``bench/bench_ranking.py``): ``tf`` was the count of
the term's key in title and body (for longer terms the rarest pair's), capped at 255, ``len`` the
whole search text with no floor, ``n`` the candidates of the term, no heading weight.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import analysis, passages
from . import query as querymod

K1 = 1.2
B = 0.75
TITLE = 2.0
HEADING = 1.0
SORTS = ("relevance", "newest", "oldest")


def idf(n_docs: int, df: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def norm(length: int, avglen: float) -> float:
    """K1·(1 − B + B·max(len, avglen)/avglen): the denominator's length part."""
    avglen = avglen or 1.0
    return K1 * (1 - B + B * max(length, avglen) / avglen)


def term_score(tf: int, length_norm: float, in_title: bool, in_heading: bool) -> float:
    """What one term adds, before the idf factor."""
    return tf * (K1 + 1) / (tf + length_norm) + TITLE * in_title + HEADING * in_heading


def date_key(date: str) -> int:
    parts = [int(p) for p in re.findall(r"\d+", date or "")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


def sort_key(sort: str, score: float, datekey: int, source: str) -> tuple:
    if sort == "newest":
        return (-datekey, source)
    if sort == "oldest":
        return (datekey, source)
    return (-round(score, 6), -datekey, source)


# -- reference implementation (from the plain texts; tests and bench check the index against it) --


@dataclass
class Doc:
    """What the ranking needs of a speech: ``headings`` are 0-based line numbers of the body."""

    id: str
    title: str
    date: str
    body: str
    headings: tuple[int, ...] = ()


def reference(docs: Sequence, q: str, sort: str = "relevance") -> list[tuple[str, float, int]]:
    """(id, score, occurrences) of every hit of ``q`` in ``docs``, in answer order, computed from the
    texts alone by the definitions above (slow: for tests and benchmarks)."""
    parsed = querymod.parse(q)
    terms = list(parsed.terms)
    texts = [analysis.search_text(d.title, d.body) for d in docs]
    n_docs = len(docs)
    df: dict[str, int] = {}
    for text in texts:
        for g in analysis.grams(text):
            df[g] = df.get(g, 0) + 1
    lengths = [len(analysis.fold(d.body)) for d in docs]
    avglen = (sum(lengths) / n_docs) if n_docs else 1.0
    out = []
    for d, text, length in zip(docs, texts, lengths):
        if not parsed.matches(text):
            continue
        lines = [analysis.fold(line) for line in d.body.split("\n")]
        title = analysis.fold(d.title)
        heads = [lines[i] for i in getattr(d, "headings", ()) if 0 <= i < len(lines)]
        score = 0.0
        for t in terms:
            tf = sum(line.count(t) for line in lines)
            in_title, in_heading = t in title, any(t in h for h in heads)
            if not (tf or in_title or in_heading):
                continue
            n = min((df.get(g, 0) for g in analysis.term_grams(t)), default=0)
            score += idf(n_docs, n) * term_score(tf, norm(length, avglen), in_title, in_heading)
        out.append((d, score, passages.count_in_lines(lines, terms)))
    out.sort(key=lambda x: sort_key(sort, x[1], date_key(x[0].date), x[0].id))
    return [(d.id, s, o) for d, s, o in out]


def score_v1(docs: Sequence, q: str) -> list[str]:
    """The ids of the hits in the order of ranking version 1 (before issue #13), from the texts."""
    parsed = querymod.parse(q)
    texts = [analysis.search_text(d.title, d.body) for d in docs]
    grams = [analysis.grams(t) for t in texts]
    n_docs = max(len(docs), 1)
    avg = sum(len(t) for t in texts) / len(texts) if texts else 1.0
    scores = []
    for d, text, g in zip(docs, texts, grams):
        if not parsed.matches(text):
            continue
        score = 0.0
        for t in parsed.terms:
            keys = analysis.term_grams(t)
            if not all(g.get(k) for k in keys):
                continue
            if analysis.term_is_exact(t) or t in text:
                tf = min(min(g[k], 255) for k in keys)
                cand = sum(1 for gg in grams if all(gg.get(k) for k in keys))
                w = math.log(1 + (n_docs - cand + 0.5) / (cand + 0.5))
                score += w * (K1 + 1) * tf / (tf + K1 * (1 - B + B * len(text) / avg))
                if t in analysis.fold(d.title):
                    score += w * TITLE
        scores.append((d, score))
    scores.sort(key=lambda x: (-x[1], -date_key(x[0].date), x[0].id))
    return [d.id for d, _ in scores]
