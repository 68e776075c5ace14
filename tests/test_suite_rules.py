"""The rules tests/conftest.py enforces on the suite: hermetic (nothing read beside the
repository), deterministic (Hypothesis's ``ci`` profile under CI), strict (skips print their
reason; under CI a skip is a failure)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import conftest
import pytest
from conftest import REPO, SEEDS
from hypothesis import settings

SAMPLE = textwrap.dedent("""\
    import os
    import pytest
    from hypothesis import settings

    def test_skipped_in_the_body():
        pytest.skip("needs the moon")

    @pytest.mark.skipif(True, reason="no moon tonight")
    def test_skipped_by_a_mark():
        pass

    @pytest.fixture
    def moon():
        pytest.skip("the moon fixture is missing")

    def test_skipped_by_a_fixture(moon):
        pass

    def test_profile():
        print("derandomize =", settings.default.derandomize, "print_blob =", settings.default.print_blob)
    """)


def _pytest(tmp_path, ci: str | None) -> subprocess.CompletedProcess:
    """Run pytest with the project's configuration and tests/conftest.py on SAMPLE."""
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(REPO / "tests")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(REPO / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "-p",
            "conftest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-s",
            "test_sample.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("ci", [None, "0", "false"])
def test_skips_print_their_reason(tmp_path, ci):
    run = _pytest(tmp_path, ci)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 3 skipped" in run.stdout, run.stdout
    for reason in ("needs the moon", "no moon tonight", "the moon fixture is missing"):
        assert "SKIPPED [1] test_sample.py" in run.stdout and reason in run.stdout, (reason, run.stdout)
    assert "derandomize = False" in run.stdout


@pytest.mark.parametrize("ci", ["1", "true"])
def test_under_ci_a_skip_is_a_failure_and_hypothesis_is_derandomised(tmp_path, ci):
    run = _pytest(tmp_path, ci)
    assert run.returncode == 1, run.stdout + run.stderr
    # Skipped in the body: failed; by a mark or a fixture: an error in setup. The real test passes.
    assert "1 failed, 1 passed, 2 errors" in run.stdout, run.stdout
    assert run.stdout.count("skipped under CI") >= 3, run.stdout
    for reason in ("needs the moon", "no moon tonight", "the moon fixture is missing"):
        assert reason in run.stdout, (reason, run.stdout)
    assert "derandomize = True print_blob = True" in run.stdout, run.stdout


def test_this_run_uses_the_profile_its_environment_asks_for():
    assert settings.default.derandomize == conftest.ci()
    assert settings.get_profile("ci").derandomize and settings.get_profile("ci").print_blob


def test_reading_beside_the_repository_fails(request):
    # A folder beside the repository (as a neighbouring data folder would be); the audit hook
    # refuses the open and the listing before the system is asked, so it need not exist.
    beside = REPO.parent / "not-part-of-this-repository" / "seeds"
    try:
        with (
            pytest.raises(conftest.ReadOutsideRepository, match="outside the repository"),
            open(beside / "000_87d2a4315d1eeebf.txt", encoding="utf-8"),
        ):
            pass
        with pytest.raises(conftest.ReadOutsideRepository):
            os.listdir(beside)
        assert conftest.reads_beside[request.node.nodeid]  # even when swallowed, the test fails
    finally:
        conftest.reads_beside.pop(request.node.nodeid, None)
    # The repository itself, temporary folders and Python's own folders are fine.
    assert not conftest.beside_repository(str(SEEDS / "000_87d2a4315d1eeebf.txt"))
    assert not conftest.beside_repository(str(REPO))
    assert not conftest.beside_repository(sys.prefix)
    assert conftest.beside_repository(str(beside.parent))
    assert conftest.beside_repository(str(REPO.parent / (REPO.name + "-other") / "x"))


def test_the_seed_speeches_are_in_the_repository():
    names = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert names == ["000_87d2a4315d1eeebf.txt", "004_004ea9d529d320ec.txt"]
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import gen_corpus
    finally:
        sys.path.remove(str(REPO / "bench"))
    assert gen_corpus.default_seed_dir().resolve() == SEEDS
