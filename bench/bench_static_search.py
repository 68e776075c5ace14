#!/usr/bin/env python3
"""Bench the static (in-browser) search index, and Pagefind over the same pages.

    .venv/bin/python bench/bench_static_search.py --n 1000 [--n 10000] [--pagefind] [--json OUT]

For each N: generate the corpus with bench/gen_corpus.py (cached in bench/.work/corpus-N), write a
site (one page per speech with its text, the search page, the static index) into
bench/.work/static-site-N, time (wall, CPU including pool workers, peak RSS) the clean index write,
one speech edited and undone, one newest speech added and removed, and a no-change update, then
in headless Chromium (Playwright, /usr/bin/chromium) measure for each query:

* bytes: everything the browser fetches from opening search/index.html?q=… with an empty cache
  until the first page of results (10, with excerpts) is shown — page, JS, index files;
* cold ms: the same, wall time until results are shown;
* warm ms: reload of the same URL (browser cache warm), until results are shown.

With --pagefind (needs ``pip install 'pagefind[extended]'`` in bench/.venv), Pagefind indexes the same
speech pages and a minimal page that calls its JS API (search + data() of the first 10 results) is
measured the same way.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from site_builder.search import analysis, query  # noqa: E402
from site_builder.static_search import IndexDoc, StaticIndex  # noqa: E402

WORK = REPO / "bench" / ".work"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
QUERIES = [
    "党建",
    "权",
    "如履薄冰",
    "作风建设",
    "全面从严治党",
    "党员 队伍",
    "安全生产 责任 落实",
    "乡村振兴 OR 脱贫攻坚",
    "干部 -形式主义",
]
PAGEFIND_PY = REPO / "bench" / ".venv" / "bin" / "python"


def load_corpus(d: Path) -> list[IndexDoc]:
    import yaml

    docs = []
    for f in sorted(d.rglob("*.md")):
        s = f.read_text(encoding="utf-8")
        _, fm, body = s.split("---\n", 2)
        m = yaml.safe_load(fm)
        date = str(m["date"])
        rel = f.relative_to(d).as_posix()
        text, headings = plain(body)
        docs.append(
            IndexDoc(
                id=rel,
                url="speeches/" + rel[:-3] + ".html",
                title=str(m["title"]),
                date=date,
                year=int(date[:4]),
                meeting_type=m.get("meeting_type") or "",
                themes=tuple(m.get("themes") or ()),
                body=text,
                fingerprint=hashlib.sha1(s.encode()).hexdigest(),
                headings=headings,
            )
        )
    return docs


def plain(markdown: str) -> tuple[str, tuple[int, ...]]:
    """The generated Markdown's plain text as the build indexes it (one line per paragraph or
    heading) and the numbers of its heading lines."""
    blocks = [b.strip() for b in markdown.strip().split("\n\n") if b.strip()]
    return (
        "\n".join(re.sub(r"^#+\s*", "", b).replace("\n", " ") for b in blocks),
        tuple(i for i, b in enumerate(blocks) if b.startswith("#")),
    )


def corpus(n: int) -> Path:
    out = WORK / f"corpus-{n}"
    if not out.is_dir():
        subprocess.run(
            [sys.executable, str(REPO / "bench" / "gen_corpus.py"), "--n", str(n), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


def write_pages(site: Path, docs: list[IndexDoc]) -> None:
    """Speech pages (text inside <main>), the search page and its static files."""
    from site_builder.templates import TemplateSet

    for d in docs:
        p = site / d.url
        p.parent.mkdir(parents=True, exist_ok=True)
        paras = "".join(f"<p>{escape(x)}</p>" for x in d.body.split("\n") if x.strip())
        p.write_text(
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(d.title)}'
            f"</title></head><body><main data-pagefind-body><h1>{escape(d.title)}</h1>{paras}</main>"
            f"</body></html>",
            encoding="utf-8",
        )
    theme = REPO / "themes" / "default"
    from site_builder.config import SiteConfig
    from site_builder.render import site_view

    ctx = {**site_view(SiteConfig()), "title": "讲话稿档案", "description": "", "base_url": "/"}
    html = TemplateSet([theme / "templates"]).render(
        "search.html", "search/index.html", {"site": ctx, "page_path": "search/index.html"}
    )
    (site / "search").mkdir(parents=True, exist_ok=True)
    (site / "search" / "index.html").write_text(html, encoding="utf-8")
    (site / "static").mkdir(exist_ok=True)
    for f in (theme / "static").iterdir():
        if f.is_file():
            shutil.copy(f, site / "static" / f.name)
    # Pagefind's bench page: module script in a file (no inline script).
    (site / "pf-bench.html").write_text(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head><body><ol id="r"></ol>'
        '<script type="module" src="pf-bench.js"></script></body></html>',
        encoding="utf-8",
    )
    (site / "pf-bench.js").write_text(
        """
const q = new URLSearchParams(location.search).get('q');
const pagefind = await import('./pagefind/pagefind.js');
await pagefind.options({excerptLength: 30});
const search = await pagefind.search(q);
const data = await Promise.all(search.results.slice(0, 10).map(r => r.data()));
const ol = document.getElementById('r');
for (const d of data) { const li = document.createElement('li'); li.setAttribute('data-search-result', '');
  const a = document.createElement('a'); a.href = d.url; a.textContent = d.meta.title; li.appendChild(a); ol.appendChild(li); }
document.body.setAttribute('data-total', String(search.results.length));
document.body.setAttribute('data-done', '1');
""",
        encoding="utf-8",
    )


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _peak_rss_mb() -> int:
    """Peak RSS so far of this process and of the largest reaped child (pool workers)."""
    import resource

    return round(
        max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        / 1024
    )


def dir_size(p: Path) -> tuple[int, int]:
    files = [f for f in p.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files), len(files)


class Server:
    def __init__(self, root: Path):
        handler = functools.partial(_Quiet, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def guess_type(self, path):  # pagefind's wasm and index files
        if str(path).endswith(".wasm"):
            return "application/wasm"
        return super().guess_type(path)


def measure(browser, url: str, done_selector: str) -> dict:
    ctx = browser.new_context()
    page = ctx.new_page()
    sizes = []
    parts: dict = {}

    def on_response(r):
        try:
            size = len(r.body())
        except Exception:
            return
        sizes.append(size)
        part = _part(r.url)
        got = parts.setdefault(part, [0, 0])
        got[0] += size
        got[1] += 1

    page.on("response", on_response)
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(done_selector, timeout=120_000)
    cold = (time.perf_counter() - t0) * 1000
    cold_bytes, cold_requests = sum(sizes), len(sizes)
    cold_parts = {k: list(v) for k, v in sorted(parts.items())}  # (the reloads below add to ``parts``)
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(done_selector, timeout=120_000)
        warm.append((time.perf_counter() - t0) * 1000)
    total = page.evaluate(
        "() => (document.querySelector('[data-search-total]') || {}).textContent"
        " || document.body.getAttribute('data-total')"
    )
    shown = page.locator("[data-search-result]").count()
    ctx.close()
    return {
        "bytes": cold_bytes,
        "requests": cold_requests,
        "parts": cold_parts,  # {part: [bytes, requests]} of the cold load (``_part``)
        "cold_ms": round(cold),
        "warm_ms": round(min(warm)),
        "total": int(total or 0),
        "shown": shown,
    }


def _part(url: str) -> str:
    """What a fetched URL is, for the first query's breakdown: an index folder of ``search/``
    (``k``, ``p``, ``kn``, ``pn``, ``t``, ``f``, ``r``, ``m``), ``meta``, ``facets``, ``page``
    (the HTML), ``js``, ``css``, Pagefind's ``pf-*`` folders, or ``other``."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    m = re.match(r"/search/([a-z]+)/", path)
    if m:
        return m.group(1)
    if m := re.match(r"/search/(meta|facets)[.]", path):
        return m.group(1)
    if m := re.match(r"/pagefind/([a-z-]+)/", path):
        return "pf-" + m.group(1)
    for ext, part in ((".html", "page"), (".js", "js"), (".css", "css"), (".wasm", "wasm")):
        if path.endswith(ext):
            return part
    return "other"


class LazyDoc(IndexDoc):
    """An IndexDoc whose body is read from its file when asked for (the build's docs read it from
    the build cache): only new or changed docs' bodies are read."""

    @property
    def body(self) -> str:
        text = plain(Path(self._path).read_text(encoding="utf-8").split("---\n", 2)[2])[0]
        return text + getattr(self, "_extra", "")

    def __reduce__(self):  # to pool workers with the text itself
        return (
            IndexDoc,
            (
                self.id,
                self.url,
                self.title,
                self.date,
                self.year,
                self.meeting_type,
                self.themes,
                self.body,
                self.fingerprint,
                getattr(self, "speaker", ""),
                getattr(self, "organization", ""),
                getattr(self, "headings", ()),
            ),
        )


def _lazy(d: IndexDoc, path: str, **changes) -> LazyDoc:
    doc = object.__new__(LazyDoc)
    for key, value in {**{k: v for k, v in d.__dict__.items() if k != "body"}, "_path": path, **changes}.items():
        object.__setattr__(doc, key, value)
    return doc


def index_steps(n: int) -> dict:
    """Time StaticIndex.update (wall, CPU of this process and its pool workers, peak RSS of each):
    clean write, one speech edited and undone, one newest added and removed, no change, and one
    oldest added (every doc renumbered). Docs read their bodies on demand."""
    import resource

    site, state = WORK / f"static-site-{n}", WORK / f"static-state-{n}"
    d = corpus(n)
    docs = [_lazy(x, str(d / x.id)) for x in load_corpus(d)]
    res: dict = {}

    def timed(label, docs):
        c0, k0, t0 = time.process_time(), _children_cpu(), time.perf_counter()
        res[label] = StaticIndex(state, site).update(docs)
        res[label + "_s"] = round(time.perf_counter() - t0, 2)
        res[label + "_cpu_s"] = round(time.process_time() - c0 + _children_cpu() - k0, 2)
        res[label + "_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        res[label + "_workers_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)

    timed("clean_write", docs)
    mid = docs[len(docs) // 2]
    timed(
        "one_changed",
        [_lazy(x, x._path, _extra="\n新增的一句话。", fingerprint="changed") if x is mid else x for x in docs],
    )
    timed("one_reverted", docs)
    timed("one_added", docs + [_lazy(mid, mid._path, id="zz-new.md", date="2099-01-01", year=2099, fingerprint="new")])
    timed("one_removed", docs)
    timed("no_change", docs)
    timed(
        "one_added_oldest",
        docs + [_lazy(mid, mid._path, id="aa-old.md", date="1990-01-01", year=1990, fingerprint="old")],
    )
    timed("one_removed_oldest", docs)
    return res


def bench(n: int, use_pagefind: bool) -> dict:
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright

    docs = load_corpus(corpus(n))
    site = WORK / f"static-site-{n}"
    state = WORK / f"static-state-{n}"
    shutil.rmtree(site, ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)
    write_pages(site, docs)
    res: dict = {"n": len(docs), "chars": sum(len(d.body) for d in docs)}
    del docs  # the index steps run in a fresh process that reads bodies on demand, like the build
    out = subprocess.run(
        [sys.executable, __file__, "--index-steps", str(n)], check=True, capture_output=True, text=True
    ).stdout
    res.update(json.loads(out.strip().splitlines()[-1]))
    docs = load_corpus(corpus(n))
    res["static_index_bytes"], res["static_index_files"] = dir_size(site / "search")
    res["static_index_parts"] = {
        sub: dir_size(site / "search" / sub) for sub in ("k", "p", "kn", "pn", "d", "t", "f", "r", "m")
    }  # (bytes, files)
    res["state_bytes"] = dir_size(state)[0]
    if use_pagefind and PAGEFIND_PY.exists():
        t0 = time.perf_counter()
        subprocess.run(
            [str(PAGEFIND_PY), "-m", "pagefind", "--site", str(site), "--glob", "speeches/**/*.html"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        res["pagefind_build_s"] = round(time.perf_counter() - t0, 2)
        res["pagefind_bytes"], res["pagefind_files"] = dir_size(site / "pagefind")
    srv = Server(site)
    res["queries"] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for q in QUERIES:
                truth = sum(query.parse(q).matches(analysis.search_text(x.title, x.body)) for x in docs)
                row = {"truth": truth}
                row["static"] = measure(
                    browser,
                    srv.base + "search/index.html?" + urlencode({"q": q}),
                    "#search-app[data-search-state=done], #search-app[data-search-state=error]",
                )
                if "pagefind_bytes" in res:
                    row["pagefind"] = measure(
                        browser, srv.base + "pf-bench.html?" + urlencode({"q": q}), "body[data-done]"
                    )
                res["queries"][q] = row
                print(n, q, json.dumps(row, ensure_ascii=False), flush=True)
            browser.close()
    finally:
        srv.close()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, action="append", help="corpus sizes (default 1000)")
    ap.add_argument("--pagefind", action="store_true", help="also build and measure Pagefind (bench/.venv)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--index-steps", type=int, metavar="N", help=argparse.SUPPRESS)  # the child process
    a = ap.parse_args()
    if a.index_steps:
        print(json.dumps(index_steps(a.index_steps), ensure_ascii=False))
        return 0
    results = []
    for n in a.n or [1000]:
        r = bench(n, a.pagefind)
        results.append(r)
        summary = {k: v for k, v in r.items() if k != "queries"}
        print(json.dumps(summary, ensure_ascii=False), flush=True)
        rows = r["queries"]
        print(
            f"{'query':<24}{'truth':>6}{'static total':>13}{'KB':>8}{'req':>5}{'cold':>6}{'warm':>6}"
            + (
                "{:>10}{:>8}{:>5}{:>6}{:>6}".format("pf total", "pf KB", "req", "cold", "warm")
                if "pagefind_bytes" in r
                else ""
            )
        )
        for q, row in rows.items():
            s = row["static"]
            line = (
                f"{q:<24}{row['truth']:>6}{s['total']:>13}{s['bytes'] / 1024:>8.1f}{s['requests']:>5}"
                f"{s['cold_ms']:>6}{s['warm_ms']:>6}"
            )
            if "pagefind" in row:
                f = row["pagefind"]
                line += f"{f['total']:>10}{f['bytes'] / 1024:>8.1f}{f['requests']:>5}{f['cold_ms']:>6}{f['warm_ms']:>6}"
            print(line)
        print("first query by part (KB, requests):")
        for q, row in rows.items():
            for who in ("static", "pagefind"):
                if who in row:
                    parts = ", ".join(f"{k} {b / 1024:.1f}/{c}" for k, (b, c) in row[who]["parts"].items())
                    print(f"  {q} [{who}]: {parts}")
    if a.json:
        a.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
