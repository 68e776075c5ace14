"""The archive in memory: speeches, and their grouping by year, meeting type and theme; and
``IndexDoc``, one speech as both search indexes see it. No I/O; light to import (a search needs
only ``IndexDoc``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import Problem

if TYPE_CHECKING:
    from .dates import PartialDate
    from .markup import Toc
    from .schema import SpeechMeta
    from .urls import UrlMap


@dataclass(frozen=True)
class IndexDoc:
    """One speech as both indexes see it. ``body`` is its plain text, one line per block: line i is
    the block ``#p{i+1}`` of its page (``blocks.py``); ``headings`` are the numbers of the lines that
    are headings (0-based; the ranking weighs a term found in one)."""

    id: str  # source path relative to the content dir, posix
    url: str  # page path in the site
    title: str
    date: str  # "2020-03-05", "2020-03" or "2020"
    year: int
    meeting_type: str
    themes: tuple[str, ...]
    body: str  # plain text of the body (not folded)
    fingerprint: str  # changes whenever anything above or below changes
    speaker: str = ""
    organization: str = ""
    headings: tuple[int, ...] = ()


@dataclass
class Speech:
    source: str  # path relative to the content folder, posix ("2020/讲话.md")
    digest: str  # hash of the file's bytes
    meta: SpeechMeta
    toc: Toc
    word_count: int
    reading_minutes: int
    slug: str = ""
    url: str = ""  # output path of its page
    prev: Speech | None = field(default=None, repr=False)  # older
    next: Speech | None = field(default=None, repr=False)  # newer
    related: list[Speech] = field(default_factory=list, repr=False)

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def date(self) -> PartialDate:
        return self.meta.date

    @property
    def year(self) -> int:
        return self.meta.date.year

    def sort_key(self) -> tuple:
        """Newest first: sort by this with reverse=True; the source path breaks ties. One flat
        tuple (``PartialDate.sort_key``'s fields, then the source): 10,000 speeches sort in a third
        of the time a nested one takes."""
        d = self.meta.date
        return (d.year, d.month or 0, d.day or 0, self.source)


@dataclass
class Term:
    """A year, meeting type or theme, with its speeches newest first."""

    kind: str  # "year", "meeting_type", "theme"
    name: str
    slug: str
    speeches: list[Speech] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.speeches)


@dataclass
class Taxonomy:
    kind: str
    label: str  # 年份, 会议类型, 主题
    terms: list[Term]

    def by_name(self) -> dict[str, Term]:
        return {t.name: t for t in self.terms}


@dataclass
class Archive:
    speeches: list[Speech]  # newest first
    years: Taxonomy
    meeting_types: Taxonomy
    themes: Taxonomy
    problems: list[Problem]
    rejected: set[str] = field(default_factory=set)  # sources left out (URL collisions): their old pages stay
    speakers: Taxonomy | None = None  # 讲话人: only the speeches that name one

    def taxonomies(self) -> list[Taxonomy]:
        """Year, meeting type, theme, and speaker when any speech names one."""
        extra = [self.speakers] if self.speakers is not None and self.speakers.terms else []
        return [self.years, self.meeting_types, self.themes, *extra]

    def let_go(self) -> None:
        """Break the references between speeches (older, newer, related: cycles, which a frozen
        collector would not free), so that the model goes once the build lets go of it."""
        for s in self.speeches:
            s.prev = s.next = None
            s.related = []

    def same_type_neighbours(self) -> dict[int, tuple[Speech | None, Speech | None]]:
        """id(speech) → (the older, the newer) speech of its meeting type."""
        out: dict[int, tuple[Speech | None, Speech | None]] = {}
        for term in self.meeting_types.terms:  # newest first
            sp = term.speeches
            for i, s in enumerate(sp):
                out[id(s)] = (sp[i + 1] if i + 1 < len(sp) else None, sp[i - 1] if i else None)
        return out


def _group(kind: str, label: str, speeches: list[Speech], names_of, order) -> Taxonomy:
    from .schema import slugify  # schema reads YAML: imported when an archive is built, not for a search

    members: dict[str, list[Speech]] = {}  # term → its speeches, terms in the order first met
    for speech in speeches:
        for name in names_of(speech):
            name = str(name)
            found = members.get(name)
            if found is None:
                members[name] = [speech]
            else:
                found.append(speech)
    terms = [Term(kind, name, slugify(name), found) for name, found in members.items()]
    return Taxonomy(kind, label, sorted(terms, key=order))


def path_key(path: str) -> str:
    """Output paths equal under this key are one file on a case-insensitive disk (Windows,
    macOS, most USB sticks), which also does not tell NFC from NFD."""
    return unicodedata.normalize("NFC", path).casefold()


_CASE_HINT = "they would be one file on a case-insensitive disk (Windows, macOS, a USB stick)"


def _check_slugs(tax: Taxonomy, where: dict[str, str], problems: list[Problem], show) -> None:
    seen: dict[str, Term] = {}
    for term in tax.terms:
        other = seen.get(path_key(term.slug))
        if other is None:
            seen[path_key(term.slug)] = term
            continue
        shown_other = f"; {other.name!r} is used in {show(where[other.name])}" if other.name in where else ""
        if other.slug == term.slug:
            what = f"would both be written to the same URL ({term.slug})"
            hint = "rename one of them so they differ by more than punctuation or spaces"
        else:
            what = f"differ only in upper/lower case ({other.slug} and {term.slug}): {_CASE_HINT}"
            hint = "write them the same way, or rename one of them"
        problems.append(
            Problem(
                show(where[term.name]) if term.name in where else "content",
                None,
                tax.kind,
                f"{term.name!r} and {other.name!r} {what}{shown_other}",
                hint,
            )
        )
        n = 2
        while path_key(f"{term.slug}-{n}") in seen:
            n += 1
        term.slug = f"{term.slug}-{n}"
        seen[path_key(term.slug)] = term


def build_archive(
    speeches: Iterable[Speech],
    urls: UrlMap,
    show=lambda source: source,
    published: Mapping[str, str | None] | None = None,
) -> Archive:
    """Assign URLs, detect URL collisions, order speeches, link prev/next, group into taxonomies.

    ``show`` turns a source path into the path shown in problems (e.g. content/2020/x.md).
    ``published`` maps the output paths of the last build to the source that owned them: of
    speeches whose pages would be one file (the same path, or paths that differ only in case),
    the one that published it keeps it and the others are errors; with none of them, all are."""
    from .schema import slugify

    problems: list[Problem] = []
    published = published or {}
    groups: dict[str, list[Speech]] = {}
    ordered = sorted(speeches, key=Speech.sort_key, reverse=True)
    for speech in ordered:
        speech.slug = speech.meta.slug or slugify(speech.source.rsplit("/", 1)[-1].removesuffix(".md"))
        speech.url = urls.path("speech", slug=speech.slug, year=speech.year)
        groups.setdefault(path_key(speech.url), []).append(speech)
    clashing: set[str] = set()
    for group in groups.values():
        if len(group) == 1:
            continue
        keeper = next((s for s in group if published.get(s.url) == s.source), None)
        for speech in group:
            if speech is keeper:
                continue
            other = keeper or (group[1] if speech is group[0] else group[0])
            if other.url == speech.url:
                what = f"this speech and {show(other.source)} would both be written to {speech.url}"
            else:
                what = (
                    f"this speech's page {speech.url} and the page of {show(other.source)} ({other.url}) "
                    f"differ only in upper/lower case: {_CASE_HINT}"
                )
            if keeper is not None:
                what += f"; {show(keeper.source)} published it first and keeps it"
            problems.append(
                Problem(
                    show(speech.source), None, "slug", what, "give one of them a different file name or a 'slug:' field"
                )
            )
            clashing.add(speech.source)
    ordered = [s for s in ordered if s.source not in clashing]
    for older, newer in zip(ordered[1:], ordered[:-1]):
        newer.prev, older.next = older, newer
    years = _group("year", "年份", ordered, lambda s: [s.year], lambda t: -int(t.name))
    meeting_types = _group(
        "meeting_type", "会议类型", ordered, lambda s: [s.meta.meeting_type], lambda t: (-t.count, t.name)
    )
    themes = _group("theme", "主题", ordered, lambda s: s.meta.themes, lambda t: (-t.count, t.name))
    speakers = _group(
        "speaker", "讲话人", ordered, lambda s: [s.meta.speaker] if s.meta.speaker else [], lambda t: (-t.count, t.name)
    )
    for tax in (meeting_types, themes, speakers):
        first_source: dict[str, str] = {}  # term → the source of its newest speech (shown only when a term clashes)
        for term in tax.terms:
            first_source.setdefault(term.name, term.speeches[0].source)
        _check_slugs(tax, first_source, problems, show)
    return Archive(ordered, years, meeting_types, themes, problems, clashing, speakers)
