"""`site-builder serve` in-process: static files, traversal attempts, limits, the search API,
rebuilds under load, failing rebuilds, live reload (SSE and a real browser)."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from site_builder import build as buildmod
from site_builder import serve as servermod
from site_builder.config import load_config
from site_builder.search.query import QueryError, parse

try:
    from site_builder.search.whoosh_index import SearchIndex
except ImportError:  # the search module is not in this checkout
    SearchIndex = None

needs_index = pytest.mark.skipif(SearchIndex is None, reason="site_builder.search.whoosh_index is not available")

SECRET = "TOP-SECRET-MARKER-outside-output"

SPEECHES = {
    "2020/在2020年度党建工作会议上的讲话.md": (
        "在2020年度党建工作会议上的讲话",
        "2020-03-05",
        "工作会议",
        ["党的建设"],
        "同志们：\n\n## 一、总体要求\n\n要如履薄冰，恪尽职守，全面从严治党。\n\n党建工作要抓实抓细。\n",
    ),
    "2019/在全市廉政建设座谈会上的讲话.md": (
        "在全市廉政建设座谈会上的讲话",
        "2019-06-18",
        "座谈会",
        ["党风廉政建设", "党的建设"],
        "同志们：\n\n廉政建设是一项长期任务。要坚持从严治党，力戒形式主义。\n",
    ),
    "2018/在安全生产动员大会上的讲话.md": (
        "在安全生产动员大会上的讲话",
        "2018",
        "动员大会",
        ["安全生产"],
        "同志们：\n\n安全生产责任重于泰山，要如履薄冰、如临深渊。\n",
    ),
}


def speech_text(title, date, meeting_type, themes, body) -> str:
    return (
        f"---\ntitle: {title}\ndate: {date}\nmeeting_type: {meeting_type}\nthemes: [{', '.join(themes)}]\n---\n{body}"
    )


def make_site(root: Path):
    content = root / "content"
    for rel, fields in SPEECHES.items():
        path = content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(speech_text(*fields), encoding="utf-8")
    config, _ = load_config(root, {})
    result = buildmod.build(config)
    assert result.errors == 0, [p.format() for p in result.problems]
    out = config.output
    # Things a traversal attempt would love to reach, and symlinks leading there.
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    (root / "secret-dir").mkdir()
    (root / "secret-dir" / "secret.txt").write_text(SECRET, encoding="utf-8")
    os.symlink(root / "secret.txt", out / "secret-link.txt")
    os.symlink(root / "secret-dir", out / "link-out")
    os.symlink(out / "static", out / "link-in")  # inside output/: allowed
    os.mkfifo(out / "fifo.html")
    os.symlink("loop-b", out / "loop-a")
    os.symlink("loop-a", out / "loop-b")
    (out / "static" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (out / "static" / "图标.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    (out / "data.json").write_text('{"名称": "值"}', encoding="utf-8")
    return config


def speech_url(rel: str) -> str:
    year, name = rel.split("/")
    return f"/speeches/{year}/{quote(name[:-3])}.html"


class Client:
    def __init__(self, port: int):
        self.port = port

    def get(self, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def raw(self, data: bytes) -> tuple[int, bytes]:
        """Send bytes as they are (http.client refuses some of these paths); status and body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        reply = b"".join(chunks)
        head, _, body = reply.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
        return status, body

    def json(self, path: str):
        status, headers, body = self.get(path)
        assert headers["content-type"] == "application/json; charset=utf-8"
        return status, json.loads(body.decode("utf-8"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    return make_site(root)


@pytest.fixture(scope="module")
def server(built):
    logs: list[str] = []
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, log=logs.append).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    return Client(server.port)


def test_cli_reports_a_port_in_use(tmp_path, monkeypatch):
    from click.testing import CliRunner

    make_site(tmp_path)
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(servermod.serve_command, ["--port", str(port), "--no-watch"])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.output
    assert "Built 3 speeches" in result.output  # it built first, as `site-builder build` does


def test_no_reload_serves_pages_as_built(built):
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, livereload=False, log=lambda m: None).start()
    try:
        c = Client(srv.port)
        status, _, body = c.get("/")
        assert status == 200 and body == (built.output / "index.html").read_bytes()
        assert c.get("/__livereload.js")[0] == 404
    finally:
        srv.stop()


# -- static files ------------------------------------------------------------------------------


def test_binds_loopback_by_default(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    params = {p.name: p for p in servermod.serve_command.params}
    assert params["host"].default == "127.0.0.1"
    assert servermod.serve_command.help.rstrip().splitlines()[-1].strip().startswith("Example: site-builder serve")


def test_serve_is_a_cli_command(capsys):
    from site_builder.cli import cli, main

    assert cli.commands["serve"] is servermod.serve_command
    assert main(["serve", "--help"]) == 0  # reached through the real entry point, with its options
    out = capsys.readouterr().out
    assert "Usage: site-builder serve" in out and "--host" in out and "--port" in out


def test_chinese_speech_page_served_with_livereload_injected(client, built):
    rel = "2020/在2020年度党建工作会议上的讲话.md"
    status, headers, body = client.get(speech_url(rel))
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    text = body.decode("utf-8")
    assert "在2020年度党建工作会议上的讲话" in text and "如履薄冰" in text
    assert '<script src="/__livereload.js?g=' in text
    assert text.index("/__livereload.js") < text.rindex("</body>")
    on_disk = (built.output / "speeches/2020/在2020年度党建工作会议上的讲话.html").read_text("utf-8")
    assert "__livereload" not in on_disk
    status, headers, js = client.get("/__livereload.js")
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"
    assert b"EventSource" in js


@pytest.mark.parametrize(
    "path, ctype",
    [
        ("/static/style.css", "text/css; charset=utf-8"),
        ("/feed.xml", "application/xml; charset=utf-8"),
        ("/sitemap.xml", "application/xml; charset=utf-8"),
        ("/data.json", "application/json; charset=utf-8"),
        ("/static/logo.png", "image/png"),
        ("/static/" + quote("图标.svg"), "image/svg+xml; charset=utf-8"),
        ("/link-in/logo.png", "image/png"),  # a symlink that stays inside output/
        ("/", "text/html; charset=utf-8"),
        ("/years/", "text/html; charset=utf-8"),
        ("/index.html?x=1#frag", "text/html; charset=utf-8"),
    ],
)
def test_content_types(client, path, ctype):
    status, headers, body = client.get(path)
    assert status == 200, (path, body[:200])
    assert headers["content-type"] == ctype
    assert headers["x-content-type-options"] == "nosniff"


def test_js_files_of_the_site_are_javascript(client, built):
    js = next(p for p in built.output.rglob("*.js") if not p.is_symlink())
    status, headers, _ = client.get("/" + quote(js.relative_to(built.output).as_posix()))
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"


def test_directory_without_slash_redirects(client):
    status, headers, _ = client.get("/years")
    assert status == 301 and headers["location"] == "/years/"
    status, headers, _ = client.get("/speeches/2020")
    assert status == 301 and headers["location"] == "/speeches/2020/"


def test_file_asked_for_as_a_folder_is_404(client):
    assert client.get("/index.html/")[0] == 404
    assert client.get("/feed.xml/")[0] == 404


def test_missing_file_is_404_with_the_sites_404_page(client, built):
    status, headers, body = client.get("/no/such/page.html")
    assert status == 404
    assert headers["content-type"] == "text/html; charset=utf-8"
    page = (built.output / "404.html").read_text("utf-8")
    text = body.decode("utf-8")
    assert "页面不存在" in text
    assert strip_reload(body).decode("utf-8") == page


def test_head_has_headers_only(client):
    status, headers, body = client.get("/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 100


TRAVERSALS = [
    "/../secret.txt",
    "/../../../../../../etc/passwd",
    "/%2e%2e/secret.txt",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/static/..%2f..%2fsecret.txt",
    "/.%2e/secret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/static/%252e%252e/%252e%252e/secret.txt",
    "/..\\secret.txt",
    "/static\\..\\..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5c..%5csecret.txt",
    "//etc/passwd",
    "/%2Fetc%2Fpasswd",
    "/%2F%2E%2E%2Fsecret.txt",
    "/etc/passwd",
    "http://127.0.0.1/../secret.txt",
    "/secret.txt%00.html",
    "/%00/../secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/secret-link.txt",
    "/link-out/secret.txt",
    "/link-out/",
    "/link-out",
    "/speeches/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/./../secret.txt",
    "/loop-a",
    "/fifo.html",
    "/loop-a/x.html",
    "/" + quote("长" * 200) + ".html",
    "/" + "a" * 4000,
    "/static/./../../secret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_attempts_never_leave_output(client, path):
    request = b"GET " + path.encode("latin-1") + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    status, body = client.raw(request)
    assert status in (400, 403, 404), (path, status, body[:200])
    assert SECRET.encode() not in body
    assert b"root:x:" not in body


def test_hidden_and_temporary_files_are_not_served(client, built):
    # The writer's temporary files (.tmp-XXXXXXXX.html; the static index's .<name>.<pid>.tmp), a
    # hidden file and a file in a hidden folder, at the top and deeper; the same file under a
    # visible name is served, so the 404s are the rule and not a missing file.
    (built.output / ".git").mkdir(exist_ok=True)
    for rel in (
        ".tmp-ab12cd34.html",
        "speeches/.tmp-ab12cd34.html",
        "search/.meta.js.4242.tmp",
        ".htpasswd",
        ".git/config",
        "visible.html",
    ):
        (built.output / rel).write_text("<html>half written", encoding="utf-8")
    try:
        for rel in (
            ".tmp-ab12cd34.html",
            "speeches/.tmp-ab12cd34.html",
            "search/.meta.js.4242.tmp",
            ".htpasswd",
            ".git/config",
        ):
            status, _, body = client.get("/" + rel)
            assert status == 404 and b"half written" not in body, rel
        status, _, body = client.get("/visible.html")
        assert status == 200 and b"half written" in body
    finally:
        for rel in (
            ".tmp-ab12cd34.html",
            "speeches/.tmp-ab12cd34.html",
            "search/.meta.js.4242.tmp",
            ".htpasswd",
            ".git/config",
            "visible.html",
        ):
            (built.output / rel).unlink()
        (built.output / ".git").rmdir()


# -- request limits ----------------------------------------------------------------------------


def test_huge_url_is_414(client):
    status, _ = client.raw(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414


def test_huge_headers_are_431(client):
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"b" * 1000) for i in range(40))
    status, _ = client.raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert status == 431


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(client, method):
    status, headers, _ = client.get("/index.html", method=method, body=b"x=1" if method != "DELETE" else None)
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_get_with_a_body_is_refused(client):
    status, _, _ = client.get("/index.html", headers={"Content-Length": "5"}, body=b"hello")
    assert status == 413


def test_malformed_request_line_is_400(client):
    status, _ = client.raw(b"GARBAGE\r\n\r\n")
    assert status == 400


def test_two_hundred_concurrent_clients(client):
    results: list = []
    barrier = threading.Barrier(200)

    def one():
        barrier.wait()
        try:
            results.append(client.get("/")[0])
        except Exception as err:
            results.append(repr(err))

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * 200


# -- search API with a stand-in index (the HTTP contract only) -----------------------------------


class FakeIndex:
    opened = 0
    closed = 0
    present = True

    def __init__(self, index_dir):
        type(self).opened += 1
        self.index_dir = index_dir

    def exists(self):
        return type(self).present

    def search(
        self,
        query,
        *,
        year=None,
        meeting_type=None,
        theme=None,
        speaker=None,
        organization=None,
        limit=10,
        offset=0,
        sort="relevance",
        kwic=False,
    ):
        parse(query)
        if year is not None and not year.isdigit():
            raise ValueError(f"bad year {year!r}: use 2020 or 2018-2020")
        return {
            "query": query,
            "total": 1,
            "hits": [{"title": "在会议上的讲话", "excerpt": "<mark>如履薄冰</mark>"}],
            "facets": {},
            "args": {
                "year": year,
                "meeting_type": meeting_type,
                "theme": theme,
                "speaker": speaker,
                "organization": organization,
                "sort": sort,
                "kwic": kwic,
                "limit": limit,
                "offset": offset,
            },
        }

    def close(self):
        type(self).closed += 1


@pytest.fixture
def fake_server(built):
    FakeIndex.opened = FakeIndex.closed = 0
    FakeIndex.present = True
    srv = servermod.PreviewServer(
        built, "127.0.0.1", 0, watch=False, log=lambda m: None, index_factory=FakeIndex
    ).start()
    yield srv
    srv.stop()


def test_search_api_contract_with_a_stand_in_index(fake_server):
    c = Client(fake_server.port)
    status, data = c.json(
        "/api/search?q="
        + quote("如履薄冰")
        + "&year=2020&meeting_type="
        + quote("座谈会")
        + "&theme="
        + quote("党的建设")
        + "&limit=5&offset=2"
    )
    assert status == 200
    assert data["query"] == "如履薄冰" and data["hits"][0]["title"] == "在会议上的讲话"
    assert data["args"] == {
        "year": "2020",
        "meeting_type": "座谈会",
        "theme": "党的建设",
        "speaker": None,
        "organization": None,
        "sort": "relevance",
        "kwic": False,
        "limit": 5,
        "offset": 2,
    }
    status, data = c.json("/api/search?q=a&limit=100000")
    assert data["args"]["limit"] == servermod.MAX_LIMIT
    status, data = c.json("/api/search?q=a&kwic=1&sort=oldest&speaker=" + quote("王强") + "&organization=X")
    assert data["args"] == {
        "year": None,
        "meeting_type": None,
        "theme": None,
        "speaker": "王强",
        "organization": "X",
        "sort": "oldest",
        "kwic": True,
        "limit": 100,
        "offset": 0,
    }
    status, data = c.json("/api/search?q=a&kwic=1&limit=100000")
    assert data["args"]["limit"] == servermod.MAX_KWIC_LIMIT
    status, data = c.json("/api/search?q=%E5%A6%82+%E5%B1%A5")  # '+' is a space
    assert data["query"] == "如 履"
    for _ in range(20):
        c.json("/api/search?q=a")
    assert FakeIndex.opened <= servermod.SEARCH_POOL_SIZE  # reused, not opened per request


@pytest.mark.parametrize(
    "qs, code, fragment",
    [
        ("", "missing_query", "缺少参数 q"),
        ("q=", "empty", "查询为空"),
        ("q=%22unclosed", "unclosed_quote", "引号没有配对"),
        ("q=-only", "only_excluded", "只有要排除的词"),
        ("q=" + "a" * 501, "too_long", "查询太长"),
        ("q=a&year=abc", "bad_year", "年份"),
        ("q=a&year=2020-2018", "bad_year", "前大后小"),
        ("q=a&sort=date", "bad_sort", "sort"),
        ("q=a&kwic=maybe", "bad_parameter", "kwic"),
        ("q=a&limit=x", "bad_parameter", "limit"),
        ("q=a&limit=0", "bad_parameter", "limit"),
        ("q=a&offset=-1", "bad_parameter", "offset"),
        ("q=a&offset=99999999", "bad_parameter", "offset"),
        ("q=a&q=b", "repeated_parameter", "出现了 2 次"),
        ("q=%ff%fe", "bad_query_string", "查询字符串"),
        ("&".join(f"p{i}=1" for i in range(50)) + "&q=a", "bad_query_string", "查询字符串"),
    ],
)
def test_search_api_bad_requests(fake_server, qs, code, fragment):
    status, data = Client(fake_server.port).json("/api/search?" + qs)
    assert status == 400
    assert data["error"]["code"] == code and fragment in data["error"]["message"], data


def test_search_api_without_index_is_503(fake_server):
    FakeIndex.present = False
    fake_server.site.pool.reopen()
    status, data = Client(fake_server.port).json("/api/search?q=a")
    assert status == 503 and data["error"]["code"] == "search_unavailable" and "检索索引" in data["error"]["message"]


def test_a_fault_inside_the_index_is_500_not_400(built):
    class BrokenIndex(FakeIndex):
        present = True

        def search(self, query, **kwargs):
            b"\xff".decode("utf-16-le")  # a ValueError that is not the reader's fault

    logs: list[str] = []
    srv = servermod.PreviewServer(built, "127.0.0.1", 0, watch=False, log=logs.append, index_factory=BrokenIndex)
    srv.start()
    try:
        status, data = Client(srv.port).json("/api/search?q=a")
    finally:
        srv.stop()
    assert status == 500 and data["error"]["code"] == "search_failed" and "终端" in data["error"]["message"]
    assert any("UnicodeDecodeError" in line for line in logs)


def test_unknown_api_is_json_404(fake_server):
    status, data = Client(fake_server.port).json("/api/nothing")
    assert status == 404 and data["error"]["code"] == "no_such_api"


# -- search API on the real index ----------------------------------------------------------------


@needs_index
@pytest.mark.parametrize(
    "params",
    [
        {"q": "如履薄冰"},
        {"q": "从严治党"},
        {"q": "党建 OR 廉政"},
        {"q": "同志们 -安全生产"},
        {"q": "讲话", "year": "2019-2020"},
        {"q": "讲话", "meeting_type": "座谈会"},
        {"q": "讲话", "theme": "党的建设", "limit": "1"},
        {"q": "讲话", "limit": "1", "offset": "1"},
        {"q": "没有这个词语"},
    ],
)
def test_search_api_equals_search_index(client, built, params):
    from urllib.parse import urlencode

    status, data = client.json("/api/search?" + urlencode(params))
    assert status == 200
    index = SearchIndex(built.state_dir / "whoosh")
    try:
        kwargs = {k: v for k, v in params.items() if k != "q"}
        for key in ("limit", "offset"):
            if key in kwargs:
                kwargs[key] = int(kwargs[key])
        kwargs.setdefault("limit", 10)
        expected = index.search(params["q"], **kwargs)
    finally:
        index.close()
    assert data == json.loads(json.dumps(expected, ensure_ascii=False))


@needs_index
def test_search_api_errors_on_the_real_index(client):
    for qs in ("q=%22unclosed", "q=-only", "q=a&year=abc", "q=a&year=2020-2018", "q=" + quote("字" * 501)):
        status, data = client.json("/api/search?" + qs)
        assert status == 400 and data["error"]["code"] and data["error"]["message"], qs
    assert len(client.json("/api/search?q=" + quote("讲话") + "&limit=1000")[1]["hits"]) <= servermod.MAX_LIMIT


# -- live reload endpoint ----------------------------------------------------------------------


def read_event(resp) -> dict:
    data = None
    while True:
        line = resp.fp.readline().decode("utf-8").rstrip("\n")
        if line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and data is not None:
            return data


@pytest.fixture
def fresh(tmp_path):
    config = make_site(tmp_path)
    logs: list[str] = []
    srv = servermod.PreviewServer(config, "127.0.0.1", 0, watch=True, log=logs.append, debounce_ms=100).start()
    srv.logs = logs
    yield srv
    srv.stop()


def strip_reload(body: bytes) -> bytes:
    return re.sub(rb'<script src="/__livereload\.js\?g=[^"]*" defer></script>\n', b"", body)


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def edit_speech(config, rel: str, extra: str) -> None:
    title, date, meeting_type, themes, body = SPEECHES[rel]
    (config.content / rel).write_text(
        speech_text(title, date, meeting_type, themes, body + "\n" + extra + "\n"), encoding="utf-8"
    )


def test_event_stream_announces_rebuilds(fresh):
    conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=30)
    conn.request("GET", "/__livereload")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
    first = read_event(resp)
    assert first["generation"] == fresh.site.state.generation and first["error"] is None
    edit_speech(fresh.site.config, "2019/在全市廉政建设座谈会上的讲话.md", "新增一段关于作风建设的论述。")
    second = read_event(resp)
    assert second["generation"] != first["generation"]
    conn.close()


@needs_index
def test_search_answers_follow_rebuilds(fresh):
    c = Client(fresh.port)
    path = "/api/search?q=" + quote("独一无二的新提法")
    assert c.json(path)[1]["total"] == 0
    assert c.json(path)[1]["total"] == 0  # now from the answer cache
    builds = fresh.site.builds
    edit_speech(fresh.site.config, "2019/在全市廉政建设座谈会上的讲话.md", "这是一个独一无二的新提法。")
    assert fresh.site.wait_builds(builds + 1, 60)
    status, data = c.json(path)
    assert status == 200 and data["total"] == 1
    assert data["hits"][0]["title"] == "在全市廉政建设座谈会上的讲话"


def test_answer_cache_computes_identical_requests_once(built):
    calls = []
    gate = threading.Event()

    class SlowIndex(FakeIndex):
        present = True

        def search(self, query, **kwargs):
            calls.append(query)
            gate.wait(10)
            return super().search(query, **kwargs)

    pool = servermod.SearchPool(built.state_dir / "whoosh", size=4, factory=SlowIndex)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(pool.answer("如履薄冰", limit=10))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    gate.set()
    for t in threads:
        t.join(10)
    assert calls == ["如履薄冰"] and len(set(answers)) == 1 and len(answers) == 8
    with pytest.raises(QueryError):
        pool.answer('"unclosed')
    with pytest.raises(QueryError):  # errors are not cached as answers
        pool.answer('"unclosed')
    pool.reopen()
    pool.answer("如履薄冰", limit=10)
    assert calls.count("如履薄冰") == 2  # a rebuild empties the cache
    pool.close()


# -- rebuilds ----------------------------------------------------------------------------------


def test_rebuild_under_load_serves_only_complete_pages(fresh):
    rel = "2020/在2020年度党建工作会议上的讲话.md"
    paths = [speech_url(rel), "/", "/stats/", "/search/", "/years/2020/", "/feed.xml"]
    stop = threading.Event()
    errors: list = []
    counts = {"html": 0, "new": 0}
    lock = threading.Lock()

    def hammer(n: int):
        conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=30)
        i = n
        while not stop.is_set():
            path = paths[i % len(paths)]
            i += 1
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
            except Exception as err:
                errors.append((path, repr(err)))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=30)
                continue
            if resp.status != 200:
                errors.append((path, resp.status))
            elif path.endswith((".html", "/")):
                text = body.decode("utf-8")
                if not (text.lstrip().lower().startswith("<!doctype html>") and text.rstrip().endswith("</html>")):
                    errors.append((path, "incomplete", text[:80], text[-80:]))
                with lock:
                    counts["html"] += 1
                    counts["new"] += "第二次修改后的新段落" in text
            elif int(resp.getheader("Content-Length")) != len(body):
                errors.append((path, "length"))
        conn.close()

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        before = fresh.site.builds
        edit_speech(fresh.site.config, rel, "第一次修改。")
        fresh.site.wait_builds(before + 1, 60)
        edit_speech(fresh.site.config, rel, "第二次修改后的新段落。")
        wait_for(lambda: counts["new"] > 20, 60, "the new text to be served")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    from collections import Counter

    assert not errors, Counter((e[0], e[1]) for e in errors).most_common(10)
    assert counts["html"] > 100


def test_serving_goes_on_after_a_failing_rebuild(fresh):
    c = Client(fresh.port)
    config = fresh.site.config
    rel = "2019/在全市廉政建设座谈会上的讲话.md"
    url = speech_url(rel)
    old_page = strip_reload(c.get(url)[2])
    generation = fresh.site.state.generation

    # 1. A broken speech: the build completes, reports it, keeps that speech's old page.
    builds = fresh.site.builds
    (config.content / rel).write_text("---\ntitle: [unclosed\ndate: 不是日期\n---\n正文\n", encoding="utf-8")
    assert fresh.site.wait_builds(builds + 1, 60)
    assert fresh.site.state.error and "error" in fresh.site.state.error
    status, _, body = c.get(url)
    assert status == 200 and strip_reload(body) == old_page
    assert c.get("/")[0] == 200

    # 2. A broken template: the rebuild fails as a whole; the previous site stays up.
    builds = fresh.site.builds
    (config.root / "templates").mkdir(exist_ok=True)
    (config.root / "templates" / "base.html").write_text("{% block content %}{% endfor %}", encoding="utf-8")
    # the watcher may not watch templates/ yet (it did not exist); rebuild as it would
    fresh.site.rebuild("templates/base.html changed")
    assert fresh.site.builds >= builds + 1
    assert fresh.site.state.error and "rebuild failed" in fresh.site.state.error
    assert any("still serving the previous version" in line for line in fresh.logs)
    for path in ("/", url, "/years/", "/no-such-page"):
        status, _, body = c.get(path)
        assert status in (200, 404) and body.rstrip().endswith(b"</html>"), path

    # 3. Fixed: the next rebuild succeeds, the error is cleared, pages reload.
    (config.root / "templates" / "base.html").unlink()
    edit_speech(config, rel, "修复之后的内容。")
    fresh.site.rebuild("fixed")
    assert fresh.site.state.error is None
    assert fresh.site.state.generation != generation
    assert "修复之后的内容" in c.get(url)[2].decode("utf-8")


# -- live reload in a real browser ---------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")
def test_live_reload_in_a_browser(fresh):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    rel = "2018/在安全生产动员大会上的讲话.md"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            def strict_csp(route):  # the site's policy: only its own scripts, no inline ones
                response = route.fetch()
                route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

            page.route("**/*.html", strict_csp)
            page.goto(f"http://127.0.0.1:{fresh.port}{speech_url(rel)}")
            assert "安全生产" in page.content()
            wait_for(lambda: fresh.site.state.listeners >= 1, 15, "the page to subscribe to live reload")
            page.evaluate("window.__notReloadedYet = true")

            # 1. A saved change: the page reloads by itself and shows it.
            edit_speech(fresh.site.config, rel, "浏览器应当自动显示这一段新内容。")
            page.wait_for_function(
                "() => document.body.innerText.includes('浏览器应当自动显示这一段新内容')", timeout=30000
            )
            assert page.evaluate("window.__notReloadedYet === undefined")  # a real reload

            # 2. A broken speech: the open page shows what is wrong (and keeps its text).
            wait_for(lambda: fresh.site.state.listeners >= 1, 15, "the reloaded page to subscribe again")
            (fresh.site.config.content / "2021" / "坏的讲话.md").parent.mkdir(exist_ok=True)
            (fresh.site.config.content / "2021" / "坏的讲话.md").write_text(
                "---\ntitle: 坏的讲话\ndate: 不是日期\nmeeting_type: 座谈会\nthemes: [安全生产]\n---\n正文\n",
                encoding="utf-8",
            )
            banner = page.locator("#site-builder-livereload-banner")
            banner.wait_for(timeout=30000)
            assert "坏的讲话" in banner.inner_text() and "date" in banner.inner_text()
            assert "浏览器应当自动显示这一段新内容" in page.inner_text("body")
            assert not problems, problems  # no CSP violation, no script error
        finally:
            browser.close()


# -- the application in-process (no sockets) ---------------------------------------------------


@pytest.fixture
def app(built):
    site = servermod.Site(built, log=lambda m: None, index_factory=FakeIndex)
    FakeIndex.present = True
    yield servermod.App(site)
    site.pool.close()


def call(app, target: str, method: str = "GET"):
    response = app.handle(servermod.Request(method, target))
    body = response.body
    if response.stream is not None and not response.flush:
        body += b"".join(response.stream)
        response.stream.close()
    return response, body


def test_app_serves_pages_files_and_redirects(app, built):
    response, body = call(app, speech_url("2019/在全市廉政建设座谈会上的讲话.md"))
    assert response.status == 200 and response.header("Content-Type") == "text/html; charset=utf-8"
    assert "在全市廉政建设座谈会上的讲话" in body.decode() and b"/__livereload.js?g=" in body
    assert response.header("Content-Length") == str(len(body))
    response, body = call(app, "/static/logo.png")
    assert response.status == 200 and body == (built.output / "static" / "logo.png").read_bytes()
    response, _ = call(app, "/years")
    assert response.status == 301 and response.header("Location") == "/years/"
    response, body = call(app, "/no-such-page")
    assert response.status == 404 and b"</html>" in body
    response, _ = call(app, "/../secret.txt")
    assert response.status in (403, 404)
    response, _ = call(app, "/%2e%2e/secret.txt")
    assert response.status == 403
    response, _ = call(app, "ftp://127.0.0.1/")
    assert response.status == 400 and response.close


def test_app_streams_large_files(app, built, monkeypatch):
    from site_builder.serve import app as appmod

    monkeypatch.setattr(appmod, "READ_WHOLE", 10)
    response, body = call(app, "/feed.xml")
    assert response.status == 200 and response.length == len(body) == (built.output / "feed.xml").stat().st_size
    assert response.header("Content-Length") == str(len(body))


def test_app_search_api(app):
    response, body = call(app, "/api/search?q=" + quote("如履薄冰") + "&limit=3")
    assert response.status == 200 and response.header("Content-Type") == "application/json; charset=utf-8"
    data = json.loads(body)
    assert data["query"] == "如履薄冰" and data["args"]["limit"] == 3
    response, body = call(app, "/api/search?q=%22unclosed")
    assert response.status == 400 and json.loads(body)["error"]["code"] == "unclosed_quote"
    response, body = call(app, "/api/other")
    assert response.status == 404 and "error" in json.loads(body)


def test_app_live_reload(app):
    response, body = call(app, "/__livereload.js")
    assert response.status == 200 and b"EventSource" in body
    state = app.site.state
    response, body = call(app, "/__livereload?format=json&g=old")  # the page saw another generation
    assert json.loads(body)["generation"] == state.generation
    response = app.handle(servermod.Request("GET", "/__livereload"))
    assert response.header("Content-Type") == "text/event-stream; charset=utf-8" and response.close
    first = next(response.stream)
    assert json.loads(first.split(b"data: ", 1)[1]) == {"generation": state.generation, "error": None}
    assert state.listeners == 1
    state.bump()
    second = next(response.stream)
    assert json.loads(second.split(b"data: ", 1)[1])["generation"] == state.generation
    response.stream.close()
    assert state.listeners == 0


def test_app_rebuild_loop(tmp_path):
    config = make_site(tmp_path)
    logs: list[str] = []
    site = servermod.Site(config, log=logs.append)
    app = servermod.App(site)
    try:
        rel = "2018/在安全生产动员大会上的讲话.md"
        generation = site.state.generation
        edit_speech(config, rel, "进程内应用看到的新段落。")
        assert site.rebuild("edited") is True and site.builds == 1
        assert site.state.generation != generation and site.state.error is None
        assert "进程内应用看到的新段落" in call(app, speech_url(rel))[1].decode()
        assert any(line.startswith("Built 3 speeches") for line in logs)
        generation = site.state.generation
        assert site.rebuild("nothing changed") is True
        assert site.state.generation == generation  # nothing written: open pages stay
    finally:
        site.builder.close()
        site.pool.close()


def test_the_old_module_name_still_works():
    from site_builder import server
    from site_builder.server import PreviewServer, serve_command

    assert PreviewServer is servermod.PreviewServer and serve_command is servermod.serve_command
    assert server.MAX_LIMIT == servermod.MAX_LIMIT and server.SEARCH_POOL_SIZE == servermod.SEARCH_POOL_SIZE
