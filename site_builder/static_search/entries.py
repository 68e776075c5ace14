"""One speech's folded code points → its entries as numpy arrays, in bounded memory: every char and
adjacent pair with its counts (the ``k`` side) and every trigram with its sorted positions (the
``p`` side), built a window of positions at a time (``_CHUNK``) where a whole-text temporary would
cost 8 bytes a character. ``analyser`` turns them into a speech's records.
"""

from __future__ import annotations

import numpy as np

from ..search import analysis
from .keys import SECTIONS, group_starts


def sec_bounds(ranks: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(np.bincount(ranks, minlength=SECTIONS)))).astype(np.int64)


def _k_entries(cp: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chars and pairs: (keys, counts in the search text, first event) in order of first occurrence
    as the old Counter saw them (run by run: the run's chars, then its pairs)."""
    c64 = cp.astype(np.uint64)
    p1 = np.flatnonzero(ok)
    pair = ok[:-1] & ok[1:]
    p2 = np.flatnonzero(pair)
    start = ok.copy()
    start[1:] &= ~ok[:-1]
    run = np.cumsum(start)
    keys = np.concatenate((c64[p1], ((c64[p2] + np.uint64(1)) << np.uint64(21)) | c64[p2 + 1]))
    ordv = np.concatenate((run[p1] * 2, run[p2] * 2 + 1))
    keys = keys[np.argsort(ordv, kind="stable")]
    perm = np.argsort(keys, kind="stable")
    sk = keys[perm]
    gs = group_starts(sk)
    cnt = np.diff(np.append(gs, len(sk)))
    first = perm[gs]  # event index of the first occurrence
    uk = sk[gs]
    return uk, cnt, first


_FOLD_LUT: list = []


def fold_lut() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """analysis.fold as arrays over the BMP: (folded code point, folds to other than one char,
    changed by folding)."""
    if not _FOLD_LUT:
        table = analysis._translate_table()
        ident = np.arange(1 << 16, dtype=np.uint32)
        lut = ident.copy()
        multi = np.zeros(1 << 16, bool)
        for o, v in table.items():
            if o < 0x10000:
                if isinstance(v, str) and len(v) == 1:
                    lut[o] = ord(v)
                else:
                    multi[o] = True
        _FOLD_LUT.extend((lut, multi, (lut != ident) | multi))
    return _FOLD_LUT[0], _FOLD_LUT[1], _FOLD_LUT[2]


def cps(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), "<u4")


def fold_cps(s: str, cp: np.ndarray) -> np.ndarray:
    """Code points of analysis.fold(s) (``cp``: those of s)."""
    lut, multi, _ = fold_lut()
    if len(cp) and (int(cp.max()) >= 0x10000 or multi[cp].any()):
        return cps(analysis.fold(s))
    return lut[cp]


_CHUNK = 1 << 20  # elements a step, where a whole-array temporary would cost 8 bytes a character


def _group_starts_by(comb: np.ndarray, div: int) -> np.ndarray:
    """Start of each run of equal ``comb // div`` in a sorted array, a chunk at a time (no
    temporary over the whole array but one byte an element)."""
    new = np.empty(len(comb), bool)
    last = None
    for a in range(0, len(comb), _CHUNK):
        q = comb[a : a + _CHUNK] // div
        new[a] = last is None or q[0] != last
        np.not_equal(q[1:], q[:-1], out=new[a + 1 : a + len(q)])
        last = q[-1]
    return np.flatnonzero(new)


def _fill(out: np.ndarray, mask: np.ndarray, f, *args) -> None:
    """``out`` = ``f(positions, *args)`` of the positions where ``mask`` holds, in order, a window
    of positions at a time."""
    k = 0
    for lo in range(0, len(mask), _CHUNK):
        at = np.flatnonzero(mask[lo : lo + _CHUNK]) + lo
        out[k : k + len(at)] = f(at, *args)
        k += len(at)


def _char_events(at, d, m, base, run):  # d * m + base[run] + position
    return d[at].astype(np.int64) * m + base[run[at]] + at


def _pair_events(at, d, m, base, run, u, l_r):  # (u + d[a] * u + d[b]) * m + base[run] + run length + position
    r = run[at]
    return (u + d[at].astype(np.int64) * u + d[at + 1]) * m + base[r] + l_r[r] + at


def _trigram_events(at, d, nn, u):  # ((d[a] * u + d[b]) * u + d[c]) * n + position
    return ((d[at].astype(np.int64) * u + d[at + 1]) * u + d[at + 2]) * nn + at


def _k_groups(mask, m: int, f, *args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort the events ``f(positions, *args)`` of the positions where ``mask`` holds and group them
    by ``event // m``: (each group's event // m, its first event % m, its size)."""
    comb = np.empty(int(np.count_nonzero(mask)), np.int64)
    _fill(comb, mask, f, *args)
    comb.sort()
    gs = _group_starts_by(comb, m)
    cnt = np.diff(np.append(gs, len(comb)))
    dk, first = np.divmod(comb[gs], m)
    return dk, first, cnt


def _dense_numbers(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the doc's distinct code points ascending, each char's number among them as int32)."""
    if len(cp) and int(cp.max()) < 0x10000:  # the usual case: number the code points with a table
        seen = np.zeros(0x10000, bool)
        seen[cp] = True
        return np.flatnonzero(seen).astype(np.uint32), (np.cumsum(seen, dtype=np.int32) - 1)[cp]
    ucp, dense = np.unique(cp, return_inverse=True)
    return ucp.astype(np.uint32), dense.astype(np.int32).reshape(-1)


def run_events(ok: np.ndarray) -> tuple[np.ndarray, ...]:
    """The runs of ``ok`` (chars that are in keys), and the event number of each char and pair as
    the old Counter met them: run by run, the run's chars, then its pairs (= the order of first
    occurrence of each key). (each run's start, its length, its first event, first event - start,
    each char's run as int32)."""
    start = ok.copy()
    start[1:] &= ~ok[:-1]
    s_r = np.flatnonzero(start)
    end = ok.copy()
    end[:-1] &= ~ok[1:]
    l_r = np.flatnonzero(end) + 1 - s_r
    del end
    ev = 2 * l_r - 1
    e_r = np.cumsum(ev) - ev
    run = np.cumsum(start, dtype=np.int32) - 1
    return s_r, l_r, e_r, e_r - s_r, run


def entries_dense(cp: np.ndarray, ok: np.ndarray):
    """Keys of one doc's search text, by sorting small integers (code points numbered densely
    within the doc) instead of 63-bit keys; None if those would not fit in 63 bits.

    Built in place where it can (a big speech's arrays are over every character: #15, memory):
    one int64 array of the sort keys at a time, int32 numbers and positions.

    Returns (k keys, k counts, k first-seen rank, trigram keys, counts, grouped positions, group
    starts)."""
    n = len(cp)
    ucp, d = _dense_numbers(cp)
    u = len(ucp)
    if (u + u * u) * 2 * n >= 1 << 62 or u * u * u * max(n, 1) >= 1 << 62 or n >= 1 << 31:
        return None
    _, l_r, _, base, run = run_events(ok)  # (the runs' starts and first events not needed here)
    pair = ok[:-1] & ok[1:]
    m = 2 * n
    # chars: d * m + base[run] + position; pairs: (u + d[a] * u + d[b]) * m + base[run] + run
    # length + position. Every char's sort key is below every pair's: each sorted alone, in turn.
    got = [
        _k_groups(ok, m, _char_events, d, m, base, run),
        _k_groups(pair, m, _pair_events, d, m, base, run, u, l_r),
    ]
    del run
    dk, first, cnt = (np.concatenate(x) for x in zip(*got))
    ischar = dk < u
    a, b = np.divmod(np.where(ischar, 0, dk - u), u)
    c_lo = ucp[np.where(ischar, dk, b)].astype(np.uint64)
    uk = np.where(ischar, c_lo, ((ucp[a].astype(np.uint64) + np.uint64(1)) << np.uint64(21)) | c_lo)
    # Trigrams: sorted by (key, position).
    tri = pair[:-1] & ok[2:]
    del pair
    nn = max(n, 1)
    comb = np.empty(int(np.count_nonzero(tri)), np.int64)
    _fill(comb, tri, _trigram_events, d, nn, u)
    del tri, d
    comb.sort()
    gs3 = _group_starts_by(comb, nn)
    cnt3 = np.diff(np.append(gs3, len(comb)))
    pos = np.empty(len(comb), np.int32)
    for i in range(0, len(comb), _CHUNK):
        pos[i : i + _CHUNK] = comb[i : i + _CHUNK] % nn
    dk3 = comb[gs3] // nn
    del comb
    return uk, cnt, first, trigram_keys(dk3, u, ucp), cnt3, pos, gs3


def trigram_keys(dk3: np.ndarray, u: int, ucp: np.ndarray) -> np.ndarray:
    """The keys of trigrams numbered densely (a·u² + b·u + c: numbers into ``ucp``, the distinct
    code points)."""
    ab, c3 = np.divmod(dk3, u)
    a3, b3 = np.divmod(ab, u)
    return (
        (ucp[a3].astype(np.uint64) << np.uint64(42))
        | (ucp[b3].astype(np.uint64) << np.uint64(21))
        | ucp[c3].astype(np.uint64)
    )


def entries_sorted(cp: np.ndarray, ok: np.ndarray):
    """As entries_dense, by sorting the 63-bit keys (any doc)."""
    uk, kcnt, first = _k_entries(cp, ok)
    c64 = cp.astype(np.uint64)
    p3 = np.flatnonzero(ok[:-2] & ok[1:-1] & ok[2:])
    tk = (c64[p3] << np.uint64(42)) | (c64[p3 + 1] << np.uint64(21)) | c64[p3 + 2]
    perm = np.argsort(tk, kind="stable")
    sk = tk[perm]
    pos = p3[perm]  # grouped by key, ascending within a key
    gs = group_starts(sk)
    cnt = np.diff(np.append(gs, len(sk)))
    return uk, kcnt, first, sk[gs], cnt, pos, gs


def gram_keys(cp: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Integer keys of the chars and pairs at the positions where ``mask`` holds (a pair where it
    holds at both of its positions)."""
    c64 = cp.astype(np.uint64)
    p1 = np.flatnonzero(mask)
    p2 = np.flatnonzero(mask[:-1] & mask[1:])
    return np.concatenate((c64[p1], ((c64[p2] + np.uint64(1)) << np.uint64(21)) | c64[p2 + 1]))
