"""Reading an index: the text stores, posting lists, and ``_Snapshot`` (one generation, opened for searching)."""

from __future__ import annotations

import io
import mmap
import pickle
import struct
import threading
import zlib
from array import array
from collections import Counter, OrderedDict, defaultdict
from itertools import accumulate, repeat
from operator import add
from pathlib import Path

from whoosh import index as windex
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader, TermNotFound

from . import ranking, whoosh_compat
from .whoosh_records import (
    _INT,
    _STORE_END,
    _STORE_MAGIC,
    _TEXT_CODEC,
    FORMAT_VERSION,
    GRAM_FIELD,
    INDEXNAME,
    Record,
    _store_name,
    _unfold,
)

# What a snapshot keeps from earlier queries: postings entries, and documents scanned for terms.
_MEMO_POSTINGS = 2_000_000
_MEMO_SCANNED = 1_000_000


# --------------------------------------------------------------------------------------
# Text store (one per segment)


class _Store:
    """Read side of ``gt_<segid>.bin``: mmap'd folded texts, compressed bodies, metadata."""

    def __init__(self, path: Path, f, mm, footer: dict):
        self.path = path
        self._f = f
        self.mm = mm
        self.n = footer["n"]
        offs = array("Q")
        offs.frombytes(footer["offsets"])
        self.offsets = offs
        nch = array("I")
        nch.frombytes(footer["nchars"])
        self.nchars = nch
        self.meta: list[tuple] = footer["meta"]
        self.titles: list[str] = footer["titles"]

    @classmethod
    def open(cls, path: Path) -> _Store:
        f = open(path, "rb")  # noqa: SIM115 -- kept open by the store (its mmap), closed by close()
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            end = len(mm)
            if mm[end - 8 :] != _STORE_END or mm[:8] != _STORE_MAGIC:
                raise ValueError(f"{path}: not a search text store")
            (flen,) = struct.unpack("<Q", mm[end - 16 : end - 8])
            footer = pickle.loads(mm[end - 16 - flen : end - 16])
            if footer.get("version") != FORMAT_VERSION:
                raise ValueError(f"{path}: text store version {footer.get('version')}")
        except BaseException:
            f.close()
            raise
        return cls(path, f, mm, footer)

    def folded(self, i: int) -> str:
        o = self.offsets
        return self.mm[o[3 * i] : o[3 * i + 1]].decode(_TEXT_CODEC, "surrogatepass")

    def patches(self, i: int) -> bytes:
        o = self.offsets
        return self.mm[o[3 * i + 1] : o[3 * i + 2]]

    def folded_body(self, i: int) -> str:
        return self.folded(i)[len(self.titles[i]) + 1 :]

    def body(self, i: int) -> str:
        return _unfold(self.folded_body(i), self.patches(i))

    def record(self, i: int) -> Record:
        return self.meta[i], self.folded(i), self.patches(i)

    def close(self) -> None:
        try:
            self.mm.close()
        except (BufferError, ValueError):
            pass
        self._f.close()


# --------------------------------------------------------------------------------------
# Reading postings fast (block level, no per-posting matcher calls)


def _read_postings(postfile, ti) -> tuple[list[int], bytes]:
    """Docnums and counts of one posting list written in W3 format."""
    if ti.is_inlined():
        ids, _weights, values = ti.inlined_postings()
        return list(ids), bytes((v[0] if v else 1) for v in values)
    off, length = ti.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves the length as a 1-tuple
        length = length[0]
    buf = postfile.get(off, length)
    bio = io.BytesIO(buf)
    pos = 4  # header magic
    out: list[int] = []
    counts = bytearray()
    loads = pickle.loads
    while True:
        (blen,) = _INT.unpack_from(buf, pos)
        pos += 4
        last = blen < 0
        if last:
            blen = -blen
        end = pos + blen
        bio.seek(pos)
        info = pickle.load(bio)
        data = buf[bio.tell() : end]
        if info[3]:
            data = zlib.decompress(data)
        ids, _w, vals = loads(data)
        out.extend(accumulate(ids))
        if vals is None:
            counts += bytes(repeat(1, info[0]))
        elif isinstance(vals, bytes):
            counts += vals
        else:  # variable-size values (not written by this module)
            counts += bytes((v[0] if v else 1) for v in vals)
        pos = end
        if last:
            break
    return out, bytes(counts)


class _Segment:
    __slots__ = ("reader", "terms", "postfile", "base", "store", "deleted")

    def __init__(self, reader, base, store, deleted):
        self.reader = reader
        self.terms, self.postfile = whoosh_compat.reader_terms(reader)
        self.base = base
        self.store = store
        self.deleted = deleted


class _Snapshot:
    """One generation of the index, opened for searching (all metadata in memory)."""

    def __init__(self, index_dir: Path):
        storage = FileStorage(str(index_dir), readonly=True)
        toc = windex.TOC.read(storage, INDEXNAME)
        self.generation = toc.generation
        self.segments: list[_Segment] = []
        self.meta: list = []  # global docnum → meta tuple, None when deleted
        self.titles: list[str] = []
        self.norm: list[float] = []  # k1·(1 − b + b·len/avglen)
        self.datekey: list[int] = []
        self.loc: list[tuple] = []  # global docnum → (store, local docnum)
        self.span: list[tuple] = []  # global docnum → (its store's mmap.find, start, end)
        self.deleted: set[int] = set()
        base = 0
        lengths = []
        try:
            for seg in toc.segments:
                reader = SegmentReader(storage, toc.schema, seg, generation=toc.generation)
                store = _Store.open(index_dir / _store_name(seg.segment_id()))
                deleted = set(seg.deleted_docs())
                self.segments.append(_Segment(reader, base, store, deleted))
                for i in range(store.n):
                    if i in deleted:
                        self.meta.append(None)
                        self.deleted.add(base + i)
                    else:
                        self.meta.append(store.meta[i])
                        lengths.append(store.nchars[i])
                    self.titles.append(store.titles[i])
                    self.loc.append((store, i))
                    self.span.append((store.mm.find, store.offsets[3 * i], store.offsets[3 * i + 1]))
                base += store.n
        except BaseException:
            self.close()
            raise
        self.total_docs = base
        self.n_live = len(lengths)
        # Body lengths (folded characters), where each body starts in its store (UTF-16 units).
        self.blen = [s.store.nchars[i] - len(s.store.titles[i]) - 1 for s in self.segments for i in range(s.store.n)]
        self.bstart = [
            s.store.offsets[3 * i] + len(s.store.titles[i].encode(_TEXT_CODEC, "surrogatepass")) + 2
            for s in self.segments
            for i in range(s.store.n)
        ]
        live_lengths = [n for n, m in zip(self.blen, self.meta) if m is not None]
        self.avglen = (sum(live_lengths) / len(live_lengths)) if live_lengths else 1.0
        self.norm = [ranking.norm(n, self.avglen) for n in self.blen]
        self.datekey = [ranking.date_key(m[3]) if m else 0 for m in self.meta]
        self.heads = [m[10] if m else "" for m in self.meta]
        # For filters and facets: per-document values and the documents having each value.
        self.years = [m[4] if m else None for m in self.meta]
        self.types = [m[5] if m else None for m in self.meta]
        self.themes = [tuple(dict.fromkeys(m[6])) if m else () for m in self.meta]
        self.speakers = [m[8] if m else None for m in self.meta]
        self.orgs = [m[9] if m else None for m in self.meta]
        self.by_year: dict[int, set[int]] = defaultdict(set)
        self.by_type: dict[str, set[int]] = defaultdict(set)
        self.by_theme: dict[str, set[int]] = defaultdict(set)
        self.by_speaker: dict[str, set[int]] = defaultdict(set)
        self.by_org: dict[str, set[int]] = defaultdict(set)
        self.chars_by_year: Counter = Counter()
        for d, m in enumerate(self.meta):
            if m is not None:
                self.by_year[m[4]].add(d)
                self.by_type[m[5]].add(d)
                for t in self.themes[d]:
                    self.by_theme[t].add(d)
                self.by_speaker[m[8]].add(d)
                self.by_org[m[9]].add(d)
                self.chars_by_year[m[4]] += self.blen[d]
        self.lock = threading.Lock()
        # What earlier queries learnt (pages, sorts and the KWIC view of one query reuse it).
        self.postings_memo = _Memo(_MEMO_POSTINGS)
        self.scan_memo = _Memo(_MEMO_SCANNED)

    def close(self) -> None:
        for s in self.segments:
            try:
                s.reader.close()
            except Exception:
                pass
            s.store.close()
        self.segments = []

    def body(self, d: int) -> str:
        """The original plain text of a speech's body (lines as the build made them)."""
        store, i = self.loc[d]
        return _unfold(store.folded_body(i), store.patches(i))

    def count_in_body(self, d: int, tb: bytes) -> int:
        """Non-overlapping occurrences of an encoded term without spaces in the folded body."""
        find, _start, end = self.span[d]
        n = 0
        step = len(tb)
        j = find(tb, self.bstart[d], end)
        while j >= 0:
            if j & 1:  # an odd offset straddles two UTF-16 code units
                j = find(tb, j + 1, end)
                continue
            n += 1
            j = find(tb, j + step, end)
        return n

    # -- postings

    def key_postings(self, key: str) -> dict[int, int]:
        """Global docnum → count of the gram ``key``, live documents only."""
        kb = key.encode("utf-8", "surrogatepass")
        out: dict[int, int] = {}
        for s in self.segments:
            try:
                ti = s.terms.term_info(GRAM_FIELD, kb)
            except TermNotFound:
                continue
            ids, counts = _read_postings(s.postfile, ti)
            out.update(zip(map(add, ids, repeat(s.base)) if s.base else ids, counts))
        if self.deleted:
            if len(self.deleted) < len(out):
                for d in self.deleted:
                    out.pop(d, None)
            else:
                for d in [d for d in out if d in self.deleted]:
                    del out[d]
        return out


_date_key = ranking.date_key


class _Memo:
    """Least recently used values up to a total weight (their number of entries)."""

    def __init__(self, budget: int):
        self.items: OrderedDict = OrderedDict()
        self.weights: dict = {}
        self.total = 0
        self.budget = budget

    def get(self, key):
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key, value, weight: int) -> None:
        self.total += weight - self.weights.get(key, 0)
        self.items[key] = value
        self.items.move_to_end(key)
        self.weights[key] = weight
        while self.total > self.budget and len(self.items) > 1:
            old, _ = self.items.popitem(last=False)
            self.total -= self.weights.pop(old)


class _Scan:
    """A term looked for in the stored texts: the docs scanned, those that have it, its tf in each."""

    __slots__ = ("scanned", "found", "counted")

    def __init__(self):
        self.scanned: set[int] = set()
        self.found: set[int] = set()
        self.counted: dict[int, int] = {}
