"""Python's garbage collector during a build (#15).

A build makes millions of objects that hold no cycles (speeches' metadata, passages and their
places, rows, views). With Python's default young generation (700 new objects) the collector runs
thousands of times in a build and, every tenth and hundredth run, walks the older objects too: at
10,000 speeches it took 0.8–0.9 s of a one-changed build (``bench/bench_render.py``, "of which the
garbage collector"). During a build the young generation is ``YOUNG``; after it, the thresholds are
restored (``serve`` builds in a long-lived process) and what the build froze (``gc.freeze``: the
model and the pages' views, which live until it ends) is unfrozen. ``paused`` stops it while a
step makes many objects without cycles.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 50_000  # cyclic garbage waits for at most this many new objects (a few MB)


@contextmanager
def during_build() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG, *threshold[1:])
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside (as it was before, after): for a step that makes many containers
    without cycles (decoded records, views), which a collection would walk again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
