"""Compare two speeches: sentences aligned first, then character-level differences inside the
sentences that changed (``site-builder compare``, the static compare page, ``--html``).

The differences are computed on the plain text of the bodies, the same text the build gives the
search indexes (``markup.Renderer`` → ``Rendered.text``: one line per block). The browser page
(``themes/default/static/compare.js``) runs the same steps, line by line, with the JavaScript
port of the same library (diff-match-patch), so both give the same chunks:

1. **Sentences.** Each text is cut after every run of 。！？；or a line break (closing quotes and
   brackets right after such a mark stay with the sentence): ``sentences()``.
2. **Sentence diff.** Each distinct sentence becomes one character and diff-match-patch diffs the
   two strings of sentences: identical sentences line up, the rest form *regions* (sentences
   only in A, sentences only in B).
3. **Alignment in a region.** A sentence of A is paired with a sentence of B when their sets of
   adjacent-character pairs are similar (Dice ≥ ``PAIR_MIN``); the pairing keeps the order and
   maximises the summed similarity (dynamic programming, ties broken the same way in both
   languages). Regions of more than ``MAX_PAIRS`` sentence pairs are not aligned (one replace).
4. **Characters.** Each pair is diffed character by character (diff-match-patch, then its
   semantic clean-up, which removes coincidental one-character matches); unpaired sentences are
   deleted or inserted whole.

The result is a list of chunks ``{"op": "equal|insert|delete|replace", "a": …, "b": …}``: the
a-sides joined give A's text exactly and the b-sides B's; equal and unequal chunks alternate.
``similarity`` = 2 × characters in equal chunks / (characters of A + characters of B).
"""

from .align import (
    CHAR_TIMEOUT,
    CLOSE,
    END,
    MAX_PAIRS,
    PAIR_MIN,
    Chunk,
    Comparison,
    align,
    char_chunks,
    compare_texts,
    normalise,
    peeled,
    sentences,
)
from .output import (
    FOLD_CONTEXT,
    FOLD_MIN,
    as_json,
    browser_docs,
    browser_docs_json,
    dumps,
    fold,
    standalone_html,
    terminal,
    use_color,
)
from .sides import MAX_FETCH, CompareError, Side, page_text, read_side

__all__ = [
    "CHAR_TIMEOUT",
    "CLOSE",
    "END",
    "FOLD_CONTEXT",
    "FOLD_MIN",
    "MAX_FETCH",
    "MAX_PAIRS",
    "PAIR_MIN",
    "Chunk",
    "CompareError",
    "Comparison",
    "Side",
    "align",
    "as_json",
    "browser_docs",
    "browser_docs_json",
    "char_chunks",
    "compare_texts",
    "dumps",
    "fold",
    "normalise",
    "page_text",
    "peeled",
    "read_side",
    "sentences",
    "standalone_html",
    "terminal",
    "use_color",
]
