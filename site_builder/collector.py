"""Python's garbage collector, and the C allocator's free memory, during a build (#15).

A build makes millions of objects that hold no cycles (speeches' metadata, passages and their
places, rows, views). With Python's default young generation (700 new objects) the collector runs
thousands of times in a build and, every tenth and hundredth run, walks the older objects too: at
10,000 speeches it took 0.8–0.9 s of a one-changed build (``bench/bench_render.py``, "of which the
garbage collector"). During a build the young generation is ``YOUNG``; after it, the thresholds are
restored (``serve`` builds in a long-lived process) and what the build froze (``gc.freeze``: the
model and the plan of the pages, which live until the pages are written; the pages' views are made
and let go of a batch at a time, never frozen) is unfrozen. ``paused`` stops it while a
step makes many objects without cycles.

``release`` gives the memory a stage freed back to the system: the C allocator (glibc's malloc)
keeps freed blocks in its heaps for reuse, and large blocks freed in the middle of a heap (numpy's
arrays, zlib's buffers, the pickles from worker processes) stay resident unless trimmed. What the
main process holds at a stage's end is also what every worker it forks starts with.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

YOUNG = 50_000  # cyclic garbage waits for at most this many new objects (a few MB)


_builds = 0  # builds running in this process (during_build): what is frozen meanwhile is unfrozen after


@contextmanager
def during_build() -> Iterator[None]:
    global _builds
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG, *threshold[1:])
    _builds += 1
    try:
        yield
    finally:
        _builds -= 1
        gc.unfreeze()
        gc.set_threshold(*threshold)


@contextmanager
def paused(keep: bool = False) -> Iterator[None]:
    """The collector off inside (as it was before, after): for a step that makes many containers
    without cycles (decoded records, views), which a collection would walk again and again.
    ``keep``: what it made lives until the pages are written (the speeches' records, the plan of the
    pages), which the build freezes then anyway: frozen at once (during a build only), so that the
    next collection does not walk them first (0.01–0.03 s a step at 10,000 speeches, #15). A frozen
    object is still freed when nothing refers to it; only cycles wait for the end of the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep and _builds:
            gc.freeze()
        if enabled:
            gc.enable()


_trim: Any = None  # glibc's malloc_trim, looked up once; False where there is none (macOS, musl)


def release() -> None:
    """Return the C allocator's free memory to the system (``malloc_trim(0)``: every arena's free
    pages, not only the top of the heap); nothing where the C library has no such call."""
    global _trim
    if _trim is None:
        try:
            import ctypes

            _trim = ctypes.CDLL(None).malloc_trim
            _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):
            _trim = False
    if _trim:
        _trim(0)
