"""A very large speech (#15, "a 50 MB speech") in the search indexes: one speech's text is analysed a
window of characters at a time, with exactly the result of analysing it whole, and the arrays alive
at once are bounded by the window, not by the speech.

The windows here are small (a few characters, or 65,536 for the memory bounds); the real ones are
``whoosh_postings.WINDOW`` characters. bench/bench_big_speech.py measures 4, 16 and 50 MB speeches.
"""

from __future__ import annotations

import contextlib
import gc
import io
import random
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder.model import IndexDoc
from site_builder.search import analysis, whoosh_postings, whoosh_records, whoosh_segments
from site_builder.static_search import StaticIndex, analyser, windows

ALPHABET = list("党建队伍员 \x00ab1２") + ["\u3000", "\n", "\U00020000", "\ud800"]


def _random_text(n: int, seed: int) -> str:
    """``n`` characters of 120 CJK characters, with a space now and then (the grams' runs)."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in range(120)] + [" "]
    return "".join(rng.choices(chars, weights=[1] * 120 + [8], k=n))


@contextlib.contextmanager
def _window(window: int):
    """Every per-speech analysis of the indexes with windows of ``window`` characters."""
    mods = (whoosh_postings, whoosh_records, whoosh_segments, windows)
    saved = [m.WINDOW for m in mods]
    for m in mods:
        m.WINDOW = window
    try:
        yield
    finally:
        for m, w in zip(mods, saved):
            m.WINDOW = w


def _postings(folded: str, window: int):
    with _window(window):
        return whoosh_postings.gram_postings(folded, 7)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=40), st.integers(1, 9))
def test_whoosh_postings_in_windows_are_the_postings_of_the_whole_text(text, window):
    # Pairs across a window's end are counted once, each window's counts are summed.
    folded = analysis.fold(text)
    whole = _postings(folded, 1 << 40)
    assert _postings(folded, window).tolist() == whole.tolist()


def test_whoosh_counts_are_capped_after_the_windows_are_summed():
    whole = _postings("党" * 300, 1 << 40)
    windowed = _postings("党" * 300, 100)  # 100 a window: below the cap of 255 in each
    assert windowed.tolist() == whole.tolist()
    assert sorted(p & 255 for p in windowed.tolist()) == [255, 255]


def _doc(body: str, headings=(), title: str = "一篇很长的讲话", id: str = "big.md") -> IndexDoc:
    return IndexDoc(
        id=id, url=f"speeches/{id[:-3]}.html", title=title, date="2020-01-01", year=2020, meeting_type="",
        themes=(), body=body, fingerprint="big", headings=tuple(headings),
    )  # fmt: skip


def _record_and_store(body: str, window: int) -> tuple:
    """The Whoosh index's record of a doc (meta, folded search text, patches) and its text store's bytes."""
    with _window(window):
        meta, folded, patches = whoosh_records._record_from_doc(_doc(body, [0, 2]))
        store = whoosh_segments._StoreWriter(io.BytesIO())
        store.add(meta, folded, patches)
        return meta, folded, patches, store.out.getvalue(), store.offsets.tolist()


BODY_CHARS = list("党建队伍员 ab1２，。（）\n\tﬁＡ") + ["\u3000", "\u200b", "黨", "\U00020000", "\ud800"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(BODY_CHARS), max_size=40), st.integers(1, 9))
def test_whoosh_record_and_text_store_in_windows_are_those_of_the_whole_text(body, window):
    # The fold (a table lookup a window at a time), the patches (the changed chars picked a window
    # at a time) and the text store (written a window at a time) are those of the whole body.
    windowed = _record_and_store(body, window)
    assert windowed == _record_and_store(body, 1 << 40)
    folded, patches = windowed[1:3]
    assert whoosh_records._unfold(folded.split(analysis.SEPARATOR, 1)[1], patches) == body


def _peak(f, *args) -> int:
    f(*args)  # (imports and caches made before)
    gc.collect()
    tracemalloc.start()
    try:
        f(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_whoosh_postings_of_a_long_text_hold_a_window_of_arrays():
    folded = _random_text(1_500_000, 15)
    assert len(folded) > 20 * 65_536
    windowed = _peak(_postings, folded, 65_536)
    whole = _peak(_postings, folded, 1 << 40)
    # measured: whole ≈ 45 bytes a character (int64 keys and their temporaries over the text),
    # windowed ≈ 2.6 bytes a character (a window's arrays, and the 14,500 distinct keys with their counts)
    assert whole > 30 * len(folded)
    assert windowed < 4 * len(folded), f"{windowed / len(folded):.1f} bytes a character"
    assert _postings(folded, 65_536).tolist() == _postings(folded, 1 << 40).tolist()


# -- the static index -------------------------------------------------------------------------


def _analysed(doc: IndexDoc, window: int) -> tuple:
    """Everything ``analyser.analyse`` gives for a doc (its meta, header bytes, arrays' bytes)."""
    with _window(window):
        meta, head, arrays = analyser.analyse(doc)
        return meta, head, [a.tobytes() for a in arrays]


# (no lone surrogate: the static index's text payload is UTF-8, such a body fails whole or not)
STATIC_CHARS = [c for c in BODY_CHARS if c != "\ud800"] + ["\x00", "㈠", "\n", "\n"]


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(STATIC_CHARS), max_size=60),
    st.text(alphabet=st.sampled_from(STATIC_CHARS), max_size=5),
    st.lists(st.integers(0, 8), max_size=3),
    st.integers(1, 12),
)
def test_static_analysis_in_windows_is_the_analysis_of_the_whole_text(body, title, headings, window):
    # Chars, pairs and trigrams across a window's end counted once, first seen in the same order,
    # positions offset by the window, heading lines' keys and indices, the folding table's chars:
    # the same k and p records, encoded positions and header (text payload) as the whole text's.
    doc = _doc(body, headings, title)
    assert _analysed(doc, window) == _analysed(doc, 1 << 40)


def test_static_windows_with_too_many_distinct_chars_are_taken_in_halves(monkeypatch):
    # A window whose sort keys would not fit (many distinct chars) is analysed in halves, down to a
    # few characters here: still the whole text's analysis.
    rng = random.Random(3)
    body = "".join(rng.choice("党建队伍员一二三四五六七八九十 \n，") for _ in range(3000))
    doc = _doc(body, [0, 3, 7])
    whole = _analysed(doc, 1 << 40)
    monkeypatch.setattr(windows, "_LIMIT", 1 << 16)
    assert _analysed(doc, 1000) == whole


def _long_doc(n: int) -> IndexDoc:
    """A text of ``n`` characters in lines of about 200, every fiftieth line a heading: sentences
    drawn from 400 of 8 to 30 characters (as a speech repeats its words and phrases; random
    characters would make nearly every trigram distinct)."""
    rng = random.Random(16)
    pool = [_random_text(rng.randint(8, 30), i) + "。" for i in range(400)]
    text = "".join(rng.choices(pool, k=n // 19))[:n]
    lines = [text[i : i + 200] for i in range(0, n, 200)]
    return _doc("\n".join(lines), range(0, len(lines), 50))


def test_static_analysis_of_a_long_text_holds_a_window_of_arrays():
    doc = _long_doc(1_200_000)
    windowed = _peak(_analysed, doc, 65_536)
    whole = _peak(_analysed, doc, 1 << 40)
    assert _analysed(doc, 65_536) == _analysed(doc, 1 << 40)
    # measured: whole ≈ 51 bytes a character (code points, sort keys and positions over the text),
    # windowed ≈ 12 (a window's arrays, each window's piece of the encoded positions, the entries)
    assert whole > 40 * len(doc.body)
    assert windowed < 16 * len(doc.body), f"{windowed / len(doc.body):.1f} bytes a character"


def _index_files(tmp_path, docs, window: int, name: str) -> dict:
    with _window(window):
        StaticIndex(tmp_path / name / "state", tmp_path / name / "out", jobs=1).update(docs)
    out = tmp_path / name / "out"
    return {f.relative_to(out).as_posix(): f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file()}


def test_a_static_index_with_a_long_speech_is_the_same_in_windows(tmp_path):
    rng = random.Random(5)
    docs = [_doc(_random_text(rng.randint(50, 400), i), title=f"讲话{i}", id=f"s{i}.md") for i in range(6)]
    docs.append(_long_doc(30_000))
    windowed = _index_files(tmp_path, docs, 2_000, "windowed")
    assert windowed == _index_files(tmp_path, docs, 1 << 40, "whole")
    assert any(name.startswith("search/") for name in windowed)
