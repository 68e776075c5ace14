"""A generation's summary made from the previous one's (search/whoosh_summary_update.py, #15) is the
summary computed from the text stores: the same per-speech data, groups (in the same order) and
answers, whether the old segments are kept in place (one changed, added or deleted speech) or
merged."""

from __future__ import annotations

import random

from test_search_index import _edit, _snapshot_state, make_docs

from site_builder.search import whoosh_index as si
from site_builder.search import whoosh_summary, whoosh_summary_update


def _answers(ix) -> list:
    queries = ["党建", "工作", "新增加的独特词语", "从严 治党", "队伍建设"]
    return [ix.search(q, limit=1000) for q in queries] + [ix.search("工作", year="2030", theme="基层党建")]


def test_each_update_derives_the_summary_the_stores_give(tmp_path, monkeypatch):
    d = tmp_path / "w"
    docs = make_docs()
    ix = si.SearchIndex(d, workers=1)
    ix.update(docs)
    derived, moved = [], []
    real_derive, real_moved = whoosh_summary_update.derive, whoosh_summary_update._moved_groups

    def derive(*args):
        data = real_derive(*args)
        derived.append(data is not None)
        return data

    def moved_groups(*args):
        moved.append(len(args[1]))  # the speeches deleted since
        return real_moved(*args)

    monkeypatch.setattr(whoosh_summary_update, "derive", derive)
    monkeypatch.setattr(whoosh_summary_update, "_moved_groups", moved_groups)
    steps = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (2, 2, 2), (1, 0, 0), (30, 5, 5)]
    for tag, (n_edit, n_add, n_del) in enumerate(steps, 1):
        docs = _edit(docs, random.Random(tag), n_edit, n_add, n_del, tag)
        ix.update(docs)
        expected = _answers(ix)
        ix.close()
        path = whoosh_summary.summary_path(d, si._Snapshot(d).generation)
        made = path.read_bytes()
        loaded = si._Snapshot(d)
        assert isinstance(loaded.meta, whoosh_summary.MetaRecords)  # read from the derived file
        path.unlink()
        computed = si._Snapshot(d)  # from the stores
        assert isinstance(computed.meta, list)
        assert _snapshot_state(loaded) == _snapshot_state(computed), (tag, n_edit, n_add, n_del)
        loaded.close()
        computed.close()
        path.write_bytes(made)  # the next update starts from the derived summary
        fresh = si.SearchIndex(d, workers=1)
        assert _answers(fresh) == expected
        fresh.close()
    assert derived == [True] * len(steps)
    assert moved and any(moved)  # the old segments kept in place, speeches deleted from them
