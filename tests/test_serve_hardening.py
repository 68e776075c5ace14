"""`site-builder serve` against hostile clients and its own rebuilds (issue #16, #12):

* Host header: only the names the server serves (DNS-rebinding protection);
* slow-header connections (slow loris): a head deadline and connections limited per client address,
  so that a normal request still gets 200 quickly;
* raw (unencoded) UTF-8 in the request line;
* rebuilds: no Jinja environment left behind per rebuild, and no fork of the threaded serve process.

Every network test talks to 127.0.0.1 (127.0.0.2 for a second client address), with bounded loops.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import socket
import threading
import time
from urllib.parse import quote

import pytest
from test_server import SPEECHES, Client, FakeIndex, edit_speech, make_site, speech_url

from site_builder import build as buildmod
from site_builder import serve as servermod
from site_builder.serve import builder as buildermod

RAW_TITLE = "在2020年度党建工作会议上的讲话"
RAW_PAGE = "/speeches/2020/" + RAW_TITLE + ".html"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("hardening"))


@pytest.fixture(scope="module")
def server(built):
    srv = servermod.PreviewServer(
        built, "127.0.0.1", 0, watch=False, log=lambda m: None, index_factory=FakeIndex
    ).start()
    yield srv
    srv.stop()


def raw_request(port: int, data: bytes, source: str = "127.0.0.1", timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send bytes as they are; (status, headers, body) of the answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            reply = b"".join(chunks)
            head, sep, body = reply.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
                if len(body) >= int(headers.get("content-length", "-1")) >= 0:
                    break
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1]) if lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


def get(
    port: int, target: str, host: str | None = "127.0.0.1", version: str = "HTTP/1.1", extra: bytes = b""
) -> tuple[int, dict, bytes]:
    head = f"GET {target} {version}\r\n".encode()
    if host is not None:
        head += b"Host: " + host.encode("latin-1") + b"\r\n"
    return raw_request(port, head + extra + b"Connection: close\r\n\r\n")


# -- 1. the Host header (DNS rebinding) -------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:{port}",
        "localhost",
        "localhost:8000",
        "localhost:{port}",
        "LocalHost:{port}",
        "localhost.:{port}",
        "[::1]",
        "[::1]:{port}",
    ],
)
def test_local_host_names_are_served(server, host):
    status, _, body = get(server.port, "/", host.format(port=server.port))
    assert status == 200 and b"</html>" in body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example",
        "localhost.evil.example:{port}",
        "attacker.localhost.example",
        "127.0.0.1:{port}@evil.example",
        "localhost:80x",
        "[::1",
        "",
    ],
)
def test_other_host_names_are_refused(server, host):
    status, headers, body = get(server.port, "/", host.format(port=server.port))
    assert status in (400, 421), (host, status)
    text = body.decode("utf-8")
    assert "讲话" not in text and "</html>" not in text  # nothing of the archive
    if host:
        assert status == 421
        assert "只响应" in text and "answers only to" in text  # Chinese and English
        assert headers["content-type"].startswith("text/plain")


def test_the_search_api_and_live_reload_are_refused_to_other_hosts(server):
    for target in (
        "/api/search?q=" + quote("如履薄冰"),
        "/__livereload?format=json",
        "/__livereload.js",
        "/static/style.css",
        "/no-such-page",
    ):
        status, _, body = get(server.port, target, f"evil.example:{server.port}")
        assert status == 421, target
        assert b"hits" not in body and b"generation" not in body


def test_absolute_form_names_the_host_too(server):
    status, _, _ = get(server.port, f"http://evil.example:{server.port}/", "127.0.0.1")
    assert status == 421
    status, _, _ = get(server.port, f"http://localhost:{server.port}/", "evil.example")
    assert status == 200  # the absolute form's authority is the one that counts (RFC 9112 3.2.2)


def test_missing_or_repeated_host(server):
    assert get(server.port, "/", None)[0] == 400  # HTTP/1.1 needs one
    assert get(server.port, "/", None, "HTTP/1.0")[0] == 200  # HTTP/1.0 may leave it out
    assert get(server.port, "/", "127.0.0.1", extra=b"Host: evil.example\r\n")[0] == 400


def test_the_host_given_to_serve_is_served(built):
    # --host 127.0.0.2 (a loopback address, so the test stays on this machine)
    srv = servermod.PreviewServer(built, "127.0.0.2", 0, watch=False, log=lambda m: None).start()
    try:
        data = f"GET / HTTP/1.1\r\nHost: 127.0.0.2:{srv.port}\r\nConnection: close\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.2", srv.port), timeout=10) as sock:
            sock.sendall(data)
            assert sock.recv(20).startswith(b"HTTP/1.1 200")
    finally:
        srv.stop()


def test_allowed_host_rules():
    check = servermod.host_allowed
    assert check("archive.lan:8000", "archive.lan") and check("ARCHIVE.LAN", "archive.lan")
    assert not check("evil.example", "archive.lan")
    assert check("localhost:8000", "archive.lan") and check("[::1]:8000", "::1")
    # Listening on every address: the machine's own IP addresses are fine (an address cannot be
    # rebound), names other than localhost are not.
    assert check("192.168.1.20:8000", "0.0.0.0") and check("[fe80::1]:8000", "::")
    assert not check("evil.example:8000", "0.0.0.0")
    # Listening on loopback only: another address never reaches this server legitimately.
    assert not check("192.168.1.20:8000", "127.0.0.1")
    assert check("myhost.example:8000", "127.0.0.1", extra=("myhost.example",))


# -- 2. slow connections (slow loris) -----------------------------------------------------------------


class SlowLoris:
    """``n`` connections that send a request head one byte at a time and never finish it."""

    def __init__(self, port: int, n: int, source: str = "127.0.0.1", interval: float = 0.1, silent: bool = False):
        self.port, self.interval, self.silent = port, interval, silent
        self.socks: list[socket.socket] = []
        self.closed = 0  # connections the server closed (or answered)
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
            s.setblocking(False)
            if not silent:
                try:
                    s.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                except OSError:
                    pass
            self.socks.append(s)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self) -> None:
        while not self.stop.wait(self.interval):
            alive = []
            for s in self.socks:
                try:
                    if s.recv(1024, socket.MSG_PEEK) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass  # nothing from the server: still open
                except OSError:
                    self.closed += 1
                    s.close()
                    continue
                except Exception:
                    pass
                else:  # the server answered (408/503): it is done with this connection
                    self.closed += 1
                    s.close()
                    continue
                if not self.silent:
                    try:
                        s.send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.closed += 1
                        s.close()
                        continue
                alive.append(s)
            self.socks = alive

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        for s in self.socks:
            s.close()


def timed_get(port: int, path: str = "/") -> tuple[int, float]:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - t0
    finally:
        conn.close()


def normal_requests_during(port: int, loris: SlowLoris, count: int = 5) -> list[tuple[int, float]]:
    time.sleep(0.5)  # the slow connections are in place and dripping
    results = []
    for _ in range(count):
        results.append(timed_get(port))
        time.sleep(0.1)
    return results


@pytest.mark.parametrize("silent", [False, True], ids=["dripping", "silent"])
def test_slow_connections_do_not_starve_a_normal_request(built, silent):
    # 200 slow connections against a server that holds at most 150 (the defaults scaled down)
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, log=lambda m: None, max_connections=150).start()
    loris = SlowLoris(srv.port, 200, silent=silent)
    try:
        results = normal_requests_during(srv.port, loris)
    finally:
        loris.close()
        srv.stop()
    assert [status for status, _ in results] == [200] * len(results), results
    assert max(seconds for _, seconds in results) < 2.0, results


def test_a_slow_head_is_cut_off_at_the_deadline(built):
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, log=lambda m: None, head_timeout=1.0).start()
    loris = SlowLoris(srv.port, 3, interval=0.1)
    try:
        deadline = time.monotonic() + 5
        while loris.closed < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        closed, waited = loris.closed, 5 - (deadline - time.monotonic())
        assert timed_get(srv.port)[0] == 200
    finally:
        loris.close()
        srv.stop()
    assert closed == 3, f"the server still held {3 - closed} slow heads after {waited:.1f} s"
    assert waited < 3.5


def test_a_head_cut_off_gets_408(built):
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, log=lambda m: None, head_timeout=0.5).start()
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
            reply = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
    finally:
        srv.stop()
    assert reply.startswith(b"HTTP/1.1 408")


def test_connections_are_limited_per_client_address(built):
    srv = servermod.PreviewServer(
        built, "127.0.0.1", 0, watch=False, log=lambda m: None, per_client=20, head_timeout=60
    ).start()
    loris = SlowLoris(srv.port, 60, source="127.0.0.2")
    try:
        deadline = time.monotonic() + 6
        while loris.closed < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        closed = loris.closed
        other = timed_get(srv.port)  # another client address
        with socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.2", 0), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            same = s.recv(20)  # the same address's own new request is served too
    finally:
        loris.close()
        srv.stop()
    assert closed >= 40, closed
    assert other[0] == 200 and same.startswith(b"HTTP/1.1 200")


@pytest.mark.slow
def test_eleven_hundred_slow_connections(built):
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, log=lambda m: None).start()
    loris = SlowLoris(srv.port, 1100, interval=0.5)
    try:
        results = normal_requests_during(srv.port, loris, count=10)
    finally:
        loris.close()
        srv.stop()
    assert [status for status, _ in results] == [200] * len(results), results
    assert max(seconds for _, seconds in results) < 2.0, results


# -- 3. raw UTF-8 in the request line -------------------------------------------------------------------


@pytest.mark.parametrize("query", ["党建", "如履薄冰", "从严治党", "廉政建设 OR 党建"])
def test_raw_utf8_query_in_the_request_line(server, query):
    status, _, body = get(server.port, "/api/search?q=" + query.replace(" ", "+"))
    assert status == 200, body[:200]
    assert json.loads(body.decode("utf-8"))["query"] == query
    status, _, body = get(server.port, "/search/?q=" + query.replace(" ", "+"))
    assert status == 200 and b"</html>" in body


def test_raw_utf8_path_in_the_request_line(server, built):
    status, _, body = get(server.port, RAW_PAGE)
    assert status == 200 and RAW_TITLE in body.decode("utf-8")
    for rel in SPEECHES:  # every seed page, raw, equals the percent-encoded request
        assert get(server.port, speech_url(rel))[2] == get(server.port, "/speeches/" + rel[:-3] + ".html")[2]


def test_raw_bytes_that_are_not_utf8_are_a_clean_400(server):
    gbk = "党建".encode("gbk")
    status, _, body = raw_request(
        server.port, b"GET /search/?q=" + gbk + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status in (200, 400)  # the page itself does not read q
    status, _, body = raw_request(
        server.port, b"GET /api/search?q=" + gbk + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status == 400 and "error" in json.loads(body.decode("utf-8"))
    status, _, _ = raw_request(
        server.port, b"GET /" + gbk + b".html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status == 400


# -- 4. rebuilds from serve ---------------------------------------------------------------------------


def live_environments() -> int:
    import jinja2

    gc.collect()
    return sum(isinstance(o, jinja2.Environment) for o in gc.get_objects())


@pytest.fixture
def fresh(tmp_path):
    config = make_site(tmp_path)
    logs: list[str] = []
    srv = servermod.PreviewServer(config, "127.0.0.1", 0, watch=False, log=logs.append).start()
    srv.logs = logs
    yield srv
    srv.stop()


def test_rebuilds_leave_no_jinja_environment_behind(fresh):
    rel = "2019/在全市廉政建设座谈会上的讲话.md"
    fresh.site.rebuild("warm up")
    before = live_environments(), fresh.site.builder.stats()
    for n in range(5):
        edit_speech(fresh.site.config, rel, f"第{n}次修改。")
        assert fresh.site.rebuild(f"edit {n}")
    after = live_environments(), fresh.site.builder.stats()
    assert after[0] <= before[0]  # none in the server process
    assert after[1]["pid"] == before[1]["pid"] and after[1]["builds"] == before[1]["builds"] + 5
    assert after[1]["jinja_environments"] <= before[1]["jinja_environments"]  # nor in the build process
    assert "第4次修改" in Client(fresh.port).get(speech_url(rel))[2].decode("utf-8")


forks_seen: list[int] = []  # threading.active_count() at every fork of this process while recording
_recording = [False]


def _before_fork() -> None:
    if _recording[0]:
        forks_seen.append(threading.active_count())


os.register_at_fork(before=_before_fork)


def test_serve_never_forks_while_threads_run(fresh, monkeypatch):
    monkeypatch.setattr(buildmod, "PARALLEL_RENDER_MIN", 1)  # render in worker processes, even for 3 speeches
    monkeypatch.setattr(buildmod, "BACKGROUND_INDEX_MAX_PARSED", 10**6)
    rel = "2020/在2020年度党建工作会议上的讲话.md"
    forks_seen.clear()
    _recording[0] = True
    try:
        assert threading.active_count() > 1  # the server's threads run
        for n in range(2):
            edit_speech(fresh.site.config, rel, f"修改{n}。")
            assert fresh.site.rebuild(f"edit {n}")
    finally:
        _recording[0] = False
    assert forks_seen == [], f"forked {len(forks_seen)} times with {max(forks_seen)} threads running"
    assert "修改1" in Client(fresh.port).get(speech_url(rel))[2].decode("utf-8")
    assert fresh.site.state.error is None


def _die(*args) -> None:  # a build process killed, or crashed beyond Python's reach
    os._exit(3)


def test_a_build_process_that_dies_is_a_failed_rebuild(fresh, monkeypatch):
    monkeypatch.setattr(buildermod, "BUILD_WORKER", _die)
    generation = fresh.site.state.generation
    assert fresh.site.rebuild("crash") is False
    assert "rebuild failed" in fresh.site.state.error and fresh.site.state.generation == generation
    assert any("still serving the previous version" in line for line in fresh.logs)
    assert Client(fresh.port).get("/")[0] == 200
    monkeypatch.undo()  # the next rebuild starts a new build process
    edit_speech(fresh.site.config, "2018/在安全生产动员大会上的讲话.md", "崩溃之后的新内容。")
    assert fresh.site.rebuild("after the crash") is True and fresh.site.state.error is None
    assert "崩溃之后的新内容" in Client(fresh.port).get(speech_url("2018/在安全生产动员大会上的讲话.md"))[2].decode()
