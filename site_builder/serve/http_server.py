"""The HTTP side: read a request within bounds, hand it to the ``App``, write its ``Response``.

* ``Handler``            one connection, request after request (keep-alive): the request line at most
                         MAX_REQUEST_LINE bytes (414), headers at most MAX_HEADER_BYTES (431), raw UTF-8
                         in the request line read as percent-encoded, only the host names the server
                         serves (421, see ``hosts.py``), GET and HEAD only (405), no bodies (413).
* ``PreviewHTTPServer``  a thread per connection, admitted by the ``ConnectionGuard`` (a deadline for
                         request heads, a share per client address).
"""

from __future__ import annotations

import io
import logging
import re
import socket
import sys
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.client import LineTooLong
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import urlsplit

from .app import App, Request, Response, plain
from .guard import ConnectionGuard
from .hosts import host_allowed, misdirected_message
from .limits import HEAD_TIMEOUT, MAX_CONNECTIONS, MAX_HEADER_BYTES, MAX_REQUEST_LINE, PER_CLIENT, READ_TIMEOUT

logger = logging.getLogger(__name__)

_NON_ASCII = re.compile(rb"[\x80-\xff]")


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
    disable_nagle_algorithm = True  # small answers go out at once (no 40 ms delayed-ACK stalls) …
    wbufsize = 64 * 1024  # … in one segment: head and body are buffered, then flushed together
    server: PreviewHTTPServer

    def handle_one_request(self):
        try:
            if not self._read_head() or not self._acceptable():
                return
            if self.server.guard.set_state(self.request, "busy"):  # cut in the meantime
                self.close_connection = True
                return
            self._write(self.server.app.handle(Request(self.command, self.path)))
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    # -- reading --

    def _read_head(self) -> bool:
        """Read the request line and headers, bounded in size (414, 431) and in time (408 once
        the guard cuts the connection). False when the connection is answered or closed."""
        guard = self.server.guard
        guard.set_state(self.request, "idle")
        rfile = self.rfile
        assert isinstance(rfile, io.BufferedReader)  # socket.makefile("rb") with a buffer
        if not rfile.peek(1):  # closed by the client, or cut while idle
            self.close_connection = True
            return False
        guard.set_state(self.request, "head")
        self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        if not self.raw_requestline:
            self.close_connection = True
            return False
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""
            return self._refuse(
                HTTPStatus.REQUEST_URI_TOO_LONG, f"the request line is longer than {MAX_REQUEST_LINE} bytes"
            )
        if not self.raw_requestline.isascii():  # raw UTF-8 in the target, as some clients send it
            self.raw_requestline = _NON_ASCII.sub(lambda m: b"%%%02X" % m[0][0], self.raw_requestline)
        if guard.cut_reason(self.request):
            return self._cut_off(complete=False)
        raw_rfile = self.rfile
        # parse_request reads the headers with readline only, which _BoundedReader bounds
        self.rfile = cast(io.BufferedIOBase, _BoundedReader(raw_rfile, MAX_HEADER_BYTES))
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
        guard = self.server.guard
        if guard.cut_reason(self.request) == "timeout":
            self._write(
                plain(HTTPStatus.REQUEST_TIMEOUT, f"the request headers did not arrive within {guard.head_timeout:g} s")
            )
        else:
            self._write(
                plain(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    "too many connections from your address; try again",
                    {"Retry-After": "1"},
                )
            )
        return False

    def _acceptable(self) -> bool:
        """Host, method and body rules; False when answered with an error."""
        refusal = self._host_problem()
        if refusal is None and self.command not in ("GET", "HEAD"):
            refusal = HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD are supported", {"Allow": "GET, HEAD"}
        if refusal is None and (
            self.headers.get("Transfer-Encoding") or (self.headers.get("Content-Length") or "0").strip() != "0"
        ):
            refusal = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "requests with a body are not accepted", None
        return True if refusal is None else self._refuse(*refusal)

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
        return (HTTPStatus.MISDIRECTED_REQUEST, misdirected_message(value, server.bind_host, server.server_port), None)

    # -- writing --

    def _refuse(self, status: int, message: str, headers: dict | None = None) -> bool:
        """Answer an error to a request not read in full, and close."""
        self.close_connection = True
        self._write(plain(status, message, headers))
        self._drain()
        return False

    def _write(self, response: Response) -> None:
        """Status line, headers (Server, Date, then the response's, then Connection: close when
        closing) and body into the write buffer; a stream is sent chunk by chunk."""
        if response.close:
            self.close_connection = True
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        stream = response.stream
        try:
            if self.command == "HEAD":
                return
            if response.body:
                self.wfile.write(response.body)
            if stream is not None:
                self._write_stream(stream, response)
        finally:
            if stream is not None and hasattr(stream, "close"):
                stream.close()

    def _write_stream(self, stream: Iterator[bytes], response: Response) -> None:
        sent = 0
        try:
            for chunk in stream:
                self.wfile.write(chunk)
                sent += len(chunk)
                if response.flush:
                    self.wfile.flush()
        except (OSError, ValueError):  # the reader went away
            self.close_connection = True
            return
        if response.length is not None and sent < response.length:  # the file shrank under us
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

    def log_message(self, format, *args):
        pass  # quiet by default: a preview server's terminal is for build messages

    def log_error(self, format, *args):
        pass


class PreviewHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(
        self,
        address,
        app: App,
        max_connections: int = MAX_CONNECTIONS,
        per_client: int = PER_CLIENT,
        head_timeout: float = HEAD_TIMEOUT,
        allowed_hosts: tuple[str, ...] = (),
    ):
        host = address[0]
        self.app = app
        self.bind_host = host
        self.allowed_hosts = frozenset(h.lower().strip("[]") for h in allowed_hosts)
        if ":" in host.strip("[]"):
            self.address_family = socket.AF_INET6
            address = (host.strip("[]"), address[1])
        self.guard = ConnectionGuard(max_connections, per_client, head_timeout)
        self.stopping = False
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which can hang without DNS.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = host.decode() if isinstance(host, (bytes, bytearray)) else host

    def process_request(self, request, client_address):
        if not self.guard.admit(request, str(client_address[0])):  # every connection busy answering
            try:
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
                    b"Connection: close\r\n\r\n"
                )
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
        # (socketserver would print the traceback to stderr itself)
        logger.error("a request from %s failed", client_address[0] if client_address else "?", exc_info=True)
