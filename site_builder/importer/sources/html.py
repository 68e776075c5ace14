"""Saved web pages (``.html``, ``.htm``, ``.xhtml``): the page's encoding, its article, its title."""

from __future__ import annotations

import codecs
import re

from .base import Source, SourceError
from .html_article import SPACE_RE, Lines, Page, choose_article, linearise
from .text import decode_bytes, normalise_newlines

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_CHARSET_CODECS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "hz",
    "big5": "cp950",
    "big5-hkscs": "big5hkscs",
    "cp950": "cp950",
    "x-x-big5": "cp950",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
}
_CODEC_LABELS = {
    "utf-8": "UTF-8",
    "gb18030": "GB18030",
    "cp950": "Big5",
    "big5hkscs": "Big5",
    "hz": "HZ",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}

_TITLE_SEPS = re.compile(
    r"\s*(?:\s[-–—|｜:：]\s|[_｜|]|－{1,2}|(?<=[\u3400-\u9fff）」》])\s*-{1,2}\s*(?=[\u3400-\u9fffA-Za-z])|—{1,2}(?=[^—]*$))\s*"
)


def _decode_html(data: bytes, name: str) -> tuple[str, str, list[str]]:
    notes: list[str] = []
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec), ("UTF-8" if codec == "utf-8-sig" else "UTF-16"), notes
            except UnicodeDecodeError:
                break
    head = data[:8192]
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    declared: str | None = m.group(1).decode("ascii", "replace").lower() if m else None
    charset = _CHARSET_CODECS.get(declared) if declared else None
    if charset:
        try:
            return data.decode(charset), _CODEC_LABELS.get(charset, charset.upper()), notes
        except UnicodeDecodeError:
            pass
    try:
        text, label = decode_bytes(data, name)
        return text, label, notes
    except SourceError:
        if not charset:
            raise
    text = data.decode(charset, errors="replace")
    bad = text.count("\ufffd")
    notes.append(f"{bad} byte sequence(s) were not valid {declared} and are shown as \ufffd")
    return text, _CODEC_LABELS.get(charset, charset.upper()), notes


def read_html(data: bytes, name: str) -> Source:
    """Read a saved web page: its article's text as lines, ``<h1>``–``<h6>`` as headings, its title."""
    import lxml.html

    text, encoding, notes = _decode_html(data, name)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"))
    text = normalise_newlines(text)
    if not text.strip():
        raise SourceError(f"{name}: 网页是空的 (the page is empty); 请重新保存网页 (save the page again)")
    try:
        root = lxml.html.document_fromstring(text)
    except Exception as err:
        raise SourceError(
            f"{name}: 无法解析网页 (cannot parse the page: {type(err).__name__}); 请在浏览器中另存为“网页，全部”或复制正文到 .txt (save it again, or copy the text into a .txt file)"
        ) from None
    page = Page(root)
    page_title = None
    for t in root.iter("title"):
        page_title = SPACE_RE.sub(" ", t.text_content()).strip() or None
        break
    title_core = _strip_site_name(page_title) if page_title else None
    title_el = _find_title_heading(root, page, title_core, page_title)
    for _attempt in range(2):
        article, _units = choose_article(page, title_el)
        if article is None:
            article = root.find("body") if root.find("body") is not None else root
        keep = set(article.iterancestors()) | {article}
        out = Lines()
        state = {"dropped": 0, "rows": 0, "title_el": title_el}
        out.add(article.text)
        linearise(article, page, out, keep, state)
        out.flush()
        if any(line.strip() for line in out.lines) or not page.boiler:
            break
        page.boiler.clear()  # everything looked like navigation: take the page as it is rather than nothing
    title = None
    if title_el is not None:
        title = SPACE_RE.sub(" ", title_el.text_content()).strip() or None
    if title is None and title_core:
        title = title_core
    if not any(line.strip() for line in out.lines):
        raise SourceError(
            f"{name}: 网页里找不到正文 (no article text found in the page); 请把正文复制到 .txt 再导入 (copy the text into a .txt file)"
        )
    headings = {i + 1: lvl for i, lvl in out.levels.items()}
    if state["dropped"]:
        notes.append(
            f"{state['dropped']} block(s) of page furniture inside the article element left out (navigation, link lists, share buttons)"
        )
    if state["rows"]:
        notes.append(f"{state['rows']} table row(s) read as lines, cells separated by ' | '")
    notes.append("main text taken from the page's article element; navigation, header, footer and link lists left out")
    return Source(text="\n".join(out.lines), format=f"HTML ({encoding})", headings=headings, title=title, notes=notes)


def _strip_site_name(page_title: str) -> str | None:
    """'在…的讲话 - 某某网' / '在…的讲话_某某网' / '…｜某某网' → the part before the site name."""
    parts = [p for p in _TITLE_SEPS.split(page_title) if p and p.strip()]
    if len(parts) <= 1:
        return page_title.strip() or None
    return max(parts[:-1], key=len).strip() if len(parts) > 2 else parts[0].strip()


def _find_title_heading(root, page: Page, title_core: str | None, page_title: str | None):
    heads = [h for tag in ("h1", "h2") for h in root.iter(tag) if not page.excluded(h)]

    def text(h):
        return SPACE_RE.sub(" ", h.text_content()).strip()

    site = ""
    if page_title and title_core and page_title.strip() != title_core:
        site = SPACE_RE.sub("", page_title.strip()[page_title.strip().find(title_core) + len(title_core) :])
    if title_core:
        core = SPACE_RE.sub("", title_core)
        matches = []
        for h in heads:
            t = SPACE_RE.sub("", text(h))
            if t and len(t) >= 4 and (t in core or core in t) and not (site and t in site):
                matches.append((t == core, core.startswith(t) or t.startswith(core), len(t), h))
        if matches:
            return max(matches, key=lambda m: m[:3])[3]
    h1s = [h for h in heads if h.tag == "h1" and text(h)]
    if len(h1s) == 1:
        t = SPACE_RE.sub("", text(h1s[0]))
        if not site or t not in site:
            return h1s[0]
    return None
