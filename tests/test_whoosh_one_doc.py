"""A one-document segment (one changed speech, #15): its postings' blocks are made once per (doc,
count) and kept for the next term (``whoosh_segments._TermWriter``), with the bytes of blocks made
one by one."""

from __future__ import annotations

from pathlib import Path

from test_search_index import make_docs

from site_builder.search import whoosh_segments
from site_builder.search.whoosh_index import SearchIndex


def _segment_files(index_dir: Path) -> dict[str, bytes]:
    """The postings and term files of the index's segments, by kind (their names are random)."""
    return {p.suffix: p.read_bytes() for p in sorted(index_dir.glob("*_*.*")) if p.suffix in (".pst", ".trm")}


def _one_doc_index(tmp_path: Path, name: str) -> dict[str, bytes]:
    ix = SearchIndex(tmp_path / name, workers=1)
    ix.update(make_docs()[:1])
    ix.close()
    return _segment_files(tmp_path / name)


def test_one_doc_postings_made_once_per_count_with_the_same_bytes(tmp_path, monkeypatch):
    made = []
    real = whoosh_segments._blocks
    monkeypatch.setattr(whoosh_segments, "_blocks", lambda docs, counts: made.append(1) or real(docs, counts))
    kept = _one_doc_index(tmp_path, "kept")
    terms = len(made)
    assert kept and set(kept) == {".pst", ".trm"}
    made.clear()
    monkeypatch.setattr(whoosh_segments._TermWriter, "ONES", 0)  # nothing kept: every term's blocks made
    one_by_one = _one_doc_index(tmp_path, "one_by_one")
    assert kept == one_by_one
    assert terms < len(made) / 10, (terms, len(made))  # (a term's count is one of few values)
