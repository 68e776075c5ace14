"""The Jinja environment: site overrides → theme → default theme, plus per-template fingerprints.

A site overrides one template by putting a file of the same name in its ``templates/`` folder;
``{% extends "default:base.html" %}`` reaches the default theme's version of a template.

Between builds (``TemplateSet.keep_compiled``, in the build cache's folder) each template is kept
compiled (Jinja's bytecode cache: a template whose source changed is compiled again) with the
templates it extends, includes or imports (by its source's digest): a build whose templates did
not change compiles and parses none (#15: every build compiled them, and a render worker what it used).
"""

from __future__ import annotations

import hashlib
import marshal
import shutil
from pathlib import Path

import jinja2
from jinja2 import meta as jinja_meta

from .charts import bar_chart, trend_chart
from .fileio import write_atomic
from .urls import absolute, rel


class _PrefixLoader(jinja2.BaseLoader):
    """'default:name' → the default theme's template; anything else → the normal chain."""

    def __init__(self, chain: jinja2.BaseLoader, default: jinja2.BaseLoader):
        self.chain, self.default = chain, default

    def get_source(self, environment, template):
        if template.startswith("default:"):
            return self.default.get_source(environment, template.removeprefix("default:"))
        return self.chain.get_source(environment, template)

    def list_templates(self):
        return self.chain.list_templates()


def make_environment(theme_dirs: list[Path]) -> jinja2.Environment:
    # theme_dirs[0] is the site's override folder; the others are theme roots with templates/.
    template_dirs = [str(theme_dirs[0])] + [str(d / "templates") for d in theme_dirs[1:]]
    chain = jinja2.FileSystemLoader([d for d in template_dirs if Path(d).is_dir()])
    default = jinja2.FileSystemLoader(template_dirs[-1])
    env = jinja2.Environment(
        loader=_PrefixLoader(chain, default),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one build reads each template once (not a stat of its file a page)
    )
    env.globals.update(relurl=rel, absolute=absolute, bar_chart=bar_chart, trend_chart=trend_chart)
    return env


REFERENCES_KEPT = 100  # sources whose references are kept: beyond, only the last build's


class TemplateSet:
    """Renders templates and tells, per template, a fingerprint of its source and everything
    it extends, includes or imports — so a template change re-renders only what uses it."""

    def __init__(self, theme_dirs: list[Path]):
        self.env = make_environment(theme_dirs)
        self.static_dirs = [d / "static" for d in theme_dirs[1:] if (d / "static").is_dir()]
        # per instance (functools.cache on the method would keep every TemplateSet, and its
        # Jinja environment, alive for ever)
        self._fingerprints: dict[str, str] = {}
        self._references: dict[str, list[str]] = {}  # digest of a source → the templates it names
        self._references_file: Path | None = None  # where they are kept (keep_compiled)
        self._looked_up: set[str] = set()  # the digests of the sources this build read

    def keep_compiled(self, folder: Path, version: str) -> None:
        """Keep the compiled templates and what each refers to in ``folder`` between builds, in a
        subfolder of this ``version`` of the code (with Jinja's: how a template compiles depends
        on both; the other versions' subfolders are removed)."""
        tag = hashlib.sha1(f"{version}\0{jinja2.__version__}".encode()).hexdigest()[:16]
        here = folder / tag
        if folder.is_dir():
            for other in folder.iterdir():
                if other.name != tag:
                    shutil.rmtree(other, ignore_errors=True)
        here.mkdir(parents=True, exist_ok=True)
        self.env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(here))
        self._references_file = here / "references.marshal"
        try:
            kept = marshal.loads(self._references_file.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            kept = None
        if isinstance(kept, dict):
            self._references = kept

    def fingerprint(self, name: str) -> str:
        known = self._fingerprints.get(name)
        if known is not None:
            return known
        loader = self.env.loader
        assert loader is not None  # make_environment gives it one
        source, _filename, _ = loader.get_source(self.env, name)  # (not where it is: what it says)
        digest = hashlib.sha1(f"{name}\0{source}".encode())
        for ref in self._referenced(source):
            digest.update(self.fingerprint(ref).encode())
        self._fingerprints[name] = digest.hexdigest()
        return self._fingerprints[name]

    def _referenced(self, source: str) -> list[str]:
        """The templates ``source`` extends, includes or imports by name, sorted (kept by the
        digest of the source when keep_compiled was called)."""
        key = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()
        found = self._references.get(key)
        if found is None:
            found = sorted(r for r in jinja_meta.find_referenced_templates(self.env.parse(source)) if r)
            self._references[key] = found
            if self._references_file is not None:  # (written only when a template changed)
                if len(self._references) > REFERENCES_KEPT:  # old sources: keep this build's
                    self._references = {k: v for k, v in self._references.items() if k in self._looked_up}
                    self._references[key] = found
                write_atomic(self._references_file, marshal.dumps(self._references))
        self._looked_up.add(key)
        return found

    def load_known(self) -> None:
        """Load every template whose fingerprint was asked for (compiled, or read compiled):
        render workers forked after this inherit them instead of each compiling them."""
        for name in list(self._fingerprints):
            self.env.get_template(name)

    def render(self, name: str, page_path: str, context: dict) -> str:
        template = self.env.get_template(name)
        return template.render(context, rel=lambda target: rel(page_path, target), page_path=page_path)
