"""Which pages' inputs can have changed since the last build's plan (#15), found from what changed
in the model, so that the plan computes the inputs (page_inputs.py) of those pages only.

The last plan is kept in the build cache (``BuildCache.page_plan``, marshal): each speech's file
digest, URL, token digest, the URLs of its terms and the sources of the speeches its page names
(older and newer neighbours, older and newer of its meeting type, related speeches); the order of
every speech; the URLs of every term; each shared passage as a 64-bit hash of its text and places
with the hashes of its places' sources (numpy arrays); the scope of each template. Then:

* a speech whose digest or URL changed, or one of whose terms' URL changed, is *changed* (its
  token, and so its source page's inputs, may differ; a new term, a new year, changes no other
  speech's token); a speech gone from the archive too;
* a speech page's inputs can have changed when the speech changed, when the speeches its page
  names are others or one of them changed, or when one of its passages is new, gone, or found in
  a changed speech (the passages' hashes are compared in numpy, not each passage in Python);
* a term's listing pages, when a changed speech is or was in the term;
* the pages of every speech (all/) that hold a changed speech or whose speeches moved (every page
  when their number changed); the compare page's list, when any speech changed.

Every other planned page keeps the inputs it was last stored with: ``select`` skips it when its
template's scope is the one of the last plan, its stored key is its key and its file is there
(else its inputs are computed after all). The state is dropped before pages are written and saved
after (``build._write_pages``): a build that stopped between leaves none, and the next plan
computes every page's inputs.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from .listings import Blocks
from .model import Speech

VERSION = 3  # of the kept state: another version's is not read


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class _SourceIds(dict):
    """source → its 64-bit hash, computed on first use."""

    def __missing__(self, source: str) -> int:
        value = self[source] = _h64(source)
        return value


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over uint64 (wrapping)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def passage_hashes(passages: list, ids: _SourceIds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each passage's hash of its text and places (source, paragraph) in order, its number of
    places, the hashes of every place's source in order), as uint64 / int64 arrays."""
    n = len(passages)
    columns = getattr(passages, "columns", None)  # (reuse's Passages: no object a passage, #15)
    if columns is not None:
        text_list, counts, names, src, par = columns()
        texts = np.fromiter(map(_h64, text_list), np.uint64, n)
    else:
        texts = np.fromiter((_h64(p.text) for p in passages), np.uint64, n)
        counts = np.fromiter((len(p.places) for p in passages), np.int64, n)
    total = int(counts.sum())
    if not total:
        return _mix(texts), counts, np.zeros(0, np.uint64)
    if columns is not None:
        sids = np.fromiter(map(ids.__getitem__, names), np.uint64, len(names))[src]
        paras = par.astype(np.uint64)
    else:
        sources, paragraphs = zip(*chain.from_iterable(p.places for p in passages))
        sids = np.fromiter(map(ids.__getitem__, sources), np.uint64, total)
        paras = np.fromiter(paragraphs, np.uint64, total)
    starts = np.cumsum(counts) - counts
    position = np.arange(total, dtype=np.uint64) - np.repeat(starts, counts).astype(np.uint64)
    places = _mix(sids ^ _mix(paras * np.uint64(0x9E3779B97F4A7C15) + position))
    sums = np.zeros(n, np.uint64)
    has = counts > 0
    sums[has] = np.add.reduceat(places, starts[has])
    return _mix(texts ^ _mix(sums + counts.astype(np.uint64))), counts, sids


def _sources_of(mask: np.ndarray, counts: np.ndarray, sids: np.ndarray) -> np.ndarray:
    """The source hashes of the places of the passages ``mask`` selects."""
    return sids[np.repeat(mask, counts)]


@dataclass
class Changes:
    """What the plan needs to know of the last one; ``None`` fields: every such page."""

    tok: dict[int, str]  # id(speech) → its token's digest (every speech)
    listed: dict[int, str]  # id(speech) → the digest of what the compare page's list shows of it
    changed: set[int] | None = None  # id(speech) whose token changed
    speech_pages: set[int] | None = None  # id(speech) whose page's inputs can have changed
    terms: set[str] | None = None  # URLs of terms whose listings can have changed
    all_pages: set[int] | None = None  # numbers (1-based) of the all/ pages that can have changed
    docs: bool = True  # the compare page's list of every speech
    scopes: dict[str, str] = field(default_factory=dict)  # template → scope at the last plan
    keys: dict[str, str] = field(default_factory=dict)  # path → its key after the last plan's build
    passages: dict[str, list] = field(default_factory=dict)  # source → its passages (Reuse.of), fresh pages'
    state: dict = field(default_factory=dict)  # this plan, to keep for the next one

    def fresh_speech(self, s: Speech) -> bool:
        return self.speech_pages is None or id(s) in self.speech_pages

    def fresh_data(self, s: Speech) -> bool:
        return self.changed is None or id(s) in self.changed

    def fresh_term(self, url: str) -> bool:
        return self.terms is None or url in self.terms

    def fresh_all(self, n: int) -> bool:
        return self.all_pages is None or n in self.all_pages


def _links(s: Speech, same_type: dict) -> tuple:
    older, newer = same_type.get(id(s), (None, None))
    return (
        s.prev and s.prev.source,
        s.next and s.next.source,
        older and older.source,
        newer and newer.source,
        *(r.source for r in s.related),
    )


def compare(views, previous: bytes | None, token: Callable[[Speech], tuple], digest: Callable) -> Changes:
    """The changes since the ``previous`` plan (its kept state; None: every page is fresh), and
    this plan's state. ``token(s)``: a speech as page inputs name it; ``digest``: of a token."""
    a = views.archive
    old = _load(previous)
    kept = old["speeches"] if old is not None else {}
    # terms whose URL changed (a new term changes no other speech's token: its own file changed)
    moved = {url for term, url in old["term_url"].items() if views.term_url.get(term) != url} if old else set()
    tok: dict[int, str] = {}
    listed: dict[int, str] = {}
    speeches: dict[str, tuple] = {}
    changed: set[int] = set()
    same_type = views.same_type()
    for s in a.speeches:
        before = kept.get(s.source)
        if before is not None and before[0] == s.digest and before[1] == s.url and moved.isdisjoint(before[3]):
            tok[id(s)], terms, listed[id(s)] = before[2], before[3], before[5]
        else:
            t = token(s)
            tok[id(s)], terms, listed[id(s)] = digest(t), t[3:], digest(_listed(s))
            changed.add(id(s))
        speeches[s.source] = (s.digest, s.url, tok[id(s)], terms, _links(s, same_type), listed[id(s)])
    ids = _SourceIds()
    passages = views.reuse.passages if views.reuse is not None else []
    hashes, counts, sids = passage_hashes(passages, ids)
    state = {
        "version": VERSION,
        "term_url": views.term_url,
        "speeches": speeches,
        "passages": (hashes.tobytes(), counts.tobytes(), sids.tobytes()),
    }
    if old is None:
        return Changes(tok, listed, state=state)
    gone = old["speeches"].keys() - speeches.keys()
    docs = bool(gone) or any(old["speeches"].get(x, ())[5:6] != (v[5],) for x, v in _of(speeches, changed, a))
    out = Changes(tok, listed, changed, state=state, scopes=old["scopes"], keys=old["keys"], docs=docs)
    by_source = {s.source: s for s in a.speeches}
    touched = gone | {s.source for s in a.speeches if id(s) in changed}  # (sources whose token changed)
    out.terms = _terms(old["speeches"], speeches, touched)
    out.all_pages = _all_pages(views, tuple(old["speeches"]), tuple(speeches), changed)  # (newest first)
    out.speech_pages = _speech_pages(a, old, speeches, touched, changed)
    flagged = _passage_sources(old["passages"], (hashes, counts, sids), [ids[x] for x in touched])
    out.speech_pages |= {id(by_source[x]) for x in _unhash(flagged, ids, by_source)}
    fresh = [s.source for s in a.speeches if id(s) in out.speech_pages]
    out.passages = _passages_of(fresh, passages, counts, sids, ids)
    return out


def _passages_of(sources: list[str], passages: list, counts: np.ndarray, sids: np.ndarray, ids: _SourceIds) -> dict:
    """source → its passages in their order (``Reuse.of``), for ``sources`` only: from the places'
    arrays, without Reuse.of's index of every place."""
    out: dict[str, list] = {x: [] for x in sources}
    if not len(sids) or not sources:
        return out
    back = {ids[x]: x for x in sources}
    owner = np.repeat(np.arange(len(counts)), counts)
    mask = np.isin(sids, np.fromiter(back, np.uint64, len(back)))
    last: dict[str, int] = {}
    for sid, i in zip(sids[mask].tolist(), owner[mask].tolist()):
        x = back[sid]
        if last.get(x) != i:  # (a passage's places are sorted by source: one source's are together)
            out[x].append(passages[i])
            last[x] = i
    return out


def _listed(s: Speech) -> tuple:
    """What the compare page's list shows of a speech (compare.browser_docs), and its source (their order)."""
    return (s.title, s.url, s.date.iso(), s.meta.meeting_type, s.source)


def _of(speeches: dict[str, tuple], changed: set[int], a) -> list[tuple[str, tuple]]:
    return [(s.source, speeches[s.source]) for s in a.speeches if id(s) in changed]


def _load(previous: bytes | None) -> dict | None:
    if not previous:
        return None
    try:
        state = marshal.loads(previous)
    except (EOFError, ValueError, TypeError):
        return None
    return state if isinstance(state, dict) and state.get("version") == VERSION else None


def _terms(before: dict, now: dict, touched: set[str]) -> set[str]:
    """URLs of the terms a touched speech is or was in."""
    out: set[str] = set()
    for source in touched:
        for kept in (before.get(source), now.get(source)):
            if kept is not None:
                out.update(u for u in kept[3] if u is not None)
    return out


def _all_pages(views, before: tuple, now: tuple, changed: set[int]) -> set[int] | None:
    """Numbers of the all/ pages that hold a changed speech or whose speeches moved; None: all
    (their number changed: the inputs of every page are computed, and differ on the pages whose
    block or newer neighbours changed)."""
    if len(before) != len(now):
        return None
    blocks = Blocks(len(now), views.config.per_page)  # (pages counted from the oldest: listings.py)
    pages = {blocks.page_of(i) for i, s in enumerate(views.archive.speeches) if id(s) in changed}
    if before != now:
        first = next(i for i, (x, y) in enumerate(zip(before, now)) if x != y)
        last = len(now) - next(i for i, (x, y) in enumerate(zip(reversed(before), reversed(now))) if x != y) - 1
        pages.update(range(blocks.page_of(last), blocks.page_of(first) + 1))
    return pages


def _speech_pages(a, old: dict, now: dict, touched: set[str], changed: set[int]) -> set[int]:
    """id(speech) of the speeches whose page's inputs can have changed, passages left out."""
    before = old["speeches"]
    out = set(changed)
    for s in a.speeches:
        kept, links = before.get(s.source), now[s.source][4]
        if kept is None or kept[4] != links or not touched.isdisjoint(links):
            out.add(id(s))
    return out


def _passage_sources(before: tuple, now: tuple, touched: list[int]) -> np.ndarray:
    """Hashes of the sources of the passages that are new, gone, or name a touched speech among
    their first three sources (a page names those: page_inputs._Passages)."""
    old_hashes = np.frombuffer(before[0], np.uint64)
    old_counts = np.frombuffer(before[1], np.int64)
    old_sids = np.frombuffer(before[2], np.uint64)
    hashes, counts, sids = now
    new = ~np.isin(hashes, old_hashes)
    gone = ~np.isin(old_hashes, hashes)
    if touched and len(sids):
        starts = np.cumsum(counts) - counts
        has = counts > 0
        first = np.ones(len(sids), bool)  # a place whose source is not the one before it
        first[1:] = sids[1:] != sids[:-1]
        first[starts[has]] = True
        rank = np.cumsum(first)
        rank -= np.repeat(rank[starts[has]] - 1, counts[has])  # 1, 2, … within each passage
        hit = (np.isin(sids, np.array(touched, np.uint64)) & (rank <= 3)).astype(np.int64)
        found = np.zeros(len(counts), bool)
        found[has] = np.add.reduceat(hit, starts[has]) > 0
        new |= found
    return np.unique(np.concatenate([_sources_of(new, counts, sids), _sources_of(gone, old_counts, old_sids)]))


def _unhash(flagged: np.ndarray, ids: _SourceIds, by_source: dict) -> list[str]:
    """The published sources among the hashes ``flagged`` (a source that had passages and has
    none now is hashed here)."""
    wanted = set(flagged.tolist())
    found = [source for source, h in ids.items() if h in wanted and source in by_source]
    if len(found) < len(wanted):
        found = [source for source in by_source if ids[source] in wanted]
    return found


def dump(changes: Changes, scopes: dict[str, str], keys: dict[str, str]) -> bytes:
    """The state to keep for the next plan, with the scopes this build's pages were selected in
    and the keys of its planned pages as this build leaves them in the cache's ``pages``: a page
    another build (another version of site_builder) rendered since has another key there."""
    return marshal.dumps(dict(changes.state, scopes=scopes, keys=keys))
