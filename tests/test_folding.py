"""Zero-width characters, direction marks and the soft hyphen fold to nothing (issue #16):
``如\\ufeff履薄冰`` in a text is found by 如履薄冰, and a query holding them matches the plain text,
in the CLI (Whoosh), serve's /api/search and the static browser search alike."""

from __future__ import annotations

import contextlib
import io
import json
from urllib.parse import quote

import pytest
from conftest import speech
from test_static_search import CHROMIUM, _render_search_page, _run, _search_url, browser, page, truth  # noqa: F401

from site_builder.search import analysis, query
from site_builder.search import whoosh_index as wsi
from site_builder.static_search import IndexDoc, StaticIndex
from site_builder.static_search import files as static_files

INVISIBLE = [
    *map(chr, range(0x200B, 0x2010)),
    "\u2060",
    "\ufeff",
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
    "\u00ad",
]


# -- analysis ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_each_invisible_character_folds_to_nothing(ch):
    assert analysis.fold(f"如{ch}履薄冰") == "如履薄冰"
    assert analysis.search_text(f"党{ch}建", f"如{ch}履{ch}{ch}薄冰") == "党建\x00如履薄冰"
    assert ch in analysis.ignored()


def test_the_table_and_the_generator_agree():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "gen_fold_table.py"
    source = path.read_text("utf-8")
    assert "IGNORED" in source  # the generator is where the rule lives
    table = json.loads((Path(analysis.__file__).parents[1] / "data" / "fold.json").read_text("utf-8"))["fold"]
    assert {k for k, v in table.items() if v == ""} == set(INVISIBLE)
    assert importlib.util.find_spec("site_builder.search.analysis")  # (the generator needs OpenCC to run)


def test_offsets_map_back_across_dropped_characters():
    text = "甲\u200b\u200b如履\ufeff薄冰乙"
    folded, offsets = analysis.fold_with_offsets(text)
    assert folded == "甲如履薄冰乙"
    i = folded.index("如履薄冰")
    assert text[offsets[i] : offsets[i + 4]] == "如履\ufeff薄冰"
    assert len(offsets) == len(folded) + 1 and offsets[-1] == len(text)


def test_equal_length_is_not_one_to_one_when_one_char_expands_and_others_vanish():
    # ㈠ folds to three characters, two zero-width spaces to none: same length, other offsets.
    text = "㈠\u200b\u200b如履薄冰"
    folded = analysis.fold(text)
    assert len(folded) == len(text)
    assert not analysis.folds_one_to_one(text, folded)
    folded, offsets = analysis.fold_with_offsets(text)
    i = folded.index("如履薄冰")
    assert text[offsets[i] : offsets[i + 4]] == "如履薄冰"
    assert analysis.folds_one_to_one("如履薄冰", "如履薄冰")


def test_excerpt_marks_the_right_characters_when_lengths_happen_to_agree():
    body = "㈠\u200b\u200b要如履薄冰，恪尽职守。"
    html = wsi._excerpt(body, analysis.fold(body), ["如履薄冰"])
    assert "<mark>如履薄冰</mark>" in html, html


def test_queries_with_invisible_characters_parse_like_plain_ones():
    plain = query.parse("如履薄冰 -廉政")
    for ch in INVISIBLE:
        q = query.parse(f"如{ch}履薄冰 {ch} -{ch}廉政{ch}")
        assert (q.groups, q.excluded) == (plain.groups, plain.excluded)
    with pytest.raises(query.QueryError, match="查询为空"):
        query.parse("\u200b \ufeff")


# -- the CLI / Whoosh index and serve's API ---------------------------------------------------


@pytest.fixture(scope="module")
def zw_site(tmp_path_factory):
    from conftest import Site

    s = Site(tmp_path_factory.mktemp("zw") / "site")
    s.write("2020/a.md", speech(title="在党\u200b建会议上的讲话", body="同志们：\n\n要如\ufeff履薄冰，恪尽职守。\n"))
    s.write("2020/b.md", speech(title="在安全会议上的讲话", body="要如\u200e履\u00ad薄\u2066冰\u2069。\n"))
    s.write("2020/c.md", speech(title="在其他会议上的讲话", body="如临深渊，责任重大。\n"))
    assert s.run("build", "-q") == 0
    return s


def _cli_search(site, q: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert site.run("search", q, "--json") == 0
    return json.loads(out.getvalue())


@pytest.mark.parametrize("q", ["如履薄冰", "如\u200b履薄冰", "\ufeff如履\u202e薄冰", '"如\u00ad履薄冰"', "履薄"])
def test_cli_search_finds_text_broken_by_invisible_characters(zw_site, q):
    result = _cli_search(zw_site, q)
    assert {h["source"] for h in result["hits"]} == {"2020/a.md", "2020/b.md"}
    excerpts = {h["source"]: h["excerpt"] for h in result["hits"]}
    assert "<mark>" in excerpts["2020/a.md"] and "恪尽职守" in excerpts["2020/a.md"]


def test_cli_search_in_titles(zw_site):
    result = _cli_search(zw_site, "党建会议")
    assert [h["source"] for h in result["hits"]] == ["2020/a.md"]


def test_serve_api_finds_them_too(zw_site):
    import http.client

    from site_builder import server as servermod
    from site_builder.config import load_config

    config, _ = load_config(zw_site.root, {})
    srv = servermod.PreviewServer(config, "127.0.0.1", 0, watch=False, log=lambda m: None).start()
    try:
        for q in ("如履薄冰", "如\u200b履薄冰"):
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            try:
                conn.request("GET", "/api/search?q=" + quote(q))
                resp = conn.getresponse()
                assert resp.status == 200
                data = json.loads(resp.read().decode("utf-8"))
            finally:
                conn.close()
            assert {h["source"] for h in data["hits"]} == {"2020/a.md", "2020/b.md"}, q
    finally:
        srv.stop()


# -- the static index ---------------------------------------------------------------------------


def _docs(strip: bool) -> list[IndexDoc]:
    texts = [
        ("在\u200b党建会议上的讲话", "要如\ufeff履薄冰，恪尽职守。党\u200d建工作。"),
        ("在安全会议上的讲话", "要如\u200e履\u00ad薄\u2066冰\u2069，\u202a安全\u202c生产。"),
        ("在其他会议上的讲话", "如临深渊，责任重大。"),
    ]
    docs = []
    for i, (title, body) in enumerate(texts):
        if strip:
            title, body = ("".join(c for c in t if c not in INVISIBLE) for t in (title, body))
        docs.append(
            IndexDoc(
                id=f"{i}.md",
                url=f"speeches/2020/{i}.html",
                title=title,
                date=f"2020-03-0{i + 1}",
                year=2020,
                meeting_type="工作会议",
                themes=("党建",),
                body=body,
                fingerprint=f"f{i}",
            )
        )
    return docs


def test_static_postings_equal_those_of_the_plain_text(tmp_path):
    """Keys and positions are those of the text without the invisible characters; only the text
    files (the original body and its fold map) differ."""
    trees = []
    for strip in (False, True):
        out = tmp_path / f"out{strip}"
        StaticIndex(tmp_path / f"state{strip}", out).update(_docs(strip))
        trees.append(static_files.read_index(out / "search"))  # what the browser reads, by name
    with_zw, plain = trees
    assert with_zw.keys() == plain.keys()
    differ = {k for k in with_zw if with_zw[k] != plain[k]}
    assert differ and all(k.startswith(("t/", "m/t")) or k == "meta" for k in differ), differ
    text = with_zw["t/0/0"].decode("utf-8")
    assert '"\\ufeff":""' in text or '"\ufeff":""' in text  # the fold map says it folds to nothing


@pytest.fixture(scope="module")
def zw_static_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("zw-static")
    out = root / "output"
    docs = _docs(strip=False)
    StaticIndex(root / "state", out).update(docs)
    _render_search_page(out)
    for d in docs:
        path = out / d.url
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<!doctype html><meta charset=utf-8><title>{d.title}</title>", encoding="utf-8")
    return out, docs


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium not installed at /usr/bin/chromium (apt-get install chromium)"
)
def test_browser_search_finds_them(zw_static_site, page):  # noqa: F811
    out, docs = zw_static_site
    base = out.as_uri() + "/"
    for q in (
        "如履薄冰",
        "如\u200b履薄冰",
        "\ufeff如履\u202e薄冰",
        '"如\u00ad履薄冰"',
        "党建",
        "安全生产",
        "党建会议",
        "如履薄冰 \u200b",
    ):
        expected = truth(docs, q)
        assert expected, q
        total, hrefs = _run(page, _search_url(base, q))
        assert (total, hrefs) == (len(expected), expected), q
    assert truth(docs, "如履薄冰") == {"../speeches/2020/0.html", "../speeches/2020/1.html"}
    page.goto(_search_url(base, "如\u200b履薄冰"))
    page.wait_for_selector("#search-app[data-search-state=done]")
    marks = page.eval_on_selector_all("[data-search-result] mark", "els => els.map(e => e.textContent)")
    assert any(m.replace("\ufeff", "") == "如履薄冰" for m in marks), marks
    assert not page.problems, page.problems
