"""Front-matter values are read as written (issue #16): a value YAML 1.1 would turn into a float,
an octal or hex integer, a boolean or a date is kept as its source text in text fields, and a date
that YAML reads as a number is refused with a message that quotes it."""

from __future__ import annotations

import pytest
from conftest import speech

from site_builder import frontmatter, schema
from site_builder.dates import PartialDate


def _validate(text: str):
    fm = frontmatter.split(text)
    return schema.validate("x.md", fm.data, fm.key_lines)


def _meta(text: str) -> schema.SpeechMeta:
    meta, problems = _validate(text)
    assert meta is not None, [p.format() for p in problems]
    return meta


@pytest.mark.parametrize(
    "written",
    [
        "2020.10",
        "0123",
        "0x10",
        "1e3",
        "1_000",
        "yes",
        "no",
        "on",
        "off",
        "True",
        "2020-03-05",
        ".nan",
        "-.inf",
        "=",
        "190:20:30",
        "0o17",
    ],
)
def test_text_fields_keep_what_was_typed(written):
    text = speech(
        title=written,
        themes=(written, "党建"),
        speaker=written,
        organization=written,
        location=written,
        summary=written,
        source=written,
        tags=f"[{written}]",
        slug=written if written not in ("=", "190:20:30", ".nan", "-.inf") else "x",
    )
    meta = _meta(text)
    assert meta.title == written
    assert meta.themes == (written, "党建")
    assert (meta.speaker, meta.organization, meta.location, meta.summary, meta.source) == (written,) * 5
    assert meta.tags == (written,)
    if written not in ("=", "190:20:30", ".nan", "-.inf"):
        assert meta.slug == written


def test_issue_examples():
    meta = _meta(speech(title="2020.10", speaker="0123", themes=("0x10",)))
    assert (meta.title, meta.speaker, meta.themes) == ("2020.10", "0123", ("0x10",))
    assert type(meta.title) is str and type(meta.speaker) is str  # plain text once validated


@pytest.mark.parametrize(
    "written,iso,chinese",
    [("2020.10", "2020-10", "2020年10月"), ("2020.1", "2020-01", "2020年1月"), ("2021.03", "2021-03", "2021年3月")],
)
def test_a_date_yaml_reads_as_a_number_is_refused(written, iso, chinese):
    meta, problems = _validate(speech(date=written))
    assert meta is None
    (p,) = [p for p in problems if p.field == "date"]
    assert p.line == 3
    assert repr(written) in p.message and "number" in p.message
    assert f"write {iso}" in p.hint and chinese in p.hint


@pytest.mark.parametrize("written", ["1e3", ".nan", "2020.13", "2020.10e1"])
def test_other_numbers_as_dates_are_refused(written):
    meta, problems = _validate(speech(date=written))
    assert meta is None
    assert any(p.field == "date" and repr(written) in p.message for p in problems)


@pytest.mark.parametrize("written", ["0x7E4", "0o3744", "2020_10", "yes", "20201005"])
def test_dates_yaml_would_retype_are_refused_quoting_them(written):
    meta, problems = _validate(speech(date=written))
    assert meta is None
    assert any(p.field == "date" and repr(written) in p.message for p in problems)


@pytest.mark.parametrize(
    "written,expected",
    [
        ("2020", PartialDate(2020)),
        ("2020-03-05", PartialDate(2020, 3, 5)),
        ('"2020.10"', PartialDate(2020, 10)),
        ("2020.10.05", PartialDate(2020, 10, 5)),
        ("2020年10月", PartialDate(2020, 10)),
    ],
)
def test_dates_that_mean_what_they_say_are_read(written, expected):
    assert _meta(speech(date=written)).date == expected


@pytest.mark.parametrize(
    "written,expected",
    [("true", True), ("false", False), ("True", True), ("yes", True), ("no", False), ("on", True), ("OFF", False)],
)
def test_draft_takes_booleans(written, expected):
    assert _meta(speech(draft=written)).draft is expected


@pytest.mark.parametrize("written", ['"true"', "1", "maybe", "是"])
def test_draft_refuses_anything_else_quoting_it(written):
    meta, problems = _validate(speech(draft=written))
    assert meta is None
    (p,) = problems
    assert (p.field, p.line) == ("draft", 6) and "expected true or false" in p.message


def test_explicit_tags_keep_the_text_too():
    meta = _meta(speech(title="!!float 2020.10", speaker="!!int 0123"))
    assert (meta.title, meta.speaker) == ("2020.10", "0123")
    meta, problems = _validate(speech(date="!!timestamp 2021-02-29"))
    assert meta is None and any("not a real day" in p.message for p in problems)


def test_key_lines_and_keys_stay_text():
    fm = frontmatter.split("---\n0123: a\nyes: b\ntitle: c\n---\n")
    assert list(fm.data) == ["0123", "yes", "title"]
    assert fm.key_lines == {"0123": 2, "yes": 3, "title": 4}


def test_check_prints_the_refusal_and_build_shows_the_title_as_typed(site, capsys):
    site.write("a.md", speech(title="2020.10", date="2020.10"))
    site.write("b.md", speech(title="0123", speaker="0123", themes=("0x10",)))
    assert site.run("check") == 1
    err = capsys.readouterr().err
    assert "content/a.md:3: date: '2020.10' is a number to YAML (2020.1), not a month" in err
    assert "hint: write 2020-10 (or 2020年10月)" in err
    assert site.run("build", "-q") == 1
    (page,) = [p.read_text("utf-8") for p in site.output.rglob("b.html")]
    assert "<h1>0123</h1>" in page.replace("\n", "") or ">0123<" in page
    assert "0x10" in page and ">83<" not in page and ">16<" not in page
