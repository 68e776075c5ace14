"""A very large speech (#15, "a 50 MB speech") in the reuse stage: a folded text longer than
``prints.WINDOW`` gets its anchors and sentence fingerprint a window at a time, exactly those of the
whole text, with the arrays alive at once bounded by the window, not by the text.

The windows here are a few characters (or 65,536, the real size, for the memory bound).
bench/bench_big_speech.py measures 4, 16 and 50 MB speeches.
"""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest

from site_builder.reuse import Doc, find_reuse, prints
from site_builder.reuse.prints import folded_codes, folded_narrow, shape, speech_print

WHOLE = 1 << 62  # a window no text reaches: the whole-text path

# CJK, sentence ends (。 and ！？；, which fold to !?;), commas, line breaks, full-width letters,
# astral characters, and characters that fold to nothing (U+00AD) or to several (½, ﬁ).
PIECES = (
    [chr(0x4E00 + i) for i in range(40)] + list("。！？；，\nＡb1２ ") + ["\U00020000", "\U0002a6d6", "\xad", "½", "ﬁ"]
)


def _text(n: int, seed: int, pieces=PIECES) -> str:
    rng = random.Random(seed)
    weights = [3] * 40 + [1] * (len(pieces) - 40)
    return "".join(rng.choices(pieces, weights=weights, k=n))


def _print(codes: np.ndarray, k: int, w: int, window: int, monkeypatch) -> prints.SpeechPrint:
    monkeypatch.setattr(prints, "WINDOW", window)
    return speech_print(codes, k, w)


def _same(a: prints.SpeechPrint, b: prints.SpeechPrint) -> None:
    for name in ("keys", "positions", "sentences"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_chars", [30, 12, 8])
def test_windowed_prints_equal_whole_prints(monkeypatch, seed, min_chars):
    """Windows of 1 to 50 characters: k-grams, winnowing windows and sentences cross their ends."""
    k, w = shape(min_chars)
    text = _text(400 + 37 * seed, seed)
    for fold in (folded_codes, folded_narrow):
        codes = fold(text)
        whole = _print(codes, k, w, WHOLE, monkeypatch)
        assert len(whole.keys) and len(whole.sentences)  # (the text has anchors and sentences to compare)
        for window in (1, 2, 3, 7, 16, 50):
            _same(_print(codes, k, w, window, monkeypatch), whole)


def test_narrow_bmp_text_and_long_sentences(monkeypatch):
    """A text in uint16 (the usual one), with sentences far longer than a window, and a run with
    no sentence end at all (a piece runs on to the next end)."""
    k, w = shape(30)
    cjk = [chr(0x4E00 + i) for i in range(60)]
    rng = random.Random(9)
    parts = ["".join(rng.choices(cjk, k=rng.randrange(5, 90))) for _ in range(30)]
    text = "。".join(parts) + "\n" + "".join(rng.choices(cjk, k=500)) + "！" + parts[0]
    codes = folded_narrow(text)
    assert codes.dtype == np.uint16
    whole = _print(codes, k, w, WHOLE, monkeypatch)
    for window in (1, 5, 13, 64, 200):
        _same(_print(codes, k, w, window, monkeypatch), whole)


def test_short_texts_take_the_whole_path(monkeypatch):
    """A text shorter than k + w - 1 (no full winnowing window) is never windowed (its anchor is
    the text's smallest hash), and the result is the whole one."""
    k, w = shape(30)
    codes = folded_codes(_text(k + w - 2, 1))
    calls = []
    monkeypatch.setattr(prints, "_windowed_anchors", lambda *a: calls.append(a))
    _print(codes, k, w, 1, monkeypatch)
    assert calls == []


def _found(texts: dict[str, str]):
    found = find_reuse([Doc(s, "1") for s in texts], lambda s, _d: texts[s], 30)
    passages = [(p.text, [tuple(pl) for pl in p.places]) for p in found.passages]
    return passages, sorted(found.near)


def test_passages_of_a_long_text_are_those_of_the_whole(monkeypatch):
    """find_reuse with a speech many windows long: the same passages in the same places (some
    cross a window's end) and the same near-duplicate pairs."""
    rng = random.Random(15)
    shared = [_text(rng.randrange(30, 80), 100 + i, PIECES[:40] + ["，"]) for i in range(12)]
    body = []
    for i, s in enumerate(shared):
        body += [_text(rng.randrange(20, 200), 200 + i), s, "\n" if i % 3 == 0 else "。"]
    texts = {
        "long": "".join(body),
        "short": "\n".join(shared[::2]),
        "other": "开头一句。\n" + "。".join(shared[1::3]),
        "copy": "".join(body[: len(body) // 2]) + "结尾",
    }
    monkeypatch.setattr(prints, "WINDOW", WHOLE)
    whole = _found(texts)
    assert len(whole[0]) >= 6
    for window in (7, 61, 300):
        monkeypatch.setattr(prints, "WINDOW", window)
        assert _found(texts) == whole


def test_a_long_text_is_printed_in_memory_bounded_by_the_window():
    """2,000,000 characters: the print's arrays are ≈ 2 / (w + 1) anchors × 8 bytes and the
    sentences; the whole path's prefix sums, powers and hashes are ≈ 100 bytes a character."""
    k, w = shape(30)
    rng = np.random.default_rng(4)
    codes = rng.integers(0x4E00, 0x4E00 + 3000, size=2_000_000).astype(np.uint16)
    codes[rng.integers(0, len(codes), size=len(codes) // 25)] = ord("。")
    tracemalloc.start()
    try:
        got = speech_print(codes, k, w)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    held = got.keys.nbytes + got.positions.nbytes + got.sentences.nbytes
    assert peak < held + 40 * prints.WINDOW * 8 + 8 * 2 * len(got.sentences), (peak, held)
    assert peak < 12 * len(codes)  # (whole: ≈ 100 bytes a character)
