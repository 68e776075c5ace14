"""Folding covers the variant characters of older official print and corner-bracket quotes, and
agrees with zhconv except for the deliberate differences the README lists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from site_builder.search.analysis import fold

REPO = Path(__file__).resolve().parents[1]
OLD_PRINT = REPO / "tests" / "fixtures" / "folding" / "old_print.txt"


@pytest.mark.parametrize(
    "variant, standard",
    [
        ("衞生", "卫生"),
        ("擧行", "举行"),
        ("貪汚", "贪污"),
        ("拚命", "拼命"),
        ("倣照", "仿照"),
        ("「預防為主」", "“预防为主”"),
        ("『除四害』", "‘除四害’"),
        ("羣衆", "群众"),
        ("黨建", "党建"),
    ],
)
def test_variants_of_old_print_fold_to_the_standard_characters(variant, standard):
    assert fold(variant) == fold(standard)


@pytest.mark.parametrize("kept", ["著作", "余下", "钟表", "咨询", "沈阳"])
def test_simplified_characters_of_their_own_are_not_folded_into_others(kept):
    assert fold(kept) == kept


def _zhconv_differences() -> dict[str, tuple[str, str]]:
    zhconv = pytest.importorskip("zhconv", reason="zhconv is a test dependency (pip install -e '.[test]')")
    table = json.loads((Path(zhconv.__file__).parent / "zhcdict.json").read_text(encoding="utf-8"))["zh2Hans"]
    return {k: (fold(k), fold(v)) for k, v in table.items() if len(k) == 1 and len(v) == 1 and fold(k) != fold(v)}


def test_old_print_fixture_folds_as_zhconv_converts_each_character():
    zhconv = pytest.importorskip("zhconv", reason="zhconv is a test dependency (pip install -e '.[test]')")
    text = OLD_PRINT.read_text(encoding="utf-8")
    assert "衞" in text and "擧" in text and "「" in text
    assert fold(text) == "".join(fold(zhconv.convert(c, "zh-cn")) for c in text)
    # Folding is per character: zhconv's phrase rules (存在著 → 存在着) are not followed.
    assert fold("存在著") != fold(zhconv.convert("存在著", "zh-cn"))


def test_readme_lists_exactly_the_differences_from_zhconv():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"deliberate differences\s+`([^`]+)`", readme)
    assert listed, "README: the list of deliberate differences from zhconv"
    assert set(listed.group(1).split()) == set(_zhconv_differences())
