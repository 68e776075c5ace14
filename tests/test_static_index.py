"""The static index writer (no browser): incremental updates equal clean writes, and a one-doc
update writes only the files that hold that doc's keys (under new names, beside the old generation:
every other file is the old generation's own file, never copied)."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_static_search import _tree, make_docs

from site_builder.search import analysis
from site_builder.static_search import (
    IndexDoc,
    StaticIndex,
    analyser,
    assembly,
    entries,
    files,
    index,
    keys,
    spill,
    wire,
)


def _edit(d: IndexDoc, **changes) -> IndexDoc:
    return IndexDoc(**{**d.__dict__, **changes})


def _keys(d: IndexDoc) -> tuple[set[str], set[str]]:
    """The doc's char/pair keys and trigram keys (what its postings are filed under)."""
    text = analysis.search_text(d.title, d.body)
    runs = re.findall("[^ \x00]+", text)
    k = {g for r in runs for n in (1, 2) for g in (r[i : i + n] for i in range(len(r) - n + 1))}
    p = {r[i : i + 3] for r in runs for i in range(len(r) - 2)}
    return k, p


def _meta(out: Path) -> dict:
    text = (out / "search" / "meta.js").read_text("utf-8")
    return json.loads(text[text.index('",') + 2 : -3])


def _allowed(out: Path, docs: list[IndexDoc], number: int) -> set[str]:
    """Names of the files a change of these docs may rewrite: their keys' buckets and own files, the
    text file of doc ``number``, meta, facets and the manifests that name them."""
    meta = _meta(out)
    allowed = {"meta", "facets", f"t/{number // meta['tdir']}/{number}"}
    allowed |= {name for name in meta["files"] if name.startswith("m/")}
    for d in docs:
        k, p = _keys(d)
        for prefix, grams, counts in (
            ("k", k, meta["kbs"]),
            ("p", p, meta["pbs"]),
            ("kn", k, meta["knbs"]),
            ("pn", p, meta["pnbs"]),
            ("d", {g for g in k if len(g) == 2}, meta["dbs"]),  # the pairs' numbers of docs
        ):
            layout = wire.Layout(counts)
            for key in grams:
                allowed.add(f"{prefix}/{layout.bucket(key)}")
                allowed.add(f"{prefix}/x/{wire.hexname(key)}")
    return allowed


def _stamps(search: Path) -> dict[str, tuple]:
    """{name: (file, inode, mtime)} of every file the browser reaches from meta.js."""
    out = {}
    for name, rel in files.index_files(search).items():
        st = (search / rel).stat()
        out[name] = (rel, st.st_ino, st.st_mtime_ns)
    return out


def _written(search: Path, before: dict, before_bytes: dict) -> set[str]:
    """The names whose file an update wrote (checked to be those whose bytes changed); the files of
    the other names are the previous generation's (same file, not a copy) and nothing else is left."""
    after, after_bytes = _stamps(search), files.read_index(search)
    written = {n for n in after if before.get(n) != after[n]}
    assert written == {n for n in after if before_bytes.get(n) != after_bytes[n]}  # nothing needlessly
    assert files.listing(search) == {rel for rel, _, _ in after.values()}  # the old generation is gone
    return written


def _number(docs: list[IndexDoc], doc_id: str) -> int:
    return [d.id for d in sorted(docs, key=lambda d: (d.date, d.id))].index(doc_id)


@pytest.fixture
def small_postings(monkeypatch):
    """Long-posting files and checkpoints on the small test corpus too, and a base (k/, p/) and a
    tail (kn/, pn/) that both hold docs."""
    monkeypatch.setattr(wire, "BIG", 120)
    monkeypatch.setattr(wire, "CK", 3)
    monkeypatch.setattr(wire, "TAIL_MIN", 16)


LONG = 2048  # a long text (format 4 cut texts in two parts there)


def _long_doc(docs: list[IndexDoc]) -> int:
    """Index of a doc whose text is long (more than LONG characters)."""
    return next(i for i, d in enumerate(docs) if len(d.body) > LONG + 100)


@pytest.mark.parametrize("small", [False, True])
@pytest.mark.parametrize("which", ["short", "long"])
def test_one_doc_update_rewrites_only_its_files(tmp_path, request, small, which):
    if small:
        request.getfixturevalue("small_postings")
    docs = make_docs()
    out = tmp_path / "out"
    index = StaticIndex(tmp_path / "state", out, jobs=1)
    index.update(docs)
    search = out / "search"
    # An edit: a sentence added near the start of one speech.
    i = 5 if which == "short" else _long_doc(docs)
    old = docs[i]
    assert (len(old.body) > LONG) == (which == "long")
    new = _edit(old, body=old.body[:10] + "新增一句话：如履薄冰。" + old.body[10:], fingerprint="edited")
    edited = docs[:i] + [new] + docs[i + 1 :]
    before, before_bytes = _stamps(search), files.read_index(search)
    stats = index.update(edited)
    assert stats.get("patched") == 1 and "assembled" not in stats, stats
    rewritten = _written(search, before, before_bytes)
    number = _number(edited, new.id)
    assert rewritten <= _allowed(out, [old, new], number), rewritten - _allowed(out, [old, new], number)
    texts = {n for n in rewritten if n.startswith("t/")}
    assert texts == {f"t/{number // wire.T_DIR}/{number}"}
    assert len(rewritten) < len(before) / 4
    # A new, newest speech: appended, the others keep their numbers.
    added = _edit(
        docs[0],
        id="new/zz.md",
        date="2030-01-01",
        year=2030,
        fingerprint="added",
        body="全新的讲话：乡村振兴，鲲鹏展翅。",
    )
    before, before_bytes = _stamps(search), files.read_index(search)
    stats = index.update(edited + [added])
    assert stats.get("patched") == 1 and "assembled" not in stats, stats
    rewritten = _written(search, before, before_bytes)
    assert rewritten <= _allowed(out, [added], len(edited)), rewritten - _allowed(out, [added], len(edited))
    assert wire.tail_start(len(edited) + 1) == wire.tail_start(len(edited)) > 0 or not small
    assert not {n for n in rewritten if n.startswith(("k/", "p/"))}  # the base is untouched: only the tail
    # Both equal a clean write.
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(edited + [added])
    assert _tree(search) == _tree(tmp_path / "clean" / "search")


@pytest.mark.parametrize("small", [False, True])
def test_random_updates_equal_clean_writes(tmp_path, request, monkeypatch, small):
    if small:
        request.getfixturevalue("small_postings")
        monkeypatch.setattr(wire, "BUCKET_TARGET", 400)  # bucket counts change (the tail's: it alone is written)
    rnd = random.Random(11)
    docs = make_docs()
    cur = list(docs[:-3])
    inc = StaticIndex(tmp_path / "state", tmp_path / "inc", jobs=1)
    inc.update(cur)
    for step in range(16):
        kind = rnd.choice(["edit", "cut", "first", "append", "drop_last", "drop_any", "rename", "redate"])
        order = sorted(cur, key=lambda d: (d.date, d.id))
        if kind == "edit":
            j = rnd.randrange(len(cur))
            cur[j] = _edit(
                cur[j], body=cur[j].body + "新增一句话，如履薄冰。" * rnd.randint(1, 3), fingerprint=f"e{step}"
            )
        elif kind == "cut":
            j = rnd.randrange(len(cur))
            cur[j] = _edit(cur[j], body=cur[j].body[: len(cur[j].body) // 2], fingerprint=f"c{step}")
        elif kind == "first":
            j = cur.index(order[0])
            cur[j] = _edit(
                cur[j], body="党的建设" + cur[j].body, title=cur[j].title + "（修订）", fingerprint=f"f{step}"
            )
        elif kind == "append":
            d = rnd.choice(docs)
            cur.append(_edit(d, id=f"new/{step}.md", date=f"2030-01-{step + 1:02d}", year=2030, fingerprint=f"n{step}"))
        elif kind == "drop_last":
            cur.remove(order[-1])
        elif kind == "drop_any":  # renumbers the docs after it: written afresh
            cur.remove(rnd.choice(order))
        elif kind == "rename":
            j = rnd.randrange(len(cur))
            cur[j] = _edit(cur[j], id=cur[j].id + ".renamed", fingerprint=f"r{step}")
        else:  # moves among the docs: those after its old and new place keep their numbers
            j = rnd.randrange(len(cur))
            other = rnd.choice(cur)
            cur[j] = _edit(cur[j], date=other.date, year=other.year, fingerprint=f"d{step}")
        inc.update(cur)
        clean = tmp_path / f"clean{step}"
        StaticIndex(tmp_path / f"state{step}", clean, jobs=1).update(cur)
        assert _tree(tmp_path / "inc" / "search") == _tree(clean / "search"), (step, kind)
        shutil.rmtree(clean)


def test_a_damaged_output_is_written_afresh(tmp_path):
    docs = make_docs()
    index = StaticIndex(tmp_path / "state", tmp_path / "out", jobs=1)
    index.update(docs)
    search = tmp_path / "out" / "search"
    victim = sorted((search / "p").glob("*.js"))[0]
    victim.unlink()
    changed = docs[:-1] + [_edit(docs[-1], body=docs[-1].body + "再加一句。", fingerprint="z")]
    index.update(changed)  # the patch cannot read the missing bucket: everything is assembled again
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(changed)
    assert _tree(search) == _tree(tmp_path / "clean" / "search")


@pytest.mark.parametrize("damage", ["p cut", "k cut", "p swapped"])
def test_buckets_changed_in_place_are_written_afresh(tmp_path, damage):
    """Bucket files changed where they lie (their folder's stamp unchanged, so the update sets out
    to patch): cut short, or two buckets' contents swapped (each still a well-formed file). A file
    read to be patched is checked against the digest its name carries, and the update assembles
    afresh instead of patching what is not the index's."""
    docs = make_docs()
    index = StaticIndex(tmp_path / "state", tmp_path / "out", jobs=1)
    index.update(docs)
    search = tmp_path / "out" / "search"
    folder, how = damage.split()
    victims = sorted((search / folder).glob("*.js"))
    if how == "cut":
        for victim in victims:
            with open(victim, "r+b") as fh:
                fh.truncate(victim.stat().st_size * 2 // 3)
    else:
        first, second = victims[0].read_bytes(), victims[1].read_bytes()
        victims[0].write_bytes(second)
        victims[1].write_bytes(first)
    oldest = min(range(len(docs)), key=lambda j: (docs[j].date, docs[j].id))  # (in the base, not the tail)
    changed = list(docs)
    changed[oldest] = _edit(docs[oldest], body=docs[oldest].body + "再加一句。如履薄冰，党的建设。", fingerprint="z")
    stats = index.update(changed)
    assert "assembled" in stats and "patched" not in stats, stats
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(changed)
    assert _tree(search) == _tree(tmp_path / "clean" / "search")


@pytest.mark.parametrize("damage", ["text gone", "stray file", "stray folder", "none"])
def test_the_output_is_checked_by_its_folders(tmp_path, damage):
    """An update patches only an output that holds what the manifest names (#15 review: told by the
    folders' stamps when they are as the last update left them, not by listing every file): a text
    file of an unchanged doc deleted, a file put in one of the index's folders or in a folder made
    there, and the update assembles afresh, writes the missing file again and removes what is not
    the index's; with nothing done to the output it patches."""
    docs = make_docs()
    index = StaticIndex(tmp_path / "state", tmp_path / "out", jobs=1)
    index.update(docs)
    search = tmp_path / "out" / "search"
    names = files.index_files(search)
    if damage == "text gone":
        (search / names["t/0/1"]).unlink()
    elif damage == "stray file":
        (search / "k" / "stray.js").write_text("x")
    elif damage == "stray folder":
        (search / "p" / "extra").mkdir()
        (search / "p" / "extra" / "stray.js").write_text("x")
    changed = docs[:-1] + [_edit(docs[-1], body=docs[-1].body + "再加一句。", fingerprint="z")]
    stats = index.update(changed)
    assert ("assembled" in stats) == (damage != "none") and ("patched" in stats) == (damage == "none"), stats
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(changed)
    assert _tree(search) == _tree(tmp_path / "clean" / "search")
    assert files.listing(search) == set(files.index_files(search).values())
    assert not (search / "p" / "extra").exists()


@pytest.mark.parametrize("fresh", [False, True])
def test_pool_and_serial_builds_are_identical(tmp_path, monkeypatch, fresh):
    """Workers forked, or started afresh (spawn: they inherit nothing of this process, #15), give
    the serial build's files; the entries are cut into more parts than shards, spilled in batches."""
    monkeypatch.setattr(index, "POOL_MIN_DOCS", 4)
    monkeypatch.setattr(index, "FRESH_DOCS", 1 if fresh else 10**9)
    docs = make_docs()
    StaticIndex(tmp_path / "s1", tmp_path / "serial", jobs=1).update(docs)
    monkeypatch.setattr(spill, "PART_BYTES", 1 << 14)
    monkeypatch.setattr(spill, "BATCH_BYTES", 1 << 16)
    stats = StaticIndex(tmp_path / "s2", tmp_path / "pool").update(docs)
    assert stats["parts"] > 2 * keys.shard_count(len(docs)) and stats["spill_files"] > 4, stats
    assert _tree(tmp_path / "serial" / "search") == _tree(tmp_path / "pool" / "search")
    assert not (tmp_path / "s2" / "static" / "spill").exists()


# Docs whose text is not plain CJK: astral characters (two UTF-16 code units each: keys are hashed
# as UTF-16-LE, offsets count code points), full-width and traditional characters folded in the
# title, spaces and separators, empty and very short texts, repeated trigrams (counts >= 4).
ODD = [
    ("空", ""),
    ("", ""),
    ("短", "ab"),
    ("國務院ＡＢＣ會議講話", "繁體中文測試，ＦＵＬＬ　ＷＩＤＴＨ　ｔｅｘｔ。這是一個測試。"),
    ("emoji 😀 标题", "text with 😀😀 emoji 𠀀𠀁𠀂 astral 𝐀𝐁𝐂 and 😀a😀 mixed 你😀好😀"),
    ("spaces  in   title", "a b c  d   e\tf\ng\r\nh  中 文 之 间  有 空格"),
    ("😀", "😀"),
    ("𠀀𠀁", "𠀀𠀁𠀂𠀃𠀀𠀁𠀂𠀃 " * 20),
    ("重复", "重复重复重复" * 40 + "啊" * 50),
    ("ﬁ ligature Ⅻ ㈱", "ﬁﬁﬁ ⅫⅫ ㈱㈱ ß İstanbul"),
    ("\u2028line\u2029", 'sep\u2028line\u2029para "quoted" back\\slash'),
]


def _odd_docs() -> list[IndexDoc]:
    return [
        IndexDoc(
            id=f"odd/{i:02d}.md",
            url=f"odd/{i}.html",
            title=t,
            date=f"2031-01-{i + 1:02d}",
            year=2031,
            meeting_type="",
            themes=(),
            body=b,
            fingerprint=f"odd-{i}",
        )
        for i, (t, b) in enumerate(ODD)
    ]


def _reference_entries(d: IndexDoc) -> tuple[dict, dict]:
    """The doc's postings entries computed the plain way: {key: code}, {key: (count, in a heading,
    heading indices and positions)}; a k code is ``body count << 9 | title count << 1 | in a heading``."""
    ftitle = analysis.fold(d.title)
    text = analysis.search_text(d.title, d.body)
    lines = d.body.split("\n")
    starts = [len(ftitle) + 1 + sum(len(analysis.fold(x)) + 1 for x in lines[:i]) for i in range(len(lines))]
    heading = set()
    for h in d.headings:
        heading.update(range(starts[h], starts[h] + len(analysis.fold(lines[h]))))
    counts: dict = {}
    titles: dict = {}
    headed: set = set()
    where: dict = {}
    for m in re.finditer("[^ \x00]+", text):
        run, off = m.group(), m.start()
        for n in (1, 2):
            for i in range(len(run) - n + 1):
                g = run[i : i + n]
                counts[g] = counts.get(g, 0) + 1
                if off + i < len(ftitle):
                    titles[g] = titles.get(g, 0) + 1
                if off + i in heading:
                    headed.add(g)
        for i in range(len(run) - 2):
            where.setdefault(run[i : i + 3], []).append(off + i)
    k = {g: (n - titles.get(g, 0)) << 9 | min(titles.get(g, 0), 255) << 1 | (g in headed) for g, n in counts.items()}
    p = {}
    for t, pos in where.items():
        hidx = [i for i, o in enumerate(pos) if o in heading]
        prefix = (wire.vlq(len(hidx)) + "".join(wire.vlq(b - a - 1) for a, b in zip([-1, *hidx], hidx))) if hidx else ""
        p[t] = (
            len(pos),
            int(bool(hidx)),
            prefix + wire.vlq(pos[0]) + "".join(wire.vlq(b - a - 1) for a, b in itertools.pairwise(pos)),
        )
    return k, p


@pytest.mark.parametrize("dense", [True, False])
def test_doc_entries_of_odd_texts(tmp_path, monkeypatch, dense):
    monkeypatch.setattr(analyser, "_DENSE", dense)
    headed = [_edit(d, headings=(0, 2)) for d in make_docs() if d.body.count("\n") >= 2][:3]
    assert headed
    for d in _odd_docs() + make_docs()[:5] + headed:
        meta, _, arrays = analyser.analyse(d)
        path = tmp_path / "doc.arr"
        path.write_bytes(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays))
        k, p = analyser.doc_entries(str(path), meta["offsets"])
        assert (k, p) == _reference_entries(d), d.title
        assert meta["tlen"] == len(analysis.fold(d.title))
        for key in list(k) + list(p):  # keys are filed by the hash of their UTF-16-LE code units
            assert wire.khash(key) == int(keys.khash_np(np.array([_key_int(key)], np.uint64))[0])


def _key_int(key: str) -> int:
    c = [ord(ch) for ch in key]
    return c[0] if len(c) == 1 else ((c[0] + 1) << 21 | c[1]) if len(c) == 2 else (c[0] << 42 | c[1] << 21 | c[2])


@pytest.mark.parametrize("chunk", [1 << 18, 3])
def test_vlq_vectorised(monkeypatch, chunk):
    monkeypatch.setattr(keys, "_VLQ_CHUNK", chunk)  # a few values at a time, too
    vals = [0, 1, 31, 32, 1023, 1024, 32767, 32768, 10**6, 2**31, 2**40]
    chars, n = keys.vlq_np(np.array(vals, np.uint64))
    assert chars.tobytes().decode("ascii") == "".join(wire.vlq(v) for v in vals)
    assert n.tolist() == [len(wire.vlq(v)) for v in vals]
    chars8, n8 = keys.vlq_np(np.array(vals, np.uint64), np.uint8)
    assert chars8.tobytes() == chars.tobytes() and n8.dtype == np.uint8 and n8.tolist() == n.tolist()


def test_small_pieces_write_the_same_index(tmp_path, monkeypatch):
    """A big speech's arrays are handled a window, a chunk, a few segments at a time (#15, memory):
    pieces of a few elements give the same files as the default pieces."""
    docs = make_docs()[:12] + _odd_docs()
    StaticIndex(tmp_path / "s1", tmp_path / "one", jobs=1).update(docs)
    monkeypatch.setattr(entries, "_CHUNK", 5)
    monkeypatch.setattr(keys, "_VLQ_CHUNK", 7)
    monkeypatch.setattr(keys, "COPY_CHUNK", 11)
    monkeypatch.setattr(assembly, "STRING_CHUNK", 13)
    monkeypatch.setattr(spill, "PART_BYTES", 1 << 10)  # many parts a shard, many spill files
    monkeypatch.setattr(spill, "BATCH_BYTES", 1 << 12)
    stats = StaticIndex(tmp_path / "s2", tmp_path / "two", jobs=1).update(docs)
    assert stats["parts"] >= 16 * keys.shard_count(len(docs)) and stats["spill_files"] >= 10, stats
    assert files.read_index(tmp_path / "two" / "search") == files.read_index(tmp_path / "one" / "search")


def test_odd_texts_incremental_equals_clean(tmp_path, small_postings):
    docs = make_docs()[:20] + _odd_docs()
    inc = StaticIndex(tmp_path / "state", tmp_path / "inc", jobs=1)
    inc.update(docs[:-1])
    cur = docs[:3] + [_edit(docs[3], body=docs[3].body + "😀𠀀新增", fingerprint="x")] + docs[4:]
    stats = inc.update(cur)
    assert stats.get("patched") == 2 and "assembled" not in stats, stats
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(cur)
    assert _tree(tmp_path / "inc" / "search") == _tree(tmp_path / "clean" / "search")


def _state_files(state: Path) -> list[str]:
    return sorted(p.name for p in (state / "static" / "docs").rglob("*") if p.is_file())


def test_arrays_again_from_the_stored_text(tmp_path):
    """The state keeps a doc's header only; its arrays, analysed again from the stored title, body
    and headings, are the bytes (and offsets) the first analysis wrote."""
    headed = [_edit(d, headings=(0, 2, 99)) for d in make_docs() if d.body.count("\n") >= 2][:3]
    long = [_edit(d, body="\n".join([d.body] * (LONG // len(d.body) + 2))) for d in make_docs()[:2]]
    assert headed and all(len(d.body) > LONG for d in long)
    for d in _odd_docs() + make_docs()[:5] + headed + long:
        path = str(tmp_path / "doc.bin")
        meta = analyser.analyse_to((d, path))
        arrays = Path(analyser.arrays_path(path)).read_bytes()
        Path(analyser.arrays_path(path)).unlink()
        assert analyser.reanalyse_to(path) == meta["offsets"], d.title
        assert Path(analyser.arrays_path(path)).read_bytes() == arrays, d.title
        title, body, _ = analyser.stored_text(Path(path))
        assert (title, body) == (d.title, d.body)


def test_state_holds_headers_only_and_an_old_format_is_replaced(tmp_path):
    docs = make_docs()
    state = tmp_path / "state"
    index_ = StaticIndex(state, tmp_path / "inc", jobs=1)
    index_.update(docs)
    names = _state_files(state)
    assert len(names) == len(docs) and all(n.endswith(".bin") for n in names)
    changed = docs[:5] + [_edit(docs[5], body=docs[5].body + "再加一句。", fingerprint="z")] + docs[6:]
    stats = index_.update(changed)  # patched: the old and new doc's arrays are analysed again, then removed
    assert stats.get("patched") == 1 and "assembled" not in stats, stats
    names = _state_files(state)
    assert len(names) == len(docs) and all(n.endswith(".bin") for n in names)
    StaticIndex(tmp_path / "s2", tmp_path / "clean", jobs=1).update(changed)
    assert _tree(tmp_path / "inc" / "search") == _tree(tmp_path / "clean" / "search")
    # A state of an older format (another version; files with arrays after the header, a stray
    # arrays file): written afresh, the old files removed, the same output.
    manifest = state / "static" / "manifest.bin"
    m = index.marshal.loads(manifest.read_bytes())
    manifest.write_bytes(index.marshal.dumps({**m, "version": "4-64-1200-7-old"}))
    for p in (state / "static" / "docs").rglob("*.bin"):
        p.write_bytes(p.read_bytes() + b"\0" * 100)
    (state / "static" / "docs" / "00").mkdir(exist_ok=True)
    (state / "static" / "docs" / "00" / "stray.arr").write_bytes(b"x")
    (state / "static" / "last.json").unlink()
    stats = index_.update(changed)
    assert stats.get("assembled") == 1 and stats.get("analysed") == len(docs), stats
    assert _tree(state / "static" / "docs") == _tree(tmp_path / "s2" / "static" / "docs")  # rewritten
    assert _tree(tmp_path / "inc" / "search") == _tree(tmp_path / "clean" / "search")


def test_a_moved_state_is_its_own(tmp_path):
    """A state and output moved elsewhere are used where they are now (the manifest's paths of the
    old place are not read or written: that place is gone)."""
    docs = make_docs()
    StaticIndex(tmp_path / "a" / "state", tmp_path / "a" / "out", jobs=1).update(docs)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "a")
    changed = docs[:5] + [_edit(docs[5], body=docs[5].body + "再加一句。", fingerprint="z")] + docs[6:]
    stats = StaticIndex(tmp_path / "b" / "state", tmp_path / "b" / "out", jobs=1).update(changed)
    assert stats.get("reused") == len(docs) - 1 and stats.get("patched") == 1, stats
    assert not (tmp_path / "a").exists()
    StaticIndex(tmp_path / "s2", tmp_path / "clean", jobs=1).update(changed)
    assert _tree(tmp_path / "b" / "out" / "search") == _tree(tmp_path / "clean" / "search")


def test_metadata_changes_patched_equal_clean_writes(tmp_path):
    """facets.js and meta.js follow a doc's meeting type, themes, speaker and date when only that doc
    is patched: its part of facets.js (and the next doc's same-date bit) is made again, or all of
    it when a vocabulary changes (a new value, or the last doc of a value changed)."""
    docs = sorted(make_docs(), key=lambda d: (d.date, d.id))
    cur = list(docs)
    inc = StaticIndex(tmp_path / "state", tmp_path / "inc", jobs=1)
    inc.update(cur)
    mid = len(cur) // 2
    # A doc that takes the date of the doc after it (and keeps its place): that doc's same-date bit.
    j = next(j for j in range(mid, len(docs) - 1) if docs[j].date != docs[j + 1].date and docs[j].id < docs[j + 1].id)
    steps = [
        (mid, {"meeting_type": "全新的会议类型"}),  # a new vocabulary value
        (mid, {"meeting_type": docs[mid + 1].meeting_type}),  # the value gone again
        (mid, {"themes": (docs[0].themes[0], "新主题")}),
        (mid, {"speaker": "某某", "organization": "某局"}),
        (mid, {"speaker": ""}),
        (mid + 1, {"date": docs[mid].date, "year": docs[mid].year}),  # the same date as the doc before
        (mid + 1, {"date": docs[mid + 1].date, "year": docs[mid + 1].year}),
        (j, {"date": docs[j + 1].date, "year": docs[j + 1].year}),
        (j, {"date": docs[j].date, "year": docs[j].year}),
    ]
    for step, (n, changes) in enumerate(steps):
        cur[n] = _edit(cur[n], **changes, fingerprint=f"m{step}")
        stats = inc.update(cur)
        assert stats.get("patched") and "assembled" not in stats, (step, stats)
        clean = tmp_path / f"clean{step}"
        StaticIndex(tmp_path / f"state{step}", clean, jobs=1).update(cur)
        assert _tree(tmp_path / "inc" / "search") == _tree(clean / "search"), (step, changes)
        shutil.rmtree(clean)


def test_a_posting_is_split_into_the_same_numbers_with_or_without_numpy(monkeypatch):
    """``wire._tokens`` splits a long posting with numpy, a short one with a regular expression: the
    same offsets and values either way (numbers of 1 to 12 chars), and a posting that is not all
    VLQ numbers (a foreign char, a number cut short) is refused by both (the patch then assembles)."""
    rnd = random.Random(11)
    for _ in range(300):
        values = [
            rnd.choice([rnd.randint(0, 31), rnd.randint(0, 5000), rnd.randint(0, 1 << 59)])
            for _ in range(rnd.randint(0, 200))
        ]
        posting = "".join(wire.vlq(v) for v in values)
        offs = [0]
        for v in values:
            offs.append(offs[-1] + len(wire.vlq(v)))
        monkeypatch.setattr(wire, "_NUMPY_TOKENS", 1 << 30)
        plain = wire._tokens(posting)
        monkeypatch.setattr(wire, "_NUMPY_TOKENS", 0)
        assert (wire._tokens(posting) if posting else plain) == plain == (offs, values)
    for bad in ("AB!C", "ABg", "AB中C"):
        for limit in (0, 1 << 30):
            monkeypatch.setattr(wire, "_NUMPY_TOKENS", limit)
            with pytest.raises(ValueError):
                wire._tokens(bad)


@pytest.mark.parametrize("kind", ["k", "p"])
def test_patching_a_short_posting_rewrites_only_around_the_change(kind):
    """A posting without checkpoints is patched between its first changed doc and the entry after
    its last one (``wire.entries_around``): the same posting as decoding, changing and encoding it all."""
    from site_builder.static_search import patching

    rnd = random.Random(5)

    def entry(d: int):
        if kind == "k":
            return wire.k_code(rnd.randint(1, 40), rnd.choice([0, 0, 1, 300]), rnd.random() < 0.2)
        count = rnd.choice([1, 2, 3, 4, 40])
        heads = sorted(rnd.sample(range(count), rnd.randint(1, count))) if rnd.random() < 0.3 else []
        enc = (wire.vlq(len(heads)) + "".join(wire.vlq(h) for h in heads)) if heads else ""
        enc += "".join(wire.vlq(rnd.randint(0, 5000)) for _ in range(count))
        return (count, int(bool(heads)), enc)

    for _ in range(400):
        docs = sorted(rnd.sample(range(200), rnd.randint(0, 60)))
        entries = [(d, entry(d)) for d in docs]
        posting = "".join(wire.encode_entries(kind, entries, -1))
        touched = rnd.sample(range(200), rnd.randint(1, 4))
        changes = {d: (None if rnd.random() < 0.4 else entry(d)) for d in touched}
        patched, ck, delta = patching.patch_posting(kind, posting, None, changes)
        expected = patching.apply_changes(entries, changes)
        assert patched == "".join(wire.encode_entries(kind, expected, -1))
        assert delta == len(expected) - len(entries) and ck is None
        assert wire.decode_entries(kind, patched, 0, len(patched), -1) == expected
        lo, hi = min(touched), max(touched)
        s, e, prev, around = wire.entries_around(kind, posting, lo, hi)
        assert around == wire.decode_entries(kind, posting, s, e, prev)  # one walk gives span and entries
        inside = [x for x in entries if x[0] >= lo]
        after = [x for x in inside if x[0] > hi][:1]
        assert around == [x for x in inside if x[0] <= hi] + after
        assert prev == max([d for d, _ in entries if d < lo], default=-1)


@pytest.mark.parametrize("big", [False, True])
def test_seg_index_is_the_rows_of_segments(big):
    """``segments.seg_index`` (the one helper for it, #15 review) gives every ``range(s, s + l)``
    in order, empty segments and all, as int32 when it can and int64 when values need it."""
    from site_builder.segments import seg_index

    rnd = np.random.default_rng(5)
    starts = rnd.integers(0, 1000, 300) + ((1 << 40) if big else 0)
    lengths = rnd.integers(0, 6, 300)
    lengths[:3] = 0
    want = [s + i for s, n in zip(starts.tolist(), lengths.tolist()) for i in range(n)]
    got = seg_index(starts, lengths)
    assert got.tolist() == want
    assert got.dtype == (np.int64 if big else np.int32)
    expr = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    assert got.tolist() == expr.tolist()
    assert seg_index(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []
    assert seg_index([4], [0]).tolist() == []


# -- a worker killed (for memory, say): its jobs and those the broken pool has not given back are
# done in this process (``files.Pool``), the same files, no traceback ---------------------------


def _in_worker() -> bool:
    import multiprocessing

    return multiprocessing.parent_process() is not None


def _analyse_or_die(args):
    if _in_worker() and args[0].id == "seed/005.md":
        os._exit(9)
    return analyser.analyse_to(args)


_SPILL_BATCH = spill.spill_batch  # (the test patches spill's own)


def _spill_or_die(args):
    if _in_worker() and args[1] > 0:  # a batch after the first
        os._exit(9)
    return _SPILL_BATCH(args)


def _assemble_or_die(args):
    if _in_worker() and args[0] == 1:  # shard 1
        os._exit(9)
    return assembly.assemble_shard(args)


@pytest.mark.parametrize("stage", ["analyse", "spill", "assemble"])
def test_a_killed_worker_leaves_its_jobs_to_this_process(tmp_path, monkeypatch, stage):
    monkeypatch.setattr(index, "POOL_MIN_DOCS", 4)
    monkeypatch.setattr(index, "FRESH_DOCS", 1)  # (workers started afresh: they import this module)
    docs = make_docs()
    StaticIndex(tmp_path / "s1", tmp_path / "serial", jobs=1).update(docs)
    monkeypatch.setattr(spill, "PART_BYTES", 1 << 14)
    monkeypatch.setattr(spill, "BATCH_BYTES", 1 << 16)
    if stage == "analyse":
        monkeypatch.setattr(index, "analyse_to", _analyse_or_die)
    elif stage == "spill":
        monkeypatch.setattr(spill, "spill_batch", _spill_or_die)
    else:
        monkeypatch.setattr(index, "assemble_shard", _assemble_or_die)
    stats = StaticIndex(tmp_path / "s2", tmp_path / "pool").update(docs)
    assert stats["spill_files"] > 4 and keys.shard_count(len(docs)) > 1, stats
    assert _tree(tmp_path / "serial" / "search") == _tree(tmp_path / "pool" / "search")
    assert not (tmp_path / "s2" / "static" / "spill").exists()


def test_an_assembly_lets_go_of_its_docs_offsets(tmp_path, monkeypatch):
    """#15: a doc's arrays offsets (1.6 KB a doc: where its entries of each section are in its
    arrays file) are of no use once the assembly has spilled and removed that file; they are let go
    of then, not held by the update until the manifest is written."""
    docs = make_docs()
    held: list = []
    real = StaticIndex._texts

    def texts(self, order, new_docs, *args):
        held.append(sum("offsets" in new_docs[i][2] for i in order))
        return real(self, order, new_docs, *args)

    monkeypatch.setattr(StaticIndex, "_texts", texts)
    StaticIndex(tmp_path / "state", tmp_path / "out", jobs=1).update(docs)
    assert held == [0]
    monkeypatch.undo()
    StaticIndex(tmp_path / "state2", tmp_path / "clean", jobs=1).update(docs)
    assert _tree(tmp_path / "out") == _tree(tmp_path / "clean")
