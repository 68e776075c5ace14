"""The render stage's pages rendered and written (``build._write_pages`` chooses them): a page's
template filled with its view, a speech's body read from the build cache, the file written only
when its bytes change; in this process, or in worker processes forked once for every batch."""

from __future__ import annotations

import os
from concurrent.futures import as_completed
from contextlib import contextmanager
from pathlib import Path

import jinja2

from .build_support import TemplateProblem
from .cache import BuildCache
from .errors import SiteBuilderError
from .render import Page
from .templates import TemplateSet
from .textio import decode_utf8
from .writer import write_file

_render_state: tuple | None = None  # (templates, site, out, state_dir) inherited by forked workers


def render_page(page: Page, templates: TemplateSet, site: dict, out: Path, cache: BuildCache) -> bool:
    """Render ``page`` and write it (True: its file changed); a template's error stops the build."""
    context = dict(page.view, site=site)
    if page.body_of:
        context["body_html"], context["body_text"] = cache.body(*page.body_of)
    if "source_file" in page.view:  # a speech's Markdown source, beside its page
        context["source_text"] = decode_utf8(Path(page.view["source_file"]).read_bytes())
    if page.template == "feed.xml":
        context["texts"] = {e["digest"]: cache.body(e["source"], e["digest"])[1] for e in page.view["entries"]}
    try:
        data = templates.render(page.template, page.path, context).encode("utf-8")
    except jinja2.TemplateError as err:
        raise TemplateProblem(err, page) from None
    return write_file(out, page.path, data)


def render_speech_page(page: Page, templates: TemplateSet, site: dict, out: Path, cache: BuildCache) -> bool | str:
    """render_page; for a speech's own page, an unexpected error comes back as its text."""
    try:
        return render_page(page, templates, site, out, cache)
    except SiteBuilderError:
        raise
    except Exception as err:  # one speech's page: reported on its file
        if page.owner is None or os.environ.get("SITE_BUILDER_DEBUG"):
            raise
        return f"{type(err).__name__}: {err}"


def _render_chunk(chunk: list) -> list:
    """In a worker process: render and write a share of the pages; errors come back as text."""
    assert _render_state is not None  # set by renderer before the workers start
    templates, site, out, state_dir = _render_state
    cache = BuildCache(state_dir, readonly=True)
    try:
        return [(n, render_speech_page(page, templates, site, out, cache)) for n, page in chunk]
    except SiteBuilderError as err:
        return [(-1, str(err))]
    finally:
        cache.close()


@contextmanager
def renderer(parallel: bool, templates: TemplateSet, site: dict, out: Path, state_dir: Path, cache: BuildCache):
    """A function that renders a batch's pages (page, key, why, inputs) and yields them with what
    came of each: in this process, or, when ``parallel``, in worker processes forked once, here,
    before any batch's view exists (they inherit the templates, loaded here, and the site, not the
    views: each chunk of pages is sent to them), and kept for every batch."""
    from .workers import can_fork, process_pool

    jobs = min(os.cpu_count() or 1, 4)
    if jobs <= 1 or not parallel or not can_fork():  # forked workers only
        yield lambda todo: ((*job, render_speech_page(job[0], templates, site, out, cache)) for job in todo)
        return
    global _render_state
    templates.load_known()  # (compiled, or read compiled, once: not in every worker)
    _render_state = (templates, site, out, state_dir)
    try:
        with process_pool(jobs, prefer_fork=True) as pool:
            pool.submit(os.getpid).result()  # the workers are forked at the first job: now
            yield lambda todo: _render_in(pool, jobs, todo)
    finally:
        _render_state = None


def _render_in(pool, jobs: int, todo: list):
    """A batch's pages rendered by the workers, in chunks, yielded as they are done."""
    size = max(20, len(todo) // (jobs * 8))
    chunks = [[(n, todo[n][0]) for n in range(i, min(i + size, len(todo)))] for i in range(0, len(todo), size)]
    for future in as_completed([pool.submit(_render_chunk, chunk) for chunk in chunks]):
        for n, written in future.result():
            if n < 0:
                raise SiteBuilderError(written)
            yield (*todo[n], written)
