"""`site-builder serve`: build, serve output/, answer /api/search, rebuild on change, live reload.

Pieces, top to bottom:

* ``BuildState``    the build generation (changes after every rebuild that wrote something) and the
                    last failure; live-reload clients wait on it.
* ``SearchPool``    a few open ``SearchIndex`` objects shared by all request threads; reopened
                    after a rebuild (old ones are closed once no request uses them).
* ``Site``          what a request needs: safe path resolution under output/, file reads, the
                    search API, the rebuild (one at a time).
* ``Handler``       the HTTP side: bounded request line and headers, GET/HEAD only, no bodies.
* ``Watcher``       a background thread: watchfiles on content/, themes, templates/ and a poll of
                    pyproject.toml; debounced; rebuilds through ``Site.rebuild``.
* ``PreviewServer`` ties them together (used by ``serve_command`` and by the tests).

Readers never see a half-written file: the writer replaces files with ``os.replace`` and this
server opens a file once, takes its size from that open file (``fstat``) and reads that inode to the
end, so a request gets either the old or the new version of each file.

Live reload: HTML responses (never the files on disk) get
``<script src="/__livereload.js?g=GENERATION" defer>`` before ``</body>``. The script (a separate
file, so a Content-Security-Policy of ``script-src 'self'`` allows it) opens an EventSource on
``/__livereload``; the server sends the current generation at once and after every rebuild; the page
reloads when it differs from the one it was served with, and shows a banner when a rebuild failed.
"""
from __future__ import annotations

import errno
import ipaddress
import json
import os
import re
import socket
import stat
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import replace
from http import HTTPStatus
from http.client import LineTooLong
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

import click

from .config import SiteConfig, load_config
from .errors import SiteBuilderError
from .query import MAX_QUERY_CHARS, QueryError

# -- limits ------------------------------------------------------------------------------------

MAX_REQUEST_LINE = 8 * 1024  # bytes; longer → 414
MAX_HEADER_BYTES = 16 * 1024  # all header lines together; more → 431
MAX_CONNECTIONS = 1024  # open connections at once; more → 503 and close
READ_TIMEOUT = 30.0  # seconds a connection may stay silent
MAX_LIMIT = 100  # hits per /api/search answer (larger limits are capped)
MAX_OFFSET = 10_000
MAX_PARAMS = 32
READ_WHOLE = 16 * 1024 * 1024  # files up to this size are read into memory, larger ones streamed
HEARTBEAT_SECONDS = 15.0
DEBOUNCE_MS = 300  # wait this long after the last change before rebuilding (watchfiles 'step')
SEARCH_POOL_SIZE = 2  # open SearchIndex objects (each serialises its own searches)
CACHE_ENTRIES = 2048  # cached /api/search answers (0: no cache) …
CACHE_BYTES = 64 * 1024 * 1024  # … and their total size
STAMP_SECONDS = 0.2  # how often the index folder is looked at for a generation made elsewhere

LIVERELOAD_PATH = "/__livereload"
LIVERELOAD_JS_PATH = "/__livereload.js"

TEXT = "; charset=utf-8"
CONTENT_TYPES = {
    ".html": "text/html" + TEXT,
    ".htm": "text/html" + TEXT,
    ".css": "text/css" + TEXT,
    ".js": "text/javascript" + TEXT,
    ".mjs": "text/javascript" + TEXT,
    ".json": "application/json" + TEXT,
    ".map": "application/json" + TEXT,
    ".webmanifest": "application/manifest+json" + TEXT,
    ".xml": "application/xml" + TEXT,
    ".xsl": "application/xml" + TEXT,
    ".txt": "text/plain" + TEXT,
    ".md": "text/markdown" + TEXT,
    ".csv": "text/csv" + TEXT,
    ".svg": "image/svg+xml" + TEXT,
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".gz": "application/gzip",
    ".zip": "application/zip",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
DEFAULT_TYPE = "application/octet-stream"

LIVERELOAD_JS = r"""// Live reload for `site-builder serve` (never part of the built site).
(function () {
  "use strict";
  var me = document.currentScript;
  var served = me ? new URL(me.src, location.href).searchParams.get("g") : null;
  var banner = null;

  function show(message) {
    if (!banner) {
      banner = document.createElement("div");
      banner.setAttribute("role", "alert");
      banner.id = "site-builder-livereload-banner";
      var s = banner.style;
      s.position = "fixed"; s.left = "0"; s.right = "0"; s.bottom = "0"; s.zIndex = "2147483647";
      s.padding = "0.6em 1em"; s.background = "#8b0000"; s.color = "#fff";
      s.font = "14px/1.5 monospace"; s.whiteSpace = "pre-wrap"; s.maxHeight = "40vh"; s.overflow = "auto";
      document.body.appendChild(banner);
    }
    banner.textContent = message;
  }

  function hide() {
    if (banner) { banner.remove(); banner = null; }
  }

  function update(state) {
    if (served === null) { served = state.generation; }
    if (state.generation !== served) { location.reload(); return true; }
    if (state.error) { show("site-builder: " + state.error); } else { hide(); }
    return false;
  }

  function poll() {
    fetch("/__livereload?format=json&g=" + encodeURIComponent(served || ""), {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (state) { if (!update(state)) { setTimeout(poll, 500); } })
      .catch(function () { setTimeout(poll, 2000); });
  }

  if (!window.EventSource) { poll(); return; }
  var source = new EventSource("/__livereload?g=" + encodeURIComponent(served || ""));
  source.addEventListener("build", function (event) {
    if (update(JSON.parse(event.data))) { source.close(); }
  });
})();
"""

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")

FALLBACK_404 = (
    "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>页面不存在</title></head>"
    "<body><h1>页面不存在</h1><p>您要找的页面不存在。</p></body></html>\n"
)


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), DEFAULT_TYPE)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- build state and live reload ---------------------------------------------------------------


class BuildState:
    """The generation readers were served, the last failure, and a condition to wait on."""

    def __init__(self):
        self._cond = threading.Condition()
        self._epoch = f"{int(time.time() * 1000):x}"  # a restarted server reloads open pages too
        self._counter = 0
        self.error: str | None = None
        self.stopping = False
        self.listeners = 0

    @property
    def generation(self) -> str:
        return f"{self._epoch}-{self._counter}"

    def snapshot(self) -> dict:
        with self._cond:
            return {"generation": self.generation, "error": self.error}

    def bump(self, error: str | None = None) -> None:
        with self._cond:
            self._counter += 1
            self.error = error
            self._cond.notify_all()

    def set_error(self, error: str | None) -> None:
        with self._cond:
            if error != self.error:
                self.error = error
                self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopping = True
            self._cond.notify_all()

    def wait_change(self, seen: dict, timeout: float) -> dict:
        """Block until the state differs from ``seen`` (or timeout, or the server stops)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self.stopping or {"generation": self.generation, "error": self.error} != seen, timeout
            )
            return {"generation": self.generation, "error": self.error}


# -- search ------------------------------------------------------------------------------------


class SearchUnavailable(Exception):
    """No index to search (never built, or the search module is not installed)."""


def _default_index_factory(index_dir: Path):
    try:
        from .search_index import SearchIndex
    except ImportError:
        raise SearchUnavailable("full-text search is not installed in this copy of site-builder") from None
    return SearchIndex(index_dir)


class SearchPool:
    """Up to ``size`` open SearchIndex objects, each used by one request at a time, and a cache of
    answers (encoded JSON) keyed by the request and the index's state on disk.

    ``reopen()`` (after a rebuild) empties the cache and makes new requests use freshly opened
    indexes; an index in use by a request is closed when that request gives it back. Identical
    requests arriving together are computed once (the others wait for that answer)."""

    def __init__(self, index_dir: Path, size: int = SEARCH_POOL_SIZE, factory=None,
                 cache_entries: int = CACHE_ENTRIES, cache_bytes: int = CACHE_BYTES):
        self.index_dir = index_dir
        self.factory = factory or _default_index_factory
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._free: list = []
        self._epoch = 0
        self._closed = False
        self.cache_entries, self.cache_bytes = cache_entries, cache_bytes
        self._cache: OrderedDict = OrderedDict()  # key → _Answer
        self._cached_bytes = 0
        self._stamp_value: tuple = ()
        self._stamp_at = -1e9
        self.stats = {"hits": 0, "misses": 0}

    def _open(self):
        index = self.factory(self.index_dir)
        try:
            present = index.exists()
        except Exception:
            present = False
        if not present:
            index.close()
            raise SearchUnavailable(
                "there is no usable search index: the build has not finished, it failed (see the "
                "terminal running 'site-builder serve'), or the index is from another version of "
                "site-builder (save a file or restart serve to rebuild)"
            )
        return index

    def _stamp(self) -> tuple:
        """The index generation(s) on disk (Whoosh commits a generation by renaming its TOC file
        into place), looked at most every STAMP_SECONDS: a build run outside this server shows
        in answers that much later at most; rebuilds by this server empty the cache at once."""
        now = time.monotonic()
        if now - self._stamp_at > STAMP_SECONDS:
            try:
                stamp = tuple(sorted(n for n in os.listdir(self.index_dir) if n.endswith(".toc")))
            except OSError:
                stamp = ()
            self._stamp_value, self._stamp_at = stamp, now
        return self._stamp_value

    def answer(self, query: str, **kwargs) -> bytes:
        """The search result as UTF-8 JSON bytes (cached)."""
        if not self.cache_entries:
            return _encode(self.search(query, **kwargs))
        key = (self._epoch, self._stamp(), query, tuple(sorted(kwargs.items())))
        with self._lock:
            entry = self._cache.get(key)
            owner = entry is None
            if owner:
                entry = self._cache[key] = _Answer()
                self.stats["misses"] += 1
            else:
                self._cache.move_to_end(key)
                self.stats["hits"] += 1
        if not owner:
            if not entry.done.wait(60):
                raise SearchUnavailable("the server is too busy to search right now; try again")
            if entry.error is not None:
                raise entry.error
            return entry.value
        try:
            entry.value = _encode(self.search(query, **kwargs))
        except BaseException as err:
            entry.error = err
            with self._lock:
                if self._cache.get(key) is entry:
                    del self._cache[key]
            raise
        finally:
            entry.done.set()
        with self._lock:
            if self._cache.get(key) is entry:
                self._cached_bytes += len(entry.value)
                while self._cache and (len(self._cache) > self.cache_entries or self._cached_bytes > self.cache_bytes):
                    _, old = self._cache.popitem(last=False)
                    self._cached_bytes -= len(old.value or b"")
        return entry.value

    def search(self, query: str, **kwargs) -> dict:
        if not self._slots.acquire(timeout=60):
            raise SearchUnavailable("the server is too busy to search right now; try again")
        try:
            with self._lock:
                epoch = self._epoch
                index = self._free.pop() if self._free else None
            if index is None:
                index = self._open()
            ok = False
            try:
                result = index.search(query, **kwargs)
                ok = True
                return result
            except FileNotFoundError as err:  # the index went away under us
                raise SearchUnavailable(f"the search index is not there any more: {err}") from None
            finally:
                with self._lock:
                    if ok and epoch == self._epoch and not self._closed:
                        self._free.append(index)
                        index = None
                if index is not None:  # stale (a rebuild happened) or broken: close it
                    _quiet_close(index)
        finally:
            self._slots.release()

    def reopen(self) -> None:
        with self._lock:
            self._epoch += 1
            old, self._free = self._free, []
            self._cache.clear()
            self._cached_bytes = 0
        for index in old:
            _quiet_close(index)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.reopen()


class _Answer:
    __slots__ = ("done", "value", "error")

    def __init__(self):
        self.done = threading.Event()
        self.value: bytes | None = None
        self.error: BaseException | None = None


def _encode(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _quiet_close(index) -> None:
    try:
        index.close()
    except Exception:
        pass


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_search_params(query_string: str) -> tuple[str, dict]:
    """``q``, ``year``, ``meeting_type``, ``theme``, ``limit``, ``offset`` → (q, keyword args)."""
    try:
        params = parse_qs(query_string, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_PARAMS)
    except ValueError as err:  # includes UnicodeDecodeError and too many fields
        raise BadRequest(f"cannot read the query string: {err}") from None
    for name, values in params.items():
        if name in {"q", "year", "meeting_type", "theme", "limit", "offset"} and len(values) > 1:
            raise BadRequest(f"parameter {name!r} given {len(values)} times; give it once")
    one = {name: values[0] for name, values in params.items()}
    q = one.get("q")
    if q is None:
        raise BadRequest("missing parameter q, e.g. /api/search?q=如履薄冰")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"the query is too long ({len(q)} characters; at most {MAX_QUERY_CHARS})")
    kwargs: dict = {}
    for name in ("year", "meeting_type", "theme"):
        value = (one.get(name) or "").strip()
        if len(value) > 100:
            raise BadRequest(f"{name} is too long (at most 100 characters)")
        kwargs[name] = value or None
    rule = _year_rule()
    if rule is not None and kwargs["year"] is not None:
        try:
            rule(kwargs["year"])
        except ValueError as err:
            raise BadRequest(str(err).replace("--year", "year")) from None
    kwargs["limit"] = min(_int_param(one, "limit", 10, 1), MAX_LIMIT)
    kwargs["offset"] = _int_param(one, "offset", 0, 0)
    if kwargs["offset"] > MAX_OFFSET:
        raise BadRequest(f"offset must be at most {MAX_OFFSET}")
    return q, kwargs


def _year_rule():
    """The index's own reading of ``year`` (2020, 2018-2020), applied before searching so that a
    ValueError from the search itself means a fault on the server (500), not a bad request."""
    try:
        from .search_index import _parse_year
    except ImportError:
        return None
    return _parse_year


def _int_param(params: dict, name: str, default: int, minimum: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"{name} must be a whole number, got {raw[:20]!r}")
    value = int(raw)
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}")
    return value


# -- the site: paths, files, rebuilds ----------------------------------------------------------


class Forbidden(Exception):
    pass


class Site:
    def __init__(self, config: SiteConfig, overrides: dict | None = None, log=None, livereload: bool = True,
                 index_factory=None, pool_size: int = SEARCH_POOL_SIZE, cache_entries: int = CACHE_ENTRIES):
        self.config = config
        self.overrides = dict(overrides or {})
        self.root = config.output  # resolved
        self.log = log or (lambda message: click.echo(message, err=True))
        self.livereload = livereload
        self.state = BuildState()
        self.pool = SearchPool(config.state_dir / "whoosh", size=pool_size, factory=index_factory,
                               cache_entries=cache_entries)
        self._build_lock = threading.Lock()
        self.builds = 0  # completed rebuild attempts (tests wait on this)
        self._build_done = threading.Condition()

    # -- paths --

    def resolve(self, raw_path: str) -> tuple[str, object]:
        """Map a request path to ("file", Path) | ("redirect", location) | ("missing", None).

        Raises Forbidden for traversal attempts and BadRequest for undecodable paths."""
        try:
            decoded = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the path is not valid UTF-8 once decoded") from None
        if "\x00" in decoded or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in decoded):
            raise BadRequest("control characters in the path")
        if "\\" in decoded:
            raise Forbidden("backslash in the path")
        if _PERCENT_ESCAPE.search(decoded):
            raise Forbidden("the path is percent-encoded twice")
        segments = [s for s in decoded.split("/") if s]
        if any(s in (".", "..") for s in segments):
            raise Forbidden("'.' or '..' in the path")
        if any(s.startswith(".") for s in segments):
            return "missing", None  # hidden files (the writer's temporary files among them)
        try:
            resolved = self._contained(self.root.joinpath(*segments))
            if resolved.is_dir():
                if not decoded.endswith("/"):
                    return "redirect", "/" + "".join(quote(s, safe="") + "/" for s in segments)
                resolved = self._contained(resolved / "index.html")
            elif decoded.endswith("/"):
                return "missing", None  # a file asked for as a folder
            if resolved.is_file():
                return "file", resolved
        except OSError:  # a name too long for the file system, a permission problem …
            pass
        return "missing", None

    def _contained(self, path: Path) -> Path:
        try:
            resolved = path.resolve()
        except RuntimeError:  # a symlink loop
            raise Forbidden("the path is a symlink loop") from None
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise Forbidden("the path leads outside the output folder")
        return resolved

    # -- rebuilds --

    def rebuild(self, reason: str = "") -> bool:
        """Build once (callers queue on a lock: one build at a time). True if it completed."""
        with self._build_lock:
            try:
                return self._rebuild(reason)
            finally:
                with self._build_done:
                    self.builds += 1
                    self._build_done.notify_all()

    def wait_builds(self, count: int, timeout: float) -> bool:
        with self._build_done:
            return self._build_done.wait_for(lambda: self.builds >= count, timeout)

    def _rebuild(self, reason: str) -> bool:
        from .build import build as run_build
        from .report import print_problems

        if reason:
            self.log(f"{reason}; rebuilding …")
        try:
            config, warnings = self._current_config()
            result = run_build(config, notify=self.log)
        except SiteBuilderError as err:
            self._failed(f"rebuild failed: {err}")
            return False
        except Exception as err:  # a template error, a bug: report it, keep serving the old site
            self._failed(f"rebuild failed: {type(err).__name__}: {err}", traceback.format_exc())
            return False
        print_problems(warnings + result.problems, stream=_LogStream(self.log))
        self.log(result.summary())
        error = None
        if result.errors:
            first = next(p for p in result.problems if p.is_error)
            error = (f"{result.errors} error(s) in the content; the pages of those speeches were left as "
                     f"they were.\n{first.format()}")
        if result.nothing_changed:
            self.state.set_error(error)
        else:
            self.pool.reopen()
            self.state.bump(error)
        return True

    def _failed(self, message: str, details: str | None = None) -> None:
        self.log(message + ("\n" + details if details else "") + "\nstill serving the previous version of the site")
        self.state.set_error(message)

    def _current_config(self):
        config, warnings = load_config(self.config.root, self.overrides)
        if config.output != self.config.output or config.content != self.config.content:
            self.log("note: content or output folder changed in pyproject.toml; restart 'site-builder serve' "
                     "to use it (still building the old folders)")
            config = replace(config, content_dir=self.config.content, output_dir=self.config.output)
        self.config = config
        return config, warnings

    def watch_paths(self) -> list[Path]:
        """Existing folders to watch (content, themes, template overrides), outermost only."""
        c = self.config
        candidates = [c.content, (c.root / "themes").resolve(), *c.theme_dirs()]
        found: list[Path] = []
        for p in candidates:
            if p.is_dir() and not any(p == q or p.is_relative_to(q) for q in found):
                found = [q for q in found if not q.is_relative_to(p)] + [p]
        return found


class _LogStream:
    def __init__(self, log):
        self.log = log

    def write(self, text: str) -> None:
        text = text.rstrip("\n")
        if text:
            self.log(text)

    def flush(self) -> None:
        pass


# -- HTTP --------------------------------------------------------------------------------------


class _HeadTooLarge(LineTooLong):
    pass


class _BoundedReader:
    """Wraps rfile while headers are read: more than ``budget`` bytes in all → _HeadTooLarge."""

    def __init__(self, raw, budget: int):
        self.raw, self.budget = raw, budget

    def readline(self, size: int = -1) -> bytes:
        want = self.budget + 1 if size is None or size < 0 else min(size, self.budget + 1)
        line = self.raw.readline(want)
        self.budget -= len(line)
        if self.budget < 0:
            raise _HeadTooLarge("header")
        return line

    def __getattr__(self, name):
        return getattr(self.raw, name)


class Handler(BaseHTTPRequestHandler):
    server_version = "site-builder"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # error answers to garbage still get a status line
    timeout = READ_TIMEOUT
    disable_nagle_algorithm = True  # small answers go out at once (no 40 ms delayed-ACK stalls)
    site: Site  # set on the subclass made per server

    # -- request parsing with bounds --

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > MAX_REQUEST_LINE:
                self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""
                self.close_connection = True
                self._plain_error(HTTPStatus.REQUEST_URI_TOO_LONG,
                                  f"the request line is longer than {MAX_REQUEST_LINE} bytes")
                self._drain()
                return
            raw_rfile = self.rfile
            self.rfile = _BoundedReader(raw_rfile, MAX_HEADER_BYTES)
            try:
                if not self.parse_request():  # sends 400/431/505 itself
                    return
            finally:
                self.rfile = raw_rfile
            if self.command not in ("GET", "HEAD"):
                self.close_connection = True
                self._plain_error(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD are supported",
                                  {"Allow": "GET, HEAD"})
                self._drain()
                return
            if self.headers.get("Transfer-Encoding") or (self.headers.get("Content-Length") or "0").strip() != "0":
                self.close_connection = True
                self._plain_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "requests with a body are not accepted")
                self._drain()
                return
            self.do_GET()
            self.wfile.flush()
        except (TimeoutError, socket.timeout):
            self.close_connection = True
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def _drain(self, limit: int = 1 << 20, seconds: float = 1.0) -> None:
        """After an error answer to a request we did not read in full: let the client read the
        answer before the connection closes (closing with unread input resets it)."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline = time.monotonic() + seconds
            while limit > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(65536)
                if not chunk:
                    break
                limit -= len(chunk)
        except (OSError, ValueError):
            pass

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass  # quiet by default: a preview server's terminal is for build messages

    def log_error(self, format, *args):  # noqa: A002
        pass

    # -- responses --

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: one segment for small answers.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _plain_error(self, status: int, message: str, headers: dict | None = None) -> None:
        status = HTTPStatus(status)
        body = f"{status.value} {status.phrase}: {message}\n".encode()
        self._send(status, body, "text/plain" + TEXT, headers)

    def _json(self, status: int, data: dict) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json" + TEXT, {"Cache-Control": "no-store"})

    # -- routing --

    def do_GET(self):  # noqa: N802 - the stdlib's naming
        target = self.path
        if not target.startswith("/"):
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.path.startswith("/"):
                self.close_connection = True
                return self._plain_error(HTTPStatus.BAD_REQUEST, "the request target must be a path")
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        if path == "/api/search":
            return self._search(query)
        if path.startswith("/api/"):
            return self._json(404, {"error": f"no such API: {path}; try /api/search?q=…"})
        if path == LIVERELOAD_JS_PATH and self.site.livereload:
            return self._send(200, LIVERELOAD_JS.encode(), "text/javascript" + TEXT)
        if path == LIVERELOAD_PATH and self.site.livereload:
            return self._livereload(query)
        self._static(path)

    def _search(self, query: str) -> None:
        try:
            q, kwargs = parse_search_params(query)
            body = self.site.pool.answer(q, **kwargs)
        except BadRequest as err:
            return self._json(err.status, {"error": str(err)})
        except QueryError as err:
            return self._json(400, {"error": str(err)})
        except SearchUnavailable as err:
            return self._json(503, {"error": str(err)})
        except ValueError as err:
            if _year_rule() is None and not isinstance(err, UnicodeError):  # a bad year, as far as we can tell
                return self._json(400, {"error": str(err)})
            self.site.log(f"search failed: {type(err).__name__}: {err}")
            return self._json(500, {"error": "the search failed on the server; see its terminal"})
        except Exception as err:  # noqa: BLE001 - answer, log, keep serving
            self.site.log(f"search failed: {type(err).__name__}: {err}")
            return self._json(500, {"error": "the search failed on the server; see its terminal"})
        self._send(200, body, "application/json" + TEXT, {"Cache-Control": "no-store"})

    def _static(self, path: str) -> None:
        try:
            kind, value = self.site.resolve(path)
        except Forbidden as err:
            return self._plain_error(HTTPStatus.FORBIDDEN, str(err))
        except BadRequest as err:
            return self._plain_error(HTTPStatus.BAD_REQUEST, str(err))
        if kind == "redirect":
            self._send(301, b"", "text/plain" + TEXT, {"Location": value})
            return
        if kind == "file" and self._file(200, value):
            return
        self._not_found()

    def _not_found(self) -> None:
        page = self.site.root / "404.html"
        try:
            if not page.resolve().is_relative_to(self.site.root):
                raise OSError
            if self._file(404, page.resolve()):
                return
        except OSError:
            pass
        self._send(404, self._inject(FALLBACK_404.encode()), "text/html" + TEXT)

    def _file(self, status: int, path: Path) -> bool:
        """Send one version of a file: open once, size and bytes from that open file."""
        try:
            # O_NONBLOCK: a FIFO planted in output/ must not hang the thread (regular files ignore it)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                         | getattr(os, "O_NONBLOCK", 0))
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.EACCES):
                return False
            raise
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                return False
            ctype = content_type(path.name)
            if info.st_size <= READ_WHOLE:
                body = fh.read()
                if ctype.startswith("text/html"):
                    body = self._inject(body)
                self._send(status, body, ctype)
                return True
            self.send_response(status)  # large file: stream the same open file
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(info.st_size))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                remaining = info.st_size
                while remaining > 0:
                    chunk = fh.read(min(1 << 20, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
                if remaining:
                    self.close_connection = True
            return True

    def _inject(self, body: bytes) -> bytes:
        if not self.site.livereload:
            return body
        generation = self.site.state.snapshot()["generation"]
        tag = f'<script src="{LIVERELOAD_JS_PATH}?g={quote(generation)}" defer></script>\n'.encode()
        ends = list(_BODY_END.finditer(body))
        if ends:
            at = ends[-1].start()
            return body[:at] + tag + body[at:]
        return body + tag

    def _livereload(self, query: str) -> None:
        state = self.site.state
        params = parse_qs(query, max_num_fields=MAX_PARAMS) if len(query) < 200 else {}
        if params.get("format") == ["json"]:  # polling fallback: answer when the state changes
            seen = {"generation": (params.get("g") or [""])[0], "error": state.snapshot()["error"]}
            return self._json(200, state.wait_change(seen, timeout=HEARTBEAT_SECONDS))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" + TEXT)
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        with state._cond:
            state.listeners += 1
        try:
            current = state.snapshot()
            self._event(current)
            while not state.stopping and not self.site_stopped():
                new = state.wait_change(current, timeout=HEARTBEAT_SECONDS)
                if state.stopping:
                    break
                if new != current:
                    current = new
                    self._event(current)
                else:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
        except (OSError, ValueError):
            pass  # the page went away
        finally:
            with state._cond:
                state.listeners -= 1

    def site_stopped(self) -> bool:
        return getattr(self.server, "stopping", False)

    def _event(self, data: dict) -> None:
        self.wfile.write(b"retry: 1000\nevent: build\ndata: " + json.dumps(data, ensure_ascii=False).encode()
                         + b"\n\n")
        self.wfile.flush()


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address, handler, max_connections: int = MAX_CONNECTIONS):
        host = address[0]
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
            address = (host.strip("[]"), address[1])
        self._slots = threading.BoundedSemaphore(max_connections)
        self.stopping = False
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which can hang without DNS.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
                                b"Connection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


# -- watching ----------------------------------------------------------------------------------


class Watcher(threading.Thread):
    """Rebuilds after changes to the sources (debounced; the build itself runs one at a time)."""

    def __init__(self, site: Site, debounce_ms: int = DEBOUNCE_MS):
        super().__init__(name="site-builder-watch", daemon=True)
        self.site = site
        self.debounce_ms = debounce_ms
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.pyproject = site.config.root / "pyproject.toml"

    def _pyproject_stamp(self):
        try:
            st = self.pyproject.stat()
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            return None

    def run(self) -> None:
        import watchfiles

        stamp = self._pyproject_stamp()
        paths = self.site.watch_paths()
        output, state_dir = self.site.config.output, self.site.config.state_dir.parent

        class _Filter(watchfiles.DefaultFilter):
            def __call__(self, change, path: str) -> bool:
                p = Path(path)
                if p == output or p.is_relative_to(output) or p.is_relative_to(state_dir):
                    return False
                return super().__call__(change, path)

        while not self.stop_event.is_set():
            if not paths:  # nothing to watch yet: poll for the folders and pyproject.toml
                self.ready.set()
                self.stop_event.wait(1.0)
                stamp = self._check_pyproject(stamp)
                paths = self.site.watch_paths()
                continue
            try:
                for changes in watchfiles.watch(*paths, watch_filter=_Filter(), debounce=1600,
                                                step=self.debounce_ms, stop_event=self.stop_event,
                                                rust_timeout=1000, yield_on_timeout=True, raise_interrupt=False):
                    self.ready.set()  # the first yield comes once the watch is in place
                    if self.stop_event.is_set():
                        break
                    new_stamp = self._pyproject_stamp()
                    if new_stamp != stamp:
                        stamp = new_stamp
                        changes = set(changes) | {(None, str(self.pyproject))}
                    if changes:
                        self.site.rebuild(_describe(changes, self.site.config.root))
                    if self.site.watch_paths() != paths:  # e.g. templates/ was created: watch it too
                        paths = self.site.watch_paths()
                        break
            except Exception as err:  # a watched folder vanished, inotify limits …
                self.site.log(f"watching for changes stopped: {err}; retrying in 1 s")
                self.stop_event.wait(1.0)
                paths = self.site.watch_paths()

    def _check_pyproject(self, stamp):
        new_stamp = self._pyproject_stamp()
        if new_stamp != stamp:
            self.site.rebuild("pyproject.toml changed")
        return new_stamp

    def stop(self) -> None:
        self.stop_event.set()


def _describe(changes: set, root: Path) -> str:
    names = []
    for _, path in sorted(changes, key=lambda c: c[1]):
        try:
            names.append(Path(path).relative_to(root).as_posix())
        except ValueError:
            names.append(path)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"changed: {shown}"


# -- the server as a whole ---------------------------------------------------------------------


class PreviewServer:
    """Serve a site: ``start()`` in a background thread (tests) or ``serve_forever()`` (the CLI)."""

    def __init__(self, config: SiteConfig, host: str = "127.0.0.1", port: int = 8000, *, watch: bool = True,
                 livereload: bool = True, overrides: dict | None = None, log=None, index_factory=None,
                 pool_size: int = SEARCH_POOL_SIZE, debounce_ms: int = DEBOUNCE_MS,
                 max_connections: int = MAX_CONNECTIONS, cache_entries: int = CACHE_ENTRIES):
        self.site = Site(config, overrides, log=log, livereload=livereload, index_factory=index_factory,
                         pool_size=pool_size, cache_entries=cache_entries)
        handler = type("BoundHandler", (Handler,), {"site": self.site})
        self.httpd = PreviewHTTPServer((host, port), handler, max_connections=max_connections)
        self.watcher = Watcher(self.site, debounce_ms) if watch else None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def start(self) -> PreviewServer:
        if self.watcher:
            self.watcher.start()
            self.watcher.ready.wait(10)
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="site-builder-serve", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self.watcher:
            self.watcher.start()
        try:
            self.httpd.serve_forever(poll_interval=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self.httpd.stopping = True
        self.site.state.stop()
        if self.watcher:
            self.watcher.stop()
        if self._thread:
            self.httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self.httpd.server_close()
        if self.watcher and self.watcher.is_alive() and self.watcher is not threading.current_thread():
            self.watcher.join(5)
        self.site.pool.close()

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the command -------------------------------------------------------------------------------


def _no_fork_from_threads() -> None:
    """Rebuilds run while request threads are alive; a worker pool forked from a threaded process
    can inherit a lock some thread held and hang. Start workers from a clean fork server instead."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        try:
            multiprocessing.set_start_method("forkserver")
        except RuntimeError:  # already chosen by someone else: leave it
            pass


def initial_build(config: SiteConfig, warnings: list, log) -> None:
    """Build before serving; report like `site-builder build`, but go on serving whatever happens."""
    from .build import build as run_build
    from .report import Progress, print_problems

    try:
        result = run_build(config, progress=Progress(), notify=log)
    except SiteBuilderError as err:
        log(f"error: {err}\nserving what is already in {config.output}")
        return
    except Exception as err:  # noqa: BLE001
        log(f"error: the build failed: {type(err).__name__}: {err}\n{traceback.format_exc()}"
            f"serving what is already in {config.output}; fix the problem and save to rebuild")
        return
    print_problems(warnings + result.problems)
    log(result.summary())
    if result.errors:
        log("The pages of speeches with errors were left as they were.")


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address makes the archive readable from "
                   "other machines.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--content", "content", type=click.Path(file_okay=False), default=None,
              help="Folder of speech Markdown files (default: content/).")
@click.option("--output", "output", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: output/, or output_dir in pyproject.toml).")
@click.option("--drafts", is_flag=True, help="Include speeches marked draft: true.")
@click.option("--no-watch", is_flag=True, help="Do not rebuild when content, themes or settings change.")
@click.option("--no-reload", is_flag=True, help="Do not reload open pages after a rebuild.")
def serve_command(host, port, content, output, drafts, no_watch, no_reload):
    """Build the site, serve it, rebuild on change and reload open pages.

    Serves only the files in the output folder, plus a search API that answers like
    'site-builder search --json':

    \b
      GET /api/search?q=如履薄冰&year=2018-2020&meeting_type=座谈会&theme=…&limit=10&offset=0

    Saving a speech, a template or pyproject.toml rebuilds what changed; a failed rebuild is
    reported here and the previous site stays up. Stop with Ctrl-C.

    Example: site-builder serve --port 8000 --content content --output output
    """
    log = lambda message: click.echo(message, err=True)  # noqa: E731
    overrides = {"content_dir": Path(content) if content else None,
                 "output_dir": Path(output) if output else None, "drafts": drafts or None}
    config, warnings = load_config(Path.cwd(), overrides)
    initial_build(config, warnings, log)
    _no_fork_from_threads()
    try:
        server = PreviewServer(config, host, port, watch=not no_watch, livereload=not no_reload,
                               overrides=overrides, log=log)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise click.UsageError(f"port {port} on {host} is in use; try --port {port + 1} (or --port 0)") from None
        raise click.UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    if not _is_loopback(host):
        log(f"warning: listening on {host}: other machines can read this archive and its search API")
    log(f"Serving {config.output} at {server.url}  (Ctrl-C to stop)")
    if not no_watch:
        watched = ", ".join(str(p) for p in server.site.watch_paths()) or "nothing yet"
        log(f"Watching {watched} and pyproject.toml")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("Stopped.")
