"""Property-based tests (issue 7): arbitrary text never crashes the parsers.

For the front-matter parser, the date parser, slugs, the field validator and the query parser,
any input either gives a result or raises *our* error (FrontMatterError, DateError, QueryError)
with a message a user can act on: never a traceback from PyYAML, ``int()``, ``datetime`` or an
index error. Slugs are always usable as a URL path segment and a file name.
"""
from __future__ import annotations

import datetime as dt
import string
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from site_builder import frontmatter, query, schema
from site_builder.dates import DateError, PartialDate, parse_date
from site_builder.errors import Problem
from site_builder.frontmatter import FrontMatterError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that hits the interesting corners: YAML syntax, dates, query syntax, Chinese, full-width
# forms, whitespace of every kind, controls, and anything else.
YAML_BITS = ["---", "...", ":", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/object:os.system ",
             "!!binary ", "? ", "|", ">", "#", "'", '"', "\t", "\n", "\r\n", "  ", "title", "date", "themes",
             "2020-02-30", "2020年3月5日", "<<: *a", "!!str", "%YAML 1.1", "~", "null", "true", "0x1F", "1e400",
             "讲话", "\ufeff", "\x00", "\u2028", "\x85"]
QUERY_BITS = ['"', "＂", "-", "－", "OR", "ＯＲ", " ", "\u3000", "党建", "黨建", "A", "ａ", "\x00", "\t", "\n",
              "(", ")", "*", "~", "^", "\\"]
DATE_BITS = list(string.digits) + ["-", "/", ".", "年", "月", "日", "号", "度", " ", "０", "１", "２", "٢",
                                   "\u3000", "+", "e", "2020", "0000", "9999", "10000"]


def mixed(bits: list[str], max_size: int = 40) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(bits), st.text(max_size=6)), max_size=max_size).map("".join)


any_text = st.one_of(st.text(max_size=200), st.text(alphabet=st.characters(codec="utf-8"), max_size=60))


# --------------------------------------------------------------------------------------------
# frontmatter.split (and schema.validate on whatever it returns)
# --------------------------------------------------------------------------------------------

def _check_front_matter(text: str) -> None:
    try:
        fm = frontmatter.split(text)
    except FrontMatterError as err:
        assert err.message and isinstance(err.message, str)
        assert err.line is None or (isinstance(err.line, int) and err.line >= 1)
        assert err.hint is None or isinstance(err.hint, str)
        return
    assert isinstance(fm.data, dict)
    assert fm.body_line >= 2
    assert all(isinstance(k, str) and line >= 2 for k, line in fm.key_lines.items())
    meta, problems = schema.validate("x.md", fm.data, fm.key_lines)
    _check_problems(problems)
    assert (meta is None) == any(p.is_error for p in problems)


def _check_problems(problems: list[Problem]) -> None:
    for p in problems:
        assert p.message and isinstance(p.message, str)
        assert len(p.format()) < 5000, "a problem message must stay readable"


@SETTINGS
@given(st.one_of(any_text, mixed(YAML_BITS, 60)))
def test_front_matter_body_never_crashes(block):
    _check_front_matter("---\n" + block + "\n---\n正文")


@SETTINGS
@given(st.one_of(any_text, mixed(YAML_BITS + ["\n---\n"], 60)))
@example("")
@example("---")
@example("---\n---\n")
@example("---\n: \n---\n")
@example("---\n? [a, b]\n: c\n---\n")  # an unhashable key
@example("---\n" + "[" * 5000 + "\n---\n")  # deep nesting
@example("---\n" + "a: " + "[" * 200 + "]" * 200 + "\n---\n")
@example("---\na: &a [*a]\ntitle: *a\n---\n")  # a recursive value
@example("---\n!!python/object/apply:os.system [echo hi]\n---\n")
@example("---\ntitle: !!python/name:os.system\n---\n")
@example("---\n1: a\n2.5: b\nnull: c\ntrue: d\n---\n")
@example("---\ntitle: a\ntitle: b\n---\n")  # a duplicate key
@example("---\ndate: !!timestamp 2020-02-30\n---\n")
@example("---\ndate: !!binary aGVsbG8=\n---\n")
@example("---\ndate: .nan\nthemes: .inf\n---\n")
def test_front_matter_file_never_crashes(text):
    _check_front_matter(text)


def test_front_matter_alias_bomb_gives_a_short_message():
    """Aliases nest cheaply in YAML (a 'billion laughs' document); a message quoting the value
    must not try to print all of it."""
    lines = ["---", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += ["title: *a9", "date: *a9", "meeting_type: *a9", "themes: *a9", "tags: *a9", "draft: *a9",
              "summary: *a9", "---", "正文"]
    _check_front_matter("\n".join(lines))


# --------------------------------------------------------------------------------------------
# dates.parse_date
# --------------------------------------------------------------------------------------------

def _check_date(value) -> None:
    try:
        d = parse_date(value)
    except DateError as err:
        assert str(err)
        assert len(str(err)) < 400
        return
    assert isinstance(d, PartialDate)
    assert 1 <= d.year <= 9999
    assert d.month is None or 1 <= d.month <= 12
    assert d.day is None or d.month is not None
    d.as_date()  # a real day
    assert parse_date(d.iso()) == d  # round trip
    if d.year >= 1000:
        assert parse_date(d.chinese()) == d


@SETTINGS
@given(st.one_of(any_text, mixed(DATE_BITS, 14)))
@example("2021-02-29")
@example("2020-02-29")
@example("0000")
@example("2020-13")
@example("2020-00-10")
@example("２０２０年３月５日")
@example("٢٠٢٠")
@example("2020年度")
@example("2020-3-5")
def test_date_text_never_crashes(text):
    _check_date(text)


@SETTINGS
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.dates(), st.datetimes(),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                 st.binary(max_size=10)))
def test_date_values_of_any_yaml_type_never_crash(value):
    _check_date(value)


# --------------------------------------------------------------------------------------------
# schema.slugify and schema.slug_problem
# --------------------------------------------------------------------------------------------

#: What a slug may not contain: path separators, URL delimiters, quotes and brackets, controls,
#: and whitespace of any kind.
_UNSAFE = set('/\\?#%&:*"<>|[]{}^`\'')


def _check_slug(slug: str) -> None:
    assert slug, "a slug is never empty"
    assert slug not in (".", "..")
    assert not slug.startswith(".")
    assert not (set(slug) & _UNSAFE), slug
    assert not any(ch.isspace() for ch in slug), slug
    assert not any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in slug), slug
    assert slug == unicodedata.normalize("NFC", slug)
    # A file name: one path segment, at most 255 bytes even with a suffix such as ".html"
    assert len(slug.encode("utf-8")) + len(".html") <= 255, f"{len(slug.encode())} bytes"
    slug.encode("utf-8")  # no lone surrogates
    assert schema.slug_problem(slug) is None, (slug, schema.slug_problem(slug))


@SETTINGS
@given(st.one_of(any_text, st.text(alphabet="讲话在会议上的党建-./ \t", max_size=300),
                 st.text(alphabet=st.characters(min_codepoint=0x10000), max_size=200)))
@example("")
@example("...")
@example("-.-")
@example("../../etc/passwd")
@example("在" * 200)
@example("𠀀" * 100)  # four bytes each
@example("a\u0301" * 50)
@example("\x85\u2028\u3000")
@example("CON")
def test_slugify_is_always_usable(text):
    slug = schema.slugify(text)
    _check_slug(slug)
    assert not slug.startswith("-")
    assert schema.slugify(slug) == slug  # stable


@SETTINGS
@given(any_text)
def test_slug_problem_answers_for_anything(text):
    why = schema.slug_problem(text)
    assert why is None or (isinstance(why, str) and why)
    if why is None:
        _check_slug(text)


# --------------------------------------------------------------------------------------------
# schema.validate with values of every YAML type
# --------------------------------------------------------------------------------------------

yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.dates(),
              st.datetimes(), st.binary(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@SETTINGS
@given(st.dictionaries(st.one_of(st.sampled_from(schema.FIELDS + ("meeting_typ", "theme", "")),
                                 st.text(max_size=8), st.integers()), yaml_values, max_size=14),
       st.sampled_from([None, ("座谈会", "工作会议")]), st.sampled_from([None, ("党建",)]))
def test_validate_never_crashes(data, meeting_types, themes):
    meta, problems = schema.validate("x.md", data, {}, meeting_types, themes)
    _check_problems(problems)
    assert (meta is None) == any(p.is_error for p in problems)
    if meta is not None:
        assert meta.title and meta.meeting_type and meta.themes
        if meta.slug is not None:
            _check_slug(meta.slug)


# --------------------------------------------------------------------------------------------
# query.parse
# --------------------------------------------------------------------------------------------

@SETTINGS
@given(st.one_of(any_text, mixed(QUERY_BITS, 30), st.text(min_size=480, max_size=620)))
@example("")
@example('"')
@example("-")
@example("OR")
@example("a OR")
@example("OR a")
@example("a OR OR b")
@example("-a OR b")
@example("a OR -b")
@example('""')
@example('-""')
@example("\x00")
@example("a" * 501)
@example(" ".join("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"))
def test_query_parse_never_crashes(raw):
    try:
        q = query.parse(raw)
    except query.QueryError as err:
        assert err.message and isinstance(err.message, str)
        assert err.column is None or 1 <= err.column <= len(raw) + 1
        return
    assert q.groups and all(g and all(t for t in g) for g in q.groups)
    assert all(t for t in q.excluded)
    assert all("\x00" not in t for g in q.groups for t in g)
    assert len(q.terms) <= query.MAX_TERMS
    q.matches("党建\x00如履薄冰")
    q.to_json()


@pytest.mark.parametrize("value", [None, 3, b"x", ["a"]])
def test_query_parse_of_non_text(value):
    with pytest.raises(query.QueryError):
        query.parse(value)


@SETTINGS
@given(title=st.text(max_size=12), meeting_type=st.text(max_size=8),
       themes=st.one_of(st.text(max_size=8), st.lists(st.text(max_size=8), max_size=3)),
       optional=st.dictionaries(st.sampled_from(schema.OPTIONAL), st.text(max_size=10), max_size=4))
@example(title="\x01", meeting_type="会", themes=["主题"], optional={})
@example(title="讲话", meeting_type="\x1b", themes="\x02", optional={"slug": "\x7f"})
def test_validate_with_any_text_in_the_fields(title, meeting_type, themes, optional):
    """Every field present, each any text: the metadata has non-empty, XML-safe texts, or errors."""
    data = {"title": title, "date": "2020-03-05", "meeting_type": meeting_type, "themes": themes, **optional}
    meta, problems = schema.validate("x.md", data, {})
    _check_problems(problems)
    if meta is None:
        assert any(p.is_error for p in problems)
        return
    texts = [meta.title, meta.meeting_type, *meta.themes, *meta.tags] + \
        [getattr(meta, k) for k in ("speaker", "organization", "location", "summary", "source") if getattr(meta, k)]
    for text in texts:
        assert text and text == text.strip()
        assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text if ch not in "\t\n\r"), text
        assert "\ufffe" not in text and "\uffff" not in text
