"""Hostile and broken input (issue 7): arbitrary text never crashes the parsers, and a broken
file system gives a clear message and loses nothing.

Property-based (Hypothesis): for the front-matter parser, the date parser, slugs, the field
validator and the query parser, any input either gives a result or raises *our* error
(FrontMatterError, DateError, QueryError) with a message a user can act on: never a traceback
from PyYAML, ``int()``, ``datetime`` or an index error. Slugs are always usable as a URL path
segment and a file name.

File systems: symbolic link loops and dangling links in content/, pipes and devices named
``*.md``, unreadable files and folders (simulated in-process when the tests run as root, for
whom chmod 000 does not block reads), and a full disk (ENOSPC, simulated in-process) while
writing pages, either search index or the build cache: the build ends with a message naming the
file or folder and a non-zero exit code, every previously published file is still there (old or
new version), and once the cause is gone the next build equals a clean one.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import Site, speech
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from site_builder import frontmatter, schema
from site_builder.dates import DateError, PartialDate, parse_date
from site_builder.errors import Problem
from site_builder.frontmatter import FrontMatterError
from site_builder.search import query

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that hits the interesting corners: YAML syntax, dates, query syntax, Chinese, full-width
# forms, whitespace of every kind, controls, and anything else.
YAML_BITS = [
    "---",
    "...",
    ":",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "!!binary ",
    "? ",
    "|",
    ">",
    "#",
    "'",
    '"',
    "\t",
    "\n",
    "\r\n",
    "  ",
    "title",
    "date",
    "themes",
    "2020-02-30",
    "2020年3月5日",
    "<<: *a",
    "!!str",
    "%YAML 1.1",
    "~",
    "null",
    "true",
    "0x1F",
    "1e400",
    "讲话",
    "\ufeff",
    "\x00",
    "\u2028",
    "\x85",
]
QUERY_BITS = [
    '"',
    "＂",
    "-",
    "－",
    "OR",
    "ＯＲ",
    " ",
    "\u3000",
    "党建",
    "黨建",
    "A",
    "ａ",
    "\x00",
    "\t",
    "\n",
    "(",
    ")",
    "*",
    "~",
    "^",
    "\\",
]
DATE_BITS = list(string.digits) + [
    "-",
    "/",
    ".",
    "年",
    "月",
    "日",
    "号",
    "度",
    " ",
    "０",
    "１",
    "２",
    "٢",
    "\u3000",
    "+",
    "e",
    "2020",
    "0000",
    "9999",
    "10000",
]


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
    lines += [
        "title: *a9",
        "date: *a9",
        "meeting_type: *a9",
        "themes: *a9",
        "tags: *a9",
        "draft: *a9",
        "summary: *a9",
        "---",
        "正文",
    ]
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
@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.dates(),
        st.datetimes(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.binary(max_size=10),
    )
)
def test_date_values_of_any_yaml_type_never_crash(value):
    _check_date(value)


# --------------------------------------------------------------------------------------------
# schema.slugify and schema.slug_problem
# --------------------------------------------------------------------------------------------

#: What a slug may not contain: path separators, URL delimiters, quotes and brackets, controls,
#: and whitespace of any kind.
_UNSAFE = set("/\\?#%&:*\"<>|[]{}^`'")


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
@given(
    st.one_of(
        any_text,
        st.text(alphabet="讲话在会议上的党建-./ \t", max_size=300),
        st.text(alphabet=st.characters(min_codepoint=0x10000), max_size=200),
    )
)
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
@example("\uf900")  # a compatibility ideograph: NFC makes it U+8C48
@example("a\u0301")  # NFD: NFC makes it U+00E1
@example("\u1100\u1161")  # conjoining jamo: NFC makes them one syllable
def test_slug_problem_answers_for_anything(text):
    why = schema.slug_problem(text)
    assert why is None or (isinstance(why, str) and why)
    if why is None:
        _check_slug(text)


# --------------------------------------------------------------------------------------------
# schema.validate with values of every YAML type
# --------------------------------------------------------------------------------------------

yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=20),
        st.dates(),
        st.datetimes(),
        st.binary(max_size=5),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@SETTINGS
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(schema.FIELDS + ("meeting_typ", "theme", "")), st.text(max_size=8), st.integers()),
        yaml_values,
        max_size=14,
    ),
    st.sampled_from([None, ("座谈会", "工作会议")]),
    st.sampled_from([None, ("党建",)]),
)
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
@given(
    title=st.text(max_size=12),
    meeting_type=st.text(max_size=8),
    themes=st.one_of(st.text(max_size=8), st.lists(st.text(max_size=8), max_size=3)),
    optional=st.dictionaries(st.sampled_from(schema.OPTIONAL), st.text(max_size=10), max_size=4),
)
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
    texts = [meta.title, meta.meeting_type, *meta.themes, *meta.tags] + [
        getattr(meta, k) for k in ("speaker", "organization", "location", "summary", "source") if getattr(meta, k)
    ]
    for text in texts:
        assert text and text == text.strip()
        assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text if ch not in "\t\n\r"), text
        assert "\ufffe" not in text and "\uffff" not in text


# --------------------------------------------------------------------------------------------
# Broken file systems: symbolic link loops, special files, unreadable files, a full disk
# --------------------------------------------------------------------------------------------


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _build_subprocess(root: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """A build that must end by itself: a hang fails the test instead of blocking it, and reading
    an endless file fails with MemoryError (3 GB) instead of starving the machine."""
    return subprocess.run(
        [sys.executable, "-m", "site_builder", "build"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
    )


def _small_site(root: Path) -> Site:
    """Four speeches, one per year 2014–2017."""
    site = Site(root)
    for i in range(4):
        site.write(
            f"{2014 + i}/第{i}篇.md",
            speech(title=f"第{i}篇讲话", date=f"{2014 + i}-03-0{i + 1}", body=f"同志们：\n\n第{i}篇，如履薄冰。\n"),
        )
    return site


def output_files(site: Site) -> dict[str, bytes]:
    return site.files() if site.output.is_dir() else {}


def is_temporary(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".tmp"))


def test_symbolic_link_loops_and_dangling_links_in_content(tmp_path):
    site = _small_site(tmp_path / "links")
    (site.content / "loop").symlink_to(site.content, target_is_directory=True)  # a folder that contains itself
    (site.content / "2014" / "self").symlink_to(".", target_is_directory=True)
    (site.content / "a.md").symlink_to("b.md")  # a.md → b.md → a.md
    (site.content / "b.md").symlink_to("a.md")
    (site.content / "gone.md").symlink_to("missing.md")  # dangling
    proc = _build_subprocess(site.root)
    assert proc.returncode == 1, proc.stderr  # the file loops and the dangling link are errors
    err = proc.stderr
    assert "Traceback" not in err and "internal error" not in err, err
    assert "symbolic link loop" in err
    for name in ("a.md", "b.md", "gone.md"):
        assert re.search(rf"content/{name}: cannot read this file: ", err), (name, err)
    pages = sorted(p.relative_to(site.output).as_posix() for p in site.output.glob("speeches/*/*.html"))
    assert len(pages) == 4, pages  # each speech once, however many ways lead to it


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_special_files_named_md_are_reported_not_read(tmp_path, kind):
    """A named pipe would block the build forever and /dev/zero would fill the memory."""
    site = _small_site(tmp_path / kind)
    special = site.content / "2014" / "special.md"
    if kind == "fifo":
        os.mkfifo(special)
    else:
        special.symlink_to("/dev/zero")
    proc = _build_subprocess(site.root, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert re.search(r"content/2014/special\.md: .*not a regular file", proc.stderr), proc.stderr
    assert len(list(site.output.glob("speeches/*/*.html"))) == 4


@pytest.fixture
def published(tmp_path):
    """A built site (4 speeches), its files, and a helper to touch one speech."""
    site = _small_site(tmp_path / "published")
    assert site.run("build", "-q") == 0
    return site, output_files(site)


def _unreadable(monkeypatch, *paths: Path):
    """Reading these files fails as chmod 000 makes it fail for a normal user (tests may run as
    root, for whom chmod does not block reads: the failure is simulated in this process)."""
    import pathlib

    targets = {str(p.resolve()) for p in paths}
    real = pathlib.Path.read_bytes

    def read_bytes(self):
        if str(Path(os.path.abspath(self)).resolve()) in targets:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    if os.geteuid() != 0:
        for p in paths:
            p.chmod(0)


def test_an_unreadable_speech_is_reported_and_its_page_kept(published, monkeypatch, capsys):
    site, before = published
    victim = next(site.content.glob("2015/*.md"))
    victim.write_text(victim.read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")  # must be read again
    _unreadable(monkeypatch, victim)
    try:
        code = site.run("build")
    finally:
        victim.chmod(0o644)
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(rf"content/2015/{re.escape(victim.name)}: cannot read this file: Permission denied", err), err
    page = next(rel for rel in before if rel.startswith("speeches/2015/"))
    assert output_files(site)[page] == before[page]  # its published page is kept


def test_an_unreadable_folder_is_reported_and_its_pages_kept(published, monkeypatch, capsys):
    site, before = published
    folder = site.content / "2016"
    real = os.scandir

    def scandir(path="."):
        if os.path.abspath(path) == str(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code = site.run("build")
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"content/2016: cannot read this folder: Permission denied", err), err
    pages = [rel for rel in before if rel.startswith("speeches/2016/")]
    assert pages
    now = output_files(site)
    for rel in pages:
        assert now.get(rel) == before[rel], f"{rel}: the page of a speech in the unreadable folder was lost"


class _FullDisk:
    """Stands in for the ``os`` module inside one module: writes of data fail with ENOSPC
    after ``budget`` successful file writes (counting only files under ``under``, if given)."""

    def __init__(self, budget: int, under: Path | None = None):
        self.budget, self.under = budget, under
        self._paths: dict[int, Path] = {}

    def __getattr__(self, name):
        return getattr(os, name)

    def open(self, path, *args, **kwargs):
        fd = os.open(path, *args, **kwargs)
        self._paths[fd] = Path(path)
        return fd

    def fdopen(self, fd, mode="r", *args, **kwargs):
        path = self._paths.pop(fd, None)
        fh = os.fdopen(fd, mode, *args, **kwargs)
        counted = self.under is None or (path is not None and path.is_relative_to(self.under))
        if "w" in mode and counted:
            if self.budget <= 0:
                fh.close()
                raise OSError(28, "No space left on device")
            self.budget -= 1
        return fh


def _change_everything(site: Site) -> None:
    for path in sorted(site.content.rglob("*.md")):
        path.write_text(path.read_text(encoding="utf-8").replace("同志们", "各位同志"), encoding="utf-8")
    site.write("2030/新的讲话.md", speech(title="新的讲话", date="2030-01-01", body="如履薄冰。\n"))


@pytest.mark.parametrize("budget", [0, 3])
def test_a_full_disk_while_writing_pages(published, tmp_path, monkeypatch, capsys, budget):
    from site_builder import fileio

    site, before = published
    _change_everything(site)
    clean = Site(tmp_path / "clean")
    shutil.copytree(site.content, clean.content, dirs_exist_ok=True)
    assert clean.run("build", "-q") == 0
    after = output_files(clean)
    monkeypatch.setattr(fileio, "os", _FullDisk(budget, under=site.output))  # the pages fill the disk
    code = site.run("build")
    err = capsys.readouterr().err
    assert code != 0
    assert re.search(
        r"error: \S*output/\S+\.html: the disk is full; the previous version of this file was kept", err
    ), err
    assert "Traceback" not in err and "internal error" not in err
    now = output_files(site)
    for rel, data in before.items():  # nothing published is lost: each file old or new
        assert rel in now and now[rel] in (data, after.get(rel)), rel
    assert not [rel for rel in now if is_temporary(rel)]
    monkeypatch.setattr(fileio, "os", os)  # space freed
    assert site.run("build", "-q") == 0
    assert output_files(site) == after


@pytest.mark.parametrize("where", ["static index", "whoosh index", "build cache"])
def test_a_full_disk_while_writing_the_indexes_or_the_cache(published, tmp_path, monkeypatch, capsys, where):
    import sqlite3

    from site_builder import cache as cachemod
    from site_builder.search import whoosh_index as search_index
    from site_builder.static_search import files as static_files

    site, before = published
    _change_everything(site)
    clean = Site(tmp_path / "clean")
    shutil.copytree(site.content, clean.content, dirs_exist_ok=True)
    assert clean.run("build", "-q") == 0
    after = output_files(clean)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if where == "static index":
        monkeypatch.setattr(static_files, "write_atomic", full)
        expected = r"output/search\S*: the disk is full"
    elif where == "whoosh index":
        monkeypatch.setattr(search_index.SearchIndex, "update", full)
        expected = r"whoosh\S*: the disk is full"
    else:

        def commit(self):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(cachemod.BuildCache, "commit", commit)
        expected = r"cache\.sqlite\S*: .*database or disk is full"
    code = site.run("build")
    err = capsys.readouterr().err
    assert code != 0
    assert "Traceback" not in err and "internal error" not in err, err
    assert re.search(expected, err), err
    now = output_files(site)
    for rel, data in before.items():
        assert rel in now and now[rel] in (data, after.get(rel)), rel
    monkeypatch.undo()
    assert site.run("build", "-q") == 0
    assert output_files(site) == after


# --------------------------------------------------------------------------------------------
# markup: the inline fast path changes nothing
# --------------------------------------------------------------------------------------------

MARKDOWN_BITS = [
    "\\",
    "`",
    "``",
    "[",
    "]",
    "(",
    ")",
    "!",
    "![",
    "[^1]",
    "[^1]: 注",
    "<",
    ">",
    "<b>",
    "</b>",
    "<http://a.b>",
    "<a@b.c>",
    "&",
    "&amp;",
    "&#20;",
    "*",
    "**",
    "_",
    "__",
    "  \n",
    "\n",
    "\n\n",
    "## ",
    "- ",
    "1. ",
    "> ",
    "    ",
    "\t",
    "|",
    "---",
    "{: #x }",
    "*[HTML]: 注",
    "HTML",
    "同志们，",
    "党建",
    "。",
    "：",
    "GDP",
    "2035年",
    " ",
    "\u3000",
    "~",
    "^",
    "#",
    "=",
    "+",
]


def _plain_renderer():
    from markdown.treeprocessors import InlineProcessor

    from site_builder import markup

    r = markup.Renderer()
    r._md.treeprocessors.register(InlineProcessor(r._md), "inline", 20)
    return r


INLINE_EXAMPLES = [
    "要*突出*重点",
    "**强调**",
    "_党建_",
    "`代码`",
    "\\*不是强调*",
    "[链接](http://a.b)",
    "![图](a.png)",
    "<b>粗</b>",
    "&amp;与&#20320;",
    "行末  \n下一行",
    "<http://a.b>",
    "<a@b.c>",
    "脚注[^1]\n\n[^1]: 注释",
    "[参考][1]\n\n[1]: http://a.b",
    "纯中文，没有标记。",
]


@SETTINGS
@given(st.one_of(mixed(MARKDOWN_BITS + INLINE_EXAMPLES, 80), any_text))
def test_inline_fast_path_renders_like_python_markdown(text):
    from site_builder import markup

    fast = markup.Renderer()
    assert type(fast._md.treeprocessors["inline"]).__name__ == "FastInlineProcessor"
    assert fast.render(text) == _plain_renderer().render(text)


def test_inline_fast_path_on_the_seed_speeches():
    from site_builder import markup

    sources = sorted((Path(__file__).resolve().parents[1] / "content").rglob("*.md"))
    assert sources
    fast, plain = markup.Renderer(), _plain_renderer()
    for sample in INLINE_EXAMPLES:
        assert fast.render(sample) == plain.render(sample), sample
    for path in sources:
        body = frontmatter.split(path.read_text(encoding="utf-8")).body
        assert fast.render(body) == plain.render(body), path
