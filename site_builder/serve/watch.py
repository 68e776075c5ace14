"""Rebuild on change: watchfiles on content/, the themes and templates/, and a poll of pyproject.toml."""

from __future__ import annotations

import threading
from pathlib import Path

from .limits import DEBOUNCE_MS


class Watcher(threading.Thread):
    """Rebuilds after changes to the sources (debounced; the build itself runs one at a time)."""

    def __init__(self, site, debounce_ms: int = DEBOUNCE_MS):
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
                for changes in watchfiles.watch(
                    *paths,
                    watch_filter=_Filter(),
                    debounce=1600,
                    step=self.debounce_ms,
                    stop_event=self.stop_event,
                    rust_timeout=1000,
                    yield_on_timeout=True,
                    raise_interrupt=False,
                ):
                    self.ready.set()  # the first yield comes once the watch is in place
                    if self.stop_event.is_set():
                        break
                    changed: set[tuple[object, str]] = set(changes)
                    new_stamp = self._pyproject_stamp()
                    if new_stamp != stamp:
                        stamp = new_stamp
                        changed.add((None, str(self.pyproject)))
                    if changed:
                        self.site.rebuild(_describe(changed, self.site.config.root))
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


def _describe(changes: set[tuple[object, str]], root: Path) -> str:
    names = []
    for _, path in sorted(changes, key=lambda c: c[1]):
        try:
            names.append(Path(path).relative_to(root).as_posix())
        except ValueError:
            names.append(path)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"changed: {shown}"
