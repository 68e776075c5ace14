"""The private internals of Python-Markdown that markdown_compat relies on are still there and still
do what it assumes: this fails when an upgrade of the library changes them."""

from __future__ import annotations

import inspect

import markdown
from markdown.treeprocessors import InlineProcessor

from site_builder import markdown_compat, markup


def test_the_private_inline_method_exists_with_the_signature_overridden():
    assert markdown_compat.SUPPORTED, f"Python-Markdown {markdown.__version__} has no InlineProcessor.__handleInline"
    method = getattr(InlineProcessor, markdown_compat.HANDLE_INLINE)
    params = list(inspect.signature(method).parameters.values())
    assert [p.name for p in params] == ["self", "data", "patternIndex"]
    assert params[2].default == 0


def test_the_inline_processor_calls_the_private_method_for_each_text():
    calls = []

    class Spy(InlineProcessor):
        def _InlineProcessor__handleInline(self, data, patternIndex=0):
            calls.append((data, patternIndex))
            return getattr(InlineProcessor, markdown_compat.HANDLE_INLINE)(self, data, patternIndex)

    md = markdown.Markdown()
    md.treeprocessors.register(Spy(md), "inline", 20)
    assert md.convert("纯中文段落。\n\n要*突出*重点") == "<p>纯中文段落。</p>\n<p>要<em>突出</em>重点</p>"
    assert ("纯中文段落。", 0) in calls  # the override sees the whole text, from the first pattern


def test_the_renderer_uses_the_short_cut_and_renders_like_the_stock_processor():
    fast = markup.Renderer()
    assert type(fast._md.treeprocessors["inline"]) is markdown_compat.FastInlineProcessor
    plain = markup.Renderer()
    plain._md.treeprocessors.register(InlineProcessor(plain._md), "inline", 20)
    for text in ("纯中文，没有标记。", "要**强调**重点", "行末  \n下一行", "[链接](http://a.b)"):
        assert fast.render(text) == plain.render(text), text


def test_the_short_cut_is_installed_only_on_exactly_the_known_patterns():
    md = markdown.Markdown()
    names = frozenset(item.name for item in md.inlinePatterns._priority)  # the test may look inside
    assert markdown_compat.has_exactly(md.inlinePatterns, names)
    assert not markdown_compat.has_exactly(md.inlinePatterns, names - {"link"})
    assert not markdown_compat.has_exactly(md.inlinePatterns, names | {"other"})
    assert not markdown_compat.install_fast_inline(md, names | {"other"})
    assert type(md.treeprocessors["inline"]) is InlineProcessor
    assert markdown_compat.install_fast_inline(md, names)
    assert type(md.treeprocessors["inline"]) is markdown_compat.FastInlineProcessor
