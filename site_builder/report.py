"""Terminal output: problems as path:line: field: message + hint (Chinese first, see messages_zh),
progress, the summary line."""

from __future__ import annotations

import logging
import os
import sys
import time

from .errors import Problem
from .messages_zh import bilingual, more_text, problem_text


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (click's test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def configure_logging(verbose: bool = False) -> None:
    """Diagnostics (the ``site_builder.*`` loggers: what went wrong inside, with tracebacks) go to
    stderr; shown from WARNING up, everything with ``verbose`` (``-v``) or SITE_BUILDER_DEBUG=1.
    User messages never go through logging."""
    logger = logging.getLogger("site_builder")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("site-builder: %(levelname)s: %(name)s: %(message)s"))
        logger.addHandler(handler)
    debug = verbose or os.environ.get("SITE_BUILDER_DEBUG", "") not in ("", "0")
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.path, p.line or 0, p.severity != "error", p.field or "", p.message))


def print_problems(problems: list[Problem], stream=None, limit_same: int = 20) -> None:
    """Print each problem (in Chinese, then in English: see messages_zh); the same message repeated
    in many files is cut after ``limit_same``."""
    stream = stream or sys.stderr
    seen: dict[tuple, int] = {}
    hidden: dict[tuple, int] = {}
    for p in sort_problems(problems):
        key = (p.field, p.message)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > limit_same:
            hidden[key] = hidden.get(key, 0) + 1
            continue
        print(problem_text(p), file=stream)
    for (field, message), n in hidden.items():
        print(more_text(n, field, message), file=stream)


def say(text: str, stream=None) -> None:
    """Print a summary or notice line: the Chinese first when messages_zh knows it, then the English."""
    print(bilingual(text), file=stream or sys.stderr)


class Progress:
    """A one-line progress bar on stderr, shown only on a terminal and for long jobs."""

    def __init__(self, enabled: bool = True, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.last = 0.0
        self.active = False

    def __call__(self, label: str, done: int, total: int) -> None:
        if not self.enabled or total < 50:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        fill = int(width * done / total) if total else width
        self.stream.write(f"\r{label:<6} [{'#' * fill}{'.' * (width - fill)}] {done}/{total}")
        self.active = done < total
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()

    def stage(self, label: str):
        return lambda done, total: self(label, done, total)
