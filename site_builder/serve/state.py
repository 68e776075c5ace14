"""The build generation that readers were served, the last failure, and a condition to wait on."""

from __future__ import annotations

import threading
import time


class BuildState:
    """The generation readers were served, the last failure, and a condition to wait on."""

    def __init__(self) -> None:
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

    def add_listener(self, delta: int) -> None:
        with self._cond:
            self.listeners += delta

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
