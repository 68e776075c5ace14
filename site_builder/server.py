"""`site-builder serve`: build, serve output/, answer /api/search, rebuild on change, live reload.

Pieces, top to bottom:

* ``BuildState``    the build generation (changes after every rebuild that wrote something) and the
                    last failure; live-reload clients wait on it.
* ``SearchPool``    a few open ``SearchIndex`` objects shared by all request threads; reopened
                    after a rebuild (old ones are closed once no request uses them).
* ``Site``          what a request needs: safe path resolution under output/, file reads, the
                    search API, the rebuild (one at a time).
* ``Handler``       the HTTP side: bounded request line and headers, GET/HEAD only, no bodies,
                    only the host names this server serves (``host_allowed``), raw UTF-8 in
                    request lines read as percent-encoded.
* ``ConnectionGuard`` connections by client address: a deadline for request heads, a share per
                    address, the oldest waiting connection dropped (not the newest refused) when full.
* ``Watcher``       a background thread: watchfiles on content/, themes, templates/ and a poll of
                    pyproject.toml; debounced; rebuilds through ``Site.rebuild``.
* ``PreviewServer`` ties them together (used by ``serve_command`` and by the tests).

Rebuilds run in a build process of their own (``BuildProcess``: started through a forkserver, else
spawned; single-threaded; kept warm between builds), never in this threaded one: the build forks
its own workers, and forking a process whose other threads hold locks can hang. After each build
that process lets go of the build's templates (their Jinja environment).

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
MAX_CONNECTIONS = 1024  # open connections at once; more → the oldest waiting one is dropped (503 if none waits)
PER_CLIENT = 256  # connections per client address that may wait for a request longer than EVICT_GRACE
EVICT_GRACE = 1.0  # seconds a new connection may wait for its request before it can be dropped for another
HEAD_TIMEOUT = 5.0  # seconds from the first byte of a request to the end of its headers; later → 408
REAP_SECONDS = 0.25  # how often the deadlines and shares are enforced
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
_NON_ASCII = re.compile(rb"[\x80-\xff]")

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


# -- host names (DNS rebinding) ----------------------------------------------------------------

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*")


def split_host(value: str) -> str | None:
    """The host of a ``Host`` header (or of an absolute URL's authority): lower case, without the
    port, the brackets of an IPv6 address or a final dot; None when it is not a host name."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, port = value[1:end], value[end + 1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        host, sep, port = value.partition(":")
        port = sep + port
        host = host.removesuffix(".")
        if not _HOST_NAME.fullmatch(host):
            return None
    if port and not (port[0] == ":" and port[1:].isascii() and port[1:].isdigit() and len(port) <= 6):
        return None
    return host


def host_allowed(value: str, bind_host: str, extra: tuple[str, ...] | frozenset = ()) -> bool:
    """May a request naming host ``value`` be answered by a server listening on ``bind_host``?

    Yes for 127.0.0.1, localhost and [::1], for the --host given, for ``extra`` names, and for an
    IP address that reaches this server (any loopback address; any address at all when listening
    on every address). Other names are refused: a page on another site whose name an attacker
    points at 127.0.0.1 (DNS rebinding) would otherwise read the archive as if it were its own."""
    host = split_host(value)
    if host is None:
        return False
    bind = bind_host.strip().strip("[]").lower().removesuffix(".")
    if host in LOCAL_NAMES or host == bind or host in {e.lower().strip("[]") for e in extra}:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or bind in _WILDCARD_BINDS


def misdirected_message(value: str, bind_host: str, port: int) -> str:
    names = "127.0.0.1、localhost、[::1]"
    given = bind_host.strip("[]")
    if given and given not in LOCAL_NAMES and given not in _WILDCARD_BINDS:
        names += f"、{given}"
    shown = value.strip()[:100]
    return (f"本预览服务器只响应发往 {names} 的请求（收到的 Host 为 {shown!r}）。"
            f"This preview server answers only to {names.replace('、', ', ')}; the request was for {shown!r}. "
            f"Open http://127.0.0.1:{port}/ (or start serve with --host NAME to serve under another name).")


# -- connections -------------------------------------------------------------------------------


class _Conn:
    __slots__ = ("sock", "addr", "state", "since")

    def __init__(self, sock, addr: str, now: float):
        self.sock, self.addr, self.state, self.since = sock, addr, "idle", now


class ConnectionGuard:
    """Every open connection, by client address, with what it is doing: ``idle`` (waiting for the
    first byte of a request), ``head`` (reading a request line and headers), ``busy`` (answering).

    * A request head must be complete within ``head_timeout`` of its first byte (a client sending
      headers one byte at a time — "slow loris" — is cut off, with 408).
    * An address may keep at most ``per_client`` connections; beyond that, its connections that
      have waited longer than ``grace`` seconds for a request are dropped, oldest first (busy
      ones and newer ones are left alone, so a burst of real requests goes through).
    * At ``max_connections``, a new connection drops the oldest waiting connection of the address
      that holds the most (so a flood from one address cannot starve others, nor a normal request
      from the same machine); only when every connection is busy answering is the new one refused.

    Waiting connections are kept oldest first per address and heads oldest first overall, so
    each decision costs O(1) however many connections a flood opens. A connection is cut by
    ``shutdown(SHUT_RD)``: its thread's read returns at once, the thread sees ``cut_reason`` and
    answers 408/503 when it was reading a head. Entries are removed (under the lock) before their
    thread closes the socket, so a cut never reaches a reused descriptor."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS, per_client: int = PER_CLIENT,
                 head_timeout: float = HEAD_TIMEOUT, grace: float = EVICT_GRACE, clock=time.monotonic):
        self.max_connections, self.per_client = max_connections, per_client
        self.head_timeout, self.grace, self.clock = head_timeout, grace, clock
        self._lock = threading.Lock()
        self._conns: dict = {}  # socket → _Conn
        self._count: dict[str, int] = {}  # address → open connections
        self._waiting: dict[str, OrderedDict] = {}  # address → {socket: _Conn} not busy, oldest first
        self._heads: OrderedDict = OrderedDict()  # socket → _Conn reading a head, oldest first
        self._cut: dict = {}  # socket → why it was cut ("timeout" | "evicted"), until released
        self._reaped_at = 0.0
        self.stats = {"timed_out": 0, "evicted": 0, "refused": 0}

    def __len__(self) -> int:
        return len(self._conns)

    def count(self, addr: str) -> int:
        with self._lock:
            return self._count.get(addr, 0)

    def admit(self, sock, addr: str) -> bool:
        now = self.clock()
        with self._lock:
            if self._count.get(addr, 0) >= self.per_client:
                victim = self._oldest_waiting(addr)
                if victim is not None and victim.since <= now - self.grace:
                    self._cut_locked(victim, "evicted")
            if len(self._conns) >= self.max_connections:
                heaviest = max(self._count, key=self._count.__getitem__)
                victim = self._oldest_waiting(heaviest) or min(
                    (w for w in (self._oldest_waiting(a) for a in self._waiting) if w), key=lambda c: c.since,
                    default=None)
                if victim is None:
                    self.stats["refused"] += 1
                    return False
                self._cut_locked(victim, "evicted")
            conn = _Conn(sock, addr, now)
            self._conns[sock] = conn
            self._count[addr] = self._count.get(addr, 0) + 1
            self._waiting.setdefault(addr, OrderedDict())[sock] = conn
            return True

    def set_state(self, sock, state: str) -> str | None:
        """Record what the connection does now; returns why it was cut, if it was."""
        with self._lock:
            conn = self._conns.get(sock)
            if conn is not None:
                conn.state, conn.since = state, self.clock()
                self._heads.pop(sock, None)
                if state == "busy":
                    waiting = self._waiting.get(conn.addr)
                    if waiting is not None:
                        waiting.pop(sock, None)
                        if not waiting:
                            del self._waiting[conn.addr]
                else:
                    waiting = self._waiting.setdefault(conn.addr, OrderedDict())
                    waiting[sock] = conn
                    waiting.move_to_end(sock)
                    if state == "head":
                        self._heads[sock] = conn
            return self._cut.get(sock)

    def cut_reason(self, sock) -> str | None:
        with self._lock:
            return self._cut.get(sock)

    def release(self, sock) -> None:
        """The connection's thread is done: forget it (before the socket is closed)."""
        with self._lock:
            self._cut.pop(sock, None)
            conn = self._conns.get(sock)
            if conn is not None:
                self._forget(conn)

    def reap(self, force: bool = False) -> None:
        """Cut heads past their deadline and addresses past their share (called often; works at
        most every REAP_SECONDS)."""
        now = self.clock()
        if not force and now - self._reaped_at < REAP_SECONDS:
            return
        self._reaped_at = now
        with self._lock:
            while self._heads:
                conn = next(iter(self._heads.values()))
                if now - conn.since <= self.head_timeout:
                    break
                self._cut_locked(conn, "timeout")
            for addr in [a for a, n in self._count.items() if n > self.per_client]:
                while self._count.get(addr, 0) > self.per_client:
                    conn = self._oldest_waiting(addr)
                    if conn is None or conn.since > now - self.grace:
                        break
                    self._cut_locked(conn, "evicted")

    def _oldest_waiting(self, addr: str) -> _Conn | None:
        waiting = self._waiting.get(addr)
        return next(iter(waiting.values())) if waiting else None

    def _cut_locked(self, conn: _Conn, reason: str) -> None:
        self._forget(conn)
        self._cut[conn.sock] = reason
        self.stats["timed_out" if reason == "timeout" else "evicted"] += 1
        try:
            conn.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def _forget(self, conn: _Conn) -> None:
        sock, addr = conn.sock, conn.addr
        del self._conns[sock]
        self._heads.pop(sock, None)
        waiting = self._waiting.get(addr)
        if waiting is not None:
            waiting.pop(sock, None)
            if not waiting:
                del self._waiting[addr]
        self._count[addr] -= 1
        if not self._count[addr]:
            del self._count[addr]


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


# -- builds in a fresh process -------------------------------------------------------------------


class BuildCrashed(Exception):
    """The build process raised something other than a SiteBuilderError, or died."""

    def __init__(self, message: str, details: str | None = None):
        super().__init__(message)
        self.details = details


RECYCLE_BUILDS = 100  # builds before the build process is replaced by a fresh one (a safety net)
WARM_MODULES = ("site_builder.build", "site_builder.related", "site_builder.search_index",
                "site_builder.static_index")


def _build_worker(conn) -> None:
    """The build process: single-threaded, it builds one site at a time for the server and keeps
    its modules warm between builds. Messages from the server through ``conn``:

    * ("warm",): import the build's modules (no answer);
    * ("build", config): answers ("log", text)… then ("done", BuildResult) | ("error", message,
      exit code) | ("crash", message, traceback);
    * ("stats",): answers ("stats", {"pid", "builds", "jinja_environments"}).

    It ends when the server closes its end (or dies)."""
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
            except Exception as err:  # noqa: BLE001 - e.g. something in the result that does not pickle
                conn.send(("crash", f"{type(err).__name__}: {err} (sending the build's result)",
                           traceback.format_exc()))
        elif message[0] == "stats":
            conn.send(("stats", {"pid": os.getpid(), "builds": builds, "jinja_environments": _live_environments()}))


def _build_once(conn, config: SiteConfig) -> tuple:
    try:
        from .build import build as run_build

        return ("done", run_build(config, notify=lambda message: conn.send(("log", message))))
    except SiteBuilderError as err:
        return ("error", str(err), err.exit_code)
    except BaseException as err:  # noqa: BLE001 - reported by the server, which keeps serving
        return ("crash", f"{type(err).__name__}: {err}", traceback.format_exc())
    finally:
        _release_build_caches()


def _release_build_caches() -> None:
    """What one build leaves behind for the next to reuse nothing of: the templates' fingerprint
    cache holds every TemplateSet (and so its Jinja environment) it was ever asked about."""
    from . import templates

    clear = getattr(getattr(templates.TemplateSet, "fingerprint", None), "cache_clear", None)
    if clear is not None:
        clear()


def _live_environments() -> int:
    import gc

    import jinja2

    gc.collect()
    return sum(isinstance(o, jinja2.Environment) for o in gc.get_objects())


BUILD_WORKER = _build_worker  # what the build process runs (tests put a crash in its place)


def _build_context():
    """forkserver (a clean single-threaded process forks the build process), else spawn.
    Never fork: the server runs request threads, and a fork copies locks they may hold."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


class BuildProcess:
    """The server's builds, run one at a time in a long-lived process of their own (started with
    ``_build_context``, replaced after a crash and every RECYCLE_BUILDS builds)."""

    def __init__(self, recycle_after: int = RECYCLE_BUILDS):
        self.recycle_after = recycle_after
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._builds = 0
        self._finalizer = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _ensure(self):
        if self._proc is not None and self._proc.is_alive() and self._builds < self.recycle_after:
            return self._conn
        self._close_locked(grace=5.0)
        import multiprocessing.util

        ctx = _build_context()
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
            self._proc.join(5)
            code = self._proc.exitcode
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
        self.builder = BuildProcess()  # rebuilds run there, never in this threaded process
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
        from .report import print_problems

        if reason:
            self.log(f"{reason}; rebuilding …")
        try:
            config, warnings = self._current_config()
            result = self.builder.build(config, self.log)
        except SiteBuilderError as err:
            self._failed(f"rebuild failed: {err}")
            return False
        except BuildCrashed as err:
            self._failed(f"rebuild failed: {err}", err.details)
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
            if not self._read_head() or not self._acceptable():
                return
            if self.server.guard.set_state(self.request, "busy"):  # cut in the meantime
                self.close_connection = True
                return
            self.do_GET()
            self.wfile.flush()
        except (TimeoutError, socket.timeout):
            self.close_connection = True
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def _read_head(self) -> bool:
        """Read the request line and headers, bounded in size (414, 431) and in time (408 once
        the guard cuts the connection). False when the connection is answered or closed."""
        guard = self.server.guard
        guard.set_state(self.request, "idle")
        if not self.rfile.peek(1):  # closed by the client, or cut while idle
            self.close_connection = True
            return False
        guard.set_state(self.request, "head")
        self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not self.raw_requestline:
            self.close_connection = True
            return False
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""
            self.close_connection = True
            self._plain_error(HTTPStatus.REQUEST_URI_TOO_LONG,
                              f"the request line is longer than {MAX_REQUEST_LINE} bytes")
            self._drain()
            return False
        if not self.raw_requestline.isascii():  # raw UTF-8 in the target, as some clients send it
            self.raw_requestline = _NON_ASCII.sub(lambda m: b"%%%02X" % m[0][0], self.raw_requestline)
        if guard.cut_reason(self.request):
            return self._cut_off(complete=False)
        raw_rfile = self.rfile
        self.rfile = _BoundedReader(raw_rfile, MAX_HEADER_BYTES)
        try:
            parsed = self.parse_request()  # sends 400/431/505 itself
        finally:
            self.rfile = raw_rfile
        if guard.cut_reason(self.request):
            return self._cut_off(complete=parsed)
        return parsed

    def _cut_off(self, complete: bool) -> bool:
        """The guard cut this connection while its head was being read: say why, close."""
        self.close_connection = True
        if not complete:
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""
        if self.server.guard.cut_reason(self.request) == "timeout":
            self._plain_error(HTTPStatus.REQUEST_TIMEOUT,
                              f"the request headers did not arrive within {self.server.guard.head_timeout:g} s")
        else:
            self._plain_error(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections from your address; try again",
                              {"Retry-After": "1"})
        return False

    def _acceptable(self) -> bool:
        """Host, method and body rules; False when answered with an error."""
        refusal = self._host_problem()
        if refusal is None and self.command not in ("GET", "HEAD"):
            refusal = HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD are supported", {"Allow": "GET, HEAD"}
        if refusal is None and (self.headers.get("Transfer-Encoding")
                                or (self.headers.get("Content-Length") or "0").strip() != "0"):
            refusal = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "requests with a body are not accepted", None
        if refusal is None:
            return True
        self.close_connection = True
        self._plain_error(*refusal)
        self._drain()
        return False

    def _host_problem(self) -> tuple | None:
        """Only the host names this server serves (see ``host_allowed``); the authority of an
        absolute-form target stands for the Host header (RFC 9112, 3.2.2)."""
        values = self.headers.get_all("Host") or []
        if len(values) > 1:
            return HTTPStatus.BAD_REQUEST, "more than one Host header", None
        if not self.path.startswith("/"):
            try:
                value = urlsplit(self.path).netloc
            except ValueError:
                return HTTPStatus.BAD_REQUEST, "the request target is not a URL", None
        elif values:
            value = values[0]
        elif self.request_version == "HTTP/1.0":
            return None
        else:
            return HTTPStatus.BAD_REQUEST, "the Host header is missing", None
        server = self.server
        if host_allowed(value, server.bind_host, server.allowed_hosts):
            return None
        return (HTTPStatus.MISDIRECTED_REQUEST, misdirected_message(value, server.bind_host, server.server_port),
                None)

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

    def __init__(self, address, handler, max_connections: int = MAX_CONNECTIONS, per_client: int = PER_CLIENT,
                 head_timeout: float = HEAD_TIMEOUT, allowed_hosts: tuple[str, ...] = ()):
        host = address[0]
        self.bind_host = host
        self.allowed_hosts = frozenset(h.lower().strip("[]") for h in allowed_hosts)
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
            address = (host.strip("[]"), address[1])
        self.guard = ConnectionGuard(max_connections, per_client, head_timeout)
        self.stopping = False
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which can hang without DNS.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        if not self.guard.admit(request, str(client_address[0])):  # every connection busy answering
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
            self.guard.release(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.guard.release(request)  # before the socket is closed: no cut can reach it after
            self.shutdown_request(request)

    def service_actions(self):
        self.guard.reap()

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
                 max_connections: int = MAX_CONNECTIONS, cache_entries: int = CACHE_ENTRIES,
                 per_client: int = PER_CLIENT, head_timeout: float = HEAD_TIMEOUT, allowed_hosts: tuple[str, ...] = ()):
        self.site = Site(config, overrides, log=log, livereload=livereload, index_factory=index_factory,
                         pool_size=pool_size, cache_entries=cache_entries)
        handler = type("BoundHandler", (Handler,), {"site": self.site})
        self.httpd = PreviewHTTPServer((host, port), handler, max_connections=max_connections, per_client=per_client,
                                       head_timeout=head_timeout, allowed_hosts=allowed_hosts)
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
            self.site.builder.warm()
            self.watcher.start()
            self.watcher.ready.wait(10)
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="site-builder-serve", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self.watcher:
            self.site.builder.warm()
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
        self.site.builder.close()
        if self.watcher and self.watcher.is_alive() and self.watcher is not threading.current_thread():
            self.watcher.join(5)
        self.site.pool.close()

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the command -------------------------------------------------------------------------------


def _no_fork_from_threads() -> None:
    """A backstop: rebuilds run in their own process (``BuildProcess``), but should anything in this
    threaded process start workers, a pool forked from it can inherit a lock some thread held and
    hang. Make the default a clean fork server instead."""
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
