"""Find the speech files under content/: every ``*.md`` file (sorted), without following a symbolic
link loop twice, skipping hidden names; a name that is not UTF-8, a folder that cannot be read, a
broken link or a file that is not a regular file (a FIFO, a device) is reported, never read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem


@dataclass(frozen=True)
class SourceFile:
    source: str  # relative to the content folder, posix
    path: str
    mtime_ns: int
    size: int


def display_path(path: str | os.PathLike[str]) -> str:
    """The path as the user should see it: relative to the current folder when inside it; bytes
    that are not UTF-8 (a name in GBK, as unzip leaves a Windows zip) shown as \\xNN."""
    try:
        shown = os.path.relpath(path)
    except ValueError:
        shown = str(path)
    return escape_name(shown)


def escape_name(name: str) -> str:
    """A file name from the OS with undecodable bytes (surrogate escapes) as \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def _bad_name_problem(path: str, what: str) -> Problem:
    raw = os.fsencode(os.path.basename(path))
    try:
        guess = raw.decode("gb18030")
        looks = f" (as GBK it reads {guess!r}, as unzip leaves the names of a zip made on Windows)"
    except UnicodeDecodeError:
        looks = ""
    return Problem(
        display_path(path),
        None,
        None,
        f"{what} name is not UTF-8{looks}: not read",
        "rename it, e.g. convmv -f GBK -t UTF-8 --notest -r <folder>, or unzip with -O GBK",
    )


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def scan(content: Path) -> tuple[list[SourceFile], list[Problem], set[str]]:
    """All *.md files under ``content`` (sorted), the problems of those that cannot be read, and
    what could not be read: sources, and folders as prefixes ending in "/" ("" = all of content)."""
    files: list[SourceFile] = []
    problems: list[Problem] = []
    broken: set[str] = set()
    if not content.is_dir():
        return (
            files,
            [
                Problem(
                    display_path(content),
                    None,
                    None,
                    "content folder not found",
                    "create it, or point --content at the folder holding the speeches",
                )
            ],
            {""},
        )
    seen_dirs: set[tuple[int, int]] = set()
    root = str(content)

    def prefix_of(dirpath: str) -> str:
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        return "" if rel == "." else rel + "/"

    def onerror(err: OSError) -> None:
        folder = err.filename or root
        problems.append(
            Problem(
                display_path(Path(folder)),
                None,
                None,
                f"cannot read this folder: {err.strerror}",
                "check its permissions (the pages of its speeches were kept)",
            )
        )
        broken.add(prefix_of(folder))

    for dirpath, dirnames, filenames in os.walk(content, onerror=onerror, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop: visit each folder once
            problems.append(
                Problem(
                    display_path(Path(dirpath)),
                    None,
                    None,
                    "symbolic link loop: this folder was already read",
                    "remove the link",
                    severity="warning",
                )
            )
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = _readable_dirs(dirpath, dirnames, problems)
        _scan_folder(dirpath, prefix_of(dirpath), filenames, files, problems, broken)
    return files, problems, broken


def _readable_dirs(dirpath: str, dirnames: list[str], problems: list[Problem]) -> list[str]:
    """The sub-folders of ``dirpath`` to walk, sorted: not hidden, and with a UTF-8 name."""
    keep = []
    for d in sorted(dirnames):
        if d.startswith("."):
            continue
        if not _is_utf8(d):  # its speeches could have no URL, nor a row in the cache
            problems.append(_bad_name_problem(os.path.join(dirpath, d), "folder"))
            continue
        keep.append(d)
    return keep


def _scan_folder(
    dirpath: str,
    prefix: str,
    filenames: list[str],
    files: list[SourceFile],
    problems: list[Problem],
    broken: set[str],
) -> None:
    """Add the speech files of one folder to ``files`` (sorted), or their problems to ``problems``."""
    # Plain strings, not Path objects: at 10,000 files pathlib alone cost more than the stats.
    # Each file's stat relative to its folder (dir_fd, where there is one): the kernel does not walk
    # the whole path again for each file (#15).
    folder = _open_folder(dirpath)
    try:
        for name in sorted(filenames):
            if not name.endswith(".md") or name.startswith("."):
                continue
            path = os.path.join(dirpath, name)
            if not _is_utf8(name):
                problems.append(_bad_name_problem(path, "file"))
                continue
            try:
                st = os.stat(path) if folder is None else os.stat(name, dir_fd=folder)
            except OSError as err:
                problems.append(
                    Problem(
                        display_path(path),
                        None,
                        None,
                        f"cannot read this file: {err.strerror}",
                        "a broken symbolic link? fix or remove it",
                    )
                )
                broken.add(prefix + name)
                continue
            if not stat.S_ISREG(st.st_mode):  # reading a pipe would block, a device would never end
                problems.append(
                    Problem(
                        display_path(path),
                        None,
                        None,
                        "not a regular file (a pipe, device or socket): not read",
                        "remove it, or put the speech's text in an ordinary file",
                    )
                )
                broken.add(prefix + name)
                continue
            files.append(SourceFile(prefix + name, path, st.st_mtime_ns, st.st_size))
    finally:
        if folder is not None:
            os.close(folder)


def _open_folder(dirpath: str) -> int | None:
    """A descriptor of the folder to stat its files from, or None (no dir_fd here, or it cannot be
    opened: its files are then looked at by their paths, each reporting its own error)."""
    if os.stat not in os.supports_dir_fd:
        return None
    try:
        return os.open(dirpath, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
