"""The statistics page's trends: for each query in ``trend_terms``, the ``trend`` of its search answer.

Each entry is exactly what ``site-builder search TERM --json`` answers (``total``,
``occurrences_total`` and ``trend``, see ``passages.py``): the same ``SearchIndex.search`` on the
index the build has just updated. A term that finds nothing, or that is not a valid query, gets a
Chinese ``note`` in place of a chart.

Cost: nothing without ``trend_terms``; with them, one search per term, remembered in
``trends.json`` in the build state beside the index, keyed by the index's generation (the files of
its current commit) and the code that answers, so a build that did not change the index (a
template or a setting changed) searches nothing. The build then finishes the index update before
it renders the pages (a small update otherwise runs beside them).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import __version__
from ..writer import write_file
from .query import QueryError

CACHE_FILE = "trends.json"


def _index_key(index_dir: Path, terms: tuple[str, ...]) -> str | None:
    """What the answers depend on: the index's current commit (its TOC files, by name, size and
    modification time) and the code; None when there is no index to key."""
    tocs = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in index_dir.glob("_MAIN_*.toc"))
    if not tocs:
        return None
    package = Path(__file__).resolve().parent.parent
    code = hashlib.sha1(__version__.encode())
    for path in sorted(package.joinpath("search").glob("*.py")):  # the code of an answer
        code.update(path.name.encode() + b"\0" + path.read_bytes())
    return hashlib.sha1(json.dumps([tocs, code.hexdigest(), list(terms)], ensure_ascii=False).encode()).hexdigest()


def _entry(index, term: str) -> dict:
    try:
        answer = index.search(term, limit=0)
    except QueryError as err:
        return {
            "term": term,
            "total": 0,
            "occurrences_total": 0,
            "trend": [],
            "note": f"“{term}”不是有效的检索词：{err}",
        }
    entry = {
        "term": term,
        "total": answer["total"],
        "occurrences_total": answer["occurrences_total"],
        "trend": answer["trend"],
        "note": None,
    }
    if not answer["trend"]:
        entry["note"] = "档案中还没有讲话，没有趋势可画。"
    elif not answer["total"]:
        entry["note"] = f"没有讲话包含“{term}”（0 篇），没有趋势可画。"
    return entry


def term_trends(state_dir: Path, terms: tuple[str, ...]) -> list[dict]:
    """``[{"term", "total", "occurrences_total", "trend", "note"}]`` for ``terms``, in their order,
    from the Whoosh index in ``state_dir/whoosh`` (updated by this build)."""
    if not terms:
        return []
    from .whoosh_index import SearchIndex

    index_dir = state_dir / "whoosh"
    key = _index_key(index_dir, terms)
    cache = state_dir / CACHE_FILE
    if key is not None:
        try:
            cached = json.loads(cache.read_text("utf-8"))
            if cached.get("key") == key:
                return cached["trends"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass
    index = SearchIndex(index_dir)
    try:
        if not index.exists():
            note = "检索索引尚未建立，没有趋势可画。"
            return [{"term": t, "total": 0, "occurrences_total": 0, "trend": [], "note": note} for t in terms]
        trends = [_entry(index, t) for t in terms]
    finally:
        index.close()
    if key is not None:
        data = json.dumps({"key": key, "trends": trends}, ensure_ascii=False).encode()
        write_file(state_dir, CACHE_FILE, data)
    return trends


def add_to_stats(pages: list, config) -> None:
    """Put the trends of ``config.trend_terms`` into the statistics page's view (``trends``)."""
    trends = term_trends(config.state_dir, config.trend_terms)
    for page in pages:
        if page.template == "stats.html":
            page.view = page.view | {"trends": trends}
            if page.key_view is not None:
                page.key_view = page.key_view | {"trends": trends}
