"""The wire format of the in-browser search index: every file under ``output/search/`` that
``static/search.js`` (and ``passage.js``, ``compare.js``) reads, and the codecs both sides share.

This docstring is the specification search.js implements; keep the two in step.

The browser computes exactly the hit set of ``query.parse(q).matches(analysis.search_text(...))``:
every file is derived from ``analysis`` and the browser re-implements ``query.parse`` and
``analysis.fold`` (tests compare both with Python in Chromium).

Every file is a classic script ``__ssLoad("<name>", <json>)`` so that it loads from ``file://`` too
(where fetch/XHR are blocked) and under a CSP that allows only the site's own scripts.

Names and generations. Below, a file is given by its *name* (``k/12``, ``t/3/779``); on disk
and in URLs every file but ``meta.js`` is ``<name>.<tag>.js``, where the tag (``TAG_CHARS`` hex
digits) is a digest of the file's bytes (of all fold shards, for ``f/`` and ``r/``): a file never changes once written, and a build writes a new generation beside
the old one, sharing every file that did not change. ``meta.js`` is the one file replaced in place,
last, so a build killed at any moment leaves the browser the old generation or the new one, never
a mixture; the files only the old generation names are removed after it. The tags:

``meta.files``
    ``{"facets": tag, "fold": tag of every f/ and r/ file, "m/k<g>" | "m/p<g>" | "m/t<g>": tag}``
``m/k<g>.js``, ``m/p<g>.js``, ``m/d<g>.js`` (manifests, ``g = bucket >> 8``)
    ``{"d": tags of buckets 256 g … 256 g + 255 one after the other, "x": {hex: tag}}``: ``x``,
    the tags of the long postings (``k/x/<hex>``) of keys whose bucket is in the group.
``m/t<g>.js`` (``g = N // 256``, the text files' directory)
    ``{"d": the tags of the text files of docs 256 g …, one after the other}``.

The browser loads ``meta.js`` uncached over http (``?t=``); every other URL names its content.

Format 6 (5 had no ``d/``: a query read the pairs' char-and-pair buckets ``k/``, ``kn/`` for
their document frequencies alone; a trigram bucket had a space between key and posting). Format 5
(4 had two text files a doc, buckets as JSON objects, power-of-two bucket counts and
fold shards of 256 code points). ``N`` = doc number: docs are ordered by (date, id), so year filters are ranges and newer
speeches are appended at the end. ``h`` = CRC-32 of the key's UTF-16-LE code units. Numbers are
VLQ in base 64 (``A``–``Z a``–``z 0``–``9 + /``, 5 bits per char, 32 = "more follows"). A key's
bucket: shard ``h & (P-1)``, then ``(h >> log2 P) % count`` among that shard's buckets,
numbered shard after shard (``meta.kbs``/``pbs``: bucket count per shard, sized to the shard's
short postings: ``bucket_count``). A bucket is one JSON string ``"key posting key posting …"``
(its keys in code point order, a space after each key and each posting; no key has a space and a
posting is base 64), the posting of a key in its own file being ``-df``; in ``k/`` and ``kn/`` that
string is deflated (raw deflate in base 64, inflated by ``DecompressionStream``; one stream, in ``k/``
written as pieces of a few keys that refer to no other piece: ``pieces``). In ``p/`` and
``pn/`` a key (always three code points) is followed by its posting directly, without the space:
``"abcposting abcposting …"``. Offsets are
offsets in ``analysis.search_text`` (folded title, separator, folded body), so an offset below
the doc's title length is in the title.

``meta.js``
    counts, vocabularies, the list of fold shards, ``files`` (above) and ``ver``, a digest of all
    other files.
``facets.js``
    per doc (VLQ each): meeting type << 1 | 1 if its date (``date_key``) is the doc before's,
    folded title length, folded body length (``len(analysis.fold(body))``: the ranking's ``len``
    and the trend's characters), number of themes, themes, speaker and organisation (1 + their
    index in ``meta.speakers``/``meta.orgs``, 0 for none).
``f/<block>.js``
    the fold table (``data/fold.json``) for code points ``block << FOLD_BITS …``: the browser folds
    the query.
``r/<block>.js``
    the same table by what a character folds to: every char whose fold has a character of code
    points ``block << FOLD_BITS …`` (``meta.rfold`` lists the blocks, ``meta.ign`` the chars that fold to
    nothing). A speech page folds its text with the shards of the query's characters only
    (static/passage.js): a character outside them cannot be part of a match.
``k/<bucket>.js`` (and ``k/x/<hex>.js``, a JSON string, for a posting longer than ``BIG``: the
    bucket then gives ``-df``, minus the number of docs in it)
    doc-level postings of every char and adjacent pair (``analysis.grams``): per doc
    ``vlq((doc gap - 1) << 3 | heading << 2 | title << 1 | body != 1)``, then ``vlq(body)`` if
    body != 1, then ``vlq(title - 1)`` if title: ``body`` and ``title`` are the key's counts in the
    folded body and title (exact), ``heading`` says it occurs in a heading line of the body
    (``IndexDoc.headings``). Terms of one or two characters are exact; so are their occurrences
    and the ranking's tf (a pair of one character twice, 层层, is corrected with the trigram 层层层).
``kn/<bucket>.js``, ``pn/<bucket>.js`` (and ``kn/x/``, ``pn/x/``), the tail
    the postings of ``k/`` and ``p/`` (below) for the newest docs, ``meta.tail`` … ``N - 1`` (``tail_start``), laid out by
    ``meta.knbs``/``pnbs``; ``k/`` and ``p/`` (the base) hold the docs before. A key's posting is
    the base's followed by the tail's, which starts again from doc -1 (its first gap is the doc's
    number). Adding a newest doc changes the tail's files only, except when ``tail_start`` moves
    (every ``tail_step`` docs), when both are written afresh.
``p/<bucket>.js`` (and ``p/x/<hex>.js``)
    positions of every trigram: per doc ``vlq((doc gap - 1) << 2 | kind)``, kind 0: one position,
    1: two, 2: ``3 + vlq`` positions, 3: ``1 + vlq`` positions of which some are in heading lines,
    given next as ``vlq(h) vlq(i0) vlq(i1 - i0 - 1) …`` (h indices into the positions); then the
    positions ``vlq(o0) vlq(o1 - o0 - 1) …``. A term of three or more characters occurs at ``o``
    iff each trigram of a cover of the term (offsets 0, 3, 6, …, n-3) occurs at ``o + offset``:
    exact, and only those trigrams are fetched (and the pairs' ``d/`` buckets, for the ranking's ``n``).
``d/<bucket>.js``
    the document frequency of every adjacent pair (two code points) of the whole index, base and
    tail together, that more than one doc has: ``df(g)`` of the ranking's ``n(t)`` for terms of
    three or more characters, so that such a query reads no ``k/`` or ``kn/`` bucket. One string
    ``"ab<vlq df>cd<vlq df>…"`` (keys in code point order, no separators: a key is two code points,
    a VLQ ends itself), deflated like ``k/``; one shard of ``meta.dbs[0]`` buckets (``Layout``:
    ``h % count``, sized by ``D_TARGET``). A pair that is not there is in one doc or none: a term
    with a hit has every pair in some doc, so its ``df`` is then 1 (a term without hits scores
    nothing). Written whole at every build (files that did not change keep their names).
``t/<N // 256>/<N>.js``
    the speech's card ``[title, url, date, meeting type]``, its body text compressed (``z``: raw
    deflate in base 64, inflated by the browser's ``DecompressionStream``), the fold of each
    character of title and body that folding changes (``f``): excerpts, quoted phrases, KWIC; and
    ``h``, the numbers of its heading lines (0-based), when it has any. One file a speech (format 4
    cut it in two: twice the files).
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import zlib
from itertools import accumulate
from pathlib import Path

from . import pieces

FORMAT = 6  # 4: files named by their content (tags), manifests; 5: fewer, larger files; 6: d/ (#15)
TAG_CHARS = 10  # hex digits of a file's tag
GROUP = 256  # buckets (text files: docs) per manifest
BIG = 36864  # a posting longer than this (chars) gets its own file
BUCKET_TARGET = 36864  # aim for bucket files of about this many chars (#15: fewer files)
K_TARGET = 46080  # k/ (chars and pairs): 1.25 x, a query of three or more characters reads d/ instead
D_TARGET = 6144  # d/ (pairs' document frequencies): a query reads one a pair
T_DIR = 256  # text files: docs per directory
PREFIXES = ("k", "p", "kn", "pn", "d")  # postings: the base's chars and pairs, trigrams; the tail's; pairs' dfs
TAIL_MIN = 16  # the newest docs' postings: see ``tail_start``
TAIL_SHARE = 64
TAIL_DIV = 4
FOLD_BITS = 11  # a fold shard holds code points (block << FOLD_BITS) … (#15: 631 → 118 files)

ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def vlq(n: int) -> str:
    """Unsigned VLQ in base 64, least significant 5 bits first."""
    out = []
    while n >= 32:
        out.append(ALPHA[32 | (n & 31)])
        n >>= 5
    out.append(ALPHA[n])
    return "".join(out)


def _small_vlqs() -> list[str]:
    """``vlq(i)`` for i < 2**15, made a digit at a time (the same strings, in a quarter of the time:
    the child that updates the indexes imports this module in every build)."""
    last, more = ALPHA[:32], ALPHA[32:]  # a number's last char; the chars before it
    return [*last, *(a + b for b in last[1:] for a in more), *(a + b + c for c in last[1:] for b in more for a in more)]


_VLQ_SMALL = _small_vlqs()
_VLQ_TOKEN = re.compile(r"[g-z0-9+/]*[A-Za-f]")  # one VLQ number (continuation chars, last char)


def cached_vlq(n: int) -> str:
    return _VLQ_SMALL[n] if n < 32768 else vlq(n)


def _unvlq(token: str) -> int:
    n = 0
    for i, ch in enumerate(token):
        n |= (ALPHA.index(ch) & 31) << (5 * i)
    return n


_TOKEN_VALUE = dict(zip(_VLQ_SMALL, range(len(_VLQ_SMALL))))


# A posting longer than this is split into its numbers with numpy (``_tokens``): 2.5-4x faster on
# long postings, slower on short ones (its fixed cost); the numbers are the same either way.
_NUMPY_TOKENS = 256
_NUMPY_HEADS = 1024  # (and its entries' heads: ``heads``; 257-600 chars: 144 µs with numpy, 97 walked)
_CHAR_VALUE = bytes(ALPHA.index(chr(b)) if chr(b) in ALPHA else 255 for b in range(256))


def _tokens(posting: str) -> tuple[list[int], list]:
    """The VLQ numbers of a posting: (where each starts, and the posting's end, in chars; their
    values). ValueError for a posting that is not all VLQ numbers."""
    if len(posting) > _NUMPY_TOKENS:
        return _tokens_numpy(posting)
    toks = _VLQ_TOKEN.findall(posting)
    get = _TOKEN_VALUE.get
    vals = [get(t) for t in toks]
    if None in vals:
        vals = [v if v is not None else _unvlq(t) for t, v in zip(toks, vals)]
    offs = [0, *accumulate(map(len, toks))]
    if offs[-1] != len(posting):
        raise ValueError("a posting with characters that are not VLQ numbers")
    return offs, vals


def _tokens_numpy(posting: str) -> tuple[list[int], list[int]]:
    offs, vals = token_arrays(posting)
    return offs.tolist(), vals.tolist()


def token_arrays(posting: str):
    """``_tokens`` as numpy arrays (int64): the numbers' offsets (and the end), their values."""
    import numpy as np  # (the static index's stages import it anyway)

    try:
        raw = posting.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("a posting with characters that are not VLQ numbers") from None
    v = np.frombuffer(raw.translate(_CHAR_VALUE), np.uint8)
    ends = np.flatnonzero(v < 32)  # a number's last char (the others have the 32 bit: more follows)
    if (v == 255).any() or not len(ends) or ends[-1] != len(raw) - 1:
        raise ValueError("a posting with characters that are not VLQ numbers")
    offs = np.zeros(len(ends) + 1, np.int64)
    offs[1:] = ends + 1
    lens = np.diff(offs)
    if lens.max() == 1:  # (every number one char)
        return offs, v.astype(np.int64)
    if lens.max() > 12:  # (more than 60 bits)
        raise ValueError("a number too long in a posting")
    digit = np.arange(len(raw)) - np.repeat(offs[:-1], lens)  # a char's place in its number
    return offs, np.add.reduceat((v & 31).astype(np.int64) << (5 * digit), offs[:-1])


def khash(key: str) -> int:
    """CRC-32 of the key's UTF-16-LE code units (search.js computes the same)."""
    return zlib.crc32(key.encode("utf-16-le"))


def hexname(key: str) -> str:
    return "-".join(f"{ord(c):x}" for c in key)


def tail_step(n: int) -> int:
    """The tail's granularity for ``n`` docs: a power of two, about ``n / TAIL_SHARE`` (at least
    ``TAIL_MIN``)."""
    return max(TAIL_MIN, pow2_at_least(n / TAIL_SHARE))


def tail_start(n: int) -> int:
    """The first doc whose postings are in the tail (``kn/``, ``pn/``) rather than the base (``k/``,
    ``p/``): ``n`` rounded down to a multiple of ``tail_step(n)``, so that adding a newest doc
    changes the tail's files only, but every ``tail_step`` docs (and when the step doubles)."""
    return n - n % tail_step(n)


def pow2_at_least(n: float) -> int:
    b = 1
    while b < n:
        b *= 2
    return b


def json_text(data) -> str:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # U+2028/9 are fine in JSON but not in older JS string literals; escape them anyway.
    return body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def js_file(name: str, body: str) -> bytes:
    return f"__ssLoad({json.dumps(name)},{body});\n".encode()


def bucket_string(postings: dict, prefix: str) -> str:
    """A bucket's string: its keys in order (``sorted``) each followed by a space (none in ``p/``,
    ``pn/``: a trigram is three code points) and its posting (``-df``, minus the number of its docs,
    for a posting in its own file ``x/<hex>``), entries separated by a space (no key has a space; a
    posting is base 64)."""
    sep = "" if prefix[0] == "p" else " "
    return " ".join(f"{k}{sep}{postings[k]}" for k in sorted(postings))


def bucket_body(postings: dict, prefix: str) -> str:
    """A bucket's data (``bucket_string``, deflated for ``k/`` and ``kn/``: ``bucket_text``)."""
    return bucket_text(bucket_string(postings, prefix), prefix)


def d_body(dfs: dict) -> str:
    """A ``d/`` bucket from {pair: df} (pairs with ``df`` over 1): ``"ab<vlq df>…"``, deflated."""
    return bucket_text("".join(k + vlq(dfs[k]) for k in sorted(dfs)), "d")


def parse_d(data: str) -> dict:
    """{pair: df} of a ``d/`` bucket's data (``d_body``)."""
    text = zlib.decompressobj(-15).decompress(base64.b64decode(data)).decode("utf-8")
    out = {}
    i = 0
    while i < len(text):
        m = _VLQ_TOKEN.match(text, i + 2)
        if m is None:
            raise ValueError("d/ bucket: no VLQ after a pair")
        out[text[i : i + 2]] = _unvlq(m.group())
        i = m.end()
    return out


def bucket_text(text: str, prefix: str) -> str:
    """A bucket's data from its string: as it is (``p/``, ``pn/``: positions do not compress), or
    raw deflate in base 64 (``k/``, ``kn/``: 29 % smaller; ``k/`` a piece of a few keys at a time,
    ``pieces``; ``kn/``, ``d/`` whole), at zlib's default level and memory (``pieces.DEFLATE``): level 9
    took 2.1x the CPU for buckets 0.05 % larger (500 ``k/`` buckets at 10,000 speeches: 3.80 s for
    10,460,556 bytes, level 6 1.80 s for 10,455,695)."""
    if prefix == "k":
        return json_text(pieces.deflate(text)[0])
    if prefix[0] in "kd":
        co = zlib.compressobj(*pieces.DEFLATE)
        text = base64.b64encode(co.compress(text.encode("utf-8")) + co.flush()).decode("ascii")
    return json_text(text)


def parse_bucket(data: str, prefix: str) -> dict:
    """{key: posting or -df} of a bucket's data (``bucket_body``)."""
    return parse_bucket_text(pieces.inflate(data)[0] if prefix[0] == "k" else data, prefix)


def parse_bucket_text(data: str, prefix: str) -> dict:
    """{key: posting or -df} of a bucket's string (inflated)."""
    if prefix[0] == "p":  # "abcposting abcposting …"
        parts = [x for e in (data.split(" ") if data else []) for x in (e[:3], e[3:])]
    else:
        parts = data.split(" ") if data else []
    return {k: (int(v) if v[:1] == "-" else v) for k, v in zip(parts[::2], parts[1::2])}


# Bucket counts: round(2 ** (i / 4)), steps of about 19 % (a count changes rarely as an index grows:
# a changed count means the shard is written afresh), deduplicated.
_COUNTS = sorted({round(2 ** (i / 4)) for i in range(4 * 31)})


def bucket_count(short: int, prefix: str = "k") -> int:
    """Buckets of a shard of ``prefix`` whose short postings (key + posting chars) add up to
    ``short``: the smallest of ``_COUNTS`` at least ``short / BUCKET_TARGET`` (the tail's buckets
    are ``TAIL_DIV`` times smaller: a query reads a bucket of each)."""
    target = {"k": K_TARGET, "d": D_TARGET}.get(prefix[0], BUCKET_TARGET)
    need = short / (target // TAIL_DIV if prefix.endswith("n") else target)
    return _COUNTS[bisect.bisect_left(_COUNTS, need)] if need > 1 else 1


class Layout:
    """Where a key's bucket is: shard ``h & (P-1)``, then ``(h >> log2 P) % count`` among
    that shard's buckets; buckets are numbered shard after shard."""

    def __init__(self, counts: list[int]):
        self.counts = list(counts)
        self.offsets = list(accumulate(self.counts, initial=0))
        self.bits = len(self.counts).bit_length() - 1

    def bucket(self, key: str) -> int:
        h = khash(key)
        s = h & (len(self.counts) - 1)
        return self.offsets[s] + (h >> self.bits) % self.counts[s]

    def shard(self, bucket: int) -> int:
        return bisect.bisect_right(self.offsets, bucket) - 1


def x_file(prefix: str, key: str, posting: str) -> tuple[str, bytes]:
    name = f"{prefix}/x/{hexname(key)}"
    return name, js_file(name, json.dumps(posting))


def file_name(name: str, tag: str) -> str:
    """The file (relative to search/) that holds ``name`` with this tag: ``meta.js`` or ``<name>.<tag>.js``."""
    return "meta.js" if name == "meta" else f"{name}.{tag}.js"


def unhex(hexname_: str) -> str:
    """The key of a long posting's file name (``hexname``)."""
    return "".join(chr(int(h, 16)) for h in hexname_.split("-"))


def read_js(path: Path):
    return parse_js(path.read_bytes(), path)


def parse_js(data: bytes, where: object = "index file"):
    """The data of an index file (``__ssLoad("<name>",<data>);``)."""
    text = data.decode("utf-8")
    start = text.index('",') + 2  # after __ssLoad("<name>",
    if not text.endswith(");\n"):
        raise ValueError(f"{where}: not an index file")
    return json.loads(text[start:-3])


# A long posting (own file) keeps checkpoints in the state: every CK-th entry's char offset and
# the doc before it, so that a change decodes only the entries around it.
CK = 64


def k_code(body: int, title: int, heading: int) -> int:
    return body << 9 | min(title, 255) << 1 | heading


def _entry_end(kind: str, vals: list, i: int) -> int:
    """The token after the entry that starts at token ``i``: the one copy of the entries' length
    rules (k: the head, then the body and title counts its bits announce; p: the head, the count
    unless the kind gives it, the heading indices for kind 3, the positions)."""
    x = vals[i]
    if kind == "k":
        return i + 1 + (x & 1) + ((x >> 1) & 1)
    c = x & 3
    return i + 2 + c if c < 2 else (i + 5 + vals[i + 1] if c == 2 else i + 4 + vals[i + 1] + vals[i + 2])


def _decode(kind: str, posting: str, offs: list[int], vals: list, i: int, n: int, prev: int) -> list:
    """The entries of the numbers ``i`` … ``n`` of ``posting`` (``_tokens``; the first one's previous
    doc is ``prev``)."""
    out: list = []
    while i < n:
        x, end = vals[i], _entry_end(kind, vals, i)
        if kind == "k":
            prev += (x >> 3) + 1
            body = vals[i + 1] if x & 1 else 1
            title = vals[i + 1 + (x & 1)] + 1 if x & 2 else 0
            out.append((prev, k_code(body, title, (x >> 2) & 1)))
        else:
            prev += (x >> 2) + 1
            c = x & 3
            count = c + 1 if c < 2 else (3 if c == 2 else 1) + vals[i + 1]
            out.append((prev, (count, int(c == 3), posting[offs[i + 1 + (c >= 2)] : offs[end]])))
        i = end
    return out


def decode_entries(kind: str, posting: str, start: int, end: int, prev: int) -> list:
    """Entries of ``posting[start:end]`` (starting at an entry whose previous doc is ``prev``):
    [(doc, code)] for k, [(doc, (count, in a heading, encoded heading indices and positions))] for p."""
    part = posting[start:end]
    offs, vals = _tokens(part)
    return _decode(kind, part, offs, vals, 0, len(vals), prev)


def entries_around(kind: str, posting: str, lo: int, hi: int) -> tuple[int, int, int, list]:
    """The chars of a posting that hold its entries of docs ``lo`` … ``hi`` and the entry after them
    (whose gap is from the doc before it), and those entries: (start, end, the doc before start,
    ``decode_entries`` of that span). The posting is tokenized once; before and after the span only
    the entries' first values are looked at."""
    if not posting:
        return 0, 0, -1, []
    if len(posting) > _NUMPY_HEADS and lo <= hi:  # (its entries' heads found with numpy, not walked here)
        from .heads import entries_around_numpy

        return entries_around_numpy(kind, posting, lo, hi)
    offs, vals = _tokens(posting)
    n, shift = len(vals), 3 if kind == "k" else 2
    i, prev = 0, -1
    first, before = n, -1
    while i < n:
        doc = prev + (vals[i] >> shift) + 1
        if first == n and doc >= lo:
            first, before = i, prev
        i, prev = _entry_end(kind, vals, i), doc
        if doc > hi:
            break
    if first == n:
        before = prev
    if i > n:
        raise ValueError("a posting cut short in an entry")
    return offs[first], offs[i], before, _decode(kind, posting, offs, vals, first, i, before)


def encode_entries(kind: str, entries: list, prev: int) -> list[str]:
    parts = []
    v = cached_vlq
    if kind == "k":
        for d, code in entries:
            body, title, heading = code >> 9, (code >> 1) & 255, code & 1
            head = ((d - prev - 1) << 3) | heading << 2 | (title > 0) << 1 | (body != 1)
            parts.append(v(head) + (v(body) if body != 1 else "") + (v(title - 1) if title else ""))
            prev = d
    else:
        for d, (c, h, enc) in entries:
            gap = (d - prev - 1) << 2
            if h:
                parts.append(v(gap | 3) + v(c - 1) + enc)
            elif c <= 2:
                parts.append(v(gap | (c - 1)) + enc)
            else:
                parts.append(v(gap | 2) + v(c - 3) + enc)
            prev = d
    return parts
