"""List numbering of a .docx: the visible number of each list paragraph, as Word shows it."""

from __future__ import annotations

import re

from .docx_styles import DocxStyles
from .docx_xml import to_int, w, wval


class DocxNumbering:
    """List numbering of one .docx (numbering.xml): the list definitions, and the counters as paragraphs use them."""

    def __init__(self, root, styles: DocxStyles):
        self.styles = styles
        self.abstract: dict[str, dict[int, dict]] = {}
        self.nums: dict[str, tuple[str, dict[int, dict]]] = {}
        self.num_style_link: dict[str, str] = {}
        self._load_numbering(root)
        self.counters: dict[str, dict[int, int]] = {}
        self.nums_seen: set[str] = set()
        self.bullets = 0

    def _load_numbering(self, root) -> None:
        if root is None:
            return
        for ab in root.iter(w("abstractNum")):
            aid = ab.get(w("abstractNumId"))
            self.abstract[aid] = {int(lvl.get(w("ilvl"), "0")): _level(lvl) for lvl in ab.findall(w("lvl"))}
            link = wval(ab.find(w("numStyleLink")))
            if link:
                self.num_style_link[aid] = link
        for num in root.iter(w("num")):
            nid = num.get(w("numId"))
            aid = wval(num.find(w("abstractNumId")))
            overrides: dict[int, dict] = {}
            for ov in num.findall(w("lvlOverride")):
                ilvl = int(ov.get(w("ilvl"), "0"))
                entry: dict = {}
                start = ov.find(w("startOverride"))
                if start is not None:
                    entry["start"] = to_int(wval(start)) or 0
                lvl = ov.find(w("lvl"))
                if lvl is not None:
                    entry["lvl"] = _level(lvl)
                overrides[ilvl] = entry
            if nid is not None and aid is not None:
                self.nums[nid] = (aid, overrides)

    def _resolve_abstract(self, aid: str) -> str:
        """An abstractNum that only links to a numbering style: follow it to the real definition."""
        for _ in range(5):
            link = self.num_style_link.get(aid)
            if not link or self.abstract.get(aid):
                return aid
            numpr = None
            for st in self.styles.style_chain(link):
                numpr = st.find(f"{w('pPr')}/{w('numPr')}")
                if numpr is not None:
                    break
            nid = wval(numpr.find(w("numId"))) if numpr is not None else None
            if nid not in self.nums:
                return aid
            aid = self.nums[nid][0]
        return aid

    def number_of(self, p) -> tuple[str, str] | None:
        """The visible list number of paragraph ``p`` (advancing the counters) and the separator after it."""
        if not self.nums:
            return None
        ppr = p.find(w("pPr"))
        numpr = ppr.find(w("numPr")) if ppr is not None else None
        nid = wval(numpr.find(w("numId"))) if numpr is not None else None
        ilvl = to_int(wval(numpr.find(w("ilvl")))) if numpr is not None else None
        sid = self.styles.pstyle(p)
        if nid is None:
            for st in self.styles.style_chain(sid):
                snum = st.find(f"{w('pPr')}/{w('numPr')}")
                if snum is not None and snum.find(w("numId")) is not None:
                    nid = wval(snum.find(w("numId")))
                    if ilvl is None:
                        ilvl = to_int(wval(snum.find(w("ilvl"))))
                    break
        if nid is None or nid == "0" or nid not in self.nums:
            return None
        aid, overrides = self.nums[nid]
        aid = self._resolve_abstract(aid)
        levels = dict(self.abstract.get(aid, {}))
        for k, entry in overrides.items():
            if "lvl" in entry:
                levels[k] = entry["lvl"]
        if ilvl is None:  # a style-linked list: the level whose pStyle is this style
            ilvl = next((k for k, lv in levels.items() if lv.get("pstyle") and lv["pstyle"] == sid), 0)
        if ilvl not in levels:
            return None
        counters = self.counters.setdefault(aid, {})
        if nid not in self.nums_seen:
            self.nums_seen.add(nid)
            for k, entry in overrides.items():
                if "start" in entry:
                    counters[k] = entry["start"] - 1
                elif "lvl" in entry and entry["lvl"].get("start") is not None:
                    counters[k] = entry["lvl"]["start"] - 1
        lv = levels[ilvl]
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else lv["start"]
        for k, deeper in levels.items():
            if k <= ilvl or k not in counters:
                continue
            restart = deeper.get("restart")
            if restart is None or (restart != 0 and ilvl < restart):
                del counters[k]
        if lv["fmt"] == "bullet":
            self.bullets += 1
            return None
        legal = lv.get("legal")

        def value(match: re.Match) -> str:
            k = int(match.group(1)) - 1
            other = levels.get(k)
            if other is None:
                return ""
            n = counters.get(k, other["start"])
            fmt = "decimal" if (legal and k != ilvl) else other["fmt"]
            return format_number(n, fmt)

        text = re.sub(r"%([1-9])", value, lv["text"] or "")
        if not text:
            return None
        suff = lv.get("suff") or "tab"
        sep = "" if suff == "nothing" else " " if suff == "space" else ("" if not text[-1].isascii() else " ")
        return text, sep


def _level(lvl) -> dict:
    restart = lvl.find(w("lvlRestart"))
    legal = lvl.find(w("isLgl"))
    return {
        "start": to_int(wval(lvl.find(w("start")))) if lvl.find(w("start")) is not None else 1,
        "fmt": wval(lvl.find(w("numFmt"))) or "decimal",
        "text": wval(lvl.find(w("lvlText"))) if lvl.find(w("lvlText")) is not None else None,
        "restart": to_int(wval(restart)) if restart is not None else None,
        "legal": legal is not None and wval(legal) not in ("0", "false", "off"),
        "suff": wval(lvl.find(w("suff"))),
        "pstyle": wval(lvl.find(w("pStyle"))),
    }


_CN_DIGITS = "〇一二三四五六七八九"
_CN_FORMAL_S = "零壹贰叁肆伍陆柒捌玖"
_CN_FORMAL_T = "零壹貳參肆伍陸柒捌玖"


def _chinese(n: int, digits: str = _CN_DIGITS, units: str = "十百千", zero: str = "零", formal: bool = False) -> str:
    """Chinese counting: 1 一, 10 十, 11 十一, 20 二十, 101 一百零一 (``formal``: 壹拾, not 拾)."""
    if n <= 0:
        return str(n)
    if n >= 10000:
        high, low = divmod(n, 10000)
        rest = _chinese(low, digits, units, zero, formal) if low else ""
        if low and low < 1000:
            rest = zero + rest
        return _chinese(high, digits, units, zero, formal) + "万" + rest
    out: list[str] = []
    pending_zero = False
    for power, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        d = (n // power) % 10
        if d == 0:
            if out:
                pending_zero = True
            continue
        if pending_zero:
            out.append(zero)
            pending_zero = False
        if power == 10 and d == 1 and not out and not formal:
            out.append(unit)
        else:
            out.append(digits[d] + unit)
    return "".join(out)


def _letters(n: int, base: str) -> str:
    if n <= 0:
        return str(n)
    return base[(n - 1) % 26] * ((n - 1) // 26 + 1)


def _roman(n: int) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = []
    for value, sym in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


def format_number(n: int, fmt: str) -> str:
    """A list counter as Word shows it for ``w:numFmt`` ``fmt``."""
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "taiwaneseCounting",
        "taiwaneseCountingThousand",
        "japaneseCounting",
        "koreanCounting",
    ):
        return _chinese(n)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand", "koreanDigital"):
        return "".join(_CN_DIGITS[int(d)] for d in str(n)) if n >= 0 else str(n)
    if fmt == "chineseLegalSimplified":
        return _chinese(n, _CN_FORMAL_S, "拾佰仟", formal=True)
    if fmt in ("ideographLegalTraditional", "japaneseLegal"):
        return _chinese(n, _CN_FORMAL_T, "拾佰仟", formal=True)
    if fmt == "ideographTraditional":
        return "甲乙丙丁戊己庚辛壬癸"[(n - 1) % 10] if n > 0 else str(n)
    if fmt == "ideographZodiac":
        return "子丑寅卯辰巳午未申酉戌亥"[(n - 1) % 12] if n > 0 else str(n)
    if fmt == "ideographEnclosedCircle" and 1 <= n <= 10:
        return chr(0x3220 + n - 1)
    if fmt in ("decimalFullWidth", "decimalFullWidth2"):
        return "".join(chr(0xFF10 + int(d)) for d in str(n))
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese"):
        if 1 <= n <= 20:
            return chr(0x2460 + n - 1)
        if 21 <= n <= 35:
            return chr(0x3251 + n - 21)
        if 36 <= n <= 50:
            return chr(0x32B1 + n - 36)
        return str(n)
    if fmt == "decimalEnclosedParen":
        return chr(0x2474 + n - 1) if 1 <= n <= 20 else f"({n})"
    if fmt == "decimalEnclosedFullstop":
        return chr(0x2488 + n - 1) if 1 <= n <= 20 else f"{n}."
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "upperLetter":
        return _letters(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if fmt == "lowerLetter":
        return _letters(n, "abcdefghijklmnopqrstuvwxyz")
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "none":
        return ""
    if fmt == "ordinal":
        return f"{n}."
    return str(n)
