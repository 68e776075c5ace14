"""``site-builder search`` on a terminal: hits, the concordance (KWIC) and the trend as text.

Columns are aligned by display width (East Asian wide and full-width characters take two
columns, combining marks none), so Chinese lines up in a terminal."""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]+>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def width(text: str) -> int:
    w = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return w


def clip_left(text: str, cols: int) -> str:
    """The end of ``text`` that fits in ``cols`` columns, padded on the left to exactly ``cols``."""
    out, w = [], 0
    for ch in reversed(text):
        cw = width(ch)
        if w + cw > cols:
            break
        out.append(ch)
        w += cw
    return " " * (cols - w) + "".join(reversed(out))


def clip_right(text: str, cols: int, pad: bool = False) -> str:
    """The start of ``text`` that fits in ``cols`` columns (… when cut), padded when ``pad``."""
    if width(text) <= cols:
        return text + " " * (cols - width(text)) if pad else text
    out, w = [], 0
    for ch in text:
        cw = width(ch)
        if w + cw > cols - 1:
            break
        out.append(ch)
        w += cw
    text = "".join(out) + "…"
    return text + " " * (cols - w - 1) if pad else text


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def hits_text(result: dict, bold=lambda s: s) -> list[str]:
    """The ordinary answer: a count line, then each hit with its occurrences and excerpt."""
    total, q = result["total"], result["query"]
    lines: list[str] = []
    if not total:
        lines.append(f"没有找到包含“{q}”的讲话。(no speech matches)")
        lines.extend(suggestion_lines(result))
        return lines
    lines.append(
        f"{total} 篇讲话包含“{q}”，共 {result.get('occurrences_total', 0)} 处（{_sort_label(result.get('sort'))}）"
    )
    first = result.get("offset", 0) + 1
    for n, hit in enumerate(result["hits"], first):
        lines.append("")
        lines.append(
            f"{n}. {bold(_clean(hit['title']))}  ({hit['date']}, {_clean(hit['meeting_type'])})  "
            f"{hit.get('occurrences', 0)} 处"
        )
        lines.append(f"   {hit['source']}  →  {hit['url']}")
        excerpt = re.sub(r"</?mark>", lambda m: "【" if m.group() == "<mark>" else "】", hit["excerpt"])
        lines.append("   " + _clean(html.unescape(_TAG.sub("", excerpt))))
    shown = first - 1 + len(result["hits"])
    if total > shown:
        lines.append(f"\n… 还有 {total - shown} 篇（下一页：--offset {shown}；或用 --limit 显示更多）")
    return lines


def facet_lines(result: dict) -> list[str]:
    facets = result.get("facets", {})
    out = []
    for name, label in (
        ("year", "年份"),
        ("meeting_type", "会议类型"),
        ("theme", "主题"),
        ("speaker", "讲话人"),
        ("organization", "单位"),
    ):
        counts = facets.get(name) or {}
        if counts:
            out.append(f"{label}：" + "，".join(f"{_clean(k)} {v}" for k, v in list(counts.items())[:12]))
    return out


def suggestion_lines(result: dict) -> list[str]:
    s = result.get("suggestion")
    if not s:
        return []
    return [f"{s['message']}：site-builder search '{s['query']}'"]


def kwic_text(result: dict, columns: int = 120, bold=lambda s: s) -> list[str]:
    """Every occurrence on a line: date, title, left context (right-aligned), match, right context."""
    occ = result["occurrences"]
    q = result["query"]
    if not result["total"]:
        return [f"没有找到包含“{q}”的讲话。(no speech matches)", *suggestion_lines(result)]
    head = (
        f"“{q}”共 {result['occurrences_total']} 处，在 {result['total']} 篇讲话中（{_sort_label(result.get('sort'))}）"
    )
    if not occ:
        return [
            head,
            "（这一页没有出现之处：--offset 超过了总数）"
            if result["occurrences_total"]
            else "（只在标题中出现，正文中没有出现之处）",
        ]
    date_w = max(width(o["date"]) for o in occ)
    title_w = min(24, max(width(o["title"]) for o in occ))
    match_w = max(width(o["match"]) for o in occ)
    side = max(8, (columns - date_w - title_w - match_w - 6) // 2)
    lines = [head]
    for o in occ:
        title = clip_right(_clean(o["title"]), title_w, pad=True)
        left = clip_left(_clean(o["left"]), side)
        right = clip_right(_clean(o["right"]), side)
        match = _clean(o["match"])
        lines.append(
            f"{o['date']:<{date_w}}  {title}  {left} {bold(match)}{' ' * (match_w - width(match))} {right}".rstrip()
        )
    shown = result.get("offset", 0) + len(occ)
    if result["occurrences_total"] > shown:
        lines.append(f"… 还有 {result['occurrences_total'] - shown} 处（下一页：--offset {shown}）")
    return lines


def trend_text(result: dict) -> list[str]:
    rows = result.get("trend") or []
    header = ("年份", "篇数", "次数", "每万字")
    cells = [header] + [
        (str(r["year"]), str(r["speeches"]), str(r["occurrences"]), f"{r['per_10k_chars']:.2f}") for r in rows
    ]
    widths = [max(width(c[i]) for c in cells) for i in range(4)]
    out = []
    for k, c in enumerate(cells):
        out.append(
            "  ".join(
                (" " * (widths[i] - width(v)) + v) if i else v + " " * (widths[0] - width(v)) for i, v in enumerate(c)
            )
        )
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    total = ("合计", str(sum(r["speeches"] for r in rows)), str(sum(r["occurrences"] for r in rows)), "")
    out.append("  ".join("-" * w for w in widths))
    out.append(
        "  ".join(
            (" " * (widths[i] - width(v)) + v) if i else v + " " * (widths[0] - width(v)) for i, v in enumerate(total)
        ).rstrip()
    )
    return out


def _sort_label(sort: str | None) -> str:
    return {"newest": "按时间由新到旧", "oldest": "按时间由旧到新"}.get(sort or "", "按相关度排序")


def csv_answer(result: dict, kwic: bool, trend: bool) -> str:
    """``search --csv``: the trend with ``trend``, else the occurrences with ``kwic``, else the hits."""
    from ..export import SEARCH_FIELDS, csv_text, search_rows

    if trend:
        return csv_text(result["trend"], ["year", "speeches", "occurrences", "per_10k_chars"])
    if kwic:
        return csv_text(result["occurrences"], ["source", "url", "title", "date", "left", "match", "right"])
    return csv_text(search_rows(result), SEARCH_FIELDS)


def answer_lines(result: dict, kwic: bool, trend: bool, columns: int, bold=lambda s: s) -> list[str]:
    """``search`` on a terminal ``columns`` wide: the concordance with ``kwic``, else the hits; the
    trend table with ``trend``; the facets of a list of hits."""
    lines = kwic_text(result, columns=max(60, columns), bold=bold) if kwic else hits_text(result, bold=bold)
    if trend:
        lines += ["", *trend_text(result)]
    if result["total"] and not kwic:
        lines += ["", *facet_lines(result)]
    return lines
