"""Assembling the index's postings from the docs' entries spilled by part (``spill``): a shard a part
at a time, so memory is bounded by a part (and the shard's short postings as text).

A part's entries of all docs are sorted by (key, doc) and the VLQ text of every posting is computed
at once; only whole postings and keys become Python strings. A long posting gets its own file
(``x/<hex>``) and checkpoints in the state (for patching); the others are kept as chars until the
shard's parts are done, then packed into buckets (``wire.Layout``). Also the fold shards, which
depend on the fold table only.
"""

from __future__ import annotations

import hashlib
import marshal
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import numpy as np

from ..fileio import write_atomic
from ..search import analysis
from . import pieces, wire
from .files import peak_rss_mb, put, tag_of
from .keys import copy_segments, group_bounds, key_cps, key_strs, khash_np, seg_index, vlq_np
from .spill import read_part
from .wire import PREFIXES, bucket_count, bucket_text, cached_vlq, js_file, json_text, x_file


def _vlq_columns(n: int, cols: list) -> tuple[np.ndarray, np.ndarray]:
    """Per entry (n of them), the VLQ of each column where its mask holds (None: everywhere; the
    first column's mask must be None), one after the other: (all the chars, number of chars of each
    entry). The values are laid out entry by entry and encoded at once."""
    m = np.zeros(n, np.int64)
    for mask, _ in cols:
        m += 1 if mask is None else mask
    ends = np.cumsum(m)
    vals = np.empty(int(ends[-1]) if n else 0, np.int64)
    at = ends - m
    for mask, values in cols:
        if mask is None:
            vals[at] = values
            at = at + 1
        else:
            vals[at[mask]] = values
            at = at + mask
    chars, nd = vlq_np(vals)
    cs = np.concatenate(([0], np.cumsum(nd)))
    return chars, cs[ends] - cs[ends - m]


def _postings(kind: str, keys, docs, vals, plen=None, penc=None, hflags=None):
    """The postings of one shard from its entries (concatenated doc after doc).

    Returns (unique keys, group bounds (entry index), posting bytes, entry start offsets in those
    bytes (one more entry), sorted docs, first concatenation index of each key)."""
    perm = np.argsort(keys, kind="stable")  # by key, then doc (entries are doc after doc)
    sk = keys[perm]
    d = docs[perm]
    g = group_bounds(sk)
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
        # Each entry: its header chars (in hc), then its encoded positions (in penc), copied a few
        # million at a time (a big speech's positions: no index array over all of them).
        at = np.cumsum(ln + pl) - (ln + pl)
        out = np.empty(int(ln.sum() + pl.sum()), np.uint8)
        copy_segments(out, at, hc, np.cumsum(ln) - ln, ln)
        copy_segments(out, at + ln, penc, (np.cumsum(plen, dtype=np.int64) - plen)[perm], pl)
        ln = ln + pl
    starts = np.concatenate(([0], np.cumsum(ln)))
    return sk[gs], g, out, starts, d, perm[gs]


STRING_CHUNK = 1 << 22  # bucket strings are built this many chars at a time (4 bytes each)


def _bucket_strings(ukeys, buf, bs, be, long_, dfs, order, bounds, sep: int = 1) -> list[str]:
    """Each bucket's string: its keys (``order``, cut at ``bounds``) as ``key posting`` (a long
    posting: ``key -df``; ``sep`` 0: no space after the key), joined by spaces; built as arrays of
    code points a few million at a time (buckets after buckets), each decoded once."""
    cps, ncp = key_cps(ukeys)
    cstart = np.cumsum(ncp) - ncp
    flat = cps[np.arange(3) < ncp[:, None]]
    lidx = np.flatnonzero(long_)
    aux = np.frombuffer("".join(f"-{d}" for d in dfs[lidx].tolist()).encode("ascii"), np.uint8)
    alen = np.array([len(str(d)) + 1 for d in dfs[lidx].tolist()], np.int64)
    vlen = be - bs
    vlen[lidx] = alen
    astart = np.zeros(len(ukeys), np.int64)
    astart[lidx] = np.cumsum(alen) - alen
    klen, plen, o = ncp[order], vlen[order], order
    elen = klen + sep + plen + 1  # per key: the key, a space (or none), its posting, a space
    ends = np.concatenate(([0], np.cumsum(elen)))
    out: list[str] = []
    b = 0
    while b < len(bounds) - 1:
        lo = bounds[b]
        e = b + 1  # buckets [b, e): about four million chars, at least one bucket
        while e < len(bounds) - 1 and ends[bounds[e + 1]] - ends[lo] <= STRING_CHUNK:
            e += 1
        hi = bounds[e]
        base = ends[lo]
        dst = np.full(int(ends[hi] - base), 32, "<u4")
        at, oo, short = ends[lo:hi] - base, o[lo:hi], ~long_[o[lo:hi]]
        copy_segments(dst, at, flat, cstart[oo], klen[lo:hi])
        at = at + klen[lo:hi] + sep
        copy_segments(dst, at[short], buf, bs[oo[short]], plen[lo:hi][short])
        copy_segments(dst, at[~short], aux, astart[oo[~short]], plen[lo:hi][~short])
        text = dst.tobytes().decode("utf-32-le", "surrogatepass")
        for x, y in pairwise(bounds[b : e + 1]):
            out.append(text[ends[x] - base : ends[y] - base - 1] if y > x else "")
        b = e
    return out


def _part_postings(kind: str, prefix: str, res: tuple, skip: dict, out: Path, files: dict, stats: Counter) -> tuple:
    """One part's postings (``_postings``' result): the long ones written to their own files, with
    their checkpoints in ``skip``; returns (keys, the short ones' chars one after the other, each
    key's posting length (0 if long), whether long, its number of docs)."""
    ukeys, g, buf, starts, sdocs, _ = res
    gs, ge = g[:-1], g[1:]
    bs, be = starts[gs], starts[ge]
    plen = be - bs
    long_ = plen > wire.BIG
    lidx = np.flatnonzero(long_)
    for i, key in zip(lidx.tolist(), key_strs(ukeys[lidx])):
        a, s, e = int(bs[i]), int(gs[i]), int(ge[i])
        js = range(0, e - s, wire.CK)
        cd = [int(sdocs[s + j - 1]) for j in js[1:]]
        skip[prefix + key] = ([-1, *cd], [int(starts[s + j]) - a for j in js])
        name, data = x_file(prefix, key, buf[a : int(be[i])].tobytes().decode("ascii"))
        put(out, name, data, files, stats)
    plen[long_] = 0
    short = np.empty(int(plen.sum()), np.uint8)
    copy_segments(short, np.cumsum(plen) - plen, buf, bs, plen)
    return ukeys, short, plen, long_, ge - gs


def _shard_buckets(kind: str, prefix: str, parts: list, bits: int, skip: dict) -> tuple[list[str], int, tuple]:
    """A shard's buckets from its parts' postings (``_part_postings``): (each bucket's data, the
    short postings' chars, (pairs as integer keys, their numbers of docs) for ``k``); a ``k/``
    bucket's pieces (``pieces.deflate``'s info) in ``skip`` under (prefix, its number in the shard)."""
    ukeys, buf, plen, long_, ndocs = (np.concatenate([p[i] for p in parts]) for i in range(5))
    be = np.cumsum(plen)
    bs = be - plen
    _, ncp = key_cps(ukeys)
    pairs = (ukeys[ncp == 2].astype(np.uint64), ndocs[ncp == 2].astype(np.int64)) if kind == "k" else ()
    short = int((ncp + plen)[~long_].sum())
    count = bucket_count(short, prefix)
    bk = ((khash_np(ukeys) >> np.uint32(bits)) % np.uint32(count)).astype(np.int64)
    # Each bucket's keys in string order (as json sort_keys): the keys are sorted as integers,
    # which is string order for trigrams; a char goes before the pairs that start with it.
    if kind == "k":
        cps, _ = key_cps(ukeys)
        lex = (cps[:, 0].astype(np.int64) << 22) | np.where(ncp == 2, cps[:, 1].astype(np.int64) + 1, 0)
        order = np.argsort((bk << 43) | lex)
    else:
        order = np.lexsort((ukeys, bk))
    bounds = np.searchsorted(bk[order], np.arange(count + 1)).tolist()
    texts = _bucket_strings(ukeys, buf, bs, be, long_, ndocs, order, bounds, int(kind == "k"))
    if prefix != "k":  # (the tail's kn/ deflated whole: ``pieces``)
        return [bucket_text(t, prefix) for t in texts], short, pairs
    datas = []
    for j, text in enumerate(texts):
        data, skip[prefix, j] = pieces.deflate(text)
        datas.append(json_text(data))
    return datas, short, pairs


def assemble_shard(args) -> tuple[dict, Counter, int, dict, dict, tuple]:
    """Build one shard from its parts' entries (``spill``), a part at a time; write its long
    postings' files and their checkpoints. Returns {file name: (digest, size)}, stats, peak RSS,
    the buckets' bodies and short chars by prefix, and (pairs as integer keys, their numbers of docs)
    for ``d/``."""
    _, nshards, paths, offsets, sizes, out, skip_path, names = args
    out = Path(out)
    files: dict = {}
    stats: Counter = Counter()
    skip: dict = {}
    got: dict = {prefix: [] for prefix in names}
    for q in range(offsets.shape[1]):
        kr, kdoc, pr, pdoc, penc = read_part(paths, offsets[:, q], sizes[:, q])
        res = _postings("k", kr["key"], kdoc, kr["code"].astype(np.int64))
        del kr, kdoc
        got[names[0]].append(_part_postings("k", names[0], res, skip, out, files, stats))
        res = _postings("p", pr["key"], pdoc, pr["count"], pr["len"], penc, pr["h"])
        del pr, pdoc, penc
        got[names[1]].append(_part_postings("p", names[1], res, skip, out, files, stats))
        del res
    bodies: dict = {}
    shorts: dict = {}
    pairs: tuple = ()
    for kind, prefix in zip(("k", "p"), names):
        bodies[prefix], shorts[prefix], got_pairs = _shard_buckets(
            kind, prefix, got.pop(prefix), nshards.bit_length() - 1, skip
        )
        pairs = got_pairs or pairs
    write_atomic(Path(skip_path), marshal.dumps(skip))
    return files, stats, peak_rss_mb(), bodies, shorts, pairs


def d_buckets(keys: np.ndarray, dfs: np.ndarray) -> tuple[int, int, list[str]]:
    """The ``d/`` buckets (``wire``) of the pairs (unique integer keys) with their numbers of docs:
    (bucket count, short chars, each bucket's data). Pairs in one doc are left out."""
    keep = dfs > 1
    keys, dfs = keys[keep].astype(np.uint64), dfs[keep]
    chars, nd = vlq_np(dfs)
    short = 2 * len(keys) + int(nd.sum())
    count = bucket_count(short, "d")
    cps, _ = key_cps(keys)
    bk = (khash_np(keys) % np.uint32(count)).astype(np.int64)
    order = np.lexsort((cps[:, 1], cps[:, 0], bk))  # by bucket, then code point order
    n = len(order)
    vstart = np.cumsum(nd) - nd
    seg = np.empty((n, 2, 2), np.int64)  # per pair: its two code points, its VLQ
    seg[:, 0, 0], seg[:, 0, 1] = 2 * order, 2
    seg[:, 1, 0], seg[:, 1, 1] = 2 * n + vstart[order], nd[order]
    src = np.concatenate((cps[:, :2].reshape(-1), chars.astype(np.uint32))).astype("<u4")
    text = (
        src[seg_index(seg[:, :, 0].reshape(-1), seg[:, :, 1].reshape(-1))]
        .tobytes()
        .decode("utf-32-le", "surrogatepass")
    )
    ends = np.concatenate(([0], np.cumsum(seg[:, :, 1].sum(1)))).tolist()
    bounds = np.searchsorted(bk[order], np.arange(count + 1)).tolist()
    return count, short, [bucket_text(text[ends[lo] : ends[hi]], "d") for lo, hi in pairwise(bounds)]


def fold_files() -> dict[str, bytes]:
    blocks: dict[int, dict] = defaultdict(dict)
    for k, v in analysis._table()["fold"].items():
        blocks[ord(k) >> wire.FOLD_BITS][k] = v
    return {f"f/{blk:x}": js_file(f"f/{blk:x}", json_text(entries)) for blk, entries in blocks.items()}


def fold_blocks() -> list[int]:
    return sorted({ord(k) >> wire.FOLD_BITS for k in analysis._table()["fold"]})


def reverse_blocks() -> dict[int, dict]:
    """The fold table by the characters it folds to: block (``FOLD_BITS``) → {char: its fold} for
    every char whose fold has a character of that block."""
    blocks: dict[int, dict] = defaultdict(dict)
    for k, v in analysis._table()["fold"].items():
        for ch in set(v):
            blocks[ord(ch) >> wire.FOLD_BITS][k] = v
    return blocks


def reverse_files() -> dict[str, bytes]:
    return {f"r/{blk:x}": js_file(f"r/{blk:x}", json_text(entries)) for blk, entries in reverse_blocks().items()}


def fold_summary(fold: dict[str, bytes]) -> dict:
    """What meta.js says of the fold table, given its files (``fold_files`` and ``reverse_files``):
    their tag, the blocks of f/ and r/, the chars that fold to nothing."""
    return {
        "tag": tag_of(b"".join(fold[name] for name in sorted(fold))),
        "fold": fold_blocks(),
        "rfold": sorted(reverse_blocks()),
        "ign": "".join(sorted(k for k, v in analysis._table()["fold"].items() if v == "")),
        "names": sorted(fold),
    }


def facet_pieces(metas: list[dict], vocab: list[list[str]], redo=None, pieces=None) -> list[str]:
    """Each doc's part of facets.js (in doc order; ``vocab``: the meeting types, themes, speakers and
    organisations of meta.js, ``changes.vocabularies_of``); with ``redo``,
    the numbers of the docs whose part is made again in ``pieces`` (the others' are kept: same
    vocabularies, same doc and doc before)."""
    mt_ix = {m: i for i, m in enumerate(vocab[0])}
    th_ix = {t: i for i, t in enumerate(vocab[1])}
    sp_ix = {v: i + 1 for i, v in enumerate(vocab[2])}
    org_ix = {v: i + 1 for i, v in enumerate(vocab[3])}
    if redo is None or pieces is None:
        redo, pieces = range(len(metas)), [""] * len(metas)
    for n in redo:
        m = metas[n]
        ts = sorted({th_ix[t] for t in m["themes"]})
        same = int(n > 0 and m["dkey"] == metas[n - 1]["dkey"])
        pieces[n] = (
            cached_vlq(mt_ix[m["mt"]] << 1 | same)
            + cached_vlq(m["tlen"])
            + cached_vlq(m["blen"])
            + cached_vlq(len(ts))
            + "".join(cached_vlq(t) for t in ts)
            + cached_vlq(sp_ix.get(m.get("speaker", ""), 0))
            + cached_vlq(org_ix.get(m.get("org", ""), 0))
        )
    return pieces


def facets_file(pieces: list[str]) -> bytes:
    """facets.js from the docs' parts (``facet_pieces``), in doc order."""
    return js_file("facets", json_text("".join(pieces)))


def manifest_files(files: dict, layout: dict, n_docs: int) -> dict[str, bytes]:
    """The manifests of the buckets, long postings and text files in ``files`` (see ``wire``)."""
    out = {}
    for prefix in PREFIXES:
        total = sum(layout[prefix][0])
        groups: list[dict] = [
            {"d": "".join(files[f"{prefix}/{b}"][0] for b in range(g, min(total, g + wire.GROUP)))}
            for g in range(0, total, wire.GROUP)
        ]
        where = wire.Layout(layout[prefix][0])
        start = f"{prefix}/x/"
        for name in [n for n in files if n.startswith(start)]:
            hex_ = name[len(start) :]
            groups[where.bucket(wire.unhex(hex_)) // wire.GROUP].setdefault("x", {})[hex_] = files[name][0]
        for g, m in enumerate(groups):
            out[f"m/{prefix}{g}"] = js_file(f"m/{prefix}{g}", json_text(m))
    for g, first in enumerate(range(0, n_docs, wire.T_DIR)):
        tags = "".join(files[f"t/{g}/{n}"][0] for n in range(first, min(n_docs, first + wire.T_DIR)))
        out[f"m/t{g}"] = js_file(f"m/t{g}", json_text({"d": tags}))
    return out


def meta_file(metas: list[dict], layout: dict, files: dict, tags: dict, tail: int, vocab: list, fold: dict) -> bytes:
    """meta.js: counts, vocabularies (``vocab``: ``changes.vocabularies_of``), fold shards (``fold``:
    ``fold_summary``), the tags of the files named first (``tags``: see ``wire``) and ``ver``, the
    digest of ``files`` (every other file)."""
    mtypes, themes, speakers, orgs = vocab
    years: list[list[int]] = []
    for m in metas:
        if years and years[-1][0] == m["year"]:
            years[-1][1] += 1
        else:
            years.append([m["year"], 1])
    digest = hashlib.sha1("".join([f"{name}\0{files[name][0]}\0" for name in sorted(files)]).encode())
    meta = {
        "format": wire.FORMAT,
        "n": len(metas),
        "tdir": wire.T_DIR,
        "kb": sum(layout["k"][0]),
        "pb": sum(layout["p"][0]),
        "kbs": layout["k"][0],
        "pbs": layout["p"][0],
        "tail": tail,
        "knbs": layout["kn"][0],
        "pnbs": layout["pn"][0],
        "dbs": layout["d"][0],
        "files": tags,
        "fold": fold["fold"],
        "rfold": fold["rfold"],
        "ign": fold["ign"],
        "years": years,
        "mtypes": mtypes,
        "themes": themes,
        "speakers": speakers,
        "orgs": orgs,
        "ver": digest.hexdigest()[:12],
    }
    return js_file("meta", json_text(meta))
