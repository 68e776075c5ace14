"""``StaticIndex``: writes ``output_dir/search/`` for a set of docs, keeping what it needs in the state.

How it is built (``StaticIndex.update``): each new or changed doc is analysed once (``analyser``; in a
process pool when there are many; only those docs' bodies are read) into ``state_dir/static/docs/``:
a header file per (doc, fingerprint), kept, and an arrays file, removed once assembled or at the end
of the build (a later build that needs a doc's arrays analyses its header's text again). Keys are
hash-partitioned into ``P`` shards; an assembly reads every arrays file once into parts of shards
that grow in number with the archive (``spill``) and builds a shard a part at a time, in two
processes (``assembly``). When docs are edited, appended or removed at the end (the other docs keep
their numbers), only the keys whose entry changed are patched (``patching``). Any other change (an
insertion that renumbers docs, a changed file listing) assembles everything again. The output
depends only on ``docs``: an incremental update and a clean write give byte-identical trees.

Generations: every file but meta.js is named by its content (``wire``), so the files of the new
generation are written beside the old one's (a file that did not change is the same file in both);
meta.js is replaced last (the switch), then the files only the old generation names are removed. A
build that dies before the switch leaves the old generation whole (and files nothing names, which the
next build removes: it assembles afresh after any interrupted build); one that dies after it, the new.

What one changed doc costs: the manifest names each doc's header file relative to the state, keeps
the vocabularies' counts, each doc's part of facets.js and the fold table's summary; a header file is
looked for only when it is read; the old generation's files are those the old manifest names and the
new one does not; only the files of ``state/docs/`` this build wrote or made useless are removed (all
of them are looked at after a build that died: ``state/sweep`` is there while one runs).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
from collections import Counter
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path

import numpy as np

from .. import collector
from ..fileio import write_atomic
from ..search import analysis
from . import pieces, spill, wire
from .analyser import analyse_to, arrays_path, read_payload, reanalyse_to
from .assembly import (
    assemble_shard,
    d_buckets,
    facets_file,
    fold_files,
    fold_summary,
    manifest_files,
    meta_file,
    reverse_files,
)
from .changes import (
    changed_numbers,
    docs_key,
    facet_parts,
    gone,
    split_changes,
    sweep,
    vocabularies_of,
    vocabulary_counts,
)
from .files import dir_stamps, file_names, process_pool, put, remove_unnamed
from .files import intact as files_intact
from .keys import SECTIONS, shard_count
from .patching import Relayout, diff_entries, patch
from .wire import FORMAT, T_DIR, js_file

POOL_MIN_DOCS = 48  # analyse in a process pool from this many new docs on
FRESH_DOCS = 1024  # from this many docs on, pool workers start afresh rather than forked (``files.process_pool``)
PATCH_KEYS_PER_DOC = 10  # patch (rather than assemble) up to about this many changed keys per doc

# 7: exact counts, headings, body lengths (#13); 8: arrays files only while a build needs them; 9: the
# header deflated, no offsets in the manifest (#15); 10: one text file a doc; 11: the tail; 12: k/ deflated;
# 13: d/, the pairs' numbers of docs kept in pairs.bin (#15); 15: k/ deflated in pieces (#15)
_SIZES = (wire.BUCKET_TARGET, wire.K_TARGET, wire.D_TARGET, wire.BIG, wire.TAIL_MIN, wire.TAIL_SHARE, wire.TAIL_DIV)
CACHE_VERSION = "-".join(map(str, (FORMAT, SECTIONS, 15, pieces.PIECE_BITS, pieces.MIN_PIECE, *_SIZES)))
CACHE_VERSION += f"-{analysis.fold_version()}"  # (+ fold table digest)


def _tail_shards(n: int) -> int:
    """Shards of the tail of ``n`` docs (as many docs a shard as the base's, about)."""
    return shard_count(wire.tail_step(n))


class StaticIndex:
    """Writes ``output_dir/search/`` for a set of docs; analysis and postings are kept in ``state_dir``."""

    def __init__(self, state_dir: Path, output_dir: Path, jobs: int | None = None):
        self.state = Path(state_dir) / "static"
        self.out = Path(output_dir) / "search"
        self.jobs = jobs

    def _cache_path(self, doc_id: str, fingerprint: str) -> str:
        """A doc's header file, relative to ``state/docs/`` (the manifest keeps it so: a state copied
        or moved elsewhere is its own)."""
        h = hashlib.sha1(f"{CACHE_VERSION}\0{doc_id}\0{fingerprint}".encode()).hexdigest()
        return f"{h[:2]}/{h[2:]}.bin"

    def _path(self, rel: str) -> str:
        """The header file of a doc's entry (its path relative to ``state/docs/``)."""
        return f"{self.state}/docs/{rel}"

    def _skip_path(self, shard: int, seg: str = "") -> Path:
        """The checkpoints of a shard's long postings: of the base (``seg`` ""), of the tail ("n")."""
        return self.state / "skip" / f"{seg}{shard}.bin"

    def _load_manifest(self) -> dict:
        try:
            m = marshal.loads((self.state / "manifest.bin").read_bytes())
            if m.get("version") == CACHE_VERSION:
                if (self.state / "dirty").exists():  # a build died after changing the output
                    m["nshards"] = 0
                if m.get("paths") != "rel":  # written before the paths were kept relative
                    m["docs"] = {i: (fp, self._cache_path(i, fp), meta) for i, (fp, _, meta) in m["docs"].items()}
                return m
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return {"version": CACHE_VERSION, "docs": {}, "order": [], "files": {}, "nshards": 0, "layout": None, "new": 1}

    def update(self, docs: Sequence) -> dict:
        stats: Counter = Counter()
        key = docs_key(docs, CACHE_VERSION)
        last = self.state / "last.json"
        try:  # nothing changed since the last write (and it is still there): nothing to do
            prev = json.loads(last.read_text("utf-8"))
            if prev["key"] == key and prev["meta"] == hashlib.sha1((self.out / "meta.js").read_bytes()).hexdigest():
                return {"unchanged": prev["files"], "files": prev["files"], "bytes": prev["bytes"], "skipped": 1}
        except (OSError, ValueError, KeyError):
            pass
        manifest = self._load_manifest()
        old_docs: dict = manifest["docs"]  # id → (fingerprint, header file relative to state/docs/, meta)
        # A build that dies leaves files in state/docs/ that no manifest names: the next one looks at
        # every file there (``sweep``); else only the files of docs changed or gone are removed.
        marker = self.state / "sweep"
        full_sweep = "new" in manifest or marker.exists()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        self._docs = docs
        self._arrays: list = []  # (header file, meta) of the docs whose arrays file this build writes
        self._analysed: list = []  # the ids of the docs analysed
        # 1. Analyse what is new or changed (only those docs' bodies are read).
        new_docs = self._analyse(docs, old_docs, stats)
        order = sorted(new_docs, key=lambda i: tuple(new_docs[i][2]["order"]))
        nshards = shard_count(len(order))
        # 2. Postings: patch the shards when the other docs keep their numbers, else assemble.
        changed = changed_numbers(order, manifest["order"], new_docs, old_docs)
        files = dict(manifest["files"])
        layout, patched, intact = self._postings(manifest, order, new_docs, nshards, changed, files, stats)
        self._d_files(layout, files, stats)
        # 3. Text files, fold shards, facets, manifests: with the postings, the new generation,
        # written beside the old one (a file that did not change is the old generation's).
        self._texts(order, new_docs, set(changed) if patched else None, files, stats, len(manifest["order"]))
        metas = [new_docs[i][2] for i in order]
        vocab = self._vocabularies(manifest, metas, new_docs)
        pieces = facet_parts(metas, vocab, manifest.get("facets"), set(changed) if patched else None)
        # The fold table's files: the last build's (the table is part of CACHE_VERSION).
        self._fold = manifest.get("fold") or fold_summary({**fold_files(), **reverse_files()})
        tags = self._named_files(pieces, layout, files, stats, len(metas))
        # 4. The switch to the new generation: meta.js, replaced last. Then the files that only the old
        # generation names are removed (when the output was not what the manifest says: all of ours not named).
        files.pop("meta", None)
        meta_js = meta_file(metas, layout, files, tags, wire.tail_start(len(order)), vocab, self._fold)
        put(self.out, "meta", meta_js, files, stats)
        self._remove_old(gone(manifest["files"], files) if intact else None, files, stats)
        # 5. State: manifest, then drop cache files of docs that are gone or changed.
        meta_sha = self._save(new_docs, order, files, nshards, layout, meta_js, [vocab, pieces])
        self._drop_state_files(old_docs, new_docs, full_sweep)
        marker.unlink(missing_ok=True)
        stats["files"] = len(files)
        stats["bytes"] = sum(map(itemgetter(1), files.values()))
        last_write = {"key": key, "meta": meta_sha, "files": stats["files"], "bytes": stats["bytes"]}
        write_atomic(last, json.dumps(last_write).encode("utf-8"))
        return dict(stats)

    def _save(self, new_docs, order, files, nshards, layout, meta_js: bytes, facets: list) -> str:
        """Write the manifest (without the arrays' offsets: the arrays are removed at the end of the
        build) and drop the checkpoints of shards that are no more; returns meta.js's digest."""
        for _, meta in self._arrays:
            meta.pop("offsets", None)
        meta_sha = hashlib.sha1(meta_js).hexdigest()
        manifest = {
            "version": CACHE_VERSION,
            "paths": "rel",
            "docs": new_docs,
            "order": order,
            "files": files,
            "nshards": nshards,
            "tail": wire.tail_start(len(order)),
            "layout": layout,
            "meta_sha": meta_sha,
            "dirs": dir_stamps(self.out, len(order)),  # the folders as this build left them (``files.intact``)
            "facets": facets,  # the vocabularies and each doc's part of facets.js
            "fold": self._fold,
            "counts": self._counts,  # docs by meeting type, theme, speaker, organisation
        }
        write_atomic(self.state / "manifest.bin", marshal.dumps(manifest))
        (self.state / "dirty").unlink(missing_ok=True)
        for seg, used in (("", nshards), ("n", _tail_shards(len(order)))):
            for s in range(used, SECTIONS):
                self._skip_path(s, seg).unlink(missing_ok=True)
        return meta_sha

    def _vocabularies(self, manifest: dict, metas: list[dict], new_docs: dict) -> list[list[str]]:
        """The vocabularies of meta.js from the last build's counts, less the docs changed or gone,
        plus the docs analysed (from every doc's meta when there are none)."""
        old_docs = manifest["docs"]
        if manifest.get("counts") is None:
            self._counts = vocabulary_counts(metas)
        else:
            gone = [old_docs[i][2] for i in old_docs.keys() - new_docs.keys()]
            gone += [old_docs[i][2] for i in self._analysed if i in old_docs]
            self._counts = vocabulary_counts([new_docs[i][2] for i in self._analysed], manifest["counts"], gone)
        return vocabularies_of(self._counts)

    def _analyse(self, docs: Sequence, old_docs: dict, stats: Counter) -> dict:
        """{id: (fingerprint, header file, meta)} of every doc, analysing those that are new or changed
        (whether the header files of the others are still there is looked at when they are read)."""
        new_docs: dict = {}
        todo = []
        for d in docs:
            entry = old_docs.get(d.id)
            if entry is not None and entry[0] == d.fingerprint:
                new_docs[d.id] = entry
            else:
                todo.append(d)
        stats["reused"] += len(docs) - len(todo)
        self._analyse_docs(todo, new_docs, stats)
        return new_docs

    def _analyse_docs(self, todo: list, new_docs: dict, stats: Counter) -> None:
        """Analyse ``todo`` into their header and arrays files and enter them in ``new_docs``."""
        if not todo:
            return
        rels = [self._cache_path(d.id, d.fingerprint) for d in todo]
        pool = (
            process_pool(len(todo), len(todo) >= FRESH_DOCS) if len(todo) >= POOL_MIN_DOCS and self.jobs != 1 else None
        )
        args = [(d, self._path(rel)) for d, rel in zip(todo, rels)]
        if pool is None:
            metas = [analyse_to(a) for a in args]
        else:
            with pool:
                metas = list(pool.map(analyse_to, args, chunksize=4))
        for d, rel, m in zip(todo, rels, metas):
            new_docs[d.id] = (d.fingerprint, rel, m)
            self._arrays.append((rel, m))
            self._analysed.append(d.id)
        stats["analysed"] += len(todo)

    def _headers_present(self, order: list, new_docs: dict, stats: Counter) -> None:
        """Before an assembly, which reads every doc's header file: analyse again the docs whose header
        file is missing (a state changed from outside)."""
        ids = [i for i in order if not os.path.exists(self._path(new_docs[i][1]))]
        if ids:
            by_id = {d.id: d for d in self._docs}
            stats["reused"] -= len(ids)
            self._analyse_docs([by_id[i] for i in ids], new_docs, stats)

    def _ensure_arrays(self, entries: list) -> None:
        """Write the arrays file of each doc (fingerprint, header file, meta) that has none, from its
        header file (in a process pool when there are many)."""
        todo = [e for e in entries if "offsets" not in e[2] or not os.path.exists(arrays_path(self._path(e[1])))]
        if not todo:
            return
        paths = [self._path(e[1]) for e in todo]
        pool = (
            process_pool(len(todo), len(todo) >= FRESH_DOCS) if len(todo) >= POOL_MIN_DOCS and self.jobs != 1 else None
        )
        if pool is None:
            offsets = [reanalyse_to(p) for p in paths]
        else:
            with pool:
                offsets = list(pool.map(reanalyse_to, paths, chunksize=4))
        for e, offs in zip(todo, offsets):
            e[2]["offsets"] = offs
            self._arrays.append((e[1], e[2]))

    def _drop_state_files(self, old_docs: dict, new_docs: dict, full: bool) -> None:
        """Remove the arrays files this build wrote and the header files of the docs changed or gone
        (``full``: every file of ``state/docs/`` that ``new_docs`` does not name)."""
        if full:
            sweep(self.state / "docs", {e[1] for e in new_docs.values()})
            return
        dead = [arrays_path(rel) for rel, _ in self._arrays]
        dead += [old_docs[i][1] for i in old_docs.keys() - new_docs.keys()]
        dead += [old_docs[i][1] for i in self._analysed if i in old_docs and old_docs[i][1] != new_docs[i][1]]
        for rel in dead:
            try:
                os.unlink(self._path(rel))
            except FileNotFoundError:
                pass

    def _postings(self, manifest, order, new_docs, nshards, changed, files, stats) -> tuple[dict, bool, bool]:
        """Write the postings (base ``k/ p/``, tail ``kn/ pn/``) by patching or assembling; returns
        (layout, whether patched, whether the output was what the manifest says: the old generation's
        files are those its ``files`` name)."""
        old_order, old_docs = manifest["order"], manifest["docs"]
        tail = wire.tail_start(len(order))
        intact = files_intact(self.out, manifest)  # else the output is written and cleaned up whole
        self._pairs: dict = {}  # segment ("": the base, "n": the tail) → (pairs as integer keys, their dfs)
        dfd: dict = {"": Counter(), "n": Counter()}  # a patch's changes of the pairs' dfs, by segment
        can_patch = bool(
            intact
            and self._load_pairs()
            and manifest["nshards"] == nshards
            and manifest.get("tail") == tail
            and manifest["layout"]
            and old_order
            and len(changed) <= max(8, len(order) // 16)
            and all(self._skip_path(s).exists() for s in range(nshards))
            and all(self._skip_path(s, "n").exists() for s in range(_tail_shards(len(order))))
            and all(os.path.exists(self._path(old_docs[old_order[n]][1])) for n in changed if n < len(old_order))
        )
        if can_patch:  # the entries that change; patching costs per key, assembling per doc
            try:
                self._ensure_arrays([old_docs[old_order[n]] for n in changed if n < len(old_order)])
                self._ensure_arrays([new_docs[order[n]] for n in changed if n < len(order)])
                kch, pch = diff_entries(changed, order, old_order, new_docs, old_docs, self._path(""))
                can_patch = len(kch) + len(pch) <= PATCH_KEYS_PER_DOC * len(order) + 10_000
            except (OSError, ValueError, KeyError, EOFError, TypeError):  # a header file was changed
                can_patch = False
        # Until the new manifest is written, a build that dies half-way leaves files and checkpoints
        # that the old manifest does not describe: mark that, so that the next build assembles afresh.
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "dirty").touch()
        if can_patch:
            got = self._patch(manifest["layout"], split_changes(kch, pch, tail), order, new_docs, files, stats, dfd)
            if got is not None:
                for seg in ("",) if got[1] else ("", "n"):  # the tail's were counted afresh if it was assembled
                    self._add_dfs(seg, dfd[seg])
                stats["patched"] = len(changed)
                return got[0], True, intact
        self._headers_present(order, new_docs, stats)
        layout = self._assemble(order, new_docs, nshards, files, stats, 0, tail)
        layout.update(self._assemble(order, new_docs, _tail_shards(len(order)), files, stats, tail, len(order), "n"))
        return layout, False, intact and not stats["patch_failed"]

    def _patch(self, layout, changes, order, new_docs, files, stats, dfd) -> tuple[dict, bool] | None:
        """Patch the base's and the tail's changed entries (the tail assembled afresh when its bucket
        counts change); returns (layout, whether the tail was assembled) or None (assemble all)."""
        tail = wire.tail_start(len(order))
        try:
            layout = {
                **layout,
                **patch(self.out, self._skip_path, dict(zip(("k", "p"), changes[:2])), layout, files, stats, dfd[""]),
            }
        except (OSError, ValueError, KeyError, EOFError, TypeError, Relayout):  # the output or state was changed
            stats["patch_failed"] = 1
            if os.environ.get("SS_DEBUG"):
                raise
            return None
        try:
            tail_changes = dict(zip(("kn", "pn"), changes[2:]))
            return {**layout, **patch(self.out, self._skip_path, tail_changes, layout, files, stats, dfd["n"])}, False
        except Relayout:  # the tail is small: assembled again
            layout.update(
                self._assemble(order, new_docs, _tail_shards(len(order)), files, stats, tail, len(order), "n")
            )
            return layout, True
        except (OSError, ValueError, KeyError, EOFError, TypeError):
            stats["patch_failed"] = 1
            if os.environ.get("SS_DEBUG"):
                raise
            return None

    def _assemble(self, order, new_docs, nshards, files, stats, first: int, end: int, seg: str = "") -> dict:
        """Write the postings of docs [first, end): the base's (``seg`` "") or the tail's ("n");
        returns their layout {prefix: (bucket count per shard, short chars per shard)}."""
        names = ("k" + seg, "p" + seg)
        for name in [n for n in files if n.split("/", 1)[0] in names]:
            del files[name]
        self._ensure_arrays([new_docs[i] for i in order[first:end]])
        docs = [(arrays_path(self._path(new_docs[i][1])), new_docs[i][2]["offsets"]) for i in order[first:end]]
        (self.state / "skip").mkdir(parents=True, exist_ok=True)
        args = [(str(self.out), str(self._skip_path(s, seg)), names) for s in range(nshards)]
        layout: dict = {prefix: ([], []) for prefix in names}
        offset, pairs = dict.fromkeys(names, 0), []
        pool = (len(docs) >= 4 * POOL_MIN_DOCS and self.jobs != 1, len(docs) >= FRESH_DOCS)
        results = spill.assemble(docs, first, nshards, self.state / f"spill{seg}", pool, assemble_shard, args, stats)
        for fs, st, rss, bodies, shorts, shard_pairs in results:  # in shard order: buckets are numbered so
            pairs.append(shard_pairs)
            files.update(fs)
            stats.update(st)
            if pool[0]:
                stats["worker_peak_rss_mb"] = max(stats["worker_peak_rss_mb"], rss)
            for prefix in names:
                for j, body in enumerate(bodies[prefix]):
                    name = f"{prefix}/{offset[prefix] + j}"
                    put(self.out, name, js_file(name, body), files, stats)
                offset[prefix] += len(bodies[prefix])
                layout[prefix][0].append(len(bodies[prefix]))
                layout[prefix][1].append(shorts[prefix])
            collector.release()  # (the shard's buckets as a worker sent them, freed in the middle of the heap)
        for i in order[first:end]:  # (their arrays files were spilled and removed: 1.6 KB a doc)
            new_docs[i][2].pop("offsets", None)
        stats["tail_assembled" if seg else "assembled"] = 1
        keys = np.concatenate([k for k, _ in pairs]) if pairs else np.zeros(0, np.uint64)
        dfs = np.concatenate([v for _, v in pairs]) if pairs else np.zeros(0, np.int64)
        by_key = np.argsort(keys)  # shards hold different keys
        self._pairs[seg] = (keys[by_key], dfs[by_key])
        return layout

    # -- d/: every pair's number of docs (base and tail), kept in the state between builds ---------

    def _load_pairs(self) -> bool:
        try:
            got = marshal.loads((self.state / "pairs.bin").read_bytes())
            self._pairs = {s: (np.frombuffer(k, np.uint64), np.frombuffer(v, np.int64)) for s, (k, v) in got.items()}
            return set(self._pairs) == {"", "n"}
        except (OSError, ValueError, EOFError, TypeError):
            return False

    def _add_dfs(self, seg: str, delta: Counter) -> None:
        """Add a patch's changes ({pair: change in its number of docs}) to a segment's pairs."""
        items = [(k, v) for k, v in delta.items() if v]
        if not items:
            return
        dk = np.array([(ord(k[0]) + 1) << 21 | ord(k[1]) for k, _ in items], np.uint64)
        keys, dfs = self._pairs[seg]
        uk, inv = np.unique(np.concatenate((keys, dk)), return_inverse=True)
        weights = np.concatenate((dfs, np.array([v for _, v in items], np.int64))).astype(np.float64)
        tot = np.rint(np.bincount(inv, weights=weights, minlength=len(uk))).astype(np.int64)
        self._pairs[seg] = (uk[tot > 0], tot[tot > 0])

    def _d_files(self, layout: dict, files: dict, stats: Counter) -> None:
        """Write d/ from the base's and the tail's pairs (every bucket: those that did not change
        keep their files) and keep the pairs in the state."""
        keys = np.concatenate([self._pairs[s][0] for s in ("", "n")])
        uk, inv = np.unique(keys, return_inverse=True)
        dfs = np.concatenate([self._pairs[s][1] for s in ("", "n")]).astype(np.float64)
        count, short, bodies = d_buckets(uk, np.rint(np.bincount(inv, weights=dfs, minlength=len(uk))).astype(np.int64))
        for name in [n for n in files if n.startswith("d/")]:
            del files[name]
        for j, body in enumerate(bodies):
            put(self.out, f"d/{j}", js_file(f"d/{j}", body), files, stats)
        layout["d"] = ([count], [short])
        pairs = {s: (k.tobytes(), v.tobytes()) for s, (k, v) in self._pairs.items()}
        write_atomic(self.state / "pairs.bin", marshal.dumps(pairs))

    def _named_files(self, pieces: list[str], layout: dict, files: dict, stats: Counter, n_docs: int) -> dict:
        """Write the fold shards, facets and manifests; returns meta.js's ``files`` (their tags)."""
        fold_tag = self._fold["tag"]
        if any(files.get(name, ("",))[0] != fold_tag for name in self._fold["names"]):
            for name, data in {**fold_files(), **reverse_files()}.items():
                if files.get(name, ("",))[0] != fold_tag:
                    put(self.out, name, data, files, stats, tag=fold_tag)
        put(self.out, "facets", facets_file(pieces), files, stats)
        for name in [n for n in files if n.startswith("m/")]:
            del files[name]
        manifests = manifest_files(files, layout, n_docs)
        for name, data in manifests.items():
            put(self.out, name, data, files, stats)
        return {"facets": files["facets"][0], "fold": fold_tag, **{n: files[n][0] for n in manifests}}

    def _texts(self, order, new_docs, changed: set | None, files, stats, old_n: int) -> None:
        """Write the text files of the docs (of the changed ones only when patching: ``changed``; the
        docs kept their numbers, those from ``old_n`` on were added or removed). An unchanged doc's
        text file that is missing is not looked for here: a file gone from the output makes the
        update assemble afresh (``files.intact``), which writes every text file not there (``put``)."""
        n_docs = len(order)
        for n in range(n_docs) if changed is None else sorted(n for n in changed if n < n_docs):
            name = f"t/{n // T_DIR}/{n}"
            put(self.out, name, js_file(name, read_payload(Path(self._path(new_docs[order[n]][1])))), files, stats)
        if changed is None:
            for name in [x for x in files if x.startswith("t/") and int(x.rsplit("/", 1)[1]) >= n_docs]:
                del files[name]
        else:
            for n in range(n_docs, old_n):
                files.pop(f"t/{n // T_DIR}/{n}", None)

    def _remove_old(self, gone: set | None, files: dict, stats: Counter) -> None:
        """Remove the files of the old generation that the new one does not name (``gone``; None:
        every file of ours not named in ``files``)."""
        if gone is None:
            remove_unnamed(self.out, file_names(files), stats)
            return
        folders = set()
        for rel in gone:
            try:
                (self.out / rel).unlink()
                stats["removed"] += 1
            except OSError:
                pass
            if rel.startswith("t/"):
                folders.add(rel.rsplit("/", 1)[0])
        for folder in folders:  # text folders left empty
            try:
                (self.out / folder).rmdir()
            except OSError:  # not empty
                pass
