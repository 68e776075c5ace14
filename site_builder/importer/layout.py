"""Layout recovery: the lines of a source text → one paragraph per line, nothing lost.

Real archives come in a few layouts (``shared/import-forms.md``); each step below undoes one of
them and changes only whitespace and line breaks, never a visible character:

* :func:`split_runs` — a whole speech on one line (saved from a web page): paragraphs are
  separated by runs of the ideographic space ``　　`` or of ordinary spaces.
* :func:`unwrap` — hard-wrapped text (PDFs, e-mails): lines broken at a fixed width in the middle
  of sentences are joined again, when the document as a whole is wrapped that way.
* :func:`join_markers` — a section number alone on its line (``一、`` / ``深刻认识……``) joins the
  line after it.
* :func:`footnote_markers` — footnote markers split onto lines of their own (``[`` / ``1`` /
  ``]``) are taken out (reported) and the sentence around them is joined again.

A :class:`Line` remembers the source line it starts on, so every report can name it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from .headings import marker_kind

#: Characters that take no room and carry no text (zero-width spaces, BOMs, direction marks):
#: removed from lines, as whitespace is.
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069\u00ad]")

#: Punctuation a paragraph (or a sentence) ends with; a wrapped line usually does not.
CLOSERS = "。！？；：…”’」』）)】》〉!?;:"
SENTENCE_END = "。！？!?"


@dataclass
class Line:
    n: int
    """1-based number of the source line this text starts on."""
    text: str
    heading: int | None = None
    """Heading level the source's own structure gives (Word styles, <h2>, Markdown #), if any."""


def display_width(text: str) -> int:
    """Columns a line takes in a fixed-width layout: wide, full-width and ambiguous characters
    (“”…— are wide in Chinese text) count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def char_width(text: str) -> int:
    """Characters a line holds (texts wrapped by character count rather than by columns)."""
    return len(text)


def source_lines(text: str, headings: dict[int, int] | None = None) -> list[Line | None]:
    """The source's lines, stripped, invisible characters removed; ``None`` for a blank line."""
    headings = headings or {}
    out: list[Line | None] = []
    for i, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = INVISIBLE.sub("", raw).strip()
        out.append(Line(i, line, headings.get(i)) if line else None)
    return out


def indented(raw: str) -> bool:
    """Whether a raw source line starts with a paragraph indent (``　　`` or 2+ spaces, or a tab)."""
    raw = INVISIBLE.sub("", raw)
    return raw.startswith(("\u3000", "  ", "\t"))


# --------------------------------------------------------------------------------------------
# One line holding many paragraphs
# --------------------------------------------------------------------------------------------

#: Two or more ideographic spaces (or an ideographic space next to ordinary ones, or a tab):
#: the first-line indent of a paragraph on the page the text was copied from.
_IDEO_RUN = re.compile(r"[ \t]*(?:\u3000[ \t\u3000]*\u3000|\t)[ \t\u3000]*")
#: Two or more ordinary spaces between two characters that are not Latin letters or digits.
_SPACE_RUN = re.compile(r"(?<=[^\sA-Za-z])[ \u00a0]{2,}(?=[^\sA-Za-z])")
#: One ideographic space between two characters that are not Latin (in a long line: a web page
#: that separated its title, byline and paragraphs by single spaces; spaced names are rejoined).
_IDEO_ONE = re.compile(r"(?<=[^\sA-Za-z])\u3000(?=[^\sA-Za-z])")
#: Where page metadata starts inside a line (来源：, 发布时间：, a time stamp, a salutation).
_META_START = re.compile(
    r"[\s\u3000]+(?=(?:来源|稿件来源|发布时间|发布日期|时间|字号|作者|责任编辑|编辑|浏览次数|点击数|"
    r"阅读数)\s*[：:]|\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?\s*\d{1,2}:\d{2}|"
    r"(?:同志们|各位代表|各位委员|各位来宾|女士们|尊敬的)[^\s\u3000]{0,20}[：:])"
)
#: Any whitespace after the end of a sentence, in a very long line.
_AFTER_SENTENCE = re.compile(r"(?<=[。！？；”」』])[\s\u3000]+")

LONG_LINE = 160
"""Lines longer than this (characters) are split at runs of ordinary spaces as well."""
VERY_LONG_LINE = 1500
"""Lines longer than this are also split at any whitespace after the end of a sentence."""


def split_runs(lines: list[Line | None]) -> list[Line | None]:
    """Split lines at the separators web pages leave between paragraphs."""
    out: list[Line | None] = []
    for line in lines:
        if line is None:
            out.append(None)
            continue
        parts = [q for p in _IDEO_RUN.split(line.text) for q in _META_START.split(p)]
        if len(line.text) > LONG_LINE or len(parts) >= 3:  # a page on one line
            parts = [q for p in parts for q in _SPACE_RUN.split(p)]
            parts = [q for p in parts for q in _split_outside_brackets(p, _IDEO_ONE)]
        if len(line.text) > VERY_LONG_LINE:
            parts = [q for p in parts for q in _AFTER_SENTENCE.split(p)]
        parts = _merge_spaced_names([p.strip() for p in parts if p.strip()])
        if len(parts) <= 1:
            out.append(line)
            continue
        out.extend(Line(line.n, p, line.heading if i == 0 else None) for i, p in enumerate(parts))
    return out


_CAPTION_HEAD = re.compile(r"(?<=[。！？])[^。！？]{0,16}(?:记者|摄影|通讯员)$")
_CJK1 = re.compile(r"^[\u3400-\u9fff]$")
_ENDS_IN_ONE = re.compile(r"(?:^|[^\u3400-\u9fff])[\u3400-\u9fff]$")
_BY = ("记者", "摄影", "通讯员", "摄影记者", "摄", "文", "图")


_OPENERS, _CLOSERS_OF = "《“‘（(「『【〈", "》”’）)」』】〉"


def _split_outside_brackets(text: str, pattern: re.Pattern[str]) -> list[str]:
    """``pattern.split(text)``, except inside 《》“”（）: a book title 《共享数字机遇　共创美好未来》
    keeps its space."""
    depth, inside, opened = 0, [], 0
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            depth, opened = depth + 1, (opened if depth else i)
        elif ch in _CLOSERS_OF and depth:
            depth -= 1
        if depth and i - opened > 60:  # an opener never closed: stop counting it
            depth = 0
        inside.append(depth > 0)
    parts, start = [], 0
    for m in pattern.finditer(text):
        if not inside[m.start()]:
            parts.append(text[start : m.start()])
            start = m.end()
    parts.append(text[start:])
    return parts


def _merge_spaced_names(parts: list[str]) -> list[str]:
    """Pieces split apart inside a byline are put together again: runs of one-character pieces
    (``罗  成``), and a name after the short office piece before it (``市长  罗成``)."""
    from .people import ROLES

    out: list[str] = []
    i = 0
    while i < len(parts):
        j = i
        while j < len(parts) and len(parts[j]) == 1:
            j += 1
        if j - i >= 2 and out and _ENDS_IN_ONE.search(out[-1]):  # （日期）韩 | 振 | 东
            out[-1] += " " + " ".join(parts[i:j])
            i = j
            continue
        if j - i >= 2:
            piece, i = " ".join(parts[i:j]), j
        elif j - i == 1 and out and _CJK1.match(parts[i]):  # 王　强 cut after 王: 强 goes back
            out[-1] += " " + parts[i]
            i += 1
            continue
        else:
            piece, i = parts[i], i + 1
        short = len(piece.replace(" ", "")) <= 4 or (len(piece) <= 9 and piece.endswith("摄"))
        caption = _CAPTION_HEAD.search(out[-1]) if out and short and piece.endswith("摄") else None
        if caption:  # …出席并讲话。江澜日报记者 | 邹 凯 摄: the caption's first words go with it
            out[-1], piece = out[-1][: caption.start()], caption.group(0) + " " + piece
            out.append(piece)
            continue
        if out and len(out[-1]) <= 24 and out[-1].endswith(tuple(ROLES) + _BY) and short:
            piece = out.pop() + " " + piece
        out.append(piece)
    return out


# --------------------------------------------------------------------------------------------
# Hard-wrapped text
# --------------------------------------------------------------------------------------------


def _raw_width(line: Line, raw: list[str], measure=display_width) -> int:
    """Width of the source line a Line starts on, indent included (an indented first line is full)."""
    source = INVISIBLE.sub("", raw[line.n - 1]).rstrip()
    return measure(source) if source.strip() == line.text else measure(line.text)


def wrap_width(lines: list[Line | None], raw: list[str] | None = None, measure=display_width) -> int | None:
    """The width a hard-wrapped text was wrapped at, or None when it was not wrapped.

    In a wrapped text most lines have the same (largest) width and end in the middle of a
    sentence; in a text with one paragraph per line the widths spread out.
    """
    widths = [(_raw_width(x, raw, measure) if raw else measure(x.text)) for x in lines if x is not None]
    if len(widths) < 6:
        return None
    long = [w for w in widths if w >= (30 if measure is display_width else 15)]
    if len(long) < 4:
        return None
    # Group widths within 2 columns: a line may end one column early before a wide character.
    counts = Counter(long)
    best, best_n = 0, 0
    for w in sorted(counts, reverse=True):
        n = sum(counts.get(w - d, 0) for d in range(0, 4))
        if n > best_n:
            best, best_n = w, n
    if best_n < max(4, 0.35 * len(widths)):
        return None
    full = [
        x
        for x in lines
        if x is not None and best - 3 <= (_raw_width(x, raw, measure) if raw else measure(x.text)) <= best
    ]
    open_ended = sum(1 for x in full if not x.text.endswith(tuple(CLOSERS)))
    if open_ended < 0.5 * len(full):
        return None
    if max(widths) > best + 4 and sum(1 for w in widths if w > best + 4) > 0.1 * len(widths):
        return None
    return best


def _joiner(left: str, right: str) -> str:
    """What goes between two joined pieces: a space between Latin words, else nothing."""
    if left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum():
        return " "
    return ""


def unwrap(lines: list[Line | None], raw: list[str]) -> list[Line | None]:
    """Join the lines of a hard-wrapped text back into paragraphs (see :func:`wrap_width`).

    A full-width line continues on the next one unless the next is blank, indented, or starts
    a numbered section after a line that ends a sentence.
    """
    measure = display_width
    width = wrap_width(lines, raw, measure)
    if width is None:
        measure = char_width
        width = wrap_width(lines, raw, measure)
    if width is None:
        return lines
    slack = 3 if measure is display_width else 1
    out: list[Line | None] = []
    last_width = 0  # width of the last source line joined into out[-1]
    for line in lines:
        prev = out[-1] if out else None
        if (
            line is not None
            and prev is not None
            and not indented(raw[line.n - 1])
            and line.heading is None
            and prev.heading is None
            and last_width >= width - slack
            and not (prev.text.endswith(tuple(SENTENCE_END)) and marker_kind(line.text) is not None)
        ):
            prev.text = prev.text + _joiner(prev.text, line.text) + line.text
        else:
            line = Line(line.n, line.text, line.heading) if line is not None else None
            out.append(line)
        last_width = _raw_width(line, raw, measure) if line is not None else 0
    return out


# --------------------------------------------------------------------------------------------
# Section numbers alone on a line; footnote markers on lines of their own
# --------------------------------------------------------------------------------------------


def join_markers(lines: list[Line]) -> list[Line]:
    """A line that is only a section number (``一、``, ``（二）``, ``3.``) joins the next line."""
    out: list[Line] = []
    pending: Line | None = None
    for line in lines:
        if pending is not None:
            if marker_kind(line.text) is None:
                out.append(Line(pending.n, pending.text + line.text, pending.heading or line.heading))
                pending = None
                continue
            out.append(pending)
            pending = None
        kind = marker_kind(line.text)
        if kind is not None and kind[1] == len(line.text):
            pending = line
            continue
        out.append(line)
    if pending is not None:
        out.append(pending)
    return out


_MARK_LINE = re.compile(r"^(?:[\[［【]\s*\d{1,3}\s*[\]］】]|注\s*\d{1,3})$")
#: A page number on a line of its own (PDF copies): - 3 -, — 3 —, 第3页, 3/12.
PAGE_NUMBER = re.compile(
    r"^(?:[-—－–─]\s*\d{1,4}\s*[-—－–─]|第\s*\d{1,4}\s*页(?:\s*共\s*\d{1,4}\s*页)?|"
    r"\d{1,4}\s*/\s*\d{1,4})$"
)
_OPEN, _CLOSE, _NUMBER = re.compile(r"^[\[［【]$"), re.compile(r"^[\]］】]$"), re.compile(r"^\d{1,3}$")


def footnote_markers(lines: list[Line]) -> tuple[list[Line], list[tuple[int, str, str]]]:
    """Take out footnote markers standing on lines of their own; rejoin the sentence they split.

    Markers: ``[1]`` or the three lines ``[`` ``1`` ``]``; a lone number only when the line
    before it ends in the middle of a sentence; page numbers (``- 3 -``) of PDF copies.
    Returns (lines, dropped (line, text, reason)).
    """
    out: list[Line] = []
    dropped: list[tuple[int, str, str]] = []
    i = 0
    join_next = False
    while i < len(lines):
        line = lines[i]
        taken, reason = 0, "脚注标记"
        if PAGE_NUMBER.match(line.text) and out:
            taken, reason = 1, "页码"
        elif (
            _OPEN.match(line.text)
            and i + 2 < len(lines)
            and _NUMBER.match(lines[i + 1].text)
            and _CLOSE.match(lines[i + 2].text)
        ):
            taken = 3
        elif (
            (_MARK_LINE.match(line.text) and out)
            or (
                (_CLOSE.match(line.text) or _OPEN.match(line.text))
                and dropped
                and dropped[-1][0] == line.n - 1
                and dropped[-1][2] == "脚注标记"
            )
            or (
                _NUMBER.match(line.text)
                and out
                and i + 1 < len(lines)
                and not out[-1].text.endswith(tuple(CLOSERS))
                and marker_kind(lines[i + 1].text) is None
            )
        ):
            taken = 1
        if taken:
            dropped.extend((x.n, x.text, reason) for x in lines[i : i + taken])
            join_next = bool(out) and not out[-1].text.endswith(tuple(SENTENCE_END))
            i += taken
            continue
        if join_next and out and marker_kind(line.text) is None:
            prev = out[-1]
            out[-1] = Line(prev.n, prev.text + _joiner(prev.text, line.text) + line.text, prev.heading)
        else:
            out.append(line)
        join_next = False
        i += 1
    return out, dropped


_TRAILING_PAGE = re.compile(r"(?<=\S)\s*(?:[-—－–─]\s*\d{1,4}\s*[-—－–─])$")


def page_furniture(lines: list[Line | None], wrapped: bool) -> tuple[list[Line | None], list[tuple[int, str, str]]]:
    """Page numbers and running headers of a PDF copy, taken out before lines are re-joined (so
    the sentence a page break cut joins again): ``- 3 -`` alone or stuck to the end of a line,
    and a short line (a document's name) repeated at the top of every page — those two only in
    a hard-wrapped text, where pages were."""
    dropped: list[tuple[int, str, str]] = []
    texts = [x.text for x in lines if x is not None]
    counts = Counter(t for t in texts if 2 <= len(t) <= 30 and not t.endswith(tuple(CLOSERS)))
    first = {t: i for i, t in reversed(list(enumerate(texts)))}
    out: list[Line | None] = []
    seen = 0
    after_page = False  # the last line seen was a page number: a header line may follow it
    for line in lines:
        if line is None:
            out.append(None)
            continue
        seen += 1
        if PAGE_NUMBER.match(line.text) and seen > 1:
            dropped.append((line.n, line.text, "页码"))
            after_page = True
            continue
        if (
            wrapped
            and marker_kind(line.text) is None
            and line.text in counts
            and ((counts[line.text] >= 2 and not (first[line.text] < 3 and seen <= 3)) or after_page)
        ):
            dropped.append((line.n, line.text, "页眉"))
            continue
        after_page = False
        m = _TRAILING_PAGE.search(line.text) if wrapped else None
        if m:
            dropped.append((line.n, line.text[m.start() :].strip(), "页码"))
            line = Line(line.n, line.text[: m.start()].rstrip(), line.heading)
        out.append(line)
    return out, dropped


def recover(text: str, headings: dict[int, int] | None = None) -> tuple[list[Line], list[tuple[int, str, str]]]:
    """The whole layout recovery: (one paragraph per Line, dropped marker lines (line, text, reason))."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = source_lines(text, headings)
    wrapped = wrap_width(lines, raw) is not None or wrap_width(lines, raw, char_width) is not None
    lines, furniture = page_furniture(lines, wrapped)
    lines = split_runs(lines)
    lines = unwrap(lines, raw)
    kept = join_markers([x for x in lines if x is not None])
    kept, markers = footnote_markers(kept)
    return kept, sorted(furniture + markers)
