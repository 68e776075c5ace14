"""Reading text files: UTF-8 (with or without BOM, CRLF or LF), and naming other encodings; the
encoding of texts stored in the build cache (``encode_texts``, ``decode_text``)."""

from __future__ import annotations

import codecs


class EncodingProblem(ValueError):
    """The bytes are not UTF-8; ``guess`` names the likely encoding (or None), ``line`` the first bad line."""

    def __init__(self, guess: str | None, line: int):
        self.guess = guess
        self.line = line
        super().__init__(f"not UTF-8 (looks like {guess})" if guess else "not UTF-8 (unknown encoding)")

    def hint(self, path: str) -> str:
        source = self.guess or "<encoding>"
        return f"convert it with: iconv -f {source} -t UTF-8 '{path}' > tmp && mv tmp '{path}'"


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def guess_encoding(data: bytes) -> str | None:
    """Name the encoding of non-UTF-8 bytes: GB18030 for Chinese legacy files, else charset-normalizer's guess."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
        non_ascii = sum(1 for ch in text if ord(ch) > 127)
        if non_ascii and cjk / non_ascii > 0.6:
            return "GB18030"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # a detector failure must not hide the real problem
        best = None
    return best.encoding.upper().replace("_", "-") if best else None


def decode_utf8(data: bytes) -> str:
    """Decode UTF-8 (BOM allowed), normalise newlines; raise EncodingProblem otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise EncodingProblem(guess_encoding(data), line) from None
    return _normalise_newlines(text)


def decode_any(data: bytes) -> tuple[str, str]:
    """Decode UTF-8, UTF-16 (with BOM) or GB18030/GBK; return (text, encoding used)."""
    if data.startswith(codecs.BOM_UTF8):
        return _normalise_newlines(data[3:].decode("utf-8", errors="strict")), "UTF-8 (BOM)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _normalise_newlines(data.decode("utf-16")), "UTF-16"
    try:
        return _normalise_newlines(data.decode("utf-8")), "UTF-8"
    except UnicodeDecodeError:
        pass
    guess = guess_encoding(data)
    if guess:
        try:
            return _normalise_newlines(data.decode(guess)), guess
        except (UnicodeDecodeError, LookupError):
            pass
    line = 1
    raise EncodingProblem(guess, line)


#: the codec byte stored before texts (``encode_texts``)
UTF16, UTF8 = 2, 1
_STORED = {UTF16: ("utf-16-le", "strict"), UTF8: ("utf-8", "surrogatepass")}


def encode_texts(*texts: str) -> tuple[int, list[bytes]]:
    """(codec byte, the texts encoded) for storing, all in one codec (#15): UTF-16-LE (a Chinese
    character in 2 bytes, not 3, and decoded faster), or, when a text holds a lone surrogate (two
    lone halves would come back from UTF-16 as one character), UTF-8 with its surrogates kept."""
    try:
        return UTF16, [t.encode("utf-16-le") for t in texts]
    except UnicodeEncodeError:
        return UTF8, [t.encode("utf-8", "surrogatepass") for t in texts]


def decode_text(codec: int, raw: bytes) -> str:
    """A text ``encode_texts`` encoded with ``codec``."""
    if codec not in _STORED:
        raise ValueError(f"a stored text of an unknown codec ({codec})")
    return raw.decode(*_STORED[codec])
