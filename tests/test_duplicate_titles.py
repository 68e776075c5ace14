"""Two files with the same title and date (a speech saved twice) give a warning naming both, in
`check` and in `build` (issue #16), from the same mechanism as the same-text warning."""

from __future__ import annotations

from conftest import speech

from site_builder import duplicates

HINT = "the same speech saved twice? keep one, or mark the other draft: true"


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "as content/" in line]


def test_same_title_and_date_pairs():
    items = {
        "b.md": ("在党建会议上的讲话", "2020-03-05"),
        "a.md": ("在黨建會議上的講話", "2020-03-05"),
        "c.md": ("在党建会议上的讲话", "2020-03"),  # another date: not the same
        "d.md": ("在 党建会议上的讲话。", "2020-03-05"),  # spaces and punctuation do not count
        "e.md": ("在党建\u200b会议上的讲话", "2020-03-05"),
        "f.md": ("在安全会议上的讲话", "2020-03-05"),
    }
    assert duplicates.same_title_and_date(items) == [("a.md", "b.md"), ("a.md", "d.md"), ("a.md", "e.md")]
    assert duplicates.same_title_and_date({"x": ("。", "2020"), "y": ("！", "2020")}) == []


def test_check_and_build_name_both_files(site, capsys):
    site.write("2020/讲话.md", speech(body="同志们：\n\n今年要抓好安全生产。\n"))
    site.write("2020/讲话-副本.md", speech(body="同志们：\n\n今年要抓好党风廉政建设，另一篇不同的文字。\n"))
    site.write("2020/其他.md", speech(title="在其他会议上的讲话", body="别的内容。\n"))
    expected = "content/2020/讲话.md: warning: the same title and date as content/2020/讲话-副本.md"
    assert site.run("check") == 0  # a warning, not an error
    err = capsys.readouterr().err
    assert _warnings(err) == [expected], err
    assert HINT in err
    assert site.run("build") == 0
    err = capsys.readouterr().err
    assert _warnings(err) == [expected], err
    # A build with nothing changed repeats its warnings.
    assert site.run("build") == 0
    assert _warnings(capsys.readouterr().err) == [expected]


def test_same_title_date_and_text_is_one_warning(site, capsys):
    body = "同志们：\n\n要如履薄冰，恪尽职守。全面从严治党永远在路上。把权力关进制度的笼子里。\n"
    site.write("a.md", speech(body=body))
    site.write("b.md", speech(body=body))
    assert site.run("check") == 0
    err = capsys.readouterr().err
    assert _warnings(err) == ["content/b.md: warning: the same title and date, and the same text, as content/a.md"]


def test_a_draft_copy_is_not_a_duplicate(site, capsys):
    site.write("a.md", speech())
    site.write("b.md", speech(draft="true"))
    assert site.run("build") == 0
    assert _warnings(capsys.readouterr().err) == []
