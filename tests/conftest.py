"""Shared fixtures: a throwaway site per test, written from inline strings."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from site_builder.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"


def speech(title="在2020年度党建工作会议上的讲话", date="2020-03-05", meeting_type="工作会议",
           themes=("党风廉政建设",), body="同志们：\n\n## 一、总体要求\n\n要如履薄冰，恪尽职守。\n", **extra) -> str:
    """A speech file's text (front matter + body)."""
    lines = ["---", f"title: {title}", f"date: {date}", f"meeting_type: {meeting_type}",
             "themes: [" + ", ".join(themes) + "]"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n---\n" + textwrap.dedent(body)


class Site:
    """A tiny project folder: content/, optional pyproject.toml; build and read output."""

    def __init__(self, root: Path):
        self.root = root
        self.content = root / "content"
        self.output = root / "output"
        self.content.mkdir(parents=True, exist_ok=True)

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def config(self, toml: str) -> None:
        (self.root / "pyproject.toml").write_text("[tool.site_builder]\n" + textwrap.dedent(toml), encoding="utf-8")

    def run(self, *args: str, capsys=None) -> int:
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return cli_main(list(args))
        finally:
            os.chdir(cwd)

    def page(self, rel: str) -> str:
        return (self.output / rel).read_text(encoding="utf-8")

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.output).as_posix(): p.read_bytes()
                for p in sorted(self.output.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path) -> Site:
    return Site(tmp_path / "site")


@pytest.fixture
def make_site(tmp_path):
    counter = iter(range(1000))

    def make(files: dict[str, str] | None = None) -> Site:
        s = Site(tmp_path / f"site{next(counter)}")
        for rel, text in (files or {}).items():
            s.write(rel, text)
        return s

    return make
