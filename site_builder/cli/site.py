"""The commands on the archive and its site: build, check, clean and search."""

from __future__ import annotations

import json
import os
import shutil
import sys

import click

from ..report import Progress, print_problems, say
from .common import CONTEXT, _config, _write_out, cli, content_options


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
    from ..build import build as run_build

    config, warnings = _config(content, output, drafts=drafts or None)
    progress = Progress(enabled=not quiet)
    result = run_build(config, progress=progress, explain=explain, notify=None if quiet else say)
    print_problems(warnings + result.problems)
    if explain and not quiet:
        for line in result.explain:
            click.echo(f"  {line}", err=True)
        if result.timings:
            click.echo("  seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()), err=True)
    if not quiet:
        say(result.summary())
        if result.errors:
            say("The pages of speeches with errors were left as they were.")
    sys.exit(1 if result.errors else 0)


@cli.command(context_settings=CONTEXT)
@content_options
@click.option("--drafts", is_flag=True, help="Also check speeches marked draft: true as published.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
def check(content, output, drafts, quiet):
    """Report every problem in the content, exactly as build would, without writing anything.

    Example: site-builder check --content content
    """
    from ..build import check as run_check

    config, warnings = _config(content, output, drafts=drafts or None)
    result = run_check(config, progress=Progress(enabled=not quiet))
    print_problems(warnings + result.problems)
    if result.review and not quiet:
        click.echo(
            f"{len(result.review)} 篇讲话待核对 (awaiting review: fields imported from a guess; "
            "confirm them, then delete the review line):",
            err=True,
        )
        for source, fields in result.review:
            click.echo(f"  {config.content_dir / source}: " + ", ".join(fields), err=True)
    if not quiet:
        say(result.summary(check_only=True))
    sys.exit(1 if result.errors else 0)


@cli.command(context_settings=CONTEXT)
@content_options
@click.option("--all", "all_caches", is_flag=True, help="Delete the caches of every output folder beside this one too.")
@click.option("--site", is_flag=True, help="Also delete the output folder (only a site that build wrote).")
def clean(content, output, all_caches, site):
    """Delete the build cache of the output folder (删除构建缓存); the site itself stays unless --site.

    The cache (.site_builder_cache/ beside the output folder: parsed speeches, both search indexes'
    state) is only a cache: the next build makes it again, from scratch. Caches of output folders
    that no longer exist are deleted too (build does that as well). Example: site-builder clean --site
    """
    from ..cache import clean as run_clean

    config, _ = _config(content, output)
    lines, code = run_clean(config.output, config.content, all_caches=all_caches, site=site)
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


@cli.command(context_settings=CONTEXT)
@click.argument("query")
@click.option("--year", help="A year (2020) or a range (2018-2020). 年份或年份范围。")
@click.option("--meeting-type", "meeting_type", help="Only this meeting type, e.g. 座谈会.")
@click.option("--theme", help="Only this theme, e.g. 党风廉政建设.")
@click.option("--speaker", help="Only speeches by this speaker (讲话人), as written in the files.")
@click.option("--organization", help="Only speeches of this organisation (单位), as written in the files.")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest"]),
    default="relevance",
    show_default=True,
    help="Order of the hits (and of the occurrences with --kwic): relevance, or by date.",
)
@click.option(
    "--kwic", is_flag=True, help="List every occurrence (concordance): date, title, left context, match, right context."
)
@click.option("--trend", is_flag=True, help="Print the number of speeches and occurrences per year as a table.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=None,
    help="How many hits to show (default 10), or occurrences with --kwic (default: all).",
)
@click.option(
    "--offset",
    type=click.IntRange(0, None),
    default=0,
    show_default=True,
    help="Skip this many hits (occurrences with --kwic): --offset 10 is the second page of 10.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="Print CSV (UTF-8): the hits (source, url, title, date, meeting_type, excerpt), the occurrences "
    "with --kwic (source, url, title, date, left, match, right), or the trend with --trend.",
)
@content_options
def search(query, sort, kwic, trend, limit, offset, as_json, as_csv, content, output, **filters):
    """Search the built archive. Terms are matched literally (简/繁 and full-width folded).

    \b
    QUERY syntax:
      党建 廉政          both terms
      "从严 治党"        a phrase, spaces included
      党建 -形式主义      exclude a term
      党建 OR 廉政        either term
    Example: site-builder search 如履薄冰 --year 2018-2020 --json
             site-builder search 党建 --kwic --sort oldest
             site-builder search 党建 --trend
             site-builder search 党建 --limit 1000 --csv > hits.csv
    """
    from ..search import terminal
    from ..search.query import FilterError, QueryError
    from ..search.whoosh_index import SearchIndex

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both（--json 与 --csv 只能选一个）")
    config, _ = _config(content, output)
    index = SearchIndex(config.state_dir / "whoosh")
    if not index.exists():
        raise click.UsageError(
            f"还没有检索索引，请先运行 site-builder build（no search index for {config.output}: "
            "run 'site-builder build' first）"
        )
    if limit is None:
        limit = 1_000_000 if kwic else 10
    try:  # filters: year, meeting_type, theme, speaker, organization
        result = index.search(query, sort=sort, kwic=kwic, limit=limit, offset=offset, **filters)
    except QueryError as err:
        raise click.UsageError(f"查询有误（bad query）：{err}") from None
    except FilterError as err:
        raise click.UsageError(err.message) from None
    finally:
        index.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif as_csv:
        _write_out(terminal.csv_answer(result, kwic, trend))
    else:
        bold = (lambda s: click.style(s, bold=True, fg="red")) if not os.environ.get("NO_COLOR") else (lambda s: s)
        columns = shutil.get_terminal_size((120, 24)).columns
        for line in terminal.answer_lines(result, kwic, trend, columns, bold):
            click.echo(line)
