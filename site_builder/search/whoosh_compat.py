"""Whoosh's private internals, in one place (#12).

The index writes Whoosh's segments in bulk and reads its posting blocks directly (see
``whoosh_segments`` and ``whoosh_snapshot``); for that it needs a few of Whoosh's private names and
two of its binary layouts. Every such use is here, and only here: ``PRIVATE_NAMES`` lists them and
``tests/test_search_index.py::test_whoosh_private_names_still_exist`` checks them against the
installed Whoosh, so a version that renames or changes one fails that test, not a build.

Known to work: ``whoosh-reloaded`` 2.7.5 (the 2.7.4 code base), file format 2.7 (codec W3).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from whoosh import index as windex
from whoosh.writing import SegmentWriter

#: Where each private name lives: (module, class or None for the module itself, names).
PRIVATE_NAMES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("whoosh.writing", "SegmentWriter", ("_check_state", "_close_segment", "_commit_toc", "_finish")),
    ("whoosh.index", "TOC", ("_latest_generation",)),
    ("whoosh.codec.whoosh3", "W3TermInfo", ("_struct",)),
    ("whoosh.filedb.filetables", None, ("_lengths",)),
)
#: Attributes set on instances (checked on a real field writer and segment reader by the test).
FIELD_WRITER_ATTRIBUTES = ("_postfile", "_tindex", "_fieldid")
READER_ATTRIBUTES = ("_terms",)
#: Public but undocumented attributes of the field writer's term index (an OrderedHashWriter) that
#: the bulk writer appends to directly.
TERM_INDEX_ATTRIBUTES = ("dbfile", "buckets", "index", "lastkey")
TERMS_READER_ATTRIBUTES = ("_postfile",)

#: A term-index entry's info (``W3TermInfo._struct``) and the lengths before each key and value of an
#: ordered hash table (``filetables._lengths``), as the bulk writer packs them.
TERMINFO = struct.Struct("!BfIBBfII")
KVLEN = struct.Struct("!ii")


def field_writer_files(fw) -> tuple:
    """(postings file, term index) of a W3 field writer."""
    return fw._postfile, fw._tindex


def field_id(fw) -> int:
    """The number of the field a W3 field writer is writing (after ``start_field``)."""
    return fw._fieldid


def reader_terms(reader) -> tuple:
    """(terms reader, postings file) of a segment reader."""
    return reader._terms, reader._terms._postfile


def latest_generation(storage, indexname: str) -> int:
    """The generation of the newest TOC in ``storage`` (without reading it)."""
    return windex.TOC._latest_generation(storage, indexname)


class CommitWriter(SegmentWriter):
    """Whoosh's SegmentWriter for the lock, deletions and the atomic TOC commit.

    Documents are not added through ``add_document`` (slow per-token path) but written as
    whole segments by ``whoosh_segments._write_segment``; ``commit_segments`` then publishes them.
    """

    def commit_segments(self, segments: list, after_commit: Callable[[list], None]) -> None:
        self._check_state()
        self._close_segment()  # the writer's own (unused) segment
        self._commit_toc(segments)
        try:
            after_commit(segments)  # still holding the write lock
        finally:
            self._finish()
