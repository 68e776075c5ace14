"""docs/architecture.md names every module of the package, and no module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "site_builder"
DOC = REPO / "docs" / "architecture.md"


def _tree() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```\nsite_builder/\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md: the module tree in a ``` block starting with site_builder/"
    return block.group(1)


def _listed() -> set[str]:
    """Paths named in the tree, from its indentation: 'importer/' then '  layout.py' → importer/layout.py."""
    out: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in _tree().splitlines():
        m = re.match(r"^( *)(\S+)", line)
        if not m:
            continue
        indent, name = len(m.group(1)), m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        prefix = "".join(p for _, p in stack)
        if name.endswith("/"):
            stack.append((indent, name))
        elif name.endswith(".py"):
            out.add(prefix + name)
    return out


def _modules() -> set[str]:
    return {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and "__pycache__" not in p.parts
    }


def test_every_module_is_in_the_architecture_doc():
    missing = _modules() - _listed()
    assert not missing, f"docs/architecture.md does not name: {sorted(missing)}"


def test_the_architecture_doc_names_no_missing_module():
    gone = _listed() - _modules()
    assert not gone, f"docs/architecture.md names modules that do not exist: {sorted(gone)}"
