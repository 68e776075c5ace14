"""The in-browser search index: static files under ``output/search/`` read by ``static/search.js``.

The browser computes exactly the hit set of ``query.parse(q).matches(analysis.search_text(...))``:
every file is derived from ``analysis`` and the browser re-implements ``query.parse`` and
``analysis.fold`` (tests compare both with Python in Chromium).

Every file is a classic script ``__ssLoad("<name>", <json>)`` so that it loads from ``file://`` too
(where fetch/XHR are blocked) and under a CSP that allows only the site's own scripts.

Format 2. ``N`` = doc number: docs are ordered by (date, id), so year filters are ranges and newer
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
    per doc: meeting type, folded title length, number of themes, themes (VLQ each).
``f/<block>.js``
    the fold table (``data/fold.json``) for code points ``block*256 …``: the browser folds the query.
``k/<bucket>.js`` (and ``k/x/<hex>.js`` for a long posting, the bucket then says ``0``)
    doc-level postings of every char and adjacent pair (``analysis.grams``): per doc one VLQ of
    ``(doc gap - 1) << 3 | title << 2 | tf class``. Terms of one or two characters are exact.
``p/<bucket>.js`` (and ``p/x/<hex>.js``)
    positions of every trigram: per doc ``vlq((doc gap - 1) << 2 | min(count - 1, 3))``,
    ``vlq(count - 4)`` if count >= 4, then ``vlq(o0) vlq(o1 - o0 - 1) …``. A term of three or more
    characters occurs at ``o`` iff each trigram of a cover of the term (offsets 0, 3, 6, …, n-3)
    occurs at ``o + offset``: exact, and only those trigrams are fetched.
``t/<N // 256>/<N>-0.js`` and ``…-1.js``
    the speech's card ``[title, url, date, meeting type]``, its body text compressed (``z``: raw
    deflate in base 64, inflated by the browser's ``DecompressionStream``) and the fold of each
    character of title and body that folding changes (``f``): excerpts and quoted phrases. The
    deflate stream is flushed after the first ``HEAD`` characters and cut there: part 0 (with
    ``"more": 1`` if there is a part 1, a JSON string) gives the start of the text, both parts all of
    it, so an excerpt near the start costs one small file.

How it is built (``StaticIndex.update``): each new or changed doc is analysed once (in a process
pool when there are many; only those docs' bodies are read) into ``state_dir/static/docs/``: one
file per (doc, fingerprint) holding its text files and its postings entries split into 64 hash
sections. Keys are hash-partitioned into ``P`` shards (a shard = a run of sections, so it is one
read per doc); a clean build assembles one shard at a time in each of two processes, so memory is
bounded by a shard. When docs are edited, appended or removed at the end (the other docs keep their
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
from array import array
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Sequence

from . import analysis

try:  # the build passes search_index.IndexDoc; keep a local twin so this module stands alone
    from .search_index import IndexDoc  # noqa: F401
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


FORMAT = 2
HEAD = 2048  # body characters in a text file's first part
BIG = 3072  # a posting longer than this (chars) gets its own file
BUCKET_TARGET = 6144  # aim for bucket files of about this many chars
T_DIR = 256  # text files: docs per directory
SECTION_BITS = 6
SECTIONS = 1 << SECTION_BITS  # per-doc postings are split by key hash into this many sections
POOL_MIN_DOCS = 48  # analyse in a process pool from this many new docs on
PATCH_KEYS_PER_DOC = 10  # patch (rather than assemble) up to about this many changed keys per doc
_ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CACHE_VERSION = f"{FORMAT}-{SECTIONS}-{HEAD}-4"
_TOP_FILES = ("meta", "facets")  # search/<name>.js
_SUBDIRS = ("f", "k", "p", "t")  # search/<dir>/… belong to the index entirely


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


# -- per-document analysis ------------------------------------------------------------------

def _deflate(data: bytes) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return co.compress(data) + co.flush()


def _json(data) -> str:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # U+2028/9 are fine in JSON but not in older JS string literals; escape them anyway.
    return body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_RUN = re.compile("[^ \x00]+")
_TF_CLASS = [0, 0, 1, 1, 2, 2, 2, 2, 2, 2]
_SECTION_MEMO: dict[str, int] = {}


def _section(key: str) -> int:
    sec = _SECTION_MEMO.get(key)
    if sec is None:
        if len(_SECTION_MEMO) > 1_000_000:
            _SECTION_MEMO.clear()
        sec = _SECTION_MEMO[key] = zlib.crc32(key.encode("utf-16-le")) & (SECTIONS - 1)
    return sec


def analyse(doc) -> tuple[dict, bytes]:
    """Everything the index needs from one document: (meta, cache file bytes)."""
    title, body = doc.title, doc.body
    ftitle = analysis.fold(title)
    fbody = analysis.fold(body)
    text = ftitle + analysis.SEPARATOR + fbody
    tlen = len(ftitle)
    # Runs of text without space or separator: no key contains either.
    add = str.__add__
    segs = [(m.start(), m.group()) for m in _RUN.finditer(text)]
    counts: Counter = Counter()
    where: dict[str, list[int]] = {}
    for off, seg in segs:
        pairs = list(map(add, seg, seg[1:]))
        counts.update(seg)
        counts.update(pairs)
        for i, tri in enumerate(map(add, pairs, seg[2:]), off):
            lst = where.get(tri)
            if lst is None:
                where[tri] = [i]
            else:
                lst.append(i)
    tgrams = set(ftitle)
    tgrams.update(map(add, ftitle, ftitle[1:]))
    # Chars and pairs: doc-level, with title flag and tf class.
    sec_k: list[list] = [[] for _ in range(SECTIONS)]
    memo = _SECTION_MEMO.get
    tf = _TF_CLASS
    for g, n in counts.items():
        sec = memo(g)
        sec_k[_section(g) if sec is None else sec].append((g, (4 if g in tgrams else 0) | (tf[n] if n < 10 else 3)))
    # Trigram positions (offsets in the search text).
    sec_p: list[list] = [[] for _ in range(SECTIONS)]
    v = _v
    for tri, pos in where.items():
        if len(pos) == 1:
            enc = v(pos[0])
        else:
            enc = v(pos[0]) + "".join([v(b - a - 1) for a, b in zip(pos, pos[1:])])
        sec = memo(tri)
        sec_p[_section(tri) if sec is None else sec].append((tri, len(pos), enc))
    # Sections, in _SEC_ORDER, each a compressed marshal of compact columns.
    blobs = []
    ksize = psize = 0
    for sec in _SEC_ORDER:
        ks, ps = sec_k[sec], sec_p[sec]
        if not ks and not ps:
            blobs.append(b"")
            continue
        kk, kc = zip(*ks) if ks else ((), ())
        pk, pc, pe = zip(*ps) if ps else ((), (), ())
        col = ("\0".join(kk), bytes(kc), "\0".join(pk), array("I", pc).tobytes(), "\0".join(pe))
        ksize += len(ks)
        psize += sum(map(len, pe)) + 2 * len(ps)
        blobs.append(marshal.dumps(col))
    offsets = [0]
    for b in blobs:
        offsets.append(offsets[-1] + len(b))
    # The text file (without its name, which depends on the doc number).
    table = analysis._translate_table()
    fmap = {ch: table[ord(ch)] for ch in set(title + body) if ord(ch) in table and table[ord(ch)] != ch}
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
    t0 = {"c": [title, doc.url, doc.date, doc.meeting_type or ""], "z": base64.b64encode(z0).decode("ascii"),
          "f": fmap}
    if rest:
        t0["more"] = 1
    payload = (_json(t0), json.dumps(base64.b64encode(z1).decode("ascii")) if rest else None)
    meta = {
        "order": (doc.date, doc.id),
        "year": int(doc.year),
        "mt": doc.meeting_type or "",
        "themes": list(doc.themes or ()),
        "tlen": tlen,
        "size": (ksize * 3 // 2, psize * 11 // 10),  # about what its entries add to k/ and p/
    }
    header = marshal.dumps((meta, payload))
    head = len(header).to_bytes(4, "little") + header
    meta["offsets"] = array("I", [len(head) + o for o in offsets]).tobytes()
    return meta, head + b"".join(blobs)


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
    return f"__ssLoad({json.dumps(name)},{body});\n".encode("utf-8")


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
    """A bucket: its keys' postings, 0 for those in their own file (``x/<hex>``)."""
    return _json({k: (0 if v == 0 or len(v) > BIG else v) for k, v in postings.items()})


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


def _sections(fh, offsets: bytes, a: int = 0, b: int = SECTIONS):
    offs = array("I")
    offs.frombytes(offsets)
    start, end = offs[a], offs[b]
    if start == end:
        return
    fh.seek(start)
    blob = fh.read(end - start)
    for i in range(a, b):
        lo, hi = offs[i] - start, offs[i + 1] - start
        if lo != hi:
            yield marshal.loads(blob[lo:hi])


# A long posting (own file) keeps checkpoints in the state: every CK-th entry's char offset and
# the doc before it, so that a change decodes only the entries around it.
CK = 64


def _decode(kind: str, posting: str, start: int, end: int, prev: int) -> list:
    """Entries of ``posting[start:end]`` (starting at an entry whose previous doc is ``prev``):
    [(doc, code)] for k, [(doc, (count, encoded positions))] for p."""
    toks, vals = _tokens(posting[start:end])
    out = []
    if kind == "k":
        for x in vals:
            prev += (x >> 3) + 1
            out.append((prev, x & 7))
        return out
    i, n = 0, len(vals)
    while i < n:
        x = vals[i]
        prev += (x >> 2) + 1
        c = (x & 3) + 1
        j = i + 1
        if c == 4:
            c += vals[j]
            j += 1
        out.append((prev, (c, "".join(toks[j : j + c]))))
        i = j + c
    return out


def _encode(kind: str, entries: list, prev: int) -> list[str]:
    parts = []
    v = _v
    if kind == "k":
        for d, code in entries:
            parts.append(v(((d - prev - 1) << 3) | code))
            prev = d
    else:
        for d, (c, enc) in entries:
            head = ((d - prev - 1) << 2) | (c - 1 if c < 4 else 3)
            parts.append(v(head) + enc if c < 4 else v(head) + v(c - 4) + enc)
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
    """Apply {doc: entry or None} to a posting; returns (posting, checkpoints or None)."""
    if ck is None or len(posting) <= BIG:
        ents = _apply(_decode(kind, posting, 0, len(posting), -1), changes)
        parts = _encode(kind, ents, -1)
        new = "".join(parts)
        return new, (_checkpoints(ents, parts, -1, 0) if len(new) > BIG else None)
    ckd, cko = list(ck[0]), list(ck[1])
    for n in sorted(changes, reverse=True):
        i = bisect.bisect_left(ckd, n) - 1  # region i holds docs (ckd[i], ckd[i+1]]
        j = min(i + 2, len(ckd))  # decode regions i and i+1: the doc before cko[j] stays
        s, e = cko[i], (cko[j] if j < len(ckd) else len(posting))
        ents = _apply(_decode(kind, posting, s, e, ckd[i]), {n: changes[n]})
        parts = _encode(kind, ents, ckd[i])
        sub = "".join(parts)
        nd, no = _checkpoints(ents, parts, ckd[i], s)
        delta = len(sub) - (e - s)
        posting = posting[:s] + sub + posting[e:]
        ckd[i:j] = nd
        cko[i:j] = no
        k = i + len(nd)
        cko[k:] = [o + delta for o in cko[k:]]
    if len(posting) <= BIG:
        return posting, None
    return posting, (ckd, cko)


def _peak_rss_mb() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    except (ImportError, OSError):  # pragma: no cover - not on Unix
        return 0


def _assemble_shard(args) -> tuple[dict, Counter, int]:
    """Build one shard from every doc's sections; write its files and the checkpoints of its long
    postings. Returns {file name: (digest, size)} and stats."""
    shard, nshards, docs, out, skip_path = args
    out = Path(out)
    a, b = _run(shard, nshards)
    # key → [last doc, entry, entry, …]: one dict lookup per (key, doc).
    kparts: dict[str, list] = {}
    pparts: dict[str, list] = {}
    ckdocs: dict[str, list] = {}  # prefix+key → doc before every CK-th entry
    vs, big, ck1 = _VLQ_SMALL, len(_VLQ_SMALL), CK + 1
    for n, (path, offsets) in enumerate(docs):
        with open(path, "rb") as fh:
            for kk, kc, pk, pc, pp in _sections(fh, offsets, a, b):
                base = n << 3
                for key, code in zip(kk.split("\0"), kc):
                    e = kparts.get(key)
                    if e is None:
                        x = base | code
                        kparts[key] = [n, vs[x] if x < big else vlq(x)]
                    else:
                        x = ((n - e[0] - 1) << 3) | code
                        if len(e) % CK == 1 and len(e) >= ck1:
                            ckdocs.setdefault("k" + key, []).append(e[0])
                        e.append(vs[x] if x < big else vlq(x))
                        e[0] = n
                cnt = array("I")
                cnt.frombytes(pc)
                for key, c, enc in zip(pk.split("\0"), cnt, pp.split("\0")):
                    e = pparts.get(key)
                    last = -1 if e is None else e[0]
                    x = ((n - last - 1) << 2) | (c - 1 if c < 4 else 3)
                    part = (vs[x] if x < big else vlq(x)) + enc if c < 4 else _v(x) + _v(c - 4) + enc
                    if e is None:
                        pparts[key] = [n, part]
                    else:
                        if len(e) % CK == 1 and len(e) >= ck1:
                            ckdocs.setdefault("p" + key, []).append(last)
                        e.append(part)
                        e[0] = n
    files: dict = {}
    stats: Counter = Counter()
    skip: dict = {}
    bodies: dict = {}
    shorts: dict = {}
    bits = nshards.bit_length() - 1
    for prefix, parts in (("k", kparts), ("p", pparts)):
        posts = {}
        short = 0
        for key, lst in parts.items():
            del lst[0]
            post = posts[key] = "".join(lst)
            if len(post) > BIG:
                offs = [0, *accumulate(map(len, lst))]
                cd = ckdocs.get(prefix + key, [])
                skip[prefix + key] = ([-1, *cd], offs[::CK][: len(cd) + 1])
                name, data = _x_js(prefix, key, post)
                _put(out, name, data, files, stats)
            else:
                short += len(key) + len(post)
        parts.clear()
        count = _bucket_count(short)
        buckets: list[dict] = [{} for _ in range(count)]
        for key, post in posts.items():
            buckets[(khash(key) >> bits) & (count - 1)][key] = post
        bodies[prefix] = [_bucket_body(b) for b in buckets]
        shorts[prefix] = short
    _write_atomic(Path(skip_path), marshal.dumps(skip))
    return files, stats, _peak_rss_mb(), bodies, shorts


def _doc_entries(path: str, offsets: bytes) -> tuple[dict, dict]:
    """All postings entries of one doc: ({key: code}, {key: (count, encoded positions)})."""
    k: dict = {}
    p: dict = {}
    with open(path, "rb") as fh:
        for kk, kc, pk, pc, pp in _sections(fh, offsets):
            k.update(zip(kk.split("\0"), kc))
            cnt = array("I")
            cnt.frombytes(pc)
            p.update(zip(pk.split("\0"), zip(cnt, pp.split("\0"))))
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
    ({key: {doc: code or None}}, {key: {doc: (count, positions) or None}})."""
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
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


class _Relayout(Exception):
    """A shard's bucket count changes: the postings are assembled afresh."""


class StaticIndex:
    """Writes ``output_dir/search/`` for a set of docs; analysis and postings are kept in ``state_dir``."""

    def __init__(self, state_dir: Path, output_dir: Path, jobs: int | None = None):
        self.state = Path(state_dir) / "static"
        self.out = Path(output_dir) / "search"
        self.jobs = jobs

    def _cache_path(self, doc_id: str, fingerprint: str) -> Path:
        h = hashlib.sha1(f"{_CACHE_VERSION}\0{doc_id}\0{fingerprint}".encode("utf-8")).hexdigest()
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
        key = hashlib.sha1(json.dumps([_CACHE_VERSION, sorted((d.id, d.fingerprint) for d in docs)],
                                      ensure_ascii=False).encode("utf-8")).hexdigest()
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
            intact = (hashlib.sha1((self.out / "meta.js").read_bytes()).hexdigest() == manifest.get("meta_sha")
                      and _listing(self.out) == set(manifest["files"]))
        except OSError:
            intact = False
        patch = bool(intact and manifest["nshards"] == nshards and manifest["layout"] and old_order
                     and len(changed) <= max(8, len(order) // 16)
                     and all(self._skip_path(s).exists() for s in range(nshards))
                     and all(Path(old_docs[old_order[n]][1]).exists() for n in changed if n < len(old_order)))
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
        for name, data in _fold_files().items():
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
        mt_ix = {m: i for i, m in enumerate(mtypes)}
        th_ix = {t: i for i, t in enumerate(themes)}
        fac = []
        for m in metas:
            ts = sorted({th_ix[t] for t in m["themes"]})
            fac.append(_v(mt_ix[m["mt"]]) + _v(m["tlen"]) + _v(len(ts)) + "".join(_v(t) for t in ts))
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
            "years": years,
            "mtypes": mtypes,
            "themes": themes,
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
        manifest = {"version": _CACHE_VERSION, "docs": new_docs, "order": order, "files": files,
                    "nshards": nshards, "layout": layout, "meta_sha": hashlib.sha1(meta_js).hexdigest()}
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
        _write_atomic(last, json.dumps({"key": key, "meta": hashlib.sha1(meta_js).hexdigest(),
                                        "files": stats["files"], "bytes": stats["bytes"]}).encode("utf-8"))
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
                if old == 0:
                    old = _read_js(self.out / f"{prefix}/x/{_hexname(key)}.js")
                new, ck = _patch_posting(prefix, old, skip.get(prefix + key), changes[key])
                if ck is None:
                    skip.pop(prefix + key, None)
                else:
                    skip[prefix + key] = ck
                if new:
                    bucket[key] = new
                else:
                    bucket.pop(key, None)
                shorts[prefix][shard] += ((len(key) + len(new) if len(new) <= BIG and new else 0)
                                          - (len(key) + len(old) if len(old) <= BIG and old else 0))
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
