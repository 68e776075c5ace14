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
