"""Reading an index: the text stores, posting lists, and ``_Snapshot`` (one generation, opened for searching)."""

from __future__ import annotations

import io
import mmap
import pickle
import struct
import threading
import zlib
from array import array
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Sequence
from itertools import accumulate, repeat
from pathlib import Path

from whoosh import index as windex
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader, TermNotFound

from . import ranking, whoosh_compat
from . import whoosh_summary as summary
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

#: Map every page of a generation's text stores and summary in when it is opened (one madvise each:
#: ~10 ms CPU for 200 MB at 10k) instead of one page fault at a time as queries first touch them
#: (2–3 µs a page). For long-lived processes (``serve`` sets it); a CLI search touches too few pages.
POPULATE = False
_MADV_POPULATE_READ = 22  # Linux 5.14+; elsewhere the madvise fails and the pages fault in as before

# What a snapshot keeps from earlier queries: postings entries, and documents scanned for terms.
_MEMO_POSTINGS = 48 << 20  # bytes (a gram's counts and presence bits: two bytes a speech)
_MEMO_FILTERS = 16 << 20  # bytes (a filter value's speeches as presence bits: one byte a speech)
_MEMO_SCANNED = 1_000_000


# --------------------------------------------------------------------------------------
# Text store (one per segment)


def _read_footer(path: Path, mm) -> dict:
    end = len(mm)
    (flen,) = struct.unpack("<Q", mm[end - 16 : end - 8])
    footer = pickle.loads(mm[end - 16 - flen : end - 16])
    if footer.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: text store version {footer.get('version')}")
    return footer


class _Store:
    """Read side of ``gt_<segid>.bin``: mmap'd folded texts, compressed bodies, metadata.

    Opened with what the index's summary already holds (``known``: number of documents, offsets,
    folded titles), the footer's pickle is read only if the metadata or lengths are asked for."""

    def __init__(self, path: Path, f, mm, footer: dict | None, known: tuple | None = None):
        self.path = path
        self._f = f
        self.mm = mm
        self._footer = footer
        offs = array("Q")
        if footer is not None:
            self.n = footer["n"]
            offs.frombytes(footer["offsets"])
            self.titles: list[str] = footer["titles"]
        else:
            assert known is not None
            self.n, offsets, self.titles = known
            offs.frombytes(offsets)
        self.offsets = offs

    @classmethod
    def open(cls, path: Path, known: tuple | None = None) -> _Store:
        """``known``: (n, offsets as bytes, titles) from the index's summary, or None."""
        f = open(path, "rb")  # noqa: SIM115 -- kept open by the store (its mmap), closed by close()
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            end = len(mm)
            if mm[end - 8 :] != _STORE_END or mm[:8] != _STORE_MAGIC:
                raise ValueError(f"{path}: not a search text store")
            footer = None if known is not None else _read_footer(path, mm)
        except BaseException:
            f.close()
            raise
        return cls(path, f, mm, footer, known)

    def _full_footer(self) -> dict:
        if self._footer is None:
            self._footer = _read_footer(self.path, self.mm)
        return self._footer

    @property
    def meta(self) -> list[tuple]:
        return self._full_footer()["meta"]

    @property
    def nchars(self) -> array:
        nch = array("I")
        nch.frombytes(self._full_footer()["nchars"])
        return nch

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
    """One generation of the index, opened for searching (per-speech data in memory, read from the
    generation's summary file when it has one: see ``whoosh_summary``)."""

    def __init__(self, index_dir: Path):
        storage = FileStorage(str(index_dir), readonly=True)
        toc = windex.TOC.read(storage, INDEXNAME)
        self.generation = toc.generation
        self.segments: list[_Segment] = []
        key = summary.key_of(index_dir, toc)
        path = summary.summary_path(index_dir, toc.generation)
        data = summary.load(path, key)
        base = 0
        try:
            for k, seg in enumerate(toc.segments):
                reader = SegmentReader(storage, toc.schema, seg, generation=toc.generation)
                known = None
                if data is not None:
                    n, offsets = data["stores"][k]
                    known = (n, offsets, data["titles"][base : base + n])
                store = _Store.open(index_dir / _store_name(seg.segment_id()), known)
                self.segments.append(_Segment(reader, base, store, set(seg.deleted_docs())))
                base += store.n
            if data is None:
                data = summary.compute([s.store for s in self.segments], [s.deleted for s in self.segments])
                summary.save(path, key, data)
        except BaseException:
            self.close()
            raise
        self._adopt(data)
        if POPULATE:
            self.populate()
        self.lock = threading.Lock()
        # What earlier queries learnt (pages, sorts and the KWIC view of one query reuse it).
        self.postings_memo = _Memo(_MEMO_POSTINGS)
        self.scan_memo = _Memo(_MEMO_SCANNED)
        self.bits_memo = _Memo(_MEMO_FILTERS)

    def _adopt(self, data: dict) -> None:
        self.meta: Sequence = data["meta"]  # global docnum → meta tuple, None when deleted
        self.titles: list[str] = data["titles"]
        self.total_docs = len(self.titles)
        self.deleted: set[int] = data["deleted"]
        self.n_live: int = data["n_live"]
        # Body lengths (folded characters), where each body starts in its store (UTF-16 units).
        self.blen: list[int] = data["blen"]
        self.bstart: list[int] = data["bstart"]
        self.avglen: float = data["avglen"]
        self.norm: list[float] = data["norm"]  # k1·(1 − b + b·len/avglen)
        self.datekey: list[int] = data["datekey"]
        self.sources: list[str] = data["sources"]
        self.heads: summary.Headings = data["heads"]
        self._mmap = data.get("mmap")  # the summary's file, when read from it
        # For filters and facets: per-document values and the documents having each value.
        self.years: list = data["years"]
        self.types: list = data["types"]
        self.themes: list[tuple] = data["themes"]
        self.speakers: list = data["speakers"]
        self.orgs: list = data["orgs"]
        self.by_year: dict[int, set[int]] = defaultdict(set, data["by_year"])
        self.by_type: dict[str, set[int]] = defaultdict(set, data["by_type"])
        self.by_theme: dict[str, set[int]] = defaultdict(set, data["by_theme"])
        self.by_speaker: dict[str, set[int]] = defaultdict(set, data["by_speaker"])
        self.by_org: dict[str, set[int]] = defaultdict(set, data["by_org"])
        self.chars_by_year: Counter = Counter(data["chars_by_year"])
        self.loc: list[tuple] = []  # global docnum → (store, local docnum)
        self.span: list[tuple] = []  # global docnum → (its store's mmap.find, start, end)
        for s in self.segments:
            st, n = s.store, s.store.n
            self.loc += zip(repeat(st, n), range(n))
            self.span += zip(repeat(st.mm.find, n), st.offsets[0::3], st.offsets[1::3])

    def populate(self) -> None:
        """Map the stores' and the summary's pages in now (see ``POPULATE``)."""
        for mm in [s.store.mm for s in self.segments] + [self._mmap]:
            try:
                mm.madvise(getattr(mmap, "MADV_POPULATE_READ", _MADV_POPULATE_READ))
            except (AttributeError, OSError, ValueError):  # no mmap, another system, an older kernel
                pass

    def close(self) -> None:
        for s in self.segments:
            try:
                s.reader.close()
            except Exception:
                pass
            s.store.close()
        self.segments = []
        mm, self._mmap = getattr(self, "_mmap", None), None
        if mm is not None:
            try:
                mm.close()
            except (BufferError, ValueError):
                pass

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

    def key_counts(self, key: str) -> tuple[bytes, int, int]:
        """The gram ``key`` in every speech: (``counts[d]``, its count in speech d, 0 where it is not
        or the speech is deleted; the number of speeches having it; ``bits``, the same as an integer
        whose byte d is 1 where the count is not 0, so that ``&`` intersects candidates at once)."""
        kb = key.encode("utf-8", "surrogatepass")
        parts = []
        for s in self.segments:
            counts = bytearray(s.store.n)
            try:
                ti = s.terms.term_info(GRAM_FIELD, kb)
            except TermNotFound:
                ti = None
            if ti is not None:
                ids, values = _read_postings(s.postfile, ti)
                deque(map(counts.__setitem__, ids, values), 0)
            parts.append(counts)
        dense = bytearray().join(parts)
        for d in self.deleted:
            dense[d] = 0
        return bytes(dense), len(dense) - dense.count(0), int.from_bytes(dense.translate(_PRESENT), "little")

    def bits_of(self, name: str, value) -> int:
        """The speeches having ``value`` in the facet ``name`` (``by_year``, ``by_type`` …) as presence
        bits (see ``key_counts``), made once a generation while the memo keeps them."""
        bits = self.bits_memo.get((name, value))
        if bits is None:
            mask = bytearray(self.total_docs)
            deque(map(mask.__setitem__, getattr(self, name).get(value, ()), repeat(1)), 0)
            bits = int.from_bytes(mask, "little")
            self.bits_memo.put((name, value), bits, self.total_docs + 1)
        return bits


# A count byte → 1 when not 0 (presence bits).
_PRESENT = bytes([0] + [1] * 255)

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
