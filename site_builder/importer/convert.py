"""One speech: source text → Markdown file (front matter + body), nothing lost.

:func:`import_text` is pure: it takes the decoded text and returns an :class:`ImportResult` —
the Markdown to write, every field with where it came from, the fields awaiting review, the lines
dropped (with line numbers and reasons) and the lines moved into the front matter. Every
character of the source reaches the body, a front-matter value, or one of those two lists.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import frontmatter, schema
from ..config import SiteConfig
from ..dates import DateError, PartialDate, parse_date
from ..errors import Problem
from . import boilerplate, headings, layout, metadata, vocabulary
from .metadata import Value

#: Front-matter fields in the order they are written. ``review`` lists the fields a person
#: should confirm (guessed rather than read); ``site-builder check`` lists such speeches.
FIELD_ORDER = (
    "title",
    "date",
    "meeting_type",
    "themes",
    "speaker",
    "organization",
    "location",
    "summary",
    "source",
    "tags",
    "slug",
    "draft",
    "review",
)
OTHER_MEETING_TYPE = "其他"
"""Written as the meeting type when nothing names one (always marked for review)."""


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------

_BLOCK_START = re.compile(
    r"^(?:#|>|[-+*](?=\s|$|[-+*])|[0-9]+[.)](?=\s|$)|=+\s*$|[-*_](?:\s*[-*_]){2,}\s*$|"
    r"~~~|\|)"
)
_INLINE = re.compile(r"([\\`*_\[\]{}])")
_TAGLIKE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def escape_inline(text: str) -> str:
    """Escape what Markdown would read as inline markup (emphasis, code, links, tags, entities)."""
    out = _INLINE.sub(r"\\\1", text)
    out = _ENTITY.sub("&amp;", out)
    return _TAGLIKE.sub("&lt;", out)


def escape_markdown(line: str) -> str:
    """A paragraph that renders exactly as written (no heading, list, quote or rule)."""
    out = escape_inline(line)
    m = re.match(r"^([0-9]+)([.)])", out)
    if m and _BLOCK_START.match(out):
        return f"{m.group(1)}\\{out[m.end(1) :]}"
    if out.startswith(":"):
        return "&#58;" + out[1:]
    if out.startswith("~~~"):
        return "&#126;" + out[1:]
    if _BLOCK_START.match(out) and not out.startswith("\\"):
        return "\\" + out
    return out


def body_markdown(blocks: list[headings.Block]) -> tuple[str, Counter[str]]:
    out: list[str] = []
    counts: Counter[str] = Counter()
    for block in blocks:
        if block.level is None:
            out.append(escape_markdown(block.text))
        else:
            marks = "#" * block.level
            counts[marks] += 1
            out.append(f"{marks} {escape_inline(block.text)}")
    return "\n\n".join(out) + "\n", counts


def _yaml_value(value: object) -> str:
    if isinstance(value, PartialDate):
        return value.iso()
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10**6)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def render_front_matter(fields: dict, comments: list[str] | tuple[()] = (), placeholders: tuple[str, ...] = ()) -> str:
    """The ``---`` block: fields in FIELD_ORDER, ``comments`` as YAML comments, ``placeholders``
    as empty keys (which fail validation loudly until filled in). Text values are always quoted
    when YAML would read them as something else (2020.10, 0123, yes)."""
    lines = ["---"]
    for key in FIELD_ORDER:
        if key in fields and fields[key] not in (None, "", [], ()):
            value = fields[key]
            lines.append(f"{key}: {_yaml_value(list(value) if isinstance(value, tuple) else value)}")
        elif key in placeholders:
            lines.append(f"{key}: []" if key in ("themes", "tags") else f"{key}:")
    lines.extend(f"# {c}" for c in comments)
    lines.append("---")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# import_text
# --------------------------------------------------------------------------------------------

REVIEWABLE = ("title", "date", "meeting_type", "themes", "speaker", "organization", "location")


@dataclass
class ImportResult:
    markdown: str
    fields: dict
    """Front-matter values (date as PartialDate)."""
    sources: dict[str, Value]
    """field → where its value came from (Value.source: text:N, file name, guess, sheet, option)."""
    review: list[str]
    """Fields written from a guess, for a person to confirm (also in the front matter)."""
    missing: list[str]
    """Required fields with no value at all: the file cannot be written as it is."""
    dropped: list[tuple[int, str, str]]
    """(source line, text, reason) of lines left out."""
    moved: list[tuple[int, str]]
    """(source line, text) of lines moved whole into the front matter (the title lines)."""
    notes: list[str] = field(default_factory=list)
    suggestions: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    headings: Counter = field(default_factory=Counter)
    body: str = ""
    slug: str = ""

    @property
    def year(self) -> int | None:
        date = self.fields.get("date")
        return date.year if isinstance(date, PartialDate) else None

    def relative_path(self) -> Path | None:
        """content-relative path: <year>/<slug>.md (None without a year)."""
        return Path(str(self.year)) / f"{self.slug}.md" if self.year else None


def _given_value(key: str, value: object) -> object:
    if key == "date":
        return value if isinstance(value, PartialDate) else parse_date(value)
    if key in ("themes", "tags"):
        return (
            [schema.clean_text(str(t)) for t in value]
            if isinstance(value, (list, tuple))
            else [schema.clean_text(str(value))]
        )
    return schema.clean_text(str(value))


def _apply_given(
    meta: metadata.Metadata, given: dict, given_source: dict[str, str]
) -> tuple[dict[str, Value], set[int]]:
    """Values given by a person win; returns (field → value, indices of title lines to move).

    The title lines leave the body only when the title written is the one they make up: a
    given title never deletes a line of the text."""
    sources: dict[str, Value] = dict(meta.values)
    remove = set(meta.title_lines)
    if "title" in given:
        found = sources.get("title")
        if found is None or re.sub(r"\s", "", str(found.value)) != re.sub(r"\s", "", str(given["title"])):
            remove, meta.remainder, meta.moved = set(), {}, []
    for key, value in given.items():
        if key not in ("slug", "force_year"):
            sources[key] = Value(_given_value(key, value), given_source.get(key, "option"), "given")
    if "force_year" in given:
        year = int(given["force_year"])
        date = sources.get("date")
        if date is None or not isinstance(date.value, PartialDate) or date.value.year != year:
            if date is not None:
                meta.notes.append(f"--force-year {year}: using {year} instead of {date.value}")
            sources["date"] = Value(PartialDate(year), given_source.get("force_year", "option"), "given")
    return sources, remove


def _guess_the_rest(
    sources: dict[str, Value], body_text: str, vocab: vocabulary.Vocabulary, meta: metadata.Metadata
) -> None:
    """Required fields nothing names: a meeting type of 其他 and suggested themes, for review."""
    title = sources.get("title")
    if "meeting_type" not in sources and title is not None:
        sources["meeting_type"] = Value(
            OTHER_MEETING_TYPE, "guess", "nothing in the title names a meeting", review=True
        )
    if "themes" not in sources:
        guess = vocabulary.themes_for(str(title.value) if title else "", body_text, vocab)
        if guess.themes:
            sources["themes"] = Value(
                list(guess.themes), "text" if guess.confident else "guess", guess.how, review=not guess.confident
            )
        meta.suggestions["themes"] = list(guess.ideas)


def _body_lines(
    kept: list[layout.Line], meta: metadata.Metadata, remove: set[int]
) -> tuple[list[layout.Line], list[tuple[int, str]]]:
    """The lines of the body (without those the metadata took, or with what was left of them),
    and the lines moved into the front matter."""
    body_lines: list[layout.Line] = []
    for i, line in enumerate(kept):
        if i in meta.remainder:
            body_lines.append(layout.Line(line.n, meta.remainder[i], None))
        elif i not in remove:
            body_lines.append(line)
    moved = list(meta.moved) + [
        (kept[i].n, kept[i].text)
        for i in sorted(remove)
        if (kept[i].n, kept[i].text) not in meta.moved and i not in meta.remainder
    ]
    return body_lines, moved


def _check(markdown: str, date: object, slug: str, config: SiteConfig) -> list[Problem]:
    """The problems ``site-builder check`` would report in the written file."""
    shown = str(Path(str(date.year if isinstance(date, PartialDate) else "????")) / f"{slug}.md")
    try:
        fm = frontmatter.split(markdown)
        _meta, problems = schema.validate(shown, fm.data, fm.key_lines, config.meeting_types, config.themes)
    except (frontmatter.FrontMatterError, DateError) as err:  # pragma: no cover - we write the YAML ourselves
        problems = [Problem(shown, None, None, str(err))]
    return problems


def import_text(
    text: str,
    filename: str,
    config: SiteConfig,
    vocab: vocabulary.Vocabulary | None = None,
    *,
    given: dict | None = None,
    given_source: dict[str, str] | None = None,
    headings_hint: dict[int, int] | None = None,
    source_title: str | None = None,
    today: _dt.date | None = None,
) -> ImportResult:
    """Turn the text of one speech into a Markdown file (see the module docstring).

    ``given`` holds values from the command line or a metadata sheet (title, date, meeting_type,
    themes, speaker, organization, location, summary, source, tags, slug, force_year); they win
    over what the text says, and never remove anything from the body. ``given_source`` says
    where each came from (``option`` or ``sheet``).
    """
    vocab = vocab or vocabulary.Vocabulary()
    given = {k: v for k, v in (given or {}).items() if v not in (None, "", (), [])}
    given_source = given_source or {}
    max_year = (today or _dt.date.today()).year + 1

    lines, marker_lines = layout.recover(text, headings_hint)
    kept, dropped = boilerplate.drop(lines, config.import_drop_lines)
    dropped += marker_lines
    dropped.sort()
    meta = metadata.infer(kept, filename, vocab, max_year, source_title, [(n, t) for n, t, _ in dropped])

    sources, remove = _apply_given(meta, given, given_source)
    body_lines, moved = _body_lines(kept, meta, remove)
    blocks = headings.structure(body_lines)
    body, heading_counts = body_markdown(blocks)
    body_text = "\n".join(b.text for b in blocks)

    _guess_the_rest(sources, body_text, vocab, meta)
    fields: dict = {k: v.value for k, v in sources.items()}
    if isinstance(fields.get("themes"), tuple):
        fields["themes"] = list(fields["themes"])
    review = [k for k in REVIEWABLE if k in sources and sources[k].review]
    if review:
        fields["review"] = review
    missing = [f for f in schema.REQUIRED if not fields.get(f)]
    slug = str(given.get("slug") or schema.slugify(str(fields.get("title") or Path(filename).stem)))
    comments = []
    if missing:
        comments.append("site-builder import: fill in " + ", ".join(missing) + ", then run site-builder check")
    markdown = render_front_matter(fields, comments, placeholders=tuple(missing)) + "\n" + body
    problems = _check(markdown, fields.get("date"), slug, config)
    return ImportResult(
        markdown=markdown,
        fields=fields,
        sources=sources,
        review=review,
        missing=missing,
        dropped=dropped,
        moved=moved,
        notes=meta.notes,
        suggestions=meta.suggestions,
        problems=problems,
        headings=heading_counts,
        body=body,
        slug=slug,
    )
