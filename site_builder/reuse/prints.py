"""What the reuse stage keeps of each speech: its folded text as code points, its anchors and its
sentence fingerprint. Computed once per text (the build caches them by the speech's digest).

* **Folding** is ``analysis.fold``, done with a numpy table for the usual text (every character
  folds to exactly one character); a text with characters that fold to nothing or to several
  goes through ``fold`` itself. Line breaks (block boundaries of the plain text) become ``\\x00``,
  which ``fold`` keeps, so a passage never spans two blocks.
* **Anchors** are winnowed k-gram hashes (Schleimer, Wilkerson and Aiken 2003): of every window of
  ``w`` consecutive k-grams of a line, the smallest hash is kept. Two texts that share a run of
  ``k + w - 1`` characters share at least one anchor, so with ``k + w - 1 = min_chars`` every
  shared passage of ``min_chars`` characters is found; about 2 / (w + 1) of the positions are
  anchors.
* The **sentence fingerprint** is ``duplicates.fingerprint``'s method (sentences folded, without
  punctuation and spaces, of at least ``MIN_SENTENCE`` characters) with a 64-bit hash, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..duplicates import MIN_SENTENCE
from ..search.analysis import _translate_table, fold

LINE = "\x00"  # a block boundary in the folded text (fold keeps it)
_BASE = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
NONE = np.uint64(0xFFFFFFFFFFFFFFFF)  # a k-gram that spans two lines: never an anchor


def shape(min_chars: int) -> tuple[int, int]:
    """(k, w) for passages of at least ``min_chars`` characters: k + w - 1 = min_chars."""
    k = max(4, min(15, min_chars // 2))
    return k, max(1, min_chars - k + 1)


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """(code point → folded code point, code points that fold to other than one character)."""
    lut = np.arange(0x10000, dtype=np.uint32)
    odd = np.zeros(0x10000, dtype=bool)
    for code, out in _translate_table().items():
        if code >= 0x10000:
            continue
        if len(out) == 1:
            lut[code] = ord(out)
        else:
            odd[code] = True
    return lut, odd


def folded_codes(text: str) -> np.ndarray:
    """``fold(text)`` as uint32 code points, with each line break as 0."""
    marked = text.replace("\n", LINE)
    raw = np.frombuffer(marked.encode("utf-32-le"), dtype=np.uint32)
    lut, odd = _tables()
    if raw.size and (int(raw.max()) >= 0x10000 or bool(odd[raw].any())):
        return np.frombuffer(fold(marked).encode("utf-32-le"), dtype=np.uint32)
    return lut[raw]


_SENTINEL = 0xD800  # (a surrogate: never what a character folds to) the text goes through folded_codes


@lru_cache(maxsize=1)
def _table16() -> np.ndarray:
    """``folded_codes``' table in uint16 with a line break → 0, and ``_SENTINEL`` for surrogates
    and for what folds to other than one character of the BMP."""
    lut, odd = _tables()
    out = lut.astype(np.uint16)
    out[(lut >= 0x10000) | odd] = _SENTINEL
    out[0xD800:0xE000] = _SENTINEL
    out[ord("\n")] = 0
    return out


def folded_narrow(text: str) -> np.ndarray:
    """``folded_codes(text)``, as uint16 when the text is in the BMP and folds one to one (the usual
    text: one lookup in a 128 KB table, about twice as fast), else as ``folded_codes`` gives it."""
    raw = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    out = _table16()[raw]
    if raw.size and bool((out == _SENTINEL).any()):
        return folded_codes(text)
    return out


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique, without its hashing path, which is slow on small arrays)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def one_to_one(text: str) -> bool:
    """Whether every character of ``text`` folds to exactly one (folded offsets = offsets)."""
    raw = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return not raw.size or (int(raw.max()) < 0x10000 and not bool(_tables()[1][raw].any()))


def _window_min(a: np.ndarray, w: int) -> np.ndarray:
    """out[j] = min(a[j : j + w]) for j in 0 … len(a) - w (len(a) ≥ w)."""
    out, span = a, 1
    while span * 2 <= w:
        out = np.minimum(out[:-span], out[span:])
        span *= 2
    n = len(a) - w + 1
    if span < w:
        out = np.minimum(out[:n], out[w - span : w - span + n])
    return out[:n]


def _window_max(a: np.ndarray, w: int) -> np.ndarray:
    out, span = a, 1
    while span * 2 <= w:
        out = np.maximum(out[:-span], out[span:])
        span *= 2
    n = len(a) - w + 1
    if span < w:
        out = np.maximum(out[:n], out[w - span : w - span + n])
    return out[:n]


_CACHED_POWERS = 1 << 17  # texts up to this long share one table of powers (2 MB each)


def _make_powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(B**i, B**-i) modulo 2**64 for i < n."""
    base = np.full(n, _BASE, dtype=np.uint64)
    base[0] = 1
    inverse = np.full(n, np.uint64(pow(int(_BASE), -1, 2**64)), dtype=np.uint64)
    inverse[0] = 1
    return np.cumprod(base), np.cumprod(inverse)  # both wrap modulo 2**64, as intended


@lru_cache(maxsize=1)
def _shared_powers() -> tuple[np.ndarray, np.ndarray]:
    return _make_powers(_CACHED_POWERS)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n <= _CACHED_POWERS:
        power, inverse = _shared_powers()
        return power[:n], inverse[:n]
    return _make_powers(n)  # a very long text: not kept


def _prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prefix sums of values[i] * B**i, B**-i): the hash of values[a:b] is
    (prefix[b] - prefix[a]) * inverse[a], whatever a is."""
    power, inverse = _powers(len(values) + 1)
    weighted = values.astype(np.uint64) * power[: len(values)]
    return np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(weighted))), inverse


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(29))
    h = h * _MIX
    return h ^ (h >> np.uint64(32))


def kgram_hashes(codes: np.ndarray, k: int) -> np.ndarray:
    """The hash of the k-gram at each position (len(codes) - k + 1 of them); NONE across lines."""
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    prefix, inverse = _prefix(codes)
    h = _mix((prefix[k:] - prefix[:n]) * inverse[:n])
    breaks = np.concatenate(([0], np.cumsum(codes == 0)))
    h[breaks[k:] - breaks[:n] > 0] = NONE
    return h


@lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """Per BMP character: 1 if ``\\w`` matches it and it is not ``_`` (duplicates.fingerprint keeps
    it), 2 if it ends a sentence after folding (。, and ！？；, which fold to !?;) or a line, else 0."""
    out = np.array([chr(i).isalnum() for i in range(0x10000)], dtype=np.uint8)
    out[[0, *(ord(c) for c in "。!?;")]] = 2
    return out


def _class_of(codes: np.ndarray) -> np.ndarray:
    """``_classes`` of each code point (outside the BMP: 1, kept)."""
    if len(codes) and int(codes.max()) >= 0x10000:
        cls = np.ones(len(codes), dtype=np.uint8)
        bmp = codes < 0x10000
        cls[bmp] = _classes()[codes[bmp]]
        return cls
    return _classes()[codes]


def sentence_hashes(codes: np.ndarray) -> np.ndarray:
    """``duplicates.fingerprint`` of a folded text, as sorted distinct 64-bit hashes: its
    sentences (cut at 。！？；and line breaks) without what is not a letter or a digit, those of at
    least ``MIN_SENTENCE`` characters."""
    cls = _class_of(codes)
    stop = cls == 2
    keep = cls == 1
    sentence = np.cumsum(stop)[keep]
    kept = codes[keep]
    if not len(kept):
        return np.zeros(0, dtype=np.uint64)
    starts = np.flatnonzero(np.concatenate(([True], sentence[1:] != sentence[:-1])))
    ends = np.concatenate((starts[1:], [len(kept)]))
    long = ends - starts >= MIN_SENTENCE
    starts, ends = starts[long], ends[long]
    prefix, inverse = _prefix(kept)
    return distinct(_mix((prefix[ends] - prefix[starts]) * inverse[starts] + (ends - starts).astype(np.uint64)))


def anchors(codes: np.ndarray, k: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, positions) of the winnowed anchors of a folded text, in text order."""
    h = kgram_hashes(codes, k)
    if not len(h):
        return h, np.zeros(0, dtype=np.int64)
    if len(h) < w:
        chosen = h <= h.min()
    else:
        mins = _window_min(h, w)
        pad = np.zeros(w - 1, dtype=np.uint64)
        chosen = h <= _window_max(np.concatenate((pad, mins, pad)), w)
    chosen &= h != NONE
    pos = np.flatnonzero(chosen)
    return h[pos], pos


def anchor_keys(hashes: np.ndarray) -> np.ndarray:
    """The key of an anchor: the high 32 bits of its hash (a colliding key is told apart when
    its passage is extended, character by character)."""
    return (hashes >> np.uint64(32)).astype(np.uint32)


@dataclass
class SpeechPrint:
    """What the reuse stage needs of one speech: its anchors (keys and positions in the folded
    text, in text order) and its sentence fingerprint (sorted distinct hashes)."""

    keys: np.ndarray  # uint32
    positions: np.ndarray  # uint32
    sentences: np.ndarray  # uint64


def speech_print(codes: np.ndarray, k: int, w: int) -> SpeechPrint:
    """The print of a folded text (``folded_codes``); a text longer than ``WINDOW`` a window at a
    time (``_windowed_anchors``, ``_windowed_sentences``: the same print)."""
    if len(codes) > WINDOW and len(codes) - k + 1 >= w:
        keys, positions = _windowed_anchors(codes, k, w)
        return SpeechPrint(keys, positions, _windowed_sentences(codes))
    hashes, positions = anchors(codes, k, w)
    return SpeechPrint(anchor_keys(hashes), positions.astype(np.uint32), sentence_hashes(codes))


# A long text (#15, a 50 MB speech): the arrays over every character (prefix sums, powers, hashes,
# window minima: ≈ 100 bytes a character) made a window at a time, so they are bounded by the window.
WINDOW = 1 << 16  # characters (with its margins, a window's powers are the shared table's)


def _windowed_anchors(codes: np.ndarray, k: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """``anchors``' (keys, positions as uint32) of a text of at least ``k + w - 1`` characters, made
    a window of k-gram positions at a time: whether the k-gram at j is an anchor depends on the
    hashes of j - w + 1 … j + w - 1 only (the minima of the ``w`` windows of k-grams that hold
    it), and a k-gram's hash on its k characters, so each window is read with those margins."""
    n = len(codes) - k + 1
    keys, positions = [], []
    for a in range(0, n, WINDOW):
        b = min(a + WINDOW, n)
        lo = max(0, a - w + 1)
        hashes, pos = anchors(codes[lo : min(len(codes), b + w - 1 + k - 1)], k, w)
        pos += lo
        inside = (pos >= a) & (pos < b)
        keys.append(anchor_keys(hashes[inside]))
        positions.append(pos[inside].astype(np.uint32))
    return np.concatenate(keys), np.concatenate(positions)


def _windowed_sentences(codes: np.ndarray) -> np.ndarray:
    """``sentence_hashes`` of a long text, taken in pieces of about ``WINDOW`` characters, each
    cut just after a character that ends a sentence (a sentence is never split; a piece with none
    runs on to the next one that does)."""
    out, a, n = [], 0, len(codes)
    while a < n:
        scan, b = a, min(a + WINDOW, n)
        while b < n:
            stops = np.flatnonzero(_class_of(codes[scan:b]) == 2)
            if len(stops):
                b = scan + int(stops[-1]) + 1
                break
            scan, b = b, min(b + WINDOW, n)
        out.append(sentence_hashes(codes[a:b]))
        a = b
    return distinct(np.concatenate(out))
