"""Excerpts: up to two ~80-character passages of a body with exactly the matched characters in ``<mark>``."""

from __future__ import annotations

import html
import re
import struct
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate

from . import analysis
from .whoosh_records import _TEXT_CODEC, _unfold

_PASSAGE = 80  # characters of a passage
_LEAD = 20
_MAX_OCC = 40  # occurrences per term considered when placing the passages


def _excerpt(body: str, folded_body: str, terms: Sequence[str]) -> str:
    """Up to two ~80-character passages of ``body`` with the matched characters marked."""
    if analysis.folds_one_to_one(body, folded_body):
        offsets = None
    else:
        folded_body, offsets = analysis.fold_with_offsets(body)
    terms = [t for t in terms if t]
    return _render(body, folded_body, offsets, terms, _windows(folded_body, terms))


def excerpt_of_stored(folded_body: str, patches: bytes, terms: Sequence[str]) -> str:
    """``_excerpt(body, folded_body, terms)`` for a stored body (its folded text and the patches that
    give the original back, ``whoosh_records._patches``): when every character folded to one, only
    the passages' characters are given back, not the whole body."""
    raw = zlib.decompress(patches)
    n, one_to_one = struct.unpack_from("<IB", raw)
    if not one_to_one:  # some character folded to none or to several: the whole body, mapped
        return _excerpt(_unfold(folded_body, patches), folded_body, terms)
    terms = [t for t in terms if t]
    windows = _windows(folded_body, terms)
    deltas = array("I")
    deltas.frombytes(raw[5 : 5 + 4 * n])
    places = list(accumulate(deltas))
    chars = raw[5 + 4 * n :].decode(_TEXT_CODEC, "surrogatepass")  # chars[k] goes back at places[k]
    # The folded body with the passages' characters given back (all _render reads of ``body``).
    parts: list[str] = []
    done = 0
    for ws, we in windows:  # in order, apart
        lo, hi = bisect_left(places, ws), bisect_left(places, we)
        passage = list(folded_body[ws:we])
        for place, ch in zip(places[lo:hi], chars[lo:hi]):
            passage[place - ws] = ch
        parts += (folded_body[done:ws], "".join(passage))
        done = we
    parts.append(folded_body[done:])
    return _render("".join(parts), folded_body, None, terms, windows)


def _windows(folded_body: str, terms: list[str]) -> list[tuple[int, int]]:
    """The passages [start, end) of the folded body to show, in order (see ``_excerpt``)."""
    n = len(folded_body)
    occ: list[tuple[int, int, int]] = []  # (start, end, term index), the first few per term
    for ti, t in enumerate(terms):
        i = folded_body.find(t)
        k = 0
        while i >= 0 and k < _MAX_OCC:
            occ.append((i, i + len(t), ti))
            i = folded_body.find(t, i + 1)
            k += 1
    if not occ:
        return [(0, min(n, _PASSAGE))]
    occ.sort()
    windows: list[tuple[int, int]] = []
    covered: set[int] = set()
    for _ in range(2):
        best = None
        most = (len(terms) - len(covered), len(terms))  # no window can score more
        # A window starts _LEAD characters before an occurrence; prefer windows that show
        # terms not shown yet, then more distinct terms, then the earliest.
        for i, (s, _e, _t) in enumerate(occ):
            ws = max(0, s - _LEAD)
            we = min(n, ws + _PASSAGE)
            if any(ws < b and a < we for a, b in windows):
                continue
            terms_in = set()
            for j in range(i, len(occ)):
                s2, e2, t2 = occ[j]
                if s2 >= we:
                    break
                if e2 <= we:
                    terms_in.add(t2)
            score = (len(terms_in - covered), len(terms_in))
            if best is None or score > best[0]:
                best = (score, ws, we, terms_in)
                if score == most:  # the earliest best: none later is preferred
                    break
        if best is None:
            break
        ws, we = _extend(folded_body, terms, best[1], best[2])
        if any(ws < b and a < we for a, b in windows):
            break
        windows.append((ws, we))
        covered |= best[3]
    windows.sort()
    return windows


def _extend(folded: str, terms: Sequence[str], ws: int, we: int) -> tuple[int, int]:
    """Grow [ws, we) so that no occurrence of a term is cut by its edges."""
    changed = True
    while changed:
        changed = False
        for t in terms:
            L = len(t)
            # an occurrence starting in (ws - L, ws) that ends after ws
            i = folded.find(t, max(0, ws - L + 1), ws + L - 1)
            if 0 <= i < ws:
                ws = i
                changed = True
            # an occurrence starting in (we - L, we) that ends after we
            i = folded.find(t, max(0, we - L + 1), we + L - 1)
            while 0 <= i < we:
                if i + L > we:
                    we = i + L
                    changed = True
                    break
                i = folded.find(t, i + 1, we + L - 1)
    return ws, we


_WS = re.compile(r"\s")


def _render(body, folded, offsets, terms, windows) -> str:
    parts = []
    n = len(folded)
    for ws, we in windows:
        spans = []
        for t in terms:
            L = len(t)
            i = folded.find(t, ws, we)
            while i >= 0:
                spans.append((i, i + L))
                i = folded.find(t, i + 1, we)
        spans.sort()
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        o = (lambda x: x) if offsets is None else offsets.__getitem__
        out = ["…" if ws > 0 else ""]
        cur = ws
        for a, b in merged:
            if o(a) == o(b):  # inside one character that folded to several: nothing to mark
                continue
            out.append(_esc(body[o(cur) : o(a)]))
            out.append("<mark>" + _esc(body[o(a) : o(b)]) + "</mark>")
            cur = b
        out.append(_esc(body[o(cur) : o(we)]))
        if we < n:
            out.append("…")
        parts.append("".join(out))
    return " ".join(parts)


def _esc(s: str) -> str:
    return html.escape(_WS.sub(" ", s), quote=False)
