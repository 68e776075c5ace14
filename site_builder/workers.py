"""Worker processes: the one way the project starts them.

A process that runs other threads must never fork: the child gets a copy of every lock some thread
held at that instant, and none of those threads to release it (the child can hang for ever). So:

* ``mp_context(prefer_fork=True)`` gives ``fork`` only when the current process runs a single
  (Python) thread, where it is safe and cheapest (workers inherit the parent's memory: no copying of
  the data, no re-import); otherwise, and by default, ``forkserver`` (a clean single-threaded server
  process forks the workers), or ``spawn`` where there is no fork server.
* ``process_pool`` is a ``ProcessPoolExecutor`` on such a context.
* ``fresh_context`` starts workers as new interpreters that hold nothing of this process (a
  forked worker maps every page of its parent: a build's main process holds its model by then),
  and, unlike multiprocessing's ``spawn``, does not run the calling script's top level again in
  each of them (an unguarded script that calls the build would build again in every worker).
* ``avoid_fork_by_default`` makes ``forkserver`` the default start method, as a backstop for a
  long-lived threaded process (``serve``) in case some library starts processes of its own.

Threads that a native library starts itself (an OpenBLAS pool) are not Python threads and are not
counted; such libraries register ``pthread_atfork`` handlers for exactly this.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # POSIX-only names
    from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext

    StartContext = ForkContext | ForkServerContext | SpawnContext


def can_fork() -> bool:
    """True when forking this process is safe: fork exists and only one Python thread runs."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def mp_context(prefer_fork: bool = False) -> StartContext:
    """The start method for new worker processes: ``fork`` if ``prefer_fork`` and ``can_fork()``,
    else ``forkserver``, else ``spawn``. Never ``fork`` from a threaded process."""
    if prefer_fork and can_fork():
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def process_pool(
    max_workers: int,
    *,
    prefer_fork: bool = False,
    context: BaseContext | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of ``max_workers`` processes started by ``mp_context(prefer_fork)``;
    use it as a context manager (``with process_pool(2) as pool: ...``). Workers may rely on the
    parent's globals only when they are forked: a caller that needs to know takes
    ``ctx = mp_context(prefer_fork=True)``, passes it as ``context`` and looks at
    ``ctx.get_start_method()``."""
    if context is not None and context.get_start_method() == "fork" and not can_fork():
        raise ValueError("process_pool: this process runs other threads and must not fork")
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=context if context is not None else mp_context(prefer_fork),
        initializer=initializer,
        initargs=initargs,
    )


def fresh_context() -> BaseContext:
    """A ``spawn`` context whose workers do not run the parent's main script again: they import
    only what the pickled calls name (site_builder's functions). Plain ``spawn`` where there is
    no POSIX spawn (Windows), which runs it again as usual."""
    return _FreshContext() if _FreshContext is not None else multiprocessing.get_context("spawn")


try:
    from multiprocessing import popen_spawn_posix, spawn
except ImportError:  # not POSIX
    _FreshContext: Any = None
else:
    # spawn's process and context, with the main module's name and path left out of what a new
    # process is told to prepare (module level: the process object is pickled to the child).

    class _FreshPopen(popen_spawn_posix.Popen):
        def _launch(self, process_obj):
            real = spawn.get_preparation_data

            def without_main(name):
                data = real(name)
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
                return data

            spawn.get_preparation_data = without_main
            try:
                super()._launch(process_obj)
            finally:
                spawn.get_preparation_data = real

    class _FreshProcess(multiprocessing.context.SpawnProcess):
        @staticmethod
        def _Popen(process_obj):
            return _FreshPopen(process_obj)

    class _FreshContext(multiprocessing.context.SpawnContext):  # type: ignore[no-redef]
        Process = _FreshProcess


def avoid_fork_by_default() -> None:
    """Make ``forkserver`` the default start method of this process (for code that starts processes
    without a context); left as it is when someone already chose one."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        try:
            multiprocessing.set_start_method("forkserver")
        except RuntimeError:  # already chosen
            pass
