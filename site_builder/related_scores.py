"""The related speeches' scores (see ``related.py``): every speech's keyword vector, the postings of
each keyword, and each speech's ``k`` most similar others, in memory that does not grow with the
square of the archive.

The input is a ``Keywords`` table: each speech's candidate words as word numbers (into a
vocabulary kept between builds; the numbers need not follow the words' order) and counts, in
flat arrays (a few bytes a word, no Python object per word). The vectors are made a slice of
speeches at a time; the scores are accumulated ``BLOCK`` speeches at a time over the pairs their
keywords' postings reach (a sparse block: at most ``BLOCK × VECTOR × POSTINGS`` pairs, never a
``BLOCK × n`` matrix), and only each row's best ``k`` are kept. Every sum is made of the same
terms in the same order as the plain algorithm, so the answers do not depend on the slicing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .segments import seg_index

VECTOR = 20  # keywords per speech
POSTINGS = 30  # speeches visited per keyword
BLOCK = 512  # speeches scored at once (at most BLOCK × VECTOR × POSTINGS pairs)
SLICE_ENTRIES = 1 << 20  # candidate words weighted at once when the vectors are made


@dataclass
class Keywords:
    """Every speech's candidate words: row ``r`` has ``words[offsets[r]:offsets[r + 1]]`` (numbers
    into ``vocab``, each at most once a row) with their ``counts``."""

    vocab: list[str]
    offsets: np.ndarray  # int64, one more than the rows
    words: np.ndarray  # int32
    counts: np.ndarray  # uint32
    rank: np.ndarray | None = None  # each word number's place in the words' string order

    def ranks(self) -> np.ndarray:
        """The words' places in string order (the tie-breaker between equal weights)."""
        if self.rank is None or len(self.rank) != len(self.vocab):
            order = sorted(range(len(self.vocab)), key=self.vocab.__getitem__)
            rank = np.empty(len(self.vocab), dtype=np.int64)
            rank[np.asarray(order, dtype=np.int64)] = np.arange(len(self.vocab))
            self.rank = rank
        return self.rank


def similar(
    ids: list[str],
    table: Keywords,
    k: int,
    previous: dict | None = None,
    fresh: np.ndarray | None = None,
    moved: np.ndarray | None = None,
    widths: np.ndarray | None = None,
) -> np.ndarray:
    """Row ``r``'s related speeches as row numbers, most similar first, ``-1`` after the last:
    an ``(n, k)`` int32 array.

    The steps are those of ``related``'s docstring: TF-IDF weights, each speech's ``VECTOR``
    heaviest words (ties by word), L2 norm, for each word the ``POSTINGS`` speeches where it
    weighs most (ties by id), cosine accumulated over those postings, and the ``k`` most similar
    others (scores rounded to 9 digits; ties by id). ``ids`` are sorted.

    ``previous`` is the ``state`` a former call stored in it (pass a dict to get it filled):
    with the same ids, only the speeches whose vector or whose words' postings changed are
    scored again, the others keep their former answer. A speech's answer depends on nothing
    else, and its scores are summed in the same order, so this equals scoring all of them.
    ``fresh``: the rows whose candidate words may differ from that call's (the others' are the
    same): then only their vectors, and those of the speeches holding a word whose document
    frequency changed, are made again (``_vectors_since``). ``moved``: with other ids than that
    call's (speeches added or removed), each former row's row now (-1: removed); then only the
    speeches whose lists may differ are scored again (``related_margins``). ``widths``: each row's
    list is that long (≤ k; None: k), the rest -1."""
    n = len(ids)
    out = np.full((n, max(k, 0)), -1, dtype=np.int32)
    kept = _lists(out)
    kept["widths"] = np.full(n, max(k, 0), dtype=np.int64) if widths is None else np.minimum(widths, k)
    state = previous if previous is not None else {}
    old = dict(state)
    state.clear()
    if n < 2 or k <= 0:
        return out
    df = np.bincount(table.words, minlength=len(table.vocab))
    key, base = _ids_key(ids, k), _base_key(k)
    usable = old.get("key") == key and old.get("result") is not None and old["result"].shape == out.shape
    since = _vectors_since(old, table, n, df, fresh) if usable and fresh is not None else None
    if since is not None:
        (doc, wid, x, p_wid, p_doc, p_x), rows = since
        rows = np.union1d(rows, _widened(old, kept["widths"]))
    else:
        vec = vectors(table, n, df)
        if vec is None:
            return out
        doc, wid, x, p_wid, p_doc, p_x = vec
        rows = _changed_rows(old, table.vocab, doc, wid, x, p_wid, p_doc, p_x, n) if usable else None
        if rows is not None:
            rows = np.union1d(rows, _widened(old, kept["widths"]))
        if rows is None and _movable(old, base, moved, k) and fresh is not None:
            from .related_margins import kept_lists

            assert moved is not None
            rows = kept_lists(old, moved, _remap(old["vocab"], table.vocab), vec, n, fresh, kept)
    if rows is None:
        rows = np.arange(n)
    elif since is not None or usable:
        for name in _KEPT:  # (a state from before the margins: NaN, scored again when moved)
            values = kept[name]
            values[:] = old[name] if name in old and old[name].shape == values.shape else np.nan
    kept["result"][rows], kept["scores"][rows], kept["err"][rows], kept["margin"][rows] = -1, 0.0, 0.0, -1.0
    _score_rows(rows, n, k, doc, wid, x, p_wid, p_doc, p_x, len(table.vocab), kept)
    state.update(key=key, vocab=table.vocab, doc=doc, wid=wid, x=x, p_wid=p_wid, p_doc=p_doc, p_x=p_x)
    state.update(df=df, base=base, **kept)
    return out


def _widened(old: dict, widths: np.ndarray) -> np.ndarray:
    """The rows whose lists are to be of another length than ``old``'s (every row: none kept)."""
    before = old.get("widths")
    if before is None or len(before) != len(widths):
        return np.arange(len(widths)) if (widths != widths.max(initial=0)).any() else np.zeros(0, dtype=np.int64)
    return np.flatnonzero(before != widths)


_KEPT = ("result", "scores", "err", "margin")  # what _lists keeps of each row (widths besides)


def _lists(out: np.ndarray) -> dict[str, np.ndarray]:
    """Each row's list (``out``), its scores as kept, how far they may be from the true ones
    (``err``) and an upper bound of any score not listed (``margin``, -1: none): ``related_margins``."""
    n, k = out.shape
    return {"result": out, "scores": np.zeros((n, k)), "err": np.zeros(n), "margin": np.full(n, -1.0)}


def _movable(old: dict, base: str, moved: np.ndarray | None, k: int) -> bool:
    """Whether a former state of other ids can be used (``related_margins``)."""
    if moved is None or old.get("base") != base or "doc" not in old:
        return False
    shapes = {name: getattr(old.get(name), "shape", None) for name in _KEPT}
    m = len(moved)
    return shapes == {"result": (m, k), "scores": (m, k), "err": (m,), "margin": (m,)}


def _base_key(k: int) -> str:
    """What the scores depend on besides the ids and the words."""
    return repr((k, VECTOR, POSTINGS))


def _ids_key(ids: list[str], k: int) -> str:
    h = hashlib.sha256(repr((k, VECTOR, POSTINGS, len(ids))).encode())
    for i in ids:
        h.update(i.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def _score_rows(rows, n: int, k: int, doc, wid, x, p_wid, p_doc, p_x, words: int, kept: dict) -> None:
    """Score ``rows`` into ``out``: the cosine of each speech with the speeches of its words'
    postings, ``BLOCK`` speeches at a time, summed per pair in the order of the speech's vector
    (``doc`` is sorted: a speech's entries are one run)."""
    p_len = np.bincount(p_wid, minlength=words)
    p_start = np.concatenate(([0], np.cumsum(p_len)[:-1]))
    bounds = np.searchsorted(doc, np.arange(n + 1))
    for lo in range(0, len(rows), BLOCK):
        block = rows[lo : lo + BLOCK]
        starts, lens = bounds[block], bounds[block + 1] - bounds[block]
        ent = seg_index(starts, lens)
        if not len(ent):
            continue
        local = np.repeat(np.arange(len(block)), lens)
        e_wid, e_x = wid[ent], x[ent]
        reps = p_len[e_wid]
        src = np.repeat(np.arange(len(ent)), reps)
        first = np.repeat(np.cumsum(reps) - reps, reps)
        pos = np.arange(int(reps.sum())) - first + p_start[e_wid][src]
        # One bin per (row, other) pair reached, in row-major order; each bin sums its terms in
        # the input's order (bincount), as a dense row of n scores would.
        pairs, inverse = _distinct(local[src] * n + p_doc[pos])
        sums = np.bincount(inverse, weights=e_x[src] * p_x[pos], minlength=len(pairs))
        r, o = np.divmod(pairs, n)
        keep = (o != block[r]) & (sums > 0)  # not related to itself
        _top_k(r[keep], o[keep], sums[keep], block, k, kept)  # (each row's length: kept["widths"])


def _distinct(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(codes, return_inverse=True)`` for non-negative int64 codes, sorted by stable
    16-bit radix passes (linear: numpy's stable sort of 16-bit numbers is a radix sort), several
    times faster than np.unique's comparison sort on the hundreds of thousands of pairs of a block."""
    if not len(codes):
        return codes, np.zeros(0, dtype=np.int64)
    order = None
    top = int(codes.max())
    shift = 0
    while shift == 0 or top >> shift:
        part = ((codes >> shift) & 0xFFFF).astype(np.uint16)
        step = np.argsort(part if order is None else part[order], kind="stable")
        order = step if order is None else order[step]
        shift += 16
    assert order is not None
    ordered = codes[order]
    new = np.empty(len(ordered), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(ordered), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def _contenders(local, weight, rows: int) -> np.ndarray | None:
    """Where ``weight`` is at least its speech's ``VECTOR``-th largest (``local``: each entry's
    speech, 0 … ``rows`` - 1, entries grouped by it): a superset of each speech's ``VECTOR``
    heaviest, found by a partition of each speech's weights, so that only these are sorted. None
    when the speeches' rows padded to one width would take too much memory."""
    if not len(local):
        return None
    starts = np.searchsorted(local, np.arange(rows + 1))
    width = int(np.diff(starts).max())
    if width <= VECTOR or rows * width > 4 * SLICE_ENTRIES:
        return None
    padded = np.full((rows, width), -np.inf)
    padded[local, np.arange(len(local)) - starts[local]] = weight
    kth = np.partition(padded, width - VECTOR, axis=1)[:, width - VECTOR]
    return weight >= kth[local]


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    return np.log(n) - np.log(np.maximum(df.astype(np.float64), 1))


def vectors(table: Keywords, n: int, df: np.ndarray | None = None):
    """(vector entries doc/wid/x sorted by doc, postings p_wid/p_doc/p_x grouped by word), or
    None when no speech has a content word. Made ``SLICE_ENTRIES`` candidate words at a time.
    ``df``: each word's number of speeches (counted here when not given)."""
    if not int(table.offsets[-1]):
        return None
    if df is None:
        df = np.bincount(table.words, minlength=len(table.vocab))
    doc, wid, x = _normed(*_heaviest(table, _idf(df, n)), n)
    if not len(doc):
        return None
    return (doc, wid, x, *_postings(doc, wid, x))


def _heaviest(
    table: Keywords, idf: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(doc, wid, weight): the ``VECTOR`` heaviest positive TF-IDF weights of each speech of
    ``rows`` (sorted; None: every speech), by speech, then weight (ties by word)."""
    offsets, words, counts = table.offsets, table.words, table.counts
    if rows is not None:  # a table of those rows only
        lens = offsets[rows + 1] - offsets[rows]
        take = seg_index(offsets[rows], lens)
        offsets = np.concatenate(([0], np.cumsum(lens)))
        words, counts = words[take], counts[take]
    m = len(offsets) - 1
    rank = table.ranks()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lo = 0
    while lo < m:
        hi = max(lo + 1, int(np.searchsorted(offsets, offsets[lo] + SLICE_ENTRIES, side="right")) - 1)
        hi = min(hi, m)
        a, b = int(offsets[lo]), int(offsets[hi])
        wid = words[a:b].astype(np.int64)
        local = np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(offsets[lo : hi + 1]))
        weight = (1 + np.log(counts[a:b].astype(np.float64))) * idf[wid]
        keep = weight > 0
        local, wid, weight = local[keep], wid[keep], weight[keep]
        keep = _contenders(local, weight, hi - lo)  # (the sort below then sees ~VECTOR a speech)
        if keep is not None:
            local, wid, weight = local[keep], wid[keep], weight[keep]
        order = np.lexsort((rank[wid], -weight, local))
        local, wid, weight = local[order], wid[order], weight[order]
        keep = _rank_in_group(local) < VECTOR
        doc = local[keep] + lo
        parts.append((doc if rows is None else rows[doc].astype(np.int64), wid[keep], weight[keep]))
        lo = hi
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    doc, wid, weight = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return doc, wid, weight


def _normed(doc, wid, weight, n: int):
    """(doc, wid, x): the weights divided by their speech's L2 norm."""
    norm = np.sqrt(np.bincount(doc, weights=weight * weight, minlength=n))
    return doc, wid, weight / norm[doc]


def _postings(doc, wid, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each word the ``POSTINGS`` speeches where it weighs most (ties by id), grouped by word."""
    order = np.lexsort((doc, -x, wid))
    p_wid, p_doc, p_x = wid[order], doc[order], x[order]
    keep = _rank_in_group(p_wid) < POSTINGS
    return p_wid[keep], p_doc[keep], p_x[keep]


def _vectors_since(old: dict, table: Keywords, n: int, df: np.ndarray, fresh: np.ndarray):
    """(``vectors``' answer, the rows to score again) made from ``old``'s: the vectors of the
    speeches in ``fresh`` and of those holding a word whose document frequency changed are made
    again (the others' weights are the same numbers: same counts, same df, same n), the postings
    from them. None when ``old`` cannot be used (an older state, the words numbered again)."""
    vocab = table.vocab
    if "df" not in old or "doc" not in old or not (old["vocab"] is vocab or old["vocab"] == vocab[: len(old["vocab"])]):
        return None
    before = np.zeros(len(vocab), dtype=np.int64)
    before[: len(old["df"])] = old["df"]
    moved = np.flatnonzero(before != df)
    affected = np.unique(fresh.astype(np.int64))
    if len(moved):
        holds = np.flatnonzero(np.isin(table.words, moved))
        affected = np.union1d(affected, np.searchsorted(table.offsets, holds, side="right") - 1)
    doc_a, wid_a, x_a = _normed(*_heaviest(table, _idf(df, n), affected), n)
    o_doc, o_wid, o_x = old["doc"].astype(np.int64), old["wid"].astype(np.int64), old["x"]
    gone = np.zeros(n, dtype=bool)
    gone[affected] = True
    mine = gone[o_doc]
    changed_docs = _differing(o_doc[mine], o_wid[mine], o_x[mine], doc_a, wid_a, x_a, n)
    doc = np.concatenate((o_doc[~mine], doc_a))
    order = np.argsort(doc, kind="stable")  # each speech's entries come from one side, in order
    doc, wid, x = doc[order], np.concatenate((o_wid[~mine], wid_a))[order], np.concatenate((o_x[~mine], x_a))[order]
    if not len(doc):
        return None
    # The postings of the words those speeches had or have (the others' entries are the same).
    touched = np.zeros(len(vocab) + 1, dtype=bool)
    touched[o_wid[mine]] = True
    touched[wid_a] = True
    new_p = _postings(*(a[touched[wid]] for a in (doc, wid, x)))
    o_p = (old["p_wid"].astype(np.int64), old["p_doc"].astype(np.int64), old["p_x"])
    redone = touched[o_p[0]]
    o_wid_p, o_doc_p, o_x_p = (a[redone] for a in o_p)
    changed_words = _differing(o_wid_p, o_doc_p, o_x_p, *new_p, len(vocab) + 1)
    p_wid, p_doc, p_x = (np.concatenate((a[~redone], b)) for a, b in zip(o_p, new_p))
    order = np.argsort(p_wid, kind="stable")  # each word's postings come from one side, in order
    p_wid, p_doc, p_x = p_wid[order], p_doc[order], p_x[order]
    rows = np.union1d(np.flatnonzero(changed_docs), doc[changed_words[wid]])
    return (doc, wid, x, p_wid, p_doc, p_x), rows


def _changed_rows(old: dict, vocab: list[str], doc, wid, x, p_wid, p_doc, p_x, n: int):
    """The speeches whose answer may differ from ``old``'s: their vector changed, or the
    postings of a word of their vector did. None when that is most of them."""
    remap = _remap(old["vocab"], vocab)
    changed_docs = _differing(old["doc"], remap[old["wid"]], old["x"], doc, wid, x, n)
    changed_words = _differing(remap[old["p_wid"]], old["p_doc"], old["p_x"], p_wid, p_doc, p_x, len(vocab) + 1)
    rows = np.union1d(np.flatnonzero(changed_docs), doc[changed_words[wid]])
    return None if len(rows) > n // 2 else rows


def _remap(old_vocab: list[str], vocab: list[str]) -> np.ndarray:
    """Old word number → new one (``len(vocab)`` for a word no longer known: it differs from every word)."""
    if old_vocab is vocab or old_vocab == vocab[: len(old_vocab)]:  # the vocabulary only grew
        return np.arange(len(old_vocab), dtype=np.int64)
    index = {w: i for i, w in enumerate(vocab)}
    return np.fromiter((index.get(w, len(vocab)) for w in old_vocab), dtype=np.int64, count=len(old_vocab))


def _differing(g_old, k_old, v_old, g_new, k_new, v_new, groups: int):
    """Bool per group: do its (key, value) entries differ between old and new?"""
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
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(keys)])))
    return np.arange(len(keys)) - np.repeat(starts, lengths)


def _top_k(rows, others, vals, block, k: int, kept: dict) -> None:
    """The pairs (``rows`` into ``block``, ``others``) with positive scores ``vals``, sorted by
    row then other: each row's ``k`` largest, ties by id, into ``kept["result"][block[row]]``
    (their scores into ``kept["scores"]``). Scores within 1e-9 of the (k + 1)-th largest are all
    considered, then ranked by the rounded score; the (k + 1)-th's score + 1e-9, which no score
    left out exceeds, into ``kept["margin"]`` (else it stays -1: no other)."""
    if not len(rows):
        return
    # The (k + 1)-th largest score of each row, from its scores packed to the left (zeros after).
    slot = _rank_in_group(rows)
    packed = np.zeros((len(block), int(slot.max()) + 1))
    packed[rows, slot] = vals
    width, m = packed.shape[1], k + 1
    kth = np.partition(packed, width - m, axis=1)[:, width - m] if width > m else packed.min(axis=1)
    keep = vals >= kth[rows] - 1e-9
    rows, others, vals = rows[keep], others[keep], vals[keep]
    order = np.lexsort((others, -np.round(vals, 9), rows))
    rows, others, vals = rows[order], others[order], vals[order]
    place = _rank_in_group(rows)
    width = kept["widths"][block[rows]]
    keep = place < width
    kept["result"][block[rows[keep]], place[keep]] = others[keep]
    kept["scores"][block[rows[keep]], place[keep]] = vals[keep]
    nxt = place == width
    kept["margin"][block[rows[nxt]]] = vals[nxt] + 1e-9


def as_lists(ids: list[str], result: np.ndarray) -> dict[str, list[str]]:
    """The ``similar`` array as id → ids."""
    return {i: [ids[o] for o in row if o >= 0] for i, row in zip(ids, result.tolist())}


def state_arrays(state: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of a ``similar`` state, compact for storing (numbers as int32)."""
    small = ("doc", "wid", "p_wid", "p_doc", "result", "df", "widths")
    return {
        name: state[name].astype(np.int32) if name in small else state[name] for name in STATE_ARRAYS if name in state
    }


STATE_ARRAYS = ("doc", "wid", "x", "p_wid", "p_doc", "p_x", "result", "df", "scores", "err", "margin", "widths")
#: the stored arrays of whole numbers, and the type each is used in (``narrow``, ``widened``)
WIDE = {
    **dict.fromkeys(("doc", "wid", "p_wid", "p_doc", "result", "df", "widths", "words", "rank"), np.dtype(np.int32)),
    "counts": np.dtype(np.uint32),
}


def narrow(name: str, values: np.ndarray) -> np.ndarray:
    """An array of ``WIDE`` as uint16 when its numbers are all in 0 … 65,535 (#15: the related
    cache's word numbers, counts and rows: 4 bytes each, 2 needed below 65,536 words and speeches;
    1k: the file 1.55 → 1.0 MB), else as it is used."""
    if name not in WIDE or not len(values) or int(values.min()) < 0 or int(values.max()) >= 1 << 16:
        return values
    return values.astype(np.uint16)


def widened(name: str, values: np.ndarray) -> np.ndarray:
    """A stored array back in the type it is used in (``narrow``)."""
    return values.astype(WIDE[name]) if name in WIDE and values.dtype != WIDE[name] else values
