"""The archive end to end: pages, listings, slugs, escaping, broken input, CLI."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

from conftest import REPO, speech


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []  # of <a>
        self.srcs: list[str] = []  # <link href>, <script src>, <img src>, <form action>
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)
        if tag == "link":
            self.srcs.extend(v for k, v in attrs if k == "href" and v)
        if tag in ("script", "img"):
            self.srcs.extend(v for k, v in attrs if k == "src" and v)
        if tag == "form":
            self.srcs.extend(v for k, v in attrs if k == "action" and v)
        if tag == "script":
            self.scripts += 1


def links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def test_seed_speeches_appear_on_their_year_meeting_type_and_theme_pages(site, capsys):
    sources = sorted((REPO / "content").rglob("*.md"))
    assert len(sources) >= 2, "content/ holds the archive's two seed speeches"
    shutil.copytree(REPO / "content", site.content, dirs_exist_ok=True)
    assert site.run("build", "-q") == 0
    from site_builder import frontmatter

    for path in sources:
        fm = frontmatter.split(path.read_text(encoding="utf-8")).data
        title = fm["title"]
        year = str(fm["date"])[:4]
        themes = fm["themes"] if isinstance(fm["themes"], list) else [fm["themes"]]
        assert title in site.page(f"years/{year}/index.html")
        assert title in site.page(f"meeting-types/{fm['meeting_type']}/index.html")
        for theme in themes:
            assert title in site.page(f"themes/{theme}/index.html")
        assert title in site.page("index.html")


def test_speech_page_has_facts_toc_and_neighbours(make_site):
    site = make_site(
        {
            "2019/旧.md": speech(title="旧讲话", date="2019-01-02"),
            "2020/中.md": speech(
                title="中讲话",
                date="2020",
                speaker="张三",
                organization="X局",
                body="## 一、第一部分\n\n正文一。\n\n### （一）小节\n\n正文二。\n",
            ),
            "2021/新.md": speech(title="新讲话", date="2021-07-01"),
        }
    )
    assert site.run("build", "-q") == 0
    html = site.page("speeches/2020/中.html")
    assert "<h1>中讲话</h1>" in html
    assert '<time datetime="2020">2020年</time>' in html
    assert "张三" in html and "X局" in html
    assert re.search(r"<dt>字数</dt><dd>\d+ 字，约 1 分钟读完</dd>", html)
    assert '<a href="#p1">一、第一部分</a>' in html  # the table of contents links to the heading's block id
    assert '<h2 id="p1">一、第一部分<a class="permalink" href="#p1"' in html
    hrefs = links(html).hrefs
    assert "../2019/旧.html" in hrefs  # prev (older): a Chinese file name as written (urls.rel, #15)
    assert "../2021/新.html" in hrefs  # next (newer)
    assert "../../meeting-types/工作会议/index.html" in hrefs


def test_every_internal_link_resolves(make_site):
    import posixpath
    from urllib.parse import unquote

    site = make_site(
        {
            f"{y}/s{i}.md": speech(title=f"讲话{y}-{i}", date=str(y), themes=("甲", "乙乙"))
            for y in (2018, 2019)
            for i in range(3)
        }
    )
    assert site.run("build", "-q") == 0
    checked = set()
    pages = sorted(site.output.rglob("*.html"))
    for path in pages:
        rel = path.relative_to(site.output).as_posix()
        parsed = links(path.read_text(encoding="utf-8"))
        for href in parsed.hrefs + parsed.srcs:
            if href.startswith(("#", "http", "mailto")):
                continue
            target = posixpath.normpath(
                posixpath.join(posixpath.dirname(rel), unquote(href.split("#")[0].split("?")[0]))
            )
            assert (site.output / target).is_file(), f"{rel} links to missing {href}"
            checked.add(target)
    # Every page was reached by some link (nothing orphaned) and the style sheet was linked.
    assert len(pages) > 15
    assert {p.relative_to(site.output).as_posix() for p in pages} - {"404.html"} <= checked
    assert "static/style.css" in checked


def test_listings_newest_first_paginated_with_counts(make_site):
    """Pages counted from the oldest (listings.py): page-1 holds the oldest two, the index (the
    newest page) the other three, and only the index shows the total."""
    site = make_site({f"s{i}.md": speech(title=f"讲话{i}", date=f"2020-0{i}-01") for i in range(1, 6)})
    site.config("per_page = 2\n")
    assert site.run("build", "-q") == 0
    first = site.page("years/2020/index.html")
    assert first.index("讲话5") < first.index("讲话4") < first.index("讲话3")
    assert "讲话2" not in first
    assert "共 5 篇讲话" in first
    oldest = site.page("years/2020/page-1.html")
    assert oldest.index("讲话2") < oldest.index("讲话1") and "讲话3" not in oldest
    assert "共 5 篇" not in oldest and "2020年1月1日至2020年2月1日" in oldest
    assert not (site.output / "years/2020/page-2.html").exists()
    assert re.search(r">2020</a>\s*<span class=\"count\"[^>]*>5\b", site.page("years/index.html"))


def test_titles_and_metadata_are_escaped_everywhere(make_site):
    evil = '"<script>alert(1)</script>"'
    site = make_site({"x.md": speech(title=evil, speaker='"<img src=x onerror=alert(2)>"', themes=('"<b>主题</b>"',))})
    assert site.run("build", "-q") == 0
    for rel in ["speeches/2020/x.html", "index.html", "years/2020/index.html", "feed.xml", "themes/index.html"]:
        text = site.page(rel)
        assert "<script>alert(1)" not in text, rel
        assert "<img src=x" not in text, rel
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in site.page("speeches/2020/x.html")


def test_raw_html_is_sanitised_unless_trusted(make_site):
    body = '正文<script>alert(1)</script><a href="javascript:alert(2)" onclick="x()">链接</a><b>粗</b>\n'
    site = make_site({"x.md": speech(body=body)})
    assert site.run("build", "-q") == 0
    html = site.page("speeches/2020/x.html")
    assert "alert(1)" not in html and "javascript:" not in html and "onclick" not in html
    assert "<b>粗</b>" in html
    trusted = make_site({"x.md": speech(body=body)})
    trusted.config("trust_html = true\n")
    assert trusted.run("build", "-q") == 0
    assert "<script>alert(1)</script>" in trusted.page("speeches/2020/x.html")


def test_broken_speech_keeps_its_previous_page_and_others_build(make_site, capsys):
    site = make_site({"a.md": speech(title="甲"), "b.md": speech(title="乙")})
    assert site.run("build", "-q") == 0
    before = site.page("speeches/2020/a.html")
    site.write("a.md", "---\ntitle: 甲\ndate: 2020-02-30\n---\n")
    site.write("c.md", speech(title="丙"))
    assert site.run("build", "-q") == 1
    assert "content/a.md:3: date:" in capsys.readouterr().err
    assert site.page("speeches/2020/a.html") == before
    assert "丙" in site.page("speeches/2020/c.html")
    # a no-change rebuild reports the same error again
    assert site.run("build", "-q") == 1
    assert "content/a.md:3: date:" in capsys.readouterr().err


def test_deleted_speech_disappears_from_pages_and_listings(make_site):
    site = make_site({"a.md": speech(title="甲甲", themes=("独有主题",)), "b.md": speech(title="乙乙")})
    assert site.run("build", "-q") == 0
    assert (site.output / "themes/独有主题/index.html").exists()
    (site.content / "a.md").unlink()
    assert site.run("build", "-q") == 0
    assert not (site.output / "speeches/2020/a.html").exists()
    assert not (site.output / "themes/独有主题").exists()
    assert "甲甲" not in site.page("index.html")


def test_check_writes_nothing(make_site, capsys):
    site = make_site({"a.md": speech(), "bad.md": "---\n"})
    assert site.run("check") == 1
    assert "content/bad.md:1: front matter: unclosed front matter" in capsys.readouterr().err
    assert not site.output.exists()
    assert not (site.root / ".site_builder_cache").exists()


def test_chinese_slugs_and_term_collisions(make_site, capsys):
    site = make_site({"一篇讲话.md": speech(themes=("党建/工作",)), "b.md": speech(title="乙", themes=("党建-工作",))})
    assert site.run("build", "-q") == 1
    err = capsys.readouterr().err
    assert (
        "'党建-工作' and '党建/工作' would both be written to the same URL" in err
        or "'党建/工作' and '党建-工作' would both be written to the same URL" in err
    )
    assert (site.output / "speeches/2020/一篇讲话.html").is_file()
    assert (site.output / "themes/党建-工作/index.html").is_file()
    assert (site.output / "themes/党建-工作-2/index.html").is_file()


def test_slug_field_sets_url(make_site):
    site = make_site({"x.md": speech(slug="2020-党建工作会议")})
    assert site.run("build", "-q") == 0
    assert (site.output / "speeches/2020/2020-党建工作会议.html").is_file()
    assert not (site.output / "speeches/2020/x.html").exists()  # not the file name's URL as well
    from urllib.parse import quote

    assert "speeches/2020/2020-党建工作会议.html" in links(site.page("index.html")).hrefs
    assert quote("2020-党建工作会议") + ".html" in site.page("sitemap.xml")  # absolute: percent-encoded


def test_drafts_only_with_flag(make_site, capsys):
    site = make_site({"a.md": speech(title="草稿讲话", draft="true"), "b.md": speech(title="正式讲话")})
    assert site.run("build", "-q") == 0
    assert not (site.output / "speeches/2020/a.html").exists()
    assert (site.output / "speeches/2020/b.html").exists()
    # Nowhere else either: listings, feed, sitemap, search.
    for rel in ("index.html", "years/2020/index.html", "feed.xml", "sitemap.xml"):
        assert "正式讲话" in site.page(rel) or "b.html" in site.page(rel), rel
        assert "草稿讲话" not in site.page(rel) and "a.html" not in site.page(rel), rel
    capsys.readouterr()
    assert site.run("search", "草稿", "--json") == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0
    assert site.run("build", "-q", "--drafts") == 0
    assert (site.output / "speeches/2020/a.html").exists()
    assert "草稿讲话" in site.page("index.html")
    assert site.run("search", "草稿", "--json") == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1


def test_site_overrides_a_single_template(make_site):
    site = make_site({"a.md": speech()})
    (site.root / "templates").mkdir(parents=True)
    (site.root / "templates" / "404.html").write_text(
        '{% extends "base.html" %}{% block content %}<p>自定义404</p>{% endblock %}', encoding="utf-8"
    )
    assert site.run("build", "-q") == 0
    assert "自定义404" in site.page("404.html")
    assert "<h1>" in site.page("speeches/2020/a.html")  # everything else from the theme


def test_feed_sitemap_stats_and_404(make_site):
    site = make_site({"a.md": speech(title="甲"), "b.md": speech(title="乙", date="2019", themes=("队伍建设",))})
    site.config('base_url = "https://example.org/archive/"\n')
    assert site.run("build", "-q") == 0
    feed = site.page("feed.xml")
    assert "<entry>" in feed and "https://example.org/archive/speeches/2020/a.html" in feed
    assert "https://example.org/archive/years/2019/index.html" in site.page("sitemap.xml")
    stats = site.page("stats/index.html")
    assert stats.count("<svg") == 3 and "<title>2019：1</title>" in stats
    assert "页面不存在" in site.page("404.html")
    import xml.dom.minidom

    xml.dom.minidom.parseString(feed.encode())
    xml.dom.minidom.parseString(site.page("sitemap.xml").encode())


def test_cli_usage_errors_exit_2(site, capsys):
    assert site.run("build", "--no-such-option") == 2
    err = capsys.readouterr().err
    assert re.search(r"No such option:? '?--no-such-option", err) and "Usage: site-builder build" in err, err
    assert site.run("no-such-command") == 2
    assert "No such command 'no-such-command'" in capsys.readouterr().err
    assert site.run("search", "x") == 2  # no index yet
    assert "run 'site-builder build' first" in capsys.readouterr().err


COMMANDS = {"build", "check", "clean", "search", "compare", "export", "reuse", "new", "import", "serve"}


def test_cli_help_lists_commands(site, capsys):
    assert site.run("--help") == 0
    out = capsys.readouterr().out
    section = out.split("Commands:", 1)[1]
    listed = {m.group(1) for m in re.finditer(r"^  (\S+)\s", section, re.M)}
    assert listed == COMMANDS, out
    for command in sorted(COMMANDS):  # and each one answers --help with its own usage
        assert site.run(command, "--help") == 0, command
        assert f"Usage: site-builder {command} " in capsys.readouterr().out, command


def test_bad_configuration_is_a_usage_error(site, capsys):
    site.write("a.md", speech())
    site.config('per_page = "twenty"\ntitel = "x"\n')
    assert site.run("build") == 2
    err = capsys.readouterr().err
    assert "per_page: expected a whole number ≥ 1, got 'twenty'" in err


def test_output_files_are_readable_by_a_web_server(make_site):
    site = make_site({"a.md": speech()})
    assert site.run("build", "-q") == 0
    for rel in ("index.html", "speeches/2020/a.html", "feed.xml"):
        assert (site.output / rel).stat().st_mode & 0o044 == 0o044, rel


def test_check_after_a_build_reads_the_cache_but_writes_nothing(make_site, capsys):
    site = make_site({"a.md": speech(), "b.md": speech(title="乙")})
    assert site.run("build", "-q") == 0
    site.write("b.md", speech(title="乙", date="2020-02-31"))
    state = {p: p.stat().st_mtime_ns for p in (site.root / ".site_builder_cache").rglob("*") if p.is_file()}
    pages = site.files()
    assert site.run("check") == 1
    assert "content/b.md:3: date: '2020-02-31' is not a real day" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in (site.root / ".site_builder_cache").rglob("*") if p.is_file()} == state
    assert site.files() == pages


def test_check_with_new_vocabulary_does_not_trust_old_parses(make_site, capsys):
    site = make_site({"a.md": speech(meeting_type="座谈会")})
    assert site.run("build", "-q") == 0
    site.config('meeting_types = ["工作会议"]\n')
    assert site.run("check") == 1
    assert "meeting_type: unknown value '座谈会'" in capsys.readouterr().err


def test_a_small_change_updates_the_search_indexes_beside_the_pages(make_site, capsys):
    site = make_site(
        {
            "2020/甲.md": speech(title="甲讲话", date="2020-01-02", body="如履薄冰。\n"),
            "2021/乙.md": speech(title="乙讲话", date="2021-03-04", body="恪尽职守。\n"),
        }
    )
    assert site.run("build", "-q") == 0
    site.write("2021/乙.md", speech(title="乙讲话", date="2021-03-04", body="恪尽职守，如临深渊。\n"))
    capsys.readouterr()
    assert site.run("build", "--explain") == 0
    err = capsys.readouterr().err
    assert re.search(
        r"search indexes updated beside the related speeches and pages: "
        r"whoosh index \d+\.\d\d s, static index \d+\.\d\d s",
        err,
    ), err
    assert site.run("search", "如临深渊", "--json") == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["title"] for h in hits["hits"]] == ["乙讲话"]


def test_a_bug_in_the_background_index_update_is_one_line_and_exit_70(make_site, capsys, monkeypatch):
    from site_builder import static_search

    site = make_site({"2020/甲.md": speech(title="甲讲话", date="2020-01-02")})
    assert site.run("build", "-q") == 0
    site.write("2020/乙.md", speech(title="乙讲话", date="2020-05-06"))

    def broken(self, docs):
        raise ValueError("a bug")

    monkeypatch.setattr(static_search.StaticIndex, "update", broken)
    capsys.readouterr()
    assert site.run("build", "-q") == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: ValueError: a bug (while updating the search indexes)" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    assert site.run("build", "-q") == 0
    assert "乙讲话" in site.page("index.html")


def test_the_index_stages_hold_no_model_views_or_kept_texts(make_site, monkeypatch):
    """#15: before the search indexes are updated (in this process), the build lets go of the
    speeches (their older/newer/related links are cycles the frozen collector would keep), the
    passages, the pages' views and the texts the earlier stages kept: the main process, and the
    workers it starts, do not carry them into the index stages. The pages are the same."""
    import weakref

    from site_builder import build as buildmod
    from site_builder import build_index, render

    files = {
        f"{2015 + i}/第{i}篇.md": speech(title=f"讲话{i}", date=f"{2015 + i}-03-04", themes=["党建"]) for i in range(6)
    }
    monkeypatch.setenv("SITE_BUILDER_NO_FORK", "1")  # the index stages in this process, after the pages
    alive: list = []
    real_archive, real_views, real_update = buildmod.build_archive, render.Views.__init__, build_index._update_both

    def archive(*args, **kwargs):
        made = real_archive(*args, **kwargs)
        alive.extend(weakref.ref(s) for s in made.speeches)
        return made

    def views(self, *args, **kwargs):
        real_views(self, *args, **kwargs)
        alive.append(weakref.ref(self))

    bodies: list = []
    real_bodies = build_index.Bodies.__init__

    def keep(self, cache):
        real_bodies(self, cache)
        bodies.append(self)

    seen: dict = {}

    def update(config, docs, clock, between=None):
        seen["alive"] = sum(ref() is not None for ref in alive)
        seen["kept"] = sum(len(b._texts) for b in bodies)
        seen["speeches"] = len(alive)
        return real_update(config, docs, clock, between)

    monkeypatch.setattr(buildmod, "build_archive", archive)
    monkeypatch.setattr(render.Views, "__init__", views)
    monkeypatch.setattr(build_index.Bodies, "__init__", keep)
    monkeypatch.setattr(build_index, "_update_both", update)
    site = make_site(files)
    assert site.run("build", "-q") == 0
    assert seen == {"alive": 0, "kept": 0, "speeches": 7}, seen  # 6 speeches and the views
    monkeypatch.undo()
    clean = make_site(files)
    assert clean.run("build", "-q") == 0
    assert site.files() == clean.files()


def test_the_index_stages_docs_share_no_object_with_the_model(make_site, monkeypatch):
    """#15: the index docs were made from the model's strings (source, title, digest, meeting type,
    themes …), allocated among the parse's objects: held into the index stages, they kept most of
    the parse's memory arenas from going back to the system. The index stages get docs made afresh
    once the model is let go of (equal values, equal ones one object); the same pages and index."""
    from site_builder import build as buildmod
    from site_builder import build_index

    files = {
        f"{2015 + i}/第{i}篇.md": speech(title=f"讲话{i}", date=f"{2015 + i}-03-04", themes=["党建", "队伍建设"])
        for i in range(6)
    }
    monkeypatch.setenv("SITE_BUILDER_NO_FORK", "1")  # the index stages in this process, after the pages
    model: list = []  # the model's strings (held here: their ids stay theirs)
    real_archive, real_update = buildmod.build_archive, build_index._update_both

    def archive(*args, **kwargs):
        made = real_archive(*args, **kwargs)
        for s in made.speeches:
            model.extend([s.source, s.url, s.digest, s.meta.title, s.meta.meeting_type, *s.meta.themes])
        return made

    seen: dict = {}

    def update(config, docs, clock, between=None):
        values = [v for d in docs for v in vars(d).values() if isinstance(v, str)]
        values += [t for d in docs for t in d.themes]
        seen["shared"] = len({id(v) for v in values} & {id(v) for v in model})
        seen["themes"] = len({id(t) for d in docs for t in d.themes})
        seen["ids"] = sorted(d.id for d in docs)
        return real_update(config, docs, clock, between)

    monkeypatch.setattr(buildmod, "build_archive", archive)
    monkeypatch.setattr(build_index, "_update_both", update)
    site = make_site(files)
    assert site.run("build", "-q") == 0
    assert seen == {"shared": 0, "themes": 2, "ids": sorted(files)}, seen
    monkeypatch.undo()
    clean = make_site(files)
    assert clean.run("build", "-q") == 0
    assert site.files() == clean.files()


def test_the_index_docs_compacted_are_of_one_kind(tmp_path):
    """IndexUpdate.compact makes the docs afresh as the first one's class with its fields: docs of
    two kinds (never made by a build: index_docs makes one) are a bug said, not docs made wrongly
    or kept as they were without a word."""
    import pytest

    from site_builder.build_index import IndexUpdate
    from site_builder.config import SiteConfig
    from site_builder.model import IndexDoc

    def doc(i: int) -> IndexDoc:
        return IndexDoc(f"{i}.md", f"/s/{i}.html", f"讲话{i}", "2020-03-05", 2020, "会议", ("党建",), "正文", "fp")

    class Other(IndexDoc):
        pass

    config = SiteConfig(root=tmp_path)
    same = IndexUpdate(config, [doc(1), doc(2)], bodies=None, background=False)  # type: ignore[arg-type]
    same.compact()
    assert [vars(d) for d in same.docs] == [vars(doc(1)), vars(doc(2))]
    assert {type(d) for d in same.docs} == {IndexDoc}
    other = object.__new__(Other)
    other.__dict__.update(vars(doc(3)))
    mixed = IndexUpdate(config, [doc(1), other], bodies=None, background=False)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="two kinds"):
        mixed.compact()
