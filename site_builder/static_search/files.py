"""The index's files in ``output/search/``: writing them (``fileio.write_atomic``), what is there now;
worker processes (``workers.process_pool``)."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .. import workers
from ..fileio import write_atomic
from .wire import GROUP, PREFIXES, T_DIR, TAG_CHARS, file_name, read_js

SUBDIRS = ("d", "f", "k", "kn", "m", "p", "pn", "r", "t")  # search/<dir>/… belong to the index entirely
_TOP = re.compile(r"meta\.js|facets(\.[0-9a-f]+)?\.js")  # search/<file> of the index (facets.js: format 3)


def tag_of(data: bytes) -> str:
    """A file's tag: the digest of its bytes that names it."""
    return hashlib.blake2b(data, digest_size=TAG_CHARS // 2).hexdigest()


def put(out: Path, name: str, data: bytes, files: dict, stats: Counter, tag: str | None = None) -> None:
    """Write the file of ``name`` (``wire.file_name``) unless it is there already; record its tag and
    size in ``files``. Only meta.js is ever replaced: every other file is named by its content."""
    tag = tag or tag_of(data)
    path = out / file_name(name, tag)
    try:
        if path.stat().st_size == len(data) and (name != "meta" or path.read_bytes() == data):
            stats["unchanged"] += 1
            files[name] = (tag, len(data))
            return
    except OSError:
        pass
    write_atomic(path, data)
    stats["written"] += 1
    files[name] = (tag, len(data))


def file_names(files: dict) -> set[str]:
    """The files (relative to search/) of the names in ``files``."""
    return {file_name(name, tag) for name, (tag, _) in files.items()}


def peak_rss_mb() -> int:
    """This process's peak resident set (MB): the kernel's ``VmHWM``, else ``ru_maxrss``. A spawned
    worker's ``ru_maxrss`` counts its parent's resident set at the spawn (the parent's memory until
    the exec: 614 MB for a worker of 15 MB under a parent of 600), its ``VmHWM`` only its own."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    except (ImportError, OSError):  # pragma: no cover - not on Unix
        return 0


def listing(out: Path) -> set[str]:
    """The index's files now in ``out`` (search/), relative to it (OSError if a folder is missing)."""
    names = {e.name for e in os.scandir(out) if e.is_file() and _TOP.fullmatch(e.name)}
    stack = list(SUBDIRS)
    while stack:
        rel = stack.pop()
        with os.scandir(out / rel) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(f"{rel}/{e.name}")
                else:
                    names.add(f"{rel}/{e.name}")
    return names


def dir_stamps(out: Path, n_docs: int) -> dict[str, tuple[int, int] | None]:
    """(mtime, inode) of every folder of ``out`` (search/) that can hold the index's files of ``n_docs``
    docs (``SUBDIRS``, the long postings' ``x/``, the text files' ``t/<g>``; None: not there). A
    file added to a folder, removed or renamed changes the folder's mtime: the same stamps mean the
    same names in them, for a stat a folder (``listing`` reads every name: 0.2 s at 100,000 docs)."""
    names = [*SUBDIRS, *(f"{p}/x" for p in PREFIXES), *(f"t/{g}" for g in range((n_docs + T_DIR - 1) // T_DIR))]
    stamps: dict[str, tuple[int, int] | None] = {}
    for name in names:
        try:
            st = os.stat(out / name)
            stamps[name] = (st.st_mtime_ns, st.st_ino)
        except OSError:
            stamps[name] = None
    return stamps


def intact(out: Path, manifest: dict) -> bool:
    """Whether ``out`` (search/) holds the files the manifest names and no other of ours, with the
    meta.js it wrote: the folders' stamps (``dir_stamps``) as the manifest's build left them and
    the top level's names, or else (an output copied or moved, an older manifest, a file added or
    removed) every name (``listing``)."""
    try:
        if hashlib.sha1((out / "meta.js").read_bytes()).hexdigest() != manifest.get("meta_sha"):
            return False
        if manifest.get("dirs") == dir_stamps(out, len(manifest["order"])):
            top = {e.name for e in os.scandir(out) if e.is_file() and _TOP.fullmatch(e.name)}
            if top == {file_name(name, manifest["files"][name][0]) for name in ("meta", "facets")}:
                return True
        return listing(out) == file_names(manifest["files"])
    except (OSError, KeyError):
        return False


def remove_unnamed(out: Path, wanted: set[str], stats: Counter) -> None:
    """Remove every file of the index in ``out`` that is not ``wanted`` (files left by an older
    generation, a killed build or an older format), and folders left empty; search/index.html (the
    page) and anything else in search/ that is not ours stays."""
    ours = [out / e.name for e in os.scandir(out) if e.is_file() and _TOP.fullmatch(e.name)] if out.is_dir() else []
    for sub in SUBDIRS:
        if (out / sub).is_dir():
            ours += sorted((out / sub).rglob("*"), reverse=True)
    for path in ours:
        if path.is_file() and path.relative_to(out).as_posix() not in wanted:
            path.unlink()
            stats["removed"] += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def index_files(out: Path) -> dict[str, str]:
    """{name: file (relative to ``out``, search/)} of every file the browser can reach from
    ``out/meta.js``, found as search.js finds them: meta.js, then the manifests, then the files they
    name. OSError if one is missing."""
    meta = read_js(out / "meta.js")
    tags = meta["files"]
    got = {"meta": "meta.js", "facets": file_name("facets", tags["facets"])}
    for prefix, blocks in (("f", meta["fold"]), ("r", meta["rfold"])):
        for blk in blocks:
            got[f"{prefix}/{blk:x}"] = file_name(f"{prefix}/{blk:x}", tags["fold"])

    def manifest(name: str) -> dict:
        got[name] = file_name(name, tags[name])
        return read_js(out / got[name])

    for prefix, count in (
        ("k", meta["kb"]),
        ("p", meta["pb"]),
        ("kn", sum(meta["knbs"])),
        ("pn", sum(meta["pnbs"])),
        ("d", sum(meta["dbs"])),
    ):
        for g in range((count + GROUP - 1) // GROUP):
            m = manifest(f"m/{prefix}{g}")
            for j in range(min(GROUP, count - g * GROUP)):
                name = f"{prefix}/{g * GROUP + j}"
                got[name] = file_name(name, m["d"][j * TAG_CHARS : (j + 1) * TAG_CHARS])
            for hex_, tag in m.get("x", {}).items():
                got[f"{prefix}/x/{hex_}"] = file_name(f"{prefix}/x/{hex_}", tag)
    for g in range((meta["n"] + meta["tdir"] - 1) // meta["tdir"]):
        m = manifest(f"m/t{g}")
        for j in range(len(m["d"]) // TAG_CHARS):
            n, tag = g * meta["tdir"] + j, m["d"][j * TAG_CHARS : (j + 1) * TAG_CHARS]
            got[f"t/{g}/{n}"] = file_name(f"t/{g}/{n}", tag)
    return got


def read_index(out: Path) -> dict[str, bytes]:
    """{name: bytes} of every file the browser can reach (``index_files``): what it reads, whatever
    the files are called."""
    return {name: (out / rel).read_bytes() for name, rel in index_files(out).items()}


# -- worker processes ---------------------------------------------------------------------


def worker_init() -> None:
    """Pool workers allocate and free large arrays all the time: keep freed memory in the heap
    (glibc) rather than giving it back to the system and faulting it in again (page faults are
    most of their system time otherwise)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


class Pool:
    """The index's worker processes (``process_pool``): ``map`` as a ``ProcessPoolExecutor``'s, but a
    job whose worker was killed (for memory, say: the pool is then broken and every job not yet back
    fails with it), could not start or raised is run in this process instead (``workers.run_jobs``):
    the caller gets every result, and an error a job raises here is the caller's, as without workers."""

    def __init__(self, executor: ProcessPoolExecutor):
        self.executor = executor

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any], chunksize: int = 1) -> Iterator[Any]:
        return workers.run_jobs(self.executor, fn, list(jobs), chunksize=chunksize)

    def shutdown(self) -> None:
        self.executor.shutdown(cancel_futures=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def process_pool(n_jobs: int, fresh: bool = False) -> Pool | None:
    """Two workers at most (None: fewer than two are worth it), forked when that is safe
    (``workers.process_pool``); with ``fresh``, started afresh (``spawn``) instead: a forked
    worker's resident set counts every page of this process that it maps (a build's main process
    holds its model and pages by this stage), a fresh one (``workers.fresh_context``) starts at about 40 MB for about 0.2 s
    of CPU, worth it for a large job (#15). Either way the workers are our children: their CPU time
    and memory show in getrusage."""
    n = min(2, os.cpu_count() or 1, n_jobs)
    if n < 2:
        return None
    ctx = workers.fresh_context() if fresh else None
    return Pool(workers.process_pool(n, prefer_fork=True, context=ctx, initializer=worker_init))
