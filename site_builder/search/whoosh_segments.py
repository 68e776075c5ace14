"""Writing Whoosh segments in bulk (the schema, the W3 posting blocks, the text stores; worker processes)."""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import zlib
from array import array
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import sub
from pathlib import Path

from whoosh import fields as wfields
from whoosh import formats as wformats
from whoosh.codec import default_codec
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.filedb.filestore import FileStorage
from whoosh.system import pack_ushort

from ..fileio import atomic_open
from ..workers import fresh_context, process_pool, run_jobs
from . import analysis, whoosh_compat
from .whoosh_postings import DOC_BITS, KEY_SHIFT, WINDOW, PostingSpill, gram_postings, gram_term
from .whoosh_records import (
    _INT,
    _META_FIELDS,
    _STORE_END,
    _STORE_MAGIC,
    _TEXT_CODEC,
    FORMAT_VERSION,
    GRAM_FIELD,
    ID_FIELD,
    INDEXNAME,
    IndexDoc,
    Record,
    _record_from_doc,
    _store_name,
)

# Postings per W3 block (Whoosh's own writer uses 128; bigger blocks mean fewer pickles).
_BLOCK = 1024
_ZLEVEL = 3
# Documents per segment written in one go (bounds the writer's memory).
_SEGMENT_DOCS = 5000
# Below this many documents to (re)index, or when they fit in one segment, do it in this process;
# above, use worker processes (one segment each).
_PARALLEL_MIN = 400


# --------------------------------------------------------------------------------------
# Schema


class GramCounts(wformats.Format):
    """Posting format of the gram field: no positions; the value is one byte, the key's count."""

    posting_size = 1

    def __init__(self, field_boost: float = 1.0, **options):
        self.field_boost = field_boost
        self.options = options

    def word_values(self, value, analyzer=None, **kwargs):
        # ``value`` is a mapping gram → count (what ``analysis.grams`` returns).
        fb = self.field_boost
        return ((g, c, fb, bytes((min(c, 255),))) for g, c in value.items())

    def encode(self, value):
        return bytes((min(int(value), 255),))

    def decode_frequency(self, valuestring):
        return valuestring[0]

    def decode_weight(self, valuestring):
        return self.field_boost


class GramField(wfields.FieldType):
    """Indexed, not stored: the ``analysis.grams`` keys of a document with their counts.

    ``index()`` takes the Counter itself, so no analyzer runs (the grams are computed once,
    by ``analysis``); this module normally writes the postings in bulk instead.
    """

    def __init__(self):
        super().__init__(GramCounts(), analyzer=None, scorable=False, stored=False)

    def index(self, value, **kwargs):
        return sorted((g.encode("utf-8", "surrogatepass"), c, 1.0, bytes((min(c, 255),))) for g, c in value.items())

    def to_bytes(self, value):
        return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")

    def from_bytes(self, bs):
        return bs.decode("utf-8", "surrogatepass")


def _schema() -> wfields.Schema:
    return wfields.Schema(
        id=wfields.ID(unique=True, stored=True),
        g=GramField(),
        url=wfields.STORED(),
        title=wfields.STORED(),
        date=wfields.STORED(),
        year=wfields.STORED(),
        meeting_type=wfields.STORED(),
        themes=wfields.STORED(),
        fingerprint=wfields.STORED(),
    )


_TERMINFO = whoosh_compat.TERMINFO
_EXTENT = struct.Struct("!qi")  # pack_long(offset) + pack_int(length)
_KVLEN = whoosh_compat.KVLEN


def _blocks(docs, counts) -> bytes:
    """A posting list's W3 blocks (after the header magic): per block of ``_BLOCK`` documents its
    length (negative for the last), its info and its data (doc gaps, counts as bytes)."""
    out = bytearray()
    n = len(docs)
    dumps = pickle.dumps
    for b in range(0, n, _BLOCK):
        ids = docs[b : b + _BLOCK]
        vals = bytes(counts[b : b + _BLOCK]) if counts is not None else None
        data = dumps((tuple(map(sub, ids, chain((0,), ids))), None, vals), 2)
        if len(data) > 400:  # zlib's set-up costs ~10 µs: not worth it for short lists
            data = zlib.compress(data, _ZLEVEL)
            comp = _ZLEVEL
        else:
            comp = 0
        info = dumps((len(ids), ids[-1], 1.0, comp, 0, 0), 2)
        blen = len(info) + len(data)
        out += _INT.pack(-blen if b + _BLOCK >= n else blen)
        out += info
        out += data
    return bytes(out)


class _TermWriter:
    """Appends posting lists (Whoosh W3 block format) and their term-index entries in bulk.

    Byte-for-byte what ``W3FieldWriter``/``W3PostingsWriter``/``OrderedHashWriter`` write,
    but buffered and without their per-posting and per-call overhead.
    """

    _FLUSH = 8 << 20
    ONES = 4096  # one-document postings' blocks kept (by doc and count) for the next term

    def __init__(self, fw):
        self.fw = fw
        self.postfile, self.tindex = whoosh_compat.field_writer_files(fw)
        self.tfile = self.tindex.dbfile
        self.pbuf = bytearray()
        self.ppos = self.postfile.tell()
        self.tbuf = bytearray()
        self.tpos = self.tfile.tell()
        self.buckets = self.tindex.buckets
        self.fid = b""
        self._ones: dict = {}  # (doc, its count) → the blocks of a posting of that one document

    def start_field(self, name: str, fieldobj) -> None:
        self.fw.start_field(name, fieldobj)
        self.fid = pack_ushort(whoosh_compat.field_id(self.fw))

    def add(self, term: bytes, docs, counts) -> None:
        pbuf = self.pbuf
        start = self.ppos + len(pbuf)
        pbuf += WHOOSH3_HEADER_MAGIC
        n = len(docs)
        if n == 1:  # (a one-document segment's every posting: the same few blocks, made once each)
            one = (docs[0], bytes(counts) if counts is not None else None)
            block = self._ones.get(one)
            if block is None:
                block = _blocks(docs, counts)
                if len(self._ones) < self.ONES:
                    self._ones[one] = block
            pbuf += block
        else:
            pbuf += _blocks(docs, counts)
        value = _TERMINFO.pack(0, float(n), n, 0, 0, 1.0, docs[0], docs[-1]) + _EXTENT.pack(
            start, self.ppos + len(pbuf) - start
        )
        key = self.fid + term
        tindex = self.tindex
        if key <= tindex.lastkey:
            raise ValueError(f"term keys must increase: {tindex.lastkey!r}..{key!r}")
        pos = self.tpos + len(self.tbuf)
        self.tbuf += _KVLEN.pack(len(key), len(value))
        self.tbuf += key
        self.tbuf += value
        h = int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[-4:], "big")
        self.buckets[h & 255].append((h, pos))
        tindex.index.append(pos)
        tindex.lastkey = key
        if len(pbuf) > self._FLUSH or len(self.tbuf) > self._FLUSH:
            self.flush()

    def flush(self) -> None:
        if self.pbuf:
            self.postfile.write(bytes(self.pbuf))
            self.ppos += len(self.pbuf)
            self.pbuf = bytearray()
        if self.tbuf:
            self.tfile.write(bytes(self.tbuf))
            self.tpos += len(self.tbuf)
            self.tbuf = bytearray()

    def close(self) -> None:
        self.flush()
        self.fw.close()


class _StoreWriter:
    """The text store of a segment being written (``gt_<segment id>.bin``): per document its folded
    text (UTF-16-LE, at an even offset) and its patches; then the footer with the metadata."""

    def __init__(self, out):
        self.out = out
        out.write(_STORE_MAGIC)
        self.pos = len(_STORE_MAGIC)
        self.offsets = array("Q")
        self.nchars = array("I")
        self.metas: list[tuple] = []
        self.titles: list[str] = []

    def add(self, meta: tuple, folded: str, patches: bytes) -> None:
        out, offsets = self.out, self.offsets
        size = 0
        for lo in range(0, len(folded), WINDOW):  # (a big speech's text is not encoded whole at once)
            piece = folded[lo : lo + WINDOW].encode(_TEXT_CODEC, "surrogatepass")
            out.write(piece)
            size += len(piece)
        out.write(patches)
        offsets.append(self.pos)
        offsets.append(self.pos + size)
        self.pos += size + len(patches)
        offsets.append(self.pos)
        if self.pos & 1:  # keep every folded text at an even offset (UTF-16 code units)
            out.write(b"\0")
            self.pos += 1
        self.nchars.append(len(folded))
        self.metas.append(meta)
        self.titles.append(analysis.fold(meta[2]))

    def finish(self, n: int) -> None:
        footer = pickle.dumps(
            {
                "version": FORMAT_VERSION,
                "n": n,
                "offsets": self.offsets.tobytes(),
                "nchars": self.nchars.tobytes(),
                "meta": self.metas,
                "titles": self.titles,
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        out = self.out
        out.write(footer)
        out.write(struct.pack("<Q", len(footer)))
        out.write(_STORE_END)
        out.flush()
        os.fsync(out.fileno())


assert _SEGMENT_DOCS <= 1 << DOC_BITS


def _write_documents(
    pdw, schema, store: _StoreWriter, records: Iterable[Record], postings: PostingSpill, ids: list[str], tick
) -> int:
    """Each record's stored fields and text; its packed gram postings given to ``postings``;
    returns the number of documents."""
    fieldobjs = [schema[name] for name in _META_FIELDS]
    n = 0
    for dn, (meta, folded, patches) in enumerate(records):
        pdw.start_doc(dn)
        for name, fobj, value in zip(_META_FIELDS, fieldobjs, meta):
            pdw.add_field(name, fobj, value, None)
        pdw.finish_doc()
        postings.add(gram_postings(folded, dn))
        store.add(meta, folded, patches)
        ids.append(meta[0])
        n = dn + 1
        if tick is not None:
            tick()
    return n


def _write_postings(fw, schema, postings: PostingSpill, ids: list[str], n: int) -> None:
    """The gram field's postings, a key range at a time, then the id field's (term-index keys must
    increase: code point order is UTF-8 byte order)."""
    import numpy as np

    tw = _TermWriter(fw)
    tw.start_field(GRAM_FIELD, schema[GRAM_FIELD])
    add_term = tw.add
    for j in range(len(postings)):
        packed = postings.read(j)  # term order, then document order
        keys = packed >> np.uint64(KEY_SHIFT)
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else keys
        terms = keys[starts].tolist()
        del keys
        counts = (packed & np.uint64(255)).astype(np.uint8).tobytes()
        docs = ((packed >> np.uint64(8)) & np.uint64((1 << DOC_BITS) - 1)).astype(np.uint16)
        del packed
        bounds = starts.tolist() + [len(docs)]
        for t, key in enumerate(terms):
            lo, hi = bounds[t], bounds[t + 1]
            add_term(gram_term(key), docs[lo:hi].tolist(), counts[lo:hi])
    tw.fw.finish_field()
    tw.start_field(ID_FIELD, schema[ID_FIELD])
    for dn in sorted(range(n), key=ids.__getitem__):
        add_term(ids[dn].encode("utf-8", "surrogatepass"), [dn], None)
    tw.fw.finish_field()
    tw.close()


def _write_segment(
    storage, index_dir: Path, codec, schema, records: Iterable[Record], tick: Callable[[], None] | None = None
):
    """Write ``records`` as one new Whoosh segment plus its text store; return the segment."""
    segment = codec.new_segment(storage, INDEXNAME)
    pdw = codec.per_document_writer(storage, segment)
    fw = codec.field_writer(storage, segment)
    postings = PostingSpill(index_dir)
    ids: list[str] = []
    final = index_dir / _store_name(segment.segment_id())
    try:
        with atomic_open(final, "wb") as out:  # the store's own finish() syncs it
            store = _StoreWriter(out)
            n = _write_documents(pdw, schema, store, records, postings, ids, tick)
            store.finish(n)
        pdw.close()
        _write_postings(fw, schema, postings, ids, n)
        segment.set_doc_count(n)
        return segment
    except BaseException:
        try:
            final.unlink()
        except OSError:
            pass
        raise
    finally:
        postings.close()


def _chunks(seq: Sequence, size: int) -> list[Sequence]:
    return [seq[i : i + size] for i in range(0, len(seq), size)] if seq else []


def _segment_docs(n: int) -> int:
    """Documents per segment: as few segments as ``_SEGMENT_DOCS`` allows, of even sizes (one
    segment is smaller on disk and faster to search than two halves: each holds its own terms)."""
    return max(1, -(-n // -(-n // _SEGMENT_DOCS))) if n > 0 else 1


def _planned_segments(n: int, workers: int) -> int:
    """How many segments ``_write_segments`` makes of ``n`` items (``workers`` do not change it)."""
    return -(-n // _SEGMENT_DOCS) if n > 0 else 0


class _Ticks:
    """Progress of documents written: ``report(50)`` at every 50th, the rest at the end (``flush``);
    the first ``skip`` are not reported again (a worker that died reported them)."""

    def __init__(self, report: Callable[[int], object], skip: int = 0):
        self.report, self.n, self.sent = report, 0, skip

    def tick(self) -> None:
        self.n += 1
        if self.n % 50 == 0:
            self.flush()

    def flush(self) -> None:
        if self.n > self.sent:
            self.report(self.n - self.sent)
            self.sent = self.n


def _write_batch(index_dir: str, batch: Iterable, ticks: _Ticks):
    """``batch`` (IndexDocs or records) written as one new segment in ``index_dir``; return it."""
    records = (_record_from_doc(d) if isinstance(d, IndexDoc) else d for d in batch)
    seg = _write_segment(FileStorage(index_dir), Path(index_dir), default_codec(), _schema(), records, ticks.tick)
    ticks.flush()
    return seg


_OUTBOX: list = []  # in a segment worker: the queue its progress goes to (``_start_worker``)


def _start_worker(outbox) -> None:
    """A segment worker's start (the pool's initializer): where its progress goes."""
    _OUTBOX[:] = [outbox]


def _segment_job(job: tuple):
    """A segment worker's job: (index folder, batch number, batch) written as one segment; its
    progress sent as (batch number, documents) to the pool's queue."""
    index_dir, number, batch = job
    outbox = _OUTBOX[0]
    return _write_batch(index_dir, batch, _Ticks(lambda k: outbox.put((number, k))))


def _write_segments(
    storage, index_dir: Path, items: Sequence, progress_add: Callable[[int], None], workers: int
) -> list:
    """Index ``items`` (IndexDocs or records) into new segments; return them in order.

    Jobs of more than one segment are split over ``workers`` processes (each writes whole
    segments: the records and the W3 blocks are made in Python, so threads would not help); Whoosh's own
    multiprocessing writer is not used (its idle workers crash, see the research notes).
    """
    if not items:
        return []
    if workers > 1 and len(items) >= _PARALLEL_MIN and len(items) > _SEGMENT_DOCS:
        return _write_segments_parallel(index_dir, items, progress_add, workers)
    codec = default_codec()
    schema = _schema()
    segs = []
    ticks = _Ticks(progress_add)  # (one count over all the segments)
    for batch in _chunks(items, _segment_docs(len(items))):
        records = (_record_from_doc(d) if isinstance(d, IndexDoc) else d for d in batch)
        segs.append(_write_segment(storage, index_dir, codec, schema, records, ticks.tick))
    ticks.flush()
    return segs


def _portable(item):
    """What a worker process is sent of ``item``: its ``detached()`` copy when it has one (a build's
    doc without its text, which the worker reads from the build cache itself), else the item."""
    detached = getattr(item, "detached", None)
    return detached() if detached is not None else item


def _write_segments_parallel(index_dir: Path, items: Sequence, progress_add: Callable[[int], None], n: int) -> list:
    """Segments written by ``n`` worker processes (at most one per segment), in order. Started afresh
    (``workers.fresh_context``), not forked: a worker holds its segment's work and nothing of the
    build's memory (a forked one had every page of the model and the pages' views mapped, and copied
    those the collector touched: its resident size grew with the archive, #15), and does not run the
    calling script again. A build's docs go without their texts (``_portable``). A segment whose
    worker failed (could not start, died, raised) is written here instead (``workers.run_jobs``),
    from ``items`` themselves; its documents that the worker reported are not reported again."""
    chunks = _chunks(items, _segment_docs(len(items)))
    jobs = [(str(index_dir), k, [_portable(item) for item in chunk]) for k, chunk in enumerate(chunks)]
    reported = [0] * len(jobs)

    def on_message(message: tuple[int, int]) -> None:
        number, k = message
        reported[number] += k
        progress_add(k)

    def here(job: tuple):
        number = job[1]
        return _write_batch(str(index_dir), chunks[number], _Ticks(progress_add, reported[number]))

    ctx = fresh_context()
    try:
        outbox = ctx.SimpleQueue()
    except OSError:  # (no semaphores here): every segment written here
        return list(run_jobs(None, _segment_job, jobs, here=here))
    pool = process_pool(min(n, len(jobs)), context=ctx, initializer=_start_worker, initargs=(outbox,))
    segs: list = []
    try:
        segs.extend(run_jobs(pool, _segment_job, jobs, here=here, messages=outbox, on_message=on_message))
    except BaseException:
        for seg in segs:  # written but never to be committed: remove the text stores
            try:
                (index_dir / _store_name(seg.segment_id())).unlink()
            except OSError:
                pass
        raise
    finally:
        pool.shutdown(cancel_futures=True)
        outbox.close()
    return segs
