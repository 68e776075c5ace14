"""An incremental build equals a clean build of the same sources, byte for byte."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from conftest import Site, speech

BASE = {
    "2019/甲.md": speech(title="甲讲话", date="2019-05-01", themes=("党风廉政建设", "队伍建设")),
    "2020/乙.md": speech(title="乙讲话", date="2020", meeting_type="座谈会", body="## 一、要求\n\n如履薄冰。\n"),
    "2020/丙.md": speech(title="丙讲话", date="2020-07-01", themes=("队伍建设",), body="党员队伍建设。\n"),
    "2021/丁.md": speech(title="丁讲话", date="2021-01-05", meeting_type="座谈会"),
}


def clean_copy(tmp_path, site: Site, name: str) -> Site:
    """A fresh site with the same sources and settings, built from scratch."""
    fresh = Site(tmp_path / name)
    shutil.copytree(site.content, fresh.content, dirs_exist_ok=True)
    for extra in ("pyproject.toml", "templates"):
        src = site.root / extra
        if src.is_dir():
            shutil.copytree(src, fresh.root / extra)
        elif src.exists():
            shutil.copy(src, fresh.root / extra)
    assert fresh.run("build", "-q") == 0
    return fresh


def assert_same_output(a: Site, b: Site) -> None:
    fa, fb = a.files(), b.files()
    assert sorted(fa) == sorted(fb)
    different = [k for k in fa if fa[k] != fb[k]]
    assert different == []


@pytest.fixture
def built(make_site):
    site = make_site(BASE)
    site.config("per_page = 2\n")
    assert site.run("build", "-q") == 0
    return site


def edit(site):
    site.write(
        "2020/乙.md",
        speech(title="乙讲话（修订）", date="2020", meeting_type="工作会议", body="## 一、要求\n\n如临深渊。\n"),
    )


def add(site):
    site.write("2022/戊.md", speech(title="戊讲话", date="2022-03-01", themes=("新主题",)))


def delete(site):
    (site.content / "2019/甲.md").unlink()


def rename(site):
    (site.content / "2020/丙.md").rename(site.content / "2020/丙改名.md")


def template_change(site):
    (site.root / "templates").mkdir(exist_ok=True)
    (site.root / "templates/term.html").write_text(
        '{% extends "default:term.html" %}{% block title %}列表 {{ term.name }}{% endblock %}', encoding="utf-8"
    )


def config_change(site):
    site.config('per_page = 3\ntitle = "新的站名"\n')


@pytest.mark.parametrize(
    "change", [edit, add, delete, rename, template_change, config_change], ids=lambda f: f.__name__
)
def test_incremental_equals_clean(built, tmp_path, change):
    change(built)
    assert built.run("build", "-q") == 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_all_changes_in_a_row_equal_clean(built, tmp_path):
    for change in (edit, add, delete, rename, template_change, config_change):
        change(built)
        assert built.run("build", "-q") == 0
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))


def test_no_change_rewrites_nothing(built, capsys):
    before = {p: p.stat().st_mtime_ns for p in built.output.rglob("*") if p.is_file()}
    assert built.run("build") == 0
    assert "(nothing changed)" in capsys.readouterr().err
    after = {p: p.stat().st_mtime_ns for p in built.output.rglob("*") if p.is_file()}
    assert before == after


def test_one_changed_speech_rewrites_only_dependent_pages(built, capsys):
    text = (built.content / "2021/丁.md").read_text(encoding="utf-8")
    (built.content / "2021/丁.md").write_text(text + "\n补充一句。\n", encoding="utf-8")
    assert built.run("build", "--explain") == 0
    err = capsys.readouterr().err
    written = {line.split()[1] for line in err.splitlines() if line.strip().startswith("wrote ")}
    assert "speeches/2021/丁.html" in written
    # Its listing pages show only metadata, which did not change: they are not rewritten.
    assert "years/2021/index.html" not in written
    assert "speeches/2019/甲.html" not in written


def test_deleting_the_cache_gives_the_same_output(built, tmp_path):
    before = built.files()
    shutil.rmtree(built.root / ".site_builder_cache")
    assert built.run("build", "-q") == 0
    assert built.files() == before


def test_a_new_version_of_the_code_renders_every_page_again(built, tmp_path, monkeypatch):
    """Upgrading site_builder (here: Markdown bodies rendered differently) must not leave pages
    rendered by the old version behind, although no source, template or setting changed."""
    from site_builder import build as build_module
    from site_builder import markup

    real = markup.Renderer.render

    def marked(self, source):
        out = real(self, source)
        return dataclasses.replace(out, html=out.html + "<p>新版本</p>")

    monkeypatch.setattr(markup.Renderer, "render", marked)
    monkeypatch.setattr(build_module, "_code_version", lambda: "another version")
    assert built.run("build", "-q") == 0
    assert "<p>新版本</p>" in built.page("speeches/2020/乙.html")
    assert_same_output(built, clean_copy(tmp_path, built, "clean"))
