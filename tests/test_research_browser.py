"""Search for research, in the browser (issue #13): the static search page and the speech pages
give the CLI's answers — the same first page in the same order (one ranking), the same counts of
occurrences, the same concordance (``?view=kwic``) and trend, ``sort`` and ``offset`` — and a
result opens its speech at the first match with every match marked (static/passage.js).

A site is built from a fixture archive (the generated corpus of bench/gen_corpus.py, 40 speeches,
and hand-written speeches for the edge cases: traditional characters, zero-width marks, 层层层,
a term only in a title or a heading, a phrase across two paragraphs, lists, tables and line
breaks); the CLI's answers come from ``SearchIndex.search`` (what ``site-builder search --json``
prints; one test runs the command itself). Headless Chromium (Debian's /usr/bin/chromium, never
Playwright's download) opens the pages from file:// and over HTTP under a CSP that allows only the
site's own scripts; any page error, console error or failed request fails the test.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

import pytest
from conftest import Site, speech

from site_builder.search import analysis, query

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "tests" / "fixtures" / "import" / "seeds"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium (apt-get install chromium)"
    ),
]

# -- the archive -------------------------------------------------------------------------------

HAND = {
    # A report about 党建: the term in a heading and a few times in long paragraphs.
    "hand/report.md": speech(
        title="在全市机关工作会议上的报告",
        date="2020-03-05",
        meeting_type="工作会议",
        themes=("党的建设",),
        body="同志们：\n\n## 一、抓好党建工作\n\n"
        + "过去一年，各项工作稳步推进，成绩来之不易。" * 30
        + "党建工作取得新进展。\n\n"
        + "要坚持问题导向，抓好落实。" * 40
        + "以党建引领发展。\n\n"
        + "- 完善党建制度；\n- 健全考核机制。\n\n| 项目 | 党建 |\n| --- | --- |\n| 调研 | 12 |\n",
    ),
    # A short greeting with one passing mention: it must not beat the report.
    "hand/greeting.md": speech(
        title="新春致辞",
        date="2021-01-01",
        meeting_type="座谈会",
        themes=("作风建设",),
        body="同志们：\n\n新年好！党建很重要。\n",
    ),
    # Traditional characters in the title and the text; a zero-width space inside 如履薄冰.
    "hand/trad.md": speech(
        title="在黨風廉政建設會議上的講話",
        date="2019-12",
        meeting_type="工作会议",
        themes=("党风廉政建设",),
        body="各位同志：\n\n加強黨建，推進廉政建設。\n\n我們要如\u200b履薄冰，抓好黨建。\n",
    ),
    # 层层层层: two non-overlapping 层层, then one more.
    "hand/layers.md": speech(
        title="在安全生产会议上的讲话",
        date="2018-06-01",
        meeting_type="工作会议",
        themes=("安全生产",),
        body="同志们：\n\n要层层层层压实责任，层层落实。\n",
    ),
    # A phrase across two paragraphs: a hit for "从严 治党" (the search text joins lines with a
    # space) with no occurrence in a paragraph; and the same date as the report (ties).
    "hand/split.md": speech(
        title="在专题会上的讲话",
        date="2020-03-05",
        meeting_type="专题会",
        themes=("作风建设",),
        body="同志们：\n\n坚持从严\n\n治党永远在路上。\n",
    ),
    # The term only in the title.
    "hand/title-only.md": speech(
        title="关于全面从严治党的说明",
        date="2017",
        meeting_type="专题会",
        themes=("党的建设",),
        body="同志们：\n\n这是一份说明。\n",
    ),
    # A hard line break inside a paragraph (a space in the text), a quote and a nested list.
    "hand/breaks.md": speech(
        title="在青年干部座谈会上的讲话",
        date="2016-05-04",
        meeting_type="座谈会",
        themes=("队伍建设",),
        speaker="王强",
        organization="X局",
        body="同志们：\n\n第一行  \n第二行讲如履薄冰。\n\n> 干部要如履薄冰，恪尽职守。\n\n"
        "- 第一条\n    - 第二条如履薄冰\n",
    ),
}

QUERIES = [
    "党建",
    "黨建",
    "如履薄冰",
    "层层",
    "党建 廉政",
    '"从严 治党"',
    "从严治党",
    "作风建设",
    "全面从严治党",
    "安全生产 责任",
    "乡村振兴 OR 脱贫攻坚",
    "干部 -形式主义",
    "权",
    "建设",
    "基层治理",
    "党风廉政建设",
    "形式主义 官僚主义",
    "党建 党建工作",
    "全面从严治党 从严治党",
    "党 党建",
    "工作 作风建设 建设",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    root = tmp_path_factory.mktemp("research")
    s = Site(root)
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "gen_corpus.py"),
            "--n",
            "40",
            "--seed",
            "3",
            "--jobs",
            "1",
            "--seeds-dir",
            str(SEEDS),
            "--out",
            str(s.content / "gen"),
        ],
        check=True,
        capture_output=True,
    )
    for rel, text in HAND.items():
        s.write(rel, text)
    s.config('title = "讲话稿档案（研究）"\n')
    assert s.run("build", "-q") == 0
    return s


@pytest.fixture(scope="module")
def index(site):
    from site_builder.search.whoosh_index import SearchIndex

    (whoosh,) = site.root.glob(".site_builder_cache/*/whoosh")
    idx = SearchIndex(whoosh)
    yield idx
    idx.close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'self'")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_base(site):
    handler = functools.partial(_Handler, directory=str(site.output))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _watch(pg):
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
    # (A failed request is reported with its address below; the console's copy has none.)
    pg.on(
        "console",
        lambda m: (
            pg.problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    pg.on(
        "response",
        lambda r: (
            pg.problems.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("favicon.ico") else None
        ),
    )
    return pg


@pytest.fixture
def page(browser):
    ctx = browser.new_context(locale="zh-CN")
    pg = _watch(ctx.new_page())
    yield pg
    ctx.close()
    assert not pg.problems, pg.problems


@pytest.fixture
def phone(browser):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    pg = _watch(ctx.new_page())
    yield pg
    ctx.close()
    assert not pg.problems, pg.problems


def base_of(site, http_base, mode: str) -> str:
    return http_base if mode == "http" else site.output.as_uri() + "/"


def search_url(base: str, q: str, **params) -> str:
    return base + "search/index.html?" + urlencode({"q": q, **{k: v for k, v in params.items() if v not in (None, "")}})


def open_search(page, url: str) -> str:
    page.goto(url)
    page.wait_for_selector("#search-app[data-search-state=done], #search-app[data-search-state=error]")
    return page.get_attribute("#search-app", "data-search-state")


def page_path(href: str) -> str:
    """A result's link → the speech's page path as the CLI's ``url`` gives it (no query, no hash)."""
    return unquote(href.split("?")[0].split("#")[0]).removeprefix("../")


def shown_hits(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('[data-search-result]')].map(li => ({
        href: li.querySelector('h2 a').getAttribute('href'),
        occurrences: +li.querySelector('[data-occurrences]').dataset.occurrences}))""")


def load_all(page, selector: str) -> None:
    while page.is_visible(".search-more"):
        n = page.locator(selector).count()
        page.click(".search-more")
        page.locator(selector).nth(n).wait_for()


# -- one ranking: the first page equals the CLI's ---------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_first_page_equals_the_cli(site, index, http_base, page, sort):
    checked = 0
    for q in QUERIES:
        cli = index.search(q, limit=10, sort=sort)
        assert open_search(page, search_url(http_base, q, sort=sort if sort != "relevance" else "")) == "done", q
        hits = shown_hits(page)
        assert [page_path(h["href"]) for h in hits] == [h["url"] for h in cli["hits"]], (q, sort)
        assert [h["occurrences"] for h in hits] == [h["occurrences"] for h in cli["hits"]], (q, sort)
        assert int(page.text_content("[data-search-total]")) == cli["total"], q
        assert int(page.text_content("[data-search-occurrences]")) == cli["occurrences_total"], q
        checked += len(cli["hits"]) >= 5
    assert checked >= len(QUERIES) // 2  # the queries really find something


def test_the_cli_command_itself(site, http_base, page):
    """The same check against `site-builder search --json --limit 10` run as a command."""
    for q in ["党建", "如履薄冰 OR 层层"]:
        out = subprocess.run(
            [str(REPO / ".venv" / "bin" / "site-builder"), "search", q, "--json", "--limit", "10"],
            cwd=site.root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cli = json.loads(out)
        open_search(page, search_url(http_base, q))
        assert [page_path(h["href"]) for h in shown_hits(page)] == [h["url"] for h in cli["hits"]], q


def test_ranking_weighs_headings_and_not_a_passing_mention(site, index, http_base, page):
    open_search(page, search_url(http_base, "党建"))
    order = [page_path(h["href"]) for h in shown_hits(page)]
    report, greeting = "speeches/2020/report.html", "speeches/2021/greeting.html"
    assert report in order
    assert greeting not in order or order.index(report) < order.index(greeting)


@pytest.mark.parametrize(
    "q",
    [
        "党建 廉政",
        # Terms of three or more characters: n(t) from d/ (format 6), pairs in one doc left out of it.
        "全面从严治党 从严治党",
        "工作 作风建设 建设",
        "成绩来之不易 党建",
        "如履薄冰 OR 层层",
    ],
)
def test_the_browsers_scores_are_the_cli_s(site, index, http_base, page, q):
    open_search(page, search_url(http_base, "党建"))
    got = page.evaluate("q => window.siteSearch.answer(q, {})", q)
    cli = index.search(q, limit=1000)
    assert cli["hits"], q
    assert [round(s, 4) for s in got["scores"]] == [h["score"] for h in cli["hits"]], q
    assert got["occurrences_total"] == cli["occurrences_total"]


def test_a_long_term_reads_no_char_or_pair_bucket(site, http_base, browser):
    """Format 6: a term of three or more characters reads its trigrams (p/, pn/) and its pairs'
    numbers of docs (d/), no char-and-pair bucket (k/, kn/)."""
    ctx = browser.new_context()
    pg = ctx.new_page()
    urls: list[str] = []
    pg.on("request", lambda r: urls.append(r.url))
    assert open_search(pg, search_url(http_base, "全面从严治党")) == "done"
    ctx.close()
    folders = {u.split("/search/")[1].split("/")[0] for u in urls if "/search/" in u and u.count("/search/") == 1}
    assert {"p", "d"} <= folders, folders
    assert not folders & {"k", "kn"}, folders


@pytest.mark.parametrize("mode", ["http", "file"])
def test_offset_and_more_results_page_like_the_cli(site, index, http_base, page, mode):
    base = base_of(site, http_base, mode)
    for q, sort in [("建设", "relevance"), ("党建", "newest"), ("干部", "oldest")]:
        cli = index.search(q, limit=30, offset=10, sort=sort)
        open_search(page, search_url(base, q, sort=sort if sort != "relevance" else "", offset=10))
        page.click(".search-more")
        page.locator("[data-search-result]").nth(10).wait_for()
        shown = [page_path(h["href"]) for h in shown_hits(page)]
        assert shown[:20] == [h["url"] for h in cli["hits"]][:20], (q, sort)
        # The pages join up: offset 0 and offset 10 make the first 20 of the whole list.
        first = index.search(q, limit=10, sort=sort)["hits"]
        assert [h["url"] for h in first] + shown[:10] == [
            h["url"] for h in index.search(q, limit=20, sort=sort)["hits"]
        ]


# -- trend --------------------------------------------------------------------------------------


def test_trend_equals_the_cli_and_adds_up(site, index, http_base, page):
    for q, filters in [
        ("党建", {}),
        ("如履薄冰", {}),
        ("建设", {"year": "2000-2015"}),
        ("干部", {"meeting_type": "工作会议"}),
    ]:
        cli = index.search(q, limit=1, **filters)
        open_search(page, search_url(http_base, q, **filters))
        got = page.evaluate("""() => [...document.querySelectorAll('[data-trend] tr[data-trend-year]')].map(tr =>
            [...tr.children].map(c => c.textContent))""")
        assert [[int(y), int(s), int(o), float(p)] for y, s, o, p in got] == [
            [t["year"], t["speeches"], t["occurrences"], t["per_10k_chars"]] for t in cli["trend"]
        ], q
        fig = page.locator("[data-trend]")
        assert int(fig.get_attribute("data-trend-speeches")) == cli["total"]
        assert int(fig.get_attribute("data-trend-occurrences")) == cli["occurrences_total"]
        assert page.locator("[data-trend] svg .trend-bar").count() == sum(1 for t in cli["trend"] if t["speeches"])
        answer = page.evaluate("([q, f]) => window.siteSearch.answer(q, f)", [q, filters])
        assert answer["trend"] == cli["trend"], q


# -- KWIC -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["http", "file"])
def test_kwic_view_lists_every_occurrence_like_the_cli(site, index, http_base, page, mode):
    base = base_of(site, http_base, mode)
    for q, sort in [
        ("如履薄冰", "relevance"),
        ("层层", "oldest"),
        ("党建 廉政", "newest"),
        ('"从严 治党"', "relevance"),
    ]:
        cli = index.search(q, kwic=True, limit=100000, sort=sort)
        open_search(page, search_url(base, q, view="kwic", sort=sort if sort != "relevance" else ""))
        load_all(page, "[data-kwic-row]")
        rows = page.evaluate("""() => [...document.querySelectorAll('[data-kwic-row]')].map(tr => ({
            href: tr.querySelector('a').getAttribute('href'),
            left: tr.querySelector('.kwic-left').textContent, match: tr.querySelector('.kwic-match').textContent,
            right: tr.querySelector('.kwic-right').textContent, title: tr.querySelector('.kwic-title').textContent}))""")
        assert len(rows) == cli["occurrences_total"] == len(cli["occurrences"]), q
        for row, want in zip(rows, cli["occurrences"]):
            path, _, frag = row["href"].partition("#")
            assert page_path(path) + "#" + frag == want["url"], q
            assert "?q=" in row["href"]
            assert (row["left"], row["match"], row["right"], row["title"]) == (
                want["left"],
                want["match"],
                want["right"],
                want["title"],
            ), q


def test_kwic_offset_counts_occurrences_like_the_cli(site, index, http_base, page):
    for q, offset in [("党建", 7), ("如履薄冰", 3), ("党建", 55)]:
        cli = index.search(q, kwic=True, limit=50, offset=offset)
        open_search(page, search_url(http_base, q, view="kwic", offset=offset))
        rows = page.evaluate("""() => [...document.querySelectorAll('[data-kwic-row]')].map(tr =>
            [tr.querySelector('a').getAttribute('href').split('#')[1], tr.querySelector('.kwic-left').textContent,
             tr.querySelector('.kwic-match').textContent])""")
        want = [[r["url"].split("#")[1], r["left"], r["match"]] for r in cli["occurrences"]]
        assert rows[: len(want)] == want, (q, offset)


def test_facets_equal_the_cli(site, index, http_base, page):
    labels = {"year": "年份", "meeting_type": "会议类型", "theme": "主题", "speaker": "讲话人", "organization": "单位"}
    for q in ["党建", "如履薄冰", "干部 -形式主义"]:
        cli = index.search(q, limit=1)
        open_search(page, search_url(http_base, q))
        shown = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.search-facet')].map(s =>
            [s.querySelector('h2').textContent, [...s.querySelectorAll('li:not(.search-facet-active)')].map(li =>
              [li.querySelector('a').textContent, +li.querySelector('.search-facet-count').textContent])]))""")
        want = {labels[k]: [[str(name), n] for name, n in v.items()] for k, v in cli["facets"].items() if v}
        assert shown == want, q


def test_a_kwic_row_opens_its_paragraph_with_the_match_marked(site, http_base, page):
    open_search(page, search_url(http_base, "如履薄冰", view="kwic"))
    rows = page.locator("[data-kwic-row] a")
    last = rows.count() - 1
    href = rows.nth(last).get_attribute("href")
    block = href.rsplit("#", 1)[1]
    rows.nth(last).click()
    page.wait_for_selector("html[data-passage=ready]")
    # The current match is inside the block the row named, and that block holds the match.
    assert page.evaluate("id => document.getElementById(id).contains(document.querySelector('mark.is-current'))", block)
    assert analysis.fold(page.text_content(f"#{block}")).count("如履薄冰") >= 1
    assert _in_view(page, "mark.is-current")


# -- hit → passage ----------------------------------------------------------------------------


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
        const bar = document.querySelector('[data-passage-bar]');
        const bottom = bar ? bar.getBoundingClientRect().top : innerHeight;
        return r.top >= 0 && r.bottom <= bottom; }""",
        selector,
    )


def _wait_in_view(page, selector: str = "mark.is-current") -> None:
    """The match is scrolled into view (smoothly, unless the reader asked for less motion)."""
    page.wait_for_function(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
        const bar = document.querySelector('[data-passage-bar]');
        return r.top >= 0 && r.bottom <= (bar ? bar.getBoundingClientRect().top : innerHeight); }""",
        arg=selector,
    )


def _marks(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('mark[data-match]')].map(m => {
        const n = m.dataset.match; return [...document.querySelectorAll(
          `mark[data-match="${n}"], mark[data-match-part="${n}"]`)].map(e => e.textContent).join(''); })""")


@pytest.mark.parametrize("mode", ["http", "file"])
def test_a_result_opens_the_speech_at_the_first_match_with_every_match_marked(site, index, http_base, page, mode):
    base = base_of(site, http_base, mode)
    open_search(page, search_url(base, "党建"))
    first = shown_hits(page)[0]
    page.click("[data-search-result] h2 a")
    page.wait_for_selector("html[data-passage=ready]")
    assert "q=" in page.url
    marks = _marks(page)
    assert len(marks) == first["occurrences"] > 1
    assert all(analysis.fold(m) == "党建" for m in marks), marks
    assert page.text_content("[data-passage-count]") == f"第 1 / {len(marks)} 处"
    assert page.get_attribute("[data-passage-count]", "aria-live") == "polite"
    assert _in_view(page, "mark.is-current")
    # Next and previous: keys, buttons, Enter and Shift+Enter in the field; wrapping around.
    page.keyboard.press("n")
    assert page.text_content("[data-passage-count]") == f"第 2 / {len(marks)} 处"
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.text_content("[data-passage-count]") == f"第 2 / {len(marks)} 处"
    page.keyboard.press("p")
    page.keyboard.press("p")
    assert page.text_content("[data-passage-count]") == f"第 {len(marks)} / {len(marks)} 处"
    page.click("[data-passage-next]")
    assert page.text_content("[data-passage-count]") == f"第 1 / {len(marks)} 处"
    page.focus("[data-passage-input]")
    page.keyboard.press("Enter")
    assert page.text_content("[data-passage-count]") == f"第 2 / {len(marks)} 处"
    page.keyboard.press("Shift+Enter")
    assert page.text_content("[data-passage-count]") == f"第 1 / {len(marks)} 处"
    assert page.evaluate("document.querySelector('mark.is-current').dataset.match") == "1"
    # Escape clears the marks and the bar (and the query leaves the address).
    page.keyboard.press("Escape")
    assert page.locator("mark[data-match]").count() == 0
    assert page.locator("[data-passage-bar]").count() == 0
    assert "q=" not in page.url


def test_folding_marks_traditional_text_and_ignores_zero_width_marks(site, http_base, page):
    page.goto(http_base + "speeches/2019/trad.html?q=" + quote("党建 如履薄冰"))
    page.wait_for_selector("html[data-passage=ready]")
    marks = _marks(page)
    assert sorted(marks) == sorted(["黨建", "黨建", "如\u200b履薄冰"]), marks
    # Typing another query into the bar searches the text again (and the address follows).
    page.fill("[data-passage-input]", "廉政建设")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-passage-count]').textContent === '第 1 / 1 处'")
    assert _marks(page) == ["廉政建設"]
    assert "q=%E5%BB%89" in page.url


def test_marks_follow_the_paragraphs_like_the_occurrences(site, index, http_base, page):
    """Matches never cross a paragraph; a line break is a space; lists, tables, quotes are blocks."""
    for path, q in [
        ("speeches/2020/split.html", '"从严 治党"'),
        ("speeches/2016/breaks.html", "如履薄冰"),
        ("speeches/2016/breaks.html", '"第一行 第二行"'),
        ("speeches/2018/layers.html", "层层"),
        ("speeches/2020/report.html", "党建"),
        ("speeches/2020/report.html", "党 党建 建工"),
        ("speeches/2019/trad.html", "党建 建设 廉政建设"),
    ]:
        page.goto(http_base + path + "?q=" + quote(q))
        page.wait_for_selector("html[data-passage=ready]")
        hit = [h for h in index.search(q, limit=100)["hits"] if h["url"] == path]
        assert hit, (path, q)
        assert page.locator("mark[data-match]").count() == hit[0]["occurrences"], (path, q)
    # Inside the table and the list too; each mark lies inside one numbered block.
    page.goto(http_base + "speeches/2020/report.html?q=" + quote("党建"))
    page.wait_for_selector("html[data-passage=ready]")
    assert page.evaluate("""() => [...document.querySelectorAll('mark[data-match]')].every(m => /^p\\d+$/.test(
        m.closest('[id]').id))""")
    assert page.locator("td mark[data-match], th mark[data-match]").count() >= 1
    assert page.locator("li mark[data-match]").count() == 1


def test_the_hash_names_the_paragraph_to_start_from(site, http_base, page):
    page.goto(http_base + "speeches/2020/report.html?q=" + quote("党建") + "#p4")
    page.wait_for_selector("html[data-passage=ready]")
    assert page.evaluate("document.getElementById('p4').contains(document.querySelector('mark.is-current'))")
    n = page.evaluate("+document.querySelector('mark.is-current').dataset.match")
    assert n > 1 and page.text_content("[data-passage-count]").startswith(f"第 {n} / ")


def test_a_page_without_paragraph_ids_is_marked_anyway(site, http_base, page):
    """Pages built before the blocks had ids (or a theme that drops them): every match is marked."""
    src = (site.output / "speeches/2019/trad.html").read_text(encoding="utf-8")
    (site.output / "speeches/2019/old.html").write_text(re.sub(r' id="p\d+"', "", src), encoding="utf-8")
    page.goto(http_base + "speeches/2019/old.html?q=" + quote("黨建"))
    page.wait_for_selector("html[data-passage=ready]")
    assert _marks(page) == ["黨建", "黨建"]


def test_a_query_that_the_text_does_not_have_says_so(site, http_base, page):
    page.goto(http_base + "speeches/2017/title-only.html?q=" + quote("全面从严治党"))
    page.wait_for_selector("html[data-passage=ready]")
    assert page.locator("mark[data-match]").count() == 0
    assert "没有找到" in page.text_content("[data-passage-count]")
    page.goto(http_base + "speeches/2017/title-only.html?q=" + quote('"党建'))
    page.wait_for_selector("html[data-passage=error]")
    assert page.text_content("[data-passage-count]").startswith("查询有误：引号没有配对")


# -- the year filter is one parser -------------------------------------------------------------

YEARS = [
    "2020",
    "2018-2020",
    "2018 - 2020",
    "2018–2020",
    "2018—2020",
    "2018~2020",
    "2018至2020",
    "2018到2020",
    "２０２０",
    "２０１８－２０２０",
    " 2020 ",
    "\u30002020\u3000",
    "2020-2018",
    "2020年",
    "20",
    "20201",
    "2018-",
    "-2020",
    "2018..2020",
    "abcd",
    "٢٠٢٠",
    "2018\u3000至\u30002020",
    "",
    "   ",
    "2018,2020",
]


def test_the_year_filter_reads_exactly_what_the_cli_reads(site, http_base, page):
    page.goto(http_base + "search/index.html")
    page.wait_for_selector("#search-app[data-search-ready]")
    got = page.evaluate("ys => ys.map(y => window.siteSearch.parseYear(y))", YEARS)
    for spec, js in zip(YEARS, got):
        try:
            py = query.parse_year(spec)
            py = list(py) if py else None
        except query.FilterError as err:
            py = {"error": err.message}
        assert js == py, spec
    # On the page: the CLI's Chinese message, and no results.
    assert open_search(page, search_url(http_base, "党建", year="2020-2018")) == "error"
    with pytest.raises(query.FilterError) as err:
        query.parse_year("2020-2018")
    assert page.text_content(".search-error") == err.value.message
    assert page.locator("[data-search-result]").count() == 0
    assert open_search(page, search_url(http_base, "党建", year="2018至2020")) == "done"


def test_year_ranges_filter_like_the_cli(site, index, http_base, page):
    for spec in ["2018至2020", "２０１９", "2016 - 2020"]:
        cli = index.search("建设", year=spec, limit=10)
        open_search(page, search_url(http_base, "建设", year=spec))
        assert int(page.text_content("[data-search-total]")) == cli["total"], spec
        assert [page_path(h["href"]) for h in shown_hits(page)] == [h["url"] for h in cli["hits"]], spec


# -- Chinese everywhere ------------------------------------------------------------------------


def test_errors_empty_states_and_the_spaces_hint_are_chinese(site, index, http_base, page):
    for q in ['"党建', "-", "党建 OR", "-腐败"]:
        assert open_search(page, search_url(http_base, q)) == "error"
        with pytest.raises(query.QueryError) as err:
            query.parse(q)
        assert page.text_content(".search-error") == "查询有误：" + str(err.value)
    for bad, message in [({"sort": "best"}, "排序方式"), ({"offset": "-1"}, "offset")]:
        assert open_search(page, search_url(http_base, "党建", **bad)) == "error"
        assert message in page.text_content(".search-error")
    # Nothing found: said in Chinese, and the query without the spaces inside its phrase is offered.
    cli = index.search('"党风 廉政"', limit=10)
    assert cli["total"] == 0 and cli["suggestion"]["total"] > 0
    assert open_search(page, search_url(http_base, '"党风 廉政"')) == "done"
    assert page.is_visible(".search-empty")
    hint = page.text_content("[data-search-hint]")
    assert hint.startswith(cli["suggestion"]["message"]), hint
    page.click("[data-search-hint] a")
    page.wait_for_selector("#search-app[data-search-state=done]")
    assert int(page.text_content("[data-search-total]")) == cli["suggestion"]["total"]
    text = page.inner_text("#search-app")
    for english in ("error", "Error", "results", "query", "column"):
        assert english not in text, english


# -- a phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["http", "file"])
def test_phone_first_result_and_first_paragraph_above_the_fold(site, http_base, phone, mode):
    base = base_of(site, http_base, mode)
    open_search(phone, search_url(base, "党建"))
    box = phone.locator("[data-search-result]").first.bounding_box()
    assert box["y"] + box["height"] <= 800, box
    assert phone.evaluate("[...document.querySelectorAll('.search-side details')].every(d => !d.open)")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    # The trend is there, one tap away, and fits.
    phone.click(".search-trend-box summary")
    svg = phone.locator("[data-trend] svg").bounding_box()
    assert svg["width"] <= 375 and svg["height"] >= 100
    # KWIC fits a phone too.
    open_search(phone, search_url(base, "党建", view="kwic"))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert phone.locator("[data-kwic-row]").first.bounding_box()["y"] < 800
    # A speech: the first paragraph is in view without scrolling; with ?q= the bar fits and the
    # current match is not under it.
    for path in ("speeches/2020/report.html", "speeches/2016/breaks.html"):
        phone.goto(base + path)
        assert phone.locator(".speech-body > :first-child").bounding_box()["y"] < 760, path
    phone.goto(base + "speeches/2020/report.html?q=" + quote("党建"))
    phone.wait_for_selector("html[data-passage=ready]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    bar = phone.locator("[data-passage-bar]").bounding_box()
    assert bar["x"] >= 0 and bar["x"] + bar["width"] <= 375 and bar["y"] + bar["height"] <= 800
    for sel in ("[data-passage-prev]", "[data-passage-next]", "[data-passage-close]"):
        b = phone.locator(sel).bounding_box()
        assert b["width"] >= 44 and b["height"] >= 44, sel
    assert _in_view(phone, "mark.is-current")
    phone.tap("[data-passage-next]")
    assert phone.text_content("[data-passage-count]").startswith("第 2 / ")
    _wait_in_view(phone)


def test_a_speech_page_folds_its_text_with_the_query_s_shards_only(site, http_base, page):
    """static/passage.js folds the text with the fold table's shards of the query's characters (the
    reverse shards r/…): for every code point of the BMP, the fold it uses has a character of the
    query exactly when the true fold has one, and then it is the true fold."""
    page.goto(http_base + "speeches/2019/trad.html")
    page.wait_for_load_state("load")
    page.add_script_tag(url=http_base + "static/search.js")
    for terms in (["党建", "如履薄冰"], ["苧", "卫生"], ["gdp", "(一)"], ["2035年", "ⅻ"]):
        got = page.evaluate(
            """terms => window.siteSearch.open('../../search/meta.js')
            .then(() => window.siteSearch.loadPageFold(terms)).then(() => {
              const out = [];
              for (let cp = 0; cp < 0x10000; cp++) out.push(cp >= 0xd800 && cp <= 0xdfff ? '' :
                window.siteSearch.pageFold(String.fromCodePoint(cp)));
              return out; })""",
            terms,
        )
        chars = set("".join(terms))
        for cp in range(0x10000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            true = analysis.fold(chr(cp))
            if chars & set(true):
                assert got[cp] == true, (terms, hex(cp))
            else:
                assert not chars & set(got[cp]), (terms, hex(cp), got[cp])


@pytest.mark.parametrize("variant", [("light", 1280), ("dark", 1280), ("light", 375)])
def test_no_serious_accessibility_violations(site, http_base, browser, variant):
    """axe-core (tests/test_standards.py) on the KWIC view, a list with its trend and facets, and a
    speech with its marks and bar."""
    from test_standards import format_violations, run_axe

    for path in (
        "search/index.html?" + urlencode({"q": "如履薄冰", "view": "kwic"}),
        "search/index.html?" + urlencode({"q": "党建"}),
        "speeches/2020/report.html?q=" + quote("党建") + "#p4",
    ):
        violations = run_axe(browser, http_base + path, variant[0], variant[1])
        bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{path} {variant}:\n{format_violations(bad)}"
