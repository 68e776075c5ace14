"""The Jinja environment: site overrides → theme → default theme, plus per-template fingerprints.

A site overrides one template by putting a file of the same name in its ``templates/`` folder;
``{% extends "default:base.html" %}`` reaches the default theme's version of a template.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2
from jinja2 import meta as jinja_meta

from .charts import bar_chart, trend_chart
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
    )
    env.globals.update(relurl=rel, absolute=absolute, bar_chart=bar_chart, trend_chart=trend_chart)
    return env


class TemplateSet:
    """Renders templates and tells, per template, a fingerprint of its source and everything
    it extends, includes or imports — so a template change re-renders only what uses it."""

    def __init__(self, theme_dirs: list[Path]):
        self.env = make_environment(theme_dirs)
        self.static_dirs = [d / "static" for d in theme_dirs[1:] if (d / "static").is_dir()]
        # per instance (functools.cache on the method would keep every TemplateSet, and its
        # Jinja environment, alive for ever)
        self._fingerprints: dict[str, str] = {}

    def fingerprint(self, name: str) -> str:
        known = self._fingerprints.get(name)
        if known is not None:
            return known
        loader = self.env.loader
        assert loader is not None  # make_environment gives it one
        source, _filename, _ = loader.get_source(self.env, name)  # (not where it is: what it says)
        digest = hashlib.sha1(f"{name}\0{source}".encode())
        for ref in sorted(r for r in jinja_meta.find_referenced_templates(self.env.parse(source)) if r):
            digest.update(self.fingerprint(ref).encode())
        self._fingerprints[name] = digest.hexdigest()
        return self._fingerprints[name]

    def render(self, name: str, page_path: str, context: dict) -> str:
        template = self.env.get_template(name)
        return template.render(context, rel=lambda target: rel(page_path, target), page_path=page_path)
