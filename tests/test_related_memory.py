"""Related speeches in bounded memory: texts read a chunk at a time, keywords as numbered words in
flat arrays kept between builds, scores over sparse blocks; always the same answers."""

from __future__ import annotations

import dataclasses
import random
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from site_builder import related, related_scores
from site_builder.search.whoosh_index import IndexDoc

WORDS = [f"词语{chr(0x4E00 + i)}{chr(0x4E80 + i * 7 % 500)}" for i in range(600)]


def _doc(i: int, rnd: random.Random, words: list[str] | None = None) -> IndexDoc:
    pool = words or WORDS
    picked = rnd.choices(pool[: 60 + i % 400], k=80)
    body = "，".join(picked) + "。"
    return IndexDoc(
        id=f"{i:04d}.md",
        url=f"s/{i}.html",
        title=f"讲话{pool[i % len(pool)]}",
        date="2020",
        year=2020,
        meeting_type="",
        themes=(),
        body=body,
        fingerprint=f"fp{i}-{len(body)}",
    )


@pytest.fixture(scope="module")
def docs():
    rnd = random.Random(7)
    return [_doc(i, rnd) for i in range(150)]


@pytest.fixture(scope="module")
def fresh(docs):
    return related.compute_related(docs, k=5, workers=1)


class _Counted:
    """A doc whose text read is recorded (``reads``) in order."""

    def __init__(self, doc: IndexDoc, reads: list[str]):
        self._doc, self._reads = doc, reads
        self.id, self.title, self.fingerprint = doc.id, doc.title, doc.fingerprint

    @property
    def body(self) -> str:
        self._reads.append(self.id)
        return self._doc.body


class _Pool:
    """A stand-in for the worker pool: the work done here, at once; or broken."""

    def __init__(self, broken: bool = False):
        self.broken = broken

    def submit(self, fn, *args):
        if self.broken:
            raise BrokenProcessPool("gone")
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("limit", [("BATCH_DOCS", 10, 10), ("BATCH_CHARS", 1500, 5)])
def test_texts_are_read_a_batch_at_a_time(docs, fresh, monkeypatch, limit):
    name, value, most = limit
    reads: list[str] = []
    monkeypatch.setattr(related, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(related, name, value)
    monkeypatch.setattr(related, "process_pool", lambda workers, **kw: _Pool())
    answered: list[int] = []
    real = related._number

    def numbering(packed, vocab, index):
        def watched():
            for item in packed:
                answered.append(len(reads))
                yield item

        return real(watched(), vocab, index)

    monkeypatch.setattr(related, "_number", numbering)
    got = related.compute_related([_Counted(d, reads) for d in docs], k=5, workers=2)
    assert got == fresh
    assert sorted(reads) == [d.id for d in docs]  # each text read once
    # When a speech's answer is taken, at most one batch of texts has been read ahead of it.
    assert max(r - i for i, r in enumerate(answered)) <= most, answered
    assert max(r - i for i, r in enumerate(answered)) >= 2  # read in batches, not one by one


def test_a_broken_pool_leaves_the_batch_to_this_process(docs, fresh, monkeypatch):
    monkeypatch.setattr(related, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(related, "BATCH_DOCS", 30)
    monkeypatch.setattr(related, "process_pool", lambda workers, **kw: _Pool(broken=True))
    assert related.compute_related(docs, k=5, workers=2) == fresh


def test_real_workers_with_small_batches_equal_serial(docs, fresh, monkeypatch):
    monkeypatch.setattr(related, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(related, "BATCH_DOCS", 40)
    assert related.compute_related(docs, k=5, workers=2) == fresh


def test_slices_and_blocks_do_not_change_the_answers(docs, fresh, monkeypatch):
    monkeypatch.setattr(related_scores, "BLOCK", 7)
    monkeypatch.setattr(related_scores, "SLICE_ENTRIES", 333)
    assert related.compute_related(docs, k=5, workers=1) == fresh
    monkeypatch.setattr(related_scores, "BLOCK", 1)
    monkeypatch.setattr(related_scores, "SLICE_ENTRIES", 1)
    assert related.compute_related(docs, k=5, workers=1) == fresh


def test_constants_agree():
    assert (related.VECTOR, related.POSTINGS) == (related_scores.VECTOR, related_scores.POSTINGS)


def test_cached_builds_equal_fresh_ones_through_adds_removals_and_edits(docs, tmp_path):
    rnd = random.Random(9)
    current = list(docs)
    for step in range(8):
        if step % 4 == 0:
            current.append(_doc(500 + step, rnd))  # added
        elif step % 4 == 1:
            current.pop(rnd.randrange(len(current)))  # removed
        elif step % 4 == 2:
            j = rnd.randrange(len(current))
            current[j] = dataclasses.replace(
                current[j], body=current[j].body + "乡村振兴，乡村振兴。", fingerprint=f"e{step}"
            )
        else:
            j = rnd.randrange(len(current))
            current[j] = _doc(int(current[j].id[:4]), random.Random(step))  # rewritten
            current[j] = dataclasses.replace(current[j], fingerprint=f"r{step}")
        got = related.compute_related(current, k=5, cache_dir=tmp_path, workers=1)
        assert got == related.compute_related(current, k=5, workers=1), step
    assert [p.name for p in tmp_path.iterdir()] == [related._CACHE_FILE]


def test_unused_words_are_dropped_from_the_kept_vocabulary(tmp_path, monkeypatch):
    monkeypatch.setattr(related, "_VOCAB_SLACK", 0)
    rnd = random.Random(4)
    first = [_doc(i, rnd) for i in range(60)]
    related.compute_related(first, k=3, cache_dir=tmp_path, workers=1)
    before = len(related._load_cache(tmp_path).table.vocab)
    # Every speech rewritten with other words: the old ones are no longer used by any.
    other = [f"新的{chr(0x5000 + i)}{chr(0x5200 + i)}" for i in range(1500)]
    second = [dataclasses.replace(_doc(i, rnd, other), fingerprint=f"n{i}") for i in range(60)]
    second[:40] = [dataclasses.replace(_doc(i, rnd), fingerprint=f"o{i}") for i in range(40)]
    related.compute_related(second, k=3, cache_dir=tmp_path, workers=1)
    assert len(related._load_cache(tmp_path).table.vocab) > before  # both kinds of words in use
    third = [dataclasses.replace(_doc(i, rnd, other), fingerprint=f"m{i}") for i in range(60)]
    got = related.compute_related(third, k=3, cache_dir=tmp_path, workers=1)
    stored = related._load_cache(tmp_path)
    used = np.unique(stored.table.words)
    assert len(stored.table.vocab) == len(used) < before  # renumbered: the first words are gone
    assert set(stored.table.vocab) == {w for d in third for w, _ in related.doc_keywords(d.title, d.body)}
    assert got == related.compute_related(third, k=3, workers=1)
    # and the stored state still rescores an edit correctly after the renumbering
    third[5] = dataclasses.replace(third[5], body=third[5].body + third[6].body, fingerprint="x")
    assert related.compute_related(third, k=3, cache_dir=tmp_path, workers=1) == related.compute_related(
        third, k=3, workers=1
    )


def test_a_damaged_or_truncated_cache_is_ignored(docs, fresh, tmp_path):
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    path = tmp_path / related._CACHE_FILE
    data = path.read_bytes()
    for broken in (data[: len(data) // 2], data[:-10], b"", data[:40]):
        path.write_bytes(broken)
        assert related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1) == fresh
    assert related._load_cache(tmp_path) is not None  # written again whole


def test_an_older_cache_file_is_removed(docs, fresh, tmp_path):
    (tmp_path / "keywords.pickle").write_bytes(b"old")
    assert related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1) == fresh
    assert not (tmp_path / "keywords.pickle").exists()
