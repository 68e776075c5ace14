"""The query language, shared by ``site-builder search``, the server's API and the browser.

Syntax (documented in the README, "How search works"):

* ``党建 廉政``        both terms must occur (AND); whitespace includes the full-width space;
* ``"从严 治党"``      a quoted phrase, spaces included, occurs as typed (full-width ＂ works too);
* ``-形式主义``        the speech must not contain the term (also ``-"…"``);
* ``党建 OR 廉政``     either term (``OR`` in capitals); OR binds tighter than AND, so
  ``A B OR C`` means A AND (B OR C).

Every term is matched literally, as a substring, after ``analysis.fold``.
``Query.matches(search_text)`` is the definition of a hit; the indexes only make it fast.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from .analysis import fold, ignored

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
_QUOTES = {'"', "＂"}


class QueryError(ValueError):
    """A malformed query. ``message`` is for the reader (Chinese; the browser's parser in search.js
    gives the same text), ``code`` a stable name for programs (``/api/search`` answers
    ``{"error": {"code", "message"}}``), ``column`` the 1-based character where it went wrong."""

    def __init__(self, message: str, column: int | None = None, code: str = "bad_query"):
        self.message = message
        self.column = column
        self.code = code
        super().__init__(message if column is None else f"{message}（第 {column} 个字符）")


#: code → message of every QueryError (``{n}``: the query's length or the limit).
MESSAGES = {
    "not_text": "查询必须是文字",
    "too_long": "查询太长（{n} 个字符，最多 {limit} 个）",
    "empty": "查询为空：请输入要查找的词语",
    "dangling_minus": "“-”后面要紧跟要排除的词，例如 -形式主义",
    "unclosed_quote": "引号没有配对：请补上后引号，或删去前引号",
    "empty_phrase": "引号里没有内容：请在引号中输入词语",
    "or_operand": "OR 两边都要有词语，例如 党建 OR 廉政",
    "or_excluded": "排除的词（-…）不能用在 OR 中",
    "too_many_terms": "词语太多（最多 {limit} 个）",
    "only_excluded": "查询只有要排除的词：请加上要查找的词",
}


def _error(code: str, column: int | None = None, **values) -> QueryError:
    return QueryError(MESSAGES[code].format(**values), column, code)


@dataclass(frozen=True)
class Query:
    raw: str
    groups: tuple[tuple[str, ...], ...]  # AND of OR-groups of folded terms
    excluded: tuple[str, ...]  # folded terms that must not occur

    @property
    def terms(self) -> tuple[str, ...]:
        """The positive terms, in order, without repeats (what excerpts highlight)."""
        return tuple(dict.fromkeys(t for g in self.groups for t in g))

    def matches(self, text: str) -> bool:
        """Whether a folded search text is a hit: the definition every index must agree with."""
        return all(any(t in text for t in g) for g in self.groups) and not any(t in text for t in self.excluded)

    def to_json(self) -> dict:
        return {"groups": [list(g) for g in self.groups], "excluded": list(self.excluded)}

    def despaced(self) -> Query | None:
        """The query with the spaces inside its phrases taken out (``"从严 治党"`` → ``"从严治党"``),
        or None when no phrase has one: a query that finds nothing is tried again this way."""
        if not any(" " in t for g in self.groups for t in g):
            return None
        groups = tuple(tuple(dict.fromkeys(t.replace(" ", "") for t in g)) for g in self.groups)
        q = replace(self, groups=groups)
        return replace(q, raw=q.to_text())

    def to_text(self) -> str:
        """A query string that parses to this query (terms quoted where they need it)."""

        def term(t: str) -> str:
            return f'"{t}"' if " " in t or t in ("or", "OR") or t[:1] in "-－" else t

        parts = [" OR ".join(term(t) for t in g) for g in self.groups]
        parts += ["-" + term(t) for t in self.excluded]
        return " ".join(parts)


@dataclass
class _Token:
    text: str
    column: int  # 1-based
    quoted: bool
    negated: bool


def _clean(raw: str) -> str:
    # Control characters other than whitespace cannot be typed meaningfully; drop them so
    # a query can never contain analysis.SEPARATOR. Characters that fold to nothing (zero-width,
    # direction marks) go too, so that one alone between spaces is not an empty term.
    drop = ignored()
    return "".join(ch for ch in raw if ch.isspace() or (unicodedata.category(ch) != "Cc" and ch not in drop))


def _tokenize(raw: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        negated = False
        if ch in "-－":
            negated = True
            i += 1
            if i >= n or raw[i].isspace():
                raise _error("dangling_minus", start + 1)
            ch = raw[i]
        if ch in _QUOTES:
            end = next((j for j in range(i + 1, n) if raw[j] in _QUOTES), -1)
            if end < 0:
                raise _error("unclosed_quote", i + 1)
            tokens.append(_Token(raw[i + 1 : end], start + 1, True, negated))
            i = end + 1
            continue
        j = i
        while j < n and not raw[j].isspace() and raw[j] not in _QUOTES:
            j += 1
        tokens.append(_Token(raw[i:j], start + 1, False, negated))
        i = j
    return tokens


def _is_or(tok: _Token) -> bool:
    return not tok.quoted and not tok.negated and unicodedata.normalize("NFKC", tok.text) == "OR"


def _fold_term(tok: _Token) -> str:
    term = " ".join(fold(tok.text).split())
    if not term:
        raise _error("empty_phrase", tok.column)
    return term


def parse(raw: str) -> Query:
    """Parse a query; raise QueryError with a message a user can act on."""
    if not isinstance(raw, str):
        raise _error("not_text")
    if len(raw) > MAX_QUERY_CHARS:
        raise _error("too_long", n=len(raw), limit=MAX_QUERY_CHARS)
    tokens = _tokenize(_clean(raw))
    if not tokens:
        raise _error("empty")
    groups: list[list[str]] = []
    excluded: list[str] = []
    pending_or = False
    for k, tok in enumerate(tokens):
        if _is_or(tok):
            if not groups or pending_or or k == len(tokens) - 1:
                raise _error("or_operand", tok.column)
            if tokens[k - 1].negated:
                raise _error("or_excluded", tok.column)
            pending_or = True
            continue
        term = _fold_term(tok)
        if tok.negated:
            if pending_or:
                raise _error("or_excluded", tok.column)
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    if len(excluded) + sum(len(g) for g in groups) > MAX_TERMS:
        raise _error("too_many_terms", limit=MAX_TERMS)
    if not groups:
        raise _error("only_excluded")
    return Query(
        raw=raw,
        groups=tuple(tuple(dict.fromkeys(g)) for g in groups),
        excluded=tuple(dict.fromkeys(excluded)),
    )


class FilterError(ValueError):
    """A filter value that cannot be read (``code``: ``bad_year``, ``bad_sort`` …; Chinese ``message``)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


_YEAR = re.compile(r"(\d{4})(?:\s*[-–—~至到]\s*(\d{4}))?")


def parse_year(year) -> tuple[int, int] | None:
    """``2020`` or ``2018-2020`` (also ``2018至2020``, full-width digits) → (first, last), None for
    nothing; the one reading of the year filter (CLI, ``/api/search``; search.js ports it)."""
    if year is None:
        return None
    raw = unicodedata.normalize("NFKC", str(year)).strip()
    if raw == "":
        return None
    m = _YEAR.fullmatch(raw)
    if not m:
        raise FilterError(f"年份应写成 2020 或 2018-2020 这样的形式，而不是“{year}”", "bad_year")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if lo > hi:
        raise FilterError(f"年份范围“{year}”前大后小：请先写较早的年份，如 {hi}-{lo}", "bad_year")
    return lo, hi
