"""A speech as the Whoosh index stores it (from ``model.IndexDoc``): the format constants, its keys (grams), and its
record (metadata, folded search text, the patches that give the original body back)."""

from __future__ import annotations

import pickle
import re
import struct
import zlib
from array import array
from collections import Counter, deque
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from operator import add

from ..model import IndexDoc
from . import analysis
from .whoosh_postings import WINDOW

#: Bump when the on-disk layout or the analysis changes; an index of another version is rebuilt.
FORMAT_VERSION = f"6-{analysis.fold_version()}"  # 6: speaker, organisation, headings; bodies one line per block (#13)  (+ the folding table's digest)
INDEXNAME = "MAIN"
_VERSION_FILE = "site_builder_index.json"

GRAM_FIELD = "g"
ID_FIELD = "id"
_META_FIELDS = ("id", "url", "title", "date", "year", "meeting_type", "themes", "fingerprint")


_STORE_MAGIC = b"SBGT0005"
_STORE_END = b"SBGTEND1"
# The folded texts are stored as UTF-16-LE: 2 bytes per Chinese character instead of 3 in
# UTF-8 (a third less to store and to scan); a match only counts at an even offset.
_TEXT_CODEC = "utf-16-le"
_INT = struct.Struct("!i")


def heading_text(body: str, headings: Sequence[int]) -> str:
    """The folded text of the heading lines, separated by ``analysis.SEPARATOR`` (no term spans two)."""
    lines = body.split("\n")
    return analysis.SEPARATOR.join(analysis.fold(lines[i]) for i in headings if 0 <= i < len(lines))


# --------------------------------------------------------------------------------------
# Grams (same result as analysis.grams, about twice as fast)

_BREAK = re.compile("[ \x00]")


def _grams(text: str) -> Counter:
    """``analysis.grams(text)`` for a folded search text (tested to be identical)."""
    counts = Counter(text)
    counts.update(map(add, text, text[1:]))
    if " " in text or analysis.SEPARATOR in text:
        pop = counts.pop
        for m in _BREAK.finditer(text):
            i = m.start()
            pop(text[i], None)
            if i:
                pop(text[i - 1 : i + 1], None)
            pop(text[i : i + 2], None)
    return counts


# --------------------------------------------------------------------------------------
# Records

# A record is what a segment stores per document: (meta tuple, folded search text, patches):
# ``patches`` turn the folded body back into the original (see ``_patches``/``_unfold``).
Record = tuple


@lru_cache(maxsize=1)
def _changed_chars() -> tuple[re.Pattern, dict]:
    """A pattern matching every character that ``analysis.fold`` changes (and, to keep the
    pattern a fast bitmap, every character outside the BMP: those are checked one by one)."""
    table = analysis._translate_table()
    bmp = sorted(chr(k) for k, v in table.items() if v != chr(k) and k < 0x10000)
    return re.compile("[" + "".join(re.escape(c) for c in bmp) + "\U00010000-\U0010ffff]"), table


@lru_cache(maxsize=1)
def _fold_lut():
    """Code point → folded code point for the BMP; ``_ODD`` where a character folds to other than
    exactly one character (those texts are folded by ``analysis.fold`` itself)."""
    import numpy as np

    lut = np.arange(0x10000, dtype=np.uint32)
    for code, out in analysis._translate_table().items():
        if code < 0x10000:
            lut[code] = ord(out) if len(out) == 1 else _ODD
    return lut


_ODD = 0xFFFFFFFF


def _fold_one_to_one(text: str):
    """(``analysis.fold(text)``, the positions of the characters that folding changed, ascending) when
    every character of ``text`` is in the BMP and folds to exactly one character (the usual case:
    folded with a table lookup in numpy, ten times faster than ``str.translate``); else None."""
    import numpy as np

    if not text:
        return text, np.zeros(0, dtype=np.int64)
    lut = _fold_lut()
    pieces, changed = [], []
    for lo in range(0, len(text), WINDOW):  # (a window at a time: a big speech's arrays stay small)
        raw = np.frombuffer(text[lo : lo + WINDOW].encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if int(raw.max()) >= 0x10000:
            return None
        folded = lut[raw]
        if int(folded.max()) == _ODD:
            return None
        pieces.append(folded.tobytes().decode("utf-32-le", "surrogatepass"))
        changed.append(np.flatnonzero(folded != raw) + lo)
    return "".join(pieces), np.concatenate(changed)


def _pack_patches(count: int, one_to_one: bool, deltas: bytes, chars: str | bytes) -> bytes:
    if isinstance(chars, str):
        chars = chars.encode(_TEXT_CODEC, "surrogatepass")
    return zlib.compress(struct.pack("<IB", count, one_to_one) + deltas + chars, 1)


def _patches(body: str, changed=None) -> bytes:
    """The original characters of ``body`` that folding changed, with their positions
    (delta-encoded), compressed: about 1 KB per speech, a tenth of the zlib'd body. A flag
    says whether every one of them folded to exactly one character (the usual case).
    ``changed``: those positions when ``body`` folds one to one (``_fold_one_to_one``)."""
    if changed is not None:
        import numpy as np

        deltas = np.diff(changed, prepend=0).astype(np.uint32).tobytes()
        # The changed chars as UTF-16-LE (all in the BMP), a window of the body at a time (a big
        # speech may have a million: no str or int object each).
        units = bytearray()
        cuts = np.searchsorted(changed, range(0, len(body) + WINDOW, WINDOW)).tolist()
        for w, lo in enumerate(range(0, len(body), WINDOW)):
            raw = np.frombuffer(body[lo : lo + WINDOW].encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            units += raw[changed[cuts[w] : cuts[w + 1]] - lo].astype("<u2").tobytes()
        return _pack_patches(len(changed), True, deltas, bytes(units))
    pattern, table = _changed_chars()
    pos = array("I")
    chars = []
    last = 0
    for m in pattern.finditer(body):
        c = m.group()
        if c >= "\U00010000" and table.get(ord(c), c) == c:
            continue
        i = m.start()
        pos.append(i - last)
        last = i
        chars.append(c)
    one_to_one = all(len(table[ord(c)]) == 1 for c in set(chars))
    return _pack_patches(len(pos), one_to_one, pos.tobytes(), "".join(chars))


def _unfold(folded_body: str, patches: bytes) -> str:
    """The original body from its folded form and ``_patches(body)``."""
    raw = zlib.decompress(patches)
    n, one_to_one = struct.unpack_from("<IB", raw)
    if not n:
        return folded_body
    pos = array("I")
    pos.frombytes(raw[5 : 5 + 4 * n])
    chars = raw[5 + 4 * n :].decode(_TEXT_CODEC, "surrogatepass")
    if one_to_one:  # same positions in both: put the originals back in place
        buf = list(folded_body)
        deque(map(buf.__setitem__, accumulate(pos), chars), 0)
        return "".join(buf)
    fold = analysis.fold
    out = []
    fpos = opos = 0
    for oi, ch in zip(accumulate(pos), chars):
        k = oi - opos
        out.append(folded_body[fpos : fpos + k])
        out.append(ch)
        fpos += k + len(fold(ch))
        opos = oi + 1
    out.append(folded_body[fpos:])
    return "".join(out)


def _record_from_doc(doc: IndexDoc) -> Record:
    body = doc.body  # a LazyDoc reads it from the build cache: once
    # The first len(_META_FIELDS) are also Whoosh stored fields; the rest live in the text store.
    meta = (
        doc.id,
        doc.url,
        doc.title,
        doc.date,
        int(doc.year),
        doc.meeting_type,
        tuple(doc.themes),
        doc.fingerprint,
        doc.speaker or "",
        doc.organization or "",
        heading_text(body, doc.headings),
    )
    fast = _fold_one_to_one(body)
    if fast is None:
        return meta, analysis.search_text(doc.title, body), _patches(body)
    # analysis.search_text(doc.title, body), with the body folded by _fold_one_to_one
    return meta, analysis.fold(doc.title) + analysis.SEPARATOR + fast[0], _patches(body, fast[1])


def analyse_doc(doc: IndexDoc) -> tuple[Record, Counter]:
    """Everything this index computes from one speech alone (the build calls it to find a
    speech that an update fails on)."""
    record = _record_from_doc(doc)
    record[1].encode(_TEXT_CODEC, "surrogatepass")
    pickle.dumps(record[0])
    return record, _grams(record[1])


def _store_name(segid: str) -> str:
    return f"gt_{segid}.bin"
