"""Markdown (``.md``, ``.markdown``): the text as it is, ATX ``#`` headings taken as headings."""

from __future__ import annotations

import re

from .base import Source, SourceError
from .text import decode_text

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)")
_ATX_CLOSE = re.compile(r"[ \t]+#+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def read_markdown(data: bytes, name: str) -> Source:
    """Read Markdown: ``#`` headings (outside code fences) lose their marks and become headings."""
    text, encoding = decode_text(data, name)
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first == "---":
        raise SourceError(
            f"{name}: 已经有前置元数据（以 --- 开头）(already has front matter);"
            f" 这已是本站的格式，请直接复制到 content/ 目录，不要导入 (copy it into content/ directly instead of importing)"
        )
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
        rest = line[m.end() :]
        rest = _ATX_CLOSE.sub("", rest) if rest.strip("# \t") else ("" if set(rest.strip()) <= {"#"} else rest)
        lines[i] = rest
        if rest.strip():
            headings[i + 1] = len(m.group(1))
    fmt = "Markdown" if encoding.startswith("UTF-8") else f"Markdown ({encoding})"
    return Source(text="\n".join(lines), format=fmt, headings=headings)
