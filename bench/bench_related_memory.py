"""The related stage alone on a built archive's cache: its peak resident memory and CPU (#15).

    .venv/bin/python bench/bench_related_memory.py --state STATE_DIR --scratch DIR [--k 5]

``STATE_DIR`` is a build's state folder (``.site_builder_cache/<output>-<hash>/``, holding
``cache.sqlite``); each speech's text is read from it only when ``compute_related`` asks for it
(as in a build), and ``compute_related`` runs with its cache in ``DIR`` (deleted first and at the
end) four times: **cold** (empty cache), **unchanged** (the same speeches again), **one
changed** (one speech's text with a sentence added, a new fingerprint) and **one added** (then a
speech more: the middle one's text with another sentence, under a new source). For each: CPU seconds of
this process and of the worker processes that ended (user + system), this process's peak resident
memory (``VmHWM``, reset before each run through ``/proc/self/clear_refs``) and its resident
memory after (anonymous, file pages), and a digest of the answers, so that two checkouts can be
compared on the same archive (``PYTHONPATH=/other/checkout``): same digests, other peaks.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH (another checkout) first


def _status() -> dict[str, int]:
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            name = line.split(":")[0]
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(line.split()[1]) // 1024
    return fields


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Doc:
    """What ``compute_related`` reads of a speech; the text from the cache, when asked."""

    def __init__(self, cache, source: str, digest: str, title: str, extra: str = "", id: str = ""):
        self.cache, self.source, self.digest, self.title, self.extra = cache, source, digest, title, extra
        self.id = id or source
        self.fingerprint = digest + ("+" if extra else "")

    @property
    def body(self) -> str:
        return self.cache.text(self.source, self.digest) + self.extra


def _digest(related: dict[str, list[str]]) -> str:
    h = hashlib.sha1()
    for key in sorted(related):
        h.update(("\0".join([key, *related[key]]) + "\n").encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--scratch", type=Path, required=True)
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args(argv)
    from site_builder.cache import BuildCache
    from site_builder.related import compute_related

    cache = BuildCache(args.state, readonly=True)
    # one version a speech (the cache keeps earlier ones of edited speeches: the last parsed)
    keys = list(dict(cache.db.execute("SELECT source, digest FROM parsed ORDER BY rowid")).items())
    metas = cache.parsed(keys)
    docs = [Doc(cache, s, d, getattr(metas[(s, d)], "title", "") or "") for s, d in keys]
    del metas
    shutil.rmtree(args.scratch, ignore_errors=True)
    changed = sorted(range(len(docs)), key=lambda i: docs[i].id)[len(docs) // 2]
    runs = [("cold", docs), ("unchanged", docs)]
    one = list(docs)
    d = docs[changed]
    one[changed] = Doc(cache, d.id, d.digest, d.title, extra="\n我们要进一步加强安全生产工作，落实安全责任。")
    runs.append(("one changed", one))
    added = Doc(cache, d.id, d.digest, d.title, extra="\n这是新增讲话的结束语。", id=d.id.replace(".md", "-added.md"))
    runs.append(("one added", [*one, added]))
    base = _status()
    print(f"{len(docs)} speeches; before: resident {base['VmRSS']} MB (anonymous {base['RssAnon']})", flush=True)
    for name, these in runs:
        _reset_peak()
        cpu = _cpu()
        related = compute_related(these, k=args.k, cache_dir=args.scratch)
        cpu = _cpu() - cpu
        st = _status()
        print(
            f"{name}: {cpu:.2f} s CPU; peak {st['VmHWM']} MB (resident after {st['VmRSS']} MB: anonymous "
            f"{st['RssAnon']}, file {st['RssFile']}); answers {_digest(related)}",
            flush=True,
        )
        del related
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    size = sum(f.stat().st_size for f in args.scratch.iterdir()) / 1e6
    print(f"worker processes' peak {workers} MB; the stage's cache {size:.1f} MB")
    shutil.rmtree(args.scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
