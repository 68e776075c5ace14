"""related_early: the new speeches' words segmented in a forked child while the reuse stage runs
(#15). The related lists equal those made without it, the child's words are used (this process
segments nothing), and a child that dies or is not waited for changes nothing but the time."""

from __future__ import annotations

import dataclasses
import os
import random

import pytest
from test_related import TOPICS, make

from site_builder import related, related_early, workers


@pytest.fixture
def forking(monkeypatch):
    """As in a fresh CLI process: rjieba not imported yet, forking allowed."""
    if not workers.can_fork() or (os.cpu_count() or 1) < 2:
        pytest.skip("this machine cannot fork a child beside the build")
    monkeypatch.delenv("SITE_BUILDER_NO_FORK", raising=False)
    monkeypatch.setattr(related_early, "_segmenter_loaded", lambda: False)


def _docs() -> list:
    rnd = random.Random(7)
    topics = list(TOPICS)
    return [make(i, topics[i % 4], rnd) for i in range(60)]


def _changed(docs: list) -> list:
    out = list(docs)
    out[5] = dataclasses.replace(docs[5], body=docs[5].body + "安全生产隐患排查", fingerprint="changed-5")
    rnd = random.Random(8)
    out.append(make(99, "village", rnd, "乡村振兴合作社"))
    return out


def _no_segmenting_here(monkeypatch) -> list:
    """Record every speech this process segments (the child, forked before, is not patched)."""
    calls: list[str] = []
    real = related.doc_keywords

    def counting(title, body, n=related.CANDIDATES):
        calls.append(title)
        return real(title, body, n)

    monkeypatch.setattr(related, "doc_keywords", counting)
    return calls


def test_the_childs_words_are_used_and_the_lists_equal_a_clean_run(tmp_path, forking, monkeypatch):
    docs = _docs()
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    now = _changed(docs)
    early = related_early.EarlyKeywords(now, tmp_path)
    assert early.pid is not None and early.keys == [(now[5].id, "changed-5"), (now[-1].id, now[-1].fingerprint)]
    calls = _no_segmenting_here(monkeypatch)
    got = related.compute_related(now, k=5, cache_dir=tmp_path, workers=1, early=early)
    assert calls == []  # both new speeches' words came from the child
    assert early.pid is None  # waited for
    monkeypatch.undo()
    assert got == related.compute_related(now, k=5)


def test_a_child_that_dies_changes_nothing_but_the_time(tmp_path, forking, monkeypatch):
    docs = _docs()
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    now = _changed(docs)
    monkeypatch.setattr(related_early, "_child_work", lambda pairs: os._exit(3))
    early = related_early.EarlyKeywords(now, tmp_path)
    assert early.pid is not None
    calls = _no_segmenting_here(monkeypatch)
    got = related.compute_related(now, k=5, cache_dir=tmp_path, workers=1, early=early)
    assert sorted(calls) == sorted([now[5].title, now[-1].title])  # segmented here instead
    monkeypatch.undo()
    assert got == related.compute_related(now, k=5)


def test_a_child_not_waited_for_is_reaped(tmp_path, forking):
    docs = _docs()
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    early = related_early.EarlyKeywords(_changed(docs), tmp_path)
    pid = early.pid
    assert pid is not None
    early.close()  # the build stopped before the related stage
    assert early.pid is None and early.take() == {}
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left


def test_nothing_forked_when_nothing_is_new_or_too_much_is(tmp_path, forking, monkeypatch):
    docs = _docs()
    assert related_early.EarlyKeywords(docs, tmp_path).pid is not None  # no cache yet: 60 to segment
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    assert related_early.EarlyKeywords(docs, tmp_path).pid is None  # the cache holds them all
    monkeypatch.setattr(related_early, "MAX_DOCS", 1)
    assert related_early.EarlyKeywords(_changed(docs), tmp_path).pid is None  # two: the stage's own way
    monkeypatch.setenv("SITE_BUILDER_NO_FORK", "1")
    monkeypatch.setattr(related_early, "MAX_DOCS", 200)
    assert related_early.EarlyKeywords(_changed(docs), tmp_path).pid is None


def test_another_cache_folder_is_not_taken(tmp_path, forking):
    docs = _docs()
    related.compute_related(docs, k=5, cache_dir=tmp_path / "a", workers=1)
    early = related_early.EarlyKeywords(_changed(docs), tmp_path / "a")
    got = related.compute_related(_changed(docs), k=5, cache_dir=tmp_path / "b", workers=1, early=early)
    assert early.pid is None
    assert got == related.compute_related(_changed(docs), k=5)


def test_the_cache_is_read_once_for_a_small_update(tmp_path, monkeypatch):
    """Forked or not (here: not), a small update's related stage takes the cache EarlyKeywords
    read; a big one's reads it itself (it is not held through the reuse stage)."""
    docs = _docs()
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    monkeypatch.setenv("SITE_BUILDER_NO_FORK", "1")
    reads = []
    real = related._load_cache
    monkeypatch.setattr(related, "_load_cache", lambda d: reads.append(d) or real(d))
    now = _changed(docs)
    early = related_early.EarlyKeywords(now, tmp_path)
    assert early.pid is None and early.loaded
    got = related.compute_related(now, k=5, cache_dir=tmp_path, workers=1, early=early)
    assert reads == [tmp_path]
    monkeypatch.setattr(related_early, "MAX_DOCS", 1)
    reads.clear()
    more = [dataclasses.replace(d, body=d.body + "农业", fingerprint=f"{d.fingerprint}+") for d in now[:2]] + now[2:]
    early = related_early.EarlyKeywords(more, tmp_path)
    assert not early.loaded and early.stored is None
    got = related.compute_related(more, k=5, cache_dir=tmp_path, workers=1, early=early)
    assert reads == [tmp_path, tmp_path]  # (read to count what is new, then by the stage)
    monkeypatch.undo()
    assert got == related.compute_related(more, k=5)


def test_no_child_where_rjieba_is_imported_already(tmp_path, monkeypatch):
    """A long-lived process (serve's build process warms rjieba) segments the new speeches itself:
    its dictionary is built already, a child would build it again every build."""
    from site_builder.serve.builder import WARM_MODULES

    assert "rjieba" in WARM_MODULES
    docs = _docs()
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    monkeypatch.delenv("SITE_BUILDER_NO_FORK", raising=False)
    import rjieba  # noqa: F401

    early = related_early.EarlyKeywords(_changed(docs), tmp_path)
    assert early.pid is None and early.loaded  # (the cache read once all the same)
    assert related.compute_related(_changed(docs), k=5, cache_dir=tmp_path, workers=1, early=early) == (
        related.compute_related(_changed(docs), k=5)
    )
