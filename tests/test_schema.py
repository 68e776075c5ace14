"""Every kind of bad input gets its exact message, with file, line, field and a hint."""

from __future__ import annotations

import pytest
from conftest import speech


def problems_of(site, capsys, *files) -> tuple[int, list[str]]:
    for rel, text in files:
        site.write(rel, text)
    code = site.run("check")
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line and not line.startswith(("Checked", "已检查"))]


CASES = [
    (
        "missing front matter",
        "无前言的讲话正文。\n",
        ["content/x.md:1: front matter: missing front matter: the file must start with a line '---'"],
    ),
    (
        "unclosed",
        "---\ntitle: 讲话\ndate: 2020\n",
        [
            "content/x.md:1: front matter: unclosed front matter: no closing '---' line",
            "    hint: did you forget the '---' line after the last field?",
        ],
    ),
    (
        "yaml error",
        "---\ntitle: 讲话\nmeeting_type: a: b\n---\n",
        [
            "content/x.md:3: front matter: YAML error: mapping values are not allowed in this context",
            '    hint: put the value in quotes when it contains a colon, e.g. title: "…：…"',
        ],
    ),
    (
        "not a mapping",
        "---\n- 讲话\n- 2020\n---\n",
        ["content/x.md:2: front matter: the front matter must be key: value lines, not a list"],
    ),
    (
        "missing fields",
        "---\ntitle: 讲话\n---\n正文\n",
        [
            "content/x.md:1: date: missing (required)",
            "content/x.md:1: meeting_type: missing (required)",
            "content/x.md:1: themes: missing (required, at least one)",
        ],
    ),
    (
        "impossible date",
        speech(date="2021-02-30"),
        [
            "content/x.md:3: date: '2021-02-30' is not a real day (2021年2月 has no 30日)",
            "    hint: write it as 2020-03-05, 2020-03, 2020 or 2020年3月5日",
        ],
    ),
    ("month 13", speech(date="2020-13"), ["content/x.md:3: date: '2020-13' has month 13, which does not exist"]),
    ("empty file", "", ["content/x.md: front matter: empty file"]),
    ("empty title", speech(title='""'), ["content/x.md:2: title: empty (required)"]),
    ("title is a list", speech(title="[a, b]"), ["content/x.md:2: title: expected text, got list: ['a', 'b']"]),
    ("bad draft", speech(draft="maybe"), ["content/x.md:6: draft: expected true or false, got 'maybe'"]),
    (
        "bad slug",
        speech(slug="a/b"),
        ["content/x.md:6: slug: the slug 'a/b' has characters that do not work in a URL or file name"],
    ),
    (
        "slug not in NFC",
        speech(slug="\uf900讲话"),  # U+F900 (a compatibility ideograph) is U+8C48 in NFC
        [
            "content/x.md:6: slug: the slug '\uf900讲话' is not in Unicode normal form NFC (NFC changes U+F900): "
            "write it as '\u8c48讲话'"
        ],
    ),
]


@pytest.mark.parametrize("name,text,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_messages(site, capsys, name, text, expected):
    code, lines = problems_of(site, capsys, ("x.md", text))
    assert code == 1
    for line in expected:
        assert line in lines, f"{line!r} not in {lines!r}"


def test_not_utf8_names_encoding_and_fix(site, capsys):
    data = speech(title="中文标题").encode("gbk")
    code, lines = problems_of(site, capsys, ("x.md", data))
    assert code == 1
    assert "content/x.md:2: encoding: not UTF-8 (looks like GB18030)" in lines
    assert any("iconv -f GB18030 -t UTF-8" in line for line in lines)


def test_bom_and_crlf_are_fine(site, capsys):
    data = b"\xef\xbb\xbf" + speech().replace("\n", "\r\n").encode("utf-8")
    code, lines = problems_of(site, capsys, ("x.md", data))
    assert (code, lines) == (0, [])


def test_unknown_key_is_a_warning_naming_the_intended_one(site, capsys):
    text = speech().replace("meeting_type:", "meeting_typ:")
    code, lines = problems_of(site, capsys, ("x.md", text), ("y.md", speech(title="另一篇", meeting_typx="1")))
    assert "content/x.md:4: warning: meeting_typ: unknown field, ignored" in lines
    assert "    hint: did you mean 'meeting_type'?" in lines
    assert code == 1  # x.md lacks meeting_type, which is an error


def test_closed_vocabulary_suggests_nearest(site, capsys):
    site.config('meeting_types = ["座谈会", "工作会议"]\nthemes = ["党风廉政建设", "队伍建设"]\n')
    code, lines = problems_of(site, capsys, ("x.md", speech(meeting_type="座谈", themes=("党风廉政",))))
    assert code == 1
    assert "content/x.md:4: meeting_type: unknown value '座谈' (the site allows only the configured list)" in lines
    assert "    hint: did you mean '座谈会'? known: 座谈会、工作会议" in lines
    assert any(line.startswith("content/x.md:5: themes: unknown value '党风廉政'") for line in lines)


def test_duplicate_urls_name_both_files(site, capsys):
    code, lines = problems_of(site, capsys, ("a/同名.md", speech()), ("b/同名.md", speech(title="另一篇")))
    assert code == 1
    assert any("would both be written to speeches/2020/同名.html" in line and "content/" in line for line in lines)


def test_all_problems_in_one_pass(site, capsys):
    code, lines = problems_of(
        site,
        capsys,
        ("a.md", ""),
        ("b.md", speech(date="2020-02-31")),
        ("c.md", "---\n[\n---\n"),
        ("ok.md", speech(title="好的")),
    )
    assert code == 1
    assert {line.split(":")[0] for line in lines if line.startswith("content/")} == {
        "content/a.md",
        "content/b.md",
        "content/c.md",
    }


def test_several_megabyte_file_builds_with_a_warning(site, capsys):
    body = ("这是一段很长的讲话内容，用来测试大文件。" * 20 + "\n\n") * 3000
    site.write("big.md", speech(body=body))
    code = site.run("build", "-q")
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: very large speech" in err
    assert "很长的讲话内容" in site.page("speeches/2020/big.html")


def test_dates_accept_partial_and_chinese(site, capsys):
    for i, d in enumerate(["2020", "2020-03", "2020年3月5日", "2020年度"]):
        site.write(f"d{i}.md", speech(title=f"讲话{i}", date=d))
    assert site.run("build", "-q") == 0
    assert '<time datetime="2020">2020年</time>' in site.page("speeches/2020/d0.html")
    assert "2020年3月" in site.page("speeches/2020/d1.html")
    assert "2020年3月5日" in site.page("speeches/2020/d2.html")


def test_control_characters_in_file_names_are_not_sent_to_the_terminal(site, capsys):
    code, lines = problems_of(site, capsys, ("a\x1b[31mb.md", "---\n"))
    assert code == 1
    assert any(line.startswith("content/a\\x1b[31mb.md:1: front matter:") for line in lines)
    assert not any("\x1b" in line for line in lines)
