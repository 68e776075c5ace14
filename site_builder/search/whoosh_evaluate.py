"""Answering a query on a snapshot: the terms (hits, tf), filters, scores, order, facets, trend, KWIC."""

from __future__ import annotations

from collections import Counter
from itertools import chain, repeat

import numpy as np

from . import analysis, passages, ranking, whoosh_columns
from . import query as querymod
from .whoosh_excerpts import excerpt_of_stored
from .whoosh_records import _TEXT_CODEC
from .whoosh_snapshot import _Scan, _Snapshot

# Verify a longer term by counting first (see _TermInfo.docs) when it has this many candidates.
_PROOF_MIN = 300


# --------------------------------------------------------------------------------------
# Query evaluation


def _dense(snap: _Snapshot, cache: dict, key: str) -> tuple[np.ndarray, int]:
    """(the key's count in every speech as one array, the number of speeches having it): read
    once a generation while the snapshot's memo keeps it (``key_counts``); never written to."""
    got = cache.get(key)
    if got is None:
        got = snap.postings_memo.get(key)
        if got is None:
            got = snap.key_counts(key)
            snap.postings_memo.put(key, got, got[0].nbytes + 1)
        cache[key] = got
    return got


class _TermInfo:
    __slots__ = ("term", "keys", "maps", "df_", "cand", "exact", "present", "tb", "postings", "counted")

    def __init__(self, term: str, snap: _Snapshot, cache: dict):
        self.term = term
        self.keys = analysis.term_grams(term)

        def postings(key: str) -> np.ndarray:
            """The key's count in every speech (0: not there; deleted speeches 0), for this query."""
            return _dense(snap, cache, key)[0]

        self.postings = postings
        got = sorted((_dense(snap, cache, k) for k in self.keys), key=lambda x: x[1])
        self.exact = analysis.term_is_exact(term)
        self.maps = [m for m, _n in got]
        self.df_ = got[0][1] if got else 0
        if not got:
            self.cand: set[int] = set()
        else:
            mask = self.maps[0] != 0
            for m in self.maps[1:]:
                np.logical_and(mask, m, out=mask)
            self.cand = set(np.flatnonzero(mask).tolist())
        self.present: set[int] = set()
        self.counted: dict[int, int] = {}  # doc → tf, for the docs _scan_and_count has seen
        self.tb = term.encode(_TEXT_CODEC, "surrogatepass")

    def docs(self, snap: _Snapshot, restrict: set[int] | None, counting: bool = False) -> set[int]:
        """The documents (within ``restrict``) that contain the term. ``counting``: the term's
        occurrences in the bodies will be needed (a positive term of an answer): a term that must
        be looked for in the texts is then counted in the same scan (see ``counts``)."""
        if self.exact:
            found = self.cand if restrict is None else (self.cand & restrict)
            self.present |= found
            return found
        cand = self.cand if restrict is None else (self.cand & restrict)
        if counting and " " not in self.term:
            return self._scan_and_count(snap, cand)
        found: set[int] = set()
        todo = cand
        if len(cand) >= _PROOF_MIN and " " not in self.term:
            # For a term without spaces, counts can prove an occurrence: with pairs
            # p1…p(n-1) and inner characters c1…c(n-2), the term occurs at least
            # Σ count(p) − Σ count(c) times (each pair occurrence shares its inner character
            # with the next; pigeonhole). Valid while no count is capped at 255.
            t = self.term
            docs = np.fromiter(cand, np.int64, len(cand))
            pairs = np.stack([self.postings(t[j : j + 2])[docs] for j in range(len(t) - 1)]).astype(np.int64)
            chars = np.stack([self.postings(t[j])[docs] for j in range(1, len(t) - 1)]).astype(np.int64)
            capped = (pairs >= 255).any(axis=0) | (chars >= 255).any(axis=0)
            proved = ~capped & (pairs.sum(axis=0) - chars.sum(axis=0) > 0)
            found.update(docs[proved].tolist())
            todo = docs[~proved].tolist()
        tb = self.tb
        span = snap.span
        add_found = found.add
        for d in todo:
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
            docs = list(present)
            for d, c in zip(docs, self.maps[0][np.array(docs, dtype=np.int64)].tolist()):
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
        at = np.array(docs, dtype=np.int64)
        pairs = np.stack([m[at] for m in self.pairs]).astype(np.int64)
        lowest = pairs.min(axis=0)
        upper = np.where(lowest < 255, lowest, -1).tolist()
        if self.chars is None:
            return upper, [False] * len(docs)
        chars = np.stack([m[at] for m in self.chars]).astype(np.int64)
        exact = (
            (pairs.max(axis=0) < 255) & (chars.max(axis=0) < 255) & (pairs.sum(axis=0) - chars.sum(axis=0) >= lowest)
        )
        return upper, exact.tolist()


_parse_year = querymod.parse_year


def _facet_dicts(hits: set[int], snap: _Snapshot) -> dict:
    """The facets' definition, speech by speech (answers use ``whoosh_columns.facets``; tests compare)."""
    years: Counter = Counter(map(snap.years.__getitem__, hits))
    types = Counter(map(snap.types.__getitem__, hits))
    types.pop("", None)
    themes = Counter(chain.from_iterable(map(snap.themes.__getitem__, hits)))
    speakers = Counter(map(snap.speakers.__getitem__, hits))
    orgs = Counter(map(snap.orgs.__getitem__, hits))
    for c in (speakers, orgs):
        c.pop("", None)

    def by_count(c: Counter) -> dict:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return {
        "year": {str(y): years[y] for y in sorted(years, reverse=True)},
        "meeting_type": by_count(types),
        "theme": by_count(themes),
        "speaker": by_count(speakers),
        "organization": by_count(orgs),
    }


class _Filters:
    def __init__(self, years, meeting_type, theme, speaker, organization):
        self.years = years
        self.values = [
            (v, name)
            for v, name in (
                (meeting_type, "by_type"),
                (theme, "by_theme"),
                (speaker, "by_speaker"),
                (organization, "by_org"),
            )
            if v is not None
        ]

    def in_years(self, y: int) -> bool:
        return self.years is None or self.years[0] <= y <= self.years[1]

    def others(self, snap: _Snapshot) -> set[int] | None:
        """The speeches that pass the filters other than the year (None: no such filter)."""
        allowed: set[int] | None = None
        for value, name in self.values:
            docs = getattr(snap, name).get(value, set())
            allowed = set(docs) if allowed is None else allowed & docs
        return allowed

    def allowed(self, snap: _Snapshot) -> set[int] | None:
        """The speeches that pass every filter (None: no filter). A query's terms are looked for
        only in these: the texts of speeches the filters leave out are never scanned."""
        others = self.others(snap)
        if self.years is None:
            return others
        docs: set[int] = set().union(*(ds for y, ds in snap.by_year.items() if self.in_years(y)))
        return docs if others is None else docs & others


class _Answer:
    """Everything computed from one hit set: counts, scores, order, the page, facets and trend."""

    def __init__(self, snap: _Snapshot, parsed, hits: set[int], infos: dict, filters: _Filters, sort: str):
        self.snap, self.parsed, self.hits, self.filters, self.sort = snap, parsed, hits, filters, sort
        self.hit_list = sorted(hits)
        self.hit_array = np.array(self.hit_list, dtype=np.int64)
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
        snap, hits = self.snap, self.hit_list
        n_docs = max(snap.n_live, 1)
        titles, heads = snap.titles, snap.heads
        find, offs, base = heads.buf.find, heads.offsets, heads.base  # heads.has(d, tb), inlined
        terms = []
        for ti in self.terms:
            t = ti.term
            tb = t.encode("utf-8", "surrogatepass")
            tfs = self.tfs.get(t, {})
            terms.append(
                (
                    ranking.idf(n_docs, ti.df()),
                    np.fromiter((tfs.get(d, 0) for d in hits), np.int64, len(hits)),
                    np.fromiter((t in titles[d] for d in hits), bool, len(hits)),
                    np.fromiter((find(tb, base + offs[d], base + offs[d + 1]) >= 0 for d in hits), bool, len(hits)),
                )
            )
        self.score_array = whoosh_columns.scores(snap.columns, self.hit_array, terms)
        return dict(zip(hits, self.score_array.tolist()))

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
            dates = self.snap.columns.datekey[self.hit_array]
            return whoosh_columns.first(self.hit_list, k, self.sort, self.score_array, dates, key)
        return sorted(self.hits, key=key)

    def trend(self) -> list[dict]:
        snap, f = self.snap, self.filters
        occ = np.fromiter(map(self.occ.get, self.hit_list, repeat(0)), np.int64, len(self.hit_list))
        in_range = [y for y in snap.by_year if snap.by_year[y] and f.in_years(y)]
        return whoosh_columns.trend(snap.columns, self.hit_array, occ, in_range, snap.chars_by_year, f.others(snap))

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
        out["facets"] = whoosh_columns.facets(self.snap.columns, self.hit_array)
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
