"""Related speeches when speeches are added or removed (#15, related_margins.py): only the speeches
whose lists may differ are scored again, and every list equals scoring all of them."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import keyword_table

from site_builder import related, related_margins, related_scores


class _Corpus:
    """Speeches as word number → count, with skewed word frequencies (common words' postings are
    cut to POSTINGS, scores tie), kept by id."""

    def __init__(self, seed: int, n: int, words: int = 2500):
        self.rnd = random.Random(seed)
        self.vocab = [f"词{i}" for i in range(words)]
        self.weights = [1 / (i + 1) ** 0.8 for i in range(words)]
        self.rows = {f"{i:05d}.md": self.row() for i in range(n)}

    def row(self) -> dict[int, int]:
        picked = self.rnd.choices(range(len(self.vocab)), self.weights, k=50)
        return {w: self.rnd.randint(1, 12) for w in picked}

    def table(self) -> tuple[list[str], related_scores.Keywords]:
        ids = sorted(self.rows)
        return ids, keyword_table([self.rows[i] for i in ids], self.vocab)


def _moved(before: list[str], after: list[str]) -> np.ndarray:
    where = {i: j for j, i in enumerate(after)}
    return np.array([where.get(i, -1) for i in before], dtype=np.int64)


class _Scored(list):
    """The rows each call of _score_rows scored (appended)."""

    def total(self) -> int:
        return sum(len(r) for r in self)


@pytest.fixture
def scored(monkeypatch):
    calls = _Scored()
    real = related_scores._score_rows

    def counting(rows, *args):
        calls.append(np.asarray(rows).copy())
        return real(rows, *args)

    monkeypatch.setattr(related_scores, "_score_rows", counting)
    return calls


def test_added_and_removed_speeches_score_again_few_and_equal_scoring_all(scored):
    corpus = _Corpus(3, 600)
    ids, table = corpus.table()
    state: dict = {}
    related_scores.similar(ids, table, 8, previous=state)
    rnd = random.Random(8)
    partial = []
    for step in range(10):
        before = ids
        changed = []
        if step % 3 == 2:  # removed
            del corpus.rows[rnd.choice(sorted(corpus.rows))]
        else:  # added: a new speech, or a near copy of one (its words' postings may take it)
            new = f"{rnd.randrange(10**5):05d}-{step}.md"
            corpus.rows[new] = corpus.row() if step % 2 else {**corpus.rows[rnd.choice(ids)], 7: 3}
            changed.append(new)
        ids, table = corpus.table()
        fresh = np.array([ids.index(i) for i in changed], dtype=np.int64)
        scored.clear()
        got = related_scores.similar(ids, table, 8, previous=state, fresh=fresh, moved=_moved(before, ids))
        partial.append(scored.total())
        want = related_scores.similar(ids, table, 8)
        assert (got == want).all(), step
    assert all(0 < p < len(ids) * 0.85 for p in partial), partial  # (scoring everything: len(ids))


def test_lists_with_ties_are_ordered_by_their_exact_scores(scored):
    # Two speeches with the same words score the same with every other: their order in a list
    # is by id, which scores kept ± how far they moved cannot tell; their scores are made again
    # exactly, the lists kept (not scored again), and equal scoring everything.
    corpus = _Corpus(5, 300)
    twin = dict(corpus.rows["00010.md"])
    corpus.rows["00011.md"] = twin
    corpus.rows["00012.md"] = dict(twin)
    ids, table = corpus.table()
    state: dict = {}
    related_scores.similar(ids, table, 6, previous=state)
    tied = [r for r, row in enumerate(state["result"].tolist()) if 11 in row and 12 in row]
    assert tied
    before = ids
    corpus.rows["99999.md"] = corpus.row()
    ids, table = corpus.table()
    scored.clear()
    got = related_scores.similar(
        ids, table, 6, previous=state, fresh=np.array([len(ids) - 1]), moved=_moved(before, ids)
    )
    assert 0 < scored.total() < len(ids)
    assert (got == related_scores.similar(ids, table, 6)).all()
    assert set(tied) - set(scored[0].tolist())  # (rows before 99999.md: the same numbers)


def test_a_state_without_margins_is_scored_whole(scored):
    corpus = _Corpus(6, 200)
    ids, table = corpus.table()
    state: dict = {}
    related_scores.similar(ids, table, 5, previous=state)
    for name in ("scores", "err", "margin"):
        del state[name]  # (a cache from before the margins)
    before = ids
    corpus.rows["99999.md"] = corpus.row()
    ids, table = corpus.table()
    scored.clear()
    got = related_scores.similar(
        ids, table, 5, previous=state, fresh=np.array([len(ids) - 1]), moved=_moved(before, ids)
    )
    assert scored.total() == len(ids)
    assert (got == related_scores.similar(ids, table, 5)).all()
    assert {"scores", "err", "margin"} <= state.keys()


def test_kept_scores_and_margins_bound_the_true_ones():
    # After several additions without scoring again, each kept score is within err of the true
    # one and no speech left out of a list scores above its margin.
    corpus = _Corpus(9, 400)
    ids, table = corpus.table()
    state: dict = {}
    related_scores.similar(ids, table, 5, previous=state)
    for step in range(4):
        before = ids
        corpus.rows[f"9999{step}.md"] = corpus.row()
        ids, table = corpus.table()
        fresh = np.array([ids.index(f"9999{step}.md")])
        related_scores.similar(ids, table, 5, previous=state, fresh=fresh, moved=_moved(before, ids))
    full: dict = {}
    related_scores.similar(ids, table, 50, previous=full)  # every reachable score of each row, nearly
    true = {
        (r, o): s
        for r in range(len(ids))
        for o, s in zip(full["result"][r].tolist(), full["scores"][r].tolist())
        if o >= 0
    }
    assert (state["err"] > 0).any()  # some lists were kept, not scored again
    for r in range(len(ids)):
        listed = [o for o in state["result"][r].tolist() if o >= 0]
        for slot, o in enumerate(listed):
            assert abs(true[(r, o)] - state["scores"][r][slot]) <= state["err"][r] + 1e-12
        others = [s for (rr, o), s in true.items() if rr == r and o not in listed]
        if state["margin"][r] < 0:
            assert not others or full["result"][r][-1] >= 0  # (none reachable, unless cut at 50)
        else:
            assert all(s <= state["margin"][r] for s in others)


def test_the_cache_keeps_the_margins_and_near_duplicates_do_not_change_k(tmp_path, scored):
    # compute_related through its cache: an added speech scores again only some; one more
    # near-duplicate (k + its near-duplicates, as a power of two) keeps the kept state usable.
    from site_builder.search.whoosh_index import IndexDoc

    rnd = random.Random(12)
    words = [f"词语{chr(0x4E00 + i)}{chr(0x4E80 + i * 7 % 500)}" for i in range(500)]

    def doc(i: int) -> IndexDoc:
        body = "，".join(rnd.choices(words[: 60 + i % 400], k=80)) + "。"
        return IndexDoc(f"{i:04d}.md", f"s/{i}.html", f"讲话{words[i % 500]}", "2020", 2020, "", (), body, f"fp{i}")

    docs = [doc(i) for i in range(300)]
    exclude = {"0001.md": {"0002.md", "0003.md", "0004.md"}, "0002.md": {"0001.md"}}
    related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1, exclude=exclude)
    stored = related._load_cache(tmp_path)
    assert stored is not None and stored.state["result"].shape == (300, 9)  # k + 4 wide
    assert dict(zip(*np.unique(stored.state["widths"], return_counts=True))) == {5: 298, 6: 1, 8: 1}
    docs.append(doc(300))
    exclude["0001.md"] = {"0002.md", "0003.md", "0004.md", "0300.md"}  # 4 near-duplicates: still k + 4
    scored.clear()
    got = related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1, exclude=exclude)
    assert 0 < scored.total() < len(docs)  # (not every speech: the kept state was used)
    assert got == related.compute_related(docs, k=5, workers=1, exclude=exclude)


def test_rounding_constant_covers_the_scores_rounding():
    assert related_margins.ROUNDING > 1e-9  # _top_k orders by scores rounded to 9 digits


def test_each_list_is_as_long_as_its_width():
    # widths: a speech with near-duplicates lists k + their number, the others k; each list is
    # the head of the list scoring every speech k + extra long gives; moved, the same.
    corpus = _Corpus(14, 300)
    ids, table = corpus.table()
    widths = np.full(len(ids), 4, dtype=np.int64)
    widths[[3, 50, 51]] = 8
    state: dict = {}
    got = related_scores.similar(ids, table, 8, previous=state, widths=widths)
    wide = related_scores.similar(ids, table, 8)
    for r, w in enumerate(widths.tolist()):
        assert got[r].tolist() == wide[r][:w].tolist() + [-1] * (8 - w)
    before = ids
    corpus.rows["99999.md"] = corpus.row()
    ids, table = corpus.table()
    widths = np.append(widths, 4)
    widths[3] = 4  # its near-duplicates gone
    moved = related_scores.similar(
        ids, table, 8, previous=state, fresh=np.array([len(ids) - 1]), moved=_moved(before, ids), widths=widths
    )
    wide = related_scores.similar(ids, table, 8)
    for r, w in enumerate(widths.tolist()):
        assert moved[r].tolist() == wide[r][:w].tolist() + [-1] * (8 - w), r
