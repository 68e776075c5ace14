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


def _patches(body: str) -> bytes:
    """The original characters of ``body`` that folding changed, with their positions
    (delta-encoded), compressed: about 1 KB per speech, a tenth of the zlib'd body. A flag
    says whether every one of them folded to exactly one character (the usual case)."""
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
    return zlib.compress(
        struct.pack("<IB", len(pos), one_to_one) + pos.tobytes() + "".join(chars).encode(_TEXT_CODEC, "surrogatepass"),
        1,
    )


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
        heading_text(doc.body, doc.headings),
    )
    folded = analysis.search_text(doc.title, doc.body)
    return meta, folded, _patches(doc.body)


def analyse_doc(doc: IndexDoc) -> tuple[Record, Counter]:
    """Everything this index computes from one speech alone (the build calls it to find a
    speech that an update fails on)."""
    record = _record_from_doc(doc)
    record[1].encode(_TEXT_CODEC, "surrogatepass")
    pickle.dumps(record[0])
    return record, _grams(record[1])


def _store_name(segid: str) -> str:
    return f"gt_{segid}.bin"
