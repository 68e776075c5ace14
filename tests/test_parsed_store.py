"""Every speech's parsed record in one blob (site_builder/parsed_store.py, #15): the records come back
exactly; what is not plain data is left to its row; a damaged blob is no blob; a build takes the
records from the base and writes it again only when many are missing; a file changed back to an
earlier text takes its record from the base and its body from its row; the pages are the same."""

from __future__ import annotations

import pickle
import sqlite3

from conftest import speech
from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder import loader, parsed_store
from site_builder.config import load_config
from site_builder.dates import PartialDate
from site_builder.errors import Problem
from site_builder.loader import Parsed
from site_builder.markup import Toc
from site_builder.schema import SpeechMeta

TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=12)  # surrogates too


@settings(max_examples=80, deadline=None)
@given(
    title=TEXT,
    month=st.one_of(st.none(), st.integers(1, 12)),
    themes=st.lists(TEXT, max_size=3),
    speaker=st.one_of(st.none(), TEXT),
    toc=st.lists(st.tuples(st.integers(1, 6), TEXT, TEXT), max_size=4),
    problems=st.lists(
        st.tuples(TEXT, st.one_of(st.none(), st.integers(1, 99)), st.one_of(st.none(), TEXT)), max_size=2
    ),
    draft=st.booleans(),
)
def test_a_record_comes_back_exactly(title, month, themes, speaker, toc, problems, draft):
    meta = SpeechMeta(title, PartialDate(2020, month), "会议", tuple(themes), speaker=speaker, draft=draft)
    found = [Problem(p, line, field, "message", None, "warning") for p, line, field in problems]
    records = [
        (("a.md", "d1"), Parsed(meta, Toc(tuple(toc)), 12, 1, found)),
        (("b.md", "d2"), Parsed(None, Toc(), 0, 0, found)),
    ]
    base = parsed_store.decode(parsed_store.encode(records, Parsed), Parsed)
    read = []
    for key, parsed in records:
        again = parsed_store.parsed_of(base[key], Parsed)
        read.append((key, again))
        assert again == parsed
        assert type(again.meta) is type(parsed.meta) and list(again.toc) == list(parsed.toc)
        assert (
            pickle.loads(pickle.dumps(again.toc)) == parsed.toc and type(pickle.loads(pickle.dumps(again.toc))) is Toc
        )
    assert (
        parsed_store.decode(
            parsed_store.encode(((k, parsed_store.parsed_of(base[k], Parsed)) for k, _ in records), Parsed), Parsed
        )
        == base
    )
    again_base = parsed_store.decode(
        parsed_store.encode(read, Parsed), Parsed
    )  # tables of contents read (unpacked) first
    assert [parsed_store.parsed_of(again_base[k], Parsed) for k, _ in records] == [p for _, p in records]


def test_what_is_not_plain_data_is_left_to_its_row():
    odd = SpeechMeta("标题", PartialDate(2020), "会议", ["a list, not a tuple"])  # type: ignore[arg-type]
    records = [(("a.md", "d"), Parsed(odd, Toc(), 1, 1, [])), (("b.md", "d"), Parsed(None, Toc(), 0, 0, []))]
    assert list(parsed_store.decode(parsed_store.encode(records, Parsed), Parsed)) == [("b.md", "d")]


def test_a_damaged_or_foreign_blob_is_no_blob():
    good = parsed_store.encode([(("a.md", "d"), Parsed(None, Toc(), 0, 0, []))], Parsed)
    for blob in (None, b"", b"garbage", good[:-5], good[:10] + bytes([good[10] ^ 0xFF]) + good[11:]):
        assert parsed_store.decode(blob, Parsed) == {} or parsed_store.decode(blob, Parsed) == parsed_store.decode(
            good, Parsed
        )
    import marshal

    other = marshal.dumps(((0, (), (), 4), []))
    assert parsed_store.decode(other, Parsed) == {}


def test_a_record_class_with_other_fields_gets_no_base():
    """A field added to loader.Parsed that a record does not hold (no VERSION bump, parsed_store not
    told): its blob is no blob (read from the rows), not records without the field; an old blob read
    with the new class, or a new one with the old, is none either."""
    import dataclasses

    assert tuple(f.name for f in dataclasses.fields(Parsed)) == parsed_store._LAYOUT  # (the layout knows Parsed)

    @dataclasses.dataclass
    class Wider(Parsed):
        sections: int = 0

    records = [(("a.md", "d"), Parsed(None, Toc(), 0, 0, []))]
    old = parsed_store.encode(records, Parsed)
    assert parsed_store.decode(old, Parsed) and parsed_store.decode(old, Wider) == {}
    new = parsed_store.encode([(("a.md", "d"), Wider(None, Toc(), 0, 0, [], 3))], Wider)
    assert parsed_store.decode(new, Wider) == {} and parsed_store.decode(new, Parsed) == {}


def _db(site):
    return sqlite3.connect(load_config(site.root, {})[0].state_dir / "cache.sqlite")


def test_builds_take_records_from_the_base_and_a_text_changed_back_reads_its_row(make_site, monkeypatch):
    files = {f"2020/第{i}篇.md": speech(title=f"讲话{i}", date=f"2020-03-{i + 1:02d}") for i in range(6)}
    site = make_site(files)
    assert site.run("build", "-q") == 0
    db = _db(site)
    first = db.execute("SELECT data FROM parsed_base").fetchone()[0]
    assert len(parsed_store.decode(first, Parsed)) == 6
    rows_read = []
    real = loader.BuildCache.parsed

    def spy(self, keys):
        found = real(self, keys)
        rows_read.append(len(found))
        return found

    monkeypatch.setattr(loader.BuildCache, "parsed", spy)
    original = files["2020/第2篇.md"]
    for text in (original + "\n补充一段。\n", original):  # changed, then changed back
        site.write("2020/第2篇.md", text)
        assert site.run("build", "-q") == 0
        clean = make_site({**files, "2020/第2篇.md": text})
        assert clean.run("build", "-q") == 0
        assert site.files() == clean.files()
    # the base was not written again (one record missing is within its slack), and no record was
    # read from its row: the changed text was parsed, the text changed back is in the base
    assert db.execute("SELECT data FROM parsed_base").fetchone()[0] == first
    assert sum(rows_read) == 0
    assert db.execute("SELECT count(*) FROM parsed").fetchone()[0] == 6  # the base's (the changed text's row dropped)
    db.close()


def test_a_base_written_again_when_many_records_are_missing(make_site, monkeypatch):
    files = {f"2020/第{i}篇.md": speech(title=f"讲话{i}", date=f"2020-03-{i + 1:02d}") for i in range(6)}
    site = make_site(files)
    assert site.run("build", "-q") == 0
    monkeypatch.setattr(loader, "BASE_SLACK", 1)
    for i in range(3):
        site.write(f"2020/第{i}篇.md", files[f"2020/第{i}篇.md"] + "\n补充。\n")
    assert site.run("build", "-q") == 0
    db = _db(site)
    base = parsed_store.decode(db.execute("SELECT data FROM parsed_base").fetchone()[0], Parsed)
    keys = {tuple(k) for k in db.execute("SELECT source, digest FROM parsed")}
    db.close()
    assert set(base) == keys and len(keys) == 6  # the new base, the table pruned to it


def test_tables_of_contents_are_held_packed_also_when_just_parsed(make_site, tmp_path):
    """#15: a build holds every speech's table of contents until its pages are written. Parsed in
    this build (no base yet) or read from the base, it is held as marshal bytes, and reading it (a
    page's key, its template) makes its tuples afresh without keeping them (4.2 KB a speech of
    tuples at 10,000 speeches, 0.9 KB packed)."""
    import gc

    from site_builder.cache import BuildCache

    body = "同志们：\n\n## 一、第一部分\n\n正文。\n\n### （一）小节\n\n正文。\n\n## 二、第二部分\n\n正文。\n"
    site = make_site({f"2020/第{i}篇.md": speech(title=f"讲话{i}", body=body) for i in range(3)})
    settings_ = loader.ParseSettings(False, None, None)
    for build in ("cold", "from the base"):
        cache = BuildCache(tmp_path / "state")
        speeches, problems, stats = loader.load(site.content, cache, settings_, jobs=1)
        cache.commit()
        cache.close()
        assert not problems and stats["parsed"] == (3 if build == "cold" else 0) and len(speeches) == 3
        for s in speeches:
            assert type(s.toc) is parsed_store.PackedToc, build
            assert [(e.level, e.title) for e in s.toc] == [(2, "一、第一部分"), (3, "（一）小节"), (2, "二、第二部分")]
            assert repr(s.toc).startswith("Toc(((2, 'p") and len(s.toc) == 3
            s.toc._entries = None  # (what a template's loop keeps, in a render worker)
            assert not any(isinstance(r, tuple) for r in gc.get_referents(s.toc)), build  # only the bytes
