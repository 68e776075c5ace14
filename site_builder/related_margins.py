"""A speech added or removed (#15): which speeches' related lists stay, without scoring them again.

Another number of speeches changes every word's idf (``ln(N / df)``), so every keyword vector
moves a little and a plain rescoring visits every speech. Instead each speech keeps, beside its
list (``related_scores._lists``): the listed speeches' scores, ``err`` (how far the true scores
may be from those kept: 0 when scored) and a **margin**, an upper bound of the score of any speech
left out (``_top_k``: the next one's; -1 when no other is reachable through its words' postings).
After the change:

* a speech is scored again when its vector holds other words than before, when the postings of
  one of its words hold other speeches (a new speech entering them, one leaving), when its list
  names a removed speech, or when it was made again (``fresh``);
* otherwise the same speeches are reachable through the same postings, and each pair's score
  moved by at most ``ε`` = Σ over its words of |Δx_a|·max x_b + x_a·max |Δx_b| (the word's
  postings). The list stays if its scores ± (err + ε) keep their order and their lowest stays
  above the margin + ε, by more than the rounding of scores (9 digits); if not, the listed
  speeches' scores are made again exactly (summed in the order ``_score_rows`` sums them) and
  ordered as ``_top_k`` orders them (ties by id), and the list stays if its lowest still clears
  the margin + ε. A kept list's err and margin grow by ε (later additions score it again sooner).

So the lists are those of scoring every speech (tested), and an added speech scores again only
the speeches whose words' postings it enters or whose lists are too close to call.
"""

from __future__ import annotations

import numpy as np

from .segments import seg_index

ROUNDING = 2e-9  # scores are compared rounded to 9 digits (_top_k): a gap above this orders them
SLACK = 1e-12  # float error of a sum of VECTOR products of numbers ≤ 1


def _codes(group: np.ndarray, key: np.ndarray, keys: int) -> np.ndarray:
    return group.astype(np.int64) * keys + key


def _matched(old_codes: np.ndarray, old_x: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found, old value) for each of ``codes`` among ``old_codes`` (distinct)."""
    if not len(old_codes):
        return np.zeros(len(codes), dtype=bool), np.zeros(len(codes))
    order = np.argsort(old_codes)
    at = np.minimum(np.searchsorted(old_codes, codes, sorter=order), len(old_codes) - 1)
    found = old_codes[order[at]] == codes
    return found, np.where(found, old_x[order[at]], 0.0)


def kept_lists(old: dict, moved: np.ndarray, remap: np.ndarray, vec: tuple, n: int, fresh, kept: dict) -> np.ndarray:
    """Fill ``kept``'s arrays (``result``, ``scores``, ``err``, ``margin``; ``widths``: each
    list's length now) for the speeches whose
    lists provably stay (see the module's docstring) and return the rows to score again.
    ``old``: the former state (rows numbered as then); ``moved``: old row → new row (-1:
    removed); ``remap``: old word number → new (one more than any: a word gone); ``vec``: the new
    vectors and postings (``related_scores.vectors``)."""
    doc, wid, x, p_wid, p_doc, p_x = vec
    words = max(int(remap.max(initial=0)), int(wid.max(initial=0)), int(p_wid.max(initial=0))) + 1
    o_doc, o_wid, o_x = moved[old["doc"]], remap[old["wid"]], old["x"]
    o_pw, o_pd, o_px = remap[old["p_wid"]], moved[old["p_doc"]], old["p_x"]
    live, p_live = o_doc >= 0, o_pd >= 0
    # A word's postings are the same speeches when as many as before and each was there before.
    found, before = _matched(_codes(o_pw[p_live], o_pd[p_live], n), o_px[p_live], _codes(p_wid, p_doc, n))
    same = np.bincount(o_pw, minlength=words) == np.bincount(p_wid, minlength=words)  # (o_pw: removed too)
    same[p_wid[~found]] = False
    drift = np.zeros(words)  # the largest |Δx| of the word's postings
    np.maximum.at(drift, p_wid, np.abs(p_x - before))
    top = np.zeros(words)  # the largest x of the word's postings
    np.maximum.at(top, p_wid, p_x)
    # A speech's vector holds the same words when as many as before and each was there before.
    found, before = _matched(_codes(o_doc[live], o_wid[live], words), o_x[live], _codes(doc, wid, words))
    again = np.bincount(o_doc[live], minlength=n) != np.bincount(doc, minlength=n)
    again[doc[~found | ~same[wid]]] = True  # (a word whose postings changed, too)
    again[np.asarray(fresh, dtype=np.int64)] = True
    rows_old = np.flatnonzero(moved >= 0)
    present = np.zeros(n, dtype=bool)
    present[moved[rows_old]] = True
    again |= ~present  # a new speech
    # ε per speech: Σ |Δx_a|·max x_b + x_a·max |Δx_b| over its words (a pair's score moved by at most it).
    eps = np.bincount(doc, weights=np.abs(x - before) * top[wid] + before * drift[wid], minlength=n) + SLACK
    old_row = np.full(n, -1, dtype=np.int64)
    old_row[moved[rows_old]] = rows_old
    rows = np.flatnonzero(~again)
    was = old_row[rows]
    listed = old["result"][was]
    lists = np.where(listed >= 0, moved[np.maximum(listed, 0)], -1)
    scores, err, margin = old["scores"][was], old["err"][was] + eps[rows], old["margin"][was]
    ok = ~((listed >= 0) & (lists < 0)).any(axis=1) & np.isfinite(err)  # (a listed speech removed)
    before = old["widths"][was] if "widths" in old else np.full(len(was), lists.shape[1])
    ok &= before == kept["widths"][rows]  # (a list to be of another length)
    again[rows[~ok]] = True
    rows, lists, scores, err, margin = rows[ok], lists[ok], scores[ok], err[ok], margin[ok]
    # The scores kept, ± how far they may have moved: the order and the margin still clear?
    low, high = np.where(lists >= 0, scores - err[:, None], np.inf), scores + err[:, None]
    ok = (low > 0).all(axis=1) & (low[:, :-1] - high[:, 1:] > ROUNDING).all(axis=1, where=lists[:, 1:] >= 0)
    ok &= (margin < 0) | (low.min(axis=1) - (margin + eps[rows]) > ROUNDING)
    # Else the listed speeches' scores made again exactly, and ordered as _top_k orders them.
    exact = np.flatnonzero(~ok)
    lists[exact], scores[exact] = _exact(rows[exact], lists[exact], vec, n)
    err[exact] = 0.0
    low = np.where(lists >= 0, scores, np.inf)
    ok[exact] = (low[exact] > 0).all(axis=1)
    ok[exact] &= (margin[exact] < 0) | (low[exact].min(axis=1) - (margin[exact] + eps[rows[exact]]) > ROUNDING)
    keep = rows[ok]
    kept["result"][keep] = lists[ok]
    kept["scores"][keep] = scores[ok]
    kept["err"][keep] = err[ok]
    kept["margin"][keep] = np.where(margin[ok] < 0, margin[ok], margin[ok] + eps[keep])
    again[rows[~ok]] = True
    return np.flatnonzero(again)


def _exact(rows: np.ndarray, lists: np.ndarray, vec: tuple, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(the listed speeches ordered by their scores now, those scores): each score summed as
    ``_score_rows`` sums it (its terms in the order of the row's vector, by bincount), rounded
    to 9 digits to order them, ties by row. A pair's terms are the words whose postings hold the
    listed speech (a few a speech) that the row's vector has."""
    doc, wid, x, p_wid, p_doc, p_x = vec
    ordered, scores = np.full(lists.shape, -1, dtype=lists.dtype), np.zeros(lists.shape)
    r, slot = np.nonzero(lists >= 0)
    if not len(r) or not len(doc):
        return ordered, scores
    other = lists[r, slot].astype(np.int64)
    by_doc = np.argsort(p_doc, kind="stable")  # the postings' entries by the speech they hold
    starts = np.searchsorted(p_doc[by_doc], np.arange(n + 1))
    lens = starts[other + 1] - starts[other]
    entry = by_doc[seg_index(starts[other], lens)]
    pair = np.repeat(np.arange(len(r)), lens)
    words = int(max(wid.max(), p_wid.max())) + 1
    codes = _codes(doc, wid, words)  # the row's entry for that word, if its vector has it
    order = np.argsort(codes)
    want = _codes(rows[r][pair], p_wid[entry], words)
    at = np.minimum(np.searchsorted(codes[order], want), len(codes) - 1)
    hit = codes[order[at]] == want
    pair, entry, mine = pair[hit], entry[hit], order[at[hit]]
    o = np.lexsort((mine, pair))  # (a row's entries are in its vector's order)
    score = np.bincount(pair[o], weights=x[mine[o]] * p_x[entry[o]], minlength=len(r))
    order = np.lexsort((other, -np.round(score, 9), r))
    r, other, score = r[order], other[order], score[order]
    place = np.arange(len(r)) - np.searchsorted(r, r)
    ordered[r, place], scores[r, place] = other, score
    return ordered, scores
