"""The preview server as an application: a ``Request`` in, a ``Response`` out, no sockets.

``App.handle`` routes a GET or HEAD (the HTTP layer in ``http_server.py`` has already refused anything
else, checked the Host and bounded the request) to:

* ``/api/search?q=…``   the search API (``search.py``), JSON;
* ``/__livereload.js``, ``/__livereload``   the live-reload script and its event stream (``livereload.py``);
* anything else         a file under the output folder (``files.py``), or the site's 404 page.

Tests call it in-process; ``http_server.py`` writes its responses to the socket.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from ..search.query import FilterError, QueryError
from . import livereload
from .errors import BadRequest, Forbidden
from .files import FileChunks, contained, open_version, resolve
from .limits import LIVERELOAD_JS_PATH, LIVERELOAD_PATH, READ_WHOLE, TEXT, content_type
from .search import SearchUnavailable, parse_search_params, year_rule  # noqa: F401 - year_rule: interface

logger = logging.getLogger(__name__)

FALLBACK_404 = (
    '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title></head>'
    "<body><h1>页面不存在</h1><p>您要找的页面不存在。</p></body></html>\n"
)


@dataclass
class Request:
    method: str = "GET"  # GET or HEAD (a HEAD gets the same response; the HTTP layer sends no body)
    target: str = "/"  # as in the request line: a path (percent-encoded) and a query, or an absolute URL


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)  # in order; Server, Date, Connection added
    body: bytes = b""
    stream: Iterator[bytes] | None = None  # sent after ``body`` (closed when done or abandoned)
    length: int | None = None  # the stream's Content-Length, to tell a stream that came up short
    flush: bool = False  # send each chunk of the stream at once (an event stream)
    close: bool = False  # close the connection after this response

    def header(self, name: str) -> str | None:
        for key, value in reversed(self.headers):
            if key.lower() == name.lower():
                return value
        return None


def buffered(status: int, body: bytes, ctype: str, headers: dict | None = None) -> Response:
    return Response(
        int(status),
        [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            *(headers or {}).items(),
        ],
        body,
    )


def plain(status: int, message: str, headers: dict | None = None) -> Response:
    status = HTTPStatus(status)
    return buffered(status, f"{status.value} {status.phrase}: {message}\n".encode(), "text/plain" + TEXT, headers)


def json_response(status: int, data: dict | bytes) -> Response:
    import json

    body = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode("utf-8")
    return buffered(status, body, "application/json" + TEXT, {"Cache-Control": "no-store"})


def json_error(status: int, code: str, message: str, **extra) -> Response:
    """The API's errors: ``{"error": {"code": <stable name>, "message": <Chinese>, …}}``."""
    return json_response(status, {"error": {"code": code, "message": message, **extra}})


class App:
    """Answers requests for one ``Site`` (its output folder, search pool, build state)."""

    def __init__(self, site):
        self.site = site

    def handle(self, request: Request) -> Response:
        target = request.target
        if not target.startswith("/"):
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.path.startswith("/"):
                response = plain(HTTPStatus.BAD_REQUEST, "the request target must be a path")
                response.close = True
                return response
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        if path == "/api/search":
            return self.search(query)
        if path.startswith("/api/"):
            return json_error(404, "no_such_api", f"没有这个接口：{path}；检索请用 /api/search?q=…")
        if path == LIVERELOAD_JS_PATH and self.site.livereload:
            return buffered(200, livereload.LIVERELOAD_JS.encode(), "text/javascript" + TEXT)
        if path == LIVERELOAD_PATH and self.site.livereload:
            return self.live_reload(query)
        return self.static(path)

    __call__ = handle

    # -- the search API --

    def search(self, query: str) -> Response:
        try:
            q, kwargs = parse_search_params(query)
            body = self.site.pool.answer(q, **kwargs)
        except BadRequest as err:
            return json_error(err.status, err.code, str(err))
        except QueryError as err:
            return json_error(400, err.code, str(err), column=err.column)
        except FilterError as err:
            return json_error(400, err.code, err.message)
        except SearchUnavailable as err:
            return json_error(503, "search_unavailable", str(err))
        except Exception as err:  # answer, log, keep serving (BLE001: any fault of one search)
            return self._search_failed(err)
        return json_response(200, body)

    def _search_failed(self, err: Exception) -> Response:
        self.site.log(f"search failed: {type(err).__name__}: {err}")
        logger.debug("search failed", exc_info=err)  # the traceback, with -v / SITE_BUILDER_DEBUG=1
        return json_error(500, "search_failed", "服务器检索出错，详情见运行 site-builder serve 的终端")

    # -- live reload --

    def live_reload(self, query: str) -> Response:
        state = self.site.state
        seen = livereload.wants_polling(query)
        if seen is not None:  # polling fallback: answer when the state changes
            return json_response(200, livereload.poll(state, seen["generation"]))
        return Response(
            200,
            [("Content-Type", "text/event-stream" + TEXT), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")],
            stream=livereload.events(state),
            flush=True,
            close=True,
        )

    def inject(self, body: bytes) -> bytes:
        if not self.site.livereload:
            return body
        return livereload.inject(body, self.site.state.snapshot()["generation"])

    # -- files --

    def static(self, path: str) -> Response:
        try:
            kind, value = resolve(self.site.root, path)
        except Forbidden as err:
            return plain(HTTPStatus.FORBIDDEN, str(err))
        except BadRequest as err:
            return plain(HTTPStatus.BAD_REQUEST, str(err))
        if kind == "redirect":
            return buffered(301, b"", "text/plain" + TEXT, {"Location": value})
        if kind == "file":
            response = self.file(200, value)
            if response is not None:
                return response
        return self.not_found()

    def not_found(self) -> Response:
        try:
            response = self.file(404, contained(self.site.root, self.site.root / "404.html"))
            if response is not None:
                return response
        except (OSError, Forbidden):
            pass
        return buffered(404, self.inject(FALLBACK_404.encode()), "text/html" + TEXT)

    def file(self, status: int, path) -> Response | None:
        """One version of a file (see ``files.py``); None when it is not there (any more)."""
        opened = open_version(path)
        if opened is None:
            return None
        fh, size = opened
        ctype = content_type(path.name)
        if size <= READ_WHOLE:
            with fh:
                body = fh.read()
            if ctype.startswith("text/html"):
                body = self.inject(body)
            return buffered(status, body, ctype)
        return Response(
            status,
            [
                ("Content-Type", ctype),
                ("Content-Length", str(size)),
                ("Cache-Control", "no-cache"),
                ("X-Content-Type-Options", "nosniff"),
            ],
            stream=FileChunks(fh, size),
            length=size,
        )
