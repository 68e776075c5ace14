"""Every page's output path in one table (config.urls), and relative links between pages.

Links are relative (``../years/2020/index.html``) and name ``index.html`` explicitly, so the
same output works from a web server, from a sub-folder of one, and opened from ``file://``.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from urllib.parse import quote


class UrlMap:
    def __init__(self, patterns: dict[str, str]):
        self.patterns = patterns

    def path(self, kind: str, slug: str = "", year: int | str = "", page: int | None = None) -> str:
        """Output path (relative to output/) of a page; with ``page``, that numbered page of a
        listing (``{kind}_page``, counted from the oldest: listings.py), else its index."""
        if page is not None:
            kind = f"{kind}_page"
        return self.patterns[kind].format(slug=slug, year=year, page=page)


#: What a relative link escapes: ASCII that is not safe in it, and every non-ASCII character that is
#: not a letter or digit (punctuation, spaces, marks, controls). Letters and digits of any script
#: (汉字) are written as they are, not as three %XX each: HTML allows them in an address, the
#: browser encodes them (UTF-8) when it follows the link, and a page's links weigh a third.
_ESCAPED = re.compile(r"[^\w/#?=&.~-]")


def rel(from_path: str, to_path: str) -> str:
    """URL of ``to_path`` relative to the page at ``from_path`` (both relative to output/); see _ESCAPED."""
    return _rel_from(posixpath.dirname(from_path), to_path)


@lru_cache(maxsize=32768)  # a listing links to every term; pages of one folder link to the same places
def _rel_from(folder: str, to_path: str) -> str:
    """``rel`` from a page in ``folder`` (posixpath.dirname of its path): posixpath.relpath's answer,
    computed from the two paths' parts without the absolute paths (os.getcwd) it goes through —
    a listing page has 100 links (#15: 2 of the 6 s CPU of rendering 700 pages)."""
    start, target = _parts(folder) if folder else [], _parts(to_path)
    if start is None or target is None:  # ".", "..", absolute: as relpath resolves them
        path = posixpath.relpath(to_path, folder or ".")
    else:
        common = 0
        for a, b in zip(start, target):
            if a != b:
                break
            common += 1
        path = "/".join([".."] * (len(start) - common) + target[common:]) or "."
    return _ESCAPED.sub(lambda m: quote(m.group(), safe=""), path)


def _parts(path: str) -> list[str] | None:
    """The names of a relative path without "." or ".." (empty ones, of "a//b" or "a/", dropped as
    normpath does); None for any other path."""
    if path.startswith("/") or not path:  # ("": relpath raises for a target, gives "." for a folder)
        return None
    parts = [p for p in path.split("/") if p]
    return None if "." in parts or ".." in parts else parts


def absolute(base_url: str, path: str) -> str:
    """Absolute URL for the feed and sitemap."""
    return base_url.rstrip("/") + "/" + quote(path, safe="/")
