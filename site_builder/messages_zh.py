"""Chinese for the English messages the terminal shows (problems, hints, summaries, ``error:`` lines).

Messages are written in English where they are made (schema, frontmatter, loader, markup, build …);
when they are printed, the table (messages_zh_table) gives the Chinese, printed first, and the
English line follows unchanged (scripts and tests that look for the English still find it). A
message the table does not know is printed in English only, as before; tests/test_messages_zh.py
fails for such a message.
"""

from __future__ import annotations

import functools
import re

from .errors import Problem, _printable
from .messages_zh_table import FIELDS_ZH, TABLE


@functools.cache
def _compiled() -> list:
    """The table's patterns, compiled when a message is first translated (not on import: the CLI
    starts without it)."""
    return [(re.compile(pattern, re.S), template) for pattern, template in TABLE]


_GROUP = re.compile(r"\{(\d+)(\*?)\}")

_SUMMARY = re.compile(
    r"(Checked|Built) (\d+) speeches(?:, (\d+) pages \((\d+) written, (\d+) removed\))?; "
    r"(\d+) errors, (\d+) warnings in ([\d.]+) s( \(nothing changed\))?"
)


def _fill(template: str, match: re.Match) -> str:
    def group(g: re.Match) -> str:
        value = match[int(g[1])] or ""
        return (translate(value) or value) if g[2] else value

    return _GROUP.sub(group, template)


def translate(message: str) -> str | None:
    """The Chinese for an English message, or None when the table does not know it."""
    if m := _SUMMARY.fullmatch(message):
        what, speeches, pages, written, removed, errors, warnings, seconds, same = m.groups()
        built = f"，{pages} 个页面（写入 {written} 个，删除 {removed} 个）" if pages else ""
        return (
            f"{'已检查' if what == 'Checked' else '已生成'} {speeches} 篇讲话{built}：{errors} 个错误，"
            f"{warnings} 个警告，用时 {seconds} 秒" + ("（没有变化）" if same else "")
        )
    for pattern, template in _compiled():
        if m := pattern.fullmatch(message):
            return template(m) if callable(template) else _fill(template, m)
    return None


def bilingual(text: str, prefix: str = "", prefix_zh: str = "") -> str:
    """``prefix_zh`` + the Chinese on one line, then ``prefix`` + the English, or only the latter."""
    zh = translate(text)
    english = prefix + text
    return english if zh is None else f"{prefix_zh}{zh}\n{english}"


def problem_text(p: Problem) -> str:
    """The Chinese lines of a problem (when the table knows its message), each followed by the
    English line ``Problem.format`` prints."""
    english = p.format()
    head, sep, hint = english.partition("\n    hint: ")
    lines = []
    if (zh := translate(p.message)) is not None:
        path = _printable(p.path)
        where = path if p.line is None else f"{path}:{p.line}"
        label = "警告：" if p.severity == "warning" else ""
        field = f"{FIELDS_ZH.get(p.field, p.field)}：" if p.field else ""
        lines.append(f"{where}: {label}{field}{zh}")
    lines.append(head)
    if sep:
        if p.hint and (zh_hint := translate(p.hint)) is not None:
            lines.append(f"    提示：{zh_hint}")
        lines.append(f"    hint: {hint}")
    return "\n".join(lines)


def more_text(n: int, field: str | None, message: str) -> str:
    """The line that stands for ``n`` more files with the same problem."""
    english = f"... and {n} more files with {field + ': ' if field else ''}{message}"
    zh = translate(message)
    if zh is None:
        return english
    label = f"{FIELDS_ZH.get(field, field)}：" if field else ""
    return f"……另有 {n} 个文件有同样的问题：{label}{zh}\n{english}"
