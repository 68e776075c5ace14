"""The front-matter fields of a speech: which exist, which are required, what values they take.

The field names are an interface (other tools write these files): keep them.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from dataclasses import dataclass

from .dates import FORMATS_HINT, DateError, PartialDate, parse_date
from .errors import Problem
from .frontmatter import BoolText, FloatText
from .suggest import closest

REQUIRED = ("title", "date", "meeting_type", "themes")
OPTIONAL = ("speaker", "organization", "location", "summary", "source", "tags", "slug", "draft", "review")
FIELDS = REQUIRED + OPTIONAL

_FIELD_HINTS = {
    "title": "e.g. title: 在2020年度党建工作会议上的讲话",
    "date": "e.g. date: 2020-03-05 (or 2020-03, or 2020 when only the year is known)",
    "meeting_type": "e.g. meeting_type: 座谈会",
    "themes": "e.g. themes: [党风廉政建设, 队伍建设]",
}

#: A slug is a file or folder name: it must fit in 255 bytes with a suffix such as ".html" or "-2".
MAX_SLUG_CHARS, MAX_SLUG_BYTES = 120, 200

_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 80, 80, 6, 4, 3


def shown(value: object) -> str:
    """repr() for a message: a long text or a big list is cut short."""
    return _SHORT.repr(value)


_BAD_SLUG_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\?#%&:*\"<>|\[\]{}^`'，。；：？！、]")


@dataclass(frozen=True)
class SpeechMeta:
    title: str
    date: PartialDate
    meeting_type: str
    themes: tuple[str, ...]
    speaker: str | None = None
    organization: str | None = None
    location: str | None = None
    summary: str | None = None
    source: str | None = None
    tags: tuple[str, ...] = ()
    slug: str | None = None
    draft: bool = False
    review: tuple[str, ...] = ()
    """Fields written from a guess (by `site-builder import`) that a person should confirm."""


#: Characters that no text shows and that XML (the feed, the sitemap) does not allow: control
#: characters (YAML's "\x01" escapes make them), surrogates and the non-characters U+FFFE/FFFF.
INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """NFC, single spaces, no surrounding whitespace, no control characters (titles, metadata
    and vocabulary terms)."""
    return " ".join(INVISIBLE.sub("", unicodedata.normalize("NFC", value)).split())


def slugify(text: str) -> str:
    """A URL- and file-name-safe slug that keeps Chinese: 在2020年度党建工作会议上的讲话 stays as is."""
    text = unicodedata.normalize("NFC", text)
    text = _BAD_SLUG_CHARS.sub("-", text)
    text = re.sub(r"\s+", "-", text.strip())
    text = re.sub(r"-{2,}", "-", text).strip("-.")
    text = text[:MAX_SLUG_CHARS]
    while len(text.encode("utf-8", "surrogatepass")) > MAX_SLUG_BYTES:
        text = text[:-1]
    return text.rstrip("-.") or "untitled"


def slug_problem(slug: str) -> str | None:
    """Why a user-given slug is unusable, or None."""
    if not slug or slug != slug.strip():
        return "the slug is empty or has surrounding spaces"
    if _BAD_SLUG_CHARS.search(slug) or re.search(r"\s", slug) or slug.startswith("."):
        return f"the slug {shown(slug)} has characters that do not work in a URL or file name"
    if not unicodedata.is_normalized("NFC", slug):
        # Two spellings of one name would be two files (and two URLs) on most file systems.
        odd = [c for c in dict.fromkeys(slug) if unicodedata.normalize("NFC", c) != c or unicodedata.combining(c)]
        return (
            f"the slug {shown(slug)} is not in Unicode normal form NFC (NFC changes "
            f"{', '.join(f'U+{ord(c):04X}' for c in odd[:5]) or 'its characters'}): "
            f"write it as {shown(unicodedata.normalize('NFC', slug))}"
        )
    if len(slug) > MAX_SLUG_CHARS:
        return f"the slug is longer than {MAX_SLUG_CHARS} characters"
    if len(slug.encode("utf-8", "surrogatepass")) > MAX_SLUG_BYTES:
        return f"the slug is longer than {MAX_SLUG_BYTES} bytes (about {MAX_SLUG_BYTES // 3} Chinese characters)"
    return None


class _Checker:
    def __init__(self, path: str, data: dict, key_lines: dict[str, int]):
        self.path, self.data, self.key_lines = path, data, key_lines
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, hint: str | None = None, severity: str = "error") -> None:
        line = self.key_lines.get(field, 1)
        self.problems.append(Problem(self.path, line, field, message, hint, severity))

    def text(self, field: str, required: bool = False) -> str | None:
        value = self.data.get(field)
        if value is None or (isinstance(value, str) and not clean_text(value)):
            if required:
                self.add(
                    field,
                    "missing (required)" if field not in self.data else "empty (required)",
                    _FIELD_HINTS.get(field),
                )
            return None
        if isinstance(value, (dict, list, bool)):
            self.add(field, f"expected text, got {type(value).__name__}: {shown(value)}", _FIELD_HINTS.get(field))
            return None
        return clean_text(str(value))

    def text_list(self, field: str, required: bool = False) -> tuple[str, ...]:
        value = self.data.get(field)
        if value is None or value == [] or value == "":
            if required:
                self.add(field, "missing (required, at least one)", _FIELD_HINTS.get(field))
            return ()
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            if item is None or isinstance(item, (dict, list, bool)) or not clean_text(str(item)):
                self.add(field, f"each entry must be non-empty text, got {shown(item)}", _FIELD_HINTS.get(field))
                continue
            out.append(clean_text(str(item)))
        return tuple(dict.fromkeys(out))


_YEAR_DOT_MONTH = re.compile(r"^(\d{4})\.(\d{1,2})$")


def _misread_date(value: object) -> tuple[str, str] | None:
    """(message, hint) for a date written as a YAML number that is not a year (``2020.10`` is
    the number 2020.1 to YAML and to every other tool that reads the file), else None."""
    if not isinstance(value, FloatText):
        return None
    if m := _YEAR_DOT_MONTH.match(value):
        month = int(m[2])
        if 1 <= month <= 12:
            iso = f"{m[1]}-{month:02d}"
            return (
                f"{str(value)!r} is a number to YAML ({float(value)!r}), not a month",
                f"write {iso} (or {int(m[1])}年{month}月)",
            )
    return (f"{str(value)!r} is a number to YAML, not a date", FORMATS_HINT)


def _check_vocabulary(check: _Checker, field: str, values: tuple[str, ...], known: tuple[str, ...] | None) -> None:
    if known is None:
        return
    for value in values:
        if value not in known:
            near = closest(value, known, cutoff=0.3)
            listing = "、".join(known[:12]) + ("…" if len(known) > 12 else "")
            hint = (f"did you mean {near!r}? " if near else "") + f"known: {listing}"
            check.add(field, f"unknown value {shown(value)} (the site allows only the configured list)", hint)


def validate(
    path: str,
    data: dict,
    key_lines: dict[str, int],
    meeting_types: tuple[str, ...] | None = None,
    themes: tuple[str, ...] | None = None,
) -> tuple[SpeechMeta | None, list[Problem]]:
    """Check every field, collect every problem; return the metadata when there is no error."""
    check = _Checker(path, data, key_lines)
    for key in data:
        if str(key) not in FIELDS:
            near = closest(str(key), FIELDS, cutoff=0.6)
            check.add(
                str(key),
                "unknown field, ignored",
                f"did you mean {near!r}?" if near else "known fields: " + ", ".join(FIELDS),
                severity="warning",
            )
    title = check.text("title", required=True)
    date = None
    if data.get("date") in (None, ""):
        check.add("date", "missing (required)" if "date" not in data else "empty (required)", _FIELD_HINTS["date"])
    elif why := _misread_date(data["date"]):
        check.add("date", why[0], why[1])
    else:
        try:
            date = parse_date(data["date"])
        except DateError as err:
            check.add("date", str(err), FORMATS_HINT)
    meeting_type = check.text("meeting_type", required=True)
    theme_list = check.text_list("themes", required=True)
    if meeting_type:
        _check_vocabulary(check, "meeting_type", (meeting_type,), meeting_types)
    _check_vocabulary(check, "themes", theme_list, themes)
    slug = check.text("slug")
    if slug is not None and (slug_why := slug_problem(str(data.get("slug")))):
        check.add(
            "slug", slug_why, "use letters, digits, Chinese characters and '-' only, e.g. slug: 2020-党建工作会议"
        )
        slug = None
    draft = data.get("draft", False)
    if isinstance(draft, BoolText):  # true/false (and YAML 1.1's yes/no/on/off), written plain
        draft = draft.truth
    if not isinstance(draft, bool):
        check.add("draft", f"expected true or false, got {shown(draft)}", "e.g. draft: true")
        draft = False
    optional = {k: check.text(k) for k in ("speaker", "organization", "location", "summary", "source")}
    tags = check.text_list("tags")
    review = check.text_list("review")
    for name in review:
        if name not in FIELDS:
            check.add(
                "review",
                f"{shown(name)} is not a field name",
                "list the fields still to confirm, e.g. "
                "review: [meeting_type, themes]; remove the line once they are confirmed",
                severity="warning",
            )
    if any(p.is_error for p in check.problems):
        return None, check.problems
    assert title and date and meeting_type and theme_list
    meta = SpeechMeta(
        title=title,
        date=date,
        meeting_type=meeting_type,
        themes=theme_list,
        tags=tags,
        slug=slug,
        draft=draft,
        review=review,
        **optional,
    )
    return meta, check.problems
