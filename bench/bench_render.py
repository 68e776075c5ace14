"""CPU of the render stage of one build (issue #15: one changed speech ≤ 1 s at 10k).

    PYTHONPATH=<code> .venv/bin/python bench/bench_render.py --content C --output O [--append FILE]

Builds C into O in this process (SITE_BUILDER_NO_FORK=1: the search indexes run in-process too,
after the pages) and prints the CPU seconds (this process's, not wall: the machine may be shared)
spent computing every page's view (render.Views.all_pages; with page inputs, #15: the plan of
every page, the views made of pages whose inputs changed, and their selection), their keys
(build._page_key), and rendering and writing the pages whose key changed (the rest of
build._write_pages), then the whole
build's CPU, and the CPU of each stage (what the functions named there took, this process only;
"start and imports": the process's CPU before the build starts). --append FILE adds a line to that speech first: the one-changed scenario of
compare.py. Run it on a site built before with the same code (else every page is rendered).
--other-render PATH also times another version of render.py (loaded as site_builder.render_other)
on the same archive, right after the build's own views, and says whether every page's view is
the same (same pages, templates, views and keys' views: the same bytes out).
--as-cached takes the cache's parse fingerprint as this code's (for timing only: a site built
by an older checkout is then not parsed and rendered again because the code changed; the pages
written may differ from a clean build's). --profile FILE writes a cProfile of the build (pstats).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--append", type=Path, help="a speech file to add a line to first")
    parser.add_argument("--other-render", type=Path, help="another render.py to time on the same archive")
    parser.add_argument("--as-cached", action="store_true", help="take the cache's parse fingerprint as this code's")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the build to this file")
    args = parser.parse_args()
    os.environ["SITE_BUILDER_NO_FORK"] = "1"

    from site_builder import build, render
    from site_builder.cli import main as cli_main

    started = time.process_time()  # the interpreter's start and these imports

    cpu: dict[str, float] = {}
    calls: dict[str, int] = {}
    in_gc: dict[str, float] = {}  # of a stage's CPU, the collector's
    collector = _time_collector()

    def timed(name, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            start, start_gc = time.process_time(), collector["cpu"]
            try:
                return fn(*a, **k)
            finally:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - start
                in_gc[name] = in_gc.get(name, 0.0) + collector["cpu"] - start_gc
                calls[name] = calls.get(name, 0) + 1

        return wrapper

    own = timed("views (Views.all_pages)", render.Views.all_pages)
    other_views = _load_other(args.other_render) if args.other_render else None

    def all_pages(self):
        pages = own(self)
        if other_views is not None:
            start = time.process_time()
            theirs = other_views(self.config, self.archive, self.reuse).all_pages()
            cpu["views, the other render.py"] = time.process_time() - start
            calls["views, the other render.py"] = 1
            same = [(p.path, p.template, p.view, p.keyed()) for p in pages] == [
                (p.path, p.template, p.view, p.keyed()) for p in theirs
            ]
            print(f"the other render.py gives {'the same' if same else 'DIFFERENT'} pages and views")
        return pages

    render.Views.all_pages = all_pages  # type: ignore[method-assign]
    _time_plan(timed, other_views)
    build._page_key = timed("keys (_page_key)", build._page_key)
    _time_stages(timed)
    build._write_pages = timed("keys + render + write (_write_pages)", build._write_pages)

    if args.append:
        with args.append.open("a", encoding="utf-8") as f:
            f.write("\n补充一段，用于计时。\n")
    if args.as_cached:
        _as_cached(build)
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    start = time.process_time()
    code = cli_main(["build", "-q", "--content", str(args.content), "--output", str(args.output)])
    total = time.process_time() - start
    if profile is not None:
        profile.disable()
        profile.dump_stats(str(args.profile))
    print(f"{'start and imports (before the build)':<40} {started:7.2f} s CPU")
    for name, seconds in cpu.items():
        print(f"{name:<40} {seconds:7.2f} s CPU ({calls[name]} calls; collector {in_gc[name]:.2f} s)")
    print(f"{'whole build (this process)':<40} {total:7.2f} s CPU (exit {code})")
    print(f"{'whole process':<40} {time.process_time():7.2f} s CPU")
    print(f"{'of which the garbage collector':<40} {collector['cpu']:7.2f} s CPU ({collector['runs']} runs)")


def _time_collector() -> dict:
    """CPU spent in the garbage collector's runs (gc.callbacks), whatever stage set them off."""
    import gc

    spent = {"cpu": 0.0, "runs": 0, "start": 0.0}

    def callback(phase, _info):
        if phase == "start":
            spent["start"] = time.process_time()
        else:
            spent["cpu"] += time.process_time() - spent["start"]
            spent["runs"] += 1

    gc.callbacks.append(callback)
    return spent


STAGES = [  # (module, attribute path, name): stages of a build, timed where the checkout has them
    ("site_builder.loader", "scan", "scan (loader.scan)"),
    ("site_builder.cache", "BuildCache.page_keys", "page keys read (BuildCache.page_keys)"),
    ("site_builder.cache", "BuildCache.parsed", "model from cache (BuildCache.parsed)"),
    ("site_builder.cache", "BuildCache.stored_inputs", "page inputs read (BuildCache.stored_inputs)"),
    ("site_builder.loader", "load", "parse + load (loader.load)"),
    ("site_builder.build", "build_archive", "model (build_archive)"),
    ("site_builder.build", "_index_docs", "index docs (build_index.index_docs)"),
    ("site_builder.page_changes", "compare", "plan: what changed (page_changes.compare)"),
    ("site_builder.page_inputs", "kept", "plan kept (page_inputs.kept)"),
    ("site_builder.cache", "BuildCache.set_page_plan", "plan written (BuildCache.set_page_plan)"),
    ("site_builder.build", "_find_reuse", "reuse (_find_reuse)"),
    ("site_builder.build", "_attach_related", "related (_attach_related)"),
    ("site_builder.search.whoosh_index", "SearchIndex.update", "Whoosh update (SearchIndex.update)"),
    ("site_builder.static_search.index", "StaticIndex.update", "static index update (StaticIndex.update)"),
]


def _time_plan(timed, other_views) -> None:
    """A checkout with page inputs (#15): the plan of every page, the views made on demand, the
    pages whose inputs changed selected (their views and keys included); --other-render compared
    on the plan's views."""
    try:
        from site_builder import page_inputs
    except ImportError:
        return
    plan = timed("plan (page_inputs.plan)", page_inputs.plan)

    def planned(views, *previous):
        pages = plan(views, *previous)
        if other_views is not None:
            views.all_pages()  # (compared with the other render.py's by the wrapper)
        return pages

    page_inputs.plan = planned
    page_inputs.Planned.ensure = timed("views made (Planned.ensure)", page_inputs.Planned.ensure)
    page_inputs.select = timed("inputs, views, keys (page_inputs.select)", page_inputs.select)


def _time_stages(timed) -> None:
    import importlib

    for module_name, path, name in STAGES:
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        *parents, attr = path.split(".")
        for part in parents:
            owner = getattr(owner, part, None)
        if owner is not None and hasattr(owner, attr):
            setattr(owner, attr, timed(name, getattr(owner, attr)))


def _as_cached(build) -> None:
    """Every fingerprint of the code is the one the cache holds (see --as-cached)."""
    from site_builder.cache import BuildCache

    original = build._parse_fingerprint

    def fingerprint(config):
        cache = BuildCache(config.state_dir, readonly=True)
        try:
            return cache.get("parse_settings") or original(config)
        finally:
            cache.close()

    build._parse_fingerprint = fingerprint


def _load_other(path: Path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("site_builder.render_other", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Views


if __name__ == "__main__":
    main()
