"""Files under the output folder: which one a request path means, and one version of it.

Readers never see a half-written file: the writer replaces files with ``os.replace``; a file is
opened once, its size taken from that open file (``fstat``) and that inode read to the end, so a
request gets either the old or the new version of each file.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from .errors import BadRequest, Forbidden

_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def resolve(root: Path, raw_path: str) -> tuple[str, object]:
    """Map a request path to ("file", Path) | ("redirect", location) | ("missing", None).

    ``root`` is the output folder, resolved. Raises Forbidden for traversal attempts and
    BadRequest for undecodable paths."""
    try:
        decoded = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the path is not valid UTF-8 once decoded") from None
    if "\x00" in decoded or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in decoded):
        raise BadRequest("control characters in the path")
    if "\\" in decoded:
        raise Forbidden("backslash in the path")
    if _PERCENT_ESCAPE.search(decoded):
        raise Forbidden("the path is percent-encoded twice")
    segments = [s for s in decoded.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise Forbidden("'.' or '..' in the path")
    if any(s.startswith(".") for s in segments):
        return "missing", None  # hidden files (the writer's temporary files among them)
    try:
        resolved = contained(root, root.joinpath(*segments))
        if resolved.is_dir():
            if not decoded.endswith("/"):
                return "redirect", "/" + "".join(quote(s, safe="") + "/" for s in segments)
            resolved = contained(root, resolved / "index.html")
        elif decoded.endswith("/"):
            return "missing", None  # a file asked for as a folder
        if resolved.is_file():
            return "file", resolved
    except OSError:  # a name too long for the file system, a permission problem …
        pass
    return "missing", None


def contained(root: Path, path: Path) -> Path:
    """``path`` resolved, provided it stays inside ``root`` (Forbidden otherwise)."""
    try:
        resolved = path.resolve()
    except RuntimeError:  # a symlink loop
        raise Forbidden("the path is a symlink loop") from None
    if resolved != root and not resolved.is_relative_to(root):
        raise Forbidden("the path leads outside the output folder")
    return resolved


def open_version(path: Path):
    """(open binary file, its size) for a regular file, or None (gone, not a regular file, a
    symlink at the end). The caller closes the file."""
    try:
        # O_NONBLOCK: a FIFO planted in output/ must not hang the thread (regular files ignore it)
        fd = os.open(
            path,
            os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0),
        )
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.EACCES):
            return None
        raise
    fh = os.fdopen(fd, "rb")
    info = os.fstat(fh.fileno())
    if not stat.S_ISREG(info.st_mode):
        fh.close()
        return None
    return fh, info.st_size


class FileChunks:
    """The bytes of an open file, ``size`` of them at most, in chunks; ``close()`` closes the file
    (also when the chunks were never asked for, as for HEAD)."""

    def __init__(self, fh, size: int, chunk: int = 1 << 20):
        self.fh, self.remaining, self.chunk = fh, size, chunk

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if self.remaining <= 0:
            raise StopIteration
        data = self.fh.read(min(self.chunk, self.remaining))
        if not data:
            raise StopIteration
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.fh.close()
