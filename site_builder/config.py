"""Site configuration: ``[tool.site_builder]`` in pyproject.toml, defaults, CLI overrides."""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigError, Problem
from .suggest import closest

#: The themes that come with site_builder: in an installed package, ``site_builder/themes/`` (the
#: build copies the repository's top-level ``themes/`` there: tools/build_hooks.py); in a checkout
#: or an editable install, that top-level ``themes/`` itself.
_PACKAGE = Path(__file__).resolve().parent
PACKAGE_THEMES = _PACKAGE / "themes" if (_PACKAGE / "themes" / "default").is_dir() else _PACKAGE.parent / "themes"

#: Where each kind of page is written, relative to the output folder. ``{slug}`` is the
#: speech's or term's slug, ``{year}`` the year, ``{page}`` the page number (1, 2, …, counted from the
#: oldest: a listing's newest page is its index, listings.py).
DEFAULT_URLS = {
    "home": "index.html",
    "speech": "speeches/{year}/{slug}.html",
    "years": "years/index.html",
    "year": "years/{slug}/index.html",
    "year_page": "years/{slug}/page-{page}.html",
    "meeting_types": "meeting-types/index.html",
    "meeting_type": "meeting-types/{slug}/index.html",
    "meeting_type_page": "meeting-types/{slug}/page-{page}.html",
    "themes": "themes/index.html",
    "theme": "themes/{slug}/index.html",
    "theme_page": "themes/{slug}/page-{page}.html",
    "speakers": "speakers/index.html",  # 讲话人: written only when speeches name speakers
    "speaker": "speakers/{slug}/index.html",
    "speaker_page": "speakers/{slug}/page-{page}.html",
    "all": "all/index.html",  # every speech in order of date, newest first, per_page a page
    "all_page": "all/page-{page}.html",
    "stats": "stats/index.html",
    "search": "search/index.html",
    "compare": "compare/index.html",  # compares two speeches (?a=…&b=…); its list of speeches is docs.js beside it
    "feed": "feed.xml",
    "sitemap": "sitemap.xml",
    "not_found": "404.html",
}

DEFAULT_DROP_LINES = ["本文系作者原创投稿", "仅供学习参考", "请勿照搬照抄", "来源：", "转载请注明"]


@dataclass(frozen=True)
class SiteConfig:
    """Every setting, with its default. Keys in [tool.site_builder] have the same names."""

    title: str = "讲话稿档案"
    """Site title, shown in every page header and in the feed."""
    description: str = "讲话稿全文档案：按年份、会议类型和主题浏览，全文检索。"
    base_url: str = "/"
    """Absolute URL of the published site (e.g. https://intranet.example/speeches/); used in the feed and sitemap."""
    content_dir: Path = Path("content")
    output_dir: Path = Path("output")
    theme: str = "default"
    """A folder under themes/ (falls back to themes/default for anything it lacks)."""
    templates_dir: Path = Path("templates")
    """Site-level template overrides: put one file here to replace that template only."""
    meeting_types: tuple[str, ...] | None = None
    """Closed vocabulary of meeting types; None (default) accepts any value."""
    themes: tuple[str, ...] | None = None
    """Closed vocabulary of themes; None (default) accepts any value."""
    urls: dict = field(default_factory=lambda: dict(DEFAULT_URLS))
    per_page: int = 20
    home_latest: int = 10
    feed_items: int = 30
    related_count: int = 5
    reuse_min_chars: int = 30
    """Passages of at least this many characters found in more than one speech are listed on their
    pages ("与其他讲话相同的段落") and by `site-builder reuse`."""
    trust_html: bool = False
    """Keep raw HTML in speech bodies as written (default: sanitised)."""
    drafts: bool = False
    """Build speeches with draft: true."""
    import_drop_lines: tuple[str, ...] = tuple(DEFAULT_DROP_LINES)
    """Lines containing any of these are dropped by `site-builder import` (source disclaimers)."""
    trend_terms: tuple[str, ...] = ()
    """Queries whose trend by year the statistics page charts (e.g. ["全面从严治党", "高质量发展"])."""
    theme_keywords: dict = field(default_factory=dict)
    """Theme → words that suggest it, for `site-builder import` ([tool.site_builder.theme_keywords])."""
    root: Path = Path(".")
    """The folder holding pyproject.toml; relative paths are resolved against it."""

    @property
    def content(self) -> Path:
        return (self.root / self.content_dir).resolve()

    @property
    def output(self) -> Path:
        return (self.root / self.output_dir).resolve()

    @property
    def state_dir(self) -> Path:
        """Hidden folder beside output/ for the build cache and the Whoosh index:
        ``.site_builder_cache/<output name>-<key>``, the key a hash of where the content folder is
        seen from the output folder's parent. So a site copied or moved whole (content and output
        together) keeps its cache. A cache made before by the hash of the absolute paths is used
        where it is (there is no other one beside it)."""
        out, content = self.output, self.content
        where = os.path.relpath(content, out.parent)
        folder = out.parent / ".site_builder_cache"
        state = folder / f"{out.name}-{_key(where, out.name)}"
        if not state.exists():
            former = folder / f"{out.name}-{_key(str(content), str(out))}"
            if former.is_dir():
                return former
        return state

    def theme_dirs(self) -> list[Path]:
        """Template folders, most specific first: site overrides, the theme, the default theme."""
        dirs = [(self.root / self.templates_dir).resolve()]
        for name in dict.fromkeys([self.theme, "default"]):
            for base in (self.root / "themes", PACKAGE_THEMES):
                if (base / name).is_dir():
                    dirs.append((base / name).resolve())
                    break
        return dirs


_TYPES = {f.name: f.type for f in fields(SiteConfig)}
_PATH_KEYS = {"content_dir", "output_dir", "templates_dir"}
_LIST_KEYS = {"meeting_types", "themes", "import_drop_lines", "trend_terms"}
_INT_KEYS = {"per_page", "home_latest", "feed_items", "related_count", "reuse_min_chars"}
_BOOL_KEYS = {"trust_html", "drafts"}
_STR_KEYS = {"title", "description", "base_url", "theme"}


def _coerce(key: str, value: object, where: str, problems: list[Problem]) -> object:
    def bad(expected: str) -> None:
        problems.append(Problem(where, None, key, f"expected {expected}, got {value!r}"))

    if key in _PATH_KEYS:
        if not isinstance(value, str) or not value:
            bad("a folder path")
            return None
        return Path(value)
    if key in _LIST_KEYS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            bad("a list of non-empty strings")
            return None
        return tuple(v.strip() for v in value)
    if key in _INT_KEYS:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            bad("a whole number ≥ 1")
            return None
        return value
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            bad("true or false")
            return None
        return value
    if key in _STR_KEYS:
        if not isinstance(value, str):
            bad("a string")
            return None
        return value
    if key == "theme_keywords":
        if not isinstance(value, dict) or not all(
            isinstance(k, str)
            and k.strip()
            and isinstance(v, list)
            and all(isinstance(w, str) and w.strip() for w in v)
            for k, v in value.items()
        ):
            bad("a table of theme = [keywords]")
            return None
        return {k.strip(): tuple(w.strip() for w in v) for k, v in value.items()}
    if key == "urls":
        if not isinstance(value, dict):
            bad("a table of page kind = pattern")
            return None
        urls = dict(DEFAULT_URLS)
        for kind, pattern in value.items():
            if kind not in DEFAULT_URLS:
                hint = closest(kind, DEFAULT_URLS)
                problems.append(
                    Problem(
                        where, None, f"urls.{kind}", "unknown page kind", f"did you mean {hint!r}?" if hint else None
                    )
                )
            elif not isinstance(pattern, str) or not pattern.endswith((".html", ".xml")):
                problems.append(
                    Problem(where, None, f"urls.{kind}", f"expected a path ending in .html, got {pattern!r}")
                )
            else:
                urls[kind] = pattern
        return urls
    return value


def _key(a: str, b: str) -> str:
    return hashlib.sha1(f"{a}\0{b}".encode()).hexdigest()[:8]


def load_config(root: Path | None = None, overrides: dict | None = None) -> tuple[SiteConfig, list[Problem]]:
    """Read ``root/pyproject.toml`` (if any), apply ``overrides``; raise ConfigError on errors.

    Returns the config and the warnings (unknown keys).
    """
    root = (root or Path.cwd()).resolve()
    path = root / "pyproject.toml"
    values: dict = {}
    problems: list[Problem] = []
    where = str(path)
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{where}: cannot read the configuration: {err}") from None
        section = data.get("tool", {}).get("site_builder", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: [tool.site_builder] must be a table")
        for key, value in section.items():
            if key not in _TYPES or key == "root":
                hint = closest(key, [k for k in _TYPES if k != "root"])
                problems.append(
                    Problem(
                        where,
                        None,
                        f"tool.site_builder.{key}",
                        "unknown setting, ignored",
                        f"did you mean {hint!r}?" if hint else None,
                        severity="warning",
                    )
                )
                continue
            values[key] = _coerce(key, value, where, problems)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ConfigError("invalid configuration:\n" + "\n".join(p.format() for p in errors))
    config = replace(SiteConfig(root=root), **values)
    return config, problems
