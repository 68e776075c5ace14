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

``keywords(text, n)`` returns the top words of one text by the same rules (used by the
importer to suggest themes).
"""
from __future__ import annotations

import hashlib
import heapq
import math
import multiprocessing
import os
import pickle
import re
from array import array
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Mapping, Sequence

import rjieba

from . import analysis

__all__ = ["compute_related", "keywords", "doc_keywords"]

_CACHE_VERSION = 2
_CACHE_FILE = "keywords.pickle"
CANDIDATES = 100  # words kept per speech (cached)
VECTOR = 20  # keywords per speech
POSTINGS = 30  # speeches visited per keyword
TITLE_WEIGHT = 5
_PARALLEL_MIN = 400

# Must contain a letter (CJK counts) and consist of word characters only.
_WORD = re.compile(r"(?=.*[^\W\d_])\w{2,}")

STOPWORDS = frozenset(
    """
    我们 你们 他们 她们 它们 大家 同志们 同志 自己 咱们 各位 这个 那个 这些 那些 这样 那样 这种 那种 这里
    那里 这次 那次 这是 那是 一个 一些 一种 一次 一项 一批 一步 一样 一直 一定 一般 一方面 另一方面 一是 二是
    三是 四是 五是 六是 七是 八是 九是 十是 首先 其次 再次 最后 第一 第二 第三 第四 第五 一要 二要 三要 四要
    进一步 不断 切实 认真 积极 努力 全面 始终 同时 以及 通过 进行 有关 相关 其中 之一 之间 以上 以下 以来
    以后 以前 之后 之前 当前 目前 今后 今年 去年 明年 近年来 近年 当中 方面 情况 问题 工作 方面 地方 时候
    时间 能够 可以 没有 不是 就是 还是 但是 因此 所以 如果 虽然 而且 并且 或者 还有 以便 为了 对于 关于
    按照 根据 作为 成为 已经 正在 还要 都要 也要 就要 需要 必须 应该 应当 要求 强调 指出 提出 表示 认为
    下面 上面 刚才 这方面 各级 各类 各项 各个 各种 所有 一切 任何 其他 其它 什么 怎么 怎样 如何 为什么
    非常 十分 比较 更加 更好 特别 尤其 真正 确实 主要 重要 基本 具体 有效 有力 充分 深入 扎实 持续 坚决
    讲话 会议 今天 召开 发言 谢谢 好的 的话 来说 来看 起来 下来 出来 上来 进来 一起 一下 之所以 由于
    """.split()
)


# --------------------------------------------------------------------------------------
# Keywords of one text


def _counts(title: str, body: str) -> Counter:
    counts = Counter(rjieba.cut(analysis.fold(body)))
    for word in rjieba.cut(analysis.fold(title)):
        counts[word] += TITLE_WEIGHT
    return counts


def _candidates(counts: Counter, n: int = CANDIDATES) -> list[tuple[str, int]]:
    match = _WORD.fullmatch
    items = [(w, c) for w, c in counts.items() if w not in STOPWORDS and match(w)]
    items.sort(key=lambda wc: (-wc[1], wc[0]))
    return items[:n]


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
    counts = array("I", (c for _, c in kws))
    return "\t".join(w for w, _ in kws), counts.tobytes()


def _unpack(packed: tuple[str, bytes]) -> list[tuple[str, int]]:
    words, raw = packed
    if not words:
        return []
    counts = array("I")
    counts.frombytes(raw)
    return list(zip(words.split("\t"), counts))


def _load_cache(cache_dir: Path | None) -> tuple[dict, dict]:
    """id → (fingerprint, candidate words), and the last result with its digest."""
    if cache_dir is None:
        return {}, {}
    try:
        with open(Path(cache_dir) / _CACHE_FILE, "rb") as f:
            data = pickle.load(f)
        if data.get("version") == _CACHE_VERSION:
            docs = {i: (fp, _unpack(packed)) for i, (fp, packed) in data["docs"].items()}
            return docs, data.get("result") or {}
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError,
            ValueError, IndexError):
        pass
    return {}, {}


def _save_cache(cache_dir: Path, entries: dict, result: dict) -> None:
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / (_CACHE_FILE + f".{os.getpid()}.tmp")
    packed = {i: (fp, _pack(kws)) for i, (fp, kws) in entries.items()}
    with open(tmp, "wb") as f:
        pickle.dump({"version": _CACHE_VERSION, "docs": packed, "result": result}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cache_dir / _CACHE_FILE)


_JOBS: list[tuple[str, str]] = []  # inherited by forked workers


def _extract_range(lo: int, hi: int) -> list[list[tuple[str, int]]]:
    return [doc_keywords(title, body) for title, body in _JOBS[lo:hi]]


def _extract_pairs(pairs: list[tuple[str, str]]) -> list[list[tuple[str, int]]]:
    return [doc_keywords(title, body) for title, body in pairs]


def _mp_context():
    """fork when it is safe (one thread: no copying of the texts to the workers), else spawn."""
    import threading

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _extract(todo: list, workers: int) -> list[list[tuple[str, int]]]:
    global _JOBS
    pairs = [(d.title, d.body) for d in todo]
    if workers <= 1 or len(pairs) < _PARALLEL_MIN:
        return _extract_pairs(pairs)
    step = -(-len(pairs) // (workers * 4))
    ranges = [(i, min(i + step, len(pairs))) for i in range(0, len(pairs), step)]
    ctx = _mp_context()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
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


def compute_related(docs: Sequence, k: int = 5, cache_dir: Path | None = None, *,
                    workers: int | None = None) -> dict[str, list[str]]:
    """Doc id → ids of up to ``k`` related speeches, most similar first (ties by id).

    ``docs`` are ``search_index.IndexDoc``s (``id``, ``title``, ``body``, ``fingerprint`` are
    used). ``cache_dir`` keeps each speech's candidate words keyed by its fingerprint.
    """
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    docs = sorted(docs, key=lambda d: d.id)
    cache, cache_result = _load_cache(cache_dir)
    entries: dict[str, tuple[str, list]] = {}
    todo = []
    for d in docs:
        hit = cache.get(d.id)
        if hit is not None and hit[0] == d.fingerprint:
            entries[d.id] = hit
        else:
            todo.append(d)
    if todo:
        for d, kws in zip(todo, _extract(todo, workers)):
            entries[d.id] = (d.fingerprint, kws)
    # The answer depends only on the (id, fingerprint) pairs, k and the parameters.
    digest = hashlib.sha256(repr((k, VECTOR, POSTINGS, CANDIDATES, TITLE_WEIGHT,
                                  [(d.id, d.fingerprint) for d in docs])).encode()).hexdigest()
    if not todo and len(cache) == len(entries) and cache_result.get("digest") == digest:
        return cache_result["related"]
    result = _similar([d.id for d in docs], [entries[d.id][1] for d in docs], k)
    if cache_dir is not None:
        _save_cache(cache_dir, entries, {"digest": digest, "related": result})
    return result


def _similar(ids: list[str], cands: list[list[tuple[str, int]]], k: int) -> dict[str, list[str]]:
    n = len(ids)
    result: dict[str, list[str]] = {i: [] for i in ids}
    if n < 2 or k <= 0:
        return result
    df = Counter(w for kws in cands for w, _ in kws)
    log_n = math.log(n)
    idf = {w: log_n - math.log(c) for w, c in df.items()}
    top = max((c for kws in cands for _, c in kws[:1]), default=1)
    sublinear = [0.0] + [1 + math.log(c) for c in range(1, top + 1)]
    vectors: list[list[tuple[str, float]]] = []
    postings: dict[str, list[tuple[float, int]]] = {}
    for d, kws in enumerate(cands):
        weighted = [(w, sublinear[c] * idf[w]) for w, c in kws]
        weighted = [wx for wx in weighted if wx[1] > 0]
        weighted.sort(key=lambda wx: (-wx[1], wx[0]))
        del weighted[VECTOR:]
        norm = math.sqrt(sum(x * x for _, x in weighted)) or 1.0
        vec = [(w, x / norm) for w, x in weighted]
        vectors.append(vec)
        for w, x in vec:
            plist = postings.get(w)
            if plist is None:
                postings[w] = [(x, d)]
            else:
                plist.append((x, d))
    for plist in postings.values():
        if len(plist) > POSTINGS:
            plist.sort(key=lambda xd: (-xd[0], xd[1]))
            del plist[POSTINGS:]
    for d, vec in enumerate(vectors):
        acc: dict[int, float] = {}
        get = acc.get
        for w, x in vec:
            for y, o in postings[w]:
                acc[o] = get(o, 0.0) + x * y
        acc.pop(d, None)
        if not acc:
            continue
        if len(acc) > k:
            threshold = heapq.nlargest(k, acc.values())[-1] - 1e-9
            items = [(o, y) for o, y in acc.items() if y >= threshold]
        else:
            items = list(acc.items())
        best = sorted(items, key=lambda oy: (-round(oy[1], 9), ids[oy[0]]))[:k]
        result[ids[d]] = [ids[o] for o, _ in best]
    return result
