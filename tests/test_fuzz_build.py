"""Fuzzing the build (issue #16, item 7): Hypothesis writes hostile speech files — Markdown bodies
with deep nesting, bracket and tag runs, control and invisible characters, long lines and mixed
scripts, and front matter with odd YAML — into a small archive beside two good speeches, and
builds it with the real CLI. Every build must:

* end with exit 0 or 1 (never 70 or a traceback), within a bounded time;
* build the good speeches (their pages, the listings, search);
* leave valid output: feed.xml and sitemap.xml parse as XML, every page is a whole UTF-8 HTML
  document, and a hostile speech's page has no more scripts than a good one's;
* name every hostile file that has an error.

``make test`` runs FUZZ_EXAMPLES (default 25) examples; ``bench/fuzz_build.py`` runs thousands.
``FUZZ_STATS=file.jsonl`` appends one line per build (exit code, seconds, problems).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from conftest import Site, speech
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.cli import main as cli_main
from site_builder.config import load_config
from site_builder.search.whoosh_index import SearchIndex

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
BUILD_SECONDS = 60  # a build of five files; each file has a budget of loader.PARSE_SECONDS

# -- what a hostile file is made of ---------------------------------------------------------------

CHINESE = "同志们要如履薄冰恪尽职守全面从严治党党建廉政队伍建设基層黨建發展"
SCRIPTS = [
    "Ελληνικά",
    "русский",
    "عربي\u200f",
    "עברית",
    "हिन्दी",
    "日本語かな",
    "한국어",
    "😀👍🏽",
    "e\u0301",
    "\u0301\u0302",
    "ﬁ",
    "ＡＢＣ１２３",
    "\U00020000",
    "𝐀",
]
INVISIBLE = [
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u200b",
    "\u200d",
    "\u202e",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\r",
    "\t",
    "\u3000",
]
MARKUP = [
    "*",
    "_",
    "**",
    "`",
    "```",
    "~~~",
    "[",
    "]",
    "](",
    "![",
    "[^1]",
    "<",
    ">",
    "&",
    "&#0;",
    "&#xD800;",
    "\\",
    "|",
    "#",
    ":",
    "- ",
    "1. ",
    "> ",
    "<div>",
    "</div>",
    "<!--",
    "-->",
    "<![CDATA[",
    "<?",
    "<script>",
    "</script>",
    '<a href="javascript:alert(1)">',
    "<img src=x onerror=alert(1)>",
    "{: #id }",
    '<div markdown="1">',
    "*[HTML]: x",
    "[TOC]",
    "[a]: http://x",
    "<http://",
    "==",
    "---",
]


def mostly(usual, rare):
    """``usual`` nine times in ten, else ``rare`` (past the limits, mostly)."""
    return st.integers(0, 9).flatmap(lambda k: rare if k == 0 else usual)


def runs(pieces: list[str], most: int):
    """A piece repeated: mostly a few times, sometimes past the limits."""
    return st.builds(lambda p, n: p * n, st.sampled_from(pieces), mostly(st.integers(1, 12), st.integers(13, most)))


token = st.one_of(
    st.text(CHINESE, min_size=1, max_size=40),
    st.sampled_from(SCRIPTS),
    st.sampled_from(INVISIBLE),
    st.sampled_from(MARKUP),
    runs(MARKUP, 3000),
    runs(["- ", "> ", "  ", "    ", "\t", "1. ", ": "], 1200),
    runs(CHINESE, 250_000),  # long lines
    st.text(max_size=20),  # anything, surrogates excepted (the file is UTF-8)
)
line = st.lists(token, max_size=6).map("".join)
body = st.lists(line, max_size=30).map("\n".join)


def nested(levels: int, step: str) -> str:
    return "".join(step * i + "- x\n" for i in range(levels))


shapes = mostly(
    body,
    st.one_of(
        st.builds(nested, mostly(st.integers(1, 40), st.integers(40, 1500)), st.sampled_from(["  ", "    ", "\t"])),
        st.builds(lambda n: "- " * n + "x\n", mostly(st.integers(1, 40), st.integers(40, 4000))),
        st.builds(lambda n: "[" * n + "\n\n" + "](" * n, mostly(st.integers(1, 600), st.integers(600, 30000))),
    ),
)

scalar = st.one_of(
    st.text(CHINESE, min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
    st.sampled_from(
        [
            "2020.10",
            "0123",
            "是",
            "no",
            "~",
            "null",
            "[a, b",
            "{x: 1}",
            "&a x",
            "*a",
            "!!python/object:os.system x",
            "'\\u0000'",
            '"\\ud800"',
            "2020-02-30",
            ": x",
            "\u202e讲话",
            "x" * 300,
        ]
    ),
)


@st.composite
def front_matter(draw) -> str:
    """Valid front matter, with one value (or an extra field) made odd one time in three: the
    body must reach the Markdown parser most of the time."""
    fields = {
        "title": draw(st.text(CHINESE + "ＡＢ12 《》：", min_size=1, max_size=30)),
        "date": draw(st.sampled_from(["2020-03-05", "2021", "2019-07", "2022年3月5日"])),
        "meeting_type": draw(st.sampled_from(["座谈会", "工作会议"])),
        "themes": draw(st.sampled_from(["[党建]", "[党建, 廉政]", "队伍建设"])),
    }
    if draw(st.integers(0, 2)) == 0:
        fields[draw(st.sampled_from(sorted(fields)))] = draw(scalar)
    if draw(st.integers(0, 2)) == 0:
        fields.update(
            draw(
                st.dictionaries(
                    st.sampled_from(["slug", "summary", "speaker", "tags", "draft", "review", "meeting_typ", "x"]),
                    scalar,
                    max_size=3,
                )
            )
        )
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n"


@st.composite
def hostile_file(draw) -> bytes:
    odd_head = st.one_of(st.just(""), st.just("---\n"), st.text(max_size=30))
    head = draw(odd_head if draw(st.integers(0, 9)) == 0 else front_matter())
    text = head + draw(shapes)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:  # now and then: not UTF-8 at all
        data = text.encode("gb18030", "replace")
    return data


names = st.one_of(
    st.just("fuzz.md"), st.text("abcXYZ讲话稿-_ .", min_size=1, max_size=12).map(lambda s: s.strip() + ".md")
)

# -- the archive and the checks ---------------------------------------------------------------------

GOOD = {
    "2020/good.md": speech(title="好的讲话", body="同志们：\n\n要如履薄冰，恪尽职守。\n"),
    "2019/other.md": speech(title="另一篇讲话", date="2019-05-01", body="全面从严治党。\n"),
}


class _Pages(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"


def _scripts(html: str) -> int:
    parser = _Pages()
    parser.feed(html)
    parser.close()
    return parser.scripts


def _build(site: Site) -> tuple[int, str, float]:
    err = io.StringIO()
    cwd = os.getcwd()
    started = time.perf_counter()
    os.chdir(site.root)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(["build", "-q"])
    finally:
        os.chdir(cwd)
    return code, err.getvalue(), time.perf_counter() - started


def check_build(site: Site, files: dict[str, bytes]) -> dict:
    """Write ``files`` beside the good speeches (replacing the last ones), build, check."""
    fuzz = site.content / "fuzz"
    shutil.rmtree(fuzz, ignore_errors=True)
    fuzz.mkdir(parents=True)
    for name, data in files.items():
        (fuzz / name).write_bytes(data)
    before = None
    if os.environ.get("FUZZ_KEEP_BEFORE"):  # debugging a failure that depends on the last build's state
        for old in Path(tempfile.gettempdir()).glob("fuzz-before-*"):
            shutil.rmtree(old, ignore_errors=True)
        before = Path(tempfile.mkdtemp(prefix="fuzz-before-")) / "site"
        shutil.copytree(site.root, before, symlinks=True)
    code, err, seconds = _build(site)
    if seconds > 5 and os.environ.get("FUZZ_SLOW_DIR"):  # keep slow archives to look at
        keep = Path(os.environ["FUZZ_SLOW_DIR"]) / f"{seconds:.1f}s-{time.time_ns()}"
        shutil.copytree(fuzz, keep)
    if code not in (0, 1):  # keep the archive and its build state: the bug may need both
        kept = Path(tempfile.mkdtemp(prefix="fuzz-failure-"))
        shutil.copytree(site.root, kept / "site", symlinks=True)
        err += f"\n(the archive and its build state are kept in {kept / 'site'})"
        if before is not None:
            shutil.copytree(before, kept / "before", symlinks=True)
            err += f"\n(and as they were before this build in {kept / 'before'})"
    assert code in (0, 1), f"exit {code}:\n{err}"
    assert "internal error" not in err and "Traceback" not in err, err
    assert seconds < BUILD_SECONDS, f"the build took {seconds:.1f} s"
    out = site.output
    good_page = out / "speeches" / "2020" / "good.html"
    good_html = good_page.read_text("utf-8")
    assert "好的讲话" in good_html and (out / "speeches" / "2019" / "other.html").is_file()
    assert "好的讲话" in (out / "index.html").read_text("utf-8")
    ET.fromstring((out / "feed.xml").read_bytes())
    ET.fromstring((out / "sitemap.xml").read_bytes())
    scripts = _scripts(good_html)
    for page in out.rglob("*.html"):
        html = page.read_text("utf-8")  # UTF-8, or this raises
        assert html.rstrip().endswith("</html>"), page
        if page.relative_to(out).parts[0] == "speeches":
            assert _scripts(html) <= scripts, f"{page}: more scripts than a good speech page"
    if code:  # every error names a file; the good ones have none
        assert "content/2020/good.md:" not in err and "content/2019/other.md:" not in err, err
    config, _ = load_config(site.root, {})
    index = SearchIndex(config.state_dir / "whoosh")
    try:
        assert {h["source"] for h in index.search("如履薄冰", limit=50)["hits"]} >= {"2020/good.md"}
    finally:
        index.close()
    stats = {
        "exit": code,
        "seconds": round(seconds, 2),
        "bytes": sum(map(len, files.values())),
        "problems": sorted(
            {
                re.sub(r"\d[\d,.]*", "N", m.group(1))[:72]
                for m in re.finditer(r"^content/[^\n]*?\.md(?::\d+)?: ([^\n]*)", err, re.M)
            }
        ),
    }
    if os.environ.get("FUZZ_STATS"):
        with open(os.environ["FUZZ_STATS"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(stats, ensure_ascii=False) + "\n")
    return stats


_SITE: list[Site] = []


def fuzz_site() -> Site:
    """One archive for all examples (each build is incremental: only the hostile files change)."""
    if not _SITE:
        site = Site(Path(tempfile.mkdtemp(prefix="fuzz-build-")))
        for rel, text in GOOD.items():
            site.write(rel, text)
        code, err, _ = _build(site)  # published first: a hostile file that takes their URL gets the error
        assert code == 0, err
        _SITE.append(site)
    return _SITE[0]


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.dictionaries(names, hostile_file(), min_size=1, max_size=3))
def test_hostile_files_never_stop_the_archive(files):
    check_build(fuzz_site(), files)


def teardown_module(module):
    for site in _SITE:
        shutil.rmtree(site.root, ignore_errors=True)
    _SITE.clear()
