"""Markdown → sanitised HTML, a table of contents, and the plain text that search reads.

The contract between a speech page and its plain text (``blocks.py`` does the numbering)
=========================================================================================

* Every text block of the body — ``p``, ``h1``–``h6``, ``li``, ``dt``, ``dd``, ``td``, ``th`` (and
  ``pre``, ``figcaption``, ``caption``) — gets ``id="p{n}"``, n = the 1-based number of the block in
  document order. A ``p`` inside a ``blockquote`` or an ``li`` counts as that ``p``, not twice; the
  text of an ``li`` before its nested list (and raw HTML's loose text) is wrapped in
  ``<span class="text-block" id="p{n}">``, so ids never nest. A block without text gets no id.
* Headings use this id too: it replaces the slug id, and the table of contents links to ``#p{n}``.
* Each block ends with ``<a class="permalink" href="#p{n}" aria-label="第 n 段的链接">¶</a>``.
* ``Rendered.text``, the plain text (what ``analysis.search_text`` receives as the body, what both
  search indexes store) has exactly one line per block in the same order: line ``i`` (0-based) is
  the text of ``#p{i+1}`` without its ¶ link, whitespace (``<br>`` included) collapsed to single
  spaces. ``plain_text(html)`` of a built page's body gives the same lines.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode

from . import body_pieces, markdown_compat
from .blocks import VOID, Numbered, block_lines, number_blocks

# marker "": a "[TOC]" line stays text (the speech page shows the table of contents already, and
# each marker would copy the whole table: 2,000 of them under 2,000 headings never finish).
_EXTENSION_CONFIGS = {"toc": {"slugify": slugify_unicode, "toc_depth": "2-4", "permalink": False, "marker": ""}}

# Tags and attributes kept by the sanitiser (everything Markdown produces, minus scripts,
# styles, forms, frames and event handlers: nh3 never lets on* attributes or javascript: URLs through).
_TAGS = set(
    "a abbr b blockquote br code dd del div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins"
    " kbd li mark ol p pre q s small span strong sub sup table tbody td tfoot th thead tr u ul".split()
)
_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}

_TAG = re.compile(r"<[^>]+>")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")  # _INVISIBLE or a break
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.'’-][A-Za-z0-9]+)*")

CHARS_PER_MINUTE = 400


@dataclass(frozen=True)
class TocEntry:
    level: int
    id: str
    title: str


class Toc(Sequence):
    """A table of contents: TocEntry items, kept as plain (level, id, title) tuples until used.

    The build cache stores one per speech and a build loads all of them; plain tuples unpickle
    about ten times faster than dataclass objects, and only the pages being rendered read them."""

    __slots__ = ("raw", "_entries")

    def __init__(self, raw: tuple[tuple[int, str, str], ...] = ()):
        self.raw = raw
        self._entries: tuple[TocEntry, ...] | None = None

    def _items(self) -> tuple[TocEntry, ...]:
        if self._entries is None:
            self._entries = tuple(TocEntry(*entry) for entry in self.raw)
        return self._entries

    def __getitem__(self, i):
        return self._items()[i]

    def __len__(self) -> int:
        return len(self.raw)

    def __iter__(self):
        return iter(self._items())

    def __eq__(self, other) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, (Toc, tuple, list)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Toc({self.raw!r})"

    def __reduce__(self):
        return (Toc, (self.raw,))


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: Toc
    text: str  # plain text, one line per block
    word_count: int  # 字数: CJK characters + Latin/number words

    @property
    def reading_minutes(self) -> int:
        return max(1, math.ceil(self.word_count / CHARS_PER_MINUTE))


# The inline patterns of the configuration above: each needs one of markdown_compat.INLINE_TRIGGER's
# characters to match.
_INLINE_PATTERNS = frozenset(
    {
        "backtick",
        "escape",
        "footnote",
        "reference",
        "link",
        "image_link",
        "image_reference",
        "short_reference",
        "short_image_ref",
        "autolink",
        "automail",
        "linebreak",
        "html",
        "entity",
        "em_strong",
    }
)


# -- Limits ------------------------------------------------------------------------------------
# Python-Markdown recurses once per level of nesting (lists, quotes, definitions), and much of its
# work grows with the square of something: the brackets, tags, marks and lines of one paragraph,
# the unclosed "<" and the headings of the whole text; nh3's with the depth of raw HTML. A body
# past these limits is refused with the line and the limit before the parser sees it (1,000 nested
# list levels took 7 s and ended in a RecursionError; 3,000 ran 13 minutes and took 7.9 GB; 20,000
# "[" in a paragraph never ended). Each limit is far above what a speech uses; within all of them
# a file of 4 MB parses whole in a few seconds (a longer body is parsed in pieces, body_pieces: 50 MB
# in about 10 s), and the loader's time budget stops what they miss (tests/test_hostile.py and
# bench/fuzz_build.py try both).
MAX_LINE_CHARS = 200_000  # characters on one line
MAX_NESTING = 32  # levels of lists, quotes and definitions (4 columns of indentation = one level)
MAX_NESTING_TOTAL = 20_000  # levels beyond the first, over all lines
MAX_HTML_NESTING = 100  # levels of raw HTML elements
MAX_HEADINGS = 1_000
MAX_ABBREVIATIONS = 50  # "*[HTML]: …" definitions: each is looked for in all of the text
MAX_PARAGRAPH_LINES = 2_000
#: (name, characters, limit in one paragraph, limit in the speech, hint)
_COUNTED = (
    ("'['", "[", 500, 5_000, "write 【】 for brackets in the text, or put a backslash before each ["),
    ("'<'", "<", 2_000, 20_000, "write 《》 or ＜ for angle brackets in the text, or remove raw HTML"),
    (
        "'<' not closed on its line",
        "<",
        1_000,
        1_000,
        "write 《》 or ＜ for angle brackets in the text, or close the HTML tags",
    ),
    ("of the marks \\ ` * _ & !", "\\`*_&!", 5_000, 50_000, "remove the marks, or split the paragraph"),
    ("'|' (table cells)", "|", 20_000, 20_000, "split the table, or write ｜"),
)
_LOOSE = 2  # index of the unclosed "<" in _COUNTED
_ANY_COUNTED = re.compile(r"[\[<\\`*_&!|]")

_MARKERS = re.compile(r"(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])|:(?=[ \t])))+")
_MARKER = re.compile(r">|[-*+:]|\d{1,9}[.)]")
_HR = re.compile(r"[ ]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_DEFINITION = re.compile(r"[ ]{0,3}:[ \t]")
_HEADING = re.compile(r"[ ]{0,3}#|[ ]{0,3}(?:=+|-+)[ \t]*$")
_ABBREVIATION = re.compile(r"[ ]{0,3}\*\[")
_CLOSED = re.compile(r"<[^<>]*>")
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
# Elements without content, or whose end tag may be left out: they do not nest.
_FLAT_TAGS = VOID | frozenset(
    [
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
        "optgroup",
        "thead",
        "tbody",
        "tfoot",
        "colgroup",
        "rb",
        "rt",
        "rp",
    ]
)


class TooComplex(ValueError):
    """The body is past one of the limits above, at ``line`` (1-based in the body); ``message``
    may name the line where the paragraph began as ``{start}``."""

    def __init__(self, line: int, message: str, hint: str, start: int = 1):
        super().__init__(message.format(start=start))
        self.line, self.template, self.hint, self.start = line, message, hint, start

    def where(self, first_line: int) -> tuple[int, str]:
        """(line, message) in a file whose body begins at line ``first_line``."""
        return self.line + first_line - 1, self.template.format(start=self.start + first_line - 1)


def _indent(line: str) -> int:
    cols = 0
    for ch in line:
        if ch == " ":
            cols += 1
        elif ch == "\t":
            cols += 4 - cols % 4
        else:
            break
    return cols


def _split_lines(source: str):
    """``source.split("\n")`` one line at a time (a big body is not copied into a list)."""
    start = 0
    while (end := source.find("\n", start)) >= 0:
        yield source[start:end]
        start = end + 1
    yield source[start:]


def _lines(source: str):
    """(line number in ``source``, line) of the text the parser is given (see Renderer.render:
    form feeds and the like break lines, control characters are removed)."""
    for number, line in enumerate(_split_lines(source), 1):
        if _SPECIAL.search(line):
            for part in _clean(line).split("\n"):
                yield number, part
        else:
            yield number, line


def _clean(source: str) -> str:
    # Control characters show as nothing but make the feed invalid XML (and a NUL would be
    # taken for analysis.SEPARATOR); a form feed or vertical tab was a page or line break.
    return _INVISIBLE.sub("", source.replace("\x0c", "\n").replace("\x0b", "\n").replace("\x85", "\n"))


def _nesting(line: str, definitions: int) -> int:
    """Levels of lists, quotes and definitions this line opens or sits in."""
    if line[:1] not in " \t>-*+:0123456789" or _HR.fullmatch(line):
        return 0
    chain = _MARKERS.match(line)
    if not chain:
        return 0
    depth = len(_MARKER.findall(chain.group())) + _indent(line) // 4
    return max(depth, definitions) if _DEFINITION.match(line) else depth


def check_limits(source: str) -> None:
    """Raise TooComplex at the first line past a limit. Linear in the text; about 0.1 ms for a
    speech of 70 lines."""
    para = [0] * len(_COUNTED)
    total = [0] * len(_COUNTED)
    definitions = headings = html_depth = abbreviations = nesting_total = para_lines = 0
    start = 1  # the line where the current paragraph began

    def fail(line: int, message: str, hint: str) -> NoReturn:
        raise TooComplex(line, message, hint, start)

    for number, line in _lines(source):
        if len(line) > MAX_LINE_CHARS:
            fail(
                number,
                f"line of {len(line):,} characters (the limit is {MAX_LINE_CHARS:,})",
                "break it into paragraphs (a blank line between them)",
            )
        if not line.strip():
            para = [0] * len(_COUNTED)
            definitions = para_lines = 0
            start = number + 1
            continue
        para_lines += 1
        if para_lines > MAX_PARAGRAPH_LINES:
            fail(
                number,
                f"more than {MAX_PARAGRAPH_LINES:,} lines in the paragraph starting at line {{start}}",
                "put blank lines between its parts",
            )
        if _DEFINITION.match(line):
            definitions += 1
        depth = _nesting(line, definitions)
        if depth > MAX_NESTING:
            fail(
                number,
                f"lists, quotes or definitions nested {depth} levels deep (the limit is {MAX_NESTING})",
                "flatten the nesting: a speech needs a few levels at most",
            )
        if depth > 1:
            nesting_total += depth - 1
            if nesting_total > MAX_NESTING_TOTAL:
                fail(
                    number,
                    f"more than {MAX_NESTING_TOTAL:,} levels of nested lists, quotes or definitions in the speech",
                    "flatten the nesting: a speech needs a few levels at most",
                )
        if line[:4].lstrip()[:1] in ("#", "=", "-") and _HEADING.match(line):
            headings += 1
            if headings > MAX_HEADINGS:
                fail(number, f"more than {MAX_HEADINGS:,} headings", "split the file: one speech per file")
        if "[" in line and _ABBREVIATION.match(line):
            abbreviations += 1
            if abbreviations > MAX_ABBREVIATIONS:
                fail(
                    number,
                    f"more than {MAX_ABBREVIATIONS} abbreviation definitions (*[…]: …)",
                    "keep the few that matter, or put a backslash before the *",
                )
        if _ANY_COUNTED.search(line):
            _count_marks(line, number, para, total, fail)
        if "<" in line:
            html_depth = _html_depth(line, number, html_depth, fail)


def _count_marks(
    line: str, number: int, para: list[int], total: list[int], fail: Callable[[int, str, str], None]
) -> None:
    """Add the line's counted characters (``_COUNTED``) to the paragraph's and the file's counts."""
    for i, (name, chars, per_paragraph, per_file, hint) in enumerate(_COUNTED):
        if i == _LOOSE:
            n = line.count("<") - len(_CLOSED.findall(line)) if "<" in line else 0
        else:
            n = sum(line.count(c) for c in chars if c in line)
        if not n:
            continue
        para[i] += n
        total[i] += n
        if para[i] > per_paragraph:
            fail(number, f"more than {per_paragraph:,} {name} in the paragraph starting at line {{start}}", hint)
        if total[i] > per_file:
            fail(number, f"more than {per_file:,} {name} in the speech", hint)


def _html_depth(line: str, number: int, depth: int, fail: Callable[[int, str, str], None]) -> int:
    """The depth of open HTML elements after ``line``, given ``depth`` before it."""
    for m in _HTML_TAG.finditer(line):
        if m.group(2).lower() in _FLAT_TAGS or m.group(3):
            continue
        depth = max(0, depth - 1) if m.group(1) else depth + 1
        if depth > MAX_HTML_NESTING:
            fail(
                number,
                f"HTML elements nested more than {MAX_HTML_NESTING} levels deep",
                "close the HTML elements you open, or remove the raw HTML",
            )
    return depth


def _extensions() -> list[Extension]:
    """Python-Markdown's "extra" (its parts in its order), "sane_lists" and "toc" as objects: named,
    each was looked up among every installed package's entry points (importlib.metadata, 0.035 s, #15)."""
    from markdown.extensions import abbr, attr_list, def_list, fenced_code, footnotes, md_in_html, sane_lists, tables
    from markdown.extensions import toc as toc_extension

    return [
        fenced_code.FencedCodeExtension(),
        footnotes.FootnoteExtension(),
        attr_list.AttrListExtension(),
        def_list.DefListExtension(),
        tables.TableExtension(),
        abbr.AbbrExtension(),
        md_in_html.MarkdownInHtmlExtension(),
        sane_lists.SaneListExtension(),
        toc_extension.TocExtension(**_EXTENSION_CONFIGS["toc"]),
    ]


class Renderer:
    """One configured Markdown converter, reset between documents (cheaper than a new one)."""

    def __init__(self, trust_html: bool = False):
        self.trust_html = trust_html
        self._md = markdown.Markdown(extensions=_extensions())
        # Only with exactly the patterns whose trigger characters are known (see above).
        markdown_compat.install_fast_inline(self._md, _INLINE_PATTERNS)

    def render(self, source: str) -> Rendered:
        """Raises TooComplex when ``source`` is past one of the limits. A long body is parsed in
        pieces (``body_pieces``), with the same result."""
        md = self._md
        md.reset()
        check_limits(source)
        cleaned = _clean(source)
        if len(cleaned) > body_pieces.SPLIT_CHARS:
            rendered = self._render_pieces(cleaned)
            if rendered is not None:
                return rendered
            md.reset()
        numbered = number_blocks(self._sanitise(md.convert(cleaned)))
        text = "\n".join(numbered.lines)
        return Rendered(html=numbered.html, toc=self._toc(numbered), text=text, word_count=count_words(text))

    def _sanitise(self, body: str) -> str:
        if not self.trust_html:
            body = nh3.clean(
                body,
                tags=_TAGS,
                attributes=_ATTRIBUTES,
                link_rel="noopener noreferrer",
                url_schemes={"http", "https", "mailto"},
            )
        return _IMG_WITHOUT_ALT.sub('<img alt=""', body)  # valid HTML needs alt; "" = decorative

    def _toc(self, numbered: Numbered) -> Toc:
        """The table of contents of the last document converted; it links to the headings' new
        ids (a heading without text has none)."""
        renamed = numbered.renamed
        return Toc(
            tuple(
                (level, renamed[old], title)
                for level, old, title in _flatten(getattr(self._md, "toc_tokens", []))
                if old in renamed
            )
        )

    def _render_pieces(self, body: str) -> Rendered | None:
        """``body`` parsed piece by piece; None when it cannot be (one piece, or two pieces that
        define one reference differently)."""
        pieces = body_pieces.split(body)
        references = self._references(pieces) if len(pieces) > 1 and body_pieces.has_definitions(body) else {}
        if len(pieces) == 1 or references is None:
            return None
        md = self._md
        html_parts: list[str] = []
        lines: list[str] = []
        toc: list[tuple[int, str, str]] = []
        words = 0
        while pieces:
            md.reset()
            md.references.update(references)
            numbered = number_blocks(self._sanitise(md.convert(pieces.pop(0))), before=len(lines))
            toc += self._toc(numbered).raw
            words += count_words("\n".join(numbered.lines))  # a word never spans two lines
            lines += numbered.lines
            if numbered.html:
                html_parts.append(numbered.html)
        text = "\n".join(lines)
        del lines
        return Rendered(html="\n".join(html_parts), toc=Toc(tuple(toc)), text=text, word_count=words)

    def _references(self, pieces: list[str]) -> dict | None:
        """The reference links defined in all pieces (the whole body's); None when two pieces
        define one name differently (in the whole body the last definition counts everywhere)."""
        md = self._md
        found: dict = {}
        for piece in pieces:
            md.reset()
            md.parser.parseDocument(_preprocessed(md, piece))  # the block parser reads the definitions
            for name, value in md.references.items():
                if found.setdefault(name, value) != value:
                    return None
        return found


def _preprocessed(md: markdown.Markdown, source: str) -> list[str]:
    """The lines that ``md.convert`` gives its block parser (Markdown.convert's first step)."""
    lines = source.split("\n")
    for preprocessor in md.preprocessors:
        lines = preprocessor.run(lines)
    return lines


def _flatten(tokens: list[dict]):
    for tok in tokens:
        yield (tok["level"], tok["id"], html.unescape(_TAG.sub("", tok["name"])))
        yield from _flatten(tok.get("children", []))


def plain_text(body_html: str) -> str:
    """The plain text of a body's HTML (numbered or not): one line per block (see the contract above)."""
    return "\n".join(block_lines(body_html))


def count_words(text: str) -> int:
    """字数 as readers count it: each Chinese character, plus each Latin word or number. Counted
    without a list of every character (that list was 25 times the size of a long text)."""
    return len(text) - len(_CJK_RUN.sub("", text)) + sum(1 for _ in _WORD.finditer(text))
