"""A very large speech (#15, "a 50 MB speech"): its body is parsed in pieces (site_builder/body_pieces.py)
with exactly the result of parsing it whole, in memory bounded by a small multiple of the file.

The sizes here are small (pieces of a few hundred characters, a body of 2 MB); the limits are
lowered for the test. bench/bench_big_speech.py measures 4, 16 and 50 MB files and whole builds.
"""

from __future__ import annotations

import gc
import random
import tracemalloc

import pytest

from site_builder import body_pieces, loader, markup
from site_builder.loader import ParseSettings

# Blocks of every kind the configured Markdown knows, and the ones that interact across blank lines
# (loose lists, quotes that go on, definitions that join a list, code that takes blank lines, a
# line of a full-width space that Markdown takes for blank, headings with the same title).
BLOCKS = [
    "同志们：",
    "\u3000\u3000用全角空格缩进的段落，讲话稿里常见。",
    "## 一、总体要求",
    "## 一、总体要求",
    "#没有空格的标题",
    "标题\n====",
    "副标题\n----",
    "- 第一项\n- 第二项\n    - 子项 **强调**\n- 第三项",
    "- 松散列表一",
    "1. 第一\n2. 第二",
    "3. 接着编号",
    "12) 括号编号",
    "+ 加号列表",
    "2020年3月5日，会议召开。",
    "> 引用一段话\n> 第二行",
    "> 另一段引用",
    "懒惰续行\n> 引用\n续行",
    "段\n> 中途引用",
    "    缩进代码块\n    第二行",
    "```\n围栏代码\n\n空行之后\n```",
    "~~~python\nprint(1)\n~~~",
    "| 甲 | 乙 |\n|---|---|\n| 1 | 2 |",
    "甲 | 乙\n--- | ---\n1 | 2",
    "术语\n: 定义一",
    ": 定义二（接在空行后）",
    "甲\n\n: 定义",
    "\u3000\n: 定义",
    "***",
    "- - -",
    "见[链接][ref1]和[另一个][Ref2]，还有[未定义][nope]。",
    '[ref1]: https://example.org/1 "标题"',
    "[Ref2]: https://example.org/2",
    "用[ref3][]与[ref1]的简写。",
    "[ref3]: https://example.org/3",
    "行尾两个空格  \n换行",
    "*强调* 和 __加粗__ 和 `代码` 以及 ![图](a.png) 与 <https://example.org> 自动链接。",
    "转义 \\* 星号 \\[ 方括号 &amp; 实体 &copy;",
    "Some English words, don't split them; e.g. 3.14 and x-y.",
    "{: .cls }",
    "!感叹号开头",
    "[TOC]",
    "\u3000",
    " \t",
    "\u00a0正文",
    "段落\n第二行\n第三行",
]


def mixed(seed: int, blocks: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(BLOCKS) + "\n" * rng.choice([1, 2, 2, 2, 3, 4]) for _ in range(blocks))


def rendered(renderer: markup.Renderer, body: str) -> tuple:
    r = renderer.render(body)
    return r.html, r.text, r.toc, r.word_count


@pytest.mark.parametrize("trust_html", [False, True])
def test_a_body_parsed_in_pieces_is_the_body_parsed_whole(monkeypatch, trust_html):
    renderer = markup.Renderer(trust_html=trust_html)
    cut = 0
    for seed in range(40):
        body = mixed(seed, 120)
        monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 1 << 40)
        whole = rendered(renderer, body)
        monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 100)
        monkeypatch.setattr(body_pieces, "PIECE_CHARS", 10 + seed * 5)
        cut += len(body_pieces.split(markup._clean(body))) - 1
        assert rendered(renderer, body) == whole, seed
    assert cut > 80  # the bodies were really cut (fence lines hold back the cuts between them)


def test_references_are_shared_by_the_pieces_and_conflicting_ones_keep_the_body_whole(monkeypatch):
    monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 10)
    monkeypatch.setattr(body_pieces, "PIECE_CHARS", 10)
    renderer = markup.Renderer()
    body = "见[第一][a]。\n\n" + "正文段落。\n\n" * 20 + "[a]: https://example.org/a\n"
    assert len(body_pieces.split(body)) > 5
    assert '<a href="https://example.org/a" rel="noopener noreferrer">第一</a>' in renderer.render(body).html
    twice = body + "\n" + "正文段落。\n\n" * 20 + "[a]: https://example.org/b\n"
    html = renderer.render(twice).html  # the last definition counts everywhere, as in one piece
    assert '<a href="https://example.org/b" rel="noopener noreferrer">第一</a>' in html
    monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 1 << 40)
    assert renderer.render(twice).html == html


@pytest.mark.parametrize(
    "global_thing",
    ["<div>\n", "见脚注[^1]。\n\n[^1]: 脚注。\n", "*[HTML]: 超文本\n", "<!-- 注释 -->\n", "</p>\n"],
)
def test_raw_html_footnotes_and_abbreviations_keep_a_body_in_one_piece(monkeypatch, global_thing):
    monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 10)
    monkeypatch.setattr(body_pieces, "PIECE_CHARS", 10)
    plain = "正文段落。\n\n" * 30
    assert len(body_pieces.split(plain)) > 10
    assert body_pieces.split(global_thing + plain) == [global_thing + plain]
    assert body_pieces.split(plain + "<https://example.org> 与 a<b 和 《书名》\n") != [plain]  # not HTML


def test_no_cut_between_fences(monkeypatch):
    monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 10)
    monkeypatch.setattr(body_pieces, "PIECE_CHARS", 10)
    body = "开头。\n\n" * 10 + "```\n代码\n\n代码\n```\n\n" + "中间。\n\n" * 10 + "~~~\n\n~~~\n\n" + "结尾。\n\n" * 10
    pieces = body_pieces.split(body)
    inside = body.index("```"), body.rindex("~~~")
    starts, at = [], 0
    for piece in pieces:
        at = body.index(piece, at)
        starts.append(at)
    assert not any(inside[0] < s <= inside[1] for s in starts)
    assert len(pieces) >= 6


def big_speech(paragraphs: int) -> bytes:
    """A long speech: many paragraphs, a heading every 200, one paragraph of 300 lines and one
    line of 100,000 characters."""
    rng = random.Random(7)
    words = ["同志们", "要", "坚持", "问题导向", "推进", "改革", "落实", "责任", "加强", "监督", "基层", "发展"]

    def sentence() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randint(6, 20))) + "。"

    parts = []
    for i in range(paragraphs):
        if i % 200 == 0:
            parts.append(f"## 第{i // 200 + 1}部分")
        parts.append("".join(sentence() for _ in range(rng.randint(3, 12))))
        if i == paragraphs // 3:
            parts.append("\n".join(sentence() * 3 for _ in range(300)))
        if i == 2 * paragraphs // 3:
            parts.append(("".join(sentence() for _ in range(4000)))[:100_000])
    head = "---\ntitle: 很长的讲话\ndate: 2020-03-05\nmeeting_type: 座谈会\nthemes: [改革]\n---\n\n"
    return (head + "\n\n".join(parts) + "\n").encode()


def parse_peak(data: bytes) -> tuple[int, tuple]:
    settings = ParseSettings(trust_html=False, meeting_types=None, themes=None)
    gc.collect()
    tracemalloc.start()
    try:
        parsed, html, text = loader.parse_bytes("big.md", data, settings, seconds=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.meta is not None, parsed.problems
    return peak, (html, text, parsed.toc, parsed.word_count)


def test_a_big_speech_is_parsed_in_a_few_times_its_size(monkeypatch):
    """Pieces of 100,000 characters (the real ones are 250,000, in bodies over 1,000,000): the peak
    of Python's allocations is a small multiple of the file, well below a whole parse's, and the
    result the same."""
    data = big_speech(4_000)
    assert len(data) > 3_000_000
    monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 200_000)
    monkeypatch.setattr(body_pieces, "PIECE_CHARS", 100_000)
    peak, in_pieces = parse_peak(data)
    monkeypatch.setattr(body_pieces, "SPLIT_CHARS", 1 << 40)
    whole_peak, whole = parse_peak(data)
    assert in_pieces == whole
    # measured: 3.9× the file in pieces (its body, lines, HTML and text, one piece's work), 6.3× whole
    assert peak < 4.5 * len(data), f"{peak / len(data):.1f}× the file"
    assert peak < 0.7 * whole_peak, f"{peak / 1e6:.0f} MB in pieces, {whole_peak / 1e6:.0f} MB whole"
    assert len(whole[2]) == 20 and whole[1].count("\n") > 4_000


def test_a_big_file_has_a_bigger_time_budget_and_a_limit():
    assert loader.budget(1000) == pytest.approx(loader.PARSE_SECONDS, abs=0.01)
    assert loader.budget(50 * 1048576) == loader.PARSE_SECONDS + 50 * loader.SECONDS_PER_MB
    assert loader.MAX_FILE == 64 * 1048576
    settings = ParseSettings(trust_html=False, meeting_types=None, themes=None)
    parsed, html, text = loader.parse_bytes("content/huge.md", b"x" * (loader.MAX_FILE + 1), settings)
    (problem,) = parsed.problems
    assert (problem.path, problem.message, problem.hint) == (
        "content/huge.md",
        "file too large (64.0 MB; the limit is 64 MB): not read",
        "split it: one speech per file",
    )
    assert parsed.meta is None and html == text == ""
