"""Each page's inputs (#15): what its view is made from, as one digest kept beside its key in the
build cache. A page whose inputs are those its stored key was computed from keeps that key: its
view is not made and its key not computed. Only pages whose inputs changed get a view and a key
(``render.Views``), and are rendered when the key changed. One changed speech at 10,000 then makes
the views of the few pages that show it, not of all 23,000.

The inputs of a page, besides its *scope* (the configuration, the code version and the parse
settings, the page's template and what it extends or includes, whether reuse is shown), which
every page of a template shares:

* a speech's page: the speech, its older and newer neighbours, its related speeches, the older
  and newer speech of its meeting type (its 对比 offer) and, for each passage it shares with
  other speeches, the passage (text, places) and the first speeches it is found in;
* a speech's Markdown source (data/…md): the speech;
* page n of a term's listing: the term (kind, name, slug, URL, number of speeches), n, its speeches;
* page n of every speech (all/): the number of speeches, n, its speeches;
* the compare page's list of speeches (docs.js): every speech.

A speech stands in them as (source, digest of the file, URL, the URLs of its terms): everything
else a view reads of it (metadata, table of contents, word count, reading time) is parsed from the
file's bytes with the parse settings and the code version, which are in the scope. Every other
page (home, statistics, feed, indexes of terms, sitemap, the compare page, search, 404) is cheap
and made every build (``Page``, not ``Planned``).
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import islice

import jinja2

from .build_support import TemplateProblem
from .model import Speech
from .render import Page, Views, data_paths


@dataclass
class Planned(Page):
    """A page whose view is made only when asked for (``ensure``): ``inputs`` is the digest of
    what the view is made from, scope left out (``combine`` adds it)."""

    inputs: str = ""
    make: Callable[[], Page] | None = None

    def ensure(self) -> Planned:
        if self.make is not None:
            made = self.make()
            if (made.path, made.template) != (self.path, self.template):  # a bug: plan and views disagree
                raise AssertionError(f"planned {self.path} ({self.template}), made {made.path} ({made.template})")
            self.view, self.key_view, self.body_of, self.owner = made.view, made.key_view, made.body_of, made.owner
            self.make = None
        return self


def _digest(parts) -> str:
    return _hash(repr(parts))


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def combine(scope: str, inputs: str) -> str:
    """The digest stored for a page: its scope and its inputs (both digests)."""
    return _hash(scope + inputs)


def plan(views: Views) -> list[Page]:
    """Every page of ``views.all_pages()``, in the same order, with the speeches' pages, their
    sources' pages and the listings as ``Planned`` (made on demand, the same views when made)."""
    enabled = gc.isenabled()
    gc.disable()  # plain data without cycles (see Views.all_pages)
    try:
        return _plan(views)
    finally:
        if enabled:
            gc.enable()


def _plan(views: Views) -> list[Page]:
    a = views.archive
    tok = {id(s): _digest(_token(s, views.term_url)) for s in a.speeches}  # a speech: one digest
    same_type, passages = views.same_type(), _Passages(views, tok)
    pages: list[Page] = [_speech_page(views, s, tok, same_type, passages) for s in a.speeches]
    for s in a.speeches:
        inputs, make = tok[id(s)], partial(views.data_page, s)
        pages.append(Planned(data_paths(s.url)[1], "speech-source.md", {}, owner=s.source, inputs=inputs, make=make))
    per = views.config.per_page
    for tax in a.taxonomies():
        pages.append(views.taxonomy_index(tax))
        for term in tax.terms:
            paths = views.listing_paths(tax, term)
            for n in range(1, len(paths) + 1):
                chunk = ",".join([tok[id(s)] for s in term.speeches[(n - 1) * per : n * per]])
                url = views.term_url[(tax.kind, term.name)]
                inputs = _digest(("term", tax.kind, tax.label, term.name, term.slug, url, term.count, n, chunk))
                make = partial(views.listing_page, tax, term, n, paths)
                pages.append(Planned(paths[n - 1], "term.html", {}, inputs=inputs, make=make))
    paths = views.chronological_paths()
    for n in range(1, len(paths) + 1):
        chunk = ",".join([tok[id(s)] for s in a.speeches[(n - 1) * per : n * per]])
        inputs = _digest(("all", len(a.speeches), n, chunk))
        pages.append(
            Planned(paths[n - 1], "all.html", {}, inputs=inputs, make=partial(views.chronological_page, n, paths))
        )
    pages += views.site_pages()
    inputs = _hash(",".join(sorted(tok.values())))  # every speech (their order follows from them)
    docs = Planned(views.compare_docs_path(), "compare-docs.js", {}, inputs=inputs, make=views.compare_docs_page)
    pages += [views.compare_page(), docs]
    return views.with_sitemap(pages)


def _token(s: Speech, term_url: dict) -> tuple:
    """A speech as the inputs name it: source, digest, URL, and the URLs of its terms (its
    summary links to them: Views._make_summary)."""
    m = s.meta
    terms = [("year", str(s.year)), ("meeting_type", m.meeting_type), *(("theme", t) for t in m.themes)]
    if m.speaker:
        terms.append(("speaker", m.speaker))
    return (s.source, s.digest, s.url, *(term_url.get(t) for t in terms))


def _speech_page(views: Views, s: Speech, tok: dict, same_type: dict, passages: _Passages) -> Planned:
    older, newer = same_type.get(id(s), (None, None))
    get = tok.get
    parts = "|".join(
        [
            tok[id(s)],
            get(id(s.prev), "-"),
            get(id(s.next), "-"),
            ",".join([get(id(r)) or _digest(r.source) for r in s.related]),
            get(id(older), "-"),
            get(id(newer), "-"),
            passages.of(s),
        ]
    )  # digests (hex) and "-": no part can be mistaken for another
    inputs = _hash(parts)
    make = partial(_speech_view, views, s)
    return Planned(s.url, "speech.html", {}, s.source, (s.source, s.digest), inputs=inputs, make=make)


def _speech_view(views: Views, s: Speech) -> Page:
    return views.with_compare(views.speech_page(s), s)


class _Passages:
    """A speech's passages as inputs: each passage's text and places, the sources of its places
    that are not published, and the first three published sources it is found in (the page names
    the first two places in other speeches: they are in these three)."""

    def __init__(self, views: Views, tok: dict):
        self.reuse = views.reuse
        self.known = {s.source: tok[id(s)] for s in views.archive.speeches} if self.reuse else {}
        self._tokens: dict[int, tuple] = {}  # id(passage) → (its digest, the passage: its id stays its own)

    def of(self, s: Speech) -> str:
        if self.reuse is None:
            return "-"
        tokens = self._tokens
        return ",".join([(tokens.get(id(p)) or self._token(p))[0] for p in self.reuse.of(s.source)])

    def _token(self, p) -> tuple:
        sources, paragraphs = zip(*p.places) if p.places else ((), ())  # (C loops, not Python's)
        distinct = dict.fromkeys(sources)
        known = self.known
        if distinct.keys() <= known.keys():  # (always, when reuse ran on these speeches)
            missing, first = [], list(islice(distinct, 3))
        else:
            missing = [x for x in distinct if x not in known]
            first = [x for x in distinct if x in known][:3]
        shown = [known[x] for x in first]
        hit = self._tokens[id(p)] = (_digest((p.text, sources, paragraphs, missing, shown)), p)
        return hit


class Scopes:
    """The scope of each template's pages (see the module's docstring)."""

    def __init__(self, views: Views, templates, site_fp: str):
        self.templates = templates
        shared = (repr(views.config), site_fp, views.reuse is not None)
        self.shared = _digest(shared)
        self._scopes: dict[str, str] = {}

    def of(self, page: Page) -> str:
        hit = self._scopes.get(page.template)
        if hit is None:
            try:
                fingerprint = self.templates.fingerprint(page.template)
            except jinja2.TemplateError as err:
                raise TemplateProblem(err, page) from None
            hit = self._scopes[page.template] = _digest((self.shared, page.template, fingerprint))
        return hit


def select(pages: list[Page], known: dict, stored: dict, scopes: Scopes, key_of, out_dir: str):
    """(todo, fresh, refreshed): the pages to render as (page, key, why); the inputs of those of
    them that are ``Planned`` (path → inputs); (path, inputs, key) of pages whose inputs changed
    but not their key (nothing to write). ``known``: path → (key, owner) as last rendered;
    ``stored``: path → (inputs, key) as last stored."""
    todo, fresh, refreshed = [], {}, []
    for page in pages:
        old = known.get(page.path)
        inputs = None
        if isinstance(page, Planned):
            inputs = combine(scopes.of(page), page.inputs)
            if old and stored.get(page.path) == (inputs, old[0]) and os.path.isfile(os.path.join(out_dir, page.path)):
                continue
            page.ensure()
        key = key_of(page)
        if old and old[0] == key and os.path.isfile(os.path.join(out_dir, page.path)):
            if inputs is not None:
                refreshed.append((page.path, inputs, key))
            continue
        todo.append((page, key, "new page" if not old else "changed"))
        if inputs is not None:
            fresh[page.path] = inputs
    return todo, fresh, refreshed
