"""Occurrences of a query in a speech, the concordance (KWIC) and the trend by year.

Definitions (the same in the CLI, ``/api/search`` and the browser)
===================================================================

* A speech's body is its plain text: one line per block (paragraph, heading, list item, table
  cell …), line ``i`` (0-based) being the block ``#p{i+1}`` of its page (see ``blocks.py``).
* The **occurrences** of a query in a speech are the matches of its positive terms (every term
  of every OR-group; excluded terms never count) in the folded lines of the body, non-overlapping,
  **leftmost-longest**: in each line, from its start, the first position where a term matches,
  the longest term matching there, then on after its end. One term alone: ``fold(line).count(t)``
  summed over the lines. A match never spans two lines; the title is not searched for
  occurrences (a speech found by its title alone has 0).
* ``tf(t, d)``, the ranking's term frequency, is the same count for the term ``t`` on its own.
* **KWIC**: every occurrence with up to ``CONTEXT`` characters of the original (unfolded) line on
  each side, the matched characters as written (黨建 for the term 党建), and the URL of its block
  (``<page>#p{line + 1}``); occurrences follow the order of the hits, then the text.
* **Trend**: one row per year that has speeches in the index, within the year filter, oldest
  first: ``speeches`` = hits of that year, ``occurrences`` = their occurrences, ``per_10k_chars``
  = ``round(occurrences × 10000 / chars, 2)`` where ``chars`` is the total length of the folded
  bodies of that year's speeches that pass the filters (the query aside); 0 when there are none.
  The rows add up to ``total`` and ``occurrences_total``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from . import analysis

CONTEXT = 30  # characters of context on each side of a KWIC match


def matcher(terms: Sequence[str]) -> re.Pattern:
    """A pattern whose ``finditer`` over a folded line gives the occurrences (leftmost-longest)."""
    ordered = sorted(dict.fromkeys(t for t in terms if t), key=lambda t: (-len(t), t))
    return re.compile("|".join(re.escape(t) for t in ordered) or "(?!)")


def may_overlap(terms: Sequence[str]) -> bool:
    """Whether matches of two different terms can overlap (one inside the other, or the end of one
    the start of the other). When they cannot, the occurrences are the sum of each term's count."""
    terms = list(dict.fromkeys(terms))
    for i, a in enumerate(terms):
        for b in terms[i + 1 :]:
            if a in b or b in a:
                return True
            for x, y in ((a, b), (b, a)):
                if any(x.endswith(y[:k]) for k in range(1, min(len(x), len(y)))):
                    return True
    return False


def count_in_lines(folded_lines: Iterable[str], terms: Sequence[str]) -> int:
    """Occurrences of ``terms`` in the folded lines of a body."""
    terms = [t for t in dict.fromkeys(terms) if t]
    if len(terms) == 1:
        t = terms[0]
        return sum(line.count(t) for line in folded_lines)
    pattern = matcher(terms)
    return sum(sum(1 for _ in pattern.finditer(line)) for line in folded_lines)


def term_counts(body: str, terms: Sequence[str]) -> dict[str, int]:
    """``tf`` of each term in a plain body (reference implementation: folds line by line)."""
    lines = [analysis.fold(line) for line in body.split("\n")]
    return {t: sum(line.count(t) for line in lines) for t in dict.fromkeys(terms)}


def kwic_rows(
    body: str, terms: Sequence[str], skip: int = 0, limit: int | None = None, context: int = CONTEXT
) -> list[tuple[int, str, str, str]]:
    """(line number, left, match, right) of the occurrences in ``body`` (its plain text), from the
    ``skip``-th one on, at most ``limit``."""
    pattern = matcher(terms)
    rows: list[tuple[int, str, str, str]] = []
    seen = 0
    for number, line in enumerate(body.split("\n")):
        folded, offsets = analysis.fold_with_offsets(line)
        for m in pattern.finditer(folded):
            if seen < skip:
                seen += 1
                continue
            if limit is not None and len(rows) >= limit:
                return rows
            seen += 1
            start = offsets[m.start()]
            end = offsets[m.end() - 1] + 1 if m.end() > m.start() else start
            rows.append((number, line[max(0, start - context) : start], line[start:end], line[end : end + context]))
    return rows


def trend_rows(
    years: Iterable[int], hits_by_year: dict[int, int], occ_by_year: dict[int, int], chars_by_year: dict[int, int]
) -> list[dict]:
    out = []
    for y in sorted(years):
        occ = occ_by_year.get(y, 0)
        chars = chars_by_year.get(y, 0)
        out.append(
            {
                "year": y,
                "speeches": hits_by_year.get(y, 0),
                "occurrences": occ,
                "per_10k_chars": round(occ * 10000 / chars, 2) if chars else 0.0,
            }
        )
    return out
