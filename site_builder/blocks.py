"""The text blocks of a speech body: ids ``p1 … pN``, a ¶ link in each, one line of plain text each.

The contract (also in ``markup.py`` and docs/architecture.md, "Contracts between stages")
=========================================================================================

* Every **text block** of a body gets ``id="p{n}"``, n = its 1-based number in document order.
  The text blocks are ``p``, ``h1``–``h6``, ``li``, ``dt``, ``dd``, ``td``, ``th`` (and ``pre``,
  ``figcaption``, ``caption``, so that no text is outside a block). A block that holds other blocks
  is not one itself: a ``p`` inside a ``blockquote`` or an ``li`` counts once, as that ``p``. Text
  that is in no block of its own — the words of a list item before its nested list, raw HTML's
  loose text — is wrapped in ``<span class="text-block" id="p{n}">``. So ids never nest.
* A block whose text is empty (whitespace, an image) is not a block: no id, no line.
* Headings take the id too (the table of contents links to ``#p{n}``).
* Each block ends with ``<a class="permalink" href="#p{n}" aria-label="第 n 段的链接">¶</a>``.
* The **plain text** (what ``analysis.search_text`` receives as the body, what the indexes store,
  what ``compare`` compares) has exactly one line per block, in the same order: line ``i``
  (0-based) is the text of ``#p{i+1}``. A block's line is its text content without the ¶ link,
  character references decoded, ``<br>`` and every run of whitespace (the full-width space
  included) made one space, trimmed; text inside ``script``, ``style`` and ``template`` is not text.

Our own markup (``a.permalink``, ``span.text-block``) is dropped before numbering, so numbering a
numbered body gives it back unchanged and ``plain_text`` of a built page's body equals the text the
build indexed. The HTML is read with the standard library's tokenizer and written back as it came,
with only the ids, links and wrappers added: the sanitised HTML that ``markup`` hands over is well
formed; raw HTML under ``trust_html`` that a browser would restructure may get ids the browser
places differently.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: Part of every search document's fingerprint (build.py): a new way of making the plain text
#: re-indexes every speech in both indexes.
TEXT_VERSION = 2  # 2: one line per block, ids p1…pN (#13)

TEXT_BLOCKS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "dt",
        "dd",
        "td",
        "th",
        "pre",
        "figcaption",
        "caption",
    }
)
HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
# Elements that stay inside a line of text; any other element (div, ul, table, blockquote, hr,
# unknown tags) separates blocks.
INLINE = frozenset(
    {
        "a",
        "abbr",
        "acronym",
        "b",
        "bdi",
        "bdo",
        "big",
        "br",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "mark",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
        "label",
        "script",
        "style",
        "template",
    }
)
NO_TEXT = frozenset({"script", "style", "template"})
VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
# A start tag of one of these closes an open <p> (as an HTML parser would).
_CLOSES_P = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "details",
        "dialog",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    }
)
_SIBLINGS = {
    "li": ({"li"}, {"ul", "ol"}),
    "dt": ({"dt", "dd"}, {"dl"}),
    "dd": ({"dt", "dd"}, {"dl"}),
    "tr": ({"tr"}, {"table", "thead", "tbody", "tfoot"}),
    "td": ({"td", "th"}, {"tr", "table"}),
    "th": ({"td", "th"}, {"tr", "table"}),
}
OUR_ID = re.compile(r"p\d+")
PERMALINK_CLASS = "permalink"
WRAPPER_CLASS = "text-block"


def permalink(n: int) -> str:
    return f'<a class="{PERMALINK_CLASS}" href="#p{n}" aria-label="第 {n} 段的链接">¶</a>'


@dataclass
class _El:
    tag: str
    attrs: list
    start: str  # the start tag as written ("" for the root)
    children: list = field(default_factory=list)  # _El, or ("text", raw) / ("raw", raw)
    closed: bool = False  # an end tag was seen
    _structural: bool | None = None

    def classes(self) -> set[str]:
        for k, v in self.attrs:
            if k == "class":
                return set((v or "").split())
        return set()

    def ours(self) -> str | None:
        """'link' for our ¶ link, 'wrapper' for our text wrapper, else None."""
        if self.tag == "a" and PERMALINK_CLASS in self.classes():
            return "link"
        if self.tag == "span" and WRAPPER_CLASS in self.classes():
            return "wrapper"
        return None

    def structural(self) -> bool:
        """Holds or is something that separates blocks."""
        if self._structural is None:
            self._structural = self.tag not in INLINE or any(
                isinstance(c, _El) and c.structural() for c in self.children
            )
        return self._structural


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.root = _El("", [], "")
        self.stack = [self.root]

    def _open(self, tag: str) -> None:
        names = [e.tag for e in self.stack]
        if tag in _CLOSES_P and "p" in names:
            self._close_to(names.index("p"))
        if tag in _SIBLINGS:
            same, scope = _SIBLINGS[tag]
            for i in range(len(self.stack) - 1, 0, -1):
                t = self.stack[i].tag
                if t in scope:
                    break
                if t in same:
                    self._close_to(i)
                    break

    def _close_to(self, i: int) -> None:
        del self.stack[i:]

    def handle_starttag(self, tag, attrs):
        self._open(tag)
        el = _El(tag, attrs, self.get_starttag_text() or f"<{tag}>")
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self._open(tag)
        el = _El(tag, attrs, self.get_starttag_text() or f"<{tag}>")
        el.closed = True
        self.stack[-1].children.append(el)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                self.stack[i].closed = True
                self._close_to(i)
                return
        # a stray end tag: nothing to close

    def _text(self, raw: str) -> None:
        kids = self.stack[-1].children
        if kids and isinstance(kids[-1], tuple) and kids[-1][0] == "text":
            kids[-1] = ("text", kids[-1][1] + raw)
        else:
            kids.append(("text", raw))

    def handle_data(self, data):
        self._text(data)

    def handle_entityref(self, name):
        self._text(f"&{name};")

    def handle_charref(self, name):
        self._text(f"&#{name};")

    def handle_comment(self, data):
        self.stack[-1].children.append(("raw", f"<!--{data}-->"))

    def handle_decl(self, decl):
        self.stack[-1].children.append(("raw", f"<!{decl}>"))

    def handle_pi(self, data):
        self.stack[-1].children.append(("raw", f"<?{data}>"))

    def unknown_decl(self, data):
        self.stack[-1].children.append(("raw", f"<![{data}]>"))


def _parse(body_html: str) -> _El:
    builder = _TreeBuilder()
    builder.feed(body_html)
    builder.close()
    return builder.root


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _text_of(nodes, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, tuple):
            if node[0] == "text":
                out.append(html.unescape(node[1]))
        elif node.tag == "br":
            out.append(" ")
        elif node.tag in NO_TEXT or node.ours() == "link":
            continue
        else:
            _text_of(node.children, out)


def _line(nodes) -> str:
    out: list[str] = []
    _text_of(nodes, out)
    return _collapse("".join(out))


@dataclass
class Numbered:
    html: str  # the body with ids, ¶ links and wrappers
    lines: list[str]  # one per block
    headings: list[int]  # 0-based numbers of the lines that are headings (or inside one)
    renamed: dict[str, str]  # a heading's id before numbering → its p{n}


class _Numberer:
    def __init__(self, before: int = 0) -> None:
        self.before = before  # blocks numbered before this body (a big body is numbered in pieces)
        self.out: list[str] = []
        self.lines: list[str] = []
        self.headings: list[int] = []
        self.renamed: dict[str, str] = {}

    # -- writing back
    def start_tag(self, el: _El, new_id: str | None) -> str:
        old_id = next((v for k, v in el.attrs if k == "id"), None)
        if new_id is None and not (old_id is not None and OUR_ID.fullmatch(old_id or "")):
            return el.start
        if new_id is not None and old_id and el.tag in HEADINGS:
            self.renamed.setdefault(old_id, new_id)
        attrs = [(k, v) for k, v in el.attrs if k != "id"]
        if new_id is not None:
            attrs.insert(0, ("id", new_id))
        parts = [f"<{el.tag}"]
        for k, v in attrs:
            parts.append(f" {k}" if v is None else f' {k}="{html.escape(v, quote=True)}"')
        parts.append(" />" if el.start.rstrip().endswith("/>") and el.tag in VOID else ">")
        return "".join(parts)

    def emit(self, node, in_heading: bool) -> None:
        """Write a node that is not numbered itself (but may hold numbered blocks)."""
        if isinstance(node, tuple):
            self.out.append(node[1])
            return
        kind = node.ours()
        if kind == "link":
            return
        if kind == "wrapper":
            for child in node.children:
                self.emit(child, in_heading)
            return
        self.out.append(self.start_tag(node, None))
        for child in node.children:
            self.emit(child, in_heading)
        self.end_tag(node)

    def end_tag(self, el: _El) -> None:
        if el.tag not in VOID and (el.closed or el.tag):
            self.out.append(f"</{el.tag}>")

    def new_block(self, line: str, heading: bool) -> int:
        self.lines.append(line)
        if heading:
            self.headings.append(self.before + len(self.lines) - 1)
        return self.before + len(self.lines)

    # -- the walk
    def block(self, el: _El, in_heading: bool) -> None:
        """An element that may hold blocks: number it, or its loose runs and its children."""
        heading = in_heading or el.tag in HEADINGS
        kids = el.children
        if el.tag in TEXT_BLOCKS and not any(
            isinstance(c, _El) and c.structural() and c.ours() != "wrapper" for c in kids
        ):
            line = _line(kids)
            if line:
                n = self.new_block(line, heading)
                self.out.append(self.start_tag(el, f"p{n}"))
                for child in kids:
                    self.emit(child, heading)
                self.out.append(permalink(n))
                self.end_tag(el)
                return
            self.emit(el, heading)
            return
        if el.tag:
            self.out.append(self.start_tag(el, None))
        run: list = []
        for child in kids:
            if isinstance(child, _El) and child.structural() and child.ours() != "wrapper":
                self.run(run, heading)
                run = []
                self.block(child, heading)
            else:
                run.append(child)
        self.run(run, heading)
        if el.tag:
            self.end_tag(el)

    def run(self, nodes: list, heading: bool) -> None:
        """Inline content outside any block: wrapped as a block when it has text."""
        line = _line(nodes)
        if not line:
            for node in nodes:
                self.emit(node, heading)
            return
        # Leading and trailing whitespace stays outside the wrapper.
        lead: list = []
        trail: list = []
        while nodes and isinstance(nodes[0], tuple) and not _collapse(html.unescape(nodes[0][1])):
            lead.append(nodes.pop(0))
        while nodes and isinstance(nodes[-1], tuple) and not _collapse(html.unescape(nodes[-1][1])):
            trail.insert(0, nodes.pop())
        for node in lead:
            self.emit(node, heading)
        n = self.new_block(line, heading)
        self.out.append(f'<span class="{WRAPPER_CLASS}" id="p{n}">')
        for node in nodes:
            self.emit(node, heading)
        self.out.append(permalink(n) + "</span>")
        for node in trail:
            self.emit(node, heading)


def number_blocks(body_html: str, before: int = 0) -> Numbered:
    """The body with ids, ¶ links and wrappers (see the contract above), and its lines. ``before``:
    the number of blocks before this part of a body (its first block is ``p{before + 1}``)."""
    root = _parse(body_html)
    numberer = _Numberer(before)
    numberer.block(root, False)
    return Numbered("".join(numberer.out), numberer.lines, numberer.headings, numberer.renamed)


def block_lines(body_html: str) -> list[str]:
    """The plain text's lines of a body (numbered or not): one per block."""
    return number_blocks(body_html).lines


_HEADING_ID = re.compile(r'<h[1-6] id="p(\d+)"')


def heading_lines(numbered_html: str) -> tuple[int, ...]:
    """0-based line numbers of the headings of a numbered body (what the ranking weighs)."""
    return tuple(int(m.group(1)) - 1 for m in _HEADING_ID.finditer(numbered_html))
