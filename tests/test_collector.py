"""The garbage collector during a build (site_builder/collector.py): its young generation raised
while the build runs, restored after it, and nothing the build froze left frozen (serve builds in
a long-lived process)."""

from __future__ import annotations

import gc

from conftest import speech

from site_builder import collector


def test_a_build_restores_the_collector(make_site, monkeypatch):
    seen = []
    real = collector.during_build

    def during_build():
        with real():
            seen.append(gc.get_threshold()[0])
            yield

    from contextlib import contextmanager

    monkeypatch.setattr(collector, "during_build", contextmanager(during_build))
    before = gc.get_threshold()
    site = make_site({"2020/甲.md": speech(title="甲讲话"), "2021/乙.md": speech(title="乙讲话", date="2021-01-01")})
    assert site.run("build", "-q") == 0
    assert seen == [collector.YOUNG]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_failed_build_restores_the_collector(make_site):
    before = gc.get_threshold()
    site = make_site({"2020/甲.md": speech(title="甲讲话")})
    (site.root / "templates").mkdir()
    (site.root / "templates/speech.html").write_text("{% if %}", encoding="utf-8")  # a broken template
    assert site.run("build", "-q") != 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_step_kept_until_the_pages_are_written_is_frozen_during_a_build_only():
    """``paused(keep=True)``: what exists at its end is frozen (the build froze it later anyway), so
    that no collection walks it before; outside a build (``check``, ``export``, a long-lived
    ``serve``) nothing is frozen, and a build unfreezes what it froze."""
    assert gc.get_freeze_count() == 0
    with collector.paused(keep=True):
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with collector.during_build():
        with collector.paused(keep=True):
            kept += [[i] for i in range(1000)]
            assert not gc.isenabled()
        assert gc.get_freeze_count() >= 2000 and gc.isenabled()
        with collector.paused():
            pass
    assert gc.get_freeze_count() == 0
