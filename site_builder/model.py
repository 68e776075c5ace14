"""The archive in memory: speeches, and their grouping by year, meeting type and theme. No I/O."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .dates import PartialDate
from .errors import Problem
from .markup import Toc
from .schema import SpeechMeta, slugify
from .urls import UrlMap


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
    prev: "Speech | None" = field(default=None, repr=False)  # older
    next: "Speech | None" = field(default=None, repr=False)  # newer
    related: list["Speech"] = field(default_factory=list, repr=False)

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
        """Newest first: sort by this with reverse=True; the source path breaks ties."""
        return (self.meta.date.sort_key(), self.source)


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

    def taxonomies(self) -> list[Taxonomy]:
        return [self.years, self.meeting_types, self.themes]


def _group(kind: str, label: str, speeches: list[Speech], names_of, order) -> Taxonomy:
    groups: dict[str, Term] = {}
    for speech in speeches:
        for name in names_of(speech):
            name = str(name)
            if name not in groups:
                groups[name] = Term(kind, name, slugify(name))
            groups[name].speeches.append(speech)
    return Taxonomy(kind, label, sorted(groups.values(), key=order))


def _check_slugs(tax: Taxonomy, where: dict[str, str], problems: list[Problem], show) -> None:
    seen: dict[str, Term] = {}
    for term in tax.terms:
        other = seen.get(term.slug)
        if other is None:
            seen[term.slug] = term
            continue
        problems.append(Problem(
            show(where[term.name]) if term.name in where else "content", None, tax.kind,
            f"{term.name!r} and {other.name!r} would both be written to the same URL ({term.slug})",
            "rename one of them so they differ by more than punctuation or spaces",
        ))
        n = 2
        while f"{term.slug}-{n}" in seen:
            n += 1
        term.slug = f"{term.slug}-{n}"
        seen[term.slug] = term


def build_archive(speeches: Iterable[Speech], urls: UrlMap, show=lambda source: source) -> Archive:
    """Assign URLs, detect URL collisions, order speeches, link prev/next, group into taxonomies.

    ``show`` turns a source path into the path shown in problems (e.g. content/2020/x.md)."""
    problems: list[Problem] = []
    by_url: dict[str, Speech] = {}
    clashing: set[str] = set()
    ordered = sorted(speeches, key=Speech.sort_key, reverse=True)
    for speech in ordered:
        speech.slug = speech.meta.slug or slugify(speech.source.rsplit("/", 1)[-1].removesuffix(".md"))
        speech.url = urls.path("speech", slug=speech.slug, year=speech.year)
        other = by_url.get(speech.url)
        if other is not None:
            problems.append(Problem(
                show(speech.source), None, "slug",
                f"this speech and {show(other.source)} would both be written to {speech.url}",
                "give one of them a different file name or a 'slug:' field",
            ))
            clashing.update({speech.source, other.source})
        else:
            by_url[speech.url] = speech
    ordered = [s for s in ordered if s.source not in clashing]
    for older, newer in zip(ordered[1:], ordered[:-1]):
        newer.prev, older.next = older, newer
    years = _group("year", "年份", ordered, lambda s: [s.year], lambda t: -int(t.name))
    meeting_types = _group("meeting_type", "会议类型", ordered, lambda s: [s.meta.meeting_type],
                           lambda t: (-t.count, t.name))
    themes = _group("theme", "主题", ordered, lambda s: s.meta.themes, lambda t: (-t.count, t.name))
    first_source = {}  # term → the source of its newest speech (shown only when a term clashes)
    for s in ordered:
        first_source.setdefault(s.meta.meeting_type, s.source)
        for th in s.meta.themes:
            first_source.setdefault(th, s.source)
    for tax in (meeting_types, themes):
        _check_slugs(tax, first_source, problems, show)
    return Archive(ordered, years, meeting_types, themes, problems)
