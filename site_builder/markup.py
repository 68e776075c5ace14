"""Markdown → sanitised HTML, a table of contents, and the plain text that search reads."""
from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import InlineProcessor

_EXTENSIONS = ["extra", "sane_lists", "toc"]
_EXTENSION_CONFIGS = {"toc": {"slugify": slugify_unicode, "toc_depth": "2-4", "permalink": False}}

# Tags and attributes kept by the sanitiser (everything Markdown produces, minus scripts,
# styles, forms, frames and event handlers: nh3 never lets on* attributes or javascript: URLs through).
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}
_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}

_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|pre|tr|dt|dd|div|table|figure)>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
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


# Every inline pattern of the configuration above needs one of these to match: a backslash,
# backtick, [, !, <, & or an emphasis mark, or the line break "two spaces, newline".
_INLINE_TRIGGER = re.compile(r"[\\`\[!<&*_]|  \n")
_INLINE_PATTERNS = frozenset({"backtick", "escape", "footnote", "reference", "link", "image_link",
                              "image_reference", "short_reference", "short_image_ref", "autolink",
                              "automail", "linebreak", "html", "entity", "em_strong"})


class _FastInlineProcessor(InlineProcessor):
    """Python-Markdown's inline processor, returning at once a text in which no inline pattern
    can match (the usual Chinese paragraph has none of the trigger characters): it would try
    every pattern on it and give it back unchanged. Half of Markdown's time on a speech."""

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802
        if patternIndex == 0 and not _INLINE_TRIGGER.search(data):
            return data
        return InlineProcessor._InlineProcessor__handleInline(self, data, patternIndex)


class Renderer:
    """One configured Markdown converter, reset between documents (cheaper than a new one)."""

    def __init__(self, trust_html: bool = False):
        self.trust_html = trust_html
        self._md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS)
        # Only with exactly the patterns whose trigger characters are known (see above).
        if {p.name for p in self._md.inlinePatterns._priority} == _INLINE_PATTERNS:
            self._md.treeprocessors.register(_FastInlineProcessor(self._md), "inline", 20)

    def render(self, source: str) -> Rendered:
        md = self._md
        md.reset()
        # Control characters show as nothing but make the feed invalid XML (and a NUL would be
        # taken for analysis.SEPARATOR); a form feed or vertical tab was a page or line break.
        source = _INVISIBLE.sub("", source.replace("\x0c", "\n").replace("\x0b", "\n").replace("\x85", "\n"))
        body = md.convert(source)
        if not self.trust_html:
            body = nh3.clean(body, tags=_TAGS, attributes=_ATTRIBUTES, link_rel="noopener noreferrer",
                             url_schemes={"http", "https", "mailto"})
        body = _IMG_WITHOUT_ALT.sub('<img alt=""', body)  # valid HTML needs alt; "" = decorative
        toc = Toc(tuple(_flatten(getattr(md, "toc_tokens", []))))
        text = plain_text(body)
        return Rendered(html=body, toc=toc, text=text, word_count=count_words(text))


def _flatten(tokens: list[dict]):
    for tok in tokens:
        yield (tok["level"], tok["id"], html.unescape(_TAG.sub("", tok["name"])))
        yield from _flatten(tok.get("children", []))


def plain_text(body_html: str) -> str:
    """The text of rendered HTML: one line per block, tags removed, entities decoded."""
    text = _BLOCK_END.sub("\n", body_html)
    text = html.unescape(_TAG.sub("", text))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def count_words(text: str) -> int:
    """字数 as readers count it: each Chinese character, plus each Latin word or number."""
    return len(_CJK.findall(text)) + len(_WORD.findall(text))
