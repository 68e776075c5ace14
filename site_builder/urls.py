"""Every page's output path in one table (config.urls), and relative links between pages.

Links are relative (``../years/2020/index.html``) and name ``index.html`` explicitly, so the
same output works from a web server, from a sub-folder of one, and opened from ``file://``.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote


class UrlMap:
    def __init__(self, patterns: dict[str, str]):
        self.patterns = patterns

    def path(self, kind: str, slug: str = "", year: int | str = "", page: int = 1) -> str:
        """Output path (relative to output/) of a page; page 1 of a listing is its index."""
        if page > 1:
            kind = f"{kind}_page"
        return self.patterns[kind].format(slug=slug, year=year, page=page)


#: What a relative link escapes: ASCII that is not safe in it, and every non-ASCII character that is
#: not a letter or digit (punctuation, spaces, marks, controls). Letters and digits of any script
#: (汉字) are written as they are, not as three %XX each: HTML allows them in an address, the
#: browser encodes them (UTF-8) when it follows the link, and a page's links weigh a third.
_ESCAPED = re.compile(r"[^\w/#?=&.~-]")


def rel(from_path: str, to_path: str) -> str:
    """URL of ``to_path`` relative to the page at ``from_path`` (both relative to output/); see _ESCAPED."""
    start = posixpath.dirname(from_path) or "."
    target = posixpath.relpath(to_path, start)
    return _ESCAPED.sub(lambda m: quote(m.group(), safe=""), target)


def absolute(base_url: str, path: str) -> str:
    """Absolute URL for the feed and sitemap."""
    return base_url.rstrip("/") + "/" + quote(path, safe="/")
