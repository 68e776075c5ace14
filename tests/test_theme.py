"""The default theme: page structure on every generated page, and in Chromium how a phone, a
desktop screen and a printer see the pages (no horizontal scrolling at 360 px, tap targets of at
least 44 px, a speech that prints as a clean document, dark mode).

Uses the sample site of tests/test_standards.py. The browser tests need Chromium (see there)
and are skipped, saying why, without it. Set SB_SCREENSHOTS=DIR to keep screenshots of a speech
at 360 px, 1280 px, in print and in dark mode.
"""

from __future__ import annotations

import base64
import itertools
import os
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from test_standards import (
    BASE_URL,
    BIG_THEME,
    PAGES,
    SITE_TITLE,
    html_pages,
    launch_chromium,
    open_context,
    sample_site,
    serve_dir,
)


# --------------------------------------------------------------------------------------------
# Static structure of every page
# --------------------------------------------------------------------------------------------
class Outline(HTMLParser):
    """What the structure tests need from one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.html_lang = None
        self.title = ""
        self.headings: list[tuple[int, str]] = []
        self.links: list[tuple[str, dict]] = []  # (tag, attrs) with href or src
        self.ids: set[str] = set()
        self.first_focusable: dict | None = None
        self.stack: list[str] = []
        self._in_title = False
        self._heading: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "title":
            self._in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]
        if tag in ("a", "link", "script", "img", "form") and ({"href", "src", "action"} & a.keys()):
            self.links.append((tag, a))
        if (
            self.first_focusable is None
            and "body" in self.stack
            and ((tag == "a" and "href" in a) or tag in ("button", "input", "select", "textarea"))
        ):
            self.first_focusable = a
        if tag not in ("meta", "link", "br", "img", "input", "hr", "source", "wbr"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if self._heading and re.fullmatch(r"h[1-6]", tag):
            self.headings.append((self._heading[0], self._heading[1].strip()))
            self._heading = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._heading is not None:
            self._heading[1] += data


def outline(path: Path) -> Outline:
    parser = Outline()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site() -> Path:
    return sample_site()


@pytest.fixture(scope="module")
def outlines(site) -> dict[str, Outline]:
    return {p.relative_to(site).as_posix(): outline(p) for p in html_pages(site)}


def test_every_page_has_lang_title_one_h1_and_ordered_headings(outlines):
    for path, o in outlines.items():
        assert o.html_lang == "zh-CN", path
        assert o.title.strip() and SITE_TITLE in o.title, (path, o.title)
        levels = [level for level, _ in o.headings]
        assert levels.count(1) == 1 and levels[0] == 1, (path, o.headings)
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, f"{path}: heading h{after} follows h{before}: {o.headings}"


def test_titles_tell_pages_apart(outlines):
    others = {p: o.title for p, o in outlines.items() if not p.startswith("speeches/")}
    assert len(set(others.values())) == len(others), sorted(others.values())
    for path, o in outlines.items():
        if path.startswith("speeches/"):
            h1 = next(text for level, text in o.headings if level == 1)
            assert o.title.startswith(h1), (path, o.title, h1)
    assert "第2页" in outlines[unquote(PAGES["listing-page-2"])].title


def test_skip_link_first_and_main_landmark(outlines):
    for path, o in outlines.items():
        assert "main" in o.ids, path
        if path == "404.html":  # under <base>, "#main" would lead to the home page
            continue
        assert o.first_focusable and o.first_focusable.get("href") == "#main", (path, o.first_focusable)


def test_feed_is_announced_on_every_page(site, outlines):
    for path, o in outlines.items():
        feeds = [
            a
            for tag, a in o.links
            if tag == "link" and a.get("rel") == "alternate" and a.get("type") == "application/atom+xml"
        ]
        assert len(feeds) == 1, path
        assert resolve(site, path, feeds[0]["href"]) == site / "feed.xml", (path, feeds[0]["href"])


def resolve(site: Path, page: str, url: str) -> Path | None:
    """The file a link on ``page`` points to (None for other sites)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        if not url.startswith(BASE_URL):
            return None
        target = unquote(urlsplit(url).path).removeprefix(urlsplit(BASE_URL).path)
    elif url.startswith("/"):
        return None
    else:
        target = (
            posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(parts.path))) if parts.path else page
        )
    return site / target


def test_every_internal_link_resolves(site, outlines):
    """Every href/src/action of every page names a file that exists, and every #fragment an id."""
    broken = []
    checked = 0
    for path, o in outlines.items():
        for tag, a in o.links:
            url = a.get("href") or a.get("src") or a.get("action")
            if url.startswith(("mailto:", "data:", "javascript:")):
                continue
            if tag == "img" and url == "x.png":  # the sample speech's own (missing) image
                continue
            target = resolve(site, path, url)
            if target is None:
                continue
            if not target.is_file():
                broken.append(f"{path}: {tag} {url}")
                continue
            fragment = urlsplit(url).fragment
            if fragment and target.suffix == ".html":
                ids = outlines[target.relative_to(site).as_posix()].ids
                if unquote(fragment) not in ids:
                    broken.append(f"{path}: {url} (no id {unquote(fragment)!r})")
            checked += 1
    assert not broken, "\n".join(broken[:30])
    assert checked > 20 * len(outlines), f"only {checked} links checked on {len(outlines)} pages"


def test_404_links_work_from_any_depth(site, outlines):
    """A server shows 404.html at any path: <base> resolves its links from the site's root."""
    html = (site / "404.html").read_text(encoding="utf-8")
    assert f'<base href="{BASE_URL}">' in html
    assert html.index("<base ") < html.index("<link "), "<base> must come before the first URL"
    for tag, a in outlines["404.html"].links:
        url = a.get("href") or a.get("src") or a.get("action")
        assert not url.startswith(("#", "/", "..")), (tag, url)


def nav_current(o: Outline) -> dict[str, str]:
    """Main-nav and site-title links that carry aria-current → its value."""
    return {
        a["href"]: a["aria-current"]
        for tag, a in o.links
        if tag == "a" and "aria-current" in a and not a.get("class", "").startswith(("current", "tag"))
    }


def test_navigation_marks_the_current_page(outlines):
    assert nav_current(outlines["years/index.html"]) == {"index.html": "page"}
    assert nav_current(outlines["index.html"]) == {"index.html": "page"}
    year = next(p for p in outlines if re.fullmatch(r"years/\d{4}/index\.html", p))
    assert nav_current(outlines[year]) == {"../index.html": "true"}
    assert nav_current(outlines["stats/index.html"]) == {"index.html": "page"}
    speech = outlines[unquote(PAGES["speech"])]
    assert nav_current(speech) == {}


def test_speech_page_shows_facts_toc_and_escapes(site, outlines):
    path = unquote(PAGES["speech"])
    html = (site / path).read_text(encoding="utf-8")
    o = outlines[path]
    for label in ("日期", "讲话人", "单位", "地点", "会议类型", "主题", "字数", "标签", "来源"):
        assert f"<dt>{label}</dt>" in html, label
    assert "2021年3月5日" in html and "市行政中心第一会议室" in html
    # the title's markup is text, escaped everywhere it appears
    assert "<b>“务实”</b>" not in html
    assert (
        "&lt;b&gt;“务实”&lt;/b&gt; &amp; &#39;R&amp;D&#39;" in html
        or "&lt;b&gt;“务实”&lt;/b&gt; &amp; 'R&amp;D'" in html
    )
    assert "<script>alert" not in html and "onerror" not in html
    toc = [
        a["href"]
        for tag, a in o.links
        if tag == "a"
        and a.get("href", "").startswith("#")
        and a["href"] != "#main"
        and "permalink" not in a.get("class", "")
        and "data-text-link" not in a
    ]  # the ¶ links (#13) go to their own blocks; 纯文本 gets its address from cite.js
    assert len(toc) == 4 and all(unquote(h[1:]) in o.ids for h in toc), toc
    assert [level for level, _ in o.headings][:2] == [1, 2]


def test_listing_pagination(site, outlines):
    first = outlines[unquote(PAGES["listing"])]
    second = outlines[unquote(PAGES["listing-page-2"])]
    html = (site / unquote(PAGES["listing"])).read_text(encoding="utf-8")
    assert 'aria-label="分页"' in html and 'aria-current="page"' in html
    assert "…" in html, "a long pagination elides the middle pages"
    rels = {a.get("rel") for tag, a in second.links if tag == "a"}
    assert {"prev", "next"} <= rels
    assert first.headings[0] == (1, BIG_THEME)


# --------------------------------------------------------------------------------------------
# In the browser
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def base_url(site):
    with serve_dir(site) as url:
        yield url


#: Glyph boxes with a CJK font's advance widths (1 em for a Chinese character, 0.5 em for ASCII):
#: see tests/fixtures/fonts/. Layout tests measure with it, so that what they measure does not
#: depend on the fonts installed (without a CJK font, Chromium draws 首页 about 11 px wide).
METRICS_FONT = Path(__file__).resolve().parent / "fixtures" / "fonts" / "sb-metrics.ttf"
METRICS_CSS = """@font-face { font-family: "SB Metrics"; src: url(data:font/ttf;base64,%s) format("truetype"); }
:root { --font-sans: "SB Metrics"; --font-serif: "SB Metrics"; }
code, kbd, pre, input, button, select, textarea { font-family: "SB Metrics"; }"""


def use_metrics_font(page) -> None:
    """Lay the page out with METRICS_FONT instead of the theme's system fonts; check it is used."""
    page.add_style_tag(content=METRICS_CSS % base64.b64encode(METRICS_FONT.read_bytes()).decode("ascii"))
    page.evaluate(
        "async () => { await document.fonts.load('17px \"SB Metrics\"', '首页'); await document.fonts.ready; }"
    )
    probe = page.evaluate("""() => {
      const s = document.createElement('span');
      s.textContent = '首页20';
      s.style.cssText = 'position: absolute; white-space: nowrap; font-size: 17px';
      document.body.appendChild(s);
      const r = [s.getBoundingClientRect().width, parseFloat(getComputedStyle(s).fontSize)];
      s.remove();
      return r;
    }""")
    assert probe[0] == pytest.approx(3 * probe[1], abs=0.5), f"the metrics font is not in use: {probe}"


@pytest.fixture
def page_at(browser, site, base_url):
    contexts = []

    def open_page(name: str, width: int = 360, media: str = "screen", scheme: str = "light", metrics_font: bool = True):
        # The theme's CSP allows no inline style: the test's style (the metrics font) bypasses it.
        context = open_context(
            browser, site, viewport={"width": width, "height": 800}, color_scheme=scheme, bypass_csp=metrics_font
        )
        contexts.append(context)
        page = context.new_page()
        if media == "print":
            page.emulate_media(media="print")
        response = page.goto(base_url + PAGES[name], wait_until="networkidle")
        assert response.ok, f"{PAGES[name]}: HTTP {response.status}"
        if metrics_font:
            use_metrics_font(page)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", list(PAGES))
def test_phone_width_has_no_horizontal_scroll(page_at, name):
    page = page_at(name, width=360)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name} is {width}px wide at a 360px viewport"


TAP_TARGETS_JS = """() => {
  const small = [];
  let measured = 0;
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, summary')) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('.speech-body, svg, .skip-link, .visually-hidden')) continue;
    const para = el.closest('p:not(.speech-meta)');  // a link inside a sentence is exempt (WCAG 2.5.8)
    if (para && para.textContent.trim() !== el.textContent.trim()) continue;
    measured += 1;
    if (r.height < 43.5 || r.width < 24) small.push(`${el.tagName.toLowerCase()}.${el.className} "${(el.textContent || el.value || '').trim().slice(0, 20)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return {measured, small};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("name", ["home", "speech", "listing", "listing-page-2", "taxonomy", "stats", "404"])
def test_phone_tap_targets_are_44px(page_at, name):
    page = page_at(name, width=360)
    got = page.evaluate(TAP_TARGETS_JS)
    small = got["small"]
    assert got["measured"] >= 5, f"{name}: only {got['measured']} tap targets measured"  # the navigation at least
    assert not small, f"{name}: targets under 44px tall at 360px:\n" + "\n".join(small[:20])


@pytest.mark.browser
def test_phone_navigation_wraps(page_at):
    page = page_at("speech", width=360)
    boxes = page.eval_on_selector_all(".site-nav a", "els => els.map(e => e.getBoundingClientRect().right)")
    assert boxes and max(boxes) <= 360


PRINT_STATE_JS = """() => {
  const shown = sel => [...document.querySelectorAll(sel)].some(e => e.getClientRects().length > 0);
  const body = getComputedStyle(document.body);
  const h = document.querySelector('.speech-body h2');
  const links = [...document.querySelectorAll('.speech a')].map(a => getComputedStyle(a, '::after').content);
  return {
    header: shown('.site-header'), nav: shown('.site-nav'), search: shown('form[role=search]'),
    footer: shown('.site-footer'), prevnext: shown('.prev-next'), related: shown('.related'),
    skip: shown('.skip-link'), title: shown('h1'), facts: shown('.speech-facts'), text: shown('.speech-body p'),
    color: body.color, background: getComputedStyle(document.documentElement).backgroundColor,
    bodyBackground: body.backgroundColor, headingBreak: h ? getComputedStyle(h).breakAfter : null,
    linkAfter: links.filter(c => c && c !== 'none' && c !== 'normal'),
  };
}"""


@pytest.mark.browser
def test_speech_prints_as_a_clean_document(page_at):
    state = page_at("speech", width=800, media="print").evaluate(PRINT_STATE_JS)
    for hidden in ("header", "nav", "search", "footer", "prevnext", "related", "skip"):
        assert not state[hidden], f"{hidden} is printed"
    for shown in ("title", "facts", "text"):
        assert state[shown], f"{shown} is not printed"
    assert state["color"] == "rgb(0, 0, 0)"
    assert state["bodyBackground"] in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert state["headingBreak"] == "avoid"
    assert not state["linkAfter"], "link URLs are printed into the text"


@pytest.mark.browser
def test_print_is_black_on_white_even_in_dark_mode(page_at):
    state = page_at("speech", width=800, media="print", scheme="dark").evaluate(PRINT_STATE_JS)
    assert state["color"] == "rgb(0, 0, 0)"
    assert state["bodyBackground"] in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")


@pytest.mark.browser
def test_dark_mode(page_at):
    page = page_at("speech", width=1280, scheme="dark")
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(x) for x in re.findall(r"\d+", bg)[:3])
    assert r + g + b < 150, bg


@pytest.mark.browser
def test_skip_link_appears_on_focus_and_moves_focus(page_at):
    page = page_at("speech", width=1280)
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.getBoundingClientRect().top]")
    assert focused[0] == "skip-link" and focused[1] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


@pytest.mark.browser
def test_wide_speech_keeps_a_readable_measure(page_at):
    page = page_at("speech", width=1280)
    width = page.evaluate("document.querySelector('.speech-body').getBoundingClientRect().width")
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.speech-body p')).fontSize)")
    assert 30 <= width / size <= 42, f"{width / size:.1f} characters a line"


@pytest.mark.browser
def test_screenshots(page_at):
    """Screenshots for a human to look at (SB_SCREENSHOTS=DIR); always checks they can be taken."""
    target = os.environ.get("SB_SCREENSHOTS")
    for width, media, scheme in [
        (360, "screen", "light"),
        (1280, "screen", "light"),
        (800, "print", "light"),
        (360, "screen", "dark"),
    ]:
        page = page_at("speech", width=width, media=media, scheme=scheme, metrics_font=False)  # as a reader sees it
        png = page.screenshot(full_page=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            (Path(target) / f"speech-{width}-{media}-{scheme}.png").write_bytes(png)
