"""What the main process of a build does whatever changed (#15): the fixed costs of a one-changed
build kept small without changing what it makes."""

from __future__ import annotations

import json
import subprocess
import sys

import markdown

from site_builder import markup


def _processors(md: markdown.Markdown) -> list:
    """Every registry of a converter: names and priorities, in order (what it does to a text)."""
    registries = {
        "pre": md.preprocessors,
        "block": md.parser.blockprocessors,
        "inline": md.inlinePatterns,
        "tree": md.treeprocessors,
        "post": md.postprocessors,
    }
    return [
        (kind, item.name, item.priority, type(registry[item.name]).__qualname__)
        for kind, registry in registries.items()
        for item in registry._priority
    ]


def test_the_converter_has_the_extensions_named_by_strings_in_the_same_order():
    """The extensions given as objects (no lookup among installed packages) make the converter
    that "extra", "sane_lists" and "toc" named by strings make: the same processors, in order."""
    by_name = markdown.Markdown(extensions=["extra", "sane_lists", "toc"], extension_configs=markup._EXTENSION_CONFIGS)
    made = markdown.Markdown(extensions=markup._extensions())
    assert _processors(made) == _processors(by_name)
    toc = made.treeprocessors["toc"]
    assert (toc.marker, toc.slugify, toc.toc_top, toc.toc_bottom) == ("", markup.slugify_unicode, 2, 4)
    text = (
        "# 一\n\n## 二\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n脚注[^1]\n\n[^1]: 注\n\n术语\n: 释义\n\n```\n代码\n```\n"
    )
    assert markup.Renderer().render(text).html == markup.Renderer().render(text).html  # (reset between documents)
    assert made.convert(text) == by_name.convert(text)


def test_a_converter_looks_up_no_installed_package():
    """Making the first converter of a process does not read every installed package's entry points
    (importlib.metadata: 0.035 s of every build that parses a speech)."""
    script = (
        "import json, sys\nfrom site_builder import markup\nmarkup.Renderer().render('同志们：')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "markdown.extensions.tables" in loaded  # (it did make one)
    assert "importlib.metadata" not in loaded
