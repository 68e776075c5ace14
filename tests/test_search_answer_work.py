"""What one search does (issue #15, ``serve`` under load): the work done once per index generation
is not done again per query, and per-query work is bounded by what the answer shows — with the
answers exactly those of the definitions (``query``, ``ranking``, ``passages``)."""

from __future__ import annotations

import heapq
import random

import pytest

from site_builder.search import analysis, whoosh_evaluate, whoosh_excerpts, whoosh_records
from site_builder.search import whoosh_snapshot as snapshot_mod
from site_builder.search.whoosh_index import IndexDoc, SearchIndex


def _doc(n: int, body: str, year: int, title: str = "讲话", meeting_type: str = "工作会议", themes=("作风建设",)):
    return IndexDoc(
        id=f"s/{n:04d}.md",
        url=f"speeches/{n:04d}.html",
        title=f"{title}{n}",
        date=f"{year}-03-05",
        year=year,
        meeting_type=meeting_type,
        themes=tuple(themes),
        body=body,
        fingerprint=f"f{n}-{hash(body)}",
    )


BODIES = [
    "全面從嚴治黨，加強黨員隊伍建設。\n到２０３５年基本實現現代化，全面从严治党永远在路上。",
    "推进ＧＤＰ核算改革，发展５Ｇ和人工智能。\n全面从严治党，如履薄冰、如临深渊。",
    "如\u200b履薄冰，不搞形式主义 ㈠ 全面从严治党。\n标本兼治，全面从严治党。",
    "把权力关进制度的笼子里。\n让权力在阳光下运行，标本兼治。<b>全面从严治党</b> & 更多。",
    "𝐆𝐃𝐏 增长，𝐀𝐁𝐂 与 𠀀𠀁 标本兼治；全面从严治党。",  # outside the BMP: folded (𝐆 → g) and not
]


@pytest.fixture()
def docs():
    rnd = random.Random(5)
    out = []
    for n in range(60):
        body = "\n".join(rnd.choice(BODIES) for _ in range(rnd.randint(1, 4)))
        out.append(_doc(n, body, 2010 + n % 6, meeting_type=["工作会议", "座谈会"][n % 2]))
    return out


# -- excerpts: only the passages' characters are given back -------------------------------------


@pytest.mark.parametrize("terms", [["全面从严治党"], ["如履薄冰", "标本兼治"], ["gdp", "5g"], ["不在文中"], ["党"]])
def test_excerpt_of_a_stored_body_equals_the_whole_body_excerpt(terms, monkeypatch):
    rnd = random.Random(11)
    real_unfold = whoosh_excerpts._unfold
    unfolded: list[str] = []
    monkeypatch.setattr(whoosh_excerpts, "_unfold", lambda f, p: unfolded.append(f) or real_unfold(f, p))
    for _ in range(40):
        body = "\n".join(rnd.choice(BODIES) for _ in range(rnd.randint(1, 6)))
        folded = analysis.fold(body)
        patches = whoosh_records._patches(body)
        assert whoosh_excerpts.excerpt_of_stored(folded, patches, terms) == whoosh_excerpts._excerpt(
            body, folded, terms
        )
        one_to_one = analysis.folds_one_to_one(body, folded)
        # The whole body is given back only when some character folded to none or to several.
        assert (folded in unfolded) != one_to_one
        unfolded.clear()


# -- filters: the texts of speeches they leave out are never scanned -------------------------------


def test_a_filtered_search_scans_only_the_speeches_the_filters_let_through(docs, tmp_path):
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    res = ix.search("全面从严治党", year="2013", meeting_type="座谈会", limit=100)
    want = {
        d.id
        for d in docs
        if d.year == 2013 and d.meeting_type == "座谈会" and "全面从严治党" in analysis.search_text(d.title, d.body)
    }
    assert {h["source"] for h in res["hits"]} == want and want
    snap = ix._snap
    scanned = snap.scan_memo.get("全面从严治党").scanned
    allowed = {d for d in snap.by_year[2013] if snap.types[d] == "座谈会"}
    assert scanned and scanned <= allowed
    # Another year later: scanned then, with the same answer as a fresh index gives.
    res = ix.search("全面从严治党", year="2010-2015", limit=100)
    fresh = SearchIndex(tmp_path / "w", workers=1)
    assert res == fresh.search("全面从严治党", year="2010-2015", limit=100)
    fresh.close()
    ix.close()


# -- a gram's counts: read once per generation ------------------------------------------------------


def test_gram_counts_are_read_once_per_generation(docs, tmp_path, monkeypatch):
    reads: list[str] = []
    real = snapshot_mod._Snapshot.key_counts
    monkeypatch.setattr(snapshot_mod._Snapshot, "key_counts", lambda self, k: reads.append(k) or real(self, k))
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    first = ix.search("标本兼治", year="2011")
    keys = set(reads)
    assert keys == {"标本", "本兼", "兼治", "本", "兼"}
    assert ix.search("标本兼治", year="2013")["total"] and ix.search("标本兼治 OR 如履薄冰")["total"]
    assert reads.count("标本") == 1  # the second and third queries read no count of 标本兼治 again
    # A new generation: its counts are read afresh (the old ones are dropped with the old snapshot).
    ix.update([*docs, _doc(999, "标本兼治标本兼治。", 2011)])
    again = ix.search("标本兼治", year="2011")
    assert reads.count("标本") == 2
    assert again["total"] == first["total"] + 1
    ix.close()


# -- the first hits: only those that can be among them are sorted ----------------------------------


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_first_hits_equal_a_full_sort(sort, monkeypatch):
    rng = random.Random(8)
    sorted_by_key: list[int] = []
    real = heapq.nsmallest
    monkeypatch.setattr(
        whoosh_evaluate.heapq, "nsmallest", lambda k, it, key: sorted_by_key.append(len(it)) or real(k, it, key=key)
    )
    for trial in range(300):
        n = rng.randint(1, 60)
        hits = rng.sample(range(1000), n)
        # Scores crowded around a few values, so that the rounding to 6 decimals ties many.
        score = [rng.choice([1.0, 2.5, 2.5000004, 2.4999996, 3.0]) + rng.random() * 1e-6 for _ in hits]
        datekey = [rng.choice([20200305, 20200300, 20190000, 20211231]) for _ in hits]
        sources = {d: f"s/{rng.random():.6f}.md" for d in hits}
        by = dict(zip(hits, zip(score, datekey)))
        key = {
            "relevance": lambda d, by=by, sources=sources: (-round(by[d][0], 6), -by[d][1], sources[d]),
            "newest": lambda d, by=by, sources=sources: (-by[d][1], sources[d]),
            "oldest": lambda d, by=by, sources=sources: (by[d][1], sources[d]),
        }[sort]
        values, margin = {
            "relevance": (score, whoosh_evaluate._ROUNDING_MARGIN),
            "newest": (datekey, 0),
            "oldest": ([-x for x in datekey], 0),
        }[sort]
        k = rng.randint(1, n)
        assert whoosh_evaluate._first(hits, k, values, margin, key) == real(k, hits, key=key), trial
    assert min(sorted_by_key) < 60  # some calls sorted fewer than all the hits


def test_answers_page_by_page_equal_one_sorted_list(docs, tmp_path):
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    for sort in ("relevance", "newest", "oldest"):
        whole = [h["source"] for h in ix.search("全面从严治党 OR 标本兼治", sort=sort, limit=1000)["hits"]]
        paged = [
            h["source"]
            for offset in range(0, len(whole), 7)
            for h in ix.search("全面从严治党 OR 标本兼治", sort=sort, limit=7, offset=offset)["hits"]
        ]
        assert paged == whole and len(whole) > 20
    ix.close()


# -- a long-lived process maps a generation's pages in once -----------------------------------------


def test_serve_workers_map_a_generations_pages_in_when_opening_it(docs, tmp_path, monkeypatch):
    from site_builder.serve import search_workers

    populated: list[int] = []
    real = snapshot_mod._Snapshot.populate
    monkeypatch.setattr(
        snapshot_mod._Snapshot, "populate", lambda self: populated.append(self.generation) or real(self)
    )
    monkeypatch.setattr(snapshot_mod, "POPULATE", False)
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    cli = SearchIndex(tmp_path / "w", workers=1)  # a CLI search: a few pages, faulted in as touched
    assert cli.search("标本兼治")["total"] and populated == []
    cli.close()
    monkeypatch.setattr(search_workers, "_open", None)
    try:
        kind, body = search_workers.answer(str(tmp_path / "w"), 1, "标本兼治", {})
        assert kind == "ok" and populated == [1]
        ix.update([*docs, _doc(999, "标本兼治。", 2011)])  # a new generation, opened afresh: again
        kind, again = search_workers.answer(str(tmp_path / "w"), 1, "标本兼治", {})
        assert kind == "ok" and populated == [1, 2] and again != body
    finally:
        search_workers._close()
        ix.close()
