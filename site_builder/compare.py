"""Compare two speeches: sentences aligned first, then character-level differences inside the
sentences that changed (``site-builder compare``, the static compare page, ``--html``).

The differences are computed on the plain text of the bodies, the same text the build gives the
search indexes (``markup.Renderer`` → ``Rendered.text``: one line per block). The browser page
(``themes/default/static/compare.js``) runs the same steps, line by line, with the JavaScript
port of the same library (diff-match-patch), so both give the same chunks:

1. **Sentences.** Each text is cut after every run of 。！？；or a line break (closing quotes and
   brackets right after such a mark stay with the sentence): ``sentences()``.
2. **Sentence diff.** Each distinct sentence becomes one character and diff-match-patch diffs the
   two strings of sentences: identical sentences line up, the rest form *regions* (sentences
   only in A, sentences only in B).
3. **Alignment in a region.** A sentence of A is paired with a sentence of B when their sets of
   adjacent-character pairs are similar (Dice ≥ ``PAIR_MIN``); the pairing keeps the order and
   maximises the summed similarity (dynamic programming, ties broken the same way in both
   languages). Regions of more than ``MAX_PAIRS`` sentence pairs are not aligned (one replace).
4. **Characters.** Each pair is diffed character by character (diff-match-patch, then its
   semantic clean-up, which removes coincidental one-character matches); unpaired sentences are
   deleted or inserted whole.

The result is a list of chunks ``{"op": "equal|insert|delete|replace", "a": …, "b": …}``: the
a-sides joined give A's text exactly and the b-sides B's; equal and unequal chunks alternate.
``similarity`` = 2 × characters in equal chunks / (characters of A + characters of B).
"""

from __future__ import annotations

import html
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from diff_match_patch import diff_match_patch

#: A sentence ends after a run of these (at least one of END, then any of END and CLOSE).
END = frozenset("。！？；\n")
CLOSE = frozenset("”’」』）)】》")
PAIR_MIN = 0.4  # Dice similarity of two sentences' character pairs to diff them character by character
MAX_PAIRS = 400_000  # sentence pairs compared in one changed region at most (about 630 × 630)
CHAR_TIMEOUT = 2.0  # seconds diff-match-patch may spend on one pair of sentences
_BMP_GAP = 0x800  # sentence codes skip the surrogates D800–DFFF (JavaScript strings are UTF-16)


# -- the comparison ---------------------------------------------------------------------------


@dataclass
class Chunk:
    op: str  # equal, insert, delete, replace
    a: str
    b: str

    def as_dict(self) -> dict:
        return {"op": self.op, "a": self.a, "b": self.b}


@dataclass
class Comparison:
    """``blocks``: ("same", text) for runs of identical sentences, ("changed", [Chunk]) for each
    changed region (what the side-by-side views show as rows); ``chunks`` the same, flattened."""

    a: str
    b: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    @cached_property
    def chunks(self) -> list[Chunk]:  # (read once the blocks are complete)
        flat: list[Chunk] = []
        for kind, value in self.blocks:
            flat.extend([Chunk("equal", value, value)] if kind == "same" else value)
        return normalise(flat)

    @property
    def same_chars(self) -> int:
        return sum(len(c.a) for c in self.chunks if c.op == "equal")

    @property
    def similarity(self) -> float:
        total = len(self.a) + len(self.b)
        return 1.0 if total == 0 else 2 * self.same_chars / total

    def counts(self) -> dict:
        chunks = self.chunks
        return {
            "same": sum(len(c.a) for c in chunks if c.op == "equal"),
            "deleted": sum(len(c.a) for c in chunks if c.op != "equal"),
            "inserted": sum(len(c.b) for c in chunks if c.op != "equal"),
        }


def sentences(text: str) -> list[str]:
    """The text cut after each run of sentence ends; the pieces join to the text."""
    out = []
    start = i = 0
    n = len(text)
    while i < n:
        if text[i] in END:
            j = i + 1
            while j < n and (text[j] in END or text[j] in CLOSE):
                j += 1
            out.append(text[start:j])
            start = i = j
        else:
            i += 1
    if start < n:
        out.append(text[start:])
    return out


def _op(a: str, b: str) -> str:
    return "replace" if a and b else "delete" if a else "insert"


def normalise(chunks: list[Chunk]) -> list[Chunk]:
    """Empty chunks dropped, neighbours of the same kind (equal / not equal) merged."""
    out: list[Chunk] = []
    for c in chunks:
        if not c.a and not c.b:
            continue
        equal = c.op == "equal"
        if out and (out[-1].op == "equal") == equal:
            last = out[-1]
            a, b = last.a + c.a, last.b + c.b
            out[-1] = Chunk("equal" if equal else _op(a, b), a, b)
        else:
            out.append(Chunk("equal", c.a, c.a) if equal else Chunk(_op(c.a, c.b), c.a, c.b))
    return out


def _pairs(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _dice(x: set, y: set) -> float:
    small, big = (x, y) if len(x) <= len(y) else (y, x)
    inter = 0
    for p in small:
        if p in big:
            inter += 1
    return 2 * inter / (len(x) + len(y))


def align(dels: list[str], inss: list[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of similar sentences, in order, maximising the summed similarity."""
    m, n = len(dels), len(inss)
    if not m or not n or m * n > MAX_PAIRS:
        return []
    dp_sets = [_pairs(s) for s in dels]
    ip_sets = [_pairs(s) for s in inss]
    dl = [len(s) for s in dp_sets]
    il = [len(s) for s in ip_sets]
    sim = [[0.0] * n for _ in range(m)]
    for i in range(m):
        row, x, lx = sim[i], dp_sets[i], dl[i]
        for j in range(n):
            ly = il[j]
            # Dice ≤ 2·min / (sum): skip pairs that cannot reach PAIR_MIN.
            if lx + ly == 0 or 2 * min(lx, ly) < PAIR_MIN * (lx + ly):
                continue
            row[j] = _dice(x, ip_sets[j])
    best = [[0.0] * (n + 1) for _ in range(m + 1)]
    for i in range(1, m + 1):
        prev, cur, srow = best[i - 1], best[i], sim[i - 1]
        for j in range(1, n + 1):
            v = prev[j] if prev[j] >= cur[j - 1] else cur[j - 1]
            s = srow[j - 1]
            if s >= PAIR_MIN and prev[j - 1] + s > v:
                v = prev[j - 1] + s
            cur[j] = v
    out = []
    i, j = m, n
    while i > 0 and j > 0:
        s = sim[i - 1][j - 1]
        if s >= PAIR_MIN and best[i][j] == best[i - 1][j - 1] + s:
            out.append((i - 1, j - 1))
            i -= 1
            j -= 1
        elif best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            j -= 1
    out.reverse()
    return out


def _dmp(timeout: float = CHAR_TIMEOUT) -> diff_match_patch:
    d = diff_match_patch()
    d.Diff_Timeout = timeout
    return d


def char_chunks(a: str, b: str, dmp: diff_match_patch | None = None) -> list[Chunk]:
    """Character-level differences of two sentences (semantic clean-up applied)."""
    dmp = dmp or _dmp()
    diffs = dmp.diff_main(a, b, False)
    dmp.diff_cleanupSemantic(diffs)
    out = []
    for op, text in diffs:
        if op == 0:
            out.append(Chunk("equal", text, text))
        elif op < 0:
            out.append(Chunk("delete", text, ""))
        else:
            out.append(Chunk("insert", "", text))
    return normalise(out)


def peeled(a: str, b: str) -> list[Chunk]:
    """Unpaired sentences replaced: their common start and end (a 我们, a ！ and a line break)
    stay equal."""
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    n -= p
    q = 0
    while q < n and a[-1 - q] == b[-1 - q]:
        q += 1
    return [
        Chunk("equal", a[:p], a[:p]),
        Chunk("replace", a[p : len(a) - q], b[p : len(b) - q]),
        Chunk("equal", a[len(a) - q :], a[len(a) - q :]),
    ]


def _region(dels: list[str], inss: list[str], dmp: diff_match_patch) -> list[Chunk]:
    out: list[Chunk] = []
    di = ij = 0
    for i, j in align(dels, inss):
        out.extend(peeled("".join(dels[di:i]), "".join(inss[ij:j])))
        out.extend(char_chunks(dels[i], inss[j], dmp))
        di, ij = i + 1, j + 1
    out.extend(peeled("".join(dels[di:]), "".join(inss[ij:])))
    return normalise(out)


def compare_texts(a: str, b: str) -> Comparison:
    """The differences between two plain texts (see the module docstring)."""
    sa, sb = sentences(a), sentences(b)
    codes: dict[str, str] = {}

    def encode(parts: list[str]) -> str:
        out = []
        for s in parts:
            c = codes.get(s)
            if c is None:
                k = len(codes)
                c = codes[s] = chr(k if k < 0xD800 else k + _BMP_GAP)
            out.append(c)
        return "".join(out)

    ea, eb = encode(sa), encode(sb)
    dmp = _dmp()
    sentence_diffs = _dmp(0).diff_main(ea, eb, False)  # no time limit: one character per sentence
    result = Comparison(a, b)
    ia = ib = 0
    dels: list[str] = []
    inss: list[str] = []

    def flush() -> None:
        if dels or inss:
            result.blocks.append(("changed", _region(dels, inss, dmp)))
            dels.clear()
            inss.clear()

    for op, text in sentence_diffs:
        k = len(text)
        if op == 0:
            flush()
            result.blocks.append(("same", "".join(sa[ia : ia + k])))
            ia += k
            ib += k
        elif op < 0:
            dels.extend(sa[ia : ia + k])
            ia += k
        else:
            inss.extend(sb[ib : ib + k])
            ib += k
    flush()
    return result


# -- what is compared: a speech file, a built page, a URL -----------------------------------------


class CompareError(Exception):
    """An input that cannot be read; ``exit_code`` 1 for content, 2 for usage."""

    def __init__(self, message: str, exit_code: int = 2, problems: list | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.problems = problems or []


@dataclass
class Side:
    arg: str  # as given on the command line
    title: str
    text: str
    where: str  # the file or URL read


MAX_FETCH = 20 * 1024 * 1024
_BODY_OPEN = re.compile(r"<div\b[^>]*\bclass\s*=\s*\"[^\"]*\bspeech-body\b[^\"]*\"[^>]*>", re.I)
_DIV = re.compile(r"<(/?)div\b[^>]*>", re.I)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.I | re.S)


def page_text(page_html: str) -> tuple[str, str]:
    """(title, plain text of the body) of a built speech page: the inside of its
    ``<div class="speech-body">``, made plain exactly as the build makes the body's text."""
    from .markup import plain_text

    m = _BODY_OPEN.search(page_html)
    if not m:
        raise ValueError('not a speech page (no <div class="speech-body">)')
    depth = 1
    for d in _DIV.finditer(page_html, m.end()):
        depth += -1 if d.group(1) else 1
        if depth == 0:
            body = page_html[m.end() : d.start()]
            break
    else:
        body = page_html[m.end() :]
    h1 = _H1.search(page_html)
    title = html.unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip() if h1 else ""
    return title, plain_text(body)


def _speech_file(path: Path, config) -> tuple[str, str]:
    from .loader import ParseSettings, display_path, parse_bytes

    shown = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CompareError(f"{shown}: cannot read it: {err.strerror}") from None
    settings = ParseSettings(config.trust_html, config.meeting_types, config.themes)
    parsed, _html, text = parse_bytes(shown, data, settings)
    errors = [p for p in parsed.problems if p.is_error]
    if parsed.meta is None or errors:
        raise CompareError(f"{shown} has errors; fix them first (site-builder check)", 1, errors)
    return parsed.meta.title, text


def _fetch(url: str) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "site-builder compare"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read(MAX_FETCH + 1)
            charset = response.headers.get_content_charset() or "utf-8"
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise CompareError(f"{url}: cannot fetch it: {reason}") from None
    if len(data) > MAX_FETCH:
        raise CompareError(f"{url}: larger than {MAX_FETCH >> 20} MB; not a speech page")
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def read_side(arg: str, config) -> Side:
    """A speech file (.md), a built speech page (a path, also relative to the output folder, or a
    file:// URL), or the http(s) URL of one."""
    parts = urllib.parse.urlsplit(arg)
    if parts.scheme in ("http", "https"):
        source, where = _fetch(arg), arg
    else:
        if parts.scheme == "file":
            path = Path(urllib.request.url2pathname(parts.path))
        else:
            path = Path(arg)
            if not path.exists() and config is not None:
                rel = arg.split("?", 1)[0].split("#", 1)[0].lstrip("/")
                rel = urllib.parse.unquote(rel) if "%" in rel else rel
                for candidate in (config.output / rel, config.content / rel):
                    if candidate.exists():
                        path = candidate
                        break
        if not path.exists():
            raise CompareError(
                f"{arg}: no such file (give a speech's .md file, a page under the output folder, or its URL)"
            )
        if path.is_dir():
            raise CompareError(f"{arg}: is a folder; give a speech's .md file or page")
        if path.suffix.lower() == ".md":
            title, text = _speech_file(path, config)
            return Side(arg, title, text, str(path))
        try:
            source = path.read_bytes().decode("utf-8", "replace")
        except OSError as err:
            raise CompareError(f"{arg}: cannot read it: {err.strerror}") from None
        where = str(path)
    try:
        title, text = page_text(source)
    except ValueError as err:
        raise CompareError(f"{arg}: {err}") from None
    return Side(arg, title, text, where)


# -- output ---------------------------------------------------------------------------------------

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
    search index numbers its documents (by date text, then source: static_index.py), so that
    entry N's text is the index's ``search/t/<N // 256>/<N>-0.js`` (and ``-1.js``)."""
    ordered = sorted(speeches, key=lambda s: (s.date.iso(), s.source))
    return [[s.title, s.url, s.date.iso(), s.date.chinese(), s.meta.meeting_type] for s in ordered]


def browser_docs_json(speeches) -> str:
    """``browser_docs`` as compact JSON for a script file (UTF-8, not \\u-escaped: half the size)."""
    text = json.dumps(browser_docs(speeches), ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
