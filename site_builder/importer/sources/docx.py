"""Word .docx: the body's paragraphs and tables in document order, text boxes, footnotes and endnotes.

python-docx opens the package; its XML gives what python-docx does not expose (see the package docstring).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from .base import Source, SourceError
from .docx_numbering import DocxNumbering
from .docx_styles import DocxStyles
from .docx_xml import NS_M, NS_MC, W_P, W_R, W_SDT, W_SDTCONTENT, W_T, W_TBL, W_TC, W_TR, W_TXBX, to_int, w, wval
from .text import normalise_newlines

logger = logging.getLogger(__name__)

_SKIP_IN_RUN = {
    w(t)
    for t in (
        "rPr",
        "delText",
        "instrText",
        "fldChar",
        "lastRenderedPageBreak",
        "footnoteRef",
        "endnoteRef",
        "annotationRef",
        "commentReference",
        "separator",
        "continuationSeparator",
        "delInstrText",
    )
}
_WALK_INTO = {
    w(t) for t in ("hyperlink", "ins", "smartTag", "customXml", "fldSimple", "dir", "bdo", "moveTo", "sdtContent")
}
_SKIP_IN_P = {
    w(t)
    for t in (
        "pPr",
        "del",
        "moveFrom",
        "bookmarkStart",
        "bookmarkEnd",
        "commentRangeStart",
        "commentRangeEnd",
        "proofErr",
        "permStart",
        "permEnd",
    )
}


class _Docx:
    """State while reading one .docx: its parts, styles (:class:`DocxStyles`), numbering counters
    (:class:`DocxNumbering`), footnotes met, text boxes; and the walk over its body."""

    def __init__(self, document, name: str):
        from lxml import etree

        self.etree = etree
        self.document = document
        self.name = name
        self.styles = DocxStyles(document)
        self.parts: dict = {}
        for rel in document.part.rels.values():
            if rel.is_external:
                continue
            kind = rel.reltype.rsplit("/", 1)[-1]
            self.parts.setdefault(kind, []).append(rel.target_part)
        self.numbering = DocxNumbering(self._part_xml("numbering"), self.styles)
        self.notes_text = {
            "footnote": self._load_notes("footnotes", "footnote"),
            "endnote": self._load_notes("endnotes", "endnote"),
        }
        self.note_refs: list[tuple[int, str, str]] = []  # (number shown, kind, id)
        self.textboxes = 0
        self.tables_rows = 0
        self.tables_layout = 0
        self.in_note = False

    # --- parts --------------------------------------------------------------------------------

    def _part_xml(self, kind: str):
        for part in self.parts.get(kind, []):
            element = getattr(part, "element", None)
            if element is not None:
                return element
            blob = getattr(part, "blob", None)
            if blob:
                return self.etree.fromstring(blob, parser=self.etree.XMLParser(resolve_entities=False, huge_tree=True))
        return None

    def _load_notes(self, kind: str, tag: str) -> dict[str, object]:
        root = self._part_xml(kind)
        if root is None:
            return {}
        notes = {}
        for note in root.iter(w(tag)):
            if note.get(w("type")) in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            notes[note.get(w("id"))] = note
        return notes

    def header_footer_text(self) -> str:
        texts = []
        for kind in ("header", "footer"):
            for part in self.parts.get(kind, []):
                try:
                    root = self.etree.fromstring(
                        part.blob, parser=self.etree.XMLParser(resolve_entities=False, huge_tree=True)
                    )
                except Exception:
                    logger.debug("a %s part of the document cannot be read; left out", kind, exc_info=True)
                    continue
                text = "".join(t.text or "" for t in root.iter(W_T)).strip()
                if text:
                    texts.append(text)
        return " / ".join(dict.fromkeys(texts))

    # --- text ---------------------------------------------------------------------------------

    def blocks(self, container, out: list[list]) -> None:
        """Append [text, heading level or None, paragraph element or None, numbered?] for each paragraph in ``container``."""
        for child in container:
            tag = child.tag
            if tag == W_P:
                self.paragraph(child, out)
            elif tag == W_TBL:
                self.table(child, out)
            elif tag == W_SDT:
                content = child.find(W_SDTCONTENT)
                if content is not None:
                    self.blocks(content, out)
            elif tag in (w("customXml"), w("ins"), w("moveTo")):
                self.blocks(child, out)

    def paragraph(self, p, out: list[list]) -> None:
        boxes: list = []
        parts: list[str] = []
        self.inline(p, parts, boxes)
        text = "".join(parts)
        number = self.numbering.number_of(p)
        if number:
            text = number[0] + (number[1] if text else "") + text
        level = self.styles.heading_level(p) if text.strip() else None
        out.append([text, level, p, bool(number)])
        for box in boxes:
            self.textboxes += 1
            self.blocks(box, out)

    def inline(self, node, parts: list[str], boxes: list) -> None:
        for child in node:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP_IN_P:
                continue
            if tag == W_R:
                self.run(child, parts, boxes)
            elif tag in _WALK_INTO:
                self.inline(child, parts, boxes)
            elif tag == W_SDT:
                content = child.find(W_SDTCONTENT)
                if content is not None:
                    self.inline(content, parts, boxes)
            elif tag.startswith(f"{{{NS_M}}}"):
                parts.append("".join(t.text or "" for t in child.iter(f"{{{NS_M}}}t")))
            elif tag == f"{{{NS_MC}}}AlternateContent":
                self.alternate(child, parts, boxes)

    def run(self, r, parts: list[str], boxes: list) -> None:
        custom_mark = False
        for child in r:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP_IN_RUN:
                continue
            if tag == W_T:
                if custom_mark:
                    custom_mark = False
                parts.append(child.text or "")
            elif tag in (w("tab"), w("ptab")):
                parts.append("\t")
            elif tag == w("br"):
                if child.get(w("type")) in (None, "textWrapping"):
                    parts.append("\n")
            elif tag == w("cr"):
                parts.append("\n")
            elif tag == w("noBreakHyphen"):
                parts.append("-")
            elif tag == w("sym"):
                code = to_int(child.get(w("char")), 16)
                if code:
                    parts.append(chr(code - 0xF000) if 0xF020 <= code <= 0xF07E else chr(code))
            elif tag in (w("footnoteReference"), w("endnoteReference")):
                kind = "footnote" if tag == w("footnoteReference") else "endnote"
                if self.in_note:
                    continue
                number = len(self.note_refs) + 1
                self.note_refs.append((number, kind, child.get(w("id"))))
                parts.append(f"[{number}]")
                custom_mark = child.get(w("customMarkFollows")) in ("1", "true", "on")
            elif tag == w("ruby"):
                base = child.find(w("rubyBase"))
                if base is not None:
                    self.inline(base, parts, boxes)
            elif tag == f"{{{NS_MC}}}AlternateContent":
                self.alternate(child, parts, boxes)
            elif tag in (w("drawing"), w("pict"), w("object")):
                boxes.extend(_outer_textboxes(child))

    def alternate(self, ac, parts: list[str], boxes: list) -> None:
        """mc:AlternateContent: the same content twice (DrawingML and VML); read the first choice only."""
        chosen = ac.find(f"{{{NS_MC}}}Choice")
        if chosen is None or not _outer_textboxes(chosen):
            chosen = ac.find(f"{{{NS_MC}}}Fallback")
        if chosen is None:
            return
        boxes.extend(_outer_textboxes(chosen))

    def table(self, tbl, out: list[list]) -> None:
        rows = []
        layout = False
        for tr in tbl.iter(W_TR):
            if _nearest(tr, W_TBL) is not tbl:
                continue
            cells = []
            for tc in tr.findall(W_TC) + [tc for sdt in tr.findall(W_SDT) for tc in sdt.iter(W_TC)]:
                vmerge = tc.find(f"{w('tcPr')}/{w('vMerge')}")
                if vmerge is not None and wval(vmerge) in (None, "continue"):
                    continue
                cell_out: list[list] = []
                self.blocks(tc, cell_out)
                cells.append(cell_out)
                texts = [c[0] for c in cell_out if c[0].strip()]
                if len(texts) > 3 or sum(len(t) for t in texts) > 200:
                    layout = True
            rows.append(cells)
        if all(len([c for c in cells if any(x[0].strip() for x in c)]) <= 1 for cells in rows):
            layout = True
        if layout:
            self.tables_layout += 1
            for cells in rows:
                for cell in cells:
                    out.extend(cell)
            return
        self.tables_rows += 1
        for cells in rows:
            texts = [" ".join(x[0].replace("\n", " ").strip() for x in cell if x[0].strip()) for cell in cells]
            line = " | ".join(t for t in texts if t)
            if line:
                out.append([line, None, None, False])

    def note_lines(self) -> list[str]:
        lines = []
        self.in_note = True
        try:
            referenced = set()
            for number, kind, nid in self.note_refs:
                referenced.add((kind, nid))
                lines.append(f"[{number}] {self._note_text(self.notes_text[kind].get(nid))}".rstrip())
            extra = len(self.note_refs)
            for kind in ("footnote", "endnote"):
                for nid, note in self.notes_text[kind].items():
                    if (kind, nid) not in referenced:
                        text = self._note_text(note)
                        if text:
                            extra += 1
                            lines.append(f"[{extra}] {text}")
        finally:
            self.in_note = False
        return lines

    def _note_text(self, note) -> str:
        if note is None:
            return ""
        out: list[list] = []
        self.blocks(note, out)
        return " ".join(x[0].replace("\n", " ").strip() for x in out if x[0].strip())


def _outer_textboxes(el) -> list:
    """w:txbxContent elements inside ``el`` that are not inside another text box found here."""
    found = []
    for box in el.iter(W_TXBX):
        if not any(anc.tag == W_TXBX for anc in box.iterancestors() if anc is not el and _is_inside(anc, el)):
            found.append(box)
    return found


def _is_inside(node, root) -> bool:
    return any(anc is root for anc in node.iterancestors())


def _nearest(el, tag):
    for anc in el.iterancestors():
        if anc.tag == tag:
            return anc
    return None


def read_docx(data: bytes, name: str) -> Source:
    """Read a .docx; the title from a Title style, a centred or larger first line, or the core properties."""
    import docx  # python-docx

    try:
        document = docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise SourceError(
            f"{name}: 不是有效的 .docx 文件（压缩包损坏）(not a readable .docx: broken zip);"
            f" 请用 Word 或 WPS 打开后重新另存为 .docx 或 .txt (open it and save it again)"
        ) from None
    except Exception as err:
        raise SourceError(
            f"{name}: 不是有效的 .docx 文件 (not a readable .docx: {type(err).__name__}: {str(err)[:100]});"
            f" 请用 Word 或 WPS 打开后重新另存为 .docx 或 .txt (open it and save it again)"
        ) from None
    reader = _Docx(document, name)
    body = document.element.body
    out: list[list] = []
    reader.blocks(body, out)
    # Title: a Title-style paragraph, else a short centered/larger first paragraph, else the core property.
    title = None
    title_index = None
    for i, (text, _level, p, _numbered) in enumerate(out):
        if p is not None and text.strip() and reader.styles.is_title_style(p):
            title, title_index = " ".join(x.strip() for x in text.replace("\v", "\n").split("\n") if x.strip()), i
            break
    if title is None:
        first = next((i for i, entry in enumerate(out) if entry[0].strip()), None)
        if (
            first is not None
            and out[first][2] is not None
            and out[first][1] is None
            and not out[first][3]
            and reader.styles.looks_like_title(out[first][2], out[first][0].strip())
        ):
            title, title_index = out[first][0].strip(), first
    if title is None:
        try:
            core = (document.core_properties.title or "").strip()
        except Exception:
            logger.debug("the document's core properties cannot be read", exc_info=True)
            core = ""
        if core and re.search(r"[\u3400-\u9fff]", core) and not core.lower().startswith("microsoft"):
            title = core
    lines: list[str] = []
    headings: dict[int, int] = {}
    for i, (text, level, _p, _numbered) in enumerate(out):
        pieces = normalise_newlines(text.replace("\v", "\n")).split("\n")
        if level and i != title_index and pieces[0].strip():
            headings[len(lines) + 1] = level
        lines.extend(pieces)
    notes: list[str] = []
    note_lines = reader.note_lines()
    if note_lines:
        lines.append("注释")
        lines.extend(note_lines)
        kinds = {kind for _n, kind, _i in reader.note_refs}
        what = "footnotes/endnotes" if len(kinds) > 1 else ("endnotes" if kinds == {"endnote"} else "footnotes")
        notes.append(
            f"{len(note_lines)} {what} appended at the end under 注释 as [n] text; the body keeps [n] where each was referenced"
        )
    if not any(line.strip() for line in lines):
        raise SourceError(
            f"{name}: 文档里没有文字 (the document has no text); 如果文字是图片，请先做 OCR (if the text is an image, OCR it first)"
        )
    if reader.tables_rows:
        notes.append(f"{reader.tables_rows} table(s) read as lines, one row per line, cells separated by ' | '")
    if reader.tables_layout:
        notes.append(f"{reader.tables_layout} layout table(s) (one column or long cells) read paragraph by paragraph")
    if reader.textboxes:
        notes.append(f"{reader.textboxes} text box(es) read; their text follows the paragraph they are anchored to")
    if reader.numbering.bullets:
        notes.append(f"{reader.numbering.bullets} bulleted list paragraph(s): the bullet symbols are not copied")
    hf = reader.header_footer_text()
    if hf:
        notes.append(f"page headers/footers left out (not speech text): {hf[:60]}{'…' if len(hf) > 60 else ''}")
    if reader.parts.get("comments"):
        notes.append("Word comments (批注) left out")
    return Source(text="\n".join(lines), format="DOCX", headings=headings, title=title, notes=notes)
