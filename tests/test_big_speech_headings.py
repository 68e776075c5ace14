"""A very large speech (#15, "a 50 MB speech") in the search-index stage: the heading numbers of a
long body are read from its HTML without the build cache keeping the body (HTML and text) inflated
to the end of the stage, and ordinary bodies' the same as ever."""

from __future__ import annotations

import gc
import tracemalloc

from site_builder.build_index import Bodies
from site_builder.cache import BuildCache


def _body(lines: int, every: int) -> tuple[str, str]:
    """(numbered HTML, plain text) of ``lines`` paragraphs, every ``every``-th a heading."""
    html, text = [], []
    for i in range(lines):
        line = f"第{i}段：党的建设和队伍建设。" * 4
        tag = "h2" if i % every == 0 else "p"
        html.append(f'<{tag} id="p{i + 1}">{line}</{tag}>')
        text.append(line)
    return "\n".join(html), "\n".join(text)


def test_a_long_bodys_headings_are_read_and_the_body_let_go_of(tmp_path, monkeypatch):
    cache = BuildCache(tmp_path / "state")
    html, text = _body(40_000, 7)  # ≈ 2.8 M characters of HTML
    cache.put_parsed("big.md", "d1", None, html, text)
    small_html, small_text = _body(30, 4)
    cache.put_parsed("s.md", "d2", None, small_html, small_text)
    cache.commit()
    monkeypatch.setattr(Bodies, "LONG_HTML", 1 << 20)
    bodies = Bodies(cache)
    size = len(html) + len(text)
    del html, text
    assert bodies.headings("s.md", "d2") == (0, 4, 8, 12, 16, 20, 24, 28)
    gc.collect()
    tracemalloc.start()
    try:
        assert bodies.headings("big.md", "d1") == tuple(range(0, 40_000, 7))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # what stays is the heading numbers (a tuple of 5,715 ints), not the body (≈ 2 bytes a character)
    assert held < size // 10, f"{held / size:.2f} bytes a character of the body held"
    assert bodies.headings("big.md", "d1") == tuple(range(0, 40_000, 7))  # (kept)
    assert bodies.headings("s.md", "d2") == (0, 4, 8, 12, 16, 20, 24, 28)
    bodies.close()
    cache.close()


def test_texts_read_after_last_reads_are_given_once_more_and_let_go_of(tmp_path):
    # In the index child: the Whoosh index reads a changed speech's text (kept), then the static
    # index reads it once more, and nothing holds it after (#15: a 50 MB speech's ≈ 34 MB text).
    cache = BuildCache(tmp_path / "state")
    html, text = _body(20_000, 7)
    cache.put_parsed("big.md", "d1", None, html, text)
    cache.commit()
    bodies = Bodies(cache)
    size = len(text)
    del html
    gc.collect()
    tracemalloc.start()
    try:
        assert bodies.text("big.md", "d1") == text  # (the Whoosh index: kept)
        assert tracemalloc.get_traced_memory()[0] > size  # (held by bodies)
        bodies.last_reads()
        assert bodies.text("big.md", "d1") == text  # (the static index: given once more)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        assert held < size // 10, f"{held / size:.2f} bytes a character of the text held"
        assert bodies.text("big.md", "d1") == text  # (read again from the cache, not kept)
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] < size // 10
    finally:
        tracemalloc.stop()
    cache.close()
