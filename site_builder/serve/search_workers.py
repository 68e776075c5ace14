"""Searches of ``/api/search`` in worker processes (#15): one interpreter lock per worker, so the
searches of many clients run on every core instead of one after another.

Each worker (started by ``workers.process_pool``: forkserver or spawn, never a fork of the threaded
server) opens the Whoosh index once and keeps it until the pool's epoch changes (a rebuild); it
answers with the JSON bytes the server sends. Errors come back as values (a query's error keeps its
code and column). A worker that dies fails the searches it was running with a 503 and a Chinese
message, and the next search starts fresh workers; a search that takes longer than
``SEARCH_TIMEOUT`` gets a 503 and its workers are replaced.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..search.query import FilterError, QueryError
from .limits import SEARCH_TIMEOUT

DIED = "检索进程意外退出，这次检索没有完成，请重试（a search worker died）"
TIMED_OUT = "检索超时（超过 {seconds:.0f} 秒），请缩小检索范围后重试"
NO_INDEX = (
    "还没有可用的检索索引：生成尚未完成，或生成失败（见运行 site-builder serve 的终端），"
    "或索引来自另一版本的 site-builder（保存任一文件或重启 serve 即重新生成）"
)


class WorkerUnavailable(Exception):
    """A search the workers could not answer (no index, a dead worker, a timeout): a 503."""


# -- in the worker process ------------------------------------------------------------------------

_open: tuple | None = None  # (index_dir, epoch, SearchIndex) of this worker


def _index(index_dir: str, epoch: int):
    global _open
    if _open is not None and _open[:2] == (index_dir, epoch):
        return _open[2]
    _close()
    from ..search import whoosh_snapshot
    from ..search.whoosh_index import SearchIndex

    whoosh_snapshot.POPULATE = True  # a long-lived process: a generation's pages mapped in once
    index = SearchIndex(Path(index_dir))
    if not index.exists():
        index.close()
        return None
    _open = (index_dir, epoch, index)
    return index


def _close() -> None:
    global _open
    if _open is not None:
        try:
            _open[2].close()
        except Exception:  # a broken index is dropped all the same
            pass
        _open = None


def answer(index_dir: str, epoch: int, query: str, kwargs: dict) -> tuple:
    """In a worker: ``("ok", JSON bytes)``, ``("query", message, column, code)``,
    ``("filter", message, code)`` or ``("unavailable", message)``."""
    try:
        index = _index(index_dir, epoch)
        if index is None:
            return ("unavailable", NO_INDEX)
        return ("ok", json.dumps(index.search(query, **kwargs), ensure_ascii=False).encode("utf-8"))
    except QueryError as err:
        return ("query", err.message, err.column, err.code)
    except FilterError as err:
        return ("filter", err.message, err.code)
    except FileNotFoundError as err:  # the index went away under us
        _close()
        return ("unavailable", f"检索索引已不存在：{err}")


# -- in the server --------------------------------------------------------------------------------


class SearchWorkers:
    """``size`` worker processes, started at the first search and again after a death."""

    def __init__(self, index_dir: Path, size: int, timeout: float = SEARCH_TIMEOUT):
        self.index_dir, self.size, self.timeout = str(index_dir), size, timeout
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def _current(self) -> ProcessPoolExecutor:
        from ..workers import process_pool

        with self._lock:
            if self._closed:
                raise WorkerUnavailable("服务器正在关闭，无法检索")
            if self._executor is None:
                self._executor = process_pool(self.size)
            return self._executor

    def _replace(self, executor: ProcessPoolExecutor) -> None:
        """Retire ``executor`` (broken, or a worker stuck): its processes are killed."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        for proc in list(getattr(executor, "_processes", {}).values()):
            try:
                proc.kill()
            except Exception:  # already gone
                pass
        executor.shutdown(wait=False, cancel_futures=True)

    def call(self, fn, *args):
        """``fn(*args)`` in a worker. A pool found broken before the call is replaced and the call
        made once more; a worker dying during it, or the timeout, raise WorkerUnavailable."""
        for attempt in (1, 2):
            executor = self._current()
            try:
                future = executor.submit(fn, *args)
            except BrokenProcessPool:  # died while idle (killed, out of memory): start afresh
                self._replace(executor)
                if attempt == 2:
                    raise WorkerUnavailable(DIED) from None
                continue
            except RuntimeError:  # shut down meanwhile (close, or replaced by another thread)
                if attempt == 2 or self._closed:
                    raise WorkerUnavailable(DIED) from None
                continue
            try:
                return future.result(timeout=self.timeout)
            except BrokenProcessPool:
                self._replace(executor)
                raise WorkerUnavailable(DIED) from None
            except FutureTimeout:
                self._replace(executor)
                raise WorkerUnavailable(TIMED_OUT.format(seconds=self.timeout)) from None
        raise AssertionError("unreachable")

    def answer(self, epoch: int, query: str, kwargs: dict) -> bytes:
        """The search's JSON bytes; raises QueryError, FilterError or WorkerUnavailable."""
        got = self.call(answer, self.index_dir, epoch, query, kwargs)
        if got[0] == "ok":
            return got[1]
        if got[0] == "query":
            raise QueryError(got[1], got[2], got[3])
        if got[0] == "filter":
            raise FilterError(got[1], got[2])
        raise WorkerUnavailable(got[1])

    def pids(self) -> list[int]:
        with self._lock:
            executor = self._executor
        return [p.pid for p in getattr(executor, "_processes", {}).values()] if executor else []

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
