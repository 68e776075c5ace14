"""The pages rendered a batch at a time (#15): only one batch's views exist at a time, in the
build's process and in the render workers (forked once, before any view exists), and the output,
the pages written, the --explain lines and the progress are those of one batch of every page."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import pytest
from conftest import Site
from test_page_inputs import _files, title

from site_builder import build as buildmod
from site_builder import page_inputs, related_early, render_pages
from site_builder.config import load_config
from site_builder.page_inputs import Planned

ALL = 10**9  # a batch size that makes one batch of every page


class TrackedView(dict):
    """A page's view that can be counted while it lives (a dict cannot be weakly referenced)."""

    __hash__ = object.__hash__  # (by identity: a weak set holds it)


@pytest.fixture
def views(monkeypatch):
    """Every view made on demand, as a weak set: the views alive now."""
    alive: weakref.WeakSet = weakref.WeakSet()
    made = [0]
    real = Planned.ensure

    def ensure(self):
        fresh = self.make is not None
        real(self)
        if fresh:
            self.view = TrackedView(self.view)
            alive.add(self.view)
            made[0] += 1
        return self

    monkeypatch.setattr(Planned, "ensure", ensure)
    alive.made = made  # type: ignore[attr-defined]
    return alive


def _build(site: Site, monkeypatch, batch: int, progress=None):
    monkeypatch.setattr(page_inputs, "BATCH", batch)
    monkeypatch.chdir(site.root)
    config, _warnings = load_config(Path.cwd())
    return buildmod.build(config, progress=progress, explain=True)


def _site(make_site) -> Site:
    site = make_site(_files())
    site.config("per_page = 3\nreuse_min_chars = 20\n")
    return site


def test_only_one_batch_of_views_exists_at_a_time(make_site, views, monkeypatch):
    site = _site(make_site)
    most, real = [], render_pages.render_page

    def render_page(page, *args):
        gc.collect()  # (views are plain data: nothing waits for the collector)
        most.append(len(views))
        return real(page, *args)

    monkeypatch.setattr(render_pages, "render_page", render_page)
    result = _build(site, monkeypatch, batch=5)
    assert result.written == result.pages > 30
    assert views.made[0] > 20  # every planned page's view was made, in batches of 5
    assert 0 < max(most) <= 5
    assert len(views) == 0  # and let go of once written: none is left after the stage


def _explained(result) -> list[str]:
    return sorted(line for line in result.explain if line.startswith(("wrote ", "removed ")))


@pytest.mark.parametrize("workers", [False, True], ids=["in-process", "workers"])
def test_batches_give_the_output_and_explain_lines_of_one_batch(make_site, monkeypatch, workers):
    if workers:
        monkeypatch.setattr(buildmod, "PARALLEL_RENDER_MIN", 1)  # render in forked workers, even for 14 speeches
    whole, batched = _site(make_site), _site(make_site)
    a, b = _build(whole, monkeypatch, ALL), _build(batched, monkeypatch, 4)
    assert _explained(a) == _explained(b) and len(_explained(a)) == a.pages
    assert whole.files() == batched.files()
    for site in (whole, batched):
        title(site)
        (site.content / "2020/讲话06.md").unlink()
    a, b = _build(whole, monkeypatch, ALL), _build(batched, monkeypatch, 4)
    assert _explained(a) == _explained(b)
    assert any(line.startswith("removed ") for line in _explained(a))
    assert 0 < a.written == b.written < a.pages
    assert whole.files() == batched.files()


def test_the_progress_counts_every_page_looked_at(make_site, monkeypatch):
    site = _site(make_site)
    seen: list[tuple[int, int]] = []

    class Progress:  # (as report.Progress is called)
        def __call__(self, label, done, total):
            if label == "render":
                seen.append((done, total))

        def stage(self, label):
            return lambda done, total: self(label, done, total)

    progress = Progress()
    result = _build(site, monkeypatch, 4, progress)
    assert seen == [(n, result.pages) for n in range(1, result.pages + 1)]
    title(site)
    seen.clear()
    result = _build(site, monkeypatch, 4, progress)
    total = seen[-1][1]
    assert result.written <= total < result.pages
    assert [done for done, _ in seen] == sorted({done for done, _ in seen}) and seen[-1] == (total, total)


forks: list[int] = []  # views alive at each fork of this process while recording
_watching: list = [None]


def _before_fork() -> None:
    if _watching[0] is not None:
        forks.append(len(_watching[0]))


os.register_at_fork(before=_before_fork)


def test_the_workers_are_forked_once_before_any_view_exists(make_site, views, monkeypatch):
    monkeypatch.setattr(buildmod, "PARALLEL_RENDER_MIN", 1)
    monkeypatch.setattr(buildmod, "BACKGROUND_INDEX_MAX_PARSED", -1)  # (the indexes in this process)
    monkeypatch.setattr(related_early, "_may_fork", lambda: False)  # (related_early: not a render fork)
    site = _site(make_site)
    forks.clear()
    _watching[0] = views
    try:
        result = _build(site, monkeypatch, batch=5)
    finally:
        _watching[0] = None
    assert result.written == result.pages and views.made[0] > 10
    jobs = min(os.cpu_count() or 1, 4)
    if jobs > 1:
        assert forks and len(forks) <= jobs  # one pool for every batch
        assert set(forks) == {0}  # before the first batch's views were made


def test_no_batch_of_views_is_frozen(make_site, views, monkeypatch):
    """What the build freezes (gc.freeze: the model and the plan) is never collected until the
    build ends: a batch's views, let go of once written, must not be among it."""
    site = _site(make_site)
    counts, real = [], render_pages.render_page

    def render_page(page, *args):
        counts.append(gc.get_freeze_count())
        return real(page, *args)

    monkeypatch.setattr(render_pages, "render_page", render_page)
    _build(site, monkeypatch, batch=5)
    assert len(counts) > 10 and counts == sorted(counts, reverse=True)  # (made views let go of their plans)


@pytest.mark.parametrize("workers", [False, True], ids=["in-process", "workers"])
def test_a_speech_page_that_fails_in_a_later_batch_is_a_problem_of_its_file(make_site, monkeypatch, workers):
    if workers:
        monkeypatch.setattr(buildmod, "PARALLEL_RENDER_MIN", 1)  # (the workers fork with the patch below)
    site = _site(make_site)
    real = render_pages.render_page

    def render_page(page, *args):
        if page.owner == "2018/讲话00.md" and page.template == "speech.html":  # the oldest: a late batch
            raise ValueError("a filter broke")
        return real(page, *args)

    monkeypatch.setattr(render_pages, "render_page", render_page)
    result = _build(site, monkeypatch, 3)
    assert result.unrendered == 1 and result.written == result.pages - 1
    assert [p.message for p in result.problems] == ["its page could not be rendered: ValueError: a filter broke"]
    assert not (site.output / "speeches/2018/讲话00.html").exists()
    monkeypatch.setattr(render_pages, "render_page", real)
    result = _build(site, monkeypatch, 3)  # tried again: the last build was not complete
    assert result.written == 1 and (site.output / "speeches/2018/讲话00.html").is_file()
