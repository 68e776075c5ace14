"""The index's files in ``output/search/``: writing them (``fileio.write_atomic``), what is there now;
worker processes (``workers.process_pool``)."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .. import workers
from ..fileio import write_atomic

TOP_FILES = ("meta", "facets")  # search/<name>.js
SUBDIRS = ("f", "k", "p", "r", "t")  # search/<dir>/… belong to the index entirely


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def put(out: Path, name: str, data: bytes, files: dict, stats: Counter, compare: bool = True) -> None:
    """Write search/<name>.js unless it already has these bytes; record its digest and size."""
    path = out / f"{name}.js"
    if compare:
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                stats["unchanged"] += 1
                files[name] = (content_digest(data), len(data))
                return
        except OSError:
            pass
    write_atomic(path, data)
    stats["written"] += 1
    files[name] = (content_digest(data), len(data))


def peak_rss_mb() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    except (ImportError, OSError):  # pragma: no cover - not on Unix
        return 0


def listing(out: Path) -> set[str]:
    """Names (without .js) of the index's files now in ``out`` (search/)."""
    names = {n for n in TOP_FILES if (out / f"{n}.js").is_file()}
    stack = list(SUBDIRS)
    while stack:
        rel = stack.pop()
        with os.scandir(out / rel) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(f"{rel}/{e.name}")
                elif e.name.endswith(".js"):
                    names.add(f"{rel}/{e.name[:-3]}")
                else:
                    names.add(f"{rel}/{e.name}")
    return names


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


def process_pool(n_jobs: int) -> ProcessPoolExecutor | None:
    """Two workers at most (None: fewer than two are worth it), forked when that is safe
    (``workers.process_pool``): forked workers are our children, so their CPU time and memory
    show in getrusage."""
    n = min(2, os.cpu_count() or 1, n_jobs)
    if n < 2:
        return None
    return workers.process_pool(n, prefer_fork=True, initializer=worker_init)
