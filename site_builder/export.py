"""Data out: one row per speech as CSV or JSON Lines (``site-builder export``), and search hits
as CSV (``site-builder search --csv``).

The speeches are read exactly as ``check`` reads them (the build cache when it is current, the
files otherwise; nothing is written): the rows are the speeches the site publishes, newest first,
with the page URL the build gives them (relative to the site's root, as ``search --json`` gives
it). A speech with errors has no row; its problems are returned for the caller to print.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

from .errors import Problem, UsageError

FIELDS = ["source", "url", "title", "date", "meeting_type", "themes", "speaker", "organization", "字数"]
SEARCH_FIELDS = ["source", "url", "title", "date", "meeting_type", "excerpt"]
THEME_SEPARATOR = ";"  # themes in one CSV cell (import --metadata reads ; and 、)


class _TextKeepingCache:
    """The build cache as ``loader.load`` uses it, read-only, keeping the plain text of the
    files it parses afresh (a read-only cache stores nothing)."""

    def __init__(self, base):
        self.base = base
        self.texts: dict[tuple[str, str], str] = {}

    def put_parsed(self, source, digest, meta, html_, text) -> None:
        self.texts[(source, digest)] = text

    def text(self, source: str, digest: str) -> str:
        hit = self.texts.get((source, digest))
        return hit if hit is not None else self.base.body(source, digest)[1]

    def __getattr__(self, name):  # file_stats, parsed, page_keys, … from the build cache
        return getattr(self.base, name)


def load_rows(config, with_text: bool = False) -> tuple[list[dict], list[Problem], list[str]]:
    """(rows, error problems, sources skipped because of errors)."""
    from . import loader
    from .build import _parse_fingerprint
    from .cache import BuildCache
    from .model import build_archive
    from .urls import UrlMap

    if not config.content.is_dir():
        folder = loader.display_path(config.content)
        raise UsageError(
            f"content folder {folder} not found: point --content (or content_dir in "
            "pyproject.toml) at the folder holding the speeches"
        )
    base = BuildCache(config.state_dir, readonly=True)
    if base.get("parse_settings") != _parse_fingerprint(config):  # parsed with other settings or code
        base.close()
        base = BuildCache(Path("/nonexistent"), readonly=True)  # empty, in memory
    cache = _TextKeepingCache(base)
    content = config.content

    def shown(source: str) -> str:
        return loader.display_path(content / source)

    try:
        settings = loader.ParseSettings(config.trust_html, config.meeting_types, config.themes)
        speeches, problems, _stats = loader.load(config.content, cache, settings, config.drafts)  # type: ignore[arg-type]  # duck-typed cache
        archive = build_archive(speeches, UrlMap(config.urls), shown)
        rows = []
        for s in archive.speeches:
            m = s.meta
            row = {
                "source": s.source,
                "url": s.url,
                "title": m.title,
                "date": m.date.iso(),
                "meeting_type": m.meeting_type,
                "themes": list(m.themes),
                "speaker": m.speaker or "",
                "organization": m.organization or "",
                "字数": s.word_count,
            }
            if with_text:
                row["text"] = cache.text(s.source, s.digest)
            rows.append(row)
    finally:
        base.close()
    errors = [p for p in problems + archive.problems if p.is_error]
    # The files that have an error and no row (drafts and valid speeches have no error).
    where = {p.path for p in errors}
    exported = {s.source for s in archive.speeches}
    skipped = sorted(f.source for f in loader.scan(content)[0] if f.source not in exported and shown(f.source) in where)
    return rows, errors, skipped


def _cell(value) -> str | int:
    if isinstance(value, (list, tuple)):
        return THEME_SEPARATOR.join(value)
    return value


def write_csv(rows: Iterable[dict], fields: list[str], stream) -> int:
    writer = csv.DictWriter(stream, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in fields})
        n += 1
    return n


def write_jsonl(rows: Iterable[dict], stream) -> int:
    n = 0
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def excerpt_text(excerpt_html: str) -> str:
    """A search excerpt (``<mark>``, escaped HTML) as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", excerpt_html))


def search_rows(result: dict) -> list[dict]:
    return [
        {
            "source": h["source"],
            "url": h["url"],
            "title": h["title"],
            "date": h["date"],
            "meeting_type": h["meeting_type"],
            "excerpt": excerpt_text(h.get("excerpt") or ""),
        }
        for h in result["hits"]
    ]


def csv_text(rows: Iterable[dict], fields: list[str]) -> str:
    buf = io.StringIO(newline="")
    write_csv(rows, fields, buf)
    return buf.getvalue()
