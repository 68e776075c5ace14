"""Reliability (issue 7): a build killed at any moment, and two builds at once.

Crashes
-------
A site of 30 speeches is built completely (the *previous* site). A change then adds, edits and
deletes speeches, and the build of that change runs as a subprocess in its own process group
(so its worker processes die with it, as in a crash, an OOM kill or a power cut) and is SIGKILLed
at a seeded random moment. The moments are spread over the stages that ``--explain`` times
(start-up, parse, model and related, render, whoosh index, static index, the end) using the stage
timings of an uninterrupted run of the same change: the stage a kill lands in is an estimate
(the machine is shared), which is why there are many kills. Set ``RELIABILITY_SEED`` to try other
moments. After each kill:

* every file in output/ holds either its previous bytes or the bytes a clean build of the changed
  sources writes, so every HTML page is a complete document and feed.xml / sitemap.xml parse; a
  previous file is missing only when the new site has no such file;
* besides, only the writers' hidden temporary files (``.tmp-*``, ``.*.tmp``) may be there;
* ``site-builder search`` answers, with the hit sets of the previous or of the new site;
* the static index the browser reads from output/search/meta.js (every file it leads to) is wholly
  the previous one or wholly the new one;

and the next build completes; its output equals a clean build's byte for byte (no temporary file
left) and its search answers equal the clean build's.

Concurrency
-----------
Two builds started at once both finish (the second waits for ``build.build_lock``) and leave
the output a clean build gives; a build that cannot get the lock in time refuses with a clear
message and a non-zero exit code; a lock held by a SIGKILLed build is no obstacle (flock is
released by the kernel).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import Site, speech

from site_builder import build as buildmod
from site_builder.config import load_config
from site_builder.static_search import files as static_files

REPO = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("RELIABILITY_SEED", "20240607"))
N_SPEECHES = 30
WORDS = ["党建", "廉政", "队伍", "建设", "基层", "治理", "发展", "改革", "创新", "如履薄冰", "恪尽职守", "同志们", "工作", "会议", "要求", "落实", "责任", "全面", "从严", "治党", "人民", "群众", "服务", "质量", "安全", "稳定", "调查", "研究", "作风", "纪律"]  # fmt: skip
QUERIES = ["党建", "修订", "新增", "如履薄冰 -廉政", "讲话", "队伍 OR 纪律", "调查研究"]
STAGES = ["start-up", "parse", "model", "related", "render", "whoosh index", "static index", "end"]
KILLS_PER_VARIANT = 6


# --------------------------------------------------------------------------------------------
# The site and the changes
# --------------------------------------------------------------------------------------------


def body(rnd: random.Random, extra: str = "") -> str:
    parts = ["同志们：\n"]
    for k in range(4):
        text = "".join(rnd.choice(WORDS) for _ in range(300))
        parts.append(f"## {'一二三四'[k]}、第{k + 1}部分\n\n{text}{extra}。\n")
    return "\n".join(parts)


def speech_file(rnd: random.Random, i: int, extra: str = "", title: str | None = None) -> tuple[str, str]:
    year = 2014 + i % 9
    text = speech(
        title=title or f"在第{i}次会议上的讲话",
        date=f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        meeting_type=rnd.choice(["座谈会", "工作会议", "党建工作会议"]),
        themes=tuple(rnd.sample(["党风廉政建设", "队伍建设", "基层治理", "作风建设"], 2)),
        body=body(rnd, extra),
        speaker=f"张{i}",
        summary=f"第{i}篇的摘要",
    )
    return f"{year}/第{i:02d}篇.md", text


def write_base(site: Site) -> None:
    rnd = random.Random(SEED)
    for i in range(N_SPEECHES):
        site.write(*speech_file(rnd, i))


VARIANTS = {
    # edits, adds, deletes: "small" updates the Whoosh index in place (a new segment, deletions);
    # "large" changes more than half the archive, which rewrites it with worker processes.
    "small": (3, 2, 1),
    "large": (18, 2, 2),
}


def apply_change(site: Site, variant: str) -> None:
    n_edit, n_add, n_del = VARIANTS[variant]
    rnd = random.Random(f"{SEED}-{variant}")
    order = rnd.sample(range(N_SPEECHES), N_SPEECHES)
    for i in order[:n_edit]:
        rel, text = speech_file(rnd, i, extra="修订", title=f"在第{i}次会议上的讲话（修订）")
        site.write(rel, text)
    for i in order[n_edit : n_edit + n_del]:
        (site.content / speech_file(rnd, i)[0]).unlink()
    for j in range(n_add):
        site.write(*speech_file(rnd, N_SPEECHES + j, extra="新增"))


def state_dir(root: Path) -> Path:
    return load_config(root, {})[0].state_dir


def copy_site(src: Site, dest: Path) -> Site:
    """A copy of a built site, its build cache found again (a site copied whole keeps it).
    output/ is copied as hard links (fast): the build only ever replaces or removes its files."""
    shutil.copytree(src.content, dest / "content")
    shutil.copytree(src.root / ".site_builder_cache", dest / ".site_builder_cache")
    shutil.copytree(src.output, dest / "output", copy_function=os.link)
    assert state_dir(dest).relative_to(dest) == state_dir(src.root).relative_to(src.root)
    return Site(dest)


def is_temporary(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".tmp"))


def output_files(site: Site) -> dict[str, bytes]:
    return site.files() if site.output.is_dir() else {}


def search_answers(site: Site) -> dict[str, list[str]]:
    """Each query's hits through the command line (in this process): ``site-builder search --json``."""
    answers = {}
    for q in QUERIES:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = site.run("search", q, "--json", "--limit", "1000")
        assert code == 0, f"site-builder search {q!r} failed with exit code {code}"
        result = json.loads(out.getvalue())
        answers[q] = sorted(h["source"] for h in result["hits"])
        assert result["total"] == len(answers[q])
    return answers


def static_generation(out: Path, old: dict[str, bytes], new: dict[str, bytes], what: str) -> str:
    """Which generation of the static index the browser reads ("previous" or "new"): every file it
    reaches from search/meta.js (through the manifests, as search.js does) must exist and be that
    generation's, whichever meta.js is there."""
    search = out / "search"
    assert (search / "meta.js").is_file(), f"{what}: search/meta.js is missing"
    meta = (search / "meta.js").read_bytes()
    gen, label = (old, "previous") if meta == old.get("search/meta.js") else (new, "new")
    assert meta == gen.get("search/meta.js"), f"{what}: search/meta.js is neither the previous nor the new one"
    try:
        reached = static_files.index_files(search)
    except OSError as err:
        raise AssertionError(f"{what}: the {label} meta.js names a missing file: {err}") from None
    assert len(reached) > 10
    bad = [
        rel
        for rel in reached.values()
        if not (search / rel).is_file() or (search / rel).read_bytes() != gen.get(f"search/{rel}")
    ]
    assert not bad, f"{what}: meta.js is the {label} one, but {len(bad)} files it leads to are not: {bad[:3]}"
    return label


def check_usable(
    site: Site, old: dict[str, bytes], new: dict[str, bytes], answers: tuple[dict, dict], what: str
) -> str:
    """The state after a kill: each file old or new, complete pages, the indexes answer."""
    now = output_files(site)
    for rel, data in now.items():
        if any(part.startswith(".") for part in rel.split("/")):
            assert is_temporary(rel), f"{what}: unexpected hidden file {rel}"
            continue
        assert data in (old.get(rel), new.get(rel)), f"{what}: {rel} is neither the previous nor the new version"
        if rel.endswith(".html"):
            text = data.decode("utf-8")
            assert text.lower().startswith("<!doctype html>") and text.rstrip().endswith("</html>"), (
                f"{what}: {rel} is not a complete document"
            )
        elif rel.endswith(".xml"):
            ET.fromstring(data)
    missing = [rel for rel in old if rel not in now and rel in new]
    assert not missing, f"{what}: previous files lost: {missing[:5]}"
    static = static_generation(site.output, old, new, what)
    got = search_answers(site)
    for q in QUERIES:
        assert got[q] in (answers[0][q], answers[1][q]), f"{what}: search {q!r} answers neither as before nor after"
    return observed_phase(now, old, new, got == answers[1], static)


def observed_phase(now: dict, old: dict, new: dict, whoosh_new: bool, static: str) -> str:
    """Where the build was when it died, as seen in what it left: which of the pages, the Whoosh
    index and the static index are the new ones."""

    def state(keep) -> str:
        changed = [rel for rel in set(old) | set(new) if keep(rel) and old.get(rel) != new.get(rel)]
        done = sum(now.get(rel) == new.get(rel) for rel in changed)
        return "old" if done == 0 else "new" if done == len(changed) else "partly new"

    pages = state(lambda rel: not rel.startswith(("search/", "static/")))
    return f"pages {pages}, whoosh {'new' if whoosh_new else 'old'}, static index {static}"


def kill_build_at(root: Path, delay: float, explain: bool = False) -> tuple[bool, str]:
    """Start ``python -m site_builder build`` and SIGKILL its process group after ``delay`` s.
    Returns (killed, stderr); killed is False when the build finished first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_builder", "build"] + (["--explain"] if explain else []),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = True
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    return killed, err


def stage_windows(root: Path) -> dict[str, tuple[float, float]]:
    """When each stage runs, in seconds after the start of the subprocess (one timed run)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "site_builder", "build", "--explain"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    wall = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stderr.splitlines() if "seconds per stage:" in x)
    timings = [
        (m.group(1), float(m.group(2)))
        for m in re.finditer(r"([a-z ]+?) (\d+\.\d+)(?:,|$)", line.split(":", 1)[1].strip())
    ]
    timings = [(name.strip(), secs) for name, secs in timings]
    startup = max(0.05, wall - sum(s for _, s in timings) - 0.05)
    windows = {"start-up": (0.0, startup)}
    t = startup
    for name, secs in timings:
        windows[name] = (t, t + max(secs, 0.005))
        t += secs
    windows["end"] = (t, wall)
    return windows


# --------------------------------------------------------------------------------------------
# Fixtures: the previous site, and for each change the site a clean build gives
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("reliability") / "base")
    write_base(site)
    assert site.run("build", "-q") == 0
    return site, output_files(site), search_answers(site)


@pytest.fixture(scope="module")
def expected(base, tmp_path_factory):
    """Per variant: the clean build's files and answers, and the stage windows of a timed run."""
    site, _, _ = base
    out = {}
    for variant in VARIANTS:
        root = tmp_path_factory.mktemp(f"clean-{variant}")
        clean = Site(root / "site")
        shutil.copytree(site.content, clean.content, dirs_exist_ok=True)
        apply_change(clean, variant)
        assert clean.run("build", "-q") == 0
        timed = copy_site(site, root / "timed")
        apply_change(timed, variant)
        windows = stage_windows(timed.root)
        assert output_files(timed) == output_files(clean)
        out[variant] = (output_files(clean), search_answers(clean), windows)
    return out


# --------------------------------------------------------------------------------------------
# Crashes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_killed_builds_leave_a_usable_site_and_the_next_build_equals_a_clean_one(base, expected, variant, tmp_path):
    site, old_files, old_answers = base
    new_files, new_answers, windows = expected[variant]
    rnd = random.Random(f"{SEED}-kills-{variant}")
    targets = [s for s in STAGES if s in windows]
    offset = list(VARIANTS).index(variant)
    landed: dict[str, int] = {}
    for n in range(KILLS_PER_VARIANT):
        stage = targets[(n + offset * 3) % len(targets)]
        lo, hi = windows[stage]
        delay = rnd.uniform(lo, hi)
        what = f"{variant} build killed at {delay:.3f} s (in {stage}?)"
        trial = copy_site(site, tmp_path / f"k{n}")
        apply_change(trial, variant)
        killed, err = kill_build_at(trial.root, delay)
        if killed:
            phase = check_usable(trial, old_files, new_files, (old_answers, new_answers), what)
            landed[phase] = landed.get(phase, 0) + 1
        else:
            assert "Traceback" not in err, err
        assert trial.run("build", "-q") == 0, what
        assert output_files(trial) == new_files, f"{what}: the next build differs from a clean build"
        assert search_answers(trial) == new_answers, what
        shutil.rmtree(trial.root)
    print(f"\n{variant}: what the killed builds left: {landed}")
    assert sum(landed.values()) >= KILLS_PER_VARIANT // 2, f"too few builds were still running when killed: {landed}"


def test_several_kills_in_a_row_then_a_complete_build(base, expected, tmp_path):
    """Kills that interrupt the interrupted builds' successors leave nothing behind either."""
    site, old_files, old_answers = base
    new_files, new_answers, windows = expected["large"]
    trial = copy_site(site, tmp_path / "chain")
    apply_change(trial, "large")
    rnd = random.Random(f"{SEED}-chain")
    total = windows["end"][1]
    for n in range(3):
        delay = rnd.uniform(0.3 * total, 0.95 * total)
        killed, _ = kill_build_at(trial.root, delay)
        if killed:
            check_usable(trial, old_files, new_files, (old_answers, new_answers), f"kill {n} at {delay:.3f} s")
    assert trial.run("build", "-q") == 0
    assert output_files(trial) == new_files
    assert search_answers(trial) == new_answers


def test_killed_first_build_then_a_complete_build(base, expected, tmp_path):
    """A first build (no previous output) killed half-way: the next one completes and is clean."""
    site, _, _ = base
    new_files, new_answers, windows = expected["small"]
    trial = Site(tmp_path / "first")
    shutil.copytree(site.content, trial.content, dirs_exist_ok=True)
    apply_change(trial, "small")
    kill_build_at(trial.root, windows["render"][0] + 0.3)
    assert trial.run("build", "-q") == 0
    assert output_files(trial) == new_files
    assert search_answers(trial) == new_answers


# --------------------------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------------------------


def _start_build(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "site_builder", "build"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _hold_lock(root: Path, seconds: float) -> subprocess.Popen:
    """A process that takes the build lock of ``root`` and holds it (prints 'locked' when it has it)."""
    code = (
        "import sys, time; from pathlib import Path; from site_builder.build import build_lock\n"
        f"with build_lock(Path({str(state_dir(root))!r}), wait=5):\n"
        "    print('locked', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_two_builds_at_once_both_finish_and_equal_a_clean_build(base, expected, tmp_path):
    site, _, _ = base
    new_files, new_answers, _ = expected["large"]
    trial = copy_site(site, tmp_path / "two")
    apply_change(trial, "large")
    procs = [_start_build(trial.root), _start_build(trial.root)]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    errs = " ".join(err for _, err in results)
    assert "Traceback" not in errs
    assert output_files(trial) == new_files
    assert search_answers(trial) == new_answers


def test_a_build_waits_for_the_running_one(base, tmp_path):
    trial = copy_site(base[0], tmp_path / "wait")
    holder = _hold_lock(trial.root, 1.5)
    try:
        started = time.monotonic()
        proc = _start_build(trial.root)
        _, err = proc.communicate(timeout=60)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, err
    assert "another build of this output folder is running; waiting" in err
    assert waited >= 1.0


def test_a_build_that_cannot_get_the_lock_refuses_clearly(base, tmp_path, monkeypatch, capsys):
    trial = copy_site(base[0], tmp_path / "refuse")
    before = output_files(trial)
    real_lock = buildmod.build_lock
    monkeypatch.setattr(buildmod, "build_lock", lambda state, wait=30, notify=None: real_lock(state, 0.6, notify))
    holder = _hold_lock(trial.root, 20)
    try:
        apply_change(trial, "small")
        code = trial.run("build")
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code != 0
    assert "another build of this output folder is still running" in err and "try again" in err, err
    assert "Traceback" not in err
    assert output_files(trial) == before  # nothing was touched


def test_a_lock_left_by_a_killed_build_is_no_obstacle(base, expected, tmp_path):
    site, _, _ = base
    trial = copy_site(site, tmp_path / "stale")
    holder = _hold_lock(trial.root, 60)
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    lock = state_dir(trial.root) / "build.lock"
    assert lock.exists()  # the file stays; the kernel dropped the lock with the process
    apply_change(trial, "small")
    started = time.monotonic()
    proc = _start_build(trial.root)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting" not in err
    assert time.monotonic() - started < 25
    assert output_files(trial) == expected["small"][0]


# --------------------------------------------------------------------------------------------
# The static index interrupted while it writes its files
# --------------------------------------------------------------------------------------------


class _Crash(BaseException):
    """Stands for SIGKILL inside this process: nothing after it runs, no cleanup catches it."""


def _watch_static_index(monkeypatch, root: Path, on_op) -> None:
    """Call ``on_op(kind, path)`` before each file operation of the static index: every file it
    writes (in output/search/ and in its state) and every file it removes there."""
    from site_builder.static_search import analyser, assembly, index, patching

    for mod in (analyser, assembly, static_files, index, patching):

        def write(path, data, *args, _real=mod.write_atomic, **kwargs):
            on_op("write", Path(path))
            return _real(path, data, *args, **kwargs)

        monkeypatch.setattr(mod, "write_atomic", write)
    mine = (str(root / "output" / "search"), str(state_dir(root) / "static"))
    real_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        if str(self).startswith(mine):
            on_op("remove", self)
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)


def _crash_static_index_at(site: Site, variant: str, dest: Path, cut: int, monkeypatch) -> tuple[Site, list[str]]:
    """A copy of the built site, changed; its build dies just before the static index's operation
    number ``cut`` (1-based; 0: it does not die). Returns the copy and the operations it did."""
    trial = copy_site(site, dest)
    apply_change(trial, variant)
    ops: list[str] = []

    def on_op(kind: str, path: Path) -> None:
        if len(ops) + 1 == cut:
            raise _Crash()
        ops.append(f"{kind} {path.relative_to(trial.root).as_posix()}")

    with monkeypatch.context() as m:
        m.setenv("SITE_BUILDER_NO_FORK", "1")  # the index is written in this process, where the crash is
        _watch_static_index(m, trial.root, on_op)
        config = load_config(trial.root, {})[0]
        if cut:
            with pytest.raises(_Crash):
                buildmod.build(config)
        else:
            buildmod.build(config)
    return trial, ops


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_static_index_interrupted_at_any_moment_is_one_generation(base, expected, tmp_path, monkeypatch, variant):
    """The browser reads meta.js and then the files it names: a build that dies at any moment of
    writing the static index (before any of its file operations: each write in output/search/ and
    its state, the switch of meta.js, each removal of an old file) leaves the browser one
    generation, the previous or the new one, and the next build equals a clean one."""
    site, old_files, _ = base
    new_files, _, _ = expected[variant]
    whole, ops = _crash_static_index_at(site, variant, tmp_path / "whole", 0, monkeypatch)
    assert output_files(whole) == new_files
    switch = ops.index("write output/search/meta.js") + 1
    assert switch < len(ops) and all(op.startswith("remove output/search/") for op in ops[switch:][:3]), ops
    # Around the switch, the first and last operations, and a seeded sample of the others.
    rnd = random.Random(f"{SEED}-static-{variant}")
    cuts = {1, 2, switch - 1, switch, switch + 1, len(ops)} | set(rnd.sample(range(1, len(ops) + 1), min(6, len(ops))))
    seen = {}
    for cut in sorted(c for c in cuts if 1 <= c <= len(ops)):
        what = f"{variant}: died before {ops[cut - 1]!r} ({cut} of {len(ops)})"
        trial, _ = _crash_static_index_at(site, variant, tmp_path / f"cut{cut}", cut, monkeypatch)
        seen[cut] = static_generation(trial.output, old_files, new_files, what)
        assert seen[cut] == ("previous" if cut <= switch else "new"), what
        assert trial.run("build", "-q") == 0, what
        assert output_files(trial) == new_files, f"{what}: the next build differs from a clean build"
        shutil.rmtree(trial.root)
    assert set(seen.values()) == {"previous", "new"}, seen


def search_urls(site: Site, q: str) -> set[str]:
    """The pages of the hits of ``site-builder search`` (in this process), as the search page links them."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert site.run("search", q, "--json", "--limit", "1000") == 0
    return {"../" + h["url"] for h in json.loads(out.getvalue())["hits"]}


@pytest.fixture(scope="module")
def chromium():
    from test_static_search import CHROMIUM, CHROMIUM_ARGS

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_the_browser_answers_from_one_generation_after_a_crash(base, expected, tmp_path, monkeypatch, chromium):
    """In Chromium (file://), the search page of a build that died while writing the static index
    answers as the previous site did or as the new one does, never from a mixture: half-way
    through the new generation, just before the switch, and just after it."""
    from test_static_search import _run, _search_url

    site, old_files, _ = base
    new_files, _, _ = expected["small"]
    _, ops = _crash_static_index_at(site, "small", tmp_path / "whole", 0, monkeypatch)
    switch = ops.index("write output/search/meta.js") + 1
    queries = ["党建", "修订", "新增", "如履薄冰 -廉政"]
    old_urls = {q: search_urls(site, q) for q in queries}
    assert old_urls["党建"] and not old_urls["修订"]
    page = chromium.new_page()
    try:
        for cut, gen in ((switch // 2, "previous"), (switch, "previous"), (switch + 1, "new")):
            trial, _ = _crash_static_index_at(site, "small", tmp_path / f"cut{cut}", cut, monkeypatch)
            assert static_generation(trial.output, old_files, new_files, f"cut {cut}") == gen
            shown = {q: _run(page, _search_url(trial.output.as_uri() + "/", q)) for q in queries}
            assert trial.run("build", "-q") == 0
            want = old_urls if gen == "previous" else {q: search_urls(trial, q) for q in queries}
            assert want["修订"] or gen == "previous"
            for q in queries:
                total, hrefs = shown[q]
                assert (total, hrefs) == (len(want[q]), want[q]), f"cut {cut} ({gen}): {q!r}"
    finally:
        page.close()
