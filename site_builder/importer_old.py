"""`site-builder import` (plain text / .docx → Markdown) and `site-builder new`.

The pure part is :func:`import_text`: it takes the decoded text of one speech and returns the
Markdown file to write (YAML front matter + body), what it inferred and how, which required
fields it could not infer, and which boilerplate lines it dropped. :func:`read_source` decodes a
file (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK, .docx). The click commands
``import_command`` and ``new_command`` only add files, prompts and messages around them.

Inference, in short (details at each function):

* title — a line like 在…上的讲话 / …讲话 / …讲话稿 near the top (a ——subtitle line is joined
  to the line above it); else the first short line; else the file name when it has Chinese in it.
* date — the most reliable of: a full date in the title, a line that is only a date, a date in
  the file name, the year in the title (2020年度 → ``date: 2020``), the year in the file name,
  a 20XX年度 the text names (only when it names a single one).
* meeting type — the longest known meeting type the meeting in the title ends with: first the
  types already used in content/ (or the configured closed list), then a built-in list.
* organisation — only when the title names one right before the year (在X局2020年度…): never
  invented.
* themes — the topic the title names between year and meeting type (…年度党员队伍建设座谈会 →
  党员队伍建设), and themes already used in content/ that the text names at least twice.
  Themes are always listed as a field a person must check.

The body keeps every character of the speech, except the title line, dropped boilerplate lines,
and the 。 that ends a numbered heading split off the front of a paragraph.
"""
from __future__ import annotations

import datetime as _dt
import io
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import click
import yaml

from . import frontmatter, schema
from .config import SiteConfig, load_config
from .dates import FORMATS_HINT, DateError, PartialDate, parse_date
from .errors import Problem, SiteBuilderError, UsageError
from .suggest import closest
from .textio import EncodingProblem, decode_any, decode_utf8

# --------------------------------------------------------------------------------------------
# Vocabulary: the meeting types and themes already in use
# --------------------------------------------------------------------------------------------

#: Meeting types recognised at the end of a title even when no speech uses them yet. Longer
#: entries win over their suffixes (党建工作会议 over 工作会议).
KNOWN_MEETING_TYPES: tuple[str, ...] = (
    "座谈会", "工作座谈会", "座谈交流会", "工作会议", "党建工作会议", "党风廉政建设工作会议",
    "全面从严治党工作会议", "廉政工作会议", "工作部署会", "部署会", "动员大会", "动员会",
    "誓师大会", "表彰大会", "表彰会", "总结表彰大会", "总结大会", "总结会", "推进会",
    "工作推进会", "现场推进会", "现场会", "调度会", "研讨会", "交流会", "经验交流会",
    "培训班", "开班式", "结业式", "读书班", "民主生活会", "专题民主生活会", "组织生活会",
    "专题组织生活会", "学习会", "中心组学习会", "理论学习中心组学习会", "理论学习中心组学习会议",
    "警示教育大会", "警示教育会", "报告会", "宣讲会", "汇报会", "务虚会", "分析会",
    "讲评会", "述职评议会", "全体会议", "全会", "代表大会", "党代会", "职代会", "年会",
    "常委会", "常务会议", "党组会议", "党委会议", "专题会议", "联席会议", "电视电话会议",
    "视频会议", "启动仪式", "开幕式", "闭幕式", "成立大会", "揭牌仪式", "论坛", "茶话会",
    "团拜会", "迎新会", "欢送会", "新春座谈会", "主题教育动员会", "主题党日",
)


@dataclass(frozen=True)
class Vocabulary:
    """Meeting types and themes to prefer, most used first; closed when the site configures a list."""

    meeting_types: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    closed_meeting_types: bool = False
    closed_themes: bool = False

    def adding(self, meeting_type: str | None, themes: list[str] | tuple[str, ...]) -> "Vocabulary":
        """The vocabulary after one more speech (for importing several files in one run)."""
        mts = self.meeting_types
        if meeting_type and meeting_type not in mts and not self.closed_meeting_types:
            mts = mts + (meeting_type,)
        ths = self.themes + tuple(t for t in themes if t not in self.themes and not self.closed_themes)
        return replace(self, meeting_types=mts, themes=ths)


def scan_vocabulary(content_dir: Path, config: SiteConfig | None = None) -> Vocabulary:
    """Meeting types and themes used in ``content_dir/**/*.md`` (files that cannot be read are
    skipped: `site-builder check` reports them). A configured closed list replaces what is found."""
    mts: Counter[str] = Counter()
    ths: Counter[str] = Counter()
    if content_dir.is_dir():
        for path in sorted(content_dir.rglob("*.md")):
            try:
                fm = frontmatter.split(decode_utf8(path.read_bytes()))
            except (OSError, EncodingProblem, frontmatter.FrontMatterError):
                continue
            value = fm.data.get("meeting_type")
            if isinstance(value, str) and value.strip():
                mts[schema.clean_text(value)] += 1
            value = fm.data.get("themes")
            for theme in value if isinstance(value, list) else [value]:
                if isinstance(theme, str) and theme.strip():
                    ths[schema.clean_text(theme)] += 1
    vocab = Vocabulary(tuple(k for k, _ in mts.most_common()), tuple(k for k, _ in ths.most_common()))
    if config is not None and config.meeting_types is not None:
        vocab = replace(vocab, meeting_types=tuple(config.meeting_types), closed_meeting_types=True)
    if config is not None and config.themes is not None:
        vocab = replace(vocab, themes=tuple(config.themes), closed_themes=True)
    return vocab


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


class SourceError(SiteBuilderError):
    """A file to import that cannot be read (exit code 1); the message says why and what to do."""


def read_source(path: Path) -> tuple[str, str]:
    """Return (text with \\n line ends, name of the encoding or format used).

    Plain text: UTF-8 with or without BOM, UTF-16 with BOM, else GB18030/GBK or whatever
    charset-normalizer finds (textio.decode_any). ``.docx``: the text of its paragraphs, one a
    line (tables, headers and Word's automatic list numbers are not included).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a folder, not a file") from None
    except OSError as err:
        raise SourceError(f"{path}: cannot read: {err.strerror or err}") from None
    suffix = path.suffix.lower()
    if suffix == ".doc" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError(f"{path}: an old binary Word (.doc) file; save it as .docx or as plain text (.txt) and import that")
    if suffix == ".docx" or (data.startswith(b"PK\x03\x04") and suffix not in (".txt", ".md")):
        return _read_docx(path, data), "DOCX"
    if not data.strip():
        raise SourceError(f"{path}: the file is empty")
    try:
        text, encoding = decode_any(data)
    except EncodingProblem as err:
        raise SourceError(f"{path}: cannot tell the encoding ({err}); {err.hint(str(path))}") from None
    except UnicodeDecodeError as err:  # e.g. a UTF-8 BOM followed by bytes that are not UTF-8
        raise SourceError(f"{path}: not valid text: {err.reason} at byte {err.start}") from None
    if not text.strip():
        raise SourceError(f"{path}: the file is empty")
    return text, encoding


def _read_docx(path: Path, data: bytes) -> str:
    try:
        import docx  # python-docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:  # pragma: no cover - python-docx is a dependency
        raise SourceError(f"{path}: reading .docx needs python-docx (pip install python-docx)") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise SourceError(f"{path}: not a readable .docx file ({err}); save it again from Word, or as .txt") from None
    text = "\n".join(p.text for p in document.paragraphs)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n")
    if not text.strip():
        raise SourceError(f"{path}: the document has no text in its paragraphs (text in tables or text boxes is not read)")
    return text


# --------------------------------------------------------------------------------------------
# Inference helpers
# --------------------------------------------------------------------------------------------

_SPEECH_WORDS = ("讲话稿|讲话提纲|总结讲话|主旨讲话|动员讲话|讲话|发言稿|发言|致辞|讲稿|主持词|工作报告|报告|"
                 "党课讲稿|党课")
_TRAILING_NOTE = r"(?:\s*[（(][^（）()]{1,20}[）)])?"  # 在…的讲话（摘要）
_TITLE_AT = re.compile(rf"^(?:[—–-]{{1,2}}\s*)?\S{{0,12}}在.{{2,80}}?(?:{_SPEECH_WORDS}){_TRAILING_NOTE}$")
_TITLE_ENDS = re.compile(rf"^(?:[—–-]{{1,2}}\s*)?.{{2,80}}?(?:{_SPEECH_WORDS}){_TRAILING_NOTE}$")
_MEETING_IN_TITLE = re.compile(rf"在(.+?)(?:上|中|时|之际)?的?(?:{_SPEECH_WORDS}){_TRAILING_NOTE}$")
_SENTENCE_END = "。！？!?"
_CJK = re.compile(r"[\u3400-\u9fff]")

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_FULL_DATE = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d)")
_YEAR_CN = re.compile(r"(?<!\d)(\d{4})\s*年(度)?")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-./_](\d{1,2})[-./_](\d{1,2})(?!\d)")
_COMPACT_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_ISO_YM = re.compile(r"(?<!\d)(\d{4})[-._](\d{1,2})(?![\d.])")
_BARE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_CN_NUM_DATE = re.compile(r"([〇零○一二三四五六七八九]{4})年(?:([一二三四五六七八九十]{1,3})月(?:([一二三四五六七八九十]{1,3})[日号])?)?")
_DATE_LINE = re.compile(r"^[（(【\[]?\s*(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{4}-\d{1,2}-\d{1,2}|"
                        r"[〇零○一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}[日号])\s*[）)】\]]?$")


def _cn_number(text: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 二十五 → 25 (month and day numbers)."""
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(text, 0)


@dataclass(frozen=True)
class _DateHit:
    date: PartialDate
    found: str  # the text it was read from


def _dates_in(text: str, max_year: int) -> list[_DateHit]:
    """Dates named in ``text``, most specific first (full dates, then year-month, then years)."""
    norm = unicodedata.normalize("NFKC", text)
    hits: list[tuple[int, int, _DateHit]] = []  # (precision rank, position, hit)

    def add(rank: int, pos: int, found: str, y: int, m: int | None = None, d: int | None = None) -> None:
        if not 1900 <= y <= max_year:
            return
        try:
            date = parse_date(PartialDate(y, m, d).iso())
        except DateError:
            return
        hits.append((rank, pos, _DateHit(date, found)))

    for rx in (_FULL_DATE, _ISO_DATE, _COMPACT_DATE):
        for m in rx.finditer(norm):
            add(0, m.start(), m.group(0), int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in _CN_NUM_DATE.finditer(norm):
        y = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        month = _cn_number(m.group(2)) if m.group(2) else None
        day = _cn_number(m.group(3)) if m.group(3) and month else None
        add(0 if day else 1 if month else 2, m.start(), m.group(0), y, month, day)
    for rx in (_YEAR_MONTH, _ISO_YM):
        for m in rx.finditer(norm):
            add(1, m.start(), m.group(0), int(m.group(1)), int(m.group(2)))
    for m in _YEAR_CN.finditer(norm):
        add(2, m.start(), m.group(0), int(m.group(1)))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits]


def _bare_years(text: str, max_year: int) -> list[_DateHit]:
    norm = unicodedata.normalize("NFKC", text)
    return [_DateHit(PartialDate(int(m.group(1))), m.group(1)) for m in _BARE_YEAR.finditer(norm)
            if 1900 <= int(m.group(1)) <= max_year]


def _strip_speech_suffix(title: str) -> str:
    m = _MEETING_IN_TITLE.search(title)
    if m:
        return m.group(1)
    return re.sub(rf"(?:上|中|时)?的?(?:{_SPEECH_WORDS}){_TRAILING_NOTE}$", "", title)


_ORG_SUFFIX = ("委员会", "管委会", "联合会", "办公室", "党委", "党组", "党工委", "总支", "支部", "集团", "公司",
               "党校", "学校", "大学", "学院", "医院", "银行", "协会", "中心", "局", "厅", "委", "部", "办",
               "院", "所", "站", "队", "处", "科", "校", "社")
_ORG_GENERIC_PREFIX = {"全", "本", "我", "各", "该", "这", "此", "市", "县", "省", "区", "镇", "乡", "分", "总", "全市",
                       "全省", "全县", "全区", "全系统", "系统", "机关", "领导", "干部", "专题", "工作"}
_YEAR_AHEAD = re.compile(r"^(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年")
_SCOPE = re.compile(r"^(?:全市|全省|全县|全区|全局|全系统|全行|全公司|全校|全院|全体|各级|市局|本局|我局|机关|"
                    r"[市县省区局]?第[一二三四五六七八九十\d]+(?:次|届|期)|\d{4}\s*年度?|[〇零○一二三四五六七八九]{4}年度?|"
                    r"[上下]半年|年度|年中|年终|春季|秋季|新春|上半年)")
_GENERIC_TOPICS = {"工作", "全体", "年度", "总结", "专题", "党委", "党组", "领导干部", "干部", "机关", "扩大", "全体干部",
                   "会议", "大会", "动员", "表彰", "部署", "学习", "党员", "中心组", "理论学习", "工作总结"}


def _organization(meeting: str) -> str | None:
    """The organisation a meeting phrase starts with, only when a year follows it (X局2020年度…)."""
    norm = unicodedata.normalize("NFKC", meeting)
    for end in range(1, min(len(norm), 24) + 1):
        candidate = norm[:end]
        if not _YEAR_AHEAD.match(norm[end:]):
            continue
        for suffix in _ORG_SUFFIX:
            if candidate.endswith(suffix):
                prefix = candidate[: -len(suffix)]
                if prefix and prefix not in _ORG_GENERIC_PREFIX and not re.search(r"[\s，,。、]", candidate):
                    return meeting[:end]
        return None
    return None


def _meeting_type(meeting: str, vocab: Vocabulary) -> tuple[str | None, str]:
    """(meeting type, how) from the meeting phrase of a title, preferring the existing vocabulary."""
    norm = schema.clean_text(meeting)
    used = [t for t in vocab.meeting_types if t and norm.endswith(t)]
    if used:
        best = max(used, key=len)
        how = "configured meeting types" if vocab.closed_meeting_types else "meeting types already used in content/"
        return best, f"the title: {norm!r} ends with {best!r}, one of the {how}"
    if vocab.closed_meeting_types:
        return None, ""
    known = [t for t in KNOWN_MEETING_TYPES if norm.endswith(t)]
    if known:
        best = max(known, key=len)
        return best, f"the title: {norm!r} ends with the known meeting type {best!r}"
    return None, ""


def _title_topic(meeting: str, organization: str | None, meeting_type: str | None) -> str | None:
    """What a meeting is about, between scope/year and meeting type: 2020年度党员队伍建设座谈会 → 党员队伍建设."""
    rest = schema.clean_text(meeting)
    if organization and rest.startswith(organization):
        rest = rest[len(organization):]
    if meeting_type and rest.endswith(meeting_type):
        rest = rest[: -len(meeting_type)]
    else:
        return None
    while True:
        m = _SCOPE.match(rest)
        if not m or not m.group(0):
            break
        rest = rest[m.end():]
    rest = re.sub(r"(?:工作)$", "", rest)
    if 2 <= len(rest) <= 12 and all(_CJK.match(c) for c in rest) and rest not in _GENERIC_TOPICS:
        return rest
    return None


_STOP_WORDS = set(
    "我们 你们 他们 大家 同志 同志们 自己 一个 一些 一种 这个 那个 这些 那些 这样 那样 这种 这里 那里 就是 还是 也是 都是 不是 没有 "
    "要求 必须 进一步 各级 以及 因此 所以 但是 而且 并且 如果 只要 只有 还有 通过 对于 关于 之间 其中 方面 问题 情况 时候 "
    "现在 目前 当前 今后 已经 不能 不会 可能 能够 需要 成为 进行 开展 做到 做好 抓好 加强 坚持 推动 提高 切实 认真 "
    "全面 深入 积极 不断 更加 非常 特别 一定 一是 二是 三是 四是 五是 一要 二要 三要 首先 其次 第三 第四 同时 工作 "
    "我们的 什么 怎么 为了 由于 之后 以后 以来 以上 以下 一起 一样 作为 起来 出来 下来 上来 方式 有关 相关".split()
)


def _local_keywords(text: str, n: int) -> list[str]:
    """Most frequent content words (rjieba); used when site_builder.related has no keywords()."""
    import rjieba

    counts: Counter[str] = Counter()
    for word in rjieba.cut(text):
        if len(word) >= 2 and word not in _STOP_WORDS and all(_CJK.match(c) for c in word):
            counts[word] += 1
    return [w for w, _ in counts.most_common(n)]


def _phrases(text: str, n: int) -> list[str]:
    """Recurring two-word phrases (基层+党建 → 基层党建, 党员队伍+建设): theme-sized terms."""
    import rjieba

    words = rjieba.cut(text)
    counts: Counter[str] = Counter()
    for a, b in zip(words, words[1:]):
        if a != b and all(len(w) >= 2 and w not in _STOP_WORDS and all(_CJK.match(c) for c in w) for w in (a, b)) \
                and len(a) + len(b) <= 8:
            counts[a + b] += 1
    return [p for p, c in counts.most_common(n) if c >= 2]


def key_terms(text: str, n: int = 8) -> list[str]:
    """The text's key terms: site_builder.related.keywords when that module provides it, else
    a local word-frequency list (rjieba)."""
    try:
        from .related import keywords  # type: ignore[attr-defined]
    except ImportError:
        return _local_keywords(text, n)
    result = keywords(text, n)
    return [w if isinstance(w, str) else str(w[0]) for w in result][:n]


def _theme_candidates(text: str, title: str, vocab: Vocabulary) -> tuple[list[tuple[str, str]], list[str]]:
    """Existing themes: ([(theme, how)] named often enough to write, [weaker suggestions])."""
    import rjieba

    strong: list[tuple[int, str, str]] = []
    weak: list[tuple[int, str]] = []
    words: Counter[str] | None = None
    for order, theme in enumerate(vocab.themes):
        count = text.count(theme) + 2 * title.count(theme)
        if count >= 2:
            where = "the title names it" if theme in title else f"the text names it {text.count(theme)} times"
            strong.append((-count, theme, f"a theme already used in content/; {where}"))
            continue
        if words is None:
            words = Counter(rjieba.cut(text))
        parts = [w for w in rjieba.cut(theme) if len(w) >= 2]
        if count == 1 or (parts and all(words[p] + text.count(p) >= 3 for p in parts)):
            weak.append((-(count * 100 + sum(text.count(p) for p in parts)), theme))
    strong.sort()
    weak.sort()
    return [(t, how) for _, t, how in strong], [t for _, t in weak]


# --------------------------------------------------------------------------------------------
# Body: numbered sections → headings, paragraphs, escapes
# --------------------------------------------------------------------------------------------

_NUM = "一二三四五六七八九十百"
_LEVEL_PATTERNS = (
    (1, re.compile(rf"^[{_NUM}]+、")),  # 一、
    (2, re.compile(rf"^[（(][{_NUM}]+[）)]")),  # （一）
    (3, re.compile(r"^[0-9０-９]{1,2}[.．、](?![0-9０-９])")),  # 1. 1、
)
_HEADING_MAX = 50  # characters; a longer numbered line is a paragraph
_PAIRS = (("“", "”"), ("‘", "’"), ("（", "）"), ("(", ")"), ("《", "》"), ("【", "】"), ("「", "」"))


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in _PAIRS) and text.count('"') % 2 == 0


def _split_heading(line: str) -> tuple[int, str, str] | None:
    """(level, heading, rest of the paragraph) when ``line`` is a numbered heading, else None.

    A short line without a sentence inside is a heading as a whole (a final 。 is dropped). A
    long numbered paragraph whose first sentence is short is split: that sentence (without its
    。) becomes the heading, the rest stays the following paragraph. Anything else — and
    paragraphs opening with 首先/其次/第三 or 一是/二要, which are steps in running prose rather
    than section titles — stays a paragraph.
    """
    level = next((lv for lv, rx in _LEVEL_PATTERNS if rx.match(line)), None)
    if level is None:
        return None
    body = line[:-1] if line.endswith("。") else line
    if len(body) <= _HEADING_MAX and not any(c in body[:-1] for c in _SENTENCE_END) and _balanced(body):
        return level, body, ""
    first = min((i for i in (line.find(c) for c in _SENTENCE_END) if i >= 0), default=-1)
    if first <= 0:
        return None
    head = line[:first] if line[first] == "。" else line[: first + 1]
    rest = line[first + 1 :].strip()
    if len(head) > _HEADING_MAX or not rest or not _balanced(head) or rest[0] in "”’）)》】」\"'":
        return None
    return level, head, rest


_BLOCK_START = re.compile(r"^(?:#|>|[-+*](?=\s|$|[-+*])|[0-9]+[.)](?=\s|$)|=+\s*$|[-*_](?:\s*[-*_]){2,}\s*$)")
_INLINE = re.compile(r"([\\`*_])")
_TAGLIKE = re.compile(r"<(?=[A-Za-z/!?])")


def escape_markdown(line: str) -> str:
    """Escape what Markdown would read as markup so the line renders exactly as written."""
    out = _INLINE.sub(r"\\\1", line)
    out = _TAGLIKE.sub("&lt;", out)
    m = re.match(r"^([0-9]+)([.)])", out)
    if m and _BLOCK_START.match(out):
        return f"{m.group(1)}\\{out[m.end(1):]}"
    if _BLOCK_START.match(out) and not out.startswith("\\"):
        return "\\" + out
    return out


def _body_markdown(lines: list[str]) -> tuple[str, Counter[str]]:
    """Paragraphs (one per non-empty line) and headings, as Markdown; count of headings by level."""
    blocks: list[tuple[int | None, str]] = []
    for line in lines:
        split = _split_heading(line)
        if split is None:
            blocks.append((None, line))
            continue
        level, head, rest = split
        blocks.append((level, head))
        if rest:
            blocks.append((None, rest))
    # The highest numbering level used becomes ##, the next ###, and so on.
    used = sorted({lv for lv, _ in blocks if lv is not None})
    depth = {lv: 2 + i for i, lv in enumerate(used)}
    out: list[str] = []
    counts: Counter[str] = Counter()
    for level, text in blocks:
        if level is None:
            out.append(escape_markdown(text))
        else:
            marks = "#" * depth[level]
            counts[marks] += 1
            out.append(marks + " " + _INLINE.sub(r"\\\1", text))
    return "\n\n".join(out) + "\n", counts


# --------------------------------------------------------------------------------------------
# Front matter
# --------------------------------------------------------------------------------------------

FIELD_ORDER = ("title", "date", "meeting_type", "themes", "speaker", "organization", "location", "summary",
               "source", "tags", "slug", "draft")


def _yaml_value(value: object) -> str:
    if isinstance(value, PartialDate):
        return value.iso()  # 2020, 2020-03, 2020-03-05: plain YAML scalars, read back by parse_date
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10**6)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def render_front_matter(fields: dict, comments: list[str] = (), placeholders: tuple[str, ...] = ()) -> str:
    """The ``---`` block: fields in the documented order, ``comments`` as YAML comments at the end,
    ``placeholders`` as empty keys (which fail validation loudly until filled in)."""
    lines = ["---"]
    for key in FIELD_ORDER:
        if key in fields and fields[key] not in (None, "", [], ()):
            value = fields[key]
            lines.append(f"{key}: {_yaml_value(list(value) if isinstance(value, tuple) else value)}")
        elif key in placeholders:
            lines.append(f"{key}: []" if key in ("themes", "tags") else f"{key}:")
    lines.extend(f"# {c}" for c in comments)
    lines.append("---")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# import_text
# --------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    markdown: str
    """The whole file: front matter and body."""
    fields: dict
    """The front-matter fields written (title, date as PartialDate, meeting_type, themes, …)."""
    inferred: dict[str, tuple[object, str]]
    """field → (value, how it was found), for every field not given on the command line."""
    missing: list[str]
    """Required fields that could not be inferred: a person must fill them in."""
    dropped: list[tuple[int, str]]
    """Boilerplate lines left out: (line number in the source, text)."""
    check: list[str] = field(default_factory=list)
    """Fields written from a guess that a person should confirm (always includes themes)."""
    suggestions: dict[str, list[str]] = field(default_factory=dict)
    """field → candidate values to choose from (themes: existing themes and key terms)."""
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """What the lead's validation says about the produced file."""
    headings: Counter = field(default_factory=Counter)
    slug: str = ""

    @property
    def year(self) -> int | None:
        date = self.fields.get("date")
        return date.year if isinstance(date, PartialDate) else None

    @property
    def needs_edits(self) -> bool:
        return bool(self.missing) or any(p.is_error for p in self.problems)

    def relative_path(self) -> Path | None:
        """content-relative path: <year>/<slug>.md (None without a year)."""
        return Path(str(self.year)) / f"{self.slug}.md" if self.year else None


def _is_boilerplate(line: str, patterns: tuple[str, ...]) -> str | None:
    return next((p for p in patterns if p and p in line), None)


def _title_from_filename(stem: str) -> str | None:
    stem = unicodedata.normalize("NFC", stem)
    stem = re.sub(r"^[\d\s_\-.]+", "", stem)  # 000_ / 2020-03-05 prefixes
    stem = re.sub(r"^(?:\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?)[\s_\-]*", "", stem)
    stem = stem.replace("_", " ").strip(" -")
    return stem if _CJK.search(stem) else None


def import_text(text: str, filename: str, config: SiteConfig, vocabulary: Vocabulary | None = None,
                *, overrides: dict | None = None, today: _dt.date | None = None) -> ImportResult:
    """Turn the text of one speech into a Markdown file (see the module docstring).

    ``overrides`` holds values given on the command line (title, date — a PartialDate or text —,
    meeting_type, themes, speaker, organization, slug, force_year); they win over inference.
    ``filename`` is the source file's name (its stem may carry a date or title).
    """
    vocab = vocabulary or Vocabulary()
    given = {k: v for k, v in (overrides or {}).items() if v not in (None, "", (), [])}
    max_year = (today or _dt.date.today()).year + 1
    inferred: dict[str, tuple[object, str]] = {}
    notes: list[str] = []
    check: list[str] = []
    suggestions: dict[str, list[str]] = {}

    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(i + 1, line.strip().strip("\ufeff")) for i, line in enumerate(raw_lines)]
    nonempty = [item for item in numbered if item[1]]

    # --- boilerplate: only near the start or the end, or when the line starts with the pattern,
    # so that a sentence in the middle of the speech that mentions e.g. 来源： is never lost.
    edge = {n for n, _ in nonempty[:5]} | {n for n, _ in nonempty[-5:]}
    dropped: list[tuple[int, str]] = []
    kept: list[tuple[int, str]] = []
    for n, line in nonempty:
        pattern = _is_boilerplate(line, config.import_drop_lines)
        if pattern and (n in edge or line.startswith(pattern)):
            dropped.append((n, line))
        else:
            if pattern:
                notes.append(f"line {n} mentions {pattern!r} but is in the middle of the text: kept")
            kept.append((n, line))

    # --- title
    title_lines: set[int] = set()
    title: str | None = None
    title_how = ""
    head = kept[:10]
    for rx, how in ((_TITLE_AT, "line {n}, a line like 在…上的讲话"), (_TITLE_ENDS, "line {n}, a line ending in 讲话/发言/致辞")):
        for idx, (n, line) in enumerate(head):
            norm = unicodedata.normalize("NFKC", line)
            if len(line) <= 90 and rx.match(norm) and not any(c in line for c in "。！？") \
                    and not any(p.match(line) for _, p in _LEVEL_PATTERNS):
                title, title_how, title_lines = line, how.format(n=n), {n}
                if re.match(r"^[—–-]{1,2}", line) and idx > 0:
                    prev_n, prev = head[idx - 1]
                    if len(prev) <= 40 and not any(c in prev for c in "。！？：:"):
                        title = prev + line
                        title_how = f"lines {prev_n}–{n}, a title and its ——subtitle"
                        title_lines = {prev_n, n}
                elif re.match(r"^[—–-]{1,2}", line):
                    title = re.sub(r"^[—–-]{1,2}\s*", "", line)
                break
        if title:
            break
    if title is None:
        for n, line in head[:3]:
            if 4 <= len(line) <= 40 and not any(c in line for c in "。！？；;") and not line.endswith(("：", ":")) \
                    and not any(p.match(line) for _, p in _LEVEL_PATTERNS) and not _DATE_LINE.match(line) \
                    and _CJK.search(line):
                title, title_how, title_lines = line, f"line {n}, the first short line (no line like 在…上的讲话)", {n}
                check.append("title")
                break
    if title is None:
        title = _title_from_filename(Path(filename).stem)
        if title:
            title_how = f"the file name {Path(filename).name!r} (no title line in the text)"
            check.append("title")
    if "title" in given:
        title = schema.clean_text(str(given["title"]))
    elif title:
        title = schema.clean_text(title)
        inferred["title"] = (title, title_how)

    body_lines = [(n, line) for n, line in kept if n not in title_lines]
    body_text = "\n".join(line for _, line in body_lines)

    # --- date: the first source that names one, in order of reliability
    date: PartialDate | None = None
    date_how = ""
    title_hits = _dates_in(title or "", max_year)
    head_lines = [line for _, line in body_lines[:6]] + [line for _, line in body_lines[-3:]]
    line_hits = [h for line in head_lines if _DATE_LINE.match(unicodedata.normalize("NFKC", line))
                 for h in _dates_in(line, max_year)]
    stem = Path(filename).stem
    file_hits = _dates_in(stem, max_year) or _bare_years(stem, max_year)
    year_words = {h.date.year: h for h in _dates_in(body_text, max_year - 1) if h.found.endswith("年度")}
    sources = [
        ([h for h in title_hits if h.date.day], "the title"),
        (line_hits, "a date line in the text"),
        ([h for h in file_hits if h.date.month], "the file name"),
        (title_hits, "the title"),
        (file_hits, "the file name"),
        (list(year_words.values()) if len(year_words) == 1 else [], "the text"),
    ]
    for hits, where in sources:
        if hits:
            date, date_how = hits[0].date, f"{hits[0].found!r} in {where}"
            break
    if date is not None:
        years = {h.date.year for hits, _ in sources[:5] for h in hits}
        if len(years) > 1:
            notes.append("the title, date lines and file name name different years (" +
                         ", ".join(map(str, sorted(years))) + "): check the date")
            check.append("date")
    elif len(year_words) > 1:
        suggestions["date"] = [str(y) for y in sorted(year_words)]
    if "date" in given:
        value = given["date"]
        date = value if isinstance(value, PartialDate) else parse_date(value)
    elif date is not None:
        inferred["date"] = (date, date_how)
    if "force_year" in given:
        year = int(given["force_year"])
        if date is None or date.year != year:
            if date is not None:
                notes.append(f"--force-year {year}: using {year} instead of {date.iso()}")
            date = PartialDate(year)
            inferred.pop("date", None)

    # --- meeting type, organisation and the topic, from the title
    meeting = _strip_speech_suffix(title) if title else ""
    meeting_type, mt_how = _meeting_type(meeting, vocab) if meeting else (None, "")
    if "meeting_type" in given:
        meeting_type = schema.clean_text(str(given["meeting_type"]))
    elif meeting_type:
        inferred["meeting_type"] = (meeting_type, mt_how)
    elif meeting:
        near = [t for t in (vocab.meeting_types or KNOWN_MEETING_TYPES) if t in meeting]
        suggestions["meeting_type"] = near[:5] or list(vocab.meeting_types[:8])

    organization = _organization(meeting) if meeting else None
    if "organization" in given:
        organization = schema.clean_text(str(given["organization"]))
    elif organization:
        inferred["organization"] = (organization, f"the title: {meeting!r} names it before the year")
    speaker = given.get("speaker")

    # --- themes
    themes: list[str] = []
    theme_how: list[str] = []
    topic = _title_topic(meeting, organization, meeting_type) if meeting else None
    if topic and (not vocab.closed_themes or topic in vocab.themes):
        themes.append(topic)
        theme_how.append(f"{topic}: the title says the {meeting_type} is about it")
    strong, weak = _theme_candidates(body_text, title or "", vocab)
    for theme, how in strong:
        if theme not in themes and len(themes) < 3:
            themes.append(theme)
            theme_how.append(f"{theme}: {how}")
    terms = key_terms(body_text, 8) if body_text.strip() else []
    phrases = _phrases(body_text, 6) if body_text.strip() else []
    ideas = weak + [t for t, _ in strong] + phrases + terms
    if vocab.closed_themes:
        ideas = [t for t in ideas if t in vocab.themes] or list(vocab.themes)
    suggestions["themes"] = [t for t in dict.fromkeys(ideas) if t not in themes][:10]
    if "themes" in given:
        themes = [schema.clean_text(str(t)) for t in given["themes"]]
    elif themes:
        inferred["themes"] = (themes, "; ".join(theme_how))
    check.append("themes")  # themes are always a person's decision: the guess only starts it

    # --- slug, fields, body
    slug = given.get("slug") or schema.slugify(title or _title_from_filename(stem) or stem)
    fields: dict = {"title": title, "date": date, "meeting_type": meeting_type, "themes": themes,
                    "speaker": speaker, "organization": organization}
    missing = [f for f in schema.REQUIRED if not fields.get(f)]
    comments: list[str] = []
    if missing:
        comments.append("site-builder import: fill in " + ", ".join(missing) + ", then run site-builder check")
        for f in missing:
            if suggestions.get(f):
                comments.append(f"  {f} suggestions: " + ", ".join(suggestions[f]))
    body, headings = _body_markdown([line for _, line in body_lines])
    markdown = render_front_matter(fields, comments) + "\n" + body

    # --- the lead's validation of the file as it will be written
    shown = str(Path(str(date.year if date else "????")) / f"{slug}.md")
    try:
        fm = frontmatter.split(markdown)
        _meta, problems = schema.validate(shown, fm.data, fm.key_lines, config.meeting_types, config.themes)
    except frontmatter.FrontMatterError as err:  # pragma: no cover - we write the YAML ourselves
        problems = [Problem(shown, err.line, None, err.message, err.hint)]

    return ImportResult(markdown=markdown, fields=fields, inferred=inferred, missing=missing, dropped=dropped,
                        check=[c for c in dict.fromkeys(check) if c not in given], suggestions=suggestions,
                        notes=notes, problems=problems, headings=headings, slug=slug)


# --------------------------------------------------------------------------------------------
# Writing files (never overwrite)
# --------------------------------------------------------------------------------------------


class FileExists(SiteBuilderError):
    pass


def write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``; raise FileExists if it is already there (never overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except FileExistsError:
        raise FileExists(str(path)) from None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load(content: Path | None) -> tuple[SiteConfig, Path, list[Problem]]:
    config, warnings = load_config(root=Path.cwd())
    return config, (Path(content) if content else config.content), warnings


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    raise SystemExit(code)


def _parse_date_option(value: str | None, option: str = "--date") -> PartialDate | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except DateError as err:
        raise click.BadParameter(f"{err}; {FORMATS_HINT}", param_hint=option) from None


def _check_closed(value: str | None, known: tuple[str, ...] | None, option: str) -> None:
    if value is None or known is None or value in known:
        return
    near = closest(value, known, cutoff=0.3)
    raise click.BadParameter(
        f"{value!r} is not in the configured list" + (f"; did you mean {near!r}?" if near else "")
        + " (known: " + "、".join(known) + ")", param_hint=option)


def _split_themes(values: tuple[str, ...] | list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(t for t in (schema.clean_text(p) for p in re.split(r"[,，、;；]", value)) if t)
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------
# site-builder import
# --------------------------------------------------------------------------------------------

def _format_value(value: object) -> str:
    if isinstance(value, PartialDate):
        return value.iso()
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _report(result: ImportResult, encoding: str, given: dict) -> None:
    click.echo(f"  encoding      {encoding}")
    for key in ("title", "date", "meeting_type", "themes", "organization", "speaker"):
        value = result.fields.get(key)
        if key in given and value:
            click.echo(f"  {key:<13} {_format_value(value)}  (given on the command line)")
        elif key in result.inferred:
            value, how = result.inferred[key]
            click.echo(f"  {key:<13} {_format_value(value)}  ({how})")
        elif key in schema.REQUIRED:
            click.echo(f"  {key:<13} could not infer it")
        else:
            click.echo(f"  {key:<13} — (not named in the title; optional)")
    if result.headings:
        click.echo("  headings      " + ", ".join(f"{n} × {marks}" for marks, n in sorted(result.headings.items())))
    for n, line in result.dropped:
        click.echo(f"  dropped       line {n}: {line}")
    for note in result.notes:
        click.echo(f"  note          {note}")
    if result.suggestions.get("themes"):
        click.echo("  theme ideas   " + ", ".join(result.suggestions["themes"]))


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=Path))
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Content folder to write into (default: content_dir from pyproject.toml, i.e. content/).")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--title", help="Title (only with a single FILE).")
@click.option("--date", "date_text", metavar="DATE", help="Date: 2020-03-05, 2020-03, 2020 or 2020年3月5日.")
@click.option("--force-year", type=click.IntRange(1900, 9999), metavar="YEAR",
              help="Use this year even when the text or file name names another (date becomes YEAR).")
@click.option("--meeting-type", help="Meeting type, e.g. 座谈会.")
@click.option("--theme", "themes", multiple=True, help="A theme (repeat the option, or separate with 、 or commas).")
@click.option("--speaker", help="Speaker.")
@click.option("--organization", help="Organisation.")
@click.option("--slug", help="File name (without .md) to write instead of one made from the title (only with a single FILE).")
def import_command(files, content_dir, dry_run, title, date_text, force_year, meeting_type, themes, speaker,
                   organization, slug):
    """Turn plain-text (.txt) or Word (.docx) speeches into Markdown files in content/.

    Reads UTF-8 (with or without BOM), UTF-16 and GB18030/GBK, and says which it used. Infers
    the title (a line like 在…上的讲话), the date (2020年3月5日, 2020年度, in the text or the file
    name), the organisation, the meeting type from the title and themes (from the title, the
    themes already used in content/ and the text's key terms); options override each guess.
    Numbered sections (一、 （一） 1.) become headings, source disclaimers (import_drop_lines in
    pyproject.toml) are dropped.

    Writes content/<year>/<slug>.md, never over an existing file. A file that still lacks a
    required field is written with a comment saying what to fill in, and the command exits 1.
    Exit codes: 0 all imported and valid, 1 a file could not be read, already exists or needs
    fields filled in, 2 usage error.

    Example:

    \b
        site-builder import ../shared/seeds/*.txt --dry-run
        site-builder import 讲话.docx --date 2021-01-15 --meeting-type 工作会议 --theme 基层党建
    """
    if len(files) > 1 and (title or slug):
        raise click.UsageError("--title and --slug apply to one file; import the files one at a time")
    date = _parse_date_option(date_text)
    if date is not None and force_year is not None and date.year != force_year:
        raise click.UsageError(f"--date {date_text} and --force-year {force_year} disagree; give one of them")
    if slug is not None and (why := schema.slug_problem(slug)):
        raise click.BadParameter(why, param_hint="--slug")
    try:
        config, content, _warnings = _load(content_dir)
    except UsageError as err:
        _fail(str(err), 2)
    _check_closed(meeting_type, config.meeting_types, "--meeting-type")
    theme_list = _split_themes(themes)
    for theme in theme_list:
        _check_closed(theme, config.themes, "--theme")
    given = {"title": title, "date": date, "meeting_type": meeting_type, "themes": theme_list,
             "speaker": speaker, "organization": organization, "slug": slug, "force_year": force_year}
    given = {k: v for k, v in given.items() if v not in (None, "", [], ())}
    vocab = scan_vocabulary(content, config)

    failed = 0
    for source in files:
        click.echo(f"{_shown(source)}")
        try:
            text, encoding = read_source(source)
        except SourceError as err:
            click.echo(f"  error: {err}", err=True)
            failed += 1
            continue
        result = import_text(text, source.name, config, vocab, overrides=given)
        _report(result, encoding, given)
        rel = result.relative_path()
        if rel is None:
            click.echo("  date          not found: no year in the title, the text or the file name", err=True)
            click.echo(f"  not written: give the date, e.g. site-builder import {_shown(source)} --date 2020-03-05 "
                       "(or --date 2020 when only the year is known)", err=True)
            failed += 1
            continue
        target = content / rel
        exists = (f"{_shown(target)} already exists ({'import never overwrites' if not dry_run else 'would not overwrite'}); "
                  f"choose another name with --slug, e.g. --slug {result.slug}-2")
        if target.exists():
            click.echo(f"  not written: {exists}", err=True)
            failed += 1
            continue
        for f in result.missing:
            ideas = result.suggestions.get(f)
            click.echo(f"  fill in:      {f}" + (f" (suggestions: {', '.join(ideas)})" if ideas else ""), err=True)
        decide = [c for c in result.check if c not in result.missing]
        if decide:
            click.echo("  decide:       " + ", ".join(decide) + " (inferred; check before publishing)")
        for problem in result.problems:
            if problem.field not in result.missing:
                click.echo("  " + problem.format().replace(str(rel), _shown(target), 1), err=True)
        if dry_run:
            click.echo(f"  would write   {_shown(target)} (dry run: nothing written)")
            click.echo("  " + result.markdown.split("\n---\n", 1)[0].replace("\n", "\n  ") + "\n  ---")
        else:
            try:
                write_new(target, result.markdown)
            except FileExists:  # created since we looked
                click.echo(f"  not written: {exists}", err=True)
                failed += 1
                continue
            except OSError as err:
                click.echo(f"  not written: {_shown(target)}: {err.strerror or err}", err=True)
                failed += 1
                continue
            click.echo(f"  wrote         {_shown(target)}")
        if result.needs_edits:
            click.echo(f"  needs edits:  fill in {', '.join(result.missing) or 'the fields above'} in "
                       f"{_shown(target)}, then run site-builder check", err=True)
            failed += 1
        vocab = vocab.adding(result.fields.get("meeting_type"), result.fields.get("themes") or [])
    if len(files) > 1:
        click.echo(f"{len(files) - failed} of {len(files)} imported cleanly" + (", nothing written (dry run)" if dry_run else ""))
    raise SystemExit(1 if failed else 0)


# --------------------------------------------------------------------------------------------
# site-builder new
# --------------------------------------------------------------------------------------------

BODY_SKELETON = """同志们：

<!-- 在这里写讲话正文：段落之间空一行；小标题写成 “## 一、……”、“### （一）……”。 -->

## 一、

## 二、

## 三、
"""


def _stdin_is_tty() -> bool:
    """Whether to prompt (tests replace this)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _choose(prompt: str, known: tuple[str, ...], multiple: bool, default: list[str] = ()) -> list[str]:
    """Prompt for a value, offering the known ones by number; ``default`` is what Enter accepts."""
    if known:
        click.echo(f"{prompt}（已有：" + "  ".join(f"{i}) {v}" for i, v in enumerate(known, 1)) + "）")
    hint = "编号或名称，多个用、或逗号分隔" if multiple else "编号或名称"
    answer = click.prompt(f"{prompt}（{hint}）", default="、".join(default), show_default=bool(default)).strip()
    parts = _split_themes([answer]) if multiple else ([schema.clean_text(answer)] if answer else [])
    return [known[int(p) - 1] if p.isdigit() and 1 <= int(p) <= len(known) else p for p in parts]


@click.command("new")
@click.option("--title", help="Title, e.g. 在2021年度党建工作会议上的讲话.")
@click.option("--date", "date_text", metavar="DATE", help="Date: 2021-03-05, 2021-03, 2021 or 2021年3月5日.")
@click.option("--meeting-type", help="Meeting type, e.g. 座谈会.")
@click.option("--theme", "themes", multiple=True, help="A theme (repeat the option, or separate with 、 or commas).")
@click.option("--speaker", help="Speaker (optional).")
@click.option("--organization", help="Organisation (optional).")
@click.option("--slug", help="File name (without .md); default: made from the title.")
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Content folder (default: content_dir from pyproject.toml, i.e. content/).")
@click.option("--no-input", is_flag=True, help="Never prompt; take everything from the options.")
def new_command(title, date_text, meeting_type, themes, speaker, organization, slug, content_dir, no_input):
    """Create a new speech file content/<year>/<slug>.md with its front matter and a body skeleton.

    Values not given as options are asked for when run in a terminal (the meeting types and
    themes already used in content/ are offered by number); with --no-input, or when input is
    not a terminal, --title and --date are required, and a missing meeting type or theme is left
    as an empty field to fill in (exit code 1). Never overwrites a file; prints the path.
    Exit codes: 0 created, 1 created but fields still to fill in, or the file already exists,
    2 usage error.

    Example:

    \b
        site-builder new --title 在2021年度党建工作会议上的讲话 --date 2021-01-15 \\
            --meeting-type 党建工作会议 --theme 基层党建 --theme 党风廉政建设 --no-input
    """
    try:
        config, content, _warnings = _load(content_dir)
    except UsageError as err:
        _fail(str(err), 2)
    vocab = scan_vocabulary(content, config)
    interactive = not no_input and _stdin_is_tty()
    date = _parse_date_option(date_text)
    theme_list = _split_themes(themes)

    if not interactive and not title:
        raise click.UsageError("--title required when not prompting (--no-input, or input is not a terminal)")
    while not title:
        title = schema.clean_text(click.prompt("标题 title", default="", show_default=False))
    # What the title itself says (date, meeting type, organisation, topic), as import reads it:
    # prompt defaults, or the values used with --no-input.
    guess = import_text(title, "", config, vocab)
    guessed: dict[str, object] = {}
    if interactive:
        default_date = guess.fields["date"].iso() if guess.fields["date"] else _dt.date.today().isoformat()
        while date is None:
            answer = click.prompt("日期 date (2021-03-05, 2021-03 或 2021)", default=default_date)
            try:
                date = parse_date(answer)
            except DateError as err:
                click.echo(f"  {err}; {FORMATS_HINT}")
        if not meeting_type:
            default = [guess.fields["meeting_type"]] if guess.fields["meeting_type"] else []
            picked = _choose("会议类型 meeting_type", vocab.meeting_types, multiple=False, default=default)
            meeting_type = picked[0] if picked else None
        if not theme_list:
            theme_list = _choose("主题 themes", vocab.themes, multiple=True, default=guess.fields["themes"])
        if speaker is None:
            speaker = click.prompt("讲话人 speaker（可空）", default="", show_default=False).strip() or None
        if organization is None:
            organization = click.prompt("单位 organization（可空）", default=guess.fields["organization"] or "",
                                        show_default=bool(guess.fields["organization"])).strip() or None
    else:
        for key, value in (("date", date), ("meeting_type", meeting_type), ("themes", theme_list),
                           ("organization", organization)):
            if not value and guess.fields.get(key):
                guessed[key] = guess.fields[key]
        date = date or guessed.get("date")
        meeting_type = meeting_type or guessed.get("meeting_type")
        theme_list = theme_list or list(guessed.get("themes") or [])
        organization = organization or guessed.get("organization")
        if date is None:
            raise click.UsageError("--date required when not prompting and the title names no year "
                                   "(e.g. --date 2021-03-05, or --date 2021 when only the year is known)")
    title = schema.clean_text(title)
    _check_closed(meeting_type, config.meeting_types, "--meeting-type")
    for theme in theme_list:
        _check_closed(theme, config.themes, "--theme")
    if slug is not None and (why := schema.slug_problem(slug)):
        raise click.BadParameter(why, param_hint="--slug")
    slug = slug or schema.slugify(title)

    fields = {"title": title, "date": date, "meeting_type": meeting_type, "themes": theme_list,
              "speaker": speaker, "organization": organization}
    missing = [f for f in schema.REQUIRED if not fields.get(f)]
    comments = ["fill in " + ", ".join(missing) + ", then run site-builder check"] if missing else []
    text = render_front_matter(fields, comments, placeholders=tuple(missing)) + "\n" + BODY_SKELETON
    target = content / str(date.year) / f"{slug}.md"
    try:
        write_new(target, text)
    except FileExists:
        _fail(f"error: {_shown(target)} already exists (new never overwrites); choose another name with --slug", 1)
    except OSError as err:
        _fail(f"error: cannot write {_shown(target)}: {err.strerror or err}", 1)
    for value, known, what in ((meeting_type, vocab.meeting_types, "meeting type"),):
        if value and known and value not in known and not vocab.closed_meeting_types:
            near = closest(value, known, cutoff=0.6)
            if near:
                click.echo(f"note: new {what} {value!r}; did you mean the existing {near!r}?", err=True)
    for theme in theme_list:
        if vocab.themes and theme not in vocab.themes and not vocab.closed_themes:
            near = closest(theme, vocab.themes, cutoff=0.6)
            if near:
                click.echo(f"note: new theme {theme!r}; did you mean the existing {near!r}?", err=True)
    for key, value in guessed.items():
        click.echo(f"{key}: {_format_value(value)} (from the title; check it)", err=True)
    click.echo(_shown(target))
    if missing:
        click.echo(f"fill in: {', '.join(missing)} in {_shown(target)}, then run site-builder check", err=True)
        raise SystemExit(1)
