"""A very large speech (#15, "a 50 MB speech") changed: the static index's patch compares the old
and the new entries of a changed doc a run of sections at a time (``patching.diff_entries``), with
exactly the changes of comparing them whole, and holds a run's entries at once, not the speech's."""

from __future__ import annotations

import gc
import random
import tracemalloc

import numpy as np
import pytest

from site_builder.model import IndexDoc
from site_builder.static_search import StaticIndex, analyser, patching


def _text(n: int, seed: int) -> str:
    """``n`` characters of sentences drawn from 400 (a speech repeats its phrases), in lines of 200."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in range(150)]
    pool = ["".join(rng.choices(chars, k=rng.randint(8, 30))) + "。" for _ in range(400)]
    text = "".join(rng.choices(pool, k=n // 19 + 1))[:n]
    return "\n".join(text[i : i + 200] for i in range(0, n, 200))


def _doc(body: str, id: str = "big.md", headings=(0, 3)) -> IndexDoc:
    return IndexDoc(
        id=id, url=f"speeches/{id[:-3]}.html", title="一篇很长的讲话", date="2020-01-01", year=2020,
        meeting_type="", themes=(), body=body, fingerprint=str(hash(body)), headings=tuple(headings),
    )  # fmt: skip


def _entry(tmp_path, doc: IndexDoc, name: str) -> tuple:
    """(fingerprint, header file, meta) of ``doc`` analysed into ``tmp_path``, as the manifest holds it."""
    meta = analyser.analyse_to((doc, str(tmp_path / f"{name}.bin")))
    return doc.fingerprint, f"{name}.bin", meta


def _diff(tmp_path, old: list, new: list, limit: int, monkeypatch) -> tuple:
    """diff_entries of the docs numbered 0.. before and after, runs of ``limit`` bytes of objects."""
    monkeypatch.setattr(patching, "DIFF_BYTES", limit)
    old_docs = {f"o{n}": e for n, e in enumerate(old)}
    new_docs = {f"n{n}": e for n, e in enumerate(new)}
    old_order = [f"o{n}" for n in range(len(old))]
    order = [f"n{n}" for n in range(len(new))]
    changed = list(range(max(len(old), len(new))))
    kch, pch = patching.diff_entries(changed, order, old_order, new_docs, old_docs, f"{tmp_path}/")
    return {k: dict(v) for k, v in kch.items()}, {k: dict(v) for k, v in pch.items()}


@pytest.mark.parametrize("limit", [1, 5_000, 200_000])
def test_a_changed_docs_entries_compared_in_runs_of_sections_are_those_compared_whole(tmp_path, monkeypatch, limit):
    # Edited in the middle, at the end, a doc added past the end and one removed from it: the same
    # changes ({key: {doc: entry or None}}) whatever the number of entries read at a time.
    base = _text(6_000, 1)
    a0 = _entry(tmp_path, _doc(base), "a0")
    b0 = _entry(tmp_path, _doc(base[:3000] + "又及补充" + base[3000:]), "b0")
    c0 = _entry(tmp_path, _doc(base[:2000]), "c0")
    a1 = _entry(tmp_path, _doc(base + "\n又及：补充一段。"), "a1")
    b1 = _entry(tmp_path, _doc(base), "b1")
    d1 = _entry(tmp_path, _doc(_text(3_000, 2)), "d1")
    for old, new in (([a0, b0, c0], [a1, b1]), ([a0, b0], [a1, b1, d1])):
        whole = _diff(tmp_path, old, new, 1 << 40, monkeypatch)
        assert whole[0] and whole[1]
        assert _diff(tmp_path, old, new, limit, monkeypatch) == whole


def test_section_runs_bound_the_objects_of_a_run(monkeypatch):
    # (in units of a k entry's bytes: a doc with these k entries in sections 0..7 of 64, nothing else)
    k = np.zeros(64, np.int64)
    k[:8] = [5, 0, 3, 9, 1, 1, 20, 2]
    sizes = [(k, np.zeros(64, np.int64), np.zeros(64, np.int64))]
    assert patching.section_runs(sizes) == [(0, 64)]  # (an ordinary doc: one run)
    monkeypatch.setattr(patching, "DIFF_BYTES", 10 * patching._K_BYTES)
    # every section once, in order; a run of at most 10 entries, but for a section of more alone
    assert patching.section_runs(sizes) == [(0, 3), (3, 5), (5, 6), (6, 7), (7, 64)]
    # two docs: their entries add up
    assert patching.section_runs(sizes * 2)[:3] == [(0, 2), (2, 3), (3, 4)]


def test_the_diff_of_a_long_changed_doc_holds_a_run_of_entries(tmp_path, monkeypatch):
    body = _text(600_000, 3)
    old = [_entry(tmp_path, _doc(body), "old")]
    new = [_entry(tmp_path, _doc(body + "\n又及：补充一段。"), "new")]

    def peak(limit: int) -> int:
        _diff(tmp_path, old, new, limit, monkeypatch)
        gc.collect()
        tracemalloc.start()
        try:
            _diff(tmp_path, old, new, limit, monkeypatch)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    n = len(body)
    whole, runs = peak(1 << 40), peak(1 << 20)
    assert _diff(tmp_path, old, new, 1 << 20, monkeypatch) == _diff(tmp_path, old, new, 1 << 40, monkeypatch)
    print(f"whole {whole / n:.1f}, runs {runs / n:.1f} bytes a character")
    assert whole > 20 * n
    assert runs < 4 * n, f"{runs / n:.1f} bytes a character"


def _files(out) -> dict:
    return {f.relative_to(out).as_posix(): f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file()}


def test_a_long_speech_changed_patches_the_index_of_a_clean_build(tmp_path, monkeypatch):
    # incremental = clean: a long speech edited (its entries compared in runs of a few sections),
    # the other docs kept, gives the files a clean build of the new docs writes.
    monkeypatch.setattr(patching, "DIFF_BYTES", 50_000)
    rng = random.Random(4)
    small = [_doc(_text(rng.randint(100, 900), 10 + i), id=f"s{i}.md") for i in range(8)]
    long = _text(40_000, 5)
    StaticIndex(tmp_path / "inc" / "state", tmp_path / "inc" / "out", jobs=1).update([*small, _doc(long)])
    edited = [*small, _doc(long[:20_000] + "又及补充一段" + long[20_000:] + "\n完")]
    stats = StaticIndex(tmp_path / "inc" / "state", tmp_path / "inc" / "out", jobs=1).update(edited)
    assert stats.get("patched") == 1
    StaticIndex(tmp_path / "clean" / "state", tmp_path / "clean" / "out", jobs=1).update(edited)
    assert _files(tmp_path / "inc" / "out") == _files(tmp_path / "clean" / "out")
