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

from . import __version__, schema
from .config import load_config
from .errors import SiteBuilderError
from .report import Progress, print_problems

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CommandError(click.ClickException):
    """A SiteBuilderError raised inside a command, shown as ``error: …`` with its exit code."""

    def __init__(self, err: SiteBuilderError):
        super().__init__(str(err))
        self.exit_code = err.exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _config(content, output, **extra):
    overrides = {"content_dir": Path(content) if content else None, "output_dir": Path(output) if output else None}
    overrides.update(extra)
    try:
        config, warnings = load_config(Path.cwd(), overrides)
    except SiteBuilderError as err:
        raise CommandError(err) from None
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


@cli.command("import", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Content folder to write into (default: content/, or content_dir in pyproject.toml).")
@click.option("--metadata", "sheet", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.csv",
              help="A sheet of values per file: a 'file' column (name or path) and columns named like front-matter "
                   "fields (title, date, meeting_type, themes separated by ; or 、, speaker, …). They win over the text.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.csv",
              help="Write one row per file: each field and where it came from, dropped lines, duplicates.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--strict", is_flag=True, help="Write only files whose required fields were all read, not guessed.")
@click.option("-v", "--verbose", is_flag=True, help="Show every field with where it came from.")
@click.option("--title", help="Title (only with a single file; use --metadata for many).")
@click.option("--date", "date_text", metavar="DATE", help="Date for every file: 2020-03-05, 2020-03, 2020 or 2020年3月5日.")
@click.option("--force-year", type=click.IntRange(1800, 9999), metavar="YEAR",
              help="Use this year even when the text or file name names another.")
@click.option("--meeting-type", help="Meeting type for every file, e.g. 座谈会.")
@click.option("--theme", "themes", multiple=True, help="A theme for every file (repeat, or separate with 、).")
@click.option("--speaker", help="Speaker for every file.")
@click.option("--organization", help="Organisation for every file.")
@click.option("--slug", help="File name without .md (only with a single file).")
def import_(paths, content_dir, sheet, report, dry_run, strict, verbose, title, date_text, force_year, meeting_type,
            themes, speaker, organization, slug):
    """Import speeches (.txt, .docx, .html, .md, .pdf; folders recursively) into content/.

    \b
    Reads UTF-8, UTF-16, GB18030/GBK and Big5 text, Word files (list numbering, heading
    styles, tables, footnotes), saved web pages (the article, not the navigation), Markdown
    without front matter and PDFs with a text layer. Recovers paragraphs (whole speeches on one
    line, hard-wrapped lines, numbers alone on a line), headings (一、 › （一） › 1. › （1）),
    and reads title, date, speaker, organisation, place, meeting type and themes from the text.
    Boilerplate (disclaimers, licence footers, 责任编辑, captions) is dropped and reported; no
    other character is lost. A file whose title and year are known is written to
    content/<year>/<slug>.md (never over a file); fields guessed rather than read are listed
    under review: in its front matter, and `site-builder check` lists them. Exit codes: 0 every
    file written, 1 some file not written, 2 usage error.

    \b
    Examples:
      site-builder import archive/ --dry-run
      site-builder import archive/ --metadata sheet.csv --report report.csv
      site-builder import 讲话.docx --date 2021-01-15 --meeting-type 工作会议 --theme 基层党建
    """
    from .authoring import check_closed, parse_date_option
    from .importer.batch import Options, read_sheet, run_import, split_list

    if (title or slug) and (len(paths) > 1 or any(Path(p).is_dir() for p in paths)):
        raise click.UsageError("--title and --slug apply to one file; for many files give a --metadata sheet")
    date = parse_date_option(date_text)
    if date is not None and force_year is not None and date.year != force_year:
        raise click.UsageError(f"--date {date_text} and --force-year {force_year} disagree; give one of them")
    if slug is not None and (why := schema.slug_problem(slug)):
        raise click.BadParameter(why, param_hint="--slug")
    config, _warnings = _config(content_dir, None)
    check_closed(meeting_type, config.meeting_types, "--meeting-type")
    theme_list = split_list("、".join(themes)) if themes else []
    for theme in theme_list:
        check_closed(theme, config.themes, "--theme")
    given = {"title": title, "date": date, "meeting_type": meeting_type, "themes": theme_list, "speaker": speaker,
             "organization": organization, "slug": slug, "force_year": force_year}
    options = Options(content=config.content, dry_run=dry_run, strict=strict, verbose=verbose,
                      given={k: v for k, v in given.items() if v not in (None, "", [])},
                      sheet=read_sheet(sheet) if sheet else None, report=report)
    sys.exit(run_import([Path(p) for p in paths], config, options, click.echo))


@cli.command(context_settings=CONTEXT)
@click.option("--title", help="Title, e.g. 在2021年度党建工作会议上的讲话.")
@click.option("--date", "date_text", metavar="DATE", help="Date: 2021-03-05, 2021-03, 2021 or 2021年3月5日.")
@click.option("--meeting-type", help="Meeting type, e.g. 座谈会.")
@click.option("--theme", "themes", multiple=True, help="A theme (repeat the option, or separate with 、 or commas).")
@click.option("--speaker", help="Speaker (optional).")
@click.option("--organization", help="Organisation (optional).")
@click.option("--slug", help="File name (without .md); default: made from the title.")
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Content folder (default: content_dir from pyproject.toml, i.e. content/).")
@click.option("--no-input", is_flag=True, help="Never prompt; take everything from the options.")
def new(title, date_text, meeting_type, themes, speaker, organization, slug, content_dir, no_input):
    """Create a new speech file content/<year>/<slug>.md with its front matter and a body skeleton.

    Values not given as options are asked for when run in a terminal (the meeting types and
    themes already used in content/ are offered by number); with --no-input, or when input is
    not a terminal, --title and --date are required (unless the title names the year), and a
    missing meeting type or theme is left as an empty field to fill in (exit code 1). Never
    overwrites a file; prints the path. Exit codes: 0 created, 1 created but fields still to
    fill in, or the file already exists, 2 usage error.

    Example:

    \b
        site-builder new --title 在2021年度党建工作会议上的讲话 --date 2021-01-15 \\
            --meeting-type 党建工作会议 --theme 基层党建 --theme 党风廉政建设 --no-input
    """
    from . import authoring
    from .importer import scan_vocabulary
    from .importer.batch import split_list

    config, _warnings = _config(content_dir, None)
    if slug is not None and (why := schema.slug_problem(slug)):
        raise click.BadParameter(why, param_hint="--slug")
    values = {"title": title, "date": authoring.parse_date_option(date_text), "meeting_type": meeting_type,
              "themes": split_list("、".join(themes)) if themes else [], "speaker": speaker,
              "organization": organization, "slug": slug}
    vocab = scan_vocabulary(config.content, config)
    interactive = not no_input and authoring.stdin_is_tty()
    sys.exit(authoring.create_speech(config, config.content, vocab, values, interactive))


def _register_optional() -> None:
    """`serve` registers itself when its module is present."""
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
