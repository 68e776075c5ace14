"""urls.rel: computed from the two paths' parts (#15), the same answer as posixpath.relpath."""

from __future__ import annotations

import posixpath
import random
from urllib.parse import quote

import pytest

from site_builder.urls import _ESCAPED, rel

NAMES = ["a", "b", "speeches", "2020", "x y", "讲话", "index.html", "c.html", "", ".", ".."]


def _by_relpath(from_path: str, to_path: str) -> str:
    target = posixpath.relpath(to_path, posixpath.dirname(from_path) or ".")
    return _ESCAPED.sub(lambda m: quote(m.group(), safe=""), target)


@pytest.mark.parametrize(
    ("from_path", "to_path", "expected"),
    [
        ("all/page-2.html", "speeches/2020/讲话.html", "../speeches/2020/讲话.html"),
        ("index.html", "years/2020/index.html", "years/2020/index.html"),
        ("speeches/2020/a.html", "speeches/2020/b c.html", "b%20c.html"),
        ("speeches/2020/a.html", "speeches/2020/", "."),
        ("years/2020/index.html", "static/style.css", "../../static/style.css"),
    ],
)
def test_rel(from_path, to_path, expected):
    assert rel(from_path, to_path) == expected


def test_rel_is_relpath_for_any_paths():
    rng = random.Random(15)

    def path() -> str:
        return "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 4)))

    compared = 0
    for _ in range(20000):
        from_path, to_path = path(), path()
        try:
            expected = _by_relpath(from_path, to_path)
        except ValueError:
            with pytest.raises(ValueError):
                rel(from_path, to_path)
            continue
        assert rel(from_path, to_path) == expected, (from_path, to_path)
        compared += 1
    assert compared > 15000
