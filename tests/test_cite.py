"""Citing a speech (issue #14, item 1): the 引用 block, meta tags and JSON-LD, and in Chromium what
cite.js adds — the access date, copying, BibTeX / RIS / CSL-JSON, 复制引文 on a selection, and the
source line of a printout — from file:// and over HTTP, under the pages' own CSP.

The first half reads the built HTML (fast); the second half runs headless Chromium (skipped,
saying why, without it; see tests/test_standards.py).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import Site, speech

BASE_URL = "https://archive.example/speeches/"
SITE_TITLE = "讲话稿档案（测试）"
SLUG = "cite-sample"
TITLE = "在2020年度党建工作会议上的讲话"
BODY = """\
同志们：

## 一、充分认识抓好机关党建工作的重大意义

过去一年，全市机关党建工作取得“明显成效”，各级党组织把“两个责任”落到了实处。

今天召开会议，主要任务是总结去年工作，部署今年任务。

## 二、明确今年任务

要坚持问题导向，抓好落实，让我们坚定信心，真抓实干！
"""
FULL = speech(
    title=TITLE,
    date="2020-03-05",
    meeting_type="党建工作会议",
    themes=("基层党建", "党风廉政建设"),
    body=BODY,
    speaker="王强",
    organization="X局",
    location="市委党校报告厅",
    slug=SLUG,
    summary="部署全年机关党建工作。",
)
#: A title a careless template would let out of its element (the JSON-LD above all).
HOSTILE_TITLE = "</script><script>window.__x=1</script><!-- 讲话 & \"引号\" 'R&D' {{ 7*7 }}"
FILES = {
    "2020/full.md": FULL,
    "2019/org.md": speech(
        title="在全市安全生产动员大会上的讲话",
        date="2019-06",
        meeting_type="动员大会",
        themes=("安全生产",),
        organization="市安全生产委员会",
        slug="org-only",
    ),
    "2018/bare.md": speech(
        title="在座谈会上的讲话", date="2018", meeting_type="座谈会", themes=("队伍建设",), slug="bare"
    ),
    "2017/hostile.md": speech(
        title=json.dumps(HOSTILE_TITLE, ensure_ascii=False),
        date="2017-01-02",
        meeting_type="座谈会",
        themes=("队伍建设",),
        slug="hostile",
        speaker=json.dumps('张三<b>"', ensure_ascii=False),
    ),
}
PAGE = f"speeches/2020/{SLUG}.html"


def build(root: Path, base_url: str | None) -> Site:
    site = Site(root)
    for rel, text in FILES.items():
        site.write(rel, text)
    site.config(f'title = "{SITE_TITLE}"\n' + (f'base_url = "{base_url}"\n' if base_url else ""))
    assert site.run("build", "-q") == 0
    return site


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Site]:
    """The same speeches built with an absolute base_url ("abs") and with the default "/" ("rel")."""
    root = tmp_path_factory.mktemp("cite")
    return {"abs": build(root / "abs", BASE_URL), "rel": build(root / "rel", None)}


class Page(HTMLParser):
    """The parts of a page these tests read: meta tags, scripts, and the text of [data-cite] elements."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.scripts: list[tuple[dict, str]] = []
        self.cite: dict[str, str] = {}
        self.attrs: dict[str, dict] = {}  # first element with a given class → its attributes
        self._script: dict | None = None
        self._text: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, data-cite value)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and "name" in a:
            self.meta.setdefault(a["name"], []).append(a.get("content", ""))
        if tag == "script":
            self._script, self._text = a, []
        for cls in a.get("class", "").split():
            self.attrs.setdefault(cls, a)
        if tag not in ("meta", "link", "br", "img", "input", "hr", "wbr"):
            self._open.append((tag, a.get("data-cite")))
            if a.get("data-cite"):
                self.cite[a["data-cite"]] = ""

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)
        for _, kind in self._open:
            if kind:
                self.cite[kind] += data


def page(site: Site, rel: str = PAGE) -> Page:
    return Page(site.page(rel))


# --------------------------------------------------------------------------------------------
# The HTML: citation text, meta tags, JSON-LD
# --------------------------------------------------------------------------------------------
def test_gb7714_and_english_citations_with_an_absolute_base_url(sites):
    p = page(sites["abs"])
    url = f"{BASE_URL}speeches/2020/{SLUG}.html"
    # GB/T 7714-2015, online document: 责任者. 题名[EB/OL]. (发表日期)[引用日期]. 访问路径.
    # The access date is the reader's: cite.js puts it in (the HTML carries no build date).
    assert p.cite["gb7714"] == f"王强. {TITLE}[EB/OL]. (2020-03-05). {url}."
    assert p.cite["en"] == f'王强. "{TITLE}." 党建工作会议, 市委党校报告厅, March 5, 2020. {url}.'


def test_a_default_base_url_gives_the_path_from_the_servers_root(sites):
    p = page(sites["rel"])
    assert p.cite["gb7714"] == f"王强. {TITLE}[EB/OL]. (2020-03-05). /speeches/2020/{SLUG}.html."
    assert p.attrs["cite"]["data-url"] == f"/speeches/2020/{SLUG}.html"


def test_without_a_speaker_the_organisation_or_the_site_is_the_author(sites):
    org = page(sites["abs"], "speeches/2019/org-only.html")
    assert org.cite["gb7714"].startswith("市安全生产委员会. 在全市安全生产动员大会上的讲话[EB/OL]. (2019-06). ")
    assert org.cite["en"].startswith(
        '市安全生产委员会. "在全市安全生产动员大会上的讲话." 动员大会, June 2019. https://'
    )
    assert org.meta["citation_author"] == ["市安全生产委员会"]
    assert org.meta["citation_publication_date"] == ["2019"]  # YYYY/MM/DD or the year alone
    bare = page(sites["abs"], "speeches/2018/bare.html")
    assert bare.cite["gb7714"] == f"{SITE_TITLE}. 在座谈会上的讲话[EB/OL]. (2018). {BASE_URL}speeches/2018/bare.html."
    assert bare.cite["en"] == f'{SITE_TITLE}. "在座谈会上的讲话." 座谈会, 2018. {BASE_URL}speeches/2018/bare.html.'
    assert bare.meta["citation_author"] == [SITE_TITLE]
    assert bare.meta["citation_publication_date"] == ["2018"]


def test_highwire_meta_tags(sites):
    p = page(sites["abs"])
    assert p.meta["citation_title"] == [TITLE]
    assert p.meta["citation_author"] == ["王强"]
    assert p.meta["citation_publication_date"] == ["2020/03/05"]
    assert p.meta["citation_publisher"] == [SITE_TITLE]
    html = sites["abs"].page(PAGE)
    assert html.index('name="citation_title"') < html.index("</head>")
    for rel in ("index.html", "search/index.html", "years/2020/index.html"):  # speeches only
        assert "citation_title" not in page(sites["abs"], rel).meta, rel
        assert "application/ld+json" not in sites["abs"].page(rel), rel


def json_ld(p: Page) -> dict:
    [data] = [text for attrs, text in p.scripts if attrs.get("type") == "application/ld+json"]
    return json.loads(data)


def test_json_ld_describes_the_speech(sites):
    assert json_ld(page(sites["abs"])) == {
        "@context": "https://schema.org",
        "@type": "CreativeWork",
        "name": TITLE,
        "author": {"@type": "Person", "name": "王强", "affiliation": {"@type": "Organization", "name": "X局"}},
        "datePublished": "2020-03-05",
        "publisher": {"@type": "Organization", "name": SITE_TITLE},
        "url": f"{BASE_URL}speeches/2020/{SLUG}.html",
        "inLanguage": "zh-CN",
        "about": [{"@type": "Thing", "name": "基层党建"}, {"@type": "Thing", "name": "党风廉政建设"}],
        "locationCreated": {"@type": "Place", "name": "市委党校报告厅"},
        "description": "部署全年机关党建工作。",
    }
    org = json_ld(page(sites["abs"], "speeches/2019/org-only.html"))
    assert org["author"] == {"@type": "Organization", "name": "市安全生产委员会"} and org["datePublished"] == "2019-06"


def test_a_hostile_title_stays_data(sites):
    """The title cannot end the JSON-LD element or start a comment: "<", ">" and "&" are escaped as
    \\u003c …, and the JSON still gives back the title; everywhere else it is escaped HTML."""
    html = sites["abs"].page("speeches/2017/hostile.html")
    p = Page(html)
    assert [a for a, _ in p.scripts] == [
        {"type": "application/ld+json"},
        {"src": "../../static/cite.js", "defer": ""},
        {
            "src": "../../static/passage.js",
            "data-search-js": "../../static/search.js",
            "data-index": "../../search/meta.js",
            "defer": "",
        },  # hit → passage (#13)
        {"src": "../../static/compare.js", "defer": ""},
    ]  # the 对比 block's
    raw = next(text for attrs, text in p.scripts if attrs.get("type") == "application/ld+json")
    assert not re.search(r"[<>&]", raw)
    data = json.loads(raw)
    assert data["name"] == HOSTILE_TITLE and data["author"]["name"] == '张三<b>"'
    assert p.meta["citation_title"] == [HOSTILE_TITLE]
    assert p.cite["gb7714"].startswith(f'张三<b>". {HOSTILE_TITLE}[EB/OL]. (2017-01-02). ')
    assert p.attrs["cite"]["data-title"] == HOSTILE_TITLE


def test_the_block_works_without_javascript_and_loads_only_the_sites_script(sites):
    html = sites["abs"].page(PAGE)
    p = Page(html)
    block = html[html.index('<section class="cite"') : html.index("</section>", html.index('<section class="cite"'))]
    assert '<h2 id="cite-heading">引用</h2>' in block
    # the buttons need the script: cite.js adds them (#15: not in every page's bytes)
    assert "<button" not in block and "cite-tools" not in p.attrs and "cite-output" not in p.attrs
    script = (sites["abs"].output / "static" / "cite.js").read_text(encoding="utf-8")
    for label in ("'复制'", "'BibTeX'", "'RIS'", "'CSL-JSON'"):
        assert label in script, label
    assert not re.search(r"\son[a-z]+\s*=", block) and "javascript:" not in block
    assert (sites["abs"].output / "static" / "cite.js").is_file()
    # the print-only source line: site, address; cite.js adds the printing date
    assert f'<p class="print-source">来源：{SITE_TITLE}' in html and "网址：<span data-cite-url>" in html


def test_cite_js_has_no_eval_and_no_html_injection():
    source = (Path(__file__).resolve().parents[1] / "themes" / "default" / "static" / "cite.js").read_text("utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    for banned in (
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "setAttribute('style'",
        "import ",
    ):
        assert banned not in code, banned


def test_rebuilds_do_not_change_the_pages(sites, tmp_path):
    """No build date in the HTML: a second build writes nothing, and a clean build of the same
    sources gives the same bytes."""
    site = sites["abs"]
    before = site.files()
    (site.content / "2020" / "full.md").touch()  # a changed mtime: looked at again, same bytes
    assert site.run("build", "-q") == 0
    assert site.files() == before
    again = build(tmp_path / "again", BASE_URL)
    assert again.files() == before


# --------------------------------------------------------------------------------------------
# In Chromium
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from test_standards import launch_chromium

    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def servers(sites):
    from contextlib import ExitStack

    from test_standards import serve_dir

    with ExitStack() as stack:
        yield {name: stack.enter_context(serve_dir(site.output)) for name, site in sites.items()}


def page_url(sites, servers, scheme: str, which: str = "abs", rel: str = PAGE) -> str:
    return servers[which] + rel if scheme == "http" else (sites[which].output / rel).as_uri()


#: Records what is written to the clipboard: navigator.clipboard.writeText replaced before the
#: page's scripts run ("api"), or removed so that cite.js falls back to execCommand ("fallback").
STUB_CLIPBOARD = """
window.__copied = [];
Object.defineProperty(navigator, 'clipboard', {configurable: true, value: {
  writeText: text => { window.__copied.push(text); return Promise.resolve(); },
}});
"""
NO_CLIPBOARD_API = """
window.__copied = [];
Object.defineProperty(navigator, 'clipboard', {configurable: true, value: undefined});
const realExec = document.execCommand.bind(document);
document.execCommand = function (command, ...rest) {
  if (command === 'copy') window.__copied.push(document.activeElement.value);
  return realExec(command, ...rest);
};
"""


class Tab:
    """A page in a fresh context under the page's own CSP; console errors and CSP reports kept."""

    def __init__(self, browser, url: str, init: str | None = None, **options):
        self.context = browser.new_context(
            **({"locale": "zh-CN", "viewport": {"width": 1000, "height": 900}} | options)
        )
        self.problems: list[str] = []
        if init:
            self.context.add_init_script(init)
        self.page = self.context.new_page()

        def console(m):
            where = (m.location or {}).get("url", "")
            if (m.type == "error" or "Content Security Policy" in m.text) and not where.endswith("/favicon.ico"):
                self.problems.append(f"{m.text} ({where})")

        self.page.on("console", console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        response = self.page.goto(url, wait_until="load")
        assert response is None or response.ok, url

    def today(self) -> list[int]:
        return self.page.evaluate(
            "() => { const d = new Date(); return [d.getFullYear(), d.getMonth() + 1, d.getDate()]; }"
        )

    def text(self, selector: str) -> str:
        return self.page.eval_on_selector(selector, "el => el.textContent")

    def copied(self) -> list[str]:
        return self.page.evaluate("window.__copied")

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser):
    tabs = []

    def open_tab(url, init=None, **options) -> Tab:
        t = Tab(browser, url, init, **options)
        tabs.append(t)
        return t

    yield open_tab
    for t in tabs:
        assert not t.problems, t.problems
        t.close()


def iso(day: list[int]) -> str:
    return f"{day[0]:04d}-{day[1]:02d}-{day[2]:02d}"


SCHEMES = ["file", "http"]


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_access_date_is_the_readers_today(browser, sites, servers, tab, scheme):
    t = tab(page_url(sites, servers, scheme))
    day = t.today()
    url = f"{BASE_URL}speeches/2020/{SLUG}.html"
    months = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    assert t.text('[data-cite="gb7714"]') == f"王强. {TITLE}[EB/OL]. (2020-03-05)[{iso(day)}]. {url}."
    assert t.text('[data-cite="en"]') == (
        f'王强. "{TITLE}." 党建工作会议, 市委党校报告厅, March 5, 2020. '
        f"Accessed {months[day[1] - 1]} {day[2]}, {day[0]}. {url}."
    )
    assert t.page.is_visible(".cite-tools") and not t.page.is_visible(".cite-output")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
def test_without_a_base_url_the_page_gives_its_own_address(browser, sites, servers, tab, scheme):
    t = tab(page_url(sites, servers, scheme, "rel"))
    gb = t.text('[data-cite="gb7714"]')
    # over http the address the reader sees; from file:// the path from the site's root
    expected = servers["rel"] + PAGE if scheme == "http" else f"/speeches/2020/{SLUG}.html"
    assert gb.endswith(f"[{iso(t.today())}]. {expected}."), gb
    assert t.text(".print-source [data-cite-url]") == expected


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("clipboard", ["api", "fallback"])
def test_copy_button_copies_the_gb7714_citation(browser, sites, servers, tab, scheme, clipboard):
    t = tab(page_url(sites, servers, scheme), STUB_CLIPBOARD if clipboard == "api" else NO_CLIPBOARD_API)
    button = t.page.locator('[data-cite-copy="gb7714"]')
    assert button.text_content() == "复制"
    button.click()
    t.page.wait_for_function("() => window.__copied.length > 0")
    assert t.copied() == [t.text('[data-cite="gb7714"]')]
    assert f"[{iso(t.today())}]" in t.copied()[0]
    assert button.text_content() == "已复制" and t.text(".cite-status") == "已复制"
    if clipboard == "fallback":  # the helper textarea is gone, the focus is back on the button
        assert t.page.evaluate("document.querySelectorAll('textarea').length") == 0
        assert t.page.evaluate("document.activeElement.dataset.citeCopy") == "gb7714"
    t.page.wait_for_function(
        "() => document.querySelector('[data-cite-copy=\"gb7714\"]').textContent === '复制'", timeout=4000
    )


@pytest.mark.browser
def test_copy_reaches_the_real_clipboard(browser, sites, servers, tab):
    """Not stubbed: Chromium's own clipboard, read back through the Clipboard API."""
    t = tab(page_url(sites, servers, "http"), permissions=["clipboard-read", "clipboard-write"])
    t.page.click('[data-cite-copy="gb7714"]')
    t.page.wait_for_function("() => document.querySelector('.cite-status').textContent === '已复制'")
    assert t.page.evaluate("navigator.clipboard.readText()") == t.text('[data-cite="gb7714"]')


def balanced(text: str) -> bool:
    depth = 0
    for i, c in enumerate(text):
        if c in "{}" and i and text[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
def test_bibtex_ris_and_csl_json_on_demand(browser, sites, servers, tab, scheme):
    t = tab(page_url(sites, servers, scheme), STUB_CLIPBOARD)
    day = t.today()
    url = f"{BASE_URL}speeches/2020/{SLUG}.html"
    p = t.page

    p.click('[data-cite-format="bibtex"]')
    assert p.is_visible("[data-cite-output]")
    assert p.get_attribute('[data-cite-format="bibtex"]', "aria-expanded") == "true"
    bib = t.text("[data-cite-output]")
    assert bib.startswith("@misc{speech20200305-cite-sample,\n") and bib.rstrip().endswith("}") and balanced(bib)
    fields = dict(re.findall(r"^  (\w+)\s+= (.*?),?$", bib, flags=re.M))
    assert fields["author"] == "{{王强}}" and fields["title"] == "{" + TITLE + "}"
    assert fields["howpublished"] == "{党建工作会议}" and fields["address"] == "{市委党校报告厅}"
    assert fields["organization"] == "{X局}" and fields["publisher"] == "{" + SITE_TITLE + "}"
    assert fields["date"] == "{2020-03-05}" and fields["year"] == "{2020}" and fields["month"] == "mar"
    assert fields["url"] == "{" + url + "}" and fields["urldate"] == "{" + iso(day) + "}"
    assert fields["keywords"] == "{基层党建, 党风廉政建设}"

    p.click('[data-cite-format="ris"]')
    ris = t.text("[data-cite-output]").rstrip("\n").split("\n")
    assert p.get_attribute('[data-cite-format="bibtex"]', "aria-expanded") == "false"
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) for line in ris), ris
    assert ris[0] == "TY  - ELEC" and ris[-1] == "ER  - "
    tags = {}
    for line in ris:
        tags.setdefault(line[:2], []).append(line[6:])
    assert tags["AU"] == ["王强"] and tags["TI"] == [TITLE] and tags["PY"] == ["2020"]
    assert tags["DA"] == ["2020/03/05/"] and tags["UR"] == [url] and tags["CY"] == ["市委党校报告厅"]
    assert tags["KW"] == ["基层党建", "党风廉政建设"] and tags["Y2"] == [f"{day[0]}/{day[1]:02d}/{day[2]:02d}/"]

    p.click('[data-cite-format="csl"]')
    [item] = json.loads(t.text("[data-cite-output]"))
    assert item["type"] == "speech" and item["title"] == TITLE and item["author"] == [{"literal": "王强"}]
    assert item["issued"] == {"date-parts": [[2020, 3, 5]]} and item["accessed"] == {"date-parts": [day]}
    assert item["event-title"] == "党建工作会议" and item["event-place"] == "市委党校报告厅"
    assert item["URL"] == url and item["publisher"] == SITE_TITLE and item["language"] == "zh-CN"

    # the output's own copy button copies what is shown
    p.click('.cite-output [data-cite-copy="output"]')
    p.wait_for_function("() => window.__copied.length > 0")
    assert json.loads(t.copied()[0]) == [item]
    # pressing the shown format again closes the output
    p.click('[data-cite-format="csl"]')
    assert not p.is_visible("[data-cite-output]")
    assert p.get_attribute('[data-cite-format="csl"]', "aria-expanded") == "false"


@pytest.mark.browser
def test_year_only_speech_formats(browser, sites, servers, tab):
    t = tab(page_url(sites, servers, "http", rel="speeches/2018/bare.html"))
    t.page.click('[data-cite-format="ris"]')
    assert "DA  - 2018///" in t.text("[data-cite-output]").split("\n")
    t.page.click('[data-cite-format="csl"]')
    [item] = json.loads(t.text("[data-cite-output]"))
    assert item["issued"] == {"date-parts": [[2018]]} and item["author"] == [{"literal": SITE_TITLE}]
    t.page.click('[data-cite-format="bibtex"]')
    bib = t.text("[data-cite-output]")
    assert "  month" not in bib and re.search(r"^  year\s+= \{2018\},$", bib, flags=re.M)


SELECT_JS = """([selector, index, start, end]) => {
  const el = document.querySelectorAll(selector)[index];
  const text = el.firstChild;
  const range = document.createRange();
  range.setStart(text, start);
  range.setEnd(text, end);
  const sel = getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  return range.toString();
}"""


def quote_button_shown(t: Tab) -> bool:
    return t.page.evaluate("() => { const b = document.querySelector('.cite-quote'); return !!b && !b.hidden; }")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
def test_selecting_text_offers_copy_quotation(browser, sites, servers, tab, scheme):
    """A reader drags over a sentence: 复制引文 appears below the selection and copies the quotation
    (inner quotation marks made single), the citation and the page's address."""
    t = tab(page_url(sites, servers, scheme), STUB_CLIPBOARD)
    p = t.page
    para = p.locator(".speech-body p").nth(1)  # 过去一年，……“明显成效”……“两个责任”……
    box = para.bounding_box()
    p.mouse.move(box["x"] + 40, box["y"] + 12)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] - 20, box["y"] + 12, steps=8)
    p.mouse.up()
    selected = p.evaluate("getSelection().toString()")
    assert len(selected) >= 5, selected
    p.wait_for_selector(".cite-quote", state="visible")
    button = p.locator(".cite-quote")
    assert button.text_content() == "复制引文"
    b = button.bounding_box()
    assert b["y"] >= box["y"] and b["x"] >= 0 and b["x"] + b["width"] <= 1000 and b["height"] >= 43.5
    button.click()
    p.wait_for_function("() => window.__copied.length > 0")
    assert p.evaluate("getSelection().toString()") == selected  # pressing the button kept the selection
    quote = selected.strip().replace("“", "‘").replace("”", "’")
    citation = t.text('[data-cite="gb7714"]')
    anchor = para.get_attribute("id")  # paragraph ids (#13): the link goes to the paragraph
    link = f"{BASE_URL}speeches/2020/{SLUG}.html" + (f"#{anchor}" if anchor else "")
    assert t.copied() == [f"“{quote}”\n{citation}\n原文链接：{link}"]
    assert button.text_content() == "已复制"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("clipboard", ["api", "fallback"])
def test_copy_quotation_links_the_paragraph(browser, sites, servers, tab, scheme, clipboard):
    """The link is to the element with an id (a heading today; each paragraph once #13 gives them
    ids) where the selection starts."""
    t = tab(page_url(sites, servers, scheme), STUB_CLIPBOARD if clipboard == "api" else NO_CLIPBOARD_API)
    p = t.page
    url = f"{BASE_URL}speeches/2020/{SLUG}.html"
    p.evaluate("document.querySelectorAll('.speech-body p')[2].id = 'p-3'")  # as #13 will write them
    text = p.evaluate(SELECT_JS, [".speech-body p", 2, 0, 6])
    assert text == "今天召开会议"
    p.wait_for_selector(".cite-quote", state="visible")
    p.click(".cite-quote")
    p.wait_for_function("() => window.__copied.length > 0")
    citation = t.text('[data-cite="gb7714"]')
    assert t.copied()[-1] == f"“今天召开会议”\n{citation}\n原文链接：{url}#p-3"

    heading_id = p.evaluate("document.querySelectorAll('.speech-body h2')[1].id")
    assert heading_id
    p.evaluate(SELECT_JS, [".speech-body h2", 1, 2, 6])
    p.wait_for_function("() => document.querySelector('.cite-quote') && !document.querySelector('.cite-quote').hidden")
    p.click(".cite-quote")
    p.wait_for_function("() => window.__copied.length > 1")
    from urllib.parse import quote

    assert t.copied()[-1].endswith(f"\n原文链接：{url}#{quote(heading_id, safe='')}")


@pytest.mark.browser
def test_no_offer_outside_the_speech_text(browser, sites, servers, tab):
    t = tab(page_url(sites, servers, "http"), STUB_CLIPBOARD)
    p = t.page
    p.evaluate(SELECT_JS, [".speech-body p", 1, 0, 4])
    p.wait_for_selector(".cite-quote", state="visible")
    p.evaluate(SELECT_JS, ["h1", 0, 0, 4])  # the title, outside the body
    p.wait_for_selector(".cite-quote", state="hidden")
    p.evaluate(SELECT_JS, [".speech-body p", 1, 0, 4])
    p.wait_for_selector(".cite-quote", state="visible")
    p.evaluate("getSelection().removeAllRanges()")
    p.wait_for_selector(".cite-quote", state="hidden")
    assert t.copied() == []


@pytest.mark.browser
@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_printout_carries_source_address_and_printing_date(browser, sites, servers, tab, scheme):
    t = tab(page_url(sites, servers, scheme))
    p = t.page
    assert not p.is_visible(".print-source"), "the source line is for paper only"
    p.emulate_media(media="print")
    assert p.is_visible(".print-source")
    day = t.today()
    line = t.text(".print-source")
    assert line == (
        f"来源：{SITE_TITLE}\u3000网址：{BASE_URL}speeches/2020/{SLUG}.html"
        f"\u3000打印日期：{day[0]}年{day[1]}月{day[2]}日"
    )
    state = p.evaluate("""() => ({
      tools: !!document.querySelector('.cite-tools').getClientRects().length,
      cite: !!document.querySelector('[data-cite="gb7714"]').getClientRects().length,
      after: document.querySelector('.print-source').getBoundingClientRect().top
             > document.querySelector('.speech-body').getBoundingClientRect().bottom,
    })""")
    assert state == {"tools": False, "cite": True, "after": True}


@pytest.mark.browser
def test_the_printing_date_is_set_again_before_printing(browser, sites, servers, tab):
    """A page left open overnight prints the day it is printed: beforeprint fills the date in."""
    t = tab(page_url(sites, servers, "file"))
    p = t.page
    p.evaluate("document.querySelector('[data-print-date]').textContent = ''")
    p.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    day = t.today()
    assert t.text("[data-print-date]") == f"\u3000打印日期：{day[0]}年{day[1]}月{day[2]}日"


@pytest.mark.browser
def test_without_javascript_the_citation_is_still_there(browser, sites, servers, tab):
    t = tab(page_url(sites, servers, "http"), java_script_enabled=False)
    assert t.text('[data-cite="gb7714"]') == f"王强. {TITLE}[EB/OL]. (2020-03-05). {BASE_URL}speeches/2020/{SLUG}.html."
    assert not t.page.is_visible(".cite-tools")


@pytest.mark.browser
def test_hostile_title_in_the_browser(browser, sites, servers, tab):
    t = tab(page_url(sites, servers, "file", rel="speeches/2017/hostile.html"), STUB_CLIPBOARD)
    p = t.page
    assert p.evaluate("window.__x") is None
    assert (
        json.loads(p.eval_on_selector('script[type="application/ld+json"]', "s => s.textContent"))["name"]
        == HOSTILE_TITLE
    )
    p.click('[data-cite-format="bibtex"]')
    bib = t.text("[data-cite-output]")
    assert balanced(bib) and "\\&" in bib and "\\{\\{ 7*7 \\}\\}" in bib
    p.click('[data-cite-format="csl"]')
    assert json.loads(t.text("[data-cite-output]"))[0]["title"] == HOSTILE_TITLE


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_with_the_output_open_and_the_quotation_button_shown(browser, sites, servers, scheme):
    """What the static axe run of tests/test_standards.py cannot see: the block once used."""
    from test_standards import format_violations, npm_tools

    axe_js = npm_tools() / "axe-core" / "axe.min.js"
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1000, "height": 900}, color_scheme=scheme, bypass_csp=True
    )  # to inject axe
    try:
        p = context.new_page()
        p.goto(page_url(sites, servers, "http"), wait_until="load")
        p.click('[data-cite-format="bibtex"]')
        p.evaluate(SELECT_JS, [".speech-body p", 1, 0, 6])
        p.wait_for_selector(".cite-quote", state="visible")
        p.add_script_tag(path=str(axe_js))
        result = p.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    finally:
        context.close()
    bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, format_violations(bad)


@pytest.mark.browser
def test_phone_width(browser, sites, servers, tab):
    """At 360 px the long URLs wrap (no sideways scrolling) and the buttons are 44 px tall."""
    t = tab(page_url(sites, servers, "http"), STUB_CLIPBOARD, viewport={"width": 360, "height": 800})
    p = t.page
    p.click('[data-cite-format="bibtex"]')
    assert p.evaluate("document.documentElement.scrollWidth") <= 360
    heights = p.eval_on_selector_all(
        ".cite button", "bs => bs.filter(b => b.offsetParent).map(b => b.getBoundingClientRect().height)"
    )
    assert len(heights) == 5 and min(heights) >= 43.5, heights
