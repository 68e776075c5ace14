"""`site-builder new`: options, prompts offering the existing vocabulary, never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from site_builder import authoring, frontmatter, schema
from site_builder.cli import cli

new_command = cli.commands["new"]

SEEDED = """---
title: 在2020年度党员队伍建设座谈会上的讲话
date: 2020
meeting_type: 座谈会
themes: [党员队伍建设, 党风廉政建设]
---

同志们：
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty project folder as the current directory, with one speech in content/."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content" / "2020").mkdir(parents=True)
    (tmp_path / "content" / "2020" / "seed.md").write_text(SEEDED, "utf-8")
    return tmp_path


def invoke(args, input=None):
    return CliRunner().invoke(new_command, args, input=input, catch_exceptions=False)


ALL = [
    "--title",
    "在2021年度党建工作会议上的讲话",
    "--date",
    "2021-01-15",
    "--meeting-type",
    "党建工作会议",
    "--theme",
    "基层党建",
    "--theme",
    "党风廉政建设",
    "--speaker",
    "张三",
    "--organization",
    "X局",
    "--no-input",
]
TARGET = Path("content/2021/在2021年度党建工作会议上的讲话.md")


def read(path: Path):
    fm = frontmatter.split(path.read_text("utf-8"))
    return fm, schema.validate(str(path), fm.data, fm.key_lines)


def test_all_options_no_input(site):
    result = invoke(ALL)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(TARGET)
    fm, (meta, problems) = read(site / TARGET)
    assert problems == [] and meta is not None
    assert fm.data == {
        "title": "在2021年度党建工作会议上的讲话",
        "date": "2021-01-15",
        "meeting_type": "党建工作会议",
        "themes": ["基层党建", "党风廉政建设"],
        "speaker": "张三",
        "organization": "X局",
    }
    assert fm.body.startswith("\n同志们：\n") and "## 一、" in fm.body


def test_refuses_to_overwrite(site):
    assert invoke(ALL).exit_code == 0
    (site / TARGET).write_text("edited", "utf-8")
    result = invoke(ALL)
    assert result.exit_code == 1
    assert f"{TARGET} already exists (new never overwrites); choose another name with --slug" in result.output
    assert (site / TARGET).read_text("utf-8") == "edited"
    result = invoke(ALL + ["--slug", "2021-党建工作会议"])
    assert result.exit_code == 0
    assert (site / "content/2021/2021-党建工作会议.md").is_file()


def test_content_option(site):
    result = invoke(ALL + ["--content", "elsewhere"])
    assert result.exit_code == 0
    assert (site / "elsewhere/2021/在2021年度党建工作会议上的讲话.md").is_file()


def test_year_only_date(site):
    result = invoke(["--title", "年度讲话", "--date", "2019", "--meeting-type", "座谈会", "--theme", "x", "--no-input"])
    assert result.exit_code == 0
    assert "date: 2019\n" in (site / "content/2019/年度讲话.md").read_text("utf-8")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--no-input"], "--title required when not prompting"),
        (["--title", "x", "--no-input"], "--date required when not prompting and the title names no year"),
        (["--title", "x", "--date", "2021-13-01", "--no-input"], "month 13"),
        (["--title", "x", "--date", "2021", "--slug", "a b", "--no-input"], "characters that do not work"),
    ],
)
def test_usage_errors(site, args, message):
    result = invoke(args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (site / "content/2021").exists()


def test_missing_meeting_type_and_themes_leaves_fields_to_fill(site):
    result = invoke(["--title", "讲话", "--date", "2021", "--no-input"])
    assert result.exit_code == 1
    assert "content/2021/讲话.md" in result.output
    assert "fill in: meeting_type, themes" in result.output
    _fm, (meta, problems) = read(site / "content/2021/讲话.md")
    assert meta is None
    assert {p.field for p in problems} == {"meeting_type", "themes"}  # fails `check` loudly until filled in


def test_no_input_takes_what_the_title_says(site):
    result = invoke(["--title", "在X局2021年度党员队伍建设座谈会上的讲话", "--no-input"])
    assert result.exit_code == 0, result.output
    assert "date: 2021 (from the title; check it)" in result.output
    assert "meeting_type: 座谈会 (from the title; check it)" in result.output
    fm, (_meta, problems) = read(site / "content/2021/在X局2021年度党员队伍建设座谈会上的讲话.md")
    assert problems == []
    assert fm.data == {
        "title": "在X局2021年度党员队伍建设座谈会上的讲话",
        "date": "2021",
        "meeting_type": "座谈会",
        "themes": ["党员队伍建设"],
        "organization": "X局",
    }


def test_prompt_defaults_come_from_the_title(site, monkeypatch):
    monkeypatch.setattr(authoring, "stdin_is_tty", lambda: True)
    result = invoke(["--title", "在2019年度党建工作会议上的讲话"], input="\n\n\n\n\n")
    assert result.exit_code == 1, result.output  # no theme chosen: left to fill in
    assert "fill in: themes in content/2019/在2019年度党建工作会议上的讲话.md" in result.output
    assert "[2019]" in result.output and "[党建工作会议]" in result.output
    fm, _ = read(site / "content/2019/在2019年度党建工作会议上的讲话.md")
    assert fm.data["meeting_type"] == "党建工作会议"
    assert "themes: []" in (site / "content/2019/在2019年度党建工作会议上的讲话.md").read_text("utf-8")


def test_not_a_tty_means_no_prompt(site):
    # CliRunner's stdin is not a terminal: no prompt even without --no-input
    result = invoke(
        ["--title", "讲话", "--date", "2021", "--meeting-type", "座谈会", "--theme", "a"], input="ignored\n"
    )
    assert result.exit_code == 0
    assert "会议类型" not in result.output


def test_prompts_offer_existing_vocabulary(site, monkeypatch):
    monkeypatch.setattr(authoring, "stdin_is_tty", lambda: True)
    answers = "\n".join(["在2021年度座谈会上的讲话", "2021-03-05", "1", "2、新主题", "李四", ""]) + "\n"
    result = invoke([], input=answers)
    assert result.exit_code == 0, result.output
    assert "1) 座谈会" in result.output
    assert "1) 党员队伍建设  2) 党风廉政建设" in result.output
    fm, (_meta, problems) = read(site / "content/2021/在2021年度座谈会上的讲话.md")
    assert problems == []
    assert fm.data == {
        "title": "在2021年度座谈会上的讲话",
        "date": "2021-03-05",
        "meeting_type": "座谈会",
        "themes": ["党风廉政建设", "新主题"],
        "speaker": "李四",
    }


def test_prompt_repeats_a_bad_date(site, monkeypatch):
    monkeypatch.setattr(authoring, "stdin_is_tty", lambda: True)
    result = invoke(
        ["--title", "讲话", "--meeting-type", "座谈会", "--theme", "a", "--speaker", "", "--organization", ""],
        input="2021-02-30\n2021-02-28\n",
    )
    assert result.exit_code == 0, result.output
    assert "not a real day" in result.output
    assert (site / "content/2021/讲话.md").is_file()


def test_near_miss_of_existing_term_is_noted(site):
    result = invoke(
        ["--title", "讲话", "--date", "2021", "--meeting-type", "座谈", "--theme", "党风廉政", "--no-input"]
    )
    assert result.exit_code == 0
    assert "new meeting type '座谈'; did you mean the existing '座谈会'?" in result.output
    assert "new theme '党风廉政'; did you mean the existing '党风廉政建设'?" in result.output


def test_closed_vocabulary_is_enforced(site):
    (site / "pyproject.toml").write_text('[tool.site_builder]\nthemes = ["基层党建", "党风廉政建设"]\n', "utf-8")
    result = invoke(
        ["--title", "讲话", "--date", "2021", "--meeting-type", "座谈会", "--theme", "党风廉政", "--no-input"]
    )
    assert result.exit_code == 2
    assert "did you mean '党风廉政建设'?" in result.output


def test_bad_configuration_is_a_usage_error(site):
    (site / "pyproject.toml").write_text('[tool.site_builder]\nper_page = "many"\n', "utf-8")
    result = invoke(ALL)
    assert result.exit_code == 2
    assert "per_page" in result.output and "Traceback" not in result.output


def test_help_ends_with_example():
    result = CliRunner().invoke(new_command, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "site-builder new --title" in result.output


def test_registered_in_the_main_cli(site, capsys):
    from site_builder.cli import main

    assert main(["new"] + ALL) == 0
    assert (site / TARGET).is_file()
    assert main(["new"] + ALL) == 1
    capsys.readouterr()
    # `import` is a command too: its own option parser rejects the option (a missing command
    # would also exit 2, with "No such command").
    assert main(["import", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"No such option:? '?--bogus", err) and "Usage: site-builder import" in err, err
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"^\s+new\s", listed, re.M) and re.search(r"^\s+import\s", listed, re.M), listed


def test_a_fifo_in_content_does_not_block_new(site):
    """`new` reads the archive's vocabulary through the loader's scan, which never opens a FIFO
    (reading one would wait for a writer for ever): run in a child with a generous guard."""
    import os
    import subprocess
    import sys

    os.mkfifo(site / "content" / "2020" / "pipe.md")
    proc = subprocess.run(
        [sys.executable, "-m", "site_builder", "new", *ALL],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.returncode == 0, proc.stderr
    assert (site / TARGET).is_file()
