"""A ``k/`` bucket deflated a piece at a time, so that a patch deflates again only the
pieces whose keys changed (#15: a one-changed build at 10,000 speeches deflated about 130 whole
buckets of about 45 keys, for one or two changed keys in each).

The bucket's string (``"key posting key posting …"``, ``wire``) is cut before a key whose CRC-32 (of
its UTF-8 bytes) has its ``PIECE_BITS`` low bits 0 (about one key in four) once the piece holds
``MIN_PIECE`` chars: short pieces compress badly (pieces of four short postings made the tail's
``kn/`` buckets 78 % larger: they stay one stream, deflated whole, as ``d/``). Each piece is deflated by a compressor of its own (raw deflate, ``DEFLATE``), ended
by a sync flush (an empty stored block: the next piece starts on a byte), the last one by the
stream's end. The pieces one after the other are one raw deflate stream, which the browser inflates
as before (``DecompressionStream('deflate-raw')``); no piece refers back to another, so a piece's
bytes depend on its text alone, and where the cuts are on the keys alone: a bucket patched piece
by piece has the bytes of the same bucket written afresh (incremental = clean). At 10,000 speeches
(300 ``k/`` buckets of about 43,000 chars, 4.5 pieces a bucket) the pieces were 1.2 % smaller than
one stream: a bucket's postings are long, its keys unrelated; buckets of short postings 6.7 % larger
(measured on the tail's; a small archive's ``k/`` likely so, not measured).

A patch needs the old bucket's pieces as bytes: the length of each is kept in the state beside the
shard's checkpoints (``info``: the CRC-32 of the bucket's deflated bytes and the pieces' lengths);
``inflate`` takes them only when the CRC and the total length are the file's, each piece inflates
alone to a whole piece and the pieces are where ``cut`` puts them; otherwise every piece is
deflated again (the same bytes, more time).
"""

from __future__ import annotations

import base64
import zlib
from itertools import pairwise

DEFLATE = (6, zlib.DEFLATED, -15, 8)  # (level, method, window bits, memory level): raw deflate, zlib's defaults
PIECE_BITS = 2  # a key whose CRC-32 has this many low bits 0 starts a piece (about 1 in 4) …
MIN_PIECE = 4096  # … once the piece holds this many chars
_MASK = (1 << PIECE_BITS) - 1


def cut(text: str) -> list[str]:
    """The bucket string's pieces (one, possibly empty, at least): cut before every key that starts a
    piece (but in the first ``MIN_PIECE`` chars of one); joined, they are ``text``."""
    toks = text.split(" ")
    cuts = [0]
    pos = 0
    crc = zlib.crc32
    for i in range(0, len(toks) - 1, 2):
        key = toks[i]
        if pos - cuts[-1] >= MIN_PIECE and not crc(key.encode("utf-8")) & _MASK:
            cuts.append(pos)
        pos += len(key) + len(toks[i + 1]) + 2
    cuts.append(len(text))
    return [text[a:b] for a, b in pairwise(cuts)]


def deflate_one(piece: str, last: bool) -> bytes:
    co = zlib.compressobj(*DEFLATE)
    return co.compress(piece.encode("utf-8")) + co.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def deflate(text: str, reuse: dict | None = None) -> tuple[str, tuple[int, list[int]]]:
    """The bucket's data (base 64 of its pieces' raw deflate) and its ``info`` (CRC-32 of those
    bytes, each piece's length); a piece found in ``reuse`` ({(piece, whether last): bytes},
    ``inflate``'s) is taken from there, not deflated again."""
    pieces = cut(text)
    last = len(pieces) - 1
    out = []
    for j, piece in enumerate(pieces):
        got = reuse.get((piece, j == last)) if reuse else None
        out.append(got if got is not None else deflate_one(piece, j == last))
    raw = b"".join(out)
    return base64.b64encode(raw).decode("ascii"), (zlib.crc32(raw), [len(b) for b in out])


def inflate(data: str, info=None) -> tuple[str, dict]:
    """The bucket string of ``data`` (``deflate``'s) and, when ``info`` describes it, its pieces'
    bytes by (piece, whether last) for ``deflate``'s ``reuse`` ({} otherwise)."""
    raw = base64.b64decode(data)
    try:
        crc, lengths = info
        if crc != zlib.crc32(raw) or sum(lengths) != len(raw) or not lengths:
            raise ValueError
        texts: list[str] = []
        reuse: dict = {}
        at, last = 0, len(lengths) - 1
        for j, n in enumerate(lengths):
            piece = raw[at : at + n]
            at += n
            d = zlib.decompressobj(-15)
            text = d.decompress(piece).decode("utf-8")
            if d.unconsumed_tail or d.unused_data or d.eof != (j == last):
                raise ValueError
            texts.append(text)
            reuse[text, j == last] = piece
        whole = "".join(texts)
        if cut(whole) != texts:
            raise ValueError
        return whole, reuse
    except (TypeError, ValueError, zlib.error):  # (no info, or not this file's: inflated whole)
        return zlib.decompressobj(-15).decompress(raw).decode("utf-8"), {}
