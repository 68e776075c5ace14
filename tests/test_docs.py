"""The README's command-line table agrees with the CLI: the same commands as ``--help`` lists,
and no option that a command does not have."""

from __future__ import annotations

import re

from conftest import REPO

from site_builder.cli import cli

ROW = re.compile(r"^\| `site-builder (\S+)([^`]*)` \|", re.M)


def _readme_rows() -> dict[str, set[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## The command line", 1)[1].split("\n## ", 1)[0]
    return {name: set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", rest)) for name, rest in ROW.findall(table)}


def test_readme_cli_table_lists_every_command_with_real_options():
    rows = _readme_rows()
    assert set(rows) == set(cli.commands), "README's command table and `site-builder --help` differ"
    for name, documented in rows.items():
        real = {o for p in cli.commands[name].params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
        assert documented <= real, f"README names options that `site-builder {name}` lacks: {documented - real}"
