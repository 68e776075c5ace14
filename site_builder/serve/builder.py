"""The server's builds, in a process of their own.

Rebuilds never run in the serving process: it runs request threads, and the build forks its own
workers; forking a process whose other threads hold locks can hang. ``BuildProcess`` starts one
long-lived, single-threaded build process through a forkserver (else spawn), sends it one build
at a time, and replaces it after a crash and every RECYCLE_BUILDS builds. The process keeps its
modules warm between builds and lets go of each build's templates (their Jinja environment).
"""

from __future__ import annotations

import os
import threading
import traceback
from typing import TYPE_CHECKING

from ..config import SiteConfig
from ..errors import SiteBuilderError
from ..workers import mp_context
from .limits import RECYCLE_BUILDS

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess
    from multiprocessing.util import Finalize


class BuildCrashed(Exception):
    """The build process raised something other than a SiteBuilderError, or died."""

    def __init__(self, message: str, details: str | None = None):
        super().__init__(message)
        self.details = details


WARM_MODULES = (
    "site_builder.build",
    "site_builder.related",
    "rjieba",  # (its dictionary built once here: related_early then segments in this process, no child)
    "site_builder.search.whoosh_index",
    "site_builder.static_search",
)


def _build_worker(conn) -> None:
    """The build process: single-threaded, it builds one site at a time for the server and keeps
    its modules warm between builds. Messages from the server through ``conn``:

    * ("warm",): import the build's modules (no answer);
    * ("build", config): answers ("log", text)… then ("done", BuildResult) | ("error", message,
      exit code) | ("crash", message, traceback);
    * ("stats",): answers ("stats", {"pid", "builds", "jinja_environments"}).

    It ends when the server closes its end (or dies). Ctrl-C in the terminal reaches it too: it
    ignores that and lets the server decide (which closes its end, then terminates it if a build
    does not finish soon)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    builds = 0
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "warm":
            import importlib

            for name in WARM_MODULES:
                try:
                    importlib.import_module(name)
                except ImportError:
                    pass
        elif message[0] == "build":
            builds += 1
            try:
                conn.send(_build_once(conn, message[1]))
            except (BrokenPipeError, EOFError, OSError):
                return  # the server went away
            except Exception as err:
                conn.send(
                    ("crash", f"{type(err).__name__}: {err} (sending the build's result)", traceback.format_exc())
                )
        elif message[0] == "stats":
            conn.send(("stats", {"pid": os.getpid(), "builds": builds, "jinja_environments": _live_environments()}))


def _build_once(conn, config: SiteConfig) -> tuple:
    try:
        from ..build import build as run_build

        return ("done", run_build(config, notify=lambda message: conn.send(("log", message))))
    except SiteBuilderError as err:
        return ("error", str(err), err.exit_code)
    except BaseException as err:
        return ("crash", f"{type(err).__name__}: {err}", traceback.format_exc())
    finally:
        _release_build_caches()


def _release_build_caches() -> None:
    """What one build leaves behind for the next to reuse nothing of: the templates' fingerprint
    cache holds every TemplateSet (and so its Jinja environment) it was ever asked about."""
    from .. import templates

    clear = getattr(getattr(templates.TemplateSet, "fingerprint", None), "cache_clear", None)
    if clear is not None:
        clear()


def _live_environments() -> int:
    import gc

    import jinja2

    gc.collect()
    return sum(isinstance(o, jinja2.Environment) for o in gc.get_objects())


BUILD_WORKER = _build_worker  # what the build process runs (tests put a crash in its place)


class BuildProcess:
    """The server's builds, run one at a time in a long-lived process of their own (started with
    ``workers.mp_context()``: forkserver or spawn, never fork, since the server runs request
    threads and a fork copies locks they may hold; replaced after a crash and every RECYCLE_BUILDS builds)."""

    def __init__(self, recycle_after: int = RECYCLE_BUILDS):
        self.recycle_after = recycle_after
        self._lock = threading.Lock()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._builds = 0
        self._finalizer: Finalize | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _ensure(self):
        if self._proc is not None and self._proc.is_alive() and self._builds < self.recycle_after:
            return self._conn
        self._close_locked(grace=5.0)
        import multiprocessing.util

        ctx = mp_context()
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=BUILD_WORKER, args=(theirs,), name="site-builder-build")
        proc.start()
        theirs.close()
        self._proc, self._conn, self._builds = proc, ours, 0
        # At exit, before multiprocessing joins its children: close the pipe, so that it ends.
        self._finalizer = multiprocessing.util.Finalize(self, ours.close, exitpriority=10)
        return ours

    def warm(self) -> None:
        """Start the process and import the build's modules there, without waiting."""
        with self._lock:
            try:
                self._ensure().send(("warm",))
            except OSError:
                self._close_locked(grace=0)

    def build(self, config: SiteConfig, log):
        """Build ``config``; its log lines go to ``log``. Returns the BuildResult; raises
        SiteBuilderError as the build would, BuildCrashed for anything else (or a dead process)."""
        with self._lock:
            reply = self._exchange(("build", config), log)
            self._builds += 1
        if reply[0] == "done":
            return reply[1]
        if reply[0] == "error":
            err = SiteBuilderError(reply[1])
            err.exit_code = reply[2]
            raise err
        raise BuildCrashed(reply[1], reply[2])

    def stats(self) -> dict:
        with self._lock:
            return self._exchange(("stats",), None)[1]

    def _exchange(self, request: tuple, log) -> tuple:
        conn = self._ensure()
        try:
            conn.send(request)
            while True:
                reply = conn.recv()
                if reply[0] != "log":
                    return reply
                if log is not None:
                    log(reply[1])
        except (EOFError, OSError):
            proc = self._proc
            assert proc is not None  # started by _ensure
            proc.join(5)
            code = proc.exitcode
            self._close_locked(grace=0)
            raise BuildCrashed(f"the build process ended without an answer (exit code {code})") from None

    def close(self, grace: float = 5.0) -> None:
        """End the process: a build it is running may finish within ``grace`` seconds, then the
        process is terminated (a build killed half-way is safe: the next one picks up from it)."""
        if not self._lock.acquire(timeout=grace):
            proc = self._proc
            if proc is not None:
                proc.terminate()  # the building thread gets end-of-file and cleans up
            if not self._lock.acquire(timeout=10):
                return
        try:
            self._close_locked(grace)
        finally:
            self._lock.release()

    def _close_locked(self, grace: float) -> None:
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if self._finalizer is not None:
            self._finalizer.cancel()
            self._finalizer = None
        if conn is not None:
            conn.close()
        if proc is not None:
            proc.join(grace)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
