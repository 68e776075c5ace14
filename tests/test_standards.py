"""Standards (issue 7): every generated page is valid HTML and the main pages are accessible.

* The Nu Html Checker (npm ``vnu-jar``, run with Java) checks every HTML page of a built sample
  site, and the theme's CSS, with zero errors.
* axe-core (npm ``axe-core``), injected into headless Chromium, finds no serious or critical
  violation on the home page, a speech, listings, the search page, the statistics page and the
  404 page, in light and dark colour schemes and on a phone-sized screen.

What these tests need (CI installs it; each test is skipped, saying why, only when a program is
missing): ``java`` (11 or later) on PATH; ``npm`` on PATH and the npm registry (the first run
installs vnu-jar and axe-core into ``tests/.node/``, which ignores itself in git); Chromium at
``/usr/bin/chromium`` (or ``$CHROMIUM``) and the python ``playwright`` package (its own browser
download is never used).

The sample site and the helpers (``sample_site``, ``serve_dir``, ``launch_chromium``) are shared
with tests/test_theme.py.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from site_builder import build as buildmod
from site_builder.config import load_config

REPO = Path(__file__).resolve().parent.parent
NODE_DIR = Path(__file__).resolve().parent / ".node"
NPM_PACKAGES = {"vnu-jar": "26.9.27", "axe-core": "4.14.1"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# --------------------------------------------------------------------------------------------
# The sample site
# --------------------------------------------------------------------------------------------
SITE_TITLE = "讲话稿档案（样例）"
#: The sample's published address: the feed, the sitemap and the 404 page use absolute URLs.
BASE_URL = "https://archive.example/speeches/"
FEATURES_SLUG = "standards-sample"
#: A theme with enough speeches for a listing of many pages (per_page = 3 → 7 pages).
BIG_THEME, BIG_MEETING = "基层治理", "调研座谈会"

FEATURES = textwrap.dedent("""\
    ---
    title: 在2021年度基层治理工作会议上的讲话 <b>“务实”</b> & 'R&D'
    date: 2021-03-05
    meeting_type: 工作会议
    themes: [基层治理, 党的建设]
    speaker: 张 三
    organization: XX市委办公室
    location: 市行政中心第一会议室
    summary: 部署全年基层治理工作，要求如履薄冰、恪尽职守。
    source: 根据录音整理
    tags: [基层, 治理, 年度部署]
    slug: standards-sample
    ---
    同志们：

    今天召开会议，主要任务是总结去年工作，部署今年任务。<script>alert("x")</script>

    ## 一、充分肯定成绩

    过去一年，全市基层治理取得**明显成效**，详见[统计页面](../../stats/index.html)。

    ### （一）制度建设

    - 完善议事规则；
    - 健全考核机制。

    ### （二）队伍建设

    > 干部要如履薄冰，恪尽职守。

    | 项目 | 完成数 |
    | --- | --- |
    | 调研 | 12 |

    ## 二、明确今年任务

    首先，要抓好落实。<img src="x.png" alt="" onerror="alert(1)">

    同志们，让我们坚定信心，真抓实干！
    """)


def _speech(title: str, date: str, meeting_type: str, themes: list[str], body: str) -> str:
    return (
        f"---\ntitle: {title}\ndate: {date}\nmeeting_type: {meeting_type}\nthemes: [{', '.join(themes)}]\n---\n{body}"
    )


def _write_content(content: Path) -> None:
    # Realistic long speeches (headings, tables of contents, many meeting types and themes).
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "gen_corpus.py"),
            "--n",
            "24",
            "--seed",
            "7",
            "--jobs",
            "1",
            "--seeds-dir",
            str(REPO / "tests" / "fixtures" / "import" / "seeds"),
            "--out",
            str(content / "gen"),
        ],
        check=True,
        capture_output=True,
    )
    # The archive's own speeches, when there are any.
    for path in sorted((REPO / "content").rglob("*.md")):
        target = content / "repo" / path.relative_to(REPO / "content")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    hand = content / "hand"
    hand.mkdir(parents=True)
    (hand / "features.md").write_text(FEATURES, encoding="utf-8")
    (hand / "year-only.md").write_text(
        _speech(
            "在2019年度党建工作会议上的讲话", "2019", "党建工作会议", ["党的建设"], "同志们：\n\n党建工作要抓实抓细。\n"
        ),
        encoding="utf-8",
    )
    (hand / "year-month.md").write_text(
        _speech(
            "在全市安全生产动员大会上的讲话",
            "2019-06",
            "动员大会",
            ["安全生产", BIG_THEME],
            "同志们：\n\n安全生产责任重于泰山。\n",
        ),
        encoding="utf-8",
    )
    for i in range(1, 20):
        (hand / f"small-{i:02d}.md").write_text(
            _speech(
                f"在第{i}次{BIG_THEME}{BIG_MEETING}上的讲话",
                f"202{i % 3}-{i % 12 + 1:02d}-{i + 5:02d}",
                BIG_MEETING,
                [BIG_THEME],
                f"同志们：\n\n这是第{i}次座谈。要坚持问题导向，抓好落实。\n",
            ),
            encoding="utf-8",
        )


@functools.cache
def sample_site() -> Path:
    """Build the sample site once per test session; return its output folder."""
    root = Path(tempfile.mkdtemp(prefix="sb-standards-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [tool.site_builder]
        title = "{SITE_TITLE}"
        base_url = "{BASE_URL}"
        per_page = 3
        """),
        encoding="utf-8",
    )
    _write_content(root / "content")
    config, _ = load_config(root, {})
    result = buildmod.build(config)
    assert result.errors == 0, [p.format() for p in result.problems]
    return config.output


def html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def site_path(*parts: str) -> str:
    """A site path (as written under output/) → its %-encoded URL path."""
    return quote("/".join(parts))


#: The pages the browser tests visit: name → URL path relative to the site root.
PAGES = {
    "home": "index.html",
    "speech": f"speeches/2021/{FEATURES_SLUG}.html",
    "listing": site_path("themes", BIG_THEME, "index.html"),
    "listing-page-2": site_path("themes", BIG_THEME, "page-2.html"),
    "taxonomy": "meeting-types/index.html",
    "stats": "stats/index.html",
    "search": "search/index.html?q=" + quote("基层治理"),
    "404": "404.html",
}


# --------------------------------------------------------------------------------------------
# Helpers: a local web server, Chromium, the npm tools
# --------------------------------------------------------------------------------------------
class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@contextmanager
def serve_dir(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port); yield the base URL ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def launch_chromium():
    """Headless Chromium from the system (never Playwright's own download)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (set $CHROMIUM to use another)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the python package playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _installed_version(package: str) -> str | None:
    meta = NODE_DIR / "node_modules" / package / "package.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


@functools.cache
def npm_tools() -> Path:
    """tests/.node/node_modules with vnu-jar and axe-core at the pinned versions (installed once)."""
    missing = [f"{name}@{version}" for name, version in NPM_PACKAGES.items() if _installed_version(name) != version]
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: it is needed to install " + ", ".join(missing))
        NODE_DIR.mkdir(exist_ok=True)
        (NODE_DIR / ".gitignore").write_text("*\n", encoding="utf-8")
        # --ignore-scripts: vnu-jar's postinstall would try to download a Java runtime.
        proc = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(NODE_DIR),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
                *missing,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            pytest.fail(f"npm install {' '.join(missing)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return NODE_DIR / "node_modules"


@pytest.fixture(scope="module")
def site() -> Path:
    return sample_site()


@pytest.fixture(scope="module")
def base_url(site):
    with serve_dir(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as b:
        yield b


# --------------------------------------------------------------------------------------------
# Nu Html Checker
# --------------------------------------------------------------------------------------------
CANARY = "<!doctype html><html lang=en><title>canary</title><p><div></p>"


def test_every_page_is_valid_html(site, tmp_path):
    java = shutil.which("java")
    if java is None:
        pytest.skip("Java is not installed: the Nu Html Checker (vnu.jar) needs it")
    vnu = npm_tools() / "vnu-jar" / "build" / "dist" / "vnu.jar"
    pages = html_pages(site)
    assert len(pages) > 60, f"the sample site has only {len(pages)} pages"
    # A page that is certainly invalid proves the checker really runs and reports.
    canary = tmp_path / "canary.html"
    canary.write_text(CANARY, encoding="utf-8")
    css = sorted((site / "static").rglob("*.css"))
    proc = subprocess.run(
        [
            java,
            "-jar",
            str(vnu),
            "--errors-only",
            "--format",
            "json",
            "--skip-non-html",
            "--also-check-css",
            str(site),
            *map(str, css),
            str(canary),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        messages = json.loads(proc.stderr)["messages"]
    except (ValueError, KeyError):
        pytest.fail(
            f"vnu.jar gave no JSON report (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    canary_hits = [m for m in messages if m.get("url", "").endswith("canary.html")]
    assert canary_hits, "the checker did not report the deliberately invalid page"
    problems = [m for m in messages if not m.get("url", "").endswith("canary.html")]
    report = "\n".join(
        f"{m.get('url', '?').removeprefix('file:')}:{m.get('lastLine', '?')}: {m.get('type')}: {m.get('message')}"
        f"\n    {m.get('extract', '').strip()[:160]}"
        for m in problems[:40]
    )
    assert not problems, f"{len(problems)} HTML/CSS errors:\n{report}"


def test_feed_and_sitemap_are_well_formed_xml(site):
    import xml.etree.ElementTree as ET

    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert entries
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries]
    assert any("<b>“务实”</b> & 'R&D'" in t for t in titles), "the feed must carry the title text, escaped once"
    sitemap = ET.parse(site / "sitemap.xml").getroot()
    locs = [loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locs and all(loc.startswith(BASE_URL) for loc in locs)


# --------------------------------------------------------------------------------------------
# axe-core
# --------------------------------------------------------------------------------------------
AXE_VARIANTS = {"light": ("light", 1280), "dark": ("dark", 1280), "phone": ("light", 360)}


def open_context(browser, site: Path | None = None, **options):
    """A browser context in which the sample's published address (BASE_URL, which the 404
    page's absolute links use) is answered from the files in ``site``."""
    context = browser.new_context(locale="zh-CN", **options)
    if site is not None:

        def answer(route):
            rel_path = unquote(urlsplit(route.request.url).path.removeprefix(urlsplit(BASE_URL).path))
            target = site / (rel_path or "index.html")
            if target.is_file():
                route.fulfill(path=str(target))
            else:
                route.fulfill(status=404, body="not found")

        context.route(BASE_URL + "**", answer)
    return context


def run_axe(browser, url: str, color_scheme: str = "light", width: int = 1280, site: Path | None = None) -> list[dict]:
    axe_js = npm_tools() / "axe-core" / "axe.min.js"
    context = open_context(
        browser, site, viewport={"width": width, "height": 900}, color_scheme=color_scheme, bypass_csp=True
    )
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="networkidle")
        assert response is None or response.ok, f"{url}: HTTP {response.status}"
        page.add_script_tag(path=str(axe_js))
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    finally:
        context.close()
    return result["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} nodes) {v['helpUrl']}")
        for node in v["nodes"][:4]:
            lines.append(
                f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1:]}"
            )
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.parametrize("variant", list(AXE_VARIANTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_no_serious_violations(browser, site, base_url, name, variant):
    scheme, width = AXE_VARIANTS[variant]
    violations = run_axe(browser, base_url + PAGES[name], scheme, width, site=site)
    bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not bad, f"axe on {name} ({variant}):\n{format_violations(bad)}"


@pytest.mark.browser
def test_axe_really_finds_violations(browser, base_url, tmp_path):
    """The harness is not vacuous: a page with known faults is reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><head><title>bad</title></head><body>"
        '<img src="x.png"><p style="color:#ccc;background:#fff">灰色文字</p>'
        "<button></button></body></html>",
        encoding="utf-8",
    )
    violations = run_axe(browser, page.as_uri())
    ids = {v["id"] for v in violations if v["impact"] in ("serious", "critical")}
    assert {"image-alt", "html-has-lang", "button-name", "color-contrast"} <= ids, ids


# --------------------------------------------------------------------------------------------
# Content Security Policy: only the site's own script files
# --------------------------------------------------------------------------------------------
CSP_META = "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'; object-src 'none'\">"


def test_every_page_declares_the_csp_and_has_no_inline_script(site):
    import re

    for path in html_pages(site):
        html = path.read_text(encoding="utf-8")
        name = path.relative_to(site).as_posix()
        assert CSP_META in html, name
        assert html.index(CSP_META) < html.index("<script") if "<script" in html else True, name
        # JSON-LD (speech pages) is data, not a script: the CSP does not apply to it
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*\btype=\"application/ld\+json\")[^>]*>", html), (
            f"{name}: inline <script>"
        )
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), f"{name}: event-handler attribute"
        assert "javascript:" not in html.lower(), name


CSP_PAGES = ["home", "speech", "listing", "stats", "search"]


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["http", "file"])
def test_csp_keeps_the_site_working(browser, site, base_url, scheme):
    """Under the pages' own policy (not bypassed), over http and from file://, nothing is blocked
    and no script fails."""
    context = open_context(browser, site)
    problems: list[str] = []
    try:
        page = context.new_page()

        def console(message):
            where = (message.location or {}).get("url", "")
            if where.endswith("/x.png"):  # the sample speech's image, missing on purpose
                return
            if message.type == "error" or "Content Security Policy" in message.text:
                problems.append(f"console {message.type}: {message.text} ({where})")

        page.on("console", console)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        for name in CSP_PAGES:
            url = (
                (base_url + PAGES[name])
                if scheme == "http"
                else (site / unquote(PAGES[name].split("?")[0])).as_uri()
                + ("?" + PAGES[name].split("?")[1] if "?" in PAGES[name] else "")
            )
            response = page.goto(url, wait_until="networkidle")
            assert response is None or response.ok, f"{url}: HTTP {response.status}"
            assert page.evaluate("document.styleSheets.length") >= 1, f"{name}: no stylesheet applied"
    finally:
        context.close()
    assert not problems, "\n".join(problems)
