"""The in-browser search index: static files under ``output/search/`` read by ``static/search.js``.

The browser computes exactly the hit set of ``query.parse(q).matches(analysis.search_text(...))``:
every file is derived from ``analysis`` and the browser re-implements ``query.parse`` and
``analysis.fold`` (tests compare both with Python in Chromium).

Every file is a classic script ``__ssLoad("<name>", <json>)`` so that it loads from ``file://`` too
(where fetch/XHR are blocked) and under a CSP that allows only the site's own scripts.

Format 3. ``N`` = doc number: docs are ordered by (date, id), so year filters are ranges and newer
speeches are appended at the end. ``h`` = CRC-32 of the key's UTF-16-LE code units. Numbers are
VLQ in base 64 (``A``–``Z a``–``z 0``–``9 + /``, 5 bits per char, 32 = "more follows"). A key's
bucket: shard ``h & (P-1)``, then ``(h >> log2 P) & (count - 1)`` among that shard's buckets,
numbered shard after shard (``meta.kbs``/``pbs``: bucket count per shard, sized to the shard's
short postings). Offsets are
offsets in ``analysis.search_text`` (folded title, separator, folded body), so an offset below
the doc's title length is in the title.

``meta.js``
    counts, vocabularies, the list of fold shards and ``ver``, a digest of all other files (the
    browser loads meta.js uncached over http and every other file with ``?v=ver``).
``facets.js``
    per doc (VLQ each): meeting type << 1 | 1 if its date (``date_key``) is the doc before's,
    folded title length, folded body length (``len(analysis.fold(body))``: the ranking's ``len``
    and the trend's characters), number of themes, themes, speaker and organisation (1 + their
    index in ``meta.speakers``/``meta.orgs``, 0 for none).
``f/<block>.js``
    the fold table (``data/fold.json``) for code points ``block*256 …``: the browser folds the query.
``r/<block>.js``
    the same table by what a character folds to: every char whose fold has a character of code
    points ``block*256 …`` (``meta.rfold`` lists the blocks, ``meta.ign`` the chars that fold to
    nothing). A speech page folds its text with the shards of the query's characters only
    (static/passage.js): a character outside them cannot be part of a match.
``k/<bucket>.js`` (and ``k/x/<hex>.js`` for a long posting, the bucket then gives ``-df``, the
    number of docs in it)
    doc-level postings of every char and adjacent pair (``analysis.grams``): per doc
    ``vlq((doc gap - 1) << 3 | heading << 2 | title << 1 | body != 1)``, then ``vlq(body)`` if
    body != 1, then ``vlq(title - 1)`` if title: ``body`` and ``title`` are the key's counts in the
    folded body and title (exact), ``heading`` says it occurs in a heading line of the body
    (``IndexDoc.headings``). Terms of one or two characters are exact; so are their occurrences
    and the ranking's tf (a pair of one character twice, 层层, is corrected with the trigram 层层层).
``p/<bucket>.js`` (and ``p/x/<hex>.js``)
    positions of every trigram: per doc ``vlq((doc gap - 1) << 2 | kind)``, kind 0: one position,
    1: two, 2: ``3 + vlq`` positions, 3: ``1 + vlq`` positions of which some are in heading lines,
    given next as ``vlq(h) vlq(i0) vlq(i1 - i0 - 1) …`` (h indices into the positions); then the
    positions ``vlq(o0) vlq(o1 - o0 - 1) …``. A term of three or more characters occurs at ``o``
    iff each trigram of a cover of the term (offsets 0, 3, 6, …, n-3) occurs at ``o + offset``:
    exact, and only those trigrams are fetched (their pairs' buckets too, for the ranking's ``n``).
``t/<N // 256>/<N>-0.js`` and ``…-1.js``
    the speech's card ``[title, url, date, meeting type]``, its body text compressed (``z``: raw
    deflate in base 64, inflated by the browser's ``DecompressionStream``), the fold of each
    character of title and body that folding changes (``f``): excerpts, quoted phrases, KWIC; and
    ``h``, the numbers of its heading lines (0-based), when it has any. The
    deflate stream is flushed after the first ``HEAD`` characters and cut there: part 0 (with
    ``"more": 1`` if there is a part 1, a JSON string) gives the start of the text, both parts all of
    it, so an excerpt near the start costs one small file.

How it is built (``StaticIndex.update``): each new or changed doc is analysed once (in a process
pool when there are many; only those docs' bodies are read) into ``state_dir/static/docs/``: one
file per (doc, fingerprint) holding its text files and its postings entries split into 64 hash
sections, as numpy arrays (keys as integers, 21 bits per code point; codes, counts, the VLQ text
of the positions). Keys are hash-partitioned into ``P`` shards (a shard = a run of sections, so it
is one read per array per doc); a clean build assembles one shard at a time in each of two
processes, so memory is bounded by a shard: the shard's entries of all docs are sorted by (key,
doc) and the VLQ text of every posting is computed at once; only whole postings and keys become
Python strings. When docs are edited, appended or removed at the end (the other docs keep their
numbers), only the keys whose entry changed are patched: the index files holding them are read
back, patched and written (a long posting around the change only, using checkpoints kept in
``state_dir/static/skip/``); nothing else is touched. Any other change (an insertion that
renumbers docs, a changed file listing) assembles everything again. The output depends only on
``docs``: an incremental update and a clean write give byte-identical trees.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import marshal
import os
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import numpy as np

from . import analysis

try:  # the build passes search_index.IndexDoc; keep a local twin so this module stands alone
    from .search_index import IndexDoc
except ImportError:  # pragma: no cover - only before search_index exists

    @dataclass(frozen=True)
    class IndexDoc:  # type: ignore[no-redef]
        id: str
        url: str
        title: str
        date: str
        year: int
        meeting_type: str
        themes: tuple
        body: str
        fingerprint: str


FORMAT = 3
HEAD = 2048  # body characters in a text file's first part
BIG = 3072  # a posting longer than this (chars) gets its own file
BUCKET_TARGET = 6144  # aim for bucket files of about this many chars
T_DIR = 256  # text files: docs per directory
SECTION_BITS = 6
SECTIONS = 1 << SECTION_BITS  # per-doc postings are split by key hash into this many sections
POOL_MIN_DOCS = 48  # analyse in a process pool from this many new docs on
PATCH_KEYS_PER_DOC = 10  # patch (rather than assemble) up to about this many changed keys per doc
_ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CACHE_VERSION = f"{FORMAT}-{SECTIONS}-{HEAD}-7-{analysis.fold_version()}"  # 7: exact counts, headings, body lengths (#13)  (+ fold table digest)
_TOP_FILES = ("meta", "facets")  # search/<name>.js
_SUBDIRS = ("f", "k", "p", "r", "t")  # search/<dir>/… belong to the index entirely


def vlq(n: int) -> str:
    """Unsigned VLQ in base 64, least significant 5 bits first."""
    out = []
    while n >= 32:
        out.append(_ALPHA[32 | (n & 31)])
        n >>= 5
    out.append(_ALPHA[n])
    return "".join(out)


_VLQ_SMALL = [vlq(i) for i in range(1 << 15)]
_VLQ_TOKEN = re.compile(r"[g-z0-9+/]*[A-Za-f]")  # one VLQ number (continuation chars, last char)


def _v(n: int) -> str:
    return _VLQ_SMALL[n] if n < 32768 else vlq(n)


def _unvlq(token: str) -> int:
    n = 0
    for i, ch in enumerate(token):
        n |= (_ALPHA.index(ch) & 31) << (5 * i)
    return n


_TOKEN_VALUE = {s: i for i, s in enumerate(_VLQ_SMALL)}


def _tokens(posting: str) -> tuple[list[str], list[int]]:
    toks = _VLQ_TOKEN.findall(posting)
    get = _TOKEN_VALUE.get
    vals = [get(t) for t in toks]
    if None in vals:
        vals = [v if v is not None else _unvlq(t) for t, v in zip(toks, vals)]
    return toks, vals


def khash(key: str) -> int:
    """CRC-32 of the key's UTF-16-LE code units (search.js computes the same)."""
    return zlib.crc32(key.encode("utf-16-le"))


def _hexname(key: str) -> str:
    return "-".join(f"{ord(c):x}" for c in key)


def _tf_class(n: int) -> int:
    return 0 if n <= 1 else 1 if n <= 3 else 2 if n <= 9 else 3


def _pow2_at_least(n: float) -> int:
    b = 1
    while b < n:
        b *= 2
    return b


def _bitrev(i: int, bits: int) -> int:
    return int(format(i, f"0{bits}b")[::-1], 2) if bits else 0


# Sections are stored in bit-reversed order of their number, so the sections of any shard
# (hash & (P-1) == s, P a power of two) are one contiguous run: [r * SECTIONS/P, (r+1) * SECTIONS/P)
# with r = bitrev(s).
_SEC_ORDER = sorted(range(SECTIONS), key=lambda i: _bitrev(i, SECTION_BITS))


def _run(shard: int, nshards: int) -> tuple[int, int]:
    bits = nshards.bit_length() - 1
    width = SECTIONS // nshards
    r = _bitrev(shard, bits)
    return r * width, (r + 1) * width


def _shard_count(n_docs: int) -> int:
    return max(2, min(SECTIONS, _pow2_at_least(n_docs / 256)))


# -- vectorised helpers (numpy) ---------------------------------------------------------------
#
# Keys as integers, 21 bits per code point: a char is ``c``, a pair ``(a + 1) << 21 | b``, a
# trigram ``a << 42 | b << 21 | c`` (a >= 1: a trigram is above every pair, a pair above every char).

_M21 = (1 << 21) - 1
_ALPHA_B = np.frombuffer(_ALPHA.encode("ascii"), np.uint8)
# Rank of a section in the stored order (_SEC_ORDER): a shard's sections are a run of ranks.
_SEC_RANK = np.array([_bitrev(i, SECTION_BITS) for i in range(SECTIONS)], np.int64)


def _crc_tables() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(0xEDB88320), t >> 1).astype(np.uint32)
    x = np.arange(1 << 16, dtype=np.uint32)
    lo = t[x & 0xFF]
    # Two bytes (one UTF-16 code unit) at a time: crc' = T2[(crc ^ unit) & 0xffff] ^ (crc >> 16).
    return (t[(lo ^ (x >> 8)) & 0xFF] ^ (lo >> 8)).astype(np.uint32)


_CRC16 = _crc_tables()


def _key_cps(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _khash_np(keys: np.ndarray) -> np.ndarray:
    """khash (CRC-32 of the UTF-16-LE code units) of integer keys, vectorised."""
    cps, n = _key_cps(keys)
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


def _key_strs(keys: np.ndarray) -> list[str]:
    """The key strings of integer keys."""
    if not len(keys):
        return []
    cps, n = _key_cps(keys)
    mask = np.arange(3) < n[:, None]
    text = cps[mask].astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")
    if (n == 3).all():
        return [text[i : i + 3] for i in range(0, len(text), 3)]
    offs = np.cumsum(n).tolist()
    return [text[a:b] for a, b in zip([0, *offs], offs)]


def _seg_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``range(s, s + l)`` for each (s, l): ones, a jump at each segment start,
    summed up."""
    lengths = np.asarray(lengths, np.int64)
    starts = np.asarray(starts, np.int64)
    if not lengths.all():
        keep = lengths > 0
        starts, lengths = starts[keep], lengths[keep]
    if not len(lengths):
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    total = int(ends[-1])
    dtype = np.int32 if total < 1 << 31 and int(starts.max()) + int(lengths.max()) < 1 << 31 else np.int64
    idx = np.ones(total, dtype)
    idx[0] = starts[0]
    idx[ends[:-1]] = starts[1:] - (starts[:-1] + lengths[:-1]) + 1
    return np.cumsum(idx, dtype=dtype, out=idx)


def _vlq_np(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VLQ of each value: (all their chars as ASCII bytes, number of chars of each value)."""
    v = np.asarray(vals).astype(np.uint64, copy=False)
    nd = np.ones(len(v), np.int64)
    if not len(v):
        return np.zeros(0, np.uint8), nd
    mx = int(v.max())
    t = 32
    while t <= mx:
        nd += v >= t
        t <<= 5
    if mx < 32:
        return _ALPHA_B[v.astype(np.intp)], nd
    ends = np.cumsum(nd)
    total = int(ends[-1])
    j = np.arange(total, dtype=np.int64) - np.repeat(ends - nd, nd)
    d = (np.repeat(v, nd) >> (j * 5).astype(np.uint64)) & np.uint64(31)
    more = np.ones(total, bool)
    more[ends - 1] = False
    d |= more.astype(np.uint64) << np.uint64(5)
    return _ALPHA_B[d.astype(np.intp)], nd


# -- per-document analysis ------------------------------------------------------------------


def _json(data) -> str:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # U+2028/9 are fine in JSON but not in older JS string literals; escape them anyway.
    return body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# Per-doc cache file: 4-byte header length, marshal (meta, text payload), then three arrays, each
# in section order (_SEC_ORDER; within a section in the order the doc first has the key):
# k records (key, code), p records (key, count, in a heading, bytes of its encoded positions), the
# encoded positions (after the heading indices when in a heading). A k code is
# ``body count << 9 | min(title count, 255) << 1 | in a heading``. meta["offsets"] (int64):
# [header end, k count, p count, position bytes], then the start of every section in each array
# (65 each).
_KREC = np.dtype([("key", "<u8"), ("code", "<u4")])
_MAX_BODY_COUNT = (1 << 23) - 1  # a k code's body count (a speech file is at most 4 MB: fewer characters)
_PREC = np.dtype([("key", "<u8"), ("count", "<u4"), ("h", "u1"), ("len", "<u4")])


def _sec_bounds(ranks: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(np.bincount(ranks, minlength=SECTIONS)))).astype(np.int64)


def _k_entries(cp: np.ndarray, ok: np.ndarray, tlen: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chars and pairs: (keys, counts in the search text, first event) in order of first occurrence
    as the old Counter saw them (run by run: the run's chars, then its pairs)."""
    n = len(cp)
    c64 = cp.astype(np.uint64)
    p1 = np.flatnonzero(ok)
    pair = ok[:-1] & ok[1:]
    p2 = np.flatnonzero(pair)
    start = ok.copy()
    start[1:] &= ~ok[:-1]
    run = np.cumsum(start)
    keys = np.concatenate((c64[p1], ((c64[p2] + np.uint64(1)) << np.uint64(21)) | c64[p2 + 1]))
    pos = np.concatenate((p1, p2))
    ordv = np.concatenate((run[p1] * 2, run[p2] * 2 + 1))
    ev = np.argsort(ordv, kind="stable")
    keys, pos = keys[ev], pos[ev]
    perm = np.argsort(keys, kind="stable")
    sk = keys[perm]
    new = np.empty(len(sk), bool)
    new[:1] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    gs = np.flatnonzero(new)
    cnt = np.diff(np.append(gs, len(sk)))
    first = perm[gs]  # event index of the first occurrence
    uk = sk[gs]
    return uk, cnt, first


_FOLD_LUT: list = []


def _fold_lut() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _cps(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), "<u4")


def _fold_cps(s: str, cp: np.ndarray) -> np.ndarray:
    """Code points of analysis.fold(s) (``cp``: those of s)."""
    lut, multi, _ = _fold_lut()
    if len(cp) and (int(cp.max()) >= 0x10000 or multi[cp].any()):
        return _cps(analysis.fold(s))
    return lut[cp]


def _groups_of_sorted(dk: np.ndarray) -> np.ndarray:
    new = np.empty(len(dk), bool)
    new[:1] = True
    np.not_equal(dk[1:], dk[:-1], out=new[1:])
    return np.flatnonzero(new)


def _entries_dense(cp: np.ndarray, ok: np.ndarray, tlen: int):
    """Keys of one doc's search text, by sorting small integers (code points numbered densely
    within the doc) instead of 63-bit keys; None if those would not fit in 63 bits.

    Returns (k keys, k counts, k first-seen rank, trigram keys, counts, grouped positions, group
    starts)."""
    n = len(cp)
    if n and int(cp.max()) < 0x10000:  # the usual case: number the code points with a table
        seen = np.zeros(0x10000, bool)
        seen[cp] = True
        ucp = np.flatnonzero(seen).astype(np.uint32)
        d = (np.cumsum(seen, dtype=np.int64) - 1)[cp]
    else:
        ucp, dense = np.unique(cp, return_inverse=True)
        d = dense.astype(np.int64).reshape(-1)
    u = len(ucp)
    if (u + u * u) * 2 * n >= 1 << 62 or u * u * u * max(n, 1) >= 1 << 62:
        return None
    # Event number of each char and pair as the old Counter met them: run by run, the run's
    # chars, then its pairs (= order of first occurrence of each key).
    start = ok.copy()
    start[1:] &= ~ok[:-1]
    s_r = np.flatnonzero(start)
    end = ok.copy()
    end[:-1] &= ~ok[1:]
    l_r = np.flatnonzero(end) + 1 - s_r
    ev = 2 * l_r - 1
    e_r = np.cumsum(ev) - ev
    base = e_r - s_r
    run = np.cumsum(start) - 1
    p1 = np.flatnonzero(ok)
    pair = ok[:-1] & ok[1:]
    p2 = np.flatnonzero(pair)
    m = 2 * n
    r1, r2 = run[p1], run[p2]
    comb = np.concatenate((d[p1] * m + base[r1] + p1, (u + d[p2] * u + d[p2 + 1]) * m + base[r2] + l_r[r2] + p2))
    comb.sort()
    dk, first = np.divmod(comb, m)
    gs = _groups_of_sorted(dk)
    cnt = np.diff(np.append(gs, len(dk)))
    first = first[gs]
    dk = dk[gs]
    ischar = dk < u
    a, b = np.divmod(np.where(ischar, 0, dk - u), u)
    c_lo = ucp[np.where(ischar, dk, b)].astype(np.uint64)
    uk = np.where(ischar, c_lo, ((ucp[a].astype(np.uint64) + np.uint64(1)) << np.uint64(21)) | c_lo)
    # Trigrams: sorted by (key, position).
    p3 = np.flatnonzero(pair[:-1] & ok[2:])
    comb = ((d[p3] * u + d[p3 + 1]) * u + d[p3 + 2]) * max(n, 1) + p3
    comb.sort()
    dk3, pos = np.divmod(comb, max(n, 1))
    gs3 = _groups_of_sorted(dk3)
    cnt3 = np.diff(np.append(gs3, len(dk3)))
    dk3 = dk3[gs3]
    ab, c3 = np.divmod(dk3, u)
    a3, b3 = np.divmod(ab, u)
    uk3 = (
        (ucp[a3].astype(np.uint64) << np.uint64(42))
        | (ucp[b3].astype(np.uint64) << np.uint64(21))
        | ucp[c3].astype(np.uint64)
    )
    return uk, cnt, first, uk3, cnt3, pos, gs3


def _entries_sorted(cp: np.ndarray, ok: np.ndarray, tlen: int):
    """As _entries_dense, by sorting the 63-bit keys (any doc)."""
    uk, kcnt, first = _k_entries(cp, ok, tlen)
    c64 = cp.astype(np.uint64)
    p3 = np.flatnonzero(ok[:-2] & ok[1:-1] & ok[2:])
    tk = (c64[p3] << np.uint64(42)) | (c64[p3 + 1] << np.uint64(21)) | c64[p3 + 2]
    perm = np.argsort(tk, kind="stable")
    sk = tk[perm]
    pos = p3[perm]  # grouped by key, ascending within a key
    gs = _groups_of_sorted(sk)
    cnt = np.diff(np.append(gs, len(sk)))
    return uk, kcnt, first, sk[gs], cnt, pos, gs


def _gram_keys(cp: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Integer keys of the chars and pairs at the positions where ``mask`` holds (a pair where it
    holds at both of its positions)."""
    c64 = cp.astype(np.uint64)
    p1 = np.flatnonzero(mask)
    p2 = np.flatnonzero(mask[:-1] & mask[1:])
    return np.concatenate((c64[p1], ((c64[p2] + np.uint64(1)) << np.uint64(21)) | c64[p2 + 1]))


def _heading_mask(doc, n: int, tlen: int) -> np.ndarray | None:
    """Positions of the search text that lie in a heading line of the body (None: no headings)."""
    heads = sorted({h for h in (getattr(doc, "headings", None) or ()) if isinstance(h, int) and h >= 0})
    if not heads:
        return None
    lines = doc.body.split("\n")
    lens = [len(analysis.fold(line)) for line in lines]
    if tlen + 1 + sum(lens) + len(lines) - 1 != n:  # not the text the keys were taken from
        return None
    starts = list(accumulate((ln + 1 for ln in lens), initial=tlen + 1))
    mask = np.zeros(n, bool)
    for h in heads:
        if h < len(lines):
            mask[starts[h] : starts[h] + lens[h]] = True
    return mask if mask.any() else None


def _date_key(date: str) -> int:
    """search.ranking.date_key: year, month, day as one number (a missing part 0)."""
    parts = [int(p) for p in re.findall(r"\d+", date or "")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


_DENSE = True  # tests switch it off to check both ways agree


def analyse(doc) -> tuple[dict, bytes]:
    """Everything the index needs from one document: (meta, cache file bytes)."""
    title, body = doc.title, doc.body
    tcp, bcp = _cps(title), _cps(body)
    ftitle = _fold_cps(title, tcp)
    tlen = len(ftitle)
    cp = np.concatenate((ftitle, [0], _fold_cps(body, bcp))).astype(np.uint32)
    ok = (cp != 32) & (cp != 0)  # no key contains a space or the separator
    got = _entries_dense(cp, ok, tlen) if _DENSE else None
    if got is None:
        got = _entries_sorted(cp, ok, tlen)
    uk, kcnt, first, uk3, cnt, pos, gs = got
    # Chars and pairs: doc-level, with their counts in the title and the body, and whether they
    # occur in a heading.
    tcount = np.zeros(len(uk), np.int64)
    if tlen and len(uk):
        tkeys, tc = np.unique(_gram_keys(cp[:tlen], ok[:tlen]), return_counts=True)
        by_key = np.argsort(uk, kind="stable")
        tcount[by_key[np.searchsorted(uk[by_key], tkeys)]] = tc
    hmask = _heading_mask(doc, len(cp), tlen)
    in_heading = np.isin(uk, _gram_keys(cp, ok & hmask)) if hmask is not None else np.zeros(len(uk), bool)
    code = (
        np.minimum(kcnt - tcount, _MAX_BODY_COUNT).astype(np.uint32) << np.uint32(9)
        | np.minimum(tcount, 255).astype(np.uint32) << np.uint32(1)
        | in_heading.astype(np.uint32)
    )
    ranks = _SEC_RANK[(_khash_np(np.concatenate((uk, uk3))) & (SECTIONS - 1)).astype(np.intp)]
    krank, prank = ranks[: len(uk)], ranks[len(uk) :]
    o = np.argsort(krank * (2 * len(cp) + 1) + first)  # by section, then first seen
    krec = np.empty(len(uk), _KREC)
    krec["key"] = uk[o]
    krec["code"] = code[o]
    kb = _sec_bounds(krank)
    # Trigram positions (offsets in the search text): first offset, then gaps - 1.
    vals = pos.copy()
    vals[1:] -= pos[:-1] + 1
    vals[gs] = pos[gs]
    chars, nd = _vlq_np(vals)
    glen = np.add.reduceat(nd, gs) if len(gs) else np.zeros(0, np.int64)
    o = np.argsort(prank * (len(cp) + 1) + pos[gs])  # by section, then first offset
    gbs = np.cumsum(glen) - glen
    # Trigrams with positions in heading lines: the indices of those positions go first.
    hflag = np.zeros(len(gs), bool)
    hlen = np.zeros(len(gs), np.int64)
    prefixes = {}
    if hmask is not None and len(pos):
        hp = hmask[pos]
        if hp.any():
            hcount = np.add.reduceat(hp.astype(np.int64), gs)
            ends = np.append(gs[1:], len(pos))
            for g in np.flatnonzero(hcount).tolist():
                idx = np.flatnonzero(hp[gs[g] : ends[g]]).tolist()
                text = vlq(len(idx)) + "".join(vlq(x - y - 1) for y, x in zip([-1, *idx], idx))
                prefixes[g] = text.encode("ascii")
                hflag[g] = True
                hlen[g] = len(text)
    tl = (hlen + glen)[o]
    starts = np.cumsum(tl) - tl
    enc = np.empty(int(tl.sum()), np.uint8)
    enc[_seg_index(starts + hlen[o], glen[o])] = chars[_seg_index(gbs[o], glen[o])]
    if prefixes:
        where = np.empty(len(o), np.int64)
        where[o] = np.arange(len(o))
        for g, pre in prefixes.items():
            at = int(starts[where[g]])
            enc[at : at + len(pre)] = np.frombuffer(pre, np.uint8)
    prec = np.empty(len(uk3), _PREC)
    prec["key"] = uk3[o]
    prec["count"] = cnt[o]
    prec["h"] = hflag[o]
    prec["len"] = tl
    pb = _sec_bounds(prank)
    eb = np.concatenate(([0], np.cumsum(prec["len"], dtype=np.int64)))[pb]
    ksize, psize = len(krec), len(enc) + 2 * len(prec)
    # The text file (without its name, which depends on the doc number).
    table = analysis._translate_table()
    ocp = np.concatenate((tcp, bcp))
    cand = ocp >= 0x10000
    cand[~cand] = _fold_lut()[2][ocp[~cand]]
    fmap = {}
    for o_ in np.unique(ocp[cand]).tolist():
        if o_ in table and table[o_] != chr(o_):
            fmap[chr(o_)] = table[o_]
    # One raw deflate stream, flushed to a byte boundary after the first HEAD characters: part 0
    # (with the card) inflates on its own to the start of the body, part 0 + part 1 to all of it.
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    z0 = co.compress(body[:HEAD].encode("utf-8"))
    rest = body[HEAD:]
    if rest:
        z0 += co.flush(zlib.Z_SYNC_FLUSH)
        z1 = co.compress(rest.encode("utf-8")) + co.flush()
    else:
        z0 += co.flush()
    t0 = {"c": [title, doc.url, doc.date, doc.meeting_type or ""], "z": base64.b64encode(z0).decode("ascii"), "f": fmap}
    if rest:
        t0["more"] = 1
    if hmask is not None:
        t0["h"] = sorted({h for h in doc.headings if isinstance(h, int) and 0 <= h <= body.count("\n")})
    payload = (_json(t0), json.dumps(base64.b64encode(z1).decode("ascii")) if rest else None)
    meta = {
        "order": (doc.date, doc.id),
        "year": int(doc.year),
        "mt": doc.meeting_type or "",
        "themes": list(doc.themes or ()),
        "tlen": tlen,
        "blen": len(cp) - tlen - 1,  # len(analysis.fold(body))
        "speaker": getattr(doc, "speaker", "") or "",
        "org": getattr(doc, "organization", "") or "",
        "dkey": _date_key(doc.date),
        "size": (ksize * 3 // 2, psize * 11 // 10),  # about what its entries add to k/ and p/
    }
    header = marshal.dumps((meta, payload))
    head = len(header).to_bytes(4, "little") + header
    meta["offsets"] = np.concatenate(([len(head), len(krec), len(prec), len(enc)], kb, pb, eb)).astype("<i8").tobytes()
    return meta, b"".join((head, krec.tobytes(), prec.tobytes(), enc.tobytes()))


def _analyse_to(args) -> dict:
    """Pool worker: analyse one doc and write its cache file; return its meta."""
    doc, path = args
    meta, data = analyse(doc)
    _write_atomic(Path(path), data)
    return meta


def _read_payload(path: Path) -> tuple[str, str | None]:
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(4), "little")
        return marshal.loads(fh.read(n))[1]


# -- writing --------------------------------------------------------------------------------


def _js(name: str, body: str) -> bytes:
    return f"__ssLoad({json.dumps(name)},{body});\n".encode()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
    os.replace(tmp, path)


def _put(out: Path, name: str, data: bytes, files: dict, stats: Counter, compare: bool = True) -> None:
    """Write search/<name>.js unless it already has these bytes; record its digest and size."""
    path = out / f"{name}.js"
    if compare:
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                stats["unchanged"] += 1
                files[name] = (_digest(data), len(data))
                return
        except OSError:
            pass
    _write_atomic(path, data)
    stats["written"] += 1
    files[name] = (_digest(data), len(data))


def _bucket_body(postings: dict) -> str:
    """A bucket: its keys' postings, ``-df`` (minus the number of its docs) for those in their own
    file (``x/<hex>``)."""
    return _json(postings)


def _bucket_count(short: int) -> int:
    """Buckets of a shard whose short postings (key + posting chars) add up to ``short``."""
    return _pow2_at_least(short / BUCKET_TARGET)


class _Layout:
    """Where a key's bucket is: shard ``h & (P-1)``, then ``(h >> log2 P) & (count - 1)`` among
    that shard's buckets; buckets are numbered shard after shard."""

    def __init__(self, counts: list[int]):
        self.counts = list(counts)
        self.offsets = list(accumulate(self.counts, initial=0))
        self.bits = len(self.counts).bit_length() - 1

    def bucket(self, key: str) -> int:
        h = khash(key)
        s = h & (len(self.counts) - 1)
        return self.offsets[s] + ((h >> self.bits) & (self.counts[s] - 1))

    def shard(self, bucket: int) -> int:
        return bisect.bisect_right(self.offsets, bucket) - 1


def _x_js(prefix: str, key: str, posting: str) -> tuple[str, bytes]:
    name = f"{prefix}/x/{_hexname(key)}"
    return name, _js(name, json.dumps(posting))


def _read_js(path: Path):
    text = path.read_text("utf-8")
    start = text.index('",') + 2  # after __ssLoad("<name>",
    if not text.endswith(");\n"):
        raise ValueError(f"{path}: not an index file")
    return json.loads(text[start:-3])


# A long posting (own file) keeps checkpoints in the state: every CK-th entry's char offset and
# the doc before it, so that a change decodes only the entries around it.
CK = 64


def _k_code(body: int, title: int, heading: int) -> int:
    return body << 9 | min(title, 255) << 1 | heading


def _decode(kind: str, posting: str, start: int, end: int, prev: int) -> list:
    """Entries of ``posting[start:end]`` (starting at an entry whose previous doc is ``prev``):
    [(doc, code)] for k, [(doc, (count, in a heading, encoded heading indices and positions))] for p."""
    toks, vals = _tokens(posting[start:end])
    out = []
    i, n = 0, len(vals)
    if kind == "k":
        while i < n:
            x = vals[i]
            i += 1
            prev += (x >> 3) + 1
            body = title = 0
            if x & 1:
                body = vals[i]
                i += 1
            else:
                body = 1
            if x & 2:
                title = vals[i] + 1
                i += 1
            out.append((prev, _k_code(body, title, (x >> 2) & 1)))
        return out
    while i < n:
        x = vals[i]
        prev += (x >> 2) + 1
        kind_ = x & 3
        j = i + 1
        h = 0
        if kind_ < 2:
            c = kind_ + 1
        elif kind_ == 2:
            c = 3 + vals[j]
            j += 1
        else:
            c = 1 + vals[j]
            j += 1
            h = 1
        k = j + (1 + vals[j] if h else 0)  # heading indices, then the positions
        out.append((prev, (c, h, "".join(toks[j : k + c]))))
        i = k + c
    return out


def _encode(kind: str, entries: list, prev: int) -> list[str]:
    parts = []
    v = _v
    if kind == "k":
        for d, code in entries:
            body, title, heading = code >> 9, (code >> 1) & 255, code & 1
            head = ((d - prev - 1) << 3) | heading << 2 | (title > 0) << 1 | (body != 1)
            parts.append(v(head) + (v(body) if body != 1 else "") + (v(title - 1) if title else ""))
            prev = d
    else:
        for d, (c, h, enc) in entries:
            gap = (d - prev - 1) << 2
            if h:
                parts.append(v(gap | 3) + v(c - 1) + enc)
            elif c <= 2:
                parts.append(v(gap | (c - 1)) + enc)
            else:
                parts.append(v(gap | 2) + v(c - 3) + enc)
            prev = d
    return parts


def _checkpoints(entries: list, parts: list[str], prev: int, base: int) -> tuple[list, list]:
    offs = list(accumulate(map(len, parts), initial=base))  # offs[j]: where entry j starts
    idx = range(0, len(entries), CK)
    return [prev if j == 0 else entries[j - 1][0] for j in idx], [offs[j] for j in idx]


def _apply(entries: list, changes: dict) -> list:
    cur = dict(entries)
    for n, e in changes.items():
        if e is None:
            cur.pop(n, None)
        else:
            cur[n] = e
    return sorted(cur.items())


def _patch_posting(kind: str, posting: str, ck, changes: dict):
    """Apply {doc: entry or None} to a posting; returns (posting, checkpoints or None, the change in
    its number of docs)."""
    if ck is None or len(posting) <= BIG:
        before = _decode(kind, posting, 0, len(posting), -1)
        ents = _apply(before, changes)
        parts = _encode(kind, ents, -1)
        new = "".join(parts)
        return new, (_checkpoints(ents, parts, -1, 0) if len(new) > BIG else None), len(ents) - len(before)
    ckd, cko = list(ck[0]), list(ck[1])
    docs_delta = 0
    for n in sorted(changes, reverse=True):
        i = bisect.bisect_left(ckd, n) - 1  # region i holds docs (ckd[i], ckd[i+1]]
        j = min(i + 2, len(ckd))  # decode regions i and i+1: the doc before cko[j] stays
        s, e = cko[i], (cko[j] if j < len(ckd) else len(posting))
        before = _decode(kind, posting, s, e, ckd[i])
        ents = _apply(before, {n: changes[n]})
        docs_delta += len(ents) - len(before)
        parts = _encode(kind, ents, ckd[i])
        sub = "".join(parts)
        nd, no = _checkpoints(ents, parts, ckd[i], s)
        if not nd:  # both regions lost every entry: keep one empty region (the next change needs it)
            nd, no = [ckd[i]], [s]
        delta = len(sub) - (e - s)
        posting = posting[:s] + sub + posting[e:]
        ckd[i:j] = nd
        cko[i:j] = no
        k = i + len(nd)
        cko[k:] = [o + delta for o in cko[k:]]
    if len(posting) <= BIG:
        return posting, None, docs_delta
    return posting, (ckd, cko), docs_delta


def _peak_rss_mb() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    except (ImportError, OSError):  # pragma: no cover - not on Unix
        return 0


def _doc_arrays(path: str, offsets: bytes, a: int = 0, b: int = SECTIONS):
    """One doc's entries of sections [a, b) (in stored order): (k records, p records, encoded
    positions)."""
    offs = np.frombuffer(offsets, "<i8")
    head, nk, npr = int(offs[0]), int(offs[1]), int(offs[2])
    k0, k1 = int(offs[4 + a]), int(offs[4 + b])
    p0, p1 = int(offs[69 + a]), int(offs[69 + b])
    e0, e1 = int(offs[134 + a]), int(offs[134 + b])
    if k0 == k1 and p0 == p1:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        ks, ps = _KREC.itemsize, _PREC.itemsize
        kr = np.frombuffer(os.pread(fd, (k1 - k0) * ks, head + k0 * ks), _KREC) if k1 > k0 else None
        base = head + nk * ks
        pr = np.frombuffer(os.pread(fd, (p1 - p0) * ps, base + p0 * ps), _PREC) if p1 > p0 else None
        enc = os.pread(fd, e1 - e0, base + npr * ps + e0) if e1 > e0 else b""
    finally:
        os.close(fd)
    if (kr is not None and len(kr) != k1 - k0) or (pr is not None and len(pr) != p1 - p0) or len(enc) != e1 - e0:
        raise EOFError(f"{path}: truncated")
    return kr, pr, enc


def _groups(sk: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in a sorted array, and its end (one more entry)."""
    new = np.empty(len(sk), bool)
    new[:1] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    return np.append(np.flatnonzero(new), len(sk))


def _vlq_columns(n: int, cols: list) -> tuple[np.ndarray, np.ndarray]:
    """Per entry (n of them), the VLQ of each column where its mask holds (None: everywhere), one
    after the other: (all the chars, number of chars of each entry)."""
    encs = []
    total = np.zeros(n, np.int64)
    for mask, values in cols:
        chars, nd = _vlq_np(np.asarray(values, np.int64))
        ln = np.zeros(n, np.int64)
        if mask is None:
            ln[:] = nd
        else:
            ln[mask] = nd
        encs.append((mask, chars, nd, ln))
        total += ln
    out = np.empty(int(total.sum()), np.uint8)
    at = np.cumsum(total) - total
    for mask, chars, nd, ln in encs:
        if len(chars):
            out[_seg_index(at if mask is None else at[mask], nd)] = chars
        at = at + ln
    return out, total


def _postings(kind: str, keys, docs, vals, plen=None, penc=None, hflags=None):
    """The postings of one shard from its entries (concatenated doc after doc).

    Returns (unique keys, group bounds (entry index), posting bytes, entry start offsets in those
    bytes (one more entry), sorted docs, first concatenation index of each key)."""
    perm = np.argsort(keys, kind="stable")  # by key, then doc (entries are doc after doc)
    sk = keys[perm]
    d = docs[perm]
    g = _groups(sk)
    gs = g[:-1]
    prev = np.empty(len(d), np.int64)
    prev[:1] = -1
    prev[1:] = d[:-1]
    prev[gs] = -1
    gap = d - prev - 1
    if kind == "k":
        code = vals[perm].astype(np.uint64)
        body = (code >> np.uint64(9)).astype(np.int64)
        title = ((code >> np.uint64(1)) & np.uint64(255)).astype(np.int64)
        heading = (code & np.uint64(1)).astype(np.int64)
        nb, tt = body != 1, title > 0
        out, ln = _vlq_columns(
            len(d),
            [(None, (gap << 3) | heading << 2 | tt.astype(np.int64) << 1 | nb), (nb, body[nb]), (tt, title[tt] - 1)],
        )
    else:
        c = vals[perm].astype(np.int64)
        h = hflags[perm].astype(bool)
        kind_ = np.where(h, 3, np.minimum(c - 1, 2))
        extra = kind_ >= 2
        hc, ln = _vlq_columns(len(c), [(None, (gap << 2) | kind_), (extra, np.where(h, c - 1, c - 3)[extra])])
        pl = plen[perm].astype(np.int64)
        start = np.cumsum(ln + pl) - (ln + pl)
        out = np.empty(int((ln + pl).sum()), np.uint8)
        out[_seg_index(start, ln)] = hc
        src = np.cumsum(plen, dtype=np.int64) - plen
        out[_seg_index(start + ln, pl)] = penc[_seg_index(src[perm], pl)]
        ln = ln + pl
    starts = np.concatenate(([0], np.cumsum(ln)))
    return sk[gs], g, out, starts, d, perm[gs]


def _read_run(docs, a: int, b: int):
    """Entries of sections [a, b) of every doc, doc after doc: k records, p records, encoded
    positions, doc number of each k and each p record."""
    if not docs:  # an archive with no speech: no entries (reshape cannot guess the width of nothing)
        offs = np.zeros((0, 4 + 3 * (SECTIONS + 1)), "<i8")
    else:
        offs = np.frombuffer(b"".join([o for _, o in docs]), "<i8").reshape(len(docs), -1)
    head, nk, npr = offs[:, 0], offs[:, 1], offs[:, 2]
    k0, k1 = offs[:, 4 + a], offs[:, 4 + b]
    p0, p1 = offs[:, 69 + a], offs[:, 69 + b]
    e0, e1 = offs[:, 134 + a], offs[:, 134 + b]
    ks, ps = _KREC.itemsize, _PREC.itemsize
    kpos, klen = head + k0 * ks, (k1 - k0) * ks
    ppos, plen = head + nk * ks + p0 * ps, (p1 - p0) * ps
    epos, elen = head + nk * ks + npr * ps + e0, e1 - e0
    kparts, pparts, eparts = [], [], []
    pread = os.pread
    for path, kp, kl, pp, pl, ep, el in zip(
        [p for p, _ in docs], kpos.tolist(), klen.tolist(), ppos.tolist(), plen.tolist(), epos.tolist(), elen.tolist()
    ):
        if not kl and not pl:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            kparts.append(pread(fd, kl, kp))
            pparts.append(pread(fd, pl, pp))
            eparts.append(pread(fd, el, ep))
        finally:
            os.close(fd)
    kbytes, pbytes, ebytes = b"".join(kparts), b"".join(pparts), b"".join(eparts)
    del kparts, pparts, eparts
    if len(kbytes) != int(klen.sum()) or len(pbytes) != int(plen.sum()) or len(ebytes) != int(elen.sum()):
        raise EOFError("static index: a doc cache file is truncated")
    n = np.arange(len(docs), dtype=np.int64)
    return (
        np.frombuffer(kbytes, _KREC),
        np.frombuffer(pbytes, _PREC),
        np.frombuffer(ebytes, np.uint8),
        np.repeat(n, k1 - k0),
        np.repeat(n, p1 - p0),
    )


def _assemble_shard(args) -> tuple[dict, Counter, int]:
    """Build one shard from every doc's sections; write its files and the checkpoints of its long
    postings. Returns {file name: (digest, size)} and stats."""
    shard, nshards, docs, out, skip_path = args
    out = Path(out)
    a, b = _run(shard, nshards)
    kr, pr, penc, kdoc, pdoc = _read_run(docs, a, b)
    files: dict = {}
    stats: Counter = Counter()
    skip: dict = {}
    bodies: dict = {}
    shorts: dict = {}
    bits = nshards.bit_length() - 1
    big_len, ck = BIG, CK
    for prefix in ("k", "p"):
        if prefix == "k":
            res = _postings("k", kr["key"], kdoc, kr["code"].astype(np.int64))
        else:
            res = _postings("p", pr["key"], pdoc, pr["count"], pr["len"], penc, pr["h"])
        ukeys, g, buf, starts, sdocs, firsts = res
        text = buf.tobytes().decode("ascii")
        gs, ge = g[:-1], g[1:]
        bs, be = starts[gs], starts[ge]
        plen = be - bs
        _, ncp = _key_cps(ukeys)
        long_ = plen > big_len
        short = int((ncp + plen)[~long_].sum())
        keys = _key_strs(ukeys)
        bsl, bel = bs.tolist(), be.tolist()
        # Long postings: own file and checkpoints, in the order the keys were first met.
        for i in sorted(np.flatnonzero(long_).tolist(), key=lambda i: int(firsts[i])):
            key = keys[i]
            post = text[bsl[i] : bel[i]]
            s, e = int(gs[i]), int(ge[i])
            js = range(0, e - s, ck)
            cd = [int(sdocs[s + j - 1]) for j in js[1:]]
            skip[prefix + key] = ([-1, *cd], [int(starts[s + j]) - bsl[i] for j in js])
            name, data = _x_js(prefix, key, post)
            _put(out, name, data, files, stats)
        count = _bucket_count(short)
        h = _khash_np(ukeys)
        bk = ((h >> np.uint32(bits)) & np.uint32(count - 1)).astype(np.int64)
        # Each bucket's keys in string order (as json sort_keys): the keys are sorted as integers,
        # which is string order for trigrams; a char goes before the pairs that start with it.
        if prefix == "k":
            cps, _ = _key_cps(ukeys)
            lex = (cps[:, 0].astype(np.int64) << 22) | np.where(ncp == 2, cps[:, 1].astype(np.int64) + 1, 0)
            order = np.argsort((bk << 43) | lex)
        else:
            order = np.argsort(bk, kind="stable")
        bounds = np.searchsorted(bk[order], np.arange(count + 1)).tolist()
        enc_key = json.encoder.encode_basestring
        longl = long_.tolist()
        dfs = (ge - gs).tolist()
        items = [
            enc_key(keys[i]) + (f":-{dfs[i]}" if longl[i] else ':"' + text[bsl[i] : bel[i]] + '"')
            for i in order.tolist()
        ]
        bodies[prefix] = [
            ("{" + ",".join(items[lo:hi]) + "}").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            for lo, hi in zip(bounds, bounds[1:])
        ]
        shorts[prefix] = short
    _write_atomic(Path(skip_path), marshal.dumps(skip))
    return files, stats, _peak_rss_mb(), bodies, shorts


def _doc_entries(path: str, offsets: bytes) -> tuple[dict, dict]:
    """All postings entries of one doc: ({key: code}, {key: (count, in a heading, encoded heading
    indices and positions)})."""
    got = _doc_arrays(path, offsets)
    if got is None:
        return {}, {}
    kr, pr, enc = got
    k: dict = {}
    p: dict = {}
    if kr is not None:
        k = dict(zip(_key_strs(kr["key"]), kr["code"].tolist()))
    if pr is not None:
        text = enc.decode("ascii")
        ends = np.cumsum(pr["len"], dtype=np.int64).tolist()
        encs = [text[s:e] for s, e in zip([0, *ends], ends)]
        p = dict(zip(_key_strs(pr["key"]), zip(pr["count"].tolist(), pr["h"].tolist(), encs)))
    return k, p


def _listing(out: Path) -> set[str]:
    """Names (without .js) of the index's files now in ``out`` (search/)."""
    names = {n for n in _TOP_FILES if (out / f"{n}.js").is_file()}
    stack = list(_SUBDIRS)
    while stack:
        rel = stack.pop()
        with os.scandir(out / rel) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(f"{rel}/{e.name}")
                elif e.name.endswith(".js"):
                    names.add(f"{rel}/{e.name[:-3]}")
                else:
                    names.add(f"{rel}/{e.name}")
    return names


def _diff(changed, order, old_order, new_docs, old_docs) -> tuple[dict, dict]:
    """The entries that differ between the old and the new docs at the changed numbers:
    ({key: {doc: code or None}}, {key: {doc: (count, in a heading, positions) or None}})."""
    kch: dict = defaultdict(dict)
    pch: dict = defaultdict(dict)
    for n in changed:
        old_k, old_p = ({}, {})
        if n < len(old_order) and old_order[n] in old_docs:
            _, path, meta = old_docs[old_order[n]]
            old_k, old_p = _doc_entries(path, meta["offsets"])
        new_k, new_p = ({}, {})
        if n < len(order):
            _, path, meta = new_docs[order[n]]
            new_k, new_p = _doc_entries(path, meta["offsets"])
        for old, new, ch in ((old_k, new_k, kch), (old_p, new_p, pch)):
            for key, e in new.items():
                if old.get(key) != e:
                    ch[key][n] = e
            for key in old.keys() - new.keys():
                ch[key][n] = None
    return kch, pch


def _fold_files() -> dict[str, bytes]:
    blocks: dict[int, dict] = defaultdict(dict)
    for k, v in analysis._table()["fold"].items():
        blocks[ord(k) >> 8][k] = v
    return {f"f/{blk:x}": _js(f"f/{blk:x}", _json(entries)) for blk, entries in blocks.items()}


def _fold_blocks() -> list[int]:
    return sorted({ord(k) >> 8 for k in analysis._table()["fold"]})


def _reverse_blocks() -> dict[int, dict]:
    """The fold table by the characters it folds to: block → {char: its fold} for every char whose
    fold has a character of that block."""
    blocks: dict[int, dict] = defaultdict(dict)
    for k, v in analysis._table()["fold"].items():
        for ch in set(v):
            blocks[ord(ch) >> 8][k] = v
    return blocks


def _reverse_files() -> dict[str, bytes]:
    return {f"r/{blk:x}": _js(f"r/{blk:x}", _json(entries)) for blk, entries in _reverse_blocks().items()}


def _worker_init() -> None:
    """Pool workers allocate and free large arrays all the time: keep freed memory in the heap
    (glibc) rather than giving it back to the system and faulting it in again (page faults are
    most of their system time otherwise)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _pool(n_jobs: int):
    import multiprocessing as mp

    workers = min(2, os.cpu_count() or 1, n_jobs)
    if workers < 2:
        return None
    import threading

    # fork is cheapest (and its workers are our children, so their CPU time and memory show in
    # getrusage); never fork a process that runs other threads.
    methods = mp.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        ctx = mp.get_context("fork")
    else:
        ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)


class _Relayout(Exception):
    """A shard's bucket count changes: the postings are assembled afresh."""


class StaticIndex:
    """Writes ``output_dir/search/`` for a set of docs; analysis and postings are kept in ``state_dir``."""

    def __init__(self, state_dir: Path, output_dir: Path, jobs: int | None = None):
        self.state = Path(state_dir) / "static"
        self.out = Path(output_dir) / "search"
        self.jobs = jobs

    def _cache_path(self, doc_id: str, fingerprint: str) -> Path:
        h = hashlib.sha1(f"{_CACHE_VERSION}\0{doc_id}\0{fingerprint}".encode()).hexdigest()
        return self.state / "docs" / h[:2] / f"{h[2:]}.bin"

    def _load_manifest(self) -> dict:
        try:
            m = marshal.loads((self.state / "manifest.bin").read_bytes())
            if m.get("version") == _CACHE_VERSION:
                if (self.state / "dirty").exists():  # a build died after changing the output
                    m["nshards"] = 0
                return m
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return {"version": _CACHE_VERSION, "docs": {}, "order": [], "files": {}, "nshards": 0, "layout": None}

    def update(self, docs: Sequence) -> dict:
        stats: Counter = Counter()
        ids = [d.id for d in docs]
        if len(set(ids)) != len(ids):
            raise ValueError("static index: duplicate doc ids")
        # Nothing changed since the last write (and it is still there): nothing to do.
        key = hashlib.sha1(
            json.dumps([_CACHE_VERSION, sorted((d.id, d.fingerprint) for d in docs)], ensure_ascii=False).encode(
                "utf-8"
            )
        ).hexdigest()
        last = self.state / "last.json"
        try:
            prev = json.loads(last.read_text("utf-8"))
            if prev["key"] == key and prev["meta"] == hashlib.sha1((self.out / "meta.js").read_bytes()).hexdigest():
                return {"unchanged": prev["files"], "files": prev["files"], "bytes": prev["bytes"], "skipped": 1}
        except (OSError, ValueError, KeyError):
            pass
        manifest = self._load_manifest()
        old_docs: dict = manifest["docs"]  # id → (fingerprint, path, meta)
        # 1. Analyse what is new or changed (only those docs' bodies are read).
        new_docs: dict = {}
        todo = []
        for d in docs:
            entry = old_docs.get(d.id)
            if entry is not None and entry[0] == d.fingerprint and Path(entry[1]).exists():
                new_docs[d.id] = entry
                stats["reused"] += 1
            else:
                todo.append(d)
        if todo:
            paths = [str(self._cache_path(d.id, d.fingerprint)) for d in todo]
            pool = _pool(len(todo)) if len(todo) >= POOL_MIN_DOCS and self.jobs != 1 else None
            if pool is None:
                metas = [_analyse_to((d, p)) for d, p in zip(todo, paths)]
            else:
                with pool:
                    metas = list(pool.map(_analyse_to, zip(todo, paths), chunksize=4))
            for d, p, m in zip(todo, paths, metas):
                new_docs[d.id] = (d.fingerprint, p, m)
            stats["analysed"] += len(todo)
        order = sorted(new_docs, key=lambda i: tuple(new_docs[i][2]["order"]))
        nshards = _shard_count(len(order))
        # 2. Postings: patch the shards when the other docs keep their numbers, else assemble.
        old_order = manifest["order"]
        common = 0
        for a, b in zip(old_order, order):
            if a != b:
                break
            common += 1
        end = max(len(order), len(old_order))
        if len(old_order) == len(order):  # a doc moved or was replaced: the docs after keep their numbers
            while end > common and old_order[end - 1] == order[end - 1]:
                end -= 1
        changed = [n for n in range(common) if new_docs[order[n]][0] != old_docs[order[n]][0]]
        changed += range(common, end)
        changed += [n for n in range(end, len(order)) if new_docs[order[n]][0] != old_docs[order[n]][0]]
        files = dict(manifest["files"])
        try:  # the output is still what the manifest describes (else write and clean up everything)
            intact = hashlib.sha1((self.out / "meta.js").read_bytes()).hexdigest() == manifest.get(
                "meta_sha"
            ) and _listing(self.out) == set(manifest["files"])
        except OSError:
            intact = False
        patch = bool(
            intact
            and manifest["nshards"] == nshards
            and manifest["layout"]
            and old_order
            and len(changed) <= max(8, len(order) // 16)
            and all(self._skip_path(s).exists() for s in range(nshards))
            and all(Path(old_docs[old_order[n]][1]).exists() for n in changed if n < len(old_order))
        )
        if patch:  # the entries that change; patching costs per key, assembling per doc
            kch, pch = _diff(changed, order, old_order, new_docs, old_docs)
            patch = len(kch) + len(pch) <= PATCH_KEYS_PER_DOC * len(order) + 10_000
        changed_set = set(changed)
        # Until the new manifest is written, a build that dies half-way leaves files and checkpoints
        # that the old manifest does not describe: mark that, so that the next build assembles afresh.
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "dirty").touch()
        if patch:
            try:
                layout = self._patch(kch, pch, nshards, manifest["layout"], files, stats)
                stats["patched"] = len(changed)
            except (OSError, ValueError, KeyError, EOFError, TypeError, _Relayout):  # the output or state was changed
                patch = False
                stats["patch_failed"] = 1
                if os.environ.get("SS_DEBUG"):
                    raise
        if not patch:
            for name in [n for n in files if n[:2] in ("k/", "p/")]:
                del files[name]
            layout = self._assemble(order, new_docs, nshards, files, stats)
        # 3. Text files, fold shards, facets, meta.
        tnames = set()
        for n, i in enumerate(order):
            name = f"t/{n // T_DIR}/{n}-"
            tnames.add(name + "0")
            if patch and n not in changed_set and name + "0" in files:
                if name + "1" in files:
                    tnames.add(name + "1")
                continue
            for part, body in enumerate(_read_payload(Path(new_docs[i][1]))):
                if body is not None:
                    tnames.add(name + str(part))
                    _put(self.out, name + str(part), _js(name + str(part), body), files, stats)
        for name in [n for n in files if n.startswith("t/") and n not in tnames]:
            del files[name]
        for name, data in {**_fold_files(), **_reverse_files()}.items():
            if patch and name in files:
                continue
            _put(self.out, name, data, files, stats)
        metas = [new_docs[i][2] for i in order]
        years: list[list[int]] = []
        for m in metas:
            if years and years[-1][0] == m["year"]:
                years[-1][1] += 1
            else:
                years.append([m["year"], 1])
        mtypes = sorted({m["mt"] for m in metas})
        themes = sorted({t for m in metas for t in m["themes"]})
        speakers = sorted({m.get("speaker", "") for m in metas} - {""})
        orgs = sorted({m.get("org", "") for m in metas} - {""})
        mt_ix = {m: i for i, m in enumerate(mtypes)}
        th_ix = {t: i for i, t in enumerate(themes)}
        sp_ix = {v: i + 1 for i, v in enumerate(speakers)}
        org_ix = {v: i + 1 for i, v in enumerate(orgs)}
        fac = []
        prev_key = None
        for m in metas:
            ts = sorted({th_ix[t] for t in m["themes"]})
            same = int(m["dkey"] == prev_key)
            prev_key = m["dkey"]
            fac.append(
                _v(mt_ix[m["mt"]] << 1 | same)
                + _v(m["tlen"])
                + _v(m["blen"])
                + _v(len(ts))
                + "".join(_v(t) for t in ts)
                + _v(sp_ix.get(m.get("speaker", ""), 0))
                + _v(org_ix.get(m.get("org", ""), 0))
            )
        _put(self.out, "facets", _js("facets", _json("".join(fac))), files, stats)
        files.pop("meta", None)
        digest = hashlib.sha1()
        for name in sorted(files):
            digest.update(f"{name}\0{files[name][0]}\0".encode())
        meta = {
            "format": FORMAT,
            "n": len(order),
            "tdir": T_DIR,
            "kb": sum(layout["k"][0]),
            "pb": sum(layout["p"][0]),
            "kbs": layout["k"][0],
            "pbs": layout["p"][0],
            "fold": _fold_blocks(),
            "rfold": sorted(_reverse_blocks()),
            "ign": "".join(sorted(k for k, v in analysis._table()["fold"].items() if v == "")),
            "years": years,
            "mtypes": mtypes,
            "themes": themes,
            "speakers": speakers,
            "orgs": orgs,
            "ver": digest.hexdigest()[:12],
        }
        meta_js = _js("meta", _json(meta))
        _put(self.out, "meta", meta_js, files, stats)
        # 4. Remove what this index wrote before and no longer needs; search/index.html (the page)
        # and anything else in search/ that is not ours stays.
        if patch:
            for name in set(manifest["files"]) - set(files):
                try:
                    (self.out / f"{name}.js").unlink()
                    stats["removed"] += 1
                except OSError:
                    pass
        else:
            wanted = {f"{n}.js" for n in files}
            ours = [self.out / f"{n}.js" for n in _TOP_FILES]
            for sub in _SUBDIRS:
                if (self.out / sub).is_dir():
                    ours += sorted((self.out / sub).rglob("*"), reverse=True)
            for path in ours:
                if path.is_file() and path.relative_to(self.out).as_posix() not in wanted:
                    path.unlink()
                    stats["removed"] += 1
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
        for sub in ("t",):  # empty text directories after removals
            d = self.out / sub
            if patch and d.is_dir():
                for p in d.iterdir():
                    if p.is_dir() and not any(p.iterdir()):
                        p.rmdir()
        # 5. State: manifest, then drop cache files of docs that are gone or changed.
        manifest = {
            "version": _CACHE_VERSION,
            "docs": new_docs,
            "order": order,
            "files": files,
            "nshards": nshards,
            "layout": layout,
            "meta_sha": hashlib.sha1(meta_js).hexdigest(),
        }
        _write_atomic(self.state / "manifest.bin", marshal.dumps(manifest))
        (self.state / "dirty").unlink(missing_ok=True)
        for s in range(nshards, 64):
            self._skip_path(s).unlink(missing_ok=True)
        keep = {e[1] for e in new_docs.values()}
        for i, e in old_docs.items():
            if e[1] not in keep:
                Path(e[1]).unlink(missing_ok=True)
        stats["files"] = len(files)
        stats["bytes"] = sum(size for _, size in files.values())
        _write_atomic(
            last,
            json.dumps(
                {
                    "key": key,
                    "meta": hashlib.sha1(meta_js).hexdigest(),
                    "files": stats["files"],
                    "bytes": stats["bytes"],
                }
            ).encode("utf-8"),
        )
        return dict(stats)

    def _skip_path(self, shard: int) -> Path:
        return self.state / "skip" / f"{shard}.bin"

    def _assemble(self, order, new_docs, nshards, files, stats) -> dict:
        """Write all postings; returns the layout {"k"|"p": (bucket count per shard, short chars per shard)}."""
        docs = [(new_docs[i][1], new_docs[i][2]["offsets"]) for i in order]
        (self.state / "skip").mkdir(parents=True, exist_ok=True)
        jobs = [(s, nshards, docs, str(self.out), str(self._skip_path(s))) for s in range(nshards)]
        pool = _pool(nshards) if len(order) >= 4 * POOL_MIN_DOCS and self.jobs != 1 else None
        layout: dict = {"k": ([], []), "p": ([], [])}
        offset = {"k": 0, "p": 0}
        try:
            results = map(_assemble_shard, jobs) if pool is None else pool.map(_assemble_shard, jobs)
            for fs, st, rss, bodies, shorts in results:  # in shard order: buckets are numbered so
                files.update(fs)
                stats.update(st)
                if pool is not None:
                    stats["worker_peak_rss_mb"] = max(stats["worker_peak_rss_mb"], rss)
                for prefix in ("k", "p"):
                    for j, body in enumerate(bodies[prefix]):
                        name = f"{prefix}/{offset[prefix] + j}"
                        _put(self.out, name, _js(name, body), files, stats)
                    offset[prefix] += len(bodies[prefix])
                    layout[prefix][0].append(len(bodies[prefix]))
                    layout[prefix][1].append(shorts[prefix])
        finally:
            if pool is not None:
                pool.shutdown()
        stats["assembled"] = 1
        return layout

    def _patch(self, kch, pch, nshards, layout, files, stats) -> dict:
        """Patch changed entries ({key: {doc: entry or None}}) into the index files that hold them.

        The output files are the state: a bucket is read back, its changed keys patched and it is
        written again; a long posting is patched around the change using its checkpoints."""
        where = {prefix: _Layout(layout[prefix][0]) for prefix in ("k", "p")}
        shorts = {prefix: list(layout[prefix][1]) for prefix in ("k", "p")}
        by_file: dict = defaultdict(list)  # (prefix, bucket) → keys
        for prefix, changes in (("k", kch), ("p", pch)):
            for key in changes:
                by_file[prefix, where[prefix].bucket(key)].append(key)
        skips: dict = {}  # shard → checkpoints of its long postings
        pending = []  # buckets are written once the layout is known to stay
        for (prefix, bk), keys in sorted(by_file.items()):
            changes = kch if prefix == "k" else pch
            bucket = _read_js(self.out / f"{prefix}/{bk}.js")
            shard = where[prefix].shard(bk)
            skip = skips.get(shard)
            if skip is None:
                skip = skips[shard] = marshal.loads(self._skip_path(shard).read_bytes())
            for key in keys:
                old = bucket.get(key, "")
                old_df = None
                if isinstance(old, int):  # -df: the posting is in its own file
                    old_df = -old
                    old = _read_js(self.out / f"{prefix}/x/{_hexname(key)}.js")
                new, ck, delta = _patch_posting(prefix, old, skip.get(prefix + key), changes[key])
                if ck is None:
                    skip.pop(prefix + key, None)
                else:
                    skip[prefix + key] = ck
                if not new:
                    bucket.pop(key, None)
                elif len(new) <= BIG:
                    bucket[key] = new
                else:
                    if old_df is None:
                        old_df = len(_decode(prefix, old, 0, len(old), -1))
                    bucket[key] = -(old_df + delta)
                shorts[prefix][shard] += (len(key) + len(new) if len(new) <= BIG and new else 0) - (
                    len(key) + len(old) if len(old) <= BIG and old else 0
                )
                if len(new) > BIG:
                    name, data = _x_js(prefix, key, new)
                    _put(self.out, name, data, files, stats, compare=False)
                elif len(old) > BIG:
                    files.pop(f"{prefix}/x/{_hexname(key)}", None)
            pending.append((f"{prefix}/{bk}", _bucket_body(bucket)))
        for prefix in ("k", "p"):
            if [_bucket_count(x) for x in shorts[prefix]] != layout[prefix][0]:
                raise _Relayout(prefix)
        for name, body in pending:
            _put(self.out, name, _js(name, body), files, stats, compare=False)
        for shard, skip in skips.items():
            _write_atomic(self._skip_path(shard), marshal.dumps(skip))
        return {prefix: (layout[prefix][0], shorts[prefix]) for prefix in ("k", "p")}
