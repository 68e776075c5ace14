"""Related speeches, computed at build time from word keywords.

How it works (for the README):

* Each speech (title + body, folded like search) is segmented into words with rjieba; words
  of one character, numbers, punctuation and a list of function words (的, 我们, 一是, …) are
  dropped, title words count five times. The 100 most frequent words of each speech are kept
  (and cached per speech, keyed by its fingerprint, so an unchanged speech is never segmented
  again).
* Each word gets a TF-IDF weight, ``(1 + ln tf) × ln(N / df)`` (df = in how many speeches'
  lists it appears), and a speech is described by its 20 heaviest words (L2-normalised).
* Two speeches are related by the cosine similarity of these keyword vectors, computed
  through an inverted index over the keywords (for each keyword only the 30 speeches where it
  weighs most are visited, which keeps this fast for 10,000+ speeches). Each speech lists up
  to ``k`` others, most similar first; ties are broken by source path, so the result is
  deterministic.
* The vectors, postings and answers are cached too: when the same speeches are built again
  with some changed, only the speeches whose vector or whose words' postings changed are scored
  again (typically a few hundred of 10,000 when a paragraph is added to one); the answer equals
  scoring all of them (tested).

``keywords(text, n)`` returns the top words of one text by the same rules (used by the
importer to suggest themes).
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import re
from array import array
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import rjieba

from .fileio import write_atomic
from .search import analysis
from .workers import mp_context, process_pool

__all__ = ["compute_related", "keywords", "doc_keywords"]

_CACHE_VERSION = 4
_CACHE_FILE = "keywords.pickle"
CANDIDATES = 100  # words kept per speech (cached)
VECTOR = 20  # keywords per speech
POSTINGS = 30  # speeches visited per keyword
TITLE_WEIGHT = 5
_PARALLEL_MIN = 400

# Must contain a letter (CJK counts) and consist of word characters only.
_WORD = re.compile(r"(?=.*[^\W\d_])\w{2,}")

# fmt: off
STOPWORDS = frozenset(
    ["我们", "你们", "他们", "她们", "它们", "大家", "同志们", "同志", "自己", "咱们", "各位", "这个", "那个", "这些", "那些", "这样", "那样", "这种", "那种", "这里", "那里", "这次", "那次", "这是", "那是", "一个", "一些", "一种", "一次", "一项", "一批", "一步", "一样", "一直", "一定", "一般", "一方面", "另一方面", "一是", "二是", "三是", "四是", "五是", "六是", "七是", "八是", "九是", "十是", "首先", "其次", "再次", "最后", "第一", "第二", "第三", "第四", "第五", "一要", "二要", "三要", "四要", "进一步", "不断", "切实", "认真", "积极", "努力", "全面", "始终", "同时", "以及", "通过", "进行", "有关", "相关", "其中", "之一", "之间", "以上", "以下", "以来", "以后", "以前", "之后", "之前", "当前", "目前", "今后", "今年", "去年", "明年", "近年来", "近年", "当中", "方面", "情况", "问题", "工作", "方面", "地方", "时候", "时间", "能够", "可以", "没有", "不是", "就是", "还是", "但是", "因此", "所以", "如果", "虽然", "而且", "并且", "或者", "还有", "以便", "为了", "对于", "关于", "按照", "根据", "作为", "成为", "已经", "正在", "还要", "都要", "也要", "就要", "需要", "必须", "应该", "应当", "要求", "强调", "指出", "提出", "表示", "认为", "下面", "上面", "刚才", "这方面", "各级", "各类", "各项", "各个", "各种", "所有", "一切", "任何", "其他", "其它", "什么", "怎么", "怎样", "如何", "为什么", "非常", "十分", "比较", "更加", "更好", "特别", "尤其", "真正", "确实", "主要", "重要", "基本", "具体", "有效", "有力", "充分", "深入", "扎实", "持续", "坚决", "讲话", "会议", "今天", "召开", "发言", "谢谢", "好的", "的话", "来说", "来看", "起来", "下来", "出来", "上来", "进来", "一起", "一下", "之所以", "由于"]
)
# fmt: on


# --------------------------------------------------------------------------------------
# Keywords of one text


def _fold(text: str) -> str:
    """``analysis.fold``; a long text by a table lookup in numpy when it folds one to one."""
    if len(text) > 200:
        from .search.whoosh_records import _fold_one_to_one

        fast = _fold_one_to_one(text)
        if fast is not None:
            return fast[0]
    return analysis.fold(text)


def _counts(title: str, body: str) -> Counter:
    counts = Counter(rjieba.cut(_fold(body)))
    for word in rjieba.cut(analysis.fold(title)):
        counts[word] += TITLE_WEIGHT
    return counts


_CONTENT: dict[str, bool] = {}  # word → is a content word (not a stop word, a letter, 2+ word characters)


def _is_content(word: str) -> bool:
    ok = _CONTENT.get(word)
    if ok is None:
        ok = _CONTENT[word] = word not in STOPWORDS and _WORD.fullmatch(word) is not None
        if len(_CONTENT) > 1 << 20:  # bounded: a long-running process sees many words
            _CONTENT.clear()
    return ok


def _candidates(counts: Counter, n: int = CANDIDATES) -> list[tuple[str, int]]:
    ok = _CONTENT.get
    items = []
    for w, c in counts.items():
        keep = ok(w)
        if keep is None:
            keep = _is_content(w)
        if keep:
            items.append((-c, w))
    items.sort()  # most frequent first, ties by word
    return [(w, -c) for c, w in items[:n]]


def doc_keywords(title: str, body: str, n: int = CANDIDATES) -> list[tuple[str, int]]:
    """The ``n`` most frequent content words of a speech with their counts (title × 5)."""
    return _candidates(_counts(title, body), n)


def keywords(text: str, n: int = 10, *, idf: Mapping[str, float] | None = None) -> list[str]:
    """The top ``n`` keywords of ``text``: content words (2+ characters, no function words)
    by frequency — or by TF-IDF when ``idf`` (word → weight) is given — ties by longer word,
    then alphabetically."""
    cands = _candidates(_counts("", text), max(n * 5, CANDIDATES))
    if idf is not None:
        default = max(idf.values(), default=1.0)
        scored = [(w, (1 + math.log(c)) * idf.get(w, default)) for w, c in cands]
    else:
        scored = [(w, float(c)) for w, c in cands]
    scored.sort(key=lambda ws: (-ws[1], -len(ws[0]), ws[0]))
    return [w for w, _ in scored[:n]]


# --------------------------------------------------------------------------------------
# Cache of per-speech candidate words


def _pack(kws: list[tuple[str, int]]) -> tuple[str, bytes]:
    """Candidate words as (tab-separated words, uint32 counts): compact, and what
    ``_similar_packed`` reads."""
    counts = array("I", [c for _, c in kws])
    return "\t".join(w for w, _ in kws), counts.tobytes()


def _load_cache(cache_dir: Path | None) -> tuple[dict, dict]:
    """id → (fingerprint, packed candidate words), and the last result with its digest."""
    if cache_dir is None:
        return {}, {}
    try:
        with open(Path(cache_dir) / _CACHE_FILE, "rb") as f:
            data = pickle.load(f)
        if data.get("version") == _CACHE_VERSION:
            return data["docs"], data.get("result") or {}
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, ValueError, IndexError):
        pass
    return {}, {}


def _save_cache(cache_dir: Path, entries: dict, result: dict) -> None:
    """``entries``: id → (fingerprint, packed candidate words)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    state = {"version": _CACHE_VERSION, "docs": entries, "result": result}
    write_atomic(cache_dir / _CACHE_FILE, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


_JOBS: list[tuple[str, str]] = []  # inherited by forked workers


def _extract_range(lo: int, hi: int) -> list[list[tuple[str, int]]]:
    return [doc_keywords(title, body) for title, body in _JOBS[lo:hi]]


def _extract_pairs(pairs: list[tuple[str, str]]) -> list[list[tuple[str, int]]]:
    return [doc_keywords(title, body) for title, body in pairs]


def _extract(todo: list, workers: int) -> list[list[tuple[str, int]]]:
    global _JOBS
    pairs = [(d.title, d.body) for d in todo]
    if workers <= 1 or len(pairs) < _PARALLEL_MIN:
        return _extract_pairs(pairs)
    step = -(-len(pairs) // (workers * 4))
    ranges = [(i, min(i + step, len(pairs))) for i in range(0, len(pairs), step)]
    ctx = mp_context(prefer_fork=True)  # forked: no copying of the texts to the workers
    try:
        with process_pool(workers, context=ctx) as pool:
            if ctx.get_start_method() == "fork":
                _JOBS = pairs
                futures = [pool.submit(_extract_range, lo, hi) for lo, hi in ranges]
            else:
                futures = [pool.submit(_extract_pairs, pairs[lo:hi]) for lo, hi in ranges]
            return [kw for f in futures for kw in f.result()]
    except (BrokenProcessPool, OSError, RuntimeError):
        # Workers could not start (e.g. spawn from an unguarded __main__): do it here.
        return _extract_pairs(pairs)
    finally:
        _JOBS = []


# --------------------------------------------------------------------------------------
# Related speeches


def compute_related(
    docs: Sequence,
    k: int = 5,
    cache_dir: Path | None = None,
    *,
    workers: int | None = None,
    exclude: Mapping[str, Collection[str]] | None = None,
) -> dict[str, list[str]]:
    """Doc id → ids of up to ``k`` related speeches, most similar first (ties by id).

    ``docs`` are ``search_index.IndexDoc``s (``id``, ``title``, ``body``, ``fingerprint`` are
    used). ``cache_dir`` keeps each speech's candidate words keyed by its fingerprint.
    ``exclude``: id → ids never listed as its related speeches (its near-duplicates); the next
    most similar take their places.
    """
    extra = max((len(v) for v in exclude.values()), default=0) if exclude else 0
    related = _compute_related(docs, k + extra, cache_dir, workers)
    if not extra:
        return related
    assert exclude is not None
    return {i: [r for r in rs if r not in exclude.get(i, ())][:k] for i, rs in related.items()}


def _compute_related(docs: Sequence, k: int, cache_dir: Path | None, workers: int | None) -> dict[str, list[str]]:
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    docs = sorted(docs, key=lambda d: d.id)
    cache, cache_result = _load_cache(cache_dir)
    entries: dict[str, tuple[str, tuple[str, bytes]]] = {}  # id → (fingerprint, packed words)
    todo = []
    for d in docs:
        hit = cache.get(d.id)
        if hit is not None and hit[0] == d.fingerprint:
            entries[d.id] = hit
        else:
            todo.append(d)
    if todo:
        for d, kws in zip(todo, _extract(todo, workers)):
            entries[d.id] = (d.fingerprint, _pack(kws))
    # The answer depends only on the (id, fingerprint) pairs, k and the parameters.
    digest = hashlib.sha256(
        repr((k, VECTOR, POSTINGS, CANDIDATES, TITLE_WEIGHT, [(d.id, d.fingerprint) for d in docs])).encode()
    ).hexdigest()
    if not todo and len(cache) == len(entries) and cache_result.get("digest") == digest:
        return cache_result["related"]
    ids = [d.id for d in docs]
    state = cache_result.get("state") or {}  # scores only what changed since (see _similar_packed)
    result = _similar_packed(ids, [entries[i][1] for i in ids], k, previous=state)
    if cache_dir is not None:
        _save_cache(cache_dir, entries, {"digest": digest, "related": result, "state": state})
    return result


def _similar(ids: list[str], cands: list[list[tuple[str, int]]], k: int) -> dict[str, list[str]]:
    """``_similar_packed`` for candidate lists [(word, count), …] (one per id)."""
    return _similar_packed(ids, [_pack(kws) for kws in cands], k)


BLOCK = 256  # speeches whose similarity rows are accumulated at once (BLOCK × n floats)


def _similar_packed(
    ids: list[str], packed: list[tuple[str, bytes]], k: int, previous: dict | None = None
) -> dict[str, list[str]]:
    """The related speeches of every id, from each one's packed candidate words (``_pack``).

    Vectorised with numpy; the steps are those of the module docstring: TF-IDF weights, each
    speech's ``VECTOR`` heaviest words (ties by word), L2 norm, for each word the ``POSTINGS``
    speeches where it weighs most (ties by id), cosine accumulated over those postings, and the
    ``k`` most similar others (scores rounded to 9 digits; ties by id).

    ``previous`` is the ``state`` a former call stored in it (pass a dict to get it filled):
    with the same ids, only the speeches whose vector or whose words' postings changed are
    scored again, the others keep their former answer. A speech's answer depends on nothing
    else, and its scores are summed in the same order, so this equals scoring all of them."""
    import numpy as np

    n = len(ids)
    result: dict[str, list[str]] = {i: [] for i in ids}
    state = previous if previous is not None else {}
    old = dict(state)
    state.clear()
    if n < 2 or k <= 0:
        return result
    vec = _vectors(n, packed)
    if vec is None:
        return result
    vocab, doc, wid, x, p_wid, p_doc, p_x = vec
    p_len = np.bincount(p_wid, minlength=len(vocab))
    p_start = np.concatenate(([0], np.cumsum(p_len)[:-1]))
    key = hashlib.sha256(repr((k, VECTOR, POSTINGS, ids)).encode()).hexdigest()
    rows = None
    if old.get("key") == key:
        rows = _changed_rows(old, vocab, doc, wid, x, p_wid, p_doc, p_x, n)
    if rows is None:
        rows = np.arange(n)
    else:
        result = {i: list(r) for i, r in old["result"].items()}
        for r in rows.tolist():
            result[ids[r]] = []
    # Accumulate the cosine of each speech with the speeches of its words' postings, BLOCK
    # speeches at a time (doc is sorted: a speech's entries are one run).
    bounds = np.searchsorted(doc, np.arange(n + 1))
    for lo in range(0, len(rows), BLOCK):
        block = rows[lo : lo + BLOCK]
        starts, lens = bounds[block], bounds[block + 1] - bounds[block]
        ent = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        if not len(ent):
            continue
        local = np.repeat(np.arange(len(block)), lens)
        e_wid, e_x = wid[ent], x[ent]
        reps = p_len[e_wid]
        src = np.repeat(np.arange(len(ent)), reps)
        first = np.repeat(np.cumsum(reps) - reps, reps)
        pos = np.arange(int(reps.sum())) - first + p_start[e_wid][src]
        sims = np.bincount(local[src] * n + p_doc[pos], weights=e_x[src] * p_x[pos], minlength=len(block) * n).reshape(
            len(block), n
        )
        sims[np.arange(len(block)), block] = 0.0  # not related to itself
        _top_k(sims, block, k, ids, result)
    state.update(key=key, vocab=vocab, doc=doc, wid=wid, x=x, p_wid=p_wid, p_doc=p_doc, p_x=p_x, result=result)
    return result


def _vectors(n: int, packed: list[tuple[str, bytes]]):
    """(vocabulary in string order, vector entries doc/wid/x sorted by doc, postings
    p_wid/p_doc/p_x sorted by word), or None when no speech has a content word."""
    import numpy as np

    # Flat (doc, word, count) entries; words numbered in string order (the tie-breaker).
    lens = np.fromiter((len(c) // 4 for _, c in packed), dtype=np.int64, count=n)
    words = "\t".join(w for w, _ in packed if w).split("\t") if lens.sum() else []
    if not words:
        return None
    vocab = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}
    wid = np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=len(words))
    doc = np.repeat(np.arange(n, dtype=np.int64), lens)
    count = np.frombuffer(b"".join(c for _, c in packed), dtype=np.uint32).astype(np.float64)
    # TF-IDF, keep the VECTOR heaviest positive weights of each speech.
    df = np.bincount(wid, minlength=len(vocab)).astype(np.float64)
    idf = np.log(n) - np.log(np.maximum(df, 1))
    weight = (1 + np.log(count)) * idf[wid]
    keep = weight > 0
    doc, wid, weight = doc[keep], wid[keep], weight[keep]
    order = np.lexsort((wid, -weight, doc))
    doc, wid, weight = doc[order], wid[order], weight[order]
    keep = _rank_in_group(doc) < VECTOR
    doc, wid, weight = doc[keep], wid[keep], weight[keep]
    norm = np.sqrt(np.bincount(doc, weights=weight * weight, minlength=n))
    x = weight / norm[doc]
    # Postings: for each word the POSTINGS speeches where it weighs most.
    order = np.lexsort((doc, -x, wid))
    p_wid, p_doc, p_x = wid[order], doc[order], x[order]
    keep = _rank_in_group(p_wid) < POSTINGS
    return vocab, doc, wid, x, p_wid[keep], p_doc[keep], p_x[keep]


def _changed_rows(old: dict, vocab, doc, wid, x, p_wid, p_doc, p_x, n: int):
    """The speeches whose answer may differ from ``old``'s: their vector changed, or the
    postings of a word of their vector did. None when that is most of them."""
    import numpy as np

    index = {w: i for i, w in enumerate(vocab)}
    remap = np.fromiter((index.get(w, -1) for w in old["vocab"]), dtype=np.int64, count=len(old["vocab"]))
    if len(remap) and remap.min() < 0:
        remap[remap < 0] = len(vocab)  # a word gone from every list: differs from every word
    changed_docs = _differing(old["doc"], remap[old["wid"]], old["x"], doc, wid, x, n)
    changed_words = _differing(remap[old["p_wid"]], old["p_doc"], old["p_x"], p_wid, p_doc, p_x, len(vocab) + 1)
    rows = np.union1d(np.flatnonzero(changed_docs), doc[changed_words[wid]])
    return None if len(rows) > n // 2 else rows


def _differing(g_old, k_old, v_old, g_new, k_new, v_new, groups: int):
    """Bool per group: do its (key, value) entries differ between old and new?"""
    import numpy as np

    o = np.lexsort((k_old, g_old))
    g_old, k_old, v_old = g_old[o], k_old[o], v_old[o]
    o = np.lexsort((k_new, g_new))
    g_new, k_new, v_new = g_new[o], k_new[o], v_new[o]
    c_old = np.bincount(g_old, minlength=groups)
    c_new = np.bincount(g_new, minlength=groups)
    out = c_old != c_new
    same_old, same_new = ~out[g_old], ~out[g_new]  # groups of equal size line up entry by entry
    g = g_new[same_new]
    bad = (k_old[same_old] != k_new[same_new]) | (v_old[same_old] != v_new[same_new])
    out[np.unique(g[bad])] = True
    return out


def _rank_in_group(keys):
    """For sorted ``keys``: the position of each element within its run of equal keys."""
    import numpy as np

    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(keys)])))
    return np.arange(len(keys)) - np.repeat(starts, lengths)


def _top_k(sims, block, k: int, ids: list[str], result: dict) -> None:
    """Rows of ``sims`` (the speeches numbered ``block``): the ``k`` largest positive scores, ties by id.
    Scores within 1e-9 of the k-th largest are all considered, then ranked by the rounded score."""
    import numpy as np

    rows, others = np.nonzero(sims > 0)  # row-major: grouped by row, then by column
    if not len(rows):
        return
    vals = sims[rows, others]
    # The k-th largest score of each row, from its positive scores packed to the left.
    slot = _rank_in_group(rows)
    packed = np.zeros((sims.shape[0], int(slot.max()) + 1))
    packed[rows, slot] = vals
    width = packed.shape[1]
    kth = np.partition(packed, width - k, axis=1)[:, width - k] if width > k else packed.min(axis=1)
    keep = vals >= kth[rows] - 1e-9
    rows, others, scores = rows[keep], others[keep], np.round(vals[keep], 9)
    order = np.lexsort((others, -scores, rows))
    rows, others = rows[order], others[order]
    keep = _rank_in_group(rows) < k
    for r, o in zip(rows[keep].tolist(), others[keep].tolist()):
        result[ids[block[r]]].append(ids[o])
