"""Each page's inputs (#15): what its view is made from, as one digest kept beside its key in the
build cache. A page whose inputs are those its stored key was computed from keeps that key: its
view is not made and its key not computed. Only pages whose inputs changed get a view and a key
(``render.Views``), and are rendered when the key changed. One changed speech at 10,000 then makes
the views of the few pages that show it, not of all 23,000. A cold build makes every page's view,
``BATCH`` at a time (``Selection.batches``), each let go of once its page is written.

The inputs of a page, besides its *scope* (the configuration but where its folders are, the code
version and the parse settings, the page's template and what it extends or includes, whether
reuse is shown), which every page of a template shares:

* a speech's page: the speech, its older and newer neighbours, its related speeches, the older
  and newer speech of its meeting type (its 对比 offer) and, for each passage it shares with
  other speeches, the passage (text, places) and the first speeches it is found in;
* a speech's Markdown source (data/…md): the speech;
* page k of a term's listing: the term (kind, name, slug, URL), k and which newer pages exist (the
  newest page: the number of speeches and of pages; listings.Blocks.shape), its speeches;
* page k of every speech (all/): likewise, without the term;
* the compare page's list of speeches (docs.js): what it shows of every speech (title, URL, date,
  meeting type; and its source).

A speech stands in them as (source, digest of the file, URL, the URLs of its terms): everything
else a view reads of it (metadata, table of contents, word count, reading time) is parsed from the
file's bytes with the parse settings and the code version, which are in the scope. On another
speech's page, a speech stands as what that page shows of it (title, URL, date; the digest of
``page_changes._listed``): a changed body changes no other speech page's inputs. Every other
page (home, statistics, feed, indexes of terms, sitemap, the compare page, search, 404) is cheap
and made every build (``Page``, not ``Planned``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING

import jinja2

from . import collector, listings
from .build_support import TemplateProblem
from .model import Speech
from .render import Page, Views, data_paths

if TYPE_CHECKING:  # page_changes imports numpy: a build with nothing to do never needs it
    from . import page_changes


@dataclass
class Planned(Page):
    """A page whose view is made only when asked for (``ensure``): ``inputs`` is the digest of
    what the view is made from, scope left out (``combine`` adds it); None when the plan found
    that they cannot have changed since the last plan (page_changes.py): ``inputs_of`` computes
    them if they are needed after all."""

    inputs: str | None = ""
    make: Callable[[], Page] | None = None
    inputs_of: Callable[[], str] | None = None

    def known_inputs(self) -> str:
        if self.inputs is None:
            assert self.inputs_of is not None  # (set by the plan with inputs=None)
            self.inputs, self.inputs_of = self.inputs_of(), None
        return self.inputs

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


class Plan(list):
    """The pages of a plan (a list) and what it found changed since the last plan (``changes``:
    its state is kept for the next one, page_changes.dump)."""

    changes: page_changes.Changes | None = None


def plan(views: Views, previous: bytes | None = None) -> Plan:
    """Every page of ``views.all_pages()``, in the same order, with the speeches' pages, their
    sources' pages and the listings as ``Planned`` (made on demand, the same views when made).
    ``previous``: the state the last plan kept (BuildCache.page_plan): the inputs of the pages
    that cannot have changed since are not computed (page_changes.py)."""
    with collector.paused(keep=True):  # plain data without cycles (see Views.all_pages), kept until written
        return _plan(views, previous)


def _planned(path: str, template: str, fresh: bool, inputs_of: Callable[[], str], make, **more) -> Planned:
    if fresh:
        return Planned(path, template, {}, inputs=inputs_of(), make=make, **more)
    return Planned(path, template, {}, inputs=None, make=make, inputs_of=inputs_of, **more)


def _plan(views: Views, previous: bytes | None) -> Plan:
    from . import page_changes

    a = views.archive
    changes = page_changes.compare(views, previous, partial(_token, term_url=views.term_url), _digest)
    tok, shown = changes.tok, changes.listed  # a speech: one digest; what other speeches' pages show of it
    same_type, passages = views.same_type(), _Passages(views, shown, changes.passages)
    pages = Plan(_speech_page(views, s, tok, shown, same_type, passages, changes.fresh_speech(s)) for s in a.speeches)
    pages.changes = changes
    for s in a.speeches:
        inputs_of, make = partial(tok.__getitem__, id(s)), partial(views.data_page, s)
        path = data_paths(s.url)[1]
        pages.append(_planned(path, "speech-source.md", changes.fresh_data(s), inputs_of, make, owner=s.source))
    lists = listings.Listings(views)
    for tax in a.taxonomies():
        pages.append(views.taxonomy_index(tax))
        for term in tax.terms:
            paths = lists.term_paths(tax, term)
            fresh = changes.fresh_term(views.term_url[(tax.kind, term.name)])
            for k in range(1, len(paths) + 1):
                inputs_of = partial(_term_inputs, lists, tok, tax, term, k)
                make = partial(lists.term_page, tax, term, k, paths)
                pages.append(_planned(paths[k - 1], "term.html", fresh, inputs_of, make))
    paths = lists.all_paths()
    for k in range(1, len(paths) + 1):
        inputs_of, make = partial(_all_inputs, lists, tok, k), partial(lists.all_page, k, paths)
        pages.append(_planned(paths[k - 1], "all.html", changes.fresh_all(k), inputs_of, make))
    pages += views.site_pages()
    docs = _planned(
        views.compare_docs_path(),
        "compare-docs.js",
        changes.docs,
        partial(_docs_inputs, changes.listed),
        views.compare_docs_page,
    )
    pages += [views.compare_page(), docs]
    views.with_sitemap(pages)  # (appends the sitemap)
    return pages


def _term_inputs(lists: listings.Listings, tok: dict, tax, term, k: int) -> str:
    """Page ``k`` of a term's listing: the term, the page's shape (listings.Blocks.shape: the total
    and the number of pages on the newest page only) and its speeches."""
    blocks = lists.blocks(term.count)
    chunk = ",".join([tok[id(s)] for s in term.speeches[blocks.chunk(k)]])
    url = lists.views.term_url[(tax.kind, term.name)]
    return _digest(("term", tax.kind, tax.label, term.name, term.slug, url, blocks.shape(k), chunk))


def _all_inputs(lists: listings.Listings, tok: dict, k: int) -> str:
    speeches = lists.views.archive.speeches
    blocks = lists.blocks(len(speeches))
    chunk = ",".join([tok[id(s)] for s in speeches[blocks.chunk(k)]])
    return _digest(("all", blocks.shape(k), chunk))


def _docs_inputs(listed: dict) -> str:
    """What the list shows of every speech (page_changes._listed; their order follows from it)."""
    return _hash(",".join(sorted(listed.values())))


def _token(s: Speech, term_url: dict) -> tuple:
    """A speech as the inputs name it: source, digest, URL, and the URLs of its terms (its
    summary links to them: Views._make_summary)."""
    m = s.meta
    terms = [("year", str(s.year)), ("meeting_type", m.meeting_type), *(("theme", t) for t in m.themes)]
    if m.speaker:
        terms.append(("speaker", m.speaker))
    return (s.source, s.digest, s.url, *(term_url.get(t) for t in terms))


def _speech_page(
    views: Views, s: Speech, tok: dict, shown: dict, same_type: dict, passages: _Passages, fresh: bool
) -> Planned:
    inputs_of = partial(_speech_inputs, s, tok, shown, same_type, passages)
    make = partial(_speech_view, views, s, passages)
    return _planned(s.url, "speech.html", fresh, inputs_of, make, owner=s.source, body_of=(s.source, s.digest))


def _speech_inputs(s: Speech, tok: dict, shown: dict, same_type: dict, passages: _Passages) -> str:
    """The speech's token; of the speeches its page names (neighbours, related, 对比, passages),
    what it shows of them (title, URL, date: ``shown``, page_changes._listed's digests): a body
    changed changes no other speech page's inputs."""
    older, newer = same_type.get(id(s), (None, None))
    get = shown.get
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
    return _hash(parts)


def _speech_view(views: Views, s: Speech, passages: _Passages) -> Page:
    return views.with_compare(views.speech_page(s, passages.found(s)), s)


class _Passages:
    """A speech's passages as inputs: each passage's text and places, the sources of its places
    that are not published, and the first three published sources it is found in (the page names
    the first two places in other speeches: they are in these three)."""

    def __init__(self, views: Views, shown: dict, lists: dict):
        self.reuse, self.views, self.shown = views.reuse, views, shown
        self.lists = lists  # source → its passages, as reuse.of gives them, for some (page_changes.py)
        self._known: dict[str, str] | None = None
        self._tokens: dict[int, tuple] = {}  # id(passage) → (its digest, the passage: its id stays its own)

    @property
    def known(self) -> dict[str, str]:
        """Published source → the digest of what pages show of it."""
        if self._known is None:
            self._known = {s.source: self.shown[id(s)] for s in self.views.archive.speeches}
        return self._known

    def found(self, s: Speech) -> list | None:
        """Its passages, as reuse.of gives them (from the plan's lists when it has them: reuse.of
        indexes every passage's places on its first call)."""
        if self.reuse is None:
            return None
        found = self.lists.get(s.source)
        return self.reuse.of(s.source) if found is None else found

    def of(self, s: Speech) -> str:
        found = self.found(s)
        if found is None:
            return "-"
        tokens = self._tokens
        return ",".join([(tokens.get(id(p)) or self._token(p))[0] for p in found])

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


#: Settings that say where the files are, not what a page shows: the folder the paths are
#: relative to, the content folder (a page that reads a speech's file has the file's digest in
#: its inputs), the output folder and the templates' folder (a template's fingerprint is its
#: name and source, wherever it is). A build given the same folders as relative paths after
#: absolute ones (or run from another folder) keeps every page's scope.
WHERE = ("root", "content_dir", "output_dir", "templates_dir")


def settings_shown(config) -> str:
    """The configuration as the pages' scope holds it: every setting but ``WHERE``'s."""
    return repr([(f.name, getattr(config, f.name)) for f in fields(config) if f.name not in WHERE])


class Scopes:
    """The scope of each template's pages (see the module's docstring)."""

    def __init__(self, views: Views, templates, site_fp: str):
        self.templates = templates
        shared = (settings_shown(views.config), site_fp, views.reuse is not None)
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


BATCH = 2_000  # pages whose views exist at a time while the pages are rendered (#15)


def select(pages: list[Page], known: dict, stored: dict, scopes: Scopes, key_of, out_dir: str) -> Selection:
    """The pages that may have to be rendered, found without making a view: every page whose
    inputs changed, and every page that is not ``Planned``; ``Selection.batches`` makes their
    views and keys a batch at a time. ``known``: path → (key, owner) as last rendered;
    ``stored``: path → (inputs, key) as last stored. A page the plan found unchanged (inputs
    None) is skipped when its scope is that of the last plan, its key is the one the last plan's
    build left and its file is there; otherwise its inputs are computed, and it is skipped when
    they and its key are the stored ones and its file is there."""
    changes = getattr(pages, "changes", None)
    last_scopes, last_keys = (changes.scopes, changes.keys) if changes is not None else ({}, {})
    exists = _Files(out_dir)
    candidates: list[tuple[Page, str | None]] = []
    for page in pages:
        path = page.path
        old = known.get(path)
        scope = scopes.of(page)  # (one per template: Scopes keeps them; a broken template stops here)
        if not isinstance(page, Planned):
            candidates.append((page, None))
            continue
        unchanged = page.inputs is None and last_scopes.get(page.template) == scope
        if unchanged and old and last_keys.get(path) == old[0] and path in exists:
            continue  # rendered from the inputs it has now (page_changes.py)
        inputs = combine(scope, page.known_inputs())
        if old and stored.get(path) == (inputs, old[0]) and path in exists:
            continue
        candidates.append((page, inputs))
    return Selection(candidates, known, exists, key_of)


@dataclass
class Batch:
    """Of a batch of candidates: ``todo``, the pages to render as (page, key, why, inputs: None
    for a page that is not ``Planned``); ``refreshed``, (path, inputs, key) of the pages whose
    inputs changed but not their key (nothing to write, their views let go of already);
    ``unchanged``, how many pages kept their key."""

    todo: list[tuple[Page, str, str, str | None]]
    refreshed: list[tuple[str, str, str]]
    unchanged: int


class Selection:
    """The candidates of ``select`` (``total``: how many), their views made and their keys
    computed a batch at a time (``batches``). The view of each page is let go of (``let_go``)
    once it is written or found unchanged: only one batch's views exist at a time (#15)."""

    def __init__(self, candidates: list, known: dict, exists: _Files, key_of):
        self.candidates, self.known, self.exists, self.key_of = candidates, known, exists, key_of
        self.total = len(candidates)

    def batches(self, size: int | None = None) -> Iterator[Batch]:
        size = size or BATCH
        for start in range(0, len(self.candidates), size):
            yield self._batch(self.candidates[start : start + size])

    def _batch(self, part: list) -> Batch:
        batch = Batch([], [], 0)
        for page, inputs in part:
            if isinstance(page, Planned):
                page.ensure()
            key = self.key_of(page)
            old = self.known.get(page.path)
            if old and old[0] == key and page.path in self.exists:
                if inputs is not None:
                    batch.refreshed.append((page.path, inputs, key))
                batch.unchanged += 1
                let_go(page)
                continue
            batch.todo.append((page, key, "new page" if not old else "changed", inputs))
        return batch


def let_go(page: Page) -> None:
    """A page's view, once written (or found unchanged): only its path, template and owner are
    read after (``kept``, the build's explain lines, problems and the pages' table)."""
    page.view, page.key_view = {}, None


class _Files:
    """Whether a page's file is in the output folder: one listing of each folder asked about
    (not one stat a page: 23,000 at 10,000 speeches)."""

    def __init__(self, root: str):
        self.root = root
        self.folders: dict[str, set[str]] = {}

    def __contains__(self, path: str) -> bool:
        folder, _, name = path.rpartition("/")
        names = self.folders.get(folder)
        if names is None:
            try:
                with os.scandir(os.path.join(self.root, folder)) as entries:
                    names = {e.name for e in entries if e.is_file()}
            except OSError:
                names = set()
            self.folders[folder] = names
        return name in names


def kept(pages: list[Page], scopes: Scopes, known: dict, rendered: dict[str, str]) -> bytes | None:
    """What to keep of this plan for the next one (page_changes.py): with the scopes of its
    planned pages' templates and their keys (``rendered``'s, path → key, when rendered, else
    ``known``'s: see ``select``); None for a list of pages that is not a ``Plan``."""
    changes = getattr(pages, "changes", None)
    if changes is None:
        return None
    templates = {page.template: page for page in pages if isinstance(page, Planned)}
    keys = {p.path: rendered.get(p.path) or known[p.path][0] for p in pages if isinstance(p, Planned)}
    from . import page_changes

    return page_changes.dump(changes, {template: scopes.of(page) for template, page in templates.items()}, keys)
