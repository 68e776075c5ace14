"""Reading one source file for ``site-builder import``: bytes in, text with its known structure out.

Every format ends as a :class:`Source`: the text with ``\\n`` line ends (one source paragraph, or
one source line for plain text, per line) plus what the format itself states about headings and
the title. Nothing of the document's text is left out here; deciding what is a title, a heading or
boilerplate is for the later stages. Every problem becomes a :class:`SourceError` whose message
names the file, says why and what to do; no exception of a library escapes.

Modules: :mod:`.base` (:class:`Source`, :class:`SourceError`); :mod:`.text` (encodings,
used by the others); :mod:`.markdown`; :mod:`.html` with :mod:`.html_article` (finding the article);
:mod:`.docx` with :mod:`.docx_styles`, :mod:`.docx_numbering` and :mod:`.docx_xml`; :mod:`.pdf`. This
module reads the file and dispatches by its content and suffix.

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

import os
import re
import stat
from pathlib import Path

from .base import Source, SourceError
from .docx import read_docx
from .docx_numbering import format_number
from .html import read_html
from .markdown import read_markdown
from .pdf import read_pdf
from .text import decode_text, plausibility

__all__ = [
    "MAX_BYTES",
    "SUFFIXES",
    "Source",
    "SourceError",
    "decode_text",
    "format_number",
    "plausibility",
    "read_bytes",
    "read_source",
]

MAX_BYTES = 50 * 1024 * 1024  # files larger than this are refused with a message
SUFFIXES = (
    ".txt",
    ".text",
    ".md",
    ".markdown",
    ".docx",
    ".html",
    ".htm",
    ".xhtml",
    ".pdf",
)  # what a folder import picks up


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
        raise SourceError(
            f"{name}: 无法访问 (cannot access: {err.strerror or err}); 请检查路径 (check the path)"
        ) from None
    _refuse_special(name, st.st_mode)
    if st.st_size > MAX_BYTES:
        raise SourceError(
            f"{name}: 文件过大（{st.st_size / 1024 / 1024:.0f} MB，上限 {MAX_BYTES // 1024 // 1024} MB）"
            f" (file too large); 讲话稿不会这么大，请确认是否选错了文件或拆分后再导入 (check it is the right file, or split it)"
        )
    if st.st_size == 0:
        raise SourceError(f"{name}: 文件是空的 (the file is empty); 请确认文件内容 (check the file)")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise SourceError(
            f"{name}: 无法打开 (cannot open: {err.strerror or err}); 请检查文件权限 (check its permissions)"
        ) from None
    try:
        _refuse_special(name, os.fstat(fd).st_mode)  # it may have been swapped since os.stat
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(MAX_BYTES + 1)
    except OSError as err:
        raise SourceError(
            f"{name}: 读取失败 (read error: {err.strerror or err}); 请把文件复制到本地磁盘后再试 (copy it to a local disk and retry)"
        ) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_BYTES:
        raise SourceError(
            f"{name}: 文件过大 (file too large, over {MAX_BYTES // 1024 // 1024} MB); 请确认是否选错了文件 (check it is the right file)"
        )
    return read_bytes(data, name)


def _refuse_special(name: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise SourceError(
            f"{name}: 这是文件夹，不是文件 (a folder, not a file); 导入文件夹时请让导入程序列出其中的文件 (import the folder itself to import the files in it)"
        )
    if stat.S_ISREG(mode):
        return
    kind = (
        "命名管道 (FIFO)"
        if stat.S_ISFIFO(mode)
        else "套接字 (socket)"
        if stat.S_ISSOCK(mode)
        else "设备文件 (device)"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "特殊文件 (special file)"
    )
    raise SourceError(
        f"{name}: 这是{kind}，不是普通文件 (not a regular file); 请只导入 .txt/.docx/.html/.md/.pdf 文件 (import regular files only)"
    )


def read_bytes(data: bytes, name: str) -> Source:
    """Read the contents of one file; ``name`` gives the suffix and is used in messages."""
    try:
        return _read(data, name)
    except SourceError:
        raise
    except RecursionError:
        raise SourceError(
            f"{name}: 文件结构嵌套过深，无法读取 (nested too deeply to read); 请另存为 .txt 后再导入 (save it as .txt and import that)"
        ) from None
    except Exception as err:
        detail = f"{type(err).__name__}: {err}".replace("\n", " ")[:160]
        raise SourceError(
            f"{name}: 文件已损坏或格式无法识别 (cannot read it: {detail}); 请用原程序打开后另存为 .docx 或 .txt 再导入 (open it in its program and save it as .docx or .txt)"
        ) from None


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = {
    b"\x89PNG": "PNG 图片 (image)",
    b"\xff\xd8\xff": "JPEG 图片 (image)",
    b"GIF8": "GIF 图片 (image)",
    b"Rar!": "RAR 压缩包 (archive)",
    b"7z\xbc\xaf": "7z 压缩包 (archive)",
    b"\x1f\x8b": "gzip 压缩包 (archive)",
    b"\x7fELF": "程序 (executable)",
    b"MZ": "程序 (executable)",
}


def _read(data: bytes, name: str) -> Source:
    """Dispatch by what the bytes are (magic numbers) and then by the suffix; refuse formats we cannot read."""
    suffix = Path(name).suffix.lower()
    if not data or not data.strip(b" \t\r\n\x00"):
        raise SourceError(f"{name}: 文件是空的 (the file is empty); 请确认文件内容 (check the file)")
    if (
        suffix in (".doc", ".wps", ".dot")
        and not data.startswith(_OLE_MAGIC)
        and re.match(rb"\s*<", data[:1024])
        and re.search(rb"<html|<body|<p[ >]|<div", data[:65536], re.I)
    ):
        source = read_html(data, name)  # "Word" files from web systems are often HTML named .doc
        source.notes.insert(0, "a web page saved with a .doc name: read as HTML")
        return source
    if data.startswith(_OLE_MAGIC) or suffix in (".doc", ".wps", ".dot"):
        raise SourceError(
            f"{name}: 旧版 Word/WPS 二进制文件（.doc）或加密文档，无法读取 (old binary .doc or password-protected document);"
            f" 请用 Word 或 WPS 打开后另存为 .docx 或 .txt 再导入 (save it as .docx or .txt and import that)"
        )
    if data.startswith(b"{\\rtf"):
        raise SourceError(
            f"{name}: 这是 RTF 文件 (an RTF file); 请用 Word 或 WPS 另存为 .docx 或 .txt 再导入 (save it as .docx or .txt)"
        )
    if data.startswith(b"%PDF-") or suffix == ".pdf":
        return read_pdf(data, name)
    if data.startswith(b"PK\x03\x04") or suffix in (".docx", ".docm", ".dotx"):
        return read_docx(data, name)
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise SourceError(
                f"{name}: 这是{what}，不是文本 (not a text file); 请导入 .txt/.docx/.html/.md/.pdf 文件 (import a text file)"
            )
    if suffix in (".mht", ".mhtml") or data[:200].lstrip().lower().startswith(b"mime-version"):
        raise SourceError(
            f"{name}: 这是 MHT 网页存档 (an MHT web archive); 请在浏览器中打开后另存为“网页，仅 HTML”(.html) 再导入 (save it as .html)"
        )
    if suffix in (".html", ".htm", ".xhtml", ".shtml"):
        return read_html(data, name)
    if suffix in (".md", ".markdown"):
        return read_markdown(data, name)
    text, encoding = decode_text(data, name)
    return Source(text=text, format=encoding)
