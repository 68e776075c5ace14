"""`serve` answers /api/search in worker processes (#15): the same answers as in the server's own
threads, the same errors, and a worker that dies is a 503 with a Chinese message, never a hang."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from conftest import speech

from site_builder import serve as servermod
from site_builder.config import load_config
from site_builder.search.query import FilterError, QueryError
from site_builder.serve import search_workers
from site_builder.serve.search import SearchPool, SearchUnavailable

SPEECHES = {
    f"{2010 + i}/讲话{i}.md": speech(
        title=f"在{2010 + i}年工作会议上的讲话",
        date=f"{2010 + i}-0{1 + i % 9}-1{i % 10}",
        themes=(("党风廉政建设",) if i % 2 else ("基层党建", "队伍建设")),
        body=f"同志们：\n\n## 一、总体要求\n\n要如履薄冰，恪尽职守。第{i}次强调党建工作。\n\n"
        + ("从严治党，廉政建设。\n" if i % 3 else "安全生产责任重于泰山。\n"),
    )
    for i in range(12)
}
QUERIES = [
    ("如履薄冰", {}),
    ("党建", {"sort": "newest", "limit": 5}),
    ("党建 OR 廉政", {"kwic": True, "limit": 50}),
    ("安全 -廉政", {"year": "2012-2018"}),
    ('"从严 治党"', {}),
    ("工作", {"theme": "基层党建", "offset": 2}),
    ("没有的词", {}),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from conftest import Site

    site = Site(tmp_path_factory.mktemp("workers") / "site")
    for rel, text in SPEECHES.items():
        site.write(rel, text)
    assert site.run("build", "-q") == 0
    return load_config(site.root, {})[0]


@pytest.fixture
def pools(built):
    threads = SearchPool(built.state_dir / "whoosh", cache_entries=0)
    workers = SearchPool(built.state_dir / "whoosh", cache_entries=0, workers=2)
    yield threads, workers
    threads.close()
    workers.close()


def test_answers_from_the_workers_equal_answers_in_the_server(pools):
    threads, workers = pools
    for q, kwargs in QUERIES:
        assert workers.answer(q, **kwargs) == threads.answer(q, **kwargs), q
    assert json.loads(workers.answer("如履薄冰"))["total"] == 12
    assert workers.workers is not None and workers.workers.pids()


def test_errors_from_the_workers_are_the_same_errors(pools):
    threads, workers = pools
    for q, kwargs, kind in (('"没有配对', {}, QueryError), ("党建", {"year": "二〇二〇"}, FilterError)):
        caught = []
        for pool in (threads, workers):
            with pytest.raises(kind) as info:
                pool.answer(q, **kwargs)
            caught.append(info.value)
        assert [str(e) for e in caught[1:]] == [str(caught[0])]
        assert caught[1].code == caught[0].code
        if kind is QueryError:
            assert caught[1].column == caught[0].column


def test_a_worker_killed_while_idle_is_replaced(pools):
    threads, workers = pools
    assert workers.answer("党建") == threads.answer("党建")
    for pid in workers.workers.pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    assert workers.answer("廉政") == threads.answer("廉政")


def test_a_worker_dying_during_a_search_is_a_503_not_a_hang(built):
    site = servermod.Site(built, log=lambda m: None)
    app = servermod.App(site)
    try:
        assert app.handle(servermod.Request("GET", "/api/search?q=党建")).status == 200
        pool_workers = site.pool.workers
        assert pool_workers is not None
        answers: list = []
        busy = threading.Thread(target=lambda: answers.append(_hang_in_a_worker(pool_workers)))
        busy.start()
        deadline = time.monotonic() + 20
        while len(pool_workers.pids()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the task is running in a worker
        for pid in pool_workers.pids():
            os.kill(pid, signal.SIGKILL)
        busy.join(20)
        assert not busy.is_alive(), "a search waited for a dead worker"
        assert answers and "检索进程意外退出" in answers[0]
        response = app.handle(servermod.Request("GET", "/api/search?q=廉政"))  # fresh workers
        assert response.status == 200 and json.loads(response.body)["total"] > 0
    finally:
        site.pool.close()


def _hang_in_a_worker(pool_workers) -> str:
    try:
        pool_workers.call(time.sleep, 60)
    except search_workers.WorkerUnavailable as err:
        return str(err)
    return "answered"


def test_a_dead_worker_is_a_503_with_a_chinese_message_from_the_api(built, monkeypatch):
    site = servermod.Site(built, log=lambda m: None, cache_entries=0)
    app = servermod.App(site)
    try:
        assert app.handle(servermod.Request("GET", "/api/search?q=党建")).status == 200

        def dies(self, epoch, query, kwargs):
            self.call(os._exit, 3)  # the worker process exits in the middle of the search

        monkeypatch.setattr(search_workers.SearchWorkers, "answer", dies)
        response = app.handle(servermod.Request("GET", "/api/search?q=廉政"))
        assert response.status == 503
        error = json.loads(response.body)["error"]
        assert error["code"] == "search_unavailable" and "检索进程意外退出" in error["message"]
        monkeypatch.undo()
        assert app.handle(servermod.Request("GET", "/api/search?q=廉政")).status == 200
    finally:
        site.pool.close()


def test_a_search_that_takes_too_long_is_a_503_and_its_workers_are_replaced(built):
    workers = search_workers.SearchWorkers(built.state_dir / "whoosh", 1, timeout=1.0)
    try:
        with pytest.raises(search_workers.WorkerUnavailable, match="检索超时"):
            workers.call(time.sleep, 30)
        assert workers.call(sum, [1, 2]) == 3
    finally:
        workers.close()


def test_no_index_is_a_503(tmp_path):
    pool = SearchPool(tmp_path / "whoosh", cache_entries=0, workers=1)
    try:
        with pytest.raises(SearchUnavailable, match="还没有可用的检索索引"):
            pool.answer("党建")
    finally:
        pool.close()
