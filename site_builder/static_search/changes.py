"""What an update changes, found without looking at every doc's entries: the docs' digest, the doc
numbers whose doc changed, their entries split into the base's and the tail's, the parts of
facets.js kept, the old generation's files that the new one does not name, and the state's files
no manifest names."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from .assembly import facet_pieces
from .wire import file_name


def split_changes(kch: dict, pch: dict, tail: int) -> tuple[dict, dict, dict, dict]:
    """The changed entries ({key: {doc: entry}}) of the base's docs (k, p), then of the tail's (kn, pn)."""
    out: tuple[dict, dict, dict, dict] = ({}, {}, {}, {})
    for i, changes in enumerate((kch, pch)):
        for key, by_doc in changes.items():
            for doc, e in by_doc.items():
                out[i + 2 * (doc >= tail)].setdefault(key, {})[doc] = e
    return out


def docs_key(docs: Sequence, version: str) -> str:
    """The digest of ``version`` and every doc's id and fingerprint (ValueError when an id is there
    twice)."""
    pairs = sorted((d.id, d.fingerprint) for d in docs)
    if len({i for i, _ in pairs}) != len(pairs):
        raise ValueError("static index: duplicate doc ids")
    return hashlib.sha1(json.dumps([version, pairs], ensure_ascii=False).encode("utf-8")).hexdigest()


def gone(old: dict, new: dict) -> set[str]:
    """The files (relative to search/) that the old generation's ``files`` name and the new one's do
    not (meta.js is replaced, never removed)."""
    return {
        file_name(name, tag)
        for name, (tag, _) in old.items() - new.items()
        if name != "meta" and new.get(name, ("",))[0] != tag
    }


def facet_parts(metas: list[dict], vocab: list, old, changed: set | None) -> list[str]:
    """Each doc's part of facets.js: the last build's (``old``: [vocabularies, parts]) but those of
    the ``changed`` numbers and the docs after them, when the docs kept their numbers (``changed``
    not None) and the vocabularies are the same; else all made again."""
    if changed is None or not old or old[0] != vocab:
        return facet_pieces(metas, vocab)
    pieces = list(old[1][: len(metas)])
    pieces += [""] * (len(metas) - len(pieces))
    redo = sorted({m for n in changed for m in (n, n + 1) if m < len(metas)})
    return facet_pieces(metas, vocab, redo, pieces)


def changed_numbers(order: list, old_order: list, new_docs: dict, old_docs: dict) -> list[int]:
    """The doc numbers whose doc differs between the old and the new order."""
    common = 0
    for a, b in zip(old_order, order):
        if a != b:
            break
        common += 1
    end = max(len(order), len(old_order))
    if len(old_order) == len(order):  # a doc moved or was replaced: the docs after keep their numbers
        while end > common and old_order[end - 1] == order[end - 1]:
            end -= 1
    changed = [n for n in range(common) if new_docs[order[n]][0] != old_docs[order[n]][0]]
    changed += range(common, end)
    changed += [n for n in range(end, len(order)) if new_docs[order[n]][0] != old_docs[order[n]][0]]
    return changed


def sweep(root: Path, keep: set[str]) -> None:
    """Remove from ``root`` (``state/docs/``) every arrays file and every header file not in ``keep``
    (paths relative to ``root``: of docs changed or gone, left by a killed build or written in an
    older format)."""
    names = {tuple(rel.split("/")) for rel in keep}
    if not root.is_dir():
        return
    with os.scandir(root) as subs:
        for sub in subs:
            if not sub.is_dir(follow_symlinks=False):
                continue
            with os.scandir(sub.path) as it:
                for e in it:
                    if (sub.name, e.name) not in names:
                        Path(e.path).unlink(missing_ok=True)


def _fields(meta: dict) -> tuple:
    return [meta["mt"]], meta["themes"], [meta.get("speaker", "")], [meta.get("org", "")]


def vocabulary_counts(metas, counts=None, gone=()) -> list[dict]:
    """How many docs have each meeting type, theme, speaker and organisation: of ``metas``, or
    ``counts`` (the last build's, changed in place) less the docs ``gone`` plus ``metas``."""
    counts = counts or [{}, {}, {}, {}]
    for sign, group in ((-1, gone), (1, metas)):
        for meta in group:
            for c, values in zip(counts, _fields(meta)):
                for v in values:
                    c[v] = c.get(v, 0) + sign
    return counts


def vocabularies_of(counts: list[dict]) -> list[list[str]]:
    """The meeting types, themes, speakers and organisations of the docs (meta.js), sorted, from
    ``vocabulary_counts`` (no speaker or organisation "")."""
    return [sorted(v for v, n in c.items() if n > 0 and (i < 2 or v)) for i, c in enumerate(counts)]
