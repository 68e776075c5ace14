"""Patching the index in place of assembling it: when docs are edited, appended or removed at the end
(the other docs keep their numbers), only the keys whose entry changed are patched.

The index files holding them are read back, patched and written (a long posting around the change
only, using checkpoints kept in ``state_dir/static/skip/``: every ``CK``-th entry's char offset and
the doc before it); nothing else is touched.
"""

from __future__ import annotations

import bisect
import marshal
from collections import Counter, defaultdict
from itertools import accumulate
from pathlib import Path

import numpy as np

from ..fileio import write_atomic
from . import pieces, wire
from .analyser import arrays_path, doc_entries, section_sizes
from .files import put, tag_of
from .keys import SECTIONS
from .wire import (
    Layout,
    bucket_body,
    bucket_count,
    bucket_string,
    decode_entries,
    encode_entries,
    entries_around,
    file_name,
    hexname,
    js_file,
    json_text,
    parse_bucket_text,
    parse_js,
    x_file,
)


def _read_named(out: Path, name: str, files: dict):
    """The data of a file read to be patched, checked against the tag its name carries (the digest
    of its bytes): a file changed where it lies (cut short, edited) is not patched, the index is
    assembled afresh (ValueError)."""
    path = out / file_name(name, files[name][0])
    data = path.read_bytes()
    if tag_of(data) != files[name][0]:
        raise ValueError(f"{path}: changed since it was written")
    return parse_js(data, path)


def checkpoints(entries: list, parts: list[str], prev: int, base: int) -> tuple[list, list]:
    offs = list(accumulate(map(len, parts), initial=base))  # offs[j]: where entry j starts
    idx = range(0, len(entries), wire.CK)
    return [prev if j == 0 else entries[j - 1][0] for j in idx], [offs[j] for j in idx]


def apply_changes(entries: list, changes: dict) -> list:
    cur = dict(entries)
    for n, e in changes.items():
        if e is None:
            cur.pop(n, None)
        else:
            cur[n] = e
    return sorted(cur.items())


def patch_posting(kind: str, posting: str, ck, changes: dict):
    """Apply {doc: entry or None} to a posting; returns (posting, checkpoints or None, the change in
    its number of docs)."""
    if ck is None or len(posting) <= wire.BIG:  # the entries of the changed docs and the one after
        s, e, prev, before = entries_around(kind, posting, min(changes, default=0), max(changes, default=-1))
        ents = apply_changes(before, changes)
        new = posting[:s] + "".join(encode_entries(kind, ents, prev)) + posting[e:]
        if len(new) <= wire.BIG:
            return new, None, len(ents) - len(before)
        every = decode_entries(kind, new, 0, len(new), -1)  # now long: checkpoints
        return new, checkpoints(every, encode_entries(kind, every, -1), -1, 0), len(ents) - len(before)
    ckd, cko = list(ck[0]), list(ck[1])
    docs_delta = 0
    for n in sorted(changes, reverse=True):
        i = bisect.bisect_left(ckd, n) - 1  # region i holds docs (ckd[i], ckd[i+1]]
        j = min(i + 2, len(ckd))  # decode regions i and i+1: the doc before cko[j] stays
        s, e = cko[i], (cko[j] if j < len(ckd) else len(posting))
        before = decode_entries(kind, posting, s, e, ckd[i])
        ents = apply_changes(before, {n: changes[n]})
        docs_delta += len(ents) - len(before)
        parts = encode_entries(kind, ents, ckd[i])
        sub = "".join(parts)
        nd, no = checkpoints(ents, parts, ckd[i], s)
        if not nd:  # both regions lost every entry: keep one empty region (the next change needs it)
            nd, no = [ckd[i]], [s]
        delta = len(sub) - (e - s)
        posting = posting[:s] + sub + posting[e:]
        ckd[i:j] = nd
        cko[i:j] = no
        k = i + len(nd)
        cko[k:] = [o + delta for o in cko[k:]]
    if len(posting) <= wire.BIG:
        return posting, None, docs_delta
    return posting, (ckd, cko), docs_delta


#: about the bytes of Python objects that ``diff_entries`` makes of the old and the new doc's entries
#: at a time (a run of sections; an ordinary speech's fit in one): a p entry is a key, a tuple and a
#: slice of the encoded positions (held as bytes, then as str) in a dict, a k entry a key and a code
DIFF_BYTES = 1 << 24
_K_BYTES, _P_BYTES, _ENC_BYTES = 200, 300, 3


def section_runs(sizes: list) -> list[tuple[int, int]]:
    """Runs [a, b) of consecutive sections whose entries (``sizes``: ``analyser.section_sizes`` of
    each doc) make at most ``DIFF_BYTES`` of objects, unless one section alone makes more: one run of
    every section for an ordinary speech."""
    weight = np.zeros(SECTIONS, np.int64)
    for k, p, e in sizes:
        weight += _K_BYTES * k + _P_BYTES * p + _ENC_BYTES * e
    limit = DIFF_BYTES
    runs, a, held = [], 0, 0
    for s, w in enumerate(weight.tolist()):
        if held and held + w > limit:
            runs.append((a, s))
            a, held = s, 0
        held += w
    runs.append((a, SECTIONS))
    return runs


def diff_entries(changed, order, old_order, new_docs, old_docs, root: str = "") -> tuple[dict, dict]:
    """The entries that differ between the old and the new docs at the changed numbers:
    ({key: {doc: code or None}}, {key: {doc: (count, in a heading, positions) or None}}); a doc's
    header file is ``root`` + its entry's path. A key is in the same section in both docs: a long
    doc's entries are compared a run of sections at a time (``section_runs``; #15: a 50 MB speech's
    old and new entries as four dicts at once made most of a rebuild's peak, 13 times the file)."""
    kch: dict = defaultdict(dict)
    pch: dict = defaultdict(dict)
    for n in changed:
        pair = (
            old_docs[old_order[n]] if n < len(old_order) and old_order[n] in old_docs else None,
            new_docs[order[n]] if n < len(order) else None,
        )
        for a, b in section_runs([section_sizes(d[2]["offsets"]) for d in pair if d is not None]):
            (old_k, old_p), (new_k, new_p) = (
                doc_entries(arrays_path(root + d[1]), d[2]["offsets"], a, b) if d is not None else ({}, {})
                for d in pair
            )
            for old, new, ch in ((old_k, new_k, kch), (old_p, new_p, pch)):
                for key, e in new.items():
                    if old.get(key) != e:
                        ch[key][n] = e
                for key in old.keys() - new.keys():
                    ch[key][n] = None
            del old_k, old_p, new_k, new_p
    return kch, pch


class Relayout(Exception):
    """A shard's bucket count changes: the postings are assembled afresh."""


def patch(out: Path, skip_path, changes: dict, layout: dict, files: dict, stats: Counter, dfs=None) -> dict:
    """Patch changed entries ({prefix: {key: {doc: entry or None}}}, prefixes of one segment: k and
    p, or kn and pn) into the index files that hold them.

    The output files are the state: a bucket is read back, its changed keys patched and it is
    written again; a long posting is patched around the change using its checkpoints
    (``skip_path(shard, segment)``: the file of a shard's checkpoints). Returns the new layout of
    those prefixes; raises Relayout when a shard's bucket count would change (nothing is written then
    but long postings' files). ``dfs`` (a Counter), when given, gets each changed pair's change in
    its number of docs (for ``d/``)."""
    where = {prefix: Layout(layout[prefix][0]) for prefix in changes}
    shorts = {prefix: list(layout[prefix][1]) for prefix in changes}
    by_file: dict = defaultdict(list)  # (prefix, bucket) → keys
    for prefix, by_key in changes.items():
        for key in by_key:
            by_file[prefix, where[prefix].bucket(key)].append(key)
    skips: dict = {}  # shard → checkpoints of its long postings
    pending = []  # buckets are written once the layout is known to stay
    for (prefix, bk), keys in sorted(by_file.items()):
        kind, seg = prefix[0], prefix[1:]
        shard = where[prefix].shard(bk)
        skip = skips.get(shard)
        if skip is None:
            skip = skips[shard] = marshal.loads(skip_path(shard, seg).read_bytes())
        data = _read_named(out, f"{prefix}/{bk}", files)
        piece_key = (prefix, bk - where[prefix].offsets[shard])  # (its pieces' info: ``pieces``)
        reuse: dict = {}
        if kind == "k":  # (kn/: one stream, no info)
            data, reuse = pieces.inflate(data, skip.get(piece_key))
        bucket = parse_bucket_text(data, prefix)
        for key in keys:
            old = bucket.get(key, "")
            old_df = None
            if isinstance(old, int):  # -df: the posting is in its own file
                old_df = -old
                xname = f"{prefix}/x/{hexname(key)}"
                old = _read_named(out, xname, files)
            new, ck, delta = patch_posting(kind, old, skip.get(prefix + key), changes[prefix][key])
            if dfs is not None and kind == "k" and len(key) == 2:
                dfs[key] += delta
            if ck is None:
                skip.pop(prefix + key, None)
            else:
                skip[prefix + key] = ck
            if not new:
                bucket.pop(key, None)
            elif len(new) <= wire.BIG:
                bucket[key] = new
            else:
                if old_df is None:
                    old_df = len(decode_entries(kind, old, 0, len(old), -1))
                bucket[key] = -(old_df + delta)
            shorts[prefix][shard] += (len(key) + len(new) if len(new) <= wire.BIG and new else 0) - (
                len(key) + len(old) if len(old) <= wire.BIG and old else 0
            )
            if len(new) > wire.BIG:
                name, data = x_file(prefix, key, new)
                put(out, name, data, files, stats)
            elif len(old) > wire.BIG:
                files.pop(f"{prefix}/x/{hexname(key)}", None)
        if prefix == "k":  # (only the pieces whose keys changed deflated again)
            body, skip[piece_key] = pieces.deflate(bucket_string(bucket, prefix), reuse)
            pending.append((f"{prefix}/{bk}", json_text(body)))
        else:
            pending.append((f"{prefix}/{bk}", bucket_body(bucket, prefix)))
    for prefix in changes:
        if [bucket_count(x, prefix) for x in shorts[prefix]] != layout[prefix][0]:
            raise Relayout(prefix)
    seg = next(iter(changes))[1:] if changes else ""
    for name, body in pending:
        put(out, name, js_file(name, body), files, stats)
    for shard, skip in skips.items():
        write_atomic(skip_path(shard, seg), marshal.dumps(skip))
    return {prefix: (layout[prefix][0], shorts[prefix]) for prefix in changes}
