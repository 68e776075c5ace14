"""The comparison itself: sentences, their alignment, the character diffs (see the package)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from diff_match_patch import diff_match_patch

#: A sentence ends after a run of these (at least one of END, then any of END and CLOSE).
END = frozenset("。！？；\n")
CLOSE = frozenset("”’」』）)】》")
PAIR_MIN = 0.4  # Dice similarity of two sentences' character pairs to diff them character by character
MAX_PAIRS = 400_000  # sentence pairs compared in one changed region at most (about 630 × 630)
CHAR_TIMEOUT = 2.0  # seconds diff-match-patch may spend on one pair of sentences
_BMP_GAP = 0x800  # sentence codes skip the surrogates D800–DFFF (JavaScript strings are UTF-16)


# -- the comparison ---------------------------------------------------------------------------


@dataclass
class Chunk:
    op: str  # equal, insert, delete, replace
    a: str
    b: str

    def as_dict(self) -> dict:
        return {"op": self.op, "a": self.a, "b": self.b}


@dataclass
class Comparison:
    """``blocks``: ("same", text) for runs of identical sentences, ("changed", [Chunk]) for each
    changed region (what the side-by-side views show as rows); ``chunks`` the same, flattened."""

    a: str
    b: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)  # ('same', str) | ('changed', [Chunk])

    @cached_property
    def chunks(self) -> list[Chunk]:  # (read once the blocks are complete)
        flat: list[Chunk] = []
        for kind, value in self.blocks:
            flat.extend([Chunk("equal", value, value)] if kind == "same" else value)
        return normalise(flat)

    @property
    def same_chars(self) -> int:
        return sum(len(c.a) for c in self.chunks if c.op == "equal")

    @property
    def similarity(self) -> float:
        total = len(self.a) + len(self.b)
        return 1.0 if total == 0 else 2 * self.same_chars / total

    def counts(self) -> dict:
        chunks = self.chunks
        return {
            "same": sum(len(c.a) for c in chunks if c.op == "equal"),
            "deleted": sum(len(c.a) for c in chunks if c.op != "equal"),
            "inserted": sum(len(c.b) for c in chunks if c.op != "equal"),
        }


def sentences(text: str) -> list[str]:
    """The text cut after each run of sentence ends; the pieces join to the text."""
    out = []
    start = i = 0
    n = len(text)
    while i < n:
        if text[i] in END:
            j = i + 1
            while j < n and (text[j] in END or text[j] in CLOSE):
                j += 1
            out.append(text[start:j])
            start = i = j
        else:
            i += 1
    if start < n:
        out.append(text[start:])
    return out


def _op(a: str, b: str) -> str:
    return "replace" if a and b else "delete" if a else "insert"


def normalise(chunks: list[Chunk]) -> list[Chunk]:
    """Empty chunks dropped, neighbours of the same kind (equal / not equal) merged."""
    out: list[Chunk] = []
    for c in chunks:
        if not c.a and not c.b:
            continue
        equal = c.op == "equal"
        if out and (out[-1].op == "equal") == equal:
            last = out[-1]
            a, b = last.a + c.a, last.b + c.b
            out[-1] = Chunk("equal" if equal else _op(a, b), a, b)
        else:
            out.append(Chunk("equal", c.a, c.a) if equal else Chunk(_op(c.a, c.b), c.a, c.b))
    return out


def _pairs(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _dice(x: set, y: set) -> float:
    small, big = (x, y) if len(x) <= len(y) else (y, x)
    inter = 0
    for p in small:
        if p in big:
            inter += 1
    return 2 * inter / (len(x) + len(y))


def align(dels: list[str], inss: list[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of similar sentences, in order, maximising the summed similarity."""
    m, n = len(dels), len(inss)
    if not m or not n or m * n > MAX_PAIRS:
        return []
    dp_sets = [_pairs(s) for s in dels]
    ip_sets = [_pairs(s) for s in inss]
    dl = [len(s) for s in dp_sets]
    il = [len(s) for s in ip_sets]
    sim = [[0.0] * n for _ in range(m)]
    for i in range(m):
        row, x, lx = sim[i], dp_sets[i], dl[i]
        for j in range(n):
            ly = il[j]
            # Dice ≤ 2·min / (sum): skip pairs that cannot reach PAIR_MIN.
            if lx + ly == 0 or 2 * min(lx, ly) < PAIR_MIN * (lx + ly):
                continue
            row[j] = _dice(x, ip_sets[j])
    best = [[0.0] * (n + 1) for _ in range(m + 1)]
    for i in range(1, m + 1):
        prev, cur, srow = best[i - 1], best[i], sim[i - 1]
        for j in range(1, n + 1):
            v = prev[j] if prev[j] >= cur[j - 1] else cur[j - 1]
            s = srow[j - 1]
            if s >= PAIR_MIN and prev[j - 1] + s > v:
                v = prev[j - 1] + s
            cur[j] = v
    out = []
    i, j = m, n
    while i > 0 and j > 0:
        s = sim[i - 1][j - 1]
        if s >= PAIR_MIN and best[i][j] == best[i - 1][j - 1] + s:
            out.append((i - 1, j - 1))
            i -= 1
            j -= 1
        elif best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            j -= 1
    out.reverse()
    return out


def _dmp(timeout: float = CHAR_TIMEOUT) -> diff_match_patch:
    d = diff_match_patch()
    d.Diff_Timeout = timeout
    return d


def char_chunks(a: str, b: str, dmp: diff_match_patch | None = None) -> list[Chunk]:
    """Character-level differences of two sentences (semantic clean-up applied)."""
    dmp = dmp or _dmp()
    diffs = dmp.diff_main(a, b, False)
    dmp.diff_cleanupSemantic(diffs)
    out = []
    for op, text in diffs:
        if op == 0:
            out.append(Chunk("equal", text, text))
        elif op < 0:
            out.append(Chunk("delete", text, ""))
        else:
            out.append(Chunk("insert", "", text))
    return normalise(out)


def peeled(a: str, b: str) -> list[Chunk]:
    """Unpaired sentences replaced: their common start and end (a 我们, a ！ and a line break)
    stay equal."""
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    n -= p
    q = 0
    while q < n and a[-1 - q] == b[-1 - q]:
        q += 1
    return [
        Chunk("equal", a[:p], a[:p]),
        Chunk("replace", a[p : len(a) - q], b[p : len(b) - q]),
        Chunk("equal", a[len(a) - q :], a[len(a) - q :]),
    ]


def _region(dels: list[str], inss: list[str], dmp: diff_match_patch) -> list[Chunk]:
    out: list[Chunk] = []
    di = ij = 0
    for i, j in align(dels, inss):
        out.extend(peeled("".join(dels[di:i]), "".join(inss[ij:j])))
        out.extend(char_chunks(dels[i], inss[j], dmp))
        di, ij = i + 1, j + 1
    out.extend(peeled("".join(dels[di:]), "".join(inss[ij:])))
    return normalise(out)


def compare_texts(a: str, b: str) -> Comparison:
    """The differences between two plain texts (see the module docstring)."""
    sa, sb = sentences(a), sentences(b)
    codes: dict[str, str] = {}

    def encode(parts: list[str]) -> str:
        out = []
        for s in parts:
            c = codes.get(s)
            if c is None:
                k = len(codes)
                c = codes[s] = chr(k if k < 0xD800 else k + _BMP_GAP)
            out.append(c)
        return "".join(out)

    ea, eb = encode(sa), encode(sb)
    dmp = _dmp()
    sentence_diffs = _dmp(0).diff_main(ea, eb, False)  # no time limit: one character per sentence
    result = Comparison(a, b)
    ia = ib = 0
    dels: list[str] = []
    inss: list[str] = []

    def flush() -> None:
        if dels or inss:
            result.blocks.append(("changed", _region(dels, inss, dmp)))
            dels.clear()
            inss.clear()

    for op, text in sentence_diffs:
        k = len(text)
        if op == 0:
            flush()
            result.blocks.append(("same", "".join(sa[ia : ia + k])))
            ia += k
            ib += k
        elif op < 0:
            dels.extend(sa[ia : ia + k])
            ia += k
        else:
            inss.extend(sb[ib : ib + k])
            ib += k
    flush()
    return result
