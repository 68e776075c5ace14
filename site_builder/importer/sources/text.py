"""Plain text: which encoding a file is in, and how much a decoding looks like Chinese text.

How the encoding is chosen, and why not by a library alone: see the package docstring.
"""

from __future__ import annotations

import codecs
import logging
import unicodedata
from functools import lru_cache

from ...textio import guess_encoding
from .base import SourceError

logger = logging.getLogger(__name__)

_CJK_PUNCT = set("，。、；：？！“”‘’（）《》〈〉【】「」『』〔〕—…·～·　")


@lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """Chinese characters in everyday use: all of GB2312 plus Big5's 常用字 (A440–C67E), from the codecs' own tables."""
    chars: set[str] = set()
    for b1 in range(0xB0, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(bytes((b1, b2)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for b1 in range(0xA4, 0xC7):
        for b2 in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            if b1 == 0xC6 and b2 > 0x7E:
                break
            try:
                chars.add(bytes((b1, b2)).decode("cp950"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


def plausibility(text: str, sample: int = 200_000) -> float:
    """How much ``text`` looks like Chinese (or plain) text: about 1.0 for a right decoding, lower for a wrong one."""
    text = text[:sample]
    if not text:
        return 0.0
    common = _common_hanzi()
    total = 0.0
    for ch in text:
        o = ord(ch)
        if o < 128:
            total += 1.0 if (ch.isprintable() or ch in "\t\n\r\f") else -2.0
        elif (
            ch in common or ch in _CJK_PUNCT or 0xFF01 <= o <= 0xFF5E or 0x2010 <= o <= 0x206F or 0x3000 <= o <= 0x303F
        ):
            total += 1.0
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            total += 0.3
        elif 0xA0 <= o <= 0x24F:
            total += 0.8
        elif 0xE000 <= o <= 0xF8FF or o == 0xFFFD or unicodedata.category(ch) in ("Cc", "Cn", "Cs", "Co"):
            total -= 2.0
        else:
            total += 0.1
    return total / len(text)


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode plain text; return (text with \\n line ends, encoding name for messages) or raise SourceError."""
    text, encoding = decode_bytes(data, name)
    text = normalise_newlines(text)
    controls = sum(1 for ch in text[:200_000] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\f\v\x1a")
    if controls > max(3, len(text[:200_000]) // 200):
        raise SourceError(
            f"{name}: 看起来不是文本文件 (looks like a binary file, not text); 请导入 .txt/.docx/.html/.md/.pdf 文件 (import a text file)"
        )
    if not text.strip():
        raise SourceError(f"{name}: 文件里没有文字 (the file has no text); 请确认文件内容 (check the file)")
    return text, encoding


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    for bom, codec, label in (
        (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (BOM)"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec), label
            except UnicodeDecodeError as err:
                line = data[: err.start].count(b"\n") + 1
                raise SourceError(
                    f"{name}: 开头标明是 {label}，但第 {line} 行附近的字节不是 {label} (starts with a {label} BOM but is not valid {label} near line {line});"
                    f" 请用记事本或 VS Code 以正确编码打开后另存为 UTF-8 (re-save it as UTF-8)"
                ) from None
    if b"\x00" in data:
        utf16 = _decode_utf16_without_bom(data)
        if utf16 is not None:
            return utf16, "UTF-16"
        raise SourceError(
            f"{name}: 含有零字节，不是文本文件 (contains NUL bytes: a binary file, not text); 请导入 .txt/.docx/.html/.md/.pdf 文件 (import a text file)"
        )
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[float, int, str, str]] = []
    for order, (codec, label) in enumerate((("gb18030", "GB18030"), ("cp950", "Big5"), ("big5hkscs", "Big5"))):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        candidates.append((plausibility(text), -order, text, label))
    if candidates:
        score, _, text, label = max(candidates, key=lambda c: (round(c[0], 2), c[1]))
        if score >= 0.75:
            return text, label
    guess = None
    try:
        guess = guess_encoding(data)
    except Exception:
        logger.debug("guessing the encoding failed", exc_info=True)
        guess = None
    if guess and guess not in ("GB18030", "UTF-16"):
        try:
            guessed: str | None = data.decode(guess)
        except (UnicodeDecodeError, LookupError):
            guessed = None
        if guessed is not None and plausibility(guessed) >= 0.75:
            return guessed, guess
    raise SourceError(
        f"{name}: 无法判断文字编码 (cannot tell the encoding{f', perhaps {guess}' if guess else ''});"
        f" 请用记事本或 VS Code 打开并另存为 UTF-8 再导入 (re-save it as UTF-8 and import that)"
    )


def _decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without BOM, recognised by its NUL bytes (the high byte of ASCII characters) on one side."""
    if len(data) % 2:
        data = data[:-1] if data[-1:] == b"\x00" else data
        if len(data) % 2:
            return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    best = None
    for codec, nuls, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls == 0 or other > 4 * nuls:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        score = plausibility(text)
        if score >= 0.75 and (best is None or score > best[0]):
            best = (score, text)
    return best[1] if best else None
