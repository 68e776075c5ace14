"""Passages reused between speeches and near-duplicates (issue #14, items 3 and 4): the build lists
"与其他讲话相同的段落" on each speech page with links to both places, warns once about two
speeches that share most of their text (and never lists them as each other's related speech);
``site-builder reuse`` reports the passages; incremental answers equal clean ones."""

from __future__ import annotations

import json
import mmap
import pickle
import random
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import FIXTURES, speech

from site_builder import duplicates
from site_builder.cache import BuildCache
from site_builder.reuse import Doc, chars, cold, find_reuse
from site_builder.reuse.prints import anchor_keys, anchors, folded_codes, folded_narrow, shape
from site_builder.search.whoosh_summary import folded_bodies

SEEDS = FIXTURES / "import" / "seeds"


def _paragraphs(name: str) -> list[str]:
    text = (SEEDS / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if len(line.strip()) > 20]


REPORT = _paragraphs("000_87d2a4315d1eeebf.txt")
OTHER = _paragraphs("004_004ea9d529d320ec.txt")


def _archive(seed: int, n: int) -> tuple[random.Random, dict[str, str]]:
    """(the seeded generator, n texts d00… of 8 paragraphs each drawn from REPORT and OTHER): the
    archive the tests of incremental and cold steps start from."""
    rng = random.Random(seed)
    return rng, {f"d{i:02}": "\n".join(rng.sample(REPORT + OTHER, 8)) for i in range(n)}


def _find(texts: dict[str, str], state, digest=lambda s: "1"):
    """find_reuse over ``texts`` (each speech's digest by ``digest``), with its state in ``state`` (None: in memory)."""
    return find_reuse([Doc(s, str(digest(s))) for s in texts], lambda s, _d: texts[s], 30, state)


def _body(paragraphs: list[str]) -> str:
    return "同志们：\n\n" + "\n\n".join(paragraphs) + "\n"


def _two_sources(site) -> None:
    """The same report published by two sources (another title, a line of their own, the last
    paragraph cut), and an unrelated speech."""
    site.write("2020/report.md", speech(title="在党员队伍建设座谈会上的讲话", body=_body(REPORT)))
    site.write(
        "2020/report-copy.md",
        speech(
            title="党员队伍建设座谈会讲话（转载）",
            date="2020-03-07",
            body=_body(["来源：某某网站转载。", *REPORT[:-1]]),
        ),
    )
    site.write("2021/other.md", speech(title="在另一次会议上的讲话", date="2021-05-01", body=_body(OTHER[:40])))


class _Links(HTMLParser):
    """The reuse section of a page: passages, links to this page's paragraphs and to others."""

    def __init__(self):
        super().__init__()
        self.inside = 0
        self.here: list[str] = []
        self.others: list[str] = []
        self.quotes: list[str] = []
        self.ids: set[str] = set()
        self._quote = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "section" and "data-reused" in a:
            self.inside = 1
        elif self.inside and tag == "section":
            self.inside += 1
        if not self.inside:
            return
        if tag == "a" and "data-reused-here" in a:
            self.here.append(a["href"])
        if tag == "a" and "data-reused-other" in a:
            self.others.append(a["href"])
        if tag == "blockquote":
            self._quote = True
            self.quotes.append("")

    def handle_endtag(self, tag):
        if tag == "section" and self.inside:
            self.inside -= 1
        if tag == "blockquote":
            self._quote = False

    def handle_data(self, data):
        if self._quote:
            self.quotes[-1] += data


def _parse(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


def test_the_same_report_from_two_sources(site, capsys):
    _two_sources(site)
    assert site.run("build") == 0
    err = capsys.readouterr().err
    # One warning line, on the later file, naming both.
    near = [line for line in err.splitlines() if "nearly the same text" in line]
    assert near == [
        f"content/2020/report.md: warning: nearly the same text ({near[0].split('(')[1].split(')')[0]}) as "
        "content/2020/report-copy.md"
    ], err
    pct = int(re.search(r"\((\d+)% of sentences\)", near[0]).group(1))
    assert 80 <= pct < 100
    report, copy = _parse(site.page("speeches/2020/report.html")), _parse(site.page("speeches/2020/report-copy.html"))
    # Each lists the long paragraphs they share, linking its own paragraph and the other's.
    assert len(report.quotes) == 5 and all(len(q) >= 30 for q in report.quotes)
    assert report.others and all(h.startswith("report-copy.html#p") for h in report.others)
    assert copy.others and all(h.startswith("report.html#p") for h in copy.others)
    for href in report.here:
        assert href[1:] in report.ids  # #p{n} exists on the page
    for href in report.others:
        assert href.split("#")[1] in copy.ids
    # Paragraph n of one is paragraph n + 1 of the copy (which has a line of its own first).
    first_here, first_other = int(report.here[0][2:]), int(report.others[0].split("#p")[1])
    assert first_other == first_here + 1
    # Not each other's related speech; the unrelated speech has no shared passage.
    assert "report-copy.html" not in _related(site.page("speeches/2020/report.html"))
    assert "report.html" not in _related(site.page("speeches/2020/report-copy.html"))
    assert "data-reused" not in site.page("speeches/2021/other.html")


def _related(html: str) -> str:
    m = re.search(r'<section class="related" aria-labelledby="related-heading">.*?</section>', html, re.S)
    return m.group(0) if m else ""


def test_check_and_build_give_the_same_single_warning(site, capsys):
    _two_sources(site)
    assert site.run("check") == 0
    checked = [line for line in capsys.readouterr().err.splitlines() if "as content/" in line]
    assert site.run("build") == 0
    built = [line for line in capsys.readouterr().err.splitlines() if "as content/" in line]
    assert len(checked) == len(built) == 1
    assert checked[0].split(" (")[0] == built[0].split(" (")[0]  # the same pair, the same words


def test_reuse_command_json_and_text(site, capsys):
    _two_sources(site)
    assert site.run("reuse", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["passages"]
    assert data["passages"]
    for p in data["passages"]:
        assert set(p) == {"text", "occurrences"}
        assert len(p["text"]) >= 30
        assert {o["source"] for o in p["occurrences"]} == {"2020/report.md", "2020/report-copy.md"}
        for o in p["occurrences"]:
            assert set(o) == {"source", "url"}
            assert re.fullmatch(r"speeches/2020/report(-copy)?\.html#p\d+", o["url"])
    longest = max(data["passages"], key=lambda p: len(p["text"]))
    assert longest["text"] in REPORT  # a whole paragraph, as written
    # The text report, in Chinese; SPEECH narrows it to that speech (by file or by page URL).
    assert site.run("reuse") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"找到 {len(data['passages'])} 段与其他讲话相同的文字（至少 30 字")
    assert site.run("reuse", "content/2021/other.md") == 0
    assert capsys.readouterr().out == "没有找到与其他讲话相同的段落（至少 30 字）。\n"
    assert site.run("reuse", "speeches/2020/report.html", "--json") == 0
    assert json.loads(capsys.readouterr().out) == data
    assert site.run("reuse", "content/2020/nothing.md") == 2
    assert "找不到讲话 content/2020/nothing.md" in capsys.readouterr().err


def test_a_passage_under_the_minimum_is_not_reported(site, capsys):
    shared = "坚持以人民为中心的发展思想，办好民生实事"  # 20 characters
    site.write("a.md", speech(title="甲", body=f"第一篇自己的话。{shared}。然后是别的内容，完全不同的一句。\n"))
    site.write(
        "b.md", speech(title="乙", date="2021-01-01", body=f"另一篇的开头不一样。{shared}！结尾也是另外写的。\n")
    )
    assert site.run("reuse", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"passages": []}
    assert site.run("reuse", "--json", "--min-chars", "20") == 0
    found = json.loads(capsys.readouterr().out)["passages"]
    assert [p["text"] for p in found] == [shared]
    assert [o["url"] for o in found[0]["occurrences"]] == ["speeches/2020/a.html#p1", "speeches/2021/b.html#p1"]
    # The site's reuse_min_chars lowers it for the build's pages too.
    assert site.run("build", "-q") == 0
    assert "data-reused" not in site.page("speeches/2020/a.html")
    site.config("reuse_min_chars = 20\n")
    assert site.run("build", "-q") == 0
    assert _parse(site.page("speeches/2020/a.html")).quotes == [shared]


def test_passages_are_found_after_folding():
    simplified = "全面从严治党永远在路上，党的自我革命永远在路上，决不能有松劲歇脚、疲劳厌战的情绪"
    traditional = "全面從嚴治黨永遠在路上，黨的自我革命永遠在路上，決不能有鬆勁歇腳、疲勞厭戰的情緒"
    texts = {"a": f"开头。\n{simplified}\n结尾。", "b": f"另一篇的开头写法，\n{traditional}"}
    found = find_reuse([Doc(s, "1") for s in texts], lambda s, _d: texts[s], 30)
    assert [(p.text, [(pl.source, pl.paragraph) for pl in p.places]) for p in found.passages] == [
        (simplified, [("a", 2), ("b", 2)])
    ]


def test_every_shared_run_of_min_chars_shares_an_anchor():
    """The guarantee of winnowing that makes the stage exact for passages of min_chars."""
    rng = random.Random(14)
    text = "".join(REPORT)
    for min_chars in (30, 12, 50):
        k, w = shape(min_chars)
        for _ in range(200):
            i = rng.randrange(len(text) - min_chars)
            piece = text[i : i + min_chars]
            a = anchor_keys(anchors(folded_codes("甲乙" + piece + "丙"), k, w)[0])
            b = anchor_keys(anchors(folded_codes("丁戊己庚" + piece), k, w)[0])
            assert set(a.tolist()) & set(b.tolist()), piece


def test_near_duplicates_agree_with_the_import_and_check_mechanism():
    rng = random.Random(12)
    texts = {}
    for n in range(12):
        paras = rng.sample(REPORT + OTHER, 6)
        texts[f"s{n:02}"] = "\n".join(paras)
    texts["copy"] = texts["s03"] + "\n另加一句话，作为转载的说明。"
    texts["part"] = "\n".join(texts["s05"].split("\n")[:5])
    expected = [(a, b) for a, b, _sim in duplicates.duplicate_pairs(texts)]
    found = find_reuse([Doc(s, "1") for s in texts], lambda s, _d: texts[s], 30)
    assert [(a, b) for a, b, _sim in found.near] == sorted(expected)
    assert ("copy", "s03") in [(a, b) for a, b, _ in found.near]


def test_incremental_answers_equal_clean_ones(tmp_path):
    """Changed, removed and added speeches, a character outside the BMP coming in, every text
    changed; the folded texts are made again from the plain texts, never kept (#15)."""
    rng, texts = _archive(7, 16)
    pool = REPORT + OTHER
    digests = dict.fromkeys(texts, 0)

    def run(state):
        return _find(texts, state, digests.__getitem__)

    state = tmp_path / "reuse"
    first = run(state)
    clean = run(None)
    assert first.passages and (first.passages, first.near) == (clean.passages, clean.near)
    for step in range(8):
        name = rng.choice(sorted(texts))
        if step == 2:
            del texts[name]  # a speech removed
        elif step == 4:
            texts["new"] = texts[sorted(texts)[0]] + "\n" + rng.choice(pool)  # one added
            digests["new"] = 0
        elif step == 5:
            texts[name] = texts[name].replace("，", "，𠀀", 3)  # outside the BMP
        elif step == 6:
            for other in texts:  # every text changed
                texts[other] += "\n" + rng.choice(pool)
                digests[other] = digests.get(other, 0) + 1
        else:
            lines = texts[name].split("\n")
            lines[rng.randrange(len(lines))] = rng.choice(pool)  # a paragraph replaced
            texts[name] = "\n".join(lines)
        digests[name] = digests.get(name, 0) + 1
        incremental, clean = run(state), run(None)
        assert incremental.passages == clean.passages, step
        assert incremental.near == clean.near, step
    assert not list(state.glob("chars-*")) and not list(state.glob("scratch-*"))


def test_a_text_made_otherwise_under_the_same_digest_starts_afresh(tmp_path):
    """The state keeps each folded text's length and CRC only: when a speech's plain text comes
    out otherwise under the same digest (another way of making it), the stage notices it when it
    folds that text again and computes everything afresh, with the answers of a clean run."""
    rng, texts = _archive(13, 8)
    pool = REPORT + OTHER
    state = tmp_path / "reuse"

    def run(where):
        return _find(texts, where, lambda s: "same")

    run(state)
    shared = texts["d01"].split("\n")[0]
    texts = {s: t.replace(shared, shared + "又一句。") for s, t in texts.items()}  # digests unchanged
    texts["d09"] = shared + "又一句。\n" + rng.choice(pool)  # one added: the others' texts are read again
    incremental, clean = run(state), run(None)
    assert incremental.passages and (incremental.passages, incremental.near) == (clean.passages, clean.near)


@pytest.mark.parametrize(
    "damage",
    ["found's texts", "found's key", "found's base gone", "found's delta", "the near pairs", "the ids", "anchors"],
)
def test_a_damaged_state_of_this_version_is_as_none(tmp_path, damage):
    """A state of the right version with a part missing or of the wrong kind (a disk that lost
    part of a write, an edited file) is no state: the stage starts afresh, with a clean run's
    answers, instead of failing while reading it."""
    rng, texts = _archive(5, 8)
    pool = REPORT + OTHER
    state = tmp_path / "reuse"

    def run(where):
        return _find(texts, where)

    run(state)
    saved = pickle.loads((state / "state.pickle").read_bytes())
    base_file = state / saved["found"]["base"]  # (the passages' base: found.py)
    base = pickle.loads(base_file.read_bytes())
    if damage == "found's texts":
        del base["texts"]
    elif damage == "found's key":
        base["key"] = None
    elif damage == "found's base gone":
        base_file.unlink()
    elif damage == "found's delta":
        saved["found"]["dropped"] = None
    elif damage == "the near pairs":
        del saved["near"]
    elif damage == "the ids":
        saved["ids"] = [("d00", 0)]
    else:
        saved["anchors"] = ["not", "a", "dict"]
    (state / "state.pickle").write_bytes(pickle.dumps(saved))
    if base_file.exists():
        base_file.write_bytes(pickle.dumps(base))
    texts["d09"] = texts["d01"].split("\n")[0] + "\n" + rng.choice(pool)  # one added
    incremental, clean = run(state), run(None)
    assert incremental.passages and (incremental.passages, incremental.near) == (clean.passages, clean.near)


def test_texts_gathered_into_a_scratch_file_give_the_same_answers(tmp_path, monkeypatch):
    """Many texts are gathered into a mapped scratch file, removed at once: same answers as in memory."""
    monkeypatch.setattr(chars, "SCRATCH_MIN", 0)
    _rng, texts = _archive(11, 10)
    texts["d03"] = texts["d03"].replace("，", "，𠀀", 2)  # one text of uint32 code points
    state = tmp_path / "reuse"
    found, clean = _find(texts, state), _find(texts, None)
    assert found.passages and (found.passages, found.near) == (clean.passages, clean.near)
    assert not list(state.glob("scratch-*")) and not list(state.glob("chars-*"))
    texts["d05"] = texts["d03"]  # an incremental step: the texts it needs gathered into a scratch file too
    found, clean = _find(texts, state, lambda s: len(texts[s])), _find(texts, None)
    assert (found.passages, found.near) == (clean.passages, clean.near)
    assert not list(state.glob("scratch-*"))


@pytest.mark.parametrize("narrow", [True, False])
def test_a_cold_build_in_slices_gives_the_answers_of_the_whole_tables(tmp_path, monkeypatch, narrow):
    """A cold build spills its rows to partition files a few at a time and looks at the sorted
    tables slice by slice (cold.py, #15: bounded memory): the answers of the tables in memory,
    no partition file left, and the state it leaves updated incrementally as before; with the
    bases' owner and position columns in uint16 (few speeches, short texts) or in uint32."""
    if not narrow:
        monkeypatch.setattr(cold, "NARROW", 0)
    monkeypatch.setattr(cold, "FLUSH_ROWS", 64)
    monkeypatch.setattr(cold, "CHUNK_ROWS", 40)
    monkeypatch.setattr(cold, "SORT_ROWS", 16)  # partitions cut again before they are sorted
    monkeypatch.setattr(cold, "TEXT_RANGE", 64)  # the texts read a few characters at a time,
    monkeypatch.setattr(cold, "WINDOW", 2)  # compared on narrow windows (several rounds),
    monkeypatch.setattr(cold, "WINDOW_CELLS", 32)  # a few rows at once
    monkeypatch.setattr(chars, "SCRATCH_MIN", 0)
    rng, texts = _archive(5, 12)
    pool = REPORT + OTHER
    texts["d12"] = texts["d03"] + "\n" + rng.choice(pool)  # nearly the same speech twice
    state = tmp_path / "reuse"

    def both():
        return _find(texts, state, lambda s: len(texts[s])), _find(texts, None)

    found, clean = both()
    assert found.passages and found.near
    assert (found.passages, found.near) == (clean.passages, clean.near)
    assert not list(state.glob("spill-*"))
    wanted = {"key": {"anchors": "uint32", "sentences": "uint64"}, "owner": "uint16", "pos": "uint16"}
    for column in state.glob("*.npy"):
        table, name = column.name.partition("-")[0], column.name.split(".")[-2]
        name = "key" if name == "byowner" else name  # (the keys by owner: layers.write_by_owner)
        if name == "owners":  # (where each owner's keys begin)
            assert str(np.load(column).dtype) == "int64"
            continue
        dtype = wanted[name][table] if name == "key" else wanted[name] if narrow else "uint32"
        assert str(np.load(column, mmap_mode="r").dtype) == dtype, column.name
    assert not list(state.glob("sentences-*.pos.npy"))  # their positions are all 0: not written
    texts["d05"] = texts["d07"]  # an incremental step on the state the cold build wrote
    found, clean = both()
    assert (found.passages, found.near) == (clean.passages, clean.near)
    for _ in range(3):  # steps whose rows (uint32, in memory) join the narrow bases, written afresh at last
        texts[f"e{_}"] = texts["d02"] + "\n" + rng.choice(pool)
        found, clean = both()
        assert (found.passages, found.near) == (clean.passages, clean.near)


class _Pages:
    """A mapped file's mmap as the cold build sees it (``_mmap`` of its texts' array), counting
    the units of ``UNIT`` bytes read since the last MADV_DONTNEED that covered them: what the
    process may hold of the file."""

    UNIT = 256

    def __init__(self, mapped: mmap.mmap):
        self.mapped, self.held, self.most, self.reads = mapped, set(), 0, 0

    def __len__(self) -> int:
        return len(self.mapped)

    def madvise(self, option: int, start: int = 0, length: int | None = None) -> None:
        length = len(self.mapped) - start if length is None else length
        if option == mmap.MADV_DONTNEED:
            gone = range(start // self.UNIT, -(-(start + length) // self.UNIT))
            self.held = {u for u in self.held if u not in gone}
        self.mapped.madvise(option, start, length)

    def read(self, first_byte: np.ndarray, last_byte: np.ndarray) -> None:
        self.reads += 1
        for a, b in zip((first_byte // self.UNIT).tolist(), (last_byte // self.UNIT).tolist()):
            self.held.update(range(a, b + 1))
        self.most = max(self.most, len(self.held))


class _Recorded(np.memmap):
    """The texts' mapped array, every read through it counted by its _Pages (slices, integer arrays)."""

    def __getitem__(self, index):
        pages = getattr(self, "_pages", None)
        if pages is not None:
            size = self.itemsize
            if isinstance(index, slice):
                lo, hi, _step = index.indices(len(self))
                if hi > lo:
                    pages.read(np.array([lo * size]), np.array([hi * size - 1]))
            elif isinstance(index, np.ndarray) and index.dtype.kind in "iu":
                at = np.unique(index.ravel()) * size
                pages.read(at, at + size - 1)
            else:
                raise TypeError(f"a read of the texts not counted by this test: {index!r}")
        return super().__getitem__(index)


def test_a_cold_build_holds_a_bounded_part_of_its_texts(tmp_path, monkeypatch):
    """#15: a cold build maps its folded texts from a scratch file; whatever the archive's size,
    it holds at once only the pages of about ``cold.TEXT_RANGE`` characters of them (each read
    part released before the next is read), not every text that the rows of a slice point into
    (which grew with the archive: 1 GB at 50,000 speeches). Counted on the mapped file's reads and
    releases; the answers are those computed in memory."""
    monkeypatch.setattr(cold, "TEXT_RANGE", 256, raising=False)
    monkeypatch.setattr(cold, "CHUNK_ROWS", 400)
    monkeypatch.setattr(chars, "SCRATCH_MIN", 0)
    recorded: list[_Pages] = []
    finish = chars.Gather.finish

    def counted(self):
        texts, where = finish(self)
        if isinstance(texts, np.memmap):
            texts = texts.view(_Recorded)
            texts._mmap = texts._pages = _Pages(texts._mmap)
            recorded.append(texts._pages)
        return texts, where

    monkeypatch.setattr(chars.Gather, "finish", counted)
    rng, texts = _archive(3, 40)
    for n in range(40, 48):  # speeches that share long paragraphs: passages extended far
        texts[f"d{n}"] = "\n".join(rng.sample(REPORT, 4) + [texts[f"d{n - 40:02}"]])
    found, clean = _find(texts, tmp_path / "reuse"), _find(texts, None)
    assert found.passages and (found.passages, found.near) == (clean.passages, clean.near)
    [pages] = recorded
    whole = len(pages) // _Pages.UNIT
    longest = max(len(line) for t in texts.values() for line in t.split("\n"))
    widest = getattr(cold, "WINDOW", 16) * 64  # (Texts.lcp's widest window)
    bound = (256 + max(longest, widest)) * 4 // _Pages.UNIT + 4  # a range, the widest window or passage read past it
    assert pages.reads > 100 and whole > 4 * bound
    assert pages.most <= bound, (pages.most, bound, whole)


def test_incremental_build_equals_a_clean_one(make_site):
    one, two = make_site(), make_site()
    for s in (one, two):
        _two_sources(s)
    assert one.run("build", "-q") == 0
    extra = speech(title="新增的讲话", date="2022-01-01", body=_body(REPORT[2:4] + OTHER[:3]))
    for s in (one, two):
        s.write("2022/new.md", extra)
        s.write("2021/other.md", speech(title="在另一次会议上的讲话", date="2021-05-01", body=_body(OTHER[5:40])))
    assert one.run("build", "-q") == 0
    assert two.run("build", "-q") == 0
    assert one.files() == two.files()
    assert "data-reused" in one.page("speeches/2022/new.html")


def test_the_narrow_fold_is_the_fold():
    """prints.folded_narrow (uint16 table, the reuse stage's fast path) gives folded_codes' code
    points for every kind of text: Chinese, full-width and 繁体, line breaks, a character outside
    the BMP, characters folding to two or to none."""
    rng = random.Random(17)
    texts = [
        REPORT[0],
        "\n".join(REPORT[:3]),
        "ＡＢＣ，１２３。\n國家發展\n\n",
        "一句𠀀二句\n三句",
        "ﬁne ligature ½ 与 zero\u200bwidth",
        "",
        "\x00行\n",
        "".join(chr(rng.randrange(0x20, 0xFFFF)) for _ in range(3000)).replace("\ud800", ""),
    ]
    for text in texts:
        text = "".join(c for c in text if not 0xD800 <= ord(c) < 0xE000)
        assert folded_narrow(text).tolist() == folded_codes(text).tolist(), text[:20]
    assert folded_narrow(REPORT[0]).dtype == np.uint16


def test_the_whoosh_stores_give_the_folded_texts(site):
    """whoosh_summary.folded_bodies, where the build's reuse stage takes the folded texts of
    unchanged speeches (no inflating and folding of the build cache's plain text): for each speech
    the index holds, exactly prints.folded_codes of its plain text, line breaks as 0; None for a
    speech it does not hold, or holds otherwise than one code unit a character."""
    _two_sources(site)
    site.write("2022/wide.md", speech(title="生僻字", date="2022-02-01", body=_body([REPORT[3], "一句𠀀二句"])))
    site.write(
        "2022/odd.md", speech(title="连字", date="2022-02-02", body=_body([REPORT[4], "ﬁne ½ 与 zero\u200bwidth"]))
    )
    assert site.run("build", "-q") == 0
    (state,) = (site.root / ".site_builder_cache").iterdir()
    cache = BuildCache(state, readonly=True)
    keys = sorted(cache.db.execute("SELECT source, digest FROM parsed"))
    got = list(folded_bodies(state / "whoosh", [s for s, _d in keys] + ["2030/missing.md"]))
    assert got[-1] is None
    for (source, digest), codes in zip(keys, got):
        if source in ("2022/wide.md", "2022/odd.md"):
            assert codes is None, source
        else:
            assert codes.tolist() == folded_codes(cache.text(source, digest)).tolist(), source
    cache.close()
    assert list(folded_bodies(state / "no-index", ["2020/report.md"])) == [None]


def test_a_very_long_text_is_hashed_like_a_short_one():
    """Texts longer than the shared table of powers (prints._CACHED_POWERS) get their own."""
    rng = random.Random(3)
    shared = "".join(rng.choice(REPORT[0]) for _ in range(40))
    noise = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(140_000))
    texts = {"long": noise + "\n" + shared, "short": "开头一句。\n" + shared}
    found = find_reuse([Doc(s, "1") for s in texts], lambda s, _d: texts[s], 30)
    assert [(p.text, [(pl.source, pl.paragraph) for pl in p.places]) for p in found.passages] == [
        (shared, [("long", 2), ("short", 2)])
    ]


def test_found_passages_keep_the_first_place_text_and_survive_a_round_trip():
    # Entries grouped by folded text: every place of any of them, the text of the entry whose first
    # place comes first, then of the smallest key (a clean build adds keys in order); dropped keys'
    # entries and places gone; the same after being stored and read back.
    from site_builder.reuse.found import Found, Passage, Place

    found = Found()
    found.add(9, "甲乙,丙", "甲乙，丙", (("b.md", 2), ("c.md", 1)))
    found.add(5, "甲乙,丙", "甲乙,丙", (("b.md", 2), ("d.md", 4)))  # same first place, smaller key
    found.add(7, "丁戊", "丁戊", (("a.md", 3), ("c.md", 2)))
    found.add(8, "己庚", "己庚", (("a.md", 1), ("e.md", 1)))
    want = [
        Passage("己庚", (Place("a.md", 1), Place("e.md", 1))),
        Passage("丁戊", (Place("a.md", 3), Place("c.md", 2))),
        Passage("甲乙,丙", (Place("b.md", 2), Place("c.md", 1), Place("d.md", 4))),
    ]
    assert found.passages() == want
    again = Found(pickle.loads(pickle.dumps(found.dump())))
    assert again.passages() == want
    again.drop(np.array([5, 8], dtype=np.uint32))
    again.add(3, "辛", "辛", (("a.md", 5), ("b.md", 5)))
    assert len(again) == 3
    assert again.passages() == [
        Passage("丁戊", (Place("a.md", 3), Place("c.md", 2))),
        Passage("辛", (Place("a.md", 5), Place("b.md", 5))),
        Passage("甲乙，丙", (Place("b.md", 2), Place("c.md", 1))),
    ]


def test_the_passages_are_stored_as_utf16_and_narrow_numbers_and_come_back_exactly(tmp_path):
    """#15: a stored Found's strings are UTF-16 (2 bytes a Chinese character), its numbers the
    narrowest that hold them; strings with lone surrogates (which UTF-16 cannot keep apart) stay
    UTF-8; astral characters, a base file written and read again: the same passages."""
    from site_builder.reuse.found import Found

    entries = [
        (9, "甲乙,丙" * 20, "甲乙，丙" * 20, (("b.md", 2), ("c.md", 70_000))),
        (7, "丁戊𝄞", "丁戊𝄞", (("a.md", 3), ("c.md", 2))),
    ]
    for odd in ("", "\ud83d\ude00"):  # (a lone high and a lone low half: two characters)
        found = Found(None, tmp_path)
        for key, folded, text, places in entries:
            found.add(key, folded + odd, text + odd, places)
        stored = found.dump()
        (base,) = tmp_path.glob("found-*.pickle")
        columns = pickle.loads(base.read_bytes())
        assert str(columns["src"].dtype) == "uint16" and str(columns["par"].dtype) == "uint32"
        assert str(columns["text_lengths"].dtype) == "uint16"
        joined = "".join(text + odd for _k, _f, text, _p in entries)
        utf8 = len(joined.encode("utf-8", "surrogatepass"))
        if odd:  # UTF-8, the halves kept apart
            assert len(columns["texts"]) == 1 + utf8
        else:
            assert len(columns["texts"]) == 1 + len(joined.encode("utf-16-le")) < utf8 * 3 // 4
        again = Found(pickle.loads(pickle.dumps(stored)), tmp_path)
        assert again.passages() == found.passages() and again.passages()[0].text.endswith(odd)
        assert again.passages()[1].places[1].paragraph == 70_000
        base.unlink()


def test_a_step_reads_only_the_texts_that_can_share_a_passage(tmp_path, monkeypatch):
    """An incremental step reads the texts of the runs of its keys' first rows and of one other
    row each; those whose two rows share the k-gram but fewer than min_chars characters around it
    give no passage, and their other speeches' texts are not read (#15). The answers are a clean
    run's; without that step (every run's texts read) the same answers read many more texts."""
    from site_builder.reuse import stage

    rng = random.Random(3)

    def noise(n: int) -> str:
        return "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(n))

    phrase = noise(25)  # in every speech, with other characters around: 27 shared, under 30
    texts = {f"s{i:02}": f"{noise(60)}，{phrase}，{noise(60)}\n{noise(200)}" for i in range(40)}
    shared = noise(80)  # a passage of three speeches
    for s in ("s00", "s01", "s02"):
        texts[s] += "\n" + shared
    state = tmp_path / "reuse"
    _find(texts, state)
    texts["s00"] += "\n" + noise(100)
    reads: list[str] = []

    def step(where):
        reads.clear()
        docs = [Doc(s, "2" if s == "s00" else "1") for s in texts]
        return find_reuse(docs, lambda s, _d: reads.append(s) or texts[s], 30, where)

    backup = {p.name: p.read_bytes() for p in state.iterdir()}
    got, read = step(state), set(reads)
    assert (got.passages, got.near) == ((clean := _find(texts, None)).passages, clean.near)
    assert [len(p.places) for p in got.passages] == [3]
    for p in state.iterdir():  # the state as before the step, the step again without the pruning
        p.unlink()
    for name, data in backup.items():
        (state / name).write_bytes(data)
    monkeypatch.setattr(stage._State, "_likely", lambda self, table, *args: table)
    again = step(state)
    assert (again.passages, again.near) == (got.passages, got.near)
    assert len(set(reads)) >= 30 and len(read) <= 8, (len(set(reads)), len(read))


def test_colliding_keys_give_a_clean_runs_answers(tmp_path, monkeypatch):
    """Keys collide (32 bits of a k-gram's hash): a key's rows can hold several k-grams, and
    extend keeps the rows of its first row's. Here every anchor of a passage that a and b share
    has the key of one of c's anchors. A cold build's rows come by source (a, b, c: the passage
    is found); a step that changed a and b puts their rows after c's, and they are looked at in
    the cold build's order again, so the answers are a clean run's."""
    from site_builder.reuse import prints

    rng = random.Random(5)

    def noise(n: int) -> str:
        return "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(n))

    shared = noise(40)
    texts = {"a": noise(30) + shared + noise(30), "b": noise(30) + shared + noise(30), "c": noise(100)}
    k, w = shape(30)
    hashes, at = anchors(folded_codes(texts["a"]), k, w)
    colliding = {int(h) for h, p in zip(hashes.tolist(), at.tolist()) if 30 <= p <= 70 - k}
    colliding.add(int(anchors(folded_codes(texts["c"]), k, w)[0][0]))
    real = prints.anchor_keys

    def keys(h: np.ndarray) -> np.ndarray:
        out = real(h)
        out[np.isin(h, np.array(sorted(colliding), dtype=np.uint64))] = 7
        return out

    monkeypatch.setattr(prints, "anchor_keys", keys)
    digests = dict.fromkeys(texts, 0)
    state = tmp_path / "reuse"
    first = _find(texts, state, digests.__getitem__)
    assert [[pl.source for pl in p.places] for p in first.passages] == [["a", "b"]]
    for name in ("a", "b"):  # both changed, the passage kept
        texts[name] += "\n" + noise(20)
        digests[name] += 1
    incremental, clean = _find(texts, state, digests.__getitem__), _find(texts, None, digests.__getitem__)
    assert clean.passages and (incremental.passages, incremental.near) == (clean.passages, clean.near)


@pytest.mark.parametrize("find_most", [64, 0])
def test_found_kept_as_one_text_answers_as_entries_made_afresh(monkeypatch, find_most):
    # The state's texts are kept as one string with their ends (found._Strings, #15): entries
    # dropped, and added ones whose folded text is a kept one's (looked up one by one, or, with
    # more than FIND_MOST, through a dict of all), give the passages and the stored state of the
    # same entries added to an empty Found.
    from site_builder.reuse import found as found_mod
    from site_builder.reuse.found import Found

    monkeypatch.setattr(found_mod, "FIND_MOST", find_most)
    entries = [
        (9, "甲乙,丙", "甲乙，丙", (("b.md", 2), ("c.md", 1))),
        (5, "甲乙,丙", "甲乙,丙", (("b.md", 2), ("d.md", 4))),
        (7, "丁戊", "丁戊", (("a.md", 3), ("c.md", 2))),
        (8, "己庚𝄞", "己庚𝄞", (("a.md", 1), ("e.md", 1))),
        (4, "辛壬", "辛壬", (("c.md", 9), ("e.md", 2))),
    ]
    kept = Found()
    for e in entries:
        kept.add(*e)
    again = Found(pickle.loads(pickle.dumps(kept.dump())))
    again.drop(np.array([7, 9], dtype=np.uint32))
    more = [(3, "丁戊", "丁戊", (("b.md", 1), ("f.md", 1))), (2, "癸", "癸", (("a.md", 2), ("f.md", 3)))]
    for e in more:
        again.add(*e)
    fresh = Found()
    for e in [e for e in entries if e[0] not in (7, 9)] + more:
        fresh.add(*e)
    assert again.passages() == fresh.passages()
    assert len(again.passages()) == 5
    assert _entries(again.dump()) == _entries(fresh.dump())  # (the folded texts may be numbered otherwise)


def _entries(stored: dict) -> list:
    """(key, folded text, text, places) of each entry of a stored Found, in order."""
    from site_builder.reuse.found import _split

    folds = _split(stored["folds"], stored["fold_lengths"])
    texts = _split(stored["texts"], stored["text_lengths"])
    sources = _split(stored["sources"], stored["source_lengths"])
    start = stored["start"].tolist()
    return [
        (
            key,
            folds[f],
            text,
            [(sources[x], p) for x, p in zip(stored["src"][a:b].tolist(), stored["par"][a:b].tolist())],
        )
        for key, f, text, a, b in zip(stored["key"].tolist(), stored["fold"].tolist(), texts, start, start[1:])
    ]


def test_a_step_reads_a_changed_speechs_keys_by_owner_not_by_scanning_the_base(tmp_path, monkeypatch):
    """Each base is written with its keys by owner (layers.write_by_owner, #15): the keys a
    changed speech had are its slice (the base's owner column not scanned), the same keys as the
    scan; a base without them (an older state's) gets them; the answers are a clean run's."""
    from site_builder.reuse import layers, stage

    monkeypatch.setattr(layers, "BY_OWNER_ROWS", 0)  # (a big base's)
    rng, texts = _archive(5, 12)
    state = tmp_path / "reuse"
    _find(texts, state)
    assert len(list(state.glob("anchors-*.byowner.npy"))) == 1 and len(list(state.glob("anchors-*.owners.npy"))) == 1
    old = pickle.loads((state / stage.STATE_FILE).read_bytes())
    st = stage._State(old, [Doc(s, "1") for s in texts], state)
    base = st.anchors.base
    assert base is not None and st.anchors.by_owner is not None
    owners = np.array([0, 3, 7, 11, 40], dtype=np.uint32)  # (40: no speech of the base)
    scanned = layers.Table(base.key, base.owner, base.pos).keys_of(owners)

    def no_scan(self, owners):
        assert len(self.key) < len(base.key), "the base's owner column scanned"
        return real(self, owners)

    real = layers.Table.keys_of
    monkeypatch.setattr(layers.Table, "keys_of", no_scan)
    assert np.array_equal(st.anchors.keys_of(owners), scanned)
    name = sorted(texts)[3]
    texts[name] += "\n" + rng.choice(OTHER)
    step = _find(texts, state, lambda s: "2" if s == name else "1")
    monkeypatch.setattr(layers.Table, "keys_of", real)
    clean = _find(texts, None)
    assert (step.passages, step.near) == (clean.passages, clean.near)
    for path in state.glob("*.byowner.npy"):  # an older state's base: given them when first asked
        path.unlink()
    other = sorted(texts)[6]  # (a speech whose rows are still the base's)
    texts[other] += "\n" + rng.choice(REPORT)
    step = _find(texts, state, lambda s: "2" if s == name else "3" if s == other else "1")
    clean = _find(texts, None)
    assert (step.passages, step.near) == (clean.passages, clean.near)
    assert len(list(state.glob("anchors-*.byowner.npy"))) == 1 and len(list(state.glob("anchors-*.owners.npy"))) == 1


def test_a_small_base_has_no_keys_by_owner_and_is_scanned(tmp_path):
    """#15: a base of anchors under layers.BY_OWNER_ROWS rows is written without its keys by
    owner (4 bytes a row of the cache; the scan of a small base costs a few ms a step), also when
    first asked; a step finds the keys a changed speech had by scanning, the answers a clean run's."""
    from site_builder.reuse import layers, stage

    rng, texts = _archive(5, 12)
    state = tmp_path / "reuse"
    _find(texts, state)
    old = pickle.loads((state / stage.STATE_FILE).read_bytes())
    st = stage._State(old, [Doc(s, "1") for s in texts], state)
    base = st.anchors.base
    assert base is not None and 0 < len(base.key) < layers.BY_OWNER_ROWS
    assert st.anchors.by_owner is None
    owners = np.array([0, 3, 7, 40], dtype=np.uint32)
    assert np.array_equal(st.anchors.keys_of(owners), layers.Table(base.key, base.owner, base.pos).keys_of(owners))
    versions = dict.fromkeys(texts, 1)
    for name in sorted(texts)[2:5]:  # one changed speech a step
        texts[name] += "\n" + rng.choice(OTHER)
        versions[name] += 1
        step = _find(texts, state, versions.__getitem__)
        clean = _find(texts, None)
        assert (step.passages, step.near) == (clean.passages, clean.near)
    assert not list(state.glob("*.byowner.npy")) and not list(state.glob("*.owners.npy"))
    assert list(state.glob("anchors-*.key.npy"))


def test_passages_are_columns_made_into_objects_only_when_asked_for(tmp_path):
    """found.Passages (#15): the build hashes the passages from their columns and makes a
    Passage only for the pages it renders; each is the same object when asked again, the list
    and each speech's passages (Reuse.of) are those of the objects, and the plan's hashes from
    the columns are those from the objects."""
    from site_builder import page_changes
    from site_builder.reuse.found import Passages
    from site_builder.reuse.stage import Reuse

    _rng, texts = _archive(5, 12)
    found = _find(texts, tmp_path / "reuse")
    passages = found.passages
    assert isinstance(passages, Passages) and len(passages) > 3
    assert passages._made == {}  # none made yet
    third = passages[2]
    assert passages[2] is third and passages[-1] is passages[len(passages) - 1]
    assert list(passages._made) == [2, len(passages) - 1]
    as_list = list(passages)
    assert passages == as_list and as_list == _find(texts, None).passages
    plain = Reuse(as_list, found.near)  # (Reuse.of over objects: every place looked at)
    for source in [*texts, "none.md"]:
        assert found.of(source) == plain.of(source), source
    by_columns = page_changes.passage_hashes(passages, page_changes._SourceIds())
    by_objects = page_changes.passage_hashes(as_list, page_changes._SourceIds())
    assert all(np.array_equal(a, b) for a, b in zip(by_columns, by_objects))


def test_a_step_writes_what_changed_beside_the_passages_base(tmp_path, monkeypatch):
    """The passages found are a base file written now and then and, in the state, the keys
    dropped and entries added since (found.py, #15): a step leaves the base's bytes alone; past
    SLACK a new base is written first and the old one removed once the state names the new; a
    build killed between the two leaves the old state, whole; the answers are a clean run's."""
    from site_builder.reuse import found as found_mod
    from site_builder.reuse import stage

    rng, texts = _archive(5, 14)
    pool = REPORT + OTHER
    state = tmp_path / "reuse"
    digests = dict.fromkeys(texts, 0)

    def step(name: str) -> None:
        texts[name] += "\n" + rng.choice(pool)
        digests[name] += 1
        got, clean = _find(texts, state, digests.__getitem__), _find(texts, None)
        assert got.passages and (got.passages, got.near) == (clean.passages, clean.near)

    _find(texts, state, digests.__getitem__)
    [base] = state.glob("found-*.pickle")
    before = base.read_bytes()
    step("d03")
    saved = pickle.loads((state / stage.STATE_FILE).read_bytes())["found"]
    assert saved["base"] == base.name and base.read_bytes() == before  # only the delta written
    assert len(saved["dropped"]) + len(saved["added"]) > 0
    monkeypatch.setattr(found_mod, "SLACK", 0)  # every step past it: a new base
    real_save = stage._save

    def killed(path, state_):
        raise KeyboardInterrupt  # the build stopped after the new base was written

    monkeypatch.setattr(stage, "_save", killed)
    texts["d05"] += "\n" + rng.choice(pool)
    digests["d05"] += 1
    with pytest.raises(KeyboardInterrupt):
        _find(texts, state, digests.__getitem__)
    assert len(list(state.glob("found-*.pickle"))) == 2 and base.read_bytes() == before  # the old one stays
    monkeypatch.setattr(stage, "_save", real_save)
    step("d07")
    [new] = state.glob("found-*.pickle")  # the state names the new one; the others removed
    assert new != base and pickle.loads((state / stage.STATE_FILE).read_bytes())["found"]["base"] == new.name
