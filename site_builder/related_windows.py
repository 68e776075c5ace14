"""A long speech's words for related speeches (#15, a 50 MB speech): its body folded and segmented a
window at a time, so that the list of its words (a str object each, ≈ 36 bytes a character) is
bounded by the window, not by the speech; the counts are those of the whole body.

rjieba segments runs of CJK characters, letters, digits and ``+#&._%-`` apart from the rest, which
it gives one character (or one ``\\r\\n``) at a time: a text cut just after one of ``CUT_AFTER``
(none of those, nor ``\\r``) is segmented as its two halves are. Folding is character by character.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

WINDOW = 1 << 16  # characters of a body segmented at once (``related._counts``: a longer body in windows)
CUT_AFTER = "。,!?; "  # (as folded: ，！？；and whitespace fold to these)


def windowed_counts(body: str, cut: Callable[[str], Iterable[str]], fold: Callable[[str], str]) -> Counter:
    """``Counter(cut(fold(body)))``, folded a window of ``WINDOW`` characters at a time and
    segmented up to the window's last ``CUT_AFTER`` character, the rest carried into the next
    window (a window without one is carried whole)."""
    counts: Counter = Counter()
    rest = ""
    for lo in range(0, len(body), WINDOW):
        folded = rest + fold(body[lo : lo + WINDOW])
        end = len(folded)
        if lo + WINDOW < len(body):
            end = max(folded.rfind(c) for c in CUT_AFTER) + 1
        counts.update(cut(folded[:end]))
        rest = folded[end:]
    return counts
