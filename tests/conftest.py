"""Shared fixtures (a throwaway site per test, written from inline strings) and the suite's rules.

The rules, each enforced here so that a test breaking one fails:

* **Hermetic**: a test reads nothing beside the repository (no data folder beside it): every input lives in
  ``tests/fixtures/``. An audit hook refuses opening or listing a path in the folder that holds
  the repository unless it is inside the repository (or a temporary or system folder).
* **Deterministic**: with ``CI`` set, Hypothesis runs the ``ci`` profile (derandomised: the same
  examples on every run; a failure prints the blob that reproduces it).
* **Strict**: every skip prints its reason (``-rfEs`` in pyproject's addopts), and with ``CI`` set a
  skipped test is a failure: CI must run every test (``.ci/run`` installs what they need).
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from site_builder.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
#: The two real seed speeches (copies of the seed speeches the project started from; read-only).
SEEDS = FIXTURES / "import" / "seeds"


def ci() -> bool:
    """True when the environment says this is a CI run (CI=1, CI=true, ...; not CI=0/false/empty)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


# -- deterministic: Hypothesis ------------------------------------------------------------------
# "ci": the same examples on every run (derandomize), the blob that reproduces a failure printed,
# and nothing that depends on timing or on a database of earlier runs. Loaded when CI is set;
# otherwise "default" (Hypothesis itself would pick its own "ci" profile for any CI value, CI=0 too).
settings.register_profile(
    "ci", derandomize=True, print_blob=True, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if ci() else "default")


# -- hermetic: nothing beside the repository is read --------------------------------------------
class ReadOutsideRepository(AssertionError):
    """A test opened or listed a path beside the repository (e.g. a data folder next to it)."""


#: Node ids of tests whose purpose is to read beside the repository (none today; such a test
#: must skip when the folder is absent, which under CI fails).
READS_BESIDE_ALLOWED: set[str] = set()
_NEIGHBOURHOOD = str(REPO.parent).rstrip(os.sep) + os.sep
# Folders beside the repository that tests may use: the repository, and temporary and Python's
# own folders when they happen to lie there (not when they contain it: a clone in /tmp/x/ must
# still not read /tmp/x/shared).
_ALLOWED_ROOTS = tuple(
    sorted(
        r
        for r in {
            str(Path(p).resolve()).rstrip(os.sep) + os.sep
            for p in (REPO, tempfile.gettempdir(), sys.prefix, sys.base_prefix, sys.exec_prefix)
        }
        if not _NEIGHBOURHOOD.startswith(r)
    )
)
_current_test: list[str] = [""]  # node id of the test being run
reads_beside: dict[str, list[str]] = {}  # node id → paths it tried to read beside the repository


def _neighbours() -> frozenset[str]:
    try:
        return frozenset(n for n in os.listdir(REPO.parent) if n != REPO.name)
    except OSError:
        return frozenset()


#: What lay beside the repository when the tests started (data folders, other checkouts …).
_NEIGHBOURS = _neighbours()


def beside_repository(path: str) -> bool:
    """True for an absolute, normalised path in the repository's parent folder but outside the
    repository and outside temporary and system folders. When the repository itself lies in the
    temporary folder (a clone in /tmp), pytest's and tempfile's own folders beside it
    (``pytest-of-*``, ``tmp*``) are the tests' own, not neighbours."""
    path = path.rstrip(os.sep) + os.sep
    if not path.startswith(_NEIGHBOURHOOD) or path.startswith(_ALLOWED_ROOTS):
        return False
    first = path[len(_NEIGHBOURHOOD) :].split(os.sep, 1)[0]
    if first in _NEIGHBOURS:
        return not first.startswith(("pytest-of-", "tmp"))
    # Not there when the tests started: a temporary folder a test made (mkdtemp(prefix="sb-…"),
    # multiprocessing's pymp-…) is the test's own; a name that does not exist is a neighbour.
    return not os.path.exists(_NEIGHBOURHOOD + first)


def _audit(event: str, args: tuple) -> None:
    if event not in ("open", "os.listdir", "os.scandir"):
        return
    target = args[0] if args else None
    if isinstance(target, int) or target is None:
        return
    try:
        path = os.path.abspath(os.fsdecode(target))
    except (TypeError, ValueError, OSError):
        return
    if beside_repository(path) and _current_test[0] not in READS_BESIDE_ALLOWED:
        reads_beside.setdefault(_current_test[0], []).append(path)
        raise ReadOutsideRepository(
            f"a test read {path}, outside the repository: put what it needs in tests/fixtures/ (see tests/conftest.py)"
        )


sys.addaudithook(_audit)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _current_test[0] = item.nodeid
    try:
        yield
    finally:
        _current_test[0] = ""


# -- strict: a read beside the repository (even if swallowed), and under CI a skip, fail ---------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" and reads_beside.get(item.nodeid) and report.passed:
        report.outcome = "failed"
        report.longrepr = "read outside the repository (put the file in tests/fixtures/): " + ", ".join(
            sorted(set(reads_beside[item.nodeid]))
        )
    if report.skipped and not hasattr(report, "wasxfail") and ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI (CI={os.environ.get('CI')}), which must run every test: {reason}\n"
            "install what the test needs (.ci/run does on a fresh machine)"
        )


def speech(
    title="在2020年度党建工作会议上的讲话",
    date="2020-03-05",
    meeting_type="工作会议",
    themes=("党风廉政建设",),
    body="同志们：\n\n## 一、总体要求\n\n要如履薄冰，恪尽职守。\n",
    **extra,
) -> str:
    """A speech file's text (front matter + body)."""
    lines = [
        "---",
        f"title: {title}",
        f"date: {date}",
        f"meeting_type: {meeting_type}",
        "themes: [" + ", ".join(themes) + "]",
    ]
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
        return {
            p.relative_to(self.output).as_posix(): p.read_bytes() for p in sorted(self.output.rglob("*")) if p.is_file()
        }


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


def keyword_table(rows: list[dict[int, int]], vocab: list[str]):
    """A ``related_scores.Keywords`` table of rows of word number → count (numbers into ``vocab``)."""
    import numpy as np

    from site_builder import related_scores

    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    words = np.array([w for r in rows for w in r], dtype=np.int32)
    counts = np.array([c for r in rows for c in r.values()], dtype=np.uint32)
    return related_scores.Keywords(vocab, offsets, words, counts)
