"""Compiled templates kept between builds (#15, templates.TemplateSet.keep_compiled): a build whose
templates did not change compiles and parses none, in this process or in its render workers; a
changed template, a new or edited theme override, is compiled again and its pages show it."""

from __future__ import annotations

import jinja2
import pytest
from conftest import speech

from site_builder import build as buildmod
from site_builder.templates import TemplateSet

FILES = {
    f"{2018 + n % 3}/讲话{n:02d}.md": speech(title=f"讲话{n:02d}", date=f"{2018 + n % 3}-0{1 + n % 9}-1{n % 10}")
    for n in range(8)
}


def _edit_one(site, n: int) -> None:
    path = site.content / "2018/讲话00.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n补充第{n}段。\n", encoding="utf-8")


def _forbid_compiling(monkeypatch) -> None:
    """Compiling or parsing a template fails the build (forked render workers inherit this)."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("a template was compiled or parsed again")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)
    monkeypatch.setattr(jinja2.Environment, "parse", refuse)


@pytest.mark.parametrize("workers", [False, True], ids=["in-process", "workers"])
def test_a_build_whose_templates_did_not_change_compiles_none(make_site, monkeypatch, workers):
    if workers:
        monkeypatch.setattr(buildmod, "PARALLEL_RENDER_MIN", 1)  # render in forked workers, even for 8 speeches
    site = make_site(FILES)
    assert site.run("build", "-q") == 0
    _edit_one(site, 1)
    fresh = site.files()
    _forbid_compiling(monkeypatch)
    assert site.run("build", "-q") == 0  # its speech page, listings, feed and statistics rendered
    written = site.files()
    assert written != fresh and "补充第1段" in site.page("speeches/2018/讲话00.html")


def test_a_changed_template_is_compiled_again(make_site, tmp_path):
    site = make_site(FILES)
    assert site.run("build", "-q") == 0
    override = site.root / "templates" / "speech.html"
    override.parent.mkdir()
    for words in ["第一版覆盖", "第二版的覆盖"]:  # a new override, then the same file edited
        override.write_text(
            f'{{% extends "default:speech.html" %}}{{% block title %}}{words} {{{{ speech.title }}}}{{% endblock %}}',
            encoding="utf-8",
        )
        assert site.run("build", "-q") == 0
        assert f"{words} 讲话03" in site.page("speeches/2018/讲话03.html")
    override.unlink()
    assert site.run("build", "-q") == 0
    assert "覆盖" not in site.page("speeches/2018/讲话03.html")


def test_kept_references_are_those_of_the_source(tmp_path):
    """A template's fingerprint names what it extends and includes; kept by its source's digest,
    found again by another TemplateSet, and a changed source is parsed again."""
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "a.html").write_text('{% extends "b.html" %}', encoding="utf-8")
    (theme / "templates" / "b.html").write_text("<p>{% block x %}{% endblock %}</p>", encoding="utf-8")
    (theme / "templates" / "c.html").write_text("<p>c</p>", encoding="utf-8")
    kept = tmp_path / "kept"

    def fingerprint() -> str:
        templates = TemplateSet([tmp_path / "no-overrides", theme])
        templates.keep_compiled(kept, "version 1")
        return templates.fingerprint("a.html")

    first = fingerprint()
    assert fingerprint() == first
    (theme / "templates" / "b.html").write_text("<div>{% block x %}{% endblock %}</div>", encoding="utf-8")
    second = fingerprint()
    assert second != first
    (theme / "templates" / "a.html").write_text('{% extends "c.html" %}', encoding="utf-8")
    assert fingerprint() not in (first, second)
    (theme / "templates" / "c.html").write_text("<p>c, changed</p>", encoding="utf-8")
    third = TemplateSet([tmp_path / "no-overrides", theme]).fingerprint("a.html")  # (nothing kept)
    assert fingerprint() == third


def test_another_version_of_the_code_keeps_its_own(tmp_path):
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "a.html").write_text("<p>{{ x }}</p>", encoding="utf-8")
    kept = tmp_path / "kept"
    for version in ("version 1", "version 2"):
        templates = TemplateSet([tmp_path / "no-overrides", theme])
        templates.keep_compiled(kept, version)
        assert templates.render("a.html", "a.html", {"x": version}) == f"<p>{version}</p>"
        assert len(list(kept.iterdir())) == 1  # (the other version's folder removed)
