"""Metadata from the text first, the file name last.

:func:`infer` reads the head of a speech (its first lines, before the salutation or the first
paragraph) and its last lines:

* title — the first run of title-like lines (up to three: a main title over several lines) and a
  ``——在…上的…`` subtitle; a source-site name prefix ``王强：`` becomes the speaker. Never a
  salutation (``各位代表：``), a sentence, a numbered heading, a note in brackets or a date line.
* date — a date line (``（2022年11月4日）``, ``二〇二三年十二月三十一日``), a dateline subtitle
  (``——2024年3月5日在…上``), a byline with a date, a full date in the title, the news lead
  (``2023年6月2日，…召开``), the year of the title (``2021年度``), the file name — in that order;
  when they name different years the date is marked for review.
* speaker and organisation — bylines (``市委书记　王　强``, ``国务院总理　李　强``), spaces inside
  names removed; location — the place of a date line (``（2023年11月16日，杭州）``).
* meeting type and themes — see :mod:`.vocabulary`.

Each value says where it came from (``text:N`` for source line N, ``file name``, ``guess``) and
whether a person should review it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from ..search.analysis import fold
from . import datefind, people, vocabulary
from .headings import marker_kind
from .inferred import Metadata, Value
from .layout import Line
from .metadata_date import FOOTNOTE as _FOOTNOTE
from .metadata_date import NOTE as _NOTE
from .metadata_date import infer_date

_CJK = re.compile(r"[\u3400-\u9fff]")
_SALUTATION = re.compile(
    r"^(?:同志们|各位|尊敬的|女士们|先生们|朋友们|亲爱的|大家好|代表们|同学们|老师们|来宾们|"
    r"各位代表|各位委员|各位来宾)"
)
_DASH = re.compile(r"^[—–\-─━]{1,3}\s*")
_SPEECH = re.compile(
    r"(?:讲话|讲稿|发言|致辞|贺词|报告|演讲|主持词|党课|说明|贺信|讲演|谈话|答问|决议|决定|公报|宣言|纲要|意见|总结|材料|汇报|寄语|贺电|讲座|报告会)"
    r"(?:稿|提纲|摘要|全文)?(?:[（(][^（）()]{1,20}[）)])?$"
)
_COMBINED = re.compile(
    r"^(?P<title>.{4,80}?)\s*(?P<rest>[（(]\s*(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年[^（）()]{0,40}[）)]"
    r"(?:[\s\u3000]*.{0,30})?)$"
)


def squeeze_cjk_spaces(text: str) -> str:
    """Spaces between two Chinese characters (a justified title line) are removed."""
    return re.sub(r"(?<=[\u3400-\u9fff])[\s\u3000]+(?=[\u3400-\u9fff])", "", text).strip()


def _titleish(text: str) -> bool:
    if not 2 <= len(text) <= 80 or not _CJK.search(text):
        return False
    if any(c in text for c in "。") or any(c in text[:-1] for c in "！？!?；;"):
        return False
    if text.endswith(("：", ":", "，", ",", "、", "；", ";")) or _SALUTATION.match(text):
        return False
    key = re.match(r"^[^\s：:]{1,6}[：:]", text)
    if key and not (people.name_prefix(text) and _SPEECH.search(fold(text))):
        return False  # 作者：…, 来源：…, 时间：… (page metadata, not a title)
    return marker_kind(text) is None


_PREFACE = re.compile(
    r"^[【\[（(]?\s*(?:编者按|编者的话|编辑按|按语|导读|内容提要|摘要)\s*[】\]）)]?\s*[：:]|(?:全文如下|如下)[：:]$"
)


def _body_start(lines: list[Line]) -> int:
    """Index of the first line of the speech proper: the salutation, when one comes before any
    numbered section (an editor's note or a covering notice may stand above the title); else the
    first paragraph, numbered section or heading."""
    for i, line in enumerate(lines[:24]):
        if line.heading is not None or (marker_kind(line.text) is not None and i > 0):
            break
        if _SALUTATION.match(line.text) and len(line.text) <= 40 and line.text.endswith(("：", ":", "，", ",")):
            return i
    for i, line in enumerate(lines[:12]):
        text = line.text
        if (_NEWS_DATELINE.match(fold(text)) and len(text) <= 40) or _PREFACE.search(text):
            continue
        if _SALUTATION.match(text) and len(text) <= 40:
            return i
        if line.heading is not None or (marker_kind(text) is not None and i > 0):
            return i
        if len(text) > 80 or (any(c in text for c in "。！？") and len(text) > 30):
            return i
    return min(len(lines), 12)


_NEWS_DATELINE = re.compile(
    r"^(?:新华社|中新社|中新网|人民网|新华网|央视网|光明网|中国新闻网|本报|本网|本台)"
    r".{0,10}?\d{1,2}月\d{1,2}日(?:电|讯|消息)"
)


def _classify(line: Line, max_year: int) -> str:
    text = line.text
    if datefind.date_line(text, max_year):
        return "date"
    if _NEWS_DATELINE.match(fold(text)):
        return "source"
    if len(text) <= 90 and "在" in text and _is_dateline(text, max_year):
        return "subtitle"
    if people.byline(text):
        return "byline"
    if _DASH.match(text) and len(text) > 3:
        return "subtitle"
    if _NOTE.match(text):
        return "note"
    if people.name_prefix(text) and _SPEECH.search(fold(text)):
        return "title"
    if _titleish(text) or _COMBINED.match(text):
        return "title"
    return "other"


def _is_dateline(text: str, max_year: int) -> bool:
    """A subtitle that starts with a date: ——2024年3月5日在…上 (a dateline, not part of the title)."""
    rest = _DASH.sub("", fold(text))
    hit = datefind.first_date(rest, max_year)
    return hit is not None and hit.start == 0


_ORG_SUFFIX = tuple(
    """
委员会 管委会 联合会 办公室 党委 党组 党工委 总支 支部 集团 公司 党校 学校 大学 学院
医院 银行 协会 中心 局 厅 委 部 办 院 所 站 队 处 科 校 社
""".split()
)
_ORG_GENERIC = set(
    """
全 本 我 各 该 这 此 市 县 省 区 镇 乡 分 总 全市 全省 全县 全区 全系统 系统
机关 领导 干部 专题 工作
""".split()
)


def organization_in_meeting(meeting: str) -> str | None:
    """The organisation a meeting phrase starts with, only when a year follows it (X局2020年度…)."""
    norm = unicodedata.normalize("NFKC", meeting)
    for end in range(1, min(len(norm), 24) + 1):
        if not re.match(r"^(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年", norm[end:]):
            continue
        candidate = norm[:end]
        for suffix in _ORG_SUFFIX:
            prefix = candidate[: -len(suffix)]
            if (
                candidate.endswith(suffix)
                and prefix
                and prefix not in _ORG_GENERIC
                and not re.search(r"[\s，,。、]", candidate)
            ):
                return meeting[:end]
        return None
    return None


def _datelines(lines: list[Line], head: list[str], max_year: int) -> list[str]:
    """Subtitles of the head that start with a date: ——2024年3月5日在…上, 1957年6月26日在…上."""
    return [
        lines[i].text for i, kind in enumerate(head) if kind == "subtitle" and _is_dateline(lines[i].text, max_year)
    ]


_TITLE_WRAPPING = re.compile(
    r"^[（(【\[]\s*(?:受权发布|全文|独家|图文|视频)\s*[）)】\]]\s*|"
    r"\s*(?:[（(【\[]\s*(?:全文|摘要|节选|发言摘要|讲话全文|有删节)\s*[）)】\]]|\*+)$"
)
_NEWS_HEADLINE = re.compile(r"出席.{0,40}(?:并|时)|发表.{0,30}(?:讲话|演讲|致辞)|强调|指出|会见|主持召开|讲话要点")
_TRAILER = ("date", "byline", "note", "source")


def _wraps_into(earlier: str) -> bool:
    """A line a title was wrapped after, in the middle of 在…上的讲话."""
    folded = fold(earlier)
    return "在" in folded and not _SPEECH.search(folded) and not earlier.endswith(tuple("。！？）)》"))


def _title_start(lines: list[Line], head: list[str], max_year: int, dropped: AbstractSet[int]) -> int | None:
    """Index of the first line of the title: the block of title lines and subtitles right above
    the date lines and bylines that precede the salutation (so that a site name, a news headline,
    a document header or an editor's note above it is passed over); else the first title line."""
    i = len(head) - 1
    while i >= 0 and (head[i] in _TRAILER or (head[i] == "subtitle" and _is_dateline(lines[i].text, max_year))):
        i -= 1
    block: list[int] = []
    while i >= 0 and head[i] in ("title", "subtitle") and sum(1 for b in block if head[b] == "title") < 3:
        text = lines[i].text
        if head[i] == "title" and _NEWS_HEADLINE.search(fold(text)) and not _SPEECH.search(fold(text[-12:])):
            break
        if block:
            later = lines[block[-1]]
            if later.n - lines[i].n > 2 or any(lines[i].n < n < later.n for n in dropped):
                break
            if head[block[-1]] == "title" and _SPEECH.search(fold(later.text)) and not _wraps_into(text):
                break
        block.append(i)
        i -= 1
    if any(head[b] == "title" for b in block):
        return min(b for b in block if head[b] == "title")
    return next((i for i, kind in enumerate(head[:4]) if kind == "title"), None)


def _title(
    lines: list[Line], head: list[str], meta: Metadata, max_year: int, dropped: AbstractSet[int] = frozenset()
) -> tuple[str | None, list[str]]:
    """Find the title lines in the head; return (title, subtitle texts that are datelines)."""
    datelines: list[str] = []
    start = _title_start(lines, head, max_year, dropped)
    if start is None:
        return None, _datelines(lines, head, max_year)
    parts: list[str] = []
    idx: list[int] = []
    i = start
    while i < len(head) and head[i] == "title" and len(parts) < 3:
        text = lines[i].text
        inline = re.search(r"[—–─━]{1,3}\s*(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年", fold(text))
        if inline and inline.start() >= 2 and _titleish(text[: inline.start()]):
            meta.remainder[i] = text[inline.start() :]
            datelines.append(text[inline.start() :])
            parts.append(squeeze_cjk_spaces(text[: inline.start()]))
            idx.append(i)
            i += 1
            break
        combined = _COMBINED.match(text)
        prefix = people.name_prefix(text)
        if prefix and _SPEECH.search(fold(prefix[1])):
            meta.values["speaker"] = Value(prefix[0], f"text:{lines[i].n}", f"the title line names {prefix[0]}")
            text = prefix[1]
            meta.moved.append((lines[i].n, lines[i].text))
        elif combined and datefind.first_date(combined.group("rest"), max_year):
            text = combined.group("title")
            meta.remainder[i] = combined.group("rest").strip()
            parts.append(squeeze_cjk_spaces(text))
            idx.append(i)
            i += 1
            break
        parts.append(squeeze_cjk_spaces(text))
        idx.append(i)
        i += 1
        if _SPEECH.search(fold(text)):
            break
    # A title run longer than one line must end like a title or be followed by a subtitle:
    # otherwise only its first line is the title (the next may be a heading-less first line).
    while i < len(head) and head[i] == "subtitle":
        text = lines[i].text
        if _is_dateline(text, max_year):
            datelines.append(text)
        elif len(parts) + 1 <= 5:
            parts.append(squeeze_cjk_spaces(text))
            idx.append(i)
        i += 1
    if len(idx) > 1 and not any(_SPEECH.search(fold(p)) or _DASH.match(p) for p in parts):
        parts, idx = parts[:1], idx[:1]
    datelines += [t for t in _datelines(lines, head, max_year) if t not in datelines]
    title = ""
    for part in parts:
        # A new line of a title is a new phrase (一个空格), unless the title was merely wrapped
        # in the middle of 在…上的讲话.
        wrapped = "在" in fold(title) and not _SPEECH.search(fold(title)) and not _DASH.match(part)
        if title and not _DASH.match(part) and not wrapped:
            title += " "
        title += part
    cleaned = _TITLE_WRAPPING.sub("", title).strip() or title
    if cleaned != title:
        meta.moved.extend((lines[j].n, lines[j].text) for j in idx if (lines[j].n, lines[j].text) not in meta.moved)
        title = cleaned
    meta.title_lines = idx
    n = lines[idx[0]].n
    how = f"line {n}" if len(idx) == 1 else f"lines {n}–{lines[idx[-1]].n}"
    meta.values["title"] = Value(
        title, f"text:{n}", f"{how} of the text", review=not (_SPEECH.search(fold(title)) or len(idx) > 1)
    )
    return title, datelines


def infer(
    lines: list[Line],
    filename: str,
    vocab: vocabulary.Vocabulary,
    max_year: int,
    source_title: str | None = None,
    extra_lines: Sequence[tuple[int, str]] = (),
) -> Metadata:
    """Read the metadata of one speech from its lines (after layout recovery and boilerplate)."""
    meta = Metadata()
    end = _body_start(lines)
    head = [_classify(line, max_year) for line in lines[:end]]
    title, datelines = _title(lines, head, meta, max_year, {n for n, _ in extra_lines})
    if title is None and source_title:
        meta.values["title"] = Value(squeeze_cjk_spaces(source_title), "source", "the title the file itself states")
        title = source_title
    if title is None:
        title = _title_from_page_metadata(extra_lines, meta)
    if title is None:
        title = _title_from_meeting(lines[end : end + 3], meta)
    tail_start = max(end, len(lines) - 4)
    _people(lines, head, tail_start, meta, max_year)
    infer_date(lines, head, tail_start, datelines, filename, meta, max_year, extra_lines)
    _meeting(lines, head, title, datelines, meta, vocab)
    return meta


_KEY_TITLE = re.compile(
    r"^[【\[（(]?\s*(?:原标题|标\s*题|题\s*目|文章标题|名\s*称)\s*[】\]）)]?\s*[：:]\s*(?P<title>.+)$"
)


def _title_from_page_metadata(extra_lines: Sequence[tuple[int, str]], meta: Metadata) -> str | None:
    """A title stated in the page's own metadata that was dropped: 原标题：…, 标　　题：…."""
    for n, text in extra_lines[:12]:
        m = _KEY_TITLE.match(text.strip())
        if not m:
            continue
        title = m.group("title").split("\t")[0].strip()
        prefix = people.name_prefix(title)
        if prefix and _SPEECH.search(fold(prefix[1])):
            meta.values.setdefault("speaker", Value(prefix[0], f"text:{n}", f"the title on line {n} names {prefix[0]}"))
            title = prefix[1]
        if _titleish(title):
            meta.values["title"] = Value(squeeze_cjk_spaces(title), f"text:{n}", f"the page's title line {n}")
            return title
    return None


_MEETING_MENTION = re.compile(
    r"(?:召开|举行|举办|参加|出席|在)(?:了|这次|今天的|本次)?(?P<meeting>[^，。、；：！？\s]{2,30}?"
    r"(?:会议|大会|座谈会|论坛|峰会|全会|年会|典礼|仪式|开幕式|民主生活会|培训班|研讨会|推进会|"
    r"动员会|表彰会|报告会|交流会|团拜会|茶话会|招待会))"
)


def _title_from_meeting(first: list[Line], meta: Metadata) -> str | None:
    """No title anywhere: 在<the meeting the opening names>上的讲话, marked for review (a person
    writes such a title the same way; it is never a sentence of the text)."""
    for line in first:
        m = _MEETING_MENTION.search(line.text)
        if m and not re.search(r"召开|举行|举办|这里|我们|大家|今天|此次|这个|一个", m.group("meeting")):
            meeting = m.group("meeting")
            title = f"在{meeting}上的讲话"
            meta.values["title"] = Value(
                title, "guess", f"no title in the text; line {line.n} names the meeting", review=True
            )
            return title
    return None


def _people(lines: list[Line], head: list[str], tail_start: int, meta: Metadata, max_year: int) -> None:
    found: list[tuple[people.Byline, int]] = []
    for i, kind in enumerate(head):
        if kind == "byline" and i not in meta.title_lines:
            found.append((people.byline(lines[i].text), lines[i].n))  # type: ignore[arg-type]
    for i in list(meta.remainder):
        rest = re.sub(r"^[（(][^）)]*[）)]", "", meta.remainder[i]).strip()
        if rest and (b := people.byline(rest)):
            found.append((b, lines[i].n))
    for line in lines[tail_start:]:
        b = people.byline(line.text)
        if b is not None and not datefind.date_line(line.text, max_year):
            found.append((b, line.n))
    title = meta.values.get("title")
    if "speaker" not in meta.values and title is not None:
        name = people.speaker_in_title(str(title.value))
        if name:
            meta.values["speaker"] = Value(name, title.source, "the title names the speaker")
    if found and "speaker" not in meta.values:
        b, n = found[0]
        meta.values["speaker"] = Value(b.speaker, f"text:{n}", f"the byline on line {n}")
    names = {b.speaker for b, _ in found} | ({meta.values["speaker"].value} if "speaker" in meta.values else set())
    if len(names) > 1:
        meta.notes.append(
            "bylines name different people (" + "、".join(sorted(map(str, names))) + "): check the speaker"
        )
        meta.values["speaker"].review = True
    for b, n in found:
        if b.organization and "organization" not in meta.values:
            meta.values["organization"] = Value(b.organization, f"text:{n}", f"the office on line {n}")


def _meeting(
    lines: list[Line],
    head: list[str],
    title: str | None,
    datelines: list[str],
    meta: Metadata,
    vocab: vocabulary.Vocabulary,
) -> None:
    phrases: list[tuple[str, str]] = []
    title_value = meta.values.get("title")
    if title:
        for part in re.split(r"[—–─━]{1,3}", title)[::-1]:
            phrase = vocabulary.meeting_phrase(part)
            if phrase:
                phrases.append((phrase, title_value.source if title_value else "text"))
    for text in datelines:
        phrase = vocabulary.meeting_phrase(_DASH.sub("", text))
        if phrase:
            phrases.append((phrase, "text"))
    for line in lines[max(0, len(lines) - 6) :]:
        m = _FOOTNOTE.match(fold(line.text))
        if m:
            phrases.append((m.group("meeting"), f"text:{line.n}"))
    for i, kind in enumerate(head):
        if kind == "note" and "会议" in fold(lines[i].text):
            phrases.append((lines[i].text.strip("（）()"), f"text:{lines[i].n}"))
    for phrase, source in phrases:
        found, how = vocabulary.meeting_type(phrase, vocab)
        if found:
            meta.values["meeting_type"] = Value(found, source, how)
            break
    if "meeting_type" not in meta.values and title:
        found, how = vocabulary.meeting_type(title, vocab)
        if found:
            meta.values["meeting_type"] = Value(found, title_value.source if title_value else "text", how, review=True)
        elif "政府工作报告" in fold(title):
            meta.values["meeting_type"] = Value(
                "人民代表大会会议", "guess", "a 政府工作报告 is given to the 人民代表大会", review=True
            )
    if phrases and "organization" not in meta.values:
        org = organization_in_meeting(phrases[0][0])
        if org:
            meta.values["organization"] = Value(
                org, phrases[0][1], f"the meeting {phrases[0][0]} names it before the year"
            )
