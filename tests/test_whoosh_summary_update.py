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
    derived = []
    real_derive = whoosh_summary_update.derive

    def derive(*args):
        data = real_derive(*args)
        derived.append(data is not None)
        return data

    monkeypatch.setattr(whoosh_summary_update, "derive", derive)
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


def test_a_cold_update_writes_the_summary_a_snapshot_computes(tmp_path, monkeypatch):
    # Without a previous summary, an update computes its summary from the text stores one at a time,
    # keeping only their encoded metadata records (whoosh_summary_update.write_computed): the same
    # data as a snapshot computes from every store at once.
    written = []
    real = whoosh_summary_update.write_computed
    monkeypatch.setattr(si, "write_computed", lambda *a: written.append(real(*a)) or written[-1])
    d = tmp_path / "w"
    docs = make_docs()
    ix = si.SearchIndex(d, workers=1)
    ix.update(docs)
    ix.close()
    whoosh_summary.summary_path(d, si._Snapshot(d).generation).unlink()  # (no previous summary)
    ix.update(_edit(docs, random.Random(5), 2, 1, 2, 9))  # (speeches deleted from the old segments)
    expected = _answers(ix)
    ix.close()
    assert written == [True, True]
    loaded = si._Snapshot(d)
    assert isinstance(loaded.meta, whoosh_summary.MetaRecords) and loaded.deleted  # read from the file
    whoosh_summary.summary_path(d, loaded.generation).unlink()
    computed = si._Snapshot(d)  # from the stores
    assert isinstance(computed.meta, list)
    assert _snapshot_state(loaded) == _snapshot_state(computed)
    loaded.close()
    computed.close()
    assert _answers(si.SearchIndex(d, workers=1)) == expected
