"""Search for research (#13), Python side: paragraph ids ↔ plain-text lines, occurrences and KWIC,
sort and offset, trend, speaker and organisation filters and pages, the chronological list, Chinese
errors with stable codes (CLI and /api/search), the despaced hint and the published ranking."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import speech

from site_builder import blocks
from site_builder.config import load_config
from site_builder.loader import ParseSettings, parse_bytes
from site_builder.search import analysis, passages, query, ranking
from site_builder.search.terminal import width
from site_builder.search.whoosh_index import SearchIndex

# A body with every kind of block: headings of several levels, tight, loose and nested lists, a quote
# of two paragraphs, a table, a definition list, empty paragraphs, raw HTML with loose text, a hard
# line break, entities, a code block, a footnote and a [TOC] line.
ODD_BODY = """\
同志们：

## 一、安全生产形势

安全生产是头等大事。今年安全生产形势总体平稳，<BR>
但安全生产基础仍然薄弱 &amp; 不容乐观。

- 落实安全生产责任
- 开展隐患排查
    - 安全生产大检查
    - 专项整治

1. 第一条

    抓好安全生产培训。

2. 第二条

> 安全生产责任重于泰山。
>
> 必须警钟长鸣[^1]。

| 项目 | 安全生产指标 |
|---|---|
| 事故起数 | 下降 |

术语
:   安全生产是指……

<p></p>

<div>散落的安全生产文字<b>加粗</b><p>段中段</p>尾巴</div>

### （一）抓好安全生产

    代码 安全生产

#### 1. 小标题

[TOC]

[^1]: 注释中的安全生产。
""".replace("<BR>", "  ")  # two spaces at the end of a line: a hard line break (<br>)

SPEECHES = {
    "2019/安全.md": speech(
        title="在全市安全生产工作会议上的讲话",
        date="2019-05-06",
        meeting_type="工作会议",
        themes=("安全生产",),
        speaker="王强",
        organization="市政府",
        body=ODD_BODY,
    ),
    "2020/贺词.md": speech(
        title="2020年新年贺词",
        date="2020-01-01",
        meeting_type="致辞",
        themes=("综合",),
        speaker="李明",
        organization="市委",
        body="同志们、朋友们：\n\n新年好！"
        + "过去一年，我们团结奋斗，各项事业取得新进展。" * 6
        + "安全生产形势稳定。\n\n祝大家新年快乐！\n",
    ),
    "2021/繁体.md": speech(
        title="關於安全生產的報告",
        date="2021-09",
        meeting_type="工作会议",
        themes=("安全生产",),
        speaker="王强",
        organization="市政府",
        body="## 一、安全生產\n\n加強黨建，抓好安全生產。安全生產無小事。\n",
    ),
    "2018/其他.md": speech(
        title="在全市经济工作会议上的讲话",
        date="2018-12-20",
        meeting_type="工作会议",
        themes=("经济",),
        organization="市政府",
        body="发展经济，稳中求进。\n\n从严 治党。\n",
    ),
    "2016/旧.md": speech(
        title="在全市教育工作会议上的讲话",
        date="2016",
        meeting_type="工作会议",
        themes=("教育",),
        body="教育是国之大计。\n",
    ),
}
TERM = "安全生产"
# The statistics page charts these (a term, an OR query written in 繁体, a term found nowhere, a bad query).
TREND_TERMS = [TERM, "黨建 OR 经济", "不存在的词语", '""']
TREND_CONFIG = "trend_terms = " + json.dumps(TREND_TERMS, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from conftest import Site

    s = Site(tmp_path_factory.mktemp("research") / "site")
    for rel, text in SPEECHES.items():
        s.write(rel, text)
    s.config("per_page = 2\n" + TREND_CONFIG)
    assert s.run("build", "-q") == 0
    return s


def plain_texts(site) -> dict[str, tuple[str, str, str]]:
    """source → (title, date, plain text) as the build makes them."""
    out = {}
    for rel in SPEECHES:
        parsed, _html, text = parse_bytes(rel, (site.content / rel).read_bytes(), ParseSettings(False, None, None))
        out[rel] = (parsed.meta.title, parsed.meta.date.iso(), text)
    return out


def true_occurrences(site, term: str = TERM) -> dict[str, int]:
    folded = analysis.fold(term)
    return {
        rel: sum(analysis.fold(line).count(folded) for line in text.split("\n"))
        for rel, (_t, _d, text) in plain_texts(site).items()
    }


def run_json(site, capsys, *args) -> dict:
    capsys.readouterr()
    assert site.run("search", *args, "--json") == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


# -- the contract: ids p1…pN ↔ the lines of the plain text ------------------------------------------


class BlockTexts(HTMLParser):
    """What a browser sees: the text content of every element with an id p<n> inside the speech body,
    without the ¶ links, and the table of contents' links (an independent reading of the page)."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.texts: dict[str, list[str]] = {}
        self.order: list[str] = []
        self.links: dict[str, list[str]] = {}
        self.toc: list[str] = []
        self.in_body = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("br", "img", "hr", "input", "meta", "link"):
            if tag == "br":
                self.handle_data(" ")
            return
        self.stack.append((tag, a))
        if "speech-body" in (a.get("class") or "").split():
            self.in_body = len(self.stack)
        if self.in_body and re.fullmatch(r"p\d+", a.get("id") or ""):
            self.texts[a["id"]] = []
            self.order.append(a["id"])
        if tag == "a" and "permalink" in (a.get("class") or "").split():
            owner = next(
                (x.get("id") for _t, x in reversed(self.stack[:-1]) if re.fullmatch(r"p\d+", x.get("id") or "")), None
            )
            self.links.setdefault(owner, []).append(a.get("href"))
        if tag == "a" and any("toc" in (x.get("class") or "").split() for _t, x in self.stack):
            self.toc.append(a.get("href"))

    def handle_endtag(self, tag):
        while self.stack:
            t, _a = self.stack.pop()
            if len(self.stack) < self.in_body:
                self.in_body = 0
            if t == tag:
                break

    def handle_data(self, data):
        if any(t == "a" and "permalink" in (a.get("class") or "").split() for t, a in self.stack):
            return
        for _t, a in self.stack:
            if a.get("id") in self.texts:
                self.texts[a["id"]].append(data)


def test_block_ids_equal_plain_text_lines(site):
    page = site.page("speeches/2019/安全.html")
    reader = BlockTexts()
    reader.feed(page)
    text = plain_texts(site)["2019/安全.md"][2]
    lines = text.split("\n")
    assert reader.order == [f"p{i}" for i in range(1, len(lines) + 1)], "ids are p1…pN in document order"
    seen = [" ".join("".join(reader.texts[i]).split()) for i in reader.order]
    assert seen == lines
    # Every kind of block made it, each once.
    for expected in (
        "同志们：",
        "一、安全生产形势",
        "落实安全生产责任",
        "开展隐患排查",
        "安全生产大检查",
        "第一条",
        "抓好安全生产培训。",
        "安全生产责任重于泰山。",
        "项目",
        "安全生产指标",
        "事故起数",
        "术语",
        "安全生产是指……",
        "散落的安全生产文字加粗",
        "段中段",
        "尾巴",
        "（一）抓好安全生产",
        "代码 安全生产",
        "1. 小标题",
        "[TOC]",
    ):
        assert lines.count(expected) == 1, expected
    assert "安全生产是头等大事。今年安全生产形势总体平稳， 但安全生产基础仍然薄弱 & 不容乐观。" in lines  # <br>, &amp;
    assert all(line and line == line.strip() for line in lines)
    # One ¶ link per block, to itself; ids never nest.
    assert reader.links == {i: [f"#{i}"] for i in reader.order}
    # The table of contents links to the headings' ids.
    heading_ids = re.findall(r'<h[2-4] id="(p\d+)"', page)
    assert reader.toc == [f"#{i}" for i in heading_ids] and len(heading_ids) == 3
    # The built page gives the same text back (compare reads pages this way).
    from site_builder.compare import page_text

    assert page_text(page)[1] == text


def test_numbering_is_idempotent_and_keeps_our_markup_out_of_the_text():
    from site_builder.markup import Renderer

    rendered = Renderer().render(ODD_BODY)
    again = blocks.number_blocks(rendered.html)
    assert again.html == rendered.html and "\n".join(again.lines) == rendered.text
    hostile = blocks.number_blocks('<p id="p9">甲<a class="permalink" href="#x">¶</a></p><span id="p1">乙</span>')
    assert hostile.lines == ["甲", "乙"] and hostile.html.count('id="p1"') == 1 and 'href="#x"' not in hostile.html


# -- occurrences and KWIC ---------------------------------------------------------------------------


def test_kwic_json_lists_every_occurrence(site, capsys):
    data = run_json(site, capsys, TERM, "--kwic")
    truth = true_occurrences(site)
    assert set(data) >= {"query", "total", "occurrences_total", "occurrences", "trend"}
    assert data["occurrences_total"] == sum(truth.values()) == len(data["occurrences"])
    assert data["total"] == sum(1 for n in truth.values() if n) + 0  # every hit has an occurrence here
    texts = plain_texts(site)
    per_source: dict[str, int] = {}
    for occ in data["occurrences"]:
        assert set(occ) == {"source", "url", "title", "date", "left", "match", "right"}
        per_source[occ["source"]] = per_source.get(occ["source"], 0) + 1
        m = re.fullmatch(r"(speeches/\d{4}/.+\.html)#p(\d+)", occ["url"])
        assert m, occ["url"]
        line = texts[occ["source"]][2].split("\n")[int(m.group(2)) - 1]
        assert analysis.fold(occ["match"]) == TERM
        assert occ["left"] + occ["match"] + occ["right"] in line
        assert len(occ["left"]) <= passages.CONTEXT and len(occ["right"]) <= passages.CONTEXT
    assert per_source == {k: v for k, v in truth.items() if v}
    assert "安全生產" in {o["match"] for o in data["occurrences"]}  # shown as written


def test_hits_carry_their_occurrences(site, capsys):
    data = run_json(site, capsys, TERM, "--limit", "100")
    truth = true_occurrences(site)
    assert {h["source"]: h["occurrences"] for h in data["hits"]} == {k: v for k, v in truth.items() if v}
    assert data["occurrences_total"] == sum(truth.values())
    capsys.readouterr()
    assert site.run("search", TERM) == 0
    out = capsys.readouterr().out
    assert f"{truth['2019/安全.md']} 处" in out and f"共 {sum(truth.values())} 处" in out


def test_kwic_terminal_columns_line_up(site, capsys):
    capsys.readouterr()
    assert site.run("search", TERM, "--kwic") == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"\d{4}", line)]
    occurrences = run_json(site, capsys, TERM, "--kwic")["occurrences"]
    assert len(rows) == len(occurrences) == sum(true_occurrences(site).values())
    starts = set()
    for row, occ in zip(rows, occurrences):
        tail = (occ["match"] + " " + occ["right"][:4]).rstrip()
        i = row.rfind(tail)
        assert i > 0 and row.startswith(occ["date"]), (row, occ)
        starts.add(width(row[:i]))
    assert len(starts) == 1, rows  # every match starts in the same column (wide characters count two)


def test_kwic_csv(site, capsys):
    capsys.readouterr()
    assert site.run("search", TERM, "--kwic", "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert list(rows[0]) == ["source", "url", "title", "date", "left", "match", "right"]
    assert len(rows) == sum(true_occurrences(site).values())


def test_occurrences_are_leftmost_longest_and_never_span_blocks():
    assert passages.count_in_lines(["党建党建工作", "党建"], ["党建工作", "党建"]) == 3
    assert passages.count_in_lines(["哈哈哈"], ["哈哈"]) == 1
    assert passages.count_in_lines(["从严", "治党"], ["从严 治党"]) == 0
    assert passages.may_overlap(["党建", "建设"]) and not passages.may_overlap(["党建", "廉政"])
    rows = passages.kwic_rows("甲\n前文黨建工作后文", ["党建"], context=2)
    assert rows == [(1, "前文", "黨建", "工作")]


# -- sort, offset, trend -------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_sort_and_offset_pages_join_up(site, capsys, sort):
    full = run_json(site, capsys, TERM, "--sort", sort, "--limit", "100")
    dates = [h["date"] for h in full["hits"]]
    if sort != "relevance":
        assert dates == sorted(dates, reverse=sort == "newest")
    pages = []
    for offset in range(0, full["total"], 2):
        pages += run_json(site, capsys, TERM, "--sort", sort, "--limit", "2", "--offset", str(offset))["hits"]
    assert [h["source"] for h in pages] == [h["source"] for h in full["hits"]]
    kwic = run_json(site, capsys, TERM, "--kwic", "--sort", sort)["occurrences"]
    joined = []
    for offset in range(0, len(kwic), 3):
        joined += run_json(site, capsys, TERM, "--kwic", "--sort", sort, "--limit", "3", "--offset", str(offset))[
            "occurrences"
        ]
    assert joined == kwic
    order = list(dict.fromkeys(o["source"] for o in kwic))
    assert order == [h["source"] for h in full["hits"] if h["occurrences"]]


def test_trend_has_every_year_and_adds_up(site, capsys):
    data = run_json(site, capsys, TERM)
    years = [r["year"] for r in data["trend"]]
    assert years == [2016, 2018, 2019, 2020, 2021]  # the archive's years, zeros included
    assert sum(r["speeches"] for r in data["trend"]) == data["total"]
    assert sum(r["occurrences"] for r in data["trend"]) == data["occurrences_total"]
    row = {r["year"]: r for r in data["trend"]}
    chars = len(analysis.fold(plain_texts(site)["2019/安全.md"][2]))
    assert row[2019]["per_10k_chars"] == round(row[2019]["occurrences"] * 10000 / chars, 2)
    assert row[2016] == {"year": 2016, "speeches": 0, "occurrences": 0, "per_10k_chars": 0.0}
    ranged = run_json(site, capsys, TERM, "--year", "2019-2020")
    assert [r["year"] for r in ranged["trend"]] == [2019, 2020]
    capsys.readouterr()
    assert site.run("search", TERM, "--trend") == 0
    out = capsys.readouterr().out
    assert re.search(r"年份\s+篇数\s+次数\s+每万字", out) and re.search(r"^2016\s+0\s+0\s+0\.00$", out, re.M)


class StatsTrends(HTMLParser):
    """The statistics page's trends as a reader sees them: per term, its table rows, the year columns'
    titles in the SVG, and its note."""

    def __init__(self):
        super().__init__()
        self.terms: dict[str, dict] = {}
        self.term: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.title: list[str] | None = None
        self.note: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "data-trend-term" in a:
            self.term = a["data-trend-term"]
            self.terms[self.term] = {"attrs": a, "rows": [], "titles": [], "note": None, "svg": 0}
        elif self.term is None:
            return
        elif tag == "tr" and "data-trend-year" in a:
            self.row = []
        elif tag in ("th", "td") and self.row is not None:
            self.cell = []
        elif tag == "title":
            self.title = []
        elif tag == "svg":
            self.terms[self.term]["svg"] += 1
        elif tag == "p" and "data-trend-note" in a:
            self.note = []

    def handle_endtag(self, tag):
        if self.term is None:
            return
        t = self.terms[self.term]
        if tag in ("th", "td") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            t["rows"].append(self.row)
            self.row = None
        elif tag == "title" and self.title is not None:
            t["titles"].append("".join(self.title))
            self.title = None
        elif tag == "p" and self.note is not None:
            t["note"] = "".join(self.note)
            self.note = None
        elif tag == "figure":
            self.term = None

    def handle_data(self, data):
        for part in (self.cell, self.title, self.note):
            if part is not None:
                part.append(data)


def stats_trends(site) -> dict[str, dict]:
    reader = StatsTrends()
    reader.feed(site.page("stats/index.html"))
    return reader.terms


def test_stats_page_charts_the_configured_trends_as_the_cli_answers(site, capsys):
    trends = stats_trends(site)
    assert list(trends) == TREND_TERMS  # in the configuration's order
    for term in TREND_TERMS[:2]:
        data = run_json(site, capsys, term, "--trend")
        shown = trends[term]
        assert shown["note"] is None and shown["svg"] == 1
        assert shown["attrs"]["data-trend-speeches"] == str(data["total"]) and data["total"] > 0
        assert shown["attrs"]["data-trend-occurrences"] == str(data["occurrences_total"])
        want = [
            [str(r["year"]), str(r["speeches"]), str(r["occurrences"]), f"{r['per_10k_chars']:.2f}"]
            for r in data["trend"]
        ]
        assert shown["rows"] == want
        # the chart: a column per year of the range (the archive has 2016, 2018–2021), each titled with its numbers
        by_year = {r["year"]: r for r in data["trend"]}
        sentences = [
            f"{y}年：{by_year[y]['speeches']} 篇，{by_year[y]['occurrences']} 处，每万字 {by_year[y]['per_10k_chars']:.2f} 处"
            if y in by_year
            else f"{y}年：0 篇，0 处，每万字 0.00 处"
            for y in range(2016, 2022)
        ]
        assert shown["titles"][1:] == sentences, shown["titles"]
        assert shown["titles"][0].startswith(f"“{term}”逐年趋势：2016–2021年，共 {data['total']} 篇")


def test_stats_page_notes_terms_without_a_trend_in_chinese(site):
    trends = stats_trends(site)
    nothing, bad = trends["不存在的词语"], trends['""']
    assert (
        nothing["svg"] == 0
        and nothing["rows"] == []
        and nothing["note"] == "没有讲话包含“不存在的词语”（0 篇），没有趋势可画。"
    )
    assert bad["svg"] == 0 and bad["note"].startswith('“""”不是有效的检索词：引号里没有内容')


def test_trends_are_searched_only_when_the_index_changes(make_site):
    from site_builder.search import trends as trendsmod

    s = make_site({"2020/a.md": speech(body="全面从严治党，全面从严治党。\n")})
    assert s.run("build", "-q") == 0
    state = load_config(s.root)[0].state_dir
    assert not (state / trendsmod.CACHE_FILE).exists()  # no trend_terms: no trends computed, nothing stored
    assert "data-trend-term" not in s.page("stats/index.html")
    s.config('trend_terms = ["全面从严治党"]\n')
    assert s.run("build", "-q") == 0
    first = (state / trendsmod.CACHE_FILE).read_bytes()
    assert 'data-trend-occurrences="2"' in s.page("stats/index.html")
    s.config('trend_terms = ["全面从严治党"]\ntitle = "另一个标题"\n')  # the index is unchanged: reused
    calls = []
    real = trendsmod._entry
    trendsmod._entry = lambda index, term: calls.append(term) or real(index, term)
    try:
        assert s.run("build", "-q") == 0
        assert calls == [] and (state / trendsmod.CACHE_FILE).read_bytes() == first
        s.write("2021/b.md", speech(date="2021-02-01", body="全面从严治党。\n"))  # the index changed: searched again
        assert s.run("build", "-q") == 0
        assert calls == ["全面从严治党"]
    finally:
        trendsmod._entry = real
    assert 'data-trend-occurrences="3"' in s.page("stats/index.html")


@pytest.mark.browser
@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(),
    reason="headless Chromium not installed at /usr/bin/chromium (apt-get install chromium)",
)
def test_stats_trend_chart_reads_on_a_phone_and_in_print(site):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.goto((site.output / "stats" / "index.html").as_uri())
            chart = page.locator('figure[data-trend-term="安全生产"] svg.trend-chart')
            box = chart.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["height"] >= 100, box
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
            label = chart.locator("text.trend-label").first.bounding_box()
            assert label is not None and label["height"] >= 9, label  # the years' labels stay legible
            caption = page.locator('figure[data-trend-term="安全生产"] .trend-caption').inner_text()
            assert caption.startswith("篇数（柱，左轴）与处数（线，右轴），2016–2021年")
            note = page.locator('figure[data-trend-term="不存在的词语"] [data-trend-note]')
            assert note.is_visible()
            page.emulate_media(media="print")
            box = chart.bounding_box()
            assert box is not None and box["height"] >= 100
            line = chart.locator("polyline.trend-line")
            assert line.evaluate("e => getComputedStyle(e).stroke") == "rgb(0, 0, 0)"  # black on paper
        finally:
            browser.close()


@pytest.mark.parametrize("value", ['"全面从严治党"', "[1, 2]", '["全面从严治党", ""]', "{a = 1}"])
def test_trend_terms_must_be_a_list_of_strings(make_site, capsys, value):
    s = make_site({"2020/a.md": speech()})
    s.config(f"trend_terms = {value}\n")
    capsys.readouterr()
    assert s.run("build", "-q") == 2
    err = capsys.readouterr().err
    assert "trend_terms" in err and "a list of non-empty strings" in err and "Traceback" not in err


# -- filters, facets, pages ----------------------------------------------------------------------------


def test_speaker_and_organization_filters_and_facets(site, capsys):
    data = run_json(site, capsys, TERM)
    assert data["facets"]["speaker"] == {"王强": 2, "李明": 1}
    assert data["facets"]["organization"] == {"市政府": 2, "市委": 1}
    by = run_json(site, capsys, TERM, "--speaker", "王强")
    assert {h["source"] for h in by["hits"]} == {"2019/安全.md", "2021/繁体.md"}
    assert by["total"] == 2 and by["facets"]["speaker"] == {"王强": 2}
    org = run_json(site, capsys, TERM, "--organization", "市委")
    assert [h["source"] for h in org["hits"]] == ["2020/贺词.md"] and org["hits"][0]["speaker"] == "李明"


def test_speaker_pages_and_the_chronological_list(site):
    index = site.page("speakers/index.html")
    assert "按讲话人浏览" in index and "王强" in index and "李明" in index
    wang = site.page("speakers/王强/index.html")
    assert "在全市安全生产工作会议上的讲话" in wang and "關於安全生產的報告" in wang
    home = site.page("index.html")
    assert 'href="all/index.html"' in home and "按讲话人" in home
    first = site.page("all/index.html")
    assert "共 5 篇讲话" in first and 'href="page-1.html"' in first
    assert not (site.output / "all" / "page-2.html").exists()
    titles = []
    for rel in ("all/index.html", "all/page-1.html"):  # (the newest page, then the oldest: listings.py)
        titles += re.findall(r'class="speech-title" href="[^"]*">([^<]+)<', site.page(rel))
    dates = [plain_texts(site)[rel][1] for rel in sorted(SPEECHES, key=lambda r: plain_texts(site)[r][1], reverse=True)]
    assert len(titles) == 5 and len(dates) == 5
    assert titles[0] == "關於安全生產的報告" and titles[-1] == "在全市教育工作会议上的讲话"


def test_no_speaker_pages_without_speakers(make_site):
    s = make_site({"2020/a.md": speech()})
    assert s.run("build", "-q") == 0
    assert not (s.output / "speakers").exists()
    assert "按讲话人" not in s.page("index.html") and (s.output / "all" / "index.html").is_file()


# -- messages, errors, the despaced hint ------------------------------------------------------------------


def test_query_errors_are_chinese_with_codes():
    cases = {
        '"党建': "unclosed_quote",
        "-": "dangling_minus",
        "党建 OR": "or_operand",
        "-腐败": "only_excluded",
        "": "empty",
        '""': "empty_phrase",
        "x " * 33: "too_many_terms",
        "x" * 501: "too_long",
        "党建 -廉政 OR 反腐": "or_excluded",
    }
    for q, code in cases.items():
        with pytest.raises(query.QueryError) as err:
            query.parse(q)
        assert err.value.code == code and re.search(r"[\u4e00-\u9fff]", err.value.message), q
    with pytest.raises(query.FilterError) as err:
        query.parse_year("2020-2018")
    assert err.value.code == "bad_year" and "2018-2020" in err.value.message
    assert query.parse_year("２０１８至２０２０") == (2018, 2020)


def test_despaced_hint(site, capsys):
    data = run_json(site, capsys, '"安全 生产"')
    assert data["total"] == 0
    n = run_json(site, capsys, "安全生产")["total"]
    assert data["suggestion"] == {"query": "安全生产", "total": n, "message": f"去掉空格后找到 {n} 篇"}
    capsys.readouterr()
    assert site.run("search", '"安全 生产"') == 0
    out = capsys.readouterr().out
    assert "没有找到" in out and f"去掉空格后找到 {n} 篇" in out
    assert "suggestion" not in run_json(site, capsys, "没有这个词")


def test_cli_errors_in_chinese(site, capsys):
    capsys.readouterr()
    assert site.run("search", '"党建') == 2
    assert "引号没有配对" in capsys.readouterr().err
    assert site.run("search", "党建", "--year", "2020-2018") == 2
    assert "前大后小" in capsys.readouterr().err


@pytest.fixture(scope="module")
def app(site):
    from site_builder import serve as servermod

    config, _ = load_config(site.root)
    s = servermod.Site(config, log=lambda m: None)
    yield servermod.App(s)
    s.pool.close()


def api(app, target: str) -> tuple[int, dict]:
    from site_builder import serve as servermod

    response = app.handle(servermod.Request("GET", target))
    return response.status, json.loads(response.body)


def test_api_takes_sort_offset_kwic_limit_and_filters(app, site):
    from urllib.parse import quote

    status, data = api(app, f"/api/search?q={quote(TERM)}&kwic=1&sort=oldest&limit=2&offset=1&speaker={quote('王强')}")
    assert status == 200
    with SearchIndex(load_config(site.root)[0].state_dir / "whoosh") as index:
        expected = index.search(TERM, kwic=True, sort="oldest", limit=2, offset=1, speaker="王强")
    assert data == json.loads(json.dumps(expected, ensure_ascii=False))
    assert len(data["occurrences"]) == 2 and data["occurrences"][0]["url"].endswith(
        tuple(f"#p{i}" for i in range(1, 99))
    )
    status, data = api(app, f"/api/search?q={quote(TERM)}&sort=newest&offset=1&limit=1")
    assert status == 200 and data["offset"] == 1 and len(data["hits"]) == 1 and "trend" in data


@pytest.mark.parametrize(
    "qs, code",
    [
        ("", "missing_query"),
        ("q=", "empty"),
        ("q=%22x", "unclosed_quote"),
        ("q=-x", "only_excluded"),
        ("q=x&year=2020-2018", "bad_year"),
        ("q=x&year=abc", "bad_year"),
        ("q=x&sort=date", "bad_sort"),
        ("q=x&kwic=yes", "bad_parameter"),
        ("q=x&limit=0", "bad_parameter"),
        ("q=x&q=y", "repeated_parameter"),
    ],
)
def test_api_errors_have_a_code_and_a_chinese_message(app, qs, code):
    status, data = api(app, "/api/search?" + qs)
    assert status == 400
    assert set(data) == {"error"} and data["error"]["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", data["error"]["message"])


def test_api_unknown_path_is_a_coded_404(app):
    status, data = api(app, "/api/nothing")
    assert status == 404 and data["error"]["code"] == "no_such_api"


# -- ranking ------------------------------------------------------------------------------------------


def test_index_ranks_by_the_published_formula(site):
    docs = []
    for rel in SPEECHES:
        path = site.content / rel
        parsed, html, text = parse_bytes(rel, path.read_bytes(), ParseSettings(False, None, None))
        docs.append(ranking.Doc(rel, parsed.meta.title, parsed.meta.date.iso(), text, blocks.heading_lines(html)))
    with SearchIndex(load_config(site.root)[0].state_dir / "whoosh") as index:
        for q in (TERM, "安全", "党建 OR 安全生产", "新年", '"从严 治党"', "治党"):
            for sort in ranking.SORTS:
                got = [
                    (h["source"], h["score"], h["occurrences"]) for h in index.search(q, limit=100, sort=sort)["hits"]
                ]
                want = [(d, round(s, 4), o) for d, s, o in ranking.reference(docs, q, sort)]
                assert got == want, (q, sort)


def test_a_passing_mention_in_a_short_speech_does_not_beat_a_speech_about_the_term(tmp_path):
    report = "\n".join(f"第{i}段：推进各项工作，落实责任，抓好落实，确保各项任务完成。" * 3 for i in range(40))
    docs = [
        ranking.Doc("greeting.md", "新年贺词", "2024-01-01", "新年好！" * 50 + "祝愿乡村振兴取得新成效。"),
        ranking.Doc(
            "report.md",
            "政府工作报告",
            "2023-02-01",
            "一、乡村振兴\n" + report + "\n推进乡村振兴，加快农业现代化。\n" + report,
            headings=(0,),
        ),
    ]
    docs += [ranking.Doc(f"x{i}.md", "其他", "2020", report) for i in range(5)]
    assert [d for d, _s, _o in ranking.reference(docs, "乡村振兴")] == ["report.md", "greeting.md"]
    assert ranking.score_v1(docs, "乡村振兴")[0] == "greeting.md"  # what version 1 did


def test_each_search_opens_the_index_of_the_last_build_from_its_summary(make_site, capsys):
    """`update` writes what opening the index needs once per generation (#15, `gt_summary_<n>.marshal`):
    the next `search` answers from the build's speeches, and a damaged summary is computed again."""
    s = make_site(
        {
            "2020/a.md": speech(body="全面从严治党，如履薄冰。\n"),
            "2021/b.md": speech(date="2021-02-01", body="如履薄冰。\n"),
        }
    )
    assert s.run("build", "-q") == 0
    whoosh = load_config(s.root)[0].state_dir / "whoosh"
    first = [p.name for p in whoosh.glob("gt_summary_*")]
    assert len(first) == 1
    assert {h["source"] for h in run_json(s, capsys, "如履薄冰")["hits"]} == {"2020/a.md", "2021/b.md"}
    s.write("2021/b.md", speech(date="2021-02-01", body="恪尽职守。\n"))
    s.write("2022/c.md", speech(date="2022-03-04", body="如履薄冰，如履薄冰。\n"))
    assert s.run("build", "-q") == 0
    (summary,) = whoosh.glob("gt_summary_*")
    assert [summary.name] != first
    answer = run_json(s, capsys, "如履薄冰")
    assert {h["source"]: h["occurrences"] for h in answer["hits"]} == {"2020/a.md": 1, "2022/c.md": 2}
    summary.write_bytes(b"damaged")
    assert run_json(s, capsys, "如履薄冰") == answer
    assert summary.read_bytes()[:8] == b"SBSUMM2\n"
