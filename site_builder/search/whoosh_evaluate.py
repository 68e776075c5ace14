"""Answering a query on a snapshot: the terms (hits, tf), filters, scores, order, facets, trend, KWIC."""

from __future__ import annotations

import heapq
from collections import Counter
from itertools import compress, repeat
from operator import add, ge, mul, neg

from . import analysis, passages, ranking
from .whoosh_excerpts import excerpt_of_stored
from .whoosh_filters import _Allowed, _facet_dicts, _Filters
from .whoosh_records import _TEXT_CODEC
from .whoosh_snapshot import _Scan, _Snapshot

# Verify a longer term by counting first (see _TermInfo.docs) when it has this many candidates.
_PROOF_MIN = 300
# A score within this of the k-th best may still rank among the first k once rounded to 6 decimals.
_ROUNDING_MARGIN = 4e-6


# --------------------------------------------------------------------------------------
# Query evaluation


def _dense(snap: _Snapshot, cache: dict, key: str) -> tuple[bytes, int, int]:
    """``_Snapshot.key_counts(key)``: read once a generation while the snapshot's memo keeps it."""
    got = cache.get(key)
    if got is None:
        got = snap.postings_memo.get(key)
        if got is None:
            got = snap.key_counts(key)
            snap.postings_memo.put(key, got, 2 * len(got[0]) + 1)
        cache[key] = got
    return got


class _TermInfo:
    __slots__ = (
        "term",
        "keys",
        "maps",
        "df_",
        "_cand",
        "cand_bits",
        "n",
        "exact",
        "present",
        "tb",
        "postings",
        "counted",
    )

    def __init__(self, term: str, snap: _Snapshot, cache: dict):
        self.term = term
        self.keys = analysis.term_grams(term)

        def postings(key: str) -> bytes:
            """The key's count in every speech (``counts[d]``; 0: not there, or deleted)."""
            return _dense(snap, cache, key)[0]

        self.postings = postings
        got = sorted((_dense(snap, cache, k) for k in self.keys), key=lambda x: x[1])
        self.exact = analysis.term_is_exact(term)
        self.maps = [m for m, _n, _bits in got]
        self.df_ = got[0][1] if got else 0
        bits = got[0][2] if got else 0
        for _m, _n, more in got[1:]:
            bits &= more
        self.cand_bits = bits  # the speeches having every key (see key_counts)
        self.n = snap.total_docs
        self._cand: set[int] | None = None
        self.present: set[int] = set()
        self.counted: dict[int, int] = {}  # doc → tf, for the docs _scan_and_count has seen
        self.tb = term.encode(_TEXT_CODEC, "surrogatepass")

    @property
    def cand(self) -> set[int]:
        """The speeches having every key of the term (made when first asked for)."""
        if self._cand is None:
            self._cand = _docs_of(self.cand_bits, self.n)
        return self._cand

    @property
    def n_cand(self) -> int:
        return self.cand_bits.bit_count()  # one bit a speech that has every key

    def docs(self, snap: _Snapshot, restrict, counting: bool = False) -> set[int]:
        """The documents (within ``restrict``: a set, the filters' ``_Allowed`` or None) that contain
        the term. ``counting``: the term's occurrences in the bodies will be needed (a positive term
        of an answer): a term that must be looked for in the texts is then counted in the same scan
        (see ``counts``)."""
        if restrict is None:
            cand = self.cand
        elif isinstance(restrict, _Allowed):
            cand = _docs_of(self.cand_bits & restrict.bits, snap.total_docs)
        else:
            cand = self.cand & restrict
        if self.exact:
            self.present |= cand
            return cand
        if counting and " " not in self.term:
            return self._scan_and_count(snap, cand)
        tb = self.tb
        span = snap.span
        found: set[int] = set()
        add_found = found.add
        proof = None
        if len(cand) >= _PROOF_MIN and " " not in self.term:
            # For a term without spaces, counts can prove an occurrence: with pairs
            # p1…p(n-1) and inner characters c1…c(n-2), the term occurs at least
            # Σ count(p) − Σ count(c) times (each pair occurrence shares its inner character
            # with the next; pigeonhole). Valid while no count is capped at 255. It is tried
            # on the first candidates and kept only while it spares enough scans.
            t = self.term
            proof = (
                [self.postings(t[j : j + 2]) for j in range(len(t) - 1)],
                [self.postings(t[j]) for j in range(1, len(t) - 1)],
            )
        tried = proved = 0
        for d in cand:
            if proof is not None:
                tried += 1
                excess = 0
                for m in proof[0]:
                    c = m[d]
                    if c >= 255:
                        excess = -1 << 30
                        break
                    excess += c
                for m in proof[1]:
                    c = m[d]
                    if c >= 255:
                        excess = -1 << 30
                        break
                    excess -= c
                if excess > 0:
                    proved += 1
                    add_found(d)
                    continue
                if tried == 200 and proved < 50:
                    proof = None
            find, start, end = span[d]
            j = find(tb, start, end)
            while j > 0 and j & 1:  # an odd offset straddles two UTF-16 code units
                j = find(tb, j + 1, end)
            if j >= 0:
                add_found(d)
        self.present |= found
        return found

    def _scan_and_count(self, snap: _Snapshot, cand) -> set[int]:
        """Verify and count in one scan of each candidate's text: title matches prove the term,
        body matches are its tf (kept in ``self.counted``). The snapshot remembers the scans.

        The key counts bound the term's occurrences in a text (title and body; see ``_Bounds``): a
        text whose bounds meet is counted without reading it, and a scan stops at the upper bound."""
        tb, step = self.tb, len(self.tb)
        span, bstart, titles = snap.span, snap.bstart, snap.titles
        memo = snap.scan_memo.get(self.term) or _Scan()
        self.counted = counted = memo.counted
        found = memo.found
        todo = [d for d in cand if d not in memo.scanned]
        uppers, exacts = _Bounds(self.term, self.postings).of(todo)
        for d, upper, exact in zip(todo, uppers, exacts):
            if exact:  # upper ≥ 1 (a candidate has every pair); none of them in the title is in the body
                in_title = titles[d].count(self.term)
                found.add(d)
                counted[d] = upper - in_title
                continue
            find, start, end = span[d]
            body = bstart[d]
            in_title = n = total = 0
            j = find(tb, start, end)
            while j >= 0:
                if j & 1:  # an odd offset straddles two UTF-16 code units
                    j = find(tb, j + 1, end)
                    continue
                if j < body:
                    in_title = 1
                else:
                    n += 1
                total += 1
                if total == upper:  # no more can follow
                    break
                j = find(tb, j + step, end)
            if n or in_title:
                found.add(d)
                counted[d] = n
        memo.scanned.update(todo)
        snap.scan_memo.put(self.term, memo, len(memo.scanned) + 1)
        hit = found & cand if len(found) < len(cand) else {d for d in cand if d in found}
        self.present |= hit
        return hit

    def df(self) -> int:
        """n(t) of the ranking: the fewest speeches having one of the term's keys."""
        return self.df_

    def counts(self, snap: _Snapshot, hits: set[int]) -> dict[int, int]:
        """tf: the term's occurrences in the body of each hit that has the term (see search/passages)."""
        t = self.term
        present = self.present & hits if len(self.present) < len(hits) else hits & self.present
        out: dict[int, int] = {}
        if " " in t:  # a phrase with spaces: counted line by line (never across two blocks)
            fold = analysis.fold
            for d in present:
                out[d] = sum(fold(line).count(t) for line in snap.body(d).split("\n"))
            return out
        titles = snap.titles
        if self.exact and not (len(t) == 2 and t[0] == t[1]):
            # The key's count is exact and cannot overlap itself: minus the title's, unless capped.
            key_counts = self.maps[0]
            for d in present:
                c = key_counts[d]
                out[d] = c - titles[d].count(t) if c < 255 else snap.count_in_body(d, self.tb)
            return out
        counted = self.counted
        for d in present:
            known = counted.get(d)
            out[d] = known if known is not None else snap.count_in_body(d, self.tb)
        return out


class _Bounds:
    """What the key counts of a text (its title, the separator and its body) tell of the
    occurrences of a term of three or more characters without spaces, ``t = c0 c1 … c(n-1)`` with
    pairs ``p_j = c_j c(j+1)``:

    * at most ``U = min_j count(p_j)``: each (non-overlapping) occurrence holds each pair;
    * at least ``L = Σ_j count(p_j) − Σ_{0<i<n-1} count(c_i)`` occurrences, overlapping ones
      included: with ``S_j`` the starts ``x`` where ``p_j`` is at ``x + j``, ``S_j`` and ``S(j+1)``
      both lie in the ``|c(j+1)|`` places where ``c(j+1)`` is at ``x + j + 1``, so
      ``|S_0 ∩ … ∩ S_k| ≥ |S_0 ∩ … ∩ S(k-1)| + |S_k| − count(c_k)`` (the chain of Bonferroni's
      inequality), and the starts in every ``S_j`` are the occurrences.

    A term that cannot overlap itself (no proper prefix equal to a suffix) has as many
    non-overlapping occurrences as overlapping ones, so ``L = U`` means exactly ``U``. Counts of
    255 are capped (at least 255): a bound that needs one is not used.
    """

    __slots__ = ("pairs", "chars")

    def __init__(self, term: str, postings):
        self.pairs = [postings(term[j : j + 2]) for j in range(len(term) - 1)]
        overlaps = any(term[:k] == term[-k:] for k in range(1, len(term)))
        self.chars = None if overlaps else [postings(term[i]) for i in range(1, len(term) - 1)]

    def of(self, docs: list[int]) -> tuple[list[int], list[bool]]:
        """For each of ``docs``: U (-1 when unknown) and whether the occurrences are exactly U."""
        pairs = [list(map(m.__getitem__, docs)) for m in self.pairs]
        lowest = list(map(min, *pairs))
        upper = [u if u < 255 else -1 for u in lowest]
        if self.chars is None:
            return upper, [False] * len(docs)
        chars = [list(map(m.__getitem__, docs)) for m in self.chars]
        exact = [
            most < 255 and most_c < 255 and total - total_c >= u
            for u, most, most_c, total, total_c in zip(
                lowest,
                map(max, *pairs),
                map(max, *chars, repeat(0)),
                map(sum, zip(*pairs)),
                map(sum, zip(*chars)),
            )
        ]
        return upper, exact


def _docs_of(bits: int, n: int) -> set[int]:
    """The docnums whose byte is 1 in ``bits`` (one byte a speech, little-endian; see key_counts)."""
    return set(compress(range(n), bits.to_bytes(n, "little"))) if bits else set()


def _first(hits: list[int], k: int, values: list, margin: float, key) -> list[int]:
    """``heapq.nsmallest(k, hits, key)``, when a hit whose value (``values``: each hit's, higher
    first in ``key``'s order) is below the k-th highest by more than ``margin`` has k hits before it:
    only the others are given to ``key``."""
    kth = heapq.nlargest(k, values)[-1]
    return heapq.nsmallest(k, [d for d, v in zip(hits, values) if v >= kth - margin], key=key)


class _Answer:
    """Everything computed from one hit set: counts, scores, order, the page, facets and trend."""

    def __init__(self, snap: _Snapshot, parsed, hits: set[int], infos: dict, filters: _Filters, sort: str):
        self.snap, self.parsed, self.hits, self.filters, self.sort = snap, parsed, hits, filters, sort
        self.hit_list = sorted(hits)
        self.terms = [infos[t] for t in parsed.terms if t in infos]
        self.tfs = {ti.term: ti.counts(snap, hits) for ti in self.terms} if hits else {}
        self.occ = self._occurrences()
        self.scores = self._scores()

    def _occurrences(self) -> dict[int, int]:
        terms = [ti.term for ti in self.terms]
        if len(terms) == 1:
            return self.tfs[terms[0]] if self.hits else {}
        occ: dict[int, int] = Counter()
        for t in terms:
            for d, c in self.tfs.get(t, {}).items():
                occ[d] += c
        if passages.may_overlap(terms):  # matches of different terms may overlap: count them together
            fold = analysis.fold
            for d in [d for d in occ if sum(1 for t in terms if self.tfs.get(t, {}).get(d)) > 1]:
                occ[d] = passages.count_in_lines([fold(x) for x in self.snap.body(d).split("\n")], terms)
        return occ

    def _scores(self) -> dict[int, float]:
        """``scores[d] += idf · ranking.term_score(…)`` term after term, for every hit at once (a
        term that adds nothing adds 0.0; C-level maps over the hits, the same float operations)."""
        snap, hits = self.snap, self.hit_list
        n_docs = max(snap.n_live, 1)
        heads = snap.heads
        offs, base = heads.offsets, heads.base
        titles = list(map(snap.titles.__getitem__, hits))
        norms = list(map(snap.norm.__getitem__, hits))
        starts = [base + offs[d] for d in hits]  # heads.has(d, tb): the hit's headings in heads.buf
        ends = [base + offs[d + 1] for d in hits]
        scores = [0.0] * len(hits)
        for ti in self.terms:
            t = ti.term
            tb = t.encode("utf-8", "surrogatepass")
            tf = map(self.tfs.get(t, {}).get, hits, repeat(0))
            in_title = map(str.__contains__, titles, repeat(t))
            in_heading = map(ge, map(heads.buf.find, repeat(tb), starts, ends), repeat(0))
            added = map(
                mul, repeat(ranking.idf(n_docs, ti.df())), map(ranking.term_score, tf, norms, in_title, in_heading)
            )
            scores = list(map(add, scores, added))
        self.score_list = scores
        return dict(zip(hits, scores))

    def order(self, k: int | None = None) -> list[int]:
        """The hits in answer order (only the first ``k`` when given)."""
        datekey, sources, scores = self.snap.datekey, self.snap.sources, self.scores
        if self.sort == "newest":

            def key(d):
                return (-datekey[d], sources[d])
        elif self.sort == "oldest":

            def key(d):
                return (datekey[d], sources[d])
        else:

            def key(d):
                return (-round(scores[d], 6), -datekey[d], sources[d])

        if k is not None and k < len(self.hits):
            if k <= 0:
                return []
            # Only hits that can be among the first k are sorted: by relevance, a score below the
            # k-th best by more than the rounding to 6 decimals can move; by date, an older (newer).
            if self.sort == "relevance":
                return _first(self.hit_list, k, self.score_list, _ROUNDING_MARGIN, key)
            dates = list(map(datekey.__getitem__, self.hit_list))
            return _first(self.hit_list, k, dates if self.sort == "newest" else list(map(neg, dates)), 0, key)
        return sorted(self.hits, key=key)

    def trend(self) -> list[dict]:
        snap, f = self.snap, self.filters
        years = snap.years
        hit_years = list(map(years.__getitem__, self.hit_list))
        hits_by_year = Counter(hit_years)
        occ_by_year: Counter = Counter()
        for y, c in zip(hit_years, map(self.occ.get, self.hit_list, repeat(0))):
            occ_by_year[y] += c
        allowed = f.others(snap)
        if allowed is None:
            chars = snap.chars_by_year
        else:
            chars = Counter()
            for d in allowed:
                chars[years[d]] += snap.blen[d]
        in_range = [y for y in snap.by_year if snap.by_year[y] and f.in_years(y)]
        return passages.trend_rows(in_range, hits_by_year, occ_by_year, chars)

    def result(self, limit: int, offset: int, kwic: bool) -> dict:
        out = {
            "query": self.parsed.raw,
            "total": len(self.hits),
            "occurrences_total": sum(self.occ.values()),
            "sort": self.sort,
            "offset": offset,
        }
        if kwic:
            out["occurrences"] = self.kwic(limit, offset)
        else:
            out["hits"] = [self.hit(d) for d in self.order(offset + limit)[offset:]] if limit else []
        out["facets"] = _facet_dicts(self.hits, self.snap)
        out["trend"] = self.trend()
        return out

    def hit(self, d: int) -> dict:
        m = self.snap.meta[d]
        store, i = self.snap.loc[d]
        return {
            "source": m[0],
            "url": m[1],
            "title": m[2],
            "date": m[3],
            "year": m[4],
            "meeting_type": m[5],
            "themes": list(m[6]),
            "speaker": m[8],
            "organization": m[9],
            "score": round(self.scores.get(d, 0.0), 4),
            "occurrences": self.occ.get(d, 0),
            "excerpt": excerpt_of_stored(store.folded_body(i), store.patches(i), self.parsed.terms),
        }

    def kwic(self, limit: int, offset: int) -> list[dict]:
        rows: list[dict] = []
        if not limit:
            return rows
        skip = offset
        terms = [ti.term for ti in self.terms]
        for d in self.order():
            count = self.occ.get(d, 0)
            if skip >= count:
                skip -= count
                continue
            m = self.snap.meta[d]
            for line, left, match, right in passages.kwic_rows(self.snap.body(d), terms, skip, limit - len(rows)):
                rows.append(
                    {
                        "source": m[0],
                        "url": f"{m[1]}#p{line + 1}",
                        "title": m[2],
                        "date": m[3],
                        "left": left,
                        "match": match,
                        "right": right,
                    }
                )
            skip = 0
            if len(rows) >= limit:
                break
        return rows
