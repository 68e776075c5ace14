"""The article inside a web page, and its text as lines (the heuristic, and why ours: see the package docstring).

:func:`choose_article` scores blocks by the Chinese text of their paragraphs and climbs to the element
that also holds the article's ``<h1>``; :func:`linearise` writes everything inside it as lines, except
scripts, navigation-like elements and link lists.
"""

from __future__ import annotations

import re
from typing import Any

_BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "nav",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "caption",
    "figure",
    "figcaption",
    "center",
    "address",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "form",
    "fieldset",
    "legend",
    "details",
    "summary",
    "body",
    "html",
    "font_block",
}
_SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "title",
    "meta",
    "link",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "canvas",
    "select",
    "option",
    "button",
    "input",
    "textarea",
    "map",
    "area",
    "audio",
    "video",
    "source",
    "img",
    "picture",
    "frame",
    "frameset",
    "base",
    "param",
    "track",
    "dialog",
}
_NAV_TAGS = {"nav", "aside", "footer", "menu"}
_BOILER_WORDS = {
    "nav",
    "navbar",
    "navi",
    "navigation",
    "menu",
    "menus",
    "footer",
    "foot",
    "bottom",
    "sidebar",
    "side",
    "crumb",
    "crumbs",
    "breadcrumb",
    "breadcrumbs",
    "share",
    "sharing",
    "bdshare",
    "related",
    "relate",
    "recommend",
    "hot",
    "rank",
    "ranking",
    "copyright",
    "comment",
    "comments",
    "login",
    "search",
    "banner",
    "ad",
    "ads",
    "advert",
    "pager",
    "print",
    "toolbar",
    "tools",
    "topbar",
    "top",
    "header",
    "head",
    "logo",
    "friendlink",
    "links",
    "qrcode",
    "weixin",
    "subnav",
    "mainnav",
}
_CONTENT_WORDS = {
    "article",
    "content",
    "main",
    "body",
    "text",
    "title",
    "post",
    "entry",
    "zoom",
    "detail",
    "artibody",
    "story",
    "news",
    "con",
    "txt",
    "editor",
    "trs",
    "cont",
    "wenzhang",
    "zhengwen",
    "info",
}
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff，。、；：？！“”（）《》]")
SPACE_RE = re.compile(r"[ \t\n\r\f]+")


def _classes(el) -> set[str]:
    words: set[str] = set()
    for attr in ("class", "id", "role"):
        value = el.get(attr)
        if value:
            words.update(w for w in _WORD_SPLIT.split(value.lower()) if w)
    return words


def _is_boilerplate(el) -> bool:
    tag = el.tag
    if tag in _NAV_TAGS:
        return True
    if tag == "header":
        return not any(a.tag in ("article", "main") for a in el.iterancestors())
    words = _classes(el)
    if not words or words & _CONTENT_WORDS:
        return False
    return bool(words & _BOILER_WORDS)


class Page:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.skipped: set = set()  # element ids left out with all inside them
        self.boiler: set = set()
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            if el.tag in _SKIP_TAGS:
                self.skipped.add(el)
            elif el.tag not in ("html", "body") and _is_boilerplate(el):
                self.boiler.add(el)

    def excluded(self, el) -> bool:
        node = el
        while node is not None:
            if node in self.skipped or node in self.boiler:
                return True
            node = node.getparent()
        return False

    def units(self):
        """(element, Chinese characters outside links, characters in links) of each run of inline text."""
        result = []
        for el in self.root.iter():
            if not isinstance(el.tag, str) or el.tag not in _BLOCK_TAGS:
                continue
            own, links = self._inline_text(el)
            cjk = len(_CJK_RE.findall(own))
            if cjk or links:
                result.append((el, cjk, links))
        return result

    def _inline_text(self, el) -> tuple[str, int]:
        """Text directly in block ``el`` (through inline children, not nested blocks) and its characters in links."""
        parts = [el.text or ""]
        links = 0
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _BLOCK_TAGS and child not in self.skipped:
                text, inner_links = self._inline_all(child)
                if child.tag == "a":
                    links += len(text.strip())
                else:
                    parts.append(text)
                    links += inner_links
            parts.append(child.tail or "")
        return "".join(parts), links

    def _inline_all(self, el) -> tuple[str, int]:
        parts = [el.text or ""]
        links = 0
        for child in el:
            if isinstance(child.tag, str) and child not in self.skipped:
                text, inner = self._inline_all(child)
                if child.tag == "a":
                    links += len(text.strip())
                else:
                    parts.append(text)
                    links += inner
            parts.append(child.tail or "")
        return "".join(parts), links


_PARA_TAGS = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "dd",
    "dt",
    "pre",
    "blockquote",
    "figcaption",
    "caption",
    "center",
    "th",
}


def choose_article(page: Page, title_el):
    scores: dict = {}
    links: dict = {}
    units = [u for u in page.units() if not page.excluded(u[0])]
    for el, cjk, link_chars in units:
        container = el.getparent() if el.tag in _PARA_TAGS and el.getparent() is not None else el
        scores[container] = scores.get(container, 0.0) + cjk
        links[container] = links.get(container, 0) + link_chars
        parent = container.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0.0) + cjk / 2
            links[parent] = links.get(parent, 0) + link_chars / 2
    if not scores:
        return None, units

    def adjusted(el):
        total = scores[el] + links.get(el, 0)
        return scores[el] * (1 - links.get(el, 0) / total) if total else 0

    top = max(scores, key=adjusted)
    if adjusted(top) <= 0:
        return None, units
    # Climb to the element that also holds the article's title, and over siblings holding more paragraphs.
    root = top
    base = sum(c for el, c, _l in units if _within(el, top))
    for step in range(6):
        parent = root.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        has_title = title_el is not None and _within(title_el, parent) and not _within(title_el, root) and step < 4
        outside = [(el, c, lk) for el, c, lk in units if _within(el, parent) and not _within(el, root)]
        extra = sum(c for _el, c, _lk in outside)
        extra_links = sum(lk for _el, _c, lk in outside)
        # a short paragraph beside the main block (a salutation, a byline) is part of the article too
        paragraphs_only = bool(outside) and extra_links == 0 and all(el.tag in _PARA_TAGS for el, _c, _lk in outside)
        if has_title or (extra >= 0.25 * base and extra_links < extra) or (paragraphs_only and extra):
            root = parent
            continue
        break
    return root, units


def _within(el, ancestor) -> bool:
    node = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.levels: dict[int, int] = {}
        self.buf: list[str] = []

    def add(self, text: str | None) -> None:
        if text:
            self.buf.append(SPACE_RE.sub(" ", text))

    def flush(self) -> None:
        line = "".join(self.buf).strip(" \xa0")
        self.buf = []
        if line:
            self.lines.append(line)


def _link_dense(el) -> bool:
    text = el.text_content()
    total = len(SPACE_RE.sub("", text))
    if not total:
        return False
    anchors = el.findall(".//a")
    if len(anchors) < 2 and el.tag not in ("li", "ul", "ol"):
        return False
    link_chars = sum(len(SPACE_RE.sub("", a.text_content())) for a in anchors)
    return link_chars / total >= 0.5


def linearise(el, page: Page, out: Lines, keep, state: dict) -> None:
    """Write the text of ``el``'s children to ``out``: blocks as lines, <br> as line breaks."""
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions
            out.add(child.tail)
            continue
        if child in page.skipped or (
            child not in keep and (child in page.boiler or (tag in _BLOCK_TAGS and _link_dense(child)))
        ):
            if tag not in _SKIP_TAGS or tag == "img":
                dropped = SPACE_RE.sub("", child.text_content())
                if dropped:
                    state["dropped"] += 1
            out.add(child.tail)
            continue
        if tag == "br":
            out.flush()
        elif tag == "tr" and not any(
            isinstance(d.tag, str) and d.tag in ("p", "div", "table", "br", "ul", "ol")
            for d in child.iter()
            if d is not child
        ):
            out.flush()
            cells = [
                SPACE_RE.sub(" ", c.text_content()).strip(" ")
                for c in child
                if isinstance(c.tag, str) and c.tag in ("td", "th")
            ]
            line = " | ".join(c for c in cells if c)
            if line:
                out.add(line)
                state["rows"] += 1
            out.flush()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            out.flush()
            start = len(out.lines)
            out.add(child.text)
            linearise(child, page, out, keep, state)
            out.flush()
            if len(out.lines) > start and child is not state.get("title_el"):
                out.levels[start] = int(tag[1])
        elif tag in _BLOCK_TAGS:
            out.flush()
            out.add(child.text)
            linearise(child, page, out, keep, state)
            out.flush()
        else:
            out.add(child.text)
            linearise(child, page, out, keep, state)
        out.add(child.tail)
