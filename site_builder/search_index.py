"""The Whoosh full-text index of the archive (the only module that imports ``whoosh``).

How search works
================

Every speech is indexed by the keys of ``analysis.grams(search_text)``: each character and
each pair of adjacent characters of the folded title and body, with how often it occurs.
A query term of one or two characters is answered from its key alone; a longer term selects
the speeches that have all of its pairs and each of those is then checked against the
stored folded text (``term in search_text``). The hits are therefore exactly the speeches
for which ``query.parse(q).matches(search_text)`` holds — no more, no fewer.

Ranking, occurrences, KWIC, trend
---------------------------------

The formula and the per-speech numbers it needs are in ``search/ranking.py`` (the browser ranks
with the same numbers); occurrences, the concordance and the trend are defined in
``search/passages.py``. In short::

    score(d) = Σ_t idf(t) · ( tf·(k1+1) / (tf + k1·(1 − b + b·max(len, avglen)/avglen))
                              + 2·[t in the title] + 1·[t in a heading] )

with ``tf`` the occurrences of ``t`` in the body (exact: the key's count minus the title's for
terms of one or two characters, else counted in the stored text), ``len`` the folded body's length,
``idf`` over the smallest document frequency of the term's keys. The index keeps per speech, for
this: the folded title, the folded text of its headings and the body's length.

Filters and facets: ``year`` ("2020" or "2018-2020", ``query.parse_year``), ``meeting_type``,
``theme``, ``speaker`` and ``organization`` (exact values) restrict the hits. ``total``, the facet
counts (per year, meeting type, theme, speaker, organisation) and the trend are computed over the
whole hit set *with the filters applied* (as Pagefind does); a speech with several themes counts
once under each. ``sort`` is ``relevance`` (default), ``newest`` or ``oldest``; ``offset`` and
``limit`` page the hits, or with ``kwic=True`` the occurrences.

Answers (``search()``, also ``site-builder search --json`` and ``/api/search``)::

    {"query", "total", "occurrences_total", "sort", "offset",
     "hits": [{"source", "url", "title", "date", "year", "meeting_type", "themes", "speaker",
               "organization", "score", "occurrences", "excerpt"}],
     "facets": {"year", "meeting_type", "theme", "speaker", "organization"},
     "trend": [{"year", "speeches", "occurrences", "per_10k_chars"}]}

and with ``kwic=True`` ``"occurrences": [{"source", "url", "title", "date", "left", "match",
"right"}]`` (``url`` ending in ``#p<n>``, the paragraph) in place of ``"hits"``. A query that finds
nothing while the same query without the spaces inside its phrases finds something carries
``"suggestion": {"query", "total", "message": "去掉空格后找到 4 篇"}``.

Excerpts: up to two passages of about 80 characters of the body around the matches, the
matched characters (and only those) wrapped in ``<mark>``, everything else HTML-escaped.

On disk (``index_dir``)
=======================

A normal Whoosh index (``_MAIN_<generation>.toc`` + segment files), schema:

* ``id``  ``ID(unique, stored)`` — the source path; ``delete_by_term("id", …)`` works on it.
* ``g``   the gram keys; postings without positions, value = one byte (the key's count in the
  speech, capped at 255), weight 1. Written in bulk by this module (Whoosh's per-token
  writer costs ~16 µs per token; the bulk writer builds the same W3 posting blocks directly).
* ``url title date year meeting_type themes fingerprint``  ``STORED``.

Beside each segment, ``gt_<segment id>.bin`` holds, per document, the folded search text
(UTF-16-LE, searched with ``mmap.find`` when a long term is verified) and the characters
that folding changed (to restore the original body for excerpts), plus the documents'
metadata (the stored fields, then speaker, organisation and the folded text of the headings,
``analysis.SEPARATOR`` between two). It is written (temp file, fsync, rename) before the TOC that refers to its
segment, so a build killed at any point leaves the previous generation complete and
searchable; files of abandoned segments are removed by the next update.

Updating
========

``update(docs)`` compares each speech's fingerprint with the indexed one. When at least
half of the archive is new or changed, everything is written afresh (two worker
processes, one segment each) and the old segments are dropped; otherwise the changed and
removed speeches are deleted (``delete_by_term("id", …)``), the new versions written as a
new segment, and segments are merged log-structurally (four of a similar size into one;
mostly-deleted ones rewritten). Either way the answers equal those of a clean build.
Searchers keep their open generation and switch to a newer one at their next query.

Whoosh distribution: ``whoosh-reloaded`` 2.7.5 (the 2.7.4 code base with its Python 3.12+
warnings fixed); this module uses Whoosh's segments, term index, W3 posting blocks, deletions
and atomic TOC commits, so any fork with the 2.7 file format works.
"""
from __future__ import annotations

import hashlib
import heapq
import html
import io
import json
import math
import mmap
import multiprocessing
import os
import pickle
import re
import shutil
import struct
import threading
import traceback
import zlib
from array import array
from collections import Counter, OrderedDict, defaultdict, deque
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain, repeat
from operator import add, and_, or_, rshift, sub
from pathlib import Path
from typing import Callable, Iterable, Sequence

from whoosh import fields as wfields
from whoosh import formats as wformats
from whoosh import index as windex
from whoosh.codec import default_codec
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.system import pack_ushort
from whoosh.writing import SegmentWriter

from . import analysis
from . import query as querymod
from .search import passages, ranking

__all__ = ["IndexDoc", "SearchIndex", "FORMAT_VERSION"]

#: Bump when the on-disk layout or the analysis changes; an index of another version is rebuilt.
FORMAT_VERSION = f"6-{analysis.fold_version()}"  # 6: speaker, organisation, headings; bodies one line per block (#13)  (+ the folding table's digest)
INDEXNAME = "MAIN"
_VERSION_FILE = "site_builder_index.json"

GRAM_FIELD = "g"
ID_FIELD = "id"
_META_FIELDS = ("id", "url", "title", "date", "year", "meeting_type", "themes", "fingerprint")

# Postings per W3 block (Whoosh's own writer uses 128; bigger blocks mean fewer pickles).
_BLOCK = 1024
_ZLEVEL = 3
# Documents per segment written in one go (bounds the writer's memory).
_SEGMENT_DOCS = 5000
# Below this many documents to (re)index, do it in this process; above, use worker processes.
_PARALLEL_MIN = 400
# Excerpts.
_PASSAGE = 80
_LEAD = 20
_MAX_OCC = 40  # occurrences per term considered when placing the passages
# Verify a longer term by counting first (see _TermInfo.docs) when it has this many candidates.
_PROOF_MIN = 300
# What a snapshot keeps from earlier queries: postings entries, and documents scanned for terms.
_MEMO_POSTINGS = 2_000_000
_MEMO_SCANNED = 1_000_000

_STORE_MAGIC = b"SBGT0005"
_STORE_END = b"SBGTEND1"
# The folded texts are stored as UTF-16-LE: 2 bytes per Chinese character instead of 3 in
# UTF-8 (a third less to store and to scan); a match only counts at an even offset.
_TEXT_CODEC = "utf-16-le"
_INT = struct.Struct("!i")


@dataclass(frozen=True)
class IndexDoc:
    """One speech as both indexes see it. ``body`` is its plain text, one line per block: line i is
    the block ``#p{i+1}`` of its page (``blocks.py``); ``headings`` are the numbers of the lines that
    are headings (0-based; the ranking weighs a term found in one)."""

    id: str  # source path relative to the content dir, posix
    url: str  # page path in the site
    title: str
    date: str  # "2020-03-05", "2020-03" or "2020"
    year: int
    meeting_type: str
    themes: tuple[str, ...]
    body: str  # plain text of the body (not folded)
    fingerprint: str  # changes whenever anything above or below changes
    speaker: str = ""
    organization: str = ""
    headings: tuple[int, ...] = ()


def heading_text(body: str, headings: Sequence[int]) -> str:
    """The folded text of the heading lines, separated by ``analysis.SEPARATOR`` (no term spans two)."""
    lines = body.split("\n")
    return analysis.SEPARATOR.join(analysis.fold(lines[i]) for i in headings if 0 <= i < len(lines))


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
        return sorted(
            (g.encode("utf-8", "surrogatepass"), c, 1.0, bytes((min(c, 255),)))
            for g, c in value.items()
        )

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


# --------------------------------------------------------------------------------------
# Grams (same result as analysis.grams, about twice as fast)

_BREAK = re.compile("[ \x00]")


def _grams(text: str) -> Counter:
    """``analysis.grams(text)`` for a folded search text (tested to be identical)."""
    counts = Counter(text)
    counts.update(map(add, text, text[1:]))
    if " " in text or analysis.SEPARATOR in text:
        pop = counts.pop
        for m in _BREAK.finditer(text):
            i = m.start()
            pop(text[i], None)
            if i:
                pop(text[i - 1 : i + 1], None)
            pop(text[i : i + 2], None)
    return counts


# --------------------------------------------------------------------------------------
# Writing segments

# A record is what a segment stores per document: (meta tuple, folded search text, patches):
# ``patches`` turn the folded body back into the original (see ``_patches``/``_unfold``).
Record = tuple


@lru_cache(maxsize=1)
def _changed_chars() -> tuple[re.Pattern, dict]:
    """A pattern matching every character that ``analysis.fold`` changes (and, to keep the
    pattern a fast bitmap, every character outside the BMP: those are checked one by one)."""
    table = analysis._translate_table()
    bmp = sorted(chr(k) for k, v in table.items() if v != chr(k) and k < 0x10000)
    return re.compile("[" + "".join(re.escape(c) for c in bmp) + "\U00010000-\U0010FFFF]"), table


def _patches(body: str) -> bytes:
    """The original characters of ``body`` that folding changed, with their positions
    (delta-encoded), compressed: about 1 KB per speech, a tenth of the zlib'd body. A flag
    says whether every one of them folded to exactly one character (the usual case)."""
    pattern, table = _changed_chars()
    pos = array("I")
    chars = []
    last = 0
    for m in pattern.finditer(body):
        c = m.group()
        if c >= "\U00010000" and table.get(ord(c), c) == c:
            continue
        i = m.start()
        pos.append(i - last)
        last = i
        chars.append(c)
    one_to_one = all(len(table[ord(c)]) == 1 for c in set(chars))
    return zlib.compress(
        struct.pack("<IB", len(pos), one_to_one) + pos.tobytes()
        + "".join(chars).encode(_TEXT_CODEC, "surrogatepass"),
        1,
    )


def _unfold(folded_body: str, patches: bytes) -> str:
    """The original body from its folded form and ``_patches(body)``."""
    raw = zlib.decompress(patches)
    n, one_to_one = struct.unpack_from("<IB", raw)
    if not n:
        return folded_body
    pos = array("I")
    pos.frombytes(raw[5 : 5 + 4 * n])
    chars = raw[5 + 4 * n :].decode(_TEXT_CODEC, "surrogatepass")
    if one_to_one:  # same positions in both: put the originals back in place
        buf = list(folded_body)
        deque(map(buf.__setitem__, accumulate(pos), chars), 0)
        return "".join(buf)
    fold = analysis.fold
    out = []
    fpos = opos = 0
    for oi, ch in zip(accumulate(pos), chars):
        k = oi - opos
        out.append(folded_body[fpos : fpos + k])
        out.append(ch)
        fpos += k + len(fold(ch))
        opos = oi + 1
    out.append(folded_body[fpos:])
    return "".join(out)


def _record_from_doc(doc: IndexDoc) -> Record:
    # The first len(_META_FIELDS) are also Whoosh stored fields; the rest live in the text store.
    meta = (
        doc.id,
        doc.url,
        doc.title,
        doc.date,
        int(doc.year),
        doc.meeting_type,
        tuple(doc.themes),
        doc.fingerprint,
        doc.speaker or "",
        doc.organization or "",
        heading_text(doc.body, doc.headings),
    )
    folded = analysis.search_text(doc.title, doc.body)
    return meta, folded, _patches(doc.body)


def analyse_doc(doc: IndexDoc) -> tuple[Record, Counter]:
    """Everything this index computes from one speech alone (the build calls it to find a
    speech that an update fails on)."""
    record = _record_from_doc(doc)
    record[1].encode(_TEXT_CODEC, "surrogatepass")
    pickle.dumps(record[0])
    return record, _grams(record[1])


def _store_name(segid: str) -> str:
    return f"gt_{segid}.bin"


_TERMINFO = struct.Struct("!BfIBBfII")  # W3TermInfo._struct
_EXTENT = struct.Struct("!qi")  # pack_long(offset) + pack_int(length)
_KVLEN = struct.Struct("!ii")  # filetables._lengths


class _TermWriter:
    """Appends posting lists (Whoosh W3 block format) and their term-index entries in bulk.

    Byte-for-byte what ``W3FieldWriter``/``W3PostingsWriter``/``OrderedHashWriter`` write,
    but buffered and without their per-posting and per-call overhead.
    """

    _FLUSH = 8 << 20

    def __init__(self, fw):
        self.fw = fw
        self.postfile = fw._postfile
        self.tindex = fw._tindex
        self.tfile = self.tindex.dbfile
        self.pbuf = bytearray()
        self.ppos = self.postfile.tell()
        self.tbuf = bytearray()
        self.tpos = self.tfile.tell()
        self.buckets = self.tindex.buckets
        self.fid = b""

    def start_field(self, name: str, fieldobj) -> None:
        self.fw.start_field(name, fieldobj)
        self.fid = pack_ushort(self.fw._fieldid)

    def add(self, term: bytes, docs, counts) -> None:
        pbuf = self.pbuf
        start = self.ppos + len(pbuf)
        pbuf += WHOOSH3_HEADER_MAGIC
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
            pbuf += _INT.pack(-blen if b + _BLOCK >= n else blen)
            pbuf += info
            pbuf += data
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


def _new_uint_array():
    return array("I")


def _write_segment(storage, index_dir: Path, codec, schema, records: Iterable[Record],
                   tick: Callable[[], None] | None = None):
    """Write ``records`` as one new Whoosh segment plus its text store; return the segment."""
    segment = codec.new_segment(storage, INDEXNAME)
    pdw = codec.per_document_writer(storage, segment)
    fw = codec.field_writer(storage, segment)
    fieldobjs = [schema[name] for name in _META_FIELDS]
    postings: defaultdict = defaultdict(_new_uint_array)
    ids: list[str] = []
    metas: list[tuple] = []
    titles: list[str] = []
    offsets = array("Q")
    nchars = array("I")
    final = index_dir / _store_name(segment.segment_id())
    tmp = final.with_name(final.name + ".tmp")
    n = 0
    try:
        with open(tmp, "wb") as out:
            out.write(_STORE_MAGIC)
            pos = len(_STORE_MAGIC)
            for dn, (meta, folded, patches) in enumerate(records):
                pdw.start_doc(dn)
                for name, fobj, value in zip(_META_FIELDS, fieldobjs, meta):
                    pdw.add_field(name, fobj, value, None)
                pdw.finish_doc()
                grams = _grams(folded)
                # Invert: append (docnum << 8 | count capped at 255) to each key's posting
                # array; all in C (map over bound methods), about 0.3 µs per posting.
                deque(
                    map(array.append, map(postings.__getitem__, grams.keys()),
                        map(or_, repeat(dn << 8), map(min, grams.values(), repeat(255)))),
                    0,
                )
                fb = folded.encode(_TEXT_CODEC, "surrogatepass")
                out.write(fb)
                out.write(patches)
                offsets.append(pos)
                offsets.append(pos + len(fb))
                pos += len(fb) + len(patches)
                offsets.append(pos)
                if pos & 1:  # keep every folded text at an even offset (UTF-16 code units)
                    out.write(b"\0")
                    pos += 1
                nchars.append(len(folded))
                ids.append(meta[0])
                metas.append(meta)
                titles.append(analysis.fold(meta[2]))
                n = dn + 1
                if tick is not None:
                    tick()
            footer = pickle.dumps(
                {
                    "version": FORMAT_VERSION,
                    "n": n,
                    "offsets": offsets.tobytes(),
                    "nchars": nchars.tobytes(),
                    "meta": metas,
                    "titles": titles,
                },
                protocol=pickle.HIGHEST_PROTOCOL,
            )
            out.write(footer)
            out.write(struct.pack("<Q", len(footer)))
            out.write(_STORE_END)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)

        pdw.close()
        # Postings: the gram field, then the id field (term-index keys must increase).
        tw = _TermWriter(fw)
        tw.start_field(GRAM_FIELD, schema[GRAM_FIELD])
        add_term = tw.add
        # str order is code point order, which is UTF-8 byte order.
        for key in sorted(postings):
            packed = postings[key]
            add_term(key.encode("utf-8", "surrogatepass"), list(map(rshift, packed, repeat(8))),
                     bytes(map(and_, packed, repeat(255))))
        tw.fw.finish_field()
        del postings
        tw.start_field(ID_FIELD, schema[ID_FIELD])
        for dn in sorted(range(n), key=ids.__getitem__):
            add_term(ids[dn].encode("utf-8", "surrogatepass"), [dn], None)
        tw.fw.finish_field()
        tw.close()
        segment.set_doc_count(n)
        return segment
    except BaseException:
        for f in (tmp, final):
            try:
                f.unlink()
            except OSError:
                pass
        raise


def _chunks(seq: Sequence, size: int) -> list[Sequence]:
    return [seq[i : i + size] for i in range(0, len(seq), size)] if seq else []


def _segment_docs(n: int, workers: int) -> int:
    per = -(-n // max(workers, 1))
    return max(1, min(_SEGMENT_DOCS, per))


def _planned_segments(n: int, workers: int) -> int:
    """How many segments ``_write_segments`` makes of ``n`` items (at most: the fallback after
    failed workers writes chunks of ``_SEGMENT_DOCS``, never more of them)."""
    if n <= 0:
        return 0
    if workers > 1 and n >= _PARALLEL_MIN:
        return -(-n // _segment_docs(n, workers))
    return -(-n // _SEGMENT_DOCS)


def _worker_main(index_dir: str, batches: list, queue) -> None:
    """Worker process: write each (batch number, IndexDocs or records) as one segment."""
    try:
        storage = FileStorage(index_dir)
        codec = default_codec()
        schema = _schema()
        counter = [0]

        def tick():
            counter[0] += 1
            if counter[0] % 50 == 0:
                queue.put(("progress", 50))

        for number, batch in batches:
            records = (_record_from_doc(d) if isinstance(d, IndexDoc) else d for d in batch)
            seg = _write_segment(storage, Path(index_dir), codec, schema, records, tick)
            queue.put(("segment", (number, seg)))
        queue.put(("progress", counter[0] % 50))
        queue.put(("done", None))
    except BaseException:
        queue.put(("error", traceback.format_exc()))


def _write_segments(storage, index_dir: Path, items: Sequence, progress_add: Callable[[int], None],
                    workers: int) -> list:
    """Index ``items`` (IndexDocs or records) into new segments; return them in order.

    Large jobs are split over ``workers`` processes (each writes whole segments: computing
    the grams and inverting them is pure Python, so threads would not help); Whoosh's own
    multiprocessing writer is not used (its idle workers crash, see the research notes).
    """
    if not items:
        return []
    if workers > 1 and len(items) >= _PARALLEL_MIN:
        segs = _write_segments_parallel(index_dir, items, progress_add, workers)
        if segs is not None:
            return segs
    # In this process (also the fallback when the workers could not run).
    codec = default_codec()
    schema = _schema()
    segs = []
    done = [0]

    def tick():
        done[0] += 1
        if done[0] % 50 == 0:
            progress_add(50)

    for batch in _chunks(items, _SEGMENT_DOCS):
        records = (_record_from_doc(d) if isinstance(d, IndexDoc) else d for d in batch)
        segs.append(_write_segment(storage, index_dir, codec, schema, records, tick))
    progress_add(done[0] % 50)
    return segs


def _mp_context():
    """fork when it is safe (one thread; the workers then share the texts without copying),
    else spawn."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _write_segments_parallel(index_dir: Path, items: Sequence, progress_add, workers: int):
    """Segments written by worker processes, or None if the workers failed (nothing is left
    behind then; the caller does the work itself and so reports any real error properly)."""
    batches = list(enumerate(_chunks(items, _segment_docs(len(items), workers))))
    nproc = min(workers, len(batches))
    groups = [batches[i::nproc] for i in range(nproc)]
    ctx = _mp_context()
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_worker_main, args=(str(index_dir), g, queue), daemon=True)
        for g in groups
    ]
    for p in procs:
        p.start()
    segs: dict[int, object] = {}
    pending = len(procs)
    error = None
    try:
        while pending:
            try:
                kind, value = queue.get(timeout=1.0)
            except Exception:  # queue.Empty: check that the workers are still alive
                if any(p.exitcode not in (None, 0) for p in procs):
                    error = "an indexing worker process died"
                    break
                continue
            if kind == "progress":
                progress_add(value)
            elif kind == "segment":
                segs[value[0]] = value[1]
            elif kind == "done":
                pending -= 1
            elif kind == "error":
                error = value
                break
        for p in procs:
            p.join(timeout=60)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
    if error:
        for seg in segs.values():  # written but never committed: remove the text stores
            try:
                (index_dir / _store_name(seg.segment_id())).unlink()
            except OSError:
                pass
        return None
    return [segs[i] for i in sorted(segs)]


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
    def open(cls, path: Path) -> "_Store":
        f = open(path, "rb")
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
        self.terms = reader._terms
        self.postfile = reader._terms._postfile
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
                    self.span.append(
                        (store.mm.find, store.offsets[3 * i], store.offsets[3 * i + 1]))
                base += store.n
        except BaseException:
            self.close()
            raise
        self.total_docs = base
        self.n_live = len(lengths)
        # Body lengths (folded characters), where each body starts in its store (UTF-16 units).
        self.blen = [s.store.nchars[i] - len(s.store.titles[i]) - 1 for s in self.segments for i in range(s.store.n)]
        self.bstart = [s.store.offsets[3 * i] + len(s.store.titles[i].encode(_TEXT_CODEC, "surrogatepass")) + 2
                       for s in self.segments for i in range(s.store.n)]
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
            if s.base:
                ids = map(add, ids, repeat(s.base))
            out.update(zip(ids, counts))
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


# --------------------------------------------------------------------------------------
# Query evaluation


class _TermInfo:
    __slots__ = ("term", "keys", "maps", "cand", "exact", "present", "tb", "postings", "counted")

    def __init__(self, term: str, snap: _Snapshot, cache: dict):
        self.term = term
        self.keys = analysis.term_grams(term)

        def postings(key: str) -> dict[int, int]:
            m = cache.get(key)
            if m is None:
                m = snap.postings_memo.get(key)
                if m is None:
                    m = snap.key_postings(key)
                    snap.postings_memo.put(key, m, len(m) + 1)
                cache[key] = m
            return m

        self.postings = postings
        maps = [postings(k) for k in self.keys]
        self.exact = analysis.term_is_exact(term)
        maps.sort(key=len)
        self.maps = maps
        if not maps:
            self.cand = set()
        else:
            cand = maps[0].keys()
            for m in maps[1:]:
                cand = cand & m.keys()
            self.cand = set(cand)
        self.present: set[int] = set()
        self.counted: dict[int, int] = {}  # doc → tf, for the docs _scan_and_count has seen
        self.tb = term.encode(_TEXT_CODEC, "surrogatepass")

    def docs(self, snap: _Snapshot, restrict: set[int] | None, counting: bool = False) -> set[int]:
        """The documents (within ``restrict``) that contain the term. ``counting``: the term's
        occurrences in the bodies will be needed (a positive term of an answer): a term that must
        be looked for in the texts is then counted in the same scan (see ``counts``)."""
        if self.exact:
            found = self.cand if restrict is None else (self.cand & restrict)
            self.present |= found
            return found
        cand = self.cand if restrict is None else (self.cand & restrict)
        if counting and " " not in self.term:
            return self._scan_and_count(snap, cand)
        tb = self.tb
        span = snap.span
        found = set()
        add_found = found.add
        proof = None
        if len(cand) >= _PROOF_MIN and " " not in self.term:
            # For a term without spaces, counts can prove an occurrence: with pairs
            # p1…p(n-1) and inner characters c1…c(n-2), the term occurs at least
            # Σ count(p) − Σ count(c) times (each pair occurrence shares its inner character
            # with the next; pigeonhole). Valid while no count is capped at 255. It is tried
            # on the first candidates and kept only while it spares enough scans.
            t = self.term
            proof = (
                [self.postings(t[j : j + 2]) for j in range(len(t) - 1)],
                [self.postings(t[j]) for j in range(1, len(t) - 1)],
            )
        tried = proved = 0
        for d in cand:
            if proof is not None:
                tried += 1
                excess = 0
                for m in proof[0]:
                    c = m[d]
                    if c >= 255:
                        excess = -1 << 30
                        break
                    excess += c
                for m in proof[1]:
                    c = m[d]
                    if c >= 255:
                        excess = -1 << 30
                        break
                    excess -= c
                if excess > 0:
                    proved += 1
                    add_found(d)
                    continue
                if tried == 200 and proved < 50:
                    proof = None
            find, start, end = span[d]
            j = find(tb, start, end)
            while j > 0 and j & 1:  # an odd offset straddles two UTF-16 code units
                j = find(tb, j + 1, end)
            if j >= 0:
                add_found(d)
        self.present |= found
        return found

    def _scan_and_count(self, snap: _Snapshot, cand) -> set[int]:
        """Verify and count in one scan of each candidate's text: title matches prove the term,
        body matches are its tf (kept in ``self.counted``). The snapshot remembers the scans."""
        tb, step = self.tb, len(self.tb)
        span, bstart = snap.span, snap.bstart
        memo = snap.scan_memo.get(self.term) or _Scan()
        self.counted = counted = memo.counted
        found = memo.found
        todo = [d for d in cand if d not in memo.scanned]
        for d in todo:
            find, start, end = span[d]
            body = bstart[d]
            in_title = n = 0
            j = find(tb, start, end)
            while j >= 0:
                if j & 1:  # an odd offset straddles two UTF-16 code units
                    j = find(tb, j + 1, end)
                    continue
                if j < body:
                    in_title = 1
                else:
                    n += 1
                j = find(tb, j + step, end)
            if n or in_title:
                found.add(d)
                counted[d] = n
        memo.scanned.update(todo)
        snap.scan_memo.put(self.term, memo, len(memo.scanned) + 1)
        hit = found & cand if len(found) < len(cand) else {d for d in cand if d in found}
        self.present |= hit
        return hit

    def df(self) -> int:
        """n(t) of the ranking: the fewest speeches having one of the term's keys."""
        return min((len(m) for m in self.maps), default=0)

    def counts(self, snap: "_Snapshot", hits: set[int]) -> dict[int, int]:
        """tf: the term's occurrences in the body of each hit that has the term (see search/passages)."""
        t = self.term
        present = self.present & hits if len(self.present) < len(hits) else hits & self.present
        out: dict[int, int] = {}
        if " " in t:  # a phrase with spaces: counted line by line (never across two blocks)
            fold = analysis.fold
            for d in present:
                out[d] = sum(fold(line).count(t) for line in snap.body(d).split("\n"))
            return out
        titles = snap.titles
        if self.exact and not (len(t) == 2 and t[0] == t[1]):
            # The key's count is exact and cannot overlap itself: minus the title's, unless capped.
            key_counts = self.maps[0]
            for d in present:
                c = key_counts[d]
                out[d] = c - titles[d].count(t) if c < 255 else snap.count_in_body(d, self.tb)
            return out
        counted = self.counted
        for d in present:
            c = counted.get(d)
            out[d] = c if c is not None else snap.count_in_body(d, self.tb)
        return out


_parse_year = querymod.parse_year


def _facet_dicts(hits: set[int], snap: "_Snapshot") -> dict:
    years = Counter(map(snap.years.__getitem__, hits))
    types = Counter(map(snap.types.__getitem__, hits))
    types.pop("", None)
    themes = Counter(chain.from_iterable(map(snap.themes.__getitem__, hits)))
    speakers = Counter(map(snap.speakers.__getitem__, hits))
    orgs = Counter(map(snap.orgs.__getitem__, hits))
    for c in (speakers, orgs):
        c.pop("", None)

    def by_count(c: Counter) -> dict:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return {
        "year": {str(y): years[y] for y in sorted(years, reverse=True)},
        "meeting_type": by_count(types),
        "theme": by_count(themes),
        "speaker": by_count(speakers),
        "organization": by_count(orgs),
    }


# --------------------------------------------------------------------------------------
# Excerpts


def _excerpt(body: str, folded_body: str, terms: Sequence[str]) -> str:
    """Up to two ~80-character passages of ``body`` with the matched characters marked."""
    if analysis.folds_one_to_one(body, folded_body):
        offsets = None
    else:
        folded_body, offsets = analysis.fold_with_offsets(body)
    n = len(folded_body)
    terms = [t for t in terms if t]
    occ: list[tuple[int, int, int]] = []  # (start, end, term index), the first few per term
    for ti, t in enumerate(terms):
        i = folded_body.find(t)
        k = 0
        while i >= 0 and k < _MAX_OCC:
            occ.append((i, i + len(t), ti))
            i = folded_body.find(t, i + 1)
            k += 1
    if not occ:
        end = min(n, _PASSAGE)
        return _render(body, folded_body, offsets, terms, [(0, end)])
    occ.sort()
    windows: list[tuple[int, int]] = []
    covered: set[int] = set()
    for _ in range(2):
        best = None
        # A window starts _LEAD characters before an occurrence; prefer windows that show
        # terms not shown yet, then more distinct terms, then the earliest.
        for i, (s, _e, _t) in enumerate(occ):
            ws = max(0, s - _LEAD)
            we = min(n, ws + _PASSAGE)
            if any(ws < b and a < we for a, b in windows):
                continue
            terms_in = set()
            for j in range(i, len(occ)):
                s2, e2, t2 = occ[j]
                if s2 >= we:
                    break
                if e2 <= we:
                    terms_in.add(t2)
            score = (len(terms_in - covered), len(terms_in))
            if best is None or score > best[0]:
                best = (score, ws, we, terms_in)
        if best is None:
            break
        ws, we = _extend(folded_body, terms, best[1], best[2])
        if any(ws < b and a < we for a, b in windows):
            break
        windows.append((ws, we))
        covered |= best[3]
    windows.sort()
    return _render(body, folded_body, offsets, terms, windows)


def _extend(folded: str, terms: Sequence[str], ws: int, we: int) -> tuple[int, int]:
    """Grow [ws, we) so that no occurrence of a term is cut by its edges."""
    changed = True
    while changed:
        changed = False
        for t in terms:
            L = len(t)
            # an occurrence starting in (ws - L, ws) that ends after ws
            i = folded.find(t, max(0, ws - L + 1), ws + L - 1)
            if 0 <= i < ws:
                ws = i
                changed = True
            # an occurrence starting in (we - L, we) that ends after we
            i = folded.find(t, max(0, we - L + 1), we + L - 1)
            while 0 <= i < we:
                if i + L > we:
                    we = i + L
                    changed = True
                    break
                i = folded.find(t, i + 1, we + L - 1)
    return ws, we


_WS = re.compile(r"\s")


def _render(body, folded, offsets, terms, windows) -> str:
    parts = []
    n = len(folded)
    for ws, we in windows:
        spans = []
        for t in terms:
            L = len(t)
            i = folded.find(t, ws, we)
            while i >= 0:
                spans.append((i, i + L))
                i = folded.find(t, i + 1, we)
        spans.sort()
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        o = (lambda x: x) if offsets is None else offsets.__getitem__
        out = ["…" if ws > 0 else ""]
        cur = ws
        for a, b in merged:
            if o(a) == o(b):  # inside one character that folded to several: nothing to mark
                continue
            out.append(_esc(body[o(cur) : o(a)]))
            out.append("<mark>" + _esc(body[o(a) : o(b)]) + "</mark>")
            cur = b
        out.append(_esc(body[o(cur) : o(we)]))
        if we < n:
            out.append("…")
        parts.append("".join(out))
    return " ".join(parts)


def _esc(s: str) -> str:
    return html.escape(_WS.sub(" ", s), quote=False)


# --------------------------------------------------------------------------------------
# The index


class _Writer(SegmentWriter):
    """Whoosh's SegmentWriter for the lock, deletions and the atomic TOC commit.

    Documents are not added through ``add_document`` (slow per-token path) but written as
    whole segments by ``_write_segment``; ``commit_segments`` then publishes them.
    """

    def commit_segments(self, segments: list, after_commit: Callable[[list], None]) -> None:
        self._check_state()
        self._close_segment()  # the writer's own (unused) segment
        self._commit_toc(segments)
        try:
            after_commit(segments)  # still holding the write lock
        finally:
            self._finish()


class SearchIndex:
    """Whoosh index of the archive: ``update()`` at build time, ``search()`` at query time."""

    def __init__(self, index_dir: Path, *, workers: int | None = None):
        self.index_dir = Path(index_dir)
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()

    # -- state

    def exists(self) -> bool:
        """A complete index is here: its version file, written after the first update that
        finished (a first build killed half-way leaves none, so it is not answered from)."""
        d = self.index_dir
        if not d.is_dir():
            return False
        try:
            info = json.loads((d / _VERSION_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return False
        return info.get("format") == FORMAT_VERSION and windex.exists_in(str(d), INDEXNAME)

    def close(self) -> None:
        with self._lock:
            if self._snap is not None:
                self._snap.close()
                self._snap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing

    def _prepare_dir(self) -> None:
        d = self.index_dir
        if d.is_dir() and any(d.iterdir()) and not self.exists():
            # Another format (or a damaged index): start again — but only in a folder that
            # holds nothing except an index (never wipe a folder given by mistake).
            ours = re.compile(r"(_?MAIN[_.].*|gt_.*|site_builder_index\.json(\.tmp)?)")
            strangers = [p.name for p in d.iterdir() if not ours.fullmatch(p.name)]
            if strangers:
                raise FileExistsError(
                    f"{d} is not empty and does not hold a search index "
                    f"(found {strangers[0]!r}); choose an empty folder for the index"
                )
            shutil.rmtree(d)
        d.mkdir(parents=True, exist_ok=True)
        if not windex.exists_in(str(d), INDEXNAME):
            windex.create_in(str(d), _schema(), indexname=INDEXNAME)

    def _mark_complete(self) -> None:
        """Written last, once: until then ``exists()`` is False ("no search index, build first")."""
        path = self.index_dir / _VERSION_FILE
        if not path.exists():
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"format": FORMAT_VERSION}))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)

    def update(self, docs: Sequence[IndexDoc], progress: Callable[[int], None] | None = None) -> dict:
        """Make the index hold exactly `docs` (the full current set): add new, re-index changed (fingerprint), delete missing. Returns {"added": n, "updated": n, "removed": n, "unchanged": n}.

        ``progress`` is called with the number of documents (re)indexed so far.
        """
        docs = list(docs)
        by_id: dict[str, IndexDoc] = {}
        for d in docs:
            if not isinstance(d, IndexDoc):
                raise TypeError(f"update() takes IndexDoc objects, not {type(d).__name__}")
            if d.id in by_id:
                raise ValueError(f"two documents have the same id {d.id!r}")
            by_id[d.id] = d
        self._prepare_dir()
        storage = FileStorage(str(self.index_dir))
        ix = windex.FileIndex(storage, indexname=INDEXNAME)
        try:
            writer = _Writer(ix, timeout=60.0, compound=False)
        except windex.LockError:
            raise RuntimeError(
                f"the search index in {self.index_dir} is being updated by another process "
                f"(waited 60 s); try again when that build has finished"
            ) from None
        done = [0]
        todo = [len(docs)]  # set below; progress never reports more than this

        def progress_add(k: int) -> None:
            if k:
                done[0] += k
                if progress is not None:
                    progress(min(done[0], todo[0]))

        try:
            self._clean_stores(writer.segments)
            stores = {}
            current: dict[str, tuple[str, object, int]] = {}  # id → (fingerprint, seg, local)
            try:
                try:
                    for seg in writer.segments:
                        st = _Store.open(self.index_dir / _store_name(seg.segment_id()))
                        stores[seg.segment_id()] = st
                        for i, m in enumerate(st.meta):
                            if not seg.is_deleted(i):
                                current[m[0]] = (m[7], seg, i)
                except (OSError, ValueError, EOFError, pickle.UnpicklingError):
                    current = {}  # a damaged index: rebuild it from scratch below
                added = [d for d in docs if d.id not in current]
                changed = [d for d in docs if d.id in current and current[d.id][0] != d.fingerprint]
                removed = [i for i in current if i not in by_id]
                stats = {
                    "added": len(added),
                    "updated": len(changed),
                    "removed": len(removed),
                    "unchanged": len(docs) - len(added) - len(changed),
                }
                if not added and not changed and not removed:
                    writer.cancel()
                    self._mark_complete()  # e.g. the first build of an archive with no speech
                    return stats
                n_change = len(added) + len(changed) + len(removed)
                todo[0] = len(added) + len(changed)
                if not current or n_change * 2 >= max(len(docs), len(current)):
                    # Mostly new: write everything afresh (in parallel) and drop the old segments.
                    todo[0] = len(docs)
                    segs = _write_segments(storage, self.index_dir, docs, progress_add, self.workers)
                    writer.commit_segments(segs, self._clean_stores)
                else:
                    for doc_id in chain((d.id for d in changed), removed):
                        writer.delete_by_term(ID_FIELD, doc_id)
                    new = _write_segments(
                        storage, self.index_dir, added + changed, progress_add, self.workers
                    )
                    segs = self._merge(storage, writer.segments + new, stores)
                    writer.commit_segments(segs, self._clean_stores)
            finally:
                for st in stores.values():
                    st.close()
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        self._mark_complete()
        return stats

    def _merge(self, storage, segs: list, stores: dict) -> list:
        """Log-structured merging: rewrite segments that are mostly deleted, and merge any
        four or more segments of the same size tier (powers of 4 of their live documents)
        when that gives fewer segments.

        It terminates: a rewrite of mostly-deleted segments lowers the number of deleted
        documents (its output has none), and a tier merge never raises it and lowers the number
        of segments. Merging without that last condition looped for ever once four segments of
        ``_SEGMENT_DOCS`` documents (an archive of 20,000) shared a tier: merged, they were
        written back as four segments of ``_SEGMENT_DOCS`` (issue #15)."""
        segs = [s for s in segs if s.doc_count_all() - s.deleted_count() > 0]

        def live(s):
            return s.doc_count_all() - s.deleted_count()

        def store(s):
            sid = s.segment_id()
            if sid not in stores:
                stores[sid] = _Store.open(self.index_dir / _store_name(sid))
            return stores[sid]

        while True:
            group = [s for s in segs if s.deleted_count() > live(s)]
            if not group:
                tiers = defaultdict(list)
                for s in segs:
                    tiers[int(math.log(max(live(s), 1), 4))].append(s)
                group = next((g for _t, g in sorted(tiers.items())
                              if len(g) >= 4 and _planned_segments(sum(map(live, g)), self.workers) < len(g)), [])
            if not group:
                return segs
            records = []
            for s in group:
                st = store(s)
                records.extend(st.record(i) for i in range(st.n) if not s.is_deleted(i))
            merged = _write_segments(storage, self.index_dir, records, lambda k: None, self.workers)
            gid = {s.segment_id() for s in group}
            pos = min(i for i, s in enumerate(segs) if s.segment_id() in gid)
            rest = [s for s in segs if s.segment_id() not in gid]
            segs = rest[:pos] + merged + rest[pos:]

    def _clean_stores(self, segments) -> None:
        keep = {_store_name(s.segment_id()) for s in segments}
        for p in self.index_dir.glob("gt_*.bin*"):
            if p.name not in keep:
                try:
                    p.unlink()
                except OSError:
                    pass

    # -- searching

    def _snapshot(self) -> _Snapshot:
        """The open snapshot, reopened when a newer generation has been committed."""
        if self._snap is not None:
            try:
                gen = windex.TOC._latest_generation(
                    FileStorage(str(self.index_dir), readonly=True), INDEXNAME)
            except OSError:
                gen = None
            if gen == self._snap.generation:
                return self._snap
        if not self.exists():
            raise FileNotFoundError(
                f"no search index in {self.index_dir}: run `site-builder build` first"
            )
        last_error = None
        for _attempt in range(5):
            try:
                snap = _Snapshot(self.index_dir)
                break
            except (OSError, ValueError, EOFError) as e:  # a commit raced with us: retry
                last_error = e
        else:
            raise last_error  # type: ignore[misc]
        if self._snap is not None:
            self._snap.close()
        self._snap = snap
        return snap

    def search(self, query: str, *, year: str | None = None, meeting_type: str | None = None,
               theme: str | None = None, speaker: str | None = None, organization: str | None = None,
               limit: int = 10, offset: int = 0, sort: str = "relevance", kwic: bool = False) -> dict:
        """The answer as JSON-able data (see the module docstring). Raises query.QueryError for a
        malformed query and query.FilterError (a ValueError) for a bad year or sort."""
        parsed = querymod.parse(query)
        years = querymod.parse_year(year)
        if sort not in ranking.SORTS:
            raise querymod.FilterError(f"排序只能是 relevance、newest 或 oldest，而不是“{sort}”", "bad_sort")
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a whole number ≥ 0, not {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a whole number ≥ 0, not {offset!r}")
        filters = _Filters(years, meeting_type, theme, speaker, organization)
        with self._lock:
            snap = self._snapshot()
            with snap.lock:
                hits, infos = self._hits(snap, parsed, filters)
                result = _Answer(snap, parsed, hits, infos, filters, sort).result(limit, offset, kwic)
                if not hits:
                    alt = parsed.despaced()
                    found = len(self._hits(snap, alt, filters, counting=False)[0]) if alt is not None else 0
                    if found:
                        result["suggestion"] = {"query": alt.raw, "total": found,
                                                "message": f"去掉空格后找到 {found} 篇"}
                return result

    def _hits(self, snap: _Snapshot, parsed, filters: "_Filters", counting: bool = True) -> tuple[set[int], dict]:
        """The speeches that match the query and pass the filters, and what was learnt of each term."""
        cache: dict[str, dict] = {}
        infos: dict[str, _TermInfo] = {}

        def info(t: str) -> _TermInfo:
            ti = infos.get(t)
            if ti is None:
                ti = infos[t] = _TermInfo(t, snap, cache)
            return ti

        groups = [[info(t) for t in g] for g in parsed.groups]
        # Cheap groups first (only exact terms: no verification), then the smallest; later
        # groups verify only within the hits so far.
        groups.sort(key=lambda g: (not all(ti.exact for ti in g), sum(len(ti.cand) for ti in g)))
        hits: set[int] | None = None
        for g in groups:
            found: set[int] = set()
            for ti in g:
                found |= ti.docs(snap, hits, counting)
            hits = found if hits is None else (hits & found)
            if not hits:
                break
        hits = hits or set()
        for t in parsed.excluded:
            if not hits:
                break
            hits -= info(t).docs(snap, hits)
        return filters.apply(snap, hits), infos


class _Filters:
    def __init__(self, years, meeting_type, theme, speaker, organization):
        self.years = years
        self.values = [(v, name) for v, name in ((meeting_type, "by_type"), (theme, "by_theme"),
                                                  (speaker, "by_speaker"), (organization, "by_org")) if v is not None]

    def in_years(self, y: int) -> bool:
        return self.years is None or self.years[0] <= y <= self.years[1]

    def others(self, snap: _Snapshot) -> set[int] | None:
        """The speeches that pass the filters other than the year (None: no such filter)."""
        allowed: set[int] | None = None
        for value, name in self.values:
            docs = getattr(snap, name).get(value, set())
            allowed = set(docs) if allowed is None else allowed & docs
        return allowed

    def apply(self, snap: _Snapshot, hits: set[int]) -> set[int]:
        if self.years is not None:
            years = snap.years
            hits = {d for d in hits if self.in_years(years[d])}
        allowed = self.others(snap)
        return hits if allowed is None else hits & allowed


class _Answer:
    """Everything computed from one hit set: counts, scores, order, the page, facets and trend."""

    def __init__(self, snap: _Snapshot, parsed, hits: set[int], infos: dict, filters: _Filters, sort: str):
        self.snap, self.parsed, self.hits, self.filters, self.sort = snap, parsed, hits, filters, sort
        self.terms = [infos[t] for t in parsed.terms if t in infos]
        self.tfs = {ti.term: ti.counts(snap, hits) for ti in self.terms} if hits else {}
        self.occ = self._occurrences()
        self.scores = self._scores()

    def _occurrences(self) -> dict[int, int]:
        terms = [ti.term for ti in self.terms]
        if len(terms) == 1:
            return self.tfs[terms[0]] if self.hits else {}
        occ: dict[int, int] = Counter()
        for t in terms:
            for d, c in self.tfs.get(t, {}).items():
                occ[d] += c
        if passages.may_overlap(terms):  # matches of different terms may overlap: count them together
            fold = analysis.fold
            for d in [d for d in occ if sum(1 for t in terms if self.tfs.get(t, {}).get(d)) > 1]:
                occ[d] = passages.count_in_lines([fold(x) for x in self.snap.body(d).split("\n")], terms)
        return occ

    def _scores(self) -> dict[int, float]:
        snap, hits = self.snap, self.hits
        scores = dict.fromkeys(hits, 0.0)
        n_docs = max(snap.n_live, 1)
        norm, titles, heads = snap.norm, snap.titles, snap.heads
        term_score = ranking.term_score
        for ti in self.terms:
            w = ranking.idf(n_docs, ti.df())
            t = ti.term
            tfs = self.tfs.get(t, {})
            for d in hits:
                tf = tfs.get(d, 0)
                in_title = t in titles[d]
                in_heading = t in heads[d]
                if tf or in_title or in_heading:
                    scores[d] += w * term_score(tf, norm[d], in_title, in_heading)
        return scores

    def order(self, k: int | None = None) -> list[int]:
        """The hits in answer order (only the first ``k`` when given)."""
        datekey, meta, scores = self.snap.datekey, self.snap.meta, self.scores
        if self.sort == "newest":
            def key(d):
                return (-datekey[d], meta[d][0])
        elif self.sort == "oldest":
            def key(d):
                return (datekey[d], meta[d][0])
        else:
            def key(d):
                return (-round(scores[d], 6), -datekey[d], meta[d][0])
        if k is not None and k < len(self.hits):
            return heapq.nsmallest(k, self.hits, key=key)
        return sorted(self.hits, key=key)

    def trend(self) -> list[dict]:
        snap, f = self.snap, self.filters
        years = snap.years
        hits_by_year: Counter = Counter()
        occ_by_year: Counter = Counter()
        for d in self.hits:
            hits_by_year[years[d]] += 1
            occ_by_year[years[d]] += self.occ.get(d, 0)
        allowed = f.others(snap)
        if allowed is None:
            chars = snap.chars_by_year
        else:
            chars = Counter()
            for d in allowed:
                chars[years[d]] += snap.blen[d]
        in_range = [y for y in snap.by_year if snap.by_year[y] and f.in_years(y)]
        return passages.trend_rows(in_range, hits_by_year, occ_by_year, chars)

    def result(self, limit: int, offset: int, kwic: bool) -> dict:
        out = {"query": self.parsed.raw, "total": len(self.hits),
               "occurrences_total": sum(self.occ.values()), "sort": self.sort, "offset": offset}
        if kwic:
            out["occurrences"] = self.kwic(limit, offset)
        else:
            out["hits"] = [self.hit(d) for d in self.order(offset + limit)[offset:]] if limit else []
        out["facets"] = _facet_dicts(self.hits, self.snap)
        out["trend"] = self.trend()
        return out

    def hit(self, d: int) -> dict:
        m = self.snap.meta[d]
        store, i = self.snap.loc[d]
        folded_body = store.folded_body(i)
        return {
            "source": m[0], "url": m[1], "title": m[2], "date": m[3], "year": m[4], "meeting_type": m[5],
            "themes": list(m[6]), "speaker": m[8], "organization": m[9],
            "score": round(self.scores.get(d, 0.0), 4), "occurrences": self.occ.get(d, 0),
            "excerpt": _excerpt(_unfold(folded_body, store.patches(i)), folded_body, self.parsed.terms),
        }

    def kwic(self, limit: int, offset: int) -> list[dict]:
        rows: list[dict] = []
        if not limit:
            return rows
        skip = offset
        terms = [ti.term for ti in self.terms]
        for d in self.order():
            count = self.occ.get(d, 0)
            if skip >= count:
                skip -= count
                continue
            m = self.snap.meta[d]
            for line, left, match, right in passages.kwic_rows(self.snap.body(d), terms, skip, limit - len(rows)):
                rows.append({"source": m[0], "url": f"{m[1]}#p{line + 1}", "title": m[2], "date": m[3],
                             "left": left, "match": match, "right": right})
            skip = 0
            if len(rows) >= limit:
                break
        return rows
