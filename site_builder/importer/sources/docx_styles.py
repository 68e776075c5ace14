"""Styles of a .docx: which paragraphs are headings or a title, by their styles and formatting."""

from __future__ import annotations

import logging
import re
from typing import Any

from .docx_xml import W_R, W_T, to_int, w, wval

logger = logging.getLogger(__name__)


class DocxStyles:
    """The styles of one .docx (styles.xml): style chains, and what they say about headings, titles and sizes."""

    def __init__(self, document: Any) -> None:
        self.styles: dict[str, Any] = {}
        self.default_pstyle: str | None = None
        self.default_size: int | None = None
        try:
            styles_el = document.styles.element
        except Exception:
            logger.debug("the document's styles cannot be read; default styles assumed", exc_info=True)
            styles_el = None
        if styles_el is not None:
            for st in styles_el.iter(w("style")):
                sid = st.get(w("styleId"))
                if sid:
                    self.styles[sid] = st
                    if st.get(w("type")) == "paragraph" and st.get(w("default")) in ("1", "true", "on"):
                        self.default_pstyle = sid
            sz = styles_el.find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}/{w('sz')}")
            self.default_size = to_int(wval(sz))

    def style_chain(self, sid: str | None):
        seen: set[str] = set()
        while sid and sid in self.styles and sid not in seen and len(seen) < 30:
            seen.add(sid)
            st = self.styles[sid]
            yield st
            sid = wval(st.find(w("basedOn")))

    def pstyle(self, p) -> str | None:
        ppr = p.find(w("pPr"))
        sid = wval(ppr.find(w("pStyle"))) if ppr is not None else None
        return sid or self.default_pstyle

    def style_name(self, sid: str | None) -> str:
        st = self.styles.get(sid) if sid else None
        return (wval(st.find(w("name"))) or "") if st is not None else ""

    def ppr_prop(self, p, tag: str):
        """A paragraph property from the paragraph itself or its style chain."""
        ppr = p.find(w("pPr"))
        if ppr is not None and ppr.find(w(tag)) is not None:
            return ppr.find(w(tag))
        for st in self.style_chain(self.pstyle(p)):
            sppr = st.find(w("pPr"))
            if sppr is not None and sppr.find(w(tag)) is not None:
                return sppr.find(w(tag))
        return None

    def heading_level(self, p) -> int | None:
        ppr = p.find(w("pPr"))
        own = ppr.find(w("outlineLvl")) if ppr is not None else None
        if own is not None:
            return _outline(own)
        sid = self.pstyle(p)
        for st in self.style_chain(sid):
            name = (wval(st.find(w("name"))) or "").strip().lower()
            m = re.fullmatch(r"(?:heading|标题)\s*([1-9])", name)
            if m:
                return min(int(m.group(1)), 6)
            sppr = st.find(w("pPr"))
            lvl = sppr.find(w("outlineLvl")) if sppr is not None else None
            if lvl is not None:
                return _outline(lvl)
        return None

    def is_title_style(self, p) -> bool:
        for st in self.style_chain(self.pstyle(p)):
            if (wval(st.find(w("name"))) or "").strip().lower() in ("title", "标题"):
                return True
        return False

    def looks_like_title(self, p, text: str) -> bool:
        if not text or len(text) > 80 or "\n" in text or text[-1] in "。！？；：:;!?，,":
            return False
        jc = wval(self.ppr_prop(p, "jc"))
        centered = jc in ("center", "centre")
        body = self.body_size()
        size = self.max_run_size(p)
        larger = size is not None and body is not None and size >= body + 2
        return centered or larger

    def body_size(self) -> int | None:
        for st in self.style_chain(self.default_pstyle):
            sz = st.find(f"{w('rPr')}/{w('sz')}")
            if sz is not None:
                return to_int(wval(sz))
        return self.default_size or 21

    def max_run_size(self, p) -> int | None:
        style_size = None
        for st in self.style_chain(self.pstyle(p)):
            sz = st.find(f"{w('rPr')}/{w('sz')}")
            if sz is not None:
                style_size = to_int(wval(sz))
                break
        best = None
        for r in p.iter(W_R):
            if not "".join(t.text or "" for t in r.iter(W_T)).strip():
                continue
            sz = r.find(f"{w('rPr')}/{w('sz')}")
            size = to_int(wval(sz)) if sz is not None else None
            size = size or style_size or self.body_size()
            if size is not None:
                best = size if best is None else max(best, size)
        return best


def _outline(el) -> int | None:
    val = to_int(wval(el))
    if val is None or val >= 9 or val < 0:
        return None
    return min(val + 1, 6)
