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
  each of them (an unguarded script that calls the build would build again in every worker). It
  changes nothing of multiprocessing's own (its start is CPython's with its own preparation data),
  so any thread may use it while others start processes.
* ``run_jobs`` runs a pool's jobs and gives every result in order: a job whose worker died (killed
  for memory), could not start or raised is run in this process instead; the workers' messages (a
  queue handed over by the pool's initializer) are read while it waits.
* ``Child`` forks one child that does one piece of work beside this process and sends back the
  bytes it made through a pipe (the build's search-index child, the related stage's early words).
* ``avoid_fork_by_default`` makes ``forkserver`` the default start method, as a backstop for a
  long-lived threaded process (``serve``) in case some library starts processes of its own.

Threads that a native library starts itself (an OpenBLAS pool) are not Python threads and are not
counted; such libraries register ``pthread_atfork`` handlers for exactly this.
"""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.context
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # POSIX-only names
    from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext

    StartContext = ForkContext | ForkServerContext | SpawnContext


def can_fork() -> bool:
    """True when forking this process is safe: fork exists and only one Python thread runs."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class Child:
    """One forked child that runs ``work`` and sends the bytes it returns back through a pipe,
    then leaves at once (``os._exit``: none of this process's clean-up runs twice). Only where
    ``can_fork()``. ``answer()`` waits for those bytes (none when ``work`` raised or the child
    died) and reaps the child; ``close()`` reaps it without its answer (its write then fails and
    it leaves)."""

    @staticmethod
    def allowed() -> bool:
        """Whether a child may be forked beside this process: ``can_fork()``, another core to run
        it on, and not ``SITE_BUILDER_NO_FORK`` (everything in one process, e.g. to profile)."""
        return can_fork() and (os.cpu_count() or 1) > 1 and not os.environ.get("SITE_BUILDER_NO_FORK")

    def __init__(self, work: Callable[[], bytes]):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read)
                payload = work()
                with os.fdopen(write, "wb") as fh:
                    fh.write(payload)
            finally:
                os._exit(0)
        os.close(write)
        self.pid: int | None = pid
        self._pipe = os.fdopen(read, "rb")

    def answer(self) -> bytes:
        if self.pid is None:  # (closed before)
            return b""
        try:
            return self._pipe.read()
        finally:
            self.close()

    def close(self) -> None:
        if self.pid is not None:
            self._pipe.close()
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None


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


def run_jobs(
    pool: ProcessPoolExecutor | None,
    fn: Callable[[Any], Any],
    jobs: Sequence[Any],
    *,
    chunksize: int = 1,
    here: Callable[[Any], Any] | None = None,
    messages: Any = None,
    on_message: Callable[[Any], object] | None = None,
) -> Iterator[Any]:
    """``fn(job)`` for each of ``jobs``, yielded in order: in ``pool``'s workers (``chunksize`` jobs a
    call), or in this process when ``pool`` is None. A job whose worker failed is run here instead,
    by ``here`` (default ``fn``): a worker killed (for memory, say; the pool is then broken and every
    job not yet back fails with it: ``BrokenProcessPool``), one that could not start, or a job that
    raised there. So the caller gets every result either way, and an error that a job raises here is
    the caller's, as without a pool. ``messages``: a queue that the workers write to (a
    ``SimpleQueue`` of the pool's context, handed to them by the pool's initializer); each message
    is given to ``on_message`` here while the results are awaited, and all of them before a result
    is yielded whose job wrote them."""
    here = here or fn
    if pool is None:
        yield from map(here, jobs)
        return
    chunks = [jobs[i : i + chunksize] for i in range(0, len(jobs), chunksize)]
    futures: list[Future | None] = []
    try:
        for chunk in chunks:
            futures.append(pool.submit(_run_chunk, fn, chunk))
    except (BrokenProcessPool, OSError, RuntimeError):  # a worker could not start: the rest is done here
        pass
    for k, chunk in enumerate(chunks):
        future = futures[k] if k < len(futures) else None
        if future is not None:
            futures[k] = None  # (its result let go of once yielded)
        results = _result(future, messages, on_message) if future is not None else None
        _drain(messages, on_message)
        yield from results if results is not None else map(here, chunk)


def _run_chunk(fn: Callable[[Any], Any], chunk: Sequence[Any]) -> list:
    return [fn(job) for job in chunk]


def _result(future: Future, messages: Any, on_message: Callable[[Any], object] | None) -> list | None:
    """The future's results, or None when its worker failed (died, or the job raised there); the
    messages that come meanwhile given to ``on_message``."""
    while messages is not None and not future.done():
        wait([future], timeout=0.2)
        _drain(messages, on_message)
    try:
        return future.result()
    except Exception:
        return None


def _drain(messages: Any, on_message: Callable[[Any], object] | None) -> None:
    while messages is not None and not messages.empty():
        message = messages.get()
        if on_message is not None:
            on_message(message)


def fresh_context() -> BaseContext:
    """A ``spawn`` context whose workers do not run the parent's main script again: they import
    only what the pickled calls name (site_builder's functions). Plain ``spawn`` where there is
    no POSIX spawn (Windows), which runs it again as usual."""
    return _FreshContext() if _FreshContext is not None else multiprocessing.get_context("spawn")


try:
    from multiprocessing import popen_spawn_posix, reduction, spawn, util
    from multiprocessing.context import set_spawning_popen
except ImportError:  # not POSIX
    _FreshContext: Any = None
else:

    def _preparation_data(name: str) -> dict:
        """What a new process is told to prepare (``spawn.get_preparation_data``) without the main
        module's name and path, so that it does not import or run the main script."""
        data = spawn.get_preparation_data(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    class _FreshPopen(popen_spawn_posix.Popen):
        """spawn's ``Popen`` whose ``_launch`` is CPython's (3.8-3.13: ``popen_spawn_posix.Popen._launch``)
        with one line changed: the preparation data are ``_preparation_data``'s. A copy rather than
        ``spawn.get_preparation_data`` swapped while a process starts: a process started at that
        instant by another thread (a plain spawn, a fork server) would see the swap, and two fresh
        starts at once could leave it in place for good (``tests/test_workers.py`` checks both)."""

        def _launch(self, process_obj):
            from multiprocessing import resource_tracker

            tracker_fd = resource_tracker.getfd()
            self._fds.append(tracker_fd)
            prep_data = _preparation_data(process_obj._name)  # (the one change)
            fp = io.BytesIO()
            set_spawning_popen(self)
            try:
                reduction.dump(prep_data, fp)
                reduction.dump(process_obj, fp)
            finally:
                set_spawning_popen(None)
            parent_r = child_w = child_r = parent_w = None
            try:
                parent_r, child_w = os.pipe()
                child_r, parent_w = os.pipe()
                cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
                self._fds.extend([child_r, child_w])
                self.pid = util.spawnv_passfds(spawn.get_executable(), cmd, self._fds)
                self.sentinel = parent_r
                with open(parent_w, "wb", closefd=False) as f:
                    f.write(fp.getbuffer())
            finally:
                fds_to_close = []
                for fd in (parent_r, parent_w):
                    if fd is not None:
                        fds_to_close.append(fd)
                self.finalizer = util.Finalize(self, util.close_fds, fds_to_close)
                for fd in (child_r, child_w):
                    if fd is not None:
                        os.close(fd)

    # Module level: the process object is pickled to the child, which imports its class from here.
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
