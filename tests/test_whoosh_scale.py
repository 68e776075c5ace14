"""Issue #15, first item: updating a Whoosh index of 20,000 or 50,000 speeches ends.

Before the fix, ``SearchIndex.update`` with 20,000 documents and one changed never returned:
the merge policy merged four same-tier segments of 5,000 documents, the writer wrote them back
as four segments of 5,000, and the loop began again. Tiny synthetic documents keep this fast
(index only, no pages); a guard on the number of segment writes turns a loop into a failure
instead of a hang.
"""

from __future__ import annotations

import time

import pytest

from site_builder.search import whoosh_index as search_index
from site_builder.search.whoosh_index import IndexDoc, SearchIndex

CHARS = "党建廉政队伍基层治理"  # 10 characters: doc i has CHARS[i % 10]


def doc(i: int, version: int = 0) -> IndexDoc:
    body = f"{CHARS[i % 10]}号{i}版{version}"
    return IndexDoc(f"s/{i}.md", f"p/{i}.html", f"第{i}篇", "2020", 2020, "座谈会", ("主题",), body, f"{i}-{version}")


@pytest.fixture
def write_guard(monkeypatch):
    """Fail (instead of hanging) when an update writes segments over and over."""
    calls = [0]
    real = search_index._write_segments

    def guarded(*args, **kwargs):
        calls[0] += 1
        if calls[0] > 40:
            raise AssertionError("the index update keeps rewriting segments (merge loop)")
        return real(*args, **kwargs)

    monkeypatch.setattr(search_index, "_write_segments", guarded)
    return calls


def total(ix: SearchIndex, q: str) -> int:
    return ix.search(q, limit=1)["total"]


@pytest.mark.parametrize("n, workers", [(20_000, 1), (20_000, 2), (50_000, 2)])
def test_updating_a_large_index_ends_and_answers_right(tmp_path, write_guard, n, workers):
    docs = [doc(i) for i in range(n)]
    ix = SearchIndex(tmp_path / "w", workers=workers)
    try:
        ix.update(docs)
        assert total(ix, "党") == n // 10

        # One changed, one added, one removed: the update ends, quickly, with the right hits.
        write_guard[0] = 0
        docs[5] = doc(5, 1)
        docs.append(doc(n))  # CHARS[n % 10] = 党
        removed = docs.pop(10)  # 党 too
        started = time.perf_counter()
        stats = ix.update(docs)
        seconds = time.perf_counter() - started
        assert stats == {"added": 1, "updated": 1, "removed": 1, "unchanged": n - 2}
        assert seconds < 30, f"an update of one speech in {n} took {seconds:.1f} s"
        assert total(ix, "号5版1") == 1 and total(ix, "号5版0") == 0
        assert total(ix, f"号{n}版0") == 1
        assert total(ix, f"号{removed.body[2:]}") == 0
        assert total(ix, "党") == n // 10
        assert total(ix, "建") == n // 10

        # More small updates in a row keep ending (and merge their small segments).
        for step in range(6):
            write_guard[0] = 0
            i = int(docs[100 + step].id[2:-3])
            docs[100 + step] = doc(i, 2)
            assert ix.update(docs)["updated"] == 1
        assert total(ix, "版2") == 6
        assert total(ix, "号") == n
    finally:
        ix.close()


def test_the_merge_policy_reduces_segments_or_leaves_them(tmp_path):
    """Four full segments in one tier are left alone; four small ones become one."""
    assert search_index._planned_segments(20_000, 2) == 4  # merging four full ones gains nothing
    assert search_index._planned_segments(20_000, 1) == 4
    assert search_index._planned_segments(4, 2) == 1
    assert search_index._planned_segments(0, 2) == 0
