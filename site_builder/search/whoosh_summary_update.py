"""A generation's summary (``whoosh_summary``) made from the previous generation's (#15).

After an update that changed one speech, the index has the old segments (one document more deleted)
and one new segment of one document. Computing the summary afresh reads every text store's metadata
and walks every speech (0.3 s CPU at 10,000); made from the previous summary, only the new segment's
store is read; the groups (speeches per year, type, theme, speaker, organisation) are made again
from the per-speech values (0.02 s at 10,000). The result is the same data
(``tests/test_whoosh_summary_update.py`` compares it with a summary computed from the stores).
"""

from __future__ import annotations

import marshal

from .whoosh_summary import ERRORS, PER_DOC, Headings, MetaRecords, finish, key_of, save, store_part, summary_path


def write_derived(index_dir, toc, previous: dict | None, open_store) -> bool:
    """Write the summary of the generation ``toc`` made from ``previous`` (``derive``); True when it
    is written, or was already there (an update that changed nothing keeps its generation)."""
    try:
        key = key_of(index_dir, toc)
        path = summary_path(index_dir, toc.generation)
        if path.exists():
            return True
        if previous is not None:
            data = derive(previous, key, open_store)
            return data is not None and save(path, key, data)
    except ERRORS:
        pass
    return False


def write_computed(index_dir, toc, open_store) -> bool:
    """Write the summary of the generation ``toc`` computed from its segments' text stores (a cold
    build's), one store at a time: each store's metadata is let go of once its share is taken
    (``store_part(encoded=True)``), not held for every speech as a snapshot holds it. True when written."""
    try:
        key = key_of(index_dir, toc)
        path = summary_path(index_dir, toc.generation)
        if path.exists():
            return True
        parts = []
        for seg in toc.segments:
            store = open_store(seg.segment_id())
            try:
                parts.append(store_part(store, set(seg.deleted_docs()), encoded=True))
            finally:
                store.close()
            del store
        return save(path, key, finish(parts))
    except ERRORS:
        return False


def indexed_in(previous: dict, segments) -> dict[str, tuple]:
    """id → (fingerprint, segment, local docnum) of every live document of ``segments``, read from
    the summary ``previous`` that describes them (``whoosh_summary.describes``)."""
    records, sources = previous["meta"], previous["sources"]
    current = {}
    d = 0
    for seg in segments:
        for i in range(seg.doc_count_all()):
            if sources[d]:  # (deleted: "")
                current[sources[d]] = (marshal.loads(records.encoded(d))[7], seg, i)
            d += 1
    return current


_DEAD = {
    "datekey": 0,
    "sources": "",
    "heads": b"",
    "years": None,
    "types": None,
    "themes": (),
    "speakers": None,
    "orgs": None,
}


def derive(old: dict, key: tuple, open_store) -> dict | None:
    """The summary for ``key`` made from ``old`` (an earlier generation's, as ``load_latest`` gives
    it) for the segments both have (more documents deleted at most), from their text stores
    (``open_store(segment id)``, closed here) for the others; None when ``old`` was computed by
    other code. One changed speech at 10,000: its new segment's store is read, not every store."""
    if tuple(old["key"][:5]) != tuple(key[:5]):
        return None
    known = {}
    base = 0
    for k, ((segid, docs, deleted, size), (n, _offsets)) in enumerate(zip(old["key"][6], old["stores"], strict=True)):
        known[segid] = (k, base, n, docs, set(deleted), size)
        base += n
    parts = []
    opened = []
    try:
        for segid, docs, deleted, size in key[6]:
            gone = set(deleted)
            found = known.get(segid)
            if found is not None and found[3] == docs and found[5] == size and found[4] <= gone:
                parts.append(_old_part(old, found[0], found[1], found[2], gone - found[4]))
            else:
                opened.append(open_store(segid))
                parts.append(store_part(opened[-1], gone))
        return finish(parts)
    finally:
        for store in opened:
            store.close()


def _old_part(old: dict, k: int, base: int, n: int, newly_dead: set[int]) -> dict:
    """One segment's share of the summary, from an earlier generation's (``old``, where it is the
    ``k``-th segment and starts at ``base``), with the documents ``newly_dead`` deleted. Its
    metadata records stay encoded (bytes): ``save`` writes them as they are."""
    records: MetaRecords = old["meta"]
    heads: Headings = old["heads"]
    part = {name: old[name][base : base + n] for name in PER_DOC}
    part["store"] = old["stores"][k]
    part["meta"] = [records.encoded(d) for d in range(base, base + n)]
    part["heads"] = [heads.encoded_one(d) for d in range(base, base + n)]
    for i in newly_dead:
        part["meta"][i] = None
        for name, value in _DEAD.items():
            part[name][i] = value
    return part
