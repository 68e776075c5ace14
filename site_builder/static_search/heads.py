"""A long posting's entries found with numpy (#15): ``wire.entries_around`` for a posting of more than
``wire._NUMPY_TOKENS`` chars, the same answer as its walk.

Where an entry starts depends on the one before (its length is given by its head and, in ``p/``, by
the counts after it), so the walk went through every entry before the changed docs in Python: a
one-changed build at 10,000 speeches walked about 200,000 entries of the ~140 postings (up to
``wire.BIG`` chars, without checkpoints) its keys changed. Here every number is taken as a head once
(``nxt``: where the entry it would start ends), and the heads, the chain of ``nxt`` from the first
number, are found by doubling (after k rounds the first 2^k links), the docs by a cumulative sum;
only the entries around the change are decoded (``wire._decode``).
"""

from __future__ import annotations

import numpy as np

from . import wire


def heads(kind: str, vals: np.ndarray) -> tuple[np.ndarray, int]:
    """The numbers that start the entries of a posting (its values ``vals``), in order, and the
    number after the last entry (more than ``len(vals)``: the posting is cut short in it)."""
    n = len(vals)
    i = np.arange(n, dtype=np.int64)
    if kind == "k":  # the head, then the body count and the title count its two low bits announce
        nxt = i + 1 + (vals & 1) + ((vals >> 1) & 1)
    else:  # the head, the count unless its kind gives it, the heading indices for kind 3, the positions
        c = vals & 3
        v1 = np.zeros(n, np.int64)
        v1[:-1] = vals[1:]
        v2 = np.zeros(n, np.int64)
        v2[:-2] = vals[2:]
        nxt = np.where(c < 2, i + 2 + c, np.where(c == 2, i + 5 + v1, i + 4 + v1 + v2))
    jump = np.empty(n + 1, np.int64)
    jump[:n] = np.minimum(nxt, n)
    jump[n] = n  # (past the end: stays there)
    found = np.zeros(1, np.int64)
    while True:  # found: the chain's first 2^k links (in order), jump: 2^k links at once
        more = jump[found]
        more = more[more < n]
        if not len(more):
            break
        found = np.concatenate((found, more))  # (the links 2^k … 2^(k+1) - 1: after the others)
        jump = jump[jump]
    return found, int(nxt[found[-1]])


def entries_around_numpy(kind: str, posting: str, lo: int, hi: int) -> tuple[int, int, int, list]:
    """``wire.entries_around`` of a non-empty posting, for ``lo <= hi``."""
    offs, vals = wire.token_arrays(posting)
    n = len(vals)
    h, end = heads(kind, vals)
    docs = np.cumsum((vals[h] >> (3 if kind == "k" else 2)) + 1) - 1
    ge = int(np.searchsorted(docs, lo, "left"))  # the first entry of a doc >= lo
    gt = int(np.searchsorted(docs, hi, "right"))  # the first entry of a doc > hi (the one after them)
    if ge == len(h):  # none: after the last entry
        if end > n:
            raise ValueError("a posting cut short in an entry")
        return len(posting), len(posting), int(docs[-1]), []
    stop = int(h[gt + 1]) if gt + 1 < len(h) else end
    if stop > n:
        raise ValueError("a posting cut short in an entry")
    first, before = int(h[ge]), int(docs[ge - 1]) if ge else -1
    span_offs = offs[first : stop + 1].tolist()
    span_vals = vals[first:stop].tolist()
    return (
        span_offs[0],
        span_offs[-1],
        before,
        wire._decode(kind, posting, span_offs, span_vals, 0, stop - first, before),
    )
