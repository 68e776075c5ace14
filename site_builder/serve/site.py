"""A served site: its configuration, output folder, search pool, build state and the rebuild loop.

``rebuild`` runs one build at a time (callers queue) in the ``BuildProcess``; a build that wrote
something bumps the generation (live reload) and reopens the search pool; a failed build keeps the
previous site up and shows its error to open pages.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import replace
from pathlib import Path

import click

from ..config import SiteConfig, load_config
from ..errors import SiteBuilderError
from .builder import BuildCrashed, BuildProcess
from .files import resolve
from .limits import CACHE_ENTRIES, SEARCH_POOL_SIZE, SEARCH_WORKERS
from .search import SearchPool
from .state import BuildState


class Site:
    def __init__(
        self,
        config: SiteConfig,
        overrides: dict | None = None,
        log=None,
        livereload: bool = True,
        index_factory=None,
        pool_size: int = SEARCH_POOL_SIZE,
        cache_entries: int = CACHE_ENTRIES,
    ):
        self.config = config
        self.overrides = dict(overrides or {})
        self.root = config.output  # resolved
        self.log = log or (lambda message: click.echo(message, err=True))
        self.livereload = livereload
        self.state = BuildState()
        self.pool = SearchPool(
            config.state_dir / "whoosh",
            size=pool_size,
            factory=index_factory,
            cache_entries=cache_entries,
            workers=SEARCH_WORKERS if index_factory is None else 0,  # a factory of the tests: in threads
        )
        self._build_lock = threading.Lock()
        self.builder = BuildProcess()  # rebuilds run there, never in this threaded process
        self.builds = 0  # completed rebuild attempts (tests wait on this)
        self._build_done = threading.Condition()

    def resolve(self, raw_path: str) -> tuple[str, object]:
        """See ``files.resolve``."""
        return resolve(self.root, raw_path)

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
        from ..report import print_problems

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
            error = (
                f"{result.errors} error(s) in the content; the pages of those speeches were left as "
                f"they were.\n{first.format()}"
            )
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
            self.log(
                "note: content or output folder changed in pyproject.toml; restart 'site-builder serve' "
                "to use it (still building the old folders)"
            )
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
