"""The in-browser search index: static files under ``output/search/`` read by ``static/search.js``.

The browser computes exactly the hit set of ``query.parse(q).matches(analysis.search_text(...))``:
every file is derived from ``analysis`` and the browser re-implements ``query.parse`` and
``analysis.fold`` (tests compare both with Python in Chromium).

Modules, in the order the data flows:

``wire``      the format of every file the browser reads (its docstring is the spec) and its codecs
``keys``      keys as integers, hash sections and shards, VLQ over numpy arrays
``analyser``  one doc → its keys, counts and positions; its text kept in the state, its arrays while a build needs them
``spill``     every doc's entries cut into parts of shards (more parts as the archive grows), spilled to disk in one pass
``assembly``  a shard's postings built a part at a time → bucket files; facets and meta
``patching``  changed entries patched into the files that hold them
``files``     writing and listing the files; worker processes
``changes``   what an update changes: doc numbers, facets.js parts kept, old files gone, state files swept
``index``     ``StaticIndex.update``: what to analyse, patch or assemble, and what to remove
"""

from __future__ import annotations

from ..model import IndexDoc  # the record both indexes read
from .index import StaticIndex

__all__ = ["IndexDoc", "StaticIndex"]
