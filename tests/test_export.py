"""Data out: ``site-builder export`` (CSV, JSON Lines, --text, --output) and ``search --csv``."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import speech

from site_builder.compare import page_text

FIELDS = ["source", "url", "title", "date", "meeting_type", "themes", "speaker", "organization", "字数"]

SPEECHES = {
    "2020/党建.md": speech(
        title="在2020年度党建工作会议上的讲话",
        date="2020-03-05",
        meeting_type="党建工作会议",
        themes=("基层党建", "党风廉政建设"),
        speaker="张三",
        organization="X局",
        body='同志们：\n\n## 一、总体要求\n\n要如履薄冰，恪尽职守。\n\n“抓落实”，要"真抓"、实干, 不搞形式。\n',
    ),
    "2021/座谈.md": speech(
        title='关于"三个一"的讲话, 含逗号',
        date="2021",
        meeting_type="座谈会",
        themes=("队伍建设",),
        body="一段话。\n\n另一段：GDP 增长 5%。\n",
    ),
    "2019/六月.md": speech(
        title="在全市安全生产动员大会上的讲话",
        date="2019-06",
        meeting_type="动员大会",
        themes=("安全生产",),
        body="安全生产责任重于泰山。\n",
    ),
    "2022/草稿.md": speech(title="草稿", date="2022-01-01", draft="true"),
}


def rows_of_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def expected_rows(site) -> list[dict]:
    """What the built pages say about each speech: its page, facts and text."""
    out = []
    for page in sorted(site.output.glob("speeches/*/*.html")):
        html = page.read_text(encoding="utf-8")
        title, text = page_text(html)
        facts = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>(.*?)</dd>", html))
        strip = lambda s: re.sub(r"<[^>]+>", "", s)
        out.append(
            {
                "url": page.relative_to(site.output).as_posix(),
                "title": title,
                "text": text,
                "date": re.search(r'<time datetime="([^"]+)">', facts["日期"]).group(1),
                "meeting_type": strip(facts["会议类型"]),
                "themes": re.findall(r'class="tag"[^>]*>([^<]+)<', facts["主题"]),
                "speaker": strip(facts.get("讲话人", "")),
                "organization": facts.get("单位", ""),
                "字数": int(re.match(r"(\d+) 字", facts["字数"]).group(1)),
            }
        )
    return out


@pytest.fixture
def built(make_site):
    site = make_site(SPEECHES)
    assert site.run("build", "-q") == 0
    return site


def test_csv_has_one_row_per_published_speech_equal_to_its_page(built, capsys):
    assert built.run("export") == 0
    out = capsys.readouterr().out
    assert not out.startswith("\ufeff"), "standard output has no BOM"
    assert out.splitlines()[0] == ",".join(FIELDS)
    rows = rows_of_csv(out)
    assert [r["source"] for r in rows] == ["2021/座谈.md", "2020/党建.md", "2019/六月.md"]  # newest first, no draft
    expected = {e["url"]: e for e in expected_rows(built)}
    assert set(expected) == {r["url"] for r in rows}
    for row in rows:
        page = expected[row["url"]]
        assert (built.output / row["url"]).is_file()
        assert {k: row[k] for k in ("title", "date", "meeting_type", "speaker", "organization")} == {
            k: page[k] for k in ("title", "date", "meeting_type", "speaker", "organization")
        }
        assert row["themes"].split(";") == page["themes"]
        assert int(row["字数"]) == page["字数"]
    assert rows[1]["themes"] == "基层党建;党风廉政建设" and rows[1]["speaker"] == "张三"
    assert rows[0]["title"] == '关于"三个一"的讲话, 含逗号'


def test_jsonl_with_text_equals_the_speeches(built, capsys):
    assert built.run("export", "--format", "jsonl", "--text") == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert all(list(r) == FIELDS + ["text"] for r in rows)
    expected = {e["url"]: e for e in expected_rows(built)}
    for row in rows:
        page = expected[row["url"]]
        assert row["text"] == page["text"], "the plain text, as the page's body reads"
        assert row["themes"] == page["themes"] and row["字数"] == page["字数"]
    assert '“抓落实”，要"真抓"、实干, 不搞形式。' in rows[1]["text"]


def test_text_in_csv_survives_commas_quotes_and_line_breaks(built, capsys):
    assert built.run("export", "--text") == 0
    rows = rows_of_csv(capsys.readouterr().out)
    assert rows[1]["text"] == '同志们：\n一、总体要求\n要如履薄冰，恪尽职守。\n“抓落实”，要"真抓"、实干, 不搞形式。'


def test_output_file_csv_has_a_bom_jsonl_none(built, capsys, tmp_path):
    target = tmp_path / "speeches.csv"
    assert built.run("export", "--output", str(target)) == 0
    assert f"3 speeches written to {target}" in capsys.readouterr().err
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert [r["source"] for r in rows_of_csv(data.decode("utf-8-sig"))] == [
        "2021/座谈.md",
        "2020/党建.md",
        "2019/六月.md",
    ]
    jsonl = tmp_path / "speeches.jsonl"
    assert built.run("export", "--format", "jsonl", "--output", str(jsonl)) == 0
    assert not jsonl.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(jsonl.read_text(encoding="utf-8").splitlines()) == 3


def test_speeches_with_errors_are_named_and_left_out(make_site, capsys):
    site = make_site(
        SPEECHES
        | {
            "bad/无日期.md": "---\ntitle: 无日期\nmeeting_type: 座谈会\nthemes: [甲]\n---\n正文\n",
            "bad/坏.md": "---\ntitle: [\n---\n",
        }
    )
    assert site.run("export") == 1
    captured = capsys.readouterr()
    assert len(rows_of_csv(captured.out)) == 3
    assert "content/bad/无日期.md:1: date: missing" in captured.err
    assert re.search(
        r"export: 2 speeches with errors were left out: content/bad/坏.md, content/bad/无日期.md", captured.err
    ), captured.err


def test_export_reads_the_files_not_a_stale_build(built, capsys):
    """After an edit and before the next build, the rows are the files' (the cache is only read)."""
    assert built.run("export", "--format", "jsonl", "--text") == 0
    before = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    state = {p: p.stat().st_mtime_ns for p in (built.root / ".site_builder_cache").rglob("*") if p.is_file()}
    built.write("2019/六月.md", SPEECHES["2019/六月.md"].replace("重于泰山", "重于泰山，一刻不能放松"))
    assert built.run("export", "--format", "jsonl", "--text") == 0
    after = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert before[:2] == after[:2]
    assert after[2]["text"] == "安全生产责任重于泰山，一刻不能放松。" and after[2]["字数"] == before[2]["字数"] + 6
    assert {p: p.stat().st_mtime_ns for p in (built.root / ".site_builder_cache").rglob("*") if p.is_file()} == state


def test_export_without_a_build(make_site, capsys):
    site = make_site(SPEECHES)
    assert site.run("export", "--format", "jsonl") == 0
    assert [json.loads(line)["url"] for line in capsys.readouterr().out.splitlines()] == [
        "speeches/2021/座谈.html",
        "speeches/2020/党建.html",
        "speeches/2019/六月.html",
    ]
    assert not site.output.exists()
    assert site.run("export", "--content", "nowhere") == 2
    assert "content folder" in capsys.readouterr().err


def test_search_csv_gives_the_hits(built, capsys):
    assert built.run("search", "如履薄冰 OR 泰山", "--json") == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert built.run("search", "如履薄冰 OR 泰山", "--csv") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "source,url,title,date,meeting_type,excerpt"
    rows = rows_of_csv(out)
    assert [(r["source"], r["url"], r["title"], r["date"], r["meeting_type"]) for r in rows] == [
        (h["source"], h["url"], h["title"], h["date"], h["meeting_type"]) for h in hits
    ]
    assert len(rows) == 2
    for row, hit in zip(rows, hits):
        assert "<" not in row["excerpt"] and row["excerpt"] == re.sub(r"</?mark>", "", hit["excerpt"])
    assert built.run("search", "党建", "--csv", "--json") == 2
    assert "--json or --csv" in capsys.readouterr().err


class _Blocks(HTMLParser):
    """Each #p<n> block's text on a speech page (without its ¶ link), and the page's links."""

    def __init__(self):
        super().__init__()
        self.blocks: dict[int, str] = {}
        self.links: dict[str, str] = {}
        self.text_link: dict[str, str | None] = {}
        self._open: list[tuple[str, int | None]] = []
        self._in_permalink = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("data-source-link", "data-speaker-link"):
            if name in a:
                self.links[name] = a["href"]
        if "data-text-link" in a:
            self.text_link = a
        m = re.fullmatch(r"p(\d+)", a.get("id") or "")
        self._open.append((tag, int(m.group(1)) if m else None))
        if m:
            self.blocks[int(m.group(1))] = ""
        if tag == "a" and "permalink" in (a.get("class") or ""):
            self._in_permalink += 1

    def handle_endtag(self, tag):
        while self._open:
            t, _n = self._open.pop()
            if tag == "a" and self._in_permalink and t == "a":
                self._in_permalink -= 1
            if t == tag:
                break

    def handle_data(self, data):
        if self._in_permalink:
            return
        for _t, n in reversed(self._open):
            if n is not None:
                self.blocks[n] += data
                break


def test_each_speech_page_links_its_plain_text_and_markdown_source(built):
    """The Markdown source is a file beside the pages; the plain text is made in the page by
    cite.js (no file per speech), so the page carries its link and the name it is saved under."""
    for source in ("2020/党建.md", "2021/座谈.md"):
        page = built.output / "speeches" / source.replace(".md", ".html")
        parsed = _Blocks()
        parsed.feed(page.read_text(encoding="utf-8"))
        assert parsed.text_link["download"] == page.with_suffix(".txt").name
        assert parsed.text_link["type"] == "text/plain" and parsed.text_link["href"] == "#"  # cite.js gives it
        source_link = unquote(parsed.links["data-source-link"])
        data = built.output / "data" / page.relative_to(built.output)
        assert (page.parent / source_link).resolve() == data.with_suffix(".md").resolve()
        # Markdown: the file as written.
        assert (page.parent / source_link).read_bytes() == (built.content / source).read_bytes()
    assert not list(built.output.rglob("*.txt")), "no plain-text file is written"


def test_data_files_follow_their_speech(built):
    page = built.output / "speeches" / "2019" / "六月.html"
    data = built.output / "data" / "speeches" / "2019" / "六月.md"
    built.write("2019/六月.md", SPEECHES["2019/六月.md"] + "\n新加的一段。\n")
    assert built.run("build", "-q") == 0
    assert data.read_bytes() == (built.content / "2019/六月.md").read_bytes()
    (built.content / "2019/六月.md").unlink()
    assert built.run("build", "-q") == 0
    assert not page.exists() and not data.exists()


def test_plain_text_files_of_an_older_build_are_removed(built):
    """A site built when data/<page>.txt was written loses those files at the next build."""
    import sqlite3

    old = built.output / "data" / "speeches" / "2020" / "党建.txt"
    old.write_text("一段\n", encoding="utf-8")
    (state,) = built.output.parent.glob(".site_builder_cache/*/cache.sqlite")
    with sqlite3.connect(state) as db:  # as the older build recorded it: a page of its speech
        db.execute(
            "INSERT INTO pages (path, key, owner) VALUES (?, 'x', ?)", ("data/speeches/2020/党建.txt", "2020/党建.md")
        )
    built.write("2020/党建.md", SPEECHES["2020/党建.md"] + "\n又一段。\n")
    assert built.run("build", "-q") == 0
    assert not old.exists()


def test_the_speaker_links_to_the_speakers_page(built):
    page = built.output / "speeches" / "2020" / "党建.html"
    parsed = _Blocks()
    parsed.feed(page.read_text(encoding="utf-8"))
    target = (page.parent / unquote(parsed.links["data-speaker-link"])).resolve()
    assert target.is_file()
    listing = target.read_text(encoding="utf-8")
    assert "张三" in listing and "在2020年度党建工作会议上的讲话" in listing
    other = (built.output / "speeches" / "2021" / "座谈.html").read_text(encoding="utf-8")
    assert "data-speaker-link" not in other  # no speaker, no link


# -- the plain text, made in the page (real Chromium) ------------------------------------------------
@pytest.fixture(scope="module")
def text_site(tmp_path_factory):
    """The speeches above and one with every kind of block (test_research_search's odd body)."""
    from conftest import Site
    from test_research_search import ODD_BODY

    site = Site(tmp_path_factory.mktemp("plain-text") / "site")
    files = {k: v for k, v in SPEECHES.items() if "草稿" not in k}
    files["2018/杂.md"] = speech(
        title="各种段落", date="2018-02-03", meeting_type="工作会议", themes=("安全生产",), body=ODD_BODY
    )
    for rel, text in files.items():
        site.write(rel, text)
    assert site.run("build", "-q") == 0
    return site


def _plain_texts(site) -> dict[str, str]:
    """Page URL → the speech's plain text as the build makes it (export --text), one line a block,
    each ending with a newline: what data/<page>.txt held."""
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert site.run("export", "--format", "jsonl", "--text") == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return {r["url"]: r["text"] + "\n" for r in rows}


@pytest.mark.parametrize("scheme", ["file", "http"])
def test_the_plain_text_downloaded_from_the_page_is_the_speechs_text(text_site, scheme):
    from test_standards import launch_chromium, serve_dir

    texts = _plain_texts(text_site)
    assert len(texts) == 4 and any("段中段" in t for t in texts.values())
    with launch_chromium() as browser, serve_dir(text_site.output) as base:
        context = browser.new_context(accept_downloads=True)
        problems: list[str] = []
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
        for url, expected in sorted(texts.items()):
            address = base + url if scheme == "http" else (text_site.output / url).as_uri()
            page.goto(address)
            link = page.locator("[data-text-link]")
            assert link.is_visible()
            with page.expect_download() as info:
                link.click()
            download = info.value
            assert download.suggested_filename == url.rsplit("/", 1)[1].replace(".html", ".txt")
            got = Path(download.path()).read_text(encoding="utf-8")
            assert got == expected, url
            # Line n is block #p<n> of the page, as a reader of the HTML sees it.
            parsed = _Blocks()
            parsed.feed((text_site.output / url).read_text(encoding="utf-8"))
            lines = got.split("\n")
            assert lines[-1] == "" and len(lines) - 1 == len(parsed.blocks)
            for n, line in enumerate(lines[:-1], 1):
                assert line == " ".join(parsed.blocks[n].split()), (url, n)
        context.close()
    assert not problems


def test_without_javascript_the_plain_text_link_is_not_offered(text_site):
    html = (text_site.output / "speeches" / "2020" / "党建.html").read_text(encoding="utf-8")
    assert re.search(r'<span data-text hidden><a href="#" download="党建\.txt" type="text/plain" data-text-link>', html)
