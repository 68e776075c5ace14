"""``/api/search``: its parameters, and a pool of open search indexes with a cache of answers."""
from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs

from ..query import MAX_QUERY_CHARS
from .errors import BadRequest
from .limits import CACHE_BYTES, CACHE_ENTRIES, MAX_LIMIT, MAX_OFFSET, MAX_PARAMS, SEARCH_POOL_SIZE, STAMP_SECONDS


class SearchUnavailable(Exception):
    """No index to search (never built, or the search module is not installed)."""


def _default_index_factory(index_dir: Path):
    try:
        from ..search_index import SearchIndex
    except ImportError:
        raise SearchUnavailable("full-text search is not installed in this copy of site-builder") from None
    return SearchIndex(index_dir)


class SearchPool:
    """Up to ``size`` open SearchIndex objects, each used by one request at a time, and a cache of
    answers (encoded JSON) keyed by the request and the index's state on disk.

    ``reopen()`` (after a rebuild) empties the cache and makes new requests use freshly opened
    indexes; an index in use by a request is closed when that request gives it back. Identical
    requests arriving together are computed once (the others wait for that answer)."""

    def __init__(self, index_dir: Path, size: int = SEARCH_POOL_SIZE, factory=None,
                 cache_entries: int = CACHE_ENTRIES, cache_bytes: int = CACHE_BYTES):
        self.index_dir = index_dir
        self.factory = factory or _default_index_factory
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._free: list = []
        self._epoch = 0
        self._closed = False
        self.cache_entries, self.cache_bytes = cache_entries, cache_bytes
        self._cache: OrderedDict = OrderedDict()  # key → _Answer
        self._cached_bytes = 0
        self._stamp_value: tuple = ()
        self._stamp_at = -1e9
        self.stats = {"hits": 0, "misses": 0}

    def _open(self):
        index = self.factory(self.index_dir)
        try:
            present = index.exists()
        except Exception:
            present = False
        if not present:
            index.close()
            raise SearchUnavailable(
                "there is no usable search index: the build has not finished, it failed (see the "
                "terminal running 'site-builder serve'), or the index is from another version of "
                "site-builder (save a file or restart serve to rebuild)"
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
            return _encode(self.search(query, **kwargs))
        key = (self._epoch, self._stamp(), query, tuple(sorted(kwargs.items())))
        with self._lock:
            entry = self._cache.get(key)
            owner = entry is None
            if owner:
                entry = self._cache[key] = _Answer()
                self.stats["misses"] += 1
            else:
                self._cache.move_to_end(key)
                self.stats["hits"] += 1
        if not owner:
            if not entry.done.wait(60):
                raise SearchUnavailable("the server is too busy to search right now; try again")
            if entry.error is not None:
                raise entry.error
            return entry.value
        try:
            entry.value = _encode(self.search(query, **kwargs))
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
                self._cached_bytes += len(entry.value)
                while self._cache and (len(self._cache) > self.cache_entries or self._cached_bytes > self.cache_bytes):
                    _, old = self._cache.popitem(last=False)
                    self._cached_bytes -= len(old.value or b"")
        return entry.value

    def search(self, query: str, **kwargs) -> dict:
        if not self._slots.acquire(timeout=60):
            raise SearchUnavailable("the server is too busy to search right now; try again")
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
                raise SearchUnavailable(f"the search index is not there any more: {err}") from None
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


class _Answer:
    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = threading.Event()
        self.value: bytes | None = None
        self.error: BaseException | None = None


def _encode(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _quiet_close(index) -> None:
    try:
        index.close()
    except Exception:
        pass


def parse_search_params(query_string: str) -> tuple[str, dict]:
    """``q``, ``year``, ``meeting_type``, ``theme``, ``limit``, ``offset`` → (q, keyword args)."""
    try:
        params = parse_qs(query_string, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_PARAMS)
    except ValueError as err:  # includes UnicodeDecodeError and too many fields
        raise BadRequest(f"cannot read the query string: {err}") from None
    for name, values in params.items():
        if name in {"q", "year", "meeting_type", "theme", "limit", "offset"} and len(values) > 1:
            raise BadRequest(f"parameter {name!r} given {len(values)} times; give it once")
    one = {name: values[0] for name, values in params.items()}
    q = one.get("q")
    if q is None:
        raise BadRequest("missing parameter q, e.g. /api/search?q=如履薄冰")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"the query is too long ({len(q)} characters; at most {MAX_QUERY_CHARS})")
    kwargs: dict = {}
    for name in ("year", "meeting_type", "theme"):
        value = (one.get(name) or "").strip()
        if len(value) > 100:
            raise BadRequest(f"{name} is too long (at most 100 characters)")
        kwargs[name] = value or None
    rule = year_rule()
    if rule is not None and kwargs["year"] is not None:
        try:
            rule(kwargs["year"])
        except ValueError as err:
            raise BadRequest(str(err).replace("--year", "year")) from None
    kwargs["limit"] = min(_int_param(one, "limit", 10, 1), MAX_LIMIT)
    kwargs["offset"] = _int_param(one, "offset", 0, 0)
    if kwargs["offset"] > MAX_OFFSET:
        raise BadRequest(f"offset must be at most {MAX_OFFSET}")
    return q, kwargs


def year_rule():
    """The index's own reading of ``year`` (2020, 2018-2020), applied before searching so that a
    ValueError from the search itself means a fault on the server (500), not a bad request."""
    try:
        from ..search_index import _parse_year
    except ImportError:
        return None
    return _parse_year


def _int_param(params: dict, name: str, default: int, minimum: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"{name} must be a whole number, got {raw[:20]!r}")
    value = int(raw)
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}")
    return value
