"""The comparison shown: on a terminal, as JSON, as a standalone page, as the static page's data."""

from __future__ import annotations

import html
import json
import os

from .align import Comparison, sentences
from .sides import Side

FOLD_CONTEXT = 40  # characters of an identical run shown next to a change
FOLD_MIN = 40  # an identical run is folded only when that hides at least this many characters


def _sentences_within(parts: list[str], context: int) -> int:
    """How many of ``parts`` (sentences, nearest first) make a context of about ``context``
    characters: whole sentences up to that length, at least one of up to three times it."""
    total = n = 0
    for part in parts:
        if total + len(part) > (context if n else 3 * context):
            break
        total += len(part)
        n += 1
    return n


def fold(text: str, first: bool, last: bool, context: int = FOLD_CONTEXT) -> tuple[str, str, str]:
    """(head, hidden middle, tail) of an identical run: ``head`` continues the change before it
    (none when the run starts the text: ``first``), ``tail`` leads into the change after it (none
    when the run ends the text: ``last``), each whole sentences when they are not too long;
    nothing is hidden when little would be."""
    parts = sentences(text)
    head = tail = ""
    if not first:
        n = _sentences_within(parts, context)
        head = "".join(parts[:n]) if n else text[:context]
    if not last:
        n = _sentences_within(parts[::-1], context)
        tail = "".join(parts[len(parts) - n :]) if n else text[len(text) - context :]
    if len(text) - len(head) - len(tail) < FOLD_MIN:
        return text, "", ""
    return head, text[len(head) : len(text) - len(tail)], tail


def _segments(cmp: Comparison):
    """(kind, value) in reading order: identical runs as 'same' text with their middle as 'fold'
    (the hidden characters), the chunks of changed regions as they are."""
    n = len(cmp.blocks)
    for k, (kind, value) in enumerate(cmp.blocks):
        if kind == "same":
            head, middle, tail = fold(value, k == 0, k == n - 1)
            if not middle:
                yield "same", value
                continue
            if head:
                yield "same", head
            yield "fold", middle
            if tail:
                yield "same", tail
        else:
            for c in value:
                yield c.op, c


_RED, _GREEN, _DIM, _RESET = "\x1b[31;9m", "\x1b[32;4m", "\x1b[2m", "\x1b[0m"


def terminal(cmp: Comparison, a: Side, b: Side, color: bool = False) -> str:
    """The differences for a terminal: ``[-deleted-]{+inserted+}``, or colours (red struck-through,
    green underlined) when ``color``; identical runs folded to ``⋯ 相同 N 字 ⋯``."""
    counts = cmp.counts()
    out = [
        f"A: {a.where}  {a.title}（{len(a.text):,} 字）",
        f"B: {b.where}  {b.title}（{len(b.text):,} 字）",
        (
            f"相似度 {cmp.similarity:.1%}：相同 {counts['same']:,} 字，删 {counts['deleted']:,} 字，"
            f"增 {counts['inserted']:,} 字"
        ),
        "",
    ]

    def show(text: str, style: str, open_: str, close: str) -> str:
        if not text:
            return ""
        return f"{style}{text}{_RESET}" if color else f"{open_}{text}{close}"

    body = []
    for kind, value in _segments(cmp):
        if kind == "same":
            body.append(value)
        elif kind == "fold":
            line = f"⋯ 相同 {len(value):,} 字 ⋯"
            lead = "" if not body or body[-1].endswith("\n") else "\n"
            body.append(f"{lead}{_DIM + line + _RESET if color else line}\n")
        elif kind == "equal":
            body.append(value.a)
        else:
            body.append(show(value.a, _RED, "[-", "-]") + show(value.b, _GREEN, "{+", "+}"))
    if not cmp.a and not cmp.b:
        body.append("（两篇都没有正文）\n")
    elif not any(c.op != "equal" for c in cmp.chunks):
        body = ["正文相同。\n"]
    text = "".join(body)
    return "\n".join(out) + "\n" + text + ("" if text.endswith("\n") else "\n")


def as_json(cmp: Comparison, a: Side, b: Side) -> dict:
    return {"a": a.arg, "b": b.arg, "similarity": round(cmp.similarity, 6), "chunks": [c.as_dict() for c in cmp.chunks]}


_STYLE = """
body{font:17px/1.8 -apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;
 background:#fbfaf7;color:#1f1f1f}main{max-width:84rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin:2rem 0 .5rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem;margin:0}dt{color:#5a5650}dd{margin:0}
.diff{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #e2ddd3;border-radius:6px;
 padding:1rem}.rows{display:grid;grid-template-columns:1fr 1fr;gap:0 1rem}.rows>div{white-space:pre-wrap;
 overflow-wrap:anywhere;padding:.25rem .5rem;border-top:1px solid #eee}.rows .h{font-weight:700;border:0}
del{background:#fbe3e1;color:#8a1410;text-decoration:line-through}ins{background:#e1f3e3;color:#155a22;
 text-decoration:none}details{display:block;color:#5a5650;margin:.2rem 0}summary{cursor:pointer}
.rows details{grid-column:1/3}
@media (prefers-color-scheme:dark){body{background:#1b1a18;color:#e8e4dc}.diff{background:#24221f;border-color:#3a3630}
 del{background:#4a1d1a;color:#ffb4ab}ins{background:#173a1f;color:#a6e3b0}}
"""


def _html_inline(cmp: Comparison) -> str:
    out = []
    for kind, value in _segments(cmp):
        if kind == "same":
            out.append(html.escape(value))
        elif kind == "fold":
            out.append(f"<details><summary>相同 {len(value):,} 字（展开）</summary>{html.escape(value)}</details>")
        elif kind == "equal":
            out.append(html.escape(value.a))
        else:
            if value.a:
                out.append(f"<del>{html.escape(value.a)}</del>")
            if value.b:
                out.append(f"<ins>{html.escape(value.b)}</ins>")
    return "".join(out)


def _html_rows(cmp: Comparison) -> str:
    out = ['<div class="h">A</div><div class="h">B</div>']
    n = len(cmp.blocks)
    for k, (kind, value) in enumerate(cmp.blocks):
        if kind == "same":
            head, middle, tail = fold(value, k == 0, k == n - 1)
            if not middle:
                out.append(f"<div>{html.escape(value)}</div>" * 2)
                continue
            if head:
                out.append(f"<div>{html.escape(head)}</div>" * 2)
            out.append(
                f'<details><summary>相同 {len(middle):,} 字（展开）</summary><div class="rows">'
                + f"<div>{html.escape(middle)}</div>" * 2
                + "</div></details>"
            )
            if tail:
                out.append(f"<div>{html.escape(tail)}</div>" * 2)
        else:
            left = "".join(
                html.escape(c.a) if c.op == "equal" else (f"<del>{html.escape(c.a)}</del>" if c.a else "")
                for c in value
            )
            right = "".join(
                html.escape(c.b) if c.op == "equal" else (f"<ins>{html.escape(c.b)}</ins>" if c.b else "")
                for c in value
            )
            out.append(f"<div>{left}</div><div>{right}</div>")
    return "".join(out)


def standalone_html(cmp: Comparison, a: Side, b: Side) -> str:
    """A page that needs nothing else (no scripts, styles inside): both views."""
    counts = cmp.counts()
    e = html.escape
    return (
        '<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>对比：{e(a.title)} / {e(b.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>对比讲话</h1>\n<dl>\n<dt>A</dt><dd>{e(a.title)} <small>{e(a.where)}，{len(a.text):,} 字</small></dd>\n"
        f"<dt>B</dt><dd>{e(b.title)} <small>{e(b.where)}，{len(b.text):,} 字</small></dd>\n"
        f'<dt>相似度</dt><dd data-similarity="{cmp.similarity:.6f}">{cmp.similarity:.1%}（相同 {counts["same"]:,} 字，'
        f"删 {counts['deleted']:,} 字，增 {counts['inserted']:,} 字）</dd>\n</dl>\n"
        f'<h2>并排</h2>\n<div class="rows" data-diff="side">{_html_rows(cmp)}</div>\n'
        f'<h2>合并</h2>\n<div class="diff" data-diff="inline">{_html_inline(cmp)}</div>\n'
        "</main>\n</body>\n</html>\n"
    )


def use_color(stream) -> bool:
    """Colours on a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- the browser page's list of speeches ---------------------------------------------------------


def browser_docs(speeches) -> list[list[str]]:
    """[title, url, date, date in Chinese, meeting type] of every speech, numbered as the static
    search index numbers its documents (by date text, then source: static_search/index.py), so
    that entry N's text is the index's text file ``t/<N // 256>/<N>`` (static_search/wire.py)."""
    ordered = sorted(speeches, key=lambda s: (s.date.iso(), s.source))
    return [[s.title, s.url, s.date.iso(), s.date.chinese(), s.meta.meeting_type] for s in ordered]


def browser_docs_json(speeches) -> str:
    """``browser_docs`` as compact JSON for a script file (UTF-8, not \\u-escaped: half the size)."""
    text = json.dumps(browser_docs(speeches), ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
