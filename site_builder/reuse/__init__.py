"""Passages reused between speeches, and speeches that are nearly the same (issue #14, items 3–4).

``find_reuse(docs, read, min_chars, state_dir)`` answers both for the build (incrementally, with
its state kept in the build's state folder) and for ``site-builder reuse`` (in memory):

* ``prints.py``  per speech: the folded text, winnowed k-gram anchors, sentence fingerprint
* ``chars.py``   every speech's folded text in one file kept between builds
* ``layers.py``  a sorted table kept as a memory-mapped base, a delta and dead owners
* ``find.py``    the sorted tables of keys, near-duplicate pairs, passages extended around keys
* ``found.py``   the passages found around each key, kept in columns, grouped into Passages
* ``stage.py``   what changed since the last build, the state
* ``command.py`` ``site-builder reuse``: the report on a terminal or as JSON
"""

from __future__ import annotations

from .found import Passage, Place
from .stage import Doc, Reuse, find_reuse

__all__ = ["Doc", "Passage", "Place", "Reuse", "find_reuse"]
