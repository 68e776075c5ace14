"""Open connections by client address: a deadline for request heads and a share per address."""

from __future__ import annotations

import socket
import threading
import time
from collections import OrderedDict

from .limits import EVICT_GRACE, HEAD_TIMEOUT, MAX_CONNECTIONS, PER_CLIENT, REAP_SECONDS


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

    def __init__(
        self,
        max_connections: int = MAX_CONNECTIONS,
        per_client: int = PER_CLIENT,
        head_timeout: float = HEAD_TIMEOUT,
        grace: float = EVICT_GRACE,
        clock=time.monotonic,
    ):
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
                    (w for w in (self._oldest_waiting(a) for a in self._waiting) if w),
                    key=lambda c: c.since,
                    default=None,
                )
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
