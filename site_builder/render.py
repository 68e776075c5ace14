"""Page contexts ("views") for every page of the site. Pure: reads the model, writes nothing.

A view is plain data (str, int, list, dict). The build hashes each page's view together with
the fingerprints of its templates into the page's key; a page whose key is unchanged is not
rendered again. Only the body HTML of a speech is not in the view: its file digest is (and
the speech's table of contents, a ``markup.Toc`` that comes from the same file, is in the view
but not in the key).

A speech's summary appears on its own page and on several listings; it is built once and
hashed once (``Page.key_view`` holds its digest in place of the summary), which keeps the keys
of 10,000+ pages cheap to compute.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import quote

from . import collector
from .config import SiteConfig
from .model import Archive, Speech, Taxonomy, Term
from .urls import UrlMap, absolute

LABELS = {"year": "年份", "meeting_type": "会议类型", "theme": "主题", "speaker": "讲话人"}
INDEX_KINDS = {"year": "years", "meeting_type": "meeting_types", "theme": "themes", "speaker": "speakers"}
MONTHS_EN = tuple("January February March April May June July August September October November December".split())


@dataclass
class Page:
    path: str  # output path relative to output/
    template: str
    view: dict
    owner: str | None = None  # source of the speech a page belongs to
    body_of: tuple[str, str] | None = None  # (source, digest) whose HTML the page embeds
    key_view: dict | None = None  # what the page key hashes instead of ``view``: the same data, with
    # shared parts (summaries) replaced by their digests and what body_of determines (the table of
    # contents) left out

    def keyed(self) -> dict:
        return self.view if self.key_view is None else self.key_view


def digest(data) -> str:
    """Digest of plain data built in a fixed order (the same data gives the same digest in every run)."""
    return hashlib.sha1(repr(data).encode("utf-8", "surrogatepass")).hexdigest()


def json_for_script(data) -> str:
    """JSON that is safe as the text of a <script type="application/ld+json"> element: no "<",
    ">" or "&" (so no "</script>" and no "<!--"), and no line separators that old parsers reject."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


_QUERY_ESCAPED = re.compile(r"[^\w/.~-]")


def query_value(value: str) -> str:
    """A value in a link's query: what is not a letter, digit or one of "/.~-" percent-encoded
    (a space, "&", "=", "#", "+", punctuation); letters and digits of any script as written."""
    return _QUERY_ESCAPED.sub(lambda m: quote(m.group(), safe=""), value)


def site_view(config: SiteConfig) -> dict:
    return {
        "title": config.title,
        "description": config.description,
        "base_url": config.base_url,
        "urls": {kind: pattern for kind, pattern in config.urls.items() if "{" not in pattern},
    }


REUSED_SHOWN = 5  # passages listed on a speech page, the longest (all: site-builder reuse SPEECH)
REUSED_PLACES = 2  # other speeches named per passage
REUSED_CHARS = 60  # characters of a passage shown


DATA_DIR = "data"  # a speech's Markdown source: data/<its page's path>.md


def data_paths(page: str) -> tuple[str, str]:
    """(plain-text file name, Markdown source output path) of a speech: speeches/2020/a.html →
    a.txt (the name cite.js gives the plain text it makes in the page: no file is written) and
    data/speeches/2020/a.md (a tree of its own, beside the pages')."""
    base = page[: -len(".html")] if page.endswith(".html") else page.rstrip("/") + "/index"
    return f"{base.rpartition('/')[2]}.txt", f"{DATA_DIR}/{base}.md"  # (posixpath.basename)


class Views:
    def __init__(self, config: SiteConfig, archive: Archive, reuse=None):
        self.config = config
        self.archive = archive
        self.reuse = reuse  # reuse.Reuse: passages found in more than one speech
        self.urls = UrlMap(config.urls)
        self.term_url = {
            (tax.kind, term.name): self.urls.path(tax.kind, slug=term.slug)
            for tax in archive.taxonomies()
            for term in tax.terms
        }
        self._summaries: dict[int, tuple[dict, str]] = {}  # id(speech) → (summary, its digest)
        self._lites: dict[int, dict] = {}
        self._links: dict[tuple[str, str], dict] = {}
        self._passage_places: dict[int, tuple] = {}  # (``_places``; let go of by ``forget``)

    def forget(self) -> None:
        """Between batches of pages (#15): the passages' places (summaries stay: each is on several pages)."""
        self._passage_places = {}

    # -- building blocks -------------------------------------------------------------------
    def term_link(self, kind: str, name: str) -> dict:
        link = self._links.get((kind, name))
        if link is None:
            link = self._links[(kind, name)] = {"name": name, "url": self.term_url[(kind, name)]}
        return link

    def lite(self, s: Speech | None) -> dict | None:
        if s is None:
            return None
        hit = self._lites.get(id(s))
        if hit is None:
            hit = self._lites[id(s)] = {
                "title": s.title,
                "url": s.url,
                "date": s.date.iso(),
                "date_cn": s.date.chinese(),
            }
        return hit

    def summary(self, s: Speech) -> dict:
        return self._summary(s)[0]

    def summary_digest(self, s: Speech) -> str:
        return self._summary(s)[1]

    def _summary(self, s: Speech) -> tuple[dict, str]:
        """Built once per speech; templates never change a view, so sharing the dict is safe."""
        hit = self._summaries.get(id(s))
        if hit is None:
            view = self._make_summary(s)
            hit = self._summaries[id(s)] = (view, digest(view))
        return hit

    def _make_summary(self, s: Speech) -> dict:
        m = s.meta
        return {
            "title": m.title,
            "url": s.url,
            "source": s.source,
            "date": m.date.iso(),
            "date_cn": m.date.chinese(),
            "year": s.year,
            "year_url": self.term_url[("year", str(s.year))],
            "meeting_type": self.term_link("meeting_type", m.meeting_type),
            "themes": [self.term_link("theme", t) for t in m.themes],
            "speaker": m.speaker,
            "organization": m.organization,
            "summary": m.summary,
            "speaker_url": self.term_url.get(("speaker", m.speaker)) if m.speaker else None,
            "word_count": s.word_count,
        }

    def term_summary(self, kind: str, term: Term) -> dict:
        return {"name": term.name, "count": term.count, "url": self.term_url[(kind, term.name)]}

    def citation(self, s: Speech) -> dict:
        """How to cite a speech (the page's 引用 block, its meta tags and JSON-LD): computed here so
        that the page is right without JavaScript. Nothing in it depends on the day of the build
        (pages must not change from one build to the next): the access date that GB/T 7714 asks
        for ([引用日期]) is the reader's and is put in by cite.js."""
        m = s.meta
        # The page's address. base_url "/" (the default) names no server: the URL is then relative
        # to the server's root ("/speeches/2020/….html"), and cite.js puts in the page's own http(s)
        # address when the page is read from a server.
        url = absolute(self.config.base_url, s.url)
        author = m.speaker or m.organization or self.config.title
        kind = "Person" if m.speaker else "Organization"
        d = m.date
        date_en = (
            str(d.year)
            if d.month is None
            else f"{MONTHS_EN[d.month - 1]} {d.year}"
            if d.day is None
            else f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}"
        )
        where = ", ".join(x for x in (m.meeting_type, m.location) if x)
        author_ld: dict = {"@type": kind, "name": author}
        if m.speaker and m.organization:
            author_ld["affiliation"] = {"@type": "Organization", "name": m.organization}
        ld: dict = {
            "@context": "https://schema.org",
            "@type": "CreativeWork",
            "name": m.title,
            "author": author_ld,
            "datePublished": d.iso(),
            "publisher": {"@type": "Organization", "name": self.config.title},
            "url": url,
            "inLanguage": "zh-CN",
            "about": [{"@type": "Thing", "name": t} for t in m.themes],
        }
        if m.location:
            ld["locationCreated"] = {"@type": "Place", "name": m.location}
        if m.summary:
            ld["description"] = m.summary
        if m.tags:
            ld["keywords"] = list(m.tags)
        return {
            "author": author,
            "author_kind": kind.lower(),
            "url": url,
            # GB/T 7714-2015, an online document ([EB/OL]): 主要责任者. 题名[EB/OL]. (发表日期)[引用日期]. 访问路径.
            # The template adds "[引用日期]" (filled in by cite.js), ". " and the URL.
            "gb7714": f"{author}. {m.title}[EB/OL]. ({d.iso()})",
            # English: speaker, "title", meeting, place, date; the template adds the URL.
            "en": f'{author}. "{m.title}." {where}, {date_en}.',
            # Highwire Press (Google Scholar, Zotero): YYYY/MM/DD, or the year alone.
            "date_meta": f"{d.year:04d}/{d.month:02d}/{d.day:02d}" if d.day is not None else f"{d.year:04d}",
            "jsonld": json_for_script(ld),
        }

    def _places(self, p) -> tuple[list[tuple[str, int]], dict[str, list[int]]]:
        """A passage's places in published speeches, in order, and each speech's paragraphs: once
        per passage (a common passage has thousands of places; each of its speeches asks)."""
        if not hasattr(self, "_by_source"):
            self._by_source = {sp.source: sp for sp in self.archive.speeches}
        hit = self._passage_places.get(id(p))
        if hit is None:
            kept = [(pl.source, pl.paragraph) for pl in p.places if pl.source in self._by_source]
            paragraphs: dict[str, list[int]] = {}
            for source, n in kept:
                paragraphs.setdefault(source, []).append(n)
            hit = self._passage_places[id(p)] = (kept, paragraphs, p)  # p kept: its id stays its own
        return hit[0], hit[1]

    def reused(self, s: Speech, passages: list | None = None) -> tuple[list[dict], int]:
        """(the longest passages of ``s`` (of ``passages``: reuse.of's, if known) also found in other speeches,
        in the order of its text, with its paragraphs and the others' (``#p{n}``); how many more not listed)."""
        found = []  # (passage, its paragraphs here, how many places in other speeches, its places)
        for p in self.reuse.of(s.source) if passages is None else passages:
            kept, paragraphs = self._places(p)
            here = paragraphs.get(s.source, [])
            if len(kept) > len(here):
                found.append((p, here, len(kept) - len(here), kept))
        longest = sorted(found, key=lambda f: -len(f[0].text))[:REUSED_SHOWN]  # (stable: ties in text order)
        shown = []
        for p, here, count, kept in longest:
            others = []
            for source, n in kept:  # the first REUSED_PLACES places in other speeches, in order
                if source != s.source:
                    others.append(dict(self.lite(self._by_source[source]) or {}, paragraph=n))
                    if len(others) == REUSED_PLACES:
                        break
            text = p.text if len(p.text) <= REUSED_CHARS else p.text[: REUSED_CHARS - 1] + "…"
            shown.append(
                {"text": text, "length": len(p.text), "here": here, "others": others, "more": count - len(others)}
            )
        shown.sort(key=lambda v: (v["here"][0], v["text"]))
        return shown, len(found) - len(shown)

    # -- pages -----------------------------------------------------------------------------
    def speech_page(self, s: Speech, passages: list | None = None) -> Page:
        m = s.meta  # (``passages``: reuse.of's for this speech, when known)
        rest: dict = {
            "location": m.location,
            "source_note": m.source,
            "tags": list(m.tags),
            "reading_minutes": s.reading_minutes,
            "prev": self.lite(s.prev),
            "next": self.lite(s.next),
            "related": [self.lite(r) for r in s.related],
            "cite": self.citation(s),
        }
        if self.reuse is not None:
            rest["reused"], rest["reused_more"] = self.reused(s, passages)
        rest["text_name"], rest["source_url"] = data_paths(s.url)
        # The table of contents (TocEntry: level, id, title) comes from the file like the body,
        # so the page key has it through body_of (the file's digest).
        return Page(
            s.url,
            "speech.html",
            {"speech": self.summary(s) | rest | {"toc": s.toc}},
            owner=s.source,
            body_of=(s.source, s.digest),
            key_view={"speech": rest, "summary": self.summary_digest(s)},
        )

    def taxonomy_index(self, tax: Taxonomy) -> Page:
        view = {
            "kind": tax.kind,
            "label": tax.label,
            "total": len(self.archive.speeches),
            "terms": [self.term_summary(tax.kind, t) for t in tax.terms],
        }
        return Page(self.urls.path(INDEX_KINDS[tax.kind]), "taxonomy.html", view)

    def home(self) -> Page:
        a = self.archive
        speakers = [
            self.term_summary("speaker", t) for tax in a.taxonomies() if tax.kind == "speaker" for t in tax.terms
        ]
        view = {
            "total": len(a.speeches),
            "latest": [self.summary(s) for s in a.speeches[: self.config.home_latest]],
            "years": [self.term_summary("year", t) for t in a.years.terms],
            "meeting_types": [self.term_summary("meeting_type", t) for t in a.meeting_types.terms],
            "themes": [self.term_summary("theme", t) for t in a.themes.terms],
            "speakers": speakers,
            "index_urls": {k: self.urls.path(v) for k, v in INDEX_KINDS.items()},
            "all_url": self.urls.path("all"),
        }
        return Page(self.urls.path("home"), "index.html", view)

    def stats(self) -> Page:
        a = self.archive
        years = sorted(a.years.terms, key=lambda t: int(t.name))
        view = {
            "total": len(a.speeches),
            "words": sum(s.word_count for s in a.speeches),
            "by_year": [(t.name, t.count, self.term_url[("year", t.name)]) for t in years],
            "by_theme": [(t.name, t.count, self.term_url[("theme", t.name)]) for t in a.themes.terms],
            "by_meeting_type": [
                (t.name, t.count, self.term_url[("meeting_type", t.name)]) for t in a.meeting_types.terms
            ],
        }
        return Page(self.urls.path("stats"), "stats.html", view)

    def feed(self) -> Page:
        latest = self.archive.speeches[: self.config.feed_items]
        view = {
            "entries": [self.summary(s) | {"digest": s.digest} for s in latest],
            "updated": max((s.date.as_date().isoformat() for s in latest), default="1970-01-01"),
        }
        return Page(self.urls.path("feed"), "feed.xml", view)

    def simple(self, kind: str, template: str) -> Page:
        return Page(self.urls.path(kind), template, {})

    # -- compare (issue #14): the compare page, its list of speeches, each speech page's 对比 -----
    def compare_docs_path(self) -> str:
        """The list of speeches for the compare page and the 对比 blocks, beside the compare page."""
        return posixpath.join(posixpath.dirname(self.urls.path("compare")), "docs.js")

    def compare_page(self) -> Page:
        return Page(self.urls.path("compare"), "compare.html", {"compare_docs": self.compare_docs_path()})

    def compare_docs_page(self) -> Page:
        """Every speech's title, URL, date and meeting type, in date order (the compare page's list)."""
        from .compare import browser_docs_json

        return Page(
            self.compare_docs_path(), "compare-docs.js", {"docs_json": browser_docs_json(self.archive.speeches)}
        )

    def same_type(self) -> dict[int, tuple[Speech | None, Speech | None]]:
        """id(speech) → (older, newer) speech of its meeting type (what with_compare offers)."""
        if getattr(self, "_same_type", None) is None:
            self._same_type = self.archive.same_type_neighbours()
        return self._same_type

    def with_compare(self, page: Page, s: Speech) -> Page:
        """A speech page with its 对比 offer: the previous speech of the same meeting type (the
        next one when there is none before), older one first (a), then the newer (b)."""
        older, newer = self.same_type().get(id(s), (None, None))
        other = older or newer
        view: dict = {
            "page": self.urls.path("compare"),
            "docs": self.compare_docs_path(),
            "self": s.url,
            "other": self.lite(other),
            "older": older is not None,
            "a": (other.url if older else s.url) if other else None,
            "b": (s.url if older else other.url) if other else None,
        }
        if other:  # the link's query: letters and digits as written (as urls.rel does in paths)
            a, b = (other.url, s.url) if older else (s.url, other.url)
            view["query"] = f"a={query_value(a)}&b={query_value(b)}"
        page.view = page.view | {"compare": view}
        page.key_view = page.keyed() | {"compare": view}
        return page

    def data_page(self, s: Speech) -> Page:
        """Beside a speech's page: its Markdown source as written (UTF-8, without a BOM, newlines
        normalised). Its key is the file's digest; the body is not read to write it. (The plain
        text, one line per block, is made in the page by cite.js.)"""
        if not hasattr(self, "_content"):
            self._content = self.config.content  # (resolved on every use)
        source_file = str(self._content / s.source)
        return Page(
            data_paths(s.url)[1],
            "speech-source.md",
            {"source_file": source_file},
            owner=s.source,
            key_view={"source": s.source, "digest": s.digest},  # (not where the content folder is)
        )

    def all_pages(self) -> list[Page]:
        """Every page of the site, with the collector paused: the views are plain data without cycles."""
        with collector.paused():
            return self._all_pages()

    def _all_pages(self) -> list[Page]:
        from . import listings  # (the listings' views build on this module's)

        a, lists = self.archive, listings.Listings(self)
        pages = [self.with_compare(self.speech_page(s), s) for s in a.speeches]
        pages += [self.data_page(s) for s in a.speeches]
        for tax in a.taxonomies():
            pages.append(self.taxonomy_index(tax))
            for term in tax.terms:
                pages.extend(lists.term_pages(tax, term))
        pages += lists.all_pages()
        pages += self.site_pages()
        pages += [self.compare_page(), self.compare_docs_page()]
        return self.with_sitemap(pages)

    def site_pages(self) -> list[Page]:
        """Made every build: home, statistics, feed, search, 404."""
        return [
            self.home(),
            self.stats(),
            self.feed(),
            self.simple("search", "search.html"),
            self.simple("not_found", "404.html"),
        ]

    def with_sitemap(self, pages: list[Page]) -> list[Page]:
        """``pages`` and, last, the sitemap of their HTML pages (404 left out)."""
        html_paths = sorted(p.path for p in pages if p.path.endswith(".html") and p.template != "404.html")
        pages.append(Page(self.urls.path("sitemap"), "sitemap.xml", {"paths": html_paths}))
        return pages
