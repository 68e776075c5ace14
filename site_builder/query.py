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

import unicodedata
from dataclasses import dataclass

from .analysis import fold, ignored

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
_QUOTES = {'"', "＂"}


class QueryError(ValueError):
    """A malformed query; ``str(err)`` is a message for the user."""

    def __init__(self, message: str, column: int | None = None):
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} (column {column})")


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
        return all(any(t in text for t in g) for g in self.groups) and not any(
            t in text for t in self.excluded
        )

    def to_json(self) -> dict:
        return {"groups": [list(g) for g in self.groups], "excluded": list(self.excluded)}


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
                raise QueryError("'-' must be followed by a term to exclude, e.g. -形式主义", start + 1)
            ch = raw[i]
        if ch in _QUOTES:
            end = next((j for j in range(i + 1, n) if raw[j] in _QUOTES), -1)
            if end < 0:
                raise QueryError('unclosed quote: add the closing " or remove the opening one', i + 1)
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
        raise QueryError("empty quoted phrase: put words between the quotes", tok.column)
    return term


def parse(raw: str) -> Query:
    """Parse a query; raise QueryError with a message a user can act on."""
    if not isinstance(raw, str):
        raise QueryError("the query must be text")
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is too long ({len(raw)} characters; at most {MAX_QUERY_CHARS})")
    tokens = _tokenize(_clean(raw))
    if not tokens:
        raise QueryError("the query is empty: type a word or phrase to search for")
    groups: list[list[str]] = []
    excluded: list[str] = []
    pending_or = False
    for k, tok in enumerate(tokens):
        if _is_or(tok):
            if not groups or pending_or or k == len(tokens) - 1:
                raise QueryError("OR needs a term on both sides, e.g. 党建 OR 廉政", tok.column)
            if tokens[k - 1].negated:
                raise QueryError("an excluded term (-…) cannot be part of OR", tok.column)
            pending_or = True
            continue
        term = _fold_term(tok)
        if tok.negated:
            if pending_or:
                raise QueryError("an excluded term (-…) cannot be part of OR", tok.column)
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    if len(excluded) + sum(len(g) for g in groups) > MAX_TERMS:
        raise QueryError(f"too many terms (at most {MAX_TERMS})")
    if not groups:
        raise QueryError("the query only excludes terms: add a term to search for")
    return Query(
        raw=raw,
        groups=tuple(tuple(dict.fromkeys(g)) for g in groups),
        excluded=tuple(dict.fromkeys(excluded)),
    )
