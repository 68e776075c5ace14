"""What opening an index needs of every speech, computed once per index generation (#15).

A search answers from ``_Snapshot``: per speech its folded title, headings, body length and where the
body starts in its text store, date key, year, meeting type, themes, speaker and organisation, and
per value the speeches having it. Computing that from the text stores' metadata (a pickle per store
and a Python loop per speech) cost 0.2–0.4 s at 10,000 speeches, paid by every ``site-builder
search`` process. ``update()`` therefore writes it once, after each commit, as one marshal file next
to the index: ``gt_summary_<generation>.marshal`` (``gt_`` as the text stores: a folder of these is an
index to ``_prepare_dir``; not ``gt_*.bin``, which ``_clean_stores`` removes).

The file is keyed by what it was computed from: this format's version, the index format, the
generation, and per segment its id, number of documents, deleted documents and text store's size.
A snapshot uses it only when that key equals its own and its checksum holds; otherwise (missing,
stale, damaged, another Python) it computes the same data from the stores, as before, and writes
the file for the next process (best effort: a read-only index is still searched). Two values come
from the ranking's code, ``norm`` and ``date_key``: their answers to a few inputs are part of the
key, so a change of the formula or its constants is not answered from an old summary.

Read lazily from the mapped file: a speech's full metadata tuple (``_Snapshot.meta``, needed only
for the hits shown; one marshal record per speech, decoded when asked for: ``MetaRecords``) and the
folded text of its headings (``Headings``, searched without being decoded).
"""

from __future__ import annotations

import marshal
import mmap
import os
import struct
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

from ..collector import paused
from ..fileio import atomic_open
from . import ranking
from .whoosh_records import _TEXT_CODEC, FORMAT_VERSION, _store_name

SUMMARY_VERSION = 2
_MAGIC = b"SBSUMM2\n"
_HEAD = struct.Struct("<IQ")  # CRC-32 of everything after it, length of the marshal part
_PROBE_DATES = ("2020-03-05", "1999-12", "2021", "", "2020年3月5日")
_ERRORS = (OSError, ValueError, EOFError, TypeError, KeyError, IndexError, struct.error)
ERRORS = _ERRORS  # what reading a damaged summary can raise


def summary_path(index_dir: Path, generation: int) -> Path:
    return index_dir / f"gt_summary_{generation}.marshal"


def key_of(index_dir: Path, toc) -> tuple:
    """What the summary of this generation is computed from (raises OSError if a store is missing)."""
    probes = (*map(ranking.date_key, _PROBE_DATES), ranking.norm(10, 20.0), ranking.norm(30, 20.0), ranking.norm(0, 0))
    segs = _segments_key(index_dir, toc.segments)
    return (SUMMARY_VERSION, FORMAT_VERSION, sys.version_info[:2], marshal.version, probes, toc.generation, segs)


def _segments_key(index_dir: Path, segments) -> tuple:
    """Each segment as the summary's key names it: id, documents, deleted ones, its store's size."""
    return tuple(
        (
            seg.segment_id(),
            seg.doc_count_all(),
            tuple(sorted(seg.deleted_docs())),
            (index_dir / _store_name(seg.segment_id())).stat().st_size,
        )
        for seg in segments
    )


def describes(data: dict, index_dir: Path, segments) -> bool:
    """Whether the summary ``data`` (``load_latest``'s) was computed from these segments as they are."""
    return tuple(data["key"][6]) == _segments_key(index_dir, segments)


def compute(stores: list, deleted_by_store: list[set[int]]) -> dict:
    """The summary of the text stores ``stores`` (in segment order) with these deleted documents."""
    return finish([store_part(store, dead) for store, dead in zip(stores, deleted_by_store)])


PER_DOC = ("titles", "blen", "bstart", "datekey", "sources", "years", "types", "themes", "speakers", "orgs")


def store_part(store, dead: set[int], encoded: bool = False) -> dict:
    """One segment's share of the summary, from its text store. ``encoded``: its metadata records
    as ``save`` writes them (bytes), which keep nothing of the store's footer alive."""
    meta: list = []
    titles: list[str] = []
    blen: list[int] = []
    bstart: list[int] = []
    offs, nch, st_titles = store.offsets, store.nchars, store.titles
    for i in range(store.n):
        title = st_titles[i]
        meta.append(None if i in dead else store.meta[i])
        titles.append(title)
        blen.append(nch[i] - len(title) - 1)
        bstart.append(offs[3 * i] + len(title.encode(_TEXT_CODEC, "surrogatepass")) + 2)
    part = {
        "store": (store.n, store.offsets.tobytes()),
        "meta": meta,
        "titles": titles,
        "blen": blen,
        "bstart": bstart,
        "datekey": [ranking.date_key(m[3]) if m else 0 for m in meta],
        "sources": [m[0] if m else "" for m in meta],
        "heads": [m[10].encode("utf-8", "surrogatepass") if m else b"" for m in meta],
        "years": [m[4] if m else None for m in meta],
        "types": [m[5] if m else None for m in meta],
        "themes": [tuple(dict.fromkeys(m[6])) if m else () for m in meta],
        "speakers": [m[8] if m else None for m in meta],
        "orgs": [m[9] if m else None for m in meta],
    }
    if encoded:
        if any(m is not None and len(m) != 11 for m in meta):  # (…, headings): another layout
            raise ValueError("text store metadata of another layout")
        part["meta"] = [None if m is None else marshal.dumps(m[:10]) for m in meta]
    return part


def finish(parts: list[dict]) -> dict:
    """The summary of the segments' shares, in segment order (``parts`` is emptied: each share's
    lists are let go of once joined)."""
    stores = [p["store"] for p in parts]
    meta: list = []
    heads: list[bytes] = []
    lists: dict[str, list] = {name: [] for name in PER_DOC}
    while parts:
        part = parts.pop(0)
        meta += part.pop("meta")
        heads += part.pop("heads")
        for name in PER_DOC:
            lists[name] += part.pop(name)
    blen = lists["blen"]
    live = [n for n, m in zip(blen, meta) if m is not None]
    avglen = (sum(live) / len(live)) if live else 1.0
    data: dict = {
        "stores": stores,
        "titles": lists["titles"],
        "blen": blen,
        "bstart": lists["bstart"],
        "deleted": {d for d, m in enumerate(meta) if m is None},
        "n_live": len(live),
        "avglen": avglen,
        "norm": [ranking.norm(n, avglen) for n in blen],  # k1·(1 − b + b·len/avglen)
        "datekey": lists["datekey"],
        "sources": lists["sources"],
        "heads": Headings.of_encoded(heads),
    }
    for name in ("years", "types", "themes", "speakers", "orgs"):
        data[name] = lists[name]
    data.update(_groups(meta, data))
    data["meta"] = meta
    return data


def _groups(meta: list, data: dict) -> dict:
    """For filters and facets: the documents having each value, and characters per year."""
    years, types, themes, speakers, orgs, blen = (
        data[k] for k in ("years", "types", "themes", "speakers", "orgs", "blen")
    )
    by_year: dict = {}
    by_type: dict = {}
    by_theme: dict = {}
    by_speaker: dict = {}
    by_org: dict = {}
    chars_by_year: Counter = Counter()
    for d, m in enumerate(meta):
        if m is not None:
            by_year.setdefault(years[d], set()).add(d)
            by_type.setdefault(types[d], set()).add(d)
            for t in themes[d]:
                by_theme.setdefault(t, set()).add(d)
            by_speaker.setdefault(speakers[d], set()).add(d)
            by_org.setdefault(orgs[d], set()).add(d)
            chars_by_year[years[d]] += blen[d]
    return {
        "by_year": by_year,
        "by_type": by_type,
        "by_theme": by_theme,
        "by_speaker": by_speaker,
        "by_org": by_org,
        "chars_by_year": dict(chars_by_year),
    }


def save(path: Path, key: tuple, data: dict) -> bool:
    """Write the summary atomically; False (and nothing written) when that is not possible.

    Layout: magic, CRC-32 of the rest, length of the marshal part; the marshal part (key, the
    per-speech lists and sets); the headings (UTF-8); the metadata records (marshal, one per speech)."""
    heads: Headings = data["heads"]
    records = bytearray()
    moffs = array("Q", [0])
    try:
        for m in data["meta"]:  # a record as a tuple, or kept encoded (``derive``)
            if type(m) is bytes:
                records += m
            elif m is not None:
                if len(m) != 11:  # (…, headings): another layout, not summarised
                    return False
                records += marshal.dumps(m[:10])
            moffs.append(len(records))
        eager = {k: v for k, v in data.items() if k not in ("meta", "heads")}
        eager["heads_offsets"] = heads.offsets.tobytes()
        eager["meta_offsets"] = moffs.tobytes()
        part = marshal.dumps((key, eager))
        encoded = heads.encoded()
        crc = zlib.crc32(records, zlib.crc32(encoded, zlib.crc32(part)))
        with atomic_open(path, "wb") as fh:
            fh.write(_MAGIC + _HEAD.pack(crc, len(part)))
            fh.write(part)
            fh.write(encoded)
            fh.write(records)
    except (OSError, ValueError):
        return False
    return True


def load(path: Path, key: tuple | None) -> dict | None:
    """The summary stored at ``path`` if it is whole and was computed for ``key`` (None: for any
    key), else None. Its headings and records stay in the file (mapped, ``data["mmap"]``: close it
    with the snapshot)."""
    try:
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # missing, unreadable or empty
        return None
    try:
        data = _parse(mm, key)
    except _ERRORS:
        data = None
    if data is None:
        mm.close()
    return data


def load_latest(index_dir: Path) -> dict | None:
    """The newest generation's summary as it is, if this code wrote it (``data["key"]``: what it
    was computed from; ``derive`` checks it), or None. Close ``data["mmap"]`` after use."""
    names = [(p.stem.rpartition("_")[2], p) for p in index_dir.glob("gt_summary_*.marshal")]
    found = [(int(g), p) for g, p in names if g.isdigit()]
    if not found:
        return None
    return load(max(found)[1], None)


def close(data: dict) -> None:
    """Let go of a loaded summary's file (its headings and records are read from it)."""
    mm = data.get("mmap")
    if mm is not None:
        data.clear()
        try:
            mm.close()
        except BufferError:  # (a record still viewed: the mapping goes with it)
            pass


def _parse(mm: mmap.mmap, key: tuple | None) -> dict | None:
    start = len(_MAGIC) + _HEAD.size
    if len(mm) < start or mm[: len(_MAGIC)] != _MAGIC:
        return None
    crc, plen = _HEAD.unpack(mm[len(_MAGIC) : start])
    if zlib.crc32(memoryview(mm)[start:]) != crc:
        return None
    with paused():  # marshal builds many containers: collections while loading them find nothing
        stored_key, data = marshal.loads(mm[start : start + plen])
    if key is None:  # any generation's, computed by this version (folded_bodies)
        if tuple(stored_key[:4]) != (SUMMARY_VERSION, FORMAT_VERSION, sys.version_info[:2], marshal.version):
            return None
        data["key"] = stored_key
    elif stored_key != key:
        return None
    hoffs, moffs = array("Q"), array("Q")
    hoffs.frombytes(data.pop("heads_offsets"))
    moffs.frombytes(data.pop("meta_offsets"))
    hbase = start + plen
    mbase = hbase + hoffs[-1]
    if len(hoffs) != len(data["titles"]) + 1 or len(moffs) != len(hoffs) or mbase + moffs[-1] != len(mm):
        return None
    data["heads"] = heads = Headings(mm, hoffs, hbase)
    data["meta"] = MetaRecords(mm, moffs, mbase, heads)
    data["mmap"] = mm
    return data


class Headings:
    """Global docnum → the folded text of its headings, kept encoded (UTF-8) in one buffer (bytes, or
    the summary's mmap): ``has`` looks for an encoded term there without decoding anything (UTF-8 is
    self-synchronising, so a match of the encoded term is exactly a match of the term)."""

    __slots__ = ("buf", "offsets", "base")

    def __init__(self, buf, offsets: array, base: int = 0):
        self.buf, self.offsets, self.base = buf, offsets, base

    @classmethod
    def of_encoded(cls, parts: list[bytes]) -> Headings:
        offsets = array("Q", [0])
        offsets.extend(accumulate(map(len, parts)))
        return cls(b"".join(parts), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def has(self, d: int, encoded_term: bytes) -> bool:
        """``term in self[d]``, for ``encoded_term = term.encode("utf-8", "surrogatepass")``."""
        o, b = self.offsets, self.base
        return self.buf.find(encoded_term, b + o[d], b + o[d + 1]) >= 0

    def __getitem__(self, d: int) -> str:
        o, b = self.offsets, self.base
        return bytes(self.buf[b + o[d] : b + o[d + 1]]).decode("utf-8", "surrogatepass")

    def encoded_one(self, d: int) -> bytes:
        o, b = self.offsets, self.base
        return bytes(self.buf[b + o[d] : b + o[d + 1]])

    def encoded(self) -> bytes:
        o, b = self.offsets, self.base
        return bytes(self.buf[b + o[0] : b + o[-1]])


class MetaRecords(Sequence):
    """Global docnum → the store's metadata tuple (None when deleted), decoded when first asked for."""

    def __init__(self, buf, offsets: array, base: int, heads: Headings):
        self._buf, self._offsets, self._base, self._heads = buf, offsets, base, heads
        self._decoded: dict[int, tuple | None] = {}

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, d):
        if isinstance(d, slice):
            return [self[i] for i in range(*d.indices(len(self)))]
        n = len(self)
        if d < 0:
            d += n
        if not 0 <= d < n:
            raise IndexError("document number out of range")
        try:
            return self._decoded[d]
        except KeyError:
            pass
        a, b = self._base + self._offsets[d], self._base + self._offsets[d + 1]
        m = marshal.loads(self._buf[a:b]) + (self._heads[d],) if b > a else None
        self._decoded[d] = m
        return m

    def encoded(self, d: int) -> bytes | None:
        """Document ``d``'s record as stored (without its headings), None when deleted."""
        a, b = self._base + self._offsets[d], self._base + self._offsets[d + 1]
        return bytes(self._buf[a:b]) if b > a else None


# -- the folded bodies, for the build's reuse stage ------------------------------------


def folded_bodies(index_dir: Path, sources: Sequence[str]):
    """For each of ``sources`` (a generator): its body's folded text in the index's newest summarised
    generation as code points (uint16), each line break as 0 — ``reuse.prints.folded_codes`` of its
    plain text, read from the text store instead of inflating and folding the build cache's copy —
    or None when the index does not hold it so (not in it, a character outside the BMP or folding to
    other than one). Nothing is compared with the build cache here: the reuse stage checks each
    text it takes (length and CRC-32). The stores are read, not mapped (no pages of them stay in
    the build's memory), and closed when the generator ends."""
    import numpy as np

    fds: list[int] = []
    where: dict[str, tuple[int, int, int, int]] = {}  # source → (fd, body start, body end, patches end)
    try:
        try:
            where = _where_bodies(index_dir, fds)
        except (*_ERRORS, MemoryError):  # no index yet, another version, a generation replaced meanwhile
            where = {}
        for source in sources:
            hit = where.get(source)
            yield None if hit is None else _folded_body(np, *hit)
    finally:
        for fd in fds:
            os.close(fd)


def _where_bodies(index_dir: Path, fds: list[int]) -> dict[str, tuple[int, int, int, int]]:
    """source → (fd of its text store, where its folded body starts, ends, and its patches end),
    from the newest generation's summary, taken as it is if its stores are there at the sizes it
    names (no Whoosh import: the reuse stage of a build reads this while the index's update runs
    in a child; the stores opened are appended to ``fds``)."""
    data = load_latest(index_dir)
    if data is None:
        return {}
    try:
        where = {}
        base = 0
        for (segid, _docs, _deleted, size), (n, raw) in zip(data["key"][6], data["stores"], strict=True):
            offsets = array("Q")
            offsets.frombytes(raw)
            fds.append(os.open(index_dir / _store_name(segid), os.O_RDONLY))
            if os.fstat(fds[-1]).st_size != size:
                return {}
            for i in range(n):
                source = data["sources"][base + i]
                if source:  # (deleted: "")
                    where[source] = (fds[-1], data["bstart"][base + i], offsets[3 * i + 1], offsets[3 * i + 2])
            base += n
        return where
    finally:
        close(data)


def _folded_body(np, fd: int, start: int, end: int, patches_end: int):
    """``folded_bodies``' text of the body stored at ``start:end`` of a store (patches up to ``patches_end``)."""
    raw = os.pread(fd, patches_end - start, start)
    if len(raw) != patches_end - start:
        return None
    codes = np.frombuffer(raw, dtype=np.uint16, count=(end - start) // 2).copy()
    if codes.size and bool(((codes >= 0xD800) & (codes < 0xE000)).any()):
        return None
    patches = zlib.decompress(raw[end - start :])
    n, one_to_one = struct.unpack_from("<IB", patches)
    if n:
        chars = np.frombuffer(patches, dtype=np.uint16, offset=5 + 4 * n)  # one UTF-16 unit each, if in the BMP
        if not one_to_one or len(chars) != n:
            return None
        at = np.cumsum(np.frombuffer(patches, dtype=np.uint32, count=n, offset=5), dtype=np.int64)
        codes[at[chars == 10]] = 0  # a line break, folded to a space, is 0 there
    return codes
