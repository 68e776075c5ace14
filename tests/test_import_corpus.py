"""The import measured on the fixture corpus (tests/fixtures/import/corpus) against issue #11's thresholds.

The measurement is ``bench/bench_import.py``'s ``measure``: the real CLI imports the folder in a
scratch project, then ``check`` runs; the numbers are compared with ``expected.csv``. The same
command prints the table for a person:

    .venv/bin/python bench/bench_import.py tests/fixtures/import/corpus \\
        --expected tests/fixtures/import/corpus/expected.csv --metadata tests/fixtures/import/corpus/metadata.csv
"""

from __future__ import annotations

import codecs
import csv
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "fixtures" / "import" / "corpus"
EXPECTED = CORPUS / "expected.csv"
METADATA = CORPUS / "metadata.csv"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_import", REPO / "bench" / "bench_import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def _sheet(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _texts() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix == ".txt")


# ----------------------------------------------------------------- the corpus itself (fast)


def test_sheets_cover_every_file_and_nothing_else():
    names = {p.name for p in _texts()}
    expected = _sheet(EXPECTED)
    metadata = _sheet(METADATA)
    assert list(expected[0]) == [
        "file",
        "title",
        "date",
        "speaker",
        "organization",
        "location",
        "meeting_type",
        "notes",
    ]
    assert list(metadata[0]) == ["file", "title", "date", "meeting_type", "themes"]
    assert {r["file"] for r in expected} == names
    assert {r["file"] for r in metadata} == names
    for row in metadata:  # the sheet alone is enough for check: every required field
        assert row["title"] and row["date"] and row["meeting_type"] and row["themes"], row


def test_file_names_carry_no_hints():
    for path in _texts():
        assert re.fullmatch(r"doc\d{3}\.txt|新建文本文档( \(\d+\))?\.txt", path.name), path.name


def test_sizes_and_encodings():
    encodings = set()
    for path in _texts():
        data = path.read_bytes()
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text, enc = data.decode("utf-16"), "utf-16"
        else:
            try:
                text, enc = data.decode("utf-8-sig"), "utf-8"
            except UnicodeDecodeError:
                text, enc = data.decode("gb18030"), "gb18030"
        encodings.add(enc)
        size = len(bench.squeeze(text))
        assert 600 <= size <= 4000, (path.name, size)
    assert encodings == {"utf-8", "utf-16", "gb18030"}


def test_expected_values_are_well_formed():
    for row in _sheet(EXPECTED):
        assert re.fullmatch(r"(\d{4}(-\d{2}(-\d{2})?)?)?", row["date"]), row
        assert not re.search(r"\s", row["speaker"]), row


# ----------------------------------------------------------------- the measurement's own rules (fast)


def test_lost_text_counts_body_front_matter_and_dropped_lines():
    source = "标题\n\n（2023年6月2日）\n\n一、总体要求。\n\n要如履薄冰。\n本文系作者原创投稿！\n"
    body = "## 一、总体要求。\n\n要如履薄冰\\。\n"
    data = {"title": "标题", "date": "2023-06-02"}
    assert bench.lost_text(source, body, data, ["（2023年6月2日）", "本文系作者原创投稿！"])[0] == 0
    missing, where = bench.lost_text(
        source, "## 一、总体要求\n\n要如履薄冰。\n", data, ["（2023年6月2日）", "本文系作者原创投稿！"]
    )
    assert missing == 1 and "总体要求[。]" in where
    assert bench.lost_text("a\u200bb\ufeff", "ab", {}, [])[0] == 0  # invisible format characters do not count


def test_empty_headings_and_title_rules():
    assert bench.empty_headings("## 一、\n\n### （二）\n\n#### 3.\n\n## 一、总体要求\n\n#\n") == [
        "## 一、",
        "### （二）",
        "#### 3.",
        "#",
    ]
    assert bench.title_rule("在全市工作会议上的讲话", "在全市工作会议上的讲话", "text:1", []) == "exact"
    assert bench.title_rule("在全市工作会议上的讲话", "王强：在全市工作会议上的讲话", "text:1", []) == "contained"
    assert bench.title_rule("在全市工作会议上的讲话", "同志们：", "text:3", []) is None
    assert bench.title_rule("", "同志们：", "text:1", []) is None
    assert bench.title_rule("", "doc015", "file name", ["title"]) == "not-from-text"
    assert (
        bench.title_rule("政府工作报告|政府工作报告——在市人大会议上", "政府工作报告——在市人大会议上", "text:1", [])
        == "exact"
    )
    assert bench.dropped_texts("3: 来源：某某网 | 40: （完）") == ["来源：某某网", "（完）"]


# ----------------------------------------------------------------- the importer on the corpus (slow)


@pytest.fixture(scope="module")
def result():
    return bench.measure(CORPUS, EXPECTED, METADATA, timeout=900)


def _table(result) -> str:
    return "\n" + bench.format_table(result)


@pytest.mark.slow
def test_no_text_lost(result):
    assert result["written"] and not result["losing_text"], _table(result)


@pytest.mark.slow
def test_no_empty_headings_and_no_giant_paragraphs(result):
    assert result["written"] and not result["empty_headings"] and not result["long_paragraphs"], _table(result)


@pytest.mark.slow
def test_written_and_passing_check(result):
    assert (result["written_pct"] or 0) >= bench.THRESHOLDS["written_pct"], _table(result)


@pytest.mark.slow
def test_metadata_from_the_text(result):
    for key in ("title_pct", "year_pct", "full_date_pct", "speaker_pct"):
        assert (result[key] or 0) >= bench.THRESHOLDS[key], key + _table(result)


@pytest.mark.slow
def test_with_the_metadata_sheet_every_file_is_written_and_passes_check(result):
    m = result["metadata"]
    assert m["written"] == m["files"] and m["passing"] == m["files"], _table(result)
