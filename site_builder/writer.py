"""Writing output files: atomically (temp file + rename), only when the bytes change."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from .errors import SiteBuilderError
from .fileio import TEMP_NAME, write_atomic


class WriteError(SiteBuilderError):
    """A file could not be written (full disk, permissions); nothing was half-written."""


def write_file(root: Path, rel_path: str, data: bytes) -> bool:
    """Write ``root/rel_path`` atomically; return False when it already held these bytes."""
    target = root / rel_path
    try:
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
        write_atomic(target, data)
    except OSError as err:
        raise WriteError(_explain(err, target)) from None
    return True


def _explain(err: OSError, target: Path) -> str:
    if err.errno == errno.ENOSPC:
        return (
            f"{target}: the disk is full; the previous version of this file was kept. Free some space and build again."
        )
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{target}: cannot write here ({err.strerror}); check the permissions of the output folder."
    return f"{target}: cannot write ({err.strerror})."


#: Temporary files of fileio (".tmp-" + 8 characters + the target's suffix) and of older writers
#: (".<name>.<pid>.tmp"): never renamed into place, so never published.
_LEFTOVER = TEMP_NAME


def remove_leftovers(root: Path) -> list[str]:
    """Remove the temporary files a killed build left under ``root``; return their paths."""
    removed = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if _LEFTOVER.fullmatch(name):
                path = Path(dirpath) / name
                path.unlink(missing_ok=True)
                removed.append(path.relative_to(root).as_posix())
    return removed


def os_error_message(err: OSError, where: Path, what: str) -> str:
    """One line for a failure to write ``what`` under ``where`` (or in the file the error names)."""
    target = Path(err.filename) if getattr(err, "filename", None) else where
    if err.errno == errno.ENOSPC:
        return f"{target}: the disk is full while writing {what}. Free some space and build again."
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{target}: cannot write {what} here ({err.strerror}); check the permissions of that folder."
    return f"{target}: cannot write {what} ({err.strerror or err})."


def remove_file(root: Path, rel_path: str) -> None:
    """Remove a stale output file and the folders it leaves empty."""
    target = root / rel_path
    target.unlink(missing_ok=True)
    parent = target.parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def copy_tree(sources: list[Path], dest: Path) -> list[str]:
    """Copy static folders (first wins for a file present in several) into ``dest``; return paths."""
    written: dict[str, Path] = {}
    for src in sources:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                written.setdefault(path.relative_to(src).as_posix(), path)
    for rel_path, path in written.items():
        target = dest / rel_path
        if target.is_file() and target.read_bytes() == path.read_bytes():
            continue
        write_file(dest, rel_path, path.read_bytes())
    return sorted(written)


def clear_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
