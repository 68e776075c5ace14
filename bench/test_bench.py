"""Tests for the benchmark tools (not part of the project's test suite).

    .venv/bin/python -m pytest -q bench/test_bench.py

The Hugo/Pelican/Pagefind test runs only when bench/.venv has the peer tools
(`python bench/peers.py setup`).
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_corpus
import peers

yaml = pytest.importorskip("yaml")

KEYS = {"title", "date", "meeting_type", "themes", "speaker", "organization"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(p.relative_to(root).as_posix().encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("c") / "corpus"
    gen_corpus.generate(300, out, seed=7, jobs=1, quiet=True)
    return out


def load(p: Path):
    text = p.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    fm, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(fm), body


def test_deterministic_and_jobs_independent(corpus, tmp_path):
    again = tmp_path / "again"
    gen_corpus.generate(300, again, seed=7, jobs=2, quiet=True)
    assert tree_digest(corpus) == tree_digest(again)
    other = tmp_path / "other"
    gen_corpus.generate(300, other, seed=8, jobs=1, quiet=True)
    assert tree_digest(corpus) != tree_digest(other)


def test_layout_names_and_front_matter(corpus):
    files = sorted(corpus.rglob("*.md"))
    assert len(files) == 300
    assert len({f.name for f in files}) == 300
    forms = collections.Counter()
    mts, themes = collections.Counter(), collections.Counter()
    for f in files:
        meta, body = load(f)
        assert set(meta) <= KEYS and {"title", "date", "meeting_type", "themes"} <= set(meta)
        assert re.fullmatch(r"\d{4}", f.parent.name)
        assert re.search(r"[\u4e00-\u9fff]", f.name) and re.search(r"-\d{4}\.md$", f.name)
        d = meta["date"]
        if isinstance(d, dt.date):
            forms["full"] += 1
            year = d.year
        elif isinstance(d, int):
            forms["year"] += 1
            year = d
        else:
            assert re.fullmatch(r"\d{4}-\d{2}", d)
            forms["month"] += 1
            year = int(d[:4])
        assert 1995 <= year <= 2024 and f.parent.name == f"{year}"
        assert isinstance(meta["themes"], list) and 1 <= len(meta["themes"]) <= 3
        assert len(set(meta["themes"])) == len(meta["themes"])
        mts[meta["meeting_type"]] += 1
        themes.update(meta["themes"])
        assert meta["title"].startswith("在") and meta["title"] == meta["title"].strip()
        assert body.lstrip().startswith("同志们：")
        assert re.search(r"^## 一、", body, re.M) and re.search(r"^### （一）", body, re.M)
        assert "工作工作" not in body
        assert 5800 <= len(CJK.findall(body)) <= 10600
    assert forms["full"] > 200 and forms["month"] > 5 and forms["year"] > 2
    assert set(mts) == {m for m, _ in gen_corpus.MEETING_TYPES}
    assert len(themes) >= 20
    assert set(themes) <= set(gen_corpus.THEMES)


def test_terms_are_not_everywhere(corpus):
    bodies = [load(f)[1] for f in sorted(corpus.rglob("*.md"))]

    def df(term):
        return sum(term in b for b in bodies) / len(bodies)

    assert df("工作") == 1.0  # the commonest words are everywhere, as in real speeches
    for rare in ("河长制", "核酸检测", "扫黑除恶", "厕所革命", "易地扶贫搬迁"):
        assert df(rare) < 0.25, rare
    assert 0.02 < df("如履薄冰") < 0.6
    # theme words concentrate in speeches on that theme
    on = off = n_on = n_off = 0
    for f in sorted(corpus.rglob("*.md")):
        meta, body = load(f)
        if "安全生产" in meta["themes"]:
            n_on += 1
            on += body.count("隐患排查")
        else:
            n_off += 1
            off += body.count("隐患排查")
    assert n_on and on / n_on > 10 * (off / max(1, n_off))


def test_refuses_foreign_dir(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        gen_corpus.generate(5, d, quiet=True)
    with pytest.raises(SystemExit):
        gen_corpus.generate(5, d, clean=True, quiet=True)
    assert (d / "notes.txt").exists()


def test_clean_replaces_generated(tmp_path):
    d = tmp_path / "c"
    gen_corpus.generate(20, d, quiet=True)
    gen_corpus.generate(10, d, clean=True, quiet=True)
    assert len(list(d.rglob("*.md"))) == 10


def test_read_corpus_simple_parser_matches_yaml(corpus):
    for f in sorted(corpus.rglob("*.md"))[:50]:
        text = f.read_text(encoding="utf-8")
        fm = text[4:].split("\n---\n", 1)[0]
        a = peers._simple_yaml(fm)
        b = yaml.safe_load(fm)
        b = {k: (str(v) if k == "date" else v) for k, v in b.items()}
        assert a == b
    sp = peers.read_corpus(corpus)
    assert len(sp) == 300
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s.full_date) for s in sp)


def test_run_timed_reports_failure(tmp_path):
    t = peers.run_timed("false", ["false"], log=tmp_path / "log")
    assert not t.ok and t.rc == 1
    t = peers.run_timed("true", ["true"])
    assert t.ok and t.wall is not None and t.rss_mb is not None


def _have_peers() -> bool:
    try:
        peers.hugo_bin(), peers.pelican_bin(), peers.pagefind_bin()
        return True
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _have_peers(), reason="peer tools not installed (python bench/peers.py setup)")
def test_peers_build_small_corpus(tmp_path):
    c = tmp_path / "c"
    gen_corpus.generate(30, c, seed=3, quiet=True)
    sp = peers.read_corpus(c)
    years = {s.date_parts[0] for s in sp}
    themes = {t for s in sp for t in s.themes}
    for cls in (peers.HugoSite, peers.PelicanSite):
        site = cls(c, tmp_path / "w")
        site.prepare()
        t = site.build_cold()
        assert t.ok, (cls.name, site.log.read_text())
        speech_pages = list((site.output / "speeches").glob("*/*/index.html"))
        assert len(speech_pages) == 30
        assert len(list((site.output / "years").glob("*/index.html"))) == len(years)
        assert len(list((site.output / "themes").glob("*/index.html"))) == len(themes)
        assert (site.output / "meeting_types" / "index.html").exists()
        html = speech_pages[0].read_text(encoding="utf-8")
        assert "同志们" in html and "<h2" in html and "data-pagefind-body" in html
        assert site.build_again().ok and site.build_one_changed().ok
    t = peers.run_pagefind(tmp_path / "w" / "hugo-site" / "public", tmp_path / "pf", log=tmp_path / "pf.log")
    assert t.ok and t.extra["pages"] == 30 and t.extra["index_mb"] > 0


def test_new_speech_is_the_newest_and_written_for_our_tool(corpus, tmp_path):
    s1, s2 = peers.new_speech(corpus, 1), peers.new_speech(corpus, 2)
    newest = max(sp.full_date for sp in peers.read_corpus(corpus))
    assert s1.full_date > newest and s1.rel != s2.rel and s1.meta["title"] != s2.meta["title"]
    ours = peers.OursSite(corpus, tmp_path / "w", "true")
    ours.content.mkdir(parents=True)
    ours.write_speech(s1)
    meta, body = load(ours.content / s1.rel)
    assert meta["title"] == s1.meta["title"] and str(meta["date"]) == s1.meta["date"]
    assert meta["themes"] == s1.themes and body == s1.body


@pytest.mark.skipif(not _have_peers(), reason="peer tools not installed (python bench/peers.py setup)")
def test_peers_see_the_added_speech(tmp_path):
    c = tmp_path / "c"
    gen_corpus.generate(30, c, seed=3, quiet=True)
    new = peers.new_speech(c, 1)
    for cls in (peers.HugoSite, peers.PelicanSite):
        site = cls(c, tmp_path / "w")
        site.prepare()
        assert site.build_cold().ok
        t = site.build_one_added()
        assert t.ok, (cls.name, site.log.read_text())
        pages = [
            p
            for p in (site.output / "speeches").glob("*/*/index.html")
            if f"<h1>{new.meta['title']}</h1>" in p.read_text(encoding="utf-8")
        ]
        assert len(pages) == 1, cls.name


def test_update_bench_times_each_scenario_and_reads_the_stages(tmp_path):
    import json

    import bench_update

    c = tmp_path / "content"
    gen_corpus.generate(12, c, seed=5, jobs=1, quiet=True)
    report = tmp_path / "u.json"
    rc = bench_update.main(
        ["--content", str(c), "--output", str(tmp_path / "out"), "--cold", "--runs", "1"] + ["--json", str(report)]
    )
    assert rc == 0
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert [r["label"] for r in rows] == ["cold", "no-change 1", "changed 1", "added 1"]
    assert all(r["ok"] and r["cpu"] > 0 for r in rows)
    assert rows[1]["stages"] == {}  # nothing to do: the last build's figures are not its own
    assert {"parse", "render"} <= set(rows[2]["stages"]) and {"parse", "render"} <= set(rows[3]["stages"])
    speeches = list(c.rglob("*.md"))
    assert len(speeches) == 13  # the added one
    assert sum("修改标记bench-update-1-" in p.read_text(encoding="utf-8") for p in speeches) == 1  # the changed one
    # the same folders named relative, then absolute again: nothing to do either time (the quick exit)
    rc = bench_update.main(
        ["--content", str(c), "--output", str(tmp_path / "out"), "--runs", "1"]
        + ["--scenarios", "relative,no-change", "--json", str(report)]
    )
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert rc == 0 and [(r["label"], r["ok"], r["stages"]) for r in rows] == [
        ("relative 1", True, {}),
        ("no-change 1", True, {}),
    ]
    # a newest speech with a text of its own, in the newest year's folder, dated its last day
    newest = max(int(p.name) for p in c.iterdir() if p.name.isdigit())
    rc = bench_update.main(
        ["--content", str(c), "--output", str(tmp_path / "out"), "--runs", "2", "--scenarios", "added-own"]
    )
    own = sorted(c.glob(f"{newest}/新增-*.md"))
    assert rc == 0 and len(own) == 2 and own[0].read_text(encoding="utf-8") != own[1].read_text(encoding="utf-8")
    assert all(f"\ndate: {newest}-12-31\n" in p.read_text(encoding="utf-8") for p in own)
    assert (tmp_path / "out" / "speeches").is_dir() and len(list(c.rglob("*.md"))) == 15


def test_stage_seconds_takes_the_last_explain_line():
    import bench_update

    log = "x\n  seconds per stage: parse 0.20, model 0.01\n…\n  seconds per stage: parse 0.31, search indexes 0.05\n"
    assert bench_update.stage_seconds(log) == {"parse": 0.31, "search indexes": 0.05}
    assert bench_update.stage_seconds("no stages here") == {}


def test_reuse_related_bench_times_both_stages_and_the_reuse_stage_alone(tmp_path, capsys):
    import json

    import bench_reuse_related
    import bench_update

    c, out = tmp_path / "content", tmp_path / "out"
    gen_corpus.generate(12, c, seed=5, jobs=1, quiet=True)
    assert bench_update.main(["--content", str(c), "--output", str(out), "--cold", "--runs", "0"]) == 0
    report = tmp_path / "r.json"
    rc = bench_reuse_related.main(["--content", str(c), "--output", str(out), "--runs", "1", "--json", str(report)])
    assert rc == 0
    rows = json.loads(report.read_text(encoding="utf-8"))
    assert [r["scenario"] for r in rows] == ["changed", "added"]
    for r in rows:
        assert r["whole"]["exit"] == 0 and r["whole"]["cpu"] > 0
        assert set(r["stages"]) == {"reuse", "related"} and all(len(v) == 3 for v in r["stages"].values())
    assert len(list(c.rglob("*.md"))) == 13  # the added one
    [state] = [p.parent for p in (out.parent / ".site_builder_cache").rglob("cache.sqlite")]
    steps = tmp_path / "steps.json"
    args = ["--state", str(state), "--scratch", str(tmp_path / "scratch"), "--steps", "2", "--json", str(steps)]
    assert bench_reuse_related.main(args) == 0
    got = json.loads(steps.read_text(encoding="utf-8"))
    assert [s["step"] for s in got] == [1, 2] and all(s["cpu"] > 0 and len(s["digest"]) == 12 for s in got)
    assert "step 2:" in capsys.readouterr().out
