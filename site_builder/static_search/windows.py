"""A long speech's entries a window of its search text at a time (#15, a 50 MB speech): the same k and
p records and encoded positions as ``entries_dense`` and ``analyser`` make of the whole text, with
the arrays alive at once bounded by the window, not by the speech.

The search text (folded title, separator, folded body) is folded a window of the body at a time and
cut into windows of ``WINDOW`` characters, each read with the two characters after it (a pair or a
trigram that starts in a window belongs to it). Per window: its chars and pairs with their counts and
first event (``entries``' run-by-run order), and its trigrams with their positions, which are VLQ
encoded at once (the first position of a trigram relative to its last one in the windows before) and
kept as the window's piece of each trigram's entry. At the end the pieces are copied into place:
per trigram, the heading indices, then its pieces in window order.
"""

from __future__ import annotations

import numpy as np

from ..search import analysis
from .entries import (
    _char_events,
    _dense_numbers,
    _fill,
    _group_starts_by,
    _k_groups,
    _pair_events,
    _trigram_events,
    cps,
    fold_cps,
    fold_lut,
    gram_keys,
    run_events,
    trigram_keys,
)
from .keys import copy_segments, counted_vlq, group_starts, seg_index, vlq_np

WINDOW = 1 << 18  # characters of the search text a window (a longer text is analysed in windows)
_LIMIT = 1 << 62  # a window's sort keys stay below this (else it is taken in halves: fewer distinct chars)
_RUN, _KIND = np.int64(33), np.int64(32)  # a key's first event: run << 33 | is a pair << 32 | position


def fold_lengths() -> np.ndarray:
    """How many characters each BMP character folds to."""
    table = analysis._translate_table()
    out = np.ones(1 << 16, np.int64)
    for o, v in table.items():
        if o < 0x10000:
            out[o] = len(v)
    return out


class _Folded:
    """The folded title and body a window of the body at a time (``chunks``), noting on the way the
    code points that folding changes and where the heading lines lie in the search text."""

    def __init__(self, title: str, body: str, headings, tlen: int):
        self.title, self.body, self.tlen = title, body, tlen
        self.heads = sorted({h for h in (headings or ()) if isinstance(h, int) and h >= 0})
        want = set(self.heads) | {h - 1 for h in self.heads}
        self.want = np.array(sorted(want), np.int64)
        self.nl_at: dict[int, int] = {}  # newline number → its position in the folded body
        self.changed: list = []  # code points that folding changes
        self.lines = 1
        self.blen = 0

    def _note(self, s: str, cp: np.ndarray) -> None:
        cand = cp >= 0x10000
        cand[~cand] = fold_lut()[2][cp[~cand]]
        self.changed.append(np.unique(cp[cand]))

    def chunks(self):
        tcp = cps(self.title)
        self._note(self.title, tcp)
        yield np.concatenate((fold_cps(self.title, tcp).astype(np.uint32), np.zeros(1, np.uint32)))
        flen = fold_lengths() if self.heads else None
        table = analysis._translate_table()
        for lo in range(0, len(self.body), WINDOW):
            s = self.body[lo : lo + WINDOW]
            bcp = cps(s)
            self._note(s, bcp)
            fcp = fold_cps(s, bcp).astype(np.uint32)
            nl = np.flatnonzero(bcp == 10)
            if flen is not None and len(nl):
                lens = np.where(bcp < 0x10000, flen[np.minimum(bcp, 0xFFFF)], 1)
                for i in np.flatnonzero(bcp >= 0x10000).tolist():
                    lens[i] = len(table.get(int(bcp[i]), chr(int(bcp[i]))))
                number = np.arange(self.lines - 1, self.lines - 1 + len(nl))
                pick = np.isin(number, self.want)
                at = self.blen + np.cumsum(lens)[nl[pick]] - 1  # (a newline folds to one char)
                self.nl_at.update(zip(number[pick].tolist(), at.tolist()))
            self.lines += len(nl)
            self.blen += len(fcp)
            yield fcp

    def spans(self, final: bool = False) -> list[tuple[int, int]]:
        """(start, end) in the search text of the heading lines whose start has been folded (an end
        not folded yet is far: the line goes on past what has been)."""
        base, out = self.tlen + 1, []
        far = self.blen if final else 1 << 62
        for h in self.heads:
            if h == 0 or h - 1 in self.nl_at:
                start = 0 if h == 0 else self.nl_at[h - 1] + 1
                end = self.nl_at.get(h, far)
                if end > start:
                    out.append((base + start, base + end))
        return out

    def codes(self) -> np.ndarray:
        return np.unique(np.concatenate(self.changed))


def _windows(chunks, size: int):
    """(start, code points with the two after, number of starts) of each window of ``size``."""
    buf, a = np.zeros(0, np.uint32), 0
    for chunk in chunks:
        buf = np.concatenate((buf, chunk))
        while len(buf) >= size + 2:
            yield a, buf[: size + 2], size
            buf, a = buf[size:], a + size
    yield a, buf, len(buf)


class _Keys:
    """The chars and pairs of the windows so far: (keys ascending, counts, first events) and the keys
    seen in heading lines."""

    def __init__(self):
        self.keys = np.zeros(0, np.uint64)
        self.counts = np.zeros(0, np.int64)
        self.first = np.zeros(0, np.int64)
        self.in_heading: list = []

    def add(self, keys, counts, first) -> None:
        idx = np.searchsorted(self.keys, keys)
        found = idx < len(self.keys)
        found[found] = self.keys[idx[found]] == keys[found]
        self.counts[idx[found]] += counts[found]  # (a key's first event is in the first window it is in)
        new = ~found
        self.keys = np.insert(self.keys, idx[new], keys[new])
        self.counts = np.insert(self.counts, idx[new], counts[new])
        self.first = np.insert(self.first, idx[new], first[new])


class _Trigrams:
    """The trigrams of the windows so far: (keys ascending, counts, first and last positions, bytes
    of their encoded positions), each window's piece of their entries, and their heading indices."""

    def __init__(self):
        self.keys = np.zeros(0, np.uint64)
        self.counts = np.zeros(0, np.int64)
        self.first = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)
        self.nbytes = np.zeros(0, np.int64)
        self.pieces: list = []  # per window: (its trigrams, their bytes, the encoded positions)
        self.heading: list = []  # (trigrams, indices among their positions) in heading lines

    def add(self, keys, counts, gs, pos, hm) -> None:
        """A window's trigrams (ascending), their counts, group starts and positions (grouped, in
        the search text), ``hm``: whether each position is in a heading line (or None)."""
        idx = np.searchsorted(self.keys, keys)
        found = idx < len(self.keys)
        found[found] = self.keys[idx[found]] == keys[found]
        before = np.zeros(len(keys), np.int64)  # positions in the windows before, and the last one
        last = np.full(len(keys), -1, np.int64)
        before[found], last[found] = self.counts[idx[found]], self.last[idx[found]]
        vals = pos.copy()
        vals[1:] -= pos[:-1] + 1
        vals[gs] = pos[gs] - last - 1  # (the first ever: its position)
        chars, nd = vlq_np(vals, np.uint8)
        del vals
        glen = np.add.reduceat(nd, gs, dtype=np.int64)
        del nd
        self.pieces.append((keys, glen.astype(np.uint32), chars))
        if hm is not None and hm.any():
            hp = np.flatnonzero(hm)
            grp = np.searchsorted(gs, hp, "right") - 1
            self.heading.append((keys[grp], before[grp] + hp - gs[grp]))
        ends = np.append(gs[1:], len(pos)) - 1
        i = idx[found]
        self.counts[i] += counts[found]
        self.last[i] = pos[ends[found]]
        self.nbytes[i] += glen[found]
        new = ~found
        at = idx[new]
        self.keys = np.insert(self.keys, at, keys[new])
        self.counts = np.insert(self.counts, at, counts[new])
        self.first = np.insert(self.first, at, pos[gs[new]])
        self.last = np.insert(self.last, at, pos[ends[new]])
        self.nbytes = np.insert(self.nbytes, at, glen[new])


def _mask(spans: list, a: int, size: int) -> np.ndarray | None:
    """Whether each position of ``[a, a + size)`` is in a heading line (None: in none)."""
    hm = None
    for s, e in spans:
        if e > a and s < a + size:
            if hm is None:
                hm = np.zeros(size, bool)
            hm[max(s - a, 0) : min(e - a, size)] = True
    return hm


class _Runs:
    """The runs (of chars that are in keys) before a window: how many, and whether the last goes on."""

    count = 0
    open = False


def _window(cp, lim: int, a: int, hm, runs: _Runs, kacc: _Keys, pacc: _Trigrams) -> None:
    """The keys that start at the first ``lim`` positions of ``cp`` (the window at ``a``, with the
    two chars after it), added to ``kacc`` and ``pacc``; ``hm``: the heading lines' mask over ``cp``."""
    if not lim:
        return
    ucp, d = _dense_numbers(cp)
    u = len(ucp)
    if (u + u * u) * 2 * (lim + 1) >= _LIMIT or u * u * u * lim >= _LIMIT:  # in halves: fewer chars
        h = lim // 2
        _window(cp[: h + 2], h, a, None if hm is None else hm[: h + 2], runs, kacc, pacc)
        _window(cp[h:], lim - h, a + h, None if hm is None else hm[h:], runs, kacc, pacc)
        return
    ok = np.concatenate(((cp != 32) & (cp != 0), np.zeros(2, bool)))  # (nothing after the text)
    okc = ok[:lim]
    pair = okc & ok[1 : lim + 1]
    # Chars and pairs: numbered as entries_dense numbers them, in the window (runs cut at its ends).
    s_r, l_r, e_r, base, run = run_events(okc)
    m = 2 * (lim + 1)
    got = [
        _k_groups(okc, m, _char_events, d, m, base, run),
        _k_groups(pair, m, _pair_events, d, m, base, run, u, l_r),
    ]
    del run, base
    dk, first, cnt = (np.concatenate(x) for x in zip(*got))
    ischar = dk < u
    pa, pb = np.divmod(np.where(ischar, 0, dk - u), u)
    c_lo = ucp[np.where(ischar, dk, pb)].astype(np.uint64)
    keys = np.where(ischar, c_lo, ((ucp[pa].astype(np.uint64) + np.uint64(1)) << np.uint64(21)) | c_lo)
    # The first event in the whole text's order: run, chars before pairs, position.
    r = np.searchsorted(e_r, first, "right") - 1
    kind = (~ischar).astype(np.int64)
    r0 = runs.count - 1 if runs.open and okc[0] else runs.count
    g = ((r0 + r) << _RUN) | (kind << _KIND) | (a + s_r[r] + first - e_r[r] - kind * l_r[r])
    if len(s_r):
        runs.count = r0 + len(s_r)
    runs.open = bool(okc[-1])
    kacc.add(keys, cnt, g)
    if hm is not None:
        hmp = np.concatenate((hm, np.zeros(2, bool)))
        hc = okc & hmp[:lim]
        c64 = cp.astype(np.uint64)
        p1, p2 = np.flatnonzero(hc), np.flatnonzero(hc & ok[1 : lim + 1] & hmp[1 : lim + 1])
        kacc.in_heading.append(np.concatenate((c64[p1], ((c64[p2] + np.uint64(1)) << np.uint64(21)) | c64[p2 + 1])))
    tri = pair & ok[2 : lim + 2]
    del pair, ok
    _trigrams(tri, lim, a, d, ucp, hm, pacc)


def _trigrams(tri, lim: int, a: int, d, ucp, hm, pacc: _Trigrams) -> None:
    """The trigrams that start where ``tri`` holds, sorted by (key, position), added to ``pacc``
    (``d``: each char's number among the window's distinct code points ``ucp``)."""
    u = len(ucp)
    comb = np.empty(int(np.count_nonzero(tri)), np.int64)
    _fill(comb, tri, _trigram_events, d, lim, u)
    if not len(comb):
        return
    comb.sort()
    gs3 = _group_starts_by(comb, lim)
    cnt3 = np.diff(np.append(gs3, len(comb)))
    pos = comb % lim
    dk3 = comb[gs3] // lim
    del comb
    pacc.add(trigram_keys(dk3, u, ucp), cnt3, gs3, pos + a, None if hm is None else hm[pos])


def _heading_prefixes(keys: np.ndarray, heading: list):
    """The trigrams with positions in heading lines (their indices in ``keys``, ascending), the
    bytes of their encoded heading indices (number, first, gaps - 1) and those chars."""
    if not heading:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
    hk = np.concatenate([k for k, _ in heading])
    hi = np.concatenate([i for _, i in heading])
    grp = np.searchsorted(keys, hk)
    o = np.lexsort((hi, grp))
    grp, idx = grp[o], hi[o]
    gstart = group_starts(grp)
    groups = grp[gstart]
    hcount = np.diff(np.append(gstart, len(idx)))
    gaps = idx.copy()
    gaps[1:] -= idx[:-1] + 1
    gaps[gstart] = idx[gstart]
    return groups, *counted_vlq(hcount, gaps)


def _entries(pacc: _Trigrams, prank: np.ndarray, n: int):
    """The trigrams' records (key, count, in a heading, bytes) by section then first position, and
    their encoded entries one after the other (each window's pieces copied into place)."""
    from .analyser import PREC

    hgroups, hglen, hchars = _heading_prefixes(pacc.keys, pacc.heading)
    hlen = np.zeros(len(pacc.keys), np.int64)
    hlen[hgroups] = hglen
    o = np.argsort(prank * (n + 1) + pacc.first)  # by section, then first position
    tl = (hlen + pacc.nbytes)[o]
    starts = np.cumsum(tl) - tl
    at = np.empty(len(o), np.int64)
    at[o] = starts  # where each trigram's entry starts
    enc = np.empty(int(tl.sum()), np.uint8)
    if len(hgroups):
        enc[seg_index(at[hgroups], hglen)] = hchars
    cursor = at + hlen
    while pacc.pieces:
        keys, glen, chars = pacc.pieces.pop(0)
        i = np.searchsorted(pacc.keys, keys)
        copy_segments(enc, cursor[i], chars, np.cumsum(glen, dtype=np.int64) - glen, glen)
        cursor[i] += glen
    prec = np.empty(len(o), PREC)
    prec["key"] = pacc.keys[o]
    prec["count"] = pacc.counts[o]
    prec["h"] = (hlen > 0)[o]
    prec["len"] = tl
    return prec, enc


def analyse_keys(title: str, body: str, headings, tlen: int):
    """``analyser._keys`` of a long text, a window at a time: (the code points that folding changes,
    whether it has heading lines, folded title length, folded text length, the three arrays)."""
    from .analyser import _k_code, sections_of

    folded = _Folded(title, body, headings, tlen)
    runs, kacc, pacc = _Runs(), _Keys(), _Trigrams()
    n = 0
    for a, cp, lim in _windows(folded.chunks(), WINDOW):
        _window(cp, lim, a, _mask(folded.spans(), a, len(cp)), runs, kacc, pacc)
        n = a + lim
    has_h = bool(folded.spans(final=True))
    ftitle = fold_cps(title, cps(title)).astype(np.uint32)
    tkeys, tc = np.unique(gram_keys(ftitle, (ftitle != 32) & (ftitle != 0)), return_counts=True)
    tcount = np.zeros(len(kacc.keys), np.int64)
    tcount[np.searchsorted(kacc.keys, tkeys)] = tc
    in_heading = np.isin(kacc.keys, np.concatenate(kacc.in_heading)) if kacc.in_heading else None
    krank, prank = sections_of(kacc.keys, pacc.keys)
    krec = _k_code(kacc.keys, kacc.counts, tcount, in_heading, np.lexsort((kacc.first, krank)))
    prec, enc = _entries(pacc, prank, n)
    return folded.codes(), has_h, n, krank, prank, (krec, prec, enc)
