"""Injection (issue 7): hostile content and hostile queries never run a script; they show as text.

A site is built whose site title, speech titles, metadata (speaker, organization, location,
source, summary, tags, meeting type, themes), bodies (raw HTML with ``<script>``, event
handlers, ``javascript:`` / ``data:`` URLs, ``<iframe>``, ``<svg onload>``, Markdown links and
attribute lists, mutation-XSS shapes) and file names are hostile. Every page type is then
loaded in headless Chromium (Debian's /usr/bin/chromium via Playwright), from ``file://``:

* with the pages' Content-Security-Policy *bypassed*, so that escaping and sanitising are tested
  on their own: no dialog opens, the flag the payloads try to set stays unset, no element has
  an event-handler attribute or a script URL, the only scripts are the site's own files, and
  the hostile texts appear literally (escaped) where they are shown;
* with the policy in force: no CSP violation is reported on any page (nothing inline was there
  to block), the search page still answers, and an inline script injected into a page is
  blocked (and would have run without the policy, so the check is not vacuous).

feed.xml and sitemap.xml are parsed as XML and give back the hostile texts exactly.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from conftest import Site

from site_builder.schema import clean_text

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
BASE_URL = "https://archive.example/讲话/"

# Every payload either calls alert() (a dialog) or sets window.__xss.
SITE_TITLE = "档案<script>alert('site')</script>\"'&amp;"
TITLE = (
    "在<script>alert('title')</script>会议上的\"讲话\"&<b>粗</b>{{ 7*7 }}{% raw %}"
    "</title><img src=x onerror=alert('title2')>'\u2028]]><!--"
)
SPEAKER = "张三\"><script>window.__xss='speaker'</script>"
ORGANIZATION = "<iframe src=\"javascript:alert('org')\"></iframe>X局"
LOCATION = "<svg/onload=alert('location')>会议室"
SOURCE = "javascript:alert('source')"
SUMMARY = "摘要</p><script>alert('summary')</script><img src=x onerror=\"window.__xss='summary'\">]]>"
MEETING_TYPE = "<img src=x onerror=alert('mt')>座谈会"
THEMES = ["<svg onload=alert('theme')>", "主题\"><script>alert('theme2')</script>"]
TAGS = ["<b onmouseover=alert('tag')>标签</b>", "{{ config }}"]
HOSTILE_FILE = "2020/\"><img src=x onerror=alert('file')>.md"

BODY = """\
同志们：如履薄冰。<script>alert('body')</script><script>window.__xss='body'</script>

## 一、<img src=x onerror=alert('heading')>标题 &lt;script&gt;alert('toc')&lt;/script&gt;

[Markdown 链接](javascript:alert('mdlink')) [链接](<javascript:alert('mdlink2')>)
![图片](x" onerror="alert('mdimg')) <javascript:alert('autolink')> [数据](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

[引用链接][r]

[r]: javascript:alert('reference')

带属性的段落
{: onclick="alert('attrlist')" style="color:red" }

## 二、代码 {: onmouseover="alert('attrlist2')" }

代码：`<script>alert('code')</script>`，模板：{{ 7*7 }}{% if true %}x{% endif %}。

<div markdown="1">*内部* <img src=x onerror=alert('md_in_html')></div>

<img src=x onerror="window.__xss='img'"> <svg onload="alert('svg')"><circle r=1 /></svg>

<iframe src="javascript:alert('iframe')"></iframe> <iframe srcdoc="<script>alert('srcdoc')</script>"></iframe>

<a href="javascript:alert('a')">链接一</a> <a href="JaVaScRiPt:alert('case')">链接二</a>
<a href="jav&#x09;ascript:alert('entity')">链接三</a> <a href="&#106;avascript:alert('entity2')">链接四</a>
<a href=" javascript:alert('space')">链接五</a> <a href="vbscript:msgbox('vb')">链接六</a>
<a href="data:text/html,<script>alert('data')</script>">链接七</a>

<object data="javascript:alert('object')"></object> <embed src="javascript:alert('embed')">

<form action="javascript:alert('form')"><button formaction="javascript:alert('fa')">提交</button></form>

<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')></style></mglyph></table></mtext></math>

<noscript><p title="</noscript><img src=x onerror=alert('noscript')>"></p></noscript>

<style>body { background: url("javascript:alert('css')") }</style>

<div style="background-image:url(javascript:alert('style'))">样式</div>

<meta http-equiv="refresh" content="0;url=javascript:alert('meta')">

<base href="javascript:alert('base')//">

<input autofocus onfocus="alert('focus')"> <details open ontoggle="alert('toggle')"><summary>s</summary></details>

<video><source onerror="alert('video')"></video> <body onload="alert('bodytag')">

<scr<script>ipt>alert('nested')</scr</script>ipt> <img src="x" onerror	=alert('tab')>

<x onclick="alert('custom')">自定义</x> <table background="javascript:alert('table')"><tr><td>表</td></tr></table>

<svg><a xlink:href="javascript:alert('xlink')"><text>t</text></a><script>alert('svgscript')</script></svg>

<p>未闭合的 <b onmouseover="alert('unclosed')">粗体 <a href="javascript:alert('unclosed2')">链接
"""

NORMAL_BODY = "同志们：\n\n要如履薄冰，恪尽职守。<script>window.__xss='normal'</script>\n"

QUERIES = [
    "<img src=x onerror=alert('q1')>",
    "\"><svg onload=alert('q2')>",
    "</script><script>window.__xss='q3'</script>",
    "javascript:alert('q4')",
    "'-alert('q5')-'",
    "alert",  # finds the hostile speech: its excerpt holds the payload texts
    "\"<script>alert('q6')</script>\"",  # a quoted phrase
    '如履薄冰 -"<b>"',
    "\"unclosed <img src=x onerror=alert('q7')>",  # a malformed query: the error shows it
]
FILTERS = {
    "meeting_type": "<img src=x onerror=alert('f1')>",
    "theme": "\"><script>alert('f2')</script>",
    "year": "<svg onload=alert('f3')>",
}


def _yaml(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def hostile_speech(title, date, body, **fields) -> str:
    lines = ["---", f"title: {_yaml(title)}", f"date: {date}"]
    lines += [f"{key}: {_yaml(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n---\n" + body


# --------------------------------------------------------------------------------------------
# The site
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    s = Site(tmp_path_factory.mktemp("injection") / "site")
    s.config(f"title = {_yaml(SITE_TITLE)}\nbase_url = {_yaml(BASE_URL)}\n")
    s.write(
        HOSTILE_FILE,
        hostile_speech(
            TITLE,
            "2020-03-05",
            BODY,
            meeting_type=MEETING_TYPE,
            themes=THEMES,
            speaker=SPEAKER,
            organization=ORGANIZATION,
            location=LOCATION,
            source=SOURCE,
            summary=SUMMARY,
            tags=TAGS,
        ),
    )
    s.write(
        "2021/正常的讲话.md",
        hostile_speech(
            "正常的讲话", "2021-05-01", NORMAL_BODY, meeting_type="工作会议", themes=[THEMES[0], "队伍建设"]
        ),
    )
    s.write(
        "2019/<svg onload=alert('file2')>.md",
        hostile_speech(
            "<svg onload=alert('t3')>",
            "2019",
            "正文 <img src=x onerror=alert('b3')>\n",
            meeting_type=MEETING_TYPE,
            themes=["队伍建设"],
        ),
    )
    assert s.run("build", "-q") == 0
    return s


def html_pages(site: Site) -> list[str]:
    return sorted(p.relative_to(site.output).as_posix() for p in site.output.rglob("*.html"))


def speech_page(site: Site) -> str:
    [page] = [p for p in html_pages(site) if p.startswith("speeches/2020/")]
    return page


def page_url(site: Site, rel: str, query: str = "") -> str:
    return (site.output / rel).as_uri() + query


# --------------------------------------------------------------------------------------------
# Without a browser: the files themselves
# --------------------------------------------------------------------------------------------


def test_hostile_file_names_become_safe_output_paths(site):
    for rel in html_pages(site):
        assert not re.search(r"[<>\"'\\]", rel), rel
    assert len([p for p in html_pages(site) if p.startswith("speeches/")]) == 3


class _Scan(HTMLParser):
    """The start tags of a page as an HTML parser sees them (text and attribute values decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)


def test_no_page_holds_markup_from_content(site):
    """What a parser sees in each page's bytes: no handler attribute, no script URL, no inline
    script or style, no element the site does not write itself; no template expression ran."""
    for rel in html_pages(site):
        scan = _Scan()
        scan.feed((site.output / rel).read_text(encoding="utf-8"))
        for tag, attrs in scan.tags:
            where = f"{rel}: <{tag} {attrs}>"
            assert tag not in ("iframe", "object", "embed", "frame", "style", "math"), where
            assert tag != "noscript" or rel in ("search/index.html", "compare/index.html"), where  # their own
            assert not any(name.startswith("on") or name == "style" for name in attrs), where
            for name in ("href", "src", "action", "formaction", "data", "srcset", "xlink:href", "background"):
                value = re.sub(r"[\s\x00-\x1f]", "", attrs.get(name, "")).lower()
                assert not value.startswith(("javascript:", "vbscript:", "data:")), where
            if tag == "script":  # the site's own scripts, and JSON-LD data (not run)
                assert attrs.get("src", "").endswith(
                    (
                        "static/search.js",
                        "static/cite.js",
                        "static/compare.js",
                        "static/diff_match_patch.min.js",
                        "static/passage.js",
                    )
                ) or attrs == {"type": "application/ld+json"}, where
            if tag == "base":
                assert rel == "404.html" and attrs["href"] == BASE_URL, where
            if tag == "form":
                assert re.fullmatch(r"[./]*(search/|compare/)?index\.html", attrs.get("action", "")), where
            if tag == "meta":
                assert "http-equiv" not in attrs or attrs["http-equiv"] == "Content-Security-Policy", where
            if tag == "svg":
                assert attrs.get("class") == "chart", where
        text = "".join(scan.text)
        assert "49" not in re.sub(r"\d{3,}", "", text), f"{rel}: a template expression ran"


def test_feed_and_sitemap_are_xml_that_gives_back_the_texts(site):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(site.output / "feed.xml").getroot()
    assert feed.find("a:title", ns).text == clean_text(SITE_TITLE)
    entries = {e.find("a:title", ns).text: e for e in feed.findall("a:entry", ns)}
    entry = entries[clean_text(TITLE)]
    assert entry.find("a:summary", ns).text == clean_text(SUMMARY)
    assert entry.find("a:author/a:name", ns).text == clean_text(SPEAKER)
    terms = {c.get("term") for c in entry.findall("a:category", ns)}
    assert terms == {clean_text(MEETING_TYPE), *map(clean_text, THEMES)}
    for e in feed.findall("a:entry", ns):
        link = e.find("a:link", ns).get("href")
        assert link.startswith("https://archive.example/") and not re.search(r"[<>\"' ]", link), link
    sitemap = ET.parse(site.output / "sitemap.xml").getroot()
    locs = [el.text for el in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert len(locs) >= 10
    for loc in locs:
        assert loc.startswith("https://archive.example/") and not re.search(r"[<>\"' ]", loc), loc


# --------------------------------------------------------------------------------------------
# In Chromium
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the python package playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Visit:
    """A page opened in a fresh context, with everything that could reveal a script recorded."""

    def __init__(self, browser, url: str, csp: bool, wait_search: bool = False, site: Site | None = None):
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(locale="zh-CN", bypass_csp=not csp)
        page = self.page = self.context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        # Route nothing off the machine: a payload that tries to load something gets a 404; the
        # site's published address (the 404 page's <base>) is answered from its files.
        def answer(route):
            url = unquote(route.request.url.split("?")[0])
            target = site.output / url[len(BASE_URL) :] if site and url.startswith(BASE_URL) else None
            if target is not None and target.is_file():
                route.fulfill(path=str(target))
            else:
                route.fulfill(status=404, body="")

        self.context.route(re.compile(r"^https?://"), answer)
        page.goto(url, wait_until="load")
        if wait_search:
            page.wait_for_function(
                "() => ['done', 'error'].includes(document.getElementById('search-app').dataset.searchState)",
                timeout=15000,
            )
        page.wait_for_timeout(150)  # let onerror/onload handlers of failed images fire
        self.flag = page.evaluate("() => window.__xss === undefined ? null : String(window.__xss)")

    def close(self):
        self.context.close()

    def csp_violations(self) -> list[str]:
        return [c for c in self.console if "Content Security Policy" in c]

    def dom_problems(self) -> list[str]:
        return self.page.evaluate(
            r"""BASE_URL => {
          const bad = [];
          const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'background', 'srcset',
                            'xlink:href', 'poster', 'srcdoc', 'content'];
          for (const el of document.querySelectorAll('*')) {
            for (const a of el.attributes) {
              const name = a.name.toLowerCase();
              const v = a.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
              if (name.startsWith('on')) bad.push(`${el.tagName} ${name}`);
              if (name === 'style') bad.push(`${el.tagName} style=${a.value}`);
              if (urlAttrs.includes(name) && /^(javascript|vbscript|data:text\/html)/.test(v.replace(/^[^a-z]+/, '')) &&
                  !(name === 'content' && el.tagName === 'META'))
                bad.push(`${el.tagName} ${name}=${a.value}`);
            }
          }
          for (const el of document.querySelectorAll('iframe, object, embed, frame, form[action^="javascript"], base, body style, main meta, math'))
            if (!(el.tagName === 'BASE' && location.pathname.endsWith('/404.html') && el.getAttribute('href') === BASE_URL))
              bad.push(`element ${el.tagName}`);
          for (const s of document.scripts) {
            if (!s.src && s.type === 'application/ld+json') continue;  // data, not run
            if (!s.src || !/\/static\/(search|cite|compare|passage|diff_match_patch\.min)\.js$/.test(new URL(s.src).pathname)) bad.push(`script ${s.src || s.textContent.slice(0, 60)}`);
          }
          return bad;
        }""",
            BASE_URL,
        )

    def text(self, selector: str = "body") -> str:
        return self.page.evaluate(
            "s => Array.from(document.querySelectorAll(s)).map(e => e.textContent).join('\\n')", selector
        )


def assert_nothing_ran(v: Visit, where: str) -> None:
    assert not v.dialogs, f"{where}: a dialog opened: {v.dialogs}"
    assert v.flag is None, f"{where}: window.__xss was set to {v.flag!r}"
    problems = v.dom_problems()
    assert not problems, f"{where}: {problems[:8]}"


@pytest.mark.browser
def test_the_harness_sees_a_script_that_runs(browser, tmp_path):
    """A page that does run the payloads is caught: dialogs, the flag and the DOM scan."""
    page = tmp_path / "vulnerable.html"
    page.write_text(
        "<!doctype html><title>x</title><p><img src=x onerror=\"window.__xss='img'\">" + SPEAKER + TITLE,
        encoding="utf-8",
    )
    v = Visit(browser, page.as_uri(), csp=False)
    try:
        assert v.dialogs and v.flag and v.dom_problems()
    finally:
        v.close()


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["home", "speech", "other speeches", "listings", "taxonomies", "stats", "404"])
def test_hostile_content_never_runs_and_shows_as_text(browser, site, kind):
    pages = html_pages(site)
    chosen = {
        "home": ["index.html"],
        "speech": [speech_page(site)],
        "other speeches": [p for p in pages if p.startswith("speeches/") and p != speech_page(site)],
        "listings": [p for p in pages if re.match(r"(years|themes|meeting-types)/[^/]+/", p)],
        "taxonomies": ["years/index.html", "themes/index.html", "meeting-types/index.html"],
        "stats": ["stats/index.html"],
        "404": ["404.html"],
    }[kind]
    assert chosen
    for rel in chosen:
        v = Visit(browser, page_url(site, rel), csp=False)
        try:
            assert_nothing_ran(v, rel)
            assert not v.errors, f"{rel}: {v.errors}"
            text = v.text()
            if kind in ("home", "listings", "speech", "stats", "taxonomies", "404"):
                assert clean_text(SITE_TITLE) in text, rel
            if kind == "speech":
                assert v.text("h1") == clean_text(TITLE)
                facts = v.text(".speech-facts")
                for value in (SPEAKER, ORGANIZATION, LOCATION, SOURCE, MEETING_TYPE, *THEMES, *TAGS):
                    assert clean_text(value) in facts, value
                assert v.text(".summary") == clean_text(SUMMARY)
                assert v.page.get_attribute('meta[name="author"]', "content") == clean_text(SPEAKER)
                assert v.page.get_attribute('meta[name="description"]', "content") == clean_text(SUMMARY)
                assert clean_text(TITLE) in v.page.title()
                assert "<script>alert('toc')</script>" in v.text(".toc")
                assert "<script>alert('code')</script>" in v.text(".speech-body code")
                assert "{{ 7*7 }}" in v.text(".speech-body")
                links = v.page.evaluate(
                    "() => Array.from(document.querySelectorAll('.speech-body a')).map(a => a.getAttribute('href'))"
                )
                assert all(
                    h is None or not h.lower().lstrip().startswith(("javascript", "jav", "vbscript", "data"))
                    for h in links
                ), links
            if kind == "other speeches" and "正常" in v.text("h1"):
                assert clean_text(TITLE) in v.text(".prev-next")
            if kind in ("home", "listings"):
                assert any(t in text for t in (clean_text(TITLE), "<svg onload=alert('t3')>", "正常的讲话")), rel
            if kind == "stats":
                assert clean_text(MEETING_TYPE) in text and clean_text(THEMES[1]) in text
            if kind == "taxonomies" and rel.startswith("themes/"):
                assert all(clean_text(t) in text for t in THEMES)
        finally:
            v.close()


def _search(site: Site, q: str, **filters) -> str:
    params = "&".join(f"{k}={quote(v)}" for k, v in {"q": q, **filters}.items())
    return page_url(site, "search/index.html", "?" + params)


@pytest.mark.browser
@pytest.mark.parametrize("q", QUERIES)
def test_hostile_queries_never_run_and_are_echoed_as_text(browser, site, q):
    from site_builder.search.query import QueryError, parse

    v = Visit(browser, _search(site, q), csp=False, wait_search=True)
    try:
        assert_nothing_ran(v, f"search {q!r}")
        assert not v.errors, v.errors
        assert v.page.input_value("#search-q") == q
        try:
            parse(q)
        except QueryError:
            assert v.page.get_attribute("#search-app", "data-search-state") == "error"
            assert v.text(".search-error").strip()
        else:
            assert v.page.get_attribute("#search-app", "data-search-state") == "done"
            assert v.text(".search-echo") == q
        if q == "alert":
            results = v.text(".search-results")
            assert clean_text(TITLE) in results  # the title of the hit, as text
            assert "alert(" in results  # the excerpt shows the payload text, as text
    finally:
        v.close()


@pytest.mark.browser
def test_hostile_filters_never_run(browser, site):
    v = Visit(browser, _search(site, "讲话", **FILTERS), csp=False, wait_search=True)
    try:
        assert_nothing_ran(v, "search filters")
        assert not v.errors, v.errors
    finally:
        v.close()


# --------------------------------------------------------------------------------------------
# The Content Security Policy, in force
# --------------------------------------------------------------------------------------------

#: style.css sets body { margin: 0 } (a browser's own style sheet: 8px).
STYLED = "() => getComputedStyle(document.body).marginTop === '0px'"


@pytest.mark.browser
def test_no_csp_violation_on_any_page_type(browser, site):
    pages = [
        "index.html",
        speech_page(site),
        "years/2020/index.html",
        "themes/index.html",
        "stats/index.html",
        "404.html",
    ]
    for rel in pages:
        v = Visit(browser, page_url(site, rel), csp=True, site=site)
        try:
            assert not v.csp_violations(), f"{rel}: {v.csp_violations()}"
            assert not v.errors, f"{rel}: {v.errors}"
            assert v.page.evaluate(STYLED), f"{rel}: the site's stylesheet was not applied"
        finally:
            v.close()
    for q in ("如履薄冰", QUERIES[0], '"unclosed'):
        v = Visit(browser, _search(site, q), csp=True, wait_search=True)
        try:
            assert not v.csp_violations(), f"search {q!r}: {v.csp_violations()}"
            assert not v.errors, v.errors
        finally:
            v.close()


@pytest.mark.browser
def test_search_answers_from_file_under_the_csp(browser, site):
    v = Visit(browser, _search(site, "如履薄冰"), csp=True, wait_search=True)
    try:
        assert v.page.get_attribute("#search-app", "data-search-state") == "done"
        hits = v.page.locator("[data-search-result]").count()
        assert hits == 2, v.text(".search-results")
        assert not v.csp_violations()
    finally:
        v.close()


@pytest.mark.browser
def test_the_csp_blocks_an_injected_inline_script(browser, site, tmp_path):
    """Were sanitising ever to fail, the policy would still stop inline scripts and handlers."""
    rel = speech_page(site)
    html = (site.output / rel).read_text(encoding="utf-8")
    injected = html.replace(
        "</main>", "<script>window.__xss='inline'</script><img src=x onerror=\"alert('handler')\"></main>", 1
    )
    copy = site.output / Path(rel).with_name("injected-copy.html")
    copy.write_text(injected, encoding="utf-8")
    try:
        blocked = Visit(browser, copy.as_uri(), csp=True)
        try:
            assert blocked.flag is None and not blocked.dialogs
            assert len(blocked.csp_violations()) >= 2, blocked.console
        finally:
            blocked.close()
        ran = Visit(browser, copy.as_uri(), csp=False)  # the same page without the policy
        try:
            assert ran.flag == "inline" and ran.dialogs == ["handler"]
        finally:
            ran.close()
    finally:
        copy.unlink()


@pytest.mark.browser
def test_the_csp_blocks_injected_styles(browser, site):
    """Only the site's own style sheets apply: an injected <style> or style attribute does not."""
    rel = speech_page(site)
    html = (site.output / rel).read_text(encoding="utf-8")
    injected = html.replace(
        "</main>",
        '<style>body { margin: 77px !important }</style><p id=styled style="margin-left: 55px">x</p></main>',
        1,
    )
    copy = site.output / Path(rel).with_name("styled-copy.html")
    copy.write_text(injected, encoding="utf-8")
    check = "() => [getComputedStyle(document.body).marginTop, getComputedStyle(document.getElementById('styled')).marginLeft]"
    try:
        blocked = Visit(browser, copy.as_uri(), csp=True)
        try:
            assert blocked.page.evaluate(check) == ["0px", "0px"]
            assert len(blocked.csp_violations()) >= 2, blocked.console
        finally:
            blocked.close()
        applied = Visit(browser, copy.as_uri(), csp=False)
        try:
            assert applied.page.evaluate(check) == ["77px", "55px"]
        finally:
            applied.close()
    finally:
        copy.unlink()


def test_search_answers_escape_content(site, capsys):
    """The Whoosh answers (CLI --json, the server's /api/search) carry excerpts as HTML in which
    only <mark> is markup: the payload texts of the body are escaped."""
    assert site.run("search", "alert", "--json", "--limit", "50") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["total"] >= 1
    for hit in result["hits"]:
        assert not re.search(r"<(?!/?mark>)", hit["excerpt"]), hit["excerpt"]
        assert "alert" in hit["excerpt"]
    titles = {h["title"] for h in result["hits"]}
    assert clean_text(TITLE) in titles or "<svg onload=alert('t3')>" in titles
    assert site.run("search", "<img src=x onerror=alert(1)>", "--json") == 0
    echoed = json.loads(capsys.readouterr().out)
    assert echoed["query"] == "<img src=x onerror=alert(1)>" and echoed["total"] == 0
