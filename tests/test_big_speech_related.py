"""A very large speech (#15, "a 50 MB speech") in the related stage: a body longer than
``related_windows.WINDOW`` is folded and segmented a window at a time, with exactly the word counts
of the whole body, and the words alive at once bounded by the window, not by the body.

The windows here are a few characters (or 65,536, the real size, for the memory bound).
bench/bench_big_speech.py measures 4, 16 and 50 MB speeches.
"""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter

import pytest
import rjieba

from site_builder import related, related_windows
from site_builder.related import _fold, doc_keywords

WHOLE = 1 << 62  # a window no body reaches: the whole-body path

# CJK words and characters, every cut character before folding (，！？；、 full-width and ASCII
# space, line breaks, \r\n), letters and digits (full-width too, which fold), what rjieba keeps in
# a run (+#&._%-), traditional characters (fold to simplified), astral characters, a soft hyphen
# (folds to nothing) and ½ (folds to several).
WORDS = ["党员", "队伍", "建设", "人民", "经济", "发展", "改革", "開放", "中国", "社会主义", "现代化", "国家"]
OTHERS = list("的了在是和。，！？；、 \u3000\n\t.#-_%+&abXY12ＡＢ１") + ["\r\n", "\U00020000", "\xad", "½", "。\n"]


def _body(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(WORDS) if rng.random() < 0.6 else rng.choice(OTHERS) for _ in range(n))


def _whole(body: str) -> Counter:
    return Counter(rjieba.cut(_fold(body)))


@pytest.mark.parametrize("seed", range(8))
def test_windowed_counts_equal_whole_counts(monkeypatch, seed):
    """Windows of 1 to 97 characters: words, \\r\\n and runs of letters cross their ends."""
    body = _body(300 + 50 * seed, seed)
    whole = _whole(body)
    assert sum(whole.values()) > 100
    for window in (1, 2, 3, 5, 11, 40, 97):
        monkeypatch.setattr(related_windows, "WINDOW", window)
        assert related_windows.windowed_counts(body, rjieba.cut, _fold) == whole, window


def test_a_window_without_a_cut_character_is_carried(monkeypatch):
    """A long run of CJK (no punctuation, no space) is segmented whole, never cut inside."""
    rng = random.Random(3)
    run = "".join(rng.choice(WORDS) for _ in range(300))
    body = "开头一句。" + run + "，" + run[:50] + "。结尾"
    monkeypatch.setattr(related_windows, "WINDOW", 7)
    assert related_windows.windowed_counts(body, rjieba.cut, _fold) == _whole(body)


@pytest.mark.parametrize("window", [4, 33, 1000])
def test_keywords_of_a_long_body_are_those_of_the_whole(monkeypatch, window):
    """``doc_keywords`` (what the related stage keeps of a speech) takes the windowed path for a
    body longer than the window, and gives the whole body's list."""
    body = _body(3000, 42)
    title = "关于党员队伍建设的讲话"
    monkeypatch.setattr(related_windows, "WINDOW", WHOLE)
    whole, suggested = doc_keywords(title, body), related.keywords(body, 8)
    calls = []
    real = related_windows.windowed_counts

    def spy(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(related_windows, "WINDOW", window)
    monkeypatch.setattr(related_windows, "windowed_counts", spy)
    assert doc_keywords(title, body) == whole
    assert calls == ([1] if window < len(body) else [])
    assert related.keywords(body, 8) == suggested  # (the importer's theme suggestions)


def test_a_long_body_is_segmented_in_memory_bounded_by_the_window():
    """600,000 characters: the whole body's word list is ≈ 36 bytes a character; windowed, the
    peak is the window's words and the counts of the distinct words."""
    body = _body(600_000, 7)
    tracemalloc.start()
    try:
        got = related_windows.windowed_counts(body, rjieba.cut, _fold)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(got.values()) > 200_000
    assert peak < 3 * len(body)  # (whole: ≈ 36 bytes a character, > 20 MB here)
