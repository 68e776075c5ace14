"""The static search page answers exactly like query.matches, over http and from file://.

Headless Chromium (Debian's /usr/bin/chromium) via Playwright. The site is built by the
``search_site`` fixture: today it writes the static index, the search page rendered from the theme and
dummy speech pages itself; when the build pipeline can build a site from Markdown, replace
``build_search_site`` with a call to it (the tests only need ``root`` and ``docs``).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlencode

import pytest

from site_builder.search import analysis, query
from site_builder.static_search import IndexDoc, StaticIndex, wire

REPO = Path(__file__).resolve().parents[1]
THEME = REPO / "themes" / "default"
SEEDS = REPO / "tests" / "fixtures" / "import" / "seeds"  # the two real seed speeches
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


# -- the site ---------------------------------------------------------------------------------


def _seed_paragraphs() -> list[str]:
    paras = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        paras += [p.strip() for p in re.split(r"\n\s*\n|\n", text) if len(p.strip()) >= 20]
    assert len(paras) > 20, f"the seed speeches are missing from {SEEDS}"
    return paras


SYNTHETIC = [
    # title, date, meeting type, themes, body
    (
        "在全市党建工作会议上的讲话",
        "2020-03-05",
        "工作会议",
        ("党的建设",),
        "同志们：\n\n我们要如履薄冰、如临深渊，抓好黨建。\n\n全面从严治党永远在路上。",
    ),
    (
        "在黨風廉政建設會議上的講話",
        "2019-12",
        "工作会议",
        ("党风廉政建设",),
        "各位同志：加強黨的建設，推進廉政建設。如履薄冰是一种态度。",
    ),
    (
        "在2035年远景目标座谈会上的讲话",
        "2021",
        "座谈会",
        ("经济发展", "党的建设"),
        "到２０３５年基本实现现代化，ＧＤＰ翻一番，5G网络全覆盖。形式主义要不得。",
    ),
    (
        "关于<script>alert(1)</script>的说明",
        "2018-07-01",
        "专题研讨会",
        ("作风建设",),
        "正文里有<b>党建</b>和 <img src=x onerror=alert(2)> 这样的文字，也有&amp;实体。",
    ),
    (
        "在从严治党专题会上的讲话",
        "2022-05-20",
        "专题研讨会",
        ("党风廉政建设", "作风建设"),
        "从严\n治党，从严 治党，要把权力关进制度的笼子里。形式主义、官僚主义是大敌。",
    ),
    (
        "在作风建设大会上的讲话",
        "2017-01-09",
        "工作会议",
        ("作风建设",),
        "作风建设永远在路上。"
        + "这是一段很长的文字，用来把后面的内容推到第二页之后。" * 200
        + "最后一页才出现的独特词语鲲鹏展翅，以及跨页的如履薄冰。",
    ),
    ("在青年干部座谈会上的讲话", "2016", "座谈会", (), "青年干部要敢于担当，善于作为。党员队伍建设要加强。"),
    (
        "Mixed Case 讲话",
        "2023-11-11",
        "座谈会",
        ("经济发展",),
        "We discuss GDP and ＡＩ here；ﬁnance too. 員工隊伍建設。",
    ),
]


def make_docs() -> list[IndexDoc]:
    docs = []
    meeting_types = ["工作会议", "座谈会", "专题研讨会"]
    themes = ["党的建设", "作风建设", "经济发展", "党风廉政建设"]
    for i, para in enumerate(_seed_paragraphs()):
        year = 2010 + i % 12
        date = f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 3 else f"{year}"
        title = f"第{i}段：{para[:12]}"
        docs.append(
            IndexDoc(
                id=f"seed/{i:03d}.md",
                url=f"speeches/{year}/第{i}段.html",
                title=title,
                date=date,
                year=year,
                meeting_type=meeting_types[i % 3],
                themes=(themes[i % 4],),
                body=para,
                fingerprint=f"seed-{i}-{zlib.crc32(para.encode()):08x}",
            )
        )
    for i, (title, date, mt, th, body) in enumerate(SYNTHETIC):
        year = int(date[:4])
        docs.append(
            IndexDoc(
                id=f"syn/{i:02d}.md",
                url=f"speeches/{year}/{title}.html",
                title=title,
                date=date,
                year=year,
                meeting_type=mt,
                themes=th,
                body=body,
                fingerprint=f"syn-{i}",
            )
        )
    return docs


def _render_search_page(out: Path) -> None:
    from site_builder.config import SiteConfig
    from site_builder.render import site_view
    from site_builder.templates import TemplateSet

    page = "search/index.html"
    site = {**site_view(SiteConfig()), "title": "讲话稿档案", "description": "", "base_url": "/"}
    html = TemplateSet([THEME / "templates"]).render("search.html", page, {"site": site, "page_path": page})
    (out / "search").mkdir(parents=True, exist_ok=True)
    (out / page).write_text(html, encoding="utf-8")
    (out / "static").mkdir(exist_ok=True)
    for f in (THEME / "static").iterdir():
        if f.is_file():
            shutil.copy(f, out / "static" / f.name)


def build_search_site(root: Path) -> list[IndexDoc]:
    """Write output/ with the static index, the search page and a dummy page per speech."""
    docs = make_docs()
    out = root / "output"
    real, wire.TAIL_MIN = wire.TAIL_MIN, 16  # the base (k/, p/) and the tail (kn/, pn/) both hold docs
    try:
        StaticIndex(root / "state", out).update(docs)
        assert 0 < wire.tail_start(len(docs)) < len(docs)
    finally:
        wire.TAIL_MIN = real
    _render_search_page(out)
    for d in docs:
        page = out / d.url
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<!doctype html><meta charset=utf-8><title>{d.title}</title>", encoding="utf-8")
    return docs


@dataclass
class SearchSite:
    root: Path  # the output folder
    docs: list


@pytest.fixture(scope="module")
def search_site(tmp_path_factory) -> SearchSite:
    root = tmp_path_factory.mktemp("static-search")
    docs = build_search_site(root)
    return SearchSite(root / "output", docs)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        # Only the site's own scripts: no inline scripts, no eval.
        self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'self'")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_base(search_site):
    handler = functools.partial(_Handler, directory=str(search_site.root))
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


@pytest.fixture
def page(browser):
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
    pg.on(
        "console",
        lambda m: (
            pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error" and "404" not in m.text else None
        ),
    )
    pg.on(
        "response",
        lambda r: (
            pg.problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith(("favicon.ico", "style.css"))
            else None
        ),
    )
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    ctx.close()


def _search_url(base: str, q: str, **filters) -> str:
    params = {"q": q, **{k: v for k, v in filters.items() if v}}
    return base + "search/index.html?" + urlencode(params)


def _run(page, url: str) -> tuple[int, set[str]]:
    """Open a search URL; return the shown total and the hrefs of all results (loading more)."""
    page.goto(url)
    page.wait_for_selector("#search-app[data-search-state=done], #search-app[data-search-state=error]")
    total = int(page.text_content("[data-search-total]") or 0)
    while page.is_visible(".search-more"):
        n = page.locator("[data-search-result]").count()
        page.click(".search-more")
        page.locator("[data-search-result]").nth(n).wait_for()  # (wait_for_function would need eval)
    hrefs = page.eval_on_selector_all("[data-search-result] a[href]", "els => els.map(a => a.getAttribute('href'))")
    # A result links to its page with the query (?q=…, for the marks there) and the first match's block (#p…).
    return total, {unquote(h.split("?")[0]) for h in hrefs}


def truth(docs, q: str, year=None, meeting_type=None, theme=None) -> set[str]:
    parsed = query.parse(q)
    lo = hi = None
    if year:
        a, _, b = str(year).partition("-")
        lo, hi = int(a), int(b or a)
    out = set()
    for d in docs:
        if not parsed.matches(analysis.search_text(d.title, d.body)):
            continue
        if lo is not None and not lo <= d.year <= hi:
            continue
        if meeting_type and d.meeting_type != meeting_type:
            continue
        if theme and theme not in d.themes:
            continue
        out.add("../" + d.url)
    return out


QUERIES = [
    ("党", {}),  # single character
    ("权", {}),
    ("如履薄冰", {}),  # idiom
    ("黨建", {}),  # traditional → finds 党建
    ("党建 廉政", {}),  # two terms
    ("党员 队伍", {}),
    ("员队", {}),  # a substring no segmenter would produce
    ("党建 OR 廉政", {}),
    ("作风 -形式主义", {}),
    ('"从严 治党"', {}),  # quoted phrase with a space
    ("＂全面从严治党＂", {}),
    ("把权力关进制度的笼子里", {}),
    ("2035年", {}),
    ("gdp", {}),
    ("5g", {}),
    ("鲲鹏展翅", {}),  # only on a late text page
    ("建设", {"year": "2019"}),  # filters
    ("建设", {"year": "2016-2020"}),
    ("党", {"meeting_type": "座谈会"}),
    ("讲话 OR 建设", {"theme": "作风建设"}),
    ("finance", {}),  # ﬁ ligature folds to fi
    ("员工队伍", {}),  # 員工隊伍 in the text
]


@pytest.mark.parametrize("mode", ["http", "file"])
def test_hits_equal_python_truth(search_site, http_base, page, mode):
    base = http_base if mode == "http" else search_site.root.as_uri() + "/"
    checked = 0
    for q, filters in QUERIES:
        expected = truth(search_site.docs, q, **filters)
        total, hrefs = _run(page, _search_url(base, q, **filters))
        assert total == len(expected), (q, filters)
        assert hrefs == expected, (q, filters)
        checked += bool(expected)
    assert checked >= len(QUERIES) - 2  # the queries really find something
    assert not page.problems, page.problems  # includes CSP violations over http


def test_links_open_the_speech_pages(search_site, http_base, page):
    _run(page, _search_url(http_base, "如履薄冰"))
    page.click("[data-search-result] a")
    page.wait_for_load_state()
    assert unquote(page.url).startswith(http_base + "speeches/")
    assert "如履薄冰" in page.title() or page.title()


def test_excerpt_marks_exactly_the_matches(search_site, http_base, page):
    _run(page, _search_url(http_base, "黨建 OR 鲲鹏展翅"))
    marks = page.eval_on_selector_all(
        "[data-search-result] .search-hit-excerpt mark", "els => els.map(e => e.textContent)"
    )
    assert marks and all(analysis.fold(m) in ("党建", "鲲鹏展翅") for m in marks), marks
    # The traditional-text speech is highlighted in its own characters.
    _run(page, _search_url(http_base, "廉政建设"))
    marks = page.eval_on_selector_all("[data-search-result] mark", "els => els.map(e => e.textContent)")
    assert "廉政建設" in marks or "廉政建设" in marks, marks
    assert all(analysis.fold(m) == "廉政建设" for m in marks), marks


def test_content_and_query_are_escaped(search_site, http_base, page):
    total, _hrefs = _run(page, _search_url(http_base, "<img src=x onerror=alert(1)>"))
    assert page.dialogs == []
    assert page.text_content(".search-echo") == "<img src=x onerror=alert(1)>"
    assert page.locator("#search-app img").count() == 0
    assert total == len(truth(search_site.docs, "<img src=x onerror=alert(1)>"))
    _run(page, _search_url(http_base, "党建 说明 OR 文字"))
    assert page.locator("[data-search-result] b, [data-search-result] img, [data-search-result] script").count() == 0
    assert "<b>" in page.text_content(".search-results")
    assert page.dialogs == []


def test_malformed_query_shows_message(search_site, http_base, page):
    for q in ['"党建', "-", "党建 OR", "-腐败"]:
        page.goto(_search_url(http_base, q))
        page.wait_for_selector("#search-app[data-search-state=error]")
        msg = page.text_content(".search-error")
        with pytest.raises(query.QueryError) as err:
            query.parse(q)
        assert err.value.message in msg


def test_an_index_of_another_format_is_named_not_misread(search_site, page, tmp_path):
    """A page whose script and index are not of one version (a stale copy, a half-deployed site)
    says so in Chinese instead of answering from what it cannot read."""
    site = tmp_path / "site"
    shutil.copytree(search_site.root, site, copy_function=os.link)
    meta = site / "search" / "meta.js"
    text = meta.read_text("utf-8")
    assert '"format":6' in text
    meta.unlink()  # (a hard link: the shared original stays as it is)
    meta.write_text(text.replace('"format":6', '"format":5'), "utf-8")
    page.goto(_search_url(site.as_uri() + "/", "党建"))
    page.wait_for_selector("#search-app[data-search-state=error]")
    assert "搜索索引（格式 5）与本页的脚本（格式 6）不是同一版本" in page.text_content(".search-error")


def test_facets_count_the_hit_set_and_filter_via_url(search_site, http_base, page):
    _run(page, _search_url(http_base, "建设"))
    expected = truth(search_site.docs, "建设")
    by_url = {"../" + d.url: d for d in search_site.docs}
    years = {}
    for u in expected:
        years[by_url[u].year] = years.get(by_url[u].year, 0) + 1
    shown = page.eval_on_selector_all(
        ".search-facet:first-child li:not(.search-facet-active)",
        "els => els.map(li => [li.querySelector('a').textContent, li.querySelector('.search-facet-count').textContent])",
    )
    assert {int(y): int(c) for y, c in shown} == years
    # Clicking a facet filters and puts the filter into the URL.
    page.click(".search-facet:first-child li a")
    page.wait_for_selector("#search-app[data-search-state=done]")
    assert "year=" in page.url


# -- the browser's parser and fold equal Python's ----------------------------------------------

PARSE_CASES = [
    "党建",
    "党建 廉政",
    "党建　廉政",
    '"从严 治党"',
    "＂从严  治党＂",
    "-形式主义 党建",
    '-"形式 主义" 党建',
    "党建 OR 廉政",
    "A B OR C",
    "党建 ＯＲ 廉政",
    "党建 or 廉政",
    "黨建",
    "ＧＤＰ",
    "2035年",
    "a\tb\u3000c",
    "x\u0085y",
    "x\u001cy",
    "x\u200by",
    "\ufeffbom",
    "a\u0007b",
    "ﬁnance",
    "㍻",
    "Ⅻ",
    "-－x",
    "a-b",
    'a"b c"d',
    '"',
    '党建 "',
    "-",
    "- 党建",
    "党建 -",
    "OR 党建",
    "党建 OR",
    "党建 OR OR 廉政",
    "-党建 OR 廉政",
    "党建 OR -廉政",
    '""',
    '" "',
    "-腐败",
    "",
    "   ",
    "x" * 501,
    "x " * 33,
    "x " * 32,
    "𠀀𠀁 𠀂",
    "a\u0000b",
    "\u00a8",
]


def test_parser_agrees_with_query_py(search_site, http_base, page):
    page.goto(http_base + "search/index.html")
    page.wait_for_selector("#search-app[data-search-ready]")
    got = page.evaluate("qs => Promise.all(qs.map(q => window.siteSearch.parseJSON(q)))", PARSE_CASES)
    for q, js in zip(PARSE_CASES, got):
        try:
            parsed = query.parse(q)
            py = {"groups": [list(g) for g in parsed.groups], "excluded": list(parsed.excluded)}
        except query.QueryError as err:
            py = {"error": err.message, "column": err.column, "code": err.code}
        assert js == py, q


def test_fold_and_isspace_agree_with_python_on_every_bmp_code_point(search_site, http_base, page):
    page.goto(http_base + "search/index.html")
    page.wait_for_selector("#search-app[data-search-ready]")
    js = page.evaluate("""() => window.siteSearch.loadAllFold().then(() => {
        const out = [], sp = [];
        for (let cp = 0; cp < 0x10000; cp++) {
          if (cp >= 0xd800 && cp <= 0xdfff) { out.push(''); sp.push(false); continue; }
          const ch = String.fromCodePoint(cp);
          out.push(window.siteSearch.fold(ch));
          sp.push(window.siteSearch.isSpace(ch));
        }
        return [out, sp];
    })""")
    folded, spaces = js
    bad = [cp for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF and folded[cp] != analysis.fold(chr(cp))]
    assert not bad, [hex(c) for c in bad[:20]]
    bad = [cp for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF and spaces[cp] != chr(cp).isspace()]
    assert not bad, [hex(c) for c in bad[:20]]
    # A few astral characters too.
    astral = [0x1D400, 0x1F100, 0x2F800, 0x20000, 0x1D7CE, 0x10400]
    got = page.evaluate("cps => cps.map(c => window.siteSearch.fold(String.fromCodePoint(c)))", astral)
    assert got == [analysis.fold(chr(c)) for c in astral]


# -- the writer --------------------------------------------------------------------------------


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_incremental_update_equals_clean_write(tmp_path):
    docs = make_docs()
    (tmp_path / "inc" / "search").mkdir(parents=True)
    (tmp_path / "inc" / "search" / "index.html").write_text("the search page")
    inc = StaticIndex(tmp_path / "state", tmp_path / "inc")
    inc.update(docs[:-3])
    changed = list(docs)
    changed[5] = IndexDoc(**{**changed[5].__dict__, "body": changed[5].body + "新增一句话。", "fingerprint": "x"})
    del changed[7]
    stats = inc.update(changed)
    assert stats["reused"] == len(changed) - 4 and stats["analysed"] == 4
    StaticIndex(tmp_path / "state2", tmp_path / "clean").update(changed)
    assert (tmp_path / "inc" / "search" / "index.html").read_text() == "the search page"  # not the index's
    (tmp_path / "inc" / "search" / "index.html").unlink()
    assert _tree(tmp_path / "inc" / "search") == _tree(tmp_path / "clean" / "search")
    (tmp_path / "inc" / "search" / "k" / "stale.js").write_text("left over")
    (tmp_path / "inc" / "search" / "meta.js").unlink()  # the output was touched: write again
    again = inc.update(changed)
    assert not (tmp_path / "inc" / "search" / "k" / "stale.js").exists()
    again = inc.update(changed)
    assert again.get("skipped") == 1
    assert again.get("written", 0) == 0 and again.get("removed", 0) == 0
