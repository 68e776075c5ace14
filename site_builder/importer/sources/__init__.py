"""Reading one source file for ``site-builder import``: bytes in, text with its known structure out.

Every format ends as a :class:`Source`: the text with ``\\n`` line ends (one source paragraph, or
one source line for plain text, per line) plus what the format itself states about headings and
the title. Nothing of the document's text is left out here; deciding what is a title, a heading or
boilerplate is for the later stages. Every problem becomes a :class:`SourceError` whose message
names the file, says why and what to do; no exception of a library escapes.

Libraries, and why:

* ``.txt``: our own decision between UTF-8, UTF-16 (with or without BOM), GB18030 and Big5 by
  which decoding yields common Chinese characters (sets built from the GB2312 and Big5 code
  tables themselves), then ``textio.guess_encoding`` (charset-normalizer) for anything else.
* ``.docx``: python-docx to open the package, and its XML for what it does not expose (list
  numbering from numbering.xml, footnotes/endnotes, text boxes, tables in document order).
* ``.html``: our own heuristic on lxml (already installed with python-docx). Measured on made-up
  pages imitating Chinese news sites, trafilatura merged a ``<br>``-separated article into one line
  and kept the navigation and sidebar of a table layout, and readability-lxml kept the page footer
  and drops headings' structure; neither can promise that no paragraph of the article is lost.
  The heuristic scores blocks by the Chinese text of their paragraphs (readability's idea), climbs
  to the element that also holds the article's ``<h1>``, and keeps *everything* inside it except
  scripts, navigation-like elements and link lists.
* ``.pdf``: pypdf (BSD licence, pure Python, no dependencies). On a PDF made with reportlab's
  STSong-Light CID font it returned 100 % of the characters, in order (pdfminer.six did as well,
  but needs more dependencies).
"""
from __future__ import annotations

import codecs
import io
import logging
import os
import re
import stat
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ...errors import SiteBuilderError
from ...textio import guess_encoding

MAX_BYTES = 50 * 1024 * 1024  # files larger than this are refused with a message
SUFFIXES = (".txt", ".text", ".md", ".markdown", ".docx", ".html", ".htm", ".xhtml", ".pdf")  # what a folder import picks up


class SourceError(SiteBuilderError):
    """A file that cannot be read; str(err) is a one-line message naming the file, saying why and what to do."""


@dataclass
class Source:
    text: str                 # the text, "\n" line ends, one source paragraph (or source line, for plain text) per line; NOTHING of the document's text left out
    format: str               # what was read, for messages: "UTF-8", "UTF-8 (BOM)", "UTF-16", "GB18030", "Big5", "DOCX", "HTML (UTF-8)", "Markdown", "PDF"
    headings: dict[int, int] = field(default_factory=dict)  # 1-based line number in `text` -> heading level 1..6 known from the source's structure (Word heading styles / outline level, <h1>-<h6>, Markdown '#' lines), excluding the document title
    title: str | None = None  # a title the format states outright (HTML <h1> of the article or <title> minus the site name; docx core property title or a 'Title'/'标题' style paragraph); None if none
    notes: list[str] = field(default_factory=list)  # one-line remarks for the import report, e.g. "3 footnotes appended at the end", "2 tables read as lines, cells separated by ' | '"


# ------------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------------


def read_source(path: Path) -> Source:
    """Read one file; refuse (SourceError) anything that is not a readable regular file of text."""
    path = Path(path)
    name = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(f"{name}: 文件不存在 (no such file); 请检查路径 (check the path)") from None
    except PermissionError:
        raise SourceError(f"{name}: 没有读取权限 (permission denied); 请检查文件权限 (check its permissions)") from None
    except OSError as err:
        raise SourceError(f"{name}: 无法访问 (cannot access: {err.strerror or err}); 请检查路径 (check the path)") from None
    _refuse_special(name, st.st_mode)
    if st.st_size > MAX_BYTES:
        raise SourceError(
            f"{name}: 文件过大（{st.st_size / 1024 / 1024:.0f} MB，上限 {MAX_BYTES // 1024 // 1024} MB）"
            f" (file too large); 讲话稿不会这么大，请确认是否选错了文件或拆分后再导入 (check it is the right file, or split it)")
    if st.st_size == 0:
        raise SourceError(f"{name}: 文件是空的 (the file is empty); 请确认文件内容 (check the file)")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise SourceError(f"{name}: 无法打开 (cannot open: {err.strerror or err}); 请检查文件权限 (check its permissions)") from None
    try:
        _refuse_special(name, os.fstat(fd).st_mode)  # it may have been swapped since os.stat
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(MAX_BYTES + 1)
    except OSError as err:
        raise SourceError(f"{name}: 读取失败 (read error: {err.strerror or err}); 请把文件复制到本地磁盘后再试 (copy it to a local disk and retry)") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_BYTES:
        raise SourceError(f"{name}: 文件过大 (file too large, over {MAX_BYTES // 1024 // 1024} MB); 请确认是否选错了文件 (check it is the right file)")
    return read_bytes(data, name)


def _refuse_special(name: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise SourceError(f"{name}: 这是文件夹，不是文件 (a folder, not a file); 导入文件夹时请让导入程序列出其中的文件 (import the folder itself to import the files in it)")
    if stat.S_ISREG(mode):
        return
    kind = ("命名管道 (FIFO)" if stat.S_ISFIFO(mode) else "套接字 (socket)" if stat.S_ISSOCK(mode)
            else "设备文件 (device)" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "特殊文件 (special file)")
    raise SourceError(f"{name}: 这是{kind}，不是普通文件 (not a regular file); 请只导入 .txt/.docx/.html/.md/.pdf 文件 (import regular files only)")


def read_bytes(data: bytes, name: str) -> Source:
    """Read the contents of one file; ``name`` gives the suffix and is used in messages."""
    try:
        return _read(data, name)
    except SourceError:
        raise
    except RecursionError:
        raise SourceError(f"{name}: 文件结构嵌套过深，无法读取 (nested too deeply to read); 请另存为 .txt 后再导入 (save it as .txt and import that)") from None
    except Exception as err:  # noqa: BLE001 - any library failure on one file is a message, never a traceback
        detail = f"{type(err).__name__}: {err}".replace("\n", " ")[:160]
        raise SourceError(f"{name}: 文件已损坏或格式无法识别 (cannot read it: {detail}); 请用原程序打开后另存为 .docx 或 .txt 再导入 (open it in its program and save it as .docx or .txt)") from None


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = {
    b"\x89PNG": "PNG 图片 (image)", b"\xff\xd8\xff": "JPEG 图片 (image)", b"GIF8": "GIF 图片 (image)",
    b"Rar!": "RAR 压缩包 (archive)", b"7z\xbc\xaf": "7z 压缩包 (archive)", b"\x1f\x8b": "gzip 压缩包 (archive)",
    b"\x7fELF": "程序 (executable)", b"MZ": "程序 (executable)",
}


def _read(data: bytes, name: str) -> Source:
    suffix = Path(name).suffix.lower()
    if not data or not data.strip(b" \t\r\n\x00"):
        raise SourceError(f"{name}: 文件是空的 (the file is empty); 请确认文件内容 (check the file)")
    if suffix in (".doc", ".wps", ".dot") and not data.startswith(_OLE_MAGIC) and re.match(rb"\s*<", data[:1024]) \
            and re.search(rb"<html|<body|<p[ >]|<div", data[:65536], re.I):
        source = _read_html(data, name)  # "Word" files from web systems are often HTML named .doc
        source.notes.insert(0, "a web page saved with a .doc name: read as HTML")
        return source
    if data.startswith(_OLE_MAGIC) or suffix in (".doc", ".wps", ".dot"):
        raise SourceError(f"{name}: 旧版 Word/WPS 二进制文件（.doc）或加密文档，无法读取 (old binary .doc or password-protected document);"
                          f" 请用 Word 或 WPS 打开后另存为 .docx 或 .txt 再导入 (save it as .docx or .txt and import that)")
    if data.startswith(b"{\\rtf"):
        raise SourceError(f"{name}: 这是 RTF 文件 (an RTF file); 请用 Word 或 WPS 另存为 .docx 或 .txt 再导入 (save it as .docx or .txt)")
    if data.startswith(b"%PDF-") or suffix == ".pdf":
        return _read_pdf(data, name)
    if data.startswith(b"PK\x03\x04") or suffix in (".docx", ".docm", ".dotx"):
        return _read_docx(data, name)
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise SourceError(f"{name}: 这是{what}，不是文本 (not a text file); 请导入 .txt/.docx/.html/.md/.pdf 文件 (import a text file)")
    if suffix in (".mht", ".mhtml") or data[:200].lstrip().lower().startswith(b"mime-version"):
        raise SourceError(f"{name}: 这是 MHT 网页存档 (an MHT web archive); 请在浏览器中打开后另存为“网页，仅 HTML”(.html) 再导入 (save it as .html)")
    if suffix in (".html", ".htm", ".xhtml", ".shtml"):
        return _read_html(data, name)
    if suffix in (".md", ".markdown"):
        return _read_markdown(data, name)
    text, encoding = decode_text(data, name)
    return Source(text=text, format=encoding)


# ------------------------------------------------------------------------------------------------
# Plain text: encodings
# ------------------------------------------------------------------------------------------------

_CJK_PUNCT = set("，。、；：？！“”‘’（）《》〈〉【】「」『』〔〕—…·～·　")


@lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """Chinese characters in everyday use: all of GB2312 plus Big5's 常用字 (A440–C67E), from the codecs' own tables."""
    chars: set[str] = set()
    for b1 in range(0xB0, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(bytes((b1, b2)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for b1 in range(0xA4, 0xC7):
        for b2 in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            if b1 == 0xC6 and b2 > 0x7E:
                break
            try:
                chars.add(bytes((b1, b2)).decode("cp950"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


def plausibility(text: str, sample: int = 200_000) -> float:
    """How much ``text`` looks like Chinese (or plain) text: about 1.0 for a right decoding, lower for a wrong one."""
    text = text[:sample]
    if not text:
        return 0.0
    common = _common_hanzi()
    total = 0.0
    for ch in text:
        o = ord(ch)
        if o < 128:
            total += 1.0 if (ch.isprintable() or ch in "\t\n\r\f") else -2.0
        elif ch in common or ch in _CJK_PUNCT or 0xFF01 <= o <= 0xFF5E or 0x2010 <= o <= 0x206F or 0x3000 <= o <= 0x303F:
            total += 1.0
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            total += 0.3
        elif 0xA0 <= o <= 0x24F:
            total += 0.8
        elif 0xE000 <= o <= 0xF8FF or o == 0xFFFD or unicodedata.category(ch) in ("Cc", "Cn", "Cs", "Co"):
            total -= 2.0
        else:
            total += 0.1
    return total / len(text)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode plain text; return (text with \\n line ends, encoding name for messages) or raise SourceError."""
    text, encoding = _decode(data, name)
    text = _normalise_newlines(text)
    controls = sum(1 for ch in text[:200_000] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\f\v\x1a")
    if controls > max(3, len(text[:200_000]) // 200):
        raise SourceError(f"{name}: 看起来不是文本文件 (looks like a binary file, not text); 请导入 .txt/.docx/.html/.md/.pdf 文件 (import a text file)")
    if not text.strip():
        raise SourceError(f"{name}: 文件里没有文字 (the file has no text); 请确认文件内容 (check the file)")
    return text, encoding


def _decode(data: bytes, name: str) -> tuple[str, str]:
    for bom, codec, label in ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
                              (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (BOM)"),
                              (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec), label
            except UnicodeDecodeError as err:
                line = data[: err.start].count(b"\n") + 1
                raise SourceError(f"{name}: 开头标明是 {label}，但第 {line} 行附近的字节不是 {label} (starts with a {label} BOM but is not valid {label} near line {line});"
                                  f" 请用记事本或 VS Code 以正确编码打开后另存为 UTF-8 (re-save it as UTF-8)") from None
    if b"\x00" in data:
        utf16 = _decode_utf16_without_bom(data)
        if utf16 is not None:
            return utf16, "UTF-16"
        raise SourceError(f"{name}: 含有零字节，不是文本文件 (contains NUL bytes: a binary file, not text); 请导入 .txt/.docx/.html/.md/.pdf 文件 (import a text file)")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[float, int, str, str]] = []
    for order, (codec, label) in enumerate((("gb18030", "GB18030"), ("cp950", "Big5"), ("big5hkscs", "Big5"))):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        candidates.append((plausibility(text), -order, text, label))
    if candidates:
        score, _, text, label = max(candidates, key=lambda c: (round(c[0], 2), c[1]))
        if score >= 0.75:
            return text, label
    guess = None
    try:
        guess = guess_encoding(data)
    except Exception:  # noqa: BLE001 - detector failure: fall through to the message
        guess = None
    if guess and guess not in ("GB18030", "UTF-16"):
        try:
            text = data.decode(guess)
        except (UnicodeDecodeError, LookupError):
            text = None
        if text is not None and plausibility(text) >= 0.75:
            return text, guess
    raise SourceError(f"{name}: 无法判断文字编码 (cannot tell the encoding{f', perhaps {guess}' if guess else ''});"
                      f" 请用记事本或 VS Code 打开并另存为 UTF-8 再导入 (re-save it as UTF-8 and import that)")


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without BOM, recognised by its NUL bytes (the high byte of ASCII characters) on one side."""
    if len(data) % 2:
        data = data[:-1] if data[-1:] == b"\x00" else data
        if len(data) % 2:
            return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    best = None
    for codec, nuls, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls == 0 or other > 4 * nuls:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        score = plausibility(text)
        if score >= 0.75 and (best is None or score > best[0]):
            best = (score, text)
    return best[1] if best else None


# ------------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)")
_ATX_CLOSE = re.compile(r"[ \t]+#+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _read_markdown(data: bytes, name: str) -> Source:
    text, encoding = decode_text(data, name)
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first == "---":
        raise SourceError(f"{name}: 已经有前置元数据（以 --- 开头）(already has front matter);"
                          f" 这已是本站的格式，请直接复制到 content/ 目录，不要导入 (copy it into content/ directly instead of importing)")
    lines = text.split("\n")
    headings: dict[int, int] = {}
    fence: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if m:
            mark = m.group(1)[0]
            if fence is None:
                fence = mark
            elif fence == mark:
                fence = None
            continue
        if fence is not None:
            continue
        m = _ATX.match(line)
        if not m:
            continue
        rest = line[m.end():]
        rest = _ATX_CLOSE.sub("", rest) if rest.strip("# \t") else ("" if set(rest.strip()) <= {"#"} else rest)
        lines[i] = rest
        if rest.strip():
            headings[i + 1] = len(m.group(1))
    fmt = "Markdown" if encoding.startswith("UTF-8") else f"Markdown ({encoding})"
    return Source(text="\n".join(lines), format=fmt, headings=headings)


# ------------------------------------------------------------------------------------------------
# PDF
# ------------------------------------------------------------------------------------------------


def _read_pdf(data: bytes, name: str) -> Source:
    import pypdf

    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader = pypdf.PdfReader(io.BytesIO(data))
            except Exception as err:  # noqa: BLE001
                raise SourceError(f"{name}: PDF 文件已损坏 (a broken PDF: {type(err).__name__}: {str(err)[:120]}); 请重新下载或另存后再导入 (download or save it again)") from None
            if reader.is_encrypted:
                try:
                    ok = reader.decrypt("")
                except Exception:  # noqa: BLE001 - e.g. AES without the cryptography package
                    ok = 0
                if not ok:
                    raise SourceError(f"{name}: PDF 有密码保护 (password-protected PDF); 请去掉密码另存后再导入 (save a copy without a password)")
            pages = []
            empty_pages = []
            for number, page in enumerate(reader.pages, start=1):
                try:
                    text = page.extract_text() or ""
                except Exception as err:  # noqa: BLE001
                    raise SourceError(f"{name}: 第 {number} 页的文字无法提取 (cannot extract the text of page {number}: {type(err).__name__});"
                                      f" 请用 PDF 阅读器另存为文本后再导入 (save it as text from a PDF reader)") from None
                text = _normalise_newlines(text).rstrip("\n")
                if sum(1 for ch in text if not ch.isspace()) < 5:  # nothing, or only a page number
                    empty_pages.append(number)
                pages.append(text)
    finally:
        logger.setLevel(level)
    if not pages:
        raise SourceError(f"{name}: PDF 没有页面 (a PDF without pages); 请确认文件 (check the file)")
    body = "\n".join(p for p in pages if p.strip())
    visible = sum(1 for ch in body if not ch.isspace())
    if len(empty_pages) == len(pages) or visible < 10:
        raise SourceError(f"{name}: PDF 没有文字层，是扫描件 (no text layer: a scanned PDF); 请先做 OCR 文字识别再导入 (run OCR on it first)")
    if plausibility(body) < 0.6:
        raise SourceError(f"{name}: PDF 的文字层无法正确解码（字体缺少 Unicode 映射）(its text layer does not decode to readable text);"
                          f" 请用 OCR 或从原始文档另存为 .docx/.txt (OCR it, or export the original as .docx or .txt)")
    notes = ["PDF lines are hard-wrapped as on the page"]
    if empty_pages:
        shown = ", ".join(map(str, empty_pages[:10])) + ("…" if len(empty_pages) > 10 else "")
        notes.append(f"{len(empty_pages)} of {len(pages)} PDF pages have no text layer (scanned?): page {shown}; their text is missing and needs OCR")
    return Source(text=body, format="PDF", notes=notes)


# ------------------------------------------------------------------------------------------------
# DOCX
# ------------------------------------------------------------------------------------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_M = "http://schemas.openxmlformats.org/officeDocument/2006/math"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def _wval(el, attr: str = "val") -> str | None:
    return None if el is None else el.get(_w(attr))


W_P, W_R, W_T, W_TBL, W_TR, W_TC, W_SDT, W_SDTCONTENT = (_w(t) for t in ("p", "r", "t", "tbl", "tr", "tc", "sdt", "sdtContent"))
W_TXBX = _w("txbxContent")
_SKIP_IN_RUN = {_w(t) for t in ("rPr", "delText", "instrText", "fldChar", "lastRenderedPageBreak", "footnoteRef", "endnoteRef",
                                "annotationRef", "commentReference", "separator", "continuationSeparator", "delInstrText")}
_WALK_INTO = {_w(t) for t in ("hyperlink", "ins", "smartTag", "customXml", "fldSimple", "dir", "bdo", "moveTo", "sdtContent")}
_SKIP_IN_P = {_w(t) for t in ("pPr", "del", "moveFrom", "bookmarkStart", "bookmarkEnd", "commentRangeStart", "commentRangeEnd", "proofErr", "permStart", "permEnd")}


class _Docx:
    """State while reading one .docx: styles, numbering counters, footnotes met, text boxes."""

    def __init__(self, document, name: str):
        from lxml import etree

        self.etree = etree
        self.document = document
        self.name = name
        self.styles: dict[str, object] = {}
        self.default_pstyle: str | None = None
        self.default_size: int | None = None
        try:
            styles_el = document.styles.element
        except Exception:  # noqa: BLE001 - a document without styles part
            styles_el = None
        if styles_el is not None:
            for st in styles_el.iter(_w("style")):
                sid = st.get(_w("styleId"))
                if sid:
                    self.styles[sid] = st
                    if st.get(_w("type")) == "paragraph" and st.get(_w("default")) in ("1", "true", "on"):
                        self.default_pstyle = sid
            sz = styles_el.find(f"{_w('docDefaults')}/{_w('rPrDefault')}/{_w('rPr')}/{_w('sz')}")
            self.default_size = _int(_wval(sz))
        self.parts = {}
        for rel in document.part.rels.values():
            if rel.is_external:
                continue
            kind = rel.reltype.rsplit("/", 1)[-1]
            self.parts.setdefault(kind, []).append(rel.target_part)
        self.abstract: dict[str, dict[int, dict]] = {}
        self.nums: dict[str, tuple[str, dict[int, dict]]] = {}
        self.num_style_link: dict[str, str] = {}
        self._load_numbering()
        self.counters: dict[str, dict[int, int]] = {}
        self.nums_seen: set[str] = set()
        self.notes_text = {"footnote": self._load_notes("footnotes", "footnote"), "endnote": self._load_notes("endnotes", "endnote")}
        self.note_refs: list[tuple[int, str, str]] = []  # (number shown, kind, id)
        self.textboxes = 0
        self.tables_rows = 0
        self.tables_layout = 0
        self.bullets = 0
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
        for note in root.iter(_w(tag)):
            if note.get(_w("type")) in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            notes[note.get(_w("id"))] = note
        return notes

    def header_footer_text(self) -> str:
        texts = []
        for kind in ("header", "footer"):
            for part in self.parts.get(kind, []):
                try:
                    root = self.etree.fromstring(part.blob, parser=self.etree.XMLParser(resolve_entities=False, huge_tree=True))
                except Exception:  # noqa: BLE001
                    continue
                text = "".join(t.text or "" for t in root.iter(W_T)).strip()
                if text:
                    texts.append(text)
        return " / ".join(dict.fromkeys(texts))

    # --- styles -------------------------------------------------------------------------------

    def style_chain(self, sid: str | None):
        seen = set()
        while sid and sid in self.styles and sid not in seen and len(seen) < 30:
            seen.add(sid)
            st = self.styles[sid]
            yield st
            sid = _wval(st.find(_w("basedOn")))

    def pstyle(self, p) -> str | None:
        ppr = p.find(_w("pPr"))
        sid = _wval(ppr.find(_w("pStyle"))) if ppr is not None else None
        return sid or self.default_pstyle

    def style_name(self, sid: str | None) -> str:
        st = self.styles.get(sid) if sid else None
        return (_wval(st.find(_w("name"))) or "") if st is not None else ""

    def ppr_prop(self, p, tag: str):
        """A paragraph property from the paragraph itself or its style chain."""
        ppr = p.find(_w("pPr"))
        if ppr is not None and ppr.find(_w(tag)) is not None:
            return ppr.find(_w(tag))
        for st in self.style_chain(self.pstyle(p)):
            sppr = st.find(_w("pPr"))
            if sppr is not None and sppr.find(_w(tag)) is not None:
                return sppr.find(_w(tag))
        return None

    def heading_level(self, p) -> int | None:
        ppr = p.find(_w("pPr"))
        own = ppr.find(_w("outlineLvl")) if ppr is not None else None
        if own is not None:
            return _outline(own)
        sid = self.pstyle(p)
        for st in self.style_chain(sid):
            name = (_wval(st.find(_w("name"))) or "").strip().lower()
            m = re.fullmatch(r"(?:heading|标题)\s*([1-9])", name)
            if m:
                return min(int(m.group(1)), 6)
            sppr = st.find(_w("pPr"))
            lvl = sppr.find(_w("outlineLvl")) if sppr is not None else None
            if lvl is not None:
                return _outline(lvl)
        return None

    def is_title_style(self, p) -> bool:
        for st in self.style_chain(self.pstyle(p)):
            if (_wval(st.find(_w("name"))) or "").strip().lower() in ("title", "标题"):
                return True
        return False

    def looks_like_title(self, p, text: str) -> bool:
        if not text or len(text) > 80 or "\n" in text or text[-1] in "。！？；：:;!?，,":
            return False
        jc = _wval(self.ppr_prop(p, "jc"))
        centered = jc in ("center", "centre")
        body = self.body_size()
        size = self.max_run_size(p)
        larger = size is not None and body is not None and size >= body + 2
        return centered or larger

    def body_size(self) -> int | None:
        for st in self.style_chain(self.default_pstyle):
            sz = st.find(f"{_w('rPr')}/{_w('sz')}")
            if sz is not None:
                return _int(_wval(sz))
        return self.default_size or 21

    def max_run_size(self, p) -> int | None:
        style_size = None
        for st in self.style_chain(self.pstyle(p)):
            sz = st.find(f"{_w('rPr')}/{_w('sz')}")
            if sz is not None:
                style_size = _int(_wval(sz))
                break
        best = None
        for r in p.iter(W_R):
            if not "".join(t.text or "" for t in r.iter(W_T)).strip():
                continue
            sz = r.find(f"{_w('rPr')}/{_w('sz')}")
            size = _int(_wval(sz)) if sz is not None else None
            size = size or style_size or self.body_size()
            best = size if best is None else max(best, size)
        return best

    # --- numbering ----------------------------------------------------------------------------

    def _load_numbering(self) -> None:
        root = self._part_xml("numbering")
        if root is None:
            return
        for ab in root.iter(_w("abstractNum")):
            aid = ab.get(_w("abstractNumId"))
            self.abstract[aid] = {int(lvl.get(_w("ilvl"), "0")): _level(lvl) for lvl in ab.findall(_w("lvl"))}
            link = _wval(ab.find(_w("numStyleLink")))
            if link:
                self.num_style_link[aid] = link
        for num in root.iter(_w("num")):
            nid = num.get(_w("numId"))
            aid = _wval(num.find(_w("abstractNumId")))
            overrides: dict[int, dict] = {}
            for ov in num.findall(_w("lvlOverride")):
                ilvl = int(ov.get(_w("ilvl"), "0"))
                entry: dict = {}
                start = ov.find(_w("startOverride"))
                if start is not None:
                    entry["start"] = _int(_wval(start)) or 0
                lvl = ov.find(_w("lvl"))
                if lvl is not None:
                    entry["lvl"] = _level(lvl)
                overrides[ilvl] = entry
            if nid is not None and aid is not None:
                self.nums[nid] = (aid, overrides)

    def _resolve_abstract(self, aid: str) -> str:
        """An abstractNum that only links to a numbering style: follow it to the real definition."""
        for _ in range(5):
            link = self.num_style_link.get(aid)
            if not link or self.abstract.get(aid):
                return aid
            numpr = None
            for st in self.style_chain(link):
                numpr = st.find(f"{_w('pPr')}/{_w('numPr')}")
                if numpr is not None:
                    break
            nid = _wval(numpr.find(_w("numId"))) if numpr is not None else None
            if nid not in self.nums:
                return aid
            aid = self.nums[nid][0]
        return aid

    def number_of(self, p) -> tuple[str, str] | None:
        """The visible list number of paragraph ``p`` (advancing the counters) and the separator after it."""
        if not self.nums:
            return None
        ppr = p.find(_w("pPr"))
        numpr = ppr.find(_w("numPr")) if ppr is not None else None
        nid = _wval(numpr.find(_w("numId"))) if numpr is not None else None
        ilvl = _int(_wval(numpr.find(_w("ilvl")))) if numpr is not None else None
        sid = self.pstyle(p)
        if nid is None:
            for st in self.style_chain(sid):
                snum = st.find(f"{_w('pPr')}/{_w('numPr')}")
                if snum is not None and snum.find(_w("numId")) is not None:
                    nid = _wval(snum.find(_w("numId")))
                    if ilvl is None:
                        ilvl = _int(_wval(snum.find(_w("ilvl"))))
                    break
        if nid is None or nid == "0" or nid not in self.nums:
            return None
        aid, overrides = self.nums[nid]
        aid = self._resolve_abstract(aid)
        levels = dict(self.abstract.get(aid, {}))
        for k, entry in overrides.items():
            if "lvl" in entry:
                levels[k] = entry["lvl"]
        if ilvl is None:  # a style-linked list: the level whose pStyle is this style
            ilvl = next((k for k, lv in levels.items() if lv.get("pstyle") and lv["pstyle"] == sid), 0)
        if ilvl not in levels:
            return None
        counters = self.counters.setdefault(aid, {})
        if nid not in self.nums_seen:
            self.nums_seen.add(nid)
            for k, entry in overrides.items():
                if "start" in entry:
                    counters[k] = entry["start"] - 1
                elif "lvl" in entry and entry["lvl"].get("start") is not None:
                    counters[k] = entry["lvl"]["start"] - 1
        lv = levels[ilvl]
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else lv["start"]
        for k, deeper in levels.items():
            if k <= ilvl or k not in counters:
                continue
            restart = deeper.get("restart")
            if restart is None or (restart != 0 and ilvl < restart):
                del counters[k]
        if lv["fmt"] == "bullet":
            self.bullets += 1
            return None
        legal = lv.get("legal")

        def value(match: re.Match) -> str:
            k = int(match.group(1)) - 1
            other = levels.get(k)
            if other is None:
                return ""
            n = counters.get(k, other["start"])
            fmt = "decimal" if (legal and k != ilvl) else other["fmt"]
            return format_number(n, fmt)

        text = re.sub(r"%([1-9])", value, lv["text"] or "")
        if not text:
            return None
        suff = lv.get("suff") or "tab"
        sep = "" if suff == "nothing" else " " if suff == "space" else ("" if not text[-1].isascii() else " ")
        return text, sep

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
            elif tag in (_w("customXml"), _w("ins"), _w("moveTo")):
                self.blocks(child, out)

    def paragraph(self, p, out: list[list]) -> None:
        boxes: list = []
        parts: list[str] = []
        self.inline(p, parts, boxes)
        text = "".join(parts)
        number = self.number_of(p)
        if number:
            text = number[0] + (number[1] if text else "") + text
        level = self.heading_level(p) if text.strip() else None
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
            elif tag.startswith(f"{{{_M}}}"):
                parts.append("".join(t.text or "" for t in child.iter(f"{{{_M}}}t")))
            elif tag == f"{{{_MC}}}AlternateContent":
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
            elif tag in (_w("tab"), _w("ptab")):
                parts.append("\t")
            elif tag == _w("br"):
                if child.get(_w("type")) in (None, "textWrapping"):
                    parts.append("\n")
            elif tag == _w("cr"):
                parts.append("\n")
            elif tag == _w("noBreakHyphen"):
                parts.append("-")
            elif tag == _w("sym"):
                code = _int(child.get(_w("char")), 16)
                if code:
                    parts.append(chr(code - 0xF000) if 0xF020 <= code <= 0xF07E else chr(code))
            elif tag in (_w("footnoteReference"), _w("endnoteReference")):
                kind = "footnote" if tag == _w("footnoteReference") else "endnote"
                if self.in_note:
                    continue
                number = len(self.note_refs) + 1
                self.note_refs.append((number, kind, child.get(_w("id"))))
                parts.append(f"[{number}]")
                custom_mark = child.get(_w("customMarkFollows")) in ("1", "true", "on")
            elif tag == _w("ruby"):
                base = child.find(_w("rubyBase"))
                if base is not None:
                    self.inline(base, parts, boxes)
            elif tag == f"{{{_MC}}}AlternateContent":
                self.alternate(child, parts, boxes)
            elif tag in (_w("drawing"), _w("pict"), _w("object")):
                boxes.extend(_outer_textboxes(child))

    def alternate(self, ac, parts: list[str], boxes: list) -> None:
        """mc:AlternateContent: the same content twice (DrawingML and VML); read the first choice only."""
        chosen = ac.find(f"{{{_MC}}}Choice")
        if chosen is None or not _outer_textboxes(chosen):
            chosen = ac.find(f"{{{_MC}}}Fallback")
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
                vmerge = tc.find(f"{_w('tcPr')}/{_w('vMerge')}")
                if vmerge is not None and _wval(vmerge) in (None, "continue"):
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
    for anc in node.iterancestors():
        if anc is root:
            return True
    return False


def _nearest(el, tag):
    for anc in el.iterancestors():
        if anc.tag == tag:
            return anc
    return None


def _int(value, base: int = 10) -> int | None:
    try:
        return int(value, base) if value is not None else None
    except (TypeError, ValueError):
        return None


def _outline(el) -> int | None:
    val = _int(_wval(el))
    if val is None or val >= 9 or val < 0:
        return None
    return min(val + 1, 6)


def _level(lvl) -> dict:
    restart = lvl.find(_w("lvlRestart"))
    legal = lvl.find(_w("isLgl"))
    return {
        "start": _int(_wval(lvl.find(_w("start")))) if lvl.find(_w("start")) is not None else 1,
        "fmt": _wval(lvl.find(_w("numFmt"))) or "decimal",
        "text": _wval(lvl.find(_w("lvlText"))) if lvl.find(_w("lvlText")) is not None else None,
        "restart": _int(_wval(restart)) if restart is not None else None,
        "legal": legal is not None and _wval(legal) not in ("0", "false", "off"),
        "suff": _wval(lvl.find(_w("suff"))),
        "pstyle": _wval(lvl.find(_w("pStyle"))),
    }


_CN_DIGITS = "〇一二三四五六七八九"
_CN_FORMAL_S = "零壹贰叁肆伍陆柒捌玖"
_CN_FORMAL_T = "零壹貳參肆伍陸柒捌玖"


def _chinese(n: int, digits: str = _CN_DIGITS, units: str = "十百千", zero: str = "零", formal: bool = False) -> str:
    """Chinese counting: 1 一, 10 十, 11 十一, 20 二十, 101 一百零一 (``formal``: 壹拾, not 拾)."""
    if n <= 0:
        return str(n)
    if n >= 10000:
        high, low = divmod(n, 10000)
        rest = _chinese(low, digits, units, zero, formal) if low else ""
        if low and low < 1000:
            rest = zero + rest
        return _chinese(high, digits, units, zero, formal) + "万" + rest
    out = []
    pending_zero = False
    for power, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        d = (n // power) % 10
        if d == 0:
            if out:
                pending_zero = True
            continue
        if pending_zero:
            out.append(zero)
            pending_zero = False
        if power == 10 and d == 1 and not out and not formal:
            out.append(unit)
        else:
            out.append(digits[d] + unit)
    return "".join(out)


def _letters(n: int, base: str) -> str:
    if n <= 0:
        return str(n)
    return base[(n - 1) % 26] * ((n - 1) // 26 + 1)


def _roman(n: int) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = []
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                       (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    """A list counter as Word shows it for ``w:numFmt`` ``fmt``."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "taiwaneseCountingThousand",
               "japaneseCounting", "koreanCounting"):
        return _chinese(n)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand", "koreanDigital"):
        return "".join(_CN_DIGITS[int(d)] for d in str(n)) if n >= 0 else str(n)
    if fmt == "chineseLegalSimplified":
        return _chinese(n, _CN_FORMAL_S, "拾佰仟", formal=True)
    if fmt in ("ideographLegalTraditional", "japaneseLegal"):
        return _chinese(n, _CN_FORMAL_T, "拾佰仟", formal=True)
    if fmt == "ideographTraditional":
        return "甲乙丙丁戊己庚辛壬癸"[(n - 1) % 10] if n > 0 else str(n)
    if fmt == "ideographZodiac":
        return "子丑寅卯辰巳午未申酉戌亥"[(n - 1) % 12] if n > 0 else str(n)
    if fmt == "ideographEnclosedCircle" and 1 <= n <= 10:
        return chr(0x3220 + n - 1)
    if fmt in ("decimalFullWidth", "decimalFullWidth2"):
        return "".join(chr(0xFF10 + int(d)) for d in str(n))
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese"):
        if 1 <= n <= 20:
            return chr(0x2460 + n - 1)
        if 21 <= n <= 35:
            return chr(0x3251 + n - 21)
        if 36 <= n <= 50:
            return chr(0x32B1 + n - 36)
        return str(n)
    if fmt == "decimalEnclosedParen":
        return chr(0x2474 + n - 1) if 1 <= n <= 20 else f"({n})"
    if fmt == "decimalEnclosedFullstop":
        return chr(0x2488 + n - 1) if 1 <= n <= 20 else f"{n}."
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "upperLetter":
        return _letters(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if fmt == "lowerLetter":
        return _letters(n, "abcdefghijklmnopqrstuvwxyz")
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "none":
        return ""
    if fmt == "ordinal":
        return f"{n}."
    return str(n)


def _read_docx(data: bytes, name: str) -> Source:
    import docx  # python-docx

    try:
        document = docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise SourceError(f"{name}: 不是有效的 .docx 文件（压缩包损坏）(not a readable .docx: broken zip);"
                          f" 请用 Word 或 WPS 打开后重新另存为 .docx 或 .txt (open it and save it again)") from None
    except Exception as err:  # noqa: BLE001 - PackageNotFoundError, KeyError, ValueError, lxml errors …
        raise SourceError(f"{name}: 不是有效的 .docx 文件 (not a readable .docx: {type(err).__name__}: {str(err)[:100]});"
                          f" 请用 Word 或 WPS 打开后重新另存为 .docx 或 .txt (open it and save it again)") from None
    reader = _Docx(document, name)
    body = document.element.body
    out: list[list] = []
    reader.blocks(body, out)
    # Title: a Title-style paragraph, else a short centered/larger first paragraph, else the core property.
    title = None
    title_index = None
    for i, (text, _level_, p, _numbered) in enumerate(out):
        if p is not None and text.strip() and reader.is_title_style(p):
            title, title_index = " ".join(x.strip() for x in text.replace("\v", "\n").split("\n") if x.strip()), i
            break
    if title is None:
        first = next((i for i, entry in enumerate(out) if entry[0].strip()), None)
        if (first is not None and out[first][2] is not None and out[first][1] is None and not out[first][3]
                and reader.looks_like_title(out[first][2], out[first][0].strip())):
            title, title_index = out[first][0].strip(), first
    if title is None:
        try:
            core = (document.core_properties.title or "").strip()
        except Exception:  # noqa: BLE001
            core = ""
        if core and re.search(r"[\u3400-\u9fff]", core) and not core.lower().startswith("microsoft"):
            title = core
    lines: list[str] = []
    headings: dict[int, int] = {}
    for i, (text, level, _p, _numbered) in enumerate(out):
        pieces = _normalise_newlines(text.replace("\v", "\n")).split("\n")
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
        notes.append(f"{len(note_lines)} {what} appended at the end under 注释 as [n] text; the body keeps [n] where each was referenced")
    if not any(line.strip() for line in lines):
        raise SourceError(f"{name}: 文档里没有文字 (the document has no text); 如果文字是图片，请先做 OCR (if the text is an image, OCR it first)")
    if reader.tables_rows:
        notes.append(f"{reader.tables_rows} table(s) read as lines, one row per line, cells separated by ' | '")
    if reader.tables_layout:
        notes.append(f"{reader.tables_layout} layout table(s) (one column or long cells) read paragraph by paragraph")
    if reader.textboxes:
        notes.append(f"{reader.textboxes} text box(es) read; their text follows the paragraph they are anchored to")
    if reader.bullets:
        notes.append(f"{reader.bullets} bulleted list paragraph(s): the bullet symbols are not copied")
    hf = reader.header_footer_text()
    if hf:
        notes.append(f"page headers/footers left out (not speech text): {hf[:60]}{'…' if len(hf) > 60 else ''}")
    if reader.parts.get("comments"):
        notes.append("Word comments (批注) left out")
    return Source(text="\n".join(lines), format="DOCX", headings=headings, title=title, notes=notes)


# ------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_CHARSET_CODECS = {
    "utf-8": "utf-8", "utf8": "utf-8", "gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "x-gbk": "gb18030",
    "cp936": "gb18030", "euc-cn": "gb18030", "hz-gb-2312": "hz", "big5": "cp950", "big5-hkscs": "big5hkscs", "cp950": "cp950",
    "x-x-big5": "cp950", "utf-16": "utf-16", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be",
}
_CODEC_LABELS = {"utf-8": "UTF-8", "gb18030": "GB18030", "cp950": "Big5", "big5hkscs": "Big5", "hz": "HZ",
                 "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}

_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "blockquote", "pre", "ul", "ol",
               "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "figure",
               "figcaption", "center", "address", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "form", "fieldset", "legend",
               "details", "summary", "body", "html", "font_block"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object", "embed",
              "svg", "math", "canvas", "select", "option", "button", "input", "textarea", "map", "area", "audio", "video",
              "source", "img", "picture", "frame", "frameset", "base", "param", "track", "dialog"}
_NAV_TAGS = {"nav", "aside", "footer", "menu"}
_BOILER_WORDS = {"nav", "navbar", "navi", "navigation", "menu", "menus", "footer", "foot", "bottom", "sidebar", "side",
                 "crumb", "crumbs", "breadcrumb", "breadcrumbs", "share", "sharing", "bdshare", "related", "relate",
                 "recommend", "hot", "rank", "ranking", "copyright", "comment", "comments", "login", "search",
                 "banner", "ad", "ads", "advert", "pager", "print", "toolbar", "tools", "topbar", "top", "header",
                 "head", "logo", "friendlink", "links", "qrcode", "weixin", "subnav", "mainnav"}
_CONTENT_WORDS = {"article", "content", "main", "body", "text", "title", "post", "entry", "zoom", "detail", "artibody",
                  "story", "news", "con", "txt", "editor", "trs", "cont", "wenzhang", "zhengwen", "info"}
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CJK_RE = re.compile(r"[\u3400-\u9fff，。、；：？！“”（）《》]")
_SPACE_RE = re.compile(r"[ \t\n\r\f]+")
_TITLE_SEPS = re.compile(r"\s*(?:\s[-–—|｜:：]\s|[_｜|]|－{1,2}|(?<=[\u3400-\u9fff）」》])\s*-{1,2}\s*(?=[\u3400-\u9fffA-Za-z])|—{1,2}(?=[^—]*$))\s*")


def _decode_html(data: bytes, name: str) -> tuple[str, str, list[str]]:
    notes: list[str] = []
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec), ("UTF-8" if codec == "utf-8-sig" else "UTF-16"), notes
            except UnicodeDecodeError:
                break
    head = data[:8192]
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    declared = m.group(1).decode("ascii", "replace").lower() if m else None
    codec = _CHARSET_CODECS.get(declared) if declared else None
    if codec:
        try:
            return data.decode(codec), _CODEC_LABELS.get(codec, codec.upper()), notes
        except UnicodeDecodeError:
            pass
    try:
        text, label = _decode(data, name)
        return text, label, notes
    except SourceError:
        if not codec:
            raise
    text = data.decode(codec, errors="replace")
    bad = text.count("\ufffd")
    notes.append(f"{bad} byte sequence(s) were not valid {declared} and are shown as \ufffd")
    return text, _CODEC_LABELS.get(codec, codec.upper()), notes


def _classes(el) -> set[str]:
    words = set()
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


class _Page:
    def __init__(self, root):
        self.root = root
        self.skipped: set = set()      # element ids left out with all inside them
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


_PARA_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dd", "dt", "pre", "blockquote", "figcaption", "caption", "center", "th"}


def _choose_article(page: _Page, title_el):
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


class _Lines:
    def __init__(self):
        self.lines: list[str] = []
        self.levels: dict[int, int] = {}
        self.buf: list[str] = []

    def add(self, text: str | None) -> None:
        if text:
            self.buf.append(_SPACE_RE.sub(" ", text))

    def flush(self) -> None:
        line = "".join(self.buf).strip(" \xa0")
        self.buf = []
        if line:
            self.lines.append(line)


def _link_dense(el) -> bool:
    text = el.text_content()
    total = len(_SPACE_RE.sub("", text))
    if not total:
        return False
    anchors = el.findall(".//a")
    if len(anchors) < 2 and el.tag not in ("li", "ul", "ol"):
        return False
    link_chars = sum(len(_SPACE_RE.sub("", a.text_content())) for a in anchors)
    return link_chars / total >= 0.5


def _linearise(el, page: _Page, out: _Lines, keep, state: dict) -> None:
    """Write the text of ``el``'s children to ``out``: blocks as lines, <br> as line breaks."""
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions
            out.add(child.tail)
            continue
        if child in page.skipped or (child not in keep and (child in page.boiler or (tag in _BLOCK_TAGS and _link_dense(child)))):
            if tag not in _SKIP_TAGS or tag == "img":
                dropped = _SPACE_RE.sub("", child.text_content())
                if dropped:
                    state["dropped"] += 1
            out.add(child.tail)
            continue
        if tag == "br":
            out.flush()
        elif tag == "tr" and not any(isinstance(d.tag, str) and d.tag in ("p", "div", "table", "br", "ul", "ol") for d in child.iter() if d is not child):
            out.flush()
            cells = [_SPACE_RE.sub(" ", c.text_content()).strip(" ") for c in child if isinstance(c.tag, str) and c.tag in ("td", "th")]
            line = " | ".join(c for c in cells if c)
            if line:
                out.add(line)
                state["rows"] += 1
            out.flush()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            out.flush()
            start = len(out.lines)
            out.add(child.text)
            _linearise(child, page, out, keep, state)
            out.flush()
            if len(out.lines) > start and child is not state.get("title_el"):
                out.levels[start] = int(tag[1])
        elif tag in _BLOCK_TAGS:
            out.flush()
            out.add(child.text)
            _linearise(child, page, out, keep, state)
            out.flush()
        else:
            out.add(child.text)
            _linearise(child, page, out, keep, state)
        out.add(child.tail)


def _read_html(data: bytes, name: str) -> Source:
    import lxml.html

    text, encoding, notes = _decode_html(data, name)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"))
    text = _normalise_newlines(text)
    if not text.strip():
        raise SourceError(f"{name}: 网页是空的 (the page is empty); 请重新保存网页 (save the page again)")
    try:
        root = lxml.html.document_fromstring(text)
    except Exception as err:  # noqa: BLE001 - lxml ParserError on junk
        raise SourceError(f"{name}: 无法解析网页 (cannot parse the page: {type(err).__name__}); 请在浏览器中另存为“网页，全部”或复制正文到 .txt (save it again, or copy the text into a .txt file)") from None
    page = _Page(root)
    page_title = None
    for t in root.iter("title"):
        page_title = _SPACE_RE.sub(" ", t.text_content()).strip() or None
        break
    title_core = _strip_site_name(page_title) if page_title else None
    title_el = _find_title_heading(root, page, title_core, page_title)
    for attempt in range(2):
        article, _units = _choose_article(page, title_el)
        if article is None:
            article = root.find("body") if root.find("body") is not None else root
        keep = set(article.iterancestors()) | {article}
        out = _Lines()
        state = {"dropped": 0, "rows": 0, "title_el": title_el}
        out.add(article.text)
        _linearise(article, page, out, keep, state)
        out.flush()
        if any(line.strip() for line in out.lines) or not page.boiler:
            break
        page.boiler.clear()  # everything looked like navigation: take the page as it is rather than nothing
    title = None
    if title_el is not None:
        title = _SPACE_RE.sub(" ", title_el.text_content()).strip() or None
    if title is None and title_core:
        title = title_core
    if not any(line.strip() for line in out.lines):
        raise SourceError(f"{name}: 网页里找不到正文 (no article text found in the page); 请把正文复制到 .txt 再导入 (copy the text into a .txt file)")
    headings = {i + 1: lvl for i, lvl in out.levels.items()}
    if state["dropped"]:
        notes.append(f"{state['dropped']} block(s) of page furniture inside the article element left out (navigation, link lists, share buttons)")
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


def _find_title_heading(root, page: _Page, title_core: str | None, page_title: str | None):
    heads = [h for tag in ("h1", "h2") for h in root.iter(tag) if not page.excluded(h)]
    def text(h):
        return _SPACE_RE.sub(" ", h.text_content()).strip()
    site = ""
    if page_title and title_core and page_title.strip() != title_core:
        site = _SPACE_RE.sub("", page_title.strip()[page_title.strip().find(title_core) + len(title_core):])
    if title_core:
        core = _SPACE_RE.sub("", title_core)
        matches = []
        for h in heads:
            t = _SPACE_RE.sub("", text(h))
            if t and len(t) >= 4 and (t in core or core in t) and not (site and t in site):
                matches.append((t == core, core.startswith(t) or t.startswith(core), len(t), h))
        if matches:
            return max(matches, key=lambda m: m[:3])[3]
    h1s = [h for h in heads if h.tag == "h1" and text(h)]
    if len(h1s) == 1:
        t = _SPACE_RE.sub("", text(h1s[0]))
        if not site or t not in site:
            return h1s[0]
    return None
