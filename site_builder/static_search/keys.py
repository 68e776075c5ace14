"""Keys and postings as numpy arrays: integer keys, their hash sections and shards, VLQ in bulk.

Keys as integers, 21 bits per code point (see below); ``khash_np`` is ``wire.khash`` vectorised, and
``vlq_np`` is ``wire.vlq`` over an array. Per-doc postings are split by key hash into ``SECTIONS``
sections, stored in bit-reversed order so that the sections of any shard are one run.
"""

from __future__ import annotations

import numpy as np

from ..segments import seg_index
from .wire import ALPHA, pow2_at_least

SECTION_BITS = 6
SECTIONS = 1 << SECTION_BITS  # per-doc postings are split by key hash into this many sections


def bitrev(i: int, bits: int) -> int:
    return int(format(i, f"0{bits}b")[::-1], 2) if bits else 0


# Sections are stored in bit-reversed order of their number, so the sections of any shard
# (hash & (P-1) == s, P a power of two) are one contiguous run: [r * SECTIONS/P, (r+1) * SECTIONS/P)
# with r = bitrev(s).
_SEC_ORDER = sorted(range(SECTIONS), key=lambda i: bitrev(i, SECTION_BITS))


def shard_run(shard: int, nshards: int) -> tuple[int, int]:
    bits = nshards.bit_length() - 1
    width = SECTIONS // nshards
    r = bitrev(shard, bits)
    return r * width, (r + 1) * width


def shard_count(n_docs: int) -> int:
    return max(2, min(SECTIONS, pow2_at_least(n_docs / 256)))


# -- vectorised helpers (numpy) ---------------------------------------------------------------
#
# Keys as integers, 21 bits per code point: a char is ``c``, a pair ``(a + 1) << 21 | b``, a
# trigram ``a << 42 | b << 21 | c`` (a >= 1: a trigram is above every pair, a pair above every char).

_M21 = (1 << 21) - 1
_ALPHA_B = np.frombuffer(ALPHA.encode("ascii"), np.uint8)
# Rank of a section in the stored order (_SEC_ORDER): a shard's sections are a run of ranks.
SEC_RANK = np.array([bitrev(i, SECTION_BITS) for i in range(SECTIONS)], np.int64)


def _crc_tables() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(0xEDB88320), t >> 1).astype(np.uint32)
    x = np.arange(1 << 16, dtype=np.uint32)
    lo = t[x & 0xFF]
    # Two bytes (one UTF-16 code unit) at a time: crc' = T2[(crc ^ unit) & 0xffff] ^ (crc >> 16).
    return (t[(lo ^ (x >> 8)) & 0xFF] ^ (lo >> 8)).astype(np.uint32)


_CRC16 = _crc_tables()


def key_cps(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code points (n × 3, left-aligned) and their number (1, 2 or 3) of integer keys."""
    keys = keys.astype(np.uint64, copy=False)
    n = np.where(keys < (1 << 21), 1, np.where(keys < (1 << 42), 2, 3)).astype(np.int64)
    cps = np.zeros((len(keys), 3), np.uint32)
    lo = (keys & _M21).astype(np.uint32)
    mid = ((keys >> 21) & _M21).astype(np.uint32)
    hi = (keys >> 42).astype(np.uint32)
    one, two = n == 1, n == 2
    cps[:, 0] = np.where(one, lo, np.where(two, mid - 1, hi))
    cps[:, 1] = np.where(two, lo, np.where(one, 0, mid))
    cps[:, 2] = np.where(n == 3, lo, 0)
    return cps, n


def khash_np(keys: np.ndarray) -> np.ndarray:
    """khash (CRC-32 of the UTF-16-LE code units) of integer keys, vectorised."""
    cps, n = key_cps(keys)
    crc = np.full(len(keys), 0xFFFFFFFF, np.uint32)
    t = _CRC16
    for j in range(3):
        cp = cps[:, j]
        active = n > j
        astral = cp >= 0x10000
        if astral.any():
            a = cp - np.uint32(0x10000)
            u1 = np.where(astral, np.uint32(0xD800) | (a >> 10), cp)
            nxt = t[(crc ^ u1) & 0xFFFF] ^ (crc >> 16)
            crc = np.where(active, nxt, crc)
            u2 = np.uint32(0xDC00) | (a & 0x3FF)
            nxt = t[(crc ^ u2) & 0xFFFF] ^ (crc >> 16)
            crc = np.where(active & astral, nxt, crc)
        elif active.all():
            crc = t[(crc ^ cp) & 0xFFFF] ^ (crc >> 16)
        else:
            crc = np.where(active, t[(crc ^ cp) & 0xFFFF] ^ (crc >> 16), crc)
    return crc ^ np.uint32(0xFFFFFFFF)


def key_strs(keys: np.ndarray) -> list[str]:
    """The key strings of integer keys."""
    if not len(keys):
        return []
    cps, n = key_cps(keys)
    mask = np.arange(3) < n[:, None]
    text = cps[mask].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    if (n == 3).all():
        return [text[i : i + 3] for i in range(0, len(text), 3)]
    offs = np.cumsum(n).tolist()
    return [text[a:b] for a, b in zip([0, *offs], offs)]


COPY_CHUNK = 1 << 22


def copy_segments(dst, dst_starts, src, src_starts, lengths) -> None:
    """``dst[dst_starts[i]:][:lengths[i]] = src[src_starts[i]:][:lengths[i]]`` for every i, about
    four million elements at a time (index arrays over a few segments, not over all)."""
    lengths = np.asarray(lengths, np.int64)
    ends = np.cumsum(lengths)
    lo, done = 0, 0
    while lo < len(lengths):
        hi = max(lo + 1, int(np.searchsorted(ends, done + COPY_CHUNK, "right")))
        dst[seg_index(dst_starts[lo:hi], lengths[lo:hi])] = src[seg_index(src_starts[lo:hi], lengths[lo:hi])]
        done, lo = int(ends[hi - 1]), hi


_VLQ_CHUNK = 1 << 18


def counted_vlq(hcount: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of values VLQ-encoded, each group's count first, then its values (``hcount[i]`` of
    ``gaps``, one group after the other): (each group's number of chars, all their chars)."""
    at = np.arange(len(gaps)) + np.repeat(np.arange(1, len(hcount) + 1), hcount)
    vals = np.empty(len(gaps) + len(hcount), np.int64)
    vals[at] = gaps
    vstart = np.cumsum(hcount + 1) - (hcount + 1)
    vals[vstart] = hcount
    chars, nd = vlq_np(vals)
    return np.add.reduceat(nd, vstart), chars


def vlq_np(vals: np.ndarray, nd_dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """VLQ of each value: (all their chars as ASCII bytes, number of chars of each value, as
    ``nd_dtype``); a quarter million values at a time (its temporaries are 8 bytes a value, several
    at once)."""
    if len(vals) > _VLQ_CHUNK:
        parts = [vlq_np(vals[i : i + _VLQ_CHUNK], nd_dtype) for i in range(0, len(vals), _VLQ_CHUNK)]
        return np.concatenate([c for c, _ in parts]), np.concatenate([nd for _, nd in parts])
    v = np.asarray(vals).astype(np.uint64, copy=False)
    nd = np.ones(len(v), nd_dtype)
    if not len(v):
        return np.zeros(0, np.uint8), nd
    mx = int(v.max())
    if mx < 32:
        return _ALPHA_B[v.astype(np.intp)], nd
    t = 32
    while t <= mx:
        nd += v >= t
        t <<= 5
    ends = np.cumsum(nd)
    out = np.empty(int(ends[-1]), np.uint8)
    at = ends - nd
    rest = v  # digit by digit: the values that have more, and where their next char goes
    while True:
        more = rest >= 32
        out[at] = _ALPHA_B[((rest & np.uint64(31)) | (more.astype(np.uint64) << np.uint64(5))).astype(np.intp)]
        if not more.any():
            return out, nd
        rest = rest[more] >> np.uint64(5)
        at = at[more] + 1


# -- per-document analysis ------------------------------------------------------------------


def group_starts(dk: np.ndarray) -> np.ndarray:
    new = np.empty(len(dk), bool)
    new[:1] = True
    np.not_equal(dk[1:], dk[:-1], out=new[1:])
    return np.flatnonzero(new)


def group_bounds(sk: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in a sorted array, and its end (one more entry)."""
    new = np.empty(len(sk), bool)
    new[:1] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    return np.append(np.flatnonzero(new), len(sk))
