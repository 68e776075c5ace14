"""Modules a newcomer can hold (#12): no module of site_builder/ over 500 lines, no function over 80."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "site_builder"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    found = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(found) > 50, "the package's modules were not found"
    return found


def _long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    tree = ast.parse(source)
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_module_is_over_500_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them along their seams): {long}"


def test_no_function_is_over_80_lines():
    long = {
        f"{p.relative_to(PACKAGE)}:{name}": n
        for p in _modules()
        for name, n in _long_functions(p.read_text(encoding="utf-8"), MAX_FUNCTION_LINES)
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_checks_find_what_they_look_for():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert _long_functions(f"def f():\n{body}\n", MAX_FUNCTION_LINES) == [("f", MAX_FUNCTION_LINES + 1)]
    assert _long_functions(f"async def g():\n{body}\n", MAX_FUNCTION_LINES + 1) == []


def _calls(source: str) -> set[str]:
    """Dotted names called in ``source`` (``os.replace``, ``multiprocessing.get_context`` …)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            parts, f = [], node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                names.add(".".join([f.id, *reversed(parts)]))
    return names


# One way to do each thing (#12): files are replaced by fileio, worker processes started by workers.
ONE_WAY = {
    "os.replace": "fileio.py",
    "os.rename": "fileio.py",
    "multiprocessing.get_context": "workers.py",
    "multiprocessing.Pool": "workers.py",
    "ProcessPoolExecutor": "workers.py",
}


def test_files_are_replaced_and_workers_started_one_way():
    strays = {
        f"{p.relative_to(PACKAGE)}: {name}"
        for p in _modules()
        for name in _calls(p.read_text(encoding="utf-8"))
        if name in ONE_WAY and p.name != ONE_WAY[name]
    }
    assert not strays, f"use fileio.write_atomic/atomic_open and workers.process_pool/mp_context instead: {strays}"


def test_the_call_finder_sees_dotted_calls():
    assert {"os.replace", "multiprocessing.get_context", "ProcessPoolExecutor"} <= _calls(
        "import os\nos.replace(a, b)\nmultiprocessing.get_context('fork')\nProcessPoolExecutor(2)\n"
    )
