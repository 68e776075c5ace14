"""`site-builder import`: the seed speeches, tricky files, inference, headings, exit codes."""
from __future__ import annotations

import codecs
import re
from pathlib import Path

import markdown
import pytest
from click.testing import CliRunner

from site_builder import frontmatter, schema
from site_builder.config import SiteConfig
from site_builder.dates import PartialDate
from site_builder.importer import (
    SourceError,
    Vocabulary,
    _split_heading,
    escape_markdown,
    import_command,
    import_text,
    read_source,
    scan_vocabulary,
)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "tests" / "fixtures" / "import" / "seeds"  # copies of ../shared/seeds/*.txt
CONTENT_2020 = REPO / "content" / "2020"
SEED_FILES = {
    "000_87d2a4315d1eeebf.txt": CONTENT_2020 / "在2020年度党员队伍建设座谈会上的讲话.md",
    "004_004ea9d529d320ec.txt": CONTENT_2020 / "在X局2020年度党建工作会议上的讲话.md",
}
#: The fields a person decided by hand after importing the seeds (everything else is the importer's).
DECIDED_BY_HAND = {"themes"}
DISCLAIMER = "本文系作者原创投稿，仅供学习参考，请勿照搬照抄！"
CONFIG = SiteConfig()


def run(args, cwd: Path):
    """Run `site-builder import` in ``cwd`` (so pyproject.toml there, if any, is the config)."""
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(import_command, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def split_file(text: str):
    fm = frontmatter.split(text)
    return fm.data, fm.body


# --- the seeds -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_seed_import_reproduces_content_up_to_decided_fields(seed):
    result = import_text((SEEDS / seed).read_text("utf-8"), seed, CONFIG, Vocabulary())
    wanted_data, wanted_body = split_file(SEED_FILES[seed].read_text("utf-8"))
    data, body = split_file(result.markdown)
    assert body == wanted_body
    for key in set(wanted_data) | set(data):
        if key not in DECIDED_BY_HAND:
            assert data.get(key) == wanted_data.get(key), key
    assert "themes" in result.check  # always the person's call


def test_seed_fields():
    one = import_text((SEEDS / "000_87d2a4315d1eeebf.txt").read_text("utf-8"), "000_87d2a4315d1eeebf.txt", CONFIG)
    assert one.fields["title"] == "在2020年度党员队伍建设座谈会上的讲话"
    assert one.fields["date"] == PartialDate(2020)
    assert one.fields["meeting_type"] == "座谈会"
    assert one.fields["themes"] == ["党员队伍建设"]  # from the title; 党风廉政建设 added by hand
    assert one.fields["organization"] is None  # not named: not invented
    assert one.dropped == [(1, DISCLAIMER)]
    assert one.missing == [] and one.problems == []
    assert one.headings == {"##": 4}
    assert "date: 2020\n" in one.markdown

    two = import_text((SEEDS / "004_004ea9d529d320ec.txt").read_text("utf-8"), "004_004ea9d529d320ec.txt", CONFIG)
    assert two.fields["organization"] == "X局"
    assert two.fields["meeting_type"] == "党建工作会议"  # the longest known type, not 工作会议
    assert two.fields["date"] == PartialDate(2020)
    assert two.missing == ["themes"]  # nothing in the title or an empty vocabulary says which
    assert "基层党建" in two.suggestions["themes"]
    assert two.headings == {"##": 4, "###": 7}
    assert "# site-builder import: fill in themes" in two.markdown


def _speech_chars(text: str) -> str:
    return re.sub(r"\s", "", text)


def _expected_from_seed(seed_text: str) -> str:
    """The seed minus the disclaimer and title lines; a numbered heading loses its final 。
    (the one change the importer makes: the heading ends where its first sentence ends)."""
    lines = seed_text.split("\n")
    kept = [line for line in lines if line.strip() and line.strip() != DISCLAIMER][1:]  # [0] is the title
    out = []
    for line in kept:
        if re.match(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", line) and "。" in line:
            line = line.replace("。", "", 1)
        out.append(line)
    return _speech_chars("".join(out))


@pytest.mark.parametrize("seed", sorted(SEED_FILES))
def test_content_keeps_every_character_of_the_seed(seed):
    seed_text = (SEEDS / seed).read_text("utf-8")
    _data, body = split_file(SEED_FILES[seed].read_text("utf-8"))
    body = re.sub(r"(?m)^#{2,6} ", "", body)
    assert "\\" not in body  # nothing escaped in these texts
    assert _speech_chars(body) == _expected_from_seed(seed_text)
    assert DISCLAIMER not in body


def test_seed_files_pass_validation_and_render_headings():
    for path in SEED_FILES.values():
        fm = frontmatter.split(path.read_text("utf-8"))
        meta, problems = schema.validate(str(path), fm.data, fm.key_lines)
        assert meta is not None and problems == []
        assert meta.date == PartialDate(2020)
        assert 2 <= len(meta.themes) <= 3
        html = markdown.markdown(fm.body)
        assert "<h2>一、" in html


def test_seed_copies_match_shared_seeds():
    shared = REPO.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds not present")
    for name in SEED_FILES:
        assert (shared / name).read_bytes() == (SEEDS / name).read_bytes()


def test_cli_on_seeds_writes_both_and_asks_for_themes(tmp_path):
    result = run([SEEDS / name for name in sorted(SEED_FILES)] + ["--content", tmp_path / "content"], tmp_path)
    assert result.exit_code == 1  # the second one needs its themes filled in
    out = result.output
    assert "encoding      UTF-8" in out
    assert "dropped       line 1: 本文系作者原创投稿" in out
    assert "fill in:      themes (suggestions:" in out
    assert "decide:       themes" in out
    written = sorted(p.name for p in (tmp_path / "content" / "2020").iterdir())
    assert written == sorted(p.name for p in SEED_FILES.values())
    # the first speech's themes join the vocabulary for the second: offered as a suggestion
    assert re.search(r"fill in:      themes \(suggestions: 党员队伍建设", out)


def test_vocabulary_from_content_is_used(tmp_path):
    vocab = scan_vocabulary(REPO / "content")
    assert "座谈会" in vocab.meeting_types and "党风廉政建设" in vocab.themes
    text = ("在市局2021年度党风廉政建设工作推进会上的讲话\n同志们：\n要抓好党风廉政建设。党风廉政建设是政治任务。\n")
    result = import_text(text, "x.txt", CONFIG, replace_vocab(vocab, meeting_types=("推进会",)))
    assert result.fields["meeting_type"] == "推进会"  # from the vocabulary, before the built-in 工作推进会
    assert "党风廉政建设" in result.fields["themes"]
    assert result.fields["organization"] is None  # 市局 is not a name


def replace_vocab(vocab, **changes):
    from dataclasses import replace

    return replace(vocab, **changes)


# --- reading files -----------------------------------------------------------------------------

GBK_TEXT = "在2019年度工作会议上的讲话\n同志们：\n一、提高认识。我们要如履薄冰。\n（一）加强学习\n谢谢大家！\n"


def test_read_gbk(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(GBK_TEXT.encode("gbk"))
    text, encoding = read_source(path)
    assert text == GBK_TEXT
    assert encoding == "GB18030"


def test_read_utf8_bom_crlf(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + GBK_TEXT.replace("\n", "\r\n").encode("utf-8"))
    text, encoding = read_source(path)
    assert text == GBK_TEXT and "\r" not in text and not text.startswith("\ufeff")
    assert encoding == "UTF-8 (BOM)"


def test_read_utf16(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes(GBK_TEXT.encode("utf-16"))
    assert read_source(path) == (GBK_TEXT, "UTF-16")


def test_read_docx(tmp_path):
    import docx

    document = docx.Document()
    for line in ["在2021年度党建工作会议上的讲话", "同志们：", "一、提高政治站位。要始终如一。", "谢谢！"]:
        document.add_paragraph(line)
    path = tmp_path / "讲话.docx"
    document.save(path)
    text, encoding = read_source(path)
    assert encoding == "DOCX"
    assert text.split("\n") == ["在2021年度党建工作会议上的讲话", "同志们：", "一、提高政治站位。要始终如一。", "谢谢！"]


@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "empty"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "save it as .docx"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "not a readable .docx"),
])
def test_read_errors(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError, match=re.escape(message)):
        read_source(path)


def test_read_missing_file(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        read_source(tmp_path / "nope.txt")


# --- tricky files through the command ------------------------------------------------------------


def test_cli_gbk_file(tmp_path):
    (tmp_path / "gbk.txt").write_bytes(GBK_TEXT.encode("gbk"))
    result = run(["gbk.txt", "--theme", "学习", "--content", "content"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "encoding      GB18030" in result.output
    target = tmp_path / "content" / "2019" / "在2019年度工作会议上的讲话.md"
    data, body = split_file(target.read_text("utf-8"))
    assert data == {"title": "在2019年度工作会议上的讲话", "date": 2019, "meeting_type": "工作会议", "themes": ["学习"]}
    assert body == "\n同志们：\n\n## 一、提高认识\n\n我们要如履薄冰。\n\n### （一）加强学习\n\n谢谢大家！\n"


def test_cli_bom_crlf_file(tmp_path):
    (tmp_path / "bom.txt").write_bytes(codecs.BOM_UTF8 + GBK_TEXT.replace("\n", "\r\n").encode("utf-8"))
    result = run(["bom.txt", "--theme", "学习", "--content", "content"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "encoding      UTF-8 (BOM)" in result.output
    text = (tmp_path / "content" / "2019" / "在2019年度工作会议上的讲话.md").read_bytes()
    assert b"\r" not in text and not text.startswith(codecs.BOM_UTF8)


def test_cli_docx(tmp_path):
    import docx

    document = docx.Document()
    for line in ["2021年3月5日", "在X局2021年度动员大会上的讲话", "同志们：", "一、统一思想。大家要一条心。"]:
        document.add_paragraph(line)
    document.save(tmp_path / "动员.docx")
    result = run(["动员.docx", "--theme", "作风建设", "--content", "content"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "encoding      DOCX" in result.output
    data, body = split_file((tmp_path / "content" / "2021" / "在X局2021年度动员大会上的讲话.md").read_text("utf-8"))
    assert data["date"] == "2021-03-05"  # the date line beats the year in the title
    assert data["meeting_type"] == "动员大会" and data["organization"] == "X局"
    assert body.startswith("\n2021年3月5日\n\n同志们：\n\n## 一、统一思想\n\n大家要一条心。")


def test_no_title_line_uses_file_name(tmp_path):
    text = "同志们：\n今天我们召开2020年度工作总结会议，总结一年来的工作。\n一、工作回顾\n谢谢！\n"
    result = import_text(text, "年终总结讲话.txt", CONFIG)
    assert result.fields["title"] == "年终总结讲话"
    assert "file name" in result.inferred["title"][1]
    assert "title" in result.check
    assert result.fields["date"] == PartialDate(2020)  # the only 20XX年度 the text names
    assert "meeting_type" in result.missing
    assert result.markdown.split("---\n", 2)[2].startswith("\n同志们：")  # nothing taken from the body


def test_no_title_line_short_first_line(tmp_path):
    text = "凝心聚力开创新局\n同志们：\n今年的工作很重要。\n"
    result = import_text(text, "2020-12-30.txt", CONFIG)
    assert result.fields["title"] == "凝心聚力开创新局"
    assert result.fields["date"] == PartialDate(2020, 12, 30)
    assert "凝心聚力" not in result.markdown.split("---\n", 2)[2]


def test_cli_no_title_anywhere_is_reported(tmp_path):
    (tmp_path / "a1b2c3.txt").write_text("同志们：\n今天开个短会，2020年度的工作要抓紧。大家要如履薄冰，恪尽职守，把工作做好。\n", "utf-8")
    result = run(["a1b2c3.txt", "--content", "content"], tmp_path)
    assert result.exit_code == 1
    assert "title         could not infer it" in result.output
    assert "fill in:      title" in result.output
    written = tmp_path / "content" / "2020" / "a1b2c3.md"
    data, _ = split_file(written.read_text("utf-8"))
    assert "title" not in data
    assert "# site-builder import: fill in title, meeting_type, themes" in written.read_text("utf-8")


def test_cli_no_year_is_reported_and_nothing_written(tmp_path):
    (tmp_path / "无日期.txt").write_text("在党建工作会议上的讲话\n同志们：\n要抓好党建。\n", "utf-8")
    result = run(["无日期.txt", "--content", "content"], tmp_path)
    assert result.exit_code == 1
    assert "date          could not infer it" in result.output
    assert "not found: no year in the title, the text or the file name" in result.output
    assert "--date 2020-03-05" in result.output
    assert not (tmp_path / "content").exists()
    # given the date, it imports
    result = run(["无日期.txt", "--content", "content", "--date", "2018年5月4日", "--theme", "基层党建"], tmp_path)
    assert result.exit_code == 0, result.output
    data, _ = split_file((tmp_path / "content" / "2018" / "在党建工作会议上的讲话.md").read_text("utf-8"))
    assert data["date"] == "2018-05-04" and data["meeting_type"] == "党建工作会议"


def test_no_year_missing_in_result():
    result = import_text("在党建工作会议上的讲话\n同志们：\n要抓好党建。\n", "x.txt", CONFIG)
    assert "date" in result.missing and result.year is None
    assert result.relative_path() is None


# --- never overwrite, dry run --------------------------------------------------------------------


def test_never_overwrites(tmp_path):
    (tmp_path / "gbk.txt").write_bytes(GBK_TEXT.encode("gbk"))
    assert run(["gbk.txt", "--theme", "学习", "--content", "content"], tmp_path).exit_code == 0
    target = tmp_path / "content" / "2019" / "在2019年度工作会议上的讲话.md"
    target.write_text(target.read_text("utf-8") + "\n手工修改\n", "utf-8")
    before = target.read_bytes()
    result = run(["gbk.txt", "--theme", "学习", "--content", "content"], tmp_path)
    assert result.exit_code == 1
    assert "content/2019/在2019年度工作会议上的讲话.md already exists (import never overwrites)" in result.output
    assert "--slug 在2019年度工作会议上的讲话-2" in result.output
    assert target.read_bytes() == before
    result = run(["gbk.txt", "--theme", "学习", "--content", "content", "--slug", "2019-工作会议"], tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "content" / "2019" / "2019-工作会议.md").is_file()


def test_dry_run_writes_nothing(tmp_path):
    result = run([SEEDS / "000_87d2a4315d1eeebf.txt", "--content", "content", "--dry-run"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "would write   content/2020/在2020年度党员队伍建设座谈会上的讲话.md (dry run: nothing written)" in result.output
    assert "meeting_type: 座谈会" in result.output  # the front matter is shown
    assert not (tmp_path / "content").exists()


def test_dry_run_reports_existing_file(tmp_path):
    run([SEEDS / "000_87d2a4315d1eeebf.txt", "--content", "content"], tmp_path)
    result = run([SEEDS / "000_87d2a4315d1eeebf.txt", "--content", "content", "--dry-run"], tmp_path)
    assert result.exit_code == 1 and "already exists" in result.output


# --- options and exit codes -------------------------------------------------------------------------


def test_options_override_inference(tmp_path):
    result = run([SEEDS / "004_004ea9d529d320ec.txt", "--content", "c", "--title", "党建工作会议讲话",
                  "--date", "2021-01-15", "--meeting-type", "工作会议", "--theme", "基层党建、党风廉政建设",
                  "--speaker", "张三", "--organization", "Y局"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "(given on the command line)" in result.output
    data, body = split_file((tmp_path / "c" / "2021" / "党建工作会议讲话.md").read_text("utf-8"))
    assert data == {"title": "党建工作会议讲话", "date": "2021-01-15", "meeting_type": "工作会议",
                    "themes": ["基层党建", "党风廉政建设"], "speaker": "张三", "organization": "Y局"}
    assert "在X局2020年度党建工作会议上的讲话" not in body  # the title line is still recognised and left out


def test_force_year(tmp_path):
    result = run([SEEDS / "000_87d2a4315d1eeebf.txt", "--content", "c", "--force-year", "2019"], tmp_path)
    assert result.exit_code == 0, result.output
    data, _ = split_file((tmp_path / "c" / "2019" / "在2020年度党员队伍建设座谈会上的讲话.md").read_text("utf-8"))
    assert data["date"] == 2019


@pytest.mark.parametrize("args, message", [
    (["a.txt", "b.txt", "--title", "x"], "--title and --slug apply to one file"),
    (["a.txt", "--date", "2021-02-30"], "not a real day"),
    (["a.txt", "--date", "2020", "--force-year", "2019"], "disagree"),
    (["a.txt", "--slug", "a/b"], "characters that do not work"),
    ([], "Missing argument"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    (tmp_path / "a.txt").write_text(GBK_TEXT, "utf-8")
    (tmp_path / "b.txt").write_text(GBK_TEXT, "utf-8")
    result = run(args, tmp_path)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_closed_vocabulary(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.site_builder]\nmeeting_types = ["座谈会", "工作会议"]\n', "utf-8")
    (tmp_path / "a.txt").write_text(GBK_TEXT, "utf-8")
    result = run(["a.txt", "--meeting-type", "座谈", "--theme", "x"], tmp_path)
    assert result.exit_code == 2 and "did you mean '座谈会'?" in result.output
    result = run(["a.txt", "--theme", "学习"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "one of the configured meeting types" in result.output
    # a title whose meeting is not in the closed list: not guessed, reported
    (tmp_path / "b.txt").write_text("在2019年度动员大会上的讲话\n同志们：\n", "utf-8")
    result = run(["b.txt", "--theme", "学习"], tmp_path)
    assert result.exit_code == 1 and "fill in:      meeting_type" in result.output


def test_unreadable_file_exit_1_others_still_imported(tmp_path):
    (tmp_path / "ok.txt").write_text(GBK_TEXT, "utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run(["empty.txt", "missing.txt", "ok.txt", "--theme", "学习", "--content", "c"], tmp_path)
    assert result.exit_code == 1
    assert "empty.txt: the file is empty" in result.output
    assert "missing.txt: no such file" in result.output
    assert "1 of 3 imported cleanly" in result.output
    assert (tmp_path / "c" / "2019" / "在2019年度工作会议上的讲话.md").is_file()
    assert "Traceback" not in result.output


def test_help_ends_with_example():
    result = CliRunner().invoke(import_command, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "site-builder import ../shared/seeds/*.txt --dry-run" in result.output


# --- inference details ---------------------------------------------------------------------------


@pytest.mark.parametrize("title, meeting_type, organization, topic", [
    ("在2020年度党员队伍建设座谈会上的讲话", "座谈会", None, "党员队伍建设"),
    ("在X局2020年度党建工作会议上的讲话", "党建工作会议", "X局", None),
    ("在全市2021年度安全生产工作会议上的讲话", "工作会议", None, "安全生产"),
    ("在市公安局2019年度表彰大会上的讲话（摘要）", "表彰大会", "市公安局", None),
    ("在全局2020年度专题民主生活会上的发言", "专题民主生活会", None, None),
    ("张三同志在县委2020年理论学习中心组学习会上的讲话", "理论学习中心组学习会", None, None),
    ("在市第五次党代会上的工作报告", "党代会", None, None),
    ("在全县2021年脱贫攻坚推进会上的讲话", "推进会", None, "脱贫攻坚"),
    ("在X公司2020年职代会上的讲话", "职代会", "X公司", None),
])
def test_title_inference(title, meeting_type, organization, topic):
    result = import_text(f"{title}\n同志们：\n谢谢。\n", "x.txt", CONFIG)
    assert result.fields["title"] == title
    assert result.fields["meeting_type"] == meeting_type
    assert result.fields["organization"] == organization
    assert result.fields["themes"] == ([topic] if topic else [])


def test_subtitle_is_joined():
    result = import_text("凝心聚力 开创新局\n——在2021年度工作会议上的讲话\n同志们：\n", "x.txt", CONFIG)
    assert result.fields["title"] == "凝心聚力 开创新局——在2021年度工作会议上的讲话"
    assert result.fields["meeting_type"] == "工作会议"
    assert "凝心聚力" not in result.markdown.split("---\n", 2)[2]


@pytest.mark.parametrize("text, filename, date", [
    ("在工作会议上的讲话\n（2020年3月5日）\n同志们：\n", "x.txt", PartialDate(2020, 3, 5)),
    ("在工作会议上的讲话\n二〇二一年一月十五日\n同志们：\n", "x.txt", PartialDate(2021, 1, 15)),
    ("在2020年度工作会议上的讲话\n同志们：\n", "2021-01-15 工作会议.txt", PartialDate(2021, 1, 15)),
    ("在工作会议上的讲话\n同志们：\n", "20190704.txt", PartialDate(2019, 7, 4)),
    ("在工作会议上的讲话\n同志们：\n", "2018年讲话.txt", PartialDate(2018)),
    ("在２０２０年度工作会议上的讲话\n同志们：\n", "x.txt", PartialDate(2020)),
    ("在2020年3月工作会议上的讲话\n同志们：\n", "x.txt", PartialDate(2020, 3)),
])
def test_date_inference(text, filename, date):
    assert import_text(text, filename, CONFIG).fields["date"] == date


def test_conflicting_years_are_flagged():
    result = import_text("在2020年度工作会议上的讲话\n同志们：\n", "2021-01-15.txt", CONFIG)
    assert "date" in result.check and any("different years" in n for n in result.notes)


def test_body_years_only_when_unambiguous():
    result = import_text("同志们：\n2019年度和2020年度的工作都很重要。\n", "x.txt", CONFIG)
    assert result.fields["date"] is None
    assert result.suggestions["date"] == ["2019", "2020"]


def test_boilerplate_in_the_middle_is_kept():
    lines = ["在2020年度工作会议上的讲话", "同志们："] + [f"第{i}段话。" for i in range(12)]
    lines.insert(8, "资金来源：财政拨款。")
    lines.append("来源：某某网")
    result = import_text("\n".join(lines), "x.txt", CONFIG)
    assert result.dropped == [(len(lines), "来源：某某网")]
    assert "资金来源：财政拨款。" in result.markdown
    assert any("in the middle of the text: kept" in n for n in result.notes)


# --- headings and escaping -----------------------------------------------------------------------


@pytest.mark.parametrize("line, expected", [
    ("一、总体要求", (1, "一、总体要求", "")),
    ("一、总体要求。", (1, "一、总体要求", "")),
    ("一、要始终保持对权力的敬畏。在座的都是各单位的主要领导。", (1, "一、要始终保持对权力的敬畏", "在座的都是各单位的主要领导。")),
    ("（二）严格遵守中央“八项规定”，打造清廉队伍。基层党员天天与群众打交道。",
     (2, "（二）严格遵守中央“八项规定”，打造清廉队伍", "基层党员天天与群众打交道。")),
    ("1.加强学习", (3, "1.加强学习", "")),
    ("2、为什么要学？因为要进步。", (3, "2、为什么要学？", "因为要进步。")),
    ("一、“权力是柄双刃剑。”在座的都要记住。", None),  # the first sentence ends inside quotes
    ("一、" + "很长" * 40 + "。后文。", None),  # first sentence too long for a heading
    ("1.5亿元的投入要用好。", None),
    ("首先，要建好班子，打造坚强过硬的战斗堡垒。各级要建立网络。", None),  # prose, kept as a paragraph
    ("一是要明确职责。从督察情况看。", None),
])
def test_split_heading(line, expected):
    assert _split_heading(line) == expected


@pytest.mark.parametrize("line", [
    "# 不是标题", "> 不是引用", "- 不是列表", "* 不是列表", "+ 不是列表", "1. 不是列表", "---", "***",
    "带*星号*和_下划线_的`代码`", "一个 <b>标签</b>", "反斜杠 \\ 保留",
])
def test_escape_renders_as_written(line):
    html = markdown.markdown(escape_markdown(line))
    from html import unescape

    text = unescape(re.sub(r"<[^>]+>", "", html)).strip()
    assert text == line
    assert html.startswith("<p>")


def test_heading_levels_follow_what_the_text_uses():
    text = "在2020年度工作会议上的讲话\n同志们：\n（一）第一部分\n内容。\n1.小点\n内容。\n"
    body = import_text(text, "x.txt", CONFIG).markdown.split("---\n", 2)[2]
    assert "\n## （一）第一部分\n" in body and "\n### 1.小点\n" in body


def test_unusual_text_does_not_crash_and_validates():
    text = "\n".join(["---", "title: x", "...", "# 井号", "一、", "（一）", "1.", "。", "“一、", "\ufeff在2020年度会上的讲话"])
    result = import_text(text, "x.txt", CONFIG)
    fm = frontmatter.split(result.markdown)
    assert fm.data["date"] == 2020


# --- any text: no crash, a readable file, no character lost ---------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_PIECES = ["一、", "（一）", "1.", "2、", "首先，", "同志们：", "在2020年度工作会议上的讲话", "。", "！", "？", "“", "”",
           "#", ">", "-", "*", "_", "`", "\\", "<b>", "---", " ", "\u3000", "党建", "队伍", "本文系作者原创投稿", "x"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join), min_size=1, max_size=12))
def test_any_text_imports_without_losing_characters(lines):
    from collections import Counter

    text = "\n".join(lines)
    result = import_text(text, "2020.txt", CONFIG)
    fm = frontmatter.split(result.markdown)  # always a readable front matter
    assert fm.data["date"] == 2020
    body = re.sub(r"(?m)^#{2,6} ", "", fm.body)
    body = re.sub(r"\\([\\`*_#>+\-.!])", r"\1", body).replace("&lt;", "<")
    got = Counter(re.sub(r"\s", "", body))
    gone = {n for n, _ in result.dropped}
    how = result.inferred.get("title", (None, ""))[1]
    if m := re.match(r"lines? (\d+)(?:–(\d+))?,", how):  # the title line(s)
        gone |= set(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    source = [ln for n, ln in enumerate(text.split("\n"), 1) if n not in gone]
    want = Counter(re.sub(r"\s", "", "".join(source)))
    lost = want - got
    assert set(lost) <= {"。"} and lost["。"] <= sum(result.headings.values()), (lost, result.markdown)
    assert not (got - want)
