"""Atomic file writes: the one way the project replaces a file.

The data goes to a hidden temporary file in the target's folder (``.tmp-`` + 8 random characters +
the target's suffix), which is then renamed over the target with ``os.replace``: a reader sees the
old file or the new one, never half of one. On any error the temporary file is removed and the
target is left as it was. With ``fsync=True`` the data (and then the folder's entry) reach the disk
before the call returns, for files that others are written after and refer to.

The new file gets the permissions ``open()`` would give it (0666 less the umask), not the 0600 of
``tempfile.mkstemp``: a web server must be able to read the output.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Literal, overload

#: The names of the temporary files of this module (``.tmp-ab12cd34.html``) and of the older
#: writers (``.<name>.<pid>.tmp``): never renamed into place, so never published; a killed build
#: may leave them behind (``writer.remove_leftovers``).
TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}(\.\w+)?|\..+\.\d+\.tmp")

_SUFFIX = re.compile(r"\.\w+")
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_temp(path: Path, parents: bool) -> tuple[int, Path]:
    """Create (exclusively) a new temporary file beside ``path``; return its descriptor and path."""
    suffix = path.suffix if _SUFFIX.fullmatch(path.suffix) else ""  # so that TEMP_NAME matches
    made = False
    for _attempt in range(100):
        tmp = path.with_name(f".tmp-{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp  # the umask applies, as with open()
        except FileExistsError:
            continue
        except FileNotFoundError:
            # The folder is missing — or was until another process (a worker writing beside
            # us) made it after our open failed: make it (or find it made) and try once more.
            if not parents or made:
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            made = True
    raise FileExistsError(f"{path}: no free name for a temporary file")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every system (Windows): the file itself is on disk
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@overload
def atomic_open(
    path: str | os.PathLike[str],
    mode: Literal["wb"] = ...,
    *,
    fsync: bool = ...,
    parents: bool = ...,
    encoding: None = ...,
) -> AbstractContextManager[IO[bytes]]: ...
@overload
def atomic_open(
    path: str | os.PathLike[str],
    mode: Literal["w"],
    *,
    fsync: bool = ...,
    parents: bool = ...,
    encoding: str = ...,
) -> AbstractContextManager[IO[str]]: ...
def atomic_open(path, mode="wb", *, fsync=False, parents=True, encoding=None):
    """A context manager: ``with atomic_open(path) as fh: fh.write(...)`` replaces ``path`` when the
    block ends without an exception; with one, ``path`` is untouched and the temporary file removed.

    ``mode`` is ``"wb"`` or ``"w"`` (text: ``encoding`` defaults to UTF-8, newlines written as
    given). ``parents``: create missing folders of ``path``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', not {mode!r}")
    return _atomic(Path(path), mode, fsync, parents, encoding)


@contextmanager
def _atomic(path: Path, mode: str, fsync: bool, parents: bool, encoding: str | None) -> Iterator[IO]:
    fd, tmp = _create_temp(path, parents)
    try:
        try:
            text = mode == "w"
            fh: IO = os.fdopen(fd, mode, encoding=(encoding or "utf-8") if text else None, newline="" if text else None)
        except BaseException:
            try:
                os.close(fd)
            except OSError:  # fdopen closed it already
                pass
            raise
        with fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        _fsync_dir(path.parent)


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, fsync: bool = False, parents: bool = True) -> None:
    """Replace ``path`` with ``data`` (a str is written as UTF-8), atomically; see the module."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, "wb", fsync=fsync, parents=parents) as fh:
        fh.write(raw)
