"""A package that installs: the sdist and the wheel built from a copy of the source carry the
default theme and the package data, and the wheel, installed into a fresh virtual environment,
builds the archive's seed speeches (content/) with its ``site-builder`` command.

Nothing is downloaded: the build uses this environment's setuptools (``--no-build-isolation``)
and the fresh environment borrows this one's dependencies (a .pth file) but not its site_builder.
``pipx install .`` builds the same wheel (pip, setuptools, the same hook).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

#: What a source tree holds that the build does not need (tests, benchmarks, content, state).
_NOT_SOURCE = {
    ".git",
    ".venv",
    "output",
    ".site_builder_cache",
    "build",
    "dist",
    "tests",
    "bench",
    "content",
    "docs",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
}


def _ignore(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == REPO
    return {
        n
        for n in names
        if n == "__pycache__" or n.endswith((".egg-info", ".pyc")) or (top and (n in _NOT_SOURCE or n.startswith(".")))
    }


def _run(*args, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    run = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs
    )
    assert run.returncode == 0, f"{args}: exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run


def _theme_files() -> list[str]:
    return sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "themes" / "default").rglob("*")
        if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in p.parts)
    )


@pytest.mark.slow
def test_the_wheel_installs_and_builds_the_seed_speeches(tmp_path):
    # 1. An sdist from a copy of the source tree, and the wheel from that sdist.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=_ignore)
    _run(sys.executable, "-c", "from setuptools import build_meta as b; print(b.build_sdist('dist'))", cwd=src)
    (sdist,) = (src / "dist").glob("site_builder-*.tar.gz")
    with tarfile.open(sdist) as tar:
        in_sdist = {"/".join(n.split("/")[1:]) for n in tar.getnames()}
    assert set(_theme_files()) <= in_sdist and "tools/build_hooks.py" in in_sdist
    unpacked = tmp_path / "unpacked"
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (tree,) = unpacked.iterdir()
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-q",
        "-w",
        tmp_path / "wheels",
        tree,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "wheels").glob("site_builder-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in _theme_files():  # themes/default/… → site_builder/themes/default/…
        assert "site_builder/" + rel in names, rel
    for data in (REPO / "site_builder" / "data").iterdir():
        assert f"site_builder/data/{data.name}" in names, data.name
    assert not [n for n in names if n.startswith(("tools/", "themes/", "tests/"))]  # nothing at the top level

    # 2. A fresh virtual environment: the wheel, and this environment's dependencies on a .pth line.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip()
    )
    (purelib / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path
    )
    where = _run(
        python,
        "-c",
        "import site_builder, site_builder.config as c; print(site_builder.__file__); print(c.PACKAGE_THEMES)",
        cwd=tmp_path,
    ).stdout.split()
    assert where[0].startswith(str(venv)) and where[1] == str(purelib / "site_builder" / "themes"), where

    # 3. The installed command builds a copy of content/ from a folder with no themes/ beside it.
    project = tmp_path / "archive"
    shutil.copytree(REPO / "content", project / "content")
    run = _run(
        venv / "bin" / "site-builder",
        "build",
        "--content",
        project / "content",
        "--output",
        tmp_path / "site",
        cwd=project,
    )
    assert "Built 2 speeches" in run.stderr + run.stdout, run.stderr + run.stdout
    for source in sorted((project / "content").rglob("*.md")):
        title = re.search(r"^title:\s*(.+)$", source.read_text(encoding="utf-8"), re.M)[1].strip().strip("'\"")
        page = tmp_path / "site" / "speeches" / source.parent.name / f"{source.stem}.html"
        assert page.is_file(), page
        assert f"<h1>{title}</h1>" in page.read_text(encoding="utf-8"), title
    assert (tmp_path / "site" / "static" / "style.css").read_bytes() == (
        REPO / "themes" / "default" / "static" / "style.css"
    ).read_bytes()
    assert (tmp_path / "site" / "search" / "index.html").is_file()
