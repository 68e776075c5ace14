"""Per-document analysis for the in-browser index: a doc's keys and postings entries as numpy arrays.

Each new or changed doc is analysed (``analyse``) into files in the build's state: a header (its
text payload) kept between builds, and arrays, which assembly and patching read back by hash section
(``doc_arrays``, ``doc_entries``) and which are removed at the end of the build (analysed again from
the header when a later build needs them). Keys are ``analysis.grams`` of ``analysis.search_text``:
every char and adjacent pair with its exact counts in title and body (``k``) and every trigram with
its positions (``p``), in the wire format's terms (``wire``). A text longer than ``windows.WINDOW``
characters is analysed a window at a time (``windows``: the same arrays, in memory bounded by the
window).
"""

from __future__ import annotations

import base64
import json
import marshal
import os
import re
import zlib
from itertools import accumulate
from pathlib import Path

import numpy as np

from ..fileio import atomic_open, write_atomic
from ..search import analysis
from . import windows
from .entries import cps, entries_dense, entries_sorted, fold_cps, fold_lut, gram_keys, sec_bounds
from .keys import SEC_RANK, SECTIONS, copy_segments, counted_vlq, group_starts, key_strs, khash_np, seg_index, vlq_np
from .wire import json_text

# ``analyse``'s bytes: 4-byte header length, deflated marshal (meta, text payload) (the header file), then
# three arrays (the arrays file, where meta["offsets"][0], the header's end, is 0), each
# in section order (_SEC_ORDER; within a section in the order the doc first has the key):
# k records (key, code), p records (key, count, in a heading, bytes of its encoded positions), the
# encoded positions (after the heading indices when in a heading). A k code is
# ``body count << 9 | min(title count, 255) << 1 | in a heading``. meta["offsets"] (int64):
# [header end, k count, p count, position bytes], then the start of every section in each array
# (65 each).
KREC = np.dtype([("key", "<u8"), ("code", "<u4")])
_MAX_BODY_COUNT = (1 << 23) - 1  # a k code's body count (a speech file is at most 4 MB: fewer characters)
PREC = np.dtype([("key", "<u8"), ("count", "<u4"), ("h", "u1"), ("len", "<u4")])


def _line_lens(body: str, bcp: np.ndarray) -> list[int]:
    """len(analysis.fold(line)) of each line of the body (``bcp``: its code points)."""
    lut_multi = fold_lut()[1]
    if not len(bcp) or (int(bcp.max()) < 0x10000 and not lut_multi[bcp].any()):
        # Folding maps each char to one char: a line keeps its length.
        nl = np.flatnonzero(bcp == 10)
        return (np.diff(np.concatenate(([-1], nl, [len(bcp)]))) - 1).tolist()
    return [len(analysis.fold(line)) for line in body.split("\n")]


def _heading_mask(headings, body: str, bcp: np.ndarray, n: int, tlen: int) -> np.ndarray | None:
    """Positions of the search text that lie in a heading line of the body (None: no headings)."""
    heads = sorted({h for h in (headings or ()) if isinstance(h, int) and h >= 0})
    if not heads:
        return None
    lens = _line_lens(body, bcp)
    if tlen + 1 + sum(lens) + len(lens) - 1 != n:  # not the text the keys were taken from
        return None
    starts = list(accumulate((ln + 1 for ln in lens), initial=tlen + 1))
    mask = np.zeros(n, bool)
    for h in heads:
        if h < len(lens):
            mask[starts[h] : starts[h] + lens[h]] = True
    return mask if mask.any() else None


def _date_key(date: str) -> int:
    """search.ranking.date_key: year, month, day as one number (a missing part 0)."""
    parts = [int(p) for p in re.findall(r"\d+", date or "")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


_DENSE = True  # tests switch it off to check both ways agree


def _keys(title: str, body: str, headings) -> tuple:
    """The keys part of the analysis: (the code points that folding changes, whether heading lines
    are marked, folded title length, folded text length, (k, p) sizes, offsets with a header of 0
    bytes, the three arrays). A text longer than ``windows.WINDOW`` is analysed a window at a time
    (the same arrays; #15, a 50 MB speech)."""
    if len(title) + 1 + len(body) > windows.WINDOW:
        tlen = len(fold_cps(title, cps(title)))
        codes, has_h, n, krank, prank, arrays = windows.analyse_keys(title, body, headings, tlen)
    else:
        codes, has_h, tlen, n, krank, prank, arrays = _whole_keys(title, body, headings)
    krec, prec, enc = arrays
    kb = sec_bounds(krank)
    pb = sec_bounds(prank)
    eb = np.concatenate(([0], np.cumsum(prec["len"], dtype=np.int64)))[pb]
    sizes = (len(krec), len(enc) + 2 * len(prec))
    offsets = np.concatenate(([0, len(krec), len(prec), len(enc)], kb, pb, eb)).astype("<i8")
    return codes, has_h, tlen, n, sizes, offsets, arrays


def sections_of(uk: np.ndarray, uk3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rank of the section of each char or pair key and of each trigram key."""
    ranks = SEC_RANK[(khash_np(np.concatenate((uk, uk3))) & (SECTIONS - 1)).astype(np.intp)]
    return ranks[: len(uk)], ranks[len(uk) :]


def _whole_keys(title: str, body: str, headings) -> tuple:
    tcp, bcp = cps(title), cps(body)
    ftitle = fold_cps(title, tcp)
    tlen = len(ftitle)
    cp = np.concatenate((ftitle.astype(np.uint32), np.zeros(1, np.uint32), fold_cps(body, bcp).astype(np.uint32)))
    ok = (cp != 32) & (cp != 0)  # no key contains a space or the separator
    got = entries_dense(cp, ok) if _DENSE else None
    if got is None:
        got = entries_sorted(cp, ok)
    uk, kcnt, first, uk3, cnt, pos, gs = got
    hmask = _heading_mask(headings, body, bcp, len(cp), tlen)
    krank, prank = sections_of(uk, uk3)
    krec = _k_records(cp, ok, tlen, hmask, uk, kcnt, first, krank)
    prec, enc = _p_records(len(cp), hmask, uk3, cnt, pos, gs, prank)
    return _changed_codes(np.concatenate((tcp, bcp))), hmask is not None, tlen, len(cp), krank, prank, (krec, prec, enc)


def analyse(doc) -> tuple[dict, bytes, tuple]:
    """Everything the index needs from one document: (meta, the header file's bytes, the arrays of
    the arrays file: k records, p records, encoded positions; ``meta["offsets"]`` locates them)."""
    body = doc.body  # (read once: a build's doc reads it from the build cache, or is given it once more)
    codes, has_h, tlen, n, (ksize, psize), offsets, arrays = _keys(doc.title, body, getattr(doc, "headings", None))
    meta = {
        "order": (doc.date, doc.id),
        "year": int(doc.year),
        "mt": doc.meeting_type or "",
        "themes": list(doc.themes or ()),
        "tlen": tlen,
        "blen": n - tlen - 1,  # len(analysis.fold(body))
        "speaker": getattr(doc, "speaker", "") or "",
        "org": getattr(doc, "organization", "") or "",
        "dkey": _date_key(doc.date),
        "size": (ksize * 3 // 2, psize * 11 // 10),  # about what its entries add to k/ and p/
    }
    payload = _text_payload(doc, body, codes, has_h)
    header = zlib.compress(marshal.dumps((meta, payload)), 6)  # 12 → 9 kB a speech: its text is base64
    meta["offsets"] = offsets.tobytes()
    return meta, len(header).to_bytes(4, "little") + header, arrays


def _k_records(cp, ok, tlen: int, hmask, uk, kcnt, first, krank) -> np.ndarray:
    """Chars and pairs: doc-level, with their counts in the title and the body, and whether they
    occur in a heading; by section, then first seen."""
    tcount = np.zeros(len(uk), np.int64)
    if tlen and len(uk):
        tkeys, tc = np.unique(gram_keys(cp[:tlen], ok[:tlen]), return_counts=True)
        by_key = np.argsort(uk, kind="stable")
        tcount[by_key[np.searchsorted(uk[by_key], tkeys)]] = tc
    in_heading = np.isin(uk, gram_keys(cp, ok & hmask)) if hmask is not None else None
    return _k_code(uk, kcnt, tcount, in_heading, np.argsort(krank * (2 * len(cp) + 1) + first))


def _k_code(uk, kcnt, tcount, in_heading, o) -> np.ndarray:
    """The k records of keys ``uk`` (counts ``kcnt``, of which ``tcount`` in the title, in a heading
    line or not: ``in_heading``, None for none) in the order ``o``."""
    code = np.minimum(kcnt - tcount, _MAX_BODY_COUNT).astype(np.uint32) << np.uint32(9) | np.minimum(
        tcount, 255
    ).astype(np.uint32) << np.uint32(1)
    if in_heading is not None:
        code |= in_heading.astype(np.uint32)
    krec = np.empty(len(uk), KREC)
    krec["key"] = uk[o]
    krec["code"] = code[o]
    return krec


def _heading_prefixes(hmask, pos, gs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trigrams with positions in heading lines, the indices of those positions encoded (their
    number, then first index, then gaps - 1): (those groups ascending, their prefix lengths, all
    their prefixes' chars one after the other)."""
    none = np.zeros(0, np.int64)
    if hmask is None or not len(pos):
        return none, none, np.zeros(0, np.uint8)
    hpos = np.flatnonzero(hmask[pos])
    if not len(hpos):
        return none, none, np.zeros(0, np.uint8)
    grp = np.searchsorted(gs, hpos, "right") - 1
    gstart = group_starts(grp)
    groups = grp[gstart]
    hcount = np.diff(np.append(gstart, len(hpos)))
    gaps = hpos - gs[grp]
    gaps[1:] -= hpos[:-1] + 1 - gs[grp[1:]]
    gaps[gstart] = hpos[gstart] - gs[groups]
    return groups, *counted_vlq(hcount, gaps)  # each group: its count, then its gaps


def _p_records(n: int, hmask, uk3, cnt, pos, gs, prank) -> tuple[np.ndarray, np.ndarray]:
    """Trigram positions (offsets in the search text: first offset, then gaps - 1), by section,
    then first offset: (p records, their encoded positions one after the other)."""
    vals = pos.copy()
    vals[1:] -= pos[:-1]
    vals[1:] -= 1
    vals[gs] = pos[gs]
    chars, nd = vlq_np(vals, np.uint8)  # (at most 13 chars a value)
    del vals
    glen = np.add.reduceat(nd, gs, dtype=np.int64) if len(gs) else np.zeros(0, np.int64)
    del nd
    o = np.argsort(prank * (n + 1) + pos[gs])  # by section, then first offset
    # Trigrams with positions in heading lines: the indices of those positions go first.
    hflag = np.zeros(len(gs), bool)
    hlen = np.zeros(len(gs), np.int64)
    hgroups, hglen, hchars = _heading_prefixes(hmask, pos, gs)
    hflag[hgroups] = True
    hlen[hgroups] = hglen
    tl = (hlen + glen)[o]
    starts = np.cumsum(tl) - tl
    enc = np.empty(int(tl.sum()), np.uint8)
    copy_segments(enc, starts + hlen[o], chars, (np.cumsum(glen) - glen)[o], glen[o])
    del chars
    if len(hgroups):
        where = np.empty(len(o), np.int64)
        where[o] = np.arange(len(o))
        enc[seg_index(starts[where[hgroups]], hglen)] = hchars
    prec = np.empty(len(uk3), PREC)
    prec["key"] = uk3[o]
    prec["count"] = cnt[o]
    prec["h"] = hflag[o]
    prec["len"] = tl
    return prec, enc


def _changed_codes(ocp: np.ndarray) -> np.ndarray:
    """The distinct code points of ``ocp`` that folding may change, ascending."""
    cand = ocp >= 0x10000
    cand[~cand] = fold_lut()[2][ocp[~cand]]
    return np.unique(ocp[cand])


_ZCHARS = 1 << 18  # characters of the body encoded at a time (deflate's output is the same)


def _text_payload(doc, body: str, codes: np.ndarray, has_h: bool) -> str:
    """The text file's data (without its name, which depends on the doc number)."""
    title = doc.title
    table = analysis._translate_table()
    fmap = {}
    for o_ in codes.tolist():
        if o_ in table and table[o_] != chr(o_):
            fmap[chr(o_)] = table[o_]
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)  # one raw deflate stream: the whole body
    z = b"".join([co.compress(body[i : i + _ZCHARS].encode("utf-8")) for i in range(0, len(body), _ZCHARS)])
    t: dict = {
        "c": [title, doc.url, doc.date, doc.meeting_type or ""],
        "z": base64.b64encode(z + co.flush()).decode("ascii"),
        "f": fmap,
    }
    if has_h:
        t["h"] = sorted({h for h in doc.headings if isinstance(h, int) and 0 <= h <= body.count("\n")})
    return json_text(t)


# -- the state: a header file kept, an arrays file while a build needs it ------------------------
#
# A doc's cache is two files: ``<h>.bin``, its header (meta and text payload: what the text files are
# written from, and the title, body and headings its keys are taken from), kept between builds; and
# ``<h>.arr``, its arrays (``offsets`` locate them), written when it is analysed and removed at the
# end of the build. A later build that needs a doc's entries (to patch around a changed doc, or to
# assemble) analyses its stored text again (``reanalyse_to``): the arrays are about 6 times the size
# of the speech's Markdown (the header a third of it) and are read by the build that writes them,
# rarely after (#15: 174 MB of state for 28 MB of speeches).


def arrays_path(path: str) -> str:
    """The arrays file of a doc's header file."""
    return path[:-4] + ".arr"


def _store(path: str, arrays: tuple, head: bytes | None = None) -> None:
    """Write a doc's arrays file (each array as it is in memory: no copy of them all at once) and,
    when given, its header file."""
    with atomic_open(Path(arrays_path(path)), "wb") as fh:
        for a in arrays:
            fh.write(np.ascontiguousarray(a).view(np.uint8).data)
    if head is not None:
        write_atomic(Path(path), head)


def analyse_to(args) -> dict:
    """Pool worker: analyse one doc and write its header and arrays files; return its meta."""
    doc, path = args
    meta, head, arrays = analyse(doc)
    _store(path, arrays, head)
    return meta


def read_header(path: Path) -> tuple[dict, str]:
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(4), "little")
        data = fh.read(n)
    if len(data) != n:
        raise EOFError(f"{path}: truncated")
    try:
        return marshal.loads(zlib.decompress(data))
    except zlib.error as err:
        raise ValueError(f"{path}: {err}") from None


def read_payload(path: Path) -> str:
    return read_header(path)[1]


def stored_text(path: Path) -> tuple[str, str, list]:
    """(title, body, headings) of the doc a header file was written from (its text payload)."""
    t = json.loads(read_payload(path))
    return t["c"][0], zlib.decompressobj(-15).decompress(base64.b64decode(t["z"])).decode("utf-8"), t.get("h", [])


def reanalyse_to(path: str) -> bytes:
    """Pool worker: the arrays file of a doc from its header file again; returns its offsets."""
    title, body, headings = stored_text(Path(path))
    offsets, arrays = _keys(title, body, headings)[-2:]
    _store(path, arrays)
    return offsets.tobytes()


# -- writing --------------------------------------------------------------------------------


def section_sizes(offsets: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A doc's k entries, p entries and bytes of encoded positions in each section (``offsets`` as
    ``analyse`` gives them)."""
    offs = np.frombuffer(offsets, "<i8")
    return np.diff(offs[4:69]), np.diff(offs[69:134]), np.diff(offs[134:199])


def doc_arrays(path: str, offsets: bytes, a: int = 0, b: int = SECTIONS):
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
        ks, ps = KREC.itemsize, PREC.itemsize
        kr = np.frombuffer(os.pread(fd, (k1 - k0) * ks, head + k0 * ks), KREC) if k1 > k0 else None
        base = head + nk * ks
        pr = np.frombuffer(os.pread(fd, (p1 - p0) * ps, base + p0 * ps), PREC) if p1 > p0 else None
        enc = os.pread(fd, e1 - e0, base + npr * ps + e0) if e1 > e0 else b""
    finally:
        os.close(fd)
    if (kr is not None and len(kr) != k1 - k0) or (pr is not None and len(pr) != p1 - p0) or len(enc) != e1 - e0:
        raise EOFError(f"{path}: truncated")
    return kr, pr, enc


def doc_entries(path: str, offsets: bytes, a: int = 0, b: int = SECTIONS) -> tuple[dict, dict]:
    """The postings entries of one doc in sections [a, b) (all by default): ({key: code}, {key:
    (count, in a heading, encoded heading indices and positions)})."""
    got = doc_arrays(path, offsets, a, b)
    if got is None:
        return {}, {}
    kr, pr, enc = got
    k: dict = {}
    p: dict = {}
    if kr is not None:
        k = dict(zip(key_strs(kr["key"]), kr["code"].tolist()))
    if pr is not None:
        text = enc.decode("ascii")
        ends = np.cumsum(pr["len"], dtype=np.int64).tolist()
        encs = [text[s:e] for s, e in zip([0, *ends], ends)]
        p = dict(zip(key_strs(pr["key"]), zip(pr["count"].tolist(), pr["h"].tolist(), encs)))
    return k, p
