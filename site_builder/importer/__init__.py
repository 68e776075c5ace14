"""`site-builder import`: real archives (plain text, Word, saved web pages, PDF) → Markdown.

The pipeline, one module a step (a newcomer reads them in this order):

* :mod:`.sources` — read a file: encodings, .docx, .html, .md, .pdf → text + structure hints.
* :mod:`.layout` — recover paragraphs: one-line web pages, hard-wrapped text, lone numbers,
  footnote markers.
* :mod:`.boilerplate` — drop disclaimers, licence footers, captions (each drop reported).
* :mod:`.metadata` (with :mod:`.metadata_date`, :mod:`.inferred`, :mod:`.datefind`,
  :mod:`.people`, :mod:`.vocabulary`) — title, date, speaker, organisation, location, meeting
  type and themes, each with where it came from.
* :mod:`.headings` — numbered sections → Markdown headings, decided per document.
* :mod:`.convert` — :func:`import_text`, the pure function that ties these together.
* :mod:`.batch` — files and folders, duplicates, writing, the report (:mod:`.sheet`: the
  metadata sheet).
"""

from __future__ import annotations

from .convert import FIELD_ORDER, ImportResult, escape_markdown, import_text, render_front_matter
from .vocabulary import KNOWN_MEETING_TYPES, Vocabulary, scan_vocabulary

__all__ = [
    "FIELD_ORDER",
    "ImportResult",
    "escape_markdown",
    "import_text",
    "render_front_matter",
    "KNOWN_MEETING_TYPES",
    "Vocabulary",
    "scan_vocabulary",
]
