"""A very large speech (#15, "a 50 MB speech") in the search indexes: one speech's text is analysed a
window of characters at a time, with exactly the result of analysing it whole, and the arrays alive
at once are bounded by the window, not by the speech.

The windows here are small (a few characters, or 65,536 for the memory bounds); the real ones are
``whoosh_postings.WINDOW`` characters. bench/bench_big_speech.py measures 4, 16 and 50 MB speeches.
"""

from __future__ import annotations

import gc
import random
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder.search import analysis, whoosh_postings

ALPHABET = list("党建队伍员 \x00ab1２") + ["\u3000", "\n", "\U00020000", "\ud800"]


def _random_text(n: int, seed: int) -> str:
    """``n`` characters of 120 CJK characters, with a space now and then (the grams' runs)."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in range(120)] + [" "]
    return "".join(rng.choices(chars, weights=[1] * 120 + [8], k=n))


def _postings(folded: str, window: int):
    saved = whoosh_postings.WINDOW
    whoosh_postings.WINDOW = window
    try:
        return whoosh_postings.gram_postings(folded, 7)
    finally:
        whoosh_postings.WINDOW = saved


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


def _peak(f, *args) -> int:
    f(args[0][:10], *args[1:])  # (imports done before)
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
