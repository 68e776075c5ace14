"""What is compared: a speech file, a built page, a URL → ``Side`` (title, plain text, where)."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path


class CompareError(Exception):
    """An input that cannot be read; ``exit_code`` 1 for content, 2 for usage."""

    def __init__(self, message: str, exit_code: int = 2, problems: list | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.problems = problems or []


@dataclass
class Side:
    arg: str  # as given on the command line
    title: str
    text: str
    where: str  # the file or URL read


MAX_FETCH = 20 * 1024 * 1024
_BODY_OPEN = re.compile(r"<div\b[^>]*\bclass\s*=\s*\"[^\"]*\bspeech-body\b[^\"]*\"[^>]*>", re.I)
_DIV = re.compile(r"<(/?)div\b[^>]*>", re.I)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.I | re.S)


def page_text(page_html: str) -> tuple[str, str]:
    """(title, plain text of the body) of a built speech page: the inside of its
    ``<div class="speech-body">``, made plain exactly as the build makes the body's text."""
    from ..markup import plain_text

    m = _BODY_OPEN.search(page_html)
    if not m:
        raise ValueError('not a speech page (no <div class="speech-body">)')
    depth = 1
    for d in _DIV.finditer(page_html, m.end()):
        depth += -1 if d.group(1) else 1
        if depth == 0:
            body = page_html[m.end() : d.start()]
            break
    else:
        body = page_html[m.end() :]
    h1 = _H1.search(page_html)
    title = html.unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip() if h1 else ""
    return title, plain_text(body)


def _speech_file(path: Path, config) -> tuple[str, str]:
    from ..loader import ParseSettings, display_path, parse_bytes

    shown = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CompareError(f"{shown}: cannot read it: {err.strerror}") from None
    settings = ParseSettings(config.trust_html, config.meeting_types, config.themes)
    parsed, _html, text = parse_bytes(shown, data, settings)
    errors = [p for p in parsed.problems if p.is_error]
    if parsed.meta is None or errors:
        raise CompareError(f"{shown} has errors; fix them first (site-builder check)", 1, errors)
    return parsed.meta.title, text


def _fetch(url: str) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "site-builder compare"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read(MAX_FETCH + 1)
            charset = response.headers.get_content_charset() or "utf-8"
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise CompareError(f"{url}: cannot fetch it: {reason}") from None
    if len(data) > MAX_FETCH:
        raise CompareError(f"{url}: larger than {MAX_FETCH >> 20} MB; not a speech page")
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def read_side(arg: str, config) -> Side:
    """A speech file (.md), a built speech page (a path, also relative to the output folder, or a
    file:// URL), or the http(s) URL of one."""
    parts = urllib.parse.urlsplit(arg)
    if parts.scheme in ("http", "https"):
        source, where = _fetch(arg), arg
    else:
        if parts.scheme == "file":
            path = Path(urllib.request.url2pathname(parts.path))
        else:
            path = Path(arg)
            if not path.exists() and config is not None:
                rel = arg.split("?", 1)[0].split("#", 1)[0].lstrip("/")
                rel = urllib.parse.unquote(rel) if "%" in rel else rel
                for candidate in (config.output / rel, config.content / rel):
                    if candidate.exists():
                        path = candidate
                        break
        if not path.exists():
            raise CompareError(
                f"{arg}: no such file (give a speech's .md file, a page under the output folder, or its URL)"
            )
        if path.is_dir():
            raise CompareError(f"{arg}: is a folder; give a speech's .md file or page")
        if path.suffix.lower() == ".md":
            title, text = _speech_file(path, config)
            return Side(arg, title, text, str(path))
        try:
            source = path.read_bytes().decode("utf-8", "replace")
        except OSError as err:
            raise CompareError(f"{arg}: cannot read it: {err.strerror}") from None
        where = str(path)
    try:
        title, text = page_text(source)
    except ValueError as err:
        raise CompareError(f"{arg}: {err}") from None
    return Side(arg, title, text, where)
