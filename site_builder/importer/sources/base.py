"""What every reader of a source format returns (:class:`Source`) or raises (:class:`SourceError`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import SiteBuilderError


class SourceError(SiteBuilderError):
    """A file that cannot be read; str(err) is a one-line message naming the file, saying why and what to do."""


@dataclass
class Source:
    text: str  # the text, "\n" line ends, one source paragraph (or source line, for plain text) per line; NOTHING of the document's text left out
    format: str  # what was read, for messages: "UTF-8", "UTF-8 (BOM)", "UTF-16", "GB18030", "Big5", "DOCX", "HTML (UTF-8)", "Markdown", "PDF"
    headings: dict[int, int] = field(
        default_factory=dict
    )  # 1-based line number in `text` -> heading level 1..6 known from the source's structure (Word heading styles / outline level, <h1>-<h6>, Markdown '#' lines), excluding the document title
    title: str | None = (
        None  # a title the format states outright (HTML <h1> of the article or <title> minus the site name; docx core property title or a 'Title'/'标题' style paragraph); None if none
    )
    notes: list[str] = field(
        default_factory=list
    )  # one-line remarks for the import report, e.g. "3 footnotes appended at the end", "2 tables read as lines, cells separated by ' | '"
