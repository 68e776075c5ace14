"""PDF: the text layer, page by page, read with pypdf (why pypdf: see the package docstring)."""

from __future__ import annotations

import io
import logging
import warnings

from .base import Source, SourceError
from .text import normalise_newlines, plausibility


def read_pdf(data: bytes, name: str) -> Source:
    """Read a PDF's text layer; refuse scanned PDFs and text layers that do not decode to readable text."""
    import pypdf

    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader = pypdf.PdfReader(io.BytesIO(data))
            except Exception as err:
                raise SourceError(
                    f"{name}: PDF 文件已损坏 (a broken PDF: {type(err).__name__}: {str(err)[:120]}); 请重新下载或另存后再导入 (download or save it again)"
                ) from None
            if reader.is_encrypted:
                try:
                    ok: object = reader.decrypt("")
                except Exception:
                    ok = 0
                if not ok:
                    raise SourceError(
                        f"{name}: PDF 有密码保护 (password-protected PDF); 请去掉密码另存后再导入 (save a copy without a password)"
                    )
            pages = []
            empty_pages = []
            for number, page in enumerate(reader.pages, start=1):
                try:
                    text = page.extract_text() or ""
                except Exception as err:
                    raise SourceError(
                        f"{name}: 第 {number} 页的文字无法提取 (cannot extract the text of page {number}: {type(err).__name__});"
                        f" 请用 PDF 阅读器另存为文本后再导入 (save it as text from a PDF reader)"
                    ) from None
                text = normalise_newlines(text).rstrip("\n")
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
        raise SourceError(
            f"{name}: PDF 没有文字层，是扫描件 (no text layer: a scanned PDF); 请先做 OCR 文字识别再导入 (run OCR on it first)"
        )
    if plausibility(body) < 0.6:
        raise SourceError(
            f"{name}: PDF 的文字层无法正确解码（字体缺少 Unicode 映射）(its text layer does not decode to readable text);"
            f" 请用 OCR 或从原始文档另存为 .docx/.txt (OCR it, or export the original as .docx or .txt)"
        )
    notes = ["PDF lines are hard-wrapped as on the page"]
    if empty_pages:
        shown = ", ".join(map(str, empty_pages[:10])) + ("…" if len(empty_pages) > 10 else "")
        notes.append(
            f"{len(empty_pages)} of {len(pages)} PDF pages have no text layer (scanned?): page {shown}; their text is missing and needs OCR"
        )
    return Source(text=body, format="PDF", notes=notes)
