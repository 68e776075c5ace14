"""CPU of the render stage of one build (issue #15: one changed speech ≤ 1 s at 10k).

    PYTHONPATH=<code> .venv/bin/python bench/bench_render.py --content C --output O [--append FILE]

Builds C into O in this process (SITE_BUILDER_NO_FORK=1: the search indexes run in-process too,
after the pages) and prints the CPU seconds (this process's, not wall: the machine may be shared)
spent computing every page's view (render.Views.all_pages), their keys (build._page_key), and
rendering and writing the pages whose key changed (the rest of build._write_pages), then the whole
build's CPU. --append FILE adds a line to that speech first: the one-changed scenario of
compare.py. Run it on a site built before with the same code (else every page is rendered).
--other-render PATH also times another version of render.py (loaded as site_builder.render_other)
on the same archive, right after the build's own views, and says whether every page's view is
the same (same pages, templates, views and keys' views: the same bytes out).
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
    args = parser.parse_args()
    os.environ["SITE_BUILDER_NO_FORK"] = "1"

    from site_builder import build, render
    from site_builder.cli import main as cli_main

    cpu: dict[str, float] = {}
    calls: dict[str, int] = {}

    def timed(name, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            start = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - start
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
    build._page_key = timed("keys (_page_key)", build._page_key)
    build._write_pages = timed("keys + render + write (_write_pages)", build._write_pages)

    if args.append:
        with args.append.open("a", encoding="utf-8") as f:
            f.write("\n补充一段，用于计时。\n")
    start = time.process_time()
    code = cli_main(["build", "-q", "--content", str(args.content), "--output", str(args.output)])
    total = time.process_time() - start
    for name, seconds in cpu.items():
        print(f"{name:<40} {seconds:7.2f} s CPU ({calls[name]} calls)")
    print(f"{'whole build (this process)':<40} {total:7.2f} s CPU (exit {code})")


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
