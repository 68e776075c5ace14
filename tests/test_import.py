"""`site-builder import`: layout recovery, metadata from the text, headings, boilerplate, nothing lost.

Formats and encodings are in test_import_sources.py; the whole fixture corpus against its sheet of
expected values in test_import_corpus.py; the batch command (sheet, report, duplicates) in
test_import_batch.py.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from collections import Counter
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder import frontmatter, schema
from site_builder.config import SiteConfig
from site_builder.dates import PartialDate
from site_builder.importer import Vocabulary, escape_markdown, import_text
from site_builder.importer.layout import INVISIBLE

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "tests" / "fixtures" / "import" / "seeds"  # copies of the two seed speeches
CONTENT_2020 = REPO / "content" / "2020"
SEED_FILES = {
    "000_87d2a4315d1eeebf.txt": CONTENT_2020 / "在2020年度党员队伍建设座谈会上的讲话.md",
    "004_004ea9d529d320ec.txt": CONTENT_2020 / "在X局2020年度党建工作会议上的讲话.md",
}
CONFIG = SiteConfig()
TODAY = _dt.date(2026, 1, 1)  # pinned: "a date in the future" must not depend on the clock


def imp(text: str, filename: str = "doc001.txt", vocab: Vocabulary | None = None, **kw):
    return import_text(text, filename, kw.pop("config", CONFIG), vocab, today=TODAY, **kw)


def body_of(result) -> str:
    return frontmatter.split(result.markdown).body


def paragraphs(result) -> list[str]:
    return [p.strip() for p in body_of(result).split("\n\n") if p.strip()]


def lost_characters(source: str, result) -> Counter:
    """Non-whitespace characters of ``source`` found neither in the body, the front-matter values,
    the dropped lines nor the moved lines (multisets; Markdown escapes and heading marks removed)."""

    def chars(text: str) -> Counter:
        return Counter(c for c in INVISIBLE.sub("", text) if not c.isspace())

    body = re.sub(r"^#+ ", "", result.body, flags=re.M)
    body = html.unescape(re.sub(r"\\(.)", r"\1", body))
    values = " ".join(
        str(v.iso() if isinstance(v, PartialDate) else v) for k, v in result.fields.items() if k != "review"
    )
    kept = (
        chars(body)
        + chars(values)
        + chars(" ".join(t for _, t, _ in result.dropped))
        + chars(" ".join(t for _, t in result.moved))
    )
    return chars(source) - kept


# --- the seeds -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_seed_import_reproduces_content_except_the_themes(seed):
    """content/ holds the seeds as imported; only the themes were decided by hand."""
    result = imp((SEEDS / seed).read_text(encoding="utf-8"), seed)
    written = frontmatter.split(result.markdown)
    content = frontmatter.split(SEED_FILES[seed].read_text(encoding="utf-8"))
    assert written.body.strip() == content.body.strip()
    for key in ("title", "date", "meeting_type", "organization"):
        assert written.data.get(key) == content.data.get(key), key
    assert written.data["review"] == ["themes"] and "review" not in content.data


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_seed_keeps_every_character_and_reports_the_disclaimer(seed):
    text = (SEEDS / seed).read_text(encoding="utf-8")
    result = imp(text, seed)
    assert not lost_characters(text, result)
    assert [(n, reason) for n, _, reason in result.dropped] == [(1, "投稿声明")]
    assert result.moved == [(2, text.splitlines()[1])]
    assert result.headings["##"] == 4 and "。\n" in body_of(result)  # headings keep their 。


# --- layout recovery -------------------------------------------------------------------------

ONE_LINE = (
    "在全市文化工作座谈会上的讲话（2023年6月2日）王　强　　2023年6月2日，全市文化工作座谈会在市委礼堂召开。"
    "记者 赵明/摄　　同志们：　　今天我们召开座谈会，主要任务是总结工作。　　一、深刻认识文化建设的重要意义"
    "　　文化是一个国家、一个民族的灵魂。我们要坚定文化自信。　　二、扎实推进文化惠民工程　　要加强公共文化服务。"
)


def test_whole_speech_on_one_line_is_split_into_paragraphs_and_read():
    result = imp(ONE_LINE)
    assert result.fields["title"] == "在全市文化工作座谈会上的讲话"
    assert result.fields["date"] == PartialDate(2023, 6, 2)
    assert result.fields["speaker"] == "王强"
    assert result.fields["meeting_type"] == "座谈会"
    assert paragraphs(result) == [
        "（2023年6月2日）王 强",
        "同志们：",
        "今天我们召开座谈会，主要任务是总结工作。",
        "## 一、深刻认识文化建设的重要意义",
        "文化是一个国家、一个民族的灵魂。我们要坚定文化自信。",
        "## 二、扎实推进文化惠民工程",
        "要加强公共文化服务。",
    ]
    assert [r for _, _, r in result.dropped] == ["图片说明"]
    assert not lost_characters(ONE_LINE, result)


def test_one_line_with_runs_of_spaces_and_a_name_spaced_with_spaces():
    text = (
        "在全市防汛工作会议上的讲话  （2022年3月9日）  市长  罗  成      同志们：   "
        + "今天召开会议，部署防汛工作。" * 12
        + "   一、提高认识   "
        + "防汛工作事关全局。" * 10
    )
    result = imp(text)
    assert result.fields["speaker"] == "罗成" and result.fields["date"] == PartialDate(2022, 3, 9)
    assert "同志们：" in paragraphs(result) and "## 一、提高认识" in paragraphs(result)


def test_very_long_line_without_indents_is_split_after_sentences():
    text = "在2021年工作会议上的讲话\n" + " ".join(["这是一个很长的句子，用来说明没有缩进的网页文本。"] * 200)
    result = imp(text)
    assert max(len(p) for p in paragraphs(result)) <= 3000
    assert not lost_characters(text, result)


WRAPPED = """在2022年度全市经济工作会议上的讲话
（2022年1月8日）

　　同志们：今天我们召开这次会议，主要任务是深入学习贯彻上级
会议精神，总结过去一年的工作，部署今年的重点任务。过去一年，
在市委的坚强领导下，全市上下团结一心、攻坚克难，各项工作取得
了新的进展。下面，我讲三点意见。
　　一、充分认识做好今年工作的重要性
　　今年是实施十四五规划的关键一年，做好今年的工作意义重大。
我们要增强责任感和使命感，以更加饱满的精神状态投入到工作中去
，确保各项任务圆满完成。要加强统筹协调，形成工作合力
[
1
]
，推动高质量发展。
"""


def test_hard_wrapped_lines_are_joined_and_footnote_markers_rejoin_their_sentence():
    result = imp(WRAPPED)
    paras = paragraphs(result)
    assert paras[1].startswith("同志们：今天我们召开这次会议") and paras[1].endswith("下面，我讲三点意见。")
    assert "## 一、充分认识做好今年工作的重要性" in paras
    assert paras[-1].endswith("要加强统筹协调，形成工作合力，推动高质量发展。")
    assert [(n, t) for n, t, _ in result.dropped] == [(12, "["), (13, "1"), (14, "]")]
    assert not lost_characters(WRAPPED, result)


def test_text_with_one_paragraph_per_line_is_not_joined():
    lines = ["在全市工作会议上的讲话", "（2021年3月5日）"] + [
        f"第{i}段讲话内容，说明这一段的意思，字数各不相同{'很' * (i % 7)}。" for i in range(12)
    ]
    result = imp("\n".join(lines))
    assert len(paragraphs(result)) == 13


def test_number_alone_on_its_line_joins_the_next_line_no_empty_heading():
    text = (
        "在2021年工作会议上的讲话\n同志们：\n一、\n提高政治站位\n要提高站位。\n二、\n压实工作责任\n要压实责任。\n三、"
    )
    result = imp(text)
    assert "## 一、提高政治站位" in paragraphs(result) and "## 二、压实工作责任" in paragraphs(result)
    assert not re.search(r"^#+\s*(?:[一二三四五六七八九十]+、)?\s*$", body_of(result), re.M)
    assert "三、" in paragraphs(result)  # a number with nothing after it stays, as a paragraph


# --- headings --------------------------------------------------------------------------------


def test_heading_levels_follow_the_kind_of_number_everywhere():
    text = (
        "在2020年度工作会议上的讲话\n同志们：\n（一）第一部分\n内容。\n1.小点\n内容。\n2.又一点\n内容。\n"
        "一、总体要求\n（二）第二部分\n（1）细目\n（2）细目二\n"
    )
    body = body_of(imp(text))
    assert "\n## 一、总体要求\n" in body and "\n### （一）第一部分\n" in body and "\n### （二）第二部分\n" in body
    assert "\n#### 1.小点\n" in body and "\n##### （1）细目\n" in body


def test_heading_followed_by_its_first_sentence_is_split_and_keeps_its_full_stop():
    text = (
        "在2020年度工作会议上的讲话\n（一）坚持问题导向。要聚焦突出问题，逐项整改。\n（二）坚持目标导向。要明确目标。\n"
    )
    assert paragraphs(imp(text)) == [
        "### （一）坚持问题导向。",
        "要聚焦突出问题，逐项整改。",
        "### （二）坚持目标导向。",
        "要明确目标。",
    ] or paragraphs(imp(text)) == [
        "## （一）坚持问题导向。",
        "要聚焦突出问题，逐项整改。",
        "## （二）坚持目标导向。",
        "要明确目标。",
    ]


def test_one_kind_is_decided_once_for_the_whole_document():
    long_first = "（一）" + "这一段的第一句话很长，" * 6 + "所以它不像标题。后面还有话。"
    text = "\n".join(
        [
            "在2020年度工作会议上的讲话",
            "（一）加强领导。要加强。",
            "（二）" + "很长的段落，" * 30 + "。",
            "（三）完善制度。要完善。",
            long_first,
        ]
    )
    result = imp(text)
    heads = [p for p in paragraphs(result) if p.startswith("#")]
    assert heads[:2] == ["## （一）加强领导。", "## （三）完善制度。"]
    # items of the same kind that cannot be a heading stay whole paragraphs, never cut short
    assert any(p.startswith("（二）很长的段落") for p in paragraphs(result))


def test_long_numbered_paragraphs_stay_paragraphs_and_prose_steps_are_never_headings():
    items = [
        f"{i}．" + "各级党组织要认真落实责任制，切实加强组织领导，确保各项工作任务落到实处，" * 3 + "。"
        for i in range(1, 5)
    ]
    text = "\n".join(
        ["在2020年度工作会议上的讲话", *items, "首先，要建好班子。各级要建立网络。", "一是要明确职责。从督察情况看。"]
    )
    result = imp(text)
    assert not result.headings


@pytest.mark.parametrize(
    "line",
    [
        "# 不是标题",
        "> 不是引用",
        "- 不是列表",
        "* 不是列表",
        "+ 不是列表",
        "1. 不是列表",
        "---",
        "***",
        "~~~",
        "带*星号*和_下划线_的`代码`",
        "一个 <b>标签</b>",
        "反斜杠 \\ 保留",
        "[链接](http://x)",
        "&nbsp; 实体",
        "{: #id}",
        ": 定义",
    ],
)
def test_escape_renders_as_written(line):
    from html import unescape

    html = markdown.markdown(escape_markdown(line), extensions=["extra", "sane_lists"])
    assert unescape(re.sub(r"<[^>]+>", "", html)).strip() == line
    assert html.startswith("<p>")


# --- metadata --------------------------------------------------------------------------------


def test_title_over_three_lines_with_subtitle():
    text = "决胜全面建设  某某新区\n为实现高质量发展而团结奋斗\n——在某某市第十二次党代会上的报告\n\n同志们：\n\n现在，我代表市委向大会作报告。\n"
    result = imp(text, "doc001.txt")
    assert result.fields["title"] == "决胜全面建设某某新区 为实现高质量发展而团结奋斗——在某某市第十二次党代会上的报告"
    assert result.fields["meeting_type"] == "党代会"
    assert [n for n, _ in result.moved] == [1, 2, 3]


def test_name_prefix_becomes_the_speaker():
    result = imp("王强：在2021年全市安全生产工作会议上的讲话\n\n同志们：\n\n今天召开会议。\n\n二〇二一年三月五日\n")
    assert result.fields["title"] == "在2021年全市安全生产工作会议上的讲话"
    assert result.fields["speaker"] == "王强" and result.fields["date"] == PartialDate(2021, 3, 5)
    assert "二〇二一年三月五日" in paragraphs(result)  # a date line stays in the body too


@pytest.mark.parametrize(
    "first",
    [
        "各位代表：",
        "同志们：",
        "女士们，先生们，朋友们：",
        "（译自某某档案俄文稿）",
        "今天，我们在这里召开会议，总结去年的工作。",
    ],
)
def test_a_salutation_a_note_or_a_sentence_is_never_the_title(first):
    result = imp(first + "\n今天，我们在这里隆重集会。\n一、总体情况\n情况很好。\n", "新建文本文档 (3).txt")
    assert "title" not in result.fields or result.fields["title"] != first
    assert not result.fields.get("title")
    assert first in body_of(result) and not result.moved


def test_government_work_report_with_dateline_and_byline():
    text = (
        "政府工作报告\n——2024年3月5日在第十四届全国人民代表大会第二次会议上\n国务院总理　李　强\n\n各位代表：\n\n"
        "现在，我代表国务院，向大会报告政府工作。\n\n一、2023年工作回顾\n\n过去一年很不平凡。\n"
    )
    result = imp(text)
    assert result.fields["title"] == "政府工作报告"
    assert result.fields["date"] == PartialDate(2024, 3, 5)
    assert result.fields["speaker"] == "李强" and result.fields["organization"] == "国务院"
    assert result.fields["meeting_type"] == "人民代表大会会议"
    assert "——2024年3月5日在第十四届全国人民代表大会第二次会议上" in paragraphs(result)


@pytest.mark.parametrize(
    "line, date",
    [
        ("（2022年11月4日）", PartialDate(2022, 11, 4)),
        ("——2024年3月5日在市第十六届人民代表大会第二次会议上", PartialDate(2024, 3, 5)),
        ("（2023年3月13日市第十六届人民代表大会第一次会议通过）", PartialDate(2023, 3, 13)),
        ("（2023年11月16日，杭州）", PartialDate(2023, 11, 16)),
        ("二〇二三年十二月三十一日", PartialDate(2023, 12, 31)),
        ("１９５７年６月２６日", PartialDate(1957, 6, 26)),
        ("1957年6月26日在第一屆全國人民代表大會第四次會議上", PartialDate(1957, 6, 26)),
        ("王强　2023年6月2日", PartialDate(2023, 6, 2)),
    ],
)
def test_dates_in_the_head_of_the_text(line, date):
    result = imp(f"关于本市卫生工作的报告\n{line}\n各位代表：\n现在我作报告。\n", "doc007.txt")
    assert result.fields["date"] == date
    assert result.sources["date"].source == "text:2"


def test_place_of_a_date_line_is_the_location():
    result = imp("在全市工作会议上的讲话\n（2023年11月16日，杭州）\n同志们：\n今天开会。\n")
    assert result.fields["location"] == "杭州"


def test_year_from_the_title_and_the_file_name_last():
    assert imp("在2021年度全市安全生产工作会议上的讲话\n同志们：\n开会。").fields["date"] == PartialDate(2021)
    from_name = imp("在全市安全生产工作会议上的讲话\n同志们：\n开会。", "2019-05-06_讲话.txt")
    assert from_name.fields["date"] == PartialDate(2019, 5, 6) and "date" in from_name.review


def test_disagreeing_years_are_flagged():
    result = imp("在2021年度工作会议上的讲话\n（2022年1月8日）\n同志们：\n开会。", "2019_讲话.txt")
    assert result.fields["date"] == PartialDate(2022, 1, 8)
    assert any("2019" in n and "2021" in n for n in result.notes) and "date" in result.review


@pytest.mark.parametrize(
    "byline, speaker, organization",
    [
        ("市委书记　王　强", "王强", None),
        ("某某市人民政府市长　李　明", "李明", "某某市人民政府"),
        ("王强", "王强", None),
        ("省衞生廳廳長　趙文遠", "趙文遠", "省衞生廳"),
        ("市防汛抗旱指挥部总指挥　高　远", "高远", "市防汛抗旱指挥部"),
    ],
)
def test_bylines_at_the_top_or_the_bottom(byline, speaker, organization):
    top = imp(f"在全市工作会议上的讲话\n（2021年3月5日）\n{byline}\n同志们：\n今天开会，讲三点意见。\n")
    bottom = imp(f"在全市工作会议上的讲话\n（2021年3月5日）\n同志们：\n今天开会，讲三点意见。\n{byline}\n")
    for result in (top, bottom):
        assert result.fields.get("speaker") == speaker
        assert result.fields.get("organization") == organization


def test_meeting_type_prefers_the_archive_vocabulary_then_built_in_kinds():
    vocab = Vocabulary(meeting_types=("党建工作会议",))
    title = "在X局2020年度党建工作会议上的讲话\n同志们：\n开会。"
    assert imp(title, vocab=vocab).fields["meeting_type"] == "党建工作会议"
    assert imp("在全市经济工作会议上的讲话\n（2021年1月1日）\n同志们：\n开会。").fields["meeting_type"] == "工作会议"
    assert imp("在某博览会开幕式上的致辞\n（2021年1月1日）\n各位来宾：\n欢迎。").fields["meeting_type"] == "开幕式"
    other = imp("春天的故事\n（2021年1月1日）\n同志们：\n开会。")
    assert other.fields["meeting_type"] == "其他" and "meeting_type" in other.review


def test_themes_come_from_the_archive_and_its_keywords_never_from_title_fragments():
    vocab = Vocabulary(themes=("党风廉政建设", "乡村振兴"), theme_keywords=(("党风廉政建设", ("廉洁", "八项规定")),))
    text = (
        "在中国共产党第二十次全国代表大会上的报告\n（2022年10月16日）\n同志们：\n要廉洁自律，落实八项规定，保持廉洁。\n"
    )
    result = imp(text, vocab=vocab)
    assert result.fields["themes"] == ["党风廉政建设"] and "themes" not in result.review
    fresh = imp(text)
    assert fresh.fields["themes"] and "themes" in fresh.review
    assert all(t not in ("中国共产党第二十次全国", "中国共产党第二十次全国代表大会") for t in fresh.fields["themes"])


def test_given_title_never_deletes_a_line_of_the_text():
    text = "今天我们召开会议\n同志们：\n开会。\n"
    result = imp(text, given={"title": "在2021年工作会议上的讲话", "date": "2021"})
    assert result.fields["title"] == "在2021年工作会议上的讲话"
    assert "今天我们召开会议" in paragraphs(result) and not result.moved


# --- boilerplate -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, reason",
    [
        ("本文系作者原创投稿，仅供学习参考，请勿照搬照抄！", "投稿声明"),
        ("责任编辑：张三", "编辑署名"),
        ("来源：某某网", "来源说明"),
        ("（完）", "结束标记"),
        ("分享到：", "分享按钮"),
        ("本作品在全世界都属于公有领域，因为作者逝世已经超过100年。", "许可声明"),
        ("Public domain", "许可声明"),
        ("记者 赵明 摄", "图片说明"),
    ],
)
def test_boilerplate_is_dropped_and_reported(line, reason):
    text = f"在2021年工作会议上的讲话\n同志们：\n今天开会，讲几点意见。\n{line}\n"
    result = imp(text)
    assert (4, line, reason) in result.dropped and line not in body_of(result)


def test_a_sentence_mentioning_boilerplate_words_in_the_middle_is_kept():
    middle = "有的同志说，来源：群众的呼声就是我们的方向，这句话要记住，也要落实到工作中去，绝不能停留在口头上。"
    text = "在2021年工作会议上的讲话\n" + "\n".join(
        [
            "同志们：",
            "第一段。",
            "第二段。",
            "第三段。",
            "第四段。",
            "第五段。",
            "第六段。",
            middle,
            "第八段。",
            "第九段。",
            "第十段。",
            "第十一段。",
            "第十二段。",
            "第十三段。",
            "第十四段。",
        ]
    )
    assert middle in paragraphs(imp(text))


# --- nothing lost, for any text ----------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list(
        "同志们今天召开会议一二三四五六七八九十、（）()。，：；！？“”《》[]#*_`<>&-—\\ \u3000\t"
        "1234567890年月日在上的讲话报告王强李明市长书记abcXYZ\u200b\ufeff衞黨發"
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(st.text(_ALPHABET, max_size=60), max_size=25))
def test_any_text_keeps_every_character_not_reported_as_dropped(lines):
    text = "\n".join(lines)
    result = imp(text)
    assert not lost_characters(text, result)
    fm = frontmatter.split(result.markdown)  # the front matter is valid YAML we can read back
    assert set(fm.data) <= set(schema.FIELDS)
    assert not re.search(r"^#+\s*$", fm.body, re.M)


def _wrap(paragraph: str, width: int, indent: str = "\u3000\u3000") -> list[str]:
    """Wrap by character count, as many PDF copies are (digits and quotes take one character)."""
    text = indent + paragraph
    return [text[i : i + width] for i in range(0, len(text), width)]


PDF_PARAGRAPHS = [
    "这次会议的主要任务是，深入贯彻上级会议精神，总结2023年工作，安排部署2024年重点任务。刚才，“宋书记”作了重要讲话，"
    "提出了明确要求，大家要认真学习领会、抓好贯彻落实。下面，我就具体工作讲几点意见。",
    "2023年，全市经济运行呈现恢复向好、稳中有进的态势。预计地区生产总值增长6.1%，规上工业增加值增长7.8%，"
    "社会消费品零售总额增长7.5%，一般公共预算收入增长6.2%，主要指标增速在全省排名中较上年前移了两位。",
    "但也要看到，当前经济运行中还存在一些不容忽视的问题：一是需求不足，部分行业产能利用率偏低，居民消费意愿不强；"
    "二是企业经营困难，部分中小企业订单减少、利润下滑；三是部分重点项目推进缓慢，投资后劲不足。",
]


def test_pdf_copy_wrapped_by_characters_with_page_numbers_and_running_headers():
    lines = ["在全市2024年经济工作会议上的讲话", "（2024年1月5日）", "同志们："]
    body = [line for p in PDF_PARAGRAPHS for line in _wrap(p, 31)]
    body[5:5] = ["- 1 -", "临江市人民政府文件"]  # a page break in the middle of a sentence
    body[12] += "-2-"  # a page number stuck to the end of a line
    body.insert(13, "临江市人民政府文件")
    text = "\n".join(lines + body) + "\n"
    result = imp(text)
    assert paragraphs(result)[2:] == PDF_PARAGRAPHS
    reasons = [(t, r) for _, t, r in result.dropped]
    assert ("- 1 -", "页码") in reasons and ("-2-", "页码") in reasons
    assert reasons.count(("临江市人民政府文件", "页眉")) == 2
    assert not lost_characters(text, result)
