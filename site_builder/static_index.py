"""The in-browser search index: static files under ``output/search/`` read by ``static/search.js``.

The browser computes exactly the hit set of ``query.parse(q).matches(analysis.search_text(...))``:
every file is derived from ``analysis`` and the browser re-implements ``query.parse`` and
``analysis.fold`` (tests compare both with Python in Chromium).

Every file is a classic script ``__ssLoad("<name>", <json>)`` so that it loads from ``file://`` too
(where fetch/XHR are blocked) and under a CSP that allows only the site's own scripts.

Layout (``N`` = doc number: docs are ordered by (date, id), so year filters are ranges and newer
speeches are appended at the end; ``h`` = FNV-1a of the key's code points; numbers are VLQ in
base 64, ``A``–``Z a``–``z 0``–``9 + /``, 5 bits per char, 32 = "more follows"):

``meta.js``
    counts, bucket counts, vocabularies, the list of fold shards and ``ver``, a digest of all other
    files (the browser loads meta.js uncached over http and every other file with ``?v=ver``).
``facets.js``
    per doc: meeting type and themes (indexes into the vocabularies, VLQ).
``f/<block>.js``
    the fold table (``data/fold.json``) for code points ``block*256 …`` (only blocks that have
    entries): the browser folds the query with it.
``k/<h % KB>.js`` and ``k/x/<hex>.js``
    doc-level postings of every char and adjacent pair (``analysis.grams``): per doc
    ``vlq(doc gap - 1)`` and one code char ``title<<5 | tf class<<3 | first page``. A gram's
    posting is in its bucket, or (when long) in its own file and the bucket says ``0``. Terms of one
    or two characters are answered exactly from these.
``p/<h % PB>.js`` and ``p/x/<hex>.js``
    positions of every trigram: per doc ``vlq(doc gap - 1) vlq(count - 1) vlq(v0) vlq(dv - 1)…``
    with ``v = 2*i`` for body offset ``i`` and ``2*i + 1`` for title offset ``i`` (folded text).
    A term of three or more characters occurs at ``v`` iff each trigram of a cover of the term
    (offsets 0, 3, 6, …, n-3) occurs at ``v + 2*offset``: exact, and only those trigrams are fetched.
``t/<N // 256>/<N>-<page>.js``
    the speech's card (title, url, date, meeting type, pages) and one page of the original body
    text (``PAGE`` folded characters) with the fold of each character on it that changes: the
    excerpt is cut from it with the matches marked.

``StaticIndex.update(docs)`` keeps per-doc analysis in ``state_dir/static`` (by fingerprint), writes
only files whose bytes change (temp file + ``os.replace``) and deletes files that are no longer part
of the index. The output depends only on ``docs``: an incremental update and a clean write give
byte-identical trees.
"""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
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


FORMAT = 1
PAGE = 2048  # folded body characters per text page
BIG = 3072  # a posting longer than this (chars) gets its own file
BUCKET_TARGET = 6144  # aim for bucket files of about this many chars
T_DIR = 256  # text pages: docs per directory
_ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CACHE_VERSION = f"{FORMAT}-{PAGE}"
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


_VLQ_SMALL = [vlq(i) for i in range(4096)]


def _v(n: int) -> str:
    return _VLQ_SMALL[n] if n < 4096 else vlq(n)


def fnv1a(key: str) -> int:
    """32-bit FNV-1a over the code points of ``key`` (search.js computes the same)."""
    h = 0x811C9DC5
    for ch in key:
        h ^= ord(ch)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def _hexname(key: str) -> str:
    return "-".join(f"{ord(c):x}" for c in key)


def _tf_class(n: int) -> int:
    return 0 if n <= 1 else 1 if n <= 3 else 2 if n <= 9 else 3


# -- per-document analysis ------------------------------------------------------------------

def analyse(doc) -> dict:
    """Everything the index needs from one document (cached in state_dir by fingerprint)."""
    ftitle = analysis.fold(doc.title)
    fbody, offsets = analysis.fold_with_offsets(doc.body)
    text = ftitle + analysis.SEPARATOR + fbody
    start = len(ftitle) + 1  # search_text offset of the body
    assert text == analysis.search_text(doc.title, doc.body)
    counts = analysis.grams(text)
    title_grams = analysis.grams(ftitle)
    # First body occurrence of each gram (folded body offsets); dict() keeps the last write, so
    # feed it from the end.
    nb = len(fbody)
    pairs = list(map(str.__add__, fbody, fbody[1:]))
    first = dict(zip(reversed(pairs), range(nb - 2, -1, -1)))
    first.update(zip(reversed(fbody), range(nb - 1, -1, -1)))
    kcodes = {}
    for g, n in counts.items():
        i = first.get(g)
        page = 0 if i is None else min(7, i // PAGE)
        kcodes[g] = _ALPHA[(32 if g in title_grams else 0) | (_tf_class(n) << 3) | page]
    # Trigram positions, v = 2*offset (+1 in the title).
    ppay = {}
    tpairs = list(map(str.__add__, ftitle, ftitle[1:]))
    for part, plist, odd in ((ftitle, tpairs, 1), (fbody, pairs, 0)):
        tris = list(map(str.__add__, plist, part[2:]))
        order = sorted(range(len(tris)), key=tris.__getitem__)
        k = 0
        m = len(order)
        while k < m:
            tri = tris[order[k]]
            j = k + 1
            while j < m and tris[order[j]] == tri:
                j += 1
            if " " not in tri and analysis.SEPARATOR not in tri:
                vs = [2 * i + odd for i in order[k:j]]  # sorted() is stable: ascending offsets
                if tri in ppay:  # also in the title: merge
                    vs = sorted(vs + ppay[tri])
                ppay[tri] = vs
            k = j
    for tri, vs in ppay.items():
        parts = [_v(len(vs) - 1), _v(vs[0])]
        parts.extend(map(_v, [b - a - 1 for a, b in zip(vs, vs[1:])]))
        ppay[tri] = "".join(parts)
    # Text pages: folded body offsets [k*PAGE, (k+1)*PAGE) mapped back to the original text.
    table = analysis._translate_table()
    npages = max(1, -(-len(fbody) // PAGE))
    cuts = [offsets[min(k * PAGE, len(fbody))] for k in range(npages)] + [len(doc.body)]
    pages = []
    for k in range(npages):
        orig = doc.body[cuts[k] : cuts[k + 1]]
        src = orig + (doc.title if k == 0 else "")
        fmap = {ch: table[ord(ch)] for ch in set(src) if ord(ch) in table and table[ord(ch)] != ch}
        pages.append((orig, fmap))
    # Title fold map goes on every page (the card is on every page).
    tmap = {ch: table[ord(ch)] for ch in set(doc.title) if ord(ch) in table and table[ord(ch)] != ch}
    pages = [(o, {**m, **tmap}) for o, m in pages]
    return {
        "order": (doc.date, doc.id),
        "card": [doc.title, doc.url, doc.date, doc.meeting_type or "", npages],
        "year": int(doc.year),
        "meeting_type": doc.meeting_type or "",
        "themes": list(doc.themes or ()),
        "k": kcodes,
        "p": ppay,
        "pages": pages,
    }


# -- writing --------------------------------------------------------------------------------

def _js(name: str, data) -> bytes:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # U+2028/9 are fine in JSON but not in older JS string literals; escape them anyway.
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"__ssLoad({json.dumps(name)},{body});\n".encode("utf-8")


def _pow2_at_least(n: float) -> int:
    b = 1
    while b < n:
        b *= 2
    return b


def _bucketed(prefix: str, postings: dict[str, str], files: dict[str, bytes]) -> int:
    """Put postings into hash buckets (big ones into their own files); return the bucket count."""
    small = sum(len(k) + len(v) + 6 for k, v in postings.items() if len(v) <= BIG)
    nb = _pow2_at_least(small / BUCKET_TARGET)
    buckets: list[dict] = [dict() for _ in range(nb)]
    for key, post in postings.items():
        b = buckets[fnv1a(key) & (nb - 1)]
        if len(post) > BIG:
            b[key] = 0
            name = f"{prefix}/x/{_hexname(key)}"
            files[name] = _js(name, post)
        else:
            b[key] = post
    for i, b in enumerate(buckets):  # empty ones too: a missing file is then always an error
        name = f"{prefix}/{i}"
        files[name] = _js(name, b)
    return nb


def _fold_shards(files: dict[str, bytes]) -> list[int]:
    blocks: dict[int, dict] = defaultdict(dict)
    for k, v in analysis._table()["fold"].items():
        blocks[ord(k) >> 8][k] = v
    for blk, entries in blocks.items():
        name = f"f/{blk:x}"
        files[name] = _js(name, entries)
    return sorted(blocks)


def build_files(records: Sequence[dict]) -> dict[str, bytes]:
    """All index files (name without ``.js`` → bytes) for per-doc records from ``analyse``."""
    recs = sorted(records, key=lambda r: r["order"])
    files: dict[str, bytes] = {}
    # Doc-level postings of chars and pairs.
    kparts: dict[str, list] = {}
    klast: dict[str, int] = {}
    for n, r in enumerate(recs):
        for g, code in r["k"].items():
            kparts.setdefault(g, []).append(_v(n - klast.get(g, -1) - 1) + code)
            klast[g] = n
    kpost = {g: "".join(p) for g, p in kparts.items()}
    del kparts
    # Trigram positions.
    pparts: dict[str, list] = {}
    plast: dict[str, int] = {}
    for n, r in enumerate(recs):
        for tri, pay in r["p"].items():
            pparts.setdefault(tri, []).append(_v(n - plast.get(tri, -1) - 1) + pay)
            plast[tri] = n
    ppost = {t: "".join(p) for t, p in pparts.items()}
    del pparts
    kb = _bucketed("k", kpost, files)
    pb = _bucketed("p", ppost, files)
    # Text pages with cards.
    for n, r in enumerate(recs):
        for k, (orig, fmap) in enumerate(r["pages"]):
            name = f"t/{n // T_DIR}/{n}-{k}"
            files[name] = _js(name, {"c": r["card"], "t": orig, "f": fmap})
    fold_blocks = _fold_shards(files)
    # Facets: years as runs (docs are in date order), meeting types and themes per doc.
    years: list[list[int]] = []
    for r in recs:
        if years and years[-1][0] == r["year"]:
            years[-1][1] += 1
        else:
            years.append([r["year"], 1])
    mtypes = sorted({r["meeting_type"] for r in recs})
    themes = sorted({t for r in recs for t in r["themes"]})
    mt_ix = {m: i for i, m in enumerate(mtypes)}
    th_ix = {t: i for i, t in enumerate(themes)}
    fac = []
    for r in recs:
        ts = sorted({th_ix[t] for t in r["themes"]})
        fac.append(_v(mt_ix[r["meeting_type"]]) + _v(len(ts)) + "".join(_v(t) for t in ts))
    files["facets"] = _js("facets", "".join(fac))
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name])
    meta = {
        "format": FORMAT,
        "n": len(recs),
        "page": PAGE,
        "tdir": T_DIR,
        "kb": kb,
        "pb": pb,
        "fold": fold_blocks,
        "years": years,
        "mtypes": mtypes,
        "themes": themes,
        "ver": digest.hexdigest()[:12],
    }
    files["meta"] = _js("meta", meta)
    return files


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class StaticIndex:
    """Writes ``output_dir/search/`` for a set of docs; per-doc analysis is cached in ``state_dir``."""

    def __init__(self, state_dir: Path, output_dir: Path):
        self.state = Path(state_dir) / "static"
        self.out = Path(output_dir) / "search"

    # Cache: one compressed marshal file per doc id, valid for one fingerprint.
    def _cache_path(self, doc_id: str) -> Path:
        h = hashlib.sha1(doc_id.encode("utf-8")).hexdigest()
        return self.state / "docs" / h[:2] / f"{h[2:]}.bin"

    def _record(self, doc, stats: Counter) -> dict:
        path = self._cache_path(doc.id)
        key = [_CACHE_VERSION, doc.id, doc.fingerprint]
        try:
            stored_key, rec = marshal.loads(zlib.decompress(path.read_bytes()))
            if stored_key == key:
                stats["reused"] += 1
                rec["order"] = tuple(rec["order"])
                rec["pages"] = [tuple(p) for p in rec["pages"]]
                return rec
        except (OSError, ValueError, EOFError, TypeError, zlib.error):
            pass
        rec = analyse(doc)
        _write_atomic(path, zlib.compress(marshal.dumps((key, rec)), 1))
        stats["analysed"] += 1
        return rec

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
        records = [self._record(d, stats) for d in docs]
        files = build_files(records)
        wanted = {self.out / f"{name}.js" for name in files}
        for name, data in files.items():
            path = self.out / f"{name}.js"
            try:
                if path.read_bytes() == data:
                    stats["unchanged"] += 1
                    continue
            except OSError:
                pass
            _write_atomic(path, data)
            stats["written"] += 1
        # Remove what this index wrote before and no longer needs; search/index.html (the page)
        # and anything else in search/ that is not ours stays.
        ours = [self.out / f"{n}.js" for n in _TOP_FILES]
        for sub in _SUBDIRS:
            if (self.out / sub).is_dir():
                ours += sorted((self.out / sub).rglob("*"), reverse=True)
        for path in ours:
            if path.is_file() and path not in wanted:
                path.unlink()
                stats["removed"] += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        # Drop cache entries of docs that are gone.
        keep = {self._cache_path(i) for i in ids}
        if (self.state / "docs").is_dir():
            for path in (self.state / "docs").rglob("*.bin"):
                if path not in keep:
                    path.unlink()
        stats["files"] = len(files)
        stats["bytes"] = sum(len(b) for b in files.values())
        _write_atomic(last, json.dumps({"key": key, "meta": hashlib.sha1(files["meta"]).hexdigest(),
                                        "files": stats["files"], "bytes": stats["bytes"]}).encode("utf-8"))
        return dict(stats)
