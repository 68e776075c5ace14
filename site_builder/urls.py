"""Every page's output path in one table (config.urls), and relative links between pages.

Links are relative (``../years/2020/index.html``) and name ``index.html`` explicitly, so the
same output works from a web server, from a sub-folder of one, and opened from ``file://``.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote


class UrlMap:
    def __init__(self, patterns: dict[str, str]):
        self.patterns = patterns

    def path(self, kind: str, slug: str = "", year: int | str = "", page: int = 1) -> str:
        """Output path (relative to output/) of a page; page 1 of a listing is its index."""
        if page > 1:
            kind = f"{kind}_page"
        return self.patterns[kind].format(slug=slug, year=year, page=page)


def rel(from_path: str, to_path: str) -> str:
    """URL of ``to_path`` relative to the page at ``from_path`` (both relative to output/), %-encoded."""
    start = posixpath.dirname(from_path) or "."
    target = posixpath.relpath(to_path, start)
    return quote(target, safe="/#?=&")


def absolute(base_url: str, path: str) -> str:
    """Absolute URL for the feed and sitemap."""
    return base_url.rstrip("/") + "/" + quote(path, safe="/")
