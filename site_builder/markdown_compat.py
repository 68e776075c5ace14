"""Python-Markdown's private internals: the only module that touches them.

Python-Markdown spends half of its time on a speech in its inline processor, which tries every
inline pattern on every text of the tree, although the usual Chinese paragraph contains none of the
characters those patterns need. Its per-text method is private (``InlineProcessor.__handleInline``,
a name-mangled method), so the short cut below overrides it. Should a release of Python-Markdown
rename or change it, ``SUPPORTED`` is false and the stock processor is used (slower, same output);
tests/test_markdown_compat.py fails so that someone looks.
"""

from __future__ import annotations

import re

import markdown
from markdown.treeprocessors import InlineProcessor

#: The mangled name of the private method overridden here.
HANDLE_INLINE = "_InlineProcessor__handleInline"
#: True when the installed Python-Markdown has the private method this module relies on.
SUPPORTED = callable(getattr(InlineProcessor, HANDLE_INLINE, None))

# Every inline pattern of markup's configuration needs one of these to match: a backslash,
# backtick, [, !, <, & or an emphasis mark, or the line break "two spaces, newline".
INLINE_TRIGGER = re.compile(r"[\\`\[!<&*_]|  \n")


class FastInlineProcessor(InlineProcessor):
    """Python-Markdown's inline processor, returning at once a text in which no inline pattern
    can match (no trigger character): the stock one would try every pattern on it and give it
    back unchanged."""

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if patternIndex == 0 and not INLINE_TRIGGER.search(data):
            return data
        handle = getattr(InlineProcessor, HANDLE_INLINE)
        result: str = handle(self, data, patternIndex)
        return result


def has_exactly(registry: markdown.util.Registry, names: frozenset[str]) -> bool:
    """True when ``registry`` holds the items named ``names`` and no other (public API only)."""
    return len(registry) == len(names) and all(name in registry for name in names)


def install_fast_inline(md: markdown.Markdown, patterns: frozenset[str]) -> bool:
    """Put ``FastInlineProcessor`` in place of ``md``'s inline processor, only when the installed
    library supports it and ``md`` has exactly ``patterns`` (those whose trigger characters are
    known); return whether it was installed."""
    if not SUPPORTED or not has_exactly(md.inlinePatterns, patterns):
        return False
    md.treeprocessors.register(FastInlineProcessor(md), "inline", 20)
    return True
