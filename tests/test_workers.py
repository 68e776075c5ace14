"""workers: the one worker-pool helper, which never forks a threaded process."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from site_builder import workers

#: Set in the test process after import: a forked worker sees it, a worker started by a fork
#: server or spawned imports this module afresh and does not.
MARK = "imported"


def _mark_and_parent() -> tuple[str, int]:
    return MARK, os.getppid()


@pytest.fixture
def running_thread():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join()


def test_a_single_threaded_process_may_fork_when_asked():
    assert threading.active_count() == 1, "the test process itself runs no other thread"
    assert workers.can_fork()
    assert workers.mp_context(prefer_fork=True).get_start_method() == "fork"
    assert workers.mp_context().get_start_method() == "forkserver"  # fork only when asked


def test_a_process_with_a_running_thread_never_forks(running_thread):
    assert not workers.can_fork()
    assert workers.mp_context(prefer_fork=True).get_start_method() == "forkserver"
    with pytest.raises(ValueError, match="threads"):
        workers.process_pool(1, context=multiprocessing.get_context("fork"))


def test_the_pool_of_a_threaded_process_starts_its_workers_from_the_fork_server(running_thread):
    globals()["MARK"] = "set by the parent"
    try:
        with workers.process_pool(1, prefer_fork=True) as pool:
            mark, parent = pool.submit(_mark_and_parent).result(timeout=120)
    finally:
        globals()["MARK"] = "imported"
    assert mark == "imported"  # not a copy of this process
    assert parent != os.getpid()  # a child of the fork server


def test_the_pool_of_a_single_threaded_process_forks_when_asked():
    globals()["MARK"] = "set by the parent"
    try:
        with workers.process_pool(1, prefer_fork=True) as pool:
            mark, parent = pool.submit(_mark_and_parent).result(timeout=120)
    finally:
        globals()["MARK"] = "imported"
    assert (mark, parent) == ("set by the parent", os.getpid())


UNGUARDED = """
import sys
sys.path.insert(0, sys.argv[1])
with open(sys.argv[2], "a", encoding="utf-8") as runs:
    runs.write("run\\n")
from site_builder import workers
with workers.process_pool(2, context=workers.fresh_context()) as pool:
    print(sorted(pool.map(abs, [-3, -1, -2])))
"""


def test_fresh_workers_do_not_run_an_unguarded_main_script_again(tmp_path):
    # multiprocessing's spawn runs the calling script's top level again in every worker (an
    # unguarded script calling the build would build once more in each); fresh_context's do not.
    script, runs = tmp_path / "script.py", tmp_path / "runs.txt"
    script.write_text(UNGUARDED, encoding="utf-8")
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(script), str(repo), str(runs)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[1, 2, 3]\n"
    assert runs.read_text(encoding="utf-8") == "run\n"


def test_fresh_workers_hold_nothing_of_the_parent():
    globals()["MARK"] = "set by the parent"
    try:
        with workers.process_pool(1, context=workers.fresh_context()) as pool:
            mark, parent = pool.submit(_mark_and_parent).result(timeout=120)
    finally:
        globals()["MARK"] = "imported"
    assert mark == "imported"  # a new interpreter that imported this module
    assert parent == os.getpid()  # our own child: its CPU time and memory show in getrusage


def test_a_fresh_start_changes_nothing_that_another_thread_starts(monkeypatch):
    # A fresh worker's start builds its own preparation data: a plain spawn (or a fork server)
    # started by another thread while it is half-way still sends the main module's name or path.
    from multiprocessing import resource_tracker, spawn

    original, before = spawn.get_preparation_data, spawn.get_preparation_data("x")
    assert "init_main_from_name" in before or "init_main_from_path" in before
    inside, leave = threading.Event(), threading.Event()
    real_getfd = resource_tracker.getfd

    def held():  # (called by the start of the fresh worker below, before it pickles anything)
        inside.set()
        assert leave.wait(120)
        return real_getfd()

    monkeypatch.setattr(resource_tracker, "getfd", held)
    got = []

    def start():
        with workers.process_pool(1, context=workers.fresh_context()) as pool:
            got.append(pool.submit(abs, -5).result(timeout=120))

    thread = threading.Thread(target=start)
    thread.start()
    try:
        assert inside.wait(120)
        now, data = spawn.get_preparation_data, spawn.get_preparation_data("x")
    finally:
        leave.set()
        thread.join()
    assert now is original
    assert data.keys() == before.keys()
    assert got == [5]


def test_fresh_workers_started_by_two_threads_at_once(monkeypatch):
    # Two fresh starts overlapping, the first to begin ending first: a swap of spawn's
    # get_preparation_data for the duration of each start would leave the second's swap in place.
    from multiprocessing import resource_tracker, spawn

    original = spawn.get_preparation_data
    real_getfd = resource_tracker.getfd
    inside = {name: threading.Event() for name in "ab"}
    go = {name: threading.Event() for name in "ab"}

    def held():
        name = threading.current_thread().name
        inside[name].set()
        assert go[name].wait(120)
        return real_getfd()

    monkeypatch.setattr(resource_tracker, "getfd", held)
    got: dict[str, int] = {}

    def start(value: int):
        with workers.process_pool(1, context=workers.fresh_context()) as pool:
            got[threading.current_thread().name] = pool.submit(abs, value).result(timeout=120)

    a = threading.Thread(target=start, args=(-1,), name="a")
    b = threading.Thread(target=start, args=(-2,), name="b")
    a.start()
    assert inside["a"].wait(120)
    b.start()
    assert inside["b"].wait(120)
    go["a"].set()
    a.join()
    go["b"].set()
    b.join()
    assert got == {"a": 1, "b": 2}
    assert spawn.get_preparation_data is original


def test_the_fresh_start_is_cpythons_with_its_preparation_data_only():
    # workers._FreshPopen._launch is a copy of CPython's popen_spawn_posix.Popen._launch with one
    # call changed: a Python whose launch differs fails here (read the new one and copy it again).
    import ast
    import inspect
    import textwrap
    from multiprocessing import popen_spawn_posix

    def tree(fn) -> str:
        node = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and sub.level == 1:  # from . import x
                sub.module, sub.level = "multiprocessing", 0
            if (
                isinstance(sub, ast.Assign)
                and ast.unparse(sub.value) == "spawn.get_preparation_data(process_obj._name)"
            ):
                sub.value = ast.parse("_preparation_data(process_obj._name)").body[0].value  # type: ignore[attr-defined]
        for sub in ast.walk(node):  # (docstrings and comments aside)
            first = sub.body[0] if isinstance(sub, ast.FunctionDef) else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                sub.body = sub.body[1:]  # type: ignore[attr-defined]
        return ast.dump(node)

    assert tree(workers._FreshPopen._launch) == tree(popen_spawn_posix.Popen._launch)


def _twice(x: int) -> int:
    return 2 * x


def _twice_or_die(x: int) -> int:
    if x == 3 and multiprocessing.parent_process() is not None:  # only in a worker: killed
        os._exit(7)
    return 2 * x


def _twice_or_raise(x: int) -> int:
    if multiprocessing.parent_process() is not None and x % 2:
        raise ValueError(f"odd {x}")
    return 2 * x


@pytest.mark.parametrize("chunksize", [1, 2])
def test_run_jobs_gives_every_result_in_order_when_a_worker_is_killed(chunksize):
    ran_here = []

    def here(x):
        ran_here.append(x)
        return 2 * x

    with workers.process_pool(2, context=workers.fresh_context()) as pool:
        got = list(workers.run_jobs(pool, _twice_or_die, list(range(8)), chunksize=chunksize, here=here))
    assert got == [2 * x for x in range(8)]
    assert 3 in ran_here  # (the killed worker's job, and those the broken pool had not given back)


def test_run_jobs_runs_here_what_raised_in_a_worker_and_raises_what_raises_here():
    with workers.process_pool(2, context=workers.fresh_context()) as pool:
        assert list(workers.run_jobs(pool, _twice_or_raise, [1, 2, 3, 4])) == [2, 4, 6, 8]

    def fails(x):
        raise OSError("disk full")

    with workers.process_pool(1, context=workers.fresh_context()) as pool, pytest.raises(OSError, match="disk full"):
        list(workers.run_jobs(pool, _twice_or_raise, [1, 2], here=fails))


def test_run_jobs_without_a_pool_and_with_workers_that_cannot_start():
    assert list(workers.run_jobs(None, _twice, [1, 2, 3])) == [2, 4, 6]
    ctx = workers.fresh_context()
    with workers.process_pool(2, context=ctx, initializer=os._exit, initargs=(3,)) as pool:
        assert list(workers.run_jobs(pool, _twice, [1, 2, 3])) == [2, 4, 6]


@pytest.mark.skipif(not workers.can_fork(), reason="no fork here")
def test_a_child_gives_back_its_bytes_and_is_reaped():
    child = workers.Child(lambda: "讲话".encode() * 50_000)  # more than a pipe holds: read while it writes
    pid = child.pid
    assert child.answer() == "讲话".encode() * 50_000 and child.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left


@pytest.mark.skipif(not workers.can_fork(), reason="no fork here")
def test_a_child_that_raises_or_is_not_waited_for_gives_nothing():
    assert workers.Child(lambda: 1 / 0).answer() == b""  # (its traceback is not this process's)
    child = workers.Child(lambda: b"x" * 1_000_000)
    child.close()  # not waited for: its write fails, it leaves
    assert child.pid is None and child.answer() == b""
