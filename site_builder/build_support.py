"""What every stage of the build shares: its result, its errors, its clock and its lock."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import loader
from .config import SiteConfig
from .errors import Problem, SiteBuilderError
from .render import Page

LOCK_WAIT_SECONDS = 30


@dataclass
class BuildResult:
    speeches: int = 0
    pages: int = 0
    written: int = 0
    removed: int = 0
    parsed: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    nothing_changed: bool = False
    explain: list[str] = field(default_factory=list)
    index: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # stage → seconds
    review: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (source, fields) awaiting review
    unrendered: int = 0  # speech pages that failed to render (see _write_pages)

    @property
    def errors(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(not p.is_error for p in self.problems)

    def summary(self, check_only: bool = False) -> str:
        what = "Checked" if check_only else "Built"
        pages = "" if check_only else f", {self.pages} pages ({self.written} written, {self.removed} removed)"
        return (
            f"{what} {self.speeches} speeches{pages}; {self.errors} errors, {self.warnings} warnings "
            f"in {self.seconds:.2f} s" + (" (nothing changed)" if self.nothing_changed else "")
        )


class BuildLocked(SiteBuilderError):
    pass


class TemplateProblem(SiteBuilderError):
    """A template is missing or broken: no page can be trusted, so the build stops (exit 2)."""

    exit_code = 2

    def __init__(self, err, page: Page | None = None):
        where = getattr(err, "filename", None) or getattr(err, "name", None) or (page and page.template)
        line = getattr(err, "lineno", None)
        during = f" (while rendering {page.path})" if page else ""
        super().__init__(
            f"template {where}{':' + str(line) if line else ''}: {err.message or err}{during}; "
            "fix the template and build again"
        )


class Clock:
    """Records the seconds each stage took (shown by --explain, read by the benchmarks)."""

    def __init__(self, into: dict):
        self.into, self.last = into, time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.into[stage] = round(now - self.last, 3)
        self.last = now


@contextmanager
def build_lock(state_dir: Path, wait: float = LOCK_WAIT_SECONDS, notify=None):
    """One build at a time per output folder. The kernel releases the lock when a build dies,
    so a killed build never leaves a stale lock behind."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "build.lock", "a+") as fh:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BuildLocked(
                        f"another build of this output folder is still running "
                        f"(waited {wait:.0f} s); try again when it has finished"
                    ) from None
                if notify and not told:
                    notify("another build of this output folder is running; waiting for it to finish …")
                    told = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def shower(config: SiteConfig):
    content = config.content  # resolved once (the property resolves the path on every call)
    return lambda source: loader.display_path(content / source)


def no_speech_problem(config: SiteConfig, stats: dict) -> Problem:
    drafts = stats.get("drafts", 0)
    why = f" ({drafts} drafts; --drafts includes them)" if drafts else ""
    return Problem(
        loader.display_path(config.content),
        None,
        None,
        f"no speech to publish{why}: the site is built empty",
        "add speeches with site-builder new or site-builder import",
        severity="warning",
    )


def unindexed_problems(config: SiteConfig, unindexed: dict[str, str]) -> list[Problem]:
    show = shower(config)
    return [
        Problem(
            show(source),
            None,
            None,
            f"could not be indexed for search: {why}",
            "the page was built but search does not find it; this is a bug in site-builder: "
            "run again with SITE_BUILDER_DEBUG=1 and report it with this file",
        )
        for source, why in sorted(unindexed.items())
    ]
