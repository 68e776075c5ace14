"""The command line: thin wrappers around build, check, search, new, import and serve.

Exit codes: 0 ok, 1 content errors, 2 usage errors.
"""
from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path

import click

from . import __version__
from .config import load_config
from .errors import SiteBuilderError
from .report import Progress, print_problems

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _config(content, output, **extra):
    overrides = {"content_dir": Path(content) if content else None, "output_dir": Path(output) if output else None}
    overrides.update(extra)
    config, warnings = load_config(Path.cwd(), overrides)
    return config, warnings


def content_options(f):
    f = click.option("--output", "output", type=click.Path(file_okay=False), default=None,
                     help="Output folder (default: output/, or output_dir in pyproject.toml).")(f)
    f = click.option("--content", "content", type=click.Path(file_okay=False), default=None,
                     help="Folder of speech Markdown files (default: content/).")(f)
    return f


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="site-builder")
def cli():
    """Build a static, searchable archive of Chinese speeches (讲话稿) from Markdown files.

    \b
    Typical use:
      site-builder check                  # report problems in content/, write nothing
      site-builder build                  # build content/ into output/
      site-builder search 如履薄冰         # search the built archive
      site-builder serve                  # preview with live reload and a search API
    """


@cli.command(context_settings=CONTEXT)
@content_options
@click.option("--drafts", is_flag=True, help="Include speeches marked draft: true.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems, no progress or summary.")
@click.option("--explain", is_flag=True, help="Say what was rebuilt and why.")
def build(content, output, drafts, quiet, explain):
    """Build the site: pages, feed, sitemap, and both search indexes.

    Only what changed since the last build is parsed, rendered and indexed. Speeches with
    errors are reported and skipped (their previously built pages are kept); the others are
    built, and the exit code is 1.

    Example: site-builder build --content content --output output
    """
    from .build import build as run_build

    config, warnings = _config(content, output, drafts=drafts or None)
    progress = Progress(enabled=not quiet)
    result = run_build(config, progress=progress, explain=explain,
                       notify=None if quiet else lambda msg: click.echo(msg, err=True))
    print_problems(warnings + result.problems)
    if explain and not quiet:
        for line in result.explain:
            click.echo(f"  {line}", err=True)
        if result.timings:
            click.echo("  seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()),
                       err=True)
    if not quiet:
        click.echo(result.summary(), err=True)
        if result.errors:
            click.echo("The pages of speeches with errors were left as they were.", err=True)
    sys.exit(1 if result.errors else 0)


@cli.command(context_settings=CONTEXT)
@content_options
@click.option("--drafts", is_flag=True, help="Also check speeches marked draft: true as published.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
def check(content, output, drafts, quiet):
    """Report every problem in the content, exactly as build would, without writing anything.

    Example: site-builder check --content content
    """
    from .build import check as run_check

    config, warnings = _config(content, output, drafts=drafts or None)
    result = run_check(config, progress=Progress(enabled=not quiet))
    print_problems(warnings + result.problems)
    if result.review and not quiet:
        click.echo(f"{len(result.review)} 篇讲话待核对 (awaiting review: fields imported from a guess; "
                   "confirm them, then delete the review line):", err=True)
        for source, fields in result.review:
            click.echo(f"  {config.content_dir / source}: " + ", ".join(fields), err=True)
    if not quiet:
        click.echo(result.summary(check_only=True), err=True)
    sys.exit(1 if result.errors else 0)


@cli.command(context_settings=CONTEXT)
@click.argument("query")
@click.option("--year", help="A year (2020) or a range (2018-2020).")
@click.option("--meeting-type", "meeting_type", help="Only this meeting type, e.g. 座谈会.")
@click.option("--theme", help="Only this theme, e.g. 党风廉政建设.")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many hits to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@content_options
def search(query, year, meeting_type, theme, limit, as_json, content, output):
    """Search the built archive. Terms are matched literally (简/繁 and full-width folded).

    \b
    QUERY syntax:
      党建 廉政          both terms
      "从严 治党"        a phrase, spaces included
      党建 -形式主义      exclude a term
      党建 OR 廉政        either term
    Example: site-builder search 如履薄冰 --year 2018-2020 --json
    """
    from .query import QueryError
    from .search_index import SearchIndex

    config, _ = _config(content, output)
    index = SearchIndex(config.state_dir / "whoosh")
    if not index.exists():
        raise click.UsageError(f"no search index for {config.output}: run 'site-builder build' first")
    try:
        result = index.search(query, year=year, meeting_type=meeting_type, theme=theme, limit=limit)
    except QueryError as err:
        raise click.UsageError(f"bad query: {err}") from None
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    finally:
        index.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    _print_hits(result)


def _print_hits(result: dict) -> None:
    total = result["total"]
    click.echo(f"{total} 篇讲话包含“{result['query']}”" + ("" if total else "。"))
    for n, hit in enumerate(result["hits"], 1):
        click.echo(f"\n{n}. {hit['title']}  ({hit['date']}, {hit['meeting_type']})")
        click.echo(f"   {hit['source']}  →  {hit['url']}")
        excerpt = re.sub(r"</?mark>", lambda m: "【" if m.group() == "<mark>" else "】", hit["excerpt"])
        click.echo("   " + html.unescape(re.sub(r"<[^>]+>", "", excerpt)))
    if total > len(result["hits"]):
        click.echo(f"\n… {total - len(result['hits'])} more (use --limit)")
    facets = result.get("facets", {})
    for name, label in (("year", "年份"), ("meeting_type", "会议类型"), ("theme", "主题")):
        counts = facets.get(name) or {}
        if counts:
            click.echo(f"{label}: " + "，".join(f"{k} {v}" for k, v in list(counts.items())[:12]))


def _register_optional() -> None:
    """Commands from other modules (new/import, serve) register themselves when present."""
    try:
        from .importer import import_command, new_command
    except ImportError:
        pass
    else:
        cli.add_command(new_command, "new")
        cli.add_command(import_command, "import")
    try:
        from .server import serve_command
    except ImportError:
        pass
    else:
        cli.add_command(serve_command, "serve")


_register_optional()


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="site-builder", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except SiteBuilderError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # a bug of ours: say so in one line; the traceback only on request
        if os.environ.get("SITE_BUILDER_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                   "    hint: this is a bug in site-builder; run again with SITE_BUILDER_DEBUG=1 for "
                   "the details and report them", err=True)
        return 70
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0
