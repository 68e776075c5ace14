"""``/api/search``: its parameters, and a pool of open search indexes with a cache of answers."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs

from ..search.query import MAX_QUERY_CHARS, FilterError, parse_year
from .errors import BadRequest
from .limits import (
    CACHE_BYTES,
    CACHE_ENTRIES,
    MAX_KWIC_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_PARAMS,
    SEARCH_POOL_SIZE,
    STAMP_SECONDS,
)
from .search_workers import SearchWorkers, WorkerUnavailable

logger = logging.getLogger(__name__)

#: The parameters of /api/search (each at most once).
PARAMS = ("q", "year", "meeting_type", "theme", "speaker", "organization", "sort", "kwic", "limit", "offset")
FILTERS = ("year", "meeting_type", "theme", "speaker", "organization")
SORTS = ("relevance", "newest", "oldest")


class SearchUnavailable(Exception):
    """No index to search (never built, or the search module is not installed)."""


def _default_index_factory(index_dir: Path):
    try:
        from ..search import whoosh_snapshot
        from ..search.whoosh_index import SearchIndex
    except ImportError:
        raise SearchUnavailable("这份 site-builder 没有安装全文检索模块") from None
    whoosh_snapshot.POPULATE = True  # the server lives long: a generation's pages mapped in once
    return SearchIndex(index_dir)


class SearchPool:
    """Up to ``size`` open SearchIndex objects, each used by one request at a time, and a cache of
    answers (encoded JSON) keyed by the request and the index's state on disk.

    ``reopen()`` (after a rebuild) empties the cache and makes new requests use freshly opened
    indexes; an index in use by a request is closed when that request gives it back. Identical
    requests arriving together are computed once (the others wait for that answer)."""

    def __init__(
        self,
        index_dir: Path,
        size: int = SEARCH_POOL_SIZE,
        factory=None,
        cache_entries: int = CACHE_ENTRIES,
        cache_bytes: int = CACHE_BYTES,
        workers: int = 0,
    ):
        """``workers``: answer in that many worker processes (``search_workers``), not in threads."""
        self.index_dir = index_dir
        self.workers = SearchWorkers(index_dir, workers) if workers else None
        self.factory = factory or _default_index_factory
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._free: list = []
        self._epoch = 0
        self._closed = False
        self.cache_entries, self.cache_bytes = cache_entries, cache_bytes
        self._cache: OrderedDict[tuple, _Answer] = OrderedDict()
        self._cached_bytes = 0
        self._stamp_value: tuple = ()
        self._stamp_at = -1e9
        self.stats = {"hits": 0, "misses": 0}

    def _open(self):
        index = self.factory(self.index_dir)
        try:
            present = index.exists()
        except Exception:
            logger.debug("opening the search index in %s failed", self.index_dir, exc_info=True)
            present = False
        if not present:
            index.close()
            raise SearchUnavailable(
                "还没有可用的检索索引：生成尚未完成，或生成失败（见运行 site-builder serve 的终端），"
                "或索引来自另一版本的 site-builder（保存任一文件或重启 serve 即重新生成）"
            )
        return index

    def _stamp(self) -> tuple:
        """The index generation(s) on disk (Whoosh commits a generation by renaming its TOC file
        into place), looked at most every STAMP_SECONDS: a build run outside this server shows
        in answers that much later at most; rebuilds by this server empty the cache at once."""
        now = time.monotonic()
        if now - self._stamp_at > STAMP_SECONDS:
            try:
                stamp = tuple(sorted(n for n in os.listdir(self.index_dir) if n.endswith(".toc")))
            except OSError:
                stamp = ()
            self._stamp_value, self._stamp_at = stamp, now
        return self._stamp_value

    def answer(self, query: str, **kwargs) -> bytes:
        """The search result as UTF-8 JSON bytes (cached)."""
        if not self.cache_entries:
            return self._compute(query, kwargs)
        key = (self._epoch, self._stamp(), query, tuple(sorted(kwargs.items())))
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                entry = self._cache[key] = _Answer()
                self.stats["misses"] += 1
            else:
                entry = found
                self._cache.move_to_end(key)
                self.stats["hits"] += 1
        if found is not None:  # another thread computes it
            if not entry.done.wait(60):
                raise SearchUnavailable("服务器正忙，暂时无法检索，请稍后再试")
            if entry.error is not None:
                raise entry.error
            assert entry.value is not None  # done, without an error
            return entry.value
        try:
            value = entry.value = self._compute(query, kwargs)
        except BaseException as err:
            entry.error = err
            with self._lock:
                if self._cache.get(key) is entry:
                    del self._cache[key]
            raise
        finally:
            entry.done.set()
        with self._lock:
            if self._cache.get(key) is entry:
                self._cached_bytes += len(value)
                while self._cache and (len(self._cache) > self.cache_entries or self._cached_bytes > self.cache_bytes):
                    _, old = self._cache.popitem(last=False)
                    self._cached_bytes -= len(old.value or b"")
        return value

    def _compute(self, query: str, kwargs: dict) -> bytes:
        if self.workers is None:
            return _encode(self.search(query, **kwargs))
        try:
            return self.workers.answer(self._epoch, query, kwargs)
        except WorkerUnavailable as err:
            raise SearchUnavailable(str(err)) from None

    def search(self, query: str, **kwargs) -> dict:
        if not self._slots.acquire(timeout=60):
            raise SearchUnavailable("服务器正忙，暂时无法检索，请稍后再试")
        try:
            with self._lock:
                epoch = self._epoch
                index = self._free.pop() if self._free else None
            if index is None:
                index = self._open()
            ok = False
            try:
                result = index.search(query, **kwargs)
                ok = True
                return result
            except FileNotFoundError as err:  # the index went away under us
                raise SearchUnavailable(f"检索索引已不存在：{err}") from None
            finally:
                with self._lock:
                    if ok and epoch == self._epoch and not self._closed:
                        self._free.append(index)
                        index = None
                if index is not None:  # stale (a rebuild happened) or broken: close it
                    _quiet_close(index)
        finally:
            self._slots.release()

    def reopen(self) -> None:
        with self._lock:
            self._epoch += 1
            old, self._free = self._free, []
            self._cache.clear()
            self._cached_bytes = 0
        for index in old:
            _quiet_close(index)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.reopen()
        if self.workers is not None:
            self.workers.close()


class _Answer:
    __slots__ = ("done", "value", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: bytes | None = None
        self.error: BaseException | None = None


def _encode(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _quiet_close(index) -> None:
    try:
        index.close()
    except Exception:
        logger.debug("closing a search index failed", exc_info=True)


def parse_search_params(query_string: str) -> tuple[str, dict]:
    """``q``, the filters (``year``, ``meeting_type``, ``theme``, ``speaker``, ``organization``),
    ``sort`` (relevance, newest, oldest), ``kwic`` (1: every occurrence), ``limit``, ``offset``
    → (q, keyword args of ``SearchIndex.search``). Raises BadRequest (Chinese message, stable code)."""
    try:
        params = parse_qs(
            query_string, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_PARAMS
        )
    except ValueError as err:  # includes UnicodeDecodeError and too many fields
        raise BadRequest(f"无法读取查询字符串（query string）：{err}", code="bad_query_string") from None
    for name, values in params.items():
        if name in PARAMS and len(values) > 1:
            raise BadRequest(f"参数 {name} 出现了 {len(values)} 次，只能给一次", code="repeated_parameter")
    one = {name: values[0] for name, values in params.items()}
    q = one.get("q")
    if q is None:
        raise BadRequest("缺少参数 q，例如 /api/search?q=如履薄冰", code="missing_query")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"查询太长（{len(q)} 个字符，最多 {MAX_QUERY_CHARS} 个）", code="too_long")
    kwargs: dict = {}
    for name in FILTERS:
        value = (one.get(name) or "").strip()
        if len(value) > 100:
            raise BadRequest(f"参数 {name} 太长（最多 100 个字符）", code="bad_parameter")
        kwargs[name] = value or None
    if kwargs["year"] is not None:
        try:
            parse_year(kwargs["year"])
        except FilterError as err:
            raise BadRequest(err.message, code=err.code) from None
    sort = (one.get("sort") or "").strip() or "relevance"
    if sort not in SORTS:
        raise BadRequest(
            f"sort 只能是 relevance（相关度）、newest（由新到旧）或 oldest（由旧到新），而不是“{sort[:20]}”",
            code="bad_sort",
        )
    kwic = (one.get("kwic") or "").strip().lower()
    if kwic not in ("", "0", "1", "true", "false"):
        raise BadRequest(f"kwic 只能是 1 或 0，而不是“{kwic[:20]}”", code="bad_parameter")
    kwargs["sort"] = sort
    kwargs["kwic"] = kwic in ("1", "true")
    kwargs["limit"] = min(
        _int_param(one, "limit", 100 if kwargs["kwic"] else 10, 1), MAX_KWIC_LIMIT if kwargs["kwic"] else MAX_LIMIT
    )
    kwargs["offset"] = _int_param(one, "offset", 0, 0)
    if kwargs["offset"] > MAX_OFFSET:
        raise BadRequest(f"offset 最大为 {MAX_OFFSET}", code="bad_parameter")
    return q, kwargs


def year_rule():
    """The one reading of ``year`` (2020, 2018-2020), applied before searching so that a ValueError
    from the search itself means a fault on the server (500), not a bad request."""
    return parse_year


def _int_param(params: dict, name: str, default: int, minimum: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"{name} 应为整数，而不是“{raw[:20]}”", code="bad_parameter")
    value = int(raw)
    if value < minimum:
        raise BadRequest(f"{name} 至少为 {minimum}", code="bad_parameter")
    return value
