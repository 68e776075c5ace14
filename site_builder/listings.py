"""The listings' pages (a term's speeches: years/2020/, meeting-types/…, themes/…, speakers/…; and
every speech: all/): views of ``render.Page``, paginated from the oldest (#15).

A listing of T speeches, newest first, P = ``per_page`` a page. Its pages are counted from the
oldest: ``page-1.html`` holds the oldest P speeches, page k the k-th block of P counted from the
oldest, and the listing's index (``all/index.html``, ``years/2020/index.html``, …) is the newest
page: it holds the newest block, the rest, between P and 2P − 1 speeches (a listing of fewer than
2P speeches is one page). Within a page the order is newest first. So a page keeps its speeches
and its URL while newer speeches are added: what page k shows is its block, its number and which
of its newer neighbours exist (``Blocks.newer``); only the newest page shows the total and the
number of pages. An added newest speech re-renders the index of each listing it is in (and, when
the index has 2P − 1 and a new block is cut off, that new page and the page below it); an older
speech added or removed moves the blocks above it, whose pages change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import Speech, Taxonomy, Term
from .render import INDEX_KINDS, Page

if TYPE_CHECKING:
    from .render import Views


@dataclass(frozen=True)
class Blocks:
    """The pages of a listing of ``total`` speeches, ``per`` a page (numbers 1-based, from the oldest)."""

    total: int
    per: int

    @property
    def count(self) -> int:
        """Number of pages (the newest is the index)."""
        return max(1, self.total // self.per)

    def chunk(self, k: int) -> slice:
        """Page ``k``'s speeches in the newest-first list: positions (k − 1)·P … k·P − 1 counted
        from the oldest (the newest page: to the newest)."""
        older = (k - 1) * self.per
        newest = self.total if k == self.count else k * self.per
        return slice(self.total - newest, self.total - older)

    def page_of(self, i: int) -> int:
        """The page of the speech at index ``i`` of the newest-first list."""
        return min((self.total - 1 - i) // self.per + 1, self.count)

    def newer(self, k: int) -> int:
        """What page ``k`` shows of the pages newer than itself: 0, it is the newest; 1, the next
        one is the newest (the index); 2, the next one is a numbered page."""
        return min(self.count - k, 2)

    def shape(self, k: int) -> tuple:
        """All that page ``k``'s view depends on but its speeches: its number and its newer
        neighbours; the newest page, the total and the number of pages too."""
        if k == self.count:
            return (k, 0, self.total, self.count)
        return (k, self.newer(k))


def pager(k: int, newer: int, path_of) -> dict:
    """The pager of page ``k`` (``newer``: Blocks.newer; ``path_of(n)``: page n's path, None for
    the newest, the index): newest first — the newest page (最新), the next newer page if it is a
    numbered one, page k, k − 1, a gap, page 1 (the oldest) — with the newer and the older page
    (rel prev and next: the order of reading, newest first). Nothing in it depends on the number
    of pages (a page below the newest stays the same while speeches are added)."""
    index = path_of(None)
    newest = newer == 0
    entries = [{"label": "最新", "url": index, "current": newest, "number": None}]
    numbers = ([k + 1] if newer == 2 else []) + ([] if newest else [k]) + ([k - 1] if k > 1 else [])
    for n in numbers:
        entries.append({"label": str(n), "url": path_of(n), "current": n == k, "number": n})
    if k - 2 > 1:
        entries.append({"gap": True})
    if k - 1 > 1:
        entries.append({"label": "1", "url": path_of(1), "current": False, "number": 1})
    return {
        "page": k,
        "newest": newest,
        "index": index,
        "entries": entries,
        "prev": None if newest else path_of(k + 1) if newer == 2 else index,
        "next": path_of(k - 1) if k > 1 else None,
    }


def date_range(chunk: list[Speech]) -> list[str] | None:
    """[oldest, newest] date of a page's speeches (newest first), as 2020年3月5日."""
    return [chunk[-1].date.chinese(), chunk[0].date.chinese()] if chunk else None


class Listings:
    """The listings' paths and views, made from ``views`` (which holds no reference to this: no
    cycle keeps the model alive once the build lets go of the views)."""

    def __init__(self, views: Views):
        self.views, self.urls, self.per = views, views.urls, views.config.per_page

    def blocks(self, total: int) -> Blocks:
        return Blocks(total, self.per)

    def path(self, kind: str, slug: str, k: int | None, blocks: Blocks) -> str:
        """Page ``k``'s path (None or the newest: the index; the others ``{kind}_page``, from 1)."""
        return self.urls.path(kind, slug=slug, page=None if k == blocks.count else k)

    # -- a term's speeches -----------------------------------------------------------------
    def term_pages(self, tax: Taxonomy, term: Term) -> list[Page]:
        paths = self.term_paths(tax, term)
        return [self.term_page(tax, term, k, paths) for k in range(1, len(paths) + 1)]

    def term_paths(self, tax: Taxonomy, term: Term) -> list[str]:
        """The paths of a term's pages, page 1 (the oldest) first."""
        blocks = self.blocks(term.count)
        return [self.path(tax.kind, term.slug, k, blocks) for k in range(1, blocks.count + 1)]

    def term_page(self, tax: Taxonomy, term: Term, k: int, paths: list[str]) -> Page:
        """Page ``k`` of a term's speeches; ``paths``: term_paths."""
        views, blocks = self.views, self.blocks(term.count)
        chunk = term.speeches[blocks.chunk(k)]
        shown = {"name": term.name, "url": views.term_url[(tax.kind, term.name)]}
        view = {
            "kind": tax.kind,
            "label": tax.label,
            "index_url": self.urls.path(INDEX_KINDS[tax.kind]),
            "term": shown | {"count": term.count} if k == blocks.count else shown,
            "pages": blocks.count if k == blocks.count else None,
        } | self._common(k, blocks, chunk, lambda n: self.path(tax.kind, term.slug, n, blocks))
        key_view = view | {"speeches": [views.summary_digest(s) for s in chunk]}
        return Page(paths[k - 1], "term.html", view, key_view=key_view)

    # -- every speech (all/) ---------------------------------------------------------------
    def all_pages(self) -> list[Page]:
        """Every speech, newest first (all/page-1.html the oldest, …, all/index.html the newest)."""
        paths = self.all_paths()
        return [self.all_page(k, paths) for k in range(1, len(paths) + 1)]

    def all_paths(self) -> list[str]:
        blocks = self.blocks(len(self.views.archive.speeches))
        return [self.path("all", "", k, blocks) for k in range(1, blocks.count + 1)]

    def all_page(self, k: int, paths: list[str]) -> Page:
        """Page ``k`` of every speech; ``paths``: all_paths."""
        speeches = self.views.archive.speeches
        blocks = self.blocks(len(speeches))
        chunk = speeches[blocks.chunk(k)]
        newest = k == blocks.count
        view = {
            "total": len(speeches) if newest else None,
            "pages": blocks.count if newest else None,
        } | self._common(k, blocks, chunk, lambda n: self.path("all", "", n, blocks))
        key_view = view | {"speeches": [self.views.summary_digest(s) for s in chunk]}
        return Page(paths[k - 1], "all.html", view, key_view=key_view)

    def _common(self, k: int, blocks: Blocks, chunk: list[Speech], path_of) -> dict:
        """What a page of either kind shows of its block: its speeches, the number of its newest
        (counted from the oldest: ``<ol reversed start>``), their dates, the pager."""
        return {
            "speeches": [self.views.summary(s) for s in chunk],
            "first_number": blocks.total - blocks.chunk(k).start,
            "range": date_range(chunk),
            "pagination": pager(k, blocks.newer(k), path_of) if blocks.count > 1 else None,
        }
