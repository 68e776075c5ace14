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
  again (typically a few hundred of 10,000 when a paragraph is added to one), and only the
  vectors of the changed speeches and of those holding a word whose df changed are made again
  (``related_scores._vectors_since``); the answer equals scoring all of them (tested).
* Memory does not grow with the square of the archive, nor with its texts: the texts are read
  a batch at a time (the worker processes, forked for each batch, inherit it); each speech's words are kept as numbers
  into one vocabulary, in flat arrays (``related_scores.Keywords``, a few bytes a word, stored
  between builds in one file of numpy arrays); the scores are summed over sparse blocks of
  speeches (``related_scores``).

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
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import related_windows
from .fileio import atomic_open
from .search import analysis
from .segments import seg_index
from .workers import mp_context, process_pool

if TYPE_CHECKING:
    from .related_early import EarlyKeywords
    from .related_scores import Keywords

__all__ = ["compute_related", "keywords", "doc_keywords"]

_CACHE_VERSION = 6  # 6: whole numbers stored as uint16 where they fit (related_scores.narrow)
_CACHE_FILE = "keywords.bin"
_OLD_CACHE_FILES = ("keywords.pickle",)  # an older version's, removed
CANDIDATES = 100  # words kept per speech (cached)
VECTOR = 20  # keywords per speech (related_scores.VECTOR)
POSTINGS = 30  # speeches visited per keyword (related_scores.POSTINGS)
TITLE_WEIGHT = 5
_PARALLEL_MIN = 400
BATCH_CHARS = 1 << 24  # characters of text read at once (2 bytes a CJK character)
BATCH_DOCS = 2000  # speeches read at once, at most
_VOCAB_SLACK = 1 << 12  # words no speech uses any more, kept unless they are most of the vocabulary

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
    import rjieba  # (here: its import takes ~0.1 s, and a build with no speech to segment needs none)

    if len(body) > related_windows.WINDOW:  # (a long body: a window at a time, the same counts)
        counts = related_windows.windowed_counts(body, rjieba.cut, _fold)
    else:
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
# Candidate words of many speeches: read and extracted a chunk at a time


def _pack(kws: list[tuple[str, int]]) -> tuple[str, bytes]:
    """Candidate words as (tab-separated words, uint32 counts): what a worker sends back."""
    counts = array("I", [c for _, c in kws])
    return "\t".join(w for w, _ in kws), counts.tobytes()


_JOBS: list[tuple[str, str]] = []  # inherited by forked workers


def _extract_range(lo: int, hi: int) -> list[tuple[str, bytes]]:
    return _extract_pairs(_JOBS[lo:hi])


def _extract_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    return [_pack(doc_keywords(title, body)) for title, body in pairs]


def _chunks(todo: Sequence) -> Iterator[list[tuple[str, str]]]:
    """(title, body) of the speeches, ``BATCH_CHARS`` characters or ``BATCH_DOCS`` speeches at a
    time: a text is read (``body``) only when its batch is made."""
    chunk: list[tuple[str, str]] = []
    chars = 0
    for d in todo:
        body = d.body
        chunk.append((d.title, body))
        chars += len(body)
        if chars >= BATCH_CHARS or len(chunk) >= BATCH_DOCS:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _extract(todo: Sequence, workers: int) -> Iterator[tuple[str, bytes]]:
    """Each speech's packed candidate words (``_pack``), in order. The texts are read a batch at
    a time (``BATCH_CHARS`` characters or ``BATCH_DOCS`` speeches), so those held at once do not
    grow with the archive; a batch of many speeches is done in worker processes, forked for it
    when that is safe (they inherit its texts: nothing is copied to them)."""
    if workers <= 1 or len(todo) < _PARALLEL_MIN:
        for d in todo:
            yield _pack(doc_keywords(d.title, d.body))
        return
    import rjieba  # noqa: F401  (here, once: the workers forked for each batch inherit it)

    for batch in _chunks(todo):
        yield from _extract_batch(batch, workers)


def _extract_batch(pairs: list[tuple[str, str]], workers: int) -> list[tuple[str, bytes]]:
    global _JOBS
    if len(pairs) < 2 * workers:
        return _extract_pairs(pairs)
    step = -(-len(pairs) // (workers * 4))
    ranges = [(i, min(i + step, len(pairs))) for i in range(0, len(pairs), step)]
    ctx = mp_context(prefer_fork=True)
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


def _number(packed: Iterable[tuple[str, bytes]], vocab: list[str], index: dict[str, int]):
    """(words per speech, word numbers, counts) of packed candidate words; a new word gets the
    next number (``index`` and ``vocab`` grow)."""
    import numpy as np

    lens = array("q")
    words = array("i")
    counts = bytearray()
    add = index.setdefault
    for text, raw in packed:
        if text:
            words.extend([add(w, len(index)) for w in text.split("\t")])
        lens.append(len(raw) // 4)
        counts += raw
    if len(index) > len(vocab):
        vocab.extend(list(index)[len(vocab) :])  # a dict keeps its insertion order
    return (
        np.frombuffer(lens, dtype=np.int64),
        np.frombuffer(words, dtype=np.int32),
        np.frombuffer(bytes(counts), dtype=np.uint32),
    )


def _table(vocab: list[str], lens, words, counts, rank=None) -> Keywords:
    import numpy as np

    from .related_scores import Keywords

    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    return Keywords(vocab, offsets, words, counts, rank)


def _merge(old: Keywords | None, row, new: tuple, vocab: list[str]) -> Keywords:
    """The table of every speech: ``row[j]`` is speech j's row in ``old``, or -1 for the next
    row of ``new`` (the speeches extracted now, in order)."""
    import numpy as np

    new_lens, new_words, new_counts = new
    if old is None or not (row >= 0).any():
        return _table(vocab, new_lens, new_words, new_counts)
    cached = row >= 0
    lens = np.empty(len(row), dtype=np.int64)
    starts = np.empty(len(row), dtype=np.int64)
    lens[cached] = old.offsets[row[cached] + 1] - old.offsets[row[cached]]
    starts[cached] = old.offsets[row[cached]]
    lens[~cached] = new_lens
    starts[~cached] = len(old.words) + np.cumsum(new_lens) - new_lens
    take = seg_index(starts, lens)
    words = np.concatenate((old.words, new_words))[take]
    counts = np.concatenate((old.counts, new_counts))[take]
    return _table(vocab, lens, words, counts, old.rank)


def _compact(table: Keywords, state: dict) -> None:
    """Drop the words no speech uses any more, when they are most of the vocabulary (words are
    numbered again; ``state``'s numbers too)."""
    import numpy as np

    used = np.flatnonzero(np.bincount(table.words, minlength=len(table.vocab)))
    if len(table.vocab) <= 2 * len(used) + _VOCAB_SLACK:
        return
    number = np.full(len(table.vocab), -1, dtype=np.int64)
    number[used] = np.arange(len(used))
    table.words = number[table.words].astype(np.int32)
    table.vocab = [table.vocab[i] for i in used.tolist()]
    table.rank = None
    if state:
        state.update(wid=number[state["wid"]], p_wid=number[state["p_wid"]], vocab=table.vocab)
        if "df" in state:
            state["df"] = state["df"][used]


# --------------------------------------------------------------------------------------
# The cache: every speech's candidate words and the last answer, in one file


@dataclass
class _Stored:
    ids: list[str]
    fingerprints: list[str]
    table: Keywords
    digest: str
    state: dict


_TABLE_ARRAYS = ("offsets", "words", "counts")


def _load_cache(cache_dir: Path | None) -> _Stored | None:
    """What the last build stored, or None (no cache, an older version, a damaged file)."""
    if cache_dir is None:
        return None
    import numpy as np

    from .related_scores import Keywords, widened

    try:
        with open(Path(cache_dir) / _CACHE_FILE, "rb") as fh:
            meta = pickle.load(fh)
            if not isinstance(meta, dict) or meta.get("version") != _CACHE_VERSION:
                return None
            arrays = {name: widened(name, np.load(fh, allow_pickle=False)) for name in meta["arrays"]}
        ids, vocab = meta["ids"], meta["vocab"]
        offsets, words, counts = (arrays[name] for name in _TABLE_ARRAYS)
        if len(offsets) != len(ids) + 1 or offsets[-1] != len(words) or len(counts) != len(words):
            return None
        if len(words) and (words.min() < 0 or words.max() >= len(vocab)):
            return None
        table = Keywords(vocab, offsets, words, counts, arrays.get("rank"))
        state: dict = {}
        if meta.get("key") and "result" in arrays:
            state = {name: arrays[name] for name in arrays if name not in _TABLE_ARRAYS and name != "rank"}
            state.update(key=meta["key"], base=meta.get("base"), vocab=vocab)
        return _Stored(ids, meta["fingerprints"], table, meta["digest"], state)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None


def _save_cache(
    cache_dir: Path, ids: list[str], fingerprints: list[str], table: Keywords, digest: str, state: dict
) -> None:
    import numpy as np

    from .related_scores import narrow, state_arrays

    arrays = dict(zip(_TABLE_ARRAYS, (table.offsets, table.words, table.counts)))
    if table.rank is not None and len(table.rank) == len(table.vocab):
        arrays["rank"] = table.rank.astype(np.int32)
    if state:
        arrays.update(state_arrays(state))
    meta = {
        "version": _CACHE_VERSION,
        "ids": ids,
        "fingerprints": fingerprints,
        "vocab": table.vocab,
        "digest": digest,
        "key": state.get("key"),
        "base": state.get("base"),
        "arrays": list(arrays),
    }
    cache_dir = Path(cache_dir)
    with atomic_open(cache_dir / _CACHE_FILE) as fh:
        pickle.dump(meta, fh, protocol=pickle.HIGHEST_PROTOCOL)
        for name, array_ in arrays.items():
            np.save(fh, np.ascontiguousarray(narrow(name, array_)), allow_pickle=False)
    for name in _OLD_CACHE_FILES:
        try:
            (cache_dir / name).unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------------------
# Related speeches


def compute_related(
    docs: Sequence,
    k: int = 5,
    cache_dir: Path | None = None,
    *,
    workers: int | None = None,
    exclude: Mapping[str, Collection[str]] | None = None,
    early: EarlyKeywords | None = None,
) -> dict[str, list[str]]:
    """Doc id → ids of up to ``k`` related speeches, most similar first (ties by id).

    ``docs`` are ``search_index.IndexDoc``s (``id``, ``title``, ``body``, ``fingerprint`` are
    used; ``body`` is read only for speeches not in the cache). ``cache_dir`` keeps each
    speech's candidate words keyed by its fingerprint.
    ``exclude``: id → ids never listed as its related speeches (its near-duplicates); the next
    most similar take their places. ``early``: the cache and the new speeches' words as
    ``related_early`` read and segmented them before this stage (for this ``cache_dir``).
    """
    extra = max((len(v) for v in exclude.values()), default=0) if exclude else 0
    extra = 1 << (extra - 1).bit_length() if extra else 0  # (a power of two: more near-duplicates seldom change it)
    # (each speech's list: k + its own near-duplicates long, in an array k + extra wide)
    widths = {i: k + len(v) for i, v in exclude.items() if v} if extra and exclude else None
    if early is not None and early.cache_dir != cache_dir:
        early.close()
        early = None
    try:
        related = _compute_related(docs, k + extra, cache_dir, workers, widths, k, early)
    finally:
        if early is not None:
            early.close()
    if not extra:
        return related
    assert exclude is not None
    return {i: [r for r in rs if r not in exclude.get(i, ())][:k] for i, rs in related.items()}


def _digest(k: int, ids: list[str], fingerprints: list[str], widths=None) -> str:
    """The answer depends only on the (id, fingerprint) pairs, k, the lists' widths and the parameters."""
    h = hashlib.sha256(repr((k, VECTOR, POSTINGS, CANDIDATES, TITLE_WEIGHT, len(ids))).encode())
    if widths is not None:
        h.update(widths.astype("<i4").tobytes())
    for i, fp in zip(ids, fingerprints):
        h.update(f"{i}\0{fp}\0".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _compute_related(
    docs: Sequence,
    k: int,
    cache_dir: Path | None,
    workers: int | None,
    widths: Mapping[str, int] | None = None,
    short: int = 0,
    early: EarlyKeywords | None = None,
) -> dict[str, list[str]]:
    """``compute_related``'s lists, ``k`` long; with ``widths``, ``widths[id]`` long for the ids
    it names and ``short`` for the others."""
    import numpy as np

    from .related_scores import as_lists, similar

    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    docs = sorted(docs, key=lambda d: d.id)
    ids = [d.id for d in docs]
    fingerprints = [d.fingerprint for d in docs]
    width = np.array([widths.get(i, short) for i in ids], dtype=np.int64) if widths else None
    digest = _digest(k, ids, fingerprints, width)
    stored = early.stored if early is not None and early.loaded else _load_cache(cache_dir)
    if stored is not None and stored.digest == digest and stored.ids == ids:
        result = stored.state.get("result")
        if result is not None and result.shape == (len(ids), max(k, 0)):
            return as_lists(ids, result)
    row = np.full(len(docs), -1, dtype=np.int64)
    moved = None  # a former row → its row now (-1: removed), when the ids differ
    if stored is not None:
        where = {i: r for r, i in enumerate(stored.ids)}
        moved = np.full(len(stored.ids), -1, dtype=np.int64) if stored.ids != ids else None
        for j, (i, fp) in enumerate(zip(ids, fingerprints)):
            r = where.get(i, -1)
            if r >= 0 and moved is not None:
                moved[r] = j
            if r >= 0 and stored.fingerprints[r] == fp:
                row[j] = r
        del where
    vocab = stored.table.vocab if stored is not None else []
    fresh = np.flatnonzero(row < 0)  # rows whose vectors are made again
    todo = [docs[j] for j in fresh.tolist()]
    index = {w: i for i, w in enumerate(vocab)} if todo else {}
    got = early.take() if early is not None else {}  # (segmented in a child: related_early.py)
    packed = (got.get((d.id, d.fingerprint)) or _pack(doc_keywords(d.title, d.body)) for d in todo)
    new = _number(packed if got else _extract(todo, workers), vocab, index)
    del index, todo
    table = _merge(stored.table if stored is not None else None, row, new, vocab)
    del new
    state = stored.state if stored is not None else {}  # scores only what changed since
    result = similar(ids, table, k, previous=state, fresh=fresh, moved=moved, widths=width)
    if cache_dir is not None:
        _compact(table, state)
        _save_cache(cache_dir, ids, fingerprints, table, digest, state)
    return as_lists(ids, result)


def _similar(ids: list[str], cands: list[list[tuple[str, int]]], k: int) -> dict[str, list[str]]:
    """``_similar_packed`` for candidate lists [(word, count), …] (one per id)."""
    return _similar_packed(ids, [_pack(kws) for kws in cands], k)


def _similar_packed(
    ids: list[str], packed: list[tuple[str, bytes]], k: int, previous: dict | None = None
) -> dict[str, list[str]]:
    """The related speeches of every id (sorted) from each one's packed candidate words
    (``_pack``); ``previous`` as in ``related_scores.similar``."""
    from .related_scores import as_lists, similar

    vocab: list[str] = []
    table = _table(vocab, *_number(packed, vocab, {}))
    return as_lists(ids, similar(ids, table, k, previous=previous))
