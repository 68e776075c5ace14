"""The Whoosh index answers exactly what ``query.parse(q).matches(search_text)`` says.

The truth is computed literally from the texts for every query; the corpus is the seed
speeches cut into paragraphs and sentences (so that hit sets are discriminative) plus
synthetic speeches with traditional characters, full-width digits and letters, spaces.
"""

from __future__ import annotations

import html
import itertools
import os
import pickle
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder import fileio
from site_builder.search import (
    analysis,
    query,
    whoosh_compat,
    whoosh_evaluate,
    whoosh_postings,
    whoosh_records,
    whoosh_segments,
    whoosh_summary,
)
from site_builder.search import whoosh_index as si
from site_builder.search.whoosh_index import IndexDoc, SearchIndex

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "tests" / "fixtures" / "import" / "seeds"  # the two real seed speeches

MEETING_TYPES = ["工作会议", "座谈会", "专题会议", "动员大会"]
THEMES = ["党风廉政建设", "基层党建", "作风建设", "安全生产", "队伍建设"]


def _seed_units() -> list[str]:
    units: list[str] = []
    for p in sorted(SEEDS.glob("*.txt")):
        for line in p.read_text("utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            units.append(line)
            sentences = [s for s in re.split(r"(?<=[。！？；])", line) if len(s) > 6]
            if len(sentences) > 1:
                units.extend(sentences)
    assert len(units) > 100, f"the seed speeches are missing from {SEEDS}"
    return units


SYNTHETIC = [
    ("黨建工作會議上的講話", "全面從嚴治黨，加強黨員隊伍建設。到２０３５年基本實現現代化。"),
    ("经济工作会议讲话", "GDP 增长 5.2%，5G 基站建设加快；到2035年基本实现社会主义现代化。"),
    ("数字化转型座谈会", "推进ＧＤＰ核算改革，发展５Ｇ和人工智能，Gdp质量提升。"),
    ("作风建设专题会", "坚持从严 治党，不搞形式主义。\n从严治党永远在路上。"),
    ("安全生产动员大会", "安全生产责任重于泰山，要如履薄冰、如临深渊。"),
    ("廉政教育大会", "把权力关进制度的笼子里，让权力在阳光下运行。ＡＢＣ  abc 两个空格。"),
    ("队伍建设会议", "党员队伍建设要常抓不懈，队伍建设是基础。党员 队伍。"),
    ("年终总结会", "哈哈哈哈，这是一个重复的测试：哈哈。<script>alert(1)</script> & 标记"),
]


def make_docs(n_extra_years: int = 0) -> list[IndexDoc]:
    rnd = random.Random(7)
    docs: list[IndexDoc] = []
    units = _seed_units()
    for i, u in enumerate(units):
        year = 2010 + (i * 7) % 15
        date = [f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}", f"{year}-{1 + i % 12:02d}", f"{year}"][i % 3]
        k = rnd.randint(1, 3)
        themes = tuple(rnd.sample(THEMES, k))
        title = u[: rnd.randint(4, 14)] if i % 5 == 0 else f"在{year}年度会议上的讲话之{i}"
        docs.append(
            make_doc(f"{year}/speech-{i:04d}.md", title, u, date, year, MEETING_TYPES[i % len(MEETING_TYPES)], themes)
        )
    for j, (title, body) in enumerate(SYNTHETIC):
        year = 2015 + j
        docs.append(
            make_doc(
                f"{year}/synthetic-{j}.md", title, body, f"{year}-06-01", year, MEETING_TYPES[j % 4], (THEMES[j % 5],)
            )
        )
    return docs


def make_doc(id, title, body, date, year, meeting_type, themes, version=0) -> IndexDoc:
    return IndexDoc(
        id=id,
        url="speeches/" + id.replace(".md", ".html"),
        title=title,
        date=date,
        year=year,
        meeting_type=meeting_type,
        themes=tuple(themes),
        body=body,
        fingerprint=f"{hash((title, body, date, meeting_type, tuple(themes)))}-{version}",
    )


def truth(docs, q, year=None, meeting_type=None, theme=None) -> set[str]:
    parsed = query.parse(q)
    lo = hi = None
    if year:
        parts = year.split("-")
        lo, hi = int(parts[0]), int(parts[-1])
    out = set()
    for d in docs:
        if not parsed.matches(analysis.search_text(d.title, d.body)):
            continue
        if lo is not None and not (lo <= d.year <= hi):
            continue
        if meeting_type is not None and d.meeting_type != meeting_type:
            continue
        if theme is not None and theme not in d.themes:
            continue
        out.add(d.id)
    return out


def hit_ids(ix: SearchIndex, q: str, **kw) -> set[str]:
    res = ix.search(q, limit=100000, **kw)
    ids = [h["source"] for h in res["hits"]]
    assert len(ids) == len(set(ids)) == res["total"]
    return set(ids)


@pytest.fixture(scope="module")
def corpus():
    return make_docs()


@pytest.fixture(scope="module")
def index(corpus, tmp_path_factory):
    ix = SearchIndex(tmp_path_factory.mktemp("ix") / "whoosh", workers=1)
    assert not ix.exists()
    stats = ix.update(corpus)
    assert stats == {"added": len(corpus), "updated": 0, "removed": 0, "unchanged": 0}
    assert ix.exists()
    yield ix
    ix.close()


def _texts(corpus):
    return [analysis.search_text(d.title, d.body) for d in corpus]


def _random_terms(corpus, rnd, n, lo, hi):
    """Random substrings of the bodies (may cross word boundaries), as typed (unfolded)."""
    terms = []
    while len(terms) < n:
        body = rnd.choice(corpus).body
        L = rnd.randint(lo, hi)
        if len(body) < L:
            continue
        i = rnd.randrange(len(body) - L + 1)
        t = body[i : i + L]
        if any(c.isspace() or c in '"＂-－' for c in t) or t == "OR":
            continue
        terms.append(t)
    return terms


# ----------------------------------------------------------------------------- grams


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("党建队伍员 \x00ab1２") + ["\u3000"]), max_size=30))
def test_fast_grams_equal_analysis_grams(text):
    folded = analysis.fold(text)
    assert si._grams(folded) == analysis.grams(folded)


def test_fast_grams_on_corpus(corpus):
    for t in _texts(corpus)[:200]:
        assert si._grams(t) == analysis.grams(t)


def _grams_of_postings(packed) -> dict:
    """{key: count} of one document's packed postings (whoosh_postings.gram_postings)."""
    out = {}
    for p in packed.tolist():
        key, count = p >> whoosh_postings.KEY_SHIFT, p & 255
        assert (p >> 8) & ((1 << whoosh_postings.DOC_BITS) - 1) == 7
        out[whoosh_postings.gram_term(key).decode("utf-8", "surrogatepass")] = count
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("党建队伍员 \x00ab1２") + ["\u3000", "\U00020000", "\ud800"]), max_size=30)
)
def test_packed_postings_are_the_grams(text):
    # The bulk writer's integer keys, in sorted order, are the grams in code point order, with
    # their counts (capped at 255); the document number rides along.
    folded = analysis.fold(text)
    packed = whoosh_postings.gram_postings(folded, 7)
    assert packed.tolist() == sorted(packed.tolist())
    assert list(_grams_of_postings(packed)) == sorted(si._grams(folded))
    assert _grams_of_postings(packed) == {g: min(c, 255) for g, c in si._grams(folded).items()}


def test_packed_postings_cap_counts():
    packed = whoosh_postings.gram_postings("党" * 300, 7)
    assert _grams_of_postings(packed) == {"党": 255, "党党": 255}


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("黨建党ＡBｃ１2 \u3000\n\tﬁ，。（）：\u200b") + ["\U00020000", "Ⅻ", "\ud800"]),
        max_size=40,
    )
)
def test_table_fold_equals_fold(body):
    # The numpy fold of the records equals analysis.fold where it applies, and its patches those
    # of the character scan; where it does not (a character folding to none or several, or outside
    # the BMP) it says so.
    fast = whoosh_records._fold_one_to_one(body)
    folded = analysis.fold(body)
    if fast is None:
        assert not analysis.folds_one_to_one(body, folded) or any(c >= "\U00010000" for c in body)
        return
    assert fast[0] == folded
    assert si._patches(body, fast[1]) == si._patches(body)


# ----------------------------------------------------------------------------- hit sets


def test_single_characters(index, corpus):
    chars = Counter("".join(d.body for d in corpus))
    rnd = random.Random(1)
    common = [c for c, _ in chars.most_common(30)]
    rare = rnd.sample([c for c in chars if not c.isspace() and c not in '"＂-－'], 40)
    for c in common + rare + ["权", "党", "Ｇ", "g"]:
        if c.isspace() or c in '"＂-－':
            continue
        assert hit_ids(index, c) == truth(corpus, c), c


@pytest.mark.parametrize("lo,hi", [(2, 2), (3, 4), (5, 8), (9, 12)])
def test_random_substrings(index, corpus, lo, hi):
    rnd = random.Random(lo * 100 + hi)
    for t in _random_terms(corpus, rnd, 40, lo, hi):
        expected = truth(corpus, t)
        assert expected, t  # taken from a body, so at least one hit
        assert hit_ids(index, t) == expected, t


def test_named_terms(index, corpus):
    for t in [
        "权",
        "队伍",
        "如履薄冰",
        "把权力关进制度的笼子里",
        "员队",
        "2035年",
        "GDP",
        "5G",
        "党员队伍建设",
        "队伍建设",
        "廉政建设",
        "全面从严治党",
        "不存在的词语组合",
    ]:
        assert hit_ids(index, t) == truth(corpus, t), t
    assert hit_ids(index, "员队"), "a substring that crosses a word boundary"
    assert not hit_ids(index, "不存在的词语组合")


def test_near_misses_are_not_hits(index, corpus):
    # All the pairs occur, but not the term: only the verification rejects these.
    for t in ["党建党", "队伍队伍建设", "哈哈哈哈哈", "建设建设"]:
        assert hit_ids(index, t) == truth(corpus, t), t


def test_and_or_not(index, corpus):
    rnd = random.Random(3)
    for _ in range(30):
        a, b = _random_terms(corpus, rnd, 2, 1, 4)
        for q in (f"{a} {b}", f"{a} OR {b}", f"{a} -{b}", f"{a} OR {b} -权", f"权 {a} OR {b}"):
            assert hit_ids(index, q) == truth(corpus, q), q
    for q in ["党建 廉政", "党建 OR 廉政", "党建 -廉政", "党 -党建", "-党建 队伍", '队伍 -"队伍建设"']:
        assert hit_ids(index, q) == truth(corpus, q), q


def test_quoted_phrases(index, corpus):
    for q in [
        '"从严 治党"',
        '"党员 队伍"',
        '"ABC  abc"',
        '"abc 两个"',
        "＂从严 治党＂",
        '"如履薄冰"',
        '"从严治党"',
        '-"从严 治党" 从严',
    ]:
        assert hit_ids(index, q) == truth(corpus, q), q
    assert hit_ids(index, '"从严 治党"') == {"2018/synthetic-3.md"}


def test_traditional_and_simplified(index, corpus):
    pairs = analysis.t2s_pairs()
    s2t = {}
    for i in range(0, len(pairs) - 1, 2):
        s2t.setdefault(pairs[i + 1], pairs[i])
    rnd = random.Random(5)
    checked = 0
    for t in _random_terms(corpus, rnd, 200, 2, 6):
        trad = "".join(s2t.get(c, c) for c in t)
        if trad == t:
            continue
        expected = truth(corpus, t)
        assert hit_ids(index, trad) == expected == truth(corpus, trad), (t, trad)
        checked += 1
        if checked >= 25:
            break
    assert checked >= 10
    assert hit_ids(index, "黨建") == hit_ids(index, "党建") == truth(corpus, "党建")
    assert "2015/synthetic-0.md" in hit_ids(index, "全面从严治党")  # written in traditional


def test_full_width_digits_and_letters(index, corpus):
    for q in ["２０３５年", "2035年", "ＧＤＰ", "GDP", "gdp", "５G", "5g", "５Ｇ", "ａｂｃ"]:
        assert hit_ids(index, q) == truth(corpus, q), q
    assert hit_ids(index, "２０３５年") == hit_ids(index, "2035年") >= {"2015/synthetic-0.md", "2016/synthetic-1.md"}
    assert hit_ids(index, "ＧＤＰ") == {"2016/synthetic-1.md", "2017/synthetic-2.md"}


def test_filters_and_facets(index, corpus):
    for q in ["党", "工作", "建设 OR 权"]:
        for kw in [
            {"year": "2018"},
            {"year": "2012-2016"},
            {"year": "2016-2016"},
            {"meeting_type": "座谈会"},
            {"theme": "基层党建"},
            {"year": "2010-2020", "theme": "作风建设", "meeting_type": "工作会议"},
            {"meeting_type": "没有这种会"},
        ]:
            expected = truth(corpus, q, **kw)
            res = index.search(q, limit=5, **kw)
            assert res["total"] == len(expected), (q, kw)
            assert hit_ids(index, q, **kw) == expected
            docs = [d for d in corpus if d.id in expected]
            years = Counter(str(d.year) for d in docs)
            types = Counter(d.meeting_type for d in docs)
            themes = Counter(t for d in docs for t in d.themes)
            assert res["facets"] == {
                "year": dict(years),
                "meeting_type": dict(types),
                "theme": dict(themes),
                "speaker": {},
                "organization": {},
            }
            assert list(res["facets"]["year"]) == sorted(years, reverse=True)
    assert index.search("党", year="２０１８")["total"] == len(truth(corpus, "党", year="2018"))


def test_bad_year_and_bad_queries(index):
    for bad in ["20x8", "2020-2018", "18", "2018-", "twenty"]:
        with pytest.raises(query.FilterError, match="年份") as err:
            index.search("党建", year=bad)
        assert err.value.code == "bad_year"
    with pytest.raises(query.FilterError):
        index.search("党建", sort="date")
    for bad in ['"党建', "-", "党建 -", "x" * 10000, "", "   ", "OR 党建", "党建 OR", "-党建"]:
        with pytest.raises(query.QueryError):
            index.search(bad)
    with pytest.raises(ValueError):
        index.search("党建", limit=-1)


def test_result_shape_ranking_and_paging(index, corpus):
    res = index.search("党建", limit=5)
    assert set(res) == {"query", "total", "occurrences_total", "sort", "offset", "hits", "facets", "trend"}
    assert res["query"] == "党建"
    h = res["hits"][0]
    assert set(h) == {
        "source",
        "url",
        "title",
        "date",
        "year",
        "meeting_type",
        "themes",
        "speaker",
        "organization",
        "score",
        "occurrences",
        "excerpt",
    }
    assert isinstance(h["themes"], list) and isinstance(h["year"], int)
    full = index.search("党建", limit=1000)["hits"]
    scores = [x["score"] for x in full]
    assert scores == sorted(scores, reverse=True)
    for a, b in itertools.pairwise(full):  # ties: newer first
        if a["score"] == b["score"]:
            assert si._date_key(a["date"]) >= si._date_key(b["date"])
    page2 = index.search("党建", limit=5, offset=5)["hits"]
    assert [x["source"] for x in page2] == [x["source"] for x in full[5:10]]
    assert index.search("党建", limit=0)["hits"] == []


def test_ranking_order(tmp_path):
    docs = [
        make_doc("a.md", "无关标题", "廉政" + "其他内容" * 20, "2020", 2020, "x", ()),
        make_doc("b.md", "无关标题", "廉政，" * 6 + "其他内容" * 17, "2019", 2019, "x", ()),
        make_doc("c.md", "廉政建设会议", "廉政" + "其他内容" * 20, "2018", 2018, "x", ()),
        make_doc("e.md", "无关标题", "廉政" + "其他内容" * 20, "2021-05", 2021, "x", ()),
        make_doc("d.md", "无关标题", "其他内容" * 20, "2021", 2021, "x", ()),
    ]
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    order = [h["source"] for h in ix.search("廉政")["hits"]]
    assert order[0] == "c.md"  # in the title
    assert order[1] == "b.md"  # six times
    assert order[2:] == ["e.md", "a.md"]  # equal score: newer first
    ix.close()


# ----------------------------------------------------------------------------- excerpts

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def check_excerpt(excerpt: str, terms: list[str]) -> int:
    """Every marked run is made of term occurrences; no term occurs unmarked. Returns #marks."""
    assert "<" not in _MARK.sub("", excerpt).replace("<mark>", "")
    pieces = re.split(r"(<mark>.*?</mark>)", excerpt)
    marks = 0
    for piece in pieces:
        if piece.startswith("<mark>"):
            text = analysis.fold(html.unescape(piece[6:-7]))
            assert text
            covered = [False] * len(text)
            for t in terms:
                i = text.find(t)
                while i >= 0:
                    for k in range(i, i + len(t)):
                        covered[k] = True
                    i = text.find(t, i + 1)
            assert all(covered), (piece, terms)
            marks += 1
        else:
            text = analysis.fold(html.unescape(piece))
            for t in terms:
                assert t not in text, (t, piece)
    # Unmarked text next to a mark cannot complete a term either (never a neighbouring word).
    return marks


def test_excerpts_mark_exactly_the_matches(index, corpus):
    rnd = random.Random(11)
    queries = [
        "权",
        "党建",
        "如履薄冰",
        "员队",
        "党建 廉政",
        "权力 OR 制度",
        "黨建",
        "ＧＤＰ",
        "2035年",
        "哈哈",
        "script",
        "&",
    ]
    queries += _random_terms(corpus, rnd, 40, 1, 6)
    for q in queries:
        parsed = query.parse(q)
        terms = [t for t in parsed.terms if "…" not in t]
        if len(terms) != len(parsed.terms):
            continue
        res = index.search(q, limit=10)
        for h in res["hits"]:
            ex = h["excerpt"]
            assert len(_MARK.sub(r"\1", ex)) <= 2 * (si._PASSAGE + 40), ex
            check_excerpt(ex, list(parsed.terms))
            doc = next(d for d in corpus if d.id == h["source"])
            if any(t in analysis.fold(doc.body) for t in parsed.terms):
                assert "<mark>" in ex, (q, ex)


def test_excerpt_escapes_html_and_maps_folded_offsets():
    body = "前言<b>&" + "ﬁ" + "全面從嚴治黨，ＧＤＰ增長。" + "后文" * 60
    ex = si._excerpt(body, analysis.fold(body), ["全面从严治党", "gdp", "fi"])
    assert "<b>" not in ex and "&lt;b&gt;&amp;" in ex
    assert "<mark>全面從嚴治黨</mark>" in ex  # the original characters, not the folded ones
    assert "<mark>ＧＤＰ</mark>" in ex
    assert "<mark>ﬁ</mark>" in ex  # one character that folds to two


# ----------------------------------------------------------------------------- incremental


QUERIES = [
    "党建",
    "权",
    "员队",
    "党员队伍",
    "建设 OR 廉政",
    "工作 -党建",
    '"从严 治党"',
    "ＧＤＰ",
    "如履薄冰",
    "新增加的独特词语",
    "修改后的内容",
]


def _answers(ix: SearchIndex):
    out = []
    for q in QUERIES:
        for kw in ({}, {"year": "2012-2018"}, {"theme": "基层党建"}):
            res = ix.search(q, limit=40, **kw)
            out.append(
                (
                    q,
                    tuple(sorted(kw.items())),
                    res["total"],
                    res["facets"],
                    [(h["source"], h["score"], h["excerpt"], h["title"], h["date"]) for h in res["hits"]],
                )
            )
    return out


def _edit(docs: list[IndexDoc], rnd: random.Random, n_edit: int, n_add: int, n_del: int, tag: int):
    docs = list(docs)
    for _ in range(n_del):
        docs.pop(rnd.randrange(len(docs)))
    for _ in range(n_edit):
        i = rnd.randrange(len(docs))
        d = docs[i]
        docs[i] = make_doc(
            d.id, d.title + "修订", d.body + f"修改后的内容{tag}", d.date, d.year, d.meeting_type, d.themes, version=tag
        )
    for k in range(n_add):
        docs.append(
            make_doc(
                f"2030/new-{tag}-{k}.md",
                f"新增讲话{tag}-{k}",
                f"新增加的独特词语{tag}。党建工作要抓实。" + rnd.choice(docs).body,
                "2030-01-01",
                2030,
                "工作会议",
                ("基层党建",),
            )
        )
    return docs


def test_incremental_update_equals_clean_build(corpus, tmp_path):
    rnd = random.Random(2)
    ix = SearchIndex(tmp_path / "inc", workers=1)
    ix.update(corpus)
    before = _answers(ix)
    assert ix.update(corpus) == {"added": 0, "updated": 0, "removed": 0, "unchanged": len(corpus)}
    assert _answers(ix) == before
    docs = corpus
    for step in range(6):  # many small updates: exercises deletions and segment merging
        docs = _edit(docs, rnd, n_edit=3, n_add=1 + step % 2, n_del=2, tag=step)
        stats = ix.update(docs)
        assert stats["added"] == 1 + step % 2 and stats["removed"] == 2 and stats["updated"] <= 3
        clean = SearchIndex(tmp_path / f"clean{step}", workers=1)
        clean.update(docs)
        assert _answers(ix) == _answers(clean), step
        clean.close()
    from whoosh import index as windex
    from whoosh.filedb.filestore import FileStorage

    segs = windex.TOC.read(FileStorage(str(tmp_path / "inc")), "MAIN").segments
    assert len(segs) <= 6
    # Large change: rebuilt from scratch, same answers.
    docs = _edit(docs, rnd, n_edit=len(docs) // 2 + 5, n_add=3, n_del=3, tag=99)
    ix.update(docs)
    clean = SearchIndex(tmp_path / "clean-big", workers=1)
    clean.update(docs)
    assert _answers(ix) == _answers(clean)
    # Deleting everything leaves an empty, working index.
    assert ix.update([])["removed"] == len(docs)
    assert ix.search("党")["total"] == 0
    ix.close()
    clean.close()


def test_searcher_sees_new_generation(corpus, tmp_path):
    reader = SearchIndex(tmp_path / "w", workers=1)
    writer = SearchIndex(tmp_path / "w", workers=1)
    writer.update(corpus[:50])
    n1 = reader.search("党")["total"]
    writer.update(corpus[:50] + [make_doc("x/new.md", "新", "独一无二的党建新词", "2024", 2024, "t", ())])
    assert reader.search("独一无二")["total"] == 1
    assert reader.search("党")["total"] == n1 + 1
    reader.close()
    writer.close()


def test_whoosh_reads_our_postings(index, corpus, tmp_path):
    from whoosh import index as windex
    from whoosh.query import Term

    ix = windex.open_dir(str(index.index_dir))
    with ix.searcher() as s:
        assert s.doc_count() == len(corpus)
        docs = set(s.docs_for_query(Term("g", "党建")))
        assert {s.stored_fields(d)["id"] for d in docs} == truth(corpus, "党建")
        m = s.postings("g", "权".encode())
        counts = {s.stored_fields(d)["id"]: m.value_as("frequency") for d in [m.id()]}
        one = corpus[[d.id for d in corpus].index(next(iter(counts)))]
        assert counts[one.id] == analysis.search_text(one.title, one.body).count("权")
        assert len(list(s.docs_for_query(Term("id", corpus[0].id)))) == 1
        # Whoosh's own matcher and our block reader see the same postings and counts.
        seg = s.reader().segment() if hasattr(s.reader(), "segment") else None
        reader = s.reader()
        rnd = random.Random(9)
        keys = ["党", "党建", "权", "ＧＤＰ"[0], "的"] + rnd.sample(
            sorted(k for k in analysis.grams(analysis.fold("".join(d.body for d in corpus)))), 40
        )
        for key in keys:
            key = analysis.fold(key)
            kb = key.encode()
            if ("g", kb) not in reader:
                continue
            m = reader.postings("g", kb)
            ids, vals = [], []
            while m.is_active():
                ids.append(m.id())
                vals.append(m.value_as("frequency"))
                m.next()
            terms, postfile = whoosh_compat.reader_terms(reader)
            ti = terms.term_info("g", kb) if seg is not None else None
            if ti is not None:
                ours = si._read_postings(postfile, ti)
                assert (ids, vals) == (ours[0], list(ours[1])), key
            expected = [d for d in corpus if key in analysis.search_text(d.title, d.body)]
            assert reader.doc_frequency("g", kb) == len(ids) == len(expected), key
            total = sum(min(analysis.grams(analysis.search_text(d.title, d.body))[key], 255) for d in expected)
            assert sum(vals) == total, key


def test_parallel_build_equals_serial(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_segments, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(whoosh_segments, "_SEGMENT_DOCS", 60)
    seen = []
    par = SearchIndex(tmp_path / "par", workers=2)
    par.update(corpus, progress=seen.append)
    assert seen and seen[-1] == len(corpus) and seen == sorted(seen)
    ser = SearchIndex(tmp_path / "ser", workers=1)
    ser.update(corpus)
    assert _answers(par) == _answers(ser)
    par.close()
    ser.close()


def test_parallel_workers_read_a_builds_texts_from_its_cache(corpus, tmp_path, monkeypatch):
    # A build's docs (build_index.index_docs) go to the segment workers, which start afresh
    # (nothing of the build's memory), without their texts: each worker reads them from the build
    # cache itself. The answers are those of the docs with their texts, written in one process.
    from types import SimpleNamespace

    from site_builder.build_index import Bodies, index_docs
    from site_builder.cache import BuildCache

    cache = BuildCache(tmp_path / "state")
    speeches = []
    for k, d in enumerate(corpus):
        html = "".join(f'<h2 id="p{i + 1}">' for i in d.headings)  # (what heading_lines reads)
        cache.put_parsed(d.id, f"digest{k}", None, html, d.body)
        date = SimpleNamespace(iso=lambda d=d: d.date, year=d.year)
        meta = SimpleNamespace(
            title=d.title, date=date, meeting_type=d.meeting_type, themes=d.themes, speaker=d.speaker,
            organization=d.organization,
        )  # fmt: skip
        speeches.append(SimpleNamespace(source=d.id, url=d.url, meta=meta, digest=f"digest{k}"))
    cache.commit()
    lazy = index_docs(SimpleNamespace(speeches=speeches), Bodies(cache))
    sent = pickle.dumps(whoosh_segments._portable(lazy[0]))
    assert corpus[0].body[:40].encode() not in sent and len(sent) < 1000
    plain = [IndexDoc(**{f: getattr(d, f) for f in IndexDoc.__dataclass_fields__}) for d in lazy]
    assert [(d.body, d.headings) for d in plain] == [(d.body, d.headings) for d in corpus]

    monkeypatch.setattr(whoosh_segments, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(whoosh_segments, "_SEGMENT_DOCS", 60)
    here = _segments_written_here(monkeypatch)
    par = SearchIndex(tmp_path / "par", workers=2)
    par.update(lazy)
    assert here == [] and len(_segment_ids(tmp_path / "par")) > 2  # (all written by the workers)
    ser = SearchIndex(tmp_path / "ser", workers=1)
    ser.update(plain)
    assert _answers(par) == _answers(ser)
    assert not list((tmp_path / "par").glob(".tmp-*"))  # the postings' temporary files are gone
    par.close()
    ser.close()
    cache.close()


def _segments_written_here(monkeypatch) -> list:
    """The batches that this process writes itself (a worker's segments are written in the worker,
    which imports the module afresh and does not see this patch)."""
    here, real = [], whoosh_segments._write_batch

    def write_batch(*args):
        here.append(len(args[1]))
        return real(*args)

    monkeypatch.setattr(whoosh_segments, "_write_batch", write_batch)
    return here


def _store_names(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("gt_*.bin")}


def _segment_ids(folder: Path) -> list[str]:
    """The segments of the index in ``folder`` (its newest generation)."""
    from whoosh import index as windex
    from whoosh.filedb.filestore import FileStorage

    return [seg.segment_id() for seg in windex.TOC.read(FileStorage(str(folder)), si.INDEXNAME).segments]


def test_parallel_workers_that_cannot_start_leave_the_work_to_this_process(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(whoosh_segments, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(whoosh_segments, "_SEGMENT_DOCS", 60)
    real_pool = whoosh_segments.process_pool
    monkeypatch.setattr(  # every worker exits as it starts
        whoosh_segments,
        "process_pool",
        lambda n, **kw: real_pool(n, context=kw["context"], initializer=os._exit, initargs=(3,)),
    )
    here = _segments_written_here(monkeypatch)
    seen: list[int] = []
    ix = SearchIndex(tmp_path / "w", workers=2)
    ix.update(corpus, progress=seen.append)
    assert sum(here) == len(corpus) and len(here) > 2  # every segment written here
    assert seen[-1] == len(corpus) and seen == sorted(set(seen))
    assert not list((tmp_path / "w").glob(".tmp-*"))
    ser = SearchIndex(tmp_path / "ser", workers=1)
    ser.update(corpus)
    assert _answers(ix) == _answers(ser)
    ix.close()
    ser.close()


def _die_in_segment_one(job):
    """A segment worker's job (``whoosh_segments._segment_job``) whose worker is killed half-way
    through segment 1: its text store written, some progress sent, its postings not."""
    from site_builder.search import whoosh_segments as ws

    if job[1] == 1:
        real = ws._write_postings

        def killed(*args):
            os._exit(9)

        ws._write_postings = killed
        try:
            return ws._segment_job(job)
        finally:
            ws._write_postings = real
    return ws._segment_job(job)


def test_a_segment_worker_killed_half_way_leaves_its_segment_to_this_process(corpus, tmp_path, monkeypatch):
    # Segment 1's worker dies (the pool breaks): the segments that came back are kept, the rest are
    # written here; what the dead worker reported is not reported again, what it left is removed.
    monkeypatch.setattr(whoosh_segments, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(whoosh_segments, "_SEGMENT_DOCS", 100)  # (two segments, over 50 docs each)
    monkeypatch.setattr(whoosh_segments, "_segment_job", _die_in_segment_one)
    here = _segments_written_here(monkeypatch)
    seen: list[int] = []
    ix = SearchIndex(tmp_path / "w", workers=2)
    ix.update(corpus, progress=seen.append)
    assert len(corpus) > 150 and here[-1] == len(corpus) // 2  # segment 1 (and 0 if not back by then)
    assert seen[-1] == len(corpus) and seen == sorted(set(seen))  # each document counted once
    folder = tmp_path / "w"
    assert not list(folder.glob(".tmp-*"))
    ids = _segment_ids(folder)
    assert _store_names(folder) == {f"gt_{i}.bin" for i in ids}  # (the dead worker's segment: gone)
    assert {p.name.split(".")[0] for p in folder.glob("MAIN_*") if p.name != "MAIN_WRITELOCK"} == set(ids)
    ser = SearchIndex(tmp_path / "ser", workers=1)
    ser.update(corpus)
    assert _answers(ix) == _answers(ser)
    ix.close()
    ser.close()


UNGUARDED_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
with open(sys.argv[2] + "/runs.txt", "a") as fh:  # (each time this top level runs)
    fh.write("run\\n")
from site_builder.search import whoosh_segments as ws
from site_builder.search.whoosh_index import IndexDoc, SearchIndex
ws._PARALLEL_MIN, ws._SEGMENT_DOCS = 2, 4
real, here = ws._write_segments_parallel, []
def parallel(*args):
    segs = real(*args)
    print("segments:", len(segs), "written here:", len(here))
    return segs
ws._write_segments_parallel = parallel
real_batch = ws._write_batch
ws._write_batch = lambda *a: here.append(1) or real_batch(*a)
docs = [
    IndexDoc(f"s/{i}.md", f"p/{i}.html", f"第{i}篇", "2020", 2020, "座谈会", ("主题",), f"党建{i}", f"{i}")
    for i in range(12)
]
ix = SearchIndex(sys.argv[2] + "/ix", workers=2)
ix.update(docs)
print("total:", ix.search("党建")["total"])
"""


def test_parallel_workers_do_not_run_an_unguarded_main_script_again(tmp_path):
    # The segment workers are new interpreters that import the index's module only; with
    # multiprocessing's spawn (or forkserver) each would run the calling script's top level again.
    script = tmp_path / "script.py"
    script.write_text(UNGUARDED_SCRIPT, encoding="utf-8")
    REPO = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(script), str(REPO), str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["segments: 3 written here: 0", "total: 12"]
    assert (tmp_path / "runs.txt").read_text() == "run\n"


def test_failed_update_keeps_previous_index(corpus, tmp_path, monkeypatch):
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(corpus)
    before = _answers(ix)
    calls = [0]
    real = si._TermWriter.add

    def broken(*a, **k):
        calls[0] += 1
        if calls[0] > 50:
            raise OSError("disk full")
        return real(*a, **k)

    monkeypatch.setattr(si._TermWriter, "add", broken)
    edited = _edit(corpus, random.Random(4), 5, 2, 2, tag=7)
    with pytest.raises(OSError):
        ix.update(edited)
    assert _answers(ix) == before
    monkeypatch.setattr(si._TermWriter, "add", real)
    ix.update(edited)
    clean = SearchIndex(tmp_path / "clean", workers=1)
    clean.update(edited)
    assert _answers(ix) == _answers(clean)


KILL_SCRIPT = """
import os, sys, pickle
sys.path.insert(0, sys.argv[1])
from site_builder.search import whoosh_index as si
docs = pickle.load(open(sys.argv[3], "rb"))
calls = [0]
where, when = sys.argv[4].split(":")
owner = {"_commit_toc": si._Writer, "add": si._TermWriter}[where]
real = getattr(owner, where)
def dying(*a, **k):
    calls[0] += 1
    if calls[0] == int(when):
        os._exit(3)
    return real(*a, **k)
setattr(owner, where, dying)
si.SearchIndex(si.Path(sys.argv[2]), workers=1).update(docs)
"""


@pytest.mark.parametrize("when", ["add:20", "_commit_toc:1"])
def test_killed_update_keeps_previous_index(corpus, tmp_path, when):
    import pickle

    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(corpus)
    before = _answers(ix)
    edited = _edit(corpus, random.Random(5), 4, 2, 2, tag=8)
    (tmp_path / "docs.pkl").write_bytes(pickle.dumps(edited))
    r = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(REPO), str(tmp_path / "w"), str(tmp_path / "docs.pkl"), str(when)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3, r.stderr
    fresh = SearchIndex(tmp_path / "w", workers=1)
    assert _answers(fresh) == before
    fresh.update(edited)
    clean = SearchIndex(tmp_path / "clean", workers=1)
    clean.update(edited)
    assert _answers(fresh) == _answers(clean)


def test_missing_index_and_foreign_folder(tmp_path):
    ix = SearchIndex(tmp_path / "nothing")
    assert not ix.exists()
    assert not (tmp_path / "nothing").exists()  # the constructor creates nothing
    with pytest.raises(FileNotFoundError):
        ix.search("党建")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        SearchIndex(tmp_path / "busy").update([])
    assert (tmp_path / "busy" / "notes.txt").exists()


def test_duplicate_ids_rejected(tmp_path):
    d = make_doc("a.md", "t", "b", "2020", 2020, "x", ())
    with pytest.raises(ValueError, match="same id"):
        SearchIndex(tmp_path / "w").update([d, d])


def test_misaligned_byte_matches_are_not_hits(tmp_path):
    # The folded texts are stored as UTF-16-LE; a term's bytes can occur straddling two
    # characters (odd offset). Build such a text and check the verification rejects it.
    rnd = random.Random(13)
    while True:
        cs = [rnd.randrange(0x4E00, 0x9FA0) for _ in range(4)]
        b = b"".join(c.to_bytes(2, "little") for c in cs)
        ts = [chr(int.from_bytes(b[1 + 2 * k : 3 + 2 * k], "little")) for k in range(3)]
        term = "".join(ts)
        if all(0x4E00 <= ord(t) < 0x9FA0 and analysis.fold(t) == t for t in ts) and term not in "".join(map(chr, cs)):
            break
    text = "".join(map(chr, cs))
    body = f"{text}，{ts[0]}{ts[1]}，{ts[1]}{ts[2]}。"
    assert term.encode("utf-16-le") in body.encode("utf-16-le")  # only at an odd offset
    docs = [
        make_doc("a.md", "标题", body, "2020", 2020, "x", ()),
        make_doc("b.md", "标题", f"{term}出现了", "2021", 2021, "x", ()),
    ]
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    assert hit_ids(ix, term) == truth(docs, term) == {"b.md"}
    ix.close()


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("黨建党ＡBｃ１2 \u3000\n\tﬁ，。（）：") + ["\U00020000", "Ⅻ"]), max_size=40)
)
def test_unfold_restores_the_original(body):
    assert si._unfold(analysis.fold(body), si._patches(body)) == body


def test_every_substring_of_tricky_texts(tmp_path):
    # Pairs occur early and again later inside the term; astral characters (two UTF-16 code
    # units); phrases with spaces and two-character pieces; overlapping repeats.
    bodies = [
        "建工党建，工作。后来：党建工作会议。党建 工作",
        "𠀀𠀁党建𠀂工作，然后党建工作开始了。",
        "从严 治党，从严治党；治党从严 治党",
        "abab abcab cabc abcabc",
        "工作党建工作党建工作党建",
    ]
    docs = [make_doc(f"{i}.md", "题", b, "2020", 2020, "x", ()) for i, b in enumerate(bodies)]
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    terms = {b[i:j] for b in bodies for i in range(len(b)) for j in range(i + 1, min(len(b), i + 9) + 1)}
    for t in sorted(terms):
        if t.strip() != t or '"' in t or t.startswith("-") or t == "OR":
            continue
        q = f'"{t}"'
        assert hit_ids(ix, q) == truth(docs, q), t
    ix.close()


def test_counting_proof_agrees_with_the_text(corpus, tmp_path, monkeypatch):
    # Force the counting proof (normally used only for terms with many candidates, and only where
    # the occurrences are not counted anyway: excluded terms, the despaced retry).
    monkeypatch.setattr(whoosh_evaluate, "_PROOF_MIN", 0)
    extra = [
        make_doc("x/many.md", "题", "哈" * 300 + "哈呵哈" + "呵" * 260 + "哈呵呵哈", "2020", 2020, "x", ()),
        make_doc("x/pairs.md", "题", "党组，组织。党组织？组组织织。", "2020", 2020, "x", ()),
        # all pairs, no occurrence, and the count bound is exactly 0
        make_doc("x/zero.md", "题", "党组，组织。丙丁，丁戊。", "2020", 2020, "x", ()),
        # the inner character's count is capped (600 → 255): the bound must not be used
        make_doc("x/capped.md", "题", "甲乙，" * 200 + "乙丙，" * 100 + "乙，" * 300, "2020", 2020, "x", ()),
    ]
    docs = corpus + extra
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    rnd = random.Random(17)
    terms = _random_terms(docs, rnd, 150, 3, 8) + [
        "哈哈哈",
        "哈呵哈",
        "呵呵哈",
        "哈呵呵哈",
        "党组织",
        "组组织",
        "组织织",
        "党组织？组",
        "哈哈哈哈哈呵",
        "丙丁戊",
        "甲乙丙",
    ]
    for t in terms:
        assert hit_ids(ix, t) == truth(docs, t), t
        excluding = f'题 -"{t}"'  # an excluded term is proved by counts, not counted
        if '"' not in t and t.strip():
            assert hit_ids(ix, excluding) == truth(docs, excluding), t
    ix.close()


def test_occurrences_from_key_counts_equal_the_text(corpus, tmp_path):
    """A term's occurrences in a text are decided from the key counts where their bounds meet (the
    text is not read) and a scan stops at the upper bound: the counts stay those of the text."""
    extra = [
        # bounds meet: 党组 3, 组织 3, 组 3 (one in the title, two in the body)
        make_doc("x/decided.md", "党组织建设", "党组织很重要。\n加强党组织。", "2020", 2020, "x", ()),
        make_doc("x/pairs.md", "题", "党组，组织。党组织？组组织织。", "2020", 2020, "x", ()),
        make_doc("x/self.md", "哈哈哈", "哈哈哈哈哈。哈哈哈\n哈哈", "2020", 2020, "x", ()),
        make_doc("x/capped.md", "题", "甲乙丙，" * 300 + "乙，" * 10, "2020", 2020, "x", ()),
        make_doc("x/capped2.md", "题", "甲乙丙" * 260, "2020", 2020, "x", ()),
        make_doc("x/early.md", "题", "全面从严治党" * 3 + "。其他内容" * 50, "2020", 2020, "x", ()),
    ]
    docs = corpus + extra
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(docs)
    rnd = random.Random(23)
    terms = _random_terms(docs, rnd, 150, 3, 8) + ["党组织", "哈哈哈", "甲乙丙", "乙丙，甲", "全面从严治党", "严治党"]
    for t in terms:
        if '"' in t or not t.strip() or " " in t.strip():
            continue
        folded = analysis.fold(t.strip())
        want = {
            d.id: sum(analysis.fold(line).count(folded) for line in d.body.split("\n"))
            for d in docs
            if d.id in truth(docs, f'"{t.strip()}"')
        }
        got = {h["source"]: h["occurrences"] for h in ix.search(f'"{t.strip()}"', limit=100000)["hits"]}
        assert got == want, t
    ix.close()
    fresh = SearchIndex(tmp_path / "w", workers=1)
    fresh.search("题", limit=1)  # opens the snapshot
    snap = fresh._snapshot()
    decided = [m[0] if m else None for m in snap.meta].index("x/decided.md")

    def unread(*_args):
        raise AssertionError("the text of x/decided.md was read")

    snap.span[decided] = (unread, 0, 0)
    hits = {h["source"]: h["occurrences"] for h in fresh.search("党组织", limit=100000)["hits"]}
    assert hits["x/decided.md"] == 2
    fresh.close()


def test_damaged_index_is_rebuilt_by_update(corpus, tmp_path):
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(corpus)
    expected = _answers(ix)
    ix.close()
    for store in (tmp_path / "w").glob("gt_*.bin"):
        store.unlink()
    fresh = SearchIndex(tmp_path / "w", workers=1)
    with pytest.raises(OSError):
        fresh.search("党建")
    assert fresh.update(corpus)["added"] == len(corpus)
    assert _answers(fresh) == expected
    fresh.close()


# -- Whoosh's private internals (#12: used from search/whoosh_compat.py only) ------------------------


def test_whoosh_private_names_still_exist(index):
    """The installed Whoosh still has every private name the index relies on, with the layouts it
    packs by hand: a Whoosh that renames or changes one fails here, not in a build."""
    import importlib

    from whoosh.codec.whoosh3 import W3TermInfo
    from whoosh.filedb import filetables

    for module, owner, names in whoosh_compat.PRIVATE_NAMES:
        obj = importlib.import_module(module)
        if owner is not None:
            obj = getattr(obj, owner)
        for name in names:
            assert hasattr(obj, name), f"{module}.{owner or ''}.{name} is gone: update search/whoosh_compat.py"
    assert W3TermInfo._struct.format == whoosh_compat.TERMINFO.format
    assert filetables._lengths.format == whoosh_compat.KVLEN.format
    # instance attributes: on a real segment reader and field writer
    from whoosh import index as windex

    with windex.open_dir(str(index.index_dir)).searcher() as s:
        reader = s.reader()
        assert all(hasattr(reader, n) for n in whoosh_compat.READER_ATTRIBUTES)
        terms, postfile = whoosh_compat.reader_terms(reader)
        assert all(hasattr(terms, n) for n in whoosh_compat.TERMS_READER_ATTRIBUTES) and postfile is not None
    from whoosh.codec import default_codec
    from whoosh.filedb.filestore import FileStorage, RamStorage

    storage = RamStorage()
    codec = default_codec()
    segment = codec.new_segment(storage, "t")
    fw = codec.field_writer(storage, segment)
    assert all(hasattr(fw, n) for n in whoosh_compat.FIELD_WRITER_ATTRIBUTES)
    fw.start_field("g", whoosh_segments.GramField())
    assert isinstance(whoosh_compat.field_id(fw), int)
    postfile, tindex = whoosh_compat.field_writer_files(fw)
    assert postfile is not None and all(hasattr(tindex, n) for n in whoosh_compat.TERM_INDEX_ATTRIBUTES)
    fw.finish_field()
    fw.close()
    disk = FileStorage(str(index.index_dir), readonly=True)
    assert whoosh_compat.latest_generation(disk, si.INDEXNAME) == windex.TOC.read(disk, si.INDEXNAME).generation


def test_only_whoosh_compat_uses_whoosh_private_names():
    names = {n for _m, _o, ns in whoosh_compat.PRIVATE_NAMES for n in ns}
    names |= set(whoosh_compat.FIELD_WRITER_ATTRIBUTES + whoosh_compat.READER_ATTRIBUTES)
    names |= set(whoosh_compat.TERMS_READER_ATTRIBUTES)
    pattern = re.compile(r"\.(" + "|".join(sorted(names)) + r")\b")
    users = []
    for path in sorted((REPO / "site_builder").rglob("*.py")):
        if path.name == "whoosh_compat.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                users.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert users == []


# -- what opening a generation needs, precomputed (#15: search/whoosh_summary.py) ------------------


def _summaries(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("gt_summary_"))


def _snapshot_state(snap) -> dict:
    names = (
        "titles blen bstart norm datekey sources years types themes speakers orgs by_year by_type "
        "by_theme by_speaker by_org chars_by_year deleted n_live avglen total_docs"
    ).split()
    state = {n: getattr(snap, n) for n in names}
    state["orders"] = [list(getattr(snap, n)) for n in names if isinstance(getattr(snap, n), dict)]
    state["meta"] = list(snap.meta)
    state["heads"] = [snap.heads[d] for d in range(len(snap.heads))]
    state["span"] = [s[1:] for s in snap.span]
    state["loc"] = [(store.path.name, i) for store, i in snap.loc]
    return state


def test_summary_per_generation_equals_what_the_stores_give(corpus, tmp_path):
    ix = SearchIndex(tmp_path / "w", workers=1)
    ix.update(corpus)
    first = ix._snapshot().generation
    assert _summaries(tmp_path / "w") == [f"gt_summary_{first}.marshal"]  # written by update()
    ix.update(_edit(corpus, random.Random(5), n_edit=3, n_add=2, n_del=2, tag=1))
    gen = ix._snapshot().generation
    ix.close()
    assert gen > first and _summaries(tmp_path / "w") == [f"gt_summary_{gen}.marshal"]  # the old one removed
    loaded = si._Snapshot(tmp_path / "w")
    assert isinstance(loaded.meta, whoosh_summary.MetaRecords) and loaded.deleted
    (tmp_path / "w" / f"gt_summary_{gen}.marshal").unlink()
    computed = si._Snapshot(tmp_path / "w")  # from the text stores, as before the summary
    assert isinstance(computed.meta, list)
    assert _snapshot_state(loaded) == _snapshot_state(computed)
    assert loaded.meta[-1] == computed.meta[-1] and loaded.meta[2:5] == computed.meta[2:5]
    with pytest.raises(IndexError):
        loaded.meta[len(computed.meta)]
    assert _summaries(tmp_path / "w") == [f"gt_summary_{gen}.marshal"]  # written again by that snapshot
    loaded.close()
    computed.close()


@pytest.mark.parametrize("damage", ["missing", "truncated", "flipped", "garbage", "previous generation", "unwritable"])
def test_damaged_or_stale_summary_is_recomputed(corpus, tmp_path, damage, monkeypatch):
    d = tmp_path / "w"
    ix = SearchIndex(d, workers=1)
    ix.update(corpus)
    old = (d / f"gt_summary_{ix._snapshot().generation}.marshal").read_bytes()
    new_doc = make_doc("z/new.md", "新增的讲话", "这是更新后才有的独特词语甲乙丙丁。", "2021-05-06", 2021, "座谈会", ())
    ix.update([*corpus, new_doc])
    expected = _answers(ix)
    path = d / f"gt_summary_{ix._snapshot().generation}.marshal"
    ix.close()
    good = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "flipped":
        path.write_bytes(good[:-100] + bytes([good[-100] ^ 0xFF]) + good[-99:])
    elif damage == "garbage":
        path.write_bytes(b"not a summary")
    elif damage == "previous generation":  # whole, but computed before the update
        path.write_bytes(old)
    else:
        path.unlink()

        def refuse(*_args):
            raise PermissionError("read-only index")

        monkeypatch.setattr(fileio.os, "replace", refuse)  # the one atomic write (fileio)
    fresh = SearchIndex(d, workers=1)  # as a new `site-builder search` process
    assert _answers(fresh) == expected
    assert [h["source"] for h in fresh.search("甲乙丙丁")["hits"]] == ["z/new.md"]
    fresh.close()
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp") or fileio.TEMP_NAME.fullmatch(p.name)]
    if damage == "unwritable":
        assert not path.exists()
    else:
        again = si._Snapshot(d)  # the recomputed summary was written, whole
        assert isinstance(again.meta, whoosh_summary.MetaRecords)
        again.close()


@settings(max_examples=300, deadline=None)
@given(
    heads=st.lists(st.text(alphabet="党建廉政a工作 \x00\ud800é", max_size=12), min_size=1, max_size=6),
    term=st.text(alphabet="党建廉政a工作 \x00\ud800é", min_size=1, max_size=3),
)
def test_headings_match_as_their_text(heads, term):
    """Headings looked for encoded (UTF-8 with lone surrogates) match exactly where the text does."""
    h = whoosh_summary.Headings.of_encoded([x.encode("utf-8", "surrogatepass") for x in heads])
    tb = term.encode("utf-8", "surrogatepass")
    assert [h[d] for d in range(len(h))] == heads
    assert [h.has(d, tb) for d in range(len(h))] == [term in x for x in heads]


def test_whoosh_is_imported_without_urllib_request_which_is_real_when_asked_for(tmp_path):
    """`site-builder search` imports ``site_builder.search`` before Whoosh: ``whoosh.compat`` then
    gets a stand-in ``urlretrieve`` (no ``http.client``, ``email``, ``ssl``), which calls the real one."""
    code = (
        "import sys, site_builder.search, site_builder.search.whoosh_index, whoosh.compat\n"
        "assert not [m for m in ('urllib.request', 'http.client', 'email', 'ssl') if m in sys.modules]\n"
        "path, _ = whoosh.compat.urlretrieve('data:,hello', 'got.txt')\n"
        "import urllib.request\n"
        "assert open(path).read() == 'hello' and urllib.request.urlretrieve is not whoosh.compat.urlretrieve\n"
        "assert callable(urllib.request.urlopen) and 'http.client' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
