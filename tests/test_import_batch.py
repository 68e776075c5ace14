"""`site-builder import` on batches: folders, the metadata sheet, the report, --strict, duplicates,
messages and exit codes; `site-builder check` lists what awaits review."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from site_builder import frontmatter
from site_builder.cli import main
from site_builder.importer.batch import REPORT_COLUMNS

SPEECH_A = (
    "在2021年度全市安全生产工作会议上的讲话\n（2021年3月5日）\n市长　罗　成\n同志们：\n"
    + "今天召开全市安全生产工作会议，主要任务是部署今年的安全生产工作，压实各级责任。\n" * 3
    + "一、提高政治站位\n安全生产事关人民群众生命财产安全，必须抓紧抓实。各级党委政府要坚持人民至上、生命至上，"
    "统筹发展和安全，把隐患排查治理作为重中之重，对重点行业领域开展拉网式检查，做到不留死角、不留盲区。\n责任编辑：张三\n"
)
SPEECH_B = (
    "在全市文化工作座谈会上的讲话（2023年6月2日）王　强　　同志们：　　"
    + "今天我们召开座谈会，总结文化工作，部署下一步任务。" * 4
    + "　　一、深刻认识文化建设的重要意义　　文化是灵魂。"
)
NO_TITLE = "同志们：\n今天，我们在这里召开会议，总结去年的工作，部署今年的任务。\n一、总体情况\n情况很好。\n"
NO_DATE = "在全市政协委员座谈会上的讲话\n各位委员：\n今天，我们召开政协委员座谈会，主要任务是总结工作。\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder as the current directory: content/ and an archive/ folder to import."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content").mkdir()
    archive = tmp_path / "archive"
    (archive / "sub").mkdir(parents=True)
    (archive / "doc001.txt").write_text(SPEECH_A, "utf-8")
    (archive / "sub" / "doc002.txt").write_text(SPEECH_B, "utf-8")
    (archive / "doc003.txt").write_text(NO_TITLE, "utf-8")
    (archive / "notes.xlsx").write_bytes(b"PK\x03\x04 not imported: not a text suffix")
    return tmp_path


def run(capsys, *args):
    code = main(["import", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def report_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_folder_is_imported_recursively_with_report_and_summary(project, capsys):
    code, out, err = run(capsys, "archive", "--report", "report.csv")
    assert code == 1  # doc003 has no title: not written
    assert err == ""  # one stream, in order
    assert (
        out.index("[1/3] archive/doc001.txt")
        < out.index("[2/3] archive/doc003.txt")
        < out.index("[3/3] archive/sub/doc002.txt")
    )
    assert "写入 (written) 2" in out and "没有标题 (no title)" in out
    written = sorted(p.relative_to(project / "content").as_posix() for p in (project / "content").rglob("*.md"))
    assert written == ["2021/在2021年度全市安全生产工作会议上的讲话.md", "2023/在全市文化工作座谈会上的讲话.md"]
    rows = {Path(r["file"]).name: r for r in report_rows(project / "report.csv")}
    assert list(report_rows(project / "report.csv")[0]) == list(REPORT_COLUMNS)
    a = rows["doc001.txt"]
    assert (a["status"], a["date"], a["date_source"], a["speaker"], a["speaker_source"]) == (
        "written",
        "2021-03-05",
        "text:2",
        "罗成",
        "text:3",
    )
    assert a["dropped"] == "10: 责任编辑：张三" and a["moved"].startswith("1: 在2021年度")
    assert rows["doc003.txt"]["status"] == "refused" and "no title" in rows["doc003.txt"]["notes"]
    assert len(out.splitlines()) < 40  # a summary, not a dump


def test_written_files_pass_check_and_check_lists_what_awaits_review(project, capsys):
    run(capsys, "archive/doc001.txt", "archive/sub/doc002.txt")
    assert main(["check"]) == 0
    _out, err = capsys.readouterr()
    assert "2 篇讲话待核对" in err and "themes" in err
    data = frontmatter.split(
        (project / "content/2021/在2021年度全市安全生产工作会议上的讲话.md").read_text("utf-8")
    ).data
    assert data["review"] == ["themes"] and data["speaker"] == "罗成"


def test_metadata_sheet_supplies_and_overrides_values(project, capsys):
    (project / "sheet.csv").write_text(
        "\ufefffile,title,date,meeting_type,themes\n"
        "doc003.txt,在2022年全市工作会议上的讲话,2022-01-08,工作会议,安全生产;作风建设\n"
        "archive/doc001.txt,,2021-03-06,,党风廉政建设、安全生产\n",
        "utf-8",
    )
    code, out, _ = run(capsys, "archive", "--metadata", "sheet.csv")
    assert code == 0, out
    data = frontmatter.split((project / "content/2022/在2022年全市工作会议上的讲话.md").read_text("utf-8")).data
    assert data["themes"] == ["安全生产", "作风建设"] and "review" not in data
    a = frontmatter.split((project / "content/2021/在2021年度全市安全生产工作会议上的讲话.md").read_text("utf-8"))
    assert str(a.data["date"]) == "2021-03-06" and a.data["themes"] == ["党风廉政建设", "安全生产"]
    assert main(["check"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "sheet, message",
    [
        ("name,title\nx,y\n", "'file' column"),
        ("file,titel\nx,y\n", "(unknown columns) titel"),
        ("file,date\ndoc001.txt,2021-13-01\n", "sheet.csv:2: date"),
        ("file,title\ndoc001.txt,a\ndoc001.txt,b\n", "listed twice"),
    ],
)
def test_bad_sheet_is_a_usage_error_naming_row_and_column(project, capsys, sheet, message):
    (project / "sheet.csv").write_text(sheet, "utf-8")
    code, _out, err = run(capsys, "archive", "--metadata", "sheet.csv")
    assert code == 2 and message in err and "Traceback" not in err
    assert not list((project / "content").rglob("*.md"))


def test_strict_refuses_files_with_guessed_fields(project, capsys):
    code, out, _ = run(capsys, "archive/doc001.txt", "--strict")
    assert code == 1 and "--strict" in out and "themes" in out
    assert not list((project / "content").rglob("*.md"))
    code, out, _ = run(capsys, "archive/doc001.txt", "--strict", "--theme", "安全生产")
    assert code == 0 and len(list((project / "content").rglob("*.md"))) == 1


def test_same_speech_twice_is_reported_with_both_names_and_not_imported_again(project, capsys):
    (project / "archive" / "copy.txt").write_text("王强：" + SPEECH_A.replace("压实各级责任", "压实各方责任"), "utf-8")
    code, out, _ = run(capsys, "archive/doc001.txt", "archive/copy.txt")
    assert "重复 (duplicate)" in out and "archive/doc001.txt" in out.split("[2/2]")[1]
    code, out, _ = run(capsys, "archive/doc001.txt")
    assert code == 1 and "already in the archive" in out and "content/2021/" in out
    assert len(list((project / "content").rglob("*.md"))) == 2  # the near copy was written, once


def test_a_different_speech_with_the_same_title_gets_a_new_name(project, capsys):
    other = SPEECH_A.replace("今天召开全市安全生产工作会议", "这次会议的任务与往年不同，我们要讨论新的问题")
    (project / "archive" / "other.txt").write_text(other.replace("压实各级责任", "总结经验教训，研究新的办法"), "utf-8")
    code, _out, _ = run(capsys, "archive/doc001.txt", "archive/other.txt")
    assert code == 0
    names = sorted(p.name for p in (project / "content" / "2021").iterdir())
    assert names == ["在2021年度全市安全生产工作会议上的讲话-2.md", "在2021年度全市安全生产工作会议上的讲话.md"]


def test_dry_run_writes_nothing_and_says_what_it_would_write(project, capsys):
    _code, out, _ = run(capsys, "archive", "--dry-run")
    assert "将写入 (would write) content/2021/" in out and "将写入 (would write) 2" in out
    assert not list((project / "content").rglob("*.md"))


def test_no_year_is_refused_with_a_hint(project, capsys):
    (project / "archive" / "nodate.txt").write_text(NO_DATE, "utf-8")
    code, out, _ = run(capsys, "archive/nodate.txt")
    assert code == 1 and "没有年份 (no year)" in out and "--date 2020-03-05" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["archive", "--title", "x"], "--title and --slug apply to one file"),
        (["archive/doc001.txt", "--date", "2021-02-30"], "2021-02-30"),
        (["archive/doc001.txt", "--bogus"], "No such option '--bogus'"),
        (["archive/doc001.txt", "--slug", "a/b"], "--slug"),
    ],
)
def test_usage_errors_exit_2_and_name_the_option(project, capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and message in out + err
    assert not list((project / "content").rglob("*.md"))


def test_missing_path_and_unreadable_file_do_not_stop_the_others(project, capsys):
    (project / "archive" / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    code, out, _ = run(capsys, "nowhere.txt", "archive/old.doc", "archive/doc001.txt")
    assert code == 1 and "nowhere.txt: 文件不存在" in out and ".docx" in out
    assert len(list((project / "content").rglob("*.md"))) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_fifo_in_the_folder_is_refused_without_hanging(project, capsys):
    os.mkfifo(project / "archive" / "pipe.txt")
    code, out, _ = run(capsys, "archive")
    assert code == 1 and "pipe.txt" in out
    assert len(list((project / "content").rglob("*.md"))) == 2


def test_import_help_shows_the_batch_workflow(capsys):
    assert main(["import", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--metadata", "--report", "--strict", "--dry-run"):
        assert option in out
    assert "site-builder import archive/ --metadata sheet.csv --report report.csv" in out


def test_check_warns_about_the_same_speech_in_two_files(project, capsys):
    (project / "archive" / "copy.txt").write_text("王强：" + SPEECH_A.replace("压实各级责任", "压实各方责任"), "utf-8")
    run(capsys, "archive/doc001.txt", "archive/copy.txt")
    assert main(["check"]) == 0  # a warning, not an error
    err = capsys.readouterr().err
    assert "nearly the same text" in err
    assert "在2021年度全市安全生产工作会议上的讲话.md" in err and "讲话-2.md" in err


def test_word_file_and_saved_web_page_end_to_end(project, capsys):
    import docx

    document = docx.Document()
    document.add_paragraph("在2021年度全市科技工作会议上的讲话", style="Title")
    document.add_paragraph("（2021年4月8日）")
    document.add_paragraph("同志们：")
    document.add_paragraph("今天召开全市科技工作会议，主要任务是部署今年的科技创新工作。")
    document.add_paragraph("一、提高认识", style="Heading 1")
    document.add_paragraph("科技创新是发展的第一动力。")
    document.save(project / "archive" / "科技.docx")
    (project / "archive" / "page.html").write_text(
        "<html><head><meta charset='utf-8'><title>在全市文化工作座谈会上的讲话_某某网</title></head><body>"
        "<nav><a href='/'>首页</a> <a href='/news'>新闻</a> <a href='/about'>关于我们</a></nav>"
        "<div class='article'><h1>在全市文化工作座谈会上的讲话</h1><p>（2023年6月2日）</p><p>同志们：</p>"
        "<p>　　今天我们召开座谈会，总结文化工作，部署下一步任务，请大家认真抓好落实。</p>"
        "<p><strong>一、深刻认识文化建设的重要意义</strong></p><p>　　文化是一个国家、一个民族的灵魂。</p></div>"
        "<footer>版权所有 © 某某网 京ICP备000000号</footer></body></html>",
        "utf-8",
    )
    code, out, _ = run(capsys, "archive/科技.docx", "archive/page.html")
    assert code == 0, out
    word = frontmatter.split((project / "content/2021/在2021年度全市科技工作会议上的讲话.md").read_text("utf-8"))
    assert str(word.data["date"]) == "2021-04-08" and word.data["meeting_type"] == "工作会议"
    assert "\n## 一、提高认识\n" in word.body and "科技创新是发展的第一动力。" in word.body
    page = frontmatter.split((project / "content/2023/在全市文化工作座谈会上的讲话.md").read_text("utf-8"))
    assert str(page.data["date"]) == "2023-06-02"
    assert "## 一、深刻认识文化建设的重要意义" in page.body and "首页" not in page.body and "ICP" not in page.body
