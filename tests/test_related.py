"""Related speeches: deterministic, sensible, cached per speech, and fast enough."""

from __future__ import annotations

import dataclasses
import math
import pickle
import random
from collections import Counter

import pytest
from conftest import keyword_table

from site_builder import related, related_scores
from site_builder.search.whoosh_index import IndexDoc

TOPICS = {
    "safety": "安全生产 隐患排查 应急管理 消防安全 危险化学品 事故 整改 安全责任 监管 防汛",
    "clean": "党风廉政建设 纪律 监督执纪 廉洁自律 违纪 巡察 腐败 作风 八项规定 问责",
    "economy": "经济发展 营商环境 招商引资 项目建设 产业升级 投资 财政收入 企业 市场主体 开发区",
    "village": "乡村振兴 农业 农村 农民 合作社 耕地 粮食 脱贫 人居环境 特色产业",
}
FILLER = "我们要认真贯彻落实会议精神，进一步加强工作，切实抓好各项任务。同志们，"


def make(i: int, topic: str, rnd: random.Random, extra: str = "") -> IndexDoc:
    words = TOPICS[topic].split()
    sentences = []
    for _ in range(30):
        a, b = rnd.sample(words, 2)
        sentences.append(f"{FILLER}要把{a}和{b}放在突出位置，推动{a}工作取得实效。")
    body = "".join(sentences) + extra
    title = f"在{topic}工作会议上的讲话{i}"
    return IndexDoc(
        id=f"{2000 + i % 20}/{topic}-{i:03d}.md",
        url=f"s/{i}.html",
        title=title,
        date=f"{2000 + i % 20}",
        year=2000 + i % 20,
        meeting_type="工作会议",
        themes=(topic,),
        body=body,
        fingerprint=f"{topic}-{i}-{hash(body)}",
    )


@pytest.fixture(scope="module")
def docs():
    rnd = random.Random(3)
    topics = list(TOPICS)
    return [make(i, topics[i % 4], rnd) for i in range(80)]


def test_related_are_on_the_same_topic(docs):
    rel = related.compute_related(docs, k=5, workers=1)
    assert set(rel) == {d.id for d in docs}
    topic_of = {d.id: d.themes[0] for d in docs}
    same = total = 0
    for d in docs:
        r = rel[d.id]
        assert len(r) == 5
        assert d.id not in r
        assert len(set(r)) == 5
        same += sum(topic_of[x] == topic_of[d.id] for x in r)
        total += len(r)
    assert same / total > 0.95


def test_deterministic_and_order_independent(docs):
    a = related.compute_related(docs, k=4, workers=1)
    assert set(a) == {d.id for d in docs} and all(len(r) == 4 for r in a.values())  # not trivially equal
    assert related.compute_related(docs, k=4, workers=1) == a  # the same again
    shuffled = list(docs)
    random.Random(1).shuffle(shuffled)
    b = related.compute_related(shuffled, k=4, workers=1)
    assert a == b


def test_ties_broken_by_id():
    body = "安全生产隐患排查应急管理消防安全" * 5
    docs = [
        IndexDoc(
            id=f"{c}.md",
            url="",
            title="同题",
            date="2020",
            year=2020,
            meeting_type="",
            themes=(),
            body=body,
            fingerprint=c,
        )
        for c in "dbca"
    ]
    docs.append(
        IndexDoc(
            id="z.md",
            url="",
            title="别的",
            date="2020",
            year=2020,
            meeting_type="",
            themes=(),
            body="乡村振兴农业农村" * 5,
            fingerprint="z",
        )
    )
    rel = related.compute_related(docs, k=3, workers=1)
    assert rel["a.md"] == ["b.md", "c.md", "d.md"]
    assert rel["d.md"] == ["a.md", "b.md", "c.md"]


def test_small_and_empty_inputs():
    assert related.compute_related([], k=5) == {}
    one = IndexDoc(
        id="a.md",
        url="",
        title="t",
        date="2020",
        year=2020,
        meeting_type="",
        themes=(),
        body="安全生产",
        fingerprint="1",
    )
    assert related.compute_related([one], k=5) == {"a.md": []}
    blank = dataclasses.replace(one, id="b.md", body="，。", title="", fingerprint="2")
    assert related.compute_related([one, blank], k=5) == {"a.md": [], "b.md": []}


def test_cache_used_and_refreshed(docs, tmp_path, monkeypatch):
    first = related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    assert (tmp_path / related._CACHE_FILE).exists()
    calls = []
    real = related.doc_keywords

    def counting(title, body, n=related.CANDIDATES):
        calls.append(title)
        return real(title, body, n)

    monkeypatch.setattr(related, "doc_keywords", counting)
    assert related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1) == first
    assert calls == []
    changed = list(docs)
    changed[0] = dataclasses.replace(docs[0], body=docs[0].body + "新增内容", fingerprint="new")
    related.compute_related(changed, k=5, cache_dir=tmp_path, workers=1)
    assert calls == [docs[0].title]
    # A damaged cache is ignored, not fatal.
    (tmp_path / related._CACHE_FILE).write_bytes(b"garbage")
    assert related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1) == first


def test_the_cache_stores_whole_numbers_narrow_and_reads_them_as_used(docs, tmp_path):
    """#15: word numbers, counts and rows stored as uint16 where they fit (2 bytes, not 4), read
    back in the types the scores use; a rebuild from the cache gives the same lists."""
    import numpy as np

    from site_builder import related_scores

    first = related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1)
    with open(tmp_path / related._CACHE_FILE, "rb") as fh:
        meta = pickle.load(fh)
        stored = {name: np.load(fh, allow_pickle=False) for name in meta["arrays"]}
    assert stored["words"].dtype == np.uint16 and stored["counts"].dtype == np.uint16
    assert stored["doc"].dtype == np.uint16 and stored["x"].dtype == np.float64
    assert {n for n, a in stored.items() if a.dtype == np.uint16} <= set(related_scores.WIDE)
    loaded = related._load_cache(tmp_path)
    assert loaded is not None
    assert loaded.table.words.dtype == np.int32 and loaded.table.counts.dtype == np.uint32
    assert loaded.state["doc"].dtype == np.int32 and loaded.state["x"].dtype == np.float64
    assert related.compute_related(docs, k=5, cache_dir=tmp_path, workers=1) == first
    assert related_scores.narrow("words", np.array([70_000], dtype=np.int32)).dtype == np.int32  # (too big)


def test_parallel_extraction_equals_serial(docs, monkeypatch):
    monkeypatch.setattr(related, "_PARALLEL_MIN", 10)
    assert related.compute_related(docs, k=5, workers=2) == related.compute_related(docs, k=5, workers=1)


def test_keywords():
    text = "安全生产是头等大事。我们要抓好安全生产，排查隐患，落实安全生产责任制。隐患排查要细。"
    kws = related.keywords(text, 4)
    assert kws[:2] == ["安全", "生产"]  # rjieba splits 安全生产
    assert "隐患" in kws
    assert "我们" not in kws and all(len(k) >= 2 for k in kws)
    assert related.keywords("", 5) == []
    assert related.keywords("ＧＤＰ增长，GDP质量", 2)[0] == "gdp"


def _reference_similar(ids, cands, k):
    """The algorithm of the module docstring, written plainly (slow, obviously right)."""
    n = len(ids)
    df = Counter(w for kws in cands for w, _ in kws)
    idf = {w: math.log(n) - math.log(c) for w, c in df.items()}
    vectors = []
    for kws in cands:
        weighted = sorted(((w, (1 + math.log(c)) * idf[w]) for w, c in kws), key=lambda wx: (-wx[1], wx[0]))
        weighted = [wx for wx in weighted if wx[1] > 0][: related.VECTOR]
        norm = math.sqrt(sum(x * x for _, x in weighted)) or 1.0
        vectors.append({w: x / norm for w, x in weighted})
    postings = {}
    for d, vec in enumerate(vectors):
        for w, x in vec.items():
            postings.setdefault(w, []).append((x, d))
    for w in postings:
        postings[w] = sorted(postings[w], key=lambda xd: (-xd[0], xd[1]))[: related.POSTINGS]
    out = {}
    for d, vec in enumerate(vectors):
        acc = Counter()
        for w, x in vec.items():
            for y, o in postings[w]:
                if o != d:
                    acc[o] += x * y
        ranked = sorted(acc.items(), key=lambda oy: (-round(oy[1], 9), ids[oy[0]]))
        out[ids[d]] = [ids[o] for o, _ in ranked[:k]]
    return out


def test_vectorised_similarity_equals_the_plain_algorithm():
    # 2,000 speeches of ~100 candidate words from a 3,000-word vocabulary, skewed frequencies
    # (many words in many speeches, so postings are cut to POSTINGS and scores tie).
    rnd = random.Random(5)
    vocab = [f"词{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(3000)]
    ids = [f"{i:05d}.md" for i in range(2000)]
    cands = []
    for _ in ids:
        words = dict.fromkeys(rnd.choices(vocab, weights, k=120))  # pinned order (a set's depends on the hash seed)
        cands.append(sorted(((w, rnd.randint(1, 30)) for w in words), key=lambda x: (-x[1], x[0]))[:100])
    cands[7] = []  # a speech without content words
    rel = related._similar(ids, cands, 5)
    assert rel == _reference_similar(ids, cands, 5)
    assert rel[ids[7]] == []
    assert sum(len(v) == 5 for v in rel.values()) >= 1990


def test_rescoring_only_what_changed_equals_scoring_everything(monkeypatch):
    # Edits that change counts, drop and add words, empty a speech, touch the common words
    # (their postings) and the rare ones: the incremental answer is always the full one.
    rnd = random.Random(11)
    vocab = [f"词{i}" for i in range(4000)]
    weights = [1 / (i + 1) for i in range(4000)]
    ids = [f"{i:04d}.md" for i in range(300)]

    def cand():
        words = dict.fromkeys(rnd.choices(vocab, weights, k=60))  # pinned order (a set's depends on the hash seed)
        return sorted(((w, rnd.randint(1, 30)) for w in words), key=lambda x: (-x[1], x[0]))[:40]

    cands = [cand() for _ in ids]
    scored = []
    real_top_k = related_scores._top_k

    def counting(rows, others, vals, block, *args):
        scored[-1] += len(block)
        return real_top_k(rows, others, vals, block, *args)

    monkeypatch.setattr(related_scores, "_top_k", counting)
    state: dict = {}
    scored.append(0)
    related._similar_packed(ids, [related._pack(c) for c in cands], 5, previous=state)
    rescored = []
    for step in range(12):
        d = rnd.randrange(len(ids))
        if step % 4 == 0:
            cands[d] = cand()  # a rewritten speech
        elif step % 4 == 1:
            cands[d] = [(w, c + 1) for w, c in cands[d]]  # a paragraph added
        elif step % 4 == 2:
            cands[d] = [] if step < 6 else [("新词", 3)] + cands[d][1:]  # emptied / a new word
        else:
            cands[d] = cands[d][:-5]
        packed = [related._pack(c) for c in cands]
        fresh = related._similar_packed(ids, packed, 5)
        scored.append(0)
        got = related._similar_packed(ids, packed, 5, previous=state)
        assert got == fresh, step
        rescored.append(scored[-1])
    assert all(r > 0 for r in rescored), rescored  # the edited speech at least
    # A paragraph added (counts change, the words do not): only a part is scored again.
    assert all(rescored[i] < len(ids) // 2 for i in (1, 5, 9)), rescored
    # Different ids (a speech added) fall back to scoring everything, and still agree.
    packed = [related._pack(c) for c in cands] + [related._pack(cand())]
    assert related._similar_packed(ids + ["9999.md"], packed, 5, previous=state) == related._similar_packed(
        ids + ["9999.md"], packed, 5
    )


def test_vectors_made_again_only_for_changed_speeches_equal_all_made_again(monkeypatch):
    # similar(…, fresh=rows): only those rows' vectors and those of speeches holding a word whose
    # df changed are made again (the vocabulary kept, growing): the answer is always the full one.
    import numpy as np

    rnd = random.Random(17)
    vocab = [f"词{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(3000)]
    ids = [f"{i:04d}.md" for i in range(400)]

    def row() -> dict[int, int]:
        return {w: rnd.randint(1, 30) for w in rnd.choices(range(3000), weights, k=60)}

    rows = [row() for _ in ids]
    made = []
    real = related_scores._heaviest

    def counting(table, idf, which=None):
        made.append(len(table.offsets) - 1 if which is None else len(which))
        return real(table, idf, which)

    monkeypatch.setattr(related_scores, "_heaviest", counting)
    state: dict = {}
    related_scores.similar(ids, keyword_table(rows, vocab), 5, previous=state)
    for step in range(16):
        d = rnd.randrange(len(ids))
        kind = step % 4
        if kind == 0:
            rows[d] = {w: c + 1 for w, c in rows[d].items()}  # a paragraph added: counts only
        elif kind == 1:
            rows[d] = row()  # rewritten: words come and go (their df changes)
        elif kind == 2:
            vocab.append(f"新词{step}")  # a new word, the vocabulary grows
            rows[d] = {len(vocab) - 1: 3, **dict(list(rows[d].items())[1:])}
        else:
            rows[d] = {} if step < 8 else dict(list(rows[d].items())[:-5])  # emptied / words dropped
        table = keyword_table(rows, vocab)
        made.clear()
        got = related_scores.similar(ids, table, 5, previous=state, fresh=np.array([d]))
        partial = list(made)
        want = related_scores.similar(ids, keyword_table(rows, vocab), 5)
        assert (got == want).all(), step
        if kind == 0:
            assert partial == [1], (step, partial)  # only the changed speech's vector made again
    # Another number of speeches (one added): every vector is made again, and still agrees.
    rows.append(row())
    table = keyword_table(rows, vocab)
    got = related_scores.similar(ids + ["9999.md"], table, 5, previous=state, fresh=np.array([len(ids)]))
    assert (got == related_scores.similar(ids + ["9999.md"], table, 5)).all()


def test_cached_rebuilds_equal_clean_ones(docs, tmp_path, monkeypatch):
    # compute_related with a cache after edits of each kind equals it without one; also after
    # the vocabulary was compacted (words numbered again, their df with them).
    monkeypatch.setattr(related, "_VOCAB_SLACK", 0)
    rnd = random.Random(23)
    current = list(docs)
    related.compute_related(current, k=5, cache_dir=tmp_path, workers=1)
    for step in range(6):
        d = rnd.randrange(len(current))
        one = current[d]
        if step % 3 == 0:
            one = dataclasses.replace(one, body=one.body + "要把安全生产放在突出位置。", fingerprint=f"a{step}")
        elif step % 3 == 1:
            one = dataclasses.replace(one, body="乡村振兴 合作社 耕地 " * 20, fingerprint=f"b{step}")
        else:
            one = dataclasses.replace(one, title=one.title + "新标题词汇", fingerprint=f"c{step}")
        current[d] = one
        cached = related.compute_related(current, k=5, cache_dir=tmp_path, workers=1)
        assert cached == related.compute_related(current, k=5, workers=1), step
    words = " ".join(TOPICS.values()).split()
    current = [
        dataclasses.replace(d, body=" ".join(rnd.sample(words[:10], 5)), title="讲话", fingerprint=f"f{i}")
        for i, d in enumerate(current)
    ]
    vocab_before = len(related._load_cache(tmp_path).table.vocab)
    assert related.compute_related(current, k=5, cache_dir=tmp_path, workers=1) == related.compute_related(current, k=5)
    assert len(related._load_cache(tmp_path).table.vocab) < vocab_before  # compacted
    current[3] = dataclasses.replace(current[3], body=current[3].body + " 安全生产", fingerprint="g")
    made = []
    real = related_scores._heaviest
    monkeypatch.setattr(related_scores, "_heaviest", lambda t, idf, rows=None: made.append(rows) or real(t, idf, rows))
    cached = related.compute_related(current, k=5, cache_dir=tmp_path, workers=1)
    row = sorted(d.id for d in current).index(current[3].id)
    assert [None if r is None else list(r) for r in made] == [[row]]  # df kept through the compaction
    monkeypatch.undo()
    assert cached == related.compute_related(current, k=5, workers=1)


def test_excluded_speeches_give_their_places_to_the_next(docs):
    """Near-duplicates are never each other's related speech; the next most similar fill in."""
    full = related.compute_related(docs, k=6, workers=1)
    first = docs[0].id
    top = full[first][0]
    exclude = {first: {top}, top: {first}}
    rel = related.compute_related(docs, k=5, workers=1, exclude=exclude)
    assert top not in rel[first] and first not in rel[top]
    assert rel[first] == [r for r in full[first] if r != top][:5]
    untouched = [d.id for d in docs if d.id not in (first, top)]
    assert all(rel[i] == full[i][:5] for i in untouched)
