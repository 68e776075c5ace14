"""site_builder.importer.sources: every format and encoding, every refusal, nothing of the text lost."""

from __future__ import annotations

import io
import os
import threading
import zipfile
from pathlib import Path

import pytest

from site_builder.importer.sources import MAX_BYTES, SUFFIXES, Source, SourceError, read_bytes, read_source

FIXTURES = Path(__file__).parent / "fixtures" / "import" / "sources"

SPEECH = "在全市安全生产工作会议上的讲话\n\n同志们：\n\n今天召开全市安全生产工作会议，主要任务是总结工作。\n\n一、提高政治站位，压实安全生产责任\n"
TRADITIONAL = (
    "在全市經濟工作會議上的講話\n\n各位代表：\n\n過去一年，我們堅持穩中求進工作總基調，"
    "經濟運行總體平穩，發展質量穩步提升。\n\n一、認真總結經驗，準確把握當前形勢\n"
)


# ------------------------------------------------------------------------------------------------
# Plain text and encodings
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, fmt",
    [
        (SPEECH.encode("utf-8"), "UTF-8"),
        (b"\xef\xbb\xbf" + SPEECH.encode("utf-8"), "UTF-8 (BOM)"),
        (SPEECH.encode("utf-16"), "UTF-16"),
        (SPEECH.encode("utf-16-le"), "UTF-16"),
        (SPEECH.encode("utf-16-be"), "UTF-16"),
        (SPEECH.encode("gbk"), "GB18030"),
        (SPEECH.encode("gb18030"), "GB18030"),
        (TRADITIONAL.encode("big5"), "Big5"),
        (TRADITIONAL.encode("gb18030"), "GB18030"),
    ],
)
def test_plain_text_encodings(data, fmt):
    source = read_bytes(data, "doc001.txt")
    assert source.format == fmt
    assert source.text in (SPEECH, TRADITIONAL)
    assert source.headings == {} and source.title is None


def test_big5_is_not_misread_as_gb18030():
    # Big5 bytes are nearly always valid GB18030 too; the decision is by which gives common characters.
    for text, codec in (
        (TRADITIONAL, "big5"),
        ("各位代表：\n我們堅持穩中求進。\n", "big5"),
        ("『倣照』辦理，「拚命」工作。\n", "cp950"),
        ("「衞生工作」會議擧行，貪汚必究。\n", "big5hkscs"),
    ):
        data = text.encode(codec)
        data.decode("gb18030")  # the trap: it decodes, to nonsense
        source = read_bytes(data, "doc002.txt")
        assert source.format == "Big5"
        assert source.text == text


def test_short_gbk_is_not_misread_as_big5():
    for text in ("同志们：\n", "谢谢大家！", "一、总体要求"):
        source = read_bytes(text.encode("gbk"), "a.txt")
        assert source.text == text and source.format == "GB18030"


def test_utf16_without_bom_chinese_only_lines():
    text = "同志们：\r\n今天召开会议。\r\n二〇二三年十二月三十一日\r\n"
    for codec in ("utf-16-le", "utf-16-be"):
        source = read_bytes(text.encode(codec), "x.txt")
        assert source.format == "UTF-16"
        assert source.text == text.replace("\r\n", "\n")


def test_line_endings_normalised_and_every_character_kept():
    text = "第一行\r\n第二\u200b行\r第三行\u3000\u3000\n\ufeff第四行\t ２００１年ＧＤＰ"
    source = read_bytes(text.encode("utf-8"), "a.text")
    assert source.text == "第一行\n第二\u200b行\n第三行\u3000\u3000\n\ufeff第四行\t ２００１年ＧＤＰ"
    assert read_bytes(text.encode("gb18030"), "a.txt").text == source.text


def test_read_source_from_a_path(tmp_path):
    path = tmp_path / "新建文本文档 (3).txt"
    path.write_bytes(SPEECH.encode("gbk"))
    source = read_source(path)
    assert isinstance(source, Source)
    assert source.text == SPEECH and source.format == "GB18030"


def test_suffixes():
    assert set(SUFFIXES) == {".txt", ".text", ".md", ".markdown", ".docx", ".html", ".htm", ".xhtml", ".pdf"}


# ------------------------------------------------------------------------------------------------
# Refusals
# ------------------------------------------------------------------------------------------------


def _refused(path) -> str:
    with pytest.raises(SourceError) as info:
        read_source(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_refuses_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result: dict = {}

    def attempt():
        try:
            read_source(fifo)
        except SourceError as err:
            result["message"] = str(err)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive(), "read_source blocked on a FIFO"
    assert "FIFO" in result["message"] and str(fifo) in result["message"]


def test_refuses_character_device():
    # only os.stat is used on it: nothing is read from outside the repository
    message = _refused(Path(os.devnull))
    assert "device" in message


def test_refuses_folder(tmp_path):
    assert "folder" in _refused(tmp_path)


def test_refuses_missing_file(tmp_path):
    assert "no such file" in _refused(tmp_path / "nope.txt")


def test_refuses_oversize_file(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:  # sparse: no disk space used
        fh.truncate(MAX_BYTES + 1)
    assert "too large" in _refused(path)


@pytest.mark.parametrize("content", [b"", b"  \r\n\t\n"])
def test_refuses_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    assert "empty" in _refused(path)


@pytest.mark.parametrize("name", ["old.doc", "renamed.txt", "old.docx"])
def test_refuses_old_binary_doc(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    message = _refused(path)
    assert ".docx" in message and ".txt" in message and ".doc" in message


def test_html_saved_as_doc_is_read_as_html():
    page = "<html><head><meta charset='gbk'></head><body><p>同志们：</p><p>今天开会。</p></body></html>".encode("gbk")
    source = read_bytes(page, "通知.doc")
    assert source.text == "同志们：\n今天开会。" and source.format == "HTML (GB18030)"
    assert "HTML" in source.notes[0]


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("broken.docx", b"PK\x03\x04" + b"\x00garbage" * 20, "docx"),
        ("broken.pdf", b"%PDF-1.4\n%garbage\n" + bytes(range(256)), "PDF"),
        ("picture.txt", b"\x89PNG\r\n\x1a\n" + bytes(100), "not a text file"),
        ("binary.txt", bytes(range(256)) * 4, "NUL"),
        ("unknown.txt", bytes([0xFF, 0xFE - 1, 0x81, 0x30]) * 3 + bytes(range(0x80, 0x100)) * 3, "encoding"),
        ("page.rtf", b"{\\rtf1\\ansi hello}", "RTF"),
        ("page.mht", b"MIME-Version: 1.0\r\nContent-Type: multipart/related\r\n\r\n", "MHT"),
    ],
)
def test_refuses_unreadable_files(tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    assert words in _refused(path)


def test_no_library_exception_escapes():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=60, deadline=None)
    @given(
        st.binary(max_size=400),
        st.sampled_from(SUFFIXES + (".doc", "")),
        st.sampled_from([b"", b"PK\x03\x04", b"%PDF-1.7\n", b"<html>"]),
    )
    def check(data, suffix, prefix):
        try:
            source = read_bytes(prefix + data, f"fuzz{suffix}")
        except SourceError as err:
            assert "\n" not in str(err) and f"fuzz{suffix}" in str(err)
        else:
            assert isinstance(source.text, str)

    check()


# ------------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------------


def test_markdown_headings_recorded_and_marks_removed():
    md = (
        "在某某会议上的讲话\n\n同志们：\n\n## 一、充分认识重要意义\n\n### （一）从严治党的需要 ###\n\n"
        "#话题# 不是标题\n\n```\n# 代码里的不是标题\n```\n\n正文。\n"
    )
    source = read_bytes(md.encode("utf-8"), "speech.md")
    lines = source.text.split("\n")
    assert source.format == "Markdown"
    assert lines[4] == "一、充分认识重要意义" and source.headings[5] == 2
    assert lines[6] == "（一）从严治党的需要" and source.headings[7] == 3
    assert lines[8] == "#话题# 不是标题" and 9 not in source.headings
    assert "# 代码里的不是标题" in lines and len(source.headings) == 2


def test_markdown_with_front_matter_is_refused(tmp_path):
    path = tmp_path / "done.markdown"
    path.write_text("---\ntitle: 讲话\ndate: 2020\n---\n正文\n", encoding="utf-8")
    message = _refused(path)
    assert "content/" in message and "front matter" in message


# ------------------------------------------------------------------------------------------------
# DOCX (built here with python-docx, plus the XML it cannot write)
# ------------------------------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NSDECL = (
    f'xmlns:w="{W_NS}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)


def _xml(snippet: str):
    from docx.oxml import parse_xml

    return parse_xml(snippet)


def _docx_bytes(document) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _add_numbering(
    document, abstract_id: int, num_id: int, levels: list[tuple[str, str]], start_override: int | None = None
) -> None:
    numbering = document.part.numbering_part.element
    lvls = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/>'
        f'<w:suff w:val="nothing"/></w:lvl>'
        for i, (fmt, text) in enumerate(levels)
    )
    abstract = _xml(f'<w:abstractNum {NSDECL} w:abstractNumId="{abstract_id}">{lvls}</w:abstractNum>')
    first_num = numbering.find(f"{{{W_NS}}}num")
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    override = (
        f'<w:lvlOverride w:ilvl="0"><w:startOverride w:val="{start_override}"/></w:lvlOverride>'
        if start_override
        else ""
    )
    numbering.append(
        _xml(f'<w:num {NSDECL} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>{override}</w:num>')
    )


def _number(paragraph, num_id: int, ilvl: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(_xml(f'<w:numPr {NSDECL}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def test_docx_automatic_list_numbering():
    import docx

    document = docx.Document()
    _add_numbering(
        document,
        90,
        91,
        [
            ("chineseCounting", "%1、"),
            ("chineseCounting", "（%2）"),
            ("decimal", "%3."),
            ("decimalEnclosedParen", "%4"),
        ],
    )
    _add_numbering(document, 92, 93, [("decimalFullWidth", "%1．")])
    document.add_paragraph("同志们：")
    items = [
        (0, "提高政治站位"),
        (1, "压实责任"),
        (1, "强化监管"),
        (2, "道路交通"),
        (2, "建筑施工"),
        (3, "细项"),
        (0, "突出重点领域"),
        (1, "深化专项整治"),
    ]
    for ilvl, text in items:
        _number(document.add_paragraph(text), 91, ilvl)
    for i in range(11):
        _number(document.add_paragraph(f"第{i + 1}项"), 93, 0)
    source = read_bytes(_docx_bytes(document), "numbered.docx")
    lines = source.text.split("\n")
    assert lines[:9] == [
        "同志们：",
        "一、提高政治站位",
        "（一）压实责任",
        "（二）强化监管",
        "1.道路交通",
        "2.建筑施工",
        "⑴细项",
        "二、突出重点领域",
        "（一）深化专项整治",
    ]
    assert lines[9] == "１．第1项" and lines[19] == "１１．第11项"


def test_docx_numbering_counts_beyond_ten_and_restarts_with_start_override():
    import docx

    document = docx.Document()
    _add_numbering(document, 80, 81, [("chineseCountingThousand", "%1、")])
    _add_numbering(document, 80, 82, [("chineseCountingThousand", "%1、")], start_override=1)
    for i in range(12):
        _number(document.add_paragraph(f"条目{i}"), 81, 0)
    _number(document.add_paragraph("重新开始"), 82, 0)
    lines = read_bytes(_docx_bytes(document), "n.docx").text.split("\n")
    assert [line.split("、")[0] for line in lines] == [
        "一",
        "二",
        "三",
        "四",
        "五",
        "六",
        "七",
        "八",
        "九",
        "十",
        "十一",
        "十二",
        "一",
    ]


def test_docx_numbering_from_heading_styles_and_list_styles():
    import docx

    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.find(f"{{{W_NS}}}num").addprevious(
        _xml(
            f'<w:abstractNum {NSDECL} w:abstractNumId="70">'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:pStyle w:val="Heading1"/><w:lvlText w:val="%1、"/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:pStyle w:val="Heading2"/><w:lvlText w:val="（%2）"/></w:lvl>'
            "</w:abstractNum>"
        )
    )
    numbering.append(_xml(f'<w:num {NSDECL} w:numId="71"><w:abstractNumId w:val="70"/></w:num>'))
    for style_id, ilvl in (("Heading1", 0), ("Heading2", 1)):
        style = document.styles.element.get_by_id(style_id)
        style.get_or_add_pPr().append(
            _xml(f'<w:numPr {NSDECL}><w:ilvl w:val="{ilvl}"/><w:numId w:val="71"/></w:numPr>')
        )
    document.add_heading("总体要求", 1)
    document.add_heading("指导思想", 2)
    document.add_heading("基本原则", 2)
    document.add_paragraph("正文。")
    document.add_heading("重点任务", 1)
    document.add_heading("第一项", 2)
    document.add_paragraph("项目一", style="List Bullet")
    source = read_bytes(_docx_bytes(document), "styles.docx")
    assert source.text.split("\n") == [
        "一、总体要求",
        "（一）指导思想",
        "（二）基本原则",
        "正文。",
        "二、重点任务",
        "（一）第一项",
        "项目一",
    ]
    assert source.headings == {1: 1, 2: 2, 3: 2, 5: 1, 6: 2}
    assert source.title is None  # a numbered heading is not the document's title
    assert any("bullet" in note for note in source.notes)


def test_docx_heading_styles_title_and_outline_level():
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.add_heading("在全市工作会议上的讲话", level=0)  # 'Title' style
    document.add_paragraph("同志们：")
    document.add_heading("一、总体要求", level=1)
    document.add_heading("（一）指导思想", level=2)
    cn = document.styles.add_style("标题 3", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("1.坚持党的领导", style=cn)
    own = document.add_paragraph("自带大纲级别的段落")
    own._p.get_or_add_pPr().append(_xml(f'<w:outlineLvl {NSDECL} w:val="3"/>'))
    document.add_paragraph("正文段落。")
    source = read_bytes(_docx_bytes(document), "h.docx")
    lines = source.text.split("\n")
    assert source.format == "DOCX"
    assert source.title == "在全市工作会议上的讲话" and lines[0] == "在全市工作会议上的讲话"
    assert source.headings == {3: 1, 4: 2, 5: 3, 6: 4}
    assert lines[2:6] == ["一、总体要求", "（一）指导思想", "1.坚持党的领导", "自带大纲级别的段落"]


def test_docx_title_from_centered_larger_first_paragraph():
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    first = document.add_paragraph()
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    first.add_run("在全市文化工作座谈会上的讲话").font.size = Pt(22)
    document.add_paragraph("同志们：")
    source = read_bytes(_docx_bytes(document), "t.docx")
    assert source.title == "在全市文化工作座谈会上的讲话"
    assert source.text.split("\n")[0] == "在全市文化工作座谈会上的讲话"
    plain = docx.Document()
    plain.add_paragraph("同志们：")
    plain.add_paragraph("今天召开会议。")
    assert read_bytes(_docx_bytes(plain), "p.docx").title is None


def test_docx_tables_in_document_order():
    import docx

    document = docx.Document()
    document.add_paragraph("表格之前")
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate([["项目", "目标", "完成"], ["生产总值", "6%", "6.5%"]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph("表格之后")
    layout = document.add_table(rows=1, cols=1)
    layout.cell(0, 0).text = "版式表格里的第一段"
    layout.cell(0, 0).add_paragraph("版式表格里的第二段")
    source = read_bytes(_docx_bytes(document), "table.docx")
    assert source.text.split("\n") == [
        "表格之前",
        "项目 | 目标 | 完成",
        "生产总值 | 6% | 6.5%",
        "表格之后",
        "版式表格里的第一段",
        "版式表格里的第二段",
    ]
    assert any("' | '" in note for note in source.notes)


def _add_footnotes(document, notes: dict[int, str]) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    body = "".join(
        f'<w:footnote w:id="{nid}"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:footnote>'
        for nid, text in notes.items()
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes {NSDECL}>'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
        f"{body}</w:footnotes>"
    ).encode()
    part = Part(
        PackURI("/word/footnotes.xml"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
        xml,
        document.part.package,
    )
    document.part.relate_to(part, RT.FOOTNOTES)


def test_docx_footnotes_appended_with_markers_in_place():
    import docx

    document = docx.Document()
    _add_footnotes(document, {1: "见《某某文选》第二卷。", 2: "引自2020年工作报告。"})
    p = document.add_paragraph("正如毛泽东同志所说")
    p._p.append(
        _xml(f'<w:r {NSDECL}><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteReference w:id="2"/></w:r>')
    )
    p.add_run("，要实事求是")
    p._p.append(_xml(f'<w:r {NSDECL}><w:footnoteReference w:id="1"/></w:r>'))
    p.add_run("。")
    source = read_bytes(_docx_bytes(document), "fn.docx")
    assert source.text.split("\n") == [
        "正如毛泽东同志所说[1]，要实事求是[2]。",
        "注释",
        "[1] 引自2020年工作报告。",
        "[2] 见《某某文选》第二卷。",
    ]
    assert any("2 footnotes" in note for note in source.notes)


def test_docx_text_box_read_once_and_header_left_out():
    import docx

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "某某市人民政府办公室文件"
    p = document.add_paragraph("锚定段落")
    box = "<w:txbxContent><w:p><w:r><w:t>文本框里的文字</w:t></w:r></w:p></w:txbxContent>"
    p._p.append(
        _xml(
            f'<w:r {NSDECL}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
            f"<wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
            f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
        )
    )
    document.add_paragraph("下一段")
    source = read_bytes(_docx_bytes(document), "box.docx")
    assert source.text.split("\n") == ["锚定段落", "文本框里的文字", "下一段"]
    assert "某某市人民政府办公室文件" not in source.text
    assert any("header" in note and "某某市人民政府办公室文件" in note for note in source.notes)
    assert any("text box" in note for note in source.notes)


def test_docx_line_breaks_tabs_and_hyperlinks_kept():
    import docx

    document = docx.Document()
    p = document.add_paragraph("第一行")
    p.add_run().add_break()
    p.add_run("第二行\t制表")
    p._p.append(_xml(f"<w:hyperlink {NSDECL}><w:r><w:t>链接文字</w:t></w:r></w:hyperlink>"))
    p._p.append(_xml(f"<w:del {NSDECL}><w:r><w:delText>已删除</w:delText></w:r></w:del>"))
    p._p.append(_xml(f"<w:ins {NSDECL}><w:r><w:t>插入的</w:t></w:r></w:ins>"))
    source = read_bytes(_docx_bytes(document), "br.docx")
    assert source.text == "第一行\n第二行\t制表链接文字插入的"


def test_docx_without_text_is_refused(tmp_path):
    import docx

    path = tmp_path / "blank.docx"
    path.write_bytes(_docx_bytes(docx.Document()))
    assert "no text" in _refused(path)


def test_zip_that_is_not_docx_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "你好")
    path = tmp_path / "archive.docx"
    path.write_bytes(buf.getvalue())
    assert ".docx" in _refused(path)


# ------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------

XINHUA_PARAGRAPHS = [
    "在全市安全生产工作会议上的讲话",
    "3月4日，全市安全生产工作会议召开。记者 赵明/摄",
    "同志们：",
    "今天召开全市安全生产工作会议，主要任务是总结2020年全市安全生产工作，安排部署今年工作。刚才，几个单位作了发言，讲得都很好。",
    "一、提高政治站位，压实安全生产责任",
    "安全生产事关人民群众生命财产安全，事关改革发展稳定大局。",
    "各级各部门要切实增强责任感和紧迫感。",
    "好。",
    "二、突出重点领域，深化专项整治",
    "要聚焦道路交通、危险化学品、建筑施工等重点行业领域，扎实开展安全生产专项整治三年行动。",
    "（一）道路交通。",
    "严厉打击“三超一疲劳”等违法行为。",
    "谢谢大家！",
]
NAVIGATION = [
    "政务公开",
    "办事服务",
    "登录",
    "手机版",
    "当前位置",
    "分享到",
    "相关链接",
    "全省安全生产电视电话会议召开",
    "版权所有",
    "备案号",
    "联系电话",
    "热点排行",
    "久久为功",
    "打印",
    "纠错",
    "Copyright",
    "网站地图",
    "推荐阅读",
    "var _hmt",
    "font-size",
    "新闻中心",
]


def _lines(source: Source) -> list[str]:
    return [line.strip("\u3000 ") for line in source.text.split("\n")]


def test_html_article_complete_and_navigation_left_out():
    source = read_source(FIXTURES / "news_xinhua_like.html")
    lines = _lines(source)
    assert source.format == "HTML (UTF-8)"
    assert source.title == "在全市安全生产工作会议上的讲话"
    positions = [lines.index(p) for p in XINHUA_PARAGRAPHS]  # every paragraph, each on its own line …
    assert positions == sorted(positions)  # … in order
    for word in NAVIGATION:
        assert word not in source.text, word
    assert source.headings == {lines.index("二、突出重点领域，深化专项整治") + 1: 2}
    assert "　　各级各部门要切实增强责任感和紧迫感。" in source.text.split("\n")  # <br> starts a new line, indent kept


def test_html_gb2312_table_layout():
    source = read_source(FIXTURES / "news_gbk_like.html")
    lines = _lines(source)
    assert source.format == "HTML (GB18030)"
    assert source.title == "王强：在全市文化工作座谈会上的讲话"
    for paragraph in [
        "同志们：",
        "今天我们召开座谈会，听取大家对文化工作的意见和建议。",
        "一、深刻认识文化建设的重要意义",
        "文化是一个国家、一个民族的灵魂。",
        "（完）",
    ]:
        assert paragraph in lines
    for word in NAVIGATION + ["新闻首页", "体育"]:
        assert word not in source.text, word


def test_html_br_separated_article_with_subtitle():
    source = read_source(FIXTURES / "news_br_body.htm")
    lines = _lines(source)
    assert source.title == "政府工作报告"
    assert lines == [
        "政府工作报告",
        "——2024年1月10日在某某区第三届人民代表大会第四次会议上",
        "区长　李　明",
        "各位代表：",
        "现在，我代表区人民政府，向大会报告工作，请予审议。",
        "一、2023年工作回顾",
        "过去一年，全区生产总值增长6.5%。",
        "一是经济运行稳中向好。二是改革开放持续深化。",
    ]
    assert source.headings == {6: 3}
    for word in NAVIGATION:
        assert word not in source.text, word


def test_html_paragraphs_in_nested_divs_short_lead_and_site_name_h1():
    source = read_source(FIXTURES / "news_nested_divs.html")
    lines = _lines(source)
    assert source.title == "在全市文化工作座谈会上的讲话"  # the <h2>, not the site name in the <h1>
    assert lines == [
        "在全市文化工作座谈会上的讲话",
        "同志们：",
        "今天我们召开座谈会，听取大家对文化工作的意见和建议。据某某日报报道，全市文化产业增加值增长8%。",
        "一、深刻认识文化建设的重要意义",
        "文化是一个国家、一个民族的灵魂。",
        "是。",
        "指标 | 2022年 | 2023年",
        "文化产业增加值 | 100亿元 | 108亿元",
        "谢谢大家！",
    ]
    assert source.headings == {}
    for word in ["首页", "时政", "友情链接", "某某在线", "研究文化工作", "文化旅游节"]:
        assert word not in source.text, word


def test_html_large_page_is_quick():
    import time

    paragraphs = "".join(f"<p>　　第{i}段，内容是关于工作的一句话，共计若干字。</p>" for i in range(4000))
    nav = "".join(f"<li><a href='/{i}'>栏目{i}</a></li>" for i in range(300))
    page = f"<html><head><meta charset='utf-8'></head><body><ul class='nav'>{nav}</ul><div class='content'>{paragraphs}</div></body></html>"
    started = time.perf_counter()
    source = read_bytes(page.encode("utf-8"), "big.html")
    assert time.perf_counter() - started < 10
    assert len(source.text.split("\n")) == 4000 and "栏目" not in source.text


def test_html_title_from_title_element_without_h1():
    page = (
        "<html><head><meta charset='utf-8'><title>在全市工作会议上的讲话_某某网</title></head><body>"
        "<div class='menu'><a href='/'>首页</a><a href='/a'>新闻</a><a href='/b'>图片</a></div>"
        "<div class='text'><p>同志们：</p><p>今天召开会议。</p><p>谢谢！</p></div></body></html>"
    )
    source = read_bytes(page.encode("utf-8"), "page.html")
    assert source.title == "在全市工作会议上的讲话"
    assert source.text == "同志们：\n今天召开会议。\n谢谢！"


def test_html_big5_page_without_meta_charset_and_xhtml():
    page = (
        "<html><body><div id='nav'><a href='/'>首頁</a><a href='/x'>新聞</a></div><div class='article'><p>各位代表：</p>"
        "<p>過去一年，我們堅持穩中求進工作總基調。</p></div></body></html>"
    )
    source = read_bytes(page.encode("big5"), "old.htm")
    assert source.format == "HTML (Big5)"
    assert source.text == "各位代表：\n過去一年，我們堅持穩中求進工作總基調。"
    xhtml = (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>报告</title></head>'
        "<body><p>同志们：</p><p>今天开会。</p></body></html>"
    )
    assert read_bytes(xhtml.encode("utf-8"), "a.xhtml").text == "同志们：\n今天开会。"


# ------------------------------------------------------------------------------------------------
# PDF (made here with reportlab's built-in CID font: no font files, no network)
# ------------------------------------------------------------------------------------------------

PDF_LINES = [
    "在全市安全生产工作会议上的讲话",
    "（2021年3月5日）",
    "同志们：",
    "今天召开全市安全生产工作会议，主要任务是总结2020年全市安全生产工作，",
    "安排部署今年工作。刚才，几个单位作了发言，讲得都很好。",
    "一、提高政治站位，压实安全生产责任",
    "（一）道路交通。严厉打击“三超一疲劳”等违法行为。",
    "ＧＤＰ增长６．５％，完成投资1,234亿元；全年“十四五”规划开局良好！",
    "谢谢大家！",
]


def _pdf(pages: list[list[str]]) -> bytes:
    reportlab = pytest.importorskip("reportlab")
    del reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for lines in pages:
        if lines:
            c.setFont("STSong-Light", 12)
            for i, line in enumerate(lines):
                c.drawString(50, 800 - 20 * i, line)
        else:
            c.rect(50, 50, 300, 300, fill=1)  # an image-like page with no text
        c.showPage()
    c.save()
    return buf.getvalue()


def test_pdf_text_layer_read_exactly():
    source = read_bytes(_pdf([PDF_LINES[:5], PDF_LINES[5:]]), "report.pdf")
    assert source.format == "PDF"
    assert source.text.split("\n") == PDF_LINES  # 100 % of the characters, in order, one PDF line per line


def test_pdf_scan_without_text_layer_is_refused(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf([[], []]))
    message = _refused(path)
    assert "OCR" in message and "scan" in message


def test_pdf_partly_scanned_is_noted():
    source = read_bytes(_pdf([PDF_LINES, []]), "mixed.pdf")
    assert source.text.split("\n") == PDF_LINES
    assert any("page 2" in note and "OCR" in note for note in source.notes)


def test_pdf_with_password_is_refused(tmp_path):
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(_pdf([PDF_LINES])))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    assert "password" in _refused(path)
