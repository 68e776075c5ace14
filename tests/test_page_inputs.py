"""Each page's inputs (site_builder/page_inputs.py): a page whose inputs did not change keeps its
stored key without its view being made. Checked here directly (every page skipped that way is made
anyway and its key must be the stored one) and by the output (an incremental build equals a clean
build byte for byte) for every kind of change: a body, a title (neighbours, listings, related
lists, 对比 offers, passages name it), a date (prev/next and the pages of every speech move), a
meeting type, a new theme, a speech added or deleted, a shared passage, related speeches, a
template, a setting."""

from __future__ import annotations

import copy
import os
import random
import sqlite3

import pytest
from conftest import Site, speech
from test_incremental import assert_same_output, clean_copy

from site_builder import page_inputs
from site_builder.page_inputs import Planned

SHARED = "我们必须始终坚持以人民为中心的发展思想，把人民群众的利益放在首位，切实解决群众急难愁盼问题。"
VERBS = ["加强", "推进", "深化", "抓好", "做好", "落实", "推动", "完善"]
OBJECTS = ["党风廉政建设", "城市管理", "改革开放", "安全生产", "民生保障", "生态环境保护", "干部队伍建设", "基层治理"]
GOALS = ["提升服务水平", "守住底线红线", "激发市场活力", "办好民生实事", "锤炼过硬作风", "培育新的增长点"]
THEMES = ["党风廉政建设", "城市管理", "改革开放", "安全生产"]
TYPES = ["工作会议", "座谈会", "专题会议"]


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}，{rng.choice(GOALS)}。"


def _body(rng: random.Random, shared: bool) -> str:
    paragraphs = ["".join(_sentence(rng) for _ in range(3)) for _ in range(3)]
    if shared:
        paragraphs.insert(1, SHARED)
    return "同志们：\n\n## 一、总体要求\n\n" + "\n\n".join(paragraphs) + "\n"


def _files() -> dict[str, str]:
    rng = random.Random(15)
    files = {}
    for n in range(14):
        year = 2018 + n % 4
        files[f"{year}/讲话{n:02d}.md"] = speech(
            title=f"讲话{n:02d}",
            date=f"{year}-{1 + n % 12:02d}-{1 + n:02d}",
            meeting_type=TYPES[n % 3],
            themes=tuple(rng.sample(THEMES, 1 + n % 2)),
            body=_body(rng, shared=n % 3 == 0),
        )
    return files


@pytest.fixture
def built(make_site):
    site = make_site(_files())
    site.config("per_page = 3\nreuse_min_chars = 20\n")
    assert site.run("build", "-q") == 0
    return site


@pytest.fixture
def checked(monkeypatch):
    """Counts, per build, the pages skipped for their inputs and the views made; every skipped
    page is made anyway (on a copy) and its key must be the stored one. A page the plan found
    unchanged since the last plan (its inputs not computed: page_changes.py) has its inputs
    computed anyway (on a copy): they must be the stored ones."""
    counts = {"skipped": 0, "made": 0, "planned": 0, "unchanged": 0}
    real_select, real_ensure = page_inputs.select, Planned.ensure

    def select(pages, known, stored, scopes, key_of, out_dir):
        changes = getattr(pages, "changes", None)
        last, last_keys = (changes.scopes, changes.keys) if changes else ({}, {})
        for page in pages:
            if not isinstance(page, Planned):
                continue
            counts["planned"] += 1
            old = known.get(page.path)
            inputs = page_inputs.combine(scopes.of(page), copy.copy(page).known_inputs())
            if page.inputs is None and old and last.get(page.template) == scopes.of(page):
                counts["unchanged"] += 1
                if last_keys.get(page.path) == old[0]:  # (else another build rendered it since)
                    assert stored[page.path][0] == inputs, f"{page.path}: found unchanged, its inputs changed"
            if old and stored.get(page.path) == (inputs, old[0]):
                counts["skipped"] += 1
                made = real_ensure(copy.copy(page))
                assert key_of(made) == old[0], f"{page.path}: its inputs did not change, its key did"
        return real_select(pages, known, stored, scopes, key_of, out_dir)

    def ensure(self):
        if self.make is not None:
            counts["made"] += 1
        return real_ensure(self)

    monkeypatch.setattr(page_inputs, "select", select)
    monkeypatch.setattr(Planned, "ensure", ensure)
    return counts


def _edit(site: Site, rel: str, old: str, new: str) -> None:
    path = site.content / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def body(site):
    _edit(site, "2019/讲话05.md", "同志们：", "同志们：\n\n补充一段新的内容，用于检验。")


def title(site):
    _edit(site, "2019/讲话05.md", "title: 讲话05", "title: 讲话05（修订）")


def shared_title(site):  # a speech that other speeches' passages name
    _edit(site, "2021/讲话03.md", "title: 讲话03", "title: 讲话03（修订）")


def date(site):  # from the middle of the archive to its newest
    _edit(site, "2019/讲话05.md", "date: 2019-06-06", "date: 2019-12-31")


def meeting_type(site):
    _edit(site, "2019/讲话05.md", "meeting_type: 专题会议", "meeting_type: 座谈会")


def new_theme(site):
    _edit(site, "2019/讲话05.md", "themes: [", "themes: [新的主题, ")


def added(site):
    site.write("2022/新增.md", speech(title="新增讲话", date="2022-01-01", body=f"同志们：\n\n{SHARED}\n"))


def deleted(site):
    (site.content / "2020/讲话06.md").unlink()


def passage(site):  # the shared passage found in one more speech
    _edit(site, "2019/讲话05.md", "同志们：", f"同志们：\n\n{SHARED}")


def passage_gone(site):
    _edit(site, "2021/讲话03.md", SHARED, "这一段不再相同。")


def related(site):  # a body like another's: related lists change
    text = (site.content / "2018/讲话08.md").read_text(encoding="utf-8").split("---\n", 2)[2]
    path = site.content / "2019/讲话05.md"
    head = path.read_text(encoding="utf-8").split("---\n", 2)
    path.write_text("---\n".join([*head[:2], text]), encoding="utf-8")


def speech_template(site):
    (site.root / "templates").mkdir(exist_ok=True)
    (site.root / "templates/speech.html").write_text(
        '{% extends "default:speech.html" %}{% block title %}讲话 {{ speech.title }}{% endblock %}', encoding="utf-8"
    )


def setting(site):
    site.config("per_page = 4\nreuse_min_chars = 20\n")


CHANGES = [
    body,
    title,
    shared_title,
    date,
    meeting_type,
    new_theme,
    added,
    deleted,
    passage,
    passage_gone,
    related,
    speech_template,
    setting,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f.__name__)
def test_a_page_whose_inputs_did_not_change_keeps_its_key(built, checked, tmp_path, change):
    change(built)
    assert built.run("build", "-q") == 0
    assert checked["made"] + checked["skipped"] == checked["planned"]
    if change is setting:  # the scope of every page changed
        assert checked["skipped"] == 0
    else:
        assert checked["skipped"] > 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_all_changes_in_a_row_equal_a_clean_build(built, checked, tmp_path):
    for change in CHANGES:
        change(built)
        assert built.run("build", "-q") == 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_one_changed_body_makes_the_views_of_the_pages_that_show_it_only(built, checked):
    body(built)
    assert built.run("build", "-q") == 0
    # Its page and source, its neighbours', the speeches that list it as related or offer it to
    # compare, and the listings it is on; not the other 40-odd.
    assert 0 < checked["made"] <= checked["planned"] // 2
    # The others' inputs are not even computed: the plan found them unchanged (page_changes.py).
    assert checked["unchanged"] >= checked["planned"] // 2


def test_a_changed_body_makes_the_view_of_its_own_speech_page_only(built, monkeypatch, tmp_path):
    """Other speech pages show of it its title, URL and date (neighbours, related, 对比, passages):
    their inputs name those, not its file's digest, and their views are not made."""
    made: list[str] = []
    real = page_inputs._speech_view

    def speech_view(views, s, passages):
        made.append(s.source)
        return real(views, s, passages)

    monkeypatch.setattr(page_inputs, "_speech_view", speech_view)
    for rel in ("2019/讲话05.md", "2021/讲话03.md"):  # (the second shares a passage with 4 others)
        _edit(built, rel, "同志们：", "**同志们**：")  # (its HTML changes, not its text: related lists stay)
    assert built.run("build", "-q") == 0
    assert sorted(made) == ["2019/讲话05.md", "2021/讲话03.md"]
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_the_views_made_on_demand_are_those_of_every_page(built, monkeypatch):
    real = page_inputs.plan

    def plan(views, previous=None):
        pages = real(views, previous)
        made = [copy.copy(p).ensure() if isinstance(p, Planned) else p for p in pages]

        def shown(ps):
            return [(p.path, p.template, p.view, p.keyed(), p.body_of, p.owner) for p in ps]

        assert shown(made) == shown(views.all_pages())
        return pages

    monkeypatch.setattr(page_inputs, "plan", plan)
    title(built)
    assert built.run("build", "-q") == 0


def _cache_file(site: Site):
    return next((site.root / ".site_builder_cache").glob("*/cache.sqlite"))


def test_a_page_rendered_by_another_version_is_rendered_again(built, tmp_path):
    """An older checkout knows only the pages' keys: the key it stored for a page differs from the
    one beside the page's inputs, and the inputs are not trusted."""
    page = built.output / "speeches/2019/讲话05.html"
    page.write_text("an older version's page", encoding="utf-8")
    with sqlite3.connect(_cache_file(built)) as db:
        db.execute("UPDATE pages SET key='older' WHERE path='speeches/2019/讲话05.html'")
    db.close()
    body(built)  # (another speech; this one's inputs are the same)
    assert built.run("build", "-q") == 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_a_page_another_version_rendered_since_the_last_plan_is_rendered_again(built, checked, tmp_path):
    """Another version of site_builder keeps the pages' keys and inputs (with its own scope) but
    not the plan: a page it rendered has another key than the plan left, even with inputs stored
    beside that key."""
    path = "speeches/2018/讲话00.html"
    (built.output / path).write_text("another version's page", encoding="utf-8")
    with sqlite3.connect(_cache_file(built)) as db:
        db.execute("UPDATE pages SET key='other' WHERE path=?", (path,))
        db.execute("UPDATE page_inputs SET inputs='its scope', key='other' WHERE path=?", (path,))
    db.close()
    body(built)  # (another speech)
    assert built.run("build", "-q") == 0
    assert checked["unchanged"] > 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_a_deleted_page_whose_inputs_did_not_change_is_written_again(built, tmp_path):
    (built.output / "speeches/2018/讲话00.html").unlink()
    (built.output / "years/2020/index.html").unlink()
    body(built)
    assert built.run("build", "-q") == 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_a_title_shown_only_in_a_shared_passage(make_site, checked, tmp_path):
    """p3's page names p1 only as another place of the passage they share: not a neighbour (f2 is
    between), not its related speech (p2 is more alike), not its 对比 (no other speech has its
    meeting type)."""
    own = {"p1": "安全生产责任重于泰山。", "p2": "干部作风建设永远在路上。", "p3": "干部作风建设永远在路上。"}
    files = {
        f"{2016 + n}/{name}.md": speech(
            title=f"讲话{name}",
            date=f"{2016 + n}-01-01",
            meeting_type=f"会议{name}",
            body=f"同志们：\n\n{SHARED}\n\n{own.get(name, '今年的防汛工作准备充分。')}{name}项目推进顺利。\n",
        )
        for n, name in enumerate(["p1", "f1", "p2", "f2", "p3"])
    }
    site = make_site(files)
    site.config("reuse_min_chars = 20\nrelated_count = 1\n")
    assert site.run("build", "-q") == 0
    assert "讲话p1" in site.page("speeches/2020/p3.html")
    _edit(site, "2016/p1.md", "title: 讲话p1", "title: 讲话p1（修订）")
    assert site.run("build", "-q") == 0
    assert "讲话p1（修订）" in site.page("speeches/2020/p3.html")
    assert checked["skipped"] > 0
    assert_same_output(site, clean_copy(tmp_path, site, "clean"))


def _plan_kept(site: Site) -> bool:
    with sqlite3.connect(_cache_file(site)) as db:
        found = db.execute("SELECT count(*) FROM page_plan").fetchone()[0]
    db.close()
    return bool(found)


def test_a_build_stopped_while_writing_pages_leaves_no_plan(built, checked, monkeypatch, tmp_path):
    """The kept plan is dropped before pages are written and kept again after: a build stopped
    between leaves none, and the next one computes every page's inputs."""
    from site_builder import render_pages
    from site_builder.errors import SiteBuilderError

    assert _plan_kept(built)
    real = render_pages.render_page

    def stop(page, *args):
        if page.owner is None:  # (a speech's page would be reported on its file instead)
            raise SiteBuilderError("stopped")
        return real(page, *args)

    monkeypatch.setattr(render_pages, "render_page", stop)
    title(built)  # its listings must be written
    assert built.run("build", "-q") != 0
    assert not _plan_kept(built)
    monkeypatch.setattr(render_pages, "render_page", real)
    counts_before = dict(checked)
    assert built.run("build", "-q") == 0
    assert checked["unchanged"] == counts_before["unchanged"]  # every page's inputs computed
    assert _plan_kept(built)
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def _passages(*specs):
    from site_builder.reuse import Passage, Place

    return [Passage(text, tuple(Place(s, n) for s, n in places)) for text, places in specs]


def test_a_passage_hash_names_its_text_and_its_places_in_order():
    from site_builder.page_changes import _SourceIds, passage_hashes

    base = ("共同的一段话", [("a.md", 1), ("b.md", 2)])
    variants = [
        ("共同的一段话。", [("a.md", 1), ("b.md", 2)]),  # text
        ("共同的一段话", [("a.md", 1), ("b.md", 3)]),  # a paragraph
        ("共同的一段话", [("a.md", 1), ("c.md", 2)]),  # a source
        ("共同的一段话", [("b.md", 2), ("a.md", 1)]),  # the order
        ("共同的一段话", [("a.md", 1), ("b.md", 2), ("c.md", 1)]),  # one more place
    ]
    hashes, counts, sids = passage_hashes(_passages(base, *variants), _SourceIds())
    assert len(set(hashes.tolist())) == len(variants) + 1
    assert counts.tolist() == [2, 2, 2, 2, 2, 3]
    again, _, again_sids = passage_hashes(_passages(base), _SourceIds())  # (another build: the same)
    assert again[0] == hashes[0] and again_sids.tolist() == sids[:2].tolist()


def test_the_same_folders_named_another_way_make_no_view_and_render_no_page(built, checked, monkeypatch):
    """The pages' scope holds what they are made from, not where the folders are: a build given
    the content and output folders as absolute paths after one given them as relative paths (the
    defaults) keeps every page's scope, makes no view and renders no page (#15: every view of
    10,000 speeches was made again)."""
    from site_builder import render_pages

    rendered: list[str] = []
    real = render_pages.render_page

    def render(page, *args):
        rendered.append(page.path)
        return real(page, *args)

    monkeypatch.setattr(render_pages, "render_page", render)
    before = built.files()
    speech = sorted(built.content.rglob("*.md"))[0]
    for args in (["--content", str(built.content), "--output", str(built.output)], ["--content", "content"]):
        stat = speech.stat()  # a file touched, not changed: past the quick exit, every page planned
        os.utime(speech, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        checked["planned"] = 0
        assert built.run("build", "-q", *args) == 0
        assert checked["planned"] > 0
        assert (checked["made"], rendered) == (0, [])
    assert built.files() == before


def test_the_same_folders_named_another_way_are_a_quick_exit(built, monkeypatch):
    """The quick exit compares the folders as the absolute paths they name (#15: a build given
    them as relative paths after absolute ones ran the whole pipeline, at 10,000 speeches ≈ 3 s)."""
    from site_builder import build

    loads: list[int] = []
    real = build._load_model
    monkeypatch.setattr(build, "_load_model", lambda *a, **k: loads.append(1) or real(*a, **k))
    for args in (["--content", str(built.content), "--output", str(built.output)], ["--content", "./content"]):
        assert built.run("build", "-q", *args) == 0
    assert loads == []
    other = built.root / "elsewhere"
    other.mkdir()
    assert built.run("build", "-q", "--content", str(built.content), "--output", str(other / "output")) == 0
    assert loads == [1]  # another output folder is not the same build


def test_a_template_fingerprint_is_its_name_and_source_not_where_it_is(tmp_path):
    from site_builder.templates import TemplateSet

    def theme(name: str, text: str):
        root = tmp_path / name
        (root / "templates").mkdir(parents=True)
        (root / "templates" / "page.html").write_text(text, encoding="utf-8")
        return TemplateSet([tmp_path / "no-overrides", root]).fingerprint("page.html")

    assert theme("a", "<p>{{ x }}</p>") == theme("b", "<p>{{ x }}</p>")
    assert theme("c", "<p>{{ x }}</p>") != theme("d", "<p>{{ y }}</p>")
