"""Listings paginated from the oldest (site_builder/listings.py, #15): page-1 holds the oldest
``per_page`` speeches, the index the newest block (per_page … 2·per_page − 1); a page's speeches,
number and links do not depend on how many speeches the listing has, so an added newest speech
rewrites the top page(s) of the listings it is in and no other listing page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from conftest import Site, speech
from test_incremental import assert_same_output, clean_copy

from site_builder.listings import Blocks
from site_builder.page_inputs import Planned

PER = 3
LISTING = re.compile(r"(all|(?:years|meeting-types|themes|speakers)/[^/]+)/(index|page-(\d+))\.html")
TITLE = re.compile(r'class="speech-title" href="[^"]*">([^<]+)<')


def _speech(n: int) -> tuple[str, str]:
    """The n-th speech (n ≥ 0), one day after the (n−1)-th: in 党建 always, every third also in
    民生; meeting types and speakers alternate."""
    day = date(2019, 1, 1) + timedelta(days=3 * n)
    themes = ("党建", "民生") if n % 3 == 0 else ("党建",)
    text = speech(
        title=f"讲话{n:03d}",
        date=day.isoformat(),
        meeting_type=("工作会议", "座谈会")[n % 2],
        themes=themes,
        speaker=("王强", "李明")[n % 2],
        body=f"同志们：\n\n第{n}篇讲话的内容。\n",
    )
    return f"{day.year}/s{n:03d}.md", text


def _site(make_site, count: int) -> Site:
    site = make_site(dict(_speech(n) for n in range(count)))
    site.config(f"per_page = {PER}\n")
    assert site.run("build", "-q") == 0
    return site


def _listings(site: Site) -> dict[str, dict[str, bytes]]:
    """listing folder → {file name: bytes} of every listing page."""
    out: dict[str, dict[str, bytes]] = {}
    for rel, data in site.files().items():
        m = LISTING.fullmatch(rel)
        if m:
            out.setdefault(m.group(1), {})[m.group(2) + ".html"] = data
    return out


def _titles(data: bytes) -> list[str]:
    return TITLE.findall(data.decode("utf-8"))


def _newest_first(pages: dict[str, bytes]) -> list[str]:
    """A listing's file names, newest page first: index.html, then page-N … page-1."""
    numbered = sorted((int(name[5:-5]) for name in pages if name != "index.html"), reverse=True)
    return ["index.html", *(f"page-{k}.html" for k in numbered)]


@pytest.mark.parametrize("per", [1, 2, 3, 5])
def test_blocks_partition_a_listing_from_the_oldest(per):
    for total in range(0, 40):
        b = Blocks(total, per)
        seen: list[int] = []
        for k in range(b.count, 0, -1):  # newest page first: the newest-first list in order
            part = list(range(total))[b.chunk(k)]
            assert all(b.page_of(i) == k for i in part)
            if k < b.count:
                assert len(part) == per and part[-1] == total - 1 - (k - 1) * per  # its block, from the oldest
            elif total >= per:
                assert per <= len(part) <= 2 * per - 1
            seen += part
        assert seen == list(range(total))
        assert (b.count == 1) == (total < 2 * per)
        for k in range(1, b.count):  # below the newest page: the total is not part of its shape
            assert b.shape(k) == (k, min(b.count - k, 2))


def test_the_pages_hold_every_speech_once_newest_first(make_site):
    site = _site(make_site, 11)  # all/: page-1 and page-2 of 3 each, the index of 5
    listings = _listings(site)
    assert sorted(listings["all"]) == ["index.html", "page-1.html", "page-2.html"]
    everything = [f"讲话{n:03d}" for n in range(10, -1, -1)]
    assert _titles(listings["all"]["page-1.html"]) == everything[-PER:]  # the oldest block
    assert _titles(listings["all"]["index.html"]) == everything[:5]
    assert len(listings) >= 7  # all/, years, two meeting types, two themes, two speakers
    for folder, pages in listings.items():
        order = _newest_first(pages)
        titles = [t for name in order for t in _titles(pages[name])]
        assert titles == sorted(titles, reverse=True) and len(set(titles)) == len(titles), folder
        if folder == "all":
            assert titles == everything
        for name in order[1:]:
            assert len(_titles(pages[name])) == PER, (folder, name)
        newest = len(_titles(pages["index.html"]))
        assert (PER <= newest <= 2 * PER - 1) if len(order) > 1 else newest == len(titles) < 2 * PER, folder
        total = f"共 {len(titles)} 篇讲话"
        assert total in pages["index.html"].decode() and not any(total in pages[n].decode() for n in order[1:])


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pager: list[dict] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "nav":
            self._in = a.get("class") == "pagination"
        elif tag == "a" and self._in:
            self.pager.append(a)

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in = False


def test_the_pager_links_resolve_and_point_to_the_newer_and_older_page(make_site):
    site = _site(make_site, 17)  # all/: 5 pages
    for folder, pages in _listings(site).items():
        order = _newest_first(pages)
        for i, name in enumerate(order):
            parser = _Links()
            parser.feed(pages[name].decode("utf-8"))
            if len(order) == 1:
                assert parser.pager == [], folder
                continue
            for a in parser.pager:
                assert (site.output / folder / a["href"]).is_file(), (folder, name, a["href"])
            rel = {a.get("rel"): a["href"] for a in parser.pager if a.get("rel")}
            newer, older = order[i - 1] if i else None, order[i + 1] if i + 1 < len(order) else None
            assert rel.get("prev") == newer and rel.get("next") == older, (folder, name, rel)
            assert {a.get("class") for a in parser.pager if a.get("rel") == "prev"} <= {"pager-prev"}
            assert {a.get("class") for a in parser.pager if a.get("rel") == "next"} <= {"pager-next"}
            current = [a for a in parser.pager if a.get("aria-current")]
            assert len(current) == 1 and current[0]["href"] == name and current[0]["class"] == "current"
            if name != "index.html":  # every page links to the newest (the index) and to the oldest
                assert {"index.html", "page-1.html"} <= {a["href"] for a in parser.pager}, (folder, name)


@pytest.fixture
def made(monkeypatch):
    """The paths of the listing pages whose views a build made."""
    paths: list[str] = []
    real = Planned.ensure

    def ensure(self):
        if self.make is not None and self.template in ("term.html", "all.html"):
            paths.append(self.path)
        return real(self)

    monkeypatch.setattr(Planned, "ensure", ensure)
    return paths


def test_an_added_newest_speech_rewrites_only_the_top_pages_of_its_listings(make_site, made, tmp_path):
    count = 10  # all/: 3 pages (the index holds 4): the adds fill it to 5, then open page-3, …
    site = _site(make_site, count)
    before = _listings(site)
    for n in range(count, count + 7):
        rel, text = _speech(n)
        site.write(rel, text)
        made.clear()
        assert site.run("build", "-q") == 0
        after = _listings(site)
        theirs = {m.group(1) for m in map(LISTING.fullmatch, made) if m}
        for folder in set(before) | set(after):
            old, new = before.get(folder, {}), after.get(folder, {})
            changed = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
            if f"讲话{n:03d}" not in new.get("index.html", b"").decode():
                assert not changed and folder not in theirs, (n, folder, changed)
                continue
            pages = len(new)
            top = {"index.html"} | ({f"page-{pages - 1}.html", f"page-{pages - 2}.html"} if pages > len(old) else set())
            assert "index.html" in changed and changed <= top, (n, folder, sorted(changed))
            views = {p.rpartition("/")[2] for p in made if p.startswith(folder + "/")}
            assert views <= top, (n, folder, sorted(views))  # nor are the other pages' views made
        before = after
    assert_same_output(site, clean_copy(tmp_path, site, "clean"))


def test_an_older_speech_added_moves_the_blocks_above_it(make_site, tmp_path):
    site = _site(make_site, 10)
    before = _listings(site)["all"]
    site.write("2018/older.md", speech(title="更早的讲话", date="2018-06-01", themes=("党建",)))
    assert site.run("build", "-q") == 0
    after = _listings(site)["all"]
    assert _titles(after["page-1.html"])[-1] == "更早的讲话"
    assert all(after[name] != before[name] for name in before)  # every block moved by one
    assert_same_output(site, clean_copy(tmp_path, site, "clean"))
